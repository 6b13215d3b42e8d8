/* materialize.c — virtual objects written for good as real files of the upper
 * tree, under their own names, so that the upper tree alone is, file for file,
 * what the mount shows (DESIGN.md, cutover).
 *
 * On a mount, `mboxfs materialize` asks for one object at a time (setxattr,
 * ops_entry.c) and each goes through copy_up_rename() like a flag change. The
 * offline run does a folder at a time, its messages in batches whose files
 * are synced together: temporary files written, the filesystem synced, the
 * intents recorded, the files renamed, the directory synced, the moves
 * recorded. Either way a crash leaves each message in exactly one place
 * (whiteout.c completes or drops an intent on the next load). */
#include "fs_internal.h"
#include "name.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_MESSAGES 1024
#define BATCH_BYTES    (64u << 20)

/* A directory of a folder, as the stand-in for the inode the kernel would
 * pass to a rename: O_PATH fd, path below the upper root, role, folder. */
static int open_dir(struct folder *f, enum role role, struct inode *dir)
{
	static const char *const subdirs[] = {
	    [ROLE_FOLDER] = "", [ROLE_CUR] = "/cur", [ROLE_KEYWORDS] = "/courierimapkeywords"};
	memset(dir, 0, sizeof *dir);
	pthread_mutex_lock(&f->lock); /* a RENAME of the folder changes dirpath */
	int n = asprintf(&dir->path, "%s%s", f->dirpath, subdirs[role]);
	pthread_mutex_unlock(&f->lock);
	if (n < 0)
		return -ENOMEM;
	dir->fd = openat(fs.upper_fd, dir->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir->fd < 0) {
		free(dir->path);
		return -errno;
	}
	dir->role = role;
	dir->folder = f;
	return 0;
}

static void close_dir(struct inode *dir)
{
	close(dir->fd);
	free(dir->path);
}

int materialize(fuse_ino_t id, struct stat *dir_st, char name[256])
{
	struct folder *f = folder_by_id(vid_folder(id));
	if (!f)
		return -ENOENT;
	int r = folder_load(f);
	enum vkind kind = vid_kind(id);
	if (r < 0)
		return r;
	if (kind == VK_MESSAGE) {
		if (vid_index(id) >= f->file.mb.nmsgs)
			return -ENOENT;
		folder_message_name(f, vid_index(id), name);
	} else
		snprintf(name, 256, "%s", control_file_name(kind));
	struct inode dir;
	r = open_dir(f,
	             kind == VK_MESSAGE    ? ROLE_CUR
	             : kind == VK_KEYWORDS ? ROLE_KEYWORDS
	                                   : ROLE_FOLDER,
	             &dir);
	if (r < 0)
		return r;
	r = fstat(dir.fd, dir_st) < 0 ? -errno
	                              : copy_up_rename(id, name, &dir, name, RENAME_NOREPLACE);
	close_dir(&dir);
	return r;
}

/* The virtual objects of one directory: ids, plus names for messages. */
struct todo {
	const struct inode *dir;
	fuse_ino_t *ids;
	size_t n, cap;
};

