/* map_gen.c — account map lines from candidates (contract in map_gen.h). */
#include "map_gen.h"

#include <stdlib.h>
#include <string.h>

void map_writer_init(struct map_writer *w, FILE *out, FILE *report)
{
	memset(w, 0, sizeof *w);
	w->out = out;
	w->report = report;
}

void map_writer_free(struct map_writer *w)
{
	for (size_t i = 0; i < w->nwritten; i++)
		free(w->maildirs[i]), free(w->inboxes[i]), free(w->folder_dirs[i]);
	free(w->maildirs);
	free(w->folder_dirs);
	free(w->inboxes);
	memset(w, 0, sizeof *w);
}

int map_expand(char *out, size_t size, const char *format, const char *user, const char *domain,
               const char **why)
{
	size_t used = 0;
	for (const char *f = format; *f; f++) {
		const char *piece;
		char one[2] = {*f, '\0'};
		if (*f != '%')
			piece = one;
		else if (f[1] == 'u')
			piece = user, f++;
		else if (f[1] == 'd') {
			if (!domain || !*domain) {
				*why = "the format has %d but the account has no domain (--domain)";
				return -1;
			}
			piece = domain, f++;
		} else if (f[1] == '%')
			piece = "%", f++;
		else {
			*why = "unknown %-sequence in a format (%u, %d and %% are known)";
			return -1;
		}
		size_t n = strlen(piece);
		if (used + n >= size) {
			*why = "path too long";
			return -1;
		}
		memcpy(out + used, piece, n);
		used += n;
	}
	out[used] = '\0';
	return 0;
}

/* The map's rule for the maildir (index/account_map.c): relative, no "." or
 * ".." components, no empty ones. */
static int good_maildir(const char *m)
{
	if (!*m || m[0] == '/')
		return 0;
	for (const char *s = m; *s;) {
		size_t n = strcspn(s, "/");
		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n + (s[n] == '/');
	}
	return 1;
}

/* Map fields are split at white space and '#' starts a comment. */
static int good_field(const char *v)
{
	return v && *v && !v[strcspn(v, " \t\r\n#")];
}

static const char *refusal(const struct map_writer *w, const struct map_candidate *c)
{
	const char *folders = c->folders ? c->folders : c->home;
	if (!c->maildir || !good_maildir(c->maildir) || !good_field(c->maildir))
		return "the maildir must be a relative path without \".\" or \"..\" components, "
		       "white space or '#'";
	if (!good_field(c->inbox))
		return "no INBOX mbox, or white space or '#' in its path";
	if ((c->home && !good_field(c->home)) || (c->folders && !good_field(c->folders)))
		return "white space or '#' in the home or folder path";
	if (c->owner && !good_field(c->owner))
		return "white space or '#' in the owner";
	for (size_t i = 0; i < w->nwritten; i++) {
		if (!strcmp(w->maildirs[i], c->maildir))
			return "duplicate maildir: an earlier account has it";
		if (!strcmp(w->inboxes[i], c->inbox))
			return "duplicate INBOX: an earlier account serves the same mbox";
		if (w->folder_dirs[i] && folders && !strcmp(w->folder_dirs[i], folders))
			return "duplicate folder directory: an earlier account serves the same "
			       "mboxes";
	}
	return NULL;
}

int map_writer_add(struct map_writer *w, const struct map_candidate *c)
{
	const char *why = refusal(w, c);
	const char *folders = c->folders ? c->folders : c->home;
	char *maildir = why ? NULL : strdup(c->maildir), *inbox = why ? NULL : strdup(c->inbox);
	char *folder_dir = why || !folders ? NULL : strdup(folders);
	char **m = why ? NULL : realloc(w->maildirs, (w->nwritten + 1) * sizeof *m);
	if (m)
		w->maildirs = m;
	char **i = m ? realloc(w->inboxes, (w->nwritten + 1) * sizeof *i) : NULL;
	if (i)
		w->inboxes = i;
	char **f = i ? realloc(w->folder_dirs, (w->nwritten + 1) * sizeof *f) : NULL;
	if (f)
		w->folder_dirs = f;
	if (!why && (!maildir || !inbox || (folders && !folder_dir) || !f))
		why = "out of memory";
	if (why) {
		free(maildir), free(inbox), free(folder_dir);
		fprintf(w->report, "%s: %s: %s: not in the map\n", c->source,
		        c->maildir ? c->maildir : "?", why);
		w->nrefused++;
		return 0;
	}
	w->maildirs[w->nwritten] = maildir;
	w->inboxes[w->nwritten] = inbox;
	w->folder_dirs[w->nwritten] = folder_dir;
	w->nwritten++;
	fprintf(w->out, "%s inbox=%s", c->maildir, c->inbox);
	if (c->home)
		fprintf(w->out, " home=%s", c->home);
	if (c->folders)
		fprintf(w->out, " folders=%s", c->folders);
	if (c->owner)
		fprintf(w->out, " owner=%s", c->owner);
	fputc('\n', w->out);
	return 1;
}
