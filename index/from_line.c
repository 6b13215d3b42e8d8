/* from_line.c — c-client's VALID macro and From_ line INTERNALDATE, re-derived
 * from reference/uw-imap-mbox.md 1.2-1.3 (unix.h VALID, unix.c unix_parse,
 * mail.c mail_parse_date). Offsets below are relative to the end of the date,
 * exactly as VALID reasons about them, so the two can be compared line by line. */
#include "from_line.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A line seen through VALID's eyes: bytes outside the line read as NUL, which
 * matches none of the characters VALID looks for. */
struct line_view {
	const unsigned char *s;
	long len;
};

static int at(const struct line_view *v, long i)
{
	return (i >= 0 && i < v->len) ? v->s[i] : 0;
}

/* The VALID macro. On success returns 1 and sets *x (end of the date part, after
 * any " remote from HOST"), *ti (offset of the space before the time) and *zn
 * (offset of the space before the zone, 0 when there is none), relative to *x. */
static int valid(const struct line_view *v, long *x_out, long *ti_out, long *zn_out)
{
	const unsigned char *s = v->s;
	long x, ti = 0, zn = 0;

	if (v->len < 5 || memcmp(s, "From ", 5) != 0)
		return 0;
	for (x = 5; x < v->len && s[x] && s[x] != '\n'; x++)
		;
	if (x >= v->len || s[x] != '\n')
		return 0; /* NUL before LF, or no LF at all */
	if (s[x - 1] == '\r')
		--x;
	if (x >= 41) { /* cut " remote from HOST" */
		for (zn = -1; at(v, x + zn) != ' '; zn--)
			;
		if (x + zn - 12 >= 0 && memcmp(s + x + zn - 12, " remote from", 12) == 0)
			x += zn - 12;
	}
	if (x < 27)
		return 0;
#define X(i) at(v, x + (i))
	if (X(-5) == ' ') { /* ends with the year */
		if (X(-8) == ':')
			zn = 0, ti = -5; /* no zone */
		else if (X(-9) == ' ')
			ti = zn = -9; /* 3-letter zone before the year */
		else if (X(-11) == ' ' && (X(-10) == '+' || X(-10) == '-'))
			ti = zn = -11; /* numeric zone before the year */
	} else if (X(-4) == ' ') {     /* 3-letter zone after the year */
		if (X(-9) == ' ')
			zn = -4, ti = -9;
	} else if (X(-6) == ' ') { /* numeric zone after the year */
		if (X(-11) == ' ' && (X(-5) == '+' || X(-5) == '-'))
			zn = -6, ti = -11;
	}
	if (ti) { /* "www mmm dd hh:mm[:ss]" before ti */
		if (X(ti - 3) != ':')
			ti = 0;
		else {
			ti -= (X(ti - 6) == ':') ? 9 : 6;
			if (X(ti) != ' ' || X(ti - 3) != ' ' || X(ti - 7) != ' ' ||
			    X(ti - 11) != ' ')
				ti = 0;
		}
	}
#undef X
	*x_out = x;
	*ti_out = ti;
	*zn_out = zn;
	return ti != 0;
}

int mbx_from_line_valid(const char *line, size_t len)
{
	struct line_view v = {(const unsigned char *)line, (long)len};
	long x, ti, zn;
	return valid(&v, &x, &ti, &zn);
}

/* strtoul() in the C locale, on a NUL-terminated buffer: leading white space, an
 * optional sign, decimal digits; *end is s itself when there are no digits. */
static unsigned long c_strtoul(const unsigned char *s, const unsigned char **end)
{
	const unsigned char *p = s;
	unsigned long v = 0;
	int neg = 0, any = 0;
	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+' || *p == '-')
		neg = (*p++ == '-');
	for (; *p >= '0' && *p <= '9'; p++, any = 1)
		v = (v > (~0UL - 9) / 10) ? ~0UL : v * 10 + (unsigned long)(*p - '0');
	*end = any ? p : s;
	return neg ? -v : v;
}

static int is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* c-client's three-letter code: ((a-'A')*1024)+((b-'A')*32)+(c-'A'). */
#define CODE3(a, b, c) ((((a) - 'A') * 1024) + (((b) - 'A') * 32) + ((c) - 'A'))
#define CODE2(a, b)    ((((a) - 'A') * 1024) + (((b) - 'A') * 32))

