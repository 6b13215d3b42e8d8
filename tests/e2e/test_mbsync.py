#!/usr/bin/env python3
"""End to end with a real caching client: mbsync (isync) keeps UIDVALIDITY and
UIDs per folder in its sync state, as Thunderbird or Outlook do in their caches.

1. mbsync pulls the example account (INBOX and folders) from Courier on the
   mboxfs mount: the UIDs and UIDVALIDITY uw-imapd served (the read test proves
   the mount equals c-client's view).
2. The same client state, pointed at Courier on the maildir plain mb2md made of
   the same mbox: mbsync must refuse with a UIDVALIDITY change. That is the
   migration problem.
3. The same client state, pointed at a fresh mount of the same tree: no
   UIDVALIDITY change, nothing new, nothing changed in the client's copy.
4. Two-way: the client flags one message, deletes another and adds a new one;
   mbsync pushes it all to the mount (flag changes and expunges of old
   messages, an APPEND); both sides are then equal, also after a remount, and a
   further sync changes nothing.

usage: test_mbsync.py MBOXFS EXAMPLES_DIR
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import GAM_CLIENT_ID, Imapd, fetch_all, select  # noqa: E402

CONFIG = """IMAPStore far
Tunnel "env -i PATH=/usr/bin:/bin GAM_CLIENT_ID={gam_client_id} sh -c 'set -a; . /etc/courier/imapd; AUTHENTICATED=root; HOME=/; TZ=UTC; exec /usr/bin/imapd {maildir}'"

MaildirStore near
Path {near}/
Inbox {near}/INBOX
SubFolders Verbatim

Channel ch
Far :far:
Near :near:
Patterns *
Create Near
Sync {sync}
Expunge {expunge}
SyncState *
"""

LETTERS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def mbsync(work, maildir, near, two_way=False):
    os.makedirs(near, exist_ok=True)
    config = os.path.join(work, "mbsyncrc")
    with open(config, "w") as f:
        f.write(CONFIG.format(maildir=maildir, near=near, sync="All" if two_way else "Pull",
                              expunge="Both" if two_way else "None",
                              gam_client_id=GAM_CLIENT_ID))
    out = subprocess.run(["mbsync", "-V", "-c", config, "ch"], cwd=work, capture_output=True,
                         text=True, timeout=120)
    return out.returncode, out.stdout + out.stderr


def messages(near):
    """{path below near: sha256} of every message the client holds."""
    out = {}
    for dirpath, _, files in os.walk(near):
        if os.path.basename(dirpath) in ("cur", "new"):
            for name in files:
                path = os.path.join(dirpath, name)
                out[os.path.relpath(path, near)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return out


def message_id(data):
    m = re.search(rb"^Message-ID: *(\S+)", data, re.M | re.I)
    return m.group(1).decode() if m else None


def near_inbox(near):
    """{Message-ID: sorted IMAP flags} of the client's INBOX."""
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(near, "INBOX", sub)
        for name in os.listdir(d):
            info = name.split(":2,")[1] if ":2," in name else ""
            out[message_id(open(os.path.join(d, name), "rb").read())] = sorted(
                LETTERS[c] for c in info if c in LETTERS)
    return out


def far_inbox(maildir):
    imap = Imapd(maildir)
    try:
        select(imap, "INBOX")
        return {message_id(m["body"]): sorted(f for f in m["flags"]
                                              if f.startswith("\\") and f != "\\Recent")
                for m in fetch_all(imap).values()}
    finally:
        imap.close()


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    if not shutil.which("mbsync") or not shutil.which("mb2md"):
        print("SKIP: needs mbsync (isync) and mb2md")
        return harness.SKIP
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        old, map_path, state, mnt = tree.old, tree.map, tree.state, tree.mnt
        maildir = os.path.join(mnt, "alice/Maildir")
        near = os.path.join(work, "client")

        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            rc, out = mbsync(work, maildir, near)
        finally:
            mount.stop()
        got = messages(near)
        results.check("first sync from the mount", [] if rc == 0 and len(got) == 5 else
                      [f"mbsync exit {rc}, {len(got)} messages", out[-2000:]])

        # the migration problem: the same client against mb2md's conversion
        converted = os.path.join(work, "mb2md", "Maildir")
        os.makedirs(os.path.dirname(converted))
        conv = subprocess.run(["mb2md", "-s", os.path.join(old, "spool/alice"), "-d", converted],
                              env=dict(os.environ, HOME=work), capture_output=True, text=True)
        client2 = os.path.join(work, "client-mb2md")
        shutil.copytree(near, client2)
        rc2, out2 = mbsync(work, converted, client2)
        results.check("mb2md's maildir: mbsync reports a UIDVALIDITY change",
                      [] if conv.returncode == 0 and rc2 != 0 and "UIDVALIDITY" in out2.upper() else
                      [f"mb2md exit {conv.returncode}, mbsync exit {rc2}", out2[-2000:]])

        # the same client against a fresh mount: nothing to do
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            rc3, out3 = mbsync(work, maildir, near)
        finally:
            mount.stop()
        problems = []
        if rc3 != 0 or "UIDVALIDITY" in out3.upper():
            problems.append(f"mbsync exit {rc3}: {out3[-2000:]}")
        if messages(near) != got:
            problems.append("the client's copy changed")
        results.check("mount again: no UIDVALIDITY change, nothing changed", problems)

        # two-way: changes made in the client go to the mount
        cur = os.path.join(near, "INBOX", "cur")
        names = sorted(os.listdir(cur))
        flagged = names[0].split(":2,")[0] + ":2," + "".join(
            sorted(set(names[0].split(":2,")[1]) | {"F"}))
        os.rename(os.path.join(cur, names[0]), os.path.join(cur, flagged))
        os.unlink(os.path.join(cur, names[1]))
        with open(os.path.join(near, "INBOX", "new", "1795000001.M1P1.client"), "wb") as f:
            f.write(b"From: alice@example.net\nSubject: written in the client\n"
                    b"Message-ID: <client-1@example.net>\n\nhello\n")
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            rc4, out4 = mbsync(work, maildir, near, two_way=True)
            far = far_inbox(maildir)
        finally:
            mount.stop()
        near_view = near_inbox(near)
        problems = [] if rc4 == 0 else [f"mbsync exit {rc4}: {out4[-2000:]}"]
        if far != near_view or len(far) != 3:
            problems.append(f"far {far} != near {near_view}")
        results.check("two-way sync: flag, delete and new message reach the mount", problems)
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            again = far_inbox(maildir)
            rc5, out5 = mbsync(work, maildir, near, two_way=True)
        finally:
            mount.stop()
        results.check("after a remount both sides are still equal and a sync changes nothing",
                      [] if again == far and rc5 == 0 and near_inbox(near) == near_view else
                      [f"{again} / {near_inbox(near)} / exit {rc5}: {out5[-1000:]}"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
