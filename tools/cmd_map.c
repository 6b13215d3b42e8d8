/* cmd_map.c — `mboxfs map`: an account map from the old server's passwd file,
 * from "domain user spool home" lines, or from a Courier userdb source file,
 * with owner= filled in. Writes the map on stdout; reports on stderr the
 * accounts left out (no mail at all, duplicates, paths the map cannot hold)
 * and those kept with a remark (no INBOX file, an owner unknown here). */
#include "commands.h"
#include "help.h"
#include "map_gen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum source_kind { FROM_NONE, FROM_PASSWD, FROM_LINES, FROM_USERDB };

struct map_options {
	enum source_kind kind;
	const char *source_path;
	const char *domain;      /* --domain */
	const char *inbox_fmt;   /* --inbox */
	const char *home_fmt;    /* --home */
	const char *folders_sub; /* --folders */
	const char *maildir_fmt; /* --maildir */
	const char *mailroot;    /* --mailroot */
	const char *owner;       /* --owner */
	long min_uid;
};

struct map_run {
	const struct map_options *o;
	struct map_writer w;
	size_t without_mail, remarks;
};

/* Whether a file starts like a Unix mailbox ("From "): what uw-imapd would
 * have served as a folder. */
static int looks_like_mbox(int parent_fd, const char *name)
{
	char head[5];
	int fd = openat(parent_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, head, sizeof head);
	close(fd);
	return n == 5 && !memcmp(head, "From ", 5);
}

/* Whether a folder directory holds at least one mbox, looking at most
 * *budget entries (a home can be big; the answer is only for the report). */
static int has_mbox(int parent_fd, const char *name, int depth, long *budget)
{
	int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	int found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d)) && --*budget > 0) {
		if (e->d_name[0] == '.') /* dot files are not folders (UW and mboxfs) */
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) && st.st_size > 0)
			found = looks_like_mbox(dirfd(d), e->d_name);
		else if (S_ISDIR(st.st_mode) && depth < 8)
			found = has_mbox(dirfd(d), e->d_name, depth + 1, budget);
	}
	closedir(d);
	return found;
}

/* owner= for an account: --owner, else the name of a user of this machine with
 * that uid, else uid:gid. Sets *unknown when no user here has that uid. */
static void owner_for(char *out, size_t size, const char *given, uid_t uid, gid_t gid,
                      const char *name, int *unknown)
{
	*unknown = 0;
	if (given) {
		snprintf(out, size, "%s", given);
		return;
	}
	struct passwd *pw = name ? getpwnam(name) : NULL;
	if (!pw || pw->pw_uid != uid)
		pw = getpwuid(uid);
	if (pw && pw->pw_uid == uid && pw->pw_gid == gid)
		snprintf(out, size, "%s", pw->pw_name);
	else {
		snprintf(out, size, "%lu:%lu", (unsigned long)uid, (unsigned long)gid);
		*unknown = !pw;
	}
}

/* Checks the candidate against the file system and hands it to the writer. */
static void add_account(struct map_run *r, struct map_candidate *c, int owner_unknown)
{
	struct stat st;
	int inbox_there = c->inbox && stat(c->inbox, &st) == 0 && S_ISREG(st.st_mode);
	const char *folders = c->folders ? c->folders : c->home;
	long budget = 20000;
	if (c->inbox && c->inbox[0] != '/') {
		fprintf(stderr, "%s: %s: the INBOX path %s is relative: not in the map\n",
		        c->source, c->maildir, c->inbox);
		r->w.nrefused++;
		return;
	}
	if (!inbox_there && !(folders && has_mbox(AT_FDCWD, folders, 0, &budget))) {
		fprintf(stderr, "%s: %s: no mail (no INBOX file %s%s%s): not in the map\n",
		        c->source, c->maildir, c->inbox ? c->inbox : "",
		        folders ? ", no mbox below " : "", folders ? folders : "");
		r->without_mail++;
		return;
	}
	if (!map_writer_add(&r->w, c))
		return;
	if (!inbox_there) {
		fprintf(stderr,
		        "%s: %s: no INBOX file %s: mboxfs index reports it until it exists "
		        "(an empty file is an empty INBOX)\n",
		        c->source, c->maildir, c->inbox);
		r->remarks++;
	}
	if (owner_unknown) {
		fprintf(stderr,
		        "%s: %s: no user of this machine has the uid of owner=%s: create "
		        "the user, or give --owner\n",
		        c->source, c->maildir, c->owner);
		r->remarks++;
	}
}

