/* from_line.h — the UW From_ line: validity (c-client's VALID) and INTERNALDATE.
 *
 * Contract (reference/uw-imap-mbox.md sections 1.2 and 1.3):
 *  - mbx_from_line_valid() decides whether a line starts a message exactly as
 *    c-client's VALID macro does: only the positions of spaces and colons and the
 *    sign of a numeric zone are checked, never letters or digits.
 *  - mbx_from_line_date() turns a valid line into INTERNALDATE the way unix_parse()
 *    and mail_parse_date() do: numeric zones as written, 3-letter zones by
 *    c-client's table, no zone (or an unknown one) in the process's local time
 *    zone (set TZ to the old server's zone), unparseable dates as 1-Jan-1970
 *    00:00:00 +0000 and unparseable times as midnight +0000.
 *  Both are pure functions of the bytes given; neither allocates.
 */
#ifndef MBOXFS_FROM_LINE_H
#define MBOXFS_FROM_LINE_H

#include <stddef.h>
#include <stdint.h>

/* How a From_ line's date came out; kept for anomaly reports. */
enum mbx_date_status {
	MBX_DATE_OK = 0,
	MBX_DATE_LOCAL,    /* no zone or unknown zone: read in local time */
	MBX_DATE_BAD_DATE, /* day/month/year unparseable: 1-Jan-1970 */
	MBX_DATE_BAD_TIME, /* time unparseable: midnight, zone +0000 */
};

/* A numeric zone written "-0000" is kept as written (reference 1.3): the same
 * instant as +0000, printed with its minus sign. */
#define MBX_ZONE_MINUS_ZERO INT16_MIN

struct mbx_from_date {
	int64_t time; /* seconds since the epoch, UTC */
	int16_t zone; /* minutes east of UTC, or MBX_ZONE_MINUS_ZERO */
	enum mbx_date_status status;
};

/* line: the line's bytes, len: its length including the terminating LF.
 * Returns 1 if c-client would start a new message at this line. A line without
 * LF (end of file) is never valid, nor one with a NUL before its LF. */
int mbx_from_line_valid(const char *line, size_t len);

/* Computes INTERNALDATE of a line and returns 1 if the line is valid (as
 * mbx_from_line_valid(), which it saves the parser from asking first); for an
 * invalid line returns 0 with status MBX_DATE_BAD_DATE. */
int mbx_from_line_date(const char *line, size_t len, struct mbx_from_date *out);

/* Formats INTERNALDATE as imapd prints it: " 2-Dec-1992 05:53:22 -0800";
 * zone is minutes east of UTC or MBX_ZONE_MINUS_ZERO.

 * buf must hold at least MBX_DATE_STRLEN bytes. */
#define MBX_DATE_STRLEN 48
void mbx_format_internaldate(int64_t time, int zone, char *buf);

#endif
