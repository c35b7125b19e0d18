// authwatch_kafka_load: the load generator and meter of the end-to-end benchmark (bench/e2e/run.sh)
// for `authwatch run` on a real Kafka broker. librdkafka only; no engine code, so it measures
// the engine from the outside, as a producer and a decision consumer would see it.
//
//   create-topics --bootstrap B NAME:PARTITIONS ...
//       Creates topics (replication factor 1) through the Admin API; existing ones are kept.
//   produce --bootstrap B --topic T --rate N|max --count N --accounts K [--seed S]
//       Pre-generates COUNT canonical JSON login events (~250 bytes, benign-heavy: a population of
//       K accounts with home and mobile addresses, ~3% typos, ~1% brute force and spraying from a
//       few hosting addresses), keyed by account, then produces them at RATE events/s (a pacing
//       loop in sub-millisecond batches) or as fast as the producer goes. Reports the achieved
//       rate and the time from produce() to the broker's acknowledgement (p50/p99).
//   latency --bootstrap B --input T --decisions D --rate 20000 --seconds S [--warmup-seconds W]
//           [--account-cycle-seconds C] [--timeline 1]
//       Produces events at RATE while consuming the decisions topic. Event number `seq` has the
//       account "lat-<run>-<seq mod RATE*C>@bench.example" (C = 3 s by default; 0: every event
//       its own account) and its produce wall time (ms) as `ts`. With the benchmark-only rule
//       set (bench/e2e/rules/: window and TTL 1 s, so an account seen again after C s fires
//       again) each event causes exactly one decision, keyed by its account; the account and
//       the decision's `ts` identify the event. Latency = when the decision is consumed - when
//       produce() was called for the event, both on this process's steady clock. Events of the
//       first W seconds are sent but not counted (the engine's fetch and caches warm up).
//       Accounts come round again, as in real traffic; with C = 0 no account name recurs.
//   throughput --bootstrap B --topic T --group G [--ready-url URL] -- ENGINE_COMMAND...
//       The topic is already filled (produce). Starts the engine (ENGINE_COMMAND, e.g.
//       `authwatch run --config X`, whose group is G), polls G's committed offsets every 20 ms
//       until they reach the end offsets, then stops the engine with SIGTERM. Sustained rate =
//       events between the samples at 10% and 90% of the topic / the time between them, so the
//       engine's startup, group join and tail are excluded. Also reports the rate from /readyz
//       answering 200 to the end, and CPU seconds of the engine (and of the broker, --broker-pid)
//       in the same window: events per engine CPU-second.
//   consume --bootstrap B --topic T
//       The physical ceiling: a plain librdkafka consumer (the same KafkaConsumer::consume() call
//       and default fetch settings as the engine) reads the whole topic without processing it;
//       same 10%-90% window.
// Common: --broker-pid P (CPU of the broker in the measured window), -X key=value (librdkafka
// property for every client this tool creates), --engine-log FILE, --timeout SECONDS.
// Each mode ends with one machine-readable line: "RESULT mode=... key=value ...".
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>
#include <maxminddb.h>

namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
void SleepUntilNs(int64_t t) {
  std::this_thread::sleep_until(Clock::time_point(std::chrono::nanoseconds(t)));
}

[[noreturn]] __attribute__((format(printf, 1, 2))) void Die(const char* fmt, ...) {
  std::fprintf(stderr, "authwatch_kafka_load: ");
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n");
  std::exit(1);
}

__attribute__((format(printf, 1, 2))) void Note(const char* fmt, ...) {
  std::fprintf(stderr, "[load] ");
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "\n");
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::string mode;
  std::string bootstrap = "127.0.0.1:19392";
  std::string topic;
  std::string input;
  std::string decisions;
  std::string group;
  std::string ready_url;
  std::string engine_log;
  std::string dump;                  // produce: also write the events to this file (JSON lines)
  std::vector<std::string> geoip;    // city databases, to give phones a carrier of their own country
  double rate = 0;  // events/s; 0 = as fast as possible
  int64_t count = 1000000;
  int64_t accounts = 100000;
  double seconds = 25;
  double warmup_seconds = 3;
  int linger_ms = -1;  // -1: the mode's default
  uint64_t seed = 1;
  int broker_pid = 0;
  double timeout_s = 300;
  bool timeline = false;  // latency: per-second p50/p99/max on stderr
  double account_cycle_s = 3;  // latency: accounts repeat after this many seconds of events; 0: never
  std::vector<std::pair<std::string, std::string>> props;
  std::vector<std::string> engine_cmd;
  std::vector<std::string> positional;
};

void Usage() {
  std::fputs(
      "usage: authwatch_kafka_load MODE [options]\n"
      "  create-topics --bootstrap B NAME:PARTITIONS ...\n"
      "  produce    --bootstrap B --topic T --rate N|max --count N --accounts K [--seed S]\n"
      "             [--geoip CITY.mmdb ...] [--dump FILE] (no --topic: only write FILE)\n"
      "  latency    --bootstrap B --input T --decisions D --rate N --seconds S [--warmup-seconds W]\n"
      "             [--account-cycle-seconds C] [--timeline 1] [--ready-url URL] [--engine-log F] [-- ENGINE_CMD...]\n"
      "  throughput --bootstrap B --topic T --group G [--ready-url URL] [--engine-log F] -- ENGINE_CMD...\n"
      "  consume    --bootstrap B --topic T\n"
      "common: --broker-pid P  --linger-ms MS  --timeout S  -X librdkafka.key=value\n",
      stderr);
}

