#!/usr/bin/env bash
# bench/fds.sh — the daemon's open fds during a Courier session on a real-tree folder
# (one fd per real regular file, fs/inode.c), for one binary or two side by side.
#
#   bench/fds.sh                      # $MBOXFS (else built in $BUILD_DIR) alone
#   MBOXFS_BEFORE=/path/mboxfs bench/fds.sh   # before and after, alternating
#
# Runs bench/fds.py (see there: the workload, what is counted) ROUNDS times (default 3)
# per binary, the binaries alternating (A B A B ...), in a temp dir under $BENCH_DIR
# (default /var/tmp: Courier refuses a maildir below a sticky dir such as /tmp), and
# prints a markdown table of medians and the after/before ratio. Environment: BUILD_DIR,
# BENCH_DIR, ROUNDS, MESSAGES (real message files, default 2000), APPENDS (default 500),
# LOAD (seconds of tests/e2e/test_load.py per round and binary, default 20, 0: none),
# KEEP=1 (keep the work dir). About a minute and a half per round and binary here. Needs root, /dev/fuse,
# fusermount3 and Courier's imapd (exit 77, a skip for meson, without them).
set -euo pipefail
ROUNDS=${ROUNDS:-3}
MESSAGES=${MESSAGES:-2000}
APPENDS=${APPENDS:-500}
LOAD=${LOAD:-20}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need_mount_tools
GEN_MBOX=${GEN_MBOX:-unused} # fds.py writes its messages itself
bench_binaries

bench_workdir mboxfs-fds /var/tmp
remove_workdir_on_exit

echo "== Daemon fds for a Courier session on a real-tree folder"
echo "   command: ROUNDS=$ROUNDS MESSAGES=$MESSAGES APPENDS=$APPENDS LOAD=$LOAD${MBOXFS_BEFORE:+ MBOXFS_BEFORE=$MBOXFS_BEFORE} bench/fds.sh"
echo "   mboxfs: $MBOXFS (code $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown))"
machine_facts
binaries=()
if [[ -n ${MBOXFS_BEFORE:-} ]]; then
	binaries+=("before=$MBOXFS_BEFORE")
fi
binaries+=("after=$MBOXFS")
python3 "$SRC/bench/fds.py" --examples "$SRC/examples" --work "$W" --messages "$MESSAGES" \
	--appends "$APPENDS" --rounds "$ROUNDS" --load "$LOAD" "${binaries[@]}"
