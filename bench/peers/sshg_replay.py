#!/usr/bin/env python3
"""Run SSHGuard's parser and blocker offline over a year-less syslog file, the blocker's clock
set to each attack's log time under libfaketime, with a dummy firewall backend.

SSHGuard is a pipeline: `sshg-parser` (stateless, one output line `service address family
dangerousness` per attack line) | `sshg-blocker` (scores attackers; stamps every attack with the
wall clock, time(NULL)) | a backend executable that reads `block ADDR FAMILY CIDR` / `release ...`
/ `flushonexit` commands on stdin. Fed an old log at full speed, the blocker would see every
attack in the same second and block anything with 3 attacks, however far apart they were. So:

  1. parse: the log goes through `sshg-parser` with a sentinel line after every line (an attack
     from 192.0.2.254, which no input holds), so each attack the parser reports is tied to its
     input line and thus to the line's time. The parser runs without network (the caller runs
     us under `unshare -n`: it resolves some host names by DNS).
  2. block: `sshg-blocker` runs with the package's settings from /etc/sshguard/sshguard.conf
     (THRESHOLD, BLOCK_TIME, DETECTION_TIME, WHITELIST_FILE) under libfaketimeMT with a frozen
     clock read from a file on every call (FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1). The
     attacks are fed in order; before the clock file moves to the next time, we wait until the
     blocker has consumed its input (pipe empty, FIONREAD) and sits in read(0) again
     (/proc/PID/syscall), so every attack is stamped with its own time.
  3. the backend is bench/peers/sshg-fw-log (a dummy: appends the commands to a file).

  sshg_replay.py --log FILE --year 2026 --work DIR --out flagged.json
"""
import argparse
import array
import calendar
import fcntl
import json
import os
import subprocess
import sys
import termios
import threading
import time

LIBEXEC = "/usr/libexec/sshguard"
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
                 "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1"]
SENTINEL_IP = "192.0.2.254"
SENTINEL = f"Jan  1 00:00:00 sentinel sshd[1]: Failed password for root from {SENTINEL_IP} port 1 ssh2\n".encode()
MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}


def stamp(line, year, cache):
    key = line[:15]
    v = cache.get(key)
    if v is None:
        try:
            v = calendar.timegm((year, MONTHS[key[0:3].decode()], int(key[4:6]), int(key[7:9]),
                                 int(key[10:12]), int(key[13:15]), 0, 0, 0))
        except (KeyError, ValueError, UnicodeDecodeError):
            return None
        cache[key] = v
    return v


def conf_values():
    vals = {"THRESHOLD": "30", "BLOCK_TIME": "120", "DETECTION_TIME": "1800",
            "WHITELIST_FILE": "/etc/sshguard/whitelist"}
    try:
        with open("/etc/sshguard/sshguard.conf") as f:
            for l in f:
                l = l.strip()
                if l and not l.startswith("#") and "=" in l:
                    k, v = l.split("=", 1)
                    vals[k.strip()] = v.strip().strip('"')
    except OSError:
        pass
    return vals


