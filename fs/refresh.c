/* refresh.c — following the old server during the migration window
 * (DESIGN.md, "Sources: whose rights, and when they change").
 *
 * At each listing of a folder's cur/, one stat() of its mbox. When the file
 * changed (grown by new mail, or rewritten in place by uw-imapd's c-client:
 * flags, keywords, expunges), it is opened again (index/store.c parses only
 * the new tail when it only grew, and records the new index) and the new view
 * replaces the served one, provided it is what c-client makes of a mailbox:
 * the same UIDVALIDITY, every UID still there naming the same message (same
 * served bytes, date and size), every new UID above the old ones. Then new
 * mail appears under c-client's UIDs, the old server's flag changes as
 * renames, its expunges as messages gone; the folder's journal is applied on
 * top, so what Courier changed wins (journal.h). A file only cut short keeps
 * the served view: what is left reads exactly, what is gone as EIO
 * (source_read.h). Anything else (a file replaced or garbled) is never
 * served: the folder reads as EIO, with one log line, until its mbox is
 * again consistent with what was served. Limit: a file cut just before a
 * message's X-UID line cannot be told from c-client expunging the messages
 * after it and new mail arriving; what is left is served as c-client itself
 * would serve it. */
#include "fs_internal.h"
#include "name.h"
#include "source_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Why the new view is not what c-client makes of the served one, or NULL. */
static const char *not_a_cclient_change(const struct folder *f, const struct mbx_mailbox *now,
                                        char *why, size_t len)
{
	const struct mbx_mailbox *was = &f->file.mb;
	if (now->kind == MBX_KIND_NOT_MAILBOX && was->kind != MBX_KIND_NOT_MAILBOX)
		return "it is no longer a Unix mailbox";
	if (now->uidvalidity != was->uidvalidity) {
		snprintf(why, len, "its UIDVALIDITY changed from %u to %u", was->uidvalidity,
		         now->uidvalidity);
		return why;
	}
	for (size_t i = 0; i < now->nmsgs; i++) {
		const struct mbx_message *m = &now->msgs[i];
		uint32_t j;
		if (folder_index_of_uid(f, m->uid, &j)) {
			const struct mbx_message *o = &was->msgs[j];
			if (o->hash != m->hash || o->size != m->size || o->date != m->date) {
				snprintf(why, len, "UID %u now names another message", m->uid);
				return why;
			}
		} else if (m->uid < was->uidnext) {
			snprintf(why, len, "UID %u was given again", m->uid);
			return why;
		}
	}
	return NULL;
}

/* 1 if the mbox was only cut short: every message the new parse has is the
 * served one at the same place, but for the last, which may be cut. Then the
 * served view stays: what is still in the file is served exactly, what is
 * gone reads as EIO (source_read.h). */
static int only_cut(const struct folder *f, const struct mbx_file *now)
{
	const struct mbx_mailbox *was = &f->file.mb, *is = &now->mb;
	if (now->size >= f->file.size || now->dev != f->file.dev || now->ino != f->file.ino ||
	    is->nmsgs > was->nmsgs)
		return 0;
	for (size_t i = 0; i < is->nmsgs; i++) {
		const struct mbx_message *m = &is->msgs[i], *o = &was->msgs[i];
		int last = i + 1 == is->nmsgs;
		if (m->offset != o->offset || (!last && (m->hash != o->hash || m->uid != o->uid)))
			return 0;
	}
	return 1;
}

static int add_name(struct name_list *l, const char *name)
{
	char **grown = realloc(l->names, (l->n + 1) * sizeof *grown);
	if (!grown)
		return -1;
	l->names = grown;
	return (l->names[l->n] = strdup(name)) ? (int)l->n++ : -1;
}

void name_list_free(struct name_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	l->names = NULL, l->n = 0;
}

/* The names cur/ showed before, to compare after the swap. */
struct shown {
	uint32_t uid;
	char name[MBX_NAME_MAX];
};

