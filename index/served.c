/* served.c — the bytes a message is served as: its raw range minus the cuts
 * (hidden header lines), minus every CR (reference 2.3-2.5, 11 step 7). */
#include "mbox.h"

#include <string.h>

/* Splits data[0..len) at CR bytes when the message has any. */
static void emit(const struct mbx_message *m, const char *data, size_t len, mbx_piece_fn fn,
                 void *arg)
{
	if (!(m->bits & MBX_HAS_CR)) {
		if (len)
			fn(data, len, arg);
		return;
	}
	const char *end = data + len;
	while (data < end) {
		const char *cr = memchr(data, '\r', (size_t)(end - data));
		size_t n = (size_t)((cr ? cr : end) - data);
		if (n)
			fn(data, n, arg);
		data += n + (cr != NULL);
	}
}

void mbx_for_each_piece(const struct mbx_mailbox *mb, const struct mbx_message *m, const char *data,
                        mbx_piece_fn fn, void *arg)
{
	const char *raw = data + m->offset;
	uint32_t pos = 0;
	for (uint32_t i = 0; i < m->ncuts; i++) {
		const struct mbx_cut *c = &mb->cuts[m->cut_first + i];
		emit(m, raw + pos, c->off - pos, fn, arg);
		if (c->len & MBX_CUT_SPACE)
			fn(" ", 1, arg);
		pos = c->off + MBX_CUT_LEN(c);
	}

	if (pos < m->raw_len)
		emit(m, raw + pos, m->raw_len - pos, fn, arg);
}

struct copy_window {
	uint64_t skip; /* served bytes still to pass over */
	char *buf;
	size_t room, copied;
};

static void copy_piece(const char *bytes, size_t len, void *arg)
{
	struct copy_window *w = arg;
	if (w->skip >= len) {
		w->skip -= len;
		return;
	}
	bytes += w->skip, len -= (size_t)w->skip, w->skip = 0;
	size_t n = len < w->room ? len : w->room;
	memcpy(w->buf + w->copied, bytes, n);
	w->copied += n, w->room -= n;
}

size_t mbx_read_served(const struct mbx_mailbox *mb, const struct mbx_message *m, const char *data,
                       uint64_t off, char *buf, size_t len)
{
	if (off >= m->size)
		return 0;
	/* never past the size the message is listed with, even if the file
	 * under an index no longer holds the CRs it counted on */
	if (len > m->size - off)
		len = (size_t)(m->size - off);
	struct copy_window w = {off, buf, len, 0};
	mbx_for_each_piece(mb, m, data, copy_piece, &w);
	return w.copied;
}

static void count_lf(const char *bytes, size_t len, void *arg)
{
	uint64_t *n = arg;
	const char *end = bytes + len;
	while ((bytes = memchr(bytes, '\n', (size_t)(end - bytes))) != NULL)
		++*n, ++bytes;
}

uint64_t mbx_served_lines(const struct mbx_mailbox *mb, const struct mbx_message *m,
                          const char *data)
{
	uint64_t n = 0;
	mbx_for_each_piece(mb, m, data, count_lf, &n);
	return n;
}
