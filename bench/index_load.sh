#!/usr/bin/env bash
# bench/index_load.sh — loading index files that match their mboxes, what a mount does
# at each folder's first use (read, checksum, decode and check every message record:
# index/store.c, index/record.h), this binary against BASELINE, in one run.
#
#   [BASELINE=<another mboxfs binary>] bench/index_load.sh [--quick]
#
# Generates (bench/gen_mbox --slim --attach 0, deterministic) MBOXES mboxes (default 40)
# of MESSAGES messages (default 5000): 200,000 messages, about 170 MB, in a temp dir
# under $BENCH_DIR (default /var/tmp), with an account map of one account per mbox;
# indexes them once into a state dir per binary (untimed); then RUNS times (default 11),
# alternating (this, baseline, this, ...): `mboxfs index` over that state dir, which
# finds every index matching and only loads it (nothing parsed or written: checked on
# the output). Prints the medians of wall, user and system seconds, messages loaded per
# second and the ratio this / baseline. The sources and index files stay in the page
# cache. PERF=1: then one more run of each under perf record (cpu-clock), its top
# symbols printed. --quick: 8 mboxes of 2000 messages, RUNS=5 unless set.
#
# Binaries: $MBOXFS and $GEN_MBOX, else built in $BUILD_DIR (see lib.sh). Environment:
# BENCH_DIR, BUILD_DIR, RUNS, SEED, MBOXES, MESSAGES, BASELINE, PERF, KEEP=1.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
parse_quick "$@"
if ((QUICK)); then MBOXES=${MBOXES:-8} MESSAGES=${MESSAGES:-2000} RUNS=${RUNS:-5}; fi
RUNS=${RUNS:-11}
SEED=${SEED:-1}
MBOXES=${MBOXES:-40}
MESSAGES=${MESSAGES:-5000}

bench_binaries
bench_workdir mboxfs-index-load /var/tmp
remove_workdir_on_exit

echo "== index load: every index matching its mbox, $MBOXES mboxes of $MESSAGES messages"
echo "   command: RUNS=$RUNS SEED=$SEED MBOXES=$MBOXES MESSAGES=$MESSAGES${BASELINE:+ BASELINE=$BASELINE} bench/index_load.sh $*"
echo "   this: $MBOXFS ($(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'))"
machine_facts
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg)"

MAP=$W/map
: >"$MAP"
total=0
for ((i = 1; i <= MBOXES; i++)); do
	read -r _ n < <("$GEN_MBOX" --messages "$MESSAGES" --slim --attach 0 --seed $((SEED * 1000 + i)) -o "$W/m$i")
	total=$((total + n))
	echo "u$i/Maildir inbox=$W/m$i" >>"$MAP"
done
echo "   generated: $total messages, $(du -cb "$W"/m* | awk 'END {print $1}') bytes of mbox"

setups=(this)
declare -A BIN=([this]=$MBOXFS)
if [[ -n ${BASELINE:-} ]]; then
	setups+=(baseline)
	BIN[baseline]=$BASELINE
fi
for s in "${setups[@]}"; do
	mkdir -p "$W/state-$s"
	"${BIN[$s]}" index --map "$MAP" --state "$W/state-$s" --source-tz UTC >/dev/null 2>&1 ||
		die "$s: mboxfs index failed"
done

# one load of every index; dies unless every mailbox reports its index reused
load() {
	local s=$1 out
	out=$("${BIN[$s]}" index --map "$MAP" --state "$W/state-$s" --source-tz UTC --json 2>/dev/null) ||
		die "$s: mboxfs index failed"
	[[ $(grep -o '"index": *"reused"' <<<"$out" | wc -l) == "$MBOXES" ]] ||
		die "$s: not every index was reused"
}

TIMEFORMAT='%R %U %S'
for ((r = 1; r <= RUNS; r++)); do
	for s in "${setups[@]}"; do
		{ time load "$s"; } 2>>"$W/$s.times"
	done
done

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
echo
echo "| setup | wall s | user s | sys s | messages/s |"
echo "|---|---|---|---|---|"
declare -A WALL
for s in "${setups[@]}"; do
	WALL[$s]=$(awk '{print $1}' "$W/$s.times" | median)
	user=$(awk '{print $2}' "$W/$s.times" | median)
	sys=$(awk '{print $3}' "$W/$s.times" | median)
	printf '| %s | %.3f | %.3f | %.3f | %.0f |\n' "$s" "${WALL[$s]}" "$user" "$sys" \
		"$(calc "$total / ${WALL[$s]}")"
done
if [[ -n ${BASELINE:-} ]]; then
	echo
	echo "this / baseline (median wall, $RUNS runs each, alternating): $(ratio "${WALL[this]}" "${WALL[baseline]}")"
fi

if [[ ${PERF:-0} == 1 ]]; then
	for s in "${setups[@]}"; do
		echo
		echo "-- perf record -e cpu-clock, one load ($s)"
		perf record -q -e cpu-clock -o "$W/$s.perf" -- "${BIN[$s]}" index --map "$MAP" \
			--state "$W/state-$s" --source-tz UTC >/dev/null 2>&1
		perf report -i "$W/$s.perf" --stdio --sort symbol 2>/dev/null |
			grep -v '^#' | grep -v '^$' | head -12
	done
fi
