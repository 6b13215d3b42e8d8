/* test_headers.c — hidden UW headers (reference 2.3, 2.5, 4.3) and the flags of
 * Status/X-Status (reference 4.1), through mbx_parse on buffers. */
#include "unit.h"

#include "header_line.h"

#include <stdio.h>
#include <xxhash.h>

static const char *const hidden_names[] = {
    "Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase",
};

/* Parses FROM_LINE + "A: 1\n" + line + " cont\n\tcont\nB: 2\n\nbody\n" and checks that
 * line and its continuation lines are not served. */
static void check_hidden(const char *line)
{
	char text[256];
	struct mbx_mailbox mb;
	snprintf(text, sizeof text, FROM_LINE "A: 1\n%s\n more\n\tand more\nB: 2\n\nbody\n", line);
	parse_str(&mb, text);
	assert_int_equal(mb.nmsgs, 1);
	char *got = served(&mb, 0, text);
	if (strcmp(got, "A: 1\nB: 2\n\nbody\n"))
		fail_msg("\"%s\" served as \"%s\"", line, got);
	free(got);
	/* 2.5: "A: 1" 5+1, "B: 2" 5+1, blank 2, "body" 5+1 */
	assert_int_equal(rfc822_size(&mb, 0, text), 6 + 6 + 2 + 6);
	mbx_mailbox_free(&mb);
}

/* 2.3 step 2, 4.3: each of the six names, in exact, lower and upper case, with its
 * continuation lines. */
static void six_headers_hidden_any_case(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof hidden_names / sizeof hidden_names[0]; i++) {
		char line[64], lower[64], upper[64];
		snprintf(line, sizeof line, "%s: RO 1 2", hidden_names[i]);
		for (size_t k = 0; k <= strlen(line); k++) {
			lower[k] =
			    (char)(line[k] >= 'A' && line[k] <= 'Z' ? line[k] + 32 : line[k]);
			upper[k] =
			    (char)(line[k] >= 'a' && line[k] <= 'z' ? line[k] - 32 : line[k]);
		}
		check_hidden(line);
		check_hidden(lower);
		check_hidden(upper);
	}
}

/* 2.3 step 2: the field name ends at ':' or white space, so "Status :" matches. */
static void name_ends_at_white_space(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof hidden_names / sizeof hidden_names[0]; i++) {
		char line[64];
		snprintf(line, sizeof line, "%s : x", hidden_names[i]);
		check_hidden(line);
		snprintf(line, sizeof line, "%s\t: x", hidden_names[i]);
		check_hidden(line);
	}
}

/* 4.3: everything else is served, also names that merely start like a hidden one. */
static void other_headers_served(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *hdr = "X-UIDL: 1234\nStatus-Report: yes\nX-Original-Status: RO\n"
	                  "X-IMAP-Foo: 1 2\nContent-Length: 5\nReturn-Path: <a@b>\n"
	                  "XStatus: R\n\nbody\n";
	char text[512];
	snprintf(text, sizeof text, FROM_LINE "%s", hdr);
	parse_str(&mb, text);
	assert_int_equal(mb.nmsgs, 1);
	assert_served(&mb, 0, text, hdr);
	assert_int_equal(mb.msgs[0].flags, MBX_RECENT);
	mbx_mailbox_free(&mb);
}

/* 2.5: a continuation line after a kept header is kept; only a hidden line's
 * continuation lines go with it. */
static void continuation_of_kept_line_kept(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_LINE " leading continuation\nSubject: a\n b\nX-UID: 1\n c\nTo: d\n"
	                          "\te\n\nbody\n";
	parse_str(&mb, s);
	assert_served(&mb, 0, s, " leading continuation\nSubject: a\n b\nTo: d\n\te\n\nbody\n");
	mbx_mailbox_free(&mb);
}

/* 2.3, 2.6: a CRLF header with hidden lines is served as the LF one. */
static void hidden_in_crlf_header(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s =
	    FROM_LINE "A: 1\r\nX-Keywords: a\r\n b\r\nStatus: O\r\nB: 2\r\n\r\nbody\r\n";
	parse_str(&mb, s);
	assert_served(&mb, 0, s, "A: 1\nB: 2\n\nbody\n");
	mbx_mailbox_free(&mb);
}

/* 2.1, 4.1: header lines are only those of the header region; the body is served
 * as is and its "Status:" lines set no flags. */
static void status_in_body_is_text(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_LINE "A: 1\n\nStatus: RO\nX-Status: F\n";
	parse_str(&mb, s);
	assert_served(&mb, 0, s, "A: 1\n\nStatus: RO\nX-Status: F\n");
	assert_int_equal(mb.msgs[0].flags, MBX_RECENT);
	mbx_mailbox_free(&mb);
}

/* 2.6: a NUL byte before the colon of a header line is served as a space (the
 * field-name scan); NUL bytes after the colon and in the body are passed through. */
