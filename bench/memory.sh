#!/usr/bin/env bash
# bench/memory.sh — the daemon's memory per served message over many Courier sessions
# (issue 12: anonymous memory per served message, steady state), mboxfs mount against
# libfuse's passthrough_ll over the same mail materialized to plain maildirs.
#
#   bench/memory.sh [--quick]
#
# Generates (bench/gen_mbox, deterministic) ACCOUNTS accounts (default 4), each with an
# INBOX of INBOX_MSGS messages (default 6000) and three folders (Sent, Archive and
# Lists/devel: a third, a quarter and a twelfth of that), ATTACH thousandths of the
# messages with an attachment (default 20): 40,000 messages and about 240 MB by default,
# in a temp dir under $BENCH_DIR (default /var/tmp: Courier refuses a maildir below a
# sticky dir such as /tmp), then, untimed:
#   - mboxfs index of the map into a state dir (copied for the mount);
#   - mboxfs materialize --offline of the same map into a plain mail root ("native");
#   - compiles /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c into the work dir
#     (never into the source tree) and mounts it, with its defaults, over a copy of it;
# and runs bench/memory.py: SESSIONS rounds (default 13), mboxfs and passthrough_ll
# alternating (A B A B ...); in each round every account gets one Courier imapd session
# (pre-authenticated over a pipe, as bench/courier.py and the e2e tests run it): LIST,
# then for every folder SELECT, UID FETCH 1:* (FLAGS RFC822.SIZE INTERNALDATE ENVELOPE),
# BODY.PEEK[] of every 40th message, and in INBOX a STORE +FLAGS (\Flagged) and its
# -FLAGS on one message; after each session the kernel is made to forget its dentries and
# inodes (echo 2 > /proc/sys/vm/drop_caches: passthrough_ll needs an fd per inode the
# kernel knows, and the hard fd limit here is 20000). After each round it reads the
# daemon's /proc/PID/smaps_rollup (Anonymous) and /proc/PID/status (RssAnon) and prints
# bytes per served message (all messages of all folders), the same above the daemon's
# own figure right after mount, the growth from round 1 to round SESSIONS, and the
# growth per message while accounts 2..ACCOUNTS were first served (round 1). --quick:
# 2 accounts of 800 messages, 4 rounds, to check the harness in about a minute. The
# full run takes about 6 minutes here.
#
# Needs root, /dev/fuse, fusermount3, Courier's /usr/bin/imapd, cc and libfuse3-dev (exit
# 77, a skip for meson, without them). Binaries: $MBOXFS and $GEN_MBOX, else built in
# $BUILD_DIR (see lib.sh). Environment: BENCH_DIR, BUILD_DIR, SEED, ACCOUNTS, INBOX_MSGS,
# ATTACH, SESSIONS, KEEP=1 (keep the work dir), MBOXFS_ENV (VAR=VALUE ... for the mboxfs
# daemon only, e.g. MALLOC_ARENA_MAX=1, to compare allocator settings), MEMORY_PROBE (a
# command run as "MEMORY_PROBE PID ROUND SETUP" after each round's sample, e.g. to dump
# the daemon's malloc_info through gdb).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
parse_quick "$@"
if ((QUICK)); then
	ACCOUNTS=${ACCOUNTS:-2} INBOX_MSGS=${INBOX_MSGS:-800} SESSIONS=${SESSIONS:-4}
fi
SEED=${SEED:-1}
ACCOUNTS=${ACCOUNTS:-4}
INBOX_MSGS=${INBOX_MSGS:-6000}
ATTACH=${ATTACH:-20}
SESSIONS=${SESSIONS:-13}

need_mount_tools pt

bench_binaries

bench_workdir mboxfs-memory /var/tmp
remove_workdir_on_exit

commit=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown && -n $(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	commit="$commit (with uncommitted changes)"
fi
echo "== Daemon memory per served message: mboxfs mount vs passthrough_ll"
echo "   command: SEED=$SEED ACCOUNTS=$ACCOUNTS INBOX_MSGS=$INBOX_MSGS ATTACH=$ATTACH SESSIONS=$SESSIONS${MBOXFS_ENV:+ MBOXFS_ENV=\"$MBOXFS_ENV\"} bench/memory.sh $*"
echo "   code: $commit; mboxfs: $MBOXFS"
machine_facts
echo "   courier-imap $(dpkg-query -W -f '${Version}' courier-imap 2>/dev/null || echo '?'), libfuse $(pkg-config --modversion fuse3), glibc $(ldd --version | awk 'NR==1 {print $NF}')"

MAP=$W/map
: >"$MAP"
total=0 bytes=0
# folder: name below the folder directory, and its share of INBOX_MSGS (num/den)
folders=("Sent 1 3" "Archive 1 4" "Lists/devel 1 12")
for ((a = 1; a <= ACCOUNTS; a++)); do
	d=$W/mail/u$a
	mkdir -p "$d/folders/Lists"
	echo "u$a/Maildir inbox=$d/inbox folders=$d/folders" >>"$MAP"
	read -r b n < <("$GEN_MBOX" --messages "$INBOX_MSGS" --attach "$ATTACH" --seed $((SEED * 100 + a)) -o "$d/inbox")
	total=$((total + n)) bytes=$((bytes + b))
	for spec in "${folders[@]}"; do
		read -r name num den <<<"$spec"
		read -r b n < <("$GEN_MBOX" --messages $((INBOX_MSGS * num / den)) --attach "$ATTACH" \
			--seed $((SEED * 100 + a * 10 + ${#name})) -o "$d/folders/$name")
		total=$((total + n)) bytes=$((bytes + b))
	done
done
echo "   generated: $ACCOUNTS accounts, $((ACCOUNTS * (1 + ${#folders[@]}))) folders, $total messages, $bytes bytes of mbox"

mkdir -p "$W/state0" "$W/native-state" "$W/native0"
out=$("$MBOXFS" index --map "$MAP" --state "$W/state0" --source-tz UTC)
indexed=$(awk '/: [0-9]+ messages/ {for (i = 1; i <= NF; i++) if ($i == "messages" || $i == "messages,") s += $(i - 1)} END {print s + 0}' <<<"$out")
[[ $indexed == "$total" ]] || die "mboxfs index saw $indexed messages, expected $total: $out"
"$MBOXFS" materialize --offline --map "$MAP" --state "$W/native-state" --source-tz UTC --quiet \
	"$W/native0" >/dev/null
n=$(find "$W/native0" -path '*/cur/*' -type f | wc -l)
[[ $n == "$total" ]] || die "materialize --offline wrote $n messages, expected $total"

cc -O2 -o "$W/passthrough_ll" "$PT_SRC" $(pkg-config --cflags --libs fuse3)
echo "   mboxfs: mboxfs mount --map MAP --state COPY_OF_STATE --upper EMPTY_DIR --source-tz UTC --foreground MNT"
echo "   passthrough_ll: $PT_SRC, cc -O2, passthrough_ll -f -o source=COPY_OF_NATIVE MNT (its defaults)"

# passthrough_ll keeps an O_PATH fd per file the kernel knows: its fd limit as high as
# we may (memory.py also makes the kernel forget dentries after every session)
ulimit -Sn "$(ulimit -Hn)"
python3 "$SRC/bench/memory.py" --work "$W" --mboxfs "$MBOXFS" --passthrough "$W/passthrough_ll" \
	--map "$MAP" --state0 "$W/state0" --native0 "$W/native0" --accounts "$ACCOUNTS" \
	--msgs "$total" --sessions "$SESSIONS" --mboxfs-env "${MBOXFS_ENV:-}"
