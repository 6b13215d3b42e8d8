/* cmd_index.c — `mboxfs index`: index every mailbox of the account map, in
 * parallel, and report each one with its anomalies. */
#include "account_map.h"
#include "commands.h"
#include "help.h"
#include "index_commit.h"
#include "json.h"
#include "quote.h"
#include "source.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define index_usage verb_help("index") /* the help table: tools/help.c */

/* One account: whose rights its sources are read with, and what its folder
 * directory showed (source.h). */
struct account_scan {
	struct src_rights rights;
	struct src_list list;
	int failed; /* -errno: the folder directory could not be listed */
};

/* One mailbox to index, and what came of it. */
struct job {
	const struct account *account;
	const struct account_scan *scan;
	char *folder;  /* "INBOX" or the path below the folders directory */
	char *courier; /* its Courier folder name, NULL for INBOX */
	char *path;
	char *key;
	uint64_t listed; /* its size when listed: the biggest are started first */
	/* results */
	int failed;
	char *err;             /* why it failed (malloc'ed; NULL: out of memory) */
	struct mbx_mailbox mb; /* messages dropped, anomalies kept */
	uint64_t bytes;
	enum mbx_open_how how;
};

/* Index files written per commit of a worker's batch (store.h): enough to
 * make the one syncfs() cheap per file, few enough that a crash or a full
 * disk costs little work. */
#define BATCH_FILES 512
#define BATCH_BYTES (64u << 20)

struct work {
	struct job *jobs;
	size_t njobs, jobs_cap;
	size_t *order; /* job numbers, biggest mailbox first */
	atomic_size_t next;
	size_t done; /* under lock, with bytes_done */
	uint64_t bytes_done;
	const char *state;
	struct committer *committer; /* NULL: each worker commits its own batches */
	pthread_mutex_t lock;
};

/* A batch of index files (store.h) and the mailboxes whose files are in it. */
struct batch_jobs {
	struct work *w;
	struct mbx_batch *b;
	struct job *in[BATCH_FILES];
	size_t n;
};

static int add_job(struct work *w, const struct account *a, const struct account_scan *scan,
                   const struct src_mailbox *box)
{
	if (w->njobs == w->jobs_cap) {
		size_t cap = w->jobs_cap ? 2 * w->jobs_cap : 256;
		struct job *n = realloc(w->jobs, cap * sizeof *n);
		if (!n)
			return -1;
		w->jobs = n, w->jobs_cap = cap;
	}
	struct job *j = &w->jobs[w->njobs];
	memset(j, 0, sizeof *j);
	j->account = a;
	j->scan = scan;
	j->folder = strdup(box->uw_name);
	j->courier = box->courier_name ? strdup(box->courier_name) : NULL;
	j->path = strdup(box->path);
	j->listed = box->size;
	if (!j->folder || !j->path || (box->courier_name && !j->courier) ||
	    asprintf(&j->key, "%s:%s", a->maildir, box->uw_name) < 0)
		return -1;
	w->njobs++;
	return 0;
}

/* The messages of failures are kept apart: thousands of jobs with a buffer
 * each made the job table megabytes to fault in before the first parse. */
#define ERR_MAX (PATH_MAX + 128)

static void job_failed(struct job *j, const char *why)
{
	j->failed = 1;
	free(j->err);
	j->err = strdup(why);
}

/* After the commit of a batch: when it failed, its mailboxes were not
 * indexed after all. */
static void batch_done(void *arg, int err)
{
	struct batch_jobs *bj = arg;
	char why[ERR_MAX];
	for (size_t i = 0; err && i < bj->n; i++) {
		snprintf(why, sizeof why, "%s: cannot write index in %s: %s", bj->in[i]->path,
		         bj->w->state, strerror(err));
		job_failed(bj->in[i], why);
	}
	free(bj);
}

/* NULL without memory: the worker then writes every index on its own. */
static struct batch_jobs *batch_jobs_new(struct work *w)
{
	struct batch_jobs *bj = calloc(1, sizeof *bj);
	if (bj && !(bj->b = mbx_batch_new(w->state))) {
		free(bj);
		bj = NULL;
	}
	if (bj)
		bj->w = w;
	return bj;
}

/* To the committer thread, or committed here if there is none. */
static void batch_hand_over(struct batch_jobs *bj)
{
	struct work *w = bj->w;
	if (w->committer) {
		commit_submit(w->committer, bj->b, batch_done, bj);
		return;
	}
	struct mbx_batch *b = bj->b;
	batch_done(bj, mbx_batch_commit(b) < 0 ? errno : 0);
	mbx_batch_free(b);
}

