/* folder_name.c — UW (modified UTF-7, '/') to Courier (UTF-8, '.') names. */
#include "folder_name.h"

#include <stdint.h>
#include <string.h>

struct out {
	char *p;
	size_t len, cap;
	int overflow;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 >= o->cap) {
		o->overflow = 1;
		return;
	}
	o->p[o->len++] = c;
}

static void put_escaped(struct out *o, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";
	put(o, '%');
	put(o, hex[c >> 4]);
	put(o, hex[c & 15]);
}

static void put_utf8(struct out *o, uint32_t cp)
{
	if (cp < 0x80) {
		if (cp < 0x20 || cp == 0x7f || cp == '.' || cp == '%')
			put_escaped(o, (unsigned char)cp);
		else
			put(o, (char)cp);
	} else if (cp < 0x800) {
		put(o, (char)(0xc0 | cp >> 6));
		put(o, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(o, (char)(0xe0 | cp >> 12));
		put(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		put(o, (char)(0x80 | (cp & 0x3f)));
	} else {
		put(o, (char)(0xf0 | cp >> 18));
		put(o, (char)(0x80 | ((cp >> 12) & 0x3f)));
		put(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		put(o, (char)(0x80 | (cp & 0x3f)));
	}
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* 1 if the '-' at s[dash] closes a base64 run (rather than being a plain '-'
 * or the end of "&-"): scanning back over base64 characters reaches a '&'
 * that is not itself the '&' of "&-". */
static int ends_run(const unsigned char *s, size_t dash)
{
	size_t j = dash;
	while (j && b64_value(s[j - 1]) >= 0)
		j--;
	/* a '&' followed by a base64 character always opens a run */
	return j && j < dash && s[j - 1] == '&';
}

/* Decodes one component s[0..n) into o; returns 0, or -1 if it is not valid
 * modified UTF-7 (o is then garbage). */
static int decode_mutf7(const unsigned char *s, size_t n, struct out *o)
{
	for (size_t i = 0; i < n;) {
		if (s[i] >= 0x80)
			return -1;
		/* two base64 runs back to back are one run written in two: not
		 * canonical, and so another spelling of a name (see below) */
		if (s[i] == '&' && i && s[i - 1] == '-' && i + 1 < n && s[i + 1] != '-' &&
		    ends_run(s, i - 1))
			return -1;
		if (s[i] != '&') {
			put_utf8(o, s[i++]);
			continue;
		}
		if (++i < n && s[i] == '-') { /* "&-" is '&' */
			put_utf8(o, '&');
			i++;
			continue;
		}
		uint32_t bits = 0, high = 0;
		int nbits = 0, units = 0;
		for (; i < n && s[i] != '-'; i++) {
			int v = b64_value(s[i]);
			if (v < 0)
				return -1;
			bits = (bits << 6) | (uint32_t)v;
			nbits += 6;
			if (nbits >= 16) {
				uint32_t u = (bits >> (nbits - 16)) & 0xffff;
				nbits -= 16;
				units++;
				if (u >= 0xd800 && u < 0xdc00) {
					if (high)
						return -1;
					high = u;
				} else if (u >= 0xdc00 && u < 0xe000) {
					if (!high)
						return -1;
					put_utf8(o,
					         0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00));
					high = 0;
				} else {
					/* a base64 ASCII character has a shorter spelling
					 * ("&AGE-" is "a"): taking it would give two UW names
					 * one Courier name */
					if (high || u < 0x80)
						return -1;
					put_utf8(o, u);
				}
			}
		}
		/* closed by '-', at least one unit, leftover bits zero, no lone surrogate */
		if (i >= n || !units || high || nbits >= 6 || (bits & ((1u << nbits) - 1)))
			return -1;
		i++;
	}
	return 0;
}

static void raw_escape(const unsigned char *s, size_t n, struct out *o)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c < 0x20 || c >= 0x7f || c == '.' || c == '%' || c == '&')
			put_escaped(o, c);
		else
			put(o, (char)c);
	}
}

int mbx_mutf7_valid(const char *uw_name)
{
	char scratch[8]; /* the decoded text is not wanted; overflow is harmless */
	struct out o = {scratch, 0, sizeof scratch, 0};
	return decode_mutf7((const unsigned char *)uw_name, strlen(uw_name), &o) == 0;
}

static int convert(const char *uw_name, char *out, size_t outlen, int raw_only)
{
	struct out o = {out, 0, outlen, 0};
	const unsigned char *s = (const unsigned char *)uw_name;
	while (*s) {
		size_t n = strcspn((const char *)s, "/");
		if (n == 0)
			return -1;
		size_t start = o.len;
		if (raw_only || decode_mutf7(s, n, &o) < 0) {
			o.len = start;
			o.overflow = 0;
			raw_escape(s, n, &o);
		}
		s += n;
		if (*s == '/') {
			if (!*++s)
				return -1;
			put(&o, '.');
		}
	}
	if (o.overflow || !outlen || o.len == 0)
		return -1;
	out[o.len] = '\0';
	return (int)o.len;
}

int mbx_folder_name(const char *uw_name, char *out, size_t outlen)
{
	return convert(uw_name, out, outlen, 0);
}

int mbx_folder_name_raw(const char *uw_name, char *out, size_t outlen)
{
	return convert(uw_name, out, outlen, 1);
}
