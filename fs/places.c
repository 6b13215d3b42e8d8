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
	size_t *accounts; /* indexes of the accounts at or below this path */
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

static int add_account(struct place *p, size_t account)
{
	size_t *n = realloc(p->accounts, (p->naccounts + 1) * sizeof *n);
	if (!n)
		return -1;
	p->accounts = n;
	p->accounts[p->naccounts++] = account;
	return 0;
}

void places_init(void)
{
	size_t want = 64;
	while (want < fs.map.naccounts * 4)
		want <<= 1;
	fs.nplaces_buckets = want;
	fs.places = calloc(want, sizeof *fs.places);
	for (size_t i = 0; i < fs.map.naccounts; i++) {
		char *path = strdup(fs.map.accounts[i].maildir);
		if (!path)
			continue;
		struct place *p = find("", 1);
		if (p)
			add_account(p, i);
		for (char *s = path; (s = strchr(s, '/')); s++) {
			*s = '\0';
			if ((p = find(path, 1)))
				add_account(p, i);
			*s = '/';
		}
		if ((p = find(path, 1)))
			add_account(p, i);
		free(path);
	}
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
	size_t *todo = NULL, n = 0;
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
	size_t len = strlen(dir_path);
	int all_ready = 1;
	for (size_t i = 0; i < n; i++) {
		struct account_rt *acct = &fs.accounts[todo[i]];
		int above = strlen(acct->a->maildir) > len;
		if ((above ? account_root_ready(acct) : account_ready(acct)) < 0)
			all_ready = 0;
	}
	free(todo);
	pthread_mutex_lock(&fs.lock);
	p = find(dir_path, 0);
	if (p && n && all_ready) { /* nothing left to prepare here */
		free(p->accounts);
		p->accounts = NULL, p->naccounts = 0;
	}
	enum role role = p ? p->role : ROLE_NONE;
	*folder = p ? p->folder : NULL;
	pthread_mutex_unlock(&fs.lock);
	return role;
}
