#!/usr/bin/env bash
# Training throughput of data-parallel training on this host, against what one process and two independent
# processes do on the same cores, and against DL4J's ParallelWrapper: for each repeat and each workload it runs,
# back to back, TrainingThroughput in every configuration (one process with 1 ND4J thread, one process with the
# default threads, two independent processes, 2-rank DDP with AcceleratedTrainer, 2-rank DDP with the listener and
# a timing barrier, ParallelWrapper with 2 workers), then ListenerOverhead (world size 1); then it appends a
# section with medians over the repeats, ratios, the per-step split of DDP, the verdicts on the project's targets
# and a plot to RESULTS.md.
#
# Builds no Java: run `mvn -B -DskipTests package` in the repository root first. Installs gnuplot (for the plot)
# with apt-get when missing and run as root.
#
# Settings (environment):
#   REPEATS=3              rounds of every configuration; the machines are noisy, medians are reported
#   WORKLOADS="mlp:64:8000:2000 mlp:256:6000:1500 lenet:64:40:60"
#                          model:global batch:warm-up steps:timed steps, one run of each configuration per entry.
#                          The warm-ups take about as long as the independent processes' START_DELAY_SECONDS, so
#                          every configuration is timed once the JIT has compiled DL4J's per-step code: methods
#                          called once a step reach C2 after ~5000 calls, 20-35 s into a run, and until then C2
#                          takes 13-18% of a core (2000 / 1000 warm-up steps and 10 s timed the MLP's ceiling at
#                          12,980 and 36,687 samples/s at batch 64 and 256, 8000 / 4000 steps and 40 s at 15,520
#                          and 42,151: RESULTS.md, 18:55 and 21:44 UTC). The timed steps last about as long as the
#                          window
#   CONFIGS="1proc-1thread 1proc-default 2proc-independent ddp-trainer ddp-listener parallel-wrapper"
#   WINDOW_SECONDS=10      timed window of the two independent processes (they run on the wall clock, not steps)
#   START_DELAY_SECONDS=50 from starting them to the window: JVM start and warm-up must fit in it (at 40 s some had
#                          trained only 7,011 of 8,000 warm-up steps at batch 64 and 5,507 of 6,000 at 256)
#   THREADS_PER_PROCESS=max(1, cores / 2)   OMP_NUM_THREADS of each independent process and of the ParallelWrapper
#                          process (each of its 2 workers runs ops with that many), as the launcher gives each of
#                          its 2 ranks; 2 workers x 2 threads on 2 cores ran 2.5x slower in a trial
#   OVERHEAD_ARGS="--rounds 20 --warmup-rounds 3 --steps 200"   ListenerOverhead's arguments ("" to skip it)
#   OVERHEAD_THREADS=1     its OMP_NUM_THREADS ("default" for ND4J's own choice): with 2 threads, any other load
#                          on the 2 cores makes single steps 10x slower, noise far above the 2% to be resolved
#   WORKER_JAVA_OPTS="-Xms1g -Xmx1g -XX:+UseSerialGC"   every JVM that trains (the serial collector adds no
#                          threads to compete for the cores)
#   RUN_TIMEOUT_S=300      a run still going after this is killed and reported as failed
#   RESULTS=benchmarks/RESULTS.md   where the section goes (point it elsewhere for trial runs)
#   PLOT_DIR=benchmarks/plots       where the PNG goes (named after the run's time), linked from the section
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REPEATS="${REPEATS:-3}"
WORKLOADS="${WORKLOADS:-mlp:64:8000:2000 mlp:256:6000:1500 lenet:64:40:60}"
all_configs="1proc-1thread 1proc-default 2proc-independent ddp-trainer ddp-listener parallel-wrapper"
CONFIGS="${CONFIGS:-$all_configs}"
WINDOW_SECONDS="${WINDOW_SECONDS:-10}"
START_DELAY_SECONDS="${START_DELAY_SECONDS:-50}"
THREADS_PER_PROCESS="${THREADS_PER_PROCESS:-$(( $(nproc) / 2 > 1 ? $(nproc) / 2 : 1 ))}"
OVERHEAD_ARGS="${OVERHEAD_ARGS---rounds 20 --warmup-rounds 3 --steps 200}"
OVERHEAD_THREADS="${OVERHEAD_THREADS:-1}"
WORKER_JAVA_OPTS="${WORKER_JAVA_OPTS:--Xms1g -Xmx1g -XX:+UseSerialGC}"
RUN_TIMEOUT_S="${RUN_TIMEOUT_S:-300}"
RESULTS="${RESULTS:-$bench_dir/RESULTS.md}"
PLOT_DIR="${PLOT_DIR:-$bench_dir/plots}"

