"""The man page and the help text agree: for every verb, the options in its
SYNOPSIS lines of doc/mboxfs.1 are exactly those `mboxfs help VERB` lists, one
line each, and shows in its usage lines; the OPTIONS section of the man page
describes exactly the options some verb has; every verb has a DESCRIPTION
subsection and a line in `mboxfs --help`.

usage: check_help.py MBOXFS MANPAGE"""
import re
import subprocess
import sys

OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-o)(?![\w-])")


def man_sections(text):
    """{".SH name" or ".SS name": [lines]}"""
    sections, current = {}, None
    for line in text.splitlines():
        m = re.match(r"\.(SH|SS) (.*)", line)
        if m:
            current = f".{m.group(1)} {m.group(2).strip()}"
            sections[current] = []
        elif current:
            sections[current].append(line)
    return sections


def roff_text(line):
    """A roff line as words: no macro name, no font escapes, \\- as -."""
    line = re.sub(r"^\.[A-Z]+ ?", "", line)
    line = line.replace("\\-", "-").replace("\\c", "")
    return re.sub(r"\\f[BIRP]", "", line)


def man_synopsis(sections):
    """{verb: set of options} from the SYNOPSIS, one block per .br."""
    verbs, block = {}, []
    for line in sections[".SH SYNOPSIS"] + [".br"]:
        if line != ".br":
            block.append(roff_text(line))
            continue
        words = " ".join(block).split()
        block = []
        if words[0] == "mount.mboxfs":
            verb = "mount"
        elif words[0] == "mboxfs" and words[1] != "VERB":
            verb = words[1]
        else:
            continue
        found = set(OPTION.findall(" ".join(words)))
        if verb == "mount" and words[0] == "mount.mboxfs":
            found &= {"-o"}
        verbs.setdefault(verb, set()).update(found)
    return verbs


def man_options(sections):
    """Options a .TP tag of the OPTIONS section names."""
    lines, found = sections[".SH OPTIONS"], set()
    for i, line in enumerate(lines):
        if line == ".TP" and i + 1 < len(lines):
            found.update(OPTION.findall(roff_text(lines[i + 1])))
    return found


def help_of(mboxfs, verb):
    """(options listed one a line, options in the usage lines) of mboxfs help VERB."""
    out = subprocess.run([mboxfs, "help", verb], capture_output=True, text=True, check=True).stdout
    usage, listed, part = set(), set(), "usage"
    for line in out.splitlines():
        if line == "options:":
            part = "options"
        elif part == "usage" and (line.startswith("usage:") or line.startswith("       ")):
            usage.update(OPTION.findall(line))
        elif part == "options" and re.match(r"  -", line):
            listed.add(line.split()[0])
    return listed, usage


def main():
    mboxfs, manpage = sys.argv[1], sys.argv[2]
    sections = man_sections(open(manpage, encoding="utf-8").read())
    synopsis = man_synopsis(sections)
    problems = []
    overview = subprocess.run([mboxfs, "--help"], capture_output=True, text=True,
                              check=True).stdout
    overview_verbs = set(re.findall(r"^  mboxfs ([a-z]+)", overview, re.M))
    if overview_verbs != set(synopsis):
        problems.append(f"verbs: mboxfs --help has {sorted(overview_verbs)}, "
                        f"the man page SYNOPSIS {sorted(synopsis)}")
    all_help = set()
    for verb, man_opts in sorted(synopsis.items()):
        if f".SS {verb}" not in sections:
            problems.append(f"{verb}: no DESCRIPTION subsection .SS {verb} in the man page")
        listed, usage = help_of(mboxfs, verb)
        all_help |= listed
        for what, got in (("listed one a line in mboxfs help", listed),
                          ("in the usage lines of mboxfs help", usage)):
            if got != man_opts:
                problems.append(f"{verb}: man page SYNOPSIS has {sorted(man_opts)}, "
                                f"{what} {sorted(got)}")
        print(f"{verb}: {len(man_opts)} options agree" if listed == usage == man_opts
              else f"{verb}: differ")
    described = man_options(sections) - {"--help"}
    if described != all_help:
        problems.append(f"OPTIONS section describes {sorted(described - all_help)} that no verb "
                        f"lists; verbs list {sorted(all_help - described)} it does not describe")
    for p in problems:
        print(f"FAIL {p}")
    print(f"{len(synopsis)} verbs, {len(all_help)} options; {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
