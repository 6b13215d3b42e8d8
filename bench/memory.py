#!/usr/bin/env python3
"""Daemon memory per served message over many Courier sessions: an mboxfs mount against
libfuse's passthrough_ll over the same mail materialized to plain maildirs. Run by
bench/memory.sh, which prepares the work dir (see there); this part drives the sessions
and reports.

Both daemons stay mounted for the whole run. A round gives every account one Courier
imapd session (pre-authenticated over a pipe: tests/e2e/imap.py); the setups alternate
round by round (mboxfs, passthrough_ll, mboxfs, ...). After a round, once the daemon
has answered the RELEASEs of the closed files, its anonymous memory is read from
/proc/PID/smaps_rollup ("Anonymous") and /proc/PID/status ("RssAnon").

Processes, gam_server and unmounting: as bench/courier.py (imported), which ends only
what it started, by PID, and unmounts only its own mount points.
"""
import argparse
import hashlib
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import courier  # noqa: E402
import imap  # noqa: E402

SETUPS = ("mboxfs", "passthrough_ll")
BODY_EVERY = 40  # BODY.PEEK[] of every 40th message of a folder


def memory(pid):
    """(Anonymous, RssAnon) of pid in bytes."""
    anon = rss_anon = None
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Anonymous:"):
                anon = int(line.split()[1]) * 1024
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                rss_anon = int(line.split()[1]) * 1024
    return anon, rss_anon


def settle(pid):
    """Waits until the daemon is idle (its CPU time stops moving): the kernel sends
    RELEASE and FORGET after the client has gone."""
    def cpu():
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    last = cpu()
    for _ in range(50):
        time.sleep(0.2)
        now = cpu()
        if now == last:
            return
        last = now


def forget_dentries():
    """The kernel forgets cached dentries and inodes (FORGET to both daemons):
    passthrough_ll keeps an O_PATH fd per inode the kernel knows, and this machine's
    hard limit of 20000 fds (which root cannot raise here) is below the messages of two
    accounts. Done after every session of both setups, so both serve the same requests."""
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2\n")


def session(setup, maildir, round_no, out):
    """One imapd session on one account; adds the number of FETCH responses of the
    ENVELOPE fetches (every message of every folder once) and the SHA-256 of the
    BODY.PEEK[] responses to out, once it has ended well."""
    digest = hashlib.sha256()
    courier.ensure_gam_server(setup.kind)
    s = imap.Imapd(maildir, {"GAM_CLIENT_ID": setup.gam_id})
    fetched = 0
    try:
        for folder in sorted(imap.list_folders(s, selectable=True)):
            status, resp = s.command(f'SELECT "{folder}"')
            if " OK" not in status:
                raise RuntimeError(f"SELECT {folder}: {status}")
            exists = next(int(p[0].split()[1]) for p in resp if p[0].rstrip().endswith(b"EXISTS"))
            if not exists:
                continue
            status, resp = s.command("UID FETCH 1:* (FLAGS RFC822.SIZE INTERNALDATE ENVELOPE)")
            if " OK" not in status:
                raise RuntimeError(f"{folder}: ENVELOPE fetch: {status}")
            fetched += sum(1 for p in resp if b" FETCH " in p[0])
            seqs = ",".join(str(i) for i in range(1 + round_no % BODY_EVERY, exists + 1, BODY_EVERY))
            if seqs:
                status, resp = s.command(f"FETCH {seqs} BODY.PEEK[]")
                if " OK" not in status:
                    raise RuntimeError(f"{folder}: BODY.PEEK[] fetch: {status}")
                for parts in resp:
                    for p in parts:
                        digest.update(p)
            if folder == "INBOX":
                n = 1 + (round_no * 97) % exists
                imap.ok(s, f"STORE {n} +FLAGS (\\Flagged)")
                imap.ok(s, f"STORE {n} -FLAGS (\\Flagged)")
    finally:
        s.close()
    out.append((fetched, digest.hexdigest()))


RETRIES = []


