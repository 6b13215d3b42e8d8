/* cmd_show.c — `mboxfs show`: the served view of one mbox. */
#include "account_map.h"
#include "commands.h"
#include "from_line.h"
#include "help.h"
#include "json.h"
#include "name.h"
#include "quote.h"
#include "sha256.h"
#include "source_guard.h"
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define show_usage verb_help("show") /* the help table: tools/help.c */

/* IMAP flag names, in the order imapd prints them. */
static const struct {
	uint8_t flag;
	const char *name;
} imap_flags[] = {
    {MBX_SEEN, "\\Seen"},         {MBX_DELETED, "\\Deleted"}, {MBX_FLAGGED, "\\Flagged"},
    {MBX_ANSWERED, "\\Answered"}, {MBX_DRAFT, "\\Draft"},
};

static const char *driver_name(enum mbx_kind kind)
{
	static const char *const names[] = {"unix", "dummy", "not-mailbox"};
	return names[kind];
}

static void sha_piece(const char *bytes, size_t len, void *arg)
{
	sha256_update(arg, bytes, len);
}

static void print_json(const struct mbx_file *f, const char *path)
{
	const struct mbx_mailbox *mb = &f->mb;
	const char *tz = getenv("TZ");
	printf("{\n \"mbox\": ");
	json_string(stdout, path);
	printf(",\n \"tz\": ");
	json_string(stdout, tz ? tz : "");
	printf(",\n \"driver\": \"%s\",\n \"uidvalidity_rule\": \"%s\",\n \"uidvalidity\": ",
	       driver_name(mb->kind), mbx_rule_name(mb->rule));
	if (mb->uidvalidity)
		printf("%u", mb->uidvalidity);
	else
		printf("null");
	printf(",\n \"uidnext\": %u,\n \"keywords\": [", mb->uidnext);
	for (int i = 0, n = 0; i < MBX_MAX_KEYWORDS && mb->keywords[i]; i++, n++) {
		printf(n ? ", " : "");
		json_string(stdout, mb->keywords[i]);
	}
	printf("],\n \"messages\": [");
	for (size_t i = 0; i < mb->nmsgs; i++) {
		const struct mbx_message *m = &mb->msgs[i];
		char date[MBX_DATE_STRLEN], name[MBX_NAME_MAX], hex[65];
		struct sha256 sha;
		sha256_init(&sha);
		mbx_for_each_piece(mb, m, f->data, sha_piece, &sha);
		sha256_hex(&sha, hex);
		mbx_format_internaldate(m->date, m->zone, date);
		mbx_message_name(mb->uidvalidity, m, 0, name);
		printf("%s\n  {\"uid\": %u, \"flags\": [", i ? "," : "", m->uid);
		for (size_t j = 0, n = 0; j < sizeof imap_flags / sizeof imap_flags[0]; j++)
			if (m->flags & imap_flags[j].flag)
				printf("%s\"\\%s\"", n++ ? ", " : "", imap_flags[j].name);
		printf("], \"keywords\": [");
		for (int j = 0, n = 0; j < MBX_MAX_KEYWORDS; j++)
			if (m->keywords & (1u << j) && mb->keywords[j]) {
				printf(n++ ? ", " : "");
				json_string(stdout, mb->keywords[j]);
			}
		printf("], \"recent\": %s, \"size\": %llu, \"internaldate\": \"%s\", "
		       "\"sha256_lf\": \"%s\", \"name\": ",
		       m->flags & MBX_RECENT ? "true" : "false",
		       (unsigned long long)(m->size + mbx_served_lines(mb, m, f->data)), date, hex);
		json_string(stdout, name);
		printf("}");
	}
	printf("\n ],\n \"anomalies\": [");
	for (size_t i = 0; i < mb->nanomalies; i++) {
		const struct mbx_anomaly *a = &mb->anomalies[i];
		printf("%s\n  {\"line\": %llu, \"kind\": \"%s\", \"text\": ", i ? "," : "",
		       (unsigned long long)a->line, mbx_anomaly_name(a->kind));
		json_string(stdout, a->text);
		printf("}");
	}
	printf("\n ]\n}\n");
}

static void print_text(const struct mbx_file *f, const char *path)
{
	const struct mbx_mailbox *mb = &f->mb;
	put_name(stdout, path);
	printf(": %s, %zu messages, UIDVALIDITY ", driver_name(mb->kind), mb->nmsgs);
	if (mb->uidvalidity)
		printf("%u", mb->uidvalidity);
	else
		printf("(not chosen yet: use --state)");
	printf(" (%s), UIDNEXT %u\n", mbx_rule_name(mb->rule), mb->uidnext);
	if (mb->keywords[0]) {
		printf("keywords:");
		for (int i = 0; i < MBX_MAX_KEYWORDS && mb->keywords[i]; i++) {
			putchar(' ');
			put_name(stdout, mb->keywords[i]);
		}
		printf("\n");
	}
	printf("%8s  %-6s %9s  %-26s  %s\n", "UID", "FLAGS", "SIZE", "INTERNALDATE",
	       "FILE NAME, KEYWORDS");
	for (size_t i = 0; i < mb->nmsgs; i++) {
		const struct mbx_message *m = &mb->msgs[i];
		char date[MBX_DATE_STRLEN], name[MBX_NAME_MAX], letters[6];
		mbx_format_internaldate(m->date, m->zone, date);
		mbx_message_name(mb->uidvalidity, m, 0, name);
		mbx_flag_letters(m->flags, letters);
		printf("%8u  %-6s %9llu  %-26s  %s", m->uid, letters,
		       (unsigned long long)(m->size + mbx_served_lines(mb, m, f->data)), date,
		       name);
		for (int j = 0; j < MBX_MAX_KEYWORDS; j++)
			if (m->keywords & (1u << j) && mb->keywords[j]) {
				putchar(' ');
				put_name(stdout, mb->keywords[j]);
			}
		printf("\n");
	}
	for (size_t i = 0; i < mb->nanomalies; i++) {
		put_name(stdout, path);
		printf(":%llu: %s: ", (unsigned long long)mb->anomalies[i].line,
		       mbx_anomaly_name(mb->anomalies[i].kind));
		put_text(stdout, mb->anomalies[i].text);
		putchar('\n');
	}
}

