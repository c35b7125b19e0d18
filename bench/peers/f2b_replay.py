#!/usr/bin/python3
"""Run fail2ban's own jail logic offline over a year-less syslog file, with the clock at each
line's time.

A running fail2ban-server ignores lines older than `findtime` (and would look at the wall
clock), so a server cannot be pointed at an old log. This driver builds the jails exactly as
fail2ban-client + fail2ban-server would (Configurator over a copy of /etc/fail2ban with a
bench jail.local, the resulting command stream applied through the server's Transmitter: the
same filters with their prefregex/failregex/datepattern/maxlines, the same FailManager
(maxretry/findtime), the same Actions/BanManager (bantime, unban)), but does not start the
jail threads. Instead it reads the log itself and, for each line:

    MyTime.setTime(<time of the line>)            # fail2ban's clock abstraction, used everywhere
    jail.filter.processLineAndAdd(line)          # what FileFilter.getFailures does per line
    jail.actions.__checkBan() / __checkUnBan()   # what the Actions thread does in its loop

so the verdicts are those fail2ban would reach if the lines had arrived live. The ban action is
fail2ban's own `dummy` action (action.d/dummy.conf), writing `+IP` / `-IP` to a file in the work
directory: no firewall is touched. Bans are taken from fail2ban's log (`[jail] Ban IP`, NOTICE)
and cross-checked against the dummy action's file.

Must run with Debian's /usr/bin/python3 (the fail2ban package is installed for it).

  f2b_replay.py --log FILE --year 2026 --work DIR [--jails sshd,dovecot,postfix-sasl] --out flagged.json
"""
import argparse
import calendar
import json
import os
import re
import shutil
import sys
import time

os.environ["TZ"] = "UTC"  # the year-less stamps are read as UTC, by fail2ban and by us
time.tzset()
sys.path.insert(0, "/usr/lib/python3/dist-packages")
from fail2ban.client.configurator import Configurator  # noqa: E402
from fail2ban.server.mytime import MyTime  # noqa: E402
from fail2ban.server.server import Server  # noqa: E402

MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}


