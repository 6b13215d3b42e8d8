/* map_gen.h — writing account map lines (`mboxfs map`), without looking at
 * the file system: what the lines say, and which candidates are refused.
 *
 * Contract: every line map_writer_add() writes is one that map_load() in
 * index/account_map.c accepts, with the same maildir, inbox, home, folders and
 * owner; a candidate that would give a bad or a duplicate line (same maildir,
 * same INBOX mbox or same folder directory as an earlier one, white space in a path, a maildir with
 * "." or ".." components) is reported as one line on the report stream and
 * not written.
 */
#ifndef MBOXFS_MAP_GEN_H
#define MBOXFS_MAP_GEN_H

#include <stddef.h>
#include <stdio.h>

/* One account as the source describes it; NULL where unknown. */
struct map_candidate {
	const char *source; /* "FILE:LINE", for reports */
	const char *maildir;
	const char *inbox;
	const char *home;
	const char *folders; /* NULL: the home */
	const char *owner;   /* a user name, or uid:gid */
};

struct map_writer {
	FILE *out, *report;
	char **maildirs, **inboxes, **folder_dirs; /* of the lines written; folder_dirs[i]
	                                            * may be NULL */
	size_t nwritten, nrefused;
};

void map_writer_init(struct map_writer *w, FILE *out, FILE *report);
/* Returns 1 when the line was written, 0 when the candidate was refused. */
int map_writer_add(struct map_writer *w, const struct map_candidate *c);
void map_writer_free(struct map_writer *w);

/* Expands FORMAT into out: %u the user, %d the domain, %% a '%'. Returns 0, or
 * -1 with a reason in why (an unknown %-sequence, %d without a domain, too
 * long). */
int map_expand(char *out, size_t size, const char *format, const char *user, const char *domain,
               const char **why);

#endif
