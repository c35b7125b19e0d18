// Why an input record was not turned into an event. Each reason is a label value of
// authwatch_events_rejected_total{reason} and the "reason" of its dead-letter record, so the
// set is closed and the names are a contract: add, never rename.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace authwatch {

enum class RejectReason : uint8_t {
  kInvalidJson,    // not parseable JSON, or not a JSON object
  kInvalidUtf8,    // bytes that are not UTF-8
  kOversize,       // larger than input.max_record_bytes
  kMissingField,   // a required field (time, account, ip, result) is absent or empty
  kWrongType,      // a field holds the wrong JSON type (e.g. an object where a string belongs)
  kBadIp,          // not an IPv4 or IPv6 address
  kBadTime,        // unparseable or implausible time
  kBadResult,      // result value that the mapping does not know as success or failure
  kBadAccount,     // account too long or with control characters
  kBadProtobuf,    // not a valid authwatch.v1.AuthEvent
  kLateEvent,      // older than the stream's watermark by more than the late-event allowance
};

inline constexpr size_t kRejectReasonCount = 11;

inline constexpr std::array<std::string_view, kRejectReasonCount> kRejectReasonNames = {
    "invalid_json", "invalid_utf8", "oversize",     "missing_field", "wrong_type",  "bad_ip",
    "bad_time",     "bad_result",   "bad_account",  "bad_protobuf",  "late_event"};

inline std::string_view RejectReasonName(RejectReason r) {
  return kRejectReasonNames[static_cast<size_t>(r)];
}

// A rejection: the reason (closed set) and a human-readable detail naming the field and value.
struct Rejection {
  RejectReason reason = RejectReason::kInvalidJson;
  std::string detail;
};

}  // namespace authwatch
