#!/usr/bin/env python3
"""End to end, the journal write path (DESIGN.md "The upper tree and writes",
fs/journal.h), with the real Courier imapd:

- a flag change of an old message is a record, not a copy: nothing lands in
  the upper tree's cur/, the message keeps its (virtual) inode and is listed
  under its new name, and a remount shows the same;
- a journal that grows with flag changes is compacted: after thousands of
  changes it holds at most the bound of fs/journal.h, and the state is exact;
- upper tree on a small filesystem, full: every STORE Courier answered is
  there after a remount, APPEND gets NO, `materialize` stops with a clear
  error and finishes once there is room;
- a mailbox first opened while the state directory is full is not served
  (EIO), never served empty, and is served exactly once there is room;
- state directory full: the journals use the reserve, `mboxfs status` warns,
  and when no room at all is left a rename fails with ENOSPC; every rename
  that succeeded is there after a remount;
- kill -9 of the daemon in the middle of group commits and of a batched
  online materialize, many times in a row on the same state: nothing answered
  is lost, no key is listed twice, no temporary file stays.

usage: test_journal.py MBOXFS
"""
import errno
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
from imap import Imapd, append, select  # noqa: E402
from test_crash_concurrency import COUNT, UIDV, one_account, served  # noqa: E402

VIRTUAL = 1 << 63


def journal_lines(state):
    """Records in the folder journals (*.wh) of a state directory."""
    n = 0
    for name in os.listdir(state):
        if name.endswith(".wh"):
            with open(os.path.join(state, name), "rb") as f:
                n += f.read().count(b"\n")
    return n


def store(mnt, commands):
    """Runs IMAP commands in one session on the INBOX; returns the statuses."""
    imap = Imapd(os.path.join(mnt, "user/Maildir"))
    try:
        select(imap, "INBOX", examine=False)
        return [imap.command(c)[0] for c in commands]
    finally:
        imap.close()


def small_fs(path, size):
    """A tmpfs of that size at path (made here, unmounted by the caller)."""
    os.makedirs(path, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                   check=True)


def fill(path, leave=0):
    """Fills the filesystem of path (made if missing) with a file until at
    most leave bytes are free; returns the file's path."""
    os.makedirs(path, exist_ok=True)
    filler = os.path.join(path, "filler")
    with open(filler, "wb") as f:
        while True:
            st = os.statvfs(path)
            free = st.f_bavail * st.f_frsize
            if free <= leave:
                break
            try:
                f.write(b"\0" * min(free - leave, 1 << 20))
                f.flush()
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                break
    return filler


def flag_records_test(mboxfs, work, results):
    _, map_path, state, mnt = one_account(work, "rec")
    upper = os.path.join(work, "rec-upper")
    os.mkdir(upper)
    mount = harness.Mount(mboxfs, map_path, state, mnt, upper=upper)
    problems = []
    try:
        cur = os.path.join(mnt, "user/Maildir/cur")
        before = {n.rsplit(":", 1)[0]: os.lstat(os.path.join(cur, n)).st_ino
                  for n in os.listdir(cur)}
        statuses = store(mnt, ["UID STORE 1:* +FLAGS (\\Flagged)"])
        problems += [s for s in statuses if " OK " not in s]
        after = {n.rsplit(":", 1)[0]: (n, os.lstat(os.path.join(cur, n)).st_ino)
                 for n in os.listdir(cur)}
        copied = os.listdir(os.path.join(upper, "user/Maildir/cur"))
        if copied:
            problems.append(f"{len(copied)} files copied to the upper tree, e.g. {copied[0]}")
        for key, ino in before.items():
            name, ino_now = after.get(key, ("", 0))
            if "F" not in name.rsplit(":2,", 1)[-1]:
                problems.append(f"{key}: listed as {name!r}")
            if ino_now != ino or not ino & VIRTUAL:
                problems.append(f"{key}: inode {ino:#x} became {ino_now:#x}")
        if journal_lines(state) != COUNT:
            problems.append(f"{journal_lines(state)} journal records for {COUNT} flag changes")
    finally:
        mount.stop()
    mount = harness.Mount(mboxfs, map_path, state, mnt, upper=upper)
    try:
        uidv, msgs = served(mnt)
    finally:
        mount.stop()
    if uidv != UIDV or set(msgs) != set(range(1, COUNT + 1)):
        problems.append(f"after a remount: UIDVALIDITY {uidv}, {len(msgs)} messages")
    problems += [f"UID {u}: flags {sorted(f)} after a remount" for u, (f, _) in msgs.items()
                 if "\\Flagged" not in f][:5]
    results.check("a flag change is a journal record: no copy, same inode, new name", problems)


