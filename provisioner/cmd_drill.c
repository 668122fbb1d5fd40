/*
 * haprov drill INVENTORY --kind switchover|crash|postgres-kill [--count N]
 * [--json] [--yes]: a fault on the Patroni leader under a write load, N
 * times, each trial timed stage by stage (phases/drill.h), then the
 * cluster brought back to healthy before the next:
 *
 *   1. the cluster must be stable (one leader, every member streaming)
 *      and HAProxy routing to it: a drill never starts on a sick cluster;
 *   2. the write probe starts through an HAProxy the fault does not hit
 *      and must write before the fault;
 *   3. the fault, in its own thread, while this one watches the stages;
 *   4. back to healthy: a crashed host booted (drill.boot_command), the
 *      cluster stable again, HAProxy routing to the leader, etcd's leader
 *      off Patroni's; then the probe stops and the RPO is counted.
 *
 * SIGINT/SIGTERM stop the trial: the probe stops, a crashed host is
 * booted, the cluster is waited for until healthy, the trials done are
 * reported. A cluster not marked `cluster.environment: lab` or `test`
 * needs --yes: a drill takes the leader down on purpose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bootstrap.h"
#include "cmd.h"
#include "drill.h"
#include "lock.h"
#include "phases.h"
#include "staged_priv.h"

#define DRILL_MAX_COUNT 100
#define PROBE_EVERY_MS 50
#define PROBE_READY_ACKS 10

int hp_drill_allowed(const struct hp_inventory *inv, bool yes,
		     struct hp_err *err)
{
	const char *env = inv->environment ? inv->environment : "production";

	if (yes || !strcmp(env, "lab") || !strcmp(env, "test"))
		return 0;
	return hp_err_set(err, HP_EINVALID,
			  "cluster %s is not marked as a lab "
			  "(cluster.environment: %s): a drill takes its leader "
			  "down on purpose; run it again with --yes to do "
			  "that",
			  inv->cluster, env);
}

int hp_drill_count_parse(const char *s, int *out, struct hp_err *err)
{
	char *end = NULL;
	long n;

	*out = 1;
	if (!s)
		return 0;
	n = strtol(s, &end, 10);
	if (!*s || *end || n < 1 || n > DRILL_MAX_COUNT)
		return hp_err_set(err, HP_EINVALID,
				  "--count %s: a number from 1 to %d", s,
				  DRILL_MAX_COUNT);
	*out = (int)n;
	return 0;
}

const struct hp_host *hp_drill_other(const struct hp_inventory *inv,
				     unsigned role, const char *victim)
{
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++)
		if ((inv->hosts[i].roles & role) &&
		    strcmp(inv->hosts[i].name, victim) != 0)
			return &inv->hosts[i];
	return NULL;
}

bool hp_drill_sync_ready(const struct hp_inventory *inv,
			 const json_t *cluster)
{
	const json_t *m;
	size_t i;

	if (!inv->patroni.dcs.synchronous_mode)
		return true;
	json_array_foreach(json_object_get(cluster, "members"), i, m)
	{
		const char *role = json_string_value(json_object_get(m, "role"));

		if (role && !strcmp(role, "sync_standby"))
			return true;
	}
	return false;
}

struct drill {
	struct hp_run *run;
	struct hp_rest rest;
	enum hp_drill_kind kind;
	bool drain; /* a switchover's: haprov's (true) or Patroni's alone */
	int count;
	const char *password; /* the superuser's, borrowed */
	char cadir[192];
	char *capath;
	struct hp_drill_trial *trials;
	size_t nr;
	const struct hp_host *down; /* crashed, not booted yet */
};

