/* cmd_show.c — `mboxfs show`: the served view of one mbox. */
#include "commands.h"
#include "from_line.h"
#include "help.h"
#include "json.h"
#include "name.h"
#include "sha256.h"
#include "store.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	printf("%s: %s, %zu messages, UIDVALIDITY ", path, driver_name(mb->kind), mb->nmsgs);
	if (mb->uidvalidity)
		printf("%u", mb->uidvalidity);
	else
		printf("(not chosen yet: use --state)");
	printf(" (%s), UIDNEXT %u\n", mbx_rule_name(mb->rule), mb->uidnext);
	if (mb->keywords[0]) {
		printf("keywords:");
		for (int i = 0; i < MBX_MAX_KEYWORDS && mb->keywords[i]; i++)
			printf(" %s", mb->keywords[i]);
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
			if (m->keywords & (1u << j) && mb->keywords[j])
				printf(" %s", mb->keywords[j]);
		printf("\n");
	}
	for (size_t i = 0; i < mb->nanomalies; i++)
		printf("%s:%llu: %s: %s\n", path, (unsigned long long)mb->anomalies[i].line,
		       mbx_anomaly_name(mb->anomalies[i].kind), mb->anomalies[i].text);
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"source-tz", required_argument, NULL, 'z'},
	    {"state", required_argument, NULL, 's'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *state = NULL;
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
	if (optind != argc - 1) {
		fputs(show_usage, stderr);
		return 2;
	}
	const char *path = argv[optind];
	char key[PATH_MAX], err[PATH_MAX + 128];
	if (!realpath(path, key))
		snprintf(key, sizeof key, "%s", path);
	struct mbx_file f;
	if (mbx_open(&f, path, state, key, err, sizeof err) < 0) {
		fprintf(stderr, "mboxfs show: %s\n", err);
		return 1;
	}
	if (json)
		print_json(&f, path);
	else
		print_text(&f, path);
	mbx_close(&f);
	return 0;
}
