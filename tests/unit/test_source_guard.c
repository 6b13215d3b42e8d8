/* test_source_guard.c — a mapped mbox truncated under a reader
 * (source_guard.h): the access past the new end becomes EIO in the guarded
 * thread, reads inside the file go on, and a SIGBUS outside every guard still
 * ends the process as it would without the guard. Real files in a temporary
 * directory, truncated with ftruncate(). Not a cmocka test: cmocka puts its
 * own SIGBUS handler in place around every test, which would hide ours. */
#include "source_guard.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define check(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			failures++;                                                                \
		}                                                                                  \
	} while (0)
#define assert_true(c)         check(c)
#define assert_int_equal(a, b) check((a) == (b))

struct mapped {
	char path[64];
	int fd;
	char *data;
	size_t size;
};

static void map_pages(struct mapped *m, size_t pages)
{
	long page = sysconf(_SC_PAGESIZE);
	strcpy(m->path, "/tmp/mboxfs-guard.XXXXXX");
	m->fd = mkstemp(m->path);
	assert_true(m->fd >= 0);
	m->size = pages * (size_t)page;
	assert_int_equal(ftruncate(m->fd, (off_t)m->size), 0);
	m->data = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, m->fd, 0);
	assert_true(m->data != MAP_FAILED);
}

static void unmap(struct mapped *m)
{
	munmap(m->data, m->size);
	close(m->fd);
	unlink(m->path);
}

struct touch {
	const volatile char *at;
	int sum;
};

static void touch_byte(void *arg)
{
	struct touch *t = arg;
	t->sum += *t->at;
}

static void fault_becomes_eio(void **state)
{
	(void)state;
	struct mapped m;
	map_pages(&m, 3);
	assert_int_equal(ftruncate(m.fd, 10), 0); /* pages 1 and 2 are gone */
	struct touch inside = {m.data + 5, 0}, past = {m.data + m.size - 1, 0};
	assert_int_equal(source_guard_run(m.data, m.size, touch_byte, &inside), 0);
	errno = 0;
	assert_int_equal(source_guard_run(m.data, m.size, touch_byte, &past), -1);
	assert_int_equal(errno, EIO);
	/* again: the handler stays installed and SIGBUS is not left blocked */
	assert_int_equal(source_guard_run(m.data, m.size, touch_byte, &past), -1);
	assert_int_equal(source_guard_run(m.data, m.size, touch_byte, &inside), 0);
	unmap(&m);
}

static void *guarded_thread(void *arg)
{
	struct mapped *m = arg;
	struct touch past = {m->data + m->size - 1, 0};
	intptr_t r = 0;
	for (int i = 0; i < 100; i++)
		r += source_guard_run(m->data, m->size, touch_byte, &past) == -1;
	return (void *)r;
}

/* guards are per thread: faults in several threads at once each end their own */
static void threads_each_get_eio(void **state)
{
	(void)state;
	struct mapped m;
	map_pages(&m, 2);
	assert_int_equal(ftruncate(m.fd, 1), 0);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, guarded_thread, &m), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_int_equal((intptr_t)r, 100);
	}
	unmap(&m);
}

/* A fault outside the guarded range, or with no guard, is not swallowed. */
static void other_faults_still_kill(void **state)
{
	(void)state;
	struct mapped m, other;
	map_pages(&m, 2);
	map_pages(&other, 2);
	assert_int_equal(ftruncate(other.fd, 1), 0);
	for (int guarded = 0; guarded < 2; guarded++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct touch t = {other.data + other.size - 1, 0};
			struct touch fine = {m.data, 0};
			source_guard_run(m.data, m.size, touch_byte, &fine); /* installs */
			if (guarded) /* guards m, faults in other */
				source_guard_run(m.data, m.size, touch_byte, &t);
			else
				touch_byte(&t);
			_exit(0);
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* killed by SIGBUS; under AddressSanitizer its handler (the one
		 * installed before the guard) reports the fault and exits 1, or
		 * aborts with abort_on_error=1 */
		int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
		assert_true(sig == SIGBUS || sig == SIGABRT ||
		            (WIFEXITED(status) && WEXITSTATUS(status) != 0));
	}
	unmap(&m);
	unmap(&other);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void **);
	} tests[] = {
	    {"fault_becomes_eio", fault_becomes_eio},
	    {"threads_each_get_eio", threads_each_get_eio},
	    {"other_faults_still_kill", other_faults_still_kill},
	};
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		int before = failures;
		tests[i].fn(NULL);
		printf("%s %s\n", failures == before ? "ok" : "FAILED", tests[i].name);
	}
	return failures ? 1 : 0;
}
