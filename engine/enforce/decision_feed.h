// DecisionFeed: keeps a DecisionStore up to date from the decisions topic. A consumer of its
// own group (unique per process, nothing committed) reads the topic from the beginning on a
// background thread, so every instance of the policy service rebuilds the full set of decisions
// in force; it is `ready` once it has reached the end of every partition once. If the broker
// becomes unreachable the store keeps the last known state and `connected` turns false.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "absl/status/statusor.h"
#include "app/config.h"
#include "enforce/decision_store.h"
#include "librdkafka/rdkafkacpp.h"

namespace authwatch {

class DecisionFeed {
 public:
  static absl::StatusOr<std::unique_ptr<DecisionFeed>> Start(const AppConfig& config, DecisionStore* store);
  ~DecisionFeed();

  bool ready() const { return ready_.load(); }
  bool connected() const { return connected_.load(); }
  int64_t last_update_wall_ms() const { return last_update_ms_.load(); }
  uint64_t applied() const { return applied_.load(); }
  uint64_t malformed() const { return malformed_.load(); }
  int64_t lag() const { return lag_.load(); }

 private:
  class Events;
  DecisionFeed() = default;
  void Loop();

  DecisionStore* store_ = nullptr;
  std::unique_ptr<Events> events_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> connected_{false};
  std::atomic<int64_t> last_update_ms_{0};
  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<int64_t> lag_{0};
};

}  // namespace authwatch
