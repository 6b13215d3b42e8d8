/* source.c — an account's mailboxes, found and opened with its rights (see
 * source.h). */
#include "source.h"

#include "folder_name.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- rights ---- */

static gid_t *own_groups;
static size_t own_ngroups;
static pthread_once_t own_groups_once = PTHREAD_ONCE_INIT;

static void save_own_groups(void)
{
	int n = getgroups(0, NULL);
	if (n > 0 && (own_groups = calloc((size_t)n, sizeof *own_groups))) {
		n = getgroups(n, own_groups);
		own_ngroups = n > 0 ? (size_t)n : 0;
	}
}

/* Switches the calling thread's file-system identity to r. 0, or -errno
 * (then the thread is as before). */
static void back(const struct src_rights *r);
static int become(const struct src_rights *r)
{
	if (!r->switched)
		return 0;
	pthread_once(&own_groups_once, save_own_groups);
	/* the raw call: glibc's setgroups() would switch every thread */
	if (syscall(SYS_setgroups, r->ngroups, r->groups) < 0)
		return -errno;
	setfsgid(r->gid);
	setfsuid(r->uid);
	/* setfs*id() return the previous value whether or not they worked */
	if ((uid_t)setfsuid((uid_t)-1) != r->uid || (gid_t)setfsgid((gid_t)-1) != r->gid) {
		back(r);
		return -EPERM;
	}
	return 0;
}

static void back(const struct src_rights *r)
{
	if (!r->switched)
		return;
	int saved = errno;
	setfsuid(geteuid()); /* first: root's file capabilities come back with it */
	setfsgid(getegid());
	syscall(SYS_setgroups, own_ngroups, own_groups);
	errno = saved;
}

/* The supplementary groups of uid's passwd entry, or none. */
static void groups_of(struct src_rights *r)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (getpwuid_r(r->uid, &pw, buf, sizeof buf, &found) != 0 || !found)
		return;
	int n = 32;
	for (int tries = 0; tries < 4; tries++) {
		gid_t *g = realloc(r->groups, (size_t)n * sizeof *g);
		if (!g)
			return;
		r->groups = g;
		int want = n;
		if (getgrouplist(found->pw_name, r->gid, g, &want) >= 0) {
			r->ngroups = (size_t)want;
			return;
		}
		n = want > n ? want : n * 2;
	}
}

/* The primary group of uid's passwd entry, or fallback. */
static gid_t passwd_gid(uid_t uid, gid_t fallback)
{
	struct passwd pw, *found = NULL;
	char buf[4096];
	if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) != 0 || !found)
		return fallback;
	return found->pw_gid;
}

int src_rights_init(struct src_rights *r, const struct account *a)
{
	memset(r, 0, sizeof *r);
	if (a->has_owner) {
		r->uid = a->uid, r->gid = a->gid;
		snprintf(r->who, sizeof r->who, "uid %u gid %u (owner=)", (unsigned)r->uid,
		         (unsigned)r->gid);
	} else {
		const char *paths[] = {a->inbox, a->home, account_folders_dir(a)};
		struct stat st;
		const char *from = NULL;
		for (size_t i = 0; i < 3 && !from; i++)
			if (paths[i] && lstat(paths[i], &st) == 0)
				from = paths[i];
		if (from) {
			r->uid = st.st_uid;
			r->gid = passwd_gid(st.st_uid, st.st_gid);
		} else
			r->uid = r->gid = SRC_NOBODY;
		snprintf(r->who, sizeof r->who, "uid %u gid %u (no owner=: %s%s)", (unsigned)r->uid,
		         (unsigned)r->gid, from ? "owner of " : "no source exists, nobody",
		         from ? from : "");
	}
	r->switched = geteuid() == 0 && r->uid != 0;
	if (r->switched)
		groups_of(r);
	return 0;
}

void src_rights_free(struct src_rights *r)
{
	free(r->groups);
	r->groups = NULL, r->ngroups = 0;
}

/* ---- opening ---- */

