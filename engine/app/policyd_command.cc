// authwatch policyd: the Postfix policy service that answers from the decisions in force.
#include <chrono>
#include <csignal>
#include <cstdio>

#include "app/command_line.h"
#include "app/commands.h"
#include "app/startup.h"
#include "core/strings.h"
#include "enforce/decision_feed.h"
#include "enforce/policy_server.h"
#include "metrics/metrics_server.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"

namespace authwatch {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnPolicydStop(int) { g_stop.store(true); }

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int RunPolicyd(const std::vector<std::string>& args) {
  auto cl = CommandLine::Parse(args, {"config"}, {"help"});
  if (!cl.ok() || cl->Has("help") || !cl->Has("config")) {
    if (!cl.ok()) std::fprintf(stderr, "authwatch policyd: %s\n", std::string(cl.status().message()).c_str());
    std::fputs("usage: authwatch policyd --config FILE\n"
               "Serves the Postfix policy delegation protocol (check_policy_service) on policyd.listen\n"
               "(and policyd.socket), answering from the decisions in force on kafka.decisions_topic.\n", stderr);
    return cl.ok() && cl->Has("help") ? 0 : 2;
  }
  auto config = StepLoadConfig(*cl->Get("config"));
  if (!config.ok()) {
    std::fprintf(stderr, "authwatch policyd: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  // The ASN database lets a block on an ASN apply; city databases are not needed here.
  std::shared_ptr<const GeoDatabaseSet> asn_db;
  std::vector<std::string> asn_paths;
  if (auto dbs = StepOpenGeoDatabases(*config); dbs.ok()) {
    asn_db = *dbs;
  } else {
    std::fprintf(stderr, "authwatch policyd: %s\n", std::string(dbs.status().message()).c_str());
    return 2;
  }

  DecisionStore store;
  auto feed = DecisionFeed::Start(*config, &store);
  if (!feed.ok()) {
    std::fprintf(stderr, "authwatch policyd: %s\n", std::string(feed.status().message()).c_str());
    return 2;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  auto& requests = prometheus::BuildCounter().Name("authwatch_policyd_requests_total")
                       .Help("Policy requests answered, by answer").Register(*registry);
  prometheus::Counter* by_verdict[3];
  for (PolicyVerdict v : {PolicyVerdict::kReject, PolicyVerdict::kDefer, PolicyVerdict::kDunno}) {
    by_verdict[static_cast<int>(v)] = &requests.Add({{"answer", std::string(PolicyVerdictName(v))}});
  }
  auto& lookup = prometheus::BuildHistogram().Name("authwatch_policyd_lookup_seconds")
                     .Help("Time to answer one policy request").Register(*registry)
                     .Add({}, prometheus::Histogram::BucketBoundaries{1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 1e-3, 1e-2});
  auto& held = prometheus::BuildGauge().Name("authwatch_policyd_decisions_held").Help("Decisions in force held in memory").Register(*registry).Add({});
  auto& connected = prometheus::BuildGauge().Name("authwatch_policyd_feed_connected").Help("1 while the decisions topic is reachable; 0: serving the last known state").Register(*registry).Add({});
  auto& loaded = prometheus::BuildGauge().Name("authwatch_policyd_feed_ready").Help("1 once the decisions topic has been read to its end").Register(*registry).Add({});
  auto& lag = prometheus::BuildGauge().Name("authwatch_policyd_feed_lag").Help("Decisions not yet read from the topic").Register(*registry).Add({});
  auto& last_update = prometheus::BuildGauge().Name("authwatch_policyd_feed_last_update_timestamp_seconds").Help("Wall time of the last decision read").Register(*registry).Add({});
  auto& bad = prometheus::BuildCounter().Name("authwatch_policyd_malformed_total").Help("Malformed policy request lines and oversized requests, and malformed decision records").Register(*registry);
  auto& bad_lines = bad.Add({{"what", "request_line"}});
  auto& bad_requests = bad.Add({{"what", "oversized_request"}});
  auto& bad_decisions = bad.Add({{"what", "decision_record"}});
  DecisionFeed* feed_raw = feed->get();
  auto metrics_server = MetricsServer::Start(config->policyd.metrics_listen, registry, [feed_raw]() -> std::string {
    return feed_raw->ready() ? "" : "decisions not loaded yet";
  });
  if (!metrics_server.ok()) {
    std::fprintf(stderr, "authwatch policyd: %s\n", std::string(metrics_server.status().message()).c_str());
    return 2;
  }

  PolicyAnswerOptions answer_options;
  answer_options.reject_text = config->policyd.reject_text;
  answer_options.challenge_action = config->policyd.challenge_action;
  answer_options.fail_open = config->policyd.fail_open;
  answer_options.prefix_v4_bits = config->geoip.prefix_v4_bits;
  answer_options.prefix_v6_bits = config->geoip.prefix_v6_bits;
  PolicyAnswerer answerer(&store, answer_options, [asn_db](const IpAddress& ip) -> uint32_t {
    GeoRecord r;
    asn_db->Lookup(ip, &r);
    return r.asn;
  });
  PolicyServerOptions server_options;
  server_options.listen = config->policyd.listen;
  server_options.socket_path = config->policyd.socket_path;
  auto server = PolicyServer::Start(server_options, [&](const PolicyRequest& r) {
    const auto start = std::chrono::steady_clock::now();
    PolicyAnswer a = answerer.Answer(r, WallMs(), feed_raw->ready());
    lookup.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    by_verdict[static_cast<int>(a.verdict)]->Increment();
    return std::move(a.text);
  });
  if (!server.ok()) {
    std::fprintf(stderr, "authwatch policyd: %s\n", std::string(server.status().message()).c_str());
    return 2;
  }
  std::fprintf(stderr, "authwatch policyd: serving on %s%s%s (port %d), metrics on port %d, decisions from %s\n",
               config->policyd.listen.c_str(), config->policyd.socket_path.empty() ? "" : " and ",
               config->policyd.socket_path.c_str(), (*server)->tcp_port(), (*metrics_server)->port(),
               config->kafka.decisions_topic.c_str());
  struct sigaction sa = {};
  sa.sa_handler = OnPolicydStop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::thread publisher([&] {
    uint64_t last_lines = 0, last_oversized = 0, last_bad = 0;
    while (!g_stop.load()) {
      held.Set(static_cast<double>(store.size()));
      connected.Set(feed_raw->connected() ? 1 : 0);
      loaded.Set(feed_raw->ready() ? 1 : 0);
      lag.Set(static_cast<double>(feed_raw->lag()));
      last_update.Set(static_cast<double>(feed_raw->last_update_wall_ms()) / 1000.0);
      const auto& c = (*server)->counters();
      bad_lines.Increment(static_cast<double>(c.malformed_lines.load() - last_lines));
      bad_requests.Increment(static_cast<double>(c.oversized.load() - last_oversized));
      bad_decisions.Increment(static_cast<double>(feed_raw->malformed() - last_bad));
      last_lines = c.malformed_lines.load();
      last_oversized = c.oversized.load();
      last_bad = feed_raw->malformed();
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  (*server)->Run(g_stop);
  publisher.join();
  std::fprintf(stderr, "authwatch policyd: stopped\n");
  return 0;
}

}  // namespace authwatch
