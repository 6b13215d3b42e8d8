/* store.c — persistent, checksummed index per mbox (see store.h). */
#include "store.h"
#include "record.h"
#include "source_guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL /* the hot path: let the compiler inline XXH3 */
#include <xxhash.h>

#define INDEX_MAGIC   "MBXIDX\n"
#define INDEX_VERSION 1
#define EDGE          4096 /* bytes hashed at each end of the mbox */

struct identity {
	uint64_t dev, ino, size;
	int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
	uint64_t head_hash, tail_hash;
};

/* An index file: this header, the key, the keyword names (NUL-terminated,
 * MBX_MAX_KEYWORDS of them), nmsgs message records (record.h: msg_size is
 * MBX_RECORD_SIZE), ncuts struct mbx_cut, nanomalies struct mbx_anomaly, and
 * the XXH3-64 of all that. Native byte order (endian). */
struct index_header {
	char magic[8];
	uint32_t version, endian, msg_size, key_len;
	struct identity id;
	uint32_t kind, rule, uidvalidity, uidnext;
	struct mbx_parse_state state;
	uint64_t parsed_size, nmsgs, ncuts, nanomalies;
	uint32_t keywords_len, reserved;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static uint64_t edge_hash(const char *data, uint64_t from, uint64_t to)
{
	return to > from ? XXH3_64bits(data + from, (size_t)(to - from)) : 0;
}

static void identity_of(const struct stat *st, const char *data, struct identity *id)
{
	uint64_t size = (uint64_t)st->st_size;
	memset(id, 0, sizeof *id);
	id->dev = (uint64_t)st->st_dev, id->ino = (uint64_t)st->st_ino, id->size = size;
	id->mtime_sec = st->st_mtim.tv_sec, id->mtime_nsec = st->st_mtim.tv_nsec;
	id->ctime_sec = st->st_ctim.tv_sec, id->ctime_nsec = st->st_ctim.tv_nsec;
	if (data) {
		id->head_hash = edge_hash(data, 0, size < EDGE ? size : EDGE);
		id->tail_hash = edge_hash(data, size < EDGE ? 0 : size - EDGE, size);
	}
}

/* The old file is a prefix of the new one, as far as its edges show. */
static int only_grew(const struct identity *old, const struct identity *now, const char *data)
{
	if (old->dev != now->dev || old->ino != now->ino || old->size >= now->size || !old->size)
		return 0;
	uint64_t s = old->size;
	return edge_hash(data, 0, s < EDGE ? s : EDGE) == old->head_hash &&
	       edge_hash(data, s < EDGE ? 0 : s - EDGE, s) == old->tail_hash;
}

void mbx_state_path(char *buf, size_t len, const char *dir, const char *key, const char *ext)
{
	XXH128_hash_t h = XXH3_128bits(key, strlen(key));
	snprintf(buf, len, "%s/%016llx%016llx.%s", dir, (unsigned long long)h.high64,
	         (unsigned long long)h.low64, ext);
}

/* Reads a whole small file; NULL if absent or unreadable. */
static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (buf = malloc((size_t)st.st_size))) {
		if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
			free(buf);
			buf = NULL;
		} else
			*len = (size_t)st.st_size;
	}
	close(fd);
	return buf;
}

/* Writes the parts to a new file tmp, fsync()ed if sync. Returns 0, or -1
 * with errno (tmp then removed). */
