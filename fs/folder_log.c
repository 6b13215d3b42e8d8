/* folder_log.c — what Courier did to an account's old folders (RENAME,
 * DELETE), so that a remount shows them where Courier left them. One
 * append-only log per account in the state directory, a line per record,
 * written and fdatasync()ed before the reply:
 *   "r <UW name>\t<directory below the maildir>"   the folder now lives there
 *   "d <UW name>"                                   the folder was deleted
 * The last record of a folder wins; a torn last line is ignored. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void log_path(const struct account_rt *acct, char *buf, size_t len)
{
	char key[4096];
	snprintf(key, sizeof key, "%s:folders", acct->a->maildir);
	mbx_state_path(buf, len, fs.state_dir, key, "folders");
}

int folder_log_append(struct account_rt *acct, char op, const char *uw_name, const char *dir)
{
	char path[4096], *record = NULL;
	log_path(acct, path, sizeof path);
	int n = dir ? asprintf(&record, "%c %s\t%s\n", op, uw_name, dir)
	            : asprintf(&record, "%c %s\n", op, uw_name);
	if (n < 0)
		return -ENOMEM;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	int r = 0;
	if (fd < 0 || write(fd, record, (size_t)n) != n || fdatasync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (fd >= 0)
		close(fd);
	free(record);
	return r;
}

/* Where the folder uw_name lives now: 1 with *dir set (malloc'ed, below the
 * maildir) if renamed, -1 if deleted, 0 if untouched. */
int folder_log_lookup(const struct account_rt *acct, const char *uw_name, char **dir)
{
	char path[4096];
	log_path(acct, path, sizeof path);
	FILE *in = fopen(path, "re");
	if (!in)
		return 0;
	char *line = NULL;
	size_t cap = 0, len = strlen(uw_name);
	ssize_t n;
	int state = 0;
	*dir = NULL;
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] != '\n' || n < 3 || line[1] != ' ' ||
		    strncmp(line + 2, uw_name, len))
			continue;
		line[n - 1] = '\0';
		const char *rest = line + 2 + len;
		if (line[0] == 'd' && !*rest)
			state = -1;
		else if (line[0] == 'r' && *rest == '\t') {
			free(*dir);
			*dir = strdup(rest + 1);
			state = *dir ? 1 : 0;
		}
	}
	free(line);
	fclose(in);
	if (state != 1) {
		free(*dir);
		*dir = NULL;
	}
	return state;
}
