/* json.h — the little JSON output mboxfs needs: strings escaped so that any
 * byte sequence (mbox bytes are not always UTF-8) gives valid JSON. */
#ifndef MBOXFS_JSON_H
#define MBOXFS_JSON_H

#include <stddef.h>
#include <stdio.h>

/* Writes s[0..len) as a JSON string; bytes >= 0x80 that are not valid UTF-8
 * are written as \u00XX (their Latin-1 reading). */
void json_string_n(FILE *out, const char *s, size_t len);
void json_string(FILE *out, const char *s);

#endif
