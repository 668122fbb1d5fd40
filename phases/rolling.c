/*
 * The rolling restart of a staged change: the order (which member first),
 * and the restarts and the switchover themselves, one at a time, each only
 * once the cluster is stable and led by the member the plan expects.
 */
#include <stdlib.h>
#include <string.h>

#include "staged_priv.h"

/* ---- the order ----------------------------------------------------------- */

/* A hot-standby setting's value in a configuration's parameters: a whole
 * number; missing or null is PostgreSQL's default. false: not a whole
 * number. */
static bool standby_value(const json_t *params,
			  const struct hp_standby_setting *s, long long *out)
{
	const json_t *v = json_object_get(params, s->name);
	const char *t;
	size_t n;

	*out = s->dflt;
	if (!v || json_is_null(v))
		return true;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return true;
	}
	if (!(t = json_string_value(v)))
		return false;
	n = strspn(t, "0123456789");
	if (n == 0 || n > 18 || t[n])
		return false;
	*out = strtoll(t, NULL, 10);
	return true;
}

bool hp_restart_leader_first(const json_t *have, const json_t *want)
{
	const json_t *hp = json_object_get(json_object_get(have, "postgresql"),
					   "parameters");
	const json_t *wp = json_object_get(json_object_get(want, "postgresql"),
					   "parameters");
	size_t i;

	for (i = 0; i < hp_standby_settings_nr; i++) {
		long long a, b;

		if (!standby_value(hp, &hp_standby_settings[i], &a) ||
		    !standby_value(wp, &hp_standby_settings[i], &b) || b < a)
			return true;
	}
	return false;
}

/* ---- one action at a time ------------------------------------------------ */

/* Wait for a stable cluster, which must be led by leader. */
static int stable_led_by(struct hp_run *run, struct hp_rest *rest,
			 const char *leader, struct hp_err *err)
{
	char *now = NULL;
	int r = hp_staged_wait_stable(run, rest, &now, err);

	if (r == 0 && strcmp(now, leader) != 0)
		r = hp_err_set(err, HP_EVERIFY,
			       "the leader changed from %s to %s during the "
			       "rolling restart; stopping here (run apply "
			       "again to finish it)",
			       leader, now);
	free(now);
	return r;
}

/* Patroni said another action is under way (err has its answer): say so,
 * and give it a second before the cluster is looked at again, so a member
 * that stays busy is not asked in a tight loop. */
static int busy_pause(const char *name, struct hp_err *err)
{
	hp_warn("%s: %s; waiting for a stable cluster", name, err->msg);
	hp_sleep_ms(1000);
	if (hp_interrupted())
		return hp_err_set(err, HP_EINTR, "interrupted");
	return 0;
}

/*
 * Restart member name if it still waits for a restart, the cluster led by
 * leader; then it must serve (or stream from the leader) again. Patroni's
 * 503 "... already in progress" is a transition: wait for a stable
 * cluster and ask again, within validation.timeout_s. An hp_member_fn.
 */
static int restart_member(struct hp_run *run, struct hp_rest *rest,
			  const char *name, const char *leader, void *arg,
			  struct hp_err *err)
{
	int timeout_ms = run->inv->validation.timeout_s * 1000;
	int64_t t = hp_now_ms(), end = t + timeout_ms;
	struct hp_rest_resp resp;
	json_t *body = json_object();
	bool pending = false, posted = false;
	int r;

	(void)arg;
	hp_rest_resp_init(&resp);
	for (;;) {
		if ((r = stable_led_by(run, rest, leader, err)) < 0 ||
		    (r = hp_member_pending(run, rest, name, &pending, err)) <
			    0 ||
		    !pending)
			break;
		posted = true;
		r = hp_member_write(run, rest, "POST", name, "/restart", body,
				    timeout_ms, &resp, err);
		if (r == 0 || !hp_member_busy(&resp) || hp_now_ms() >= end)
			break;
		if ((r = busy_pause(name, err)) < 0)
			break;
	}
	if (r == 0 && posted)
		r = hp_patroni_wait_healthy(run, rest, leader, timeout_ms, err);
	if (posted || r < 0)
		hp_run_record(
			run, name, r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
			"restart postgresql",
			r < 0 ? err->msg : "pending restart done", NULL, t);
	hp_rest_resp_release(&resp);
	json_decref(body);
	return r;
}

/*
 * Switch over from leader to candidate, once the cluster is stable and
 * led by leader (hp_switchover_run: the leader drained in HAProxy first,
 * the HAProxys told at once); verified: the candidate leads, the former
 * leader streams from it, the backends follow. A cluster that meanwhile is
 * led by the candidate is done.
 */
