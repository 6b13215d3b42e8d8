/* verify_internal.h — what the modules of `mboxfs verify` share: the run
 * (fs/verify.c walks the accounts, folders and messages) and the checks of a
 * folder's control files (fs/verify_control.c). */
#ifndef MBOXFS_VERIFY_INTERNAL_H
#define MBOXFS_VERIFY_INTERNAL_H

#include "fs_internal.h"
#include "verify_files.h"

#include <limits.h>

/* A directory below the mail root and a file in it. */
#define DIR_MAX  (PATH_MAX + 32)
#define FILE_MAX (DIR_MAX + NAME_MAX + 2)

struct verify_run {
	const char *mailroot;
	int allow_changes;
	fs_verify_fn fn;
	void *arg;
	struct fs_verify_totals *totals;
	/* the folder being verified */
	struct folder *f;
	char folder_name[PATH_MAX];
	char dir[PATH_MAX]; /* its directory below the mail root, as given */
	const char *file;   /* what the current comparison of a file concerns */
};

/* The files of a folder's cur/, sorted by key. */
struct cur_entry {
	char *key, *name;
};
struct cur_listing {
	struct cur_entry *e;
	size_t n;
	struct vf_set keys;
};

/* Tells fn of a difference in file of the current folder (printf-style). */
void differ(struct verify_run *run, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A vf_report_fn: a difference in run->file. */
void file_differs(void *arg, const char *problem);

/* verify_control.c: the current folder's control files against the ones the
 * mount generates; present holds the keys of the messages that must be
 * there and are; the UID database read is left in *actual. */
void verify_uiddb(struct verify_run *run, const struct vf_set *present,
                  const struct vf_uiddb *expected, struct vf_uiddb *actual);
void verify_keywords(struct verify_run *run, const struct vf_set *present);
void verify_pop3(struct verify_run *run, const struct vf_set *present,
                 const struct cur_listing *cur);
void verify_subscriptions(struct verify_run *run);
/* What the mount generates for a control file of folder f; "" when it
 * generates none. Free *owned. */
const char *generated(struct folder *f, enum vkind kind, size_t *len, char **owned);

#endif
