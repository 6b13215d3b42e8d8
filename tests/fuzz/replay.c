/* replay.c — runs the fuzz target over files given on the command line (or
 * every file below given directories), so that ordinary builds check the same
 * properties on real mailboxes. Prints "N passed, 0 failed"; a failure aborts. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

static unsigned replayed;

static void replay(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		char sub[4096];
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.' &&
			    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
				replay(sub);
		if (d)
			closedir(d);
		return;
	}
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	void *p = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	if (p != MAP_FAILED) {
		LLVMFuzzerTestOneInput(p, (size_t)st.st_size);
		replayed++;
		if (p)
			munmap(p, (size_t)st.st_size);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		replay(argv[i]);
	printf("%u passed, 0 failed\n", replayed);
	return replayed ? 0 : 77; /* 77: nothing to replay, a skip */
}
