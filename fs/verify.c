/* verify.c — `mboxfs verify`: a mail root (a plain tree after unmounting, or
 * a live mount read through itself) against what the mount shows over the
 * same state directory, which is what `materialize --offline` writes.
 *
 * The daemon's own code decides what is expected, set up read-only
 * (fs_config.readonly: no lock, nothing written to the state directory or
 * the tree): the accounts' folders (account_ready), each folder's messages and
 * their state (folder_load: the mbox through its index, the journal), the
 * names (folder_message_name) and the generated control files
 * (virtual_content). Per folder, every message that is neither expunged nor
 * moved away must be in cur/ under its key, with the flags the state gives it,
 * its served bytes and INTERNALDATE as mtime; then courierimapuiddb,
 * courierimapkeywords/, courierpop3dsizelist and courierimapsubscribed are
 * compared as Courier reads them (verify_files.c), and no other file of cur/
 * may claim an old UID. */
#include "fs.h"
#include "fs_internal.h"
#include "name.h"
#include "verify_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A directory below the mail root and a file in it. */
#define DIR_MAX  (PATH_MAX + 32)
#define FILE_MAX (DIR_MAX + NAME_MAX + 2)

struct verify_run {
	const char *mailroot;
	int allow_changes;
	fs_verify_fn fn;
	void *arg;
	struct fs_verify_totals *totals;
	/* the folder being verified */
	struct folder *f;
	char folder_name[PATH_MAX];
	char dir[PATH_MAX]; /* its directory below the mail root, as given */
	const char *file;   /* what the current comparison of a file concerns */
};

static void differ(struct verify_run *run, const char *file, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void differ(struct verify_run *run, const char *file, const char *fmt, ...)
{
	char *problem = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&problem, fmt, ap) < 0)
		problem = NULL;
	va_end(ap);
	struct fs_verify_difference d = {run->f->acct->a->maildir, run->folder_name, file,
	                                 problem ? problem : "(out of memory)"};
	run->totals->differences++;
	run->fn(&d, run->arg);
	free(problem);
}

/* A vf_report_fn: a difference in run->file. */
static void file_differs(void *arg, const char *problem)
{
	struct verify_run *run = arg;
	differ(run, run->file, "%s", problem);
}

/* A whole small file, NUL-terminated; NULL with errno. */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	for (ssize_t n = 1; buf && n > 0;) {
		if (used + 1 == cap) {
			char *grown = realloc(buf, cap *= 2);
			if (!grown) {
				free(buf);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = grown;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n < 0) {
			int err = errno;
			free(buf);
			buf = NULL;
			errno = err;
		} else
			used += (size_t)n;
	}
	close(fd);
	if (buf) {
		buf[used] = '\0';
		*len = used;
	}
	return buf;
}

/* A file of the folder (NULL with errno ENOENT when absent); any other
 * failure to read it is a difference. */
static char *read_control(struct verify_run *run, const char *path, size_t *len)
{
	char *text = read_file(path, len);
	if (!text && errno != ENOENT) {
		differ(run, path, "cannot be read: %s", strerror(errno));
		errno = EIO;
	}
	return text;
}

/* What the mount generates for a control file of the folder; "" when it
 * generates none. Free *owned. */
static const char *generated(struct folder *f, enum vkind kind, size_t *len, char **owned)
{
	const char *data;
	if (virtual_content(vid_make(kind, f->id, 0), &data, len, owned) < 0) {
		*len = 0;
		return "";
	}
	return data;
}

/* The files of a folder's cur/, sorted by key. */
struct cur_entry {
	char *key, *name;
};
struct cur_listing {
	struct cur_entry *e;
	size_t n;
	struct vf_set keys;
};

static int cmp_cur(const void *a, const void *b)
{
	const struct cur_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->name, y->name);
}

