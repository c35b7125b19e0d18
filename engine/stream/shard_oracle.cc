#include "stream/shard_oracle.h"

#include <algorithm>
#include <map>

#include "app/pipeline.h"
#include "app/startup.h"
#include "core/strings.h"
#include "state/state_codec.h"
#include "stream/network_shard.h"

namespace authwatch {
namespace {

// The oracle's decisions and rejections go nowhere: only its state is compared.
class Discard final : public OutputSink, public DeadLetterSink {
 public:
  void Decision(const authwatch::Decision&) override {}
  void Enriched(const EnrichedEvent&) override {}
  void Write(const DeadLetter&) override {}
};

Discard discard;

SnapshotVerdict Compare(uint64_t digest, uint64_t oracle, std::string_view where) {
  SnapshotVerdict v{digest == oracle ? SnapshotVerdict::Result::kEqual : SnapshotVerdict::Result::kDiffer, digest,
                    oracle, ""};
  if (digest != oracle) v.detail = Cat("the state differs from the oracle's at ", where);
  return v;
}

SnapshotVerdict Differ(std::string detail) {
  return SnapshotVerdict{SnapshotVerdict::Result::kDiffer, 0, 0, std::move(detail)};
}

}  // namespace

// The events each network shard receives, per role and partition, as the account shards
// forward them.
struct ShardOracle::Forwarded final : public EventForwarder {
  Forwarded(int partitions) : partitions(partitions) {}
  void Forward(const EnrichedEvent& e, const EventContext& ctx, const std::vector<ProfileFacts>& facts) override {
    for (ShardRole role : {ShardRole::kAddress, ShardRole::kAsn}) {
      const uint64_t route = RouteKey(ctx, role);
      if (route == 0) continue;
      auto& to = events[{role, static_cast<int32_t>(route % static_cast<uint64_t>(partitions))}];
      ToRoutedEvent(e, source, offset, facts, &to.emplace_back());
    }
  }
  int partitions;
  int32_t source = 0;
  int64_t offset = 0;
  std::map<std::pair<ShardRole, int32_t>, std::vector<v1::RoutedEvent>> events;
};

ShardOracle::ShardOracle(const AppConfig& config, std::shared_ptr<const RuleSet> rules, GeoEnricher* enricher,
                         std::vector<OracleInput> inputs)
    : config_(config), rules_(std::move(rules)), enricher_(enricher), inputs_(std::move(inputs)) {
  for (const OracleInput& in : inputs_) sources_ = std::max(sources_, in.source + 1);
}

ShardOracle::~ShardOracle() = default;

const OracleInput* ShardOracle::FindInput(const std::string& topic, int32_t partition) const {
  for (const OracleInput& in : inputs_) {
    if (in.topic == topic && in.partition == partition) return &in;
  }
  return nullptr;
}

std::vector<SnapshotVerdict> ShardOracle::Check(const ShardId& shard,
                                                const std::vector<const v1::ShardState*>& snapshots) {
  switch (shard.kind) {
    case ShardId::Kind::kAccount: {
      const OracleInput* in = FindInput(shard.topic, shard.partition);
      if (in == nullptr) {
        return std::vector<SnapshotVerdict>(
            snapshots.size(), Differ(Cat("no input partition ", shard.topic, "/", shard.partition)));
      }
      return CheckPipeline(*in, ShardRole::kAccount, snapshots);
    }
    case ShardId::Kind::kAddress:
      return CheckNetwork(ShardRole::kAddress, shard.partition, snapshots);
    case ShardId::Kind::kAsn:
      return CheckNetwork(ShardRole::kAsn, shard.partition, snapshots);
    case ShardId::Kind::kSingle:
      break;
  }
  // One instance's engine over every partition it was assigned: comparable when there is one.
  // The snapshots of each such partition are checked in one pass over it.
  std::vector<SnapshotVerdict> out(snapshots.size());
  std::map<const OracleInput*, std::vector<size_t>> by_input;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    const v1::ShardState* s = snapshots[i];
    const OracleInput* in = s->inputs_size() == 1 ? FindInput(s->inputs(0).topic(), s->inputs(0).partition()) : nullptr;
    if (in == nullptr) {
      out[i] = {SnapshotVerdict::Result::kSkipped, 0, 0,
                Cat(s->inputs_size(), " input partitions: their interleaving depends on consumption timing")};
    } else {
      by_input[in].push_back(i);
    }
  }
  for (const auto& [in, indices] : by_input) {
    std::vector<const v1::ShardState*> of_input;
    for (size_t i : indices) of_input.push_back(snapshots[i]);
    std::vector<SnapshotVerdict> verdicts = CheckPipeline(*in, ShardRole::kAll, of_input);
    for (size_t k = 0; k < indices.size(); ++k) out[indices[k]] = std::move(verdicts[k]);
  }
  return out;
}

std::unique_ptr<Pipeline> ShardOracle::MakePipeline(ShardRole role) const {
  auto decoder = MakeDecoder(config_, config_.input.format);  // validated by the caller's start-up
  auto p = std::make_unique<Pipeline>(*std::move(decoder), enricher_, RulesForRole(rules_, role),
                                      config_.input.late_allowance_ms, EmitMode::kDecisions, &discard, &discard);
  p->set_window_memory_budget(config_.limits.window_memory_bytes);
  return p;
}