require_positive_integers REPEATS WINDOW_SECONDS START_DELAY_SECONDS THREADS_PER_PROCESS RUN_TIMEOUT_S
for workload in $WORKLOADS; do
  if ! [[ "$workload" =~ ^(mlp|lenet):[0-9]+:[0-9]+:[0-9]+$ ]]; then
    echo "$(basename "$0"): WORKLOADS entry '$workload' must be model:global-batch:warmup-steps:steps with" \
      "model mlp or lenet, e.g. mlp:64:8000:2000" >&2
    exit 2
  fi
done
for config in $CONFIGS; do
  if ! [[ " $all_configs " == *" $config "* ]]; then
    echo "$(basename "$0"): CONFIGS entry '$config' is none of $all_configs" >&2
    exit 2
  fi
done
if ! [[ "$OVERHEAD_THREADS" =~ ^([1-9][0-9]*|default)$ ]]; then
  echo "$(basename "$0"): OVERHEAD_THREADS='$OVERHEAD_THREADS' must be a positive integer or 'default'" >&2
  exit 2
fi

classpath="$(benchmarks_classpath)"
install_if_missing gnuplot gnuplot-nox || echo "$(basename "$0"): gnuplot is missing; no plot this time" >&2

clear_job_environment
# An inherited thread count would override the launcher's choice and each configuration's own.
unset OMP_NUM_THREADS
start_run training

# shellcheck disable=SC2206 # the options are a list of words on purpose
java_cmd=("$java_bin" $WORKER_JAVA_OPTS -cp "$classpath")
main=dev.dl4j.accelerate.benchmarks.TrainingThroughput

# run_independent LABEL REPEAT ARGS...: two processes that never talk, started together, each timed over the same
# window of the wall clock; each prints its own throughput and the report adds them up.
run_independent() {
  local label="$1" repeat="$2"
  shift 2
  local start_at_ms status=0 part pids=() logs=()
  start_at_ms=$(( $(date +%s%3N) + START_DELAY_SECONDS * 1000 ))
  echo "== $label" >&2
  for part in 0 1; do
    logs+=("$run_dir/$label-part$part.log")
    OMP_NUM_THREADS="$THREADS_PER_PROCESS" timeout --kill-after=15 "$RUN_TIMEOUT_S" "${java_cmd[@]}" "$main" \
      --mode independent "$@" --processes 2 --part "$part" --start-at-ms "$start_at_ms" \
      --seconds "$WINDOW_SECONDS" >"${logs[$part]}" 2>&1 &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do
    wait "$pid" || status=$?
  done
  collect_results "$label" "$repeat" 2 "$status" "${logs[@]}"
}

for repeat in $(seq 1 "$REPEATS"); do
  for workload in $WORKLOADS; do
    IFS=: read -r model batch warmup steps <<<"$workload"
    for config in $CONFIGS; do
      label="$model-b$batch-$config-repeat$repeat"
      args=(--config "$config" --workload "$model" --global-batch "$batch" --warmup-steps "$warmup" --steps "$steps")
      case "$config" in
        1proc-1thread)
          run_job "$label" "$repeat" 1 env OMP_NUM_THREADS=1 "${java_cmd[@]}" "$main" --mode single "${args[@]}"
          ;;
        1proc-default)
          run_job "$label" "$repeat" 1 "${java_cmd[@]}" "$main" --mode single "${args[@]}"
          ;;
        2proc-independent)
          run_independent "$label" "$repeat" "${args[@]}"
          ;;
        ddp-trainer|ddp-listener)
          # The launcher gives each of the 2 workers OMP_NUM_THREADS = max(1, cores / 2).
          run_job "$label" "$repeat" 1 "$root_dir/bin/accelerate" launch --nproc-per-node 2 --master-port 0 -- \
            "${java_cmd[@]}" "$main" --mode "$config" "${args[@]}"
          ;;
        parallel-wrapper)
          run_job "$label" "$repeat" 1 env OMP_NUM_THREADS="$THREADS_PER_PROCESS" "${java_cmd[@]}" "$main" \
            --mode parallel-wrapper --workers 2 --averaging-frequency 1 "${args[@]}"
          ;;
      esac
    done
  done
  if [ -n "$OVERHEAD_ARGS" ]; then
    threads=()
    [ "$OVERHEAD_THREADS" = default ] || threads=(OMP_NUM_THREADS="$OVERHEAD_THREADS")
    # shellcheck disable=SC2086 # the arguments are a list of words on purpose
    run_job "overhead-repeat$repeat" "$repeat" 4 env "${threads[@]}" "${java_cmd[@]}" \
      dev.dl4j.accelerate.benchmarks.ListenerOverhead $OVERHEAD_ARGS
  fi
