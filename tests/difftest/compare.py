#!/usr/bin/env python3
"""Compare the c-client oracle's JSON for one mbox with another view of the same file.

    compare.py [--expected] [--oracle-bytes DIR] ORACLE.json OTHER.json

OTHER is `mboxfs show --json` output (default), another cclient_dump run (no
"uidvalidity_rule" field), or, with --expected, a corpora/expected/*.json file.
Prints one line per difference (top-level fields, then every differing field of the
first differing message) and exits 0 if the two agree, 1 if not, 2 on bad input.
With --oracle-bytes DIR (a `cclient_dump --bytes` directory), a sha256_lf mismatch also
shows the start of the message c-client served.

Rules (see DESIGN.md "UIDs" and tests/difftest/run_difftest.sh):
* oracle driver "unix": OTHER must say "unix"; uidnext, keywords and every message field
  (uid, flags, keywords, recent, size, internaldate, sha256_lf) must be equal.
* UIDVALIDITY: c-client uses the current time when the file has no usable metadata. Rule
  "exact": both values equal. "any-stable": OTHER prints null and c-client must have used
  the current time. "metadata": OTHER keeps the header value, c-client must have used the
  current time; the values are not compared. Without a rule (oracle vs oracle) values are
  compared unless both are current times.
* oracle driver "dummy" (empty file): OTHER "unix" or "dummy", both with no messages.
* any other oracle driver ("phile": not a Unix mailbox): OTHER must say "not-mailbox" and
  serve no messages.
* --expected: compare with the corpus file: everything except uidvalidity when its rule is
  not "exact", and for "phile" messages internaldate, size and sha256_lf: phile serves the
  file under a header it makes up from the file's mtime, owner, host name and absolute path
  (differences are printed as "note:" lines). The same for phile when OTHER is an oracle.
"""
import json
import os
import sys
import time

MESSAGE_FIELDS = ("uid", "flags", "keywords", "recent", "size", "internaldate", "sha256_lf")
# c-client took "now" as UIDVALIDITY if its value is within this many seconds of the
# comparison. Generated files only carry values far from the present.
FRESH_SECONDS = 2 * 86400


def fresh(v):
    return isinstance(v, int) and abs(v - time.time()) <= FRESH_SECONDS


def show(v, limit=120):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + "..."


def compare_uidvalidity(o, g, expected_mode):
    rule = g.get("uidvalidity_rule")
    ov, gv = o["uidvalidity"], g.get("uidvalidity")
    if expected_mode:
        if rule == "exact" and ov != gv:
            return [f"uidvalidity: oracle {ov}, expected {gv} (rule exact)"]
        return []
    if rule == "exact":
        if ov != gv:
            why = " (c-client discarded the metadata)" if fresh(ov) else ""
            return [f"uidvalidity: oracle {ov}, other {gv} (rule exact){why}"]
    elif rule in ("any-stable", "metadata"):
        problems = []
        if not fresh(ov):
            problems.append(f"uidvalidity: c-client kept {ov} from the file, other says rule "
                            f"{rule} ({gv})")
        if rule == "any-stable" and gv is not None:
            problems.append(f"uidvalidity: rule any-stable but other prints {gv}, not null")
        if rule == "metadata" and not isinstance(gv, int):
            problems.append(f"uidvalidity: rule metadata but other prints {show(gv)}")
        return problems
    elif rule is None:
        if not (fresh(ov) and fresh(gv)) and ov != gv:
            return [f"uidvalidity: oracle {ov}, other {gv}"]
    else:
        return [f"uidvalidity_rule: unknown value {show(rule)}"]
    return []


def message_head(bytes_dir, uid, lines=12):
    path = os.path.join(bytes_dir, str(uid))
    try:
        data = open(path, "rb").read()
    except OSError as e:
        return [f"    (no oracle bytes: {e})"]
    out = [f"    c-client served ({len(data)} bytes LF form, {path}):"]
    for line in data.split(b"\n")[:lines]:
        out.append("      | " + repr(line)[2:-1])
    return out


def compare(o, g, expected_mode=False, bytes_dir=None, notes=None):
    """List of human-readable differences between oracle o and other g. Remarks that are
    not differences are appended to notes (a list) if given."""
    notes = [] if notes is None else notes
    other = "expected" if expected_mode else "other"
    od, gd = o.get("driver"), g.get("driver")
    omsgs, gmsgs = o.get("messages", []), g.get("messages", [])
    # Oracle against oracle (no rule field): every driver is compared like "unix".
    self_test = not expected_mode and "uidvalidity_rule" not in g
    if not expected_mode and not self_test and od == "dummy":
        if gd not in ("unix", "dummy") or omsgs or gmsgs:
            return [f"empty file: oracle driver dummy with {len(omsgs)} messages, "
                    f"{other} driver {gd} with {len(gmsgs)}"]
        return []
    if not expected_mode and not self_test and od != "unix":
        if gd != "not-mailbox" or gmsgs:
            return [f"c-client opened it with driver {od} (not a Unix mailbox); {other} says "
                    f"driver {gd} with {len(gmsgs)} messages"]
        return []

    problems = []
    if od != gd:
        problems.append(f"driver: oracle {od}, {other} {gd}")
    for field in ("mbox", "tz", "uidnext", "keywords") if expected_mode else ("uidnext", "keywords"):
        if o.get(field) != g.get(field):
            problems.append(f"{field}: oracle {show(o.get(field))}, {other} {show(g.get(field))}")
    problems += compare_uidvalidity(o, g, expected_mode)
    if len(omsgs) != len(gmsgs):
        problems.append(f"messages: oracle {len(omsgs)}, {other} {len(gmsgs)}")
    ndiff = 0
    for k, (om, gm) in enumerate(zip(omsgs, gmsgs), 1):
        fields = [f for f in MESSAGE_FIELDS if not expected_mode or f in gm]
        if (expected_mode or self_test) and od == "phile":
            # phile serves the file under a made-up header: Date: = the file's mtime,
            # From: = owner@host, Subject: = absolute path (cclient_dump's temporary copy).
            for f in ("size", "sha256_lf"):
                if om.get(f) != gm.get(f):
                    notes.append(f"note: phile message #{k}: {f} differs (header made from "
                                 f"owner, host name and path): oracle {show(om.get(f))}, "
                                 f"{other} {show(gm.get(f))}")
            fields = [f for f in fields if f not in ("internaldate", "size", "sha256_lf")]
        bad = [f for f in fields if om.get(f) != gm.get(f)]
        if not bad:
            continue
        ndiff += 1
        if ndiff > 1:
            continue
        problems.append(f"message #{k} (oracle uid {om.get('uid')}) differs in "
                        f"{', '.join(bad)}:")
        for f in bad:
            problems.append(f"    {f}: oracle {show(om.get(f))}, {other} {show(gm.get(f))}")
        if "sha256_lf" in bad and bytes_dir:
            problems += message_head(bytes_dir, om.get("uid"))
    if ndiff > 1:
        problems.append(f"({ndiff} messages differ in all)")
    return problems


def main(argv):
    expected_mode, bytes_dir, files = False, None, []
    args = iter(argv)
    for a in args:
        if a == "--expected":
            expected_mode = True
        elif a == "--oracle-bytes":
            bytes_dir = next(args, None)
        else:
            files.append(a)
    if len(files) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        o, g = (json.load(open(f, "rb")) for f in files)
    except (OSError, ValueError) as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    notes = []
    problems = compare(o, g, expected_mode, bytes_dir, notes)
    for p in notes + problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
