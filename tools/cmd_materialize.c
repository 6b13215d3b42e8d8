/* cmd_materialize.c — `mboxfs materialize`: every virtual object of a mount
 * written to the upper tree under its own name, a folder at a time in batches
 * (the daemon does the work, see fs/materialize.c), throttled, with progress,
 * rate and time left; interrupted, it goes on where it stopped the next time.
 * With --offline, the same without a mount (fs/offline.c). */
#include "account_map.h"
#include "commands.h"
#include "fs.h"
#include "help.h"
#include "mount_walk.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#define materialize_usage verb_help("materialize") /* the help table: tools/help.c */

/* A folder of the mount that still has virtual objects. */
struct pending_folder {
	char *dir;
	uint64_t messages, bytes, controls;
};

struct online_run {
	double rate; /* bytes per second; 0: as fast as it goes */
	double started, reported;
	uint64_t total_bytes, total_objects;
	uint64_t messages, bytes, controls, failures;
	struct pending_folder *folders;
	size_t nfolders, cap;
	int progress;
	int stop; /* the mount went away, or the upper tree is full */
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void report(const struct online_run *run, const char *end)
{
	double elapsed = now() - run->started;
	double rate = elapsed > 0 ? (double)run->bytes / elapsed : 0;
	double left = (double)(run->total_bytes - run->bytes);
	fprintf(stderr, "\rmboxfs materialize: %llu/%llu objects, %.1f/%.1f MB, %.1f MB/s",
	        (unsigned long long)(run->messages + run->controls),
	        (unsigned long long)run->total_objects, (double)run->bytes / 1e6,
	        (double)run->total_bytes / 1e6, rate / 1e6);
	if (rate > 0 && left > 0)
		fprintf(stderr, ", %.0f s left", left / rate);
	fprintf(stderr, "   %s", end);
}

/* The counts of MBOXFS_PENDING_XATTR of a folder directory: 1 if it has
 * virtual objects, 0 if not (or it is not one of mboxfs's folders), -1 with
 * errno. */
static int pending(const char *dir, struct pending_folder *p)
{
	char text[80];
	ssize_t n = lgetxattr(dir, MBOXFS_PENDING_XATTR, text, sizeof text - 1);
	if (n < 0)
		return errno == ENODATA ? 0 : -1;
	text[n] = '\0';
	unsigned long long m, b, c;
	if (sscanf(text, "%llu %llu %llu", &m, &b, &c) != 3) {
		errno = EPROTO;
		return -1;
	}
	p->messages = m, p->bytes = b, p->controls = c;
	return m + c > 0;
}

static void complain(struct online_run *run, const char *dir, int err)
{
	run->failures++;
	run->stop = err == ENOTCONN || err == ENOSPC;
	fprintf(stderr, "%smboxfs materialize: %s: %s%s\n", run->progress ? "\n" : "", dir,
	        strerror(err),
	        err == ENOSPC ? " (the upper tree is full: run again once there is room)" : "");
}

static int add_folder(const char *dir, void *arg)
{
	struct online_run *run = arg;
	struct pending_folder p = {0};
	int r = pending(dir, &p);
	if (r < 0)
		complain(run, dir, errno);
	if (r <= 0)
		return run->stop;
	if (run->nfolders == run->cap) {
		size_t cap = run->cap ? run->cap * 2 : 64;
		struct pending_folder *n = realloc(run->folders, cap * sizeof *n);
		if (!n)
			return 1;
		run->folders = n, run->cap = cap;
	}
	if (!(p.dir = strdup(dir)))
		return 1;
	run->folders[run->nfolders++] = p;
	run->total_bytes += p.bytes;
	run->total_objects += p.messages + p.controls;
	return 0;
}

/* Never ahead of the rate since the start. */
static void throttle(const struct online_run *run)
{
	if (run->rate <= 0)
		return;
	double wait = run->started + (double)run->bytes / run->rate - now();
	if (wait > 0)
		nanosleep(&(struct timespec){(time_t)wait, (long)((wait - (time_t)wait) * 1e9)},
		          NULL);
}

/* Batch after batch, until the folder has nothing virtual left. */
static void materialize_folder(struct online_run *run, struct pending_folder *p)
{
	char budget[32] = "";
	if (run->rate > 0) /* batches of a quarter of a second at that rate */
		snprintf(budget, sizeof budget, "%.0f", run->rate / 4 > 1 ? run->rate / 4 : 1);
	while (!run->stop) {
		struct pending_folder after = {0};
		if (lsetxattr(p->dir, MBOXFS_MATERIALIZE_XATTR, budget, strlen(budget), 0) < 0) {
			if (errno != ENODATA)
				complain(run, p->dir, errno);
			return;
		}
		if (pending(p->dir, &after) < 0) {
			complain(run, p->dir, errno);
			return;
		}
		run->messages += p->messages - after.messages;
		run->bytes += p->bytes - after.bytes;
		run->controls += p->controls - after.controls;
		*p = (struct pending_folder){p->dir, after.messages, after.bytes, after.controls};
		throttle(run);
		if (run->progress && now() - run->reported >= 0.5) {
			report(run, "");
			run->reported = now();
		}
	}
}

static int materialize_online(const char *map_path, const char *mailroot, const char *pattern,
                              double rate, int quiet)
{
	struct account_map map = {0};
	if (open_mount("mboxfs materialize", map_path, mailroot, &map) < 0)
		return 1;
	struct online_run run = {.rate = rate};
	run.progress = !quiet && isatty(2);
	int errors = 0;
	size_t naccounts = 0;
	for (size_t i = 0; i < map.naccounts && !run.stop; i++) {
		char path[4096];
		if (!account_matches(&map.accounts[i], pattern))
			continue;
		naccounts++;
		snprintf(path, sizeof path, "%s/%s", mailroot, map.accounts[i].maildir);
		if (walk_folders(path, add_folder, &run) < 0)
			errors = 1;
	}
	run.started = now();
	for (size_t i = 0; i < run.nfolders && !run.stop; i++)
		materialize_folder(&run, &run.folders[i]);
	if (run.progress)
		report(&run, "\n");
	printf("%llu messages (%.1f MB) and %llu control files of %zu accounts materialized in "
	       "%s%s\n",
	       (unsigned long long)run.messages, (double)run.bytes / 1e6,
	       (unsigned long long)run.controls, naccounts, mailroot,
	       run.failures || errors ? "; some failed (see above): run again when fixed" : "");
	for (size_t i = 0; i < run.nfolders; i++)
		free(run.folders[i].dir);
	free(run.folders);
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
	    {"account", required_argument, NULL, 'a'},
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
		case 'a':
			cfg.accounts = optarg;
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
	return materialize_online(cfg.map_path, argv[optind], cfg.accounts, rate, quiet);
}