/* -errno when cur/ cannot be listed. */
static int list_cur(const char *path, struct cur_listing *l)
{
	DIR *d = opendir(path);
	size_t cap = 0;
	memset(l, 0, sizeof *l);
	if (!d)
		return -errno;
	struct dirent *de;
	int r = 0;
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.') /* as Courier: ".", "..", temporary files */
			continue;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 256;
			struct cur_entry *e = realloc(l->e, cap * sizeof *e);
			if (!e) {
				r = -ENOMEM;
				break;
			}
			l->e = e;
		}
		struct cur_entry *e = &l->e[l->n];
		size_t keylen = vf_key_len(de->d_name);
		if (!(e->name = strdup(de->d_name)) || !(e->key = strndup(de->d_name, keylen)) ||
		    vf_set_add(&l->keys, de->d_name, keylen) < 0) {
			free(e->name);
			r = -ENOMEM;
			break;
		}
		l->n++;
	}
	closedir(d);
	if (l->n)
		qsort(l->e, l->n, sizeof *l->e, cmp_cur);
	vf_set_sort(&l->keys);
	return r;
}

/* The first entry with key and how many have it. */
static const struct cur_entry *cur_find(const struct cur_listing *l, const char *key, size_t *count)
{
	size_t lo = 0, hi = l->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(l->e[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*count = 0;
	while (lo + *count < l->n && !strcmp(l->e[lo + *count].key, key))
		++*count;
	return *count ? &l->e[lo] : NULL;
}

static void free_cur(struct cur_listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->e[i].key), free(l->e[i].name);
	free(l->e);
	vf_set_free(&l->keys);
}

static const char *utc(int64_t t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm))
		snprintf(buf, 32, "%lld", (long long)t);
	return buf;
}

static const char *letters(uint8_t flags, char buf[8])
{
	mbx_flag_letters(flags, buf);
	return *buf ? buf : "none";
}

/* The file's bytes against the served ones. */
static void compare_bytes(struct verify_run *run, const struct mbx_message *m, const char *path,
                          const struct stat *st)
{
	int fd = open(path, O_RDONLY | O_NOATIME | O_CLOEXEC);
	if (fd < 0 && errno == EPERM) /* O_NOATIME needs ownership */
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		differ(run, path, "cannot be read: %s", strerror(errno));
		return;
	}
	struct vf_bytes c;
	vf_bytes_init(&c, fd);
	mbx_for_each_piece(&run->f->file.mb, m, run->f->file.data, vf_bytes_piece, &c);
	int r = vf_bytes_finish(&c);
	close(fd);
	if (r < 0)
		differ(run, path, "cannot be read: %s", strerror(-r));
	else if (r)
		differ(run, path, "bytes differ from offset %llu on (%lld bytes, expected %u)",
		       (unsigned long long)c.differs_at, (long long)st->st_size, m->size);
}