static int write_temp(const char *tmp, const struct iovec *parts, int n, int sync)
{
	struct iovec v[8];
	if (n > 8) {
		errno = EINVAL;
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	memcpy(v, parts, (size_t)n * sizeof *v);
	struct iovec *at = v;
	while (n) { /* one system call for the whole file; a short write resumes */
		ssize_t w = writev(fd, at, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		size_t done = (size_t)w;
		for (; n && done >= at->iov_len; at++, n--)
			done -= at->iov_len;
		if (n) {
			at->iov_base = (char *)at->iov_base + done;
			at->iov_len -= done;
		}
	}
	if (sync && fsync(fd) < 0)
		goto fail;
	int closed = close(fd);
	fd = -1;
	if (closed < 0)
		goto fail;
	return 0;
fail:;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

/* Writes path atomically and durably on its own: temp file, fsync, rename,
 * fsync of the directory. Returns 0 or -1 with errno. */
static int write_atomic(const char *dir, const char *path, const struct iovec *parts, int n)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)gettid());
	if (write_temp(tmp, parts, n, 1) < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

/* ---- batches (store.h) ---- */

/* Up to this many files, a commit fsyncs each one instead of syncfs(). */
#define BATCH_FSYNC_MAX 8

struct pending {
	char *tmp, *path;
	int phase; /* 0: UIDVALIDITY files, renamed in first; 1: indexes */
};

struct mbx_batch {
	char *dir;
	struct pending *p;
	size_t n, cap;
	uint64_t bytes;
	char *buf; /* the sources parsed through the batch are read into it */
	size_t buf_cap;
};

struct mbx_batch *mbx_batch_new(const char *state_dir)
{
	struct mbx_batch *b = calloc(1, sizeof *b);
	if (b && !(b->dir = strdup(state_dir))) {
		free(b);
		b = NULL;
	}
	return b;
}

size_t mbx_batch_files(const struct mbx_batch *b)
{
	return b->n;
}

uint64_t mbx_batch_bytes(const struct mbx_batch *b)
{
	return b->bytes;
}

/* Forgets every pending file; unlinks the temp files not renamed. */
static void batch_drop(struct mbx_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->p[i].tmp)
			unlink(b->p[i].tmp);
		free(b->p[i].tmp), free(b->p[i].path);
	}
	b->n = 0, b->bytes = 0;
}

int mbx_batch_commit(struct mbx_batch *b)
{
	if (!b->n)
		return 0;
	int saved = 0, dfd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		goto fail;
	if (b->n > BATCH_FSYNC_MAX) {
		/* one flush of the state filesystem makes every temp file durable
		 * at once (an fsync per file costs a disk flush per file) */
		if (syncfs(dfd) < 0)
			goto fail;
	} else /* a few files: syncfs() would also flush what others wrote */
		for (size_t i = 0; i < b->n; i++) {
			int fd = open(b->p[i].tmp, O_RDONLY | O_CLOEXEC);
			int r = fd < 0 ? -1 : fsync(fd);
			if (r < 0) {
				saved = errno;
				if (fd >= 0)
					close(fd);
				errno = saved;
				goto fail;
			}
			close(fd);
		}
	for (int phase = 0; phase < 2; phase++) {
		int renamed = 0;
		for (size_t i = 0; i < b->n; i++) {
			struct pending *p = &b->p[i];
			if (p->phase != phase)
				continue;
			if (rename(p->tmp, p->path) < 0)
				goto fail;
			free(p->tmp);
			p->tmp = NULL;
			renamed = 1;
		}
		/* the UIDVALIDITY files are in place before any index that serves
		 * them, as mbx_open() without a batch orders them */
		if (renamed && fsync(dfd) < 0)
			goto fail;
	}
	close(dfd);
	batch_drop(b);
	return 0;
fail:
	saved = errno;
	if (dfd >= 0)
		close(dfd);
	batch_drop(b);
	errno = saved;
	return -1;
}

int mbx_batch_merge(struct mbx_batch *dst, struct mbx_batch *src)
{
	if (!src->n)
		return 0;
	if (dst->n + src->n > dst->cap) {
		size_t cap = dst->n + src->n;
		struct pending *np = realloc(dst->p, cap * sizeof *np);
		if (!np) {
			errno = ENOMEM;
			return -1;
		}
		dst->p = np, dst->cap = cap;
	}
	memcpy(dst->p + dst->n, src->p, src->n * sizeof *src->p);
	dst->n += src->n, dst->bytes += src->bytes;
	src->n = 0, src->bytes = 0;
	return 0;
}

void mbx_batch_free(struct mbx_batch *b)
{
	if (!b)
		return;
	batch_drop(b);
	free(b->p);
	free(b->dir);
	free(b->buf);
	free(b);
}

