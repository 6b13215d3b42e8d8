/* verify_files.h — `mboxfs verify`'s reading of what Courier finds in a
 * maildir: message file names, courierimapuiddb, courierimapkeywords/,
 * courierimapsubscribed and courierpop3dsizelist, each parsed as Courier
 * reads it (reference/courier-imap-maildir.md sections 1, 2, 4, 7) and
 * compared with what the mount generates for the same folder.
 *
 * Contract: pure functions over names and in-memory texts (the byte
 * comparison reads a file descriptor it is given). A comparison tells every
 * difference through a vf_report_fn, one call per difference, with a short
 * text that says what differs and, where it matters, what Courier will make
 * of it. Expected texts come from index/courier_files.c through the daemon
 * (fs/virtual.c); the actual ones may have been rewritten by Courier since,
 * so each comparison allows what Courier legitimately does: lines for its
 * own new messages (with UIDs from the old UIDNEXT on), other line orders,
 * keyword indexes renumbered, subscriptions added.
 */
#ifndef MBOXFS_VERIFY_FILES_H
#define MBOXFS_VERIFY_FILES_H

#include <stddef.h>
#include <stdint.h>

typedef void (*vf_report_fn)(void *arg, const char *problem);

/* A set of strings, sorted once filled (vf_set_sort) for lookups. */
struct vf_set {
	char **v;
	size_t n, cap;
};
int vf_set_add(struct vf_set *s, const char *str, size_t len); /* 0 or -ENOMEM */
void vf_set_sort(struct vf_set *s);
int vf_set_has(const struct vf_set *s, const char *str);
void vf_set_free(struct vf_set *s);

/* Message file names (section 1.4, 2.2). */
/* The length of a name's key: up to the last ':', the whole name without. */
size_t vf_key_len(const char *name);
/* The flags Courier reads from a name (MBX_SEEN...: letters after ":2,",
 * in any order; none without ":2,"). */
uint8_t vf_name_flags(const char *name);
/* The UID that a name of mboxfs (index/name.h, either form) carries under
 * uidvalidity, or 0 when it is no such name. */
uint32_t vf_name_uid(const char *name, uint32_t uidvalidity);

/* courierimapuiddb (section 1.1). */
struct vf_uid_entry {
	char *key;
	uint32_t uid;
};
struct vf_uiddb {
	int valid; /* the header line parses, version 1 */
	uint32_t uidvalidity, nextuid;
	struct vf_uid_entry *e; /* sorted by key */
	size_t n;
};
int vf_uiddb_parse(const char *text, size_t len, struct vf_uiddb *db); /* 0 or -ENOMEM */
const struct vf_uid_entry *vf_uiddb_find(const struct vf_uiddb *db, const char *key);
void vf_uiddb_free(struct vf_uiddb *db);
/* Courier's database (actual) against the generated one (expected): the
 * UIDVALIDITY, a next UID not below the old UIDNEXT, every key of present
 * (the messages that must be there) with its old UID, and no other key with
 * a UID below the old UIDNEXT. */
void vf_uiddb_compare(const struct vf_uiddb *expected, const struct vf_uiddb *actual,
                      const struct vf_set *present, vf_report_fn report, void *arg);

/* courierimapkeywords/ (section 4): each key's keywords, as a sorted,
 * space-separated list of names. */
struct vf_kw_entry {
	char *key;
	char *names;
};
struct vf_keywords {
	struct vf_kw_entry *e; /* sorted by key once parsed */
	size_t n;
};
/* The text of :list. 0 or -ENOMEM. */
int vf_keywords_parse(const char *text, size_t len, struct vf_keywords *kw);
/* An update file courierimapkeywords/<key> (one name per line, empty: none),
 * which Courier has not merged into :list yet: it wins. 0 or -ENOMEM. */
int vf_keywords_update(struct vf_keywords *kw, const char *key, const char *text, size_t len);
const char *vf_keywords_of(const struct vf_keywords *kw, const char *key); /* "" if none */
void vf_keywords_free(struct vf_keywords *kw);
/* The keywords of every key of present. */
void vf_keywords_compare(const struct vf_keywords *expected, const struct vf_keywords *actual,
                         const struct vf_set *present, vf_report_fn report, void *arg);

/* courierpop3dsizelist (section 7). */
struct vf_pop3_entry {
	char *key, *name;
	uint64_t size;
	uint32_t uid;
};
struct vf_pop3 {
	int valid;               /* version 2 or 3 */
	struct vf_pop3_entry *e; /* sorted by key */
	size_t n;
};
int vf_pop3_parse(const char *text, size_t len, struct vf_pop3 *list); /* 0 or -ENOMEM */
void vf_pop3_free(struct vf_pop3 *list);
/* Every key of present listed as expected lists it (uid 0: pop3d prints the
 * key, uw-ipop3d's UIDL; the size pop3d would compute), and no file of
 * in_cur (keys) that is no old message listed with uid 0. */
void vf_pop3_compare(const struct vf_pop3 *expected, const struct vf_pop3 *actual,
                     const struct vf_set *present, const struct vf_set *in_cur, vf_report_fn report,
                     void *arg);

/* courierimapsubscribed: every folder the old server had subscribed still
 * is (folders subscribed since are fine). */
void vf_subscriptions_compare(const char *expected, size_t expected_len, const char *actual,
                              size_t actual_len, vf_report_fn report, void *arg);

/* A file's bytes against the served ones, given piece by piece
 * (mbx_for_each_piece()). */
struct vf_bytes {
	int fd;
	uint64_t offset;     /* bytes compared so far */
	int differs;         /* then differs_at is the first differing offset */
	uint64_t differs_at; /* (or where one of the two ended) */
	int err;             /* errno of a failed read */
};
void vf_bytes_init(struct vf_bytes *c, int fd);
void vf_bytes_piece(const char *bytes, size_t len, void *arg); /* an mbx_piece_fn */
/* After the last piece: 0 equal, 1 differs (at c->differs_at), -errno. */
int vf_bytes_finish(struct vf_bytes *c);

#endif
