#!/usr/bin/env bash
# install.sh: idempotent install of the peer tools for bench/peers/ from Debian's packages:
# fail2ban, crowdsec, sshguard, libfaketime (+ the faketime wrapper), gnuplot (no X), GNU time,
# iproute2 (loopback inside the benchmark's network namespace), python3-yaml.
#
# Nothing is started or enabled as a service and no firewall rule is touched:
#   - a policy-rc.d that answers 101 ("action forbidden") is in force during the install, so
#     invoke-rc.d / deb-systemd-invoke start nothing (restored afterwards if we put it there);
#   - the systemd "enable" symlinks and SysV rc links the packages make are removed again;
#   - the peers are later run by run_peers.sh alone, offline, each with a dummy action/backend.
#
# CrowdSec workaround: its postinst registers with the online API (`cscli capi register`)
# unless /etc/crowdsec/online_api_credentials.yaml exists and is non-empty. We create it
# beforehand holding one comment line, so the install works offline. The Debian package ships
# its hub offline (/usr/share/crowdsec/hub, symlinked from /var/lib/crowdsec/hub); the bench
# builds its own config directory from it (run_peers.sh), so /etc/crowdsec is not edited.
set -euo pipefail

if [[ $(id -u) -ne 0 ]]; then
  echo "install.sh: must run as root (apt-get)" >&2
  exit 1
fi

pkgs=(fail2ban crowdsec sshguard libfaketime faketime gnuplot-nox time iproute2 python3-yaml)
bins=(/usr/bin/fail2ban-server /usr/bin/crowdsec /usr/bin/cscli /usr/sbin/sshguard
      /usr/libexec/sshguard/sshg-parser /usr/libexec/sshguard/sshg-blocker
      /usr/bin/faketime /usr/bin/gnuplot /usr/bin/time /usr/sbin/ip)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install.sh: installing ${missing[*]}" >&2
  # Keep the postinst of crowdsec offline (see the header).
  mkdir -p /etc/crowdsec
  if [[ ! -s /etc/crowdsec/online_api_credentials.yaml ]]; then
    echo "# authwatch bench/peers: no Central API registration (offline install)" \
      > /etc/crowdsec/online_api_credentials.yaml
  fi
  # No service start during the install.
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  trap '[[ $made_policy = 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the package lists when they are missing or a candidate cannot be found.
  if ! apt-cache policy "${missing[@]}" 2>/dev/null | grep -q 'Candidate: [0-9]' \
     || apt-cache policy "${missing[@]}" 2>/dev/null | grep -q 'Candidate: (none)'; then
    apt-get update -qq
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || {
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi

# Not enabled as services (idempotent; harmless when systemd is not PID 1).
for unit in fail2ban.service crowdsec.service sshguard.service; do
  if command -v deb-systemd-helper >/dev/null && deb-systemd-helper --quiet is-enabled "$unit" 2>/dev/null; then
    deb-systemd-helper disable "$unit" >/dev/null 2>&1 || true
  fi
  rm -f "/etc/systemd/system/multi-user.target.wants/$unit"
done
for svc in fail2ban crowdsec sshguard; do
  [[ -e /etc/init.d/$svc ]] && update-rc.d "$svc" disable >/dev/null 2>&1 || true
done
# Stop anything that nevertheless runs (only our three daemons, by pid file).
for pidf in /run/fail2ban/fail2ban.pid /run/crowdsec.pid /run/sshguard.pid; do
  if [[ -s $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
    echo "install.sh: stopping service started by the package ($pidf)" >&2
    kill "$(cat "$pidf")" 2>/dev/null || true
  fi
done

for b in "${bins[@]}"; do
  [[ -x $b ]] || { echo "install.sh: $b missing after install" >&2; exit 1; }
done
ls /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 >/dev/null 2>&1 \
  || ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null
[[ -e /var/lib/crowdsec/hub/.index.json ]] || { echo "install.sh: CrowdSec offline hub missing" >&2; exit 1; }
echo "install.sh: fail2ban $(dpkg-query -W -f='${Version}' fail2ban), crowdsec $(dpkg-query -W -f='${Version}' crowdsec)," \
  "sshguard $(dpkg-query -W -f='${Version}' sshguard), libfaketime $(dpkg-query -W -f='${Version}' libfaketime)," \
  "gnuplot $(dpkg-query -W -f='${Version}' gnuplot-nox): ready" >&2
