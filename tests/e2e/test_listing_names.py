#!/usr/bin/env python3
"""Listings of cur/ given as names only (fs/kernel_names.c): once the kernel
was given every message of a listing with its node, a listing that is the same
again gives the names without nodes, and the kernel keeps the dentries it has.
That must never leave a listed name that cannot be opened (a negative dentry,
ENOENT) or that opens another message, whatever happened in between. Here,
on a mount of one account whose mbox UW's c-client changes as uw-imapd does
(libfuse's --debug log counts the daemon's LOOKUPs):

- the first listing after the mount gives the nodes: opening messages then
  looks nothing up; so does a listing after the kernel dropped its dentries
  and a name was looked up in vain (a negative dentry);
- listings one after the other (with nodes, then names only): every listed
  name opens and reads as the message its UID names (mboxfs show);
- the old server flags a message and no one lists cur/ in between, the new
  name looked up first (ENOENT, cached), then the flag cleared again: the
  listing is the first one again, and every name opens at once;
- the same with a listing in between, and the old name looked up (ENOENT)
  just before it comes back;
- the kernel dropping its dentries and inodes between listings (drop_caches);
- Courier imapd then serves the same bodies as before all this;
- on a new mount, the first lookup in the maildir makes the daemon list cur/
  through the mount itself (fs/prefetch.c: READDIRPLUS from a thread not
  this process's); opening messages by their names (from mboxfs show, no
  listing of ours) then looks nothing up, and a listing gives every UID.
Every open is checked right after the listing, well inside the 1 s for which
the kernel keeps a negative dentry.

usage: test_listing_names.py MBOXFS CCLIENT_CHANGE
"""
import hashlib
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import inbox  # noqa: E402
from test_crash_concurrency import one_account  # noqa: E402

UID = 5  # the message the old server flags


def check_listing(cur, bodies, what):
    """Lists cur/, opens every name at once: problems, and the names."""
    names = sorted(os.listdir(cur))
    problems = []
    for name in names:
        try:
            with open(os.path.join(cur, name), "rb") as f:
                data = f.read()
        except OSError as e:
            problems.append(f"{what}: {name}: {e}")
            continue
        uid = harness.uid_of(name)
        if hashlib.sha256(data).hexdigest() != bodies.get(uid):
            problems.append(f"{what}: {name} does not read as UID {uid}")
    if sorted(harness.uid_of(n) for n in names) != sorted(bodies):
        problems.append(f"{what}: UIDs {sorted(harness.uid_of(n) for n in names)}")
    return problems, names


OPENED = 20  # messages opened to count the LOOKUPs a listing leaves to do


def lookups_to_open(mount, cur):
    """Lists cur/, opens OPENED of its messages: the LOOKUPs that took (one per
    message given as a name only)."""
    names = sorted(os.listdir(cur))[:OPENED]
    before = mount.requests("LOOKUP")
    for name in names:
        with open(os.path.join(cur, name), "rb") as f:
            f.read(1)
    # at most one per message; a few more when cur/'s own entry, and those of
    # the directories above it, outlive the daemon's 1 s timeout meanwhile
    return mount.requests("LOOKUP") - before


def name_of(names, uid):
    return next(n for n in names if harness.uid_of(n) == uid)


def change(cclient, mbox, *commands):
    run = subprocess.run([cclient, mbox, *commands], capture_output=True, text=True, timeout=60)
    if run.returncode != 0:
        raise RuntimeError(f"cclient_change {commands}: {run.stderr}")


def missing(path):
    """stat() of a name that must not exist (the kernel then caches ENOENT)."""
    try:
        os.stat(path)
        return [f"{path} exists"]
    except FileNotFoundError:
        return []


def requests_of(mount, pattern, since):
    """(unique, opcode, nodeid, pid) of each request in the daemon's debug log
    from byte since on (pid: the thread that made it)."""
    with open(mount.log.name) as f:
        f.seek(since)
        return [m.groups() for m in re.finditer(
            r"unique: (\d+), opcode: (\w+) \(\d+\), nodeid: (\d+), insize: \d+, pid: (\d+)",
            f.read()) if re.fullmatch(pattern, m.group(2))]


def listed_ahead(mount, since, maildir, mboxfs, mbox):
    """since: where the new mount's part of the (shared) debug log begins."""
    problems = []
    os.stat(os.path.join(maildir, "tmp"))  # a lookup in the maildir's directory
    # nothing but this process and the daemon uses the mount: the daemon's
    # listing is what another thread asked for. It is done once it has
    # released cur/ (its last READDIRPLUS, the end, came back before that).
    me = str(os.getpid())
    deadline = time.time() + 10
    while True:
        listed = {r[2] for r in requests_of(mount, "READDIRPLUS", since) if r[3] != me}
        if listed and any(r[2] in listed for r in requests_of(mount, "RELEASEDIR", since)):
            break
        if time.time() > deadline:
            return [f"no listing of cur/ by the daemon (READDIRPLUS of nodes {sorted(listed)})"]
        time.sleep(0.05)
    messages = harness.show(mboxfs, mbox)["messages"]
    cur = os.path.join(maildir, "cur")
    before = mount.requests("LOOKUP")
    for m in messages[:OPENED]:
        with open(os.path.join(cur, m["name"]), "rb") as f:
            f.read(1)
    n = mount.requests("LOOKUP") - before
    if n >= OPENED // 2:  # as in lookups_to_open()
        problems.append(f"{n} LOOKUPs to open {OPENED} messages by name, no listing of ours")
    shown = {harness.uid_of(n) for n in os.listdir(cur)}
    uids = {m["uid"] for m in messages}
    if shown != uids:
        problems.append(f"UIDs {sorted(uids - shown)} missing, {sorted(shown - uids)} too many")
    return problems


