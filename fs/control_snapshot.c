/* control_snapshot.c — generated control files (courierimapuiddb, :list,
 * courierimapsubscribed, courierpop3dsizelist) as immutable inodes.
 *
 * The kernel opens files without asking the daemon (no_open, see ops_file.c)
 * and keeps their pages, so a file's bytes must never change under its node
 * id. Each distinct content a control file takes is therefore its own node
 * id, the generation in the low 32 bits of the virtual id (fs_internal.h),
 * as on a real maildir, where Courier replaces these files by rename: a
 * reader of the old one reads it whole. Names of control files are given
 * with entry timeout 0, so every open looks the name up again: the lookup
 * takes in the old server's changes first, then gives the node of the
 * content of now. A snapshot lives until the kernel forgets its last lookup.
 */
#include "fs_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct snapshot {
	fuse_ino_t id;
	uint64_t nlookup;
	struct snapshot *next;
	size_t len;
	char *data;
	uint32_t view_gen; /* courierimapuiddb, :list: the folder view made from */
};

#define NBUCKETS 1024

static struct {
	pthread_mutex_t lock;
	struct snapshot *buckets[NBUCKETS];
	uint32_t last_gen;
} snaps = {.lock = PTHREAD_MUTEX_INITIALIZER};

static struct snapshot **slot(fuse_ino_t id)
{
	struct snapshot **p = &snaps.buckets[(id * 0x9e3779b97f4a7c15ULL) >> 54];
	while (*p && (*p)->id != id)
		p = &(*p)->next;
	return p;
}

static void fill_attr(struct stat *st, const struct snapshot *s, const struct folder *f)
{
	virtual_fill_attr(st, s->id, f);
	st->st_size = (off_t)s->len;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtime = st->st_atime = st->st_ctime = fs.started;
}

int control_snapshot_entry(struct fuse_entry_param *e)
{
	enum vkind kind = vid_kind(e->ino);
	struct folder *f = folder_by_id(vid_folder(e->ino));
	if (!f)
		return -ENOENT;
	/* Courier reads courierimapuiddb before it lists cur/: new mail of the
	 * old server must be in it by then */
	if (kind == VK_UIDDB || kind == VK_KEYWORDS)
		folder_follow(f, 1);
	if (folder_unservable(ROLE_CUR, f, ""))
		return -EIO;
	/* courierimapuiddb and :list are made from the folder's view alone
	 * (virtual.c): while it is the one their snapshot was made from, the
	 * snapshot is theirs, and nothing is made again (about 1 ms for 6,000
	 * messages, at every SELECT) */
	int by_view = kind == VK_UIDDB || kind == VK_KEYWORDS;
	uint32_t gen = __atomic_load_n(&f->view_gen, __ATOMIC_ACQUIRE);
	struct snapshot *s = NULL;
	const char *data = NULL;
	char *owned = NULL;
	size_t len = 0;
	if (by_view) {
		pthread_mutex_lock(&snaps.lock);
		s = f->control_now[kind] ? *slot(f->control_now[kind]) : NULL;
		if (s && s->view_gen == gen)
			goto found; /* with snaps.lock */
		pthread_mutex_unlock(&snaps.lock);
	}
	int r = virtual_content(vid_make(kind, f->id, 0), &data, &len, &owned);
	if (r < 0)
		return r;
	pthread_mutex_lock(&snaps.lock);
	s = f->control_now[kind] ? *slot(f->control_now[kind]) : NULL;
	if (!s || s->len != len || memcmp(s->data, data, len)) {
		s = calloc(1, sizeof *s);
		if (!s) {
			pthread_mutex_unlock(&snaps.lock);
			free(owned);
			return -ENOMEM;
		}
		if (++snaps.last_gen == 0) /* 0 names the control file itself */
			snaps.last_gen = 1;
		s->id = vid_make(kind, f->id, snaps.last_gen);
		s->data = owned, s->len = len, owned = NULL;
		*slot(s->id) = s;
		f->control_now[kind] = s->id;
	}
	/* gen was read before the text was made: a view swapped in meanwhile
	 * has another, and the next lookup makes the text again */
	s->view_gen = gen;
found:
	s->nlookup++;
	memset(e, 0, sizeof *e);
	e->ino = s->id;
	e->generation = 1;
	fill_attr(&e->attr, s, f);
	e->attr_timeout = 3600.0; /* this node's bytes never change */
	e->entry_timeout = 0;     /* the name may name newer bytes at the next open */
	pthread_mutex_unlock(&snaps.lock);
	free(owned);
	return 0;
}

int control_snapshot_stat(fuse_ino_t id, struct stat *st)
{
	struct folder *f = folder_by_id(vid_folder(id));
	pthread_mutex_lock(&snaps.lock);
	struct snapshot *s = f ? *slot(id) : NULL;
	if (s)
		fill_attr(st, s, f);
	pthread_mutex_unlock(&snaps.lock);
	return s ? 0 : -ESTALE;
}

char *control_snapshot_read(fuse_ino_t id, off_t off, size_t size, size_t *n)
{
	pthread_mutex_lock(&snaps.lock);
	struct snapshot *s = *slot(id);
	char *copy = NULL;
	if (s) {
		size_t from = (uint64_t)off < s->len ? (size_t)off : s->len;
		*n = s->len - from < size ? s->len - from : size;
		if ((copy = malloc(*n ? *n : 1)))
			memcpy(copy, s->data + from, *n);
	}
	pthread_mutex_unlock(&snaps.lock);
	if (!copy)
		errno = s ? ENOMEM : ESTALE;
	return copy;
}

void control_snapshot_forget(fuse_ino_t id, uint64_t n)
{
	pthread_mutex_lock(&snaps.lock);
	struct snapshot **p = slot(id), *s = *p;
	if (s && (s->nlookup = n < s->nlookup ? s->nlookup - n : 0) == 0) {
		struct folder *f = folder_by_id(vid_folder(id));
		if (f && f->control_now[vid_kind(id)] == id)
			f->control_now[vid_kind(id)] = 0;
		*p = s->next;
		free(s->data);
		free(s);
	}
	pthread_mutex_unlock(&snaps.lock);
}
