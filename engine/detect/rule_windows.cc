#include "detect/rule_windows.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"
#include "absl/strings/str_join.h"
#include "core/json_writer.h"
#include "core/stable_hash.h"
#include "detect/shard_role.h"
#include "emit/enriched_json.h"

namespace authwatch {
namespace {

uint64_t DistinctValue(const EventContext& ctx, DistinctField f) {
  switch (f) {
    case DistinctField::kAccount: return ctx.key(KeyKind::kAccount);
    case DistinctField::kIp: return ctx.key(KeyKind::kIp);
    case DistinctField::kPrefix: return ctx.key(KeyKind::kPrefix);
    case DistinctField::kAsn: return ctx.key(KeyKind::kAsn);
    case DistinctField::kCountry: {
      const GeoRecord* g = ctx.event->geo.get();
      return g && !g->country_iso.empty() ? StableHash64(g->country_iso, 7) : 0;
    }
    case DistinctField::kUserAgent: return StableHash64(ctx.event->event.user_agent, 8);
  }
  return 0;
}

// False when no event of `result` can match `f` (by its result clauses alone).
bool Admits(const Filter& f, AuthResult result) {
  const uint8_t bit = result == AuthResult::kSuccess ? 1 : 2;
  for (const FilterClause& c : f.clauses) {
    if (c.field == FilterField::kResult && c.list < 0 && ((c.result_mask & bit) != 0) == c.negate) return false;
  }
  return true;
}

bool Holds(const Condition& c, double v) {
  return (!c.has_at_least || v >= c.at_least) && (!c.has_at_most || v <= c.at_most);
}

std::string FormatNumber(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return Cat(static_cast<int64_t>(v));
  return Cat(std::round(v * 1000) / 1000);
}

}  // namespace

std::string FormatDuration(int64_t ms) {
  if (ms % 86400000 == 0) return Cat(ms / 86400000, "d");
  if (ms % 3600000 == 0) return Cat(ms / 3600000, "h");
  if (ms % 60000 == 0) return Cat(ms / 60000, "m");
  if (ms % 1000 == 0) return Cat(ms / 1000, "s");
  return Cat(ms, "ms");
}

std::string DescribeFilter(const Filter& f) {
  static constexpr std::string_view kNames[] = {
      "result", "protocol", "country", "asn", "reason", "account", "ip",
      "network_known", "asn_known", "country_known", "account_new", "established", "device_known"};
  std::vector<std::string> parts;
  for (const auto& c : f.clauses) {
    const std::string_view name = kNames[static_cast<int>(c.field)];
    std::string values;
    if (c.list >= 0 || c.list == -2) {
      values = Cat(c.negate ? " not in " : " in ", c.list_name);
      parts.push_back(Cat(name, values));
      continue;
    }
    if (c.field >= FilterField::kNetworkKnown) {
      values = c.boolean ? "true" : "false";
    } else if (c.field == FilterField::kAsn) {
      values = absl::StrJoin(c.numbers, "|");
    } else {
      values = absl::StrJoin(c.strings, "|");
    }
    parts.push_back(Cat(name, c.negate ? "!=" : "=", values));
  }
  return absl::StrJoin(parts, ",");
}

std::string DescribeCondition(const Condition& c) {
  switch (c.aggregate) {
    case Aggregate::kCount: return Cat("count(", DescribeFilter(c.filter), ")");
    case Aggregate::kDistinct:
      return Cat("distinct ", DistinctFieldName(c.field), "(", DescribeFilter(c.filter), ")");
    case Aggregate::kRatio:
      return Cat("ratio(", DescribeFilter(c.filter), " / ",
                          c.of.empty() ? "all" : DescribeFilter(c.of), ")");
  }
  return "";
}

uint64_t RuleStateFingerprint(const CompiledRule& r) {
  std::string s = Cat(static_cast<int>(r.key), "/", r.window_ms);
  for (const auto& c : r.when) Append(&s, "/", DescribeCondition(c));
  return StableHash64(s);
}

RuleWindows::RuleWindows(std::shared_ptr<const RuleSet> rules) { SetRules(std::move(rules)); }

void RuleWindows::SetRules(std::shared_ptr<const RuleSet> rules) {
  std::vector<Generations> old_states = TakeAll();  // one per rule of the previous set
  std::vector<PerRule> old = std::move(per_rule_);
  per_rule_.clear();
  std::vector<Generations> states(rules->rules.size());
  for (const CompiledRule& r : rules->rules) {
    PerRule pr;
    pr.rule = &r;
    pr.bucket_width_ms = SlidingCounter::BucketWidth(r.window_ms);
    pr.layout = KeyStateLayout(r.when);
    for (const auto& c : r.when) {
      pr.guard.push_back(!c.has_at_least);
      pr.condition_text.push_back(DescribeCondition(c));
    }
    pr.window_text = FormatDuration(r.window_ms);
    pr.on_facts = r.on.on_facts;
    for (const auto& c : r.when) {
      pr.on_facts = pr.on_facts && c.filter.on_facts && (c.aggregate != Aggregate::kRatio || c.of.on_facts);
    }
    for (AuthResult result : {AuthResult::kSuccess, AuthResult::kFailure}) {
      bool may = false;
      for (const auto& c : r.when) may |= c.has_at_least && Admits(c.filter, result);
      pr.may_create[result == AuthResult::kSuccess ? 0 : 1] = may;
    }
    for (size_t j = 0; j < old.size(); ++j) {
      PerRule& o = old[j];
      if (o.rule != nullptr && o.rule->name == r.name &&
          RuleStateFingerprint(*o.rule) == RuleStateFingerprint(r)) {
        states[per_rule_.size()] = std::move(old_states[j]);
        o.rule = nullptr;
        break;
      }
    }
    per_rule_.push_back(std::move(pr));
  }
  rules_ = std::move(rules);  // after the loop: `old` still points into the previous set
  facts_rows_.clear();
  Install(std::move(states));
}

std::vector<RuleWindows::Generations> RuleWindows::TakeAll() {
  FreeSome(SIZE_MAX);  // every dead state freed: what is left in the records is live
  std::vector<Generations> out(per_rule_.size());
  for (size_t i = 0; i < per_rule_.size(); ++i) {
    PerRule& pr = per_rule_[i];
    out[i].start_ms = pr.generation_start_ms;
    for (KeyRecord* r : pr.current_list) {
      KeyState*& st = r->slot(pr.slot);
      if (st == nullptr) continue;  // not expected: every listed current state is live
      out[i].current.emplace(r->key(), KeyState::Ptr(st));
      st = nullptr;
    }
    for (KeyRecord* r : pr.previous_list) {
      KeyState*& st = r->slot(pr.slot);
      if (st == nullptr) continue;  // touched again: taken as current
      out[i].previous.emplace(r->key(), KeyState::Ptr(st));
      st = nullptr;
    }
  }
  Clear();
  return out;
}

void RuleWindows::Clear() {
  graveyard_.clear();
  for (PerRule& pr : per_rule_) {
    pr.current_list.clear();
    pr.previous_list.clear();
    pr.moved = 0;
    pr.allocated = 0;
  }
  for (KeyTable& t : tables_) t = KeyTable(t.slots());  // frees the records and any state in them
}

void RuleWindows::Install(std::vector<Generations>&& rules) {
  Clear();
  for (auto& k : kind_rules_) k.clear();
  for (size_t i = 0; i < per_rule_.size(); ++i) {
    auto& kind = kind_rules_[static_cast<size_t>(per_rule_[i].rule->key)];
    per_rule_[i].slot = static_cast<uint32_t>(kind.size());
    kind.push_back(static_cast<uint32_t>(i));
  }
  for (size_t k = 0; k < kKeyKindCount; ++k) tables_[k] = KeyTable(kind_rules_[k].size());
  for (size_t i = 0; i < per_rule_.size() && i < rules.size(); ++i) {
    PerRule& pr = per_rule_[i];
    KeyTable& table = tables_[static_cast<size_t>(pr.rule->key)];
    pr.generation = 2;
    pr.generation_start_ms = rules[i].start_ms;
    const auto put = [&](StateMap& states, uint32_t stamp, std::vector<KeyRecord*>* list) {
      list->reserve(states.size());
      for (auto& [key, st] : states) {
        KeyRecord* r = table.Find(key, table.Hash(key));
        if (r == nullptr) r = table.Add(key);
        r->generation(pr.slot) = stamp;
        r->slot(pr.slot) = st.release();
        KeyTable::Retain(r);
        list->push_back(r);
        ++pr.allocated;
      }
    };
    put(rules[i].current, pr.generation, &pr.current_list);
    put(rules[i].previous, pr.generation - 1, &pr.previous_list);
  }
  presence_stale_ = true;
}

std::vector<std::pair<uint64_t, const KeyState*>> RuleWindows::LiveStates(const PerRule& pr, bool current) const {
  std::vector<std::pair<uint64_t, const KeyState*>> out;
  const std::vector<KeyRecord*>& list = current ? pr.current_list : pr.previous_list;
  const uint32_t stamp = current ? pr.generation : pr.generation - 1;
  out.reserve(list.size());
  for (const KeyRecord* r : list) {
    const KeyState* st = r->slot(pr.slot);
    if (st != nullptr && r->generation(pr.slot) == stamp) out.emplace_back(r->key(), st);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void RuleWindows::RebuildPresence(KeyKind kind) {
  const auto& rules = kind_rules_[static_cast<size_t>(kind)];
  size_t live = 0;
  for (uint32_t i : rules) {
    const PerRule& pr = per_rule_[i];
    live += pr.current_list.size() + pr.previous_list.size() - pr.moved;
  }
  KeyPresence& p = presence_[static_cast<size_t>(kind)];
  p.Reset(live);
  tables_[static_cast<size_t>(kind)].ForEach([&](const KeyRecord& r) {
    for (size_t s = 0; s < rules.size(); ++s) {
      if (r.slot(s) != nullptr && Live(per_rule_[rules[s]], r.generation(s))) {
        p.Insert(r.key());
        return;
      }
    }
  });
}

void RuleWindows::TurnGenerations(PerRule& pr, EventTimeMs t) {
  if (pr.generation_start_ms == 0) {
    pr.generation_start_ms = t;
    return;
  }
  const int64_t w = pr.rule->window_ms;
  // What was previous and not touched again dies; what was current becomes previous.
  Bury(pr, std::move(pr.previous_list));
  pr.previous_list = std::move(pr.current_list);
  pr.current_list = {};
  pr.moved = 0;
  ++pr.generation;
  if (t >= pr.generation_start_ms + 3 * w) {  // untouched for over two windows
    Bury(pr, std::move(pr.previous_list));
    pr.previous_list = {};
    ++pr.generation;
  }
  pr.generation_start_ms = t;
}

void RuleWindows::Bury(PerRule& pr, std::vector<KeyRecord*>&& list) {
  if (!list.empty()) graveyard_.push_back({static_cast<uint32_t>(&pr - per_rule_.data()), std::move(list), 0});
}

void RuleWindows::FreeSome(size_t budget) {
  while (budget > 0 && !graveyard_.empty()) {
    Buried& b = graveyard_.front();
    PerRule& pr = per_rule_[b.rule];
    for (; b.next < b.records.size() && budget > 0; ++b.next, --budget) ReleaseEntry(pr, b.records[b.next]);
    if (b.next < b.records.size()) return;
    graveyard_.pop_front();
  }
}

void RuleWindows::ReleaseEntry(PerRule& pr, KeyRecord* r) {
  KeyState*& st = r->slot(pr.slot);
  if (st != nullptr && !Live(pr, r->generation(pr.slot))) {  // one touched again since is listed again
    KeyState::Free()(st);
    st = nullptr;
    --pr.allocated;
  }
  tables_[static_cast<size_t>(pr.rule->key)].Release(r);
}

KeyState* RuleWindows::Find(PerRule& pr, Probe& probe, uint64_t key, bool create) {
  KeyTable& table = tables_[static_cast<size_t>(pr.rule->key)];
  if (!probe.looked) {
    if (!probe.hashed) {
      probe.hash = table.Hash(key);
      probe.hashed = true;
    }
    probe.record = table.Find(key, probe.hash);
    probe.looked = true;
  }
  KeyRecord* r = probe.record;
  KeyState* st = r != nullptr ? r->slot(pr.slot) : nullptr;
  if (st != nullptr && Live(pr, r->generation(pr.slot))) {
    if (r->generation(pr.slot) != pr.generation) {  // previous: current again
      r->generation(pr.slot) = pr.generation;
      KeyTable::Retain(r);
      pr.current_list.push_back(r);
      ++pr.moved;
    }
    return st;
  }
  if (!create) return nullptr;
  KeyPresence& presence = presence_[static_cast<size_t>(pr.rule->key)];
  if (presence.NeedsRebuild()) RebuildPresence(pr.rule->key);  // before: the new key goes in after
  presence.Insert(key);
  if (r == nullptr) probe.record = r = table.Add(key);
  if (st != nullptr) {  // dead: its buried entries will find the new state live
    KeyState::Free()(st);
    --pr.allocated;
  }
  st = KeyState::Make(pr.layout).release();
  ++pr.allocated;
  r->generation(pr.slot) = pr.generation;
  r->slot(pr.slot) = st;
  KeyTable::Retain(r);
  pr.current_list.push_back(r);
  return st;
}

void RuleWindows::Process(const EventContext& ctx, std::vector<Signal>* out) {
  const RuleSet& rs = *rules_;
  const EventTimeMs t = ctx.ts();
  std::vector<double>& values = values_;
  FreeSome(64);
  if (budget_bytes_ != 0 && until_measure_-- == 0) {
    until_measure_ = 1023;
    over_budget_ = MemoryBytes() > budget_bytes_;
  }
  if (presence_stale_) {  // new rules or restored state: their generations turn on their own times
    for (int k = 0; k < kKeyKindCount; ++k) RebuildPresence(static_cast<KeyKind>(k));
    presence_stale_ = false;
    next_turn_ms_ = INT64_MIN;
  }
  // Generations turn by event time, at every event, whatever the event does to the rules: the
  // state kept is then the same whichever lookups are skipped below. Rarely due: one compare.
  if (t >= next_turn_ms_) {
    next_turn_ms_ = INT64_MAX;
    for (PerRule& pr : per_rule_) {
      if (pr.generation_start_ms == 0 || t >= pr.generation_start_ms + pr.rule->window_ms) TurnGenerations(pr, t);
      next_turn_ms_ = std::min(next_turn_ms_, pr.generation_start_ms + pr.rule->window_ms);
    }
  }
  const bool failure = ctx.event->event.result == AuthResult::kFailure;
  touches_.clear();
  // Per key kind, on first use: the key's record in the kind's table (one lookup, not one per
  // rule) and whether the key may have state in any rule of the kind.
  std::array<Probe, kKeyKindCount> probes;
  const auto present = [&](KeyKind kind, uint64_t key) {
    Probe& p = probes[static_cast<size_t>(kind)];
    if (p.present < 0) p.present = presence_[static_cast<size_t>(kind)].MayContain(key) ? 1 : 0;
    return p.present == 1;
  };
  // An event that matches no condition of a rule (nor a ratio's denominator) and is not its
  // trigger changes nothing of the rule: its counts expire by time alone (a state is dropped
  // only after a full window without a touch), so the key's state is not even looked up. Most
  // events are successes and most rules count failures: the event's FactsRow leaves those
  // rules out before anything else is asked.
  const FactsRow& row = RowFor(rs.Facts(ctx), ctx);
  for (const uint32_t rule_index : row.visit) {
    PerRule& pr = per_rule_[rule_index];
    const CompiledRule& r = *pr.rule;
    const uint64_t key = ctx.key(r.key);
    if (key == 0) continue;  // e.g. an asn-keyed rule and an address in no ASN database
    // Most events are successes, most rules are made by failures, and most addresses have no
    // state: then the rule has nothing to do, and not even its filters are asked.
    const bool may_create = pr.may_create[failure ? 1 : 0];
    if (!may_create && presence_on_ && !present(r.key, key)) continue;
    // A listed on_facts rule is touched by every event of the row; the others are asked here.
    const RuleMatch m = pr.on_facts ? row.match[rule_index] : MatchRule(pr, ctx);
    if (!pr.on_facts && !m.Any()) continue;
    const uint32_t matched = m.matched, matched_of = m.matched_of;
    const bool on = m.on, creates = m.creates;
    // Over the memory budget a failure creates no fine-grained state (see set_memory_budget).
    const bool shed = over_budget_ && creates && failure && r.key != KeyKind::kPrefix && r.key != KeyKind::kAsn;
    const bool create = creates && !shed;
    // An event that cannot create state skips the probes when its key has none in any rule
    // of this key kind (most successes, for the rules that count failures over all attempts);
    // without may_create the filter has been asked above already.
    const bool absent = !create && may_create && presence_on_ && !present(r.key, key);
    Probe& probe = probes[static_cast<size_t>(r.key)];
    KeyState* st = absent ? nullptr : Find(pr, probe, key, create);
    if (create) probe.present = 1;  // Find inserted the key into the presence filter
    if (st == nullptr) {
      if (shed) ++shed_;
      continue;
    }
    // The header and the first windows (a state is a few cache lines, in one allocation).
    __builtin_prefetch(st);
    __builtin_prefetch(reinterpret_cast<const char*>(st) + 64);
    __builtin_prefetch(reinterpret_cast<const char*>(st) + 128);
    touches_.push_back({&pr, st, matched, matched_of, on});
  }
  // The states are updated in a second pass, after every lookup: an event touches about ten
  // states, and their memory is then fetched in parallel rather than one miss after another.
  // No lookup depends on another rule's update, so the order of effects is unchanged.
  SharedSample event_sample;  // this event's evidence, made by the first state that keeps it
  for (const Touch& touch : touches_) {
    PerRule& pr = *touch.pr;
    const CompiledRule& r = *pr.rule;
    KeyState* st = touch.st;
    const uint32_t matched = touch.matched, matched_of = touch.matched_of;
    const bool on = touch.on;
    // A new episode once everything has expired: evidence times start again.
    const int64_t bucket = BucketAt(pr, t);
    const bool expired = (st->counted_bucket == INT64_MIN || bucket - st->counted_bucket >= SlidingCounter::kBuckets) &&
                         st->WindowsExpired(bucket, t, r.window_ms);
    if (expired) {
      st->first_ms = t;
      for (SharedSample& s : st->samples) s.reset();
      st->sample_count = 0;
      st->next_sample = 0;
    }
    st->latest_ms = std::max(st->latest_ms, t);
    // Only the conditions the event counts in (most often one ratio's denominator).
    SlidingCounter* counters = st->counters().data();
    for (uint32_t counted = matched | matched_of; counted != 0; counted &= counted - 1) {
      const auto i = static_cast<size_t>(__builtin_ctz(counted));
      const Condition& c = r.when[i];
      const size_t slot = pr.layout.slot(i);
      const bool m = matched & (1u << i);
      switch (c.aggregate) {
        case Aggregate::kCount:
          if (m && counters[slot].AddAt(bucket)) st->counted_bucket = std::max(st->counted_bucket, bucket);
          break;
        case Aggregate::kDistinct:
          if (m) {
            const uint64_t v = DistinctValue(ctx, c.field);
            if (v != 0) st->distincts()[slot].Add(v, t, r.window_ms);
          }
          break;
        case Aggregate::kRatio:
          if (m && counters[slot].AddAt(bucket)) st->counted_bucket = std::max(st->counted_bucket, bucket);
          if ((matched_of & (1u << i)) && counters[slot + 1].AddAt(bucket)) {
            st->counted_bucket = std::max(st->counted_bucket, bucket);
          }
          break;
      }
    }
    if (matched != 0 || on) {
      // The event's sample is made once, for the first state that keeps it.
      if (!event_sample) {
        const AuthEvent& ev = ctx.event->event;
        event_sample = SharedSample::Make(t, ev.ip, ev.result, ev.account, ev.protocol);
      }
      st->samples[st->next_sample] = event_sample;  // replaces the oldest
      if (st->sample_count < kMaxSamples) ++st->sample_count;
      st->next_sample = static_cast<uint8_t>((st->next_sample + 1) % kMaxSamples);
    }
    if (!on || t < st->refire_after_ms) continue;
    if (Evaluate(pr, *st, st->latest_ms, &values)) Fire(pr, *st, ctx, values, out);
  }
}

RuleWindows::RuleMatch RuleWindows::MatchRule(const PerRule& pr, const EventContext& ctx) const {
  const RuleSet& rs = *rules_;
  const CompiledRule& r = *pr.rule;
  RuleMatch m;
  m.on = rs.Matches(r.on, ctx);
  for (size_t i = 0; i < r.when.size(); ++i) {
    if (rs.Matches(r.when[i].filter, ctx)) {
      m.matched |= 1u << i;
      // Only what a rule counts creates state: a rule triggered on successes must not
      // allocate for every successful login.
      if (!pr.guard[i]) m.creates = true;
    }
    if (r.when[i].aggregate == Aggregate::kRatio && rs.Matches(r.when[i].of, ctx)) m.matched_of |= 1u << i;
  }
  return m;
}

const RuleWindows::FactsRow& RuleWindows::RowFor(uint32_t facts, const EventContext& ctx) {
  auto it = facts_rows_.find(facts);
  if (it != facts_rows_.end()) return it->second;
  // Fact bits combine a result, a few profile facts and protocol sets: a few dozen values in
  // practice. The bound only keeps a pathological rule set from growing the map without end.
  if (facts_rows_.size() >= 4096) facts_rows_.clear();
  FactsRow row;
  row.match.resize(per_rule_.size());
  for (uint32_t i = 0; i < per_rule_.size(); ++i) {
    const PerRule& pr = per_rule_[i];
    if (pr.on_facts) {
      row.match[i] = MatchRule(pr, ctx);  // its filters ask only `facts`: the same for every such event
      if (!row.match[i].Any()) continue;
    }
    row.visit.push_back(i);
  }
  return facts_rows_.emplace(facts, std::move(row)).first->second;
}

bool RuleWindows::Evaluate(const PerRule& pr, const KeyState& st, EventTimeMs now,
                           std::vector<double>* values) const {
  const CompiledRule& r = *pr.rule;
  const int64_t now_bucket = SlidingCounter::BucketOf(now, pr.bucket_width_ms);
  values->clear();
  for (size_t i = 0; i < r.when.size(); ++i) {
    const Condition& c = r.when[i];
    const size_t slot = pr.layout.slot(i);
    double v = 0;
    switch (c.aggregate) {
      case Aggregate::kCount: v = st.counters()[slot].CountAt(now_bucket); break;
      case Aggregate::kDistinct: v = st.distincts()[slot].Count(now, r.window_ms); break;
      case Aggregate::kRatio: {
        const uint32_t d = st.counters()[slot + 1].CountAt(now_bucket);
        if (d < c.min_events || d == 0) return false;
        v = static_cast<double>(st.counters()[slot].CountAt(now_bucket)) / d;
        break;
      }
    }
    if (!Holds(c, v)) return false;
    values->push_back(v);
  }
  return true;
}

void RuleWindows::Fire(const PerRule& pr, KeyState& st, const EventContext& ctx,
                       const std::vector<double>& values, std::vector<Signal>* out) {
  const CompiledRule& r = *pr.rule;
  const EnrichedEvent& e = *ctx.event;
  // Reasons and evidence are built once and shared by the rule's consequences.
  std::vector<std::string> reasons;
  std::string evidence;
  JsonWriter w(&evidence);
  Subject key_subject;
  SubjectOf(e, r.key, &key_subject);
  w.BeginObject()
      .Field("key", KeyKindName(r.key))
      .Field("key_value", key_subject.value)
      .Field("window_s", r.window_ms / 1000);
  w.Key("conditions").BeginArray();
  for (size_t i = 0; i < r.when.size(); ++i) {
    const Condition& c = r.when[i];
    const std::string& what = pr.condition_text[i];
    w.BeginObject().Field("aggregate", what).Field("value", values[i]);
    if (c.has_at_least) w.Field("at_least", c.at_least);
    if (c.has_at_most) w.Field("at_most", c.at_most);
    w.EndObject();
    std::string bound;
    if (c.has_at_least) Append(&bound, " >= ", FormatNumber(c.at_least));
    if (c.has_at_most) Append(&bound, c.has_at_least ? " and" : "", " <= ", FormatNumber(c.at_most));
    reasons.push_back(Cat(what, " = ", FormatNumber(values[i]), bound, " within ", pr.window_text, " for ",
                          KeyKindName(r.key), " ", key_subject.value));
  }
  w.EndArray();
  w.Field("first_event", FormatRfc3339(st.first_ms)).Field("last_event", FormatRfc3339(st.latest_ms));
  w.Key("samples").BeginArray();
  for (size_t k = 0; k < st.sample_count; ++k) {
    // Oldest first.
    const EvidenceSample& s = *st.samples[(st.next_sample + k) % st.sample_count];
    w.BeginObject()
        .Field("ts", FormatRfc3339(s.ts_ms))
        .Field("account", s.account)
        .Field("ip", s.ip.ToString())
        .Field("result", AuthResultName(s.result))
        .Field("protocol", s.protocol)
        .EndObject();
  }
  w.EndArray().EndObject();

  const size_t first = out->size();
  EmitSignals(r.name, r.then, r.severity, r.monitor_only, ctx, reasons, evidence, out);
  const ShardRole role = RoleOfKey(r.key);
  for (size_t i = first; i < out->size(); ++i) {
    Signal& sig = (*out)[i];
    if (RoleOfKey(sig.subject.type) == role) continue;
    sig.origin = RouteKey(ctx, role);
    Subject network;
    if (SubjectOf(e, role == ShardRole::kAsn ? KeyKind::kAsn : KeyKind::kPrefix, &network)) {
      sig.origin_text = std::move(network.value);
    }
  }
  int64_t min_ttl = INT64_MAX;
  for (const Consequence& c : r.then) min_ttl = std::min(min_ttl, c.ttl_ms);
  // While the decision stands there is nothing new to say; once it may have expired, a
  // continuing attack fires again (and the policy escalates the TTL).
  st.refire_after_ms = e.event.ts_ms + std::min(min_ttl, r.window_ms);
}

std::array<size_t, kKeyKindCount> RuleWindows::KeysByKind() const {
  std::array<size_t, kKeyKindCount> out{};
  for (const auto& pr : per_rule_) {
    out[static_cast<int>(pr.rule->key)] += pr.current_list.size() + pr.previous_list.size() - pr.moved;
  }
  return out;
}

size_t RuleWindows::MemoryBytes() const {
  size_t bytes = 0;
  for (const auto& pr : per_rule_) {
    const size_t per_state = KeyState::Bytes(pr.layout) + kMaxSamples * SharedSample::kEstimatedBytes;  // as if unshared
    bytes += pr.allocated * per_state +
             (pr.current_list.capacity() + pr.previous_list.capacity()) * sizeof(KeyRecord*);
  }
  for (const KeyTable& t : tables_) bytes += t.MemoryBytes();
  for (const KeyPresence& p : presence_) bytes += p.MemoryBytes();
  return bytes;
}

}  // namespace authwatch
