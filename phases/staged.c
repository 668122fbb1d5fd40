/*
 * Staged changes on a live cluster (docs/architecture.md, "Staged
 * changes on a live cluster"): Patroni's dynamic configuration is
 * PATCHed on the leader with only what differs, every member must report
 * it, members whose PostgreSQL needs a restart
 * are restarted one at a time (replicas, one switchover, the former
 * leader), and the cluster must then stay healthy for the soak time.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "staged_priv.h"

/* ---- dynamic configuration ----------------------------------------------- */

/* Scalars compared as PostgreSQL would read them: 100 == "100", true ==
 * "on". */
static char *scalar_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%g", json_real_value(v));
	if (json_is_true(v))
		return xstrdup("on");
	if (json_is_false(v))
		return xstrdup("off");
	return xstrdup("null");
}

static bool scalar_eq(const json_t *a, const json_t *b)
{
	char *x, *y;
	bool eq;

	if (!a || !b)
		return a == b;
	if (json_is_object(a) || json_is_object(b))
		return json_equal(a, b);
	x = scalar_text(a);
	y = scalar_text(b);
	if (!strcmp(x, "true"))
		eq = !strcmp(y, "on") || !strcmp(y, "true");
	else if (!strcmp(x, "false"))
		eq = !strcmp(y, "off") || !strcmp(y, "false");
	else if (!strcmp(y, "true") || !strcmp(y, "false"))
		eq = !strcmp(x, !strcmp(y, "true") ? "on" : "off");
	else
		eq = !strcmp(x, y);
	free(x);
	free(y);
	return eq;
}

/* "path: old -> new" into desc; every part is sanitized (old and the keys
 * of have are remote text, and desc reaches the terminal and the state
 * repository). old NULL: "(unset)"; new NULL: "(unset)". */
static void desc_line(struct hp_buf *desc, const char *prefix, const char *key,
		      const json_t *old, const json_t *new)
{
	char *a = old ? scalar_text(old) : xstrdup("(unset)");
	char *b = new ? scalar_text(new) : xstrdup("(unset)");

	if (*prefix) {
		hp_buf_add_printable(desc, prefix, strlen(prefix),
				     HP_STAGED_QUOTE);
		hp_buf_addch(desc, '.');
	}
	hp_buf_add_printable(desc, key, strlen(key), HP_STAGED_QUOTE);
	hp_buf_adds(desc, ": ");
	hp_buf_add_printable(desc, a, strlen(a), HP_STAGED_QUOTE);
	hp_buf_adds(desc, " -> ");
	hp_buf_add_printable(desc, b, strlen(b), HP_STAGED_QUOTE);
	hp_buf_addch(desc, '\n');
	free(a);
	free(b);
}

json_t *hp_dcs_patch(const json_t *want, const json_t *have, const char *prefix,
		     struct hp_buf *desc)
{
	return hp_dcs_patch_scoped(want, have, prefix, NULL, desc);
}

json_t *hp_dcs_patch_scoped(const json_t *want, const json_t *have,
			    const char *prefix,
			    const struct hp_dcs_scope *scope,
			    struct hp_buf *desc)
{
	json_t *patch = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)(uintptr_t)want, k, v)
	{
		json_t *old = have ? json_object_get(have, k) : NULL;

		if (json_is_object(v)) {
			char *path = xasprintf("%s%s%s", prefix,
					       *prefix ? "." : "", k);
			json_t *sub = hp_dcs_patch_scoped(
				v, json_is_object(old) ? old : NULL, path,
				scope, desc);

			if (sub)
				json_object_set_new(patch, k, sub);
			free(path);
		} else if (hp_dcs_in_scope(scope, prefix, k) &&
			   !scalar_eq(v, old)) {
			desc_line(desc, prefix, k, old, v);
			json_object_set(patch, k, v);
		}
	}
	if (have && !strcmp(prefix, "postgresql.parameters")) {
		json_object_foreach((json_t *)(uintptr_t)have, k, v)
		{
			if (json_object_get(want, k) ||
			    !hp_dcs_in_scope(scope, prefix, k))
				continue;
			desc_line(desc, prefix, k, v, NULL);
			json_object_set_new(patch, k, json_null());
		}
	}
	if (!json_object_size(patch)) {
		json_decref(patch);
		return NULL;
	}
	return patch;
}

