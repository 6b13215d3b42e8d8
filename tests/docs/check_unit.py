"""dist/mboxfs.service passes `systemd-analyze verify` without a word, and says
what the README and the man page promise: Type=forking (the parent of
`mboxfs mount` exits once the mount is up), ExecReload with `mboxfs reload`,
started before Courier. Skipped without systemd-analyze.

usage: check_unit.py UNIT BINDIR MBOXFS
UNIT is the configured unit; its BINDIR/mboxfs is replaced by the built MBOXFS
so that systemd-analyze finds the program."""
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def main():
    unit, bindir, mboxfs = sys.argv[1:4]
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("SKIP: needs systemd-analyze")
        return SKIP
    text = open(unit).read().replace(os.path.join(bindir, "mboxfs"), os.path.abspath(mboxfs))
    problems = []
    settings = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    expect = {
        "Type": lambda v: v == ["forking"],
        "ExecStart": lambda v: len(v) == 1 and " mount " in v[0] and "--foreground" not in v[0],
        "ExecReload": lambda v: len(v) == 1 and v[0].split()[1] == "reload",
        "Before": lambda v: any("courier-imap.service" in x.split() for x in v),
    }
    for key, ok in expect.items():
        if not ok(settings.get(key, [])):
            problems.append(f"{key}={settings.get(key)}")
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "mboxfs.service")
        with open(path, "w") as f:
            f.write(text)
        # --man=no: the man page is installed only by meson install
        out = subprocess.run([analyze, "verify", "--man=no", path], capture_output=True,
                             text=True, timeout=120)
        said = [l for l in (out.stdout + out.stderr).splitlines() if "mboxfs" in l]
        print(f"systemd-analyze verify: exit {out.returncode}, {len(said)} lines about mboxfs")
        if out.returncode != 0 or said:
            problems.append(f"systemd-analyze verify (exit {out.returncode}): "
                            + " | ".join(said or [out.stderr.strip()]))
    for p in problems:
        print(f"FAIL {p}")
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