std::vector<SnapshotVerdict> ShardOracle::CheckPipeline(const OracleInput& input, ShardRole role,
                                                        const std::vector<const v1::ShardState*>& snapshots) {
  std::vector<SnapshotVerdict> out(snapshots.size());
  std::multimap<int64_t, size_t> due;  // next offset -> snapshot
  for (size_t i = 0; i < snapshots.size(); ++i) {
    const v1::ShardState& s = *snapshots[i];
    int64_t next = -1;
    for (const v1::InputPosition& in : s.inputs()) {
      if (in.topic() == input.topic && in.partition() == input.partition) next = in.next_offset();
    }
    auto restored = MakePipeline(role);
    if (next < 0) {
      out[i] = Differ(Cat("no position for ", input.topic, "/", input.partition));
    } else if (absl::Status r = StateCodec::Restore(s, restored->mutable_detection(), restored->mutable_policy());
               !r.ok()) {
      out[i] = Differ(Cat("does not restore: ", FromAbsl(r.message())));
    } else {
      out[i].digest = StateDigest(restored->detection(), restored->policy());
      due.emplace(next, i);
    }
  }
  auto pipeline = MakePipeline(role);
  auto check_up_to = [&](int64_t offset) {  // snapshots whose next record is at `offset` or before
    while (!due.empty() && due.begin()->first <= offset) {
      const size_t i = due.begin()->second;
      out[i] = Compare(out[i].digest, StateDigest(pipeline->detection(), pipeline->policy()),
                       Cat(input.topic, "/", input.partition, " offset ", due.begin()->first));
      due.erase(due.begin());
    }
  };
  for (const InputRecord& r : input.records) {
    check_up_to(r.offset);
    pipeline->Process(r.payload, SourcePosition{input.topic, r.offset, input.partition});
  }
  const int64_t end = input.records.empty() ? 0 : input.records.back().offset + 1;
  check_up_to(end);
  for (const auto& [next, i] : due) {
    out[i] = Differ(Cat("next offset ", next, " is beyond the end of ", input.topic, "/", input.partition, " (", end, ")"));
  }
  return out;
}

void ShardOracle::Forward() {
  if (forwarded_) return;
  forwarded_ = std::make_unique<Forwarded>(std::max(config_.scale_out.partitions, 1));
  for (const OracleInput& input : inputs_) {
    auto p = MakePipeline(ShardRole::kAccount);
    p->set_forwarder(forwarded_.get());
    forwarded_->source = input.source;
    for (const InputRecord& r : input.records) {
      forwarded_->offset = r.offset;
      p->Process(r.payload, SourcePosition{input.topic, r.offset, input.partition});
    }
  }
}

std::vector<SnapshotVerdict> ShardOracle::CheckNetwork(ShardRole role, int32_t partition,
                                                       const std::vector<const v1::ShardState*>& snapshots) {
  Forward();
  std::vector<SnapshotVerdict> out(snapshots.size());
  // Each snapshot's progress: the last source offset processed per source.
  std::map<std::vector<int64_t>, std::vector<size_t>> due;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    const v1::ShardState& s = *snapshots[i];
    NetworkShard restored(role, rules_, sources_, enricher_);
    if (absl::Status r = restored.Restore(s); !r.ok()) {
      out[i] = Differ(Cat("does not restore: ", FromAbsl(r.message())));
      continue;
    }
    out[i].digest = StateDigest(restored.detection(), restored.policy());
    std::vector<int64_t> progress(static_cast<size_t>(sources_), -1);
    for (const v1::SourceProgress& p : s.sources()) progress[static_cast<size_t>(p.source())] = p.processed_offset();
    due[progress].push_back(i);
  }
  NetworkShard oracle(role, rules_, sources_, enricher_);
  const std::vector<v1::RoutedEvent>& events = forwarded_->events[{role, partition}];
  for (size_t i = 0; i < events.size(); ++i) oracle.Add(events[i], static_cast<int64_t>(i));
  for (int32_t s = 0; s < sources_; ++s) {  // the input has ended: nothing more to wait for
    v1::SourceWatermark end;
    end.set_source(s);
    end.set_idle(true);
    oracle.Watermark(end);
  }
  std::vector<int64_t> progress(static_cast<size_t>(sources_), -1);
  const std::string where = Cat(ShardRoleName(role), " shard ", partition);
  auto check = [&] {
    auto it = due.find(progress);
    if (it == due.end()) return;
    const uint64_t digest = StateDigest(oracle.detection(), oracle.policy());
    for (size_t i : it->second) out[i] = Compare(out[i].digest, digest, where);
    due.erase(it);
  };
  check();
  oracle.Release([&](int64_t index, std::vector<Decision>&) {
    const v1::RoutedEvent& e = events[static_cast<size_t>(index)];
    progress[static_cast<size_t>(e.source())] = e.source_offset();
    check();
  });
  for (const auto& [p, indices] : due) {
    for (size_t i : indices) {
      out[i] = Differ(Cat(where, ": its progress is not a prefix of the oracle's merge order (or beyond the input)"));
    }
  }
  return out;
}

}  // namespace authwatch