/* The maildir of an account from --maildir, or the default format. */
static int maildir_for(char *out, size_t size, const struct map_options *o, const char *user,
                       const char *domain, const char **why)
{
	const char *fmt = o->maildir_fmt;
	if (!fmt)
		fmt = domain && *domain ? "%d/%u/Maildir" : "%u/Maildir";
	return map_expand(out, size, fmt, user, domain, why);
}

static void folders_for(char *out, size_t size, const struct map_options *o, const char *home)
{
	out[0] = '\0';
	if (o->folders_sub && home &&
	    snprintf(out, size, "%s/%s", home, o->folders_sub) >= (int)size)
		out[0] = '\0'; /* longer than a path: the home is the folder directory */
}

/* name:password:uid:gid:gecos:home:shell */
static void passwd_line(struct map_run *r, char *line, const char *where)
{
	const struct map_options *o = r->o;
	char *field[7], *save = line;
	for (int i = 0; i < 7; i++)
		field[i] = strsep(&save, ":");
	if (!field[6] || save) {
		fprintf(stderr, "%s: not a passwd line (7 fields): skipped\n", where);
		r->w.nrefused++;
		return;
	}
	char *end;
	unsigned long uid = strtoul(field[2], &end, 10), gid;
	if (*end || !*field[2] || ((gid = strtoul(field[3], &end, 10)), *end || !*field[3])) {
		fprintf(stderr, "%s: %s: uid or gid is not a number: skipped\n", where, field[0]);
		r->w.nrefused++;
		return;
	}
	if ((long)uid < o->min_uid || uid == 65534) /* system users and nobody */
		return;
	char maildir[PATH_MAX], inbox[PATH_MAX], home[PATH_MAX], folders[PATH_MAX], owner[256];
	const char *why;
	/* --home: where the old homes are now (copied or NFS-mounted elsewhere) */
	snprintf(home, sizeof home, "%s", field[5]);
	if (maildir_for(maildir, sizeof maildir, o, field[0], o->domain, &why) < 0 ||
	    map_expand(inbox, sizeof inbox, o->inbox_fmt ? o->inbox_fmt : "/var/mail/%u", field[0],
	               o->domain, &why) < 0 ||
	    (o->home_fmt &&
	     map_expand(home, sizeof home, o->home_fmt, field[0], o->domain, &why) < 0)) {
		fprintf(stderr, "%s: %s: %s: skipped\n", where, field[0], why);
		r->w.nrefused++;
		return;
	}
	folders_for(folders, sizeof folders, o, home);
	int unknown;
	owner_for(owner, sizeof owner, o->owner, (uid_t)uid, (gid_t)gid, field[0], &unknown);
	struct map_candidate c = {
	    where, maildir, inbox, *home ? home : NULL, folders[0] ? folders : NULL, owner};
	add_account(r, &c, unknown);
}

/* domain user spool home; home may be "-" */
static void lines_line(struct map_run *r, char *line, const char *where)
{
	const struct map_options *o = r->o;
	char *save, *domain = strtok_r(line, " \t", &save), *user = strtok_r(NULL, " \t", &save);
	char *spool = strtok_r(NULL, " \t", &save), *home = strtok_r(NULL, " \t", &save);
	if (!home || strtok_r(NULL, " \t", &save)) {
		fprintf(stderr, "%s: expected \"domain user spool home\": skipped\n", where);
		r->w.nrefused++;
		return;
	}
	if (!strcmp(home, "-"))
		home = NULL;
	char maildir[PATH_MAX], folders[PATH_MAX], owner[256];
	const char *why;
	if (maildir_for(maildir, sizeof maildir, o, user, domain, &why) < 0) {
		fprintf(stderr, "%s: %s@%s: %s: skipped\n", where, user, domain, why);
		r->w.nrefused++;
		return;
	}
	folders_for(folders, sizeof folders, o, home);
	/* the old server's files belong to the user: rsync -a and NFS keep that */
	struct stat st = {0};
	int unknown = 0, known = stat(spool, &st) == 0 || (home && stat(home, &st) == 0);
	if (o->owner || known)
		owner_for(owner, sizeof owner, o->owner, st.st_uid, st.st_gid, user, &unknown);
	struct map_candidate c = {where,
	                          maildir,
	                          spool,
	                          home,
	                          folders[0] ? folders : NULL,
	                          o->owner || known ? owner : NULL};
	add_account(r, &c, unknown);
}

