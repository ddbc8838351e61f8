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
# files are never touched. Needs tmux.
set -euo pipefail
samples=${1:-15}
file=${2:-exercises/03_clocks/lamport.rs}
root=$(cd "$(dirname "$0")/.." && pwd)
learner=${LEARNER_FILE:+$(realpath "$LEARNER_FILE")}
kit=$(mktemp -d)
trap 'tmux kill-session -t dslat 2>/dev/null || true; rm -rf "$kit"' EXIT
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$kit")
cd "$kit"
if [ "${WITH_REFERENCE:-0}" = 1 ]; then
  cp "solutions/${file#exercises/}" "$file"
fi
if [ -n "$learner" ]; then
  cp "$learner" "$file"
fi
cargo build --quiet
# Start on the exercise that owns $file: mark the exercises before it done.
name=$(python3 - "$file" <<'PY'
import sys, tomllib
m = tomllib.load(open("info.toml", "rb"))
rel = sys.argv[1].removeprefix("exercises/")
names = [e["name"] for e in m["exercises"]]
mine = next(e["name"] for e in m["exercises"] if e["file"] == rel)
done = names[:names.index(mine)]
import json, os
os.makedirs(".dscourse", exist_ok=True)
json.dump({"version": 1, "done": done, "hints_shown": {}, "current": mine, "welcome_shown": True}, open(".dscourse/state.json", "w"))
print(mine)
PY
)
tmux new-session -d -s dslat -x 120 -y 50 "target/debug/dscourse watch"
wait_for() { # wait until check #$1 has finished
  for _ in $(seq 1 3000); do
    tmux capture-pane -p -t dslat | grep -q "check #$1 took" && return 0
    sleep 0.005
  done
  echo "no verdict for check #$1" >&2; exit 1
}
wait_for 1
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
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
echo "watch latency for $name ($file), $n saves: median ${sorted[$((n / 2))]} ms, min ${sorted[0]} ms, max ${sorted[$((n - 1))]} ms"
echo "samples (ms): ${times[*]}"
