#!/usr/bin/env bash
# bench/materialize_disk.sh — mboxfs materialize --offline against the disk limit
# (issue 12), in one run with alternating runs.
#
#   bench/materialize_disk.sh [SIZE_MB]    (default 200; MiB of generated mboxes)
#
# Generates a deterministic tree of old mail (bench/gen_mbox) in a temp dir under
# $BENCH_DIR (default /var/tmp: a real disk): ACCOUNTS accounts (default 4), each with an
# INBOX holding half of its share and FOLDERS folders (default 6) sharing the other half,
# SIZE_MB MiB in all; warms the page cache; then RUNS rounds (default 7), each timing in
# turn, with `sync` before each outside the timed part:
#   mat-jN   mboxfs materialize --offline --jobs N (for each N in JOBS, default "1 2")
#            with a fresh empty state dir into a fresh empty mail root, then one `sync`
#   before-jN  the same with the binary $BEFORE, when set (e.g. main's build): before
#            and after side by side in the same rounds
#   cp       the disk limit: `cp -r` of the mail root the last materialize of the round
#            wrote into a fresh directory, then one `sync`
# Every time includes its final `sync`. Prints the median and min of each, the ratio of
# the medians to cp, the median of the per-round ratios (a noisy machine moves both sides
# of a round together) and the ratio of the minimums (each side's least disturbed run).
# Checked untimed after every run: the number of files and sizes of the files of the
# tree equal those of the first run, no temporary file is left.
# Every run writes into a fresh output (FRESH_FS, fresh_dir in lib.sh: by default an
# ext4 file system made for the run, so that no run pays for inodes others just freed;
# FRESH_FS=dir: new directories, nothing deleted before the end, which needs about
# RUNS * (number of variants) * SIZE_MB of disk).
#
# Binaries: $MBOXFS, $GEN_MBOX when set, else built in $BUILD_DIR (default <source>/build).
# Environment: BENCH_DIR, BUILD_DIR, RUNS, SEED, ACCOUNTS, FOLDERS, JOBS, BEFORE, KEEP=1.
set -euo pipefail

SIZE_MB=${1:-200}
RUNS=${RUNS:-7}
SEED=${SEED:-1}
ACCOUNTS=${ACCOUNTS:-4}
FOLDERS=${FOLDERS:-6}
JOBS=${JOBS:-1 2}
BEFORE=${BEFORE:-}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "usage: bench/materialize_disk.sh [SIZE_MB]"
[[ -z $BEFORE || -x $BEFORE ]] || die "BEFORE=$BEFORE is not an executable"

