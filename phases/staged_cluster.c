/*
 * The staged change's view of the cluster: one member's REST answers, and
 * whether the cluster is stable enough to act on.
 *
 * Patroni's answers are plain HTTP. A member name in them is compared with
 * the inventory and never used to build a URL; a URL is only ever built
 * from an inventory host. An answer haprov must not act on (a leader
 * outside the inventory, two leaders, names that are not strings) is an
 * error at once; a cluster in transition (a switchover, a member
 * restarting, a replica not yet streaming) is waited for, with a deadline,
 * never acted on.
 */
#include <stdlib.h>
#include <string.h>

#include "staged_priv.h"

/* "METHOD path on name answered STATUS: body" into err, sanitized. */
static int answer_err(struct hp_err *err, int code, const char *method,
		      const char *path, const char *name,
		      const struct hp_rest_resp *resp, const char *what)
{
	struct hp_buf b = HP_BUF_INIT;
	int r;

	hp_buf_add_printable(&b, resp->body.buf, resp->body.len,
			     HP_STAGED_QUOTE);
	r = hp_err_set(err, code, "%s %s on %s answered %ld%s: %s", method,
		       path, name, resp->status, what,
		       b.len ? b.buf : "(empty)");
	hp_buf_release(&b);
	return r;
}

/* The inventory patroni host called name (or one leaving the cluster:
 * the removal switches over from it), or an error. */
static const struct hp_host *member_host(const struct hp_inventory *inv,
					 const char *name, struct hp_err *err)
{
	const struct hp_host *h = name ? hp_inventory_host(inv, name) : NULL;

	if (!h || !((h->roles | h->removed_roles) & HP_ROLE_PATRONI)) {
		char *q = hp_printable_dup(name, 64);

		hp_err_set(err, HP_EVERIFY,
			   "'%s' is not a patroni host of the inventory", q);
		free(q);
		return NULL;
	}
	return h;
}

int hp_member_get(struct hp_run *run, struct hp_rest *rest, const char *name,
		  const char *path, struct hp_rest_resp *resp,
		  struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const struct hp_host *host = member_host(inv, name, err);
	char *url;
	int r;

	if (!host)
		return HP_EVERIFY;
	url = hp_url(host, inv->patroni.restapi_port, path);
	r = hp_rest_call(rest, "GET", url, NULL, resp, err);
	/* once more after a connection cut short: Patroni's REST API
	 * restarts its listener when it reloads a renewed certificate (seen:
	 * "Connection reset by peer" at the handshake); a GET changes
	 * nothing, and a refusal that stays is the second answer */
	if (r == HP_ECONNECT || r == HP_ETLS) {
		hp_sleep_ms(300);
		r = hp_rest_call(rest, "GET", url, NULL, resp, err);
	}
	free(url);
	if (r == 0 && resp->status != 200)
		r = answer_err(err, HP_EREMOTE, "GET", path, name, resp, "");
	else if (r == 0 && !json_is_object(resp->json))
		r = answer_err(err, HP_EREMOTE, "GET", path, name, resp,
			       ", not a JSON object");
	return r;
}

int hp_member_write(struct hp_run *run, struct hp_rest *rest,
		    const char *method, const char *name, const char *path,
		    const json_t *body, int timeout_ms,
		    struct hp_rest_resp *resp, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const struct hp_host *host = member_host(inv, name, err);
	int saved = rest->timeout_ms, r;
	char *url;

	if (!host)
		return HP_EVERIFY;
	url = hp_url(host, inv->patroni.restapi_port, path);
	rest->user = run->restapi_user;
	rest->password = run->restapi_password;
	rest->timeout_ms = timeout_ms;
	r = hp_rest_call(rest, method, url, body, resp, err);
	rest->user = rest->password = NULL;
	rest->timeout_ms = saved;
	free(url);
	/* 200 only: a 4xx or 5xx (or a 202 "scheduled") is no success */
	if (r == 0 && resp->status != 200)
		r = answer_err(err, HP_EREMOTE, method, path, name, resp, "");
	return r;
}

bool hp_member_busy(const struct hp_rest_resp *resp)
{
	return resp->status == 503 &&
	       strstr(resp->body.buf, "already in progress") != NULL;
}

static bool failed_state(const char *state);