static const struct {
	int code;
	int minutes; /* east of UTC */
} zone_table[] = {
    /* c-client's default build (no STRICT_RFC822_TIMEZONES, no BST/NST/...) */
    {CODE2('U', 'T'), 0},
    {CODE3('U', 'T', 'C'), 0},
    {CODE3('G', 'M', 'T'), 0},
    {'Z', 0},
    {CODE3('M', 'E', 'T'), 60},
    {'A', 60},
    {CODE3('E', 'E', 'T'), 120},
    {'B', 120},
    {'C', 180},
    {'D', 240},
    {'E', 300},
    {'F', 360},
    {'G', 420},
    {'H', 480},
    {CODE3('J', 'S', 'T'), 540},
    {'I', 540},
    {'K', 600},
    {'L', 660},
    {'M', 720},
    {'N', -60},
    {'O', -120},
    {CODE3('A', 'D', 'T'), -180},
    {'P', -180},
    {CODE3('A', 'S', 'T'), -240},
    {CODE3('E', 'D', 'T'), -240},
    {'Q', -240},
    {CODE3('E', 'S', 'T'), -300},
    {CODE3('C', 'D', 'T'), -300},
    {'R', -300},
    {CODE3('C', 'S', 'T'), -360},
    {CODE3('M', 'D', 'T'), -360},
    {'S', -360},
    {CODE3('M', 'S', 'T'), -420},
    {CODE3('P', 'D', 'T'), -420},
    {'T', -420},
    {CODE3('P', 'S', 'T'), -480},
    {CODE3('Y', 'D', 'T'), -480},
    {'U', -480},
    {CODE3('Y', 'S', 'T'), -540},
    {'V', -540},
    {CODE3('H', 'S', 'T'), -600},
    {'W', -600},
    {'X', -660},
    {'Y', -720},
};

static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Broken-down date as mail_parse_date() leaves it in a MESSAGECACHE. */
struct cdate {
	unsigned long day, month, year; /* 0 when unset */
	unsigned long hours, minutes, seconds;
	int zone_minutes; /* east of UTC */
	int minus_zero;   /* numeric zone "-0000" */
	int zone_local;   /* zone unknown: local time */
};

static int month_of(const unsigned char *s)
{
	int ms = CODE3(s[0], s[1], s[2]);
	for (int m = 0; m < 12; m++) {
		const char *n = month_names[m];
		if (ms == CODE3(n[0], n[1] - 'a' + 'A', n[2] - 'a' + 'A'))
			return m + 1;
	}
	return 0;
}