def compaction_test(mboxfs, work, results):
    _, map_path, state, mnt = one_account(work, "compact")
    mount = harness.Mount(mboxfs, map_path, state, mnt)
    rounds = 40  # COUNT records each: past the 8192 records of the bound
    try:
        cmds = [f"UID STORE 1:* {'+' if r % 2 == 0 else '-'}FLAGS.SILENT (\\Flagged)"
                for r in range(rounds - 1)]
        cmds.append("UID STORE 1:100 +FLAGS.SILENT (\\Flagged)")
        statuses = store(mnt, cmds)
        written = journal_lines(state)
    finally:
        mount.stop()
    problems = [s for s in statuses if " OK " not in s][:3]
    if written > 8192:
        problems.append(f"{written} records after {rounds * COUNT} changes: not compacted")
    mount = harness.Mount(mboxfs, map_path, state, mnt)
    try:
        _, msgs = served(mnt)
    finally:
        mount.stop()
    # 39 rounds: + - ... + (odd count, ends with +), then + on 1..100
    wrong = [u for u, (f, _) in msgs.items() if ("\\Flagged" in f) != True]  # noqa: E712
    if set(msgs) != set(range(1, COUNT + 1)) or wrong:
        problems.append(f"after a remount: {len(msgs)} messages, flags wrong for {wrong[:10]}")
    if journal_lines(state) > 8192:
        problems.append(f"{journal_lines(state)} records after loading: over the bound")
    results.check(f"{rounds * COUNT - (COUNT - 100)} flag changes: journal compacted, "
                  f"state exact", problems)


def full_upper_test(mboxfs, work, results):
    _, map_path, state, mnt = one_account(work, "fullup")
    upper = os.path.join(work, "fullup-upper")
    small_fs(upper, "4m")
    problems = []
    try:
        mount = harness.Mount(mboxfs, map_path, state, mnt, upper=upper)
        try:
            store(mnt, ["NOOP"])  # the skeleton and Courier's own files first
            filler = fill(upper, leave=64 << 10)
            statuses = store(mnt, ["UID STORE 1:* +FLAGS (\\Flagged)",
                                   "UID STORE 1:* +FLAGS (\\Seen)"])
            problems += [s for s in statuses if " OK " not in s]
            imap = Imapd(os.path.join(mnt, "user/Maildir"))
            try:
                big = b"Subject: big\r\n\r\n" + b"x" * (1 << 20) + b"\r\n"
                status = append(imap, "INBOX", "", big)
            finally:
                imap.close()
            if " NO " not in status:
                problems.append(f"APPEND on a full upper tree: {status}")
        finally:
            mount.stop()
        mount = harness.Mount(mboxfs, map_path, state, mnt, upper=upper)
        try:
            _, msgs = served(mnt)
            lost = [u for u, (f, _) in msgs.items() if not {"\\Flagged", "\\Seen"} <= f]
            if set(msgs) != set(range(1, COUNT + 1)) or lost:
                problems.append(f"after a remount: {len(msgs)} messages, "
                                f"answered flags lost on {lost[:10]}")
            run = subprocess.run([mboxfs, "materialize", "--map", map_path, mnt],
                                 capture_output=True, text=True)
            if run.returncode == 0 or "upper tree is full" not in run.stderr:
                problems.append(f"materialize on a full upper tree: exit {run.returncode}, "
                                f"{run.stderr.strip()[-200:]!r}")
            os.unlink(filler)
            run = subprocess.run([mboxfs, "materialize", "--map", map_path, mnt],
                                 capture_output=True, text=True)
            status = subprocess.run([mboxfs, "status", "--map", map_path, mnt],
                                    capture_output=True, text=True)
            if run.returncode != 0 or status.returncode != 0:
                problems.append(f"materialize once there is room: exit {run.returncode} "
                                f"{run.stderr.strip()[-200:]!r}; status {status.returncode}")
            _, again = served(mnt)
            if again != msgs:
                problems.append("Courier sees another mailbox after materializing")
        finally:
            mount.stop()
    finally:
        subprocess.run(["umount", upper], check=False)
    results.check("upper tree full: answered STOREs kept, APPEND NO, materialize resumes",
                  problems)


