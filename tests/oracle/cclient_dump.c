/* cclient_dump.c — test oracle: what UW c-client (hence uw-imapd) serves for one mbox file.
 *
 *   cclient_dump [-v] [--bytes DIR] FILE
 *
 * Opens (a private copy of) FILE read-only with the c-client library and prints one JSON
 * object in the format of corpora/expected/: driver, UIDVALIDITY, UIDNEXT, declared keywords
 * and, per message, UID, flags, keywords, \Recent, RFC822.SIZE, INTERNALDATE and the SHA-256
 * of BODY[] with CRLF turned into LF. --bytes DIR also writes each message (LF form) to
 * DIR/<uid>. -v copies c-client's log messages ("UID less than" etc.) to stderr.
 *
 * Exit status: 0 ok, 1 c-client could not open the file, 2 usage or system error, 3 c-client
 * contradicted itself: a message's BODY[] is not RFC822.SIZE octets long (seen when the file
 * ends inside a header without a newline: c-client then serves stale buffer bytes), so its
 * answer is no reference there. The JSON is printed anyway.
 */
/* osdep.h defines the obsolete _BSD_SOURCE; with _DEFAULT_SOURCE glibc does not warn. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include <c-client.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h" /* tools/sha256.h */

static int verbose;

/* ---- JSON output ---------------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* A JSON string. Valid UTF-8 is copied; every other byte >= 0x80 is written as \u00XX (as
 * if Latin-1), the same convention as `mboxfs show --json`, so byte strings compare. */
static void json_str(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str);
	putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];
		size_t u;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\u%04x", c);
		else if (c < 0x80)
			putchar(c);
		else if ((u = utf8_len(s + i, len - i))) {
			fwrite(s + i, 1, u, stdout);
			i += u - 1;
		} else
			printf("\\u%04x", c);
	}
	putchar('"');
}

/* ---- served message bytes ------------------------------------------------------------- */

/* Receives BODY[] piecewise and passes it on with every CRLF turned into LF. A CR at the end
 * of one piece is held back until the next byte is known. */
struct lf_sink {
	struct sha256 sha;
	FILE *copy; /* --bytes file or NULL */
	int held_cr;
};

static void sink_out(struct lf_sink *k, const char *p, size_t n)
{
	sha256_update(&k->sha, p, n);
	if (k->copy)
		fwrite(p, 1, n, k->copy);
}

static void sink_add(struct lf_sink *k, const char *p, size_t n)
{
	size_t start = 0;
	if (k->held_cr && n) {
		k->held_cr = 0;
		if (p[0] != '\n')
			sink_out(k, "\r", 1);
	}
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\r')
			continue;
		sink_out(k, p + start, i - start);
		start = i + 1;
		if (i + 1 == n)
			k->held_cr = 1; /* decide when the next piece arrives */
		else if (p[i + 1] != '\n')
			sink_out(k, "\r", 1); /* lone CR stays */
	}
	sink_out(k, p + start, n - start);
}

static void sink_finish(struct lf_sink *k, char hex[65])
{
	if (k->held_cr)
		sink_out(k, "\r", 1);
	sha256_hex(&k->sha, hex);
}

/* SHA-256 (and optional copy) of message msgno as imapd serves BODY[]: the header, then the
 * text, both fetched with FT_PEEK so nothing is marked \Seen. The header is copied first
 * because a driver may reuse one buffer for both fetches. *served gets the octet count. */
