/* test_metadata.c — the pseudo message, X-IMAP/X-IMAPbase (reference 3.1) and
 * keywords (reference 6), through mbx_parse on buffers. */
#include "unit.h"

#include <stdio.h>

#define FROM_A "From a@example.org Wed Dec  2 05:53:22 1992\n"
#define FROM_B "From b@example.org Thu Dec  3 06:00:00 1992\n"
#define FROM_C "From c@example.org Fri Dec  4 07:00:00 1992\n"

#define PSEUDO(xheader)                                                                            \
	"From MAILER-DAEMON Wed Dec  2 05:53:22 1992\n"                                            \
	"Date: Wed, 02 Dec 1992 05:53:22 +0000\n"                                                  \
	"From: Mail System Internal Data <MAILER-DAEMON@host>\n"                                   \
	"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n" xheader "Status: RO\n"      \
	"\n"                                                                                       \
	"This text is part of the internal format of your mail folder, and is not\n"               \
	"a real message.  It is created automatically by the mail system software.\n"              \
	"If deleted, important folder data will be lost, and it will be re-created\n"              \
	"with the data reset to initial values.\n"                                                 \
	"\n"

/* 3.1: an accepted X-IMAP in message 1 makes it the pseudo message: hidden, no UID,
 * and its UIDVALIDITY, last UID and keywords are taken. */
static void pseudo_message(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = PSEUDO("X-IMAP: 1234567890 0000000005 Junk $Label1\n") FROM_A
	    "Subject: real\nX-UID: 3\n\nbody\n" FROM_B "Subject: two\n\nx\n";
	parse_str(&mb, s);
	assert_int_equal(mb.kind, MBX_KIND_UNIX);
	assert_int_equal(mb.nmsgs, 2);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidvalidity, 1234567890);
	assert_int_equal(mb.msgs[0].uid, 3);
	assert_int_equal(mb.msgs[1].uid, 6); /* 5.6: ++last-UID */
	assert_int_equal(mb.uidnext, 7);
	assert_string_equal(mb.keywords[0], "Junk");
	assert_string_equal(mb.keywords[1], "$Label1");
	assert_null(mb.keywords[2]);
	assert_served(&mb, 0, s, "Subject: real\n\nbody\n");
	mbx_mailbox_free(&mb);
}

/* 3.1: subject and body are irrelevant: a real-looking message with X-IMAP first is
 * hidden too. */
static void pseudo_message_any_content(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s =
	    FROM_A "Subject: hello\nX-IMAP: 77 0\n\nreal text\n" FROM_B "Subject: 2\n\nx\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 1);
	assert_int_equal(mb.uidvalidity, 77);
	assert_int_equal(mb.msgs[0].uid, 1);
	assert_served(&mb, 0, s, "Subject: 2\n\nx\n");
	mbx_mailbox_free(&mb);
}

/* 3.1: a file holding only the pseudo message has no messages but keeps the values. */
static void pseudo_message_alone(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, PSEUDO("X-IMAP: 1000 0000000042\n"));
	assert_int_equal(mb.kind, MBX_KIND_UNIX);
	assert_int_equal(mb.nmsgs, 0);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.uidnext, 43);
	mbx_mailbox_free(&mb);
}

/* 3.1: UIDVALIDITY 0 is not accepted ("X-IMAP: 0 ..." is ignored). */
static void x_imap_zero_ignored(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = PSEUDO("X-IMAP: 0 5 Junk\n") FROM_A "Subject: 2\n\nx\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2); /* the would-be pseudo message is shown */
	assert_int_equal(mb.rule, MBX_RULE_ANY_STABLE);
	assert_int_equal(mb.uidvalidity, 0);
	assert_int_equal(mb.msgs[0].uid, 1);
	assert_int_equal(mb.msgs[1].uid, 2);
	assert_null(mb.keywords[0]);
	mbx_mailbox_free(&mb);
}

