/* reload.c — the account map read again on a live mount (`mboxfs reload`
 * through an extended attribute of the mount root, or SIGHUP): accounts new
 * in the map are served at once; accounts gone from it (or whose line
 * changed) are retired, their maildirs becoming plain, but only once nothing
 * of them is virtual; otherwise, or when the map has a bad line, nothing at
 * all changes. Courier sessions of other accounts go on untouched. */
#include "fs_internal.h"

#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static char result[1024]; /* of the last reload, under reload_lock */

static int same_string(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static int same_account(const struct account *a, const struct account *b)
{
	return !strcmp(a->maildir, b->maildir) && same_string(a->inbox, b->inbox) &&
	       same_string(a->home, b->home) && same_string(a->folders, b->folders) &&
	       a->has_owner == b->has_owner && a->uid == b->uid && a->gid == b->gid &&
	       a->pop3 == b->pop3;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(result, sizeof result, fmt, ap);
	va_end(ap);
	fs_log("reload: %s", result);
}

/* The accounts served now that map does not have as they are. */
static size_t leaving(const struct account_map *map, struct account_rt **out, size_t cap)
{
	size_t n = 0;
	pthread_mutex_lock(&fs.lock);
	for (size_t i = 0; i < fs.naccounts; i++) {
		struct account_rt *acct = fs.accounts[i];
		size_t j = 0;
		while (j < map->naccounts && !same_account(acct->a, &map->accounts[j]))
			j++;
		if (!acct->retired && j == map->naccounts && n < cap)
			out[n++] = acct;
	}
	pthread_mutex_unlock(&fs.lock);
	return n;
}

static int served(const struct account *a)
{
	int found = 0;
	pthread_mutex_lock(&fs.lock);
	for (size_t i = 0; i < fs.naccounts && !found; i++)
		found = !fs.accounts[i]->retired && same_account(fs.accounts[i]->a, a);
	pthread_mutex_unlock(&fs.lock);
	return found;
}

/* Caller holds reload_lock. */
static int reload(void)
{
	struct account_map *map = calloc(1, sizeof *map);
	if (!map) {
		say("out of memory");
		return -ENOMEM;
	}
	if (map_load(map, fs.map_path) < 0 || map->nerrors) {
		say("%s: map not reloaded, nothing changed", map->errors[0]);
		map_free(map);
		free(map);
		return -EINVAL;
	}
	size_t cap = fs.naccounts + 1, nleaving;
	struct account_rt **gone = calloc(cap, sizeof *gone);
	if (!gone) {
		map_free(map);
		free(map);
		say("out of memory");
		return -ENOMEM;
	}
	nleaving = leaving(map, gone, cap);
	for (size_t i = 0; i < nleaving; i++) {
		long n = account_virtual(gone[i]);
		if (n != 0) {
			if (n < 0)
				say("%s: cannot tell what of it is virtual (%s): map not reloaded, "
				    "nothing changed",
				    gone[i]->a->maildir, strerror((int)-n));
			else
				say("%s: %ld objects still virtual: materialize it first "
				    "(materialize --account); map not reloaded, nothing changed",
				    gone[i]->a->maildir, n);
			free(gone);
			map_free(map);
			free(map);
			return -EBUSY;
		}
	}
	size_t added = 0;
	for (size_t i = 0; i < nleaving; i++)
		account_retire(gone[i]);
	for (size_t i = 0; i < map->naccounts; i++)
		if (!served(&map->accounts[i]) && account_add(&map->accounts[i]))
			added++;
	say("%zu accounts added, %zu retired", added, nleaving);
	free(gone);
	if (!added) {
		map_free(map);
		free(map);
	} /* else the new accounts point into it for good */
	return 0;
}

int fs_reload(char *text, size_t len)
{
	pthread_mutex_lock(&reload_lock);
	int r = reload();
	if (text)
		snprintf(text, len, "%s", result);
	pthread_mutex_unlock(&reload_lock);
	return r;
}

void fs_reload_result(char *text, size_t len)
{
	pthread_mutex_lock(&reload_lock);
	snprintf(text, len, "%s", *result ? result : "no reload yet");
	pthread_mutex_unlock(&reload_lock);
}

/* SIGHUP: the handler wakes a thread that reloads. */
static sem_t hup;
static pthread_t hup_thread;
static volatile sig_atomic_t hup_stopping;
static int hup_started;

static void on_hup(int sig)
{
	(void)sig;
	sem_post(&hup);
}

static void *hup_main(void *arg)
{
	(void)arg;
	for (;;) {
		while (sem_wait(&hup) < 0)
			;
		if (hup_stopping)
			return NULL;
		fs_reload(NULL, 0);
	}
}

int reload_on_sighup(void)
{
	struct sigaction sa = {.sa_handler = on_hup};
	sigemptyset(&sa.sa_mask);
	if (sem_init(&hup, 0, 0) < 0 || pthread_create(&hup_thread, NULL, hup_main, NULL) != 0)
		return -1;
	hup_started = 1;
	return sigaction(SIGHUP, &sa, NULL);
}

void reload_stop(void)
{
	if (!hup_started)
		return;
	hup_started = 0;
	signal(SIGHUP, SIG_IGN);
	hup_stopping = 1;
	sem_post(&hup);
	pthread_join(hup_thread, NULL);
}
