/* courier_files.c — courierimapuiddb, courierimapkeywords/:list and
 * courierimapsubscribed as Courier-IMAP 5 reads them. */
#include "courier_files.h"

#include "folder_name.h"
#include "name.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Closes a memstream (which sets *out only then); returns its text, or NULL
 * (freed) if writing failed. */
static char *finish(FILE *mem, char **out, size_t *len)
{
	if (fclose(mem) != 0) {
		free(*out);
		*len = 0;
		return NULL;
	}
	return *out;
}

char *mbx_courier_uiddb(const struct mbx_mailbox *mb, int pop3, size_t *len)
{
	char *out = NULL, key[MBX_NAME_MAX];
	FILE *mem = open_memstream(&out, len);
	if (!mem)
		return NULL;
	uint32_t next = mb->uidnext > UINT32_MAX - MBX_LATE_UID_MARGIN
	                    ? UINT32_MAX
	                    : mb->uidnext + MBX_LATE_UID_MARGIN;
	fprintf(mem, "1 %u %u\n", mb->uidvalidity, next);
	for (size_t i = 0; i < mb->nmsgs; i++) {
		mbx_message_key(mb->uidvalidity, &mb->msgs[i], pop3, key);
		fprintf(mem, "%u %s\n", mb->msgs[i].uid, key);
	}
	return finish(mem, &out, len);
}

static uint32_t keywords_used(const struct mbx_mailbox *mb)
{
	uint32_t used = 0;
	for (size_t i = 0; i < mb->nmsgs; i++)
		used |= mb->msgs[i].keywords;
	return used;
}

int mbx_courier_has_kwlist(const struct mbx_mailbox *mb)
{
	return keywords_used(mb) != 0;
}

char *mbx_courier_kwlist(const struct mbx_mailbox *mb, int pop3, size_t *len)
{
	uint32_t used = keywords_used(mb);
	*len = 0;
	if (!used)
		return NULL;
	int position[MBX_MAX_KEYWORDS];
	char *out = NULL, key[MBX_NAME_MAX];
	FILE *mem = open_memstream(&out, len);
	if (!mem)
		return NULL;
	for (int j = 0, n = 0; j < MBX_MAX_KEYWORDS; j++)
		if ((used >> j) & 1 && mb->keywords[j]) {
			position[j] = n++;
			fprintf(mem, "%s\n", mb->keywords[j]);
		}
	fputc('\n', mem);
	for (size_t i = 0; i < mb->nmsgs; i++) {
		if (!mb->msgs[i].keywords)
			continue;
		mbx_message_key(mb->uidvalidity, &mb->msgs[i], pop3, key);
		fprintf(mem, "%s:", key);
		for (int j = 0, n = 0; j < MBX_MAX_KEYWORDS; j++)
			if ((mb->msgs[i].keywords >> j) & 1 && mb->keywords[j])
				fprintf(mem, n++ ? " %d" : "%d", position[j]);
		fputc('\n', mem);
	}
	return finish(mem, &out, len);
}

char *mbx_courier_subscriptions(const char *list, size_t list_len, const char *below_home,
                                size_t *len)
{
	return mbx_courier_subscriptions_named(list, list_len, below_home, NULL, NULL, len);
}

char *mbx_courier_subscriptions_named(const char *list, size_t list_len, const char *below_home,
                                      const char *(*courier_name)(const char *uw, void *arg),
                                      void *arg, size_t *len)
{
	char *out = NULL, courier[4096], name[4096];
	FILE *mem = open_memstream(&out, len);
	if (!mem)
		return NULL;
	size_t prefix = strlen(below_home);
	for (const char *s = list, *end = list + list_len; s < end;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);
		if (n < sizeof name) {
			memcpy(name, s, n);
			name[n] = '\0';
			if (!strcasecmp(name, "INBOX"))
				fputs("INBOX\n", mem);
			else if (!strncmp(name, below_home, prefix) && name[prefix]) {
				const char *named =
				    courier_name ? courier_name(name + prefix, arg) : NULL;
				if (named)
					fprintf(mem, "INBOX.%s\n", named);
				else if (mbx_folder_name(name + prefix, courier, sizeof courier) >
				         0)
					fprintf(mem, "INBOX.%s\n", courier);
			}
		}
		s += n + 1;
	}
	return finish(mem, &out, len);
}

char *mbx_courier_pop3_sizelist(const struct mbx_mailbox *mb, const char *data,
                                const uint8_t *flags, size_t *len)
{
	char *out = NULL, name[MBX_NAME_MAX];
	FILE *mem = open_memstream(&out, len);
	if (!mem)
		return NULL;
	fprintf(mem, "/3 1 %u\n", mb->uidvalidity);
	for (size_t i = 0; i < mb->nmsgs; i++) {
		const struct mbx_message *m = &mb->msgs[i];
		if (flags && flags[i] == MBX_POP3_OMIT)
			continue;
		char last = '\n';
		if (m->size)
			mbx_read_served(mb, m, data, m->size - 1, &last, 1);
		uint64_t size = m->size + mbx_served_lines(mb, m, data) + (last == '\n' ? 0 : 2);
		mbx_message_name_flags(mb->uidvalidity, m, 1, flags ? flags[i] : m->flags, name);
		fprintf(mem, "%s %llu 0:0:0\n", name, (unsigned long long)size);
	}
	return finish(mem, &out, len);
}
