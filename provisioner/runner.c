/*
 * Run lifecycle: host sessions, the bounded worker pool, step results,
 * progress lines and the --json document.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "phases.h"
#include "progress_view.h"
#include "redact.h"
#include "render.h"
#include "rest.h"
#include "ssh.h"

#define WAIT_DEFAULT_S 120
#define DETAIL_MAX 2048  /* printable bytes of a step's detail */
#define DIFF_LINE_MAX 4096 /* printable bytes of one line of a diff */

/* Whether name is in a comma-separated list (NULL list: everything). */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list)
		return true;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/*
 * "20261122T054500.123Z-1a2b3c4d": the time to the millisecond, then 32
 * random bits (the pid and the clock if getrandom fails), so that two runs
 * in the same second, from one machine or two, never share an id.
 */
static void make_run_id(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char stamp[24];
	unsigned ms;
	uint32_t rnd;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (!gmtime_r(&ts.tv_sec, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm))
		hp_strlcpy(stamp, "19700101T000000", sizeof(stamp));
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		rnd = (uint32_t)getpid() * 2654435761u ^ (uint32_t)ts.tv_nsec;
	ms = (unsigned)(ts.tv_nsec / 1000000L) % 1000u;
	snprintf(out, len, "%.15s.%03uZ-%08x", stamp, ms, (unsigned)rnd);
}

void hp_run_init(struct hp_run *run, const struct hp_inventory *inv,
		 const struct hp_run_opts *opts)
{
	char who[128];
	size_t i;

	memset(run, 0, sizeof(*run));
	run->inv = inv;
	run->opts = *opts;
	hp_url_set_https(inv->tls.enabled);
	if (run->opts.parallel <= 0)
		run->opts.parallel = inv->ssh.parallel;
	make_run_id(run->run_id, sizeof(run->run_id));
	hp_whoami(who, sizeof(who));
	snprintf(run->holder, sizeof(run->holder), "haprov run %s by %s pid %ld",
		 run->run_id, who, (long)getpid());
	run->t0 = hp_now_ms();
	pthread_mutex_init(&run->mu, NULL);
	run->nr_hosts = inv->nr_hosts;
	run->hosts = xcalloc(inv->nr_hosts, sizeof(*run->hosts));
	for (i = 0; i < inv->nr_hosts; i++) {
		run->hosts[i].run = run;
		run->hosts[i].host = &inv->hosts[i];
		run->hosts[i].selected = in_list(opts->hosts,
						 inv->hosts[i].name);
		snprintf(run->hosts[i].tr.host, sizeof(run->hosts[i].tr.host),
			 "%s", inv->hosts[i].name);
	}
}

int hp_run_rest_init(struct hp_run *run, struct hp_rest *r, int timeout_ms,
		     struct hp_err *err)
{
	int ret = hp_rest_init(r, timeout_ms, err);

	if (ret == 0)
		r->tls = run->rest_tls;
	if (ret == 0 && run->rest_ops)
		hp_rest_set_ops(r, run->rest_ops, run->rest_ctx);
	return ret;
}

int hp_run_wait_s(const struct hp_run *run)
{
	int s = run->inv ? run->inv->validation.timeout_s : 0;

	return s > 0 ? s : WAIT_DEFAULT_S;
}

void hp_hostrun_phase_reset(struct hp_hostrun *h)
{
	size_t i;

	hp_strlist_clear(&h->restart);
	hp_strlist_clear(&h->reload);
	/* a file's content may hold secrets: wiped, not just freed */
	for (i = 0; i < h->nr_recs; i++) {
		free(h->recs[i].path);
		hp_redact_free(h->recs[i].now, h->recs[i].now_len);
		hp_redact_free(h->recs[i].old, h->recs[i].old_len);
	}
	free(h->recs);
	h->recs = NULL;
	h->nr_recs = h->alloc_recs = 0;
	h->nr_changed = 0;
}