/* The leader's timeline (GET /patroni), -1 when it does not say. */
static long timeline_of(struct drill *d, const char *leader)
{
	const struct hp_host *h = hp_inventory_host(d->run->inv, leader);
	struct hp_rest_resp resp;
	struct hp_err e;
	char *url = hp_url(h, d->run->inv->patroni.restapi_port, "/patroni");
	long tl = -1;

	hp_rest_resp_init(&resp);
	if (hp_rest_call(&d->rest, "GET", url, NULL, &resp, &e) == 0 &&
	    resp.status == 200 &&
	    json_is_integer(json_object_get(resp.json, "timeline")))
		tl = (long)json_integer_value(json_object_get(resp.json,
							      "timeline"));
	hp_rest_resp_release(&resp);
	free(url);
	return tl;
}

static void probe_conf(struct drill *d, const struct hp_host *ha, int n,
		       char *tag, size_t tlen, struct hp_probe_conf *c)
{
	const struct hp_inventory *inv = d->run->inv;

	snprintf(tag, tlen, "%s-%d", d->run->run_id, n);
	memset(c, 0, sizeof(*c));
	c->host = ha->address;
	c->port = inv->haproxy.primary_port;
	c->user = inv->secrets.superuser;
	c->password = d->password;
	c->db = "postgres";
	c->tag = tag;
	c->interval_ms = PROBE_EVERY_MS;
	if (d->capath) {
		c->sslmode = "verify-ca";
		c->sslrootcert = d->capath;
	}
}

/* The probe writes before the fault, or the trial does not start. */
static int probe_ready(struct hp_probe *p, struct hp_err *err)
{
	int64_t end = hp_now_ms() + 15000;
	char last[256];

	while (hp_probe_acks(p) < PROBE_READY_ACKS) {
		if (hp_interrupted())
			return hp_err_set(err, HP_EINTR, "interrupted");
		if (hp_now_ms() > end) {
			hp_probe_last_error(p, last, sizeof(last));
			return hp_err_set(err, HP_EVERIFY,
					  "the write probe could not write "
					  "through %s:%d before the fault: %s",
					  p->conf.host, p->conf.port, last);
		}
		hp_sleep_ms(50);
	}
	return 0;
}

struct fault_arg {
	struct drill *d;
	struct hp_drill_watch *w;
	const char *victim, *candidate;
	struct hp_err err;
	int r;
};

static void *fault_main(void *arg)
{
	struct fault_arg *f = arg;

	hp_err_clear(&f->err);
	f->r = hp_drill_fault(f->d->run, f->d->kind, f->d->drain, f->victim,
			      f->candidate, &f->err);
	f->w->fault_done = true;
	return NULL;
}

/* The fault, then the watch. A switchover is a process of seconds: it
 * runs in its own thread from t0 on, watched meanwhile. A kill or a
 * crash is an instant: t0 is when its command returned (the process or
 * host is gone by then), so no write acknowledged by the victim before
 * it died counts as a write after the fault. */
static int fault_and_watch(struct drill *d, struct hp_drill_watch *w,
			   struct hp_drill_trial *t, const char *candidate,
			   struct hp_err *err)
{
	struct fault_arg f = { d, w, t->victim, candidate, { 0 }, 0 };
	pthread_t th;
	int r;

	if (d->kind != HP_DRILL_SWITCHOVER) {
		if (d->kind == HP_DRILL_CRASH)
			d->down = hp_inventory_host(d->run->inv, t->victim);
		fault_main(&f);
		w->t0 = hp_now_ms();
		if (f.r < 0) {
			*err = f.err;
			return f.r;
		}
		return hp_drill_watch(w, t, err);
	}
	w->t0 = hp_now_ms();
	if (pthread_create(&th, NULL, fault_main, &f) != 0)
		return hp_err_set(err, HP_EIO, "cannot start the fault thread");
	r = hp_drill_watch(w, t, err);
	pthread_join(th, NULL);
	if (f.r < 0) {
		*err = f.err;
		return f.r;
	}
	return r;
}

#define NO_SYNC                                                           \
	"no synchronous standby yet (synchronous_mode: Patroni fails over "  \
	"to it alone)"

