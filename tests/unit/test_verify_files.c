/* test_verify_files.c — `mboxfs verify`'s reading of Courier's files
 * (fs/verify_files.h): names, courierimapuiddb, courierimapkeywords/:list and
 * update files, courierpop3dsizelist, courierimapsubscribed, parsed as
 * reference/courier-imap-maildir.md sections 1, 2, 4 and 7 say Courier reads
 * them, and compared with what index/courier_files.c generates for a parsed
 * mbox, allowing what Courier does on its own and naming everything else. */
#include "unit.h"

#include "courier_files.h"
#include "name.h"
#include "verify_files.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Two messages, UIDs 3 and 5 (UIDNEXT 6), keywords declared $Label1 Junk
 * NonJunk; the first has NonJunk, the second $Label1 and NonJunk. */
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
                           "Status: RO\n"
                           "\n"
                           "two\n";

/* What a comparison reported: how many, and all of it joined by '|'. */
struct reports {
	int n;
	char text[4096];
};

static void collect(void *arg, const char *problem)
{
	struct reports *r = arg;
	size_t used = strlen(r->text);
	snprintf(r->text + used, sizeof r->text - used, "%s%s", r->n++ ? "|" : "", problem);
}

static void key_of(const struct mbx_mailbox *mb, size_t i, int pop3, char *key)
{
	mbx_message_key(mb->uidvalidity, &mb->msgs[i], pop3, key);
}

/* The keys of the parsed messages, as the set of messages that are there. */
static void all_keys(const struct mbx_mailbox *mb, int pop3, struct vf_set *keys)
{
	char key[MBX_NAME_MAX];
	for (size_t i = 0; i < mb->nmsgs; i++) {
		key_of(mb, i, pop3, key);
		assert_int_equal(vf_set_add(keys, key, strlen(key)), 0);
	}
	vf_set_sort(keys);
}

/* 1.4: the key is the name up to the last ':'; 2.2: flags are the letters
 * after ":2,", in any order (pop3d's RETR writes ":2,TS"), unknown letters
 * and other info parts give none. */
static void names(void **state)
{
	(void)state;
	assert_int_equal(vf_key_len("1650000001.M4P4.host:2,S"), strlen("1650000001.M4P4.host"));
	assert_int_equal(vf_key_len("a:b:2,S"), 3);
	assert_int_equal(vf_key_len("1650000001.M4P4.host"), strlen("1650000001.M4P4.host"));
	assert_int_equal(vf_name_flags("x:2,FS"), MBX_FLAGGED | MBX_SEEN);
	assert_int_equal(vf_name_flags("x:2,TS"), MBX_DELETED | MBX_SEEN);
	assert_int_equal(vf_name_flags("x:2,DFRST"),
	                 MBX_DRAFT | MBX_FLAGGED | MBX_ANSWERED | MBX_SEEN | MBX_DELETED);
	assert_int_equal(vf_name_flags("x:2,P"), 0);
	assert_int_equal(vf_name_flags("x:1,foo"), 0);
	assert_int_equal(vf_name_flags("x"), 0);
}

/* Both name forms of name.h carry the UID under their UIDVALIDITY only;
 * Courier's own names carry none. */
static void name_uids(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	char name[MBX_NAME_MAX];
	parse_str(&mb, mbox);
	for (int pop3 = 0; pop3 <= 1; pop3++)
		for (size_t i = 0; i < mb.nmsgs; i++) {
			mbx_message_name(mb.uidvalidity, &mb.msgs[i], pop3, name);
			assert_int_equal(vf_name_uid(name, mb.uidvalidity), mb.msgs[i].uid);
			assert_int_equal(vf_name_uid(name, mb.uidvalidity + 1), 0);
			name[vf_key_len(name)] = '\0';
			assert_int_equal(vf_name_uid(name, mb.uidvalidity), mb.msgs[i].uid);
			strcat(name, "x"); /* no longer the form */
			assert_int_equal(vf_name_uid(name, mb.uidvalidity), 0);
		}
	assert_int_equal(vf_name_uid("1700000000.M1P1.host:2,S", 1), 0);
	assert_int_equal(vf_name_uid("1650000001.M4P4.host", 4), 0);
	mbx_mailbox_free(&mb);
}

/* 1.1, 1.2: the example after a first SELECT; a version other than 1 is no
 * database; lines without a space or a number are skipped; a '\r' belongs to
 * the key. */
