/* verify_files.c — Courier's maildir files as Courier reads them, compared
 * with the generated ones (see verify_files.h). */
#include "verify_files.h"

#include "mbox.h"
#include "name.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void say(vf_report_fn report, void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(vf_report_fn report, void *arg, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&text, fmt, ap);
	va_end(ap);
	report(arg, n < 0 ? "out of memory describing a difference" : text);
	if (n >= 0)
		free(text);
}

/* The next line of [*s, end) (without its '\n'); 0 when none is left. */
static int next_line(const char **s, const char *end, const char **line, size_t *len)
{
	if (*s >= end)
		return 0;
	const char *nl = memchr(*s, '\n', (size_t)(end - *s));
	*line = *s;
	*len = (size_t)((nl ? nl : end) - *s);
	*s = nl ? nl + 1 : end;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int vf_set_add(struct vf_set *s, const char *str, size_t len)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **v = realloc(s->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		s->v = v, s->cap = cap;
	}
	if (!(s->v[s->n] = strndup(str, len)))
		return -ENOMEM;
	s->n++;
	return 0;
}

void vf_set_sort(struct vf_set *s)
{
	if (s->n)
		qsort(s->v, s->n, sizeof *s->v, cmp_str);
}

int vf_set_has(const struct vf_set *s, const char *str)
{
	return s->n && bsearch(&str, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}

void vf_set_free(struct vf_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

size_t vf_key_len(const char *name)
{
	const char *colon = strrchr(name, ':');
	return colon ? (size_t)(colon - name) : strlen(name);
}

uint8_t vf_name_flags(const char *name)
{
	static const char letters[] = "DFRST";
	static const uint8_t bits[] = {MBX_DRAFT, MBX_FLAGGED, MBX_ANSWERED, MBX_SEEN, MBX_DELETED};
	const char *info = name + vf_key_len(name);
	uint8_t flags = 0;
	if (strncmp(info, ":2,", 3))
		return 0;
	for (const char *c = info + 3; *c; c++) {
		const char *at = strchr(letters, *c);
		if (at)
			flags |= bits[at - letters];
	}
	return flags;
}

/* n digits of base at s, before end (exactly n when n > 0, else at least
 * one): 0 with their value in *value (NULL: not needed) and *s moved past
 * them; -1 if there are none, too few, or more than 64 bits' worth. */
static int number_at(const char **s, const char *end, int base, int n, unsigned long long *value)
{
	const char *p = *s;
	unsigned long long v = 0;
	int count = 0;
	for (; p < end && (!n || count < n); p++, count++) {
		int d = *p >= '0' && *p <= '9'                 ? *p - '0'
		        : base == 16 && *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
		                                               : -1;
		if (d < 0)
			break;
		if (v > (~0ULL - (unsigned)d) / (unsigned)base)
			return -1;
		v = v * (unsigned)base + (unsigned)d;
	}
	if (!count || (n && count != n))
		return -1;
	*s = p;
	if (value)
		*value = v;
	return 0;
}

/* A decimal number below 2^32 at *s, before end: 0, or -1. */
static int uint32_at(const char **s, const char *end, uint32_t *value)
{
	unsigned long long v;
	if (number_at(s, end, 10, 0, &v) < 0 || v > UINT32_MAX)
		return -1;
	*value = (uint32_t)v;
	return 0;
}

uint32_t vf_name_uid(const char *name, uint32_t uidvalidity)
{
	const char *s = name, *end = name + vf_key_len(name);
	unsigned long long hex_v, hex_uid;
	uint32_t v, uid;
	/* uw-ipop3d's UIDL: %08x%08x */
	if (end - name == 16 && number_at(&s, end, 16, 8, &hex_v) == 0 &&
	    number_at(&s, end, 16, 8, &hex_uid) == 0)
		return hex_v == uidvalidity ? (uint32_t)hex_uid : 0;
	/* <date>.M<uid>V<uidvalidity>X<hash>.mboxfs,S=<size> */
	s = name;
	if (number_at(&s, end, 10, 0, NULL) < 0 || strncmp(s, ".M", 2))
		return 0;
	s += 2;
	if (uint32_at(&s, end, &uid) < 0 || *s++ != 'V' || uint32_at(&s, end, &v) < 0 ||
	    *s++ != 'X' || number_at(&s, end, 16, 16, NULL) < 0 || strncmp(s, ".mboxfs,S=", 10))
		return 0;
	s += 10;
	if (number_at(&s, end, 10, 0, NULL) < 0 || s != end)
		return 0;
	return v == uidvalidity ? uid : 0;
}

static int cmp_uid_entry(const void *a, const void *b)
{
	const struct vf_uid_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->uid > y->uid) - (x->uid < y->uid);
}

int vf_uiddb_parse(const char *text, size_t len, struct vf_uiddb *db)
{
	const char *s = text, *end = text + len, *line;
	size_t n, cap = 0;
	char head[64];
	memset(db, 0, sizeof *db);
	if (!next_line(&s, end, &line, &n))
		return 0;
	int version;
	unsigned long uidv, next;
	snprintf(head, sizeof head, "%.*s", (int)(n < sizeof head ? n : sizeof head - 1), line);
	db->valid = sscanf(head, "%d %lu %lu", &version, &uidv, &next) == 3 && version == 1;
	if (!db->valid)
		return 0;
	db->uidvalidity = (uint32_t)uidv, db->nextuid = (uint32_t)next;
	while (next_line(&s, end, &line, &n)) {
		/* "<uid> <key>": split at the first space; other lines skipped */
		const char *space = memchr(line, ' ', n), *p = line;
		uint32_t uid;
		if (!space || uint32_at(&p, line + n, &uid) < 0 || p != space)
			continue;
		if (db->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct vf_uid_entry *e = realloc(db->e, cap * sizeof *e);
			if (!e)
				return -ENOMEM;
			db->e = e;
		}
		if (!(db->e[db->n].key = strndup(space + 1, (size_t)(line + n - space - 1))))
			return -ENOMEM;
		db->e[db->n++].uid = uid;
	}
	if (db->n)
		qsort(db->e, db->n, sizeof *db->e, cmp_uid_entry);
	return 0;
}

const struct vf_uid_entry *vf_uiddb_find(const struct vf_uiddb *db, const char *key)
{
	size_t lo = 0, hi = db->n; /* the first entry with key */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(db->e[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < db->n && !strcmp(db->e[lo].key, key) ? &db->e[lo] : NULL;
}

void vf_uiddb_free(struct vf_uiddb *db)
{
	for (size_t i = 0; i < db->n; i++)
		free(db->e[i].key);
	free(db->e);
	memset(db, 0, sizeof *db);
}

void vf_uiddb_compare(const struct vf_uiddb *expected, const struct vf_uiddb *actual,
                      const struct vf_set *present, vf_report_fn report, void *arg)
{
	if (!actual->valid) {
		say(report, arg,
		    "not a version 1 UID database: Courier will give the folder a new UIDVALIDITY "
		    "and every message a new UID");
		return;
	}
	if (actual->uidvalidity != expected->uidvalidity) {
		say(report, arg,
		    "UIDVALIDITY %u, expected %u: clients will drop their copy of the folder",
		    actual->uidvalidity, expected->uidvalidity);
		return;
	}
	if (actual->nextuid < expected->nextuid)
		say(report, arg,
		    "next UID %u, below the old UIDNEXT %u: new mail would get old UIDs",
		    actual->nextuid, expected->nextuid);
	for (size_t i = 0; i < expected->n; i++) {
		const struct vf_uid_entry *e = &expected->e[i], *a;
		if (!vf_set_has(present, e->key))
			continue;
		if (!(a = vf_uiddb_find(actual, e->key)))
			say(report, arg, "no UID for %s (UID %u): Courier will give it a new one",
			    e->key, e->uid);
		else if (a->uid != e->uid)
			say(report, arg, "%s has UID %u, expected %u", e->key, a->uid, e->uid);
	}
	/* a UID below the old UIDNEXT names an old message, or one expunged on
	 * the old server: no other key may have it */
	for (size_t i = 0; i < actual->n; i++) {
		const struct vf_uid_entry *a = &actual->e[i], *e = vf_uiddb_find(expected, a->key);
		if (i && !strcmp(actual->e[i - 1].key, a->key))
			say(report, arg,
			    "%s listed again with UID %u: Courier keeps one of its UIDs", a->key,
			    a->uid);
		else if (a->uid < expected->nextuid && !(e && e->uid == a->uid))
			say(report, arg, "UID %u given to %s, which is not the old message with it",
			    a->uid, a->key);
	}
}

static int cmp_kw_entry(const void *a, const void *b)
{
	return strcmp(((const struct vf_kw_entry *)a)->key, ((const struct vf_kw_entry *)b)->key);
}

/* names[0..n) sorted, without repeats, space-separated, malloc'ed. */
static char *joined(char **names, size_t n)
{
	size_t len = 1;
	if (n) /* qsort() of NULL is undefined even for 0 elements */
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++)
		len += strlen(names[i]) + 1;
	char *out = malloc(len), *p = out;
	if (!out)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < n; i++)
		if (!i || strcmp(names[i - 1], names[i]))
			p += sprintf(p, "%s%s", p == out ? "" : " ", names[i]);
	return out;
}

static int add_kw(struct vf_keywords *kw, size_t *cap, const char *key, size_t keylen, char *names)
{
	if (kw->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		struct vf_kw_entry *e = realloc(kw->e, *cap * sizeof *e);
		if (!e)
			return -ENOMEM;
		kw->e = e;
	}
	if (!names || !(kw->e[kw->n].key = strndup(key, keylen))) {
		free(names);
		return -ENOMEM;
	}
	kw->e[kw->n++].names = names;
	return 0;
}

int vf_keywords_parse(const char *text, size_t len, struct vf_keywords *kw)
{
	const char *s = text, *end = text + len, *line;
	size_t n, cap = 0;
	struct vf_set names = {0};
	int r = 0;
	memset(kw, 0, sizeof *kw);
	/* the keywords, up to an empty line */
	while (r == 0 && next_line(&s, end, &line, &n) && n)
		r = vf_set_add(&names, line, n);
	/* "<key>:<i> <j> ...", indexes into the names */
	while (r == 0 && next_line(&s, end, &line, &n)) {
		const char *colon = NULL;
		for (const char *p = line; p < line + n; p++)
			if (*p == ':')
				colon = p;
		if (!colon)
			continue;
		char *mine[MBX_MAX_KEYWORDS * 4];
		size_t count = 0;
		for (const char *p = colon + 1;
		     p < line + n && count < sizeof mine / sizeof *mine;) {
			uint32_t i;
			if (uint32_at(&p, line + n, &i) == 0 && i < names.n)
				mine[count++] = names.v[i];
			while (p < line + n && *p != ' ')
				p++;
			while (p < line + n && *p == ' ')
				p++;
		}
		r = add_kw(kw, &cap, line, (size_t)(colon - line), joined(mine, count));
	}
	vf_set_free(&names);
	if (kw->n)
		qsort(kw->e, kw->n, sizeof *kw->e, cmp_kw_entry);
	return r;
}

int vf_keywords_update(struct vf_keywords *kw, const char *key, const char *text, size_t len)
{
	const char *s = text, *end = text + len, *line;
	size_t n, cap = kw->n;
	struct vf_set names = {0};
	int r = 0;
	while (r == 0 && next_line(&s, end, &line, &n))
		if (n)
			r = vf_set_add(&names, line, n);
	char *list = r == 0 ? joined(names.v, names.n) : NULL;
	vf_set_free(&names);
	struct vf_kw_entry probe = {(char *)key, NULL};
	struct vf_kw_entry *e =
	    kw->n ? bsearch(&probe, kw->e, kw->n, sizeof *kw->e, cmp_kw_entry) : NULL;
	if (e && list) {
		free(e->names);
		e->names = list;
		return 0;
	}
	if ((r = add_kw(kw, &cap, key, strlen(key), list)) == 0)
		qsort(kw->e, kw->n, sizeof *kw->e, cmp_kw_entry);
	return r;
}

const char *vf_keywords_of(const struct vf_keywords *kw, const char *key)
{
	struct vf_kw_entry probe = {(char *)key, NULL};
	const struct vf_kw_entry *e =
	    kw->n ? bsearch(&probe, kw->e, kw->n, sizeof *kw->e, cmp_kw_entry) : NULL;
	return e ? e->names : "";
}

void vf_keywords_free(struct vf_keywords *kw)
{
	for (size_t i = 0; i < kw->n; i++)
		free(kw->e[i].key), free(kw->e[i].names);
	free(kw->e);
	memset(kw, 0, sizeof *kw);
}

void vf_keywords_compare(const struct vf_keywords *expected, const struct vf_keywords *actual,
                         const struct vf_set *present, vf_report_fn report, void *arg)
{
	for (size_t i = 0; i < present->n; i++) {
		const char *e = vf_keywords_of(expected, present->v[i]);
		const char *a = vf_keywords_of(actual, present->v[i]);
		if (strcmp(e, a))
			say(report, arg, "keywords of %s: %s; expected %s", present->v[i],
			    *a ? a : "none", *e ? e : "none");
	}
}

static int cmp_pop3_entry(const void *a, const void *b)
{
	return strcmp(((const struct vf_pop3_entry *)a)->key,
	              ((const struct vf_pop3_entry *)b)->key);
}

int vf_pop3_parse(const char *text, size_t len, struct vf_pop3 *list)
{
	const char *s = text, *end = text + len, *line;
	size_t n, cap = 0;
	memset(list, 0, sizeof *list);
	if (!next_line(&s, end, &line, &n))
		return 0;
	list->valid = n >= 2 && line[0] == '/' && (line[1] == '2' || line[1] == '3') &&
	              (n == 2 || line[2] == ' ');
	while (list->valid && next_line(&s, end, &line, &n)) {
		/* "<name> <size> <uid>:<uidv>..." */
		const char *sp1 = memchr(line, ' ', n), *p;
		if (!sp1)
			continue;
		p = sp1 + 1;
		unsigned long long size;
		uint32_t uid;
		if (number_at(&p, line + n, 10, 0, &size) < 0 || p == line + n || *p++ != ' ' ||
		    uint32_at(&p, line + n, &uid) < 0)
			continue;
		if (list->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct vf_pop3_entry *e = realloc(list->e, cap * sizeof *e);
			if (!e)
				return -ENOMEM;
			list->e = e;
		}
		struct vf_pop3_entry *e = &list->e[list->n];
		if (!(e->name = strndup(line, (size_t)(sp1 - line))) ||
		    !(e->key = strndup(e->name, vf_key_len(e->name)))) {
			free(e->name);
			return -ENOMEM;
		}
		e->size = size, e->uid = uid;
		list->n++;
	}
	if (list->n)
		qsort(list->e, list->n, sizeof *list->e, cmp_pop3_entry);
	return 0;
}

static const struct vf_pop3_entry *pop3_find(const struct vf_pop3 *list, const char *key)
{
	struct vf_pop3_entry probe = {(char *)key, NULL, 0, 0};
	return list->n ? bsearch(&probe, list->e, list->n, sizeof *list->e, cmp_pop3_entry) : NULL;
}

void vf_pop3_free(struct vf_pop3 *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->e[i].key), free(list->e[i].name);
	free(list->e);
	memset(list, 0, sizeof *list);
}

