/* test_from_line.c — the From_ line: validity (c-client's VALID, reference 1.2)
 * and INTERNALDATE (reference 1.3), through from_line.h. */
#include "unit.h"

#include "from_line.h"

#include <stdio.h>
#include <time.h>

static int valid(const char *line)
{
	return mbx_from_line_valid(line, strlen(line));
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* INTERNALDATE of a line as imapd prints it. */
static enum mbx_date_status date_of(const char *line, char *buf)
{
	struct mbx_from_date d;
	mbx_from_line_date(line, strlen(line), &d);
	mbx_format_internaldate(d.time, d.zone, buf);
	return d.status;
}

static void assert_date(const char *line, const char *expect)
{
	char buf[MBX_DATE_STRLEN];
	date_of(line, buf);
	assert_string_equal(buf, expect);
}

/* ---- validity: reference 1.2 ---- */

/* 1.2 item 4: the five shapes, each with and without :ss. */
static const char *const shapes[] = {
    "From user@host Wed Dec  2 05:53:22 1992\n",
    "From user@host Wed Dec  2 05:53 1992\n",
    "From user@host Wed Dec  2 05:53:22 PST 1992\n",
    "From user@host Wed Dec  2 05:53 PST 1992\n",
    "From user@host Wed Dec  2 05:53:22 -0700 1992\n",
    "From user@host Wed Dec  2 05:53 -0700 1992\n",
    "From user@host Wed Dec  2 05:53:22 1992 PST\n",
    "From user@host Wed Dec  2 05:53 1992 PST\n",
    "From user@host Wed Dec  2 05:53:22 1992 -0700\n",
    "From user@host Wed Dec  2 05:53 1992 -0700\n",
};

static void valid_all_ten_shapes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		if (!valid(shapes[i]))
			fail_msg("rejected: %s", shapes[i]);
	}
}

/* 1.2 items 2 and 4: " remote from HOST" after a shape is cut off first. */
static void valid_remote_from(void **state)
{
	(void)state;
	assert_true(valid("From user Wed Dec  2 05:53:22 1992 remote from uunet\n"));
	assert_true(valid("From user Wed Dec  2 05:53 -0700 1992 remote from relay.example\n"));
}

/* 1.2 item 5: the sender may be empty; the space after "From " precedes the weekday. */
static void valid_empty_sender(void **state)
{
	(void)state;
	assert_true(valid("From Wed Dec  2 05:53:22 1992\n"));
}

/* 1.2 item 3: the remainder must be at least 27 characters. */
static void reject_too_short(void **state)
{
	(void)state;
	/* every separator is where VALID wants it, but the line is 26 characters */
	assert_false(valid("From Wed Dec  2 05:53 1992\n"));
	assert_true(valid("From a Wed Dec  2 05:53 1992\n"));
}

/* 1.2 item 1: capital F, exactly "From ". */
static void reject_lowercase_from(void **state)
{
	(void)state;
	assert_false(valid("from user Wed Dec  2 05:53:22 1992\n"));
	assert_false(valid("FROM user Wed Dec  2 05:53:22 1992\n"));
	assert_false(valid("From:user Wed Dec  2 05:53:22 1992\n"));
}

/* 1.2 item 5: the day field is exactly two characters. */
static void day_field(void **state)
{
	(void)state;
	assert_true(valid("From user Wed Dec 02 05:53:22 1992\n"));
	assert_true(valid("From user Sat Dec 12 05:53:22 1992\n"));
	assert_false(valid("From user Wed Dec 2 05:53:22 1992\n"));
}

/* 1.2 "Rejected": 2-digit year. */
static void reject_two_digit_year(void **state)
{
	(void)state;
	assert_false(valid("From user Wed Dec  2 05:53:22 92\n"));
}

/* 1.2 "Rejected": 4-letter zone before or after the year. */
static void reject_four_letter_zone(void **state)
{
	(void)state;
	assert_false(valid("From user Wed Dec  2 05:53:22 CEST 1992\n"));
	assert_false(valid("From user Wed Dec  2 05:53:22 1992 CEST\n"));
}

