/* store.h — an mbox opened through its persistent index.
 *
 * Contract:
 *  - mbx_open() (or mbx_open_fd() on a descriptor the caller opened) maps the
 *    mbox read-only (never opened for writing, atime left alone where the
 *    kernel allows) and returns its parsed view, using the index
 *    file in state_dir when it matches the file (device, inode, size, mtime,
 *    ctime, hashes of its first and last 4 KiB), parsing only the new tail when
 *    the file only grew, and parsing from scratch otherwise.
 *  - A rebuild keeps the UIDs (and so the names) of unchanged messages where the
 *    UIDs are mboxfs's own (rules any-stable and metadata); new messages get UIDs
 *    above every UID given before.
  *  - The any-stable UIDVALIDITY is chosen once per key and kept in its own file
 *    (<state_dir>/<key hash>.uidv), so losing or corrupting an index does not
 *    change it while a parse from scratch gives the same UIDs. Once a rebuild
 *    kept UIDs that a parse from scratch would not give (<key hash>.diverged),
 *    losing the index makes mboxfs choose a new UIDVALIDITY (also for rule
 *    metadata) rather than ever give one UID to two messages.

 *  - Index files are versioned and checksummed and written atomically (temp file,
 *    fsync, rename, fsync of the directory). A corrupt, truncated, foreign or
 *    older index is ignored and rebuilt, never trusted.
 *  - With state_dir NULL nothing is read or written; any-stable UIDVALIDITY is 0.
 *  - mbx_open_readonly() gives the same view as mbx_open() but never writes to
 *    state_dir (`mboxfs verify`, next to a mount that owns it): an index that
 *    does not match is not rewritten, no marker is made, and an any-stable
 *    UIDVALIDITY not chosen yet stays 0; where a lost index would make mbx_open()
 *    choose a new UIDVALIDITY, the value on record is kept.
 */
#ifndef MBOXFS_STORE_H
#define MBOXFS_STORE_H

#include "mbox.h"

#include <sys/types.h>

enum mbx_open_how {
	MBX_OPEN_INDEX_REUSED, /* index matched: nothing parsed */
	MBX_OPEN_APPENDED,     /* only the new tail was parsed */
	MBX_OPEN_REBUILT,      /* the file changed: parsed from scratch */
	MBX_OPEN_PARSED,       /* no usable index (or no state dir) */
};

struct mbx_file {
	int fd;
	const char *data; /* the mapped file, NULL when empty */
	uint64_t size;
	dev_t dev;
	ino_t ino;
	struct mbx_mailbox mb;
	enum mbx_open_how how;
};

/* key names the mailbox in state_dir (mboxfs uses "<maildir>/<folder>").
 * Returns 0, or -1 with a message in err ("<path>: <reason>"). */
int mbx_open(struct mbx_file *f, const char *path, const char *state_dir, const char *key,
             char *err, size_t errlen);

/* mbx_open() that writes nothing to state_dir (see the contract above). */
int mbx_open_readonly(struct mbx_file *f, const char *path, const char *state_dir, const char *key,
                      char *err, size_t errlen);
/* The same with the mbox already open read-only as fd (mbx_open_fd owns it from
 * then on, also on failure; path only names it in messages): the caller opens
 * the source with the account's rights (source.h) while the state directory
 * is read and written with the process's own. */
int mbx_open_fd(struct mbx_file *f, int fd, const char *path, const char *state_dir,
                const char *key, char *err, size_t errlen);
/* mbx_open_fd() that writes nothing to state_dir. */
int mbx_open_fd_readonly(struct mbx_file *f, int fd, const char *path, const char *state_dir,
                         const char *key, char *err, size_t errlen);

void mbx_close(struct mbx_file *f);

/* Reads the bytes of an index file as mbx_open() does (for tests and
 * fuzzing): 1 with mb filled if buf[0..len) is a sound index of key, else 0
 * with mb empty. mb must have been initialised. */
int mbx_index_parse(const char *buf, size_t len, const char *key, struct mbx_mailbox *mb);

const char *mbx_open_how_name(enum mbx_open_how how);

/* The path of key's state file with extension ext ("idx", "uidv", ...). */
void mbx_state_path(char *buf, size_t len, const char *state_dir, const char *key, const char *ext);

#endif
