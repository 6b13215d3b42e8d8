/* virtual.c — the virtual objects: messages of the old mboxes in cur/, and the
 * Courier control files generated from them (reference/courier-imap-maildir.md
 * sections 1, 4 and 5), each shown only while the upper tree has no real one. */
#include "courier_files.h"
#include "fs_internal.h"
#include "name.h"
#include "source_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *control_file_name(enum vkind kind)
{
	static const char *const names[] = {
	    [VK_UIDDB] = "courierimapuiddb",
	    [VK_KEYWORDS] = ":list",
	    [VK_SUBSCRIBED] = "courierimapsubscribed",
	    [VK_POP3LIST] = "courierpop3dsizelist",
	};
	return kind >= VK_UIDDB && kind <= VK_POP3LIST ? names[kind] : "";
}

struct sizelist_pass {
	struct folder *f;
	const uint8_t *flags;
	size_t *len;
	char *list;
};

static void make_sizelist(void *arg) /* counts LFs: reads every message */
{
	struct sizelist_pass *p = arg;
	p->list = mbx_courier_pop3_sizelist(&p->f->file.mb, p->f->file.data, p->flags, p->len);
}

/* Each message under its name of now; pop3d must not list those expunged or
 * moved away, but does those made real in cur/ (same key, same UIDL). */
static char *pop3_sizelist(struct folder *f, size_t *len)
{
	uint8_t *flags = malloc(f->file.mb.nmsgs ? f->file.mb.nmsgs : 1);
	if (!flags)
		return NULL;
	for (uint32_t i = 0; i < f->file.mb.nmsgs; i++)
		flags[i] = message_hidden(f, i) && !message_real(f, i) ? MBX_POP3_OMIT
		                                                       : message_flags(f, i);
	struct sizelist_pass pass = {f, flags, len, NULL};
	if (source_guarded(f, f->file.mb.parsed_size, make_sizelist, &pass) < 0) {
		free(pass.list); /* the mbox shrank: EIO */
		pass.list = NULL;
		errno = EIO;
	}
	free(flags);
	return pass.list;
}

/* virtual_content() for a caller that holds f's view lock: *data stays valid
 * as long as it does. courierimapuiddb and :list are made each time, not
 * kept with the folder (up to 70 bytes per message): a lookup of their name
 * makes a snapshot (control_snapshot.c), which keeps the text while the
 * kernel knows it. */
static int content_locked(struct folder *f, fuse_ino_t id, const char **data, size_t *len,
                          char **owned)
{
	*owned = NULL;
	enum vkind kind = vid_kind(id);
	if (kind == VK_SUBSCRIBED) {
		*data = f->acct->subscribed;
		*len = f->acct->subscribed_len;
		return *data ? 0 : -ENOENT;
	}
	int r = folder_load(f);
	if (r < 0)
		return r;
	if (kind == VK_POP3LIST) { /* changes with every expunge: made per open */
		*data = *owned = pop3_sizelist(f, len);
		return *data ? 0 : errno == EIO ? -EIO : -ENOMEM;
	}
	if (kind == VK_KEYWORDS && !mbx_courier_has_kwlist(&f->file.mb))
		return -ENOENT; /* no keywords, no :list */
	*data = *owned = kind == VK_UIDDB ? mbx_courier_uiddb(&f->file.mb, f->pop3_names, len)
	                                  : mbx_courier_kwlist(&f->file.mb, f->pop3_names, len);
	return *data ? 0 : -ENOMEM;
}

int virtual_content(fuse_ino_t id, const char **data, size_t *len, char **owned)
{
	struct folder *f = folder_by_id(vid_folder(id));
	if (!f)
		return -ENOENT;
	pthread_rwlock_rdlock(&f->view_lock);
	int r = content_locked(f, id, data, len, owned);
	if (r == 0 && !*owned) { /* the account's own: a copy, which the caller frees */
		*owned = malloc(*len ? *len : 1);
		if (*owned)
			memcpy(*owned, *data, *len);
		*data = *owned;
		r = *owned ? 0 : -ENOMEM;
	}
	pthread_rwlock_unlock(&f->view_lock);
	return r;
}

