#!/usr/bin/env python3
"""measure.py OUT.json -- CMD [ARGS...]

Runs CMD (stdin, stdout and stderr inherited) and writes to OUT.json its wall time and the
resources the kernel accounts to it in wait4(2)'s rusage: user and system CPU time (microsecond
resolution, CMD plus every descendant it waited for, e.g. all members of a `sh -c 'a | b | c'`
pipeline) and the peak resident set size (ru_maxrss: the largest single process of that tree).
The same figures as `/usr/bin/time -v`, without its 10 ms rounding, which matters for the small
real logs. Exits with CMD's status.

The peak RSS is the one GNU time (`/usr/bin/time -f %M`, which runs CMD for us) reports: a
process forked from this Python interpreter would carry the interpreter's pages into its
ru_maxrss (Linux keeps the pre-exec high-water mark), one forked from `time` does not.
"""
import json
import os
import sys
import time


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    out, cmd = sys.argv[1], sys.argv[3:]
    rssf = out + ".rss"
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rssf] + cmd
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, f"measure.py: {cmd[0]}: {e}\n".encode())
            os._exit(127)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    rc = os.waitstatus_to_exitcode(status)
    rss = 0
    try:
        with open(rssf) as f:
            rss = int(f.read().split()[-1])
        os.unlink(rssf)
    except (OSError, ValueError, IndexError):
        pass
    with open(out, "w") as f:
        json.dump({"wall_s": round(wall, 6), "user_s": round(ru.ru_utime, 6), "sys_s": round(ru.ru_stime, 6),
                   "peak_rss_kb": rss, "exit_status": rc, "cmd": cmd[5:]}, f)
    sys.exit(rc if rc >= 0 else 128 - rc)


if __name__ == "__main__":
    main()
