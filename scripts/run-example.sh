#!/usr/bin/env bash
# Sets up mboxfs and runs it on the bundled example old server
# (examples/oldserver: two users, folders, the UW pseudo message, flags and
# keywords): indexes every mailbox of the account map, then shows, for each
# mbox, the UW metadata the file carries next to what mboxfs will serve.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

mboxfs=build/tools/mboxfs
example=examples/oldserver
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT

echo "== mboxfs index --map $example/accounts.map"
"$mboxfs" index --map "$example/accounts.map" --state "$state" --source-tz UTC

for mbox in "$example"/spool/* "$example"/home/alice/mail/* "$example"/home/bob/Archive/*; do
	echo
	echo "== $mbox"
	echo "-- what the old server left in the file:"
	grep -aE '^(X-IMAP|X-IMAPbase|X-UID|Status|X-Status|X-Keywords):' "$mbox" | sed 's/^/   /' || true
	echo "-- what mboxfs serves (UIDs as uw-imapd served them):"
	"$mboxfs" show --source-tz UTC --state "$state" "$mbox" | sed 's/^/   /'
done
