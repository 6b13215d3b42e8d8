/* prefetch.c — what the kernel is given before Courier asks for it: the
 * messages that follow one Courier starts to read, pushed into the page
 * cache, and the nodes of a folder's cur/, listed through the mount as soon
 * as Courier first looks into the folder.
 *
 * Why: a FETCH of many messages (headers for a client without a cache, a
 * SORT, a POP3 download) reads them in UID order, and each one the page cache
 * lacks costs two round trips: the READ, and then a GETATTR at Courier's next
 * fstat(), because a read through the daemon invalidates the kernel's atime
 * (fs/fuse: fuse_invalidate_atime). Old messages never change and the mount
 * keeps their pages (no open, ops_file.c), so their bytes may be in the page
 * cache before they are asked for: a read of cached pages sends nothing.
 *
 * How: a read at offset 0 of message i of a folder (its first page, which
 * the page cache lacked) asks for messages i+1, i+2... in file order, which
 * is UID order, up to PREFETCH_MESSAGES or PREFETCH_BYTES; one thread pushes
 * each whole message with FUSE_NOTIFY_STORE, unless the folder's last push
 * window already held it. A push for a node the kernel does not hold fails
 * (ENOENT) and is skipped: the kernel knows the messages of a cur/ listing
 * given with nodes (kernel_names.c). Messages whose bytes are gone from the
 * source, larger than PREFETCH_MAX_MESSAGE, or of a diverged folder are
 * skipped; a miss is only a READ.
 *
 * Listings, why: the first listing of a cur/ after the mount gives every
 * message with its node (kernel_names.c), and the kernel makes a dentry and an
 * inode for each: about 1.6 us a message, 13 ms for 8,032, which a first
 * SELECT waited for. But Courier looks into the folder's directory first (tmp/
 * for its lock and UID list files, courierimapacl; for the INBOX already at
 * login, and a client's SELECT comes a round trip later), so the work can be
 * done by then, on another processor; Courier's own listing is then the same
 * and gives names only. The pushes above need those nodes too.
 *
 * Listings, how: the first LOOKUP in a folder's directory (ops_entry.c) asks
 * for one listing of its cur/ per mount; the thread opens <mount>/<folder>/cur
 * and reads it to the end: an ordinary listing, whose opendir follows the old
 * server (ops_dir.c) and whose end kernel_names.c records. If Courier lists
 * meanwhile, both are simply made. A folder Courier never looks into
 * (materialize, a LIST of the account) is never listed here.
 *
 * One thread, not the request workers: the kernel stores into a page after
 * locking it, and waits for a page it has locked for a READ of the same file;
 * that READ needs a free worker, and so do a listing's requests. The requests
 * wait in a small ring; when it is full, new ones are dropped (a miss again is
 * only a READ, or a listing with nodes by Courier). */
#include "fs_internal.h"
#include "source_read.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define PREFETCH_MESSAGES    32
#define PREFETCH_BYTES       (512 * 1024)
#define PREFETCH_MAX_MESSAGE (256 * 1024)
#define PREFETCH_QUEUE       64

struct prefetch_job {
	struct folder *f;
	uint32_t after; /* the index of the message read */
	int listing;    /* instead: list f's cur/ */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int running, stop;
	struct prefetch_job ring[PREFETCH_QUEUE];
	unsigned head, count;
} pf = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void enqueue(struct prefetch_job job)
{
	pthread_mutex_lock(&pf.lock);
	if (pf.running && pf.count < PREFETCH_QUEUE) {
		pf.ring[(pf.head + pf.count++) % PREFETCH_QUEUE] = job;
		pthread_cond_signal(&pf.wake);
	}
	pthread_mutex_unlock(&pf.lock);
}

void prefetch_after(struct folder *f, uint32_t index)
{
	enqueue((struct prefetch_job){.f = f, .after = index});
}

/* Called at every lookup in a folder's directory: once listed, a plain load
 * answers, with no write to the folder's cache line. */
void prefetch_listing(struct folder *f)
{
	if (fs.mount_path && !__atomic_load_n(&f->listed_ahead, __ATOMIC_ACQUIRE) &&
	    !__atomic_exchange_n(&f->listed_ahead, 1, __ATOMIC_ACQ_REL))
		enqueue((struct prefetch_job){.f = f, .listing = 1});
}