/* 1.2 "Rejected": "+02:00". */
static void reject_colon_zone(void **state)
{
	(void)state;
	assert_false(valid("From user Wed Dec  2 05:53:22 1992 +02:00\n"));
	assert_false(valid("From user Wed Dec  2 05:53:22 +02:00 1992\n"));
}

/* 1.2 "Rejected": RFC 2822 dates. */
static void reject_rfc2822_date(void **state)
{
	(void)state;
	assert_false(valid("From user Wed, 2 Dec 1992 05:53:22 -0700\n"));
	assert_false(valid("From user Wed, 02 Dec 1992 05:53:22 +0000\n"));
}

/* 1.2 "Rejected": trailing white space, other than the single CR of CRLF. */
static void reject_trailing_space(void **state)
{
	(void)state;
	assert_false(valid("From user Wed Dec  2 05:53:22 1992 \n"));
	assert_false(valid("From user Wed Dec  2 05:53:22 1992\t\n"));
	assert_false(valid("From user Wed Dec  2 05:53:22 1992 -0700 \n"));
	assert_false(valid("From user Wed Dec  2 05:53:22 1992\r\r\n"));
}

/* 1.2 "Rejected": one-digit hour; 1.2 item 5: hours two characters. */
static void reject_one_digit_hour(void **state)
{
	(void)state;
	assert_false(valid("From user Wed Dec  2 5:53:22 1992\n"));
}

/* 1.2 "Rejected": one-digit seconds. */
static void reject_one_digit_seconds(void **state)
{
	(void)state;
	assert_false(valid("From user Wed Dec  2 05:53:2 1992\n"));
}

/* 1.2 "Accepted even though meaningless": unknown weekday and month. */
static void accept_unknown_month(void **state)
{
	(void)state;
	assert_true(valid("From user Xyz Abc  2 05:53:22 1992\n"));
}

/* 1.2 "Accepted even though meaningless": digits are not checked (25:99, 1969, 2098). */
static void accept_meaningless_numbers(void **state)
{
	(void)state;
	assert_true(valid("From user Wed Dec  2 25:99:22 1992\n"));
	assert_true(valid("From user Wed Dec  2 05:53:22 1969\n"));
	assert_true(valid("From user Wed Dec  2 05:53:22 2098\n"));
	assert_true(valid("From user Wed Dec  2 05:53:22 1992 xyz\n"));
}

/* 1.2: L is the line without LF and without one CR before it (CRLF files). */
static void accept_crlf(void **state)
{
	(void)state;
	assert_true(valid("From user Wed Dec  2 05:53:22 1992\r\n"));
	assert_true(valid("From user Wed Dec  2 05:53:22 1992 -0700\r\n"));
}

/* from_line.h: a line without LF (end of file) is never valid. */
static void reject_without_lf(void **state)
{
	(void)state;
	assert_false(valid("From user Wed Dec  2 05:53:22 1992"));
	assert_false(valid("From user Wed Dec  2 05:53:22 1992\r"));
}

/* from_line.h: a NUL before the LF makes the line invalid (VALID stops at NUL). */
static void reject_nul_before_lf(void **state)
{
	(void)state;
	static const char line[] = "From user\0x Wed Dec  2 05:53:22 1992\n";
	assert_false(mbx_from_line_valid(line, sizeof line - 1));
	static const char tail[] = "From user Wed Dec  2 05:53:22 1992\0\n";
	assert_false(mbx_from_line_valid(tail, sizeof tail - 1));
}

/* ---- INTERNALDATE: reference 1.3 ---- */