static void uiddb_parse(void **state)
{
	(void)state;
	static const char example[] = "1 795886679 5\n"
	                              "1 1600000000.M2P2.host,S=40\n"
	                              "2 1650000000.M3P3.host\n"
	                              "3 1650000001.M4P4.host\n"
	                              "4 1700000000.M1P1.host\n"
	                              "nonsense\n"
	                              "x 1700000001.M1P1.host\n"
	                              "9 1700000002.M1P1.host\r\n";
	struct vf_uiddb db;
	assert_int_equal(vf_uiddb_parse(example, strlen(example), &db), 0);
	assert_true(db.valid);
	assert_int_equal(db.uidvalidity, 795886679);
	assert_int_equal(db.nextuid, 5);
	assert_int_equal(db.n, 5);
	assert_int_equal(vf_uiddb_find(&db, "1650000001.M4P4.host")->uid, 3);
	assert_int_equal(vf_uiddb_find(&db, "1600000000.M2P2.host,S=40")->uid, 1);
	assert_null(vf_uiddb_find(&db, "1700000001.M1P1.host"));
	assert_null(vf_uiddb_find(&db, "1700000002.M1P1.host"));
	assert_int_equal(vf_uiddb_find(&db, "1700000002.M1P1.host\r")->uid, 9);
	vf_uiddb_free(&db);
	static const char v2[] = "2 795886679 5\n1 1600000000.M2P2.host,S=40\n";
	assert_int_equal(vf_uiddb_parse(v2, strlen(v2), &db), 0);
	assert_false(db.valid);
	vf_uiddb_free(&db);
}

/* Compares text as Courier's database with the generated one. */
static struct reports uiddb_against(const struct mbx_mailbox *mb, const char *text)
{
	struct reports r = {0};
	struct vf_uiddb expected, actual;
	struct vf_set present = {0};
	size_t len;
	char *want = mbx_courier_uiddb(mb, 0, &len);
	all_keys(mb, 0, &present);
	assert_int_equal(vf_uiddb_parse(want, len, &expected), 0);
	assert_int_equal(vf_uiddb_parse(text, strlen(text), &actual), 0);
	vf_uiddb_compare(&expected, &actual, &present, collect, &r);
	vf_uiddb_free(&expected);
	vf_uiddb_free(&actual);
	vf_set_free(&present);
	free(want);
	return r;
}

static void uiddb_compare(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	char k3[MBX_NAME_MAX], k5[MBX_NAME_MAX], text[1024];
	parse_str(&mb, mbox);
	key_of(&mb, 0, 0, k3);
	key_of(&mb, 1, 0, k5);
	uint32_t v = mb.uidvalidity, next = mb.uidnext + MBX_LATE_UID_MARGIN; /* courier_files.h */
	struct reports r;

	/* Courier's rewrite after new mail: other order, a new line at nextuid */
	snprintf(text, sizeof text, "1 %u %u\n5 %s\n3 %s\n%u 1795000000.M1P1.mx\n", v, next + 1, k5,
	         k3, next);
	r = uiddb_against(&mb, text);
	assert_int_equal(r.n, 0);

	snprintf(text, sizeof text, "1 %u %u\n3 %s\n5 %s\n", v + 1, next, k3, k5);
	r = uiddb_against(&mb, text);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, "UIDVALIDITY"));

	snprintf(text, sizeof text, "1 %u %u\n3 %s\n5 %s\n", v, next - 1, k3, k5);
	r = uiddb_against(&mb, text);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, "next UID"));

	snprintf(text, sizeof text, "1 %u %u\n3 %s\n", v, next, k3);
	r = uiddb_against(&mb, text);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, "no UID for"));
	assert_non_null(strstr(r.text, k5));

	snprintf(text, sizeof text, "1 %u %u\n3 %s\n%u %s\n", v, next + 1, k3, next, k5);
	r = uiddb_against(&mb, text);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, k5));

	/* an old UID (3), or one below UIDNEXT that no message has (4), given
	 * to another file */
	for (uint32_t uid = 3; uid <= 4; uid++) {
		snprintf(text, sizeof text, "1 %u %u\n3 %s\n5 %s\n%u 1795000000.M1P1.mx\n", v, next,
		         k3, k5, uid);
		r = uiddb_against(&mb, text);
		assert_int_equal(r.n, 1);
		assert_non_null(strstr(r.text, "given to 1795000000.M1P1.mx"));
	}

	snprintf(text, sizeof text, "1 %u %u\n3 %s\n5 %s\n%u %s\n", v, next + 1, k3, k5, next, k3);
	r = uiddb_against(&mb, text);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, "again"));

	r = uiddb_against(&mb, "garbage\n");
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, "new UIDVALIDITY"));
	mbx_mailbox_free(&mb);
}

