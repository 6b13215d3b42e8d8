/* cmd_status.c — `mboxfs status`: what of a mount is still virtual, per
 * account, so the administrator knows when the mail root is plain Maildir and
 * the mount can go (DESIGN.md, cutover). */
#include "account_map.h"
#include "commands.h"
#include "fs.h"
#include "help.h"
#include "json.h"
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

/* The state directory's journal reserve, from the mount root: 0, or -1 when
 * the mount does not say. */
static int read_reserve(const char *mailroot, unsigned long long *left, unsigned long long *whole)
{
	char text[64];
	ssize_t n = lgetxattr(mailroot, MBOXFS_RESERVE_XATTR, text, sizeof text - 1);
	if (n < 0)
		return -1;
	text[n] = '\0';
	return sscanf(text, "%llu %llu", left, whole) == 2 ? 0 : -1;
}

/* A line when the journals had to use the state directory's reserve: the
 * state directory is full, and once the reserve is gone Courier's flag
 * changes and expunges can fail. */
static void warn_reserve(const char *mailroot)
{
	unsigned long long left, whole;
	if (read_reserve(mailroot, &left, &whole) == 0 && left < whole)
		printf("warning: the state directory is full: the journals use its reserve, "
		       "%llu of %llu KiB left; free space there\n",
		       left >> 10, whole >> 10);
}

static void json_counts(const struct virtual_count *n)
{
	printf("\"virtual_messages\": %llu, \"virtual_bytes\": %llu, "
	       "\"virtual_control_files\": %llu",
	       (unsigned long long)n->messages, (unsigned long long)n->bytes,
	       (unsigned long long)n->controls);
}

/* --json: one object, every account of the map in it (monitoring wants the
 * ones that are done too). */
static void json_account(const char *maildir, const struct virtual_count *n, int error, int first)
{
	printf("%s\n    {\"maildir\": ", first ? "" : ",");
	json_string(stdout, maildir);
	printf(", ");
	json_counts(n);
	printf(", \"error\": %s}", error ? "true" : "false");
}

static void json_end(const char *mailroot, size_t naccounts, size_t with_virtual,
                     const struct virtual_count *total, int errors)
{
	unsigned long long left, whole;
	printf("%s],\n  \"mailroot\": ", naccounts ? "\n  " : "");
	json_string(stdout, mailroot);
	printf(",\n  \"accounts_total\": %zu, \"accounts_virtual\": %zu,\n  ", naccounts,
	       with_virtual);
	json_counts(total);
	printf(",\n  \"errors\": %s,\n  \"reserve\": ", errors ? "true" : "false");
	if (read_reserve(mailroot, &left, &whole) == 0)
		printf("{\"left\": %llu, \"whole\": %llu}", left, whole);
	else
		printf("null");
	printf(",\n  \"plain_maildir\": %s\n}\n", !with_virtual && !errors ? "true" : "false");
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"map", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *map_path = NULL;
	int c, json = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'm')
			map_path = optarg;
		else if (c == 'j')
			json = 1;
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
	if (json)
		printf("{\n  \"accounts\": [");
	for (size_t i = 0; i < map.naccounts; i++) {
		struct virtual_count n = {0};
		char path[4096];
		if (tty)
			fprintf(stderr, "\rmboxfs status: %zu/%zu accounts", i, map.naccounts);
		snprintf(path, sizeof path, "%s/%s", mailroot, map.accounts[i].maildir);
		int error = walk_maildir(path, count_entry, &n) < 0;
		errors |= error;
		if (json)
			json_account(map.accounts[i].maildir, &n, error, i == 0);
		if (!n.messages && !n.controls)
			continue;
		with_virtual++;
		total.messages += n.messages, total.bytes += n.bytes, total.controls += n.controls;
		if (json)
			continue;
		if (tty)
			fputc('\n', stderr);
		printf("%s: %llu messages (%.1f MB) and %llu control files virtual\n",
		       map.accounts[i].maildir, (unsigned long long)n.messages,
		       (double)n.bytes / 1e6, (unsigned long long)n.controls);
	}
	if (tty)
		fprintf(stderr, "\rmboxfs status: %zu/%zu accounts\n", map.naccounts,
		        map.naccounts);
	if (json)
		json_end(mailroot, map.naccounts, with_virtual, &total, errors);
	else if (with_virtual)
		printf("%zu of %zu accounts virtual in part: %llu messages (%.1f MB) and %llu "
		       "control files\n",
		       with_virtual, map.naccounts, (unsigned long long)total.messages,
		       (double)total.bytes / 1e6, (unsigned long long)total.controls);
	else if (!errors)
		printf("nothing virtual in the %zu accounts: %s is plain Maildir, the mount can "
		       "go\n",
		       map.naccounts, mailroot);
	if (!json)
		warn_reserve(mailroot);
	map_free(&map);
	return errors ? 1 : with_virtual ? 3 : 0;
}