/* 1.3: every shape yields the same wall-clock date; zones as the table says. */
static void date_of_each_shape(void **state)
{
	(void)state;
	set_tz("UTC"); /* zone-less shapes: local time, here +0000 */
	static const char *const expect[] = {
	    " 2-Dec-1992 05:53:22 +0000", " 2-Dec-1992 05:53:00 +0000",
	    " 2-Dec-1992 05:53:22 -0800", " 2-Dec-1992 05:53:00 -0800",
	    " 2-Dec-1992 05:53:22 -0700", " 2-Dec-1992 05:53:00 -0700",
	    " 2-Dec-1992 05:53:22 -0800", " 2-Dec-1992 05:53:00 -0800",
	    " 2-Dec-1992 05:53:22 -0700", " 2-Dec-1992 05:53:00 -0700",
	};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		assert_date(shapes[i], expect[i]);
}

/* 1.3: " remote from HOST" does not disturb the date. */
static void date_with_remote_from(void **state)
{
	(void)state;
	assert_date("From user Wed Dec  2 05:53 -0700 1992 remote from relay.example\n",
	            " 2-Dec-1992 05:53:00 -0700");
}

/* 1.3: a numeric zone is used as written; the instant follows from it. */
static void date_numeric_zone(void **state)
{
	(void)state;
	struct mbx_from_date d;
	const char *line = "From user Wed Dec  2 05:53:22 1992 +0130\n";
	mbx_from_line_date(line, strlen(line), &d);
	assert_int_equal(d.status, MBX_DATE_OK);
	assert_int_equal(d.zone, 90);
	assert_int_equal(d.time, 723275602 - 90 * 60); /* 1992-12-02 05:53:22 UTC = 723275602 */
	assert_date(line, " 2-Dec-1992 05:53:22 +0130");
	assert_date("From user Wed Dec  2 05:53:22 -1000 1992\n", " 2-Dec-1992 05:53:22 -1000");
	assert_date("From user Wed Dec  2 05:53:22 1992 +0000\n", " 2-Dec-1992 05:53:22 +0000");
}

/* 1.3: "-0000 stays -0000" (numeric zone used as written). */
static void date_minus_zero_zone_kept(void **state)
{
	(void)state;
	assert_date("From user Wed Dec  2 05:53:22 1992 -0000\n", " 2-Dec-1992 05:53:22 -0000");
}

/* c-client (mail_parse_date, checked with the oracle): a 3-character "zone"
 * starting with a sign is read as numeric, not as an unknown zone; with no
 * valid digits the offset stays 0, west when the sign is '-'. */
static void date_signed_junk_zone_is_numeric(void **state)
{
	(void)state;
	assert_date("From user Wed Dec  2 05:53:22 1992 ---\n", " 2-Dec-1992 05:53:22 -0000");
	assert_date("From user Wed Dec  2 05:53:22 1992 -ab\n", " 2-Dec-1992 05:53:22 -0000");
	assert_date("From user Wed Dec  2 05:53:22 1992 +ab\n", " 2-Dec-1992 05:53:22 +0000");
}

/* 1.3: c-client's 3-letter zone table, looked up case-insensitively. */
static void date_three_letter_zones(void **state)
{
	(void)state;
	static const struct {
		const char *zone;
		const char *offset;
	} table[] = {
	    {"UTC", "+0000"}, {"GMT", "+0000"}, {"MET", "+0100"}, {"EET", "+0200"},
	    {"JST", "+0900"}, {"ADT", "-0300"}, {"AST", "-0400"}, {"EDT", "-0400"},
	    {"EST", "-0500"}, {"CDT", "-0500"}, {"CST", "-0600"}, {"MDT", "-0600"},
	    {"MST", "-0700"}, {"PDT", "-0700"}, {"PST", "-0800"}, {"YDT", "-0800"},
	    {"YST", "-0900"}, {"HST", "-1000"},
	};
	set_tz("Asia/Tokyo"); /* a table zone must not fall back to local time */
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		char line[96], lower[96], expect[48], buf[MBX_DATE_STRLEN];
		const char *z = table[i].zone;
		snprintf(line, sizeof line, "From user Wed Dec  2 05:53:22 %s 1992\n", z);
		snprintf(lower, sizeof lower, "From user Wed Dec  2 05:53:22 1992 %c%c%c\n",
		         z[0] + 32, z[1], z[2] + 32);
		snprintf(expect, sizeof expect, " 2-Dec-1992 05:53:22 %s", table[i].offset);
		assert_int_equal(date_of(line, buf), MBX_DATE_OK);
		if (strcmp(buf, expect))
			fail_msg("%s: got \"%s\", want \"%s\"", z, buf, expect);
		assert_int_equal(date_of(lower, buf), MBX_DATE_OK);
		if (strcmp(buf, expect))
			fail_msg("%s (mixed case): got \"%s\", want \"%s\"", z, buf, expect);
	}
}

