#!/usr/bin/env bash
# Builds realm-metrics of an earlier revision for `make bench BASE=<rev>` and prints its binary's path:
#   bench/base-bin.sh REV
# The revision is checked out in a temporary worktree (removed afterwards) and built with `swift build
# -c release`; the binary is kept in bench/out/base/<commit>/ with that revision's pattern files in
# patterns/ beside it (bench/bench.py runs it with them), so each commit is built once. The packages
# this tree has resolved are copied in, so the build needs no network when they match.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/base-bin.sh REV}
commit=$(git rev-parse --verify --quiet "$rev^{commit}") || { echo "base-bin.sh: '$rev' is not a commit of this repository" >&2; exit 1; }
out=$PWD/bench/out/base/$commit
if [ ! -x "$out/realm-metrics" ]; then
  tree=$(mktemp -d "${TMPDIR:-/tmp}/realm-metrics-base.XXXXXX")
  # SwiftPM leaves lock files named after the build directory in /tmp: those of this tree go with it.
  trap 'git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"; git worktree prune; rm -f /tmp/"${tree//\//_}"_.build*.lock' EXIT
  git worktree add --detach --quiet "$tree" "$commit"
  mkdir -p "$tree/.build"
  for f in .build/checkouts .build/repositories .build/workspace-state.json; do
    if [ -e "$f" ]; then cp -a "$f" "$tree/.build/"; fi
  done
  if [ -f Package.resolved ]; then cp Package.resolved "$tree/"; fi
  echo "base-bin.sh: building $rev ($commit) in $tree" >&2
  (cd "$tree" && swift build -c release --product realm-metrics >&2)
  mkdir -p "$out"
  rm -rf "$out/patterns"
  cp -a "$tree/patterns" "$out/patterns"
  cp "$tree/.build/release/realm-metrics" "$out/realm-metrics.tmp"
  mv "$out/realm-metrics.tmp" "$out/realm-metrics"
fi
echo "$out/realm-metrics"
