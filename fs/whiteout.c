/* whiteout.c — what the upper tree hides of a folder's virtual objects,
 * recorded durably before the operation that hides them is answered.
 *
 * One append-only log per folder in the state directory (<key hash>.wh), a
 * line per record: "u <uid>" hides a message (expunged, or moved elsewhere by
 * copy-up), "c <name>" a generated control file Courier removed, and
 * "m <uid> <path>" the intent to copy a message to <path> (below the upper
 * root) before it is hidden: on reading, an intent without its "u" line is
 * completed if the copy exists and dropped if not, so a crash in the middle of a
 * move leaves the message in exactly one place. A record is written and
 * fdatasync()ed before the reply, so an OK Courier got is never lost; a torn
 * last line (crash while appending) is ignored on reading. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const control_names[] = {
    [VK_UIDDB] = "courierimapuiddb",
    [VK_KEYWORDS] = ":list",
    [VK_SUBSCRIBED] = "courierimapsubscribed",
};

static void log_path(const struct folder *f, char *buf, size_t len)
{
	mbx_state_path(buf, len, fs.state_dir, f->key, "wh");
}

static void hide(struct folder *f, uint32_t i)
{
	__atomic_fetch_or(&f->hidden[i / 8], (uint8_t)(1u << (i % 8)), __ATOMIC_RELEASE);
}

/* Caller holds f->lock. */
static void apply(struct folder *f, const char *line)
{
	if (line[0] == 'u' && line[1] == ' ') {
		char *end;
		unsigned long uid = strtoul(line + 2, &end, 10);
		uint32_t i;
		if (*end == '\0' && folder_index_of_uid(f, (uint32_t)uid, &i))
			hide(f, i);
	} else if (line[0] == 'c' && line[1] == ' ') {
		for (unsigned k = 0; k < sizeof control_names / sizeof control_names[0]; k++)
			if (control_names[k] && !strcmp(line + 2, control_names[k]))
				__atomic_fetch_or(&f->control_hidden, 1u << k, __ATOMIC_RELEASE);
	}
}

/* Appends one record durably, then applies it. Caller holds f->lock. */
static int append(struct folder *f, const char *record)
{
	char path[4096];
	log_path(f, path, sizeof path);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	size_t len = strlen(record);
	int r = 0;
	if (write(fd, record, len) != (ssize_t)len || fdatasync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (r == 0 && record[0] != 'm') {
		char line[64];
		snprintf(line, sizeof line, "%.*s", (int)len - 1, record);
		apply(f, line);
	}
	return r;
}

int whiteout_load(struct folder *f)
{
	char path[4096];
	log_path(f, path, sizeof path);
	f->hidden = calloc(f->file.mb.nmsgs / 8 + 1, 1);
	if (!f->hidden)
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
		if (line[0] == 'm' && line[1] == ' ') {
			char **grown = realloc(intents, (nintents + 1) * sizeof *grown);
			if (grown && (grown[nintents] = strdup(line + 2)))
				intents = grown, nintents++;
			else if (grown)
				intents = grown;
		} else
			apply(f, line);
	}
	free(line);
	fclose(in);
	for (size_t k = 0; k < nintents; k++) { /* moves interrupted by a crash */
		char *path = strchr(intents[k], ' ');
		unsigned long uid = strtoul(intents[k], NULL, 10);
		uint32_t i;
		if (path && folder_index_of_uid(f, (uint32_t)uid, &i) && !message_hidden(f, i) &&
		    faccessat(fs.upper_fd, path + 1, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			char record[32];
			snprintf(record, sizeof record, "u %lu\n", uid);
			append(f, record); /* the copy is there: the move happened */
		}
		free(intents[k]);
	}
	free(intents);
	return 0;
}

int whiteout_message(struct folder *f, uint32_t index)
{
	char record[32];
	snprintf(record, sizeof record, "u %u\n", f->file.mb.msgs[index].uid);
	pthread_mutex_lock(&f->lock);
	int r = append(f, record);
	pthread_mutex_unlock(&f->lock);
	return r;
}

int whiteout_move_intent(struct folder *f, uint32_t index, const char *target)
{
	char *record = NULL;
	if (asprintf(&record, "m %u %s\n", f->file.mb.msgs[index].uid, target) < 0)
		return -ENOMEM;
	pthread_mutex_lock(&f->lock);
	int r = append(f, record);
	pthread_mutex_unlock(&f->lock);
	free(record);
	return r;
}

int whiteout_control(struct folder *f, enum vkind kind)
{
	char record[64];
	snprintf(record, sizeof record, "c %s\n", control_names[kind]);
	pthread_mutex_lock(&f->lock);
	int r = append(f, record);
	pthread_mutex_unlock(&f->lock);
	return r;
}

int message_hidden(const struct folder *f, uint32_t index)
{
	return f->hidden &&
	       (__atomic_load_n(&f->hidden[index / 8], __ATOMIC_ACQUIRE) >> (index % 8)) & 1;
}

int control_hidden(const struct folder *f, enum vkind kind)
{
	return (__atomic_load_n(&f->control_hidden, __ATOMIC_ACQUIRE) >> kind) & 1;
}
