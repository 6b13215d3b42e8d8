#!/usr/bin/env python3
"""Generate a random mbox file full of the edge cases UW c-client has to deal with.

    gen_mbox.py --seed N --out FILE [--verbose]

The same seed always gives the same bytes (only random.Random(seed) is used). The file mixes
what ../../../shared/reference/uw-imap-mbox.md describes: every From_ line shape (numeric,
known and unknown 3-letter zones, zone before/after the year, no seconds, "remote from"),
From_-like lines that must stay body text, From_ lines in the header region, no blank line
before From_, CRLF / mixed / CR CR LF line ends, a final line without newline, NUL and 8-bit
bytes, leading blank lines, an X-IMAP pseudo message or X-IMAPbase in message 1 (or neither,
or broken variants), declared keywords (over 30, over 50 characters, mixed case),
X-Keywords, Status/X-Status letters, wrong-case hidden headers and their continuation lines,
X-UID sequences that go up, repeat, go back or are garbage, lying Content-Length headers,
>From lines, messages that end inside the header, empty bodies, runs of blank lines.

It never writes what makes c-client itself misbehave: a lone CR or a NUL inside an X-Keywords,
X-IMAP or X-IMAPbase line (c-client loops forever or crashes), an X-IMAP*/X-UID line at EOF
without newline and a header that ends at EOF without newline (c-client reads past its buffer
and serves stale bytes), UIDs near or above 4294967295 (X-UIDs stay
<= 4294967000, so assigned UIDs fit in 32 bits too), a NUL in a From_ line or in a header field
name, a lone CR in a header field name.
"""
import argparse
import calendar
import random
import sys

WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
# c-client's zone table (default build), plus lower-case spellings (looked up without case).
KNOWN_ZONES = ["UTC", "GMT", "MET", "EET", "JST", "ADT", "AST", "EDT", "EST", "CDT", "CST",
               "MDT", "MST", "PDT", "PST", "YDT", "YST", "HST", "pst", "Gmt", "utc"]
# Three characters c-client does not know: the line is valid, the zone is the local one.
# Except "---" and "+01": c-client takes a leading sign for a numeric zone ("---" -> -0000).
UNKNOWN_ZONES = ["BST", "NST", "CET", "XYZ", "x1z", "IST", "---", "+01"]
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "mail", "from",
         "From", "status", "X-UID:", "IMAP", "uw", "pine", "elm", "mutt", "procmail", "--",
         "Subject:", "hello", "world", "foo", "bar", "baz", "qux", "lorem", "ipsum"]
HIGH = [b"\xe4", b"\xf6", b"\xfc", b"\xc3\xa9", b"\xe2\x80\x9c", b"\xff", b"\x80", b"\xa0"]
KW_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$_-.+/:"
REAL_KEYWORDS = [b"Junk", b"NonJunk", b"$Forwarded", b"$MDNSent", b"$Label1", b"$label2",
                 b"Old", b"todo", b"TODO", b"Work", b"\\Answered", b"[Gmail]"]
