/*
 * The patroni phase's verification: GET /cluster (one leader, every member
 * running, lag within bound), real streaming from the leader's GET /patroni
 * (Patroni 3.0.2 calls a replica "running" ~9 s before it streams:
 * docs/field-notes.md), GET /config equal to the inventory; and
 * hp_patroni_wait_healthy, which the staged passes wait with.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"

/* Append remote text to a poll's reason: printable, capped. */
static void why_remote(struct hp_buf *why, const char *s)
{
	hp_buf_addch(why, '\'');
	if (s)
		hp_buf_add_printable(why, s, strlen(s), 64);
	hp_buf_addch(why, '\'');
}

/* The checks of one GET /cluster member; false with the reason in why.
 * seen: one flag per inventory host, so a name listed twice cannot stand
 * in for a missing member. */
static bool member_ok(const struct hp_inventory *inv, const json_t *m,
		      bool *seen, size_t *leaders, struct hp_buf *why)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	const char *role = json_string_value(json_object_get(m, "role"));
	const char *state = json_string_value(json_object_get(m, "state"));
	const json_t *lag = json_object_get(m, "lag");
	const struct hp_host *h = name ? hp_inventory_host(inv, name) : NULL;

	if (!name || !role || !state) {
		hp_buf_adds(why, "a member without a string name, role and "
				 "state");
		return false;
	}
	if (!h || !(h->roles & HP_ROLE_PATRONI)) {
		hp_buf_adds(why, "member ");
		why_remote(why, name);
		hp_buf_adds(why, " is not a patroni host of the inventory");
		return false;
	}
	if (seen[h - inv->hosts]) {
		hp_buf_addf(why, "member %s is listed twice", h->name);
		return false;
	}
	seen[h - inv->hosts] = true;
	if (!strcmp(role, "leader")) {
		(*leaders)++;
	} else if (strcmp(role, "replica") != 0 &&
		   strcmp(role, "sync_standby") != 0) {
		/* sync_standby: synchronous mode (docs/field-notes.md) */
		hp_buf_addf(why, "member %s has role ", h->name);
		why_remote(why, role);
		return false;
	}
	if (strcmp(state, "running") != 0 && strcmp(state, "streaming") != 0) {
		hp_buf_addf(why, "member %s is ", h->name);
		why_remote(why, state);
		return false;
	}
	if (strcmp(role, "leader") != 0 &&
	    (!json_is_integer(lag) || json_integer_value(lag) < 0 ||
	     json_integer_value(lag) > inv->validation.max_lag_bytes)) {
		hp_buf_addf(why, "member %s lag is %s", h->name,
			    json_is_integer(lag) ? "over the bound"
						 : "unknown");
		return false;
	}
	return true;
}

/* GET /cluster: one leader, every inventory member running, lag in bound. */
static bool cluster_ok(const struct hp_rest_resp *resp, void *arg,
		       struct hp_buf *why)
{
	const struct hp_inventory *inv = arg;
	const json_t *members, *m;
	size_t i, leaders = 0, seen_nr = 0;
	bool *seen, ok = true;

	if (resp->status != 200 || !resp->json) {
		hp_buf_addf(why, "HTTP %ld", resp->status);
		return false;
	}
	members = json_object_get(resp->json, "members");
	if (!json_is_array(members)) {
		hp_buf_adds(why, "no \"members\" array");
		return false;
	}
	seen = xcalloc(inv->nr_hosts + 1, sizeof(*seen));
	json_array_foreach(members, i, m)
	{
		if (!(ok = member_ok(inv, m, seen, &leaders, why)))
			break;
		seen_nr++;
	}
	free(seen);
	if (!ok)
		return false;
	if (leaders != 1) {
		hp_buf_addf(why, "%zu leaders", leaders);
		return false;
	}
	if (seen_nr != hp_inventory_count_role(inv, HP_ROLE_PATRONI)) {
		hp_buf_addf(why, "%zu of %zu members present", seen_nr,
			    hp_inventory_count_role(inv, HP_ROLE_PATRONI));
		return false;
	}
	return true;
}

struct stream_arg {
	const struct hp_inventory *inv;
	const char *leader;
};

/* The leader's GET /patroni: every other member streams from it. */
static bool streaming_ok(const struct hp_rest_resp *resp, void *arg,
			 struct hp_buf *why)
{
	const struct stream_arg *a = arg;
	json_t *repl;
	size_t i;

