/*
 * haprov rotate INV --ca: the store side and the cluster side of each
 * stage (the order is phases/rotate_ca.c; the store names and what each
 * stage renders, tls_rotation.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "apply_priv.h"
#include "bootstrap.h"
#include "phases.h"
#include "rotate_ca_priv.h"
#include "secret_store.h"
#include "tls.h"

struct ca_ctx {
	struct hp_run *run;
	const char *store;
	int64_t t0;
};

/* name's current value, or NULL when missing (other errors returned). */
static int read_opt(const char *store, const char *name, char **out,
		    struct hp_err *err)
{
	int r = hp_secret_read(out, store, name, err);

	*out = r == 0 ? *out : NULL;
	if (r == HP_ENOTFOUND) {
		hp_err_clear(err);
		return 0;
	}
	return r;
}

static int read_stage(void *ctx, enum hp_ca_stage *out, struct hp_err *err)
{
	const struct ca_ctx *c = ctx;
	char *cert = NULL, *key = NULL, *cur = NULL, *marker = NULL;
	int r = read_opt(c->store, HP_CA_NEXT_CERT, &cert, err);

	if (r == 0)
		r = read_opt(c->store, HP_CA_NEXT_KEY, &key, err);
	if (r == 0)
		r = read_opt(c->store, "tls-ca-cert", &cur, err);
	if (r == 0)
		r = read_opt(c->store, HP_CA_NEXT_STAGE, &marker, err);
	if (r == 0)
		*out = hp_ca_stage_decide(
			cert && key, cert && cur && !strcmp(cert, cur), marker);
	free(cert);
	hp_secret_free(key);
	free(cur);
	free(marker);
	return r;
}

/* value becomes name's current version. */
static int put(const char *store, const char *name, const char *value,
	       struct hp_err *err)
{
	char sha[65];
	int r = hp_secret_store_create(store, err);

	if (r == 0)
		r = hp_secret_keep_version(store, name, value, sha, err);
	if (r == 0)
		r = hp_secret_promote(store, name, sha, err);
	return r;
}

static int mark(void *ctx, enum hp_ca_stage next, struct hp_err *err)
{
	const struct ca_ctx *c = ctx;

	return put(c->store, HP_CA_NEXT_STAGE, hp_ca_stage_marker(next), err);
}

static int start(void *ctx, struct hp_err *err)
{
	const struct ca_ctx *c = ctx;
	const struct hp_inventory *inv = c->run->inv;
	struct hp_tls_pair p = {0};
	char when[32], *cn;
	time_t now = time(NULL);
	struct tm tm;
	int r;

	/* a subject of its own: both CAs are in the bundles at once */
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
	cn = xasprintf("haprov %s CA %s", inv->cluster, when);
	r = hp_tls_ca_new(&p, cn, inv->secrets.tls.ca_validity_days, now, err);
	free(cn);
	/* key first: a cert without its key is no rotation */
	if (r == 0)
		r = put(c->store, HP_CA_NEXT_KEY, p.key, err);
	if (r == 0)
		r = put(c->store, HP_CA_NEXT_CERT, p.cert, err);
	if (r == 0)
		r = mark(ctx, HP_CA_BOTH, err);
	hp_tls_pair_release(&p);
	if (r == 0)
		fprintf(stderr, "rotate --ca: new CA staged as %s\n",
			HP_CA_NEXT_CERT);
	return r;
}

/* One phase as apply runs it: converge, verify, rollback point. */
static int phase(struct hp_run *run, const char *name, struct hp_err *err)
{
	const struct hp_phase *ph = hp_phase_find(name);
	size_t k;
	int r;

	if (!ph)
		return hp_err_set(err, HP_ERROR, "no phase %s", name);
	run->phase = ph->name;
	run->phase_entry = ph;
	for (k = 0; k < run->nr_hosts; k++)
		hp_hostrun_phase_reset(&run->hosts[k]);
	fprintf(stderr, "== rotate --ca: phase %s\n", name);
	r = ph->converge(run, err);
	if (r == 0)
		r = ph->verify(run, err);
	hp_apply_commit(run, ph, ph->name, r < 0 ? "failed" : "ok");
	return r;
}

/* The leader, unchanged from *leader (set the first time). */
static int same_leader(struct hp_run *run, char **leader, struct hp_err *err)
{
	struct hp_rest rest;
	char *now = NULL;
	int r = hp_run_rest_init(run, &rest, 5000, err);

	if (r == 0)
		r = hp_patroni_leader(run, &rest, &now, NULL, err);
	hp_rest_release(&rest);
	if (r == 0 && !now)
		r = hp_err_set(err, HP_EVERIFY, "no Patroni leader");
	if (r == 0 && now && *leader && strcmp(*leader, now) != 0)
		r = hp_err_set(err, HP_EVERIFY,
			       "the leader changed from %s to %s", *leader,
			       now);
	if (r == 0 && !*leader) {
		*leader = now;
		now = NULL;
	}
	free(now);
	return r;
}

