/* fuzz_parse.c — libFuzzer target for the mbox parser, with properties that
 * must hold for any input:
 *  - parsing never crashes or reads outside the input (run under ASan);
 *  - each message's served pieces add up to its size, stay inside the file,
 *    and contain no CR;
 *  - parsing a prefix that ends at a message boundary and then the rest with
 *    mbx_parse_append() gives the same messages as one full parse.
 * Built with -Dfuzz=true (clang); otherwise replay.c runs it over files. */
#include "mbox.h"
#include "name.h"

#include <stdlib.h>
#include <string.h>

struct piece_check {
	const char *lo, *hi;
	uint64_t total;
};

static void check_piece(const char *bytes, size_t len, void *arg)
{
	struct piece_check *c = arg;
		int space = len == 1 && bytes[0] == ' '; /* a NUL served as a space */
	if ((!space && (bytes < c->lo || bytes + len > c->hi)) || memchr(bytes, '\r', len))
		abort();

	c->total += len;
}

static void check_mailbox(const struct mbx_mailbox *mb, const char *data, size_t size)
{
	char name[MBX_NAME_MAX], buf[64];
	for (size_t i = 0; i < mb->nmsgs; i++) {
		const struct mbx_message *m = &mb->msgs[i];
		struct piece_check c = {data, data + size, 0};
		mbx_for_each_piece(mb, m, data, check_piece, &c);
		if (c.total != m->size)
			abort();
		if (mbx_read_served(mb, m, data, m->size / 2, buf, sizeof buf) >
		    m->size - m->size / 2)
			abort();
		mbx_message_name(mb->uidvalidity, m, 0, name);
		mbx_message_name(mb->uidvalidity, m, 1, name);
		if (i && !(mb->msgs[i - 1].offset < m->offset))
			abort();
	}
}

static int same_messages(const struct mbx_mailbox *a, const struct mbx_mailbox *b)
{
	if (a->nmsgs != b->nmsgs || a->uidnext != b->uidnext || a->rule != b->rule ||
	    a->uidvalidity != b->uidvalidity)
		return 0;
	for (size_t i = 0; i < a->nmsgs; i++) {
		const struct mbx_message *x = &a->msgs[i], *y = &b->msgs[i];
		if (x->offset != y->offset || x->hash != y->hash || x->size != y->size ||
		    x->uid != y->uid || x->flags != y->flags || x->keywords != y->keywords ||
		    x->date != y->date || x->zone != y->zone)
			return 0;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	/* a private copy, so that reads past the end are caught exactly */
	char *data = malloc(size ? size : 1);
	if (!data)
		return 0;
	memcpy(data, bytes, size);
	struct mbx_mailbox full, part;
	mbx_mailbox_init(&full);
	mbx_mailbox_init(&part);
	if (mbx_parse(&full, data, size, 1) == 0) {
		check_mailbox(&full, data, size);
		/* cut before the last message's From_ line and append the rest */
		if (full.kind == MBX_KIND_UNIX && full.nmsgs >= 2) {
			const struct mbx_message *last = &full.msgs[full.nmsgs - 1];
			const char *from = data + last->offset - 1;
			while (from > data && from[-1] != '\n')
				from--;
			size_t cut = (size_t)(from - data);
			if (cut && mbx_parse(&part, data, cut, 1) == 0 &&
			    mbx_parse_append(&part, data, size, 1) == 1 && !same_messages(&full, &part))
				abort();
		}
	}
	mbx_mailbox_free(&full);
	mbx_mailbox_free(&part);
	free(data);
	return 0;
}
