/* commands.h — the verbs of the mboxfs command. Each takes argc/argv with
 * argv[0] being the verb, and returns the process exit status. */
#ifndef MBOXFS_COMMANDS_H
#define MBOXFS_COMMANDS_H

int cmd_show(int argc, char **argv);
int cmd_index(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_materialize(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_map(int argc, char **argv);
/* The same, called as mount.mboxfs by mount(8): MAP MOUNTPOINT -o OPTIONS. */
int cmd_mount_helper(int argc, char **argv);

/* Sets the time zone in which zone-less From_ lines are read (--source-tz).
 * Must run before any thread starts. Returns 0, or -1 if zone is unknown. */
int set_source_tz(const char *zone);

/* --jobs N: 1 to 256; says why not on stderr after who. 0, or -1. */
int parse_jobs(const char *arg, const char *who, long *jobs);

#endif
