/* verify_control.c — `mboxfs verify`: a folder's Courier control files
 * (courierimapuiddb, courierimapkeywords/, courierpop3dsizelist,
 * courierimapsubscribed) read from the mail root and compared, as Courier
 * reads them (verify_files.c), with those the mount generates for the folder
 * (virtual_content: index/courier_files.c over the folder's state). */
#include "verify_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A whole small file, NUL-terminated; NULL with errno. */
static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, used = 0;
	char *buf = malloc(cap);
	for (ssize_t n = 1; buf && n > 0;) {
		if (used + 1 == cap) {
			char *grown = realloc(buf, cap *= 2);
			if (!grown) {
				free(buf);
				buf = NULL;
				errno = ENOMEM;
				break;
			}
			buf = grown;
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0 && errno == EINTR)
			n = 1;
		else if (n < 0) {
			int err = errno;
			free(buf);
			buf = NULL;
			errno = err;
		} else
			used += (size_t)n;
	}
	close(fd);
	if (buf) {
		buf[used] = '\0';
		*len = used;
	}
	return buf;
}

/* A file of the folder (NULL with errno ENOENT when absent); any other
 * failure to read it is a difference. */
static char *read_control(struct verify_run *run, const char *path, size_t *len)
{
	char *text = read_file(path, len);
	if (!text && errno != ENOENT) {
		differ(run, path, "cannot be read: %s", strerror(errno));
		errno = EIO;
	}
	return text;
}

const char *generated(struct folder *f, enum vkind kind, size_t *len, char **owned)
{
	const char *data;
	if (virtual_content(vid_make(kind, f->id, 0), &data, len, owned) < 0) {
		*len = 0;
		return "";
	}
	return data;
}

void verify_uiddb(struct verify_run *run, const struct vf_set *present,
                  const struct vf_uiddb *expected, struct vf_uiddb *actual)
{
	char path[FILE_MAX], *moved = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/courierimapuiddb", run->dir);
	char *text = read_control(run, path, &len);
	int missing = !text && errno == ENOENT;
	/* Courier renumbers a folder it renamed (a new UIDVALIDITY): its own */
	int renamed = run->f != run->f->acct->inbox &&
	              folder_log_lookup(run->f->acct, run->f->uw_name, &moved) == 1;
	free(moved);
	if (missing && !renamed)
		differ(run, path,
		       "missing: Courier will give the folder a new UIDVALIDITY and "
		       "every message a new UID");
	if (text && vf_uiddb_parse(text, len, actual) < 0)
		differ(run, path, "out of memory: not compared");
	else if (text && !renamed) {
		run->file = path;
		vf_uiddb_compare(expected, actual, present, file_differs, run);
	}
	free(text);
}

void verify_keywords(struct verify_run *run, const struct vf_set *present)
{
	char dir[DIR_MAX], path[FILE_MAX], *owned = NULL;
	size_t len, elen;
	struct vf_keywords expected = {0}, actual = {0};
	const char *want = generated(run->f, VK_KEYWORDS, &elen, &owned);
	snprintf(dir, sizeof dir, "%s/courierimapkeywords", run->dir);
	snprintf(path, sizeof path, "%s/:list", dir);
	char *text = read_control(run, path, &len);
	int missing = !text && errno == ENOENT;
	int r = vf_keywords_parse(want, elen, &expected);
	if (r == 0 && text)
		r = vf_keywords_parse(text, len, &actual);
	/* update files Courier has not merged into :list yet win over it */
	DIR *d = opendir(dir);
	struct dirent *de;
	while (r == 0 && d && (de = readdir(d))) {
		char *update;
		size_t ulen;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.' && de->d_name[0] != ':' &&
		    vf_set_has(present, de->d_name) && (update = read_file(path, &ulen))) {
			r = vf_keywords_update(&actual, de->d_name, update, ulen);
			free(update);
		}
	}
	if (d)
		closedir(d);
	size_t with_keywords = 0;
	for (size_t i = 0; i < present->n; i++)
		with_keywords += *vf_keywords_of(&expected, present->v[i]) != '\0';
	snprintf(path, sizeof path, "%s/:list", dir);
	if (r < 0)
		differ(run, path, "out of memory: not compared");
	else if (missing && with_keywords && !actual.n)
		differ(run, path, "missing: %zu messages lose their keywords", with_keywords);
	else {
		run->file = path;
		vf_keywords_compare(&expected, &actual, present, file_differs, run);
	}
	free(text);
	free(owned);
	vf_keywords_free(&expected);
	vf_keywords_free(&actual);
}

void verify_pop3(struct verify_run *run, const struct vf_set *present,
                 const struct cur_listing *cur)
{
	char path[FILE_MAX], *owned = NULL;
	size_t len, elen;
	struct vf_pop3 expected = {0}, actual = {0};
	const char *want = generated(run->f, VK_POP3LIST, &elen, &owned);
	snprintf(path, sizeof path, "%s/courierpop3dsizelist", run->dir);
	char *text = read_control(run, path, &len);
	if (!text && errno == ENOENT)
		differ(run, path,
		       "missing: pop3d will give every message a new UIDL, not "
		       "uw-ipop3d's");
	else if (text && (vf_pop3_parse(want, elen, &expected) < 0 ||
	                  vf_pop3_parse(text, len, &actual) < 0))
		differ(run, path, "out of memory: not compared");
	else if (text) {
		run->file = path;
		vf_pop3_compare(&expected, &actual, present, &cur->keys, file_differs, run);
	}
	free(text);
	free(owned);
	vf_pop3_free(&expected);
	vf_pop3_free(&actual);
}

void verify_subscriptions(struct verify_run *run)
{
	char path[FILE_MAX], *owned = NULL;
	size_t len = 0, elen;
	const char *want = generated(run->f, VK_SUBSCRIBED, &elen, &owned);
	snprintf(path, sizeof path, "%s/courierimapsubscribed", run->dir);
	char *text = read_control(run, path, &len);
	if (text || errno == ENOENT) {
		run->file = path;
		vf_subscriptions_compare(want, elen, text ? text : "", text ? len : 0, file_differs,
		                         run);
	}
	free(text);
	free(owned);
}
