/* help.c — the help table: per verb, its usage lines, what it does, and one
 * line per option (contract in help.h). Keep it in step with doc/mboxfs.1. */
#include "help.h"

#include <string.h>

struct verb_doc {
	const char *name;
	const char *usage;   /* the usage lines, without "usage: " */
	const char *summary; /* what it does, indented lines */
	const char *options; /* one line per option */
};

static const struct verb_doc verbs[] = {
    {"show", "mboxfs show [--source-tz ZONE] [--state DIR --map FILE] [--json] MBOX\n",
     "  the served view of one mbox: UIDVALIDITY, UIDs, flags, keywords, sizes,\n"
     "  INTERNALDATEs and the maildir file names; with --state, as index and\n"
     "  mount serve it (the state directory is only read)\n",
     "  --source-tz ZONE    zone of From_ lines without one (default: this machine's)\n"
     "  --state DIR         state directory: shows the UIDVALIDITY chosen there\n"
     "  --map FILE          with --state: the account map that names MBOX\n"
     "  --json              one JSON object instead of text\n"},
    {"index", "mboxfs index --map FILE --state DIR [--source-tz ZONE] [--jobs N] [--json]\n",
     "  build or refresh the index of every mailbox in the account map and report\n"
     "  each one with its anomalies\n"
     "  exit status: 0 every mailbox indexed; 1 errors (bad map lines, unreadable\n"
     "  mailboxes); 2 bad usage; 3 no errors, but an INBOX is not a mailbox and\n"
     "  will not be served\n",
     "  --map FILE          the account map\n"
     "  --state DIR         state directory (created if missing)\n"
     "  --source-tz ZONE    zone of From_ lines without one (default: this machine's)\n"
     "  --jobs N            mailboxes indexed in parallel (default: processors)\n"
     "  --json              a JSON array, one object per mailbox\n"},
    {"mount",
     "mboxfs mount --map FILE --state DIR [--upper DIR] [--source-tz ZONE] [--foreground]\n"
     "             [--debug] [-o FUSE_OPTIONS] MOUNTPOINT\n"
     "mount.mboxfs MAP MOUNTPOINT -o state=DIR[,upper=DIR][,source_tz=ZONE][,FUSE_OPTIONS]\n",
     "  serve every account of the map as Courier maildirs at MOUNTPOINT; the\n"
     "  second form is what mount(8) runs for an /etc/fstab line of type mboxfs\n",
     "  --map FILE          the account map\n"
     "  --state DIR         state directory: indexes, UIDVALIDITYs, journals\n"
     "  --upper DIR         where real files go (default: MOUNTPOINT itself)\n"
     "  --source-tz ZONE    zone of From_ lines without one (default: this machine's)\n"
     "  --foreground        do not daemonize; log to standard error, not syslog\n"
     "  --debug             libfuse debug output (implies --foreground)\n"
     "  -o FUSE_OPTIONS     extra FUSE mount options\n"},
    {"reload", "mboxfs reload MOUNTPOINT\n",
     "  make the daemon serving MOUNTPOINT read its account map again: new lines\n"
     "  are served, removed ones retired once nothing of them is virtual, else\n"
     "  nothing changes (the same as SIGHUP to the daemon)\n",
     ""},
    {"materialize",
     "mboxfs materialize --map FILE [--account PATTERN] [--rate MB/S] [--quiet] MAILROOT\n"
     "mboxfs materialize --offline --map FILE --state DIR [--account PATTERN]\n"
     "                   [--source-tz ZONE] [--jobs N] [--quiet] MAILROOT\n",
     "  on a mount: write every message and control file still virtual to the\n"
     "  upper tree under its own name; interrupted, it goes on the next time.\n"
     "  With --offline, the same without a mount: the map converted to maildirs\n",
     "  --map FILE          the account map (the mount's, or a part of it)\n"
     "  --account PATTERN   only the accounts whose maildir matches (fnmatch)\n"
     "  --rate MB/S         at most this many megabytes of messages a second\n"
     "  --quiet             no progress line\n"
     "  --offline           without a mount (needs --state)\n"
     "  --state DIR         state directory (--offline)\n"
     "  --source-tz ZONE    zone of From_ lines without one (--offline)\n"
     "  --jobs N            accounts written in parallel (--offline)\n"},
    {"verify",
     "mboxfs verify --map FILE --state DIR [--account PATTERN] [--allow-changes]\n"
     "              [--source-tz ZONE] [--json] MAILROOT\n",
     "  check that MAILROOT (a mount, or the plain tree after unmounting) holds every\n"
     "  message and control file the mount shows, with the same names, bytes,\n"
     "  mtimes, flags, UIDVALIDITY and UIDs; each difference is printed; exit\n"
     "  status 0 when there is none, 1 when there are some\n",
     "  --map FILE          the account map\n"
     "  --state DIR         the state directory of the mount (only read)\n"
     "  --account PATTERN   only the accounts whose maildir matches (fnmatch)\n"
     "  --allow-changes     leave out what users may change after materialize\n"
     "  --source-tz ZONE    zone of From_ lines without one (default: this machine's)\n"
     "  --json              an array of {account, folder, file, problem}\n"},
    {"status", "mboxfs status --map FILE [--json] MAILROOT\n",
     "  what of a mount is still virtual, per account; exit status 0 when nothing\n"
     "  is, 3 when something is\n",
     "  --map FILE          the account map\n"
     "  --json              one JSON object: per account and in total\n"},
    {"map",
     "mboxfs map --passwd FILE [--domain DOMAIN] [--inbox FORMAT] [--home FORMAT]\n"
     "           [--folders SUBDIR] [--maildir FORMAT] [--owner USER] [--min-uid N]\n"
     "mboxfs map --lines FILE [--folders SUBDIR] [--maildir FORMAT] [--owner USER]\n"
     "mboxfs map --userdb FILE --inbox FORMAT [--home FORMAT] [--mailroot DIR]\n"
     "           [--folders SUBDIR] [--maildir FORMAT] [--owner USER]\n",
     "  write an account map on standard output from the old server's passwd\n"
     "  file, from \"domain user spool home\" lines, or from a Courier userdb\n"
     "  source file; report accounts without mail and duplicates on stderr\n",
     "  --passwd FILE       a passwd(5) file of the old server\n"
     "  --lines FILE        lines \"domain user spool home\" (home may be -)\n"
     "  --userdb FILE       a Courier userdb source file (name<TAB>field=value|...)\n"
     "  --domain DOMAIN     the domain of a passwd file's users (%d)\n"
     "  --inbox FORMAT      the INBOX mbox (default with --passwd: /var/mail/%u)\n"
     "  --home FORMAT       where the old home is now (default with --passwd: its field)\n"
     "  --folders SUBDIR    the folder directory, relative to the home (default: home)\n"
     "  --maildir FORMAT    the maildir below the mount (default: %u/Maildir, or\n"
     "                      %d/%u/Maildir with a domain)\n"
     "  --mailroot DIR      with --userdb: the mount point, to take the maildir\n"
     "                      from the userdb's mail or home field\n"
     "  --owner USER        owner= of every account (default: from the source)\n"
     "  --min-uid N         skip passwd users below this uid (default: 1000)\n"
     "  FORMAT: %u the user (the local part), %d the domain, %% a %\n"},
    {"help", "mboxfs help [VERB]\n", "  this overview, or the whole help of one verb\n", ""},
};

