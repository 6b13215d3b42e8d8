/* parse.c — split an mbox into messages and derive what uw-imapd served, by the
 * rules of c-client's unix_parse() (reference/uw-imap-mbox.md sections 1-6). */
#include "from_line.h"
#include "header_line.h"
#include "mbox.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#define XXH_INLINE_ALL /* the hot path: let the compiler inline XXH3 */
#include <xxhash.h>

#define MAX_ANOMALIES 1000

struct parser {
	struct mbx_mailbox *mb;
	const char *data;
	uint64_t size;
	uint64_t pos;  /* start of the current line */
	uint64_t line; /* its 1-based line number */
	uint32_t now;
	int retain; /* c-client's "retain": keep continuation lines */
};

static size_t line_len(const struct parser *p)
{
	const char *s = p->data + p->pos;
	const char *nl = memchr(s, '\n', p->size - p->pos);
	return nl ? (size_t)(nl - s) + 1 : (size_t)(p->size - p->pos);
}

static void anomaly(struct mbx_mailbox *mb, enum mbx_anomaly_kind kind, uint64_t line,
                    const char *fmt, ...)
{
	if (mb->nanomalies > MAX_ANOMALIES)
		return;
	if (mb->nanomalies % 64 == 0) {
		void *n = realloc(mb->anomalies, (mb->nanomalies + 64) * sizeof *mb->anomalies);
		if (!n)
			return; /* anomalies are advice; losing one is not fatal */
		mb->anomalies = n;
	}
	struct mbx_anomaly *a = &mb->anomalies[mb->nanomalies++];
	memset(a, 0, sizeof *a); /* index files store it whole: no stray heap bytes */
	a->kind = kind;
	a->line = line;
	if (mb->nanomalies > MAX_ANOMALIES) {
		a->kind = MBX_AN_LIMIT;
		snprintf(a->text, sizeof a->text, "more than %d anomalies; the rest are not listed",
		         MAX_ANOMALIES);
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(a->text, sizeof a->text, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof a->text) { /* never cut mid-word: end at a space with "..." */
		size_t cut = sizeof a->text - 4;
		while (cut > 0 && a->text[cut] != ' ')
			cut--;
		memcpy(a->text + cut, "...", 4);
	}
}

/* Leading decimal digits as c-client reads them; *overflow set past 32 bits. */
static uint64_t digits(const char *s, const char *end, const char **after, int *overflow)
{
	uint64_t v = 0;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			*overflow = 1, v = UINT32_MAX + (uint64_t)1;
	}
	*after = s;
	return v;
}

/* End of a header value as c-client's loops see it: NUL, LF, CR LF. */
static const char *value_end(const char *s, const char *end)
{
	for (; s < end; s++)
		if (*s == '\0' || *s == '\n' || (*s == '\r' && s + 1 < end && s[1] == '\n'))
			break;
	return s;
}

/* Next space-separated token of a keyword list; CR ends a token too (c-client
 * would loop forever on a lone CR; here it is skipped). */
static const char *next_token(const char *s, const char *end, const char **tok_end)
{
	while (s < end && (*s == ' ' || *s == '\r'))
		s++;
	const char *u = s;
	while (u < end && *u != ' ' && *u != '\r')
		u++;
	*tok_end = u;
	return s;
}

static int declared_slot(const struct mbx_mailbox *mb, const char *s, size_t k)
{
	/* matching stops at the first empty slot (reference 6) */
	for (int j = 0; j < MBX_MAX_KEYWORDS && mb->keywords[j]; j++)
		if (strlen(mb->keywords[j]) == k && strncasecmp(mb->keywords[j], s, k) == 0)
			return j;
	return -1;
}

static void x_keywords(struct parser *p, struct mbx_message *m, const char *s, const char *end)
{
	const char *te;
	end = value_end(s, end);
	for (s = next_token(s, end, &te); s < end; s = next_token(te, end, &te)) {
		size_t k = (size_t)(te - s);
		if (!k || k > MBX_MAX_KEYWORD_LEN)
			continue;
		int j = declared_slot(p->mb, s, k);
		if (j >= 0)
			m->keywords |= (uint32_t)1 << j;
		else
			anomaly(p->mb, MBX_AN_UNDECLARED_KEYWORD, p->line,
			        "keyword \"%.*s\" not declared in X-IMAP/X-IMAPbase: dropped",
			        (int)k, s); /* k <= 50: at most 105 bytes */
	}
}

