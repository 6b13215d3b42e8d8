/* cmd_status.c — `mboxfs status`: what of a mount is still virtual, per
 * account, so the administrator knows when the mail root is plain Maildir and
 * the mount can go (DESIGN.md, cutover). */
#include "account_map.h"
#include "commands.h"
#include "help.h"
#include "fs.h"
#include "mount_walk.h"

#include <getopt.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

#define status_usage verb_help("status") /* the help table: tools/help.c */

struct virtual_count {
	uint64_t messages, bytes, controls;
};

static int count_entry(const struct walk_entry *e, void *arg)
{
	struct virtual_count *n = arg;
	if (e->is_message)
		n->messages++, n->bytes += e->size;
	else
		n->controls++;
	return 0;
}

/* A line when the journals had to use the state directory's reserve: the
 * state directory is full, and once the reserve is gone Courier's flag
 * changes and expunges can fail. */
static void warn_reserve(const char *mailroot)
{
	char text[64];
	unsigned long long left, whole;
	ssize_t n = lgetxattr(mailroot, MBOXFS_RESERVE_XATTR, text, sizeof text - 1);
	if (n < 0)
		return;
	text[n] = '\0';
	if (sscanf(text, "%llu %llu", &left, &whole) == 2 && left < whole)
		printf("warning: the state directory is full: the journals use its reserve, "
		       "%llu of %llu KiB left; free space there\n",
		       left >> 10, whole >> 10);
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"map", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *map_path = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'm')
			map_path = optarg;
		else {
			fputs(status_usage, c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (!map_path || optind != argc - 1) {
		fputs(status_usage, stderr);
		return 2;
	}
	const char *mailroot = argv[optind];
	struct account_map map = {0};
	if (open_mount("mboxfs status", map_path, mailroot, &map) < 0)
		return 1;
	struct virtual_count total = {0};
	size_t with_virtual = 0;
	int errors = 0, tty = isatty(2);
	for (size_t i = 0; i < map.naccounts; i++) {
		struct virtual_count n = {0};
		char path[4096];
		if (tty)
			fprintf(stderr, "\rmboxfs status: %zu/%zu accounts", i, map.naccounts);
		snprintf(path, sizeof path, "%s/%s", mailroot, map.accounts[i].maildir);
		if (walk_maildir(path, count_entry, &n) < 0)
			errors = 1;
		if (!n.messages && !n.controls)
			continue;
		if (tty)
			fputc('\n', stderr);
		printf("%s: %llu messages (%.1f MB) and %llu control files virtual\n",
		       map.accounts[i].maildir, (unsigned long long)n.messages,
		       (double)n.bytes / 1e6, (unsigned long long)n.controls);
		with_virtual++;
		total.messages += n.messages, total.bytes += n.bytes, total.controls += n.controls;
	}
	if (tty)
		fprintf(stderr, "\rmboxfs status: %zu/%zu accounts\n", map.naccounts,
		        map.naccounts);
	if (with_virtual)
		printf("%zu of %zu accounts virtual in part: %llu messages (%.1f MB) and %llu "
		       "control files\n",
		       with_virtual, map.naccounts, (unsigned long long)total.messages,
		       (double)total.bytes / 1e6, (unsigned long long)total.controls);
	else if (!errors)
		printf("nothing virtual in the %zu accounts: %s is plain Maildir, the mount can "
		       "go\n",
		       map.naccounts, mailroot);
	warn_reserve(mailroot);
	map_free(&map);
	return errors ? 1 : with_virtual ? 3 : 0;
}