static void *worker(void *arg)
{
	struct work *w = arg;
	struct batch_jobs *bj = batch_jobs_new(w);
	for (;;) {
		size_t k = atomic_fetch_add(&w->next, 1);
		if (k >= w->njobs)
			break;
		struct job *j = &w->jobs[w->order[k]];
		struct mbx_file f;
		char why[ERR_MAX] = "";
		size_t files = bj ? mbx_batch_files(bj->b) : 0;
		/* the mbox with the account's rights, the index with ours */
		int fd = src_open_mbox(&j->scan->rights, j->path, why, sizeof why);
		if (fd < 0 ||
		    (bj ? mbx_open_fd_batch(&f, fd, j->path, w->state, j->key, bj->b, why,
		                            sizeof why)
		        : mbx_open_fd(&f, fd, j->path, w->state, j->key, why, sizeof why)) < 0) {
			job_failed(j, why);
		} else {
			j->bytes = f.size;
			j->how = f.how;
			j->mb = f.mb; /* keep the summary; messages are not needed */
			free(j->mb.msgs), free(j->mb.cuts);
			j->mb.msgs = NULL, j->mb.cuts = NULL;
			j->mb.msgs_cap = j->mb.cuts_cap = j->mb.ncuts = 0;
			mbx_mailbox_init(&f.mb);
			mbx_close(&f);
		}
		if (bj && mbx_batch_files(bj->b) > files) {
			bj->in[bj->n++] = j;
			if (bj->n == BATCH_FILES || mbx_batch_files(bj->b) >= BATCH_FILES ||
			    mbx_batch_bytes(bj->b) >= BATCH_BYTES) {
				batch_hand_over(bj);
				bj = batch_jobs_new(w);
			}
		}
		pthread_mutex_lock(&w->lock);
		w->done++;
		w->bytes_done += j->bytes;
		pthread_mutex_unlock(&w->lock);
	}
	if (bj && bj->n)
		batch_hand_over(bj);
	else if (bj) {
		mbx_batch_free(bj->b);
		free(bj);
	}
	return NULL;
}

/* The accounts to scan (source.h), by several threads: listing thousands of
 * folder directories one after the other would leave all but one processor
 * idle before the indexing starts. The results are reported in map order. */
struct scanning {
	const struct account_map *map;
	struct account_scan *scans;
	atomic_size_t next;
};

static void *scanner(void *arg)
{
	struct scanning *sc = arg;
	for (size_t i; (i = atomic_fetch_add(&sc->next, 1)) < sc->map->naccounts;) {
		const struct account *a = &sc->map->accounts[i];
		struct account_scan *scan = &sc->scans[i];
		src_rights_init(&scan->rights, a);
		scan->failed = src_scan(a, &scan->rights, &scan->list);
	}
	return NULL;
}

