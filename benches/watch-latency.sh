#!/usr/bin/env bash
# Measures watch mode's save-to-verdict latency as a learner meets it: the
# real runner in tmux, a one-line edit saved in an exercise file, and the
# time until the verdict of that save is on screen.
#
#   bash benches/watch-latency.sh [SAMPLES] [EXERCISE_FILE]
#
# With WITH_REFERENCE=1 the reference solution stands in for the learner's
# code, so every check runs the exercise's whole passing suite. With
# LEARNER_FILE=path that file does (for instance a solution with a planted
# bug, to time a check that fails on a property rather than on a todo!()).
#
# Runs in a temporary copy of the kit (its own target/), so the repository's
# files are never touched; BENCH_KIT=dir keeps the copy (and its target/, or
# CARGO_TARGET_DIR) there for the next run, which then skips the first
# builds. Needs tmux.
set -euo pipefail
samples=${1:-15}
file=${2:-exercises/03_clocks/lamport.rs}
root=$(cd "$(dirname "$0")/.." && pwd)
learner=${LEARNER_FILE:+$(realpath "$LEARNER_FILE")}
. "$root/benches/lib/tmux.sh"
if [ -n "${BENCH_KIT:-}" ]; then
  kit=$(bench_keep_kit "$root" "$BENCH_KIT")
  trap 'tmux kill-session -t dslat 2>/dev/null || true' EXIT
else
  kit=$(bench_copy_kit "$root")
  trap 'tmux kill-session -t dslat 2>/dev/null || true; rm -rf "$kit"' EXIT
fi
cd "$kit"
if [ "${WITH_REFERENCE:-0}" = 1 ]; then
  cp "solutions/${file#exercises/}" "$file"
fi
if [ -n "$learner" ]; then
  cp "$learner" "$file"
fi
cargo build --quiet
# Start on the exercise that owns $file: mark the exercises before it done.
name=$(bench_start_on "$file")
tmux new-session -d -s dslat -x 120 -y 50 "${CARGO_TARGET_DIR:-target}/debug/dscourse watch"
wait_for() { bench_wait_check dslat "$1" 15; }
bench_wait_check dslat 1 900  # the first check builds the suite
cp "$file" "$file.orig"
times=()
for i in $(seq 1 "$samples"); do
  start=$(date +%s%N)
  printf '// edit %s\n' "$i" >> "$file"
  wait_for $((i + 1))
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
  sleep 0.3
done
tmux send-keys -t dslat q
echo "watch latency for $name ($file), ${#times[@]} saves: $(bench_summary "${times[@]}")"
echo "samples (ms): ${times[*]}"
