#include "enforce/decision_feed.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "core/strings.h"
#include "simdjson.h"
#include "stream/kafka_config.h"

namespace authwatch {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class DecisionFeed::Events final : public RdKafka::EventCb {
 public:
  explicit Events(DecisionFeed* f) : f_(f) {}
  void event_cb(RdKafka::Event& e) override {
    if (e.type() == RdKafka::Event::EVENT_ERROR) {
      if (e.err() == RdKafka::ERR__ALL_BROKERS_DOWN || e.err() == RdKafka::ERR__TRANSPORT) f_->connected_ = false;
      const int64_t now = WallMs();
      if (now - last_log_ms_ > 10000) {  // once per 10 s while the broker is away
        last_log_ms_ = now;
        std::fprintf(stderr, "authwatch policyd: decisions feed: %s: %s (serving the last known decisions)\n",
                     RdKafka::err2str(e.err()).c_str(), e.str().c_str());
      }
    } else if (e.type() == RdKafka::Event::EVENT_STATS) {
      simdjson::dom::parser parser;
      simdjson::dom::element root;
      if (parser.parse(e.str()).get(root)) return;
      int64_t total = 0;
      simdjson::dom::object topics;
      if (root["topics"].get(topics)) return;
      for (auto [name, t] : topics) {
        simdjson::dom::object partitions;
        if (t["partitions"].get(partitions)) continue;
        for (auto [id, p] : partitions) {
          int64_t lag = -1;
          if (!p["consumer_lag"].get(lag) && lag > 0) total += lag;
        }
      }
      f_->lag_ = total;
    }
  }

 private:
  DecisionFeed* f_;
  int64_t last_log_ms_ = 0;
};

absl::StatusOr<std::unique_ptr<DecisionFeed>> DecisionFeed::Start(const AppConfig& config, DecisionStore* store) {
  std::unique_ptr<DecisionFeed> f(new DecisionFeed());
  f->store_ = store;
  f->events_ = std::make_unique<Events>(f.get());
  char host[128] = "host";
  gethostname(host, sizeof(host) - 1);
  const std::string group = Cat(config.kafka.group_id, "-policyd-", host, "-", getpid(), "-", WallMs());
  auto conf = MakeKafkaConf(config.kafka.properties, KafkaRole::kConsumer, group);
  if (!conf.ok()) return conf.status();
  std::string err;
  // Nothing is committed: every start reads the whole topic (decisions are few, and a
  // compacted topic keeps it short).
  (*conf)->set("enable.auto.commit", "false", err);
  (*conf)->set("enable.partition.eof", "true", err);
  (*conf)->set("event_cb", static_cast<RdKafka::EventCb*>(f->events_.get()), err);
  f->consumer_.reset(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!f->consumer_) return absl::InvalidArgumentError(Cat("decisions feed consumer: ", err));
  if (auto e = f->consumer_->subscribe({config.kafka.decisions_topic}); e != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(Cat("subscribe to ", config.kafka.decisions_topic, ": ", RdKafka::err2str(e)));
  }
  f->thread_ = std::thread([raw = f.get()] { raw->Loop(); });
  return f;
}

DecisionFeed::~DecisionFeed() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_) consumer_->close();
}

void DecisionFeed::Loop() {
  std::set<int32_t> at_end;
  int64_t last_expire = 0;
  while (!stop_.load()) {
    std::unique_ptr<RdKafka::Message> m(consumer_->consume(200));
    switch (m->err()) {
      case RdKafka::ERR_NO_ERROR: {
        connected_ = true;
        const ApplyResult r = store_->Apply(std::string_view(static_cast<const char*>(m->payload()), m->len()));
        (r == ApplyResult::kMalformed ? malformed_ : applied_)++;
        last_update_ms_ = WallMs();
        break;
      }
      case RdKafka::ERR__PARTITION_EOF: {
        connected_ = true;
        at_end.insert(m->partition());
        if (!ready_.load()) {
          std::vector<RdKafka::TopicPartition*> assigned;
          consumer_->assignment(assigned);
          bool all = !assigned.empty();
          for (auto* tp : assigned) all &= at_end.contains(tp->partition());
          RdKafka::TopicPartition::destroy(assigned);
          if (all) {
            ready_ = true;
            store_->Expire(WallMs());
            std::fprintf(stderr, "authwatch policyd: decisions loaded: %zu in force\n", store_->size());
          }
        }
        break;
      }
      default:
        break;
    }
    const int64_t now = WallMs();
    if (now - last_expire > 1000) {
      last_expire = now;
      store_->Expire(now);
    }
  }
}

}  // namespace authwatch
