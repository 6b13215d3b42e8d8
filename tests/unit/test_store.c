/* test_store.c — an mbox opened through its persistent index (store.h; DESIGN.md
 * "UIDs" and "Layers"). Every test works in fresh temp dirs: one for the state
 * (index files), one for the mbox files. */
#include "unit.h"

#include "store.h"
#include "temp_dirs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define FROM_A "From a@example.org Wed Dec  2 05:53:22 1992\n"
#define FROM_B "From b@example.org Thu Dec  3 06:00:00 1992\n"
#define FROM_C "From c@example.org Fri Dec  4 07:00:00 1992\n"
#define FROM_D "From d@example.org Sat Dec  5 08:00:00 1992\n"
#define FROM_E "From e@example.org Sun Dec  6 09:00:00 1992\n"

#define MSG1  FROM_A "Subject: one\n\nfirst body\n\n"
#define MSG2  FROM_B "Subject: two\nStatus: RO\n\nsecond body\n\n"
#define MSG3  FROM_C "Subject: three\n\nthird body\n\n"
#define MSG4  FROM_D "Subject: four\n\nfourth body\n\n"
#define MSG2X FROM_B "Subject: two\nStatus: RO\n\nSECOND BODY\n\n" /* same size as MSG2 */

#define KEY "user/INBOX"

static void write_file(const char *path, const char *data, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void put(const char *path, const char *text)
{
	write_file(path, text, strlen(text), O_TRUNC);
}

static void append(const char *path, const char *text)
{
	write_file(path, text, strlen(text), O_APPEND);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = malloc(1 << 20);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

/* Path of the only file in dir whose name ends in ext; "" if none. */
static void find_file(const char *dir, const char *ext, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t found = 0;
	assert_non_null(d);
	out[0] = '\0';
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), k = strlen(ext);
		if (e->d_name[0] == '.')
			continue;
		if (n > k && !strcmp(e->d_name + n - k, ext)) {
			snprintf(out, cap, "%s/%s", dir, e->d_name);
			found++;
		}
	}
	closedir(d);
	assert_true(found <= 1);
}

static void open_ok(struct mbx_file *f, const struct dirs *d, const char *path, const char *key)
{
	char err[512] = "";
	if (mbx_open(f, path, d->state, key, err, sizeof err) != 0)
		fail_msg("mbx_open: %s", err);
}

static void assert_uids(const struct mbx_file *f, const uint32_t *uids, size_t n)
{
	assert_int_equal(f->mb.nmsgs, n);
	for (size_t i = 0; i < n; i++)
		if (f->mb.msgs[i].uid != uids[i])
			fail_msg("message %zu: UID %u, want %u", i + 1, f->mb.msgs[i].uid, uids[i]);
}

/* The opened view shows what a fresh parse of the same bytes shows (UIDs aside). */
static void assert_like_fresh_parse(const struct mbx_file *f)
{
	struct mbx_mailbox fresh;
	parse_buf(&fresh, f->data, f->size);
	assert_int_equal(f->mb.kind, fresh.kind);
	assert_int_equal(f->mb.nmsgs, fresh.nmsgs);
	for (size_t i = 0; i < fresh.nmsgs; i++) {
		assert_int_equal(f->mb.msgs[i].offset, fresh.msgs[i].offset);
		assert_int_equal(f->mb.msgs[i].size, fresh.msgs[i].size);
		assert_int_equal(f->mb.msgs[i].hash, fresh.msgs[i].hash);
		assert_int_equal(f->mb.msgs[i].flags, fresh.msgs[i].flags);
		char *a = served(&f->mb, i, f->data), *b = served(&fresh, i, f->data);
		assert_memory_equal(a, b, fresh.msgs[i].size);
		free(a);
		free(b);
	}
	mbx_mailbox_free(&fresh);
}

/* store.h: no usable index -> parsed from scratch, an index is written, and an
 * any-stable UIDVALIDITY is chosen (DESIGN.md "UIDs"). */