/* "<32 hex digits>.idx.tmp.<digits>" or "<32 hex digits>.uidv.tmp.<digits>":
 * the temp names write_atomic() and write_state() give. */
static int is_state_temp(const char *name)
{
	size_t i = 0;
	for (; i < 32; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	const char *rest = name + i;
	if (!strncmp(rest, ".idx.tmp.", 9))
		rest += 9;
	else if (!strncmp(rest, ".uidv.tmp.", 10))
		rest += 10;
	else
		return 0;
	if (!*rest)
		return 0;
	for (; *rest; rest++)
		if (*rest < '0' || *rest > '9')
			return 0;
	return 1;
}

long mbx_state_sweep(const char *state_dir, time_t min_age)
{
	DIR *d = opendir(state_dir);
	if (!d)
		return -1;
	time_t now = time(NULL);
	long removed = 0;
	struct dirent *e;
	struct stat st;
	while ((e = readdir(d)))
		if (is_state_temp(e->d_name) &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtime <= now - min_age &&
		    unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	closedir(d);
	return removed;
}

/* Writes path through b (temp file now, rename at the commit), or at once
 * without b. Returns 0 or -1 with errno. */
static int write_state(const char *dir, const char *path, const struct iovec *parts, int n,
                       struct mbx_batch *b, int phase)
{
	if (!b)
		return write_atomic(dir, path, parts, n);
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct pending *np = realloc(b->p, cap * sizeof *np);
		if (!np)
			return -1;
		b->p = np, b->cap = cap;
	}
	struct pending *p = &b->p[b->n];
	p->phase = phase;
	p->path = strdup(path);
	if (!p->path || asprintf(&p->tmp, "%s.tmp.%ld", path, (long)gettid()) < 0) {
		free(p->path);
		errno = ENOMEM;
		return -1;
	}
	if (write_temp(p->tmp, parts, n, 0) < 0) {
		int saved = errno;
		free(p->tmp), free(p->path);
		errno = saved;
		return -1;
	}
	for (int i = 0; i < n; i++)
		b->bytes += parts[i].iov_len;
	b->n++;
	return 0;
}

/* The most served bytes a message's ranges can give: its raw range minus
 * the cuts, plus one space per NUL cut (CRs removed only lower it). */
static uint64_t served_bound(const struct mbx_mailbox *mb, const struct mbx_message *m)
{
	uint64_t n = m->raw_len;
	for (uint32_t c = 0; c < m->ncuts; c++) {
		const struct mbx_cut *cut = &mb->cuts[m->cut_first + c];
		n -= MBX_CUT_LEN(cut);
		n += (cut->len & MBX_CUT_SPACE) != 0;
	}
	return n;
}

/* Parses an index file's bytes; returns 1 if they are sound and belong to
 * key, 0 otherwise (mb is then empty). Every count, range and string is
 * checked, so that a reader can use the result without further checks. */
static int parse_index(const char *buf, size_t len, const char *key, struct mbx_mailbox *mb,
                       struct identity *id)
{
	struct index_header h;
	int ok = 0;
	if (!buf || len < sizeof h + 8)
		goto out;
	uint64_t sum;
	memcpy(&sum, buf + len - 8, 8);
	if (sum != XXH3_64bits(buf, len - 8))
		goto out;
	memcpy(&h, buf, sizeof h);
	size_t klen = strlen(key);
	if (memcmp(h.magic, INDEX_MAGIC, 8) || h.version != INDEX_VERSION ||
	    h.endian != 0x01020304 || h.msg_size != MBX_RECORD_SIZE || h.key_len != klen ||
	    h.kind > MBX_KIND_NOT_MAILBOX || h.rule > MBX_RULE_ANY_STABLE)
		goto out;
	size_t need = sizeof h + klen + h.keywords_len + h.nmsgs * MBX_RECORD_SIZE +
	              h.ncuts * sizeof(struct mbx_cut) + h.nanomalies * sizeof(struct mbx_anomaly) +
	              8;
	if (h.nmsgs > len || h.ncuts > len || h.nanomalies > len || need != len)
		goto out;
	const char *p = buf + sizeof h;
	if (memcmp(p, key, klen))
		goto out;
	p += klen;
	mbx_mailbox_free(mb);
	mbx_mailbox_init(mb);
	const char *kw = p, *kwend = p + h.keywords_len;
	for (int i = 0; i < MBX_MAX_KEYWORDS && kw < kwend; i++) {
		size_t n = strnlen(kw, (size_t)(kwend - kw));
		if (n > MBX_MAX_KEYWORD_LEN)
			goto out;
		if (n && !(mb->keywords[i] = strndup(kw, n)))
			goto out;
		kw += n + 1;
	}
	p = kwend;
	mb->msgs = malloc(h.nmsgs ? h.nmsgs * sizeof *mb->msgs : 1);
	mb->cuts = malloc(h.ncuts ? h.ncuts * sizeof *mb->cuts : 1);
	mb->anomalies = malloc(h.nanomalies ? h.nanomalies * sizeof *mb->anomalies : 1);
	if (!mb->msgs || !mb->cuts || !mb->anomalies)
		goto out;
	const unsigned char *records = (const unsigned char *)p;
	p += h.nmsgs * MBX_RECORD_SIZE;
	memcpy(mb->cuts, p, h.ncuts * sizeof *mb->cuts);
	p += h.ncuts * sizeof *mb->cuts;
	memcpy(mb->anomalies, p, h.nanomalies * sizeof *mb->anomalies);
	mb->nmsgs = mb->msgs_cap = h.nmsgs;
	mb->ncuts = mb->cuts_cap = h.ncuts;
	mb->nanomalies = h.nanomalies;
	if (h.parsed_size > h.id.size)
		goto out;
	for (size_t i = 0; i < mb->nmsgs; i++) { /* every range must stay inside the file */
		struct mbx_message *m = &mb->msgs[i];
		if (mbx_record_decode(records + i * MBX_RECORD_SIZE, m) < 0)
			goto out; /* a value the parse never gives */
		if ((uint64_t)m->cut_first + m->ncuts > mb->ncuts || m->offset > h.parsed_size ||
		    m->raw_len > h.parsed_size - m->offset)
			goto out;
		uint64_t end = 0;
		for (uint32_t c = 0; c < m->ncuts; c++) {
			const struct mbx_cut *cut = &mb->cuts[m->cut_first + c];
			if (cut->off < end || (uint64_t)cut->off + MBX_CUT_LEN(cut) > m->raw_len)
				goto out;
			end = (uint64_t)cut->off + MBX_CUT_LEN(cut);
		}
		uint64_t bound = served_bound(mb, m);
		if (m->size > bound || (!(m->bits & MBX_HAS_CR) && m->size != bound))
			goto out;
	}
	for (size_t i = 0; i < mb->nanomalies; i++) { /* names and texts readable as is */
		const struct mbx_anomaly *a = &mb->anomalies[i];
		if ((unsigned)a->kind > MBX_AN_LIMIT || !memchr(a->text, '\0', sizeof a->text))
			goto out;
	}
	mb->kind = (enum mbx_kind)h.kind;
	mb->rule = (enum mbx_uid_rule)h.rule;
	mb->uidvalidity = h.uidvalidity;
	mb->uidnext = h.uidnext;
	mb->state = h.state;
	mb->parsed_size = h.parsed_size;
	*id = h.id;
	ok = 1;
out:
	if (!ok) {
		mbx_mailbox_free(mb);
		mbx_mailbox_init(mb);
	}
	return ok;
}

int mbx_index_parse(const char *buf, size_t len, const char *key, struct mbx_mailbox *mb)
{
	struct identity id;
	return parse_index(buf, len, key, mb, &id);
}

/* Loads an index; returns 1 if it is sound and belongs to key, 0 otherwise. */
static int load_index(const char *path, const char *key, struct mbx_mailbox *mb,
                      struct identity *id)
{
	size_t len = 0;
	char *buf = slurp(path, &len);
	int ok = buf && parse_index(buf, len, key, mb, id);
	free(buf);
	return ok;
}

static int save_index(const char *dir, const char *path, const char *key,
                      const struct mbx_mailbox *mb, const struct identity *id, struct mbx_batch *b)
{
	struct index_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, INDEX_MAGIC, 8);
	h.version = INDEX_VERSION, h.endian = 0x01020304;
	h.msg_size = MBX_RECORD_SIZE;
	h.key_len = (uint32_t)strlen(key);
	h.id = *id;
	h.kind = mb->kind, h.rule = mb->rule, h.uidvalidity = mb->uidvalidity,
	h.uidnext = mb->uidnext;
	h.state = mb->state;
	h.parsed_size = mb->parsed_size;
	h.nmsgs = mb->nmsgs, h.ncuts = mb->ncuts, h.nanomalies = mb->nanomalies;
	char kw[MBX_MAX_KEYWORDS * (MBX_MAX_KEYWORD_LEN + 1)];
	size_t kwlen = 0;
	for (int i = 0; i < MBX_MAX_KEYWORDS; i++) {
		const char *k = mb->keywords[i] ? mb->keywords[i] : "";
		memcpy(kw + kwlen, k, strlen(k) + 1);
		kwlen += strlen(k) + 1;
	}
	h.keywords_len = (uint32_t)kwlen;
	unsigned char *records = malloc(mb->nmsgs ? mb->nmsgs * MBX_RECORD_SIZE : 1);
	if (!records)
		return -1;
	for (size_t i = 0; i < mb->nmsgs; i++)
		mbx_record_encode(&mb->msgs[i], records + i * MBX_RECORD_SIZE);
	struct iovec parts[7] = {
	    {&h, sizeof h},
	    {(void *)key, h.key_len},
	    {kw, kwlen},
	    {records, mb->nmsgs * MBX_RECORD_SIZE},
	    {mb->cuts, mb->ncuts * sizeof *mb->cuts},
	    {mb->anomalies, mb->nanomalies * sizeof *mb->anomalies},
	    {NULL, 8},
	};
	XXH3_state_t st;
	XXH3_64bits_reset(&st);
	for (int i = 0; i < 6; i++)
		XXH3_64bits_update(&st, parts[i].iov_base, parts[i].iov_len);
	uint64_t sum = XXH3_64bits_digest(&st);
	parts[6].iov_base = &sum;
	int r = write_state(dir, path, parts, 7, b, 1);
	int saved = errno;
	free(records);
	errno = saved;
	return r;
}

