/*
 * Versions of a secret, by the sha256 of their value: see secret_store.h.
 * <store>/versions/<name>/<sha256 hex> holds each value ever current or
 * staged (0600, like the current file); the current value stays in
 * <store>/<name>, so a store made before versions existed keeps working
 * and gets its versions recorded as they are first needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret_store.h"
#include "secret_store_priv.h"

void hp_secret_hash(const char *value, char out[65])
{
	hp_sha256_hex(value, strlen(value), out);
}

static bool sha_ok(const char *sha)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((sha[i] >= '0' && sha[i] <= '9') ||
		      (sha[i] >= 'a' && sha[i] <= 'f')))
			return false;
	return sha[64] == '\0';
}

/* The common checks of every entry point: name, store, and sha (NULL:
 * none given). */
static int check_args(const char *store, const char *name, const char *sha,
		      struct hp_err *err)
{
	if (!hp_secret_name_ok(name))
		return hp_err_set(err, HP_EINVALID, "bad secret name '%s'",
				  name);
	if (sha && !sha_ok(sha)) {
		char *p = hp_printable_dup(sha, 80);
		int r = hp_err_set(err, HP_EINVALID,
				   "bad version '%s' of secret '%s': not a "
				   "sha256 in lowercase hex",
				   p, name);

		free(p);
		return r;
	}
	return hp_secret_store_check(store, err);
}

/* Read version file path of name and check it hashes to sha: a file
 * that does not is never used. */
static int read_checked(char **out, const char *path, const char *name,
			const char *store, const char *sha,
			struct hp_err *err)
{
	char got[65];
	int r;

	/* messages about the file name it, not just the store */
	r = hp_secret_read_file(out, path, name, path, err);
	if (r == HP_ENOTFOUND)
		return hp_err_set(err, HP_ENOTFOUND,
				  "version %s of secret '%s' is not in the "
				  "store '%s'",
				  sha, name, store);
	if (r < 0) {
		hp_err_prefix(err, "secret store '%s' is damaged", store);
		return r;
	}
	hp_secret_hash(*out, got);
	if (strcmp(got, sha) != 0) {
		hp_secret_free(*out);
		*out = NULL;
		return hp_err_set(err, HP_EINVALID,
				  "secret version file '%s' does not hold the "
				  "value its name says (its content hashes to "
				  "%.12s...): the store is corrupt. Put the file "
				  "back from a backup of the store; if no "
				  "rollback point records this version (haprov "
				  "history), remove it",
				  path, got);
	}
	return 0;
}

/* The directory of name's versions; created (with versions/) when
 * create, else only checked. */
static int versions_dir(char **dir, const char *store, const char *name,
			bool create, struct hp_err *err)
{
	char *top = xasprintf("%s/%s", store, HP_SECRET_VERSIONS_DIR);
	int r;

	*dir = xasprintf("%s/%s", top, name);
	r = create ? hp_secret_mkdir(top, "secret versions directory", err)
		   : hp_secret_check_dir(top, "secret versions directory",
					 err);
	if (r == 0)
		r = create ? hp_secret_mkdir(*dir, "secret versions directory",
					     err)
			   : hp_secret_check_dir(
				     *dir, "secret versions directory", err);
	free(top);
	return r;
}

int hp_secret_read_version(char **out, const char *store, const char *name,
			   const char *sha256, struct hp_err *err)
{
	char *dir = NULL, *path = NULL;
	int r;

	*out = NULL;
	if ((r = check_args(store, name, sha256, err)) < 0)
		return r;
	r = versions_dir(&dir, store, name, false, err);
	if (r == 0) {
		path = xasprintf("%s/%s", dir, sha256);
		r = read_checked(out, path, name, store, sha256, err);
	} else if (r == HP_ENOTFOUND) {
		r = hp_err_set(err, HP_ENOTFOUND,
			       "version %s of secret '%s' is not in the store "
			       "'%s' (it has no versions of it)",
			       sha256, name, store);
	}
	free(dir);
	free(path);
	return r;
}

int hp_secret_read_hashed(char **out, char sha256[65], const char *store,
			  const char *name, struct hp_err *err)
{
	int r = hp_secret_read(out, store, name, err);

	if (r == 0)
		hp_secret_hash(*out, sha256);
	else
		sha256[0] = '\0';
	return r;
}

