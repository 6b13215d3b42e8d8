/* ops_entry.c — lookup, attributes and forget, for real and virtual nodes. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

void proc_path(int fd, char buf[64])
{
	snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

int merged_lookup(fuse_ino_t parent, const char *name, struct fuse_entry_param *e)
{
	struct inode *dir = inode_of(parent);
	if (!dir)
		return -ENOTDIR;
	struct folder *folder;
	enum role role = inode_place(dir, &folder);
	if (folder_unservable(role, folder, name))
		return -EIO;
	char *path = inode_child_path(dir, name);
	struct folder *child_folder = NULL;
	enum role child_role = ROLE_NONE;
	if (path) /* prepares the accounts that live there before looking */
		child_role = place_of(path, &child_folder);
	memset(e, 0, sizeof *e);
	int fd = openat(dir->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		free(path);
		if (err != ENOENT)
			return -err;
		return virtual_lookup(role, folder, name, e);
	}
	if (fstatat(fd, "", &e->attr, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		int err = errno;
		close(fd);
		free(path);
		return -err;
	}
	struct inode *in = inode_get(fd, &e->attr);
	if (!in) {
		free(path);
		return -ENOMEM;
	}
	pthread_mutex_lock(&fs.lock);
	if (S_ISDIR(e->attr.st_mode) && path && (!in->path || !strcmp(in->path, path))) {
		/* what it is now: a reload may have added or retired an account */
		if (!in->path)
			in->path = path, path = NULL;
		inode_set_place(in, child_role, child_folder);
	}
	pthread_mutex_unlock(&fs.lock);
	free(path);
	e->ino = (fuse_ino_t)(uintptr_t)in;
	e->attr_timeout = e->entry_timeout = fs.timeout;
	return 0;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	int r = merged_lookup(parent, name, &e);
	if (r == 0 && (e.ino & VIRTUAL_BIT) && vid_kind(e.ino) != VK_MESSAGE)
		r = control_snapshot_entry(&e);
	/* the parent is not read after the reply: the kernel may forget it then */
	struct inode *dir = r == 0 || r == -ENOENT ? inode_of(parent) : NULL;
	struct folder *folder = NULL;
	enum role role = dir ? inode_place(dir, &folder) : ROLE_NONE;
	if (r == -ENOENT) {           /* a negative entry, cached briefly */
		if (role == ROLE_CUR) /* before the kernel has it */
			kernel_names_changed(folder);
		memset(&e, 0, sizeof e);
		e.entry_timeout = fs.timeout;
		fuse_reply_entry(req, &e);
	} else if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
	/* Courier looks into a folder (tmp/, courierimapacl...) before it lists
	 * its cur/; merged_lookup() found it served. Not for the .Folder
	 * directories inside the INBOX's. */
	if (role == ROLE_FOLDER && folder && name[0] != '.')
		prefetch_listing(folder);
}

/* Virtual messages need no forgetting: their ids are computed; but the next
 * listing of their cur/ must give their nodes again (kernel_names.c). */
static void node_forget(fuse_ino_t ino, uint64_t nlookup)
{
	struct inode *in = inode_of(ino);
	if (in)
		inode_forget(in, nlookup);
	else if (vid_is_snapshot(ino))
		control_snapshot_forget(ino, nlookup);
	else
		kernel_names_forget(ino);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	node_forget(ino, nlookup);
	fuse_reply_none(req);
}

/* The whole pages of a request's arguments, once read, given back: libfuse
 * receives every request into a worker's buffer of 1 MiB (FUSE_MAX_MAX_PAGES),
 * and the kernel fills it when it forgets many nodes at once (memory
 * pressure), so each worker would keep up to 1 MiB resident for good
 * (bench/memory.sh). The next request is written over the buffer anyway. */
