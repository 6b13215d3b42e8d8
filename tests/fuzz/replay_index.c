/* replay_index.c — runs the index fuzz target (fuzz_index.c) on real index
 * files: every mbox below the given paths is opened with mbx_open() into a
 * temporary state directory, and its index file is fed to the target as it
 * is, cut short at several points and with single bytes changed; files named
 * *.idx (saved fuzzer inputs) are fed as they are. With
 * "-o DIR" first, the index files are also written to DIR as fuzzing seeds.
 * Prints "N passed, 0 failed"; a failure aborts. */
#include "fuzz_index.h"
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

static char state_dir[] = "/tmp/mboxfs-replay-index.XXXXXX";
static const char *seed_dir;
static unsigned replayed;

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	char *buf = NULL;
	if (fd >= 0 && fstat(fd, &st) == 0 && (buf = malloc((size_t)st.st_size + 1)) &&
	    read(fd, buf, (size_t)st.st_size) == st.st_size)
		*len = (size_t)st.st_size;
	else {
		free(buf);
		buf = NULL;
	}
	if (fd >= 0)
		close(fd);
	return buf;
}

static void feed(const char *idx, size_t len)
{
	LLVMFuzzerTestOneInput((const uint8_t *)idx, len);
	char *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	for (unsigned k = 1; k < 16; k++) /* cut short */
		LLVMFuzzerTestOneInput((const uint8_t *)idx, len * k / 16);
	for (unsigned k = 0; k < 16 && len; k++) { /* one byte changed */
		memcpy(copy, idx, len);
		copy[len * k / 16] ^= 0x5a;
		LLVMFuzzerTestOneInput((const uint8_t *)copy, len);
	}
	free(copy);
}

static void replay_mbox(const char *path)
{
	size_t n = strlen(path), len = 0;
	if (n > 4 && !strcmp(path + n - 4, ".idx")) { /* a saved fuzzer input */
		char *idx = slurp(path, &len);
		if (idx)
			feed(idx, len), replayed++;
		free(idx);
		return;
	}
	struct mbx_file f;
	char err[512], idx_path[4096];
	if (mbx_open(&f, path, state_dir, FUZZ_INDEX_KEY, err, sizeof err) < 0)
		return;
	mbx_close(&f);
	mbx_state_path(idx_path, sizeof idx_path, state_dir, FUZZ_INDEX_KEY, "idx");
	char *idx = slurp(idx_path, &len);
	if (!idx)
		return;
	feed(idx, len);
	if (seed_dir) {
		char out[4096];
		snprintf(out, sizeof out, "%s/%u.idx", seed_dir, replayed);
		FILE *o = fopen(out, "w");
		if (o) {
			fwrite(idx, 1, len, o);
			fclose(o);
		}
	}
	free(idx);
	unlink(idx_path);
	replayed++;
}

static void replay(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		if (S_ISREG(st.st_mode))
			replay_mbox(path);
		return;
	}
	DIR *d = opendir(path);
	struct dirent *e;
	char sub[4096];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
			replay(sub);
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	int first = 1;
	if (argc > 2 && !strcmp(argv[1], "-o"))
		seed_dir = argv[2], first = 3;
	if (!mkdtemp(state_dir)) {
		perror("mkdtemp");
		return 1;
	}
	for (int i = first; i < argc; i++)
		replay(argv[i]);
	/* whatever mbx_open left besides the index (.uidv, .diverged) */
	DIR *d = opendir(state_dir);
	struct dirent *e;
	char sub[4096];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    snprintf(sub, sizeof sub, "%s/%s", state_dir, e->d_name) < (int)sizeof sub)
			unlink(sub);
	if (d)
		closedir(d);
	rmdir(state_dir);
	printf("%u passed, 0 failed\n", replayed);
	return replayed ? 0 : 77;
}
