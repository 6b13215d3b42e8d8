/* folder_state.c — what Courier changed of a folder's old objects: a byte per
 * message (MS_* in fs_internal.h) and a bit per removed control file, kept in
 * memory and recorded in the folder's journal (journal.h: the records, their
 * durability and recovery) before the change is answered.
 *
 * Readers (listing, lookup, reads) load the state bytes without a lock;
 * changes hold the folder's change_lock, so the journal of a folder always
 * agrees with its bytes, and a compaction, which rewrites the journal from
 * the bytes, never drops a record nor an unfinished move. */
#include "fs_internal.h"
#include "name.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint8_t state_of(const struct folder *f, uint32_t i)
{
	const uint8_t *ms = __atomic_load_n(&f->mstate, __ATOMIC_ACQUIRE);
	return ms ? __atomic_load_n(&ms[i], __ATOMIC_ACQUIRE) : 0;
}

/* The state bytes are made at the folder's first change: most folders are
 * only read, and then every byte would stay 0. The caller holds change_lock
 * (or f->lock at load). 0, or -ENOMEM. */
static int have_states(struct folder *f)
{
	if (f->mstate)
		return 0;
	uint8_t *ms = calloc(f->file.mb.nmsgs ? f->file.mb.nmsgs : 1, 1);
	if (!ms)
		return -ENOMEM;
	__atomic_store_n(&f->mstate, ms, __ATOMIC_RELEASE);
	return 0;
}

/* After have_states(). */
static void set_state(struct folder *f, uint32_t i, uint8_t st)
{
	__atomic_store_n(&f->mstate[i], st, __ATOMIC_RELEASE);
}

uint8_t message_flags(const struct folder *f, uint32_t index)
{
	uint8_t st = state_of(f, index);
	return st & MS_FLAGS_SET ? st & MS_FLAGS : f->file.mb.msgs[index].flags & MS_FLAGS;
}

int message_hidden(const struct folder *f, uint32_t index)
{
	return (state_of(f, index) & MS_HIDDEN) != 0;
}

int message_real(const struct folder *f, uint32_t index)
{
	return (state_of(f, index) & MS_REAL) != 0;
}

int control_hidden(const struct folder *f, enum vkind kind)
{
	return (__atomic_load_n(&f->control_hidden, __ATOMIC_ACQUIRE) >> kind) & 1;
}

/* The state of message i once done ('u' moved away, 'k' real in cur/): a
 * real message keeps the flags it was listed with, those its file was given,
 * so that `mboxfs verify` and the POP3 size list know them. */
static uint8_t done_state(const struct folder *f, uint32_t i, char done)
{
	return done == 'k' ? MS_HIDDEN | MS_REAL | (state_of(f, i) & (MS_FLAGS_SET | MS_FLAGS))
	                   : MS_HIDDEN;
}

/* "<uid>" at s, and the message with it; s moves past the number. */
static int parse_uid(const struct folder *f, const char **s, uint32_t *index)
{
	char *end;
	unsigned long uid = strtoul(*s, &end, 10);
	if (end == *s || uid > UINT32_MAX)
		return 0;
	*s = end;
	return folder_index_of_uid(f, (uint32_t)uid, index);
}

/* Unfinished moves found while replaying. */
struct replay {
	struct folder *f;
	char **intents;
	size_t nintents;
	int err; /* -ENOMEM: no state bytes */
};

