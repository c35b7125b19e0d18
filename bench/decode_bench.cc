// Decode benchmarks: one input record to an AuthEvent, the first stage of every event.
//
// Why: decoding is the one stage whose cost grows with the record, and every record pays it
// (also the ones later rejected). TOOLCHAIN.md measured simdjson alone at 110-140 ns for all
// fields of a 250-byte event; this measures what JsonEventDecoder adds on top (JSON pointer
// lookups, RFC 3339 parsing, account normalisation, address parsing, string copies).
//
// Scenarios (each cycles through 4096 distinct records made before the timed loop, so neither
// the branch predictor nor the caches learn one record):
//   BM_DecodeJsonCanonical  authwatch's own JSON form, ~250 bytes, 80 % IPv4 / 20 % IPv6,
//                           70 % successes, RFC 3339 time with milliseconds.
//   BM_DecodeJsonKeycloak   Keycloak LOGIN / LOGIN_ERROR events (~325 bytes, nested
//                           details.username, epoch-ms time) through deploy/mappings/keycloak.yaml.
//   BM_DecodeProtobuf       the same events as serialized authwatch.v1.AuthEvent messages.
//   BM_DecodeSyslog         the same events as the lines servers write (--format syslog): IMAP
//                           and POP3 as Dovecot logs them (each login followed by its "Logged
//                           out" line, which is skipped), SMTP as Postfix SASL lines, web as
//                           OpenSSH "Failed/Accepted password", each failure after its PAM line
//                           (skipped). Items are lines, two thirds of them events.
// Counters: items = records (lines), bytes = record bytes, record_bytes (line_bytes) = mean size.
//
// Last recorded 2026-11-27: AMD EPYC (2 vCPU VM shared with other builds, load 2-4), Release,
// GCC 12.2; CPU time, medians of 5 repetitions (cv 0.5-7 %):
//   BM_DecodeJsonCanonical   469 ns/record  2.13 M records/s  254-byte records  515 MB/s
//   BM_DecodeJsonKeycloak    481 ns/record  2.08 M records/s  325-byte records  644 MB/s
//   BM_DecodeProtobuf        295 ns/record  3.39 M records/s  151-byte messages
// 2026-11-28, quiet machine (load 0.5), same build type, medians of 5:
//   BM_DecodeJsonCanonical 255, BM_DecodeJsonKeycloak 324, BM_DecodeProtobuf 244 ns/record
//   BM_DecodeSyslog          94 ns/line  10.6 M lines/s  181-byte lines, 0.66 events per line
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "bench_inputs.h"
#include "benchmark/benchmark.h"
#include "core/event_time.h"
#include "ingest/json_decoder.h"
#include "ingest/protobuf_decoder.h"
#include "ingest/syslog_decoder.h"

