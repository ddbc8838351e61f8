#!/usr/bin/env bash
# Measures what the grader's sandbox costs, on the same machine and code:
#   1. one complete submission (every exercise the reference), graded with
#      the sandbox and with --no-sandbox, in turns; two submissions that
#      differ in every file alternate, so that every grading rebuilds every
#      topic's learner crate, as for a new student;
#   2. the time the suite runs took in each (the exercises' `seconds` in the
#      reports, builds left out), and so what the sandbox adds per run;
#   3. a batch of BATCH such submissions on every core, in the sandbox:
#      submissions per minute.
#
#   bash benches/grade-sandbox.sh [RUNS] [BATCH]
#
# Works in a temporary copy of the kit (its own target/ and grading
# folder). Needs hyperfine and python3.
set -euo pipefail
runs=${1:-3}
batch=${2:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# As root, each grading slot runs its suites as a user of its own, who must
# pass through this folder.
chmod 711 "$work"
kit="$work/kit"
mkdir -p "$kit"
git -C "$root" ls-files -z | (cd "$root" && xargs -0 cp --parents -t "$kit")
cd "$kit"
cargo build --quiet
bin="$kit/target/debug/dscourse"
export DSCOURSE_GRADE_DIR="$work/grading"

# Two students whose files all differ from each other's.
for who in a b; do
  mkdir -p "$work/class/$who"
  cp -r solutions "$work/class/$who/exercises"
  rm "$work/class/$who/exercises/Cargo.toml" "$work/class/$who/exercises/lib.rs"
  for f in "$work"/class/$who/exercises/[0-9]*/*.rs; do
    printf '\n// student %s\n' "$who" >> "$f"
  done
done
# Grades the student after the one this mode graded last.
cat > "$work/next.sh" <<EOF
#!/usr/bin/env bash
mode=\$1; shift
last="$work/last-\$mode"
who=a; [ "\$(cat "\$last" 2>/dev/null)" = a ] && who=b
echo \$who > "\$last"
exec "$bin" grade "$work/class/\$who" --format json -o "$work/report-\$mode-\$who.json" "\$@" 2>/dev/null
EOF
chmod +x "$work/next.sh"

echo "== warm-up (builds every suite in each mode's grading copy)"
"$work/next.sh" sandbox
"$work/next.sh" plain --no-sandbox

echo "== one complete submission, every learner crate rebuilt"
hyperfine --runs "$runs" --export-json "$work/one.json" \
  -n sandbox "$work/next.sh sandbox" \
  -n no-sandbox "$work/next.sh plain --no-sandbox"

echo "== the suite runs alone (builds left out), from the last reports"
python3 - "$work" <<'EOF'
import json, sys, glob
work = sys.argv[1]
def runs(mode):
    report = json.load(open(sorted(glob.glob(f"{work}/report-{mode}-*.json"))[-1]))
    return sum(e["seconds"] for e in report["exercises"]), len(report["exercises"])
(with_s, n), (without_s, _) = runs("sandbox"), runs("plain")
print(f"suite runs of {n} exercises: {with_s:.2f} s in the sandbox, {without_s:.2f} s without;"
      f" {1000 * (with_s - without_s) / n:.1f} ms more per exercise (a listing and a run)")
EOF

echo "== a batch of $batch submissions, in the sandbox, on every core"
for i in $(seq -w 1 "$batch"); do
  mkdir -p "$work/batch/student$i"
  cp -r "$work/class/a/exercises" "$work/batch/student$i/"
  for f in "$work"/batch/student$i/exercises/[0-9]*/*.rs; do
    printf '\n// batch student %s\n' "$i" >> "$f"
  done
done
"$bin" grade --batch "$work/batch" --output "$work/grades" --format csv 2>/dev/null | tail -1
