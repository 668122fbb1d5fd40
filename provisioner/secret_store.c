/* The local secret store: checks, reading, creating; see secret_store.h
 * (versions: secret_versions.c). */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret_store.h"
#include "secret_store_priv.h"

bool hp_secret_name_ok(const char *name)
{
	const char *p;

	/* "versions" is the directory of versions (secret_versions.c) */
	if (!*name || !strcmp(name, HP_SECRET_VERSIONS_DIR))
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
		explicit_bzero(rnd, sizeof(rnd));
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

int hp_harden_process(struct hp_err *err)
{
	const struct rlimit none = {0, 0};
	char eb[128];

	if (setrlimit(RLIMIT_CORE, &none) < 0)
		return hp_err_set(err, HP_ERROR,
				  "cannot disable core dumps: %s",
				  hp_strerror(errno, eb, sizeof(eb)));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return hp_err_set(err, HP_ERROR,
				  "cannot make the process non-dumpable: %s",
				  hp_strerror(errno, eb, sizeof(eb)));
	return 0;
}

/* "alice (uid 1000)" for messages. */
static void owner_name(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, len, "%s (uid %u)", res->pw_name, (unsigned)uid);
	else
		snprintf(out, len, "uid %u", (unsigned)uid);
}

/* Owner and permission bits of a store or secret file, as OpenSSH judges
 * a private key: ours, and nobody else's business. */
static int check_owner_mode(const struct stat *st, const char *what,
			    const char *path, const char *fix,
			    struct hp_err *err)
{
	char owner[160];

	if (st->st_uid != geteuid()) {
		char me[160];

		owner_name(st->st_uid, owner, sizeof(owner));
		owner_name(geteuid(), me, sizeof(me));
		return hp_err_set(err, HP_EINVALID,
				  "%s '%s' is owned by %s, not by the user "
				  "running haprov, %s: refusing to use it",
				  what, path, owner, me);
	}
	if (st->st_mode & 077) {
		owner_name(st->st_uid, owner, sizeof(owner));
		return hp_err_set(err, HP_EINVALID,
				  "permissions %04o for %s '%s' (owner %s) are "
				  "too open: it holds cluster passwords and "
				  "must be accessible only by its owner; "
				  "refusing to use it (%s)",
				  (unsigned)(st->st_mode & 07777), what, path,
				  owner, fix);
	}
	return 0;
}

int hp_secret_check_dir(const char *path, const char *what,
			struct hp_err *err)
{
	struct stat st;
	char fix[600];

	if (lstat(path, &st) < 0) {
		char eb[128];

		if (errno == ENOENT)
			return hp_err_set(err, HP_ENOTFOUND,
					  "%s '%s' does not exist", what, path);
		return hp_err_set(err, HP_EIO, "cannot read %s '%s': %s", what,
				  path, hp_strerror(errno, eb, sizeof(eb)));
	}
	if (S_ISLNK(st.st_mode))
		return hp_err_set(err, HP_EINVALID,
				  "%s '%s' is a symbolic link: refusing to "
				  "follow it (set secrets.store to the real "
				  "directory)",
				  what, path);
	if (!S_ISDIR(st.st_mode))
		return hp_err_set(err, HP_EINVALID,
				  "%s '%s' is not a directory", what, path);
	snprintf(fix, sizeof(fix), "check who could read it, then: chmod 700 "
				   "'%s'", path);
	return check_owner_mode(&st, what, path, fix, err);
}

int hp_secret_store_check(const char *store, struct hp_err *err)
{
	return hp_secret_check_dir(store, "secret store", err);
}

/* mkdir path 0700 (an existing one is fine), exact mode whatever the
 * umask, then check it. */
int hp_secret_mkdir(const char *path, const char *what, struct hp_err *err)
{
	char eb[128];

	if (mkdir(path, 0700) == 0) {
		/* ours, just made: make the mode exact whatever the umask */
		int r = 0;
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);

		if (fd < 0 || fchmod(fd, 0700) < 0)
			r = hp_err_set(err, HP_EIO,
				       "cannot set the mode of %s '%s': %s",
				       what, path,
				       hp_strerror(errno, eb, sizeof(eb)));
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return r;
	} else if (errno != EEXIST) {
		return hp_err_set(err, HP_EIO, "cannot create %s '%s': %s",
				  what, path,
				  hp_strerror(errno, eb, sizeof(eb)));
	}
	return hp_secret_check_dir(path, what, err);
}