void virtual_fill_attr(struct stat *st, fuse_ino_t id, const struct folder *f)
{
	memset(st, 0, sizeof *st);
	st->st_ino = id;
	st->st_mode = S_IFREG | 0600;
	st->st_nlink = 1;
	st->st_uid = f->acct->uid;
	st->st_gid = f->acct->gid;
	st->st_blksize = 4096;
}

const struct mbx_message *virtual_message(fuse_ino_t id, struct folder **f, int *err)
{
	uint32_t index;
	*f = folder_by_id(vid_folder(id));
	*err = !*f ? -ENOENT : folder_load(*f);
	if (*err == 0 && !folder_index_of_vid(*f, id, &index))
		*err = -ENOENT;
	return *err ? NULL : &(*f)->file.mb.msgs[index];
}

/* virtual_stat() for a caller that holds f's view lock. */
static int stat_locked(struct folder *f, fuse_ino_t id, struct stat *st)
{
	if (vid_kind(id) == VK_MESSAGE) {
		int r;
		const struct mbx_message *m = virtual_message(id, &f, &r);
		if (!m)
			return r;
		/* bytes gone (the old server's file cut short, as last seen): an
		 * open must fail, the kernel asks no more at read (ops_file.c) */
		if (source_message_end(m) > (uint64_t)f->source.st_size)
			return -EIO;
		virtual_fill_attr(st, id, f);
		st->st_size = m->size;
		st->st_mtime = st->st_atime = (time_t)m->date;
		st->st_ctime = (time_t)m->ctime; /* never 0: Courier purges Trash by ctime */
	} else {
		const char *data;
		char *owned;
		size_t len;
		int r = content_locked(f, id, &data, &len, &owned);
		free(owned);
		if (r < 0)
			return r;
		virtual_fill_attr(st, id, f);
		st->st_size = (off_t)len;
		st->st_mtime = st->st_atime = st->st_ctime = fs.started;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

int virtual_stat(fuse_ino_t id, struct stat *st)
{
	if (vid_is_snapshot(id))
		return control_snapshot_stat(id, st);
	struct folder *f = folder_by_id(vid_folder(id));
	if (!f)
		return -ENOENT;
	pthread_rwlock_rdlock(&f->view_lock);
	int r = stat_locked(f, id, st);
	pthread_rwlock_unlock(&f->view_lock);
	return r;
}

/* The virtual object shown as name in a directory of that role, or 0: what
 * virtual_entries() lists, less the check against the upper tree. */
static fuse_ino_t virtual_id_for(enum role role, struct folder *f, const char *name)
{
	uint32_t index;
	enum vkind kind = 0;
	if (role == ROLE_CUR)
		return folder_message_by_name(f, name, &index) && !message_hidden(f, index)
		           ? vid_make(VK_MESSAGE, f->id, f->file.mb.msgs[index].uid)
		           : 0;
	if (role == ROLE_FOLDER && !strcmp(name, "courierimapuiddb"))
		kind = VK_UIDDB;
	else if (role == ROLE_FOLDER && !strcmp(name, "courierpop3dsizelist") && f->pop3_names)
		kind = VK_POP3LIST;
	else if (role == ROLE_FOLDER && !strcmp(name, "courierimapsubscribed") &&
	         f == f->acct->inbox && f->acct->subscribed)
		kind = VK_SUBSCRIBED;
	else if (role == ROLE_KEYWORDS && !strcmp(name, ":list"))
		kind = VK_KEYWORDS;
	/* loaded first: what Courier removed is recorded with the folder */
	return kind && folder_load(f) == 0 && !control_hidden(f, kind) ? vid_make(kind, f->id, 0)
	                                                               : 0;
}

fuse_ino_t virtual_id(enum role role, struct folder *f, const char *name)
{
	if (!f)
		return 0;
	pthread_rwlock_rdlock(&f->view_lock);
	fuse_ino_t id = virtual_id_for(role, f, name);
	pthread_rwlock_unlock(&f->view_lock);
	return id;
}

int virtual_lookup(enum role role, struct folder *f, const char *name, struct fuse_entry_param *e)
{
	if (!f)
		return -ENOENT;
	pthread_rwlock_rdlock(&f->view_lock);
	fuse_ino_t id = virtual_id_for(role, f, name);
	memset(e, 0, sizeof *e);
	/* a control file's attributes are those of its snapshot */
	int r = !id ? -ENOENT : vid_kind(id) == VK_MESSAGE ? stat_locked(f, id, &e->attr) : 0;
	pthread_rwlock_unlock(&f->view_lock);
	if (r < 0)
		return r;
	e->ino = id;
	e->attr.st_ino = id;
	e->attr.st_mode = S_IFREG | 0600;
	e->generation = 1;
	/* immutable while they exist; replacing them goes through this mount */
	e->attr_timeout = e->entry_timeout = 3600.0;
	return 0;
}

/* virtual_entries() for a caller that holds f's view lock. */
static int entries_locked(enum role role, struct folder *f, int (*in_upper)(const char *, void *),
                          void *upper_arg, virtual_entry_fn fn, void *arg)
{
	char name[MBX_NAME_MAX];
	switch (role) {
	case ROLE_CUR:
		if (folder_load(f) < 0)
			return 0; /* logged; the folder shows only real files */
		for (uint32_t i = 0; i < f->file.mb.nmsgs; i++) {
			if (message_hidden(f, i))
				continue;
			folder_message_name(f, i, name);
			if (!in_upper(name, upper_arg) &&
			    fn(name, vid_make(VK_MESSAGE, f->id, f->file.mb.msgs[i].uid), arg))
				return 1;
		}
		return 0;
	case ROLE_FOLDER:
		if (folder_load(f) < 0)
			return 0;
		if (!control_hidden(f, VK_UIDDB) && !in_upper("courierimapuiddb", upper_arg) &&
		    fn("courierimapuiddb", vid_make(VK_UIDDB, f->id, 0), arg))
			return 1;
		if (f->pop3_names && !control_hidden(f, VK_POP3LIST) &&
		    !in_upper("courierpop3dsizelist", upper_arg) &&
		    fn("courierpop3dsizelist", vid_make(VK_POP3LIST, f->id, 0), arg))
			return 1;
		if (f == f->acct->inbox && f->acct->subscribed &&
		    !control_hidden(f, VK_SUBSCRIBED) &&
		    !in_upper("courierimapsubscribed", upper_arg) &&
		    fn("courierimapsubscribed", vid_make(VK_SUBSCRIBED, f->id, 0), arg))
			return 1;
		return 0;
	case ROLE_KEYWORDS: {
		fuse_ino_t id = vid_make(VK_KEYWORDS, f->id, 0);
		/* listed when it exists: made only when looked up */
		int exists = folder_load(f) == 0 && mbx_courier_has_kwlist(&f->file.mb);
		return exists && !control_hidden(f, VK_KEYWORDS) && !in_upper(":list", upper_arg) &&
		       fn(":list", id, arg);
	}
	default:
		return 0;
	}
}

int virtual_entries(enum role role, struct folder *f, int (*in_upper)(const char *, void *),
                    void *upper_arg, virtual_entry_fn fn, void *arg)
{
	if (!f)
		return 0;
	pthread_rwlock_rdlock(&f->view_lock);
	int r = entries_locked(role, f, in_upper, upper_arg, fn, arg);
	pthread_rwlock_unlock(&f->view_lock);
	return r;
}
