"""The FUSE requests of one stretch of work, from the kernel's own tracepoints
(fuse:fuse_request_send and fuse:fuse_request_end, Linux 6.13 and later): a
profile that needs no strace of the daemon (which would slow every request
down) and sees the time the kernel spends between requests too. Used by
bench/first_select.py (TRACE=1).

    with FuseTrace() as trace:
        ...                   # the work
    print(trace.report())

Tracing is system-wide: the report holds every FUSE request of the machine in
that stretch, so run it with no other FUSE mount busy. Needs root and tracefs.
"""
import collections
import os
import re

TRACEFS = "/sys/kernel/tracing"
LINE = re.compile(r" (\d+\.\d+): fuse_request_(send|end): connection \d+ req (\d+)"
                  r"(?: opcode \d+ \(FUSE_(\w+)\))?")


def available():
    return os.path.isdir(os.path.join(TRACEFS, "events/fuse"))


def _write(name, text):
    with open(os.path.join(TRACEFS, name), "w") as f:
        f.write(text)


class FuseTrace:
    def __enter__(self):
        _write("trace", "")
        _write("events/fuse/enable", "1")
        _write("tracing_on", "1")
        return self

    def __exit__(self, *exc):
        _write("tracing_on", "0")
        _write("events/fuse/enable", "0")
        with open(os.path.join(TRACEFS, "trace")) as f:
            self.requests = parse(f)
        _write("trace", "")
        return False

    def report(self, gaps=5):
        """Per opcode: count and summed time from send to end; the span from the
        first send to the last end; the largest gaps between one request's end
        and the next one's send (time in the caller or the kernel)."""
        r = self.requests
        if not r:
            return "no FUSE requests"
        span = r[-1][0] + r[-1][2] - r[0][0]
        out = [f"{len(r)} requests in {span * 1e3:.2f} ms, "
               f"{sum(x[2] for x in r) * 1e3:.2f} ms of it from send to end"]
        count, spent = collections.Counter(), collections.defaultdict(float)
        for _, op, d in r:
            count[op] += 1
            spent[op] += d
        out += [f"  {op:<12} {n:5}  {spent[op] * 1e3:7.2f} ms" for op, n in count.most_common()]
        between = sorted(((r[i + 1][0] - (r[i][0] + r[i][2]), r[i][1], r[i + 1][1])
                          for i in range(len(r) - 1)), reverse=True)[:gaps]
        out += [f"  gap {g * 1e3:6.2f} ms after {a}, before {b}" for g, a, b in between]
        return "\n".join(out)


def parse(lines):
    """[(send time, opcode, seconds to end)] in order of sending."""
    sent, done = {}, []
    for line in lines:
        m = LINE.search(line)
        if not m:
            continue
        t, kind, unique, op = float(m.group(1)), m.group(2), m.group(3), m.group(4)
        if kind == "send":
            sent[unique] = (t, op)
        elif unique in sent:
            t0, op = sent.pop(unique)
            done.append((t0, op, t - t0))
    return sorted(done)
