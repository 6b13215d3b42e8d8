/* gen_mbox.c — benchmark input: a deterministic, realistic UW-IMAP mbox file.
 *
 *   gen_mbox [--size MIB | --messages N] [--seed N] [--attach PERMILLE]
 *            [--attach-mib MIB] [--slim] -o FILE
 *
 * Writes messages until FILE holds at least MIB MiB (default 1024), or exactly N
 * messages with --messages, as a mailbox looks after years of use through uw-imapd:
 *  - ctime-style From_ lines (`From alice@example.com Wed Dec  2 05:53:22 1992`),
 *    in time order;
 *  - realistic headers: Return-Path, 2-4 Received, Date, From, To (sometimes folded),
 *    Cc, Subject (sometimes RFC 2047), Message-ID, In-Reply-To/References, X-Mailer,
 *    MIME headers;
 *  - the status block c-client writes on rewrite at the end of each header
 *    (Status:, X-Status:, X-Keywords: padded to 50 bytes, X-UID:), with
 *    `X-IMAPbase: <uidv> <last> $Label1 Junk` first in message 1 (padded to 80);
 *    UIDs ascend with occasional gaps (expunged mail); the newest ~0.5% of the
 *    file is mail delivered since the last rewrite (no status block, no X-UID);
 *  - bodies of varied size (lognormal, median about 3 KB of text), 5% with a
 *    base64 attachment (76-character lines, lognormal, median about 120 KB),
 *    some multipart/alternative with an HTML part; --attach sets the share of
 *    messages with an attachment (in thousandths, default 50), --attach-mib makes
 *    every attachment that many MiB (the random draws are made all the same, so
 *    neither changes the rest of the messages); --slim writes short notes, as most of
 *    a mail server's many small mailboxes hold (at most one Received, no X-Mailer, no
 *    multipart/alternative, text median about 80 bytes: about 850 bytes a message
 *    with --attach 0; bench/scale.sh);
 *  - occasional `>From ` lines, body lines starting with "From " that are not
 *    valid From_ lines (prose, and a forwarded From_ line with an unpadded day),
 *    and "From:" lines of quoted forwards.
 * Every separator is a valid From_ line for c-client, and every body line that
 * starts with "From " is invalid for c-client and also not a separator for mb2md
 * (no blank line before it, or no hh:mm in it), so both count the same messages.
 *
 * The same --size and --seed give the same bytes (xoshiro256**, integer
 * arithmetic except one exp() per size draw). A smaller --size with the same seed
 * gives a prefix of the same messages (except X-IMAPbase's last-UID, and that the
 * newest 0.5% of each file have no status block); with --messages, the same for a
 * smaller N.
 * Prints "<bytes> <messages>" on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- PRNG ------------------------------------------------------------------------------ */

static uint64_t rs[4];

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t next(void)
{
	uint64_t r = rotl(rs[1] * 5, 7) * 9, t = rs[1] << 17;
	rs[2] ^= rs[0], rs[3] ^= rs[1], rs[1] ^= rs[2], rs[0] ^= rs[3];
	rs[2] ^= t, rs[3] = rotl(rs[3], 45);
	return r;
}

static void seed_rng(uint64_t seed)
{
	for (int i = 0; i < 4; i++) { /* splitmix64 */
		uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		rs[i] = z ^ (z >> 31);
	}
}

/* uniform in [0, n) */
static uint32_t below(uint32_t n)
{
	return (uint32_t)(((next() >> 32) * (uint64_t)n) >> 32);
}

/* true with probability pct/1000 */
static int permille(unsigned pct)
{
	return below(1000) < pct;
}

#define PICK(arr) (arr)[below(sizeof(arr) / sizeof(arr)[0])]

/* lognormal with the given median; sigma in hundredths. The normal variate is the
 * sum of 12 uniforms minus 6 (exact integer arithmetic; tails cut at +-6 sigma). */
static uint64_t lognormal(double median, int sigma100, uint64_t lo, uint64_t hi)
{
	int64_t sum = 0;
	for (int i = 0; i < 12; i++)
		sum += (int64_t)below(1u << 20);
	double z = (double)(sum - (int64_t)6 * (1 << 20)) / (double)(1 << 20);
	double v = median * exp(z * sigma100 / 100.0);
	uint64_t n = v < (double)lo ? lo : v > (double)hi ? hi : (uint64_t)v;
	return n;
}

