/* test_boundaries.c — where messages start and end, and which bytes are served
 * (reference 1.1, 2.1, 2.2, 2.4-2.6, 11 step 7), through mbx_parse on buffers. */
#include "unit.h"

#include <stdio.h>

#define FROM_A "From a@example.org Wed Dec  2 05:53:22 1992\n"
#define FROM_B "From b@example.org Thu Dec  3 06:00:00 1992\n"
#define FROM_C "From c@example.org Fri Dec  4 07:00:00 1992\n"

/* Replaces every LF by CR LF. */
static char *to_crlf(const char *s, size_t len, size_t *out_len)
{
	char *out = malloc(2 * len + 1);
	size_t n = 0;
	assert_non_null(out);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			out[n++] = '\r';
		out[n++] = s[i];
	}
	*out_len = n;
	return out;
}

/* 2.1: a new message starts at a valid From_ line of the body region; lines that
 * fail VALID stay body text. */
static void only_valid_from_lines_split(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n\nbody\n"
	                       "From me to you\n"
	                       "From user Wed Dec 2 05:53:22 1992\n"
	                       "from user Wed Dec  2 05:53:22 1992\n"
	                       "\n" FROM_B "Subject: 2\n\nbody 2\n";
	parse_str(&mb, s);
	assert_int_equal(mb.kind, MBX_KIND_UNIX);
	assert_int_equal(mb.nmsgs, 2);
	assert_served(&mb, 0, s,
	              "Subject: 1\n\nbody\nFrom me to you\nFrom user Wed Dec 2 05:53:22 1992\n"
	              "from user Wed Dec  2 05:53:22 1992\n");
	assert_served(&mb, 1, s, "Subject: 2\n\nbody 2\n");
	mbx_mailbox_free(&mb);
}

/* 1.1: lines of the header region are never tested with VALID. */
static void from_line_in_header_does_not_split(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n" FROM_B "X-Other: y\n\nbody\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 1);
	assert_served(&mb, 0, s, "Subject: 1\n" FROM_B "X-Other: y\n\nbody\n");
	mbx_mailbox_free(&mb);
}

/* 1.1, 2.1: no blank line is needed before a From_ line; nothing is dropped then. */
static void no_blank_line_required(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n\nlast line\n" FROM_B "Subject: 2\n\nx\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2);
	assert_served(&mb, 0, s, "Subject: 1\n\nlast line\n");
	mbx_mailbox_free(&mb);
}

/* 2.1: one final empty line (the separator) is dropped, before a From_ line and at EOF. */
static void final_blank_line_dropped(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n\nbody\n\n" FROM_B "Subject: 2\n\nbody 2\n\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2);
	assert_served(&mb, 0, s, "Subject: 1\n\nbody\n");
	assert_served(&mb, 1, s, "Subject: 2\n\nbody 2\n");
	/* 2.5: header "Subject: 1" 10+1+1, blank 1+1, body 5+1 (the separator not counted) */
	assert_int_equal(rfc822_size(&mb, 0, s), 12 + 2 + 6);
	mbx_mailbox_free(&mb);
}

/* 2.1: a CR LF empty line is dropped too. */
static void final_crlf_blank_line_dropped(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s =
	    FROM_A "Subject: 1\r\n\r\nbody\r\n\r\n" FROM_B "Subject: 2\r\n\r\nb2\r\n\r\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2);
	assert_served(&mb, 0, s, "Subject: 1\n\nbody\n");
	assert_served(&mb, 1, s, "Subject: 2\n\nb2\n");
	mbx_mailbox_free(&mb);
}

/* 2.1: only one empty line is dropped; the others are body. */
static void only_one_blank_line_dropped(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s =
	    FROM_A "Subject: 1\n\nbody\n\n\n\n" FROM_B "Subject: 2\r\n\r\nb2\r\n\r\n\r\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2);
	assert_served(&mb, 0, s, "Subject: 1\n\nbody\n\n\n");
	assert_served(&mb, 1, s, "Subject: 2\n\nb2\n\n");
	/* 2.5: body "body\n\n\n\n" = 8 bytes + 4 LFs, minus 2 for the dropped line */
	assert_int_equal(rfc822_size(&mb, 0, s), 12 + 2 + 8 + 4 - 2);
	mbx_mailbox_free(&mb);
}

