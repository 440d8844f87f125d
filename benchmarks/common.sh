# Sourced by the run-*.sh scripts: where things are, and what a results section must say
# about the machine it was measured on.

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root_dir="$(cd "$bench_dir/.." && pwd)"
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"

# Prints the benchmarks' runtime classpath, or explains how to build it. Building is left to the caller, so a
# script never measures a half-built tree or competes with its own compiler for the cores.
benchmarks_classpath() {
  local target="$bench_dir/target"
  if [ ! -f "$target/classpath.txt" ] || [ ! -f "$target/classes/META-INF/BenchmarkList" ]; then
    echo "$(basename "$0"): benchmarks are not built ($target/classpath.txt or classes missing);" \
      "run from $root_dir: mvn -B -DskipTests package" >&2
    return 2
  fi
  if [ ! -f "$root_dir/dl4j-accelerate-core/target/classpath.txt" ]; then
    echo "$(basename "$0"): the launcher is not built; run from $root_dir: mvn -B -DskipTests package" >&2
    return 2
  fi
  if grep -q '/\.m2/repository/dev/dl4j/accelerate/' "$target/classpath.txt"; then
    # Built with `-pl benchmarks` alone: Maven took the core from ~/.m2, perhaps older than the tree.
    echo "$(basename "$0"): $target/classpath.txt takes dl4j-accelerate-core from ~/.m2, not from this tree;" \
      "rebuild from $root_dir with: mvn -B -DskipTests package (or -pl benchmarks -am)" >&2
    return 2
  fi
  echo "$target/classes:$(cat "$target/classpath.txt")"
}

