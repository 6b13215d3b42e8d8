/* fs_main.c — set-up of the daemon: account map, upper tree, FUSE session. */
#include "fs.h"
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

struct fs fs;

static void log_at(int priority, const char *fmt, va_list ap)
{
	if (fs.foreground) {
		fputs("mboxfs: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else
		vsyslog(priority, fmt, ap);
}

void fs_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_at(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void fs_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_at(LOG_NOTICE, fmt, ap);
	va_end(ap);
}

/* Under ThreadSanitizer, replies are written, not spliced. The kernel sends
 * no FORGET for a node while a request about it is being answered, and
 * ThreadSanitizer sees that order only through the writes and reads of
 * /dev/fuse; it does not intercept splice(). A reply spliced from a real
 * file's fd would look as if it raced with the close of that fd at the
 * node's FORGET. The other builds test the splices. */
#if defined(__SANITIZE_THREAD__)
#define SPLICE_REPLIES 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SPLICE_REPLIES 0
#endif
#endif
#ifndef SPLICE_REPLIES
#define SPLICE_REPLIES 1
#endif

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* replies with mbox ranges are spliced, not copied through the daemon */
	if (SPLICE_REPLIES && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (SPLICE_REPLIES && (conn->capable & FUSE_CAP_SPLICE_MOVE))
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	/* lookups in one directory in parallel: without it the kernel holds the
	 * directory's lock for a whole lookup, and one account whose sources
	 * hang would stop the lookups of every maildir beside it */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* the kernel opens and closes files without asking: old messages and
	 * control snapshots never change, real files are read and written
	 * through one fd per file (ops_file.c). O_TRUNC must then come as a
	 * SETATTR, which an "atomic" O_TRUNC at open would skip (also where
	 * opens are answered: they open nothing). */
	if (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT)
		fs.no_open = 1;
	conn->want &= ~(unsigned)FUSE_CAP_ATOMIC_O_TRUNC;
	/* every listing with attributes, not only when the kernel guesses that
	 * lookups will follow: Courier opens every message it lists, and a
	 * lookup per message costs a request each */
	conn->want &= ~(unsigned)FUSE_CAP_READDIRPLUS_AUTO;
	/* mboxfs serves many users: file modes come as the caller asked */
	conn->want &= ~(unsigned)FUSE_CAP_DONT_MASK;
}

static int setup_accounts(void)
{
	places_init(fs.map.naccounts);
	for (size_t i = 0; i < fs.map.naccounts; i++)
		if (!account_add(&fs.map.accounts[i]))
			return -1;
	return 0;
}

static int open_upper(const char *dir)
{
	fs.upper_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs.upper_fd < 0)
		return -1;
	struct stat st;
	if (fstat(fs.upper_fd, &st) < 0)
		return -1;
	fs.root.fd = fs.upper_fd;
	fs.root.dev = st.st_dev;
	fs.root.ino = st.st_ino;
	fs.root.nlookup = 1;
	fs.root.path = "";
	return 0;
}

/* One mount or offline run per state directory: both change its logs. */
static int lock_state(void)
{
	char path[PATH_MAX + 8];
	snprintf(path, sizeof path, "%s/lock", fs.state_dir);
	fs.state_lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fs.state_lock_fd < 0)
		return -1;
	if (flock(fs.state_lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			errno = EBUSY;
		return -1;
	}
	return 0;
}

/* The daemon's pid in the lock file, for whoever wants to signal it. */
static void record_pid(void)
{
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fs.state_lock_fd, 0) < 0 || pwrite(fs.state_lock_fd, pid, (size_t)n, 0) != n)
		fs_log("cannot write the pid to the state directory's lock file");
}

/* One fd per upper-tree object the kernel knows (inode.c, as in
 * passthrough_hp): a materialized maildir of 281k messages needs that many.
 * As many as the kernel allows (fs.nr_open) when root, else the hard limit. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	unsigned long long nr_open = 0;
	FILE *f = fopen("/proc/sys/fs/nr_open", "re");
	if (f && fscanf(f, "%llu", &nr_open) != 1)
		nr_open = 0;
	if (f)
		fclose(f);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	struct rlimit want = rl;
	if (nr_open > rl.rlim_max)
		want.rlim_max = (rlim_t)nr_open;
	want.rlim_cur = want.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &want) < 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int fs_setup(const struct fs_config *cfg, const char *who)
{
	const char *upper = cfg->upper_dir ? cfg->upper_dir : cfg->mountpoint;
	fs.foreground = cfg->foreground;
	raise_fd_limit();
	fs.timeout = 1.0;
	fs.started = time(NULL);
	fs.default_uid = getuid();
	fs.default_gid = getgid();
	fs.readonly = cfg->readonly;
	pthread_mutex_init(&fs.lock, NULL);
	if (!cfg->foreground)
		openlog("mboxfs", LOG_PID, LOG_DAEMON);

	/* absolute: the daemon changes to "/", and reloads read it again */
	static char map_path[PATH_MAX];
	if (!realpath(cfg->map_path, map_path)) {
		fprintf(stderr, "%s: %s: %s\n", who, cfg->map_path, strerror(errno));
		return -1;
	}
	fs.map_path = map_path;
	if (map_load(&fs.map, map_path) < 0) {
		fprintf(stderr, "%s: %s\n", who, fs.map.errors[0]);
		return -1;
	}
	for (size_t i = 0; i < fs.map.nerrors; i++)
		fprintf(stderr, "%s: %s (line skipped)\n", who, fs.map.errors[i]);
	/* absolute: the daemon changes to "/" */
	static char state[PATH_MAX];
	if ((!cfg->readonly && mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) ||
	    !realpath(cfg->state_dir, state)) {
		fprintf(stderr, "%s: %s: %s\n", who, cfg->state_dir, strerror(errno));
		return -1;
	}
	fs.state_dir = state;
	/* read-only (verify): a mount may hold the lock and owns the reserve */
	if (!cfg->readonly && lock_state() < 0) {
		fprintf(stderr, "%s: state directory %s: %s%s\n", who, state, strerror(errno),
		        errno == EBUSY ? " (a mount or an offline materialize uses it)" : "");
		return -1;
	}
	int r = cfg->readonly ? 0 : journal_reserve_init(state);
	if (r < 0) /* not fatal: the journals still reserve their own room */
		fprintf(stderr, "%s: state directory %s: no room for the journal reserve: %s\n",
		        who, state, strerror(-r));
	/* the upper tree is opened before mounting: by default it is the
	 * directory the mount will cover */
	if (open_upper(upper) < 0) {
		fprintf(stderr, "%s: upper tree %s: %s\n", who, upper, strerror(errno));
		return -1;
	}
	inode_table_init();
	if (setup_accounts() < 0) {
		fprintf(stderr, "%s: out of memory\n", who);
		return -1;
	}
	return 0;
}

