/* inode.c — the table of real (upper tree) objects, keyed by device and inode
 * number, as in libfuse's passthrough_hp: one struct per object the kernel
 * knows, freed when the kernel forgets it, with one fd each (O_PATH, or a
 * regular file's opened for reads and writes once they come). */
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
		in->fd = fd, in->io_mode = IO_PATH, in->dev = st->st_dev, in->ino = st->st_ino;
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
		free(in->path);
		free(in);
	}
	pthread_mutex_unlock(&fs.lock);
}

void inode_drop_folder(const struct folder *f)
{
	pthread_mutex_lock(&fs.lock);
	for (size_t b = 0; b < fs.nbuckets; b++)
		for (struct inode *in = fs.buckets[b]; in; in = in->next) {
			struct folder *of;
			inode_place(in, &of);
			if (of == f)
				inode_set_place(in, ROLE_NONE, NULL);
		}
	struct folder *root_folder;
	inode_place(&fs.root, &root_folder);
	if (root_folder == f)
		inode_set_place(&fs.root, ROLE_NONE, NULL);
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
	pthread_mutex_lock(&fs.lock); /* a rename above dir replaces its path */
	if (dir->path &&
	    asprintf(&p, "%s%s%s", dir->path, *dir->path && *name ? "/" : "", name) < 0)
		p = NULL;
	pthread_mutex_unlock(&fs.lock);
	return p;
}

/* The file of in's fd opened again with flags: an fd, or -errno. Through
 * /proc, so also a file renamed or unlinked since its lookup. */
static int reopen(const struct inode *in, int flags)
{
	char path[64];
	proc_path(in->fd, path);
	int fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* One replacement of an inode's fd at a time, whatever the inode: short (a
 * dup3), and not fs.lock, which every lookup and forget takes. */
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/* fd, open for mode, becomes in's fd unless that is open for as much; closed
 * either way. Same fd number (dup3): other threads may be using in->fd, and
 * see the old file or the new one, both the same object. (The kernel forgets
 * no inode while a request about it is being answered.) */
static int install(struct inode *in, int fd, int mode)
{
	int r = in->fd;
	pthread_mutex_lock(&install_lock);
	if (__atomic_load_n(&in->io_mode, __ATOMIC_ACQUIRE) < mode) {
		if (dup3(fd, in->fd, O_CLOEXEC) < 0)
			r = -errno;
		else
			__atomic_store_n(&in->io_mode, mode, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&install_lock);
	close(fd);
	return r;
}

/* Read-write whatever the caller's open asked: the kernel checked its rights
 * (default_permissions) and keeps each open's mode itself. An append-only
 * file refuses that (EPERM) but opens with O_APPEND. Read-only when the file
 * cannot be written (a read-only upper tree as verify's, a running program,
 * an immutable file) unless must_write. */
static int open_io(struct inode *in, int must_write)
{
	int fd = reopen(in, O_RDWR), mode = IO_RDWR;
	if (fd == -EPERM) { /* append-only opens so; an immutable file does not */
		int append_fd = reopen(in, O_RDWR | O_APPEND);
		if (append_fd >= 0)
			fd = append_fd, mode = IO_APPEND;
	}
	if (!must_write && (fd == -EROFS || fd == -EACCES || fd == -ETXTBSY || fd == -EPERM))
		fd = reopen(in, O_RDONLY), mode = IO_RDONLY;
	return fd < 0 ? fd : install(in, fd, mode);
}

int inode_io_fd(struct inode *in)
{
	if (__atomic_load_n(&in->io_mode, __ATOMIC_ACQUIRE) != IO_PATH)
		return in->fd;
	return open_io(in, 0);
}

int inode_write_fd(struct inode *in, int open_flags)
{
	if (__atomic_load_n(&in->io_mode, __ATOMIC_ACQUIRE) != IO_RDWR) {
		/* again each time: the file may have been made writable since */
		int r = open_io(in, 1);
		if (r < 0)
			return r;
	}
	if (__atomic_load_n(&in->io_mode, __ATOMIC_ACQUIRE) == IO_APPEND &&
	    !(open_flags & O_APPEND))
		return -EPERM; /* an append-only file: what its open would have said */
	return in->fd;
}

void inode_adopt_io_fd(struct inode *in, int fd)
{
	install(in, fd, IO_RDWR);
}
