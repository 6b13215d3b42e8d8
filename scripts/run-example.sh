#!/usr/bin/env bash
# The main job on the bundled example old server (examples/oldserver: two
# users, folders, the UW pseudo message, flags, keywords, subscriptions):
# installs the packages, builds, indexes the account map, mounts it, lets the
# real Courier imapd serve every folder, and prints the UIDVALIDITY and UIDs
# Courier serves next to what the old mbox file says, and the UIDLs Courier
# pop3d prints next to uw-ipop3d's. Then the cutover: mboxfs materialize
# writes the real maildirs, the mount goes, and plain Courier serves the same.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null

mboxfs=$PWD/build/tools/mboxfs
example=$PWD/examples/oldserver
work=$(mktemp -d /var/tmp/mboxfs-example.XXXXXX) # not /tmp: Courier refuses sticky dirs
mnt=$work/mail
mkdir -p "$mnt"
cleanup() {
	# lazily: Courier's gam_server may still have its cwd in a maildir (README,
	# "Unmounting"); the daemon ends once it has gone
	if grep -q " $mnt " /proc/mounts; then fusermount3 -u -z "$mnt"; fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "== mboxfs index (what the cutover runs first)"
"$mboxfs" index --map "$example/accounts.map" --state "$work/state" --source-tz UTC
echo
echo "== mboxfs mount $mnt"
"$mboxfs" mount --map "$example/accounts.map" --state "$work/state" --source-tz UTC "$mnt"

# Courier imapd, pre-authenticated over a pipe, with Debian's settings
imapd() {
	env -i PATH=/usr/bin:/bin sh -c 'set -a; . /etc/courier/imapd; AUTHENTICATED=root; HOME=/; TZ=UTC; exec /usr/bin/imapd "$0"' "$1" 2>/dev/null
}

show_folder() { # maildir imap-name mbox
	local maildir=$1 folder=$2 mbox=$3
	printf '\n== %s %s  <-  %s\n' "${maildir#"$mnt"/}" "$folder" "${mbox#"$example"/}"
	printf '   the old mbox says: '
	grep -aoE '^(X-IMAP|X-IMAPbase): *[0-9]+ +[0-9]+' "$mbox" | head -1 | tr -s ' ' | tr '\n' ' ' || true
	printf 'X-UIDs: %s\n' "$(grep -aoE '^X-UID: *[0-9]+' "$mbox" | grep -oE '[0-9]+' | tr '\n' ' ')"
	printf 'a EXAMINE "%s"\r\nb UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)\r\nc LOGOUT\r\n' "$folder" |
		imapd "$maildir" | tr -d '\r' | awk '
			/UIDVALIDITY/ { match($0, /UIDVALIDITY [0-9]+/); print "   Courier serves:   " substr($0, RSTART, RLENGTH) }
			/^\* [0-9]+ FETCH / { sub(/^\* [0-9]+ FETCH /, "     "); print }'
}

show_uidls() { # maildir: Courier pop3d's UIDLs
	printf '   Courier pop3d UIDL: %s\n' "$(printf 'UIDL\r\nQUIT\r\n' |
		env -i PATH=/usr/bin:/bin AUTHENTICATED=root HOME=/ /usr/lib/courier/courier/courierpop3d "$1" 2>/dev/null |
		tr -d '\r' | awk '/^[0-9]+ [0-9a-zA-Z-]+$/ { printf "%s ", $2 }')"
}

show_folder "$mnt/alice/Maildir" INBOX "$example/spool/alice"
uidv=$(grep -aoE '^X-IMAP(base)?: *[0-9]+' "$example/spool/alice" | grep -oE '[0-9]+$')
printf '   uw-ipop3d printed:  %s\n' "$(grep -aoE '^X-UID: *[0-9]+' "$example/spool/alice" |
	grep -oE '[0-9]+' | while read -r uid; do printf '%08x%08x ' "$uidv" "$uid"; done)"
show_uidls "$mnt/alice/Maildir"
show_folder "$mnt/alice/Maildir" INBOX.sent-mail "$example/home/alice/mail/sent-mail"
show_folder "$mnt/alice/Maildir" 'INBOX.R&AOk-sum&AOk-' "$example/home/alice/mail/R&AOk-sum&AOk-"
show_folder "$mnt/bob/Maildir" INBOX "$example/spool/bob"
show_folder "$mnt/bob/Maildir" INBOX.Archive.2019 "$example/home/bob/Archive/2019"
echo
echo "(bob's mboxes carry no UID metadata: mboxfs chose their UIDVALIDITY once and keeps it in the state directory)"

echo
echo "== the cutover: mboxfs status, mboxfs materialize (in production in the background, with --rate), status"
"$mboxfs" status --map "$example/accounts.map" "$mnt" || true # exit status 3: something is virtual
"$mboxfs" materialize --map "$example/accounts.map" "$mnt"
"$mboxfs" status --map "$example/accounts.map" "$mnt"
fusermount3 -u -z "$mnt" # at once, though gam_server keeps the old view a while
echo
echo "== unmounted: $mnt is plain Maildir now, served by Courier alone"
show_folder "$mnt/alice/Maildir" INBOX "$example/spool/alice"
show_uidls "$mnt/alice/Maildir"
show_folder "$mnt/bob/Maildir" INBOX "$example/spool/bob"