static void first_open_parses_and_writes_index(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char idx[512], uidv[512];
	put(d->mbox, MSG1 MSG2 MSG3);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_PARSED);
	assert_int_equal(f.mb.kind, MBX_KIND_UNIX);
	assert_int_equal(f.mb.rule, MBX_RULE_ANY_STABLE);
	assert_int_not_equal(f.mb.uidvalidity, 0);
	static const uint32_t uids[] = {1, 2, 3};
	assert_uids(&f, uids, 3);
	assert_int_equal(f.mb.uidnext, 4);
	assert_served(&f.mb, 1, f.data, "Subject: two\n\nsecond body\n");
	mbx_close(&f);
	find_file(d->state, ".idx", idx, sizeof idx);
	find_file(d->state, ".uidv", uidv, sizeof uidv);
	assert_true(idx[0] != '\0');
	assert_true(uidv[0] != '\0');
}

/* store.h: an index matching the file is reused as is. */
static void reopen_reuses_index(void **state)
{
	struct dirs *d = *state;
	struct mbx_file a, b;
	put(d->mbox,
	    FROM_A "X-IMAPbase: 1000 10 Junk\nX-UID: 4\nX-Keywords: Junk\n\nx\n\n" MSG2 MSG3);
	open_ok(&a, d, d->mbox, KEY);
	open_ok(&b, d, d->mbox, KEY);
	assert_int_equal(a.how, MBX_OPEN_PARSED);
	assert_int_equal(b.how, MBX_OPEN_INDEX_REUSED);
	assert_int_equal(b.mb.kind, a.mb.kind);
	assert_int_equal(b.mb.rule, a.mb.rule);
	assert_int_equal(b.mb.uidvalidity, 1000);
	assert_int_equal(b.mb.uidnext, a.mb.uidnext);
	assert_int_equal(b.mb.nmsgs, a.mb.nmsgs);
	assert_memory_equal(b.mb.msgs, a.mb.msgs, a.mb.nmsgs * sizeof *a.mb.msgs);
	assert_string_equal(b.mb.keywords[0], "Junk");
	for (size_t i = 0; i < a.mb.nmsgs; i++) {
		char *x = served(&a.mb, i, a.data), *y = served(&b.mb, i, b.data);
		assert_string_equal(x, y);
		free(x);
		free(y);
	}
	mbx_close(&a);
	mbx_close(&b);
}

/* store.h, reference 5.8: appended mail -> only the tail is parsed; old UIDs stay,
 * the new message gets the old UIDNEXT. */
static void append_parses_tail(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	put(d->mbox, MSG1 MSG2 MSG3);
	open_ok(&f, d, d->mbox, KEY);
	uint32_t uidv = f.mb.uidvalidity, next = f.mb.uidnext;
	mbx_close(&f);
	append(d->mbox, MSG4);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_APPENDED);
	const uint32_t uids[] = {1, 2, 3, next};
	assert_uids(&f, uids, 4);
	assert_int_equal(f.mb.uidnext, next + 1);
	assert_int_equal(f.mb.uidvalidity, uidv);
	assert_served(&f.mb, 3, f.data, "Subject: four\n\nfourth body\n");
	assert_like_fresh_parse(&f);
	mbx_close(&f);
	/* and the appended state is itself reused next time */
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_INDEX_REUSED);
	assert_uids(&f, uids, 4);
	mbx_close(&f);
}

/* store.h, reference 5.8: in an exact mailbox, appended mail gets last-UID + 1. */
static void append_to_exact_mailbox(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	put(d->mbox, FROM_A "X-IMAPbase: 1000 10\nX-UID: 3\n\nx\n\n" FROM_B "X-UID: 7\n\ny\n\n");
	open_ok(&f, d, d->mbox, KEY);
	mbx_close(&f);
	append(d->mbox, MSG3 FROM_D "X-UID: 77\n\nz\n\n");
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_APPENDED);
	static const uint32_t uids[] = {3, 7, 11, 77};
	assert_uids(&f, uids, 4);
	assert_int_equal(f.mb.rule, MBX_RULE_EXACT);
	assert_int_equal(f.mb.uidvalidity, 1000);
	assert_int_equal(f.mb.uidnext, 78);
	mbx_close(&f);
}

/* store.h: a changed file is parsed again; unchanged messages of an any-stable mailbox
 * keep their UIDs, the changed one gets a UID above every earlier one. */
