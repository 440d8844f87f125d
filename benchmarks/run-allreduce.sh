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
#   RESULTS=benchmarks/RESULTS.md
#   PLOT_DIR=benchmarks/plots   where the PNG goes (named after the run's time), linked from the section
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

for setting in REPEATS WARMUP ITERATIONS MIN_ITERATIONS RUN_TIMEOUT_S; do
  if ! [[ "${!setting}" =~ ^[0-9]+$ ]] || { [ "${!setting}" -lt 1 ] && [ "$setting" != WARMUP ]; }; then
    echo "$(basename "$0"): $setting='${!setting}' must be a positive integer" >&2
    exit 2
  fi
done
for setting in WARMUP_SECONDS MAX_SECONDS; do
  if ! [[ "${!setting}" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
    echo "$(basename "$0"): $setting='${!setting}' must be a non-negative number of seconds" >&2
    exit 2
  fi
done
if [ "$MIN_ITERATIONS" -gt "$ITERATIONS" ]; then
  echo "$(basename "$0"): MIN_ITERATIONS=$MIN_ITERATIONS exceeds ITERATIONS=$ITERATIONS" >&2
  exit 2
fi
for r in $RANKS; do
  if ! [[ "$r" =~ ^[0-9]+$ ]] || [ "$r" -lt 2 ]; then
    echo "$(basename "$0"): RANKS='$RANKS' must list integers of at least 2" >&2
    exit 2
  fi
done
if ! [[ "$SIZES" =~ ^[0-9]+(,[0-9]+)*$ ]]; then
  echo "$(basename "$0"): SIZES='$SIZES' must be a comma-separated list of byte counts" >&2
  exit 2
fi
size_count="$(tr ',' '\n' <<<"$SIZES" | wc -l)"

classpath="$(benchmarks_classpath)"

install_if_missing() {
  local command="$1"
  shift
  if ! command -v "$command" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "== installing $*" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
    else
      return 1
    fi
  fi
}
if ! install_if_missing mpicc openmpi-bin libopenmpi-dev || ! command -v mpirun >/dev/null 2>&1; then
  echo "$(basename "$0"): Open MPI is missing; install openmpi-bin and libopenmpi-dev (or your system's" \
    "equivalent) so that mpicc and mpirun are on PATH" >&2
  exit 2
fi
# The plot is a convenience: without gnuplot the section says so, and the numbers are all there anyway.
install_if_missing gnuplot gnuplot-nox || echo "$(basename "$0"): gnuplot is missing; no plot this time" >&2

# A rank inherited from whoever runs this would make every worker think it is that rank.
unset RANK WORLD_SIZE LOCAL_RANK LOCAL_WORLD_SIZE NODE_RANK MASTER_ADDR MASTER_PORT \
  ACCELERATE_AERON_DIR ACCELERATE_JOB_TOKEN ACCELERATE_WAIT

stamp="$(date -u +%Y%m%dT%H%M%SZ)"
run_dir="$bench_dir/target/allreduce/$stamp"
mkdir -p "$run_dir"
classpath="$(snapshot_classpath "$classpath" "$run_dir/lib")"
# The launcher runs from the same snapshot as the workers (it holds the core and all it needs).
export ACCELERATE_CLASSPATH="$classpath"
mpi_bin="$bench_dir/target/mpi/allreduce_bandwidth"
mkdir -p "$(dirname "$mpi_bin")"
mpicc -O2 -Wall -o "$mpi_bin" "$bench_dir/mpi/allreduce_bandwidth.c"

raw="$run_dir/results.txt"
: >"$raw"
failures=()
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
started_s="$(date +%s)"

# run LABEL REPEAT EXPECTED_RESULTS COMMAND...: runs one job with a deadline, keeps its log, and files its RESULT
# lines under the repeat; a job that fails or prints too few lines is listed in the results, not hidden.
run() {
  local label="$1" repeat="$2" expected="$3"
  shift 3
  local log="$run_dir/$label.log" status=0
  echo "== $label" >&2
  timeout --kill-after=15 "$RUN_TIMEOUT_S" "$@" >"$log" 2>&1 || status=$?
  local found count=0 why=""
  found="$(sed -n "s/^.*RESULT impl=/RESULT repeat=$repeat impl=/p" "$log")"
  if [ -n "$found" ]; then
    echo "$found" >>"$raw"
    echo "$found" | sed 's/^/   /' >&2
    count="$(wc -l <<<"$found")"
  fi
  if [ "$status" -ne 0 ] || [ "$count" -ne "$expected" ]; then
    [ "$status" -eq 124 ] && why=" (killed after ${RUN_TIMEOUT_S} s)"
    failures+=("$label: exit $status$why, $count of $expected RESULT lines, log \`${log#"$root_dir"/}\`: \
$(sed '/^NOTE: Picked up/d; /WARNING: Using incubator modules/d' "$log" | tail -3 | tr '\n' ' ' | cut -c1-300)")
    echo "   FAILED (exit $status); see $log" >&2
  fi
}

# shellcheck disable=SC2206 # the options are a list of words on purpose
mpirun_cmd=(mpirun --allow-run-as-root --oversubscribe $MPIRUN_ARGS)
mpi_args=("$SIZES" "$WARMUP" "$WARMUP_SECONDS" "$ITERATIONS" "$MIN_ITERATIONS" "$MAX_SECONDS")
# shellcheck disable=SC2206 # the options are a list of words on purpose
worker_cmd=("$java_bin" $WORKER_JAVA_OPTS -cp "$classpath" dev.dl4j.accelerate.benchmarks.AllReduceBandwidth
  --sizes "$SIZES" --warmup "$WARMUP" --warmup-seconds "$WARMUP_SECONDS" --iterations "$ITERATIONS"
  --min-iterations "$MIN_ITERATIONS" --max-seconds "$MAX_SECONDS")

for repeat in $(seq 1 "$REPEATS"); do
  for ranks in $RANKS; do
    run "mpi-ranks$ranks-repeat$repeat" "$repeat" "$size_count" \
      "${mpirun_cmd[@]}" -np "$ranks" "$mpi_bin" "${mpi_args[@]}"
    run "accelerate-ranks$ranks-repeat$repeat" "$repeat" "$size_count" \
      "$root_dir/bin/accelerate" launch --nproc-per-node "$ranks" --master-port 0 -- "${worker_cmd[@]}"
  done
done

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
elapsed_s=$(( $(date +%s) - started_s ))

table="$run_dir/table.md"
plot_data="$run_dir/allreduce.dat"
report_status=0
"$java_bin" -cp "$classpath" dev.dl4j.accelerate.benchmarks.AllReduceReport "$raw" "$plot_data" >"$table" \
  2>"$run_dir/report.err" || report_status=$?

plot_note=""
if [ "$report_status" -ne 0 ]; then
  plot_note="No table or plot: AllReduceReport failed ($(tr '\n' ' ' <"$run_dir/report.err" | cut -c1-300))."
elif command -v gnuplot >/dev/null 2>&1; then
  mkdir -p "$PLOT_DIR"
  plot="$PLOT_DIR/allreduce-$stamp.png"
  if gnuplot -e "data='$plot_data'; out='$plot'; title_text='allReduce(SUM, float) vs MPI_Allreduce, $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git -C "$root_dir" rev-parse --short HEAD 2>/dev/null || echo unknown), medians of $REPEATS repeats'" \
      "$bench_dir/allreduce.gp" 2>"$run_dir/gnuplot.err"; then
    plot_link="$(realpath --relative-to="$(dirname "$RESULTS")" "$plot")"
    plot_note="![allReduce against MPI_Allreduce: median time and bus bandwidth per size]($plot_link)"
  else
    plot_note="No plot: gnuplot failed ($(tr '\n' ' ' <"$run_dir/gnuplot.err" | cut -c1-300))."
  fi
else
  plot_note="No plot: gnuplot is not installed (apt-get install gnuplot-nox)."
fi

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
  echo "- Load average (1, 5, 15 min) before: $load_before; after: $load_after. Anything above 0 is other work"
  echo "  sharing these cores with the benchmark."
  echo "- Took ${elapsed_s} s. Raw RESULT lines and one log per run: \`${run_dir#"$root_dir"/}/\` (not committed)."
  echo
  cat "$table"
  echo
  echo "$plot_note"
  echo
  if [ "${#failures[@]}" -eq 0 ]; then
    echo "All $(( REPEATS * $(wc -w <<<"$RANKS") * 2 )) runs succeeded."
  else
    echo "**Failed runs** (missing from the medians above):"
    echo
    for failure in "${failures[@]}"; do
      echo "- $failure"
    done
  fi
} >"$section"

ensure_results_file "$RESULTS"
cat "$section" >>"$RESULTS"
cat "$section"
echo "== appended to $RESULTS" >&2
# The section is written either way; the exit status still tells a caller (or CI) that some runs failed.
[ "${#failures[@]}" -eq 0 ] && [ "$report_status" -eq 0 ]
