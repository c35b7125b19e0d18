#!/usr/bin/env python3
"""Scores authwatch decisions against a scenario's labels (from generate.py).

  tests/scenarios/score.py --labels labels.json --decisions decisions.jsonl [--markdown]
                           [--include-dry-run] [--json report.json] [--verbose]

Decisions are JSON lines:
  {"decision_id": "...", "ts": "<RFC 3339 event time>", "subject": {"type": "account"|"ip"|"prefix"|"asn"|
   "account_ip", "value": "..."}, "action": "block"|"challenge"|"monitor"|"unblock", "scope": "all"|"smtp"|...,
   "ttl_s": 3600, "rule": "...", "reasons": [...], "evidence": {...}, "dry_run": false}
prefix values in CIDR form, asn values "AS<number>", account_ip "<account>|<ip>".

Detection: a campaign instance is detected when a decision with action block or challenge and ts in
[start, end + 1h] hits one of its expected_subjects, an attacker ip, a prefix containing an attacker ip,
an ASN in attacker_asns, or an account_ip pairing one of its target/compromised/attacker accounts with an
attacker ip.  Time to detect = ts of the first such decision - campaign start.

Benign impact: block/challenge decisions on benign, not (yet) compromised accounts (subject account or
account_ip), per 10,000 benign accounts; blocks that cover benign shared addresses (office NAT, CGNAT,
relay servers, VPN exits, hotel Wi-Fi) directly, by prefix or by ASN; and the rules behind them.
Always exits 0 (a report, not a gate).  Python 3.11 standard library only.
"""
from __future__ import annotations

import argparse
import bisect
import ipaddress
import json
import re
import sys
from datetime import datetime

HOUR_MS = 3600_000
ACTING = ("block", "challenge")
SHARED_KINDS = ("office_nat", "cgnat", "relay", "vpn_exit", "hotel")


