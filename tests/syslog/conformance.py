#!/usr/bin/env python3
"""Syslog decoder conformance against the peers' own truth (python3 stdlib only).

Runs `authwatch replay --format syslog --emit enriched` on the peers' labelled log samples, read
in place from ../shared/data/real (never copied into the repository), and compares per line:

  * fail2ban's failJSON labels (logs/sshd, sshd-journal, dovecot, postfix): a label says whether
    the next line must give a failure ("match") and for which host. authwatch agrees when it gives
    a failure event for that address on that line (match true), or no failure (match false).
  * sshguard's parser vectors (parser-tests.txt; PROVENANCE says 215, the file holds 216): message, expected "<service> <addr> <family>
    <danger>" or "*" (no attack), "M".
  * loghub-ssh, elastic-auth, loghub-linux and the CrowdSec hub's ssh/dovecot/postfix inputs: a
    sanity table of events, failures, successes, rejections and skipped lines by program.

Every difference is classified with a reason. The enriched output carries source_offset (the
line number), ip, result and account; "repeat" is not printed, so attempts are compared per line.

Writes a markdown report (default bench/results/syslog-conformance.md) and prints a summary.
Exit status: 0 unless authwatch crashes (non-zero exit, signal, sanitizer report) or a peer file
cannot be read in its documented format (2). When the data folder is absent it says so and exits 0.

  tests/syslog/conformance.py [--authwatch build/bin/authwatch] [--data ../shared/data/real]

Notes on the run:
  * The config is deploy/authwatch.yaml with one change: late_event_allowance is raised to 100
    years. The peers' samples are unit-test snippets whose timestamps jump across months and
    years; with the shipped 5 minutes, replay would dead-letter most of them as late_event and the
    comparison would measure the sample order, not the parser.
  * fail2ban's sshd-journal holds what fail2ban's journal backend formats ("srv sshd[pid]: msg"),
    not journal JSON. Each such line is turned into the journalctl -o json record journald would
    hold (MESSAGE, SYSLOG_IDENTIFIER, _PID, _HOSTNAME, __REALTIME_TIMESTAMP) in a temporary file,
    so that file exercises the journal envelope.
  * sshguard's vectors are mostly bare messages (sshguard also reads log files without headers);
    a bare message is given an RFC 3164 header "Jan  1 00:00:00 sshguard-test <program>[<n>]: "
    with the program its section names (SSH: sshd, dovecot: dovecot, postfix: postfix/smtpd, ...)
    and its own pid. Vectors that carry a header are replayed as they are.
"""

from __future__ import annotations

import argparse
import collections
import ipaddress
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class FormatError(Exception):
    """A peer file is not in the format its PROVENANCE documents."""


class Crash(Exception):
    """authwatch crashed or reported a sanitizer error."""


# ------------------------------------------------------------------------------------------------
# Running authwatch


