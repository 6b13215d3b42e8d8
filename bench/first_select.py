#!/usr/bin/env python3
"""First SELECT of a mailbox through the mount (issue 12): Courier's imapd on an mboxfs
mount whose state dir has never seen the mailbox ("never indexed": the daemon parses it
and writes its index on first use), on a mount whose state dir holds its index
("indexed"), on the same maildir materialized to a plain directory ("native"), and on
libfuse's passthrough_ll mounted over a copy of that directory (what any FUSE mount
costs: the floor of the first two). Run by bench/first_select.sh, which prepares the
work dir (see there).

Every run mounts a fresh copy of the tree (the never-indexed one an empty state dir),
serves one session of another account first with --warm-maildir (as a mount in
service has: its threads started, the directories above the maildirs known), then
starts imapd and times its SELECT INBOX, from sending it to its tagged OK (and imapd's
start with it, in the second table);
the setups alternate run by run (A B C A B C ...); the report gives medians and
ratios. With --baseline, the two mboxfs rows are also run with that binary (the
before of a change, in the same run). Processes, gam_server and unmounting as in bench/courier.py (its classes are
used): only what this script started is ended, by PID.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import courier  # noqa: E402
import fuse_trace  # noqa: E402

VARIANTS = ("never indexed", "indexed", "native", "passthrough_ll")
BASE_VARIANTS = ("never indexed (baseline)", "indexed (baseline)")


def run_dir(cfg, what, variant):
    return os.path.join(cfg.work, "runs", f"{what}-{variant.replace(' ', '-').strip('()')}")


def one_run(cfg, variant, directory, trace=False):
    kind = variant if variant in ("native", "passthrough_ll") else "mboxfs"
    c = argparse.Namespace(**vars(cfg))
    if variant.startswith("never indexed"):
        c.state0 = cfg.empty_state
    if variant.endswith("(baseline)"):
        c.mboxfs = cfg.baseline
    setup = courier.Setup(kind, c, directory)
    setup.start()
    try:
        if cfg.warm_maildir:
            other = courier.imap.Imapd(os.path.join(setup.root, cfg.warm_maildir),
                                       {"GAM_CLIENT_ID": setup.gam_id})
            courier.timed(other, "SELECT INBOX")
            other.close()
        if cfg.drop_caches:  # the kernel's caches of every tree and of the sources
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        t0 = time.perf_counter()
        session = setup.imapd()
        if trace:
            with fuse_trace.FuseTrace() as tr:
                t, resp = courier.timed(session, "SELECT INBOX")
            print(f"\n== {variant}: the FUSE requests of SELECT INBOX ({t * 1000:.2f} ms), "
                  f"kernel tracepoints\n{tr.report()}")
        else:
            t, resp = courier.timed(session, "SELECT INBOX")
        total = time.perf_counter() - t0
        session.close()
    finally:
        setup.stop()
    exists = [p for parts in resp for p in parts if p.endswith(b" EXISTS\r\n")]
    return t, total, exists


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", required=True)
    p.add_argument("--mboxfs", required=True)
    p.add_argument("--map", required=True)
    p.add_argument("--state0", required=True, help="state dir after mboxfs index (copied per run)")
    p.add_argument("--empty-state", required=True, help="an empty state dir (copied per run)")
    p.add_argument("--native0", required=True, help="materialize --offline output (copied)")
    p.add_argument("--maildir", required=True, help="the maildir below a mail root")
    p.add_argument("--msgs", type=int, required=True)
    p.add_argument("--bytes", type=int, required=True)
    p.add_argument("--runs", type=int, default=9)
    p.add_argument("--passthrough", required=True, help="libfuse's passthrough_ll, built")
    p.add_argument("--baseline", help="another mboxfs binary, timed in turn with this one")
    p.add_argument("--warm-maildir", help="another account's maildir, served first (untimed)")
    p.add_argument("--drop-caches", action="store_true",
                   help="drop the kernel's caches (root) before each timed imapd starts")
    p.add_argument("--trace", action="store_true",
                   help="then one more run of each mboxfs setup, its requests traced")
    cfg = p.parse_args()
    variants = VARIANTS + (BASE_VARIANTS if cfg.baseline else ())
    cfg.work = os.path.realpath(cfg.work)
    times = {v: [] for v in variants}
    totals = {v: [] for v in variants}
    try:
        courier.ensure_gam_server("mboxfs")
        courier.ensure_gam_server("native")
        for run in range(cfg.runs):
            for v in variants:
                t, total, exists = one_run(cfg, v, run_dir(cfg, run, v))
                if exists != [f"* {cfg.msgs} EXISTS\r\n".encode()]:
                    raise RuntimeError(f"{v}: SELECT said {exists}, expected {cfg.msgs} EXISTS")
                times[v].append(t)
                totals[v].append(total)
                courier.log(f"   run {run + 1} [{v}]: SELECT {t * 1000:.2f} ms, "
                            f"imapd start + SELECT {total * 1000:.2f} ms")
        if cfg.trace and not fuse_trace.available():
            print(f"(no trace: {fuse_trace.TRACEFS}/events/fuse is missing: Linux 6.13 or later)")
        elif cfg.trace:
            for v in variants:
                if v != "native":  # passthrough_ll too: the floor of a FUSE mount
                    one_run(cfg, v, run_dir(cfg, "trace", v), trace=True)
    finally:
        for g in courier.GAM_SERVERS.values():
            g.stop()
    report(cfg, variants, times, "SELECT INBOX alone (from sending it to its OK)")
    report(cfg, variants, totals, "imapd start + SELECT INBOX (the daemon's first look at the "
           "mailbox may come before SELECT)")


def report(cfg, variants, times, what):
    med = {v: statistics.median(times[v]) for v in variants}
    parse = cfg.bytes / 1e9
    target = 2 * med["native"] + parse
    print()
    print(f"== {what}: {cfg.msgs} messages, {cfg.bytes} bytes; median of {cfg.runs} runs")
    print(f"| {'setup':<24} | {'median ms':>9} | {'min ms':>7} | {'/ native':>8} |")
    print(f"|{'-' * 26}|{'-' * 11}|{'-' * 9}|{'-' * 10}|")
    for v in variants:
        print(f"| {v:<24} | {med[v] * 1000:9.2f} | {min(times[v]) * 1000:7.2f} | "
              f"{med[v] / med['native']:7.1f}x |")
    print(f"never indexed / indexed: {med['never indexed'] / med['indexed']:.2f}x; "
          f"never indexed / passthrough_ll: {med['never indexed'] / med['passthrough_ll']:.2f}x")
    if cfg.baseline:
        print(f"baseline: never indexed / indexed: "
              f"{med['never indexed (baseline)'] / med['indexed (baseline)']:.2f}x; "
              f"never indexed, this / baseline: "
              f"{med['never indexed'] / med['never indexed (baseline)']:.2f}x")
    print(f"target: never indexed <= 2 x native + parse at 1 GB/s = {target * 1000:.2f} ms: "
          f"{'met' if med['never indexed'] <= target else 'MISSED'} "
          f"({med['never indexed'] * 1000:.2f} ms)")

if __name__ == "__main__":
    main()
