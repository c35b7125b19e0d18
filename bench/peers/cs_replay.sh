#!/usr/bin/env bash
# cs_replay.sh LOG WORKDIR OUT_JSON
#
# CrowdSec (Debian package) in replay ("time-machine") mode over one syslog file, offline, with
# the ssh / dovecot / postfix parsers and scenarios of the Debian package's offline hub.
# Run it inside a private network namespace (run_peers.sh does: `unshare -n`); it brings up the
# namespace's loopback and nothing else, so the Local API on 127.0.0.1 is reachable only here.
#
#   1. A private configuration under WORKDIR/cs (nothing under /etc/crowdsec is used or changed):
#      the enabled hub items are symlinks into /var/lib/crowdsec/hub (the offline hub), as the
#      package's postinst does it; no Central API (no online_client), no Prometheus listener,
#      a fresh SQLite database.
#   2. `cscli machines add` registers the agent in that database.
#   3. The Local API alone: `crowdsec -c CFG -no-cs` on 127.0.0.1:$CS_PORT.
#   4. The agent alone, in time-machine mode: `crowdsec -c CFG -dsn file://LOG -type syslog -no-api`,
#      under measure.py (its own wall, CPU and peak RSS); buckets run on the lines' times.
#   5. `cscli alerts list -o json` from the Local API; the Local API's own CPU and peak RSS are
#      read from /proc before it is stopped.
# OUT_JSON: {"tool":"crowdsec","flagged_ips":[...],"alerts":N,"per_scenario":{...},"lapi_cpu_s":..}
set -euo pipefail
log="$(readlink -f "$1")"; work="$2"; out="$3"
port="${CS_PORT:-18080}"
hub=/var/lib/crowdsec/hub
cs="$work/cs"
rm -rf "$cs"; mkdir -p "$cs"/{data,log,notifications,acquis.d} \
  "$cs"/parsers/{s00-raw,s01-parse,s02-enrich} "$cs"/scenarios "$cs"/collections "$cs"/postoverflows
ip link set lo up 2>/dev/null || true

link() { # hub-relative path -> the config dir without the author part (as the postinst does)
  local src="$hub/$1" rel dst
  [[ -e $src ]] || { echo "cs_replay: $src missing from the offline hub" >&2; exit 1; }
  rel="$(dirname "$(dirname "$1")")/$(basename "$1")"
  dst="$cs/$rel"; mkdir -p "$(dirname "$dst")"; ln -sf "$src" "$dst"
}
for item in \
  parsers/s00-raw/crowdsecurity/syslog-logs.yaml \
  parsers/s01-parse/crowdsecurity/sshd-logs.yaml \
  parsers/s01-parse/crowdsecurity/dovecot-logs.yaml \
  parsers/s01-parse/crowdsecurity/postfix-logs.yaml \
  parsers/s01-parse/crowdsecurity/postscreen-logs.yaml \
  parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml \
  parsers/s02-enrich/crowdsecurity/whitelists.yaml \
  scenarios/crowdsecurity/ssh-bf.yaml \
  scenarios/crowdsecurity/ssh-slow-bf.yaml \
  scenarios/crowdsecurity/dovecot-spam.yaml \
  scenarios/crowdsecurity/postfix-spam.yaml \
  collections/crowdsecurity/sshd.yaml \
  collections/crowdsecurity/dovecot.yaml \
  collections/crowdsecurity/postfix.yaml; do
  link "$item"
