// JSON form of an enriched event (replay --emit enriched; explain). One object per line:
//   {"ts":"2026-11-02T08:15:30.123Z","account":"a@mail.example","ip":"8.8.8.8","result":"success",
//    "protocol":"imap","user_agent":"...","reason":"...","event_id":"...","source_offset":1,
//    "geo":{"country":"US","city":"Mountain View","lat":37.42,"lon":-122.08,"accuracy_km":1000,
//           "asn":15169,"as_org":"Google LLC"},"prefix":"8.8.8.0/24"}
// Empty optional fields are omitted; "geo" is {} when the address is in no database.
#pragma once

#include <string>

#include "core/auth_event.h"

namespace authwatch {

void AppendEnrichedJson(const EnrichedEvent& e, std::string* out);
// The event part alone, as a JSON object (used inside decision evidence).
void AppendEventJson(const AuthEvent& e, std::string* out);

}  // namespace authwatch
