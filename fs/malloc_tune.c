/* malloc_tune.c — glibc's malloc set for the daemon. The daemon lives long;
 * what it keeps is a few big tables per loaded folder (index/mbox.h: 48 bytes
 * per message, 8 per cut, and a state byte per message once the folder
 * changed);
 * what it allocates for a request (a directory snapshot, a control file made
 * for an open, libfuse's request) is freed within the request or the open.
 * With glibc's defaults its memory grew with every Courier session, to 5 times
 * those tables (bench/memory.sh; BENCHMARKS.md, "Daemon memory"):
 *  - each worker thread keeps a cache of freed blocks (tcache: up to 7 per
 *    size up to 1 KiB), scattered over the heap, which pins pages that are
 *    otherwise free: no thread cache (glibc.malloc.tcache_count=0);
 *  - each worker thread that allocates gets an arena of its own (up to 8 per
 *    core), and what is freed in one stays in it: one arena for all;
 *  - the mmap threshold rises to the size of any big block freed (up to
 *    32 MiB) and the trim threshold to twice that, so that after the first
 *    folder was loaded blocks of hundreds of KiB came from the heap and their
 *    pages were kept: both stay at glibc's initial 128 KiB, so that a big
 *    block is its own mapping, given back when freed.
 * The thread cache can only be set by GLIBC_TUNABLES, which glibc reads when a
 * program starts: fs_malloc_tune() runs the daemon again with it (an exec of
 * the same binary with the same arguments, before anything is opened or any
 * thread started). GLIBC_TUNABLES that already name a glibc.malloc setting
 * (an administrator's, or ours after the exec) are left as they are. */
#include "fs_internal.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FS_MALLOC_TUNABLES                                                                         \
	"glibc.malloc.tcache_count=0:glibc.malloc.arena_max=1:"                                    \
	"glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=131072"

/* Runs this program again, with the arguments it was started with. Returns
 * only if that failed. */
static void exec_again(void)
{
	char buf[65536];
	FILE *f = fopen("/proc/self/cmdline", "re");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	int whole = f && feof(f);
	if (f)
		fclose(f);
	if (!n || !whole)
		return;
	buf[n] = '\0';
	char *argv[1024];
	size_t argc = 0;
	for (size_t i = 0; i < n && argc < 1023; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	if (argc == 1023)
		return;
	argv[argc] = NULL;
	execv("/proc/self/exe", argv);
}

void fs_malloc_tune(void)
{
	const char *t = getenv("GLIBC_TUNABLES");
	if (t && strstr(t, "glibc.malloc."))
		return;
	char *value = NULL;
	if (asprintf(&value, "%s%s" FS_MALLOC_TUNABLES, t ? t : "", t && *t ? ":" : "") >= 0 &&
	    setenv("GLIBC_TUNABLES", value, 1) == 0)
		exec_again();
	free(value);
	/* the exec failed: what mallopt can still set */
	int saved = errno;
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
	fprintf(stderr,
	        "mboxfs mount: cannot run again with GLIBC_TUNABLES=%s: %s (malloc's "
	        "thread cache stays on)\n",
	        FS_MALLOC_TUNABLES, strerror(saved));
}
