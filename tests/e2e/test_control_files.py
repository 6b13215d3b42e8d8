#!/usr/bin/env python3
"""End to end, the generated control files (courierimapuiddb,
courierpop3dsizelist) while the old server delivers, on a mount where the
kernel opens files without asking the daemon (fs/control_snapshot.c):

- a reader that opened courierimapuiddb before UW's c-client
  (tests/oracle/cclient_change) delivered new mail reads the file as it was,
  whole, as a reader of a real maildir's file that Courier replaces by
  rename does; the next open shows the new mail, under another inode;
- the same for pop3d's courierpop3dsizelist;
- Courier's imapd serves the new mail at once under c-client's UID, and its
  next session too (no stale copy of the file is served).

usage: test_control_files.py MBOXFS CCLIENT_CHANGE
"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, fetch_all, select  # noqa: E402
from test_crash_concurrency import COUNT, old_mbox  # noqa: E402
from test_window import change  # noqa: E402

NEW_MAIL = b"From: late@example.org\nSubject: late\n\nDelivered by the old server.\n"


def read_all(path):
    with open(path, "rb") as f:
        return f.read(), os.fstat(f.fileno()).st_ino


def check_replaced(path, deliver):
    """Opens path and reads a little, delivers, then compares. Problems."""
    before, ino_before = read_all(path)
    problems = []
    with open(path, "rb", buffering=0) as held:
        head = held.read(16)
        deliver()
        after, ino_after = read_all(path)
        rest = held.read()
        if head + rest != before:
            problems.append(f"{os.path.basename(path)}: an open reader read other bytes "
                            f"({len(head + rest)} against {len(before)})")
        if os.fstat(held.fileno()).st_ino != ino_before:
            problems.append(f"{os.path.basename(path)}: the open file changed inode")
    if after == before or ino_after == ino_before:
        problems.append(f"{os.path.basename(path)}: the next open shows the same file "
                        f"(inode {ino_after}, {len(after)} bytes)")
    return problems, after


def main():
    mboxfs, cclient = sys.argv[1:3]
    harness.require_environment()
    harness.require_cclient(cclient)
    work = harness.workdir()
    results = harness.Results()
    old, map_path, state, mnt = harness.old_account(work, "control", old_mbox, options="")
    mbox = os.path.join(old, "user")
    for n in (1, 2):
        with open(os.path.join(work, f"late{n}"), "wb") as f:
            f.write(NEW_MAIL)
    maildir = os.path.join(mnt, "user/Maildir")

    def deliver(n):
        change(cclient, mbox, "append", os.path.join(work, f"late{n}"))

    try:
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            problems, uiddb = check_replaced(os.path.join(maildir, "courierimapuiddb"),
                                             lambda: deliver(1))
            if not any(line.split(b" ")[0] == b"%d" % (COUNT + 1)
                       for line in uiddb.splitlines()[1:]):
                problems.append(f"courierimapuiddb lacks the new UID {COUNT + 1}")
            imap = Imapd(maildir)
            select(imap, "INBOX")
            if COUNT + 1 not in fetch_all(imap):
                problems.append(f"imapd does not serve UID {COUNT + 1}")
            imap.close()
            results.check("courierimapuiddb: an open reader reads its file whole, the next "
                          "open and imapd see the old server's new mail", problems)

            problems, sizelist = check_replaced(os.path.join(maildir, "courierpop3dsizelist"),
                                                lambda: deliver(2))
            imap = Imapd(maildir)
            select(imap, "INBOX")
            if COUNT + 2 not in fetch_all(imap):
                problems.append(f"a new imapd session does not serve UID {COUNT + 2}")
            imap.close()
            results.check("courierpop3dsizelist: the same; a new imapd session serves the "
                          "next delivery", problems)
        finally:
            mount.stop()
    finally:
        subprocess.run(["fusermount3", "-uz", mnt], stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
