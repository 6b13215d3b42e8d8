/* ops_dir.c — directories: listing the merged tree, and the namespace
 * operations, which all act on the upper tree. */
#include "fs_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

/* A snapshot of a directory taken at opendir: offsets are indexes + 1, the
 * same for readdir and readdirplus. The names live in one buffer, not one
 * allocation each: a cur/ of thousands of messages would otherwise leave the
 * daemon's heap full of holes between the objects that outlive the listing. */
struct dir_entry {
	size_t name;    /* offset in dir_handle.names */
	fuse_ino_t vid; /* virtual id, or 0 for an upper entry */
	ino_t ino;
	unsigned char type;
};

struct dir_handle {
	struct dir_entry *entries;
	size_t n, cap;
	char *names; /* NUL-terminated, one after the other */
	size_t names_len, names_cap;
	char **upper; /* hash set of upper names, to hide shadowed virtual ones */
	size_t upper_cap;
	int by_key; /* cur/: a real file hides the message with its key */
	int filled; /* the listing was taken (at the first readdir) */
	/* cur/: its folder, and what kernel_names.c decides with */
	struct folder *folder;
	uint64_t epoch, token;
	int names_only; /* the kernel has every node of this listing */
	int gave_names; /* some entries went out as names only */
};

static const char *name_of(const struct dir_handle *d, const struct dir_entry *e)
{
	return d->names + e->name;
}

static int push(struct dir_handle *d, const char *name, fuse_ino_t vid, ino_t ino,
                unsigned char type)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct dir_entry *e = realloc(d->entries, cap * sizeof *e);
		if (!e)
			return -1;
		d->entries = e, d->cap = cap;
	}
	size_t len = strlen(name) + 1;
	if (d->names_cap - d->names_len < len) {
		size_t cap = d->names_cap ? d->names_cap : 4096;
		while (cap - d->names_len < len)
			cap *= 2;
		char *grown = realloc(d->names, cap);
		if (!grown)
			return -1;
		d->names = grown, d->names_cap = cap;
	}
	memcpy(d->names + d->names_len, name, len);
	d->entries[d->n++] = (struct dir_entry){d->names_len, vid, ino, type};
	d->names_len += len;
	return 0;
}

/* What of a name must match: all of it, or in cur/ the maildir key (the part
 * before the last ':'), since a flag change renames the file. */
static size_t match_len(const struct dir_handle *d, const char *name)
{
	const char *colon = d->by_key ? strrchr(name, ':') : NULL;
	return colon ? (size_t)(colon - name) : strlen(name);
}

static size_t name_hash(const struct dir_handle *d, const char *name)
{
	return (size_t)XXH3_64bits(name, match_len(d, name)) & (d->upper_cap - 1);
}

static int in_upper(const struct dir_handle *d, const char *name)
{
	size_t len = match_len(d, name);
	for (size_t h = name_hash(d, name); d->upper[h]; h = (h + 1) & (d->upper_cap - 1))
		if (match_len(d, d->upper[h]) == len && !memcmp(d->upper[h], name, len))
			return 1;
	return 0;
}

static int none_in_upper(const char *name, void *arg)
{
	(void)name, (void)arg;
	return 0;
}

/* Drops the virtual entries [0, nvirtual) that a real entry shadows. */
static int drop_shadowed(struct dir_handle *d, size_t nvirtual)
{
	d->upper_cap = 16;
	while (d->upper_cap < (d->n - nvirtual) * 2)
		d->upper_cap <<= 1;
	if (!(d->upper = calloc(d->upper_cap, sizeof *d->upper)))
		return -1;
	for (size_t i = nvirtual; i < d->n; i++) { /* names is complete: no realloc now */
		size_t h = name_hash(d, name_of(d, &d->entries[i]));
		while (d->upper[h])
			h = (h + 1) & (d->upper_cap - 1);
		d->upper[h] = d->names + d->entries[i].name;
	}
	size_t kept = 0;
	for (size_t i = 0; i < d->n; i++)
		if (i >= nvirtual || !in_upper(d, name_of(d, &d->entries[i])))
			d->entries[kept++] = d->entries[i];
	d->n = kept;
	return 0;
}

