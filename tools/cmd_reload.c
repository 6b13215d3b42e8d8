/* cmd_reload.c — `mboxfs reload MOUNTPOINT`: the running daemon reads its
 * account map again (fs/reload.c says what changes and what is refused); the
 * same as SIGHUP to the daemon, but it waits for the outcome and says it. */
#include "commands.h"
#include "fs.h"
#include "help.h"
#include "mount_walk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#define reload_usage verb_help("reload") /* the help table: tools/help.c */

int cmd_reload(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--help")) {
		fputs(reload_usage, stdout);
		return 0;
	}
	if (argc != 2 || argv[1][0] == '-') {
		fputs(reload_usage, stderr);
		return 2;
	}
	const char *mnt = argv[1];
	if (check_mount("mboxfs reload", mnt) < 0)
		return 1;
	int r = lsetxattr(mnt, MBOXFS_RELOAD_XATTR, "", 0, 0) < 0 ? errno : 0;
	char text[1024];
	ssize_t n = lgetxattr(mnt, MBOXFS_RELOAD_XATTR, text, sizeof text - 1);
	if (n < 0)
		snprintf(text, sizeof text, "%s", strerror(r ? r : errno));
	else
		text[n] = '\0';
	fprintf(r ? stderr : stdout, "mboxfs reload: %s\n", text);
	return r ? 1 : 0;
}