done

end_run

run_report TrainingReport training "Training throughput on $(nproc) cores relative to the best single process" \
  "Training throughput of each configuration relative to the best single process"

section="$run_dir/section.md"
{
  echo
  echo "## Training throughput, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command (from the repository root, after \`mvn -B -DskipTests package\`):"
  echo
  echo '```'
  echo "REPEATS=$REPEATS WORKLOADS=\"$WORKLOADS\" \\"
  echo "  CONFIGS=\"$CONFIGS\" \\"
  echo "  WINDOW_SECONDS=$WINDOW_SECONDS START_DELAY_SECONDS=$START_DELAY_SECONDS THREADS_PER_PROCESS=$THREADS_PER_PROCESS \\"
  echo "  OVERHEAD_ARGS=\"$OVERHEAD_ARGS\" OVERHEAD_THREADS=$OVERHEAD_THREADS benchmarks/run-training.sh"
  echo '```'
  echo
  echo "Each repeat runs, per workload (model M, global batch B, W warm-up and S timed steps), one after the other:"
  echo
  echo '```'
  echo "OMP_NUM_THREADS=1 java $WORKER_JAVA_OPTS -cp <benchmarks classpath> $main --mode single \\"
  echo "  --config 1proc-1thread --workload M --global-batch B --warmup-steps W --steps S"
  echo "java ... $main --mode single --config 1proc-default ...                     # ND4J's default threads"
  echo "OMP_NUM_THREADS=$THREADS_PER_PROCESS java ... $main --mode independent --processes 2 --part {0,1} \\"
  echo "  --start-at-ms <now + ${START_DELAY_SECONDS} s> --seconds $WINDOW_SECONDS ...  # twice, at once, local batch B/2"
  echo "bin/accelerate launch --nproc-per-node 2 --master-port 0 -- java ... $main --mode {ddp-trainer,ddp-listener} ..."
  echo "OMP_NUM_THREADS=$THREADS_PER_PROCESS java ... $main --mode parallel-wrapper --workers 2 --averaging-frequency 1 ..."
  echo '```'
  echo
  if [ -n "$OVERHEAD_ARGS" ]; then
    echo "and then, in one process without the launcher (OMP_NUM_THREADS=$OVERHEAD_THREADS):"
    echo "\`java ... dev.dl4j.accelerate.benchmarks.ListenerOverhead $OVERHEAD_ARGS\`."
  fi
  echo "Models: MLP 784-256-10 (ReLU, softmax, MCXENT; 203,530 parameters) and LeNet (conv 5x5x20, max-pool,"
  echo "conv 5x5x50, max-pool, dense 500, softmax 10; 431,080 parameters), Adam, float, on synthetic MNIST-shaped"
  echo "batches made in memory from a fixed seed (no I/O). The DDP ranks and the ParallelWrapper workers each"
  echo "train on B/2 examples per step, as do the independent processes."
  echo
  echo "Machine:"
  echo
  machine_info
  run_facts
  echo
  cat "$run_dir/table.md"
  echo "$plot_note"
  echo
  failures_md
} >"$section"

append_section "$section"
# The section is written either way; the exit status still tells a caller (or CI) that something failed.
[ "${#failures[@]}" -eq 0 ] && [ "$report_status" -eq 0 ]