def derived_config(tmp: str, config: str) -> str:
    """deploy/authwatch.yaml with absolute paths and a 100-year late-event allowance."""
    base = os.path.dirname(os.path.abspath(config))
    text = open(config, encoding="utf-8").read()
    text = re.sub(r"(?m)^(\s*late_event_allowance:\s*)\S+", r"\g<1>36500d", text)
    if "late_event_allowance" not in text:
        text = text.replace("input:\n", "input:\n  late_event_allowance: 36500d\n", 1)
    # Relative paths are relative to the config's folder: make them absolute.
    text = re.sub(r"(?m)(^\s*-\s+|paths:\s*\[|dead_letter:\s*)(\.\./|\./)", lambda m: m.group(1) + base + "/" + m.group(2), text)
    path = os.path.join(tmp, "authwatch.yaml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


class LineResult:
    __slots__ = ("events", "rejected")

    def __init__(self):
        self.events = []  # enriched event dicts for this line (at most one for syslog)
        self.rejected = None  # dead-letter reason

    def failure_ips(self):
        return [e.get("ip") for e in self.events if e.get("result") == "failure"]

    def describe(self):
        if self.rejected:
            return f"rejected {self.rejected}"
        if not self.events:
            return "skipped"
        return ", ".join(f"{e.get('result')} {e.get('ip')} account={e.get('account', '')!r}" for e in self.events)


def replay(authwatch: str, config: str, path: str, year: int, tmp: str, emit="enriched") -> tuple[dict, dict, str]:
    """Replays one file; per line number its LineResult, the summary counters, stderr."""
    dl = os.path.join(tmp, "dead-letter.jsonl")
    cmd = [authwatch, "replay", "--config", config, "--format", "syslog", "--emit", emit,
           "--syslog-year", str(year), "--input", path, "--output", "-", "--dead-letter", dl, "--no-progress"]
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if p.returncode != 0 or "ERROR: AddressSanitizer" in p.stderr or "runtime error:" in p.stderr:
        raise Crash(f"{' '.join(cmd)}\nexit {p.returncode}\n{p.stderr[-4000:]}")
    lines: dict[int, LineResult] = collections.defaultdict(LineResult)
    for out in p.stdout.splitlines():
        if not out.strip():
            continue
        e = json.loads(out)
        lines[int(e["source_offset"])].events.append(e)
    if os.path.exists(dl):
        with open(dl, encoding="utf-8") as f:
            for out in f:
                d = json.loads(out)
                lines[int(d["source"].rsplit(":", 1)[1])].rejected = d["reason"]
    summary = {}
    m = re.search(r"(\d+) events read, (\d+) accepted, (\d+) rejected, (\d+) skipped", p.stderr)
    if m:
        summary = dict(zip(("read", "accepted", "rejected", "skipped"), map(int, m.groups())))
    return lines, summary, p.stderr


# ------------------------------------------------------------------------------------------------
# Addresses and line shapes


def norm_ip(text: str | None):
    """The address as authwatch prints it, or None when the text is not an address."""
    if not text:
        return None
    text = text.strip("[]")
    if "%" in text and ":" in text:
        text = text.split("%", 1)[0]
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped:
        a = a.ipv4_mapped
    return str(a)


SYSLOG_HEADER = re.compile(
    r"^(?:<\d{1,3}>)?(?:1 )?(?:[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d(?:\.\d+)?|\d{4}-\d\d-\d\dT\S+) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?:? ")
RFC5424 = re.compile(r"^<\d{1,3}>1 \S+ \S+ (\S+) (\S+) ")


def program_of(line: str) -> str:
    """The program a line names, for the skipped-lines table ('(none)' when no header)."""
    if line.startswith("{"):
        try:
            return json.loads(line).get("SYSLOG_IDENTIFIER", "(journal)")
        except ValueError:
            return "(bad journal)"
    m = RFC5424.match(line)
    if m:
        return m.group(1)
    m = SYSLOG_HEADER.match(line)
    if m:
        return m.group(2)
    return "(no header)"


def pid_of(line: str):
    if line.startswith("{"):
        try:
            d = json.loads(line)
            return d.get("_HOSTNAME"), d.get("_PID")
        except ValueError:
            return None
    m = RFC5424.match(line)
    if m:
        return None, m.group(2)
    m = SYSLOG_HEADER.match(line)
    return (m.group(1), m.group(3)) if m and m.group(3) else None


def message_of(line: str) -> str:
    if line.startswith("{"):
        try:
            return json.loads(line).get("MESSAGE", "")
        except ValueError:
            return line
    m = SYSLOG_HEADER.match(line)
    return line[m.end():] if m else line


# ------------------------------------------------------------------------------------------------
# Why authwatch and a peer differ on a line. Each rule: (pattern on the line, class). The first
# match wins; classes name what the line is and why authwatch does (not) count it.

NOT_ATTEMPT = "not a login attempt"
SEPARATE = "not counted separately"
UNSUPPORTED = "form not supported"

MISSED_RULES = [
    # sshd
    (r"pam_unix\([^)]*:auth\): authentication failure", SEPARATE + ": PAM line of an attempt sshd/dovecot also logs (Failed password / auth failed)"),
    (r"error: PAM: ", UNSUPPORTED + ": 'error: PAM: Authentication failure for U from HOST' (FreeBSD/macOS sshd PAM message)"),
    (r"ROOT LOGIN REFUSED", UNSUPPORTED + ": 'ROOT LOGIN REFUSED FROM' (pre-OpenSSH 3 / SSH.com sshd)"),
    (r"User \S+ from \S+ not allowed because", SEPARATE + ": AllowUsers/DenyUsers refusal; the password tried after it is logged as 'Failed ... for invalid user'"),
    (r"refused connect from", NOT_ATTEMPT + ": TCP wrappers refused the connection before authentication"),
    (r"\[ID \d+ [\w.]+\] Failed ", UNSUPPORTED + ": Solaris '[ID n facility.level]' prefix before the message"),
    (r"kernel: ?\[", UNSUPPORTED + ": text before sshd's message ('kernel: [uptime]')"),
    (r"maximum authentication attempts exceeded|Too many authentication failures", SEPARATE + ": summary of a connection's attempts, each logged as its own Failed line"),
    (r"Disconnecting invalid user .*Change of username", SEPARATE + ": the attempt was counted on the connection's 'Invalid user' line"),
    (r"Did not receive identification string|Bad protocol version|kex_exchange_identification|banner exchange|Unable to negotiate|no matching (mac|cipher|key)|ssh_dispatch_run_fatal|Timeout before authentication|Read from socket failed|drop connection #|exceeded LoginGraceTime",
     NOT_ATTEMPT + ": connection or protocol event before authentication (fail2ban ddos mode / sshguard scan detection)"),
    (r"Received disconnect from|Disconnected from|Connection closed by|Connection reset by|Disconnecting", NOT_ATTEMPT + ": disconnect (fail2ban aggressive/ddos modes count it)"),
    (r"Accepted \S+ for ", "fail2ban reports earlier PAM failures of this connection on its success line (multi-line); authwatch: a success"),
    # dovecot
    (r"\((?:tried to use (?:disabled|disallowed) \w+ auth)\)", NOT_ATTEMPT + ": no credentials sent (plaintext or mechanism refused before authentication)"),
    (r"\(proxy dest auth failed\)", UNSUPPORTED + ": Dovecot proxy '(proxy dest auth failed)'"),
    (r"\(no auth attempts|disconnected before auth was ready|client didn't finish SASL auth|disconnected during TLS handshake", NOT_ATTEMPT + ": disconnect without authentication (fail2ban aggressive mode)"),
    (r"auth-worker|dovecot: auth|\bauth\(|\bauth: |pam\(|passwd-file\(|sql\(|ldap\(", SEPARATE + ": Dovecot auth-process line; the attempt is counted on the <proto>-login line ('auth failed, N attempts')"),
    # postfix
    (r"SASL \S+ authentication failed: (Invalid authentication mechanism|Connection lost to authentication server)",
     NOT_ATTEMPT + ": the SASL server checked no credential (mechanism not offered / server unreachable)"),
    (r"NOQUEUE|reject:|milter-reject|improper command pipelining|too many errors|lost connection|disconnect from|PREGREET|HANGUP|COMMAND (TIME|COUNT) LIMIT|rate limit exceeded|does not resolve to address|non-SMTP command|DNSBL rank|postgrey",
     NOT_ATTEMPT + ": SMTP policy or protocol event (fail2ban's postfix jail / sshguard's postfix rules, not SASL)"),
]

ENVELOPE_RULES = [
    (r"^@4000[0-9a-f]{20} ", UNSUPPORTED + ": daemontools TAI64N stamp"),
    (r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4} ", UNSUPPORTED + ": 'YYYY-MM-DD HH:MM:SS.f+0000' stamp (macOS log show)"),
    (r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", UNSUPPORTED + ": 'YYYY-MM-DD HH:MM:SS' stamp without zone (Dovecot log_path, multilog, Exim)"),
    (r"^\d{4}-\d\d-\d\dT[\d:.]+ [\w.]+: ", UNSUPPORTED + ": socklog/metalog stamp without zone ('... auth.info:')"),
    (r"^[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d (?:(?:imap|pop3|submission|managesieve)-login|auth(?:-worker)?(?:\(\w+\))?|[\w-]+\[\d+\]|\w+): ", UNSUPPORTED + ": no host before the program (Dovecot log_path file, BusyBox syslogd -S)"),
    (r"^[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d \[\w+\]:? ", UNSUPPORTED + ": '[program]' tag without host"),
    (r"^[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d \S+ auth\.\w+ ", UNSUPPORTED + ": BusyBox facility.level before the program"),
    (r"^[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d <[\d.]+> ", UNSUPPORTED + ": FreeBSD syslogd -v '<facility.level>' before the host"),
    (r"^\d{4}-\d\d-\d\dT\S+ \S+ \S+\[\d+\] ", UNSUPPORTED + ": tag without ':' (rsyslog 8 sample)"),
]


def classify_missed(line: str, program_known: bool) -> str:
    """Why a line gave no failure: what the message is when it is no attempt (or one counted on
    another line), else the envelope or message form authwatch does not read."""
    msg_cls = next((cls for pat, cls in MISSED_RULES if re.search(pat, line)), None)
    if msg_cls and (msg_cls.startswith(NOT_ATTEMPT) or msg_cls.startswith(SEPARATE)):
        return msg_cls
    env_cls = next((cls for pat, cls in ENVELOPE_RULES if re.search(pat, line)), None)
    if env_cls:
        return env_cls
    if msg_cls:
        return msg_cls
    if not program_known:
        return UNSUPPORTED + ": bare message without a syslog header"
    return "unclassified"


def classify_extra(line: str) -> str:
    """authwatch gives a failure where the peer says no match."""
    if re.search(r"Failed publickey for (?!invalid user)", line):
        return "authwatch counts a failed public key of a valid user; fail2ban only when no key succeeds (gh-1263)"
    if re.search(r"Invalid user", line):
        return "authwatch counts 'Invalid user' as the attempt; the peer waits for the failure"
    return "unclassified"


KINDS = ["by design: not a login attempt, or counted on another line", "no usable address in the line",
         "form not supported", "disagreement"]


def kind_of(cls: str) -> str:
    if cls.startswith((NOT_ATTEMPT, SEPARATE, "duplicate", "fail2ban reports earlier")):
        return KINDS[0]
    if cls.startswith(("hostname not", "IPv4 address with a zero-padded")):
        return KINDS[1]
    if cls.startswith((UNSUPPORTED, "service not decoded", "rejected by authwatch")):
        return KINDS[2]
    return KINDS[3]


# ------------------------------------------------------------------------------------------------
# fail2ban

F2B_DIRECTIVE = re.compile(r"^#+ ?(failJSON|filterOptions|addFILE|fileOptions):(.+)$")
CONSTRAINT = re.compile(r"^\s*(name|opts\.get\('(\w+)'\))\s*(==|!=)\s*'([^']*)'\s*$")


def constraint_holds(expr: str, name: str, opts: dict):
    """fail2ban's 'constraint' expressions, the shapes its samples use (never eval'd)."""
    m = CONSTRAINT.match(expr)
    if not m:
        return None
    left = name if m.group(1) == "name" else opts.get(m.group(2))
    return (left == m.group(4)) == (m.group(3) == "==")


def parse_fail2ban(path: str, name: str):
    """[(line number, line, label, mode)] of the labelled lines of one fail2ban sample file."""
    out = []
    opts_list = [{}]
    pending = None
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            m = F2B_DIRECTIVE.match(line)
            if m:
                try:
                    data = json.loads(m.group(2))
                except ValueError as e:
                    raise FormatError(f"{path}:{n}: {m.group(1)} is not JSON: {e}")
                if m.group(1) == "filterOptions":
                    opts_list = data if isinstance(data, list) else [data]
                elif m.group(1) == "failJSON":
                    pending = data
                continue
            if line.startswith("#") or not line.strip():
                continue
            if pending is None:
                continue
            label, pending = pending, None
            primary = opts_list[0] if opts_list else {}
            mode = primary.get("mode", "normal")
            c = label.get("constraint")
            if c is not None:
                holds = constraint_holds(c, name, primary)
                if holds is False:
                    continue  # fail2ban does not test this label in the primary mode
            out.append((n, line, label, mode))
    if not out:
        raise FormatError(f"{path}: no failJSON labels")
    return out


def journal_file(src: str, dst: str):
    """fail2ban's journal sample ('srv sshd[pid]: msg') as journalctl -o json records."""
    rx = re.compile(r"^(\S+) ([^\s\[:]+)(?:\[(\d+)\])?: (.*)$")
    t = 1_100_000_000_000_000  # 2004-11-09, microseconds
    with open(src, encoding="utf-8", errors="surrogateescape") as f, open(dst, "w", encoding="utf-8", errors="surrogateescape") as o:
        for raw in f:
            line = raw.rstrip("\n")
            m = rx.match(line)
            if line.startswith("#") or not line.strip() or not m:
                o.write(line + "\n")
                continue
            t += 1_000_000
            rec = {"__REALTIME_TIMESTAMP": str(t), "_HOSTNAME": m.group(1), "SYSLOG_IDENTIFIER": m.group(2), "MESSAGE": m.group(4)}
            if m.group(3):
                rec["_PID"] = m.group(3)
            o.write(json.dumps(rec, ensure_ascii=False) + "\n")


def compare_fail2ban(name, labelled, results, lines_text):
    """Per labelled line: agreement or a classified difference."""
    rows = []
    counted_by_pid = {}  # (host, pid) -> first line whose failure authwatch counted
    for n in sorted(results):
        if results[n].failure_ips() and n <= len(lines_text):
            key = pid_of(lines_text[n - 1])
            if key:
                counted_by_pid.setdefault(key, n)
    for n, line, label, mode in labelled:
        r = results.get(n, LineResult())
        fails = r.failure_ips()
        expect = bool(label.get("match"))
        host = label.get("host")
        want = norm_ip(host) if host else None
        if expect:
            if want is None and host:
                what = ("IPv4 address with a zero-padded octet (octal-ambiguous; authwatch and Python read it as no address)"
                        if re.fullmatch(r"[\d.]+", host) else "hostname not an address")
                ok, cls = False, what + (" (authwatch: " + r.describe() + ")" if fails else "")
            elif want in fails:
                ok, cls = True, None
            elif fails:
                ok = False
                if re.search(r"ssh\d: (?:.* )?from ", line):
                    cls = ("address in the client's text: authwatch takes the last ' from ADDR port N ssh2' "
                           "(OpenSSH appends nothing after 'ssh2' to a password failure, so text after 'ssh2: ' is the user name's)")
                else:
                    cls = "different address: authwatch " + ", ".join(fails)
            elif r.rejected:
                ok, cls = False, f"rejected by authwatch ({r.rejected}): " + classify_missed(line, True)
            else:
                ok = False
                # sshd's attempts are per process: another line of the same sshd process
                replayed = lines_text[n - 1] if n <= len(lines_text) else line
                key = pid_of(replayed) if program_of(replayed) in ("sshd", "sshd-session") else None
                earlier = counted_by_pid.get(key) if key else None
                if earlier is not None and want not in results[earlier].failure_ips():
                    earlier = None
                cls = classify_missed(line, program_of(line) not in ("(no header)",))
                if earlier is not None and earlier != n and (cls.startswith(SEPARATE) or cls.startswith(NOT_ATTEMPT)):
                    cls = f"duplicate of the attempt counted on line {earlier} ({cls})"
        else:
            if fails:
                ok, cls = False, classify_extra(line)
            else:
                ok, cls = True, None
        rows.append({"line": n, "text": line, "mode": mode, "expect": expect, "host": host, "ok": ok, "class": cls,
                     "authwatch": r.describe()})
    return rows


# ------------------------------------------------------------------------------------------------
# sshguard

SSHGUARD_PROGRAMS = {
    "SSH": "sshd", "Dropbear": "dropbear", "Remote SSHGuard": "sshguard", "cucipop": "cucipop", "exim": "exim",
    "sendmail": "sendmail", "dovecot": "dovecot", "uwimap": "imapd", "cyrus": "imapd", "postfix": "postfix/smtpd",
    "OpenSMTPD": "smtpd", "courier": "imapd", "FTP": "ftpd", "Cockpit": "cockpit-session", "OpenVPN": "openvpn",
    "Web": "httpd", "pfSense": "php-fpm", "Banner formats": "sshd", "Gitea": "gitea", "BIND": "named",
    "MSSQL": "sqlservr", "MySQL": "mysqld", "Proxmox VE": "pvedaemon",
}
IN_SCOPE_SERVICES = {"100": "sshd", "101": "dropbear", "210": "dovecot", "260": "postfix"}
HAS_HEADER = re.compile(r"^(?:<\d{1,3}>|\{|[A-Z][a-z]{2} [ \d]?\d \d\d:\d\d:\d\d |\d{4}-\d\d-\d\d[T ]\d|@4000)")


def parse_sshguard(path: str):
    """[(section, message, expected or None)] from sshguard's parser-tests.txt."""
    cases = []
    section = subsection = ""
    state, message, expect = 0, None, None
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if state == 0:
                m = re.match(r"^#### (.+?)(?: \{\{\{)?$", line)
                if m:
                    section, subsection = m.group(1).strip(), ""
                    continue
                m = re.match(r"^# (\w[\w ]*?) \{\{\{$", line)
                if m:
                    subsection = m.group(1).strip()
                    continue
                if not line.strip() or line.startswith("#"):
                    continue
                message, state = line, 1
            elif state == 1:
                if line.strip() == "*":
                    expect = None
                else:
                    parts = line.split()
                    if len(parts) != 4 or not parts[0].isdigit() or parts[2] not in ("4", "6"):
                        raise FormatError(f"{path}:{n}: expected '<service> <addr> <4|6> <danger>' or '*', got {line!r}")
                    expect = {"service": parts[0], "addr": parts[1], "family": parts[2], "danger": parts[3]}
                state = 2
            else:
                if not line.startswith("M"):
                    raise FormatError(f"{path}:{n}: expected 'M' after a case, got {line!r}")
                cases.append((subsection or section, section, message, expect))
                state = 0
    if state != 0:
        raise FormatError(f"{path}: unterminated case at the end")
    return cases


def sshguard_input(cases, dst):
    with open(dst, "w", encoding="utf-8", errors="surrogateescape") as o:
        for i, (sub, section, message, _) in enumerate(cases, 1):
            if HAS_HEADER.match(message):
                o.write(message + "\n")
            else:
                prog = SSHGUARD_PROGRAMS.get(sub) or SSHGUARD_PROGRAMS.get(section) or "unknown"
                o.write(f"Jan  1 00:00:00 sshguard-test {prog}[{10000 + i}]: {message}\n")


def compare_sshguard(cases, results, lines_text):
    rows = []
    for i, (sub, section, message, expect) in enumerate(cases, 1):
        r = results.get(i, LineResult())
        fails = r.failure_ips()
        line = lines_text[i - 1]
        wrapped = line != message
        if expect is None:
            ok = not fails
            cls = None if ok else classify_extra(line)
        else:
            want = norm_ip(expect["addr"])
            if want in fails:
                ok, cls = True, None
            else:
                ok = False
                if expect["service"] not in IN_SCOPE_SERVICES:
                    cls = f"service not decoded by authwatch ({section}{' / ' + sub if sub != section else ''}, sshguard service {expect['service']})"
                elif fails:
                    cls = "different address: authwatch " + ", ".join(fails)
                elif r.rejected:
                    cls = f"rejected by authwatch ({r.rejected}): " + classify_missed(line, True)
                else:
                    cls = classify_missed(line, True)
                    if expect["service"] == "101":
                        cls = UNSUPPORTED + ": Dropbear (authwatch decodes OpenSSH)"
        rows.append({"case": i, "section": sub, "text": message, "wrapped": wrapped, "expect": expect, "ok": ok,
                     "class": cls, "authwatch": r.describe()})
    return rows


# ------------------------------------------------------------------------------------------------
# Sanity tables


def attempts_of(line: str) -> int:
    m = re.search(r"message repeated (\d+) times: \[ Failed ", line) or re.search(r"\(auth failed, (\d+) attempts", line)
    return int(m.group(1)) if m else 1


def sanity(path, results, lines_text):
    t = {"lines": 0, "blank": 0, "events": 0, "failures": 0, "failure_attempts": 0, "successes": 0,
         "rejected": collections.Counter(), "skipped_by_program": collections.Counter(),
         "events_by_program": collections.Counter(), "failure_ips": set(), "success_ips": set()}
    for n, line in enumerate(lines_text, 1):
        t["lines"] += 1
        if not line.strip():
            t["blank"] += 1
            continue
        r = results.get(n)
        if r and r.rejected:
            t["rejected"][r.rejected] += 1
        elif r and r.events:
            for e in r.events:
                t["events"] += 1
                t["events_by_program"][program_of(line)] += 1
                if e["result"] == "failure":
                    t["failures"] += 1
                    t["failure_attempts"] += attempts_of(line)
                    t["failure_ips"].add(e["ip"])
                else:
                    t["successes"] += 1
                    t["success_ips"].add(e["ip"])
        else:
            t["skipped_by_program"][program_of(line)] += 1
    return t


# ------------------------------------------------------------------------------------------------
# Report


def md_escape(s: str, limit=150) -> str:
    s = s if len(s) <= limit else s[: limit - 1] + "…"
    return s.replace("|", "\\|").replace("`", "'")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--authwatch", default=os.path.join(REPO, "build", "bin", "authwatch"))
    ap.add_argument("--config", default=os.path.join(REPO, "deploy", "authwatch.yaml"))
    ap.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data", "real"))
    ap.add_argument("--report", default=os.path.join(REPO, "bench", "results", "syslog-conformance.md"))
    args = ap.parse_args()

    if not os.path.isdir(args.data):
        print(f"conformance: SKIP: {args.data} is not there (the peers' real logs); nothing compared")
        return 0
    if not os.access(args.authwatch, os.X_OK):
        print(f"conformance: {args.authwatch} is not built", file=sys.stderr)
        return 2

    started = time.time()
    report = []
    summary = []
    try:
        with tempfile.TemporaryDirectory(prefix="aw-syslog-conf-") as tmp:
            config = derived_config(tmp, args.config)

            # ---- fail2ban
            f2b_dir = os.path.join(args.data, "fail2ban-samples", "logs")
            f2b_tables = []
            f2b_rows_all = {}
            for name in ("sshd", "sshd-journal", "dovecot", "postfix"):
                src = os.path.join(f2b_dir, name)
                if not os.path.exists(src):
                    raise FormatError(f"{src} is missing")
                labelled = parse_fail2ban(src, "sshd" if name.startswith("sshd") else name)
                path = src
                if name == "sshd-journal":
                    path = os.path.join(tmp, "sshd-journal.jsonl")
                    journal_file(src, path)
                text = open(path, encoding="utf-8", errors="surrogateescape").read().split("\n")
                results, _, _ = replay(args.authwatch, config, path, 2005, tmp)
                rows = compare_fail2ban(name, labelled, results, text)
                f2b_rows_all[name] = rows
                f2b_tables.append((name, rows))

            # ---- sshguard
            sg_path = os.path.join(args.data, "sshguard-tests", "parser-tests.txt")
            cases = parse_sshguard(sg_path)
            if len(cases) < 200:
                raise FormatError(f"{sg_path}: only {len(cases)} cases (PROVENANCE says 215)")
            sg_input = os.path.join(tmp, "sshguard.log")
            sshguard_input(cases, sg_input)
            sg_text = open(sg_input, encoding="utf-8", errors="surrogateescape").read().split("\n")
            sg_results, _, _ = replay(args.authwatch, config, sg_input, 2026, tmp)
            sg_rows = compare_sshguard(cases, sg_results, sg_text)

            # ---- sanity tables
            sanity_files = [
                ("loghub-ssh", os.path.join(args.data, "loghub-ssh", "OpenSSH_2k.log"), 2016),
                ("elastic-auth", os.path.join(args.data, "elastic-auth", "auth.log"), 2017),
                ("loghub-linux", os.path.join(args.data, "loghub-linux", "Linux.log"), 2005),
            ]
            cs_dir = os.path.join(args.data, "crowdsec-hub-samples")
            if os.path.isdir(cs_dir):
                for d in sorted(os.listdir(cs_dir)):
                    if re.match(r"^(ssh|sshd|dovecot|postfix)", d):
                        for fn in sorted(os.listdir(os.path.join(cs_dir, d))):
                            if fn.endswith(".log"):
                                sanity_files.append((f"crowdsec/{d}", os.path.join(cs_dir, d, fn), 2026))
            sanity_rows = []
            for label, path, year in sanity_files:
                if not os.path.exists(path):
                    continue
                with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
                    text = [l.rstrip("\r\n") for l in f.read().split("\n")]
                if text and text[-1] == "":
                    text.pop()
                results, counters, _ = replay(args.authwatch, config, path, year, tmp)
                sanity_rows.append((label, sanity(path, results, text), counters))
    except Crash as e:
        print("conformance: authwatch CRASHED\n" + str(e), file=sys.stderr)
        return 1
    except FormatError as e:
        print(f"conformance: cannot read a peer file: {e}", file=sys.stderr)
        return 2

    # ---- report
    report.append("# Syslog decoder conformance against the peers' own truth\n")
    report.append(f"Generated by `tests/syslog/conformance.py` ({time.strftime('%Y-%m-%d', time.gmtime())}, "
                  f"{time.time() - started:.0f} s) with `{os.path.relpath(args.authwatch, REPO)}`; data read in place from "
                  f"`../shared/data/real`. Each peer line is replayed through `authwatch replay --format syslog --emit enriched` "
                  "and compared per line (source_offset = line number). The config is `deploy/authwatch.yaml` with "
                  "`late_event_allowance` raised to 100 years, because the samples' timestamps jump across years.\n")

    report.append("## fail2ban (failJSON labels)\n")
    report.append("A label `match: true, host: H` is met when authwatch gives a **failure** event for address H on that line; "
                  "`match: false` when it gives no failure. Labels are taken in the first mode of their section's "
                  "`filterOptions` (`constraint`s evaluated in that mode); fail2ban's `sshd-journal` is replayed as "
                  "`journalctl -o json` records.\n")
    report.append("| file | mode | labels | match:true | authwatch matched | match:false | authwatch agreed | differences |")
    report.append("|---|---|---|---|---|---|---|---|")
    all_f2b_diff = collections.Counter()
    for name, rows in f2b_tables:
        for mode in sorted({r["mode"] for r in rows}, key=lambda m: (m != "normal", m)):
            rs = [r for r in rows if r["mode"] == mode]
            t = [r for r in rs if r["expect"]]
            f = [r for r in rs if not r["expect"]]
            report.append(f"| {name} | {mode} | {len(rs)} | {len(t)} | {sum(r['ok'] for r in t)} | {len(f)} | "
                          f"{sum(r['ok'] for r in f)} | {sum(not r['ok'] for r in rs)} |")
        t = [r for r in rows if r["expect"]]
        f = [r for r in rows if not r["expect"]]
        report.append(f"| **{name}** | all | {len(rows)} | {len(t)} | **{sum(r['ok'] for r in t)}** | {len(f)} | "
                      f"**{sum(r['ok'] for r in f)}** | {sum(not r['ok'] for r in rows)} |")
        kinds = collections.Counter(kind_of(r["class"]) for r in rows if not r["ok"])
        summary.append(f"fail2ban {name}: matched {sum(r['ok'] for r in t)}/{len(t)} expected failures, "
                       f"agreed {sum(r['ok'] for r in f)}/{len(f)} non-matches; differences: "
                       + ", ".join(f"{kinds[k]} {k.split(':')[0]}" for k in KINDS))
    report.append("")
    report.append("Differences by kind (the classes below, grouped):\n")
    report.append("| kind | sshd | sshd-journal | dovecot | postfix | total |")
    report.append("|---|---|---|---|---|---|")
    for k in KINDS:
        per = [sum(1 for r in rows if not r["ok"] and kind_of(r["class"]) == k) for _, rows in f2b_tables]
        report.append(f"| {k} | " + " | ".join(map(str, per)) + f" | {sum(per)} |")
    report.append("")
    report.append("### Differences by class\n")
    report.append("| class | sshd | sshd-journal | dovecot | postfix | total |")
    report.append("|---|---|---|---|---|---|")
    classes = collections.defaultdict(collections.Counter)
    for name, rows in f2b_tables:
        for r in rows:
            if not r["ok"]:
                c = re.sub(r"line \d+", "line N", r["class"])
                c = re.sub(r"authwatch [0-9a-f.:, ]+$", "authwatch <addr>", c)
                classes[c][name] += 1
    for c, by in sorted(classes.items(), key=lambda kv: -sum(kv[1].values())):
        report.append(f"| {md_escape(c, 220)} | {by['sshd']} | {by['sshd-journal']} | {by['dovecot']} | {by['postfix']} | {sum(by.values())} |")
        all_f2b_diff[c] += sum(by.values())
    report.append("")
    report.append("### Every difference\n")
    for name, rows in f2b_tables:
        diffs = [r for r in rows if not r["ok"]]
        if not diffs:
            continue
        report.append(f"<details><summary>{name}: {len(diffs)} differences</summary>\n")
        report.append("| line | mode | label | authwatch | class | log line |")
        report.append("|---|---|---|---|---|---|")
        for r in diffs:
            lab = f"match {str(r['expect']).lower()}" + (f" {r['host']}" if r["expect"] else "")
            report.append(f"| {r['line']} | {r['mode']} | {md_escape(lab)} | {md_escape(r['authwatch'])} | {md_escape(r['class'], 260)} | `{md_escape(r['text'])}` |")
        report.append("\n</details>\n")

    report.append("## sshguard (parser-tests.txt)\n")
    report.append("A vector `<service> <addr> ...` is met when authwatch gives a failure for addr; `*` (no attack) when it gives "
                  "no failure. Bare messages are given a `Jan  1 00:00:00 sshguard-test <program>[n]: ` header "
                  "(program from the section); vectors with a header are replayed as they are.\n")
    report.append(f"The file holds {len(sg_rows)} cases (message, expectation, `M`; {sum(1 for r in sg_rows if r['expect'])} with an attack, "
                  f"{sum(1 for r in sg_rows if not r['expect'])} with `*`); its PROVENANCE.md says 215.\n")
    report.append("| section | vectors | attack expected | authwatch matched | no attack | authwatch agreed | differences |")
    report.append("|---|---|---|---|---|---|---|")
    by_sec = collections.OrderedDict()
    for r in sg_rows:
        by_sec.setdefault(r["section"], []).append(r)
    for sec, rs in by_sec.items():
        a = [r for r in rs if r["expect"]]
        n = [r for r in rs if not r["expect"]]
        report.append(f"| {sec} | {len(rs)} | {len(a)} | {sum(r['ok'] for r in a)} | {len(n)} | {sum(r['ok'] for r in n)} | {sum(not r['ok'] for r in rs)} |")
    a = [r for r in sg_rows if r["expect"]]
    n = [r for r in sg_rows if not r["expect"]]
    ins = [r for r in a if r["expect"]["service"] in IN_SCOPE_SERVICES]
    report.append(f"| **all** | {len(sg_rows)} | {len(a)} | **{sum(r['ok'] for r in a)}** | {len(n)} | **{sum(r['ok'] for r in n)}** | {sum(not r['ok'] for r in sg_rows)} |")
    report.append(f"| in scope (sshd 100, dropbear 101, dovecot 210, postfix 260) | {len(ins)} | {len(ins)} | **{sum(r['ok'] for r in ins)}** | | | {sum(not r['ok'] for r in ins)} |")
    report.append("")
    summary.append(f"sshguard: matched {sum(r['ok'] for r in a)}/{len(a)} attack vectors "
                   f"({sum(r['ok'] for r in ins)}/{len(ins)} of sshd/dropbear/dovecot/postfix), agreed {sum(r['ok'] for r in n)}/{len(n)} no-attack vectors")
    report.append("| kind | vectors |")
    report.append("|---|---|")
    for k in KINDS:
        report.append(f"| {k} | {sum(1 for r in sg_rows if not r['ok'] and kind_of(r['class']) == k)} |")
    report.append("")
    report.append("### Differences by class\n")
    report.append("| class | vectors |")
    report.append("|---|---|")
    sg_classes = collections.Counter()
    for r in sg_rows:
        if not r["ok"]:
            c = r["class"]
            if c.startswith("service not decoded"):
                c = "service not decoded by authwatch (authwatch reads sshd, dovecot and postfix SASL only)"
            sg_classes[c] += 1
    for c, k in sg_classes.most_common():
        report.append(f"| {md_escape(c, 220)} | {k} |")
    report.append("")
    report.append("<details><summary>every sshguard difference</summary>\n")
    report.append("| case | section | expected | authwatch | class | message |")
    report.append("|---|---|---|---|---|---|")
    for r in sg_rows:
        if not r["ok"]:
            e = r["expect"]
            exp = f"{e['service']} {e['addr']}" if e else "*"
            report.append(f"| {r['case']} | {r['section']} | {exp} | {md_escape(r['authwatch'])} | {md_escape(r['class'], 200)} | `{md_escape(r['text'])}` |")
    report.append("\n</details>\n")

    report.append("## Sanity tables (no labels)\n")
    report.append("`attempts` counts a `message repeated N times` or `auth failed, N attempts` line N times (the pipeline "
                  "counts the event `repeat` times); `skipped` are valid lines that are not login attempts.\n")
    report.append("| log | lines | events | failures | failure attempts | successes | distinct failure IPs | rejected | skipped |")
    report.append("|---|---|---|---|---|---|---|---|---|")
    for label, t, counters in sanity_rows:
        rej = ", ".join(f"{k} {v}" for k, v in t["rejected"].most_common()) or "0"
        report.append(f"| {label} | {t['lines']} | {t['events']} | {t['failures']} | {t['failure_attempts']} | {t['successes']} | "
                      f"{len(t['failure_ips'])} | {rej} | {sum(t['skipped_by_program'].values())} |")
    report.append("")
    report.append("Skipped lines by program (the three large logs):\n")
    for label, t, _ in sanity_rows:
        if label.startswith("crowdsec/"):
            continue
        report.append(f"- **{label}**: " + ", ".join(f"{p} {k}" for p, k in t["skipped_by_program"].most_common(12)))
        report.append(f"  events by program: " + ", ".join(f"{p} {k}" for p, k in t["events_by_program"].most_common()))
    report.append("")

    os.makedirs(os.path.dirname(args.report), exist_ok=True)
    with open(args.report, "w", encoding="utf-8") as f:
        f.write("\n".join(report) + "\n")

    for s in summary:
        print("conformance: " + s)
    for label, t, _ in sanity_rows:
        if not label.startswith("crowdsec/"):
            print(f"conformance: {label}: {t['events']} events ({t['failures']} failures = {t['failure_attempts']} attempts, "
                  f"{t['successes']} successes), {sum(t['rejected'].values())} rejected, {sum(t['skipped_by_program'].values())} skipped")
    print(f"conformance: report in {os.path.relpath(args.report, REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
