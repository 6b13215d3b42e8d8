/* courier_files.h — Courier-IMAP's control files for a mailbox, generated from
 * its parsed view (reference/courier-imap-maildir.md sections 1, 4, 5).
 *
 * Contract: pure functions returning malloc'ed text (the caller frees it), or
 * NULL with *len 0 when the file should not exist (no keywords in use), or NULL
 * with errno ENOMEM. The mount serves them as virtual files; materialize writes
 * them.
 */
#ifndef MBOXFS_COURIER_FILES_H
#define MBOXFS_COURIER_FILES_H

#include "mbox.h"

/* Courier's own UIDs (APPEND, COPY, delivery) start this far above c-client's
 * UIDNEXT, so that mail the old server still delivers during the migration
 * window gets the UIDs c-client gives it there without ever meeting one that
 * Courier gave to another message (DESIGN.md, "Sources"). */
#define MBX_LATE_UID_MARGIN 10000u

/* courierimapuiddb: "1 <uidvalidity> <uidnext + MBX_LATE_UID_MARGIN>\n", then
 * "<uid> <key>\n" per message, the key being the file name up to ":2,". pop3:
 * INBOX names. */
char *mbx_courier_uiddb(const struct mbx_mailbox *mb, int pop3, size_t *len);

/* courierimapkeywords/:list: the keywords in use, one per line, a blank line,
 * then "<key>:<i> <j>...\n" per message with keywords (0-based indexes into
 * the first part). */
char *mbx_courier_kwlist(const struct mbx_mailbox *mb, int pop3, size_t *len);

/* Whether mbx_courier_kwlist() has a file to give (a message has a keyword),
 * without making it. */
int mbx_courier_has_kwlist(const struct mbx_mailbox *mb);

/* courierimapsubscribed from the text of a UW ~/.mailboxlist: INBOX stays
 * INBOX; other names are taken relative to the folder directory, given as its
 * path below the home directory with a trailing '/' ("" when the folders are
 * the home directory itself; names outside it are dropped), converted as
 * folder_name.h says, and prefixed with "INBOX.". */
char *mbx_courier_subscriptions(const char *mailboxlist, size_t mailboxlist_len,
                                const char *folders_below_home, size_t *len);
/* The same, a folder's name being courier_name(its UW name, arg) when that is
 * not NULL (the names source.h gave, escaped ones included). */
char *mbx_courier_subscriptions_named(const char *mailboxlist, size_t mailboxlist_len,
                                      const char *folders_below_home,
                                      const char *(*courier_name)(const char *uw, void *arg),
                                      void *arg, size_t *len);

/* courierpop3dsizelist (version 3) for an INBOX named by uw-ipop3d UIDLs
 * (name.h, pop3): "/3 1 <uidvalidity>", then "<file name> <size> 0:0:0" per
 * message. Entries with uid 0 make Courier's pop3d print the file name up to
 * ':' as the UIDL, i.e. uw-ipop3d's "%08x%08x" (courier-libs
 * imap/pop3dserver.c); new mail gets pop3d's own numbers from 1 on. The size is
 * the one pop3d would compute and cache: bytes + LFs, + 2 without a final LF.
 * data is the mapped mbox; flags (may be NULL: the parsed ones) gives each
 * message's flags as its file name shows them now, MBX_POP3_OMIT leaving it
 * out. */
#define MBX_POP3_OMIT 0xff
char *mbx_courier_pop3_sizelist(const struct mbx_mailbox *mb, const char *data,
                                const uint8_t *flags, size_t *len);

#endif
