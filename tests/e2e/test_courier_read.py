#!/usr/bin/env python3
"""End to end, read side: real Courier imapd on a real mboxfs mount serves the
old mboxes exactly as uw-imapd did.

Old-server tree: the bundled example (two users, folders, pseudo message, flags,
keywords, subscriptions), mboxes generated full of edge cases
(tests/difftest/gen_mbox.py, compared with `mboxfs show`), plus every file of ../shared/corpora as the INBOX of an
account of its own (read in place, read-only). Per folder, through Courier:
UIDVALIDITY (as `mboxfs index` recorded it: the header value for exact and
metadata mailboxes), every UID, FLAGS with keywords, RFC822.SIZE, INTERNALDATE
(as an instant) and BODY[] (SHA-256 after CRLF -> LF) equal corpora/expected
(c-client's view) or, for the example, `mboxfs show --json`; STATUS; LIST and
LSUB; the sources are byte-identical afterwards and the daemon exits cleanly.

usage: test_courier_read.py MBOXFS EXAMPLES_DIR CORPORA_DIR
"""
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, fetch_all, list_folders, select  # noqa: E402


def instant(date):
    return datetime.datetime.strptime(date.strip(), "%d-%b-%Y %H:%M:%S %z").timestamp()


def imap_folder_name(uw_name):
    """What Courier lists for a UW folder (names here are plain mUTF-7)."""
    return "INBOX" if uw_name == "INBOX" else "INBOX." + uw_name.replace("/", ".")


def compare_folder(imap, folder, expected, uidvalidity):
    problems = []
    got_uidv = select(imap, folder)
    if got_uidv != uidvalidity:
        problems.append(f"UIDVALIDITY {got_uidv}, expected {uidvalidity}")
    served = fetch_all(imap)
    want = {m["uid"]: m for m in expected["messages"]}
    if sorted(served) != sorted(want):
        problems.append(f"UIDs {sorted(served)[:20]}, expected {sorted(want)[:20]}")
    for uid, m in want.items():
        s = served.get(uid)
        if not s:
            continue
        flags = sorted(f for f in s["flags"] if f != "\\Recent")
        if flags != sorted(m["flags"] + m.get("keywords", [])):
            problems.append(f"UID {uid}: FLAGS {flags}, expected {m['flags'] + m.get('keywords', [])}")
        if s["size"] != m["size"]:
            problems.append(f"UID {uid}: RFC822.SIZE {s['size']}, expected {m['size']}")
        if instant(s["internaldate"]) != instant(m["internaldate"]):
            problems.append(f"UID {uid}: INTERNALDATE {s['internaldate']}, expected {m['internaldate']}")
        digest = hashlib.sha256(s["body"].replace(b"\r\n", b"\n")).hexdigest()
        if digest != m["sha256_lf"]:
            problems.append(f"UID {uid}: BODY[] differs (sha256 {digest[:12]}...)")
    status, resp = imap.command(f'STATUS "{folder}" (MESSAGES UIDNEXT UIDVALIDITY)')
    text = b"".join(resp[0]).decode() if resp else status
    # Courier announces its own next UID: c-client's plus the margin kept for
    # the old server's late mail (index/courier_files.h)
    uidnext = expected["uidnext"] + harness.late_uid_margin()
    want_status = f"MESSAGES {len(want)} UIDNEXT {uidnext} UIDVALIDITY {uidvalidity}"
    if want_status not in text:
        problems.append(f"STATUS {text.strip()}, expected {want_status}")
    return problems


def main():
    mboxfs, examples, corpora = sys.argv[1:4]
    harness.require_environment()
    work = harness.workdir()
    results = harness.Results()
    try:
        tree = harness.Tree(work, examples)
        old, map_path, state, mnt = tree.old, tree.map, tree.state, tree.mnt
        expected = {}  # (maildir, uw folder) -> expected served view
        for maildir, mboxes in (("alice/Maildir", {"INBOX": "spool/alice",
                                                   "sent-mail": "home/alice/mail/sent-mail",
                                                   "R&AOk-sum&AOk-": "home/alice/mail/R&AOk-sum&AOk-"}),
                                ("bob/Maildir", {"INBOX": "spool/bob",
                                                 "Archive/2019": "home/bob/Archive/2019"})):
            for folder, rel in mboxes.items():
                expected[(maildir, folder)] = harness.show(mboxfs, os.path.join(old, rel))
        gen = os.path.join(os.path.dirname(__file__), "..", "difftest", "gen_mbox.py")
        with open(map_path, "a") as m:
            for seed in range(1, 9):  # generated mboxes full of edge cases
                mbox = os.path.join(old, f"generated-{seed}")
                subprocess.run([sys.executable, gen, "--seed", str(seed), "--out", mbox], check=True)
                exp = harness.show(mboxfs, mbox)
                if exp["driver"] == "unix":
                    maildir = f"generated/{seed}/Maildir"
                    m.write(f"{maildir} inbox={mbox}\n")
                    expected[(maildir, "INBOX")] = exp
            exp_dir = os.path.join(corpora, "expected")
            for n, (dirpath, _, files) in enumerate(sorted(os.walk(exp_dir))):
                for name in sorted(files):
                    exp = json.load(open(os.path.join(dirpath, name)))
                    if exp["driver"] != "unix":
                        continue  # not a mailbox for uw-imapd: not served
                    rel = os.path.relpath(os.path.join(dirpath, name), exp_dir)[:-5]
                    maildir = "corpus/" + rel.replace("/", "_") + "/Maildir"
                    m.write(f"{maildir} inbox={os.path.abspath(os.path.join(corpora, rel))}\n")
                    expected[(maildir, "INBOX")] = exp
        sources = [old] + ([corpora] if os.path.isdir(corpora) else [])
        before = [harness.tree_checksum(s) for s in sources]

        indexed = harness.index(mboxfs, map_path, state)
        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            for (maildir, folder), exp in sorted(expected.items()):
                imap = Imapd(os.path.join(mnt, maildir))
                try:
                    problems = compare_folder(imap, imap_folder_name(folder), exp,
                                              indexed[(maildir, folder)]["uidvalidity"])
                finally:
                    imap.close()
                results.check(f"{maildir} {folder}: {len(exp['messages'])} messages", problems)

            imap = Imapd(os.path.join(mnt, "alice/Maildir"))
            got_list, got_lsub = list_folders(imap), list_folders(imap, "LSUB")
            imap.close()
            want = {"INBOX", "INBOX.sent-mail", "INBOX.R&AOk-sum&AOk-"}
            results.check("LIST shows every folder", [] if got_list == want else [f"{got_list}"])
            # .mailboxlist has mail/sent-mail and mail/R&AOk-sum&AOk-, below folders=home/alice/mail
            want_lsub = {"INBOX", "INBOX.sent-mail", "INBOX.R&AOk-sum&AOk-"}
            results.check("LSUB shows the UW subscriptions",
                          [] if got_lsub == want_lsub else [f"{got_lsub}"])
        finally:
            status = mount.stop()
        results.check("daemon exits 0 on unmount", [] if status == 0 else [f"exit {status}"])
        after = [harness.tree_checksum(s) for s in sources]
        results.check("source mboxes byte-identical", [] if before == after else ["changed"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