/* One look: stable, and with synchronous_mode a synchronous standby
 * named (without one Patroni fails over to nobody); else why. */
static int ready(struct drill *d, const char **leader, bool *ok,
		 struct hp_buf *why, struct hp_err *err)
{
	json_t *cluster = NULL;
	int r = hp_staged_look(d->run, &d->rest, leader, &cluster, ok, why,
			       err);

	if (r == 0 && *ok && !hp_drill_sync_ready(d->run->inv, cluster)) {
		*ok = false;
		hp_buf_adds(why, NO_SYNC);
	}
	json_decref(cluster);
	return r;
}

/* After a trial: wait (validation.timeout_s) until ready. */
static int wait_ready(struct drill *d, struct hp_err *err)
{
	int64_t end = hp_now_ms() + d->run->inv->validation.timeout_s * 1000LL;
	struct hp_buf why = HP_BUF_INIT;
	const char *leader;
	bool ok = false;
	int r;

	while ((r = ready(d, &leader, &ok, &why, err)) == 0 && !ok) {
		if (hp_now_ms() >= end) {
			r = hp_err_set(err, HP_ETIMEOUT,
				       "not ready for another trial within %d "
				       "s: %s",
				       d->run->inv->validation.timeout_s,
				       why.buf);
			break;
		}
		if (hp_interrupted()) {
			r = hp_err_set(err, HP_EINTR, "interrupted");
			break;
		}
		hp_buf_reset(&why);
		hp_sleep_ms(500);
	}
	hp_buf_release(&why);
	return r;
}

/* Ahead of a trial: ready now, the leader, its timeline, the hosts to
 * ask (none of them the leader). */
static int before(struct drill *d, struct hp_drill_watch *w,
		  const char **leader, struct hp_err *err)
{
	const struct hp_inventory *inv = d->run->inv;
	struct hp_buf why = HP_BUF_INIT;
	bool ok = false;
	int r = ready(d, leader, &ok, &why, err);

	if (r == 0 && !ok)
		r = hp_err_set(err, HP_EVERIFY,
			       "the cluster is not healthy, so no drill "
			       "(nothing changed): %s",
			       why.buf);
	hp_buf_release(&why);
	if (r < 0)
		return r;
	memset(w, 0, sizeof(*w));
	w->run = d->run;
	w->victim = *leader;
	w->old_timeline = timeline_of(d, *leader);
	w->etcd = hp_drill_other(inv, HP_ROLE_ETCD, *leader);
	w->patroni = hp_drill_other(inv, HP_ROLE_PATRONI, *leader);
	w->haproxy = hp_drill_other(inv, HP_ROLE_HAPROXY, *leader);
	w->deadline_ms = inv->validation.timeout_s * 1000;
	if (!w->haproxy || !w->patroni)
		return hp_err_set(err, HP_EINVALID,
				  "a drill needs an haproxy host and a "
				  "patroni member other than the leader %s",
				  *leader);
	return 0;
}

/* Healthy again: a crashed host booted, the cluster stable (and with a
 * synchronous standby when synchronous_mode is on), HAProxy routing to
 * the leader, etcd's leader off Patroni's. */
static int recover(struct drill *d, struct hp_err *err)
{
	char *leader = NULL;
	int r;

	if (d->down) {
		fprintf(stderr, "haprov drill: booting %s (drill.boot_command)\n",
			d->down->name);
		if ((r = hp_drill_local_command("drill.boot_command",
						d->run->inv->drill.boot_command,
						d->down, d->run->inv->dir, 300,
						err)) < 0)
			return r;
		d->down = NULL;
	}
	if ((r = hp_staged_wait_stable(d->run, &d->rest, &leader, err)) == 0 &&
	    (r = wait_ready(d, err)) == 0)
		r = hp_haproxy_backends_ok(d->run, err);
	if (r == 0)
		r = hp_etcd_leader_away(d->run, err);
	free(leader);
	return r;
}

