#!/usr/bin/env python3
"""Checks a generated scenario: the events file against the schema, its order, and the labels.

  tests/scenarios/check.py --events events.jsonl --labels labels.json

Checks: every line is canonical JSON with the documented keys and values, reason only on failures,
timestamps non-decreasing and inside the period; every attacker address of every campaign appears in the
events (and only in that campaign's events), compromised accounts really log in from the attacker address
at the labelled time, expected subjects occur in the events, no attacker address is a benign one; and, with
the DB-IP city database, that labelled countries match DB-IP, that impossible-travel takeovers are really
impossible (speed from the user's anchor login), that new-country takeovers come from a country the account
never used, and how fast travellers appear to move.  Exits 1 on a failed check.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import sys
from datetime import datetime

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402  (the MMDB reader and the data directories)

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
KEYS_OK = ["ts", "account", "ip", "result", "protocol", "user_agent"]
KEYS_FAIL = KEYS_OK + ["reason"]
PROTOCOLS = {"smtp", "imap", "pop3", "web", "ssh"}
REASONS = {"bad_password", "unknown_user"}


def ms(ts):
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def to_int(ip):
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    return (6 if ":" in ip else 4), int.from_bytes(socket.inet_pton(fam, ip), "big")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--geoip-dir", default=None)
    args = ap.parse_args(argv)
    errors = []

    def err(msg):
        if len(errors) < 50:
            print("FAIL:", msg)
        errors.append(msg)

    labels = json.load(open(args.labels, encoding="utf-8"))
    gen = labels["generator"]
    t0, t1 = ms(gen["start"]), ms(gen["end"])
    camps = labels["campaigns"]
    ip_owner = {}
    for c in camps:
        for ip in c["attacker_ips"]:
            if ip in ip_owner:
                err(f"{ip} is an attacker address of both {ip_owner[ip]} and {c['id']}")
            ip_owner[ip] = c["id"]
    benign_ips = set(labels["benign"]["ips"])
    both = benign_ips & set(ip_owner)
    if both:
        err(f"{len(both)} attacker addresses are also benign, e.g. {sorted(both)[:3]}")

    # ------------------------------------------------------------------ events
    n = 0
    last = ""
    per_camp = {c["id"]: 0 for c in camps}
    seen_ip = set()
    pairs = set()
    successes = set()  # (account, ip, ts)
    acc_ips = {}       # account -> {ip: [first_ts, last_ts]}
    track = set()
    for c in camps:
        track.update(c["target_accounts"][:5] if c["kind"] in ("password_spray", "credential_stuffing")
                     else c["target_accounts"])
    track.update(t["account"] for t in labels["benign"]["travellers"])
    by_result = {"success": 0, "failure": 0}
    with open(args.events, encoding="utf-8") as f:
        for line in f:
            n += 1
            try:
                e = json.loads(line)
            except ValueError:
                err(f"line {n}: not JSON")
                continue
            keys = list(e)
            if keys != (KEYS_FAIL if e.get("result") == "failure" else KEYS_OK):
                err(f"line {n}: keys {keys}")
            if not TS.match(e["ts"]):
                err(f"line {n}: ts {e['ts']!r}")
            if e["ts"] < last:
                err(f"line {n}: out of order ({e['ts']} after {last})")
            last = e["ts"]
            if e["result"] not in by_result or e["protocol"] not in PROTOCOLS:
                err(f"line {n}: result/protocol {e['result']}/{e['protocol']}")
            by_result[e["result"]] = by_result.get(e["result"], 0) + 1
            if e["result"] == "failure" and e.get("reason") not in REASONS:
                err(f"line {n}: reason {e.get('reason')!r}")
            t = ms(e["ts"])
            if not t0 <= t < t1:
                err(f"line {n}: ts outside the period")
            ip = e["ip"]
            owner = ip_owner.get(ip)
            if owner:
                per_camp[owner] += 1
                seen_ip.add(ip)
                pairs.add(f"{e['account']}|{ip}")
                if e["result"] == "success":
                    successes.add((e["account"], ip, e["ts"]))
            if e["account"] in track:
                d = acc_ips.setdefault(e["account"], {})
                d.setdefault(ip, []).append(t)
    if n != gen["events"]:
        err(f"events file has {n} lines, labels say {gen['events']}")

    # ------------------------------------------------------------------ labels
    for c in camps:
        cid = c["id"]
        missing = [ip for ip in c["attacker_ips"] if ip not in seen_ip]
        if missing:
            err(f"{cid}: {len(missing)} attacker addresses never appear, e.g. {missing[:3]}")
        if per_camp[cid] != c["events"]:
            err(f"{cid}: {per_camp[cid]} events from its addresses, labels say {c['events']}")
        if c["start"] > c["end"]:
            err(f"{cid}: start after end")
        for w in c["compromised"]:
            if (w["account"], w["ip"], w["ts"]) not in successes:
                err(f"{cid}: no successful login of {w['account']} from {w['ip']} at {w['ts']}")
        for s in c["expected_subjects"]:
            t, v = s["type"], s["value"]
            if t == "ip" and v not in c["attacker_ips"]:
                err(f"{cid}: expected ip {v} is not an attacker address")
            if t == "account_ip" and v not in pairs:
                err(f"{cid}: expected pair {v} never occurs")
            if t == "prefix" and v not in c["attacker_prefixes"]:
                err(f"{cid}: expected prefix {v} holds no attacker address")
            if t == "asn" and v not in c["attacker_asns"]:
                err(f"{cid}: expected {v} is not an attacker ASN")
    kinds = {}
    for c in camps:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1

    # ------------------------------------------------------------------ geography
    _, city_dir = generate.find_dirs(argparse.Namespace(geoip_dir=args.geoip_dir))
    dbs = {}
    for v in (4, 6):
        p = os.path.join(city_dir, f"dbip-city-ipv{v}.mmdb")
        if os.path.exists(p):
            dbs[v] = generate.MMDB(p)
    geo_notes = []

    def geo(ip):
        v, x = to_int(ip)
        if v not in dbs:
            return None
        r = dbs[v].lookup_int(x, 32 if v == 4 else 128)
        return (r["country_code"], r["latitude"], r["longitude"]) if r else None

    if dbs:
        bad = 0
        checked = 0
        for c in camps:
            for ip, det in c["attacker_ip_details"].items():
                g = geo(ip)
                checked += 1
                if not g or g[0] != det["country"]:
                    bad += 1
        for s in labels["benign"]["shared_addresses"]:
            g = geo(s["ip"])
            checked += 1
            if s["country"] and (not g or g[0] != s["country"]):
                bad += 1
        if bad and gen.get("geo_checked"):
            err(f"{bad} of {checked} labelled countries differ from DB-IP")
        elif bad:
            geo_notes.append(f"{bad} of {checked} labelled countries differ from DB-IP (generated with --no-geo: "
                             f"countries are the ASNs' home markets)")
        else:
            geo_notes.append(f"{checked} labelled countries agree with DB-IP")
        for c in camps:
            if c["kind"] == "impossible_travel":
                a = c["anchor"]
                ga, gb = geo(a["ip"]), geo(c["compromised"][0]["ip"])
                dt_h = (ms(c["compromised"][0]["ts"]) - ms(a["ts"])) / 3600_000
                km = generate.haversine_km(ga[1:], gb[1:])
                speed = km / max(dt_h, 1e-6)
                geo_notes.append(f"{c['id']}: {ga[0]} -> {gb[0]}, {km:.0f} km in {dt_h * 60:.0f} min = {speed:.0f} km/h")
                if speed < 1500:
                    err(f"{c['id']}: takeover at {speed:.0f} km/h is not impossible travel")
            if c["kind"] == "new_country_takeover":
                acc = c["target_accounts"][0]
                ip = c["compromised"][0]["ip"]
                cc = geo(ip)[0]
                used = set()
                for uip, _ in acc_ips.get(acc, {}).items():
                    if uip not in ip_owner:
                        g = geo(uip)
                        if g:
                            used.add(g[0])
                geo_notes.append(f"{c['id']}: account used {sorted(used)}, taker from {cc}")
                if cc in used:
                    err(f"{c['id']}: takeover country {cc} was already used by {acc}")
        # Travellers: fastest apparent move between consecutive logins from two countries.
        fast = fast_roaming = 0
        shared_kind = {s["ip"]: s["kind"] for s in labels["benign"]["shared_addresses"]}
        for t in labels["benign"]["travellers"]:
            seq = sorted((ts, ip) for ip, tss in acc_ips.get(t["account"], {}).items() for ts in tss)
            prev = None
            for ts, ip in seq:
                g = geo(ip)
                if g is None:
                    continue
                if prev and prev[1][0] != g[0]:
                    km = generate.haversine_km(prev[1][1:], g[1:])
                    h = max((ts - prev[0]) / 3600_000, 1e-6)
                    if km > 500 and km / h > 1000:
                        fast += 1
                        if shared_kind.get(ip) == "cgnat" or shared_kind.get(prev[2]) == "cgnat":
                            fast_roaming += 1
                prev = (ts, g, ip)
        # The flight itself: last login at home before departure to first login at the destination.
        top = 0.0
        for t in labels["benign"]["travellers"]:
            seq = sorted((ts, ip) for ip, tss in acc_ips.get(t["account"], {}).items() for ts in tss)
            dep, arr = ms(t["depart"]), ms(t["arrive"])
            before = [(ts, geo(ip)) for ts, ip in seq if ts < dep]
            before = [x for x in before if x[1] and x[1][0] == t["home"]]
            after = [(ts, geo(ip)) for ts, ip in seq if ts >= arr]
            after = [x for x in after if x[1] and x[1][0] == t["dest"]]
            if before and after:
                km = generate.haversine_km(before[-1][1][1:], after[0][1][1:])
                speed = km / max((after[0][0] - before[-1][0]) / 3600_000, 1e-6)
                top = max(top, speed)
                if speed > 1000 and gen.get("geo_checked"):
                    err(f"traveller {t['account']}: flight {t['home']} -> {t['dest']} at {speed:.0f} km/h")
        geo_notes.append(f"travellers' flights (last login at home -> first at the destination): at most {top:.0f} km/h")
        geo_notes.append(f"travellers: {len(labels['benign']['travellers'])}, country changes faster than "
                         f"1000 km/h between consecutive logins: {fast}, {fast_roaming} of them with a home "
                         f"carrier's CGNAT address (home-routed roaming); the rest are home computers left on "
                         f"and phones roaming on IPv6")
    else:
        geo_notes.append("DB-IP city database not found: geography not checked")

    print(f"events: {n} ({by_result['success']} success, {by_result['failure']} failure), "
          f"period {gen['start']} .. {gen['end']}")
    print(f"campaigns: {len(camps)} instances " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
    print(f"benign: {len(labels['benign']['accounts'])} accounts, {len(benign_ips)} addresses, "
          f"{len(labels['benign']['shared_addresses'])} shared addresses")
    for g in geo_notes:
        print("  " + g)
    if errors:
        print(f"check.py: {len(errors)} problem(s)")
        return 1
    print("check.py: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
