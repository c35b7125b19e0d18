// KafkaService::Output, shared by the service's files (kafka_service.cc, kafka_scale_out.cc):
// produces the decisions, dead letters and (scale-out) forwarded events and watermarks of the
// message being processed, each tied to its input offset for at-least-once delivery.
// Private to the service; used from the consume loop's thread only.
#pragma once

#include <string>
#include <vector>

#include "core/strings.h"
#include "detect/shard_role.h"
#include "emit/decision_json.h"
#include "librdkafka/rdkafka.h"
#include "stream/kafka_service.h"
#include "stream/run_support.h"

namespace authwatch {

// Identifies the input message a produced record belongs to; owned by librdkafka until the
// delivery report, then deleted there.
struct DeliveryTag {
  int64_t stream;  // topic index << 32 | partition
  int64_t offset;
};

// Produces decisions and dead letters for the message being processed.
class KafkaService::Output final : public OutputSink, public DeadLetterSink, public EventForwarder {
 public:
  Output(KafkaService* service) : s_(service) {}
  void SetCurrent(int64_t stream, int64_t offset) {
    stream_ = stream;
    offset_ = offset;
  }
  // Scale-out: the source index of the account shard whose message is being processed.
  void set_source(int32_t source) { source_ = source; }
  // Scale-out: the event to the address shard of its prefix and the ASN shard of its ASN.
  void Forward(const EnrichedEvent& e, const EventContext& ctx, const std::vector<ProfileFacts>& facts) override {
    if (suppressed_) return;  // forwarded before the restart
    ToRoutedEvent(e, source_, offset_, facts, record_.mutable_event());
    record_.SerializeToString(&buffer_);
    const int32_t partitions = s_->config_.scale_out.partitions;
    if (const uint64_t route = RouteKey(ctx, ShardRole::kAddress); route != 0) {
      Produce(s_->address_topic_.get(), static_cast<int32_t>(route % static_cast<uint64_t>(partitions)), nullptr, buffer_);
    }
    if (const uint64_t route = RouteKey(ctx, ShardRole::kAsn); route != 0) {
      Produce(s_->asn_topic_.get(), static_cast<int32_t>(route % static_cast<uint64_t>(partitions)), nullptr, buffer_);
    }
  }
  // Scale-out: a watermark of an account shard to one network shard. Not tied to an input
  // offset: a lost one is superseded by the next.
  void Watermark(RdKafka::Topic* topic, int32_t partition, const std::string& value) {
    for (;;) {
      const RdKafka::ErrorCode err = s_->producer_->produce(topic, partition, RdKafka::Producer::RK_MSG_COPY,
                                                            const_cast<char*>(value.data()), value.size(),
                                                            nullptr, 0, nullptr);
      if (err != RdKafka::ERR__QUEUE_FULL) return;
      s_->producer_->poll(50);
    }
  }
  // While re-reading events after a restore: their decisions and dead letters were written
  // before the restart.
  void set_suppressed(bool suppressed) { suppressed_ = suppressed; }
  void Decision(const authwatch::Decision& d) override {
    if (suppressed_) return;
    buffer_.clear();
    AppendDecisionJson(d, &buffer_);
    Produce(s_->decisions_topic_.get(), RdKafka::Topic::PARTITION_UA, &d.subject.value, buffer_);
    ++s_->stats_.produced_decisions;
    s_->metrics_->OnDecision(
        d, run::WallMs(), std::chrono::duration<double>(std::chrono::steady_clock::now() - s_->consumed_at_).count());
  }
  void Enriched(const EnrichedEvent&) override {}
  void Write(const DeadLetter& letter) override {
    if (suppressed_) return;
    // The C API: its header calls copy keys and values explicitly, and the message takes the
    // header list on success.
    rd_kafka_headers_t* headers = rd_kafka_headers_new(3);
    const std::string_view reason = RejectReasonName(letter.rejection->reason);
    rd_kafka_header_add(headers, "authwatch.reason", -1, reason.data(), static_cast<ssize_t>(reason.size()));
    rd_kafka_header_add(headers, "authwatch.detail", -1, letter.rejection->detail.data(),
                        static_cast<ssize_t>(letter.rejection->detail.size()));
    rd_kafka_header_add(headers, "authwatch.source", -1, letter.source.data(),
                        static_cast<ssize_t>(letter.source.size()));
    ProduceRaw(letter.raw, headers);
    ++s_->stats_.produced_dead_letters;
  }

 private:
  void Produce(RdKafka::Topic* topic, int32_t partition, const std::string* key, const std::string& value) {
    auto* tag = new DeliveryTag{stream_, offset_};
    s_->tracker_.AddPending(stream_, offset_);
    for (;;) {
      const RdKafka::ErrorCode err = s_->producer_->produce(
          topic, partition, RdKafka::Producer::RK_MSG_COPY,
          const_cast<char*>(value.data()), value.size(), key, tag);
      if (err == RdKafka::ERR_NO_ERROR) return;
      if (err == RdKafka::ERR__QUEUE_FULL) {
        s_->producer_->poll(50);  // backpressure: wait for deliveries
        continue;
      }
      Fail(tag, Cat("cannot produce to ", topic->name(), ": ", RdKafka::err2str(err)));
      return;
    }
  }
  void ProduceRaw(std::string_view value, rd_kafka_headers_t* headers) {
    auto* tag = new DeliveryTag{stream_, offset_};
    s_->tracker_.AddPending(stream_, offset_);
    for (;;) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          s_->producer_->c_ptr(), RD_KAFKA_V_RKT(s_->dead_letter_topic_->c_ptr()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(tag), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;  // the message owns the headers now
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        s_->producer_->poll(50);
        continue;
      }
      rd_kafka_headers_destroy(headers);
      Fail(tag, Cat("cannot produce to ", s_->dead_letter_topic_->name(), ": ", rd_kafka_err2str(err)));
      return;
    }
  }
  void Fail(DeliveryTag* tag, const std::string& why) {
    // The record is not delivered: its input offset must never be committed. Stop with an
    // error; a restart re-reads from the last commit.
    delete tag;
    ++s_->stats_.delivery_failures;
    if (s_->fatal_error_.empty()) s_->fatal_error_ = why;
    s_->Stop();
  }

  KafkaService* s_;
  int64_t stream_ = -1;
  int64_t offset_ = -1;
  int32_t source_ = -1;
  bool suppressed_ = false;
  std::string buffer_;
  v1::RoutedRecord record_;  // reused per forwarded event
};

}  // namespace authwatch
