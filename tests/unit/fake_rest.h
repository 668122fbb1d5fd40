#ifndef HP_FAKE_REST_H
#define HP_FAKE_REST_H
/*
 * A scripted fake of the REST seam (rest.h's struct hp_rest_ops) for unit
 * tests: no network, every request recorded, answers canned. It is to
 * Patroni's, etcd's and HAProxy's HTTP answers what fake_transport.h is to
 * SSH, so tests can feed hostile and broken answers (a leader outside the
 * inventory, two leaders, HTML error pages, huge bodies, wrong types).
 *
 *	struct hp_fake_rest fr;
 *
 *	hp_fake_rest_init(&fr);
 *	hp_fake_rest_expect(&fr, "GET", ":8008/cluster", 200,
 *			    "{\"members\": []}", 0);
 *	hp_fake_rest_expect(&fr, "PATCH", "/config", 503, "busy", 1);
 *	hp_fake_rest_fail(&fr, "GET", "/health", HP_ECONNECT, 0);
 *	run.rest_ops = &hp_fake_rest_ops; run.rest_ctx = &fr;
 *	... code under test ...
 *	assert_int_equal(fr.nr_unexpected, 0);
 *	assert_true(hp_fake_rest_find(&fr, "PATCH", "/config", 0) >= 0);
 *	hp_fake_rest_release(&fr);
 *
 * A request is answered by the first expectation, in the order they were
 * added, whose method equals the request's (NULL: any) and whose match is
 * a substring of the URL, and which has answers left (times; 0: any
 * number). Later expectations with the same match therefore take over once
 * earlier ones are used up: a script of answers over time. A request that
 * nothing matches is counted in nr_unexpected and answered with
 * HP_ECONNECT ("connection refused"), as a host with nothing listening.
 *
 * Everything here is static inline: several test files include it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"

struct hp_fake_rest_expect {
	char *method; /* NULL: any */
	char *match;  /* substring of the URL */
	long status;
	char *body;    /* NULL: no body */
	size_t body_len;
	int ret;       /* non-zero: the call fails with this HP_E* code */
	int times;     /* 0: any number */
	int used;
};

struct hp_fake_rest_req {
	char *method;
	char *url;
	char *body;  /* the JSON sent, compact, or NULL */
	char *user;  /* basic-auth user, or NULL */
	bool had_password;
	const struct hp_fake_rest_expect *answered_by; /* NULL: unexpected */
};

struct hp_fake_rest {
	struct hp_fake_rest_expect *exp;
	size_t nr_exp, alloc_exp;
	struct hp_fake_rest_req *reqs;
	size_t nr_reqs, alloc_reqs;
	size_t nr_unexpected;
};

static inline void hp_fake_rest_init(struct hp_fake_rest *f)
{
	memset(f, 0, sizeof(*f));
}

static inline void hp_fake_rest_release(struct hp_fake_rest *f)
{
	size_t i;

	for (i = 0; i < f->nr_exp; i++) {
		free(f->exp[i].method);
		free(f->exp[i].match);
		free(f->exp[i].body);
	}
	for (i = 0; i < f->nr_reqs; i++) {
		free(f->reqs[i].method);
		free(f->reqs[i].url);
		free(f->reqs[i].body);
		free(f->reqs[i].user);
	}
	free(f->exp);
	free(f->reqs);
	memset(f, 0, sizeof(*f));
}

/* Answer method (NULL: any) on URLs containing match with status and a
 * body of len bytes (which may hold NULs), times times (0: always). */
static inline void hp_fake_rest_expect_len(struct hp_fake_rest *f,
					   const char *method,
					   const char *match, long status,
					   const char *body, size_t len,
					   int times)
{
	struct hp_fake_rest_expect *e;

	HP_ALLOC_GROW(f->exp, f->nr_exp + 1, f->alloc_exp);
	e = &f->exp[f->nr_exp++];
	memset(e, 0, sizeof(*e));
	e->method = method ? xstrdup(method) : NULL;
	e->match = xstrdup(match);
	e->status = status;
	if (body) {
		e->body = xmalloc(len + 1);
		memcpy(e->body, body, len);
		e->body[len] = '\0';
		e->body_len = len;
	}
	e->times = times;
}

static inline void hp_fake_rest_expect(struct hp_fake_rest *f,
				       const char *method, const char *match,
				       long status, const char *body,
				       int times)
{
	hp_fake_rest_expect_len(f, method, match, status, body,
				body ? strlen(body) : 0, times);
}

/* Make method on URLs containing match fail with code (HP_ECONNECT,
 * HP_ETIMEOUT, ...), times times (0: always). */
static inline void hp_fake_rest_fail(struct hp_fake_rest *f,
				     const char *method, const char *match,
				     int code, int times)
{
	hp_fake_rest_expect(f, method, match, 0, NULL, times);
	f->exp[f->nr_exp - 1].ret = code;
}

/* The index of the nth (0-based) recorded request with method (NULL: any)
 * whose URL contains match, or -1. */
static inline int hp_fake_rest_find(const struct hp_fake_rest *f,
				    const char *method, const char *match,
				    int nth)
{
	size_t i;

	for (i = 0; i < f->nr_reqs; i++) {
		if (method && strcmp(method, f->reqs[i].method))
			continue;
		if (!strstr(f->reqs[i].url, match))
			continue;
		if (nth-- == 0)
			return (int)i;
	}
	return -1;
}

/* How many requests with method (NULL: any) went to URLs containing
 * match. */
static inline size_t hp_fake_rest_count(const struct hp_fake_rest *f,
					const char *method, const char *match)
{
	size_t i, n = 0;

	for (i = 0; i < f->nr_reqs; i++)
		if ((!method || !strcmp(method, f->reqs[i].method)) &&
		    strstr(f->reqs[i].url, match))
			n++;
	return n;
}

static inline int hp_fake_rest_call(void *ctx, const struct hp_rest *r,
				    const char *method, const char *url,
				    const json_t *body,
				    struct hp_rest_resp *resp,
				    struct hp_err *err)
{
	struct hp_fake_rest *f = ctx;
	struct hp_fake_rest_req *q;
	size_t i;

	HP_ALLOC_GROW(f->reqs, f->nr_reqs + 1, f->alloc_reqs);
	q = &f->reqs[f->nr_reqs++];
	memset(q, 0, sizeof(*q));
	q->method = xstrdup(method);
	q->url = xstrdup(url);
	q->body = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY |
						  JSON_SORT_KEYS)
		       : NULL;
	q->user = r->user ? xstrdup(r->user) : NULL;
	q->had_password = r->password != NULL;
	for (i = 0; i < f->nr_exp; i++) {
		struct hp_fake_rest_expect *e = &f->exp[i];

		if (e->method && strcmp(e->method, method))
			continue;
		if (!strstr(url, e->match))
			continue;
		if (e->times && e->used >= e->times)
			continue;
		e->used++;
		q->answered_by = e;
		if (e->ret)
			return hp_err_set(err, e->ret, "%s %s: fake failure",
					  method, url);
		resp->status = e->status;
		if (e->body && hp_buf_add(&resp->body, e->body,
					  e->body_len) < 0)
			return hp_err_set(err, HP_ETOOBIG,
					  "%s %s: response body larger than "
					  "%zu bytes",
					  method, url, HP_REST_MAX_BODY);
		return 0;
	}
	f->nr_unexpected++;
	return hp_err_set(err, HP_ECONNECT, "%s %s: Connection refused",
			  method, url);
}

static const struct hp_rest_ops hp_fake_rest_ops = {hp_fake_rest_call};

#endif