/* The UIDVALIDITY mboxfs chose for key (<key hash>.uidv), 0 if none. */
static uint32_t read_uidvalidity(const char *dir, const char *key)
{
	char path[4096], tmp[32];
	mbx_state_path(path, sizeof path, dir, key, "uidv");
	size_t len = 0;
	char *buf = slurp(path, &len);
	if (!buf)
		return 0;
	size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
	memcpy(tmp, buf, n);
	tmp[n] = '\0';
	free(buf);
	unsigned long v = strtoul(tmp, NULL, 10);
	return v <= UINT32_MAX ? (uint32_t)v : 0;
}

static int write_uidvalidity(const char *dir, const char *key, uint32_t v, struct mbx_batch *b)
{
	char path[4096], line[32];
	mbx_state_path(path, sizeof path, dir, key, "uidv");
	int n = snprintf(line, sizeof line, "%u\n", v);
	struct iovec part = {line, (size_t)n};
	return write_state(dir, path, &part, 1, b, 0);
}

/* The marker <key hash>.diverged says that some UIDs were kept across a
 * rebuild and so differ from what a parse from scratch gives: losing the index
 * then would reuse UIDs. */
static int mark_diverged(const char *dir, const char *key)
{
	char path[4096];
	mbx_state_path(path, sizeof path, dir, key, "diverged");
	if (access(path, F_OK) == 0)
		return 0;
	struct iovec part = {"UIDs kept across a rebuild\n", 27};
	return write_atomic(dir, path, &part, 1);
}

