"""Operations, as the README tells an administrator to run them:

- `mboxfs map --lines` writes the map (owner= from the old files' owner,
  accounts without mail and duplicates reported and left out), and that map
  mounts;
- `mboxfs mount` without --foreground (the systemd unit's Type=forking)
  returns only once the mount is up;
- Courier's imapd running as the account's user reads its maildir when the
  map says owner=, and fails with "Permission denied" when it does not;
- `mboxfs status --json` counts what `mboxfs index` counted, and after
  materialize says plain_maildir;
- the unmount that kills nobody: Courier's gam_server keeps its cwd in the
  maildir, `fusermount3 -u` is refused, `fusermount3 -u -z` detaches at once
  and shows the real maildirs, and the daemon ends by itself once gam_server
  has left (gamin ends an idle gam_server on its own).

usage: test_ops.py MBOXFS EXAMPLES"""
import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

USER = "daemon"  # a user every Debian has; alice's old files become its


def imapd_as(user, maildir, commands):
    """Courier imapd run as user (as imaplogin runs it after a LOGIN), with
    Debian's settings; returns (exit status, output)."""
    script = ("set -a; . /etc/courier/imapd; AUTHENTICATED=$(id -un); HOME=/; TZ=UTC; "
              "exec /usr/bin/imapd " + shlex.quote(maildir))
    out = subprocess.run(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups",
                          "sh", "-c", script], input="".join(f"t{i} {c}\r\n" for i, c in
                                                             enumerate(commands + ["LOGOUT"])),
                         capture_output=True, text=True, cwd="/", timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    return out.returncode, out.stdout + out.stderr


def daemon_pid(mountpoint):
    """The PID of the mboxfs daemon this test started for mountpoint."""
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if b"mount" in argv and mountpoint.encode() in argv:
                return int(pid)
    return None


def pids_inside(path):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                continue
            if cwd == path or cwd.startswith(path + "/"):
                found.append(int(pid))
    return found


def status_json(mboxfs, map_path, mnt):
    out = subprocess.run([mboxfs, "status", "--json", "--map", map_path, mnt],
                         capture_output=True, text=True, timeout=120)
    return out.returncode, json.loads(out.stdout)


