#!/usr/bin/env python3
"""Load: SESSIONS concurrent Courier sessions (IMAP and POP3, several on the
same mailbox and on different ones) on one mount for DURATION seconds, over
pipes only (imapd and pop3d pre-authenticated, nothing on the network), then
a remount and a check that every change Courier answered OK is there and no
UID names two messages.

Each mailbox has IMAP_PER_BOX sessions; session k of a mailbox owns the old
UIDs congruent to k, so the expected end state is exact although they run at
once: it flags and unflags its own messages, expunges some, appends new ones,
and reads the bodies of everyone's (the flag changes are journal records,
the appends real files, the reads of virtual messages splices from the
mbox; two plain readers check the bytes as well). POP3 sessions list UIDLs
of INBOXes in which IMAP sessions append and read at the same time: every
UIDL they print must stay the one uw-ipop3d printed (or pop3d's own for
appended mail).

What the workload leaves out is what Courier gets wrong by itself, on a
plain maildir on ext4 too (run this file with NATIVE=1 to see it on the
materialized tree, no mount): a STORE's rename racing with another
session's scan of the folder makes the scan miss the file, so Courier drops
its UID and numbers it anew; pop3d dies (SIGSEGV) when IMAP sessions rename
and expunge in its mailbox meanwhile, and its RETR renames too. So POP3
sessions share mailboxes only with sessions that append and read, and
sessions rename only old messages (on the mount a listing of those is a
snapshot, which the race cannot hit).

usage: test_load.py MBOXFS     (environment: DURATION seconds, default 20;
                                SESSIONS, default 50; NATIVE=1)
"""
import hashlib
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, append, fetch_all, select  # noqa: E402
from pop3 import POP3D  # noqa: E402

