/* changes.c — Courier's renames and unlinks of virtual objects, and what each
 * becomes (DESIGN.md, "The upper tree and writes"):
 *   - a flag change (a rename within the folder's cur/ that keeps the key and
 *     writes the flags as Courier does, D F R S T) is an "f" record: the
 *     message stays virtual under its new name, nothing is copied;
 *   - an expunge (unlink) is a "u" record, Courier removing a generated
 *     control file a "c" record;
 *   - anything a record cannot express (a move to another folder, a control
 *     file renamed) is a copy-up (copyup.c) between an intent and its done
 *     record.
 * Each holds the folder's change_lock and first checks, under it, that the
 * object is still there under that name: two sessions renaming one message
 * get what a real file system gives, one success and one ENOENT. */
#include "fs_internal.h"
#include "name.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The message a name in cur/ shows now, under change_lock: 0, -ENOENT, or
 * -EAGAIN when it became a real file under its key meanwhile. */
static int still_there(struct folder *f, uint32_t index, const char *name)
{
	char now[MBX_NAME_MAX];
	if (message_hidden(f, index))
		return message_real(f, index) ? -EAGAIN : -ENOENT;
	folder_message_name(f, index, now);
	return strcmp(now, name) ? -ENOENT : 0;
}

/* Where newname in newdir keeps the message's key in its cur/: the length of
 * the key, or 0. */
static size_t keeps_key(struct folder *f, uint32_t index, const struct inode *newdir,
                        const char *newname)
{
	char key[MBX_NAME_MAX];
	size_t n =
	    mbx_message_key(f->file.mb.uidvalidity, &f->file.mb.msgs[index], f->pop3_names, key);
	struct folder *newdir_folder;
	return inode_place(newdir, &newdir_folder) == ROLE_CUR && newdir_folder == f &&
	               !strncmp(newname, key, n) && (newname[n] == ':' || !newname[n])
	           ? n
	           : 0;
}

/* The flags a rename of a message to newname in newdir sets, if that is a
 * flag change Courier's way: same cur/, same key, ":2," and the letters as
 * Courier writes them (reference/courier-imap-maildir.md 2.2). 1 and
 * *flags, or 0. */
static int flag_change(struct folder *f, uint32_t index, const struct inode *newdir,
                       const char *newname, uint8_t *flags)
{
	size_t n = keeps_key(f, index, newdir, newname);
	return n && !strncmp(newname + n, ":2,", 3) &&
	       mbx_parse_flag_letters(newname + n + 3, flags) == 0;
}

/* Copies a virtual object up as newdir/newname and hides it, each step
 * durable before the next (a message: intent, copy, done record). */
static int copy_up_recorded(fuse_ino_t id, struct folder *f, struct inode *newdir,
                            const char *newname, unsigned int flags)
{
	if (vid_kind(id) != VK_MESSAGE) {
		int r = copy_up(id, newdir, newname, flags);
		return r ? r : fstate_control_removed(f, vid_kind(id));
	}
	uint32_t index;
	if (!folder_index_of_vid(f, id, &index))
		return -ENOENT;
	/* a copy that keeps the key in this cur/ lives on as the same message */
	char done = keeps_key(f, index, newdir, newname) ? 'k' : 'u';
	char *target = inode_child_path(newdir, newname);
	if (!target)
		return -ENOMEM;
	int r = fstate_copy_intents(f, 1, &index, done, (const char *const *)&target, 1);
	if (r == 0)
		r = copy_up(id, newdir, newname, flags);
	if (r == 0)
		r = fstate_copied(f, 1, &index, done, 0);
	free(target);
	return r;
}

int virtual_rename(fuse_ino_t id, const char *name, struct inode *newdir, const char *newname,
                   unsigned int flags)
{
	struct folder *f = folder_by_id(vid_folder(id));
	int r = f ? folder_load(f) : -ENOENT; /* what Courier removed is recorded with it */
	if (r < 0)
		return r;
	if (flags & ~RENAME_NOREPLACE)
		return -EINVAL; /* RENAME_EXCHANGE needs an upper file on both sides */
	pthread_mutex_lock(&f->change_lock);
	uint32_t index = 0;
	uint8_t new_flags;
	if (vid_kind(id) != VK_MESSAGE)
		r = control_hidden(f, vid_kind(id)) ? -ENOENT : 0;
	else
		r = folder_index_of_vid(f, id, &index) ? still_there(f, index, name) : -ENOENT;
	if (r == 0 && vid_kind(id) == VK_MESSAGE &&
	    flag_change(f, index, newdir, newname, &new_flags))
		r = fstate_set_flags(f, index, new_flags);
	else if (r == 0)
		r = copy_up_recorded(id, f, newdir, newname, flags);
	pthread_mutex_unlock(&f->change_lock);
	return r;
}

int virtual_unlink(fuse_ino_t id, const char *name)
{
	struct folder *f = folder_by_id(vid_folder(id));
	int r = f ? folder_load(f) : -ENOENT;
	if (r < 0)
		return r;
	pthread_mutex_lock(&f->change_lock);
	uint32_t index;
	if (vid_kind(id) != VK_MESSAGE)
		r = control_hidden(f, vid_kind(id)) ? -ENOENT
		                                    : fstate_control_removed(f, vid_kind(id));
	else if (!folder_index_of_vid(f, id, &index))
		r = -ENOENT;
	else if ((r = still_there(f, index, name)) == 0)
		r = fstate_expunge(f, index);
	pthread_mutex_unlock(&f->change_lock);
	return r;
}
