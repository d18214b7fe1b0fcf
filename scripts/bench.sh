#!/usr/bin/env bash
# Every benchmark, in release mode. The figures in closing notes come from this script.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release
.build/release/crml bench policy --seconds "${SECONDS_PER_CASE:-3}"
.build/release/crml bench node --seconds "${SECONDS_PER_CASE:-3}" --cases raw,read,write,idle,fairness,users
.build/release/crml bench json --seconds "${SECONDS_PER_CASE:-3}"
.build/release/crml bench lookalike
.build/release/crml bench cross-account --seconds "${SECONDS_PER_CASE:-3}"
