#!/usr/bin/env python3
"""End to end, write side: every operation Courier performs on old messages
and folders works through the mount, is seen by a second Courier session, and
is still there after a remount, with no UIDVALIDITY change.

Operations: STORE of flags and keywords on old messages (rename: copy-up),
EXPUNGE (whiteout), APPEND, COPY from an old message, EXPUNGE with
IMAP_MOVE_EXPUNGE_TO_TRASH (a move across folders), mail delivered into new/
the way maildrop does (tmp/, then rename), CREATE, RENAME and DELETE of old
folders, SUBSCRIBE/UNSUBSCRIBE. The sources stay byte-identical.

usage: test_courier_write.py MBOXFS EXAMPLES_DIR
"""
import hashlib
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, append, fetch_all, ok, select  # noqa: E402

NEW_MAIL = (b"From: Ivan <ivan@example.org>\nTo: alice@example.net\nSubject: delivered\n"
            b"Date: Sun, 29 Nov 2026 10:00:00 +0000\n\nNew mail after the cutover.\n")
APPENDED = b"From: alice@example.net\r\nSubject: appended\r\n\r\nA draft.\r\n"


def listed(imap, command):
    _, resp = imap.command(f'{command} "" "*"')
    return {parts[0].decode().strip().rsplit(" ", 1)[1].strip('"') for parts in resp}


def view(imap, folder):
    """(UIDVALIDITY, {uid: (sorted flags without \\Recent, sha256 of LF body)})."""
    uidv = select(imap, folder)
    out = {}
    for uid, m in fetch_all(imap).items():
        flags = tuple(sorted(f for f in m["flags"] if f != "\\Recent"))
        out[uid] = (flags, hashlib.sha256(m["body"].replace(b"\r\n", b"\n")).hexdigest())
    return uidv, out


