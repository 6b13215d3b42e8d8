#!/usr/bin/env python3
"""End to end, hostile source trees (index/source.h) beside a healthy account
on one mount, everything under one domain directory:

1. alice's folder directory links to bob's spool file, to bob's 0700 folder
   directory, hard-links one of bob's 0600 folder files, and ~/.mailboxlist is a
   link to a root-only file: none of it is served (to cat as alice, to imapd run
   as alice, in LSUB), each refusal is an anomaly of `mboxfs index`.
2. Two self-links in alice's folder directory and a FIFO as another account's
   INBOX: `index` finishes, listings finish, each folder is served once; a
   source that hangs (a path on a second FUSE mount whose daemon is stopped)
   stalls only its own account, and SIGTERM still unmounts.
3. Folder files "b" and "&AGI-" (both decode to "b"): two folders, ".b" and
   ".%26AGI-", each with its own messages, on the mount and in
   `materialize --offline`.
The healthy account is compared with `mboxfs show` throughout; the sources are
unchanged at the end. Operations that hung before the fix run in child
processes with a generous limit, so that a regression fails instead of hanging.

usage: test_hostile.py MBOXFS
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, fetch_all, list_folders, select  # noqa: E402

ALICE, BOB, HEALTHY = 41001, 41002, 41003
LIMIT = 60  # seconds before an operation that must end counts as hung
# a Python the test users can run (the one running this test may live in /root)
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def mbox(marker, n):
    return "".join(f"From {marker}@example.org Wed Dec  2 05:53:2{i} 1992 +0000\n"
                   f"Subject: {marker} {i}\n\n{marker} body {i}\n\n" for i in range(n)).encode()


def put(path, data, uid, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chown(path, uid, uid)
    os.chmod(path, mode)


def mkdir(path, uid, mode=0o755):
    os.makedirs(path)
    os.chown(path, uid, uid)
    os.chmod(path, mode)


def drop_to(uid):
    def preexec():
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return preexec


def run(cmd, uid=None, limit=LIMIT):
    """(returncode, stdout, stderr); returncode None if it did not end in time."""
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=limit,
                           preexec_fn=drop_to(uid) if uid is not None else None)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return None, b"", b"did not end"


LISTER = ("import os, sys, json\n"
          "out = {}\n"
          "for d, dirs, files in os.walk(sys.argv[1]):\n"
          "    for n in files:\n"
          "        p = os.path.join(d, n)\n"
          "        try:\n"
          "            out[os.path.relpath(p, sys.argv[1])] = open(p, 'rb').read().decode('latin-1')\n"
          "        except OSError as e:\n"
          "            out[os.path.relpath(p, sys.argv[1])] = 'ERROR ' + e.strerror\n"
          "print(json.dumps(out))\n")


def read_tree(path, uid=None):
    """{relative path: content} of every file below path, read by uid in a child."""
    rc, out, err = run([PYTHON, "-c", LISTER, path], uid)
    if rc != 0:
        raise RuntimeError(f"reading {path}: {'hung' if rc is None else err.decode()[-300:]}")
    return json.loads(out)


def checksum(root):
    """SHA-256 over the names, modes and bytes of the tree, links not followed
    and only regular files read (opening the FIFO would block)."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            h.update(f"{os.path.relpath(path, root)}\0{st.st_mode}\0{st.st_size}\0".encode())
            if os.path.islink(path):
                h.update(os.readlink(path).encode())
            elif os.path.isfile(path):
                with open(path, "rb") as f:
                    h.update(f.read())
    return h.hexdigest()


