#!/usr/bin/env python3
"""Corpus test: `mboxfs show --json` must equal corpora/expected/*.json.

Every field of every message is compared (uid, flags, recent, size, internaldate,
sha256_lf), and uidvalidity by its rule: equal for "exact"; for "any-stable"
mboxfs prints null without a state directory. Files c-client served through its
"phile" driver (not a Unix mailbox) must be reported as not-mailbox and not served.
Skips (exit 77) when the shared corpora are absent. Last line: "N passed, M failed".
"""
import json
import os
import subprocess
import sys


def main():
    mboxfs, corpora = sys.argv[1], sys.argv[2]
    expected_dir = os.path.join(corpora, "expected")
    if not os.path.isdir(expected_dir):
        print(f"SKIP: no corpora at {corpora}")
        return 77
    passed = failed = 0
    for root, _, files in sorted(os.walk(expected_dir)):
        for name in sorted(files):
            exp_path = os.path.join(root, name)
            rel = os.path.relpath(exp_path, expected_dir)[: -len(".json")]
            mbox = os.path.join(corpora, rel)
            exp = json.load(open(exp_path))
            out = subprocess.run([mboxfs, "show", "--json", "--source-tz", exp["tz"], mbox],
                                 capture_output=True, env=dict(os.environ, TZ=exp["tz"]))
            problems = []
            if out.returncode != 0:
                problems.append(f"exit {out.returncode}: {out.stderr.decode(errors='replace')}")
            else:
                got = json.loads(out.stdout)
                problems = compare(exp, got)
            if problems:
                failed += 1
                print(f"FAIL {rel}")
                for p in problems[:10]:
                    print(f"    {p}")
            else:
                passed += 1
                print(f"ok   {rel} ({len(exp['messages'])} messages)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


def compare(exp, got):
    if exp["driver"] == "phile":
        if got["driver"] != "not-mailbox" or got["messages"]:
            return [f"c-client saw no Unix mailbox; mboxfs says driver {got['driver']}"]
        return []
    problems = []
    for field in ("driver", "uidnext", "keywords", "uidvalidity_rule"):
        if exp[field] != got[field]:
            problems.append(f"{field}: expected {exp[field]!r}, got {got[field]!r}")
    if exp["uidvalidity_rule"] != "any-stable" and exp["uidvalidity"] != got["uidvalidity"]:
        problems.append(f"uidvalidity: expected {exp['uidvalidity']}, got {got['uidvalidity']}")
    if len(exp["messages"]) != len(got["messages"]):
        problems.append(f"messages: expected {len(exp['messages'])}, got {len(got['messages'])}")
    for e, g in zip(exp["messages"], got["messages"]):
        for field in ("uid", "flags", "recent", "size", "internaldate", "sha256_lf"):
            if e[field] != g.get(field):
                problems.append(f"uid {e['uid']}: {field}: expected {e[field]!r}, got {g.get(field)!r}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
