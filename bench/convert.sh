#!/usr/bin/env bash
# bench/convert.sh — conversion throughput: mboxfs materialize --offline against mb2md,
# and mboxfs materialize on a mount, in one run.
#
#   bench/convert.sh [SIZE_MB]    (default 256; MiB of generated mbox)
#
# Generates a deterministic realistic UW mbox (bench/gen_mbox) in a temp dir under
# $BENCH_DIR (default /var/tmp: the outputs are real files on a real disk), warms the
# page cache, then times, RUNS times each (default 3; the median is reported):
#   (a) mboxfs materialize --offline --jobs 1 into a fresh empty mail root, with a fresh
#       empty state dir (indexing, writing every message, its syncs, control files)
#   (b) mb2md converting the mbox into a fresh maildir (no fsync at all)
#   (c) mboxfs materialize on a mount (the background cutover path): each run indexes
#       into a fresh state dir and mounts over a fresh empty upper dir (the mount point
#       itself) untimed, times only `mboxfs materialize`, then unmounts
# and prints a table (median and min wall time, mean CPU time, MB/s with MB = 10^6
# bytes, messages/s), the ratios mb2md / offline and on a mount / offline, and the size
# of what (a), (b) and (c) wrote. `sync` runs before every run, outside the timed part.
# The message count of each result is checked after its last run (untimed).
# Nothing is deleted before the end: the previous run's output is renamed aside, so that
# no run creates its files right after tens of thousands were freed (ext4 without a
# journal skips recently freed inodes one by one when it allocates one, which made
# creating files several times slower); this needs about 12 times SIZE_MB of disk.
# If mb2md would need more than MB2MD_MAX_S seconds (default 300) per run on the whole
# file, it runs on a PREFIX_MB (default 128) MiB prefix instead; if a run of (c) would
# need more than ONLINE_MAX_S seconds (default 120), it runs on an ONLINE_PREFIX_MB
# (default 32) MiB prefix. Prefix times are scaled to the whole file (said in the output).
# (c) is skipped without FUSE (/dev/fuse, fusermount3, and root or user_allow_other).
#
# Binaries: $MBOXFS, $GEN_MBOX when set (meson's benchmark target sets them); otherwise
# they are built in $BUILD_DIR (default <source>/build, set up with meson if missing).
# Uses hyperfine when installed, else date +%s.%N.
# Environment: BENCH_DIR, BUILD_DIR, RUNS, SEED, KEEP=1 (keep the temp dir),
# MB2MD_MAX_S, PREFIX_MB, ONLINE_MAX_S, ONLINE_PREFIX_MB.
set -euo pipefail

SIZE_MB=${1:-256}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
MB2MD_MAX_S=${MB2MD_MAX_S:-300}
PREFIX_MB=${PREFIX_MB:-128}
ONLINE_MAX_S=${ONLINE_MAX_S:-120}
ONLINE_PREFIX_MB=${ONLINE_PREFIX_MB:-32}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
[[ $SIZE_MB =~ ^[1-9][0-9]*$ ]] || die "usage: bench/convert.sh [SIZE_MB]"

# ---- binaries ------------------------------------------------------------------------
bench_binaries
MB2MD=$(command -v mb2md || true)
FUSERMOUNT=$(command -v fusermount3 || true)

# ---- work dir ------------------------------------------------------------------------
bench_workdir mboxfs-convert /var/tmp
cleanup() {
	# never rm -rf through a mount that is still up
	if [[ -f $W/online/mount.pid ]] && ! "$W/online.sh" down "$W/online"; then
		echo "convert.sh: could not unmount $W/online/mnt; $W left in place" >&2
		return
	fi
	if [[ ${KEEP:-0} != 1 ]]; then rm -rf "$W"; else echo "kept $W"; fi
}
trap cleanup EXIT
mkdir -p "$W/mail" "$W/home" "$W/old" "$W/online/old"
MBOX=$W/mail/bench.mbox

echo "== mboxfs conversion benchmark: ${SIZE_MB} MiB, seed $SEED, $RUNS runs each (median)"
machine_facts
generate "$MBOX" --size "$SIZE_MB" --seed "$SEED"
cat "$MBOX" >/dev/null # warm the page cache

echo "user/Maildir inbox=$MBOX" >"$W/map"

# ---- timing --------------------------------------------------------------------------
# aside PATH...: shell code that renames each PATH that exists into $W/old (frees no inode)
aside() {
	local p
	for p; do
		printf "if [ -e '%s' ]; then mv '%s' \"\$(mktemp -u '%s/old/XXXXXXXX')\"; fi; " "$p" "$p" "$W"
	done
}

count_files() { find "$@" -type f | wc -l; }
declare -A SIZE ALLOC OF # bytes (du -sb) and allocated bytes of an output; of what input
du_output() { # NAME DIR INPUT_NOTE
	SIZE[$1]=$(du -sb "$2" | awk '{print $1}')
	ALLOC[$1]=$(du -s --block-size=1 "$2" | awk '{print $1}')
	OF[$1]=$3
}