/* UIDVALIDITY where mboxfs owns it (rules any-stable and metadata): the value
 * chosen once for any-stable; and when the index was lost after UIDs diverged
 * (see mark_diverged), a new value for both rules, since the old UIDs cannot
 * be rebuilt and a UID must never name two messages. */
static int own_uidvalidity(struct mbx_mailbox *mb, const char *dir, const char *key, int lost,
                           uint32_t now, int readonly, struct mbx_batch *b)
{
	if (mb->rule == MBX_RULE_EXACT || mb->kind == MBX_KIND_NOT_MAILBOX)
		return 0;
	uint32_t v = read_uidvalidity(dir, key);
	char marker[4096];
	mbx_state_path(marker, sizeof marker, dir, key, "diverged");
	if (readonly) /* the value on record, or none (0) */
		lost = 0, now = 0;
	if (lost && access(marker, F_OK) == 0) {
		v = now > v ? now : v + 1;
		/* at once, never batched: the marker goes only once it is durable */
		if (write_uidvalidity(dir, key, v, NULL) < 0)
			return -1;
		unlink(marker);
	}
	if (mb->rule == MBX_RULE_ANY_STABLE && !v && now) {
		v = now;
		if (write_uidvalidity(dir, key, v, b) < 0)
			return -1;
	}
	if (v)
		mb->uidvalidity = v;
	return 0;
}

