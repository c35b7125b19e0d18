// MetricsServer: the HTTP endpoint operators scrape: /metrics (Prometheus text format of a
// prometheus-cpp registry), /healthz (the process is alive: 200) and /readyz (200 when the
// readiness callback says so, else 503 with the reason). civetweb (Debian's libcivetweb, the
// server prometheus-cpp's own exposer uses) serves it on its own threads; the registry and the
// readiness callback must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "prometheus/registry.h"

class CivetServer;

namespace authwatch {

class MetricsServer {
 public:
  // Returns "" when ready, else why not.
  using Readiness = std::function<std::string()>;

  // listen: "127.0.0.1:9464" ("...:0" picks a free port). Fails naming the address.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& listen,
                                                              std::shared_ptr<prometheus::Registry> registry,
                                                              Readiness readiness);
  ~MetricsServer();
  int port() const { return port_; }

 private:
  class Handler;
  MetricsServer() = default;
  std::shared_ptr<prometheus::Registry> registry_;
  Readiness readiness_;
  std::unique_ptr<CivetServer> server_;
  std::unique_ptr<Handler> metrics_, healthz_, readyz_;
  int port_ = 0;
};

}  // namespace authwatch