int hp_dcs_config_check(const json_t *config, const char *from,
			struct hp_err *err)
{
	const json_t *pg = json_object_get(config, "postgresql");
	const json_t *params = json_object_get(pg, "parameters");
	const char *k;
	json_t *v;

	if (!json_is_object(config))
		return hp_err_set(err, HP_EVERIFY, "%s: not a JSON object",
				  from);
	if (pg && !json_is_object(pg))
		return hp_err_set(err, HP_EVERIFY,
				  "%s: \"postgresql\" is not an object", from);
	if (params && !json_is_object(params))
		return hp_err_set(err, HP_EVERIFY,
				  "%s: \"postgresql.parameters\" is not an "
				  "object",
				  from);
	json_object_foreach((json_t *)(uintptr_t)params, k, v)
	{
		char *q;
		int r;

		if (hp_guc_name_valid(k) &&
		    (json_is_string(v) || json_is_number(v) ||
		     json_is_boolean(v) || json_is_null(v)))
			continue;
		q = hp_printable_dup(k, 64);
		if (!hp_guc_name_valid(k))
			r = hp_err_set(err, HP_EVERIFY,
				       "%s: parameter name '%s' is not a valid "
				       "PostgreSQL setting name; refusing to "
				       "act on it",
				       from, q);
		else
			r = hp_err_set(err, HP_EVERIFY,
				       "%s: parameter %s is a JSON %s, not a "
				       "string or number",
				       from, q,
				       json_is_object(v) ? "object" : "array");
		free(q);
		return r;
	}
	return 0;
}

/* ---- waiting ------------------------------------------------------------- */

struct applied_arg {
	const json_t *want;
	struct hp_dcs_scope scope;
};

static bool applied_ok(const struct hp_rest_resp *resp, void *arg,
		       struct hp_buf *why)
{
	const struct applied_arg *a = arg;
	json_t *patch;

	if (resp->status != 200 || !json_is_object(resp->json)) {
		hp_buf_addf(why, "HTTP %ld", resp->status);
		return false;
	}
	patch = hp_dcs_patch_scoped(a->want, resp->json, "", &a->scope, why);
	json_decref(patch);
	return patch == NULL;
}

/* Every patroni member reports `want` in its own GET /config. */
static int wait_members_config(struct hp_run *run, struct hp_rest *rest,
			       const json_t *want, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct applied_arg a = {want, hp_run_dcs_scope(run)};
	size_t i;
	int r = 0;

	for (i = 0; i < inv->nr_hosts && r == 0; i++) {
		const struct hp_host *host = &inv->hosts[i];
		char *url;

		if (!(host->roles & HP_ROLE_PATRONI))
			continue;
		url = hp_url(host, inv->patroni.restapi_port, "/config");
		r = hp_rest_poll(rest, "GET", url, NULL,
				 inv->validation.timeout_s * 1000, 250,
				 applied_ok, &a, NULL, err);
		if (r < 0)
			hp_err_prefix(err, "member %s", host->name);
		free(url);
	}
	return r;
}

/*
 * Patroni flags a pending restart on its next loop after the change; wait
 * until every member has shown its flag, or one loop_wait (plus slack) in
 * all. A member counts once its flag was seen: a flag seen at the first
 * look can be one from before the change (the member runs the value the
 * change sets, as in a rollback, and its flag goes at its next loop),
 * and that member never gets another. In a rollback, a member the bad
 * change left down counts too: Patroni flags only a running PostgreSQL,
 * and starts that one again itself (hp_staged_look).
 */
static void wait_pending_flags(struct hp_run *run, struct hp_rest *rest)
{
	const struct hp_inventory *inv = run->inv;
	int64_t end =
		hp_now_ms() + (int64_t)(inv->patroni.dcs.loop_wait + 3) * 1000;
	bool *seen = xcalloc(inv->nr_hosts ? inv->nr_hosts : 1, sizeof(*seen));
	bool down_counts = hp_staged_repairing(run);
	size_t i, waiting;

	do {
		waiting = 0;
		for (i = 0; i < inv->nr_hosts; i++) {
			struct hp_err e;
			bool pending = false, down = false;

			if (!(inv->hosts[i].roles & HP_ROLE_PATRONI) || seen[i])
				continue;
			/* a member that cannot answer yet is waited for */
			if (hp_member_flags(run, rest, inv->hosts[i].name,
					    &pending, &down, &e) == 0 &&
			    (pending || (down && down_counts)))
				seen[i] = true;
			else
				waiting++;
		}
		if (waiting)
			hp_sleep_ms(250);
	} while (waiting && hp_now_ms() < end && !hp_interrupted());
	free(seen);
}

