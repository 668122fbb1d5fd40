/*
 * A phase's verification steps at once. They only read (or try writes that
 * must be refused), and most of them wait on the network: Patroni answers
 * each HTTPS request on a new connection, a login through HAProxy is a TLS
 * handshake and a SCRAM exchange. Run one after the other they add up; run
 * at once they cost the slowest of them.
 *
 * A check that uses the hosts' SSH sessions (hosts = true) runs on the
 * calling thread, in list order with the other such checks: a session
 * belongs to one thread at a time. Every other check gets a thread of its
 * own and makes its own REST clients. The results are recorded once all are
 * done, in list order, each with its own duration, so the output and --json
 * read the same on every run.
 *
 * Under a unit test's REST seam (run->rest_ops) the checks run one after the
 * other: the fakes are not made for threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct check_slot {
	struct hp_run *run;
	const struct hp_check *c;
	struct hp_err err;
	int r;
	int64_t ms;
};

static void run_one(struct check_slot *s)
{
	int64_t t = hp_now_ms();

	hp_err_clear(&s->err);
	s->r = s->c->fn(s->run, s->c->arg, &s->err);
	if (s->r < 0 && !s->err.msg[0])
		hp_err_set(&s->err, s->r, "failed");
	s->ms = hp_now_ms() - t;
}

static void *thread_main(void *arg)
{
	run_one(arg);
	return NULL;
}

int hp_checks_run(struct hp_run *run, const struct hp_check *c, size_t n,
		  struct hp_err *err)
{
	struct check_slot *s = xcalloc(n + 1, sizeof(*s));
	pthread_t *tid = xcalloc(n + 1, sizeof(*tid));
	bool *started = xcalloc(n + 1, sizeof(*started));
	bool threads = !run->rest_ops;
	size_t i;
	int r = 0;

	for (i = 0; i < n; i++) {
		s[i].run = run;
		s[i].c = &c[i];
		if (threads && !c[i].hosts)
			started[i] = pthread_create(&tid[i], NULL, thread_main,
						    &s[i]) == 0;
	}
	/* the hosts' checks here, and any a thread could not be made for */
	for (i = 0; i < n; i++)
		if (!started[i])
			run_one(&s[i]);
	for (i = 0; i < n; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	for (i = 0; i < n; i++) {
		hp_run_record(run, NULL,
			      s[i].r < 0 ? HP_STEP_FAILED : HP_STEP_OK,
			      c[i].step, s[i].r < 0 ? s[i].err.msg : NULL, NULL,
			      hp_now_ms() - s[i].ms);
		if (s[i].r < 0 && r == 0) {
			*err = s[i].err;
			r = s[i].r;
		}
	}
	free(s);
	free(tid);
	free(started);
	return r;
}

int hp_checks_then(struct hp_run *run, const struct hp_check *c,
		   size_t first, size_t n, struct hp_err *err)
{
	int r = hp_checks_run(run, c, first < n ? first : n, err);

	if (r == 0 && first < n)
		r = hp_checks_run(run, c + first, n - first, err);
	return r;
}

struct fanout {
	void (*fn)(size_t i, void *arg);
	void *arg;
	size_t i;
};

static void *fanout_main(void *p)
{
	struct fanout *f = p;

	f->fn(f->i, f->arg);
	return NULL;
}

void hp_fanout(size_t n, void (*fn)(size_t i, void *arg), void *arg)
{
	struct fanout *f = xcalloc(n + 1, sizeof(*f));
	pthread_t *tid = xcalloc(n + 1, sizeof(*tid));
	bool *started = xcalloc(n + 1, sizeof(*started));
	size_t i;

	for (i = 0; i < n; i++) {
		f[i] = (struct fanout){ fn, arg, i };
		started[i] = pthread_create(&tid[i], NULL, fanout_main, &f[i]) ==
			     0;
		if (!started[i])
			fn(i, arg);
	}
	for (i = 0; i < n; i++)
		if (started[i])
			pthread_join(tid[i], NULL);
	free(f);
	free(tid);
	free(started);
}

struct at_once {
	struct hp_run *run;
	const struct hp_host **h;
	hp_host_check_fn fn;
	void *arg;
	struct hp_err *errs;
	int *rs;
};

static void at_once_one(size_t i, void *p)
{
	struct at_once *a = p;

	hp_err_clear(&a->errs[i]);
	a->rs[i] = a->fn(a->run, a->h[i], a->arg, &a->errs[i]);
}

int hp_hosts_at_once(struct hp_run *run, unsigned role, hp_host_check_fn fn,
		     void *arg, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct at_once a = { run, NULL, fn, arg, NULL, NULL };
	size_t i, n = 0;
	int r = 0;

	a.h = xcalloc(inv->nr_hosts + 1, sizeof(const struct hp_host *));
	a.errs = xcalloc(inv->nr_hosts + 1, sizeof(*a.errs));
	a.rs = xcalloc(inv->nr_hosts + 1, sizeof(*a.rs));
	for (i = 0; i < inv->nr_hosts; i++)
		if (!role || (inv->hosts[i].roles & role))
			a.h[n++] = &inv->hosts[i];
	if (run->rest_ops) {
		/* a unit test's REST seam: one after the other, up to the
		 * first that says something */
		for (i = 0; i < n; i++) {
			at_once_one(i, &a);
			if (a.rs[i] != 0)
				break;
		}
	} else {
		hp_fanout(n, at_once_one, &a);
	}
	for (i = 0; i < n && r == 0; i++)
		if ((r = a.rs[i]) < 0)
			*err = a.errs[i];
	free(a.h);
	free(a.errs);
	free(a.rs);
	return r;
}
