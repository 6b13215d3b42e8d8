/* journal.c — record files of the state directory: append before the reply,
 * group commit, room reserved ahead, torn tails cut, atomic rewrite. The
 * record formats and the guarantees are in journal.h. */
#include "journal.h"
#include "fs_internal.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The reserve file, set by journal_reserve_init(); fd -1 without one. */
static struct {
	pthread_mutex_t lock;
	int fd;
	off_t left;
	int warned;
} reserve = {PTHREAD_MUTEX_INITIALIZER, -1, 0, 0};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	struct journal *dirty; /* list through next_dirty */
	int running, stopping;
} syncer = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL, 0, 0};

int journal_init(struct journal *j, const char *dir, const char *key, const char *ext)
{
	char path[4096];
	memset(j, 0, sizeof *j);
	pthread_mutex_init(&j->lock, NULL);
	j->fd = -1;
	mbx_state_path(path, sizeof path, dir, key, ext);
	j->path = strdup(path);
	return j->path ? 0 : -ENOMEM;
}

/* Caller holds j->lock. */
static int open_file(struct journal *j)
{
	if (j->fd >= 0)
		return 0;
	j->fd = open(j->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0)
		return -errno;
	struct stat st;
	if (fstat(j->fd, &st) < 0)
		return -errno;
	j->end = j->allocated = st.st_size;
	return 0;
}

static void unlink_dirty(struct journal *j)
{
	pthread_mutex_lock(&syncer.lock);
	for (struct journal **p = &syncer.dirty; *p; p = &(*p)->next_dirty)
		if (*p == j) {
			*p = j->next_dirty;
			break;
		}
	j->next_dirty = NULL;
	pthread_mutex_unlock(&syncer.lock);
}

void journal_close(struct journal *j)
{
	unlink_dirty(j);
	if (j->fd >= 0) {
		if (j->dirty)
			fdatasync(j->fd);
		close(j->fd);
	}
	free(j->path);
	pthread_mutex_destroy(&j->lock);
	j->path = NULL, j->fd = -1;
}

int journal_replay(struct journal *j, journal_record_fn fn, void *arg)
{
	pthread_mutex_lock(&j->lock);
	int fd = open(j->path, (j->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		pthread_mutex_unlock(&j->lock);
		return err == ENOENT ? 0 : -err;
	}
	struct stat st;
	char *text = NULL;
	int r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && st.st_size > 0 && !(text = malloc((size_t)st.st_size + 1)))
		r = -ENOMEM;
	if (r == 0 && st.st_size > 0 && pread(fd, text, (size_t)st.st_size, 0) != st.st_size)
		r = -EIO;
	off_t whole = 0; /* bytes up to the last newline */
	j->records = 0;
	for (char *line = text, *nl; r == 0 && line && line < text + st.st_size; line = nl + 1) {
		if (!(nl = memchr(line, '\n', (size_t)(text + st.st_size - line))))
			break;
		*nl = '\0';
		whole = nl + 1 - text;
		while (*line == '\0' && line < nl) /* zeros left by a power cut */
			line++;
		if (line < nl && strlen(line) == (size_t)(nl - line)) {
			j->records++;
			fn(line, arg);
		}
	}
	if (r == 0 && whole < st.st_size && !j->readonly && ftruncate(fd, whole) < 0) /* torn */
		r = -errno;
	free(text);
	close(fd);
	pthread_mutex_unlock(&j->lock);
	return r;
}

/* Gives a chunk of the reserve file back to the filesystem; 1 if it did. */
static int release_reserve(void)
{
	pthread_mutex_lock(&reserve.lock);
	int released = 0;
	if (reserve.fd >= 0 && reserve.left > 0) {
		off_t left = reserve.left > (off_t)JOURNAL_CHUNK ? reserve.left - JOURNAL_CHUNK : 0;
		if (ftruncate(reserve.fd, left) == 0) {
			reserve.left = left;
			released = 1;
			if (!reserve.warned++)
				fs_log("state directory full: journals use its reserve "
				       "(%lld bytes left); free space there",
				       (long long)left);
		}
	}
	pthread_mutex_unlock(&reserve.lock);
	return released;
}

