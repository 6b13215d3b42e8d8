/* fs_internal.h — state shared by the modules of the FUSE daemon.
 *
 * Node ids: a real object of the upper tree is a struct inode (its address is
 * the node id, as in libfuse's passthrough_hp); a virtual object (a message of
 * an mbox, a generated control file) carries everything in the id itself, with
 * bit 63 set, so virtual objects cost no memory and need no forget.
 *   bit 63     virtual
 *   bits 56-62 kind (enum vkind)
 *   bits 32-55 folder id
 *   bits 0-31  message UID (messages); for control files, the generation of
 *              their bytes (control_snapshot.c), or 0 for the file itself
 * The same value is the object's st_ino: stable for the life of the mount,
 * also when the old server changes the mbox (a UID names one message).
 */
#ifndef MBOXFS_FS_INTERNAL_H
#define MBOXFS_FS_INTERNAL_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "account_map.h"
#include "fs.h"
#include "journal.h"
#include "source.h"
#include "store.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#define VIRTUAL_BIT MBOXFS_VIRTUAL_INO

enum vkind {
	VK_MESSAGE = 1,    /* cur/<stable name> */
	VK_UIDDB = 2,      /* courierimapuiddb */
	VK_KEYWORDS = 3,   /* courierimapkeywords/:list */
	VK_SUBSCRIBED = 4, /* courierimapsubscribed (account root) */
	VK_POP3LIST = 5,   /* courierpop3dsizelist (INBOX with uw-ipop3d names) */
};

/* What a real directory is for Courier; decides which virtual entries it shows. */
enum role {
	ROLE_NONE,
	ROLE_FOLDER,   /* a maildir: the account root (INBOX) or .Folder */
	ROLE_CUR,      /* its cur/ */
	ROLE_KEYWORDS, /* its courierimapkeywords/ */
	ROLE_TMP,      /* its tmp/: nothing virtual, but refused when the folder
	                  is not served (Courier and deliveries then stop there) */
};

struct account_rt;

/* One old mbox served as one Courier folder. */
struct folder {
	uint32_t id;
	struct account_rt *acct;
	char *mbox_path;
	char *key;           /* state key: "<maildir>:<UW name or INBOX>" */
	const char *uw_name; /* in key: the UW folder name */

	char *dirpath;  /* the folder's directory, relative to the upper root */
	int pop3_names; /* INBOX with uw-ipop3d names */

	pthread_mutex_t lock; /* guards loading and the generated files */
	/* one change of the folder's old objects at a time (a flag change, an
	 * expunge, a copy-up, a materialize batch), so that two of them never
	 * both happen to one message and a compaction never drops an intent */
	pthread_mutex_t change_lock;
	struct folder *next_in_account;
	int loaded;       /* 1 ok, -1 failed (logged once, tried again later) */
	time_t failed_at; /* when it last failed */
	/* file, by_uid and mstate are replaced whole when the old server
	 * changes the mbox (refresh.c): read them under this lock (read), or
	 * under change_lock, which a refresh takes first */
	pthread_rwlock_t view_lock;
	struct stat source; /* the mbox as it was when loaded */
	int diverged;       /* changed as c-client never changes it: not served */
	struct mbx_file file;
	/* UID lookups are binary searches: over the messages themselves when
	 * their UIDs ascend (uids_ascend, the usual case), else over by_uid,
	 * their indexes in UID order (no hash table: 8 bytes per message) */
	int uids_ascend;
	uint32_t *by_uid;
	/* courierimapuiddb and :list are made from file.mb alone, when a lookup
	 * of their name finds no snapshot of this view (control_snapshot.c):
	 * their text lives only in the snapshots, for as long as the kernel
	 * knows them. view_gen changes with every new file (load, refresh),
	 * atomic. */
	uint32_t view_gen;
	struct journal journal; /* what Courier changed, see journal.h */
	/* byte per message, MS_* (atomic access); NULL until the folder's first
	 * change (folder_state.c): most folders are only read */
	uint8_t *mstate;
	unsigned control_hidden; /* bit per enum vkind: removed by Courier */
	/* the node id of each control file's newest snapshot, or 0 (guarded by
	 * control_snapshot.c's lock) */
	fuse_ino_t control_now[VK_POP3LIST + 1];
	/* what the kernel was given of cur/ (kernel_names.c), atomic: events
	 * that may have left it without a listed message's node, and the token
	 * of the last complete listing of cur/ given with nodes (0: none) */
	uint64_t names_epoch;
	uint64_t names_listed;
	/* its cur/ was listed ahead of Courier (prefetch.c), atomic */
	int listed_ahead;
	/* the indexes [lo, hi) of the last messages pushed to the page cache
	 * (prefetch.c; only its thread uses them) */
	uint32_t prefetch_lo, prefetch_hi;
};

