/* materialize_group.c — `materialize --offline`: virtual objects written in
 * groups of many folders that share one syncfs (offline.c, one group per
 * worker; nothing else changes the folders meanwhile).
 *
 * A group collects, folder after folder, the temporary files of every
 * virtual object; when it is full (or at the end), it appends the intents of
 * each folder, syncs the filesystem once (the data of every temporary file
 * and the intents), renames everything into place and marks it real in
 * memory. The done records of those renames wait for the next syncfs, which
 * makes the renames durable; so no directory is synced on its own and a whole
 * account of small folders costs one or two syncs instead of several per
 * folder. A crash leaves the same states as materialize_batch(): temporary
 * files (removed at the next load), intents whose copy exists (completed at
 * the next load) or not (dropped). */
#include "materialize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUP_OBJECTS 16384
#define GROUP_BYTES   (256u << 20)
#define GROUP_FOLDERS 64

/* A folder's share of a group: its temporary files, then, once renamed, its
 * done records waiting for a sync. Parts do not move (items point into d). */
struct part {
	struct part *next;
	struct folder *f;
	struct folder_dirs d;
	struct item *items;
	size_t n, cap;
	uint32_t *indexes; /* of the messages renamed, for the done records */
	size_t nindexes;
	unsigned controls; /* control kinds renamed */
	int last;          /* nothing of f follows: unload f once settled */
};

struct mat_group {
	struct part *parts, **tail; /* written, not yet synced (in order) */
	struct part *settling;      /* renamed, waiting for a sync */
	struct part *closing;       /* last of a folder, recorded, waiting for a sync */
	size_t nparts, objects;
	uint64_t bytes;
	struct materialized done;
};

struct mat_group *mat_group_new(void)
{
	struct mat_group *g = calloc(1, sizeof *g);
	if (!g)
		return NULL;
	g->tail = &g->parts;
	return g;
}

struct materialized *mat_group_done(struct mat_group *g)
{
	return &g->done;
}

static void part_free(struct part *p, int unload)
{
	mat_close_dirs(&p->d);
	free(p->items), free(p->indexes);
	if (unload)
		folder_unload(p->f);
	free(p);
}

static void part_unlink_tmps(struct part *p, size_t from)
{
	for (size_t i = from; i < p->n; i++)
		unlinkat(p->items[i].dir->fd, p->items[i].tmp, 0);
}

/* The intents of p's messages (mat_intents). */
static int part_intents(struct part *p)
{
	size_t nmessages;
	uint32_t *indexes = calloc(p->n ? p->n : 1, sizeof *indexes);
	int r = indexes ? mat_intents(p->f, p->items, p->n, indexes, &nmessages) : -ENOMEM;
	free(indexes);
	return r;
}

/* Renames p's temporary files into place, in order (messages before the
 * control files that describe them), and marks what was renamed real. */
static int part_rename(struct mat_group *g, struct part *p)
{
	int r = 0;
	size_t renamed = 0;
	if (!(p->indexes = calloc(p->n ? p->n : 1, sizeof *p->indexes)) || fstate_prepare(p->f) < 0)
		r = -ENOMEM;
	for (; r == 0 && renamed < p->n; renamed++) {
		const struct item *it = &p->items[renamed];
		if (renameat2(it->dir->fd, it->tmp, it->dir->fd, it->name, RENAME_NOREPLACE) < 0) {
			r = -errno;
			break;
		}
		if (vid_kind(it->id) == VK_MESSAGE)
			p->indexes[p->nindexes++] = mat_index_of(p->f, it->id);
		else
			p->controls |= 1u << vid_kind(it->id);
	}
	if (r < 0)
		part_unlink_tmps(p, renamed);
	pthread_mutex_lock(&p->f->change_lock);
	fstate_mark_copied(p->f, p->nindexes, p->indexes, 'k', p->controls);
	pthread_mutex_unlock(&p->f->change_lock);
	mat_account_for(p->f, p->items, renamed, 0, &g->done);
	if (r < 0)
		fs_log("%s %s: not materialized: %s", p->f->acct->a->maildir, p->f->uw_name,
		       strerror(-r));
	return r;
}

/* Just after a syncfs: unloads the folders whose last done records it made
 * durable (their journals need no sync of their own when they share the
 * filesystem); appends the done records of what the last flush renamed, now
 * durable. */
static int settle(struct mat_group *g)
{
	int r = 0;
	while (g->closing) {
		struct part *p = g->closing;
		g->closing = p->next;
		if (mat_same_filesystem(p->f->journal.fd, fs.upper_fd))
			journal_synced(&p->f->journal);
		part_free(p, 1);
	}
	while (g->settling) {
		struct part *p = g->settling;
		g->settling = p->next;
		int s = p->nindexes || p->controls
		            ? fstate_record_copied(p->f, p->nindexes, p->indexes, 'k', p->controls,
		                                   p->last)
		            : 0;
		if (s < 0 && r == 0)
			r = s;
		if (p->last)
			p->next = g->closing, g->closing = p;
		else
			part_free(p, 0);
	}
	return r;
}

