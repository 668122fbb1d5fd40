#ifndef HP_FAKE_TRANSPORT_H
#define HP_FAKE_TRANSPORT_H
/*
 * A scripted fake of struct hp_transport for unit tests of the engine
 * (docs/style.md rule 9): no network, every call recorded, answers canned.
 *
 *	struct hp_fake f;
 *	struct hp_transport t;
 *
 *	hp_fake_init(&f);
 *	hp_fake_expect(&f, "systemctl is-active etcd", 3, "inactive\n", "");
 *	hp_fake_expect(&f, "systemctl start etcd", 0, "", "");
 *	hp_fake_fail_call(&f, 4, HP_ETIMEOUT);   // the 4th call times out
 *	hp_fake_transport(&f, &t, "pg1");
 *	... run the code under test with &t ...
 *	assert_int_equal(f.nr_unexpected, 0);
 *	assert_true(hp_fake_find_call(&f, HP_FAKE_EXEC, "start etcd", 0) >= 0);
 *	hp_fake_release(&f);
 *
 * exec: the first expectation, in the order they were added, whose match
 * is a substring of the command (or equals it, for hp_fake_expect_exact)
 * and which has answers left (times) gives exit code, stdout and stderr.
 * A command nothing matches is counted in nr_unexpected and answered like
 * a shell would ("command not found", exit 127), or with HP_ERROR when
 * strict is set.
 * put/get: an in-memory map of path -> content, mode, owner, group; get of
 * a path never put (nor set with hp_fake_set_file) is HP_ENOTFOUND.
 * Directories are not modelled.
 * Calls are numbered from 1 across exec, put and get together, in the
 * order they were made; f->calls[i] is call i + 1.
 *
 * Everything here is static inline: the header is included by several test
 * files, and each uses only some of it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

enum hp_fake_op { HP_FAKE_EXEC, HP_FAKE_PUT, HP_FAKE_GET };

struct hp_fake_expect {
	char *match; /* substring of the command (whole command if exact) */
	bool exact;
	int exit_code; /* what the command "exits" with */
	char *out;     /* canned stdout */
	char *err;     /* canned stderr */
	int ret;       /* non-zero: exec returns this HP_E* code instead */
	int times;     /* how many calls it may answer; 0: any number */
	int used;      /* how many it has answered */
	/* hp_fake_expect_session: a psql session's answers, one per
	 * section; such an expectation answers only scripts with \echo */
	char **sections;
	size_t nr_sections;
};

struct hp_fake_call {
	enum hp_fake_op op;
	char *what; /* exec: the command; put/get: the path */
	char *data; /* exec: stdin (NULL if none); put: the content */
	size_t len;
	unsigned mode;				  /* put */
	char *owner;				  /* put; NULL as given */
	char *group;				  /* put; NULL as given */
	int timeout_s;				  /* exec */
	int ret;				  /* what the call returned */
	const struct hp_fake_expect *answered_by; /* exec; NULL: unexpected */
};

struct hp_fake_file {
	char *path;
	char *data;
	size_t len;
	unsigned mode;
	char *owner; /* "root" when put with NULL */
	char *group;
};

struct hp_fake_failure {
	size_t call; /* 1-based call number */
	int code;    /* HP_E* it returns */
};

struct hp_fake {
	/* pointers, so that a test may keep the one hp_fake_expect returns */
	struct hp_fake_expect **expects;
	size_t nr_expects, alloc_expects;
	struct hp_fake_call *calls;
	size_t nr_calls, alloc_calls;
	struct hp_fake_file *files;
	size_t nr_files, alloc_files;
	struct hp_fake_failure *failures;
	size_t nr_failures, alloc_failures;
	size_t nr_unexpected; /* exec calls no expectation answered */
	bool strict;	      /* unexpected exec: HP_ERROR instead of 127 */
	int nr_closed;	      /* how often ops->close was called */
	char host[64];	      /* as given to hp_fake_transport */
};

static inline void hp_fake_init(struct hp_fake *f)
{
	memset(f, 0, sizeof(*f));
}