static int push_virtual(const char *name, fuse_ino_t id, void *arg)
{
	return push(arg, name, id, id, DT_REG);
}

/* The token of a complete listing: every name and node id, in order. */
static uint64_t listing_token(const struct dir_handle *d, uint64_t seed)
{
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		return 0;
	XXH3_64bits_reset_withSeed(st, seed);
	XXH3_64bits_update(st, d->names, d->names_len);
	uint64_t batch[256];
	size_t k = 0;
	for (size_t i = 0; i < d->n; i++) {
		batch[k++] = d->entries[i].name;
		batch[k++] = d->entries[i].vid;
		if (k == sizeof batch / sizeof batch[0] || i + 1 == d->n) {
			XXH3_64bits_update(st, batch, k * sizeof batch[0]);
			k = 0;
		}
	}
	uint64_t token = XXH3_64bits_digest(st);
	XXH3_freeState(st);
	return token ? token : 1; /* 0 is "none" */
}

static void free_handle(struct dir_handle *d)
{
	free(d->names);
	free(d->entries);
	free(d->upper);
	free(d);
}

/* The listing of directory in, taken when first read. 0 or -errno. */
static int fill(struct dir_handle *d, struct inode *in)
{
	int fd = openat(in->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dp) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		return -err;
	}
	/* The virtual entries before the real ones: a copy-up makes its file
	 * real before it hides the virtual one, so the listing has one of the
	 * two, never neither (nor both: a flag change keeps the key). */
	struct folder *folder;
	enum role role = inode_place(in, &folder);
	d->by_key = role == ROLE_CUR;
	if (d->by_key && folder) { /* the epoch before the names */
		d->folder = folder;
		d->epoch = kernel_names_epoch(folder);
	}
	int failed = virtual_entries(role, folder, none_in_upper, NULL, push_virtual, d);
	size_t nvirtual = d->n;
	struct dirent *e;
	while (!failed && (e = readdir(dp)))
		failed = push(d, e->d_name, 0, e->d_ino, e->d_type) < 0;
	closedir(dp);
	if (!failed)
		failed = drop_shadowed(d, nvirtual);
	if (!failed && d->folder) {
		d->token = listing_token(d, kernel_names_seed(d->epoch));
		d->names_only = kernel_names_known(d->folder, d->token);
	}
	d->filled = !failed;
	return failed ? -ENOMEM : 0;
}

/* Every open lists anew (no kernel cache of listings): Courier numbers what
 * its scan of cur/ misses anew, so a listing must never be older than the
 * open. The kernel's cache of listings (FOPEN_CACHE_DIR) was tried and
 * dropped: a listing it caches may have been taken before a rename that it
 * does not count as newer, and is then served as current (BENCHMARKS.md). */
