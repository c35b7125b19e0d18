// RuleSet: the compiled, immutable form of the rule files (rules/*.yaml): sliding-window rules,
// named lists, built-in detector parameters, account-profile and policy settings.
// Built by the rule loader; shared read-only by every shard through shared_ptr and swapped as a
// whole on reload. Nothing here is mutated after loading, so it is safe to share across threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "core/ip_address.h"
#include "detect/event_context.h"

namespace authwatch {

// ---- Lists ---------------------------------------------------------------------------------
enum class ListType : uint8_t { kCidr, kAsn, kAccount, kCountry };

struct NamedList {
  std::string name;
  std::string file;  // where it is defined, for diagnostics
  int line = 0;
  int column = 0;
  ListType type = ListType::kCidr;
  std::vector<IpPrefix> cidrs;
  absl::flat_hash_set<uint32_t> asns;
  absl::flat_hash_set<std::string> strings;  // accounts (lower case) or country codes (upper case)

  bool Contains(const EnrichedEvent& e) const;
};

// ---- Filters -------------------------------------------------------------------------------
// A filter is a conjunction of clauses over event fields and profile facts.
enum class FilterField : uint8_t {
  kResult, kProtocol, kCountry, kAsn, kReason, kAccount, kIp,  // event fields
  kNetworkKnown, kAsnKnown, kCountryKnown, kAccountNew, kEstablished, kDeviceKnown,  // profile facts (bool)
};

struct FilterClause {
  FilterField field = FilterField::kResult;
  bool negate = false;               // "not": matches when none of the values match
  std::vector<std::string> strings;  // for string fields
  std::vector<uint32_t> numbers;     // for asn
  bool boolean = false;              // for profile facts
  uint8_t result_mask = 0;           // for result: bit 0 success, bit 1 failure (no string compare)
  int list = -1;                     // index into RuleSet::lists for in_list / not_in_list
  std::string list_name;             // as written, for diagnostics and reload
};

struct Filter {
  std::vector<FilterClause> clauses;
  // Equal filters of one rule set share an id (0..63), and an event evaluates each id once: the
  // shipped rules ask {result: failure} and the like dozens of times per event. -1: not cached.
  int id = -1;
  // Compiled by RuleSet::CompileFilters: the clauses on the result, a profile fact or the
  // protocol as one test of the event's fact bits, (facts & facts_mask) == facts_want, which an
  // event must pass first. on_facts: that is all of the filter (most filters).
  bool on_facts = false;
  uint32_t facts_mask = 0;
  uint32_t facts_want = 0;
  bool empty() const { return clauses.empty(); }
};

// ---- Rules ---------------------------------------------------------------------------------
enum class Aggregate : uint8_t { kCount, kDistinct, kRatio };
enum class DistinctField : uint8_t { kAccount, kIp, kPrefix, kAsn, kCountry, kUserAgent };
std::string_view DistinctFieldName(DistinctField f);

// A rule's conditions are the bits of a 32-bit mask when an event is matched against them.
inline constexpr size_t kMaxConditions = 32;

struct Condition {
  Aggregate aggregate = Aggregate::kCount;
  Filter filter;          // events counted (count, distinct), or the numerator (ratio)
  Filter of;              // ratio denominator; empty: every event of the key
  DistinctField field = DistinctField::kAccount;
  bool has_at_least = false;
  bool has_at_most = false;
  double at_least = 0;
  double at_most = 0;
  uint32_t min_events = 1;  // ratio: the denominator must reach this before the ratio counts
};

enum class ActionKind : uint8_t { kBlock, kChallenge, kMonitor, kUnblock };
std::string_view ActionName(ActionKind a);
// Strength order for dedupe: block > challenge > monitor.
int ActionStrength(ActionKind a);

// What a firing detector proposes: one decision per consequence.
struct Consequence {
  ActionKind action = ActionKind::kBlock;
  KeyKind subject = KeyKind::kIp;
  std::string scope = "all";
  int64_t ttl_ms = 3600000;
};

struct RuleOrigin {
  std::string file;
  int line = 0;  // 1-based
};

struct CompiledRule {
  std::string name;
  std::string description;
  RuleOrigin origin;
  KeyKind key = KeyKind::kIp;
  int64_t window_ms = 600000;
  Filter on;  // evaluated after events matching this (default: the first condition's filter)
  std::vector<Condition> when;
  std::vector<Consequence> then;
  std::string severity = "medium";
  bool monitor_only = false;  // dry run: decisions are written as monitor with dry_run: true
};

// ---- Built-in detectors --------------------------------------------------------------------
// Impossible travel between successive successful logins of an account.
struct ImpossibleTravelParams {
  std::string name = "impossible-travel";
  RuleOrigin origin;
  double max_speed_kmh = 900;      // a long-haul airliner's cruise; Okta uses 805 km/h
  double min_distance_km = 500;    // below this, geolocation error and commuting dominate
  uint32_t default_accuracy_km = 100;  // when the database gives no radius (DB-IP Lite)
  bool ignore_same_asn = true;     // one network's addresses are often geolocated far apart
  // National carriers' address pools geolocate to arbitrary cities of their country: a hop
  // between two networks of one country in minutes is, far more often, that noise.
  bool ignore_same_country = true;
  // An ASN list (by name) whose addresses say nothing about where the user is: VPN exits and
  // hosting. A login from them at either end is not compared.
  std::string ignore_asns_list;
  int ignore_asns = -1;
  int64_t max_gap_ms = 86400000LL * 2;  // after two days any trip is possible
  Filter filter;                   // which successful logins are compared
  std::vector<Consequence> then;
  std::string severity = "high";
  bool monitor_only = false;
};

// Success from a country / ASN / network the account has not used, once it has history.
enum class NoveltyKind : uint8_t { kCountry, kAsn, kNetwork };
struct NewLocationParams {
  std::string name;
  RuleOrigin origin;
  NoveltyKind novelty = NoveltyKind::kCountry;
  Filter filter;  // e.g. protocol smtp, asn in hosting list
  // Successful logins the account needs before a login can be "new"; 0: the profile's
  // established_after. A detector whose filter already makes a login suspect (a data centre)
  // can judge with less history than a plain new country.
  uint32_t min_successes = 0;
  std::vector<Consequence> then;
  std::string severity = "medium";
  bool monitor_only = false;
};

// Account profiles: what "known" and "new" mean.
struct ProfileParams {
  uint32_t established_after = 5;       // successes before novelty is judged (Okta: last 10)
  int64_t horizon_ms = 90LL * 86400000; // a network unused for 90 days is forgotten
  int64_t warmup_ms = 86400000;         // accounts first seen in the first day are not "new"
  int64_t new_account_ms = 7LL * 86400000;  // "new account": first seen within 7 days
};

struct PolicyParams {
  double escalation_factor = 2;              // each repeat offence doubles the TTL
  int64_t max_ttl_ms = 7LL * 86400000;       // ... up to a week
  int64_t offence_memory_ms = 30LL * 86400000;  // offences older than 30 days are forgiven
  std::vector<int> allow_lists;              // list indices: subjects never blocked
};

struct RuleSet {
  std::vector<NamedList> lists;
  std::vector<CompiledRule> rules;
  std::vector<ImpossibleTravelParams> travel;
  std::vector<NewLocationParams> novelty;
  ProfileParams profile;
  PolicyParams policy;
  std::string version;  // stable hash of the source files' contents
  std::vector<std::string> files;

