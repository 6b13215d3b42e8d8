"""A sharded deployment on one machine: two backends, each running mboxfs and
Courier's imapd and pop3d (couriertcpd on 127.0.0.2 and 127.0.0.3) for its
share of the account map, and a front end (127.0.0.1) running Courier's own
IMAP and POP3 proxy (IMAP_PROXY=1, POP3_PROXY=1), which sends each user to the
backend authlib's per-account `mailhost` option names. Authentication is real:
authdaemond with authuserdb, a userdb made by makeuserdb, passwords checked.
For an account on each backend, a real IMAP LOGIN through the proxy must show
the UIDVALIDITY and UIDs uw-imapd served (mboxfs show of the old mbox), in
INBOX and in a folder, and a POP3 login through the proxy the UIDLs uw-ipop3d
printed; the login must reach the account's backend and no other.

Bounded and private: the test re-runs itself in new mount, network and PID
namespaces (unshare), so /etc/courier, /run/courier and port 143 are its own
(bind mounts and a fresh loopback nobody else sees), and every process it
starts (authdaemond, couriertcpd, imapd, gam_server, the mboxfs daemons) ends
with the namespace at the latest; before that each is ended by its PID.

usage: test_sharded.py MBOXFS EXAMPLES"""
import imaplib
import json
import os
import poplib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

INSIDE = "MBOXFS_SHARDED_INSIDE"
COURIER = "/usr/lib/courier/courier"
AUTHDAEMOND = "/usr/lib/courier/courier-authlib/authdaemond"
COURIERTCPD = shutil.which("couriertcpd") or "/usr/sbin/couriertcpd"
FRONT, BACKENDS = "127.0.0.1", {"a": "127.0.0.2", "b": "127.0.0.3"}
# account -> (backend, uid, INBOX, folder directory, one folder mbox and its
# Courier name), paths below the example old server
ACCOUNTS = {
    "alice": ("a", 5101, "spool/alice", "home/alice/mail", "home/alice/mail/sent-mail",
              "INBOX.sent-mail"),
    "bob": ("b", 5102, "spool/bob", "home/bob", "home/bob/Archive/2019", "INBOX.Archive.2019"),
}
PASSWORD = "s3cret-%s"


def needs():
    missing = [what for what, ok in (
        ("root", os.geteuid() == 0),
        ("/dev/fuse", os.path.exists("/dev/fuse")),
        ("courier-imap", os.path.exists("/usr/bin/imapd")),
        ("courier-pop", os.path.exists(f"{COURIER}/courierpop3d")),
        ("couriertcpd", shutil.which("couriertcpd")),
        ("courier-authdaemon", os.path.exists(AUTHDAEMOND)),
        ("courier-authlib-userdb (makeuserdb)", shutil.which("makeuserdb")),
        ("unshare", shutil.which("unshare")),
        ("ip (iproute2)", shutil.which("ip")),
        ("fusermount3", shutil.which("fusermount3"))) if not ok]
    if missing:
        print(f"SKIP: needs {', '.join(missing)}")
        sys.exit(harness.SKIP)


def run_in_namespaces():
    """Re-runs this script in new mount, network and PID namespaces."""
    cmd = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc",
           "--propagation", "private", sys.executable] + sys.argv
    try:
        return subprocess.run(cmd, env=dict(os.environ, **{INSIDE: "1"}), timeout=500).returncode
    except subprocess.TimeoutExpired:
        print("FAIL the test did not finish in 500 s (its namespaces ended it)")
        return 1


def detach_copied_fuse_mounts():
    """Detaches, in this namespace only, the FUSE mounts it was given a copy
    of. unshare copies every mount there is (propagation private: none of the
    parent's later unmounts reach here), and a copy keeps its superblock
    alive: the daemon of a test running beside this one would then outlive its
    own unmount until this namespace ends (seen as "daemon still running 10 s
    after the unmount" in other suites). The parent's mounts stay untouched."""
    with open("/proc/self/mountinfo") as f:
        entries = [line.split() for line in f]
    points = []
    for fields in entries:
        fstype = fields[fields.index("-") + 1]
        if fstype == "fuse" or fstype.startswith(("fuse.", "fuseblk")):
            # mountinfo escapes space, tab, newline and backslash as \ooo
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], stderr=subprocess.DEVNULL, check=False)


