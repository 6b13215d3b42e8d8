#!/usr/bin/env python3
"""End to end, the daemon's fds for real files (fs/inode.c): one per regular
file the kernel holds, not an O_PATH one plus one for reads and writes; and
what that one fd must still do: files the daemon cannot open read-write
(immutable, append-only, a running program), a file opened read-only first
and written later, hard links, files created through the mount, renamed,
unlinked or replaced while the kernel holds them, truncate and chmod, and
the fds closed again when the kernel forgets the files.

The mount has an upper tree of its own, so that the test can change files
below the daemon (chattr, exec, a rename over a name).

usage: test_fds.py MBOXFS EXAMPLES_DIR
"""
import errno
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

N = 200  # regular files the kernel holds at once


def fd_count(pid):
    """The daemon's fds but its pipes (libfuse's splice pipes: two for each
    worker thread, which come and go with the load)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += not os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:")
        except OSError:
            continue
    return n


def regular_fds(pid, below):
    """The daemon's fds on regular files below the upper directory below."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(below + "/"):
            n += 1
    return n


def chattr(flag, path):
    """chattr flag path; False if the file system has no such attributes (or
    there is no chattr)."""
    if not shutil.which("chattr"):
        return False
    return subprocess.run(["chattr", flag, path], stderr=subprocess.DEVNULL).returncode == 0


def errno_of(fn):
    try:
        fn()
        return 0
    except OSError as e:
        return e.errno


def write_at(path, data, offset):
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.pwrite(fd, data, offset)
    finally:
        os.close(fd)


