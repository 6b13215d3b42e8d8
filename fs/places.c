/* places.c — which directories of the upper tree matter, by path: the
 * directories on the way to an account's maildir (looking one up prepares the
 * accounts below it), account roots and folders (they show virtual control
 * files), their cur/ (virtual messages) and courierimapkeywords/. */
#include "fs_internal.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct place {
	char *path;
	enum role role;
	struct folder *folder;
	struct account_rt **accounts; /* not yet ready, at or below this path */
	size_t naccounts;
	struct place *next;
};

static size_t place_bucket(const char *path)
{
	return (size_t)XXH3_64bits(path, strlen(path)) & (fs.nplaces_buckets - 1);
}

/* Caller holds fs.lock. */
static struct place *find(const char *path, int create)
{
	size_t h = place_bucket(path);
	for (struct place *p = fs.places[h]; p; p = p->next)
		if (!strcmp(p->path, path))
			return p;
	if (!create)
		return NULL;
	struct place *p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(path))) {
		free(p);
		return NULL;
	}
	p->next = fs.places[h];
	fs.places[h] = p;
	fs.nplaces++;
	return p;
}

static int add_account(struct place *p, struct account_rt *acct)
{
	struct account_rt **n = realloc(p->accounts, (p->naccounts + 1) * sizeof *n);
	if (!n)
		return -1;
	p->accounts = n;
	p->accounts[p->naccounts++] = acct;
	return 0;
}

void places_init(size_t naccounts)
{
	size_t want = 64;
	while (want < naccounts * 4)
		want <<= 1;
	fs.nplaces_buckets = want;
	fs.places = calloc(want, sizeof *fs.places);
}

/* 1 if the account's maildir is below path (not path itself). */
static int above(const struct account_rt *acct, const char *path)
{
	return strlen(acct->a->maildir) > strlen(path);
}

/* Drops from p the accounts that need nothing more there (their maildir
 * directory made, for a place above it; ready, for the maildir itself), and
 * acct. Caller holds fs.lock. */
static void drop_accounts(struct place *p, const struct account_rt *acct)
{
	size_t kept = 0;
	for (size_t i = 0; i < p->naccounts; i++) {
		struct account_rt *a = p->accounts[i];
		int done = above(a, p->path) ? __atomic_load_n(&a->root_ready, __ATOMIC_ACQUIRE)
		                             : __atomic_load_n(&a->ready, __ATOMIC_ACQUIRE) > 0;
		if (a != acct && !done)
			p->accounts[kept++] = a;
	}
	p->naccounts = kept;
}

/* Caller holds fs.lock. */
void places_remove_account(const struct account_rt *acct)
{
	for (size_t b = 0; b < fs.nplaces_buckets; b++)
		for (struct place *p = fs.places[b]; p; p = p->next)
			drop_accounts(p, acct);
}

/* Caller holds fs.lock. */
int places_add_account(struct account_rt *acct)
{
	char *path = strdup(acct->a->maildir);
	struct place *p = path ? find("", 1) : NULL;
	int r = p ? add_account(p, acct) : -1;
	for (char *s = path; r == 0 && (s = strchr(s, '/')); s++) {
		*s = '\0';
		r = (p = find(path, 1)) ? add_account(p, acct) : -1;
		*s = '/';
	}
	if (r == 0)
		r = (p = find(path, 1)) ? add_account(p, acct) : -1;
	free(path);
	return r;
}

int place_add(const char *path, enum role role, struct folder *folder)
{
	pthread_mutex_lock(&fs.lock);
	struct place *p = find(path, 1);
	if (p)
		p->role = role, p->folder = folder;
	pthread_mutex_unlock(&fs.lock);
	return p ? 0 : -1;
}

enum role place_of(const char *dir_path, struct folder **folder)
{
	struct account_rt **todo = NULL;
	size_t n = 0;
	pthread_mutex_lock(&fs.lock);
	struct place *p = find(dir_path, 0);
	if (p && p->naccounts && (todo = malloc(p->naccounts * sizeof *todo))) {
		memcpy(todo, p->accounts, p->naccounts * sizeof *todo);
		n = p->naccounts;
	}
	pthread_mutex_unlock(&fs.lock);
	/* account set-up does I/O and registers places: not under fs.lock. A
	 * directory above maildirs needs only their directories, never their
	 * sources: one slow or hanging source must not stop the lookups of
	 * every account beside it (the kernel serialises lookups of a name). */
	for (size_t i = 0; i < n; i++)
		if (above(todo[i], dir_path))
			account_root_ready(todo[i]);
		else
			account_ready(todo[i]);
	free(todo);
	pthread_mutex_lock(&fs.lock);
	p = find(dir_path, 0);
	if (p && n) /* what is ready needs nothing more here (a reload may add) */
		drop_accounts(p, NULL);
	enum role role = p ? p->role : ROLE_NONE;
	*folder = p ? p->folder : NULL;
	pthread_mutex_unlock(&fs.lock);
	return role;
}
