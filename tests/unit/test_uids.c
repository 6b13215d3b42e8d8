/* test_uids.c — UID rules and examples of reference section 5 with the policy of
 * DESIGN.md "UIDs" (reference 11 step 4), and mbx_parse_append (reference 1.1, 5.1). */
#include "unit.h"

#include <stdio.h>

#define FROM_A "From a@example.org Wed Dec  2 05:53:22 1992\n"
#define FROM_B "From b@example.org Thu Dec  3 06:00:00 1992\n"
#define FROM_C "From c@example.org Fri Dec  4 07:00:00 1992\n"
#define FROM_D "From d@example.org Sat Dec  5 08:00:00 1992\n"
#define FROM_E "From e@example.org Sun Dec  6 09:00:00 1992\n"

/* Builds a message: From_ line, extra header lines, a Subject, a body. */
#define MSG(from, headers, n) from headers "Subject: " n "\n\nbody " n "\n\n"

static void assert_uids(const struct mbx_mailbox *mb, const uint32_t *uids, size_t n)
{
	assert_int_equal(mb->nmsgs, n);
	for (size_t i = 0; i < n; i++)
		if (mb->msgs[i].uid != uids[i])
			fail_msg("message %zu: UID %u, want %u", i + 1, mb->msgs[i].uid, uids[i]);
}

/* 5.8: no X-IMAP/X-IMAPbase: UIDs 1..n, UIDNEXT n+1; any-stable with UIDVALIDITY 0
 * until the store chooses one (mbox.h). */
static void no_metadata(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "", "1") MSG(FROM_B, "", "2") MSG(FROM_C, "", "3"));
	static const uint32_t uids[] = {1, 2, 3};
	assert_uids(&mb, uids, 3);
	assert_int_equal(mb.rule, MBX_RULE_ANY_STABLE);
	assert_int_equal(mb.uidvalidity, 0);
	assert_int_equal(mb.uidnext, 4);
	mbx_mailbox_free(&mb);
}

/* 5.3: without metadata X-UID headers are not believed. */
static void no_metadata_x_uid_ignored(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-UID: 40\n", "1") MSG(FROM_B, "X-UID: 50\n", "2"));
	static const uint32_t uids[] = {1, 2};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_ANY_STABLE);
	assert_int_equal(mb.uidnext, 3);
	assert_int_equal(count_anomalies(&mb, MBX_AN_BAD_XUID), 0);
	mbx_mailbox_free(&mb);
}

/* 5.2-5.4, 5.9: X-IMAPbase + increasing X-UIDs: kept as written, UIDVALIDITY exact. */
static void exact_x_uids(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 10\nX-UID: 2\n", "1")
	                   MSG(FROM_B, "X-UID: 5\n", "2") MSG(FROM_C, "X-UID: 9\n", "3"));
	static const uint32_t uids[] = {2, 5, 9};
	assert_uids(&mb, uids, 3);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.uidnext, 11); /* 5.9: last-UID + 1, not max UID + 1 */
	mbx_mailbox_free(&mb);
}

/* 5.8: X-IMAPbase 1000 10, X-UIDs 5, 3, 8, none -> UIDs 5, 11, 12, 13, UIDNEXT 14;
 * c-client resets UIDVALIDITY, mboxfs keeps 1000 (rule metadata). */
static void example_bad_x_uid(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb,
	          MSG(FROM_A, "X-IMAPbase: 1000 10\nX-UID: 5\n", "1") MSG(FROM_B, "X-UID: 3\n", "2")
	              MSG(FROM_C, "X-UID: 8\n", "3") MSG(FROM_D, "", "4"));
	static const uint32_t uids[] = {5, 11, 12, 13};
	assert_uids(&mb, uids, 4);
	assert_int_equal(mb.rule, MBX_RULE_METADATA);
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.uidnext, 14);
	assert_int_equal(count_anomalies(&mb, MBX_AN_BAD_XUID), 1);
	mbx_mailbox_free(&mb);
}

/* 5.8: message 1 without X-UID gets 11, then X-UID 6 < 11 resets (-> 12). */
static void example_missing_then_lower(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 10\n", "1") MSG(FROM_B, "X-UID: 6\n", "2"));
	static const uint32_t uids[] = {11, 12};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_METADATA);
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.uidnext, 13);
	mbx_mailbox_free(&mb);
}

/* 5.8: mail appended by an MDA (no X-UID) gets last-UID+1, +2 ...; UIDVALIDITY kept. */
static void example_appended_without_x_uid(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 3\nX-UID: 1\n", "1") MSG(
	                   FROM_B, "X-UID: 3\n", "2") MSG(FROM_C, "", "3") MSG(FROM_D, "", "4"));
	static const uint32_t uids[] = {1, 3, 4, 5};
	assert_uids(&mb, uids, 4);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.uidnext, 6);
	mbx_mailbox_free(&mb);
}