def append_to(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def check_count(results, mount, upper, mnt):
    """N files held by the kernel, half created through the mount, half made
    below it, each read, half written, each with a second name (link): the
    daemon's fds grow by about N, and go back when the kernel forgets them."""
    pid = mount.proc.pid
    os.mkdir(os.path.join(upper, "many"))
    for i in range(N - N // 2):  # made below the daemon, looked up by the kernel
        with open(os.path.join(upper, "many", f"u{i}"), "w") as f:
            f.write(f"upper {i}\n")
    d = os.path.join(mnt, "many")
    os.stat(d)
    base = fd_count(pid)
    for i in range(N // 2):  # created through the mount (CREATE)
        with open(os.path.join(d, f"c{i}"), "w") as f:
            f.write(f"created {i}\n")
    names = sorted(os.listdir(d))
    held = [os.open(os.path.join(d, n), os.O_RDWR) for n in names]
    problems = []
    try:
        for i, (name, fd) in enumerate(zip(names, held)):
            want = (f"created {name[1:]}\n" if name[0] == "c" else f"upper {name[1:]}\n").encode()
            if os.pread(fd, 100, 0) != want:
                problems.append(f"{name}: bytes differ")
            if i % 2:
                os.pwrite(fd, b"W", 0)
            os.link(os.path.join(d, name), os.path.join(d, name + ".link"))
            if os.fstat(fd).st_nlink != 2:
                problems.append(f"{name}: nlink {os.fstat(fd).st_nlink} after link()")
        grown = fd_count(pid) - base
        files = regular_fds(pid, os.path.join(upper, "many"))
        print(f"     {len(held)} files held: the daemon's fds (but pipes) grew by {grown}, "
              f"{files} of them on files of many/")
        if len(held) != N:
            problems.append(f"{len(held)} files, not {N}")
        # one fd per file (its inode: two names, one fd); a few more for
        # anything else the daemon opened meanwhile, far fewer than a second
        # fd per file
        if not len(held) <= grown <= len(held) + len(held) // 10:
            problems.append(f"fds grew by {grown} for {len(held)} files")
        if files != len(held):
            problems.append(f"{files} fds on files for {len(held)} files")
        results.check("one fd per regular file the kernel holds (two names each)", problems)
    finally:
        for fd in held:
            os.close(fd)
    # the kernel forgets a file once it has no name left and nobody holds it
    for name in names:
        os.unlink(os.path.join(d, name))
        os.unlink(os.path.join(d, name + ".link"))
    deadline = time.time() + 30
    while regular_fds(pid, os.path.join(upper, "many")) and time.time() < deadline:
        time.sleep(0.1)
    left = regular_fds(pid, os.path.join(upper, "many"))
    results.check("the fds go when the kernel forgets the files",
                  [] if left == 0 and fd_count(pid) <= base else
                  [f"{left} fds on files left, {fd_count(pid)} fds, {base} before"])


def check_not_writable(results, upper, mnt):
    """Files the daemon cannot open read-write are still read; a write gets
    the reason (not EBADF), and works once the reason is gone."""
    os.mkdir(os.path.join(upper, "odd"))
    u = os.path.join(upper, "odd")
    m = os.path.join(mnt, "odd")
    for name in ("immutable", "append", "later"):
        with open(os.path.join(u, name), "w") as f:
            f.write(f"{name} bytes\n")
    if not (chattr("+i", os.path.join(u, "immutable")) and chattr("+a", os.path.join(u, "append"))
            and chattr("+i", os.path.join(u, "later"))):
        print("     (no chattr +i/+a on this file system: attribute checks left out)")
        for name in ("immutable", "append", "later"):
            chattr("-ia", os.path.join(u, name))
    else:
        try:
            problems = []
            for name in ("immutable", "append", "later"):
                try:
                    with open(os.path.join(m, name), "rb") as f:
                        if f.read() != f"{name} bytes\n".encode():
                            problems.append(f"{name}: other bytes read")
                except OSError as e:
                    problems.append(f"{name}: read: {e}")
            for name in ("immutable", "append"):
                e = errno_of(lambda: write_at(os.path.join(m, name), b"X", 0))
                if e != errno.EPERM:
                    problems.append(f"{name}: write gave {errno.errorcode.get(e, e)}, not EPERM")
                if open(os.path.join(u, name), "rb").read() != f"{name} bytes\n".encode():
                    problems.append(f"{name}: changed")
            # append-only: what the file system takes from an O_APPEND open
            # (the write at offset 0 above was refused) is taken, at the end
            e = errno_of(lambda: append_to(os.path.join(m, "append"), b"A"))
            if e or open(os.path.join(u, "append"), "rb").read() != b"append bytes\nA":
                problems.append(f"append: O_APPEND write gave {errno.errorcode.get(e, e)}, "
                                f"upper holds {open(os.path.join(u, 'append'), 'rb').read()!r}")
            e = errno_of(lambda: append_to(os.path.join(m, "immutable"), b"A"))
            if e != errno.EPERM:
                problems.append(f"immutable: O_APPEND write gave {errno.errorcode.get(e, e)}, "
                                "not EPERM")
            # read through a read-only fd while immutable; writable again
            chattr("-i", os.path.join(u, "later"))
            e = errno_of(lambda: write_at(os.path.join(m, "later"), b"L", 0))
            if e or open(os.path.join(u, "later"), "rb").read() != b"Later bytes\n":
                problems.append(f"later: write after chattr -i gave {errno.errorcode.get(e, e)}, "
                                f"upper holds {open(os.path.join(u, 'later'), 'rb').read()!r}")
            results.check("immutable and append-only files: read, writes refused with EPERM "
                          "(but O_APPEND ones to the append-only file, at its end); written "
                          "once writable", problems)
        finally:
            for name in ("immutable", "append", "later"):
                chattr("-ia", os.path.join(u, name))

    # a program running from the upper tree: ETXTBSY for writes, not reads
    prog = os.path.join(u, "prog")
    shutil.copy2(shutil.which("sleep"), prog)
    problems = []
    running = subprocess.Popen([prog, "30"])
    try:
        deadline = time.time() + 10  # until it runs prog (exec done)
        while errno_of(lambda: os.open(prog, os.O_RDWR)) != errno.ETXTBSY and \
                running.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        want = open(prog, "rb").read(4096)
        try:
            with open(os.path.join(m, "prog"), "rb") as f:
                if f.read(4096) != want:
                    problems.append("a running program: other bytes read")
        except OSError as e:
            problems.append(f"a running program: read: {e}")
        e = errno_of(lambda: write_at(os.path.join(m, "prog"), b"\x7f", 0))
        if running.poll() is None and e != errno.ETXTBSY:
            problems.append(f"a running program: write gave {errno.errorcode.get(e, e)}, not ETXTBSY")
    finally:
        running.kill()  # our own child, by its Popen
        running.wait()
    e = errno_of(lambda: write_at(os.path.join(m, "prog"), b"\x7f", 0))
    if e:
        problems.append(f"the program ended: write gave {errno.errorcode.get(e, e)}")
    results.check("a running program is read, written once it ended", problems)


def check_held(results, upper, mnt):
    """Renamed, unlinked or replaced while the kernel holds the file; truncate
    and chmod through the mount."""
    os.mkdir(os.path.join(upper, "held"))
    u = os.path.join(upper, "held")
    m = os.path.join(mnt, "held")
    problems = []
    for name in ("unlinked", "renamed", "replaced", "unlinked-used"):
        with open(os.path.join(m, name), "w") as f:
            f.write(f"{name}\n")
    fds = {name: os.open(os.path.join(m, name), os.O_RDWR)
           for name in ("unlinked", "renamed", "replaced", "unlinked-used")}
    try:
        os.pread(fds["unlinked-used"], 1, 0)  # its one fd open read-write before
        os.unlink(os.path.join(m, "unlinked"))
        os.unlink(os.path.join(m, "unlinked-used"))
        os.rename(os.path.join(m, "renamed"), os.path.join(m, "renamed2"))
        with open(os.path.join(u, "new"), "w") as f:
            f.write("new file\n")
        os.rename(os.path.join(u, "new"), os.path.join(u, "replaced"))  # below the daemon
        for name, fd in fds.items():
            os.pwrite(fd, b"+", len(name) + 1)
            got = os.pread(fd, 100, 0)
            if got != f"{name}\n+".encode():
                problems.append(f"{name}: read {got!r} through the held fd")
        for name in ("unlinked", "unlinked-used"):
            if os.fstat(fds[name]).st_nlink != 0:
                problems.append(f"{name}: nlink {os.fstat(fds[name]).st_nlink}")
        if open(os.path.join(u, "renamed2"), "rb").read() != b"renamed\n+":
            problems.append("renamed: the upper file under its new name lacks the write")
        if open(os.path.join(u, "replaced"), "rb").read() != b"new file\n":
            problems.append("replaced: a write through the held fd reached the new file")
        os.ftruncate(fds["renamed"], 3)
        os.fchmod(fds["renamed"], 0o640)
        st = os.stat(os.path.join(u, "renamed2"))
        if st.st_size != 3 or st.st_mode & 0o7777 != 0o640:
            problems.append(f"truncate/chmod: upper size {st.st_size}, mode {st.st_mode:o}")
        os.ftruncate(fds["unlinked"], 1)
        if os.pread(fds["unlinked"], 100, 0) != b"u":
            problems.append("truncate of an unlinked file not seen")
    finally:
        for fd in fds.values():
            os.close(fd)
    results.check("files renamed, unlinked, replaced while held; truncate and chmod", problems)

    # O_APPEND and O_TRUNC on a file whose fd is open read-write already
    path = os.path.join(m, "modes")
    with open(path, "w") as f:
        f.write("one\n")
    with open(path, "a") as f:
        f.write("two\n")
    first = open(path).read()
    with open(path, "w") as f:
        f.write("3\n")
    results.check("O_APPEND and O_TRUNC", [] if (first, open(path).read()) == ("one\ntwo\n", "3\n")
                  else [repr((first, open(path).read()))])


def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    work = harness.workdir()
    results = harness.Results()
    mount = None
    try:
        tree = harness.Tree(work, examples)
        upper = os.path.join(work, "upper")
        os.mkdir(upper)
        mount = harness.Mount(mboxfs, tree.map, tree.state, tree.mnt, upper=upper)
        check_count(results, mount, upper, tree.mnt)
        check_not_writable(results, upper, tree.mnt)
        check_held(results, upper, tree.mnt)
    finally:
        if mount:
            rc = mount.stop()
            results.check("the daemon exits 0", [] if rc == 0 else [f"exit {rc}"])
        for dirpath, _, filenames in os.walk(work):  # no attribute may keep the work dir
            for name in filenames:
                chattr("-ia", os.path.join(dirpath, name))
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
