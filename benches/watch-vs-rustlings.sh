#!/usr/bin/env bash
# Save-to-verdict latency of watch mode side by side with rustlings' on one
# machine in one run: both runners in tmux, each save alternating a passing
# and a failing version of one exercise (rustlings: `if1`; dscourse: the
# given exercise, its reference and a version with a planted bug), timed
# until that save's verdict is on screen. Prints the medians for passing and
# failing saves and the ratio dscourse / rustlings.
#
#   bash benches/watch-vs-rustlings.sh [SAVES] [EXERCISE]
#
# SAVES saves of each kind per runner (15), EXERCISE clocks_lamport. Saves
# alternate between the runners, so both see the same machine load.
# FAILING_FILE=path is dscourse's failing version (by default a planted bug
# for clocks_lamport, raft_election and crdt_or_set). RUSTLINGS=path uses
# that rustlings instead of installing 6.5.0 (`cargo install rustlings
# --locked`) into a temporary root. Works in temporary copies (the
# repository's files are never touched); BENCH_KIT=dir keeps dscourse's copy
# (and its target/, or CARGO_TARGET_DIR) there for the next run, which then
# skips the first builds. Needs tmux, python3 and crates.io.
set -euo pipefail
saves=${1:-15}
exercise=${2:-clocks_lamport}
root=$(cd "$(dirname "$0")/.." && pwd)
failing=${FAILING_FILE:+$(realpath "$FAILING_FILE")}
. "$root/benches/lib/tmux.sh"
tmp=$(mktemp -d)
if [ -n "${BENCH_KIT:-}" ]; then
  kit=$(bench_keep_kit "$root" "$BENCH_KIT")
else
  kit=$(bench_copy_kit "$root")
fi
cleanup() {
  tmux kill-session -t dsvs-d 2>/dev/null || true
  tmux kill-session -t dsvs-r 2>/dev/null || true
  rm -rf "$tmp"
  [ -n "${BENCH_KIT:-}" ] || rm -rf "$kit"
}
trap cleanup EXIT
unset RUST_BACKTRACE # as a learner's shell has it

# rustlings, its exercises, and if1 at its current exercise.
rustlings=${RUSTLINGS:-}
if [ -z "$rustlings" ]; then
  echo "installing rustlings 6.5.0 into $tmp/root…" >&2
  cargo install rustlings --version 6.5.0 --locked --quiet --root "$tmp/root"
  rustlings=$tmp/root/bin/rustlings
fi
(cd "$tmp" && "$rustlings" init </dev/null >/dev/null)
rl=$tmp/rustlings
printf "DON'T EDIT THIS FILE!\n\nif1\n" >"$rl/.rustlings-state.txt"
rl_file=$rl/exercises/03_if/if1.rs
python3 - "$rl_file" "$tmp" <<'PY'
import sys
s = open(sys.argv[1]).read()
rest = s[s.index("fn main()"):]
for kind, body in [("pass", "if a > b { a } else { b }"), ("fail", "if a > b { b } else { a }")]:
    open(f"{sys.argv[2]}/if1.{kind}.rs", "w").write(f"fn bigger(a: i32, b: i32) -> i32 {{\n    {body}\n}}\n\n{rest}")
PY

# dscourse: the reference passes; a planted bug fails on a property.
cd "$kit"
file=$(bench_file_of "$exercise")
cp "solutions/${file#exercises/}" "$tmp/ds.pass.rs"
if [ -n "$failing" ]; then
  cp "$failing" "$tmp/ds.fail.rs"
else
  case $exercise in
  clocks_lamport) bug='s/self.time = self.time.max(timestamp) + 1;/self.time += 1;/' ;;
  raft_election) bug='s/self.votes.insert(voter);/self.votes.insert(self.id);/' ;;
  crdt_or_set) bug='s/self.removed.insert(\*tag);/let _ = tag;/' ;;
  *) echo "no planted bug for $exercise: give FAILING_FILE" >&2; exit 2 ;;
  esac
  sed "$bug" "$tmp/ds.pass.rs" >"$tmp/ds.fail.rs"
  if cmp -s "$tmp/ds.pass.rs" "$tmp/ds.fail.rs"; then
    echo "the planted bug for $exercise no longer applies: give FAILING_FILE" >&2
    exit 2
  fi
