/* mount_walk.h — the virtual objects of a mounted mboxfs, found through the
 * mount itself: in a directory listing, a virtual object (an old message not
 * yet written to the upper tree, a generated control file) has bit 63 of its
 * inode number set (fs/fs_internal.h); real files never do.
 *
 * Contract: walk_maildir() visits the maildir at path folder by folder (the
 * INBOX, then each .Folder), and in each the messages of cur/ first, then
 * courierimapkeywords/:list, then the control files of the folder directory:
 * the order in which materializing them keeps every file consistent.
 */
#ifndef MBOXFS_MOUNT_WALK_H
#define MBOXFS_MOUNT_WALK_H

#include <stddef.h>
#include <stdint.h>

struct walk_entry {
	const char *path; /* the whole path */
	int is_message;
	uint64_t size;
};

/* Returns nonzero to stop the walk. */
typedef int (*walk_fn)(const struct walk_entry *e, void *arg);

/* 0, or -errno of the first directory that could not be listed (reported on
 * stderr, the walk goes on), or 1 if fn stopped it. */
int walk_maildir(const char *path, walk_fn fn, void *arg);

/* Calls fn with the directory of each folder of the maildir at path (the
 * INBOX first, then each .Folder); returns as walk_maildir(). */
typedef int (*folder_fn)(const char *folder_dir, void *arg);
int walk_folders(const char *path, folder_fn fn, void *arg);

struct account_map;

/* Checks that mailroot is where an mboxfs is mounted; says why not on stderr
 * after who. 0, or -1. */
int check_mount(const char *who, const char *mailroot);

/* 1 if path is the mount point of an mboxfs (the visible, last mount there),
 * 0 if not, -1 (errno) on error. */
int is_mboxfs_mount(const char *path);

/* Loads the map and checks that mailroot is where an mboxfs is mounted; says
 * why not on stderr after who. 0, or -1. */
int open_mount(const char *who, const char *map_path, const char *mailroot,
               struct account_map *map);

#endif
