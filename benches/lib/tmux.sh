# Shared by the watch benchmarks (sourced, not run): a temporary copy of the
# kit, starting watch mode on a given exercise, and reading a runner's
# screen in tmux until something appears on it.

# Copies the kit at $1 (its tracked files) into a new temporary folder and
# prints that folder.
bench_copy_kit() {
  local root=$1 kit
  kit=$(mktemp -d)
  git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$kit")
  echo "$kit"
}

# Copies the kit at $1 into folder $2 (kept between runs: BENCH_KIT), with
# timestamps, so that cargo reuses the last run's build of every file that
# did not change; forgets the last run's progress. Prints the folder.
bench_keep_kit() {
  local root=$1 kit
  mkdir -p "$2"
  kit=$(realpath "$2")
  git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp -p --parents -t "$kit")
  rm -rf "$kit/.dscourse"
  echo "$kit"
}

# In a kit (the working folder), makes the exercise that owns file $1 the
# current one (the exercises before it done) and prints its name.
bench_start_on() {
  python3 - "$1" <<'PY'
import json, os, sys, tomllib
m = tomllib.load(open("info.toml", "rb"))
rel = sys.argv[1].removeprefix("exercises/")
names = [e["name"] for e in m["exercises"]]
mine = next(e["name"] for e in m["exercises"] if e["file"] == rel)
os.makedirs(".dscourse", exist_ok=True)
json.dump({"version": 1, "done": names[:names.index(mine)], "hints_shown": {},
           "current": mine, "welcome_shown": True}, open(".dscourse/state.json", "w"))
print(mine)
PY
}

# In a kit, prints the file of exercise $1.
bench_file_of() {
  python3 - "$1" <<'PY'
import sys, tomllib
m = tomllib.load(open("info.toml", "rb"))
print("exercises/" + next(e["file"] for e in m["exercises"] if e["name"] == sys.argv[1]))
PY
}

# Waits (polling every 5 ms, at most $3 seconds, 30 by default) until tmux
# session $1 shows a line matching the extended regular expression $2.
bench_wait_screen() {
  local session=$1 pattern=$2 limit=${3:-30} deadline screen
  deadline=$(($(date +%s) + limit))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    screen=$(tmux capture-pane -p -t "$session" 2>/dev/null) || {
      echo "the runner in tmux session $session has ended" >&2
      return 1
    }
    grep -Eq -- "$pattern" <<<"$screen" && return 0
    sleep 0.005
  done
  echo "waited ${limit} s in $session for /$pattern/; the screen was:" >&2
  tmux capture-pane -p -t "$session" >&2
  return 1
}

# Waits until dscourse in tmux session $1 shows the verdict of check #$2.
bench_wait_check() {
  bench_wait_screen "$1" "check #$2 took" "${3:-30}"
}

# Nanoseconds since the epoch.
bench_now() { date +%s%N; }

# The median of the numbers given as arguments.
bench_median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int(NR / 2) + 1] }'
}

# "median M ms, min A ms, max B ms" of the numbers given as arguments.
bench_summary() {
  printf '%s\n' "$@" | sort -n |
    awk '{ v[NR] = $1 } END { printf "median %d ms, min %d ms, max %d ms", v[int(NR / 2) + 1], v[1], v[NR] }'
}
