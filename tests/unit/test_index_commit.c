/* test_index_commit.c — tools/index_commit.c: batches committed by a thread of
 * their own (index_commit.h). */
#include "index_commit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "temp_dirs.h"

#define MBOX                                                                                       \
	"From a@example.com Sat Jan  1 10:22:49 2005\nSubject: one\n\nbody\n\n"                    \
	"From b@example.com Sat Jan  1 10:23:49 2005\nSubject: two\n\nbody\n"

/* The fixture, with the mbox written. */
static int setup_mbox(void **state)
{
	if (setup(state) < 0)
		return -1;
	const struct dirs *d = *state;
	FILE *f = fopen(d->mbox, "w");
	if (!f)
		return -1;
	fputs(MBOX, f);
	fclose(f);
	return 0;
}

/* Files whose names end with suffix (temp files are "<name>.tmp.<tid>"). */
static size_t count_files(const char *dir, const char *suffix)
{
	DIR *dd = opendir(dir);
	struct dirent *e;
	size_t n = 0, k = strlen(suffix);
	while (dd && (e = readdir(dd))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] != '.' && len >= k && !strcmp(e->d_name + len - k, suffix))
			n++;
	}
	if (dd)
		closedir(dd);
	return n;
}

/* One mailbox opened through a new batch under key. */
static struct mbx_batch *batch_of(const struct dirs *d, const char *key)
{
	struct mbx_batch *b = mbx_batch_new(d->state);
	assert_non_null(b);
	struct mbx_file f;
	char err[512] = "";
	int fd = open(d->mbox, O_RDONLY);
	assert_true(fd >= 0);
	if (mbx_open_fd_batch(&f, fd, d->mbox, d->state, key, b, err, sizeof err) != 0)
		fail_msg("mbx_open_fd_batch: %s", err);
	mbx_close(&f);
	return b;
}

struct outcome {
	int calls;
	int err;
};

static void record(void *arg, int err)
{
	struct outcome *o = arg;
	o->calls++;
	o->err = err;
}

/* Every batch handed over is committed before commit_finish() returns, each
 * done() called once with 0: with depth 1 the submitter waits its turn; with
 * a deep queue, batches that wait together are committed as one group. */
static void batches_committed(const struct dirs *d, size_t depth)
{
	enum { N = 8 };
	struct outcome o[N];
	struct committer *c = commit_start(depth);
	assert_non_null(c);
	for (int i = 0; i < N; i++) {
		char key[32];
		snprintf(key, sizeof key, "user/box%d", i);
		o[i] = (struct outcome){0, -1};
		commit_submit(c, batch_of(d, key), record, &o[i]);
	}
	commit_finish(c);
	for (int i = 0; i < N; i++) {
		assert_int_equal(o[i].calls, 1);
		assert_int_equal(o[i].err, 0);
	}
	assert_int_equal(count_files(d->state, ".idx"), N);
	assert_int_equal(count_files(d->state, ".uidv"), N);
	assert_int_equal(count_files(d->state, ""), 2 * N); /* no temp file left */
}

static void batches_committed_one_by_one(void **state)
{
	batches_committed(*state, 1);
}

static void batches_committed_in_groups(void **state)
{
	batches_committed(*state, 8);
}

/* A commit that fails reaches done() with its errno: the caller must not
 * count those mailboxes as indexed (here the state directory went away). */
static void failed_commit_reported(void **state)
{
	struct dirs *d = *state;
	struct outcome o = {0, 0};
	struct mbx_batch *b = batch_of(d, "user/inbox");
	char moved[96];
	snprintf(moved, sizeof moved, "%s.moved", d->state);
	assert_int_equal(rename(d->state, moved), 0);
	struct committer *c = commit_start(2);
	assert_non_null(c);
	commit_submit(c, b, record, &o);
	commit_finish(c);
	assert_int_equal(rename(moved, d->state), 0);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.err, ENOENT);
	assert_int_equal(count_files(d->state, ".idx"), 0); /* nothing put in place */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(batches_committed_one_by_one, setup_mbox, teardown),
	    cmocka_unit_test_setup_teardown(batches_committed_in_groups, setup_mbox, teardown),
	    cmocka_unit_test_setup_teardown(failed_commit_reported, setup_mbox, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
