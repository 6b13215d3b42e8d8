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
 * its served bytes and INTERNALDATE as mtime; no other file of cur/ may claim
 * an old UID; then the folder's control files are compared
 * (verify_control.c). */
#include "fs.h"
#include "fs_internal.h"
#include "name.h"
#include "verify_internal.h"

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

void differ(struct verify_run *run, const char *file, const char *fmt, ...)
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
void file_differs(void *arg, const char *problem)
{
	struct verify_run *run = arg;
	differ(run, run->file, "%s", problem);
}

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
	for (size_t i = 0; i < fs.naccounts; i++)
		if (account_matches(fs.accounts[i]->a, account_pattern))
			verify_account(&run, fs.accounts[i]);
	return 0;
}
