#!/usr/bin/env python3
"""Courier-level benchmark: Courier's imapd on an mboxfs mount, on the same maildir
materialized to a plain directory ("native"), and on libfuse's passthrough_ll mounted
over a copy of that native maildir. Run by bench/courier.sh, which prepares the work
dir (see there); this part times and reports.

Every timed value is one IMAP command, from sending it to its tagged OK (perf_counter,
through tests/e2e/imap.py's client), except the "new imapd + SELECT" rows (spawn of
imapd to the tagged OK of SELECT) and the find/cat rows (the whole process). The three
setups alternate run by run (A B C A B C ...); the report gives medians and ratios.

Processes: this script ends only what it started, by PID: the mboxfs and passthrough_ll
daemons (fusermount3 -u of its own mount point, then wait for the PID), the imapd
sessions (LOGOUT) and its gam_servers. Courier's imapd calls FAMOpen at startup and,
when no gam_server answers, libgamin forks one that inherits imapd's cwd, the maildir,
and keeps a FUSE mount busy (reference/courier-imap-maildir.md section 8); no imapd
setting avoids FAMOpen (IMAP_ENHANCEDIDLE=0 only stops the watches). So, per setup, this
script starts one gam_server itself, from /, with --notimeout and its own
GAM_CLIENT_ID=mboxfs-bench-<pid>-<setup>, before any imapd, and gives every imapd of that
setup the same GAM_CLIENT_ID: libgamin finds that server (abstract socket
@/tmp/fam-root-<id>) and never forks one, and no one else's client shares it. It is
ended by PID at the end. As a fallback, before a tree is unmounted, any gam_server with
that id in its environment and its cwd inside this run's work dir (one libgamin forked
after all) is ended by PID too.
"""
import argparse
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
import imap  # noqa: E402

SETUPS = ("mboxfs", "native", "passthrough_ll")


def gam_id(kind):
    return f"mboxfs-bench-{os.getpid()}-{kind}"


def log(msg):
    print(msg, flush=True)


