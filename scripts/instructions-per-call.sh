#!/usr/bin/env bash
# Instructions a node executes per authenticated read (GetTrainingDataset over JSON-RPC, one
# connection), counted by valgrind's callgrind: not seconds, so the figure is the same on a busy
# or an idle machine. Two runs of the same node make FEW and MANY reads; the difference in the
# node's total, divided by MANY - FEW, is one read's cost (start-up and set-up cancel out).
#   scripts/instructions-per-call.sh [FEW] [MANY]      (default 2000 12000)
# Needs valgrind (Debian's valgrind package). Prints the per-read count and the functions that
# cost most in the larger run.
set -euo pipefail
shopt -s inherit_errexit  # a failing step inside $(…) stops the script too
cd "$(dirname "$0")/.."
few=${1:-2000}; many=${2:-12000}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }
swift build -c release --product crml >&2
work=$(mktemp -d)
# valgrind 3.19 cannot read the DWARF 5 the toolchain writes: a copy without debug sections
# keeps the symbol table, so functions are still named.
crml=$work/crml
cp .build/release/crml "$crml"
strip --strip-debug "$crml"
trap 'for d in "$work"/c*; do "$crml" cluster down --dir "$d" >/dev/null 2>&1 || true; done; rm -rf "$work"' EXIT
total() {  # $1: reads; prints the node's instruction total
  local dir=$work/c$1
  CRML_SPIN_US=0 CRML_NODE_PREFIX="valgrind --tool=callgrind --callgrind-out-file=$dir.out" \
    "$crml" cluster up --dir "$dir" --accounts 1 >/dev/null 2>&1
  CRML_SPIN_US=0 "$crml" bench node --dir "$dir" --cases read --connections 1 --calls "$1" >&2
  "$crml" cluster down --dir "$dir" >/dev/null 2>&1
  sed -n 's/^summary: //p' "$dir.out"
}
a=$(total "$few"); b=$(total "$many")
[[ $a =~ ^[0-9]+$ && $b =~ ^[0-9]+$ ]] || { echo "callgrind gave no instruction totals ($a, $b)" >&2; exit 1; }
echo "node instructions: $a for $few reads, $b for $many reads"
echo "instructions per read: $(( (b - a) / (many - few) ))"
callgrind_annotate --inclusive=no "$work/c$many.out" 2>/dev/null | sed -n '/^Ir/,$p' | head -40
