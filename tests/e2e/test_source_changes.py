"""A source mbox truncated while mounted (DESIGN.md, "Sources": bytes that are
gone read as EIO, never as a short success, never a signal).

A hostile tree in a temporary directory: the bundled example (alice, a healthy
account) and trunc, whose INBOX alternates CRLF and LF messages of several
pages each. With real Courier imapd sessions open on both, trunc's mbox is cut
in the middle of a message. Then:
  - the messages still inside the file read exactly, through the mount and
    through imapd; those past the cut read as EIO (CRLF ones are copied from
    the mapping, LF ones spliced from the file: both paths; open() already
    fails), and imapd never serves a short body: it serves its own "message
    unavailable" placeholder for a file it cannot open;
  - moving a gone message to another folder (a copy-up) fails with EIO;
  - trunc's generated courierpop3dsizelist reads as EIO;
  - the daemon lives on, logs the truncation once, and alice is served
    exactly before, during and after, by imapd.

usage: test_source_changes.py MBOXFS EXAMPLES_DIR
"""
import errno
import hashlib
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, fetch_all, select  # noqa: E402

UIDV = 1500000000
# What Courier imapd serves, with OK, for a message file it cannot open
# (strings of /usr/bin/imapd): an honest placeholder, not a short message.
UNAVAILABLE = b"This message is no longer available on the server."
COUNT = 10


def write_trunc_mbox(path):
    """COUNT messages of ~9 KB (more than two pages), odd UIDs CRLF, even LF.
    Returns the file offset of each message's From_ line."""
    offsets = []
    with open(path, "wb") as f:
        for uid in range(1, COUNT + 1):
            offsets.append(f.tell())
            nl = b"\r\n" if uid % 2 else b"\n"
            head = f"From x@example.org Mon Jan  6 10:00:{uid:02d} 2020\n".encode()
            lines = [b"Subject: message %d" % uid, b"X-UID: %d" % uid]
            if uid == 1:
                lines.insert(0, b"X-IMAPbase: %d %d" % (UIDV, COUNT))
            body = [b"line %04d of message %d %s" % (i, uid, b"x" * 40) for i in range(130)]
            f.write(head + nl.join(lines) + nl + nl + nl.join(body) + nl + nl)
    return offsets


def read_file(path):
    """(bytes, None) or (None, errno)."""
    try:
        with open(path, "rb") as f:
            return f.read(), None
    except OSError as e:
        return None, e.errno


