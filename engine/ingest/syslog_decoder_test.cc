#include "ingest/syslog_decoder.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

#include "core/strings.h"
#include "gtest/gtest.h"

namespace authwatch {
namespace {

namespace fs = std::filesystem;

IpAddress Ip(std::string_view text) { return IpAddress::Parse(text).value(); }
EventTimeMs Ms(std::string_view rfc3339) { return ParseRfc3339(rfc3339).value(); }

std::unique_ptr<SyslogEventDecoder> MakeDecoder(int year = 2026, std::string zone = "UTC", size_t max_bytes = 65536) {
  SyslogOptions o;
  o.year = year;
  o.timezone = std::move(zone);
  o.max_record_bytes = max_bytes;
  auto d = SyslogEventDecoder::Create(o);
  EXPECT_TRUE(d.ok()) << d.status();
  return std::move(d).value();
}

class SyslogDecoderTest : public ::testing::Test {
 protected:
  DecodeOutcome Decode(std::string_view line) { return decoder_->Decode(line, &event_, &rejection_); }

  // Decodes a line that must give an event; false (with the reason printed) otherwise.
  ::testing::AssertionResult Event(std::string_view line) {
    const DecodeOutcome o = Decode(line);
    if (o == DecodeOutcome::kEvent) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << (o == DecodeOutcome::kSkipped ? "skipped" : "rejected: " + rejection_.detail)
                                         << "\n  line: " << line;
  }
  DecodeOutcome Outcome(std::string_view line) { return Decode(line); }
  RejectReason Rejected(std::string_view line) {
    EXPECT_EQ(Decode(line), DecodeOutcome::kRejected) << line;
    EXPECT_FALSE(rejection_.detail.empty()) << line;
    return rejection_.reason;
  }
  // Runs lines through the decoder as one stream; the events they give.
  std::vector<AuthEvent> Stream(const std::vector<std::string_view>& lines) {
    std::vector<AuthEvent> out;
    for (std::string_view l : lines) {
      const DecodeOutcome o = Decode(l);
      EXPECT_NE(o, DecodeOutcome::kRejected) << rejection_.detail << "\n  line: " << l;
      if (o == DecodeOutcome::kEvent) out.push_back(event_);
    }
    return out;
  }
  // Attempts the events stand for (the pipeline counts an event `repeat` times).
  static uint32_t Attempts(const std::vector<AuthEvent>& events) {
    uint32_t n = 0;
    for (const AuthEvent& e : events) n += e.repeat;
    return n;
  }

  std::unique_ptr<SyslogEventDecoder> decoder_ = MakeDecoder();
  AuthEvent event_;
  Rejection rejection_;
};

// ---------------------------------------------------------------------------------------------
// OpenSSH

TEST_F(SyslogDecoderTest, SshdFailedPasswordIpv4) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail sshd[4242]: Failed password for root from 203.0.113.9 port 51234 ssh2"));
  EXPECT_EQ(event_.ts_ms, Ms("2026-11-02T10:00:01Z"));
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  EXPECT_EQ(event_.account, "root");
  EXPECT_EQ(event_.ip, Ip("203.0.113.9"));
  EXPECT_EQ(event_.protocol, "ssh");
  EXPECT_EQ(event_.failure_reason, "bad_password");
  EXPECT_EQ(event_.repeat, 1u);
}

TEST_F(SyslogDecoderTest, SshdFailedPasswordIpv6AndMappedIpv4) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail sshd[4242]: Failed password for alice from 2001:db8::a11:beef:7ac0 port 51234 ssh2"));
  EXPECT_EQ(event_.ip, Ip("2001:db8::a11:beef:7ac0"));
  EXPECT_EQ(event_.account, "alice");
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail sshd[4243]: Failed password for alice from ::ffff:198.51.100.4 port 22 ssh2"));
  EXPECT_EQ(event_.ip, Ip("198.51.100.4"));
}

TEST_F(SyslogDecoderTest, SshdFailedOtherMethodsAndOldForms) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 h sshd[1]: Failed keyboard-interactive/pam for invalid user jamedds from 205.186.180.77 port 33723 ssh2"));
  EXPECT_EQ(event_.account, "jamedds");
  EXPECT_EQ(event_.failure_reason, "unknown_user");
  ASSERT_TRUE(Event("Nov  2 10:00:01 h sshd[2]: Failed publickey for invalid user graysky from 2001:db8::1 port 37955 ssh2: RSA SHA256:v3dpapGleDaUKf$4V1vKyR9ZyUgjaJAmoCTcb2PLljI"));
  EXPECT_EQ(event_.ip, Ip("2001:db8::1"));
  // sshd before 5.x: no port, or no protocol.
  ASSERT_TRUE(Event("Feb 25 14:34:10 belka sshd[31602]: Failed password for invalid user ROOT from 194.117.26.70 port 12345"));
  EXPECT_EQ(event_.ip, Ip("194.117.26.70"));
  EXPECT_EQ(event_.account, "root") << "accounts are lower-cased";
  ASSERT_TRUE(Event("Feb 25 14:34:11 belka sshd[31603]: Failed password for invalid user ROOT from aaaa:bbbb:cccc:1234::1:1"));
  EXPECT_EQ(event_.ip, Ip("aaaa:bbbb:cccc:1234::1:1"));
}

TEST_F(SyslogDecoderTest, SshdAccepted) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail sshd[4242]: Accepted password for alice from 198.51.100.4 port 51234 ssh2"));
  EXPECT_EQ(event_.result, AuthResult::kSuccess);
  EXPECT_EQ(event_.account, "alice");
  EXPECT_EQ(event_.ip, Ip("198.51.100.4"));
  EXPECT_EQ(event_.failure_reason, "");
  ASSERT_TRUE(Event("Nov  2 10:00:02 mail sshd[4243]: Accepted publickey for ubuntu from 2001:db8::7 port 54259 ssh2: RSA SHA256:AbCdEf0123456789"));
  EXPECT_EQ(event_.result, AuthResult::kSuccess);
  EXPECT_EQ(event_.account, "ubuntu");
  EXPECT_EQ(event_.ip, Ip("2001:db8::7"));
}

TEST_F(SyslogDecoderTest, SshdInvalidUser) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail sshd[7001]: Invalid user admin from 203.0.113.9 port 44004"));
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  EXPECT_EQ(event_.account, "admin");
  EXPECT_EQ(event_.ip, Ip("203.0.113.9"));
  EXPECT_EQ(event_.failure_reason, "unknown_user");
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail sshd[7002]: Invalid user ftp from 2001:db8::a11:beef:7ac0"));
  EXPECT_EQ(event_.ip, Ip("2001:db8::a11:beef:7ac0"));
  EXPECT_EQ(event_.account, "ftp");
  // An empty user name (OpenSSH logs two spaces) names no account but is an attempt.
  ASSERT_TRUE(Event("Jun  6 04:17:04 host sshd[1189074]: Invalid user  from 192.0.2.68 port 34916"));
  EXPECT_EQ(event_.account, "");
  EXPECT_EQ(event_.ip, Ip("192.0.2.68"));
}