static void scan_all(struct scanning *sc, long jobs)
{
	if ((size_t)jobs > sc->map->naccounts)
		jobs = sc->map->naccounts ? (long)sc->map->naccounts : 1;
	/* jobs threads in all, this one included (and doing it all if no other
	 * could start) */
	pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
	long started = 0;
	for (; threads && started < jobs - 1; started++)
		if (pthread_create(&threads[started], NULL, scanner, sc) != 0)
			break;
	scanner(sc);
	for (long t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	free(threads);
}

/* Biggest first, so that no big mailbox starts last and keeps one worker
 * busy while the others are idle; then in map order. */
static const struct job *sort_jobs;
static int biggest_first(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	uint64_t sx = sort_jobs[x].listed, sy = sort_jobs[y].listed;
	if (sx != sy)
		return sx > sy ? -1 : 1;
	return x < y ? -1 : x > y;
}

static void progress(struct work *w, int final)
{
	pthread_mutex_lock(&w->lock);
	fprintf(stderr, "\rmboxfs index: %zu/%zu mailboxes, %.1f MB%s", w->done, w->njobs,
	        (double)w->bytes_done / 1e6, final ? "\n" : "");
	pthread_mutex_unlock(&w->lock);
}

/* The anomalies of the account's sources, after its INBOX. */
static void report_source_text(const struct job *j)
{
	const struct src_list *l = &j->scan->list;
	if (j->courier)
		return;
	for (size_t i = 0; i < l->nanomalies; i++) { /* quoted: from the old server */
		printf("  ");
		put_name(stdout, l->anomalies[i].path);
		printf(": %s: ", src_anomaly_name(l->anomalies[i].kind));
		put_text(stdout, l->anomalies[i].text);
		putchar('\n');
	}
}

static void report_text(const struct job *j)
{
	const struct mbx_mailbox *mb = &j->mb;
	report_source_text(j);
	/* names come from the old server: never raw to a terminal (quote.h) */
	put_name(stdout, j->account->maildir);
	putchar(' ');
	put_name(stdout, j->folder);
	if (j->failed) {
		printf(": error: ");
		put_text(stdout, j->err ? j->err : "out of memory");
		putchar('\n');
		return;
	}
	if (mb->kind == MBX_KIND_NOT_MAILBOX) {
		printf(": ");
		put_name(stdout, j->path);
		printf(": not served\n");
	} else
		printf(": %zu messages, %llu bytes, UIDVALIDITY %u (%s), UIDNEXT %u, index %s\n",
		       mb->nmsgs, (unsigned long long)j->bytes, mb->uidvalidity,
		       mbx_rule_name(mb->rule), mb->uidnext, mbx_open_how_name(j->how));
	for (size_t i = 0; i < mb->nanomalies; i++) {
		printf("  ");
		put_name(stdout, j->path);
		printf(":%llu: %s: ", (unsigned long long)mb->anomalies[i].line,
		       mbx_anomaly_name(mb->anomalies[i].kind));
		put_text(stdout, mb->anomalies[i].text);
		putchar('\n');
	}
}

static void report_json(const struct job *j, int first)
{
	const struct mbx_mailbox *mb = &j->mb;
	printf("%s\n {\"maildir\": ", first ? "" : ",");
	json_string(stdout, j->account->maildir);
	printf(", \"folder\": ");
	json_string(stdout, j->folder);
	printf(", \"mbox\": ");
	json_string(stdout, j->path);
	if (j->courier) {
		printf(", \"courier\": ");
		json_string(stdout, j->courier);
	} else { /* INBOX: the account's source anomalies (source.h) */
		const struct src_list *l = &j->scan->list;
		printf(", \"source_anomalies\": [");
		for (size_t i = 0; i < l->nanomalies; i++) {
			printf("%s{\"kind\": \"%s\", \"path\": ", i ? ", " : "",
			       src_anomaly_name(l->anomalies[i].kind));
			json_string(stdout, l->anomalies[i].path);
			printf(", \"text\": ");
			json_string(stdout, l->anomalies[i].text);
			printf("}");
		}
		printf("]");
	}
	if (j->failed) {
		printf(", \"error\": ");
		json_string(stdout, j->err ? j->err : "out of memory");
		printf("}");
		return;
	}
	printf(", \"served\": %s, \"messages\": %zu, \"bytes\": %llu, \"uid_rule\": \"%s\", "
	       "\"uidvalidity\": %u, \"uidnext\": %u, \"index\": \"%s\", \"anomalies\": [",
	       mb->kind == MBX_KIND_NOT_MAILBOX ? "false" : "true", mb->nmsgs,
	       (unsigned long long)j->bytes, mbx_rule_name(mb->rule), mb->uidvalidity, mb->uidnext,
	       mbx_open_how_name(j->how));
	for (size_t i = 0; i < mb->nanomalies; i++) {
		printf("%s{\"line\": %llu, \"kind\": \"%s\", \"text\": ", i ? ", " : "",
		       (unsigned long long)mb->anomalies[i].line,
		       mbx_anomaly_name(mb->anomalies[i].kind));
		json_string(stdout, mb->anomalies[i].text);
		printf("}");
	}
	printf("]}");
}

int cmd_index(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"map", required_argument, NULL, 'm'},
	    {"state", required_argument, NULL, 's'},
	    {"source-tz", required_argument, NULL, 'z'},
	    {"jobs", required_argument, NULL, 'j'},
	    {"json", no_argument, NULL, 'J'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *map_path = NULL, *state = NULL;
	long jobs = sysconf(_SC_NPROCESSORS_ONLN);
	int json = 0, c, status = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			map_path = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'z':
			if (set_source_tz(optarg) < 0) {
				fprintf(stderr, "mboxfs index: unknown time zone '%s'\n", optarg);
				return 2;
			}
			break;
		case 'j':
			if (parse_jobs(optarg, "mboxfs index", &jobs) < 0)
				return 2;
			break;
		case 'J':
			json = 1;
			break;
		case 'h':
			fputs(index_usage, stdout);
			return 0;
		default:
			fputs(index_usage, stderr);
			return 2;
		}
	}
	if (!map_path || !state || optind != argc) {
		fputs(index_usage, stderr);
		return 2;
	}
	if (mkdir(state, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "mboxfs index: %s: %s\n", state, strerror(errno));
		return 1;
	}
	/* a crash of an earlier run can leave temp files behind (store.h); an hour
	 * is far longer than any write of a run still going on */
	long swept = mbx_state_sweep(state, 3600);
	if (swept > 0)
		fprintf(stderr,
		        "mboxfs index: %s: removed %ld temp files left by an interrupted run\n",
		        state, swept);
	struct account_map map;
	int loaded = map_load(&map, map_path);
	for (size_t i = 0; i < map.nerrors; i++)
		fprintf(stderr, "mboxfs index: %s\n", map.errors[i]);
	if (loaded < 0 || map.nerrors)
		status = 1;
	struct work w = {.state = state};
	pthread_mutex_init(&w.lock, NULL);
	struct account_scan *scans = calloc(map.naccounts ? map.naccounts : 1, sizeof *scans);
	if (!scans) {
		fprintf(stderr, "mboxfs index: out of memory\n");
		return 1;
	}
	struct scanning sc = {.map = &map, .scans = scans};
	scan_all(&sc, jobs);
	for (size_t i = 0; i < map.naccounts; i++) {
		const struct account *a = &map.accounts[i];
		struct account_scan *scan = &scans[i];
		if (!a->has_owner) /* source.h: whose rights, once per account */
			fprintf(stderr, "mboxfs index: %s: sources read with the rights of %s\n",
			        a->maildir, scan->rights.who);
		if (scan->failed == -ENOMEM) {
			fprintf(stderr, "mboxfs index: out of memory\n");
			return 1;
		}
		if (scan->failed < 0) {
			fprintf(stderr, "mboxfs index: %s:%u: folders %s: %s\n", map_path, a->line,
			        account_folders_dir(a), strerror(-scan->failed));
			status = 1;
		}
		for (size_t b = 0; b < scan->list.nboxes; b++)
			if (add_job(&w, a, scan, &scan->list.boxes[b]) < 0) {
				fprintf(stderr, "mboxfs index: out of memory\n");
				return 1;
			}
	}
	if ((size_t)jobs > w.njobs)
		jobs = w.njobs ? (long)w.njobs : 1;
	if (!(w.order = malloc((w.njobs ? w.njobs : 1) * sizeof *w.order))) {
		fprintf(stderr, "mboxfs index: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < w.njobs; i++)
		w.order[i] = i;
	sort_jobs = w.jobs;
	qsort(w.order, w.njobs, sizeof *w.order, biggest_first);
	/* as many batches in commit or waiting as there are workers */
	w.committer = commit_start((size_t)jobs);
	pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
	long started = 0;
	for (; threads && started < jobs; started++)
		if (pthread_create(&threads[started], NULL, worker, &w) != 0)
			break;
	if (!started) /* no thread could start: do the work here */
		worker(&w);
	int tty = isatty(2);
	while (tty) {
		pthread_mutex_lock(&w.lock);
		int finished = w.done == w.njobs;
		pthread_mutex_unlock(&w.lock);
		progress(&w, finished);
		if (finished)
			break;
		sleep(1);
	}
	for (long t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	free(threads);
	if (w.committer)
		commit_finish(w.committer);
	if (json)
		printf("[");
	for (size_t i = 0; i < w.njobs; i++) {
		struct job *j = &w.jobs[i];
		if (json)
			report_json(j, i == 0);
		else
			report_text(j);
		if (j->failed)
			status = 1;
		else if (!strcmp(j->folder, "INBOX") && j->mb.kind == MBX_KIND_NOT_MAILBOX &&
		         !status)
			status = 3; /* the account will have no INBOX: a cutover must stop */
		mbx_mailbox_free(&j->mb);
		free(j->folder), free(j->courier), free(j->path), free(j->key), free(j->err);
	}
	for (size_t i = 0; i < map.naccounts; i++) {
		src_list_free(&scans[i].list);
		src_rights_free(&scans[i].rights);
	}
	free(scans);
	if (json)
		printf("\n]\n");
	free(w.jobs);
	free(w.order);
	map_free(&map);
	return status;
}
