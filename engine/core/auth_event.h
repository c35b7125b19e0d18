// The in-memory login event that flows through the pipeline, and its enrichment.
// Plain value types; an AuthEvent is owned by the stage that holds it. The wire form is
// proto/authwatch/v1/auth_event.proto; decoders fill this struct, not the generated class,
// because the hot path wants fixed-size fields (IpAddress, enums) rather than strings.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/event_time.h"
#include "core/ip_address.h"

namespace authwatch {

enum class AuthResult : uint8_t { kSuccess, kFailure };

std::string_view AuthResultName(AuthResult r);

struct AuthEvent {
  EventTimeMs ts_ms = 0;
  // Trimmed and lower-cased. Empty only for log lines that name no account (a Postfix SASL
  // failure): such events count for address-keyed rules and never for account-keyed ones.
  std::string account;
  IpAddress ip;
  AuthResult result = AuthResult::kFailure;
  std::string protocol;  // lower case: smtp, imap, pop3, web, ssh, ... ("" when unknown)
  std::string user_agent;
  std::string device_id;
  std::string failure_reason;
  std::string event_id;
  // Where the event came from: Kafka offset, or 1-based line/record number in a file.
  int64_t source_offset = -1;
  // Identical attempts this record stands for ("message repeated 3 times", "3 attempts").
  uint32_t repeat = 1;

  // Resets every field to its default but keeps the strings' buffers: decoders refill one
  // event per record, and reallocating the account and user agent each time costs about 5%
  // of replay.
  void Clear();
};

// What the GeoIP and ASN databases say of one address. Immutable once built, shared by the
// lookup cache and every event that carries it.
struct GeoRecord {
  std::string country_iso;  // "" when unknown
  std::string city;
  bool has_location = false;
  double latitude = 0;
  double longitude = 0;
  uint32_t accuracy_radius_km = 0;  // 0: the database does not say
  uint32_t asn = 0;                 // 0: unknown
  std::string as_org;
};

struct EnrichedEvent {
  AuthEvent event;
  std::shared_ptr<const GeoRecord> geo;  // never null after enrichment (may be empty)
  IpPrefix prefix;
};

}  // namespace authwatch
