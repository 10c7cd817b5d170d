#!/usr/bin/env bash
# Runs a real Apache Kafka broker (KRaft, combined broker+controller nodes) from the
# jars Maven fetches into infra/kafka/target/lib. No Docker needed.
#
#   kafka.sh fetch                         download the jars (once; kept out of git)
#   kafka.sh format DIR NODES PORT         write configs + format storage for NODES nodes;
#                                          node i listens on PORT+i-1 (clients) and
#                                          PORT+100+i-1 (controller quorum)
#   kafka.sh run DIR NODE                  run node NODE in the foreground (exec: pid = java;
#                                          SIGTERM when its parent process dies)
#   kafka.sh start [DIR] [NODES] [PORT]    fetch + format (if new) + run all nodes, wait
#   kafka.sh groups ARGS...                Kafka's kafka-consumer-groups tool, from the same
#                                          jars (e.g. --bootstrap-server 127.0.0.1:9092
#                                          --describe --group progress-etl)
#   kafka.sh topics ARGS...                Kafka's kafka-topics tool, likewise
#   kafka.sh configs ARGS...               Kafka's kafka-configs tool, likewise (e.g. a
#                                          topic's retention.ms)
#
# Defaults: DIR=.data/kafka NODES=1 PORT=9092. Heap per node: KAFKA_HEAP (default 512m).
# SCRAM users for a SASL listener: KAFKA_SCRAM_CREDENTIALS at format, one per line, e.g.
# 'SCRAM-SHA-256=[name=etl,password=...]' (KRaft keeps them in the cluster metadata, which
# format writes; lib/runtime/local-kafka.ts adds the listeners).
# How long a node that stopped heartbeating stays registered: KAFKA_BROKER_SESSION_TIMEOUT_MS
# (default 4000; Kafka's own is 9000).
# Extra JVM flags: KAFKA_JVM_OPTS (default none), e.g. GC logging or GC threads for a
# broker that shares its cores.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/target/lib"

fetch() {
  if [ ! -f "$LIB/.complete" ]; then
    echo "kafka.sh: fetching Kafka jars from Maven Central into $LIB" >&2
    (cd "$HERE" && mvn -q -B dependency:copy-dependencies >&2)
    touch "$LIB/.complete"
  fi
}

format() {
  local dir="$1" nodes="$2" port="$3"
  mkdir -p "$dir"
  local voters="" i
  for ((i = 1; i <= nodes; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:$((port + 100 + i - 1))"
  done
  local rf=$((nodes < 3 ? nodes : 3))
  local isr=$((nodes >= 3 ? 2 : 1))
  local cluster_id="-"
  # base64url of 16 random bytes; NOTE: one starting with '-' would be parsed as an option.
  while [[ "$cluster_id" == -* ]]; do
    cluster_id="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
  done
  local scram=() line
  while IFS= read -r line; do
    [ -n "$line" ] && scram+=(--add-scram "$line")
  done <<<"${KAFKA_SCRAM_CREDENTIALS:-}"
  for ((i = 1; i <= nodes; i++)); do
    cat >"$dir/server-$i.properties" <<PROPS
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$((port + i - 1)),CONTROLLER://127.0.0.1:$((port + 100 + i - 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$((port + i - 1))
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data-$i
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
transaction.state.log.num.partitions=4
default.replication.factor=$rf
min.insync.replicas=$isr
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# A process killed mid-transaction: abort its transaction within a second of its timeout.
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
num.network.threads=2
num.io.threads=4
PROPS
    # shellcheck disable=SC2086 # KAFKA_JVM_OPTS is a list of flags, split on purpose
    java ${KAFKA_JVM_OPTS:-} -cp "$LIB/*" -Dkafka.log.file="$dir/format-$i.log" \
      -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server-$i.properties" "${scram[@]}" >"$dir/format-$i.out" 2>&1 ||
      { cat "$dir/format-$i.out" >&2; return 1; }
  done
  echo "$nodes" >"$dir/nodes"
}

run() {
  local dir="$1" node="$2"
  # A node killed without a clean shutdown stays registered until its broker session times
  # out, and on restart its partitions wait for that (Kafka's default is 9 s); an override,
  # not a property, so a directory formatted earlier gets it too.
  # The broker stops (SIGTERM: a controlled shutdown) when the process that started it dies,
  # however it dies (SIGKILL, the OOM killer): `npm start` leaves no broker behind.
  local guard=()
  command -v setpriv >/dev/null && guard=(setpriv --pdeathsig TERM)
  # shellcheck disable=SC2086 # KAFKA_JVM_OPTS is a list of flags, split on purpose
  exec "${guard[@]}" java -Xms"${KAFKA_HEAP:-512m}" -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC ${KAFKA_JVM_OPTS:-} \
    -Djava.awt.headless=true -Dkafka.log.file="$dir/broker-$node.log" \
    -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
    -cp "$LIB/*" kafka.Kafka "$dir/server-$node.properties" \
    --override broker.session.timeout.ms="${KAFKA_BROKER_SESSION_TIMEOUT_MS:-4000}" \
    --override broker.heartbeat.interval.ms=1000
}

start() {
  local dir="${1:-.data/kafka}" nodes="${2:-1}" port="${3:-9092}"
  dir="$(mkdir -p "$dir" && cd "$dir" && pwd)"
  fetch
  [ -f "$dir/nodes" ] || format "$dir" "$nodes" "$port"
  local pids=() i
  for ((i = 1; i <= $(cat "$dir/nodes"); i++)); do
    run "$dir" "$i" &
    pids+=("$!")
  done
  trap 'kill "${pids[@]}" 2>/dev/null; wait' INT TERM
  echo "kafka.sh: $(cat "$dir/nodes") node(s) starting, clients on 127.0.0.1:$port; logs in $dir" >&2
  wait
}

cmd="${1:-start}"
shift || true
case "$cmd" in
  fetch) fetch ;;
  format) format "$@" ;;
  run) run "$@" ;;
  start) start "$@" ;;
  groups) fetch && exec java -cp "$LIB/*" org.apache.kafka.tools.consumer.group.ConsumerGroupCommand "$@" ;;
  topics) fetch && exec java -cp "$LIB/*" org.apache.kafka.tools.TopicCommand "$@" ;;
  configs) fetch && exec java -cp "$LIB/*" kafka.admin.ConfigCommand "$@" ;;
  *) echo "usage: kafka.sh fetch|format|run|start|groups|topics|configs" >&2; exit 2 ;;
esac
