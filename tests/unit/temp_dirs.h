/* temp_dirs.h — the fixture of the unit tests that open mboxes through a
 * state directory: a fresh state directory and mail directory under /tmp,
 * with the path of an mbox "inbox" in the latter (not created), removed with
 * their files after the test. Include after cmocka.h. */
#ifndef MBOXFS_TEST_TEMP_DIRS_H
#define MBOXFS_TEST_TEMP_DIRS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct dirs {
	char state[64];
	char mail[64];
	char mbox[128];
};

static inline int setup(void **state)
{
	struct dirs *d = calloc(1, sizeof *d);
	if (!d) /* not assert_non_null: gcc cannot see it does not return */
		return -1;
	strcpy(d->state, "/tmp/mboxfs-unit-state-XXXXXX");
	strcpy(d->mail, "/tmp/mboxfs-unit-mail-XXXXXX");
	assert_non_null(mkdtemp(d->state));
	assert_non_null(mkdtemp(d->mail));
	snprintf(d->mbox, sizeof d->mbox, "%s/inbox", d->mail);
	*state = d;
	return 0;
}

static inline void remove_dir(const char *path)
{
	DIR *dir = opendir(path);
	if (!dir)
		return;
	struct dirent *e;
	while ((e = readdir(dir))) {
		char p[512];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		unlink(p);
	}
	closedir(dir);
	rmdir(path);
}

static inline int teardown(void **state)
{
	struct dirs *d = *state;
	remove_dir(d->state);
	remove_dir(d->mail);
	free(d);
	return 0;
}

#endif