/* ---- output ---------------------------------------------------------------------------- */

static int out_fd;
static char obuf[1 << 22];
static size_t olen;
static uint64_t written; /* bytes handed to out(), flushed or not */

static void flush_out(void)
{
	size_t off = 0;
	while (off < olen) {
		ssize_t n = write(out_fd, obuf + off, olen - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("gen_mbox: write");
			exit(1);
		}
		off += (size_t)n;
	}
	olen = 0;
}

static void out(const char *s, size_t n)
{
	if (olen + n > sizeof obuf)
		flush_out();
	if (n > sizeof obuf) {
		fputs("gen_mbox: line too long\n", stderr);
		exit(1);
	}
	memcpy(obuf + olen, s, n);
	olen += n;
	written += n;
}

static void outs(const char *s)
{
	out(s, strlen(s));
}

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
	char tmp[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	out(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- vocabulary ------------------------------------------------------------------------ */

static const char *const first_names[] = {
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
    "wendy", "anna", "bernd", "claudia", "dieter", "elke", "fritz", "gisela", "hans",
    "ingrid", "jens", "klaus", "lena", "marco", "nadia", "otto", "paula", "rainer", "sabine",
};
static const char *const last_names[] = {
    "smith", "jones", "miller", "brown", "wilson", "taylor", "clark", "walker", "wright",
    "mueller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner", "becker",
    "hoffmann", "rossi", "russo", "ferrari", "martin", "bernard", "dubois", "garcia",
};
static const char *const domains[] = {
    "example.com", "example.org", "example.net", "mail.example.edu", "lists.example.org",
    "corp.example.com", "example.de", "example.co.uk", "uni-example.de", "isp.example.net",
};
static const char *const hosts[] = {"mx1", "mx2", "mail", "smtp", "relay", "out", "gw", "mta3"};
static const char *const mailers[] = {
    "X-Mailer: Microsoft Outlook Express 6.00.2900.2180",
    "User-Agent: Mutt/1.5.13 (2006-08-11)",
    "User-Agent: Thunderbird 2.0.0.14 (Windows/20080421)",
    "X-Mailer: Apple Mail (2.753)",
    "User-Agent: Pine 4.64 (LNX 148 2005-09-15)",
    "X-Mailer: Microsoft Office Outlook 11",
    "User-Agent: KMail/1.9.5",
    "X-Mailer: Evolution 2.6.3",
};
static const char *const charsets[] = {"us-ascii", "ISO-8859-1", "ISO-8859-15", "utf-8"};
static const char *const words[] = {
    "the", "of", "and", "to", "a", "in", "is", "it", "you", "that", "he", "was", "for", "on",
    "are", "with", "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or",
    "had", "by", "hot", "word", "but", "what", "some", "we", "can", "out", "other", "were",
    "all", "there", "when", "up", "use", "your", "how", "said", "an", "each", "she", "which",
    "do", "their", "time", "if", "will", "way", "about", "many", "then", "them", "write",
    "would", "like", "so", "these", "her", "long", "make", "thing", "see", "him", "two",
    "has", "look", "more", "day", "could", "go", "come", "did", "number", "sound", "no",
    "most", "people", "my", "over", "know", "water", "than", "call", "first", "who", "may",
    "down", "side", "been", "now", "find", "meeting", "report", "server", "mailbox",
    "project", "budget", "deadline", "attached", "please", "thanks", "review", "draft",
    "schedule", "customer", "invoice", "contract", "release", "version", "backup", "network",
    "account", "password", "quota", "migration", "tomorrow", "Monday", "Friday", "next",
    "week", "office", "question", "answer", "problem", "solution", "update", "install",
    "configuration", "document", "presentation", "conference", "travel", "hotel", "flight",
    "lunch", "dinner", "weekend", "holiday", "team", "manager", "department", "university",
    "lecture", "seminar", "exam", "student", "paper", "deadline,", "agreed.", "sure.",
    "indeed,", "however,", "okay.", "regards.", "(see", "below)", "e.g.", "i.e.", "etc.",
};
static const char *const ext_types[][2] = {
    {"pdf", "application/pdf"},
    {"doc", "application/msword"},
    {"xls", "application/vnd.ms-excel"},
    {"jpg", "image/jpeg"},
    {"png", "image/png"},
    {"zip", "application/zip"},
    {"ppt", "application/vnd.ms-powerpoint"},
};
static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const zones[] = {"+0100", "+0200", "-0500", "-0800", "+0000", "-0400"};

/* ---- dates (wall clock, no time zone database involved) --------------------------------- */

struct tmx {
	int year, mon, mday, hour, min, sec, wday;
};

static struct tmx civil(int64_t t)
{
	/* days since 1970-01-01 to y/m/d (Howard Hinnant's algorithm) */
	int64_t days = t / 86400, secs = t % 86400;
	struct tmx r;
	r.wday = (int)((days + 4) % 7);
	int64_t z = days + 719468, era = z / 146097, doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	r.mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	r.mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	r.year = (int)(yoe + era * 400 + (r.mon < 2));
	r.hour = (int)(secs / 3600), r.min = (int)(secs / 60 % 60), r.sec = (int)(secs % 60);
	return r;
}

/* `Wed Dec  2 05:53:22 1992` */
static void ctime_str(char *buf, size_t n, int64_t t)
{
	struct tmx c = civil(t);
	snprintf(buf, n, "%s %s %2d %02d:%02d:%02d %d", wdays[c.wday], months[c.mon], c.mday,
	         c.hour, c.min, c.sec, c.year);
}

/* `Wed, 2 Dec 1992 05:53:22 +0100` */
static void rfc_date(char *buf, size_t n, int64_t t, const char *zone)
{
	struct tmx c = civil(t);
	snprintf(buf, n, "%s, %d %s %d %02d:%02d:%02d %s", wdays[c.wday], c.mday, months[c.mon],
	         c.year, c.hour, c.min, c.sec, zone);
}

/* ---- message parts --------------------------------------------------------------------- */

struct person {
	char addr[96], name[96];
};

static struct person person(void)
{
	struct person p;
	const char *f = PICK(first_names), *l = PICK(last_names), *d = PICK(domains);
	snprintf(p.addr, sizeof p.addr, "%s.%s@%s", f, l, d);
	snprintf(p.name, sizeof p.name, "%c%s %c%s", f[0] - 32, f + 1, l[0] - 32, l + 1);
	return p;
}

/* one line of prose, at most width characters plus LF */
static void text_line(const char *prefix, int width)
{
	char line[256];
	int n = snprintf(line, sizeof line, "%s", prefix);
	int target = width - 12 + (int)below(12);
	for (;;) {
		const char *w = PICK(words);
		int wl = (int)strlen(w);
		if (n + wl + 1 > target)
			break;
		if (n > (int)strlen(prefix))
			line[n++] = ' ';
		memcpy(line + n, w, (size_t)wl);
		n += wl;
	}
	line[n++] = '\n';
	out(line, (size_t)n);
}

/* Plain text body of about len bytes: paragraphs, sometimes a quoted part, the odd
 * ">From " and invalid "From " lines, a signature. */
static void text_body(uint64_t len, const struct person *from, int reply, int64_t t)
{
	uint64_t start = written;
	int first = 1;
	while (written - start < len) {
		if (!first)
			outs("\n");
		if (reply && first) {
			char d[64];
			rfc_date(d, sizeof d, t - 3600 - below(86400 * 3), PICK(zones));
			outf("On %s, %s wrote:\n", d, PICK(first_names));
			int q = 2 + (int)below(8);
			for (int i = 0; i < q; i++)
				text_line("> ", 72);
			outs("\n");
		}
		first = 0;
		unsigned k = below(1000);
		if (k < 15) /* an mboxo-escaped line */
			outs(">From the minutes of the last meeting, as promised:\n");
		else if (k < 30) /* prose starting with "From ": not a From_ line for anyone */
			outs("From what I remember the old server kept everything in one file.\n");
		else if (k < 35) { /* a forwarded From_ line with an unpadded day: c-client's
		                       VALID rejects it; no blank line before it, so mb2md too */
			outs("---------- Forwarded message ----------\n");
			outs("From bob@example.org Wed Dec 2 05:53:22 1992\n");
			outs("From: Bob <bob@example.org>\nSubject: old news\n");
		}
		int lines = 2 + (int)below(9);
		for (int i = 0; i < lines && written - start < len; i++)
			text_line("", 72);
	}
	outf("\n-- \n%s\n", from->name);
}

static void base64_body(uint64_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char line[78];
	uint64_t lines = len / 77;
	for (uint64_t i = 0; i < lines; i++) {
		for (int j = 0; j < 76; j += 8) {
			uint64_t r = next();
			for (int k = 0; k < 8 && j + k < 76; k++, r >>= 6)
				line[j + k] = b64[r & 63];
		}
		line[76] = '\n';
		out(line, 77);
	}
	int last = 4 * (1 + (int)below(18));
	for (int j = 0; j < last; j++)
		line[j] = b64[below(64)];
	line[last - 1] = '=';
	line[last] = '\n';
	out(line, (size_t)last + 1);
}

static void html_body(uint64_t len)
{
	uint64_t start = written;
	outs("<html><head><meta http-equiv=3D\"Content-Type\" content=3D\"text/html\"></head>\n"
	     "<body>\n");
	while (written - start < len) {
		outs("<p>");
		text_line("", 70);
		outs("</p>\n");
	}
	outs("</body></html>\n");
}

/* ---- the mailbox ----------------------------------------------------------------------- */

struct status {
	uint32_t uidvalidity, last_uid, first_uid;
	uint64_t block_off; /* file offset of message 1's status block */
	size_t block_len;
};

static size_t status_block(char *buf, size_t n, int first, const struct status *st, uint32_t uid,
                           int seen, int deleted, int flagged, int answered, int draft,
                           int kw_label, int kw_junk)
{
	/* unix_xstatus(): X-Keywords: padded so the block so far is >= 50 bytes, 80 with
	 * X-IMAPbase; keywords in slot order */
	size_t len = 0;
	if (first)
		len += (size_t)snprintf(buf + len, n - len, "X-IMAPbase: %" PRIu32 " %" PRIu32
		                        " $Label1 Junk\n", st->uidvalidity, st->last_uid);
	len += (size_t)snprintf(buf + len, n - len, "Status: %sO\nX-Status: %s%s%s%s\nX-Keywords:%s%s",
	                        seen ? "R" : "", deleted ? "D" : "", flagged ? "F" : "",
	                        answered ? "A" : "", draft ? "T" : "", kw_label ? " $Label1" : "",
	                        kw_junk ? " Junk" : "");
	size_t pad = first ? 80 : 50;
	while (len < pad)
		buf[len++] = ' ';
	len += (size_t)snprintf(buf + len, n - len, "\nX-UID: %" PRIu32 "\n", uid);
	return len;
}

/* what to write: until target bytes, or exactly messages messages when not 0 */
struct shape {
	uint64_t target, messages, attach_bytes;
	unsigned attach_permille;
	int slim; /* --slim: short notes (see the top of the file) */
};

static int more_messages(const struct shape *sh, uint64_t nmsgs)
{
	return sh->messages ? nmsgs < sh->messages : written < sh->target;
}

/* the newest 0.5% of the file: delivered since the last rewrite */
static int in_tail(const struct shape *sh, uint64_t nmsgs)
{
	if (sh->messages)
		return nmsgs >= sh->messages - sh->messages / 200;
	return written >= sh->target - sh->target / 200;
}

static uint64_t generate(const struct shape *sh, uint64_t seed, struct status *st)
{
	seed_rng(seed);
	st->uidvalidity = 1104537600u + (uint32_t)(seed % 1000000u); /* early 2005 */
	st->last_uid = 0;
	int64_t t = 1104570000; /* 2005-01-01 09:00 */
	uint32_t uid = 0;
	uint64_t nmsgs = 0;
	const char *me = "jdoe@example.com";
	while (more_messages(sh, nmsgs)) {
		t += 60 + (int64_t)lognormal(1500, 150, 1, 86400 * 20); /* minutes to days apart */
		int tail = in_tail(sh, nmsgs);
		struct person from = person();
		char ctm[64], date[64], rdate[64];
		const char *zone = PICK(zones);
		ctime_str(ctm, sizeof ctm, t);
		rfc_date(date, sizeof date, t - 5 - below(600), zone);
		rfc_date(rdate, sizeof rdate, t, "+0100");

		/* From_ line: envelope sender, sometimes a bounce or list address */
		unsigned k = below(100);
		if (k < 3)
			outf("From MAILER-DAEMON %s\n", ctm);
		else if (k < 15)
			outf("From owner-%s@lists.example.org %s\n", PICK(words), ctm);
		else
			outf("From %s %s\n", from.addr, ctm);

		outf("Return-Path: <%s>\n", from.addr);
		int nrecv = 2 + (int)below(3);
		if (sh->slim)
			nrecv = nrecv & 1; /* none (local mail) or one */
		for (int i = 0; i < nrecv; i++) {
			const char *h = PICK(hosts), *d = PICK(domains);
			outf("Received: from %s.%s (%s.%s [192.0.2.%u])\n"
			     "\tby %s.example.com (8.13.8/8.13.8) with ESMTP id k%02X%08X%u\n"
			     "\tfor <%s>; %s\n",
			     h, d, h, d, 1 + below(254), i ? "relay" : "mail", below(256),
			     (unsigned)(next() >> 32), below(100000), me, rdate);
		}
		outf("Date: %s\n", date);
		outf("From: \"%s\" <%s>\n", from.name, from.addr);
		if (permille(200)) {
			struct person a = person(), b = person();
			outf("To: %s,\n\t\"%s\" <%s>,\n\t%s\n", me, a.name, a.addr, b.addr);
		} else
			outf("To: %s\n", me);
		if (permille(150)) {
			struct person c = person();
			outf("Cc: \"%s\" <%s>\n", c.name, c.addr);
		}
		int reply = permille(350);
		char subj[200];
		int sl = snprintf(subj, sizeof subj, "%s", reply ? "Re: " : permille(60) ? "Fwd: " : "");
		int nw = 2 + (int)below(7);
		for (int i = 0; i < nw; i++)
			sl += snprintf(subj + sl, sizeof subj - (size_t)sl, "%s%s", i ? " " : "", PICK(words));
		if (permille(50))
			outf("Subject: =?ISO-8859-1?Q?%s_=FCber_das_Treffen?=\n", PICK(words));
		else
			outf("Subject: %s\n", subj);
		struct tmx c = civil(t);
		outf("Message-ID: <%04d%02d%02d%02d%02d%02d.GA%05u@%s.%s>\n", c.year, c.mon + 1, c.mday,
		     c.hour, c.min, c.sec, below(100000), PICK(hosts), PICK(domains));
		if (reply) {
			unsigned r = below(1000000);
			outf("In-Reply-To: <%u.%u@%s>\n", r, below(1000), PICK(domains));
			outf("References: <%u.%u@%s>\n\t<%u.%u@%s>\n", r + 17, below(1000), PICK(domains),
			     r, below(1000), PICK(domains));
		}
		if (permille(600) && !sh->slim)
			outf("%s\n", PICK(mailers));
		outs("MIME-Version: 1.0\n");

		uint64_t text_len = lognormal(sh->slim ? 80 : 3000, 90, sh->slim ? 1 : 60, 256 * 1024);
		int attach = permille(sh->attach_permille), alt = !attach && permille(150);
		if (sh->slim)
			alt = 0;
		char boundary[64];
		snprintf(boundary, sizeof boundary, "----=_NextPart_%03u_%04X_%08X", below(1000),
		         below(65536), (unsigned)(next() >> 32));
		const char *cs = PICK(charsets);
		if (attach)
			outf("Content-Type: multipart/mixed;\n\tboundary=\"%s\"\n", boundary);
		else if (alt)
			outf("Content-Type: multipart/alternative;\n\tboundary=\"%s\"\n", boundary);
		else
			outf("Content-Type: text/plain; charset=%s%s\nContent-Transfer-Encoding: %s\n",
			     cs, permille(200) ? "; format=flowed" : "", permille(300) ? "8bit" : "7bit");

		/* the status block, as c-client writes it at the end of the header */
		/* (drawn for every message, so a smaller file is a prefix of a larger one) */
		uint32_t step = permille(30) ? 2 + below(20) : 1; /* gaps: expunged mail */
		int seen = permille(880), del = permille(10), flag = permille(50),
		    ans = permille(200), draft = permille(3), kl = permille(30), kj = permille(20);
		if (!tail) {
			uid += step;
			st->last_uid = uid;
			if (nmsgs == 0) { /* message 1: fixed flags, see main() */
				seen = 1, del = flag = ans = draft = kl = kj = 0;
				st->first_uid = uid;
				st->block_off = written;
			}
			char block[256];
			size_t bl = status_block(block, sizeof block, nmsgs == 0, st, uid, seen, del,
			                         flag, seen && ans, draft, kl, kj);
			if (nmsgs == 0)
				st->block_len = bl;
			out(block, bl);
		}
		outs("\n");

		/* body */
		if (attach || alt) {
			outs("This is a multi-part message in MIME format.\n\n");
			outf("--%s\nContent-Type: text/plain; charset=%s\n"
			     "Content-Transfer-Encoding: 7bit\n\n", boundary, cs);
			text_body(text_len, &from, reply, t);
			outs("\n");
			if (attach) {
				const char *const *et = ext_types[below(7)];
				unsigned num = below(10000);
				outf("--%s\nContent-Type: %s;\n\tname=\"file-%u.%s\"\n"
				     "Content-Transfer-Encoding: base64\n"
				     "Content-Disposition: attachment;\n\tfilename=\"file-%u.%s\"\n\n",
				     boundary, et[1], num, et[0], num, et[0]);
				uint64_t len = lognormal(120000, 100, 4096, 12u << 20);
				base64_body(sh->attach_bytes ? sh->attach_bytes : len);
			} else {
				outf("--%s\nContent-Type: text/html; charset=%s\n"
				     "Content-Transfer-Encoding: quoted-printable\n\n", boundary, cs);
				html_body(text_len * 2);
			}
			outf("\n--%s--\n", boundary);
		} else
			text_body(text_len, &from, reply, t);
		outs("\n"); /* the separator line c-client drops */
		nmsgs++;
	}
	st->last_uid += permille(500) ? below(5) : 0; /* the newest messages were expunged */
	return nmsgs;
}

static void usage(void)
{
	fputs("usage: gen_mbox [--size MIB | --messages N] [--seed N] [--attach PERMILLE]\n"
	      "                [--attach-mib MIB] [--slim] -o FILE\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t mib = 1024, seed = 1;
	struct shape sh = {.attach_permille = 50};
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			mib = strtoull(argv[++i], &end, 10);
			if (*end || !mib)
				usage();
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			seed = strtoull(argv[++i], &end, 10);
			if (*end)
				usage();
		} else if (!strcmp(argv[i], "--messages") && i + 1 < argc) {
			sh.messages = strtoull(argv[++i], &end, 10);
			if (*end || !sh.messages)
				usage();
		} else if (!strcmp(argv[i], "--attach") && i + 1 < argc) {
			unsigned long pm = strtoul(argv[++i], &end, 10);
			if (*end || pm > 1000)
				usage();
			sh.attach_permille = (unsigned)pm;
		} else if (!strcmp(argv[i], "--attach-mib") && i + 1 < argc) {
			uint64_t am = strtoull(argv[++i], &end, 10);
			if (*end || !am || am > 4096)
				usage();
			sh.attach_bytes = am << 20;
		} else if (!strcmp(argv[i], "--slim"))
			sh.slim = 1;
		else if (!strcmp(argv[i], "-o") && i + 1 < argc)
			path = argv[++i];
		else
			usage();
	}
	if (!path)
		usage();
	out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out_fd < 0) {
		fprintf(stderr, "gen_mbox: %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct status st = {0};
	sh.target = mib << 20;
	uint64_t nmsgs = generate(&sh, seed, &st);
	flush_out();

	/* Message 1 was written with last-UID 0; its padded status block has the same
	 * length with the real value (both fit under the 80-byte pad), so patch it. */
	char block[256];
	size_t bl = status_block(block, sizeof block, 1, &st, st.first_uid, 1, 0, 0, 0, 0, 0, 0);
	if (bl != st.block_len) {
		fputs("gen_mbox: cannot patch X-IMAPbase\n", stderr);
		return 1;
	}
	if (pwrite(out_fd, block, bl, (off_t)st.block_off) != (ssize_t)bl || close(out_fd) < 0) {
		perror("gen_mbox: write");
		return 1;
	}
	printf("%" PRIu64 " %" PRIu64 "\n", written, nmsgs);
	return 0;
}