static const char *type_name(mode_t mode)
{
	return S_ISFIFO(mode)   ? "a FIFO"
	       : S_ISSOCK(mode) ? "a socket"
	       : S_ISCHR(mode)  ? "a character device"
	       : S_ISBLK(mode)  ? "a block device"
	       : S_ISLNK(mode)  ? "a symlink"
	                        : "not a regular file";
}

/* name in dir (AT_FDCWD: a path) opened if it is a regular file: the fd, or
 * -errno (-EINVAL: something else, described in *what). Runs with the
 * caller's rights. */
static int open_regular(int dir, const char *name, const char **what)
{
	struct stat before, after;
	*what = NULL;
	if (fstatat(dir, name, &before, 0) < 0)
		return -errno;
	if (!S_ISREG(before.st_mode)) {
		*what = type_name(before.st_mode);
		return -EINVAL;
	}
	int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	int fd = openat(dir, name, flags | O_NOATIME);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
		fd = openat(dir, name, flags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &after) < 0 || !S_ISREG(after.st_mode) || after.st_dev != before.st_dev ||
	    after.st_ino != before.st_ino) {
		close(fd);
		*what = "replaced while being opened";
		return -EINVAL;
	}
	return fd;
}

int src_open_mbox(const struct src_rights *r, const char *path, char *err, size_t errlen)
{
	const char *what = NULL;
	int fd = become(r);
	if (fd == 0) {
		fd = open_regular(AT_FDCWD, path, &what);
		back(r);
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, what ? what : strerror(-fd));
		return -1;
	}
	return fd;
}

int src_read_file(const struct src_rights *r, const char *path, size_t max, char **text,
                  size_t *len)
{
	const char *what;
	*text = NULL, *len = 0;
	int fd = become(r);
	if (fd == 0) {
		fd = open_regular(AT_FDCWD, path, &what);
		back(r);
	}
	if (fd < 0)
		return fd;
	struct stat st;
	int ret = 0;
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if ((size_t)st.st_size > max)
		ret = -EFBIG;
	else if (st.st_size > 0 && !(*text = malloc((size_t)st.st_size)))
		ret = -ENOMEM;
	else if (st.st_size > 0) {
		ssize_t n = pread(fd, *text, (size_t)st.st_size, 0);
		if (n < 0)
			ret = -errno;
		else
			*len = (size_t)n;
	}
	close(fd);
	if (ret < 0) {
		free(*text);
		*text = NULL, *len = 0;
	}
	return ret;
}

/* ---- the list ---- */

static int add_anomaly(struct src_list *l, enum src_anomaly_kind kind, const char *path,
                       const char *text)
{
	struct src_anomaly *n = realloc(l->anomalies, (l->nanomalies + 1) * sizeof *n);
	if (!n)
		return -ENOMEM;
	l->anomalies = n;
	struct src_anomaly *an = &n[l->nanomalies];
	an->kind = kind;
	an->path = strdup(path);
	an->text = strdup(text);
	if (!an->path || !an->text) {
		free(an->path), free(an->text);
		return -ENOMEM;
	}
	l->nanomalies++;
	return 0;
}

static int add_box(struct src_list *l, const char *uw_name, const char *path, uint64_t size)
{
	struct src_mailbox *n = realloc(l->boxes, (l->nboxes + 1) * sizeof *n);
	if (!n)
		return -ENOMEM;
	l->boxes = n;
	struct src_mailbox *b = &n[l->nboxes];
	b->uw_name = strdup(uw_name);
	b->path = strdup(path);
	b->courier_name = NULL;
	b->size = size;
	if (!b->uw_name || !b->path) {
		free(b->uw_name), free(b->path);
		return -ENOMEM;
	}
	l->nboxes++;
	return 0;
}

void src_list_free(struct src_list *l)
{
	for (size_t i = 0; i < l->nboxes; i++)
		free(l->boxes[i].uw_name), free(l->boxes[i].courier_name), free(l->boxes[i].path);
	for (size_t i = 0; i < l->nanomalies; i++)
		free(l->anomalies[i].path), free(l->anomalies[i].text);
	free(l->boxes), free(l->anomalies);
	memset(l, 0, sizeof *l);
}

