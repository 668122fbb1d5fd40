/*
 * haprov switchover INVENTORY [--to MEMBER]: a planned switchover with the
 * smallest write gap the stack allows (phases/switchover.c has the steps:
 * the leader drained in HAProxy first, the HAProxys told the moment the new
 * leader serves). The cluster must be stable first, and --to a streaming
 * replica of the inventory: anything else is refused before anything
 * changes. Without --to: the first streaming replica in inventory order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "cmd.h"
#include "lock.h"
#include "phases.h"
#include "staged_priv.h"

int hp_switchover_pick(const struct hp_inventory *inv, const char *leader,
		       const char *to, const char **out, struct hp_err *err)
{
	const struct hp_host *h;
	size_t i;

	*out = NULL;
	if (to) {
		h = hp_inventory_host(inv, to);
		if (!h || !(h->roles & HP_ROLE_PATRONI))
			return hp_err_set(err, HP_EINVALID,
					  "--to %s: not a patroni host of the "
					  "inventory",
					  to);
		if (!strcmp(h->name, leader))
			return hp_err_set(err, HP_EINVALID,
					  "--to %s: it leads already", to);
		*out = h->name;
		return 0;
	}
	for (i = 0; i < inv->nr_hosts && !*out; i++)
		if ((inv->hosts[i].roles & HP_ROLE_PATRONI) &&
		    strcmp(inv->hosts[i].name, leader) != 0)
			*out = inv->hosts[i].name;
	if (!*out)
		return hp_err_set(err, HP_EINVALID,
				  "no patroni host but the leader %s to switch "
				  "over to",
				  leader);
	return 0;
}

/* One look: stable (a leader, every member running, every replica
 * streaming from it), else the reason; never a wait. */
static int look(struct hp_run *run, struct hp_rest *rest, const char **leader,
		struct hp_err *err)
{
	struct hp_buf why = HP_BUF_INIT;
	bool stable = false;
	int r = hp_staged_look(run, rest, leader, NULL, &stable, &why, err);

	if (r == 0 && !stable)
		r = hp_err_set(err, HP_EVERIFY,
			       "the cluster is not ready for a switchover "
			       "(nothing changed): %s",
			       why.buf);
	hp_buf_release(&why);
	return r;
}

static int switchover(struct hp_run *run, const char *to, struct hp_err *err)
{
	struct hp_rest rest;
	const char *leader = NULL, *candidate = NULL;
	int64_t t = hp_now_ms(), gap = -1;
	char *who = NULL;
	int r;

	if ((r = hp_run_rest_init(run, &rest, 5000, err)) < 0)
		return r;
	if ((r = look(run, &rest, &leader, err)) < 0 ||
	    (r = hp_switchover_pick(run->inv, leader, to, &candidate, err)) <
		    0)
		goto out;
	/* borrowed from the inventory, which outlives the run */
	who = xasprintf("%s -> %s", leader, candidate);
	fprintf(stderr, "haprov switchover: %s\n", who);
	r = hp_switchover_run(run, &rest, leader, candidate, &gap, err);
	if (r == 0)
		r = hp_haproxy_backends_ok(run, err);
	hp_run_record(run, leader, r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
		      "switchover", r < 0 ? err->msg : who, NULL, t);
	if (r == 0) {
		fprintf(stderr,
			"haprov: switchover %s done in %.1f s; HAProxy routed "
			"to the new leader %.2f s after the drain\n",
			who, (double)(hp_now_ms() - t) / 1000,
			(double)gap / 1000);
		/* the new leader's host must not lead etcd too (a crash of
		 * it would cost an etcd election on top of the failover) */
		r = hp_etcd_leader_away(run, err);
	}
out:
	free(who);
	hp_rest_release(&rest);
	return r;
}

int hp_cmd_switchover(struct hp_cmd_ctx *ctx)
{
	const struct hp_inventory *inv = ctx->inv;
	const char *to = hp_cmd_opt(ctx, "to");
	struct hp_run_opts opts;
	struct hp_run_secrets sec;
	struct hp_lock *lock = NULL;
	struct hp_run run;
	struct hp_err err;
	bool run_started = false;
	int r;

	hp_err_clear(&err);
	memset(&sec, 0, sizeof(sec));
	memset(&opts, 0, sizeof(opts));
	opts.accept_new_host_keys = hp_cmd_flag(ctx, "accept-new-host-keys");
	if (to && !hp_inventory_host(inv, to)) {
		r = hp_err_set(&err, HP_EINVALID,
			       "--to %s: not a host of the inventory", to);
		goto out;
	}
	hp_signals_install();
	/* no apply, rollback or rotate at the same time */
	if ((r = hp_lock_acquire(&lock, inv->state_dir, "switchover",
				 &err)) < 0)
		goto out;
	hp_run_init(&run, inv, &opts);
	run_started = true;
	run.phase = "switchover";
	fprintf(stderr, "haprov switchover: cluster %s, run %s\n",
		inv->cluster, run.run_id);
	if (hp_run_connect(&run, &err)) {
		r = HP_ECONNECT;
		goto out;
	}
	/* never generates a secret: the cluster exists */
	if ((r = hp_run_secrets_load(&sec, &run, true, &err)) < 0)
		goto out;
	/* the stats page's password (the backends check) is in the run's
	 * secrets */
	run.secrets = &sec.rs;
	run.restapi_user = inv->secrets.restapi_user;
	run.restapi_password = sec.val[HP_SECRET_RESTAPI];
	r = switchover(&run, to, &err);
	run.restapi_password = NULL;
	run.secrets = NULL;
out:
	if (r < 0)
		fprintf(stderr, "haprov: %s\n", err.msg);
	if (run_started)
		hp_run_release(&run);
	hp_run_secrets_release(&sec);
	hp_lock_release(lock);
	if (r == 0)
		return HP_EXIT_OK;
	r = r == HP_EINTR ? HP_EXIT_INTERRUPTED : hp_exit_for_error(r);
	return r == HP_EXIT_OK ? HP_EXIT_ERROR : r;
}
