#!/usr/bin/env python3
"""The daemon's open fds during a Courier session on a real-tree folder (one fd per
real regular file, fs/inode.c): figures, not a test. Run by bench/fds.sh (see there).

Per binary, in rounds that alternate the binaries (A B A B ...): the bundled example
old server (examples/oldserver) mounted with an upper tree of its own, in which alice's
maildir gets a plain folder .Real of MESSAGES real message files in cur/ (never an
mbox: every message a real file); then one Courier imapd session: SELECT INBOX.Real,
UID FETCH 1:* BODY.PEEK[] (every file read), UID STORE 1:* +FLAGS (\\Seen) (every file
renamed), APPEND of APPENDS messages (each a file created in tmp/, linked into new/ or
cur/), LOGOUT. After each step it counts the daemon's fds (/proc/PID/fd, pipes left out:
libfuse's splice pipes come and go with its worker threads) and those of them on
regular files, and prints the medians per step and binary, with the number of real
message files the step left, and the ratios; and the seconds each step took (medians,
ratios to the first binary). The kernel keeps the inodes after the
session (nothing is forgotten before memory runs short), so the last row is what a
mount keeps between sessions. Then, with --load SECONDS, in the same round,
tests/e2e/test_load.py for that long (50 concurrent Courier sessions appending,
flagging, expunging; it must pass): the highest fd count of its daemon, and the
messages it changed (the appends are real files).

Processes: only its own, by PID: the mboxfs daemons (harness.Mount: fusermount3 -u of
its own mount point), the imapd sessions, and the gam_servers of its own GAM_CLIENT_ID.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import harness  # noqa: E402
import imap  # noqa: E402


def fds(pid):
    """(fds but pipes, fds on regular files) of process pid."""
    total = regular = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            st = os.stat(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("pipe:"):
            continue
        total += 1
        regular += target.startswith("/") and (st.st_mode & 0o170000) == 0o100000
    return total, regular


def message(i):
    return (f"From: bench{i}@example.org\r\nTo: alice@example.org\r\n"
            f"Subject: real message {i}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <real{i}@example.org>\r\n\r\n" + f"body line of {i}\r\n" * 20).encode()


def one_round(mboxfs, examples, work, messages, appends):
    """[(step, fds, regular fds, message files)] of one mount and session."""
    tree = harness.Tree(work, examples)
    upper = os.path.join(work, "upper")
    folder = os.path.join(upper, "alice/Maildir/.Real")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(folder, sub))
    for i in range(messages):
        with open(os.path.join(folder, "cur", f"{1700000000 + i}.M{i}P1.bench:2,"), "wb") as f:
            f.write(message(i))
    mount = harness.Mount(mboxfs, tree.map, tree.state, tree.mnt, upper=upper)
    rows = []
    try:
        pid = mount.proc.pid
        t0 = [time.perf_counter()]

        def count(step):
            took = time.perf_counter() - t0[0]
            n = sum(len(os.listdir(os.path.join(folder, s))) for s in ("cur", "new"))
            rows.append((step, *fds(pid), n, took))
            t0[0] = time.perf_counter()

        count("mounted")
        session = imap.Imapd(os.path.join(tree.mnt, "alice/Maildir"))
        try:
            t0[0] = time.perf_counter()
            imap.ok(session, "SELECT INBOX.Real")
            count("SELECT INBOX.Real")
            status, resp = session.command("UID FETCH 1:* BODY.PEEK[]")
            if " OK" not in status or sum(b" FETCH " in p[0] for p in resp) != messages:
                raise RuntimeError(f"FETCH: {status}")
            count("UID FETCH 1:* BODY.PEEK[]")
            imap.ok(session, "UID STORE 1:* +FLAGS.SILENT (\\Seen)")
            count("UID STORE 1:* +FLAGS (\\Seen)")
            for i in range(appends):
                status = imap.append(session, "INBOX.Real", "\\Seen", message(messages + i))
                if " OK" not in status:
                    raise RuntimeError(f"APPEND: {status}")
            imap.ok(session, "NOOP")
            count(f"{appends} APPENDs")
        finally:
            session.close()
        count("after LOGOUT")
    finally:
        if mount.stop() != 0:
            raise RuntimeError(f"{mboxfs}: the daemon did not exit 0")
        harness.end_gam_servers()
    return rows


def children(pid):
    """The pids whose parent is pid."""
    out = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    return out


def load_round(mboxfs, duration, log_path):
    """tests/e2e/test_load.py on mboxfs for duration seconds: (the highest count of
    fds, and of those on regular files, of its mboxfs daemons, sampled every 0.2 s;
    the messages the test changed)."""
    test = os.path.join(HERE, "..", "tests", "e2e", "test_load.py")
    with open(log_path, "wb") as log:
        p = subprocess.Popen([sys.executable, test, mboxfs], stdout=log, stderr=subprocess.STDOUT,
                             env=dict(os.environ, DURATION=str(duration)))
        peak = (0, 0)
        while p.poll() is None:
            for pid in children(p.pid):
                try:  # (its comm is "exe": malloc_tune.c runs it again)
                    if os.path.realpath(f"/proc/{pid}/exe") != os.path.realpath(mboxfs):
                        continue
                    peak = max(peak, fds(pid))
                except OSError:
                    continue
            time.sleep(0.2)
    out = open(log_path).read()
    m = re.search(r"\((\d+) messages changed\)", out)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"test_load.py on {mboxfs} failed:\n{out[-2000:]}")
    return (*peak, int(m.group(1)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--examples", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--appends", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--load", type=float, default=20, help="test_load.py seconds (0: none)")
    p.add_argument("binaries", nargs="+", help="label=path of mboxfs, first = before")
    a = p.parse_args()
    bins = [b.split("=", 1) for b in a.binaries]
    got = {}  # (step, label) -> [(fds, regular, files)]
    steps = []
    for r in range(a.rounds):
        for label, path in bins:
            work = os.path.join(a.work, f"{label}-{r}")
            os.makedirs(work)
            for step, total, regular, files, took in one_round(path, a.examples, work,
                                                               a.messages, a.appends):
                if step not in steps:
                    steps.append(step)
                got.setdefault((step, label), []).append((total, regular, files, took))
                print(f"   round {r + 1} [{label}] {step}: {total} fds, {regular} on regular "
                      f"files, {files} message files; {took:.3f} s", flush=True)
            if a.load:
                total, regular, changed = load_round(path, a.load, os.path.join(a.work, "load.log"))
                got.setdefault(("load", label), []).append((total, regular, changed))
                print(f"   round {r + 1} [{label}] test_load.py {a.load:.0f} s: at most {total} "
                      f"fds, {regular} on regular files; {changed} messages changed", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    labels = [label for label, _ in bins]
    print()
    print("| step | message files | " + " | ".join(f"fds {x} (regular files)" for x in labels) +
          (f" | ratio {labels[-1]}/{labels[0]} |" if len(labels) > 1 else " |"))
    print("|---|---:|" + "---:|" * len(labels) + ("---:|" if len(labels) > 1 else ""))
    for step in steps:
        med = {x: [statistics.median(v[k] for v in got[(step, x)]) for k in range(3)]
               for x in labels}
        cells = [f"{med[x][0]:.0f} ({med[x][1]:.0f})" for x in labels]
        ratio = [f"{med[labels[-1]][0] / med[labels[0]][0]:.2f}x"] if len(labels) > 1 else []
        print(f"| {step} | {med[labels[0]][2]:.0f} | " + " | ".join(cells + ratio) + " |")
    print()
    print("Seconds of each step (the IMAP command(s), each from sending to the tagged OK; "
          "medians):")
    print()
    print("| step | " + " | ".join(labels) + " | " +
          " | ".join(f"{x} / {labels[0]}" for x in labels[1:]) + " |")
    print("|---|" + "---:|" * (2 * len(labels) - 1))
    for step in steps[1:-1]:  # not the mount, not the LOGOUT
        med = {x: statistics.median(v[3] for v in got[(step, x)]) for x in labels}
        print(f"| {step} | " + " | ".join(f"{med[x]:.3f}" for x in labels) + " | " +
              " | ".join(f"{med[x] / med[labels[0]]:.2f}x" for x in labels[1:]) + " |")
    if a.load:
        print()
        print(f"test_load.py, DURATION={a.load:.0f} (50 Courier sessions; its daemon's highest "
              "fd count, medians):")
        print()
        print("| binary | messages changed | highest fds (regular files) | fds per changed message |")
        print("|---|---:|---:|---:|")
        for x in labels:
            v = got[("load", x)]
            t, r, c = (statistics.median(e[k] for e in v) for k in range(3))
            print(f"| {x} | {c:.0f} | {t:.0f} ({r:.0f}) | {t / c:.2f} |")


if __name__ == "__main__":
    main()
