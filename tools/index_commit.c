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
		pthread_mutex_unlock(&c->lock);
		int err = mbx_batch_commit(p->b) < 0 ? errno : 0;
		p->done(p->arg, err);
		mbx_batch_free(p->b);
		pthread_mutex_lock(&c->lock);
		/* only now off the queue: a full queue also counts the batch in commit */
		c->head = p->next;
		if (!c->head)
			c->tail = NULL;
		c->queued--;
		free(p);
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
