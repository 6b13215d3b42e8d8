#!/usr/bin/env bash
# bench/courier.sh — Courier-level benchmark: Courier's imapd on an mboxfs mount against
# the same maildir materialized to a plain directory ("native") and against libfuse's
# passthrough_ll mounted over a copy of that native maildir, side by side in one run.
#
#   bench/courier.sh [--quick]
#
# Generates (bench/gen_mbox, deterministic) an INBOX of MESSAGES messages (default 8032,
# with ATTACH = 102 thousandths of them with an attachment: about 212 MB) and a folder
# "big" holding one message with a BIG_MB MiB attachment (default 100), in a temp dir
# under $BENCH_DIR (default /var/tmp: Courier refuses a maildir below a sticky dir such
# as /tmp), then untimed:
#   - mboxfs index into a state dir (copied for every mboxfs tree);
#   - mboxfs materialize --offline of the same map into a plain mail root ("native");
#   - compiles /usr/share/doc/libfuse3-dev/examples/passthrough_ll.c into the work dir
#     (never into the source tree) and runs it with its default options;
# and runs bench/courier.py, which times Courier IMAP commands on the three setups in
# turn (A B C A B C ...), RUNS times each (default 5), and prints a markdown table of
# medians and ratios (see courier.py for what each row times and how processes and
# gam_server are handled). It drops the page caches (echo 3 > /proc/sys/vm/drop_caches)
# before every "first after mount" run. --quick: 400 messages, an 8 MiB big message and
# RUNS=3 unless set, to check the harness in about a minute. The full run takes about
# 5 minutes here on a quiet machine (up to 20 with other jobs syncing the same disk: the
# mboxfs write rows fsync) and about 12 GB of disk (every write run gets fresh copies,
# and nothing is deleted before the end, as in convert.sh).
#
# Needs root, /dev/fuse, fusermount3, Courier's /usr/bin/imapd, cc and libfuse3-dev (exit
# 77, a skip for meson, without them). Binaries: $MBOXFS and $GEN_MBOX, else built in
# $BUILD_DIR (see lib.sh). Environment: BENCH_DIR, BUILD_DIR, RUNS, SEED, MESSAGES,
# ATTACH, BIG_MB, KEEP=1 (keep the work dir), COUNTS=0 (skip counting FUSE requests),
# WRITES=0 (skip the write rows: reads, raw file system rows and counts only).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
parse_quick "$@"
if ((QUICK)); then
	RUNS=${RUNS:-3} MESSAGES=${MESSAGES:-400} BIG_MB=${BIG_MB:-8}
fi
RUNS=${RUNS:-5}
SEED=${SEED:-1}
MESSAGES=${MESSAGES:-8032}
ATTACH=${ATTACH:-102}
BIG_MB=${BIG_MB:-100}
COUNTS=${COUNTS:-1}
WRITES=${WRITES:-1}

need_mount_tools pt

bench_binaries

bench_workdir mboxfs-courier /var/tmp
remove_workdir_on_exit
mkdir -p "$W/mail/folders" "$W/state0" "$W/native-state" "$W/native0"

commit=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown && -n $(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	commit="$commit (with uncommitted changes)"
fi
echo "== Courier-level benchmark: mboxfs mount vs native maildir vs passthrough_ll"
echo "   command: RUNS=$RUNS SEED=$SEED MESSAGES=$MESSAGES ATTACH=$ATTACH BIG_MB=$BIG_MB WRITES=$WRITES bench/courier.sh $*"
echo "   code: $commit; mboxfs: $MBOXFS"
machine_facts
echo "   $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GiB RAM", $2 / 1048576}'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   courier-imap $(dpkg-query -W -f '${Version}' courier-imap 2>/dev/null || echo '?'), libfuse $(pkg-config --modversion fuse3), python $(python3 -c 'import platform; print(platform.python_version())')"

MAP=$W/map
echo "u/Maildir inbox=$W/mail/inbox folders=$W/mail/folders" >"$MAP"
generate "$W/mail/inbox" --messages "$MESSAGES" --attach "$ATTACH" --seed "$SEED"
INBOX_BYTES=$BYTES INBOX_MSGS=$MSGS
generate "$W/mail/folders/big" --messages 1 --attach 1000 --attach-mib "$BIG_MB" --seed "$SEED"

out=$("$MBOXFS" index --map "$MAP" --state "$W/state0" --source-tz UTC)
[[ $out == *"INBOX: $INBOX_MSGS messages"* && $out == *"big: 1 messages"* ]] ||
	die "mboxfs index: unexpected: $out"
"$MBOXFS" materialize --offline --map "$MAP" --state "$W/native-state" --source-tz UTC --quiet \
	"$W/native0" >/dev/null
n=$(find "$W/native0/u/Maildir/cur" -type f | wc -l)
[[ $n == "$INBOX_MSGS" ]] || die "materialize --offline wrote $n INBOX messages, expected $INBOX_MSGS"
big=$(cd "$W/native0" && find u/Maildir/.big/cur -type f)
[[ $(wc -l <<<"$big") == 1 ]] || die "no single big message: $big"
echo "   native: mboxfs materialize --offline; INBOX cur/ $(du -sb "$W/native0/u/Maildir/cur" | cut -f1) bytes" \
	"($(du -sh "$W/native0/u/Maildir/cur" | cut -f1) allocated), big message $(stat -c %s "$W/native0/$big") bytes"

# the upstream example as it is, built for this run only
cc -O2 -o "$W/passthrough_ll" "$PT_SRC" $(pkg-config --cflags --libs fuse3)
echo "   passthrough_ll: $PT_SRC (libfuse $(pkg-config --modversion fuse3)), cc -O2, run as"
echo "     passthrough_ll -f -o source=COPY MOUNTPOINT: its defaults, cache=auto (1 s entry"
echo "     and attr timeouts, kernel page cache kept while a file is unchanged), no writeback,"
echo "     no xattr, no flock, multithreaded"
echo "   mboxfs: mboxfs mount --map MAP --state COPY_OF_STATE --upper EMPTY_DIR --source-tz UTC"
echo "     --foreground MOUNTPOINT"
cat "$W/mail/inbox" "$W/mail/folders/big" >/dev/null # warm the page cache

counts=()
[[ $COUNTS == 1 ]] || counts=(--no-counts)
[[ $WRITES == 1 ]] || counts+=(--no-writes)
python3 "$SRC/bench/courier.py" --work "$W" --mboxfs "$MBOXFS" --passthrough "$W/passthrough_ll" \
	--map "$MAP" --state0 "$W/state0" --native0 "$W/native0" --maildir u/Maildir \
	--big "$big" --big-mb "$BIG_MB" --msgs "$INBOX_MSGS" --bytes "$INBOX_BYTES" \
	--runs "$RUNS" "${counts[@]}"
