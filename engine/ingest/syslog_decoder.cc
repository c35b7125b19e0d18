#include "ingest/syslog_decoder.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "core/stable_hash.h"
#include "core/strings.h"
#include "ingest/event_fields.h"

namespace authwatch {
namespace {

constexpr uint32_t kMaxRepeat = 1000;  // a repeat count beyond this is not believed
constexpr size_t kMaxPendingProcesses = 65536;

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The text between `open` and the next `close` after it, or empty.
std::string_view Between(std::string_view s, std::string_view open, char close) {
  const size_t a = s.find(open);
  if (a == std::string_view::npos) return {};
  const size_t start = a + open.size();
  const size_t b = s.find(close, start);
  return s.substr(start, b == std::string_view::npos ? std::string_view::npos : b - start);
}

std::string_view Word(std::string_view s) { return s.substr(0, s.find(' ')); }

// s.rfind(needle), where needle[anchor] is rarer than spaces: memrchr jumps between that byte's
// occurrences instead of comparing the needle at every position from the end.
size_t RFind(std::string_view s, std::string_view needle, size_t anchor) {
  const size_t n = needle.size();
  for (size_t end = s.size(); end >= n;) {  // candidates start at or before end - n
    const void* hit = memrchr(s.data() + anchor, needle[anchor], end - n + 1);
    if (hit == nullptr) return std::string_view::npos;
    const size_t start = static_cast<size_t>(static_cast<const char*>(hit) - s.data()) - anchor;
    if (std::memcmp(s.data() + start, needle.data(), n) == 0) return start;
    end = start + n - 1;
  }
  return std::string_view::npos;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr uint32_t Pack3(std::string_view s) {
  return static_cast<uint32_t>(static_cast<unsigned char>(s[0])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(s[1])) << 8 | static_cast<unsigned char>(s[2]);
}

// Every classic line asks: its three letters compared as one integer each, not as strings.
int Month(std::string_view m) {
  static constexpr uint32_t kMonths[] = {Pack3("Jan"), Pack3("Feb"), Pack3("Mar"), Pack3("Apr"),
                                         Pack3("May"), Pack3("Jun"), Pack3("Jul"), Pack3("Aug"),
                                         Pack3("Sep"), Pack3("Oct"), Pack3("Nov"), Pack3("Dec")};
  if (m.size() != 3) return 0;
  const uint32_t key = Pack3(m);
  for (int i = 0; i < 12; ++i) {
    if (key == kMonths[i]) return i + 1;
  }
  return 0;
}

bool Number(std::string_view s, int* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

DecodeOutcome Reject(Rejection* r, RejectReason reason, std::string detail) {
  r->reason = reason;
  r->detail = std::move(detail);
  return DecodeOutcome::kRejected;
}

// "prog[pid]" or "prog" from a tag ending before ':'.
void SplitTag(std::string_view tag, std::string_view* program, uint64_t* pid) {
  const size_t br = tag.find('[');
  *program = tag.substr(0, br);
  *pid = 0;
  if (br != std::string_view::npos) {
    const std::string_view digits = tag.substr(br + 1, tag.find(']', br) - br - 1);
    std::from_chars(digits.data(), digits.data() + digits.size(), *pid);
  }
}

// The position of the " from " that introduces the client address in an OpenSSH line
// "Failed|Accepted M for U from ADDR port N ssh2[: INFO]", searched after `start`; npos if none.
// The user name U is the client's text and may itself hold " from <addr> port <n> ssh2" (as may
// INFO for hostbased), so the address is the last " from " followed by an address, " port N",
// an optional " sshN" and the end of the line or ": "; failing that (sshd before 5.x logged no
// port), the last " from ADDR" that ends the line.
size_t ClientFrom(std::string_view m, size_t start) {
  size_t with_port = std::string_view::npos, bare = std::string_view::npos;
  for (size_t f = m.find(" from ", start); f != std::string_view::npos; f = m.find(" from ", f + 1)) {
    std::string_view rest = m.substr(f + 6);
    const std::string_view addr = Word(rest);
    if (addr.empty()) continue;
    rest.remove_prefix(addr.size());
    if (rest.empty()) {
      bare = f;
      continue;
    }
    if (!StartsWith(rest, " port ")) continue;
    rest.remove_prefix(6);
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0) continue;
    rest.remove_prefix(digits);
    if (StartsWith(rest, " ssh")) {
      size_t proto = 4;
      while (proto < rest.size() && rest[proto] >= '0' && rest[proto] <= '9') ++proto;
      rest.remove_prefix(proto);
    }
    if (rest.empty() || StartsWith(rest, ": ")) with_port = f;
  }
  return with_port != std::string_view::npos ? with_port : bare;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SyslogEventDecoder>> SyslogEventDecoder::Create(const SyslogOptions& options) {
  std::unique_ptr<SyslogEventDecoder> d(new SyslogEventDecoder(options));
  const std::string& tz = options.timezone;
  if (tz.empty() || tz == "UTC" || tz == "Z") {
    d->fixed_offset_s_ = 0;
  } else if ((tz[0] == '+' || tz[0] == '-') && tz.size() >= 3) {
    int h = 0, m = 0;
    const std::string_view rest = std::string_view(tz).substr(1);
    const size_t colon = rest.find(':');
    if (!Number(rest.substr(0, colon == std::string_view::npos ? 2 : colon), &h) ||
        (colon != std::string_view::npos && !Number(rest.substr(colon + 1), &m))) {
      return absl::InvalidArgumentError(Cat("syslog time zone '", tz, "' is not +HH:MM"));
    }
    d->fixed_offset_s_ = (tz[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  } else {
    if (!absl::LoadTimeZone(tz, &d->zone_)) {
      return absl::InvalidArgumentError(Cat("syslog time zone '", tz, "' is unknown (an IANA name such as Europe/Berlin, or +HH:MM)"));
    }
    d->fixed_offset_ = false;
  }
  if (options.year > 0) {
    d->year_ = options.year;
  } else {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    d->year_ = tm.tm_year + 1900;
  }
  return d;
}

bool SyslogEventDecoder::ClassicTime(std::string_view t, EventTimeMs* ms) {
  // Consecutive lines mostly share the minute: then only the seconds need parsing.
  if (fixed_offset_ && t.size() >= 15 && t.substr(0, kMinuteKeyBytes) == minute_ && IsDigit(t[13]) &&
      IsDigit(t[14])) {
    const int second = (t[13] - '0') * 10 + (t[14] - '0');
    if (second <= 60) {
      *ms = (minute_start_s_ + std::min(second, 59)) * 1000;
      return true;
    }
  }
  return ParseClassicTime(t, ms);
}

bool SyslogEventDecoder::ParseClassicTime(std::string_view t, EventTimeMs* ms) {
  // "Nov  2 10:00:01" (day space-padded); optional ".123456" fraction (rsyslog)
  if (t.size() < 15 || t[3] != ' ' || t[6] != ' ' || t[9] != ':' || t[12] != ':') return false;
  const int month = Month(t.substr(0, 3));
  int day, hour, minute, second;
  std::string_view day_text = t.substr(4, 2);
  if (day_text[0] == ' ') day_text.remove_prefix(1);
  if (month == 0 || !Number(day_text, &day) || !Number(t.substr(7, 2), &hour) || !Number(t.substr(10, 2), &minute) ||
      !Number(t.substr(13, 2), &second) || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return false;
  }
  // Year-less logs roll over at New Year: a month far before the previous one is next year.
  if (last_month_ != 0 && month < last_month_ - 6) ++year_;
  if (last_month_ != 0 && month > last_month_ + 6) --year_;  // a late line from last December
  last_month_ = month;
  int64_t secs;
  if (fixed_offset_) {
    minute_start_s_ = DaysFromCivil(year_, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                      hour * 3600 + minute * 60 - fixed_offset_s_;
    minute_.assign(t.data(), kMinuteKeyBytes);
    secs = minute_start_s_ + std::min(second, 59);
  } else {
    secs = absl::ToUnixSeconds(absl::FromCivil(absl::CivilSecond(year_, month, day, hour, minute, second), zone_));
  }
  *ms = secs * 1000;
  return true;
}

bool SyslogEventDecoder::ParseJournal(std::string_view line, Envelope* env, Rejection* rejection) {
  simdjson::dom::element root;
  if (json_.parse(line.data(), line.size()).get(root)) {
    Reject(rejection, RejectReason::kInvalidJson, "not a journal JSON record");
    return false;
  }
  std::string_view ts, pid;
  if (root["__REALTIME_TIMESTAMP"].get(ts) || root["MESSAGE"].get(env->message)) {
    Reject(rejection, RejectReason::kMissingField, "journal record without __REALTIME_TIMESTAMP or MESSAGE");
    return false;
  }
  int64_t micros = 0;
  auto [p, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), micros);
  if (ec != std::errc()) {
    Reject(rejection, RejectReason::kBadTime, Cat("__REALTIME_TIMESTAMP = '", ts, "'"));
    return false;
  }
  env->ts_ms = micros / 1000;
  if (root["SYSLOG_IDENTIFIER"].get(env->program)) env->program = {};
  if (root["_HOSTNAME"].get(env->host)) env->host = {};
  if (!root["_PID"].get(pid)) std::from_chars(pid.data(), pid.data() + pid.size(), env->pid);
  return true;
}

bool SyslogEventDecoder::ParseEnvelope(std::string_view line, Envelope* env, Rejection* rejection) {
  if (!line.empty() && line.front() == '{') return ParseJournal(line, env, rejection);
  if (!line.empty() && line.front() == '<') {  // <PRI>
    const size_t gt = line.find('>');
    if (gt == std::string_view::npos || gt > 4) return false;
    line.remove_prefix(gt + 1);
    if (line.size() > 2 && line[0] >= '1' && line[0] <= '9' && line[1] == ' ') {  // RFC 5424
      line.remove_prefix(2);
      const std::string_view ts = Word(line);
      const auto t = ParseRfc3339(ts);
      if (!t) {
        Reject(rejection, RejectReason::kBadTime, Cat("RFC 5424 timestamp '", ts, "'"));
        return false;
      }
      env->ts_ms = *t;
      std::string_view fields[4];  // host, app, procid, msgid
      line.remove_prefix(std::min(line.size(), ts.size() + 1));
      for (auto& f : fields) {
        f = Word(line);
        line.remove_prefix(std::min(line.size(), f.size() + 1));
      }
      env->host = fields[0];
      env->program = fields[1];
      std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), env->pid);
      // Structured data: "-" or one or more [..] elements.
      if (StartsWith(line, "-")) {
        line.remove_prefix(std::min<size_t>(line.size(), 2));
      } else {
        // SD-ELEMENTs: [id name="value" ...]...; a quoted value may hold ']' and '\"' (RFC 5424
        // 6.3.3), so the element ends at the first ']' outside quotes.
        while (StartsWith(line, "[")) {
          size_t i = 1;
          bool quoted = false;
          for (; i < line.size() && (quoted || line[i] != ']'); ++i) {
            if (quoted && line[i] == '\\') ++i;
            else if (line[i] == '"') quoted = !quoted;
          }
          if (i >= line.size()) return false;
          line.remove_prefix(i + 1);
        }
        if (StartsWith(line, " ")) line.remove_prefix(1);
      }
      if (StartsWith(line, "\xEF\xBB\xBF")) line.remove_prefix(3);  // BOM
      env->message = line;
      return true;
    }
  }
  // RFC 3164, with a classic or an RFC 3339 timestamp.
  std::string_view rest;
  if (line.size() >= 15 && Month(line.substr(0, 3)) != 0) {
    // Some daemons (BusyBox, some BSDs) do not pad a one-digit day: "Feb 7 16:01:07".
    const bool unpadded = line[3] == ' ' && line[4] != ' ' && line[5] == ' ';
    const std::string padded = unpadded ? Cat(line.substr(0, 4), " ", line.substr(4, 10)) : std::string();
    const std::string_view stamp = unpadded ? std::string_view(padded) : line.substr(0, 15);
    if (!ClassicTime(stamp, &env->ts_ms)) {
      Reject(rejection, RejectReason::kBadTime, Cat("syslog timestamp '", stamp, "'"));
      return false;
    }
    rest = line.substr(unpadded ? 14 : 15);
    if (StartsWith(rest, ".")) rest.remove_prefix(std::min(rest.size(), rest.find(' ')));  // fraction
  } else if (line.size() >= 20 && line[4] == '-' && line[10] == 'T') {
    const std::string_view ts = Word(line);
    auto t = ParseRfc3339(ts);
    if (!t) {
      Reject(rejection, RejectReason::kBadTime, Cat("syslog timestamp '", ts, "'"));
      return false;
    }
    env->ts_ms = *t;
    rest = line.substr(ts.size());
  } else {
    return false;  // not a syslog line we know: skipped
  }
  if (!StartsWith(rest, " ")) return false;
  rest.remove_prefix(1);
  env->host = Word(rest);
  rest.remove_prefix(std::min(rest.size(), env->host.size() + 1));
  const size_t colon = rest.find(": ");
  if (colon == std::string_view::npos) return false;
  SplitTag(rest.substr(0, colon), &env->program, &env->pid);
  env->message = rest.substr(colon + 2);
  return true;
}

DecodeOutcome SyslogEventDecoder::Fill(const Envelope& env, AuthResult result, std::string_view account,
                                       std::string_view ip, std::string_view protocol, AuthEvent* event,
                                       Rejection* rejection) {
  event->Clear();
  event->ts_ms = env.ts_ms;
  event->result = result;
  event->protocol = protocol;
  // A link-local IPv6 client is logged with its zone ("fe80::1%eth0"); the zone is not part of
  // the address.
  if (const size_t zone = ip.find('%'); zone != std::string_view::npos && ip.find(':') < zone) ip = ip.substr(0, zone);
  const auto addr = ParseClientAddress(ip);
  if (!addr) return Reject(rejection, RejectReason::kBadIp, Cat("'", ip.substr(0, 64), "' is not an IPv4 or IPv6 address"));
  event->ip = *addr;
  if (!account.empty()) {
    if (auto c = NormaliseAccount(account, &event->account); c != AccountCheck::kOk && c != AccountCheck::kEmpty) {
      return Reject(rejection, RejectReason::kBadAccount, std::string(AccountCheckText(c)));
    }
  }
  return DecodeOutcome::kEvent;
}

DecodeOutcome SyslogEventDecoder::Sshd(const Envelope& env, AuthEvent* event, Rejection* rejection) {
  std::string_view m = env.message;
  uint32_t repeat = 1;
  if (StartsWith(m, "message repeated ")) {
    int n = 0;
    const std::string_view count = Word(m.substr(17));
    const size_t open = m.find("[ ");
    if (!Number(count, &n) || n < 1 || open == std::string_view::npos) return DecodeOutcome::kSkipped;
    repeat = static_cast<uint32_t>(std::min<int>(n, kMaxRepeat));
    m = m.substr(open + 2);
    // rsyslog writes "[ <msg>]": the message keeps its leading space, none before the ']'.
    if (!m.empty() && m.back() == ']') m.remove_suffix(1);
    if (!m.empty() && m.back() == ' ') m.remove_suffix(1);
  }
  const uint64_t process = HashCombine(StableHash64(env.host), env.pid);
  const bool failed = StartsWith(m, "Failed ");
  const bool accepted = StartsWith(m, "Accepted ");
  if (failed || accepted) {
    // "Failed password for [invalid user ]U from IP port P ssh2"
    const size_t for_pos = m.find(" for ");
    const size_t from_pos = for_pos == std::string_view::npos ? std::string_view::npos : ClientFrom(m, for_pos);
    if (from_pos == std::string_view::npos) return DecodeOutcome::kSkipped;
    const std::string_view method = m.substr(m.find(' ') + 1, for_pos - m.find(' ') - 1);
    if (method == "none") return DecodeOutcome::kSkipped;  // a probe for allowed methods, not a guess
    // A client offering a key that is not authorised, then its password, is the owner (the
    // Elastic auth.log shows it before every password login); fail2ban ignores it too (gh-1263).
    // A key guessed for an invalid user still counts.
    if (failed && method == "publickey" && !StartsWith(m.substr(for_pos + 5), "invalid user ")) {
      return DecodeOutcome::kSkipped;
    }
    std::string_view user = m.substr(for_pos + 5, from_pos - for_pos - 5);
    bool invalid = false;
    if (StartsWith(user, "invalid user ")) {
      user.remove_prefix(13);
      invalid = true;
    }
    const std::string_view ip = Word(m.substr(from_pos + 6));
    if (failed && invalid) {
      // The "Invalid user" line of this process already counted this attempt.
      if (auto it = invalid_user_pending_.find(process); it != invalid_user_pending_.end()) {
        invalid_user_pending_.erase(it);
        if (repeat == 1) return DecodeOutcome::kSkipped;
        --repeat;
      }
    }
    const DecodeOutcome o = Fill(env, failed ? AuthResult::kFailure : AuthResult::kSuccess, user, ip, "ssh", event, rejection);
    if (o == DecodeOutcome::kEvent) {
      MarkAttempted(process);
      event->repeat = repeat;
      if (failed) event->failure_reason = invalid ? "unknown_user" : "bad_password";
    }
    return o;
  }
  if (StartsWith(m, "Invalid user ")) {
    // "Invalid user U from IP port P": the attempt, also when no password follows (key probes).
    const size_t from_pos = m.rfind(" from ");
    if (from_pos == std::string_view::npos || from_pos < 13) return DecodeOutcome::kSkipped;
    const std::string_view user = m.substr(13, from_pos - 13);
    const DecodeOutcome o = Fill(env, AuthResult::kFailure, user, Word(m.substr(from_pos + 6)), "ssh", event, rejection);
    if (o == DecodeOutcome::kEvent) {
      event->failure_reason = "unknown_user";
      if (invalid_user_pending_.size() >= kMaxPendingProcesses) invalid_user_pending_.clear();
      invalid_user_pending_[process] = env.ts_ms;
      MarkAttempted(process);
    }
    return o;
  }
  // "Connection closed by authenticating user root 1.2.3.4 port 5555 [preauth]"
  for (std::string_view prefix : {"Connection closed by authenticating user ", "Disconnected from authenticating user ",
                                  "Connection closed by invalid user ", "Disconnected from invalid user "}) {
    if (!StartsWith(m, prefix) || m.find("[preauth]") == std::string_view::npos) continue;
    const bool already = attempted_.erase(process) > 0;
    invalid_user_pending_.erase(process);
    if (already) return DecodeOutcome::kSkipped;  // the attempt was counted on its own line
    const size_t port = m.rfind(" port ");
    if (port == std::string_view::npos) return DecodeOutcome::kSkipped;
    const std::string_view head = m.substr(prefix.size(), port - prefix.size());  // "U IP"
    const size_t sp = head.rfind(' ');
    if (sp == std::string_view::npos) return DecodeOutcome::kSkipped;
    const DecodeOutcome o = Fill(env, AuthResult::kFailure, head.substr(0, sp), head.substr(sp + 1), "ssh", event, rejection);
    if (o == DecodeOutcome::kEvent) {
      event->failure_reason = prefix.find("invalid") != std::string_view::npos ? "unknown_user" : "preauth_disconnect";
    }
    return o;
  }
  return DecodeOutcome::kSkipped;  // pam_unix, other Connection closed/Disconnected lines: not attempts
}

void SyslogEventDecoder::MarkAttempted(uint64_t process) {
  if (attempted_.size() >= kMaxPendingProcesses) attempted_.clear();
  attempted_[process] = true;
}

DecodeOutcome SyslogEventDecoder::Dovecot(const Envelope& env, std::string_view m, AuthEvent* event,
                                          Rejection* rejection) {
  // "imap-login: Login: user=<U>, method=PLAIN, rip=IP, lip=..." or the failure forms.
  const size_t login = m.find("-login: ");
  if (login == std::string_view::npos) return DecodeOutcome::kSkipped;  // auth-worker lines repeat the login process'
  std::string_view service = m.substr(0, login);
  if (const size_t sp = service.rfind(' '); sp != std::string_view::npos) service = service.substr(sp + 1);
  const std::string_view protocol = service == "imap" ? "imap" : service == "pop3" ? "pop3"
                                    : service == "submission" ? "smtp" : service == "managesieve" ? "sieve" : "other";
  const std::string_view body = m.substr(login + 8);
  // The user name is the client's text and may hold ">, rip=<addr>,": the address is in the last
  // " rip=" field (only lip, mpid, TLS and session follow it), the user name ends before it.
  // Anchored on its 'r': from the end, '=' would first stop at session=, mpid= and lip=.
  size_t rip = RFind(body, " rip=", 1);
  if (rip == std::string_view::npos && StartsWith(body, "rip=")) rip = 0;
  const std::string_view ip = rip == std::string_view::npos ? std::string_view() : Between(body.substr(rip), "rip=", ',');
  std::string_view user;
  if (const size_t u = body.find("user=<"); u != std::string_view::npos && u < rip) {
    user = body.substr(u + 6, rip - u - 6);
    user = user.substr(0, user.rfind('>'));
  }
  if (StartsWith(body, "Login: ")) return Fill(env, AuthResult::kSuccess, user, ip, protocol, event, rejection);
  const size_t auth_failed = body.find("(auth failed, ");
  if (auth_failed == std::string_view::npos) return DecodeOutcome::kSkipped;
  int attempts = 1;
  if (!Number(Word(body.substr(auth_failed + 14)), &attempts) || attempts < 1) attempts = 1;
  const DecodeOutcome o = Fill(env, AuthResult::kFailure, user, ip, protocol, event, rejection);
  if (o == DecodeOutcome::kEvent) {
    event->repeat = static_cast<uint32_t>(std::min<int>(attempts, kMaxRepeat));
    event->failure_reason = "bad_password";
  }
  return o;
}

DecodeOutcome SyslogEventDecoder::Postfix(const Envelope& env, AuthEvent* event, Rejection* rejection) {
  const std::string_view m = env.message;
  const size_t sasl = m.find(": SASL ");
  const size_t failed = sasl == std::string_view::npos ? sasl : m.find(" authentication failed", sasl);
  if (failed != std::string_view::npos) {
    // "warning: host[IP]: SASL LOGIN authentication failed: ..., sasl_username=U", or
    // "host[IP]:port: SASL ..." with smtpd_client_port_logging.
    const size_t close = m.rfind(']', sasl);
    const size_t open = close == std::string_view::npos ? close : m.rfind('[', close);
    if (open == std::string_view::npos) return DecodeOutcome::kSkipped;
    // The SASL server checked no credential: its connection failed, or the mechanism is not
    // offered. Counting these would turn an outage of the SASL server into a failure for every user.
    const std::string_view reason = m.substr(failed);
    if (reason.find("Connection lost to authentication server") != std::string_view::npos ||
        reason.find("Invalid authentication mechanism") != std::string_view::npos) {
      return DecodeOutcome::kSkipped;
    }
    const std::string_view ip = m.substr(open + 1, close - open - 1);
    const std::string_view user = Between(m.substr(sasl), "sasl_username=", ',');
    const DecodeOutcome o = Fill(env, AuthResult::kFailure, user, ip, "smtp", event, rejection);
    if (o == DecodeOutcome::kEvent) event->failure_reason = "bad_password";
    return o;
  }
  const size_t user_pos = m.find("sasl_username=");
  if (user_pos != std::string_view::npos && m.find("client=") != std::string_view::npos) {
    // "client=host[IP]" or, with smtpd_client_port_logging, "client=host[IP]:port"
    const std::string_view client = Between(m, "client=", ',');
    const size_t close = client.rfind(']');
    const size_t open = close == std::string_view::npos ? close : client.rfind('[', close);
    if (open == std::string_view::npos) return DecodeOutcome::kSkipped;
    const std::string_view ip = client.substr(open + 1, close - open - 1);
    std::string_view user = m.substr(user_pos + 14);
    user = user.substr(0, user.find(','));
    return Fill(env, AuthResult::kSuccess, user, ip, "smtp", event, rejection);
  }
  return DecodeOutcome::kSkipped;
}

DecodeOutcome SyslogEventDecoder::Decode(std::string_view record, AuthEvent* event, Rejection* rejection) {
  if (record.size() > options_.max_record_bytes) {
    return Reject(rejection, RejectReason::kOversize, Cat(record.size(), " bytes, limit ", options_.max_record_bytes));
  }
  Envelope env;
  rejection->detail.clear();
  if (!ParseEnvelope(record, &env, rejection)) {
    return rejection->detail.empty() ? DecodeOutcome::kSkipped : DecodeOutcome::kRejected;
  }
  const std::string_view p = env.program;
  if (p == "sshd" || p == "sshd-session") return Sshd(env, event, rejection);
  if (p == "dovecot") return Dovecot(env, env.message, event, rejection);
  if (p.size() > 6 && p.substr(p.size() - 6) == "-login" && StartsWith(p, "dovecot")) {
    return Dovecot(env, Cat(p.substr(p.rfind('/') + 1), ": ", env.message), event, rejection);
  }
  if (StartsWith(p, "postfix") && p.size() >= 5 && p.substr(p.size() - 5) == "smtpd") return Postfix(env, event, rejection);
  return DecodeOutcome::kSkipped;
}

}  // namespace authwatch