# snapshot_classpath CLASSPATH DIR: copies the entries that live in this tree (the benchmark classes, the core
# jar) into DIR and prints the classpath with the copies, so that a rebuild during a long run cannot swap or
# truncate the code under running JVMs, and the launcher and workers run the very same build.
snapshot_classpath() {
  local classpath="$1" dir="$2" entry copy result="" index=0
  mkdir -p "$dir"
  local IFS=':'
  for entry in $classpath; do
    if [[ "$entry" == "$root_dir"/* ]]; then
      index=$((index + 1))
      copy="$dir/$index-$(basename "$entry")"
      cp -R "$entry" "$copy"
      entry="$copy"
    fi
    result="${result:+$result:}$entry"
  done
  echo "$result"
}

# Markdown bullet list describing this machine.
machine_info() {
  local model memory java_version mpi_version
  model="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
  memory="$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)"
  java_version="$("$java_bin" -version 2>&1 | paste -sd ';' - | sed 's/;/; /g')"
  mpi_version="$(command -v mpirun >/dev/null 2>&1 && mpirun --version 2>/dev/null | head -1 || echo "not installed")"
  echo "- CPUs: $(nproc) (\`nproc\`), ${model:-unknown model}"
  echo "- Memory: ${memory:-unknown}"
  echo "- Kernel: $(uname -srm)"
  echo "- Java: $java_version"
  echo "- OpenMPI: $mpi_version"
  echo "- Git: $(git_commit)$(git -C "$root_dir" status --porcelain 2>/dev/null | grep -q . \
    && echo ' (with uncommitted changes)')"
}

# git_commit: the tree's commit, abbreviated, or "unknown" outside a git checkout.
git_commit() {
  git -C "$root_dir" rev-parse --short HEAD 2>/dev/null || echo unknown
}

# Creates the results file with its preamble when it does not exist yet; sections are appended after it.
ensure_results_file() {
  local file="$1"
  if [ ! -f "$file" ]; then
    {
      echo "# dl4j-accelerate benchmark results"
      echo
      echo "Sections are appended by the \`benchmarks/run-*.sh\` scripts;"
      echo "each names the command, the machine and the date it was measured on. See \`benchmarks/README.md\`."
    } >"$file"
  fi
}

# require_positive_integers NAME...: exits, naming the setting, when one of the named variables is not a positive
# integer.
require_positive_integers() {
  local setting
  for setting in "$@"; do
    if ! [[ "${!setting}" =~ ^[0-9]+$ ]] || [ "${!setting}" -lt 1 ]; then
      echo "$(basename "$0"): $setting='${!setting}' must be a positive integer" >&2
      exit 2
    fi
  done
}

# require_non_negative_integers NAME...: the same for settings that may be 0.
require_non_negative_integers() {
  local setting
  for setting in "$@"; do
    if ! [[ "${!setting}" =~ ^[0-9]+$ ]]; then
      echo "$(basename "$0"): $setting='${!setting}' must be a non-negative integer" >&2
      exit 2
    fi
  done
}

# require_seconds NAME...: exits, naming the setting, when one of the named variables is not a non-negative number
# of seconds (such as 0, 2 or 0.5).
require_seconds() {
  local setting
  for setting in "$@"; do
    if ! [[ "${!setting}" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
      echo "$(basename "$0"): $setting='${!setting}' must be a non-negative number of seconds" >&2
      exit 2
    fi
  done
}

# require_rank_counts: exits when $RANKS is not a list of process counts a collective can run on (2 or more).
require_rank_counts() {
  local ranks
  for ranks in $RANKS; do
    if ! [[ "$ranks" =~ ^[0-9]+$ ]] || [ "$ranks" -lt 2 ]; then
      echo "$(basename "$0"): RANKS='$RANKS' must list integers of at least 2" >&2
      exit 2
    fi
  done
}

# install_if_missing COMMAND PACKAGE...: installs the Debian packages with apt-get when COMMAND is not on PATH and
# this runs as root; fails when COMMAND is missing and cannot be installed that way.
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

# require_open_mpi: installs Open MPI as install_if_missing does, or exits saying what is missing.
require_open_mpi() {
  if ! install_if_missing mpicc openmpi-bin libopenmpi-dev || ! command -v mpirun >/dev/null 2>&1; then
    echo "$(basename "$0"): Open MPI is missing; install openmpi-bin and libopenmpi-dev (or your system's" \
      "equivalent) so that mpicc and mpirun are on PATH" >&2
    exit 2
  fi
}

# build_mpi_reference NAME: compiles mpi/NAME.c into target/mpi/NAME and prints the binary's path.
build_mpi_reference() {
  local binary="$bench_dir/target/mpi/$1"
  # Called in $(...), where set -e does not reach: a failed build must fail the call.
  mkdir -p "$(dirname "$binary")" && mpicc -O2 -Wall -o "$binary" "$bench_dir/mpi/$1.c" >&2 || return
  echo "$binary"
}

# clear_job_environment: a rank inherited from whoever runs a script would make every worker think it is that rank.
clear_job_environment() {
  unset RANK WORLD_SIZE LOCAL_RANK LOCAL_WORLD_SIZE NODE_RANK MASTER_ADDR MASTER_PORT \
    ACCELERATE_AERON_DIR ACCELERATE_JOB_TOKEN ACCELERATE_WAIT
}

# start_run NAME: the bookkeeping of a script that runs many jobs and reports on them. Sets stamp (the run's UTC
# time), run_dir (target/NAME/<stamp>, for logs), classpath (a snapshot of $classpath in run_dir, which the
# launcher runs from too, through ACCELERATE_CLASSPATH), raw (the file of RESULT lines), runs and failures (what
# collect_results counted), load_before and started_s.
start_run() {
  stamp="$(date -u +%Y%m%dT%H%M%SZ)"
  run_dir="$bench_dir/target/$1/$stamp"
  mkdir -p "$run_dir"
  classpath="$(snapshot_classpath "$classpath" "$run_dir/lib")"
  export ACCELERATE_CLASSPATH="$classpath"
  raw="$run_dir/results.txt"
  : >"$raw"
  runs=0
  failures=()
  load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
  started_s="$(date +%s)"
}

# end_run: sets load_after and elapsed_s, once the measured jobs are done.
end_run() {
  load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
  elapsed_s=$(( $(date +%s) - started_s ))
}

# collect_results LABEL REPEAT EXPECTED STATUS LOG...: files the RESULT lines of the logs in $raw with
# `repeat=REPEAT` inserted after `RESULT`; a job that exited non-zero or printed another number of lines is
# added to $failures, with the end of its log, never silently left out.
collect_results() {
  local label="$1" repeat="$2" expected="$3" status="$4"
  shift 4
  local found count=0 why=""
  found="$(sed -n "s/^.*RESULT /RESULT repeat=$repeat /p" "$@")"
  if [ -n "$found" ]; then
    echo "$found" >>"$raw"
    echo "$found" | sed 's/^/   /' | cut -c1-200 >&2
    count="$(wc -l <<<"$found")"
  fi
  runs=$((runs + 1))
  if [ "$status" -ne 0 ] || [ "$count" -ne "$expected" ]; then
    [ "$status" -eq 124 ] && why=" (killed after ${RUN_TIMEOUT_S} s)"
    failures+=("$label: exit $status$why, $count of $expected RESULT lines, log \`${1#"$root_dir"/}\`: \
$(cat "$@" | sed '/^NOTE: Picked up/d; /WARNING: Using incubator modules/d; /SLF4J/d' | tail -3 | tr '\n' ' ' \
  | cut -c1-300)")
    echo "   FAILED (exit $status); see $*" >&2
  fi
}

# run_job LABEL REPEAT EXPECTED COMMAND...: runs one job, killed after RUN_TIMEOUT_S, its output in
# $run_dir/LABEL.log, and collects its RESULT lines.
run_job() {
  local label="$1" repeat="$2" expected="$3"
  shift 3
  local log="$run_dir/$label.log" status=0
  echo "== $label" >&2
  timeout --kill-after=15 "$RUN_TIMEOUT_S" "$@" >"$log" 2>&1 || status=$?
  collect_results "$label" "$repeat" "$expected" "$status" "$log"
}

# run_facts: the bullets a section adds to machine_info about this run.
run_facts() {
  echo "- Load average (1, 5, 15 min) before: $load_before; after: $load_after. Anything above 0 is other work"
  echo "  sharing these cores with the benchmark."
  echo "- Took ${elapsed_s} s. Raw RESULT lines and one log per run: \`${run_dir#"$root_dir"/}/\` (not committed)."
}

# failures_md: the last lines of a section: every run succeeded, or which failed and why.
failures_md() {
  local failure
  if [ "${#failures[@]}" -eq 0 ]; then
    echo "All $runs runs succeeded."
  else
    echo "**Failed runs** (missing from the medians above):"
    echo
    for failure in "${failures[@]}"; do
      echo "- $failure"
    done
  fi
}

# plot_md NAME GNUPLOT_SCRIPT DATA TITLE ALT: draws $PLOT_DIR/NAME-$stamp.png from DATA, titled TITLE and when, from
# which commit and over how many $REPEATS it was measured, and prints the markdown image that shows it (relative
# to $RESULTS), or a line saying why there is no plot. The plot is a convenience: the numbers are all in the
# section anyway.
plot_md() {
  local name="$1" script="$2" data="$3" alt="$5" plot title
  title="$4, $(date -u '+%Y-%m-%d %H:%M UTC'), git $(git_commit), medians of $REPEATS repeats"
  if ! command -v gnuplot >/dev/null 2>&1; then
    echo "No plot: gnuplot is not installed (apt-get install gnuplot-nox)."
    return
  fi
  mkdir -p "$PLOT_DIR"
  plot="$PLOT_DIR/$name-$stamp.png"
  if gnuplot -e "data='$data'; out='$plot'; title_text='$title'" "$script" 2>"$run_dir/gnuplot.err"; then
    echo "![$alt]($(realpath --relative-to="$(dirname "$RESULTS")" "$plot"))"
  else
    # gnuplot opens its output before it finds out that there is nothing to draw: no empty PNG to commit.
    rm -f "$plot"
    echo "No plot: gnuplot failed ($(tr '\n' ' ' <"$run_dir/gnuplot.err" | cut -c1-300))."
  fi
}

# run_report CLASS NAME TITLE ALT: runs the report CLASS on $raw, its markdown into $run_dir/table.md and its plot's
# data into $run_dir/NAME.dat, then draws the plot with NAME.gp (plot_md NAME ... TITLE ALT). Sets report_status (the
# report's exit status) and plot_note (the plot's markdown, or why there is none).
run_report() {
  local class="$1" name="$2" title="$3" alt="$4"
  report_status=0
  "$java_bin" -cp "$classpath" "dev.dl4j.accelerate.benchmarks.$class" "$raw" "$run_dir/$name.dat" \
    >"$run_dir/table.md" 2>"$run_dir/report.err" || report_status=$?
  if [ "$report_status" -eq 0 ]; then
    plot_note="$(plot_md "$name" "$bench_dir/$name.gp" "$run_dir/$name.dat" "$title" "$alt")"
  else
    plot_note="No table or plot: $class failed ($(tr '\n' ' ' <"$run_dir/report.err" | cut -c1-300))."
  fi
}

# append_section FILE: appends the markdown section in FILE to $RESULTS (creating it with its preamble first) and
# shows it.
append_section() {
  ensure_results_file "$RESULTS"
  cat "$1" >>"$RESULTS"
  cat "$1"
  echo "== appended to $RESULTS" >&2
}