int hp_member_flags(struct hp_run *run, struct hp_rest *rest,
		    const char *name, bool *pending, bool *down,
		    struct hp_err *err)
{
	struct hp_rest_resp resp;
	int r;

	*pending = *down = false;
	/* a member still to join (a plan): nothing to restart there */
	if (hp_run_host(run, name) && hp_run_host(run, name)->patroni_new)
		return 0;
	hp_rest_resp_init(&resp);
	if ((r = hp_member_get(run, rest, name, "/patroni", &resp, err)) == 0) {
		const json_t *flag =
			json_object_get(resp.json, "pending_restart");
		const json_t *state = json_object_get(resp.json, "state");

		if (flag && !json_is_boolean(flag))
			r = hp_err_set(
				err, HP_EVERIFY,
				"GET /patroni on %s: \"pending_restart\" "
				"is not a boolean",
				name);
		else if (state && !json_is_string(state))
			r = hp_err_set(err, HP_EVERIFY,
				       "GET /patroni on %s: \"state\" is not "
				       "a string",
				       name);
		else {
			*pending = json_is_true(flag);
			*down = state && failed_state(json_string_value(state));
		}
	}
	hp_rest_resp_release(&resp);
	return r;
}

int hp_member_pending(struct hp_run *run, struct hp_rest *rest,
		      const char *name, bool *out, struct hp_err *err)
{
	bool down;

	return hp_member_flags(run, rest, name, out, &down, err);
}

/* ---- judging the answers ------------------------------------------------- */

static int bad_member(struct hp_err *err, size_t i, const char *what)
{
	return hp_err_set(err, HP_EVERIFY,
			  "GET /cluster: member %zu %s; not acting on such an "
			  "answer",
			  i + 1, what);
}

/*
 * A transition, in why: what, then name, then mid and value (name and
 * value are remote text: sanitized). The first one wins: it is what is
 * waited for.
 */
static void transition(struct hp_buf *why, bool *stable, const char *what,
		       const char *name, const char *mid, const char *value)
{
	if (!*stable)
		return;
	*stable = false;
	hp_buf_adds(why, what);
	if (name)
		hp_buf_add_printable(why, name, strlen(name), 64);
	if (mid)
		hp_buf_adds(why, mid);
	if (value)
		hp_buf_add_printable(why, value, strlen(value), 64);
}

/* A state Patroni stays in until someone acts: the member is down, not
 * on its way somewhere. A failed restart says what it ended in: "restart
 * failed (start failed)". */
static bool failed_state(const char *state)
{
	static const char *const v[] = {"start failed", "restart failed",
					"crashed", "stopped"};
	static const char restart_failed[] = "restart failed (";
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(v); i++)
		if (!strcmp(state, v[i]))
			return true;
	return !strncmp(state, restart_failed, sizeof(restart_failed) - 1);
}

/* One member of /cluster: structure (errors) and transitions. */
static int check_member(const struct hp_inventory *inv, const json_t *m,
			size_t i, bool *seen, bool *down, const char **leader,
			bool *stable, struct hp_buf *why, struct hp_err *err)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *role = json_string_value(json_object_get(m, "role"));
	const char *state = json_string_value(json_object_get(m, "state"));
	const struct hp_host *h;
	size_t hi;

	if (!json_is_object(m))
		return bad_member(err, i, "is not an object");
	if (!name)
		return bad_member(err, i, "has no string \"name\"");
	h = hp_inventory_host(inv, name);
	if (!h || !(h->roles & HP_ROLE_PATRONI)) {
		char *q = hp_printable_dup(name, 64);
		int r = hp_err_set(
			err, HP_EVERIFY,
			"patroni member '%s' is not a patroni host of "
			"the inventory; switch over to an inventory "
			"host first (patronictl switchover) and remove "
			"it from the cluster, or add the host back to "
			"the inventory",
			q);
		free(q);
		return r;
	}
	if (!role || !state)
		return bad_member(err, i,
				  "has no string \"role\" or \"state\"");
	hi = (size_t)(h - inv->hosts);
	if (seen[hi])
		return hp_err_set(err, HP_EVERIFY,
				  "GET /cluster lists member %s twice",
				  h->name);
	seen[hi] = true;
	if (!strcmp(role, "leader")) {
		if (*leader)
			return hp_err_set(err, HP_EVERIFY,
					  "patroni reports two leaders, '%s' "
					  "and '%s': a split brain or a DCS in "
					  "transition; not acting on it",
					  *leader, h->name);
		*leader = h->name;
	} else if (strcmp(role, "replica") != 0 &&
		   strcmp(role, "sync_standby") != 0) {
		/* sync_standby: a replica in synchronous mode */
		transition(why, stable, "member ", h->name, " has role ", role);
	}
	/* Patroni 3 shows a replica as "streaming" */
	if (!strcmp(state, "running") || !strcmp(state, "streaming"))
		return 0;
	if (down && *leader != h->name && failed_state(state))
		down[hi] = true; /* a repair acts on it: not waited for */
	else
		transition(why, stable, "member ", h->name, " is ", state);
	return 0;
}

