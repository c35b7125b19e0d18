// ShardOracle: the state checker of the fault-injection suite (issue #8). It runs the shards of
// a deployment offline, single-threaded, on the input as the broker holds it, and tells for any
// snapshot whether the state it holds is the one the oracle reaches at the same position:
//   account shard (scale-out)  its partition's records up to the snapshot's next offset;
//   network shard (scale-out)  the events every account shard forwarded to it, merged in the
//                              shards' order (event time, source, offset), up to each source's
//                              processed offset in the snapshot: a snapshot whose progress is
//                              not a prefix of that order was reached in another order, and
//                              differs;
//   single instance            its one partition up to the next offset (several partitions
//                              interleave by consumption timing: not comparable, skipped).
// Equal means equal StateDigest: every window, profile and standing decision, byte for byte.
// A snapshot that does not restore differs, with the reason.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "app/config.h"
#include "authwatch/v1/routed.pb.h"
#include "authwatch/v1/state.pb.h"
#include "detect/rule_set.h"
#include "detect/shard_role.h"
#include "enrich/geo_enricher.h"

namespace authwatch {

class Pipeline;

struct InputRecord {
  int64_t offset;
  std::string payload;
};

// One input partition as the broker holds it, in offset order; `source` numbers the partitions
// of all input topics in order (KafkaService's source index).
struct OracleInput {
  std::string topic;
  int32_t partition;
  int32_t source;
  std::vector<InputRecord> records;
};

// Which shard a snapshot belongs to (parsed from its owner key by the caller).
struct ShardId {
  enum class Kind : uint8_t { kSingle, kAccount, kAddress, kAsn } kind;
  std::string topic;  // account shards: the input topic
  int32_t partition;  // account and network shards
};

struct SnapshotVerdict {
  enum class Result : uint8_t { kEqual, kDiffer, kSkipped } result;
  uint64_t digest = 0;  // the snapshot's
  uint64_t oracle = 0;  // the oracle's at its position
  std::string detail;   // why it differs or was skipped
};

class ShardOracle {
 public:
  // `config`: the deployment's (late allowance, memory budget, scale_out.partitions);
  // `inputs`: every input partition.
  ShardOracle(const AppConfig& config, std::shared_ptr<const RuleSet> rules, GeoEnricher* enricher,
              std::vector<OracleInput> inputs);
  ~ShardOracle();

  // Verdicts for `snapshots` of one shard, in their order.
  std::vector<SnapshotVerdict> Check(const ShardId& shard, const std::vector<const v1::ShardState*>& snapshots);

 private:
  struct Forwarded;
  std::unique_ptr<Pipeline> MakePipeline(ShardRole role) const;
  const OracleInput* FindInput(const std::string& topic, int32_t partition) const;
  std::vector<SnapshotVerdict> CheckPipeline(const OracleInput& input, ShardRole role,
                                             const std::vector<const v1::ShardState*>& snapshots);
  std::vector<SnapshotVerdict> CheckNetwork(ShardRole role, int32_t partition,
                                            const std::vector<const v1::ShardState*>& snapshots);
  // Runs every account shard once for the events they forward.
  void Forward();

  const AppConfig& config_;
  std::shared_ptr<const RuleSet> rules_;
  GeoEnricher* enricher_;
  std::vector<OracleInput> inputs_;
  int sources_ = 0;
  std::unique_ptr<Forwarded> forwarded_;
};

}  // namespace authwatch