/* f's cur/ read to its end through the mount, buf as the buffer. */
static void list_cur(struct folder *f, char *buf, size_t size)
{
	char *path;
	pthread_mutex_lock(&f->lock);
	int len = asprintf(&path, "%s/%s%s", fs.mount_path, f->dirpath, folder_subdir(ROLE_CUR));
	pthread_mutex_unlock(&f->lock);
	if (len < 0)
		return;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	while (getdents64(fd, buf, size) > 0)
		;
	close(fd);
}

/* Served bytes of message i of f, whole, into buf, and its node: 0, or -1
 * when it is not pushed. f's view lock is held. */
static int message_bytes(struct folder *f, uint32_t i, char *buf, size_t *len, fuse_ino_t *ino)
{
	const struct mbx_message *m = &f->file.mb.msgs[i];
	if (m->size == 0 || m->size > PREFETCH_MAX_MESSAGE ||
	    source_read_served(f, m, 0, buf, m->size) != (ssize_t)m->size)
		return -1;
	*len = m->size;
	*ino = vid_make(VK_MESSAGE, f->id, m->uid);
	return 0;
}

/* The push goes out without the view lock: the kernel may wait in it for a
 * page locked for a READ, whose worker takes that lock. */
static void run(struct prefetch_job job, char *buf)
{
	struct folder *f = job.f;
	uint32_t first = job.after + 1, i = first;
	size_t bytes = 0;
	for (; i - first < PREFETCH_MESSAGES && bytes < PREFETCH_BYTES; i++) {
		/* in the last window, pushed already: a read there lost the race
		 * with the push, or the kernel dropped the pages; not again */
		if (i >= f->prefetch_lo && i < f->prefetch_hi)
			continue;
		size_t len;
		fuse_ino_t ino;
		pthread_rwlock_rdlock(&f->view_lock);
		int end = i >= f->file.mb.nmsgs || __atomic_load_n(&f->diverged, __ATOMIC_ACQUIRE);
		int skip = end || message_bytes(f, i, buf, &len, &ino) < 0;
		pthread_rwlock_unlock(&f->view_lock);
		if (end)
			break;
		if (skip)
			continue;
		struct fuse_bufvec v = FUSE_BUFVEC_INIT(len);
		v.buf[0].mem = buf;
		if (fuse_lowlevel_notify_store(fs.se, ino, 0, &v, 0) == 0)
			bytes += len;
	}
	f->prefetch_lo = first, f->prefetch_hi = i;
}

static void *prefetch_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pf.lock);
	while (!pf.stop) {
		if (!pf.count) {
			pthread_cond_wait(&pf.wake, &pf.lock);
			continue;
		}
		struct prefetch_job job = pf.ring[pf.head];
		pf.head = (pf.head + 1) % PREFETCH_QUEUE, pf.count--;
		pthread_mutex_unlock(&pf.lock);
		/* for this job only: an idle mount keeps no buffer (malloc_tune.c
		 * maps blocks this large, and unmaps them when freed) */
		char *buf = malloc(PREFETCH_MAX_MESSAGE);
		if (buf && job.listing)
			list_cur(job.f, buf, PREFETCH_MAX_MESSAGE);
		else if (buf)
			run(job, buf);
		free(buf);
		pthread_mutex_lock(&pf.lock);
	}
	pthread_mutex_unlock(&pf.lock);
	return NULL;
}

int prefetch_start(void)
{
	pthread_mutex_lock(&pf.lock);
	pf.stop = 0;
	int r = pthread_create(&pf.thread, NULL, prefetch_thread, NULL);
	pf.running = r == 0;
	pthread_mutex_unlock(&pf.lock);
	return r ? -r : 0;
}

void prefetch_stop(void)
{
	pthread_mutex_lock(&pf.lock);
	int running = pf.running;
	pf.stop = 1, pf.running = 0, pf.count = 0;
	pthread_cond_signal(&pf.wake);
	pthread_mutex_unlock(&pf.lock);
	/* a listing still waiting for the mount's answer (the session loop
	 * ended for an error while mounted) must not hold up the end */
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 1;
	if (running && pthread_timedjoin_np(pf.thread, NULL, &deadline) != 0)
		pthread_detach(pf.thread);
}
