/*
 * Staged changes on a live cluster (DESIGN.md, "Staged changes"): Patroni's
 * dynamic configuration is PATCHed on the leader with only what differs,
 * every member must report it, members whose PostgreSQL needs a restart
 * are restarted one at a time (replicas, one switchover, the former
 * leader), and the cluster must then stay healthy for the soak time.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "render.h"
#include "shell.h"

/* ---- dynamic configuration ---------------------------------------------------- */

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

json_t *hp_dcs_patch(const json_t *want, const json_t *have,
		     const char *prefix, struct hp_buf *desc)
{
	json_t *patch = json_object(), *v;
	const char *k;

	json_object_foreach((json_t *)(uintptr_t)want, k, v)
	{
		json_t *old = have ? json_object_get(have, k) : NULL;
		char *path = xasprintf("%s%s%s", prefix, *prefix ? "." : "", k);

		if (json_is_object(v)) {
			json_t *sub = hp_dcs_patch(v, json_is_object(old) ? old
								       : NULL,
						path, desc);

			if (sub)
				json_object_set_new(patch, k, sub);
		} else if (!scalar_eq(v, old)) {
			char *a = old ? scalar_text(old) : xstrdup("(unset)");
			char *b = scalar_text(v);

			hp_buf_addf(desc, "%s: %s -> %s\n", path, a, b);
			json_object_set(patch, k, v);
			free(a);
			free(b);
		}
		free(path);
	}
	if (have && !strcmp(prefix, "postgresql.parameters")) {
		json_object_foreach((json_t *)(uintptr_t)have, k, v)
		{
			if (json_object_get(want, k))
				continue;
			char *a = scalar_text(v);

			hp_buf_addf(desc, "%s.%s: %s -> (unset)\n", prefix, k, a);
			json_object_set_new(patch, k, json_null());
			free(a);
		}
	}
	if (!json_object_size(patch)) {
		json_decref(patch);
		return NULL;
	}
	return patch;
}


/* ---- members' views ---------------------------------------------------------- */

/* GET path on a member; 0 with resp->json an object, else an error. */
static int member_get(struct hp_run *run, struct hp_rest *rest,
		      const char *name, const char *path,
		      struct hp_rest_resp *resp, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	char *url = hp_url(hp_inventory_host(inv, name),
			   inv->patroni.restapi_port, path);
	int r = hp_rest_call(rest, "GET", url, NULL, resp, err);

	if (r == 0 && (resp->status != 200 || !json_is_object(resp->json)))
		r = hp_err_set(err, HP_EREMOTE, "GET %s answered %ld: %.200s",
			       url, resp->status, resp->body.buf);
	free(url);
	return r;
}

/* POST (or PATCH) with the REST API credentials; 200 expected. The call
 * may take long (a restart is synchronous): timeout_ms. */
static int member_write(struct hp_run *run, struct hp_rest *rest,
			const char *method, const char *name, const char *path,
			const json_t *body, int timeout_ms,
			struct hp_rest_resp *resp, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	char *url = hp_url(hp_inventory_host(inv, name),
			   inv->patroni.restapi_port, path);
	int saved = rest->timeout_ms, r;

	rest->user = run->restapi_user;
	rest->password = run->restapi_password;
	rest->timeout_ms = timeout_ms;
	r = hp_rest_call(rest, method, url, body, resp, err);
	rest->user = rest->password = NULL;
	rest->timeout_ms = saved;
	if (r == 0 && resp->status != 200)
		r = hp_err_set(err, HP_EREMOTE, "%s %s answered %ld: %.300s",
			       method, url, resp->status, resp->body.buf);
	free(url);
	return r;
}

/* The members of GET /cluster (new reference) and the leader's name
 * (caller frees), asked of `ask`. */
static int cluster_members(struct hp_run *run, struct hp_rest *rest,
			   const char *ask, json_t **members, char **leader,
			   struct hp_err *err)
{
	struct hp_rest_resp resp;
	int r;

