/* fuzz_folder_name.c — libFuzzer target for UW to Courier folder names
 * (folder_name.h), with properties that must hold for any name:
 *  - the Courier name is valid UTF-8 without control characters or '/', and
 *    its '.'-separated components are never empty;
 *  - it is refused (-1) exactly when a UW component is empty;
 *  - it can be turned back into the UW name (invert() below), so distinct UW
 *    names never give one Courier name.
 * The input is the UW name up to its first NUL. Built with -Dfuzz=true
 * (clang); otherwise replay.c runs it over files. */
#include "folder_name.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len;
};

static void add(struct buf *b, char c)
{
	b->p[b->len++] = c;
}

static int hex_value(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Modified base64 of UTF-16 units, as RFC 3501 5.1.3 writes a run. */
static void add_run(struct buf *b, const uint16_t *units, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
	uint32_t bits = 0;
	int nbits = 0;
	add(b, '&');
	for (size_t i = 0; i < n; i++) {
		bits = (bits << 16) | units[i];
		nbits += 16;
		while (nbits >= 6) {
			add(b, b64[(bits >> (nbits - 6)) & 63]);
			nbits -= 6;
		}
	}
	if (nbits)
		add(b, b64[(bits << (6 - nbits)) & 63]);
	add(b, '-');
}

/* One UTF-8 code point at s (already known valid); returns its length. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
	if (s[0] < 0xe0) {
		*cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f);
		return 2;
	}
	if (s[0] < 0xf0) {
		*cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 | (s[2] & 0x3f);
		return 3;
	}
	*cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
	      (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f);
	return 4;
}

/* The UW component that gave Courier component c[0..n). */
static void invert_component(const unsigned char *c, size_t n, struct buf *b)
{
	int first_form = 0; /* decoded modified UTF-7: literal '&' or 8-bit bytes */
	for (size_t i = 0; i < n; i++)
		first_form |= c[i] == '&' || c[i] >= 0x80;
	uint16_t units[4096];
	for (size_t i = 0; i < n;) {
		if (c[i] == '%') {
			add(b, (char)(hex_value((char)c[i + 1]) << 4 | hex_value((char)c[i + 2])));
			i += 3;
		} else if (first_form && c[i] == '&') {
			add(b, '&'), add(b, '-');
			i++;
		} else if (c[i] >= 0x80) {
			size_t nunits = 0;
			while (i < n && c[i] >= 0x80) {
				uint32_t cp;
				i += utf8_decode(c + i, &cp);
				if (cp >= 0x10000) {
					units[nunits++] =
					    (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
					units[nunits++] =
					    (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
				} else
					units[nunits++] = (uint16_t)cp;
			}
			add_run(b, units, nunits);
		} else
			add(b, (char)c[i++]);
	}
}

static int valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = s[i] < 0x80                   ? 1
		             : s[i] >= 0xc2 && s[i] < 0xe0 ? 2
		             : s[i] >= 0xe0 && s[i] < 0xf0 ? 3
		             : s[i] >= 0xf0 && s[i] < 0xf5 ? 4
		                                           : 0;
		if (!len || i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		if (len > 1) {
			uint32_t cp;
			utf8_decode(s + i, &cp);
			if (cp < (len == 2   ? 0x80u
			          : len == 3 ? 0x800u
			                     : 0x10000u) ||
			    (cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
				return 0;
		}
		i += len;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
	if (size > 1000)
		return 0;
	char uw[1001];
	memcpy(uw, bytes, size);
	uw[size] = '\0';
	size_t len = strlen(uw);
	char courier[4 * 1000 + 1], back[8 * 1000];
	int n = mbx_folder_name(uw, courier, sizeof courier);

	int empty_component = !len || uw[0] == '/' || uw[len - 1] == '/' || strstr(uw, "//");
	if ((n < 0) != empty_component)
		abort();
	if (n < 0)
		return 0;
	const unsigned char *c = (const unsigned char *)courier;
	if ((size_t)n != strlen(courier) || !valid_utf8(c, (size_t)n) || c[0] == '.' ||
	    c[n - 1] == '.' || strstr(courier, ".."))
		abort();
	for (int i = 0; i < n; i++)
		if (c[i] < 0x20 || c[i] == 0x7f || c[i] == '/')
			abort();

	struct buf b = {back, 0};
	for (const char *s = courier; *s;) {
		size_t k = strcspn(s, ".");
		invert_component((const unsigned char *)s, k, &b);
		s += k;
		if (*s == '.')
			add(&b, '/'), s++;
	}
	if (b.len != len || memcmp(back, uw, len))
		abort();
	return 0;
}