def crypt_password(password):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def courier_env(config, **overrides):
    """The environment Debian's init scripts give: the config file sourced."""
    settings = "".join(f"{k}={shlex.quote(str(v))}; " for k, v in overrides.items())
    out = subprocess.run(["sh", "-c", f"set -a; . {config}; {settings} env -0"],
                         capture_output=True, check=True, env={"PATH": "/usr/bin:/bin"})
    return dict(item.split("=", 1) for item in out.stdout.decode().split("\0") if "=" in item)


def wait_for(what, ready, timeout=20):
    deadline = time.time() + timeout
    while not ready():
        if time.time() > deadline:
            raise RuntimeError(f"{what} did not come up in {timeout} s")
        time.sleep(0.05)


def listening(address, port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((address, port)) == 0


class Processes:
    """Every long-running process the test starts, ended by PID in reverse."""

    def __init__(self, work):
        self.work, self.started = work, []

    def start(self, name, cmd, env=None):
        log = open(os.path.join(self.work, f"{name}.log"), "ab")
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd="/")
        self.started.append((name, proc))
        return proc

    def log(self, name):
        with open(os.path.join(self.work, f"{name}.log"), errors="replace") as f:
            return f.read()

    def stop_all(self):
        for name, proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=20)


def pids_inside(path):
    """Processes whose working directory is below path. In this PID namespace
    and on this private mount, each of them was started by this test (Courier's
    gam_server keeps its cwd in a maildir)."""
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if cwd == path or cwd.startswith(path + "/"):
                found.append(int(pid))
    return found


def set_up_courier(work, old, mounts):
    """/etc/courier and /run/courier of this namespace: authuserdb with one
    entry per account, its mailhost the account's backend."""
    etc = os.path.join(work, "etc-courier")
    shutil.copytree("/etc/courier", etc, symlinks=True)
    with open(os.path.join(etc, "authdaemonrc"), "a") as f:
        f.write('\nauthmodulelist="authuserdb"\ndaemons=2\nDEBUG_LOGIN=1\n')
    lines = []
    for user, (backend, uid, *_rest) in ACCOUNTS.items():
        home = os.path.join(mounts[backend], user)
        lines.append(f"{user}\tuid={uid}|gid={uid}|home={home}|mail={home}/Maildir"
                     f"|systempw={crypt_password(PASSWORD % user)}"
                     f"|options=mailhost={BACKENDS[backend]}\n")
    userdb = os.path.join(etc, "userdb")
    if os.path.isdir(userdb):
        shutil.rmtree(userdb)
    with open(userdb, "w") as f:
        f.writelines(lines)
    os.chmod(userdb, 0o600)
    subprocess.run(["mount", "--bind", etc, "/etc/courier"], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run/courier"],
                   check=True)
    os.makedirs("/run/courier/authdaemon", mode=0o750)
    subprocess.run(["makeuserdb"], check=True, timeout=60)


def old_tree(work, examples):
    """The example old server, its files owned by each account's uid (as on
    the old server), and the account map split by backend."""
    old = os.path.join(work, "oldserver")
    shutil.copytree(os.path.join(examples, "oldserver"), old)
    maps = {}
    for user, (backend, uid, inbox, folders, *_rest) in ACCOUNTS.items():
        home = os.path.join(old, "home", user)
        for path in [os.path.join(old, inbox), home] + [
                os.path.join(d, n) for d, dirs, files in os.walk(home) for n in dirs + files]:
            os.chown(path, uid, uid)
        maps.setdefault(backend, []).append(
            f"{user}/Maildir inbox={old}/{inbox} home={home} folders={old}/{folders} "
            f"owner={uid}:{uid}\n")
    return old, maps