TEST_F(SyslogDecoderTest, SshdSessionProgramName) {  // OpenSSH 9.8 splits sshd-session out of sshd
  ASSERT_TRUE(Event("Jul  3 14:59:17 host sshd-session[1571]: Failed password for root from 192.0.2.1 port 56502 ssh2"));
  EXPECT_EQ(event_.ip, Ip("192.0.2.1"));
}

TEST_F(SyslogDecoderTest, FailedPasswordSequenceOfOneProcessIsOneAttempt) {
  // What sshd (with UsePAM) writes for one wrong password.
  const auto events = Stream({
      "Nov  2 10:00:01 mail sshd[4242]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
      "Nov  2 10:00:03 mail sshd[4242]: Failed password for root from 203.0.113.9 port 51234 ssh2",
      "Nov  2 10:00:03 mail sshd[4242]: Connection closed by authenticating user root 203.0.113.9 port 51234 [preauth]",
      "Nov  2 10:00:03 mail sshd[4242]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
  });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Attempts(events), 1u);
  EXPECT_EQ(events[0].result, AuthResult::kFailure);
  EXPECT_EQ(events[0].ip, Ip("203.0.113.9"));
}

TEST_F(SyslogDecoderTest, InvalidUserAndItsFailedPasswordAreOneAttempt) {
  const auto events = Stream({
      "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
      "Dec 10 06:55:46 LabSZ sshd[24200]: input_userauth_request: invalid user webmaster [preauth]",
      "Dec 10 06:55:46 LabSZ sshd[24200]: pam_unix(sshd:auth): check pass; user unknown",
      "Dec 10 06:55:46 LabSZ sshd[24200]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=173.234.31.186 ",
      "Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2",
      "Dec 10 06:55:48 LabSZ sshd[24200]: Connection closed by 173.234.31.186 [preauth]",
  });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].account, "webmaster");
  EXPECT_EQ(events[0].failure_reason, "unknown_user");
  // A second password of the same connection is a second attempt.
  const auto more = Stream({"Dec 10 06:55:52 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2"});
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].ip, Ip("173.234.31.186"));
  EXPECT_EQ(more[0].failure_reason, "unknown_user");
}

TEST_F(SyslogDecoderTest, FailedNoneProbeDoesNotUseUpTheInvalidUserLine) {
  const auto events = Stream({
      "Nov  2 10:00:01 h sshd[5]: Invalid user oracle from 203.0.113.9 port 4000",
      "Nov  2 10:00:01 h sshd[5]: Failed none for invalid user oracle from 203.0.113.9 port 4000 ssh2",
      "Nov  2 10:00:02 h sshd[5]: Failed password for invalid user oracle from 203.0.113.9 port 4000 ssh2",
  });
  EXPECT_EQ(Attempts(events), 1u);
}

TEST_F(SyslogDecoderTest, InvalidUserOfAnotherProcessOrHostIsAnotherAttempt) {
  const auto events = Stream({
      "Nov  2 10:00:01 h1 sshd[5]: Invalid user oracle from 203.0.113.9 port 4000",
      "Nov  2 10:00:01 h1 sshd[6]: Failed password for invalid user oracle from 203.0.113.9 port 4001 ssh2",
      "Nov  2 10:00:01 h2 sshd[5]: Failed password for invalid user oracle from 203.0.113.9 port 4002 ssh2",
  });
  EXPECT_EQ(Attempts(events), 3u);
}

TEST_F(SyslogDecoderTest, MessageRepeatedCountsEachRepeat) {
  ASSERT_TRUE(Event("Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 3 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]"));
  EXPECT_EQ(event_.repeat, 3u);
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  EXPECT_EQ(event_.account, "root");
  EXPECT_EQ(event_.ip, Ip("5.36.59.76"));
  ASSERT_TRUE(Event("Dec 10 07:13:57 LabSZ sshd[24228]: message repeated 2 times: [ Failed password for root from 2001:db8::5 port 42393 ssh2]"));
  EXPECT_EQ(event_.repeat, 2u);
  EXPECT_EQ(event_.ip, Ip("2001:db8::5"));
  // Only a failed login is repeated: other repeated lines stay skipped.
  EXPECT_EQ(Outcome("Dec 10 07:13:58 LabSZ sshd[24229]: message repeated 2 times: [ pam_unix(sshd:auth): check pass; user unknown]"),
            DecodeOutcome::kSkipped);
  EXPECT_EQ(Outcome("Dec 10 07:13:58 LabSZ sshd[24229]: message repeated many times: [ Failed password for root from 5.36.59.76 port 1 ssh2]"),
            DecodeOutcome::kSkipped);
}

TEST_F(SyslogDecoderTest, MessageRepeatedAfterInvalidUserCountsEveryRepeat) {
  const auto events = Stream({
      "Nov  2 10:00:01 h sshd[9]: Invalid user test from 203.0.113.9 port 4000",
      "Nov  2 10:00:02 h sshd[9]: Failed password for invalid user test from 203.0.113.9 port 4000 ssh2",
      "Nov  2 10:00:08 h sshd[9]: message repeated 2 times: [ Failed password for invalid user test from 203.0.113.9 port 4000 ssh2]",
  });
  EXPECT_EQ(Attempts(events), 3u);
}

// Bug (fixed): rsyslog writes "message repeated N times: [ <msg>]" with no space before the ']';
// the decoder only stripped " ]", so an old-format line ending in the address was rejected as
// bad_ip ("1.2.3.4]") instead of counted N times.
TEST_F(SyslogDecoderTest, BugMessageRepeatedClosingBracketWithoutSpace) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 h sshd[9]: message repeated 4 times: [ Failed password for root from 198.51.100.4]"));
  EXPECT_EQ(event_.ip, Ip("198.51.100.4"));
  EXPECT_EQ(event_.repeat, 4u);
}

// Bug (fixed): the address was taken after the LAST " from " of the line. The text after
// "ssh2: " is the client's (hostbased client user/host, ssh1 ruser), so a client could have its
// failures counted against any address it chose, e.g. one the allowlist does not cover.
TEST_F(SyslogDecoderTest, BugClientTextAfterTheAddressCannotChooseTheAddress) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 h sshd[12946]: Failed hostbased for dan from 203.0.113.5 port 45785 ssh2: RSA SHA256:AbCd, "
                    "client user \"dan\", client host \"h from 192.0.2.99 x\""));
  EXPECT_EQ(event_.ip, Ip("203.0.113.5"));
  // fail2ban's vectors (ssh1 ruser).
  ASSERT_TRUE(Event("Sep 29 17:15:02 spaceman sshd[12946]: Failed password for user from 127.0.0.1 port 20000 ssh1: ruser from 1.2.3.4"));
  EXPECT_EQ(event_.ip, Ip("127.0.0.1"));
  EXPECT_EQ(event_.account, "user");
}