/* An account of the map, initialised on first use. */
struct account_rt {
	const struct account *a;
	uid_t uid;
	gid_t gid;
	struct src_rights rights; /* what its sources are read with (source.h) */
	pthread_mutex_t lock;
	int ready;      /* skeleton made, folders known (1), failed (-1) */
	int retired;    /* taken out of the map by a reload: its maildir is plain */
	int root_ready; /* its maildir directory made (account_root_ready) */
	struct folder *inbox;
	struct folder *folders; /* all of them, linked by next_in_account */
	char *subscribed;       /* generated courierimapsubscribed */
	size_t subscribed_len;
	struct journal folder_journal; /* RENAME and DELETE of old folders */
};

/* What an inode's fd is open for, in order: a file opened read-only is
 * opened again read-write for a write. IO_APPEND: read-write with O_APPEND,
 * the only way an append-only file (chattr +a) opens for writing. */
enum io_mode { IO_PATH, IO_RDONLY, IO_APPEND, IO_RDWR };

/* A real object of the upper tree. */
struct inode {
	/* O_PATH, as looked up; a regular file's is replaced in place (same
	 * number, dup3) by an fd opened for reads and writes at their first use
	 * (inode_io_fd), so that a file costs one fd, not two */
	int fd;
	int io_mode; /* what fd is open for: enum io_mode (atomic) */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup; /* guarded by fs.lock */
	/* directories: path below the upper root ("" = root); set once, replaced
	 * by renames: read and written under fs.lock (inode_child_path) */
	char *path;
	uintptr_t place;    /* role and folder: inode_place() */
	struct inode *next; /* hash chain */
};

/* A directory's role and its folder (or NULL) are one word, the folder's
 * address ORed with the role (folders are malloc'ed: their low bits are 0).
 * A lookup may change them under fs.lock while requests in that directory
 * read them without it: one atomic word, so that no reader sees the role of
 * one folder with another folder. */
#define ROLE_BITS 7u
_Static_assert(ROLE_TMP <= ROLE_BITS && _Alignof(struct folder) > ROLE_BITS,
               "a role fits below a folder's address");

static inline void inode_set_place(struct inode *in, enum role role, struct folder *folder)
{
	__atomic_store_n(&in->place, (uintptr_t)folder | (uintptr_t)role, __ATOMIC_RELEASE);
}

/* The role of directory in, and its folder in *folder (NULL if it has none). */
static inline enum role inode_place(const struct inode *in, struct folder **folder)
{
	uintptr_t place = __atomic_load_n(&in->place, __ATOMIC_ACQUIRE);
	*folder = (struct folder *)(place & ~(uintptr_t)ROLE_BITS);
	return (enum role)(place & ROLE_BITS);
}

struct fs {
	int upper_fd;
	const char *state_dir;
	const char *map_path;         /* absolute: reloads read it again */
	struct account_map map;       /* as loaded at start (reloads keep theirs) */
	struct account_rt **accounts; /* every account ever served, guarded by lock */
	size_t naccounts, accounts_cap;
	uid_t default_uid;
	gid_t default_gid;
	double timeout; /* entry/attr timeout of real objects */
	int no_open;    /* the kernel opens files without asking (ops_file.c) */
	time_t started; /* times of generated control files */
	int foreground;
	struct fuse_session *se; /* NULL without a mount (offline materialize) */
	char *mount_path;        /* absolute, NULL without a mount (prefetch.c) */
	int state_lock_fd;       /* flock()ed: one mount or offline run per state */
	/* fs_config.readonly (verify): the state and the upper tree are only read;
	 * every place that would write checks it, and journals refuse appends */
	int readonly;

