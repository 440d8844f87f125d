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
  echo "- Git: $(git -C "$root_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root_dir" \
    status --porcelain 2>/dev/null | grep -q . && echo ' (with uncommitted changes)')"
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
