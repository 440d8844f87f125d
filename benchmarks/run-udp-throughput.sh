#!/usr/bin/env bash
# Aeron UDP throughput between two processes, with the channels before tuning ("plain": Aeron's 1408-byte
# datagrams, default socket buffers and window) and the project's ("tuned": UdpChannels), over a veth pair
# between two network namespaces (1500-byte MTU, as between hosts) and over loopback inside one; appends the
# medians, the command and the machine to RESULTS.md. Needs root (ip netns). Builds nothing: run
# `mvn -B -DskipTests package` in the repository root first.
#   REPEATS=3                       runs of each link and profile, alternated
#   SECONDS_PER_RUN=5               measured seconds of one run (after 2 s of warm-up)
#   RESULTS=benchmarks/RESULTS.md   where the section goes
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REPEATS="${REPEATS:-3}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-5}"
RESULTS="${RESULTS:-$bench_dir/RESULTS.md}"
classpath="$(benchmarks_classpath)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
run_dir="$bench_dir/target/udp-throughput/$stamp"
mkdir -p "$run_dir"
classpath="$(snapshot_classpath "$classpath" "$run_dir/lib")"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

a="udpbench-$$-a"
b="udpbench-$$-b"
trap 'ip netns delete "$a" 2>/dev/null; ip netns delete "$b" 2>/dev/null; true' EXIT
ip netns add "$a"
ip netns add "$b"
ip link add eth0 netns "$a" type veth peer name eth0 netns "$b"
ip -n "$a" addr add 10.232.0.1/24 dev eth0
ip -n "$b" addr add 10.232.0.2/24 dev eth0
for ns in "$a" "$b"; do
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
done
# A veth end reports its carrier a moment after both ends are up; until then Aeron finds no interface to send on.
for ((wait_ms = 0; ; wait_ms += 50)); do
  ip -n "$a" link show eth0 | grep -q 'state UP' && ip -n "$b" link show eth0 | grep -q 'state UP' && break
  if [ "$wait_ms" -ge 10000 ]; then
    echo "$(basename "$0"): the veth pair between $a and $b is not up after 10 s" >&2
    exit 1
  fi
  sleep 0.05
done

java_cmd=("$java_bin" --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -Xmx256m -cp "$classpath"
  dev.dl4j.accelerate.benchmarks.UdpThroughput)

# run LINK PROFILE INDEX: prints the receiver's GB/s; fails, naming the logs, if either side failed. The sender
# waits (up to 30 s) for the receiver to answer, so the two may start in either order.
run() {
  local receiver_ns="$a" sender_ns="$b" endpoint=10.232.0.1:40123 local_address=10.232.0.2 log="$run_dir/$1-$2-$3"
  local status=0 result
  if [ "$1" = loopback ]; then
    sender_ns="$a"; endpoint=127.0.0.1:40123; local_address=127.0.0.1
  fi
  ip netns exec "$receiver_ns" "${java_cmd[@]}" receive "$endpoint" "$2" "$SECONDS_PER_RUN" >"$log.receiver" 2>&1 &
  local receiver=$!
  ip netns exec "$sender_ns" "${java_cmd[@]}" send "$endpoint" "$local_address" "$2" "$SECONDS_PER_RUN" \
    >"$log.sender" 2>&1 || status=$?
  wait "$receiver" || status=$?
  result="$(awk '/^RESULT/ { print $3 }' "$log.receiver")"
  if [ "$status" -ne 0 ] || [ -z "$result" ]; then
    echo "$(basename "$0"): $1 $2 run $3 failed (exit status $status); see $log.receiver and $log.sender" >&2
    return 1
  fi
  echo "$result"
}

declare -A runs
for ((i = 1; i <= REPEATS; i++)); do
  for link in veth loopback; do
    for profile in plain tuned; do
      result="$(run "$link" "$profile" "$i")" || exit 1
      runs[$link-$profile]+="$result "
    done
  done
done

median() {
  tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

{
  echo
  echo "## UDP throughput between hosts, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command (from the repository root, as root, after \`mvn -B -DskipTests package\`):"
  echo
  echo '```'
  echo "REPEATS=$REPEATS SECONDS_PER_RUN=$SECONDS_PER_RUN benchmarks/run-udp-throughput.sh"
  echo '```'
  echo
  echo "Machine:"
  echo
  machine_info
  echo "- Kernel socket buffer caps: net.core.rmem_max=$(cat /proc/sys/net/core/rmem_max)," \
    "net.core.wmem_max=$(cat /proc/sys/net/core/wmem_max)."
  echo "- Load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "One sender, one receiver, each a JVM with a media driver as the launcher configures it; 128 KiB messages"
  echo "offered as fast as the stream takes them, ${SECONDS_PER_RUN} s measured after 2 s of warm-up; the median of"
  echo "$REPEATS alternated runs. *plain*: the channels before tuning (Aeron's 1408-byte datagrams, the kernel's"
  echo "default socket buffers, a 128 KiB window; 4 MiB terms). *tuned*: \`UdpChannels\` (64 KiB datagrams, 4 MiB"
  echo "socket buffers, a 2 MiB window). *veth*: two network namespaces joined by a veth pair with a 1500-byte MTU, so"
  echo "tuned datagrams travel as IP fragments; *loopback*: both in one namespace."
  echo
  echo "| link | plain GB/s | tuned GB/s | tuned ÷ plain | runs (plain; tuned) |"
  echo "|---|---:|---:|---:|---|"
  for link in veth loopback; do
    plain="$(median <<<"${runs[$link-plain]}")"
    tuned="$(median <<<"${runs[$link-tuned]}")"
    echo "| $link | $plain | $tuned | $(awk -v p="$plain" -v t="$tuned" 'BEGIN { printf "%.1f×", t / p }') |" \
      "${runs[$link-plain]% }; ${runs[$link-tuned]% } |"
  done
} >>"$run_dir/section.md"

append_section "$run_dir/section.md"
echo "== logs in $run_dir" >&2