Options Parse(int argc, char** argv) {
  Options o;
  if (argc < 2) {
    Usage();
    std::exit(2);
  }
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) o.engine_cmd.emplace_back(argv[i]);
      break;
    }
    if (a.rfind("--", 0) != 0 && a != "-X") {
      o.positional.push_back(a);
      continue;
    }
    if (i + 1 >= argc) Die("%s needs a value", a.c_str());
    const std::string v = argv[++i];
    auto num = [&](const std::string& s) {
      char* end = nullptr;
      const double d = std::strtod(s.c_str(), &end);
      if (end == s.c_str() || *end != '\0' || d < 0) Die("%s: not a number: '%s'", a.c_str(), s.c_str());
      return d;
    };
    if (a == "--bootstrap") o.bootstrap = v;
    else if (a == "--topic") o.topic = v;
    else if (a == "--input") o.input = v;
    else if (a == "--decisions") o.decisions = v;
    else if (a == "--group") o.group = v;
    else if (a == "--ready-url") o.ready_url = v;
    else if (a == "--engine-log") o.engine_log = v;
    else if (a == "--dump") o.dump = v;
    else if (a == "--geoip") o.geoip.push_back(v);
    else if (a == "--rate") o.rate = v == "max" ? 0 : num(v);
    else if (a == "--count") o.count = static_cast<int64_t>(num(v));
    else if (a == "--accounts") o.accounts = std::max<int64_t>(1, static_cast<int64_t>(num(v)));
    else if (a == "--seconds") o.seconds = num(v);
    else if (a == "--warmup-seconds") o.warmup_seconds = num(v);
    else if (a == "--linger-ms") o.linger_ms = static_cast<int>(num(v));
    else if (a == "--seed") o.seed = static_cast<uint64_t>(num(v));
    else if (a == "--broker-pid") o.broker_pid = static_cast<int>(num(v));
    else if (a == "--timeout") o.timeout_s = num(v);
    else if (a == "--timeline") o.timeline = v != "0" && v != "false";
    else if (a == "--account-cycle-seconds") o.account_cycle_s = num(v);
    else if (a == "-X") {
      const size_t eq = v.find('=');
      if (eq == std::string::npos) Die("-X wants key=value, got '%s'", v.c_str());
      o.props.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else {
      Usage();
      Die("unknown option %s", a.c_str());
    }
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting

// utime + stime of a process from /proc/<pid>/stat, in seconds (clock-tick resolution); -1 if gone.
double ProcCpuSeconds(int pid) {
  if (pid <= 0) return -1;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s;
  if (!std::getline(in, s)) return -1;
  const size_t paren = s.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(s.substr(paren + 2));  // field 3 (state) onwards
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int k = 3; k <= 15 && (fields >> f); ++k) {
    if (k == 14) utime = std::strtoull(f.c_str(), nullptr, 10);
    if (k == 15) stime = std::strtoull(f.c_str(), nullptr, 10);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The main thread of a process (the engine's consume loop): seconds on a CPU and seconds waiting
// on a run queue (runnable, not running), from /proc/<pid>/schedstat (nanoseconds). The time off
// a CPU in a window is the robust figure: on this VM the run-queue wait undercounts preemption
// (a scheduler trace showed the engine's consume thread almost never sleeping at full speed, so
// its time off a CPU is time the CPU was given to other processes).
struct ThreadTimes {
  double on_cpu = -1, waiting = -1;
};
ThreadTimes MainThreadTimes(int pid) {
  ThreadTimes t;
  if (pid <= 0) return t;
  std::ifstream in("/proc/" + std::to_string(pid) + "/schedstat");
  unsigned long long on_cpu = 0, waiting = 0;
  if (!(in >> on_cpu >> waiting)) return t;
  t.on_cpu = static_cast<double>(on_cpu) / 1e9;
  t.waiting = static_cast<double>(waiting) / 1e9;
  return t;
}

double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// Events

void AppendRfc3339Ms(int64_t ms, std::string* out) {
  const time_t s = static_cast<time_t>(ms / 1000);
  tm t{};
  gmtime_r(&s, &t);
  char buf[40];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900,
                              t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(ms % 1000));
  out->append(buf, static_cast<size_t>(n));
}

std::string V4(uint32_t a) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
  return buf;
}

// A random IPv4 address outside the special-purpose blocks (private, loopback, CGNAT,
// documentation, multicast, ...), so that GeoIP lookups find real networks.
uint32_t RandomRoutableV4(std::mt19937_64& rng) {
  for (;;) {
    const auto a = static_cast<uint32_t>(rng());
    const uint32_t o1 = a >> 24, o2 = (a >> 16) & 0xff, o3 = (a >> 8) & 0xff;
    if (o1 == 0 || o1 == 10 || o1 == 127 || o1 >= 224) continue;
    if (o1 == 100 && (o2 & 0xc0) == 64) continue;
    if (o1 == 169 && o2 == 254) continue;
    if (o1 == 172 && (o2 & 0xf0) == 16) continue;
    if (o1 == 192 && o2 == 168) continue;
    if (o1 == 192 && o2 == 0 && (o3 == 0 || o3 == 2)) continue;
    if (o1 == 198 && (o2 & 0xfe) == 18) continue;
    if (o1 == 198 && o2 == 51 && o3 == 100) continue;
    if (o1 == 203 && o2 == 0 && o3 == 113) continue;
    return a;
  }
}

// An IPv6 home address in one of a few large residential ISP ranges.
std::string RandomV6(std::mt19937_64& rng) {
  static const char* kPrefixes[] = {"2a01:cb1", "2003:e", "2600:170", "2a02:810", "240d:1a"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%x:%x:%x:%x::%x", kPrefixes[rng() % 5], static_cast<unsigned>(rng() % 16),
                static_cast<unsigned>(rng() & 0xffff), static_cast<unsigned>(rng() & 0xffff),
                static_cast<unsigned>(rng() & 0xffff), static_cast<unsigned>(1 + rng() % 0xfffe));
  return buf;
}

constexpr const char* kUserAgents[] = {
    "Thunderbird/128.4.2 (Windows NT 10.0; Win64; x64)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) Mail/3774.600.62",
    "Microsoft Outlook 16.0.17928.20114 (Windows NT 10.0; Win64)",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) K-9 Mail/6.804",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Mail/3774",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
};
constexpr size_t kUserAgentCount = sizeof(kUserAgents) / sizeof(kUserAgents[0]);

// Country codes of addresses from MaxMind DB city files (DB-IP flat `country_code`, or
// GeoIP2 `country.iso_code`); "" when unknown or without databases.
class CountryLookup {
 public:
  explicit CountryLookup(const std::vector<std::string>& files) {
    for (const auto& f : files) {
      auto db = std::make_unique<MMDB_s>();
      const int rc = MMDB_open(f.c_str(), MMDB_MODE_MMAP, db.get());
      if (rc != MMDB_SUCCESS) Die("--geoip %s: %s", f.c_str(), MMDB_strerror(rc));
      dbs_.push_back(std::move(db));
    }
  }
  ~CountryLookup() {
    for (auto& db : dbs_) MMDB_close(db.get());
  }
  std::string Country(const std::string& ip) const {
    for (const auto& db : dbs_) {
      int gai = 0, err = 0;
      MMDB_lookup_result_s r = MMDB_lookup_string(db.get(), ip.c_str(), &gai, &err);
      if (gai != 0 || err != MMDB_SUCCESS || !r.found_entry) continue;
      MMDB_entry_data_s d{};
      if ((MMDB_get_value(&r.entry, &d, "country_code", nullptr) == MMDB_SUCCESS && d.has_data &&
           d.type == MMDB_DATA_TYPE_UTF8_STRING) ||
          (MMDB_get_value(&r.entry, &d, "country", "iso_code", nullptr) == MMDB_SUCCESS && d.has_data &&
           d.type == MMDB_DATA_TYPE_UTF8_STRING)) {
        return std::string(d.utf8_string, d.data_size);
      }
    }
    return "";
  }
  bool enabled() const { return !dbs_.empty(); }

 private:
  std::vector<std::unique_ptr<MMDB_s>> dbs_;
};

