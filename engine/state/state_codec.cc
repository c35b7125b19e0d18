#include "state/state_codec.h"

#include <algorithm>
#include <climits>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/stable_hash.h"
#include "core/strings.h"

namespace authwatch {
namespace {

// Event times and bucket indexes a snapshot may hold: about +-142,000 years in milliseconds.
// Bounding them keeps every sum the windows compute (t + 3 * window, head - 16) far from
// overflow whatever the input.
constexpr int64_t kMaxAbsTime = int64_t{1} << 52;
bool InRange(int64_t v) { return v >= -kMaxAbsTime && v <= kMaxAbsTime; }

// Inner checks say what is wrong; Within() adds where.
absl::Status Bad(std::string what) { return absl::DataLossError(std::move(what)); }
absl::Status Within(std::string_view where, const absl::Status& s) {
  return absl::DataLossError(Cat("state snapshot: ", where, ": ", FromAbsl(s.message())));
}
std::string KeyName(uint64_t key) { return Cat("key ", absl::Hex(key, absl::kZeroPad16)); }

v1::SubjectType SubjectTypeOf(KeyKind k) {
  switch (k) {
    case KeyKind::kAccount: return v1::SUBJECT_TYPE_ACCOUNT;
    case KeyKind::kIp: return v1::SUBJECT_TYPE_IP;
    case KeyKind::kPrefix: return v1::SUBJECT_TYPE_PREFIX;
    case KeyKind::kAsn: return v1::SUBJECT_TYPE_ASN;
    case KeyKind::kAccountIp: return v1::SUBJECT_TYPE_ACCOUNT_IP;
  }
  return v1::SUBJECT_TYPE_UNSPECIFIED;
}

bool KeyKindOf(int t, KeyKind* out) {
  switch (t) {
    case v1::SUBJECT_TYPE_ACCOUNT: *out = KeyKind::kAccount; return true;
    case v1::SUBJECT_TYPE_IP: *out = KeyKind::kIp; return true;
    case v1::SUBJECT_TYPE_PREFIX: *out = KeyKind::kPrefix; return true;
    case v1::SUBJECT_TYPE_ASN: *out = KeyKind::kAsn; return true;
    case v1::SUBJECT_TYPE_ACCOUNT_IP: *out = KeyKind::kAccountIp; return true;
    default: return false;
  }
}

v1::Action ActionOf(ActionKind a) {
  switch (a) {
    case ActionKind::kBlock: return v1::ACTION_BLOCK;
    case ActionKind::kChallenge: return v1::ACTION_CHALLENGE;
    case ActionKind::kMonitor: return v1::ACTION_MONITOR;
    case ActionKind::kUnblock: return v1::ACTION_UNBLOCK;
  }
  return v1::ACTION_UNSPECIFIED;
}

// The actions a standing decision can have (an unblock never stands).
bool StandingActionOf(int a, ActionKind* out) {
  switch (a) {
    case v1::ACTION_BLOCK: *out = ActionKind::kBlock; return true;
    case v1::ACTION_CHALLENGE: *out = ActionKind::kChallenge; return true;
    case v1::ACTION_MONITOR: *out = ActionKind::kMonitor; return true;
    default: return false;
  }
}

// std::priority_queue keeps its heap in a protected member; a derived class may name it. The
// heap is saved as it is so that equal expiry times pop in the same order after a restore.
template <typename Queue>
struct HeapOf : Queue {
  static const typename Queue::container_type& Get(const Queue& q) { return q.*(&HeapOf::c); }
  static typename Queue::container_type& Get(Queue& q) { return q.*(&HeapOf::c); }
};

// Keys of a hash map in ascending order (snapshots are canonical).
template <typename Map>
std::vector<std::pair<uint64_t, const typename Map::mapped_type*>> Sorted(const Map& m) {
  std::vector<std::pair<uint64_t, const typename Map::mapped_type*>> out;
  out.reserve(m.size());
  for (const auto& [k, v] : m) out.emplace_back(k, &v);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

struct StateCodec::Impl {
  using KeyState = authwatch::KeyState;
  using StateMap = RuleWindows::StateMap;
  using Expiry = DecisionPolicy::Expiry;
  using ExpiryQueue = decltype(DecisionPolicy::expiries_);

  // ---- Snapshot ------------------------------------------------------------------------------

  static bool Untouched(const SlidingCounter& c) { return c.head_ == INT64_MIN; }
  static bool Untouched(const SlidingDistinct& d) {
    return d.exact_.empty() && d.sketch_ == nullptr && d.newest_ == 0;
  }

  static void Save(const SlidingCounter& c, v1::SlidingCounterState* out) {
    out->set_head(c.head_);
    size_t n = c.counts_.size();
    while (n > 0 && c.counts_[n - 1] == 0) --n;
    out->mutable_counts()->Reserve(static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) out->add_counts(c.counts_[i]);
  }

  static void Save(const SlidingDistinct& d, v1::SlidingDistinctState* out) {
    out->set_newest_ms(d.newest_);
    out->mutable_exact_hashes()->Reserve(static_cast<int>(d.exact_.size()));
    out->mutable_exact_last_seen_s()->Reserve(static_cast<int>(d.exact_.size()));
    for (const auto& e : d.exact_) {
      out->add_exact_hashes(e.hash);
      out->add_exact_last_seen_s(e.last_seen_s);
    }
    if (d.sketch_ != nullptr) {
      v1::HyperLogLogState* s = out->mutable_sketch();
      s->set_head(d.sketch_->head);
      std::string* regs = s->mutable_registers();
      regs->reserve(SlidingDistinct::kSketchBuckets * SlidingDistinct::kRegisters);
      for (const auto& bucket : d.sketch_->registers) {
        regs->append(reinterpret_cast<const char*>(bucket.data()), bucket.size());
      }
    }
  }

  static void Save(uint64_t key, const KeyState& st, const RuleWindows::PerRule& pr, v1::KeyWindowState* out) {
    out->set_key(key);
    out->set_first_ms(st.first_ms);
    out->set_latest_ms(st.latest_ms);
    out->set_refire_after_ms(st.refire_after_ms);
    for (size_t i = 0; i < pr.rule->when.size(); ++i) {
      v1::ConditionWindowState* c = out->add_conditions();
      const size_t slot = pr.layout.slot(i);
      switch (pr.rule->when[i].aggregate) {
        case Aggregate::kDistinct:
          if (!Untouched(st.distincts()[slot])) Save(st.distincts()[slot], c->mutable_distinct());
          break;
        case Aggregate::kRatio:
          if (!Untouched(st.counters()[slot + 1])) Save(st.counters()[slot + 1], c->mutable_denominator());
          [[fallthrough]];
        case Aggregate::kCount:
          if (!Untouched(st.counters()[slot])) Save(st.counters()[slot], c->mutable_numerator());
          break;
      }
    }
    for (size_t i = 0; i < st.sample_count; ++i) {
      const EvidenceSample& s = *st.samples[i];
      v1::EvidenceSample* e = out->add_samples();
      e->set_ts_before_latest_ms(st.latest_ms - s.ts_ms);
      if (s.ip.is_v4()) {
        const uint32_t v4 = s.ip.v4();
        const char b[4] = {static_cast<char>(v4 >> 24), static_cast<char>(v4 >> 16), static_cast<char>(v4 >> 8),
                           static_cast<char>(v4)};
        e->set_ip(b, 4);
      } else {
        e->set_ip(reinterpret_cast<const char*>(s.ip.bytes().data()), s.ip.bytes().size());
      }
      e->set_result(s.result == AuthResult::kSuccess ? v1::AUTH_RESULT_SUCCESS : v1::AUTH_RESULT_FAILURE);
      e->set_account(s.account.data(), s.account.size());
      e->set_protocol(s.protocol.data(), s.protocol.size());
    }
    out->set_next_sample(static_cast<uint32_t>(st.next_sample));
  }

  static void Save(const RuleWindows& w, v1::ShardState* out) {
    for (const auto& pr : w.per_rule_) {
      v1::RuleWindowState* r = out->add_rules();
      r->set_name(pr.rule->name);
      r->set_fingerprint(RuleStateFingerprint(*pr.rule));
      r->set_generation_start_ms(pr.generation_start_ms);
      const auto current = w.LiveStates(pr, /*current=*/true);
      r->mutable_current()->Reserve(static_cast<int>(current.size()));
      for (const auto& [key, st] : current) Save(key, *st, pr, r->add_current());
      const auto previous = w.LiveStates(pr, /*current=*/false);
      r->mutable_previous()->Reserve(static_cast<int>(previous.size()));
      for (const auto& [key, st] : previous) Save(key, *st, pr, r->add_previous());
    }
  }

  static void Save(const AccountProfiles& p, v1::AccountProfileTable* out) {
    out->set_origin_ms(p.origin_ms_);
    out->set_last_sweep_day(p.last_sweep_day_);
    const auto sorted = Sorted(p.index_);
    const int n = static_cast<int>(sorted.size());
    out->mutable_key_deltas()->Reserve(n);
    out->mutable_first_seen_s()->Reserve(n);
    out->mutable_last_success_delta_s()->Reserve(n);
    out->mutable_last_lat_centi()->Reserve(n);
    out->mutable_last_lon_centi()->Reserve(n);
    out->mutable_last_accuracy_km()->Reserve(n);
    out->mutable_successes()->Reserve(n);
    out->mutable_last_asn()->Reserve(n);
    out->mutable_last_country()->Reserve(n);
    out->mutable_last_has_location()->Reserve(n);
    out->mutable_devices()->Reserve(n);
    out->mutable_slot_ids()->Reserve(9 * n);
    out->mutable_slot_last_days()->Reserve(3 * n);  // used slots only: typically one of each kind
    out->mutable_slot_uses()->Reserve(3 * n);
    uint64_t previous_key = 0;
    for (const auto& [key, index] : sorted) {
      const AccountProfile& a = p.profiles_[*index];
      out->add_key_deltas(key - previous_key);
      previous_key = key;
      out->add_first_seen_s(a.first_seen_s);
      out->add_last_success_delta_s(int64_t{a.last_success_s} - int64_t{a.first_seen_s});
      out->add_last_lat_centi(a.last_lat_centi);
      out->add_last_lon_centi(a.last_lon_centi);
      out->add_last_accuracy_km(a.last_accuracy_km);
      out->add_successes(a.successes);
      out->add_last_asn(a.last_asn);
      out->add_last_country(a.last_country);
      out->add_last_has_location(a.last_has_location);
      out->add_devices(uint32_t{a.devices[0]} << 16 | a.devices[1]);
      for (const auto* slots : {&a.countries, &a.asns, &a.networks}) {
        for (const AccountProfile::Slot& s : *slots) {
          out->add_slot_ids(s.id);
          if (s.id == 0) continue;  // never used: AccountProfiles writes a slot with its id
          out->add_slot_last_days(s.last_day);
          out->add_slot_uses(s.uses);
        }
      }
    }
  }

  static void Save(const DecisionPolicy& p, v1::PolicyState* out) {
    out->mutable_active()->Reserve(static_cast<int>(p.active_.size()));
    for (const auto& [key, a] : Sorted(p.active_)) {
      v1::ActiveDecision* d = out->add_active();
      d->set_key(key);
      d->set_subject_type(SubjectTypeOf(a->subject.type));
      d->set_subject_value(a->subject.value);
      d->set_scope(a->scope);
      d->set_action(ActionOf(a->action));
      d->set_dry_run(a->dry_run);
      d->set_expires_ms(a->expires_ms);
      d->set_rule(a->rule);
      d->set_decision_id(a->decision_id);
      if (!a->origin.empty()) d->set_origin(a->origin);
    }
    for (const auto& [key, o] : Sorted(p.offences_)) {
      out->add_offence_keys(key);
      out->add_offence_counts(static_cast<uint32_t>(o->count));
      out->add_offence_last_ms(o->last_ms);
    }
    for (const Expiry& e : HeapOf<ExpiryQueue>::Get(p.expiries_)) {
      out->add_expiry_at_ms(e.at);
      out->add_expiry_keys(e.key);
    }
  }

  // ---- Restore: decode and check everything, then commit ------------------------------------

  using DecodedRule = RuleWindows::Generations;
  struct DecodedProfiles {
    absl::flat_hash_map<uint64_t, uint32_t> index;
    std::vector<AccountProfile> profiles;
    int64_t last_sweep_day = 0;
    EventTimeMs origin_ms = 0;
  };
  struct DecodedPolicy {
    absl::flat_hash_map<uint64_t, DecisionPolicy::Active> active;
    absl::flat_hash_map<uint64_t, DecisionPolicy::Offences> offences;
    std::vector<Expiry> expiries;
  };

  static absl::Status Load(const v1::SlidingCounterState& in, SlidingCounter* c) {
    if (!InRange(in.head())) return Bad(Cat("counter head ", in.head(), " out of range"));
    if (in.counts_size() > SlidingCounter::kBuckets) {
      return Bad(Cat(in.counts_size(), " counter buckets, at most ", SlidingCounter::kBuckets));
    }
    c->head_ = in.head();
    c->counts_.fill(0);
    for (int i = 0; i < in.counts_size(); ++i) {
      if (in.counts(i) > UINT16_MAX) return Bad(Cat("counter bucket of ", in.counts(i), ", at most 65535"));
      c->counts_[static_cast<size_t>(i)] = static_cast<uint16_t>(in.counts(i));
    }
    c->Retotal();
    return absl::OkStatus();
  }

  static absl::Status Load(const v1::SlidingDistinctState& in, SlidingDistinct* d) {
    if (!InRange(in.newest_ms())) return Bad(Cat("distinct newest time ", in.newest_ms(), " out of range"));
    if (in.exact_hashes_size() != in.exact_last_seen_s_size()) {
      return Bad(Cat("distinct set has ", in.exact_hashes_size(), " hashes but ", in.exact_last_seen_s_size(),
                     " last-seen times"));
    }
    if (static_cast<size_t>(in.exact_hashes_size()) > SlidingDistinct::kExactCapacity) {
      return Bad(Cat("distinct set of ", in.exact_hashes_size(), " exact entries, at most ",
                     SlidingDistinct::kExactCapacity));
    }
    d->newest_ = in.newest_ms();
    d->exact_.clear();
    d->sketch_.reset();
    for (int i = 0; i < in.exact_hashes_size(); ++i) d->exact_.push_back({in.exact_hashes(i), in.exact_last_seen_s(i)});
    d->Rebits();
    if (!in.has_sketch()) return absl::OkStatus();
    const v1::HyperLogLogState& s = in.sketch();
    constexpr size_t kBytes = SlidingDistinct::kSketchBuckets * SlidingDistinct::kRegisters;
    if (!d->exact_.empty()) return Bad("distinct set has both exact entries and a sketch");
    if (!InRange(s.head())) return Bad(Cat("sketch head ", s.head(), " out of range"));
    if (s.registers().size() != kBytes) {
      return Bad(Cat("sketch of ", s.registers().size(), " register bytes, expected ", kBytes));
    }
    d->sketch_ = std::make_unique<SlidingDistinct::Sketch>();
    d->sketch_->head = s.head();
    for (size_t b = 0; b < static_cast<size_t>(SlidingDistinct::kSketchBuckets); ++b) {
      for (size_t i = 0; i < static_cast<size_t>(SlidingDistinct::kRegisters); ++i) {
        const auto r = static_cast<uint8_t>(s.registers()[b * SlidingDistinct::kRegisters + i]);
        // A rank is at most 64 - kPrecision + 1.
        if (r > 64) return Bad(Cat("sketch register of ", int{r}, ", at most 64"));
        d->sketch_->registers[b][i] = r;
      }
    }
    return absl::OkStatus();
  }

  static absl::Status Load(const v1::KeyWindowState& in, const CompiledRule& rule, const KeyStateLayout& layout,
                           KeyState* st) {
    if (!InRange(in.first_ms()) || !InRange(in.latest_ms()) || !InRange(in.refire_after_ms())) {
      return Bad("event time out of range");
    }
    st->first_ms = in.first_ms();
    st->latest_ms = in.latest_ms();
    st->refire_after_ms = in.refire_after_ms();
    if (static_cast<size_t>(in.conditions_size()) != rule.when.size()) {
      return Bad(Cat(in.conditions_size(), " conditions, the rule has ", rule.when.size()));
    }
    for (int i = 0; i < in.conditions_size(); ++i) {
      const v1::ConditionWindowState& c = in.conditions(i);
      const Aggregate aggregate = rule.when[static_cast<size_t>(i)].aggregate;
      const size_t slot = layout.slot(static_cast<size_t>(i));
      // A condition keeps only its aggregate's windows (a count no denominator, a distinct
      // count no counter): anything else was not written by a snapshot of this rule.
      if (c.has_numerator() && aggregate == Aggregate::kDistinct) {
        return Bad(Cat("condition ", i, ": a counter, but the condition counts distinct values"));
      }
      if (c.has_denominator() && aggregate != Aggregate::kRatio) {
        return Bad(Cat("condition ", i, ": a denominator, but the condition is not a ratio"));
      }
      if (c.has_distinct() && aggregate != Aggregate::kDistinct) {
        return Bad(Cat("condition ", i, ": distinct values, but the condition is not a distinct count"));
      }
      absl::Status s;
      if (c.has_numerator() && s.ok()) s = Load(c.numerator(), &st->counters()[slot]);
      if (c.has_denominator() && s.ok()) s = Load(c.denominator(), &st->counters()[slot + 1]);
      if (c.has_distinct() && s.ok()) s = Load(c.distinct(), &st->distincts()[slot]);
      if (!s.ok()) return Bad(Cat("condition ", i, ": ", FromAbsl(s.message())));
    }
    // The ring of samples fills 0, 1, 2 with next_sample == size, then wraps below kMaxSamples.
    const size_t n = static_cast<size_t>(in.samples_size());
    if (n > RuleWindows::kMaxSamples) return Bad(Cat(n, " evidence samples, at most ", RuleWindows::kMaxSamples));
    if (n < RuleWindows::kMaxSamples ? in.next_sample() != n : in.next_sample() >= n) {
      return Bad(Cat("next sample ", in.next_sample(), " with ", n, " samples"));
    }
    st->next_sample = static_cast<uint8_t>(in.next_sample());
    st->sample_count = static_cast<uint8_t>(n);
    for (size_t i = 0; i < n; ++i) {
      const v1::EvidenceSample& e = in.samples(static_cast<int>(i));
      if (!InRange(e.ts_before_latest_ms())) return Bad("sample time out of range");
      if (e.ip().size() != 4 && e.ip().size() != 16) {
        return Bad(Cat("sample address of ", e.ip().size(), " bytes, expected 4 or 16"));
      }
      if (e.result() != v1::AUTH_RESULT_SUCCESS && e.result() != v1::AUTH_RESULT_FAILURE) {
        return Bad(Cat("sample result ", static_cast<int>(e.result())));
      }
      const auto* b = reinterpret_cast<const uint8_t*>(e.ip().data());
      IpAddress ip;
      if (e.ip().size() == 4) {
        ip = IpAddress::FromV4(uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3]);
      } else {
        std::array<uint8_t, 16> bytes;
        std::copy(b, b + 16, bytes.begin());
        ip = IpAddress::FromV6(bytes);
      }
      st->samples[i] = SharedSample::Make(
          in.latest_ms() - e.ts_before_latest_ms(), ip,
          e.result() == v1::AUTH_RESULT_SUCCESS ? AuthResult::kSuccess : AuthResult::kFailure, e.account(),
          e.protocol());
    }
    return absl::OkStatus();
  }

  static absl::Status Load(const google::protobuf::RepeatedPtrField<v1::KeyWindowState>& in,
                           const CompiledRule& rule, const KeyStateLayout& layout, std::string_view generation,
                           StateMap* out, const StateMap* other) {
    out->reserve(static_cast<size_t>(in.size()));
    for (const v1::KeyWindowState& k : in) {
      const std::string_view where = generation;
      KeyState::Ptr st = KeyState::Make(layout);
      if (absl::Status s = Load(k, rule, layout, st.get()); !s.ok()) {
        return Within(Cat("rule \"", rule.name, "\" ", where, " ", KeyName(k.key())), s);
      }
      if ((other != nullptr && other->contains(k.key())) || !out->emplace(k.key(), std::move(st)).second) {
        return Within(Cat("rule \"", rule.name, "\" ", where, " ", KeyName(k.key())), Bad("key appears twice"));
      }
    }
    return absl::OkStatus();
  }

  static absl::Status LoadWindows(const v1::ShardState& in, const RuleWindows& w, std::vector<DecodedRule>* out) {
    absl::flat_hash_map<std::string, const v1::RuleWindowState*> by_name;
    for (const v1::RuleWindowState& r : in.rules()) {
      if (!by_name.emplace(r.name(), &r).second) {
        return Within(Cat("rule \"", r.name(), "\""), Bad("appears twice"));
      }
    }
    out->resize(w.per_rule_.size());
    for (size_t i = 0; i < w.per_rule_.size(); ++i) {
      const CompiledRule& rule = *w.per_rule_[i].rule;
      auto it = by_name.find(rule.name);
      // A rule that is new, or whose key, window or conditions changed, starts empty (as on a
      // reload); each saved rule is used once.
      if (it == by_name.end() || it->second == nullptr || it->second->fingerprint() != RuleStateFingerprint(rule)) {
        continue;
      }
      const v1::RuleWindowState& r = *it->second;
      it->second = nullptr;
      if (!InRange(r.generation_start_ms())) {
        return Within(Cat("rule \"", rule.name, "\""), Bad("generation start out of range"));
      }
      DecodedRule& d = (*out)[i];
      d.start_ms = r.generation_start_ms();
      if (absl::Status s = Load(r.current(), rule, w.per_rule_[i].layout, "current", &d.current, nullptr); !s.ok()) return s;
      if (absl::Status s = Load(r.previous(), rule, w.per_rule_[i].layout, "previous", &d.previous, &d.current); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  static absl::Status LoadProfiles(const v1::AccountProfileTable& in, DecodedProfiles* out) {
    auto bad = [](std::string what) { return Within("profiles", Bad(std::move(what))); };
    if (!InRange(in.origin_ms())) return bad("origin time out of range");
    if (!InRange(in.last_sweep_day())) return bad("last sweep day out of range");
    out->origin_ms = in.origin_ms();
    out->last_sweep_day = in.last_sweep_day();
    const int n = in.key_deltas_size();
    for (const auto& [name, size] : std::initializer_list<std::pair<std::string_view, int>>{
             {"first_seen_s", in.first_seen_s_size()},
             {"last_success_delta_s", in.last_success_delta_s_size()},
             {"last_lat_centi", in.last_lat_centi_size()},
             {"last_lon_centi", in.last_lon_centi_size()},
             {"last_accuracy_km", in.last_accuracy_km_size()},
             {"successes", in.successes_size()},
             {"last_asn", in.last_asn_size()},
             {"last_country", in.last_country_size()},
             {"last_has_location", in.last_has_location_size()}}) {
      if (size != n) return bad(Cat("column ", name, " has ", size, " entries for ", n, " accounts"));
    }
    if (in.devices_size() != 0 && in.devices_size() != n) {
      return bad(Cat("column devices has ", in.devices_size(), " entries for ", n, " accounts"));
    }
    if (in.slot_ids_size() != 9 * n) {
      return bad(Cat("column slot_ids has ", in.slot_ids_size(), " entries for ", n, " accounts (9 each)"));
    }
    const int used_slots = static_cast<int>(
        std::count_if(in.slot_ids().begin(), in.slot_ids().end(), [](uint32_t id) { return id != 0; }));
    if (in.slot_last_days_size() != used_slots || in.slot_uses_size() != used_slots) {
      return bad(Cat("columns slot_last_days and slot_uses have ", in.slot_last_days_size(), " and ",
                     in.slot_uses_size(), " entries for ", used_slots, " used slots"));
    }
    out->index.reserve(static_cast<size_t>(n));
    out->profiles.resize(static_cast<size_t>(n));
    uint64_t key = 0;
    int used = 0;  // index into the used-slot columns
    for (int i = 0; i < n; ++i) {
      key += in.key_deltas(i);
      AccountProfile& a = out->profiles[static_cast<size_t>(i)];
      const int64_t last_success = int64_t{in.first_seen_s(i)} + in.last_success_delta_s(i);
      if (last_success < 0 || last_success > UINT32_MAX) return bad(Cat(KeyName(key), ": last success out of range"));
      if (in.last_lat_centi(i) < INT16_MIN || in.last_lat_centi(i) > INT16_MAX ||
          in.last_lon_centi(i) < INT16_MIN || in.last_lon_centi(i) > INT16_MAX ||
          in.last_accuracy_km(i) > UINT16_MAX || in.successes(i) > UINT16_MAX || in.last_country(i) > UINT16_MAX) {
        return bad(Cat(KeyName(key), ": a 16-bit field out of range"));
      }
      a.first_seen_s = in.first_seen_s(i);
      a.last_success_s = static_cast<uint32_t>(last_success);
      a.last_lat_centi = static_cast<int16_t>(in.last_lat_centi(i));
      a.last_lon_centi = static_cast<int16_t>(in.last_lon_centi(i));
      a.last_accuracy_km = static_cast<uint16_t>(in.last_accuracy_km(i));
      a.successes = static_cast<uint16_t>(in.successes(i));
      a.last_asn = in.last_asn(i);
      a.last_country = static_cast<uint16_t>(in.last_country(i));
      a.last_has_location = in.last_has_location(i);
      if (in.devices_size() != 0) {
        a.devices = {static_cast<uint16_t>(in.devices(i) >> 16), static_cast<uint16_t>(in.devices(i) & 0xFFFF)};
      }
      int j = 9 * i;
      for (auto* slots : {&a.countries, &a.asns, &a.networks}) {
        for (AccountProfile::Slot& s : *slots) {
          s.id = in.slot_ids(j++);
          if (s.id == 0) continue;
          if (in.slot_last_days(used) > UINT16_MAX || in.slot_uses(used) > UINT16_MAX) {
            return bad(Cat(KeyName(key), ": a slot's day or uses out of range"));
          }
          s.last_day = static_cast<uint16_t>(in.slot_last_days(used));
          s.uses = static_cast<uint16_t>(in.slot_uses(used));
          ++used;
        }
      }
      if (!out->index.emplace(key, static_cast<uint32_t>(i)).second) {
        return bad(Cat(KeyName(key), " appears twice"));
      }
    }
    return absl::OkStatus();
  }

  static absl::Status LoadPolicy(const v1::PolicyState& in, DecodedPolicy* out) {
    for (const v1::ActiveDecision& d : in.active()) {
      auto bad = [&](std::string what) { return Within(Cat("policy: active decision ", KeyName(d.key())), Bad(std::move(what))); };
      DecisionPolicy::Active a;
      if (!KeyKindOf(d.subject_type(), &a.subject.type)) {
        return bad(Cat("subject type ", static_cast<int>(d.subject_type())));
      }
      if (!StandingActionOf(d.action(), &a.action)) return bad(Cat("action ", static_cast<int>(d.action())));
      if (!InRange(d.expires_ms())) return bad("expiry out of range");
      a.subject.value = d.subject_value();
      a.scope = d.scope();
      a.dry_run = d.dry_run();
      a.expires_ms = d.expires_ms();
      a.rule = d.rule();
      a.decision_id = d.decision_id();
      a.origin = d.origin();
      if (!out->active.emplace(d.key(), std::move(a)).second) return bad("appears twice");
    }
    const int n = in.offence_keys_size();
    if (in.offence_counts_size() != n || in.offence_last_ms_size() != n) {
      return Within("policy", Bad(Cat("offence columns of ", n, ", ", in.offence_counts_size(), " and ",
                                      in.offence_last_ms_size(), " entries")));
    }
    for (int i = 0; i < n; ++i) {
      // Far above any real count (one per decision), far below INT_MAX.
      if (in.offence_counts(i) > (1u << 30) || !InRange(in.offence_last_ms(i))) {
        return Within(Cat("policy: offences of ", KeyName(in.offence_keys(i))), Bad("count or time out of range"));
      }
      DecisionPolicy::Offences o;
      o.count = static_cast<int>(in.offence_counts(i));
      o.last_ms = in.offence_last_ms(i);
      if (!out->offences.emplace(in.offence_keys(i), o).second) {
        return Within(Cat("policy: offences of ", KeyName(in.offence_keys(i))), Bad("appears twice"));
      }
    }
    if (in.expiry_at_ms_size() != in.expiry_keys_size()) {
      return Within("policy", Bad(Cat("expiry columns of ", in.expiry_at_ms_size(), " and ",
                                      in.expiry_keys_size(), " entries")));
    }
    out->expiries.reserve(static_cast<size_t>(in.expiry_at_ms_size()));
    for (int i = 0; i < in.expiry_at_ms_size(); ++i) {
      if (!InRange(in.expiry_at_ms(i))) return Within("policy", Bad("expiry time out of range"));
      out->expiries.push_back({in.expiry_at_ms(i), in.expiry_keys(i)});
    }
    if (!std::is_heap(out->expiries.begin(), out->expiries.end(), std::greater<>())) {
      return Within("policy", Bad("the expiry queue is not a heap"));
    }
    return absl::OkStatus();
  }
};

v1::ShardState StateCodec::Snapshot(const DetectionEngine& engine, const DecisionPolicy& policy,
                                    int64_t input_offset) {
  v1::ShardState out;
  out.set_format_version(kStateFormatVersion);
  out.set_input_offset(input_offset);
  out.set_rule_set_version(engine.rules()->version);
  Impl::Save(engine.windows_, &out);
  Impl::Save(engine.profiles_, out.mutable_profiles());
  Impl::Save(policy, out.mutable_policy());
  return out;
}

absl::Status StateCodec::Restore(const v1::ShardState& state, DetectionEngine* engine, DecisionPolicy* policy) {
  if (state.format_version() != kStateFormatVersion) {
    return absl::FailedPreconditionError(
        Cat("state snapshot: format version ", state.format_version(), ", this build reads ", kStateFormatVersion,
            " only; rebuild the state from the input"));
  }
  std::vector<Impl::DecodedRule> rules;
  Impl::DecodedProfiles profiles;
  Impl::DecodedPolicy decided;
  if (absl::Status s = Impl::LoadWindows(state, engine->windows_, &rules); !s.ok()) return s;
  if (absl::Status s = Impl::LoadProfiles(state.profiles(), &profiles); !s.ok()) return s;
  if (absl::Status s = Impl::LoadPolicy(state.policy(), &decided); !s.ok()) return s;

  // Everything checked: commit.
  RuleWindows& w = engine->windows_;
  w.Install(std::move(rules));  // the restored keys go into the presence filters before the next event
  AccountProfiles& p = engine->profiles_;
  p.index_ = std::move(profiles.index);
  p.profiles_ = std::move(profiles.profiles);
  p.free_.clear();
  p.last_sweep_day_ = profiles.last_sweep_day;
  p.origin_ms_ = profiles.origin_ms;
  policy->active_ = std::move(decided.active);
  policy->offences_ = std::move(decided.offences);
  HeapOf<Impl::ExpiryQueue>::Get(policy->expiries_) = std::move(decided.expiries);
  policy->active_by_action_ = {};
  for (const auto& [key, a] : policy->active_) policy->Count(a, +1);
  return absl::OkStatus();
}

uint64_t StateCodec::Digest(const DetectionEngine& engine, const DecisionPolicy& policy) {
  // A snapshot is canonical (ascending keys everywhere, no proto maps, so its serialization is
  // deterministic): its bytes, less the offset and the rule set's version, are the state.
  v1::ShardState s = Snapshot(engine, policy, 0);
  s.clear_rule_set_version();
  return StableHash64(s.SerializeAsString(), kStateFormatVersion);
}

absl::StatusOr<v1::ShardState> ParseShardState(std::string_view serialized) {
  v1::ShardState out;
  if (serialized.size() > static_cast<size_t>(INT_MAX) ||
      !out.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    return absl::DataLossError(
        Cat("state snapshot: ", serialized.size(), " bytes that do not parse as authwatch.v1.ShardState"));
  }
  return out;
}

}  // namespace authwatch