/* 1.3: an unknown 3-letter zone is read in local time (BST needs non-default options). */
static void date_unknown_zone_is_local(void **state)
{
	(void)state;
	char buf[MBX_DATE_STRLEN];
	set_tz("Asia/Tokyo");
	assert_int_equal(date_of("From user Fri Jan 15 12:00:00 BST 2010\n", buf), MBX_DATE_LOCAL);
	assert_string_equal(buf, "15-Jan-2010 12:00:00 +0900");
	assert_int_equal(date_of("From user Fri Jan 15 13:00:00 2010 xyz\n", buf), MBX_DATE_LOCAL);
	assert_string_equal(buf, "15-Jan-2010 13:00:00 +0900");
}

/* 1.3 + from_line.h: no zone -> the process's local time (TZ), wall clock kept. */
static void date_zoneless_utc(void **state)
{
	(void)state;
	char buf[MBX_DATE_STRLEN];
	set_tz("UTC");
	assert_int_equal(date_of("From user Mon Feb  3 04:05:06 2003\n", buf), MBX_DATE_LOCAL);
	assert_string_equal(buf, " 3-Feb-2003 04:05:06 +0000");
}

static void date_zoneless_tokyo(void **state)
{
	(void)state;
	struct mbx_from_date d;
	const char *line = "From user Sat Mar 14 10:20:30 2009\n";
	set_tz("Asia/Tokyo");
	mbx_from_line_date(line, strlen(line), &d);
	assert_int_equal(d.status, MBX_DATE_LOCAL);
	assert_int_equal(d.zone, 540);
	assert_date(line, "14-Mar-2009 10:20:30 +0900");
}

/* 1.3 and from_line.c local_offset: mboxfs takes the offset in force at the
 * message's own date (a deliberate difference from c-client, which used the
 * offset at parse time): July 1992 in Los Angeles is PDT, December is PST. */
static void date_zoneless_los_angeles_by_season(void **state)
{
	(void)state;
	set_tz("America/Los_Angeles");
	assert_date("From user Thu Jul  2 05:53:22 1992\n", " 2-Jul-1992 05:53:22 -0700");
	assert_date("From user Tue Dec  1 09:00:00 1992\n", " 1-Dec-1992 09:00:00 -0800");
}

/* from_line.h: zone-less lines are read in the process's time zone, so a change
 * of TZ between calls (same line) must change the result. */
static void date_zoneless_follows_tz_change(void **state)
{
	(void)state;
	const char *line = "From user Mon Jun  1 12:00:00 2015\n";
	set_tz("UTC");
	assert_date(line, " 1-Jun-2015 12:00:00 +0000");
	set_tz("Asia/Tokyo");
	assert_date(line, " 1-Jun-2015 12:00:00 +0900");
	set_tz("America/Los_Angeles");
	assert_date(line, " 1-Jun-2015 12:00:00 -0700");
}

/* The offset in force at local wall-clock time `wall` (seconds as if local
 * time were UTC), asked of mktime() directly: what from_line.c's caches must
 * give back. */
static int mktime_offset(time_t wall)
{
	struct tm tm;
	gmtime_r(&wall, &tm);
	tm.tm_isdst = -1;
	time_t local = mktime(&tm);
	return (int)((wall - local) / 60);
}