DURATION = float(os.environ.get("DURATION", "20"))
SESSIONS = int(os.environ.get("SESSIONS", "50"))
IMAP_PER_BOX = 4
POP3_SESSIONS = max(SESSIONS // 5, 1)
BOXES = max((SESSIONS - POP3_SESSIONS) // IMAP_PER_BOX, 2)
POP3_BOXES = BOXES // 2
COUNT = 120  # old messages per mailbox
# sessions expunge only old messages above this UID and read only those up to
# it: reading a message another session expunges is Courier's own race (imapd
# reports an unexpected EOF on a native maildir too), not the mount's
EXPUNGEABLE = COUNT // 2


def write_mbox(path, uidv):
    with open(path, "wb") as f:
        for uid in range(1, COUNT + 1):
            f.write(b"From a@example.org Mon Jan  6 10:%02d:%02d 2020\n" % (uid // 60, uid % 60))
            if uid == 1:
                f.write(b"X-IMAPbase: %d %d\n" % (uidv, COUNT))
            f.write(b"Subject: %d of %d\nStatus: O\nX-UID: %d\n\n" % (uid, uidv, uid))
            f.write(b"body %d of mailbox %d\n" % (uid, uidv) + b"y" * (uid * 13 % 700) + b"\n\n")


def sha(data):
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


class Box:
    """One mailbox: what its sessions were answered OK for."""

    def __init__(self, n, mnt):
        self.maildir = os.path.join(mnt, f"u{n}/Maildir")
        self.flagged = {}   # uid -> \\Flagged as the last answered STORE left it
        self.expunged = set()
        self.appended = {}  # uid -> sha256 of the appended message
        self.lock = threading.Lock()


def imap_worker(box, k, deadline, errors, counts, changes=True):
    rng = random.Random(k * 7919 + hash(box.maildir) % 1000)
    mine = [u for u in range(1, COUNT + 1) if u % IMAP_PER_BOX == k]
    mine_expungeable = [u for u in mine if u > EXPUNGEABLE]
    try:
        imap = Imapd(box.maildir)
        select(imap, "INBOX", examine=False)
        n = 0
        while time.time() < deadline:
            n += 1
            uid = rng.choice(mine)
            op = rng.random() if changes else 0.65 + rng.random() * 0.35
            if uid in box.expunged:
                continue
            if op < 0.6:
                on = rng.random() < 0.5
                status, _ = imap.command(f"UID STORE {uid} {'+' if on else '-'}FLAGS.SILENT "
                                         "(\\Flagged)")
                if " OK " in status:
                    with box.lock:
                        box.flagged[uid] = on
            elif op < 0.65:
                uid = rng.choice(mine_expungeable)
                if uid in box.expunged:
                    continue
                status, _ = imap.command(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
                # the EXPUNGE takes only this session's own \\Deleted messages:
                # the others never set \\Deleted
                status, _ = imap.command("EXPUNGE") if " OK " in status else (status, 0)
                if " OK " in status:
                    with box.lock:
                        box.expunged.add(uid)
            elif op < 0.75:
                data = b"From: load@example.org\r\nSubject: %d %d\r\n\r\nnew %d\r\n" % (k, n, n)
                status = append(imap, "INBOX", "", data)
                m = re.search(r"APPENDUID \d+ (\d+)", status)
                if not m:
                    errors.append(f"APPEND: {status}")
                else:
                    with box.lock:
                        box.appended[int(m.group(1))] = sha(data)
            else:  # read anyone's message, as a caching client does
                status, _ = imap.command(f"UID FETCH {rng.randint(1, EXPUNGEABLE)} (BODY.PEEK[])")
            if " OK " not in status:
                errors.append(f"{box.maildir} session {k}: {status}")
            counts[0] += 1
        imap.close()
    except Exception as e:  # noqa: BLE001 - any failure is a test failure
        errors.append(f"{box.maildir} session {k}: {e!r}")


def plain_reader(box, bodies, deadline, errors, counts):
    """Reads every old message it can read (never expunged) by its name of
    the moment, with plain open() and read(), checking the bytes: what a
    reader of a renamed file may see is ENOENT, never other bytes or EIO."""
    cur = os.path.join(box.maildir, "cur")
    while time.time() < deadline:
        for name in os.listdir(cur):
            uid = int(name[8:16], 16) if re.fullmatch(r"[0-9a-f]{16}:2,\w*", name) else 0
            if not 0 < uid <= EXPUNGEABLE:
                continue
            try:
                with open(os.path.join(cur, name), "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue  # renamed by a flag change meanwhile
            except OSError as e:
                errors.append(f"{cur}/{name}: {e}")
                return
            if sha(data) != bodies[uid]:
                errors.append(f"{cur}/{name}: {len(data)} other bytes")
                return
            counts[0] += 1


def pop3_session(maildir):
    """pop3d pre-authenticated: UIDL and LIST; (its output, {n: uidl})."""
    out = subprocess.run([POP3D, maildir], input="UIDL\r\nLIST\r\nQUIT\r\n",
                         capture_output=True, text=True, cwd="/", timeout=60,
                         env={"PATH": "/usr/bin:/bin", "AUTHENTICATED": "root", "HOME": "/"})
    text = out.stdout.replace("\r", "") or f"(exit {out.returncode}) {out.stderr}"
    uidls = {}
    for line in text.split("\n.\n", 1)[0].splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit():
            uidls[int(parts[0])] = parts[1]
    return text, uidls


def pop3_worker(box, uidv, deadline, errors, counts):
    old = {"%08x%08x" % (uidv, u) for u in range(1, COUNT + 1)}
    while time.time() < deadline:
        try:
            text, uidls = pop3_session(box.maildir)
        except subprocess.TimeoutExpired:
            errors.append(f"pop3d on {box.maildir} timed out")
            return
        if not uidls:
            errors.append(f"pop3d on {box.maildir}: no UIDL: {text[:300]!r}")
            return
        # old messages keep uw-ipop3d's UIDL; appended ones get pop3d's own
        strange = [u for u in uidls.values() if u not in old and not u.startswith("UID")]
        if strange:
            errors.append(f"pop3d on {box.maildir}: UIDLs {strange[:3]}")
            return
        counts[0] += 1


class Plain:
    """NATIVE=1: the materialized tree itself, no mount, to compare."""

    def stop(self):
        return 0


def start(mboxfs, map_path, state, mnt):
    if not os.environ.get("NATIVE"):
        return harness.Mount(mboxfs, map_path, state, mnt)
    if not os.path.isdir(mnt):
        subprocess.run([mboxfs, "materialize", "--offline", "--quiet", "--map", map_path,
                        "--state", state, mnt], check=True, capture_output=True)
    return Plain()


def main():
    mboxfs = sys.argv[1]
    harness.require_environment()
    if not os.path.exists(POP3D):
        print("SKIP: needs courier-pop")
        return harness.SKIP
    work = harness.workdir()
    results = harness.Results()
    old = os.path.join(work, "old")
    os.makedirs(old)
    map_path = os.path.join(old, "accounts.map")
    uidvs = [1700000000 + 1000 * n for n in range(BOXES)]
    with open(map_path, "w") as f:
        for n in range(BOXES):
            write_mbox(os.path.join(old, f"u{n}"), uidvs[n])
            f.write(f"u{n}/Maildir inbox=u{n}\n")
    bodies = {n: {m["uid"]: m["sha256_lf"]
                  for m in harness.show(mboxfs, os.path.join(old, f"u{n}"))["messages"]}
              for n in range(BOXES)}
    state, mnt = os.path.join(work, "state"), os.path.join(work, "mail")
    crashed = False
    try:
        mount = start(mboxfs, map_path, state, mnt)
        boxes = [Box(n, mnt) for n in range(BOXES)]
        errors, imap_ops, pop3_runs = [], [0], [0]
        deadline = time.time() + DURATION
        # the first POP3_BOXES mailboxes are shared with POP3 sessions
        threads = [threading.Thread(target=imap_worker,
                                    args=(b, k, deadline, errors, imap_ops, n >= POP3_BOXES))
                   for n, b in enumerate(boxes) for k in range(IMAP_PER_BOX)]
        threads += [threading.Thread(target=pop3_worker,
                                     args=(boxes[i % POP3_BOXES], uidvs[i % POP3_BOXES],
                                           deadline, errors, pop3_runs))
                    for i in range(POP3_SESSIONS)]
        reads = [0]
        threads += [threading.Thread(target=plain_reader,
                                     args=(b, bodies[n], deadline, errors, reads))
                    for n, b in enumerate(boxes[:2])]
        started = time.time()
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=DURATION + 120)
            hung = sum(t.is_alive() for t in threads)
        finally:
            status = mount.stop()
        took = time.time() - started
        ended = [f"the daemon ended with status {status}"] if status else []
        results.check(f"{len(threads)} sessions ({BOXES * IMAP_PER_BOX} IMAP on {BOXES} "
                      f"mailboxes, {POP3_SESSIONS} POP3) for {DURATION:.0f} s: "
                      f"{imap_ops[0]} IMAP commands ({imap_ops[0] / took:.0f}/s), "
                      f"{pop3_runs[0]} POP3 sessions, {reads[0]} plain reads, no error",
                      ended + errors[:10] + ([f"{hung} sessions did not end"] if hung else []))

        mount = start(mboxfs, map_path, state, mnt)
        problems = []
        try:
            for n, box in enumerate(boxes):
                imap = Imapd(box.maildir)
                uidv = select(imap, "INBOX")
                msgs = fetch_all(imap)
                imap.close()
                if uidv != uidvs[n]:
                    problems.append(f"u{n}: UIDVALIDITY {uidv}")
                for uid, m in msgs.items():
                    want = bodies[n].get(uid) or box.appended.get(uid)
                    if sha(m["body"]) != want:
                        problems.append(f"u{n}: UID {uid} names another message")
                for uid in box.expunged & set(msgs):
                    problems.append(f"u{n}: UID {uid} expunged, back")
                for uid in set(bodies[n]) - box.expunged - set(msgs):
                    problems.append(f"u{n}: UID {uid} lost")
                for uid in set(box.appended) - set(msgs):
                    problems.append(f"u{n}: appended UID {uid} lost")
                for uid, on in box.flagged.items():
                    if uid in msgs and ("\\Flagged" in msgs[uid]["flags"]) != on:
                        problems.append(f"u{n}: UID {uid}: answered \\Flagged={on} lost")
        finally:
            status = mount.stop()
        if status:
            problems.insert(0, f"the daemon ended with status {status}")
        changes = sum(len(b.flagged) + len(b.expunged) + len(b.appended) for b in boxes)
        results.check(f"after a remount: every answered change there ({changes} messages "
                      f"changed), no UID names two messages", problems[:10])
    except BaseException:
        crashed = True
        raise
    finally:
        subprocess.run(["fusermount3", "-uz", mnt], stderr=subprocess.DEVNULL, check=False)
        # a failure keeps the daemon's log (a sanitizer's report is in it)
        harness.remove_workdir(work, crashed or results.failed)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