	pthread_mutex_t lock; /* inodes, places, folders */
	struct inode root;
	struct inode **buckets;
	size_t nbuckets, ninodes;
	struct place **places; /* path -> what it is, see places.c */
	size_t nplaces_buckets, nplaces;
	struct folder **folders; /* by id */
	size_t nfolders, folders_cap;
};

extern struct fs fs;

/* malloc_tune.c: glibc's malloc set for a long-running daemon; runs the
 * program again (exec) to do so: call it first, before anything is opened. */
void fs_malloc_tune(void);

/* fs_main.c: loads the map, locks the state directory, opens the upper tree
 * (cfg->upper_dir, else cfg->mountpoint); errors go to stderr after who. */
int fs_setup(const struct fs_config *cfg, const char *who);

/* inode.c: the table of real objects */
struct inode *inode_of(fuse_ino_t ino);                 /* NULL for virtual ids */
struct inode *inode_get(int fd, const struct stat *st); /* takes fd; nlookup++ */
void inode_forget(struct inode *in, uint64_t n);
/* The inode's fd, open for reading (read-write unless the file cannot be
 * opened so: EROFS, EACCES, ETXTBSY, EPERM), for reads, fsync and whatever
 * else in->fd serves; or -errno. Kept until the kernel forgets the file. */
int inode_io_fd(struct inode *in);
/* The same, open read-write (a file opened read-only before is opened again),
 * or -errno: why the file cannot be written. An append-only file is written
 * only by an open with O_APPEND (open_flags), through an fd that appends
 * whatever the offset, as the file system itself would have it; any other
 * write of it is refused with EPERM. */
int inode_write_fd(struct inode *in, int open_flags);
/* fd (read-write, of the same file) as the inode's fd, unless that is
 * read-write already; fd is closed either way. */
void inode_adopt_io_fd(struct inode *in, int fd);
void inode_table_init(void);

/* places.c: directories that matter (account roots, folders, cur/, prefixes) */
void places_init(size_t naccounts);
/* An account's maildir and the directories on the way to it; a retired
 * account's taken out. Caller holds fs.lock. */
int places_add_account(struct account_rt *acct);
void places_remove_account(const struct account_rt *acct);
/* Makes sure the accounts that live at or below dir_path are ready, and
 * returns the role and folder of dir_path. */
enum role place_of(const char *dir_path, struct folder **folder);
int place_add(const char *path, enum role role, struct folder *folder);

/* accounts.c: lazy account set-up and folder loading */
/* A new account of the map a (which must outlive it), served from now on. */
struct account_rt *account_add(const struct account *a);
int account_ready(struct account_rt *acct);
/* accounts.c: only the account's maildir directory made in the upper
 * tree, without reading any source (for the directories above maildirs,
 * which must never wait for one account's sources). 0, or -errno. */
int account_root_ready(struct account_rt *acct);
/* Objects of the account still virtual (0: it can leave the map), or
 * -errno when that cannot be known (a folder that does not load). */
long account_virtual(struct account_rt *acct);
/* Takes the account out of the mount: its maildir becomes plain. */
void account_retire(struct account_rt *acct);
int folder_load(struct folder *f); /* 0, or -errno */
/* Replaces the folder's view with file (a newer open of its mbox), under
 * change_lock: the journal applied to it again. 0 or -errno. */
int folder_swap_view(struct folder *f, struct mbx_file *file, const struct stat *source);
/* 1 if name in a directory of that role of folder f (may be NULL) belongs to
 * a folder that cannot be loaded: it is not served (EIO), never served empty
 * (Courier would give the folder a UIDVALIDITY of its own). */
int folder_unservable(enum role role, struct folder *f, const char *name);
void folder_unload(struct folder *f); /* frees what folder_load() made */
/* The directory of a folder with that role, below the folder's own ("" for
 * ROLE_FOLDER, "/cur", "/courierimapkeywords"). */
const char *folder_subdir(enum role role);
struct folder *folder_by_id(uint32_t id);
const struct mbx_message *folder_message_by_name(struct folder *f, const char *name,
                                                 uint32_t *index);
/* The index of the message a virtual id names in a loaded folder: 1, or 0. */
int folder_index_of_vid(const struct folder *f, fuse_ino_t id, uint32_t *index);
size_t folder_message_name(const struct folder *f, uint32_t index, char *buf);
int folder_index_of_uid(const struct folder *f, uint32_t uid, uint32_t *index);