static int zone_of_wall(time_t wall)
{
	struct tm tm;
	char line[64];
	struct mbx_from_date d;
	gmtime_r(&wall, &tm);
	size_t n = strftime(line, sizeof line, "From user %a %b %e %H:%M:%S %Y\n", &tm);
	mbx_from_line_date(line, n, &d);
	assert_int_equal(d.status, MBX_DATE_LOCAL);
	return d.zone;
}

/* from_line.c local_offset: the per-day cache (a day whose offset is the same
 * at both midnights holds it all day) gives mktime()'s offset at every hour,
 * 1995-2025, in zones with summer time, changes at midnight (Sao Paulo),
 * half-hour summer time (Lord Howe) and a change of standard offset
 * (Kathmandu 1986, before the range: checked at its own dates). Every hour of
 * the days around a change, hour 13 of the others. */
static void date_zoneless_day_cache_is_exact(void **state)
{
	(void)state;
	static const char *const zones[] = {"America/Los_Angeles", "Europe/Berlin",
	                                    "America/Sao_Paulo", "Australia/Lord_Howe",
	                                    "Asia/Kathmandu"};
	for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
		set_tz(zones[z]);
		time_t first = z == 4 ? 504921600 /* 1986 */ : 788918400 /* 1995 */;
		time_t last = z == 4 ? 536457600 /* 1987 */ : 1735689600 /* 2025 */;
		int changes = 0;
		for (time_t day = first; day < last; day += 86400) {
			int around = mktime_offset(day) != mktime_offset(day + 86400) ||
			             mktime_offset(day - 86400) != mktime_offset(day);
			changes += around;
			for (int h = around ? 0 : 13; h < 24; h += around ? 1 : 24)
				if (zone_of_wall(day + h * 3600) != mktime_offset(day + h * 3600))
					fail_msg("%s: %lld + %d h: %d, mktime %d", zones[z],
					         (long long)day, h, zone_of_wall(day + h * 3600),
					         mktime_offset(day + h * 3600));
		}
		assert_true(changes > 0); /* the zone exists here and changed */
	}
}

/* 1.3: a bad month makes the date unparseable: " 1-Jan-1970 00:00:00 +0000". */
static void date_bad_month(void **state)
{
	(void)state;
	char buf[MBX_DATE_STRLEN];
	assert_int_equal(date_of("From user Xyz Abc  2 05:53:22 1992 +0100\n", buf),
	                 MBX_DATE_BAD_DATE);
	assert_string_equal(buf, " 1-Jan-1970 00:00:00 +0000");
}

/* 1.3: a bad time keeps the date, time and zone zero. */
static void date_bad_hour(void **state)
{
	(void)state;
	char buf[MBX_DATE_STRLEN];
	assert_int_equal(date_of("From user Wed Dec  2 25:53:22 1992 -0700\n", buf),
	                 MBX_DATE_BAD_TIME);
	assert_string_equal(buf, " 2-Dec-1992 00:00:00 +0000");
	assert_int_equal(date_of("From user Wed Dec  2 05:99:22 1992\n", buf), MBX_DATE_BAD_TIME);
	assert_string_equal(buf, " 2-Dec-1992 00:00:00 +0000");
}

/* 1.3: valid years are 1970..2097; others give the 1-Jan-1970 date. */
static void date_year_range(void **state)
{
	(void)state;
	char buf[MBX_DATE_STRLEN];
	assert_int_equal(date_of("From user Wed Dec 31 23:59:59 1969 +0000\n", buf),
	                 MBX_DATE_BAD_DATE);
	assert_string_equal(buf, " 1-Jan-1970 00:00:00 +0000");
	assert_int_equal(date_of("From user Wed Dec  2 05:53:22 2098 +0000\n", buf),
	                 MBX_DATE_BAD_DATE);
	assert_string_equal(buf, " 1-Jan-1970 00:00:00 +0000");
	assert_int_equal(date_of("From user Thu Jan  1 00:00:00 1970 +0000\n", buf), MBX_DATE_OK);
	assert_string_equal(buf, " 1-Jan-1970 00:00:00 +0000");
	assert_int_equal(date_of("From user Sat Dec 31 23:59:59 2097 +0000\n", buf), MBX_DATE_OK);
	assert_string_equal(buf, "31-Dec-2097 23:59:59 +0000");
}

