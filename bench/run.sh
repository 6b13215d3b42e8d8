#!/usr/bin/env bash
# bench/run.sh — indexing throughput of mboxfs against its peers, in one run.
#
#   bench/run.sh [SIZE_MB]        (default 1024; MiB of generated mbox)
#
# Generates a deterministic realistic UW mbox (bench/gen_mbox) in a temp dir under
# $BENCH_DIR (default /tmp), warms the page cache, then times, RUNS times each (default
# 3; the median is reported):
#   (a)  mboxfs index, fresh empty state dir every run (full parse + index write)
#   (a2) mboxfs index again on the same state dir (index reuse)
#   (b)  c-client opening the mbox read-only (bench/cclient_open), as uw-imapd's EXAMINE
#   (c)  mb2md converting the mbox into a fresh maildir
# and prints a table (median and min wall time, mean CPU time, MB/s with MB = 10^6
# bytes, messages/s), the peer/mboxfs ratios, peak RSS of each tool
# and mboxfs's resident bytes per message. If mb2md would need more than
# MB2MD_MAX_S seconds (default 300) per run on the whole file, it runs on a 128 MiB
# prefix instead and its time is scaled (said in the output).
#
# Binaries: $MBOXFS, $GEN_MBOX, $CCLIENT_OPEN when set (meson's benchmark target sets
# them); otherwise they are built in $BUILD_DIR (default <source>/build, set up with
# meson if missing). Uses hyperfine when installed, else date +%s.%N.
# Environment: BENCH_DIR, BUILD_DIR, RUNS, SEED, KEEP=1 (keep the temp dir),
# MB2MD_MAX_S, PREFIX_MB (default 128).
set -euo pipefail

SIZE_MB=${1:-1024}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
MB2MD_MAX_S=${MB2MD_MAX_S:-300}
PREFIX_MB=${PREFIX_MB:-128}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "usage: bench/run.sh [SIZE_MB]"

# ---- binaries ------------------------------------------------------------------------
bench_binaries cclient
MB2MD=$(command -v mb2md || true)
GNU_TIME=/usr/bin/time
[[ -x $GNU_TIME ]] || GNU_TIME=

