#!/usr/bin/env bash
# What a save would cost if suites were compiled once: the learner's node
# reaches a suite built against the protocol's types through dsim::Erased,
# so a save compiles the learner's crate and a small adapter crate, links,
# and runs checks compiled at opt-level 3 (ARCHITECTURE, "Where a save's
# time goes"). Built from benches/erased-save/ in a temporary folder, with
# the clocks_lamport reference as the learner's crate and its protocol
# types moved to a crate of their own.
#
#   bash benches/erased-save.sh [SAVES]
#
# Each save appends a line to the learner's file and runs the two compilers
# directly from the command lines cargo used (as the runner's fast path
# does), then the check. With BENCH_KIT=dir (a kit copy that
# watch-latency.sh kept, its build done), the kit's own check of
# clocks_lamport on the reference (`dscourse run`, fast path included) is
# timed in the same run, save for save, from its timings log.
set -euo pipefail
saves=${1:-9}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/benches/lib/tmux.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$root/benches/erased-save/." "$work/"
sed -i "s#KIT/sim#$root/sim#" "$work/Cargo.toml"
cp "$root/Cargo.lock" "$work/Cargo.lock"
mkdir -p "$work/learner/src"
cat > "$work/learner/Cargo.toml" <<'TOML'
[package]
name = "learner"
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
dsim.workspace = true
proto = { path = "../proto" }
serde.workspace = true
TOML
mkdir -p "$work/proto/src"
python3 - "$root/solutions/03_clocks/lamport.rs" "$work" <<'PY'
import sys
s = open(sys.argv[1]).read()
start, end = s.index("/// A message between nodes"), s.index("/// A node that timestamps")
header = "//! clocks_lamport's protocol types, in a crate the learner does not edit.\n"
header += "use dsim::NodeId;\nuse serde::{Deserialize, Serialize};\n\n"
open(sys.argv[2] + "/proto/src/lib.rs", "w").write(header + s[start:end])
learner = s[:start] + "pub use proto::{Msg, Request};\n\n" + s[end:]
open(sys.argv[2] + "/learner/src/lib.rs", "w").write(learner)
PY
cd "$work"
export CARGO_TARGET_DIR="$work/target"
cargo build --quiet -p glue
./target/debug/glue
# The two compilers a save runs, as cargo ran them.
printf '// recorded\n' >> learner/src/lib.rs
cargo build -v -p glue 2>&1 | sed -n 's/^ *Running `\(.*\)`$/\1/p' > compilers
[ "$(wc -l < compilers)" = 2 ] || { echo "expected two compilers, got:"; cat compilers; exit 1; }
kit=${BENCH_KIT:+$(realpath "$BENCH_KIT")}
if [ -n "$kit" ]; then
  cp "$root/solutions/03_clocks/lamport.rs" "$kit/exercises/03_clocks/lamport.rs"
  (cd "$kit" && rm -f .dscourse/timings.log && ./target/debug/dscourse run clocks_lamport >/dev/null 2>&1)
fi
ms() { echo $(( ($2 - $1) / 1000000 )); }
erased=() kits=()
for i in $(seq 1 "$saves"); do
  printf '// save %s\n' "$i" >> learner/src/lib.rs
  t0=$(date +%s%N)
  bash -c "$(sed -n 1p compilers)" >/dev/null 2>&1
  t1=$(date +%s%N)
  bash -c "$(sed -n 2p compilers)" >/dev/null 2>&1
  t2=$(date +%s%N)
  ./target/debug/glue >/dev/null
  t3=$(date +%s%N)
  erased+=($(ms "$t0" "$t3"))
  echo "erased save $i: learner $(ms "$t0" "$t1") ms, adapter and link $(ms "$t1" "$t2") ms, check $(ms "$t2" "$t3") ms"
  if [ -n "$kit" ]; then
    printf '// save %s\n' "$i" >> "$kit/exercises/03_clocks/lamport.rs"
    (cd "$kit" && DSCOURSE_TIMINGS=1 ./target/debug/dscourse run clocks_lamport >/dev/null 2>&1)
    line=$(grep '^check clocks_lamport' "$kit/.dscourse/timings.log" | tail -1)
    kits+=($(echo "$line" | sed 's/.*total \([0-9]*\) ms.*/\1/'))
    echo "kit    save $i: ${line#check }"
  fi
done
echo "erased suite, save to verdict without the screen: $(bench_summary "${erased[@]}")"
[ -n "$kit" ] && echo "the kit's check of clocks_lamport: $(bench_summary "${kits[@]}")"
exit 0
