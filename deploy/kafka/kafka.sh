#!/usr/bin/env bash
# Runs a real Apache Kafka 4.1 cluster in KRaft mode on 127.0.0.1 from the jars deploy/kafka/fetch.sh
# resolved from Maven Central (no tarball, no mock cluster). For integration and fault tests, and by hand.
#
#   kafka.sh start [--brokers 1|3] [--dir DIR]   format once, start, wait until the cluster answers;
#                                                prints the bootstrap servers on stdout
#   kafka.sh stop                                SIGTERM, then SIGKILL after AUTHWATCH_KAFKA_STOP_TIMEOUT s
#   kafka.sh status | bootstrap
#   kafka.sh kill9 [NODE] | restart [NODE]       fault injection; NODE is 1..N (default 1; restart: all)
#   kafka.sh create-topics [--replication-factor R] NAME:PARTITIONS[:compact] ...
#   kafka.sh produce TOPIC [ConsoleProducer args] < FILE
#   kafka.sh consume TOPIC [--max N] [--timeout-ms T] [ConsoleConsumer args]
#   kafka.sh wipe                                stop and delete DIR (all topics and offsets)
# --dir DIR is accepted by every subcommand.
#
# Every node is a combined broker+controller with a static voter set (controller.quorum.voters): one code
# path for 1 and 3 nodes, no directory ids to pre-generate as a dynamic quorum (--initial-controllers)
# would need. Node i of N listens on client port PORT+2(i-1) and controller port CPORT+2(i-1), so the
# 1-node default is 19092/19093 and 3 nodes use 19092,19094,19096 / 19093,19095,19097.
# Environment:
#   AUTHWATCH_KAFKA_PORT (19092)  AUTHWATCH_KAFKA_CONTROLLER_PORT (PORT+1)  AUTHWATCH_KAFKA_DIR (var/kafka/run)
#   AUTHWATCH_KAFKA_LIBS (var/kafka/libs)  AUTHWATCH_KAFKA_HEAP_OPTS (-Xms512m -Xmx512m)
#   AUTHWATCH_KAFKA_JVM_OPTS (GC and JIT threads, default: one GC and two JIT threads, see below)
#   AUTHWATCH_KAFKA_START_TIMEOUT (60)  AUTHWATCH_KAFKA_STOP_TIMEOUT (30)
#   AUTHWATCH_KAFKA_PROXIED (unset)  LISTEN:ADVERTISED: an extra listener PROXIED on 127.0.0.1:LISTEN that
#     advertises 127.0.0.1:ADVERTISED, where a TCP proxy forwarding to LISTEN sits (tests/faults: network);
#     clients bootstrapped there reach the broker only through the proxy. Node i adds 2(i-1) to both.
# Layout of DIR: cluster.env (node count, ports, cluster id; fixed at format time), client.properties,
# nodeI/{server.properties,data/,logs/server.log,kafka.out,kafka.pid}.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
libs=${AUTHWATCH_KAFKA_LIBS:-$root/var/kafka/libs}
start_timeout=${AUTHWATCH_KAFKA_START_TIMEOUT:-60}
stop_timeout=${AUTHWATCH_KAFKA_STOP_TIMEOUT:-30}

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1fs", b - a }'; }