static int x_imap(struct parser *p, const char *s, const char *end, int pseudo_header)
{
	struct mbx_parse_state *st = &p->mb->state;
	int overflow = 0;
	if (st->seen_messages != 1 || st->uidvalidity)
		return 0;
	end = value_end(s, end);
	while (s < end && *s == ' ')
		s++;
	uint64_t uidv = digits(s, end, &s, &overflow);
	while (s < end && *s == ' ')
		s++;
	if (!uidv || s >= end || *s < '0' || *s > '9')
		return 0;
	uint64_t last = digits(s, end, &s, &overflow);
	if (overflow) {
		anomaly(p->mb, MBX_AN_BAD_XUID, p->line,
		        "UIDVALIDITY or last UID above 2^32-1: ignored");
		return 0;
	}
	if (pseudo_header)
		st->pseudo = 1;
	st->uidvalidity = st->accepted_uidv = (uint32_t)uidv;
	st->last_uid = (uint32_t)last;
	const char *te;
	int j = 0;
	for (s = next_token(s, end, &te); s < end; s = next_token(te, end, &te), j++) {
		size_t k = (size_t)(te - s);
		if (j >= MBX_MAX_KEYWORDS || !k || k > MBX_MAX_KEYWORD_LEN)
			continue;
		char *kw = strndup(s, k);
		if (!kw)
			return -1;
		free(p->mb->keywords[j]);
		p->mb->keywords[j] = kw;
	}
	return 0;
}

static void x_uid(struct parser *p, struct mbx_message *m, const char *s, const char *end)
{
	struct mbx_parse_state *st = &p->mb->state;
	int overflow = 0;
	if (!st->uidvalidity || (st->seen_messages == 1 && st->pseudo))
		return;
	while (s < end && *s == ' ')
		s++;
	uint64_t uid = digits(s, end, &s, &overflow);
	const char *why = NULL;
	if (m->uid)
		why = "a second X-UID";
	else if (overflow)
		why = "X-UID above 2^32-1";
	else if (uid <= st->prev_uid)
		why = "X-UID not above the previous UID";
	if (!why) {
		st->prev_uid = m->uid = (uint32_t)uid;
		if (uid > st->last_uid)
			st->last_uid = (uint32_t)uid;
		return;
	}
	/* c-client would reset UIDVALIDITY here; at most 113 bytes */
	anomaly(p->mb, MBX_AN_BAD_XUID, p->line,
	        "%s (%llu): UIDVALIDITY %u kept, new UIDs above %u", why, (unsigned long long)uid,
	        st->uidvalidity, st->last_uid);
	st->uidvalidity = 0;
	m->uid = 0;
}

/* One header line: applies its side effects and says whether it is hidden. */
static int header_line(struct parser *p, struct mbx_message *m, const char *s, size_t len)
{
	const char *end = s + len;
	uint8_t set, clear;
	if (len > 1 && s[0] == 'X' && s[1] == '-') {
		if (mbx_line_has_prefix(s, len, "X-Status:")) {
			mbx_status_letters(s + 8, len - 8, &set, &clear);
			m->flags = (uint8_t)((m->flags | set) & ~clear);
			return 1;
		}
		if (mbx_line_has_prefix(s, len, "X-Keywords:")) {
			x_keywords(p, m, s + 11, end);
			return 1;
		}
		if (mbx_line_has_prefix(s, len, "X-IMAP:") ||
		    mbx_line_has_prefix(s, len, "X-IMAPbase:")) {
			int pseudo = s[6] == ':';
			if (x_imap(p, s + (pseudo ? 7 : 11), end, pseudo) < 0)
				return -1;
			return 1;
		}
		if (mbx_line_has_prefix(s, len, "X-UID:")) {
			x_uid(p, m, s + 6, end);
			return 1;
		}
	}
	if (mbx_line_has_prefix(s, len, "Status:")) {
		mbx_status_letters(s + 6, len - 6, &set, &clear);
		m->flags = (uint8_t)((m->flags | set) & ~clear);
		return 1;
	}
	if ((s[0] == 'S' || s[0] == 's' ||
	     ((s[0] == 'X' || s[0] == 'x') && len > 1 && s[1] == '-')) &&
	    mbx_is_internal_header_name(s, len)) {
		size_t shown = 0;
		while (shown < len && shown < 40 && s[shown] != ':' && s[shown] != '\n' &&
		       s[shown] != '\r' && s[shown] != '\0')
			shown++;
		anomaly(p->mb, MBX_AN_BOGUS_HEADER, p->line,
		        "internal header \"%.*s\" in the wrong case or form: hidden and ignored",
		        (int)shown, s);
		return 1;
	}
	if (!p->retain && (s[0] == ' ' || s[0] == '\t'))
		return 1; /* continuation of a hidden line */
	return 0;
}