static void release_pages(const void *p, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t hi = ((uintptr_t)p + len) & ~(page - 1);
	if (hi > lo)
		madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		node_forget(forgets[i].ino, forgets[i].nlookup);
	release_pages(forgets, count * sizeof *forgets);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	struct inode *in = inode_of(ino);
	int r =
	    in ? (fstatat(in->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0)
	       : virtual_stat(ino, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, in ? fs.timeout : 3600.0);
}

static int set_times(const char *path, const struct stat *attr, int to_set)
{
	struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		tv[0].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		tv[0] = attr->st_atim;
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	return utimensat(AT_FDCWD, path, tv, 0);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
	struct inode *in = inode_of(ino);
	if (!in) { /* old messages change only by rename (copy-up), never in place */
		fuse_reply_err(req, EROFS);
		return;
	}
	char path[64];
	proc_path(in->fd, path);
	int r = 0;
	if (to_set & FUSE_SET_ATTR_MODE)
		r = fchmodat(AT_FDCWD, path, attr->st_mode & 07777, 0);
	if (r == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		r = fchownat(in->fd, "", (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
		             (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1,
		             AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		r = truncate(path, attr->st_size);
	if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
	                         FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW)))
		r = set_times(path, attr, to_set);
	if (r < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	op_getattr(req, ino, fi);
}

/* The folder whose directory a node is, or NULL. */
static struct folder *folder_dir(fuse_ino_t ino)
{
	struct inode *in = inode_of(ino);
	struct folder *f = NULL;
	return in && inode_place(in, &f) == ROLE_FOLDER ? f : NULL;
}

struct forget_batch {
	fuse_ino_t cur;
	size_t n;
	char **names;
};

static int forget_threads; /* running send_forgets(), atomic */

static void *send_forgets(void *arg)
{
	struct forget_batch *b = arg;
	for (size_t i = 0; i < b->n; i++) {
		fuse_lowlevel_notify_inval_entry(fs.se, b->cur, b->names[i], strlen(b->names[i]));
		free(b->names[i]);
	}
	free(b->names);
	free(b);
	__atomic_sub_fetch(&forget_threads, 1, __ATOMIC_RELEASE);
	return NULL;
}

void forget_cur_names_drain(void)
{
	/* at unmount, the kernel answers at once (ENOTCONN): a short wait */
	for (int i = 0; i < 1000 && __atomic_load_n(&forget_threads, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
}

/* Sent from a thread of their own: the kernel takes cur/'s lock for each,
 * which it may hold for the very request whose handler found them stale (a
 * lookup in cur/ that followed the old server). */
void forget_cur_names(struct folder *f, char *const *names, size_t n)
{
	char *path = NULL;
	struct stat st;
	if (!n || !fs.se)
		return;
	kernel_names_changed(f);
	pthread_mutex_lock(&f->lock);
	int len = asprintf(&path, "%s%s", f->dirpath, folder_subdir(ROLE_CUR));
	pthread_mutex_unlock(&f->lock);
	fuse_ino_t cur = len >= 0 && fstatat(fs.upper_fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0
	                     ? inode_known(st.st_dev, st.st_ino)
	                     : 0;
	free(path);
	struct forget_batch *b = cur ? calloc(1, sizeof *b) : NULL;
	if (b && (b->names = calloc(n, sizeof *b->names))) {
		b->cur = cur;
		while (b->n < n && (b->names[b->n] = strdup(names[b->n])))
			b->n++;
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		__atomic_add_fetch(&forget_threads, 1, __ATOMIC_ACQ_REL);
		int started = pthread_create(&t, &attr, send_forgets, b) == 0;
		pthread_attr_destroy(&attr);
		if (started)
			return;
		__atomic_sub_fetch(&forget_threads, 1, __ATOMIC_RELEASE);
		fs_log("cannot tell the kernel that %zu names of %s changed: %s", n, f->dirpath,
		       strerror(errno));
		for (size_t i = 0; i < b->n; i++)
			free(b->names[i]);
	}
	if (b)
		free(b->names);
	free(b);
}

/* `mboxfs materialize`: one batch of a folder per MBOXFS_MATERIALIZE_XATTR set
 * on its directory (fs.h); no other extended attribute exists here. */
static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
	(void)flags;
	struct folder *f = folder_dir(ino);
	char text[32] = "";
	if (ino == FUSE_ROOT_ID && !strcmp(name, MBOXFS_RELOAD_XATTR)) {
		fuse_reply_err(req, -fs_reload(NULL, 0));
		return;
	}
	if (strcmp(name, MBOXFS_MATERIALIZE_XATTR) || !f || size >= sizeof text) {
		fuse_reply_err(req, strcmp(name, MBOXFS_MATERIALIZE_XATTR) ? ENOTSUP : EINVAL);
		return;
	}
	memcpy(text, value, size);
	char *end;
	unsigned long long max_bytes = strtoull(text, &end, 10);
	if (*end) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	struct materialized done = {0};
	int r = materialize_batch(f, max_bytes, 1, &done);
	fuse_reply_err(req, -r);
	/* the kernel still maps their names to the virtual objects */
	forget_cur_names(f, done.names, done.nnames);
	materialized_free(&done);
}

static void reply_xattr(fuse_req_t req, size_t size, const char *text, int len)
{
	if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else if (size < (size_t)len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, text, (size_t)len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct folder *f = folder_dir(ino);
	uint64_t a, b, c;
	char text[1024];
	int r = -ENODATA, len = 0;
	if (f && !strcmp(name, MBOXFS_PENDING_XATTR) &&
	    (r = materialize_pending(f, &a, &b, &c)) == 0)
		len = snprintf(text, sizeof text, "%llu %llu %llu\n", (unsigned long long)a,
		               (unsigned long long)b, (unsigned long long)c);
	else if (ino == FUSE_ROOT_ID && !strcmp(name, MBOXFS_RELOAD_XATTR)) {
		fs_reload_result(text, sizeof text);
		len = (int)strlen(text);
		r = 0;
	} else if (ino == FUSE_ROOT_ID && !strcmp(name, MBOXFS_RESERVE_XATTR) &&
	           (r = journal_reserve_state(fs.state_dir, &a, &b)) == 0)
		len = snprintf(text, sizeof text, "%llu %llu\n", (unsigned long long)a,
		               (unsigned long long)b);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_xattr(req, size, text, len);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct inode *in = inode_of(ino);
	char buf[PATH_MAX + 1];
	if (!in) { /* Courier readlink()s every message before opening it */
		fuse_reply_err(req, EINVAL);
		return;
	}
	ssize_t n = readlinkat(in->fd, "", buf, sizeof buf - 1);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	buf[n] = '\0';
	fuse_reply_readlink(req, buf);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	(void)ino;
	struct statvfs st;
	char path[64];
	proc_path(fs.upper_fd, path);
	if (statvfs(path, &st) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &st);
}

void ops_entry_fill(struct fuse_lowlevel_ops *ops)
{
	ops->lookup = op_lookup;
	ops->forget = op_forget;
	ops->forget_multi = op_forget_multi;
	ops->getattr = op_getattr;
	ops->setattr = op_setattr;
	ops->setxattr = op_setxattr;
	ops->getxattr = op_getxattr;
	ops->readlink = op_readlink;
	ops->statfs = op_statfs;
}
