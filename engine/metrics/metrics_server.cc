#include "metrics/metrics_server.h"

#include <CivetServer.h>

#include "core/strings.h"
#include "prometheus/text_serializer.h"

namespace authwatch {

class MetricsServer::Handler final : public CivetHandler {
 public:
  enum class Kind { kMetrics, kHealth, kReady };
  Handler(MetricsServer* owner, Kind kind) : owner_(owner), kind_(kind) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    std::string body;
    int status = 200;
    const char* type = "text/plain; charset=utf-8";
    switch (kind_) {
      case Kind::kMetrics:
        body = prometheus::TextSerializer().Serialize(owner_->registry_->Collect());
        type = "text/plain; version=0.0.4; charset=utf-8";
        break;
      case Kind::kHealth:
        body = "ok\n";
        break;
      case Kind::kReady: {
        const std::string why = owner_->readiness_ ? owner_->readiness_() : "";
        status = why.empty() ? 200 : 503;
        body = why.empty() ? "ready\n" : why + "\n";
        break;
      }
    }
    mg_printf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
              status, status == 200 ? "OK" : "Service Unavailable", type, body.size());
    mg_write(conn, body.data(), body.size());
    return true;
  }

 private:
  MetricsServer* owner_;
  Kind kind_;
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& listen,
                                                                    std::shared_ptr<prometheus::Registry> registry,
                                                                    Readiness readiness) {
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->registry_ = std::move(registry);
  s->readiness_ = std::move(readiness);
  try {
    s->server_ = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", listen, "num_threads", "2"});
  } catch (const CivetException& e) {
    return absl::UnavailableError(Cat("metrics endpoint ", listen, ": ", e.what(),
                                      " (is the address in use? set metrics.listen)"));
  }
  s->metrics_ = std::make_unique<Handler>(s.get(), Handler::Kind::kMetrics);
  s->healthz_ = std::make_unique<Handler>(s.get(), Handler::Kind::kHealth);
  s->readyz_ = std::make_unique<Handler>(s.get(), Handler::Kind::kReady);
  s->server_->addHandler("/metrics", s->metrics_.get());
  s->server_->addHandler("/healthz", s->healthz_.get());
  s->server_->addHandler("/readyz", s->readyz_.get());
  const auto ports = s->server_->getListeningPorts();
  s->port_ = ports.empty() ? 0 : ports.front();
  return s;
}

MetricsServer::~MetricsServer() {
  if (server_) server_->close();  // stop serving before the handlers go away
}

}  // namespace authwatch