	*members = NULL;
	if (leader)
		*leader = NULL;
	hp_rest_resp_init(&resp);
	if ((r = member_get(run, rest, ask, "/cluster", &resp, err)) == 0) {
		json_t *m;
		size_t i;

		*members = json_object_get(resp.json, "members");
		json_incref(*members);
		json_array_foreach(*members, i, m)
		{
			const char *role = json_string_value(
				json_object_get(m, "role"));

			if (leader && !*leader && role &&
			    !strcmp(role, "leader"))
				*leader = xstrdup(json_string_value(
					json_object_get(m, "name")));
		}
		if (!json_is_array(*members))
			r = hp_err_set(err, HP_EREMOTE, "GET /cluster: no members");
	}
	hp_rest_resp_release(&resp);
	return r;
}

/*
 * Whether a member's PostgreSQL waits for a restart, in its own words
 * (GET /patroni): /cluster shows the flag only after the member's next
 * write to the DCS, up to loop_wait later.
 */
static bool member_pending(struct hp_run *run, struct hp_rest *rest,
			   const char *name)
{
	struct hp_rest_resp resp;
	struct hp_err err;
	bool pending;

	hp_rest_resp_init(&resp);
	pending = member_get(run, rest, name, "/patroni", &resp, &err) == 0 &&
		  json_is_true(json_object_get(resp.json, "pending_restart"));
	hp_rest_resp_release(&resp);
	return pending;
}

/* ---- which parameters need a restart ------------------------------------------------ */

/*
 * The names among `params` (an object) whose pg_settings context is
 * "postmaster", asked of PostgreSQL on the leader over SSH: PostgreSQL's
 * own word, not a list of ours. A name PostgreSQL does not know is not
 * listed (Patroni would not restart for it either).
 */
static int restart_params(struct hp_run *run, const char *leader,
			  const json_t *params, struct hp_strlist *out,
			  struct hp_err *err)
{
	struct hp_hostrun *h = hp_run_host(run, leader);
	struct hp_buf sql = HP_BUF_INIT, cmd = HP_BUF_INIT, res = HP_BUF_INIT;
	const char *k;
	json_t *v;
	char *line, *save = NULL;
	int r = 0;