/* Where c-client's field-name scan of a header line stops (mail_filter()). */
static size_t field_name_end(const char *s, size_t len)
{
	size_t k = 0, max = len < 1023 ? len : 1023;
	while (k < max && s[k] != ':' && s[k] != ' ' && s[k] != '\t' && s[k] != '\r' &&
	       s[k] != '\n' && s[k] != '\0')
		k++;
	return k;
}

static int add_cut(struct mbx_mailbox *mb, struct mbx_message *m, uint32_t off, uint32_t len)
{
	if (m->ncuts) {
		struct mbx_cut *last = &mb->cuts[m->cut_first + m->ncuts - 1];
		if (!(last->len & MBX_CUT_SPACE) && !(len & MBX_CUT_SPACE) &&
		    last->off + last->len == off && (uint64_t)last->len + len < MBX_CUT_SPACE) {
			last->len += len;
			return 0;
		}
	}
	if (m->ncuts == UINT16_MAX)
		return 1;
	if (mb->ncuts == mb->cuts_cap) {
		size_t cap = mb->cuts_cap ? mb->cuts_cap * 2 : 256;
		void *n = realloc(mb->cuts, cap * sizeof *mb->cuts);
		if (!n)
			return -1;
		mb->cuts = n, mb->cuts_cap = cap;
	}
	if (!m->ncuts)
		m->cut_first = (uint32_t)mb->ncuts;
	mb->cuts[mb->ncuts++] = (struct mbx_cut){off, len};
	m->ncuts++;
	return 0;
}

static void hash_piece(const char *bytes, size_t len, void *arg)
{
	XXH3_64bits_update(arg, bytes, len);
}

static void size_piece(const char *bytes, size_t len, void *arg)
{
	(void)bytes;
	*(uint64_t *)arg += len;
}

struct served_copy {
	char *buf;
	size_t len;
};

static void copy_piece(const char *bytes, size_t len, void *arg)
{
	struct served_copy *c = arg;
	memcpy(c->buf + c->len, bytes, len);
	c->len += len;
}

/* Messages up to this size with hidden lines are hashed from a copy of their
 * served bytes: one XXH3 call costs less than a streaming state per message. */
#define HASH_COPY_MAX 4096

/* Fills size and hash once the raw range and cuts are known. */
static void finish_message(struct mbx_mailbox *mb, struct mbx_message *m, const char *data)
{
	const char *raw = data + m->offset;
	if (memchr(raw, '\r', m->raw_len))
		m->bits |= MBX_HAS_CR;
	if (!m->ncuts && !(m->bits & MBX_HAS_CR)) {
		m->size = m->raw_len;
		m->hash = XXH3_64bits(raw, m->raw_len);
		return;
	}
	if (m->raw_len <= HASH_COPY_MAX) { /* served bytes are never more than raw ones */
		char buf[HASH_COPY_MAX];
		struct served_copy c = {buf, 0};
		mbx_for_each_piece(mb, m, data, copy_piece, &c);
		m->size = (uint32_t)c.len;
		m->hash = XXH3_64bits(buf, c.len);
		return;
	}
	uint64_t size = 0;
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	mbx_for_each_piece(mb, m, data, size_piece, &size);
	mbx_for_each_piece(mb, m, data, hash_piece, &st);
	m->size = (uint32_t)size;
	m->hash = XXH3_64bits_digest(&st);
}

static struct mbx_message *new_message(struct mbx_mailbox *mb)
{
	if (mb->nmsgs == mb->msgs_cap) {
		size_t cap = mb->msgs_cap ? mb->msgs_cap * 2 : 64;
		void *n = realloc(mb->msgs, cap * sizeof *mb->msgs);
		if (!n)
			return NULL;
		mb->msgs = n, mb->msgs_cap = cap;
	}
	struct mbx_message *m = &mb->msgs[mb->nmsgs];
	memset(m, 0, sizeof *m);
	return m;
}