TEST_F(SyslogDecoderTest, UserNameHoldingFromAddressCannotChooseTheAddress) {
  // The user name is the client's text too: the address is the one followed by the port and
  // the end of the line.
  ASSERT_TRUE(Event("Nov 11 08:04:51 redbamboo sshd[2737]: Failed password for invalid user from 10.10.1.1 from 127.0.0.1 port 58946 ssh2"));
  EXPECT_EQ(event_.ip, Ip("127.0.0.1"));
  EXPECT_EQ(event_.account, "from 10.10.1.1");
  ASSERT_TRUE(Event("Nov 11 08:04:52 redbamboo sshd[2738]: Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2"));
  EXPECT_EQ(event_.ip, Ip("127.0.0.1"));
  // User name "x from 192.0.2.99 port 1 ssh2: y": OpenSSH appends nothing after "ssh2" for a
  // password, so the last address is the client's.
  ASSERT_TRUE(Event("Nov 11 08:04:53 redbamboo sshd[2739]: Failed password for invalid user x from 192.0.2.99 port 1 ssh2: y from 203.0.113.5 port 58946 ssh2"));
  EXPECT_EQ(event_.ip, Ip("203.0.113.5"));
  ASSERT_TRUE(Event("Nov 11 08:04:54 redbamboo sshd[2740]: Invalid user x from 192.0.2.99 port 1 from 203.0.113.5 port 58946"));
  EXPECT_EQ(event_.ip, Ip("203.0.113.5"));
}

// Bug (fixed): sshd logs a link-local IPv6 client with its zone ("%eth0"); the line was rejected
// as bad_ip instead of counted.
TEST_F(SyslogDecoderTest, BugIpv6ZoneIndex) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 h sshd[1]: Failed password for root from fe80::a11:beef:7ac0%enp3s0 port 14423 ssh2"));
  EXPECT_EQ(event_.ip, Ip("fe80::a11:beef:7ac0"));
  ASSERT_TRUE(Event("Nov  2 10:00:01 h sshd[2]: Invalid user inexu from 2001:db8::a11:beef:7ac0%abcdefgh1234567"));
  EXPECT_EQ(event_.ip, Ip("2001:db8::a11:beef:7ac0"));
  // A '%' in an IPv4 address is still an error.
  EXPECT_EQ(Rejected("Nov  2 10:00:01 h sshd[3]: Failed password for root from 192.0.2.1%eth0 port 1 ssh2"), RejectReason::kBadIp);
}

TEST_F(SyslogDecoderTest, SshdLinesThatAreNotAttemptsAreSkipped) {
  for (std::string_view line : {
           "Nov  2 10:00:01 mail sshd[4242]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.9  user=root",
           "Nov  2 10:00:01 mail sshd[4242]: pam_unix(sshd:auth): check pass; user unknown",
           "Nov  2 10:00:01 mail sshd[4242]: pam_unix(sshd:session): session opened for user alice by (uid=0)",
           "Nov  2 10:00:01 mail sshd[4242]: Connection closed by 203.0.113.9 port 51234 [preauth]",
           "Nov  2 10:00:01 mail sshd[4242]: Received disconnect from 203.0.113.9 port 51234:11: Bye Bye [preauth]",
           "Nov  2 10:00:01 mail sshd[4242]: Failed none for invalid user admin from 203.0.113.9 port 51234 ssh2",
           "Nov  2 10:00:01 mail sshd[4242]: input_userauth_request: invalid user admin [preauth]",
           "Nov  2 10:00:01 mail sshd[4242]: error: maximum authentication attempts exceeded for root from 203.0.113.9 port 51234 ssh2 [preauth]",
           "Nov  2 10:00:01 mail sshd[4242]: Server listening on 0.0.0.0 port 22.",
           "Nov  2 10:00:01 mail sshd[4242]: reverse mapping checking getaddrinfo for x.example [203.0.113.9] failed - POSSIBLE BREAK-IN ATTEMPT!",
           "Nov  2 10:00:01 mail sshd[4242]: Failed password",
           "Nov  2 10:00:01 mail sshd[4242]: Failed password for root",
           "Nov  2 10:00:01 mail sshd[4242]: Invalid user",
       }) {
    EXPECT_EQ(Outcome(line), DecodeOutcome::kSkipped) << line << "\n  " << rejection_.detail;
  }
}

// ---------------------------------------------------------------------------------------------
// Dovecot

TEST_F(SyslogDecoderTest, DovecotLoginSuccess) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail dovecot: imap-login: Login: user=<alice@mail.example>, method=PLAIN, rip=198.51.100.4, lip=192.0.2.1, mpid=12345, TLS, session=<AbCd>"));
  EXPECT_EQ(event_.result, AuthResult::kSuccess);
  EXPECT_EQ(event_.account, "alice@mail.example");
  EXPECT_EQ(event_.ip, Ip("198.51.100.4"));
  EXPECT_EQ(event_.protocol, "imap");
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail dovecot[241]: pop3-login: Login: user=<bob>, method=PLAIN, rip=2001:db8::44, lip=2001:db8::1, mpid=1, session=<x>"));
  EXPECT_EQ(event_.protocol, "pop3");
  EXPECT_EQ(event_.ip, Ip("2001:db8::44"));
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail dovecot: submission-login: Login: user=<carol>, method=LOGIN, rip=198.51.100.5, lip=192.0.2.1"));
  EXPECT_EQ(event_.protocol, "smtp");
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail dovecot: managesieve-login: Login: user=<carol>, method=PLAIN, rip=198.51.100.5, lip=192.0.2.1"));
  EXPECT_EQ(event_.protocol, "sieve");
}