/* Applies one record to the state (journal.h lists them). */
static void apply(char *line, void *arg)
{
	struct replay *rp = arg;
	struct folder *f = rp->f;
	const char *s = line + 2;
	uint32_t i;
	uint8_t flags;
	if (line[0] == '\0' || line[1] != ' ')
		return;
	if ((line[0] == 'f' || line[0] == 'u' || line[0] == 'k') && have_states(f) < 0) {
		rp->err = -ENOMEM;
		return;
	}
	switch (line[0]) {
	case 'f':
		if (parse_uid(f, &s, &i) && *s == ' ' &&
		    mbx_parse_flag_letters(s + 1, &flags) == 0 && !message_hidden(f, i))
			set_state(f, i, MS_FLAGS_SET | flags);
		break;
	case 'u':
	case 'k':
		if (parse_uid(f, &s, &i) && !*s)
			set_state(f, i, done_state(f, i, line[0]));
		break;
	case 'c':
		for (enum vkind k = VK_UIDDB; k <= VK_POP3LIST; k++)
			if (!strcmp(s, control_file_name(k)))
				f->control_hidden |= 1u << k;
		break;
	case 'm': {
		char **grown = realloc(rp->intents, (rp->nintents + 1) * sizeof *grown);
		if (grown && (grown[rp->nintents] = strdup(s)))
			rp->nintents++;
		if (grown)
			rp->intents = grown;
		break;
	}
	}
}

/* "<uid> <u|k> <path>": the move happened if the copy exists (then its done
 * record is written now), else it did not. */
