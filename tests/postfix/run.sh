#!/usr/bin/env bash
# End-to-end proof with real software: Postfix asks `authwatch policyd` (check_policy_service) about
# every recipient on a SASL submission port, and policyd answers from the decisions on a real Kafka
# topic. Mail is sent with swaks; Dovecot checks the passwords. Everything runs on loopback from
# scratch directories (var/postfix-test, var/kafka/postfix), nothing under /etc is changed, and
# everything this script starts is stopped on exit.
#
#   tests/postfix/run.sh            needs build/bin/authwatch; installs postfix, dovecot-core and
#                                   swaks from Debian if missing
#
# Postfix uses deploy/postfix/main.cf.snippet and master.cf.snippet as shipped, with only the
# addresses changed and TLS off (loopback). The steps, each asserted on swaks' exit code and the
# SMTP reply:
#   1. alice authenticates (AUTH PLAIN) and sends: 250
#   2. block account alice in scope smtp: within 10 s alice gets 554 5.7.1 with policyd's text
#      naming that decision ("(ref <first 12 characters of decision_id>)"); bob still sends
#   3. unblock alice: alice sends again
#   4. block ip 127.0.0.1 in scope all: bob is refused too; unblock: bob sends
#   5. block the client's /24 network (127.0.0.0/24, subject type prefix): refused; unblock
#   6. a block whose `expires` passes lifts by the wall clock without an unblock record
#   7. a wrong password gets 535 (the SASL setup itself)
#   8. policyd stopped: mail still flows (default_action=DUNNO in main.cf.snippet), after a delay
# Environment (ports on 127.0.0.1): AUTHWATCH_POSTFIX_SMTP_PORT (10587), AUTHWATCH_POSTFIX_POLICYD_PORT
#   (10041), AUTHWATCH_POSTFIX_METRICS_PORT (19466), AUTHWATCH_KAFKA_PORT (19492),
#   AUTHWATCH_KAFKA_CONTROLLER_PORT (19493); AUTHWATCH_BIN (build/bin/authwatch).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
t_start=$EPOCHREALTIME

smtp_port=${AUTHWATCH_POSTFIX_SMTP_PORT:-10587}
policyd_port=${AUTHWATCH_POSTFIX_POLICYD_PORT:-10041}
metrics_port=${AUTHWATCH_POSTFIX_METRICS_PORT:-19466}
export AUTHWATCH_KAFKA_PORT=${AUTHWATCH_KAFKA_PORT:-19492}
export AUTHWATCH_KAFKA_CONTROLLER_PORT=${AUTHWATCH_KAFKA_CONTROLLER_PORT:-19493}
authwatch=${AUTHWATCH_BIN:-$root/build/bin/authwatch}
d=$root/var/postfix-test
kafka_dir=$root/var/kafka/postfix
topic=authwatch.decisions
python=/usr/bin/python3   # Debian's python3-confluent-kafka is installed for the system interpreter