# ---- work dir ------------------------------------------------------------------------
bench_workdir mboxfs-bench /tmp
cleanup() { if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$W"; else echo "kept $W"; fi; }
trap cleanup EXIT
mkdir -p "$W/mail" "$W/home"
MBOX=$W/mail/bench.mbox

echo "== mboxfs indexing benchmark: ${SIZE_MB} MiB, seed $SEED, $RUNS runs each (median)"
machine_facts
generate "$MBOX" --size "$SIZE_MB" --seed "$SEED"
cat "$MBOX" >/dev/null # warm the page cache

echo "u/Maildir inbox=$MBOX" >"$W/map"

# ---- timing --------------------------------------------------------------------------
# peak_rss COMMAND...: peak RSS in KiB (GNU time), or "n/a"
peak_rss() {
	if [[ -z $GNU_TIME ]]; then echo n/a; return; fi
	"$GNU_TIME" -f '%M' -o "$W/rss" "$@" >/dev/null 2>&1 || { echo n/a; return; }
	tail -n1 "$W/rss"
}

fresh_state="rm -rf '$W/state' && mkdir '$W/state'"
index_cmd="'$MBOXFS' index --jobs 1 --map '$W/map' --state '$W/state'"

# sanity: every tool must see the same messages
eval "$fresh_state"
out=$(eval "$index_cmd")
[[ $out == *"$MSGS messages"*"index parsed"* ]] || die "mboxfs index: unexpected: $out"
out=$(eval "$index_cmd")
[[ $out == *"index reused"* ]] || die "mboxfs index (second run) did not reuse the index: $out"

echo "-- (a)  mboxfs index, fresh state"
measure mboxfs 1 "$fresh_state" "$index_cmd"
echo "-- (a2) mboxfs index, index reused"
measure mboxfs_reuse 1 true "$index_cmd"

if [[ -n $CCLIENT_OPEN ]]; then
	n=$("$CCLIENT_OPEN" "$MBOX" | awk '{print $1}')
	[[ $n == "$MSGS" ]] || die "cclient_open counts $n messages, mboxfs $MSGS"
	echo "-- (b)  c-client read-only open"
	measure cclient 1 true "'$CCLIENT_OPEN' '$MBOX'"
else
	echo "-- (b)  c-client: cclient_open not built (no libc-client), skipped"
fi

MB2MD_SCALE=1 MB2MD_NOTE=
if [[ -n $MB2MD ]]; then
	mb2md_src=$MBOX mb2md_msgs=$MSGS
	md_prep="rm -rf '$W/md'"
	mb2md_cmd() { echo "HOME='$W/home' '$MB2MD' -s '$1' -d '$W/md'"; }
	count_md() { find "$W/md/cur" "$W/md/new" -type f | wc -l; }
	if ((SIZE_MB > PREFIX_MB)); then
		# probe on a prefix: is a whole-file run affordable?
		read -r pbytes pmsgs < <("$GEN_MBOX" --size "$PREFIX_MB" --seed "$SEED" -o "$W/mail/prefix.mbox")
		cat "$W/mail/prefix.mbox" >/dev/null
		eval "$md_prep"
		a=$(date +%s.%N); eval "$(mb2md_cmd "$W/mail/prefix.mbox")" >/dev/null; b=$(date +%s.%N)
		est=$(calc "($b - $a) * $BYTES / $pbytes")
		printf '   mb2md probe: %s MiB in %.1f s, whole file estimated %.0f s\n' \
			"$PREFIX_MB" "$(calc "$b - $a")" "$est"
		if is_true "$est > $MB2MD_MAX_S"; then
			mb2md_src=$W/mail/prefix.mbox mb2md_msgs=$pmsgs
			MB2MD_SCALE=$(calc "$BYTES / $pbytes")
			MB2MD_NOTE="mb2md ran on a ${PREFIX_MB} MiB prefix ($pbytes bytes, $pmsgs messages); its time is scaled by $(printf %.2f "$MB2MD_SCALE") to the whole file"
		fi
	fi
	eval "$md_prep"
	eval "$(mb2md_cmd "$mb2md_src")" >/dev/null
	n=$(count_md)
	[[ $n == "$mb2md_msgs" ]] || echo "   warning: mb2md wrote $n messages, expected $mb2md_msgs"
	echo "-- (c)  mb2md conversion, fresh maildir"
	measure mb2md 0 "$md_prep" "$(mb2md_cmd "$mb2md_src")"
	scale mb2md "$MB2MD_SCALE"
else
	echo "-- (c)  mb2md not installed, skipped"
fi

# ---- memory --------------------------------------------------------------------------
echo "-- peak RSS"
eval "$fresh_state"
RSS_MBOXFS=$(peak_rss "$MBOXFS" index --jobs 1 --map "$W/map" --state "$W/state")
# the anonymous (heap) part: poll /proc while a fresh index runs
eval "$fresh_state"
"$MBOXFS" index --jobs 1 --map "$W/map" --state "$W/state" >/dev/null &
pid=$!
ANON_MAX=0 FILE_MAX=0
while kill -0 "$pid" 2>/dev/null; do
	{ while read -r k v _; do
		case $k in
		RssAnon:) ((v > ANON_MAX)) && ANON_MAX=$v ;;
		RssFile:) ((v > FILE_MAX)) && FILE_MAX=$v ;;
		esac
	done <"/proc/$pid/status"; } 2>/dev/null || true
	sleep 0.001
done
wait "$pid"
RSS_CCLIENT=n/a RSS_MB2MD=n/a
[[ -n $CCLIENT_OPEN ]] && RSS_CCLIENT=$(peak_rss "$CCLIENT_OPEN" "$MBOX")
if [[ -n $MB2MD ]]; then
	eval "$md_prep"
	RSS_MB2MD=$(HOME=$W/home peak_rss "$MB2MD" -s "$mb2md_src" -d "$W/md")
fi

