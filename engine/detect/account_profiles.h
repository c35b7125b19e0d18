// AccountProfiles: what authwatch remembers of each account between logins, in 100 bytes:
// the countries, ASNs and network prefixes it has logged in from successfully (a few slots
// each, least-used replaced first, forgotten after `horizon`), the two device families it used
// last, the last successful login's place and time (for impossible travel), and when the account
// was first seen.
//
// Only successful logins train a profile: failures are what attackers produce, and learning from
// them would teach the profile the attacker's networks. A network enters its slots on its
// first success, but evicting a slot prefers the one with the fewest successes, so a one-off
// attacker login cannot push out a home network used every day.
//
// Storage: profiles live in a dense vector and a flat_hash_map maps the 64-bit account key to
// its index (12 bytes a slot instead of a 104-byte slot, so the map's spare capacity after it
// grows costs little). Profiles unused for longer than `horizon` are dropped (their slots are
// reused) once a day of event time. Owned by one shard, not thread-safe. The measured
// per-account cost is in bench/.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "detect/event_context.h"
#include "detect/rule_set.h"

namespace authwatch {

// 100 bytes; the map from account key to profile adds ~35 more (see AccountProfiles).
struct AccountProfile {
  struct Slot {
    uint32_t id = 0;        // country code (2 chars), ASN, or 32-bit prefix hash; 0 = empty
    uint16_t last_day = 0;  // days since 2000-01-01
    uint16_t uses = 0;      // successes, saturating
  };
  uint32_t first_seen_s = 0;    // first success, seconds since the epoch (good until 2106)
  uint32_t last_success_s = 0;  // 0: never
  int16_t last_lat_centi = 0;   // degrees x 100: 0.01 deg (~1 km) is far below any accuracy radius
  int16_t last_lon_centi = 0;
  uint16_t last_accuracy_km = 0;
  uint16_t successes = 0;  // saturating
  uint32_t last_asn = 0;
  uint16_t last_country = 0;  // two ASCII letters packed, 0 unknown
  // DeviceFamily of the two most recent distinct clients of successful logins, newest first;
  // 0 = none (no history yet, or a profile restored from a snapshot older than this field).
  std::array<uint16_t, 2> devices{};
  bool last_has_location = false;
  std::array<Slot, 3> countries{};
  std::array<Slot, 3> asns{};
  std::array<Slot, 3> networks{};
};

// Where and when the previous successful login happened (for impossible travel).
struct PreviousLogin {
  EventTimeMs ts_ms = 0;
  float lat = 0, lon = 0;
  uint16_t accuracy_km = 0;
  uint32_t asn = 0;
  uint16_t country = 0;  // packed like AccountProfile::last_country
};

// Packs an ISO country code into 16 bits (0 when absent).
uint16_t PackCountry(const std::string& iso);
// A 16-bit fingerprint (never 0) of the client software and platform a user agent names, its
// version numbers left out: a browser or mail app updating itself stays the same device family;
// another browser, app or operating system is another. No user agent is a family of its own
// (mail protocols often send none).
uint16_t DeviceFamily(std::string_view user_agent);

class AccountProfiles {
 public:
  explicit AccountProfiles(const ProfileParams& params) : params_(params) {}
  void set_params(const ProfileParams& params) { params_ = params; }

  // Fills ctx->profile from the account's profile as it stands before this event.
  // Returns the previous successful login when there is one with a location.
  bool Observe(EventContext* ctx, PreviousLogin* previous);
  // Learns from the event once every detector has seen it (successes only).
  void Learn(const EventContext& ctx);

  size_t size() const { return index_.size(); }
  // First event time the store has seen: accounts first seen within warmup of it are not "new".
  EventTimeMs origin_ms() const { return origin_ms_; }
  size_t MemoryBytes() const;

 private:
  friend class StateCodec;  // snapshots (engine/state/state_codec.h)
  ProfileParams params_;
  void DropIdle(EventTimeMs now);
  absl::flat_hash_map<uint64_t, uint32_t> index_;
  std::vector<AccountProfile> profiles_;
  std::vector<uint32_t> free_;
  int64_t last_sweep_day_ = 0;
  EventTimeMs origin_ms_ = 0;
};

}  // namespace authwatch
