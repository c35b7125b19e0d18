#include "detect/account_profiles.h"

#include <algorithm>
#include <cmath>

namespace authwatch {
namespace {

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kEpoch2000Ms = 946684800000LL;

uint16_t DayOf(EventTimeMs t) {
  return static_cast<uint16_t>(std::clamp<int64_t>((t - kEpoch2000Ms) / kDayMs, 0, UINT16_MAX));
}

uint32_t CountryId(const GeoRecord* g) { return g == nullptr ? 0 : PackCountry(g->country_iso); }

uint32_t NetworkId(const EventContext& ctx) {
  const uint32_t id = static_cast<uint32_t>(ctx.key(KeyKind::kPrefix) >> 32);
  return id == 0 ? 1 : id;
}

bool Known(const std::array<AccountProfile::Slot, 3>& slots, uint32_t id, uint16_t today,
           uint16_t horizon_days) {
  if (id == 0) return false;
  return std::any_of(slots.begin(), slots.end(), [&](const AccountProfile::Slot& s) {
    return s.id == id && today - s.last_day <= horizon_days;
  });
}

void Remember(std::array<AccountProfile::Slot, 3>* slots, uint32_t id, uint16_t today,
              uint16_t horizon_days) {
  if (id == 0) return;
  for (auto& s : *slots) {
    if (s.id == id) {
      s.last_day = std::max(s.last_day, today);
      if (s.uses < UINT16_MAX) ++s.uses;
      return;
    }
  }
  // Replace an empty or forgotten slot, else the least used (ties: least recent).
  auto victim = std::min_element(slots->begin(), slots->end(), [&](const auto& a, const auto& b) {
    const bool a_free = a.id == 0 || today - a.last_day > horizon_days;
    const bool b_free = b.id == 0 || today - b.last_day > horizon_days;
    if (a_free != b_free) return a_free;
    if (a.uses != b.uses) return a.uses < b.uses;
    return a.last_day < b.last_day;
  });
  *victim = {id, today, 1};
}

}  // namespace

uint16_t DeviceFamily(std::string_view user_agent) {
  uint32_t h = 2166136261u;  // FNV-1a over the text without its digits
  for (const char c : user_agent) {
    if (c >= '0' && c <= '9') continue;
    h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  }
  const auto folded = static_cast<uint16_t>(h ^ (h >> 16));
  return folded == 0 ? 1 : folded;
}

uint16_t PackCountry(const std::string& iso) {
  if (iso.size() != 2) return 0;
  return static_cast<uint16_t>((static_cast<unsigned char>(iso[0]) << 8) | static_cast<unsigned char>(iso[1]));
}

bool AccountProfiles::Observe(EventContext* ctx, PreviousLogin* previous) {
  const EventTimeMs t = ctx->ts();
  if (origin_ms_ == 0 || t < origin_ms_) origin_ms_ = t;
  ctx->profile = ProfileFacts{};
  if (ctx->key(KeyKind::kAccount) == 0) return false;  // no account named
  auto it = index_.find(ctx->key(KeyKind::kAccount));
  if (it == index_.end()) {
    // A never-seen account is new unless it appears during the warm-up, when every account
    // is being seen for the first time.
    ctx->profile.account_new = t - origin_ms_ >= params_.warmup_ms;
    return false;
  }
  const AccountProfile& p = profiles_[it->second];
  const uint16_t today = DayOf(t);
  const auto horizon = static_cast<uint16_t>(std::min<int64_t>(params_.horizon_ms / kDayMs, UINT16_MAX));
  const GeoRecord* geo = ctx->event->geo.get();
  ctx->profile.network_known = Known(p.networks, NetworkId(*ctx), today, horizon);
  ctx->profile.asn_known = Known(p.asns, geo ? geo->asn : 0, today, horizon);
  ctx->profile.country_known = Known(p.countries, CountryId(geo), today, horizon);
  ctx->profile.successes = p.successes;
  ctx->profile.established = p.successes >= params_.established_after;
  const uint16_t device = ctx->device_family = DeviceFamily(ctx->event->event.user_agent);
  ctx->profile.device_known = p.devices[0] == 0 || p.devices[0] == device || p.devices[1] == device;
  const int64_t first_ms = int64_t{p.first_seen_s} * 1000;
  ctx->profile.account_new =
      first_ms - origin_ms_ >= params_.warmup_ms && t - first_ms <= params_.new_account_ms;
  if (p.last_success_s == 0 || !p.last_has_location) return false;
  previous->ts_ms = int64_t{p.last_success_s} * 1000;
  previous->lat = p.last_lat_centi / 100.0f;
  previous->lon = p.last_lon_centi / 100.0f;
  previous->accuracy_km = p.last_accuracy_km;
  previous->asn = p.last_asn;
  previous->country = p.last_country;
  return true;
}

void AccountProfiles::Learn(const EventContext& ctx) {
  const EnrichedEvent& e = *ctx.event;
  const EventTimeMs t = e.event.ts_ms;
  // Profiles are made by successes only: a spray over a million made-up account names must not
  // allocate a million profiles.
  if (e.event.result != AuthResult::kSuccess || ctx.key(KeyKind::kAccount) == 0) return;
  if (t / kDayMs > last_sweep_day_) {
    if (last_sweep_day_ != 0) DropIdle(t);
    last_sweep_day_ = t / kDayMs;
  }
  auto [it, inserted] = index_.try_emplace(ctx.key(KeyKind::kAccount), 0);
  if (inserted) {
    if (free_.empty()) {
      it->second = static_cast<uint32_t>(profiles_.size());
      profiles_.emplace_back();
    } else {
      it->second = free_.back();
      free_.pop_back();
      profiles_[it->second] = AccountProfile{};
    }
  }
  AccountProfile& p = profiles_[it->second];
  if (inserted) p.first_seen_s = static_cast<uint32_t>(t / 1000);
  const uint16_t today = DayOf(t);
  const auto horizon = static_cast<uint16_t>(std::min<int64_t>(params_.horizon_ms / kDayMs, UINT16_MAX));
  const GeoRecord* geo = e.geo.get();
  Remember(&p.networks, NetworkId(ctx), today, horizon);
  Remember(&p.asns, geo ? geo->asn : 0, today, horizon);
  Remember(&p.countries, CountryId(geo), today, horizon);
  if (p.successes < UINT16_MAX) ++p.successes;
  // Observe hashed the user agent of an account it knew; a new account's is hashed here.
  if (const uint16_t device = inserted ? DeviceFamily(e.event.user_agent) : ctx.device_family;
      device != p.devices[0]) {
    p.devices[1] = p.devices[0];
    p.devices[0] = device;
  }
  // Late events do not move the "last login" back in time.
  if (static_cast<uint32_t>(t / 1000) >= p.last_success_s) {
    p.last_success_s = static_cast<uint32_t>(t / 1000);
    p.last_has_location = geo && geo->has_location;
    if (p.last_has_location) {
      p.last_lat_centi = static_cast<int16_t>(std::lround(std::clamp(geo->latitude, -90.0, 90.0) * 100));
      p.last_lon_centi = static_cast<int16_t>(std::lround(std::clamp(geo->longitude, -180.0, 180.0) * 100));
      p.last_accuracy_km = static_cast<uint16_t>(std::min<uint32_t>(geo->accuracy_radius_km, UINT16_MAX));
    }
    p.last_asn = geo ? geo->asn : 0;
    p.last_country = static_cast<uint16_t>(CountryId(geo));
  }
}

void AccountProfiles::DropIdle(EventTimeMs now) {
  const int64_t cutoff_s = (now - params_.horizon_ms) / 1000;
  for (auto it = index_.begin(); it != index_.end();) {
    const AccountProfile& p = profiles_[it->second];
    if (int64_t{p.last_success_s} < cutoff_s) {
      free_.push_back(it->second);
      index_.erase(it++);
    } else {
      ++it;
    }
  }
}

size_t AccountProfiles::MemoryBytes() const {
  // The index: one slot (key + index) and one control byte per bucket; the dense profiles.
  return index_.capacity() * (sizeof(std::pair<const uint64_t, uint32_t>) + 1) +
         profiles_.size() * sizeof(AccountProfile) + free_.size() * sizeof(uint32_t);
}

}  // namespace authwatch