/* mail_parse_date() on an upper-cased copy; returns its result (1 = T). */
static int parse_cdate(unsigned char *s, struct cdate *e)
{
	const unsigned char *p;
	unsigned long d, m, y;
	memset(e, 0, sizeof *e);
	for (unsigned char *u = s; *u; u++)
		if (*u >= 'a' && *u <= 'z')
			*u = (unsigned char)(*u - 'a' + 'A');
	if (is_alpha(s[0]) && is_alpha(s[1]) && is_alpha(s[2]) && s[3] == ',' && s[4] == ' ')
		s += 5;
	while (*s == ' ')
		s++;
	if (!(m = c_strtoul(s, &p)))
		return 0;
	s = (unsigned char *)p;
	switch (*s) {
	case '/': /* mm/dd/yy */
		if (is_digit(*++s) && (d = c_strtoul(s, &p)) && *(s = (unsigned char *)p) == '/' &&
		    is_digit(*++s)) {
			y = c_strtoul(s, &p);
			s = (unsigned char *)p;
			if (*s == '\0')
				break;
		}
		return 0;
	case ' ':
		while (s[1] == ' ')
			s++;
		/* fall through */
	case '-':
		d = m;
		if (strlen((char *)s) < 5)
			return 0;
		if (!(m = (unsigned long)month_of(s + 1)))
			return 0;
		if (s[4] == *s)
			s += 5;
		else { /* full month name */
			int delim = *s;
			for (s += 4; is_alpha(*s); s++)
				;
			if (delim != *s++)
				return 0;
		}
		while (*s == ' ')
			s++;
		if (is_digit(*s)) {
			y = c_strtoul(s, &p);
			s = (unsigned char *)p;
			if (*s == '\0' || *s == ' ')
				break;
		}
		return 0;
	default:
		return 0;
	}
	if (d > 31 || m > 12)
		return 0;
	if (y < 49)
		y += 2000;
	else if (y < 999)
		y += 1900;
	if (y < 1970 || y > 1970 + 127) /* the 7-bit year field */
		return 0;
	e->day = d, e->month = m, e->year = y;
	if (!*s) {
		e->zone_local = 1; /* no time at all: zone code 0 is unknown */
		return 1;
	}
	d = c_strtoul(s + 1, &p);
	s = (unsigned char *)p;
	if (*s != ':')
		return 0;
	m = c_strtoul(++s, &p);
	s = (unsigned char *)p;
	y = 0;
	if (*s == ':') {
		y = c_strtoul(++s, &p);
		s = (unsigned char *)p;
	}
	if (d > 23 || m > 59 || y > 60)
		return 0;
	e->hours = d, e->minutes = m, e->seconds = y;
	int ms = 0;
	if (*s == ' ') {
		while (s[1] == ' ')
			s++;
		if (!is_alpha(s[1])) { /* numeric zone */
			int west = (*++s == '-');
			if (west || *s == '+')
				s++;
			if (is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && s[2] < '6' &&
			    is_digit(s[3])) {
				/* zhours is a 4-bit field in MESSAGECACHE */
				int zh = ((s[0] - '0') * 10 + (s[1] - '0')) & 15;
				int zm = (s[2] - '0') * 10 + (s[3] - '0');
				e->zone_minutes = (west ? -1 : 1) * (zh * 60 + zm);
			}
			/* zoccident is set even when the digits are not a zone */
			e->minus_zero = west && !e->zone_minutes;
			return 1;
		}
	}
	if (*s == ' ' || *s == '-') { /* symbolic zone */
		if (!(ms = *++s))
			ms = 'Z';
		else if (*++s) {
			ms = (ms - 'A') * 1024 + (*s++ - 'A') * 32;
			if (*s)
				ms += *s++ - 'A';
			if (*s)
				ms = 0;
		}
	}
	for (size_t i = 0; i < sizeof zone_table / sizeof zone_table[0]; i++)
		if (zone_table[i].code == ms) {
			e->zone_minutes = zone_table[i].minutes;
			return 1;
		}
	e->zone_local = 1;
	return 1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * algorithm); out-of-range days roll over as timegm() would. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Per thread, for the TZ they were made with: offsets by hour of wall-clock
 * time, and by day, for the days the offset holds from midnight to midnight. */
static _Thread_local struct {
	int64_t hour;
	int offset;
	int valid;
} hour_cache[64];
static _Thread_local struct {
	int64_t day;
	int offset;
	int whole_day; /* 1: offset holds all day; -1: it changes that day */
} day_cache[1024];
static _Thread_local char cached_tz[128];

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The offset at `wall` from the C library, cached by hour. */
static int hour_offset(int64_t wall)
{
	int64_t hour = floor_div(wall, 3600);
	unsigned slot = (unsigned)(hour & 63);
	if (hour_cache[slot].valid && hour_cache[slot].hour == hour)
		return hour_cache[slot].offset;
	time_t t = (time_t)wall;
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_isdst = -1;
	time_t local = mktime(&tm);
	int offset = (local == (time_t)-1) ? 0 : (int)((wall - (int64_t)local) / 60);
	hour_cache[slot].hour = hour, hour_cache[slot].offset = offset, hour_cache[slot].valid = 1;
	return offset;
}

/* Offset east of UTC, in minutes, of local wall-clock time `wall` (seconds since
 * the epoch as if local time were UTC). c-client uses the offset in force when it
 * parses; mboxfs uses the one in force at the message's own date, so that the
 * same mbox gives the same INTERNALDATE (and file names) in every season.
 *
 * mktime() is slow and, in glibc, takes the one time-zone lock of the process:
 * with two index workers, 40% of their waits were for it (perf, sched_switch).
 * So a day whose offset is the same at its midnight and at the next holds it
 * all day: exact as long as no zone changes its offset twice within a day
 * (the tzdata here: no two changes of any zone are less than four days
 * apart). Only the days with a change ask mktime() hour by hour. */
