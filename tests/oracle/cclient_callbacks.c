/* cclient_callbacks.c — the callbacks c-client requires of every program that
 * links it, for programs that only open local mailboxes read-only (the test
 * oracle and the benchmark's c-client peer). Each program defines its own
 * mm_log() and mm_dlog(). */
/* osdep.h defines the obsolete _BSD_SOURCE; with _DEFAULT_SOURCE glibc does not warn. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE 1
#endif
#include <c-client.h>
#include <stdio.h>

void mm_notify(MAILSTREAM *stream, char *string, long errflg)
{
	(void)stream;
	mm_log(string, errflg);
}

void mm_fatal(char *string)
{
	fprintf(stderr, "c-client fatal: %s\n", string);
}

void mm_searched(MAILSTREAM *stream, unsigned long number)
{
	(void)stream, (void)number;
}

void mm_exists(MAILSTREAM *stream, unsigned long number)
{
	(void)stream, (void)number;
}

void mm_expunged(MAILSTREAM *stream, unsigned long number)
{
	(void)stream, (void)number;
}

void mm_flags(MAILSTREAM *stream, unsigned long number)
{
	(void)stream, (void)number;
}

void mm_list(MAILSTREAM *stream, int delimiter, char *name, long attributes)
{
	(void)stream, (void)delimiter, (void)name, (void)attributes;
}

void mm_lsub(MAILSTREAM *stream, int delimiter, char *name, long attributes)
{
	(void)stream, (void)delimiter, (void)name, (void)attributes;
}

void mm_status(MAILSTREAM *stream, char *mailbox, MAILSTATUS *status)
{
	(void)stream, (void)mailbox, (void)status;
}

void mm_login(NETMBX *mb, char *user, char *pwd, long trial)
{
	(void)mb, (void)trial;
	*user = *pwd = '\0'; /* never used: only local files are opened */
}

void mm_critical(MAILSTREAM *stream)
{
	(void)stream;
}

void mm_nocritical(MAILSTREAM *stream)
{
	(void)stream;
}

long mm_diskerror(MAILSTREAM *stream, long errcode, long serious)
{
	(void)stream, (void)errcode, (void)serious;
	return NIL; /* read-only: never asked; NIL = abort the operation */
}
