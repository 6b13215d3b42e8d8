/* quote.h — names and texts from old mailboxes printed safely on a terminal.
 *
 * Folder names, paths and anomaly texts come from the old server's files and
 * may hold control bytes and escape sequences, which must not reach a
 * terminal raw (they can rewrite what the operator sees). Printed as git
 * quotes paths (core.quotePath off): a name with a control byte (below 0x20,
 * 0x7f, or a C1 control U+0080-U+009F), a byte that is not part of valid
 * UTF-8, a '"' or a '\' is written in double quotes with C escapes (\t \n
 * \r \" \\, else \ooo octal per byte); any other name as it is. JSON output
 * escapes with json.h instead.
 */
#ifndef MBOXFS_QUOTE_H
#define MBOXFS_QUOTE_H

#include <stdio.h>

/* Writes s, quoted as above if it needs it. */
void put_name(FILE *out, const char *s);

/* Writes s with the same escapes but without the surrounding quotes, '"'
 * left as it is (for sentences such as anomaly texts, which quote names). */
void put_text(FILE *out, const char *s);

#endif