/* ---- soak ---------------------------------------------------------------- */

/* The leader's timeline in a /cluster answer (checked by
 * hp_staged_cluster_check): -1 when it shows none; a timeline that is not
 * a number is an error. */
static int leader_timeline(const json_t *cluster, const char *leader,
			   long long *out, struct hp_err *err)
{
	const json_t *m;
	size_t i;

	*out = -1;
	json_array_foreach(json_object_get(cluster, "members"), i, m)
	{
		const json_t *tl = json_object_get(m, "timeline");

		if (strcmp(json_string_value(json_object_get(m, "name")),
			   leader) != 0 ||
		    !tl)
			continue;
		if (!json_is_integer(tl))
			return hp_err_set(err, HP_EVERIFY,
					  "GET /cluster: the timeline of %s is "
					  "not a number",
					  leader);
		*out = json_integer_value(tl);
	}
	return 0;
}

/* One look during the soak: stable, same leader, same timeline, no
 * pending restart. */
static int soak_look(struct hp_run *run, struct hp_rest *rest,
		     const char *leader, long long *timeline,
		     struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_buf why = HP_BUF_INIT;
	const char *now = NULL;
	json_t *cluster = NULL;
	long long tl = -1;
	bool stable = false, pending = false;
	size_t i;
	int r;

	r = hp_staged_look(run, rest, &now, &cluster, &stable, &why, err);
	if (r == 0 && !stable)
		r = hp_err_set(err, HP_EVERIFY, "during the soak: %s", why.buf);
	else if (r == 0 && strcmp(now, leader) != 0)
		r = hp_err_set(err, HP_EVERIFY,
			       "leader changed from %s to %s during the soak",
			       leader, now);
	else if (r == 0 &&
		 (r = leader_timeline(cluster, leader, &tl, err)) == 0 &&
		 tl >= 0) {
		if (*timeline < 0)
			*timeline = tl;
		else if (*timeline != tl)
			r = hp_err_set(err, HP_EVERIFY,
				       "timeline changed from %lld to %lld "
				       "during the soak",
				       *timeline, tl);
	}
	for (i = 0; r == 0 && i < inv->nr_hosts; i++) {
		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI))
			continue;
		r = hp_member_pending(run, rest, inv->hosts[i].name, &pending,
				      err);
		if (r == 0 && pending)
			r = hp_err_set(err, HP_EVERIFY,
				       "member %s still has a pending restart",
				       inv->hosts[i].name);
	}
	json_decref(cluster);
	hp_buf_release(&why);
	return r;
}

/* The cluster stays as it is (same leader, same timeline, every member
 * running, replicas streaming, no pending restart) for soak_s seconds. */
static int soak(struct hp_run *run, struct hp_rest *rest, const char *leader,
		struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int64_t t = hp_now_ms(),
		end = t + (int64_t)inv->validation.soak_s * 1000;
	long long timeline = -1;
	char *detail = xasprintf("%ds: same leader and timeline, all running",
				 inv->validation.soak_s);
	int r;

	do {
		r = soak_look(run, rest, leader, &timeline, err);
		if (r == 0 && hp_now_ms() < end)
			hp_sleep_ms(1000);
		if (r == 0 && hp_interrupted())
			r = hp_err_set(err, HP_EINTR, "interrupted");
	} while (r == 0 && hp_now_ms() < end);
	hp_run_record(run, leader, r < 0 ? HP_STEP_FAILED : HP_STEP_OK, "soak",
		      r < 0 ? err->msg : detail, NULL, t);
	free(detail);
	return r;
}

/* ---- the staged DCS change ----------------------------------------------- */

/* Whether any patroni member of the inventory waits for a restart (left
 * by an interrupted run). */
/* hp_hosts_at_once: 1 when the member has a restart pending. On a REST
 * client of its own (under a unit test's REST seam, where the calls run
 * one after the other, the caller's). */
static int pending_one(struct hp_run *run, const struct hp_host *h, void *arg,
		       struct hp_err *err)
{
	struct hp_rest own, *rest = arg;
	bool pending = false;
	int r;

	if (!run->rest_ops) {
		if ((r = hp_run_rest_init(run, &own, 3000, err)) < 0)
			return r;
		rest = &own;
	}
	r = hp_member_pending(run, rest, h->name, &pending, err);
	if (rest == &own)
		hp_rest_release(&own);
	return r < 0 ? r : pending;
}

