#!/usr/bin/env bash
# run_peers.sh NAME LOG YEAR OUTDIR
#
# Runs every peer, one after the other, offline, on one year-less syslog file LOG and writes one
# result record per tool to OUTDIR/<tool>.json (collect.py's schema: wall, CPU = user+sys, peak
# RSS, lines/s, lines per CPU-second, flagged addresses and accounts). Scratch files go to
# $WORK/NAME (default WORK=/tmp/authwatch-peers).
#
#   fail2ban     f2b_replay.py: fail2ban's jails sshd, dovecot and postfix-sasl (Debian defaults,
#                dummy action), driven line by line with MyTime at each line's time.
#   crowdsec     cs_replay.sh: `crowdsec -dsn file://LOG -type syslog -no-api` (time-machine) with
#                a Local API on 127.0.0.1 of a private network namespace; alerts from cscli.
#                CPU = agent + Local API; peak RSS = the agent's.
#   sshguard     resources: the plain pipeline sshg-parser | sshg-blocker | dummy backend at full
#                speed (all three processes: CPU summed, peak RSS of the largest); verdicts: the
#                paced run of sshg_replay.py (blocker under libfaketime at the lines' times).
#   sshg-parser  the bare parser, for its speed (no verdicts).
#   (sshguard's pipeline, sshg-parser and authwatch run REPS=5 times interleaved; each reports
#   the run with its median CPU time, and OUTDIR/rounds.json keeps every round's CPU seconds.)
#   authwatch    `build/bin/authwatch replay --config deploy/authwatch.yaml --format syslog
#                --syslog-year YEAR --input LOG`, when its --help mentions syslog; else skipped.
#
# Every peer runs under `unshare -n` (a network namespace of its own: no route out, no DNS, and
# whatever it listens on is reachable only inside); no firewall is touched (dummy actions).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
name="$1"; log="$(readlink -f "$2")"; year="$3"; out="$4"
work="${WORK:-/tmp/authwatch-peers}/$name"
aw="${AUTHWATCH_BIN:-$root/build/bin/authwatch}"
M="$here/measure.py"   # wall, user+sys CPU (rusage of the whole process tree), peak RSS
PY="python3"
rm -rf "$work"; mkdir -p "$work" "$out"
lines=$(python3 -c "import sys; sys.path.insert(0, sys.argv[1]); import collect; print(collect.count_lines(sys.argv[2]))" "$here" "$log")
say() { printf '[%s] %s: %s\n' "$(date +%H:%M:%S)" "$name" "$*" >&2; }
# The fast tools (sshguard's pipeline, its bare parser, authwatch) take about a second each, so
# one run says as much about the machine's noise as about the tool: each is run REPS times,
# interleaved, and the run with the median CPU time is the one reported.
reps=${REPS:-5}
# TOOL.time.json.1 .. .REPS -> TOOL.time.json (the run with the median user+sys) for each TOOL,
# and every round's CPU seconds to OUTDIR/rounds.json for the report's ratios: a pair of runs in
# one round shares the machine's state of the moment, so per-round ratios show how far the noise
# moves them.
median_runs() {  # TOOL...
  python3 - "$work" "$reps" "$out/rounds.json" "$@" <<'PY'
import json, shutil, sys
work, n, rounds, *tools = sys.argv[1:]
n = int(n)
cpu_s = {}
for tool in tools:
    runs = [json.load(open(f"{work}/{tool}.time.json.{i}")) for i in range(1, n + 1)]
    cpu = [r["user_s"] + r["sys_s"] for r in runs]
    median = sorted(range(n), key=lambda i: (cpu[i], i))[(n - 1) // 2]
    shutil.copy(f"{work}/{tool}.time.json.{median + 1}", f"{work}/{tool}.time.json")
    cpu_s[tool] = [round(c, 4) for c in cpu]
json.dump({"reps": n, "cpu_s": cpu_s}, open(rounds, "w"), indent=1)
PY
}
say "$lines lines from $log"

# ---------------------------------------------------------------- fail2ban
say "fail2ban (jails sshd, dovecot, postfix-sasl; clock at each line)"
$M "$work/fail2ban.time.json" -- unshare -n /usr/bin/python3 "$here/f2b_replay.py" \
  --log "$log" --year "$year" --work "$work/fail2ban" --out "$work/fail2ban.flags.json" 2> "$work/fail2ban.stderr" \
  || { tail -n 20 "$work/fail2ban.stderr" >&2; exit 1; }
grep -v "allowipv6" "$work/fail2ban.stderr" >&2 || true
$PY "$here/collect.py" record --tool fail2ban --input "$name" --log "$log" --time "$work/fail2ban.time.json" \
  --flags "$work/fail2ban.flags.json" --note "fail2ban $(dpkg-query -W -f='${Version}' fail2ban); jails sshd+dovecot+postfix-sasl on the same file" \
  --out "$out/fail2ban.json"

# ---------------------------------------------------------------- crowdsec
say "crowdsec (time-machine replay, Local API on 127.0.0.1 in a private netns)"
unshare -n "$here/cs_replay.sh" "$log" "$work/crowdsec" "$work/crowdsec.flags.json" 2> "$work/crowdsec.stderr" \
  || { tail -n 20 "$work/crowdsec.stderr" >&2; exit 1; }
cat "$work/crowdsec.stderr" >&2
lapi_cpu=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["lapi_cpu_s"])' "$work/crowdsec.flags.json")
$PY "$here/collect.py" record --tool crowdsec --input "$name" --log "$log" --time "$work/crowdsec/crowdsec.time.json" \
  --flags "$work/crowdsec.flags.json" --extra-cpu "$lapi_cpu" \
  --note "crowdsec $(dpkg-query -W -f='${Version}' crowdsec); CPU includes the Local API ($lapi_cpu s)" \
  --out "$out/crowdsec.json"

