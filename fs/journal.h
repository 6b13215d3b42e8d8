/* journal.h — the state directory's journals: the one place where mboxfs
 * records what Courier did to old messages and old folders, so that the
 * mount, a remount and `materialize --offline` all show it.
 *
 * Files. One journal per old folder, "<hash of its key>.wh" (the key is
 * "<maildir>:<UW name>", see store.h's mbx_state_path), and one per account
 * for its folders, "<hash of "<maildir>:folders">.folders".
 *
 * Records. Text, one line each, '\n'-terminated. In a folder journal:
 *   "f <uid> <letters>"     the flags changed (Courier renamed the message
 *                           within cur/ and kept its key): it stays virtual and
 *                           is listed with ":2,<letters>" (D F R S T, in that
 *                           order, possibly none)
 *   "u <uid>"               gone from this folder (expunged or moved away)
 *   "k <uid>"               lives on as a real file of cur/ with the same key
 *                           (materialized, or copied up): hidden, still the same
 *                           message for POP3; it keeps the flags of an earlier
 *                           "f" record (those its file was given)
 *   "c <name>"              Courier removed this generated control file
 *   "m <uid> <u|k> <path>"  intent: the message is being copied to <path>
 *                           (below the upper root); "u" or "k" follows
 * In an account journal:
 *   "r <UW name>\t<dir>"    the folder now lives at <dir> (below the maildir)
 *   "d <UW name>"           the folder was deleted
 * The last record about a message or folder wins.
 *
 * Durability. A record is written (write(2) into the page cache) before the
 * operation it records is answered, so a kill -9 of the daemon never loses an
 * answered change. A syncer thread fdatasync()s every journal written in the
 * last JOURNAL_SYNC_MS milliseconds in one pass (group commit), so a power
 * cut loses at most the last few milliseconds of changes; a native rename on
 * ext4 waits for the next journal commit, up to 5 seconds. journal_sync()
 * waits for a journal's records to be durable (moves do, before the copy).
 * `materialize --offline` makes its intents durable with the syncfs that
 * makes its temporary files durable (same filesystem; else journal_sync),
 * and appends the done records only after the syncfs that made the renames
 * durable (materialize.c, groups): never a done record before its file.
 *
 * Space. Each journal keeps room allocated ahead of its end (fallocate,
 * JOURNAL_CHUNK at a time), and the state directory holds a reserve file
 * (JOURNAL_RESERVE bytes) that is given back, a chunk at a time, when a
 * journal cannot grow: an answered change never meets a full disk unless
 * both are used up, and only then does an append fail with ENOSPC. Using the
 * reserve logs a line; journal_reserve_state() tells `mboxfs status`.
 *
 * Recovery. journal_replay() hands every whole record to a callback in order
 * and cuts a torn last line (a crash in the middle of a write) off the file,
 * so that later records start on a line of their own. A read-only journal
 * (readonly set after journal_init: `mboxfs verify`, next to a mount that may
 * be appending) is only read: its replay ignores a torn tail without cutting
 * it, and appends and rewrites fail with EROFS. NUL bytes (a power cut
 * can leave a zero-filled tail) are skipped. Intents are resolved by the
 * caller (folder_state.c): completed when the copy exists, dropped when not.
 *
 * Compaction. journal_rewrite() replaces a journal's records with a shorter
 * equivalent set atomically (temporary file, fsync, rename, fsync of the
 * state directory); the caller decides when (see journal_wants_compaction),
 * so that loading a folder costs time in its number of messages, not in the
 * number of changes ever made.
 *
 * Thread safety: every function may be called from any thread; appends to one
 * journal are serialised by its own lock.
 */
#ifndef MBOXFS_JOURNAL_H
#define MBOXFS_JOURNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JOURNAL_SYNC_MS 5
#define JOURNAL_CHUNK   (64u << 10)
#define JOURNAL_RESERVE (4u << 20)

struct journal {
	pthread_mutex_t lock;
	char *path;
	int fd;           /* -1 until the first append */
	off_t end;        /* bytes of whole records */
	off_t allocated;  /* room known to be allocated, >= end */
	uint64_t records; /* lines in the file */
	int dirty;        /* written since the syncer last synced it */
	int readonly;     /* only replayed, never written (see Recovery) */
	struct journal *next_dirty;
};

/* Makes j the journal of key with extension ext ("wh", "folders") in the
 * state directory dir. Opens nothing yet. 0 or -ENOMEM. */
int journal_init(struct journal *j, const char *dir, const char *key, const char *ext);
/* Syncs what is not yet durable and frees j. */
void journal_close(struct journal *j);

/* Calls fn(line, arg) with every whole record, without its newline, in
 * order; counts them; cuts a torn tail. 0 (also when there is no file yet),
 * or -errno. */
typedef void (*journal_record_fn)(char *line, void *arg);
int journal_replay(struct journal *j, journal_record_fn fn, void *arg);

/* Appends whole records (text ending in '\n'), written before it returns,
 * durable within JOURNAL_SYNC_MS. 0 or -errno (-ENOSPC only when no room at
 * all is left). */
int journal_append(struct journal *j, const char *records, size_t len);
/* printf-style, one or more whole records. */
int journal_appendf(struct journal *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Waits until every record appended so far is durable. 0 or -errno. */
int journal_sync(struct journal *j);
/* Tells j that the caller made every record appended so far durable (a
 * syncfs of j's filesystem that started after the last append, with no
 * append since): journal_close() then has nothing to sync. */
void journal_synced(struct journal *j);

/* 1 when a journal of that many records, for a folder of nlive possible
 * records, should be rewritten. */
int journal_wants_compaction(const struct journal *j, uint64_t nlive);
/* Replaces the whole journal with records (whole lines) atomically. */
int journal_rewrite(struct journal *j, const char *records, size_t len);

/* The group-commit syncer thread of a mount (without it, journal_close and
 * journal_sync make records durable). */
int journal_syncer_start(void);
void journal_syncer_stop(void); /* syncs everything first */

/* The reserve file of the state directory dir: created (or topped up) at
 * mount time. 0 or -errno. */
int journal_reserve_init(const char *dir);
/* Bytes left of the reserve of dir and its whole size (less left: journals
 * had to use it since the mount topped it up), for `mboxfs status`. 0, or
 * -errno. */
int journal_reserve_state(const char *dir, uint64_t *left, uint64_t *full);

#endif