KW_ODD = "()\"\\%*]{&'=\t"  # rare: characters that are not IMAP atom characters


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.lines = []  # (content bytes, end-of-line bytes)
        self.notes = []
        self.risky = False  # current message has a line that might extend its header

    # ---- small helpers --------------------------------------------------------------------
    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return self.r.choice(seq)

    def note(self, what):
        if what not in self.notes:
            self.notes.append(what)

    def eol(self, strict=False):
        """A line end in the file's style. strict: never CR CR LF (lines c-client parses)."""
        mode = self.eol_mode
        if mode == "lf":
            return b"\n"
        if mode == "crlf":
            return b"\r\n"
        x = self.r.random()
        if x < 0.55:
            return b"\n"
        if x < 0.97 or strict:
            return b"\r\n"
        self.note("CR CR LF line end")
        self.risky = True  # not an empty line for c-client: a header may run on
        return b"\r\r\n"

    def add(self, content, strict=False, eol=None):
        self.lines.append((content, self.eol(strict) if eol is None else eol))

    def text(self, nwords=None, high=0.0, nul=0.0, lone_cr=0.0):
        """Some words; optionally with 8-bit bytes, NULs and lone CRs mixed in."""
        out = []
        for k in range(nwords if nwords is not None else self.r.randint(1, 10)):
            w = self.pick(WORDS).encode()
            if self.chance(high):
                w += self.pick(HIGH)
                self.note("8-bit bytes")
            # Never in the first word: if the line ends up in a header region (after a CR CR LF
            # "blank" line, or a From_-like line c-client accepts) that word is a field name.
            if k and self.chance(nul):
                w += b"\0"
                self.note("NUL bytes")
            if k and self.chance(lone_cr):
                w += b"\r"
                self.note("lone CR")
            out.append(w)
        return b" ".join(out)

    # ---- From_ lines ----------------------------------------------------------------------
    def sender(self):
        x = self.r.random()
        if x < 0.45:
            return b"%s@%s.example" % (self.pick(WORDS[:10]).encode(),
                                       self.pick(["mail", "host", "uw"]).encode())
        if x < 0.55:
            return b"MAILER-DAEMON"
        if x < 0.62:
            return b""  # "From Wed Dec  2 ..." : the space after From is the separator
        if x < 0.70:
            return b"-"  # Thunderbird
        if x < 0.78:
            return b"user at lists.example"  # pipermail
        if x < 0.86:
            return b"a b  c"  # spaces in the sender
        if x < 0.93:
            self.note("8-bit From_ line")
            return b"j" + self.pick(HIGH) + b"rg@example.de"
        if x < 0.97:
            return b"<>"
        self.note("long From_ line")
        return b"x" * self.r.randint(60, 1100)

    def date_fields(self):
        r = self.r
        wd = self.pick(WEEKDAYS)
        m = r.randint(1, 12)
        mon = MONTHS[m - 1]
        year = r.randint(1970, 2037)
        day = r.randint(1, calendar.monthrange(year, m)[1])
        dd = ("%2d" if self.chance(0.8) else "%02d") % day
        hh, mi, ss = r.randint(0, 23), r.randint(0, 59), r.randint(0, 59)
        x = r.random()  # rarely: values VALID accepts but the date parser may not
        if x < 0.02:
            mon, wd = "Xyz", "Abc"
            self.note("unknown month")
        elif x < 0.04:
            hh, mi = 25, 99
            self.note("bad time")
        elif x < 0.06:
            year = self.pick([1969, 1970, 2097, 2098, 9999, 1900])
            self.note("edge year")
        elif x < 0.07:
            dd = self.pick(["00", "32", "99", " 0"])
            self.note("bad day")
        # Not generated: days a month does not have ("Jun 31"). c-client serves
        # them as written ("31-Jun-2009"); Courier takes INTERNALDATE from the
        # file's mtime, which can only say 1-Jul-2009, and mboxfs keeps the same
        # instant. A known, unavoidable difference (see the closing note).
        return wd, mon, dd, hh, mi, ss, year

    def zone_numeric(self):
        return "%s%02d%02d" % (self.pick("+-"), self.r.randint(0, 14), self.pick([0, 30, 45]))

    def from_line(self, sender=None):
        """A From_ line VALID accepts (mostly: a few are meant-valid but too short)."""
        wd, mon, dd, hh, mi, ss, year = self.date_fields()
        t = "%02d:%02d" % (hh, mi) + (":%02d" % ss if self.chance(0.85) else "")
        if ":" not in t[3:]:
            self.note("From_ without seconds")
        shape = self.r.choices(range(5), weights=[50, 12, 14, 8, 10])[0]
        zone = ""
        if shape in (1, 3):
            zone = self.pick(KNOWN_ZONES) if self.chance(0.7) else self.pick(UNKNOWN_ZONES)
            self.note("3-letter zone " + ("known" if zone in KNOWN_ZONES else "unknown"))
        elif shape in (2, 4):
            zone = self.zone_numeric()
            self.note("numeric zone")
        if shape == 0:
            date = "%s %s %s %s %d" % (wd, mon, dd, t, year)
        elif shape in (1, 2):
            date = "%s %s %s %s %s %d" % (wd, mon, dd, t, zone, year)
        else:
            date = "%s %s %s %s %d %s" % (wd, mon, dd, t, year, zone)
        if self.chance(0.07):
            date += " remote from " + self.pick(["uunet", "host.example", "x"])
            self.note("remote from")
        s = self.sender() if sender is None else sender
        return b"From " + s + (b" " if s else b"") + date.encode()

    def bad_from_line(self):
        """A From_-like line that must stay body (or header) text."""
        wd, mon, _, hh, mi, ss, year = self.date_fields()
        s = self.sender()[:40] or b"user"
        hms = "%02d:%02d:%02d" % (hh, mi, ss)
        day = self.r.randint(1, 9)
        variants = [
            lambda: b"From %s %s %s %d %s %d" % (s, wd.encode(), mon.encode(), day,
                                                 hms.encode(), year),
            lambda: b"From %s %s %s %2d %s %02d" % (s, wd.encode(), mon.encode(), day,
                                                    hms.encode(), year % 100),
            lambda: self.from_line(s) + self.pick([b" ", b"\t", b"  "]),
            lambda: b"f" + self.from_line(s)[1:],
            lambda: b"From %s %s %s %2d %s CEST %d" % (s, wd.encode(), mon.encode(), day,
                                                       hms.encode(), year),
            lambda: b"From %s %s %s %2d %s %d CEST" % (s, wd.encode(), mon.encode(), day,
                                                       hms.encode(), year),
            lambda: b"From %s %s, %d %s %d %s -0800" % (s, wd.encode(), day, mon.encode(),
                                                         year, hms.encode()),
            lambda: b"From %s %s %s %2d %s +02:00 %d" % (s, wd.encode(), mon.encode(), day,
                                                          hms.encode(), year),
            lambda: b"From %s %s %s %2d %d:%02d:%02d %d" % (s, wd.encode(), mon.encode(), day,
                                                             hh % 10, mi, ss, year),
            lambda: b"From %s %s %s %2d %02d:%02d:%d %d" % (s, wd.encode(), mon.encode(), day,
                                                             hh, mi, ss % 10, year),
            lambda: b">" + self.from_line(),
            lambda: b">>" + self.from_line(),
            lambda: b" " + self.from_line(),
            lambda: self.pick([b"From ", b"From", b"From -", b"From me", b"From:"]),
            lambda: b"From " + self.text(6),
            lambda: self.from_line()[:-1] + b"\r" + self.from_line()[-1:],
        ]
        self.note("invalid From_ variant")
        self.risky = True  # in case c-client accepts it after all: a header follows
        return self.pick(variants)()

    # ---- headers ----------------------------------------------------------------------------
    def header_value(self):
        return self.text(self.r.randint(0, 8), high=0.05, nul=0.01, lone_cr=0.01)

    def continuation(self):
        return self.pick([b" ", b"\t", b"    "]) + self.text(self.r.randint(1, 5), high=0.03)

    def keyword(self, long=False):
        if not long and self.chance(0.25):
            return self.pick(REAL_KEYWORDS)
        n = self.r.randint(51, 70) if long else self.r.randint(1, 12)
        alphabet = KW_ALPHABET + (KW_ODD if self.chance(0.05) else "")
        return "".join(self.pick(alphabet) for _ in range(n)).encode()

    def case_variant(self, kw):
        return bytes(c ^ 0x20 if chr(c).isalpha() and self.chance(0.5) else c for c in kw)

    def status_value(self):
        letters = "ROFADT" + "xZ r-"
        v = "".join(self.pick(letters) for _ in range(self.r.randint(0, 6)))
        return (" " if self.chance(0.85) else "") + v

    def keywords_value(self):
        parts = []
        for _ in range(self.r.randint(0, 6)):
            x = self.r.random()
            if self.declared and x < 0.6:
                kw = self.pick(self.declared)
                parts.append(self.case_variant(kw) if self.chance(0.3) else kw)
            elif x < 0.8:
                parts.append(self.keyword())  # undeclared
            else:
                parts.append(self.keyword(long=self.chance(0.2)))
        sep = b"  " if self.chance(0.1) else b" "
        v = sep.join(parts)
        if self.chance(0.3):
            v = b" " + v
        if self.chance(0.15):
            v += b" " * self.r.randint(1, 30)  # c-client pads X-Keywords
        if self.chance(0.03):
            v = b"\t" + v
            self.note("tab after X-Keywords:")
        return v

    def uid_header_values(self, n):
        """The X-UID header values, message by message (list of lists of strings)."""
        plan = self.r.choices(["none", "good", "dup", "back", "garbage", "two", "holes", "big"],
                              weights=[20, 30, 8, 8, 8, 6, 14, 6])[0]
        self.note("X-UID plan " + plan)
        out, uid = [], self.r.randint(0, 40)
        for i in range(n):
            uid += self.r.randint(1, 3)
            vals = [] if plan == "none" else [str(uid)]
            if plan == "holes" and self.chance(0.35):
                vals = []
            elif plan == "dup" and i and self.chance(0.3):
                vals = [out[-1][0]] if out[-1] else vals
            elif plan == "back" and i and self.chance(0.25):
                vals = [str(max(0, uid - self.r.randint(2, 30)))]
            elif plan == "garbage" and self.chance(0.3):
                vals = [self.pick(["", "abc", "12abc", " 007", "0", "-5", "4294967000",
                                   "1.5", "99999999"])]
            elif plan == "two" and self.chance(0.3):
                vals.append(str(uid + self.pick([0, 1, -1])))
            elif plan == "big" and self.chance(0.4):
                uid += self.r.randint(1000, 100000)
                vals = [str(min(uid, 4294967000))]
            out.append(vals)
        return out

    def hidden_headers(self, i, uid_vals):
        """Status/X-Status/X-Keywords/X-UID lines (and wrong-case ones) for message i."""
        hs = []
        if self.chance(0.6):
            hs.append(b"Status:" + self.status_value().encode())
        if self.chance(0.4):
            hs.append(b"X-Status:" + self.status_value().encode())
        if self.chance(0.1):
            hs.append(b"Status:" + self.status_value().encode())  # a second one
        if self.chance(0.5):
            hs.append(b"X-Keywords:" + self.keywords_value())
        if self.chance(0.05):
            hs.append(b"X-Keywords:" + self.keywords_value())
        for v in uid_vals:
            hs.append(b"X-UID: " + v.encode() if self.chance(0.9) else b"X-UID:" + v.encode())
        if self.chance(0.15):
            name = self.pick([b"status:", b"STATUS:", b"X-STATUS:", b"x-status:", b"Status :",
                              b"X-Keywords :", b"x-keywords:", b"X-uid:", b"X-UID :",
                              b"x-imap:", b"X-IMAPBASE:", b"X-Imapbase:", b"Status\t:"])
            hs.append(name + b" " + self.status_value().encode())
            self.note("wrong-case hidden header")
        if i > 0 and self.chance(0.05):
            hs.append(self.imap_line(pseudo=self.chance(0.5)))  # ignored after message 1
            self.note("X-IMAP in later message")
        return hs

    def imap_line(self, pseudo):
        """X-IMAP (pseudo message) or X-IMAPbase line with the declared keywords."""
        pad = "%010d" if pseudo or self.chance(0.2) else "%d"
        v = (pad % self.uidvalidity) + " " + (pad % self.uidlast)
        x = self.r.random()
        if x < 0.04:
            v = "0 " + (pad % self.uidlast)
            self.note("X-IMAP with UIDVALIDITY 0")
        elif x < 0.07:
            v = pad % self.uidvalidity
            self.note("X-IMAP without last UID")
        elif x < 0.10:
            v = "  " + v.replace(" ", "   ")
        line = (b"X-IMAP:" if pseudo else b"X-IMAPbase:") + b" " + v.encode()
        if self.declared_raw:
            line += b" " + b" ".join(self.declared_raw)
        if self.chance(0.1):
            line += b"  "
        return line

    def header(self, i, uid_vals, is_last):
        hs = []
        if self.chance(0.05):
            hs.append(b"Return-Path: <" + self.sender()[:40] + b">")
        if self.chance(0.5):
            hs.append(b"Received: from " + self.text(3) + b";")
            hs.append(self.continuation())
        if self.chance(0.06):
            hs.append(self.from_line())  # a From_ line in the header region is a header
            self.note("From_ line in header")
        hs.append(b"From: " + self.header_value())
        if self.chance(0.8):
            hs.append(b"To: " + self.header_value())
        hs.append(b"Subject: " + self.header_value())
        if self.chance(0.2):
            hs.append(self.continuation())
        if self.chance(0.7):
            hs.append(b"Date: " + self.text(4))
        if self.chance(0.5):
            hs.append(b"Message-ID: <%d@gen.example>" % self.r.randint(1, 10 ** 9))
        if self.chance(0.25):
            hs.append(b"Content-Length: %d" % self.r.randint(0, 5000))
            self.note("Content-Length (lying)")
        if self.chance(0.05):
            hs.append(b"no colon on this header line")
        if self.chance(0.05):
            hs.append(b"X-Empty:")
        if self.chance(0.05):
            hs.append(b"   ")  # only spaces: a continuation line, not the end of the header
        hidden = self.hidden_headers(i, uid_vals)
        for h in hidden:
            hs.insert(self.r.randint(0, len(hs)), h)
            if self.chance(0.12):  # continuation of a hidden header: hidden too
                hs.insert(hs.index(h) + 1, self.continuation())
                self.note("continuation after hidden header")
        if i == 0 and self.meta == "base":
            # Normally before X-UID (as c-client writes it); sometimes after it.
            idx = min([k for k, h in enumerate(hs) if h.startswith(b"X-UID")] or [len(hs)])
            if self.chance(0.15):
                idx = len(hs)
                self.note("X-UID before X-IMAPbase")
            hs.insert(self.r.randint(0, idx), self.imap_line(pseudo=False))
        if self.chance(0.03):
            hs.insert(0, self.continuation())  # continuation as first header line
            self.note("continuation as first header line")
        for h in hs:
            self.add(h, strict=h[:6].upper() in (b"X-KEYW", b"X-IMAP"))
        if is_last and self.chance(0.08):
            # Always with a final newline: without one c-client serves stale buffer bytes
            # after the header (and an RFC822.SIZE one more than the header's length).
            self.note("EOF inside header")
            return False  # no empty line: the rest of the file is header
        self.add(b"")
        return True

    # ---- bodies -----------------------------------------------------------------------------
    def body(self, is_last):
        n = self.r.choices([0, 1, 3, 8, 20], weights=[15, 20, 30, 25, 10])[0]
        for _ in range(self.r.randint(0, n) if n else 0):
            x = self.r.random()
            if x < 0.55:
                self.add(self.text(None, high=0.04, nul=0.01, lone_cr=0.01))
            elif x < 0.65:
                self.add(b"")
            elif x < 0.75:
                self.add(self.bad_from_line())
            elif x < 0.79:
                self.add(b">From " + self.text(4))
                self.note(">From line")
            elif x < 0.82:
                self.add(self.pick([b"Status: RO", b"X-UID: 7", b"X-IMAP: 1 2 a b",
                                    b"X-Keywords: x"]))
            elif x < 0.85:
                self.add(b"   ")
            elif x < 0.87:
                self.add(self.from_line())  # unescaped: starts a new message right here
                self.note("From_ line without blank line before it")
                self.add(b"Subject: " + self.header_value())
                self.add(b"")
            elif x < 0.875:
                self.add(b"y" * self.r.randint(1100, 70000))
                self.note("long body line")
            else:
                self.add(self.text(None))
        if is_last:
            x = self.r.random()
            # Not if the last header could run to EOF (see header()).
            if x < 0.2 and self.lines and self.lines[-1][0] and not self.risky:
                content, _ = self.lines[-1]
                self.lines[-1] = (content, b"")
                self.note("final line without newline")
            elif x < 0.35:
                for _ in range(self.r.randint(1, 4)):
                    self.add(b"")
            return
        x = self.r.random()
        if x < 0.72:
            self.add(b"")  # the usual separator
        elif x < 0.85:
            self.note("no blank line before From_")
        else:
            for _ in range(self.r.randint(2, 5)):
                self.add(b"")
            self.note("several blank lines at end of body")

    # ---- whole file -------------------------------------------------------------------------
    def generate(self):
        r = self.r
        self.eol_mode = r.choices(["lf", "crlf", "mixed"], weights=[60, 15, 25])[0]
        self.note("line ends " + self.eol_mode)
        x = r.random()
        if x < 0.02:
            self.note("empty file")
            return b""
        self.meta = r.choices(["none", "pseudo", "base"], weights=[40, 27, 33])[0]
        self.note("metadata " + self.meta)
        self.uidvalidity = r.choice([r.randint(1, 9999), r.randint(10 ** 8, 1_600_000_000)])
        self.uidlast = r.choice([0, r.randint(0, 50), r.randint(50, 5000)])
        nkw = r.choices([0, r.randint(1, 5), r.randint(6, 29), r.randint(30, 36)],
                        weights=[30, 40, 15, 15])[0]
        self.declared_raw = []
        for _ in range(nkw):
            if self.declared_raw and self.chance(0.05):  # same name again, other case
                self.declared_raw.append(self.case_variant(self.pick(self.declared_raw)))
                self.note("keyword declared twice")
            else:
                self.declared_raw.append(self.keyword(long=self.chance(0.05)))
        if nkw:
            self.note("%d declared keywords" % nkw)
        # Names X-Keywords may use: c-client only knows slots before the first >50 one.
        self.declared = [k for k in self.declared_raw if len(k) <= 50] or []

        prefix = b""
        if self.chance(0.08):
            prefix = b"".join(self.pick([b"\n", b"\r\n", b" ", b"\t", b" \n"])
                              for _ in range(r.randint(1, 4)))
            if not prefix.endswith(b"\n"):
                prefix += b"\n"
            self.note("leading blank lines")
        if self.chance(0.02):
            prefix = b"garbage before the first From_ line\n"
            self.note("not a mailbox (garbage first)")

        nmsgs = r.choices([0, r.randint(1, 3), r.randint(4, 12), r.randint(13, 40)],
                          weights=[4, 40, 45, 11])[0]
        uid_plan = self.uid_header_values(nmsgs + 1)
        if self.meta == "pseudo":
            self.pseudo_message(uid_plan[0])
        for i in range(nmsgs):
            last = i == nmsgs - 1
            if i == 0 and self.chance(0.02):
                self.add(self.bad_from_line(), strict=True)  # file becomes "not a mailbox"
            else:
                self.add(self.from_line(), strict=True)
            self.risky = False
            if self.header(i, uid_plan[i + 1], last):
                self.body(last)
        data = prefix + b"".join(c + e for c, e in self.lines)
        return self.make_safe(data)

    def pseudo_message(self, uid_vals):
        self.add(self.from_line(b"MAILER-DAEMON"), strict=True)
        self.add(b"Date: " + self.text(4))
        self.add(b"From: Mail System Internal Data <MAILER-DAEMON@gen.example>")
        self.add(b"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA")
        if self.chance(0.5):
            self.add(b"Message-ID: <%d@gen.example>" % self.r.randint(1, 10 ** 9))
        self.add(self.imap_line(pseudo=True), strict=True)
        if uid_vals and self.chance(0.3):
            self.add(b"X-UID: " + uid_vals[0].encode())  # never believed in the pseudo message
        self.add(b"Status: RO")
        self.add(b"")
        self.add(b"This text is part of the internal format of your mail folder, and is not")
        self.add(b"a real message.  It is created automatically by the mail system software.")
        self.add(b"If deleted, important folder data will be lost, and it will be re-created")
        self.add(b"with the data reset to initial values.")
        self.add(b"")

    @staticmethod
    def make_safe(data):
        """Keep c-client's own bugs out: an X-IMAP*, X-Keywords or X-UID line at EOF without
        a newline makes it read past its buffer."""
        last = data[data.rfind(b"\n") + 1:]
        if last and last[:6].upper() in (b"X-IMAP", b"X-KEYW", b"X-UID:"):
            data += b"\n"
        return data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--verbose", action="store_true", help="list the features used on stderr")
    args = ap.parse_args()
    g = Gen(args.seed)
    data = g.generate()
    with open(args.out, "wb") as f:
        f.write(data)
    if args.verbose:
        print("seed %d: %d bytes; %s" % (args.seed, len(data), "; ".join(g.notes)),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
