/* sha256.h — self-contained SHA-256 (FIPS 180-4) for the c-client oracle.
 * Names differ from tools/sha256.h so the two can never clash at link time. */
#ifndef ORACLE_SHA256_H
#define ORACLE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256_state {
	uint32_t h[8];
	uint64_t total;          /* bytes hashed so far */
	unsigned char block[64]; /* pending partial block */
	size_t fill;             /* bytes used in block */
};

void sha256_begin(struct sha256_state *s);
void sha256_add(struct sha256_state *s, const void *data, size_t len);
/* Finish and write the digest as 64 lower-case hex digits plus NUL. */
void sha256_end_hex(struct sha256_state *s, char hex[65]);

#endif
