#!/usr/bin/env python3
"""Syslog decode rate: `authwatch replay --format syslog` on the peers' real logs (python3 stdlib).

Builds one input from the real syslog files in ../shared/data/real (loghub-ssh, elastic-auth,
loghub-linux, and fail2ban's and the CrowdSec hub's sshd/dovecot/postfix samples without their
comment lines), repeated to about --lines lines, in a temporary folder (never in the repository).
The files are year-less RFC 3164 and the samples jump across years, so each line's stamp is
rewritten to run forward from 2026-01-01 keeping the original gaps (capped at one hour; a minute
between files): otherwise replay would dead-letter every repetition as late_event. Lines in other
envelopes (RFC 5424, RFC 3339, journal) are left out of the timeline; the message text is verbatim.

Two mixes: every line, and the sshd/dovecot/postfix lines only (what an rsyslog filter on those
programs sends). Runs replay --emit enriched and --emit decisions (deploy/authwatch.yaml, rules
loaded) --runs times each and reports the median of replay's own "events/s" (records read per second, the
progress bar off) and of the accepted auth events per second.

  bench/syslog_rate.py --authwatch build/bin/authwatch [--lines 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MONTHS = {m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)}
CLASSIC = re.compile(r"^([A-Z][a-z]{2}) ( ?\d{1,2}) (\d\d):(\d\d):(\d\d) ")


def sources(data: str) -> list[str]:
    out = [os.path.join(data, "loghub-ssh", "OpenSSH_2k.log"), os.path.join(data, "elastic-auth", "auth.log"),
           os.path.join(data, "loghub-linux", "Linux.log")]
    for name in ("sshd", "dovecot", "postfix"):
        out.append(os.path.join(data, "fail2ban-samples", "logs", name))
    cs = os.path.join(data, "crowdsec-hub-samples")
    if os.path.isdir(cs):
        for d in sorted(os.listdir(cs)):
            if re.match(r"^(ssh|sshd|dovecot|postfix)", d):
                out += [os.path.join(cs, d, f) for f in sorted(os.listdir(os.path.join(cs, d))) if f.endswith(".log")]
    return [p for p in out if os.path.exists(p)]


def timeline(path: str):
    """(gap in seconds to the previous line, message after the stamp) of a file's classic lines."""
    prev = None
    year = 2000
    last_month = 0
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            m = CLASSIC.match(line)
            if not m or line.startswith("#") or m.group(1) not in MONTHS:
                continue
            month = MONTHS[m.group(1)]
            if last_month and month < last_month - 6:
                year += 1
            if last_month and month > last_month + 6:
                year -= 1
            last_month = month
            try:
                t = datetime.datetime(year, month, int(m.group(2)), int(m.group(3)), int(m.group(4)), min(int(m.group(5)), 59))
            except ValueError:
                continue
            gap = 0 if prev is None else max(0.0, min(3600.0, (t - prev).total_seconds()))
            prev = t
            yield gap, line[m.end():]


AUTH_PROGRAM = re.compile(r"^\S+ (?:sshd|sshd-session|dovecot|postfix[\w/-]*)(?:\[\d+\])?: ")


def build_input(data: str, lines: int, path: str, auth_only=False) -> int:
    files = [[(g, r) for g, r in timeline(p) if not auth_only or AUTH_PROGRAM.match(r)] for p in sources(data)]
    per_pass = sum(len(f) for f in files)
    if per_pass == 0:
        raise SystemExit(f"syslog_rate: no classic syslog lines under {data}")
    clock = datetime.datetime(2026, 1, 1)
    n = 0
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as o:
        while n < lines:
            for f in files:
                clock += datetime.timedelta(seconds=60)
                for gap, rest in f:
                    clock += datetime.timedelta(seconds=gap)
                    o.write(f"{clock.strftime('%b')} {clock.day:2d} {clock.strftime('%H:%M:%S')} {rest}\n")
                    n += 1
    return n


def run(authwatch: str, config: str, inp: str, emit: str, tmp: str):
    cmd = [authwatch, "replay", "--config", config, "--format", "syslog", "--syslog-year", "2026", "--input", inp,
           "--output", "/dev/null", "--emit", emit, "--dead-letter", os.path.join(tmp, "dl.jsonl"), "--no-progress"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"syslog_rate: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    m = re.search(r"(\d+) events read, (\d+) accepted, (\d+) rejected, (\d+) skipped", p.stderr)
    t = re.search(r"time: ([\d.]+) s, (\d+) events/s", p.stderr)
    d = re.search(r"decisions: (\d+) block, (\d+) challenge, (\d+) monitor, (\d+) unblock", p.stderr)
    read, accepted, rejected, skipped = map(int, m.groups())
    secs = float(t.group(1))
    return {"read": read, "accepted": accepted, "rejected": rejected, "skipped": skipped, "seconds": secs,
            "lines_per_s": read / secs, "events_per_s": accepted / secs,
            "decisions": sum(map(int, d.groups())) if d else 0}


def measure(args, tmp: str, mix: str):
    inp = os.path.join(tmp, f"auth-{mix}.log")
    n = build_input(args.data, args.lines, inp, auth_only=mix == "auth")
    what = "every line" if mix == "all" else "sshd, dovecot and postfix lines only"
    print(f"syslog_rate: mix '{mix}' ({what}): {n} lines, {os.path.getsize(inp) / 1e6:.1f} MB from {len(sources(args.data))} files")
    for emit in ("enriched", "decisions"):
        runs = [run(args.authwatch, args.config, inp, emit, tmp) for _ in range(args.runs)]
        med = lambda k: statistics.median(r[k] for r in runs)
        r0 = runs[0]
        print(f"syslog_rate:   --emit {emit}: median of {args.runs}: {med('lines_per_s'):,.0f} lines/s, "
              f"{med('events_per_s'):,.0f} auth events/s ({med('seconds'):.2f} s; runs "
              + ", ".join(f"{r['lines_per_s']:,.0f}" for r in runs) + " lines/s); "
              f"{r0['read']} read, {r0['accepted']} events, {r0['skipped']} skipped, {r0['rejected']} rejected"
              + (f", {r0['decisions']} decisions" if emit == "decisions" else ""))
    os.remove(inp)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--authwatch", default=os.path.join(REPO, "build", "bin", "authwatch"))
    ap.add_argument("--config", default=os.path.join(REPO, "deploy", "authwatch.yaml"))
    ap.add_argument("--data", default=os.path.join(os.path.dirname(REPO), "shared", "data", "real"))
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if not os.path.isdir(args.data):
        print(f"syslog_rate: SKIP: {args.data} is not there")
        return 0
    with tempfile.TemporaryDirectory(prefix="aw-syslog-rate-") as tmp:
        for mix in ("all", "auth"):
            measure(args, tmp, mix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
