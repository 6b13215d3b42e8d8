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
    "  show [--source-tz ZONE] [--state DIR] [--json] MBOX\n"
    "      the served view of one mbox: UIDVALIDITY, UIDs, flags, keywords, sizes,\n"
    "      INTERNALDATEs and the maildir file names\n"
    "  index --map FILE --state DIR [--source-tz ZONE] [--jobs N] [--json]\n"
    "      build or refresh the index of every mailbox in the account map and\n"
    "      report each one with its anomalies\n"
    "\n"
    "See mboxfs(1) for details.\n";

int set_source_tz(const char *zone)
{
	/* TZ names are looked up by tzset(); an unknown name silently means UTC,
	 * so check that the zone file exists for names that are not POSIX rules. */
	if (zone[0] != ':' && !strchr(zone, ',') && strchr(zone, '/')) {
		char path[512];
		snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", zone);
		if (access(path, R_OK) != 0)
			return -1;
	}
	setenv("TZ", zone, 1);
	tzset();
	return 0;
}

int main(int argc, char **argv)
{
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
	fprintf(stderr, "mboxfs: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
