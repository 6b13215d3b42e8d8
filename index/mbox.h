/* mbox.h — one UW mbox file as uw-imapd (c-client's unix driver) served it.
 *
 * Contract:
 *  - mbx_parse() reads a mapped mbox and produces, for every message c-client
 *    would show, its UID, flags, declared keywords, INTERNALDATE, served size and
 *    content hash, and where its served bytes are in the file (a byte range minus
 *    "cuts", the hidden UW header lines; CR bytes are always removed). It follows
 *    reference/uw-imap-mbox.md sections 1-6 and the UID policy of DESIGN.md.
 *  - It never modifies the file, never holds it in heap memory, and never fails
 *    on bad content: oddities become anomalies with a line number.
 *  - A message costs sizeof(struct mbx_message) (48 bytes) plus 8 bytes per run
 *    of hidden header lines.
 *  - Nothing here is thread-safe on a shared mailbox; distinct mailboxes may be
 *    parsed in parallel.
 */
#ifndef MBOXFS_MBOX_H
#define MBOXFS_MBOX_H

#include <stddef.h>
#include <stdint.h>

#define MBX_MAX_KEYWORDS    30 /* c-client NUSERFLAGS */
#define MBX_MAX_KEYWORD_LEN 50 /* c-client MAXUSERFLAG */

/* What c-client made of the file (reference 1.1). */
enum mbx_kind {
	MBX_KIND_UNIX,        /* a Unix mailbox, possibly with zero messages */
	MBX_KIND_EMPTY,       /* zero bytes: c-client's dummy driver, no messages */
	MBX_KIND_NOT_MAILBOX, /* no valid From_ line first: not served */
};

/* Where UIDVALIDITY comes from (DESIGN.md, "UIDs"). */
enum mbx_uid_rule {
	MBX_RULE_EXACT,      /* X-IMAP/X-IMAPbase value that c-client keeps */
	MBX_RULE_METADATA,   /* header value kept although c-client would reset it */
	MBX_RULE_ANY_STABLE, /* no metadata: a value chosen once and persisted */
};

/* System flags; RECENT is "no O in Status/X-Status". */
enum {
	MBX_SEEN = 1 << 0,
	MBX_DELETED = 1 << 1,
	MBX_FLAGGED = 1 << 2,
	MBX_ANSWERED = 1 << 3,
	MBX_DRAFT = 1 << 4,
	MBX_RECENT = 1 << 5,
};

/* mbx_message.bits */
enum {
	MBX_HAS_CR = 1 << 0,       /* the raw range holds CR bytes, which are not served */
	MBX_NUL_AS_SPACE = 1 << 1, /* a cut has MBX_CUT_SPACE */
};

/* 48 bytes: a mount keeps one per message of every loaded folder. The
 * bit-fields hold every value the parse gives: offsets below 256 TiB (a larger
 * file is not served, MBX_AN_TOO_LARGE), dates of years 1970-2097 (c-client's
 * 7-bit year, from_line.h) with any zone, keywords 0-29 (MBX_MAX_KEYWORDS).
 * Index files keep messages in their own fixed layout (record.h), not this. */
struct mbx_message {
	uint64_t offset : 48; /* first byte after the From_ line */
	int16_t zone;         /* INTERNALDATE zone, minutes east of UTC */
	uint64_t hash;        /* XXH3-64 of the served (LF) bytes */
	int64_t date : 40;    /* INTERNALDATE, seconds since the epoch */
	uint8_t flags;        /* MBX_SEEN ... MBX_RECENT */
	uint16_t ncuts;
	uint32_t raw_len; /* header + body, without the dropped final blank line */
	uint32_t size;    /* served bytes: raw_len minus cuts minus CRs */
	uint32_t uid;
	uint32_t keywords : MBX_MAX_KEYWORDS; /* bit i set: declared keyword i */
	uint32_t bits : 2;                    /* MBX_HAS_CR, MBX_NUL_AS_SPACE */
	uint32_t cut_first;                   /* index into mbx_mailbox.cuts */
	uint32_t ctime; /* when mboxfs first indexed it (seconds since the epoch) */
};
_Static_assert(sizeof(struct mbx_message) == 48, "struct mbx_message is 48 bytes");
#define MBX_MAX_OFFSET ((1ULL << 48) - 1) /* struct mbx_message.offset */
#define MBX_MIN_DATE   (-(1LL << 39))     /* struct mbx_message.date */
#define MBX_MAX_DATE   ((1LL << 39) - 1)

