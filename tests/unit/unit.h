/* unit.h — small helpers shared by the cmocka unit tests of index/.
 *
 * Only parsing of in-memory buffers and access to served bytes; every expected
 * value lives in the test files, taken from reference/uw-imap-mbox.md. */
#ifndef MBOXFS_TESTS_UNIT_H
#define MBOXFS_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "mbox.h"

/* A From_ line c-client accepts (reference 1.2, ctime shape with a zone). */
#define FROM_LINE "From user@example.org Wed Dec  2 05:53:22 1992 +0000\n"

/* Parses a NUL-terminated mbox text. */
static inline void parse_str(struct mbx_mailbox *mb, const char *text)
{
	mbx_mailbox_init(mb);
	assert_int_equal(mbx_parse(mb, text, strlen(text), 1000), 0);
}

/* Parses data[0..len). */
static inline void parse_buf(struct mbx_mailbox *mb, const char *data, size_t len)
{
	mbx_mailbox_init(mb);
	assert_int_equal(mbx_parse(mb, data, len, 1000), 0);
}

/* The served bytes of message i, in a malloc'ed buffer with a NUL after them. */
static inline char *served(const struct mbx_mailbox *mb, size_t i, const char *data)
{
	const struct mbx_message *m = &mb->msgs[i];
	char *buf = malloc((size_t)m->size + 1);
	assert_non_null(buf);
	assert_int_equal(mbx_read_served(mb, m, data, 0, buf, m->size), m->size);
	buf[m->size] = '\0';
	return buf;
}

/* Checks that message i is served as exactly expect[0..len). */
static inline void assert_served_bytes(const struct mbx_mailbox *mb, size_t i, const char *data,
                                       const char *expect, size_t len)
{
	char *got = served(mb, i, data);
	assert_int_equal(mb->msgs[i].size, len);
	assert_memory_equal(got, expect, len);
	free(got);
}

/* Checks that message i is served as the NUL-terminated text expect. */
static inline void assert_served(const struct mbx_mailbox *mb, size_t i, const char *data,
                                 const char *expect)
{
	char *got = served(mb, i, data);
	assert_string_equal(got, expect);
	assert_int_equal(mb->msgs[i].size, strlen(expect));
	free(got);
}

/* RFC822.SIZE as uw-imapd reported it: served LF bytes plus one CR per LF. */
static inline uint64_t rfc822_size(const struct mbx_mailbox *mb, size_t i, const char *data)
{
	return mb->msgs[i].size + mbx_served_lines(mb, &mb->msgs[i], data);
}

/* Number of anomalies of a kind. */
static inline size_t count_anomalies(const struct mbx_mailbox *mb, enum mbx_anomaly_kind kind)
{
	size_t n = 0;
	for (size_t i = 0; i < mb->nanomalies; i++)
		n += mb->anomalies[i].kind == kind;
	return n;
}

#endif
