/* test_name.c — stable maildir names (name.h; DESIGN.md "Names and identity";
 * courier-imap-maildir.md 2.2 for the flag letters; uw-imap-mbox.md 7 for UIDLs). */
#include "unit.h"

#include "name.h"

#include <stdio.h>

static struct mbx_message sample(void)
{
	struct mbx_message m;
	memset(&m, 0, sizeof m);
	m.date = 723275602; /* 1992-12-02 05:53:22 UTC */
	m.uid = 7;
	m.hash = 0x0123456789abcdefULL;
	m.size = 1234;
	m.flags = MBX_SEEN;
	return m;
}

/* name.h: <INTERNALDATE>.M<UID>V<UIDVALIDITY>X<hash, 16 hex>.mboxfs,S=<size> */
static void key_format(void **state)
{
	(void)state;
	struct mbx_message m = sample();
	char buf[MBX_NAME_MAX];
	size_t n = mbx_message_key(1000, &m, 0, buf);
	assert_string_equal(buf, "723275602.M7V1000X0123456789abcdef.mboxfs,S=1234");
	assert_int_equal(n, strlen(buf));
	m.hash = 0xab;
	mbx_message_key(1000, &m, 0, buf);
	assert_string_equal(buf, "723275602.M7V1000X00000000000000ab.mboxfs,S=1234");
}

/* DESIGN.md: every virtual name carries ",S=<size>"; name = key + ":2," + flags. */
static void name_is_key_plus_info(void **state)
{
	(void)state;
	struct mbx_message m = sample();
	char key[MBX_NAME_MAX], name[MBX_NAME_MAX];
	mbx_message_key(1000, &m, 0, key);
	size_t n = mbx_message_name(1000, &m, 0, name);
	assert_int_equal(n, strlen(name));
	assert_int_equal(strncmp(name, key, strlen(key)), 0);
	assert_string_equal(name + strlen(key), ":2,S");
	assert_non_null(strstr(name, ",S=1234:2,"));
	assert_null(strchr(name, '/'));
	assert_true(name[0] != '.');
}

/* courier-imap-maildir.md 2.2: D=Draft F=Flagged R=Answered S=Seen T=Deleted, written
 * in the order D F R S T; \Recent has no letter. */
static void flag_letters(void **state)
{
	(void)state;
	static const struct {
		uint8_t flags;
		const char *letters;
	} table[] = {
	    {0, ""},
	    {MBX_DRAFT, "D"},
	    {MBX_FLAGGED, "F"},
	    {MBX_ANSWERED, "R"},
	    {MBX_SEEN, "S"},
	    {MBX_DELETED, "T"},
	    {MBX_RECENT, ""},
	    {MBX_SEEN | MBX_RECENT, "S"},
	    {MBX_DELETED | MBX_SEEN | MBX_ANSWERED | MBX_FLAGGED | MBX_DRAFT, "DFRST"},
	    {MBX_DELETED | MBX_DRAFT, "DT"},
	    {MBX_SEEN | MBX_FLAGGED, "FS"},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		char out[6];
		mbx_flag_letters(table[i].flags, out);
		if (strcmp(out, table[i].letters))
			fail_msg("flags %#x: \"%s\", want \"%s\"", table[i].flags, out,
			         table[i].letters);
	}
	struct mbx_message m = sample();
	char name[MBX_NAME_MAX];
	m.flags = MBX_DELETED | MBX_SEEN | MBX_ANSWERED | MBX_FLAGGED | MBX_DRAFT | MBX_RECENT;
	mbx_message_name(1000, &m, 0, name);
	assert_string_equal(name, "723275602.M7V1000X0123456789abcdef.mboxfs,S=1234:2,DFRST");
}

/* A flag change is a record only for info letters mbx_flag_letters() could
 * have written (DESIGN.md: D F R S T, in that order); anything else is left to
 * a copy-up, so names stay exact. Every subset round-trips. */
static void parse_flag_letters(void **state)
{
	(void)state;
	for (uint8_t flags = 0; flags < 32; flags++) {
		char letters[6];
		uint8_t back = 0xff;
		mbx_flag_letters(flags, letters);
		assert_int_equal(mbx_parse_flag_letters(letters, &back), 0);
		assert_int_equal(back, flags);
	}
	static const char *const refused[] = {"SF", "SS", "a", "FSa", "s", "DFRSTX", ",", "P"};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		uint8_t flags;
		if (mbx_parse_flag_letters(refused[i], &flags) == 0)
			fail_msg("\"%s\" taken as flags %#x", refused[i], flags);
	}
	struct mbx_message m = sample();
	char name[MBX_NAME_MAX];
	m.flags = MBX_SEEN;
	mbx_message_name_flags(1000, &m, 0, MBX_FLAGGED | MBX_DELETED, name);
	assert_string_equal(name, "723275602.M7V1000X0123456789abcdef.mboxfs,S=1234:2,FT");
}

/* reference 7, DESIGN.md: the POP3 key is uw-ipop3d's UIDL, %08lx%08lx, lower case. */
static void pop3_key_is_uidl(void **state)
{
	(void)state;
	struct mbx_message m = sample();
	char buf[MBX_NAME_MAX];
	m.uid = 2;
	assert_int_equal(mbx_message_key(1795886874, &m, 1, buf), 16);
	assert_string_equal(buf, "6b0b0f1a00000002");
	m.flags = MBX_SEEN | MBX_FLAGGED;
	mbx_message_name(1795886874, &m, 1, buf);
	assert_string_equal(buf, "6b0b0f1a00000002:2,FS");
	m.uid = 0xabcdef;
	mbx_message_key(0xfedcba98, &m, 1, buf);
	assert_string_equal(buf, "fedcba9800abcdef");
}

