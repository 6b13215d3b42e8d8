#!/usr/bin/env bash
# Sets up and runs every test: installs the packages, builds mboxfs twice (an
# optimised build, and one with AddressSanitizer + UndefinedBehaviorSanitizer),
# and runs the whole test suite on both. This is the command README.md gives and
# the one CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

[ -d build ] || meson setup build
[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build
ninja -C build-asan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
meson test -C build --print-errorlogs || status=1
meson test -C build-asan --print-errorlogs || status=1
exit $status