/* One trial, from a stable cluster back to a stable cluster. */
static int trial(struct drill *d, struct hp_drill_trial *t, int n,
		 struct hp_err *err)
{
	struct hp_drill_watch w;
	struct hp_probe probe;
	struct hp_probe_conf pc;
	const char *leader = NULL, *candidate = NULL;
	struct hp_err e2;
	char tag[64];
	int r, r2;

	memset(&probe, 0, sizeof(probe));
	if ((r = before(d, &w, &leader, err)) < 0)
		return r;
	hp_drill_trial_init(t, n, d->kind, leader);
	if (d->kind == HP_DRILL_SWITCHOVER &&
	    (r = hp_switchover_pick(d->run->inv, leader, NULL, &candidate,
				    err)) < 0)
		return r;
	probe_conf(d, w.haproxy, n, tag, sizeof(tag), &pc);
	if ((n == 1 && (r = hp_probe_prepare(&pc, err)) < 0) ||
	    (r = hp_probe_start(&probe, &pc, err)) < 0)
		return r;
	w.probe = &probe;
	w.rto_after_gap = d->kind == HP_DRILL_SWITCHOVER;
	fprintf(stderr,
		"haprov drill: trial %d/%d: %s of the leader %s, writes "
		"through haproxy on %s\n",
		n, d->count, hp_drill_kind_name(d->kind), leader,
		w.haproxy->name);
	if ((r = probe_ready(&probe, err)) == 0)
		r = fault_and_watch(d, &w, t, candidate, err);
	if (r < 0)
		hp_strlcpy(t->note, err->msg, sizeof(t->note));
	/* back to healthy, also after a failure or an interrupt */
	if (r == HP_EINTR)
		hp_interrupt_take();
	hp_err_clear(&e2);
	if ((r2 = recover(d, &e2)) < 0 && r == 0) {
		*err = e2;
		hp_strlcpy(t->note, e2.msg, sizeof(t->note));
	}
	else if (r2 < 0)
		fprintf(stderr, "haprov drill: the cluster is not healthy "
				"again: %s\n",
			e2.msg);
	hp_probe_stop(&probe);
	t->acked = (long)hp_probe_acks(&probe);
	if (r2 == 0 && hp_probe_count_missing(&probe, &t->rpo, err) < 0 &&
	    r == 0)
		r = HP_EREMOTE;
	hp_probe_release(&probe);
	t->done = r == 0 && r2 == 0;
	if (r == HP_EINTR && r2 < 0) {
		*err = e2; /* not "healthy again" */
		return r2;
	}
	return r < 0 ? r : r2;
}

/* The trials, each line printed as it ends; then the summary. */
static int trials(struct drill *d, bool json, struct hp_err *err)
{
	struct hp_buf out = HP_BUF_INIT;
	int r = 0, i;

	for (i = 1; i <= d->count && r == 0; i++) {
		struct hp_drill_trial *t = &d->trials[d->nr];

		if (hp_interrupted()) {
			r = hp_err_set(err, HP_EINTR, "interrupted");
			break;
		}

		r = trial(d, t, i, err);
		if (t->n == i)
			d->nr++;
		hp_buf_reset(&out);
		if (t->n == i)
			hp_drill_trial_line(t, d->count, &out);
		if (out.len)
			fputs(out.buf, json ? stderr : stdout);
		fflush(stdout);
	}
	hp_buf_reset(&out);
	hp_drill_summary(d->trials, d->nr, &out);
	if (json) {
		json_t *doc = hp_drill_json(d->kind, d->trials, d->nr,
					    r == HP_EINTR);

		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputs("\n", stdout);
		json_decref(doc);
	} else if (out.len) {
		fputs(out.buf, stdout);
	}
	hp_buf_release(&out);
	return r;
}