static void rewrite_keeps_unchanged_uids(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	put(d->mbox, MSG1 MSG2 MSG3);
	open_ok(&f, d, d->mbox, KEY);
	uint32_t uidv = f.mb.uidvalidity;
	mbx_close(&f);
	put(d->mbox, MSG1 MSG2X MSG3); /* same size, in place */
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_REBUILT);
	static const uint32_t uids[] = {1, 4, 3};
	assert_uids(&f, uids, 3);
	assert_int_equal(f.mb.uidnext, 5);
	assert_int_equal(f.mb.uidvalidity, uidv);
	assert_served(&f.mb, 1, f.data, "Subject: two\n\nSECOND BODY\n");
	assert_like_fresh_parse(&f);
	mbx_close(&f);
}

/* store.h: the same for the metadata rule (UIDs from the bad X-UID on are mboxfs's). */
static void rewrite_metadata_mailbox(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	const char *head =
	    FROM_A "X-IMAPbase: 1000 10\nX-UID: 5\n\na\n\n" FROM_B "X-UID: 3\n\nb\n\n";
	char text[1024];
	snprintf(text, sizeof text, "%s%s", head, FROM_C "Subject: c\n\nc\n\n");
	put(d->mbox, text);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.mb.rule, MBX_RULE_METADATA);
	static const uint32_t before[] = {5, 11, 12};
	assert_uids(&f, before, 3);
	mbx_close(&f);
	snprintf(text, sizeof text, "%s%s", head, FROM_C "Subject: C\n\nC\n\n");
	put(d->mbox, text);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_REBUILT);
	assert_int_equal(f.mb.rule, MBX_RULE_METADATA);
	assert_int_equal(f.mb.uidvalidity, 1000);
	static const uint32_t after[] = {5, 11, 13};
	assert_uids(&f, after, 3);
	assert_int_equal(f.mb.uidnext, 14);
	mbx_close(&f);
}

/* store.h: a shrunk file is rebuilt (no crash), and UIDs given before are not
 * handed out again. */
static void truncated_mbox_rebuilt(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	put(d->mbox, MSG1 MSG2 MSG3);
	open_ok(&f, d, d->mbox, KEY);
	uint32_t uidv = f.mb.uidvalidity;
	mbx_close(&f);

	assert_int_equal(truncate(d->mbox, (off_t)strlen(MSG1)), 0);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_REBUILT);
	static const uint32_t one[] = {1};
	assert_uids(&f, one, 1);
	assert_int_equal(f.mb.uidvalidity, uidv);
	assert_true(f.mb.uidnext >= 4);
	mbx_close(&f);

	append(d->mbox, MSG4);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.mb.nmsgs, 2);
	assert_true(f.mb.msgs[1].uid >= 4);
	mbx_close(&f);

	/* in the middle of a line, then to nothing */
	assert_int_equal(truncate(d->mbox, (off_t)strlen(MSG1) - 5), 0);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_REBUILT);
	assert_int_equal(f.mb.nmsgs, 1);
	assert_served(&f.mb, 0, f.data, "Subject: one\n\nfirst b");
	mbx_close(&f);
	assert_int_equal(truncate(d->mbox, 0), 0);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.mb.kind, MBX_KIND_EMPTY);
	assert_int_equal(f.mb.nmsgs, 0);
	mbx_close(&f);
}

enum damage { TRUNCATE_HALF, GARBAGE, EMPTY_FILE };

static void damage_index(const char *idx, enum damage how)
{
	size_t len;
	char *buf = slurp(idx, &len);
	assert_true(len > 64);
	switch (how) {
	case TRUNCATE_HALF:
		write_file(idx, buf, len / 2, O_TRUNC);
		break;
	case GARBAGE:
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)(i * 131 + 7);
		write_file(idx, buf, len, O_TRUNC);
		break;
	case EMPTY_FILE:
		write_file(idx, buf, 0, O_TRUNC);
		break;
	}
	free(buf);
}

/* store.h: a corrupt or truncated index is never trusted: the file is parsed again
 * and the any-stable UIDVALIDITY does not change. */