// Benign-heavy login stream over a population of accounts, and the latency mode's events.
// Each account has a home address (10% IPv6) and 40% a phone behind a carrier's shared (CGNAT)
// address of the same country (when --geoip databases say which; without them, an address in
// the home /16), so that normal roaming between home and phone is not impossible travel.
class EventGenerator {
 public:
  EventGenerator(uint64_t seed, int64_t accounts, const std::vector<std::string>& geoip = {}) : rng_(seed) {
    CountryLookup geo(geoip);
    std::map<std::string, std::vector<std::string>> carriers_by_country;
    for (int i = 0; i < 8192; ++i) {
      std::string ip = V4(RandomRoutableV4(rng_));
      std::string cc = geo.Country(ip);
      if (!cc.empty()) {
        auto& pool = carriers_by_country[cc];
        if (pool.size() < 16) pool.push_back(std::move(ip));  // a few egress addresses per country
      }
    }
    for (int i = 0; i < 48; ++i) attackers_.push_back(V4(RandomRoutableV4(rng_)));
    accounts_.reserve(static_cast<size_t>(accounts));
    for (int64_t i = 0; i < accounts; ++i) {
      Account a;
      const bool v6 = rng_() % 10 == 0;
      const uint32_t home4 = RandomRoutableV4(rng_);
      a.home = v6 ? RandomV6(rng_) : V4(home4);
      if (rng_() % 10 < 4) {
        if (geo.enabled()) {
          auto it = carriers_by_country.find(geo.Country(a.home));
          if (it != carriers_by_country.end()) a.mobile = it->second[rng_() % it->second.size()];
        } else if (!v6) {
          a.mobile = V4((home4 & 0xffff0000u) | static_cast<uint32_t>(rng_() & 0xffff));
        }
      }
      a.ua = static_cast<int>(rng_() % kUserAgentCount);
      a.device = rng_();
      accounts_.push_back(std::move(a));
    }
  }

  // Event `seq` of the benign-heavy stream at event time `t_ms`. 1% attack traffic: brute force
  // and password spraying from a few addresses against random accounts; 3% typos; the rest
  // successful logins from the account's home or mobile network.
  void Benign(int64_t seq, int64_t t_ms, std::string* out, std::string* key) {
    const uint64_t r = rng_();
    const size_t acct = static_cast<size_t>(rng_() % accounts_.size());
    const Account& a = accounts_[acct];
    const bool attack = r % 100 == 0;
    const bool typo = !attack && r % 100 < 4;
    const std::string& ip = attack                                      ? attackers_[(r >> 8) % attackers_.size()]
                            : !a.mobile.empty() && (r >> 16) % 3 == 0 ? a.mobile
                                                                      : a.home;
    static const char* kProtocols[] = {"imap", "imap", "imap", "imap", "smtp", "smtp", "web", "web", "pop3", "imap"};
    const char* protocol = attack ? ((r >> 24) % 2 ? "smtp" : "imap") : kProtocols[(r >> 24) % 10];
    key->assign("u").append(std::to_string(acct)).append("@mail.example");
    out->clear();
    out->append(R"({"ts":")");
    AppendRfc3339Ms(t_ms, out);
    out->append(R"(","account":")").append(*key);
    out->append(R"(","ip":")").append(ip);
    out->append(R"(","result":")").append(attack || typo ? "failure" : "success");
    out->append(R"(","protocol":")").append(protocol);
    out->append(R"(","user_agent":")").append(attack ? "python-requests/2.31.0" : kUserAgents[a.ua]);
    if (attack || typo) out->append(R"(","reason":"bad_password)");
    char dev[32];
    std::snprintf(dev, sizeof dev, "%016" PRIx64, attack ? r : a.device);
    out->append(R"(","device_id":")").append(dev);
    out->append(R"(","event_id":")").append(std::to_string(seq)).append(R"("})");
  }

  // A latency-mode event: account number `index` of this run, its own wall time.
  void Latency(const std::string& tag, int64_t index, int64_t seq, int64_t wall_ms, std::string* out, std::string* key) {
    const uint64_t r = rng_();
    const Account& a = accounts_[static_cast<size_t>(r % accounts_.size())];
    key->assign("lat-").append(tag).append("-").append(std::to_string(index)).append("@bench.example");
    out->clear();
    out->append(R"({"ts":")");
    AppendRfc3339Ms(wall_ms, out);
    out->append(R"(","account":")").append(*key);
    out->append(R"(","ip":")").append(a.home);
    out->append(R"(","result":"failure","protocol":"imap","user_agent":")").append(kUserAgents[a.ua]);
    out->append(R"(","reason":"bad_password","event_id":")").append(std::to_string(seq)).append(R"("})");
  }

 private:
  struct Account {
    std::string home;
    std::string mobile;  // empty: no phone
    int ua = 0;
    uint64_t device = 0;
  };
  std::mt19937_64 rng_;
  std::vector<Account> accounts_;
  std::vector<std::string> attackers_;
};

// ---------------------------------------------------------------------------------------------
// Kafka clients

std::unique_ptr<RdKafka::Conf> BaseConf(const Options& o) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  if (conf->set("bootstrap.servers", o.bootstrap, err) != RdKafka::Conf::CONF_OK) Die("%s", err.c_str());
  conf->set("client.id", "authwatch-kafka-load", err);
  conf->set("log.connection.close", "false", err);
  return conf;
}

void ApplyUserProps(const Options& o, RdKafka::Conf* conf) {
  std::string err;
  for (const auto& [k, v] : o.props) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) Die("-X %s=%s: %s", k.c_str(), v.c_str(), err.c_str());
  }
}

class DeliveryReports final : public RdKafka::DeliveryReportCb {
 public:
  // When produce() was called for each seq (steady ns); acks are recorded against them.
  std::vector<int64_t>* produce_ns = nullptr;
  std::vector<int32_t> ack_us;  // produce() -> acknowledged, per message
  int64_t delivered = 0;
  int64_t failed = 0;
  int64_t last_ack_ns = 0;
  std::string first_error;

  void dr_cb(RdKafka::Message& m) override {
    const int64_t now = NowNs();
    if (m.err() != RdKafka::ERR_NO_ERROR) {
      if (failed++ == 0) first_error = m.errstr();
      return;
    }
    ++delivered;
    last_ack_ns = now;
    const auto seq = reinterpret_cast<intptr_t>(m.msg_opaque());
    if (produce_ns != nullptr && seq >= 0 && static_cast<size_t>(seq) < produce_ns->size()) {
      ack_us.push_back(static_cast<int32_t>(std::min<int64_t>((now - (*produce_ns)[static_cast<size_t>(seq)]) / 1000, INT32_MAX)));
    }
  }
};

std::unique_ptr<RdKafka::Producer> MakeProducer(const Options& o, int default_linger_ms, RdKafka::DeliveryReportCb* dr) {
  auto conf = BaseConf(o);
  std::string err;
  const int linger = o.linger_ms >= 0 ? o.linger_ms : default_linger_ms;
  conf->set("linger.ms", std::to_string(linger), err);
  conf->set("acks", "all", err);
  conf->set("queue.buffering.max.messages", "1000000", err);
  conf->set("queue.buffering.max.kbytes", "1048576", err);
  conf->set("dr_cb", dr, err);
  ApplyUserProps(o, conf.get());
  std::unique_ptr<RdKafka::Producer> p(RdKafka::Producer::create(conf.get(), err));
  if (!p) Die("producer: %s", err.c_str());
  return p;
}