int hp_secret_store_create(const char *store, struct hp_err *err)
{
	char *parent = xstrdup(store), *slash;
	int r = 0;

	/* the parents may be links (a home directory often is); the store
	 * itself may not, which the check below sees */
	slash = strrchr(parent, '/');
	while (slash && slash > parent && slash[1] == '\0') {
		*slash = '\0';
		slash = strrchr(parent, '/');
	}
	if (slash && slash > parent) {
		*slash = '\0';
		r = hp_mkdir_p(parent, 0700, err);
	}
	free(parent);
	if (r < 0)
		return r;
	return hp_secret_mkdir(store, "secret store", err);
}

/* A secret as read: a fixed buffer, so that no copy of it is left behind
 * in memory freed by a growing buffer. */
struct secret_text {
	char buf[HP_SECRET_MAX + 1];
	size_t len;
};

/* Read an open secret file whole into t (at most HP_SECRET_MAX bytes). */
static int read_fd(int fd, struct secret_text *t, const char *path,
		   struct hp_err *err)
{
	char eb[128];

	t->len = 0;
	for (;;) {
		ssize_t n = read(fd, t->buf + t->len, sizeof(t->buf) - t->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hp_err_set(err, HP_EIO, "cannot read '%s': %s",
					  path,
					  hp_strerror(errno, eb, sizeof(eb)));
		if (n == 0)
			break;
		t->len += (size_t)n;
		if (t->len > HP_SECRET_MAX)
			return hp_err_set(err, HP_ETOOBIG,
					  "secret file '%s' is larger than %d "
					  "bytes",
					  path, HP_SECRET_MAX);
	}
	t->buf[t->len] = '\0';
	return 0;
}

/* One line of printable ASCII; the trailing newline is dropped. */
static int check_value(struct secret_text *t, const char *name,
		       const char *store, struct hp_err *err)
{
	size_t i;

	while (t->len && t->buf[t->len - 1] == '\n')
		t->buf[--t->len] = '\0';
	if (!t->len)
		return hp_err_set(err, HP_EINVALID,
				  "secret '%s' in '%s' is empty", name, store);
	for (i = 0; i < t->len; i++) {
		unsigned char c = (unsigned char)t->buf[i];

		if (c < 0x20 || c == 0x7f)
			return hp_err_set(err, HP_EINVALID,
					  "secret '%s' in '%s' holds a control "
					  "character (a second line?): a "
					  "secret is one line",
					  name, store);
	}
	return 0;
}

/* Open a secret file for reading: not a link, a regular file, ours,
 * nobody else's business. Returns the descriptor or a negative code. */
static int open_secret(const char *path, const char *name, const char *store,
		       struct hp_err *err)
{
	struct stat st;
	char eb[128], fix[600];
	int fd, r;