static inline char *hp_fake__dup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static inline char *hp_fake__dupmem(const void *p, size_t len)
{
	char *s;

	if (!p)
		return NULL;
	s = xmalloc(len + 1);
	memcpy(s, p, len);
	s[len] = '\0';
	return s;
}

static inline struct hp_fake_expect *
hp_fake__add_expect(struct hp_fake *f, const char *match, bool exact,
		    int exit_code, const char *out, const char *err)
{
	struct hp_fake_expect *e = xcalloc(1, sizeof(*e));

	e->match = xstrdup(match);
	e->exact = exact;
	e->exit_code = exit_code;
	e->out = xstrdup(out ? out : "");
	e->err = xstrdup(err ? err : "");
	HP_ALLOC_GROW(f->expects, f->nr_expects + 1, f->alloc_expects);
	f->expects[f->nr_expects++] = e;
	return e;
}

/*
 * Answer commands containing match with exit_code, out and err (NULL:
 * ""). Returns the expectation (owned by f) so that a test can set
 * ->times (answer only that many calls, then let a later expectation
 * answer) or ->ret (make exec fail with that HP_E* code).
 */
static inline struct hp_fake_expect *
hp_fake_expect(struct hp_fake *f, const char *match, int exit_code,
	       const char *out, const char *err)
{
	return hp_fake__add_expect(f, match, false, exit_code, out, err);
}

/* The same, for a command equal to cmd. */
static inline struct hp_fake_expect *
hp_fake_expect_exact(struct hp_fake *f, const char *cmd, int exit_code,
		     const char *out, const char *err)
{
	return hp_fake__add_expect(f, cmd, true, exit_code, out, err);
}

/*
 * A psql session of several sections (phases/sql_session.c): a command
 * containing match whose standard input has `\echo <nonce> <part>` lines
 * is answered, for each such line, with sections[part] ("" past nr) and
 * then the marker line, as psql would print them. Commands without \echo lines
 * in their input pass this expectation by.
 */
static inline struct hp_fake_expect *
hp_fake_expect_session(struct hp_fake *f, const char *match,
		       const char *const *sections, size_t nr)
{
	struct hp_fake_expect *e = hp_fake__add_expect(f, match, false, 0, "",
						       "");
	size_t i;

	e->sections = xcalloc(nr + 1, sizeof(*e->sections));
	for (i = 0; i < nr; i++)
		e->sections[i] = xstrdup(sections[i]);
	e->nr_sections = nr;
	return e;
}

/* The session's answer to script (see hp_fake_expect_session). */
static inline void hp_fake__session(const struct hp_fake_expect *e,
				    const char *script, struct hp_buf *out)
{
	const char *p = script;
	size_t k = 0;

	while (p && (p = strstr(p, "\\echo ")) != NULL) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		/* "\echo <nonce> <part>": the part's answer */
		const char *sp = memchr(p + 6, ' ', n - 6);
		size_t part = sp ? (size_t)strtoul(sp + 1, NULL, 10) : k;

		if (part < e->nr_sections)
			hp_buf_adds(out, e->sections[part]);
		hp_buf_add(out, p + 6, n - 6);
		hp_buf_addch(out, '\n');
		k++;
		p += n;
	}
}

/* Make call number n (1-based, counting exec, put and get) return code
 * without doing anything else (it is still recorded). */
static inline void hp_fake_fail_call(struct hp_fake *f, size_t n, int code)
{
	HP_ALLOC_GROW(f->failures, f->nr_failures + 1, f->alloc_failures);
	f->failures[f->nr_failures].call = n;
	f->failures[f->nr_failures].code = code;
	f->nr_failures++;
}

/* The file at path (borrowed, valid until the next put), or NULL. */
static inline struct hp_fake_file *hp_fake_file(struct hp_fake *f,
						const char *path)
{
	size_t i;

	for (i = 0; i < f->nr_files; i++)
		if (strcmp(f->files[i].path, path) == 0)
			return &f->files[i];
	return NULL;
}

