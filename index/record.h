/* record.h — a message as an index file stores it (store.h), field by field.
 *
 * Contract:
 *  - The on-disk record is format version 1 of the index files, fixed at 56
 *    bytes whatever struct mbx_message is in memory, so that index files
 *    written by any mboxfs of that version are read back the same and written
 *    again byte for byte. Fields in the machine's byte order (the index
 *    header's endian word refuses a file of another order), at these offsets:
 *       0 u64 offset      8 u64 hash       16 i64 date     24 u32 raw_len
 *      28 u32 size       32 u32 uid       36 u32 keywords  40 u32 cut_first
 *      44 u32 ctime      48 i16 zone      50 u16 ncuts     52 u8  flags
 *      53 u8  bits       54 two bytes written 0, not read
 *    (the layout struct mbx_message had when it was written to disk as is).
 *  - mbx_record_decode() refuses (returns -1, message untouched) a record
 *    with a value struct mbx_message cannot hold: an offset above
 *    MBX_MAX_OFFSET, a date outside MBX_MIN_DATE..MBX_MAX_DATE, a keyword bit
 *    at MBX_MAX_KEYWORDS or above, an unknown bit in bits. The parse never
 *    gives such values, so an index holding one is unsound: never truncated,
 *    it is rebuilt from the mbox like any corrupt index.
 *  - Both are a few loads and stores per message: an index is decoded whole
 *    at every load of a folder.
 */
#ifndef MBOXFS_RECORD_H
#define MBOXFS_RECORD_H

#include "mbox.h"

#include <string.h>

#define MBX_RECORD_SIZE 56

static inline void mbx_record_encode(const struct mbx_message *m, unsigned char r[MBX_RECORD_SIZE])
{
	uint64_t offset = m->offset, hash = m->hash;
	int64_t date = m->date;
	uint32_t u32[6] = {m->raw_len, m->size, m->uid, m->keywords, m->cut_first, m->ctime};
	int16_t zone = m->zone;
	uint16_t ncuts = m->ncuts;
	memcpy(r, &offset, 8);
	memcpy(r + 8, &hash, 8);
	memcpy(r + 16, &date, 8);
	memcpy(r + 24, u32, sizeof u32);
	memcpy(r + 48, &zone, 2);
	memcpy(r + 50, &ncuts, 2);
	r[52] = m->flags;
	r[53] = m->bits;
	r[54] = r[55] = 0;
}

static inline int mbx_record_decode(const unsigned char r[MBX_RECORD_SIZE], struct mbx_message *m)
{
	uint64_t offset, hash;
	int64_t date;
	uint32_t u32[6];
	int16_t zone;
	uint16_t ncuts;
	memcpy(&offset, r, 8);
	memcpy(&hash, r + 8, 8);
	memcpy(&date, r + 16, 8);
	memcpy(u32, r + 24, sizeof u32);
	memcpy(&zone, r + 48, 2);
	memcpy(&ncuts, r + 50, 2);
	if (offset > MBX_MAX_OFFSET || date < MBX_MIN_DATE || date > MBX_MAX_DATE ||
	    u32[3] >> MBX_MAX_KEYWORDS || r[53] > (MBX_HAS_CR | MBX_NUL_AS_SPACE))
		return -1;
	m->offset = offset;
	m->zone = zone;
	m->hash = hash;
	m->date = date;
	m->flags = r[52];
	m->ncuts = ncuts;
	m->raw_len = u32[0];
	m->size = u32[1];
	m->uid = u32[2];
	m->keywords = u32[3];
	m->bits = r[53];
	m->cut_first = u32[4];
	m->ctime = u32[5];
	return 0;
}

#endif