static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct inode *in = inode_of(ino);
	struct folder *f = NULL;
	if (!in) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	char *path = inode_child_path(in, "");
	if (path) /* the mail root and the directories on the way to maildirs */
		place_of(path, &f);
	free(path);
	/* in is not read after the reply: the kernel may then forget the node
	 * at once (memory pressure, drop_caches), and another thread frees in */
	struct folder *folder; /* folders live as long as the mount */
	enum role role = inode_place(in, &folder);
	struct name_list stale = {0};
	if (role == ROLE_CUR && folder) /* what the old server changed */
		folder_refresh(folder, &stale);
	struct dir_handle *d = NULL;
	int err = 0;
	if (role != ROLE_FOLDER && folder_unservable(role, folder, ""))
		err = EIO;
	else if (!(d = calloc(1, sizeof *d)))
		err = ENOMEM;
	if (err) {
		fuse_reply_err(req, err);
	} else {
		fi->fh = (uint64_t)(uintptr_t)d;
		fi->cache_readdir = 0;
		fuse_reply_open(req, fi);
	}
	/* after the reply, and whatever it was: the view has changed */
	forget_cur_names(folder, stale.names, stale.n);
	name_list_free(&stale);
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, int plus)
{
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	int r = d->filled ? 0 : fill(d, inode_of(ino));
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* messages as names only while nothing may have changed the kernel's
	 * dentries since the listing was made (kernel_names.c) */
	int names_only = plus && d->names_only && kernel_names_epoch(d->folder) == d->epoch;
	size_t used = 0, i;
	for (i = (size_t)off; i < d->n; i++) {
		const struct dir_entry *de = &d->entries[i];
		const char *name = name_of(d, de);
		size_t len;
		if (!plus) {
			struct stat st = {.st_ino = de->ino, .st_mode = (mode_t)de->type << 12};
			len = fuse_add_direntry(req, buf + used, size - used, name, &st,
			                        (off_t)i + 1);
			if (len > size - used)
				break;
			used += len;
			continue;
		}
		struct fuse_entry_param e;
		int is_dot = !strcmp(name, ".") || !strcmp(name, "..");
		memset(&e, 0, sizeof e);
		if (is_dot) { /* no lookup: the kernel does not count these */
			e.attr.st_ino = de->ino;
			e.attr.st_mode = S_IFDIR;
		} else if (de->vid && (vid_kind(de->vid) != VK_MESSAGE || names_only ||
		                       virtual_stat(de->vid, &e.attr) < 0)) {
			/* a name only, looked up at open: a control file's node is a
			 * snapshot made then, a message whose bytes are gone fails;
			 * or a message the kernel has (names_only) */
			d->gave_names |= vid_kind(de->vid) == VK_MESSAGE;
			memset(&e.attr, 0, sizeof e.attr);
			e.attr.st_ino = de->vid;
			e.attr.st_mode = S_IFREG;
		} else if (de->vid) {
			e.ino = de->vid;
			/* as virtual_lookup() gives it: for the kernel, the same node
			 * id with another generation is a reused id, and it fails
			 * every read of the files open on the old inode with EIO */
			e.generation = 1;
			e.attr_timeout = e.entry_timeout = 3600.0;
		} else if (merged_lookup(ino, name, &e)) {
			continue; /* vanished since opendir */
		}
		len = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)i + 1);
		if (len > size - used) {
			struct inode *in = (!is_dot && !de->vid) ? inode_of(e.ino) : NULL;
			if (in)
				inode_forget(in, 1);
			break;
		}
		used += len;
	}
	/* the end reached, every message given with its node: the kernel has
	 * them all, unless the epoch moved since the listing was made */
	if (plus && i == d->n && d->folder && d->token && !d->names_only && !d->gave_names)
		kernel_names_listed(d->folder, d->token);
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, 1);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	free_handle((struct dir_handle *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)fi;
	struct inode *in = inode_of(ino);
	int fd = in ? openat(in->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int r = fd < 0 ? errno : ((datasync ? fdatasync(fd) : fsync(fd)) < 0 ? errno : 0);
	if (fd >= 0)
		close(fd);
	fuse_reply_err(req, in ? r : ENOTDIR);
}

/* Entry creation: the new object belongs to the caller, as on a local disk
 * (mboxfs runs as root). */
static void reply_created(fuse_req_t req, fuse_ino_t parent, const char *name, int r)
{
	struct inode *dir = inode_of(parent);
	if (r == 0) {
		const struct fuse_ctx *ctx = fuse_req_ctx(req);
		if (fchownat(dir->fd, name, ctx->uid, ctx->gid, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
	}
	struct fuse_entry_param e;
	if (r == 0)
		r = merged_lookup(parent, name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct inode *dir = inode_of(parent);
	if (!dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	reply_created(req, parent, name, mkdirat(dir->fd, name, mode) < 0 ? -errno : 0);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct inode *dir = inode_of(parent);
	if (!dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	reply_created(req, parent, name, symlinkat(link, dir->fd, name) < 0 ? -errno : 0);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct inode *dir = inode_of(parent);
	if (!dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	reply_created(req, parent, name, mknodat(dir->fd, name, mode, rdev) < 0 ? -errno : 0);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char *name)
{
	struct inode *in = inode_of(ino), *dir = inode_of(parent);
	if (!in || !dir) { /* virtual messages have no upper file to link */
		fuse_reply_err(req, in ? ENOTDIR : EPERM);
		return;
	}
	char path[64];
	proc_path(in->fd, path);
	struct fuse_entry_param e;
	int r = linkat(AT_FDCWD, path, dir->fd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
	if (r == 0)
		r = merged_lookup(parent, name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* EXPUNGE of an old message, Courier removing a generated control file:
 * recorded before the reply. */
/* The virtual object that name stands for in directory dir, or 0. */
static fuse_ino_t dir_virtual_id(const struct inode *dir, const char *name)
{
	struct folder *folder;
	enum role role = inode_place(dir, &folder);
	return virtual_id(role, folder, name);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct inode *dir = inode_of(parent);
	if (!dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	int r;
	fuse_ino_t id;
	/* an old object: again on the upper tree if materialize made it real
	 * meanwhile (EAGAIN) */
	while ((r = unlinkat(dir->fd, name, 0) < 0 ? errno : 0) == ENOENT &&
	       (id = dir_virtual_id(dir, name)) && (r = -virtual_unlink(id, name)) == EAGAIN)
		;
	fuse_reply_err(req, r);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct inode *dir = inode_of(parent);
	if (!dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	int r = unlinkat(dir->fd, name, AT_REMOVEDIR) < 0 ? errno : 0;
	char *path = r ? NULL : inode_child_path(dir, name);
	if (path) /* DELETE of an old folder: it stays deleted after a remount */
		r = -folder_deleted(path);
	free(path);
	fuse_reply_err(req, r);
}

/* After a rename in the upper tree: a directory takes its children's paths
 * along, and an old folder is recorded where Courier put it. */
static int renamed(struct inode *dir, const char *name, struct inode *newdir, const char *newname)
{
	struct stat st;
	if (fstatat(newdir->fd, newname, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
		return 0;
	char *old = inode_child_path(dir, name), *new = inode_child_path(newdir, newname);
	int r = 0;
	if (old && new) {
		inode_rename_paths(old, new);
		r = folder_renamed(old, new);
	}
	free(old);
	free(new);
	return r;
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
	struct inode *dir = inode_of(parent), *newdir = inode_of(newparent);
	if (!dir || !newdir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	int r, upper = 1;
	fuse_ino_t id;
	/* an old object: again on the upper tree if materialize made it real
	 * meanwhile (EAGAIN) */
	while ((r = renameat2(dir->fd, name, newdir->fd, newname, flags) < 0 ? errno : 0) ==
	           ENOENT &&
	       (id = dir_virtual_id(dir, name)))
		if ((r = -virtual_rename(id, name, newdir, newname, flags)) != EAGAIN) {
			upper = 0;
			break;
		}
	if (r == 0 && upper && !(flags & RENAME_EXCHANGE))
		r = -renamed(dir, name, newdir, newname);
	fuse_reply_err(req, r);
}

void ops_dir_fill(struct fuse_lowlevel_ops *ops)
{
	ops->opendir = op_opendir;
	ops->readdir = op_readdir;
	ops->readdirplus = op_readdirplus;
	ops->releasedir = op_releasedir;
	ops->fsyncdir = op_fsyncdir;
	ops->mkdir = op_mkdir;
	ops->symlink = op_symlink;
	ops->mknod = op_mknod;
	ops->link = op_link;
	ops->unlink = op_unlink;
	ops->rmdir = op_rmdir;
	ops->rename = op_rename;
}