static int in_dir(const char *name, void *arg)
{
	const struct todo *t = arg;
	struct stat st;
	return fstatat(t->dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int collect(const char *name, fuse_ino_t id, void *arg)
{
	(void)name;
	struct todo *t = arg;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		fuse_ino_t *ids = realloc(t->ids, cap * sizeof *ids);
		if (!ids)
			return 1;
		t->ids = ids, t->cap = cap;
	}
	t->ids[t->n++] = id;
	return 0;
}

/* What the mount would list in dir and the upper tree lacks; 0 or -errno. */
static int list_virtual(struct folder *f, const struct inode *dir, struct todo *t)
{
	memset(t, 0, sizeof *t);
	t->dir = dir;
	return virtual_entries(dir->role, f, in_dir, t, collect, t) ? -ENOMEM : 0;
}

/* Unlinks the temporary files from..n-1 of a failed batch. */
static void drop_tmp(const struct inode *dir, char (*tmp)[64], size_t from, size_t n)
{
	for (size_t i = from; i < n; i++)
		unlinkat(dir->fd, tmp[i], 0);
}

static int sync_dir(const struct inode *dir, int whole_fs)
{
	int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 || (whole_fs ? syncfs(fd) : fsync(fd)) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return r;
}

/* Messages ids[0..n) of f, all in cur/: one sync of the filesystem, two
 * records and one directory sync for the lot. */
static int write_batch(struct folder *f, const struct inode *dir, const fuse_ino_t *ids, size_t n)
{
	char(*tmp)[64] = calloc(n, sizeof *tmp);
	char(*names)[MBX_NAME_MAX] = calloc(n, sizeof *names);
	char **targets = calloc(n, sizeof *targets);
	uint32_t *indexes = calloc(n, sizeof *indexes);
	size_t written = 0, renamed = 0;
	int r = tmp && names && targets && indexes ? 0 : -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++, written++) {
		indexes[i] = vid_index(ids[i]);
		folder_message_name(f, indexes[i], names[i]);
		if (asprintf(&targets[i], "%s/%s", dir->path, names[i]) < 0) {
			targets[i] = NULL;
			r = -ENOMEM;
			break;
		}
		copy_up_tmp_name(tmp[i]);
		int fd = openat(dir->fd, tmp[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			r = -errno;
			break;
		}
		r = copy_up_fill(ids[i], fd);
		if (close(fd) < 0 && r == 0)
			r = -errno;
	}
	if (r == 0)
		r = sync_dir(dir, 1); /* the data of every temporary file, in one go */
	if (r == 0)
		r = whiteout_move_intents(f, n, indexes, 'k', (const char *const *)targets);
	for (; r == 0 && renamed < n; renamed++)
		if (renameat2(dir->fd, tmp[renamed], dir->fd, names[renamed], RENAME_NOREPLACE) < 0)
			r = -errno;
	if (tmp)
		drop_tmp(dir, tmp, renamed, written);
	int s = renamed ? sync_dir(dir, 0) : 0;
	if (s == 0 && renamed)
		s = whiteout_moved(f, renamed, indexes, 'k');
	for (size_t i = 0; targets && i < n; i++)
		free(targets[i]);
	free(tmp), free(names), free(targets), free(indexes);
	return r ? r : s;
}

int materialize_folder(struct folder *f, uint64_t *messages, uint64_t *bytes)
{
	int r = folder_load(f); /* an mbox that cannot be read is an error here */
	struct inode dir;
	struct todo t = {0};
	if (r < 0 || (r = open_dir(f, ROLE_CUR, &dir)) < 0)
		return r;
	pthread_mutex_lock(&f->move_lock);
	r = list_virtual(f, &dir, &t);
	for (size_t from = 0, to; r == 0 && from < t.n; from = to) {
		uint64_t batch_bytes = 0;
		for (to = from; to < t.n && to - from < BATCH_MESSAGES && batch_bytes < BATCH_BYTES;
		     to++)
			batch_bytes += f->file.mb.msgs[vid_index(t.ids[to])].size;
		r = write_batch(f, &dir, t.ids + from, to - from);
		if (r == 0)
			*messages += to - from, *bytes += batch_bytes;
	}
	pthread_mutex_unlock(&f->move_lock);
	free(t.ids);
	close_dir(&dir);
	/* then the control files, which describe the messages */
	static const enum role control_dirs[] = {ROLE_KEYWORDS, ROLE_FOLDER};
	for (size_t d = 0; r == 0 && d < 2; d++) {
		char name[256];
		struct stat st;
		if ((r = open_dir(f, control_dirs[d], &dir)) < 0)
			break;
		r = list_virtual(f, &dir, &t);
		for (size_t i = 0; r == 0 && i < t.n; i++)
			r = materialize(t.ids[i], &st, name);
		free(t.ids);
		close_dir(&dir);
	}
	if (r < 0)
		fs_log("%s: cannot materialize %s: %s", f->acct->a->maildir, f->dirpath,
		       strerror(-r));
	return r;
}