void vf_pop3_compare(const struct vf_pop3 *expected, const struct vf_pop3 *actual,
                     const struct vf_set *present, const struct vf_set *in_cur, vf_report_fn report,
                     void *arg)
{
	if (!actual->valid) {
		say(report, arg,
		    "not a version 2 or 3 list: pop3d will give every message a new "
		    "UIDL");
		return;
	}
	for (size_t i = 0; i < expected->n; i++) {
		const struct vf_pop3_entry *e = &expected->e[i], *a;
		if (!vf_set_has(present, e->key))
			continue;
		if (!(a = pop3_find(actual, e->key)))
			say(report, arg,
			    "%s not listed: pop3d will give it a new UIDL, not uw-ipop3d's",
			    e->key);
		else if (a->uid != e->uid)
			say(report, arg,
			    "%s listed with uid %u: pop3d prints UID%u-..., not "
			    "uw-ipop3d's UIDL %s",
			    e->key, a->uid, a->uid, e->key);
		else if (a->size != e->size)
			say(report, arg, "%s listed with size %llu, expected %llu", e->key,
			    (unsigned long long)a->size, (unsigned long long)e->size);
	}
	/* with uid 0, pop3d prints the key itself: only old messages may be */
	for (size_t i = 0; i < actual->n; i++) {
		const struct vf_pop3_entry *a = &actual->e[i];
		if (a->uid == 0 && !pop3_find(expected, a->key) && vf_set_has(in_cur, a->key))
			say(report, arg,
			    "%s listed with uid 0: pop3d prints UIDL %s, and it is not the "
			    "old message",
			    a->name, a->key);
	}
}

