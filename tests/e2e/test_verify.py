#!/usr/bin/env python3
"""End to end, `mboxfs verify` (DESIGN.md, cutover step 4): on a mount where
the real Courier imapd changed flags, expunged and appended, and pop3d
rewrote its size list, verify passes before and after `mboxfs materialize`,
on the mount, and on the plain tree once unmounted; it takes no lock and
writes nothing (two runs at the same time next to the mount, which keeps
serving Courier; the state directory and the tree stay byte-identical). Then
faults are planted one at a time in copies of the plain tree, and verify
names each with its file and exits 1: a changed byte (with the offset), a
missing message, a changed UIDVALIDITY in courierimapuiddb, a wrong flag
letter in a name, an extra file whose name claims an old UID, a UID database
line giving an old UID to another file, a wrong mtime, a keyword dropped
from :list, an entry dropped from courierpop3dsizelist. A flag Courier
changes after materialize is reported, and --allow-changes accepts it.

usage: test_verify.py MBOXFS EXAMPLES_DIR
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from imap import Imapd, append, ok, select  # noqa: E402
from pop3 import POP3D, pop3  # noqa: E402

APPENDED = b"From: alice@example.net\r\nSubject: appended\r\n\r\nA draft.\r\n"


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


class Verify:
    def __init__(self, mboxfs, map_path, state):
        self.cmd = [mboxfs, "verify", "--map", map_path, "--state", state, "--source-tz", "UTC"]

    def __call__(self, root, *options):
        return run(self.cmd + list(options) + [root])

    def start(self, root):
        return subprocess.Popen(self.cmd + [root], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def passes(out):
    """[] if verify exited 0 with no difference and a summary saying so."""
    if out.returncode == 0 and out.stdout.strip().endswith(": 0 differences"):
        return []
    return [f"exit {out.returncode}: {out.stdout[-2000:]}{out.stderr[-1000:]}"]


def differences(out):
    """The "FILE: problem" lines of a run, without the summary."""
    return [line for line in out.stdout.splitlines()[:-1]]


def names_one(out, path, *phrases):
    """[] if verify exited 1 with exactly one difference, about path, saying
    each phrase."""
    lines = differences(out)
    if (out.returncode == 1 and len(lines) == 1 and lines[0].startswith(path + ": ") and
            all(p in lines[0] for p in phrases)):
        return []
    return [f"exit {out.returncode}, wanted one line about {path} with {phrases}: "
            f"{lines} {out.stderr[-500:]}"]


def courier_works(mnt):
    """Flag changes, an expunge, an APPEND by the real imapd; a UIDL session
    of pop3d (which rewrites courierpop3dsizelist)."""
    alice = Imapd(os.path.join(mnt, "alice/Maildir"))
    select(alice, "INBOX", examine=False)
    ok(alice, "UID STORE 3 +FLAGS (\\Flagged)")
    ok(alice, "UID STORE 5 -FLAGS (\\Flagged)")
    status = append(alice, "INBOX", "\\Seen", APPENDED)
    if " OK" not in status:
        raise RuntimeError(f"APPEND: {status}")
    select(alice, "INBOX.sent-mail", examine=False)
    ok(alice, "UID STORE 2 +FLAGS (\\Answered)")
    alice.close()
    bob = Imapd(os.path.join(mnt, "bob/Maildir"))
    select(bob, "INBOX", examine=False)
    ok(bob, "STORE 1 +FLAGS (\\Deleted)")
    ok(bob, "EXPUNGE")
    bob.close()
    pop3(os.path.join(mnt, "alice/Maildir"), ["UIDL"])


def still_serves(mnt):
    """[] if Courier still reads and changes the mount."""
    try:
        imap = Imapd(os.path.join(mnt, "alice/Maildir"))
        select(imap, "INBOX", examine=False)
        ok(imap, "UID FETCH 1:* (FLAGS BODY.PEEK[])")
        ok(imap, "UID STORE 5 +FLAGS (\\Flagged)")  # and back: the tree stays as it was
        ok(imap, "UID STORE 5 -FLAGS (\\Flagged)")
        imap.close()
    except RuntimeError as e:
        return [str(e)]
    return []


def compacted_after_materialize(mboxfs, map_path, state, plain, work):
    """A copy of the tree and the state whose folder journals (with their
    "k" records) are made long with records no message has, so that the next
    load compacts them: a mount over them loads every folder (a verify
    through it), then verify checks the plain copy. Returns problems."""
    state2, root = os.path.join(work, "state-compact"), os.path.join(work, "compact")
    shutil.copytree(state, state2)
    shutil.copytree(plain, root, symlinks=True)
    journals = [os.path.join(state2, n) for n in os.listdir(state2) if n.endswith(".wh")]
    for path in journals:
        with open(path, "a") as f:
            f.write("x 0\n" * 9000)  # ignored by replay, counted for the bound
    verify = Verify(mboxfs, map_path, state2)
    mount = harness.Mount(mboxfs, map_path, state2, root)
    try:
        problems = passes(verify(root))
    finally:
        mount.stop()
    for path in journals:
        with open(path) as f:
            if f.read().count("\n") > 8192:
                problems.append(f"{path}: not compacted")
    return problems + passes(verify(root))


def message_files(root, folder_dir):
    cur = os.path.join(root, folder_dir, "cur")
    return sorted(os.path.join(cur, n) for n in os.listdir(cur) if not n.startswith("."))


def old_message(root, folder_dir, mboxfs_names=True):
    """A message file of the old mbox (mboxfs's name) in a folder."""
    pattern = r"\.M\d+V\d+X[0-9a-f]{16}\.mboxfs," if mboxfs_names else r"^[0-9a-f]{16}:"
    return next(p for p in message_files(root, folder_dir)
                if re.search(pattern, os.path.basename(p)))


def plant(base, work, name, fault):
    """A copy of the tree base with one fault; returns (root, what fault said)."""
    root = os.path.join(work, "fault-" + name)
    shutil.copytree(base, root, symlinks=True)  # copy2: mtimes kept
    return root, fault(root)


def change_byte(root):
    path = old_message(root, "alice/Maildir/.sent-mail")
    st = os.stat(path)
    with open(path, "r+b") as f:
        f.seek(20)
        b = f.read(1)
        f.seek(20)
        f.write(bytes([b[0] ^ 0x20]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # only the byte differs
    return path, ("offset 20",)


def remove_message(root):
    path = old_message(root, "bob/Maildir/.Archive.2019")
    os.unlink(path)
    return path, ("missing",)


def change_uidvalidity(root):
    path = os.path.join(root, "alice/Maildir/.sent-mail/courierimapuiddb")
    with open(path) as f:
        lines = f.read().split("\n")
    version, uidv, nextuid = lines[0].split()
    lines[0] = f"{version} {int(uidv) + 1} {nextuid}"
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path, ("UIDVALIDITY", str(int(uidv) + 1), uidv)


def wrong_flag(root):
    path = old_message(root, "alice/Maildir/.sent-mail")
    key, info = path.rsplit(":", 1)
    flags = sorted(set(info[2:]) ^ {"D"}, key="DFRST".index)
    new = f"{key}:2,{''.join(flags)}"
    os.rename(path, new)
    return new, ("flags",)


def extra_claiming_name(root):
    """A copy of an old message under a name with its UID and another hash."""
    path = old_message(root, "alice/Maildir/.sent-mail")
    name = os.path.basename(path)
    m = re.search(r"\.M(\d+)V\d+X([0-9a-f]{16})", name)
    new = path.replace("X" + m.group(2), "X" + "0" * 16)
    shutil.copy2(path, new)
    return new, ("claims old UID " + m.group(1),)


def extra_claiming_uiddb(root):
    """A new file in cur/, and a database line giving it an old UID."""
    folder = os.path.join(root, "alice/Maildir/.sent-mail")
    path = old_message(root, "alice/Maildir/.sent-mail")
    uid = re.search(r"\.M(\d+)V", path).group(1)
    new = os.path.join(folder, "cur", "1795000000.M1P1.mx,S=5:2,")
    with open(new, "w") as f:
        f.write("new\n")
    with open(os.path.join(folder, "courierimapuiddb"), "a") as f:
        f.write(f"{uid} 1795000000.M1P1.mx,S=5\n")
    return os.path.join(folder, "courierimapuiddb"), (f"UID {uid} given to 1795000000.M1P1.mx",)


def wrong_mtime(root):
    path = old_message(root, "alice/Maildir/.Résumé")
    st = os.stat(path)
    os.utime(path, (st.st_atime, st.st_mtime + 3600))
    return path, ("mtime",)


def drop_keyword(root):
    """The first keyword off the message of :list with the most of them."""
    path = os.path.join(root, "alice/Maildir/courierimapkeywords/:list")
    with open(path) as f:
        names, entries = f.read().split("\n\n", 1)
    lines = entries.splitlines()
    i = max(range(len(lines)), key=lambda k: len(lines[k].rsplit(":", 1)[1].split()))
    key, indexes = lines[i].rsplit(":", 1)
    if len(indexes.split()) > 1:
        lines[i] = f"{key}:{' '.join(indexes.split()[1:])}"
    else:
        del lines[i]
    with open(path, "w") as f:
        f.write(names + "\n\n" + "".join(line + "\n" for line in lines))
    return path, ("keywords of " + key,)


def drop_pop3_entry(root):
    path = os.path.join(root, "alice/Maildir/courierpop3dsizelist")
    with open(path) as f:
        lines = f.read().splitlines()
    i = next(k for k, line in enumerate(lines[1:], 1) if line.split()[2].startswith("0:"))
    key = lines[i].split()[0].rsplit(":", 1)[0]
    del lines[i]
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    return path, (key, "not listed")


FAULTS = [
    ("a changed byte in a message, with its offset", "byte", change_byte),
    ("a missing message", "missing", remove_message),
    ("a changed UIDVALIDITY in courierimapuiddb", "uidvalidity", change_uidvalidity),
    ("a wrong flag letter in a name", "flag", wrong_flag),
    ("an extra file whose name claims an old UID", "claim-name", extra_claiming_name),
    ("a UID database line that gives an old UID to another file", "claim-uiddb",
     extra_claiming_uiddb),
    ("a wrong mtime", "mtime", wrong_mtime),
    ("a keyword dropped from :list", "keyword", drop_keyword),
    ("an entry dropped from courierpop3dsizelist", "pop3", drop_pop3_entry),
]


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
        harness.index(mboxfs, map_path, state)
        sources = harness.tree_checksum(old)
        verify = Verify(mboxfs, map_path, state)

        mount = harness.Mount(mboxfs, map_path, state, mnt)
        try:
            courier_works(mnt)
            results.check("verify passes on the mount after Courier's changes, before "
                          "materialize", passes(verify(mnt)))
            done = run([mboxfs, "materialize", "--map", map_path, mnt])
            results.check("materialize on the mount", [] if done.returncode == 0 else
                          [done.stdout + done.stderr])
            pop3(os.path.join(mnt, "alice/Maildir"), ["UIDL"])
            state_before = harness.tree_checksum(state)
            tree_before = harness.tree_checksum(mnt)
            results.check("verify passes on the mount after materialize", passes(verify(mnt)))
            both = [verify.start(mnt), verify.start(mnt)]
            outs = [p.communicate(timeout=600) for p in both]
            results.check("two verify runs at once next to the mount both pass",
                          [f"exit {p.returncode}: {o}" for p, o in zip(both, outs)
                           if p.returncode != 0 or not o[0].strip().endswith(": 0 differences")])
            results.check("verify wrote nothing: the state directory and the mail root are "
                          "byte-identical",
                          [] if (harness.tree_checksum(state), harness.tree_checksum(mnt)) ==
                          (state_before, tree_before) else ["changed"])
            results.check("the mount still serves Courier after verify", still_serves(mnt))
            st = run([mboxfs, "status", "--map", map_path, mnt])
            results.check("status: nothing virtual left", [] if st.returncode == 0 else
                          [st.stdout + st.stderr])
        finally:
            mount.stop()

        results.check("verify passes on the plain tree after unmounting", passes(verify(mnt)))
        plain = os.path.join(work, "plain")
        shutil.copytree(mnt, plain, symlinks=True)
        results.check("journals compacted after materialize: real messages keep their flags",
                      compacted_after_materialize(mboxfs, map_path, state, plain, work))
        # a state directory nobody ever locked: verify makes no lock, no reserve
        fresh = os.path.join(work, "state-fresh")
        shutil.copytree(state, fresh)
        for name in ("lock", "reserve"):
            os.unlink(os.path.join(fresh, name))
        fresh_sum = harness.tree_checksum(fresh)
        out = run(Verify(mboxfs, map_path, fresh).cmd + [plain])
        results.check("verify makes no lock and no reserve, changes no state file",
                      passes(out) + [f for f in ("lock", "reserve")
                                     if os.path.exists(os.path.join(fresh, f))] +
                      ([] if harness.tree_checksum(fresh) == fresh_sum else ["state changed"]))

        for what, name, fault in FAULTS:
            root, (path, phrases) = plant(plain, work, name, fault)
            results.check(f"verify names {what}", names_one(verify(root), path, *phrases))

        root, (path, _) = plant(plain, work, "json", change_uidvalidity)
        out = verify(root, "--json")
        try:
            found = json.loads(out.stdout)
        except ValueError:
            found = None
        results.check("--json: one object with account, folder, file and problem",
                      [] if out.returncode == 1 and found and len(found) == 1 and
                      found[0]["account"] == "alice/Maildir" and
                      found[0]["folder"] == "INBOX.sent-mail" and found[0]["file"] == path and
                      "UIDVALIDITY" in found[0]["problem"] else [f"{out.returncode}: {out.stdout}"])
        results.check("--account leaves out the accounts that do not match",
                      passes(verify(root, "--account", "bob/*")))

        # after materialize, a user's flag change is Courier's right: reported,
        # and --allow-changes accepts it
        root = os.path.join(work, "changed")
        shutil.copytree(plain, root, symlinks=True)
        imap = Imapd(os.path.join(root, "bob/Maildir"))
        select(imap, "INBOX.Archive.2019", examine=False)
        ok(imap, "STORE 1 +FLAGS (\\Flagged)")
        imap.close()
        changed = old_message(root, "bob/Maildir/.Archive.2019")
        results.check("a flag Courier changed after materialize is reported",
                      names_one(verify(root), changed, "flags", "real file"))
        results.check("--allow-changes accepts it", passes(verify(root, "--allow-changes")))
        out = run([mboxfs, "verify", "--map", map_path, root])
        results.check("verify without --state is bad usage (exit 2)",
                      [] if out.returncode == 2 else [f"exit {out.returncode}"])
        results.check("the old mboxes are byte-identical",
                      [] if harness.tree_checksum(old) == sources else ["sources changed"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