TEST_F(SyslogDecoderTest, DovecotAuthFailedCountsItsAttempts) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail dovecot: imap-login: Disconnected (auth failed, 3 attempts in 8 secs): user=<alice@mail.example>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, TLS, session=<q454>"));
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  EXPECT_EQ(event_.repeat, 3u);
  EXPECT_EQ(event_.account, "alice@mail.example");
  EXPECT_EQ(event_.ip, Ip("203.0.113.9"));
  EXPECT_EQ(event_.failure_reason, "bad_password");
  ASSERT_TRUE(Event("Jul 02 13:49:31 hostname dovecot[442]: pop3-login: Aborted login (auth failed, 1 attempts in 17 secs): user=<test>, method=PLAIN, rip=2001:db8::9, lip=203.0.113.17, session=<Y>"));
  EXPECT_EQ(event_.repeat, 1u);
  EXPECT_EQ(event_.protocol, "pop3");
  EXPECT_EQ(event_.ip, Ip("2001:db8::9"));
  // Dovecot 2.4
  ASSERT_TRUE(Event("Jun 12 19:07:29 hostname dovecot[241]: imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<test>, method=PLAIN, rip=192.0.2.241, lip=203.0.113.104, TLS, session=<9ZHq>"));
  EXPECT_EQ(event_.repeat, 3u);
  // No user named: an attempt without an account.
  ASSERT_TRUE(Event("Jun 14 00:48:21 platypus dovecot: imap-login: Disconnected (auth failed, 1 attempts): method=PLAIN, rip=59.167.242.100, lip=113.212.99.194, TLS: Disconnected"));
  EXPECT_EQ(event_.account, "");
  EXPECT_EQ(event_.ip, Ip("59.167.242.100"));
}

TEST_F(SyslogDecoderTest, DovecotLoginAndAuthProcessLinesOfOneAttemptAreOne) {
  const auto events = Stream({
      "Nov  2 10:00:01 mail dovecot: auth-worker(304): pam(alice,203.0.113.9): pam_authenticate() failed: Authentication failure (password mismatch?)",
      "Nov  2 10:00:01 mail dovecot: auth: passwd-file(alice,203.0.113.9): Password mismatch",
      "Nov  2 10:00:03 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<alice>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1",
  });
  EXPECT_EQ(Attempts(events), 1u);
}

TEST_F(SyslogDecoderTest, DovecotLinesThatAreNotAttemptsAreSkipped) {
  for (std::string_view line : {
           "Jun 13 20:48:11 platypus dovecot: pop3-login: Disconnected (no auth attempts): rip=121.44.24.254, lip=113.212.99.194, TLS: Disconnected",
           "Dec 12 11:19:11 dunnart dovecot: pop3-login: Aborted login (tried to use disallowed plaintext auth): rip=190.210.136.21, lip=113.212.99.193",
           "Nov  2 10:00:01 mail dovecot: imap(alice)<123><abc>: Logged out in=12 out=345",
           "Nov  2 10:00:01 mail dovecot: master: Dovecot v2.3.19 starting up",
       }) {
    EXPECT_EQ(Outcome(line), DecodeOutcome::kSkipped) << line;
  }
}

// Bug (fixed): the address was the first "rip=" of the line, and the user name before it is the
// client's text: user name "x>, method=PLAIN, rip=192.0.2.99, lip=1.1.1.1, y" made the failure
// count against 192.0.2.99.
TEST_F(SyslogDecoderTest, BugDovecotUserNameCannotChooseTheAddress) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): "
                    "user=<x>, method=PLAIN, rip=192.0.2.99, lip=1.1.1.1, y>, method=PLAIN, rip=203.0.113.5, lip=192.0.2.1, TLS"));
  EXPECT_EQ(event_.ip, Ip("203.0.113.5"));
  EXPECT_EQ(event_.account, "x>, method=plain, rip=192.0.2.99, lip=1.1.1.1, y");
}

// ---------------------------------------------------------------------------------------------
// Postfix

TEST_F(SyslogDecoderTest, PostfixSaslFailure) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail postfix/submission/smtpd[11538]: warning: unknown[82.221.106.233]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"));
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  EXPECT_EQ(event_.ip, Ip("82.221.106.233"));
  EXPECT_EQ(event_.account, "");
  EXPECT_EQ(event_.protocol, "smtp");
  ASSERT_TRUE(Event("Nov  4 09:11:01 mail postfix/smtpd[1234]: warning: unknown[192.0.2.152]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=Admin"));
  EXPECT_EQ(event_.account, "admin");
  ASSERT_TRUE(Event("Oct 19 19:56:07 longbeach postfix/smtpd[2309]: warning: unknown[2001:db8::a11:beef:7ac0]: SASL PLAIN authentication failed: authentication failure"));
  EXPECT_EQ(event_.ip, Ip("2001:db8::a11:beef:7ac0"));
}

TEST_F(SyslogDecoderTest, PostfixSaslSuccess) {
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail postfix/submission/smtpd[2001]: 4A5B6C7D8E: client=c-1.example.net[198.51.100.4], sasl_method=PLAIN, sasl_username=alice@mail.example"));
  EXPECT_EQ(event_.result, AuthResult::kSuccess);
  EXPECT_EQ(event_.account, "alice@mail.example");
  EXPECT_EQ(event_.ip, Ip("198.51.100.4"));
  EXPECT_EQ(event_.protocol, "smtp");
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail postfix/smtpd[2002]: 4A5B6C7D8F: client=unknown[2001:db8::4], sasl_method=LOGIN, sasl_username=bob"));
  EXPECT_EQ(event_.ip, Ip("2001:db8::4"));
}

// Bug (fixed): with smtpd_client_port_logging=yes Postfix writes "host[IP]:port"; SASL failures
// were skipped (not recognised) and SASL successes rejected as bad_ip ("1.2.3.4]:5555").
TEST_F(SyslogDecoderTest, BugPostfixClientPortLogging) {
  ASSERT_TRUE(Event("Aug  4 16:47:52 mail3 postfix/smtpd[31152]: warning: unknown[192.0.2.237]:55729: SASL LOGIN authentication failed: authentication failure"));
  EXPECT_EQ(event_.ip, Ip("192.0.2.237"));
  EXPECT_EQ(event_.result, AuthResult::kFailure);
  ASSERT_TRUE(Event("Aug  4 16:47:53 mail3 postfix/smtpd[31152]: 4A5B6C: client=unknown[192.0.2.238]:55730, sasl_method=PLAIN, sasl_username=alice"));
  EXPECT_EQ(event_.ip, Ip("192.0.2.238"));
  EXPECT_EQ(event_.result, AuthResult::kSuccess);
}

// Bug (fixed): "authentication failed: Connection lost to authentication server" means the SASL
// server (Dovecot, saslauthd) was unreachable and no password was checked; counting it made an
// outage of the SASL server a failed login of every user who tried to send (fail2ban ignores it
// for the same reason). Likewise for a mechanism the server does not offer.
TEST_F(SyslogDecoderTest, BugPostfixSaslServerOutageIsNotAFailedLogin) {
  EXPECT_EQ(Outcome("Feb  3 08:29:28 mail postfix/smtpd[21022]: warning: unknown[1.1.1.1]: SASL LOGIN authentication failed: Connection lost to authentication server"),
            DecodeOutcome::kSkipped);
  EXPECT_EQ(Outcome("Jan 14 16:18:16 xxx postfix/smtpd[14933]: warning: host[192.0.2.5]: SASL CRAM-MD5 authentication failed: Invalid authentication mechanism"),
            DecodeOutcome::kSkipped);
}

