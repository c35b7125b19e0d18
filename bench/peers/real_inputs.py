#!/usr/bin/env python3
"""Label files for the real logs of ../shared/data/real/ (read in place, never copied into the
project), in the same schema as gen_syslog.py's ground truth, plus one derived input.

  real_inputs.py --data ../shared/data/real --work DIR

writes into DIR:
  elastic-auth.truth.json    benign: 85.245.107.41 and 127.0.0.1 with the users ubuntu and
                             elastic_user_* (PROVENANCE.md); no attack labels, so the "campaign"
                             `failing_sources_10plus` is a derived reference: the other sources
                             with >= 10 authentication-failure lines (not ground truth).
  loghub-ssh.truth.json      no labels at all: the same derived reference; the sources of the two
                             `Accepted password` lines are listed as `accepted_sources` only.
  hub-samples.log            the classic-syslog inputs of CrowdSec's hub tests for ssh, dovecot
                             and postfix brute force, concatenated in time order (each test's
                             lines keep their own stamps; one year assumed). A derived file, so it
                             is written to DIR (outside the project).
  hub-samples.truth.json     campaigns = the sources CrowdSec's own tests expect an alert for
                             (scenario.assert), grouped by service; `expected` lists each
                             (service, test, source) for the report's per-alert table; benign: none.
"""
import argparse
import calendar
import json
import os
import re
import sys

MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
FAIL = re.compile(
    r"(?:Failed (?:password|publickey|none) for (?:invalid user )?\S+ from (?P<a>[0-9a-fA-F.:]+)"
    r"|Invalid user \S* from (?P<b>[0-9a-fA-F.:]+)"
    r"|authentication failure;.*rhost=(?P<c>[0-9a-fA-F.:]+)"
    r"|maximum authentication attempts exceeded for .* from (?P<d>[0-9a-fA-F.:]+)"
    r"|auth failed, \d+ attempts.*rip=(?P<e>[0-9a-fA-F.:]+)"
    r"|\[(?P<f>[0-9a-fA-F.:]+)\]: SASL \S+ authentication failed)")
ACCEPT = re.compile(r"Accepted \S+ for \S+ from ([0-9a-fA-F.:]+)")
IPV4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")

# CrowdSec hub tests used for hub-samples (classic syslog inputs, ssh/dovecot/postfix auth).
HUB_TESTS = {
    "ssh": ["ssh-bf", "ssh-slow-bf", "ssh-time-based-bf", "sshd-invalid-bf", "sshd_banner_exchange"],
    "dovecot": ["dovecot-spam", "dovecot-slow-bf", "dovecot-slow-bf-user-enum", "dovecot-time-based-bf",
                "dovecot-time-based-bf-user-enum"],
    "postfix": ["postfix-spam", "postfix-sasl-bf", "postfix-honeypot-users"],
}


def failing_sources(path):
    cnt, acc = {}, set()
    with open(path, "rb") as f:
        for raw in f:
            l = raw.decode("utf-8", "replace")
            m = FAIL.search(l)
            if m:
                ip = next(g for g in m.groups() if g)
                cnt[ip] = cnt.get(ip, 0) + 1
            m = ACCEPT.search(l)
            if m:
                acc.add(m.group(1))
    return cnt, acc


def stamp(line, year=2026):
    try:
        return calendar.timegm((year, MONTHS[line[0:3]], int(line[4:6]), int(line[7:9]),
                                int(line[10:12]), int(line[13:15]), 0, 0, 0))
    except (KeyError, ValueError):
        return None


def real_truth(name, path, benign_ips, benign_accounts, out, note):
    cnt, acc = failing_sources(path)
    heavy = sorted(ip for ip, n in cnt.items() if n >= 10 and ip not in benign_ips)
    light = sorted(ip for ip, n in cnt.items() if n < 10 and ip not in benign_ips)
    truth = {"input": name, "source": path, "labels": note,
             "campaigns": {"failing_sources_10plus": {"ips": heavy, "accounts": [], "derived": True}},
             "benign": {"ips": sorted(benign_ips), "accounts": sorted(benign_accounts)},
             "reference": {"failing_sources_under10": light, "accepted_sources": sorted(acc),
                           "failure_lines_per_source": dict(sorted(cnt.items(), key=lambda kv: -kv[1]))}}
    with open(out, "w") as f:
        json.dump(truth, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)

    ea = os.path.join(args.data, "elastic-auth", "auth.log")
    real_truth("elastic-auth", ea, {"85.245.107.41", "127.0.0.1"},
               {"ubuntu"} | {f"elastic_user_{i}" for i in range(10)},
               os.path.join(args.work, "elastic-auth.truth.json"),
               "benign source and users from PROVENANCE.md; attackers not labelled: the campaign is "
               "derived (sources with >= 10 failure lines), not ground truth")
    lh = os.path.join(args.data, "loghub-ssh", "OpenSSH_2k.log")
    real_truth("loghub-ssh", lh, set(), set(), os.path.join(args.work, "loghub-ssh.truth.json"),
               "no labels: the campaign is derived (sources with >= 10 failure lines), not ground truth")

    hub = os.path.join(args.data, "crowdsec-hub-samples")
    lines, campaigns, expected = [], {}, []
    for svc, tests in HUB_TESTS.items():
        for t in tests:
            d = os.path.join(hub, t)
            if not os.path.isdir(d):
                continue
            logs = [f for f in sorted(os.listdir(d)) if f.endswith(".log")]
            for lf in logs:
                with open(os.path.join(d, lf), "rb") as f:
                    for raw in f:
                        l = raw.decode("utf-8", "replace").rstrip("\r\n")
                        ts = stamp(l)
                        if ts is not None:
                            lines.append((ts, len(lines), l))
            try:
                with open(os.path.join(d, "scenario.assert")) as f:
                    found = re.findall(r'"([0-9a-fA-F.:]+)" in results\[\d+\]\.Overflow\.GetSources\(\)', f.read())
                expected += [{"service": svc, "test": t, "ip": ip} for ip in sorted(set(found))]
            except OSError:
                pass
        ips = {e["ip"] for e in expected if e["service"] == svc}
        campaigns[f"{svc}_expected"] = {"ips": sorted(ips), "accounts": [], "tests": tests}
    lines.sort()
    out = os.path.join(args.work, "hub-samples.log")
    with open(out, "w") as f:
        for _, _, l in lines:
            f.write(l + "\n")
    with open(os.path.join(args.work, "hub-samples.truth.json"), "w") as f:
        json.dump({"input": "hub-samples", "source": hub,
                   "labels": "the sources CrowdSec's hub tests expect an alert for (scenario.assert); "
                             "several are expected only from scenarios newer than Debian's hub "
                             "(ssh-time-based-bf, dovecot-slow-bf, postfix-sasl-bf, honeypot users)",
                   "campaigns": campaigns, "expected": expected,
                   "benign": {"ips": [], "accounts": []}}, f, indent=1)
    print(f"real_inputs: hub-samples.log {len(lines)} lines, "
          + ", ".join(f"{k} {len(v['ips'])}" for k, v in campaigns.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