/* folder_state.c: what Courier changed of a folder's old objects, in memory
 * (a byte per message) and in the folder's journal. */
#define MS_FLAGS     0x1f          /* MBX_SEEN ... MBX_DRAFT, when MS_FLAGS_SET */
#define MS_FLAGS_SET 0x20          /* flags changed: listed under another name */
#define MS_HIDDEN    0x40          /* expunged, moved away, or real (MS_REAL) */
#define MS_REAL      0x80          /* lives on as a real file of cur/ with its key */
int fstate_load(struct folder *f); /* at folder load, under f->lock */
void fstate_unload(struct folder *f);
uint8_t message_flags(const struct folder *f, uint32_t index); /* as its name shows them */
int message_hidden(const struct folder *f, uint32_t index);
int message_real(const struct folder *f, uint32_t index);
int control_hidden(const struct folder *f, enum vkind kind);
/* Changes, each recorded before it returns; the caller holds change_lock. */
int fstate_set_flags(struct folder *f, uint32_t index, uint8_t flags);
int fstate_expunge(struct folder *f, uint32_t index);
int fstate_control_removed(struct folder *f, enum vkind kind);
/* A copy of n messages: the intents (targets[i] is the path of the copy
 * below the upper root), durable when this returns if durable is set (else
 * only written: the caller makes them durable, e.g. by a syncfs of the
 * journal's filesystem, before any copy exists); then, once the copies are in
 * place and durable, the done records ('u' moved away, 'k' real in cur/),
 * with a "c" record for each control file kind in the controls bit mask. */
int fstate_copy_intents(struct folder *f, size_t n, const uint32_t *indexes, char done,
                        const char *const *targets, int durable);
int fstate_copied(struct folder *f, size_t n, const uint32_t *indexes, char done,
                  unsigned controls);
/* fstate_copied() in two steps, for copies whose renames are made durable
 * later (the offline groups of materialize.c): in memory when the renames are done, then the
 * done records once they are durable. Compaction (which writes the state of
 * memory and drops intents) only with may_compact: when no intent of f is
 * waiting and everything marked is durable. */
int fstate_prepare(struct folder *f); /* 0, or -ENOMEM; before fstate_mark_copied */
void fstate_mark_copied(struct folder *f, size_t n, const uint32_t *indexes, char done,
                        unsigned controls);
int fstate_record_copied(struct folder *f, size_t n, const uint32_t *indexes, char done,
                         unsigned controls, int may_compact);

/* folder_log.c: RENAME and DELETE of old folders, in the account's journal */
int folder_log_append(struct account_rt *acct, char op, const char *uw_name, const char *dir);
int folder_log_lookup(struct account_rt *acct, const char *uw_name, char **dir);
/* accounts.c: follow a RENAME or DELETE of a folder directory */
int folder_renamed(const char *old_path, const char *new_path);
int folder_deleted(const char *path);
/* inode.c */
/* The node id the kernel knows a real object by, or 0. */
fuse_ino_t inode_known(dev_t dev, ino_t ino);
void inode_rename_paths(const char *old_path, const char *new_path);
/* The directories of folder f are plain from now on (a retired account). */
void inode_drop_folder(const struct folder *f);
/* The path below the upper root of dir's child name (malloc'ed), or NULL;
 * name "" gives dir's own path. */
char *inode_child_path(const struct inode *dir, const char *name);

/* copyup.c: a virtual object written as a real file of the upper tree */
/* Its bytes and attributes (owner, mode 0600, INTERNALDATE as mtime) to fd,
 * not synced. */
int copy_up_fill(fuse_ino_t id, int fd);
/* Through a temporary dot file in dir: filled, fsync()ed, renamed to name
 * (flags as renameat2), dir fsync()ed. */
int copy_up(fuse_ino_t id, struct inode *dir, const char *name, unsigned int flags);
/* A temporary name in a directory, never a maildir message name. */
void copy_up_tmp_name(char buf[64]);
/* Removes the temporary files that another process (a run that crashed)
 * left in a directory. */
void copy_up_clean(int dir_fd);

/* refresh.c: the old server's changes to a folder's mbox, followed at each
 * listing of its cur/ (one stat). Names of cur/ that went away or changed
 * are added to stale (the kernel must forget them). */
