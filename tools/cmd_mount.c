/* cmd_mount.c — `mboxfs mount`: serve the account map as Courier maildirs. */
#include "commands.h"
#include "fs.h"
#include "help.h"
#include "mount_walk.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define mount_usage verb_help("mount") /* the help table: tools/help.c */

/* A second mboxfs on the mount point of a running one would hide it and its
 * Courier sessions' files: say so and refuse. 1 if refused. */
static int refuse_stacking(const char *who, const char *mountpoint)
{
	if (is_mboxfs_mount(mountpoint) != 1)
		return 0; /* not mounted (or not reachable: the mount reports it) */
	fprintf(stderr,
	        "%s: %s: an mboxfs is already mounted there: not mounting a second one "
	        "over it (unmount it first)\n",
	        who, mountpoint);
	return 1;
}

int cmd_mount(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"map", required_argument, NULL, 'm'},   {"state", required_argument, NULL, 's'},
	    {"upper", required_argument, NULL, 'u'}, {"source-tz", required_argument, NULL, 'z'},
	    {"foreground", no_argument, NULL, 'f'},  {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	struct fs_config cfg = {0};
	int c;
	while ((c = getopt_long(argc, argv, "o:f", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			cfg.map_path = optarg;
			break;
		case 's':
			cfg.state_dir = optarg;
			break;
		case 'u':
			cfg.upper_dir = optarg;
			break;
		case 'z':
			if (set_source_tz(optarg) < 0) {
				fprintf(stderr, "mboxfs mount: unknown time zone '%s'\n", optarg);
				return 2;
			}
			break;
		case 'f':
			cfg.foreground = 1;
			break;
		case 'd':
			cfg.debug = cfg.foreground = 1;
			break;
		case 'o':
			cfg.fuse_opts = optarg;
			break;
		case 'h':
			fputs(mount_usage, stdout);
			return 0;
		default:
			fputs(mount_usage, stderr);
			return 2;
		}
	}
	if (!cfg.map_path || !cfg.state_dir || optind != argc - 1) {
		fputs(mount_usage, stderr);
		return 2;
	}
	cfg.mountpoint = argv[optind];
	return refuse_stacking("mboxfs mount", cfg.mountpoint) ? 1 : fs_main(&cfg);
}

/* mount(8) helper form, for /etc/fstab:
 *   /etc/mboxfs/accounts.map  /var/mail  mboxfs  state=/var/lib/mboxfs,source_tz=UTC  0 0
 * mount runs "mount.mboxfs MAP MOUNTPOINT -o OPTIONS"; state=, upper= and
 * source_tz= are mboxfs's own, the rest go to FUSE. */
int cmd_mount_helper(int argc, char **argv)
{
	static char fuse_opts[4096];
	struct fs_config cfg = {0};
	char *opts = NULL;
	if (argc >= 5 && !strcmp(argv[3], "-o"))
		opts = argv[4];
	if (argc < 3 || (argc != 3 && !opts)) {
		fputs(
		    "usage: mount.mboxfs MAP MOUNTPOINT [-o state=DIR[,upper=DIR][,source_tz=ZONE]"
		    "[,FUSE_OPTIONS]]\n",
		    stderr);
		return 2;
	}
	cfg.map_path = argv[1];
	cfg.mountpoint = argv[2];
	if (refuse_stacking("mount.mboxfs", cfg.mountpoint))
		return 1;
	size_t used = 0;
	for (char *save, *o = opts ? strtok_r(opts, ",", &save) : NULL; o;
	     o = strtok_r(NULL, ",", &save)) {
		if (!strncmp(o, "state=", 6))
			cfg.state_dir = o + 6;
		else if (!strncmp(o, "upper=", 6))
			cfg.upper_dir = o + 6;
		else if (!strncmp(o, "source_tz=", 10)) {
			if (set_source_tz(o + 10) < 0) {
				fprintf(stderr, "mount.mboxfs: unknown time zone '%s'\n", o + 10);
				return 2;
			}
		} else if (strcmp(o, "defaults") && strcmp(o, "auto") && strcmp(o, "noauto") &&
		           strcmp(o, "_netdev") && strcmp(o, "nofail") &&
		           strncmp(o, "x-", 2) /* x-systemd.*: for systemd, not FUSE */) {
			int n = snprintf(fuse_opts + used, sizeof fuse_opts - used, "%s%s",
			                 used ? "," : "", o);
			if (n < 0 || (size_t)n >= sizeof fuse_opts - used) {
				fputs("mount.mboxfs: options too long\n", stderr);
				return 2;
			}
			used += (size_t)n;
		}
	}
	if (!cfg.state_dir) {
		fputs("mount.mboxfs: the option state=DIR is required\n", stderr);
		return 2;
	}
	cfg.fuse_opts = used ? fuse_opts : NULL;
	return fs_main(&cfg);
}