/* Makes sure [end, end + len) is allocated, with a chunk to spare when the
 * filesystem allows. Caller holds j->lock. 0, or -ENOSPC when len bytes
 * cannot be had at all. */
static int make_room(struct journal *j, size_t len)
{
	off_t need = j->end + (off_t)len;
	if (need + (off_t)JOURNAL_CHUNK / 2 <= j->allocated)
		return 0;
	off_t want = need + (off_t)JOURNAL_CHUNK;
	for (;;) {
		if (fallocate(j->fd, FALLOC_FL_KEEP_SIZE, j->end, want - j->end) == 0) {
			j->allocated = want;
			return 0;
		}
		if (errno != ENOSPC)
			return 0; /* no fallocate here (EOPNOTSUPP): plain writes */
		if (!release_reserve())
			break;
	}
	if (need <= j->allocated)
		return 0; /* what was allocated before still holds it */
	if (fallocate(j->fd, FALLOC_FL_KEEP_SIZE, j->end, (off_t)len) == 0) {
		j->allocated = need;
		return 0;
	}
	return -ENOSPC;
}

static void mark_dirty(struct journal *j)
{
	pthread_mutex_lock(&syncer.lock);
	if (!j->dirty) {
		j->dirty = 1;
		j->next_dirty = syncer.dirty;
		syncer.dirty = j;
		pthread_cond_signal(&syncer.wake);
	}
	pthread_mutex_unlock(&syncer.lock);
}

static uint64_t count_lines(const char *text, size_t len)
{
	uint64_t n = 0;
	for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))); p++)
		n++;
	return n;
}

int journal_append(struct journal *j, const char *records, size_t len)
{
	if (j->readonly)
		return -EROFS;
	pthread_mutex_lock(&j->lock);
	int r = open_file(j);
	if (r == 0)
		r = make_room(j, len);
	while (r == 0 && len) {
		ssize_t n = write(j->fd, records, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			/* a partial record would glue itself to the next one */
			if (ftruncate(j->fd, j->end) < 0)
				r = -EIO;
			break;
		}
		j->records += count_lines(records, (size_t)n);
		j->end += n, records += n, len -= (size_t)n;
	}
	if (j->end > j->allocated)
		j->allocated = j->end;
	pthread_mutex_unlock(&j->lock);
	if (r == 0)
		mark_dirty(j);
	return r;
}

int journal_appendf(struct journal *j, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	int len = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (len < 0)
		return -ENOMEM;
	int r = journal_append(j, text, (size_t)len);
	free(text);
	return r;
}

/* An fd of j to sync outside its lock (a rewrite may replace j->fd), or -1. */
static int sync_fd(struct journal *j)
{
	pthread_mutex_lock(&j->lock);
	int fd = j->fd >= 0 ? fcntl(j->fd, F_DUPFD_CLOEXEC, 0) : -1;
	pthread_mutex_unlock(&j->lock);
	return fd;
}

int journal_sync(struct journal *j)
{
	int fd = sync_fd(j);
	if (fd < 0)
		return 0; /* nothing written yet */
	int r = fdatasync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

void journal_synced(struct journal *j)
{
	unlink_dirty(j);
	pthread_mutex_lock(&syncer.lock); /* dirty is the syncer's */
	j->dirty = 0;
	pthread_mutex_unlock(&syncer.lock);
}

int journal_wants_compaction(const struct journal *j, uint64_t nlive)
{
	uint64_t bound = 2 * nlive > 8192 ? 2 * nlive : 8192;
	return j->records > bound;
}

static int sync_dir_of(const char *path)
{
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	if (!slash) {
		free(dir);
		return -ENOMEM;
	}
	*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd < 0 || fsync(fd) < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

int journal_rewrite(struct journal *j, const char *records, size_t len)
{
	char *tmp = NULL;
	if (j->readonly)
		return -EROFS;
	if (asprintf(&tmp, "%s.compact", j->path) < 0)
		return -ENOMEM;
	pthread_mutex_lock(&j->lock);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int r = fd < 0 ? -errno : 0;
	if (r == 0 && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)len + JOURNAL_CHUNK) < 0 &&
	    errno == ENOSPC)
		r = -ENOSPC;
	if (r == 0 && (write(fd, records, len) != (ssize_t)len || fdatasync(fd) < 0))
		r = errno ? -errno : -EIO;
	if (fd >= 0 && r < 0) {
		close(fd);
		unlink(tmp);
	} else if (r == 0 && rename(tmp, j->path) < 0) {
		r = -errno;
		close(fd);
		unlink(tmp);
	} else if (r == 0) {
		r = sync_dir_of(j->path);
		/* later appends go to the new file; room allocated up to len + chunk
		 * by the fallocate above, or found by the next append */
		if (j->fd >= 0)
			close(j->fd);
		j->fd = -1;
		int reopened = open_file(j);
		close(fd);
		j->records = count_lines(records, len);
		if (r == 0)
			r = reopened;
	}
	pthread_mutex_unlock(&j->lock);
	free(tmp);
	return r;
}