static void corrupt_index_never_trusted(void **state)
{
	struct dirs *d = *state;
	static const enum damage kinds[] = {TRUNCATE_HALF, GARBAGE, EMPTY_FILE};
	put(d->mbox, MSG1 MSG2 MSG3);
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		struct mbx_file f;
		char idx[512];
		open_ok(&f, d, d->mbox, KEY);
		uint32_t uidv = f.mb.uidvalidity;
		mbx_close(&f);
		find_file(d->state, ".idx", idx, sizeof idx);
		assert_true(idx[0] != '\0');
		damage_index(idx, kinds[k]);
		open_ok(&f, d, d->mbox, KEY);
		if (f.how == MBX_OPEN_INDEX_REUSED || f.how == MBX_OPEN_APPENDED)
			fail_msg("damage %zu: index trusted (%s)", k, mbx_open_how_name(f.how));
		static const uint32_t uids[] = {1, 2, 3};
		assert_uids(&f, uids, 3);
		assert_int_equal(f.mb.uidvalidity, uidv);
		assert_like_fresh_parse(&f);
		mbx_close(&f);
	}
}

/* store.h: any single flipped byte of an index makes it untrusted (it is checksummed). */
static void flipped_byte_never_trusted(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char idx[512];
	put(d->mbox, MSG1 MSG2 MSG3);
	open_ok(&f, d, d->mbox, KEY);
	uint32_t uidv = f.mb.uidvalidity;
	mbx_close(&f);
	find_file(d->state, ".idx", idx, sizeof idx);
	assert_true(idx[0] != '\0');
	size_t len;
	char *good = slurp(idx, &len);
	for (size_t at = 0; at < len; at += 7) {
		good[at] ^= 0x10;
		write_file(idx, good, len, O_TRUNC);
		good[at] ^= 0x10;
		open_ok(&f, d, d->mbox, KEY);
		if (f.how == MBX_OPEN_INDEX_REUSED || f.how == MBX_OPEN_APPENDED)
			fail_msg("index with byte %zu flipped trusted (%s)", at,
			         mbx_open_how_name(f.how));
		static const uint32_t uids[] = {1, 2, 3};
		assert_uids(&f, uids, 3);
		assert_int_equal(f.mb.uidvalidity, uidv);
		mbx_close(&f);
		free(good);
		good = slurp(idx, &len); /* the rewritten, sound index */
	}
	free(good);
}

/* store.h: an index written for another key is foreign: never trusted, even when it
 * is sound. */
static void foreign_index_never_trusted(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char other[160], idx_a[512], idx_b[512];
	/* the other mbox holds an extra message first, so its UIDs for MSG1..MSG3 are 2..4 */
	snprintf(other, sizeof other, "%s/other", d->mail);
	put(other, MSG4 MSG1 MSG2 MSG3);
	put(d->mbox, MSG1 MSG2 MSG3);
	open_ok(&f, d, d->mbox, KEY);
	uint32_t uidv = f.mb.uidvalidity;
	mbx_close(&f);
	find_file(d->state, ".idx", idx_a, sizeof idx_a);
	assert_true(idx_a[0] != '\0');
	char aside[600];
	snprintf(aside, sizeof aside, "%s.aside", idx_a);
	assert_int_equal(rename(idx_a, aside), 0);
	open_ok(&f, d, other, "resu/INBOX"); /* same length as KEY */
	mbx_close(&f);
	find_file(d->state, ".idx", idx_b, sizeof idx_b);
	assert_true(idx_b[0] != '\0');
	assert_int_equal(rename(idx_b, idx_a), 0); /* b's index where a's belongs */
	assert_int_equal(unlink(aside), 0);

	open_ok(&f, d, d->mbox, KEY);
	if (f.how == MBX_OPEN_INDEX_REUSED || f.how == MBX_OPEN_APPENDED)
		fail_msg("foreign index trusted (%s)", mbx_open_how_name(f.how));
	static const uint32_t uids[] = {1, 2, 3};
	assert_uids(&f, uids, 3);
	assert_int_equal(f.mb.uidnext, 4);
	assert_int_equal(f.mb.uidvalidity, uidv);
	assert_like_fresh_parse(&f);
	mbx_close(&f);
	unlink(other);
}

/* store.h, DESIGN.md: the any-stable UIDVALIDITY is chosen once per key and kept
 * across reopen, append, rebuild and loss of the index, as long as a parse from
 * scratch gives the UIDs handed out; once a rebuild kept UIDs that a parse from
 * scratch would not give, losing the index means a new UIDVALIDITY. */