/* One message the mount shows: in cur/ under its key, flags, mtime, bytes. */
static void verify_message(struct verify_run *run, const struct cur_listing *cur, uint32_t index,
                           const char *cur_dir)
{
	struct folder *f = run->f;
	const struct mbx_message *m = &f->file.mb.msgs[index];
	char name[MBX_NAME_MAX], path[FILE_MAX], when[2][32], had[8], want[8];
	folder_message_name(f, index, name);
	name[vf_key_len(name)] = '\0'; /* the key */
	size_t count;
	const struct cur_entry *e = cur_find(cur, name, &count);
	if (!e) {
		if (!(run->allow_changes && message_real(f, index))) {
			folder_message_name(f, index, name);
			snprintf(path, sizeof path, "%s/%s", cur_dir, name);
			differ(run, path, "missing (UID %u)%s", m->uid,
			       message_real(f, index)
			           ? ": expunged since it was materialized, or lost"
			           : "");
		}
		return;
	}
	snprintf(path, sizeof path, "%s/%s", cur_dir, e->name);
	if (count > 1)
		differ(run, path, "%zu files with its key: Courier shows only one of them", count);
	uint8_t flags = message_flags(f, index) & MS_FLAGS, named = vf_name_flags(e->name);
	if (flags != named && !run->allow_changes)
		differ(run, path, "flags %s, the state says %s%s", letters(named, had),
		       letters(flags, want),
		       message_real(f, index) ? " (changed by Courier since it became a real file?)"
		                              : "");
	struct stat st;
	if (lstat(path, &st) < 0) {
		differ(run, path, "cannot be read: %s", strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		differ(run, path, "not a regular file");
		return;
	}
	if ((int64_t)st.st_mtime != m->date)
		differ(run, path, "mtime %s, expected its INTERNALDATE %s",
		       utc((int64_t)st.st_mtime, when[0]), utc(m->date, when[1]));
	compare_bytes(run, m, path, &st);
}

/* Files of cur/ that are no message the mount shows, yet claim an old UID:
 * an expunged message back, or a name of mboxfs's with an old UID of this
 * folder that Courier's database does not give a UID of its own. */
static void verify_extra_files(struct verify_run *run, const struct cur_listing *cur,
                               const struct vf_set *present, const struct vf_uiddb *expected,
                               const struct vf_uiddb *actual, const char *cur_dir)
{
	const struct mbx_mailbox *mb = &run->f->file.mb;
	char path[FILE_MAX];
	for (size_t i = 0; i < cur->n; i++) {
		const struct cur_entry *e = &cur->e[i];
		const struct vf_uid_entry *old = vf_uiddb_find(expected, e->key);
		uint32_t uid = vf_name_uid(e->name, mb->uidvalidity);
		if (vf_set_has(present, e->key))
			continue;
		snprintf(path, sizeof path, "%s/%s", cur_dir, e->name);
		if (old && !run->allow_changes)
			differ(run, path,
			       "expunged or moved away (UID %u), yet here: Courier shows "
			       "it again",
			       old->uid);
		else if (!old && uid && uid < mb->uidnext && !vf_uiddb_find(actual, e->key))
			differ(run, path, "its name claims old UID %u, and it is no old message",
			       uid);
	}
}

static void verify_uiddb(struct verify_run *run, const struct vf_set *present,
                         const struct vf_uiddb *expected, struct vf_uiddb *actual)
{
	char path[FILE_MAX], *moved = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/courierimapuiddb", run->dir);
	char *text = read_control(run, path, &len);
	int missing = !text && errno == ENOENT;
	/* Courier renumbers a folder it renamed (a new UIDVALIDITY): its own */
	int renamed = run->f != run->f->acct->inbox &&
	              folder_log_lookup(run->f->acct, run->f->uw_name, &moved) == 1;
	free(moved);
	if (missing && !renamed)
		differ(run, path,
		       "missing: Courier will give the folder a new UIDVALIDITY and "
		       "every message a new UID");
	if (text && vf_uiddb_parse(text, len, actual) < 0)
		differ(run, path, "out of memory: not compared");
	else if (text && !renamed) {
		run->file = path;
		vf_uiddb_compare(expected, actual, present, file_differs, run);
	}
	free(text);
}

static void verify_keywords(struct verify_run *run, const struct vf_set *present)
{
	char dir[DIR_MAX], path[FILE_MAX], *owned = NULL;
	size_t len, elen;
	struct vf_keywords expected = {0}, actual = {0};
	const char *want = generated(run->f, VK_KEYWORDS, &elen, &owned);
	snprintf(dir, sizeof dir, "%s/courierimapkeywords", run->dir);
	snprintf(path, sizeof path, "%s/:list", dir);
	char *text = read_control(run, path, &len);
	int missing = !text && errno == ENOENT;
	int r = vf_keywords_parse(want, elen, &expected);
	if (r == 0 && text)
		r = vf_keywords_parse(text, len, &actual);
	/* update files Courier has not merged into :list yet win over it */
	DIR *d = opendir(dir);
	struct dirent *de;
	while (r == 0 && d && (de = readdir(d))) {
		char *update;
		size_t ulen;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.' && de->d_name[0] != ':' &&
		    vf_set_has(present, de->d_name) && (update = read_file(path, &ulen))) {
			r = vf_keywords_update(&actual, de->d_name, update, ulen);
			free(update);
		}
	}
	if (d)
		closedir(d);
	size_t with_keywords = 0;
	for (size_t i = 0; i < present->n; i++)
		with_keywords += *vf_keywords_of(&expected, present->v[i]) != '\0';
	snprintf(path, sizeof path, "%s/:list", dir);
	if (r < 0)
		differ(run, path, "out of memory: not compared");
	else if (missing && with_keywords && !actual.n)
		differ(run, path, "missing: %zu messages lose their keywords", with_keywords);
	else {
		run->file = path;
		vf_keywords_compare(&expected, &actual, present, file_differs, run);
	}
	free(text);
	free(owned);
	vf_keywords_free(&expected);
	vf_keywords_free(&actual);
}

