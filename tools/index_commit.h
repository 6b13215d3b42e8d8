/* index_commit.h — index batches (store.h) committed by a thread of their own.
 *
 * Contract:
 *  - A worker of `mboxfs index` fills a batch (temp index files in the state
 *    directory) and hands it to commit_submit(); the committer thread then
 *    makes it durable and puts its files in place (mbx_batch_commit()) while
 *    the worker parses the next mailboxes. Without it, every worker waited for
 *    each syncfs() of the state filesystem.
 *  - The batches waiting when the committer comes to them are committed
 *    together, with one syncfs() (mbx_batch_merge()): a slow disk makes
 *    fewer, bigger commits rather than a longer queue.
 *  - done(arg, err) is called after each commit, in the committer thread
 *    (or in the caller's, when there was no memory to queue the batch): err
 *    is 0, or the errno of a failed commit (the batch's mailboxes were not
 *    indexed). Then the batch is freed.
 *  - At most `depth` batches wait: commit_submit() blocks while that many do,
 *    which bounds the temp files a crash can leave.
 *  - commit_finish() returns once every batch handed over is committed, and
 *    frees the committer. If the thread cannot start, commit_start() returns
 *    NULL and the caller commits itself.
 */
#ifndef MBOXFS_INDEX_COMMIT_H
#define MBOXFS_INDEX_COMMIT_H

#include "store.h"

#include <stddef.h>

struct committer;

typedef void (*commit_done_fn)(void *arg, int err);

struct committer *commit_start(size_t depth);
void commit_submit(struct committer *c, struct mbx_batch *b, commit_done_fn done, void *arg);
void commit_finish(struct committer *c);

#endif