/* Put a file in place before the test, as if it were on the host. */
static inline void hp_fake_set_file(struct hp_fake *f, const char *path,
				    const void *data, size_t len, unsigned mode,
				    const char *owner, const char *group)
{
	struct hp_fake_file *file = hp_fake_file(f, path);

	if (!file) {
		HP_ALLOC_GROW(f->files, f->nr_files + 1, f->alloc_files);
		file = &f->files[f->nr_files++];
		memset(file, 0, sizeof(*file));
		file->path = xstrdup(path);
	}
	free(file->data);
	free(file->owner);
	free(file->group);
	file->data = hp_fake__dupmem(data ? data : "", len);
	file->len = len;
	file->mode = mode;
	file->owner = xstrdup(owner ? owner : "root");
	file->group = xstrdup(group ? group : "root");
}

/*
 * The index in f->calls of the first call at or after index from with
 * operation op whose command or path contains what (NULL: any), or -1.
 * Checks order: find(a) < find(b).
 */
static inline long hp_fake_find_call(const struct hp_fake *f,
				     enum hp_fake_op op, const char *what,
				     size_t from)
{
	size_t i;

	for (i = from; i < f->nr_calls; i++)
		if (f->calls[i].op == op &&
		    (!what || strstr(f->calls[i].what, what)))
			return (long)i;
	return -1;
}

/* How many calls of op contain what (NULL: all of op). */
static inline size_t hp_fake_count_calls(const struct hp_fake *f,
					 enum hp_fake_op op, const char *what)
{
	size_t i, n = 0;

	for (i = 0; i < f->nr_calls; i++)
		if (f->calls[i].op == op &&
		    (!what || strstr(f->calls[i].what, what)))
			n++;
	return n;
}

/* Record a call; returns the injected failure for it, or 0. */
static inline int hp_fake__record(struct hp_fake *f, enum hp_fake_op op,
				  const char *what, const void *data,
				  size_t len, struct hp_fake_call **out)
{
	struct hp_fake_call *call;
	size_t i;

	HP_ALLOC_GROW(f->calls, f->nr_calls + 1, f->alloc_calls);
	call = &f->calls[f->nr_calls++];
	memset(call, 0, sizeof(*call));
	call->op = op;
	call->what = xstrdup(what);
	call->data = hp_fake__dupmem(data, len);
	call->len = data ? len : 0;
	*out = call;
	for (i = 0; i < f->nr_failures; i++)
		if (f->failures[i].call == f->nr_calls)
			return f->failures[i].code;
	return 0;
}

static inline int hp_fake__fail(struct hp_fake *f, struct hp_err *err, int code,
				const char *what)
{
	hp_err_set(err, code, "fake: injected failure of call %zu (%s)",
		   f->nr_calls, what);
	if (err)
		snprintf(err->host, sizeof(err->host), "%s", f->host);
	return code;
}

static inline bool hp_fake__matches(const struct hp_fake_expect *e,
				    const char *cmd)
{
	if (e->times && e->used >= e->times)
		return false;
	return e->exact ? strcmp(cmd, e->match) == 0
			: strstr(cmd, e->match) != NULL;
}

static inline int hp_fake__exec(void *ctx, const char *cmd,
				const void *stdin_data, size_t stdin_len,
				int timeout_s, struct hp_exec_result *res,
				struct hp_err *err)
{
	struct hp_fake *f = ctx;
	struct hp_fake_expect *e = NULL;
	struct hp_fake_call *call;
	size_t i;
	int r;

	r = hp_fake__record(f, HP_FAKE_EXEC, cmd, stdin_data, stdin_len, &call);
	call->timeout_s = timeout_s;
	if (r)
		return call->ret = hp_fake__fail(f, err, r, cmd);
	for (i = 0; i < f->nr_expects && !e; i++)
		if (hp_fake__matches(f->expects[i], cmd) &&
		    (!f->expects[i]->sections ||
		     (call->data && strstr(call->data, "\\echo "))))
			e = f->expects[i];
	if (!e) {
		f->nr_unexpected++;
		if (f->strict) {
			hp_err_set(err, HP_ERROR,
				   "fake: unexpected command: %s", cmd);
			if (err)
				snprintf(err->host, sizeof(err->host), "%s",
					 f->host);
			return call->ret = HP_ERROR;
		}
		res->exit_code = 127;
		hp_buf_addf(&res->errout, "fake: no expectation for: %s\n",
			    cmd);
		return call->ret = 0;
	}
	e->used++;
	call->answered_by = e;
	if (e->ret) {
		hp_err_set(err, e->ret, "fake: '%s' fails with %d", e->match,
			   e->ret);
		if (err)
			snprintf(err->host, sizeof(err->host), "%s", f->host);
		return call->ret = e->ret;
	}
	if (e->sections)
		hp_fake__session(e, call->data, &res->out);
	/* the same cap as the real transport: res->out.max */
	if (hp_buf_adds(&res->out, e->out) < 0 ||
	    hp_buf_adds(&res->errout, e->err) < 0) {
		hp_err_set(err, HP_ETOOBIG, "fake: output of '%s' too big",
			   cmd);
		return call->ret = HP_ETOOBIG;
	}
	res->exit_code = e->exit_code;
	return call->ret = 0;
}

