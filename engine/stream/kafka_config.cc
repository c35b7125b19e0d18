#include "stream/kafka_config.h"

#include <vector>

#include "core/strings.h"

namespace authwatch {
namespace {

absl::Status Set(RdKafka::Conf* conf, const std::string& name, const std::string& value) {
  std::string err;
  if (conf->set(name, value, err) != RdKafka::Conf::CONF_OK) {
    return absl::InvalidArgumentError(
        Cat("kafka.properties: ", name, "=", IsSecretProperty(name) ? "*****" : value, ": ", err));
  }
  return absl::OkStatus();
}

}  // namespace

bool IsSecretProperty(const std::string& name) {
  for (const char* word : {"password", "secret", "key", "token", "credential", "sasl.oauthbearer.config",
                           "sasl.jaas"}) {
    if (name.find(word) != std::string::npos) return true;
  }
  return false;
}

std::string RedactedProperties(const std::map<std::string, std::string>& properties) {
  std::string out;
  for (const auto& [k, v] : properties) {
    Append(&out, out.empty() ? "" : ", ", k, "=", IsSecretProperty(k) ? "*****" : v);
  }
  return out;
}

absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(
    const std::map<std::string, std::string>& user, KafkaRole role, const std::string& group_id) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  // Defaults the user may override.
  std::map<std::string, std::string> props = {{"client.id", "authwatch"}, {"log.connection.close", "false"}};
  // Nagle's algorithm holds a small request (a fetch, a batch of decisions) while an earlier
  // segment awaits its ACK, which the peer may delay by up to 40 ms: that is the latency tail.
  props["socket.nagle.disable"] = "true";
  if (role == KafkaRole::kConsumer) {
    props["group.id"] = group_id;
    props["auto.offset.reset"] = "earliest";  // a new group reads what is there: nothing lost
    props["partition.assignment.strategy"] = "cooperative-sticky";
    props["enable.auto.commit"] = "true";     // commits the offsets we store, every 5 s
    props["statistics.interval.ms"] = "5000"; // consumer lag for the metrics
    // Fetch in large batches: with librdkafka's 1 MiB per partition per fetch, a backlog is read
    // at one fetch round trip per ~4,000 events and the loop sleeps half the time waiting for
    // data (measured: 105k events/s with defaults, 270k with these, bench/e2e/run.sh).
    props["max.partition.fetch.bytes"] = "10485760";
    props["fetch.max.bytes"] = "104857600";
    props["queued.min.messages"] = "1000000";
  } else {
    props["linger.ms"] = "1";  // decisions are few and urgent: a gateway waits on them
  }
  for (const auto& [k, v] : user) {
    // Role-specific properties are skipped on the other client instead of warned about.
    static const std::vector<std::string> kConsumerOnly = {"group.id", "group.instance.id", "auto.offset.reset",
                                          "partition.assignment.strategy", "enable.auto.commit",
                                          "auto.commit.interval.ms", "session.timeout.ms",
                                          "max.poll.interval.ms", "fetch.min.bytes", "fetch.wait.max.ms",
                                          "enable.auto.offset.store", "isolation.level",
                                          "max.partition.fetch.bytes", "fetch.max.bytes",
                                          "queued.min.messages", "queued.max.messages.kbytes"};
    static const std::vector<std::string> kProducerOnly = {"linger.ms", "acks", "enable.idempotence", "compression.type",
                                          "message.timeout.ms", "batch.size", "queue.buffering.max.ms",
                                          "queue.buffering.max.messages", "retries", "transactional.id"};
    bool skip = false;
    for (const auto& p : role == KafkaRole::kConsumer ? kProducerOnly : kConsumerOnly) skip |= k == p;
    if (!skip) props[k] = v;
  }
  // Required by the at-least-once guarantee (README "Delivery guarantee").
  if (role == KafkaRole::kConsumer) {
    if (user.contains("enable.auto.offset.store") && user.at("enable.auto.offset.store") != "false") {
      return absl::InvalidArgumentError(
          "kafka.properties: enable.auto.offset.store must stay false: authwatch stores an offset "
          "only after the decisions it caused are acknowledged");
    }
    props["enable.auto.offset.store"] = "false";
  } else {
    for (const char* k : {"enable.idempotence", "acks"}) {
      if (user.contains(k) && user.at(k) != (std::string(k) == "acks" ? "all" : "true") &&
          !(std::string(k) == "acks" && user.at(k) == "-1")) {
        return absl::InvalidArgumentError(
            Cat("kafka.properties: ", k, " must stay ", std::string(k) == "acks" ? "all" : "true",
                ": decisions must not be lost or duplicated by producer retries"));
      }
    }
    props["enable.idempotence"] = "true";
    props["acks"] = "all";
    // Never give up on a decision while the broker is away; the consumer waits with it.
    if (!user.contains("message.timeout.ms")) props["message.timeout.ms"] = "0";
  }
  for (const auto& [k, v] : props) {
    if (auto s = Set(conf.get(), k, v); !s.ok()) return s;
  }
  return conf;
}

absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> MakeAssignedReader(
    const std::map<std::string, std::string>& user, const std::string& client) {
  auto conf = MakeKafkaConf(user, KafkaRole::kConsumer, client);
  if (!conf.ok()) return conf.status();
  std::string err;
  (*conf)->set("enable.auto.commit", "false", err);
  (*conf)->set("enable.partition.eof", "true", err);
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf->get(), err));
  if (!consumer) return absl::InvalidArgumentError(Cat("Kafka reader ", client, ": ", err));
  return consumer;
}

}  // namespace authwatch
