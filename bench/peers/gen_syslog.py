#!/usr/bin/env python3
"""Labelled syslog generator for the peer comparison (bench/peers/).

Writes about --lines lines of classic RFC 3164 syslog (year-less: `Nov  2 10:00:01 mail
sshd[1234]: ...`) as one mail/shell host would log them (sshd, dovecot, postfix in one file),
time-sorted, and a ground-truth JSON that says which addresses and accounts belong to which
attack campaign and which addresses are benign.

  bench/peers/gen_syslog.py --seed 1 --lines 1000000 --out auth.log --truth truth.json

The line shapes are the real ones of OpenSSH with pam_unix, Dovecot 2.3 (auth_verbose=yes) and
Postfix 3.x with Dovecot SASL:
  sshd      `Invalid user`, `pam_unix(sshd:auth): check pass; user unknown`,
            `pam_unix(sshd:auth): authentication failure; ... rhost=... [user=...]`,
            `Failed password for [invalid user] U from A port P ssh2`,
            `message repeated N times: [ Failed password ...]` (rsyslog's reduction of identical
            consecutive messages of one connection), `error: maximum authentication attempts
            exceeded`, `Disconnecting authenticating user ...: Too many authentication failures`,
            `PAM N more authentication failures`, `Connection closed by ... [preauth]`,
            `Accepted password|publickey for`, session opened/closed, scanner noise.
  dovecot   `auth-worker(N): pam(U,A,<S>): pam_authenticate() failed: Authentication failure
            (password mismatch?)` / `... unknown user`, `imap-login: Disconnected (auth failed, N
            attempts in S secs): user=<U>, method=PLAIN, rip=A, lip=L, TLS, session=<S>`,
            `imap-login: Login: user=<U>, method=PLAIN, rip=A, lip=L, mpid=N, TLS, session=<S>`,
            `imap(U)<N><S>: Logged out ...` (and pop3).
  postfix   `connect from unknown[A]`, `warning: unknown[A]: SASL LOGIN authentication failed:
            UGFzc3dvcmQ6, sasl_username=U`, `lost connection after AUTH from unknown[A]`,
            `QID: client=unknown[A], sasl_method=LOGIN, sasl_username=U`, cleanup/qmgr/smtp
            delivery lines, `disconnect from unknown[A] ehlo=1 auth=0/1 ...`.

Population (benign): mailbox users with a phone (behind a few carrier-grade NAT addresses shared
by every phone of the carrier, re-assigned every few hours), a home line (some with IPv6) and,
for most, an office NAT address shared by their colleagues; IMAP clients poll, users send mail,
make typos (a few failures then success from the same address) and some have a stale client with
an old password that keeps failing at every poll from a home or office address. A few admins log
in over SSH (publickey, password with the odd typo), a CI job deploys over SSH. Scanner noise
(connections without an authentication attempt) is labelled `noise` (neither attack nor benign).

Attack campaigns (kinds): fast_bf (SSH and IMAP/SMTP, an attempt every 1-4 s), slow_bf (one
attempt every 6-30 min for hours or days), spraying (one password over many accounts from one
address; SSH user enumeration), distributed (hundreds of addresses, 1-3 attempts each, against
one account), fail_then_succeed (a few failures on one account, then a successful login: the
account is compromised). Addresses of different groups never overlap.

Deterministic for a seed; Python 3 standard library only; ~15 s for 1M lines.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timezone

HOST = "mail"
DOMAIN = "mail.example"
LIP = "192.0.2.10"  # the server's own address (documentation range), dovecot's lip=

FIRST = ("alice bob carol dave erin frank grace heidi ivan judy mallory nina oscar peggy quentin "
         "rita sybil trent uma victor wendy xavier yvonne zoe anna ben clara daniel emma felix "
         "hanna jonas lea lukas mia noah paul sara tim julia max laura leon sophie marie elias "
         "ida jan karl lena moritz nora otto pia").split()
LAST = ("smith jones brown miller davis garcia wilson moore taylor thomas white martin clark lewis "
        "walker hall young king wright scott green baker adams nelson hill campbell mitchell "
        "roberts carter phillips evans turner torres parker collins edwards stewart morris murphy "
        "cook rogers morgan cooper peterson bailey reed kelly howard cox ward richardson wood "
        "watson brooks bennett gray james hughes price sanders myers long ross foster").split()
SSH_SPRAY_USERS = ("admin test user ubuntu oracle postgres git guest ftpuser www-data pi support "
                   "jenkins hadoop nagios minecraft steam deploy centos debian ansible mysql "
                   "tomcat elastic redis docker dev administrator backup info operator "
                   "test1 test2 user1 demo student teamspeak ts3 vagrant odoo ftp "
                   "sftp web www mail apache nginx zabbix").split()
SSH_BF_USERS = ["root"] * 6 + ["admin", "ubuntu", "test", "oracle", "user", "postgres", "git"]
MAIL_GUESSES = ("info admin office contact sales support webmaster postmaster test user "
                "billing hr jobs marketing noreply service booking shop mail abuse").split()

# First octets / prefixes for address pools. The addresses are only strings in a file.
HOSTING_P16 = ["45.155", "185.220", "193.32", "141.98", "92.118", "194.26", "103.145",
               "218.92", "61.177", "222.186", "159.203", "167.99", "178.128", "206.189",
               "134.209", "5.188", "80.94", "89.248", "91.240", "212.70"]
# Benign users live in one country (Germany), so that GeoIP-based detectors see a plausible
# geography: home lines from Deutsche Telekom /10s and Vodafone cable, phones behind the mobile
# carriers' NAT ranges, offices on business access (checked against DB-IP Lite).
RESIDENTIAL_RANGES = [(79, 192, 255), (84, 128, 191), (87, 128, 191), (91, 0, 63), (93, 192, 255),
                      (217, 224, 255), (2, 200, 200), (31, 16, 16), (178, 24, 24)]
BOTNET_P8 = [1, 14, 27, 36, 39, 42, 49, 58, 59, 60, 101, 110, 112, 113, 115, 116, 117, 119,
             120, 121, 122, 123, 124, 125, 175, 177, 179, 180, 181, 182, 183, 186, 187, 189,
             190, 191, 200, 201]
CGNAT_P16 = ["37.24", "80.187", "176.2", "46.114", "109.43", "176.0", "77.0"]
OFFICE_P16 = ["62.96", "194.25", "213.61", "80.153", "193.158"]


class Gen:
    def __init__(self, seed: int, start: datetime, days: float):
        self.rng = random.Random(seed)
        self.t0 = int(start.timestamp())
        self.t1 = self.t0 + int(days * 86400)
        self.ev: list[tuple[int, int, str]] = []
        self.seq = 0
        self.used_ips: set[str] = set()
        self.pid_next = 2000
        self.qid_n = 0
        self.instances: list[dict] = []

    # ---- primitives -------------------------------------------------------------------------
    def emit(self, t: float, text: str) -> None:
        t = int(t)
        if t < self.t0 or t >= self.t1:
            return
        self.seq += 1
        self.ev.append((t, self.seq, text))

    def pid(self) -> int:
        self.pid_next += self.rng.randint(1, 40)
        if self.pid_next > 4_000_000:
            self.pid_next = 2000
        return self.pid_next

    def port(self) -> int:
        return self.rng.randint(1025, 65535)

    def qid(self) -> str:
        self.qid_n += 1
        alphabet = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
        n, s = self.qid_n * 7919 + 1_000_003, []
        for _ in range(11):
            n, r = divmod(n, len(alphabet))
            s.append(alphabet[r])
        return "4" + "".join(s)

    def sess(self) -> str:
        return "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                       for _ in range(16))

    def _fresh(self, make) -> str:
        for _ in range(1000):
            ip = make()
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip
        raise RuntimeError("address pool exhausted")

    def ip_hosting(self) -> str:
        r = self.rng
        return self._fresh(lambda: f"{r.choice(HOSTING_P16)}.{r.randint(0, 255)}.{r.randint(1, 254)}")

    def ip_residential(self) -> str:
        r = self.rng
        def make():
            a, lo, hi = r.choice(RESIDENTIAL_RANGES)
            return f"{a}.{r.randint(lo, hi)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        return self._fresh(make)

    def ip_botnet(self) -> str:
        r = self.rng
        return self._fresh(lambda: f"{r.choice(BOTNET_P8)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}")

    def ip_cgnat(self) -> str:
        r = self.rng
        return self._fresh(lambda: f"{r.choice(CGNAT_P16)}.{r.randint(0, 255)}.{r.randint(1, 254)}")

    def ip_office(self) -> str:
        r = self.rng
        return self._fresh(lambda: f"{r.choice(OFFICE_P16)}.{r.randint(0, 255)}.{r.randint(1, 254)}")

    def ip6_home(self) -> str:
        r = self.rng
        return self._fresh(lambda: "2003:%x:%x:%x:%x:%x:%x:%x" % ((r.randint(0xc0, 0x1fff),) + tuple(r.randint(1, 0xffff) for _ in range(6))))

    def ip6_hosting(self) -> str:
        r = self.rng
        return self._fresh(lambda: "2a01:4f8:%x:%x::%x" % (r.randint(1, 0xfff), r.randint(1, 0xffff), r.randint(2, 0xff)))

    # ---- sshd -------------------------------------------------------------------------------
    def ssh_fail_conn(self, t: float, ip: str, user: str, valid: bool, attempts: int,
                      gap: float = 2.0, repeated: bool = True) -> float:
        """One sshd connection with `attempts` failed passwords; returns its end time."""
        p, port = self.pid(), self.port()
        pfx = f"sshd[{p}]: "
        if not valid:
            self.emit(t, f"{pfx}Invalid user {user} from {ip} port {port}")
        t += gap  # pam_unix's fail delay: PAM logs first, then sshd
        if not valid:
            self.emit(t, f"{pfx}pam_unix(sshd:auth): check pass; user unknown")
            self.emit(t, f"{pfx}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}")
        else:
            self.emit(t, f"{pfx}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}")
        failed = f"Failed password for {'invalid user ' if not valid else ''}{user} from {ip} port {port} ssh2"
        self.emit(t, pfx + failed)
        if attempts > 1:
            t_last = t + gap * (attempts - 1)
            if repeated:
                self.emit(t_last, f"{pfx}message repeated {attempts - 1} times: [ {failed}]")
            else:
                for k in range(1, attempts):
                    self.emit(t + gap * k, pfx + failed)
            t = t_last
        who = f"{'invalid' if not valid else 'authenticating'} user {user}"
        if attempts >= 6:
            self.emit(t, f"{pfx}error: maximum authentication attempts exceeded for {'invalid user ' if not valid else ''}{user} from {ip} port {port} ssh2 [preauth]")
            self.emit(t, f"{pfx}Disconnecting {who} {ip} port {port}: Too many authentication failures [preauth]")
        else:
            self.emit(t + 0.5, f"{pfx}Connection closed by {who} {ip} port {port} [preauth]")
        if attempts > 1:
            self.emit(t + 0.5, f"{pfx}PAM {attempts - 1} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}" + ("" if not valid else f"  user={user}"))
        return t + 0.5

    def ssh_success(self, t: float, ip: str, user: str, method: str = "publickey", fails: int = 0,
                    duration: float = 600) -> float:
        p, port = self.pid(), self.port()
        pfx = f"sshd[{p}]: "
        if fails:
            for k in range(fails):
                t += self.rng.uniform(2, 6)
                if k == 0:
                    self.emit(t, f"{pfx}pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}")
                self.emit(t, f"{pfx}Failed password for {user} from {ip} port {port} ssh2")
            t += self.rng.uniform(2, 8)
        if method == "publickey":
            fp = "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(43))
            self.emit(t, f"{pfx}Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 SHA256:{fp}")
        else:
            self.emit(t, f"{pfx}Accepted password for {user} from {ip} port {port} ssh2")
        uid = 1000 + (sum(map(ord, user)) % 500)
        self.emit(t, f"{pfx}pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)")
        t2 = t + duration
        self.emit(t2, f"{pfx}Received disconnect from {ip} port {port}:11: disconnected by user")
        self.emit(t2, f"{pfx}Disconnected from user {user} {ip} port {port}")
        self.emit(t2, f"{pfx}pam_unix(sshd:session): session closed for user {user}")
        return t2

    def ssh_noise(self, t: float, ip: str) -> None:
        p, port = self.pid(), self.port()
        k = self.rng.random()
        if k < 0.4:
            self.emit(t, f"sshd[{p}]: Connection closed by {ip} port {port} [preauth]")
        elif k < 0.7:
            self.emit(t, f"sshd[{p}]: Did not receive identification string from {ip} port {port}")
        elif k < 0.85:
            self.emit(t, f"sshd[{p}]: banner exchange: Connection from {ip} port {port}: invalid format")
        else:
            self.emit(t, f"sshd[{p}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]")
            self.emit(t, f"sshd[{p}]: Disconnected from {ip} port {port} [preauth]")

    # ---- dovecot ----------------------------------------------------------------------------
    def imap_fail(self, t: float, ip: str, user: str, attempts: int = 1, known: bool = True,
                  proto: str = "imap") -> float:
        s = self.sess()
        w = self.rng.randint(1000, 99999)
        t0 = t
        for _ in range(attempts):
            if known:
                self.emit(t, f"dovecot: auth-worker({w}): pam({user},{ip},<{s}>): pam_authenticate() failed: Authentication failure (password mismatch?)")
            else:
                self.emit(t, f"dovecot: auth-worker({w}): pam({user},{ip},<{s}>): unknown user")
            t += self.rng.uniform(1.5, 3.0)
        secs = max(1, int(t - t0))
        self.emit(t, f"dovecot: {proto}-login: Disconnected (auth failed, {attempts} attempts in {secs} secs): user=<{user}>, method=PLAIN, rip={ip}, lip={LIP}, TLS, session=<{s}>")
        return t

    def imap_login(self, t: float, ip: str, user: str, duration: float = 60, proto: str = "imap") -> None:
        s, m = self.sess(), self.pid()
        self.emit(t, f"dovecot: {proto}-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip={LIP}, mpid={m}, TLS, session=<{s}>")
        if proto == "imap":
            self.emit(t + duration, f"dovecot: imap({user})<{m}><{s}>: Logged out in={self.rng.randint(60, 900)} out={self.rng.randint(500, 90000)} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0")
        else:
            self.emit(t + duration, f"dovecot: pop3({user})<{m}><{s}>: Disconnected: Logged out top=0/0, retr=0/0, del=0/{self.rng.randint(0, 40)}, size={self.rng.randint(1000, 900000)}")

    # ---- postfix ----------------------------------------------------------------------------
    def smtp_daemon(self) -> str:
        return self.rng.choice(["postfix/submission/smtpd", "postfix/submission/smtpd", "postfix/smtps/smtpd"])

    def smtp_fail(self, t: float, ip: str, user: str, attempts: int = 1, daemon: str | None = None,
                  lost: bool = False) -> float:
        d = daemon or self.smtp_daemon()
        p = self.pid()
        self.emit(t, f"{d}[{p}]: connect from unknown[{ip}]")
        for _ in range(attempts):
            t += self.rng.uniform(0.5, 2.0)
            if self.rng.random() < 0.7:
                self.emit(t, f"{d}[{p}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={user}")
            else:
                self.emit(t, f"{d}[{p}]: warning: unknown[{ip}]: SASL PLAIN authentication failed: authentication failure, sasl_username={user}")
        t += self.rng.uniform(0.1, 1.0)
        if lost:
            self.emit(t, f"{d}[{p}]: lost connection after AUTH from unknown[{ip}]")
            self.emit(t, f"{d}[{p}]: disconnect from unknown[{ip}] ehlo=1 auth=0/{attempts} commands=1/{attempts + 1}")
        else:
            self.emit(t, f"{d}[{p}]: disconnect from unknown[{ip}] ehlo=1 auth=0/{attempts} rset=1 quit=1 commands=3/{attempts + 3}")
        return t

    def smtp_send(self, t: float, ip: str, user: str, nmail: int = 1, fails: int = 0) -> None:
        d = self.smtp_daemon()
        p = self.pid()
        self.emit(t, f"{d}[{p}]: connect from unknown[{ip}]")
        for _ in range(fails):
            t += self.rng.uniform(0.5, 2.0)
            self.emit(t, f"{d}[{p}]: warning: unknown[{ip}]: SASL PLAIN authentication failed: authentication failure, sasl_username={user}")
        for _ in range(nmail):
            t += self.rng.uniform(0.3, 2.0)
            q = self.qid()
            self.emit(t, f"{d}[{p}]: {q}: client=unknown[{ip}], sasl_method={self.rng.choice(['PLAIN', 'LOGIN'])}, sasl_username={user}")
            self.emit(t, f"postfix/cleanup[{self.rng.randint(3000, 9000)}]: {q}: message-id=<{self.sess()}@{DOMAIN}>")
            self.emit(t, f"postfix/qmgr[1187]: {q}: from=<{user}>, size={self.rng.randint(900, 300000)}, nrcpt=1 (queue active)")
            t2 = t + self.rng.uniform(0.2, 3.0)
            rcpt = f"{self.rng.choice(FIRST)}@example.{self.rng.choice(['com', 'net', 'org'])}"
            self.emit(t2, f"postfix/smtp[{self.rng.randint(3000, 9000)}]: {q}: to=<{rcpt}>, relay=mx.example.net[203.0.113.25]:25, delay={t2 - t:.1f}, delays=0.1/0/0.2/0.3, dsn=2.0.0, status=sent (250 2.0.0 OK)")
            self.emit(t2, f"postfix/qmgr[1187]: {q}: removed")
        t += self.rng.uniform(0.1, 1.0)
        self.emit(t, f"{d}[{p}]: disconnect from unknown[{ip}] ehlo=1 auth=1/{1 + fails} mail={nmail} rcpt={nmail} data={nmail} quit=1 commands={3 + 3 * nmail}/{3 + 3 * nmail + fails}")

    def mail_fail(self, t: float, ip: str, user: str, attempts: int = 1, known: bool = True,
                  service: str = "imap", lost: bool = False) -> float:
        if service == "smtp":
            return self.smtp_fail(t, ip, user, attempts, lost=lost)
        return self.imap_fail(t, ip, user, attempts, known, proto=service)


def build(args) -> dict:
    start = datetime.strptime(args.start, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    g = Gen(args.seed, start, args.days)
    r = g.rng
    T0, T1 = g.t0, g.t1
    span = T1 - T0

    # ---------------------------------------------------------------- mailbox accounts
    names: list[str] = []
    seen = set()
    while len(names) < 6000:
        n = f"{r.choice(FIRST)}.{r.choice(LAST)}"
        if n in seen:
            n = f"{n}{r.randint(2, 99)}"
        if n in seen:
            continue
        seen.add(n)
        names.append(f"{n}@{DOMAIN}")
    mailbox_pool = names  # benign users take from the front; attackers may guess any of them

    truth_campaigns: dict[str, dict] = {k: {"ips": set(), "accounts": set(), "instances": 0}
                                        for k in ("fast_bf", "slow_bf", "spraying", "distributed", "fail_then_succeed")}

    def record(kind: str, service: str, ips: list[str], accounts: list[str], attempts: int,
               first: float, last: float, **extra) -> None:
        c = truth_campaigns[kind]
        c["ips"].update(ips)
        c["accounts"].update(accounts)
        c["instances"] += 1
        inst = {"kind": kind, "service": service, "ips": ips, "accounts": accounts,
                "attempts": attempts, "first": int(first), "last": int(last)}
        inst.update(extra)
        g.instances.append(inst)

    S = args.scale  # campaign size multiplier

    # ---------------------------------------------------------------- attack: fast brute force
    for i in range(int(20 * S)):  # SSH
        ip = g.ip6_hosting() if i < 2 else g.ip_hosting()
        t = T0 + r.uniform(0, span - 7200)
        t_first = t
        n = r.randint(150, 900)
        done = 0
        while done < n:
            k = min(n - done, r.choice([1, 1, 1, 2, 3, 6]))
            user = r.choice(SSH_BF_USERS)
            valid = user in ("root", "ubuntu", "git", "postgres")
            t = g.ssh_fail_conn(t, ip, user, valid, k, gap=r.uniform(1.0, 3.0), repeated=r.random() < 0.6)
            t += r.uniform(0.5, 4.0)
            done += k
        record("fast_bf", "ssh", [ip], ["root"], n, t_first, t)
    for i in range(int(10 * S)):  # IMAP / SMTP
        ip = g.ip_hosting()
        svc = "smtp" if i % 2 else "imap"
        targets = r.sample(mailbox_pool[:1500], r.randint(1, 3))
        t = T0 + r.uniform(0, span - 7200)
        t_first = t
        n = r.randint(150, 600)
        for j in range(n):
            t = g.mail_fail(t, ip, targets[j % len(targets)], 1, True, svc, lost=r.random() < 0.3)
            t += r.uniform(0.5, 3.0)
        record("fast_bf", svc, [ip], targets, n, t_first, t)

    # ---------------------------------------------------------------- attack: slow brute force
    for i in range(int(30 * S)):
        ip = g.ip_hosting() if i % 3 else g.ip_botnet()
        svc = ["ssh", "imap", "smtp"][i % 3]
        target = "root" if svc == "ssh" else r.choice(mailbox_pool[:1500])
        dur = r.uniform(10, 60) * 3600
        t = T0 + r.uniform(0, max(1, span - dur))
        t_first, n = t, 0
        lo, hi = r.choice([(360, 900), (600, 1200), (900, 1800)])
        while t < min(T1, t_first + dur):
            if svc == "ssh":
                g.ssh_fail_conn(t, ip, target, True, 1)
            else:
                g.mail_fail(t, ip, target, 1, True, svc)
            n += 1
            t += r.uniform(lo, hi)
        record("slow_bf", svc, [ip], [target], n, t_first, t, interval_s=[lo, hi])

    # ---------------------------------------------------------------- attack: password spraying
    for i in range(int(20 * S)):  # mail: one password over many accounts
        ip = g.ip_hosting() if i % 4 else g.ip_botnet()
        svc = "imap" if i % 2 else "smtp"
        n = r.randint(120, 400)
        accts = []
        for _ in range(n):
            if r.random() < 0.7:
                accts.append((r.choice(mailbox_pool[:3000]), True))
            else:
                accts.append((f"{r.choice(MAIL_GUESSES)}{r.choice(['', '', '1', '2024'])}@{DOMAIN}", False))
        gap = r.choice([(20, 60), (40, 120), (60, 240)])
        t = T0 + r.uniform(0, max(1, span - n * gap[1]))
        t_first = t
        for u, known in accts:
            g.mail_fail(t, ip, u, 1, known, svc, lost=r.random() < 0.2)
            t += r.uniform(*gap)
        record("spraying", svc, [ip], sorted({u for u, _ in accts}), n, t_first, t, interval_s=list(gap))
    for i in range(int(5 * S)):  # SSH user enumeration: one attempt per user name
        ip = g.ip_hosting()
        users = r.sample(SSH_SPRAY_USERS, r.randint(25, len(SSH_SPRAY_USERS)))
        gap = r.choice([(10, 40), (30, 90)])
        t = T0 + r.uniform(0, span - len(users) * gap[1])
        t_first = t
        for u in users:
            g.ssh_fail_conn(t, ip, u, False, 1)
            t += r.uniform(*gap)
        record("spraying", "ssh", [ip], users, len(users), t_first, t, interval_s=list(gap))

    # ---------------------------------------------------------------- attack: distributed on one account
    dist_mail_target = mailbox_pool[7]  # a real, active user (the CEO, say)
    for target, svc, nip in ((dist_mail_target, "imap/smtp", int(400 * S)), ("root", "ssh", int(250 * S))):
        ips, total, tmin, tmax = [], 0, T1, T0
        for _ in range(nip):
            ip = g.ip_botnet()
            ips.append(ip)
            t = T0 + r.uniform(0, span - 600)
            for _ in range(r.randint(1, 3)):
                if svc == "ssh":
                    g.ssh_fail_conn(t, ip, target, True, 1)
                else:
                    g.mail_fail(t, ip, target, 1, True, r.choice(["imap", "smtp"]))
                total += 1
                tmin, tmax = min(tmin, t), max(tmax, t)
                t += r.uniform(120, 3600)
        record("distributed", svc, ips, [target], total, tmin, tmax)

    # ---------------------------------------------------------------- attack: fail then succeed
    ftss_ips = []
    for i in range(int(20 * S)):  # mailbox takeover: credential stuffing that lands
        ip = g.ip_hosting() if i % 2 else g.ip_botnet()
        victim = mailbox_pool[(100 + i * 37) % len(mailbox_pool)]
        t = T0 + r.uniform(0, span - 7200)
        t_first = t
        nf = r.randint(2, 8)
        svc = "imap" if i % 2 else "smtp"
        for _ in range(nf):
            t = g.mail_fail(t, ip, victim, 1, True, svc)
            t += r.uniform(5, 90)
        if svc == "imap":
            g.imap_login(t, ip, victim, duration=r.uniform(20, 300))
        else:
            g.smtp_send(t, ip, victim, nmail=r.randint(5, 20))  # spam run from the taken-over account
        record("fail_then_succeed", svc, [ip], [victim], nf + 1, t_first, t)
        ftss_ips.append(ip)
    for i in range(int(5 * S)):  # SSH: guessed password of a weak service account
        ip = g.ip_hosting()
        victim = ["test", "oracle", "backup", "ftpuser", "git"][i % 5]
        t = T0 + r.uniform(0, span - 7200)
        t_first = t
        nf = r.randint(3, 9)
        done = 0
        while done < nf:
            k = min(nf - done, r.choice([1, 2, 3]))
            t = g.ssh_fail_conn(t, ip, victim, True, k) + r.uniform(2, 30)
            done += k
        t = g.ssh_success(t, ip, victim, "password", duration=r.uniform(60, 1800))
        record("fail_then_succeed", "ssh", [ip], [victim], nf + 1, t_first, t)

    # ---------------------------------------------------------------- noise: scanners (no auth attempt)
    noise_ips = []
    for _ in range(int(60 * S)):
        ip = g.ip_botnet()
        noise_ips.append(ip)
        t = T0 + r.uniform(0, span)
        for _ in range(r.randint(1, 4)):
            g.ssh_noise(t, ip)
            t += r.uniform(1, 900)

    attack_lines = len(g.ev)

    # ---------------------------------------------------------------- benign: SSH admins and CI
    benign_ips: set[str] = set()
    benign_accounts: set[str] = set()
    typo_ips: set[str] = set()
    stale_ips: set[str] = set()
    offices = [g.ip_office() for _ in range(25)]
    office_size = {o: 0 for o in offices}
    cgnat = [g.ip_cgnat() for _ in range(36)]
    benign_ips.update(offices)
    benign_ips.update(cgnat)
    admins = ["alice", "bob", "carol", "dave", "erin", "backupsvc"]
    admin_home = {a: g.ip_residential() for a in admins}
    benign_ips.update(admin_home.values())
    ci_ip = g.ip_hosting()
    benign_ips.add(ci_ip)
    benign_accounts.update(admins + ["deploy"])
    day0 = T0 - (T0 % 86400)
    for d in range(int(args.days) + 1):
        for a in admins:
            for _ in range(r.randint(2, 8)):
                t = day0 + d * 86400 + r.uniform(7, 20) * 3600
                ip = offices[0] if r.random() < 0.6 else admin_home[a]
                if r.random() < 0.25:  # password login, sometimes with a typo first
                    fails = 1 if r.random() < 0.4 else 0
                    if fails:
                        typo_ips.add(ip)
                    g.ssh_success(t, ip, a, "password", fails=fails, duration=r.uniform(60, 5400))
                else:
                    g.ssh_success(t, ip, a, "publickey", duration=r.uniform(60, 5400))
    t = T0 + 300
    while t < T1:  # CI deploys every 15 min
        g.ssh_success(t, ci_ip, "deploy", "publickey", duration=r.uniform(5, 40))
        t += 900 + r.uniform(-30, 30)

    # ---------------------------------------------------------------- benign: mailbox users
    ncg = len(cgnat)
    nusers = 0
    while len(g.ev) < args.lines and nusers < len(mailbox_pool) - 1500:
        u = mailbox_pool[nusers]
        nusers += 1
        benign_accounts.add(u)
        home = g.ip6_home() if r.random() < 0.15 else g.ip_residential()
        benign_ips.add(home)
        office = None
        if r.random() < 0.6:
            office = r.choice(offices)
            office_size[office] += 1
        has_phone = r.random() < 0.85
        carrier = r.randrange(ncg)
        phone_poll = r.uniform(12, 30) * 60
        desk_poll = r.choice([5, 10, 10, 15]) * 60
        proto = "pop3" if r.random() < 0.08 else "imap"
        # phone: polls all day; the carrier re-assigns its NAT address every few hours
        if has_phone:
            t = T0 + r.uniform(0, phone_poll)
            nat_until, nat = 0.0, cgnat[carrier]
            while t < T1:
                if t >= nat_until:
                    nat = cgnat[(carrier + r.randrange(3)) % ncg]
                    nat_until = t + r.uniform(2, 8) * 3600
                if r.random() < 0.002:  # typo / password re-entered on the phone
                    t2 = g.imap_fail(t, nat, u, 1, True, proto)
                    typo_ips.add(nat)
                    g.imap_login(t2 + r.uniform(10, 60), nat, u, r.uniform(5, 60), proto)
                else:
                    g.imap_login(t, nat, u, r.uniform(2, 40), proto)
                t += phone_poll * r.uniform(0.8, 1.2)
        # desktop: at the office on workdays 8-18, at home in the evening
        for d in range(int(args.days) + 1):
            base = day0 + d * 86400
            wd = datetime.fromtimestamp(base, timezone.utc).weekday()
            spans = []
            if office and wd < 5:
                spans.append((office, base + r.uniform(7.5, 9.5) * 3600, base + r.uniform(16.5, 18.5) * 3600))
            if r.random() < 0.5:
                spans.append((home, base + r.uniform(18.5, 20) * 3600, base + r.uniform(21, 23.5) * 3600))
            for ip, a, b in spans:
                t = a
                while t < b:
                    g.imap_login(t, ip, u, r.uniform(1, 20), proto)
                    t += desk_poll * r.uniform(0.9, 1.1)
                # sending mail
                for _ in range(r.randint(0, 4)):
                    ts = r.uniform(a, b)
                    fails = 0
                    if r.random() < 0.03:
                        fails = r.randint(1, 2)
                        typo_ips.add(ip)
                    g.smtp_send(ts, ip, u, nmail=1, fails=fails)
                # typo at the desktop client (new password typed in): 1-3 failures, then success
                if r.random() < 0.06:
                    ts = r.uniform(a, b)
                    t2 = g.imap_fail(ts, ip, u, r.randint(1, 3), True, proto)
                    g.imap_login(t2 + r.uniform(5, 40), ip, u, 30, proto)
                    typo_ips.add(ip)
        # stale client: an old device with the old password, failing at every poll for hours or days
        if r.random() < 0.03:
            ip = office if (office and r.random() < 0.5) else home
            stale_ips.add(ip)
            poll = r.choice([5, 10, 15, 30]) * 60
            retries = r.choice([1, 1, 2, 3])
            a = T0 + r.uniform(0, span * 0.7)
            b = min(T1, a + r.uniform(4, 72) * 3600)
            t = a
            svc = r.choice(["imap", "imap", "smtp"])
            while t < b:
                if svc == "smtp":
                    g.smtp_fail(t, ip, u, 1)
                else:
                    g.imap_fail(t, ip, u, retries, True, proto)
                t += poll * r.uniform(0.95, 1.05)

    # ---------------------------------------------------------------- sort and write
    g.ev.sort()
    n = 0
    cache_t, cache_s = None, ""
    with open(args.out, "w", encoding="ascii", newline="\n") as f:
        buf = []
        for t, _, text in g.ev:
            if t != cache_t:
                dt = datetime.fromtimestamp(t, timezone.utc)
                cache_s = f"{dt:%b} {dt.day:2d} {dt:%H:%M:%S} {HOST} "
                cache_t = t
            buf.append(cache_s + text + "\n")
            if len(buf) >= 20000:
                f.write("".join(buf))
                n += len(buf)
                buf.clear()
        f.write("".join(buf))
        n += len(buf)

    attack_ips = set().union(*(c["ips"] for c in truth_campaigns.values()))
    assert not (attack_ips & benign_ips), "attack and benign addresses overlap"
    truth = {
        "generator": "bench/peers/gen_syslog.py",
        "seed": args.seed, "year": start.year, "timezone": "UTC",
        "start": datetime.fromtimestamp(T0, timezone.utc).isoformat(),
        "end": datetime.fromtimestamp(T1, timezone.utc).isoformat(),
        "lines": n, "attack_lines": attack_lines, "benign_mail_users": nusers,
        "campaigns": {k: {"ips": sorted(v["ips"]), "accounts": sorted(v["accounts"]), "instances": v["instances"]}
                      for k, v in truth_campaigns.items()},
        "instances": g.instances,
        "benign": {
            "ips": sorted(benign_ips), "accounts": sorted(benign_accounts),
            "office_nat_ips": sorted(o for o in offices if office_size[o] > 0),
            "cgnat_ips": sorted(cgnat),
            "typo_ips": sorted(typo_ips), "stale_client_ips": sorted(stale_ips),
        },
        "noise": {"scanner_ips": sorted(noise_ips)},
        "account_truth_note": "campaign accounts are the targeted accounts (victims); distributed and "
                              "fail_then_succeed name the account a detector should protect",
    }
    with open(args.truth, "w", encoding="utf-8") as f:
        json.dump(truth, f, indent=1)
        f.write("\n")
    return truth


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lines", type=int, default=1_000_000, help="approximate number of lines")
    ap.add_argument("--days", type=float, default=3.0)
    ap.add_argument("--start", default="2026-11-02T00:00:00", help="UTC start (its year is the log's year)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplier on the number of attack campaigns")
    ap.add_argument("--out", required=True)
    ap.add_argument("--truth", required=True)
    args = ap.parse_args()
    t = time.time()
    truth = build(args)
    c = truth["campaigns"]
    print(f"gen_syslog: {truth['lines']} lines ({truth['attack_lines']} attack/noise), "
          f"{truth['benign_mail_users']} mail users, "
          + ", ".join(f"{k} {len(v['ips'])} ips" for k, v in c.items())
          + f", {len(truth['benign']['ips'])} benign ips; {time.time() - t:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
