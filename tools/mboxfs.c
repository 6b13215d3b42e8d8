/* mboxfs.c — entry point: dispatch to a verb. */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: mboxfs <command> [options]\n"
    "\n"
    "Serve UW-IMAP mbox files as Courier-IMAP maildirs with the UIDs uw-imapd served.\n"
    "\n"
    "commands:\n"
    "  show [--source-tz ZONE] [--state DIR --map FILE] [--json] MBOX\n"
    "      the served view of one mbox: UIDVALIDITY, UIDs, flags, keywords, sizes,\n"
    "      INTERNALDATEs and the maildir file names; with --state, as index and\n"
    "      mount serve it (the state is only read)\n"
    "  index --map FILE --state DIR [--source-tz ZONE] [--jobs N] [--json]\n"
    "      build or refresh the index of every mailbox in the account map and\n"
    "      report each one with its anomalies; exit status 3 when an INBOX is\n"
    "      not a mailbox and will not be served\n"
    "  mount --map FILE --state DIR [--upper DIR] [--source-tz ZONE] [--foreground]\n"
    "        [--debug] [-o FUSE_OPTIONS] MOUNTPOINT\n"
    "      serve every account of the map as Courier maildirs at MOUNTPOINT\n"
    "      (as mount.mboxfs MAP MOUNTPOINT -o state=DIR,... for /etc/fstab)\n"
    "  reload MOUNTPOINT\n"
    "      the mount reads its account map again: new accounts are served, accounts\n"
    "      gone from it retired once nothing of them is virtual (as SIGHUP)\n"
    "  materialize --map FILE [--account PATTERN] [--rate MB/S] [--quiet] MAILROOT\n"
    "      on a mount: write every message and control file still virtual to the\n"
    "      upper tree under its own name; interrupted, it goes on the next time\n"
    "  materialize --offline --map FILE --state DIR [--account PATTERN]\n"
    "              [--source-tz ZONE] [--jobs N] [--quiet] MAILROOT\n"
    "      the same without a mount: the map converted to maildirs in MAILROOT\n"
    "  status --map FILE MAILROOT\n"
    "      what of a mount is still virtual; exit status 0 when nothing is, 3 when\n"
    "      something is\n"
    "  verify --map FILE --state DIR [--account PATTERN] [--allow-changes]\n"
    "         [--source-tz ZONE] [--json] MAILROOT\n"
    "      check that MAILROOT (a mount, or the plain tree after unmounting) holds\n"
    "      every message and control file the mount shows, with the same names,\n"
    "      bytes, mtimes, flags, UIDVALIDITY and UIDs; prints each difference;\n"
    "      exit status 0 when there is none, 1 when there are some\n"
    "\n"
    "See mboxfs(1) for details.\n";

int set_source_tz(const char *zone)
{
	/* glibc reads an unknown zone name as UTC without a word: accept only names
	 * with a zoneinfo file, or POSIX rules (they contain an offset digit). */
	char path[512];
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone[0] == ':' ? zone + 1 : zone);
	if (access(path, R_OK) != 0 && !strpbrk(zone, "0123456789"))
		return -1;
	setenv("TZ", zone, 1);
	tzset();
	return 0;
}

int parse_jobs(const char *arg, const char *who, long *jobs)
{
	char *end;
	*jobs = strtol(arg, &end, 10);
	if (*end || *jobs < 1 || *jobs > 256) {
		fprintf(stderr, "%s: --jobs takes a number from 1 to 256\n", who);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	if (!strcmp(self ? self + 1 : argv[0], "mount.mboxfs"))
		return cmd_mount_helper(argc, argv);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("mboxfs " MBOXFS_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "show"))
		return cmd_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "index"))
		return cmd_index(argc - 1, argv + 1);
	if (!strcmp(argv[1], "mount"))
		return cmd_mount(argc - 1, argv + 1);
	if (!strcmp(argv[1], "materialize"))
		return cmd_materialize(argc - 1, argv + 1);
	if (!strcmp(argv[1], "reload"))
		return cmd_reload(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return cmd_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 1, argv + 1);
	fprintf(stderr, "mboxfs: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
