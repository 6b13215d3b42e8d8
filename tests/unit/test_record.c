/* test_record.c — a message as index files store it (record.h): the documented
 * 56-byte layout of format version 1, read and written field by field whatever
 * struct mbx_message (mbox.h, 48 bytes) is in memory. */
#include "unit.h"

#include "from_line.h"
#include "record.h"
#include "store.h"
#include "temp_dirs.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

/* Puts a value of n bytes at offset off of a record, as record.h places it
 * (machine byte order, which the index header's endian word pins). */
static void put(unsigned char *r, size_t off, const void *v, size_t n)
{
	memcpy(r + off, v, n);
}

static void assert_same_message(const struct mbx_message *a, const struct mbx_message *b)
{
	assert_true(a->offset == b->offset);
	assert_true(a->hash == b->hash);
	assert_true(a->date == b->date);
	assert_int_equal(a->zone, b->zone);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->ncuts, b->ncuts);
	assert_int_equal(a->raw_len, b->raw_len);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->keywords, b->keywords);
	assert_int_equal(a->bits, b->bits);
	assert_int_equal(a->cut_first, b->cut_first);
	assert_int_equal(a->ctime, b->ctime);
}

/* A record put together from the layout in record.h's contract, each field
 * a distinct value, decodes to those values and encodes back to its bytes. */
static void record_by_hand(void **state)
{
	(void)state;
	unsigned char r[MBX_RECORD_SIZE], again[MBX_RECORD_SIZE];
	memset(r, 0, sizeof r);
	uint64_t offset = 0x0000123456789abcULL, hash = 0xfedcba9876543210ULL;
	int64_t date = 723275602; /* Wed Dec  2 05:53:22 1992 */
	uint32_t raw_len = 4321, size = 4300, uid = 77, keywords = 0x20000005, cut_first = 9,
	         ctime = 1700000000;
	int16_t zone = -480;
	uint16_t ncuts = 3;
	unsigned char flags = MBX_SEEN | MBX_ANSWERED, bits = MBX_HAS_CR;
	put(r, 0, &offset, 8);
	put(r, 8, &hash, 8);
	put(r, 16, &date, 8);
	put(r, 24, &raw_len, 4);
	put(r, 28, &size, 4);
	put(r, 32, &uid, 4);
	put(r, 36, &keywords, 4);
	put(r, 40, &cut_first, 4);
	put(r, 44, &ctime, 4);
	put(r, 48, &zone, 2);
	put(r, 50, &ncuts, 2);
	put(r, 52, &flags, 1);
	put(r, 53, &bits, 1);

	struct mbx_message m;
	memset(&m, 0, sizeof m);
	assert_int_equal(mbx_record_decode(r, &m), 0);
	assert_true(m.offset == offset);
	assert_true(m.hash == hash);
	assert_true(m.date == date);
	assert_int_equal(m.raw_len, raw_len);
	assert_int_equal(m.size, size);
	assert_int_equal(m.uid, uid);
	assert_int_equal(m.keywords, keywords);
	assert_int_equal(m.cut_first, cut_first);
	assert_int_equal(m.ctime, ctime);
	assert_int_equal(m.zone, zone);
	assert_int_equal(m.ncuts, ncuts);
	assert_int_equal(m.flags, flags);
	assert_int_equal(m.bits, bits);
	memset(again, 0xa5, sizeof again);
	mbx_record_encode(&m, again);
	assert_memory_equal(again, r, sizeof r);
}

/* Every field at the ends of what struct mbx_message holds comes back
 * unchanged through a record, and the record through a message. */
static void limits_round_trip(void **state)
{
	(void)state;
	struct mbx_message lo, hi;
	memset(&lo, 0, sizeof lo);
	memset(&hi, 0, sizeof hi);
	lo.date = MBX_MIN_DATE;
	lo.zone = INT16_MIN; /* MBX_ZONE_MINUS_ZERO */
	hi.offset = MBX_MAX_OFFSET;
	hi.hash = UINT64_MAX;
	hi.date = MBX_MAX_DATE;
	hi.zone = INT16_MAX;
	hi.flags = UINT8_MAX;
	hi.ncuts = UINT16_MAX;
	hi.raw_len = hi.size = hi.uid = hi.cut_first = hi.ctime = UINT32_MAX;
	hi.keywords = (1u << MBX_MAX_KEYWORDS) - 1;
	hi.bits = MBX_HAS_CR | MBX_NUL_AS_SPACE;
	const struct mbx_message *cases[] = {&lo, &hi};
	for (size_t i = 0; i < 2; i++) {
		unsigned char r[MBX_RECORD_SIZE], again[MBX_RECORD_SIZE];
		struct mbx_message back;
		memset(&back, 0x5a, sizeof back);
		mbx_record_encode(cases[i], r);
		assert_int_equal(r[54], 0);
		assert_int_equal(r[55], 0);
		assert_int_equal(mbx_record_decode(r, &back), 0);
		assert_same_message(&back, cases[i]);
		mbx_record_encode(&back, again);
		assert_memory_equal(again, r, sizeof r);
	}
	/* the widest values land in their own bytes: record of hi, field by field */
	unsigned char r[MBX_RECORD_SIZE];
	mbx_record_encode(&hi, r);
	uint64_t u64;
	int64_t i64;
	memcpy(&u64, r, 8);
	assert_true(u64 == MBX_MAX_OFFSET);
	memcpy(&i64, r + 16, 8);
	assert_true(i64 == MBX_MAX_DATE);
	mbx_record_encode(&lo, r);
	memcpy(&i64, r + 16, 8);
	assert_true(i64 == MBX_MIN_DATE);
}