def attempt(unit, label):
    """unit(), run again (at most 3 times) when imapd could not start or was ended from
    outside: other jobs on this shared machine end imapds by name, and use up root's
    inotify instances (imapd then says "Too many open files" instead of greeting). A
    session changes nothing in the end (its STORE is undone), so a repeat is the same."""
    for n in range(3):
        try:
            return unit()
        except RuntimeError as e:
            text = str(e)
            if "imapd closed the connection" not in text and "imapd did not greet" not in text:
                raise
            RETRIES.append(f"{label}: {text.splitlines()[-1][:120]}")
            courier.log(f"   {label}: imapd failed from outside, run again ({text.splitlines()[-1][:120]})")
            time.sleep(1)
    raise RuntimeError(f"{label}: failed 3 times")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", required=True)
    p.add_argument("--mboxfs", required=True)
    p.add_argument("--passthrough", required=True)
    p.add_argument("--map", required=True)
    p.add_argument("--state0", required=True)
    p.add_argument("--native0", required=True)
    p.add_argument("--accounts", type=int, required=True)
    p.add_argument("--msgs", type=int, required=True, help="messages of all folders")
    p.add_argument("--sessions", type=int, default=13)
    p.add_argument("--mboxfs-env", default="")
    cfg = p.parse_args()
    cfg.work = os.path.realpath(cfg.work)
    cfg.maildir = "u1/Maildir"  # courier.Setup wants one; the accounts are u1..uN
    os.makedirs(os.path.join(cfg.work, "runs"), exist_ok=True)
    env_settings = dict(kv.split("=", 1) for kv in cfg.mboxfs_env.split())
    if env_settings:
        os.environ.update(env_settings)  # inherited by the mboxfs daemon only: see below

    setups = {}
    samples = {k: [] for k in SETUPS}  # per round: (Anonymous, RssAnon)
    base = {}
    digests = {k: [] for k in SETUPS}
    growth = {k: [] for k in SETUPS}  # round 1: (messages served so far, Anonymous)
    t0 = time.time()
    try:
        for kind in SETUPS:
            courier.ensure_gam_server(kind)
            s = courier.Setup(kind, cfg, os.path.join(cfg.work, "runs", kind))
            setups[kind] = s
            s.start()
            if kind == "mboxfs":  # the environment was for this daemon only
                for k in env_settings:
                    del os.environ[k]
            settle(s.daemon.proc.pid)
            base[kind] = memory(s.daemon.proc.pid)
        for r in range(cfg.sessions):
            for kind in SETUPS:
                s = setups[kind]
                t = time.time()
                done = []
                for a in range(1, cfg.accounts + 1):
                    attempt(lambda: session(s, os.path.join(s.root, f"u{a}/Maildir"), r, done),
                            f"round {r + 1} [{kind}] u{a}")
                    forget_dentries()
                    if r == 0:  # the first session of each account loads its folders
                        settle(s.daemon.proc.pid)
                        growth[kind].append((sum(n for n, _ in done),
                                             memory(s.daemon.proc.pid)[0]))
                fetched = sum(n for n, _ in done)
                if fetched != cfg.msgs:
                    raise RuntimeError(f"{kind} round {r + 1}: {fetched} messages fetched, "
                                       f"expected {cfg.msgs}")
                digests[kind].append(" ".join(h for _, h in done))
                pid = s.daemon.proc.pid
                settle(pid)
                anon, rss = memory(pid)
                samples[kind].append((anon, rss))
                if os.environ.get("MEMORY_PROBE"):  # e.g. malloc_info through gdb
                    subprocess.run([os.environ["MEMORY_PROBE"], str(pid), str(r + 1), kind])
                courier.log(f"   round {r + 1:2} [{kind:14}] {time.time() - t:5.1f} s: Anonymous "
                            f"{anon / 1024:8.0f} KiB = {anon / cfg.msgs:6.1f} B/message, RssAnon "
                            f"{rss / 1024:8.0f} KiB")
    finally:
        errors = []
        for s in setups.values():  # each one, also when another did not stop well
            try:
                s.stop()
            except RuntimeError as e:
                errors.append(e)
        for g in courier.GAM_SERVERS.values():
            g.stop()
        if errors:
            raise errors[0]

    n = cfg.msgs
    log = courier.log
    log("")
    log(f"== results: {cfg.accounts} accounts, {n} served messages, {cfg.sessions} rounds of one "
        f"imapd session per account; bytes of daemon memory per served message")
    log("")
    log("| after | mboxfs Anonymous | mboxfs B/msg | mboxfs B/msg above mount | "
        "passthrough_ll Anonymous | passthrough_ll B/msg | passthrough_ll B/msg above mount | "
        "mboxfs / passthrough_ll |")
    log("|---|---|---|---|---|---|---|---|")

    def row(label, a, b):
        log(f"| {label} | {a / 1024:.0f} KiB | {a / n:.1f} | {(a - base['mboxfs'][0]) / n:.1f} | "
            f"{b / 1024:.0f} KiB | {b / n:.1f} | {(b - base['passthrough_ll'][0]) / n:.1f} | "
            f"{a / b:.2f}x |")
    row("mount", base["mboxfs"][0], base["passthrough_ll"][0])
    for r in range(cfg.sessions):
        row(f"round {r + 1}", samples["mboxfs"][r][0], samples["passthrough_ll"][r][0])
    log("")
    for kind in SETUPS:
        first, last = samples[kind][0][0], samples[kind][-1][0]
        rfirst, rlast = samples[kind][0][1], samples[kind][-1][1]
        steady = sorted(a for a, _ in samples[kind][1:] or samples[kind])
        med = steady[len(steady) // 2]
        log(f"{kind}: Anonymous after round 1 {first / n:.1f} B/message, after round "
            f"{cfg.sessions} {last / n:.1f} B/message (growth {(last - first) / 1024:+.0f} KiB = "
            f"{(last - first) / n:+.1f} B/message); median of rounds 2-{cfg.sessions} "
            f"{med / n:.1f} B/message; RssAnon {rfirst / n:.1f} -> {rlast / n:.1f} B/message")
    marginal = {}
    for kind in SETUPS:
        (n1, m1), (n2, m2) = growth[kind][0], growth[kind][-1]
        marginal[kind] = (m2 - m1) / (n2 - n1) if n2 > n1 else float("nan")
        log(f"{kind}: per served message as accounts 2-{cfg.accounts} were first served in round "
            f"1 (({m2 / 1024:.0f} - {m1 / 1024:.0f} KiB) / {n2 - n1} messages; the daemon's fixed "
            f"costs, its threads, came with account 1): {marginal[kind]:.1f} B/message")
    last_m = samples["mboxfs"][-1][0] / n
    m = samples["mboxfs"]
    flat = max(a for a, _ in m[1:] or m) - m[0][0]
    # flat: no later round above round 1 by more than the free memory glibc may keep at
    # the top of the heap (the trim threshold fs/malloc_tune.c sets: 128 KiB)
    log(f"issue 12 target < 64 B per served message, flat over rounds: mboxfs "
        f"{marginal['mboxfs']:.1f} B/message per served message, {last_m:.1f} B/message of all "
        f"its anonymous memory after round {cfg.sessions}, {flat / 1024:+.0f} KiB = "
        f"{flat / n:+.1f} B/message from round 1 to the highest later round "
        f"({'met' if marginal['mboxfs'] < 64 and flat < 128 * 1024 else 'MISSED'}: below 64 and "
        f"less than 128 KiB, glibc's trim threshold; "
        f"{'' if last_m < 64 else 'all of it over the messages is not below 64'})")
    same = all(a == b for a, b in zip(digests["mboxfs"], digests["passthrough_ll"]))
    log("check: every round, both setups returned the same BODY.PEEK[] responses (SHA-256)"
        if same else "WARNING: the setups' BODY.PEEK[] responses differ")
    if RETRIES:
        log(f"note: {len(RETRIES)} session(s) run again because imapd failed from outside:")
        for t in RETRIES:
            log(f"   {t}")
    log(f"\n(benchmark part took {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