# ---------------------------------------------------------------- sshguard
blocker_args=$(. /etc/sshguard/sshguard.conf; a="-a ${THRESHOLD:-30} -p ${BLOCK_TIME:-120} -s ${DETECTION_TIME:-1800}";
  [ -n "${WHITELIST_FILE:-}" ] && a="$a -w $WHITELIST_FILE"; [ -n "${IPV4_SUBNET:-}" ] && a="$a -n $IPV4_SUBNET";
  [ -n "${IPV6_SUBNET:-}" ] && a="$a -N $IPV6_SUBNET"; echo "$a")
have_aw=false
[[ -x "$aw" ]] && "$aw" replay --help 2>&1 | grep -q syslog && have_aw=true
say "sshguard pipeline, sshg-parser and authwatch at full speed, $reps runs interleaved (blocker args: $blocker_args)"
for ((r = 1; r <= reps; r++)); do
  $M "$work/sshguard.time.json.$r" -- unshare -n sh -c \
    "/usr/libexec/sshguard/sshg-parser < '$log' | /usr/libexec/sshguard/sshg-blocker $blocker_args | '$here/sshg-fw-log' '$work/sshguard-fullspeed-fw.log'" \
    2> "$work/sshguard.stderr" || { cat "$work/sshguard.stderr" >&2; exit 1; }
  $M "$work/sshg-parser.time.json.$r" -- unshare -n /usr/libexec/sshguard/sshg-parser < "$log" > "$work/sshg-parser.out"
  if $have_aw; then
    $M "$work/authwatch.time.json.$r" -- unshare -n "$aw" replay --config "$root/deploy/authwatch.yaml" \
      --format syslog --syslog-year "$year" --input "$log" --output "$work/authwatch-decisions.jsonl" \
      --no-progress 2> "$work/authwatch.stderr" || { cat "$work/authwatch.stderr" >&2; exit 1; }
  fi
done
median_runs sshguard sshg-parser $($have_aw && echo authwatch)
say "sshguard: paced run under libfaketime (verdicts)"
unshare -n $PY "$here/sshg_replay.py" --log "$log" --year "$year" --work "$work/sshguard" \
  --out "$work/sshguard.flags.json" 2> "$work/sshguard-paced.stderr" || { cat "$work/sshguard-paced.stderr" >&2; exit 1; }
cat "$work/sshguard-paced.stderr" >&2
fullspeed_blocks=$(grep -c '^block ' "$work/sshguard-fullspeed-fw.log" || true)
$PY "$here/collect.py" record --tool sshguard --input "$name" --log "$log" --time "$work/sshguard.time.json" \
  --flags "$work/sshguard.flags.json" \
  --note "sshguard $(dpkg-query -W -f='${Version}' sshguard); resources of parser|blocker|backend at full speed; verdicts of the paced run (the full-speed run, every attack stamped 'now', blocked $fullspeed_blocks)" \
  --out "$out/sshguard.json"

say "sshg-parser alone"
$PY "$here/collect.py" record --tool sshg-parser --input "$name" --log "$log" --time "$work/sshg-parser.time.json" \
  --note "attack lines reported: $(wc -l < "$work/sshg-parser.out")" --out "$out/sshg-parser.json"

# ---------------------------------------------------------------- authwatch
if $have_aw; then
  say "authwatch replay --format syslog"
  cat "$work/authwatch.stderr" >&2
  $PY "$here/collect.py" authwatch "$work/authwatch-decisions.jsonl" "$work/authwatch.flags.json"
  $PY "$here/collect.py" record --tool authwatch --input "$name" --log "$log" --time "$work/authwatch.time.json" \
    --flags "$work/authwatch.flags.json" \
    --note "$(grep -m1 'events read' "$work/authwatch.stderr" | sed 's/^authwatch replay: //')" \
    --out "$out/authwatch.json"
else
  say "authwatch skipped: '$aw replay --help' does not mention syslog"
  $PY "$here/collect.py" skip --tool authwatch --input "$name" \
    --note "skipped: $aw replay --help does not mention syslog (the syslog decoder is not in this build)" \
    --out "$out/authwatch.json"
fi
say "done"
