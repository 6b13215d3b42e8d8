#!/usr/bin/env bash
# bench/first_select.sh — first SELECT of a mailbox the daemon has never indexed, against
# an indexed one and a native maildir, with Courier's imapd (issue 12).
#
#   bench/first_select.sh [--quick]
#
# Generates (bench/gen_mbox --slim --attach 0, deterministic) an INBOX of MESSAGES
# messages (default 400, about 340 KB: a mailbox of the size most of bench/scale.sh's
# are) in a temp dir under $BENCH_DIR (default /var/tmp: Courier refuses a maildir below
# a sticky dir such as /tmp), indexes it into a state dir and materializes it
# (materialize --offline) into a plain maildir, untimed, and runs bench/first_select.py:
# RUNS times (default 9) in turn, a fresh mount with an empty state dir, a fresh mount
# with a copy of the indexed state dir, a copy of the native maildir, libfuse's
# passthrough_ll (built from the example libfuse3-dev ships) over another copy; each time imapd
# is started and its SELECT INBOX timed. Before that, each mount first serves a session
# of another account (SELECT of a 50-message INBOX, untimed), as a mount in service has
# (its threads started, the directories above the maildirs known); WARM=0 times the
# first session of a fresh mount instead. --quick: RUNS=3 unless set.
#
# Needs root, /dev/fuse, fusermount3 and Courier's /usr/bin/imapd (exit 77, a skip for
# meson, without them). Binaries: $MBOXFS and $GEN_MBOX, else built in $BUILD_DIR (see
# lib.sh). Environment: BENCH_DIR, BUILD_DIR, RUNS, SEED, MESSAGES, WARM=0, KEEP=1,
# DROP=1 (the kernel's caches dropped before each timed imapd, as after a quiet night),
# BASELINE=<another mboxfs binary> (its never-indexed and indexed rows too, in turn),
# TRACE=1 (then one more run of each mboxfs row with the kernel's FUSE tracepoints:
# requests per opcode, their time, the largest gaps between them; bench/fuse_trace.py,
# Linux 6.13 or later).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
parse_quick "$@"
if ((QUICK)); then RUNS=${RUNS:-3}; fi
RUNS=${RUNS:-9}
SEED=${SEED:-1}
MESSAGES=${MESSAGES:-400}

need_mount_tools
bench_binaries

bench_workdir mboxfs-first-select /var/tmp
remove_workdir_on_exit
mkdir -p "$W/mail/folders" "$W/state0" "$W/empty-state" "$W/native-state" "$W/native0"

echo "== first SELECT: never-indexed mailbox vs indexed vs native, Courier imapd"
WARM=${WARM:-1}
echo "   command: RUNS=$RUNS SEED=$SEED MESSAGES=$MESSAGES WARM=$WARM${BASELINE:+ BASELINE=$BASELINE}${TRACE:+ TRACE=$TRACE}${DROP:+ DROP=$DROP} bench/first_select.sh $*"
machine_facts
echo "   load average $(cut -d' ' -f1-3 /proc/loadavg)"
MAP=$W/map
printf '%s\n' "u/Maildir inbox=$W/mail/inbox folders=$W/mail/folders" \
	"w/Maildir inbox=$W/mail/other folders=$W/mail/other-folders" >"$MAP"
mkdir -p "$W/mail/other-folders"
generate "$W/mail/other" --messages 50 --slim --attach 0 --seed "$((SEED + 1))" >/dev/null
generate "$W/mail/inbox" --messages "$MESSAGES" --slim --attach 0 --seed "$SEED"
out=$("$MBOXFS" index --map "$MAP" --state "$W/state0" --source-tz UTC)
[[ $out == *"INBOX: $MSGS messages"* ]] || die "mboxfs index: unexpected: $out"
"$MBOXFS" materialize --offline --map "$MAP" --state "$W/native-state" --source-tz UTC --quiet \
	"$W/native0" >/dev/null
cat "$W/mail/inbox" >/dev/null # warm the page cache
# the upstream example as it is, built for this run only (as bench/courier.sh does)
cc -O2 -o "$W/passthrough_ll" "$PT_SRC" $(pkg-config --cflags --libs fuse3)

options=()
if [[ ${TRACE:-0} == 1 ]]; then options+=(--trace); fi
if [[ $WARM == 1 ]]; then options+=(--warm-maildir w/Maildir); fi
if [[ ${DROP:-0} == 1 ]]; then options+=(--drop-caches); fi
python3 "$SRC/bench/first_select.py" --work "$W" --mboxfs "$MBOXFS" --map "$MAP" \
	--passthrough "$W/passthrough_ll" --state0 "$W/state0" --empty-state "$W/empty-state" --native0 "$W/native0" \
	--maildir u/Maildir --msgs "$MSGS" --bytes "$BYTES" --runs "$RUNS" \
	${BASELINE:+--baseline "$BASELINE"} "${options[@]}"