def mounted(mountpoint):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == mountpoint for line in f)


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def alive(pid):
    """pid exists and is not a zombie (forked gam_servers are not our children)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def end_gam_servers(gam_id, below):
    """Ends, by PID, the gam_server processes forked for GAM_CLIENT_ID gam_id whose cwd
    is below the directory below (ours by construction); waits until they are gone."""
    mine = f"GAM_CLIENT_ID={gam_id}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != "gam_server":
                    continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if mine not in f.read().split(b"\0"):
                    continue
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue  # gone meanwhile
        if cwd == below or cwd.startswith(below.rstrip("/") + "/"):
            pids.append(int(entry))
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    while pids and time.time() < deadline:
        pids = [p for p in pids if alive(p)]
        time.sleep(0.02)
    if pids:
        raise RuntimeError(f"gam_server {pids} did not exit")


class GamServer:
    """Our own gam_server for one GAM_CLIENT_ID, with its cwd at / (see above)."""

    def __init__(self, gam_id):
        self.proc = subprocess.Popen(["/usr/libexec/gam_server", "--notimeout", gam_id], cwd="/",
                                     env={"GAM_CLIENT_ID": gam_id, "PATH": "/usr/bin:/bin"},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        name = f"@/tmp/fam-root-{gam_id}".encode()
        deadline = time.time() + 10
        while True:
            with open("/proc/net/unix", "rb") as f:
                if any(name in line for line in f):
                    return
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                raise RuntimeError(f"gam_server for {gam_id} did not come up")
            time.sleep(0.02)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait()


GAM_SERVERS = {}  # setup kind -> our GamServer
GAM_RESTARTS = []  # how often ours had been ended from outside


def ensure_gam_server(kind):
    """Starts our gam_server for kind, or again when something ended it (other jobs'
    jobs on a shared machine may end gam_servers by name). When it cannot come up (another was
    forked for our id meanwhile), imapd uses that one or forks one: the fallback of
    Setup.stop() ends those."""
    g = GAM_SERVERS.get(kind)
    if g is not None and g.proc.poll() is None:
        return
    if g is not None:
        GAM_RESTARTS.append(kind)
    try:
        GAM_SERVERS[kind] = GamServer(gam_id(kind))
    except RuntimeError:
        GAM_SERVERS.pop(kind, None)


class Daemon:
    """A FUSE daemon in the foreground, started by us; stop() unmounts our own mount
    point with fusermount3 -u and waits for the PID."""

    def __init__(self, cmd, mountpoint, log_path):
        os.makedirs(mountpoint, exist_ok=True)
        self.mountpoint = mountpoint
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not mounted(mountpoint):
            if self.proc.poll() is not None or time.time() > deadline:
                self.proc.kill() if self.proc.poll() is None else None
                raise RuntimeError(f"{cmd[0]} did not mount: {open(log_path).read()[-2000:]}")
            time.sleep(0.02)

    def stop(self):
        for _ in range(100):
            if not mounted(self.mountpoint):
                break
            if subprocess.run(["fusermount3", "-u", self.mountpoint],
                              stderr=subprocess.DEVNULL).returncode != 0:
                time.sleep(0.1)
        if mounted(self.mountpoint):
            raise RuntimeError(f"{self.mountpoint} stays busy")
        try:
            status = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            status = self.proc.wait()
        self.log.close()
        if status != 0:
            raise RuntimeError(f"daemon of {self.mountpoint} exited {status}")


class Setup:
    """One of the three trees: mboxfs (state dir + empty upper dir, mounted), native (a
    plain copy) or passthrough_ll (a plain copy, mounted). Each instance lives in its
    own directory; start() brings the tree up, stop() takes it down (gam_server
    first)."""

    def __init__(self, kind, cfg, directory, debug=False):
        self.kind, self.cfg, self.dir, self.debug = kind, cfg, directory, debug
        self.gam_id = gam_id(kind)
        self.daemon = None
        os.makedirs(directory)
        if kind == "mboxfs":
            shutil.copytree(cfg.state0, os.path.join(directory, "state"), symlinks=True)
            os.mkdir(os.path.join(directory, "upper"))
            self.root = os.path.join(directory, "mnt")
        elif kind == "native":
            subprocess.run(["cp", "-a", cfg.native0, os.path.join(directory, "root")], check=True)
            self.root = os.path.join(directory, "root")
        else:
            subprocess.run(["cp", "-a", cfg.native0, os.path.join(directory, "src")], check=True)
            self.root = os.path.join(directory, "mnt")
        self.maildir = os.path.join(self.root, cfg.maildir)

    def start(self):
        log_path = os.path.join(self.dir, "daemon.log")
        if self.kind == "mboxfs":
            cmd = [self.cfg.mboxfs, "mount", "--map", self.cfg.map, "--state",
                   os.path.join(self.dir, "state"), "--upper", os.path.join(self.dir, "upper"),
                   "--source-tz", "UTC", "--foreground"]
            self.daemon = Daemon(cmd + (["--debug"] if self.debug else []) + [self.root],
                                 self.root, log_path)
        elif self.kind == "passthrough_ll":
            cmd = [self.cfg.passthrough, "-f", "-o", "source=" + os.path.join(self.dir, "src")]
            self.daemon = Daemon(cmd + (["-d"] if self.debug else []) + [self.root],
                                 self.root, log_path)

    def stop(self):
        end_gam_servers(self.gam_id, self.cfg.work)
        if self.daemon:
            self.daemon.stop()
            self.daemon = None

    def imapd(self):
        ensure_gam_server(self.kind)
        return imap.Imapd(self.maildir, {"GAM_CLIENT_ID": self.gam_id})


def timed(imapd, command):
    """(seconds, untagged responses) of one command that must end in OK."""
    t0 = time.perf_counter()
    status, resp = imapd.command(command)
    t = time.perf_counter() - t0
    if " OK" not in status:
        raise RuntimeError(f"{command}: {status}")
    return t, resp


def digest(resp):
    h = hashlib.sha256()
    for parts in resp:
        for p in parts:
            h.update(p)
    return h.hexdigest()


def open_and_select(setup):
    t0 = time.perf_counter()
    session = setup.imapd()
    imap.ok(session, "SELECT INBOX")
    return time.perf_counter() - t0, session


def timed_process(cmd, cwd):
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


class Results:
    def __init__(self):
        self.times = {}  # (row, setup) -> [seconds]
        self.digests = {}  # (row, setup) -> set of response digests
        self.rows = []
        self.retries = []  # runs dropped because imapd was ended from outside

    def add(self, row, setup, seconds, resp=None):
        if row not in self.rows:
            self.rows.append(row)
        self.times.setdefault((row, setup), []).append(seconds)
        if resp is not None:
            self.digests.setdefault((row, setup), set()).add(digest(resp))


class Interfered(Exception):
    pass


def attempt(res, label, unit):
    """Runs unit() -> [(row, kind, seconds, resp)] and adds its values. On this shared
    machine other jobs may end every imapd by name: such a run is
    said, dropped and run again, on fresh trees where it mutates (at most 3 times)."""
    for n in range(3):
        try:
            values = unit(n)
        except RuntimeError as e:
            if "imapd closed the connection" not in str(e) and "imapd did not greet" not in str(e):
                raise
            res.retries.append(f"{label}: {str(e).splitlines()[0][:160]}")
            log(f"   {label}: imapd ended from outside, run again ({str(e).splitlines()[-1][:120]})")
            continue
        for row, kind, t, resp in values:
            res.add(row, kind, t, resp)
        return values
    raise RuntimeError(f"{label}: failed 3 times")


def write_rows(cfg, res):
    """Issue 9: each run mutates, so each run gets a fresh tree, set up untimed."""
    for i, (row, command) in enumerate(cfg.write_commands):
        for run in range(cfg.runs):
            for kind in SETUPS:
                def unit(n):
                    setup = Setup(kind, cfg, os.path.join(cfg.work, "runs", f"write{i}-{run}-{kind}-{n}"))
                    setup.start()
                    try:
                        session = setup.imapd()
                        imap.ok(session, "SELECT INBOX")
                        os.sync()
                        t, resp = timed(session, command)
                        session.close()
                    finally:
                        setup.stop()
                    return [(row, kind, t, resp)]
                [(_, _, t, _)] = attempt(res, f"{row} [{kind}] run {run + 1}", unit)
                log(f"   {row} [{kind}] run {run + 1}: {t:.3f} s")


def read_rows(cfg, res):
    """Issue 12: one tree per setup for all runs (reads change nothing that matters)."""
    setups = {kind: Setup(kind, cfg, os.path.join(cfg.work, "runs", f"read-{kind}")) for kind in SETUPS}
    env = "UID FETCH 1:* (RFC822.SIZE INTERNALDATE ENVELOPE)"
    find_cat = ["find", "cur", "-type", "f", "-exec", "cat", "{}", "+"]

    def cold(kind, s):
        s.stop()
        s.start()
        drop_caches()
        t1, session = open_and_select(s)
        t2, resp2 = timed(session, env)
        t3, resp3 = timed(session, env)
        session.close()
        return [("new imapd + SELECT, first after mount (caches dropped)", kind, t1, None),
                (f"`{env}`, first after mount", kind, t2, resp2),
                (f"`{env}`, warm", kind, t3, resp3)]

    def warm(kind, s):
        t1, session = open_and_select(s)
        t2, resp = timed(session, "UID FETCH 1:* BODY.PEEK[]")
        session.close()
        t3 = timed_process(find_cat, s.maildir)
        t4 = timed_process(["cat", os.path.join(s.root, cfg.big)], "/")
        return [("new imapd + SELECT, warm", kind, t1, None),
                ("`UID FETCH 1:* BODY.PEEK[]`, warm", kind, t2, resp),
                ("`find cur -type f -exec cat {} +`, warm", kind, t3, None),
                (f"`cat` of the {cfg.big_mb} MiB message, warm", kind, t4, None)]

    def warm_up(kind, s):
        session = s.imapd()
        imap.ok(session, "SELECT INBOX")
        timed(session, "UID FETCH 1:* BODY.PEEK[]")
        session.close()
        timed_process(find_cat, s.maildir)
        timed_process(["cat", os.path.join(s.root, cfg.big)], "/")
        return []

    try:
        for kind, s in setups.items():
            s.start()
            # the first session may write control files (courierimapuiddb, ...): untimed
            attempt(res, f"first session [{kind}]", lambda n: warm_up(kind, s))
        for run in range(cfg.runs):
            for kind, s in setups.items():
                v = attempt(res, f"cold [{kind}] run {run + 1}", lambda n: cold(kind, s))
                log(f"   cold [{kind}] run {run + 1}: SELECT {v[0][2]:.3f} s, "
                    f"ENVELOPE {v[1][2]:.3f} s, again {v[2][2]:.3f} s")
        for kind, s in setups.items():  # everything read once more, untimed
            attempt(res, f"warm-up [{kind}]", lambda n: warm_up(kind, s))
        for run in range(cfg.runs):
            for kind, s in setups.items():
                v = attempt(res, f"warm [{kind}] run {run + 1}", lambda n: warm(kind, s))
                log(f"   warm [{kind}] run {run + 1}: SELECT {v[0][2]:.3f} s, BODY.PEEK[] "
                    f"{v[1][2]:.3f} s, find/cat {v[2][2]:.3f} s, big cat {v[3][2]:.3f} s")
    finally:
        for s in setups.values():
            s.stop()


def request_counts(cfg, res):
    """FUSE requests per message, from the daemons' debug logs (libfuse's
    "unique: N, opcode: NAME" lines), on fresh read trees: {(what, kind): (n, by opcode)}."""
    counts = {}
    steps = [("SELECT (after mount)", "SELECT INBOX"),
             ("ENVELOPE fetch (first)", "UID FETCH 1:* (RFC822.SIZE INTERNALDATE ENVELOPE)"),
             ("ENVELOPE fetch (again)", "UID FETCH 1:* (RFC822.SIZE INTERNALDATE ENVELOPE)"),
             ("BODY.PEEK[] fetch", "UID FETCH 1:* BODY.PEEK[]"),
             ("BODY.PEEK[] fetch (again)", "UID FETCH 1:* BODY.PEEK[]")]

    def count(kind, n):
        s = Setup(kind, cfg, os.path.join(cfg.work, "runs", f"debug-{kind}-{n}"), debug=True)
        s.start()
        try:
            session = s.imapd()
            log_path = os.path.join(s.dir, "daemon.log")
            for what, command in steps:
                before = os.path.getsize(log_path)
                timed(session, command)
                time.sleep(0.2)  # the daemon logs a reply after sending it
                with open(log_path, "rb") as f:
                    f.seek(before)
                    ops = {}
                    for line in f:
                        if line.startswith(b"unique: ") and b"opcode: " in line:
                            op = line.split(b"opcode: ")[1].split()[0].decode()
                            ops[op] = ops.get(op, 0) + 1
                counts[(what, kind)] = (sum(ops.values()), ops)
            session.close()
        finally:
            s.stop()
        return []

    for kind in ("mboxfs", "passthrough_ll"):
        attempt(res, f"request counts [{kind}]", lambda n: count(kind, n))
    return counts


def fmt_ratio(a, b):
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


def report(cfg, res, counts):
    log("")
    log(f"== results: medians of {cfg.runs} runs, seconds; setups run alternately; "
        f"INBOX {cfg.msgs} messages, {cfg.bytes} bytes of mbox")
    log("")
    log("| row | mboxfs | native | passthrough_ll | mboxfs / native | passthrough_ll / native | mboxfs / passthrough_ll |")
    log("|---|---|---|---|---|---|---|")
    med = {}
    for row in res.rows:
        m = {k: statistics.median(res.times[(row, k)]) for k in SETUPS}
        med[row] = m
        log(f"| {row} | {m['mboxfs']:.3f} | {m['native']:.3f} | {m['passthrough_ll']:.3f} | "
            f"{fmt_ratio(m['mboxfs'], m['native'])} | {fmt_ratio(m['passthrough_ll'], m['native'])} | "
            f"{fmt_ratio(m['mboxfs'], m['passthrough_ll'])} |")
    log("")
    for row, _ in [] if cfg.no_writes else cfg.write_commands:
        r = med[row]["mboxfs"] / med[row]["passthrough_ll"]
        log(f"issue 9, {row}: mboxfs / passthrough_ll = {r:.2f}x "
            f"({'met' if r <= 1.5 else 'MISSED'}: within 1.5x), mboxfs / native = "
            f"{med[row]['mboxfs'] / med[row]['native']:.2f}x")
    log("")
    log("every run, seconds (mboxfs | native | passthrough_ll):")
    for row in res.rows:
        cells = " | ".join(" ".join(f"{t:.3f}" for t in res.times[(row, k)]) for k in SETUPS)
        log(f"   {row}: {cells}")
    # the three setups must have answered the same
    problems = []
    for row in res.rows:
        ds = {k: res.digests.get((row, k)) for k in SETUPS}
        if ds["native"] is None:
            continue
        if any(len(d) != 1 for d in ds.values()) or len({next(iter(d)) for d in ds.values()}) != 1:
            problems.append(row)
    log("")
    if problems:
        log(f"WARNING: the setups' responses differ for: {'; '.join(problems)}")
    else:
        log("check: for every IMAP row, every run of every setup returned the same untagged "
            "responses (SHA-256 over them)")
    if GAM_RESTARTS:
        log(f"note: our gam_servers were ended from outside {len(GAM_RESTARTS)} times and started "
            "again (something on this machine ends gam_servers by name)")
    if res.retries:
        log(f"note: {len(res.retries)} run(s) dropped and run again because imapd was ended from "
            "outside (something on this machine ends imapds by name):")
        for r in res.retries:
            log(f"   {r}")
    if counts:
        log("")
        log("FUSE requests per INBOX message (daemon debug logs; fresh mount, one session, in this order):")
        log("")
        log("| step | mboxfs | passthrough_ll | mboxfs requests by opcode |")
        log("|---|---|---|---|")
        for what in dict.fromkeys(w for w, _ in counts):
            a, ops = counts[(what, "mboxfs")]
            b, _ = counts[(what, "passthrough_ll")]
            top = ", ".join(f"{op} {n}" for op, n in sorted(ops.items(), key=lambda x: -x[1])[:6])
            log(f"| {what} | {a / cfg.msgs:.2f} | {b / cfg.msgs:.2f} | {top} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", required=True)
    p.add_argument("--mboxfs", required=True)
    p.add_argument("--passthrough", required=True)
    p.add_argument("--map", required=True)
    p.add_argument("--state0", required=True, help="state dir after mboxfs index (copied per run)")
    p.add_argument("--native0", required=True, help="materialize --offline output (copied)")
    p.add_argument("--maildir", required=True, help="the maildir below a mail root")
    p.add_argument("--big", required=True, help="the big message below a mail root")
    p.add_argument("--big-mb", required=True)
    p.add_argument("--msgs", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--no-counts", action="store_true")
    p.add_argument("--no-writes", action="store_true", help="only the read rows and counts")
    cfg = p.parse_args()
    cfg.work = os.path.realpath(cfg.work)
    deleted = 1000 if cfg.msgs >= 8000 else max(1, cfg.msgs // 8)
    cfg.write_commands = [(f"`UID STORE 1:* +FLAGS (\\Seen)`", "UID STORE 1:* +FLAGS (\\Seen)"),
                          (f"`UID STORE 1:* +FLAGS (\\Flagged)`", "UID STORE 1:* +FLAGS (\\Flagged)"),
                          (f"`STORE 1:{deleted} +FLAGS (\\Deleted)`", f"STORE 1:{deleted} +FLAGS (\\Deleted)")]
    os.makedirs(os.path.join(cfg.work, "runs"), exist_ok=True)
    res = Results()
    t0 = time.time()
    try:
        for kind in SETUPS:
            ensure_gam_server(kind)
        if not cfg.no_writes:
            log("-- writes (issue 9): a fresh copy per run")
            write_rows(cfg, res)
        log("-- reads (issue 12)")
        read_rows(cfg, res)
        counts = None
        if not cfg.no_counts:
            log("-- FUSE request counts (debug logs, untimed)")
            counts = request_counts(cfg, res)
    finally:
        for g in GAM_SERVERS.values():
            g.stop()
    report(cfg, res, counts)
    log(f"\n(benchmark part took {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
