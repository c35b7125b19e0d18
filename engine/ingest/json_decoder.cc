#include "ingest/json_decoder.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "core/strings.h"
#include "ingest/event_fields.h"

namespace authwatch {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// Looks up a JSON pointer; an empty pointer, a JSON null or an empty string means "absent"
// (RejectReason::kMissingField: "absent or empty", as in the protobuf decoder, where proto3
// cannot tell the two apart).
bool Find(const element& root, const std::string& pointer, element* out) {
  if (pointer.empty()) return false;
  auto r = root.at_pointer(pointer);
  if (r.error()) return false;
  *out = r.value_unsafe();
  return !out->is_null() && !(out->is_string() && out->get_string().value_unsafe().empty());
}

DecodeOutcome Reject(Rejection* rej, RejectReason reason, std::string detail) {
  rej->reason = reason;
  rej->detail = std::move(detail);
  return DecodeOutcome::kRejected;
}

// Text of a scalar for error messages and string fields that producers sometimes send as numbers.
std::string ScalarText(const element& e) {
  switch (e.type()) {
    case element_type::STRING: return std::string(e.get_string().value_unsafe());
    case element_type::INT64: return std::to_string(e.get_int64().value_unsafe());
    case element_type::UINT64: return std::to_string(e.get_uint64().value_unsafe());
    case element_type::DOUBLE: return Cat(e.get_double().value_unsafe());
    case element_type::BOOL: return e.get_bool().value_unsafe() ? "true" : "false";
    default: return "";
  }
}

bool IsScalar(const element& e) {
  const auto t = e.type();
  return t != element_type::ARRAY && t != element_type::OBJECT;
}

std::string Shorten(std::string_view s) {
  return s.size() <= 64 ? std::string(s) : Cat(s.substr(0, 61), "...");
}

bool MatchesAny(std::string_view value, const std::vector<std::string>& candidates) {
  return std::any_of(candidates.begin(), candidates.end(), [&](const std::string& c) {
    return absl::EqualsIgnoreCase(absl::string_view(value.data(), value.size()), c);
  });
}

// Epoch number to ms; `unit_ms` is 1 for milliseconds, 1000 for seconds.
std::optional<EventTimeMs> FromEpoch(double value, int64_t unit_ms) {
  if (!std::isfinite(value)) return std::nullopt;
  const double ms = value * static_cast<double>(unit_ms);
  if (ms < static_cast<double>(kMinPlausibleMs) || ms > static_cast<double>(kMaxPlausibleMs)) {
    return std::nullopt;
  }
  return static_cast<EventTimeMs>(ms);
}

std::optional<EventTimeMs> ParseTime(const element& e, TimeFormat format, std::string* why) {
  const bool is_number = e.is_number();
  if (is_number) {
    const double v = e.get_double().value_unsafe();
    if (format == TimeFormat::kRfc3339) {
      *why = "expected an RFC 3339 string";
      return std::nullopt;
    }
    auto t = FromEpoch(v, format == TimeFormat::kEpochS ? 1000 : 1);
    if (!t) *why = format == TimeFormat::kEpochS ? "epoch seconds out of range (2000..2100)"
                                                  : "epoch milliseconds out of range (2000..2100)";
    return t;
  }
  if (!e.is_string()) {
    *why = "expected a string or a number";
    return std::nullopt;
  }
  const std::string_view s = e.get_string().value_unsafe();
  const bool all_digits = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (all_digits && format != TimeFormat::kRfc3339 && s.size() <= 15) {
    auto t = FromEpoch(std::stod(std::string(s)), format == TimeFormat::kEpochS ? 1000 : 1);
    if (!t) *why = "epoch value out of range (2000..2100)";
    return t;
  }
  auto t = ParseRfc3339(s);
  if (!t) {
    *why = "not RFC 3339 with a zone";
  } else if (*t < kMinPlausibleMs || *t > kMaxPlausibleMs) {
    *why = "outside 2000..2100";
    return std::nullopt;
  }
  return t;
}

}  // namespace

JsonEventDecoder::JsonEventDecoder(FieldMapping mapping, size_t max_record_bytes)
    : mapping_(std::move(mapping)), max_record_bytes_(max_record_bytes) {
  const std::string* pointers[kSlots] = {&mapping_.ts,         &mapping_.account,   &mapping_.ip,
                                         &mapping_.result,     &mapping_.protocol,  &mapping_.user_agent,
                                         &mapping_.device_id,  &mapping_.reason,    &mapping_.event_id};
  for (int i = 0; i < kSlots; ++i) {
    pointers_[i] = pointers[i];
    const std::string& p = *pointers[i];
    // "/name" without further levels or RFC 6901 escapes.
    if (p.size() > 1 && p.find('/', 1) == std::string::npos && p.find('~') == std::string::npos) {
      top_level_[i] = true;
      top_level_key_[i] = p.substr(1);
    }
  }
}

bool JsonEventDecoder::Get(int slot, const element& root, element* out) const {
  if (top_level_[slot]) {
    if (!(found_mask_ & (1u << slot))) return false;
    *out = found_[slot];
    return !out->is_null() && !(out->is_string() && out->get_string().value_unsafe().empty());
  }
  return Find(root, *pointers_[slot], out);
}