struct name_list {
	char **names;
	size_t n;
};
void folder_refresh(struct folder *f, struct name_list *stale);
/* 1 if the open mbox is no longer what the folder shows (cheap: one fstat). */
int folder_source_changed(struct folder *f);
/* folder_refresh() when asked (always) or when the open mbox changed, the
 * kernel then told to forget the stale names. f may be NULL. */
void folder_follow(struct folder *f, int always);
void name_list_free(struct name_list *l);

/* reload.c: the account map read again on a live mount. 0, or -EINVAL (a bad
 * map), -EBUSY (an account to retire still has virtual objects), -ENOMEM;
 * nothing changes unless 0. What happened, in words, goes to text. */
int fs_reload(char *text, size_t len);
void fs_reload_result(char *text, size_t len); /* of the last reload */
/* SIGHUP reloads (after fuse_set_signal_handlers, which would unmount). */
int reload_on_sighup(void);
void reload_stop(void);

/* changes.c: Courier's renames and unlinks of virtual objects. 0, -errno,
 * or -EAGAIN when the object became a real file meanwhile (materialize): the
 * caller repeats the operation on the upper tree. */
int virtual_rename(fuse_ino_t id, const char *name, struct inode *newdir, const char *newname,
                   unsigned int flags);
int virtual_unlink(fuse_ino_t id, const char *name);

/* materialize.c: virtual objects made real under their own names */
struct materialized {
	uint64_t messages, bytes, controls;
	char **names; /* of cur/ messages made real, when asked for (else NULL) */
	size_t nnames;
};
/* One batch of a folder's virtual objects, at most about max_bytes of
 * messages (0: no limit), its messages before its control files, the control
 * files only once no message is left: written and synced as a group (as in
 * journal.h, durable before it returns). Adds to *done (names too, if
 * want_names). 0 if it wrote something, -ENODATA if nothing was left, or
 * -errno (logged). */
int materialize_batch(struct folder *f, uint64_t max_bytes, int want_names,
                      struct materialized *done);
void materialized_free(struct materialized *done);
/* Offline only (nothing else changes the folders): every virtual object of
 * folder after folder, written in groups of many folders that share one
 * syncfs (see materialize.c). mat_group_add() loads f and hands it back to
 * the group, which unloads it once its last copies are recorded; 0 or -errno
 * (logged; what f had in the group is dropped). mat_group_finish() syncs and
 * records the rest: 0 or -errno. What was written is counted in
 * *mat_group_done(g) (the caller may read and reset it). */
struct mat_group;
struct mat_group *mat_group_new(void);
struct materialized *mat_group_done(struct mat_group *g);
int mat_group_add(struct mat_group *g, struct folder *f);
int mat_group_finish(struct mat_group *g);
void mat_group_free(struct mat_group *g);
/* What of a folder is still virtual. */
int materialize_pending(struct folder *f, uint64_t *messages, uint64_t *bytes, uint64_t *controls);

/* virtual.c: ids, attributes and contents of virtual objects */
static inline fuse_ino_t vid_make(enum vkind kind, uint32_t folder, uint32_t index)
{
	return VIRTUAL_BIT | ((uint64_t)kind << 56) | ((uint64_t)(folder & 0xffffff) << 32) | index;
}
static inline enum vkind vid_kind(fuse_ino_t id)
{
	return (enum vkind)((id >> 56) & 0x7f);
}
static inline uint32_t vid_folder(fuse_ino_t id)
{
	return (uint32_t)((id >> 32) & 0xffffff);
}
static inline uint32_t vid_uid(fuse_ino_t id)
{
	return (uint32_t)id;
}
/* Lookup of name in a real directory of role/folder where the upper tree has no
 * such entry. Returns 0 and fills e, or -errno. */
int virtual_lookup(enum role role, struct folder *f, const char *name, struct fuse_entry_param *e);
/* The id virtual_lookup() gives, also for a message whose bytes are gone,
 * or 0. */
fuse_ino_t virtual_id(enum role role, struct folder *f, const char *name);
int virtual_stat(fuse_ino_t id, struct stat *st);
/* What every virtual object's attributes share: id, mode 0600, the account's
 * owner. */
