/* whiteout.c — what the upper tree hides of a folder's virtual objects,
 * recorded durably before the operation that hides them is answered.
 *
 * One append-only log per folder in the state directory (<key hash>.wh), a
 * line per record:
 *   "u <uid>"               the message is gone from here (expunged, moved away)
 *   "k <uid>"               the message lives on in cur/ as a real file with the
 *                           same key (a flag change): hidden, but still the same
 *                           message for POP3
 *   "c <name>"              Courier removed this generated control file
 *   "m <uid> <u|k> <path>"  intent to copy the message to <path> (below the
 *                           upper root), then to write the "u" or "k" record
 * On reading, an intent without its completion is completed if the copy exists
 * and dropped if not, so a crash in the middle of a move leaves the message in
 * exactly one place. A record is written and fdatasync()ed before the reply, so
 * an OK Courier got is never lost; a torn last line (crash while appending) is
 * ignored on reading. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_bit(uint8_t *map, uint32_t i)
{
	__atomic_fetch_or(&map[i / 8], (uint8_t)(1u << (i % 8)), __ATOMIC_RELEASE);
}

static int get_bit(const uint8_t *map, uint32_t i)
{
	return map && (__atomic_load_n(&map[i / 8], __ATOMIC_ACQUIRE) >> (i % 8)) & 1;
}

/* Applies a "u", "k" or "c" record (without its newline). */
static void apply(struct folder *f, const char *line)
{
	uint32_t i;
	if ((line[0] == 'u' || line[0] == 'k') && line[1] == ' ') {
		char *end;
		unsigned long uid = strtoul(line + 2, &end, 10);
		if (*end == '\0' && folder_index_of_uid(f, (uint32_t)uid, &i)) {
			if (line[0] == 'k')
				set_bit(f->kept, i);
			set_bit(f->hidden, i);
		}
	} else if (line[0] == 'c' && line[1] == ' ') {
		for (enum vkind k = VK_UIDDB; k <= VK_POP3LIST; k++)
			if (!strcmp(line + 2, control_file_name(k)))
				__atomic_fetch_or(&f->control_hidden, 1u << k, __ATOMIC_RELEASE);
	}
}

/* Appends records (whole lines) durably, then applies them. Caller holds
 * f->lock. */
static int append_records(struct folder *f, char *records, size_t len)
{
	char path[4096];
	mbx_state_path(path, sizeof path, fs.state_dir, f->key, "wh");
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	int r = 0;
	errno = 0;
	if (fd < 0 || write(fd, records, len) != (ssize_t)len || fdatasync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) < 0 && !r)
		r = -errno;
	for (char *line = records, *nl;
	     r == 0 && (nl = memchr(line, '\n', len - (size_t)(line - records))); line = nl + 1) {
		*nl = '\0';
		if (line[0] != 'm')
			apply(f, line);
	}
	return r;
}

/* One record, as append_records. */
static int append(struct folder *f, const char *fmt, ...)
{
	char *record = NULL;
	va_list ap;
	va_start(ap, fmt);
	int len = vasprintf(&record, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	int r = append_records(f, record, (size_t)len);
	free(record);
	return r;
}

/* "m <uid> <u|k> <path>" read back: completed if the copy exists. */
static void complete_intent(struct folder *f, const char *intent)
{
	char *end, done;
	unsigned long uid = strtoul(intent, &end, 10);
	uint32_t i;
	if (end[0] != ' ' || (end[1] != 'u' && end[1] != 'k') || end[2] != ' ')
		return;
	done = end[1];
	if (folder_index_of_uid(f, (uint32_t)uid, &i) && !message_hidden(f, i) &&
	    faccessat(fs.upper_fd, end + 3, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		append(f, "%c %lu\n", done, uid); /* the copy is there: the move happened */
}

int whiteout_load(struct folder *f)
{
	char path[4096];
	mbx_state_path(path, sizeof path, fs.state_dir, f->key, "wh");
	size_t bytes = f->file.mb.nmsgs / 8 + 1;
	f->hidden = calloc(bytes, 1);
	f->kept = calloc(bytes, 1);
	if (!f->hidden || !f->kept)
		return -ENOMEM;
	FILE *in = fopen(path, "re");
	if (!in)
		return errno == ENOENT ? 0 : -errno;
	char *line = NULL, **intents = NULL;
	size_t cap = 0, nintents = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] != '\n')
			continue; /* a torn last record */
		line[n - 1] = '\0';
		if (line[0] != 'm' || line[1] != ' ')
			apply(f, line);
		else {
			char **grown = realloc(intents, (nintents + 1) * sizeof *grown);
			if (grown)
				intents = grown;
			if (grown && (intents[nintents] = strdup(line + 2)))
				nintents++;
		}
	}
	free(line);
	fclose(in);
	for (size_t k = 0; k < nintents; k++) { /* moves interrupted by a crash */
		complete_intent(f, intents[k]);
		free(intents[k]);
	}
	free(intents);
	return 0;
}

int whiteout_message(struct folder *f, uint32_t index)
{
	pthread_mutex_lock(&f->lock);
	int r = append(f, "u %u\n", f->file.mb.msgs[index].uid);
	pthread_mutex_unlock(&f->lock);
	return r;
}

/* Records in one write: for n messages, "m" intents when targets is set, else
 * the done records, then a "c" record per kind in controls. */
static int append_moves(struct folder *f, size_t n, const uint32_t *indexes, char done,
                        const char *const *targets, unsigned controls)
{
	size_t cap = 64 * (VK_POP3LIST + 1);
	for (size_t i = 0; i < n; i++)
		cap += 16 + (targets ? 5 + strlen(targets[i]) : 0);
	char *text = malloc(cap), *end = text;
	if (!text)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < n; i++) {
		uint32_t uid = f->file.mb.msgs[indexes[i]].uid;
		end += targets ? sprintf(end, "m %u %c %s\n", uid, done, targets[i])
		               : sprintf(end, "%c %u\n", done, uid);
	}
	for (enum vkind k = VK_UIDDB; k <= VK_POP3LIST; k++)
		if (controls & (1u << k))
			end += sprintf(end, "c %s\n", control_file_name(k));
	int r = append_records(f, text, (size_t)(end - text));
	pthread_mutex_unlock(&f->lock);
	free(text);
	return r;
}

int whiteout_move_intents(struct folder *f, size_t n, const uint32_t *indexes, char done,
                          const char *const *targets)
{
	return append_moves(f, n, indexes, done, targets, 0);
}

int whiteout_moved(struct folder *f, size_t n, const uint32_t *indexes, char done,
                   unsigned controls)
{
	return append_moves(f, n, indexes, done, NULL, controls);
}

int whiteout_control(struct folder *f, enum vkind kind)
{
	pthread_mutex_lock(&f->lock);
	int r = append(f, "c %s\n", control_file_name(kind));
	pthread_mutex_unlock(&f->lock);
	return r;
}

int message_hidden(const struct folder *f, uint32_t index)
{
	return get_bit(f->hidden, index);
}

int control_hidden(const struct folder *f, enum vkind kind)
{
	return (__atomic_load_n(&f->control_hidden, __ATOMIC_ACQUIRE) >> kind) & 1;
}