def served_view(imap, folder):
    select(imap, folder)
    return {uid: (m["size"], hashlib.sha256(m["body"]).hexdigest())
            for uid, m in fetch_all(imap).items()}


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        old, map_path, state, mnt = tree.old, tree.map, tree.state, tree.mnt
        trunc_mbox = os.path.join(old, "spool", "trunc")
        offsets = write_trunc_mbox(trunc_mbox)
        os.makedirs(os.path.join(old, "home", "trunc"))
        with open(os.path.join(old, "home", "trunc", "Other"), "w"):
            pass  # an empty folder to move messages to
        with open(map_path, "a") as f:
            f.write("trunc/Maildir inbox=spool/trunc home=home/trunc\n")
        harness.index(mboxfs, map_path, state)
        view = harness.show(mboxfs, trunc_mbox)
        by_uid = {m["uid"]: m for m in view["messages"]}
        cut_uid = 6  # the cut falls inside message 6: 1-5 stay, 6-10 go
        cut = offsets[cut_uid - 1] + 3000

        mount = harness.Mount(mboxfs, map_path, state, mnt)
        healthy = trunc_imap = None
        try:
            alice_root = os.path.join(mnt, "alice/Maildir")
            healthy = Imapd(alice_root)
            alice_before = served_view(healthy, "INBOX")
            trunc_root = os.path.join(mnt, "trunc/Maildir")
            cur = os.path.join(trunc_root, "cur")
            trunc_imap = Imapd(trunc_root)
            select(trunc_imap, "INBOX")
            # INBOX names are uw-ipop3d's UIDLs (DESIGN.md, "Names and identity")
            names = {}
            for name in os.listdir(cur):
                for uid in by_uid:
                    if name.split(":")[0] == "%08x%08x" % (UIDV, uid):
                        names[uid] = name
            results.check("the mount lists every message of trunc",
                          [] if sorted(names) == sorted(by_uid) else [f"listed {sorted(names)}"])

            os.truncate(trunc_mbox, cut)  # the old server's mbox loses its tail

            problems = []
            for uid, name in sorted(names.items()):
                data, err = read_file(os.path.join(cur, name))
                if uid < cut_uid:
                    if err or hashlib.sha256(data).hexdigest() != by_uid[uid]["sha256_lf"]:
                        problems.append(f"UID {uid} inside the file: errno {err}, "
                                        f"{len(data or b'')} bytes")
                elif err != errno.EIO:
                    problems.append(f"UID {uid} ({'CRLF' if uid % 2 else 'LF'}) past the cut: "
                                    f"errno {err}, {len(data or b'')} bytes served")
            results.check("after the cut: messages inside the file exact, past it EIO",
                          problems)

            problems = []
            for uid in range(1, COUNT + 1):
                try:
                    status, resp = trunc_imap.command(f"UID FETCH {uid} BODY.PEEK[]")
                except RuntimeError as e:
                    problems.append(f"UID {uid}: imapd died: {e}")
                    break
                bodies = [p[1] for p in resp if len(p) > 1 and b" FETCH " in p[0]]
                for body in bodies:  # IMAP sends CRLF line ends
                    lf = body.replace(b"\r\n", b"\n")
                    if uid >= cut_uid and UNAVAILABLE in lf:
                        continue  # imapd could not open the file: it says so
                    if hashlib.sha256(lf).hexdigest() != by_uid[uid]["sha256_lf"]:
                        problems.append(f"UID {uid}: imapd served {len(body)} wrong bytes "
                                        f"({status})")
                if uid < cut_uid and (" OK " not in status or len(bodies) != 1):
                    problems.append(f"UID {uid} inside the file: {status}, {len(bodies)} bodies")
            results.check("imapd on trunc: whole bodies inside the file, never a short one",
                          problems)

            problems = []
            other_cur = os.path.join(trunc_root, ".Other", "cur")
            for uid in (cut_uid + 1, cut_uid + 2):  # one CRLF, one LF
                try:
                    os.rename(os.path.join(cur, names[uid]), os.path.join(other_cur, names[uid]))
                    problems.append(f"UID {uid}: moved although its bytes are gone")
                except OSError as e:
                    if e.errno != errno.EIO:
                        problems.append(f"UID {uid}: move failed with {errno.errorcode.get(e.errno)}")
            results.check("moving a gone message to another folder fails with EIO", problems)

            _, err = read_file(os.path.join(trunc_root, "courierpop3dsizelist"))
            results.check("trunc's courierpop3dsizelist reads as EIO",
                          [] if err == errno.EIO else [f"errno {err}"])

            problems = [] if mount.proc.poll() is None else [f"exit {mount.proc.returncode}"]
            alice_after = served_view(healthy, "INBOX")
            if alice_after != alice_before:
                problems.append("alice's INBOX served differently through imapd")
            fresh = Imapd(alice_root)
            if served_view(fresh, "INBOX") != alice_before:
                problems.append("a new imapd session on alice sees something else")
            fresh.close()
            results.check("the daemon lives on and serves alice exactly", problems)
        finally:
            for session in (healthy, trunc_imap):
                if session:
                    try:
                        session.close()
                    except (RuntimeError, OSError, ValueError):
                        pass
            code = mount.stop()
        with open(os.path.join(work, "mount.log"), errors="replace") as f:
            log = f.read()
        lines = [line for line in log.splitlines() if "trunc" in line and "shrank" in line]
        results.check("one log line for the truncated mbox, the daemon exits 0",
                      [] if len(lines) == 1 and code == 0 else
                      [f"exit {code}, {len(lines)} lines", log[-1500:]])
        results.check("nothing but the cut source changed (no write to a source)",
                      [] if os.path.getsize(trunc_mbox) == cut else ["size changed"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
