/* ops_file.c — open, read and write. Real files are served through their
 * upper fd; virtual messages straight from the mbox by their pieces (spliced
 * when the message has no CR); generated control files from memory. */
#include "fs_internal.h"
#include "source_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An open generated control file: its bytes as they were at open. */
struct control_handle {
	const char *data;
	size_t len;
	char *owned; /* freed at release */
};

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

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct inode *in = inode_of(ino);
	if (!in) {
		struct stat st;
		/* Courier reads courierimapuiddb before it lists cur/: new mail of
		 * the old server must be in it by then */
		struct folder *f = folder_by_id(vid_folder(ino));
		if (vid_kind(ino) == VK_UIDDB || vid_kind(ino) == VK_KEYWORDS)
			folder_follow(f, 1);
		int r = f && folder_unservable(ROLE_CUR, f, "") ? -EIO : virtual_stat(ino, &st);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
			fuse_reply_err(req, EROFS); /* old messages change only by rename */
			return;
		}
		fi->fh = 0;
		if (vid_kind(ino) == VK_MESSAGE) {
			if ((r = message_still_there(f, ino)) < 0) {
				fuse_reply_err(req, -r); /* fail early: readers see EIO at open */
				return;
			}
			fi->keep_cache = 1; /* immutable */
		} else {                    /* a snapshot per open, as a real file gives */
			struct control_handle *h = calloc(1, sizeof *h);
			r = h ? virtual_content(ino, &h->data, &h->len, &h->owned) : -ENOMEM;
			if (r < 0) {
				free(h);
				fuse_reply_err(req, -r);
				return;
			}
			fi->fh = (uint64_t)(uintptr_t)h;
			/* its size may differ from what the kernel cached: the old
			 * server's changes, expunges (the POP3 list) */
			fi->direct_io = 1;
		}
		fuse_reply_open(req, fi);
		return;
	}
	char path[64];
	proc_path(in->fd, path);
	int fd = open(path, fi->flags & ~O_NOFOLLOW);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = (uint64_t)fd;
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
	if (folder_unservable(dir->role, dir->folder, name)) { /* no scan, no delivery */
		fuse_reply_err(req, EIO);
		return;
	}
	int fd = openat(dir->fd, name, (fi->flags | O_CREAT) & ~O_NOFOLLOW, mode);
	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	int r = fchown(fd, ctx->uid, ctx->gid) < 0 ? -errno : merged_lookup(parent, name, &e);
	if (r < 0) {
		close(fd);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uint64_t)fd;
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

static void read_virtual(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                         struct fuse_file_info *fi)
{
	if (vid_kind(ino) != VK_MESSAGE) {
		/* replied from a copy: once the kernel has the reply it may send
		 * RELEASE, which another thread serves by freeing the handle while
		 * this one is still returning from writev() (AddressSanitizer
		 * checks the buffer only then, and aborted the daemon) */
		const struct control_handle *h = (struct control_handle *)(uintptr_t)fi->fh;
		size_t from = (size_t)off < h->len ? (size_t)off : h->len;
		size_t n = h->len - from < size ? h->len - from : size;
		char *copy = malloc(n ? n : 1);
		if (!copy) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		memcpy(copy, h->data + from, n);
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
	if (!inode_of(ino)) {
		read_virtual(req, ino, size, off, fi);
		return;
	}
	struct fuse_bufvec buf = FUSE_BUFVEC_INIT(size);
	buf.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	buf.buf[0].fd = (int)fi->fh;
	buf.buf[0].pos = off;
	fuse_reply_data(req, &buf, FUSE_BUF_SPLICE_MOVE);
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino, struct fuse_bufvec *in_buf, off_t off,
                         struct fuse_file_info *fi)
{
	if (!inode_of(ino)) {
		fuse_reply_err(req, EBADF);
		return;
	}
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in_buf));
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = (int)fi->fh;
	out.buf[0].pos = off;
	ssize_t n = fuse_buf_copy(&out, in_buf, 0);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int r = 0;
	if (inode_of(ino)) { /* report close() errors of the upper file */
		int fd = dup((int)fi->fh);
		r = (fd < 0 || close(fd) < 0) ? errno : 0;
	}
	fuse_reply_err(req, r);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (inode_of(ino))
		close((int)fi->fh);
	else if (fi->fh) {
		struct control_handle *h = (struct control_handle *)(uintptr_t)fi->fh;
		free(h->owned);
		free(h);
	}
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	int r = 0;
	if (inode_of(ino))
		r = (datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh)) < 0 ? errno : 0;
	fuse_reply_err(req, r);
}

void ops_file_fill(struct fuse_lowlevel_ops *ops)
{
	ops->open = op_open;
	ops->create = op_create;
	ops->read = op_read;
	ops->write_buf = op_write_buf;
	ops->flush = op_flush;
	ops->release = op_release;
	ops->fsync = op_fsync;
}
