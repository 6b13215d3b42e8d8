/* index_commit.c — index batches committed by a thread of their own
 * (index_commit.h). */
#include "index_commit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

struct pending_batch {
	struct mbx_batch *b;
	commit_done_fn done;
	void *arg;
	struct pending_batch *next;
};

struct committer {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a batch was queued or committed, or the end came */
	struct pending_batch *head, *tail;
	size_t queued, depth;
	int finishing;
	pthread_t thread;
};

/* Commits p and the batches queued behind it up to tail, merged into one
 * (one syncfs() for them all), and tells each how it went. Returns the last
 * one committed: all up to tail, unless a merge ran out of memory. */
static struct pending_batch *commit_group(struct pending_batch *p, struct pending_batch *tail)
{
	struct pending_batch *last = p;
	while (last != tail && mbx_batch_merge(p->b, last->next->b) == 0)
		last = last->next;
	int err = mbx_batch_commit(p->b) < 0 ? errno : 0;
	for (struct pending_batch *q = p;; q = q->next) {
		q->done(q->arg, err);
		mbx_batch_free(q->b);
		if (q == last)
			return last;
	}
}

static void *commit_loop(void *arg)
{
	struct committer *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->head && !c->finishing)
			pthread_cond_wait(&c->changed, &c->lock);
		struct pending_batch *p = c->head;
		if (!p)
			break; /* finishing, and nothing left */
		/* what is queued now is committed together; batches queued
		 * meanwhile go behind it (next pointers are only written
		 * under the lock, at the tail, which stays put) */
		struct pending_batch *tail = c->tail;
		pthread_mutex_unlock(&c->lock);
		struct pending_batch *last = commit_group(p, tail);
		pthread_mutex_lock(&c->lock);
		/* only now off the queue: a full queue also counts the batches in commit */
		c->head = last->next;
		if (!c->head)
			c->tail = NULL;
		for (struct pending_batch *q = p, *next; q != c->head; q = next) {
			next = q->next;
			c->queued--;
			free(q);
		}
		pthread_cond_broadcast(&c->changed);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

struct committer *commit_start(size_t depth)
{
	struct committer *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->depth = depth ? depth : 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->changed, NULL);
	if (pthread_create(&c->thread, NULL, commit_loop, c) != 0) {
		pthread_cond_destroy(&c->changed);
		pthread_mutex_destroy(&c->lock);
		free(c);
		return NULL;
	}
	return c;
}

void commit_submit(struct committer *c, struct mbx_batch *b, commit_done_fn done, void *arg)
{
	struct pending_batch *p = malloc(sizeof *p);
	if (!p) { /* no room to queue it: committed here */
		done(arg, mbx_batch_commit(b) < 0 ? errno : 0);
		mbx_batch_free(b);
		return;
	}
	*p = (struct pending_batch){.b = b, .done = done, .arg = arg};
	pthread_mutex_lock(&c->lock);
	while (c->queued >= c->depth)
		pthread_cond_wait(&c->changed, &c->lock);
	if (c->tail)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	c->queued++;
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
}

void commit_finish(struct committer *c)
{
	pthread_mutex_lock(&c->lock);
	c->finishing = 1;
	pthread_cond_broadcast(&c->changed);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->changed);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