static int is_blank(const char *s, size_t len)
{
	return (len == 1 && s[0] == '\n') || (len == 2 && s[0] == '\r' && s[1] == '\n');
}

static int too_large(struct parser *p, uint64_t line, const char *what)
{
	anomaly(p->mb, MBX_AN_TOO_LARGE, line, "%s: the file is not served", what);
	p->mb->kind = MBX_KIND_NOT_MAILBOX;
	return 1;
}

/* Parses messages from p->pos, which is at a valid From_ line, to the end.
 * Returns 0, 1 when the file cannot be served, -1 on ENOMEM. */
static int parse_messages(struct parser *p)
{
	struct mbx_mailbox *mb = p->mb;
	struct mbx_parse_state *st = &mb->state;
	struct mbx_from_date date;
	int have_date = 0; /* the body loop found the next From_ line, and its date */
	while (p->pos < p->size) {
		uint64_t from_line = p->line;
		size_t len = line_len(p);
		if (!have_date)
			mbx_from_line_date(p->data + p->pos, len, &date);
		have_date = 0;
		if (date.status == MBX_DATE_BAD_DATE || date.status == MBX_DATE_BAD_TIME)
			anomaly(mb, MBX_AN_BAD_DATE, p->line,
			        "unparseable From_ line date, served as %s",
			        date.status == MBX_DATE_BAD_DATE ? "1-Jan-1970" : "midnight +0000");
		p->pos += len, p->line++;

		struct mbx_message *m = new_message(mb);
		if (!m)
			return -1;
		st->seen_messages++;
		if (p->pos > MBX_MAX_OFFSET) /* struct mbx_message holds no more */
			return too_large(p, from_line, "file of 256 TiB or more");
		m->offset = p->pos;
		m->date = date.time;
		m->zone = date.zone;
		m->flags = MBX_RECENT;
		m->ctime = p->now;
		p->retain = 1;
		st->header_open = 1;
		while (p->pos < p->size) { /* header region, blank line included */
			const char *s = p->data + p->pos;
			len = line_len(p);
			int hidden = header_line(p, m, s, len);
			if (hidden < 0)
				return -1;
			if (hidden) {
				p->retain = 0;
				if (p->pos - m->offset + len > UINT32_MAX || len >= MBX_CUT_SPACE)
					return too_large(p, from_line, "header over 4 GiB");
				int r =
				    add_cut(mb, m, (uint32_t)(p->pos - m->offset), (uint32_t)len);
				if (r < 0)
					return -1;
				if (r)
					return too_large(p, from_line,
					                 "more than 65535 hidden header runs");
			} else {
				p->retain = 1;
				size_t k = field_name_end(s, len);
				if (k < len && s[k] == '\0') {
					if (add_cut(mb, m, (uint32_t)(p->pos - m->offset + k),
					            1 | MBX_CUT_SPACE) < 0)
						return -1;
					m->bits |= MBX_NUL_AS_SPACE;
				}
			}
			p->pos += len, p->line++;
			if (is_blank(s, len)) {
				st->header_open = 0;
				break;
			}
		}
		int pseudo = st->seen_messages == 1 && st->pseudo;
		if (!pseudo && !m->uid)
			st->prev_uid = m->uid = ++st->last_uid;

		size_t dropped = 0; /* body: up to the next valid From_ line */
		while (p->pos < p->size) {
			const char *s = p->data + p->pos;
			len = line_len(p);
			if (s[0] == 'F' && mbx_from_line_date(s, len, &date)) {
				have_date = 1;
				break;
			}
			dropped = is_blank(s, len) ? len : 0;
			p->pos += len, p->line++;
		}
		uint64_t raw_len = p->pos - dropped - m->offset;
		if (raw_len > UINT32_MAX)
			return too_large(p, from_line, "message over 4 GiB");
		m->raw_len = (uint32_t)raw_len;
		if (pseudo) { /* hidden, no UID: forget it and its cuts */
			mb->ncuts -= m->ncuts;
			continue;
		}
		finish_message(mb, m, p->data);
		mb->nmsgs++;
	}
	return 0;
}

