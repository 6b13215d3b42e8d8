#!/usr/bin/env python3
"""End to end, one domain at a time on a live mount (DESIGN.md, cutover):

- `mboxfs reload` after adding an account to the map serves it at once, with
  the UIDs the old server gave, while a Courier session of another account
  stays open and keeps working;
- removing an account that still has virtual objects is refused (non-zero
  exit, a message naming the account) and changes nothing;
- `materialize --account` commits that account alone; the reload then
  retires it: its maildir stays, plain, and Courier serves it the same;
- a map with a bad line changes nothing;
- SIGHUP to the daemon (its pid is in the state directory's lock file)
  reloads as well, and does not unmount.

usage: test_reload.py MBOXFS EXAMPLES_DIR
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, fetch_all, select  # noqa: E402
from pop3 import DELETED_SAMPLE_UIDVALIDITY, write_deleted_sample  # noqa: E402

PENDING = "user.mboxfs.pending"


def view(mnt, account):
    """UIDVALIDITY and {uid: (flags, size)} of an INBOX through Courier."""
    imap = Imapd(os.path.join(mnt, account))
    try:
        uidv = select(imap, "INBOX")
        return uidv, {u: (frozenset(m["flags"]) - {"\\Recent"}, len(m["body"]))
                      for u, m in fetch_all(imap).items()}
    finally:
        imap.close()


def reload(mboxfs, mnt):
    return subprocess.run([mboxfs, "reload", mnt], capture_output=True, text=True)


def write_map(path, lines):
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        write_deleted_sample(os.path.join(tree.old, "spool", "carol"))
        with open(tree.map) as f:
            base = [line.rstrip("\n") for line in f if line.strip() and not line.startswith("#")]
        carol = "carol/Maildir inbox=spool/carol"
        dave = "dave/Maildir inbox=spool/carol pop3=off"
        mount = harness.Mount(mboxfs, tree.map, tree.state, tree.mnt)
        try:
            alice_before = view(tree.mnt, "alice/Maildir")
            bob_before = view(tree.mnt, "bob/Maildir")
            session = Imapd(os.path.join(tree.mnt, "alice/Maildir"))
            select(session, "INBOX", examine=False)

            write_map(tree.map, base + [carol])
            run = reload(mboxfs, tree.mnt)
            problems = [] if run.returncode == 0 else [f"exit {run.returncode}: {run.stderr}"]
            uidv, msgs = view(tree.mnt, "carol/Maildir")
            if uidv != DELETED_SAMPLE_UIDVALIDITY or sorted(msgs) != [1, 2, 3]:
                problems.append(f"carol: UIDVALIDITY {uidv}, UIDs {sorted(msgs)}")
            status, _ = session.command("UID STORE 1 +FLAGS (\\Flagged)")
            status2, _ = session.command("NOOP")
            if " OK " not in status or " OK " not in status2:
                problems.append(f"alice's open session: {status} / {status2}")
            results.check("reload: an added account is served at once, others' sessions go on",
                          problems)

            write_map(tree.map, [base[0], carol])  # bob leaves, still virtual
            run = reload(mboxfs, tree.mnt)
            problems = []
            if run.returncode == 0 or "bob/Maildir" not in run.stderr or \
                    "virtual" not in run.stderr:
                problems.append(f"exit {run.returncode}: {run.stderr.strip()!r}")
            if view(tree.mnt, "bob/Maildir") != bob_before:
                problems.append("bob is not served as before")
            if not os.getxattr(os.path.join(tree.mnt, "bob/Maildir"), PENDING):
                problems.append("bob's maildir is no longer mboxfs's")
            results.check("reload refuses to retire an account with virtual objects", problems)

            write_map(tree.map, base + [carol])
            run = subprocess.run([mboxfs, "materialize", "--quiet", "--account", "bob/*",
                                  "--map", tree.map, tree.mnt], capture_output=True, text=True)
            left = os.getxattr(os.path.join(tree.mnt, "alice/Maildir"), PENDING).split()
            problems = [] if run.returncode == 0 else [f"materialize: {run.stderr}"]
            if left[0] == b"0":
                problems.append("materialize --account bob/* materialized alice too")
            write_map(tree.map, [base[0], carol])
            run = reload(mboxfs, tree.mnt)
            if run.returncode != 0:
                problems.append(f"reload after materializing bob: {run.stderr.strip()!r}")
            try:
                os.getxattr(os.path.join(tree.mnt, "bob/Maildir"), PENDING)
                problems.append("bob's maildir is still mboxfs's")
            except OSError:
                pass
            if view(tree.mnt, "bob/Maildir") != bob_before:
                problems.append("Courier serves retired bob differently")
            results.check("materialize --account, then reload: the account is retired, served "
                          "the same from its real files", problems)

            write_map(tree.map, [base[0], carol, "broken/Maildir"])
            run = reload(mboxfs, tree.mnt)
            problems = []
            if run.returncode == 0 or f"{tree.map}:3" not in run.stderr:
                problems.append(f"exit {run.returncode}: {run.stderr.strip()!r}")
            if view(tree.mnt, "carol/Maildir")[0] != DELETED_SAMPLE_UIDVALIDITY:
                problems.append("carol changed")
            results.check("reload of a map with a bad line changes nothing", problems)

            write_map(tree.map, [base[0], carol, dave])
            with open(os.path.join(tree.state, "lock")) as f:
                pid = int(f.read())
            problems = [] if pid == mount.proc.pid else [f"lock file says pid {pid}"]
            os.kill(pid, signal.SIGHUP)
            uidv = None
            for _ in range(100):  # the reload runs in the daemon's own time
                if os.path.isdir(os.path.join(tree.mnt, "dave/Maildir/cur")):
                    uidv, msgs = view(tree.mnt, "dave/Maildir")
                    break
                time.sleep(0.05)
            if uidv != DELETED_SAMPLE_UIDVALIDITY or not mount.mounted():
                problems.append(f"after SIGHUP: dave UIDVALIDITY {uidv}, "
                                f"mounted {mount.mounted()}")
            alice_now = view(tree.mnt, "alice/Maildir")
            if alice_now[0] != alice_before[0] or set(alice_now[1]) != set(alice_before[1]):
                problems.append("alice changed")
            results.check("SIGHUP reloads the map and keeps the mount", problems)
            session.close()
        finally:
            mount.stop()
    finally:
        subprocess.run(["fusermount3", "-uz", tree.mnt], stderr=subprocess.DEVNULL, check=False)
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
