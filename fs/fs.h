/* fs.h — the mboxfs FUSE daemon.
 *
 * Contract: fs_main() mounts the merged tree at cfg->mountpoint and serves it
 * until unmounted or signalled (SIGTERM, SIGINT: clean unmount; SIGHUP reads
 * the account map again, as MBOXFS_RELOAD_XATTR). The
 * upper tree (cfg->upper_dir, default the mount point itself, opened before
 * mounting) holds every real file; each account of the map gets, lazily, a
 * Maildir++ skeleton there, and the messages of its old mboxes appear as
 * virtual files in cur/ together with virtual Courier control files. The
 * source mboxes are only ever opened read-only.
 */
#ifndef MBOXFS_FS_H
#define MBOXFS_FS_H

/* On the mount, a virtual object (an old message not yet in the upper tree,
 * a generated control file) has bit 63 of its inode number set.
 * On a folder directory (a maildir or its .Folder), setting
 * MBOXFS_MATERIALIZE_XATTR writes one batch of the folder's virtual objects to
 * the upper tree under their names (the value: at most that many bytes of
 * messages, in decimal; empty: the default batch); it fails with ENODATA when
 * nothing virtual is left. Reading MBOXFS_PENDING_XATTR there gives
 * "<messages> <bytes> <control files>\n" still virtual. */
#define MBOXFS_VIRTUAL_INO       (1ULL << 63)
#define MBOXFS_MATERIALIZE_XATTR "user.mboxfs.materialize"
#define MBOXFS_PENDING_XATTR     "user.mboxfs.pending"
/* On the mount root: "<bytes left> <bytes whole>\n" of the state directory's
 * journal reserve (fs/journal.h), which journals use when the disk is full. */
#define MBOXFS_RESERVE_XATTR "user.mboxfs.reserve"
/* On the mount root: setting it reads the account map again (`mboxfs reload`;
 * fails with EINVAL for a bad map, EBUSY when an account to retire still has
 * virtual objects, and then nothing changes); reading it says what the last
 * reload did, in words. */
#define MBOXFS_RELOAD_XATTR "user.mboxfs.reload"

struct fs_config {
	const char *map_path;
	const char *state_dir;
	const char *upper_dir; /* NULL: the mount point itself */
	const char *mountpoint;
	const char *fuse_opts; /* extra -o options, or NULL */
	const char *accounts;  /* materialize --offline: only these (account_matches) */
	int foreground;
	int debug;
	/* `mboxfs verify`: set up without a mount and write nothing anywhere: no
	 * lock, no reserve, no state directory made, no index or journal written,
	 * nothing made or cleaned in the upper tree (fs_internal.h, fs.readonly) */
	int readonly;
};

/* Returns the process exit status. */
int fs_main(const struct fs_config *cfg);

/* `mboxfs materialize --offline`: without a mount, writes every object the
 * mount would show at cfg->upper_dir (Courier's mail root, with whatever a
 * mount left there) as real files, with jobs threads; a progress line on
 * stderr when progress is set. Resumable after an interruption. Returns the
 * process exit status. */
int fs_materialize_offline(const struct fs_config *cfg, int jobs, int progress);

/* `mboxfs verify`: the mail root at cfg->upper_dir (a plain tree, or a live
 * mount of the same map and state) against what a mount over cfg->state_dir
 * shows, i.e. what `materialize --offline` would write, for the accounts whose
 * maildir matches account_pattern (fnmatch; NULL: all). Writes nothing and
 * takes no lock (cfg->readonly is set). Each difference goes to fn with the
 * file it concerns (a path below cfg->upper_dir as given). With
 * allow_changes, what Courier's users may do to materialized messages (flags,
 * keywords, subscriptions, expunges) is not a difference. Returns 0 with the
 * totals, or -1 when it could not run (said on stderr). */
struct fs_verify_difference {
	const char *account; /* maildir of the map */
	const char *folder;  /* Courier's name: INBOX, INBOX.Sent */
	const char *file;
	const char *problem;
};
struct fs_verify_totals {
	unsigned long long accounts, folders, messages, differences;
};
typedef void (*fs_verify_fn)(const struct fs_verify_difference *d, void *arg);
int fs_verify(struct fs_config *cfg, const char *account_pattern, int allow_changes,
              fs_verify_fn fn, void *arg, struct fs_verify_totals *totals);

#endif