# ---- (a) mboxfs materialize --offline --------------------------------------------------
offline_prep="$(aside "$W/state" "$W/root")mkdir '$W/state' '$W/root' && sync"
offline_cmd="'$MBOXFS' materialize --offline --jobs 1 --map '$W/map' --state '$W/state' --quiet '$W/root'"
echo "-- (a) mboxfs materialize --offline, fresh state and mail root"
measure offline 1 "$offline_prep" "$offline_cmd"
n=$(count_files "$W/root/user/Maildir/cur")
[[ $n == "$MSGS" ]] || die "materialize --offline wrote $n messages, expected $MSGS"
du_output offline "$W/root" "the whole mbox"

# ---- (b) mb2md -------------------------------------------------------------------------
MB2MD_SCALE=1 MB2MD_NOTE=
if [[ -n $MB2MD ]]; then
	mb2md_src=$MBOX mb2md_msgs=$MSGS mb2md_of="the whole mbox"
	md_prep="$(aside "$W/md")sync"
	mb2md_cmd() { echo "HOME='$W/home' '$MB2MD' -s '$1' -d '$W/md'"; }
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
			mb2md_of="the ${PREFIX_MB} MiB prefix, $pbytes bytes"
			MB2MD_SCALE=$(calc "$BYTES / $pbytes")
			MB2MD_NOTE="mb2md ran on a ${PREFIX_MB} MiB prefix ($pbytes bytes, $pmsgs messages); its time is scaled by $(printf %.2f "$MB2MD_SCALE") to the whole file"
		fi
	fi
	echo "-- (b) mb2md conversion, fresh maildir"
	measure mb2md 0 "$md_prep" "$(mb2md_cmd "$mb2md_src")"
	scale mb2md "$MB2MD_SCALE"
	n=$(count_files "$W/md/cur" "$W/md/new")
	[[ $n == "$mb2md_msgs" ]] || echo "   warning: mb2md wrote $n messages, expected $mb2md_msgs"
	du_output mb2md "$W/md" "$mb2md_of"
else
	echo "-- (b) mb2md not installed, skipped"
fi

# ---- (c) mboxfs materialize on a mount -------------------------------------------------
# $W/online.sh up MBOXFS DIR MAP: fresh DIR/state and DIR/mnt (the old ones renamed into
# DIR/old), index, sync, mount in the background (pid in DIR/mount.pid), wait for it;
# down DIR: unmount, wait for the daemon.
cat >"$W/online.sh" <<'EOF'
#!/usr/bin/env bash
set -euo pipefail
mounted() { awk -v m="$1" '$2 == m {f = 1} END {exit !f}' /proc/mounts; }
alive() { # the daemon is not our child once this script exits: a zombie is gone too
	local s
	s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $s && $s != Z ]]
}
case $1 in
up)
	mboxfs=$2 dir=$3 map=$4
	for d in state mnt; do
		if [[ -e $dir/$d ]]; then mv "$dir/$d" "$(mktemp -u "$dir/old/XXXXXXXX")"; fi
	done
	mkdir "$dir/state" "$dir/mnt"
	"$mboxfs" index --jobs 1 --map "$map" --state "$dir/state" >/dev/null
	sync
	"$mboxfs" mount --map "$map" --state "$dir/state" --foreground "$dir/mnt" \
		</dev/null >"$dir/mount.log" 2>&1 &
	echo $! >"$dir/mount.pid"
	for ((i = 0; i < 600; i++)); do
		mounted "$dir/mnt" && exit 0
		alive "$!" || break
		sleep 0.05
	done
	echo "mboxfs mount did not come up:" >&2
	cat "$dir/mount.log" >&2
	exit 1
	;;
down)
	dir=$2
	[[ -f $dir/mount.pid ]] || exit 0
	pid=$(cat "$dir/mount.pid")
	for ((i = 0; i < 100; i++)); do
		mounted "$dir/mnt" || break
		fusermount3 -u "$dir/mnt" 2>/dev/null || sleep 0.1
	done
	! mounted "$dir/mnt" || exit 1
	for ((i = 0; i < 600; i++)); do
		alive "$pid" || break
		sleep 0.05
	done
	! alive "$pid" || { kill "$pid"; sleep 1; }
	rm -f "$dir/mount.pid"
	;;
esac
EOF
chmod +x "$W/online.sh"

