/* source_read.c — reading a source mbox that may have shrunk (source_read.h). */
#include "source_read.h"

#include "source_guard.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>

/* Folders already logged as short, a bit per folder id. */
static pthread_mutex_t logged_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *logged;
static size_t logged_bytes;

/* 1 if this call is the first to report folder id. */
static int first_report(uint32_t id)
{
	int first = 0;
	pthread_mutex_lock(&logged_lock);
	size_t need = id / 8 + 1;
	if (need > logged_bytes) {
		uint8_t *n = realloc(logged, need * 2);
		if (n) {
			for (size_t i = logged_bytes; i < need * 2; i++)
				n[i] = 0;
			logged = n, logged_bytes = need * 2;
		}
	}
	if (need <= logged_bytes && !(logged[id / 8] & (1u << (id % 8)))) {
		logged[id / 8] |= (uint8_t)(1u << (id % 8));
		first = 1;
	}
	pthread_mutex_unlock(&logged_lock);
	return first;
}

static int gone(struct folder *f, uint64_t now_size, uint64_t end)
{
	if (first_report(f->id))
		fs_log("%s: the mbox shrank to %llu bytes while mounted (%llu indexed): "
		       "messages past its end read as EIO",
		       f->mbox_path, (unsigned long long)now_size, (unsigned long long)end);
	return -EIO;
}

int source_covers(struct folder *f, uint64_t end)
{
	struct stat st;
	if (fstat(f->file.fd, &st) < 0)
		return gone(f, 0, end);
	if ((uint64_t)st.st_size < end)
		return gone(f, (uint64_t)st.st_size, end);
	return 0;
}

uint64_t source_message_end(const struct mbx_message *m)
{
	return m->offset + m->raw_len;
}

int source_guarded(struct folder *f, uint64_t end, void (*fn)(void *arg), void *arg)
{
	if (source_covers(f, end) < 0)
		return -EIO;
	int faulted = source_guard_run(f->file.data, f->file.size, fn, arg) < 0;
	int r = source_covers(f, end); /* truncated while it was read? */
	return faulted && r == 0 ? gone(f, f->file.size, end) : r;
}

struct served_read {
	struct folder *f;
	const struct mbx_message *m;
	uint64_t off;
	char *buf;
	size_t len, copied;
};

static void read_served(void *arg)
{
	struct served_read *r = arg;
	r->copied = mbx_read_served(&r->f->file.mb, r->m, r->f->file.data, r->off, r->buf, r->len);
}

ssize_t source_read_served(struct folder *f, const struct mbx_message *m, uint64_t off, char *buf,
                           size_t len)
{
	struct served_read r = {f, m, off, buf, len, 0};
	int e = source_guarded(f, source_message_end(m), read_served, &r);
	return e < 0 ? e : (ssize_t)r.copied;
}

struct piece_walk {
	struct folder *f;
	const struct mbx_message *m;
	mbx_piece_fn fn;
	void *arg;
};

static void walk_pieces(void *arg)
{
	struct piece_walk *w = arg;
	mbx_for_each_piece(&w->f->file.mb, w->m, w->f->file.data, w->fn, w->arg);
}

int source_for_each_piece(struct folder *f, const struct mbx_message *m, mbx_piece_fn fn, void *arg)
{
	struct piece_walk w = {f, m, fn, arg};
	return source_guarded(f, source_message_end(m), walk_pieces, &w);
}
