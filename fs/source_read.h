/* source_read.h — a virtual message's bytes from a source mbox that may have
 * shrunk while mounted (DESIGN.md, "Sources": bytes that are gone read as
 * EIO, never as a short success, never a signal).
 *
 * Contract:
 *  - Each function first checks (fstat of the mbox fd) that the file still
 *    holds every byte it is about to read, and reads the mapping under
 *    source_guard_run(), so that a truncation racing with the read is caught
 *    too; either way the answer is -EIO, and nothing is delivered.
 *  - The first time a folder's source is found short, one line is logged
 *    (not one per request); messages still inside the file read as before.
 *  - Other folders and accounts are not affected.
 */
#ifndef MBOXFS_SOURCE_READ_H
#define MBOXFS_SOURCE_READ_H

#include "fs_internal.h"

#include <sys/types.h>

/* 0 if f's mbox still holds bytes [0, end) of what was indexed, else -EIO
 * (logged once per folder). */
int source_covers(struct folder *f, uint64_t end);

/* The end of message m in the mbox: what source_covers() needs. */
uint64_t source_message_end(const struct mbx_message *m);

/* mbx_read_served() of message m: the number of bytes copied, or -EIO. */
ssize_t source_read_served(struct folder *f, const struct mbx_message *m, uint64_t off, char *buf,
                           size_t len);

/* mbx_for_each_piece() of message m: 0, or -EIO when the source no longer
 * holds all of it, checked before and after (fn may have seen part of it). */
int source_for_each_piece(struct folder *f, const struct mbx_message *m, mbx_piece_fn fn,
                          void *arg);

/* Runs fn(arg), which reads f's mapping up to end, under the guard: 0 or
 * -EIO, as source_for_each_piece(). */
int source_guarded(struct folder *f, uint64_t end, void (*fn)(void *arg), void *arg);

#endif
