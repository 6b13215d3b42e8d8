/* listing_ahead.c — a folder's cur/ listed through the mount as soon as
 * Courier first looks into the folder, so that the kernel holds every
 * message's node before Courier lists cur/ itself.
 *
 * Why: the first listing of a cur/ after the mount gives every message with
 * its node (kernel_names.c), and the kernel makes a dentry and an inode for
 * each: about 1.6 us a message, 13 ms for 8,032. A first SELECT waited for
 * that work. But Courier looks into the folder's directory first (tmp/ for its
 * lock and UID list files, courierimapacl; for the INBOX already at login, and
 * a client's SELECT comes a round trip later), so the work can be done by
 * then, on another processor. Courier's own listing is then the same as this
 * one and gives names only.
 *
 * How: the first LOOKUP in a folder's directory (ops_entry.c) asks for one
 * listing of its cur/ per mount. A thread opens <mount>/<folder>/cur and reads
 * it to the end: an ordinary listing, whose opendir follows the old server
 * (ops_dir.c) and whose end kernel_names.c records. If Courier lists while
 * this one runs, both are simply made. A folder Courier never looks into
 * (materialize, a LIST of the account) is never listed here.
 *
 * Threads of their own, detached, at most LISTINGS_AHEAD at a time (more are
 * skipped: Courier's listing then does the work): a listing's requests need
 * free workers, and the end of the process (a signal: unmount and _exit) must
 * not wait for calls whose requests no longer get answers. After a plain
 * unmount their calls fail at once; listing_ahead_drain() waits for them. */
#include "fs_internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LISTINGS_AHEAD 4
/* as much of a listing per call as the kernel's request takes (its buffer
 * follows the caller's, up to max_pages) */
#define LISTING_BUFFER (128 * 1024)

static int listings; /* running, atomic */

static void *list_cur(void *arg)
{
	char *path = arg;
	char *buf = malloc(LISTING_BUFFER);
	int fd = buf ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		while (getdents64(fd, buf, LISTING_BUFFER) > 0)
			;
		close(fd);
	}
	free(buf);
	free(path);
	__atomic_sub_fetch(&listings, 1, __ATOMIC_RELEASE);
	return NULL;
}

void listing_ahead(struct folder *f)
{
	if (!fs.mount_path || __atomic_exchange_n(&f->listed_ahead, 1, __ATOMIC_ACQ_REL))
		return;
	if (__atomic_add_fetch(&listings, 1, __ATOMIC_ACQ_REL) > LISTINGS_AHEAD) {
		__atomic_sub_fetch(&listings, 1, __ATOMIC_RELEASE);
		return;
	}
	char *path = NULL;
	pthread_mutex_lock(&f->lock);
	int len = asprintf(&path, "%s/%s%s", fs.mount_path, f->dirpath, folder_subdir(ROLE_CUR));
	pthread_mutex_unlock(&f->lock);
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int started = len >= 0 && pthread_create(&t, &attr, list_cur, path) == 0;
	pthread_attr_destroy(&attr);
	if (!started) {
		free(len >= 0 ? path : NULL);
		__atomic_sub_fetch(&listings, 1, __ATOMIC_RELEASE);
	}
}

void listing_ahead_drain(void)
{
	for (int i = 0; i < 1000 && __atomic_load_n(&listings, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
}