static int stage_cluster(struct hp_run *run, struct hp_err *err)
{
	static const char *const names[] = {"etcd", "patroni", "haproxy"};
	char *leader = NULL;
	size_t i;
	int r = same_leader(run, &leader, err);

	for (i = 0; r == 0 && i < HP_ARRAY_SIZE(names); i++)
		r = phase(run, names[i], err);
	run->phase = "rotate-ca";
	if (r == 0)
		r = hp_ca_pickup(run, err);
	if (r == 0)
		r = hp_etcd_verify(run, err);
	if (r == 0)
		r = hp_patroni_verify(run, err);
	if (r == 0)
		r = hp_haproxy_verify(run, err);
	if (r == 0)
		r = same_leader(run, &leader, err);
	/* the stage restarted etcd's members one at a time: its leader may
	 * have landed on the Patroni leader's host */
	if (r == 0)
		r = hp_etcd_leader_away(run, err);
	free(leader);
	return r;
}

static int run_stage(void *ctx, enum hp_ca_stage s, struct hp_err *err)
{
	struct ca_ctx *c = ctx;
	struct hp_run *run = c->run;
	struct hp_run_secrets sec;
	int64_t t0 = hp_now_ms();
	int r;

	memset(&sec, 0, sizeof(sec));
	fprintf(stderr, "== rotate --ca: %s\n", hp_ca_stage_next(s));
	if ((r = hp_run_secrets_load(&sec, run, true, err)) == 0 &&
	    sec.tls.ca_stage != (int)s)
		r = hp_err_set(err, HP_ERROR,
			       "the TLS material is for stage %d, not %d",
			       sec.tls.ca_stage, (int)s);
	if (r == 0) {
		run->secrets = &sec.rs;
		run->restapi_user = run->inv->secrets.restapi_user;
		run->restapi_password = sec.val[HP_SECRET_RESTAPI];
		r = stage_cluster(run, err);
	}
	/* verified everywhere: the stage's new certificates become current */
	if (r == 0)
		r = hp_run_secrets_promote_staged(&sec, run, err);
	run->secrets = NULL;
	run->restapi_password = NULL;
	hp_run_secrets_release(&sec);
	if (r == 0)
		fprintf(stderr, "rotate --ca: stage %d done in %.1f s\n",
			(int)s, (double)(hp_now_ms() - t0) / 1000);
	return r;
}

/* The new CA becomes tls-ca-cert/-key; the next names go (their versions
 * stay, for rollback points that pin them). */
static int finish(void *ctx, struct hp_err *err)
{
	const struct ca_ctx *c = ctx;
	static const char *const names[] = {HP_CA_NEXT_STAGE, HP_CA_NEXT_CERT,
					    HP_CA_NEXT_KEY};
	char *cert = NULL, *key = NULL;
	size_t i;
	int r = read_opt(c->store, HP_CA_NEXT_CERT, &cert, err);

	if (r == 0)
		r = read_opt(c->store, HP_CA_NEXT_KEY, &key, err);
	if (r == 0 && (!cert || !key))
		r = hp_err_set(err, HP_ERROR, "no new CA in the store");
	if (r == 0)
		r = put(c->store, "tls-ca-key", key, err);
	if (r == 0)
		r = put(c->store, "tls-ca-cert", cert, err);
	free(cert);
	hp_secret_free(key);
	for (i = 0; r == 0 && i < HP_ARRAY_SIZE(names); i++) {
		char *path = xasprintf("%s/%s", c->store, names[i]);

		if (unlink(path) < 0 && errno != ENOENT) {
			char eb[128];

			r = hp_err_set(err, HP_EIO, "%s: %s", path,
				       hp_strerror(errno, eb, sizeof(eb)));
		}
		free(path);
	}
	if (r == 0)
		fprintf(stderr,
			"rotate --ca: the new CA is current (%.1f s "
			"in all)\n",
			(double)(hp_now_ms() - c->t0) / 1000);
	return r;
}

static const struct hp_ca_ops real_ops = {
	.read_stage = read_stage,
	.start = start,
	.run_stage = run_stage,
	.mark = mark,
	.finish = finish,
};

int hp_cmd_rotate_ca(struct hp_run *run, struct hp_err *err)
{
	struct ca_ctx c = {run, run->inv->secrets.store, hp_now_ms()};

	if (!run->inv->tls.enabled)
		return hp_err_set(err, HP_EINVALID,
				  "rotate --ca needs tls on in the inventory");
	run->phase_table = hp_phases;
	run->phase_table_nr = hp_phases_nr;
	return hp_rotate_ca_run(&real_ops, &c, err);
}