/* 3.1: both numbers are required. */
static void x_imap_one_number_ignored(void **state)
{
	(void)state;
	static const char *const headers[] = {
	    "X-IMAP: 1000\n",     "X-IMAP: 1000 \n", "X-IMAP: 1000 Junk\n",
	    "X-IMAPbase: 1000\n", "X-IMAP:\n",
	};
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
		char text[512];
		struct mbx_mailbox mb;
		snprintf(text, sizeof text, FROM_A "%sSubject: 1\n\nx\n" FROM_B "Subject: 2\n\ny\n",
		         headers[i]);
		parse_str(&mb, text);
		if (mb.nmsgs != 2 || mb.rule != MBX_RULE_ANY_STABLE)
			fail_msg("%s: %zu messages, rule %s", headers[i], mb.nmsgs,
			         mbx_rule_name(mb.rule));
		assert_int_equal(mb.uidvalidity, 0);
		assert_served(&mb, 0, text, "Subject: 1\n\nx\n");
		mbx_mailbox_free(&mb);
	}
}

/* 3.1: last-UID may be 0. */
static void x_imap_last_uid_zero(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, FROM_A "X-IMAPbase: 555 0\n\nx\n");
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidvalidity, 555);
	assert_int_equal(mb.msgs[0].uid, 1);
	assert_int_equal(mb.uidnext, 2);
	mbx_mailbox_free(&mb);
}

/* 3.1: X-IMAPbase sets the same values but the message stays visible. */
static void x_imapbase_keeps_message(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = FROM_A "Subject: 1\nX-IMAPbase: 1795886874 9 Junk\nX-UID: 7\n\nx\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 1);
	assert_int_equal(mb.rule, MBX_RULE_EXACT);
	assert_int_equal(mb.uidvalidity, 1795886874);
	assert_int_equal(mb.msgs[0].uid, 7);
	assert_int_equal(mb.uidnext, 10);
	assert_string_equal(mb.keywords[0], "Junk");
	assert_served(&mb, 0, s, "Subject: 1\n\nx\n");
	mbx_mailbox_free(&mb);
}

/* 3.1: the header must be spelled exactly; other spellings are hidden but ignored. */
static void wrong_case_x_imap_ignored(void **state)
{
	(void)state;
	static const char *const headers[] = {"X-imap: 1000 5\n", "x-IMAP: 1000 5\n",
	                                      "X-IMAPBASE: 1000 5\n", "X-IMAP : 1000 5\n"};
	for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
		char text[512];
		struct mbx_mailbox mb;
		snprintf(text, sizeof text, FROM_A "%sSubject: 1\n\nx\n", headers[i]);
		parse_str(&mb, text);
		if (mb.nmsgs != 1 || mb.rule != MBX_RULE_ANY_STABLE)
			fail_msg("%s: %zu messages, rule %s", headers[i], mb.nmsgs,
			         mbx_rule_name(mb.rule));
		assert_int_equal(mb.msgs[0].uid, 1);
		assert_served(&mb, 0, text, "Subject: 1\n\nx\n");
		mbx_mailbox_free(&mb);
	}
}

/* 3.1: only the first message can carry metadata; later ones are hidden and ignored. */
static void metadata_in_later_message_ignored(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s =
	    FROM_A "Subject: 1\n\nx\n" FROM_B "X-IMAP: 1000 50 Junk\nSubject: 2\n\ny\n" FROM_C
	           "X-IMAPbase: 2000 60\nSubject: 3\n\nz\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 3);
	assert_int_equal(mb.rule, MBX_RULE_ANY_STABLE);
	assert_int_equal(mb.uidvalidity, 0);
	assert_int_equal(mb.msgs[1].uid, 2);
	assert_int_equal(mb.msgs[2].uid, 3);
	assert_int_equal(mb.uidnext, 4);
	assert_null(mb.keywords[0]);
	assert_served(&mb, 1, s, "Subject: 2\n\ny\n");
	assert_served(&mb, 2, s, "Subject: 3\n\nz\n");
	mbx_mailbox_free(&mb);
}

