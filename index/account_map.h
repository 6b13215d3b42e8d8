/* account_map.h — the account map: which old mboxes make which maildir.
 *
 * Format, one account per line ('#' starts a comment, blank lines ignored):
 *   <maildir> inbox=<mbox> [home=<dir>] [folders=<dir>] [owner=<user|uid[:gid]>]
 *             [pop3=uw|off]
 * <maildir> is relative to the mount root (no "..", no leading '/'). Paths
 * may be absolute or relative to the map file's directory; they cannot contain
 * white space. folders defaults to home; pop3 defaults to uw.
 *
 * Contract: map_load() reads the whole file and keeps every good line; each bad
 * line becomes an error "FILE:LINE: reason" and is skipped, so one typo never
 * hides the other accounts.
 */
#ifndef MBOXFS_ACCOUNT_MAP_H
#define MBOXFS_ACCOUNT_MAP_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct account {
	char *maildir; /* relative to the mount root */
	char *inbox;   /* absolute path of the INBOX mbox */
	char *home;    /* absolute, or NULL */
	char *folders; /* absolute, or NULL (then home) */
	uid_t uid;
	gid_t gid;
	int has_owner;
	int pop3; /* 1: uw-ipop3d UIDLs for INBOX (default) */
	unsigned line;
};

struct account_map {
	struct account *accounts;
	size_t naccounts;
	char **errors; /* "FILE:LINE: reason" */
	size_t nerrors;
};

/* Returns 0 (see map->errors for bad lines), or -1 if the file cannot be read
 * (the reason is then map->errors[0]). */
int map_load(struct account_map *map, const char *path);
/* Reads map lines from f into map (which must be zeroed), as map_load()
 * does: path names the errors, relative paths are taken below base_dir. */
void map_parse(struct account_map *map, FILE *f, const char *path, const char *base_dir);
void map_free(struct account_map *map);

/* 1 if the account's maildir matches pattern (fnmatch(3) without
 * FNM_PATHNAME, so a '*' spans slashes and "example.com/" followed by '*'
 * is a whole domain), or pattern is NULL. */
int account_matches(const struct account *a, const char *pattern);

/* The folder directory of an account: folders, else home, else NULL. */
const char *account_folders_dir(const struct account *a);

#endif