def served_by_uw(mboxfs, indexed, old, user, path, folder):
    """What uw-imapd served from one old mbox: (UIDVALIDITY, [UIDs]). The UIDs
    are c-client's (mboxfs show); the UIDVALIDITY is the one the backend's
    index keeps (the old header's, or for a mailbox without one the value
    chosen once in that backend's state directory)."""
    out = subprocess.run([mboxfs, "show", "--json", "--source-tz", "UTC",
                          os.path.join(old, path)], capture_output=True, check=True, timeout=60)
    view = json.loads(out.stdout)
    name = "INBOX" if folder == "INBOX" else os.path.relpath(
        os.path.join(old, path), os.path.join(old, ACCOUNTS[user][3]))
    report = indexed[(f"{user}/Maildir", name)]
    if view["uidvalidity"] not in (None, report["uidvalidity"]):
        raise RuntimeError(f"{path}: show says UIDVALIDITY {view['uidvalidity']}, "
                           f"index {report['uidvalidity']}")
    return report["uidvalidity"], [m["uid"] for m in view["messages"]]


def imap_through_proxy(user, folder):
    """LOGIN at the front end; (UIDVALIDITY, [UIDs]) of folder."""
    with imaplib.IMAP4(FRONT, 143, timeout=60) as imap:
        imap.login(user, PASSWORD % user)
        status, _ = imap.select(f'"{folder}"', readonly=True)
        if status != "OK":
            raise RuntimeError(f"SELECT {folder}: {status}")
        uidvalidity = int(imap.untagged_responses["UIDVALIDITY"][0])
        status, data = imap.uid("FETCH", "1:*", "(UID)")
        uids = sorted(int(item.decode().split("UID ")[1].rstrip(")"))
                      for item in data if item)
        imap.logout()
    return uidvalidity, uids


def pop3_through_proxy(user):
    pop = poplib.POP3(FRONT, 110, timeout=60)
    try:
        pop.user(user)
        pop.pass_(PASSWORD % user)
        return [line.split()[1].decode() for line in pop.uidl()[1]]
    finally:
        pop.quit()


def wrong_password_refused(user):
    with imaplib.IMAP4(FRONT, 143, timeout=60) as imap:
        try:
            imap.login(user, "not-the-password")
        except imaplib.IMAP4.error:
            return True
        return False