static struct shown *names_shown(const struct folder *f, size_t *n)
{
	struct shown *s = malloc((f->file.mb.nmsgs ? f->file.mb.nmsgs : 1) * sizeof *s);
	*n = 0;
	for (uint32_t i = 0; s && i < f->file.mb.nmsgs; i++)
		if (!message_hidden(f, i)) {
			s[*n].uid = f->file.mb.msgs[i].uid;
			folder_message_name(f, i, s[(*n)++].name);
		}
	return s;
}

/* Adds the names of shown messages whose bytes end past size (all of them
 * with 0): their cached names must go, so that the next open looks them up
 * and fails (the kernel opens files without asking, ops_file.c). */
static void add_unreadable(const struct folder *f, uint64_t size, struct name_list *stale)
{
	char name[MBX_NAME_MAX];
	for (uint32_t i = 0; i < f->file.mb.nmsgs; i++)
		if (!message_hidden(f, i) && source_message_end(&f->file.mb.msgs[i]) > size) {
			folder_message_name(f, i, name);
			add_name(stale, name);
		}
}

/* Caller holds change_lock. */
static void diverge(struct folder *f, const char *why)
{
	if (!__atomic_exchange_n(&f->diverged, 1, __ATOMIC_ACQ_REL))
		fs_log("%s: changed in a way the old server never changes a mailbox (%s): not "
		       "served until it is restored",
		       f->mbox_path, why);
}

int folder_source_changed(struct folder *f)
{
	struct stat st;
	pthread_rwlock_rdlock(&f->view_lock);
	int changed = f->loaded > 0 && fstat(f->file.fd, &st) == 0 && !same_file(&st, &f->source);
	pthread_rwlock_unlock(&f->view_lock);
	return changed;
}

void folder_refresh(struct folder *f, struct name_list *stale)
{
	struct stat st;
	if (folder_load(f) < 0)
		return;
	int gone = stat(f->mbox_path, &st) < 0;
	pthread_mutex_lock(&f->change_lock);
	int changed = gone || !same_file(&st, &f->source);
	if (gone) {
		diverge(f, strerror(errno));
		add_unreadable(f, 0, stale);
	} else if (changed) {
		struct mbx_file now;
		char err[4096], why[128];
		const char *reason = NULL;
		/* with the account's rights, as at load: a link swapped in since
		 * must not serve what the user could not read */
		int fd = src_open_mbox(&f->acct->rights, f->mbox_path, err, sizeof err);
		if (fd < 0 || mbx_open_fd(&now, fd, f->mbox_path, fs.state_dir, f->key, err,
		                          sizeof err) < 0) {
			diverge(f, err);
			add_unreadable(f, 0, stale);
		} else if ((reason = not_a_cclient_change(f, &now.mb, why, sizeof why))) {
			int cut = only_cut(f, &now);
			if (!cut)
				diverge(f, reason);
			add_unreadable(f, cut ? now.size : 0, stale);
			mbx_close(&now);
			/* not opened again until the file changes again */
			pthread_rwlock_wrlock(&f->view_lock);
			f->source = st;
			pthread_rwlock_unlock(&f->view_lock);
		} else {
			size_t n;
			struct shown *before = names_shown(f, &n);
			if (folder_swap_view(f, &now, &st) < 0)
				fs_log("%s: cannot read its journal again: not served",
				       f->mbox_path);
			else if (__atomic_exchange_n(&f->diverged, 0, __ATOMIC_ACQ_REL))
				fs_log("%s: served again", f->mbox_path);
			mbx_close(&now); /* the old view, now that nobody reads it */
			char name[MBX_NAME_MAX];
			for (size_t i = 0; before && i < n; i++) {
				uint32_t j;
				if (!folder_index_of_uid(f, before[i].uid, &j) ||
				    message_hidden(f, j) ||
				    (folder_message_name(f, j, name), strcmp(name, before[i].name)))
					add_name(stale, before[i].name);
			}
			free(before);
		}
	}
	pthread_mutex_unlock(&f->change_lock);
}

void folder_follow(struct folder *f, int always)
{
	if (!f || (!always && !folder_source_changed(f)))
		return;
	struct name_list stale = {0};
	folder_refresh(f, &stale);
	forget_cur_names(f, stale.names, stale.n);
	name_list_free(&stale);
}