/* SIGTERM and SIGINT end the mount even when a worker thread is stuck in a
 * slow source: libfuse's own handler only asks the session loop to stop, and
 * the loop then waits for every worker, forever for a stuck one. Here a
 * thread of its own takes the signal, unmounts (lazily, as libfuse does as
 * root) and ends the process without waiting for the workers: every
 * answered change is already written before its reply (journal.h, the
 * contract that makes kill -9 safe); the journals are synced first. */
static void *terminator(void *arg)
{
	sigset_t *set = arg;
	int sig = 0;
	while (sigwait(set, &sig) != 0)
		;
	fs_log("signal %d: unmounting", sig);
	fuse_session_unmount(fs.se);
	journal_syncer_stop();
	_exit(0);
	return NULL;
}

/* Blocks SIGTERM and SIGINT in this thread and in every thread started after
 * (the session's workers), and starts the thread that takes them. */
static int start_terminator(void)
{
	static sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_t t;
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    pthread_create(&t, NULL, terminator, &set) != 0)
		return -1;
	pthread_detach(t);
	return 0;
}

int fs_main(const struct fs_config *cfg)
{
	fs_malloc_tune();
	if (fs_setup(cfg, "mboxfs mount") < 0)
		return 1;
	char opts[4096];
	snprintf(opts, sizeof opts,
	         "allow_other,default_permissions,fsname=mboxfs,subtype=mboxfs%s%s",
	         cfg->fuse_opts ? "," : "", cfg->fuse_opts ? cfg->fuse_opts : "");
	char *argv[] = {"mboxfs", "-o", opts, cfg->debug ? "-d" : NULL, NULL};
	struct fuse_args args = FUSE_ARGS_INIT(cfg->debug ? 4 : 3, argv);
	struct fuse_lowlevel_ops ops = {.init = op_init};
	ops_entry_fill(&ops);
	ops_dir_fill(&ops);
	ops_file_fill(&ops);

	int status = 1;
	struct fuse_session *se = fuse_session_new(&args, &ops, sizeof ops, NULL);
	fuse_opt_free_args(&args); /* the session keeps what it needs */
	if (!se)
		return 1;
	fs.se = se;

	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	/* before the mount covers it, and before fuse_daemonize() leaves the
	 * working directory */
	fs.mount_path = realpath(cfg->mountpoint, NULL);
	if (fuse_session_mount(se, cfg->mountpoint) != 0)
		goto out_signals;
	if (fuse_daemonize(cfg->foreground) != 0 || start_terminator() != 0)
		goto out_unmount;
	record_pid();
	/* threads after fuse_daemonize(): its fork keeps only the caller */
	if (reload_on_sighup() < 0) {
		fs_log("cannot start the reload thread");
		goto out_unmount;
	}
	if (journal_syncer_start() < 0) {
		fs_log("cannot start the journal syncer thread");
		goto out_unmount;
	}
	if (prefetch_start() < 0) {
		fs_log("cannot start the prefetch thread");
		journal_syncer_stop();
		goto out_unmount;
	}
	fs_note("serving %zu accounts of %s at %s (%zu map lines skipped), state directory %s",
	        fs.map.naccounts, cfg->map_path, cfg->mountpoint, fs.map.nerrors, fs.state_dir);
	struct fuse_loop_config *loop = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(loop, 32);
	status = fuse_session_loop_mt(se, loop) != 0;
	fuse_loop_cfg_destroy(loop);
	fs_note("%s: unmounting%s", cfg->mountpoint, status ? " after an error" : "");
	prefetch_stop();
	journal_syncer_stop();
out_unmount:
	fuse_session_unmount(se);
	forget_cur_names_drain();
out_signals:
	reload_stop();
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	free(fs.mount_path);
	fs.mount_path = NULL;
	return status;
}
