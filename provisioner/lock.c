/* The per-cluster lock file. See lock.h. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "lock.h"

#define LOCK_INFO_MAX 1024

struct hp_lock {
	int fd;
	char *path;
};


/* The value of "key=" in the lock file's text, or NULL. Caller frees. */
static char *info_get(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			const char *v = p + klen + 1;

			return xstrndup(v, strcspn(v, "\n"));
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

/* Name the holder from what it wrote in the file. */
static int locked_error(int fd, const char *path, struct hp_err *err)
{
	char text[LOCK_INFO_MAX + 1];
	char *pid, *who, *what, *started;
	ssize_t n = pread(fd, text, LOCK_INFO_MAX, 0);
	int ret;

	text[n > 0 ? n : 0] = '\0';
	pid = info_get(text, "pid");
	who = info_get(text, "user");
	what = info_get(text, "what");
	started = info_get(text, "started");
	if (pid)
		ret = hp_err_set(err, HP_ELOCKED,
				 "cluster is locked by pid %s (%s by %s, "
				 "started %s); lock file '%s'",
				 pid, what ? what : "?", who ? who : "?",
				 started ? started : "?", path);
	else /* the holder is between open and write: no details yet */
		ret = hp_err_set(err, HP_ELOCKED,
				 "cluster is locked by another haprov run; "
				 "lock file '%s'",
				 path);
	free(pid);
	free(who);
	free(what);
	free(started);
	return ret;
}

/* One line of text for the file: what, without newlines. */
static char *clean_what(const char *what)
{
	char *s = xstrdup(what && *what ? what : "haprov"), *p;

	for (p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

int hp_lock_acquire(struct hp_lock **out, const char *state_dir,
		    const char *what, struct hp_err *err)
{
	struct hp_lock *l = NULL;
	struct hp_buf info = HP_BUF_INIT;
	char *base = xstrdup(state_dir), *path = NULL, *slash, *w = NULL;
	char who[512], started[64], eb[128];
	size_t blen = strlen(base);
	ssize_t n;
	int fd = -1, ret = 0;

	*out = NULL;
	while (blen > 1 && base[blen - 1] == '/')
		base[--blen] = '\0';
	if (!blen || !strcmp(base, "/")) {
		ret = hp_err_set(err, HP_EINVALID,
				 "no lock file for state directory '%s'",
				 state_dir);
		goto out;
	}
	path = xasprintf("%s.lock", base);
	slash = strrchr(base, '/');
	if (slash && slash != base) {
		*slash = '\0';
		if ((ret = hp_mkdir_p(base, 0700, err)) < 0)
			goto out;
	}

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ret = hp_err_set(err, HP_EIO, "cannot open lock file '%s': %s",
				 path, hp_strerror(errno, eb, sizeof(eb)));
		goto out;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			ret = locked_error(fd, path, err);
		else
			ret = hp_err_set(err, HP_EIO, "cannot lock '%s': %s",
					 path,
					 hp_strerror(errno, eb, sizeof(eb)));
		goto out;
	}

	/* ours: say who holds it, for the next one to read */
	w = clean_what(what);
	hp_whoami(who, sizeof(who));
	hp_utc_iso8601(started, sizeof(started));
	hp_buf_addf(&info, "pid=%ld\nuser=%s\nwhat=%s\nstarted=%s\n",
		    (long)getpid(), who, w, started);
	if (ftruncate(fd, 0) < 0 ||
	    (n = pwrite(fd, info.buf, info.len, 0)) < 0) {
		ret = hp_err_set(err, HP_EIO, "cannot write lock file '%s': %s",
				 path, hp_strerror(errno, eb, sizeof(eb)));
		goto out;
	}
	if ((size_t)n != info.len) {
		ret = hp_err_set(err, HP_EIO, "short write to lock file '%s'",
				 path);
		goto out;
	}
	l = xmalloc(sizeof(*l));
	l->fd = fd;
	l->path = path;
	fd = -1;
	path = NULL;
	*out = l;
out:
	if (fd >= 0)
		close(fd); /* drops the lock if we had it */
	hp_buf_release(&info);
	free(w);
	free(path);
	free(base);
	return ret;
}

void hp_lock_release(struct hp_lock *l)
{
	if (!l)
		return;
	/* still ours here: clear the holder's details, then unlock */
	if (ftruncate(l->fd, 0) < 0)
		hp_debug("cannot truncate '%s'", l->path);
	close(l->fd);
	free(l->path);
	free(l);
}

const char *hp_lock_path(const struct hp_lock *l)
{
	return l->path;
}
