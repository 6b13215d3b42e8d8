/* test_folder_name.c — UW folder names to Courier folder names (folder_name.h;
 * reference/courier-imap-maildir.md section 5, reference/uw-imap-mbox.md 8). */
#include "unit.h"

#include "folder_name.h"

static void assert_name(const char *uw, const char *courier)
{
	char out[256];
	int n = mbx_folder_name(uw, out, sizeof out);
	assert_int_equal(n, (int)strlen(courier));
	assert_string_equal(out, courier);
}

/* courier 5: "INBOX.R&AOk-sum&AOk-" is stored as ".Résumé" (UTF-8 on disk) */
static void mutf7_decoded_to_utf8(void **state)
{
	(void)state;
	assert_name("R&AOk-sum&AOk-", "R\xc3\xa9sum\xc3\xa9");
	assert_name("&ZeVnLIqe-", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"); /* RFC 3501 example */
	assert_name("&-", "&");
	assert_name("a&-b", "a&b");
}

/* uw 8: '/' is UW's hierarchy; courier 5: '.' is Courier's */
static void hierarchy_becomes_dots(void **state)
{
	(void)state;
	assert_name("mail/sent-mail", "mail.sent-mail");
	assert_name("Archive/2019/Q1", "Archive.2019.Q1");
}

/* courier 5: '.' is the separator, so a '.' inside a UW name is escaped */
static void dot_and_percent_escaped(void **state)
{
	(void)state;
	assert_name("lists.debian", "lists%2Edebian");
	assert_name("100%", "100%25");
	assert_name("tab\there", "tab%09here");
}

/* uw 8: files created by other means may have any bytes; courier 5: a name
 * that is not UTF-8 kills LIST. Raw bytes are escaped, '&' included. */
static void invalid_mutf7_keeps_escaped_bytes(void **state)
{
	(void)state;
	assert_name("R\xe9sum\xe9", "R%E9sum%E9");
	assert_name("A&B", "A%26B");     /* '&' sequence not closed by '-' */
	assert_name("x&AOk", "x%26AOk"); /* ditto */
	assert_name("&2D0-", "%262D0-"); /* a lone high surrogate */
	assert_int_equal(mbx_mutf7_valid("A&B"), 0);
	assert_int_equal(mbx_mutf7_valid("R&AOk-sum&AOk-"), 1);
	assert_int_equal(mbx_mutf7_valid("R\xc3\xa9sum\xc3\xa9"), 0);
}

/* folder_name.h: distinct UW names never give one Courier name */
static void escapes_never_collide(void **state)
{
	(void)state;
	static const char *const names[] = {
	    "R&AOk-sum&AOk-", "R\xc3\xa9sum\xc3\xa9", "a.b", "a/b", "a%2Eb", "a&-b", "a&b", "a%26b",
	    "A&B", "a b", "a%20b",
	    /* non-canonical modified UTF-7 spells another name's decoding
	     * (found by tests/fuzz/fuzz_folder_name.c) */
	    "a", "&AGE-",               /* base64 for "a" */
	    "&ACY-",                    /* base64 for "&", whose spelling is "&-" */
	    "R&AOkA6Q-", "R&AOk-&AOk-", /* one run written as two */
	};
	char out[sizeof names / sizeof names[0]][256];
	size_t n = sizeof names / sizeof names[0];
	for (size_t i = 0; i < n; i++)
		assert_true(mbx_folder_name(names[i], out[i], sizeof out[i]) > 0);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(out[i], out[j]))
				fail_msg("%s and %s both give %s", names[i], names[j], out[i]);
}

/* folder_name.h: only canonical modified UTF-7 is decoded */
static void non_canonical_mutf7_escaped(void **state)
{
	(void)state;
	assert_name("x&AGE-", "x%26AGE-");
	assert_name("R&AOk-&AOk-", "R%26AOk-%26AOk-");
	assert_name("R&AOk-&-", "R\xc3\xa9&"); /* "&-" after a run is canonical */
	assert_name("a-&AOk-", "a-\xc3\xa9");  /* a plain '-' before a run */
	assert_int_equal(mbx_mutf7_valid("&AGE-"), 0);
	assert_int_equal(mbx_mutf7_valid("R&AOkA6Q-"), 1);
}

static void empty_components_refused(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(mbx_folder_name("a//b", out, sizeof out), -1);
	assert_int_equal(mbx_folder_name("a/", out, sizeof out), -1);
	assert_int_equal(mbx_folder_name("", out, sizeof out), -1);
	assert_int_equal(mbx_folder_name("abcdef", out, 4), -1); /* too small */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(mutf7_decoded_to_utf8),
	    cmocka_unit_test(hierarchy_becomes_dots),
	    cmocka_unit_test(dot_and_percent_escaped),
	    cmocka_unit_test(invalid_mutf7_keeps_escaped_bytes),
	    cmocka_unit_test(escapes_never_collide),
	    cmocka_unit_test(non_canonical_mutf7_escaped),
	    cmocka_unit_test(empty_components_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
