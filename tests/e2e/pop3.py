"""POP3 pieces shared by the end-to-end tests: Courier's pop3d run
pre-authenticated over a pipe, what uw-ipop3d printed for the same mbox
(reference/uw-imap-mbox.md section 7), and a small INBOX with one message
flagged \\Deleted (which uw-ipop3d did not offer)."""
import os
import subprocess

POP3D = "/usr/lib/courier/courier/courierpop3d"
DELETED_SAMPLE_UIDVALIDITY = 1700000000


def pop3(maildir, commands):
    """Runs pop3d pre-authenticated; returns {number: uidl} of the last UIDL."""
    out = subprocess.run([POP3D, maildir], input="".join(c + "\r\n" for c in commands + ["QUIT"]),
                         capture_output=True, text=True, cwd="/", timeout=60,
                         env={"PATH": "/usr/bin:/bin", "AUTHENTICATED": "root", "HOME": "/"})
    uidls = {}
    for line in out.stdout.replace("\r", "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isdigit() and not parts[1].isdigit():
            uidls[int(parts[0])] = parts[1]
    return uidls


def uw_uidls(view, uidvalidity):
    """What uw-ipop3d printed: non-\\Deleted messages, %08x%08x."""
    return ["%08x%08x" % (uidvalidity, m["uid"]) for m in view["messages"]
            if "\\Deleted" not in m["flags"]]


def add_sample_accounts(old, map_path):
    """carol (pop3=uw) and dave (pop3=off), both on write_deleted_sample's
    INBOX in old/spool/carol, added to the example tree's map."""
    write_deleted_sample(os.path.join(old, "spool", "carol"))
    with open(map_path, "a") as f:
        f.write("carol/Maildir inbox=spool/carol\n")
        f.write("dave/Maildir inbox=spool/carol pop3=off\n")


def write_deleted_sample(path):
    """Three messages with X-IMAPbase, the second flagged \\Deleted."""
    with open(path, "w") as f:
        for uid, status in ((1, "RO"), (2, "RO\nX-Status: D"), (3, "O")):
            f.write(f"From x@example.org Mon Jan  6 10:00:0{uid} 2020\n")
            if uid == 1:
                f.write(f"X-IMAPbase: {DELETED_SAMPLE_UIDVALIDITY} 3\n")
            f.write(f"Subject: {uid}\nStatus: {status}\nX-UID: {uid}\n\nbody {uid}\n\n")
