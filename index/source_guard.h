/* source_guard.h — reading a mapped source file that may shrink under us.
 *
 * A source mbox is mapped read-only; if another process truncates it, the
 * first access to a page past its new end raises SIGBUS, which would kill
 * the whole daemon (and every account with it). source_guard_run() runs
 * fn(arg) so that such a fault ends fn early and becomes an error instead.
 *
 * Contract:
 *  - Only a SIGBUS raised by the calling thread at an address inside
 *    [lo, lo + len) while fn runs is caught; any other SIGBUS goes to the
 *    handler installed before the first guard (or takes the default action,
 *    which ends the process), as if the guard did not exist.
 *  - Guards are per thread (a thread-local jump buffer) and nest.
 *  - fn is abandoned at the faulting access: it must only read the mapping
 *    and write memory its caller can clean up, never hold a lock or be
 *    inside malloc() while it touches the mapping.
 *  - The SIGBUS handler is installed on the first call (process-wide, once).
 */
#ifndef MBOXFS_SOURCE_GUARD_H
#define MBOXFS_SOURCE_GUARD_H

#include <stddef.h>

/* Runs fn(arg); returns 0, or -1 with errno EIO if fn touched a page of
 * [lo, lo + len) that is no longer backed by the file. */
int source_guard_run(const void *lo, size_t len, void (*fn)(void *arg), void *arg);

#endif