/* Whether a member has a restart pending: every member asked at once. The
 * answer is the first member, in inventory order, that failed to say or
 * has one pending. */
static int any_pending(struct hp_run *run, struct hp_rest *rest, bool *out,
		       struct hp_err *err)
{
	int r = hp_hosts_at_once(run, HP_ROLE_PATRONI, pending_one, rest, err);

	*out = r > 0;
	return r < 0 ? r : 0;
}

/*
 * What the leader's PostgreSQL says: which of params need a restart
 * (need), and the hot-standby settings it runs with (*running, a dynamic
 * configuration for hp_restart_leader_first).
 */
static int leader_settings(struct hp_run *run, const char *leader,
			   const json_t *params, struct hp_strlist *need,
			   json_t **running, struct hp_err *err)
{
	struct hp_buf sql = HP_BUF_INIT, out = HP_BUF_INIT;
	int r;

	if ((r = hp_staged_settings_sql(&sql, params, err)) == 0 &&
	    (r = hp_staged_psql(run, leader, sql.buf, &out, err)) == 0 &&
	    (r = hp_staged_settings_parse(out.buf, params, need, running,
					  err)) < 0)
		hp_err_prefix(err, "psql on %s", leader);
	hp_buf_release(&sql);
	hp_buf_release(&out);
	return r;
}

/* The desired dynamic configuration (the run's desired source: the
 * rollback point's, or the inventory's), checked as a remote one is. */
static int desired(struct hp_run *run, json_t **want, struct hp_err *err)
{
	int r;

	if ((r = hp_desired_dcs(run, want, err)) < 0)
		return r;
	return hp_dcs_config_check(*want, "the desired configuration", err);
}

/* The change's description: the "old -> new" lines, then the parameters
 * that need a restart. */
static void describe(struct hp_buf *desc, const struct hp_strlist *need)
{
	size_t i;

	if (desc->len && desc->buf[desc->len - 1] == '\n')
		desc->buf[--desc->len] = '\0';
	for (i = 0; i < need->nr; i++)
		hp_buf_addf(desc, "%s%s",
			    i ? ", " : "\n(restart, rolling: ", need->items[i]);
	if (need->nr)
		hp_buf_adds(desc, ")");
}

/* PATCH only what differs, then every member must report it. */
static int send_patch(struct hp_run *run, struct hp_rest *rest,
		      const char *leader, const json_t *patch,
		      const json_t *want, const struct hp_buf *desc,
		      const struct hp_strlist *need, int64_t t,
		      struct hp_err *err)
{
	struct hp_rest_resp resp;
	int r;

	hp_rest_resp_init(&resp);
	r = hp_member_write(run, rest, "PATCH", leader, "/config", patch, 10000,
			    &resp, err);
	if (r == 0)
		r = wait_members_config(run, rest, want, err);
	/* in etcd, not on a host: the facts read before still stand */
	hp_run_record_api(run, leader,
			  r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
			  "dcs config", r < 0 ? err->msg : desc->buf, NULL, t);
	if (r == 0 && need->nr)
		wait_pending_flags(run, rest);
	hp_rest_resp_release(&resp);
	return r;
}

/*
 * The leader to act on and its GET /config, checked. Apply waits for a
 * stable cluster first (never acting on one in transition) and takes its
 * leader; plan only reads, from the leader it was given.
 */
static int leader_config(struct hp_run *run, struct hp_rest *rest,
			 const char *hint, char **leader,
			 struct hp_rest_resp *resp, struct hp_err *err)
{
	char *from;
	int r = 0;

	if (!run->opts.plan)
		r = hp_staged_wait_stable(run, rest, leader, err);
	else if (hint)
		*leader = xstrdup(hint);
	else
		r = hp_err_set(err, HP_EVERIFY, "patroni has no leader");
	if (r < 0 ||
	    (r = hp_member_get(run, rest, *leader, "/config", resp, err)) < 0)
		return r;
	from = xasprintf("GET /config on %s", *leader);
	r = hp_dcs_config_check(resp->json, from, err);
	free(from);
	return r;
}

/* After the restarts: a stable cluster, then the soak against whoever
 * leads now. */
