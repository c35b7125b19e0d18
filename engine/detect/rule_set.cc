#include "detect/rule_set.h"

#include <algorithm>

namespace authwatch {
namespace {

bool AnyEquals(const std::vector<std::string>& values, std::string_view s) {
  return std::find(values.begin(), values.end(), s) != values.end();
}

// The fact a clause on a profile field asks, or 0 for a clause that is not about one.
uint32_t FactOf(FilterField f) {
  switch (f) {
    case FilterField::kNetworkKnown: return kFactNetworkKnown;
    case FilterField::kAsnKnown: return kFactAsnKnown;
    case FilterField::kCountryKnown: return kFactCountryKnown;
    case FilterField::kAccountNew: return kFactAccountNew;
    case FilterField::kEstablished: return kFactEstablished;
    case FilterField::kDeviceKnown: return kFactDeviceKnown;
    default: return 0;
  }
}

}  // namespace

std::string_view DistinctFieldName(DistinctField f) {
  switch (f) {
    case DistinctField::kAccount: return "account";
    case DistinctField::kIp: return "ip";
    case DistinctField::kPrefix: return "prefix";
    case DistinctField::kAsn: return "asn";
    case DistinctField::kCountry: return "country";
    case DistinctField::kUserAgent: return "user_agent";
  }
  return "";
}

std::string_view ActionName(ActionKind a) {
  switch (a) {
    case ActionKind::kBlock: return "block";
    case ActionKind::kChallenge: return "challenge";
    case ActionKind::kMonitor: return "monitor";
    case ActionKind::kUnblock: return "unblock";
  }
  return "";
}

int ActionStrength(ActionKind a) {
  switch (a) {
    case ActionKind::kBlock: return 3;
    case ActionKind::kChallenge: return 2;
    case ActionKind::kMonitor: return 1;
    case ActionKind::kUnblock: return 0;
  }
  return 0;
}

bool NamedList::Contains(const EnrichedEvent& e) const {
  switch (type) {
    case ListType::kCidr:
      return std::any_of(cidrs.begin(), cidrs.end(),
                         [&](const IpPrefix& p) { return p.Contains(e.event.ip); });
    case ListType::kAsn:
      return e.geo && e.geo->asn != 0 && asns.contains(e.geo->asn);
    case ListType::kAccount:
      return strings.contains(e.event.account);
    case ListType::kCountry:
      return e.geo && strings.contains(e.geo->country_iso);
  }
  return false;
}

int RuleSet::FindList(std::string_view name) const {
  for (size_t i = 0; i < lists.size(); ++i) {
    if (lists[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool RuleSet::InList(int list, const EventContext& ctx) const {
  const uint64_t bit = uint64_t{1} << (list & 63);
  if (list < 64 && (ctx.list_known & bit)) return ctx.list_member & bit;
  const bool member = lists[static_cast<size_t>(list)].Contains(*ctx.event);
  if (list < 64) {
    ctx.list_known |= bit;
    if (member) ctx.list_member |= bit;
  }
  return member;
}

bool RuleSet::MatchesOnce(const Filter& filter, const EventContext& ctx) const {
  if (filter.id < 0) return Evaluate(filter, ctx);
  const uint64_t bit = uint64_t{1} << filter.id;
  const bool m = Evaluate(filter, ctx);
  ctx.filter_known |= bit;
  if (m) ctx.filter_value |= bit;
  return m;
}


uint32_t RuleSet::ComputeFacts(const EventContext& ctx) const {
  const ProfileFacts& p = ctx.profile;
  const AuthEvent& ev = ctx.event->event;
  uint32_t bits = (ev.result == AuthResult::kSuccess ? kFactSuccess : kFactFailure) |
                  (p.network_known ? kFactNetworkKnown : 0) | (p.asn_known ? kFactAsnKnown : 0) |
                  (p.country_known ? kFactCountryKnown : 0) | (p.account_new ? kFactAccountNew : 0) |
                  (p.established ? kFactEstablished : 0) | (p.device_known ? kFactDeviceKnown : 0);
  for (size_t i = 0; i < protocol_sets.size(); ++i) {
    if (AnyEquals(protocol_sets[i], ev.protocol)) bits |= 1u << (kFirstProtocolFact + i);
  }
  return bits;
}

// The clauses on the result, a profile fact or the protocol as (facts & mask) == want; the
// same answers as Evaluate, where a clause passes when its match differs from its negation.
void RuleSet::CompileFacts(Filter* f) {
  uint32_t mask = 0, want = 0;
  bool never = false, residual = false;
  const auto require = [&](uint32_t bit, bool set) {
    if ((mask & bit) != 0 && ((want & bit) != 0) != set) never = true;  // asks both ways
    mask |= bit;
    if (set) want |= bit;
  };
  for (const FilterClause& c : f->clauses) {
    if (c.list >= 0) {
      residual = true;
    } else if (c.field == FilterField::kResult) {
      // The clause matches a result whose bit is in the mask (bit 0 success, bit 1 failure).
      const bool success_passes = ((c.result_mask & 1) != 0) != c.negate;
      const bool failure_passes = ((c.result_mask & 2) != 0) != c.negate;
      if (!success_passes && !failure_passes) never = true;
      else if (!success_passes) require(kFactFailure, true);
      else if (!failure_passes) require(kFactSuccess, true);
    } else if (const uint32_t bit = FactOf(c.field); bit != 0) {
      require(bit, c.boolean != c.negate);
    } else if (c.field == FilterField::kProtocol) {
      auto it = std::find(protocol_sets.begin(), protocol_sets.end(), c.strings);
      if (it == protocol_sets.end() && protocol_sets.size() < kMaxProtocolSets) {
        it = protocol_sets.insert(it, c.strings);
      }
      if (it == protocol_sets.end()) {
        residual = true;  // more protocol sets than fact bits: evaluated clause by clause
      } else {
        require(1u << (kFirstProtocolFact + (it - protocol_sets.begin())), !c.negate);
      }
    } else {
      residual = true;  // country, account, address, ASN, reason: evaluated clause by clause
    }
  }
  if (never) {  // no event is both a success and a failure
    mask = want = kFactSuccess | kFactFailure;
    residual = false;
  }
  f->on_facts = !residual;
  f->facts_mask = mask;
  f->facts_want = want;
}

void RuleSet::CompileFilters() {
  protocol_sets.clear();
  std::vector<Filter*> all;
  for (auto& r : rules) {
    all.push_back(&r.on);
    for (auto& w : r.when) {
      all.push_back(&w.filter);
      all.push_back(&w.of);
    }
  }
  for (auto& t : travel) all.push_back(&t.filter);
  for (auto& n : novelty) all.push_back(&n.filter);
  std::vector<const Filter*> distinct;
  for (Filter* f : all) {
    CompileFacts(f);
    f->id = -1;
    if (f->on_facts) continue;  // a mask test costs less than the memo
    if (f->empty()) continue;  // matches everything: nothing to cache
    auto same = [f](const Filter* d) {
      if (d->clauses.size() != f->clauses.size()) return false;
      for (size_t i = 0; i < d->clauses.size(); ++i) {
        const FilterClause& a = d->clauses[i];
        const FilterClause& b = f->clauses[i];
        if (a.field != b.field || a.negate != b.negate || a.strings != b.strings || a.numbers != b.numbers ||
            a.boolean != b.boolean || a.result_mask != b.result_mask || a.list != b.list) {
          return false;
        }
      }
      return true;
    };
    auto it = std::find_if(distinct.begin(), distinct.end(), same);
    if (it != distinct.end()) {
      f->id = (*it)->id;
    } else if (distinct.size() < 64) {
      f->id = static_cast<int>(distinct.size());
      distinct.push_back(f);
    }
  }
}

bool RuleSet::Evaluate(const Filter& filter, const EventContext& ctx) const {
  const AuthEvent& ev = ctx.event->event;
  const GeoRecord* geo = ctx.event->geo.get();
  for (const FilterClause& c : filter.clauses) {
    bool m;
    if (c.list >= 0) {
      m = InList(c.list, ctx);
    } else {
      switch (c.field) {
        case FilterField::kResult:
          m = c.result_mask & (ev.result == AuthResult::kSuccess ? 1 : 2);
          break;
        case FilterField::kProtocol: m = AnyEquals(c.strings, ev.protocol); break;
        case FilterField::kCountry: m = geo && AnyEquals(c.strings, geo->country_iso); break;
        case FilterField::kReason: m = AnyEquals(c.strings, ev.failure_reason); break;
        case FilterField::kAccount: m = AnyEquals(c.strings, ev.account); break;
        case FilterField::kIp: m = AnyEquals(c.strings, ev.ip.ToString()); break;
        case FilterField::kAsn:
          m = geo && std::find(c.numbers.begin(), c.numbers.end(), geo->asn) != c.numbers.end();
          break;
        default: {  // a profile fact, or nothing known (no match)
          const uint32_t fact = FactOf(c.field);
          m = fact != 0 && ((Facts(ctx) & fact) != 0) == c.boolean;
        }
      }
    }
    if (m == c.negate) return false;
  }
  return true;
}

}  // namespace authwatch
