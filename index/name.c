/* name.c — stable virtual message names (see name.h for the format). */
#include "name.h"

#include <string.h>

/* Maildir info letters, in the order Courier writes them (reference 2.2). */
static const struct {
	char letter;
	uint8_t flag;
} info_letters[] = {
    {'D', MBX_DRAFT}, {'F', MBX_FLAGGED}, {'R', MBX_ANSWERED}, {'S', MBX_SEEN}, {'T', MBX_DELETED},
};

void mbx_flag_letters(uint8_t flags, char out[6])
{
	size_t n = 0;
	for (size_t i = 0; i < sizeof info_letters / sizeof info_letters[0]; i++)
		if (flags & info_letters[i].flag)
			out[n++] = info_letters[i].letter;
	out[n] = '\0';
}

/* The key's fields written by hand, not by snprintf: a listing of cur/ makes
 * the name of every message of the folder, and printf's format parsing was
 * most of that (BENCHMARKS.md, "Reads from the page cache"). The output is
 * exactly printf's "%llu" and "%0*llx" (tests/unit/test_name.c compares). */
static char *put_dec(char *p, unsigned long long v)
{
	char digits[20];
	size_t n = 0;
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*p++ = digits[--n];
	return p;
}

static char *put_hex(char *p, unsigned long long v, int width)
{
	for (int i = width - 1; i >= 0; i--, v >>= 4)
		p[i] = "0123456789abcdef"[v & 15];
	return p + width;
}

static char *put_str(char *p, const char *s)
{
	size_t n = strlen(s);
	memcpy(p, s, n);
	return p + n;
}

size_t mbx_message_key(uint32_t uidvalidity, const struct mbx_message *m, int pop3, char *buf)
{
	/* at most 16 bytes with pop3, else 12 + 2 + 10 + 1 + 10 + 1 + 16 + 10
	 * + 10 = 72 (dates below 2^39): within MBX_NAME_MAX with the flags */
	char *p = buf;
	if (pop3) {
		p = put_hex(p, uidvalidity, 8);
		p = put_hex(p, m->uid, 8);
	} else {
		p = put_dec(p, (unsigned long long)(m->date > 0 ? m->date : 0));
		p = put_str(p, ".M");
		p = put_dec(p, m->uid);
		*p++ = 'V';
		p = put_dec(p, uidvalidity);
		*p++ = 'X';
		p = put_hex(p, m->hash, 16);
		p = put_str(p, ".mboxfs,S=");
		p = put_dec(p, m->size);
	}
	*p = '\0';
	return (size_t)(p - buf);
}

int mbx_parse_flag_letters(const char *letters, uint8_t *flags)
{
	size_t next = 0; /* letters come in table order, each once */
	*flags = 0;
	for (const char *c = letters; *c; c++) {
		while (next < sizeof info_letters / sizeof info_letters[0] &&
		       info_letters[next].letter != *c)
			next++;
		if (next == sizeof info_letters / sizeof info_letters[0])
			return -1;
		*flags |= info_letters[next++].flag;
	}
	return 0;
}

size_t mbx_message_name(uint32_t uidvalidity, const struct mbx_message *m, int pop3, char *buf)
{
	return mbx_message_name_flags(uidvalidity, m, pop3, m->flags, buf);
}

size_t mbx_message_name_flags(uint32_t uidvalidity, const struct mbx_message *m, int pop3,
                              uint8_t flags, char *buf)
{
	size_t n = mbx_message_key(uidvalidity, m, pop3, buf);
	memcpy(buf + n, ":2,", 3);
	mbx_flag_letters(flags, buf + n + 3); /* NUL-terminated */
	return n + 3 + strlen(buf + n + 3);
}