std::unique_ptr<RdKafka::KafkaConsumer> MakeConsumer(const Options& o, const std::string& group) {
  auto conf = BaseConf(o);
  std::string err;
  conf->set("group.id", group, err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("enable.auto.offset.store", "false", err);
  conf->set("auto.offset.reset", "earliest", err);
  ApplyUserProps(o, conf.get());
  std::unique_ptr<RdKafka::KafkaConsumer> c(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!c) Die("consumer: %s", err.c_str());
  return c;
}

int PartitionCount(RdKafka::Handle* h, const std::string& topic_name) {
  std::string err;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(h, topic_name, nullptr, err));
  if (!topic) Die("topic %s: %s", topic_name.c_str(), err.c_str());
  for (int attempt = 0; attempt < 20; ++attempt) {
    RdKafka::Metadata* md = nullptr;
    const RdKafka::ErrorCode e = h->metadata(false, topic.get(), &md, 5000);
    std::unique_ptr<RdKafka::Metadata> owned(md);
    if (e == RdKafka::ERR_NO_ERROR && md != nullptr && !md->topics()->empty()) {
      const auto* t = md->topics()->front();
      if (t->err() == RdKafka::ERR_NO_ERROR && !t->partitions()->empty()) {
        return static_cast<int>(t->partitions()->size());
      }
      if (t->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART && attempt >= 10) Die("topic %s does not exist", topic_name.c_str());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  Die("no metadata for topic %s", topic_name.c_str());
}

// Low and high watermarks of every partition.
std::vector<std::pair<int64_t, int64_t>> Watermarks(RdKafka::Handle* h, const std::string& topic, int partitions) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    const RdKafka::ErrorCode e = h->query_watermark_offsets(topic, p, &lo, &hi, 10000);
    if (e != RdKafka::ERR_NO_ERROR) Die("watermarks of %s/%d: %s", topic.c_str(), p, RdKafka::err2str(e).c_str());
    out.emplace_back(lo, hi);
  }
  return out;
}

// Polls the producer until every message is acknowledged (or timeout); false on timeout.
bool FlushAll(RdKafka::Producer* p, double timeout_s) {
  const int64_t deadline = NowNs() + static_cast<int64_t>(timeout_s * 1e9);
  while (p->outq_len() > 0 && NowNs() < deadline) p->poll(10);
  return p->outq_len() == 0;
}

// ---------------------------------------------------------------------------------------------
// Statistics

struct Percentiles {
  size_t n = 0;
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

// Of values in microseconds; the result in milliseconds (nearest-rank percentiles).
Percentiles Summarise(std::vector<int32_t> us) {
  Percentiles p;
  p.n = us.size();
  if (us.empty()) return p;
  std::sort(us.begin(), us.end());
  auto rank = [&](double q) {
    const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(us.size()))) - 1;
    return us[std::min(i, us.size() - 1)] / 1000.0;
  };
  p.p50 = rank(0.50);
  p.p90 = rank(0.90);
  p.p99 = rank(0.99);
  p.p999 = rank(0.999);
  p.max = us.back() / 1000.0;
  double sum = 0;
  for (int32_t v : us) sum += v;
  p.mean = sum / static_cast<double>(us.size()) / 1000.0;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Modes

int CreateTopics(const Options& o) {
  if (o.positional.empty()) Die("create-topics: name topics as NAME:PARTITIONS");
  DeliveryReports dr;
  auto producer = MakeProducer(o, 5, &dr);
  rd_kafka_t* rk = producer->c_ptr();
  std::vector<rd_kafka_NewTopic_t*> topics;
  char errstr[512];
  for (const auto& spec : o.positional) {
    const size_t colon = spec.find(':');
    const int parts = colon == std::string::npos ? 1 : std::atoi(spec.c_str() + colon + 1);
    if (parts <= 0) Die("bad topic spec '%s' (NAME:PARTITIONS)", spec.c_str());
    rd_kafka_NewTopic_t* t = rd_kafka_NewTopic_new(spec.substr(0, colon).c_str(), parts, 1, errstr, sizeof errstr);
    if (t == nullptr) Die("%s: %s", spec.c_str(), errstr);
    topics.push_back(t);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, 30000, errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk, topics.data(), topics.size(), opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 60000);
  if (ev == nullptr) Die("create-topics: no answer in 60 s");
  if (rd_kafka_event_error(ev)) Die("create-topics: %s", rd_kafka_event_error_string(ev));
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  int rc = 0;
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    const char* name = rd_kafka_topic_result_name(results[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Note("created %s", name);
    } else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      Note("%s exists already (kept as it is)", name);
    } else {
      Note("%s: %s", name, rd_kafka_topic_result_error_string(results[i]));
      rc = 1;
    }
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(q);
  for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
  // Wait until the new topics have leaders (metadata answers with partitions).
  for (const auto& spec : o.positional) PartitionCount(producer.get(), spec.substr(0, spec.find(':')));
  std::printf("RESULT mode=create-topics ok=%d\n", rc == 0);
  return rc;
}