def parse_ts(s):
    """RFC 3339 -> epoch milliseconds (fractions of any length, Z or offset)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|z|[+-]\d\d:\d\d)$", s.strip())
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {s!r}")
    frac = (m.group(2) or ".0")[1:7].ljust(6, "0")
    tz = "+00:00" if m.group(3) in ("Z", "z") else m.group(3)
    return int(datetime.fromisoformat(f"{m.group(1)}.{frac}{tz}").timestamp() * 1000)


def norm_ip(v):
    return ipaddress.ip_address(v.strip()).compressed


def norm_asn(v):
    v = str(v).strip().upper()
    return v if v.startswith("AS") else "AS" + v


def norm_subject(t, v):
    """Canonical (type, value); raises ValueError on a malformed value."""
    t = str(t).strip().lower()
    v = str(v).strip()
    if t == "ip":
        return t, norm_ip(v)
    if t == "prefix":
        return t, ipaddress.ip_network(v, strict=False).compressed
    if t == "asn":
        return t, norm_asn(v)
    if t == "account":
        return t, v.lower()
    if t == "account_ip":
        acc, _, ip = v.rpartition("|")
        if not acc:
            raise ValueError(f"account_ip without '|': {v!r}")
        return t, f"{acc.lower()}|{norm_ip(ip)}"
    raise ValueError(f"unknown subject type {t!r}")


class AddrSet:
    """Addresses as sorted integers per IP version, for 'which of these are inside this prefix'."""

    def __init__(self, ips):
        self.v = {4: [], 6: []}
        self.by_int = {}
        for ip in ips:
            a = ipaddress.ip_address(ip)
            self.v[a.version].append(int(a))
            self.by_int[(a.version, int(a))] = a.compressed
        for k in self.v:
            self.v[k].sort()

    def inside(self, net):
        arr = self.v[net.version]
        lo = bisect.bisect_left(arr, int(net.network_address))
        hi = bisect.bisect_right(arr, int(net.broadcast_address))
        return [self.by_int[(net.version, x)] for x in arr[lo:hi]]


class Campaign:
    def __init__(self, c):
        self.id, self.kind, self.variant = c["id"], c["kind"], c.get("variant")
        self.start = parse_ts(c["start"])
        self.end = parse_ts(c["end"])
        self.deadline = self.end + HOUR_MS
        self.ips = set(norm_ip(x) for x in c.get("attacker_ips", []))
        self.addrs = AddrSet(self.ips)
        self.asns = set(norm_asn(x) for x in c.get("attacker_asns", []))
        self.expected = set()
        for s in c.get("expected_subjects", []):
            try:
                self.expected.add(norm_subject(s["type"], s["value"]))
            except ValueError:
                pass
        self.accounts = set(a.lower() for a in c.get("target_accounts", []) + c.get("compromised_accounts", [])
                            + c.get("attacker_accounts", []))
        self.first = None  # first matching decision

    def matches(self, t, v, net=None):
        if (t, v) in self.expected:
            return True
        if t == "ip":
            return v in self.ips
        if t == "prefix":
            return bool(self.addrs.inside(net))
        if t == "asn":
            return v in self.asns
        if t == "account_ip":
            acc, _, ip = v.rpartition("|")
            return acc in self.accounts and ip in self.ips
        return False


def pct(vals, q):
    """Nearest-rank percentile."""
    if not vals:
        return None
    s = sorted(vals)
    k = max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))
    return s[k]


def fmt_dur(ms):
    if ms is None:
        return "-"
    s = ms / 1000
    if s < 120:
        return f"{s:.0f}s"
    if s < 7200:
        return f"{s / 60:.1f}m"
    return f"{s / 3600:.1f}h"


def table(headers, rows, markdown):
    rows = [[("-" if c is None else str(c)) for c in r] for r in rows]
    if markdown:
        out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w[i]) for i, h in enumerate(headers)), "  ".join("-" * x for x in w)]
    out += ["  ".join(c.ljust(w[i]) for i, c in enumerate(r)) for r in rows]
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", required=True)
    ap.add_argument("--decisions", required=True, help="JSON lines; '-' for stdin")
    ap.add_argument("--markdown", action="store_true", help="markdown tables")
    ap.add_argument("--include-dry-run", action="store_true", help="count decisions with dry_run true")
    ap.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    ap.add_argument("--verbose", action="store_true", help="list every campaign instance")
    args = ap.parse_args(argv)

    with open(args.labels, encoding="utf-8") as f:
        labels = json.load(f)
    camps = [Campaign(c) for c in labels.get("campaigns", [])]
    benign = labels.get("benign", {})

    # ---------------------------------------------------------------- decisions
    decisions, bad, skipped_dry = [], [], 0
    by_action = {}
    stream = sys.stdin if args.decisions == "-" else open(args.decisions, encoding="utf-8")
    for n, line in enumerate(stream, 1):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
            ts = parse_ts(d["ts"])
            st, sv = norm_subject(d["subject"]["type"], d["subject"]["value"])
            action = str(d.get("action", "")).lower()
        except (ValueError, KeyError, TypeError) as e:
            bad.append(f"line {n}: {e}")
            continue
        if d.get("dry_run") and not args.include_dry_run:
            skipped_dry += 1
            continue
        by_action[action] = by_action.get(action, 0) + 1
        net = ipaddress.ip_network(sv, strict=False) if st == "prefix" else None
        decisions.append((ts, st, sv, net, action, d.get("rule") or "?", d.get("scope") or "all"))
    if stream is not sys.stdin:
        stream.close()
    decisions.sort(key=lambda x: x[0])
    acting = [d for d in decisions if d[4] in ACTING]
    acting_ts = [d[0] for d in acting]

    # ---------------------------------------------------------------- detection
    for c in camps:
        lo = bisect.bisect_left(acting_ts, c.start)
        hi = bisect.bisect_right(acting_ts, c.deadline)
        for d in acting[lo:hi]:
            if c.matches(d[1], d[2], d[3]):
                c.first = d
                break
    kinds = list(dict.fromkeys(c.kind for c in camps))
    det_rows, det_json = [], {}
    tot_i = tot_d = 0
    for k in kinds:
        cs = [c for c in camps if c.kind == k]
        hit = [c for c in cs if c.first]
        ttd = [c.first[0] - c.start for c in hit]
        via = {}
        for c in hit:
            key = f"{c.first[1]}:{c.first[4]}"
            via[key] = via.get(key, 0) + 1
        tot_i += len(cs)
        tot_d += len(hit)
        det_rows.append([k, len(cs), len(hit), f"{len(hit) / len(cs):.2f}", fmt_dur(pct(ttd, 50)),
                         fmt_dur(pct(ttd, 90)), ", ".join(f"{a} {b}" for a, b in sorted(via.items())) or "-"])
        det_json[k] = {"instances": len(cs), "detected": len(hit), "recall": len(hit) / len(cs),
                       "ttd_median_s": None if not ttd else pct(ttd, 50) / 1000,
                       "ttd_p90_s": None if not ttd else pct(ttd, 90) / 1000, "first_hit_via": via,
                       "missed": [c.id for c in cs if not c.first]}
    if camps:
        det_rows.append(["ALL", tot_i, tot_d, f"{tot_d / tot_i:.2f}", "", "", ""])

    # ---------------------------------------------------------------- benign impact
    attacker_accounts = set()
    compromised_from = {}   # account -> earliest start of a campaign that compromised it
    target_windows = {}     # account -> [(start, deadline)] of campaigns that targeted it
    all_attack_ips = set()
    for c, raw in zip(camps, labels.get("campaigns", [])):
        all_attack_ips |= c.ips
        for a in raw.get("attacker_accounts", []):
            attacker_accounts.add(a.lower())
        for a in raw.get("compromised_accounts", []):
            a = a.lower()
            compromised_from[a] = min(compromised_from.get(a, c.start), c.start)
        for a in raw.get("target_accounts", []):
            target_windows.setdefault(a.lower(), []).append((c.start, c.deadline))
    benign_accounts = set(a.lower() for a in benign.get("accounts", [])) - attacker_accounts
    n_benign = len(benign_accounts - set(compromised_from))
    shared = {}
    for s in benign.get("shared_addresses", []):
        if s.get("kind") in SHARED_KINDS:
            shared[norm_ip(s["ip"])] = s
    raw_ips = benign.get("ips", {})
    benign_ips = {norm_ip(ip): (raw_ips[ip] if isinstance(raw_ips, dict) else 1) for ip in raw_ips}
    benign_set = AddrSet(benign_ips)
    asn_accounts = {norm_asn(k): v for k, v in benign.get("asn_accounts", {}).items()}
    shared_by_asn = {}
    for ip, s in shared.items():
        if s.get("asn"):
            shared_by_asn.setdefault(norm_asn(s["asn"]), []).append(ip)

    def is_detection(d):
        return any(c.start <= d[0] <= c.deadline and c.matches(d[1], d[2], d[3]) for c in camps)

    fp_accounts = {"block": set(), "challenge": set()}
    victims = {"block": set(), "challenge": set()}
    nets = {}          # (how, action) -> {"decisions", "subjects", "shared", "benign", "accounts"}
    rules = {}         # rule -> {"decisions": n, "subjects": set, "what": {category: n}}

    def blame(rule, category, subject):
        r = rules.setdefault(rule, {"decisions": 0, "subjects": set(), "what": {}})
        r["decisions"] += 1
        r["subjects"].add(subject)
        r["what"][category] = r["what"].get(category, 0) + 1

    for d in acting:
        ts, st, sv, net, action, rule, scope = d
        if st in ("account", "account_ip"):
            acc, _, ip = sv.rpartition("|") if st == "account_ip" else (sv, "", "")
            if acc in attacker_accounts or acc not in benign_accounts:
                continue  # the spammer's own account, or a name that does not exist
            if st == "account_ip" and ip in all_attack_ips:
                continue  # the attacker's side of the pair
            if acc in compromised_from and ts >= compromised_from[acc]:
                continue  # the account is in the attacker's hands
            if is_detection(d):
                continue
            if st == "account" and any(s <= ts <= e for s, e in target_windows.get(acc, ())):
                victims[action].add(acc)  # acting on the victim instead of the attacker
                blame(rule, f"victim_account_{action}", sv)
                continue
            fp_accounts[action].add(acc)
            blame(rule, f"benign_{st}_{action}", sv)
            continue
        # Network subjects: what benign traffic the decision covers, detection or not (collateral).
        if st == "ip":
            covered = [sv] if sv in benign_ips else []
            users = sum(benign_ips[x] for x in covered)
        elif st == "prefix":
            covered = benign_set.inside(net)
            users = sum(benign_ips[x] for x in covered)
        else:
            covered = shared_by_asn.get(sv, [])
            users = asn_accounts.get(sv, 0)
        if not covered and not users:
            continue
        sh = [x for x in covered if x in shared]
        e = nets.setdefault((st, action), {"decisions": 0, "subjects": set(), "shared": set(),
                                             "benign": set(), "accounts": {}})
        e["decisions"] += 1
        e["subjects"].add(sv)
        e["shared"].update(sh)
        e["benign"].update(covered)
        e["accounts"][sv] = users
        if sh:
            kinds_hit = sorted(set(shared[x]["kind"] for x in sh))
            blame(rule, f"{st}_{action} over {'+'.join(kinds_hit)}", sv)
        else:
            blame(rule, f"{st}_{action} over benign users", sv)

    per10k = lambda n: f"{n * 10000 / n_benign:.1f}" if n_benign else "-"
    impact_rows = [
        ["benign accounts blocked (account/account_ip)", len(fp_accounts["block"]), per10k(len(fp_accounts["block"]))],
        ["benign accounts challenged, not blocked", len(fp_accounts["challenge"] - fp_accounts["block"]),
         per10k(len(fp_accounts["challenge"] - fp_accounts["block"]))],
        ["attacked accounts blocked instead of the attacker", len(victims["block"]), per10k(len(victims["block"]))],
        ["attacked accounts challenged instead of the attacker", len(victims["challenge"]),
         per10k(len(victims["challenge"]))],
    ]
    net_rows = []
    for how in ("ip", "prefix", "asn"):
        for action in ACTING:
            e = nets.get((how, action))
            if not e:
                continue
            by_kind = {}
            for ip in e["shared"]:
                by_kind[shared[ip]["kind"]] = by_kind.get(shared[ip]["kind"], 0) + 1
            net_rows.append([f"{action} {how}", e["decisions"], len(e["subjects"]),
                             ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) or "none",
                             len(e["benign"]) if how != "asn" else "all",
                             sum(e["accounts"].values())])
    rule_rows = []
    for rule, r in sorted(rules.items(), key=lambda kv: (-kv[1]["decisions"], kv[0]))[:15]:
        rule_rows.append([rule, r["decisions"], len(r["subjects"]),
                          ", ".join(f"{k} {v}" for k, v in sorted(r["what"].items(), key=lambda kv: -kv[1]))])

    # ---------------------------------------------------------------- print
    md = args.markdown
    h = (lambda s: f"\n## {s}\n") if md else (lambda s: f"\n{s}\n{'=' * len(s)}")
    gen = labels.get("generator", {})
    print(("# " if md else "") + f"authwatch scenario score — seed {gen.get('seed')}, {gen.get('accounts')} accounts, "
          f"{gen.get('days')} days, {gen.get('events')} events")
    print(f"\ndecisions: {len(decisions)} counted ({', '.join(f'{k} {v}' for k, v in sorted(by_action.items())) or 'none'}); "
          f"{skipped_dry} dry-run skipped; {len(bad)} malformed")
    for b in bad[:5]:
        print(f"  malformed {b}")
    print(h("Detection by campaign kind"))
    print(table(["kind", "instances", "detected", "recall", "ttd median", "ttd p90", "first hit via"], det_rows, md))
    if args.verbose:
        print(h("Campaign instances"))
        rows = []
        for c in camps:
            f = c.first
            rows.append([c.id, c.variant or "", "yes" if f else "NO", fmt_dur(f[0] - c.start) if f else "-",
                         f"{f[1]} {f[2]} ({f[4]}, {f[5]})" if f else ""])
        print(table(["instance", "variant", "detected", "ttd", "first decision"], rows, md))
    print(h(f"Benign impact ({n_benign} benign accounts)"))
    print(table(["accounts acted on", "accounts", "per 10k benign"], impact_rows, md))
    print()
    if net_rows:
        print(table(["network decisions covering benign users", "decisions", "subjects",
                     "shared addresses covered (office NAT, CGNAT, relay, VPN exit, hotel)",
                     "benign addresses", "benign accounts behind"], net_rows, md))
        print(("\n" if md else "") + "(benign accounts behind: for ip/prefix the sum over covered addresses of the accounts seen on "
              "each; for asn every benign account that used the ASN)")
    else:
        print("network decisions covering benign users: none")
    print(h("Rules behind false positives and collateral (top 15)"))
    if rule_rows:
        print(table(["rule", "decisions", "subjects", "what"], rule_rows, md))
    else:
        print("none")

    if args.json:
        out = {"decisions": len(decisions), "by_action": by_action, "dry_run_skipped": skipped_dry,
               "malformed": len(bad), "detection": det_json, "benign_accounts": n_benign,
               "benign_accounts_blocked": len(fp_accounts["block"]),
               "benign_accounts_challenged": len(fp_accounts["challenge"] - fp_accounts["block"]),
               "victim_accounts_blocked": len(victims["block"]),
               "network_collateral": {f"{a}:{b}": {"decisions": v["decisions"], "subjects": len(v["subjects"]),
                                                   "shared_addresses": sorted(v["shared"]),
                                                   "benign_addresses": len(v["benign"]),
                                                   "benign_accounts_behind": sum(v["accounts"].values())}
                                      for (a, b), v in nets.items()},
               "fp_rules": {k: {"decisions": v["decisions"], "subjects": len(v["subjects"]), "what": v["what"]}
                            for k, v in rules.items()}}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        pass
    except (OSError, json.JSONDecodeError, KeyError) as e:
        print(f"score.py: {e}", file=sys.stderr)
    sys.exit(0)
