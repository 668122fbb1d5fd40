/* The local secret store; see secrets.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secrets.h"

static bool valid_name(const char *name)
{
	const char *p;

	if (!*name)
		return false;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_' || *p == '-'))
			return false;
	return true;
}

int hp_secret_random(char *buf, size_t len, struct hp_err *err)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz0123456789";
	size_t n = 0;

	/* rejection sampling: no modulo bias */
	while (n < len) {
		unsigned char rnd[64];
		ssize_t got = getrandom(rnd, sizeof(rnd), 0);
		ssize_t i;

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return hp_err_set(err, HP_EIO,
					  "cannot read random bytes");
		}
		for (i = 0; i < got && n < len; i++)
			if (rnd[i] < 248) /* 248 = 62 * 4 */
				buf[n++] = alphabet[rnd[i] % 62];
	}
	return 0;
}

void hp_secret_free(char *s)
{
	if (!s)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

int hp_secret_read(char **out, const char *store, const char *name,
		   struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	char *path;
	int r;

	*out = NULL;
	if (!valid_name(name))
		return hp_err_set(err, HP_EINVALID, "bad secret name '%s'",
				  name);
	path = xasprintf("%s/%s", store, name);
	r = hp_buf_read_file(&b, path, err);
	if (r == 0) {
		while (b.len && (b.buf[b.len - 1] == '\n'))
			b.buf[--b.len] = '\0';
		if (!b.len)
			r = hp_err_set(err, HP_EINVALID,
				       "secret '%s' in '%s' is empty", name,
				       store);
		else
			*out = hp_buf_detach(&b, NULL);
	}
	if (b.alloc)
		explicit_bzero(b.buf, b.len);
	hp_buf_release(&b);
	free(path);
	return r;
}

int hp_secret_get(char **out, const char *store, const char *name,
		  size_t length, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	char *path = NULL, *val = NULL;
	struct stat st;
	int r;

	*out = NULL;
	if (!valid_name(name))
		return hp_err_set(err, HP_EINVALID, "bad secret name '%s'",
				  name);
	if ((r = hp_mkdir_p(store, 0700, err)) < 0)
		return r;
	/* refuse a store others can read: it holds every password */
	if (stat(store, &st) == 0 && (st.st_mode & 077)) {
		if (chmod(store, 0700) < 0)
			return hp_err_set(err, HP_EIO,
					  "secret store '%s' is readable by "
					  "others and cannot be fixed",
					  store);
	}
	path = xasprintf("%s/%s", store, name);
	r = hp_buf_read_file(&b, path, err);
	if (r == 0) {
		while (b.len && (b.buf[b.len - 1] == '\n'))
			b.buf[--b.len] = '\0';
		if (!b.len) {
			r = hp_err_set(err, HP_EINVALID,
				       "secret '%s' in '%s' is empty", name,
				       store);
			goto out;
		}
		*out = hp_buf_detach(&b, NULL);
		goto out;
	}
	if (r != HP_ENOTFOUND)
		goto out;
	hp_err_clear(err);
	val = xcalloc(length + 2, 1);
	if ((r = hp_secret_random(val, length, err)) < 0)
		goto out;
	val[length] = '\n';
	r = hp_write_file_atomic(path, val, length + 1, 0600, err);
	val[length] = '\0';
	if (r < 0)
		goto out;
	*out = val;
	val = NULL;
out:
	if (b.alloc)
		explicit_bzero(b.buf, b.len);
	hp_buf_release(&b);
	hp_secret_free(val);
	free(path);
	return r;
}