def main():
    harness.require_environment()
    if not shutil.which("setpriv"):
        print("SKIP: needs setpriv")
        return harness.SKIP
    mboxfs, examples = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    work = harness.workdir()
    os.chmod(work, 0o755)
    t = harness.Tree(work, examples)
    r = harness.Results()
    pw = pwd.getpwnam(USER)
    alice_files = [os.path.join(t.old, "spool", "alice")] + [
        os.path.join(d, n) for d, dirs, files in os.walk(os.path.join(t.old, "home", "alice"))
        for n in dirs + files] + [os.path.join(t.old, "home", "alice")]
    for path in alice_files:
        os.chown(path, pw.pw_uid, pw.pw_gid)
    os.makedirs(t.mnt)
    pid = None
    try:
        # 1. the map, generated
        lines = os.path.join(work, "accounts.lines")
        with open(lines, "w") as f:
            f.write(f"example.org alice {t.old}/spool/alice {t.old}/home/alice\n"
                    f"example.org bob {t.old}/spool/bob {t.old}/home/bob\n"
                    f"example.org nomail {t.old}/spool/nomail -\n"
                    f"example.net alice {t.old}/spool/alice -\n")
        out = subprocess.run([mboxfs, "map", "--lines", lines, "--maildir", "%u/Maildir"],
                             capture_output=True, text=True, timeout=60)
        generated = [line.split() for line in out.stdout.splitlines() if not line.startswith("#")]
        owners = {fields[0]: dict(f.split("=", 1) for f in fields[1:]).get("owner")
                  for fields in generated}
        r.check("mboxfs map --lines: owner= from the old files, no-mail and duplicates left out", [
            p for p in (
                None if out.returncode == 0 else f"exit {out.returncode}: {out.stderr}",
                None if owners == {"alice/Maildir": USER, "bob/Maildir": "root"}
                else f"accounts and owners {owners}",
                None if f"{lines}:3: nomail/Maildir: no mail" in out.stderr else "nomail not reported",
                None if f"{lines}:4: alice/Maildir: duplicate maildir" in out.stderr
                else "the duplicate not reported") if p])
        with open(t.map, "w") as f:
            f.write(out.stdout)
        indexed = harness.index(mboxfs, t.map, t.state)

        # 2. mount as the unit does (Type=forking): up when the command returns
        status = subprocess.run([mboxfs, "mount", "--map", t.map, "--state", t.state,
                                 "--source-tz", "UTC", t.mnt], capture_output=True, text=True,
                                timeout=60)
        up = os.path.ismount(t.mnt)
        pid = daemon_pid(t.mnt)
        r.check("mount without --foreground returns once the mount is up", [
            p for p in (None if status.returncode == 0 else f"exit {status.returncode}: {status.stderr}",
                        None if up else "not mounted when mount returned",
                        None if pid else "no daemon process") if p])

        # 3. owner= decides whether the user's imapd can read the maildir
        alice = os.path.join(t.mnt, "alice", "Maildir")
        rc, said = imapd_as(USER, alice, ["SELECT INBOX", "UID FETCH 1:* (UID)"])
        uids = sorted(int(w.split()[-1].rstrip(")")) for w in said.splitlines()
                      if " FETCH (UID " in w)
        view = harness.show(mboxfs, os.path.join(t.old, "spool", "alice"))
        cur = os.path.join(alice, "cur")
        modes = {(os.stat(os.path.join(cur, n)).st_uid, oct(os.stat(os.path.join(cur, n)).st_mode & 0o777))
                 for n in os.listdir(cur)}
        r.check(f"owner={USER}: imapd as {USER} serves uw-imapd's UIDs, files {USER}'s, 0600", [
            p for p in (None if uids == [m["uid"] for m in view["messages"]] and uids
                        else f"UIDs {uids}: {said[-400:]}",
                        None if modes == {(pw.pw_uid, "0o600")} else f"owners and modes {modes}")
            if p])
        rc, said = imapd_as(USER, os.path.join(t.mnt, "bob", "Maildir"), ["SELECT INBOX"])
        r.check(f"owner=root: imapd as {USER} fails with Permission denied",
                [] if "Permission denied" in said else [f"exit {rc}: {said[-300:]}"])

        # 4. status --json against what index counted
        rc, before = status_json(mboxfs, t.map, t.mnt)
        counted = {}
        for (maildir, _folder), report in indexed.items():
            counted[maildir] = counted.get(maildir, 0) + report["messages"]
        got = {a["maildir"]: a["virtual_messages"] for a in before["accounts"]}
        r.check("status --json counts per account what index counted", [
            p for p in (None if rc == 3 else f"exit {rc} (3: something virtual)",
                        None if got == counted else f"status {got}, index {counted}",
                        None if before["virtual_messages"] == sum(counted.values()) else "total",
                        None if not before["plain_maildir"] else "plain_maildir before") if p])
        names_before = sorted(os.listdir(cur))
        subprocess.run([mboxfs, "materialize", "--quiet", "--map", t.map, t.mnt], check=True,
                       timeout=300)
        rc, after = status_json(mboxfs, t.map, t.mnt)
        r.check("after materialize, status --json says plain_maildir", [
            p for p in (None if rc == 0 else f"exit {rc}",
                        None if after["plain_maildir"] and after["virtual_messages"] == 0
                        else json.dumps(after)) if p])

        # 5. the unmount that kills nobody
        rc, said = imapd_as(USER, alice, ["SELECT INBOX", "NOOP"])
        holders = [p for p in pids_inside(t.mnt)
                   if open(f"/proc/{p}/comm").read().strip() == "gam_server"]
        if not holders:
            print("     (no gam_server of ours in the mount: gamin not installed, or one of"
                  f" {USER} already running elsewhere; the busy case is not shown)")
        busy = subprocess.run(["fusermount3", "-u", t.mnt], capture_output=True, text=True)
        lazy = subprocess.run(["fusermount3", "-u", "-z", t.mnt], capture_output=True, text=True)
        real = os.path.join(t.mnt, "alice", "Maildir", "cur")
        names_after = sorted(os.listdir(real)) if os.path.isdir(real) else []
        deadline, gone = time.time() + 120, False
        while time.time() < deadline and not gone:
            gone = not os.path.exists(f"/proc/{pid}") or \
                open(f"/proc/{pid}/stat").read().split()[2] == "Z"
            time.sleep(0.5)
        r.check("fusermount3 -u -z: the mail root at once, the daemon ends after gam_server", [
            p for p in (
                None if not holders or busy.returncode != 0 else "fusermount3 -u succeeded while busy",
                # with nobody inside, the plain unmount already did it
                None if lazy.returncode == 0 or busy.returncode == 0
                else f"fusermount3 -u -z: {lazy.stderr}",
                None if not os.path.ismount(t.mnt) else "still mounted",
                None if names_after == names_before else f"real names {names_after} != {names_before}",
                None if gone else "the daemon did not end within 120 s of its last user") if p])
        if gone:
            pid = None
    finally:
        if pid and os.path.exists(f"/proc/{pid}"):
            os.kill(pid, 15)
        if os.path.ismount(t.mnt):
            subprocess.run(["fusermount3", "-u", "-z", t.mnt], check=False)
        shutil.rmtree(work, ignore_errors=True)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
