#!/usr/bin/env bash
# Every benchmark figure, in release mode, in one table. Each figure stands beside the floor it
# is bounded by, measured in the same run on the same machine: a raw loopback TCP round trip
# (the same one-thread design as the node's calls) for network figures, an fdatasync of a
# 100-byte append for durable ones. The ratio says how far a figure is from its floor.
#   scripts/bench.sh [SECONDS_PER_CASE]          (default 3)
# Each benchmark's own output is kept in $BENCH_LOGS (default a new temporary folder).
# WRITES (default 1000000) sets the restart case's writes; INSTRUCTIONS=0 skips the callgrind count.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
logs=${BENCH_LOGS:-$(mktemp -d)}
mkdir -p "$logs"
swift build -c release --product crml >&2
crml=$PWD/.build/release/crml
# Nodes the benchmarks start end with this script, however it ends.
export CRML_EXIT_WITH_PID=$$
run() { local name=$1; shift; echo "running $name …" >&2; "$crml" bench "$@" > "$logs/$name.log" 2>&1 || { cat "$logs/$name.log" >&2; exit 1; }; }

run node node --seconds "$secs" --cases raw,fsync,read,write,idle
run restart node --cases restart --writes "${WRITES:-1000000}"
run xa cross-account --seconds "$secs" --deletes 200
run xa-held cross-account --seconds "$secs" --deletes 1 --hold-runs
run accounts accounts --seconds "$secs" --deletes 200
run http http --seconds "$secs"
run policy policy --seconds "$secs"
if [ "${INSTRUCTIONS:-1}" != 0 ] && command -v valgrind >/dev/null; then
  echo "running instructions per read (callgrind) …" >&2
  scripts/instructions-per-call.sh > "$logs/instructions.log" 2>/dev/null || true
fi

# field LOG PATTERN WHAT: from the first line of LOG matching PATTERN, WHAT is rate (the number
# before "/s"), p50 or p99 (µs), cpu (node µs per call), or the Nth field counted from a word.
field() {
  awk -v what="$3" -v pat="$2" '$0 ~ pat {
    for (i = 1; i <= NF; i++) {
      if (what == "rate" && $(i+1) == "/s") { print $i; exit }
      if (what == "p50" && $i == "p50") { print $(i+1); exit }
      if (what == "p99" && $i == "p99") { print $(i+1); exit }
      if (what == "cpu" && $i == "node" && $(i+1) ~ /^[0-9.]+$/) { print $(i+1); exit }
    }
  }' "$logs/$1.log"
}
# A figure that did not parse (a benchmark's output changed) stops the script rather than leave a blank.
require() { for v in "$@"; do [ -n "${!v}" ] || { echo "no value for $v: see $logs" >&2; exit 1; }; done; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "—"; else printf "%.2f×", a / b }'; }

