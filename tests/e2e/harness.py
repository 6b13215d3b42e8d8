"""Shared pieces of the end-to-end tests: an old-server tree, a real mboxfs
mount, checksums of the sources, and the expected served view."""
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def late_uid_margin():
    """MBX_LATE_UID_MARGIN of index/courier_files.h: how far above c-client's
    UIDNEXT Courier's own UIDs start on the mount."""
    header = os.path.join(os.path.dirname(__file__), "..", "..", "index", "courier_files.h")
    with open(header) as f:
        return int(re.search(r"#define MBX_LATE_UID_MARGIN (\d+)u", f.read()).group(1))


def require_environment():
    """Exits with the skip status when the machine cannot run a real mount."""
    missing = [what for what, ok in (("root", os.geteuid() == 0),
                                     ("/dev/fuse", os.path.exists("/dev/fuse")),
                                     ("/usr/bin/imapd (courier-imap)", os.path.exists("/usr/bin/imapd")),
                                     ("fusermount3", shutil.which("fusermount3")))
               if not ok]
    if missing:
        print(f"SKIP: needs {', '.join(missing)}")
        sys.exit(SKIP)


def require_cclient(path):
    """Exits with the skip status unless c-client's dump tool (the old server's
    parser, tests/oracle) was built at path."""
    if not os.path.exists(path):
        print("SKIP: needs c-client (libc-client2007e-dev)")
        sys.exit(SKIP)


def workdir():
    # not below /tmp: Courier refuses to run from a directory with the sticky bit
    base = "/var/tmp" if os.path.isdir("/var/tmp") else None
    return tempfile.mkdtemp(prefix="mboxfs-e2e-", dir=base)


@contextlib.contextmanager
def work_dir(results):
    """A test's work dir (workdir()), removed when the block ends unless the
    test failed or raised: then kept, with its daemons' logs printed
    (remove_workdir)."""
    work = workdir()
    keep = True
    try:
        yield work
        keep = results.failed > 0
    finally:
        remove_workdir(work, keep)