static int local_offset(int64_t wall)
{
	const char *tz = getenv("TZ");
	if (strncmp(cached_tz, tz ? tz : "", sizeof cached_tz - 1) != 0) {
		memset(hour_cache, 0, sizeof hour_cache);
		memset(day_cache, 0, sizeof day_cache);
		snprintf(cached_tz, sizeof cached_tz, "%s", tz ? tz : "");
	}
	int64_t day = floor_div(wall, 86400);
	unsigned slot = (unsigned)(day & 1023);
	if (!day_cache[slot].whole_day || day_cache[slot].day != day) {
		int start = hour_offset(day * 86400), end = hour_offset((day + 1) * 86400);
		day_cache[slot].day = day, day_cache[slot].offset = start;
		day_cache[slot].whole_day = start == end ? 1 : -1;
	}
	return day_cache[slot].whole_day > 0 ? day_cache[slot].offset : hour_offset(wall);
}

int mbx_from_line_date(const char *line, size_t len, struct mbx_from_date *out)
{
	struct line_view v = {(const unsigned char *)line, (long)len};
	long x, ti, zn;
	unsigned char date[32];
	memset(out, 0, sizeof *out);
	if (!valid(&v, &x, &ti, &zn)) {
		out->status = MBX_DATE_BAD_DATE;
		return 0;
	}
#define T(i) ((unsigned char)at(&v, x + (i)))
	/* unix_parse(): "dd-mmm-yyyy hh:mm:ss" then "-ZZZ" or " +hhmm" */
	memset(date, 0, sizeof date);
	date[2] = date[6] = date[20] = '-';
	date[11] = ' ';
	date[14] = date[17] = ':';
	date[0] = T(ti - 2), date[1] = T(ti - 1);
	date[3] = T(ti - 6), date[4] = T(ti - 5), date[5] = T(ti - 4);
	date[12] = T(ti + 1), date[13] = T(ti + 2);
	date[15] = T(ti + 4), date[16] = T(ti + 5);
	if (T(ti += 6) == ':') {
		date[18] = T(ti + 1), date[19] = T(ti + 2);
		ti += 3;
	} else
		date[18] = date[19] = '0';
	if (zn == ti)
		ti += (T(zn + 1) == '+' || T(zn + 1) == '-') ? 6 : 4;
	date[7] = T(ti + 1), date[8] = T(ti + 2), date[9] = T(ti + 3), date[10] = T(ti + 4);
	if (zn) {
		date[21] = T(zn + 1), date[22] = T(zn + 2), date[23] = T(zn + 3);
		if (date[21] == '+' || date[21] == '-') {
			date[24] = T(zn + 4), date[25] = T(zn + 5);
			date[20] = ' ';
		}
	} else
		memcpy(date + 21, "LCL", 3);
#undef T
	struct cdate e;
	int ok = parse_cdate(date, &e);
	if (!e.day) { /* the date itself failed: all fields zero */
		out->status = MBX_DATE_BAD_DATE;
		return 1;
	}
	int64_t wall = days_from_civil((int64_t)e.year, (unsigned)e.month, (unsigned)e.day) * 86400;
	if (!ok) { /* date kept, time and zone zero */
		out->time = wall;
		out->status = MBX_DATE_BAD_TIME;
		return 1;
	}
	wall += (int64_t)(e.hours * 3600 + e.minutes * 60 + e.seconds);
	int zone = e.zone_local ? local_offset(wall) : e.zone_minutes;
	out->time = wall - (int64_t)zone * 60;
	out->zone = e.minus_zero ? MBX_ZONE_MINUS_ZERO : (int16_t)zone;
	out->status = e.zone_local ? MBX_DATE_LOCAL : MBX_DATE_OK;
	return 1;
}

void mbx_format_internaldate(int64_t time, int zone, char *buf)
{
	int minus = zone < 0;
	if (zone == MBX_ZONE_MINUS_ZERO)
		zone = 0;
	time_t wall = (time_t)(time + (int64_t)zone * 60);
	struct tm tm;
	gmtime_r(&wall, &tm);
	int a = (zone < 0 ? -zone : zone) % (100 * 60);
	snprintf(buf, MBX_DATE_STRLEN, "%2d-%s-%d %02d:%02d:%02d %c%02d%02d", tm.tm_mday,
	         month_names[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         minus ? '-' : '+', a / 60, a % 60);
}