static void result_free(struct hp_step_result *r)
{
	free(r->step);
	free(r->detail);
	free(r->diff);
}

static void memo_clear(struct hp_run_memo *m)
{
	if (m->text)
		explicit_bzero(m->text, m->len);
	free(m->text);
	free(m->key);
	memset(m, 0, sizeof(*m));
}

void hp_run_release(struct hp_run *run)
{
	size_t i;

	for (i = 0; i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		if (h->tr.ops)
			h->tr.ops->close(h->tr.ctx);
		hp_hostrun_phase_reset(h);
		hp_strlist_clear(&h->made_dirs);
		free(h->wal_facts);
		if (h->facts_cache)
			hp_facts_release(h->facts_cache);
		free(h->facts_cache);
		free(h->facts_key);
		hp_prefetch_free(h->prefetch);
	}
	free(run->hosts);
	for (i = 0; i < run->nr_results; i++)
		result_free(&run->results[i]);
	free(run->results);
	free(run->held); /* empty: every hold ends in an unhold */
	for (i = 0; i < HP_RUN_MEMOS; i++)
		memo_clear(&run->memo[i]);
	hp_desired_clear(run);
	pthread_mutex_destroy(&run->mu);
	memset(run, 0, sizeof(*run));
}

const char *hp_desired_point(const struct hp_run *run)
{
	return run->desired.point;
}

const json_t *hp_desired_snapshot(const struct hp_run *run, const char *phase)
{
	return run->desired.point ? json_object_get(run->desired.snapshots,
						    phase)
				  : NULL;
}

int hp_desired_dcs(const struct hp_run *run, json_t **out, struct hp_err *err)
{
	*out = NULL;
	if (run->desired.dcs) {
		*out = json_incref(run->desired.dcs);
		return 0;
	}
	/* never a silent fallback to the inventory's new settings */
	if (run->desired.point)
		return hp_err_set(err, HP_ERROR,
				  "rollback point %.12s recorded no dynamic "
				  "configuration",
				  run->desired.point);
	return hp_render_dcs_json(out, run->inv, err);
}

void hp_desired_clear(struct hp_run *run)
{
	/* the secret pins stay for the whole rollback: every phase's restore
	 * reads them (hp_desired_pins sets them) */
	const json_t *pins = run->desired.pins;

	json_decref(run->desired.dcs);
	json_decref(run->desired.snapshots);
	memset(&run->desired, 0, sizeof(run->desired));
	run->desired.pins = pins;
}

void hp_desired_pins(struct hp_run *run, const json_t *pins)
{
	run->desired.pins = pins;
}

void hp_desired_set(struct hp_run *run, const char *point, json_t *snapshots,
		    json_t *dcs)
{
	hp_desired_clear(run);
	run->desired.point = point;
	run->desired.snapshots = snapshots;
	run->desired.dcs = dcs;
}

struct hp_hostrun *hp_run_host(struct hp_run *run, const char *name)
{
	size_t i;

	for (i = 0; i < run->nr_hosts; i++)
		if (!strcmp(run->hosts[i].host->name, name))
			return &run->hosts[i];
	return NULL;
}

/* ---- worker pool ------------------------------------------------------------ */

struct pool {
	struct hp_run *run;
	unsigned role;
	hp_host_fn fn;
	void *arg;
	size_t next;
	size_t nr_failed;
	bool include_failed;
	pthread_mutex_t mu;
};

