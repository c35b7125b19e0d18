// Building librdkafka configurations from the `kafka:` section of the config file. Every
// property the user sets passes through unchanged (TLS, SASL, timeouts: as for any librdkafka
// client); authwatch then sets the few properties its delivery guarantee depends on and refuses
// a user value that would break it. Secrets never reach a log line: RedactedProperties() masks
// every property whose name says it holds one.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "librdkafka/rdkafkacpp.h"

namespace authwatch {

enum class KafkaRole : uint8_t { kConsumer, kProducer };

// The user's properties plus authwatch's required ones for the role. Fails, naming the
// property, on a value librdkafka rejects or one that would break at-least-once.
absl::StatusOr<std::unique_ptr<RdKafka::Conf>> MakeKafkaConf(
    const std::map<std::string, std::string>& user, KafkaRole role, const std::string& group_id);

// A consumer that reads by assignment, not as a group member: it commits nothing, joins no
// rebalance, and reports each partition's end (ERR__PARTITION_EOF). For the state store's
// loads and `authwatch verify-state`.
absl::StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> MakeAssignedReader(
    const std::map<std::string, std::string>& user, const std::string& client);

// "bootstrap.servers=127.0.0.1:9092, sasl.password=*****, ..." for logs.
std::string RedactedProperties(const std::map<std::string, std::string>& properties);
bool IsSecretProperty(const std::string& name);

}  // namespace authwatch
