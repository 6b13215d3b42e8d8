#!/usr/bin/env python3
"""End to end, materialization (DESIGN.md, cutover): on a mount that Courier
has already written to, `mboxfs status` counts what is virtual,
`mboxfs materialize` (throttled, interrupted, then run again) writes it to the
upper tree under the same names, and afterwards the mount, and the plain upper
tree once unmounted, are file for file what the mount showed before: the same
names, sizes, bytes and message mtimes, the same UIDVALIDITY, UIDs, flags,
sizes, dates and bodies for Courier's imapd, and the same UIDLs for Courier's
pop3d, uw-ipop3d's ones for migrated mail (issue 5), also after RETR, DELE
and a delivery. `mboxfs materialize --offline` writes, without a mount, what a
mount over the same state shows, and refuses a state directory a mount uses.

usage: test_materialize.py MBOXFS EXAMPLES_DIR
"""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, fetch_all, list_folders, ok, select  # noqa: E402
from pop3 import POP3D, add_sample_accounts, pop3, uw_uidls  # noqa: E402

VIRTUAL_INO = 1 << 63  # fs/fs.h: bit 63 of a virtual object's inode number
ACCOUNTS = ["alice/Maildir", "bob/Maildir", "carol/Maildir", "dave/Maildir", "erin/Maildir"]
POP3_ACCOUNTS = {"alice/Maildir": "alice", "bob/Maildir": "bob", "carol/Maildir": "carol"}