def main():
    mboxfs, examples = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    work = harness.workdir()
    os.chmod(work, 0o755)  # imapd runs as the account's uid and enters its home
    procs = Processes(work)
    results = harness.Results()
    mounts = {b: os.path.join(work, b, "mail") for b in BACKENDS}
    indexed = {}
    try:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        old, maps = old_tree(work, examples)
        set_up_courier(work, old, mounts)
        auth_env = courier_env("/etc/courier/authdaemonrc")
        procs.start("authdaemond", [AUTHDAEMOND], env=auth_env)
        wait_for("authdaemond", lambda: os.path.exists("/run/courier/authdaemon/socket"))

        # each backend: its share of the map, its own state directory and mount,
        # and Courier's imapd and pop3d on its own address
        for backend, address in BACKENDS.items():
            base = os.path.join(work, backend)
            os.makedirs(mounts[backend])
            os.chmod(base, 0o755)
            map_path = os.path.join(base, "accounts.map")
            with open(map_path, "w") as f:
                f.writelines(maps[backend])
            # the cutover's first step, per backend: index its share
            indexed.update(harness.index(mboxfs, map_path, os.path.join(base, "state")))
            procs.start(f"mboxfs-{backend}",
                        [mboxfs, "mount", "--map", map_path, "--state",
                         os.path.join(base, "state"), "--source-tz", "UTC", "--foreground",
                         mounts[backend]])
            wait_for(f"mount of backend {backend}",
                     lambda m=mounts[backend]: os.path.ismount(m))
            imap_env = courier_env("/etc/courier/imapd", IMAP_PROXY=0, TZ="UTC",
                                   IMAP_TLS_REQUIRED=0)
            procs.start(f"imapd-{backend}",
                        [COURIERTCPD, f"-address={address}", "-nodnslookup",
                         "-noidentlookup", "-maxprocs=20", "143", f"{COURIER}/imaplogin",
                         "/usr/bin/imapd", "Maildir"], env=imap_env)
            pop_env = courier_env("/etc/courier/pop3d", POP3_PROXY=0, TZ="UTC",
                                  POP3_TLS_REQUIRED=0)
            procs.start(f"pop3d-{backend}",
                        [COURIERTCPD, f"-address={address}", "-nodnslookup",
                         "-noidentlookup", "-maxprocs=20", "110", f"{COURIER}/courierpop3login",
                         f"{COURIER}/courierpop3d", "Maildir"], env=pop_env)
        # the front end: Courier's proxy, no mail of its own
        procs.start("imapd-front",
                    [COURIERTCPD, f"-address={FRONT}", "-nodnslookup", "-noidentlookup",
                     "-maxprocs=20", "143", f"{COURIER}/imaplogin", "/usr/bin/imapd", "Maildir"],
                    env=courier_env("/etc/courier/imapd", IMAP_PROXY=1, IMAP_TLS_REQUIRED=0))
        procs.start("pop3d-front",
                    [COURIERTCPD, f"-address={FRONT}", "-nodnslookup", "-noidentlookup",
                     "-maxprocs=20", "110", f"{COURIER}/courierpop3login",
                     f"{COURIER}/courierpop3d", "Maildir"],
                    env=courier_env("/etc/courier/pop3d", POP3_PROXY=1, POP3_TLS_REQUIRED=0))
        for address in [FRONT] + list(BACKENDS.values()):
            for port in (143, 110):
                wait_for(f"{address}:{port}", lambda a=address, p=port: listening(a, p))

        for user, (backend, uid, inbox, _folders, folder_path, folder) in ACCOUNTS.items():
            problems = []
            for path, name in ((inbox, "INBOX"), (folder_path, folder)):
                expected = served_by_uw(mboxfs, indexed, old, user, path, name)
                got = imap_through_proxy(user, name)
                print(f"     {user}@{BACKENDS[backend]} {name}: UIDVALIDITY {got[0]}, "
                      f"UIDs {got[1]} (uw-imapd: {expected[0]}, {expected[1]})")
                if got != expected or not expected[1]:
                    problems.append(f"{name}: proxy served {got}, uw-imapd served {expected}")
            results.check(f"{user}: IMAP LOGIN through the proxy shows uw-imapd's UIDs",
                          problems)
            uidvalidity, uids = served_by_uw(mboxfs, indexed, old, user, inbox, "INBOX")
            uw = ["%08x%08x" % (uidvalidity, u) for u in uids]
            got = pop3_through_proxy(user)
            print(f"     {user} POP3 UIDL through the proxy: {got}")
            results.check(f"{user}: POP3 through the proxy shows uw-ipop3d's UIDLs",
                          [] if got == uw else [f"got {got}, uw-ipop3d printed {uw}"])
            # the session ran on the account's backend: its imaplogin logged
            # the login there, the other backend never saw the user
            here = procs.log(f"imapd-{backend}")
            others = [procs.log(f"imapd-{b}") for b in BACKENDS if b != backend]
            results.check(f"{user}: served by backend {backend} only", [
                p for p in (
                    None if f"LOGIN, user={user}" in here else f"no login of {user} logged on {backend}",
                    None if not any(f"user={user}," in o for o in others) else f"{user} reached another backend",
                    None if f"LOGIN, user={user}" in procs.log("imapd-front") else "the front end did not log the proxied login")
                if p])
        results.check("a wrong password is refused at the front end",
                      [] if wrong_password_refused("alice") else ["LOGIN with a wrong password succeeded"])
    except Exception as e:  # reported as a failure with what the servers said
        results.check("the sharded deployment runs", [repr(e)] + [
            f"{name}: {procs.log(name)[-300:]}" for name, _ in procs.started])
    finally:
        for mount in mounts.values():
            for pid in pids_inside(mount):  # gam_server of this test's imapd sessions
                os.kill(pid, signal.SIGTERM)
        procs.stop_all()
        for mount in mounts.values():
            if os.path.ismount(mount):
                subprocess.run(["fusermount3", "-u", "-z", mount], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    needs()
    if os.environ.get(INSIDE) != "1":
        sys.exit(run_in_namespaces())
    detach_copied_fuse_mounts()
    sys.exit(main())