static inline int hp_fake__put(void *ctx, const char *path, const void *data,
			       size_t len, unsigned mode, const char *owner,
			       const char *group, struct hp_err *err)
{
	struct hp_fake *f = ctx;
	struct hp_fake_call *call;
	int r;

	r = hp_fake__record(f, HP_FAKE_PUT, path, data ? data : "",
			    data ? len : 0, &call);
	call->mode = mode;
	call->owner = hp_fake__dup(owner);
	call->group = hp_fake__dup(group);
	if (r)
		return call->ret = hp_fake__fail(f, err, r, path);
	hp_fake_set_file(f, path, data, data ? len : 0, mode, owner, group);
	return call->ret = 0;
}

static inline int hp_fake__get(void *ctx, const char *path, struct hp_buf *out,
			       struct hp_err *err)
{
	struct hp_fake *f = ctx;
	struct hp_fake_file *file;
	struct hp_fake_call *call;
	int r;

	r = hp_fake__record(f, HP_FAKE_GET, path, NULL, 0, &call);
	if (r)
		return call->ret = hp_fake__fail(f, err, r, path);
	file = hp_fake_file(f, path);
	if (!file) {
		hp_err_set(err, HP_ENOTFOUND, "'%s' does not exist on %s", path,
			   f->host);
		if (err)
			snprintf(err->host, sizeof(err->host), "%s", f->host);
		return call->ret = HP_ENOTFOUND;
	}
	if ((r = hp_buf_add(out, file->data, file->len)) < 0) {
		hp_err_set(err, r, "'%s' on %s is too large", path, f->host);
		return call->ret = r;
	}
	return call->ret = 0;
}

static inline void hp_fake__close(void *ctx)
{
	struct hp_fake *f = ctx;

	f->nr_closed++;
}

/* A transport whose calls go to f (which the test keeps and releases;
 * ops->close only counts). */
static inline void hp_fake_transport(struct hp_fake *f,
				     struct hp_transport *out, const char *host)
{
	static const struct hp_transport_ops ops = {
		.exec = hp_fake__exec,
		.put = hp_fake__put,
		.get = hp_fake__get,
		.close = hp_fake__close,
	};

	snprintf(f->host, sizeof(f->host), "%s", host);
	out->ops = &ops;
	out->ctx = f;
	snprintf(out->host, sizeof(out->host), "%s", host);
}

static inline void hp_fake_release(struct hp_fake *f)
{
	size_t i, k;

	for (i = 0; i < f->nr_expects; i++) {
		free(f->expects[i]->match);
		free(f->expects[i]->out);
		free(f->expects[i]->err);
		for (k = 0; k < f->expects[i]->nr_sections; k++)
			free(f->expects[i]->sections[k]);
		free(f->expects[i]->sections);
		free(f->expects[i]);
	}
	for (i = 0; i < f->nr_calls; i++) {
		free(f->calls[i].what);
		free(f->calls[i].data);
		free(f->calls[i].owner);
		free(f->calls[i].group);
	}
	for (i = 0; i < f->nr_files; i++) {
		free(f->files[i].path);
		free(f->files[i].data);
		free(f->files[i].owner);
		free(f->files[i].group);
	}
	free(f->expects);
	free(f->calls);
	free(f->files);
	free(f->failures);
	hp_fake_init(f);
}

#endif