int Produce(const Options& o) {
  if (o.topic.empty() && o.dump.empty()) Die("produce: --topic (or --dump) is required");
  Note("generating %" PRId64 " events over %" PRId64 " accounts (seed %" PRIu64 ")", o.count, o.accounts, o.seed);
  EventGenerator gen(o.seed, o.accounts, o.geoip);
  // All payloads in one buffer (produced without copying), keys beside them.
  std::string payloads;
  std::vector<uint32_t> offsets(static_cast<size_t>(o.count) + 1);
  std::vector<std::string> keys(static_cast<size_t>(o.count));
  payloads.reserve(static_cast<size_t>(o.count) * 260);
  std::string ev;
  const int64_t t0_ms = 1793577600000;  // 2026-11-02T00:00:00Z; event time advances 2 ms per event
  for (int64_t i = 0; i < o.count; ++i) {
    gen.Benign(i, t0_ms + 2 * i, &ev, &keys[static_cast<size_t>(i)]);
    offsets[static_cast<size_t>(i)] = static_cast<uint32_t>(payloads.size());
    payloads += ev;
  }
  offsets.back() = static_cast<uint32_t>(payloads.size());
  const double avg_bytes = static_cast<double>(payloads.size()) / static_cast<double>(std::max<int64_t>(1, o.count));
  Note("%.0f bytes per event on average; first: %.*s", avg_bytes, static_cast<int>(offsets.size() > 1 ? offsets[1] : 0),
       payloads.data());
  if (!o.dump.empty()) {
    std::FILE* f = std::fopen(o.dump.c_str(), "w");
    if (f == nullptr) Die("--dump %s: %s", o.dump.c_str(), std::strerror(errno));
    for (size_t i = 0; i + 1 < offsets.size(); ++i) {
      std::fwrite(payloads.data() + offsets[i], 1, offsets[i + 1] - offsets[i], f);
      std::fputc('\n', f);
    }
    if (std::fclose(f) != 0) Die("--dump %s: write failed", o.dump.c_str());
    Note("wrote %s", o.dump.c_str());
    if (o.topic.empty()) return 0;
  }

  DeliveryReports dr;
  std::vector<int64_t> produce_ns(static_cast<size_t>(o.count));
  dr.produce_ns = &produce_ns;
  dr.ack_us.reserve(static_cast<size_t>(o.count));
  auto producer = MakeProducer(o, o.rate > 0 ? 1 : 5, &dr);
  std::string err;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(producer.get(), o.topic, nullptr, err));
  if (!topic) Die("topic: %s", err.c_str());
  PartitionCount(producer.get(), o.topic);  // connected, topic known

  const int64_t start = NowNs();
  const int64_t batch = o.rate > 0 ? std::max<int64_t>(1, static_cast<int64_t>(o.rate / 2000)) : 1000;  // 0.5 ms ticks
  int64_t seq = 0, queue_full = 0;
  while (seq < o.count) {
    int64_t end = std::min(o.count, seq + batch);
    if (o.rate > 0) {
      const auto due = static_cast<int64_t>(static_cast<double>(NowNs() - start) * o.rate / 1e9) + 1;
      if (due <= seq) {
        producer->poll(0);
        SleepUntilNs(start + static_cast<int64_t>(static_cast<double>(seq + batch - 1) * 1e9 / o.rate));
        continue;
      }
      end = std::min(o.count, due);
    }
    for (; seq < end; ++seq) {
      const auto i = static_cast<size_t>(seq);
      char* payload = payloads.data() + offsets[i];
      const size_t len = offsets[i + 1] - offsets[i];
      for (;;) {
        produce_ns[i] = NowNs();
        const RdKafka::ErrorCode e = producer->produce(topic.get(), RdKafka::Topic::PARTITION_UA, 0, payload, len,
                                                       keys[i].data(), keys[i].size(),
                                                       reinterpret_cast<void*>(static_cast<intptr_t>(seq)));
        if (e == RdKafka::ERR_NO_ERROR) break;
        if (e != RdKafka::ERR__QUEUE_FULL) Die("produce: %s", RdKafka::err2str(e).c_str());
        ++queue_full;
        producer->poll(1);
      }
    }
    producer->poll(0);
  }
  const int64_t produced_ns = NowNs();
  if (!FlushAll(producer.get(), o.timeout_s)) Die("produce: %d messages not acknowledged in %.0f s", producer->outq_len(), o.timeout_s);
  producer->poll(0);
  const int64_t acked_ns = std::max(dr.last_ack_ns, produced_ns);
  if (dr.failed > 0) Die("produce: %" PRId64 " deliveries failed, first: %s", dr.failed, dr.first_error.c_str());
  const double send_s = static_cast<double>(produced_ns - start) / 1e9;
  const double total_s = static_cast<double>(acked_ns - start) / 1e9;
  const Percentiles ack = Summarise(std::move(dr.ack_us));
  Note("produced %" PRId64 " events in %.3f s (%.0f/s), all acknowledged after %.3f s (%.0f/s, %.1f MB/s); "
       "produce->ack p50 %.2f ms p99 %.2f ms max %.2f ms; queue full %" PRId64 " times",
       o.count, send_s, static_cast<double>(o.count) / send_s, total_s, static_cast<double>(o.count) / total_s,
       static_cast<double>(payloads.size()) / total_s / 1e6, ack.p50, ack.p99, ack.max, queue_full);
  std::printf("RESULT mode=produce events=%" PRId64 " bytes_per_event=%.0f send_s=%.3f acked_s=%.3f events_per_s=%.0f "
              "ack_p50_ms=%.2f ack_p99_ms=%.2f ack_max_ms=%.2f\n",
              o.count, avg_bytes, send_s, total_s, static_cast<double>(o.count) / total_s, ack.p50, ack.p99, ack.max);
  return 0;
}

// Plain-socket HTTP GET; the status code, or -1 when nothing answers.
int HttpStatus(const std::string& url) {
  // http://HOST:PORT/PATH
  std::string rest = url;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  const size_t slash = rest.find('/');
  const std::string hostport = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  const size_t colon = hostport.rfind(':');
  const std::string host = hostport.substr(0, colon);
  const std::string port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &ai) != 0 || ai == nullptr) return -1;
  const int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
  int status = -1;
  if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + hostport + "\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[256];
      const ssize_t n = read(fd, buf, sizeof buf - 1);
      if (n > 12) {
        buf[n] = '\0';
        if (std::sscanf(buf, "HTTP/%*s %d", &status) != 1) status = -1;
      }
    }
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(ai);
  return status;
}

