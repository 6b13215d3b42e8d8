#!/usr/bin/env bash
# bench/reads_warm.sh — the two warm read rows of issue 12 that are served from the
# kernel's caches (BENCHMARKS.md, "Reads from the page cache"): a new Courier imapd +
# SELECT INBOX, and cat of a big message, on an mboxfs mount against the native maildir,
# and against the binary before when BEFORE is set, all mounted once, warmed up, then
# timed alternately (bench/reads_warm.py).
#
#   BEFORE=/path/to/old/mboxfs bench/reads_warm.sh
#
# The same input as bench/courier.sh (bench/gen_mbox, deterministic): an INBOX of
# MESSAGES (8032) messages with ATTACH thousandths of them with an attachment, and a
# folder "big" with one message of a BIG_MB (100) MiB attachment; mboxfs index into a
# state dir (copied for each mount), materialize --offline into the native maildir.
# Environment: RUNS (15), BEFORE, MBOXFS and GEN_MBOX (else built in BUILD_DIR, see
# lib.sh), BENCH_DIR (/var/tmp), KEEP=1. Needs root, /dev/fuse, fusermount3 and Courier's
# imapd (exit 77 otherwise). About 2 minutes here.
set -euo pipefail
RUNS=${RUNS:-15}
MESSAGES=${MESSAGES:-8032}
ATTACH=${ATTACH:-102}
BIG_MB=${BIG_MB:-100}
SEED=${SEED:-1}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

need_mount_tools
bench_binaries
bench_workdir mboxfs-reads-warm /var/tmp
remove_workdir_on_exit
mkdir -p "$W/mail/folders" "$W/state0" "$W/native-state"

echo "== warm reads from the page cache: mboxfs mount vs native maildir"
echo "   command: RUNS=$RUNS MESSAGES=$MESSAGES BIG_MB=$BIG_MB BEFORE=${BEFORE:-} bench/reads_warm.sh"
echo "   after: $MBOXFS; before: ${BEFORE:-(none)}"
machine_facts
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg)"
MAP=$W/map
echo "u/Maildir inbox=$W/mail/inbox folders=$W/mail/folders" >"$MAP"
generate "$W/mail/inbox" --messages "$MESSAGES" --attach "$ATTACH" --seed "$SEED"
generate "$W/mail/folders/big" --messages 1 --attach 1000 --attach-mib "$BIG_MB" --seed "$SEED"
"$MBOXFS" index --map "$MAP" --state "$W/state0" --source-tz UTC >/dev/null 2>&1
"$MBOXFS" materialize --offline --map "$MAP" --state "$W/native-state" --source-tz UTC --quiet \
	"$W/native0" >/dev/null
big=$(cd "$W/native0" && find u/Maildir/.big/cur -type f)
cat "$W/mail/inbox" "$W/mail/folders/big" >/dev/null
python3 "$SRC/bench/reads_warm.py" --work "$W" --after "$MBOXFS" ${BEFORE:+--before "$BEFORE"} \
	--map "$MAP" --state0 "$W/state0" --native0 "$W/native0" --maildir u/Maildir --big "$big" \
	--runs "$RUNS"