fi
cp "$tmp/ds.fail.rs" "$file"
# raft_election's group runs the first versions of replication.rs's
# functions, which a learner writes in that step too: the reference's.
if [ "$exercise" = raft_election ]; then
  cp solutions/05_raft/replication.rs exercises/05_raft/replication.rs
fi
# The repository's compiled dependencies, so that only the kit's own crates build.
if [ -z "${CARGO_TARGET_DIR:-}" ] && [ -d "$root/target/debug/deps" ] && [ ! -d target/debug/deps ]; then
  mkdir -p target/debug
  (cd "$root/target/debug" && tar cf - --exclude=./incremental --exclude=./cli-tests \
    --exclude=./watch-tests .) | (cd target/debug && tar xf -)
fi
cargo build --quiet
bench_start_on "$file" >/dev/null

tmux new-session -d -s dsvs-d -x 120 -y 50 "${CARGO_TARGET_DIR:-target}/debug/dscourse watch"
echo "dscourse: building the suite for the first check…" >&2
bench_wait_check dsvs-d 1 900
cp "$tmp/if1.fail.rs" "$rl_file"
tmux new-session -d -s dsvs-r -x 120 -y 50 -c "$rl" "$rustlings"
bench_wait_screen dsvs-r "test result: FAILED" 300

# One timed save: copies $2 over $1, waits for pattern $3 in session $4;
# prints the milliseconds.
timed_save() {
  local start
  start=$(bench_now)
  cp "$2" "$1"
  bench_wait_screen "$4" "$3" 60
  echo $((($(bench_now) - start) / 1000000))
}

ds_pass=() ds_fail=() rl_pass=() rl_fail=()
check=1
for i in $(seq 1 "$saves"); do
  for kind in pass fail; do
    sleep 0.3
    if [ "$kind" = pass ]; then marker="Exercise done"; else marker="test result: FAILED"; fi
    t=$(timed_save "$rl_file" "$tmp/if1.$kind.rs" "$marker" dsvs-r)
    if [ "$kind" = pass ]; then rl_pass+=("$t"); else rl_fail+=("$t"); fi
    sleep 0.3
    check=$((check + 1))
    t=$(timed_save "$kit/$file" "$tmp/ds.$kind.rs" "check #$check took" dsvs-d)
    if [ "$kind" = pass ]; then
      tmux capture-pane -p -t dsvs-d | grep -q "is done" || { echo "check #$check: the reference did not pass" >&2; exit 1; }
      ds_pass+=("$t")
    else
      ds_fail+=("$t")
    fi
  done
  echo "save pair $i/$saves: rustlings ${rl_pass[-1]}/${rl_fail[-1]} ms, dscourse ${ds_pass[-1]}/${ds_fail[-1]} ms (pass/fail)" >&2
done
tmux send-keys -t dsvs-d q
tmux send-keys -t dsvs-r q

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
dp=$(bench_median "${ds_pass[@]}") df=$(bench_median "${ds_fail[@]}")
rp=$(bench_median "${rl_pass[@]}") rf=$(bench_median "${rl_fail[@]}")
echo "save → verdict, $saves saves of each kind, $(nproc) cores"
echo "dscourse $exercise  passing: $(bench_summary "${ds_pass[@]}")"
echo "dscourse $exercise  failing: $(bench_summary "${ds_fail[@]}")"
echo "rustlings if1  passing: $(bench_summary "${rl_pass[@]}")"
echo "rustlings if1  failing: $(bench_summary "${rl_fail[@]}")"
echo "ratio dscourse / rustlings (medians): passing $(ratio "$dp" "$rp"), failing $(ratio "$df" "$rf") (target ≤ 0.75, and ≤ 500 ms)"
echo "samples (ms): dscourse pass ${ds_pass[*]} | fail ${ds_fail[*]} | rustlings pass ${rl_pass[*]} | fail ${rl_fail[*]}"
