/* help.h — the help text of every verb, kept in one table (help.c).
 *
 * Contract: `mboxfs VERB --help`, `mboxfs help VERB`, a verb's usage error and
 * `mboxfs --help` all print from the same table, and doc/mboxfs.1 lists the
 * same options (tests/unit/test_help.py checks both ways). A new option is
 * added to the verb's entry in help.c and to the man page, nowhere else.
 */
#ifndef MBOXFS_HELP_H
#define MBOXFS_HELP_H

#include <stdio.h>

/* The whole help of one verb: its usage lines, what it does, and one line per
 * option. NULL for an unknown verb. The text is static. */
const char *verb_help(const char *verb);

/* The overview: every verb with its usage lines and what it does. */
void print_overview(FILE *out);

/* `mboxfs help [VERB]`. */
int cmd_help(int argc, char **argv);

#endif