def main():
    mboxfs, cclient = sys.argv[1:3]
    harness.require_environment()
    harness.require_cclient(cclient)
    results = harness.Results()
    with harness.work_dir(results) as work:
        old, map_path, state, mnt = one_account(work, "names")
        mbox = os.path.join(old, "user")
        bodies = {m["uid"]: m["sha256_lf"] for m in harness.show(mboxfs, mbox)["messages"]}
        mount = harness.Mount(mboxfs, map_path, state, mnt, debug=True)
        try:
            maildir = os.path.join(mnt, "user/Maildir")
            cur = os.path.join(maildir, "cur")
            n = lookups_to_open(mount, cur)
            results.check(f"the first listing gives the nodes: {OPENED} messages opened, "
                          f"nothing looked up", [] if n < OPENED // 2 else [f"{n} LOOKUPs"])
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("2\n")  # the kernel forgets the messages
            missing(os.path.join(cur, "no-such-message"))
            n = lookups_to_open(mount, cur)
            results.check("dentries dropped, a lookup in vain: the next listing gives the "
                          "nodes again", [] if n < OPENED // 2 else [f"{n} LOOKUPs"])

            served = {u: (m["flags"], m["body"]) for u, m in inbox(maildir).items()}

            problems, first = check_listing(cur, bodies, "first listing")
            for n in range(3):
                more, names = check_listing(cur, bodies, f"listing {n + 2}")
                problems += more
                if names != first:
                    problems.append(f"listing {n + 2}: other names")
            results.check("listings again and again: every name opens as its UID", problems)

            # the old server renames a message and back, no listing between
            # (UID 5 is \\Seen: old_mbox gives every third message no Status R)
            change(cclient, mbox, "flag", str(UID), "\\Flagged")
            try:  # whatever the daemon answers, the kernel keeps it for a while
                os.stat(os.path.join(cur, name_of(first, UID).split(":2,")[0] + ":2,FS"))
            except FileNotFoundError:
                pass
            change(cclient, mbox, "unflag", str(UID), "\\Flagged")
            problems, names = check_listing(cur, bodies, "flag and back, no listing between")
            problems += [] if names == first else ["other names than at first"]
            results.check("the old server flags and unflags a message: every name opens",
                          problems)

            # the same with a listing between, the old name looked up while gone
            change(cclient, mbox, "flag", str(UID), "\\Flagged")
            problems, between = check_listing(cur, bodies, "flagged")
            if name_of(between, UID) == name_of(first, UID):
                problems.append(f"UID {UID} flagged by the old server keeps its name")
            problems += missing(os.path.join(cur, name_of(first, UID)))
            change(cclient, mbox, "unflag", str(UID), "\\Flagged")
            more, names = check_listing(cur, bodies, "unflagged")
            problems += more + ([] if names == first else ["other names than at first"])
            more, names = check_listing(cur, bodies, "unflagged, again")
            problems += more
            results.check("flagged, listed, old name looked up, unflagged: every name opens "
                          "at once", problems)

            problems = []
            for n in range(3):
                with open("/proc/sys/vm/drop_caches", "w") as f:
                    f.write("2\n")
                problems += check_listing(cur, bodies, f"after drop_caches {n + 1}")[0]
                problems += check_listing(cur, bodies, f"after drop_caches {n + 1}, again")[0]
            results.check("the kernel drops its dentries between listings: every name opens",
                          problems)

            now = {u: (m["flags"], m["body"]) for u, m in inbox(maildir).items()}
            results.check("Courier serves the same messages and flags as before",
                          [f"UID {u}" for u in sorted(set(now) | set(served))
                           if now.get(u) != served.get(u)])
        finally:
            status = mount.stop()
        results.check("the daemon ends with status 0", [f"status {status}"] if status else [])

        since = os.path.getsize(os.path.join(work, "mount.log"))
        mount = harness.Mount(mboxfs, map_path, state, mnt + "-ahead", debug=True)
        try:
            problems = listed_ahead(mount, since, os.path.join(mnt + "-ahead", "user/Maildir"),
                                    mboxfs, mbox)
        finally:
            status = mount.stop()
        results.check("a new mount lists cur/ ahead when the maildir is first looked into: "
                      "opening messages by name then looks nothing up; a listing gives every UID",
                      problems + ([f"daemon status {status}"] if status else []))
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