static const struct verb_doc *find(const char *verb)
{
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (!strcmp(verbs[i].name, verb))
			return &verbs[i];
	return NULL;
}

/* Writes "usage: " before the first line, indent before the others. */
static void print_usage_lines(FILE *out, const char *usage, const char *first, const char *rest)
{
	for (const char *line = usage; *line;) {
		size_t n = strcspn(line, "\n");
		fprintf(out, "%s%.*s\n", line == usage ? first : rest, (int)n, line);
		line += n + (line[n] == '\n');
	}
}

const char *verb_help(const char *verb)
{
	/* built once per verb, on first use, from the table */
	static char text[sizeof verbs / sizeof verbs[0]][4096];
	const struct verb_doc *v = find(verb);
	if (!v)
		return NULL;
	char *buf = text[v - verbs];
	if (!buf[0]) {
		FILE *out = fmemopen(buf, sizeof text[0] - 1, "w");
		if (!out)
			return v->usage;
		print_usage_lines(out, v->usage, "usage: ", "       ");
		fprintf(out, "\n%s", v->summary);
		if (v->options[0])
			fprintf(out, "\noptions:\n%s", v->options);
		fprintf(out, "\nSee mboxfs(1) for details.\n");
		fclose(out);
	}
	return buf;
}

void print_overview(FILE *out)
{
	fputs("usage: mboxfs <command> [options]\n"
	      "\n"
	      "Serve UW-IMAP mbox files as Courier-IMAP maildirs with the UIDs uw-imapd served.\n"
	      "\n"
	      "commands:\n",
	      out);
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		print_usage_lines(out, verbs[i].usage, "  ", "  ");
		print_usage_lines(out, verbs[i].summary, "    ", "    ");
	}
	fputs("\n'mboxfs help VERB' or 'mboxfs VERB --help' lists a verb's options.\n"
	      "See mboxfs(1) for details.\n",
	      out);
}

int cmd_help(int argc, char **argv)
{
	if (argc < 2) {
		print_overview(stdout);
		return 0;
	}
	const char *text = argc == 2 ? verb_help(argv[1]) : NULL;
	if (!text) {
		fprintf(stderr, "usage: mboxfs help [VERB]\n");
		if (argc == 2)
			fprintf(stderr, "mboxfs help: unknown command '%s'\n", argv[1]);
		return 2;
	}
	fputs(text, stdout);
	return 0;
}