  int FindList(std::string_view name) const;
  // Evaluates a filter on an event. Asked about twenty times per event: the test of the
  // event's facts is inline, and whatever else a filter asks (lists, strings) is memoised in
  // the context.
  bool Matches(const Filter& filter, const EventContext& ctx) const {
    if ((Facts(ctx) & filter.facts_mask) != filter.facts_want) return false;
    if (filter.on_facts) return true;
    if (filter.id >= 0 && ((ctx.filter_known >> filter.id) & 1) != 0) return ((ctx.filter_value >> filter.id) & 1) != 0;
    return MatchesOnce(filter, ctx);
  }
  // Gives equal filters one id, so Matches evaluates each once per event, and compiles the
  // filters that ask only facts (see Filter::on_facts). CompileRules calls it.
  void CompileFilters();
  // The event's kFact* bits, and one bit per protocol set the filters ask (protocol_sets).
  uint32_t Facts(const EventContext& ctx) const {
    if (!ctx.facts_known) {
      ctx.fact_bits = ComputeFacts(ctx);
      ctx.facts_known = true;
    }
    return ctx.fact_bits;
  }
  static constexpr int kFirstProtocolFact = 8;
  static constexpr int kMaxProtocolSets = 32 - kFirstProtocolFact;
  std::vector<std::vector<std::string>> protocol_sets;  // fact bit kFirstProtocolFact + index

 private:
  bool MatchesOnce(const Filter& filter, const EventContext& ctx) const;  // and memoises
  uint32_t ComputeFacts(const EventContext& ctx) const;
  void CompileFacts(Filter* f);
  bool Evaluate(const Filter& filter, const EventContext& ctx) const;

 public:
  bool InList(int list, const EventContext& ctx) const;
};

}  // namespace authwatch
