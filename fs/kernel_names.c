/* kernel_names.c — whether the kernel still holds every entry of a cur/
 * listing as the node it was given, so that the next listing of that cur/ may
 * give names only.
 *
 * A READDIRPLUS entry carries a node id and attributes, and for each one the
 * kernel looks the name up in its dentry cache and makes or refreshes the
 * dentry and the inode (fs/fuse/readdir.c, fuse_direntplus_link: d_lookup,
 * fuse_change_attributes). For a warm SELECT of an INBOX of 8,032 messages
 * that is most of what separates the mount from a plain maildir (BENCHMARKS.md,
 * "Reads from the page cache"). An entry with node id 0 is a name only: the
 * kernel emits it and leaves its dentries alone. That is right only when what
 * the kernel has for the name is right: a dentry of that name for that same
 * node, or no dentry at all (the open then looks the name up: one request, no
 * error). It would be wrong with a negative dentry for a listed name (opens
 * would fail with ENOENT until it expires) or one for another node.
 *
 * So names only are given for a listing that is the same, name for name and
 * node for node, as the last complete listing given with nodes, when since
 * that one nothing happened that can leave the kernel with such a dentry. The
 * epoch counts what can:
 *  - a lookup in cur/ answered "no such entry" (a negative dentry, cached for
 *    fs.timeout); every rename, link or create in cur/ looks its target up
 *    first, and a name that the old server brings back after Courier renamed
 *    it away is looked up as well before it is opened;
 *  - a FORGET of one of the folder's messages: the inode and its dentries are
 *    gone, which is harmless, but a listing with nodes makes them again at
 *    once instead of one LOOKUP per message at the next FETCH;
 *  - names of cur/ the kernel is told to forget (forget_cur_names).
 * A listing whose names or nodes changed in any other way (an append, a flag
 * change, an expunge, a copy-up) differs from the last one and so gives nodes.
 * The token also changes every REFRESH_SECONDS, so that listings with nodes
 * renew the entry and attribute timeouts of the messages (3600 s) before they
 * run out.
 *
 * Listings give the nodes whenever the kernel may lack them, the first one
 * after the mount included: a node costs the kernel about 1.6 us in the
 * listing and a LOOKUP at open about 50 us, so giving them pays as soon as
 * one message in 30 is opened. Names only from the mount on made the first
 * SELECT of 8,032 messages 13 ms faster and the first ENVELOPE fetch of them
 * 0.4 s slower (BENCHMARKS.md, "First SELECT: names only on the first
 * listing, tried"). prefetch.c makes that first listing before Courier's,
 * when Courier first looks into the folder. */
#include "fs_internal.h"

#include <time.h>
#include <xxhash.h>

#define REFRESH_SECONDS 1800

uint64_t kernel_names_epoch(struct folder *f)
{
	return __atomic_load_n(&f->names_epoch, __ATOMIC_ACQUIRE);
}

void kernel_names_changed(struct folder *f)
{
	if (f)
		__atomic_add_fetch(&f->names_epoch, 1, __ATOMIC_ACQ_REL);
}

void kernel_names_forget(fuse_ino_t id)
{
	if ((id & VIRTUAL_BIT) && vid_kind(id) == VK_MESSAGE)
		kernel_names_changed(folder_by_id(vid_folder(id)));
}

uint64_t kernel_names_seed(uint64_t epoch)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t period = (uint64_t)now.tv_sec / REFRESH_SECONDS;
	return XXH3_64bits_withSeed(&period, sizeof period, epoch);
}

int kernel_names_known(struct folder *f, uint64_t token)
{
	return token && __atomic_load_n(&f->names_listed, __ATOMIC_ACQUIRE) == token;
}

void kernel_names_listed(struct folder *f, uint64_t token)
{
	__atomic_store_n(&f->names_listed, token, __ATOMIC_RELEASE);
}