void virtual_fill_attr(struct stat *st, fuse_ino_t id, const struct folder *f);
/* The file name of a generated control file ("" for messages). */
const char *control_file_name(enum vkind kind);
/* The old message a virtual id names, with its (loaded) folder; NULL with
 * *err = -errno if there is none. The caller holds the folder's view lock
 * (read) or its change_lock while it uses the message. */
const struct mbx_message *virtual_message(fuse_ino_t id, struct folder **f, int *err);
/* The bytes of a generated control file: kept by the folder or account, or,
 * when *owned is set, made for this call (the caller frees *owned). */
int virtual_content(fuse_ino_t id, const char **data, size_t *len, char **owned);
/* control_snapshot.c: generated control files as immutable inodes, one per
 * content they take (see there). */
/* e holds a control file's id (as virtual_lookup gives it): follows the old
 * server, then replaces it with the node of the file's bytes of now, counted
 * as one lookup, with its attributes and timeouts. 0 or -errno. */
int control_snapshot_entry(struct fuse_entry_param *e);
int control_snapshot_stat(fuse_ino_t id, struct stat *st); /* -ESTALE if forgotten */
/* A copy of bytes [off, off+size) of a snapshot (*n of them), or NULL (errno). */
char *control_snapshot_read(fuse_ino_t id, off_t off, size_t size, size_t *n);
void control_snapshot_forget(fuse_ino_t id, uint64_t n);
static inline int vid_is_snapshot(fuse_ino_t id)
{
	return (id & VIRTUAL_BIT) && vid_kind(id) != VK_MESSAGE && vid_uid(id) != 0;
}

/* Calls fn for every virtual entry of a directory that the upper tree lacks. */
typedef int (*virtual_entry_fn)(const char *name, fuse_ino_t id, void *arg);
int virtual_entries(enum role role, struct folder *f, int (*in_upper)(const char *, void *),
                    void *upper_arg, virtual_entry_fn fn, void *arg);

/* kernel_names.c: whether a listing of cur/ may give names only, without
 * nodes (see there). A listing reads the epoch before it is made, and makes
 * its token from its entries with kernel_names_seed(epoch); it may give names
 * only while kernel_names_known(f, token) held when it was made and the epoch
 * is unchanged; a complete listing given with nodes is recorded with
 * kernel_names_listed(). */
uint64_t kernel_names_epoch(struct folder *f);
uint64_t kernel_names_seed(uint64_t epoch);
int kernel_names_known(struct folder *f, uint64_t token);
void kernel_names_listed(struct folder *f, uint64_t token);
/* The kernel may hold a negative or no dentry for a name of f's cur/ (f may
 * be NULL): called before the reply that lets it. */
void kernel_names_changed(struct folder *f);
/* A FORGET of node id (any node: only messages count). */
void kernel_names_forget(fuse_ino_t id);

/* prefetch.c: a read at offset 0 of message index of f asks for the messages
 * after it to be pushed into the page cache by the prefetch thread, which
 * runs between prefetch_start() and prefetch_stop() (see there); the first
 * lookup in f's directory asks it to list f's cur/ through the mount, once
 * per mount. */
void prefetch_after(struct folder *f, uint32_t index);
void prefetch_listing(struct folder *f);
int prefetch_start(void);
void prefetch_stop(void);

/* ops_entry.c: lookup in the merged tree, shared by the operations that
 * create an entry. Returns 0 and fills e (a real entry counts as a lookup), or
 * -errno. */
int merged_lookup(fuse_ino_t parent, const char *name, struct fuse_entry_param *e);
/* Makes the kernel look names of f's cur/ up again, soon: told from a thread
 * of its own, so that any request may call it. */
void forget_cur_names(struct folder *f, char *const *names, size_t n);
void forget_cur_names_drain(void); /* before the session goes */
/* "/proc/self/fd/N" of an O_PATH fd, for calls that need a real path */
void proc_path(int fd, char buf[64]);

/* ops_*.c: the FUSE operations, one group per file */
void ops_entry_fill(struct fuse_lowlevel_ops *ops);
void ops_dir_fill(struct fuse_lowlevel_ops *ops);
void ops_file_fill(struct fuse_lowlevel_ops *ops);

/* Logs to stderr (or syslog when daemonised). */
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same at notice level: the daemon's start and stop, for the journal. */
void fs_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
