// NetworkShard: one partition of a repartition topic in a scale-out deployment (issue #8): the
// address- or ASN-keyed rules (detect/shard_role.h) over the events that every input
// partition's account shard forwarded to it, with its own decision policy and snapshot.
//
// Order. Events from the input partitions ("sources") arrive interleaved by the timing of the
// instances that forward them. To decide as replay does, the shard merges them into one order
// that does not depend on timing: by event time, then source, then source offset. An event is
// processed once no event still to come can precede it: every other source has reported (by an
// event or a watermark) a newer time, or is idle. Until then it waits in its source's queue;
// a source that has not reported at all holds everything back (its instance is down or
// restoring, and its events will come). A late event (older than its own source's newest,
// within the late allowance) comes after that newer event, as in its partition.
//
// Repeats. A restarted account shard forwards again the events after its last commit. Per
// source, events are processed in offset order, so "processed up to source offset N" (kept in
// the snapshot) recognises every repeat.
//
// Not thread-safe; owned by the consume loop.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "authwatch/v1/routed.pb.h"
#include "authwatch/v1/state.pb.h"
#include "decide/decision_policy.h"
#include "detect/detection_engine.h"
#include "detect/shard_role.h"
#include "enrich/geo_enricher.h"

namespace authwatch {

// The record an account shard forwards for an event at `source_offset` of input partition
// `source`, with the profile facts before each attempt it stands for; NetworkShard reads it back.
void ToRoutedEvent(const EnrichedEvent& event, int32_t source, int64_t source_offset,
                   const std::vector<ProfileFacts>& facts, v1::RoutedEvent* out);

class NetworkShard {
 public:
  // `rules`: the whole rule set (the shard keeps the rules of its role); `sources`: the number
  // of input partitions over all input topics.
  NetworkShard(ShardRole role, const std::shared_ptr<const RuleSet>& rules, int sources, GeoEnricher* enricher);
  void SetRules(const std::shared_ptr<const RuleSet>& rules);

  // An event found at `offset` of the shard's partition. False when it is a repeat of one
  // already processed or waiting (nothing to do) or names an unknown source.
  bool Add(const v1::RoutedEvent& event, int64_t offset);
  void Watermark(const v1::SourceWatermark& watermark);
  // Processes every waiting event that nothing still to come can precede, in order; after each,
  // calls `processed(offset, decisions)` with the partition offset and the decisions it caused.
  void Release(const std::function<void(int64_t, std::vector<Decision>&)>& processed);

  // The lowest partition offset of a waiting event (-1: none waits): the shard's partition may
  // be committed up to it.
  int64_t OldestWaiting() const;
  size_t waiting() const { return waiting_; }

  // The state (windows, policy, each source's progress) reflecting the partition up to
  // `next_offset`, and back. Restore is all or nothing and forgets waiting events (they are
  // re-read from the partition).
  v1::ShardState Snapshot(int64_t next_offset) const;
  absl::Status Restore(const v1::ShardState& state);

  ShardRole role() const { return role_; }
  const DetectionEngine& detection() const { return engine_; }
  const DecisionPolicy& policy() const { return policy_; }

 private:
  struct Waiting {
    int64_t offset;
    v1::RoutedEvent event;
  };
  struct Source {
    std::deque<Waiting> queue;
    int64_t arrived = -1;    // highest source offset added or processed
    int64_t processed = -1;  // highest source offset processed
    int64_t watermark_ms = INT64_MIN;
    bool idle = false;
  };
  // The source whose head event may be processed now, or -1.
  int Next() const;
  void Process(const v1::RoutedEvent& event, std::vector<Decision>* out);

  ShardRole role_;
  DetectionEngine engine_;
  DecisionPolicy policy_;
  GeoEnricher* enricher_;
  std::vector<Source> sources_;
  size_t waiting_ = 0;
  EventTimeMs clock_ms_ = 0;  // the policy's stream time: newest event time processed
  // Reused per event.
  EnrichedEvent event_;
  EventContext ctx_;
  std::vector<Signal> signals_;
  std::vector<Decision> decisions_;
};

}  // namespace authwatch