/* The dates a From_ line can give (years 1970-2097, from_line.h, with the
 * widest numeric zones, in local time at UTC+14 and UTC-12) fit the date and
 * zone fields. */
static void parsed_dates_fit(void **state)
{
	(void)state;
	static const char *const lines[] = {
	    "From u@h Thu Jan  1 00:00:00 1970 +9959\n", /* before the epoch */
	    "From u@h Thu Jan  1 00:00:00 1970\n",       /* local time */
	    "From u@h Tue Dec 31 23:59:59 2097 -9959\n", /* the latest */
	    "From u@h Tue Dec 31 23:59:59 2097\n",
	    "From u@h Wed Jan  1 00:00:00 2098 +0000\n", /* out of range: 1970 */
	    "From u@h Thu Jan  1 00:00:00 1970 -0000\n",
	};
	static const char *const zones[] = {"Pacific/Kiritimati", "Etc/GMT+12"};
	int64_t latest = 0;
	for (size_t z = 0; z < 2; z++) {
		setenv("TZ", zones[z], 1);
		tzset();
		for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
			assert_true(mbx_from_line_valid(lines[i], strlen(lines[i])));
			struct mbx_from_date d;
			mbx_from_line_date(lines[i], strlen(lines[i]), &d);
			struct mbx_message m;
			memset(&m, 0, sizeof m);
			m.date = d.time;
			m.zone = d.zone;
			if (m.date != d.time || m.zone != d.zone)
				fail_msg("%s: date %lld zone %d held as %lld %d", lines[i],
				         (long long)d.time, d.zone, (long long)m.date, m.zone);
			latest = d.time > latest ? d.time : latest;
		}
	}
	assert_true(latest > INT32_MAX); /* 2097: more than 32 bits signed */
	setenv("TZ", "UTC", 1);
	tzset();
}

/* Values struct mbx_message cannot hold are refused, the message left as it
 * was, never cut down to fit. */
static void unholdable_refused(void **state)
{
	(void)state;
	struct mbx_message ok;
	memset(&ok, 0, sizeof ok);
	ok.uid = 5;
	unsigned char base[MBX_RECORD_SIZE];
	mbx_record_encode(&ok, base);
	struct {
		size_t off, n;
		uint64_t v;
	} bad[] = {
	    {0, 8, MBX_MAX_OFFSET + 1},
	    {0, 8, UINT64_MAX},
	    {16, 8, (uint64_t)(MBX_MAX_DATE + 1)},
	    {16, 8, (uint64_t)(MBX_MIN_DATE - 1)},
	    {16, 8, (uint64_t)INT64_MAX},
	    {16, 8, (uint64_t)INT64_MIN},
	    {36, 4, 1u << MBX_MAX_KEYWORDS},
	    {36, 4, UINT32_MAX},
	    {53, 1, 4},
	    {53, 1, UINT8_MAX},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unsigned char r[MBX_RECORD_SIZE];
		memcpy(r, base, sizeof r);
		if (bad[i].n == 8)
			put(r, bad[i].off, &bad[i].v, 8);
		else if (bad[i].n == 4) {
			uint32_t v = (uint32_t)bad[i].v;
			put(r, bad[i].off, &v, 4);
		} else
			r[bad[i].off] = (unsigned char)bad[i].v;
		struct mbx_message m;
		memset(&m, 0x5a, sizeof m);
		unsigned char before[sizeof m];
		memcpy(before, &m, sizeof m);
		if (mbx_record_decode(r, &m) != -1)
			fail_msg("case %zu: value %llu at %zu taken", i,
			         (unsigned long long)bad[i].v, bad[i].off);
		assert_memory_equal(&m, before, sizeof m);
	}
}

/* ---- index files (store.h) ---- */

#define KEY "user/INBOX"
/* X-IMAPbase declares the keywords (reference 3.1); a CR in the first
 * message and a hidden header in both make bits and cuts. */
#define MBOX                                                                                       \
	FROM_LINE "Subject: one\nX-IMAPbase: 1000 20 $Label1 Junk\nX-Keywords: "                   \
	          "Junk\n\nbody\r\n\n" FROM_LINE "Subject: two\nStatus: RO\n\nsecond\n\n"

/* temp_dirs.h's directories, with MBOX as the mbox. */
static int setup_mbox(void **state)
{
	if (setup(state) < 0)
		return -1;
	struct dirs *d = *state;
	FILE *f = fopen(d->mbox, "w");
	if (!f)
		return -1;
	fputs(MBOX, f);
	return fclose(f);
}