TEST_F(SyslogDecoderTest, PostfixLinesThatAreNotLoginsAreSkipped) {
  for (std::string_view line : {
           "Nov  2 10:00:01 mail postfix/smtpd[1]: connect from unknown[203.0.113.9]",
           "Nov  2 10:00:01 mail postfix/smtpd[1]: lost connection after AUTH from unknown[203.0.113.9]",
           "Nov  2 10:00:01 mail postfix/smtpd[1]: disconnect from unknown[203.0.113.9] ehlo=1 auth=0/1 quit=1 commands=2/3",
           "Nov  2 10:00:01 mail postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[203.0.113.9]: 554 5.7.1 Relay access denied",
           "Nov  2 10:00:01 mail postfix/smtpd[1]: 4A5B6C: client=unknown[203.0.113.9]",
           "Nov  2 10:00:01 mail postfix/qmgr[2]: 4A5B6C: from=<a@b>, size=1, nrcpt=1 (queue active)",
       }) {
    EXPECT_EQ(Outcome(line), DecodeOutcome::kSkipped) << line;
  }
}

// ---------------------------------------------------------------------------------------------
// Other programs, rejections, robustness

TEST_F(SyslogDecoderTest, OtherProgramsAreSkipped) {
  for (std::string_view line : {
           "Mar 27 13:17:01 ip-10-77-20-248 CRON[1466]: pam_unix(cron:session): session opened for user root by (uid=0)",
           "Mar 27 13:17:01 ip-10-77-20-248 CRON[1467]: (root) CMD (   cd / && run-parts --report /etc/cron.hourly)",
           "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4",
           "Mar 27 13:08:09 ip-10-77-20-248 sudo:   ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root ; COMMAND=/bin/ls",
           "Mar 27 13:06:56 ip-10-77-20-248 systemd-logind[1118]: New session 1 of user ubuntu.",
           "Nov  2 10:00:01 mail kernel: [  970.699396] eth0: link up",
           "not a syslog line at all",
           "",
       }) {
    EXPECT_EQ(Outcome(line), DecodeOutcome::kSkipped) << line << "\n  " << rejection_.detail;
  }
}

// The tag ends at the first ": ": a colon inside it, or one that ends the line, is not its end.
TEST_F(SyslogDecoderTest, TagEndsAtColonSpace) {
  EXPECT_EQ(Outcome("Nov  2 10:00:01 mail sshd[4242]:"), DecodeOutcome::kSkipped);
  EXPECT_EQ(Outcome("Nov  2 10:00:01 mail sshd[4242]:Failed password for root from 203.0.113.9 port 1 ssh2"),
            DecodeOutcome::kSkipped);
  EXPECT_EQ(Outcome("Nov  2 10:00:01 mail sshd:x[4242]: Failed password for root from 203.0.113.9 port 1 ssh2"),
            DecodeOutcome::kSkipped)
      << "program sshd:x";
  ASSERT_TRUE(Event("Nov  2 10:00:01 mail sshd[4242]: Failed password for root from 203.0.113.9 port 1 ssh2: x"));
  EXPECT_EQ(event_.ip, Ip("203.0.113.9"));
}

TEST_F(SyslogDecoderTest, AuthLineWithBadAddressIsRejected) {
  EXPECT_EQ(Rejected("Nov  2 10:00:01 h sshd[1]: Failed password for root from 999.1.1.1 port 22 ssh2"), RejectReason::kBadIp);
  EXPECT_NE(rejection_.detail.find("999.1.1.1"), std::string::npos) << rejection_.detail;
  EXPECT_EQ(Rejected("Nov  2 10:00:01 h sshd[1]: Invalid user x from not-an-address"), RejectReason::kBadIp);
  EXPECT_EQ(Rejected("Nov  2 10:00:01 h dovecot: imap-login: Login: user=<a>, method=PLAIN, rip=1.2.3, lip=192.0.2.1"), RejectReason::kBadIp);
  EXPECT_EQ(Rejected("Nov  2 10:00:01 h postfix/smtpd[1]: warning: unknown[300.1.2.3]: SASL LOGIN authentication failed: x"), RejectReason::kBadIp);
}

TEST_F(SyslogDecoderTest, GarbageTimestampIsRejected) {
  EXPECT_EQ(Rejected("Nov 42 99:00:00 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2"), RejectReason::kBadTime);
  EXPECT_EQ(Rejected("Nov  2 10:61:00 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2"), RejectReason::kBadTime);
  EXPECT_EQ(Rejected("2026-13-45T10:00:01Z h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2"), RejectReason::kBadTime);
  EXPECT_EQ(Rejected("<38>1 yesterday h sshd 1 - - Failed password for root from 192.0.2.1 port 22 ssh2"), RejectReason::kBadTime);
  EXPECT_EQ(Rejected(R"j({"__REALTIME_TIMESTAMP":"soon","MESSAGE":"Failed password for root from 192.0.2.1 port 22 ssh2","SYSLOG_IDENTIFIER":"sshd"})j"),
            RejectReason::kBadTime);
}

TEST_F(SyslogDecoderTest, BrokenJournalRecordsAreRejected) {
  EXPECT_EQ(Rejected(R"j({"__REALTIME_TIMESTAMP":"1793613601000000","MESSAGE":)j"), RejectReason::kInvalidJson);
  EXPECT_EQ(Rejected(R"j({"__REALTIME_TIMESTAMP":"1793613601000000","SYSLOG_IDENTIFIER":"sshd"})j"), RejectReason::kMissingField);
}

TEST_F(SyslogDecoderTest, OversizeLineIsRejected) {
  decoder_ = MakeDecoder(2026, "UTC", 200);
  std::string line = "Nov  2 10:00:01 h sshd[1]: Failed password for ";
  line.append(300, 'a').append(" from 192.0.2.1 port 22 ssh2");
  EXPECT_EQ(Rejected(line), RejectReason::kOversize);
  EXPECT_TRUE(Event("Nov  2 10:00:01 h sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2")) << "the next line is fine";
}