/* 2.1: without an empty last line nothing is dropped; a line of spaces is not empty. */
static void nothing_dropped_without_blank_line(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n\nbody\n \n" FROM_B "Subject: 2\n\nb2\n\t\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2);
	assert_served(&mb, 0, s, "Subject: 1\n\nbody\n \n");
	assert_served(&mb, 1, s, "Subject: 2\n\nb2\n\t\n");
	mbx_mailbox_free(&mb);
}

/* 2.1: if EOF comes before an empty line, everything is header. */
static void header_only_message_at_eof(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n\nbody\n\n" FROM_B "Subject: 2\nX-A: b\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2);
	assert_served(&mb, 1, s, "Subject: 2\nX-A: b\n");
	assert_int_equal(rfc822_size(&mb, 1, s), 11 + 1 + 7 + 1);
	mbx_mailbox_free(&mb);

	const char *t = FROM_A "Subject: 1";
	parse_str(&mb, t);
	assert_int_equal(mb.nmsgs, 1);
	assert_served(&mb, 0, t, "Subject: 1");
	mbx_mailbox_free(&mb);
}

/* 2.1: the header region includes its empty line; an empty body drops nothing. */
static void empty_body(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n\n" FROM_B "Subject: 2\n\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2);
	assert_served(&mb, 0, s, "Subject: 1\n\n");
	assert_served(&mb, 1, s, "Subject: 2\n\n");
	assert_int_equal(rfc822_size(&mb, 0, s), 12 + 2);
	mbx_mailbox_free(&mb);
}

/* 2.6: a CRLF file is served exactly as its LF version (sizes, hashes, bytes). */
static void crlf_file_served_as_lf_file(void **state)
{
	(void)state;
	struct mbx_mailbox lf, crlf;
	const char *s = FROM_A "Subject: one\nStatus: RO\nX-Long: a\n b\n\nbody\n\nmore\n\n" FROM_B
	                       "Subject: two\nX-UID: 4\n\n\n\n" FROM_C "Subject: three\n\nend\n";
	size_t clen;
	char *c = to_crlf(s, strlen(s), &clen);
	parse_str(&lf, s);
	parse_buf(&crlf, c, clen);
	assert_int_equal(lf.nmsgs, 3);
	assert_int_equal(crlf.nmsgs, lf.nmsgs);
	for (size_t i = 0; i < lf.nmsgs; i++) {
		assert_int_equal(crlf.msgs[i].size, lf.msgs[i].size);
		assert_int_equal(crlf.msgs[i].hash, lf.msgs[i].hash);
		assert_int_equal(crlf.msgs[i].uid, lf.msgs[i].uid);
		assert_int_equal(crlf.msgs[i].flags, lf.msgs[i].flags);
		assert_int_equal(crlf.msgs[i].date, lf.msgs[i].date);
		assert_int_equal(rfc822_size(&crlf, i, c), rfc822_size(&lf, i, s));
		char *a = served(&lf, i, s), *b = served(&crlf, i, c);
		assert_memory_equal(a, b, lf.msgs[i].size);
		free(a);
		free(b);
	}
	assert_served(&crlf, 0, c, "Subject: one\nX-Long: a\n b\n\nbody\n\nmore\n");
	assert_served(&crlf, 1, c, "Subject: two\n\n\n");
	mbx_mailbox_free(&lf);
	mbx_mailbox_free(&crlf);
	free(c);
}

/* 2.3, 2.4, 11 step 7: every CR is removed, also a lone one. */
static void lone_cr_removed(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: a\rb\n\nx\ry\r\rz\n";
	parse_str(&mb, s);
	assert_served(&mb, 0, s, "Subject: ab\n\nxyz\n");
	/* 2.5: header 12 bytes without CR + 1, blank 1 + 1, body 7 - 3 CRs + 1 LF */
	assert_int_equal(rfc822_size(&mb, 0, s), 13 + 2 + 5);
	mbx_mailbox_free(&mb);
}

/* 2.4, 2.6: a body without final LF is served without one. */
static void last_line_without_newline(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n\nbody\nat eof";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 1);
	assert_served(&mb, 0, s, "Subject: 1\n\nbody\nat eof");
	/* 2.5: header 11 + 1, blank 1 + 1, body 11 bytes + 1 LF (no CRLF at the end) */
	assert_int_equal(rfc822_size(&mb, 0, s), 12 + 2 + 12);
	mbx_mailbox_free(&mb);
}

