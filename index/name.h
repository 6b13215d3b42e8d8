/* name.h — the stable maildir file name of a virtual message.
 *
 * Contract (DESIGN.md, "Names and identity"; a compatibility promise: never
 * change the format once released):
 *  - The key (the name up to ":2,") is a pure function of UIDVALIDITY, UID,
 *    content hash, INTERNALDATE and size:
 *        <INTERNALDATE>.M<UID>V<UIDVALIDITY>X<XXH3, 16 hex>.mboxfs,S=<size>
 *    INTERNALDATE (seconds, clamped at 0) leads, as in Courier's own names, so
 *    Courier's name order is date order.
 *  - With POP3 compatibility (INBOX), the key is uw-ipop3d's UIDL instead:
 *    printf("%08x%08x", UIDVALIDITY, UID), nothing else.
 *  - The full name appends ":2," and the flags in the order D F R S T.
 */
#ifndef MBOXFS_NAME_H
#define MBOXFS_NAME_H

#include "mbox.h"

#define MBX_NAME_MAX 96

/* Writes the key into buf (MBX_NAME_MAX bytes); returns its length. */
size_t mbx_message_key(uint32_t uidvalidity, const struct mbx_message *m, int pop3, char *buf);

/* Writes the whole file name (key, ":2,", flags) into buf; returns its length. */
size_t mbx_message_name(uint32_t uidvalidity, const struct mbx_message *m, int pop3, char *buf);
/* The same with other flags than the parsed ones (a flag change). */
size_t mbx_message_name_flags(uint32_t uidvalidity, const struct mbx_message *m, int pop3,
                              uint8_t flags, char *buf);

/* The maildir info letters of flags, in D F R S T order, NUL-terminated. */
void mbx_flag_letters(uint8_t flags, char out[6]);
/* The flags of info letters that mbx_flag_letters() could have written (a
 * subset of D F R S T, in that order, none twice): 0 and *flags, else -1. */
int mbx_parse_flag_letters(const char *letters, uint8_t *flags);

#endif
