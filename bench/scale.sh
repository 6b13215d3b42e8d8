#!/usr/bin/env bash
# bench/scale.sh — `mboxfs index` at the scale of a mail server (issue 12), in one run.
#
#   bench/scale.sh [--quick]
#
# Generates, deterministically, a tree of ACCOUNTS accounts (default 640) with four
# mailboxes each: spool/uNNNN (INBOX) and home/uNNNN/mail/{sent-mail,saved-messages,
# old/2010}, MESSAGES messages in all (default 281000, about 240 MB: bench/gen_mbox
# --slim, short notes of about 850 bytes) spread over the mailboxes with a heavy tail
# (an INBOX gets three times a folder's share; the biggest mailbox holds some 10k
# messages), and the account map from "domain user spool home" lines through
# `mboxfs map --lines`. Then, RUNS times (default 5) in turn (A B C A B C ...), with
# the sources in the page cache:
#   (A) mboxfs index --jobs 1, fresh empty state dir every run
#   (B) mboxfs index --jobs 2, fresh empty state dir every run
#   (C) cat of every mbox to /dev/null (the cost of just reading the bytes)
# and prints medians of wall, user and system time, MB/s (MB = 10^6 bytes), the
# ratios to cat and the --jobs 2 / --jobs 1 speed-up. Then the cold row: one
# COLD_MB MiB mbox (default 191 MiB = 200 MB, gen_mbox's default realistic mail),
# RUNS times in turn: drop the page caches (echo 3 > /proc/sys/vm/drop_caches, needs
# root, else the row is skipped), mboxfs index --jobs 1 with a fresh state dir; drop
# the caches, cat; the ratio index / cat of each pair, and their median.
#
# --quick: 64 accounts, 28100 messages, a 32 MiB cold mbox, RUNS=3 unless set (meson's
# benchmark target; a check of the harness, not a figure).
# Binaries: $MBOXFS and $GEN_MBOX, else built in $BUILD_DIR (see lib.sh). Environment:
# BENCH_DIR (default /var/tmp), BUILD_DIR, RUNS, ACCOUNTS, MESSAGES, COLD_MB,
# BASELINE=<another mboxfs binary> (also timed, in turn with this one, rows base-*:
# the before/after of a change in one run), FRESH_FS=fresh|dir (lib.sh), KEEP=1
# (keep the work dir), COLD=0 (skip the cold row), STRACE=1 / PERF=1 (after the
# timed runs, one more --jobs 1 run under strace -c -f / perf record, of the baseline
# too when set; summaries kept in the work dir and printed).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
parse_quick "$@"
if ((QUICK)); then
	RUNS=${RUNS:-3} ACCOUNTS=${ACCOUNTS:-64} MESSAGES=${MESSAGES:-28100} COLD_MB=${COLD_MB:-32}
fi
RUNS=${RUNS:-5}
ACCOUNTS=${ACCOUNTS:-640}
MESSAGES=${MESSAGES:-281000}
COLD_MB=${COLD_MB:-191}
bench_binaries

bench_workdir mboxfs-scale /var/tmp
cleanup() {
	fresh_off
	if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT
echo "== mboxfs index at scale: $ACCOUNTS accounts x 4 mailboxes, $MESSAGES messages; $RUNS runs each, in turn"
machine_facts

# ---- the tree ------------------------------------------------------------------------
# Per-mailbox weights from a Park-Miller generator (exact in awk's doubles, so every
# awk gives the same numbers): u^-0.8 with u in [0.001, 1), times 3 for an INBOX; the
# messages are shared out in proportion, at least one each, the rest to mailbox 0.
FOLDERS=(sent-mail saved-messages old/2010)
t0=$(date +%s.%N)
awk -v n="$ACCOUNTS" -v total="$MESSAGES" 'BEGIN {
	x = 20261129
	for (i = 0; i < n * 4; i++) {
		x = (16807 * x) % 2147483647
		u = x / 2147483647
		if (u < 0.001) u = 0.001
		w[i] = exp(-0.8 * log(u)) * (i % 4 == 0 ? 3 : 1)
		sum += w[i]
	}
	left = total
	for (i = 0; i < n * 4; i++) {
		c[i] = int(w[i] * total / sum)
		if (c[i] < 1) c[i] = 1
		left -= c[i]
	}
	c[0] += left
	for (i = 0; i < n * 4; i++) print int(i / 4), i % 4, c[i]
}' >"$W/counts"
mkdir -p "$W/spool"
: >"$W/lines"
MBOXES=()
while read -r acct box count; do
	user=$(printf 'u%04d' "$acct")
	if ((box == 0)); then
		f=$W/spool/$user
		echo "example.com $user $f $W/home/$user" >>"$W/lines"
	else
		f=$W/home/$user/mail/${FOLDERS[box - 1]}
		mkdir -p "$(dirname "$f")"
	fi
	"$GEN_MBOX" --slim --attach 0 --messages "$count" --seed $((acct * 4 + box + 1)) -o "$f" >/dev/null
	MBOXES+=("$f")
