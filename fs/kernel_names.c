/* kernel_names.c — whether a listing of cur/ may give its messages as names
 * only, without their nodes.
 *
 * A READDIRPLUS entry carries a node id and attributes, and for each one the
 * kernel looks the name up in its dentry cache and makes or refreshes the
 * dentry and the inode (fs/fuse/readdir.c, fuse_direntplus_link: d_lookup,
 * d_alloc_parallel, fuse_iget, fuse_change_attributes): most of a first
 * SELECT after a mount, and 5.6 ms of a warm SELECT of 8,032 messages
 * (BENCHMARKS.md, "First SELECT: the first listing of cur/ as names only",
 * "Reads from the page cache"). An entry with node id 0 is a name only: the
 * kernel emits it and leaves its dentries alone; an open of the name then
 * looks it up (one request, for the messages Courier opens, not for every
 * listed one: a client that cached its headers opens none).
 *
 * Names only are right when what the kernel has for each listed name is
 * right: a dentry of that name for the message's node, or no dentry at all.
 * A message's name names its node for good (the name holds the UID, the
 * node id is made from the UID, vid_make()). What can leave the kernel with
 * another dentry for a listed name counts in the folder's epoch:
 *  - a lookup in cur/ answered "no such entry" (a negative dentry, cached for
 *    fs.timeout); every rename, link or create in cur/ looks its target up
 *    first, and a name that the old server brings back after Courier renamed
 *    it away is looked up as well before it is opened;
 *  - names of cur/ the kernel is told to forget (forget_cur_names): the old
 *    server renamed or removed them, or materialize made them real files.
 * A real file of the upper tree is always given with its node. So a listing
 * gives names only while the epoch is the one at which the kernel was last
 * known to hold no wrong dentry of cur/: at the mount (it held none), or when
 * a listing made at that epoch gave every message with its node, which
 * replaces whatever the kernel had. A listing made at another epoch gives the
 * nodes; so does the rest of one during which the epoch moves. */
#include "fs_internal.h"

uint64_t kernel_names_epoch(struct folder *f)
{
	return __atomic_load_n(&f->names_epoch, __ATOMIC_ACQUIRE);
}

void kernel_names_changed(struct folder *f)
{
	if (f)
		__atomic_add_fetch(&f->names_epoch, 1, __ATOMIC_ACQ_REL);
}

int kernel_names_clean(struct folder *f, uint64_t epoch)
{
	return __atomic_load_n(&f->names_clean, __ATOMIC_ACQUIRE) == epoch;
}

void kernel_names_cleaned(struct folder *f, uint64_t epoch)
{
	__atomic_store_n(&f->names_clean, epoch, __ATOMIC_RELEASE);
}