static bool host_eligible(const struct pool *p, const struct hp_hostrun *h)
{
	if (!h->selected || (p->role && !(h->host->roles & p->role)))
		return false;
	return p->include_failed || !h->failed;
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct hp_hostrun *h = NULL;
		int r;

		pthread_mutex_lock(&p->mu);
		while (p->next < p->run->nr_hosts) {
			struct hp_hostrun *c = &p->run->hosts[p->next++];

			if (host_eligible(p, c)) {
				h = c;
				break;
			}
		}
		pthread_mutex_unlock(&p->mu);
		if (!h)
			return NULL;
		if (hp_interrupted()) {
			/* start no new work; what runs finishes its step */
			r = hp_err_set(&h->err, HP_EINTR, "interrupted");
		} else {
			r = p->fn(h, p->arg);
		}
		if (r < 0) {
			pthread_mutex_lock(&p->mu);
			p->nr_failed++;
			pthread_mutex_unlock(&p->mu);
			h->failed = true;
			if (!h->err.code)
				hp_err_set(&h->err, r, "failed");
		}
	}
}

static size_t pool_run(struct hp_run *run, unsigned role, hp_host_fn fn,
		       void *arg, bool include_failed)
{
	struct pool p = { .run = run, .role = role, .fn = fn, .arg = arg,
			  .include_failed = include_failed };
	pthread_t *th;
	size_t i, n = 0, want = 0;

	for (i = 0; i < run->nr_hosts; i++)
		if (host_eligible(&p, &run->hosts[i]))
			want++;
	if (!want)
		return 0;
	if (want > (size_t)run->opts.parallel)
		want = (size_t)run->opts.parallel;
	pthread_mutex_init(&p.mu, NULL);
	th = xcalloc(want, sizeof(*th));
	for (i = 0; i < want; i++)
		if (pthread_create(&th[n], NULL, pool_worker, &p) == 0)
			n++;
	if (!n) /* no thread could start: do the work here */
		pool_worker(&p);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&p.mu);
	return p.nr_failed;
}

/* For hp_run_unhold: every host's lines and results kept. */
static bool *keep_all(const struct hp_run *run)
{
	bool *keep = xcalloc(run->nr_hosts + 1, sizeof(*keep));
	size_t i;

	for (i = 0; i <= run->nr_hosts; i++)
		keep[i] = true;
	return keep;
}

size_t hp_run_each(struct hp_run *run, unsigned role, hp_host_fn fn,
		   void *arg)
{
	/* a plan's lines come host by host, in inventory order, as if the
	 * hosts had run one after the other (an apply's come as they
	 * happen: its progress) */
	bool hold = run->opts.plan && !run->holding;
	bool *keep = hold ? keep_all(run) : NULL;
	size_t mark = hold ? hp_run_hold(run) : 0, n;

	n = pool_run(run, role, fn, arg, false);
	if (hold)
		hp_run_unhold(run, mark, keep);
	free(keep);
	return n;
}

const struct hp_hostrun *hp_run_first_failed(const struct hp_run *run)
{
	size_t i;

	for (i = 0; i < run->nr_hosts; i++)
		if (run->hosts[i].failed)
			return &run->hosts[i];
	return NULL;
}

int hp_run_failure(const struct hp_run *run, const char *what,
		   struct hp_err *err)
{
	const struct hp_hostrun *h = hp_run_first_failed(run);

	if (!h)
		return hp_err_set(err, HP_ERROR, "%s failed", what);
	return hp_err_set(err, h->err.code ? h->err.code : HP_ERROR, "%s: %s",
			  what, h->err.msg);
}

/* ---- connecting ---------------------------------------------------------------- */

static int connect_one(struct hp_hostrun *h, void *arg)
{
	const struct hp_inventory *inv = h->run->inv;
	struct hp_ssh_opts o;
	int64_t t = hp_now_ms();
	int r;

	(void)arg;
	if (h->tr.ops)
		return 0;
	memset(&o, 0, sizeof(o));
	o.address = h->host->address;
	o.port = inv->ssh.port;
	o.user = inv->ssh.user;
	o.identity_file = inv->ssh.identity_file;
	o.known_hosts = inv->ssh.known_hosts;
	o.accept_new_host_keys = h->run->opts.accept_new_host_keys;
	/* plan writes nothing, known_hosts included */
	o.read_only = h->run->opts.plan;
	o.sudo = inv->ssh.sudo;
	o.connect_timeout_s = inv->ssh.connect_timeout_s;
	o.command_timeout_s = inv->ssh.command_timeout_s;
	r = hp_ssh_connect(&h->tr, h->host->name, &o, &h->err);
	if (r < 0) {
		hp_strlcpy(h->err.host, h->host->name, sizeof(h->err.host));
		hp_run_record(h->run, h->host->name, HP_STEP_FAILED, "connect",
			      h->err.msg, NULL, t);
		return r;
	}
	hp_debug("%s: connected in %lld ms", h->host->name,
		 (long long)(hp_now_ms() - t));
	return 0;
}