/* 3.1: only the first accepted header of message 1 is used. */
static void first_accepted_header_wins(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, FROM_A "X-IMAPbase: 1000 5 One\nX-IMAPbase: 2000 9 Two\nX-UID: 2\n\nx\n");
	assert_int_equal(mb.uidvalidity, 1000);
	assert_int_equal(mb.uidnext, 6);
	assert_string_equal(mb.keywords[0], "One");
	mbx_mailbox_free(&mb);
}

/* 3.1: the "DON'T DELETE" subject without a valid X-IMAP is a normal message. */
static void dont_delete_subject_without_x_imap_shown(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	const char *s = PSEUDO("") FROM_A "Subject: 2\n\nx\n";
	parse_str(&mb, s);
	assert_int_equal(mb.nmsgs, 2);
	assert_int_equal(mb.msgs[0].uid, 1);
	assert_int_equal(mb.rule, MBX_RULE_ANY_STABLE);
	mbx_mailbox_free(&mb);
}

/* Builds "X-IMAPbase: 1000 100 <declared>" + a message with "X-Keywords: <kws>". */
static void parse_keywords(struct mbx_mailbox *mb, char *text, size_t cap, const char *declared,
                           const char *kws)
{
	snprintf(text, cap,
	         FROM_A "X-IMAPbase: 1000 100 %s\nSubject: 1\n\nx\n" FROM_B
	                "X-Keywords: %s\nSubject: 2\n\ny\n",
	         declared, kws);
	parse_str(mb, text);
	assert_int_equal(mb->nmsgs, 2);
	assert_int_equal(mb->uidvalidity, 1000);
}

/* 6: the declared list, slot i = position i. */
static void keywords_declared_list(void **state)
{
	(void)state;
	char text[1024];
	struct mbx_mailbox mb;
	parse_keywords(&mb, text, sizeof text, "Junk NonJunk $Label1 $Forwarded", "$Label1 Junk");
	assert_string_equal(mb.keywords[0], "Junk");
	assert_string_equal(mb.keywords[1], "NonJunk");
	assert_string_equal(mb.keywords[2], "$Label1");
	assert_string_equal(mb.keywords[3], "$Forwarded");
	for (int i = 4; i < MBX_MAX_KEYWORDS; i++)
		assert_null(mb.keywords[i]);
	assert_int_equal(mb.msgs[1].keywords, (1u << 0) | (1u << 2));
	assert_int_equal(mb.msgs[0].keywords, 0);
	assert_served(&mb, 1, text, "Subject: 2\n\ny\n");
	mbx_mailbox_free(&mb);
}

/* 6: at most 30 slots; the 31st declared keyword is dropped. */
static void keywords_max_30(void **state)
{
	(void)state;
	char declared[512] = "", text[2048];
	struct mbx_mailbox mb;
	for (int i = 1; i <= 31; i++) {
		char kw[16];
		snprintf(kw, sizeof kw, "%skw%d", i > 1 ? " " : "", i);
		strcat(declared, kw);
	}
	parse_keywords(&mb, text, sizeof text, declared, "kw31 KW30 kw1");
	assert_string_equal(mb.keywords[29], "kw30");
	assert_int_equal(mb.msgs[1].keywords, (1u << 29) | (1u << 0));
	assert_int_equal(count_anomalies(&mb, MBX_AN_UNDECLARED_KEYWORD), 1); /* kw31 */
	mbx_mailbox_free(&mb);
}

/* 6: a keyword of more than 50 characters leaves its slot empty, and matching stops at
 * the first empty slot (the gap rule); 50 characters are fine. */
static void keywords_too_long_leaves_gap(void **state)
{
	(void)state;
	char declared[256], text[1024];
	char k50[51], k51[52];
	struct mbx_mailbox mb;
	memset(k50, 'a', 50), k50[50] = '\0';
	memset(k51, 'b', 51), k51[51] = '\0';
	snprintf(declared, sizeof declared, "first %s %s after", k50, k51);
	char kws[256];
	snprintf(kws, sizeof kws, "after %s first %s", k50, k51);
	parse_keywords(&mb, text, sizeof text, declared, kws);
	assert_string_equal(mb.keywords[0], "first");
	assert_string_equal(mb.keywords[1], k50);
	assert_null(mb.keywords[2]);
	/* slot 3 holds "after" but is behind the gap: never matched */
	assert_int_equal(mb.msgs[1].keywords, (1u << 0) | (1u << 1));
	mbx_mailbox_free(&mb);
}

