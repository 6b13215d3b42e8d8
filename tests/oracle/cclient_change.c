/* cclient_change.c — test oracle: the old server changing an mbox, done by
 * UW's own c-client library the way uw-imapd does it while mboxfs serves the
 * same file (the migration window, DESIGN.md "Sources").
 *
 *   cclient_change MBOX COMMAND...
 *     flag UID FLAGS       set flags, e.g. flag 7 '\Seen \Flagged'
 *     unflag UID FLAGS     clear flags
 *     expunge UID          set \Deleted and expunge
 *     append FILE          append a message (new mail), given in LF form
 *
 * Commands run in order on one read-write stream; closing it rewrites the
 * file as c-client does (Status, X-Status, X-Keywords, X-UID, X-IMAPbase).
 * Exit status: 0 ok, 1 c-client refused something (said on stderr), 2 usage.
 * Writes MBOX: only ever run it on a test's own copy.
 */
/* osdep.h defines the obsolete _BSD_SOURCE; with _DEFAULT_SOURCE glibc does not warn. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include <c-client.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *slurp(const char *path, unsigned long *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n = -1;
	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	*len = (unsigned long)n;
	return buf;
}

static int run(MAILSTREAM *stream, char *mbox, char **cmd, int n)
{
	for (int i = 0; i < n; i++) {
		if (!strcmp(cmd[i], "flag") && i + 2 < n) {
			mail_setflag_full(stream, cmd[i + 1], cmd[i + 2], ST_UID);
			i += 2;
		} else if (!strcmp(cmd[i], "unflag") && i + 2 < n) {
			mail_clearflag_full(stream, cmd[i + 1], cmd[i + 2], ST_UID);
			i += 2;
		} else if (!strcmp(cmd[i], "expunge") && i + 1 < n) {
			mail_setflag_full(stream, cmd[i + 1], "\\Deleted", ST_UID);
			mail_expunge(stream);
			i += 1;
		} else if (!strcmp(cmd[i], "append") && i + 1 < n) {
			unsigned long len;
			char *text = slurp(cmd[i + 1], &len);
			STRING msg;
			if (!text) {
				fprintf(stderr, "cclient_change: cannot read %s\n", cmd[i + 1]);
				return 1;
			}
			INIT(&msg, mail_string, text, len);
			long ok = mail_append(stream, mbox, &msg);
			free(text);
			if (!ok)
				return 1;
			mail_ping(stream); /* take the new message in, as uw-imapd would */
			i += 1;
		} else {
			fprintf(stderr, "cclient_change: bad command at '%s'\n", cmd[i]);
			return 2;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fputs("usage: cclient_change MBOX COMMAND...\n", stderr);
		return 2;
	}
#include "linkage.c" /* link every driver, as imapd does */

	/* c-client names a mailbox relative to the home directory (it refuses
	 * this absolute path): the mbox's directory is made the home */
	char *slash = strrchr(argv[1], '/');
	if (slash) {
		*slash = '\0';
		setenv("HOME", *argv[1] ? argv[1] : "/", 1);
		argv[1] = slash + 1;
	} else if (!getenv("HOME"))
		setenv("HOME", ".", 1);
	struct passwd *pw = getpwuid(geteuid());
	env_init(pw ? pw->pw_name : "nobody", getenv("HOME"));
	MAILSTREAM *stream = mail_open(NIL, argv[1], NIL);
	if (!stream || stream->rdonly) {
		fprintf(stderr, "cclient_change: c-client cannot open %s read-write\n", argv[1]);
		return 1;
	}
	int rc = run(stream, argv[1], argv + 2, argc - 2);
	mail_close(stream);
	return rc;
}

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libc-client.so\n";
}

void mm_log(char *string, long errflg)
{
	if (errflg == ERROR)
		fprintf(stderr, "c-client error: %s\n", string);
}

void mm_dlog(char *string)
{
	(void)string;
}