/* One syncfs of the upper tree's filesystem (upper_fd is an O_PATH fd). */
static int sync_upper(void)
{
	int fd = openat(fs.upper_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 || syncfs(fd) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	if (r < 0)
		fs_log("materialize: cannot sync the mail root: %s", strerror(-r));
	return r;
}

/* Intents, one syncfs, the done records of the flush before, the renames. */
static int flush(struct mat_group *g)
{
	int r = 0;
	for (struct part *p = g->parts; p; p = p->next) {
		int s = part_intents(p);
		if (s < 0) { /* this folder waits for another run */
			part_unlink_tmps(p, 0);
			p->n = 0;
			r = s;
		}
	}
	int s = sync_upper();
	if (s < 0) { /* nothing renamed: every temporary file goes */
		for (struct part *p = g->parts; p; p = p->next)
			part_unlink_tmps(p, 0), p->n = 0;
		r = s;
	} else if ((s = settle(g)) < 0)
		r = s;
	while (g->parts) {
		struct part *p = g->parts;
		g->parts = p->next;
		if (p->n && (s = part_rename(g, p)) < 0)
			r = s;
		p->next = g->settling, g->settling = p;
	}
	g->tail = &g->parts;
	g->nparts = g->objects = 0, g->bytes = 0;
	return r;
}

static int part_push(struct part *p, const struct item *it)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct item *items = realloc(p->items, cap * sizeof *items);
		if (!items)
			return -ENOMEM;
		p->items = items, p->cap = cap;
	}
	p->items[p->n++] = *it;
	return 0;
}

static struct part *part_new(struct mat_group *g, struct folder *f, int *r)
{
	struct part *p = calloc(1, sizeof *p);
	if (!p) {
		*r = -ENOMEM;
		return NULL;
	}
	p->f = f;
	if ((*r = mat_open_dirs(f, &p->d)) < 0) {
		mat_close_dirs(&p->d);
		free(p);
		return NULL;
	}
	*g->tail = p, g->tail = &p->next, g->nparts++;
	return p;
}

/* f is done with in this group: the part that holds its last objects unloads
 * it when settled; if none does, now. */
static void folder_done(struct mat_group *g, struct folder *f)
{
	struct part *last = NULL;
	for (struct part *p = g->settling; p; p = p->next)
		if (p->f == f)
			last = p;
	for (struct part *p = g->parts; p; p = p->next)
		if (p->f == f)
			last = p;
	if (last)
		last->last = 1;
	else
		folder_unload(f);
}

int mat_group_add(struct mat_group *g, struct folder *f)
{
	struct todo t = {0};
	struct part *p = NULL;
	int r = folder_load(f); /* an mbox that cannot be read is an error here */
	if (r == 0) {
		pthread_mutex_lock(&f->change_lock);
		r = mat_list_virtual(f, &t);
		pthread_mutex_unlock(&f->change_lock);
	}
	for (size_t i = 0; r == 0 && i < t.n; i++) {
		struct item it = {.id = t.ids[i]};
		enum vkind kind = vid_kind(it.id);
		uint64_t size = mat_size_of(f, it.id);
		struct stat st;
		if (g->nparts && (g->objects >= GROUP_OBJECTS || g->bytes + size > GROUP_BYTES ||
		                  (!p && g->nparts >= GROUP_FOLDERS))) {
			p = NULL; /* flushed: f's next objects go to a new part */
			if ((r = flush(g)) < 0)
				break;
		}
		if (!p && !(p = part_new(g, f, &r)))
			break;
		it.dir = &p->d.dir[mat_role_of(kind)];
		if (kind == VK_MESSAGE)
			folder_message_name(f, mat_index_of(f, it.id), it.name);
		else
			snprintf(it.name, sizeof it.name, "%s", control_file_name(kind));
		if (fstatat(it.dir->fd, it.name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue; /* a real file already has this name */
		if ((r = mat_write_tmp(&it)) < 0)
			break;
		if ((r = part_push(p, &it)) < 0) {
			unlinkat(it.dir->fd, it.tmp, 0);
			break;
		}
		g->objects++, g->bytes += size;
	}
	free(t.ids);
	if (r < 0) { /* what this folder has in the group is dropped */
		if (p)
			part_unlink_tmps(p, 0), p->n = 0;
		fs_log("%s %s: not materialized: %s", f->acct->a->maildir, f->uw_name,
		       f->loaded < 0 ? "its mbox cannot be read (see above)" : strerror(-r));
	}
	folder_done(g, f);
	return r;
}

int mat_group_finish(struct mat_group *g)
{
	int r = g->parts ? flush(g) : 0;
	/* one sync for the last renames, one for the last done records */
	for (int round = 0; round < 2 && (g->settling || g->closing); round++) {
		int s = sync_upper();
		if (s == 0)
			s = settle(g);
		if (s < 0 && r == 0)
			r = s;
		if (s < 0)
			break;
	}
	/* after a failure: the renames are there, their intents complete at the
	 * next load; closing the journals syncs what they hold */
	struct part *left[] = {g->settling, g->closing};
	for (int i = 0; i < 2; i++)
		while (left[i]) {
			struct part *p = left[i];
			left[i] = p->next;
			part_free(p, p->last);
		}
	g->settling = g->closing = NULL;
	return r;
}

void mat_group_free(struct mat_group *g)
{
	if (!g)
		return;
	materialized_free(&g->done);
	free(g);
}