/* Courier's userdb source format: name<TAB>field=value|field=value... */
static const char *userdb_field(char *fields, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key);
	for (char *f = fields; f && *f;) {
		size_t n = strcspn(f, "|");
		if (n > klen && !strncmp(f, key, klen) && f[klen] == '=') {
			snprintf(out, size, "%.*s", (int)(n - klen - 1), f + klen + 1);
			return out;
		}
		f += n + (f[n] == '|');
	}
	return NULL;
}

/* A path below the mail root, as the map's maildir: NULL when it is not. */
static const char *below(const char *path, const char *root)
{
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	if (!path || strncmp(path, root, n) || path[n] != '/')
		return NULL;
	return path + n + 1;
}

static void userdb_line(struct map_run *r, char *line, const char *where)
{
	const struct map_options *o = r->o;
	char *tab = strchr(line, '\t');
	if (!tab) {
		fprintf(stderr, "%s: expected name<TAB>fields: skipped\n", where);
		r->w.nrefused++;
		return;
	}
	*tab = '\0';
	char *name = line, *fields = tab + 1, *at = strchr(name, '@');
	char user[256], domain[256], uidv[32], gidv[32], home[PATH_MAX], mail[PATH_MAX];
	snprintf(user, sizeof user, "%.*s", at ? (int)(at - name) : (int)strlen(name), name);
	snprintf(domain, sizeof domain, "%s", at ? at + 1 : o->domain ? o->domain : "");
	const char *udb_home = userdb_field(fields, "home", home, sizeof home);
	const char *udb_mail = userdb_field(fields, "mail", mail, sizeof mail);
	char maildir[PATH_MAX], inbox[PATH_MAX], old_home[PATH_MAX], folders[PATH_MAX], owner[256];
	const char *why = NULL, *rel = NULL;
	/* the userdb already says where Courier looks: take the maildir from it */
	if (!o->maildir_fmt && o->mailroot) {
		if ((rel = below(udb_mail, o->mailroot)))
			snprintf(maildir, sizeof maildir, "%s", rel);
		else if ((rel = below(udb_home, o->mailroot))) {
			if (snprintf(maildir, sizeof maildir, "%s/Maildir", rel) >=
			    (int)sizeof maildir)
				rel = NULL;
		}
	}
	if ((!rel && maildir_for(maildir, sizeof maildir, o, user, domain, &why) < 0) ||
	    map_expand(inbox, sizeof inbox, o->inbox_fmt, user, domain, &why) < 0 ||
	    (o->home_fmt &&
	     map_expand(old_home, sizeof old_home, o->home_fmt, user, domain, &why) < 0)) {
		fprintf(stderr, "%s: %s: %s: skipped\n", where, name, why);
		r->w.nrefused++;
		return;
	}
	folders_for(folders, sizeof folders, o, o->home_fmt ? old_home : NULL);
	int unknown = 0, have_ids = userdb_field(fields, "uid", uidv, sizeof uidv) &&
	                            userdb_field(fields, "gid", gidv, sizeof gidv);
	if (o->owner || have_ids)
		owner_for(owner, sizeof owner, o->owner, (uid_t)strtoul(uidv, NULL, 10),
		          (gid_t)strtoul(gidv, NULL, 10), NULL, &unknown);
	struct map_candidate c = {where,
	                          maildir,
	                          inbox,
	                          o->home_fmt ? old_home : NULL,
	                          folders[0] ? folders : NULL,
	                          o->owner || have_ids ? owner : NULL};
	add_account(r, &c, unknown);
}

