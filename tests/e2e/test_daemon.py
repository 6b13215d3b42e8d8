#!/usr/bin/env python3
"""End to end, the mount as an administrator runs it: daemon mode, lazy
indexing, attributes Courier depends on, pass-through writes, unmount by
fusermount3 and by SIGTERM, and the upper tree left behind under the mount point.

usage: test_daemon.py MBOXFS EXAMPLES_DIR
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


def mounted(mnt):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mnt for line in f)


def daemon_pid(state):
    out = subprocess.run(["pgrep", "-f", "--", f"(--state |state=){state}[ ,]"], capture_output=True,
                         text=True)
    pids = [int(p) for p in out.stdout.split()]
    return pids[0] if pids else None


def wait_gone(pid, mnt):
    for _ in range(100):
        alive = pid is not None and os.path.exists(f"/proc/{pid}")
        if not alive and not mounted(mnt):
            return True
        time.sleep(0.05)
    return False


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        old, map_path, state, mnt = tree.old, tree.map, tree.state, tree.mnt
        os.makedirs(mnt)
        before = harness.tree_checksum(old)

        rc = subprocess.run([mboxfs, "mount", "--map", map_path, "--state", state,
                             "--source-tz", "UTC", mnt], timeout=30).returncode
        results.check("mount daemonizes and returns 0", [] if rc == 0 and mounted(mnt) else
                      [f"exit {rc}, mounted {mounted(mnt)}"])
        pid = daemon_pid(state)
        idx = [n for n in os.listdir(state) if n.endswith(".idx")]
        results.check("nothing indexed at mount time", [] if not idx else [f"{idx}"])

        cur = os.path.join(mnt, "alice/Maildir/cur")
        names = sorted(os.listdir(cur))
        idx = [n for n in os.listdir(state) if n.endswith(".idx")]
        results.check("first use indexes that one mailbox", [] if len(idx) == 1 else [f"{idx}"])

        view = harness.show(mboxfs, os.path.join(old, "spool/alice"))
        problems = []
        for name, m in zip(names, view["messages"]):
            path = os.path.join(cur, name)
            st1, st2 = os.lstat(path), os.stat(path)
            with open(path, "rb") as f:
                body = f.read()
                fst = os.fstat(f.fileno())
            if hashlib.sha256(body).hexdigest() != m["sha256_lf"]:
                problems.append(f"{name}: bytes differ")
            if (st1.st_mode & 0o7777, st1.st_nlink) != (0o600, 1):
                problems.append(f"{name}: mode {oct(st1.st_mode)} nlink {st1.st_nlink}")
            if st1.st_size != len(body) or st1.st_size + body.count(b"\n") != m["size"]:
                problems.append(f"{name}: st_size {st1.st_size}, RFC822.SIZE {m['size']}")
            if (st1.st_ino, st1.st_dev) != (fst.st_ino, fst.st_dev) or st1.st_ino != st2.st_ino:
                problems.append(f"{name}: st_ino/st_dev differ between lstat, stat and fstat")
            if st1.st_ctime == 0:
                problems.append(f"{name}: ctime 0 (Courier would purge it from Trash)")
        results.check("virtual messages: bytes, mode, size, inode, ctime", problems)

        # what Courier does in tmp/: create, link (dot-lock: nlink must be 2), rename
        tmp = os.path.join(mnt, "alice/Maildir/tmp")
        scratch = os.path.join(tmp, "1.M1P1_courierlock.host")
        with open(scratch, "w") as f:
            f.write("1:host")
        os.link(scratch, os.path.join(tmp, "courier.lock"))
        nlink = os.stat(scratch).st_nlink
        os.unlink(scratch)
        os.unlink(os.path.join(tmp, "courier.lock"))
        results.check("link() in tmp/ gives st_nlink 2", [] if nlink == 2 else [f"nlink {nlink}"])

        # real files are written through one fd per file, whatever each open asked
        # (the kernel opens them without asking the daemon): O_TRUNC, O_APPEND and
        # a read-only open must still mean what they mean
        real = os.path.join(tmp, "1.M2P2.host")
        with open(real, "w") as f:
            f.write("first line that is long\n")
        with open(real, "a") as f:
            f.write("appended\n")
        seen = [open(real).read()]
        with open(real, "w") as f:  # O_TRUNC
            f.write("short\n")
        seen.append(open(real).read())
        try:
            with open(real, "rb") as f:
                os.write(f.fileno(), b"x")
            seen.append("written through a read-only fd")
        except OSError:
            pass
        os.unlink(real)
        results.check("a real file: O_APPEND, O_TRUNC and O_RDONLY opens behave",
                      [] if seen == ["first line that is long\nappended\n", "short\n"]
                      else [repr(seen)])
        db = os.path.join(mnt, "alice/Maildir/courierimapuiddb")
        virtual = open(db).read()
        with open(os.path.join(tmp, "uiddb.new"), "w") as f:
            f.write("1 1583136845 8\n3 x\n")
        os.rename(os.path.join(tmp, "uiddb.new"), db)
        # the virtual one: c-client's UIDNEXT 8 plus the margin for late mail
        results.check("a written control file replaces the virtual one",
                      [] if open(db).read() == "1 1583136845 8\n3 x\n" and virtual.startswith(
                          f"1 1583136845 {8 + harness.late_uid_margin()}\n") else [virtual])

        subprocess.run(["fusermount3", "-u", mnt], check=False)
        results.check("fusermount3 -u unmounts and the daemon exits",
                      [] if wait_gone(pid, mnt) else ["still there"])
        upper_db = os.path.join(mnt, "alice/Maildir/courierimapuiddb")
        results.check("the upper tree under the mount point keeps what was written",
                      [] if os.path.exists(upper_db) and open(upper_db).read().startswith("1 1583136845 8\n3 x")
                      else ["courierimapuiddb missing below the mount point"])

        subprocess.run([mboxfs, "mount", "--map", map_path, "--state", state, mnt], timeout=30)
        pid = daemon_pid(state)
        if pid:
            os.kill(pid, signal.SIGTERM)
        results.check("SIGTERM unmounts cleanly", [] if pid and wait_gone(pid, mnt) else ["still mounted"])

        # the fstab form: mount(8) runs mount.mboxfs MAP MOUNTPOINT -o OPTIONS
        helper = os.path.join(os.path.dirname(mboxfs), "mount.mboxfs")
        rc = subprocess.run([helper, map_path, mnt, "-o", f"state={state},source_tz=UTC,nofail"],
                            timeout=30).returncode
        names = sorted(os.listdir(cur)) if rc == 0 and mounted(mnt) else []
        pid = daemon_pid(state)
        subprocess.run(["fusermount3", "-u", mnt], check=False)
        results.check("mount.mboxfs (fstab form) mounts the same tree",
                      [] if len(names) == 3 and pid and wait_gone(pid, mnt) else
                      [f"exit {rc}, {names}, pid {pid}"])

        results.check("source mboxes byte-identical",
                      [] if harness.tree_checksum(old) == before else ["changed"])
    finally:
        if mounted(os.path.join(work, "mail")):
            subprocess.run(["fusermount3", "-uz", os.path.join(work, "mail")], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
