// EventContext: what the detectors know of one enriched event, computed once per event before
// any rule runs: the state keys of every key kind, and facts from the account's profile as it
// was *before* this event (so a login is judged against history, not against itself).
#pragma once

#include <cstdint>

#include "core/auth_event.h"

namespace authwatch {

enum class KeyKind : uint8_t { kAccount, kIp, kPrefix, kAsn, kAccountIp };
inline constexpr int kKeyKindCount = 5;
std::string_view KeyKindName(KeyKind k);

struct ProfileFacts {
  bool network_known = false;  // the /24 or /64 had a successful login for this account
  bool asn_known = false;
  bool country_known = false;
  bool account_new = false;     // first seen recently, after the warm-up (see AccountProfiles)
  bool established = false;     // enough history to judge "new country/network" at all
  // The client's DeviceFamily is one of the account's last two; true when the account has no
  // device history to compare with (never a reason to ask on its own).
  bool device_known = false;
  uint32_t successes = 0;       // successful logins so far (saturating)
};

// The result and profile facts of an event as bits (RuleSet::Facts), which most filters test
// with one mask (Filter::on_facts).
inline constexpr uint32_t kFactSuccess = 1u << 0;
inline constexpr uint32_t kFactFailure = 1u << 1;
inline constexpr uint32_t kFactNetworkKnown = 1u << 2;
inline constexpr uint32_t kFactAsnKnown = 1u << 3;
inline constexpr uint32_t kFactCountryKnown = 1u << 4;
inline constexpr uint32_t kFactAccountNew = 1u << 5;
inline constexpr uint32_t kFactEstablished = 1u << 6;
inline constexpr uint32_t kFactDeviceKnown = 1u << 7;

struct EventContext {
  const EnrichedEvent* event = nullptr;
  uint64_t keys[kKeyKindCount] = {};  // stable 64-bit hashes; 0 means "no such key" (asn unknown)
  ProfileFacts profile;
  uint16_t device_family = 0;  // DeviceFamily of the user agent, set by AccountProfiles::Observe
                               // for an account it knows (Learn hashes a new account's itself)
  mutable uint64_t list_known = 0;   // lazily evaluated list memberships (bit per list index)
  mutable uint64_t list_member = 0;
  mutable uint64_t filter_known = 0;  // lazily evaluated filters (bit per Filter::id)
  mutable uint64_t filter_value = 0;
  mutable uint32_t fact_bits = 0;  // RuleSet::Facts, made on first use (after the profile facts)
  mutable bool facts_known = false;

  uint64_t key(KeyKind k) const { return keys[static_cast<int>(k)]; }
  EventTimeMs ts() const { return event->event.ts_ms; }
};

// Fills keys from the event (profile facts are filled by AccountProfiles).
void ComputeKeys(const EnrichedEvent& e, EventContext* ctx);

}  // namespace authwatch
