#!/usr/bin/env bash
# bench/strace_reads.sh — where the daemon's time goes on Courier's reads: `strace -c -f`
# of the mboxfs daemon during one warm `UID FETCH 1:* (RFC822.SIZE INTERNALDATE ENVELOPE)`
# of Courier's imapd, and the FUSE requests it served (a profile, not a timing).
#
#   bench/strace_reads.sh [MBOXFS]      (default: $MBOXFS, else the build's)
#
# Generates (bench/gen_mbox) an INBOX of MESSAGES messages (default 2000) in a temp dir
# under /var/tmp, indexes and mounts it, warms it with one session (SELECT and the same
# FETCH), then attaches strace to the daemon for one more session's FETCH. Ends only
# what it started: the daemon (fusermount3 -u of its own mount point, then its PID),
# strace, imapd (LOGOUT) and the gam_server of its sessions (tests/e2e/harness.py). Needs root, /dev/fuse, strace and Courier's imapd.
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
WANT=${1:-${MBOXFS:-}}
MESSAGES=${MESSAGES:-2000}
for need in strace fusermount3 /usr/bin/imapd; do
	command -v "$need" >/dev/null || { echo "SKIP: strace_reads.sh needs $need"; exit 77; }
done
bench_binaries
MBOXFS=${WANT:-$MBOXFS}
bench_workdir mboxfs-strace /var/tmp
mnt=$W/mnt daemon=
cleanup() {
	if [[ -n $daemon ]]; then
		fusermount3 -u "$mnt" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/old" "$W/state" "$W/upper" "$mnt"
generate "$W/old/inbox" --messages "$MESSAGES" --attach 102 --seed 1
echo "u/Maildir inbox=$W/old/inbox" >"$W/map"
"$MBOXFS" index --map "$W/map" --state "$W/state" --source-tz UTC >/dev/null
"$MBOXFS" mount --map "$W/map" --state "$W/state" --upper "$W/upper" --source-tz UTC \
	--foreground "$mnt" 2>"$W/daemon.log" &
daemon=$!
for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt" || die "the mount did not come up: $(cat "$W/daemon.log")"

session() { # one imapd session: SELECT and the FETCH
	python3 - "$mnt/u/Maildir" "$SRC/tests/e2e" <<'EOF'
import sys
sys.path.insert(0, sys.argv[2])
import harness, imap
s = imap.Imapd(sys.argv[1])
imap.ok(s, "SELECT INBOX")
imap.ok(s, "UID FETCH 1:* (RFC822.SIZE INTERNALDATE ENVELOPE)")
s.close()
harness.end_gam_servers()  # its gam_server would keep the mount busy
EOF
}
session # warm: names, attributes and pages in the kernel's caches
strace -c -f -p "$daemon" -o "$W/strace.txt" &
tracer=$!
sleep 1 # attached to every thread
session
kill -INT "$tracer"
wait "$tracer" || true
echo "== strace -c -f of the daemon during one warm ENVELOPE fetch of $MSGS messages ($MBOXFS)"
cat "$W/strace.txt"