	/* O_NONBLOCK: a FIFO planted here must not hang the run */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return hp_err_set(err, HP_ENOTFOUND,
					  "secret '%s' is not in the store "
					  "'%s'",
					  name, store);
		if (errno == ELOOP)
			return hp_err_set(err, HP_EINVALID,
					  "secret file '%s' is a symbolic "
					  "link: refusing to follow it",
					  path);
		return hp_err_set(err, HP_EIO, "cannot open '%s': %s", path,
				  hp_strerror(errno, eb, sizeof(eb)));
	}
	snprintf(fix, sizeof(fix),
		 "if nobody else read it, chmod 600 '%s'; else change the "
		 "password on the cluster",
		 path);
	if (fstat(fd, &st) < 0)
		r = hp_err_set(err, HP_EIO, "cannot stat '%s': %s", path,
			       hp_strerror(errno, eb, sizeof(eb)));
	else if (!S_ISREG(st.st_mode))
		r = hp_err_set(err, HP_EINVALID,
			       "secret file '%s' is not a regular file", path);
	else
		r = check_owner_mode(&st, "secret file", path, fix, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int hp_secret_read_file(char **out, const char *path, const char *name,
			const char *store, struct hp_err *err)
{
	struct secret_text *t = NULL;
	int fd, r;

	*out = NULL;
	fd = open_secret(path, name, store, err);
	if (fd < 0)
		return fd;
	t = xmalloc(sizeof(*t));
	if ((r = read_fd(fd, t, path, err)) == 0 &&
	    (r = check_value(t, name, store, err)) == 0)
		*out = xstrndup(t->buf, t->len);
	close(fd);
	explicit_bzero(t, sizeof(*t));
	free(t);
	return r;
}

int hp_secret_read(char **out, const char *store, const char *name,
		   struct hp_err *err)
{
	char *path;
	int r;

	*out = NULL;
	if (!hp_secret_name_ok(name))
		return hp_err_set(err, HP_EINVALID, "bad secret name '%s'",
				  name);
	if ((r = hp_secret_store_check(store, err)) < 0)
		return r;
	path = xasprintf("%s/%s", store, name);
	r = hp_secret_read_file(out, path, name, store, err);
	free(path);
	return r;
}

/* Write all of data to fd. */
static int write_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

void hp_secret_sync_dir(const char *dir)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

/* Put val in place at path: link(2) never replaces, rename(2) does,
 * atomically. */
static int put_in_place(const char *tmp, const char *path, bool replace,
			struct hp_err *err)
{
	char eb[128];

	if (replace ? rename(tmp, path) == 0 : link(tmp, path) == 0)
		return 0;
	if (!replace && errno == EEXIST)
		return hp_err_set(err, HP_EINVALID,
				  "'%s' appeared while haprov was creating "
				  "it: not replaced",
				  path);
	return hp_err_set(err, HP_EIO, "cannot %s '%s': %s",
			  replace ? "replace" : "create", path,
			  hp_strerror(errno, eb, sizeof(eb)));
}

int hp_secret_write_file(const char *dir, const char *path, const char *val,
			 size_t len, bool replace, struct hp_err *err)
{
	char suffix[13] = "", eb[128];
	char *tmp = NULL;
	int fd = -1, r;

	if ((r = hp_secret_random(suffix, sizeof(suffix) - 1, err)) < 0)
		return r;
	/* '.' is in no secret name nor hash: never taken for one */
	tmp = xasprintf("%s.new-%s", path, suffix);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0) {
		r = hp_err_set(err, HP_EIO, "cannot create '%s': %s", tmp,
			       hp_strerror(errno, eb, sizeof(eb)));
		goto out;
	}
	if (fchmod(fd, 0600) < 0 || write_all(fd, val, len) < 0 ||
	    fsync(fd) < 0) {
		r = hp_err_set(err, HP_EIO, "cannot write '%s': %s", tmp,
			       hp_strerror(errno, eb, sizeof(eb)));
		goto out;
	}
	if ((r = put_in_place(tmp, path, replace, err)) < 0)
		goto out;
	/* the new name must survive a crash before anyone relies on it */
	hp_secret_sync_dir(dir);
out:
	if (fd >= 0) {
		close(fd);
		(void)unlink(tmp); /* after rename: gone already */
	}
	free(tmp);
	return r;
}

int hp_secret_create(char **out, const char *store, const char *name,
		     size_t length, struct hp_err *err)
{
	char *path = NULL, *val = NULL;
	int r;

	*out = NULL;
	if (!hp_secret_name_ok(name))
		return hp_err_set(err, HP_EINVALID, "bad secret name '%s'",
				  name);
	if (length < 1 || length > HP_SECRET_MAX - 1)
		return hp_err_set(err, HP_EINVALID,
				  "bad length %zu for secret '%s'", length,
				  name);
	if ((r = hp_secret_store_check(store, err)) < 0)
		return r;
	path = xasprintf("%s/%s", store, name);
	val = xcalloc(length + 2, 1);
	if ((r = hp_secret_random(val, length, err)) < 0)
		goto out;
	val[length] = '\n';
	r = hp_secret_write_file(store, path, val, length + 1, false, err);
	val[length] = '\0';
	if (r < 0)
		goto out;
	/* the first value is also its first version (secret_versions.c) */
	if ((r = hp_secret_keep_version(store, name, val, NULL, err)) < 0)
		goto out;
	*out = val;
	val = NULL;
out:
	hp_secret_free(val);
	free(path);
	return r;
}
