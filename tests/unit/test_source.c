/* test_source.c — an account's mailboxes found with its rights (source.h):
 * hostile folder directories built in a temporary directory. The rights tests
 * chown files to two uids and need root (skipped otherwise). */
#include "unit.h"

#include "folder_name.h"
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ALICE 41001 /* two uids no one else uses */
#define BOB   41002

struct tree {
	char dir[64]; /* the temporary directory */
	struct account a;
	char inbox[PATH_MAX], home[PATH_MAX];
};

static int setup(void **state)
{
	struct tree *t = calloc(1, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/mboxfs-source-XXXXXX");
	if (!t || !mkdtemp(t->dir))
		return -1;
	chmod(t->dir, 0755); /* the account's rights must reach its own files */
	snprintf(t->home, sizeof t->home, "%s/home", t->dir);
	snprintf(t->inbox, sizeof t->inbox, "%s/inbox", t->dir);
	mkdir(t->home, 0755);
	t->a.maildir = "example.org/alice";
	t->a.inbox = t->inbox;
	t->a.home = t->home;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->dir);
	int r = system(cmd);
	free(t);
	return r == 0 ? 0 : -1;
}

/* Creates path (below the tree) with text, mode and owner. */
static void put(const struct tree *t, const char *rel, const char *text, mode_t mode, uid_t uid)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", t->dir, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchown(fd, uid, uid), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void dir(const struct tree *t, const char *rel, mode_t mode, uid_t uid)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", t->dir, rel);
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chown(path, uid, uid), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void link_to(const struct tree *t, const char *target, const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", t->dir, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* The folders of a scan, "uw=courier" joined by spaces (INBOX left out). */
static void folders_of(const struct src_list *l, char *out, size_t outlen)
{
	size_t n = 0;
	out[0] = '\0';
	assert_true(l->nboxes >= 1);
	assert_string_equal(l->boxes[0].uw_name, "INBOX");
	for (size_t i = 1; i < l->nboxes; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s=%s", i > 1 ? " " : "",
		                      l->boxes[i].uw_name, l->boxes[i].courier_name);
}

static size_t count(const struct src_list *l, enum src_anomaly_kind kind, const char *suffix)
{
	size_t n = 0;
	for (size_t i = 0; i < l->nanomalies; i++) {
		size_t len = strlen(l->anomalies[i].path), slen = strlen(suffix);
		if (l->anomalies[i].kind == kind && len >= slen &&
		    !strcmp(l->anomalies[i].path + len - slen, suffix))
			n++;
	}
	return n;
}

static void scan(struct tree *t, struct src_list *l)
{
	struct src_rights r;
	assert_int_equal(src_rights_init(&r, &t->a), 0);
	assert_int_equal(src_scan(&t->a, &r, l), 0);
	src_rights_free(&r);
}

/* source.h: each mailbox comes with its size when listed (for scheduling);
 * 0 where none is known (the INBOX is a FIFO here, never opened). */
static void sizes_listed(void **state)
{
	struct tree *t = *state;
	struct src_list l;
	put(t, "inbox", "From a\n", 0600, 0);
	put(t, "home/saved", "From b@x Wed Dec  2 05:53:22 1992\n", 0600, 0);
	scan(t, &l);
	assert_int_equal(l.nboxes, 2);
	assert_int_equal(l.boxes[0].size, strlen("From a\n"));
	assert_string_equal(l.boxes[1].uw_name, "saved");
	assert_int_equal(l.boxes[1].size, strlen("From b@x Wed Dec  2 05:53:22 1992\n"));
	src_list_free(&l);

	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/inbox", t->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	scan(t, &l);
	assert_int_equal(l.boxes[0].size, 0);
	src_list_free(&l);
}

/* ln -s . x; ln -s . y: each self-link is an anomaly, every real folder is
 * listed once, and the scan ends. */
static void self_links(void **state)
{
	struct tree *t = *state;
	struct src_list l;
	char got[4096];
	put(t, "inbox", "", 0600, 0);
	put(t, "home/saved", "", 0600, 0);
	dir(t, "home/mail", 0755, 0);
	put(t, "home/mail/sent", "", 0600, 0);
	link_to(t, ".", "home/x");
	link_to(t, ".", "home/y");
	link_to(t, "..", "home/mail/up");
	scan(t, &l);
	folders_of(&l, got, sizeof got);
	assert_string_equal(got, "mail/sent=mail.sent saved=saved");
	assert_int_equal(count(&l, SRC_LOOP, "/home/x"), 1);
	assert_int_equal(count(&l, SRC_LOOP, "/home/y"), 1);
	assert_int_equal(count(&l, SRC_LOOP, "/home/mail/up"), 1);
	assert_int_equal(l.nanomalies, 3);
	src_list_free(&l);
}

/* A FIFO, a socket and a device in the folder directory, and a FIFO as
 * INBOX: none is listed or opened (a FIFO opened without O_NONBLOCK would
 * block this test forever). */
static void not_regular(void **state)
{
	struct tree *t = *state;
	struct src_list l;
	char path[PATH_MAX], err[PATH_MAX + 64], got[4096];
	snprintf(path, sizeof path, "%s/inbox", t->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(path, sizeof path, "%s/home/fifo", t->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/home/sock", t->dir);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
	link_to(t, "/dev/zero", "home/zero");
	put(t, "home/real", "", 0600, 0);
	scan(t, &l);
	folders_of(&l, got, sizeof got);
	assert_string_equal(got, "real=real");
	assert_int_equal(count(&l, SRC_NOT_REGULAR, "/home/fifo"), 1);
	assert_int_equal(count(&l, SRC_NOT_REGULAR, "/home/sock"), 1);
	assert_int_equal(count(&l, SRC_NOT_REGULAR, "/home/zero"), 1);
	assert_int_equal(l.nanomalies, 3);
	struct src_rights r;
	src_rights_init(&r, &t->a);
	assert_int_equal(src_open_mbox(&r, t->inbox, err, sizeof err), -1);
	assert_non_null(strstr(err, "FIFO"));
	assert_int_equal(src_open_mbox(&r, "/dev/zero", err, sizeof err), -1);
	src_list_free(&l);
	close(s);
}

/* Nested directories deeper than SRC_MAX_DEPTH: folders down to the limit
 * are listed, the directory past it is an anomaly. */
static void depth_limit(void **state)
{
	struct tree *t = *state;
	struct src_list l;
	char rel[PATH_MAX] = "home";
	put(t, "inbox", "", 0600, 0);
	for (int depth = 1; depth <= SRC_MAX_DEPTH + 3; depth++) {
		strcat(rel, "/d");
		dir(t, rel, 0755, 0);
		char file[PATH_MAX + 4];
		snprintf(file, sizeof file, "%s/m", rel);
		put(t, file, "", 0600, 0);
	}
	scan(t, &l);
	assert_int_equal(l.nboxes, 1 + SRC_MAX_DEPTH); /* INBOX, d/m .. (d/)^32 m */
	char deepest[PATH_MAX] = "";
	for (int i = 0; i < SRC_MAX_DEPTH; i++)
		strcat(deepest, "d/");
	strcat(deepest, "m");
	assert_non_null(src_courier_name(&l, deepest));
	assert_int_equal(l.nanomalies, 1);
	assert_int_equal(l.anomalies[0].kind, SRC_TOO_DEEP);
	src_list_free(&l);
}

/* Folders whose names would decode to one Courier name ("&AGI-" spells "b"):
 * each served under its own name, the non-canonical ones by folder_name.h's
 * escaped form and reported, whatever the order of creation (tmpfs and ext4
 * list a directory in different orders). */
static void collisions(void **state)
{
	struct tree *t = *state;
	static const char *const names[] = {"b", "&AGI-", "bb", "&AGIAYg-", "b&AGI-", "c"};
	const size_t n = sizeof names / sizeof *names;
	char got[2][4096], expect[4096], raw[64];
	put(t, "inbox", "", 0600, 0);
	for (int order = 0; order < 2; order++) {
		char sub[64], file[128];
		snprintf(sub, sizeof sub, "home/o%d", order);
		dir(t, sub, 0755, 0);
		for (size_t i = 0; i < n; i++) {
			snprintf(file, sizeof file, "%s/%s", sub, names[order ? n - 1 - i : i]);
			put(t, file, "", 0600, 0);
		}
		t->a.folders = NULL;
		char top[PATH_MAX];
		snprintf(top, sizeof top, "%s/%s", t->dir, sub);
		t->a.folders = top;
		struct src_list l;
		scan(t, &l);
		folders_of(&l, got[order], sizeof got[order]);
		assert_int_equal(count(&l, SRC_ESCAPED, "/&AGI-"), 1);
		assert_int_equal(count(&l, SRC_ESCAPED, "/&AGIAYg-"), 1);
		assert_int_equal(count(&l, SRC_ESCAPED, "/b&AGI-"), 1);
		assert_int_equal(l.nanomalies, 3);
		src_list_free(&l);
	}
	/* sorted by UW name; the '&'-free names keep theirs */
	size_t len = 0;
	static const char *const sorted[] = {"&AGI-", "&AGIAYg-", "b", "b&AGI-", "bb", "c"};
	for (size_t i = 0; i < n; i++) {
		int escaped = strchr(sorted[i], '&') != NULL;
		if (escaped)
			assert_true(mbx_folder_name_raw(sorted[i], raw, sizeof raw) > 0);
		else
			assert_true(mbx_folder_name(sorted[i], raw, sizeof raw) > 0);
		len += (size_t)snprintf(expect + len, sizeof expect - len, "%s%s=%s", i ? " " : "",
		                        sorted[i], raw);
	}
	assert_string_equal(got[0], expect);
	assert_string_equal(got[1], expect);
	assert_non_null(strstr(expect, "&AGI-=%26AGI-")); /* folder_name.h: '&' is %26 */
}

/* alice (owner=) and bob: links from alice's folder directory to bob's 0600
 * files and 0700 directory, a hard link to one of his files, and a
 * .mailboxlist linked to a root-only file. None is read with alice's
 * rights; each is an anomaly; alice's own folder is served; afterwards the
 * thread has root's rights again. */
static void other_accounts(void **state)
{
	struct tree *t = *state;
	if (geteuid() != 0)
		skip();
	char path[PATH_MAX], target[PATH_MAX], err[PATH_MAX + 64], got[4096];
	put(t, "inbox", "alice's\n", 0600, ALICE);
	dir(t, "bob", 0700, BOB);
	put(t, "bob/spool", "bob's\n", 0600, BOB);
	dir(t, "bob/mail", 0700, BOB);
	put(t, "bob/mail/private", "bob's\n", 0600, BOB);
	put(t, "shadow", "root's\n", 0600, 0);
	assert_int_equal(chown(t->home, ALICE, ALICE), 0);
	put(t, "home/own", "alice's\n", 0600, ALICE);
	snprintf(target, sizeof target, "%s/bob/spool", t->dir);
	link_to(t, target, "home/steal");
	snprintf(target, sizeof target, "%s/bob/mail", t->dir);
	link_to(t, target, "home/bobmail");
	/* a hard link: made where bob's file is readable, i.e. here as root */
	put(t, "bobfile", "bob's\n", 0600, BOB);
	snprintf(target, sizeof target, "%s/bobfile", t->dir);
	snprintf(path, sizeof path, "%s/home/hard", t->dir);
	assert_int_equal(link(target, path), 0);
	snprintf(target, sizeof target, "%s/shadow", t->dir);
	link_to(t, target, "home/.mailboxlist");

	t->a.has_owner = 1, t->a.uid = ALICE, t->a.gid = ALICE;
	struct src_rights r;
	struct src_list l;
	assert_int_equal(src_rights_init(&r, &t->a), 0);
	assert_int_equal(r.switched, 1);
	assert_int_equal(src_scan(&t->a, &r, &l), 0);
	folders_of(&l, got, sizeof got);
	assert_string_equal(got, "own=own");
	assert_int_equal(count(&l, SRC_REFUSED, "/home/steal"), 1);
	assert_int_equal(count(&l, SRC_REFUSED, "/home/bobmail"), 1);
	assert_int_equal(count(&l, SRC_REFUSED, "/home/hard"), 1);
	assert_int_equal(l.nanomalies, 3);
	src_list_free(&l);

	char *text;
	size_t len;
	snprintf(path, sizeof path, "%s/home/.mailboxlist", t->dir);
	assert_int_equal(src_read_file(&r, path, 1 << 20, &text, &len), -EACCES);
	snprintf(path, sizeof path, "%s/bob/spool", t->dir);
	assert_int_equal(src_open_mbox(&r, path, err, sizeof err), -1);
	assert_non_null(strstr(err, strerror(EACCES)));
	int fd = src_open_mbox(&r, t->inbox, err, sizeof err);
	assert_true(fd >= 0);
	close(fd);
	src_rights_free(&r);

	/* bob reads his own; root's rights are back on this thread */
	struct account b = t->a;
	b.uid = BOB, b.gid = BOB;
	assert_int_equal(src_rights_init(&r, &b), 0);
	fd = src_open_mbox(&r, path, err, sizeof err);
	assert_true(fd >= 0);
	close(fd);
	src_rights_free(&r);
	snprintf(path, sizeof path, "%s/shadow", t->dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
}

/* Without owner=: the INBOX file's owner (source.h). */
static void rights_without_owner(void **state)
{
	struct tree *t = *state;
	if (geteuid() != 0)
		skip();
	put(t, "inbox", "", 0600, ALICE);
	struct src_rights r;
	assert_int_equal(src_rights_init(&r, &t->a), 0);
	assert_int_equal(r.uid, ALICE);
	assert_int_equal(r.switched, 1);
	src_rights_free(&r);
	/* no INBOX: the home directory's owner, root here: root's rights */
	unlink(t->inbox);
	assert_int_equal(src_rights_init(&r, &t->a), 0);
	assert_int_equal(r.uid, 0);
	assert_int_equal(r.switched, 0);
	src_rights_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(self_links, setup, teardown),
	    cmocka_unit_test_setup_teardown(sizes_listed, setup, teardown),
	    cmocka_unit_test_setup_teardown(not_regular, setup, teardown),
	    cmocka_unit_test_setup_teardown(depth_limit, setup, teardown),
	    cmocka_unit_test_setup_teardown(collisions, setup, teardown),
	    cmocka_unit_test_setup_teardown(other_accounts, setup, teardown),
	    cmocka_unit_test_setup_teardown(rights_without_owner, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