static void any_stable_uidvalidity_is_stable(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char idx[512];
	put(d->mbox, MSG1 MSG2);
	open_ok(&f, d, d->mbox, KEY);
	uint32_t uidv = f.mb.uidvalidity;
	assert_int_not_equal(uidv, 0);
	mbx_close(&f);

	open_ok(&f, d, d->mbox, KEY); /* reopen */
	assert_int_equal(f.mb.uidvalidity, uidv);
	mbx_close(&f);
	append(d->mbox, MSG3); /* append */
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_APPENDED);
	assert_int_equal(f.mb.uidvalidity, uidv);
	mbx_close(&f);
	sleep(1); /* a freshly chosen value would differ now */
	find_file(d->state, ".idx", idx, sizeof idx);
	assert_int_equal(unlink(idx), 0); /* index lost: UIDs 1..3 rebuild as they were */
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_PARSED);
	assert_int_equal(f.mb.uidvalidity, uidv);
	mbx_close(&f);
	put(d->mbox, MSG1 MSG2X MSG3); /* rebuild */
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_REBUILT);
	assert_int_equal(f.mb.uidvalidity, uidv);
	mbx_close(&f);
	find_file(d->state, ".idx", idx, sizeof idx);
	assert_int_equal(unlink(idx), 0); /* index lost after UID 4 was given to MSG2X */
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_PARSED);
	assert_int_not_equal(f.mb.uidvalidity, uidv);
	mbx_close(&f);
}

/* RFC 3501 2.3.1.1 via DESIGN.md "UIDs" (never reuse UIDs) and store.h ("losing or
 * corrupting an index never changes" UIDVALIDITY; "new messages get UIDs above every
 * UID given before"): after a rebuild moved a message to a new UID, losing the index
 * must not give that UID's old number to other content under the same UIDVALIDITY. */
static void index_loss_never_reuses_a_uid(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char idx[512];
	put(d->mbox, MSG1 MSG2 MSG3);
	open_ok(&f, d, d->mbox, KEY);
	uint64_t hash2 = f.mb.msgs[1].hash; /* UID 2 names this content */
	mbx_close(&f);
	put(d->mbox, MSG1 MSG2X MSG3);
	open_ok(&f, d, d->mbox, KEY); /* the changed message becomes UID 4 */
	uint32_t uidv = f.mb.uidvalidity;
	assert_int_equal(f.mb.msgs[1].uid, 4);
	mbx_close(&f);
	find_file(d->state, ".idx", idx, sizeof idx);
	assert_int_equal(unlink(idx), 0);
	open_ok(&f, d, d->mbox, KEY);
	if (f.mb.uidvalidity == uidv) {
		for (size_t i = 0; i < f.mb.nmsgs; i++)
			if (f.mb.msgs[i].uid == 2 && f.mb.msgs[i].hash != hash2)
				fail_msg("UID 2 names other content under the same UIDVALIDITY %u",
				         uidv);
		assert_true(f.mb.uidnext >= 5);
	}
	mbx_close(&f);
}

/* store.h: with state_dir NULL nothing is written; any-stable UIDVALIDITY is 0. */
static void no_state_dir(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char err[512] = "", any[512];
	put(d->mbox, MSG1 MSG2);
	assert_int_equal(mbx_open(&f, d->mbox, NULL, KEY, err, sizeof err), 0);
	assert_int_equal(f.how, MBX_OPEN_PARSED);
	assert_int_equal(f.mb.uidvalidity, 0);
	assert_int_equal(f.mb.nmsgs, 2);
	mbx_close(&f);
	find_file(d->state, "", any, sizeof any);
	assert_string_equal(any, "");
}

/* store.h: errors come back as "<path>: <reason>". */
static void missing_mbox_reported(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char err[512] = "", path[160];
	snprintf(path, sizeof path, "%s/absent", d->mail);
	assert_int_equal(mbx_open(&f, path, d->state, KEY, err, sizeof err), -1);
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	assert_int_equal(err[strlen(path)], ':');
}

/* DESIGN.md: the source mboxes are never changed. */
static void source_mbox_unchanged(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	const char *text = MSG1 MSG2 MSG3;
	struct stat before, after;
	put(d->mbox, text);
	assert_int_equal(stat(d->mbox, &before), 0);
	open_ok(&f, d, d->mbox, KEY);
	mbx_close(&f);
	open_ok(&f, d, d->mbox, KEY);
	mbx_close(&f);
	char idx[512];
	find_file(d->state, ".idx", idx, sizeof idx);
	damage_index(idx, GARBAGE);
	open_ok(&f, d, d->mbox, KEY);
	mbx_close(&f);
	size_t len;
	char *now = slurp(d->mbox, &len);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(now, text, len);
	free(now);
	assert_int_equal(stat(d->mbox, &after), 0);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(after.st_mode, before.st_mode);
}