/* 2.4: NUL and 8-bit bytes are passed through. */
static void nul_and_8bit_passed_through(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	static const char s[] = FROM_A "Subject: caf\xc3\xa9\n\na\0b\xff\x80\n\0\n";
	static const char expect[] = "Subject: caf\xc3\xa9\n\na\0b\xff\x80\n\0\n";
	parse_buf(&mb, s, sizeof s - 1);
	assert_int_equal(mb.nmsgs, 1);
	assert_served_bytes(&mb, 0, s, expect, sizeof expect - 1);
	mbx_mailbox_free(&mb);
}

/* 2.2: ">From " is never un-escaped. */
static void quoted_from_not_unescaped(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\n\n>From quoted\n>>From twice\n"
	                       ">From x Wed Dec  2 05:53:22 1992\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 1);
	assert_served(
	    &mb, 0, s,
	    "Subject: 1\n\n>From quoted\n>>From twice\n>From x Wed Dec  2 05:53:22 1992\n");
	mbx_mailbox_free(&mb);
}

/* 2.1: Content-Length is not used for boundaries, and it is served and counted. */
static void content_length_ignored_and_served(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Content-Length: 3\n\nabc\n" FROM_B "not a message start\n"
	                       "\n" FROM_C "Content-Length: 1000\n\nshort\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 3);
	assert_served(&mb, 0, s, "Content-Length: 3\n\nabc\n");
	/* the empty line after it ends a header region: no body, nothing dropped */
	assert_served(&mb, 1, s, "not a message start\n\n");
	assert_served(&mb, 2, s, "Content-Length: 1000\n\nshort\n");
	assert_int_equal(rfc822_size(&mb, 0, s), 18 + 1 + 2 + 4 + 1);
	mbx_mailbox_free(&mb);
}

/* 1.1: CR LF SP TAB before the first From_ line are skipped if the last one is LF. */
static void leading_white_space(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		enum mbx_kind kind;
	} cases[] = {
	    {"\n\n" FROM_A "Subject: 1\n\nx\n", MBX_KIND_UNIX},
	    {"  \t\n" FROM_A "Subject: 1\n\nx\n", MBX_KIND_UNIX},
	    {"\r\n\r\n" FROM_A "Subject: 1\n\nx\n", MBX_KIND_UNIX},
	    {"\n " FROM_A "Subject: 1\n\nx\n", MBX_KIND_NOT_MAILBOX},
	    {"\n\t" FROM_A "Subject: 1\n\nx\n", MBX_KIND_NOT_MAILBOX},
	    {"\r" FROM_A "Subject: 1\n\nx\n", MBX_KIND_NOT_MAILBOX},
	    {" " FROM_A "Subject: 1\n\nx\n", MBX_KIND_NOT_MAILBOX},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct mbx_mailbox mb;
		parse_str(&mb, cases[i].text);
		if (mb.kind != cases[i].kind)
			fail_msg("case %zu: kind %d, want %d", i, mb.kind, cases[i].kind);
		if (cases[i].kind == MBX_KIND_UNIX) {
			assert_int_equal(mb.nmsgs, 1);
			assert_served(&mb, 0, cases[i].text, "Subject: 1\n\nx\n");
		} else
			assert_int_equal(mb.nmsgs, 0);
		mbx_mailbox_free(&mb);
	}
}

/* 1.1: a first line that is not a valid From_ line: not a Unix mailbox (reported). */
static void first_line_not_from(void **state)
{
	(void)state;
	static const char *const texts[] = {
	    "Subject: no From_ line\n\nbody\n" FROM_A "Subject: 1\n\nx\n",
	    "From user Wed, 2 Dec 1992 05:53:22 -0700\nSubject: 1\n\nx\n",
	    "garbage",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		struct mbx_mailbox mb;
		parse_str(&mb, texts[i]);
		assert_int_equal(mb.kind, MBX_KIND_NOT_MAILBOX);
		assert_int_equal(mb.nmsgs, 0);
		assert_int_equal(count_anomalies(&mb, MBX_AN_NOT_MAILBOX), 1);
		mbx_mailbox_free(&mb);
	}
}

