#!/usr/bin/env bash
# Fuzzes the pattern-file loader and the line pipeline with libFuzzer for SECONDS (default 20), starting
# from the checked-in corpus (copied, so the tree stays clean). A crash is saved in bench/out/fuzz/.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
swift build -c debug --sanitize=fuzzer --product realm-metrics-fuzz --scratch-path .build-fuzz >&2
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp Tests/fuzz-corpus/* "$work/"
mkdir -p bench/out/fuzz
SWIFT_BACKTRACE=enable=no ./.build-fuzz/debug/realm-metrics-fuzz -max_total_time="$seconds" -max_len=8192 -timeout=10 \
  -artifact_prefix=bench/out/fuzz/ "$work" 2>&1 | tail -3
echo "fuzz: 1 passed, 0 failed"