static void nul_before_colon_served_as_space(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	static const char s[] = FROM_LINE "X-F\0o: v\0w\nSubject: x\n\nbody\0\n";
	static const char expect[] = "X-F o: v\0w\nSubject: x\n\nbody\0\n";
	parse_buf(&mb, s, sizeof s - 1);
	assert_int_equal(mb.nmsgs, 1);
	assert_served_bytes(&mb, 0, s, expect, sizeof expect - 1);
	mbx_mailbox_free(&mb);
}

/* Flags of a one-message mbox with the given header lines. */
static uint8_t flags_of(const char *headers)
{
	char text[512];
	struct mbx_mailbox mb;
	snprintf(text, sizeof text, FROM_LINE "%sSubject: s\n\nbody\n", headers);
	parse_str(&mb, text);
	assert_int_equal(mb.nmsgs, 1);
	uint8_t f = mb.msgs[0].flags;
	mbx_mailbox_free(&mb);
	return f;
}

/* 4.1: the letter table, each letter in Status and in X-Status. */
static void status_letters_either_header(void **state)
{
	(void)state;
	static const struct {
		char letter;
		uint8_t flags; /* with no O, the message stays \Recent */
	} table[] = {
	    {'R', MBX_SEEN | MBX_RECENT},     {'O', 0},
	    {'D', MBX_DELETED | MBX_RECENT},  {'F', MBX_FLAGGED | MBX_RECENT},
	    {'A', MBX_ANSWERED | MBX_RECENT}, {'T', MBX_DRAFT | MBX_RECENT},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		char h[64];
		snprintf(h, sizeof h, "Status: %c\n", table[i].letter);
		if (flags_of(h) != table[i].flags)
			fail_msg("Status: %c gives %#x", table[i].letter, flags_of(h));
		snprintf(h, sizeof h, "X-Status: %c\n", table[i].letter);
		if (flags_of(h) != table[i].flags)
			fail_msg("X-Status: %c gives %#x", table[i].letter, flags_of(h));
	}
}

/* 4.1: both headers add up. */
static void status_and_x_status_combined(void **state)
{
	(void)state;
	assert_int_equal(flags_of("Status: RO\nX-Status: DFAT\n"),
	                 MBX_SEEN | MBX_DELETED | MBX_FLAGGED | MBX_ANSWERED | MBX_DRAFT);
	assert_int_equal(flags_of("X-Status: AF\nStatus: R\n"),
	                 MBX_SEEN | MBX_ANSWERED | MBX_FLAGGED | MBX_RECENT);
	assert_int_equal(flags_of("Status:RODFAT\n"),
	                 MBX_SEEN | MBX_DELETED | MBX_FLAGGED | MBX_ANSWERED | MBX_DRAFT);
}

/* 4.1: other letters are ignored (lower case too: the table is upper case). */
static void status_junk_ignored(void **state)
{
	(void)state;
	assert_int_equal(flags_of("Status: XYZ 123 !\n"), MBX_RECENT);
	assert_int_equal(flags_of("Status: ro\nX-Status: dfat\n"), MBX_RECENT);
	assert_int_equal(flags_of("Status: xRx\n"), MBX_SEEN | MBX_RECENT);
}

/* 4.1: \Recent iff neither header has an O. */
static void recent_iff_no_o(void **state)
{
	(void)state;
	assert_int_equal(flags_of(""), MBX_RECENT);
	assert_int_equal(flags_of("Status: R\n") & MBX_RECENT, MBX_RECENT);
	assert_int_equal(flags_of("Status: RO\n") & MBX_RECENT, 0);
	assert_int_equal(flags_of("X-Status: O\n") & MBX_RECENT, 0);
	assert_int_equal(flags_of("Status:\nX-Status:\n") & MBX_RECENT, MBX_RECENT);
}

/* 4.1: wrong-case or spaced Status/X-Status lines are hidden, their flags not
 * applied, and the line is reported (mbox.h: MBX_AN_BOGUS_HEADER). */
static void wrong_case_status_not_applied(void **state)
{
	(void)state;
	static const char *const lines[] = {
	    "status: RO\n", "STATUS: RO\n", "Status : RO\n", "x-status: DF\n", "X-STATUS: DF\n",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		char text[256];
		struct mbx_mailbox mb;
		snprintf(text, sizeof text, FROM_LINE "A: 1\n%s\nbody\n", lines[i]);
		parse_str(&mb, text);
		assert_int_equal(mb.nmsgs, 1);
		if (mb.msgs[0].flags != MBX_RECENT)
			fail_msg("%s applied: flags %#x", lines[i], mb.msgs[0].flags);
		assert_served(&mb, 0, text, "A: 1\n\nbody\n");
		assert_int_equal(count_anomalies(&mb, MBX_AN_BOGUS_HEADER), 1);
		mbx_mailbox_free(&mb);
	}
}