/* The key index and mount give mbox in the state: "<maildir>:INBOX" or
 * "<maildir>:<path below the folder directory>". 0, or -1 (said on stderr). */
static int state_key(const char *map_path, const char *mbox, char *key, size_t keylen)
{
	struct account_map map;
	char real[PATH_MAX], other[PATH_MAX];
	int found = -1;
	if (map_load(&map, map_path) < 0) {
		fprintf(stderr, "mboxfs show: %s\n", map.errors[0]);
		map_free(&map);
		return -1;
	}
	if (!realpath(mbox, real)) {
		perror(mbox);
		map_free(&map);
		return -1;
	}
	for (size_t i = 0; found < 0 && i < map.naccounts; i++) {
		const struct account *a = &map.accounts[i];
		const char *dir = account_folders_dir(a);
		size_t n;
		if (realpath(a->inbox, other) && !strcmp(other, real))
			found =
			    snprintf(key, keylen, "%s:INBOX", a->maildir) < (int)keylen ? 0 : -1;
		else if (dir && realpath(dir, other) && (n = strlen(other)) &&
		         !strncmp(other, real, n) && real[n] == '/')
			found =
			    snprintf(key, keylen, "%s:%s", a->maildir, real + n + 1) < (int)keylen
			        ? 0
			        : -1;
	}
	if (found < 0)
		fprintf(stderr, "mboxfs show: %s: not a mailbox of any account in %s\n", mbox,
		        map_path);
	map_free(&map);
	return found;
}

static const char *const state_exts[] = {"idx", "uidv", "diverged"};

/* Copies key's files from state into the private directory copy, so that
 * show reads the state as index and mount left it and never changes it. */
static void copy_state(const char *state, const char *copy, const char *key)
{
	for (size_t i = 0; i < sizeof state_exts / sizeof state_exts[0]; i++) {
		char from[PATH_MAX], to[PATH_MAX], buf[65536];
		mbx_state_path(from, sizeof from, state, key, state_exts[i]);
		mbx_state_path(to, sizeof to, copy, key, state_exts[i]);
		int in = open(from, O_RDONLY | O_CLOEXEC), out = -1;
		if (in >= 0)
			out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ssize_t n;
		while (out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
			if (write(out, buf, (size_t)n) != n)
				break;
		if (in >= 0)
			close(in);
		if (out >= 0)
			close(out);
	}
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
			unlink(path);
	if (d)
		closedir(d);
	rmdir(dir);
}

struct print_pass {
	const struct mbx_file *f;
	const char *path;
	int json;
};

static void print_view(void *arg)
{
	struct print_pass *p = arg;
	if (p->json)
		print_json(p->f, p->path);
	else
		print_text(p->f, p->path);
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"source-tz", required_argument, NULL, 'z'},
	    {"state", required_argument, NULL, 's'},
	    {"map", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *state = NULL, *map_path = NULL;
	int json = 0, c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'z':
			if (set_source_tz(optarg) < 0) {
				fprintf(stderr, "mboxfs show: unknown time zone '%s'\n", optarg);
				return 2;
			}
			break;
		case 's':
			state = optarg;
			break;
		case 'm':
			map_path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(show_usage, stdout);
			return 0;
		default:
			fputs(show_usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !state != !map_path) {
		/* the state is keyed by maildir and folder: only the map says which */
		fputs(show_usage, stderr);
		return 2;
	}
	const char *path = argv[optind];
	char key[PATH_MAX] = "", err[PATH_MAX + 128], copy[] = "/tmp/mboxfs-show.XXXXXX";
	if (state) {
		if (state_key(map_path, path, key, sizeof key) < 0)
			return 1;
		if (!mkdtemp(copy)) {
			perror("mboxfs show: mkdtemp");
			return 1;
		}
		copy_state(state, copy, key);
	}
	struct mbx_file f;
	int r = mbx_open(&f, path, state ? copy : NULL, key, err, sizeof err);
	if (state)
		remove_dir(copy);
	if (r < 0) {
		fprintf(stderr, "mboxfs show: %s\n", err);
		return 1;
	}
	struct print_pass pass = {&f, path, json};
	r = source_guard_run(f.data, f.size, print_view, &pass);
	fflush(stdout);
	if (r < 0)
		fprintf(stderr, "mboxfs show: %s: the file shrank while it was read\n", path);
	mbx_close(&f);
	return r < 0 ? 1 : 0;
}