/* 5.8: an appended message with X-UID 77 (> last-UID 3) keeps 77; UIDNEXT 78. */
static void example_appended_x_uid_77(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 3\nX-UID: 3\n", "1")
	                   MSG(FROM_B, "X-UID: 77\n", "2"));
	static const uint32_t uids[] = {3, 77};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidnext, 78);
	mbx_mailbox_free(&mb);
}

/* 5.3: in message 1, an X-UID before X-IMAPbase is not believed (no reset either). */
static void x_uid_before_x_imapbase(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-UID: 5\nX-IMAPbase: 1000 10\n", "1")
	                   MSG(FROM_B, "X-UID: 11\n", "2"));
	/* message 1 ends its header without a UID: ++last-UID = 11; then 11 <= 11 */
	static const uint32_t uids[] = {11, 12};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.rule, MBX_RULE_METADATA);
	mbx_mailbox_free(&mb);

	parse_str(&mb, MSG(FROM_A, "X-UID: 5\nX-IMAPbase: 1000 10\n", "1")
	                   MSG(FROM_B, "X-UID: 12\n", "2"));
	static const uint32_t uids2[] = {11, 12};
	assert_uids(&mb, uids2, 2);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidnext, 13);
	mbx_mailbox_free(&mb);
}

/* 5.4, 5.5: a second X-UID in one message is a reset; the message then gets
 * ++last-UID (5.6). */
static void duplicate_x_uid_in_message(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 10\nX-UID: 1\nX-UID: 2\n", "1")
	                   MSG(FROM_B, "X-UID: 3\n", "2"));
	static const uint32_t uids[] = {11, 12};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_METADATA);
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.uidnext, 13);
	assert_int_equal(count_anomalies(&mb, MBX_AN_BAD_XUID), 1);
	mbx_mailbox_free(&mb);
}

/* 5.4, 5.5: equal to the previous UID is a reset. */
static void equal_x_uid_resets(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 10\nX-UID: 4\n", "1")
	                   MSG(FROM_B, "X-UID: 4\n", "2") MSG(FROM_C, "X-UID: 9\n", "3"));
	static const uint32_t uids[] = {4, 11, 12};
	assert_uids(&mb, uids, 3);
	assert_int_equal(mb.rule, MBX_RULE_METADATA);
	assert_int_equal(mb.uidnext, 13);
	mbx_mailbox_free(&mb);
}

/* 5.3, 5.5: the value is the leading digits: garbage is 0, which is a reset. */
static void x_uid_value_leading_digits(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 10\nX-UID:   7abc\n", "1")
	                   MSG(FROM_B, "X-UID: 8\n", "2"));
	static const uint32_t uids[] = {7, 8};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	mbx_mailbox_free(&mb);

	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 10\nX-UID: 1\n", "1")
	                   MSG(FROM_B, "X-UID: none\n", "2") MSG(FROM_C, "X-UID: 0\n", "3"));
	static const uint32_t uids2[] = {1, 11, 12};
	assert_uids(&mb, uids2, 3);
	assert_int_equal(mb.rule, MBX_RULE_METADATA);
	assert_int_equal(mb.uidvalidity, 1000);
	mbx_mailbox_free(&mb);
}

/* 5.3: an X-UID of 0 in message 1 is a reset too (0 is not above the previous 0). */
static void x_uid_zero_in_first_message(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 10\nX-UID: 0\n", "1") MSG(FROM_B, "", "2"));
	static const uint32_t uids[] = {11, 12};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_METADATA);
	mbx_mailbox_free(&mb);
}

/* 5.3: X-UID must be spelled exactly; others are hidden and not believed. */
static void x_uid_wrong_case_ignored(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 10\nx-uid: 3\n", "1")
	                   MSG(FROM_B, "X-Uid: 2\n", "2"));
	static const uint32_t uids[] = {11, 12};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	mbx_mailbox_free(&mb);
}

/* 5.3: the pseudo message's X-UID is not believed. */
static void pseudo_message_x_uid_ignored(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAP: 1000 10\nX-UID: 9\n", "0")
	                   MSG(FROM_B, "X-UID: 2\n", "1") MSG(FROM_C, "X-UID: 3\n", "2"));
	static const uint32_t uids[] = {2, 3};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidnext, 11);
	mbx_mailbox_free(&mb);
}

/* 5.4: an X-UID above last-UID raises it, also in message 1. */
static void x_uid_raises_last_uid(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 2\nX-UID: 20\n", "1") MSG(FROM_B, "", "2"));
	static const uint32_t uids[] = {20, 21};
	assert_uids(&mb, uids, 2);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidnext, 22);
	mbx_mailbox_free(&mb);
}

