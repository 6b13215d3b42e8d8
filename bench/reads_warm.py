#!/usr/bin/env python3
"""The two warm Courier read rows of issue 12 on their own (BENCHMARKS.md, "Reads from
the page cache"): a new imapd + SELECT INBOX, and `cat` of the big message, on mboxfs
mounts of the same state (the binary under test and, when given, the one before) and on
the native maildir, alternately (native, before, after, native, before, after, ...),
every tree mounted once and warmed up first. Prints the medians, the ratios to native
and after / before, each daemon's CPU time per SELECT (less noisy than the wall time on
a shared machine), and how many page-cache folios hold the big message on each side
(the kernel's FUSE page cache uses single pages, ext4's large folios).

Run by bench/reads_warm.sh, which prepares the work dir. Processes: as bench/courier.py
(its Daemon, its gam_server per setup, everything ended by PID or unmounted by us).
"""
import argparse
import collections
import ctypes
import mmap
import os
import statistics
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import courier  # noqa: E402
from courier import Daemon, ensure_gam_server, gam_id, imap, log  # noqa: E402


def folios(path):
    """{pages per folio: count} of the file's page-cache folios, read through a private
    read-only mapping: /proc/self/pagemap gives each page's frame, /proc/kpageflags
    whether it is the head (or a tail) of a compound page."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        m = mmap.mmap(fd, size, access=mmap.ACCESS_COPY)
    finally:
        os.close(fd)
    page = mmap.PAGESIZE
    n = (size + page - 1) // page
    for i in range(n):
        m[i * page]  # fault every page in (the file is in the page cache already)
    ref = ctypes.c_char.from_buffer(m)
    base = ctypes.addressof(ref) // page
    runs = collections.Counter()
    with open("/proc/self/pagemap", "rb") as pm, open("/proc/kpageflags", "rb") as kf:
        pm.seek(base * 8)
        entries = struct.unpack(f"{n}Q", pm.read(n * 8))
        current = 0
        for e in entries:
            kf.seek((e & ((1 << 55) - 1)) * 8)
            if struct.unpack("Q", kf.read(8))[0] & (1 << 16):  # KPF_COMPOUND_TAIL
                current += 1
            else:
                if current:
                    runs[current] += 1
                current = 1
        runs[current] += 1
    del ref
    m.close()
    return runs


class Tree:
    def __init__(self, kind, cfg, binary=None):
        self.kind = kind
        self.gam = gam_id(kind)
        self.daemon = None
        self.select_cpu = 0.0  # the daemon's CPU seconds during the timed SELECTs
        if binary is None:
            self.root = cfg.native0
        else:
            d = os.path.join(cfg.work, "runs", kind)
            os.makedirs(d)
            subprocess.run(["cp", "-a", cfg.state0, os.path.join(d, "state")], check=True)
            os.mkdir(os.path.join(d, "upper"))
            self.root = os.path.join(d, "mnt")
            self.daemon = Daemon([binary, "mount", "--map", cfg.map, "--state",
                                  os.path.join(d, "state"), "--upper", os.path.join(d, "upper"),
                                  "--source-tz", "UTC", "--foreground", self.root],
                                 self.root, os.path.join(d, "daemon.log"))
        self.maildir = os.path.join(self.root, cfg.maildir)
        self.big = os.path.join(self.root, cfg.big)

    def imapd(self):
        ensure_gam_server(self.kind)
        return imap.Imapd(self.maildir, {"GAM_CLIENT_ID": self.gam})

    def cpu(self):
        """The daemon's user + system seconds so far (0 for native)."""
        if not self.daemon:
            return 0.0
        with open(f"/proc/{self.daemon.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def select(self):
        c0 = self.cpu()
        t0 = time.perf_counter()
        s = self.imapd()
        imap.ok(s, "SELECT INBOX")
        t = time.perf_counter() - t0
        s.close()
        self.select_cpu += self.cpu() - c0
        return t

    def cat(self):
        t0 = time.perf_counter()
        subprocess.run(["cat", self.big], check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - t0

    def warm_up(self):
        s = self.imapd()
        imap.ok(s, "SELECT INBOX")
        s.command("UID FETCH 1:* BODY.PEEK[]")
        s.close()
        self.cat()

    def stop(self):
        courier.end_gam_servers(self.gam, os.path.dirname(self.root))
        if self.daemon:
            self.daemon.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for a in ("--work", "--after", "--map", "--state0", "--native0", "--maildir", "--big"):
        p.add_argument(a, required=True)
    p.add_argument("--before")
    p.add_argument("--runs", type=int, default=15)
    cfg = p.parse_args()
    os.makedirs(os.path.join(cfg.work, "runs"))
    trees = {}
    rows = ("new imapd + SELECT INBOX, warm", "`cat` of the big message, warm")
    times = collections.defaultdict(list)
    try:
        trees["native"] = Tree("native", cfg)
        if cfg.before:
            trees["before"] = Tree("before", cfg, cfg.before)
        trees["after"] = Tree("after", cfg, cfg.after)
        for _ in range(2):
            for t in trees.values():
                t.warm_up()
        for run in range(cfg.runs):
            for kind, t in trees.items():
                times[(rows[0], kind)].append(t.select())
                times[(rows[1], kind)].append(t.cat())
        pages = {kind: folios(t.big) for kind, t in trees.items()}
        cpu = {kind: t.select_cpu / cfg.runs for kind, t in trees.items() if t.daemon}
    finally:
        for t in trees.values():
            t.stop()
        for g in courier.GAM_SERVERS.values():
            g.stop()
    kinds = list(trees)
    log("")
    log(f"== medians of {cfg.runs} runs, milliseconds; trees run alternately ({', '.join(kinds)})")
    log("")
    head = " | ".join(kinds) + " | " + " | ".join(f"{k} / native" for k in kinds if k != "native")
    log(f"| row | {head}{' | after / before' if cfg.before else ''} |")
    log("|---" * (2 * len(kinds) + (1 if cfg.before else 0)) + "|")
    for row in rows:
        m = {k: statistics.median(times[(row, k)]) for k in kinds}
        cells = " | ".join(f"{m[k] * 1000:.1f}" for k in kinds)
        cells += " | " + " | ".join(f"{m[k] / m['native']:.2f}x" for k in kinds if k != "native")
        if cfg.before:
            cells += f" | {m['after'] / m['before']:.2f}x"
        log(f"| {row} | {cells} |")
    log("")
    log("every run, milliseconds:")
    for row in rows:
        for k in kinds:
            log(f"   {row} [{k}]: " + " ".join(f"{t * 1000:.1f}" for t in times[(row, k)]))
    log("")
    log("daemon CPU (user + system, /proc/PID/stat) per timed SELECT, milliseconds: " +
        ", ".join(f"{k} {c * 1000:.1f}" for k, c in cpu.items()))
    log("")
    log("page-cache folios of the big message (pages per folio: how many):")
    for k in kinds:
        log(f"   {k}: " + ", ".join(f"{size}: {n}" for size, n in sorted(pages[k].items())))


if __name__ == "__main__":
    main()