int hp_staged_cluster_check(const struct hp_inventory *inv,
			    const json_t *cluster, const char **leader,
			    bool *stable, bool *down, struct hp_buf *why,
			    struct hp_err *err)
{
	const json_t *members = json_object_get(cluster, "members");
	const json_t *sw = json_object_get(cluster, "scheduled_switchover");
	bool *seen = xcalloc(inv->nr_hosts ? inv->nr_hosts : 1, sizeof(*seen));
	const json_t *m;
	size_t i;
	int r = 0;

	*leader = NULL;
	*stable = true;
	if (!json_is_object(cluster))
		r = hp_err_set(err, HP_EVERIFY,
			       "GET /cluster: the answer is not a JSON object");
	else if (!json_is_array(members))
		r = hp_err_set(err, HP_EVERIFY,
			       "GET /cluster: no \"members\" array");
	for (i = 0; r == 0 && i < json_array_size(members); i++) {
		m = json_array_get(members, i);
		r = check_member(inv, m, i, seen, down, leader, stable, why,
				 err);
	}
	if (r < 0) {
		*leader = NULL;
		*stable = false;
		goto out;
	}
	if (sw && !json_is_null(sw))
		transition(why, stable, "a switchover is scheduled", NULL, NULL,
			   NULL);
	if (!*leader)
		transition(why, stable, "no member is the leader", NULL, NULL,
			   NULL);
	for (i = 0; i < inv->nr_hosts; i++) {
		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI) || seen[i])
			continue;
		if (down)
			down[i] = true;
		else
			transition(why, stable, "member ", inv->hosts[i].name,
				   " is missing from the cluster", NULL);
	}
out:
	free(seen);
	return r;
}

/* what hp_staged_streaming says of a replica that does not stream */
#define NOT_STREAMING "is not streaming from leader"

bool hp_staged_streaming(const struct hp_inventory *inv, const char *leader,
			 const json_t *patroni, const bool *skip,
			 struct hp_buf *why)
{
	const json_t *repl = json_object_get(patroni, "replication");
	size_t i, k;

	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		const json_t *e;
		bool ok = false;

		if (!(h->roles & HP_ROLE_PATRONI) ||
		    !strcmp(h->name, leader) || (skip && skip[i]))
			continue;
		json_array_foreach(repl, k, e)
		{
			const char *app = json_string_value(
				json_object_get(e, "application_name"));
			const char *st =
				json_string_value(json_object_get(e, "state"));

			if (app && st && !strcmp(app, h->name) &&
			    !strcmp(st, "streaming"))
				ok = true;
		}
		if (!ok) {
			hp_buf_addf(why, "replica %s " NOT_STREAMING " %s",
				    h->name, leader);
			return false;
		}
	}
	return true;
}

/* ---- looking and waiting ------------------------------------------------- */

/* GET /cluster from the first patroni host that answers with an object;
 * NULL with why set when none does. */
static json_t *get_cluster(struct hp_run *run, struct hp_rest *rest,
			   struct hp_buf *why)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	struct hp_err e;
	json_t *out = NULL;
	size_t i;

	hp_rest_resp_init(&resp);
	hp_err_clear(&e);
	for (i = 0; i < inv->nr_hosts && !out; i++) {
		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI))
			continue;
		if (hp_member_get(run, rest, inv->hosts[i].name, "/cluster",
				  &resp, &e) == 0)
			out = json_incref(resp.json);
	}
	if (!out)
		hp_buf_addf(why, "no member answers GET /cluster (last: %s)",
			    e.msg);
	hp_rest_resp_release(&resp);
	return out;
}

bool hp_staged_repairing(const struct hp_run *run)
{
	return hp_desired_point(run) && !run->repaired;
}

