"""Defects a new user hit in the command line tools, on a hostile tree built
in a temporary directory:
  - `mboxfs mount` on a mount point where an mboxfs is mounted refuses (it
    used to stack a second mount over the first);
  - `mboxfs index` exits 3 when an INBOX is not a mailbox (it used to exit 0
    although that account will have no INBOX), 0 on the healthy map;
  - `index` and `show` print control bytes and escape sequences of folder
    names escaped, never raw;
  - `show --state --map` prints the UIDVALIDITY Courier imapd serves on the
    mount, and leaves the state directory as it was.

usage: test_cli.py MBOXFS EXAMPLES_DIR
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, select  # noqa: E402

EVIL_FOLDER = "\x1b[31mred\x07"  # an escape sequence and a bell in a UW folder name
ENV = dict(os.environ, TZ="UTC")


def run(cmd):
    return subprocess.run(cmd, capture_output=True, env=ENV)


def state_files(state):
    """{name: sha256} of the state directory's files."""
    out = {}
    for name in sorted(os.listdir(state)):
        path = os.path.join(state, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        old, map_path, state, mnt = tree.old, tree.map, tree.state, tree.mnt
        index = [mboxfs, "index", "--map", map_path, "--state", state, "--source-tz", "UTC"]

        healthy = run(index)
        results.check("index of the healthy example map exits 0",
                      [] if healthy.returncode == 0 else
                      [f"exit {healthy.returncode}: {healthy.stderr.decode()}"])

        # temp files an interrupted run left (store.h): removed once an hour old
        index_files = sorted(n for n in os.listdir(state) if n.endswith(".idx"))
        stale = os.path.join(state, index_files[0] + ".tmp.4242")
        young = os.path.join(state, index_files[0] + ".tmp.4343")
        for path in (stale, young):
            with open(path, "w") as f:
                f.write("torn")
        os.utime(stale, (time.time() - 7200, time.time() - 7200))
        again = run(index)
        left = [p for p in (stale, young) if os.path.exists(p)]
        results.check("index removes a temp file an interrupted run left, once an hour old",
                      [] if again.returncode == 0 and left == [young] and
                      b"removed 1 temp files left by an interrupted run" in again.stderr else
                      [f"exit {again.returncode}, left {left}: {again.stderr.decode()}"])
        os.unlink(young)

        # evil: an INBOX that is not a mailbox, a folder with an escape sequence
        with open(os.path.join(old, "spool", "evil"), "w") as f:
            f.write("This is not a mailbox.\n")
        os.makedirs(os.path.join(old, "home", "evil"))
        with open(os.path.join(old, "home", "evil", EVIL_FOLDER), "w") as f:
            f.write("From x@example.org Mon Jan  6 10:00:00 2020\nSubject: x\n\nx\n")
        evil_map = os.path.join(old, "evil.map")
        with open(map_path) as f, open(evil_map, "w") as g:
            g.write(f.read() + "evil/Maildir inbox=spool/evil home=home/evil\n")
        evil_state = os.path.join(work, "evil-state")
        evil = run([mboxfs, "index", "--map", evil_map, "--state", evil_state,
                    "--source-tz", "UTC"])
        out = evil.stdout
        results.check("index exits 3 when an INBOX is not a mailbox, and says it",
                      [] if evil.returncode == 3 and re.search(rb"evil/Maildir INBOX: .*not served",
                                                               out) else
                      [f"exit {evil.returncode}: {out.decode(errors='replace')}"])
        raw = [b for b in (b"\x1b", b"\x07") if b in out + evil.stderr]
        results.check("index prints a folder name's escape sequence escaped, never raw",
                      [] if not raw and b'"\\033[31mred\\007"' in out else
                      [f"raw bytes {raw}: {out!r}"])
        evil_mbox = os.path.join(old, "home", "evil", EVIL_FOLDER)
        shown = run([mboxfs, "show", "--source-tz", "UTC", evil_mbox])
        results.check("show prints the path's escape sequence escaped",
                      [] if shown.returncode == 0 and b"\x1b" not in shown.stdout and
                      b"\\033[31mred\\007" in shown.stdout else [repr(shown.stdout)])
        usage = run([mboxfs, "index", "--help"])
        results.check("index --help documents exit status 3",
                      [] if b"3 no errors, but an INBOX is not a mailbox" in usage.stdout else
                      [usage.stdout.decode()])

        # show --state: what index and mount serve, the state only read
        bob = os.path.join(old, "spool", "bob")  # no UID metadata: UIDVALIDITY from the state
        before = state_files(state)
        shown = run([mboxfs, "show", "--json", "--source-tz", "UTC", "--state", state,
                     "--map", map_path, bob])
        after = state_files(state)
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            imap = Imapd(os.path.join(mnt, "bob/Maildir"))
            served = select(imap, "INBOX")
            imap.close()
            uidv = json.loads(shown.stdout)["uidvalidity"] if shown.returncode == 0 else None
            results.check("show --state --map prints the UIDVALIDITY Courier serves",
                          [] if uidv == served else
                          [f"show {uidv} ({shown.stderr.decode()}), imapd {served}"])
            results.check("show --state leaves the state directory as it was",
                          [] if before == after else
                          [f"added {sorted(set(after) - set(before))}, changed "
                           f"{[n for n in before if after.get(n) != before[n]]}"])
            plain = run([mboxfs, "show", "--state", state, bob])
            results.check("show --state without --map is refused (the key needs the map)",
                          [] if plain.returncode == 2 else [f"exit {plain.returncode}"])

            # a second mount on the same mount point (another state: no lock clash)
            second = run([mboxfs, "mount", "--map", map_path, "--state",
                          os.path.join(work, "state2"), "--foreground", mnt])
            with open("/proc/mounts") as f:
                mounts = [line for line in f if line.split()[1] == mnt]
            results.check("mount refuses a mount point where an mboxfs is mounted",
                          [] if second.returncode == 1 and len(mounts) == 1 and
                          b"already mounted" in second.stderr else
                          [f"exit {second.returncode}, {len(mounts)} mounts: "
                           f"{second.stderr.decode()}"])
            for _ in mounts[1:]:  # undo what a stacking mount did: ours, by path
                subprocess.run(["fusermount3", "-u", mnt], check=False)
        finally:
            mount.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
