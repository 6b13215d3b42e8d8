/* test_anomaly_text.c — anomaly texts are whole sentences (mbox.h: struct
 * mbx_anomaly.text), even with the longest values a file can put in them:
 * `mboxfs index` and `show` print them, and a text cut at the buffer size
 * used to end mid-word. */
#include "unit.h"

#include <stdio.h>

#define FROM_A "From a@example.org Wed Dec  2 05:53:22 1992\n"
#define FROM_B "From b@example.org Thu Dec  3 06:00:00 1992\n"
#define FROM_C "From c@example.org Fri Dec  4 07:00:00 1992\n"

/* Every anomaly of kind in mb (at least one) ends with tail (or tail and one
 * more digit) and was not cut. */
static void assert_whole(const struct mbx_mailbox *mb, enum mbx_anomaly_kind kind, const char *tail)
{
	int found = 0;
	for (size_t i = 0; i < mb->nanomalies; i++) {
		const char *t = mb->anomalies[i].text;
		if (mb->anomalies[i].kind != kind)
			continue;
		found = 1;
		size_t n = strlen(t), k = strlen(tail);
		assert_true(n < sizeof mb->anomalies[i].text - 1);
		/* the tail, then at most one more number */
		if (n < k || !strstr(t + n - k - (n - k < 1 ? 0 : 1), tail))
			fail_msg("anomaly text \"%s\" does not end with \"%s\"", t, tail);
	}
	assert_true(found);
}

/* uw 5.8: every reason c-client resets UIDVALIDITY, with the largest numbers */
static void bad_xuid_texts_whole(void **state)
{
	(void)state;
	static const char *const mboxes[] = {
	    /* an X-UID not above the previous one */
	    FROM_A "X-IMAPbase: 4294967295 4294967290\nX-UID: 4294967295\n\nx\n" FROM_B
	           "X-UID: 4294967295\n\ny\n",
	    /* an X-UID above 2^32-1 */
	    FROM_A "X-IMAPbase: 4294967295 4294967290\nX-UID: 4294967295\n\nx\n" FROM_B
	           "X-UID: 99999999999999999999999\n\ny\n",
	    /* a second X-UID */
	    FROM_A "X-IMAPbase: 4294967295 4294967290\nX-UID: 4294967290\n\nx\n" FROM_B
	           "X-UID: 4294967291\nX-UID: 4294967292\n\ny\n",
	};
	for (size_t i = 0; i < sizeof mboxes / sizeof mboxes[0]; i++) {
		struct mbx_mailbox mb;
		parse_str(&mb, mboxes[i]);
		assert_whole(&mb, MBX_AN_BAD_XUID, "new UIDs above 429496729");
		mbx_mailbox_free(&mb);
	}
}

/* uw 6: an undeclared keyword as long as a keyword can be */
static void undeclared_keyword_text_whole(void **state)
{
	(void)state;
	char text[1024], name[MBX_MAX_KEYWORD_LEN + 1];
	memset(name, 'K', MBX_MAX_KEYWORD_LEN);
	name[MBX_MAX_KEYWORD_LEN] = '\0';
	struct mbx_mailbox mb;
	snprintf(text, sizeof text,
	         FROM_A "X-IMAPbase: 1000 100 Junk\n\nx\n" FROM_B "X-Keywords: %s\n\ny\n", name);
	parse_str(&mb, text);
	assert_whole(&mb, MBX_AN_UNDECLARED_KEYWORD, "dropped");
	mbx_mailbox_free(&mb);
}

/* uw 1.1: not a Unix mailbox */
static void not_mailbox_text_whole(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, "Hello, this is not an mbox\n");
	assert_whole(&mb, MBX_AN_NOT_MAILBOX, "one message)");
	mbx_mailbox_free(&mb);
}

/* uw 2.5: an internal header in the wrong case, with a long name */
static void bogus_header_text_whole(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	parse_str(&mb, FROM_A "X-KEYWORDSXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX: a\n"
	                      "STATUS: RO\n\nx\n");
	assert_whole(&mb, MBX_AN_BOGUS_HEADER, "hidden and ignored");
	mbx_mailbox_free(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bad_xuid_texts_whole),
	    cmocka_unit_test(undeclared_keyword_text_whole),
	    cmocka_unit_test(not_mailbox_text_whole),
	    cmocka_unit_test(bogus_header_text_whole),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
