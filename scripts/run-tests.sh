#!/usr/bin/env bash
# Sets up and runs every test: installs the packages, builds mboxfs three times
# (an optimised build, one with AddressSanitizer + UndefinedBehaviorSanitizer,
# one with ThreadSanitizer), runs the whole test suite on the first two and the
# tests where the daemon's threads meet on the third. This is the command
# README.md gives and the one CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

[ -d build ] || meson setup build
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
[ -d build-tsan ] || meson setup build-tsan -Db_sanitize=thread -Db_lundef=false
ninja -C build
ninja -C build-asan
ninja -C build-tsan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
meson test -C build --print-errorlogs || status=1
meson test -C build-asan --print-errorlogs || status=1
# Not the whole suite under TSan: it defers signals until its next intercepted
# call, which the SIGTERM tests (daemon, hostile) time out on.
TSAN_OPTIONS=halt_on_error=1 meson test -C build-tsan --print-errorlogs \
	index_commit store forget load crash-concurrency courier-write materialize \
	listing-names prefetch || status=1
exit $status