def parse_phase(log, year):
    """[(ts, b'service addr af danger\\n'), ...] in log order; lines count."""
    p = subprocess.Popen([f"{LIBEXEC}/sshg-parser"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         bufsize=1 << 20)
    times = []

    def feed():
        cache, last = {}, 0
        buf = []
        with open(log, "rb") as fh:
            for raw in fh:
                ts = stamp(raw, year, cache)
                if ts is None:
                    ts = last
                last = ts
                times.append(ts)
                if not raw.endswith(b"\n"):
                    raw += b"\n"
                buf.append(raw)
                buf.append(SENTINEL)
                if len(buf) >= 8192:
                    p.stdin.write(b"".join(buf))
                    buf.clear()
        p.stdin.write(b"".join(buf))
        p.stdin.close()

    th = threading.Thread(target=feed)
    th.start()
    attacks, idx, pending = [], 0, None
    sentinel_tag = f" {SENTINEL_IP} ".encode()
    for out in p.stdout:
        if sentinel_tag in out:
            if pending is not None:
                attacks.append((times[idx], pending))
                pending = None
            idx += 1
        else:
            pending = out
    th.join()
    rc = p.wait()
    if rc != 0:
        raise SystemExit(f"sshg_replay: sshg-parser exited {rc}")
    if idx != len(times):
        raise SystemExit(f"sshg_replay: parser answered {idx} sentinels for {len(times)} lines")
    return attacks, len(times), p.pid


def blocker_idle(pid, fd):
    """True when the blocker's stdin pipe is empty and its main thread waits in read(0, ...)."""
    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    if buf[0]:
        return False
    try:
        with open(f"/proc/{pid}/syscall") as f:
            s = f.read().split()
    except OSError:
        return True
    return len(s) >= 2 and s[0] == "0" and int(s[1], 16) == 0


def cpu_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return (int(parts[11]) + int(parts[12])) / tck


def hwm_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmHWM:"):
                return int(l.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--year", type=int, required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    lib = next((l for l in FAKETIME_LIBS if os.path.exists(l)), None)
    if not lib:
        raise SystemExit("sshg_replay: libfaketimeMT.so.1 not found (install libfaketime)")

    t0 = time.time()
    attacks, nlines, _ = parse_phase(args.log, args.year)
    t_parse = time.time() - t0

    c = conf_values()
    cmd = [f"{LIBEXEC}/sshg-blocker", "-a", c["THRESHOLD"], "-p", c["BLOCK_TIME"], "-s", c["DETECTION_TIME"]]
    if c.get("WHITELIST_FILE"):
        cmd += ["-w", c["WHITELIST_FILE"]]
    if c.get("IPV4_SUBNET"):
        cmd += ["-n", c["IPV4_SUBNET"]]
    if c.get("IPV6_SUBNET"):
        cmd += ["-N", c["IPV6_SUBNET"]]
    clockf = os.path.join(args.work, "faketime.clock")
    fwlog = os.path.join(args.work, "sshguard-fw.log")
    if os.path.exists(fwlog):
        os.unlink(fwlog)

    def set_clock(ts):
        tmp = clockf + ".tmp"
        with open(tmp, "w") as f:
            f.write(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)))
        os.replace(tmp, clockf)

    set_clock(attacks[0][0] if attacks else 0)
    env = dict(os.environ, TZ="UTC", LD_PRELOAD=lib, FAKETIME_TIMESTAMP_FILE=clockf, FAKETIME_NO_CACHE="1")
    backend = subprocess.Popen([os.path.join(here, "sshg-fw-log"), fwlog], stdin=subprocess.PIPE)
    blk = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=backend.stdin, env=env,
                           stderr=open(os.path.join(args.work, "sshg-blocker.stderr"), "wb"))
    backend.stdin.close()
    fd = blk.stdin.fileno()
    cur, waits = None, 0
    t1 = time.time()
    for ts, a in attacks:
        if ts != cur:
            if cur is not None:
                while not blocker_idle(blk.pid, fd):
                    waits += 1
                    time.sleep(0.0002)
            set_clock(ts)
            cur = ts
        os.write(fd, a)
    while not blocker_idle(blk.pid, fd):
        time.sleep(0.001)
    blk_cpu, blk_hwm = cpu_of(blk.pid), hwm_of(blk.pid)
    blk.stdin.close()
    blk.wait()
    backend.wait()
    t_block = time.time() - t1

    blocked, events = set(), 0
    if os.path.exists(fwlog):
        with open(fwlog) as f:
            for l in f:
                p = l.split()
                if len(p) >= 2 and p[0] == "block":
                    blocked.add(p[1])
                    events += 1
    out = {"tool": "sshguard", "lines": nlines, "attacks_parsed": len(attacks),
           "flagged_ips": sorted(blocked), "flagged_accounts": [], "block_events": events,
           "blocker_args": cmd[1:], "paced_blocker_cpu_s": round(blk_cpu, 3),
           "paced_blocker_peak_rss_kb": blk_hwm, "parse_phase_wall_s": round(t_parse, 2),
           "block_phase_wall_s": round(t_block, 2), "sync_waits": waits}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"sshg_replay: {nlines} lines, {len(attacks)} attacks, {events} blocks of {len(blocked)} addresses "
          f"(parse {t_parse:.1f}s, paced block {t_block:.1f}s)", file=sys.stderr)


if __name__ == "__main__":
    main()