raw1_p50=$(field node "raw loopback.* 1 conn" p50)
raw16_rate=$(field node "raw loopback.* 16 conn" rate)
fsync_p50=$(field node "fdatasync" p50)
fsync_rate=$(field node "fdatasync" rate)
read1_p50=$(field node "GetTrainingDataset [(]read[)] +1 conn" p50)
read16_rate=$(field node "GetTrainingDataset [(]read[)] +16 conn" rate)
read16_cpu=$(field node "GetTrainingDataset [(]read[)] +16 conn" cpu)
idle16_rate=$(field node "idle +16 conn" rate)
write1_p50=$(field node "TagResource.* 1 conn" p50)
write16_rate=$(field node "TagResource.* 16 conn" rate)
xa16_rate=$(field xa "cross-account.* 16 conn" rate)
xa16_held=$(field xa-held "cross-account.* 16 conn" rate)
xa_delete=$(field xa "delete: A acknowledged" p50)
http1_p50=$(field http "^HTTP .* 1 conn" p50)
rpc1_p50=$(field http "^JSON-RPC .* 1 conn" p50)
http16_rate=$(field http "^HTTP .* 16 conn" rate)
rpc16_rate=$(field http "^JSON-RPC .* 16 conn" rate)
restart=$(awk '/after kill -9: ready in/ { for (i = 1; i <= NF; i++) if ($i == "in") { print $(i+1); break } }' "$logs/restart.log" | sort -n | paste -sd' ' -)
restart_mem=$(sed -n 's/.*the node after them: private \([0-9.]*\) MiB.*/\1/p' "$logs/restart.log")
acc_ready=$(sed -n 's/.*accounts ready in \([0-9.]*\) s.*/\1/p' "$logs/accounts.log")
acc_idle=$(sed -n 's/.*idle private memory per node: median \([0-9.]*\) MiB.*/\1/p' "$logs/accounts.log")
acc_rate=$(awk '/starts between random pairs, round 2/ { for (i = 1; i <= NF; i++) if ($(i+1) == "/s" || $i ~ /\/s,$/) { sub("/s,", "", $i); print $i; exit } }' "$logs/accounts.log")
acc_del=$(sed -n 's/.*gone in the owner: p50 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*/\1 ms p50, \2 ms p99/p' "$logs/accounts.log")
acc_mem=$(sed -n 's/^at the end: .*all \([0-9]*\) nodes \([0-9]*\) MiB.*/\2 MiB for \1 nodes/p' "$logs/accounts.log")
require raw1_p50 raw16_rate fsync_p50 fsync_rate read1_p50 read16_rate read16_cpu write1_p50 write16_rate xa16_rate xa16_held xa_delete http1_p50 rpc1_p50 restart acc_rate
del_floor=$(awk -v a="$fsync_p50" -v b="$raw1_p50" 'BEGIN { printf "%.1f", a + b }')
policy=$(grep -m1 -o '[0-9,]* decisions/s' "$logs/policy.log" || true)
instr=$(sed -n 's/^instructions per read: //p' "$logs/instructions.log" 2>/dev/null || true)

cat <<TABLE
| figure | value | floor (same run) | ratio to floor |
|---|---|---|---|
| read, 1 connection, p50 | ${read1_p50} µs | raw loopback round trip p50 ${raw1_p50} µs | $(ratio "$read1_p50" "$raw1_p50") |
| reads/s, 16 connections | ${read16_rate} | raw loopback ${raw16_rate} round trips/s | $(ratio "$read16_rate" "$raw16_rate") |
| node CPU per read, 16 connections | ${read16_cpu} µs | — | — |
| instructions per read (callgrind) | ${instr:-not run} | — | — |
| reads/s, 16 connections, 2,000 idle connections open | ${idle16_rate} | raw loopback ${raw16_rate} | $(ratio "$idle16_rate" "$raw16_rate") |
| durable write, 1 connection, p50 | ${write1_p50} µs | fdatasync p50 ${fsync_p50} µs | $(ratio "$write1_p50" "$fsync_p50") |
| durable writes/s, 16 connections | ${write16_rate} | ${fsync_rate} fdatasyncs/s one at a time | $(ratio "$write16_rate" "$fsync_rate") |
| cross-account starts/s, 16 clients, runs held | ${xa16_held} | ${fsync_rate} fdatasyncs/s | $(ratio "$xa16_held" "$fsync_rate") |
| cross-account starts/s, 16 clients, with runs | ${xa16_rate} | ${fsync_rate} fdatasyncs/s | $(ratio "$xa16_rate" "$fsync_rate") |
| delete acknowledged in A → gone in B, p50 | ${xa_delete} µs | one fdatasync and one round trip, ${del_floor} µs | $(ratio "$xa_delete" "$del_floor") |
| HTTP (SigV4) read, 1 connection, p50 | ${http1_p50} µs | JSON-RPC p50 ${rpc1_p50} µs | $(ratio "$http1_p50" "$rpc1_p50") |
| HTTP reads/s, 16 connections | ${http16_rate} | JSON-RPC ${rpc16_rate} | $(ratio "$http16_rate" "$rpc16_rate") |
| restart after kill -9, ${WRITES:-1000000} writes (3 restarts) | ${restart} s | — | — |
| node memory after those writes | ${restart_mem} MiB private | — | — |
| 100 accounts: ready | ${acc_ready} s | — | — |
| 100 accounts: idle node | ${acc_idle} MiB private | — | — |
| 100 accounts: starts/s between random pairs (second round) | ${acc_rate} | — | — |
| 100 accounts: delete propagation | ${acc_del} | — | — |
| 100 accounts: memory at the end | ${acc_mem} | — | — |
| policy decisions | ${policy} | — | — |
TABLE
echo "(each benchmark's output: $logs)"