/* What a drill needs beyond the live run: REST, the superuser's
 * password, the CA as a file for libpq. */
static int drill_open(struct drill *d, const struct hp_run_secrets *sec,
		      struct hp_err *err)
{
	struct hp_run *run = d->run;
	int r;

	d->password = sec->val[HP_SECRET_SUPERUSER];
	if ((r = hp_run_rest_init(run, &d->rest, 5000, err)) < 0)
		return r;
	if (run->rest_tls && run->rest_tls->ca_pem)
		r = hp_tls_ca_tmpfile(d->cadir, sizeof(d->cadir), &d->capath,
				      run->rest_tls->ca_pem, err);
	return r;
}

static void drill_close(struct drill *d)
{
	if (d->capath)
		unlink(d->capath);
	if (d->cadir[0])
		rmdir(d->cadir);
	free(d->capath);
	hp_rest_release(&d->rest);
	free(d->trials);
}

/* The options, checked before anything connects. */
static int drill_opts(struct hp_cmd_ctx *ctx, struct drill *d,
		      struct hp_err *err)
{
	const struct hp_inventory *inv = ctx->inv;
	const char *kind = hp_cmd_opt(ctx, "kind");
	int r;

	if (!kind)
		return hp_err_set(err, HP_EINVALID,
				  "--kind is required: switchover, crash or "
				  "postgres-kill");
	if (!hp_drill_kind_parse(kind, &d->kind))
		return hp_err_set(err, HP_EINVALID,
				  "--kind %s: not switchover, crash or "
				  "postgres-kill",
				  kind);
	if ((r = hp_drill_count_parse(hp_cmd_opt(ctx, "count"), &d->count,
				      err)) < 0)
		return r;
	d->drain = !hp_cmd_flag(ctx, "no-drain");
	if (!d->drain && d->kind != HP_DRILL_SWITCHOVER)
		return hp_err_set(err, HP_EINVALID,
				  "--no-drain is for --kind switchover only");
	if (d->kind == HP_DRILL_CRASH && !inv->drill.crash_command)
		return hp_err_set(err, HP_EINVALID,
				  "%s: --kind crash needs drill.crash_command "
				  "and drill.boot_command in the inventory "
				  "(how to make a host die at once and boot "
				  "it again, e.g. virsh destroy {host} / "
				  "virsh start {host})",
				  inv->path);
	return hp_drill_allowed(inv, hp_cmd_flag(ctx, "yes"), err);
}

/* The trials that ran to the end (not the one an interrupt stopped). */
static size_t trials_done(const struct drill *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->nr; i++)
		n += d->trials[i].done;
	return n;
}

int hp_cmd_drill(struct hp_cmd_ctx *ctx)
{
	struct hp_live_run lr;
	struct drill d;
	struct hp_err err;
	int r;

	hp_err_clear(&err);
	memset(&lr, 0, sizeof(lr));
	memset(&d, 0, sizeof(d));
	d.run = &lr.run;
	if ((r = drill_opts(ctx, &d, &err)) == 0 &&
	    (r = hp_live_run_open(&lr, ctx, "drill", &err)) == 0) {
		fprintf(stderr, "haprov drill: %d x %s\n", d.count,
			hp_drill_kind_name(d.kind));
		d.trials = xcalloc((size_t)d.count, sizeof(*d.trials));
		if ((r = drill_open(&d, &lr.sec, &err)) == 0)
			r = trials(&d, hp_cmd_flag(ctx, "json"), &err);
	}
	if (r == HP_EINTR)
		fprintf(stderr, "haprov drill: interrupted after %zu trial%s; "
				"the cluster was brought back to healthy\n",
			trials_done(&d), trials_done(&d) == 1 ? "" : "s");
	else if (r < 0)
		fprintf(stderr, "haprov: %s\n", err.msg);
	drill_close(&d);
	hp_live_run_close(&lr);
	return hp_live_run_exit(r);
}