/* 1.3: seconds are 00 when the line has none. */
static void date_without_seconds(void **state)
{
	(void)state;
	assert_date("From user Wed Dec  2 05:53 1992 +0200\n", " 2-Dec-1992 05:53:00 +0200");
}

/* 1.3: the day of week is ignored. */
static void date_ignores_weekday(void **state)
{
	(void)state;
	assert_date("From user Xyz Dec  2 05:53:22 1992 +0200\n", " 2-Dec-1992 05:53:22 +0200");
}

/* 1.3: imapd prints "%2d-Mon-yyyy hh:mm:ss +hhmm": the day is padded with a space. */
static void format_space_padded_day(void **state)
{
	(void)state;
	char buf[MBX_DATE_STRLEN];
	mbx_format_internaldate(723275602, -480, buf); /* 1992-12-02 05:53:22 UTC */
	assert_string_equal(buf, " 1-Dec-1992 21:53:22 -0800");
	mbx_format_internaldate(723275602, 0, buf);
	assert_string_equal(buf, " 2-Dec-1992 05:53:22 +0000");
	mbx_format_internaldate(723275602 + 10 * 86400, 330, buf);
	assert_string_equal(buf, "12-Dec-1992 11:23:22 +0530");
	mbx_format_internaldate(0, 0, buf);
	assert_string_equal(buf, " 1-Jan-1970 00:00:00 +0000");
	assert_date("From user Wed Dec 02 05:53:22 1992 +0000\n", " 2-Dec-1992 05:53:22 +0000");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid_all_ten_shapes),
	    cmocka_unit_test(valid_remote_from),
	    cmocka_unit_test(valid_empty_sender),
	    cmocka_unit_test(reject_too_short),
	    cmocka_unit_test(reject_lowercase_from),
	    cmocka_unit_test(day_field),
	    cmocka_unit_test(reject_two_digit_year),
	    cmocka_unit_test(reject_four_letter_zone),
	    cmocka_unit_test(reject_colon_zone),
	    cmocka_unit_test(reject_rfc2822_date),
	    cmocka_unit_test(reject_trailing_space),
	    cmocka_unit_test(reject_one_digit_hour),
	    cmocka_unit_test(reject_one_digit_seconds),
	    cmocka_unit_test(accept_unknown_month),
	    cmocka_unit_test(accept_meaningless_numbers),
	    cmocka_unit_test(accept_crlf),
	    cmocka_unit_test(reject_without_lf),
	    cmocka_unit_test(reject_nul_before_lf),
	    cmocka_unit_test(date_of_each_shape),
	    cmocka_unit_test(date_with_remote_from),
	    cmocka_unit_test(date_numeric_zone),
	    cmocka_unit_test(date_minus_zero_zone_kept),
	    cmocka_unit_test(date_signed_junk_zone_is_numeric),
	    cmocka_unit_test(date_three_letter_zones),
	    cmocka_unit_test(date_unknown_zone_is_local),
	    cmocka_unit_test(date_zoneless_utc),
	    cmocka_unit_test(date_zoneless_tokyo),
	    cmocka_unit_test(date_zoneless_los_angeles_by_season),
	    cmocka_unit_test(date_zoneless_follows_tz_change),
	    cmocka_unit_test(date_zoneless_day_cache_is_exact),
	    cmocka_unit_test(date_bad_month),
	    cmocka_unit_test(date_bad_hour),
	    cmocka_unit_test(date_year_range),
	    cmocka_unit_test(date_without_seconds),
	    cmocka_unit_test(date_ignores_weekday),
	    cmocka_unit_test(format_space_padded_day),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