TEST_F(SyslogDecoderTest, BinaryGarbageNeverCrashes) {
  std::mt19937_64 rng(20261102);
  const std::vector<std::string> seeds = {
      "Nov  2 10:00:01 mail sshd[4242]: Failed password for invalid user x from 203.0.113.9 port 1 ssh2",
      "Nov  2 10:00:01 mail sshd[4242]: message repeated 3 times: [ Failed password for root from 203.0.113.9 port 1 ssh2]",
      "Nov  2 10:00:01 mail sshd[4242]: Invalid user x from 203.0.113.9 port 1",
      "<38>1 2026-11-02T10:00:01Z mail sshd 4242 - [a b=\"[x]\\\"\"] Accepted password for a from 2001:db8::1 port 1 ssh2",
      "2026-11-02T10:00:01.123+01:00 mail dovecot: imap-login: Disconnected (auth failed, 3 attempts in 8 secs): user=<a>, rip=192.0.2.1, lip=x",
      "Nov  2 10:00:01 mail postfix/smtpd[1]: warning: unknown[192.0.2.1]:25: SASL LOGIN authentication failed: x, sasl_username=a",
      "Nov  2 10:00:01 mail postfix/smtpd[1]: 4A: client=unknown[192.0.2.1]:25, sasl_method=PLAIN, sasl_username=a",
      R"j({"__REALTIME_TIMESTAMP":"1793613601000000","_HOSTNAME":"m","SYSLOG_IDENTIFIER":"sshd","_PID":"1","MESSAGE":"Invalid user a from 192.0.2.1"})j",
  };
  int events = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string line;
    if (i % 3 == 0) {  // random bytes
      line.resize(rng() % 300);
      for (char& c : line) c = static_cast<char>(rng());
    } else {  // a valid line, mutated or cut
      line = seeds[rng() % seeds.size()];
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits && !line.empty(); ++e) {
        const size_t at = rng() % line.size();
        switch (rng() % 4) {
          case 0: line[at] = static_cast<char>(rng()); break;
          case 1: line.erase(at, 1 + rng() % 8); break;
          case 2: line.resize(at); break;
          default: line.insert(at, std::string(1 + rng() % 3, "[]<>\":% \\{"[rng() % 10])); break;
        }
      }
    }
    const DecodeOutcome o = Decode(line);
    if (o == DecodeOutcome::kRejected) {
      EXPECT_FALSE(rejection_.detail.empty()) << line;
    }
    if (o == DecodeOutcome::kEvent) ++events;
  }
  EXPECT_GT(events, 0) << "some mutated lines should still decode";
}

// ---------------------------------------------------------------------------------------------
// Envelopes and time

constexpr std::string_view kFailed = "Failed password for root from 192.0.2.1 port 22 ssh2";