/* 1.1: a zero-length file is the dummy driver's: no messages. */
static void zero_length_file(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_buf(&mb, "", 0);
	assert_int_equal(mb.kind, MBX_KIND_EMPTY);
	assert_int_equal(mb.nmsgs, 0);
	mbx_mailbox_free(&mb);
}

/* 1.1: the first From_ line must end with its LF within the first 1023 bytes. */
static void first_from_line_within_1023_bytes(void **state)
{
	(void)state;
	const char *tail = " Wed Dec  2 05:53:22 1992\n";
	const char *rest = "Subject: 1\n\nx\n";
	for (size_t lf_at = 1021; lf_at <= 1024; lf_at++) {
		/* "From " + sender + tail, with the LF at index lf_at */
		size_t sender = lf_at + 1 - 5 - strlen(tail);
		char buf[2048];
		memcpy(buf, "From ", 5);
		memset(buf + 5, 'a', sender);
		strcpy(buf + 5 + sender, tail);
		assert_int_equal(buf[lf_at], '\n');
		strcat(buf, rest);
		struct mbx_mailbox mb;
		parse_str(&mb, buf);
		enum mbx_kind want = lf_at <= 1022 ? MBX_KIND_UNIX : MBX_KIND_NOT_MAILBOX;
		if (mb.kind != want)
			fail_msg("LF at byte %zu: kind %d, want %d", lf_at, mb.kind, want);
		mbx_mailbox_free(&mb);
	}
}

/* 2.5: RFC822.SIZE = served LF bytes + number of LFs, computed by hand here. */
static void rfc822_size_by_hand(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: hello\nX-Status: F\nTo: x@y\n\nline 1\nline 2\n\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 1);
	/* kept header lines: "Subject: hello\n" 15+1, "To: x@y\n" 8+1, "\n" 1+1;
	 * body "line 1\nline 2\n\n" 15 bytes + 3 LFs - 2 (dropped final empty line) */
	assert_int_equal(rfc822_size(&mb, 0, s), 16 + 9 + 2 + 15 + 3 - 2);
	assert_int_equal(mb.msgs[0].size, 15 + 8 + 1 + 14);
	assert_int_equal(mbx_served_lines(&mb, &mb.msgs[0], s), 2 + 1 + 2);
	mbx_mailbox_free(&mb);
}

/* mbox.h: mbx_read_served copies any window [off, off+len) of the served bytes. */
static void read_served_windows(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "A: 1\r\nStatus: RO\r\n continued\r\nB: 2\r\n\r\nbody\r\nend\r\n";
	const char *expect = "A: 1\nB: 2\n\nbody\nend\n";
	size_t n = strlen(expect);
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 1);
	assert_served(&mb, 0, s, expect);
	for (size_t off = 0; off <= n; off++)
		for (size_t len = 0; len <= n + 2; len++) {
			char buf[64];
			size_t want = off + len <= n ? len : n - off;
			size_t got = mbx_read_served(&mb, &mb.msgs[0], s, off, buf, len);
			assert_int_equal(got, want);
			assert_memory_equal(buf, expect + off, want);
		}
	mbx_mailbox_free(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(only_valid_from_lines_split),
	    cmocka_unit_test(from_line_in_header_does_not_split),
	    cmocka_unit_test(no_blank_line_required),
	    cmocka_unit_test(final_blank_line_dropped),
	    cmocka_unit_test(final_crlf_blank_line_dropped),
	    cmocka_unit_test(only_one_blank_line_dropped),
	    cmocka_unit_test(nothing_dropped_without_blank_line),
	    cmocka_unit_test(header_only_message_at_eof),
	    cmocka_unit_test(empty_body),
	    cmocka_unit_test(crlf_file_served_as_lf_file),
	    cmocka_unit_test(lone_cr_removed),
	    cmocka_unit_test(last_line_without_newline),
	    cmocka_unit_test(nul_and_8bit_passed_through),
	    cmocka_unit_test(quoted_from_not_unescaped),
	    cmocka_unit_test(content_length_ignored_and_served),
	    cmocka_unit_test(leading_white_space),
	    cmocka_unit_test(first_line_not_from),
	    cmocka_unit_test(zero_length_file),
	    cmocka_unit_test(first_from_line_within_1023_bytes),
	    cmocka_unit_test(rfc822_size_by_hand),
	    cmocka_unit_test(read_served_windows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
