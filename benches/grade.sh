#!/usr/bin/env bash
# Measures grading against checking, on the same machine and code:
#   1. `dscourse verify` in a copy of the kit whose exercises are the
#      reference solutions (a learner who finished everything), warm;
#   2. `dscourse grade` of that copy, warm (its grading copy already built);
#   3. `dscourse grade --batch` of 20 such submissions, every file of each
#      different from the others' (so every topic's learner crate is
#      rebuilt, as for real submissions): submissions per minute.
#
#   bash benches/grade.sh [RUNS]
#
# Works in a temporary copy of the kit (its own target/). Needs hyperfine.
set -euo pipefail
runs=${1:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
kit=$(mktemp -d)
trap 'rm -rf "$kit"' EXIT
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$kit")
cd "$kit"
cp -r solutions/. exercises/
git -C "$root" show HEAD:exercises/lib.rs > exercises/lib.rs
git -C "$root" show HEAD:exercises/Cargo.toml > exercises/Cargo.toml
cargo build --quiet
bin="$kit/target/debug/dscourse"

echo "== warm-up (builds every suite for verify and for grade)"
"$bin" verify > /dev/null || true
"$bin" grade . --format json > /dev/null

echo "== one complete submission: verify vs grade, warm"
hyperfine --runs "$runs" --export-json "$kit/one.json" \
  -n verify "$bin verify" \
  -n grade "$bin grade . --format json"

echo "== a batch of 20 submissions"
mkdir -p "$kit/class"
for i in $(seq -w 1 20); do
  mkdir -p "$kit/class/student$i"
  cp -r exercises "$kit/class/student$i/"
  # Every file differs from the last student's, as real submissions do:
  # every topic's learner crate is rebuilt.
  for f in "$kit"/class/student$i/exercises/[0-9]*/*.rs; do
    printf '\n// student %s\n' "$i" >> "$f"
  done
done
"$bin" grade --batch "$kit/class" --output "$kit/grades" --format csv | tail -2