ONLINE_SCALE=1 ONLINE_NOTE=
if [[ -c /dev/fuse && -n $FUSERMOUNT ]] &&
	{ ((EUID == 0)) || grep -qs '^user_allow_other' /etc/fuse.conf; }; then
	online_map=$W/map online_msgs=$MSGS online_of="the whole mbox"
	online_prep() { echo "'$W/online.sh' down '$W/online' && '$W/online.sh' up '$MBOXFS' '$W/online' '$1'"; }
	online_cmd="'$MBOXFS' materialize --map '$W/map' --quiet '$W/online/mnt'"
	if ((SIZE_MB > ONLINE_PREFIX_MB)); then
		# probe on a prefix: is a whole-file run affordable?
		read -r obytes omsgs < <("$GEN_MBOX" --size "$ONLINE_PREFIX_MB" --seed "$SEED" \
			-o "$W/mail/online-prefix.mbox")
		cat "$W/mail/online-prefix.mbox" >/dev/null
		echo "user/Maildir inbox=$W/mail/online-prefix.mbox" >"$W/online-prefix.map"
		eval "$(online_prep "$W/online-prefix.map")"
		a=$(date +%s.%N)
		"$MBOXFS" materialize --map "$W/online-prefix.map" --quiet "$W/online/mnt" >/dev/null
		b=$(date +%s.%N)
		"$W/online.sh" down "$W/online"
		est=$(calc "($b - $a) * $BYTES / $obytes")
		printf '   materialize on a mount, probe: %s MiB in %.1f s, whole file estimated %.0f s\n' \
			"$ONLINE_PREFIX_MB" "$(calc "$b - $a")" "$est"
		if is_true "$est > $ONLINE_MAX_S"; then
			online_map=$W/online-prefix.map online_msgs=$omsgs
			online_of="the ${ONLINE_PREFIX_MB} MiB prefix, $obytes bytes"
			online_cmd="'$MBOXFS' materialize --map '$online_map' --quiet '$W/online/mnt'"
			ONLINE_SCALE=$(calc "$BYTES / $obytes")
			ONLINE_NOTE="materialize on a mount ran on a ${ONLINE_PREFIX_MB} MiB prefix ($obytes bytes, $omsgs messages); its time is scaled by $(printf %.2f "$ONLINE_SCALE") to the whole file"
		fi
	fi
	echo "-- (c) mboxfs materialize on a mount, fresh state and upper dir"
	measure online 0 "$(online_prep "$online_map")" "$online_cmd"
	"$W/online.sh" down "$W/online" || die "cannot unmount $W/online/mnt"
	scale online "$ONLINE_SCALE"
	CPU[online]= # the client's CPU time only; the daemon does the work
	n=$(count_files "$W/online/mnt/user/Maildir/cur")
	[[ $n == "$online_msgs" ]] || die "materialize on a mount wrote $n messages, expected $online_msgs"
	du_output online "$W/online/mnt" "$online_of"
else
	echo "-- (c) no FUSE here (/dev/fuse, fusermount3, root or user_allow_other), skipped"
fi

# ---- report --------------------------------------------------------------------------
mbps() { calc "$BYTES / $1 / 1000000"; }
msgps() { calc "$MSGS / $1"; }
row() { # label key
	local s=${MEDIAN[$2]:-}
	[[ -n $s ]] || return 0
	local cpu=-
	[[ -n ${CPU[$2]:-} ]] && cpu=$(printf '%.3f' "${CPU[$2]}")
	printf '%-36s %9.3f %9.3f %9s %8.0f %11.0f %10s\n' "$1" "$s" "${MIN[$2]}" "$cpu" \
		"$(mbps "$s")" "$(msgps "$s")" "$(ratio "$s" "${MEDIAN[offline]}")"
}
size_row() { # label key
	[[ -n ${SIZE[$2]:-} ]] || return 0
	printf '%-36s %13s %13s   (%s)\n' "$1" "${SIZE[$2]}" "${ALLOC[$2]}" "${OF[$2]}"
}
echo
echo "== results: $BYTES bytes, $MSGS messages; $RUNS runs each: median and min wall time, mean"
echo "   CPU time (user+sys); MB/s and messages/s from the median; MB = 10^6 bytes"
printf '%-36s %9s %9s %9s %8s %11s %10s\n' tool "median s" "min s" "cpu s" "MB/s" \
	"messages/s" "/ offline"
row "mboxfs materialize --offline" offline
row "mb2md${MB2MD_NOTE:+ (scaled)}" mb2md
row "mboxfs materialize on a mount${ONLINE_NOTE:+ (scaled)}" online
echo
[[ -n ${MEDIAN[mb2md]:-} ]] &&
	printf 'mb2md / mboxfs materialize --offline = %s\n' "$(ratio "${MEDIAN[mb2md]}" "${MEDIAN[offline]}")"
[[ -n ${MEDIAN[online]:-} ]] &&
	printf 'materialize on a mount / --offline = %s (on a mount: %s%s)\n' \
		"$(ratio "${MEDIAN[online]}" "${MEDIAN[offline]}")" "$online_of" "${ONLINE_NOTE:+, scaled}"
[[ -n $MB2MD_NOTE ]] && echo "note: $MB2MD_NOTE"
[[ -n $ONLINE_NOTE ]] && echo "note: $ONLINE_NOTE"
[[ -n ${MEDIAN[online]:-} ]] &&
	echo "note: no cpu s for materialize on a mount: the client's would be shown, the daemon does the work"
echo
echo "output written by the last run (mbox: $BYTES bytes):"
printf '%-36s %13s %13s\n' "" "du -sb" "allocated"
size_row "mboxfs materialize --offline" offline
size_row mb2md mb2md
size_row "mboxfs materialize on a mount" online