/* A run of hidden header lines, relative to its message's offset; or, with
 * MBX_CUT_SPACE in len, one NUL byte served as a space: c-client's header
 * filter turns the first NUL of a field name into a space (reference 2.6). */
struct mbx_cut {
	uint32_t off, len;
};
#define MBX_CUT_SPACE  0x80000000u
#define MBX_CUT_LEN(c) ((c)->len & ~MBX_CUT_SPACE)

enum mbx_anomaly_kind {
	MBX_AN_NOT_MAILBOX,        /* c-client would not see a Unix mailbox */
	MBX_AN_BAD_XUID,           /* c-client would reset UIDVALIDITY; header value kept */
	MBX_AN_UNDECLARED_KEYWORD, /* X-Keywords name not declared: dropped */
	MBX_AN_BOGUS_HEADER,       /* hidden header in the wrong case or form: ignored */
	MBX_AN_BAD_DATE,           /* From_ date unparseable: 1-Jan-1970 or midnight */
	MBX_AN_TOO_LARGE,          /* a message over 4 GiB, a file of 256 TiB: not served */
	MBX_AN_LIMIT,              /* more anomalies than are kept */
};

struct mbx_anomaly {
	enum mbx_anomaly_kind kind;
	uint64_t line; /* 1-based line number in the mbox */
	char text[120];
};

/* The c-client parse state needed to continue on appended data. */
struct mbx_parse_state {
	uint32_t uidvalidity;   /* c-client's current value; 0 after a reset */
	uint32_t accepted_uidv; /* last value accepted from X-IMAP/X-IMAPbase */
	uint32_t last_uid;      /* c-client's uid_last */
	uint32_t prev_uid;      /* UID of the last message */
	uint64_t lines;         /* lines parsed so far */
	uint32_t seen_messages; /* messages seen, the pseudo message included */
	uint8_t pseudo;         /* first message was the pseudo message */
	uint8_t header_open;    /* the file ends inside the last header */
};

struct mbx_mailbox {
	enum mbx_kind kind;
	enum mbx_uid_rule rule;
	uint32_t uidvalidity;             /* 0 for ANY_STABLE until one is chosen */
	uint32_t uidnext;                 /* c-client's last UID + 1 */
	char *keywords[MBX_MAX_KEYWORDS]; /* declared; NULL where a slot is empty */

	struct mbx_message *msgs;
	size_t nmsgs, msgs_cap;
	struct mbx_cut *cuts;
	size_t ncuts, cuts_cap;

	uint64_t parsed_size; /* bytes of the file that were parsed */
	struct mbx_parse_state state;

	struct mbx_anomaly *anomalies;
	size_t nanomalies;
};

void mbx_mailbox_init(struct mbx_mailbox *mb);
void mbx_mailbox_free(struct mbx_mailbox *mb);

/* Parses data[0..size) from scratch. now: the ctime given to every message.
 * Returns 0, or -1 with errno ENOMEM. */
int mbx_parse(struct mbx_mailbox *mb, const char *data, uint64_t size, uint32_t now);

/* Continues a parse on data appended after mb->parsed_size bytes, as c-client
 * does when new mail arrives. data[0..size) is the whole grown file.
 * Returns 1 if done, 0 if the new data cannot be an append (no From_ line right
 * at the old end: the caller must parse from scratch), -1 on ENOMEM. */
int mbx_parse_append(struct mbx_mailbox *mb, const char *data, uint64_t size, uint32_t now);

/* The served bytes of a message (LF line ends, hidden headers and CRs removed).
 * Copies served bytes [off, off+len) to buf; returns the number copied. data is
 * the mapped mbox. */
size_t mbx_read_served(const struct mbx_mailbox *mb, const struct mbx_message *m, const char *data,
                       uint64_t off, char *buf, size_t len);

/* Calls fn on each piece of served bytes of message m in order. A message without
 * CR bytes yields the ranges of the file itself (what a zero-copy reader needs). */
typedef void (*mbx_piece_fn)(const char *bytes, size_t len, void *arg);
void mbx_for_each_piece(const struct mbx_mailbox *mb, const struct mbx_message *m, const char *data,
                        mbx_piece_fn fn, void *arg);

/* Number of LFs in the served bytes; RFC822.SIZE = size + lines. */
uint64_t mbx_served_lines(const struct mbx_mailbox *mb, const struct mbx_message *m,
                          const char *data);

/* The UID rule and uidvalidity after parsing. */
const char *mbx_rule_name(enum mbx_uid_rule rule);
const char *mbx_anomaly_name(enum mbx_anomaly_kind kind);

#endif
