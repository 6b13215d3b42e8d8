/* quote.c — C-style quoting of names for a terminal (see quote.h). */
#include "quote.h"

#include <string.h>

/* Length of a valid UTF-8 sequence at s that is not a C1 control, 0 if
 * there is none (then the byte is escaped). */
static size_t printable_utf8(const unsigned char *s)
{
	size_t len = s[0] >= 0xc2 && s[0] < 0xe0   ? 2
	             : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
	             : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
	                                           : 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (len == 2 && s[0] == 0xc2 && s[1] < 0xa0)
		return 0; /* U+0080-U+009F: C1 controls (0x9b is a CSI) */
	if ((len == 3 && s[0] == 0xe0 && s[1] < 0xa0) ||
	    (len == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
	    (len == 4 && s[0] == 0xf0 && s[1] < 0x90) || (len == 4 && s[0] == 0xf4 && s[1] >= 0x90))
		return 0; /* overlong, surrogate or past U+10FFFF */
	return len;
}

static int needs_quotes(const unsigned char *s)
{
	for (size_t i = 0; s[i];) {
		if (s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
			return 1;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		size_t n = printable_utf8(s + i);
		if (!n)
			return 1;
		i += n;
	}
	return 0;
}

static void put_escaped(FILE *out, const unsigned char *s, int quoted)
{
	for (size_t i = 0; s[i];) {
		unsigned char c = s[i];
		size_t n = c >= 0x80 ? printable_utf8(s + i) : 0;
		if (n) {
			fwrite(s + i, 1, n, out);
			i += n;
			continue;
		}
		const char *esc = c == '\t'            ? "\\t"
		                  : c == '\n'          ? "\\n"
		                  : c == '\r'          ? "\\r"
		                  : c == '"' && quoted ? "\\\""
		                  : c == '\\'          ? "\\\\"
		                                       : NULL;
		if (esc)
			fputs(esc, out);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(out, "\\%03o", c);
		else
			fputc(c, out);
		i++;
	}
}

void put_name(FILE *out, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	if (!needs_quotes(u)) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	put_escaped(out, u, 1);
	fputc('"', out);
}

void put_text(FILE *out, const char *s)
{
	put_escaped(out, (const unsigned char *)s, 0);
}
