/*
 * A switchover with the smallest write gap the stack allows, for `haprov
 * switchover` and for the rolling restart's one switchover (rolling.c):
 *
 *   1. the leader is drained in every HAProxy's primary backend (runtime
 *      API): no new client connection reaches a primary about to demote;
 *   2. POST /switchover (a busy answer: the drain is undone, waited out
 *      and tried again, within validation.timeout_s);
 *   3. the candidate's GET /primary is polled every 50 ms; the moment it
 *      answers 200 (what HAProxy's own check asks), every HAProxy is told:
 *      the candidate's health up, the former leader's down, its drain off.
 *      Clients do not wait for HAProxy's checks to notice; the checks
 *      confirm (or correct) it at their next interval;
 *   4. verified: the candidate leads and the former leader streams from it
 *      (hp_patroni_wait_healthy); `haprov switchover` then checks every
 *      HAProxy routes to the new leader (hp_haproxy_backends_ok).
 *
 * A failure after the drain always lifts it again.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "staged_priv.h"

/* The runtime commands of step 1, of step 3, and of the undo. */
static int cmds(struct hp_buf *out, const char *leader, const char *candidate,
		int step, struct hp_err *err)
{
	int r;

	/* the candidate's drain lifted too: one left by a killed
	 * switchover would leave the new leader without clients */
	if (step == 1 &&
	    (r = hp_haproxy_server_cmd(out, "primary", candidate,
				       "state ready", err)) < 0)
		return r;
	if (step == 1)
		return hp_haproxy_server_cmd(out, "primary", leader,
					     "state drain", err);
	if (step == 3 &&
	    (r = hp_haproxy_server_cmd(out, "primary", candidate, "health up",
				       err)) < 0)
		return r;
	if (step == 3 &&
	    (r = hp_haproxy_server_cmd(out, "primary", leader, "health down",
				       err)) < 0)
		return r;
	return hp_haproxy_server_cmd(out, "primary", leader, "state ready",
				     err);
}

/* Tell every HAProxy (none: nothing to tell). */
static int tell(struct hp_run *run, const char *leader, const char *candidate,
		int step, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	int r;

	if (!hp_inventory_count_role(run->inv, HP_ROLE_HAPROXY))
		return 0;
	if ((r = cmds(&b, leader, candidate, step, err)) == 0)
		r = hp_haproxy_runtime_all(run, b.buf, err);
	hp_buf_release(&b);
	return r;
}

/* POST /switchover, a busy answer waited out; 0 when accepted. */
static int post(struct hp_run *run, struct hp_rest *rest, const char *leader,
		const char *candidate, struct hp_err *err)
{
	int timeout_ms = run->inv->validation.timeout_s * 1000;
	int64_t end = hp_now_ms() + timeout_ms;
	json_t *body = json_pack("{s:s, s:s}", "leader", leader, "candidate",
				 candidate);
	struct hp_rest_resp resp;
	struct hp_err e2;
	int r;

	hp_rest_resp_init(&resp);
	for (;;) {
		if ((r = tell(run, leader, candidate, 1, err)) < 0)
			break;
		r = hp_member_write(run, rest, "POST", leader, "/switchover",
				    body, timeout_ms, &resp, err);
		if (r == 0)
			break;
		/* not accepted: clients back on the leader while we wait */
		if (tell(run, leader, candidate, 0, &e2) < 0)
			hp_warn("%s", e2.msg);
		if (!hp_member_busy(&resp) || hp_now_ms() >= end)
			break;
		hp_warn("%s: %s; asking again", leader, err->msg);
		hp_sleep_ms(1000);
		if (hp_interrupted()) {
			r = hp_err_set(err, HP_EINTR, "interrupted");
			break;
		}
	}
	hp_rest_resp_release(&resp);
	json_decref(body);
	return r;
}

int hp_switchover_move(struct hp_run *run, struct hp_rest *rest,
		       const char *leader, const char *candidate,
		       int64_t *gap_ms, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const struct hp_host *ch = hp_inventory_host(inv, candidate);
	int timeout_ms = inv->validation.timeout_s * 1000;
	int64_t t = hp_now_ms();
	struct hp_err e2;
	char *url;
	int r;

	if (gap_ms)
		*gap_ms = -1;
	if (!ch || !(ch->roles & HP_ROLE_PATRONI) || !strcmp(leader, candidate))
		return hp_err_set(err, HP_EINVALID,
				  "%s is not another patroni host of the "
				  "inventory",
				  candidate);
	if ((r = post(run, rest, leader, candidate, err)) < 0)
		return r;
	/* the new leader serves writes: what HAProxy's check asks */
	url = hp_url(ch, inv->patroni.restapi_port, "/primary");
	r = hp_rest_poll(rest, "GET", url, NULL, timeout_ms, 50,
			 hp_patroni_primary_ok, NULL, NULL, err);
	free(url);
	if (r == 0) {
		r = tell(run, leader, candidate, 3, err);
		if (gap_ms)
			*gap_ms = hp_now_ms() - t;
	} else if (tell(run, leader, candidate, 0, &e2) < 0) {
		hp_warn("%s", e2.msg);
	}
	return r;
}

int hp_switchover_run(struct hp_run *run, struct hp_rest *rest,
		      const char *leader, const char *candidate,
		      int64_t *gap_ms, struct hp_err *err)
{
	int r = hp_switchover_move(run, rest, leader, candidate, gap_ms, err);

	if (r == 0)
		r = hp_patroni_wait_healthy(run, rest, candidate,
					    run->inv->validation.timeout_s *
						    1000,
					    err);
	return r;
}
