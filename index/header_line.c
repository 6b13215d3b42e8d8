/* header_line.c — UW internal headers and Status letters, kept as tables. */
#include "header_line.h"

#include "mbox.h"

#include <string.h>
#include <strings.h>

/* reference 4.3: hidden in any case, with their continuation lines */
static const char *const internal_headers[] = {
    "Status", "X-Status", "X-Keywords", "X-UID", "X-IMAP", "X-IMAPbase",
};

/* reference 4.1: the same table serves Status: and X-Status: */
static const struct {
	char letter;
	uint8_t set, clear;
} status_letters[] = {
    {'R', MBX_SEEN, 0},    {'O', 0, MBX_RECENT},   {'D', MBX_DELETED, 0},
    {'F', MBX_FLAGGED, 0}, {'A', MBX_ANSWERED, 0}, {'T', MBX_DRAFT, 0},
};

int mbx_is_internal_header_name(const char *line, size_t len)
{
	size_t n = 0;
	if (len > 1023) /* c-client scans at most MAILTMPLEN - 1 bytes */
		len = 1023;
	for (; n < len; n++) {
		unsigned char c = (unsigned char)line[n];
		if (c == ':' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\0')
			break;
	}
	for (size_t i = 0; i < sizeof internal_headers / sizeof internal_headers[0]; i++)
		if (strlen(internal_headers[i]) == n &&
		    strncasecmp(line, internal_headers[i], n) == 0)
			return 1;
	return 0;
}

void mbx_status_letters(const char *value, size_t len, uint8_t *set, uint8_t *clear)
{
	*set = *clear = 0;
	/* c-client's do-while looks at the first byte unconditionally (the ':') */
	for (size_t i = 0; i < len; i++) {
		for (size_t t = 0; t < sizeof status_letters / sizeof status_letters[0]; t++)
			if (status_letters[t].letter == value[i]) {
				*set |= status_letters[t].set;
				*clear |= status_letters[t].clear;
			}
		if (i + 1 >= len)
			break;
		char next = value[i + 1];
		if (next == '\0' || next == '\n' ||
		    (next == '\r' && i + 2 < len && value[i + 2] == '\n'))
			break;
	}
}