def make_config(work, log, jails):
    etc = os.path.join(work, "etc-fail2ban")
    if os.path.exists(etc):
        shutil.rmtree(etc)
    shutil.copytree("/etc/fail2ban", etc, symlinks=True)
    # Only the packaged configuration plus ours: drop any local overrides of this machine.
    for root, _, files in os.walk(etc):
        for f in files:
            if f.endswith(".local"):
                os.unlink(os.path.join(root, f))
    dummy = os.path.join(work, "dummy-action.txt")
    with open(os.path.join(etc, "fail2ban.local"), "w") as f:
        f.write("[DEFAULT]\nloglevel = INFO\nlogtarget = %s\ndbfile = :memory:\n"
                "socket = %s\npidfile = %s\n" % (os.path.join(work, "fail2ban.log"),
                                                 os.path.join(work, "f2b.sock"), os.path.join(work, "f2b.pid")))
    with open(os.path.join(etc, "jail.local"), "w") as f:
        f.write("# authwatch bench/peers: Debian's defaults (maxretry 5, findtime 10m, bantime 10m),\n"
                "# the log under test, and fail2ban's dummy action instead of a firewall.\n"
                "[DEFAULT]\nbackend = polling\nbanaction = dummy[target=\"%s\"]\n"
                "banaction_allports = dummy[target=\"%s\"]\n" % (dummy, dummy))
        for j in jails:
            f.write("\n[%s]\nenabled = true\nlogpath = %s\n" % (j, log))
    return etc, dummy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--year", type=int, required=True, help="year of the year-less syslog stamps")
    ap.add_argument("--work", required=True)
    ap.add_argument("--jails", default="sshd,dovecot,postfix-sasl")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    log = os.path.abspath(args.log)
    jail_names = [j for j in args.jails.split(",") if j]
    etc, dummy = make_config(args.work, log, jail_names)
    for p in (dummy, os.path.join(args.work, "fail2ban.log")):
        if os.path.exists(p):
            os.unlink(p)

    # The clock starts at the first line's time, so that start-up happens "then".
    first_ts = None
    with open(log, "rb") as fh:
        for raw in fh:
            first_ts = stamp(raw.decode("utf-8", "replace"), args.year, {})
            if first_ts is not None:
                break
    MyTime.setTime(first_ts or time.time())

    conf = Configurator()
    conf.setBaseDir(etc)
    conf.readEarly()
    conf.getEarlyOptions()
    conf.readAll()
    conf.getOptions(None)
    conf.convertToProtocol()
    stream = conf.getConfigStream()

    server = Server(daemon=False)
    transm = server._Server__transm
    for cmd in stream:
        if cmd and cmd[0] == "start":
            continue  # no jail threads: this driver is the backend
        transm.proceed(cmd)
    jails = [server._Server__jails[n] for n in jail_names]
    for j in jails:
        for a in j.actions._actions.values():
            a.start()

    cache = {}
    n = 0
    t_start = time.process_time()
    last_unban = 0
    with open(log, "rb") as fh:
        for raw in fh:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            n += 1
            ts = stamp(line, args.year, cache)
            if ts is not None:
                MyTime.setTime(ts)
            for j in jails:
                j.filter.processLineAndAdd(line)
                if j.hasFailTickets:
                    j.actions._Actions__checkBan()
            now = MyTime.time()
            if now - last_unban >= 10:
                for j in jails:
                    j.actions._Actions__checkUnBan(j.actions.unbanMaxCount)
                last_unban = now
    cpu = time.process_time() - t_start
    # The dummy action's file, read before its actionstop removes it.
    dummy_ips = set()
    if os.path.exists(dummy):
        with open(dummy) as f:
            for l in f:
                if l.startswith("+"):
                    dummy_ips.add(l[1:].strip())
        shutil.copy(dummy, dummy + ".kept")
    for j in jails:
        for a in j.actions._actions.values():
            a.stop()

    # Bans: from fail2ban's own log, cross-checked with the dummy action's file.
    bans = []
    pat = re.compile(r"\[([\w.-]+)\] (?:Restore )?Ban (\S+)")
    with open(os.path.join(args.work, "fail2ban.log"), encoding="utf-8", errors="replace") as f:
        for l in f:
            if " NOTICE " in l:
                m = pat.search(l)
                if m:
                    bans.append({"jail": m.group(1), "ip": m.group(2)})
    ips = sorted({b["ip"] for b in bans})
    if set(ips) != dummy_ips:
        print("f2b_replay: warning: log bans and dummy-action bans differ (%d vs %d)" % (len(ips), len(dummy_ips)),
              file=sys.stderr)
    out = {"tool": "fail2ban", "lines": n, "jails": jail_names, "flagged_ips": ips,
           "flagged_accounts": [], "ban_events": len(bans),
           "bans_per_jail": {j: sum(1 for b in bans if b["jail"] == j) for j in jail_names},
           "driver_cpu_s": round(cpu, 3)}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print("f2b_replay: %d lines, %d ban events, %d addresses (%s)" % (
        n, len(bans), len(ips), ", ".join("%s %d" % kv for kv in out["bans_per_jail"].items())), file=sys.stderr)
    server._Server__db = None


def stamp(line, year, cache):
    """Epoch seconds (UTC) of a classic syslog stamp `Mmm dd hh:mm:ss` at the start of the line."""
    key = line[:15]
    v = cache.get(key)
    if v is not None:
        return v
    try:
        mon = MONTHS[key[0:3]]
        day = int(key[4:6])
        hh, mm, ss = int(key[7:9]), int(key[10:12]), int(key[13:15])
    except (KeyError, ValueError):
        return None
    v = calendar.timegm((year, mon, day, hh, mm, ss, 0, 0, 0))
    if len(cache) > 100000:
        cache.clear()
    cache[key] = v
    return v


if __name__ == "__main__":
    main()
