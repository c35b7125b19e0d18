#include "stream/topic_admin.h"

#include <memory>

#include "absl/status/statusor.h"
#include "core/strings.h"
#include "librdkafka/rdkafka.h"

namespace authwatch {
namespace {

// Deletes a librdkafka C object when it leaves scope.
template <typename T, void (*Destroy)(T*)>
struct CPtr {
  T* p;
  ~CPtr() {
    if (p != nullptr) Destroy(p);
  }
};

}  // namespace

absl::Status EnsureTopic(RdKafka::Handle* client, const std::string& what, const std::string& name, int partitions,
                         int replication_factor, const std::map<std::string, std::string>& configs, int timeout_ms) {
  rd_kafka_t* rk = client->c_ptr();
  char errstr[512];
  CPtr<rd_kafka_NewTopic_t, rd_kafka_NewTopic_destroy> topic{
      rd_kafka_NewTopic_new(name.c_str(), partitions, replication_factor, errstr, sizeof errstr)};
  if (topic.p == nullptr) return absl::InvalidArgumentError(Cat(what, " ", name, ": ", errstr));
  for (const auto& [k, v] : configs) rd_kafka_NewTopic_set_config(topic.p, k.c_str(), v.c_str());
  CPtr<rd_kafka_AdminOptions_t, rd_kafka_AdminOptions_destroy> opts{
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS)};
  rd_kafka_AdminOptions_set_request_timeout(opts.p, timeout_ms, errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(opts.p, timeout_ms, errstr, sizeof errstr);
  CPtr<rd_kafka_queue_t, rd_kafka_queue_destroy> queue{rd_kafka_queue_new(rk)};
  rd_kafka_NewTopic_t* topics[] = {topic.p};
  rd_kafka_CreateTopics(rk, topics, 1, opts.p, queue.p);
  CPtr<rd_kafka_event_t, rd_kafka_event_destroy> ev{rd_kafka_queue_poll(queue.p, timeout_ms + 5000)};
  if (ev.p == nullptr) return absl::DeadlineExceededError(Cat("creating ", what, " ", name, ": no answer"));
  if (rd_kafka_event_error(ev.p) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(Cat("creating ", what, " ", name, ": ", rd_kafka_event_error_string(ev.p)));
  }
  size_t count = 0;
  const rd_kafka_topic_result_t** results =
      rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.p), &count);
  for (size_t i = 0; i < count; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      const char* msg = rd_kafka_topic_result_error_string(results[i]);
      return absl::UnavailableError(Cat("creating ", what, " ", name, ": ", msg != nullptr ? msg : rd_kafka_err2str(err)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PartitionCount(RdKafka::Handle* client, const std::string& topic, int timeout_ms) {
  std::string err;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(client, topic, nullptr, err));
  if (!t) return absl::InvalidArgumentError(Cat("topic ", topic, ": ", err));
  RdKafka::Metadata* raw = nullptr;
  const RdKafka::ErrorCode e = client->metadata(false, t.get(), &raw, timeout_ms);
  std::unique_ptr<RdKafka::Metadata> md(raw);
  if (e != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(Cat("metadata of ", topic, ": ", RdKafka::err2str(e)));
  for (const RdKafka::TopicMetadata* tm : *md->topics()) {
    if (tm->topic() != topic) continue;
    if (tm->err() != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(Cat("metadata of ", topic, ": ", RdKafka::err2str(tm->err())));
    }
    if (tm->partitions()->empty()) return absl::UnavailableError(Cat("topic ", topic, " has no partitions yet"));
    return static_cast<int>(tm->partitions()->size());
  }
  return absl::NotFoundError(Cat("topic ", topic, " does not exist"));
}

}  // namespace authwatch
