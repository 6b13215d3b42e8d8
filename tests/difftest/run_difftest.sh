#!/usr/bin/env bash
# Differential test: mboxfs against UW c-client on random mbox files.
#
#   run_difftest.sh MBOXFS_BIN ORACLE_BIN [COUNT=200] [SEED=1]
#
# For each seed SEED .. SEED+COUNT-1, gen_mbox.py writes a random mbox full of edge cases;
# `cclient_dump` (the oracle) and `mboxfs show --json` both describe it, with TZ=UTC, and
# compare.py checks that they agree (its docstring has the rules). A failing case is kept
# (mbox, both JSON outputs, c-client's log, the bytes c-client served) in a directory named
# on the FAIL line, with the first differences. Last line: "N passed, M failed"; the exit
# status is 1 if any case failed.
#
# Environment: DIFFTEST_WORKDIR (default: a new /tmp/mboxfs-difftest.XXXXXX; removed at the
# end if every case passed), DIFFTEST_TIMEOUT (seconds per program run, default 60).
set -u

if [ $# -lt 2 ] || [ $# -gt 4 ]; then
	echo "usage: $0 MBOXFS_BIN ORACLE_BIN [COUNT=200] [SEED=1]" >&2
	exit 2
fi
mboxfs=$1
oracle=$2
count=${3:-200}
seed=${4:-1}
here=$(cd "$(dirname "$0")" && pwd)
timeout=${DIFFTEST_TIMEOUT:-60}
python=${PYTHON:-python3}

work=${DIFFTEST_WORKDIR:-}
if [ -z "$work" ]; then
	work=$(mktemp -d /tmp/mboxfs-difftest.XXXXXX) || exit 2
else
	mkdir -p "$work" || exit 2
fi

export TZ=UTC
passed=0
failed=0
for ((s = seed; s < seed + count; s++)); do
	case_dir=$work/seed-$s
	mkdir -p "$case_dir"
	mbox=$case_dir/seed-$s.mbox # never "inbox": c-client would open the system INBOX
	if ! "$python" "$here/gen_mbox.py" --seed "$s" --out "$mbox"; then
		echo "FAIL seed $s: gen_mbox.py failed"
		failed=$((failed + 1))
		continue
	fi
	problem=
	timeout "$timeout" "$oracle" -v "$mbox" >"$case_dir/oracle.json" 2>"$case_dir/oracle.log"
	orc=$?
	timeout "$timeout" "$mboxfs" show --json --source-tz UTC "$mbox" \
		>"$case_dir/mboxfs.json" 2>"$case_dir/mboxfs.log"
	mrc=$?
	if [ $orc -ne 0 ]; then
		problem="oracle failed (exit $orc): $(tail -n 3 "$case_dir/oracle.log")"
	elif [ $mrc -ne 0 ]; then
		problem="mboxfs failed (exit $mrc): $(tail -n 3 "$case_dir/mboxfs.log")"
	elif ! "$python" "$here/compare.py" "$case_dir/oracle.json" "$case_dir/mboxfs.json" \
		>"$case_dir/diff.txt" 2>&1; then
		# Keep what c-client served, and show the start of the differing message.
		"$oracle" --bytes "$case_dir/oracle-bytes" "$mbox" >/dev/null 2>&1
		"$python" "$here/compare.py" --oracle-bytes "$case_dir/oracle-bytes" \
			"$case_dir/oracle.json" "$case_dir/mboxfs.json" >"$case_dir/diff.txt" 2>&1
		problem=$(head -n 30 "$case_dir/diff.txt")
	fi
	if [ -n "$problem" ]; then
		failed=$((failed + 1))
		echo "FAIL seed $s (kept in $case_dir)"
		printf '%s\n' "$problem" | sed 's/^/    /'
	else
		passed=$((passed + 1))
		rm -rf "$case_dir"
	fi
done

if [ "$failed" -eq 0 ] && [ -z "${DIFFTEST_WORKDIR:-}" ]; then
	rmdir "$work" 2>/dev/null
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