def build(work):
    old = os.path.join(work, "old")
    spool, home = os.path.join(old, "spool"), os.path.join(old, "home")
    os.makedirs(spool)
    os.makedirs(home)
    put(f"{spool}/alice", mbox("ALICE-INBOX", 2), ALICE)
    put(f"{spool}/bob", mbox("BOB-SECRET-SPOOL", 2), BOB)
    put(f"{spool}/healthy", mbox("HEALTHY-INBOX", 3), HEALTHY)
    os.mkfifo(f"{spool}/pipe", 0o600)
    os.chown(f"{spool}/pipe", ALICE, ALICE)
    put(f"{old}/secret", b"INBOX\nsecret-folder\n", 0)
    mkdir(f"{home}/bob", BOB, 0o700)
    mkdir(f"{home}/bob/mail", BOB, 0o700)
    put(f"{home}/bob/mail/private", mbox("BOB-SECRET-FOLDER", 1), BOB)
    put(f"{home}/bob/mail/linked", mbox("BOB-SECRET-LINKED", 1), BOB)
    a = f"{home}/alice"
    mkdir(a, ALICE)
    put(f"{a}/saved", mbox("ALICE-SAVED", 1), ALICE)
    put(f"{a}/b", mbox("PLAIN-B", 2), ALICE)
    put(f"{a}/&AGI-", mbox("ENCODED-B", 3), ALICE)
    os.symlink(f"{spool}/bob", f"{a}/steal")
    os.symlink(f"{home}/bob/mail", f"{a}/bobmail")
    os.link(f"{home}/bob/mail/linked", f"{a}/hard")
    os.symlink(f"{old}/secret", f"{a}/.mailboxlist")
    os.symlink(".", f"{a}/x")
    os.symlink(".", f"{a}/y")
    mkdir(f"{home}/pipe", ALICE)
    put(f"{home}/pipe/f", mbox("PIPE-F", 1), ALICE)
    mkdir(f"{home}/healthy", HEALTHY)
    put(f"{home}/healthy/work", mbox("HEALTHY-WORK", 2), HEALTHY)
    put(f"{home}/healthy/.mailboxlist", b"work\n", HEALTHY)
    lines = [f"example.org/alice inbox={spool}/alice home={a} owner={ALICE}",
             f"example.org/healthy inbox={spool}/healthy home={home}/healthy owner={HEALTHY}",
             f"example.org/pipe inbox={spool}/pipe home={home}/pipe owner={ALICE}"]
    with open(os.path.join(work, "accounts.map"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return old


def expected(mboxfs, path):
    """{uid: sha256 of the served bytes} from mboxfs show."""
    return {m["uid"]: m["sha256_lf"] for m in harness.show(mboxfs, path)["messages"]}


def served_cur(files, folder_dir):
    """{sha256: count} of the files in folder_dir/cur of a read_tree result."""
    out = {}
    prefix = (folder_dir + "/" if folder_dir else "") + "cur/"
    for rel, text in files.items():
        if rel.startswith(prefix) and "/" not in rel[len(prefix):]:
            digest = hashlib.sha256(text.encode("latin-1")).hexdigest()
            out[digest] = out.get(digest, 0) + 1
    return out


def check_healthy(results, name, mboxfs, root, old):
    """The healthy account read as its owner through root (a mount or a
    materialized tree): exactly the messages show serves, no more."""
    problems = []
    try:
        files = read_tree(os.path.join(root, "example.org/healthy"), HEALTHY)
    except RuntimeError as e:
        results.check(name, [str(e)])
        return
    for folder_dir, src in (("", "spool/healthy"), (".work", "home/healthy/work")):
        want = {}
        for digest in expected(mboxfs, os.path.join(old, src)).values():
            want[digest] = want.get(digest, 0) + 1
        got = served_cur(files, folder_dir)
        if got != want:
            problems.append(f"{folder_dir or 'INBOX'}: {len(got)} messages, expected {len(want)}")
    results.check(name, problems)


def check_index(results, mboxfs, work, old):
    rc, out, err = run([mboxfs, "index", "--map", f"{work}/accounts.map", "--state",
                        f"{work}/index-state", "--json", "--source-tz", "UTC"])
    if rc is None:
        results.check("2: index of self-links and a FIFO INBOX ends", ["did not end"])
        return
    results.check("2: index of self-links and a FIFO INBOX ends", [])
    reports = json.loads(out)
    folders = {(r["maildir"], r["folder"]): r for r in reports}
    alice = sorted(f for m, f in folders if m == "example.org/alice")
    results.check("1, 2, 3: index lists alice's own folders once each",
                  [] if alice == sorted(["INBOX", "saved", "b", "&AGI-"]) else [f"{alice}"])
    anomalies = {(os.path.basename(a["path"]), a["kind"])
                 for a in folders[("example.org/alice", "INBOX")]["source_anomalies"]}
    want = {("steal", "refused"), ("bobmail", "refused"), ("hard", "refused"),
            ("x", "loop"), ("y", "loop"), ("&AGI-", "escaped-name")}
    results.check("1, 2, 3: each refusal, loop and escaped name is an anomaly naming the path",
                  [] if anomalies == want else [f"got {sorted(anomalies)}"])
    pipe = folders.get(("example.org/pipe", "INBOX"), {})
    results.check("2: a FIFO INBOX is reported, never opened",
                  [] if "FIFO" in pipe.get("error", "") else [f"{pipe}"])
    courier = {folders[("example.org/alice", f)].get("courier") for f in ("b", "&AGI-")}
    results.check("3: index names the two b folders apart",
                  [] if courier == {"b", "%26AGI-"} else [f"{courier}"])


def check_mount(results, mboxfs, work, old, mnt):
    check_healthy(results, "healthy account served exactly (first)", mboxfs, mnt, old)
    alice_root = os.path.join(mnt, "example.org/alice")
    rc, out, _ = run(["ls", "-a", alice_root])
    results.check("2: listing alice's maildir ends", [] if rc == 0 else [f"rc {rc}"])
    dirs = sorted(n for n in out.decode().split() if n.startswith(".") and n not in (".", ".."))
    results.check("1, 2, 3: alice's maildir has her folders, once each",
                  [] if dirs == [".%26AGI-", ".b", ".saved"] else [f"{dirs}"])
    files = read_tree(alice_root, ALICE)
    leaked = [p for p, text in files.items() if "BOB-SECRET" in text or "secret-folder" in text]
    errors = [p for p, text in files.items() if text.startswith("ERROR")]
    results.check("1: alice reading her maildir as alice sees nothing of bob's or root's",
                  leaked + errors)
    for folder_dir, src in ((".b", "home/alice/b"), (".%26AGI-", "home/alice/&AGI-"),
                            ("", "spool/alice")):
        want = {}
        for digest in expected(mboxfs, os.path.join(old, src)).values():
            want[digest] = want.get(digest, 0) + 1
        got = served_cur(files, folder_dir)
        results.check(f"3: {folder_dir or 'INBOX'} serves exactly {src}",
                      [] if got == want else [f"{len(got)} distinct, expected {len(want)}"])

    imap = Imapd(alice_root, uid=ALICE)
    try:
        names = list_folders(imap, selectable=True)
        lsub = list_folders(imap, "LSUB")
        results.check("1, 3: imapd as alice lists her folders only",
                      [] if names == {"INBOX", "INBOX.saved", "INBOX.b", "INBOX.%26AGI-"}
                      else [f"{sorted(names)}"])
        results.check("1: LSUB shows nothing from the linked .mailboxlist",
                      [] if not lsub else [f"{sorted(lsub)}"])
        bodies = {}
        for folder in ("INBOX.b", "INBOX.%26AGI-"):
            select(imap, folder)
            bodies[folder] = sorted(m["body"] for m in fetch_all(imap).values())
        want = {"INBOX.b": 2, "INBOX.%26AGI-": 3}
        problems = [f"{f}: {len(b)} messages" for f, b in bodies.items() if len(b) != want[f]]
        if b"ENCODED-B" in b"".join(bodies["INBOX.b"]) or \
                b"PLAIN-B" in b"".join(bodies["INBOX.%26AGI-"]):
            problems.append("messages of one b folder in the other")
        results.check("3: imapd as alice reads the two b folders apart", problems)
    finally:
        imap.close()

    pipe_cur = os.path.join(mnt, "example.org/pipe/cur")
    rc, _, _ = run(["ls", pipe_cur])
    results.check("2: the FIFO INBOX's cur/ answers (an error, not a hang)",
                  [] if rc is not None else ["hung"])
    pipe_f = read_tree(os.path.join(mnt, "example.org/pipe/.f"), ALICE)
    results.check("2: the FIFO account's folder is served",
                  [] if len(served_cur(pipe_f, "")) == 1 else [f"{sorted(pipe_f)}"])
    log = open(os.path.join(work, "mount.log"), errors="replace").read()
    missing = [w for w in ("steal: refused", "bobmail: refused", "hard: refused", "x: loop",
                           "y: loop", "&AGI-: escaped-name", "pipe: a FIFO") if w not in log]
    results.check("1, 2, 3: the mount logs each anomaly", missing)
    check_healthy(results, "healthy account served exactly (after the hostile ones)", mboxfs,
                  mnt, old)


def check_materialize(results, mboxfs, work, old):
    upper = os.path.join(work, "materialized")
    rc, _, err = run([mboxfs, "materialize", "--offline", "--map", f"{work}/accounts.map",
                      "--state", f"{work}/offline-state", "--source-tz", "UTC", upper])
    results.check("2: materialize --offline ends", [] if rc is not None else ["did not end"])
    # its exit status is 1: the FIFO INBOX cannot be materialized (and says so)
    results.check("2: materialize --offline reports the FIFO INBOX",
                  [] if b"pipe: a FIFO" in err else [err.decode(errors="replace")[-300:]])
    files = read_tree(os.path.join(upper, "example.org/alice"))
    problems = []
    for folder_dir, src in ((".b", "home/alice/b"), (".%26AGI-", "home/alice/&AGI-")):
        want = {}
        for digest in expected(mboxfs, os.path.join(old, src)).values():
            want[digest] = want.get(digest, 0) + 1
        if served_cur(files, folder_dir) != want:
            problems.append(f"{folder_dir}: {len(served_cur(files, folder_dir))} distinct")
        uiddb = files.get(f"{folder_dir}/courierimapuiddb", "")
        if len(uiddb.splitlines()) != 1 + sum(want.values()):
            problems.append(f"{folder_dir}/courierimapuiddb: {uiddb!r}")
    results.check("3: materialize --offline writes the two b folders apart", problems)
    leaked = [p for p, text in files.items() if "BOB-SECRET" in text or "secret-folder" in text]
    results.check("1: materialize --offline writes nothing of bob's into alice's", leaked)
    check_healthy(results, "healthy account materialized exactly", mboxfs, upper, old)


def stopped(pid):
    """1 once every thread of pid is stopped: before that, one of its threads
    may still take a request off /dev/fuse, which the kernel then waits for
    without letting anyone kill the waiter, the mount's daemon included."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "T":
                    return 0
        except OSError:
            pass
    return 1


def stuck_threads(pid):
    """Threads of pid waiting for another FUSE file system's answer."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/wchan") as f:
                wchan = f.read().strip()
            n += wchan == "request_wait_answer" or (wchan.startswith("fuse_") and
                                                     wchan != "fuse_dev_do_read")
        except OSError:
            pass
    return n


def check_slow_source(results, mboxfs, work, old):
    """A source on a FUSE mount whose daemon is stopped (SIGSTOP): the worker
    that reads it hangs; the healthy account must still be served, and SIGTERM
    must still unmount. The two live in different directories: within one
    directory the kernel still serialises the lookups (FUSE parallel dirops
    is asked for but not in effect here: an open problem)."""
    frozen_dir = os.path.join(work, "frozen")
    os.makedirs(f"{work}/frozen-state")
    frozen = harness.Mount(mboxfs, f"{work}/accounts.map", f"{work}/frozen-state/state",
                           frozen_dir)
    mnt = os.path.join(work, "slowmnt")
    map2 = os.path.join(work, "slow.map")
    with open(map2, "w") as f:
        f.write(f"example.org/healthy inbox={old}/spool/healthy home={old}/home/healthy "
                f"owner={HEALTHY}\n"
                f"other.example/slow inbox={old}/spool/alice home={frozen_dir}/example.org "
                f"owner={ALICE}\n")
    os.makedirs(f"{work}/slow-state")
    mount = harness.Mount(mboxfs, map2, f"{work}/slow-state/state", mnt)
    lister = reader = None
    try:
        os.stat(frozen_dir)  # the frozen mount has answered INIT before it stops
        os.kill(frozen.proc.pid, signal.SIGSTOP)
        deadline = time.time() + LIMIT
        while not stopped(frozen.proc.pid) and time.time() < deadline:
            time.sleep(0.01)
        lister = subprocess.Popen(["ls", os.path.join(mnt, "other.example/slow")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + LIMIT
        while not stuck_threads(mount.proc.pid) and time.time() < deadline:
            time.sleep(0.05)
        results.check("2: a worker of the mount is stuck in the stopped source",
                      [] if stuck_threads(mount.proc.pid) else ["none seen"])
        # in a thread: before the fix the reader waited (uninterruptibly) for
        # the stuck lookup; the finally clause below unblocks it
        reader = threading.Thread(target=check_healthy, args=(
            results, "2: healthy account served while another account's source hangs",
            mboxfs, mnt, old))
        reader.start()
        reader.join(LIMIT)
        if reader.is_alive():
            results.check("2: healthy account served while another account's source hangs",
                          ["hung"])
        mount.proc.send_signal(signal.SIGTERM)
        try:
            mount.proc.wait(timeout=LIMIT)
            ended = True
        except subprocess.TimeoutExpired:
            ended = False
        results.check("2: SIGTERM unmounts and ends the daemon with a worker stuck",
                      [] if ended and not mount.mounted() else
                      [f"ended {ended}, mounted {mount.mounted()}"])
    finally:
        os.kill(frozen.proc.pid, signal.SIGCONT)
        if reader:
            reader.join()
        if mount.proc.poll() is None:
            mount.proc.kill()
            mount.proc.wait()
        if mount.mounted():
            subprocess.run(["umount", "-l", mnt], check=False)
        if lister:
            lister.wait()
        frozen.stop()


def main():
    mboxfs = sys.argv[1]
    harness.require_environment()
    work = harness.workdir()
    os.chmod(work, 0o755)  # the users' own rights must reach their files
    results = harness.Results()
    mount = None
    try:
        old = build(work)
        before = checksum(old)
        check_index(results, mboxfs, work, old)
        mnt = os.path.join(work, "mail")
        mount = harness.Mount(mboxfs, f"{work}/accounts.map", f"{work}/state", mnt)
        check_mount(results, mboxfs, work, old, mnt)
        results.check("mount stops", [] if mount.stop() == 0 else ["nonzero exit"])
        mount = None
        check_materialize(results, mboxfs, work, old)
        check_slow_source(results, mboxfs, work, old)
        results.check("sources unchanged", [] if checksum(old) == before
                      else ["the old tree changed"])
    finally:
        if mount:
            mount.stop()
        subprocess.run(["rm", "-rf", work], check=False)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