static int settle(struct hp_run *run, struct hp_rest *rest, struct hp_err *err)
{
	char *now = NULL;
	int r;

	/* a rollback: every member must be back before the soak */
	if (hp_desired_point(run))
		run->repaired = true;
	r = hp_staged_wait_stable(run, rest, &now, err);

	if (r == 0)
		r = soak(run, rest, now, err);
	free(now);
	return r;
}

/*
 * An earlier DCS converge of this run, with no change recorded since,
 * read the leader, its GET /config and no restart pending (the memo
 * "dcs"): when this phase's keys differ in nothing there, there is
 * nothing to do, and the step is recorded without asking again. Anything
 * else (no memo, a difference) reads afresh, so a kept answer never
 * leads to a change.
 */
#define DCS_MEMO "dcs config, nothing pending"

static bool dcs_nothing_to_do(struct hp_run *run, const json_t *want,
			      const struct hp_dcs_scope *scope, int64_t t)
{
	size_t len = 0;
	char *text = hp_run_memo_get(run, DCS_MEMO, &len);
	json_t *kept = text ? json_loadb(text, len, 0, NULL) : NULL;
	const char *leader = json_string_value(json_object_get(kept, "leader"));
	json_t *patch = NULL;
	bool none = false;

	if (leader) {
		struct hp_buf desc = HP_BUF_INIT;

		patch = hp_dcs_patch_scoped(
			want, json_object_get(kept, "config"), "", scope, &desc);
		none = !patch;
		hp_buf_release(&desc);
	}
	if (none)
		hp_run_record(run, leader, HP_STEP_OK, "dcs config", NULL, NULL,
			      t);
	json_decref(patch);
	json_decref(kept);
	free(text);
	return none;
}

static void dcs_keep(struct hp_run *run, const char *leader,
		     const json_t *config)
{
	json_t *m = json_pack("{s:s, s:O}", "leader", leader, "config",
			      config);
	char *text = m ? json_dumps(m, JSON_COMPACT) : NULL;

	if (text)
		hp_run_memo_put(run, DCS_MEMO, text, strlen(text));
	free(text);
	json_decref(m);
}

int hp_dcs_converge(struct hp_run *run, struct hp_rest *rest,
		    const char *leader_hint, struct hp_err *err)
{
	struct hp_rest_resp resp;
	struct hp_buf desc = HP_BUF_INIT;
	struct hp_strlist need = {NULL, 0, 0};
	json_t *want = NULL, *patch = NULL, *running = NULL;
	const json_t *params;
	const struct hp_dcs_scope scope = hp_run_dcs_scope(run);
	char *leader = NULL;
	bool pending = false;
	int64_t t = hp_now_ms();
	int r;

	hp_rest_resp_init(&resp);
	if ((r = desired(run, &want, err)) < 0 ||
	    dcs_nothing_to_do(run, want, &scope, t))
		goto out;
	if ((r = leader_config(run, rest, leader_hint, &leader, &resp, err)) <
	    0)
		goto out;
	/* only the current phase's keys (all of them in a rollback) */
	patch = hp_dcs_patch_scoped(want, resp.json, "", &scope, &desc);
	if ((r = any_pending(run, rest, &pending, err)) < 0)
		goto out;
	if (!pending)
		dcs_keep(run, leader, resp.json);
	if (!patch && !pending) {
		hp_run_record(run, leader, HP_STEP_OK, "dcs config", NULL, NULL,
			      t);
		goto out;
	}
	params = json_object_get(json_object_get(patch, "postgresql"),
				 "parameters");
	/* a restart can follow only a parameter change or a pending one */
	if ((params || pending) &&
	    (r = leader_settings(run, leader, params, &need, &running, err)) <
		    0)
		goto out;
	describe(&desc, &need);
	if (run->opts.plan) {
		hp_run_record(run, leader, HP_STEP_CHANGED, "dcs config",
			      patch ? "dynamic settings differ"
				    : "a restart is pending",
			      desc.buf, t);
		goto out;
	}
	if (patch && (r = send_patch(run, rest, leader, patch, want, &desc,
				     &need, t, err)) < 0)
		goto out;
	r = hp_rolling_restart(
		run, rest, leader,
		running && hp_restart_leader_first(running, want), err);
	if (r == 0)
		r = settle(run, rest, err);
out:
	hp_strlist_clear(&need);
	json_decref(want);
	json_decref(patch);
	json_decref(running);
	free(leader);
	hp_buf_release(&desc);
	hp_rest_resp_release(&resp);
	return r;
}
