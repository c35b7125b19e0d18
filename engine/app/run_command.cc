// authwatch run: the streaming service on Kafka.
#include <csignal>
#include <cstdio>

#include "app/command_line.h"
#include "app/commands.h"
#include "app/startup.h"
#include "core/strings.h"
#include "stream/kafka_service.h"

namespace authwatch {
namespace {

KafkaService* g_service = nullptr;

extern "C" void OnStopSignal(int) {
  if (g_service != nullptr) g_service->Stop();  // an atomic store: async-signal-safe
}
extern "C" void OnHangup(int) {
  if (g_service != nullptr) g_service->RequestReload();
}

}  // namespace

int RunService(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"config"}, {"help"});
  if (!cl.ok() || cl->Has("help") || !cl->Has("config")) {
    if (!cl.ok()) std::fprintf(stderr, "authwatch run: %s\n", std::string(cl.status().message()).c_str());
    std::fputs("usage: authwatch run --config FILE\n"
               "Consumes the input topics as a member of the consumer group, writes decisions to the\n"
               "decisions topic and rejected records to the dead-letter topic (at-least-once).\n"
               "SIGINT/SIGTERM stop gracefully; SIGHUP reloads rules and GeoIP databases.\n", stderr);
    return cl.ok() && cl->Has("help") ? 0 : 2;
  }
  auto config = StepLoadConfig(*cl->Get("config"));
  if (!config.ok()) {
    std::fprintf(stderr, "authwatch run: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  auto service = KafkaService::Create(*config);
  if (!service.ok()) {
    std::fprintf(stderr, "authwatch run: %s\n", std::string(service.status().message()).c_str());
    return 2;
  }
  g_service = service->get();
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = OnHangup;
  sigaction(SIGHUP, &sa, nullptr);
  const absl::Status status = (*service)->Run();
  g_service = nullptr;
  if (!status.ok()) {
    std::fprintf(stderr, "authwatch run: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace authwatch