def write_big_inbox(path, count=300, body_bytes=10000):
    """An mbox big enough for a throttled materialize to be interrupted."""
    with open(path, "w") as f:
        for i in range(count):
            f.write(f"From x@example.org Tue Feb  4 10:{i // 60:02d}:{i % 60:02d} 2020\n")
            f.write(f"Subject: {i}\nStatus: RO\n\n")
            f.write(("line %d " % i + "x" * 70 + "\n") * (body_bytes // 80) + "\n")


def listing(root, accounts=ACCOUNTS):
    """{path below root: (mode, size, sha256, mtime of a message or None)} of
    every file of the accounts' maildirs."""
    out = {}
    for account in accounts:
        for dirpath, _, filenames in os.walk(os.path.join(root, account)):
            for name in filenames:
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                in_cur = os.path.basename(dirpath) == "cur"
                out[os.path.relpath(path, root)] = (st.st_mode, st.st_size, digest,
                                                    int(st.st_mtime) if in_cur else None)
    return out


def virtual_entries(root):
    """Paths below the maildirs that the mount lists as virtual."""
    found = []
    for account in ACCOUNTS:
        for dirpath, _, _ in os.walk(os.path.join(root, account)):
            with os.scandir(dirpath) as it:
                found += [e.path for e in it if e.inode() & VIRTUAL_INO]
    return found


def imap_view(root):
    """{account: {folder: (UIDVALIDITY, {uid: (flags, size, date, sha256)})}}."""
    view = {}
    for account in ACCOUNTS:
        imap = Imapd(os.path.join(root, account))
        try:
            folders = {}
            for folder in sorted(list_folders(imap, selectable=True)):
                uidv = select(imap, folder)
                folders[folder] = (uidv, {
                    uid: (sorted(m["flags"]), m["size"], m["internaldate"],
                          hashlib.sha256(m["body"]).hexdigest())
                    for uid, m in fetch_all(imap).items()})
        finally:
            imap.close()
        view[account] = folders
    return view


def pop3_view(root):
    return {account: sorted(pop3(os.path.join(root, account), ["UIDL"]).values())
            for account in ACCOUNTS}


POP3_OFF = {"dave/Maildir"}  # pop3.add_sample_accounts: pop3=off, pop3d's own UIDLs
OWN_UIDL = re.compile(r"^UID(\d+)-(\d+)$")


def without_pop3d_epoch(view, problems):
    """view with the second in pop3d's own UIDLs taken out.

    For a pop3=off account pop3d numbers the messages itself: "UID<n>-<t>",
    t being the second at which pop3d first ran in that maildir (its
    courierpop3dsizelist UIDVALIDITY). Two maildirs whose first pop3d
    sessions fell in different seconds differ in t alone, so a comparison
    across maildirs compares the n; t must be one value per account."""
    out = dict(view)
    for account in POP3_OFF:
        matches = [OWN_UIDL.match(u) for u in view[account]]
        if not all(matches) or len({m.group(2) for m in matches}) != 1:
            problems.append(f"{account}: not pop3d's own UIDLs of one session: {view[account]}")
            continue
        out[account] = sorted(f"UID{m.group(1)}-<first pop3d second>" for m in matches)
    return out


def diff(name, before, after):
    if before == after:
        return []
    keys = sorted(set(before) | set(after), key=str)
    return [f"{name} {k}: {str(before.get(k))[:200]} -> {str(after.get(k))[:200]}"
            for k in keys if before.get(k) != after.get(k)]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


def status(mboxfs, map_path, mnt):
    return run([mboxfs, "status", "--map", map_path, mnt])


def courier_writes(mnt):
    """A flag change, an expunge of an old message, a delivery; returns the
    name the expunged message had."""
    alice = os.path.join(mnt, "alice/Maildir")
    cur = os.path.join(mnt, "bob/Maildir/cur")
    before = set(os.listdir(cur))
    imap = Imapd(alice)
    select(imap, "INBOX", examine=False)
    ok(imap, "UID STORE 3 +FLAGS (\\Flagged)")
    imap.close()
    imap = Imapd(os.path.join(mnt, "bob/Maildir"))
    select(imap, "INBOX", examine=False)
    ok(imap, "STORE 1 +FLAGS (\\Deleted)")
    ok(imap, "EXPUNGE")
    imap.close()
    gone = before - set(os.listdir(cur))
    with open(os.path.join(alice, "tmp", "1795000000.M1P1.mx"), "w") as f:
        f.write("Subject: new\n\nnew mail\n")
    os.rename(os.path.join(alice, "tmp", "1795000000.M1P1.mx"),
              os.path.join(alice, "new", "1795000000.M1P1.mx"))
    return os.path.join(cur, gone.pop()) if len(gone) == 1 else None


def interrupted_materialize(mboxfs, work, map_path, mnt):
    """materialize --rate 1 of erin's 3 MB, stopped by SIGINT once some but
    not all messages are real; returns (virtual before, virtual after)."""
    erin_map = os.path.join(work, "erin.map")
    with open(map_path) as f:
        lines = [line for line in f if line.startswith("erin/")]
    with open(erin_map, "w") as f:
        f.writelines(lines)
    cur = os.path.join(mnt, "erin/Maildir/cur")
    total = len(virtual_entries(mnt))
    proc = subprocess.Popen([mboxfs, "materialize", "--rate", "1", "--map", erin_map, mnt],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        with os.scandir(cur) as it:
            if any(not e.inode() & VIRTUAL_INO for e in it):
                break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    return total, len(virtual_entries(mnt))


def after_materialization_pop3(root, uidls_before, problems):
    """RETR, DELE, QUIT and a delivery leave the other UIDLs as they were."""
    alice = os.path.join(root, "alice/Maildir")
    before = pop3(alice, ["UIDL"])
    pop3(alice, ["RETR 1", "DELE 2"])
    with open(os.path.join(alice, "tmp", "1795000001.M2P2.mx"), "w") as f:
        f.write("Subject: newer\n\nnewer mail\n")
    os.rename(os.path.join(alice, "tmp", "1795000001.M2P2.mx"),
              os.path.join(alice, "new", "1795000001.M2P2.mx"))
    after = pop3(alice, ["UIDL"])
    kept = sorted(u for n, u in before.items() if n != 2)
    if sorted(u for u in after.values() if u in before.values()) != kept:
        problems.append(f"UIDLs before {before}, after {after}")
    new = [u for u in after.values() if u not in before.values()]
    if len(new) != 1 or not new[0].startswith("UID"):
        problems.append(f"new mail UIDL {new}")
    if sorted(before.values()) != uidls_before:
        problems.append(f"UIDL {sorted(before.values())}, expected {uidls_before}")


def journal_copies(state):
    """Per folder journal of state: the UIDs with an intent ("m") that no done
    record ("k" or "u") follows, and the number of UIDs recorded as real ("k")."""
    unsettled, real = [], 0
    for name in sorted(os.listdir(state)):
        if not name.endswith(".wh"):
            continue
        pending, kept = set(), set()
        with open(os.path.join(state, name)) as f:
            for line in f:
                kind, _, rest = line.rstrip("\n").partition(" ")
                if kind == "m":
                    pending.add(rest.split(" ")[0])
                elif kind in ("k", "u"):
                    pending.discard(rest)
                    if kind == "k":
                        kept.add(rest)
        unsettled += [f"{name}: intent for UID {uid} without a done record" for uid in sorted(pending)]
        real += len(kept)
    return unsettled, real


def killed_offline_runs(mboxfs, work, mbox):
    """materialize --offline of 100 accounts killed (SIGKILL) five times at
    growing delays, then run to the end: returns (problems, the tree, what a
    mount over the same state shows)."""
    accounts = [f"k{i}/Maildir" for i in range(100)]
    map_path, state = os.path.join(work, "killed.map"), os.path.join(work, "killed-state")
    with open(map_path, "w") as f:
        f.writelines(f"{a} inbox={mbox}\n" for a in accounts)
    harness.index(mboxfs, map_path, state)
    pristine = state + "-pristine"
    shutil.copytree(state, pristine)
    root = os.path.join(work, "killed-root")
    cmd = [mboxfs, "materialize", "--offline", "--jobs", "2", "--map", map_path, "--state", state,
           root]
    for delay in (0.02, 0.05, 0.1, 0.2, 0.4):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
    last = run(cmd)
    problems = [] if last.returncode == 0 else [f"exit {last.returncode}: {last.stderr}"]
    upper = os.path.join(work, "killed-upper")
    os.mkdir(upper)
    mount = harness.Mount(mboxfs, map_path, pristine, os.path.join(work, "killed-mnt"), upper=upper)
    try:
        shown = listing(mount.mountpoint, accounts)
    finally:
        mount.stop()
    return problems + diff("file", shown, listing(root, accounts))


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    if not os.path.exists(POP3D):
        print("SKIP: needs courier-pop")
        return harness.SKIP
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        old, map_path, state, mnt = tree.old, tree.map, tree.state, tree.mnt
        add_sample_accounts(old, map_path)
        write_big_inbox(os.path.join(old, "spool", "erin"))
        with open(map_path, "a") as f:
            f.write("erin/Maildir inbox=spool/erin\n")
        indexed = harness.index(mboxfs, map_path, state)
        pristine = os.path.join(work, "state-pristine")
        shutil.copytree(state, pristine)
        uw = {account: sorted(uw_uidls(harness.show(mboxfs, os.path.join(old, "spool", mbox)),
                                       indexed[(account, "INBOX")]["uidvalidity"]))
              for account, mbox in POP3_ACCOUNTS.items()}
        sources = harness.tree_checksum(old)

        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            gone = courier_writes(mnt)
            results.check("an expunged old message cannot be looked up any more",
                          [] if gone and not os.path.exists(gone) else [f"{gone}"])
            imap_before, pop3_before = imap_view(mnt), pop3_view(mnt)
            files_before = listing(mnt)
            virtual = virtual_entries(mnt)
            st = status(mboxfs, map_path, mnt)
            counted = sum(int(line.split(": ")[1].split()[0]) + int(line.split(" and ")[1].split()[0])
                          for line in st.stdout.splitlines() if "/Maildir: " in line)
            results.check("status counts every virtual object, exit status 3",
                          [] if st.returncode == 3 and counted == len(virtual) > 0 else
                          [f"exit {st.returncode}, counted {counted} of {len(virtual)}: "
                           f"{st.stdout}{st.stderr}"])
            offline = run([mboxfs, "materialize", "--offline", "--map", map_path, "--state", state,
                           os.path.join(work, "elsewhere")])
            results.check("materialize --offline refuses the state of a running mount",
                          [] if offline.returncode == 1 and "uses it" in offline.stderr else
                          [f"exit {offline.returncode}: {offline.stderr}"])

            total, left = interrupted_materialize(mboxfs, work, map_path, mnt)
            results.check("materialize --rate, interrupted, stops part way",
                          [] if 0 < total - left < 300 else [f"{total} -> {left} virtual"])
            done = run([mboxfs, "materialize", "--map", map_path, mnt])
            st = status(mboxfs, map_path, mnt)
            left = virtual_entries(mnt)
            results.check("materialize run again finishes; status says nothing is virtual",
                          [] if done.returncode == 0 and st.returncode == 0 and not left else
                          [f"materialize exit {done.returncode}: {done.stdout}{done.stderr}",
                           f"status exit {st.returncode}: {st.stdout}{st.stderr}",
                           f"still virtual: {left[:5]}"])
            results.check("the mount shows the same files after materializing",
                          diff("file", files_before, listing(mnt)))
            results.check("Courier imapd sees the same on the mount after materializing",
                          diff("account", imap_before, imap_view(mnt)))
            results.check("Courier pop3d prints the same UIDLs on the mount after materializing",
                          diff("account", pop3_before, pop3_view(mnt)))
        finally:
            mount.stop()

        # the mount went away: the upper tree alone is the mail root
        problems = diff("file", files_before, listing(mnt))
        results.check("unmounted: the upper tree is file for file what the mount showed",
                      problems)
        results.check("unmounted: Courier imapd sees the same UIDVALIDITY, UIDs, flags, bodies",
                      diff("account", imap_before, imap_view(mnt)))
        plain_pop3 = pop3_view(mnt)
        problems = diff("account", pop3_before, plain_pop3)
        problems += [f"{a}: {plain_pop3[a]} lacks uw-ipop3d's {uw[a]}" for a in uw
                     if a != "bob/Maildir"  # courier_writes() expunged one of bob's
                     and not set(uw[a]) <= set(plain_pop3[a])]
        results.check("unmounted: Courier pop3d prints uw-ipop3d's UIDLs", problems)
        problems = []
        after_materialization_pop3(mnt, pop3_before["alice/Maildir"], problems)
        results.check("unmounted: after RETR, DELE, QUIT and a delivery the UIDLs stay",
                      problems)

        # offline, against a mount over the same state
        offline_root, state_a, state_b = (os.path.join(work, d) for d in ("offline", "sa", "sb"))
        shutil.copytree(pristine, state_a)
        shutil.copytree(pristine, state_b)
        os.mkdir(os.path.join(work, "upper2"))
        first = run([mboxfs, "materialize", "--offline", "--map", map_path, "--state", state_a,
                     offline_root])
        # the done records wait for the next sync of a group (materialize.c):
        # every one must be there at the end (before a load completes intents)
        unsettled, real = journal_copies(state_a)
        again = run([mboxfs, "materialize", "--offline", "--map", map_path, "--state", state_a,
                     offline_root])
        offline_files = listing(offline_root)
        mount = harness.Mount(mboxfs, map_path, state_b, os.path.join(work, "mnt2"),
                              upper=os.path.join(work, "upper2"))
        try:
            mount_files = listing(mount.mountpoint)
            mount_imap, mount_pop3 = imap_view(mount.mountpoint), pop3_view(mount.mountpoint)
        finally:
            mount.stop()
        # control files the mount generates carry its start time, the
        # offline ones theirs: compare those without mtimes (listing does)
        results.check("materialize --offline writes what a mount over the same state shows",
                      [f"exit {first.returncode}: {first.stderr}"] * (first.returncode != 0) +
                      diff("file", mount_files, offline_files))
        written = first.stdout.split()[0] if first.stdout else "?"
        results.check("materialize --offline leaves a done record after every intent, one per "
                      "message it wrote",
                      unsettled + ([] if written == str(real) else
                                   [f"{real} messages recorded real, {written} written"]))
        results.check("materialize --offline run again writes nothing and changes nothing",
                      [] if again.returncode == 0 and again.stdout.startswith("0 messages") and
                      listing(offline_root) == offline_files else [again.stdout + again.stderr])
        results.check("offline: Courier imapd sees what it saw on the mount",
                      diff("account", mount_imap, imap_view(offline_root)))
        offline_pop3 = pop3_view(offline_root)
        # two maildirs, each with its own first pop3d session
        problems = []
        comparable = [without_pop3d_epoch(v, problems) for v in (mount_pop3, offline_pop3)]
        results.check("offline: Courier pop3d prints uw-ipop3d's UIDLs, as on the mount",
                      problems + diff("account", *comparable) +
                      [f"{a}: {offline_pop3[a]} lacks uw-ipop3d's {uw[a]}" for a in uw
                       if not set(uw[a]) <= set(offline_pop3[a])])
        results.check("materialize --offline killed five times, then run again: what the mount "
                      "shows, no duplicate, no temporary file",
                      killed_offline_runs(mboxfs, work, os.path.join(old, "spool", "alice")))
        results.check("the old mboxes are byte-identical",
                      [] if harness.tree_checksum(old) == sources else ["sources changed"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
