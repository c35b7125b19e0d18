#!/usr/bin/env python3
"""Helpers for run_peers.sh: resource figures from `/usr/bin/time -v`, flagged subjects from
authwatch's decisions, and one result record per (input, tool).

  collect.py authwatch DECISIONS.jsonl OUT.json          # flagged subjects from decisions
  collect.py record --tool T --input I --log LOG --time TIMEFILE [--flags F.json]
                    [--extra-cpu S] [--extra-rss KB] [--note TEXT] --out OUT.json
  collect.py skip --tool T --input I --note TEXT --out OUT.json

A record: {"tool","input","lines","wall_s","cpu_s","user_s","sys_s","peak_rss_kb",
"lines_per_s","lines_per_cpu_s","flagged_ips":[...],"flagged_accounts":[...],"detail":{...},
"notes":[...]} (flagged_* absent when the tool makes no verdicts, e.g. the bare parser).
"""
import argparse
import json
import sys


def parse_time_v(path):
    """measure.py's JSON, or the fields of GNU time's -v report."""
    if path.endswith(".json"):
        with open(path) as f:
            return json.load(f)
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for l in f:
            l = l.strip()
            if l.startswith("User time (seconds):"):
                out["user_s"] = float(l.split(":")[-1])
            elif l.startswith("System time (seconds):"):
                out["sys_s"] = float(l.split(":")[-1])
            elif l.startswith("Maximum resident set size (kbytes):"):
                out["peak_rss_kb"] = int(l.split(":")[-1])
            elif l.startswith("Elapsed (wall clock) time"):
                v = l.split("):", 1)[1].strip()
                parts = [float(p) for p in v.split(":")]
                s = 0.0
                for p in parts:
                    s = s * 60 + p
                out["wall_s"] = s
            elif l.startswith("Exit status:"):
                out["exit_status"] = int(l.split(":")[-1])
    return out


def authwatch_flags(decisions_path, out_path):
    """Flagged addresses and accounts from authwatch's decisions (JSON lines).

    A decision counts when its action is block or challenge and it is not a dry run. Subject
    types: ip -> the address; prefix (CIDR) -> kept as a network, expanded against the known
    addresses by report.py; account -> the account; account_ip `<account>|<ip>` -> the address
    (blocked for that account) and the pair; asn -> kept, counted apart."""
    ips, prefixes, accounts, pairs, asns = set(), set(), set(), set(), set()
    by_rule, n = {}, 0
    with open(decisions_path, encoding="utf-8") as f:
        for l in f:
            l = l.strip()
            if not l:
                continue
            d = json.loads(l)
            n += 1
            if d.get("action") not in ("block", "challenge") or d.get("dry_run"):
                continue
            s = d.get("subject") or {}
            t, v = s.get("type"), s.get("value", "")
            key = f"{d.get('rule')}:{t}:{d.get('action')}"
            by_rule[key] = by_rule.get(key, 0) + 1
            if t == "ip":
                ips.add(v)
            elif t == "prefix":
                prefixes.add(v)
            elif t == "account":
                accounts.add(v)
            elif t == "account_ip":
                acct, _, ip = v.rpartition("|")
                pairs.add(v)
                ips.add(ip)
            elif t == "asn":
                asns.add(v)
    rec = {"tool": "authwatch", "flagged_ips": sorted(ips), "flagged_prefixes": sorted(prefixes),
           "flagged_accounts": sorted(accounts), "flagged_account_ip": sorted(pairs),
           "flagged_asns": sorted(asns), "decisions": n, "by_rule": by_rule}
    # addresses named by ip/prefix decisions alone (blocked for every account) vs only by account_ip
    only_pair = {p.rpartition("|")[2] for p in pairs}
    with open(decisions_path, encoding="utf-8") as f:
        ip_subject = set()
        for l in f:
            if l.strip():
                d = json.loads(l)
                s = d.get("subject") or {}
                if s.get("type") == "ip" and d.get("action") in ("block", "challenge") and not d.get("dry_run"):
                    ip_subject.add(s.get("value"))
    rec["ip_subject_ips"] = sorted(ip_subject)
    rec["account_ip_only_ips"] = sorted(only_pair - ip_subject)
    with open(out_path, "w") as f:
        json.dump(rec, f, indent=1)


def count_lines(path):
    """Lines, counting a last line without its newline (loghub's file ends so)."""
    n, last = 0, b"\n"
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            n += b.count(b"\n")
            last = b[-1:]
    return n + (last != b"\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("authwatch")
    a.add_argument("decisions")
    a.add_argument("out")
    r = sub.add_parser("record")
    r.add_argument("--tool", required=True)
    r.add_argument("--input", required=True)
    r.add_argument("--log", required=True)
    r.add_argument("--time", required=True)
    r.add_argument("--flags")
    r.add_argument("--extra-cpu", type=float, default=0.0)
    r.add_argument("--extra-rss", type=int, default=0)
    r.add_argument("--note", action="append", default=[])
    r.add_argument("--out", required=True)
    s = sub.add_parser("skip")
    s.add_argument("--tool", required=True)
    s.add_argument("--input", required=True)
    s.add_argument("--note", required=True)
    s.add_argument("--out", required=True)
    args = ap.parse_args()

    if args.cmd == "authwatch":
        authwatch_flags(args.decisions, args.out)
        return 0
    if args.cmd == "skip":
        with open(args.out, "w") as f:
            json.dump({"tool": args.tool, "input": args.input, "skipped": True, "notes": [args.note]}, f, indent=1)
        return 0

    t = parse_time_v(args.time)
    lines = count_lines(args.log)
    cpu = t.get("user_s", 0.0) + t.get("sys_s", 0.0) + args.extra_cpu
    wall = t.get("wall_s", 0.0)
    rec = {"tool": args.tool, "input": args.input, "lines": lines, "wall_s": round(wall, 4),
           "user_s": t.get("user_s"), "sys_s": t.get("sys_s"), "extra_cpu_s": args.extra_cpu,
           "cpu_s": round(cpu, 4), "peak_rss_kb": max(t.get("peak_rss_kb", 0), args.extra_rss),
           "lines_per_s": round(lines / wall) if wall > 0 else None,
           "lines_per_cpu_s": round(lines / cpu) if cpu > 0 else None,
           "exit_status": t.get("exit_status"), "notes": args.note}
    if args.flags:
        with open(args.flags) as f:
            fl = json.load(f)
        for k in ("flagged_ips", "flagged_accounts", "flagged_prefixes", "flagged_account_ip"):
            if k in fl:
                rec[k] = fl[k]
        rec["detail"] = {k: v for k, v in fl.items()
                         if k not in ("flagged_ips", "flagged_accounts", "flagged_prefixes",
                                      "flagged_account_ip", "tool", "lines")}
    with open(args.out, "w") as f:
        json.dump(rec, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