static int switchover(struct hp_run *run, struct hp_rest *rest,
		      const char *leader, const char *candidate,
		      struct hp_err *err)
{
	int64_t t = hp_now_ms(), gap = -1;
	char *what = NULL, *now = NULL;
	int r;

	if ((r = hp_staged_wait_stable(run, rest, &now, err)) == 0 &&
	    strcmp(now, candidate) != 0) {
		if (strcmp(now, leader) != 0)
			r = hp_err_set(err, HP_EVERIFY,
				       "the leader changed from %s to %s "
				       "before the switchover; stopping here "
				       "(run apply again to finish it)",
				       leader, now);
		else
			r = hp_switchover_run(run, rest, leader, candidate,
					      &gap, err);
	}
	what = gap >= 0 ? xasprintf("%s -> %s (HAProxy on the new leader "
				    "%.1f s after the drain)",
				    leader, candidate, (double)gap / 1000)
			: xasprintf("%s -> %s", leader, candidate);
	hp_run_record(run, leader, r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
		      "switchover", r < 0 ? err->msg : what, NULL, t);
	free(now);
	free(what);
	return r;
}

/* ---- one member at a time ------------------------------------------------ */

/* member() on every replica of leader, in inventory order, each followed
 * by a stable cluster led by leader; *candidate: the first one done. */
static int roll_replicas(struct hp_run *run, struct hp_rest *rest,
			 const struct hp_rolling *how, const char *leader,
			 const char **candidate, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i;
	int r = 0;

	*candidate = NULL;
	for (i = 0; i < inv->nr_hosts && r == 0; i++) {
		const char *name = inv->hosts[i].name;

		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI) ||
		    !strcmp(name, leader))
			continue;
		if (hp_interrupted())
			r = hp_err_set(err, HP_EINTR, "interrupted");
		else if ((r = how->member(run, rest, name, leader, how->arg,
					  err)) == 0)
			r = stable_led_by(run, rest, leader, err);
		if (r == 0 && !*candidate)
			*candidate = name;
	}
	return r;
}

int hp_rolling_members(struct hp_run *run, struct hp_rest *rest,
		       const struct hp_rolling *how, struct hp_err *err)
{
	const char *candidate = NULL;
	char *leader = NULL;
	bool needs = true;
	int r;

	if (how->leader)
		r = stable_led_by(run, rest, how->leader, err);
	else
		r = hp_staged_wait_stable(run, rest, &leader, err);
	if (r < 0)
		goto out;
	if (how->leader)
		leader = xstrdup(how->leader);
	if ((r = roll_replicas(run, rest, how, leader, &candidate, err)) < 0)
		goto out;
	if (how->leader_needs &&
	    ((r = how->leader_needs(run, rest, leader, how->arg, &needs,
				    err)) < 0 ||
	     !needs))
		goto out;
	if (!candidate) {
		r = hp_err_set(err, HP_EVERIFY,
			       "%s needs it too and there is no replica to "
			       "switch over to",
			       leader);
		goto out;
	}
	if ((r = switchover(run, rest, leader, candidate, err)) < 0)
		goto out;
	if ((r = how->member(run, rest, leader, candidate, how->arg, err)) ==
	    0)
		r = stable_led_by(run, rest, candidate, err);
out:
	free(leader);
	return r;
}

/* ---- the rolling restart ------------------------------------------------- */

struct restart_arg {
	bool leader_done; /* restarted first: no switchover */
};

/* After the replicas: the leader needs its restart (and so a
 * switchover) only if Patroni still flags it. */
static int leader_pending(struct hp_run *run, struct hp_rest *rest,
			  const char *leader, void *arg, bool *out,
			  struct hp_err *err)
{
	const struct restart_arg *a = arg;

	*out = false;
	if (a->leader_done)
		return 0;
	return hp_member_pending(run, rest, leader, out, err);
}

int hp_rolling_restart(struct hp_run *run, struct hp_rest *rest,
		       const char *leader, bool leader_first,
		       struct hp_err *err)
{
	struct restart_arg a = { leader_first };
	const struct hp_rolling how = { restart_member, leader_pending, &a,
					leader };
	int r;

	/* a shrinking hot-standby setting: the leader first, then the
	 * replicas, and no switchover */
	if (leader_first &&
	    (r = restart_member(run, rest, leader, leader, NULL, err)) < 0)
		return r;
	return hp_rolling_members(run, rest, &how, err);
}
