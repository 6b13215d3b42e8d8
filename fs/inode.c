/* inode.c — the table of real (upper tree) objects, keyed by device and inode
 * number, as in libfuse's passthrough_hp: one struct per object the kernel
 * knows, freed when the kernel forgets it. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t bucket(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ULL ^ (uint64_t)dev;
	return (size_t)(h >> 20) & (fs.nbuckets - 1);
}

void inode_table_init(void)
{
	fs.nbuckets = 1024;
	fs.buckets = calloc(fs.nbuckets, sizeof *fs.buckets);
}

struct inode *inode_of(fuse_ino_t ino)
{
	if (ino == FUSE_ROOT_ID)
		return &fs.root;
	if (ino & VIRTUAL_BIT)
		return NULL;
	return (struct inode *)(uintptr_t)ino;
}

static void grow(void)
{
	size_t n = fs.nbuckets * 2;
	struct inode **b = calloc(n, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	struct inode **old = fs.buckets;
	size_t oldn = fs.nbuckets;
	fs.buckets = b, fs.nbuckets = n;
	for (size_t i = 0; i < oldn; i++)
		for (struct inode *in = old[i], *next; in; in = next) {
			next = in->next;
			size_t h = bucket(in->dev, in->ino);
			in->next = fs.buckets[h];
			fs.buckets[h] = in;
		}
	free(old);
}

struct inode *inode_get(int fd, const struct stat *st)
{
	pthread_mutex_lock(&fs.lock);
	if (st->st_dev == fs.root.dev && st->st_ino == fs.root.ino) {
		pthread_mutex_unlock(&fs.lock);
		close(fd);
		return &fs.root;
	}
	size_t h = bucket(st->st_dev, st->st_ino);
	struct inode *in;
	for (in = fs.buckets[h]; in; in = in->next)
		if (in->dev == st->st_dev && in->ino == st->st_ino)
			break;
	if (in) {
		close(fd); /* keep the first fd: any path to the object will do */
	} else if ((in = calloc(1, sizeof *in))) {
		in->fd = fd, in->io_fd = -1, in->dev = st->st_dev, in->ino = st->st_ino;
		in->next = fs.buckets[h];
		fs.buckets[h] = in;
		if (++fs.ninodes > fs.nbuckets * 2)
			grow();
	} else
		close(fd);
	if (in)
		in->nlookup++;
	pthread_mutex_unlock(&fs.lock);
	return in;
}

fuse_ino_t inode_known(dev_t dev, ino_t ino)
{
	if (dev == fs.root.dev && ino == fs.root.ino)
		return FUSE_ROOT_ID;
	pthread_mutex_lock(&fs.lock);
	struct inode *in = fs.buckets[bucket(dev, ino)];
	while (in && !(in->dev == dev && in->ino == ino))
		in = in->next;
	pthread_mutex_unlock(&fs.lock);
	return (fuse_ino_t)(uintptr_t)in;
}

void inode_forget(struct inode *in, uint64_t n)
{
	if (in == &fs.root)
		return;
	pthread_mutex_lock(&fs.lock);
	in->nlookup = n < in->nlookup ? in->nlookup - n : 0;
	if (in->nlookup == 0) {
		struct inode **p = &fs.buckets[bucket(in->dev, in->ino)];
		while (*p && *p != in)
			p = &(*p)->next;
		if (*p)
			*p = in->next;
		fs.ninodes--;
		close(in->fd);
		if (in->io_fd >= 0)
			close(in->io_fd);
		free(in->path);
		free(in);
	}
	pthread_mutex_unlock(&fs.lock);
}

void inode_drop_folder(const struct folder *f)
{
	pthread_mutex_lock(&fs.lock);
	for (size_t b = 0; b < fs.nbuckets; b++)
		for (struct inode *in = fs.buckets[b]; in; in = in->next)
			if (in->folder == f)
				in->role = ROLE_NONE, in->folder = NULL;
	if (fs.root.folder == f)
		fs.root.role = ROLE_NONE, fs.root.folder = NULL;
	pthread_mutex_unlock(&fs.lock);
}

void inode_rename_paths(const char *old_path, const char *new_path)
{
	size_t n = strlen(old_path);
	pthread_mutex_lock(&fs.lock);
	for (size_t b = 0; b < fs.nbuckets; b++)
		for (struct inode *in = fs.buckets[b]; in; in = in->next) {
			if (!in->path || strncmp(in->path, old_path, n) ||
			    (in->path[n] && in->path[n] != '/'))
				continue;
			char *p = NULL;
			if (asprintf(&p, "%s%s", new_path, in->path + n) >= 0) {
				free(in->path);
				in->path = p;
			}
		}
	pthread_mutex_unlock(&fs.lock);
}

char *inode_child_path(const struct inode *dir, const char *name)
{
	char *p = NULL;
	if (dir->path && asprintf(&p, "%s%s%s", dir->path, *dir->path ? "/" : "", name) < 0)
		p = NULL;
	return p;
}

int inode_io_fd(struct inode *in)
{
	int fd = __atomic_load_n(&in->io_fd, __ATOMIC_ACQUIRE);
	if (fd >= 0)
		return fd;
	char path[64];
	proc_path(in->fd, path);
	/* read-write, whatever the caller's open asked: the kernel checked its
	 * rights (default_permissions) and keeps each open's mode itself */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && (errno == EROFS || errno == EACCES || errno == ETXTBSY))
		fd = open(path, O_RDONLY | O_CLOEXEC); /* verify's read-only upper tree */
	if (fd < 0)
		return -errno; /* errno kept: callers may use either */
	return inode_adopt_io_fd(in, fd);
}

int inode_adopt_io_fd(struct inode *in, int fd)
{
	int none = -1;
	if (!__atomic_compare_exchange_n(&in->io_fd, &none, fd, 0, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE)) {
		close(fd); /* another thread was first */
		fd = none;
	}
	return fd;
}