static int hash_message(MAILSTREAM *stream, unsigned long msgno, const char *bytes_dir,
                        char hex[65], unsigned long *served)
{
	unsigned long hlen = 0, tlen = 0;
	char *h = mail_fetch_header(stream, msgno, NIL, NIL, &hlen, FT_PEEK);
	char *hcopy = malloc(hlen + 1);
	struct lf_sink k = {.copy = NULL, .held_cr = 0};
	if (!hcopy)
		return -1;
	memcpy(hcopy, h, hlen);
	sha256_init(&k.sha);
	if (bytes_dir) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s/%lu", bytes_dir, mail_uid(stream, msgno));
		if (!(k.copy = fopen(path, "wb"))) {
			fprintf(stderr, "cclient_dump: %s: %s\n", path, strerror(errno));
			free(hcopy);
			return -1;
		}
	}
	sink_add(&k, hcopy, hlen);
	free(hcopy);
	char *t = mail_fetch_text(stream, msgno, NIL, &tlen, FT_PEEK);
	sink_add(&k, t, tlen);
	sink_finish(&k, hex);
	*served = hlen + tlen;
	if (k.copy && fclose(k.copy)) {
		fprintf(stderr, "cclient_dump: write error: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- dump ----------------------------------------------------------------------------- */

/* Returns 0, -1 on a system error, 1 if c-client contradicted itself (see exit status 3). */
static int dump(MAILSTREAM *stream, const char *given_path, const char *bytes_dir)
{
	int inconsistent = 0;
	/* The system flags, in the order imapd prints them. */
	static const char *const flag_names[] = {"\\Seen", "\\Deleted", "\\Flagged", "\\Answered",
	                                         "\\Draft"};
	const char *tz = getenv("TZ");
	printf("{\"mbox\": ");
	json_str(given_path);
	printf(", \"tz\": ");
	json_str(tz ? tz : "");
	printf(", \"driver\": ");
	json_str(stream->dtb ? stream->dtb->name : "");
	printf(", \"uidvalidity\": %lu, \"uidnext\": %lu, \"keywords\": [", stream->uid_validity,
	       stream->uid_last + 1);
	/* Declared keywords: slots up to the first empty one (c-client stops matching there). */
	for (int i = 0; i < NUSERFLAGS && stream->user_flags[i]; i++) {
		printf(i ? ", " : "");
		json_str(stream->user_flags[i]);
	}
	printf("], \"messages\": [");
	if (stream->nmsgs)
		mail_fetch_fast(stream, "1:*", NIL); /* no-op for unix; as imapd would */
	for (unsigned long i = 1; i <= stream->nmsgs; i++) {
		MESSAGECACHE *elt = mail_elt(stream, i);
		char hex[65], date[MAILTMPLEN];
		const int set[] = {elt->seen, elt->deleted, elt->flagged, elt->answered,
		                   elt->draft};
		unsigned long served;
		if (hash_message(stream, i, bytes_dir, hex, &served) < 0)
			return -1;
		if (served != elt->rfc822_size) {
			fprintf(stderr,
			        "cclient_dump: c-client contradicts itself for UID %lu: "
			        "RFC822.SIZE %lu "
			        "but BODY[] has %lu octets\n",
			        mail_uid(stream, i), elt->rfc822_size, served);
			inconsistent = 1;
		}
		printf("%s\n {\"uid\": %lu, \"flags\": [", i > 1 ? "," : "", mail_uid(stream, i));
		for (size_t j = 0, n = 0; j < sizeof set / sizeof set[0]; j++)
			if (set[j]) {
				printf(n++ ? ", " : "");
				json_str(flag_names[j]);
			}
		printf("], \"keywords\": [");
		for (int j = 0, n = 0; j < NUSERFLAGS; j++)
			if ((elt->user_flags & (1UL << j)) && stream->user_flags[j]) {
				printf(n++ ? ", " : "");
				json_str(stream->user_flags[j]);
			}
		mail_date(date, elt);
		printf("], \"recent\": %s, \"size\": %lu, \"internaldate\": ",
		       elt->recent ? "true" : "false", elt->rfc822_size);
		json_str(date);
		printf(", \"sha256_lf\": \"%s\"}", hex);
	}
	printf("%s]}\n", stream->nmsgs ? "\n" : "");
	return fflush(stdout) ? -1 : inconsistent;
}

/* Copy the mbox to dir/mailbox with the same timestamps (the phile driver serves the mtime as
 * INTERNALDATE). Returns 0 or -1 with errno set. */
/* (c-client's osdep.h turns write into its EINTR-safe safe_write, which takes a char *.) */
static int write_all(int fd, char *p, size_t n)
{
	for (ssize_t w; n; p += w, n -= (size_t)w)
		if ((w = write(fd, p, n)) < 0)
			return -1;
	return 0;
}

static int copy_file(const char *from, const struct stat *st, const char *to)
{
	char buf[1 << 16];
	ssize_t n = -1;
	int in = open(from, O_RDONLY), out = -1;
	if (in >= 0 && (out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0)
		while ((n = read(in, buf, sizeof buf)) > 0 && !write_all(out, buf, (size_t)n))
			;
	const struct timespec times[2] = {st->st_atim, st->st_mtim};
	int ok = n == 0 && !futimens(out, times); /* n == 0: copied up to EOF */
	int saved = errno;
	if (out >= 0 && close(out))
		ok = 0, saved = errno;
	if (in >= 0)
		close(in);
	errno = saved;
	return ok ? 0 : -1;
}

/* Remove dir and the files in it (the copy, and a lock file should c-client leave one). */
static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX + 256];
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* The private copy and its directory, for the signal handler: c-client crashes or hangs (and
 * gets killed by a timeout) on some malformed input; the copy should not stay behind. */
static char tmp_home[512], tmp_mailbox[sizeof tmp_home + 8], tmp_lock[sizeof tmp_home + 16];

static void remove_copy_and_die(int sig)
{
	unlink(tmp_mailbox); /* all async-signal-safe */
	unlink(tmp_lock);
	rmdir(tmp_home);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void usage(void)
{
	fputs("usage: cclient_dump [-v] [--bytes DIR] MBOXFILE\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *bytes_dir = NULL, *given = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v"))
			verbose = 1;
		else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
			bytes_dir = argv[++i];
		else if (argv[i][0] == '-' || given)
			usage();
		else
			given = argv[i];
	}
	if (!given)
		usage();

	struct stat st;
	if (stat(given, &st)) {
		fprintf(stderr, "cclient_dump: %s: %s\n", given, strerror(errno));
		return 2;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "cclient_dump: %s: not a regular file\n", given);
		return 2;
	}
	if (bytes_dir && mkdir(bytes_dir, 0777) && errno != EEXIST) {
		fprintf(stderr, "cclient_dump: %s: %s\n", bytes_dir, strerror(errno));
		return 2;
	}
	/* c-client opens a plain name relative to the home directory (Debian's build refuses
	 * absolute names and ".."), maps INBOX to the system inbox, and, even read-only, puts a
	 * lock file beside the mailbox and resets its atime/mtime (to whole seconds). So it gets
	 * a private copy, "mailbox" in a new directory that is also its home directory. */
	const char *tmp = getenv("TMPDIR");
	char *home = tmp_home;
	if ((size_t)snprintf(home, sizeof tmp_home, "%s/cclient_dump.XXXXXX",
	                     tmp && *tmp ? tmp : "/tmp") >= sizeof tmp_home) {
		fprintf(stderr, "cclient_dump: TMPDIR too long for c-client\n");
		return 2;
	}
	if (!mkdtemp(home)) {
		fprintf(stderr, "cclient_dump: mkdtemp %s: %s\n", home, strerror(errno));
		return 2;
	}
	snprintf(tmp_mailbox, sizeof tmp_mailbox, "%s/mailbox", home);
	snprintf(tmp_lock, sizeof tmp_lock, "%s/mailbox.lock", home);
	static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGTERM, SIGINT, SIGHUP};
	for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
		signal(fatal_signals[i], remove_copy_and_die);
	if (copy_file(given, &st, tmp_mailbox)) {
		fprintf(stderr, "cclient_dump: copying %s to %s: %s\n", given, tmp_mailbox,
		        strerror(errno));
		remove_dir(home);
		return 2;
	}

