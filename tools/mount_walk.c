/* mount_walk.c — the virtual objects of a mounted mboxfs, by listing it. */
#include "mount_walk.h"
#include "account_map.h"
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Visits the virtual entries of one directory (missing is fine: not every
 * folder has courierimapkeywords/). */
static int walk_dir(const char *dir, int is_message, walk_fn fn, void *arg)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		int err = errno;
		fprintf(stderr, "mboxfs: %s: %s\n", dir, strerror(err));
		return -err;
	}
	struct dirent *e;
	int r = 0;
	char path[PATH_MAX];
	while (r != 1 && (e = readdir(d))) {
		struct stat st;
		if (!((uint64_t)e->d_ino & MBOXFS_VIRTUAL_INO) ||
		    snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
			continue;
		if (lstat(path, &st) < 0)
			continue; /* expunged since the listing */
		struct walk_entry we = {path, is_message, (uint64_t)st.st_size};
		if (fn(&we, arg))
			r = 1;
	}
	closedir(d);
	return r;
}

struct entry_walk {
	walk_fn fn;
	void *arg;
};

static int walk_folder(const char *folder, void *arg)
{
	static const struct {
		const char *sub;
		int is_message;
	} dirs[] = {{"/cur", 1}, {"/courierimapkeywords", 0}, {"", 0}};
	const struct entry_walk *w = arg;
	int r = 0;
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char sub[PATH_MAX];
		snprintf(sub, sizeof sub, "%s%s", folder, dirs[i].sub);
		int s = walk_dir(sub, dirs[i].is_message, w->fn, w->arg);
		if (s == 1)
			return 1;
		r = r ? r : s;
	}
	return r;
}

int walk_maildir(const char *path, walk_fn fn, void *arg)
{
	struct entry_walk w = {fn, arg};
	return walk_folders(path, walk_folder, &w);
}

int walk_folders(const char *path, folder_fn fn, void *arg)
{
	int r = fn(path, arg);
	if (r == 1)
		return 1;
	DIR *d = opendir(path);
	if (!d) {
		int err = errno;
		fprintf(stderr, "mboxfs: %s: %s\n", path, strerror(err));
		return -err;
	}
	struct dirent *e;
	char sub[PATH_MAX];
	while ((e = readdir(d))) {
		/* Maildir++ folders: .Name directories */
		if (e->d_name[0] != '.' || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    e->d_type != DT_DIR ||
		    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >= (int)sizeof sub)
			continue;
		int s = fn(sub, arg);
		if (s == 1) {
			r = 1;
			break;
		}
		r = r ? r : s;
	}
	closedir(d);
	return r;
}

int is_mboxfs_mount(const char *path)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return -1;
	FILE *mounts = setmntent("/proc/self/mounts", "r");
	if (!mounts)
		return -1;
	struct mntent *m;
	int found = 0;
	while ((m = getmntent(mounts))) /* the last mount at real is the visible one */
		if (!strcmp(m->mnt_dir, real))
			found = !strcmp(m->mnt_type, "fuse.mboxfs");
	endmntent(mounts);
	return found;
}

int check_mount(const char *who, const char *mailroot)
{
	int mounted = is_mboxfs_mount(mailroot);
	if (mounted <= 0) {
		fprintf(stderr, "%s: %s: %s\n", who, mailroot,
		        mounted < 0 ? strerror(errno) : "no mboxfs is mounted there");
		return -1;
	}
	return 0;
}

int open_mount(const char *who, const char *map_path, const char *mailroot, struct account_map *map)
{
	if (check_mount(who, mailroot) < 0)
		return -1;
	if (map_load(map, map_path) < 0) {
		fprintf(stderr, "%s: %s\n", who, map->errors[0]);
		map_free(map);
		return -1;
	}
	for (size_t i = 0; i < map->nerrors; i++)
		fprintf(stderr, "%s: %s (line skipped)\n", who, map->errors[i]);
	return 0;
}