# ---- report --------------------------------------------------------------------------
mbps() { calc "$BYTES / $1 / 1000000"; }
msgps() { calc "$MSGS / $1"; }
kib() { [[ $1 == n/a ]] && echo n/a || printf '%.0f MiB' "$(calc "$1 / 1024")"; }
row() { # label key rss
	local s=${MEDIAN[$2]:-}
	[[ -n $s ]] || return 0
	local ratio cpu=-
	ratio=$(calc "$s / ${MEDIAN[mboxfs]}")
	[[ -n ${CPU[$2]:-} ]] && cpu=$(printf '%.3f' "${CPU[$2]}")
	if is_true "$ratio < 1"; then ratio=$(printf '%.3fx' "$ratio"); else ratio=$(printf '%.1fx' "$ratio"); fi
	printf '%-30s %9.3f %9.3f %9s %8.0f %11.0f %9s %10s\n' "$1" "$s" "${MIN[$2]}" "$cpu" \
		"$(mbps "$s")" "$(msgps "$s")" "$ratio" "$3"
}
echo
echo "== results: $BYTES bytes, $MSGS messages; $RUNS runs each: median and min wall time, mean"
echo "   CPU time (user+sys); MB/s and messages/s from the median; MB = 10^6 bytes"
printf '%-30s %9s %9s %9s %8s %11s %9s %10s\n' tool "median s" "min s" "cpu s" "MB/s" \
	"messages/s" "/ mboxfs" "peak RSS"
row "mboxfs index (fresh state)" mboxfs "$(kib "$RSS_MBOXFS")"
row "mboxfs index (index reused)" mboxfs_reuse ""
row "c-client open (read-only)" cclient "$(kib "$RSS_CCLIENT")"
row "mb2md${MB2MD_NOTE:+ (scaled)}" mb2md "$(kib "$RSS_MB2MD")"
echo
[[ -n ${MEDIAN[cclient]:-} ]] &&
	printf 'c-client / mboxfs = %.1fx\n' "$(calc "${MEDIAN[cclient]} / ${MEDIAN[mboxfs]}")"
[[ -n ${MEDIAN[mb2md]:-} ]] &&
	printf 'mb2md / mboxfs = %.1fx\n' "$(calc "${MEDIAN[mb2md]} / ${MEDIAN[mboxfs]}")"
[[ -n $MB2MD_NOTE ]] && echo "note: $MB2MD_NOTE"
if [[ $RSS_MBOXFS != n/a ]]; then
	# mboxfs maps the whole mbox (MAP_POPULATE): its pages are page cache, counted in RSS
	printf 'mboxfs peak RSS %s KiB = %.0f bytes/message; without the mapped mbox (%s KiB): %.0f KiB = %.0f bytes/message\n' \
		"$RSS_MBOXFS" "$(calc "$RSS_MBOXFS * 1024 / $MSGS")" "$(calc "int($BYTES / 1024)")" \
		"$(calc "$RSS_MBOXFS - $BYTES / 1024")" "$(calc "($RSS_MBOXFS * 1024 - $BYTES) / $MSGS")"
	if ((FILE_MAX > 0)); then
		printf '   sampled from /proc: peak RssFile %s KiB, peak RssAnon (heap) %s KiB = %.0f bytes/message\n' \
			"$FILE_MAX" "$ANON_MAX" "$(calc "$ANON_MAX * 1024 / $MSGS")"
	fi
fi
mb=$(mbps "${MEDIAN[mboxfs]}")
verdict() { if is_true "$1"; then echo met; else echo MISSED; fi; }
printf 'target >= 1000 MB/s on one core: %.0f MB/s (median wall time), %s\n' "$mb" "$(verdict "$mb >= 1000")"
[[ -n ${CPU[mboxfs]:-} ]] &&
	printf '   by CPU time (user+sys): %.0f MB/s\n' "$(mbps "${CPU[mboxfs]}")"
if [[ -n ${MEDIAN[mb2md]:-} ]]; then
	r=$(calc "${MEDIAN[mb2md]} / ${MEDIAN[mboxfs]}")
	printf 'target >= 10x mb2md: %.1fx, %s\n' "$r" "$(verdict "$r >= 10")"
fi
