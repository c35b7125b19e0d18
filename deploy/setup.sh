#!/usr/bin/env bash
# Installs everything a fresh Debian 12 machine lacks to build, test and run authwatch.
# Idempotent: each step checks what is already there and skips it.
#   deploy/setup.sh            Debian packages, GeoIP databases, Kafka jars
#   AUTHWATCH_SKIP_KAFKA=1     skip the Kafka jars (offline replay only)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------
packages=(
  build-essential cmake ninja-build pkg-config git python3 curl
  librdkafka-dev libabsl-dev libmaxminddb-dev mmdb-bin prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libprotobuf-dev protobuf-compiler
  libsimdjson-dev libyaml-cpp-dev
  libmaxmind-db-writer-perl libtext-csv-perl
  maven openjdk-17-jre-headless nodejs npm
  prometheus python3-confluent-kafka
  postfix dovecot-core swaks
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # The machine may have node/npm from elsewhere (not dpkg): skip those if the commands exist.
  filtered=()
  for p in "${missing[@]}"; do
    case "$p" in
      nodejs) command -v node >/dev/null || filtered+=("$p") ;;
      npm) command -v npm >/dev/null || filtered+=("$p") ;;
      maven) command -v mvn >/dev/null || filtered+=("$p") ;;
      openjdk-17-jre-headless) command -v java >/dev/null || filtered+=("$p") ;;
      *) filtered+=("$p") ;;
    esac
  done
  if ((${#filtered[@]})); then
    apt-get update -qq
    # Postfix (for tests/postfix/run.sh) must not ask what kind of mail server this is, nor write
    # /etc/postfix/main.cf: the test brings its own configuration.
    echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
    # prometheus' and dovecot-core's postinst may try to start a service; with no init system that
    # is harmless.
    apt-get install -y -qq --no-install-recommends "${filtered[@]}" >/dev/null
  fi
else
  log "Debian packages present"
fi

# --- GeoIP databases (npm) -------------------------------------------------
"$root/deploy/geoip/install.sh"

# --- Kafka jars (Maven Central) --------------------------------------------
if [[ "${AUTHWATCH_SKIP_KAFKA:-0}" != 1 ]]; then
  "$root/deploy/kafka/fetch.sh"
fi
log "done"