static void complete_intent(struct folder *f, const char *intent)
{
	uint32_t i;
	const char *s = intent;
	if (!parse_uid(f, &s, &i) || s[0] != ' ' || (s[1] != 'u' && s[1] != 'k') || s[2] != ' ' ||
	    message_hidden(f, i))
		return;
	if (faccessat(fs.upper_fd, s + 3, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	if (fs.readonly) { /* verify: the same state, in memory only */
		if (have_states(f) == 0)
			set_state(f, i, done_state(f, i, s[1]));
	} else
		fstate_copied(f, 1, &i, s[1], 0);
}

/* The journal rewritten from the state: one record per changed object. */
static int compact(struct folder *f)
{
	size_t cap = 64 * (VK_POP3LIST + 1), used = 0;
	char *text = malloc(cap);
	for (uint32_t i = 0; text && i < f->file.mb.nmsgs; i++) {
		uint8_t st = state_of(f, i);
		char letters[6];
		if (!st)
			continue;
		if (cap - used < 64) {
			char *grown = realloc(text, cap *= 2);
			if (!grown)
				break;
			text = grown;
		}
		mbx_flag_letters(st & MS_FLAGS, letters);
		uint32_t uid = f->file.mb.msgs[i].uid;
		/* a real message's flags first: "k" keeps them (done_state) */
		if (st & MS_FLAGS_SET)
			used += (size_t)sprintf(text + used, "f %u %s\n", uid, letters);
		if (st & MS_HIDDEN)
			used +=
			    (size_t)sprintf(text + used, "%c %u\n", st & MS_REAL ? 'k' : 'u', uid);
	}
	if (!text || cap - used < 64) { /* out of memory: the long journal stays */
		free(text);
		return -ENOMEM;
	}
	for (enum vkind k = VK_UIDDB; k <= VK_POP3LIST; k++)
		if (control_hidden(f, k))
			used += (size_t)sprintf(text + used, "c %s\n", control_file_name(k));
	int r = journal_rewrite(&f->journal, text, used);
	free(text);
	return r;
}

static void compact_if_long(struct folder *f)
{
	if (journal_wants_compaction(&f->journal, f->file.mb.nmsgs + VK_POP3LIST)) {
		int r = compact(f);
		if (r < 0)
			fs_log("%s: cannot compact the journal: %s", f->mbox_path, strerror(-r));
	}
}

int fstate_load(struct folder *f)
{
	struct replay rp = {f, NULL, 0, 0};
	f->control_hidden = 0;
	f->mstate = NULL; /* made by the first change */
	int r = journal_init(&f->journal, fs.state_dir, f->key, "wh");
	f->journal.readonly = fs.readonly;
	if (r == 0)
		r = journal_replay(&f->journal, apply, &rp);
	if (r == 0)
		r = rp.err;
	for (size_t k = 0; k < rp.nintents; k++) { /* moves interrupted by a crash */
		if (r == 0)
			complete_intent(f, rp.intents[k]);
		free(rp.intents[k]);
	}
	free(rp.intents);
	if (r == 0 && !fs.readonly)
		compact_if_long(f);
	return r;
}

void fstate_unload(struct folder *f)
{
	if (f->journal.path)
		journal_close(&f->journal);
	free(f->mstate);
	f->mstate = NULL;
	f->control_hidden = 0;
}

/* Appends a record and applies the new state of message i. */
static int record(struct folder *f, uint32_t i, uint8_t st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int record(struct folder *f, uint32_t i, uint8_t st, const char *fmt, ...)
{
	char text[128];
	if (have_states(f) < 0) /* before the record: never one not applied */
		return -ENOMEM;
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	int r = journal_append(&f->journal, text, (size_t)len);
	if (r == 0) {
		set_state(f, i, st);
		compact_if_long(f);
	}
	return r;
}

int fstate_set_flags(struct folder *f, uint32_t index, uint8_t flags)
{
	char letters[6];
	mbx_flag_letters(flags, letters);
	return record(f, index, MS_FLAGS_SET | (flags & MS_FLAGS), "f %u %s\n",
	              f->file.mb.msgs[index].uid, letters);
}

int fstate_expunge(struct folder *f, uint32_t index)
{
	return record(f, index, MS_HIDDEN, "u %u\n", f->file.mb.msgs[index].uid);
}

int fstate_control_removed(struct folder *f, enum vkind kind)
{
	int r = journal_appendf(&f->journal, "c %s\n", control_file_name(kind));
	if (r == 0)
		__atomic_fetch_or(&f->control_hidden, 1u << kind, __ATOMIC_RELEASE);
	return r;
}

/* Records in one write: for n messages, "m" intents when targets is set, else
 * the done records, then a "c" record per kind in controls. */
static int append_copies(struct folder *f, size_t n, const uint32_t *indexes, char done,
                         const char *const *targets, unsigned controls)
{
	size_t cap = 64 * (VK_POP3LIST + 1);
	for (size_t i = 0; i < n; i++)
		cap += 16 + (targets ? 5 + strlen(targets[i]) : 0);
	char *text = malloc(cap), *end = text;
	if (!text)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint32_t uid = f->file.mb.msgs[indexes[i]].uid;
		end += targets ? sprintf(end, "m %u %c %s\n", uid, done, targets[i])
		               : sprintf(end, "%c %u\n", done, uid);
	}
	for (enum vkind k = VK_UIDDB; k <= VK_POP3LIST; k++)
		if (controls & (1u << k))
			end += sprintf(end, "c %s\n", control_file_name(k));
	int r = journal_append(&f->journal, text, (size_t)(end - text));
	free(text);
	return r;
}

int fstate_copy_intents(struct folder *f, size_t n, const uint32_t *indexes, char done,
                        const char *const *targets, int durable)
{
	/* durable before the copies exist: a power cut then leaves an intent
	 * that the next load resolves, never a copy nobody knows of */
	int r = append_copies(f, n, indexes, done, targets, 0);
	return r || !durable ? r : journal_sync(&f->journal);
}

int fstate_copied(struct folder *f, size_t n, const uint32_t *indexes, char done, unsigned controls)
{
	int r = n ? have_states(f) : 0;
	if (r < 0)
		return r;
	r = append_copies(f, n, indexes, done, NULL, controls);
	if (r < 0)
		return r;
	fstate_mark_copied(f, n, indexes, done, controls);
	compact_if_long(f);
	return 0;
}

int fstate_prepare(struct folder *f)
{
	return have_states(f);
}

void fstate_mark_copied(struct folder *f, size_t n, const uint32_t *indexes, char done,
                        unsigned controls)
{
	for (size_t i = 0; i < n; i++)
		set_state(f, indexes[i], done_state(f, indexes[i], done));
	__atomic_fetch_or(&f->control_hidden, controls, __ATOMIC_RELEASE);
}

int fstate_record_copied(struct folder *f, size_t n, const uint32_t *indexes, char done,
                         unsigned controls, int may_compact)
{
	int r = append_copies(f, n, indexes, done, NULL, controls);
	if (r == 0 && may_compact)
		compact_if_long(f);
	return r;
}