static void *syncer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&syncer.lock);
	for (;;) {
		while (!syncer.dirty && !syncer.stopping)
			pthread_cond_wait(&syncer.wake, &syncer.lock);
		if (!syncer.dirty)
			break; /* stopping, all synced */
		/* gather the records of the next few milliseconds into one pass */
		pthread_mutex_unlock(&syncer.lock);
		nanosleep(&(struct timespec){0, JOURNAL_SYNC_MS * 1000000L}, NULL);
		pthread_mutex_lock(&syncer.lock);
		while (syncer.dirty) {
			struct journal *j = syncer.dirty;
			syncer.dirty = j->next_dirty;
			j->next_dirty = NULL;
			j->dirty = 0;
			/* j stays valid: journal_close() unlinks it under this lock
			 * first; the fd is a duplicate */
			int fd = sync_fd(j);
			pthread_mutex_unlock(&syncer.lock);
			if (fd >= 0) {
				if (fdatasync(fd) < 0)
					fs_log("%s: cannot sync: %s", j->path, strerror(errno));
				close(fd);
			}
			pthread_mutex_lock(&syncer.lock);
		}
	}
	pthread_mutex_unlock(&syncer.lock);
	return NULL;
}

int journal_syncer_start(void)
{
	pthread_mutex_lock(&syncer.lock);
	int r = syncer.running ? 0 : -pthread_create(&syncer.thread, NULL, syncer_main, NULL);
	if (r == 0)
		syncer.running = 1, syncer.stopping = 0;
	pthread_mutex_unlock(&syncer.lock);
	return r;
}

void journal_syncer_stop(void)
{
	pthread_mutex_lock(&syncer.lock);
	int running = syncer.running;
	syncer.stopping = 1;
	pthread_cond_signal(&syncer.wake);
	pthread_mutex_unlock(&syncer.lock);
	if (running)
		pthread_join(syncer.thread, NULL);
	syncer.running = 0;
}

static void reserve_path(const char *dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/reserve", dir);
}

int journal_reserve_init(const char *dir)
{
	char path[4096];
	reserve_path(dir, path, sizeof path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* topped up to the whole reserve, as far as the disk allows */
	int r = 0;
	if (fallocate(fd, 0, 0, JOURNAL_RESERVE) < 0)
		r = errno == EOPNOTSUPP ? 0 : -errno;
	struct stat st;
	pthread_mutex_lock(&reserve.lock);
	if (reserve.fd >= 0)
		close(reserve.fd);
	reserve.fd = fd;
	reserve.left = fstat(fd, &st) == 0 ? st.st_size : 0;
	reserve.warned = 0;
	pthread_mutex_unlock(&reserve.lock);
	return r;
}

int journal_reserve_state(const char *dir, uint64_t *left, uint64_t *full)
{
	char path[4096];
	struct stat st;
	reserve_path(dir, path, sizeof path);
	if (stat(path, &st) < 0)
		return -errno;
	*left = (uint64_t)st.st_size;
	*full = JOURNAL_RESERVE;
	return 0;
}
