#!/usr/bin/env bash
# Fuzzes with libFuzzer + ASan + UBSan: each TARGET (default all: parse index
# account-map folder-name) for SECONDS (default 300), one after the other.
# Seeds: the bundled example and ../shared/corpora (parse), index files of the
# same mboxes (index), tests/fuzz/seeds (account-map, folder-name). The corpus
# grows in build-fuzz/corpus/TARGET across runs; crashes land in
# build-fuzz/crashes/TARGET. Exits non-zero if any target found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
targets=${*:-parse index account-map folder-name}
[ -n "${MBOXFS_NO_DEPS:-}" ] || scripts/install-deps.sh
[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true \
	-Db_sanitize=address,undefined -Db_lundef=false
bins=""
for t in $targets; do bins="$bins tests/fuzz/fuzz-$t"; done
# shellcheck disable=SC2086
ninja -C build-fuzz $bins tests/fuzz/fuzz-index-replay
status=0
for t in $targets; do
	corpus=build-fuzz/corpus/$t crashes=build-fuzz/crashes/$t
	mkdir -p "$corpus" "$crashes"
	case $t in
	parse) find examples ../shared/corpora -type f -size -64k ! -name '*.json' \
		! -name '*.txt' ! -name '*.md' -exec cp {} "$corpus/" \; 2>/dev/null || true ;;
	index) build-fuzz/tests/fuzz/fuzz-index-replay -o "$corpus" examples \
		../shared/corpora >/dev/null ;;
	*) cp tests/fuzz/seeds/"${t//-/_}"/* "$corpus/" ;;
	esac
	echo "== fuzz-$t for ${seconds}s"
	build-fuzz/tests/fuzz/fuzz-"$t" -max_total_time="$seconds" -max_len=65536 \
		-artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" || status=1
done
exit $status