/* This process's CPU time so far, in ms (user + system). */
static int64_t cpu_ms(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

size_t hp_run_connect(struct hp_run *run, struct hp_err *err)
{
	int64_t t = hp_now_ms(), cpu = cpu_ms();
	size_t nr = pool_run(run, 0, connect_one, NULL, true);

	/* the handshakes' cost on this side (bench/fanout reports it) */
	hp_debug("connected in %lld ms, %lld ms of CPU",
		 (long long)(hp_now_ms() - t), (long long)(cpu_ms() - cpu));
	if (nr) {
		struct hp_buf b = HP_BUF_INIT;
		size_t i;

		for (i = 0; i < run->nr_hosts; i++)
			if (run->hosts[i].failed)
				hp_buf_addf(&b, "%s%s", b.len ? ", " : "",
					    run->hosts[i].host->name);
		hp_err_set(err, HP_ECONNECT, "cannot connect to %s", b.buf);
		hp_buf_release(&b);
	}
	return nr;
}

/* ---- results ------------------------------------------------------------------- */

static const char *status_name(enum hp_step_status st)
{
	switch (st) {
	case HP_STEP_OK:
		return "ok";
	case HP_STEP_CHANGED:
		return "changed";
	case HP_STEP_FAILED:
		return "failed";
	}
	return "?";
}

/* A step's detail for people and the state repository: credentials
 * redacted, one printable line. NULL when empty. */
static char *clean_detail(const char *detail)
{
	struct hp_buf red = HP_BUF_INIT, out = HP_BUF_INIT;

	if (!detail || !*detail)
		return NULL;
	hp_redact_credentials(&red, detail, strlen(detail), NULL);
	hp_buf_add_printable(&out, red.buf, red.len, DETAIL_MAX);
	hp_redact_buf_wipe(&red);
	return hp_buf_detach(&out, NULL);
}

/* A diff: credentials redacted, each line printable (a file's old content
 * can hold escape sequences). NULL when empty. */
static char *clean_diff(const char *diff)
{
	struct hp_buf red = HP_BUF_INIT, out = HP_BUF_INIT;
	const char *p, *end;

	if (!diff || !*diff)
		return NULL;
	hp_redact_credentials(&red, diff, strlen(diff), NULL);
	end = red.buf + red.len;
	for (p = red.buf; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		hp_buf_add_printable(&out, p, n, DIFF_LINE_MAX);
		if (nl)
			hp_buf_addch(&out, '\n');
		p += n + (nl ? 1 : 0);
	}
	hp_redact_buf_wipe(&red);
	return hp_buf_detach(&out, NULL);
}

/* The index of host in run->hosts, or nr_hosts for none (or unknown). */
static size_t host_rank(struct hp_run *run, const char *host)
{
	const struct hp_hostrun *h = host && *host ? hp_run_host(run, host)
						   : NULL;

	return h ? (size_t)(h - run->hosts) : run->nr_hosts;
}

/* A progress line of host (NULL: none), with run->mu held: printed, or
 * held (hp_run_hold). */
static void emit(struct hp_run *run, const char *host, const char *line)
{
	struct hp_held_line *l;

	if (!run->holding) {
		fputs(line, stderr);
		return;
	}
	HP_ALLOC_GROW(run->held, run->nr_held + 1, run->alloc_held);
	l = &run->held[run->nr_held++];
	l->rank = host_rank(run, host);
	l->line = xstrdup(line);
}

size_t hp_run_hold(struct hp_run *run)
{
	size_t mark;

	pthread_mutex_lock(&run->mu);
	run->holding = true;
	mark = run->nr_results;
	pthread_mutex_unlock(&run->mu);
	return mark;
}

/* The held lines: the kept ones printed host by host, all freed. */
static void held_flush(struct hp_run *run, const bool *keep)
{
	size_t rank, i;

	for (rank = 0; keep && rank <= run->nr_hosts; rank++)
		for (i = 0; keep[rank] && i < run->nr_held; i++)
			if (run->held[i].rank == rank)
				fputs(run->held[i].line, stderr);
	for (i = 0; i < run->nr_held; i++)
		free(run->held[i].line);
	run->nr_held = 0;
}

/* The results from mark on: the kept ones moved host by host (a stable
 * order within each host), the others freed. */
static void results_regroup(struct hp_run *run, size_t mark, const bool *keep)
{
	size_t n = run->nr_results - mark, *rank, rk, i, out = 0;
	struct hp_step_result *tmp;

	if (!n)
		return;
	rank = xcalloc(n, sizeof(*rank));
	tmp = xcalloc(n, sizeof(*tmp));
	for (i = 0; i < n; i++)
		rank[i] = host_rank(run, run->results[mark + i].host);
	for (rk = 0; keep && rk <= run->nr_hosts; rk++)
		for (i = 0; keep[rk] && i < n; i++)
			if (rank[i] == rk)
				tmp[out++] = run->results[mark + i];
	for (i = 0; i < n; i++)
		if (!keep || !keep[rank[i]])
			result_free(&run->results[mark + i]);
	memcpy(run->results + mark, tmp, out * sizeof(*tmp));
	run->nr_results = mark + out;
	free(tmp);
	free(rank);
}

void hp_run_unhold(struct hp_run *run, size_t mark, const bool *keep)
{
	pthread_mutex_lock(&run->mu);
	run->holding = false;
	held_flush(run, keep);
	results_regroup(run, mark, keep);
	pthread_mutex_unlock(&run->mu);
}

/* one of the run's counters, under its lock */
static size_t counter(struct hp_run *run, const size_t *c)
{
	size_t n;

	pthread_mutex_lock(&run->mu);
	n = *c;
	pthread_mutex_unlock(&run->mu);
	return n;
}

size_t hp_run_host_changes(struct hp_run *run)
{
	return counter(run, &run->nr_host_changes);
}

size_t hp_run_changes(struct hp_run *run)
{
	return counter(run, &run->nr_changes);
}

size_t hp_run_count_since(struct hp_run *run, size_t mark, const char *host,
			  enum hp_step_status st)
{
	size_t i, n = 0;

	pthread_mutex_lock(&run->mu);
	for (i = mark; i < run->nr_results; i++)
		if (run->results[i].status == st &&
		    (!host || !strcmp(run->results[i].host, host)))
			n++;
	pthread_mutex_unlock(&run->mu);
	return n;
}

void hp_run_note(struct hp_run *run, const char *host, const char *fmt, ...)
{
	struct hp_buf msg = HP_BUF_INIT, line = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	hp_buf_addf(&line, "[%6.1fs] %s: ",
		    (double)(hp_now_ms() - run->t0) / 1000.0, host ? host : "-");
	hp_buf_add_printable(&line, msg.buf, msg.len, DETAIL_MAX);
	hp_buf_addch(&line, '\n');
	/* one write: parallel hosts never interleave */
	pthread_mutex_lock(&run->mu);
	emit(run, host, line.buf);
	pthread_mutex_unlock(&run->mu);
	hp_buf_release(&msg);
	hp_buf_release(&line);
}

static void record(struct hp_run *run, const char *host,
		   enum hp_step_status st, const char *step,
		   const char *detail, const char *diff, int64_t started_ms,
		   bool api)
{
	struct hp_step_result *r;
	char *clean_d = clean_detail(detail), *clean_f = clean_diff(diff);
	int64_t now = hp_now_ms();
	const char *label = st == HP_STEP_CHANGED && run->opts.plan
				    ? "would change"
				    : status_name(st);

	pthread_mutex_lock(&run->mu);
	HP_ALLOC_GROW(run->results, run->nr_results + 1, run->alloc_results);
	r = &run->results[run->nr_results++];
	memset(r, 0, sizeof(*r));
	hp_strlcpy(r->host, host ? host : "", sizeof(r->host));
	hp_strlcpy(r->phase, run->phase ? run->phase : "", sizeof(r->phase));
	r->step = xstrdup(step);
	r->detail = clean_d;
	r->diff = clean_f;
	r->status = st;
	r->ms = now - started_ms;
	/* a plan (or a staged pass's read-only try) changes nothing: what
	 * was read before still stands */
	if (st == HP_STEP_CHANGED && !run->opts.plan) {
		run->nr_changes++;
		if (!api)
			run->nr_host_changes++;
	}
	if (run->view && host && *host)
		hp_view_step(run->view, host_rank(run, host), run->phase,
			     step);
	/* one write per line: parallel hosts never interleave. By default a
	 * step that is ok and has nothing to say is not printed (-v: every
	 * step); the recap counts it. */
	if (st != HP_STEP_OK || r->detail || hp_run_verbose()) {
		char line[1024];

		/* with color: what changed yellow, what failed red */
		const char *on = !hp_color()		  ? ""
				 : st == HP_STEP_FAILED	  ? "\033[31m"
				 : st == HP_STEP_CHANGED ? "\033[33m"
							  : "";

		snprintf(line, sizeof(line),
			 "[%6.1fs] %-8s %-8s %-40s %s%s%s%s%s (%.1fs)\n",
			 (double)(now - run->t0) / 1000.0, host ? host : "-",
			 r->phase, step, on, label, *on ? "\033[0m" : "",
			 r->detail ? ": " : "", r->detail ? r->detail : "",
			 (double)r->ms / 1000.0);
		emit(run, host, line);
	}
	pthread_mutex_unlock(&run->mu);
}

void hp_run_record(struct hp_run *run, const char *host,
		   enum hp_step_status st, const char *step,
		   const char *detail, const char *diff, int64_t started_ms)
{
	record(run, host, st, step, detail, diff, started_ms, false);
}

void hp_run_record_api(struct hp_run *run, const char *host,
		       enum hp_step_status st, const char *step,
		       const char *detail, const char *diff,
		       int64_t started_ms)
{
	record(run, host, st, step, detail, diff, started_ms, true);
}

size_t hp_run_count(struct hp_run *run, const char *phase,
		    enum hp_step_status st)
{
	size_t i, n = 0;

	pthread_mutex_lock(&run->mu);
	for (i = 0; i < run->nr_results; i++)
		if (run->results[i].status == st &&
		    (!phase || !strcmp(run->results[i].phase, phase)))
			n++;
	pthread_mutex_unlock(&run->mu);
	return n;
}

bool hp_run_verbose(void)
{
	return hp_log_get_level() >= HP_LOG_INFO;
}

/* ok / changed / failed of host name's results (phase NULL: all) */
static void count_host(const struct hp_run *run, const char *name,
		       const char *phase, size_t c[3])
{
	size_t j;

	c[0] = c[1] = c[2] = 0;
	for (j = 0; j < run->nr_results; j++) {
		const struct hp_step_result *r = &run->results[j];

		if (!strcmp(r->host, name) &&
		    (!phase || !strcmp(r->phase, phase)))
			c[r->status]++;
	}
}

void hp_run_recap(struct hp_run *run)
{
	size_t i, c[3];

	pthread_mutex_lock(&run->mu);
	for (i = 0; i < run->nr_hosts; i++) {
		const char *name = run->hosts[i].host->name;

		count_host(run, name, NULL, c);
		if (!run->hosts[i].selected && !(c[0] + c[1] + c[2]))
			continue;
		fprintf(stderr, "recap    %-8s ok=%zu %s=%zu failed=%zu\n",
			name, c[0],
			run->opts.plan ? "would-change" : "changed", c[1],
			c[2] + (run->hosts[i].failed && !c[2]));
	}
	pthread_mutex_unlock(&run->mu);
}

void hp_run_phase_summary(struct hp_run *run, const char *phase)
{
	bool all = hp_run_verbose();
	size_t i, c[3];

	pthread_mutex_lock(&run->mu);
	for (i = 0; i < run->nr_hosts; i++) {
		const char *name = run->hosts[i].host->name;

		count_host(run, name, phase, c);
		/* by default only where something changed or failed */
		if (all ? c[0] + c[1] + c[2] : c[1] + c[2])
			fprintf(stderr,
				"%-8s %-8s ok=%zu %s=%zu failed=%zu\n", phase,
				name, c[0],
				run->opts.plan ? "would-change" : "changed",
				c[1], c[2]);
	}
	pthread_mutex_unlock(&run->mu);
}

json_t *hp_run_json(struct hp_run *run)
{
	json_t *doc = json_object(), *arr = json_array();
	size_t i;

	json_object_set_new(doc, "run_id", json_string(run->run_id));
	json_object_set_new(doc, "cluster", json_string(run->inv->cluster));
	json_object_set_new(doc, "plan", json_boolean(run->opts.plan));
	pthread_mutex_lock(&run->mu);
	for (i = 0; i < run->nr_results; i++) {
		const struct hp_step_result *r = &run->results[i];
		json_t *o = json_object();

		json_object_set_new(o, "host", json_string(r->host));
		json_object_set_new(o, "phase", json_string(r->phase));
		json_object_set_new(o, "step", json_string(r->step));
		json_object_set_new(o, "status",
				    json_string(status_name(r->status)));
		if (r->detail)
			json_object_set_new(o, "detail",
					    json_string(r->detail));
		if (r->diff)
			json_object_set_new(o, "diff", json_string(r->diff));
		json_object_set_new(o, "ms", json_integer(r->ms));
		json_array_append_new(arr, o);
	}
	pthread_mutex_unlock(&run->mu);
	json_object_set_new(doc, "results", arr);
	return doc;
}

static struct hp_run_memo *memo_find(struct hp_run *run, const char *key)
{
	size_t i;

	for (i = 0; i < HP_RUN_MEMOS; i++)
		if (run->memo[i].key && !strcmp(run->memo[i].key, key))
			return &run->memo[i];
	return NULL;
}

void hp_run_memo_put(struct hp_run *run, const char *key, const char *text,
		     size_t len)
{
	struct hp_run_memo *m;

	pthread_mutex_lock(&run->mu);
	if (!(m = memo_find(run, key))) {
		m = &run->memo[run->memo_next];
		run->memo_next = (run->memo_next + 1) % HP_RUN_MEMOS;
	}
	memo_clear(m);
	m->key = xstrdup(key);
	m->text = xmalloc(len + 1);
	memcpy(m->text, text, len);
	m->text[len] = '\0';
	m->len = len;
	m->at = run->nr_changes;
	pthread_mutex_unlock(&run->mu);
}

char *hp_run_memo_get(struct hp_run *run, const char *key, size_t *len)
{
	const struct hp_run_memo *m;
	char *copy = NULL;

	pthread_mutex_lock(&run->mu);
	m = memo_find(run, key);
	if (m && m->at == run->nr_changes) {
		copy = xmalloc(m->len + 1);
		memcpy(copy, m->text, m->len + 1);
		*len = m->len;
	}
	pthread_mutex_unlock(&run->mu);
	return copy;
}
