/* fuzz_index.c — libFuzzer target for the index file reader (store.h,
 * mbx_index_parse), with properties that must hold for any bytes:
 *  - reading never crashes or leaks (run under ASan);
 *  - an index taken as sound can be used without further checks: every
 *    message's served pieces stay inside the parsed part of the file and add
 *    up to its size (at most, when CRs are removed), names and control files
 *    can be made from it, keyword and anomaly texts are terminated strings.
 * The input's last 8 bytes are replaced by its checksum, so that mutations
 * reach the checks behind it. The key is FUZZ_INDEX_KEY; replay_index.c
 * writes real index files under it.
 * Built with -Dfuzz=true (clang); otherwise replay.c runs it over files. */
#include "fuzz_index.h"
#include "courier_files.h"
#include "name.h"
#include "store.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define DATA_MAX (1u << 20) /* piece checks only for files up to this size */

struct piece_check {
	const char *lo, *hi;
	uint64_t total;
};

static void check_piece(const char *bytes, size_t len, void *arg)
{
	struct piece_check *c = arg;
	int space = len == 1 && bytes[0] == ' '; /* a NUL served as a space */
	if (!space && (bytes < c->lo || bytes + len > c->hi))
		abort();
	c->total += len;
}

static void check_messages(const struct mbx_mailbox *mb)
{
	uint64_t end = 0;
	for (size_t i = 0; i < mb->nmsgs; i++)
		if (mb->msgs[i].offset + mb->msgs[i].raw_len > end)
			end = mb->msgs[i].offset + mb->msgs[i].raw_len;
	if (end > mb->parsed_size)
		abort();
	if (end > DATA_MAX)
		return;
	/* file bytes without CR: the pieces then give the most a message can be */
	char *data = malloc(end ? end : 1);
	if (!data)
		return;
	memset(data, 'a', end);
	char name[MBX_NAME_MAX], buf[64];
	for (size_t i = 0; i < mb->nmsgs; i++) {
		const struct mbx_message *m = &mb->msgs[i];
		struct piece_check c = {data, data + end, 0};
		mbx_for_each_piece(mb, m, data, check_piece, &c);
		if ((m->bits & MBX_HAS_CR) ? c.total < m->size : c.total != m->size)
			abort();
		if (mbx_read_served(mb, m, data, m->size / 2, buf, sizeof buf) >
		    m->size - m->size / 2)
			abort();
		if (mbx_message_name(mb->uidvalidity, m, 0, name) >= MBX_NAME_MAX ||
		    mbx_message_name(mb->uidvalidity, m, 1, name) >= MBX_NAME_MAX)
			abort();
	}
	size_t len;
	free(mbx_courier_uiddb(mb, 1, &len));
	free(mbx_courier_kwlist(mb, 0, &len));
	free(mbx_courier_pop3_sizelist(mb, data, NULL, &len));
	free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	/* a private copy, so that reads past the end are caught exactly */
	char *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, bytes, size);
	if (size >= 8) { /* the checksum store.c expects: XXH3-64 of the rest */
		uint64_t sum = XXH3_64bits(copy, size - 8);
		memcpy(copy + size - 8, &sum, 8);
	}
	struct mbx_mailbox mb;
	mbx_mailbox_init(&mb);
	if (mbx_index_parse(copy, size, FUZZ_INDEX_KEY, &mb)) {
		if (mb.kind > MBX_KIND_NOT_MAILBOX || mb.rule > MBX_RULE_ANY_STABLE)
			abort();
		for (int i = 0; i < MBX_MAX_KEYWORDS; i++)
			if (mb.keywords[i] && strlen(mb.keywords[i]) > MBX_MAX_KEYWORD_LEN)
				abort();
		for (size_t i = 0; i < mb.nanomalies; i++)
			if (!mbx_anomaly_name(mb.anomalies[i].kind) ||
			    strnlen(mb.anomalies[i].text, sizeof mb.anomalies[i].text) ==
			        sizeof mb.anomalies[i].text)
				abort();
		check_messages(&mb);
	} else if (mb.nmsgs || mb.msgs || mb.keywords[0])
		abort(); /* a refused index leaves nothing behind */
	mbx_mailbox_free(&mb);
	free(copy);
	return 0;
}