pid_t SpawnEngine(const Options& o) {
  if (o.engine_cmd.empty()) Die("%s: give the engine command after --", o.mode.c_str());
  const pid_t pid = fork();
  if (pid < 0) Die("fork: %s", std::strerror(errno));
  if (pid == 0) {
    if (!o.engine_log.empty()) {
      const int fd = open(o.engine_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
      }
    }
    std::vector<char*> argv;
    for (const auto& a : o.engine_cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  return pid;
}

// SIGTERM (a graceful stop) and wait; the child's total CPU seconds from its rusage.
double StopEngine(pid_t pid, int* exit_code) {
  kill(pid, SIGTERM);
  int status = 0;
  rusage ru{};
  const int64_t deadline = NowNs() + 60'000'000'000;
  for (;;) {
    const pid_t r = wait4(pid, &status, WNOHANG, &ru);
    if (r == pid) break;
    if (NowNs() > deadline) {
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Sample {
  int64_t t_ns;
  int64_t done;  // events consumed (committed) so far
  double cpu;    // CPU seconds of the measured process so far
  double broker_cpu;
  ThreadTimes main;  // the measured process's main thread so far
};

// The 10%-90% window of a run: rate, CPU of the process and of the broker within it.
struct Window {
  double seconds = 0, events = 0, rate = 0, cpu = 0, broker_cpu = 0, main_cpu = 0, main_wait = 0;
};
Window MeasureWindow(const std::vector<Sample>& samples, int64_t total) {
  Window w;
  const Sample* a = nullptr;
  const Sample* b = nullptr;
  for (const auto& s : samples) {
    if (a == nullptr && s.done >= total / 10) a = &s;
    if (b == nullptr && s.done >= total - total / 10) b = &s;
  }
  if (a == nullptr || b == nullptr || b->t_ns <= a->t_ns) return w;
  w.seconds = static_cast<double>(b->t_ns - a->t_ns) / 1e9;
  w.events = static_cast<double>(b->done - a->done);
  w.rate = w.events / w.seconds;
  w.cpu = b->cpu - a->cpu;
  w.broker_cpu = a->broker_cpu >= 0 ? b->broker_cpu - a->broker_cpu : -1;
  w.main_cpu = b->main.on_cpu - a->main.on_cpu;
  w.main_wait = b->main.waiting - a->main.waiting;
  return w;
}

int Throughput(const Options& o) {
  if (o.topic.empty() || o.group.empty()) Die("throughput: --topic and --group are required");
  auto watcher = MakeConsumer(o, o.group);  // never subscribes: only reads the group's commits
  const int parts = PartitionCount(watcher.get(), o.topic);
  const auto marks = Watermarks(watcher.get(), o.topic, parts);
  int64_t total = 0;
  for (const auto& [lo, hi] : marks) total += hi - lo;
  if (total <= 0) Die("throughput: %s is empty (produce first)", o.topic.c_str());
  std::vector<RdKafka::TopicPartition*> tps;
  for (int p = 0; p < parts; ++p) tps.push_back(RdKafka::TopicPartition::create(o.topic, p));
  Note("%s: %" PRId64 " events in %d partition(s); starting the engine", o.topic.c_str(), total, parts);

  const int64_t spawn_ns = NowNs();
  const pid_t pid = SpawnEngine(o);
  std::vector<Sample> samples;
  int64_t ready_ns = 0, first_ns = 0, done_ns = 0;
  const int64_t deadline = spawn_ns + static_cast<int64_t>(o.timeout_s * 1e9);
  int64_t done = 0;
  while (NowNs() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) Die("the engine exited (status %d) after %" PRId64 " of %" PRId64 " events; see its log", status, done, total);
    if (ready_ns == 0 && !o.ready_url.empty() && HttpStatus(o.ready_url) == 200) ready_ns = NowNs();
    if (watcher->committed(tps, 5000) == RdKafka::ERR_NO_ERROR) {
      const int64_t t = NowNs();
      done = 0;
      for (int p = 0; p < parts; ++p) done += std::max<int64_t>(0, tps[static_cast<size_t>(p)]->offset() - marks[static_cast<size_t>(p)].first);
      samples.push_back({t, done, ProcCpuSeconds(pid), ProcCpuSeconds(o.broker_pid), MainThreadTimes(pid)});
      if (first_ns == 0 && done > 0) first_ns = t;
      if (done >= total) {
        done_ns = t;
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  int exit_code = 0;
  const double engine_cpu_total = StopEngine(pid, &exit_code);
  RdKafka::TopicPartition::destroy(tps);
  watcher->close();
  if (done_ns == 0) Die("throughput: only %" PRId64 " of %" PRId64 " committed after %.0f s", done, total, o.timeout_s);
  const Window w = MeasureWindow(samples, total);
  const double total_s = static_cast<double>(done_ns - spawn_ns) / 1e9;
  const double from_ready_s = ready_ns > 0 ? static_cast<double>(done_ns - ready_ns) / 1e9 : -1;
  Note("engine: %" PRId64 " events; 10%%-90%% window %.3f s: %.0f events/s, engine CPU %.2f s (%.0f events per CPU-second), "
       "its main thread %.2f s on a CPU (%.0f events per second of it), off a CPU %.2f s (run-queue wait %.2f s); broker CPU %.2f s; from start %.2f s, from ready %.2f s (%.0f/s); "
       "exit %d, CPU %.2f s in all",
       total, w.seconds, w.rate, w.cpu, w.cpu > 0 ? w.events / w.cpu : 0, w.main_cpu,
       w.main_cpu > 0 ? w.events / w.main_cpu : 0, w.seconds - w.main_cpu, w.main_wait, w.broker_cpu, total_s, from_ready_s,
       from_ready_s > 0 ? static_cast<double>(total) / from_ready_s : 0, exit_code, engine_cpu_total);
  std::printf("RESULT mode=throughput events=%" PRId64 " partitions=%d window_s=%.3f events_per_s=%.0f "
              "engine_cpu_s=%.2f events_per_cpu_s=%.0f main_cpu_s=%.2f events_per_main_cpu_s=%.0f main_offcpu_s=%.2f main_runq_wait_s=%.2f broker_cpu_s=%.2f total_s=%.3f ready_to_done_s=%.3f "
              "ready_to_done_events_per_s=%.0f engine_cpu_total_s=%.2f exit=%d\n",
              total, parts, w.seconds, w.rate, w.cpu, w.cpu > 0 ? w.events / w.cpu : 0, w.main_cpu,
              w.main_cpu > 0 ? w.events / w.main_cpu : 0, w.seconds - w.main_cpu, w.main_wait, w.broker_cpu, total_s,
              from_ready_s, from_ready_s > 0 ? static_cast<double>(total) / from_ready_s : 0, engine_cpu_total, exit_code);
  return exit_code == 0 ? 0 : 1;
}

int Consume(const Options& o) {
  if (o.topic.empty()) Die("consume: --topic is required");
  auto consumer = MakeConsumer(o, o.group.empty() ? "authwatch-kafka-load-raw-" + std::to_string(getpid()) : o.group);
  const int parts = PartitionCount(consumer.get(), o.topic);
  const auto marks = Watermarks(consumer.get(), o.topic, parts);
  int64_t total = 0;
  std::vector<RdKafka::TopicPartition*> tps;
  for (int p = 0; p < parts; ++p) {
    total += marks[static_cast<size_t>(p)].second - marks[static_cast<size_t>(p)].first;
    tps.push_back(RdKafka::TopicPartition::create(o.topic, p, marks[static_cast<size_t>(p)].first));
  }
  if (total <= 0) Die("consume: %s is empty", o.topic.c_str());
  const int64_t start = NowNs();
  if (consumer->assign(tps) != RdKafka::ERR_NO_ERROR) Die("assign failed");
  RdKafka::TopicPartition::destroy(tps);
  std::vector<Sample> samples;
  samples.reserve(1024);
  int64_t n = 0, bytes = 0, first_ns = 0;
  const int64_t step = std::max<int64_t>(1, total / 1000);
  const int64_t deadline = start + static_cast<int64_t>(o.timeout_s * 1e9);
  while (n < total && NowNs() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    bytes += static_cast<int64_t>(m->len());
    if (++n == 1) first_ns = NowNs();
    if (n % step == 0 || n == total) samples.push_back({NowNs(), n, SelfCpuSeconds(), ProcCpuSeconds(o.broker_pid), MainThreadTimes(getpid())});
  }
  const int64_t end = NowNs();
  consumer->close();
  if (n < total) Die("consume: %" PRId64 " of %" PRId64 " in %.0f s", n, total, o.timeout_s);
  const Window w = MeasureWindow(samples, total);
  const double all_s = static_cast<double>(end - first_ns) / 1e9;
  Note("raw consume: %" PRId64 " messages (%.1f MB); 10%%-90%% window %.3f s: %.0f messages/s, consumer CPU %.2f s "
       "(%.0f per CPU-second), broker CPU %.2f s; first to last %.3f s (%.0f/s); assign to first %.3f s",
       n, static_cast<double>(bytes) / 1e6, w.seconds, w.rate, w.cpu, w.cpu > 0 ? w.events / w.cpu : 0, w.broker_cpu,
       all_s, static_cast<double>(n) / all_s, static_cast<double>(first_ns - start) / 1e9);
  std::printf("RESULT mode=consume events=%" PRId64 " partitions=%d window_s=%.3f events_per_s=%.0f consumer_cpu_s=%.2f "
              "events_per_cpu_s=%.0f main_cpu_s=%.2f main_runq_wait_s=%.2f broker_cpu_s=%.2f first_to_last_s=%.3f first_to_last_events_per_s=%.0f\n",
              n, parts, w.seconds, w.rate, w.cpu, w.cpu > 0 ? w.events / w.cpu : 0, w.main_cpu, w.main_wait, w.broker_cpu, all_s,
              static_cast<double>(n) / all_s);
  return 0;
}

// The decisions side of the latency mode.
class DecisionReader {
 public:
  DecisionReader(const Options& o, std::string tag, int64_t cycle, const std::vector<std::atomic<int64_t>>* produce_ns,
                 const std::vector<std::atomic<int64_t>>* event_wall_ms)
      : tag_(std::move(tag)), cycle_(cycle), rate_(o.rate), produce_ns_(produce_ns), event_wall_ms_(event_wall_ms) {
    Options co = o;
    co.props.emplace_back("fetch.wait.max.ms", "100");
    consumer_ = MakeConsumer(co, "authwatch-kafka-load-lat-" + std::to_string(getpid()));
    const int parts = PartitionCount(consumer_.get(), o.decisions);
    const auto marks = Watermarks(consumer_.get(), o.decisions, parts);
    std::vector<RdKafka::TopicPartition*> tps;
    for (int p = 0; p < parts; ++p) {
      tps.push_back(RdKafka::TopicPartition::create(o.decisions, p, marks[static_cast<size_t>(p)].second));
    }
    if (consumer_->assign(tps) != RdKafka::ERR_NO_ERROR) Die("assign %s failed", o.decisions.c_str());
    RdKafka::TopicPartition::destroy(tps);
    latency_us_.assign(produce_ns->size(), -1);
    to_engine_us_.reserve(produce_ns->size());
    from_engine_us_.reserve(produce_ns->size());
    prefix_ = "lat-" + tag_ + "-";
  }

  void Start() {
    thread_ = std::thread([this] { Loop(); });
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    consumer_->close();
  }
  int64_t matched() const { return matched_.load(); }
  int64_t duplicates = 0, foreign = 0;
  std::vector<int32_t> latency_us_;  // per seq; -1: no decision seen
  // The two legs, split at the decision record's CreateTime (the engine's produce() call, wall
  // clock, ms): event produced -> decision produced by the engine, and -> decision consumed here.
  std::vector<int32_t> to_engine_us_, from_engine_us_;

 private:
  void Loop() {
    while (!stop_.load()) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(50));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      const int64_t now = NowNs();
      const std::string* key = m->key();
      if (key == nullptr || key->rfind(prefix_, 0) != 0) {
        ++foreign;
        continue;
      }
      const int64_t index = std::strtoll(key->c_str() + prefix_.size(), nullptr, 10);
      const int64_t seq = cycle_ > 0 ? SeqOf(index, *m) : index;
      if (seq < 0 || static_cast<size_t>(seq) >= produce_ns_->size()) {
        ++foreign;
        continue;
      }
      const int64_t sent = (*produce_ns_)[static_cast<size_t>(seq)].load(std::memory_order_acquire);
      auto& slot = latency_us_[static_cast<size_t>(seq)];
      if (sent <= 0) {
        ++foreign;
      } else if (slot >= 0) {
        ++duplicates;
      } else {
        slot = static_cast<int32_t>(std::min<int64_t>((now - sent) / 1000, INT32_MAX));
        const RdKafka::MessageTimestamp ts = m->timestamp();
        if (ts.type == RdKafka::MessageTimestamp::MSG_TIMESTAMP_CREATE_TIME) {
          const int64_t wall_now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count();
          const int64_t event_ms = (*event_wall_ms_)[static_cast<size_t>(seq)].load(std::memory_order_acquire);
          to_engine_us_.push_back(static_cast<int32_t>(std::clamp<int64_t>((ts.timestamp - event_ms) * 1000, 0, INT32_MAX)));
          from_engine_us_.push_back(static_cast<int32_t>(std::clamp<int64_t>(wall_now_us - ts.timestamp * 1000, 0, INT32_MAX)));
        }
        matched_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  // With repeating accounts: account `index` is used by seqs index + k * cycle. The decision's
  // `ts` (the triggering event's time, ms) tells which one: the seq near the one produced at
  // that time, whose event time is exactly that.
  int64_t SeqOf(int64_t index, const RdKafka::Message& m) const {
    const std::string_view v(static_cast<const char*>(m.payload()), m.len());
    const size_t at = v.find(R"("ts":")");
    if (at == std::string_view::npos || at + 6 + 24 > v.size()) return -1;
    const int64_t ts = ParseRfc3339Ms(v.substr(at + 6, 24));
    const int64_t first_ms = (*event_wall_ms_)[0].load(std::memory_order_acquire);
    if (ts < 0 || first_ms <= 0) return -1;
    const auto estimate = static_cast<int64_t>(static_cast<double>(ts - first_ms) * rate_ / 1000.0);
    const int64_t k0 = (estimate - index) / cycle_;
    for (int64_t dk : {0, 1, -1, 2, -2}) {
      const int64_t seq = index + (k0 + dk) * cycle_;
      if (seq < 0 || static_cast<size_t>(seq) >= event_wall_ms_->size()) continue;
      if ((*event_wall_ms_)[static_cast<size_t>(seq)].load(std::memory_order_acquire) == ts) return seq;
    }
    return -1;
  }
  // "2026-11-02T08:15:30.123Z" -> epoch ms; -1 if not that shape.
  static int64_t ParseRfc3339Ms(std::string_view s) {
    int y, mo, d, h, mi, sec, ms;
    if (std::sscanf(std::string(s).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &sec, &ms) != 7) return -1;
    tm t{};
    t.tm_year = y - 1900;
    t.tm_mon = mo - 1;
    t.tm_mday = d;
    t.tm_hour = h;
    t.tm_min = mi;
    t.tm_sec = sec;
    return static_cast<int64_t>(timegm(&t)) * 1000 + ms;
  }

  std::string tag_, prefix_;
  int64_t cycle_;
  double rate_;
  const std::vector<std::atomic<int64_t>>* produce_ns_;
  const std::vector<std::atomic<int64_t>>* event_wall_ms_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> matched_{0};
};

int Latency(const Options& o) {
  if (o.input.empty() || o.decisions.empty()) Die("latency: --input and --decisions are required");
  if (o.rate <= 0) Die("latency: --rate must be a number of events per second");
  const auto total = static_cast<int64_t>(o.rate * (o.seconds + o.warmup_seconds));
  const std::string tag = std::to_string(WallMs() % 100000000) + std::to_string(getpid() % 1000);
  EventGenerator gen(o.seed, std::min<int64_t>(o.accounts, 100000), o.geoip);
  std::vector<std::atomic<int64_t>> produce_ns(static_cast<size_t>(total));
  std::vector<std::atomic<int64_t>> event_wall_ms(static_cast<size_t>(total));
  DeliveryReports dr;
  auto producer = MakeProducer(o, 1, &dr);
  std::string err;
  std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(producer.get(), o.input, nullptr, err));
  if (!topic) Die("topic: %s", err.c_str());
  PartitionCount(producer.get(), o.input);
  const auto cycle = static_cast<int64_t>(o.rate * o.account_cycle_s);
  DecisionReader reader(o, tag, cycle, &produce_ns, &event_wall_ms);
  reader.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the reader's fetch is under way

  pid_t engine = 0;
  if (!o.engine_cmd.empty()) {
    engine = SpawnEngine(o);
    const int64_t until = NowNs() + 60'000'000'000;
    while (o.ready_url.empty() || HttpStatus(o.ready_url) != 200) {
      if (NowNs() > until) Die("latency: the engine did not become ready in 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (o.ready_url.empty()) break;
    }
  }
  Note("producing %.0f events/s for %.0f s (+%.0f s warm-up), run tag %s, %s", o.rate, o.seconds, o.warmup_seconds,
       tag.c_str(), cycle > 0 ? ("accounts repeating every " + std::to_string(cycle) + " events").c_str() : "every event its own account");

  const int64_t start = NowNs();
  const int64_t first_measured = static_cast<int64_t>(o.rate * o.warmup_seconds);
  const int64_t batch = std::max<int64_t>(1, static_cast<int64_t>(o.rate / 2000));  // 0.5 ms ticks
  std::string payload, key;
  int64_t seq = 0, queue_full = 0;
  double cpu_engine0 = -1, cpu_broker0 = -1, cpu_self0 = 0;
  int64_t measured_start_ns = 0;
  while (seq < total) {
    const auto due = std::min(total, static_cast<int64_t>(static_cast<double>(NowNs() - start) * o.rate / 1e9) + 1);
    if (due <= seq) {
      producer->poll(0);
      SleepUntilNs(start + static_cast<int64_t>(static_cast<double>(seq + batch - 1) * 1e9 / o.rate));
      continue;
    }
    for (; seq < due; ++seq) {
      if (seq == first_measured) {
        measured_start_ns = NowNs();
        cpu_engine0 = ProcCpuSeconds(engine);
        cpu_broker0 = ProcCpuSeconds(o.broker_pid);
        cpu_self0 = SelfCpuSeconds();
      }
      const int64_t wall_ms = WallMs();
      event_wall_ms[static_cast<size_t>(seq)].store(wall_ms, std::memory_order_relaxed);
      gen.Latency(tag, cycle > 0 ? seq % cycle : seq, seq, wall_ms, &payload, &key);
      for (;;) {
        produce_ns[static_cast<size_t>(seq)].store(NowNs(), std::memory_order_release);
        const RdKafka::ErrorCode e =
            producer->produce(topic.get(), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                              payload.data(), payload.size(), key.data(), key.size(), nullptr);
        if (e == RdKafka::ERR_NO_ERROR) break;
        if (e != RdKafka::ERR__QUEUE_FULL) Die("produce: %s", RdKafka::err2str(e).c_str());
        ++queue_full;
        producer->poll(1);
      }
    }
    producer->poll(0);
  }
  const int64_t end = NowNs();
  const double cpu_engine1 = ProcCpuSeconds(engine), cpu_broker1 = ProcCpuSeconds(o.broker_pid);
  const double cpu_self1 = SelfCpuSeconds();
  FlushAll(producer.get(), 30);
  // Wait for the last decisions (at most 10 s after the last event).
  const int64_t wait_until = NowNs() + 10'000'000'000;
  while (reader.matched() < total && NowNs() < wait_until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  reader.Stop();
  int exit_code = 0;
  double engine_cpu_total = -1;
  if (engine > 0) engine_cpu_total = StopEngine(engine, &exit_code);

  std::vector<int32_t> measured;
  measured.reserve(static_cast<size_t>(total - first_measured));
  int64_t missing = 0;
  for (int64_t i = first_measured; i < total; ++i) {
    const int32_t v = reader.latency_us_[static_cast<size_t>(i)];
    if (v < 0) ++missing;
    else measured.push_back(v);
  }
  if (o.timeline) {
    // Per second of production (by the event's produce time): where in the run the tail is.
    const auto per_s = static_cast<int64_t>(o.rate);
    for (int64_t from = 0; from < total; from += per_s) {
      std::vector<int32_t> sec;
      for (int64_t i = from; i < std::min(total, from + per_s); ++i) {
        if (reader.latency_us_[static_cast<size_t>(i)] >= 0) sec.push_back(reader.latency_us_[static_cast<size_t>(i)]);
      }
      const Percentiles q = Summarise(std::move(sec));
      Note("  second %3" PRId64 "%s: %6zu decisions  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms", from / per_s,
           from < first_measured ? " (warm-up)" : "", q.n, q.p50, q.p99, q.max);
    }
  }
  const Percentiles to_engine = Summarise(std::move(reader.to_engine_us_));
  const Percentiles from_engine = Summarise(std::move(reader.from_engine_us_));
  Note("legs (all events, ms clock of the decision's CreateTime): event -> decision produced p50 %.0f ms p99 %.0f ms "
       "max %.0f ms; decision produced -> consumed p50 %.1f ms p99 %.1f ms max %.1f ms",
       to_engine.p50, to_engine.p99, to_engine.max, from_engine.p50, from_engine.p99, from_engine.max);
  const double window_s = static_cast<double>(end - measured_start_ns) / 1e9;
  const double achieved = static_cast<double>(total - first_measured) / window_s;
  const Percentiles p = Summarise(std::move(measured));
  const double engine_cpu = engine > 0 && cpu_engine0 >= 0 ? cpu_engine1 - cpu_engine0 : -1;
  const double broker_cpu = cpu_broker0 >= 0 ? cpu_broker1 - cpu_broker0 : -1;
  Note("latency at %.0f events/s (achieved %.0f over %.1f s): %zu decisions matched, %" PRId64 " missing, %" PRId64
       " duplicates; p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms, mean %.2f ms; "
       "CPU in the window: engine %.2f s, broker %.2f s, this tool %.2f s; queue full %" PRId64,
       o.rate, achieved, window_s, p.n, missing, reader.duplicates, p.p50, p.p90, p.p99, p.p999, p.max, p.mean,
       engine_cpu, broker_cpu, cpu_self1 - cpu_self0, queue_full);
  std::printf("RESULT mode=latency rate=%.0f achieved_rate=%.0f window_s=%.2f events=%" PRId64 " decisions=%zu missing=%" PRId64
              " p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f mean_ms=%.2f engine_cpu_s=%.2f "
              "broker_cpu_s=%.2f tool_cpu_s=%.2f engine_cpu_total_s=%.2f to_engine_p99_ms=%.0f from_engine_p99_ms=%.1f "
              "account_cycle=%" PRId64 " exit=%d\n",
              o.rate, achieved, window_s, total - first_measured, p.n, missing, p.p50, p.p90, p.p99, p.p999, p.max,
              p.mean, engine_cpu, broker_cpu, cpu_self1 - cpu_self0, engine_cpu_total, to_engine.p99, from_engine.p99,
              cycle, exit_code);
  return missing == 0 && exit_code == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const Options o = Parse(argc, argv);
  if (o.mode == "create-topics") return CreateTopics(o);
  if (o.mode == "produce") return Produce(o);
  if (o.mode == "latency") return Latency(o);
  if (o.mode == "throughput") return Throughput(o);
  if (o.mode == "consume") return Consume(o);
  Usage();
  return 2;
}
