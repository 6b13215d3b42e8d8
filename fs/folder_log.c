/* folder_log.c — what Courier did to an account's old folders (RENAME,
 * DELETE), so that a remount shows them where Courier left them: "r" and "d"
 * records of the account's journal (journal.h), the last record of a folder
 * winning. */
#include "fs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int folder_log_append(struct account_rt *acct, char op, const char *uw_name, const char *dir)
{
	return dir ? journal_appendf(&acct->folder_journal, "%c %s\t%s\n", op, uw_name, dir)
	           : journal_appendf(&acct->folder_journal, "%c %s\n", op, uw_name);
}

struct lookup {
	const char *uw_name;
	size_t len;
	int state; /* 1 renamed, -1 deleted, 0 untouched */
	char *dir;
};

static void apply(char *line, void *arg)
{
	struct lookup *l = arg;
	if (line[0] == '\0' || line[1] != ' ' || strncmp(line + 2, l->uw_name, l->len))
		return;
	const char *rest = line + 2 + l->len;
	if (line[0] == 'd' && !*rest) {
		l->state = -1;
	} else if (line[0] == 'r' && *rest == '\t') {
		free(l->dir);
		l->dir = strdup(rest + 1);
		l->state = l->dir ? 1 : 0;
	}
}

/* Where the folder uw_name lives now: 1 with *dir set (malloc'ed, below the
 * maildir) if renamed, -1 if deleted, 0 if untouched. */
int folder_log_lookup(struct account_rt *acct, const char *uw_name, char **dir)
{
	struct lookup l = {uw_name, strlen(uw_name), 0, NULL};
	journal_replay(&acct->folder_journal, apply, &l);
	if (l.state != 1) {
		free(l.dir);
		l.dir = NULL;
	}
	*dir = l.dir;
	return l.state;
}
