// EventDecoder: turns one input record (a JSON line, a protobuf message, a syslog line) into an
// AuthEvent. Implementations are not thread-safe (they keep parser buffers); give each thread
// its own. Decode never throws and never aborts on any input bytes.
#pragma once

#include <string_view>

#include "core/auth_event.h"
#include "ingest/reject_reason.h"

namespace authwatch {

enum class DecodeOutcome : uint8_t {
  kEvent,     // *event is filled
  kSkipped,   // a valid record that is not a login event (e.g. an Okta event of another type)
  kRejected,  // *rejection says why
};

class EventDecoder {
 public:
  virtual ~EventDecoder() = default;
  virtual DecodeOutcome Decode(std::string_view record, AuthEvent* event, Rejection* rejection) = 0;
};

}  // namespace authwatch