static void settle_uidvalidity(struct mbx_mailbox *mb)
{
	const struct mbx_parse_state *st = &mb->state;
	if (st->uidvalidity) {
		mb->rule = MBX_RULE_EXACT;
		mb->uidvalidity = st->uidvalidity;
	} else if (st->accepted_uidv) {
		mb->rule = MBX_RULE_METADATA;
		mb->uidvalidity = st->accepted_uidv;
	} else {
		if (mb->rule != MBX_RULE_ANY_STABLE)
			mb->uidvalidity = 0; /* to be chosen by the caller */
		mb->rule = MBX_RULE_ANY_STABLE;
	}
	mb->uidnext = st->last_uid + 1;
}

static void reset(struct mbx_mailbox *mb)
{
	uint32_t chosen = mb->rule == MBX_RULE_ANY_STABLE ? mb->uidvalidity : 0;
	mbx_mailbox_free(mb);
	mbx_mailbox_init(mb);
	mb->uidvalidity = chosen; /* a chosen any-stable value survives a re-parse */
}

/* Parses from p->pos to the end and records how far the file was read. */
static int parse_to_end(struct parser *p)
{
	if (parse_messages(p) < 0) {
		errno = ENOMEM;
		return -1;
	}
	p->mb->state.lines = p->line;
	p->mb->parsed_size = p->size;
	settle_uidvalidity(p->mb);
	return 0;
}

int mbx_parse(struct mbx_mailbox *mb, const char *data, uint64_t size, uint32_t now)
{
	struct parser p = {.mb = mb, .data = data, .size = size, .line = 1, .now = now};
	reset(mb);
	if (size == 0) {
		mb->kind = MBX_KIND_EMPTY;
		settle_uidvalidity(mb);
		return 0;
	}
	/* unix_isvalid_fd(): skip CR LF SP TAB; the last one skipped must be LF; the
	 * first line must be a valid From_ line ending within the first 1023 bytes */
	uint64_t skip = 0;
	char last = '\n';
	uint64_t limit = size < 1023 ? size : 1023;
	while (skip < limit && strchr("\r\n \t", data[skip]) && data[skip])
		last = data[skip++];
	for (uint64_t i = 0; i < skip; i++)
		p.line += data[i] == '\n';
	p.pos = skip;
	size_t first = line_len(&p);
	if (last != '\n' || skip + first > limit || !mbx_from_line_valid(data + skip, first)) {
		mb->kind = MBX_KIND_NOT_MAILBOX;
		anomaly(mb, MBX_AN_NOT_MAILBOX, p.line,
		        "not a Unix mailbox: no valid From_ line first (uw-imapd showed the "
		        "whole file as one message)");
		settle_uidvalidity(mb);
		return 0;
	}
	mb->kind = MBX_KIND_UNIX;
	return parse_to_end(&p);
}

int mbx_parse_append(struct mbx_mailbox *mb, const char *data, uint64_t size, uint32_t now)
{
	uint64_t old = mb->parsed_size;
	/* a From_ line in an unfinished header is a header line, not a message */
	if (mb->kind != MBX_KIND_UNIX || old == 0 || size <= old || data[old - 1] != '\n' ||
	    mb->state.header_open)
		return 0;

	struct parser p = {
	    .mb = mb, .data = data, .size = size, .pos = old, .line = mb->state.lines, .now = now};
	/* c-client skips white space before new data; a full parse would count it
	 * into the old last message instead, so only a From_ line right at the old
	 * end makes append and full parse agree. */
	if (!mbx_from_line_valid(data + old, line_len(&p)))
		return 0;
	return parse_to_end(&p) < 0 ? -1 : 1;
}

void mbx_mailbox_init(struct mbx_mailbox *mb)
{
	memset(mb, 0, sizeof *mb);
	mb->rule = MBX_RULE_ANY_STABLE;
	mb->uidnext = 1;
}

void mbx_mailbox_free(struct mbx_mailbox *mb)
{
	for (int i = 0; i < MBX_MAX_KEYWORDS; i++)
		free(mb->keywords[i]);
	free(mb->msgs);
	free(mb->cuts);
	free(mb->anomalies);
	memset(mb, 0, sizeof *mb);
}

const char *mbx_rule_name(enum mbx_uid_rule rule)
{
	static const char *const names[] = {"exact", "metadata", "any-stable"};
	return names[rule];
}

const char *mbx_anomaly_name(enum mbx_anomaly_kind kind)
{
	static const char *const names[] = {"not-mailbox",  "bad-x-uid", "undeclared-keyword",
	                                    "bogus-header", "bad-date",  "too-large",
	                                    "limit"};
	return names[kind];
}