TEST_F(SyslogDecoderTest, Rfc3164WithPriorityAndYearOption) {
  ASSERT_TRUE(Event(Cat("<38>Nov  2 10:00:01 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-11-02T10:00:01Z"));
  decoder_ = MakeDecoder(2024);
  ASSERT_TRUE(Event(Cat("Feb 29 23:59:59 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2024-02-29T23:59:59Z"));
  // rsyslog's "high precision" classic stamp with a fraction.
  ASSERT_TRUE(Event(Cat("Mar  1 00:00:00.250 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2024-03-01T00:00:00Z"));
}

TEST_F(SyslogDecoderTest, Rfc3164NewYearRollover) {
  decoder_ = MakeDecoder(2025);
  ASSERT_TRUE(Event(Cat("Dec 31 23:59:58 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2025-12-31T23:59:58Z"));
  ASSERT_TRUE(Event(Cat("Jan  1 00:00:01 mail sshd[2]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-01-01T00:00:01Z"));
  // A late line from December after January's first lines is still last year's.
  ASSERT_TRUE(Event(Cat("Dec 31 23:59:59 mail sshd[3]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2025-12-31T23:59:59Z"));
  ASSERT_TRUE(Event(Cat("Jan  1 00:00:02 mail sshd[4]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-01-01T00:00:02Z"));
  // Skipped lines move the clock too: the rollover is seen on whatever line crosses it.
  decoder_ = MakeDecoder(2025);
  EXPECT_EQ(Outcome("Dec 31 23:59:00 mail CRON[9]: (root) CMD (true)"), DecodeOutcome::kSkipped);
  EXPECT_EQ(Outcome("Jan  1 00:00:00 mail CRON[9]: (root) CMD (true)"), DecodeOutcome::kSkipped);
  ASSERT_TRUE(Event(Cat("Jan  1 00:00:05 mail sshd[5]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-01-01T00:00:05Z"));
}

TEST_F(SyslogDecoderTest, Rfc3164FixedOffsetZone) {
  decoder_ = MakeDecoder(2026, "+01:00");
  ASSERT_TRUE(Event(Cat("Nov  2 10:00:01 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-11-02T09:00:01Z"));
  decoder_ = MakeDecoder(2026, "-05:30");
  ASSERT_TRUE(Event(Cat("Nov  2 10:00:01 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-11-02T15:30:01Z"));
}

TEST_F(SyslogDecoderTest, Rfc3164IanaZoneWithDaylightSaving) {
  decoder_ = MakeDecoder(2026, "Europe/Berlin");
  ASSERT_TRUE(Event(Cat("Jan 15 12:00:00 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-01-15T11:00:00Z")) << "CET, +01:00";
  ASSERT_TRUE(Event(Cat("Jul 15 12:00:00 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-07-15T10:00:00Z")) << "CEST, +02:00";
  // 2026-03-29: 02:00 CET becomes 03:00 CEST.
  decoder_ = MakeDecoder(2026, "Europe/Berlin");
  ASSERT_TRUE(Event(Cat("Mar 29 01:59:59 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-03-29T00:59:59Z"));
  ASSERT_TRUE(Event(Cat("Mar 29 03:00:00 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-03-29T01:00:00Z"));
  // 2026-10-25: 03:00 CEST becomes 02:00 CET. (A new decoder: March to October is a jump the
  // year inference reads as a late line from the year before.)
  decoder_ = MakeDecoder(2026, "Europe/Berlin");
  ASSERT_TRUE(Event(Cat("Oct 25 01:30:00 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-10-24T23:30:00Z"));
  ASSERT_TRUE(Event(Cat("Oct 25 03:30:00 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-10-25T02:30:00Z"));
}

TEST_F(SyslogDecoderTest, UnknownZoneIsAnError) {
  SyslogOptions o;
  o.timezone = "Mars/Olympus_Mons";
  EXPECT_FALSE(SyslogEventDecoder::Create(o).ok());
  o.timezone = "+1x:00";
  EXPECT_FALSE(SyslogEventDecoder::Create(o).ok());
}

// Bug (fixed): BusyBox syslogd and some BSDs do not pad a one-digit day ("Feb 7 16:01:07"); such
// lines were rejected as bad_time, auth lines and all.
TEST_F(SyslogDecoderTest, BugUnpaddedDay) {
  ASSERT_TRUE(Event(Cat("Aug 3 15:30:49 ksusha sshd[17041]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-08-03T15:30:49Z"));
  EXPECT_EQ(event_.ip, Ip("192.0.2.1"));
  EXPECT_EQ(Outcome("Feb 7 16:01:07 linux-m899 CRON[5106]: (root) CMD (true)"), DecodeOutcome::kSkipped);
}

TEST_F(SyslogDecoderTest, Rfc3339StampedRsyslogLines) {
  ASSERT_TRUE(Event(Cat("2026-11-02T10:00:01.123456+01:00 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-11-02T09:00:01.123Z"));
  ASSERT_TRUE(Event("2026-11-02T10:00:01Z mail dovecot: imap-login: Login: user=<a>, method=PLAIN, rip=2001:db8::2, lip=2001:db8::1"));
  EXPECT_EQ(event_.ts_ms, Ms("2026-11-02T10:00:01Z"));
  EXPECT_EQ(event_.ip, Ip("2001:db8::2"));
  // The zone is in the stamp: the configured zone does not apply.
  decoder_ = MakeDecoder(2020, "Europe/Berlin");
  ASSERT_TRUE(Event(Cat("2026-11-02T10:00:01-04:00 mail sshd[1]: ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-11-02T14:00:01Z"));
}

TEST_F(SyslogDecoderTest, Rfc5424WithoutStructuredData) {
  ASSERT_TRUE(Event(Cat("<38>1 2026-11-02T10:00:01.5Z mail.example sshd 4242 - - ", kFailed)));
  EXPECT_EQ(event_.ts_ms, Ms("2026-11-02T10:00:01.500Z"));
  EXPECT_EQ(event_.ip, Ip("192.0.2.1"));
  ASSERT_TRUE(Event("<38>1 2019-07-08T17:40:16.954167-04:00 hostname.example.com sshd 57915 - - Failed unknown for invalid user redmond from 192.0.2.1 port 59197 ssh2"));
  EXPECT_EQ(event_.ts_ms, Ms("2019-07-08T21:40:16.954Z"));
  EXPECT_EQ(event_.account, "redmond");
  // With a BOM before the message, and a dovecot line.
  ASSERT_TRUE(Event("<22>1 2026-11-02T10:00:01Z mail dovecot 77 - - \xEF\xBB\xBFimap-login: Login: user=<a>, method=PLAIN, rip=192.0.2.7, lip=192.0.2.1"));
  EXPECT_EQ(event_.ip, Ip("192.0.2.7"));
}

TEST_F(SyslogDecoderTest, Rfc5424WithStructuredData) {
  ASSERT_TRUE(Event(Cat("<38>1 2026-11-02T10:00:01Z mail sshd 4242 ID47 [timeQuality tzKnown=\"1\" isSynced=\"0\"][origin ip=\"192.0.2.100\"] ", kFailed)));
  EXPECT_EQ(event_.ip, Ip("192.0.2.1"));
  EXPECT_EQ(event_.account, "root");
}

// Bug (fixed): a structured-data element ended at the first ']', also inside a quoted value;
// fail2ban's gh-2309 sample ('test="[brackets]"') left '"] Failed ...' as the message and the
// attempt was skipped.
TEST_F(SyslogDecoderTest, BugRfc5424BracketInStructuredDataValue) {
  ASSERT_TRUE(Event("<38>1 2019-07-08T17:40:17.954167-04:00 hostname.example.com sshd 55555 - [timeQuality tzKnown=\"1\" isSynced=\"0\"]"
                    "[xxx@123 test=\"[brackets]\"] Failed unknown for invalid user redmond from 192.0.2.2 port 55555 ssh2"));
  EXPECT_EQ(event_.ip, Ip("192.0.2.2"));
  ASSERT_TRUE(Event(Cat("<38>1 2026-11-02T10:00:01Z mail sshd 1 - [a@1 v=\"x\\]y\\\"z]\"] ", kFailed)));
  EXPECT_EQ(event_.ip, Ip("192.0.2.1"));
  // An element that never closes: not a line we can read.
  EXPECT_EQ(Outcome(Cat("<38>1 2026-11-02T10:00:01Z mail sshd 1 - [a@1 v=\"]] ", kFailed)), DecodeOutcome::kSkipped);
}

TEST_F(SyslogDecoderTest, JournalJsonExport) {
  ASSERT_TRUE(Event(R"j({"__CURSOR":"s=1","__REALTIME_TIMESTAMP":"1793613601123456","_HOSTNAME":"mail","SYSLOG_IDENTIFIER":"sshd","_PID":"4242",)j"
                    R"j("MESSAGE":"Failed password for root from 2001:db8::9 port 22 ssh2"})j"));
  EXPECT_EQ(event_.ts_ms, 1793613601123);
  EXPECT_EQ(event_.ip, Ip("2001:db8::9"));
  // The process is _PID: an Invalid user line and its Failed line are one attempt.
  const auto events = Stream({
      R"j({"__REALTIME_TIMESTAMP":"1793613602000000","_HOSTNAME":"mail","SYSLOG_IDENTIFIER":"sshd","_PID":"77","MESSAGE":"Invalid user bob from 192.0.2.8 port 4"})j",
      R"j({"__REALTIME_TIMESTAMP":"1793613603000000","_HOSTNAME":"mail","SYSLOG_IDENTIFIER":"sshd","_PID":"77","MESSAGE":"Failed password for invalid user bob from 192.0.2.8 port 4 ssh2"})j",
      R"j({"__REALTIME_TIMESTAMP":"1793613604000000","_HOSTNAME":"mail","SYSLOG_IDENTIFIER":"dovecot","_PID":"5","MESSAGE":"imap-login: Login: user=<carol>, method=PLAIN, rip=192.0.2.9, lip=192.0.2.1"})j",
      R"j({"__REALTIME_TIMESTAMP":"1793613605000000","_HOSTNAME":"mail","SYSLOG_IDENTIFIER":"CRON","_PID":"6","MESSAGE":"(root) CMD (true)"})j",
  });
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].account, "bob");
  EXPECT_EQ(events[1].result, AuthResult::kSuccess);
  EXPECT_EQ(events[1].protocol, "imap");
}

// ---------------------------------------------------------------------------------------------
// The peers' real logs (../shared/data/real, read in place; skipped when absent).

fs::path RealLogs() {
  if (const char* env = std::getenv("AUTHWATCH_REAL_LOGS")) return env;
  return fs::path(AUTHWATCH_SOURCE_DIR) / ".." / "shared" / "data" / "real";
}

// The sshd part of a line: pid and message ("message repeated N times: [ ...]" unwrapped, N in
// *repeat); false for other lines. Deliberately simpler than the decoder.
bool SshdMessage(std::string_view line, std::string* pid, std::string_view* msg, int* repeat) {
  size_t p = line.find(" sshd[");
  size_t skip = 6;
  if (p == std::string_view::npos) {
    p = line.find(" sshd-session[");
    skip = 14;
  }
  if (p == std::string_view::npos) return false;
  const size_t close = line.find("]: ", p);
  if (close == std::string_view::npos) return false;
  *pid = std::string(line.substr(p + skip, close - p - skip));
  *msg = line.substr(close + 3);
  *repeat = 1;
  if (msg->substr(0, 17) == "message repeated ") {
    *repeat = std::atoi(std::string(msg->substr(17, 6)).c_str());
    const size_t open = msg->find("[ ");
    if (open == std::string_view::npos || msg->back() != ']') return false;
    *msg = msg->substr(open + 2, msg->size() - open - 3);
  }
  return true;
}

// The address after the only " from " of a message when " port " follows it; empty otherwise
// (lines with several " from " are the injection vectors the unit tests above cover).
std::string OnlyFromAddress(std::string_view msg) {
  const size_t f = msg.find(" from ");
  if (f == std::string_view::npos || msg.find(" from ", f + 1) != std::string_view::npos) return "";
  std::string_view rest = msg.substr(f + 6);
  const std::string_view addr = rest.substr(0, rest.find(' '));
  if (rest.substr(addr.size(), 6) != " port ") return "";
  return std::string(addr);
}

// Must hold on every real log: no crash; every sshd "Failed <method> for U from IP port N ..."
// line (method not "none") gives a failure for IP (N of them for "message repeated N times"),
// or is the Failed line of an "Invalid user" line of the same process that gave a failure for
// IP; every "Accepted" line gives a success for its address.
TEST(SyslogRealLogsTest, EverySshdFailedAndAcceptedLineIsCounted) {
  const fs::path root = RealLogs();
  const std::vector<fs::path> files = {root / "loghub-ssh" / "OpenSSH_2k.log", root / "elastic-auth" / "auth.log",
                                       root / "loghub-linux" / "Linux.log", root / "fail2ban-samples" / "logs" / "sshd"};
  if (!fs::exists(files[0])) GTEST_SKIP() << root << " is not there (the shared real-log data)";
  int checked = 0;
  for (const fs::path& file : files) {
    if (!fs::exists(file)) continue;
    auto decoder = MakeDecoder(2017);
    std::ifstream in(file);
    std::string line;
    int n = 0;
    std::map<std::string, IpAddress> invalid_user;  // pid -> address counted on its Invalid user line
    while (std::getline(in, line)) {
      ++n;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      AuthEvent ev;
      Rejection rej;
      const DecodeOutcome o = decoder->Decode(line, &ev, &rej);
      std::string pid;
      std::string_view msg;
      int repeat = 1;
      if (line.empty() || line[0] == '#' || !SshdMessage(line, &pid, &msg, &repeat)) continue;
      const auto ip = IpAddress::Parse(OnlyFromAddress(msg));
      const std::string where = file.filename().string() + ":" + std::to_string(n) + ": " + line;
      if (msg.substr(0, 13) == "Invalid user " && o == DecodeOutcome::kEvent) invalid_user[pid] = ev.ip;
      // Not attempts by design: "Failed none" (a probe) and a valid user's "Failed publickey"
      // (an unauthorised key offered before the password).
      const bool failed = msg.substr(0, 7) == "Failed " && msg.substr(0, 12) != "Failed none " &&
                          !(msg.substr(0, 17) == "Failed publickey " && msg.find(" for invalid user ") == std::string_view::npos);
      const bool accepted = msg.substr(0, 9) == "Accepted ";
      if (!ip || !(failed || accepted)) continue;  // fail2ban's samples hold hostnames and bad addresses on purpose
      ++checked;
      if (accepted) {
        ASSERT_EQ(o, DecodeOutcome::kEvent) << where << "\n  " << rej.detail;
        EXPECT_EQ(ev.result, AuthResult::kSuccess) << where;
        EXPECT_EQ(ev.ip, *ip) << where;
      } else if (o == DecodeOutcome::kEvent) {
        EXPECT_EQ(ev.result, AuthResult::kFailure) << where;
        EXPECT_EQ(ev.ip, *ip) << where;
        EXPECT_EQ(ev.repeat + (msg.find(" for invalid user ") != std::string_view::npos && ev.repeat + 1 == static_cast<uint32_t>(repeat) ? 1u : 0u),
                  static_cast<uint32_t>(repeat)) << where;
      } else {
        const bool continuation = msg.find(" for invalid user ") != std::string_view::npos && invalid_user.count(pid) &&
                                  invalid_user.at(pid) == *ip && repeat == 1;
        EXPECT_TRUE(o == DecodeOutcome::kSkipped && continuation) << where << "\n  not counted: " << rej.detail;
      }
    }
  }
  EXPECT_GT(checked, 1000) << "the real logs hold thousands of such lines";
}

}  // namespace
}  // namespace authwatch

namespace authwatch {
namespace {

// A pre-auth disconnect is an attempt only when its process logged none (key-only servers,
// clients giving up at the prompt); after a counted "Failed" line it is the same attempt.
TEST(SyslogPreauthTest, DisconnectCountsOnlyWithoutAnEarlierAttempt) {
  auto d = SyslogEventDecoder::Create(SyslogOptions{2026, "UTC", 65536});
  ASSERT_TRUE(d.ok());
  AuthEvent e;
  Rejection r;
  EXPECT_EQ((*d)->Decode("Jan 24 15:32:31 server sshd[100]: Disconnected from authenticating user root 179.43.183.98 port 59402 [preauth]", &e, &r),
            DecodeOutcome::kEvent);
  EXPECT_EQ(e.account, "root");
  EXPECT_EQ(e.ip.ToString(), "179.43.183.98");
  EXPECT_EQ(e.result, AuthResult::kFailure);
  EXPECT_EQ((*d)->Decode("Jan 24 15:33:00 server sshd[200]: Failed password for root from 179.43.183.98 port 1 ssh2", &e, &r),
            DecodeOutcome::kEvent);
  EXPECT_EQ((*d)->Decode("Jan 24 15:33:01 server sshd[200]: Connection closed by authenticating user root 179.43.183.98 port 1 [preauth]", &e, &r),
            DecodeOutcome::kSkipped);
  EXPECT_EQ((*d)->Decode("Jan 24 15:33:02 server sshd[300]: Connection closed by invalid user admin 2001:db8::7 port 9 [preauth]", &e, &r),
            DecodeOutcome::kEvent);
  EXPECT_EQ(e.failure_reason, "unknown_user");
  EXPECT_EQ((*d)->Decode("Jan 24 15:34:00 server sshd[400]: Disconnected from user alice 192.0.2.5 port 22", &e, &r),
            DecodeOutcome::kSkipped) << "a session's end is not an attempt";
}

}  // namespace
}  // namespace authwatch
