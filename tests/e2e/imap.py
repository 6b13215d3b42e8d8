"""A minimal IMAP client for tests: runs Courier's imapd pre-authenticated over
a pipe (reference/courier-imap-maildir.md section 10) with Debian's settings
sourced, sends commands one at a time and parses the untagged responses,
literals included."""
import os
import re
import shlex
import subprocess

# Courier's imapd starts gam_server (gamin's FAM server) and shares it with
# every imapd of the same user and GAM_CLIENT_ID; one of the tests' own keeps
# it private, so that a test ends only its own (harness.end_gam_servers) and
# never the one live users' sessions depend on.
GAM_CLIENT_ID = f"mboxfs-tests-{os.getpid()}"

# Debian's settings first, then the test's own (which must win over them)
IMAPD_ENV = "set -a; . /etc/courier/imapd; {overrides}AUTHENTICATED=root; HOME=/; TZ=UTC; exec /usr/bin/imapd \"$0\""


class Imapd:
    started = []  # every imapd this process started, for end_started()

    def __init__(self, maildir, settings=None, uid=None):
        """uid: run imapd as that user (uid and gid), as uw-imapd ran."""
        settings = dict({"IMAP_BROKENUIDV": "1"}, **(settings or {}))
        overrides = "".join(f"{k}={shlex.quote(v)}; " for k, v in settings.items())
        self.proc = subprocess.Popen(["sh", "-c", IMAPD_ENV.format(overrides=overrides), maildir],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin",
                                          "GAM_CLIENT_ID": GAM_CLIENT_ID},
                                     cwd="/", preexec_fn=None if uid is None else
                                     lambda: (os.setgroups([]), os.setgid(uid), os.setuid(uid)))
        Imapd.started.append(self.proc)
        greeting = self.proc.stdout.readline()
        # imapd says so first when it goes on without FAM (plain IDLE): a
        # gamin server being ended by a test while it starts, a plain user
        while greeting.startswith(b"* OK [ALERT]"):
            greeting = self.proc.stdout.readline()
        if not greeting.startswith(b"* PREAUTH"):
            raise RuntimeError(f"imapd did not greet: {greeting!r}")
        self.n = 0

    def _read_response_line(self):
        """One response, with every literal spliced in as bytes."""
        parts = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(timeout=10)
                err = self.proc.stderr.read().decode(errors="replace").strip()
                raise RuntimeError(f"imapd closed the connection (exit {self.proc.returncode}): "
                                   f"{err[-500:]}")
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                parts.append(line)
                return parts
            parts.append(line)
            parts.append(self.proc.stdout.read(int(m.group(1))))

    def command(self, text):
        """Returns (tagged status line, list of untagged responses as lists of parts)."""
        self.n += 1
        tag = f"t{self.n}".encode()
        self.proc.stdin.write(tag + b" " + text.encode() + b"\r\n")
        self.proc.stdin.flush()
        untagged = []
        while True:
            parts = self._read_response_line()
            if parts[0].startswith(tag + b" "):
                return parts[0].decode(errors="replace").strip(), untagged
            untagged.append(parts)

    def close(self):
        try:
            self.command("LOGOUT")
        except RuntimeError:
            pass
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def fetch_all(imap):
    """UID FETCH 1:* of the served view: {uid: dict(flags, size, internaldate, body)}."""
    status, resp = imap.command("UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])")
    if " OK " not in status:
        raise RuntimeError(status)
    out = {}
    for parts in resp:
        head = parts[0].decode(errors="replace")
        if " FETCH " not in head:
            continue
        text = head + "".join(p.decode(errors="replace") for p in parts[2::2])
        uid = int(re.search(r"UID (\d+)", text).group(1))
        flags = re.search(r"FLAGS \(([^)]*)\)", text).group(1).split()
        size = int(re.search(r"RFC822\.SIZE (\d+)", text).group(1))
        date = re.search(r'INTERNALDATE "([^"]+)"', text).group(1)
        body = parts[1] if len(parts) > 1 else b""
        out[uid] = {"flags": flags, "size": size, "internaldate": date, "body": body}
    return out


def select(imap, folder, examine=True):
    status, resp = imap.command(f'{"EXAMINE" if examine else "SELECT"} "{folder}"')
    if " OK " not in status:
        raise RuntimeError(f"{folder}: {status}")
    for parts in resp:
        m = re.search(rb"UIDVALIDITY (\d+)", parts[0])
        if m:
            return int(m.group(1))
    raise RuntimeError(f"{folder}: no UIDVALIDITY")


def inbox(maildir):
    """fetch_all() of the INBOX of maildir, in an imapd session of its own."""
    imap = Imapd(maildir)
    try:
        select(imap, "INBOX")
        return fetch_all(imap)
    finally:
        imap.close()


def append(imap, folder, flags, data):
    """APPEND with a synchronizing literal; returns the tagged status line."""
    imap.n += 1
    tag = f"t{imap.n}".encode()
    imap.proc.stdin.write(tag + f' APPEND "{folder}" ({flags}) {{{len(data)}}}\r\n'.encode())
    imap.proc.stdin.flush()
    line = imap.proc.stdout.readline()
    if not line.startswith(b"+"):
        return line.decode(errors="replace").strip()
    imap.proc.stdin.write(data + b"\r\n")
    imap.proc.stdin.flush()
    while True:
        parts = imap._read_response_line()
        if parts[0].startswith(tag + b" "):
            return parts[0].decode(errors="replace").strip()


def ok(imap, command):
    """Runs a command that must succeed; returns its tagged line."""
    status, _ = imap.command(command)
    if " OK" not in status:
        raise RuntimeError(f"{command}: {status}")
    return status


def list_folders(imap, command="LIST", selectable=False):
    """The folder names a LIST (or LSUB) of everything returns; with
    selectable, without the \\Noselect ones (parents of a hierarchy)."""
    status, resp = imap.command(f'{command} "" "*"')
    if " OK " not in status:
        raise RuntimeError(status)
    return {parts[0].decode().strip().rsplit(" ", 1)[1].strip('"') for parts in resp
            if not (selectable and b"\\Noselect" in parts[0])}


def end_started():
    """Ends, by PID, every imapd this process started that still runs (a test
    that killed the mount leaves its sessions hanging); never any other."""
    for proc in Imapd.started:
        if proc.poll() is None:
            proc.kill()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    Imapd.started = [p for p in Imapd.started if p.poll() is None]
