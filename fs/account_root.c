/* account_root.c — an account's maildir directory in the upper tree, made
 * without reading its sources: what the directories above maildirs need to
 * list and look up their children (places.c), so that they never wait for a
 * slow account. The rest of the account (its folders, from its sources) is
 * prepared by account_ready() when the maildir itself is looked up. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int account_root_ready(const struct account_rt *acct)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s", acct->a->maildir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	/* as account_ready() makes it: the directories on the way stay root's,
	 * the maildir gets mode 0700 and the account's owner */
	for (char *s = path;; s++) {
		char *slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		if (mkdirat(fs.upper_fd, path, slash ? 0755 : 0700) == 0) {
			if (!slash && fchownat(fs.upper_fd, path, acct->uid, acct->gid,
			                       AT_SYMLINK_NOFOLLOW) < 0)
				return -errno;
		} else if (errno != EEXIST)
			return -errno;
		if (!slash)
			return 0;
		*slash = '/';
		s = slash;
	}
}
