#!/usr/bin/env python3
"""End to end, POP3: Courier's pop3d on the mount prints, for every migrated
INBOX message, the UIDL uw-ipop3d printed ("%08x%08x" of UIDVALIDITY and UID,
reference/uw-imap-mbox.md section 7), so no "leave mail on the server" client
downloads anything twice; after RETR, DELE, QUIT, new deliveries and a remount
the remaining UIDLs are unchanged, and new mail gets pop3d's own UIDLs.

uw-ipop3d did not offer messages flagged \\Deleted in the mbox; Courier's pop3d
lists every file in cur/, T-flagged ones included. mboxfs keeps IMAP exact
(the message stays, with \\Deleted), so pop3d offers it, under its stable
uw-style UIDL: a client may download it once, never twice.

usage: test_pop3.py MBOXFS EXAMPLES_DIR
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, ok, select  # noqa: E402
from pop3 import POP3D, add_sample_accounts, pop3, uw_uidls  # noqa: E402

def main():
    mboxfs, examples = sys.argv[1:3]
    harness.require_environment()
    if not os.path.exists(POP3D):
        print("SKIP: needs courier-pop")
        return harness.SKIP
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        old, map_path, state, mnt = tree.old, tree.map, tree.state, tree.mnt
        add_sample_accounts(old, map_path)
        indexed = harness.index(mboxfs, map_path, state)
        want = {}
        for user, mbox in (("alice", "alice"), ("bob", "bob"), ("carol", "carol")):
            view = harness.show(mboxfs, os.path.join(old, "spool", mbox))
            uidv = indexed[(f"{user}/Maildir", "INBOX")]["uidvalidity"]
            all_uidls = ["%08x%08x" % (uidv, m["uid"]) for m in view["messages"]]
            want[user] = (uw_uidls(view, uidv), all_uidls)

        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            for user, (uw, every) in want.items():
                got = sorted(pop3(os.path.join(mnt, f"{user}/Maildir"), ["UIDL"]).values())
                problems = [] if got == sorted(every) and set(uw) <= set(got) else [
                    f"UIDL {got}, uw-ipop3d {uw}"]
                results.check(f"{user}: pop3d prints uw-ipop3d's UIDLs", problems)
            got = pop3(os.path.join(mnt, "dave/Maildir"), ["UIDL"])
            results.check("pop3=off: pop3d's own UIDLs",
                          [] if got and all(u.startswith("UID") for u in got.values()) else
                          [f"{got}"])

            alice = os.path.join(mnt, "alice/Maildir")
            imap = Imapd(alice)  # a flag change through IMAP first
            select(imap, "INBOX", examine=False)
            ok(imap, "UID STORE 3 +FLAGS (\\Flagged)")
            imap.close()
            before = pop3(alice, ["UIDL"])
            results.check("an IMAP flag change keeps the UIDL",
                          [] if sorted(before.values()) == sorted(want["alice"][1]) else
                          [f"{before}"])
            pop3(alice, ["RETR 1", "DELE 2"])
            with open(os.path.join(alice, "tmp", "1795000000.M1P1.mx"), "w") as f:
                f.write("Subject: new\n\nnew mail\n")
            os.rename(os.path.join(alice, "tmp", "1795000000.M1P1.mx"),
                      os.path.join(alice, "new", "1795000000.M1P1.mx"))
            after = pop3(alice, ["UIDL"])
            kept = [before[1], before[3]]
            problems = []
            if sorted(after.values())[:2] != sorted(kept) or before[2] in after.values():
                problems.append(f"before {before}, after {after}")
            new = [u for u in after.values() if u not in kept]
            if len(new) != 1 or not new[0].startswith("UID"):
                problems.append(f"new mail UIDL {new}")
            results.check("after RETR, DELE, QUIT and a delivery: old UIDLs unchanged", problems)
        finally:
            mount.stop()
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            again = pop3(os.path.join(mnt, "alice/Maildir"), ["UIDL"])
        finally:
            mount.stop()
        results.check("after a remount: the same UIDLs",
                      [] if sorted(again.values()) == sorted(after.values()) else
                      [f"{after} -> {again}"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
