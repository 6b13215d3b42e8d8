/* materialize.c — virtual objects written for good as real files of the upper
 * tree, under their names of now, so that the upper tree alone is, file for
 * file, what the mount shows (DESIGN.md, cutover).
 *
 * `mboxfs materialize` on a mount (a setxattr on a folder directory asks for
 * one batch, ops_entry.c) goes through materialize_batch(): under the
 * folder's change_lock, so that Courier's flag changes and expunges of the
 * same folder wait for the batch and then act on the real files, the batch's
 * temporary files are written, the intents appended, the filesystem synced
 * once (the files' data, and the intents when the journal shares the
 * filesystem), the files renamed into place, their directories synced, and
 * what was done recorded. The offline run (offline.c), where nothing else
 * changes the folders, uses groups of many folders instead
 * (materialize_group.c): the same steps, with one syncfs for many folders and
 * the directories made durable by the next one. A crash leaves each message in exactly one place
 * (the next load completes or drops an intent, folder_state.c); a listing meanwhile shows a real
 * file and its virtual twin as one (the real one hides its key). */
#include "materialize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH_OBJECTS 1024
#define BATCH_BYTES   (64u << 20)

int mat_open_dirs(struct folder *f, struct folder_dirs *d)
{
	memset(d, 0, sizeof *d);
	for (d->opened = ROLE_FOLDER; d->opened <= ROLE_KEYWORDS; d->opened++) {
		struct inode *in = &d->dir[d->opened];
		pthread_mutex_lock(&f->lock); /* a RENAME of the folder changes dirpath */
		int n = asprintf(&in->path, "%s%s", f->dirpath, folder_subdir(d->opened));
		pthread_mutex_unlock(&f->lock);
		if (n < 0)
			return -ENOMEM;
		in->fd = openat(fs.upper_fd, in->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (in->fd < 0) {
			free(in->path);
			return -errno;
		}
		inode_set_place(in, d->opened, f);
	}
	return 0;
}

void mat_close_dirs(struct folder_dirs *d)
{
	while (d->opened-- > ROLE_FOLDER) {
		close(d->dir[d->opened].fd);
		free(d->dir[d->opened].path);
	}
}

enum role mat_role_of(enum vkind kind)
{
	return kind == VK_MESSAGE ? ROLE_CUR : kind == VK_KEYWORDS ? ROLE_KEYWORDS : ROLE_FOLDER;
}

static int no_upper(const char *name, void *arg)
{
	(void)name, (void)arg;
	return 0;
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

int mat_list_virtual(struct folder *f, struct todo *t)
{
	/* messages first: the control files describe them */
	static const enum role order[] = {ROLE_CUR, ROLE_KEYWORDS, ROLE_FOLDER};
	for (size_t i = 0; i < 3; i++)
		if (virtual_entries(order[i], f, no_upper, NULL, collect, t))
			return -ENOMEM;
	return 0;
}

uint32_t mat_index_of(const struct folder *f, fuse_ino_t id)
{
	uint32_t index = 0;
	folder_index_of_vid(f, id, &index);
	return index;
}

uint64_t mat_size_of(const struct folder *f, fuse_ino_t id)
{
	return vid_kind(id) == VK_MESSAGE ? f->file.mb.msgs[mat_index_of(f, id)].size : 0;
}

int materialize_pending(struct folder *f, uint64_t *messages, uint64_t *bytes, uint64_t *controls)
{
	struct todo t = {0};
	int r = folder_load(f);
	*messages = *bytes = *controls = 0;
	pthread_mutex_lock(&f->change_lock); /* sizes of the listed view */
	if (r == 0)
		r = mat_list_virtual(f, &t);
	for (size_t i = 0; r == 0 && i < t.n; i++) {
		if (vid_kind(t.ids[i]) == VK_MESSAGE)
			++*messages, *bytes += mat_size_of(f, t.ids[i]);
		else
			++*controls;
	}
	pthread_mutex_unlock(&f->change_lock);
	free(t.ids);
	return r;
}

static int sync_dir(const struct inode *dir, int whole_fs)
{
	int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 || (whole_fs ? syncfs(fd) : fsync(fd)) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return r;
}

int mat_same_filesystem(int a, int b)
{
	struct stat sa, sb;
	return a >= 0 && fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev;
}

/* Takes from t, in order, the objects the upper tree lacks, up to the
 * budget (at least one). The control files come last in t, so they are taken
 * only once every message is. */
static size_t choose(struct folder *f, const struct folder_dirs *d, const struct todo *t,
                     uint64_t max_bytes, struct item *items)
{
	size_t n = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < t->n && n < BATCH_OBJECTS; i++) {
		enum vkind kind = vid_kind(t->ids[i]);
		struct item *it = &items[n];
		struct stat st;
		if (n && bytes + mat_size_of(f, t->ids[i]) > max_bytes)
			break;
		it->id = t->ids[i];
		it->dir = &d->dir[mat_role_of(kind)];
		if (kind == VK_MESSAGE)
			folder_message_name(f, mat_index_of(f, it->id), it->name);
		else
			snprintf(it->name, sizeof it->name, "%s", control_file_name(kind));
		if (fstatat(it->dir->fd, it->name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue; /* a real file already has this name */
		bytes += mat_size_of(f, it->id);
		n++;
	}
	return n;
}

int mat_write_tmp(struct item *it)
{
	copy_up_tmp_name(it->tmp);
	int fd = openat(it->dir->fd, it->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int r = copy_up_fill(it->id, fd);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlinkat(it->dir->fd, it->tmp, 0);
	return r;
}

int mat_intents(struct folder *f, const struct item *items, size_t n, uint32_t *indexes,
                size_t *nmessages)
{
	char **targets = calloc(n ? n : 1, sizeof *targets);
	size_t k = 0;
	int r = targets ? 0 : -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct item *it = &items[i];
		if (vid_kind(it->id) != VK_MESSAGE)
			continue;
		indexes[k] = mat_index_of(f, it->id);
		if (asprintf(&targets[k], "%s/%s", it->dir->path, it->name) < 0)
			r = -ENOMEM;
		else
			k++;
	}
	if (r == 0 && k)
		r = fstate_copy_intents(f, k, indexes, 'k', (const char *const *)targets, 0);
	if (r == 0 && k && !mat_same_filesystem(f->journal.fd, fs.upper_fd))
		r = journal_sync(&f->journal);
	for (size_t i = 0; i < k; i++)
		free(targets[i]);
	free(targets);
	*nmessages = r == 0 ? k : 0;
	return r;
}

/* Writes items[0..n): temporary files, the intents, one sync of the
 * filesystem, the renames, one sync per directory, the done records. */
static int write_batch(struct folder *f, const struct folder_dirs *d, struct item *items, size_t n,
                       size_t *done)
{
	uint32_t *indexes = calloc(n, sizeof *indexes);
	size_t written = 0, renamed = 0, nmessages = 0;
	int r = indexes ? 0 : -ENOMEM;
	for (; r == 0 && written < n; written++)
		if ((r = mat_write_tmp(&items[written])) < 0)
			break;
	if (r == 0)
		r = mat_intents(f, items, n, indexes, &nmessages);
	if (r == 0)
		r = sync_dir(&d->dir[ROLE_CUR], 1);
	unsigned dirs_used = 0, controls = 0;
	for (; r == 0 && renamed < n; renamed++) {
		const struct item *it = &items[renamed];
		if (renameat2(it->dir->fd, it->tmp, it->dir->fd, it->name, RENAME_NOREPLACE) < 0)
			r = -errno;
		else {
			struct folder *of;
			dirs_used |= 1u << inode_place(it->dir, &of);
			if (vid_kind(it->id) != VK_MESSAGE)
				controls |= 1u << vid_kind(it->id);
		}
	}
	for (size_t i = renamed; i < written; i++)
		unlinkat(items[i].dir->fd, items[i].tmp, 0);
	int s = 0;
	for (enum role role = ROLE_FOLDER; s == 0 && role <= ROLE_KEYWORDS; role++)
		if (dirs_used & (1u << role))
			s = sync_dir(&d->dir[role], 0);
	if (s == 0 && renamed) /* the renamed messages come first */
		s = fstate_copied(f, renamed < nmessages ? renamed : nmessages, indexes, 'k',
		                  controls);
	*done = s == 0 ? renamed : 0;
	free(indexes);
	return r ? r : s;
}

int mat_account_for(const struct folder *f, const struct item *items, size_t n, int want_names,
                    struct materialized *done)
{
	char **names = want_names ? realloc(done->names, (done->nnames + n) * sizeof *names) : NULL;
	if (want_names && !names)
		return -ENOMEM;
	if (names)
		done->names = names;
	for (size_t i = 0; i < n; i++) {
		if (vid_kind(items[i].id) != VK_MESSAGE) {
			done->controls++;
			continue;
		}
		done->messages++, done->bytes += mat_size_of(f, items[i].id);
		if (names && (names[done->nnames] = strdup(items[i].name)))
			done->nnames++;
	}
	return 0;
}

int materialize_batch(struct folder *f, uint64_t max_bytes, int want_names,
                      struct materialized *done)
{
	struct folder_dirs d;
	struct todo t = {0};
	struct item *items = NULL;
	size_t n = 0, written = 0;
	int r = folder_load(f); /* an mbox that cannot be read is an error here */
	if (r == 0)
		r = mat_open_dirs(f, &d);
	else
		d.opened = ROLE_FOLDER;
	if (r == 0 && !(items = calloc(BATCH_OBJECTS, sizeof *items)))
		r = -ENOMEM;
	if (r == 0) {
		pthread_mutex_lock(&f->change_lock);
		r = mat_list_virtual(f, &t);
		if (r == 0)
			n = choose(f, &d, &t,
			           max_bytes && max_bytes < BATCH_BYTES ? max_bytes : BATCH_BYTES,
			           items);
		if (r == 0 && n)
			r = write_batch(f, &d, items, n, &written);
		pthread_mutex_unlock(&f->change_lock);
	}
	if (written)
		mat_account_for(f, items, written, want_names, done);
	free(t.ids);
	free(items);
	mat_close_dirs(&d);
	if (r < 0)
		fs_log("%s %s: not materialized: %s", f->acct->a->maildir, f->uw_name,
		       f->loaded < 0 ? "its mbox cannot be read (see above)" : strerror(-r));
	return r < 0 ? r : n ? 0 : -ENODATA;
}

void materialized_free(struct materialized *done)
{
	for (size_t i = 0; i < done->nnames; i++)
		free(done->names[i]);
	free(done->names);
	memset(done, 0, sizeof *done);
}
