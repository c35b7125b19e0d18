// StateCodec: one shard's detection state to and from its snapshot (authwatch.v1.ShardState,
// proto/authwatch/v1/state.proto): every rule's window state, the account profiles, and the
// decision policy's standing decisions, offence memory and expiry queue.
//
// A restored engine and policy behave exactly like the ones snapshotted: fed the same events
// after the snapshot's offset, they raise the same signals and write the same decisions in the
// same order. Rules depend on event time only, so nothing else (no clock, no GeoIP) needs saving.
// Not saved: PolicyStats (process-local counters for metrics) and the geo cache.
//
// Snapshots are canonical: every map is written in ascending key order, so equal states give
// equal bytes whatever the hash maps' iteration order, and StateDigest is a hash of those bytes.
//
// Restore is all or nothing: the snapshot is decoded and checked in full before the engine and
// policy are touched, and any inconsistency (a column of the wrong length, a value out of range,
// a duplicate key) is an error naming what is wrong; input never crashes it. A rule whose name
// and RuleStateFingerprint no longer match a current rule starts empty, as on a reload.
//
// Stateless; the engine and policy passed in are owned by one shard, and the caller must not use
// them from another thread during the call. Snapshot and Digest walk and sort the whole state
// (0.3 s for 10^6 profiled accounts, 0.8 s with 270 000 window keys besides; restore 0.1-0.25 s;
// bench/state_snapshot_bench.cc): call them between events, not per event.
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "authwatch/v1/state.pb.h"
#include "decide/decision_policy.h"
#include "detect/detection_engine.h"

namespace authwatch {

// ShardState.format_version written by this build; Restore refuses any other.
inline constexpr uint32_t kStateFormatVersion = 1;

class StateCodec {
 public:
  // The state of `engine` and `policy` as a snapshot that reflects input up to `input_offset`
  // (Kafka's convention: the offset of the next record to read).
  static v1::ShardState Snapshot(const DetectionEngine& engine, const DecisionPolicy& policy,
                                 int64_t input_offset);

  // Replaces the state of `engine` and `policy` (built with the current rules) with the
  // snapshot's. On error neither is changed.
  static absl::Status Restore(const v1::ShardState& state, DetectionEngine* engine, DecisionPolicy* policy);

  // A 64-bit digest of the state (not of the offset or the rule set's version), equal for equal
  // states whatever the hash maps' iteration order: the fault-injection suite compares a restored
  // engine's digest with an oracle's.
  static uint64_t Digest(const DetectionEngine& engine, const DecisionPolicy& policy);

 private:
  struct Impl;  // state_codec.cc; has the friend access StateCodec was granted
};

inline uint64_t StateDigest(const DetectionEngine& engine, const DecisionPolicy& policy) {
  return StateCodec::Digest(engine, policy);
}

// Parses a serialized ShardState; an error (naming the size) when the bytes are not one.
absl::StatusOr<v1::ShardState> ParseShardState(std::string_view serialized);

}  // namespace authwatch
