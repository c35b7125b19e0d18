// SyslogEventDecoder: the login lines that mail and shell servers already write, so that users
// with rsyslog-to-Kafka (omkafka) pipelines or plain log files need no converter.
//
// Envelopes: RFC 3164 ("Nov  2 10:00:01 host prog[pid]: msg", optional <PRI>, also an unpadded
// day "Nov 2"; the year and zone are not in the line and come from options), the same with an
// RFC 3339 timestamp (rsyslog's high-precision format), RFC 5424 ("<34>1 2026-11-02T10:00:01Z
// host prog pid - - msg"), and systemd-journal JSON export (journalctl -o json:
// __REALTIME_TIMESTAMP, MESSAGE, SYSLOG_IDENTIFIER, _PID).
//
// Messages (one event per login ATTEMPT, not per line: servers write two to four lines per
// failed password, and counting lines is the main source of the peers' false positives):
//   OpenSSH  "Failed <method> for [invalid user ]U from IP port P ssh2"     failure (U is the
//                client's text and may hold " from <addr>": IP is the last " from " followed by
//                " port P[ sshN]" and the end or ": "; an IPv6 zone "%eth0" is dropped)
//            "Accepted <method> for U from IP port P ssh2"                  success
//            "Invalid user U from IP port P"                                failure; the next
//                "Failed ... for invalid user U" of the same process is the same attempt
//            "message repeated N times: [ Failed password for ... ]"       N failures
//            pam_unix "authentication failure; ... rhost=IP user=U"         the same attempt as the
//                "Failed" line sshd writes with it: not counted
//            "(Connection closed by|Disconnected from) (authenticating|invalid) user U IP port P [preauth]"
//                                                                           failure, unless the same
//                process already logged its attempt
//   Dovecot  "<proto>-login: Login: user=<U>, method=M, rip=IP, ..."       success
//            "<proto>-login: (Disconnected|Aborted login) (auth failed, N attempts ...): user=<U>, ..., rip=IP"
//                                                                           N failures
//   Postfix  "warning: host[IP]: SASL <M> authentication failed: ...[, sasl_username=U]"
//                                                                           failure (account if named;
//                "host[IP]:port" with smtpd_client_port_logging; not when the reason says no
//                credential was checked: "Connection lost to authentication server",
//                "Invalid authentication mechanism")
//            "...: client=host[IP], sasl_method=M, sasl_username=U"        success (smtp)
// Every other line is skipped (counted), not rejected; an auth line with a bad address or time
// is rejected with its reason. Not thread-safe (per-process state for sshd).
#pragma once

#include <cstdint>
#include <string>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ingest/event_decoder.h"
#include "simdjson.h"

namespace authwatch {

struct SyslogOptions {
  int year = 0;                  // for year-less timestamps; 0: the current year
  std::string timezone = "UTC";  // for zone-less timestamps: "UTC", "+01:00", or an IANA name
  size_t max_record_bytes = 65536;
};

class SyslogEventDecoder final : public EventDecoder {
 public:
  // Fails on an unknown time zone.
  static absl::StatusOr<std::unique_ptr<SyslogEventDecoder>> Create(const SyslogOptions& options);
  DecodeOutcome Decode(std::string_view record, AuthEvent* event, Rejection* rejection) override;

 private:
  struct Envelope {
    EventTimeMs ts_ms = 0;
    std::string_view host, program, message;
    uint64_t pid = 0;
  };
  explicit SyslogEventDecoder(const SyslogOptions& options) : options_(options) {}
  bool ParseEnvelope(std::string_view line, Envelope* env, Rejection* rejection);
  bool ParseJournal(std::string_view line, Envelope* env, Rejection* rejection);
  // False for an invalid timestamp. Not std::optional: GCC returns it through a byte store and a
  // wider load, a store-forwarding stall on every line.
  bool ClassicTime(std::string_view text, EventTimeMs* ms);
  // ClassicTime's slow path, kept out of line so that the fast path stays small enough to inline.
  ABSL_ATTRIBUTE_NOINLINE bool ParseClassicTime(std::string_view text, EventTimeMs* ms);
  DecodeOutcome Sshd(const Envelope& env, AuthEvent* event, Rejection* rejection);
  void MarkAttempted(uint64_t process);
  DecodeOutcome Dovecot(const Envelope& env, std::string_view message, AuthEvent* event, Rejection* rejection);
  DecodeOutcome Postfix(const Envelope& env, AuthEvent* event, Rejection* rejection);
  DecodeOutcome Fill(const Envelope& env, AuthResult result, std::string_view account, std::string_view ip,
                     std::string_view protocol, AuthEvent* event, Rejection* rejection);

  SyslogOptions options_;
  absl::TimeZone zone_;
  int64_t fixed_offset_s_ = 0;
  bool fixed_offset_ = true;
  int last_month_ = 0;
  int year_ = 0;
  // The minute of the last classic timestamp ("Nov  2 10:00:") and its first second, with a fixed
  // offset: consecutive lines mostly share it, so only their seconds need parsing. Its month is
  // last_month_, so reusing it never skips a year roll-over.
  static constexpr size_t kMinuteKeyBytes = 13;
  std::string minute_;
  int64_t minute_start_s_ = 0;
  // sshd processes that logged "Invalid user": their next "Failed ... invalid user" is the same
  // attempt. Bounded: cleared when it grows past a limit (a lost entry costs one extra count).
  absl::flat_hash_map<uint64_t, EventTimeMs> invalid_user_pending_;
  // sshd processes that logged an attempt (Failed/Accepted/Invalid user): their pre-auth
  // disconnect line is not another attempt. A process that disconnects before any such line
  // (a key-only server, or a client that gives up at the password prompt) made one.
  absl::flat_hash_map<uint64_t, bool> attempted_;
  simdjson::dom::parser json_;
};

}  // namespace authwatch
