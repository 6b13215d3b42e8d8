/* copyup.c — a virtual object becomes a real file of the upper tree when
 * Courier renames it (a flag change, a move to another folder): the served
 * bytes go to a temporary dot file in the target directory (Courier ignores
 * names that start with '.'), which gets the owner, mode 0600 and the
 * INTERNALDATE as mtime, is fsync()ed, renamed to the new name, and the
 * directory is fsync()ed. Only then is the virtual object hidden. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct writer {
	int fd;
	int err;
};

static void write_piece(const char *bytes, size_t len, void *arg)
{
	struct writer *w = arg;
	while (len && !w->err) {
		ssize_t n = write(w->fd, bytes, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err = n < 0 ? errno : EIO;
			return;
		}
		bytes += n, len -= (size_t)n;
	}
}

/* Writes the contents and attributes of id to fd. */
static int fill(fuse_ino_t id, int fd)
{
	struct folder *f = folder_by_id(vid_folder(id));
	struct writer w = {fd, 0};
	struct timespec times[2] = {{fs.started, 0}, {fs.started, 0}};
	if (!f)
		return -ENOENT;
	if (vid_kind(id) == VK_MESSAGE) {
		int r;
		const struct mbx_message *m = virtual_message(id, &f, &r);
		if (!m)
			return r;
		mbx_for_each_piece(&f->file.mb, m, f->file.data, write_piece, &w);
		times[0].tv_sec = times[1].tv_sec = (time_t)m->date;
	} else {
		const char *data;
		char *owned;
		size_t len;
		int r = virtual_content(id, &data, &len, &owned);
		if (r < 0)
			return r;
		write_piece(data, len, &w);
		free(owned);
	}
	if (w.err)
		return -w.err;
	if (fchown(fd, f->acct->uid, f->acct->gid) < 0 || fchmod(fd, 0600) < 0 ||
	    futimens(fd, times) < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int copy_up(fuse_ino_t id, struct inode *dir, const char *name, unsigned int flags)
{
	static atomic_uint counter;
	char tmp[64];
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE needs an upper file on both sides */
	snprintf(tmp, sizeof tmp, ".mboxfs-copyup.%d.%u", getpid(), atomic_fetch_add(&counter, 1));
	int fd = openat(dir->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = fill(id, fd);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat2(dir->fd, tmp, dir->fd, name, flags) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dir->fd, tmp, 0);
		return r;
	}
	int dfd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		r = -errno;
	if (dfd >= 0)
		close(dfd);
	return r;
}
