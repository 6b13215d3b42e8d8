/* test_journal.c — the state directory's journals (fs/journal.h): records
 * written before the call returns and read back in order, a torn tail cut so
 * that the next record starts on its own line, zeros of a power cut skipped,
 * atomic rewrite (compaction) and its bound, room reserved ahead. Each test
 * works in a fresh temp dir. */
#include "unit.h"

#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	struct journal j;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof *fx);
	if (!fx)
		return -1;
	strcpy(fx->dir, "/tmp/mboxfs-unit-journal-XXXXXX");
	if (!mkdtemp(fx->dir) || journal_init(&fx->j, fx->dir, "user/Maildir:INBOX", "wh") < 0)
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];
	journal_close(&fx->j);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

/* Records read back, joined with '|'. */
struct lines {
	char text[4096];
};

static void collect(char *line, void *arg)
{
	struct lines *l = arg;
	if (*l->text)
		strcat(l->text, "|");
	strcat(l->text, line);
}

static const char *replayed(struct journal *j)
{
	static struct lines l;
	l.text[0] = '\0';
	assert_int_equal(journal_replay(j, collect, &l), 0);
	return l.text;
}

/* The file's bytes, as a second process would see them. */
static size_t file_bytes(struct journal *j, char *buf, size_t cap)
{
	int fd = open(j->path, O_RDONLY);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, cap - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

/* journal.h: appended records are in the file when append returns (a kill
 * -9 loses nothing answered), in order, and counted. */
static void append_then_replay(void **state)
{
	struct fixture *fx = *state;
	char buf[256];
	assert_string_equal(replayed(&fx->j), ""); /* no file yet: nothing, no error */
	assert_int_equal(journal_append(&fx->j, "f 7 FS\n", 7), 0);
	assert_int_equal(journal_appendf(&fx->j, "u %u\nc %s\n", 9u, "courierimapuiddb"), 0);
	file_bytes(&fx->j, buf, sizeof buf);
	assert_string_equal(buf, "f 7 FS\nu 9\nc courierimapuiddb\n");
	assert_int_equal(fx->j.records, 3);
	assert_string_equal(replayed(&fx->j), "f 7 FS|u 9|c courierimapuiddb");
	assert_int_equal(fx->j.records, 3);
}

/* Recovery: a torn last line (a crash in the middle of a write) is not a
 * record and is cut off, so the next record is read whole. */
static void torn_tail_cut(void **state)
{
	struct fixture *fx = *state;
	char buf[256];
	int fd = open(fx->j.path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "k 1\nf 2 S", 9), 9);
	close(fd);
	assert_string_equal(replayed(&fx->j), "k 1");
	assert_int_equal(journal_append(&fx->j, "u 3\n", 4), 0);
	file_bytes(&fx->j, buf, sizeof buf);
	assert_string_equal(buf, "k 1\nu 3\n");
	assert_string_equal(replayed(&fx->j), "k 1|u 3");
}

/* A read-only journal (`mboxfs verify`, next to a mount that may be in the
 * middle of an append) reads the whole records, leaves the file exactly as
 * it is, and refuses to be written. */
static void readonly_reads_only(void **state)
{
	struct fixture *fx = *state;
	char buf[256];
	int fd = open(fx->j.path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "k 1\nf 2 S", 9), 9);
	close(fd);
	fx->j.readonly = 1;
	assert_string_equal(replayed(&fx->j), "k 1");
	assert_int_equal(file_bytes(&fx->j, buf, sizeof buf), 9);
	assert_string_equal(buf, "k 1\nf 2 S");
	assert_int_equal(journal_append(&fx->j, "u 3\n", 4), -EROFS);
	assert_int_equal(journal_rewrite(&fx->j, "u 3\n", 4), -EROFS);
	assert_int_equal(file_bytes(&fx->j, buf, sizeof buf), 9);
	fx->j.readonly = 0;
}

/* Recovery: a zero-filled stretch (what a power cut can leave where a write
 * had not reached the disk) is skipped, records around it are kept. */
static void zeros_skipped(void **state)
{
	struct fixture *fx = *state;
	static const char text[] = "u 1\n\0\0\0\0\nu 2\n\0\0f 3 F\n";
	int fd = open(fx->j.path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)sizeof text - 1);
	close(fd);
	assert_string_equal(replayed(&fx->j), "u 1|u 2|f 3 F");
	assert_int_equal(fx->j.records, 3);
}

/* Compaction: the rewrite replaces every record at once, later appends go
 * after it, and no temporary file is left. */
static void rewrite_replaces(void **state)
{
	struct fixture *fx = *state;
	char buf[256];
	for (int i = 0; i < 100; i++)
		assert_int_equal(journal_appendf(&fx->j, "f 5 %s\n", i % 2 ? "S" : "FS"), 0);
	assert_int_equal(fx->j.records, 100);
	assert_int_equal(journal_rewrite(&fx->j, "f 5 S\n", 6), 0);
	assert_int_equal(fx->j.records, 1);
	assert_int_equal(journal_append(&fx->j, "u 6\n", 4), 0);
	file_bytes(&fx->j, buf, sizeof buf);
	assert_string_equal(buf, "f 5 S\nu 6\n");
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.compact", fx->j.path);
	assert_int_equal(access(tmp, F_OK), -1);
}

/* Compaction bound: a journal is rewritten once it holds more than twice the
 * records its folder can need, and never below 8192 records, so a remount
 * reads at most that many. */
static void compaction_bound(void **state)
{
	struct fixture *fx = *state;
	fx->j.records = 8192;
	assert_false(journal_wants_compaction(&fx->j, 10));
	fx->j.records = 8193;
	assert_true(journal_wants_compaction(&fx->j, 10));
	fx->j.records = 20000;
	assert_false(journal_wants_compaction(&fx->j, 10000));
	fx->j.records = 20001;
	assert_true(journal_wants_compaction(&fx->j, 10000));
}

/* Space: an append leaves room allocated ahead of the end of the file (so a
 * filesystem filling up later does not refuse the next records), without
 * changing the file's size. */
static void room_reserved_ahead(void **state)
{
	struct fixture *fx = *state;
	struct stat st;
	assert_int_equal(journal_append(&fx->j, "u 1\n", 4), 0);
	assert_int_equal(stat(fx->j.path, &st), 0);
	assert_int_equal(st.st_size, 4);
	if (fx->j.allocated == fx->j.end)
		skip(); /* a filesystem without fallocate (tmpfs and ext4 have it) */
	assert_true(fx->j.allocated >= 4 + JOURNAL_CHUNK);
	assert_true((uint64_t)st.st_blocks * 512 >= JOURNAL_CHUNK);
}

/* The reserve file of the state directory: created whole, reported. */
static void reserve_file(void **state)
{
	struct fixture *fx = *state;
	uint64_t left, full;
	assert_int_equal(journal_reserve_init(fx->dir), 0);
	assert_int_equal(journal_reserve_state(fx->dir, &left, &full), 0);
	assert_int_equal(full, JOURNAL_RESERVE);
	assert_int_equal(left, JOURNAL_RESERVE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(append_then_replay, setup, teardown),
	    cmocka_unit_test_setup_teardown(torn_tail_cut, setup, teardown),
	    cmocka_unit_test_setup_teardown(readonly_reads_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(zeros_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(rewrite_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(compaction_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(room_reserved_ahead, setup, teardown),
	    cmocka_unit_test_setup_teardown(reserve_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