const char *src_anomaly_name(enum src_anomaly_kind kind)
{
	static const char *const names[] = {"refused",  "not-regular", "loop",
	                                    "too-deep", "bad-name",    "escaped-name"};
	return (unsigned)kind < sizeof names / sizeof *names ? names[kind] : "?";
}

const char *src_courier_name(const struct src_list *l, const char *uw_name)
{
	for (size_t i = 1; i < l->nboxes; i++)
		if (!strcmp(l->boxes[i].uw_name, uw_name))
			return l->boxes[i].courier_name;
	return NULL;
}

/* ---- the walk ---- */

struct dir_id {
	dev_t dev;
	ino_t ino;
};

struct walk {
	struct src_list *list;
	const char *top;
	struct stat inbox; /* st_nlink 0: no INBOX file to leave out */
	struct dir_id *seen;
	size_t nseen;
	int err; /* -ENOMEM */
};

/* 1 if the directory was entered before in this walk; else remembers it. */
static int seen_before(struct walk *w, const struct stat *st)
{
	for (size_t i = 0; i < w->nseen; i++)
		if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
			return 1;
	struct dir_id *n = realloc(w->seen, (w->nseen + 1) * sizeof *n);
	if (!n) {
		w->err = -ENOMEM;
		return 1;
	}
	w->seen = n;
	w->seen[w->nseen++] = (struct dir_id){st->st_dev, st->st_ino};
	return 0;
}

static void anomaly(struct walk *w, enum src_anomaly_kind kind, const char *path, const char *text)
{
	if (add_anomaly(w->list, kind, path, text) < 0)
		w->err = -ENOMEM;
}

static void walk_dir(struct walk *w, int dfd, const char *rel, int depth);

/* One directory entry: a folder file, a directory to enter, or an anomaly. */
static void walk_entry(struct walk *w, int dfd, const char *name, const char *rel, int depth)
{
	char sub[PATH_MAX], full[PATH_MAX], text[PATH_MAX + 64];
	struct stat st;
	if (snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", name) >= (int)sizeof sub ||
	    snprintf(full, sizeof full, "%s/%s", w->top, sub) >= (int)sizeof full) {
		anomaly(w, SRC_REFUSED, w->top, "a path below it is too long");
		return;
	}
	if (fstatat(dfd, name, &st, 0) < 0) {
		anomaly(w, SRC_REFUSED, full, strerror(errno));
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth + 1 > SRC_MAX_DEPTH) {
			snprintf(text, sizeof text, "more than %d directories deep: not entered",
			         SRC_MAX_DEPTH);
			anomaly(w, SRC_TOO_DEEP, full, text);
			return;
		}
		if (seen_before(w, &st)) {
			anomaly(w, SRC_LOOP, full, "a directory already listed (a link loop?)");
			return;
		}
		int fd =
		    openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		struct stat again;
		if (fd < 0) {
			anomaly(w, SRC_REFUSED, full, strerror(errno));
			return;
		}
		if (fstat(fd, &again) < 0 || again.st_dev != st.st_dev ||
		    again.st_ino != st.st_ino) {
			close(fd);
			anomaly(w, SRC_REFUSED, full, "replaced while being listed");
			return;
		}
		walk_dir(w, fd, sub, depth + 1);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(text, sizeof text, "%s: never opened", type_name(st.st_mode));
		anomaly(w, SRC_NOT_REGULAR, full, text);
		return;
	}
	if (w->inbox.st_nlink && st.st_dev == w->inbox.st_dev && st.st_ino == w->inbox.st_ino)
		return; /* the INBOX itself, under another name */
	/* open it once: what the user could not read is not a folder of his */
	const char *what;
	int fd = open_regular(dfd, name, &what);
	if (fd < 0) {
		anomaly(w, what ? SRC_NOT_REGULAR : SRC_REFUSED, full, what ? what : strerror(-fd));
		return;
	}
	close(fd);
	if (add_box(w->list, sub, full, (uint64_t)st.st_size) < 0)
		w->err = -ENOMEM;
}