	if (!json_object_size(params))
		return 0;
	if (!h || !h->tr.ops)
		return hp_err_set(err, HP_ECONNECT, "no session to %s", leader);
	hp_buf_adds(&sql, "select name from pg_settings where context = "
			  "'postmaster' and name in (");
	json_object_foreach((json_t *)(uintptr_t)params, k, v)
	{
		/* names are checked GUC names ([a-z0-9_.]): no quote inside */
		hp_buf_addf(&sql, "%s'%s'", sql.buf[sql.len - 1] == '(' ? "" : ",",
			    k);
	}
	hp_buf_adds(&sql, ")");
	hp_buf_adds(&cmd, "cd / && runuser -u postgres -- psql -XAtq -c ");
	hp_shell_quote(&cmd, sql.buf);
	if ((r = hp_host_sh(h, cmd.buf, NULL, 0, 30, &res, err)) < 0)
		goto out;
	for (line = strtok_r(res.buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (*line)
			hp_strlist_add(out, line);
out:
	hp_buf_release(&sql);
	hp_buf_release(&cmd);
	hp_buf_release(&res);
	return r;
}

/*
 * PostgreSQL refuses to run a hot standby whose max_connections (and four
 * others) is below the primary's. When one of them shrinks, the primary
 * goes first (restarted in place), then the replicas; Patroni documents
 * this order.
 */
static bool shrinks_standby_setting(const json_t *patch, const json_t *have)
{
	/* name, PostgreSQL's default (what an unset parameter means) */
	static const struct {
		const char *name;
		long long dflt;
	} params[] = { { "max_connections", 100 },
		       { "max_prepared_transactions", 0 },
		       { "max_locks_per_transaction", 64 },
		       { "max_wal_senders", 10 },
		       { "max_worker_processes", 8 } };
	const json_t *pp = json_object_get(json_object_get(patch, "postgresql"),
					   "parameters");
	const json_t *hp = json_object_get(json_object_get(have, "postgresql"),
					   "parameters");
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(params); i++) {
		const json_t *nv = json_object_get(pp, params[i].name);
		const json_t *ov = json_object_get(hp, params[i].name);
		long long a = params[i].dflt, b = params[i].dflt;
		char *t;

		if (!nv)
			continue; /* not changed */
		if (ov && !json_is_null(ov)) {
			t = scalar_text(ov);
			a = strtoll(t, NULL, 10);
			free(t);
		}
		if (!json_is_null(nv)) {
			t = scalar_text(nv);
			b = strtoll(t, NULL, 10);
			free(t);
		}
		if (b < a)
			return true;
	}
	return false;
}

/* ---- waiting -------------------------------------------------------------------- */

struct applied_arg {
	const json_t *want;
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
	patch = hp_dcs_patch(a->want, resp->json, "", why);
	json_decref(patch);
	return patch == NULL;
}

/* Every patroni member reports `want` in its own GET /config. */
static int wait_members_config(struct hp_run *run, struct hp_rest *rest,
			       const json_t *want, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct applied_arg a = { want };
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
 * for every member's flag, or one loop_wait (plus slack) in all: a member
 * whose running value already is the new one never gets the flag.
 */
static void wait_pending_flags(struct hp_run *run, struct hp_rest *rest)
{
	const struct hp_inventory *inv = run->inv;
	int64_t end = hp_now_ms() +
		      (int64_t)(inv->patroni.dcs.loop_wait + 3) * 1000;
	size_t i, waiting;

	do {
		waiting = 0;
		for (i = 0; i < inv->nr_hosts; i++)
			if ((inv->hosts[i].roles & HP_ROLE_PATRONI) &&
			    !member_pending(run, rest, inv->hosts[i].name))
				waiting++;
		if (waiting)
			hp_sleep_ms(250);
	} while (waiting && hp_now_ms() < end && !hp_interrupted());
}

/* ---- rolling restart -------------------------------------------------------------- */

static int restart_member(struct hp_run *run, struct hp_rest *rest,
			  const char *name, const char *leader,
			  struct hp_err *err)
{
	struct hp_rest_resp resp;
	json_t *body = json_object();
	int64_t t = hp_now_ms();
	int r;

	hp_rest_resp_init(&resp);
	r = member_write(run, rest, "POST", name, "/restart", body,
			 run->inv->validation.timeout_s * 1000, &resp, err);
	/* it is back only when it serves (or streams from) the leader again */
	if (r == 0)
		r = hp_patroni_wait_healthy(run, rest, leader,
					    run->inv->validation.timeout_s *
						    1000,
					    err);
	hp_run_record(run, name, r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
		      "restart postgresql", r < 0 ? err->msg : "pending restart done",
		      NULL, t);
	hp_rest_resp_release(&resp);
	json_decref(body);
	return r;
}

static int switchover(struct hp_run *run, struct hp_rest *rest,
		      const char *leader, const char *candidate,
		      struct hp_err *err)
{
	struct hp_rest_resp resp;
	json_t *body = json_object();
	char *what = xasprintf("%s -> %s", leader, candidate);
	int64_t t = hp_now_ms();
	int r;

	hp_rest_resp_init(&resp);
	json_object_set_new(body, "leader", json_string(leader));
	json_object_set_new(body, "candidate", json_string(candidate));
	r = member_write(run, rest, "POST", leader, "/switchover", body,
			 run->inv->validation.timeout_s * 1000, &resp, err);
	/* verified: the candidate leads, the former leader streams from it */
	if (r == 0)
		r = hp_patroni_wait_healthy(run, rest, candidate,
					    run->inv->validation.timeout_s *
						    1000,
					    err);
	hp_run_record(run, leader, r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
		      "switchover", r < 0 ? err->msg : what, NULL, t);
	free(what);
	hp_rest_resp_release(&resp);
	json_decref(body);
	return r;
}

/*
 * Restart every member Patroni flags pending_restart, one at a time.
 * Replicas first, then a switchover to a restarted replica (the former
 * leader's demotion restarts its PostgreSQL with the new settings), then
 * the former leader if it is still pending. leader_first: restart the
 * leader in place first, then the replicas (shrinking standby settings).
 */
static int rolling_restart(struct hp_run *run, struct hp_rest *rest,
			   const char *leader, bool leader_first,
			   struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	char *candidate = NULL;
	size_t i;
	int r = 0;

	if (leader_first && member_pending(run, rest, leader) &&
	    (r = restart_member(run, rest, leader, leader, err)) < 0)
		goto out;
	for (i = 0; i < inv->nr_hosts && r == 0; i++) {
		const char *name = inv->hosts[i].name;

		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI) ||
		    !strcmp(name, leader))
			continue;
		if (hp_interrupted())
			r = hp_err_set(err, HP_EINTR, "interrupted");
		else if (member_pending(run, rest, name))
			r = restart_member(run, rest, name, leader, err);
		if (r == 0 && !candidate)
			candidate = xstrdup(name);
	}
	if (r < 0 || leader_first || !member_pending(run, rest, leader))
		goto out;
	if (!candidate) {
		r = hp_err_set(err, HP_EVERIFY,
			       "%s needs a restart and there is no replica to "
			       "switch over to",
			       leader);
		goto out;
	}
	if ((r = switchover(run, rest, leader, candidate, err)) < 0)
		goto out;
	if (member_pending(run, rest, leader))
		r = restart_member(run, rest, leader, candidate, err);
out:
	free(candidate);
	return r;
}