bench_binaries
bench_workdir mboxfs-matdisk /var/tmp
cleanup() {
	fresh_off
	if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT
mkdir -p "$W/src"

echo "== materialize --offline vs cp -r + sync: ${SIZE_MB} MiB, $ACCOUNTS accounts of 1+$FOLDERS folders, seed $SEED, $RUNS rounds"
machine_facts
echo "   outputs: $FRESH_FS (fresh: each run's state and mail root, and cp's copy, on an ext4 file system made for that run)"
# ---- the tree of old mail ----------------------------------------------------------------
# per account: INBOX half of its share, the folders the other half (at least 1 MiB each)
share=$((SIZE_MB / ACCOUNTS))
inbox_mb=$((share / 2 > 0 ? share / 2 : 1))
folder_mb=$(((share - inbox_mb) / FOLDERS > 0 ? (share - inbox_mb) / FOLDERS : 1))
TOTAL_BYTES=0 TOTAL_MSGS=0 seed=$SEED
: >"$W/map"
for ((a = 1; a <= ACCOUNTS; a++)); do
	home=$W/src/home$a
	mkdir -p "$home"
	files=("$W/src/inbox$a:$inbox_mb")
	for ((f = 1; f <= FOLDERS; f++)); do files+=("$home/folder$f:$folder_mb"); done
	for spec in "${files[@]}"; do
		read -r b m < <("$GEN_MBOX" --size "${spec##*:}" --seed "$seed" -o "${spec%:*}")
		TOTAL_BYTES=$((TOTAL_BYTES + b)) TOTAL_MSGS=$((TOTAL_MSGS + m)) seed=$((seed + 1))
	done
	echo "user$a/Maildir inbox=$W/src/inbox$a home=$home" >>"$W/map"
done
cat "$W"/src/inbox* "$W"/src/home*/* >/dev/null # warm the page cache
echo "   generated $TOTAL_BYTES bytes, $TOTAL_MSGS messages in $((ACCOUNTS * (1 + FOLDERS))) mboxes"

# ---- runs ----------------------------------------------------------------------------------
now() { date +%s.%N; }
declare -A T # T[variant] = space-separated wall times
REF_FILES= REF_BYTES=
REF_LIST=
check_tree() { # DIR LABEL: the same file names and sizes as the first run, no temporary file
	local list n b tmp
	list=$(cd "$1" && find . -type f -printf '%p %s\n' | LC_ALL=C sort)
	n=$(echo "$list" | wc -l)
	b=$(echo "$list" | awk '{s += $NF} END {print s}')
	tmp=$(echo "$list" | grep -c '/\.mboxfs-' || true)
	((tmp == 0)) || die "$2 left $tmp temporary files in $1"
	if [[ -z $REF_LIST ]]; then REF_LIST=$list REF_FILES=$n REF_BYTES=$b; fi
	[[ $list == "$REF_LIST" ]] ||
		die "$2 wrote $n files, $b bytes, not the names and sizes of the first run ($REF_FILES files, $REF_BYTES bytes)"
}
OUT= # the mail root the last materialize wrote: what cp copies
mat_run() { # VARIANT BINARY JOBS
	local a b
	fresh_off copy
	fresh_dir out "$((3 * SIZE_MB + 256))M"
	OUT=$DIR/root
	mkdir "$DIR/state" "$OUT"
	sync
	a=$(now)
	"$2" materialize --offline --jobs "$3" --map "$W/map" --state "$DIR/state" --quiet "$OUT" \
		>"$W/last.log" 2>&1 || { cat "$W/last.log" >&2; die "$1 failed"; }
	sync
	b=$(now)
	T[$1]+="$(calc "$b - $a") "
	check_tree "$OUT" "$1"
}
cp_run() {
	local a b
	fresh_dir copy "$((3 * SIZE_MB + 256))M"
	sync
	a=$(now)
	cp -r "$OUT" "$DIR/root"
	sync
	b=$(now)
	T[cp]+="$(calc "$b - $a") "
	check_tree "$DIR/root" "cp -r"
}

VARIANTS=()
for j in $JOBS; do
	[[ -n $BEFORE ]] && VARIANTS+=("before-j$j")
	VARIANTS+=("mat-j$j")
done
for ((r = 1; r <= RUNS; r++)); do
	for v in "${VARIANTS[@]}"; do
		bin=$MBOXFS
		[[ $v == before-* ]] && bin=$BEFORE
		mat_run "$v" "$bin" "${v##*-j}"
	done
	cp_run
	printf '   round %d:' "$r"
	for v in "${VARIANTS[@]}" cp; do printf ' %s %.3f' "$v" "$(echo "${T[$v]}" | awk '{print $NF}')"; done
	echo
done

# ---- report --------------------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
minimum() { tr ' ' '\n' | grep . | sort -g | head -n1; }
round_ratios() { # VARIANT: its time / cp's, round by round
	paste <(echo "${T[$1]}" | tr ' ' '\n' | grep .) <(echo "${T[cp]}" | tr ' ' '\n' | grep .) |
		awk '{printf "%.9g ", $1 / $2}'
}
echo
echo "== results: $TOTAL_BYTES bytes, $TOTAL_MSGS messages; $REF_FILES files in the tree; $RUNS rounds"
printf '%-44s %9s %9s %8s %8s %14s %9s\n' "" "median s" "min s" "MB/s" "/ cp" "round ratios" "min / min"
CP_MEDIAN=$(echo "${T[cp]}" | median)
CP_MIN=$(echo "${T[cp]}" | minimum)
for v in "${VARIANTS[@]}" cp; do
	med=$(echo "${T[$v]}" | median)
	label="materialize --offline --jobs ${v##*-j}"
	[[ $v == before-* ]] && label="$label (BEFORE)"
	[[ $v == cp ]] && label="cp -r of its tree (disk limit)"
	rr=-
	[[ $v != cp ]] && rr="$(ratio "$(round_ratios "$v" | median)" 1) median"
	min=$(echo "${T[$v]}" | minimum)
	printf '%-44s %9.3f %9.3f %8.0f %8s %14s %9s\n' "$label + sync" "$med" "$min" \
		"$(calc "$TOTAL_BYTES / $med / 1000000")" "$(ratio "$med" "$CP_MEDIAN")" "$rr" \
		"$(ratio "$min" "$CP_MIN")"
done
echo
for v in "${VARIANTS[@]}" cp; do echo "times $v: ${T[$v]}"; done
