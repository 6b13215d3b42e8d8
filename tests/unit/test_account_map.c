/* test_account_map.c — the account map (format and contract in account_map.h). */
#include "unit.h"

#include "account_map.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

struct tmp {
	char dir[64];
	char map[128];
};

static int setup(void **state)
{
	struct tmp *t = calloc(1, sizeof *t);
	assert_non_null(t);
	strcpy(t->dir, "/tmp/mboxfs-unit-map-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->map, sizeof t->map, "%s/accounts.map", t->dir);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tmp *t = *state;
	unlink(t->map);
	rmdir(t->dir);
	free(t);
	return 0;
}

static void write_map(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static const struct account *find(const struct account_map *m, const char *maildir)
{
	for (size_t i = 0; i < m->naccounts; i++)
		if (!strcmp(m->accounts[i].maildir, maildir))
			return &m->accounts[i];
	return NULL;
}

/* account_map.h: every field of a good line. */
static void good_lines(void **state)
{
	struct tmp *t = *state;
	struct account_map m;
	write_map(t->map,
	          "example.org/alice inbox=/var/mail/alice home=/home/alice\n"
	          "example.org/bob\tinbox=/var/mail/bob  home=/home/bob folders=/home/bob/mail"
	          " pop3=off owner=0:0\n"
	          "carol inbox=/var/mail/carol pop3=uw owner=root\n");
	assert_int_equal(map_load(&m, t->map), 0);
	assert_int_equal(m.nerrors, 0);
	assert_int_equal(m.naccounts, 3);
	const struct account *a = find(&m, "example.org/alice");
	assert_non_null(a);
	assert_string_equal(a->inbox, "/var/mail/alice");
	assert_string_equal(a->home, "/home/alice");
	assert_int_equal(a->line, 1);
	assert_int_equal(a->has_owner, 0);
	const struct account *b = find(&m, "example.org/bob");
	assert_non_null(b);
	assert_string_equal(b->inbox, "/var/mail/bob");
	assert_string_equal(b->folders, "/home/bob/mail");
	assert_string_equal(account_folders_dir(b), "/home/bob/mail");
	assert_int_equal(b->pop3, 0);
	assert_int_equal(b->has_owner, 1);
	assert_int_equal(b->uid, 0);
	assert_int_equal(b->gid, 0);
	assert_int_equal(b->line, 2);
	const struct account *c = find(&m, "carol");
	assert_non_null(c);
	assert_int_equal(c->pop3, 1);
	assert_int_equal(c->has_owner, 1);
	assert_int_equal(c->uid, 0);
	assert_null(c->home);
	assert_null(account_folders_dir(c));
	map_free(&m);
}

/* account_map.h: pop3 defaults to uw, folders to home. */
static void defaults(void **state)
{
	struct tmp *t = *state;
	struct account_map m;
	write_map(t->map, "alice inbox=/var/mail/alice home=/home/alice\n");
	assert_int_equal(map_load(&m, t->map), 0);
	assert_int_equal(m.naccounts, 1);
	assert_int_equal(m.accounts[0].pop3, 1);
	assert_null(m.accounts[0].folders);
	assert_string_equal(account_folders_dir(&m.accounts[0]), "/home/alice");
	map_free(&m);
}

/* account_map.h: relative paths are relative to the map file's directory. */
static void relative_paths_from_map_dir(void **state)
{
	struct tmp *t = *state;
	struct account_map m;
	char want[256];
	write_map(t->map, "alice inbox=spool/alice home=homes/alice folders=homes/alice/mail\n");
	assert_int_equal(map_load(&m, t->map), 0);
	assert_int_equal(m.naccounts, 1);
	snprintf(want, sizeof want, "%s/spool/alice", t->dir);
	assert_string_equal(m.accounts[0].inbox, want);
	snprintf(want, sizeof want, "%s/homes/alice", t->dir);
	assert_string_equal(m.accounts[0].home, want);
	snprintf(want, sizeof want, "%s/homes/alice/mail", t->dir);
	assert_string_equal(m.accounts[0].folders, want);
	map_free(&m);
}

/* account_map.h: inbox is "absolute path of the INBOX mbox", also when the map itself
 * was named by a relative path (the daemon may change directory later). */
static void relative_map_path_gives_absolute_paths(void **state)
{
	struct tmp *t = *state;
	struct account_map m;
	char cwd[PATH_MAX], want[256];
	assert_non_null(getcwd(cwd, sizeof cwd));
	write_map(t->map, "alice inbox=spool/alice home=homes/alice\n");
	assert_int_equal(chdir(t->dir), 0);
	int r = map_load(&m, "accounts.map");
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(r, 0);
	assert_int_equal(m.naccounts, 1);
	snprintf(want, sizeof want, "%s/spool/alice", t->dir);
	if (m.accounts[0].inbox[0] != '/')
		fail_msg("inbox \"%s\" is not absolute (want %s)", m.accounts[0].inbox, want);
	assert_string_equal(m.accounts[0].inbox, want);
	assert_true(m.accounts[0].home[0] == '/');
	map_free(&m);
}

/* account_map.h: '#' starts a comment; blank lines are ignored. */
static void comments_and_blank_lines(void **state)
{
	struct tmp *t = *state;
	struct account_map m;
	write_map(t->map, "# the account map\n"
	                  "\n"
	                  "   \t\n"
	                  "  # indented comment\n"
	                  "alice inbox=/var/mail/alice # trailing comment pop3=off\n"
	                  "bob inbox=/var/mail/bob\r\n"
	                  "#carol inbox=/var/mail/carol\n");
	assert_int_equal(map_load(&m, t->map), 0);
	assert_int_equal(m.nerrors, 0);
	assert_int_equal(m.naccounts, 2);
	const struct account *a = find(&m, "alice");
	assert_non_null(a);
	assert_int_equal(a->line, 5);
	assert_int_equal(a->pop3, 1);
	assert_string_equal(a->inbox, "/var/mail/alice");
	const struct account *b = find(&m, "bob");
	assert_non_null(b);
	assert_string_equal(b->inbox, "/var/mail/bob");
	assert_null(find(&m, "#carol"));
	map_free(&m);
}

/* account_map.h: each bad line is "FILE:LINE: reason" and skipped; good lines are kept. */
static void bad_lines_reported_good_kept(void **state)
{
	struct tmp *t = *state;
	struct account_map m;
	static const unsigned bad[] = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 16};
	write_map(t->map, "good1 inbox=/a\n"                     /* 1 */
	                  "bad1 inbox=/a frobnicate=1\n"         /* 2: unknown key */
	                  "bad2 home=/h\n"                       /* 3: no inbox */
	                  "bad3 inbox=/a pop3=yes\n"             /* 4: pop3 value */
	                  "bad4 inbox=/a owner=no_such_user_x\n" /* 5: owner */
	                  "bad5 inbox=/a inbox=/b\n"             /* 6: key twice */
	                  "bad6 inbox\n"                         /* 7: not key=value */
	                  "bad7 inbox=\n"                        /* 8: empty value */
	                  "/abs inbox=/a\n"                      /* 9: leading / */
	                  "a/../b inbox=/a\n"                    /* 10: .. */
	                  ".. inbox=/a\n"                        /* 11: .. */
	                  "good1 inbox=/c\n"                     /* 12: duplicate maildir */
	                  "good2 inbox=/d\n"                     /* 13 */
	                  "bad8 inbox=/a owner=12x\n"            /* 14: owner */
	                  "bad9 inbox=/a =x\n"                   /* 15: no key */
	                  "../up inbox=/a\n"                     /* 16: .. */
	);
	assert_int_equal(map_load(&m, t->map), 0);
	assert_int_equal(m.naccounts, 2);
	const struct account *g1 = find(&m, "good1");
	assert_non_null(g1);
	assert_string_equal(g1->inbox, "/a"); /* the first line wins */
	assert_int_equal(g1->line, 1);
	assert_non_null(find(&m, "good2"));
	assert_int_equal(m.nerrors, sizeof bad / sizeof bad[0]);
	for (size_t i = 0; i < m.nerrors; i++) {
		char prefix[256];
		int n = snprintf(prefix, sizeof prefix, "%s:%u: ", t->map, bad[i]);
		if (strncmp(m.errors[i], prefix, (size_t)n))
			fail_msg("error %zu is \"%s\", want prefix \"%s\"", i, m.errors[i], prefix);
		assert_true(strlen(m.errors[i]) > (size_t)n); /* a reason follows */
	}
	map_free(&m);
}

/* account_map.h: the maildir must be relative and free of "..". */
static void maildir_escapes_rejected(void **state)
{
	struct tmp *t = *state;
	static const char *const lines[] = {
	    "/var/lib/x inbox=/a\n", "../x inbox=/a\n",   "a/.. inbox=/a\n",
	    "a/../../b inbox=/a\n",  "x/../y inbox=/a\n",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct account_map m;
		write_map(t->map, lines[i]);
		assert_int_equal(map_load(&m, t->map), 0);
		if (m.naccounts != 0)
			fail_msg("accepted: %s", lines[i]);
		assert_int_equal(m.nerrors, 1);
		map_free(&m);
	}
}

/* account_map.h: a map that cannot be read: -1, the reason in errors[0]. */
static void unreadable_map(void **state)
{
	struct tmp *t = *state;
	struct account_map m;
	char path[256];
	snprintf(path, sizeof path, "%s/absent.map", t->dir);
	assert_int_equal(map_load(&m, path), -1);
	assert_int_equal(m.naccounts, 0);
	assert_true(m.nerrors >= 1);
	assert_non_null(strstr(m.errors[0], path));
	map_free(&m);
}

/* --account PATTERN (account_map.h): fnmatch on the maildir path, '*'
 * spanning slashes, so one domain can be committed at a time. */
static void account_patterns(void **state)
{
	(void)state;
	struct account a = {.maildir = "example.com/alice/Maildir"};
	struct account b = {.maildir = "example.org/bob/Maildir"};
	assert_true(account_matches(&a, NULL));
	assert_true(account_matches(&a, "example.com/*/Maildir"));
	assert_false(account_matches(&b, "example.com/*/Maildir"));
	assert_true(account_matches(&a, "example.com/*")); /* the whole domain */
	assert_false(account_matches(&b, "example.com/*"));
	assert_true(account_matches(&b, "example.or[gh]/bob/Maildir"));
	assert_false(account_matches(&a, "example.com"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(good_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(relative_paths_from_map_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(relative_map_path_gives_absolute_paths, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(comments_and_blank_lines, setup, teardown),
	    cmocka_unit_test_setup_teardown(bad_lines_reported_good_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(maildir_escapes_rejected, setup, teardown),
	    cmocka_unit_test_setup_teardown(unreadable_map, setup, teardown),
	    cmocka_unit_test(account_patterns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
