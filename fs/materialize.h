/* materialize.h — what the two ways of writing virtual objects for good
 * share: the mount's batches (materialize.c) and the offline run's groups
 * (materialize_group.c). Internal to fs/.
 *
 * Both list a folder's virtual objects (messages first, then the control
 * files that describe them), write each to a temporary file in its directory,
 * record the messages' intents, make it all durable, rename, and record what
 * was done; they differ in how many folders share a sync. */
#ifndef MBOXFS_MATERIALIZE_H
#define MBOXFS_MATERIALIZE_H

#include "fs_internal.h"
#include "name.h"

/* The directories of a folder a batch writes to, by role: O_PATH fd, path
 * below the upper root, role, folder (stand-ins for the kernel's inodes). */
struct folder_dirs {
	struct inode dir[ROLE_KEYWORDS + 1];
	enum role opened; /* dir[ROLE_FOLDER..opened) are open */
};

/* 0 or -errno; mat_close_dirs() either way. */
int mat_open_dirs(struct folder *f, struct folder_dirs *d);
void mat_close_dirs(struct folder_dirs *d);
/* The directory role an object of that kind lives in. */
enum role mat_role_of(enum vkind kind);

/* Virtual objects of a folder as listed (messages first), without looking
 * at the upper tree: a batch looks only at the ones it takes. */
struct todo {
	fuse_ino_t *ids;
	size_t n, cap;
};

int mat_list_virtual(struct folder *f, struct todo *t); /* 0 or -ENOMEM */
/* The index of the message a listed id names, and the bytes of an object (0
 * for control files); listed under change_lock or the view lock: it is
 * there. */
uint32_t mat_index_of(const struct folder *f, fuse_ino_t id);
uint64_t mat_size_of(const struct folder *f, fuse_ino_t id);

/* 1 when both fds are on one filesystem (one syncfs covers both). */
int mat_same_filesystem(int a, int b);

/* One object of a batch: its directory, temporary and final names. */
struct item {
	fuse_ino_t id;
	const struct inode *dir;
	char tmp[64];
	char name[MBX_NAME_MAX];
};

/* Writes the item's object to a new temporary file of its directory (it->tmp),
 * not synced: 0, or -errno (nothing left behind). */
int mat_write_tmp(struct item *it);
/* The intents of the messages among items[0..n) (their indexes in indexes,
 * which holds n, and their number in *nmessages), written but not synced:
 * when the journal lives on the upper tree's filesystem, the syncfs that
 * makes the temporary files durable covers them; else they are synced here.
 * 0 or -errno. */
int mat_intents(struct folder *f, const struct item *items, size_t n, uint32_t *indexes,
                size_t *nmessages);

/* Adds the first n items to *done (their names too with want_names): 0, or
 * -ENOMEM (nothing added). */
int mat_account_for(const struct folder *f, const struct item *items, size_t n, int want_names,
                    struct materialized *done);

#endif