/* After a rebuild: give unchanged messages their old UIDs back (matched by
 * content hash, size and date, in file order), and the others new UIDs above
 * every UID handed out before. Returns 1 if any UID now differs from what a
 * parse from scratch gives, 0 if none does, -1 on ENOMEM. */
static int keep_uids(struct mbx_mailbox *mb, const struct mbx_mailbox *old)
{
	size_t cap = 1;
	while (cap < old->nmsgs * 2)
		cap <<= 1;
	const struct mbx_message **table = calloc(cap, sizeof *table);
	uint32_t *uids = malloc((mb->nmsgs ? mb->nmsgs : 1) * sizeof *uids);
	if (!table || !uids) {
		free(table);
		free(uids);
		errno = ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < old->nmsgs; i++) {
		size_t h = (size_t)old->msgs[i].hash & (cap - 1);
		while (table[h])
			h = (h + 1) & (cap - 1);
		table[h] = &old->msgs[i];
	}
	static const struct mbx_message used = {0}; /* marks a slot already matched */
	uint32_t last = old->uidnext > mb->uidnext ? old->uidnext - 1 : mb->uidnext - 1;
	for (size_t i = 0; i < mb->nmsgs; i++) {
		struct mbx_message *m = &mb->msgs[i];
		uids[i] = 0;
		for (size_t h = (size_t)m->hash & (cap - 1); table[h]; h = (h + 1) & (cap - 1)) {
			const struct mbx_message *o = table[h];
			if (o != &used && o->hash == m->hash && o->size == m->size &&
			    o->date == m->date) {
				uids[i] = o->uid;
				m->ctime = o->ctime;
				table[h] = &used;
				break;
			}
		}
	}
	int diverged = last + 1 != mb->uidnext;
	for (size_t i = 0; i < mb->nmsgs; i++) {
		uint32_t uid = uids[i] ? uids[i] : ++last;
		diverged |= uid != mb->msgs[i].uid;
		mb->msgs[i].uid = uid;
	}
	mb->uidnext = last + 1;
	mb->state.last_uid = last;
	if (mb->nmsgs)
		mb->state.prev_uid = mb->msgs[mb->nmsgs - 1].uid;
	free(uids);
	free(table);
	return diverged;
}

/* Sources up to this size parsed through a batch are read, not mapped. */
#define BATCH_READ_MAX (32u << 20)

/* Reads the whole file into b's buffer. Returns 0, or -1 with errno (EIO:
 * the file shrank meanwhile). */