/* ---- soak ---------------------------------------------------------------------- */

/* The cluster stays as it is (same leader, same timeline, every member
 * running, no pending restart) for soak_s seconds. */
static int soak(struct hp_run *run, struct hp_rest *rest, const char *leader,
		struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int64_t t = hp_now_ms(), end = t + (int64_t)inv->validation.soak_s * 1000;
	long long timeline = -1;
	char *detail = xasprintf("%ds: same leader and timeline, all running",
				 inv->validation.soak_s);
	int r = 0;

	do {
		json_t *members = NULL, *m;
		char *now_leader = NULL;
		size_t i;

		if ((r = cluster_members(run, rest, leader, &members,
					 &now_leader, err)) < 0)
			break;
		if (!now_leader || strcmp(now_leader, leader) != 0)
			r = hp_err_set(err, HP_EVERIFY,
				       "leader changed from %s to %s during "
				       "the soak",
				       leader, now_leader ? now_leader : "none");
		json_array_foreach(members, i, m)
		{
			const char *name = json_string_value(
				json_object_get(m, "name"));
			const char *state = json_string_value(
				json_object_get(m, "state"));
			json_t *tl = json_object_get(m, "timeline");

			if (r < 0)
				break;
			if (!state || (strcmp(state, "running") != 0 &&
				       strcmp(state, "streaming") != 0))
				r = hp_err_set(err, HP_EVERIFY,
					       "member %s is %s during the "
					       "soak",
					       name ? name : "?",
					       state ? state : "unknown");
			else if (name && member_pending(run, rest, name))
				r = hp_err_set(err, HP_EVERIFY,
					       "member %s still has a pending "
					       "restart",
					       name);
			else if (name && !strcmp(name, leader) &&
				 json_is_integer(tl)) {
				if (timeline < 0)
					timeline = json_integer_value(tl);
				else if (timeline != json_integer_value(tl))
					r = hp_err_set(err, HP_EVERIFY,
						       "timeline changed during "
						       "the soak");
			}
		}
		free(now_leader);
		json_decref(members);
		if (r == 0 && hp_now_ms() < end)
			hp_sleep_ms(1000);
		if (hp_interrupted())
			r = hp_err_set(err, HP_EINTR, "interrupted");
	} while (r == 0 && hp_now_ms() < end);
	hp_run_record(run, leader, r < 0 ? HP_STEP_FAILED : HP_STEP_OK, "soak",
		      r < 0 ? err->msg : detail, NULL, t);
	free(detail);
	return r;
}

