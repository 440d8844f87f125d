#!/usr/bin/env bash
# What crash-safe checkpoints cost: Accelerator.saveState against a plain ModelSerializer.writeModel of the same
# Adam model (about 1M and 10M parameters), alternated in one process; appends the table, the command and the
# machine to RESULTS.md. Builds nothing: run `mvn -B -DskipTests package` in the repository root first.
#   REPEATS=7                       timed pairs per size (after one warm-up pair)
#   RESULTS=benchmarks/RESULTS.md   where the section goes
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REPEATS="${REPEATS:-7}"
RESULTS="${RESULTS:-$bench_dir/RESULTS.md}"
classpath="$(benchmarks_classpath)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
run_dir="$bench_dir/target/checkpoint/$stamp"
mkdir -p "$run_dir"
classpath="$(snapshot_classpath "$classpath" "$run_dir/lib")"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

table="$(OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}" "$java_bin" --add-exports java.base/jdk.internal.misc=ALL-UNNAMED \
  -Xmx4g -cp "$classpath" dev.dl4j.accelerate.benchmarks.CheckpointCost "$REPEATS" "$run_dir/scratch" 2>"$run_dir/stderr.log" \
  | grep '^|')"

{
  echo
  echo "## Checkpoint cost, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Command (from the repository root, after \`mvn -B -DskipTests package\`):"
  echo
  echo '```'
  echo "REPEATS=$REPEATS benchmarks/run-checkpoint.sh"
  echo '```'
  echo
  echo "Machine:"
  echo
  machine_info
  echo "- Disk: $(df -h "$run_dir" | awk 'NR==2 { print $1 ", " $2 " total" }'), scratch in \`benchmarks/target\`."
  echo "- Load average (1, 5, 15 min) before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "One process, world size 1, the two alternated $REPEATS times after a warm-up pair; medians. \`saveState\` writes"
  echo "the same ModelSerializer zip plus RNG state and a manifest, fsyncs every file and the directories, and renames"
  echo "atomically; \`writeModel\` writes the zip once without fsync. Target: crash safety costs at most 20% (≤ 1.20×)."
  echo
  echo "$table"
} >>"$run_dir/section.md"

append_section "$run_dir/section.md"
