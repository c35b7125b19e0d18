#include "ingest/protobuf_decoder.h"

#include "core/strings.h"
#include "ingest/event_fields.h"

namespace authwatch {
namespace {

DecodeOutcome Reject(Rejection* rej, RejectReason reason, std::string detail) {
  rej->reason = reason;
  rej->detail = std::move(detail);
  return DecodeOutcome::kRejected;
}

std::string Clip(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n); }

}  // namespace

DecodeOutcome ProtobufEventDecoder::Decode(std::string_view record, AuthEvent* event,
                                           Rejection* rejection) {
  if (record.size() > max_record_bytes_) {
    return Reject(rejection, RejectReason::kOversize,
                  Cat(record.size(), " bytes, limit ", max_record_bytes_));
  }
  // proto3 parsing verifies UTF-8 of string fields and fails on it (logged by protobuf).
  if (!message_.ParseFromArray(record.data(), static_cast<int>(record.size()))) {
    return Reject(rejection, RejectReason::kBadProtobuf, "not a valid authwatch.v1.AuthEvent");
  }
  event->Clear();
  if (message_.ts_unix_ms() == 0) {
    return Reject(rejection, RejectReason::kMissingField, "ts_unix_ms is not set");
  }
  if (message_.ts_unix_ms() < kMinPlausibleMs || message_.ts_unix_ms() > kMaxPlausibleMs) {
    return Reject(rejection, RejectReason::kBadTime,
                  Cat("ts_unix_ms = ", message_.ts_unix_ms(), " outside 2000..2100"));
  }
  event->ts_ms = message_.ts_unix_ms();
  if (auto c = NormaliseAccount(message_.account(), &event->account); c != AccountCheck::kOk) {
    return Reject(rejection, c == AccountCheck::kEmpty ? RejectReason::kMissingField
                                                       : RejectReason::kBadAccount,
                  Cat("account: ", AccountCheckText(c)));
  }
  if (message_.ip().empty()) return Reject(rejection, RejectReason::kMissingField, "ip is not set");
  auto ip = ParseClientAddress(message_.ip());
  if (!ip) {
    return Reject(rejection, RejectReason::kBadIp,
                  Cat("ip = '", Clip(message_.ip(), 64), "' is not an IPv4 or IPv6 address"));
  }
  event->ip = *ip;
  switch (message_.result()) {
    case v1::AUTH_RESULT_SUCCESS: event->result = AuthResult::kSuccess; break;
    case v1::AUTH_RESULT_FAILURE: event->result = AuthResult::kFailure; break;
    default:
      return Reject(rejection, message_.result() == v1::AUTH_RESULT_UNSPECIFIED
                                   ? RejectReason::kMissingField
                                   : RejectReason::kBadResult,
                    Cat("result = ", message_.result()));
  }
  event->protocol = Clip(message_.protocol(), kMaxProtocolBytes);
  NormaliseProtocol(&event->protocol);
  event->user_agent = Clip(message_.user_agent(), kMaxFreeTextBytes);
  event->device_id = Clip(message_.device_id(), kMaxFreeTextBytes);
  event->failure_reason = Clip(message_.failure_reason(), kMaxFreeTextBytes);
  event->event_id = Clip(message_.event_id(), kMaxFreeTextBytes);
  return DecodeOutcome::kEvent;
}

v1::AuthEvent ToProto(const AuthEvent& e) {
  v1::AuthEvent m;
  m.set_ts_unix_ms(e.ts_ms);
  m.set_account(e.account);
  m.set_ip(e.ip.ToString());
  m.set_result(e.result == AuthResult::kSuccess ? v1::AUTH_RESULT_SUCCESS : v1::AUTH_RESULT_FAILURE);
  m.set_protocol(e.protocol);
  m.set_user_agent(e.user_agent);
  m.set_device_id(e.device_id);
  m.set_failure_reason(e.failure_reason);
  m.set_event_id(e.event_id);
  m.set_source_offset(e.source_offset);
  return m;
}

}  // namespace authwatch