#include "linkage.c" /* link every driver, as imapd does */

	/* Must come before anything asks c-client for the user name; as root c-client has no
	 * home directory otherwise. */
	struct passwd *pw = getpwuid(geteuid());
	setenv("HOME", home, 1);
	env_init(pw ? pw->pw_name : "nobody", home);

	int rc = 1;
	MAILSTREAM *stream = mail_open(NIL, "mailbox", OP_READONLY);
	if (!stream)
		fprintf(stderr, "cclient_dump: c-client cannot open %s\n", given);
	else {
		int r = dump(stream, given, bytes_dir);
		rc = r < 0 ? 2 : r > 0 ? 3 : 0;
		mail_close(stream);
	}
	remove_dir(home);
	return rc;
}

/* Under LeakSanitizer (the project's ASan build): c-client does not free everything it
 * allocates (e.g. the phile driver's envelope), which is not ours to fix. Unused otherwise. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libc-client.so\n";
}

/* ---- callbacks c-client requires of every application ------------------------------- */

void mm_log(char *string, long errflg)
{
	static const char *const kind[] = {"info", "warning", "error", "parse", "bye", "tcp"};
	if (verbose || errflg == ERROR)
		fprintf(stderr, "c-client %s: %s\n",
		        errflg >= 0 && errflg <= 5 ? kind[errflg] : "log", string);
}

void mm_dlog(char *string)
{
	if (verbose)
		fprintf(stderr, "c-client debug: %s\n", string);
}