# --dir may appear anywhere (the documented form is after the subcommand).
dir=${AUTHWATCH_KAFKA_DIR:-$root/var/kafka/run}
args=()
while (($#)); do
  case $1 in
    --dir) [[ $# -ge 2 ]] || die "--dir needs a value"; dir=$2; shift 2 ;;
    --dir=*) dir=${1#--dir=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"
dir=$(realpath -m "$dir")   # absolute: it is written into server.properties

# Cluster shape: fixed by the first start (the voter set is baked into the formatted metadata log).
nodes=1
port=${AUTHWATCH_KAFKA_PORT:-19092}
cport=${AUTHWATCH_KAFKA_CONTROLLER_PORT:-$((port + 1))}
cluster_id=
formatted=0
proxied=${AUTHWATCH_KAFKA_PROXIED:-}
[[ -z $proxied || $proxied =~ ^[0-9]+:[0-9]+$ ]] || die "AUTHWATCH_KAFKA_PROXIED must be LISTEN:ADVERTISED, got '$proxied'"
if [[ -f $dir/cluster.env ]]; then
  # shellcheck source=/dev/null
  . "$dir/cluster.env"
  formatted=1
  [[ ${AUTHWATCH_KAFKA_PORT:-$port} == "$port" ]] ||
    echo "[kafka] warning: $dir was created with port $port; AUTHWATCH_KAFKA_PORT=$AUTHWATCH_KAFKA_PORT is ignored (wipe it or use another --dir)" >&2
fi

# Serialises commands that start or stop nodes, so two test runners sharing DIR cannot race.
# launch() closes fd 9 for the broker, which would otherwise hold the lock for its whole life.
lock() { mkdir -p "$dir"; exec 9>>"$dir/.lock"; flock 9; }

node_dir() { printf '%s/node%s' "$dir" "$1"; }
client_port() { echo $((port + 2 * ($1 - 1))); }
ctrl_port() { echo $((cport + 2 * ($1 - 1))); }
proxied_port() { echo $((${proxied%:*} + 2 * ($1 - 1))); }
proxied_adv_port() { echo $((${proxied#*:} + 2 * ($1 - 1))); }
bootstrap() {
  local i out=
  for ((i = 1; i <= nodes; i++)); do out+=${out:+,}127.0.0.1:$(client_port "$i"); done
  printf '%s\n' "$out"
}
# Replication for internal and default topics: every node holds a copy; with 3 nodes acks=all survives one loss.
rf() { echo $((nodes < 3 ? nodes : 3)); }
min_isr() { echo $((nodes < 3 ? 1 : 2)); }

# Prints the pid of node $1 if it is running. Checks the command line, not just the pid, so a recycled
# pid (or a zombie left by kill9, whose cmdline is empty) never counts as our broker.
node_pid() {
  local f pid
  f=$(node_dir "$1")/kafka.pid
  [[ -f $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "kafka.Kafka $(node_dir "$1")/server.properties" || return 1
  echo "$pid"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True once pid $1 has fully exited. A dying JVM loses its cmdline (so node_pid already says "not running")
# and its main thread shows up as a zombie while other threads are still closing its sockets; restarting
# in that window finds the ports taken. Gone = no /proc entry, or a zombie whose last thread has exited.
pid_gone() {
  local st tasks
  [[ -e /proc/$1 ]] || return 0
  st=$(sed -n 's/^[0-9]* (.*) \([A-Z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 0
  tasks=$(find "/proc/$1/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  [[ -z $st ]] || { [[ $st == Z ]] && ((tasks <= 1)); }
}
# Only ever waits (never signals), and only briefly, so a recycled pid cannot hurt.
wait_gone() {
  local p k
  for p in "$@"; do
    for ((k = 0; k < 100; k++)); do pid_gone "$p" && break; sleep 0.05; done
  done
}

check_node_arg() {
  [[ $1 =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= nodes)) || die "node must be 1..$nodes, got '$1'"
}

# Short-lived CLI JVMs: C1 only and serial GC start noticeably faster on 2 cores.
tool_java=(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$here/tools-log4j2.yaml" -cp "$libs/*")
tool() {
  [[ -d $libs ]] || die "no jars in $libs (run deploy/kafka/fetch.sh)"
  "${tool_java[@]}" "$@"
}

write_props() {
  local i=$1 nd voters= j listen= adv= map=
  nd=$(node_dir "$i")
  for ((j = 1; j <= nodes; j++)); do voters+=${voters:+,}$j@127.0.0.1:$(ctrl_port "$j"); done
  if [[ -n $proxied ]]; then
    listen=,PROXIED://127.0.0.1:$(proxied_port "$i") adv=,PROXIED://127.0.0.1:$(proxied_adv_port "$i")
    map=,PROXIED:PLAINTEXT
  fi
  mkdir -p "$nd/data" "$nd/logs"
  # Rewritten on every start so edits here apply to existing data; only the voter set must never change.
  cat >"$nd/server.properties" <<EOF
# Generated by deploy/kafka/kafka.sh; edits are overwritten on the next start.
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(client_port "$i"),CONTROLLER://127.0.0.1:$(ctrl_port "$i")$listen
advertised.listeners=PLAINTEXT://127.0.0.1:$(client_port "$i"),CONTROLLER://127.0.0.1:$(ctrl_port "$i")$adv
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT$map
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$nd/data
# Topics are created explicitly (create-topics); a typo in a client must not invent a topic.
auto.create.topics.enable=false
num.partitions=4
default.replication.factor=$(rf)
min.insync.replicas=$(min_isr)
offsets.topic.replication.factor=$(rf)
transaction.state.log.replication.factor=$(rf)
transaction.state.log.min.isr=$(min_isr)
share.coordinator.state.topic.replication.factor=$(rf)
share.coordinator.state.topic.min.isr=$(min_isr)
# 50 partitions (the default) per internal topic is pointless load on a 2-core test machine.
offsets.topic.num.partitions=8
transaction.state.log.num.partitions=8
# Consumers in tests join alone; the default 3 s delay would only slow every first poll.
group.initial.rebalance.delay.ms=0
# A hard-killed broker cannot re-register (DUPLICATE_BROKER_REGISTRATION) and its partitions keep a dead
# leader until its session expires: 6 s instead of 9 s shortens every kill9/restart cycle in fault tests.
broker.heartbeat.interval.ms=1500
broker.session.timeout.ms=6000
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
# The cleaner's 128 MiB default dedupe buffer would be a quarter of the small heap.
log.cleaner.dedupe.buffer.size=33554432
EOF
}

format_node() {
  local i=$1 nd
  nd=$(node_dir "$i")
  [[ -f $nd/data/meta.properties ]] && return 0
  # Static voters: no --standalone/--initial-controllers (those are for a dynamic quorum).
  tool kafka.tools.StorageTool format -t "$cluster_id" -c "$nd/server.properties" >"$nd/format.out" 2>&1 ||
    { cat "$nd/format.out" >&2; die "formatting node $i failed"; }
}

# Starts node $1 detached (own session: a test runner killing its process group must not take it down).
# log4j2's own shutdown hook would stop logging while Kafka's shutdown hook is still running, cutting the
# end of every graceful stop out of server.log; with it disabled the log runs to "App info kafka.server ... unregistered".
launch() {
  local i=$1 nd p
  nd=$(node_dir "$i")
  for p in "$(client_port "$i")" "$(ctrl_port "$i")" ${proxied:+$(proxied_port "$i")}; do
    port_busy "$p" && die "127.0.0.1:$p is already in use (another Kafka? set AUTHWATCH_KAFKA_PORT or --dir)"
  done
  write_props "$i"
  format_node "$i"
  rm -f "$nd/kafka.pid"   # a stale one (after kill -9 by hand) would pass for the new process below
  # Remember where this run's log starts so readiness is judged on new lines only.
  stat -c %s "$nd/logs/server.log" 2>/dev/null >"$nd/log.offset" || echo 0 >"$nd/log.offset"
  # This broker shares a small machine with the engine: by default the JVM sizes its GC and JIT
  # thread pools to every core, and a young collection then takes both cores of a 2-core box,
  # stalling the engine too. One GC and two JIT threads (the minimum with tiered compilation)
  # leave it a core: decision latency p99.9 at 20,000 events/s went from 140-213 ms to 56-68 ms
  # (bench/e2e/run.sh, interleaved runs).
  local jvm_threads="-XX:ParallelGCThreads=1 -XX:ConcGCThreads=1 -XX:CICompilerCount=2"
  # shellcheck disable=SC2086  # heap opts are a word list
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$nd/kafka.pid" \
    java ${AUTHWATCH_KAFKA_HEAP_OPTS:--Xms512m -Xmx512m} \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Xlog:gc*:file=$nd/logs/gc.log:time,uptime:filecount=2,filesize=20M" ${AUTHWATCH_KAFKA_JVM_OPTS:-$jvm_threads} \
    -Dlog4j2.configurationFile="$here/log4j2.yaml" -Dkafka.logs.dir="$nd/logs" \
    -Dlog4j2.shutdownHookEnabled=false \
    -cp "$libs/*" kafka.Kafka "$nd/server.properties" </dev/null >"$nd/kafka.out" 2>&1 9>&- &
  # The pid file is written before the exec, so wait until that pid really is the java process;
  # otherwise wait_started could mistake the not-yet-exec'd wrapper for a node that died.
  local w
  for ((w = 0; w < 250; w++)); do
    node_pid "$i" >/dev/null && break
    [[ -s $nd/kafka.pid ]] && pid_gone "$(<"$nd/kafka.pid")" && break
    sleep 0.02
  done
}

# Waits until every given node logged "Kafka Server started" (KRaft logs it only after the broker caught
# up with the metadata log and was unfenced), failing fast if one dies.
wait_started() {
  local deadline=$((SECONDS + start_timeout)) pending=("$@") left i nd
  while ((${#pending[@]})); do
    left=()
    for i in "${pending[@]}"; do
      nd=$(node_dir "$i")
      if ! node_pid "$i" >/dev/null; then
        log "node $i exited during startup; last lines of $nd/kafka.out and server.log:"
        tail -n 20 "$nd/kafka.out" >&2 || true
        tail -c +$(($(<"$nd/log.offset") + 1)) "$nd/logs/server.log" 2>/dev/null | grep -E ' (ERROR|WARN) ' | tail -n 20 >&2 || true
        return 1
      fi
      tail -c +$(($(<"$nd/log.offset") + 1)) "$nd/logs/server.log" 2>/dev/null | grep -q 'Kafka Server started' ||
        left+=("$i")
    done
    pending=("${left[@]+"${left[@]}"}")
    ((${#pending[@]})) || break
    ((SECONDS < deadline)) || { log "timed out after ${start_timeout}s waiting for node(s) ${pending[*]}; see $dir/node*/logs/server.log"; return 1; }
    sleep 0.2
  done
}

# One real client round trip (Admin metadata + ListTopics) through the advertised listeners.
wait_answers() {
  printf 'request.timeout.ms=5000\ndefault.api.timeout.ms=20000\n' >"$dir/client.properties"
  timeout "$start_timeout" "${tool_java[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" \
    --command-config "$dir/client.properties" --list >/dev/null ||
    { log "cluster did not answer TopicCommand --list"; return 1; }
}

stop_nodes() {
  local t0 pids=() ids=() i pid deadline
  t0=$(now)
  for i in "$@"; do
    if pid=$(node_pid "$i"); then pids+=("$pid"); ids+=("$i"); fi
  done
  if ((${#pids[@]} == 0)); then
    log "node(s) $* not running"
    for i in "$@"; do rm -f "$(node_dir "$i")/kafka.pid"; done
    return 0
  fi
  # Signal all at once: brokers do a controlled shutdown against the controllers, so stopping a 3-node
  # cluster one node at a time would leave the last one waiting for a quorum that is already gone.
  kill -TERM "${pids[@]}" 2>/dev/null || true
  deadline=$((SECONDS + stop_timeout))
  while :; do
    local alive=()
    for i in "${ids[@]}"; do node_pid "$i" >/dev/null && alive+=("$i"); done
    ((${#alive[@]})) || break
    if ((SECONDS >= deadline)); then
      log "node(s) ${alive[*]} still up after ${stop_timeout}s: SIGKILL"
      for i in "${alive[@]}"; do pid=$(node_pid "$i") && kill -KILL "$pid" 2>/dev/null || true; done
      break
    fi
    sleep 0.1
  done
  wait_gone "${pids[@]}"
  for i in "$@"; do rm -f "$(node_dir "$i")/kafka.pid"; done
  log "stopped node(s) ${ids[*]} in $(since "$t0")"
}

cmd_start() {
  local want=
  while (($#)); do
    case $1 in
      --brokers) [[ $# -ge 2 ]] || die "--brokers needs 1 or 3"; want=$2; shift 2 ;;
      --brokers=*) want=${1#--brokers=}; shift ;;
      *) die "start: unknown argument '$1'" ;;
    esac
  done
  [[ -z $want || $want == 1 || $want == 3 ]] || die "--brokers must be 1 or 3"
  if ((formatted)); then
    [[ -z $want || $want == "$nodes" ]] ||
      die "$dir holds a $nodes-node cluster; run 'kafka.sh wipe' or use another --dir for $want"
  else
    nodes=${want:-1}
  fi
  "$here/fetch.sh"
  mkdir -p "$dir"
  local t0 i todo=()
  t0=$(now)
  for ((i = 1; i <= nodes; i++)); do node_pid "$i" >/dev/null || todo+=("$i"); done
  if ((${#todo[@]} == 0)); then
    log "already running"
    bootstrap   # stdout, so callers can do B=$(kafka.sh start)
    return 0
  fi
  if ((!formatted)); then
    # Kafka cluster ids are 16 random bytes in URL-safe base64; one starting with '-' would parse as an option.
    cluster_id=-
    while [[ $cluster_id == -* ]]; do
      cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    done
    printf 'nodes=%q\nport=%q\ncport=%q\ncluster_id=%q\n' "$nodes" "$port" "$cport" "$cluster_id" >"$dir/cluster.env"
    formatted=1
  fi
  for i in "${todo[@]}"; do launch "$i"; done
  wait_started "${todo[@]}" || { stop_nodes "${todo[@]}"; return 1; }
  log "node(s) ${todo[*]} started in $(since "$t0")"
  wait_answers
  log "cluster answers after $(since "$t0")"
  bootstrap   # stdout, so callers can do B=$(kafka.sh start)
}

cmd_restart() {
  local t0 todo=() i
  ((formatted)) || die "no cluster in $dir (use start)"
  if (($#)); then
    check_node_arg "$1"
    todo=("$1")
  else
    for ((i = 1; i <= nodes; i++)); do todo+=("$i"); done
  fi
  stop_nodes "${todo[@]}"
  t0=$(now)
  for i in "${todo[@]}"; do launch "$i"; done
  wait_started "${todo[@]}" || { stop_nodes "${todo[@]}"; return 1; }
  log "node(s) ${todo[*]} restarted in $(since "$t0")"
}

cmd_kill9() {
  local i=${1:-1} pid
  check_node_arg "$i"
  pid=$(node_pid "$i") || { log "node $i not running"; return 0; }
  kill -KILL "$pid"
  wait_gone "$pid"
  rm -f "$(node_dir "$i")/kafka.pid"
  log "killed node $i (pid $pid) with SIGKILL"
}

cmd_status() {
  local i pid rc=0
  ((formatted)) || { log "no cluster in $dir"; return 1; }
  for ((i = 1; i <= nodes; i++)); do
    if pid=$(node_pid "$i"); then
      printf 'node%s running pid %s  client 127.0.0.1:%s  controller 127.0.0.1:%s  log %s\n' \
        "$i" "$pid" "$(client_port "$i")" "$(ctrl_port "$i")" "$(node_dir "$i")/logs/server.log"
    else
      printf 'node%s stopped\n' "$i"
      rc=1
    fi
  done
  return $rc
}

cmd_create_topics() {
  local r spec name parts extra t0
  r=$(rf)
  [[ ${1-} == --replication-factor ]] && { r=${2:?--replication-factor needs a value}; shift 2; }
  (($#)) || die "usage: create-topics [--replication-factor R] NAME:PARTITIONS[:compact] ..."
  t0=$(now)
  for spec in "$@"; do
    IFS=: read -r name parts extra <<<"$spec"
    [[ -n $name && $parts =~ ^[1-9][0-9]*$ && ( -z $extra || $extra == compact ) ]] ||
      die "bad topic spec '$spec' (want NAME:PARTITIONS[:compact])"
    # --if-not-exists: an existing topic is left as it is, even if its partition count differs.
    tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" --create --if-not-exists \
      --topic "$name" --partitions "$parts" --replication-factor "$r" \
      ${extra:+--config cleanup.policy=compact} >&2   # keep stdout clean for callers
  done
  log "topics ready in $(since "$t0"): $*"
}

cmd_produce() {
  local topic=${1:?usage: produce TOPIC [args] < FILE}
  shift
  tool org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$(bootstrap)" --topic "$topic" "$@"
}

cmd_consume() {
  local topic=${1:?usage: consume TOPIC [--max N] [--timeout-ms T] [args]} max=() tmo=10000 rest=()
  shift
  while (($#)); do
    case $1 in
      --max) max=(--max-messages "$2"); shift 2 ;;
      --timeout-ms) tmo=$2; shift 2 ;;
      *) rest+=("$1"); shift ;;
    esac
  done
  tool org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$(bootstrap)" --topic "$topic" \
    --from-beginning --timeout-ms "$tmo" "${max[@]+"${max[@]}"}" "${rest[@]+"${rest[@]}"}"
}

all_nodes() { local i; for ((i = 1; i <= nodes; i++)); do echo "$i"; done; }

cmd=${1:-}
shift || true
case $cmd in
  start | stop | restart | kill9 | wipe) lock ;;
esac
case $cmd in
  start) cmd_start "$@" ;;
  stop) ((formatted)) || { log "no cluster in $dir"; exit 0; }; mapfile -t ns < <(all_nodes); stop_nodes "${ns[@]}" ;;
  restart) cmd_restart "$@" ;;
  kill9) cmd_kill9 "$@" ;;
  status) cmd_status ;;
  bootstrap) bootstrap ;;
  create-topics) cmd_create_topics "$@" ;;
  produce) cmd_produce "$@" ;;
  consume) cmd_consume "$@" ;;
  wipe)
    if ((formatted)); then mapfile -t ns < <(all_nodes); stop_nodes "${ns[@]}"; fi
    rm -rf "$dir"
    log "removed $dir"
    ;;
  *) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2 ;;
esac