static int read_into_batch(struct mbx_file *f, struct mbx_batch *b)
{
	if (b->buf_cap < f->size) {
		size_t cap = b->buf_cap ? b->buf_cap : 1u << 20;
		while (cap < f->size)
			cap *= 2;
		free(b->buf); /* nothing to keep: no copy as realloc() would make */
		b->buf_cap = 0;
		if (!(b->buf = malloc(cap)))
			return -1;
		b->buf_cap = cap;
	}
	for (uint64_t done = 0; done < f->size;) {
		ssize_t r = pread(f->fd, b->buf + done, f->size - done, (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		done += (uint64_t)r;
	}
	f->data = b->buf;
	return 0;
}

/* The source's bytes in f->data: mapped, or for a parse through a batch
 * (`mboxfs index`) read into the batch's buffer. Each worker thread of the
 * index command reads its mailboxes one after the other: a read reuses one
 * buffer, where a mapping would be unmapped after each, and every unmap in a
 * process with several running threads interrupts the others' processors to
 * flush their TLBs. */
static int map_file(struct mbx_file *f, int parse, struct mbx_batch *b)
{
	if (!f->size)
		return 0;
	if (parse && b && f->size <= BATCH_READ_MAX)
		return read_into_batch(f, b);
	void *p =
	    mmap(NULL, f->size, PROT_READ, MAP_PRIVATE | (parse ? MAP_POPULATE : 0), f->fd, 0);
	if (p == MAP_FAILED)
		return -1;
	if (parse)
		madvise(p, f->size, MADV_SEQUENTIAL);
	f->data = p;
	f->mapped = 1;
	return 0;
}

/* What mbx_open() does with the mapped bytes, run under source_guard_run():
 * a file truncated meanwhile ends it with SIGBUS, turned into an error. */
struct source_pass {
	struct mbx_file *f;
	const struct stat *st;
	struct identity *id;
	const struct identity *old_id; /* NULL without a sound index */
	struct mbx_mailbox *old;       /* its messages, moved out when used */
	uint32_t now;
	int r; /* as mbx_parse_append(); 1 also when the index was reused */
};

static void read_source(void *arg)
{
	struct source_pass *p = arg;
	struct mbx_file *f = p->f;
	identity_of(p->st, f->data, p->id);
	if (p->old_id && !memcmp(p->old_id, p->id, sizeof *p->id)) {
		f->mb = *p->old; /* ownership moves */
		mbx_mailbox_init(p->old);
		f->how = MBX_OPEN_INDEX_REUSED;
		p->r = 1;
		return;
	}
	if (p->old_id && only_grew(p->old_id, p->id, f->data)) {
		f->mb = *p->old;
		mbx_mailbox_init(p->old);
		f->how = MBX_OPEN_APPENDED;
		p->r = mbx_parse_append(&f->mb, f->data, f->size, p->now);
		if (p->r == 0) { /* not a clean append: start over, keeping UIDs */
			*p->old = f->mb;
			mbx_mailbox_init(&f->mb);
		}
	}
	if (p->r == 0) {
		f->how = p->old_id ? MBX_OPEN_REBUILT : MBX_OPEN_PARSED;
		p->r = mbx_parse(&f->mb, f->data, f->size, p->now);
	}
}

static int open_fd(struct mbx_file *f, int fd, const char *path, const char *state_dir,
                   const char *key, int readonly, struct mbx_batch *b, char *err, size_t errlen);

/* mbx_open() and mbx_open_readonly(): readonly never writes to state_dir. */
static int open_indexed(struct mbx_file *f, const char *path, const char *state_dir,
                        const char *key, int readonly, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOATIME | O_CLOEXEC);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		memset(f, 0, sizeof *f);
		mbx_mailbox_init(&f->mb);
		f->fd = -1;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return open_fd(f, fd, path, state_dir, key, readonly, NULL, err, errlen);
}

/* mbx_open_fd(), mbx_open_fd_readonly() and mbx_open_fd_batch(): readonly
 * never writes to state_dir; b, when not NULL, takes the writes (store.h). */
static int open_fd(struct mbx_file *f, int fd, const char *path, const char *state_dir,
                   const char *key, int readonly, struct mbx_batch *b, char *err, size_t errlen)
{
	struct stat st;
	memset(f, 0, sizeof *f);
	mbx_mailbox_init(&f->mb);
	f->fd = fd;
	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: %s", path,
		        S_ISREG(st.st_mode) ? strerror(errno) : "not a regular file");
		mbx_close(f);
		return -1;
	}
	f->size = (uint64_t)st.st_size;
	f->dev = st.st_dev, f->ino = st.st_ino;
	uint32_t now = (uint32_t)time(NULL);
	char idx_path[4096] = "";
	struct identity old_id, id;
	struct mbx_mailbox old;
	mbx_mailbox_init(&old);
	int have_old = 0;
	if (state_dir) {
		mbx_state_path(idx_path, sizeof idx_path, state_dir, key, "idx");
		have_old = load_index(idx_path, key, &old, &old_id);
	}
	if (map_file(f, !have_old, b) < 0) {
		set_err(err, errlen, "%s: cannot read: %s", path,
		        errno == EIO ? "the file shrank while it was read" : strerror(errno));
		mbx_mailbox_free(&old);
		mbx_close(f);
		return -1;
	}
	struct source_pass pass = {f, &st, &id, have_old ? &old_id : NULL, &old, now, 0};
	if (source_guard_run(f->data, f->size, read_source, &pass) < 0) {
		set_err(err, errlen, "%s: the file shrank while it was read", path);
		mbx_mailbox_free(&old);
		mbx_close(f);
		errno = EIO;
		return -1;
	}
	int r = pass.r;
	if (f->how == MBX_OPEN_INDEX_REUSED)
		return 0;
	const char *failed = r < 0 ? "parse" : NULL;
	if (!failed && state_dir && f->how != MBX_OPEN_APPENDED &&
	    own_uidvalidity(&f->mb, state_dir, key, !have_old, now, readonly, b) < 0)
		failed = "cannot record UIDVALIDITY";
	if (!failed && f->how == MBX_OPEN_REBUILT && f->mb.rule != MBX_RULE_EXACT &&
	    old.rule == f->mb.rule && old.uidvalidity == f->mb.uidvalidity) {
		int diverged = keep_uids(&f->mb, &old);
		if (diverged < 0 || (diverged && !readonly && mark_diverged(state_dir, key) < 0))
			failed = "cannot record UID state";
	}
	mbx_mailbox_free(&old);
	if (failed) {
		set_err(err, errlen, "%s: %s: %s", path, failed, strerror(errno));
		mbx_close(f);
		return -1;
	}

	if (state_dir && !readonly && save_index(state_dir, idx_path, key, &f->mb, &id, b) < 0) {
		set_err(err, errlen, "%s: cannot write index in %s: %s", path, state_dir,
		        strerror(errno));
		mbx_close(f);
		return -1;
	}
	return 0;
}

