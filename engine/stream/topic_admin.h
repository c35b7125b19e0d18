// Creating the topics authwatch owns (the state topic, the repartition topics) when they are
// missing, through librdkafka's admin API on an existing client.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "librdkafka/rdkafkacpp.h"

namespace authwatch {

// Creates `name` with `partitions` partitions and `configs` unless it exists (an existing topic
// is left as it is). `replication_factor` -1: the broker's default. `what` names the topic's
// purpose in errors ("state topic").
absl::Status EnsureTopic(RdKafka::Handle* client, const std::string& what, const std::string& name, int partitions,
                         int replication_factor, const std::map<std::string, std::string>& configs, int timeout_ms);

// The number of partitions of `topic`, from the cluster's metadata.
absl::StatusOr<int> PartitionCount(RdKafka::Handle* client, const std::string& topic, int timeout_ms);

}  // namespace authwatch
