#!/usr/bin/env python3
"""The kernel forgetting nodes while the daemon is still in their handlers.

Once the daemon has replied to a request, the kernel may forget the node at
once: a directory opened, listed and closed has no user left, and under memory
pressure (here: echo 2 > /proc/sys/vm/drop_caches, as bench/memory.sh does
after every session) its FORGET comes while the thread that replied to the
OPENDIR may still be running; the thread that serves the FORGET frees the
daemon's object for it. A handler that reads that object after its reply reads
freed memory: under AddressSanitizer the daemon aborts (the load test lost its
daemon that way, "Transport endpoint is not connected", when another job
dropped caches), in an optimised build it reads what is there.

Here: LISTERS threads list the cur/ and folder directories of the example
accounts over and over (OPENDIR, READDIRPLUS, RELEASEDIR; every open of cur/
also checks the old server's file) while the kernel is made to drop its
dentries and inodes every PERIOD seconds, for DURATION seconds; then the mount
must still list them, and the daemon must end with status 0 at the unmount (a
sanitizer's report makes it end otherwise; its log is printed).

drop_caches is machine-wide: the run is kept short (DURATION default 4 s,
PERIOD 0.05 s).

usage: test_forget.py MBOXFS EXAMPLES_DIR
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

DURATION = float(os.environ.get("DURATION", "4"))
PERIOD = float(os.environ.get("PERIOD", "0.05"))
LISTERS = 6


def lister(dirs, deadline, errors, count):
    n = 0
    while time.time() < deadline and not errors:
        for d in dirs:
            try:
                os.listdir(d)
                n += 1
            except OSError as e:
                errors.append(f"{d}: {e}")
                break
    count.append(n)


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    results = harness.Results()
    with harness.work_dir(results) as work:
        tree = harness.Tree(work, examples)
        mount = harness.Mount(mboxfs, tree.map, tree.state, tree.mnt)
        try:
            dirs = []
            for maildir in ("alice/Maildir", "bob/Maildir"):
                top = os.path.join(tree.mnt, maildir)
                dirs.append(top)
                for name in os.listdir(top):
                    path = os.path.join(top, name)
                    if os.path.isdir(path):
                        dirs.append(path)
                        if os.path.isdir(os.path.join(path, "cur")):
                            dirs.append(os.path.join(path, "cur"))
            errors, counts, drops = [], [], 0
            deadline = time.time() + DURATION
            threads = [threading.Thread(target=lister, args=(dirs, deadline, errors, counts))
                       for _ in range(LISTERS)]
            for t in threads:
                t.start()
            while time.time() < deadline and not errors:
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("2\n")
                drops += 1
                time.sleep(PERIOD)
            for t in threads:
                t.join()
            after = []
            for d in dirs:
                try:
                    os.listdir(d)
                except OSError as e:
                    after.append(f"after: {d}: {e}")
        finally:
            status = mount.stop()
        results.check(f"{sum(counts)} listings by {LISTERS} threads while the kernel dropped "
                      f"its dentries and inodes {drops} times: no error, the mount still lists "
                      f"every directory, the daemon ends with status 0",
                      errors[:5] + after[:5] +
                      ([f"the daemon ended with status {status}"] if status else []))
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
