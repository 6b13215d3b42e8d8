/* fuzz_account_map.c — libFuzzer target for the account map reader
 * (account_map.h), with properties that must hold for any map file:
 *  - reading never crashes or leaks (run under ASan);
 *  - every account kept has a relative maildir without "." or ".."
 *    components or white space, distinct from every other one, an absolute
 *    INBOX path, absolute home and folder paths if any, and pop3 0 or 1;
 *  - every error names the file and a line that exists, and no line gives
 *    both an account and an error.
 * Built with -Dfuzz=true (clang); otherwise replay.c runs it over files. */
#include "account_map.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAP_NAME "fuzz.map"

static int good_maildir(const char *m)
{
	if (!*m || m[0] == '/' || strpbrk(m, " \t\r\n"))
		return 0;
	for (const char *s = m; *s;) {
		size_t n = strcspn(s, "/");
		if (!n || (n == 1 && s[0] == '.') || (n == 2 && !strncmp(s, "..", 2)))
			return 0;
		s += n + (s[n] == '/');
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	if (!size)
		return 0;
	FILE *f = fmemopen((void *)bytes, size, "r");
	if (!f)
		return 0;
	unsigned lines = 1;
	for (size_t i = 0; i + 1 < size; i++)
		lines += bytes[i] == '\n';

	struct account_map map = {0};
	map_parse(&map, f, MAP_NAME, "/base");
	fclose(f);

	char *seen = calloc(lines + 1, 1);
	if (!seen)
		abort();
	for (size_t i = 0; i < map.naccounts; i++) {
		const struct account *a = &map.accounts[i];
		if (!good_maildir(a->maildir) || !a->inbox || a->inbox[0] != '/' ||
		    (a->home && a->home[0] != '/') || (a->folders && a->folders[0] != '/') ||
		    (a->pop3 != 0 && a->pop3 != 1) || !a->line || a->line > lines || seen[a->line])
			abort();
		seen[a->line] = 1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(map.accounts[j].maildir, a->maildir))
				abort();
	}
	for (size_t i = 0; i < map.nerrors; i++) {
		const char *e = map.errors[i];
		char *end;
		if (strncmp(e, MAP_NAME ":", sizeof MAP_NAME))
			abort();
		unsigned long line = strtoul(e + sizeof MAP_NAME, &end, 10);
		if (*end != ':' || !line || line > lines || seen[line])
			abort();
		seen[line] = 1;
	}
	free(seen);
	map_free(&map);
	return 0;
}