/* ---- the staged DCS change ------------------------------------------------------- */

int hp_dcs_converge(struct hp_run *run, struct hp_rest *rest,
		    const char *leader, struct hp_err *err)
{
	struct hp_rest_resp resp;
	struct hp_buf desc = HP_BUF_INIT;
	struct hp_strlist need = { NULL, 0, 0 };
	json_t *want = NULL, *patch = NULL, *members = NULL, *have = NULL;
	bool pending = false, leader_first;
	int64_t t = hp_now_ms();
	size_t i;
	int r;

	hp_rest_resp_init(&resp);
	if (run->dcs_want) {
		want = run->dcs_want; /* a rollback: the recorded settings */
		json_incref(want);
	} else if ((r = hp_render_dcs_json(&want, run->inv, err)) < 0) {
		goto out;
	}
	if ((r = member_get(run, rest, leader, "/config", &resp, err)) < 0)
		goto out;
	have = json_incref(resp.json);
	patch = hp_dcs_patch(want, have, "", &desc);
	if ((r = cluster_members(run, rest, leader, &members, NULL, err)) < 0)
		goto out;
	for (i = 0; i < json_array_size(members); i++) {
		const char *n = json_string_value(json_object_get(
			json_array_get(members, i), "name"));

		if (n && member_pending(run, rest, n))
			pending = true;
	}
	if (!patch && !pending) {
		hp_run_record(run, leader, HP_STEP_OK, "dcs config", NULL, NULL,
			      t);
		goto out;
	}
	if (patch) {
		r = restart_params(run, leader,
				   json_object_get(json_object_get(patch,
								   "postgresql"),
						   "parameters"),
				   &need, err);
		if (r < 0)
			goto out;
		if (desc.len)
			desc.buf[--desc.len] = '\0';
		for (i = 0; i < need.nr; i++)
			hp_buf_addf(&desc, "%s%s", i ? ", " : "\n(restart, "
							       "rolling: ",
				    need.items[i]);
		if (need.nr)
			hp_buf_adds(&desc, ")");
	}
	if (run->opts.plan) {
		hp_run_record(run, leader, HP_STEP_CHANGED, "dcs config",
			      patch ? "dynamic settings differ"
				    : "a restart is pending",
			      desc.buf, t);
		goto out;
	}
	if (patch) {
		/* one PATCH, only what differs */
		r = member_write(run, rest, "PATCH", leader, "/config", patch,
				 10000, &resp, err);
		if (r == 0)
			r = wait_members_config(run, rest, want, err);
		hp_run_record(run, leader,
			      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
			      "dcs config", r < 0 ? err->msg : desc.buf, NULL,
			      t);
		if (r < 0)
			goto out;
		if (need.nr)
			wait_pending_flags(run, rest);
	}
	leader_first = patch && shrinks_standby_setting(patch, have);
	if ((r = rolling_restart(run, rest, leader, leader_first, err)) < 0)
		goto out;
	{
		/* the soak runs against whoever leads now */
		char *now = NULL;
		json_t *m2 = NULL;

		if ((r = cluster_members(run, rest, leader, &m2, &now, err)) ==
		    0)
			r = hp_patroni_wait_healthy(
				run, rest, now ? now : leader,
				run->inv->validation.timeout_s * 1000, err);
		if (r == 0)
			r = soak(run, rest, now ? now : leader, err);
		free(now);
		json_decref(m2);
	}
out:
	hp_strlist_clear(&need);
	json_decref(want);
	json_decref(patch);
	json_decref(have);
	json_decref(members);
	hp_buf_release(&desc);
	hp_rest_resp_release(&resp);
	return r;
}
