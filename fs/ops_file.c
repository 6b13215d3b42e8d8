/* ops_file.c — open, read and write. Real files are served through their
 * inode's fd; virtual messages straight from the mbox by their pieces (spliced
 * when the message has no CR); generated control files from their snapshots. */
#include "fs_internal.h"
#include "source_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 0 if the mbox still holds every byte of virtual message ino, else -errno. */
static int message_still_there(struct folder *f, fuse_ino_t ino)
{
	int r;
	pthread_rwlock_rdlock(&f->view_lock);
	const struct mbx_message *m = virtual_message(ino, &f, &r);
	r = m ? source_covers(f, source_message_end(m)) : r;
	pthread_rwlock_unlock(&f->view_lock);
	return r;
}

/* Files need no open: old messages and control snapshots never change (their
 * pages are kept), real files are read and written through the fd of their
 * inode. So the first OPEN gets ENOSYS, and the kernel asks no more: no OPEN,
 * FLUSH or RELEASE for any file of the mount from then on (the kernel keeps
 * the pages, as FOPEN_KEEP_CACHE). With a kernel that cannot, each open is
 * answered here, without a handle. */
static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (fs.no_open) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	struct inode *in = inode_of(ino);
	struct folder *f = in ? NULL : folder_by_id(vid_folder(ino));
	struct stat st;
	int r = 0;
	if (in) /* a read-only open of a file that cannot be written is fine */
		r = (fi->flags & O_ACCMODE) == O_RDONLY ? inode_io_fd(in)
		                                        : inode_write_fd(in, fi->flags);
	else if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		r = -EROFS; /* old messages change only by rename */
	else if (!f)
		r = -ENOENT;
	else if (vid_kind(ino) == VK_MESSAGE)
		r = message_still_there(f, ino);
	else
		r = virtual_stat(ino, &st);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1; /* only this mount changes what it serves */
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
	struct inode *dir = inode_of(parent);
	if (!dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	struct folder *folder;
	enum role role = inode_place(dir, &folder);
	if (folder_unservable(role, folder, name)) { /* no scan, no delivery */
		fuse_reply_err(req, EIO);
		return;
	}
	/* read-write: the fd becomes the file's one fd (inode_adopt_io_fd);
	 * appends are placed by the kernel, which knows the size */
	int flags =
	    (fi->flags & ~(O_ACCMODE | O_APPEND | O_NOFOLLOW)) | O_RDWR | O_CREAT | O_CLOEXEC;
	int fd = openat(dir->fd, name, flags, mode);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	int r = fchown(fd, ctx->uid, ctx->gid) < 0 ? -errno : merged_lookup(parent, name, &e);
	struct inode *in = r == 0 ? inode_of(e.ino) : NULL;
	if (in)
		inode_adopt_io_fd(in, fd);
	else
		close(fd);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = 0;
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_create(req, &e, fi);
}

/* Replies with served bytes [off, off+size) of a message as a vector of mbox
 * ranges, so that libfuse can splice them without copying. */
static void read_message_zero_copy(fuse_req_t req, const struct folder *f,
                                   const struct mbx_message *m, size_t size, off_t off)
{
	const struct mbx_mailbox *mb = &f->file.mb;
	size_t max = (size_t)m->ncuts + 1;
	struct fuse_bufvec *v = calloc(1, sizeof *v + max * sizeof(struct fuse_buf));
	if (!v) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	uint64_t want_lo = (uint64_t)off, want_hi = (uint64_t)off + size, served = 0;
	uint32_t raw = 0;
	for (uint32_t i = 0; i <= m->ncuts; i++) {
		uint32_t end = i < m->ncuts ? mb->cuts[m->cut_first + i].off : m->raw_len;
		uint64_t lo = served, hi = served + (end - raw); /* served range of this piece */
		if (hi > want_lo && lo < want_hi) {
			uint64_t from = lo > want_lo ? lo : want_lo,
			         to = hi < want_hi ? hi : want_hi;
			struct fuse_buf *b = &v->buf[v->count++];
			b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
			b->fd = f->file.fd;
			b->pos = (off_t)(m->offset + raw + (from - lo));
			b->size = (size_t)(to - from);
		}
		served = hi;
		if (i < m->ncuts)
			raw = end + MBX_CUT_LEN(&mb->cuts[m->cut_first + i]);
	}
	fuse_reply_data(req, v, FUSE_BUF_SPLICE_MOVE);
	free(v);
}

/* Served bytes [off, off+size) of message m of f (whose view lock is held). */
static void read_message(fuse_req_t req, struct folder *f, const struct mbx_message *m, size_t size,
                         off_t off)
{
	if ((uint64_t)off >= m->size) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	int r;
	if (!(m->bits & (MBX_HAS_CR | MBX_NUL_AS_SPACE))) {
		/* spliced from the fd: a file that shrank would give a short read */
		if ((r = source_covers(f, source_message_end(m))) < 0)
			fuse_reply_err(req, -r);
		else
			read_message_zero_copy(req, f, m, size, off);
		return;
	}
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ssize_t n = source_read_served(f, m, (uint64_t)off, buf, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void read_virtual(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off)
{
	if (vid_kind(ino) != VK_MESSAGE) {
		/* replied from a copy: the kernel may forget the snapshot as soon as
		 * it has the reply, while this thread is still returning from
		 * writev() (AddressSanitizer checks the buffer only then) */
		size_t n;
		char *copy = control_snapshot_read(ino, off, size, &n);
		if (!copy)
			fuse_reply_err(req, errno);
		else
			fuse_reply_buf(req, copy, n);
		free(copy);
		return;
	}
	struct folder *f = folder_by_id(vid_folder(ino));
	folder_follow(f, 0); /* the old server wrote it: follow first */
	int r = f ? 0 : -ENOENT;
	if (f)
		pthread_rwlock_rdlock(&f->view_lock);
	const struct mbx_message *m = f ? virtual_message(ino, &f, &r) : NULL;
	if (m && __atomic_load_n(&f->diverged, __ATOMIC_ACQUIRE))
		m = NULL, r = -EIO; /* its bytes are not what was served */
	/* its first page was not cached: those after it likely are not either;
	 * asked before the reply, so that the pushes start before the next read */
	if (m && off == 0)
		prefetch_after(f, (uint32_t)(m - f->file.mb.msgs));
	if (!m)
		fuse_reply_err(req, -r);
	else
		read_message(req, f, m, size, off);
	if (f)
		pthread_rwlock_unlock(&f->view_lock);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	(void)fi;
	struct inode *in = inode_of(ino);
	if (!in) {
		read_virtual(req, ino, size, off);
		return;
	}
	int fd = inode_io_fd(in);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = fd;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
                         struct fuse_file_info *fi)
{
	struct inode *in = inode_of(ino);
	/* fi->flags: the flags of the open the write comes through */
	int fd = in ? inode_write_fd(in, fi->flags) : -EROFS; /* old messages: only renames */
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in_buf));
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = fd;
	out.buf[0].pos = off;
	ssize_t n = fuse_buf_copy(&out, in_buf, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)fi;
	struct inode *in = inode_of(ino);
	int fd = in ? inode_io_fd(in) : 0;
	int r = fd < 0 ? -fd : 0;
	if (in && fd >= 0)
		r = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0;
	fuse_reply_err(req, r);
}

/* No flush and no release: nothing is kept per open (see op_open). */
void ops_file_fill(struct fuse_lowlevel_ops *ops)
{
	ops->open = op_open;
	ops->create = op_create;
	ops->read = op_read;
	ops->write_buf = op_write_buf;
	ops->fsync = op_fsync;
}
