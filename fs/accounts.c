/* accounts.c — an account's Maildir++ skeleton in the upper tree, its folders,
 * and each folder's mbox, loaded (through the persistent index) on first use. */
#include "courier_files.h"
#include "folder_name.h"
#include "fs_internal.h"
#include "name.h"
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* mkdir -p below the upper root; new directories get mode and owner. An
 * existing directory is left as it is. */
static int ensure_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	char buf[PATH_MAX];
	if (fs.readonly) /* verify: reports a missing directory, never makes one */
		return 0;
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -ENAMETOOLONG;
	for (char *s = buf;; s++) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		if (mkdirat(fs.upper_fd, buf, slash ? 0755 : mode) == 0) {
			/* intermediate directories of the mail root stay root's */
			if (!slash && fchownat(fs.upper_fd, buf, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
				return -errno;
		} else if (errno != EEXIST)
			return -errno;
		if (!slash)
			return 0;
		*slash = '/';
		s = slash;
	}
}

static int ensure_file(const char *path, uid_t uid, gid_t gid)
{
	if (fs.readonly)
		return 0;
	int fd = openat(fs.upper_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	int r = fchown(fd, uid, gid) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static struct folder *new_folder(struct account_rt *acct, const char *uw_name, const char *mbox,
                                 const char *dirpath)
{
	struct folder *f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->acct = acct;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->change_lock, NULL);
	pthread_rwlock_init(&f->view_lock, NULL);
	f->mbox_path = strdup(mbox);
	f->dirpath = strdup(dirpath);
	if (asprintf(&f->key, "%s:%s", acct->a->maildir, uw_name) < 0)
		f->key = NULL;
	if (!f->mbox_path || !f->dirpath || !f->key)
		return NULL;
	f->uw_name = f->key + strlen(acct->a->maildir) + 1;
	pthread_mutex_lock(&fs.lock);
	if (fs.nfolders == fs.folders_cap) {
		size_t cap = fs.folders_cap ? fs.folders_cap * 2 : 256;
		struct folder **n = realloc(fs.folders, cap * sizeof *n);
		if (!n) {
			pthread_mutex_unlock(&fs.lock);
			return NULL;
		}
		fs.folders = n, fs.folders_cap = cap;
	}
	f->id = (uint32_t)fs.nfolders;
	fs.folders[fs.nfolders++] = f;
	pthread_mutex_unlock(&fs.lock);
	f->next_in_account = acct->folders; /* under acct->lock (account_ready) */
	acct->folders = f;
	return f;
}

struct folder *folder_by_id(uint32_t id)
{
	pthread_mutex_lock(&fs.lock);
	struct folder *f = id < fs.nfolders ? fs.folders[id] : NULL;
	pthread_mutex_unlock(&fs.lock);
	return f;
}

const char *folder_subdir(enum role role)
{
	return role == ROLE_CUR        ? "/cur"
	       : role == ROLE_KEYWORDS ? "/courierimapkeywords"
	       : role == ROLE_TMP      ? "/tmp"
	                               : "";
}

/* Registers dir as a folder of that role (ROLE_NONE: no longer one), with its
 * cur/ and courierimapkeywords/. */
static void set_places(const char *dir, enum role folder_role, struct folder *f)
{
	char sub[PATH_MAX + 64];
	place_add(dir, folder_role, f);
	for (enum role role = ROLE_CUR; role <= ROLE_TMP; role++) {
		snprintf(sub, sizeof sub, "%s%s", dir, folder_subdir(role));
		place_add(sub, f ? role : ROLE_NONE, f);
	}
}

/* Makes the folder's directories and registers its places. */
static int add_folder(struct account_rt *acct, const char *uw_name, const char *mbox,
                      const char *courier_name)
{
	char dir[PATH_MAX], sub[PATH_MAX + 64]; /* dir plus a fixed suffix */
	const char *root = acct->a->maildir;
	char *moved = NULL;
	int logged = courier_name ? folder_log_lookup(acct, uw_name, &moved) : 0;
	if (logged < 0)
		return 0; /* Courier deleted it */
	int n = logged ? snprintf(dir, sizeof dir, "%s/%s", root, moved)
	               : snprintf(dir, sizeof dir, "%s%s%s", root, courier_name ? "/." : "",
	                          courier_name ? courier_name : "");
	free(moved);
	if (n >= (int)sizeof dir)
		return -ENAMETOOLONG;

	struct folder *f = new_folder(acct, courier_name ? uw_name : "INBOX", mbox, dir);
	if (!f)
		return -ENOMEM;
	f->pop3_names = !courier_name && acct->a->pop3;
	if (!courier_name)
		acct->inbox = f;
	int r = ensure_dir(dir, 0700, acct->uid, acct->gid);
	/* courierimapkeywords/ too: Courier reads :list before it would make the
	 * directory, so without it the first session would see no keywords */
	static const char *const subdirs[] = {"cur", "new", "tmp", "courierimapkeywords"};
	for (size_t i = 0; r == 0 && i < 4; i++) {
		snprintf(sub, sizeof sub, "%s/%s", dir, subdirs[i]);
		r = ensure_dir(sub, 0700, acct->uid, acct->gid);
	}
	if (r == 0 && courier_name) {
		snprintf(sub, sizeof sub, "%s/maildirfolder", dir);
		r = ensure_file(sub, acct->uid, acct->gid);
	}
	if (r < 0)
		return r;
	set_places(dir, ROLE_FOLDER, f);
	return 0;
}

/* The account's folders as source.h found them (read with its rights), each
 * with its anomalies logged. */
static void scan_folders(struct account_rt *acct, const struct src_list *list)
{
	const char *maildir = acct->a->maildir;
	for (size_t i = 0; i < list->nanomalies; i++)
		fs_log("%s: %s: %s: %s", maildir, list->anomalies[i].path,
		       src_anomaly_name(list->anomalies[i].kind), list->anomalies[i].text);
	for (size_t i = 1; i < list->nboxes; i++) /* boxes[0] is INBOX */
		if (add_folder(acct, list->boxes[i].uw_name, list->boxes[i].path,
		               list->boxes[i].courier_name) < 0)
			fs_log("%s: cannot make folder .%s in the upper tree", maildir,
			       list->boxes[i].courier_name);
}

static const char *courier_name_in(const char *uw_name, void *list)
{
	return src_courier_name(list, uw_name);
}

/* courierimapsubscribed from home/.mailboxlist, read with the account's rights
 * (names there are relative to home; the folders are relative to the folder
 * directory; a folder keeps the name list gave it). */
static void make_subscriptions(struct account_rt *acct, const struct src_list *list)
{
	const struct account *a = acct->a;
	const char *folders = account_folders_dir(a);
	char path[PATH_MAX], below[PATH_MAX] = "";
	size_t home_len = a->home ? strlen(a->home) : 0;
	if (!a->home || snprintf(path, sizeof path, "%s/.mailboxlist", a->home) >= (int)sizeof path)
		return;
	if (folders && strcmp(folders, a->home)) {
		if (strncmp(folders, a->home, home_len) || folders[home_len] != '/')
			return; /* folders outside home: no UW name maps to them */
		snprintf(below, sizeof below, "%s/", folders + home_len + 1);
	}
	char *text;
	size_t len;
	int r = src_read_file(&acct->rights, path, 16 << 20, &text, &len);
	if (r < 0 && r != -ENOENT)
		fs_log("%s: %s: refused: %s", a->maildir, path,
		       r == -EINVAL ? "not a regular file: never opened" : strerror(-r));
	if (r == 0 && len)
		acct->subscribed = mbx_courier_subscriptions_named(
		    text, len, below, courier_name_in, (void *)list, &acct->subscribed_len);
	free(text);
}

struct account_rt *account_add(const struct account *a)
{
	struct account_rt *acct = calloc(1, sizeof *acct);
	char key[PATH_MAX + 16];
	if (!acct)
		return NULL;
	acct->a = a;
	acct->uid = a->has_owner ? a->uid : fs.default_uid;
	acct->gid = a->has_owner ? a->gid : fs.default_gid;
	pthread_mutex_init(&acct->lock, NULL);
	snprintf(key, sizeof key, "%s:folders", a->maildir);
	if (journal_init(&acct->folder_journal, fs.state_dir, key, "folders") < 0) {
		free(acct);
		return NULL;
	}
	acct->folder_journal.readonly = fs.readonly;
	pthread_mutex_lock(&fs.lock);
	int r = -1;
	if (fs.naccounts == fs.accounts_cap) {
		size_t cap = fs.accounts_cap ? fs.accounts_cap * 2 : 64;
		struct account_rt **n = realloc(fs.accounts, cap * sizeof *n);
		if (n)
			fs.accounts = n, fs.accounts_cap = cap;
	}
	if (fs.naccounts < fs.accounts_cap && places_add_account(acct) == 0) {
		fs.accounts[fs.naccounts++] = acct;
		r = 0;
	} else
		places_remove_account(acct); /* what was added before memory ran out */
	pthread_mutex_unlock(&fs.lock);
	if (r < 0) {
		journal_close(&acct->folder_journal);
		free(acct);
		return NULL;
	}
	return acct;
}

long account_virtual(struct account_rt *acct)
{
	if (account_ready(acct) < 0)
		return -EIO;
	long n = 0;
	for (struct folder *f = acct->folders; f; f = f->next_in_account) {
		uint64_t messages, bytes, controls;
		int r = materialize_pending(f, &messages, &bytes, &controls);
		if (r < 0)
			return r;
		n += (long)(messages + controls);
	}
	return n;
}

void account_retire(struct account_rt *acct)
{
	pthread_mutex_lock(&acct->lock);
	for (struct folder *f = acct->folders; f; f = f->next_in_account) {
		pthread_mutex_lock(&f->lock);
		set_places(f->dirpath, ROLE_NONE, NULL);
		pthread_mutex_unlock(&f->lock);
		inode_drop_folder(f);
	}
	acct->retired = 1;
	pthread_mutex_unlock(&acct->lock);
	pthread_mutex_lock(&fs.lock);
	places_remove_account(acct);
	pthread_mutex_unlock(&fs.lock);
}

int account_root_ready(struct account_rt *acct)
{
	/* as add_folder() makes it: the directories on the way stay root's */
	int r = ensure_dir(acct->a->maildir, 0700, acct->uid, acct->gid);
	if (r == 0)
		__atomic_store_n(&acct->root_ready, 1, __ATOMIC_RELEASE);
	return r;
}

/* Under acct->lock. */
static int prepare_account(struct account_rt *acct)
{
	if (acct->ready || acct->retired)
		return acct->ready > 0 && !acct->retired ? 0 : -1;
	const struct account *a = acct->a;
	src_rights_init(&acct->rights, a);
	if (!a->has_owner) /* source.h: whose rights, once per account */
		fs_log("%s: sources read with the rights of %s", a->maildir, acct->rights.who);
	int r = add_folder(acct, "INBOX", a->inbox, NULL);
	if (r < 0) {
		fs_log("%s: cannot make the maildir in the upper tree: %s", a->maildir,
		       strerror(-r));
		__atomic_store_n(&acct->ready, -1, __ATOMIC_RELEASE);
		return -1;
	}
	struct src_list list;
	r = src_scan(a, &acct->rights, &list);
	if (r < 0 && r != -ENOENT)
		fs_log("%s: folders %s: %s", a->maildir, account_folders_dir(a), strerror(-r));
	scan_folders(acct, &list);
	make_subscriptions(acct, &list);
	src_list_free(&list);
	__atomic_store_n(&acct->ready, 1, __ATOMIC_RELEASE);
	return 0;
}

int account_ready(struct account_rt *acct)
{
	pthread_mutex_lock(&acct->lock);
	int r = prepare_account(acct);
	pthread_mutex_unlock(&acct->lock);
	return r;
}

static int uid_order(const void *a, const void *b, void *arg)
{
	const struct mbx_message *msgs = arg;
	uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
	uint32_t ua = msgs[ia].uid, ub = msgs[ib].uid;
	/* equal UIDs (never given by the parse) by index: the first one wins */
	return ua != ub ? (ua < ub ? -1 : 1) : (ia > ib) - (ia < ib);
}

/* What folder_index_of_uid() searches; with by_uid NULL and uids_ascend 0
 * (out of memory) no UID is found. */
static void index_uids(struct folder *f)
{
	const struct mbx_mailbox *mb = &f->file.mb;
	f->by_uid = NULL;
	f->uids_ascend = 1;
	for (size_t i = 1; i < mb->nmsgs && f->uids_ascend; i++)
		f->uids_ascend = mb->msgs[i - 1].uid < mb->msgs[i].uid;
	if (f->uids_ascend || !(f->by_uid = malloc(mb->nmsgs * sizeof *f->by_uid)))
		return;
	for (size_t i = 0; i < mb->nmsgs; i++)
		f->by_uid[i] = (uint32_t)i;
	qsort_r(f->by_uid, mb->nmsgs, sizeof *f->by_uid, uid_order, mb->msgs);
}

/* The tables of a parse grow by doubling (mbox.h): a folder keeps them for
 * as long as it is served, so without their spare room. */
static void fit_tables(struct mbx_mailbox *mb)
{
	if (mb->msgs_cap > mb->nmsgs && mb->nmsgs) {
		struct mbx_message *m = realloc(mb->msgs, mb->nmsgs * sizeof *m);
		if (m)
			mb->msgs = m, mb->msgs_cap = mb->nmsgs;
	}
	if (mb->cuts_cap > mb->ncuts && mb->ncuts) {
		struct mbx_cut *c = realloc(mb->cuts, mb->ncuts * sizeof *c);
		if (c)
			mb->cuts = c, mb->cuts_cap = mb->ncuts;
	}
}

/* Temporary files of a crashed copy-up would otherwise stay forever. */
static void clean_dirs(const struct folder *f)
{
	if (fs.readonly) /* verify: another process's files are not ours to remove */
		return;
	for (enum role role = ROLE_FOLDER; role <= ROLE_KEYWORDS; role++) {
		char path[PATH_MAX];
		snprintf(path, sizeof path, "%s%s", f->dirpath, folder_subdir(role));
		int fd = openat(fs.upper_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			copy_up_clean(fd);
			close(fd);
		}
	}
}

/* A folder that could not be loaded (its mbox unreadable, the state
 * directory full) is tried again this many seconds later. */
#define FOLDER_RETRY_S 2

int folder_load(struct folder *f)
{
	pthread_mutex_lock(&f->lock);
	time_t now = f->loaded < 0 ? time(NULL) : 0;
	if (!f->loaded || (f->loaded < 0 && now - f->failed_at >= FOLDER_RETRY_S)) {
		char err[PATH_MAX + 128];
		int logged = f->loaded < 0;
		/* the mbox with the account's rights, the index with ours */
		int fd = src_open_mbox(&f->acct->rights, f->mbox_path, err, sizeof err);
		int r =
		    fd < 0 ? -1
		           : (fs.readonly ? mbx_open_fd_readonly : mbx_open_fd)(
		                 &f->file, fd, f->mbox_path, fs.state_dir, f->key, err, sizeof err);
		if (r < 0 && !logged)
			fs_log("%s: not served until this is fixed", err);
		if (r == 0) {
			if (f->file.mb.kind == MBX_KIND_NOT_MAILBOX)
				fs_log("%s: not a Unix mailbox: folder shown empty", f->mbox_path);
			fit_tables(&f->file.mb);
			index_uids(f);
			clean_dirs(f);
			fstat(f->file.fd, &f->source);
			if ((r = fstate_load(f)) < 0) {
				fs_log("%s: cannot read its journal: %s", f->mbox_path,
				       strerror(-r));
				fstate_unload(f);
				free(f->by_uid);
				f->by_uid = NULL;
				f->uids_ascend = 0;
				mbx_close(&f->file);
			} else if (logged)
				fs_log("%s: served again", f->mbox_path);
		}
		if (r == 0) /* what control files were made from is gone */
			__atomic_add_fetch(&f->view_gen, 1, __ATOMIC_ACQ_REL);
		f->loaded = r < 0 ? -1 : 1;
		f->failed_at = r < 0 ? time(NULL) : 0;
	}
	int r = f->loaded > 0 ? 0 : -EIO;
	pthread_mutex_unlock(&f->lock);
	return r;
}

int folder_swap_view(struct folder *f, struct mbx_file *file, const struct stat *source)
{
	pthread_rwlock_wrlock(&f->view_lock);
	pthread_mutex_lock(&f->lock);
	struct mbx_file old = f->file;
	f->file = *file;
	*file = old; /* the caller closes it */
	free(f->by_uid);
	fit_tables(&f->file.mb);
	index_uids(f);
	__atomic_add_fetch(&f->view_gen, 1, __ATOMIC_ACQ_REL);
	fstate_unload(f);
	int r = fstate_load(f);
	f->source = *source;
	f->diverged = r < 0;
	pthread_mutex_unlock(&f->lock);
	pthread_rwlock_unlock(&f->view_lock);
	return r;
}

int folder_unservable(enum role role, struct folder *f, const char *name)
{
	/* the .Folder directories below an INBOX and the account's
	 * subscriptions are not the INBOX's */
	if (!f ||
	    (role == ROLE_FOLDER && (name[0] == '.' || !strcmp(name, "courierimapsubscribed"))))
		return 0;
	if (folder_load(f) < 0)
		return 1;
	/* changed by the old server (one fstat), or restored since it diverged */
	folder_follow(f, __atomic_load_n(&f->diverged, __ATOMIC_ACQUIRE));
	return __atomic_load_n(&f->diverged, __ATOMIC_ACQUIRE);
}

void folder_unload(struct folder *f)
{
	pthread_mutex_lock(&f->lock);
	if (f->loaded > 0)
		mbx_close(&f->file);
	fstate_unload(f);
	free(f->by_uid);
	f->by_uid = NULL;
	f->uids_ascend = 0;
	f->loaded = 0;
	pthread_mutex_unlock(&f->lock);
}

size_t folder_message_name(const struct folder *f, uint32_t index, char *buf)
{
	return mbx_message_name_flags(f->file.mb.uidvalidity, &f->file.mb.msgs[index],
	                              f->pop3_names, message_flags(f, index), buf);
}

/* The UID a name would carry, per name.h; 0 if it is not such a name. */
static uint32_t uid_in_name(const char *name, int pop3)
{
	char *end;
	if (pop3) {
		if (strlen(name) < 16)
			return 0;
		char hex[9];
		memcpy(hex, name + 8, 8);
		hex[8] = '\0';
		unsigned long v = strtoul(hex, &end, 16);
		return *end ? 0 : (uint32_t)v;
	}
	const char *m = strstr(name, ".M");
	if (!m)
		return 0;
	unsigned long v = strtoul(m + 2, &end, 10);
	return *end == 'V' ? (uint32_t)v : 0;
}

int folder_index_of_uid(const struct folder *f, uint32_t uid, uint32_t *index)
{
	const struct mbx_message *msgs = f->file.mb.msgs;
	if (!f->uids_ascend && !f->by_uid)
		return 0;
	/* the first position whose UID is not below uid */
	size_t lo = 0, hi = f->file.mb.nmsgs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t i = f->uids_ascend ? (uint32_t)mid : f->by_uid[mid];
		if (msgs[i].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	uint32_t i = lo < f->file.mb.nmsgs ? (f->uids_ascend ? (uint32_t)lo : f->by_uid[lo]) : 0;
	if (lo == f->file.mb.nmsgs || msgs[i].uid != uid)
		return 0;
	*index = i;
	return 1;
}

int folder_index_of_vid(const struct folder *f, fuse_ino_t id, uint32_t *index)
{
	return vid_kind(id) == VK_MESSAGE && folder_index_of_uid(f, vid_uid(id), index);
}

const struct mbx_message *folder_message_by_name(struct folder *f, const char *name,
                                                 uint32_t *index)
{
	uint32_t uid = uid_in_name(name, f->pop3_names), i;
	if (!uid || folder_load(f) < 0 || !folder_index_of_uid(f, uid, &i))
		return NULL;
	char full[MBX_NAME_MAX];
	folder_message_name(f, i, full);
	if (strcmp(full, name)) /* the whole name, flags included */
		return NULL;
	*index = i;
	return &f->file.mb.msgs[i];
}

/* The folder whose directory is path, or NULL (the INBOX does not move). */
static struct folder *folder_at(const char *path)
{
	struct folder *f = NULL;
	if (place_of(path, &f) != ROLE_FOLDER || !f || f == f->acct->inbox)
		return NULL;
	return f;
}

int folder_renamed(const char *old_path, const char *new_path)
{
	struct folder *f = folder_at(old_path);
	if (!f)
		return 0;
	const char *root = f->acct->a->maildir;
	size_t n = strlen(root);
	char *copy = strdup(new_path);
	if (!copy)
		return -ENOMEM;
	int r = 0;
	if (!strncmp(new_path, root, n) && new_path[n] == '/') /* still in the maildir */
		r = folder_log_append(f->acct, 'r', f->uw_name, new_path + n + 1);
	set_places(old_path, ROLE_NONE, NULL);
	set_places(new_path, ROLE_FOLDER, f);
	pthread_mutex_lock(&f->lock);
	char *old = f->dirpath;
	f->dirpath = copy;
	pthread_mutex_unlock(&f->lock);
	free(old);
	return r;
}

int folder_deleted(const char *path)
{
	struct folder *f = folder_at(path);
	if (!f)
		return 0;
	set_places(path, ROLE_NONE, NULL);
	return folder_log_append(f->acct, 'd', f->uw_name, NULL);
}