/* 6: names match case-insensitively and are served with the declared spelling. */
static void keywords_case_insensitive(void **state)
{
	(void)state;
	char text[1024];
	struct mbx_mailbox mb;
	parse_keywords(&mb, text, sizeof text, "Junk $Label1", "JUNK $label1");
	assert_int_equal(mb.msgs[1].keywords, 3);
	assert_string_equal(mb.keywords[0], "Junk");
	assert_string_equal(mb.keywords[1], "$Label1");
	assert_int_equal(count_anomalies(&mb, MBX_AN_UNDECLARED_KEYWORD), 0);
	mbx_mailbox_free(&mb);
}

/* 6: undeclared names are dropped (and reported). */
static void keywords_undeclared_dropped(void **state)
{
	(void)state;
	char text[1024];
	struct mbx_mailbox mb;
	parse_keywords(&mb, text, sizeof text, "Junk", "Junk undeclared");
	assert_int_equal(mb.msgs[1].keywords, 1);
	assert_int_equal(count_anomalies(&mb, MBX_AN_UNDECLARED_KEYWORD), 1);
	mbx_mailbox_free(&mb);

	/* no declaration at all: everything is undeclared */
	const char *s = FROM_A "X-Keywords: Junk\n\nx\n";
	parse_str(&mb, s);
	assert_int_equal(mb.msgs[0].keywords, 0);
	assert_int_equal(count_anomalies(&mb, MBX_AN_UNDECLARED_KEYWORD), 1);
	mbx_mailbox_free(&mb);
}

/* 6: X-Keywords must be spelled exactly to count (like Status, 4.1). */
static void keywords_wrong_case_header_ignored(void **state)
{
	(void)state;
	char text[1024];
	struct mbx_mailbox mb;
	snprintf(text, sizeof text,
	         FROM_A "X-IMAPbase: 1000 100 Junk\n\nx\n" FROM_B "x-keywords: Junk\n\ny\n");
	parse_str(&mb, text);
	assert_int_equal(mb.msgs[1].keywords, 0);
	assert_served(&mb, 1, text, "\ny\n");
	mbx_mailbox_free(&mb);
}

/* 6: keywords declared by the pseudo message's X-IMAP apply to later messages. */
static void keywords_from_pseudo_message(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, PSEUDO("X-IMAP: 1000 0000000000 Junk NonJunk\n") FROM_A
	          "X-Keywords: NonJunk\n\nx\n");
	assert_int_equal(mb.nmsgs, 1);
	assert_int_equal(mb.msgs[0].keywords, 2);
	mbx_mailbox_free(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pseudo_message),
	    cmocka_unit_test(pseudo_message_any_content),
	    cmocka_unit_test(pseudo_message_alone),
	    cmocka_unit_test(x_imap_zero_ignored),
	    cmocka_unit_test(x_imap_one_number_ignored),
	    cmocka_unit_test(x_imap_last_uid_zero),
	    cmocka_unit_test(x_imapbase_keeps_message),
	    cmocka_unit_test(wrong_case_x_imap_ignored),
	    cmocka_unit_test(metadata_in_later_message_ignored),
	    cmocka_unit_test(first_accepted_header_wins),
	    cmocka_unit_test(dont_delete_subject_without_x_imap_shown),
	    cmocka_unit_test(keywords_declared_list),
	    cmocka_unit_test(keywords_max_30),
	    cmocka_unit_test(keywords_too_long_leaves_gap),
	    cmocka_unit_test(keywords_case_insensitive),
	    cmocka_unit_test(keywords_undeclared_dropped),
	    cmocka_unit_test(keywords_wrong_case_header_ignored),
	    cmocka_unit_test(keywords_from_pseudo_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
