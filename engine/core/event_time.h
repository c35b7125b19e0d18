// Event time: milliseconds since the Unix epoch, UTC, in an int64_t. Detection windows run on
// this time only (never the wall clock), so a replay gives the answers live traffic gave.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authwatch {

using EventTimeMs = int64_t;

// RFC 3339 / ISO 8601 with a zone: "2026-11-02T08:15:30Z", "2026-11-02T08:15:30.123456+01:00",
// space instead of T accepted. Sub-millisecond digits are truncated. nullopt when invalid
// (including out-of-range fields such as month 13 or second 61).
std::optional<EventTimeMs> ParseRfc3339(std::string_view text);

// "2026-11-02T08:15:30.123Z" (always milliseconds, always Z).
std::string FormatRfc3339(EventTimeMs ms);

// floor(t / width): the index of the width-long slice of event time holding t, also before the
// epoch (where C++ division would round towards zero). Sliding windows bucket time with it.
constexpr int64_t FloorDiv(int64_t t, int64_t width) { return t >= 0 ? t / width : (t - width + 1) / width; }

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);

// Plausible event times: 2000-01-01 to 2100-01-01. Outside that, an epoch value is almost
// certainly in the wrong unit (seconds vs milliseconds) and is rejected rather than guessed.
constexpr EventTimeMs kMinPlausibleMs = 946684800000LL;
constexpr EventTimeMs kMaxPlausibleMs = 4102444800000LL;

}  // namespace authwatch
