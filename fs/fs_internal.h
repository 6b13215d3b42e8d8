/* fs_internal.h — state shared by the modules of the FUSE daemon.
 *
 * Node ids: a real object of the upper tree is a struct inode (its address is
 * the node id, as in libfuse's passthrough_hp); a virtual object (a message of
 * an mbox, a generated control file) carries everything in the id itself, with
 * bit 63 set, so virtual objects cost no memory and need no forget.
 *   bit 63     virtual
 *   bits 56-62 kind (enum vkind)
 *   bits 32-55 folder id
 *   bits 0-31  message index (messages) or 0
 * The same value is the object's st_ino: stable for the life of the mount.
 */
#ifndef MBOXFS_FS_INTERNAL_H
#define MBOXFS_FS_INTERNAL_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "account_map.h"
#include "fs.h"
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

	pthread_mutex_t lock;      /* guards loading and the generated files */
	pthread_mutex_t move_lock; /* one copy-up or expunge of a message at a time */
	struct folder *next_in_account;
	int loaded; /* 1 ok, -1 failed (logged once) */
	struct mbx_file file;
	uint32_t *by_uid; /* open addressing: message index + 1, 0 empty */
	size_t by_uid_cap;
	char *uiddb, *kwlist; /* generated control files, NULL until asked */
	size_t uiddb_len, kwlist_len;
	uint8_t *hidden;         /* bit per message: expunged or moved (atomic access) */
	uint8_t *kept;           /* bit per message: moved within cur/, same key (a flag change) */
	unsigned control_hidden; /* bit per enum vkind: removed by Courier */
};

/* An account of the map, initialised on first use. */
struct account_rt {
	const struct account *a;
	uid_t uid;
	gid_t gid;
	struct src_rights rights; /* what its sources are read with (source.h) */
	pthread_mutex_t lock;
	int ready; /* skeleton made, folders known */
	struct folder *inbox;
	struct folder *folders; /* all of them, linked by next_in_account */
	char *subscribed;       /* generated courierimapsubscribed */
	size_t subscribed_len;
};

/* A real object of the upper tree. */
struct inode {
	int fd; /* O_PATH */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup; /* guarded by fs.lock */
	char *path;       /* directories: path below the upper root ("" = root) */
	enum role role;
	struct folder *folder;
	struct inode *next; /* hash chain */
};

