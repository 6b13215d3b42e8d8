/* source.h — an account's source mailboxes, found and opened with the
 * account's rights, as uw-imapd running as that user would have. The one
 * place that decides which mailboxes an account has: `mboxfs index`, the mount
 * and `materialize --offline` all use it, so they always agree.
 *
 * Contract:
 *  - Rights (src_rights_init). owner=<user> or owner=<uid>[:<gid>]: that uid and
 *    gid, with the supplementary groups of the uid's passwd entry
 *    (getgrouplist; none without an entry). Without owner=: the owner of the
 *    INBOX file (lstat: a symlink counts as its own maker's), else of the home
 *    directory, else of the folder directory, else nobody (65534); the group
 *    is that uid's passwd group when it has an entry (a spool file's group is
 *    usually "mail", shared by every spool, and would open them all), else the
 *    file's. Root's rights apply only when that owner is root. A process that
 *    does not run as root cannot switch and keeps its own rights.
 *  - Every source path (INBOX, home, the folder directory and everything below
 *    it, .mailboxlist) is stat()ed, opened and listed only by the functions
 *    below. Each one switches the calling thread alone to those rights
 *    (setfsuid, setfsgid, and the raw setgroups system call: glibc's
 *    setgroups() changes every thread) and back before it returns, so what the
 *    user could not read is never read, and the state directory and the upper
 *    tree are still written with the process's own rights.
 *  - Only regular files and directories are ever opened. FIFOs, sockets and
 *    devices are only stat()ed; a file is opened O_NONBLOCK and checked again
 *    with fstat (still regular, same device and inode), so a swap between the
 *    two calls is refused too.
 *  - src_scan() lists INBOX first, then every folder file below the folder
 *    directory, sorted by UW name: dot files, a top-level "INBOX" and the INBOX
 *    file itself (same device and inode) are not folders. Symlinks are
 *    followed, as the user's own uw-imapd would, but a directory is entered
 *    once per scan (device, inode) and at most SRC_MAX_DEPTH levels below the
 *    folder directory (uw-imapd had no limit). Every path skipped for any
 *    reason is an anomaly naming it.
 *  - Courier names are mbx_folder_name()'s: distinct UW names give distinct
 *    names, so two folders never become one. A name that is not canonical
 *    modified UTF-7 is served under its escaped form ("&AGI-", which would
 *    read as "b", as ".%26AGI-"), and that is an anomaly. The names depend
 *    only on the UW names, never on the order a directory lists them in.
 *  - Nothing aborts on bad input; errors are -errno. Thread safe.
 */
#ifndef MBOXFS_SOURCE_H
#define MBOXFS_SOURCE_H

#include "account_map.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SRC_MAX_DEPTH 32 /* directory levels below the folder directory */
#define SRC_NOBODY    65534

struct src_rights {
	int switched; /* 0: the process's own rights (root's, or not running as root) */
	uid_t uid;
	gid_t gid;
	gid_t *groups; /* supplementary */
	size_t ngroups;
	char who[256]; /* whose rights, for the log: "uid 1001 gid 1001 (...)" */
};

enum src_anomaly_kind {
	SRC_REFUSED,     /* stat, open or listing failed with the account's rights */
	SRC_NOT_REGULAR, /* a FIFO, socket or device: never opened */
	SRC_LOOP,        /* a directory reached a second time (symlink loop) */
	SRC_TOO_DEEP,    /* a directory more than SRC_MAX_DEPTH levels down */
	SRC_BAD_NAME,    /* no Courier name (too long, empty component) */
	SRC_ESCAPED,     /* served under its escaped name (folder_name.h) */
};

struct src_anomaly {
	enum src_anomaly_kind kind;
	char *path;
	char *text;
};

struct src_mailbox {
	char *uw_name;      /* "INBOX", or the path below the folder directory */
	char *courier_name; /* NULL for INBOX; else without "INBOX." and leading '.' */
	char *path;         /* the file to open (with src_open_mbox) */
	uint64_t size;      /* its size when listed, 0 if unknown: for scheduling only */
};

struct src_list {
	struct src_mailbox *boxes; /* boxes[0] is INBOX */
	size_t nboxes;
	struct src_anomaly *anomalies;
	size_t nanomalies;
};

/* 0, or -errno (then r holds the process's own rights and who says why). */
int src_rights_init(struct src_rights *r, const struct account *a);
void src_rights_free(struct src_rights *r);

/* Fills list (free it with src_list_free, also on failure). Returns 0, or
 * -errno: -ENOMEM, or why the folder directory itself cannot be listed (the
 * list then has INBOX only). */
int src_scan(const struct account *a, const struct src_rights *r, struct src_list *list);
void src_list_free(struct src_list *list);
const char *src_anomaly_name(enum src_anomaly_kind kind);
/* The Courier name list gives the UW folder uw_name, or NULL. */
const char *src_courier_name(const struct src_list *list, const char *uw_name);

/* The mbox at path opened read-only with r (a regular file, never anything
 * else): the fd, or -1 with "<path>: <reason>" in err. */
int src_open_mbox(const struct src_rights *r, const char *path, char *err, size_t errlen);
/* A small regular file read whole with r: 0 with *text (malloc'ed, not
 * terminated) and *len, or -errno (-EFBIG above max bytes, -EINVAL if it is not
 * a regular file). */
int src_read_file(const struct src_rights *r, const char *path, size_t max, char **text,
                  size_t *len);

#endif
