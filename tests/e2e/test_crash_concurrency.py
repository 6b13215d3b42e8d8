#!/usr/bin/env python3
"""End to end, the guarantees of writes through the mount:

- crash: kill -9 of the mboxfs daemon in the middle of a stream of STOREs,
  EXPUNGEs and APPENDs by Courier; after a remount every operation Courier
  answered OK is there, no message is duplicated or lost, no file is half
  written, and Courier sees the same UIDVALIDITY;
- concurrency: four Courier imapd processes on one mailbox at once (one
  expunging, one flagging, one appending, one fetching): no errors, and the end
  state is exactly the sum of what they did, with no duplicate UID;
- flag changes while two other sessions rescan the folder, with the disk kept
  busy (slow syncs widen any window in which a listing shows a message twice
  or not at all): every message keeps its UID; and, made by hand, the state in
  the middle of such a copy-up lists the message once.

The old mailbox is generated here: 240 messages with UW metadata.
usage: test_crash_concurrency.py MBOXFS
"""
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, append, end_started, fetch_all, select  # noqa: E402

UIDV = 1600000000
COUNT = 240


def old_mbox(path):
    """COUNT messages, X-IMAPbase in the first, X-UIDs 1..COUNT, some \\Seen."""
    with open(path, "wb") as f:
        for i in range(1, COUNT + 1):
            f.write(b"From sender@example.org Mon Jan  6 10:%02d:%02d 2020\n" % (i // 60 % 60, i % 60))
            if i == 1:
                f.write(b"X-IMAPbase: %d %d\n" % (UIDV, COUNT))
            f.write(b"From: sender@example.org\nTo: user@example.net\n")
            f.write(b"Subject: message %d\nMessage-ID: <m%d@example.org>\n" % (i, i))
            f.write(b"Status: %s\nX-UID: %d\n\n" % (b"RO" if i % 3 else b"O", i))
            f.write(b"Body of message %d.\n" % i + b"x" * (i * 7 % 300) + b"\n\n")


def one_account(work, prefix):
    """An old server with one user (old_mbox), its map, and where state and mount go."""
    return harness.old_account(work, prefix, old_mbox)


def new_message(n):
    return b"From: writer@example.org\r\nSubject: appended %d\r\n\r\nAppended body %d.\r\n" % (n, n)


def lf_sha(data):
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def served(mnt):
    """{uid: (flags, sha256 of body)} and UIDVALIDITY of the INBOX through Courier."""
    imap = Imapd(os.path.join(mnt, "user/Maildir"))
    try:
        uidv = select(imap, "INBOX")
        msgs = {uid: (set(m["flags"]) - {"\\Recent"}, lf_sha(m["body"]))
                for uid, m in fetch_all(imap).items()}
    finally:
        imap.close()
    return uidv, msgs


def imap_session(mnt, work_fn, errors):
    """work_fn(imap) in a session on the INBOX; any failure goes to errors."""
    try:
        imap = Imapd(os.path.join(mnt, "user/Maildir"))
        select(imap, "INBOX", examine=False)
        work_fn(imap)
        imap.close()
    except Exception as e:  # noqa: BLE001 - any failure is a test failure
        errors.append(repr(e))


def crash_test(mboxfs, work, results):
    old, map_path, state, mnt = one_account(work, "crash")
    before_bodies = {m["uid"]: m["sha256_lf"]
                     for m in harness.show(mboxfs, os.path.join(old, "user"))["messages"]}
    mount = harness.Mount(mboxfs, map_path, state, mnt)
    # (kind, uid or payload) of every command answered OK before the kill.
    # After it Courier still answers OK to STORE and EXPUNGE (it does not check
    # rename() and unlink() there), so only answers before the kill count.
    done, killed = [], threading.Event()

    def answered(kind, what):
        if not killed.is_set():
            done.append((kind, what))

    def stream():
        try:
            imap = Imapd(os.path.join(mnt, "user/Maildir"))
            select(imap, "INBOX", examine=False)
            for uid in range(1, COUNT + 1):
                status, _ = imap.command(f"UID STORE {uid} +FLAGS (\\Flagged)")
                if " OK " in status:
                    answered("flag", uid)
                if uid % 4 == 0:
                    status, _ = imap.command(f"UID STORE {uid} +FLAGS (\\Deleted)")
                    if " OK " in status:
                        status, _ = imap.command("EXPUNGE")
                        if " OK " in status:
                            answered("expunge", uid)
                if uid % 10 == 0:
                    status = append(imap, "INBOX", "", new_message(uid))
                    m = re.search(r"APPENDUID \d+ (\d+)", status)
                    if m:
                        answered("append", (int(m.group(1)), lf_sha(new_message(uid))))
        except (RuntimeError, OSError, ValueError):
            pass  # the mount died under it: expected

    t = threading.Thread(target=stream)
    t.start()
    while len(done) < 60 and t.is_alive():
        time.sleep(0.005)
    time.sleep(random.Random(1).uniform(0, 0.05))
    killed.set()
    mount.proc.send_signal(signal.SIGKILL)
    mount.proc.wait()
    t.join(timeout=60)
    end_started()
    harness.end_gam_servers()
    subprocess.run(["fusermount3", "-uz", mnt], check=False)
    answered = len(done)

    mount = harness.Mount(mboxfs, map_path, state, mnt)
    try:
        uidv, msgs = served(mnt)
    finally:
        mount.stop()
    problems = []
    if uidv != UIDV:
        problems.append(f"UIDVALIDITY {uidv}")
    expunged = {u for k, u in done if k == "expunge"}
    for kind, what in done:
                # a message missing altogether is counted below: the operation the kill
        # interrupted may be its EXPUNGE
        if kind == "flag" and what in msgs and "\\Flagged" not in msgs[what][0]:
            problems.append(f"UID {what}: STORE \\Flagged answered OK, flag lost")

        if kind == "expunge" and what in msgs:
            problems.append(f"UID {what}: EXPUNGE answered OK, message back")
        if kind == "append" and msgs.get(what[0], (0, 0))[1] != what[1]:
            problems.append(f"APPENDUID {what[0]}: message missing or different")
    for uid, (flags, digest) in msgs.items():  # nothing half written, nothing foreign
        if uid in before_bodies and digest != before_bodies[uid]:
            problems.append(f"UID {uid}: bytes differ from the old message")
    in_flight = 2  # at most the operation the kill interrupted, and its EXPUNGE
    lost = [u for u in before_bodies if u not in msgs and u not in expunged]
    if len(lost) > in_flight:
        problems.append(f"old messages lost: {lost}")
    if len({d for _, d in msgs.values()}) != len(msgs):
        problems.append("a message appears twice")
    results.check(f"kill -9 after {answered} answered operations: all of them survive", problems)


def concurrency_test(mboxfs, work, results):
    _, map_path, state, mnt = one_account(work, "conc")
    mount = harness.Mount(mboxfs, map_path, state, mnt)
    errors, appended = [], []
    expunge = list(range(2, COUNT + 1, 3))
    flag = [u for u in range(1, COUNT + 1) if u % 3 == 0]

    def session(work_fn):
        imap_session(mnt, work_fn, errors)

    def expunger(imap):
        for uid in expunge:
            for cmd in (f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)", "EXPUNGE"):
                status, _ = imap.command(cmd)
                if " OK " not in status:
                    errors.append(f"{cmd}: {status}")

    def flagger(imap):
        for uid in flag:
            status, _ = imap.command(f"UID STORE {uid} +FLAGS.SILENT (\\Flagged)")
            if " OK " not in status:
                errors.append(status)

    def appender(imap):
        for n in range(40):
            status = append(imap, "INBOX", "\\Seen", new_message(n))
            m = re.search(r"APPENDUID \d+ (\d+)", status)
            if not m:
                errors.append(status)
            else:
                appended.append((int(m.group(1)), lf_sha(new_message(n))))

    def fetcher(imap):
        # bodies of messages nobody expunges (reading a message another
        # process expunges is Courier's own race, not the mount's), flags of all
        for _ in range(5):
            status, _ = imap.command("FETCH 1:* (UID FLAGS)")
            if " OK " not in status:
                errors.append(status)
            status, _ = imap.command(f"UID FETCH {','.join(map(str, flag))} (UID BODY.PEEK[])")
            if " OK " not in status:
                errors.append(status)

    try:
        threads = [threading.Thread(target=session, args=(fn,))
                   for fn in (expunger, flagger, appender, fetcher)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        uidv, msgs = served(mnt)
    finally:
        mount.stop()
    problems = list(errors[:5])
    want_uids = ({u for u in range(1, COUNT + 1) if u not in expunge} | {u for u, _ in appended})
    if uidv != UIDV:
        problems.append(f"UIDVALIDITY {uidv}")
    if set(msgs) != want_uids:
        problems.append(f"UIDs: missing {sorted(want_uids - set(msgs))[:10]}, "
                        f"extra {sorted(set(msgs) - want_uids)[:10]}")
    if len({u for u, _ in appended}) != len(appended) or any(u <= COUNT for u, _ in appended):
        problems.append(f"APPENDUIDs reused: {sorted(u for u, _ in appended)[:10]}")
    for uid in flag:
        if uid in msgs and "\\Flagged" not in msgs[uid][0]:
            problems.append(f"UID {uid}: flag lost")
    for uid, digest in appended:
        if msgs.get(uid, (0, 0))[1] != digest:
            problems.append(f"APPENDUID {uid}: different message")
    results.check("four Courier sessions at once: exact end state, no errors", problems)


def rescan_test(mboxfs, work, results):
    _, map_path, state, mnt = one_account(work, "rescan")
    mount = harness.Mount(mboxfs, map_path, state, mnt)
    errors, done = [], threading.Event()

    def session(work_fn):
        imap_session(mnt, work_fn, errors)
        done.set()

    def flagger(imap):
        for uid in range(1, COUNT + 1):
            status, _ = imap.command(f"UID STORE {uid} +FLAGS.SILENT (\\Flagged)")
            if " OK " not in status:
                errors.append(status)

    def rescanner(imap):
        while not done.is_set():
            imap.command("NOOP")

    def disk_load(n):
        chunk = b"\0" * (20 << 20)
        while not done.is_set():
            with open(os.path.join(work, f"load{n}"), "wb") as f:
                f.write(chunk)
                os.fsync(f.fileno())

    try:
        threads = [threading.Thread(target=session, args=(fn,))
                   for fn in (flagger, rescanner, rescanner)]
        threads += [threading.Thread(target=disk_load, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        _, msgs = served(mnt)
    finally:
        mount.stop()
        for n in range(2):
            os.unlink(os.path.join(work, f"load{n}"))
    problems = list(errors[:5])
    if set(msgs) != set(range(1, COUNT + 1)):
        problems.append(f"UIDs: missing {sorted(set(range(1, COUNT + 1)) - set(msgs))[:10]}, "
                        f"extra {sorted(set(msgs) - set(range(1, COUNT + 1)))[:10]}")
    problems += [f"UID {uid}: flag lost" for uid, (flags, _) in msgs.items()
                 if "\\Flagged" not in flags][:5]
    results.check("flag changes while two sessions rescan, disk busy: every UID kept", problems)


def shadow_test(mboxfs, work, results):
    """The state in the middle of a flag change, made by hand: the upper tree
    already has the message under its new name, the virtual one is not hidden
    yet. The listing must show the message once, under the real name, and
    Courier must keep its UID (DESIGN.md: the key decides)."""
    _, map_path, state, mnt = one_account(work, "shadow")
    upper = os.path.join(work, "shadow-upper")
    os.mkdir(upper)
    mount = harness.Mount(mboxfs, map_path, state, mnt, upper=upper)
    try:
        cur = os.path.join(mnt, "user/Maildir/cur")
        name = sorted(os.listdir(cur))[0]
        key = name.rsplit(":", 1)[0]
        with open(os.path.join(cur, name), "rb") as f:
            body = f.read()
        real = key + ":2,FS"
        with open(os.path.join(upper, "user/Maildir/cur", real), "wb") as f:
            f.write(body)
        listed = [n for n in os.listdir(cur) if n.rsplit(":", 1)[0] == key]
        _, msgs = served(mnt)
    finally:
        mount.stop()
    problems = [] if listed == [real] else [f"listed {listed}"]
    if set(msgs) != set(range(1, COUNT + 1)):
        problems.append(f"UIDs: extra {sorted(set(msgs) - set(range(1, COUNT + 1)))[:10]}")
    results.check("a real file with a message's key hides the virtual one", problems)


def main():
    mboxfs = sys.argv[1]
    harness.require_environment()
    work = harness.workdir()
    results = harness.Results()
    try:
        crash_test(mboxfs, work, results)
        concurrency_test(mboxfs, work, results)
        rescan_test(mboxfs, work, results)
        shadow_test(mboxfs, work, results)
    finally:
        for mnt in ("crash-mail", "conc-mail", "rescan-mail", "shadow-mail"):
            subprocess.run(["fusermount3", "-uz", os.path.join(work, mnt)],
                           stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
