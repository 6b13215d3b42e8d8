/* test_map_gen.c — `mboxfs map` line writing (tools/map_gen.h): every line it
 * writes loads with index/account_map.c and says what the candidate said;
 * duplicates and paths the map cannot hold are refused with a report. */
#include "unit.h"

#include "account_map.h"
#include "map_gen.h"

#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

struct run {
	char dir[64], map[128];
	FILE *out;
	char *report;
	size_t report_len;
	FILE *report_stream;
	struct map_writer w;
};

static int setup(void **state)
{
	struct run *r = calloc(1, sizeof *r);
	assert_non_null(r);
	strcpy(r->dir, "/tmp/mboxfs-unit-mapgen-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->map, sizeof r->map, "%s/generated.map", r->dir);
	r->out = fopen(r->map, "w");
	assert_non_null(r->out);
	r->report_stream = open_memstream(&r->report, &r->report_len);
	assert_non_null(r->report_stream);
	map_writer_init(&r->w, r->out, r->report_stream);
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	struct run *r = *state;
	map_writer_free(&r->w);
	if (r->out)
		fclose(r->out);
	fclose(r->report_stream);
	free(r->report);
	unlink(r->map);
	rmdir(r->dir);
	free(r);
	return 0;
}

/* Closes the generated map and loads it as the mount would. */
static void load(struct run *r, struct account_map *m)
{
	assert_int_equal(fclose(r->out), 0);
	r->out = NULL;
	fflush(r->report_stream);
	assert_int_equal(map_load(m, r->map), 0);
}

static void lines_load_with_the_same_fields(void **state)
{
	struct run *r = *state;
	struct passwd *root = getpwnam("root");
	assert_non_null(root);
	struct map_candidate alice = {"passwd:2",    "example.org/alice/Maildir", "/var/mail/alice",
	                              "/home/alice", "/home/alice/mail",          "root"};
	struct map_candidate bob = {"passwd:3",  "bob/Maildir", "/var/mail/bob",
	                            "/home/bob", NULL,          "4321:765"};
	struct map_candidate carol = {
	    "lines:1", "example.com/carol/Maildir", "/spool/carol", NULL, NULL, NULL};
	assert_int_equal(map_writer_add(&r->w, &alice), 1);
	assert_int_equal(map_writer_add(&r->w, &bob), 1);
	assert_int_equal(map_writer_add(&r->w, &carol), 1);
	struct account_map m;
	load(r, &m);
	assert_int_equal(m.nerrors, 0);
	assert_int_equal(m.naccounts, 3);
	const struct account *a = &m.accounts[0];
	assert_string_equal(a->maildir, alice.maildir);
	assert_string_equal(a->inbox, alice.inbox);
	assert_string_equal(a->home, alice.home);
	assert_string_equal(a->folders, alice.folders);
	assert_int_equal(a->has_owner, 1);
	assert_int_equal(a->uid, root->pw_uid);
	assert_int_equal(a->gid, root->pw_gid);
	assert_int_equal(a->pop3, 1); /* the default: uw-ipop3d UIDLs */
	a = &m.accounts[1];
	assert_string_equal(a->maildir, bob.maildir);
	assert_string_equal(a->home, bob.home);
	assert_null(a->folders);
	assert_int_equal(a->uid, 4321);
	assert_int_equal(a->gid, 765);
	a = &m.accounts[2];
	assert_null(a->home);
	assert_int_equal(a->has_owner, 0);
	assert_int_equal(r->w.nwritten, 3);
	assert_int_equal(r->w.nrefused, 0);
	assert_int_equal(r->report_len, 0);
	map_free(&m);
}

static void duplicates_are_refused(void **state)
{
	struct run *r = *state;
	struct map_candidate first = {"src:1", "a/Maildir", "/spool/a", "/home/a", NULL, NULL};
	struct map_candidate same_maildir = {"src:2",   "a/Maildir", "/spool/x",
	                                     "/home/x", NULL,        NULL};
	struct map_candidate same_inbox = {"src:3", "b/Maildir", "/spool/a", "/home/b", NULL, NULL};
	struct map_candidate same_folders = {"src:4",   "c/Maildir", "/spool/c",
	                                     "/home/c", "/home/a",   NULL};
	assert_int_equal(map_writer_add(&r->w, &first), 1);
	assert_int_equal(map_writer_add(&r->w, &same_maildir), 0);
	assert_int_equal(map_writer_add(&r->w, &same_inbox), 0);
	assert_int_equal(map_writer_add(&r->w, &same_folders), 0);
	struct account_map m;
	load(r, &m);
	assert_int_equal(m.naccounts, 1);
	assert_int_equal(m.nerrors, 0);
	assert_int_equal(r->w.nrefused, 3);
	assert_non_null(strstr(r->report, "src:2: a/Maildir: duplicate maildir"));
	assert_non_null(strstr(r->report, "src:3: b/Maildir: duplicate INBOX"));
	assert_non_null(strstr(r->report, "src:4: c/Maildir: duplicate folder directory"));
	map_free(&m);
}

/* The map splits fields at white space, cuts comments at '#' and refuses
 * maildirs that leave the mount: such candidates never reach it. */
static void paths_the_map_cannot_hold_are_refused(void **state)
{
	struct run *r = *state;
	const struct map_candidate bad[] = {
	    {"s:1", "x/Maildir", "/spool/with space", NULL, NULL, NULL},
	    {"s:2", "y/Maildir", "/spool/y", "/home/y#1", NULL, NULL},
	    {"s:3", "../z/Maildir", "/spool/z", NULL, NULL, NULL},
	    {"s:4", "/abs/Maildir", "/spool/w", NULL, NULL, NULL},
	    {"s:5", "v/./Maildir", "/spool/v", NULL, NULL, NULL},
	    {"s:6", "u/Maildir", NULL, NULL, NULL, NULL},
	    {"s:7", "t/Maildir", "/spool/t", NULL, NULL, "some one"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(map_writer_add(&r->w, &bad[i]), 0);
	struct account_map m;
	load(r, &m);
	assert_int_equal(m.naccounts, 0);
	assert_int_equal(m.nerrors, 0);
	assert_int_equal(r->w.nrefused, sizeof bad / sizeof bad[0]);
	map_free(&m);
}

static void formats_expand(void **state)
{
	(void)state;
	char out[64];
	const char *why = NULL;
	assert_int_equal(map_expand(out, sizeof out, "%d/%u/Maildir", "alice", "example.org", &why),
	                 0);
	assert_string_equal(out, "example.org/alice/Maildir");
	assert_int_equal(map_expand(out, sizeof out, "/var/mail/%u%%", "bob", NULL, &why), 0);
	assert_string_equal(out, "/var/mail/bob%");
	assert_int_equal(map_expand(out, sizeof out, "%d/%u", "bob", NULL, &why), -1);
	assert_non_null(strstr(why, "no domain"));
	assert_int_equal(map_expand(out, sizeof out, "%x", "bob", "d", &why), -1);
	assert_int_equal(map_expand(out, 8, "%u/Maildir", "bob", NULL, &why), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(lines_load_with_the_same_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(duplicates_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(paths_the_map_cannot_hold_are_refused, setup, teardown),
	    cmocka_unit_test(formats_expand),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
