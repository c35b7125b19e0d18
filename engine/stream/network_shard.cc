#include "stream/network_shard.h"

#include <algorithm>
#include <cstring>

#include "core/strings.h"
#include "state/state_codec.h"

namespace authwatch {
namespace {

ProfileFacts FromProto(const v1::Facts& f) {
  ProfileFacts facts;
  facts.network_known = f.network_known();
  facts.asn_known = f.asn_known();
  facts.country_known = f.country_known();
  facts.account_new = f.account_new();
  facts.established = f.established();
  facts.successes = f.successes();
  return facts;
}

}  // namespace

void ToRoutedEvent(const EnrichedEvent& e, int32_t source, int64_t source_offset,
                   const std::vector<ProfileFacts>& facts, v1::RoutedEvent* r) {
  r->Clear();
  r->set_source(source);
  r->set_source_offset(source_offset);
  r->set_ts_ms(e.event.ts_ms);
  r->set_account(e.event.account);
  r->set_ip(reinterpret_cast<const char*>(e.event.ip.bytes().data()), e.event.ip.bytes().size());
  r->set_success(e.event.result == AuthResult::kSuccess);
  r->set_protocol(e.event.protocol);
  r->set_user_agent(e.event.user_agent);
  r->set_failure_reason(e.event.failure_reason);
  for (const ProfileFacts& f : facts) {
    v1::Facts* out = r->add_facts();
    out->set_network_known(f.network_known);
    out->set_asn_known(f.asn_known);
    out->set_country_known(f.country_known);
    out->set_account_new(f.account_new);
    out->set_established(f.established);
    out->set_successes(f.successes);
  }
}

NetworkShard::NetworkShard(ShardRole role, const std::shared_ptr<const RuleSet>& rules, int sources,
                           GeoEnricher* enricher)
    : role_(role),
      engine_(RulesForRole(rules, role)),
      policy_(rules),
      enricher_(enricher),
      sources_(static_cast<size_t>(std::max(sources, 0))) {}

void NetworkShard::SetRules(const std::shared_ptr<const RuleSet>& rules) {
  engine_.SetRules(RulesForRole(rules, role_));
  policy_.SetRules(rules);
}

bool NetworkShard::Add(const v1::RoutedEvent& event, int64_t offset) {
  if (event.source() < 0 || static_cast<size_t>(event.source()) >= sources_.size()) return false;
  Source& s = sources_[static_cast<size_t>(event.source())];
  if (event.source_offset() <= s.arrived) return false;
  s.arrived = event.source_offset();
  s.watermark_ms = std::max(s.watermark_ms, event.ts_ms());
  s.idle = false;
  s.queue.push_back({offset, event});
  ++waiting_;
  return true;
}

void NetworkShard::Watermark(const v1::SourceWatermark& w) {
  if (w.source() < 0 || static_cast<size_t>(w.source()) >= sources_.size()) return;
  Source& s = sources_[static_cast<size_t>(w.source())];
  s.watermark_ms = std::max(s.watermark_ms, w.max_event_ms());
  s.idle = w.idle();
}

int NetworkShard::Next() const {
  // The smallest head by (time, source); its source's own later events come after it.
  int best = -1;
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    if (s.queue.empty()) continue;
    if (best < 0 || s.queue.front().event.ts_ms() < sources_[static_cast<size_t>(best)].queue.front().event.ts_ms()) {
      best = static_cast<int>(i);
    }
  }
  if (best < 0) return -1;
  const int64_t t = sources_[static_cast<size_t>(best)].queue.front().event.ts_ms();
  // Nothing still to come may precede it: each other source's next event is at least as new as
  // its watermark, and on a tie a lower source goes first.
  for (size_t i = 0; i < sources_.size(); ++i) {
    if (static_cast<int>(i) == best) continue;
    const Source& s = sources_[i];
    if (!s.queue.empty() || s.idle) continue;  // its next event is its head: not older (best is smallest)
    if (s.watermark_ms < t || (s.watermark_ms == t && static_cast<int>(i) < best)) return -1;
  }
  return best;
}

void NetworkShard::Release(const std::function<void(int64_t, std::vector<Decision>&)>& processed) {
  for (int i = Next(); i >= 0; i = Next()) {
    Source& s = sources_[static_cast<size_t>(i)];
    Waiting w = std::move(s.queue.front());
    s.queue.pop_front();
    --waiting_;
    decisions_.clear();
    Process(w.event, &decisions_);
    s.processed = w.event.source_offset();
    processed(w.offset, decisions_);
  }
}

void NetworkShard::Process(const v1::RoutedEvent& in, std::vector<Decision>* out) {
  AuthEvent& ev = event_.event;
  ev.Clear();
  ev.ts_ms = in.ts_ms();
  ev.account = in.account();
  std::array<uint8_t, 16> bytes{};
  if (in.ip().size() == bytes.size()) std::memcpy(bytes.data(), in.ip().data(), bytes.size());
  ev.ip = IpAddress::FromV6(bytes);
  ev.result = in.success() ? AuthResult::kSuccess : AuthResult::kFailure;
  ev.protocol = in.protocol();
  ev.user_agent = in.user_agent();
  ev.failure_reason = in.failure_reason();
  ev.source_offset = in.source_offset();
  enricher_->Enrich(&event_);
  clock_ms_ = std::max(clock_ms_, ev.ts_ms);
  policy_.AdvanceTo(clock_ms_, out);
  for (const v1::Facts& f : in.facts()) {
    signals_.clear();
    engine_.ProcessWithFacts(event_, FromProto(f), &ctx_, &signals_);
    for (const Signal& s : signals_) policy_.OnSignal(s, ctx_, out);
  }
}

int64_t NetworkShard::OldestWaiting() const {
  int64_t oldest = -1;
  for (const Source& s : sources_) {
    for (const Waiting& w : s.queue) {
      if (oldest < 0 || w.offset < oldest) oldest = w.offset;
      break;  // a source's queue is in partition order: its front is its oldest
    }
  }
  return oldest;
}

v1::ShardState NetworkShard::Snapshot(int64_t next_offset) const {
  v1::ShardState state = StateCodec::Snapshot(engine_, policy_, next_offset);
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source& s = sources_[i];
    v1::SourceProgress* p = state.add_sources();
    p->set_source(static_cast<int32_t>(i));
    p->set_processed_offset(s.processed);
    p->set_watermark_ms(s.watermark_ms == INT64_MIN ? 0 : s.watermark_ms);
    p->set_idle(s.idle);
  }
  return state;
}

absl::Status NetworkShard::Restore(const v1::ShardState& state) {
  std::vector<Source> sources(sources_.size());
  for (const v1::SourceProgress& p : state.sources()) {
    if (p.source() < 0 || static_cast<size_t>(p.source()) >= sources.size()) {
      return absl::InvalidArgumentError(Cat("state snapshot: source ", p.source(), " of ", sources.size(),
                                            " input partitions (did the input topics change?)"));
    }
    Source& s = sources[static_cast<size_t>(p.source())];
    s.processed = s.arrived = p.processed_offset();
    s.watermark_ms = p.watermark_ms() == 0 ? INT64_MIN : p.watermark_ms();
    // Not idle: an idle source may have woken up meanwhile, and its owner says so again if not.
    s.idle = false;
  }
  if (absl::Status st = StateCodec::Restore(state, &engine_, &policy_); !st.ok()) return st;
  sources_ = std::move(sources);
  waiting_ = 0;
  return absl::OkStatus();
}

}  // namespace authwatch