done <"$W/counts"
"$MBOXFS" map --lines "$W/lines" --folders mail --maildir %u/Maildir >"$W/map" 2>"$W/map.err" ||
	{ cat "$W/map.err" >&2; die "mboxfs map failed"; }
BYTES=$(cat "${MBOXES[@]}" | wc -c)
t1=$(date +%s.%N)
biggest=$(awk '$3 > m {m = $3} END {print m}' "$W/counts")
printf '   generated %s mailboxes, %s bytes, %s messages (biggest mailbox %s) in %.1f s\n' \
	"${#MBOXES[@]}" "$BYTES" "$MESSAGES" "$biggest" "$(calc "$t1 - $t0")"

cat "${MBOXES[@]}" >/dev/null # warm

# ---- timing --------------------------------------------------------------------------
# timed NAME COMMAND...: one run; appends "wall user sys" to $W/NAME.times
timed() {
	local name=$1
	shift
	local TIMEFORMAT='%3R %3U %3S'
	{ time "$@" >/dev/null 2>&1; } 2>>"$W/$name.times" || die "$name failed"
}
# A fresh state dir for every run (FRESH_FS, fresh_dir in lib.sh), none removed
# before the end: a first index does not pay for inodes other runs just freed.
echo "   state dirs: $FRESH_FS (fresh: an ext4 file system made for each run; dir: directories of the work dir)"
index_fresh() { # NAME BINARY JOBS
	fresh_dir state 512M
	sync
	timed "$1" "$2" index --jobs "$3" --map "$W/map" --state "$DIR"
}
cat_all() { timed cat cat "${MBOXES[@]}"; }
# median COLUMN NAME: the median of a column (1 wall, 2 user, 3 sys) of NAME's runs
median() { awk -v c="$1" '{print $c}' "$W/$2.times" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

# sanity: mboxfs sees every message
fresh_dir state 512M
out=$("$MBOXFS" index --jobs 2 --map "$W/map" --state "$DIR")
seen=$(awk '/ messages, / {n += $3} END {print n}' <<<"$out")
[[ $seen == "$MESSAGES" ]] || die "mboxfs index found $seen messages, expected $MESSAGES"
NAMES=(index-j1 index-j2 cat)
if [[ -n ${BASELINE:-} ]]; then
	NAMES=(base-j1 index-j1 base-j2 index-j2 cat)
fi
for ((r = 1; r <= RUNS; r++)); do
	[[ -n ${BASELINE:-} ]] && index_fresh base-j1 "$BASELINE" 1
	index_fresh index-j1 "$MBOXFS" 1
	[[ -n ${BASELINE:-} ]] && index_fresh base-j2 "$BASELINE" 2
	index_fresh index-j2 "$MBOXFS" 2
	cat_all
done

echo
echo "== warm: $BYTES bytes in ${#MBOXES[@]} mailboxes, $MESSAGES messages; median of $RUNS runs; MB = 10^6 bytes"
# MB/s of CPU: bytes per second of user + system time (median of the sums), what the
# tool would do alone on its processors; this machine is shared and wall time shows it
printf '%-28s %8s %8s %8s %9s %8s %10s\n' "" "wall s" "user s" "sys s" "MB/s" "/ cat" "MB/s of CPU"
for name in "${NAMES[@]}"; do
	wall=$(median 1 "$name")
	cpu=$(awk '{print $2 + $3}' "$W/$name.times" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
	printf '%-28s %8.3f %8.3f %8.3f %9.0f %8s %10.0f\n' "$name" "$wall" "$(median 2 "$name")" \
		"$(median 3 "$name")" "$(calc "$BYTES / $wall / 1000000")" "$(ratio "$wall" "$(median 1 cat)")" \
		"$(calc "$BYTES / ($cpu > 0 ? $cpu : 0.001) / 1000000")"
done
j1=$(median 1 index-j1) j2=$(median 1 index-j2)
printf 'index --jobs 2 speed-up over --jobs 1: %.2fx (target >= 1.8x)\n' "$(calc "$j1 / $j2")"
printf 'index --jobs 1: %.0f MB/s, --jobs 2: %.0f MB/s (target >= 1000 MB/s)\n' \
	"$(calc "$BYTES / $j1 / 1000000")" "$(calc "$BYTES / $j2 / 1000000")"
if [[ -n ${BASELINE:-} ]]; then
	b1=$(median 1 base-j1) b2=$(median 1 base-j2)
	printf 'baseline --jobs 2 speed-up over --jobs 1: %.2fx\n' "$(calc "$b1 / $b2")"
	printf 'this / baseline wall time: --jobs 1 %s, --jobs 2 %s\n' "$(ratio "$j1" "$b1")" "$(ratio "$j2" "$b2")"
fi

# ---- profiles (optional) -------------------------------------------------------------
# in fresh state dirs as the timed runs, before anything is deleted (see index_fresh)
profile() { # LABEL BINARY
	local label=$1 bin=$2
	if [[ ${STRACE:-0} == 1 ]]; then
		fresh_dir state 512M
		strace -c -f -o "$W/strace-$label.txt" "$bin" index --jobs 1 --map "$W/map" \
			--state "$DIR" >/dev/null
		echo
		echo "== strace -c -f of one index --jobs 1 ($label, fresh state)"
		head -n 25 "$W/strace-$label.txt" || true
	fi
	if [[ ${PERF:-0} == 1 ]]; then
		fresh_dir state 512M
		perf record -q -o "$W/perf-$label.data" "$bin" index --jobs 1 --map "$W/map" \
			--state "$DIR" >/dev/null 2>&1
		echo
		echo "== perf report (no children) of one index --jobs 1 ($label, fresh state)"
		perf report -i "$W/perf-$label.data" --no-children --stdio 2>/dev/null >"$W/perf-$label.txt" || true
		grep -E '^ +[0-9]' "$W/perf-$label.txt" | head -n 25 || true
	fi
}
[[ -n ${BASELINE:-} ]] && profile baseline "$BASELINE"
profile this "$MBOXFS"
fresh_off
rm -rf "$W"/state.*

# ---- cold: one big mbox --------------------------------------------------------------
if [[ ${COLD:-1} == 0 ]]; then
	exit 0
fi
if ! { [[ -w /proc/sys/vm/drop_caches ]] && sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
	echo "cold row skipped: cannot drop the page caches (needs root)"
	exit 0
fi
mkdir -p "$W/cold"
generate "$W/cold/big.mbox" --size "$COLD_MB" --seed 1
echo "u/Maildir inbox=$W/cold/big.mbox" >"$W/cold/map"
drop() { sync && echo 3 >/proc/sys/vm/drop_caches; }
cold_index() { # NAME BINARY
	rm -rf "$W/cold/state" && mkdir "$W/cold/state"
	drop
	timed "$1" "$2" index --jobs 1 --map "$W/cold/map" --state "$W/cold/state"
}
COLD_NAMES=(cold-index cold-cat)
[[ -n ${BASELINE:-} ]] && COLD_NAMES=(cold-base cold-index cold-cat)
for ((r = 1; r <= RUNS; r++)); do
	[[ -n ${BASELINE:-} ]] && cold_index cold-base "$BASELINE"
	cold_index cold-index "$MBOXFS"
	drop
	timed cold-cat cat "$W/cold/big.mbox"
done
paste -d' ' "$W/cold-index.times" "$W/cold-cat.times" | awk '{print $1 / $4}' >"$W/cold-ratio.times"
echo
echo "== cold: one mbox of $BYTES bytes, $MSGS messages, page caches dropped before every run; median of $RUNS"
printf '%-28s %8s %8s %8s %9s\n' "" "wall s" "user s" "sys s" "MB/s"
for name in "${COLD_NAMES[@]}"; do
	wall=$(median 1 "$name")
	printf '%-28s %8.3f %8.3f %8.3f %9.0f\n' "$name" "$wall" "$(median 2 "$name")" \
		"$(median 3 "$name")" "$(calc "$BYTES / $wall / 1000000")"
done
printf 'cold index / cat (median of the pairs): %.2fx, pairs: %s (target <= 3x)\n' \
	"$(median 1 cold-ratio)" "$(awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1}' "$W/cold-ratio.times")"
if [[ -n ${BASELINE:-} ]]; then
	paste -d' ' "$W/cold-base.times" "$W/cold-cat.times" | awk '{print $1 / $4}' >"$W/cold-base-ratio.times"
	printf 'baseline cold index / cat: %.2fx, pairs: %s\n' "$(median 1 cold-base-ratio)" \
		"$(awk '{printf "%s%.2f", (NR > 1 ? " " : ""), $1}' "$W/cold-base-ratio.times")"
fi
