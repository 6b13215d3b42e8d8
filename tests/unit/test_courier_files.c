/* test_courier_files.c — Courier control files (courier_files.h;
 * reference/courier-imap-maildir.md 1.1, 1.4, 4 and 5). */
#include "unit.h"

#include "courier_files.h"
#include "name.h"

#include <stdio.h>

/* Two messages, UIDs 3 and 5, keywords declared $Label1 Junk NonJunk; the
 * first has NonJunk, the second $Label1 and NonJunk. */
static const char mbox[] = "From a@b Wed Dec  2 05:53:22 1992 +0000\n"
                           "X-IMAPbase: 1000 5 $Label1 Junk NonJunk\n"
                           "X-Keywords: NonJunk\n"
                           "X-UID: 3\n"
                           "\n"
                           "one\n"
                           "\n"
                           "From a@b Wed Dec  2 05:53:23 1992 +0000\n"
                           "X-Keywords: nonjunk $label1\n"
                           "X-UID: 5\n"
                           "\n"
                           "two\n";

static void key_of(const struct mbx_mailbox *mb, size_t i, int pop3, char *key)
{
	mbx_message_key(mb->uidvalidity, &mb->msgs[i], pop3, key);
}

/* 1.1: "1 <uidvalidity> <nextuid>", then "<uid> <key>"; 1.4: key = name up to
 * the last ':'. nextuid: c-client's UIDNEXT (6 here) plus the margin left for
 * the old server's late mail (courier_files.h; 1.3 step 7: Courier numbers
 * its own messages from nextuid on, trusting it blindly). */
static void uiddb_lines(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	char key0[MBX_NAME_MAX], key1[MBX_NAME_MAX], expect[512];
	size_t len;
	parse_str(&mb, mbox);
	for (int pop3 = 0; pop3 <= 1; pop3++) {
		key_of(&mb, 0, pop3, key0);
		key_of(&mb, 1, pop3, key1);
		assert_null(strchr(key0, ':'));
		snprintf(expect, sizeof expect, "1 1000 %u\n3 %s\n5 %s\n", 6 + MBX_LATE_UID_MARGIN,
		         key0, key1);
		char *db = mbx_courier_uiddb(&mb, pop3, &len);
		assert_non_null(db);
		assert_int_equal(len, strlen(expect));
		assert_memory_equal(db, expect, len);
		free(db);
	}
	mbx_mailbox_free(&mb);
}

/* 4: the keywords in use, a blank line, then "<key>:<i> <j>" with indexes into
 * the list above */
static void kwlist_lines(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	char key0[MBX_NAME_MAX], key1[MBX_NAME_MAX], expect[512];
	size_t len;
	parse_str(&mb, mbox);
	key_of(&mb, 0, 0, key0);
	key_of(&mb, 1, 0, key1);
	/* Junk is declared but unused: not listed; NonJunk is then index 1 */
	snprintf(expect, sizeof expect, "$Label1\nNonJunk\n\n%s:1\n%s:0 1\n", key0, key1);
	char *list = mbx_courier_kwlist(&mb, 0, &len);
	assert_non_null(list);
	assert_int_equal(len, strlen(expect));
	assert_memory_equal(list, expect, len);
	free(list);
	mbx_mailbox_free(&mb);
}

/* 4: "When no message has keywords, :list is unlinked": no file at all */
static void kwlist_absent_without_keywords(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	size_t len = 99;
	parse_str(&mb, "From a@b Wed Dec  2 05:53:22 1992\nX-IMAPbase: 1 1 kw\n\nx\n");
	assert_null(mbx_courier_kwlist(&mb, 0, &len));
	assert_int_equal(len, 0);
	mbx_mailbox_free(&mb);
}

/* 5: one full IMAP name per line in UTF-8; uw 8: ~/.mailboxlist names are
 * relative to home, INBOX canonical */
static void subscriptions_converted(void **state)
{
	(void)state;
	static const char list[] = "mail/sent-mail\ninbox\nmail/R&AOk-sum&AOk-\nother/x\n"
	                           "mail/a/b\nmail/\n";
	size_t len;
	char *s = mbx_courier_subscriptions(list, sizeof list - 1, "mail/", &len);
	static const char expect[] =
	    "INBOX.sent-mail\nINBOX\nINBOX.R\xc3\xa9sum\xc3\xa9\nINBOX.a.b\n";
	assert_int_equal(len, sizeof expect - 1);
	assert_memory_equal(s, expect, len);
	free(s);
	s = mbx_courier_subscriptions(list, sizeof list - 1, "", &len);
	static const char all[] = "INBOX.mail.sent-mail\nINBOX\nINBOX.mail.R\xc3\xa9sum\xc3\xa9\n"
	                          "INBOX.other.x\nINBOX.mail.a.b\n";
	assert_int_equal(len, sizeof all - 1);
	assert_memory_equal(s, all, len);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(uiddb_lines),
	    cmocka_unit_test(kwlist_lines),
	    cmocka_unit_test(kwlist_absent_without_keywords),
	    cmocka_unit_test(subscriptions_converted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