/* 5.9: UIDNEXT can exceed max UID + 1 (expunged UIDs are never reused). */
static void uidnext_from_last_uid(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 50\nX-UID: 1\n", "1")
	                   MSG(FROM_B, "X-UID: 2\n", "2"));
	assert_int_equal(mb.uidnext, 51);
	mbx_mailbox_free(&mb);
}

/* 5.5, DESIGN.md: after a reset, messages with and without X-UID all get UIDs above
 * last-UID in file order, so no UID is reused. */
static void reset_never_reuses_uids(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, MSG(FROM_A, "X-IMAPbase: 1000 30\nX-UID: 10\n", "1")
	                   MSG(FROM_B, "X-UID: 20\n", "2") MSG(FROM_C, "X-UID: 15\n", "3")
	                       MSG(FROM_D, "X-UID: 40\n", "4") MSG(FROM_E, "X-UID: 50\n", "5"));
	static const uint32_t uids[] = {10, 20, 31, 32, 33};
	assert_uids(&mb, uids, 5);
	assert_int_equal(mb.rule, MBX_RULE_METADATA);
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.uidnext, 34);
	mbx_mailbox_free(&mb);
}

/* Compares what an append parse and a full parse made of the same bytes. */
static void assert_same_mailbox(const struct mbx_mailbox *a, const struct mbx_mailbox *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->rule, b->rule);
	assert_int_equal(a->uidvalidity, b->uidvalidity);
	assert_int_equal(a->uidnext, b->uidnext);
	assert_int_equal(a->parsed_size, b->parsed_size);
	assert_int_equal(a->nmsgs, b->nmsgs);
	for (size_t i = 0; i < a->nmsgs; i++) {
		const struct mbx_message *x = &a->msgs[i], *y = &b->msgs[i];
		if (x->uid != y->uid || x->offset != y->offset || x->raw_len != y->raw_len ||
		    x->size != y->size || x->hash != y->hash || x->flags != y->flags ||
		    x->keywords != y->keywords || x->date != y->date || x->ncuts != y->ncuts)
			fail_msg("message %zu differs: uid %u/%u offset %llu/%llu size %u/%u",
			         i + 1, x->uid, y->uid, (unsigned long long)x->offset,
			         (unsigned long long)y->offset, x->size, y->size);
	}
	for (int k = 0; k < MBX_MAX_KEYWORDS; k++) {
		assert_int_equal(a->keywords[k] == NULL, b->keywords[k] == NULL);
		if (a->keywords[k])
			assert_string_equal(a->keywords[k], b->keywords[k]);
	}
}

/* Parses old, appends to grow into old+tail, and compares with a full parse. */
static void check_append(const char *old, const char *tail)
{
	size_t olen = strlen(old), tlen = strlen(tail);
	char *all = malloc(olen + tlen + 1);
	assert_non_null(all);
	memcpy(all, old, olen);
	memcpy(all + olen, tail, tlen + 1);
	struct mbx_mailbox inc, full;
	parse_buf(&inc, all, olen);
	assert_int_equal(mbx_parse_append(&inc, all, olen + tlen, 1000), 1);
	parse_buf(&full, all, olen + tlen);
	assert_same_mailbox(&inc, &full);
	mbx_mailbox_free(&inc);
	mbx_mailbox_free(&full);
	free(all);
}

/* 1.1, 5.1: an append parse continues where the old parse stopped (previous UID =
 * last known message's) and gives what a full parse gives. */
static void append_equals_full_parse(void **state)
{
	(void)state;
	/* no metadata */
	check_append(MSG(FROM_A, "", "1") MSG(FROM_B, "Status: RO\n", "2"),
	             MSG(FROM_C, "X-Status: F\n", "3") MSG(FROM_D, "", "4"));
	/* exact, new messages with and without X-UID, keywords */
	check_append(MSG(FROM_A, "X-IMAPbase: 1000 3 Junk\nX-UID: 1\n", "1")
	                 MSG(FROM_B, "X-UID: 3\n", "2"),
	             MSG(FROM_C, "X-Keywords: junk\n", "3") MSG(FROM_D, "X-UID: 77\n", "4")
	                 MSG(FROM_E, "", "5"));
	/* appended X-UID not above the previous one: reset in the appended part */
	check_append(MSG(FROM_A, "X-IMAPbase: 1000 3\nX-UID: 2\n", "1"),
	             MSG(FROM_B, "X-UID: 2\n", "2") MSG(FROM_C, "X-UID: 9\n", "3"));
	/* already reset before the append: later X-UIDs stay ignored */
	check_append(MSG(FROM_A, "X-IMAPbase: 1000 10\nX-UID: 5\n", "1")
	                 MSG(FROM_B, "X-UID: 3\n", "2"),
	             MSG(FROM_C, "X-UID: 50\n", "3"));
	/* pseudo message first */
	check_append(MSG(FROM_A, "X-IMAP: 1000 4\n", "0") MSG(FROM_B, "X-UID: 4\n", "1"),
	             MSG(FROM_C, "", "2"));
	/* old file ends without the separator line; CRLF tail */
	check_append(FROM_A "Subject: 1\n\nbody\n",
	             FROM_B "Subject: 2\r\n\r\nbody\r\n\r\n" FROM_C "Subject: 3\r\n\r\nx\r\n");
}

