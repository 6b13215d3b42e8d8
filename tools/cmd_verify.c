/* cmd_verify.c — `mboxfs verify`: checks that a mail root (a live mount, or
 * the plain tree after unmounting) holds, file for file, what the mount
 * shows over the same state (the comparison is fs/verify.c). One line per
 * difference, "FILE: what differs", or with --json an array of {account,
 * folder, file, problem}; a summary line; exit status 0 when nothing
 * differs, 1 when something does, 2 when it could not run. */
#include "commands.h"
#include "fs.h"
#include "help.h"
#include "json.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define verify_usage verb_help("verify") /* the help table: tools/help.c */

struct output {
	int json;
	unsigned long long shown;
};

static void print_difference(const struct fs_verify_difference *d, void *arg)
{
	struct output *out = arg;
	if (!out->json) {
		printf("%s: %s\n", d->file, d->problem);
		return;
	}
	fputs(out->shown ? ",\n  {\"account\": " : "[\n  {\"account\": ", stdout);
	json_string(stdout, d->account);
	fputs(", \"folder\": ", stdout);
	json_string(stdout, d->folder);
	fputs(", \"file\": ", stdout);
	json_string(stdout, d->file);
	fputs(", \"problem\": ", stdout);
	json_string(stdout, d->problem);
	fputc('}', stdout);
	out->shown++;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"map", required_argument, NULL, 'm'},
	    {"state", required_argument, NULL, 's'},
	    {"account", required_argument, NULL, 'a'},
	    {"allow-changes", no_argument, NULL, 'c'},
	    {"source-tz", required_argument, NULL, 'z'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fs_config cfg = {0};
	const char *pattern = NULL;
	int allow_changes = 0, c;
	struct output out = {0};
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			cfg.map_path = optarg;
			break;
		case 's':
			cfg.state_dir = optarg;
			break;
		case 'a':
			pattern = optarg;
			break;
		case 'c':
			allow_changes = 1;
			break;
		case 'z':
			if (set_source_tz(optarg) < 0) {
				fprintf(stderr, "mboxfs verify: unknown time zone '%s'\n", optarg);
				return 2;
			}
			break;
		case 'j':
			out.json = 1;
			break;
		case 'h':
			fputs(verify_usage, stdout);
			return 0;
		default:
			fputs(verify_usage, stderr);
			return 2;
		}
	}
	if (!cfg.map_path || !cfg.state_dir || optind != argc - 1) {
		fputs(verify_usage, stderr);
		return 2;
	}
	cfg.upper_dir = argv[optind];
	struct fs_verify_totals totals;
	if (fs_verify(&cfg, pattern, allow_changes, print_difference, &out, &totals) < 0)
		return 2;
	if (out.json)
		fputs(out.shown ? "\n]\n" : "[]\n", stdout);
	/* with --json, stdout is only the array */
	fprintf(out.json ? stderr : stdout,
	        "%s: %llu messages in %llu folders of %llu accounts verified: %llu difference%s\n",
	        cfg.upper_dir, totals.messages, totals.folders, totals.accounts, totals.differences,
	        totals.differences == 1 ? "" : "s");
	return totals.differences ? 1 : 0;
}
