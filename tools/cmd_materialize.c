/* cmd_materialize.c — `mboxfs materialize`: every virtual object of a mount
 * written to the upper tree under its own name, one at a time (the daemon does
 * the work, see fs/materialize.c), throttled, with progress; interrupted, it
 * goes on where it stopped the next time. With --offline, the same without a
 * mount (fs/offline.c). */
#include "account_map.h"
#include "commands.h"
#include "fs.h"
#include "mount_walk.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static const char materialize_usage[] =
    "usage: mboxfs materialize --map FILE [--rate MB/S] [--quiet] MAILROOT\n"
    "       mboxfs materialize --offline --map FILE --state DIR [--source-tz ZONE]\n"
    "                          [--jobs N] [--quiet] MAILROOT\n";

struct online_run {
	double rate; /* bytes per second; 0: as fast as it goes */
	double started, reported;
	uint64_t messages, bytes, controls, failures;
	size_t account, naccounts;
	int progress;
	int lost; /* the mount went away */
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(const struct online_run *run, const char *end)
{
	fprintf(stderr, "\rmboxfs materialize: %zu/%zu accounts, %llu messages, %.1f MB%s",
	        run->account, run->naccounts, (unsigned long long)run->messages,
	        (double)run->bytes / 1e6, end);
}

static int materialize_entry(const struct walk_entry *e, void *arg)
{
	struct online_run *run = arg;
	if (lsetxattr(e->path, MBOXFS_MATERIALIZE_XATTR, "", 0, 0) < 0) {
		if (errno == ENOENT) /* expunged since the listing */
			return 0;
		run->lost = errno == ENOTCONN;
		fprintf(stderr, "%smboxfs materialize: %s: %s\n", run->progress ? "\n" : "",
		        e->path, strerror(errno));
		run->failures++;
		return run->lost;
	}
	if (e->is_message)
		run->messages++, run->bytes += e->size;
	else
		run->controls++;
	double t = now();
	if (run->rate > 0) { /* never ahead of rate since the start */
		double due = run->started + (double)run->bytes / run->rate;
		if (due > t) {
			double wait = due - t;
			nanosleep(
			    &(struct timespec){(time_t)wait, (long)((wait - (time_t)wait) * 1e9)},
			    NULL);
		}
	}
	if (run->progress && t - run->reported >= 0.5) {
		report(run, "");
		run->reported = t;
	}
	return 0;
}

static int materialize_online(const char *map_path, const char *mailroot, double rate, int quiet)
{
	struct account_map map = {0};
	if (open_mount("mboxfs materialize", map_path, mailroot, &map) < 0)
		return 1;
	struct online_run run = {.rate = rate, .naccounts = map.naccounts};
	run.progress = !quiet && isatty(2);
	run.started = now();
	int errors = 0;
	for (; run.account < map.naccounts && !run.lost; run.account++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", mailroot, map.accounts[run.account].maildir);
		if (walk_maildir(path, materialize_entry, &run) < 0)
			errors = 1;
	}
	if (run.progress)
		report(&run, "\n");
	printf("%llu messages (%.1f MB) and %llu control files of %zu accounts materialized in "
	       "%s%s\n",
	       (unsigned long long)run.messages, (double)run.bytes / 1e6,
	       (unsigned long long)run.controls, map.naccounts, mailroot,
	       run.failures || errors ? "; some failed (see above): run again when fixed" : "");
	map_free(&map);
	return run.failures || errors ? 1 : 0;
}

int cmd_materialize(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"map", required_argument, NULL, 'm'},
	    {"state", required_argument, NULL, 's'},
	    {"offline", no_argument, NULL, 'O'},
	    {"rate", required_argument, NULL, 'r'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"source-tz", required_argument, NULL, 'z'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct fs_config cfg = {.foreground = 1};
	int offline = 0, quiet = 0, c;
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	double rate = 0;
	char *end;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			cfg.map_path = optarg;
			break;
		case 's':
			cfg.state_dir = optarg;
			break;
		case 'O':
			offline = 1;
			break;
		case 'r':
			rate = strtod(optarg, &end) * 1e6;
			if (*end || !(rate > 0)) {
				fputs("mboxfs materialize: --rate takes megabytes per second, more "
				      "than 0\n",
				      stderr);
				return 2;
			}
			break;
		case 'j':
			if (parse_jobs(optarg, "mboxfs materialize", &jobs) < 0)
				return 2;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'z':
			if (set_source_tz(optarg) < 0) {
				fprintf(stderr, "mboxfs materialize: unknown time zone '%s'\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(materialize_usage, stdout);
			return 0;
		default:
			fputs(materialize_usage, stderr);
			return 2;
		}
	}
	if (!cfg.map_path || optind != argc - 1 || offline != !!cfg.state_dir) {
		fputs(materialize_usage, stderr);
		return 2;
	}
	if (offline) {
		cfg.upper_dir = argv[optind];
		return fs_materialize_offline(&cfg, (int)jobs, !quiet && isatty(2));
	}
	return materialize_online(cfg.map_path, argv[optind], rate, quiet);
}