def full_state_test(mboxfs, work, results):
    _, map_path, state, mnt = one_account(work, "fullstate")
    small_fs(state, "8m")
    problems = []
    try:
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        done = []  # (name before, name after) of every rename that succeeded
        try:
            store(mnt, ["NOOP"])  # indexed: the index file is in the state directory
            fill(state)
            statuses = store(mnt, ["UID STORE 1:* +FLAGS (\\Flagged)"])
            problems += [s for s in statuses if " OK " not in s]
            status = subprocess.run([mboxfs, "status", "--map", map_path, mnt],
                                    capture_output=True, text=True)
            if "reserve" not in status.stdout:
                problems.append(f"status does not warn: {status.stdout.strip()!r}")
            # no reserve left at all: renames succeed while the journal's own
            # room lasts, then fail with ENOSPC, never otherwise
            with open(os.path.join(state, "reserve"), "r+b") as f:
                f.truncate(0)
            fill(os.path.join(state, "more"))
            cur = os.path.join(mnt, "user/Maildir/cur")
            names = sorted(os.listdir(cur))
            failure = None
            for i in range(100000):
                old = names[i % len(names)]
                new = old[:-1] if old.endswith("T") else old + "T"
                try:
                    os.rename(os.path.join(cur, old), os.path.join(cur, new))
                except OSError as e:
                    failure = e.errno
                    break
                names[i % len(names)] = new
                done.append((old, new))
            if failure != errno.ENOSPC:
                problems.append(f"after {len(done)} renames: {errno.errorcode.get(failure)}, "
                                f"want ENOSPC")
        finally:
            mount.stop()
        os.unlink(os.path.join(state, "filler"))  # room for the remount's own writes
        shutil.rmtree(os.path.join(state, "more"))
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            listed = set(os.listdir(os.path.join(mnt, "user/Maildir/cur")))
        finally:
            mount.stop()
        last = {}
        for old, new in done:
            last[old.rsplit(":", 1)[0]] = new
        missing = [n for n in last.values() if n not in listed]
        flagged = [n for n in listed if "F" in n.rsplit(":2,", 1)[1]]
        if missing or len(flagged) != COUNT:
            problems.append(f"after a remount: {len(missing)} renames lost, e.g. "
                            f"{missing[:2]}; {len(flagged)} of {COUNT} \\Flagged")
    finally:
        subprocess.run(["umount", state], check=False)
    results.check(f"state directory full: reserve used, status warns, ENOSPC only at the end, "
                  f"{len(done)} renames kept", problems)


def unindexed_full_state_test(mboxfs, work, results):
    """A mailbox first opened while the state directory is full cannot be
    indexed: it is not served (never served empty, which would let Courier
    give it a UIDVALIDITY of its own), the healthy account beside it is, and
    once there is room it is served with its own UIDVALIDITY and UIDs."""
    old, map_path, state, mnt = one_account(work, "unindexed")
    with open(os.path.join(old, "late"), "wb") as f:
        for uid in range(101, 106):
            f.write(b"From a@example.org Mon Jan  6 10:00:%02d 2020\n" % (uid - 100))
            if uid == 101:
                f.write(b"X-IMAPbase: 1234567890 105\n")
            f.write(b"Subject: late %d\nX-UID: %d\n\nbody %d\n\n" % (uid, uid, uid))
    with open(map_path, "a") as f:
        f.write("late/Maildir inbox=late\n")
    small_fs(state, "8m")
    problems = []
    try:
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            _, healthy = served(mnt)  # indexed before the disk fills
            filler = fill(state)
            late = os.path.join(mnt, "late/Maildir")
            try:
                imap = Imapd(late)
                try:
                    status, _ = imap.command("SELECT INBOX")
                finally:
                    imap.close()
            except RuntimeError as e:  # imapd cannot even start there: fine
                status = f"imapd refused: {e}"
            if " OK " in status:
                problems.append(f"SELECT of an INBOX that cannot be indexed: {status}")
            try:
                os.listdir(os.path.join(late, "cur"))
                problems.append("its cur/ can be listed")
            except OSError as e:
                if e.errno != errno.EIO:
                    problems.append(f"its cur/: {e}, want EIO")
            _, again = served(mnt)
            if again != healthy:
                problems.append("the healthy account changed")
            os.unlink(filler)
            time.sleep(2.5)  # failed folders are tried again after 2 s
            imap = Imapd(late)
            try:
                uidv = select(imap, "INBOX")
                status, untagged = imap.command("UID SEARCH ALL")
            finally:
                imap.close()
            uids = sorted(int(u) for p in untagged for u in p[0].split()[2:])
            if uidv != 1234567890 or uids != list(range(101, 106)):
                problems.append(f"once there is room: UIDVALIDITY {uidv}, UIDs {uids}")
        finally:
            mount.stop()
        upper_uiddb = os.path.join(mnt, "late/Maildir/courierimapuiddb")
        if os.path.exists(upper_uiddb):
            with open(upper_uiddb) as f:
                first = f.readline().split()
            if first[1:2] != ["1234567890"]:
                problems.append(f"Courier recorded its own UIDVALIDITY: {first}")
    finally:
        subprocess.run(["umount", state], check=False)
    results.check("mailbox first opened with the state directory full: not served, never "
                  "empty; served exactly once there is room", problems)