log() { printf '[postfix-test] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

# --- Debian packages --------------------------------------------------------------------------
missing=()
for p in postfix dovecot-core swaks; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  # No /etc/postfix/main.cf is written and nothing is started: this test brings its own configs.
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # dovecot-core's postinst tries to start a service; with no init system that is harmless.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[[ -x $authwatch ]] || die "$authwatch not found (build it: cmake --build build)"
"$authwatch" policyd --help >/dev/null 2>&1 || die "$authwatch has no 'policyd' command"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# --- stopping (also what a previous, killed run left behind) ----------------------------------
kafka() { deploy/kafka/kafka.sh "$@" --dir "$kafka_dir"; }
pid_alive() { [[ -n ${1:-} && -e /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
# Prints the pid in file $1 if that process is running and its command line contains $2.
pid_of() {
  local pid
  [[ -f $1 ]] && pid=$(tr -d ' \n' <"$1") && [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr "\0" " " 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  echo "$pid"
}
wait_gone() { # pid, seconds
  local k
  for ((k = 0; k < $2 * 10; k++)); do pid_alive "$1" || return 0; sleep 0.1; done
  return 1
}
stop_policyd() {
  local pid
  pid=$(pid_of "$d/policyd.pid" "$d/authwatch.yaml") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" 10 || { log "policyd (pid $pid) still up after 10 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$d/policyd.pid"
}
stop_postfix() {
  local pid
  pid=$(pid_of "$d/postfix/queue/pid/master.pid" master) || return 0
  postfix -c "$d/postfix/etc" stop >/dev/null 2>&1 || true
  wait_gone "$pid" 10 || { log "postfix master (pid $pid) still up after 10 s: abort"; postfix -c "$d/postfix/etc" abort >/dev/null 2>&1 || true; }
}
# Dovecot's auth children outlive the master for up to a minute: signal its whole process group
# (its own session, started by setsid below).
stop_dovecot() {
  local pgid k
  pgid=$(pid_of "$d/dovecot/dovecot.pid" "$d/dovecot/dovecot.conf") || return 0
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for ((k = 0; k < 100; k++)); do
    pgrep -g "$pgid" >/dev/null || break
    sleep 0.1
  done
  pgrep -g "$pgid" >/dev/null && { log "dovecot group $pgid still up after 10 s: SIGKILL"; kill -KILL -- "-$pgid" 2>/dev/null || true; }
  rm -f "$d/dovecot/dovecot.pid"
}
cleanup() {
  local rc=$?
  set +e
  stop_policyd
  stop_postfix   # Postfix first, then Dovecot: an smtpd without its SASL socket only logs errors
  stop_dovecot
  kafka stop >/dev/null 2>&1
  log "stopped everything; total $(since "$t_start")"
  exit "$rc"
}
stop_policyd
stop_postfix
stop_dovecot
kafka stop >/dev/null 2>&1 || true
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for p in "$smtp_port" "$policyd_port" "$metrics_port" "$AUTHWATCH_KAFKA_PORT" "$AUTHWATCH_KAFKA_CONTROLLER_PORT"; do
  port_busy "$p" && die "127.0.0.1:$p is already in use (set AUTHWATCH_POSTFIX_*_PORT / AUTHWATCH_KAFKA_PORT)"
done

# --- Kafka: in the background while Dovecot and Postfix start ---------------------------------
kafka wipe >/dev/null 2>&1 || rm -rf "$kafka_dir"
rm -rf "$d"
mkdir -p "$d"
t_kafka=$EPOCHREALTIME
kafka start >"$d/kafka.bootstrap" 2>"$d/kafka.start.log" &
kafka_start_pid=$!

# --- Dovecot: SASL backend only ---------------------------------------------------------------
mkdir -p "$d/dovecot/run" "$d/dovecot/state"
alice_pw=alice-secret-1 bob_pw=bob-secret-2
printf '%s\n' "alice@mail.example:{PLAIN}$alice_pw" "bob@mail.example:{PLAIN}$bob_pw" >"$d/dovecot/users"
chown root:dovecot "$d/dovecot/users" && chmod 0640 "$d/dovecot/users"   # read by the auth process (user dovecot)
cat >"$d/dovecot/dovecot.conf" <<EOF
# Generated by tests/postfix/run.sh: Dovecot as Postfix's SASL backend only (no IMAP/POP listener).
protocols =
base_dir = $d/dovecot/run
state_dir = $d/dovecot/state
log_path = $d/dovecot/dovecot.log
ssl = no
# Postfix hands over the plaintext mechanisms; the submission port is loopback here.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/dovecot/users
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
t_mail=$EPOCHREALTIME
setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$d/dovecot/dovecot.pid" \
  dovecot -F -c "$d/dovecot/dovecot.conf" </dev/null >"$d/dovecot/dovecot.out" 2>&1 &
sasl_socket=$d/dovecot/run/auth-postfix
for ((k = 0; k < 100; k++)); do
  [[ -S $sasl_socket ]] && break
  pid_of "$d/dovecot/dovecot.pid" "$d/dovecot/dovecot.conf" >/dev/null || ((k < 10)) || break
  sleep 0.1
done
[[ -S $sasl_socket ]] || { cat "$d/dovecot/dovecot.out" "$d/dovecot/dovecot.log" 2>/dev/null >&2; die "dovecot's auth socket did not appear"; }

# --- Postfix: the shipped snippets on a loopback submission port -------------------------------
pf=$d/postfix/etc
mkdir -p "$pf" "$d/postfix/queue"
install -d -o postfix -g postfix "$d/postfix/data"
cat >"$pf/main.cf" <<EOF
# Generated by tests/postfix/run.sh; deploy/postfix/main.cf.snippet follows.
compatibility_level = 3.6
queue_directory = $d/postfix/queue
data_directory = $d/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.postfix-test.example
mydomain = postfix-test.example
myorigin = \$myhostname
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
alias_maps =
alias_database =
# Every message is accepted and thrown away.
default_transport = discard
relay_transport = discard
# Without syslog: log to a file, which needs the postlog service in master.cf and the prefix here.
maillog_file = $d/postfix/maillog
maillog_file_prefixes = $d
# A failed service restarts after 2 s, not 60 s.
service_throttle_time = 2s
smtpd_sasl_type = dovecot
smtpd_sasl_path = $sasl_socket
smtpd_tls_security_level = none
EOF
sed "s|inet:127\.0\.0\.1:10040|inet:127.0.0.1:$policyd_port|g" deploy/postfix/main.cf.snippet >>"$pf/main.cf"
grep -q "inet:127.0.0.1:$policyd_port," "$pf/main.cf" || die "main.cf.snippet: no inet:127.0.0.1:10040 to point at the test policyd"
{
  cat <<'EOF'
# Generated by tests/postfix/run.sh: every service unchrooted; deploy/postfix/master.cf.snippet follows.
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
  # The shipped entry, with the service on the test port, no chroot, and TLS off on loopback.
  sed -e "s|^submission   inet  n       -       y |127.0.0.1:$smtp_port inet n - n |" \
    -e 's|smtpd_tls_security_level=encrypt|smtpd_tls_security_level=none|' \
    -e 's|smtpd_tls_auth_only=yes|smtpd_tls_auth_only=no|' deploy/postfix/master.cf.snippet
} >"$pf/master.cf"
for want in "^127.0.0.1:$smtp_port inet n - n " smtpd_tls_security_level=none smtpd_tls_auth_only=no; do
  grep -q -- "$want" "$pf/master.cf" || die "master.cf.snippet changed: could not adapt it for the test ($want)"
done
# `postfix start` fails silently on a bad config; `check` under a terminal says why.
postfix -c "$pf" start >"$d/postfix/start.out" 2>&1 ||
  { script -qc "postfix -c '$pf' check" /dev/null >&2 || true; cat "$d/postfix/start.out" >&2
    tail -n 5 "$d/postfix/maillog" >&2 2>/dev/null; die "postfix did not start"; }
for ((k = 0; k < 100; k++)); do port_busy "$smtp_port" && break; sleep 0.1; done
port_busy "$smtp_port" || die "postfix does not listen on 127.0.0.1:$smtp_port; see $d/postfix/maillog"
log "dovecot and postfix up in $(since "$t_mail")"

# --- Kafka topic, authwatch config, policyd ----------------------------------------------------
wait "$kafka_start_pid" || { cat "$d/kafka.start.log" >&2; die "kafka did not start"; }
bootstrap=$(<"$d/kafka.bootstrap")
export AUTHWATCH_POSTFIX_BOOTSTRAP=$bootstrap
log "kafka up at $bootstrap in $(since "$t_kafka")"
$python tests/postfix/decision.py create-topic "$topic" --partitions 2

# The default config with absolute paths, this broker and topic, and the policyd section.
sed -e "s|\.\./var/|$root/var/|g" -e "s|\[\.\./rules\]|[$root/rules]|" deploy/authwatch.yaml |
  sed '/^kafka:/,$d' >"$d/authwatch.yaml"
cat >>"$d/authwatch.yaml" <<EOF
kafka:
  input_topics: [authwatch.events]
  decisions_topic: $topic
  dead_letter_topic: authwatch.dead-letter
  group_id: authwatch-postfix-test
  properties:
    bootstrap.servers: $bootstrap

metrics:
  listen: 127.0.0.1:0

policyd:
  listen: 127.0.0.1:$policyd_port
  on_unavailable: defer
  challenge_action: "450 4.7.1 Additional verification required"
  metrics_listen: 127.0.0.1:$metrics_port
EOF
t_policyd=$EPOCHREALTIME
"$authwatch" policyd --config "$d/authwatch.yaml" </dev/null >"$d/policyd.log" 2>&1 &
echo $! >"$d/policyd.pid"

# One policy request straight to policyd (the Postfix protocol: name=value lines, an empty line).
policy_ask() { # sasl_username client_address
  local reply=
  exec 3<>"/dev/tcp/127.0.0.1/$policyd_port" || return 1
  printf 'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=%s\nclient_name=localhost\nsasl_method=PLAIN\nsasl_username=%s\nsender=%s\nrecipient=probe@dest.example\n\n' \
    "$2" "$1" "$1" >&3
  IFS= read -r -t 5 reply <&3 || true
  exec 3<&-
  printf '%s\n' "$reply"
}
# Ready = it answers DUNNO for alice (with on_unavailable: defer it defers until it has read the topic).
ready=
for ((k = 0; k < 300; k++)); do
  pid_alive "$(<"$d/policyd.pid")" || { cat "$d/policyd.log" >&2; die "authwatch policyd exited"; }
  if port_busy "$policyd_port" && [[ $(policy_ask alice@mail.example 127.0.0.1 2>/dev/null) == action=[Dd][Uu][Nn][Nn][Oo] ]]; then
    ready=1
    break
  fi
  sleep 0.1
done
[[ -n $ready ]] || { cat "$d/policyd.log" >&2; die "authwatch policyd did not answer DUNNO within 30 s (last: $(policy_ask alice@mail.example 127.0.0.1 2>&1))"; }
log "authwatch policyd ready in $(since "$t_policyd")"

# --- steps ---------------------------------------------------------------------------------------
passed=0 failed=0 n_swaks=0
pass() { passed=$((passed + 1)); printf 'ok    %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s\n' "$*"; }
# produce block|unblock TYPE VALUE SCOPE [--ttl S]: one decision record to the topic. policyd's
# refusal names the decision it enforces by the first 12 characters of its id: $ref.
produce() {
  local action=$1 line
  shift
  line=$($python tests/postfix/decision.py "$action" "$topic" "$@")
  printf '%s\n' "$line" >>"$d/decisions.jsonl"
  [[ $line =~ ^\{\"decision_id\":\"([0-9a-f]{12}) ]] && ref=${BASH_REMATCH[1]}
}

# send USER PASSWORD: one message through the submission port; sets rc, reply (the last SMTP reply,
# which is the one that ended the session on an error) and out (the transcript file).
send() {
  n_swaks=$((n_swaks + 1))
  out=$d/swaks/$n_swaks.txt
  mkdir -p "$d/swaks"
  rc=0
  swaks --server 127.0.0.1 --port "$smtp_port" --ehlo client.postfix-test.example --timeout 20 \
    --auth PLAIN --auth-user "$1" --auth-password "$2" --from "$1" --to rcpt@dest.example \
    --header "Subject: authwatch policyd test $n_swaks" --body "test $n_swaks" >"$out" 2>&1 || rc=$?
  reply=$(grep -E '^<(-|\*\*) +[0-9]{3}[ -]' "$out" | grep -v '^<.*221 ' | tail -n 1 | sed -E 's/^<(-|\*\*) +//')
}
# expect NAME USER PASSWORD RC REPLY_REGEX [SECONDS]: sends until swaks exits with RC and the last
# reply matches, or SECONDS (default: one attempt) have passed.
expect() {
  local name=$1 user=$2 pw=$3 want_rc=$4 want=$5 within=${6:-0} t0=$EPOCHREALTIME deadline
  deadline=$(awk -v a="$EPOCHREALTIME" -v w="$within" 'BEGIN { printf "%.3f", a + w }')
  while :; do
    send "$user" "$pw"
    if [[ $rc == "$want_rc" && $reply =~ $want ]]; then
      pass "$name: swaks exit $rc, \"$reply\" (after $(since "$t0"))"
      return 0
    fi
    awk -v n="$EPOCHREALTIME" -v d="$deadline" 'BEGIN { exit !(n < d) }' || break
    sleep 0.3
  done
  fail "$name: want swaks exit $want_rc and /$want/, got exit $rc and \"$reply\" after $(since "$t0") ($out)"
}
accepted='^250 2\.0\.0 Ok: queued as '
# Postfix's reply to a policy service's "554 5.7.1 TEXT", for the decision produced last.
refused() { printf '^554 5\\.7\\.1 <rcpt@dest\\.example>: Recipient address rejected: .*\\(ref %s\\)' "$ref"; }

echo "--- 1. alice authenticates and sends"
expect "alice is accepted" alice@mail.example "$alice_pw" 0 "$accepted"

echo "--- 2. block account alice in scope smtp"
produce block account alice@mail.example smtp
expect "alice is refused within 10 s" alice@mail.example "$alice_pw" 24 "$(refused)" 10
expect "bob still sends" bob@mail.example "$bob_pw" 0 "$accepted"

echo "--- 3. unblock alice"
produce unblock account alice@mail.example smtp
expect "alice sends again within 10 s" alice@mail.example "$alice_pw" 0 "$accepted" 10

echo "--- 4. block ip 127.0.0.1 in scope all, then unblock"
produce block ip 127.0.0.1 all
expect "bob is refused by his address within 10 s" bob@mail.example "$bob_pw" 24 "$(refused)" 10
expect "alice is refused by her address too" alice@mail.example "$alice_pw" 24 "$(refused)"
produce unblock ip 127.0.0.1 all
expect "bob sends again within 10 s" bob@mail.example "$bob_pw" 0 "$accepted" 10

echo "--- 5. block prefix 127.0.0.0/24 in scope smtp, then unblock"
produce block prefix 127.0.0.0/24 smtp
expect "bob is refused by his /24 within 10 s" bob@mail.example "$bob_pw" 24 "$(refused)" 10
produce unblock prefix 127.0.0.0/24 smtp
expect "bob sends again within 10 s" bob@mail.example "$bob_pw" 0 "$accepted" 10

echo "--- 6. a block that expires (ttl 6 s) lifts without an unblock record"
produce block account bob@mail.example smtp --ttl 6
expect "bob is refused while it lasts" bob@mail.example "$bob_pw" 24 "$(refused)" 5
expect "bob sends once it expired (within 15 s)" bob@mail.example "$bob_pw" 0 "$accepted" 15

echo "--- 7. wrong password"
expect "a wrong password gets 535" alice@mail.example wrong-password 28 '^535 5\.7\.8 Error: authentication failed'

echo "--- 8. policyd stopped: Postfix goes on without it (default_action=DUNNO)"
pid=$(<"$d/policyd.pid")
kill -TERM "$pid"
if wait_gone "$pid" 10; then
  prc=0
  wait "$pid" || prc=$?
  ((prc == 0)) && pass "policyd stops on SIGTERM with exit 0" || fail "policyd exited $prc on SIGTERM (see $d/policyd.log)"
else
  fail "policyd still running 10 s after SIGTERM"
  stop_policyd
fi
expect "alice is accepted without policyd" alice@mail.example "$alice_pw" 0 "$accepted"
grep -q "warning: problem talking to server 127.0.0.1:$policyd_port" "$d/postfix/maillog" &&
  pass "postfix logged the unreachable policy service" ||
  fail "no 'problem talking to server 127.0.0.1:$policyd_port' warning in $d/postfix/maillog"

discarded=$(grep -c 'postfix/discard\[[0-9]*\]: .* status=sent' "$d/postfix/maillog" || true)
log "$n_swaks swaks sessions, $discarded messages delivered to discard:; logs in $d: postfix/maillog, dovecot/dovecot.log, policyd.log, swaks/N.txt"
echo "$passed passed, $failed failed ($(since "$t_start"))"
((failed == 0))
