#!/usr/bin/env bash
# Throughput of the cache server against a real Redis, in one run: the
# reference (release build) and redis-server side by side on loopback,
# each measured by redis-benchmark with the same settings, and the ratio.
#
#   bash benches/cache-server.sh [REQUESTS] [CLIENTS]
#
# With LEARNER=1 the learner's server (exercises/) is measured instead of
# the reference: the graduation bar is 10,000 requests per second.
# Needs redis-server and redis-benchmark (Debian: redis-server, redis-tools).
set -euo pipefail
requests=${1:-100000}
clients=${2:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {
  for _ in $(seq 100); do
    redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2
  exit 1
}
# "SET: 123456.79 requests per second, p50=…" → 123456.79
rate() { grep -o "^$1: [0-9.]*" | awk '{print $2}'; }

if [ "${LEARNER:-0}" = 1 ]; then
  features=(--no-default-features --features learner,cache-server)
  who="learner"
else
  features=()
  who="reference"
fi
cargo build --quiet --release -p checker --bin cache_server "${features[@]}"

ours=$(free_port)
theirs=$(free_port)
target/release/cache_server --port "$ours" >/dev/null &
ours_pid=$!
redis-server --port "$theirs" --save "" --appendonly no --daemonize no >/dev/null &
redis_pid=$!
trap 'kill $ours_pid $redis_pid 2>/dev/null || true' EXIT
wait_for "$ours"
wait_for "$theirs"

bench() {
  redis-benchmark -p "$1" -t get,set -n "$requests" -c "$clients" -q 2>/dev/null | tr '\r' '\n' |
    grep "requests per second" | grep -v "rps="
}
echo "redis-benchmark -t get,set -n $requests -c $clients -q, on $(nproc) cores"
ours_out=$(bench "$ours")
redis_out=$(bench "$theirs")
echo "$who cache server:"; echo "$ours_out" | sed 's/^/  /'
echo "redis-server $(redis-server --version | grep -o 'v=[0-9.]*'):"; echo "$redis_out" | sed 's/^/  /'
for op in SET GET; do
  a=$(echo "$ours_out" | rate "$op")
  b=$(echo "$redis_out" | rate "$op")
  awk -v op="$op" -v a="$a" -v b="$b" 'BEGIN {
    printf "%s: %.0f vs %.0f requests per second, %.2f of Redis%s\n", op, a, b, a / b, (a > 10000 ? "" : "  (below the 10,000 bar)")
  }'
done