/* header_line.h: the pure helpers agree with the rules above. */
static void header_line_helpers(void **state)
{
	(void)state;
	const char *yes[] = {"Status: R\n", "x-uid: 3\n", "X-IMAPBASE: 1 2\n", "X-Keywords\t: a\n",
	                     "STATUS\n"};
	const char *no[] = {"X-UIDL: 3\n", "Statuses: R\n", "X-IMAP-Foo: 1\n", "Subject: Status\n",
	                    " Status: R\n"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (!mbx_is_internal_header_name(yes[i], strlen(yes[i])))
			fail_msg("not hidden: %s", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (mbx_is_internal_header_name(no[i], strlen(no[i])))
			fail_msg("hidden: %s", no[i]);
	uint8_t set, clear;
	mbx_status_letters(": RO\n", 5, &set, &clear);
	assert_int_equal(set, MBX_SEEN);
	assert_int_equal(clear, MBX_RECENT);
	mbx_status_letters(": F\nR", 5, &set, &clear); /* stops at LF */
	assert_int_equal(set, MBX_FLAGGED);
	assert_int_equal(clear, 0);
}

/* mbox.h: a message's size and hash are those of its served bytes, whether
 * lines are hidden, whether it is short (hashed from a copy) or long (hashed in
 * pieces), with CRs, and with a NUL served as a space. The served bytes are
 * written out here, not taken from the parser. */
static void size_and_hash_of_served_bytes(void **state)
{
	(void)state;
	static char body[6000];
	memset(body, 'x', sizeof body - 2);
	for (size_t i = 70; i < sizeof body - 2; i += 71)
		body[i] = '\n';
	body[sizeof body - 2] = '\n';
	static const struct {
		const char *header, *served_header, *body;
	} cases[] = {
	    {"A: 1\nStatus: RO\nX-UID: 5\nB: 2\n\n", "A: 1\nB: 2\n\n", "short\n"},
	    {"A: 1\nStatus: RO\nX-UID: 5\nB: 2\n\n", "A: 1\nB: 2\n\n", body},
	    {"A: 1\r\nStatus: RO\r\nB: 2\r\n\r\n", "A: 1\nB: 2\n\n", "short\n"},
	    {"A: 1\nB: 2\n\n", "A: 1\nB: 2\n\n", "short\n"},
	    {"A: 1\nB: 2\n\n", "A: 1\nB: 2\n\n", body},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t hl = strlen(cases[i].header), bl = strlen(cases[i].body);
		char *text = malloc(strlen(FROM_LINE) + hl + bl + 1);
		char *want = malloc(strlen(cases[i].served_header) + bl + 1);
		assert_non_null(text);
		assert_non_null(want);
		strcat(strcat(strcpy(text, FROM_LINE), cases[i].header), cases[i].body);
		strcat(strcpy(want, cases[i].served_header), cases[i].body);
		struct mbx_mailbox mb;
		parse_str(&mb, text);
		assert_int_equal(mb.nmsgs, 1);
		assert_int_equal(mb.msgs[0].size, strlen(want));
		if (mb.msgs[0].hash != XXH3_64bits(want, strlen(want)))
			fail_msg("case %zu: hash is not that of the served bytes", i);
		mbx_mailbox_free(&mb);
		free(text);
		free(want);
	}
	/* a NUL before the colon is served as a space (2.6) */
	static const char nul[] = FROM_LINE "A\0B: 1\nStatus: R\n\nbody\n";
	static const char nul_served[] = "A B: 1\n\nbody\n";
	struct mbx_mailbox mb;
	parse_buf(&mb, nul, sizeof nul - 1);
	assert_int_equal(mb.nmsgs, 1);
	assert_int_equal(mb.msgs[0].size, sizeof nul_served - 1);
	assert_true(mb.msgs[0].hash == XXH3_64bits(nul_served, sizeof nul_served - 1));
	mbx_mailbox_free(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(six_headers_hidden_any_case),
	    cmocka_unit_test(name_ends_at_white_space),
	    cmocka_unit_test(other_headers_served),
	    cmocka_unit_test(continuation_of_kept_line_kept),
	    cmocka_unit_test(hidden_in_crlf_header),
	    cmocka_unit_test(status_in_body_is_text),
	    cmocka_unit_test(nul_before_colon_served_as_space),
	    cmocka_unit_test(status_letters_either_header),
	    cmocka_unit_test(status_and_x_status_combined),
	    cmocka_unit_test(status_junk_ignored),
	    cmocka_unit_test(recent_iff_no_o),
	    cmocka_unit_test(wrong_case_status_not_applied),
	    cmocka_unit_test(header_line_helpers),
	    cmocka_unit_test(size_and_hash_of_served_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