def snapshot(mnt):
    """What a client sees of both accounts."""
    alice = Imapd(os.path.join(mnt, "alice/Maildir"))
    try:
        snap = {f: view(alice, f) for f in ("INBOX", "INBOX.sent-mail", "INBOX.CV",
                                            "INBOX.Trash")}
        snap["LIST"] = listed(alice, "LIST")
        snap["LSUB"] = listed(alice, "LSUB")
    finally:
        alice.close()
    bob = Imapd(os.path.join(mnt, "bob/Maildir"))
    try:
        snap["bob LIST"] = listed(bob, "LIST")
    finally:
        bob.close()
    return snap


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    M = harness.late_uid_margin()  # Courier's own UIDs start this far above the old ones
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        old, map_path, state, mnt = tree.old, tree.map, tree.state, tree.mnt
        before = harness.tree_checksum(old)
        alice_body = {m["uid"]: m["sha256_lf"]
                      for m in harness.show(mboxfs, os.path.join(old, "spool/alice"))["messages"]}
        sent_body = {m["uid"]: m["sha256_lf"] for m in harness.show(
            mboxfs, os.path.join(old, "home/alice/mail/sent-mail"))["messages"]}

        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            a = Imapd(os.path.join(mnt, "alice/Maildir"))
            select(a, "INBOX", examine=False)
            ok(a, "UID STORE 3 +FLAGS (\\Flagged)")
            ok(a, "UID STORE 7 +FLAGS (Junk)")
            ok(a, "UID STORE 5 +FLAGS (\\Deleted)")
            _, resp = a.command("EXPUNGE")
            results.check("EXPUNGE of an old message",
                          [] if any(b"EXPUNGE" in p[0] for p in resp) else [f"{resp}"])
            status = append(a, "INBOX", "\\Seen", APPENDED)
            results.check("APPEND answers APPENDUID with the next old UID plus the margin",
                          [] if f"[APPENDUID 1583136845 {8 + M}]" in status else [status])
            status = ok(a, "UID COPY 7 INBOX.sent-mail")
            results.check("COPY of an old message answers COPYUID",
                          [] if f"[COPYUID 1583137200 7 {3 + M}]" in status else [status])
            ok(a, "CREATE INBOX.Trash")
            ok(a, "CREATE INBOX.NewFolder")
            ok(a, "SUBSCRIBE INBOX.NewFolder")
            ok(a, "UNSUBSCRIBE INBOX.sent-mail")
            ok(a, 'RENAME "INBOX.R&AOk-sum&AOk-" INBOX.CV')
            a.close()
            # EXPUNGE moves to Trash: a copy-up across folders
            t = Imapd(os.path.join(mnt, "alice/Maildir"), {"IMAP_MOVE_EXPUNGE_TO_TRASH": "1"})
            select(t, "INBOX.sent-mail", examine=False)
            ok(t, "UID STORE 2 +FLAGS (\\Deleted)")
            ok(t, "EXPUNGE")
            t.close()
            b = Imapd(os.path.join(mnt, "bob/Maildir"))
            ok(b, "DELETE INBOX.Archive.2019")
            b.close()
            # delivery the maildrop way, through the mount
            maildir = os.path.join(mnt, "alice/Maildir")
            with open(os.path.join(maildir, "tmp", "1795000000.M1P1.mx"), "wb") as f:
                f.write(NEW_MAIL)
                f.flush()
                os.fsync(f.fileno())
            os.rename(os.path.join(maildir, "tmp", "1795000000.M1P1.mx"),
                      os.path.join(maildir, "new", "1795000000.M1P1.mx"))

            live = snapshot(mnt)
        finally:
            status = mount.stop()
        results.check("daemon exits 0", [] if status == 0 else [f"exit {status}"])

        uidv, inbox = live["INBOX"]
        problems = []
        if uidv != 1583136845:
            problems.append(f"UIDVALIDITY {uidv}")
        if sorted(inbox) != [3, 7, 8 + M, 9 + M]:
            problems.append(f"UIDs {sorted(inbox)}")
        if inbox.get(3) != (tuple(sorted(["$Label1", "\\Answered", "\\Flagged", "\\Seen"])),
                            alice_body[3]):
            problems.append(f"UID 3: {inbox.get(3)}")
        if inbox.get(7) != (("Junk", "\\Seen"), alice_body[7]):
            problems.append(f"UID 7: {inbox.get(7)}")
        if inbox.get(8 + M, ((),))[0] != ("\\Seen",):
            problems.append(f"UID {8 + M} (appended): {inbox.get(8 + M)}")
        if inbox.get(9 + M, (0, 0))[1] != hashlib.sha256(NEW_MAIL).hexdigest():
            problems.append(f"UID {9 + M} (delivered) missing or different")
        results.check("second session sees INBOX as changed", problems)

        uidv, sent = live["INBOX.sent-mail"]
        results.check("second session: sent-mail lost UID 2 to Trash, has the COPY as UID 3 "
                      "plus the margin",
                      [] if uidv == 1583137200 and sorted(sent) == [3 + M] and
                      sent[3 + M][1] == alice_body[7] else [f"{uidv} {sent}"])
        _, trash = live["INBOX.Trash"]
        results.check("second session: Trash holds the moved message",
                      [] if [h for _, h in trash.values()] == [sent_body[2]] else [f"{trash}"])
        _, cv = live["INBOX.CV"]
        results.check("second session: the renamed old folder keeps its message",
                      [] if len(cv) == 1 else [f"{cv}"])
        want_list = {"INBOX", "INBOX.sent-mail", "INBOX.CV", "INBOX.Trash", "INBOX.NewFolder"}
        results.check("LIST after CREATE and RENAME", [] if live["LIST"] == want_list else
                      [f"{live['LIST']}"])
        results.check("LSUB after SUBSCRIBE and UNSUBSCRIBE",
                      [] if "INBOX.NewFolder" in live["LSUB"] and "INBOX.sent-mail" not in
                      live["LSUB"] else [f"{live['LSUB']}"])
        results.check("DELETE of an old folder", [] if live["bob LIST"] == {"INBOX"} else
                      [f"{live['bob LIST']}"])

        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            again = snapshot(mnt)
        finally:
            mount.stop()
        diff = [k for k in live if live[k] != again[k]]
        results.check("after a remount everything is as it was, UIDVALIDITY included",
                      [] if not diff else [f"{k}: {live[k]} -> {again[k]}" for k in diff])
        results.check("source mboxes byte-identical",
                      [] if harness.tree_checksum(old) == before else ["changed"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