/* How many files in dir have part in their name. */
static size_t count_files(const char *dir, const char *part)
{
	DIR *dd = opendir(dir);
	struct dirent *e;
	size_t n = 0;
	assert_non_null(dd);
	while ((e = readdir(dd)))
		if (e->d_name[0] != '.' && strstr(e->d_name, part))
			n++;
	closedir(dd);
	return n;
}

static void open_batch_ok(struct mbx_file *f, const struct dirs *d, const char *path,
                          const char *key, struct mbx_batch *b)
{
	char err[512] = "";
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	if (mbx_open_fd_batch(f, fd, path, d->state, key, b, err, sizeof err) != 0)
		fail_msg("mbx_open_fd_batch: %s", err);
}

/* store.h "Batches": the view is mbx_open()'s; the index and the first
 * any-stable UIDVALIDITY are only temp files until the commit, which puts
 * them in place; a later open reuses them. */
static void batch_commit_puts_files_in_place(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f, g;
	char idx[512], uidv[512];
	put(d->mbox, MSG1 MSG2 MSG3);
	struct mbx_batch *b = mbx_batch_new(d->state);
	assert_non_null(b);
	open_batch_ok(&f, d, d->mbox, KEY, b);
	assert_int_equal(f.how, MBX_OPEN_PARSED);
	assert_int_equal(f.mb.rule, MBX_RULE_ANY_STABLE);
	assert_int_not_equal(f.mb.uidvalidity, 0);
	static const uint32_t uids[] = {1, 2, 3};
	assert_uids(&f, uids, 3);
	assert_like_fresh_parse(&f);
	assert_int_equal(mbx_batch_files(b), 2); /* the index and the .uidv */
	assert_true(mbx_batch_bytes(b) > 0);
	find_file(d->state, ".idx", idx, sizeof idx);
	find_file(d->state, ".uidv", uidv, sizeof uidv);
	assert_string_equal(idx, ""); /* nothing in place before the commit */
	assert_string_equal(uidv, "");
	assert_int_equal(count_files(d->state, ".tmp."), 2);

	assert_int_equal(mbx_batch_commit(b), 0);
	assert_int_equal(mbx_batch_files(b), 0);
	assert_int_equal(count_files(d->state, ".tmp."), 0);
	find_file(d->state, ".idx", idx, sizeof idx);
	find_file(d->state, ".uidv", uidv, sizeof uidv);
	assert_true(idx[0] != '\0');
	assert_true(uidv[0] != '\0');
	open_ok(&g, d, d->mbox, KEY);
	assert_int_equal(g.how, MBX_OPEN_INDEX_REUSED);
	assert_int_equal(g.mb.uidvalidity, f.mb.uidvalidity);
	assert_int_equal(g.mb.nmsgs, f.mb.nmsgs);
	assert_memory_equal(g.mb.msgs, f.mb.msgs, f.mb.nmsgs * sizeof *f.mb.msgs);
	mbx_close(&g);
	mbx_close(&f);
	mbx_batch_free(b);
}

/* store.h "Batches": what was not committed changes nothing (the old index
 * stays byte for byte, the temp files go); the next open does the work again. */
static void batch_not_committed_changes_nothing(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char idx[512];
	size_t before_len, after_len;
	put(d->mbox, MSG1 MSG2);
	open_ok(&f, d, d->mbox, KEY);
	mbx_close(&f);
	find_file(d->state, ".idx", idx, sizeof idx);
	char *before = slurp(idx, &before_len);

	append(d->mbox, MSG3);
	struct mbx_batch *b = mbx_batch_new(d->state);
	assert_non_null(b);
	open_batch_ok(&f, d, d->mbox, KEY, b);
	assert_int_equal(f.how, MBX_OPEN_APPENDED);
	assert_int_equal(f.mb.nmsgs, 3);
	mbx_close(&f);
	assert_int_equal(mbx_batch_files(b), 1);
	mbx_batch_free(b); /* dropped, as a crash before the commit would */

	assert_int_equal(count_files(d->state, ".tmp."), 0);
	char *after = slurp(idx, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	free(before);
	free(after);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_APPENDED);
	static const uint32_t uids[] = {1, 2, 3};
	assert_uids(&f, uids, 3);
	mbx_close(&f);
}

