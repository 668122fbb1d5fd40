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
	const char *to = hp_cmd_opt(ctx, "to");
	struct hp_live_run lr;
	struct hp_err err;
	int r;

	hp_err_clear(&err);
	memset(&lr, 0, sizeof(lr));
	if (to && !hp_inventory_host(ctx->inv, to))
		r = hp_err_set(&err, HP_EINVALID,
			       "--to %s: not a host of the inventory", to);
	else if ((r = hp_live_run_open(&lr, ctx, "switchover", &err)) == 0)
		r = switchover(&lr.run, to, &err);
	if (r < 0)
		fprintf(stderr, "haprov: %s\n", err.msg);
	hp_live_run_close(&lr);
	return hp_live_run_exit(r);
}
