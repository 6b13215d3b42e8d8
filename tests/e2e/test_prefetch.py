#!/usr/bin/env python3
"""Messages pushed into the page cache ahead of Courier's reads (fs/prefetch.c):
a read of a message the page cache lacks makes the daemon push the messages
after it, so that reading a mailbox through the mount message after message,
as Courier's FETCH 1:* does, sends few READ requests, and every message still
reads as exactly what the daemon serves (mboxfs show: sha256_lf), whether it
was pushed or read: messages with CRLF lines, a NUL, status lines cut out, one
too large to push. Then Courier imapd serves the same bodies on a new mount
as on this one. libfuse's --debug log counts the daemon's READs.

usage: test_prefetch.py MBOXFS
"""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import inbox  # noqa: E402

COUNT = 200
LARGE = 57  # a message larger than prefetch.c pushes (PREFETCH_MAX_MESSAGE)


def old_mbox(path):
    with open(path, "wb") as f:
        for i in range(1, COUNT + 1):
            eol = b"\r\n" if i % 10 == 3 else b"\n"
            f.write(b"From sender@example.org Mon Jan  6 10:%02d:%02d 2020%s"
                    % (i // 60 % 60, i % 60, eol))
            head = [b"From: sender@example.org", b"Subject: message %d" % i,
                    b"Message-ID: <p%d@example.org>" % i, b"Status: RO" if i % 3 else b"Status: O"]
            f.write(eol.join(head) + eol + eol)
            body = b"Body of message %d." % i + eol + b"y" * (i * 37 % 5000) + eol
            if i % 10 == 7:
                body += b"a NUL \0 byte" + eol
            if i == LARGE:
                body += (b"z" * 77 + eol) * 4000  # about 300 KiB
            f.write(body + eol)


def read_all(cur, names):
    """{UID: SHA-256 of the file} of the names of cur/, read in that order."""
    out = {}
    for n in names:
        with open(os.path.join(cur, n), "rb") as f:
            out[harness.uid_of(n)] = hashlib.sha256(f.read()).hexdigest()
    return out


def main():
    mboxfs = sys.argv[1]
    harness.require_environment()
    results = harness.Results()
    with harness.work_dir(results) as work:
        old, map_path, state, mnt = harness.old_account(work, "prefetch", old_mbox)
        mbox = os.path.join(old, "user")
        want = {m["uid"]: m["sha256_lf"] for m in harness.show(mboxfs, mbox)["messages"]}
        maildir = os.path.join(mnt, "user/Maildir")
        cur = os.path.join(maildir, "cur")

        mount = harness.Mount(mboxfs, map_path, state, mnt, debug=True)
        try:
            in_uid_order = sorted(os.listdir(cur), key=harness.uid_of)  # nodes for the pushes
            results.check("cur/ lists every message",
                          [] if [harness.uid_of(n) for n in in_uid_order] == sorted(want) else
                          [f"UIDs {[harness.uid_of(n) for n in in_uid_order]}"])
            before = mount.requests("READ")
            got = read_all(cur, in_uid_order)
            reads = mount.requests("READ") - before
            results.check(f"{COUNT} messages read in UID order: every one as served",
                          [f"UID {u}" for u, h in want.items() if got.get(u) != h])
            # without pushes, one READ per message (the large one: a few); with
            # them about one per window of 32, more when a read overtakes
            # the pushing thread (a loaded machine, sanitizers)
            print(f"     ({reads} READs for {COUNT} messages)")
            results.check(f"... with few READs (at most {COUNT // 4})",
                          [] if reads <= COUNT // 4 else [f"{reads} READs"])
            again = read_all(cur, list(reversed(in_uid_order)))
            results.check("read again, the other way: the same bytes",
                          [f"UID {u}" for u, h in want.items() if again.get(u) != h])
            served = {u: m["body"] for u, m in inbox(maildir).items()}
        finally:
            status = mount.stop()
        results.check("the daemon ends with status 0", [f"status {status}"] if status else [])

        # a new mount whose first reads come in reverse order: the pushes
        # go ahead of reads that never come, the reads get what they asked
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            backwards = sorted(os.listdir(cur), key=harness.uid_of, reverse=True)
            got = read_all(cur, backwards)
            results.check("a new mount, read backwards: every message as served",
                          [f"UID {u}" for u, h in want.items() if got.get(u) != h])
            now = {u: m["body"] for u, m in inbox(maildir).items()}
        finally:
            status = mount.stop()
        results.check("Courier serves the same bodies on both mounts",
                      [f"UID {u}" for u in sorted(set(now) | set(served))
                       if now.get(u) != served.get(u)] + ([] if len(now) == COUNT else
                                                          [f"{len(now)} messages"]))
        results.check("the second daemon ends with status 0",
                      [f"status {status}"] if status else [])
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