/* store.h "Batches": many mailboxes, one commit; each is then reused. With n
 * mailboxes, two of every three any-stable: n indexes and 2n/3 .uidv files.
 * Each source is read into the batch's one buffer, not mapped: every view
 * holds its own file's bytes (sizes go up and down) and parses as they do. */
static void batch_of_mailboxes(const struct dirs *d, int n)
{
	struct mbx_file f;
	char paths[12][160], keys[12][32];
	const char *texts[3] = {MSG1, MSG1 MSG2,
	                        FROM_A "X-IMAPbase: 1000 10\nX-UID: 4\n\nx\n\n" MSG3};
	struct mbx_batch *b = mbx_batch_new(d->state);
	assert_non_null(b);
	for (int i = 0; i < n; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/box%d", d->mail, i);
		snprintf(keys[i], sizeof keys[i], "user/box%d", i);
		put(paths[i], texts[i % 3]);
		open_batch_ok(&f, d, paths[i], keys[i], b);
		assert_int_equal(f.how, MBX_OPEN_PARSED);
		assert_false(f.mapped);
		size_t len;
		char *bytes = slurp(paths[i], &len);
		assert_int_equal(f.size, len);
		assert_memory_equal(f.data, bytes, len);
		free(bytes);
		assert_like_fresh_parse(&f);
		mbx_close(&f);
	}
	assert_int_equal(mbx_batch_files(b), (size_t)(n + n / 3 * 2));
	assert_int_equal(mbx_batch_commit(b), 0);
	assert_int_equal(count_files(d->state, ".tmp."), 0);
	assert_int_equal(count_files(d->state, ".idx"), (size_t)n);
	assert_int_equal(count_files(d->state, ".uidv"), (size_t)(n / 3 * 2));
	for (int i = 0; i < n; i++) {
		open_ok(&f, d, paths[i], keys[i]);
		assert_int_equal(f.how, MBX_OPEN_INDEX_REUSED);
		mbx_close(&f);
		unlink(paths[i]);
	}
	mbx_batch_free(b);
}

/* a few files: fsynced one by one */
static void batch_of_few_mailboxes(void **state)
{
	batch_of_mailboxes(*state, 3);
}

/* more than 8 files: one syncfs() */
static void batch_of_many_mailboxes(void **state)
{
	batch_of_mailboxes(*state, 12);
}

/* store.h "Batches": a commit that cannot be made fails, and leaves the batch
 * empty (here the state directory went away under it). */
