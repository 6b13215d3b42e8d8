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
 *    fsync, rename, fsync of the directory; or syncfs for a whole batch, below).
 *    A corrupt, truncated, foreign or older index is ignored and rebuilt, never
 *    trusted. Messages are stored in the fixed record of record.h, not as
 *    struct mbx_message is laid out in memory, so index files stay byte for
 *    byte what every mboxfs of format version 1 writes and reads.
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
#include <time.h>

enum mbx_open_how {
	MBX_OPEN_INDEX_REUSED, /* index matched: nothing parsed */
	MBX_OPEN_APPENDED,     /* only the new tail was parsed */
	MBX_OPEN_REBUILT,      /* the file changed: parsed from scratch */
	MBX_OPEN_PARSED,       /* no usable index (or no state dir) */
};

struct mbx_file {
	int fd;
	const char *data; /* the file's bytes, NULL when empty */
	int mapped;       /* data is a mapping of its own (else a batch's buffer) */
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

/* Batches: index writes of many mailboxes made durable together.
 *  - mbx_open_fd_batch() is mbx_open_fd() that leaves its writes to the state
 *    directory (the index, and an any-stable UIDVALIDITY chosen for the first
 *    time) in temp files next to their names, listed in b; the view it returns
 *    is the same. Writes that must be durable before anything else (a new
 *    UIDVALIDITY after a lost index, the .diverged marker) are still made at
 *    once, as without a batch. A source it parses from scratch is read into
 *    the batch's buffer rather than mapped (up to 32 MiB; see map_file() in
 *    store.c for why): the view's data is then valid only until the next
 *    mbx_open_fd_batch() on b or mbx_batch_free(b).
 *  - mbx_batch_commit() makes them durable and puts them in place: one
 *    syncfs() of the state directory's filesystem (instead of an fsync per
 *    file; with 8 files or fewer, an fsync of each, since syncfs() also
 *    flushes what other programs wrote), then the renames, UIDVALIDITY files
 *    first, each group followed by an fsync of the directory. A crash at any
 *    point leaves every state file either old or new, never torn (at worst
 *    temp files "<name>.tmp.<tid>" stay behind). Returns 0, or -1 with errno:
 *    then no file whose rename had not happened is changed, and the caller
 *    must not count those mailboxes as indexed. The batch is empty again
 *    either way.
 *  - A batch belongs to one thread at a time; a key must not appear twice in
 *    one batch (the second open would not see the first one's files).
 *  - mbx_batch_merge() moves src's pending files into dst (same state
 *    directory), src then empty: batches that wait together are committed
 *    with one syncfs().
 *  - mbx_batch_free() drops what was not committed (temp files unlinked).
 *  - mbx_state_sweep() removes the temp files of index and UIDVALIDITY files
 *    that a crash left in state_dir ("<key hash>.idx.tmp.<tid>",
 *    "<key hash>.uidv.tmp.<tid>") once they are older than min_age seconds: a
 *    temp file that young may be another process's write in progress. Other
 *    names are never touched. Returns the number removed, or -1 with errno
 *    when the directory cannot be read.
 */
struct mbx_batch;
struct mbx_batch *mbx_batch_new(const char *state_dir); /* NULL: ENOMEM */
int mbx_open_fd_batch(struct mbx_file *f, int fd, const char *path, const char *state_dir,
                      const char *key, struct mbx_batch *b, char *err, size_t errlen);
size_t mbx_batch_files(const struct mbx_batch *b);   /* pending files */
uint64_t mbx_batch_bytes(const struct mbx_batch *b); /* their bytes */
int mbx_batch_commit(struct mbx_batch *b);
int mbx_batch_merge(struct mbx_batch *dst, struct mbx_batch *src); /* -1: ENOMEM */
void mbx_batch_free(struct mbx_batch *b);
long mbx_state_sweep(const char *state_dir, time_t min_age);

void mbx_close(struct mbx_file *f);

/* Reads the bytes of an index file as mbx_open() does (for tests and
 * fuzzing): 1 with mb filled if buf[0..len) is a sound index of key, else 0
 * with mb empty. mb must have been initialised. */
int mbx_index_parse(const char *buf, size_t len, const char *key, struct mbx_mailbox *mb);

const char *mbx_open_how_name(enum mbx_open_how how);

/* The path of key's state file with extension ext ("idx", "uidv", ...). */
void mbx_state_path(char *buf, size_t len, const char *state_dir, const char *key, const char *ext);

#endif
