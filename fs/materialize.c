/* materialize.c — virtual objects written for good as real files of the upper
 * tree, under their own names, so that the upper tree alone is, file for file,
 * what the mount shows (DESIGN.md, cutover).
 *
 * On a mount, `mboxfs materialize` asks for one object at a time (setxattr,
 * ops_entry.c) and each goes through copy_up_rename() like a flag change. The
 * offline run does a folder at a time, its messages and then its control
 * files in batches whose files are synced together: temporary files written,
 * the filesystem synced, the intents recorded, the files renamed, the
 * directories synced, what was done recorded. Either way a crash leaves each message in exactly one
 * place (whiteout.c completes or drops an intent on the next load). */
#include "fs_internal.h"
#include "name.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_OBJECTS 1024
#define BATCH_BYTES   (64u << 20)

/* A directory of a folder, as the stand-in for the inode the kernel would
 * pass to a rename: O_PATH fd, path below the upper root, role, folder. */
static int open_dir(struct folder *f, enum role role, struct inode *dir)
{
	memset(dir, 0, sizeof *dir);
	pthread_mutex_lock(&f->lock); /* a RENAME of the folder changes dirpath */
	int n = asprintf(&dir->path, "%s%s", f->dirpath, folder_subdir(role));
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

static enum role role_of(enum vkind kind)
{
	return kind == VK_MESSAGE ? ROLE_CUR : kind == VK_KEYWORDS ? ROLE_KEYWORDS : ROLE_FOLDER;
}

int materialize(fuse_ino_t id, struct stat *dir_st, char name[256])
{
	struct folder *f = folder_by_id(vid_folder(id));
	enum vkind kind = vid_kind(id);
	int r;
	if (!f)
		return -ENOENT;
	if (kind == VK_MESSAGE) {
		if (!virtual_message(id, &f, &r))
			return r;
		folder_message_name(f, vid_index(id), name);
	} else
		snprintf(name, 256, "%s", control_file_name(kind));
	struct inode dir;
	r = open_dir(f, role_of(kind), &dir);
	if (r < 0)
		return r;
	r = fstat(dir.fd, dir_st) < 0 ? -errno
	                              : copy_up_rename(id, name, &dir, name, RENAME_NOREPLACE);
	close_dir(&dir);
	return r;
}

/* Virtual objects to write, and the directory being listed. */
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

/* Adds to t what the mount would list in dir and the upper tree lacks; 0 or
 * -errno. */
static int list_virtual(struct folder *f, const struct inode *dir, struct todo *t)
{
	t->dir = dir;
	return virtual_entries(dir->role, f, in_dir, t, collect, t) ? -ENOMEM : 0;
}

static int sync_dir(const struct inode *dir, int whole_fs)
{
	int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 || (whole_fs ? syncfs(fd) : fsync(fd)) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return r;
}

/* One object of a batch: its directory, temporary and final names. */
struct item {
	const struct inode *dir;
	char tmp[64];
	char name[MBX_NAME_MAX];
};

/* Writes ids[0..n) of f (messages first, then control files), each into its
 * directory in dirs (by role): one sync of the filesystem, one record of
 * intents, one sync per directory and one record of what was done for the
 * lot. */
static int write_batch(struct folder *f, struct inode *dirs, const fuse_ino_t *ids, size_t n)
{
	struct item *items = calloc(n, sizeof *items);
	char **targets = calloc(n, sizeof *targets);
	uint32_t *indexes = calloc(n, sizeof *indexes);
	size_t written = 0, renamed = 0, nmessages = 0;
	int r = items && targets && indexes ? 0 : -ENOMEM;
	for (; r == 0 && written < n; written++) {
		struct item *it = &items[written];
		enum vkind kind = vid_kind(ids[written]);
		it->dir = &dirs[role_of(kind)];
		if (kind == VK_MESSAGE) {
			indexes[nmessages] = vid_index(ids[written]);
			folder_message_name(f, indexes[nmessages], it->name);
			if (asprintf(&targets[nmessages++], "%s/%s", it->dir->path, it->name) < 0) {
				targets[--nmessages] = NULL;
				r = -ENOMEM;
				break;
			}
		} else
			snprintf(it->name, sizeof it->name, "%s", control_file_name(kind));
		copy_up_tmp_name(it->tmp);
		int fd =
		    openat(it->dir->fd, it->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			r = -errno;
			break;
		}
		r = copy_up_fill(ids[written], fd);
		if (close(fd) < 0 && r == 0)
			r = -errno;
	}
	if (r == 0) /* the data of every temporary file, in one go */
		r = sync_dir(&dirs[ROLE_CUR], 1);
	if (r == 0 && nmessages)
		r = whiteout_move_intents(f, nmessages, indexes, 'k', (const char *const *)targets);
	unsigned dirs_used = 0, controls = 0;
	for (; r == 0 && renamed < n; renamed++) {
		const struct item *it = &items[renamed];
		if (renameat2(it->dir->fd, it->tmp, it->dir->fd, it->name, RENAME_NOREPLACE) < 0)
			r = -errno;
		else {
			dirs_used |= 1u << it->dir->role;
			if (vid_kind(ids[renamed]) != VK_MESSAGE)
				controls |= 1u << vid_kind(ids[renamed]);
		}
	}
	for (size_t i = renamed; items && i < written; i++)
		unlinkat(items[i].dir->fd, items[i].tmp, 0);
	int s = 0;
	for (enum role role = ROLE_FOLDER; s == 0 && role <= ROLE_KEYWORDS; role++)
		if (dirs_used & (1u << role))
			s = sync_dir(&dirs[role], 0);
	if (s == 0 && renamed) /* the renamed messages come first */
		s = whiteout_moved(f, renamed < nmessages ? renamed : nmessages, indexes, 'k',
		                   controls);
	for (size_t i = 0; i < nmessages; i++)
		free(targets[i]);
	free(items), free(targets), free(indexes);
	return r ? r : s;
}

int materialize_folder(struct folder *f, uint64_t *messages, uint64_t *bytes)
{
	int r = folder_load(f); /* an mbox that cannot be read is an error here */
	struct inode dirs[ROLE_KEYWORDS + 1];
	struct todo t = {0};
	enum role opened = ROLE_FOLDER; /* dirs[ROLE_FOLDER..opened) are open */
	while (r == 0 && opened <= ROLE_KEYWORDS && (r = open_dir(f, opened, &dirs[opened])) == 0)
		opened++;
	/* messages first: the control files describe them */
	static const enum role order[] = {ROLE_CUR, ROLE_KEYWORDS, ROLE_FOLDER};
	for (size_t i = 0; r == 0 && i < 3; i++)
		r = list_virtual(f, &dirs[order[i]], &t);
	pthread_mutex_lock(&f->move_lock);
	for (size_t from = 0, to; r == 0 && from < t.n; from = to) {
		uint64_t batch_bytes = 0, batch_messages = 0;
		for (to = from; to < t.n && to - from < BATCH_OBJECTS && batch_bytes < BATCH_BYTES;
		     to++)
			if (vid_kind(t.ids[to]) == VK_MESSAGE) {
				batch_bytes += f->file.mb.msgs[vid_index(t.ids[to])].size;
				batch_messages++;
			}
		r = write_batch(f, dirs, t.ids + from, to - from);
		if (r == 0)
			*messages += batch_messages, *bytes += batch_bytes;
	}
	pthread_mutex_unlock(&f->move_lock);
	free(t.ids);
	while (opened-- > ROLE_FOLDER)
		close_dir(&dirs[opened]);
	if (r < 0)
		fs_log("%s %s: not written: %s", f->acct->a->maildir, f->uw_name,
		       f->loaded < 0 ? "its mbox cannot be read (see above)" : strerror(-r));
	return r;
}
