/* folder_name.h — UW folder names to Courier Maildir++ folder names.
 *
 * UW stores a folder as a file whose path below the folder directory is the
 * IMAP name byte for byte: modified UTF-7 (RFC 3501 5.1.3), '/' as hierarchy.
 * Courier 5 keeps folders as directories ".<name>" with UTF-8 names and '.' as
 * hierarchy (reference/courier-imap-maildir.md section 5), and a name that is
 * not valid UTF-8 kills its LIST. The conversion, per '/'-separated component:
 *  - valid modified UTF-7: decoded to UTF-8; then '.', '%' and control
 *    characters are written as %XX (upper-case hex);
 *  - anything else (8-bit bytes, broken '&' sequences): the raw bytes, with
 *    every byte outside printable ASCII and '.', '%', '&' written as %XX.
 * Only canonical modified UTF-7 takes the first form: base64 never spells an
 * ASCII character and two runs are never back to back ("&AGE-" for "a" and
 * "&AOk-&AOk-" for "&AOkA6Q-" take the second), so each decoded name has one
 * spelling. The two forms never collide (only the second can contain %26 or
 * %80-%FF, only the first a literal '&' or 8-bit bytes), so distinct UW names
 * always give distinct Courier names, and the original can be recovered: that
 * is the documented, reversible escape (tests/fuzz/fuzz_folder_name.c inverts
 * it).
 */
#ifndef MBOXFS_FOLDER_NAME_H
#define MBOXFS_FOLDER_NAME_H

#include <stddef.h>

/* Converts a UW name ("mail/sent-mail") to the Courier folder name without the
 * leading "INBOX." and without the directory's leading '.' ("mail.sent-mail").
 * Returns the length written (NUL-terminated), or -1 if out is too small or a
 * component is empty. */
int mbx_folder_name(const char *uw_name, char *out, size_t outlen);

/* The second form for every component, even valid modified UTF-7 (source.h
 * compares it with mbx_folder_name() to tell an escaped name). Same return as
 * above. */
int mbx_folder_name_raw(const char *uw_name, char *out, size_t outlen);

/* 1 if uw_name is canonical modified UTF-7, the first form above (stricter
 * than c-client's mail_utf7_valid(): no 8-bit bytes, every '&' sequence
 * well-formed, closed by '-' and the only spelling of what it decodes to). */
int mbx_mutf7_valid(const char *uw_name);

#endif