/* The index file of KEY in the state directory. */
static const char *index_of(const struct dirs *d)
{
	static char path[4096];
	mbx_state_path(path, sizeof path, d->state, KEY, "idx");
	return path;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	char *buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void spit(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* Where the records are in an index file's bytes: after the header, key and
 * keyword names, before the cuts, anomalies and checksum (store.c). */
static size_t records_at(size_t len, const struct mbx_mailbox *mb)
{
	return len - 8 - mb->nanomalies * sizeof(struct mbx_anomaly) -
	       mb->ncuts * sizeof(struct mbx_cut) - mb->nmsgs * MBX_RECORD_SIZE;
}

/* The index file holds each message as its documented record, and reading
 * the file gives the messages a fresh parse gives. */
static void index_file_holds_records(void **state)
{
	struct dirs *d = *state;
	char err[512];
	struct mbx_file f;
	assert_int_equal(mbx_open(&f, d->mbox, d->state, KEY, err, sizeof err), 0);
	assert_int_equal(f.how, MBX_OPEN_PARSED);
	assert_int_equal(f.mb.nmsgs, 2);
	assert_true(f.mb.msgs[0].bits & MBX_HAS_CR);
	assert_int_not_equal(f.mb.msgs[0].keywords, 0);
	size_t len;
	char *buf = slurp(index_of(d), &len);
	size_t at = records_at(len, &f.mb);
	for (size_t i = 0; i < f.mb.nmsgs; i++) {
		unsigned char r[MBX_RECORD_SIZE];
		mbx_record_encode(&f.mb.msgs[i], r);
		assert_memory_equal(buf + at + i * MBX_RECORD_SIZE, r, sizeof r);
	}
	struct mbx_mailbox back;
	mbx_mailbox_init(&back);
	assert_int_equal(mbx_index_parse(buf, len, KEY, &back), 1);
	assert_int_equal(back.nmsgs, f.mb.nmsgs);
	for (size_t i = 0; i < f.mb.nmsgs; i++)
		assert_same_message(&back.msgs[i], &f.mb.msgs[i]);
	mbx_mailbox_free(&back);
	struct mbx_file again; /* reused as it is: nothing written */
	assert_int_equal(mbx_open(&again, d->mbox, d->state, KEY, err, sizeof err), 0);
	assert_int_equal(again.how, MBX_OPEN_INDEX_REUSED);
	for (size_t i = 0; i < f.mb.nmsgs; i++)
		assert_same_message(&again.mb.msgs[i], &f.mb.msgs[i]);
	size_t len2;
	char *buf2 = slurp(index_of(d), &len2);
	assert_int_equal(len2, len);
	assert_memory_equal(buf2, buf, len);
	free(buf2);
	free(buf);
	mbx_close(&again);
	mbx_close(&f);
}

/* A sound, checksummed index with a value the message table cannot hold
 * (an offset of 2^48) is not trusted: the mbox is parsed again and served
 * as a parse gives it, the index written anew. */
static void unholdable_index_rebuilt(void **state)
{
	struct dirs *d = *state;
	char err[512];
	struct mbx_file f;
	assert_int_equal(mbx_open(&f, d->mbox, d->state, KEY, err, sizeof err), 0);
	size_t len;
	char *buf = slurp(index_of(d), &len);
	size_t at = records_at(len, &f.mb);
	uint64_t huge = MBX_MAX_OFFSET + 1 + f.mb.msgs[1].offset; /* cut to 48 bits: the same */
	memcpy(buf + at + MBX_RECORD_SIZE, &huge, 8);
	uint64_t sum = XXH3_64bits(buf, len - 8);
	memcpy(buf + len - 8, &sum, 8);
	spit(index_of(d), buf, len);
	struct mbx_mailbox back;
	mbx_mailbox_init(&back);
	assert_int_equal(mbx_index_parse(buf, len, KEY, &back), 0);
	assert_int_equal(back.nmsgs, 0);
	struct mbx_file again;
	assert_int_equal(mbx_open(&again, d->mbox, d->state, KEY, err, sizeof err), 0);
	assert_int_equal(again.how, MBX_OPEN_PARSED);
	assert_int_equal(again.mb.nmsgs, f.mb.nmsgs);
	assert_true(again.mb.msgs[1].offset == f.mb.msgs[1].offset);
	assert_int_equal(again.mb.msgs[1].uid, f.mb.msgs[1].uid);
	size_t len2;
	char *buf2 = slurp(index_of(d), &len2); /* the index written again is sound */
	assert_int_equal(mbx_index_parse(buf2, len2, KEY, &back), 1);
	assert_true(back.msgs[1].offset == f.mb.msgs[1].offset);
	mbx_mailbox_free(&back);
	free(buf2);
	free(buf);
	mbx_close(&again);
	mbx_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(record_by_hand),
	    cmocka_unit_test(limits_round_trip),
	    cmocka_unit_test(parsed_dates_fit),
	    cmocka_unit_test(unholdable_refused),
	    cmocka_unit_test_setup_teardown(index_file_holds_records, setup_mbox, teardown),
	    cmocka_unit_test_setup_teardown(unholdable_index_rebuilt, setup_mbox, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
