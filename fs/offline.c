/* offline.c — `mboxfs materialize --offline`: the mount's view written to the
 * mail root without a mount (the mb2md replacement), accounts shared out to
 * worker threads. The same code decides what exists as on the mount, so the
 * result is what a mount over the same state would show. Each worker writes
 * through one materialize group (materialize_group.c: one syncfs for many
 * folders), and has the next folder indexed meanwhile when there are
 * processors to spare. */
#include "fs.h"
#include "fs_internal.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct offline_run {
	const char *pattern; /* accounts to do (account_matches) */
	int ahead;           /* index the next folder meanwhile (a processor is free) */
	atomic_size_t next, accounts_done, matched, failures;
	atomic_uint_fast64_t messages, bytes;
};

static void count(struct offline_run *run, struct mat_group *g, int r)
{
	struct materialized *done = mat_group_done(g);
	atomic_fetch_add(&run->messages, done->messages);
	atomic_fetch_add(&run->bytes, done->bytes);
	done->messages = done->bytes = 0;
	if (r < 0)
		atomic_fetch_add(&run->failures, 1);
}

/* The next account this worker does (NULL: none left); the ones skipped
 * are counted as done. */
static struct account_rt *claim(struct offline_run *run)
{
	size_t i;
	while ((i = atomic_fetch_add(&run->next, 1)) < fs.naccounts) {
		if (account_matches(fs.accounts[i]->a, run->pattern)) {
			atomic_fetch_add(&run->matched, 1);
			return fs.accounts[i];
		}
		atomic_fetch_add(&run->accounts_done, 1);
	}
	return NULL;
}

/* What the worker does next, prepared by another thread while it writes
 * (the writing is mostly system time, the indexing all user time): the next
 * folder indexed, or the next account set up and its first folder indexed.
 * What fails is logged, and found again when the worker gets there. */
struct ahead {
	struct folder *folder;
	struct account_rt *acct;
};

static void *load_ahead(void *arg)
{
	struct ahead *a = arg;
	if (a->acct && account_ready(a->acct) == 0)
		a->folder = a->acct->folders;
	if (a->folder)
		folder_load(a->folder);
	return NULL;
}

/* Folder after folder, account after account, into the worker's group,
 * which syncs many folders at once and unloads each when its copies are
 * recorded (memory for the next ones). */
static void *worker(void *arg)
{
	struct offline_run *run = arg;
	struct mat_group *g = mat_group_new();
	struct account_rt *acct = claim(run);
	while (acct) {
		struct account_rt *next = NULL;
		int claimed = 0; /* next, while this account's last folder is written */
		if (!g || account_ready(acct) < 0) /* logged */
			atomic_fetch_add(&run->failures, 1);
		else
			for (struct folder *f = acct->folders; f; f = f->next_in_account) {
				struct ahead a = {f->next_in_account, NULL};
				if (run->ahead && !a.folder)
					a.acct = next = claim(run), claimed = 1;
				pthread_t t;
				int loading = run->ahead && (a.folder || a.acct) &&
				              pthread_create(&t, NULL, load_ahead, &a) == 0;
				count(run, g, mat_group_add(g, f));
				if (loading)
					pthread_join(t, NULL);
			}
		atomic_fetch_add(&run->accounts_done, 1);
		acct = claimed ? next : claim(run);
	}
	if (g) {
		count(run, g, mat_group_finish(g));
		mat_group_free(g);
	}
	return NULL;
}

static void report(struct offline_run *run, const char *end)
{
	fprintf(stderr, "\rmboxfs materialize: %zu/%zu accounts, %llu messages, %.1f MB%s",
	        atomic_load(&run->accounts_done), fs.naccounts,
	        (unsigned long long)atomic_load(&run->messages),
	        (double)atomic_load(&run->bytes) / 1e6, end);
}

int fs_materialize_offline(const struct fs_config *cfg, int jobs, int progress)
{
	struct offline_run run = {.pattern = cfg->accounts};
	if (mkdir(cfg->upper_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "mboxfs materialize: %s: %s\n", cfg->upper_dir, strerror(errno));
		return 1;
	}
	if (fs_setup(cfg, "mboxfs materialize") < 0)
		return 1;
	/* with fewer workers than processors, each has the next folder indexed
	 * by a thread of its own meanwhile; not beyond: more busy threads than
	 * processors were slower (BENCHMARKS.md) */
	run.ahead = 2 * jobs <= sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
	int started = 0;
	while (threads && started < jobs &&
	       pthread_create(&threads[started], NULL, worker, &run) == 0)
		started++;
	if (started == 0) {
		free(threads);
		fprintf(stderr, "mboxfs materialize: cannot start a thread\n");
		return 1;
	}
	while (progress && atomic_load(&run.accounts_done) < fs.naccounts) {
		report(&run, "");
		nanosleep(&(struct timespec){0, 500000000}, NULL);
	}
	for (int i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	if (progress)
		report(&run, "\n");
	size_t failures = atomic_load(&run.failures);
	printf("%llu messages (%.1f MB) of %zu accounts written to %s%s\n",
	       (unsigned long long)atomic_load(&run.messages),
	       (double)atomic_load(&run.bytes) / 1e6, atomic_load(&run.matched), cfg->upper_dir,
	       failures ? "; some folders failed (see above): run again when fixed" : "");
	return failures ? 1 : 0;
}