namespace authwatch {
namespace {

constexpr size_t kRecords = 4096;  // a power of two
constexpr EventTimeMs kStart = 1793577600000;  // 2026-11-02T00:00:00Z

constexpr const char* kFirstNames[] = {"alice", "bernd", "chloe", "daan", "elena", "farid",
                                       "greta", "hiro", "ines", "jonas", "kavya", "lucas"};
constexpr const char* kLastNames[] = {"mueller", "evans", "roux", "kumar", "rossi", "tanaka",
                                      "silva", "jansen", "garcia", "nguyen", "smith", "weber"};
constexpr const char* kProtocols[] = {"imap", "imap", "imap", "smtp", "web", "pop3"};
constexpr const char* kAgents[] = {"Thunderbird/128.3.1", "Microsoft Outlook 16.0.18129",
                                   "Apple Mail (macOS 15.1)", "Samsung Email/6.1.97.1",
                                   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/132.0"};

// The events every scenario encodes in its own format.
struct SourceEvent {
  EventTimeMs ts;
  std::string account;
  std::string ip;
  bool success;
  std::string protocol;
  std::string user_agent;
  std::string device_id;
  std::string event_id;
};

std::vector<SourceEvent> MakeEvents() {
  std::mt19937_64 rng(42);
  const auto v6_ranges = bench::LoadV6Ranges();
  std::vector<SourceEvent> out;
  EventTimeMs t = kStart;
  for (size_t i = 0; i < kRecords; ++i) {
    SourceEvent e;
    t += static_cast<EventTimeMs>(rng() % 900);
    e.ts = t;
    e.account = absl::StrFormat("%s.%s%d@mail.example", kFirstNames[rng() % 12],
                                kLastNames[rng() % 12], static_cast<int>(rng() % 1000));
    if (rng() % 5 == 0 && !v6_ranges.empty()) {
      e.ip = bench::RandomV6In(v6_ranges, rng).ToString();
    } else {
      e.ip = IpAddress::FromV4(bench::RandomRoutableV4(rng)).ToString();
    }
    e.success = rng() % 10 < 7;
    e.protocol = kProtocols[rng() % 6];
    e.user_agent = kAgents[rng() % 5];
    e.device_id = absl::StrFormat("d-%08x", static_cast<uint32_t>(rng()));
    e.event_id = absl::StrFormat("01JBX%021X", rng() & 0xffffffffffffULL);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> CanonicalRecords() {
  std::vector<std::string> out;
  for (const SourceEvent& e : MakeEvents()) {
    out.push_back(absl::StrFormat(
        R"({"ts":"%s","account":"%s","ip":"%s","result":"%s","protocol":"%s","user_agent":"%s",%s"device_id":"%s","event_id":"%s"})",
        FormatRfc3339(e.ts), e.account, e.ip, e.success ? "success" : "failure", e.protocol,
        e.user_agent, e.success ? "" : R"("reason":"bad_password",)", e.device_id, e.event_id));
  }
  return out;
}

std::vector<std::string> KeycloakRecords() {
  std::vector<std::string> out;
  for (const SourceEvent& e : MakeEvents()) {
    const std::string user = e.account.substr(0, e.account.find('@'));
    out.push_back(absl::StrFormat(
        R"({"id":"%s","time":%d,"type":"%s","realmId":"mail","clientId":"webmail","userId":"%s",)"
        R"("sessionId":"%s","ipAddress":"%s",%s"details":{"auth_method":"openid-connect",)"
        R"("redirect_uri":"https://mail.example/oauth/callback","username":"%s"}})",
        e.event_id, e.ts, e.success ? "LOGIN" : "LOGIN_ERROR", e.device_id, e.device_id, e.ip,
        e.success ? "" : R"("error":"invalid_user_credentials",)", user));
  }
  return out;
}

std::vector<std::string> ProtobufRecords() {
  std::vector<std::string> out;
  for (const SourceEvent& s : MakeEvents()) {
    AuthEvent e;
    e.ts_ms = s.ts;
    e.account = s.account;
    e.ip = *IpAddress::Parse(s.ip);
    e.result = s.success ? AuthResult::kSuccess : AuthResult::kFailure;
    e.protocol = s.protocol;
    e.user_agent = s.user_agent;
    e.device_id = s.device_id;
    e.failure_reason = s.success ? "" : "bad_password";
    e.event_id = s.event_id;
    out.push_back(ToProto(e).SerializeAsString());
  }
  return out;
}

std::vector<std::string> SyslogLines() {
  std::vector<std::string> out;
  int pid = 20000;
  for (const SourceEvent& e : MakeEvents()) {
    const absl::CivilSecond c = absl::ToCivilSecond(absl::FromUnixMillis(e.ts), absl::UTCTimeZone());
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::string stamp = absl::StrFormat("%s %2d %02d:%02d:%02d mail", kMonths[c.month() - 1], c.day(),
                                              c.hour(), c.minute(), c.second());
    const std::string session = e.device_id + e.event_id.substr(20);
    ++pid;
    if (e.protocol == "imap" || e.protocol == "pop3") {
      if (e.success) {
        out.push_back(absl::StrFormat(
            "%s dovecot: %s-login: Login: user=<%s>, method=PLAIN, rip=%s, lip=192.0.2.10, mpid=%d, TLS, session=<%s>",
            stamp, e.protocol, e.account, e.ip, pid, session));
        out.push_back(absl::StrFormat(
            "%s dovecot: %s(%s)<%d><%s>: Logged out in=373 out=23873 deleted=0 expunged=0 trashed=0 hdr_count=0 "
            "hdr_bytes=0 body_count=0 body_bytes=0", stamp, e.protocol, e.account, pid, session));
      } else {
        out.push_back(absl::StrFormat(
            "%s dovecot: %s-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<%s>, method=PLAIN, "
            "rip=%s, lip=192.0.2.10, TLS, session=<%s>", stamp, e.protocol, e.account, e.ip, session));
      }
    } else if (e.protocol == "smtp") {
      if (e.success) {
        out.push_back(absl::StrFormat("%s postfix/submission/smtpd[%d]: 4F1A2B3C4D: client=unknown[%s], "
                                      "sasl_method=PLAIN, sasl_username=%s", stamp, pid, e.ip, e.account));
      } else {
        out.push_back(absl::StrFormat("%s postfix/submission/smtpd[%d]: warning: unknown[%s]: SASL LOGIN "
                                      "authentication failed: UGFzc3dvcmQ6, sasl_username=%s", stamp, pid, e.ip, e.account));
      }
    } else {
      const std::string user = e.account.substr(0, e.account.find('@'));
      if (!e.success) {
        out.push_back(absl::StrFormat("%s sshd[%d]: pam_unix(sshd:auth): authentication failure; logname= uid=0 "
                                      "euid=0 tty=ssh ruser= rhost=%s  user=%s", stamp, pid, e.ip, user));
      }
      out.push_back(absl::StrFormat("%s sshd[%d]: %s password for %s from %s port %d ssh2", stamp, pid,
                                    e.success ? "Accepted" : "Failed", user, e.ip, 40000 + pid % 20000));
    }
  }
  return out;
}

void RunDecoder(benchmark::State& state, EventDecoder& decoder,
                const std::vector<std::string>& records) {
  size_t bytes = 0;
  for (const auto& r : records) bytes += r.size();
  // Every record must decode: a rejected one would measure the error path.
  AuthEvent event;
  Rejection rejection;
  for (const auto& r : records) {
    if (decoder.Decode(r, &event, &rejection) != DecodeOutcome::kEvent) {
      state.SkipWithError(("record not decoded: " + rejection.detail + ": " + r).c_str());
      return;
    }
  }
  size_t i = 0;
  for (auto _ : state) {
    DecodeOutcome outcome = decoder.Decode(records[i & (kRecords - 1)], &event, &rejection);
    benchmark::DoNotOptimize(outcome);
    benchmark::DoNotOptimize(event);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (bytes / records.size())));
  state.counters["record_bytes"] = static_cast<double>(bytes) / static_cast<double>(records.size());
}

void BM_DecodeJsonCanonical(benchmark::State& state) {
  static const std::vector<std::string> records = CanonicalRecords();
  JsonEventDecoder decoder(FieldMapping::Canonical(), 65536);
  RunDecoder(state, decoder, records);
}
BENCHMARK(BM_DecodeJsonCanonical);

void BM_DecodeJsonKeycloak(benchmark::State& state) {
  auto mapping = LoadFieldMapping(bench::SourcePath("deploy/mappings/keycloak.yaml"));
  if (!mapping.ok()) {
    state.SkipWithError(std::string(mapping.status().message()).c_str());
    return;
  }
  static const std::vector<std::string> records = KeycloakRecords();
  JsonEventDecoder decoder(*std::move(mapping), 65536);
  RunDecoder(state, decoder, records);
}
BENCHMARK(BM_DecodeJsonKeycloak);

void BM_DecodeProtobuf(benchmark::State& state) {
  static const std::vector<std::string> records = ProtobufRecords();
  ProtobufEventDecoder decoder(65536);
  RunDecoder(state, decoder, records);
}
BENCHMARK(BM_DecodeProtobuf);

// Lines, not records: a syslog line is often not an event (it is skipped, as the server's own
// follow-up lines must be), and the decoder keeps per-process state across lines, so every line
// is decoded in its order.
void BM_DecodeSyslog(benchmark::State& state) {
  static const std::vector<std::string> lines = SyslogLines();
  SyslogOptions options;
  options.year = 2026;
  auto decoder = SyslogEventDecoder::Create(options);
  if (!decoder.ok()) {
    state.SkipWithError(std::string(decoder.status().message()).c_str());
    return;
  }
  size_t bytes = 0, events = 0;
  AuthEvent event;
  Rejection rejection;
  for (const auto& l : lines) {
    bytes += l.size();
    const DecodeOutcome o = (*decoder)->Decode(l, &event, &rejection);
    if (o == DecodeOutcome::kRejected) {
      state.SkipWithError(("line rejected: " + rejection.detail + ": " + l).c_str());
      return;
    }
    events += o == DecodeOutcome::kEvent ? 1 : 0;
  }
  if (events != kRecords) {
    state.SkipWithError(absl::StrFormat("%d events from %d lines, expected %d", events, lines.size(), kRecords).c_str());
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    DecodeOutcome outcome = (*decoder)->Decode(lines[i], &event, &rejection);
    benchmark::DoNotOptimize(outcome);
    benchmark::DoNotOptimize(event);
    if (++i == lines.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (bytes / lines.size())));
  state.counters["line_bytes"] = static_cast<double>(bytes) / static_cast<double>(lines.size());
  state.counters["events_per_line"] = static_cast<double>(events) / static_cast<double>(lines.size());
}
BENCHMARK(BM_DecodeSyslog);

}  // namespace
}  // namespace authwatch

BENCHMARK_MAIN();
