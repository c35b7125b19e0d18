#!/usr/bin/env bash
# run.sh: the whole peer comparison, one command (as root, on Debian 12):
#
#   bench/peers/run.sh
#
#   1. install.sh      fail2ban, crowdsec, sshguard, libfaketime, gnuplot from Debian (idempotent;
#                      no service enabled, no firewall change; CrowdSec's offline-install workaround)
#   2. gen_syslog.py   ~1,000,000 labelled syslog lines (sshd + dovecot + postfix), seed 1
#   3. real_inputs.py  labels for ../shared/data/real/elastic-auth and loghub-ssh (read in place),
#                      and the combined CrowdSec hub-test input
#   4. run_peers.sh    every tool on every input, sequentially, offline (unshare -n)
#   5. report.py       bench/results/peers-report.md and bench/results/peers-throughput.png
#
# Environment: LINES (1000000), SEED (1), WORK (/tmp/authwatch-peers: logs and scratch, outside
# the project), DATA (../shared/data/real), SKIP_INSTALL=1, AUTHWATCH_BIN (build/bin/authwatch),
# INPUTS (space-separated subset of: generated elastic-auth loghub-ssh hub-samples).
# About 7 minutes on a 2-core VM, most of it CrowdSec (~3.5 min) and fail2ban (~2 min) on the
# generated log.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
lines="${LINES:-1000000}"
seed="${SEED:-1}"
export WORK="${WORK:-/tmp/authwatch-peers}"
data="${DATA:-$root/../shared/data/real}"
inputs="${INPUTS:-generated elastic-auth loghub-ssh hub-samples}"
results="$root/bench/results/peers"
mkdir -p "$WORK" "$results"
data="$(cd "$data" && pwd)"

[[ "${SKIP_INSTALL:-0}" = 1 ]] || "$here/install.sh"

gen="$WORK/generated-s$seed-l$lines.log"
truth="$WORK/generated-s$seed-l$lines.truth.json"
if [[ ! -s $gen || ! -s $truth ]]; then
  python3 "$here/gen_syslog.py" --seed "$seed" --lines "$lines" --out "$gen.tmp" --truth "$truth"
  mv "$gen.tmp" "$gen"
fi
python3 "$here/real_inputs.py" --data "$data" --work "$WORK/real"

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
declare -A LOG=( [generated]="$gen" [elastic-auth]="$data/elastic-auth/auth.log"
                 [loghub-ssh]="$data/loghub-ssh/OpenSSH_2k.log" [hub-samples]="$WORK/real/hub-samples.log" )
declare -A TRUTH=( [generated]="$truth" [elastic-auth]="$WORK/real/elastic-auth.truth.json"
                   [loghub-ssh]="$WORK/real/loghub-ssh.truth.json" [hub-samples]="$WORK/real/hub-samples.truth.json" )
declare -A YEAR=( [generated]=2026 [elastic-auth]=2017 [loghub-ssh]=2026 [hub-samples]=2026 )
for name in $inputs; do
  rm -rf "${results:?}/$name"
  "$here/run_peers.sh" "$name" "${LOG[$name]}" "${YEAR[$name]}" "$results/$name"
done
load_end="$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results/manifest.json" "$inputs" "$gen" "$truth" "$data" "$WORK" "$load_start" "$load_end" "$seed" <<'PY'
import json, sys, subprocess, datetime, os
out, inputs, gen, truth, data, work, l0, l1, seed = sys.argv[1:]
def v(p):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True).stdout
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
wc = lambda p: sum(1 for _ in open(p, "rb"))
catalog = {
  "generated": dict(title="generated sshd + dovecot + postfix log with labelled campaigns",
                    log=gen, truth=truth,
                    description=f"`bench/peers/gen_syslog.py --seed {seed}`: three days of one mail/shell host "
                                "(benign mailbox users with phones behind carrier NAT, office NAT, typos, stale "
                                "clients; SSH admins and a CI job) and the campaigns fast_bf, slow_bf, spraying, "
                                "distributed (one account from hundreds of addresses), fail_then_succeed, plus "
                                "scanner noise (unlabelled)."),
  "elastic-auth": dict(title="real sshd auth.log, 3 weeks (Elastic ML recipe)", log=f"{data}/elastic-auth/auth.log",
                       truth=f"{work}/real/elastic-auth.truth.json",
                       description="`../shared/data/real/elastic-auth/auth.log` (year 2017)."),
  "loghub-ssh": dict(title="real sshd log of a lab server under brute force (loghub)", log=f"{data}/loghub-ssh/OpenSSH_2k.log",
                     truth=f"{work}/real/loghub-ssh.truth.json",
                     description="`../shared/data/real/loghub-ssh/OpenSSH_2k.log` (CRLF line ends, year unknown)."),
  "hub-samples": dict(title="CrowdSec hub test inputs (ssh, dovecot, postfix brute force)", log=f"{work}/real/hub-samples.log",
                      truth=f"{work}/real/hub-samples.truth.json", plot=False,
                      description="The classic-syslog inputs of 13 tests under `../shared/data/real/crowdsec-hub-samples/` "
                                  "concatenated in time order (too small for throughput: start-up dominates; not plotted)."),
}
ins = []
for n in inputs.split():
    d = dict(catalog[n]); d["name"] = n; d["lines"] = wc(d["log"]); ins.append(d)
man = {"command": "bench/peers/run.sh", "inputs": ins,
       "meta": {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                "cpu": cpu, "cores": os.cpu_count(), "loadavg_start": l0, "loadavg_end": l1,
                "versions": f"fail2ban {v('fail2ban')}, crowdsec {v('crowdsec')}, sshguard {v('sshguard')}, "
                            f"libfaketime {v('libfaketime')}"}}
json.dump(man, open(out, "w"), indent=1)
PY
python3 "$here/report.py" --results "$results" --out "$root/bench/results"
