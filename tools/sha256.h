/* sha256.h — SHA-256 (FIPS 180-4), for reports that must match the corpora's
 * expected hashes. Not used on any hot path. */
#ifndef MBOXFS_SHA256_H
#define MBOXFS_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t total;
	unsigned char block[64];
	size_t fill;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[32]);
/* Lower-case hex of the digest into hex[65]. */
void sha256_hex(struct sha256 *c, char hex[65]);

#endif
