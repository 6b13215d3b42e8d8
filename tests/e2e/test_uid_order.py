"""A folder whose UIDs do not ascend in file order, served by the mount.

The daemon finds a message by its UID with a binary search over the messages
when their UIDs ascend in file order (the usual case), else over their indexes
sorted by UID (fs/accounts.c). UIDs stop ascending when mboxfs gives the UIDs
(no X-UID headers: rule any-stable) and a message in the middle of the mbox
changes: the rebuild keeps the UIDs of the others and gives the changed one a
UID above every UID given before (index/store.h). Here: such a folder, and
every message of it, found through the mount by name (listing, open, read) and
by Courier's imapd (UID FETCH, a STORE that renames it), exactly as
`mboxfs show --state` (the index's view) says.

usage: test_uid_order.py MBOXFS
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd  # noqa: E402

COUNT = 8
CHANGED = 3  # 0-based: a message in the middle


def message(i, extra=b""):
    return (f"From x@example.org Mon Jan  6 10:00:{i:02d} 2020\n"
            f"Subject: message {i}\nMessage-ID: <{i}@example.org>\n\n"
            f"body of message {i}\n").encode() + extra + b"\n"


def show(mboxfs, map_path, state, mbox):
    out = subprocess.run([mboxfs, "show", "--json", "--source-tz", "UTC", "--state", state,
                          "--map", map_path, mbox], check=True, capture_output=True,
                         env=dict(os.environ, TZ="UTC"))
    return json.loads(out.stdout)


def main():
    harness.require_environment()
    mboxfs = os.path.abspath(sys.argv[1])
    work = harness.workdir()
    checks = harness.Results()
    mount = None
    try:
        mail = os.path.join(work, "old")
        os.makedirs(os.path.join(mail, "folders"))
        with open(os.path.join(mail, "inbox"), "wb") as f:
            f.write(message(0))
        old = os.path.join(mail, "folders", "Old")
        with open(old, "wb") as f:
            f.write(b"".join(message(i) for i in range(COUNT)))
        map_path = os.path.join(work, "map")
        with open(map_path, "w") as f:
            f.write(f"u/Maildir inbox={mail}/inbox folders={mail}/folders\n")
        state = os.path.join(work, "state")
        harness.index(mboxfs, map_path, state)
        before = show(mboxfs, map_path, state, old)
        # the message in the middle changes: the mount's open rebuilds the index
        with open(old, "wb") as f:
            f.write(b"".join(message(i, b"changed\n" if i == CHANGED else b"")
                             for i in range(COUNT)))
        os.makedirs(os.path.join(work, "upper"))
        mount = harness.Mount(mboxfs, map_path, state, os.path.join(work, "mnt"),
                              upper=os.path.join(work, "upper"))
        cur = os.path.join(work, "mnt", "u", "Maildir", ".Old", "cur")
        names = sorted(os.listdir(cur))  # the folder is loaded (and rebuilt) here
        view = show(mboxfs, map_path, state, old)
        uids = [m["uid"] for m in view["messages"]]
        checks.check("the rebuild keeps the other UIDs and gives the changed message a new, "
                     "higher one: UIDs do not ascend in file order", [] if (
                         uids[:CHANGED] + uids[CHANGED + 1:] ==
                         [m["uid"] for i, m in enumerate(before["messages"]) if i != CHANGED]
                         and uids[CHANGED] > max(m["uid"] for m in before["messages"])
                         and uids != sorted(uids)) else
                     [f"UIDs before {[m['uid'] for m in before['messages']]}, after {uids}"])
        want = {m["name"]: m for m in view["messages"]}
        problems = [] if names == sorted(want) else [f"listed {names}, index {sorted(want)}"]
        for name, m in want.items():
            path = os.path.join(cur, name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError as e:
                problems.append(f"{name}: {e}")
                continue
            if hashlib.sha256(data).hexdigest() != m["sha256_lf"]:
                problems.append(f"{name}: other bytes than the index's")
        checks.check("every message is listed, opened and read by its name", problems)

        imap = Imapd(os.path.join(work, "mnt", "u", "Maildir"))
        imap.command('SELECT "INBOX.Old"')
        status, resp = imap.command("UID FETCH 1:* (UID RFC822.SIZE)")
        got = {}
        for parts in resp:
            m = re.search(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)", parts[0])
            if m:
                uid, size = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
                got[int(uid)] = int(size)
        expect = {m["uid"]: m["size"] for m in view["messages"]}
        checks.check("imapd serves every UID with its size", [] if got == expect else
                     [f"imapd {got}, index {expect}"])
        top = max(uids)
        status, _ = imap.command(f"UID STORE {top} +FLAGS (\\Flagged)")
        imap.close()
        flagged = [n for n in os.listdir(cur) if n.split(":2,")[0] == want[
            view["messages"][CHANGED]["name"]]["name"].split(":2,")[0]]
        checks.check("a STORE on the message with the highest UID, in the middle of the file, "
                     "renames it with F", [] if " OK" in status and len(flagged) == 1 and
                     "F" in flagged[0].split(":2,")[1] else [f"{status}; {flagged}"])
    finally:
        if mount:
            mount.stop()
        harness.end_gam_servers()
        shutil.rmtree(work, ignore_errors=True)
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
