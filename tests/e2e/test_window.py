#!/usr/bin/env python3
"""End to end, the migration window (DESIGN.md "Sources"): UW's own c-client
(tests/oracle/cclient_change, the library uw-imapd is built on, used
read-write as uw-imapd uses it) changes a mounted mbox while the real Courier
imapd serves it and changes it too:

- c-client flags one message, expunges another and takes in new mail, while
  Courier has flagged a third (and c-client changes that one as well): at
  its next scan Courier serves c-client's view with Courier's change on top,
  under the same UIDVALIDITY, the new mail under the UID c-client gave it;
- Courier's own APPEND then gets a UID no old-server message can get (the
  margin of index/courier_files.h), and late old-server mail after that
  never gets a UID Courier gave to another message;
- the same view after a remount;
- a file changed as c-client never changes one (garbled in place) is not
  served, the healthy account beside it is, and once the file is restored it
  is served again.

usage: test_window.py MBOXFS CCLIENT_CHANGE
"""
import hashlib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, append, fetch_all, select  # noqa: E402
from test_crash_concurrency import COUNT, UIDV, old_mbox  # noqa: E402

NEW_MAIL = b"From: late@example.org\nSubject: late %d\n\nDelivered by the old server.\n"
APPENDED = b"From: courier@example.org\r\nSubject: appended\r\n\r\nAppended on Courier.\r\n"


def sha(data):
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def view(imap):
    """{uid: (flags, sha256 of the body)} of the selected mailbox."""
    return {u: (frozenset(m["flags"]) - {"\\Recent"}, sha(m["body"]))
            for u, m in fetch_all(imap).items()}


def change(cclient, mbox, *commands):
    run = subprocess.run([cclient, mbox, *commands], capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise RuntimeError(f"cclient_change {commands}: {run.stderr}")


def main():
    mboxfs, cclient = sys.argv[1:3]
    harness.require_environment()
    harness.require_cclient(cclient)
    work = harness.workdir()
    results = harness.Results()
    margin = harness.late_uid_margin()
    old = os.path.join(work, "old")
    os.makedirs(old)
    mbox = os.path.join(old, "user")
    old_mbox(mbox)
    old_mbox(os.path.join(old, "other"))
    map_path = os.path.join(old, "accounts.map")
    with open(map_path, "w") as f:
        f.write("user/Maildir inbox=user pop3=off\nother/Maildir inbox=other\n")
    for n in (1, 2):
        with open(os.path.join(work, f"late{n}"), "wb") as f:
            f.write(NEW_MAIL % n)
    state, mnt = os.path.join(work, "state"), os.path.join(work, "mail")
    bodies = {m["uid"]: m["sha256_lf"] for m in harness.show(mboxfs, mbox)["messages"]}
    try:
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            other = Imapd(os.path.join(mnt, "other/Maildir"))
            select(other, "INBOX")
            other_before = view(other)
            other.close()
            imap = Imapd(os.path.join(mnt, "user/Maildir"))
            select(imap, "INBOX", examine=False)
            before = view(imap)
            status, _ = imap.command("UID STORE 10 +FLAGS (\\Flagged)")  # Courier's change
            change(cclient, mbox, "flag", "10", "\\Answered", "flag", "11", "\\Flagged",
                   "expunge", "12", "append", os.path.join(work, "late1"))
            status, untagged = imap.command("NOOP")
            now = view(imap)
            late_uid = COUNT + 1
            problems = []
            if uidv_of(imap) != UIDV:
                problems.append(f"UIDVALIDITY {uidv_of(imap)}")
            if "\\Flagged" not in now.get(11, ((),))[0]:
                problems.append(f"UID 11 flagged by the old server: {now.get(11)}")
            if 12 in now or not any(b"EXPUNGE" in p[0] for p in untagged):
                problems.append("UID 12 expunged by the old server is still there")
            if now.get(late_uid, (0, 0))[1] != sha(NEW_MAIL % 1):
                problems.append(f"new mail not served as UID {late_uid}: "
                                f"{sorted(set(now) - set(before))}")
            want10 = (before[10][0] | {"\\Flagged"}, before[10][1])
            if now.get(10) != want10:
                problems.append(f"UID 10: {now.get(10)}, Courier's change should win: {want10}")
            for uid, (flags, digest) in now.items():
                if uid in bodies and digest != bodies[uid]:
                    problems.append(f"UID {uid}: other bytes")
            results.check("c-client flags, expunges, delivers; Courier sees it with its own "
                          "change on top, same UIDVALIDITY", problems)

            status = append(imap, "INBOX", "", APPENDED)
            appended = int(status.split("APPENDUID")[1].split()[1].rstrip("]"))
            change(cclient, mbox, "append", os.path.join(work, "late2"))
            imap.command("NOOP")
            now = view(imap)
            late2 = [u for u, (_, d) in now.items() if d == sha(NEW_MAIL % 2)]
            problems = []
            if appended < late_uid + margin:
                problems.append(f"APPEND got UID {appended}, inside the old server's range")
            if now.get(appended, (0, 0))[1] != sha(APPENDED):
                problems.append(f"UID {appended} is not the appended message")
            # c-client gives late2 UID late_uid + 1; Courier serves it either
            # under that UID or (once Courier wrote its own UID list) under a
            # UID of its own, never under one that names another message
            if len(late2) != 1 or late2[0] == appended or late2[0] in bodies:
                problems.append(f"late mail after APPEND under UIDs {late2}")
            results.check("Courier's APPEND gets a UID above the margin; late mail never "
                          "takes a UID of another message", problems)
            imap.close()
            final = None
        finally:
            mount.stop()
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            imap = Imapd(os.path.join(mnt, "user/Maildir"))
            final = select(imap, "INBOX"), view(imap)
            imap.close()
            results.check("after a remount: the same view",
                          [] if final == (UIDV, now) else [f"{sorted(final[1])[-4:]}"])

            with open(mbox, "rb") as f:
                good = f.read()
            # not a c-client change: the bodies garbled in place, so that every
            # UID now names other bytes (a file only cut short is served up to
            # the cut: test_source_changes.py)
            with open(mbox, "r+b") as f:
                f.write(good.replace(b"Body of message", b"BODY OF MESSAGE"))
            imap = Imapd(os.path.join(mnt, "user/Maildir"))
            status, _ = imap.command("SELECT INBOX")
            imap.close()
            problems = [] if " OK " not in status else [f"garbled mbox: SELECT {status}"]
            other = Imapd(os.path.join(mnt, "other/Maildir"))
            select(other, "INBOX")
            if view(other) != other_before:
                problems.append("the healthy account changed")
            other.close()
            with open(mbox, "r+b") as f:
                f.write(good)
            imap = Imapd(os.path.join(mnt, "user/Maildir"))
            restored = select(imap, "INBOX"), view(imap)
            imap.close()
            if restored != final:
                problems.append("not served as before once restored")
            results.check("a garbled mbox is not served, the healthy account is; restored, "
                          "it is served again", problems)
        finally:
            mount.stop()
    finally:
        subprocess.run(["fusermount3", "-uz", mnt], stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


def uidv_of(imap):
    status, untagged = imap.command("STATUS INBOX (UIDVALIDITY)")
    text = b"".join(untagged[0]).decode() if untagged else ""
    return int(text.split("UIDVALIDITY")[1].split(")")[0]) if "UIDVALIDITY" in text else None


if __name__ == "__main__":
    sys.exit(main())