static void verify_pop3(struct verify_run *run, const struct vf_set *present,
                        const struct cur_listing *cur)
{
	char path[FILE_MAX], *owned = NULL;
	size_t len, elen;
	struct vf_pop3 expected = {0}, actual = {0};
	const char *want = generated(run->f, VK_POP3LIST, &elen, &owned);
	snprintf(path, sizeof path, "%s/courierpop3dsizelist", run->dir);
	char *text = read_control(run, path, &len);
	if (!text && errno == ENOENT)
		differ(run, path,
		       "missing: pop3d will give every message a new UIDL, not "
		       "uw-ipop3d's");
	else if (text && (vf_pop3_parse(want, elen, &expected) < 0 ||
	                  vf_pop3_parse(text, len, &actual) < 0))
		differ(run, path, "out of memory: not compared");
	else if (text) {
		run->file = path;
		vf_pop3_compare(&expected, &actual, present, &cur->keys, file_differs, run);
	}
	free(text);
	free(owned);
	vf_pop3_free(&expected);
	vf_pop3_free(&actual);
}

static void verify_subscriptions(struct verify_run *run)
{
	char path[FILE_MAX], *owned = NULL;
	size_t len = 0, elen;
	const char *want = generated(run->f, VK_SUBSCRIBED, &elen, &owned);
	snprintf(path, sizeof path, "%s/courierimapsubscribed", run->dir);
	char *text = read_control(run, path, &len);
	if (text || errno == ENOENT) {
		run->file = path;
		vf_subscriptions_compare(want, elen, text ? text : "", text ? len : 0, file_differs,
		                         run);
	}
	free(text);
	free(owned);
}