/* 1.1, 2.1: the old file ended inside a header region (no empty line yet). A full parse
 * sees the next From_ line as a header line, so an append parse must not split there
 * (or must decline with 0 so the caller parses from scratch). */
static void append_after_header_only_message(void **state)
{
	(void)state;
	const char *old = MSG(FROM_A, "", "1") FROM_B "Subject: 2\nX-Other: no body\n";
	const char *tail = FROM_C "Subject: 3\n\nbody 3\n";
	size_t olen = strlen(old), tlen = strlen(tail);
	char all[1024];
	memcpy(all, old, olen);
	memcpy(all + olen, tail, tlen + 1);
	struct mbx_mailbox inc, full;
	parse_buf(&full, all, olen + tlen);
	assert_int_equal(full.nmsgs, 2); /* the third From_ line is a header line */
	parse_buf(&inc, all, olen);
	int r = mbx_parse_append(&inc, all, olen + tlen, 1000);
	assert_true(r == 0 || r == 1);
	if (r == 1 && inc.nmsgs != full.nmsgs)
		fail_msg("append parse split at a From_ line of the header region: %zu messages, "
		         "a full parse %zu",
		         inc.nmsgs, full.nmsgs);
	if (r == 1)
		assert_same_mailbox(&inc, &full);
	mbx_mailbox_free(&inc);
	mbx_mailbox_free(&full);
}

/* mbox.h: 0 when the new data does not start with a From_ line right at the old end. */
static void append_declines_non_from_start(void **state)
{
	(void)state;
	const char *old = MSG(FROM_A, "", "1");
	static const char *const tails[] = {
	    "more body text\n" FROM_B "Subject: 2\n\nx\n", /* text continues the last message */
	    "\n" FROM_B "Subject: 2\n\nx\n",               /* white space first */
	    "  " FROM_B "Subject: 2\n\nx\n",
	    "From user Wed Dec 2 05:53:22 1992\nSubject: 2\n\nx\n", /* not a valid From_ line */
	};
	for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++) {
		size_t olen = strlen(old), tlen = strlen(tails[i]);
		char all[1024];
		memcpy(all, old, olen);
		memcpy(all + olen, tails[i], tlen + 1);
		struct mbx_mailbox inc;
		parse_buf(&inc, all, olen);
		if (mbx_parse_append(&inc, all, olen + tlen, 1000) != 0)
			fail_msg("tail %zu accepted as an append", i);
		mbx_mailbox_free(&inc);
	}
	/* the old data ended without LF: the next line is not at a line start */
	const char *noeol = FROM_A "Subject: 1\n\nbody";
	char all[1024];
	snprintf(all, sizeof all, "%s%s", noeol, FROM_B "Subject: 2\n\nx\n");
	struct mbx_mailbox inc;
	parse_buf(&inc, all, strlen(noeol));
	assert_int_equal(mbx_parse_append(&inc, all, strlen(all), 1000), 0);
	mbx_mailbox_free(&inc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(no_metadata),
	    cmocka_unit_test(no_metadata_x_uid_ignored),
	    cmocka_unit_test(exact_x_uids),
	    cmocka_unit_test(example_bad_x_uid),
	    cmocka_unit_test(example_missing_then_lower),
	    cmocka_unit_test(example_appended_without_x_uid),
	    cmocka_unit_test(example_appended_x_uid_77),
	    cmocka_unit_test(x_uid_before_x_imapbase),
	    cmocka_unit_test(duplicate_x_uid_in_message),
	    cmocka_unit_test(equal_x_uid_resets),
	    cmocka_unit_test(x_uid_value_leading_digits),
	    cmocka_unit_test(x_uid_zero_in_first_message),
	    cmocka_unit_test(x_uid_wrong_case_ignored),
	    cmocka_unit_test(pseudo_message_x_uid_ignored),
	    cmocka_unit_test(x_uid_raises_last_uid),
	    cmocka_unit_test(uidnext_from_last_uid),
	    cmocka_unit_test(reset_never_reuses_uids),
	    cmocka_unit_test(append_equals_full_parse),
	    cmocka_unit_test(append_after_header_only_message),
	    cmocka_unit_test(append_declines_non_from_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
