/* cmd_mount.c — `mboxfs mount`: serve the account map as Courier maildirs. */
#include "commands.h"
#include "fs.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char mount_usage[] =
    "usage: mboxfs mount --map FILE --state DIR [--upper DIR] [--source-tz ZONE]\n"
    "                    [--foreground] [--debug] [-o FUSE_OPTIONS] MOUNTPOINT\n";

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
	return fs_main(&cfg);
}
