#!/usr/bin/env bash
# Time and bus bandwidth of Accelerator.allReduce(SUM) on float arrays from 4 B to 100 MiB between real JVMs
# started by `bin/accelerate launch`, against Open MPI's MPI_Allreduce(MPI_FLOAT, MPI_SUM) measured the same way,
# on this host. For each repeat and each rank count it runs the MPI reference, then AllReduceBandwidth, so that
# every Java run has an MPI run next to it to be compared with; then it appends a section with medians over the
# repeats, bus bandwidth, ratios against MPI, the verdict on the project's targets and a plot to RESULTS.md.
#
# Builds no Java: run `mvn -B -DskipTests package` in the repository root first. It compiles the C reference
# with mpicc, and installs Open MPI (and gnuplot, for the plot) with apt-get when missing and run as root.
#
# Settings (environment):
#   REPEATS=3              runs of each configuration; the machines are noisy, medians are reported
#   RANKS="2 4"            processes per run
#   SIZES=4,4096,1048576,16777216,104857600   array sizes in bytes (multiples of 4)
#   WARMUP=5               untimed calls per size before timing, lasting at least WARMUP_SECONDS too (the JIT
#   WARMUP_SECONDS=1       compiler must have compiled the reduce loops)
#   ITERATIONS=100000      most timed calls per size and run
#   MIN_ITERATIONS=5       fewest timed calls per size and run, even past MAX_SECONDS
#   MAX_SECONDS=3          time budget of the timed calls of one size
#   WORKER_JAVA_OPTS="-Xms512m -Xmx1g -XX:+UseSerialGC"   (the 100 MiB array lives off the heap, within -Xmx)
#   MPIRUN_ARGS="--mca pml ob1 --mca btl self,vader"      shared-memory transport; bindings are Open MPI's defaults
#   RUN_TIMEOUT_S=600      a run still going after this is killed and reported as failed
#   RESULTS=benchmarks/RESULTS.md   where the section goes (point it elsewhere for trial runs)
#   PLOT_DIR=benchmarks/plots       where the PNG goes (named after the run's time), linked from the section
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REPEATS="${REPEATS:-3}"
RANKS="${RANKS:-2 4}"
SIZES="${SIZES:-4,4096,1048576,16777216,104857600}"
WARMUP="${WARMUP:-5}"
WARMUP_SECONDS="${WARMUP_SECONDS:-1}"
ITERATIONS="${ITERATIONS:-100000}"
MIN_ITERATIONS="${MIN_ITERATIONS:-5}"
MAX_SECONDS="${MAX_SECONDS:-3}"
WORKER_JAVA_OPTS="${WORKER_JAVA_OPTS:--Xms512m -Xmx1g -XX:+UseSerialGC}"
MPIRUN_ARGS="${MPIRUN_ARGS:---mca pml ob1 --mca btl self,vader}"
RUN_TIMEOUT_S="${RUN_TIMEOUT_S:-600}"
RESULTS="${RESULTS:-$bench_dir/RESULTS.md}"
PLOT_DIR="${PLOT_DIR:-$bench_dir/plots}"

require_positive_integers REPEATS ITERATIONS MIN_ITERATIONS RUN_TIMEOUT_S
require_non_negative_integers WARMUP
require_seconds WARMUP_SECONDS MAX_SECONDS
if [ "$MIN_ITERATIONS" -gt "$ITERATIONS" ]; then
  echo "$(basename "$0"): MIN_ITERATIONS=$MIN_ITERATIONS exceeds ITERATIONS=$ITERATIONS" >&2
  exit 2
