/* mboxfs.c — entry point: dispatch to a verb. */
#include "commands.h"
#include "help.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	/* Without TZ, glibc's mktime() stat()s /etc/localtime on every call to see
	 * whether it changed, and the parse asks it for every From_ line without a
	 * zone (index/from_line.c): one system call per message. Naming the same
	 * file in TZ reads the same rules once. A changed /etc/localtime is then
	 * taken in at the next start only, which also keeps one process's dates
	 * consistent. */
	if (!getenv("TZ"))
		setenv("TZ", ":/etc/localtime", 1);
	tzset();
	const char *self = strrchr(argv[0], '/');
	if (!strcmp(self ? self + 1 : argv[0], "mount.mboxfs"))
		return cmd_mount_helper(argc, argv);
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		print_overview(argc < 2 ? stderr : stdout);
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
	if (!strcmp(argv[1], "map"))
		return cmd_map(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help"))
		return cmd_help(argc - 1, argv + 1);
	fprintf(stderr, "mboxfs: unknown command '%s'\n\n", argv[1]);
	print_overview(stderr);
	return 2;
}
