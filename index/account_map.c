/* account_map.c — parse the account map (format in account_map.h). */
#include "account_map.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_error(struct account_map *map, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	char **n = realloc(map->errors, (map->nerrors + 1) * sizeof *n);
	if (!n || !msg) {
		free(msg);
		return;
	}
	map->errors = n;
	map->errors[map->nerrors++] = msg;
}

static char *resolve(const char *base_dir, const char *p)
{
	char *out = NULL;
	if (p[0] == '/')
		return strdup(p);
	if (asprintf(&out, "%s/%s", base_dir, p) < 0)
		return NULL;
	return out;
}

static int valid_maildir(const char *m)
{
	if (!*m || m[0] == '/')
		return 0;
	for (const char *s = m; *s;) { /* no "." or ".." components */
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n;
		if (*s == '/')
			s++;
	}
	return 1;
}

static const char *parse_owner(struct account *a, const char *v)
{
	char *end;
	if (isdigit((unsigned char)v[0])) {
		unsigned long uid = strtoul(v, &end, 10), gid;
		if (*end == ':') {
			gid = strtoul(end + 1, &end, 10);
			if (*end)
				return "owner: expected uid[:gid]";
		} else if (*end)
			return "owner: expected uid[:gid]";
		else {
			struct passwd *pw = getpwuid((uid_t)uid);
			gid = pw ? pw->pw_gid : uid;
		}
		a->uid = (uid_t)uid, a->gid = (gid_t)gid;
	} else {
		struct passwd *pw = getpwnam(v);
		if (!pw)
			return "owner: no such user";
		a->uid = pw->pw_uid, a->gid = pw->pw_gid;
	}
	a->has_owner = 1;
	return NULL;
}

static void free_account(struct account *a)
{
	free(a->maildir), free(a->inbox), free(a->home), free(a->folders);
}

/* Parses one non-empty line; returns NULL or the reason it is bad. */
static const char *parse_line(struct account *a, char *line, const char *base_dir)
{
	char *save, *tok = strtok_r(line, " \t", &save);
	if (!valid_maildir(tok))
		return "maildir path must be relative, without \".\" or \"..\" components";
	a->maildir = strdup(tok);
	a->pop3 = 1;
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');
		if (!eq || eq == tok || !eq[1])
			return "expected key=value";
		*eq = '\0';
		const char *v = eq + 1;
		char **slot = NULL;
		if (!strcmp(tok, "inbox"))
			slot = &a->inbox;
		else if (!strcmp(tok, "home"))
			slot = &a->home;
		else if (!strcmp(tok, "folders"))
			slot = &a->folders;
		else if (!strcmp(tok, "owner")) {
			const char *why = parse_owner(a, v);
			if (why)
				return why;
			continue;
		} else if (!strcmp(tok, "pop3")) {
			if (strcmp(v, "uw") && strcmp(v, "off"))
				return "pop3: expected uw or off";
			a->pop3 = !strcmp(v, "uw");
			continue;
		} else
			return "unknown key (expected inbox, home, folders, owner or pop3)";
		if (*slot)
			return "key given twice";
		if (!(*slot = resolve(base_dir, v)))
			return "out of memory";
	}
	if (!a->inbox)
		return "inbox=<mbox> is required";
	return NULL;
}

int map_load(struct account_map *map, const char *path)
{
	memset(map, 0, sizeof *map);
	FILE *f = fopen(path, "r");
	if (!f) {
		add_error(map, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* paths in the map are relative to its directory, made absolute: the
	 * daemon runs from "/" */
	char *copy = realpath(path, NULL);
	map_parse(map, f, path, copy ? dirname(copy) : ".");
	free(copy);
	fclose(f);
	return 0;
}

void map_parse(struct account_map *map, FILE *f, const char *path, const char *base_dir)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		if (!line[strspn(line, " \t")])
			continue;
		struct account a = {.line = lineno};
		const char *why = parse_line(&a, line, base_dir);
		for (size_t i = 0; !why && i < map->naccounts; i++)
			if (!strcmp(map->accounts[i].maildir, a.maildir))
				why = "maildir already used by an earlier line";
		if (!why) {
			struct account *n =
			    realloc(map->accounts, (map->naccounts + 1) * sizeof *n);
			if (!n)
				why = "out of memory";
			else {
				map->accounts = n;
				map->accounts[map->naccounts++] = a;
				continue;
			}
		}
		add_error(map, "%s:%u: %s", path, lineno, why);
		free_account(&a);
	}
	free(line);
}

void map_free(struct account_map *map)
{
	for (size_t i = 0; i < map->naccounts; i++)
		free_account(&map->accounts[i]);
	for (size_t i = 0; i < map->nerrors; i++)
		free(map->errors[i]);
	free(map->accounts);
	free(map->errors);
	memset(map, 0, sizeof *map);
}

int account_matches(const struct account *a, const char *pattern)
{
	return !pattern || fnmatch(pattern, a->maildir, 0) == 0;
}

const char *account_folders_dir(const struct account *a)
{
	return a->folders ? a->folders : a->home;
}
