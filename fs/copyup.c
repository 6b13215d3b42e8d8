/* copyup.c — a virtual object written as a real file of the upper tree, when
 * a record cannot express what Courier did to it (a move to another folder,
 * changes.c) and when materialize asks for it (materialize.c): the served
 * bytes go to a temporary dot file in the target directory (Courier ignores
 * names that start with '.'), which gets the owner, mode 0600 and the
 * INTERNALDATE as mtime, is fsync()ed, renamed to the new name, and the
 * directory is fsync()ed. The caller hides the virtual object only then. */
#include "fs_internal.h"
#include "source_read.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* Pieces are gathered and written with one writev (a message is usually two
 * pieces, its headers and its body): one system call, and no partial page
 * zeroed for the first piece's end only to be written over. */
#define WRITER_PIECES 16

struct writer {
	int fd;
	int err;
	struct iovec iov[WRITER_PIECES];
	int n;
};

static void write_out(struct writer *w)
{
	struct iovec *iov = w->iov;
	int n = w->n;
	w->n = 0;
	while (n && !w->err) {
		ssize_t done = writev(w->fd, iov, n);
		if (done < 0 && errno == EINTR)
			continue;
		if (done <= 0) {
			w->err = done < 0 ? errno : EIO;
			return;
		}
		for (; n && (size_t)done >= iov->iov_len; n--, iov++)
			done -= (ssize_t)iov->iov_len;
		if (n)
			iov->iov_base = (char *)iov->iov_base + done, iov->iov_len -= (size_t)done;
	}
}

static void write_piece(const char *bytes, size_t len, void *arg)
{
	struct writer *w = arg;
	if (!len)
		return;
	if (w->n == WRITER_PIECES)
		write_out(w);
	w->iov[w->n++] = (struct iovec){(void *)bytes, len};
}

/* Under the source guard (source_guarded): the pieces are read by writev. */
struct fill {
	struct folder *f;
	const struct mbx_message *m;
	struct writer *w;
};

static void fill_message(void *arg)
{
	struct fill *fl = arg;
	mbx_for_each_piece(&fl->f->file.mb, fl->m, fl->f->file.data, write_piece, fl->w);
	write_out(fl->w);
}

int copy_up_fill(fuse_ino_t id, int fd)
{
	struct folder *f = folder_by_id(vid_folder(id));
	struct writer w = {.fd = fd};
	struct timespec times[2] = {{fs.started, 0}, {fs.started, 0}};
	if (!f)
		return -ENOENT;
	if (vid_kind(id) == VK_MESSAGE) {
		int r;
		const struct mbx_message *m = virtual_message(id, &f, &r);
		if (!m)
			return r;
		struct fill fl = {f, m, &w};
		if ((r = source_guarded(f, source_message_end(m), fill_message, &fl)) < 0)
			return r; /* the mbox shrank: bytes gone, EIO */
		times[0].tv_sec = times[1].tv_sec = (time_t)m->date;
	} else {
		const char *data;
		char *owned;
		size_t len;
		int r = virtual_content(id, &data, &len, &owned);
		if (r < 0)
			return r;
		write_piece(data, len, &w);
		write_out(&w);
		free(owned);
	}
	if (w.err)
		return -w.err;
	if (fchown(fd, f->acct->uid, f->acct->gid) < 0 || fchmod(fd, 0600) < 0 ||
	    futimens(fd, times) < 0)
		return -errno;
	return 0;
}

#define TMP_PREFIX ".mboxfs-copyup."

void copy_up_tmp_name(char buf[64])
{
	static atomic_uint counter;
	snprintf(buf, 64, TMP_PREFIX "%d.%u", getpid(), atomic_fetch_add(&counter, 1));
}

void copy_up_clean(int dir_fd)
{
	char mine[64];
	int n = snprintf(mine, sizeof mine, TMP_PREFIX "%d.", getpid());
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, TMP_PREFIX, sizeof TMP_PREFIX - 1) &&
		    strncmp(e->d_name, mine, (size_t)n))
			unlinkat(fd, e->d_name, 0);
	closedir(d);
}

int copy_up(fuse_ino_t id, struct inode *dir, const char *name, unsigned int flags)
{
	char tmp[64];
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE needs an upper file on both sides */
	copy_up_tmp_name(tmp);
	int fd = openat(dir->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = copy_up_fill(id, fd);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
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