void vf_subscriptions_compare(const char *expected, size_t expected_len, const char *actual,
                              size_t actual_len, vf_report_fn report, void *arg)
{
	struct vf_set have = {0};
	const char *s = actual, *end = actual + actual_len, *line;
	size_t n;
	int r = 0;
	while (r == 0 && next_line(&s, end, &line, &n))
		r = vf_set_add(&have, line, n);
	vf_set_sort(&have);
	for (s = expected, end = expected + expected_len;
	     r == 0 && next_line(&s, end, &line, &n);) {
		char *name = strndup(line, n);
		if (!name)
			r = -ENOMEM;
		else if (n && !vf_set_has(&have, name))
			say(report, arg, "%s no longer subscribed", name);
		free(name);
	}
	if (r < 0)
		say(report, arg, "out of memory: subscriptions not compared");
	vf_set_free(&have);
}

void vf_bytes_init(struct vf_bytes *c, int fd)
{
	memset(c, 0, sizeof *c);
	c->fd = fd;
}

/* Reads up to len bytes at the current offset; the count, or -1 (c->err). */
static ssize_t read_some(struct vf_bytes *c, char *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(c->fd, buf + got, len - got, (off_t)(c->offset + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			c->err = errno;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

void vf_bytes_piece(const char *bytes, size_t len, void *arg)
{
	struct vf_bytes *c = arg;
	char buf[65536];
	while (len && !c->differs && !c->err) {
		size_t want = len < sizeof buf ? len : sizeof buf;
		ssize_t got = read_some(c, buf, want);
		if (got < 0)
			return;
		if (memcmp(buf, bytes, (size_t)got))
			for (size_t i = 0; i < (size_t)got; i++)
				if (buf[i] != bytes[i]) {
					c->differs = 1, c->differs_at = c->offset + i;
					return;
				}
		c->offset += (uint64_t)got;
		if ((size_t)got < want) { /* the file ends early */
			c->differs = 1, c->differs_at = c->offset;
			return;
		}
		bytes += got, len -= (size_t)got;
	}
}

int vf_bytes_finish(struct vf_bytes *c)
{
	char extra;
	if (!c->differs && !c->err) {
		ssize_t got = read_some(c, &extra, 1);
		if (got > 0) /* the file goes on */
			c->differs = 1, c->differs_at = c->offset;
	}
	return c->err ? -c->err : c->differs;
}