/* 4: the example :list; indexes into section 1; an update file wins. */
static void keywords_parse(void **state)
{
	(void)state;
	static const char example[] = "Junk\n$Label1\n\n1650000001.M4P4.host:1 0\n";
	struct vf_keywords kw;
	assert_int_equal(vf_keywords_parse(example, strlen(example), &kw), 0);
	assert_string_equal(vf_keywords_of(&kw, "1650000001.M4P4.host"), "$Label1 Junk");
	assert_string_equal(vf_keywords_of(&kw, "1650000000.M3P3.host"), "");
	assert_int_equal(vf_keywords_update(&kw, "1650000001.M4P4.host", "Junk\n", 5), 0);
	assert_string_equal(vf_keywords_of(&kw, "1650000001.M4P4.host"), "Junk");
	assert_int_equal(vf_keywords_update(&kw, "1650000000.M3P3.host", "", 0), 0);
	assert_string_equal(vf_keywords_of(&kw, "1650000000.M3P3.host"), "");
	assert_int_equal(vf_keywords_update(&kw, "1650000002.M5P5.host", "b\na\n", 4), 0);
	assert_string_equal(vf_keywords_of(&kw, "1650000002.M5P5.host"), "a b");
	assert_string_equal(vf_keywords_of(&kw, "1650000001.M4P4.host"), "Junk");
	vf_keywords_free(&kw);
}

static struct reports keywords_against(const struct mbx_mailbox *mb, const char *text)
{
	struct reports r = {0};
	struct vf_keywords expected, actual;
	struct vf_set present = {0};
	size_t len;
	char *want = mbx_courier_kwlist(mb, 0, &len);
	all_keys(mb, 0, &present);
	assert_int_equal(vf_keywords_parse(want, len, &expected), 0);
	assert_int_equal(vf_keywords_parse(text, strlen(text), &actual), 0);
	vf_keywords_compare(&expected, &actual, &present, collect, &r);
	vf_keywords_free(&expected);
	vf_keywords_free(&actual);
	vf_set_free(&present);
	free(want);
	return r;
}

static void keywords_compare(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	char k3[MBX_NAME_MAX], k5[MBX_NAME_MAX], text[1024];
	parse_str(&mb, mbox);
	key_of(&mb, 0, 0, k3);
	key_of(&mb, 1, 0, k5);
	/* Courier may list the names in another order, and the messages too */
	snprintf(text, sizeof text, "NonJunk\n$Label1\n\n%s:1 0\n%s:0\n", k5, k3);
	struct reports r = keywords_against(&mb, text);
	assert_int_equal(r.n, 0);
	snprintf(text, sizeof text, "NonJunk\n$Label1\n\n%s:1\n%s:0\n", k5, k3);
	r = keywords_against(&mb, text);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, k5));
	assert_non_null(strstr(r.text, "NonJunk"));
	snprintf(text, sizeof text, "NonJunk\n$Label1\n\n%s:1 0\n", k5);
	r = keywords_against(&mb, text);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, k3));
	mbx_mailbox_free(&mb);
}

/* 7: the example size list; versions 2 and 3 are read, others are not. */
static void pop3_parse(void **state)
{
	(void)state;
	static const char example[] = "/3 9 1795886992\n1000000001.M1P1.h:2,FS 21 5:1795886992:0\n";
	struct vf_pop3 list;
	assert_int_equal(vf_pop3_parse(example, strlen(example), &list), 0);
	assert_true(list.valid);
	assert_int_equal(list.n, 1);
	assert_string_equal(list.e[0].key, "1000000001.M1P1.h");
	assert_string_equal(list.e[0].name, "1000000001.M1P1.h:2,FS");
	assert_int_equal(list.e[0].size, 21);
	assert_int_equal(list.e[0].uid, 5);
	vf_pop3_free(&list);
	assert_int_equal(vf_pop3_parse("/1 9 1\n", 7, &list), 0);
	assert_false(list.valid);
	vf_pop3_free(&list);
}

static struct reports pop3_against(const struct mbx_mailbox *mb, const char *text,
                                   const char *extra_in_cur)
{
	struct reports r = {0};
	struct vf_pop3 expected, actual;
	struct vf_set present = {0}, in_cur = {0};
	size_t len;
	char *want = mbx_courier_pop3_sizelist(mb, mbox, NULL, &len);
	all_keys(mb, 1, &present);
	all_keys(mb, 1, &in_cur);
	assert_int_equal(vf_set_add(&in_cur, extra_in_cur, strlen(extra_in_cur)), 0);
	vf_set_sort(&in_cur);
	assert_int_equal(vf_pop3_parse(want, len, &expected), 0);
	assert_int_equal(vf_pop3_parse(text, strlen(text), &actual), 0);
	vf_pop3_compare(&expected, &actual, &present, &in_cur, collect, &r);
	vf_pop3_free(&expected);
	vf_pop3_free(&actual);
	vf_set_free(&present);
	vf_set_free(&in_cur);
	free(want);
	return r;
}