DecodeOutcome JsonEventDecoder::Decode(std::string_view record, AuthEvent* event,
                                       Rejection* rejection) {
  if (record.size() > max_record_bytes_) {
    return Reject(rejection, RejectReason::kOversize,
                  Cat(record.size(), " bytes, limit ", max_record_bytes_));
  }
  element root;
  auto parsed = parser_.parse(record.data(), record.size(), /*realloc_if_needed=*/true);
  if (parsed.error()) {
    const auto err = parsed.error();
    if (err == simdjson::UTF8_ERROR) {
      return Reject(rejection, RejectReason::kInvalidUtf8, "the record is not valid UTF-8");
    }
    return Reject(rejection, RejectReason::kInvalidJson, simdjson::error_message(err));
  }
  root = parsed.value_unsafe();
  if (!root.is_object()) {
    return Reject(rejection, RejectReason::kInvalidJson, "a record must be a JSON object");
  }

  // One pass over the top-level keys fills the slots whose pointers are top-level (the first
  // occurrence of a duplicated key wins, as with at_pointer).
  found_mask_ = 0;
  const simdjson::dom::object object = root.get_object().value_unsafe();
  for (auto field : object) {
    for (int i = 0; i < kSlots; ++i) {
      const std::string& key = top_level_key_[i];
      // Length and first letter before the bytes: several slots share a key length.
      if (top_level_[i] && !(found_mask_ & (1u << i)) && field.key.size() == key.size() &&
          field.key[0] == key[0] && field.key == key) {
        found_[i] = field.value;
        found_mask_ |= 1u << i;
        break;
      }
    }
  }

  for (const auto& [pointer, values] : mapping_.only_when) {
    element v;
    if (!Find(root, pointer, &v) || !IsScalar(v) || !MatchesAny(ScalarText(v), values)) {
      return DecodeOutcome::kSkipped;
    }
  }

  event->Clear();
  element v;

  // Time.
  if (!Get(kTs, root, &v)) {
    return Reject(rejection, RejectReason::kMissingField, Cat("no time at ", mapping_.ts));
  }
  std::string why;
  auto ts = ParseTime(v, mapping_.ts_format, &why);
  if (!ts) {
    return Reject(rejection, RejectReason::kBadTime,
                  Cat(mapping_.ts, " = ", Shorten(ScalarText(v)), ": ", why));
  }
  event->ts_ms = *ts;

  // Account.
  if (!Get(kAccount, root, &v)) {
    return Reject(rejection, RejectReason::kMissingField,
                  Cat("no account at ", mapping_.account));
  }
  if (!v.is_string()) {
    return Reject(rejection, RejectReason::kWrongType,
                  Cat(mapping_.account, " must be a string"));
  }
  if (auto status = NormaliseAccount(v.get_string().value_unsafe(), &event->account);
      status != AccountCheck::kOk) {
    return Reject(rejection,
                  status == AccountCheck::kEmpty ? RejectReason::kMissingField
                                                 : RejectReason::kBadAccount,
                  Cat(mapping_.account, ": ", AccountCheckText(status)));
  }

  // Address.
  if (!Get(kIp, root, &v)) {
    return Reject(rejection, RejectReason::kMissingField, Cat("no ip at ", mapping_.ip));
  }
  if (!v.is_string()) {
    return Reject(rejection, RejectReason::kWrongType, Cat(mapping_.ip, " must be a string"));
  }
  auto ip = ParseClientAddress(v.get_string().value_unsafe());
  if (!ip) {
    return Reject(rejection, RejectReason::kBadIp,
                  Cat(mapping_.ip, " = '", Shorten(v.get_string().value_unsafe()),
                               "' is not an IPv4 or IPv6 address"));
  }
  event->ip = *ip;

  // Result.
  if (!Get(kResult, root, &v)) {
    return Reject(rejection, RejectReason::kMissingField,
                  Cat("no result at ", mapping_.result));
  }
  if (v.is_bool()) {
    event->result = v.get_bool().value_unsafe() ? AuthResult::kSuccess : AuthResult::kFailure;
  } else if (IsScalar(v)) {
    const std::string text = ScalarText(v);
    if (MatchesAny(text, mapping_.success_values)) {
      event->result = AuthResult::kSuccess;
    } else if (MatchesAny(text, mapping_.failure_values)) {
      event->result = AuthResult::kFailure;
    } else {
      return Reject(rejection, RejectReason::kBadResult,
                    Cat(mapping_.result, " = '", Shorten(text),
                                 "' is neither a success nor a failure value"));
    }
  } else {
    return Reject(rejection, RejectReason::kWrongType,
                  Cat(mapping_.result, " must be a string or boolean"));
  }

  // Optional fields: a wrong type here is still an error (the producer is misconfigured).
  struct Optional {
    int slot;
    std::string* out;
    size_t max_len;
  };
  const Optional optionals[] = {
      {kProtocol, &event->protocol, kMaxProtocolBytes},
      {kUserAgent, &event->user_agent, kMaxFreeTextBytes},
      {kDeviceId, &event->device_id, kMaxFreeTextBytes},
      {kReason, &event->failure_reason, kMaxFreeTextBytes},
      {kEventId, &event->event_id, kMaxFreeTextBytes},
  };
  for (const auto& o : optionals) {
    if (!Get(o.slot, root, &v)) continue;
    if (!IsScalar(v)) {
      return Reject(rejection, RejectReason::kWrongType,
                    Cat(*pointers_[o.slot], " must be a string"));
    }
    if (v.is_string()) {
      o.out->assign(v.get_string().value_unsafe());
    } else {
      *o.out = ScalarText(v);
    }
    if (o.out->size() > o.max_len) o.out->resize(o.max_len);  // free text: keep a prefix
  }
  if (event->protocol.empty()) event->protocol = mapping_.protocol_constant;
  NormaliseProtocol(&event->protocol);
  return DecodeOutcome::kEvent;
}

}  // namespace authwatch
