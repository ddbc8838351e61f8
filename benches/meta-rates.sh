#!/usr/bin/env bash
# How often each meta test catches its planted bug: every seed in 1..=N is
# run (N is the first argument, 200 by default) and each meta test prints
# "meta rate: … caught in X/N seeds"; one below 99% fails.
#
#   bash benches/meta-rates.sh [SEEDS] [TOPIC…]
set -uo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-200}"
shift || true
topics=("$@")
if [ ${#topics[@]} -eq 0 ]; then
  topics=(intro generals byzantine clocks broadcast quorums raft tpc crdts sharding events cache paxos replication coord fd storage)
fi
cargo build --quiet --release -p checker --tests || exit 1
status=0
for topic in "${topics[@]}"; do
  printf '\n== %s\n' "$topic"
  out="$(DSCOURSE_META_RATE_SEEDS="$seeds" cargo test --quiet --release -p checker --test "$topic" -- meta:: 2>&1)" || status=1
  grep -E "meta rate:|^test .*FAILED|below 99%|failed first" <<<"$out"
done
exit $status
