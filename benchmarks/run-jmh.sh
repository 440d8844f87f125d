#!/usr/bin/env bash
# Runs the in-process JMH benchmarks (the world-size-1 cost of the collectives) and appends JMH's summary table,
# with the command and the machine, to RESULTS.md. Builds nothing: run `mvn -B -DskipTests package` in the
# repository root first.
#
# Arguments are passed to JMH, e.g. a benchmark regex or `-wi 5 -i 10`; without any, every benchmark runs with
# the iterations and fork its annotations declare (about 1 minute in all).
#   RESULTS=benchmarks/RESULTS.md   where the summary goes
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RESULTS="${RESULTS:-$bench_dir/RESULTS.md}"
classpath="$(benchmarks_classpath)"

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
run_dir="$bench_dir/target/jmh/$stamp"
mkdir -p "$run_dir"
classpath="$(snapshot_classpath "$classpath" "$run_dir/lib")"
log="$run_dir/jmh.log"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

"$java_bin" -cp "$classpath" org.openjdk.jmh.Main -rf json -rff "$run_dir/jmh.json" "$@" 2>&1 | tee "$log"

# JMH ends with its table: from the "Benchmark  Mode ..." header to the next blank line.
summary="$(sed -n '/^Benchmark  *Mode /,/^$/p' "$log" | sed '/^$/d')"
if [ -z "$summary" ]; then
  echo "$(basename "$0"): JMH printed no summary table; see $log" >&2
  exit 1
fi

section="$run_dir/section.md"
{
  echo
  echo "## JMH, world size 1, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command (from the repository root, after \`mvn -B -DskipTests package\`):"
  echo
  echo '```'
  echo "benchmarks/run-jmh.sh${*:+ $*}"
  echo "# which runs: java -cp benchmarks/target/classes:\$(cat benchmarks/target/classpath.txt) org.openjdk.jmh.Main${*:+ $*}"
  echo '```'
  echo
  echo "Machine:"
  echo
  machine_info
  echo "- Load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "What a process that runs alone pays per call (\`Accelerator.create(ProcessTopology.single(), ...)\`);"
  echo "\`baseline\` is the harness's own cost (one Blackhole sink). Lower is better."
  echo
  echo '```'
  echo "$summary"
  echo '```'
} >"$section"

ensure_results_file "$RESULTS"
cat "$section" >>"$RESULTS"
echo "== appended to $RESULTS" >&2
