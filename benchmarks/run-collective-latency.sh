#!/usr/bin/env bash
# Latency of waitForEveryone() and checkTrigger() between real JVMs started by `bin/accelerate launch`, against
# Open MPI's MPI_Barrier (and MPI_Allreduce(LOR)) measured the same way, on this host. For each repeat and each
# rank count it runs the MPI reference, then CollectiveLatency once per wait strategy, so that every Java run has
# an MPI run next to it to be compared with; then it appends a section with medians over the repeats, ratios
# against MPI and the verdict on the project's targets to RESULTS.md.
#
# Builds no Java: run `mvn -B -DskipTests package` in the repository root first. It compiles the small C
# reference with mpicc, and installs Open MPI with apt-get when missing and run as root.
#
# Settings (environment):
#   REPEATS=3              runs of each configuration; the machines are noisy, medians are reported
#   ITERATIONS=100000      timed calls per operation and run
#   WARMUP=20000           untimed calls before them (Java: at least WARMUP_SECONDS long too)
#   WARMUP_SECONDS=2       a count alone is over in milliseconds, while the JIT still compiles in the
#                          background and takes the core a rank needs; that would show in the tail
#   MAX_SECONDS=20         most time the timed calls of one operation may take in a Java run; spinning ranks on
#                          too few cores take milliseconds per call, so those runs time fewer calls (reported)
#   RANKS="2 4"            processes per run
#   WAITS="yield spin"     ACCELERATE_WAIT values to measure
#   WORKER_JAVA_OPTS="-Xms256m -Xmx256m -XX:+UseSerialGC"
#   MPIRUN_ARGS="--mca pml ob1 --mca btl self,vader"   shared-memory transport; bindings are Open MPI's defaults
#   RUN_TIMEOUT_S=600      a run still going after this is killed and reported as failed
#   RESULTS=benchmarks/RESULTS.md
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REPEATS="${REPEATS:-3}"
ITERATIONS="${ITERATIONS:-100000}"
WARMUP="${WARMUP:-20000}"
WARMUP_SECONDS="${WARMUP_SECONDS:-2}"
MAX_SECONDS="${MAX_SECONDS:-20}"
RANKS="${RANKS:-2 4}"
WAITS="${WAITS:-yield spin}"
WORKER_JAVA_OPTS="${WORKER_JAVA_OPTS:--Xms256m -Xmx256m -XX:+UseSerialGC}"
MPIRUN_ARGS="${MPIRUN_ARGS:---mca pml ob1 --mca btl self,vader}"
RUN_TIMEOUT_S="${RUN_TIMEOUT_S:-600}"
RESULTS="${RESULTS:-$bench_dir/RESULTS.md}"

require_positive_integers REPEATS ITERATIONS WARMUP RUN_TIMEOUT_S
require_seconds WARMUP_SECONDS MAX_SECONDS
require_rank_counts

classpath="$(benchmarks_classpath)"
require_open_mpi

clear_job_environment
start_run collective-latency
mpi_bin="$(build_mpi_reference barrier_latency)"

# shellcheck disable=SC2206 # the options are a list of words on purpose
mpirun_cmd=(mpirun --allow-run-as-root --oversubscribe $MPIRUN_ARGS)
# shellcheck disable=SC2206 # the options are a list of words on purpose
worker_cmd=("$java_bin" $WORKER_JAVA_OPTS -cp "$classpath" dev.dl4j.accelerate.benchmarks.CollectiveLatency
  --iterations "$ITERATIONS" --warmup "$WARMUP" --warmup-seconds "$WARMUP_SECONDS" --max-seconds "$MAX_SECONDS")

for repeat in $(seq 1 "$REPEATS"); do
  for ranks in $RANKS; do
    run_job "mpi-ranks$ranks-repeat$repeat" "$repeat" 2 \
      "${mpirun_cmd[@]}" -np "$ranks" "$mpi_bin" "$ITERATIONS" "$WARMUP"
    for wait in $WAITS; do
      run_job "accelerate-$wait-ranks$ranks-repeat$repeat" "$repeat" 2 \
        env ACCELERATE_WAIT="$wait" "$root_dir/bin/accelerate" launch --nproc-per-node "$ranks" --master-port 0 -- \
        "${worker_cmd[@]}"
    done
  done
done

end_run

section="$run_dir/section.md"
{
  echo
  echo "## Collective latency, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command (from the repository root, after \`mvn -B -DskipTests package\`):"
  echo
  echo '```'
  echo "REPEATS=$REPEATS ITERATIONS=$ITERATIONS WARMUP=$WARMUP WARMUP_SECONDS=$WARMUP_SECONDS MAX_SECONDS=$MAX_SECONDS \\"
  echo "  RANKS=\"$RANKS\" WAITS=\"$WAITS\" benchmarks/run-collective-latency.sh"
  echo '```'
  echo
  echo "Each repeat runs, per rank count R, first the MPI reference and then one Java job per wait strategy:"
  echo
  echo '```'
  echo "${mpirun_cmd[*]} -np R benchmarks/target/mpi/barrier_latency $ITERATIONS $WARMUP"
  echo "ACCELERATE_WAIT=W bin/accelerate launch --nproc-per-node R --master-port 0 -- \\"
  echo "  java $WORKER_JAVA_OPTS -cp <benchmarks classpath> dev.dl4j.accelerate.benchmarks.CollectiveLatency \\"
  echo "  --iterations $ITERATIONS --warmup $WARMUP --warmup-seconds $WARMUP_SECONDS --max-seconds $MAX_SECONDS"
  echo '```'
  echo
  echo "Machine:"
  echo
  machine_info
  run_facts
  echo
  # A failed report (e.g. every run failed) still leaves the section, with the list of failed runs.
  report_status=0
  "$java_bin" -cp "$classpath" dev.dl4j.accelerate.benchmarks.LatencyReport "$raw" ||
    { report_status=$?; echo "No table: LatencyReport failed (exit $report_status)."; }
  echo
  failures_md
} >"$section"

append_section "$section"
# The section is written either way; the exit status still tells a caller (or CI) that something failed.
[ "${#failures[@]}" -eq 0 ] && [ "$report_status" -eq 0 ]