/* DESIGN.md: the name is a pure function of its inputs. */
static void same_input_same_name(void **state)
{
	(void)state;
	struct mbx_message a = sample(), b = sample();
	char x[MBX_NAME_MAX], y[MBX_NAME_MAX];
	b.ctime = 12345; /* not part of the identity */
	b.offset = 999;
	mbx_message_name(1000, &a, 0, x);
	mbx_message_name(1000, &b, 0, y);
	assert_string_equal(x, y);
	mbx_message_name(1000, &a, 1, x);
	mbx_message_name(1000, &b, 1, y);
	assert_string_equal(x, y);
}

/* DESIGN.md: UIDVALIDITY, UID, hash, INTERNALDATE and size each change the key. */
static void different_input_different_key(void **state)
{
	(void)state;
	struct mbx_message base = sample(), m;
	char k0[MBX_NAME_MAX], k[MBX_NAME_MAX];
	mbx_message_key(1000, &base, 0, k0);

	mbx_message_key(1001, &base, 0, k);
	assert_string_not_equal(k, k0);
	m = base, m.uid++;
	mbx_message_key(1000, &m, 0, k);
	assert_string_not_equal(k, k0);
	m = base, m.hash ^= 1;
	mbx_message_key(1000, &m, 0, k);
	assert_string_not_equal(k, k0);
	m = base, m.size++;
	mbx_message_key(1000, &m, 0, k);
	assert_string_not_equal(k, k0);
	m = base, m.date++;
	mbx_message_key(1000, &m, 0, k);
	assert_string_not_equal(k, k0);
	/* flags are not part of the key */
	m = base, m.flags = MBX_DELETED;
	mbx_message_key(1000, &m, 0, k);
	assert_string_equal(k, k0);
}

/* name.h: INTERNALDATE is clamped at 0. */
static void negative_date_clamped(void **state)
{
	(void)state;
	struct mbx_message m = sample();
	char buf[MBX_NAME_MAX];
	m.date = -86400;
	mbx_message_key(1000, &m, 0, buf);
	assert_string_equal(buf, "0.M7V1000X0123456789abcdef.mboxfs,S=1234");
}

/* name.h: the longest possible name fits in MBX_NAME_MAX, untruncated. */
static void longest_name_fits(void **state)
{
	(void)state;
	struct mbx_message m = sample();
	char buf[MBX_NAME_MAX];
	m.date = MBX_MAX_DATE; /* the largest date struct mbx_message holds */
	m.uid = UINT32_MAX;
	m.hash = UINT64_MAX;
	m.size = UINT32_MAX;
	m.flags = 0x3f;
	size_t n = mbx_message_name(UINT32_MAX, &m, 0, buf);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "549755813887.M4294967295V4294967295Xffffffffffffffff"
	                         ".mboxfs,S=4294967295:2,DFRST");
}

/* name.h gives the key as printf formats: mbx_message_key() writes it by hand
 * (a listing makes thousands), so it is compared with snprintf and the
 * contract's formats over edge values and many pseudo-random ones. */
static void key_is_printf(void **state)
{
	(void)state;
	static const uint64_t edges[] = {0,
	                                 1,
	                                 9,
	                                 10,
	                                 99,
	                                 100,
	                                 0xf,
	                                 0x10,
	                                 0xffffffffULL,
	                                 0x100000000ULL,
	                                 (1ULL << 39) - 1,
	                                 UINT64_MAX};
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 20000; i++) {
		uint64_t r[5];
		for (int k = 0; k < 5; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
			r[k] = i < 12 * 12 ? edges[(i + k * 5) % 12] : x >> (x % 64);
		}
		struct mbx_message m;
		memset(&m, 0, sizeof m);
		m.date = (int64_t)(r[0] % (1ULL << 39)) - (i % 3 == 0 ? (int64_t)(r[0] % 1000) : 0);
		m.uid = (uint32_t)r[1];
		m.hash = r[2];
		m.size = (uint32_t)r[3];
		uint32_t uidvalidity = (uint32_t)r[4];
		uint8_t flags = (uint8_t)(i & 0x1f);
		char want[2 * MBX_NAME_MAX], got[MBX_NAME_MAX], letters[6];
		mbx_flag_letters(flags, letters);
		for (int pop3 = 0; pop3 <= 1; pop3++) {
			int n = pop3
			            ? snprintf(want, sizeof want, "%08x%08x", uidvalidity, m.uid)
			            : snprintf(want, sizeof want, "%lld.M%uV%uX%016llx.mboxfs,S=%u",
			                       (long long)(m.date > 0 ? m.date : 0), m.uid,
			                       uidvalidity, (unsigned long long)m.hash, m.size);
			assert_int_equal(mbx_message_key(uidvalidity, &m, pop3, got), n);
			assert_string_equal(got, want);
			snprintf(want + n, sizeof want - (size_t)n, ":2,%s", letters);
			assert_int_equal(mbx_message_name_flags(uidvalidity, &m, pop3, flags, got),
			                 strlen(want));
			assert_string_equal(got, want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(key_format),
	    cmocka_unit_test(name_is_key_plus_info),
	    cmocka_unit_test(flag_letters),
	    cmocka_unit_test(parse_flag_letters),
	    cmocka_unit_test(pop3_key_is_uidl),
	    cmocka_unit_test(same_input_same_name),
	    cmocka_unit_test(different_input_different_key),
	    cmocka_unit_test(negative_date_clamped),
	    cmocka_unit_test(longest_name_fits),
	    cmocka_unit_test(key_is_printf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