def crash_loop_test(mboxfs, work, results):
    """kill -9 mid group commit and mid batch, ROUNDS times on one state."""
    old, map_path, state, mnt = one_account(work, "loop")
    bodies = {m["uid"]: m["sha256_lf"]
              for m in harness.show(mboxfs, os.path.join(old, "user"))["messages"]}
    rng = random.Random(7)
    problems, answered_total, expunged = [], 0, set()
    flagged = {uid: False for uid in bodies}  # what the last answered STORE set
    deleted = set()  # \Deleted in Courier's view: the next EXPUNGE may take them
    rounds = 8
    for rnd in range(rounds):
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        done, killed = [], threading.Event()
        imap_box = []

        srng = random.Random(rnd)

        def stream():
            try:
                imap = Imapd(os.path.join(mnt, "user/Maildir"))
                imap_box.append(imap)
                select(imap, "INBOX", examine=False)
                for uid in srng.sample(range(1, COUNT + 1), COUNT):
                    if uid in expunged:
                        continue
                    on = srng.random() < 0.5
                    status, _ = imap.command(
                        f"UID STORE {uid} {'+' if on else '-'}FLAGS.SILENT (\\Flagged)")
                    if " OK " in status and not killed.is_set():
                        done.append(("flag", uid, on))
                    if uid % 17 == rnd:
                        status, _ = imap.command(f"UID STORE {uid} +FLAGS.SILENT (\\Deleted)")
                        if " OK " in status:
                            status, _ = imap.command("EXPUNGE")
                            if " OK " in status and not killed.is_set():
                                done.append(("expunge", uid, None))
            except (RuntimeError, OSError, ValueError):
                pass  # the mount died under it: expected

        t = threading.Thread(target=stream)
        t.start()
        mat = subprocess.Popen([mboxfs, "materialize", "--quiet", "--rate", "0.05",
                                "--map", map_path, mnt],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.5))
        killed.set()
        mount.proc.send_signal(signal.SIGKILL)
        mount.proc.wait()
        t.join(timeout=60)
        for imap in imap_box:
            imap.proc.kill()
            imap.proc.wait()
        mat.kill()
        mat.wait()
        subprocess.run(["fusermount3", "-uz", mnt], check=False)
        if t.is_alive():
            problems.append(f"round {rnd}: the session did not end")
        for kind, uid, on in done:
            if kind == "flag":
                flagged[uid] = on
            else:
                expunged.add(uid)
        answered_total += len(done)

        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            cur = os.path.join(mnt, "user/Maildir/cur")
            names = os.listdir(cur)
            keys = [n.rsplit(":", 1)[0] for n in names]
            uidv, msgs = served(mnt)
        finally:
            mount.stop()
        if len(set(keys)) != len(keys):
            problems.append(f"round {rnd}: a key listed twice")
        if any(n.startswith(".") for n in names):
            problems.append(f"round {rnd}: temporary files in cur/")
        if uidv != UIDV:
            problems.append(f"round {rnd}: UIDVALIDITY {uidv}")
        for uid, (flags, digest) in msgs.items():
            if digest != bodies.get(uid):
                problems.append(f"round {rnd}: UID {uid} has other bytes")
        for uid in expunged:
            if uid in msgs:
                problems.append(f"round {rnd}: UID {uid} expunged, back")
        # the one STORE in flight at the kill may or may not have happened
        changed = [u for u, on in flagged.items()
                   if u in msgs and ("\\Flagged" in msgs[u][0]) != on]
        if len(changed) > 1:
            problems.append(f"round {rnd}: answered \\Flagged lost on {changed[:10]}")
        # likewise the EXPUNGE in flight, which takes every \Deleted message
        gone = [u for u in bodies if u not in msgs and u not in expunged]
        if len([u for u in gone if u not in deleted]) > 1:
            problems.append(f"round {rnd}: old messages lost: {gone}")
        # what the next round starts from: Courier's view now
        expunged |= set(gone)
        deleted = {u for u, (f, _) in msgs.items() if "\\Deleted" in f}
        for uid, (flags, _) in msgs.items():
            flagged[uid] = "\\Flagged" in flags
    results.check(f"kill -9 in {rounds} rounds mid group commit and mid materialize batch: "
                  f"{answered_total} answered operations kept, no key twice", problems[:10])


def main():
    mboxfs = sys.argv[1]
    harness.require_environment()
    work = harness.workdir()
    results = harness.Results()
    try:
        flag_records_test(mboxfs, work, results)
        compaction_test(mboxfs, work, results)
        full_upper_test(mboxfs, work, results)
        full_state_test(mboxfs, work, results)
        unindexed_full_state_test(mboxfs, work, results)
        crash_loop_test(mboxfs, work, results)
    finally:
        for name in os.listdir(work):
            if name.endswith("-mail"):
                subprocess.run(["fusermount3", "-uz", os.path.join(work, name)],
                               stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