static void pop3_compare(void **state)
{
	(void)state;
	struct mbx_mailbox mb;
	struct vf_pop3 gen;
	size_t len;
	char text[1024];
	parse_str(&mb, mbox);
	char *want = mbx_courier_pop3_sizelist(&mb, mbox, NULL, &len);
	assert_int_equal(vf_pop3_parse(want, len, &gen), 0);
	assert_int_equal(gen.n, 2);
	const struct vf_pop3_entry *a = &gen.e[0], *b = &gen.e[1];
	/* pop3d's rewrite: its own numbers, new mail with uid 1, flags renamed */
	snprintf(text, sizeof text,
	         "/3 2 1795886992\n%s:2,S %llu 0:1795886992:0\n%s %llu "
	         "0:1795886992:0\n1795000000.M1P1.mx:2, 10 1:1795886992:0\n",
	         b->key, (unsigned long long)b->size, a->name, (unsigned long long)a->size);
	struct reports r = pop3_against(&mb, text, "1795000000.M1P1.mx");
	assert_int_equal(r.n, 0);
	snprintf(text, sizeof text, "/3 2 1\n%s 0 0:1:0\n%s %llu 3:1:0\n", a->name, b->name,
	         (unsigned long long)b->size);
	r = pop3_against(&mb, text, "x");
	assert_int_equal(r.n, 2);
	assert_non_null(strstr(r.text, "size 0"));
	assert_non_null(strstr(r.text, "uid 3"));
	snprintf(text, sizeof text, "/3 2 1\n%s %llu 0:1:0\n", a->name,
	         (unsigned long long)a->size);
	r = pop3_against(&mb, text, "x");
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, "not listed"));
	/* uid 0 for a file that is no old message: pop3d prints its name */
	snprintf(text, sizeof text, "%s%s 1 0:0:0\n", want, "5e5cc04d00000009:2,");
	r = pop3_against(&mb, text, "5e5cc04d00000009");
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, "5e5cc04d00000009"));
	r = pop3_against(&mb, "/1\n", "x");
	assert_int_equal(r.n, 1);
	vf_pop3_free(&gen);
	free(want);
	mbx_mailbox_free(&mb);
}

/* Subscriptions added since are fine; one that is gone is named. */
static void subscriptions(void **state)
{
	(void)state;
	static const char want[] = "INBOX\nINBOX.sent-mail\n";
	struct reports r = {0};
	vf_subscriptions_compare(want, strlen(want), "INBOX.new\nINBOX.sent-mail\nINBOX\n", 32,
	                         collect, &r);
	assert_int_equal(r.n, 0);
	vf_subscriptions_compare(want, strlen(want), "INBOX\n", 6, collect, &r);
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.text, "INBOX.sent-mail"));
}

/* The first differing offset, also when the file is shorter or longer. */
static int compare_file(const char *file, const char *served, size_t piece, uint64_t *at)
{
	int fd = memfd_create("verify", 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, file, strlen(file)), (ssize_t)strlen(file));
	struct vf_bytes c;
	vf_bytes_init(&c, fd);
	for (size_t off = 0, len = strlen(served); off < len; off += piece)
		vf_bytes_piece(served + off, len - off < piece ? len - off : piece, &c);
	int r = vf_bytes_finish(&c);
	close(fd);
	*at = c.differs_at;
	return r;
}

static void bytes(void **state)
{
	(void)state;
	static const char served[] = "Subject: x\n\nbody\n";
	uint64_t at;
	for (size_t piece = 1; piece <= sizeof served; piece += 3) {
		assert_int_equal(compare_file(served, served, piece, &at), 0);
		assert_int_equal(compare_file("Subject: y\n\nbody\n", served, piece, &at), 1);
		assert_int_equal(at, 9);
		assert_int_equal(compare_file("Subject: x\n", served, piece, &at), 1);
		assert_int_equal(at, 11);
		assert_int_equal(compare_file("Subject: x\n\nbody\nmore\n", served, piece, &at), 1);
		assert_int_equal(at, strlen(served));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names),          cmocka_unit_test(name_uids),
	    cmocka_unit_test(uiddb_parse),    cmocka_unit_test(uiddb_compare),
	    cmocka_unit_test(keywords_parse), cmocka_unit_test(keywords_compare),
	    cmocka_unit_test(pop3_parse),     cmocka_unit_test(pop3_compare),
	    cmocka_unit_test(subscriptions),  cmocka_unit_test(bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