struct fs {
	int upper_fd;
	const char *state_dir;
	struct account_map map;
	struct account_rt *accounts;
	uid_t default_uid;
	gid_t default_gid;
	double timeout; /* entry/attr timeout of real objects */
	time_t started; /* times of generated control files */
	int foreground;
	struct fuse_session *se; /* NULL without a mount (offline materialize) */
	int state_lock_fd;       /* flock()ed: one mount or offline run per state */

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

/* fs_main.c: loads the map, locks the state directory, opens the upper tree
 * (cfg->upper_dir, else cfg->mountpoint); errors go to stderr after who. */
int fs_setup(const struct fs_config *cfg, const char *who);

/* inode.c: the table of real objects */
struct inode *inode_of(fuse_ino_t ino);                 /* NULL for virtual ids */
struct inode *inode_get(int fd, const struct stat *st); /* takes fd; nlookup++ */
void inode_forget(struct inode *in, uint64_t n);
void inode_table_init(void);

/* places.c: directories that matter (account roots, folders, cur/, prefixes) */
void places_init(void);
/* Makes sure the accounts that live at or below dir_path are ready, and
 * returns the role and folder of dir_path. */
enum role place_of(const char *dir_path, struct folder **folder);
int place_add(const char *path, enum role role, struct folder *folder);

/* accounts.c: lazy account set-up and folder loading */
int account_ready(struct account_rt *acct);
/* account_root.c: only the account's maildir directory made in the upper
 * tree, without reading any source (for the directories above maildirs,
 * which must never wait for one account's sources). 0, or -errno. */
int account_root_ready(const struct account_rt *acct);
int folder_load(struct folder *f);    /* 0, or -errno */
void folder_unload(struct folder *f); /* frees what folder_load() made */
/* The directory of a folder with that role, below the folder's own ("" for
 * ROLE_FOLDER, "/cur", "/courierimapkeywords"). */
const char *folder_subdir(enum role role);
struct folder *folder_by_id(uint32_t id);
const struct mbx_message *folder_message_by_name(struct folder *f, const char *name,
                                                 uint32_t *index);
size_t folder_message_name(const struct folder *f, uint32_t index, char *buf);
int folder_index_of_uid(const struct folder *f, uint32_t uid, uint32_t *index);

/* whiteout.c: what the upper tree hides, recorded before replying */
int whiteout_load(struct folder *f); /* at folder load, under f->lock */
int whiteout_message(struct folder *f, uint32_t index);
/* done: 'u' (moved away) or 'k' (kept in cur/ under the same key) */
/* n messages in one durable write each: the intents, targets[i] being the
 * path of the copy below the upper root, then the done records (with a "c"
 * record for each control file kind in the controls bit mask). */
int whiteout_move_intents(struct folder *f, size_t n, const uint32_t *indexes, char done,
                          const char *const *targets);
int whiteout_moved(struct folder *f, size_t n, const uint32_t *indexes, char done,
                   unsigned controls);
int whiteout_control(struct folder *f, enum vkind kind);
int message_hidden(const struct folder *f, uint32_t index);
int control_hidden(const struct folder *f, enum vkind kind);

/* folder_log.c: RENAME and DELETE of old folders, kept across remounts */
int folder_log_append(struct account_rt *acct, char op, const char *uw_name, const char *dir);
int folder_log_lookup(const struct account_rt *acct, const char *uw_name, char **dir);
/* accounts.c: follow a RENAME or DELETE of a folder directory */
int folder_renamed(const char *old_path, const char *new_path);
int folder_deleted(const char *path);
/* inode.c */
/* The node id the kernel knows a real object by, or 0. */
fuse_ino_t inode_known(dev_t dev, ino_t ino);
void inode_rename_paths(const char *old_path, const char *new_path);
/* The path below the upper root of dir's child name (malloc'ed), or NULL. */
char *inode_child_path(const struct inode *dir, const char *name);

/* copyup.c: a virtual object written as a real file of the upper tree */
/* Its bytes and attributes (owner, mode 0600, INTERNALDATE as mtime) to fd,
 * not synced. */
int copy_up_fill(fuse_ino_t id, int fd);
/* Through a temporary dot file in dir: filled, fsync()ed, renamed to name
 * (flags as renameat2), dir fsync()ed. */
int copy_up(fuse_ino_t id, struct inode *dir, const char *name, unsigned int flags);
/* A rename of a virtual object (Courier changing flags or moving a message,
 * or replacing a control file; materialize with newname == name): recorded,
 * copied up, hidden, each step durable before the next. -ENOENT if it was
 * expunged or moved meanwhile. */
int copy_up_rename(fuse_ino_t id, const char *name, struct inode *newdir, const char *newname,
                   unsigned int flags);
/* A temporary name in a directory, never a maildir message name. */
void copy_up_tmp_name(char buf[64]);
/* Removes the temporary files that another process (a run that crashed)
 * left in a directory. */
void copy_up_clean(int dir_fd);

/* materialize.c: virtual objects made real under their own names */
/* One object, for setxattr(MBOXFS_MATERIALIZE_XATTR) on the mount: 0, or -errno.
 * *dir gets the device and inode of its directory, *name its name. */
int materialize(fuse_ino_t id, struct stat *dir, char name[256]);
/* Every virtual object of a folder, messages in synced batches (offline: no
 * one else changes the folder). Adds to the counts; 0, or -errno (logged). */
int materialize_folder(struct folder *f, uint64_t *messages, uint64_t *bytes);

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
static inline uint32_t vid_index(fuse_ino_t id)
{
	return (uint32_t)id;
}
/* Lookup of name in a real directory of role/folder where the upper tree has no
 * such entry. Returns 0 and fills e, or -errno. */
int virtual_lookup(enum role role, struct folder *f, const char *name, struct fuse_entry_param *e);
int virtual_stat(fuse_ino_t id, struct stat *st);
/* The file name of a generated control file ("" for messages). */
const char *control_file_name(enum vkind kind);
/* The old message a virtual id names, with its (loaded) folder; NULL with
 * *err = -errno if there is none. */
const struct mbx_message *virtual_message(fuse_ino_t id, struct folder **f, int *err);
/* The bytes of a generated control file: kept by the folder or account, or,
 * when *owned is set, made for this call (the caller frees *owned). */
int virtual_content(fuse_ino_t id, const char **data, size_t *len, char **owned);
/* Calls fn for every virtual entry of a directory that the upper tree lacks. */
typedef int (*virtual_entry_fn)(const char *name, fuse_ino_t id, void *arg);
int virtual_entries(enum role role, struct folder *f, int (*in_upper)(const char *, void *),
                    void *upper_arg, virtual_entry_fn fn, void *arg);

/* ops_entry.c: lookup in the merged tree, shared by the operations that
 * create an entry. Returns 0 and fills e (a real entry counts as a lookup), or
 * -errno. */
int merged_lookup(fuse_ino_t parent, const char *name, struct fuse_entry_param *e);
/* "/proc/self/fd/N" of an O_PATH fd, for calls that need a real path */
void proc_path(int fd, char buf[64]);

/* ops_*.c: the FUSE operations, one group per file */
void ops_entry_fill(struct fuse_lowlevel_ops *ops);
void ops_dir_fill(struct fuse_lowlevel_ops *ops);
void ops_file_fill(struct fuse_lowlevel_ops *ops);

/* Logs to stderr (or syslog when daemonised). */
void fs_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
