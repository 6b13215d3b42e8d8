/* cclient_open.c — benchmark peer: how long UW c-client (what uw-imapd runs) takes to
 * open an mbox, i.e. to parse it completely (message boundaries, status headers, UIDs,
 * sizes), as at an IMAP EXAMINE.
 *
 *   cclient_open FILE
 *
 * Opens FILE read-only (OP_READONLY: the file is never rewritten) and prints
 * "<messages> <uidvalidity> <uidnext>". Exit status 1 if c-client cannot open it.
 *
 * As for any c-client program run as root (reference/uw-imap-mbox.md, pitfall 11):
 * Debian's c-client refuses absolute names and "..", so HOME is set to the file's
 * directory and the file is opened by its base name; env_init() comes first; every
 * mm_* callback is defined here. A base name c-client would read itself (INBOX,
 * #..., {...}, ~...) is opened through a symlink in a temporary directory.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1 /* osdep.h defines the obsolete _BSD_SOURCE */
#endif
#include <c-client.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: cclient_open MBOXFILE\n", stderr);
		return 2;
	}
	char real[PATH_MAX], tmpdir[] = "/tmp/cclient_open.XXXXXX", alias[PATH_MAX] = "";
	if (!realpath(argv[1], real)) {
		fprintf(stderr, "cclient_open: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	char *slash = strrchr(real, '/');
	char *dir = real, *base = slash + 1;
	*slash = '\0';
	if (!*dir)
		dir = "/";
	if (!strcasecmp(base, "INBOX") || strchr("#{~", base[0]) || strstr(base, "..")) {
		if (!mkdtemp(tmpdir)) {
			perror("cclient_open: mkdtemp");
			return 2;
		}
		snprintf(alias, sizeof alias, "%s/mailbox", tmpdir);
		*slash = '/';
		if (symlink(real, alias) < 0) {
			perror("cclient_open: symlink");
			rmdir(tmpdir);
			return 2;
		}
		dir = tmpdir, base = "mailbox";
	}

#include "linkage.c" /* every driver, as imapd links them */

	struct passwd *pw = getpwuid(geteuid());
	setenv("HOME", dir, 1);
	env_init(pw ? pw->pw_name : "nobody", dir);

	int rc = 1;
	MAILSTREAM *stream = mail_open(NIL, base, OP_READONLY);
	if (stream) {
		printf("%lu %lu %lu\n", stream->nmsgs, stream->uid_validity, stream->uid_last + 1);
		mail_close(stream);
		rc = 0;
	} else
		fprintf(stderr, "cclient_open: c-client cannot open %s\n", argv[1]);
	if (*alias) {
		unlink(alias);
		rmdir(tmpdir);
	}
	return rc;
}

/* ---- the callbacks c-client requires of every application ---------------------------- */

void mm_log(char *string, long errflg)
{
	if (errflg == ERROR)
		fprintf(stderr, "c-client: %s\n", string);
}

void mm_dlog(char *string)
{
	(void)string;
}