static int read_source(struct map_run *r)
{
	FILE *f = fopen(r->o->source_path, "r");
	if (!f) {
		fprintf(stderr, "mboxfs map: %s: %s\n", r->o->source_path, strerror(errno));
		return -1;
	}
	char *line = NULL, where[PATH_MAX + 32];
	size_t cap = 0;
	unsigned lineno = 0;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		const char *text = line + strspn(line, " \t");
		if (!*text || *text == '#')
			continue;
		snprintf(where, sizeof where, "%s:%u", r->o->source_path, lineno);
		if (r->o->kind == FROM_PASSWD)
			passwd_line(r, line, where);
		else if (r->o->kind == FROM_LINES)
			lines_line(r, line, where);
		else
			userdb_line(r, line, where);
	}
	free(line);
	fclose(f);
	return 0;
}

static int usage_error(const char *why)
{
	if (why)
		fprintf(stderr, "mboxfs map: %s\n", why);
	fputs(verb_help("map"), stderr);
	return 2;
}

int cmd_map(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"passwd", required_argument, NULL, 'p'},
	    {"lines", required_argument, NULL, 'l'},
	    {"userdb", required_argument, NULL, 'U'},
	    {"domain", required_argument, NULL, 'd'},
	    {"inbox", required_argument, NULL, 'i'},
	    {"home", required_argument, NULL, 'H'},
	    {"folders", required_argument, NULL, 'f'},
	    {"maildir", required_argument, NULL, 'm'},
	    {"mailroot", required_argument, NULL, 'r'},
	    {"owner", required_argument, NULL, 'o'},
	    {"min-uid", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct map_options o = {.min_uid = 1000};
	int c, sources = 0;
	char *end;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
		case 'l':
		case 'U':
			o.kind = c == 'p' ? FROM_PASSWD : c == 'l' ? FROM_LINES : FROM_USERDB;
			o.source_path = optarg;
			sources++;
			break;
		case 'd':
			o.domain = optarg;
			break;
		case 'i':
			o.inbox_fmt = optarg;
			break;
		case 'H':
			o.home_fmt = optarg;
			break;
		case 'f':
			o.folders_sub = optarg;
			break;
		case 'm':
			o.maildir_fmt = optarg;
			break;
		case 'r':
			o.mailroot = optarg;
			break;
		case 'o':
			o.owner = optarg;
			break;
		case 'n':
			o.min_uid = strtol(optarg, &end, 10);
			if (*end || o.min_uid < 0)
				return usage_error("--min-uid takes a number");
			break;
		case 'h':
			fputs(verb_help("map"), stdout);
			return 0;
		default:
			return usage_error(NULL);
		}
	}
	if (sources != 1 || optind != argc)
		return usage_error("give exactly one of --passwd, --lines, --userdb");
	if (o.kind == FROM_USERDB && !o.inbox_fmt)
		return usage_error("--userdb needs --inbox FORMAT: where the old INBOX mboxes are");
	if (o.kind == FROM_LINES && (o.inbox_fmt || o.home_fmt || o.domain))
		return usage_error("with --lines, the INBOX, home and domain come from the lines");
	if (o.mailroot && o.kind != FROM_USERDB)
		return usage_error("--mailroot goes with --userdb");
	if (o.folders_sub && (o.folders_sub[0] == '/' || !o.folders_sub[0]))
		return usage_error("--folders is relative to the home");
	if (o.owner && !getpwnam(o.owner) && !strchr("0123456789", o.owner[0]))
		return usage_error("--owner: no such user");

	struct map_run r = {.o = &o};
	map_writer_init(&r.w, stdout, stderr);
	printf("# generated by mboxfs map from %s\n", o.source_path);
	int failed = read_source(&r) < 0;
	fprintf(stderr,
	        "mboxfs map: %zu accounts written, %zu without mail left out, %zu refused, %zu "
	        "remarks\n",
	        r.w.nwritten, r.without_mail, r.w.nrefused, r.remarks);
	map_writer_free(&r.w);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "mboxfs map: cannot write the map: %s\n", strerror(errno));
		return 1;
	}
	return failed ? 1 : 0;
}