	if (resp->status != 200 || !resp->json) {
		hp_buf_addf(why, "HTTP %ld", resp->status);
		return false;
	}
	repl = json_object_get(resp->json, "replication");
	for (i = 0; i < a->inv->nr_hosts; i++) {
		const struct hp_host *h = &a->inv->hosts[i];
		json_t *r;
		size_t k;
		bool ok = false;

		if (!(h->roles & HP_ROLE_PATRONI) || !strcmp(h->name, a->leader))
			continue;
		json_array_foreach(repl, k, r)
		{
			const char *app = json_string_value(
				json_object_get(r, "application_name"));
			const char *st = json_string_value(
				json_object_get(r, "state"));

			if (app && st && !strcmp(app, h->name) &&
			    !strcmp(st, "streaming"))
				ok = true;
		}
		if (!ok) {
			hp_buf_addf(why, "%s is not streaming", h->name);
			return false;
		}
	}
	return true;
}

struct config_arg {
	const json_t *want;
	struct hp_dcs_scope scope; /* the keys this run compares */
};

static bool config_ok(const struct hp_rest_resp *resp, void *arg,
		      struct hp_buf *why)
{
	const struct config_arg *a = arg;
	struct hp_buf desc = HP_BUF_INIT;
	json_t *patch;

	if (resp->status != 200 || !json_is_object(resp->json)) {
		hp_buf_addf(why, "HTTP %ld", resp->status);
		return false;
	}
	/* the differences quote the leader's keys and values: remote text */
	patch = hp_dcs_patch_scoped(a->want, resp->json, "", &a->scope, &desc);
	hp_buf_add_printable(why, desc.buf, desc.len, 400);
	hp_buf_release(&desc);
	if (patch) {
		json_decref(patch);
		return false;
	}
	return true;
}

int hp_patroni_wait_healthy(struct hp_run *run, struct hp_rest *rest,
			    const char *leader, int deadline_ms,
			    struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const struct hp_host *lh = hp_inventory_host(inv, leader);
	struct hp_rest_resp resp;
	struct stream_arg sa;
	char *url;
	int r;

	hp_rest_resp_init(&resp);
	url = hp_url(lh, inv->patroni.restapi_port, "/cluster");
	r = hp_rest_poll(rest, "GET", url, NULL, deadline_ms, 1000, cluster_ok,
			 (void *)(uintptr_t)inv, &resp, err);
	free(url);
	if (r < 0) {
		hp_err_prefix(err, "GET /cluster on %s", leader);
		goto out;
	}
	sa.inv = inv;
	sa.leader = leader;
	url = hp_url(lh, inv->patroni.restapi_port, "/patroni");
	r = hp_rest_poll(rest, "GET", url, NULL, deadline_ms, 500,
			 streaming_ok, &sa, &resp, err);
	free(url);
	if (r < 0)
		hp_err_prefix(err, "replication on leader %s", leader);
out:
	hp_rest_resp_release(&resp);
	return r;
}

/* A leader, every member streaming, the dynamic settings as wanted. */
static int cluster_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int deadline = inv->validation.timeout_s * 1000;
	struct hp_rest rest;
	struct hp_rest_resp resp;
	struct config_arg ca = { NULL, hp_run_dcs_scope(run) };
	json_t *want = NULL;
	char *leader = NULL, *url = NULL;
	const struct hp_host *lh;
	int64_t t = hp_now_ms();
	int r;

	(void)arg;
	hp_rest_resp_init(&resp);
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	/* the leader can take a moment to appear after a bootstrap */
	while ((r = hp_patroni_leader(run, &rest, &leader, NULL, err)) == 0 &&
	       !leader && hp_now_ms() - t < deadline)
		hp_sleep_ms(500);
	if (r < 0)
		goto out;
	if (!leader) {
		r = hp_err_set(err, HP_EVERIFY,
			       "no patroni member reports a leader after %d s",
			       inv->validation.timeout_s);
		goto out;
	}
	lh = hp_inventory_host(inv, leader);
	if ((r = hp_patroni_wait_healthy(run, &rest, leader, deadline, err)) <
	    0)
		goto out;
	if ((r = hp_desired_dcs(run, &want, err)) < 0)
		goto out;
	ca.want = want;
	url = hp_url(lh, inv->patroni.restapi_port, "/config");
	r = hp_rest_poll(&rest, "GET", url, NULL, deadline, 1000, config_ok,
			 &ca, &resp, err);
	free(url);
	if (r < 0)
		hp_err_prefix(err, "GET /config on %s differs from the "
				   "inventory", leader);
out:
	json_decref(want);
	free(leader);
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	return r;
}

int hp_patroni_verify(struct hp_run *run, struct hp_err *err)
{
	/* the TLS checks once there is a healthy cluster: right after a
	 * bootstrap the members are still starting (hp_checks_then) */
	struct hp_check c[2] = {
		{ "verify patroni: leader, streaming, config", cluster_check,
		  NULL, false },
	};
	size_t n = 1 + hp_tls_patroni_checks(run, c + 1);
	int r = hp_checks_then(run, c, 1, n, err);

	if (r < 0)
		err->code = r = HP_EVERIFY;
	return r;
}
