/* header_line.h — the UW-specific header lines of a message, as data.
 *
 * Contract: pure functions over one header line (bytes up to and including its
 * LF). They say which lines c-client hides (reference 2.3, 4.3) and decode the
 * Status/X-Status letters (reference 4.1). No state, no allocation.
 */
#ifndef MBOXFS_HEADER_LINE_H
#define MBOXFS_HEADER_LINE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 1 if the line's field name is, in any case, one of the six UW internal
 * headers (Status, X-Status, X-Keywords, X-UID, X-IMAP, X-IMAPbase). The name is
 * what c-client's mail_filter() takes: bytes up to ':', space, tab, CR, LF or NUL. */
int mbx_is_internal_header_name(const char *line, size_t len);

/* 1 if line starts with the exact bytes of prefix (NUL-terminated). Inline:
 * the parser asks it of every header line with literal prefixes, whose
 * lengths the compiler then knows. */
static inline int mbx_line_has_prefix(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(line, prefix, n) == 0;
}

/* Flags (MBX_SEEN, ..., with MBX_RECENT cleared by 'O') that the Status letters
 * in value[0..len) set or clear: returns the bits to set in *set and the bits to
 * clear in *clear. Stops at NUL, LF or CR LF, as c-client does. */
void mbx_status_letters(const char *value, size_t len, uint8_t *set, uint8_t *clear);

#endif
