#!/usr/bin/env bash
# Fuzzes the mbox parser with libFuzzer + ASan + UBSan for SECONDS (default 300),
# seeded with the bundled example and, when present, ../shared/corpora.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
scripts/install-deps.sh
[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true \
	-Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-fuzz tests/fuzz/fuzz-parse
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
find examples ../shared/corpora -type f -size -64k ! -name '*.json' ! -name '*.txt' \
	-exec cp {} "$seeds/" \; 2>/dev/null || true
build-fuzz/tests/fuzz/fuzz-parse -max_total_time="$seconds" -max_len=8192 "$seeds"
