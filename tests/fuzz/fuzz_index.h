/* fuzz_index.h — what the index fuzz target and its seed writer share. */
#ifndef MBOXFS_FUZZ_INDEX_H
#define MBOXFS_FUZZ_INDEX_H

/* the state key every fuzzed index file belongs to */
#define FUZZ_INDEX_KEY "fuzz/INBOX"

#endif