done
ln -s /etc/crowdsec/patterns "$cs/patterns"   # the package's grok pattern library
cp /usr/share/crowdsec/data/* "$cs/data/" 2>/dev/null || true
cp /etc/crowdsec/profiles.yaml "$cs/profiles.yaml"
printf 'simulation: false\n' > "$cs/simulation.yaml"
: > "$cs/acquis.yaml"
cat > "$cs/config.yaml" <<EOF
common:
  daemonize: false
  log_media: file
  log_level: info
  log_dir: $cs/log/
  working_dir: .
config_paths:
  config_dir: $cs/
  data_dir: $cs/data/
  simulation_path: $cs/simulation.yaml
  hub_dir: $hub/
  index_path: $hub/.index.json
  notification_dir: $cs/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $cs/acquis.yaml
  acquisition_dir: $cs/acquis.d
  parser_routines: 1
cscli:
  output: human
  color: "no"
db_config:
  log_level: info
  type: sqlite
  db_path: $cs/data/crowdsec.db
  use_wal: true
api:
  client:
    insecure_skip_verify: false
    credentials_path: $cs/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:$port
    profiles_path: $cs/profiles.yaml
    trusted_ips:
      - 127.0.0.1
      - ::1
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 6060
EOF
cscli -c "$cs/config.yaml" --error machines add bench-agent --auto --force \
  -f "$cs/local_api_credentials.yaml" --url "http://127.0.0.1:$port" >/dev/null

crowdsec -c "$cs/config.yaml" -no-cs >"$cs/log/lapi.stdout" 2>&1 &
lapi=$!
cleanup() { kill "$lapi" 2>/dev/null || true; wait "$lapi" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if cscli -c "$cs/config.yaml" --error lapi status >/dev/null 2>&1; then break; fi
  kill -0 "$lapi" 2>/dev/null || { echo "cs_replay: Local API died:" >&2; tail -n 5 "$cs/log/lapi.stdout" >&2; exit 1; }
  sleep 0.2
done

"$(dirname "$0")/measure.py" "$work/crowdsec.time.json" -- \
  crowdsec -c "$cs/config.yaml" -dsn "file://$log" -type syslog -no-api >"$cs/log/agent.stdout" 2>&1 \
  || { echo "cs_replay: agent failed:" >&2; tail -n 5 "$cs/log/agent.stdout" >&2; exit 1; }

cscli -c "$cs/config.yaml" --error alerts list -o json --limit 0 > "$work/crowdsec-alerts.json"
cscli -c "$cs/config.yaml" --error decisions list -o json --limit 0 > "$work/crowdsec-decisions.json" || true
# The Local API's own cost (it stored the alerts and decisions), from /proc before it stops.
tck=$(getconf CLK_TCK)
read -r ut st < <(awk '{print $14, $15}' "/proc/$lapi/stat")
lapi_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$lapi/status")
cleanup; trap - EXIT

python3 - "$work/crowdsec-alerts.json" "$work/crowdsec-decisions.json" "$out" "$ut" "$st" "$tck" "$lapi_hwm" "$log" <<'PY'
import json, sys, collections
alerts_p, dec_p, out_p, ut, st, tck, hwm, log = sys.argv[1:]
alerts = json.load(open(alerts_p)) or []
try:
    decisions = json.load(open(dec_p)) or []
except Exception:
    decisions = []
ips, per, users = set(), collections.Counter(), set()
for a in alerts:
    src = a.get("source") or {}
    scen = a.get("scenario", "")
    per[scen] += 1
    if src.get("scope", "").lower() == "ip" and src.get("value"):
        ips.add(src["value"])
    elif src.get("scope", "").lower() == "range" and src.get("value"):
        ips.add(src["value"])
    for ev in a.get("events") or []:
        for m in ev.get("meta") or []:
            if m.get("key") == "target_user":
                users.add(m.get("value"))
dec_ips = set()
for d in decisions:
    for dd in (d.get("decisions") or []):
        dec_ips.add(dd.get("value"))
n = sum(1 for _ in open(log, "rb"))
json.dump({"tool": "crowdsec", "lines": n, "flagged_ips": sorted(ips), "flagged_accounts": [],
           "alerts": len(alerts), "per_scenario": dict(per), "decision_ips": len(dec_ips),
           "alert_target_users": len(users),
           "lapi_cpu_s": (int(ut) + int(st)) / int(tck), "lapi_peak_rss_kb": int(hwm or 0)},
          open(out_p, "w"), indent=1)
print(f"cs_replay: {n} lines, {len(alerts)} alerts, {len(ips)} addresses, {dict(per)}", file=sys.stderr)
PY
