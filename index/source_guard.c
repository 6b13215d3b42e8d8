/* source_guard.c — SIGBUS from a shrunk mapping becomes EIO (source_guard.h). */
#include "source_guard.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

struct guard {
	sigjmp_buf jump;
	uintptr_t lo, hi;
	struct guard *outer; /* the guard this one is nested in */
};

/* initial-exec TLS in the executable: safe to read in a signal handler */
static _Thread_local struct guard *active;
static struct sigaction previous;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t addr = (uintptr_t)si->si_addr;
	if (si->si_code > 0) /* raised by a fault, not sent by kill() */
		for (struct guard *g = active; g; g = g->outer)
			if (addr >= g->lo && addr < g->hi) {
				active = g->outer;
				siglongjmp(g->jump, 1);
			}
	/* not ours: what would have happened without the guard */
	if (previous.sa_flags & SA_SIGINFO) {
		previous.sa_sigaction(sig, si, ctx);
		return;
	}
	if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
		previous.sa_handler(sig);
		return;
	}
	/* the default action: a fault repeats on return and then kills; a
	 * signal sent by kill() must be raised again */
	signal(sig, SIG_DFL);
	if (si->si_code <= 0)
		raise(sig);
}

static void install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &previous);
}

int source_guard_run(const void *lo, size_t len, void (*fn)(void *arg), void *arg)
{
	pthread_once(&installed, install);
	struct guard g;
	g.lo = (uintptr_t)lo;
	g.hi = (uintptr_t)lo + len;
	g.outer = active;
	/* savemask 1: the jump out of the handler unblocks SIGBUS again */
	if (sigsetjmp(g.jump, 1)) {
		errno = EIO;
		return -1;
	}
	active = &g;
	fn(arg);
	active = g.outer;
	return 0;
}
