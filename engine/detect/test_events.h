// Test-only helpers: enriched events built by hand, without databases. Used by the detector
// and policy tests.
#pragma once

#include <memory>
#include <string>

#include "core/auth_event.h"
#include "detect/rule_loader.h"

namespace authwatch::testing {

struct Ev {
  EventTimeMs ts = 1762077600000;  // 2026-11-02T10:00:00Z
  std::string account = "alice@mail.example";
  std::string ip = "198.51.100.7";
  bool success = false;
  std::string protocol = "imap";
  std::string user_agent;
  std::string country = "DE";
  uint32_t asn = 3320;
  double lat = 52.52, lon = 13.405;
  bool has_location = true;
  uint32_t accuracy_km = 0;

  EnrichedEvent Build() const {
    EnrichedEvent e;
    e.event.ts_ms = ts;
    e.event.account = account;
    e.event.ip = *IpAddress::Parse(ip);
    e.event.result = success ? AuthResult::kSuccess : AuthResult::kFailure;
    e.event.protocol = protocol;
    e.event.user_agent = user_agent;
    auto g = std::make_shared<GeoRecord>();
    g->country_iso = country;
    g->asn = asn;
    g->has_location = has_location;
    g->latitude = lat;
    g->longitude = lon;
    g->accuracy_radius_km = accuracy_km;
    e.geo = g;
    e.prefix = IpPrefix::Of(e.event.ip, 24, 64);
    return e;
  }
};

inline constexpr EventTimeMs kSecond = 1000;
inline constexpr EventTimeMs kMinute = 60 * kSecond;
inline constexpr EventTimeMs kHour = 60 * kMinute;
inline constexpr EventTimeMs kDay = 24 * kHour;

// Compiles inline YAML; fails the test (by returning null) on any error.
inline std::shared_ptr<const RuleSet> Rules(const std::string& yaml) {
  RuleLoadResult r = CompileRules({{"inline.yaml", yaml}});
  return r.rules;
}

}  // namespace authwatch::testing