fi
require_rank_counts
if ! [[ "$SIZES" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
  echo "$(basename "$0"): SIZES='$SIZES' must be a comma-separated list of byte counts" >&2
  exit 2
fi
size_count="$(tr ',' '\n' <<<"$SIZES" | wc -l)"

classpath="$(benchmarks_classpath)"
require_open_mpi
install_if_missing gnuplot gnuplot-nox || echo "$(basename "$0"): gnuplot is missing; no plot this time" >&2

clear_job_environment
start_run allreduce
mpi_bin="$(build_mpi_reference allreduce_bandwidth)"

# shellcheck disable=SC2206 # the options are a list of words on purpose
mpirun_cmd=(mpirun --allow-run-as-root --oversubscribe $MPIRUN_ARGS)
mpi_args=("$SIZES" "$WARMUP" "$WARMUP_SECONDS" "$ITERATIONS" "$MIN_ITERATIONS" "$MAX_SECONDS")
# shellcheck disable=SC2206 # the options are a list of words on purpose
worker_cmd=("$java_bin" $WORKER_JAVA_OPTS -cp "$classpath" dev.dl4j.accelerate.benchmarks.AllReduceBandwidth
  --sizes "$SIZES" --warmup "$WARMUP" --warmup-seconds "$WARMUP_SECONDS" --iterations "$ITERATIONS"
  --min-iterations "$MIN_ITERATIONS" --max-seconds "$MAX_SECONDS")

for repeat in $(seq 1 "$REPEATS"); do
  for ranks in $RANKS; do
    run_job "mpi-ranks$ranks-repeat$repeat" "$repeat" "$size_count" \
      "${mpirun_cmd[@]}" -np "$ranks" "$mpi_bin" "${mpi_args[@]}"
    run_job "accelerate-ranks$ranks-repeat$repeat" "$repeat" "$size_count" \
      "$root_dir/bin/accelerate" launch --nproc-per-node "$ranks" --master-port 0 -- "${worker_cmd[@]}"
  done
done

end_run

run_report AllReduceReport allreduce "allReduce(SUM, float) vs MPI_Allreduce" \
  "allReduce against MPI_Allreduce: median time and bus bandwidth per size"

section="$run_dir/section.md"
{
  echo
  echo "## All-reduce time and bandwidth, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command (from the repository root, after \`mvn -B -DskipTests package\`):"
  echo
  echo '```'
  echo "REPEATS=$REPEATS RANKS=\"$RANKS\" SIZES=$SIZES WARMUP=$WARMUP WARMUP_SECONDS=$WARMUP_SECONDS \\"
  echo "  ITERATIONS=$ITERATIONS MIN_ITERATIONS=$MIN_ITERATIONS MAX_SECONDS=$MAX_SECONDS benchmarks/run-allreduce.sh"
  echo '```'
  echo
  echo "Each repeat runs, per rank count R, first the MPI reference and then the Java job:"
  echo
  echo '```'
  echo "${mpirun_cmd[*]} -np R benchmarks/target/mpi/allreduce_bandwidth ${mpi_args[*]}"
  echo "bin/accelerate launch --nproc-per-node R --master-port 0 -- \\"
  echo "  java $WORKER_JAVA_OPTS -cp <benchmarks classpath> dev.dl4j.accelerate.benchmarks.AllReduceBandwidth \\"
  echo "  --sizes $SIZES --warmup $WARMUP --warmup-seconds $WARMUP_SECONDS --iterations $ITERATIONS \\"
  echo "  --min-iterations $MIN_ITERATIONS --max-seconds $MAX_SECONDS"
  echo '```'
  echo
  echo "Machine:"
  echo
  machine_info
  echo "- Open MPI single-copy mechanism for shared memory: $(ompi_info --param btl vader --level 9 2>/dev/null \
    | sed -n 's/.*btl_vader_single_copy_mechanism.*value: "\([^"]*\)".*/\1/p' | head -1 || true)"
  run_facts
  echo
  cat "$run_dir/table.md"
  echo
  echo "$plot_note"
  echo
  failures_md
} >"$section"

append_section "$section"
# The section is written either way; the exit status still tells a caller (or CI) that some runs failed.
[ "${#failures[@]}" -eq 0 ] && [ "$report_status" -eq 0 ]