/* "value\n", in a buffer hp_secret_free wipes. */
static char *as_line(const char *value)
{
	size_t n = strlen(value) + 2;
	char *line = xmalloc(n);

	snprintf(line, n, "%s\n", value);
	return line;
}

/* Record value as a version of name (value is one line, checked). */
static int keep_value(const char *store, const char *name, const char *value,
		      char sha[65], struct hp_err *err)
{
	char *dir = NULL, *path = NULL, *old = NULL, *line = NULL;
	size_t len = strlen(value);
	int r;

	hp_secret_hash(value, sha);
	if ((r = versions_dir(&dir, store, name, true, err)) < 0)
		goto out;
	path = xasprintf("%s/%s", dir, sha);
	r = read_checked(&old, path, name, store, sha, err);
	if (r != HP_ENOTFOUND) /* there already (0), or unusable */
		goto out;
	hp_err_clear(err);
	line = as_line(value);
	r = hp_secret_write_file(dir, path, line, len + 1, false, err);
	if (r < 0 && access(path, F_OK) == 0) {
		/* written meanwhile by another run: the same name must mean
		 * the same value */
		hp_err_clear(err);
		r = read_checked(&old, path, name, store, sha, err);
	}
out:
	hp_secret_free(old);
	hp_secret_free(line);
	free(path);
	free(dir);
	return r;
}

int hp_secret_keep_version(const char *store, const char *name,
			   const char *value, char sha256[65],
			   struct hp_err *err)
{
	char sha[65];
	char *cur = NULL;
	int r;

	if ((r = check_args(store, name, NULL, err)) < 0)
		return r;
	if (!value) {
		r = hp_secret_read(&cur, store, name, err);
		if (r < 0)
			return r;
		value = cur;
	}
	r = keep_value(store, name, value, sha, err);
	hp_secret_free(cur);
	if (r == 0 && sha256)
		memcpy(sha256, sha, 65);
	return r;
}

/* Record the current value, if there is one, as a version (a store made
 * before versions existed: lazily migrated). *cur_sha: its hash, or "". */
static int keep_current(const char *store, const char *name,
			char cur_sha[65], struct hp_err *err)
{
	char *cur = NULL;
	int r;

	cur_sha[0] = '\0';
	r = hp_secret_read(&cur, store, name, err);
	if (r == HP_ENOTFOUND) {
		hp_err_clear(err);
		return 0;
	}
	if (r == 0)
		r = keep_value(store, name, cur, cur_sha, err);
	hp_secret_free(cur);
	return r;
}

int hp_secret_stage(char **out, char sha256[65], const char *store,
		    const char *name, size_t length, struct hp_err *err)
{
	char cur_sha[65];
	char *val = NULL;
	int r;

	*out = NULL;
	sha256[0] = '\0';
	if ((r = check_args(store, name, NULL, err)) < 0)
		return r;
	if (length < 1 || length > HP_SECRET_MAX - 1)
		return hp_err_set(err, HP_EINVALID,
				  "bad length %zu for secret '%s'", length,
				  name);
	if ((r = keep_current(store, name, cur_sha, err)) < 0)
		return r;
	val = xcalloc(length + 1, 1);
	if ((r = hp_secret_random(val, length, err)) < 0 ||
	    (r = keep_value(store, name, val, sha256, err)) < 0) {
		sha256[0] = '\0';
		hp_secret_free(val);
		return r;
	}
	*out = val;
	return 0;
}

int hp_secret_promote(const char *store, const char *name,
		      const char *sha256, struct hp_err *err)
{
	char cur_sha[65];
	char *val = NULL, *path = NULL, *line = NULL;
	int r;

	if ((r = check_args(store, name, sha256, err)) < 0)
		return r;
	/* the version must be whole and right before it replaces anything */
	if ((r = hp_secret_read_version(&val, store, name, sha256, err)) < 0 ||
	    !val)
		return r < 0 ? r : HP_ERROR;
	/* the previous value stays as a version */
	if ((r = keep_current(store, name, cur_sha, err)) < 0 ||
	    !strcmp(cur_sha, sha256))
		goto out;
	line = as_line(val);
	path = xasprintf("%s/%s", store, name);
	r = hp_secret_write_file(store, path, line, strlen(line), true, err);
out:
	hp_secret_free(val);
	hp_secret_free(line);
	free(path);
	return r;
}