int hp_staged_look(struct hp_run *run, struct hp_rest *rest,
		   const char **leader, json_t **cluster, bool *stable,
		   struct hp_buf *why, struct hp_err *err)
{
	struct hp_rest_resp resp;
	struct hp_err e;
	json_t *c;
	/* a rollback repairs members a bad change left down: until its
	 * restarts are done it must not wait for them to come back by
	 * themselves; after them it must, or the soak would watch them
	 * come back (Patroni starts a stopped member at its next loop) */
	bool *down = hp_staged_repairing(run)
			     ? xcalloc(run->inv->nr_hosts + 1, sizeof(bool))
			     : NULL;
	int r = 0;

	*leader = NULL;
	*stable = false;
	if (cluster)
		*cluster = NULL;
	if (!(c = get_cluster(run, rest, why))) {
		free(down);
		return 0;
	}
	r = hp_staged_cluster_check(run->inv, c, leader, stable, down, why,
				    err);
	if (r == 0 && *stable) {
		hp_rest_resp_init(&resp);
		if (hp_member_get(run, rest, *leader, "/patroni", &resp, &e) <
		    0) {
			*stable = false;
			hp_buf_adds(why, e.msg);
		} else {
			*stable = hp_staged_streaming(run->inv, *leader,
						      resp.json, down, why);
		}
		hp_rest_resp_release(&resp);
	}
	if (r == 0 && cluster)
		*cluster = json_incref(c);
	json_decref(c);
	free(down);
	return r;
}

/* how often a wait for a stable cluster wakes the leader's loop */
#define NUDGE_EVERY_MS 1000

int hp_staged_wait_stable(struct hp_run *run, struct hp_rest *rest,
			  char **leader, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int64_t t = hp_now_ms(),
		end = t + (int64_t)inv->validation.timeout_s * 1000;
	struct hp_buf why = HP_BUF_INIT, said = HP_BUF_INIT;
	const char *l = NULL;
	bool stable = false, wake = false;
	int64_t nudged = t;
	int r;

	*leader = NULL;
	for (;;) {
		struct hp_err e;

		hp_buf_reset(&why);
		r = hp_staged_look(run, rest, &l, NULL, &stable, &why, err);
		if (r < 0 || stable)
			break;
		/* the leader's loop creates a new replica's slot: now, not
		 * at its next turn; a look later, when this run started new
		 * members, the standbys try to stream again at once
		 * (patroni_nudge.c) */
		if (l && wake && run->standbys_new &&
		    strstr(why.buf, NOT_STREAMING))
			hp_patroni_wake_standbys(run, l);
		wake = false;
		if (l && hp_now_ms() - nudged >= NUDGE_EVERY_MS) {
			hp_patroni_nudge(run, rest, l, &e);
			nudged = hp_now_ms();
			wake = true;
		}
		if (strcmp(why.buf, said.buf) != 0) {
			/* say what it waits for, once per reason */
			hp_warn("waiting up to %d s for a stable cluster: %s",
				inv->validation.timeout_s, why.buf);
			hp_buf_reset(&said);
			hp_buf_add(&said, why.buf, why.len);
		}
		if (hp_now_ms() >= end) {
			r = hp_err_set(err, HP_ETIMEOUT,
				       "the cluster did not become stable "
				       "within %d s: %s; not acting on a "
				       "cluster in transition",
				       inv->validation.timeout_s, why.buf);
			break;
		}
		if (hp_interrupted()) {
			r = hp_err_set(err, HP_EINTR, "interrupted");
			break;
		}
		hp_sleep_ms(500);
	}
	if (r == 0)
		*leader = xstrdup(l);
	if (r == 0 && said.len) {
		char *d = xasprintf("waited for: %s", said.buf);

		/* after a transition every member's WAL position in the DCS
		 * (GET /cluster's lag) is as old as its last loop: written
		 * again now */
		hp_patroni_nudge_all(run, rest);

		hp_run_record(run, l, HP_STEP_OK, "wait for a stable cluster",
			      d, NULL, t);
		free(d);
	} else if (r < 0) {
		hp_run_record(run, NULL, HP_STEP_FAILED,
			      "wait for a stable cluster", err->msg, NULL, t);
	}
	hp_buf_release(&why);
	hp_buf_release(&said);
	return r;
}