int mbx_open_fd(struct mbx_file *f, int fd, const char *path, const char *state_dir,
                const char *key, char *err, size_t errlen)
{
	return open_fd(f, fd, path, state_dir, key, 0, NULL, err, errlen);
}

int mbx_open_fd_batch(struct mbx_file *f, int fd, const char *path, const char *state_dir,
                      const char *key, struct mbx_batch *b, char *err, size_t errlen)
{
	return open_fd(f, fd, path, state_dir, key, 0, b, err, errlen);
}

int mbx_open_fd_readonly(struct mbx_file *f, int fd, const char *path, const char *state_dir,
                         const char *key, char *err, size_t errlen)
{
	return open_fd(f, fd, path, state_dir, key, 1, NULL, err, errlen);
}

int mbx_open(struct mbx_file *f, const char *path, const char *state_dir, const char *key,
             char *err, size_t errlen)
{
	return open_indexed(f, path, state_dir, key, 0, err, errlen);
}

int mbx_open_readonly(struct mbx_file *f, const char *path, const char *state_dir, const char *key,
                      char *err, size_t errlen)
{
	return open_indexed(f, path, state_dir, key, 1, err, errlen);
}

void mbx_close(struct mbx_file *f)
{
	if (f->mapped)
		munmap((void *)f->data, f->size);
	if (f->fd >= 0)
		close(f->fd);
	mbx_mailbox_free(&f->mb);
	f->data = NULL;
	f->mapped = 0;
	f->fd = -1;
}

const char *mbx_open_how_name(enum mbx_open_how how)
{
	static const char *const names[] = {"reused", "appended", "rebuilt", "parsed"};
	return names[how];
}