/* Lists dfd (taken) at rel below the top, depth levels down. */
static void walk_dir(struct walk *w, int dfd, const char *rel, int depth)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		w->err = -ENOMEM;
		return;
	}
	struct dirent *e;
	errno = 0;
	while (!w->err && (e = readdir(d))) {
		/* dot files are shell and client settings, not UW folders; a
		 * top-level INBOX is the INBOX */
		if (e->d_name[0] != '.' && (*rel || strcasecmp(e->d_name, "INBOX")))
			walk_entry(w, dirfd(d), e->d_name, rel, depth);
		errno = 0;
	}
	if (errno && !w->err) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s%s%s", w->top, *rel ? "/" : "", rel);
		anomaly(w, SRC_REFUSED, path, strerror(errno));
	}
	closedir(d);
}

/* Orders folders by Courier name, the keeper of a shared name first. */
static int by_uw_name(const void *a, const void *b)
{
	return strcmp(((const struct src_mailbox *)a)->uw_name,
	              ((const struct src_mailbox *)b)->uw_name);
}

/* Drops box i of the list. */
static void drop_box(struct src_list *l, size_t i)
{
	free(l->boxes[i].uw_name), free(l->boxes[i].courier_name), free(l->boxes[i].path);
	memmove(&l->boxes[i], &l->boxes[i + 1], (l->nboxes - i - 1) * sizeof *l->boxes);
	l->nboxes--;
}

/* 1 if a UW name needed folder_name.h's escaped form: a component with '&'
 * or an 8-bit byte that is not canonical modified UTF-7. */
static int escaped(const char *uw_name, const char *courier_name)
{
	char raw[PATH_MAX * 2];
	int odd = 0;
	for (const unsigned char *c = (const unsigned char *)uw_name; *c; c++)
		odd |= *c == '&' || *c >= 0x80;
	return odd && mbx_folder_name_raw(uw_name, raw, sizeof raw) >= 0 &&
	       !strcmp(raw, courier_name);
}

/* Gives every folder (boxes[1..]) its Courier name. The names are distinct
 * (folder_name.h: distinct UW names give distinct names), so two folders
 * never become one; a name that had to be escaped is reported, since it is
 * not the one a client of the old server knew it by. */
static int name_folders(struct src_list *l)
{
	char name[PATH_MAX * 2], text[PATH_MAX * 3];
	for (size_t i = 1; i < l->nboxes;) {
		struct src_mailbox *b = &l->boxes[i];
		if (mbx_folder_name(b->uw_name, name, sizeof name) < 0) {
			if (add_anomaly(l, SRC_BAD_NAME, b->path, "no Courier folder name") < 0)
				return -ENOMEM;
			drop_box(l, i);
			continue;
		}
		if (!(b->courier_name = strdup(name)))
			return -ENOMEM;
		snprintf(text, sizeof text,
		         "not canonical modified UTF-7 (it could read as another folder's "
		         "name): served as .%s",
		         name);
		if (escaped(b->uw_name, name) && add_anomaly(l, SRC_ESCAPED, b->path, text) < 0)
			return -ENOMEM;
		i++;
	}
	if (l->nboxes > 2)
		qsort(l->boxes + 1, l->nboxes - 1, sizeof *l->boxes, by_uw_name);
	return 0;
}

int src_scan(const struct account *a, const struct src_rights *r, struct src_list *list)
{
	memset(list, 0, sizeof *list);
	if (add_box(list, "INBOX", a->inbox, 0) < 0)
		return -ENOMEM;
	const char *top = account_folders_dir(a);
	struct walk w = {.list = list, .top = top};
	int ret = become(r);
	if (ret < 0)
		return top ? ret : 0;
	if (stat(a->inbox, &w.inbox) < 0)
		w.inbox.st_nlink = 0;
	else if (S_ISREG(w.inbox.st_mode))
		list->boxes[0].size = (uint64_t)w.inbox.st_size;
	if (!top) {
		back(r);
		return 0;
	}
	struct stat st;
	int fd = open(top, O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
	} else {
		seen_before(&w, &st);
		walk_dir(&w, fd, "", 0);
		ret = w.err;
	}
	back(r);
	free(w.seen);
	return ret < 0 ? ret : name_folders(list);
}