static void batch_commit_failure_reported(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	put(d->mbox, MSG1 MSG2);
	struct mbx_batch *b = mbx_batch_new(d->state);
	assert_non_null(b);
	open_batch_ok(&f, d, d->mbox, KEY, b);
	mbx_close(&f);
	char moved[80];
	snprintf(moved, sizeof moved, "%s.moved", d->state);
	assert_int_equal(rename(d->state, moved), 0);
	errno = 0;
	assert_int_equal(mbx_batch_commit(b), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(mbx_batch_files(b), 0);
	mbx_batch_free(b);
	char idx[512];
	find_file(moved, ".idx", idx, sizeof idx);
	assert_string_equal(idx, ""); /* nothing put in place */
	assert_int_equal(rename(moved, d->state), 0);
}

/* store.h "Batches": a batch merged into another is committed with it, and
 * is empty afterwards (freeing it removes nothing). */
static void batch_merge_commits_both(void **state)
{
	struct dirs *d = *state;
	struct mbx_file f;
	char other[160];
	snprintf(other, sizeof other, "%s/other", d->mail);
	put(d->mbox, MSG1 MSG2);
	put(other, MSG3);
	struct mbx_batch *a = mbx_batch_new(d->state), *b = mbx_batch_new(d->state);
	assert_non_null(a);
	assert_non_null(b);
	open_batch_ok(&f, d, d->mbox, KEY, a);
	mbx_close(&f);
	open_batch_ok(&f, d, other, "user/other", b);
	mbx_close(&f);
	struct mbx_batch *empty = mbx_batch_new(d->state);
	assert_non_null(empty);
	assert_int_equal(mbx_batch_merge(a, empty), 0); /* nothing to move */
	assert_int_equal(mbx_batch_files(a), 2);
	assert_int_equal(mbx_batch_merge(empty, b), 0); /* into one with nothing yet */
	assert_int_equal(mbx_batch_files(empty), 2);
	assert_int_equal(mbx_batch_merge(b, empty), 0);
	mbx_batch_free(empty);
	uint64_t bytes = mbx_batch_bytes(a) + mbx_batch_bytes(b);
	assert_int_equal(mbx_batch_merge(a, b), 0);
	assert_int_equal(mbx_batch_files(a), 4);
	assert_int_equal(mbx_batch_bytes(a), bytes);
	assert_int_equal(mbx_batch_files(b), 0);
	mbx_batch_free(b); /* nothing of its own left to drop */
	assert_int_equal(count_files(d->state, ".tmp."), 4);
	assert_int_equal(mbx_batch_commit(a), 0);
	assert_int_equal(count_files(d->state, ".tmp."), 0);
	open_ok(&f, d, d->mbox, KEY);
	assert_int_equal(f.how, MBX_OPEN_INDEX_REUSED);
	mbx_close(&f);
	open_ok(&f, d, other, "user/other");
	assert_int_equal(f.how, MBX_OPEN_INDEX_REUSED);
	mbx_close(&f);
	mbx_batch_free(a);
}

/* store.h: the sweep removes only the temp names index writes give, and only
 * once they are older than asked. */
static void sweep_removes_old_temp_files_only(void **state)
{
	struct dirs *d = *state;
	static const char *const names[] = {
	    "0123456789abcdef0123456789abcdef.idx.tmp.4242",  /* old: removed */
	    "0123456789abcdef0123456789abcdef.uidv.tmp.4242", /* old: removed */
	    "fedcba9876543210fedcba9876543210.idx.tmp.77",    /* young: kept */
	    "0123456789abcdef0123456789abcdef.idx",           /* not a temp file */
	    "0123456789abcdef0123456789abcdef.idx.tmp.12x",   /* not our name */
	    "0123456789ABCDEF0123456789abcdef.idx.tmp.1",     /* not our name */
	    "notes.idx.tmp.1",                                /* not our name */
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/%s", d->state, names[i]);
		put(path, "x");
		if (i == 2)
			continue;
		struct timespec old[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
		assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	}
	assert_int_equal(mbx_state_sweep(d->state, 3600), 2);
	assert_int_equal(count_files(d->state, ".uidv"), 0);
	assert_int_equal(count_files(d->state, ".tmp."), 4);
	assert_int_equal(count_files(d->state, "fedcba"), 1);
	assert_int_equal(mbx_state_sweep(d->state, 3600), 0);
	char moved[80];
	snprintf(moved, sizeof moved, "%s.gone", d->state);
	assert_int_equal(mbx_state_sweep(moved, 3600), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(first_open_parses_and_writes_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(reopen_reuses_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(append_parses_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(append_to_exact_mailbox, setup, teardown),
	    cmocka_unit_test_setup_teardown(rewrite_keeps_unchanged_uids, setup, teardown),
	    cmocka_unit_test_setup_teardown(rewrite_metadata_mailbox, setup, teardown),
	    cmocka_unit_test_setup_teardown(truncated_mbox_rebuilt, setup, teardown),
	    cmocka_unit_test_setup_teardown(corrupt_index_never_trusted, setup, teardown),
	    cmocka_unit_test_setup_teardown(flipped_byte_never_trusted, setup, teardown),
	    cmocka_unit_test_setup_teardown(foreign_index_never_trusted, setup, teardown),
	    cmocka_unit_test_setup_teardown(any_stable_uidvalidity_is_stable, setup, teardown),
	    cmocka_unit_test_setup_teardown(index_loss_never_reuses_a_uid, setup, teardown),
	    cmocka_unit_test_setup_teardown(no_state_dir, setup, teardown),
	    cmocka_unit_test_setup_teardown(missing_mbox_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(source_mbox_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_commit_puts_files_in_place, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_not_committed_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_of_few_mailboxes, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_of_many_mailboxes, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_commit_failure_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(batch_merge_commits_both, setup, teardown),
	    cmocka_unit_test_setup_teardown(sweep_removes_old_temp_files_only, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