static void verify_folder(struct verify_run *run, struct folder *f)
{
	const char *base = strrchr(f->dirpath, '/');
	run->f = f;
	snprintf(run->folder_name, sizeof run->folder_name, "INBOX%s",
	         f == f->acct->inbox ? ""
	         : base              ? base + 1
	                             : f->dirpath);
	snprintf(run->dir, sizeof run->dir, "%s/%s", run->mailroot, f->dirpath);
	run->totals->folders++;
	if (folder_load(f) < 0) {
		differ(run, f->mbox_path, "cannot be read (see above): folder %s not verified",
		       run->dir);
		return;
	}
	const struct mbx_mailbox *mb = &f->file.mb;
	if (mb->rule == MBX_RULE_ANY_STABLE && !mb->uidvalidity) {
		differ(run, f->mbox_path,
		       "the state directory has no UIDVALIDITY for it (never "
		       "indexed or mounted with this state): not verified");
		return;
	}
	char cur_dir[DIR_MAX];
	struct cur_listing cur;
	struct vf_set present = {0};
	struct vf_uiddb expected = {0}, actual = {0};
	char *owned = NULL;
	size_t len;
	snprintf(cur_dir, sizeof cur_dir, "%s/cur", run->dir);
	struct stat st;
	if (stat(run->dir, &st) < 0) {
		differ(run, run->dir, "folder missing (%s): %zu messages not there",
		       strerror(errno), mb->nmsgs);
		return;
	}
	int r = list_cur(cur_dir, &cur);
	if (r < 0) {
		differ(run, cur_dir, "cannot be listed (%s): %zu messages not there", strerror(-r),
		       mb->nmsgs);
		free_cur(&cur);
		return;
	}
	/* every message neither expunged nor moved away, virtual or real */
	for (uint32_t i = 0; i < mb->nmsgs; i++) {
		char key[MBX_NAME_MAX];
		size_t count;
		if (message_hidden(f, i) && !message_real(f, i))
			continue;
		run->totals->messages++;
		verify_message(run, &cur, i, cur_dir);
		size_t n = mbx_message_key(mb->uidvalidity, &mb->msgs[i], f->pop3_names, key);
		if (cur_find(&cur, key, &count) && vf_set_add(&present, key, n) < 0)
			differ(run, cur_dir, "out of memory");
	}
	vf_set_sort(&present);
	const char *want = generated(f, VK_UIDDB, &len, &owned);
	if (vf_uiddb_parse(want, len, &expected) < 0)
		differ(run, run->dir, "out of memory");
	verify_uiddb(run, &present, &expected, &actual);
	verify_extra_files(run, &cur, &present, &expected, &actual, cur_dir);
	if (!run->allow_changes)
		verify_keywords(run, &present);
	if (f->pop3_names)
		verify_pop3(run, &present, &cur);
	if (f == f->acct->inbox && f->acct->subscribed && !run->allow_changes)
		verify_subscriptions(run);
	free(owned);
	vf_uiddb_free(&expected);
	vf_uiddb_free(&actual);
	vf_set_free(&present);
	free_cur(&cur);
}

static int by_dirpath(const void *a, const void *b)
{
	return strcmp((*(struct folder *const *)a)->dirpath, (*(struct folder *const *)b)->dirpath);
}

static void verify_account(struct verify_run *run, struct account_rt *acct)
{
	run->totals->accounts++;
	if (account_ready(acct) < 0) {
		struct folder none = {.acct = acct};
		run->f = &none;
		snprintf(run->folder_name, sizeof run->folder_name, "INBOX");
		differ(run, acct->a->inbox,
		       "the account cannot be set up (see above): not verified");
		return;
	}
	size_t n = 0;
	for (struct folder *f = acct->folders; f; f = f->next_in_account)
		n++;
	struct folder **sorted = calloc(n ? n : 1, sizeof *sorted);
	n = 0;
	for (struct folder *f = acct->folders; sorted && f; f = f->next_in_account)
		sorted[n++] = f;
	if (sorted)
		qsort(sorted, n, sizeof *sorted, by_dirpath);
	for (size_t i = 0; i < n; i++) {
		verify_folder(run, sorted[i]);
		folder_unload(sorted[i]); /* done with it: memory for the next ones */
	}
	free(sorted);
}

int fs_verify(struct fs_config *cfg, const char *account_pattern, int allow_changes,
              fs_verify_fn fn, void *arg, struct fs_verify_totals *totals)
{
	struct stat st;
	int found = stat(cfg->upper_dir, &st) == 0;
	if (!found || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "mboxfs verify: %s: %s\n", cfg->upper_dir,
		        found ? "not a directory" : strerror(errno));
		return -1;
	}
	cfg->readonly = 1;
	cfg->foreground = 1; /* the daemon's log lines go to stderr */
	if (fs_setup(cfg, "mboxfs verify") < 0)
		return -1;
	struct verify_run run = {.mailroot = cfg->upper_dir,
	                         .allow_changes = allow_changes,
	                         .fn = fn,
	                         .arg = arg,
	                         .totals = totals};
	memset(totals, 0, sizeof *totals);
	for (size_t i = 0; i < fs.map.naccounts; i++)
		if (!account_pattern ||
		    fnmatch(account_pattern, fs.map.accounts[i].maildir, 0) == 0)
			verify_account(&run, &fs.accounts[i]);
	return 0;
}