def remove_workdir(work, keep):
    """Removes a test's work dir; with keep (a failed test), leaves it and prints
    where it is and the end of each daemon's log in it (mount.log: the daemon's
    stdout and stderr, sanitizer reports included)."""
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
        return
    print(f"     work dir kept: {work}")
    for dirpath, _, filenames in os.walk(work):
        if "mount.log" in filenames:
            path = os.path.join(dirpath, "mount.log")
            with open(path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            # a sanitizer's report: its first lines (what, where, freed where)
            # and its summary; else the end of the log
            first = next((i for i, line in enumerate(lines)
                          if "ERROR: AddressSanitizer" in line or "WARNING: ThreadSanitizer" in line
                          or "runtime error:" in line), None)
            shown = lines[-40:] if first is None else (
                lines[first:first + 25] + [line for line in lines if "SUMMARY:" in line])
            print(f"     {path}{' ends' if first is None else ''}:")
            for line in shown:
                print(f"       {line}")


class Tree:
    """A copy of the bundled example old server in work: old (the tree), map
    (its account map), state and mnt (where the state directory and the mount
    go)."""

    def __init__(self, work, examples):
        self.old = os.path.join(work, "oldserver")
        shutil.copytree(os.path.join(examples, "oldserver"), self.old)
        self.map = os.path.join(self.old, "accounts.map")
        self.state = os.path.join(work, "state")
        self.mnt = os.path.join(work, "mail")


def tree_checksum(root):
    """SHA-256 over every file's path, mode, size and bytes below root."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            h.update(f"{os.path.relpath(path, root)}\0{st.st_mode}\0{st.st_size}\0".encode())
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


class Mount:
    """mboxfs mount --foreground in the background; unmounted by stop()."""

    def __init__(self, mboxfs, map_path, state, mountpoint, upper=None, debug=False):
        """debug: libfuse logs every request to self.log (requests())."""
        os.makedirs(mountpoint, exist_ok=True)
        cmd = [mboxfs, "mount", "--map", map_path, "--state", state, "--source-tz", "UTC",
               "--foreground", mountpoint]
        if upper:
            cmd[2:2] = ["--upper", upper]
        if debug:
            cmd[2:2] = ["--debug"]
        self.mountpoint = mountpoint
        self.log = open(os.path.join(os.path.dirname(state), "mount.log"), "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        while not self.mounted():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"mount did not come up: {open(self.log.name).read()}")
            time.sleep(0.05)

    def requests(self, opcode):
        """How many requests of opcode (LOOKUP, READ...) the daemon has received,
        with debug=True: libfuse logs each before it is handled."""
        with open(self.log.name, "rb") as f:
            return f.read().count(f"opcode: {opcode} (".encode())

    def mounted(self):
        with open("/proc/mounts") as f:
            return any(line.split()[1] == self.mountpoint for line in f)

    def stop(self):
        """Unmounts; returns the daemon's exit status."""
        end_gam_servers()
        for _ in range(50):
            if subprocess.run(["fusermount3", "-u", self.mountpoint],
                              stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.1)
        else:
            print(f"     (unmount: {self.mountpoint} busy: {holders(self.mountpoint)})")
        try:
            return self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            print(f"     (daemon {self.proc.pid} still running 10 s after the unmount; "
                  f"its threads: {thread_states(self.proc.pid)})")
            self.proc.kill()
            subprocess.run(["fusermount3", "-uz", self.mountpoint], check=False)
            return -1


def thread_states(pid):
    """'name state wchan [kernel stack]' of each thread of pid: where a daemon
    that does not exit waits (for the failure message)."""
    out = []
    task = f"/proc/{pid}/task"
    for tid in sorted(os.listdir(task), key=int) if os.path.isdir(task) else []:
        def read(name):
            try:
                with open(f"{task}/{tid}/{name}") as f:
                    return f.read().strip()
            except OSError:
                return "?"
        stat = read("stat")
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        stack = " < ".join(line.split()[-1] for line in read("stack").splitlines()[:6])
        out.append(f"{read('comm')} {state} {read('wchan')} [{stack}]")
    return "; ".join(out)


def holders(mountpoint):
    """[(pid, command)] of the processes with their cwd or a file inside
    mountpoint: what keeps it busy (for the failure message)."""
    inside = mountpoint.rstrip("/") + "/"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            places = [os.readlink(f"/proc/{pid}/cwd")]
            places += [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
            if any(p == mountpoint or p.startswith(inside) for p in places):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    found.append((int(pid), f.read().replace(b"\0", b" ").decode(errors="replace")))
        except OSError:
            continue
    return found


def end_gam_servers(client_id=None):
    """Ends, by PID, the gam_server processes of the tests' own GAM_CLIENT_ID.

    Courier's imapd starts gam_server (gamin's FAM server) to watch maildirs;
    it outlives imapd with its cwd in a maildir, so the mount stays busy.
    gam_server is shared by every process of a user with the same
    GAM_CLIENT_ID (in its environment): the tests run imapd with their own
    (imap.GAM_CLIENT_ID), and only those gam_servers are ended; on a Courier
    host the other gam_servers serve live users."""
    from imap import GAM_CLIENT_ID
    client_id = client_id or GAM_CLIENT_ID
    ended = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "gam_server":
                    continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        # libfam starts it with the client's environment; by hand it is
        # "gam_server [--notimeout] ID"
        if (b"GAM_CLIENT_ID=" + client_id.encode() in env or
                client_id.encode() in args[1:]):
            try:
                os.kill(int(pid), signal.SIGTERM)
                ended.append(int(pid))
            except ProcessLookupError:
                pass
    deadline = time.time() + 5
    for pid in ended:  # gam_server is not our child: wait for /proc/PID to go
        while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
            time.sleep(0.02)
    return ended


def old_account(work, prefix, write_mbox, options="pop3=off"):
    """An old server with one user (its INBOX written by write_mbox(path)) and
    its map below work: (old server dir, map, state dir, mount point)."""
    old = os.path.join(work, f"{prefix}-old")
    os.makedirs(old)
    write_mbox(os.path.join(old, "user"))
    map_path = os.path.join(old, "accounts.map")
    with open(map_path, "w") as f:
        f.write(f"user/Maildir inbox=user {options}".rstrip() + "\n")
    return old, map_path, os.path.join(work, f"{prefix}-state"), os.path.join(work, f"{prefix}-mail")


def uid_of(name):
    """The UID in an mboxfs message name (".M<uid>V"), or None."""
    m = re.search(r"\.M(\d+)V", name)
    return int(m.group(1)) if m else None


def show(mboxfs, mbox):
    out = subprocess.run([mboxfs, "show", "--json", "--source-tz", "UTC", mbox],
                         check=True, capture_output=True, env=dict(os.environ, TZ="UTC"))
    return json.loads(out.stdout)


def index(mboxfs, map_path, state):
    """{(maildir, folder): report} from mboxfs index --json."""
    out = subprocess.run([mboxfs, "index", "--map", map_path, "--state", state, "--json",
                          "--source-tz", "UTC"], capture_output=True, env=dict(os.environ, TZ="UTC"))
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode())
    return {(r["maildir"], r["folder"]): r for r in json.loads(out.stdout)}


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, problems):
        if problems:
            self.failed += 1
            print(f"FAIL {name}")
            for p in problems[:10]:
                print(f"     {p}")
        else:
            self.passed += 1
            print(f"ok   {name}")

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0


if __name__ == "__main__":
    # for shell scripts: python3 harness.py end-gam-servers GAM_CLIENT_ID
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if len(sys.argv) == 3 and sys.argv[1] == "end-gam-servers" and sys.argv[2]:
        end_gam_servers(sys.argv[2])
    else:
        sys.exit("usage: harness.py end-gam-servers GAM_CLIENT_ID")
