/* name.c — stable virtual message names (see name.h for the format). */
#include "name.h"

#include <stdio.h>
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

size_t mbx_message_key(uint32_t uidvalidity, const struct mbx_message *m, int pop3, char *buf)
{
	int n;
	if (pop3)
		n = snprintf(buf, MBX_NAME_MAX, "%08x%08x", uidvalidity, m->uid);
	else
		n = snprintf(buf, MBX_NAME_MAX, "%lld.M%uV%uX%016llx.mboxfs,S=%u",
		             (long long)(m->date > 0 ? m->date : 0), m->uid, uidvalidity,
		             (unsigned long long)m->hash, m->size);
	return (size_t)n;
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
	char letters[6];
	mbx_flag_letters(flags, letters);
	n += (size_t)snprintf(buf + n, MBX_NAME_MAX - n, ":2,%s", letters);
	return n;
}
