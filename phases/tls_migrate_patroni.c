/*
 * The Patroni stage of the TLS migration (tls_migrate.h). Patroni builds
 * its etcd client once (dcs/etcd.py's reload_config only takes a new user
 * and password), so its https etcd settings need a restart. Paused,
 * stopping Patroni leaves PostgreSQL running and the leader key in place
 * (ha.py shutdown), and the restarted Patroni adopts the running
 * PostgreSQL: no failover. The leader goes first, so that its PostgreSQL
 * has ssl on (a reload) before a replica asks for verify-full.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "tls_migrate.h"

static const char *const pg_svcs[] = {"patroni"};
static const char *const ha_svcs[] = {"haproxy"};

bool hp_tlsm_cluster_stable(const json_t *cluster, const char *leader,
			    bool *paused, struct hp_buf *why)
{
	const json_t *ms = json_object_get(cluster, "members"), *m;
	size_t i, leaders = 0;

	*paused = json_is_true(json_object_get(cluster, "pause"));
	if (!json_array_size(ms)) {
		hp_buf_adds(why, "no members");
		return false;
	}
	json_array_foreach(ms, i, m)
	{
		const char *n = json_string_value(json_object_get(m, "name"));
		const char *role =
			json_string_value(json_object_get(m, "role"));
		const char *st = json_string_value(json_object_get(m, "state"));

		if (!n || !role || !st) {
			hp_buf_adds(why, "a member without name/role/state");
			return false;
		}
		if (!strcmp(role, "leader")) {
			leaders++;
			if (leader && strcmp(n, leader) != 0) {
				hp_buf_adds(why, "another leader: ");
				hp_buf_add_printable(why, n, strlen(n), 64);
				return false;
			}
		} else if (strcmp(st, "running") != 0 &&
			   strcmp(st, "streaming") != 0) {
			hp_buf_adds(why, "member ");
			hp_buf_add_printable(why, n, strlen(n), 64);
			hp_buf_adds(why, " is ");
			hp_buf_add_printable(why, st, strlen(st), 32);
			return false;
		}
	}
	if (leaders != 1) {
		hp_buf_addf(why, "%zu leaders", leaders);
		return false;
	}
	return true;
}

/* GET path on host over scheme: the JSON answer of a 200, or NULL. */
static json_t *get_json(struct hp_run *run, struct hp_rest *rest,
			const struct hp_host *host, const char *scheme,
			const char *path)
{
	struct hp_rest_resp resp;
	struct hp_err err;
	json_t *out = NULL;
	char *url =
		hp_url_scheme(scheme, host, run->inv->patroni.restapi_port,
			      path);

	hp_rest_resp_init(&resp);
	if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
	    resp.status == 200 && json_is_object(resp.json))
		out = json_incref(resp.json);
	hp_rest_resp_release(&resp);
	free(url);
	return out;
}

/* A member's GET path, https first (done members), then http. */
static json_t *get_any(struct hp_run *run, struct hp_rest *rest,
		       const struct hp_host *host, const char *path)
{
	json_t *j = get_json(run, rest, host, "https", path);

	return j ? j : get_json(run, rest, host, "http", path);
}

/* PATCH /config {"pause": v} on the leader, basic auth (and haprov's
 * client certificate when its REST is https). */
static int patch_pause(struct hp_run *run, struct hp_rest *rest,
		       const struct hp_host *leader, bool https, bool on,
		       struct hp_err *err)
{
	json_t *body =
		json_pack("{s:o}", "pause", on ? json_true() : json_null());
	struct hp_rest_resp resp;
	char *url = hp_url_scheme(https ? "https" : "http", leader,
				run->inv->patroni.restapi_port, "/config");
	int r;

	hp_rest_resp_init(&resp);
	rest->user = run->restapi_user;
	rest->password = run->restapi_password;
	r = hp_rest_call(rest, "PATCH", url, body, &resp, err);
	rest->user = rest->password = NULL;
	if (r == 0 && resp.status != 200)
		r = hp_err_set(err, HP_EVERIFY,
			       "Patroni %s: PATCH /config "
			       "pause: HTTP %ld",
			       leader->name, resp.status);
	hp_rest_resp_release(&resp);
	json_decref(body);
	free(url);
	return r;
}

/* Deadline of a Patroni wait: a verification's, plus two HA loops. */
static int64_t deadline(const struct hp_run *run)
{
	return hp_now_ms() + (int64_t)run->inv->validation.timeout_s * 1000 +
	       (int64_t)run->inv->patroni.dcs.loop_wait * 2000;
}

/* The cluster as a member sees it, stable with `leader`; polled. */
static int wait_stable(struct hp_run *run, struct hp_rest *rest,
		       const struct hp_host *host, const char *leader,
		       bool want_paused, struct hp_err *err)
{
	int64_t end = deadline(run);
	struct hp_buf why = HP_BUF_INIT;
	int r = 0;

	for (;;) {
		json_t *c = get_any(run, rest, host, "/cluster");
		bool paused = false, ok;

		hp_buf_reset(&why);
		ok = c && hp_tlsm_cluster_stable(c, leader, &paused, &why);
		json_decref(c);
		if (ok && paused != want_paused)
			hp_buf_adds(&why, paused ? "paused" : "not paused");
		else if (ok)
			break;
		if (hp_now_ms() >= end || hp_interrupted()) {
			r = hp_err_set(err, HP_EVERIFY,
				       "Patroni cluster as %s sees it is not "
				       "stable: %s",
				       host->name,
				       why.buf ? why.buf : "no answer");
			break;
		}
		hp_sleep_ms(500);
	}
	hp_buf_release(&why);
	return r;
}

bool hp_tlsm_member_paused(struct hp_run *run, struct hp_rest *rest,
			   const struct hp_host *host)
{
	json_t *j = get_any(run, rest, host, "/patroni");
	bool p = j && json_is_true(json_object_get(j, "pause"));

	json_decref(j);
	return p;
}

/* A GET /patroni answer of a running primary ("master" before 3.0.3). */
static bool is_primary(const json_t *j)
{
	const char *role = json_string_value(json_object_get(j, "role"));
	const char *st = json_string_value(json_object_get(j, "state"));

	return role && st && !strcmp(st, "running") &&
	       (!strcmp(role, "master") || !strcmp(role, "primary"));
}

/*
 * The leader from each member's own GET /patroni, which answers without
 * the DCS (a resumed migration finds Patroni cut off from etcd): exactly
 * one running primary. paused_before: every member reported the pause.
 */
static int find_leader(struct hp_run *run, struct hp_rest *rest,
		       struct hp_tlsm_patroni *st, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i, primaries = 0;

	st->paused_before = true;
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		json_t *j;

		if (!(h->roles & HP_ROLE_PATRONI))
			continue;
		j = get_any(run, rest, h, "/patroni");
		if (!j || !json_is_true(json_object_get(j, "pause")))
			st->paused_before = false;
		if (j && is_primary(j) && primaries++ == 0)
			st->leader = xstrdup(h->name);
		json_decref(j);
	}
	if (primaries == 1)
		return 0;
	free(st->leader);
	st->leader = NULL;
	return hp_err_set(err, HP_EVERIFY,
			  "Patroni: %zu running primaries among the members "
			  "(GET /patroni), not one: the migration waits",
			  primaries);
}

/* Every patroni member's own GET /patroni says pause. */
static int wait_all_paused(struct hp_run *run, struct hp_rest *rest,
			   struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int64_t end = deadline(run);
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		json_t *j;

		if (!(h->roles & HP_ROLE_PATRONI))
			continue;
		while (!(j = get_any(run, rest, h, "/patroni")) ||
		       !json_is_true(json_object_get(j, "pause"))) {
			json_decref(j);
			if (hp_now_ms() >= end || hp_interrupted())
				return hp_err_set(err, HP_EVERIFY,
						  "Patroni %s does not report "
						  "the pause: stopped before "
						  "any restart",
						  h->name);
			hp_sleep_ms(500);
		}
		json_decref(j);
	}
	return 0;
}

int hp_tlsm_pause(struct hp_run *run, struct hp_tlsm_patroni *st,
		  struct hp_err *err)
{
	struct hp_rest rest;
	const struct hp_host *ld;
	json_t *https;
	int r;

	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	if ((r = find_leader(run, &rest, st, err)) < 0)
		goto out;
	st->rest_done = xcalloc(run->inv->nr_hosts, sizeof(bool));
	ld = hp_inventory_host(run->inv, st->leader);
	https = get_json(run, &rest, ld, "https", "/patroni");
	if (!st->paused_before)
		r = patch_pause(run, &rest, ld, https != NULL, true, err);
	json_decref(https);
	if (r == 0)
		r = wait_all_paused(run, &rest, err);
	if (r == 0)
		hp_log_msg(HP_LOG_INFO, __func__, "Patroni paused%s, leader %s",
			   st->paused_before ? " (already, by a stopped run)"
					     : "",
			   st->leader);
out:
	hp_rest_release(&rest);
	return r;
}

/* Converge one host's files of phase (in the stage's form) and carry out
 * the service action; force: restart even when nothing changed. */
static int converge_svc(struct hp_hostrun *h, const char *phase,
			const char *const *svcs, const struct hp_tlsm_files *f,
			bool force)
{
	struct hp_host_plan p = {
		.svcs = svcs,
		.nr_svcs = 1,
		.skip_packages = true,
	};
	struct hp_facts facts;
	enum hp_svc_action act;
	int r;

	hp_tlsm_files_use(h->run, f);
	r = hp_phase_host_converge(h, phase, &p, &facts, &h->err);
	hp_tlsm_files_done(h->run);
	if (r < 0)
		return r;
	act = hp_service_needs(h, svcs[0], &facts.svcs[0]);
	if (force && act != HP_SVC_START)
		act = HP_SVC_RESTART;
	r = hp_step_service(h, svcs[0], &facts.svcs[0], act, false, &h->err);
	hp_facts_release(&facts);
	return r;
}

/* HAProxy everywhere checks the done members with check-ssl (reload). */
static int haproxy_follow(struct hp_run *run, const struct hp_tlsm_patroni *st,
			  struct hp_err *err)
{
	struct hp_tlsm_files f = {.rest_done = st->rest_done};
	size_t i;

	for (i = 0; i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		if (!(h->host->roles & HP_ROLE_HAPROXY))
			continue;
		if (converge_svc(h, "haproxy", ha_svcs, &f, false) < 0) {
			*err = h->err;
			return HP_EVERIFY;
		}
	}
	return 0;
}

/* Its own GET /patroni over https: paused, running, and the primary
 * exactly when it was the leader. */
static bool member_back(const json_t *j, bool leader)
{
	const char *st = json_string_value(json_object_get(j, "state"));

	return j && json_is_true(json_object_get(j, "pause")) && st &&
	       !strcmp(st, "running") && is_primary(j) == leader;
}

/* One member: final files, restart, REST https and paused, HAProxy. The
 * whole cluster is judged after the last one (before that, the members
 * not restarted yet have no DCS). */
static int roll_member(struct hp_hostrun *h, struct hp_rest *rest,
		       struct hp_tlsm_patroni *st, struct hp_err *err)
{
	struct hp_run *run = h->run;
	struct hp_tlsm_files f = {.etcd_form = HP_TLSM_ENV_FINAL};
	bool leader = !strcmp(h->host->name, st->leader);
	int64_t end = deadline(run);
	json_t *j;
	int r;

	j = get_json(run, rest, h->host, "https", "/patroni");
	r = converge_svc(h, "patroni", pg_svcs, &f, j == NULL);
	json_decref(j);
	if (r < 0) {
		*err = h->err;
		return r;
	}
	while (!member_back(
		j = get_json(run, rest, h->host, "https", "/patroni"),
		leader)) {
		json_decref(j);
		if (hp_now_ms() >= end || hp_interrupted())
			return hp_err_set(err, HP_EVERIFY,
					  "Patroni %s: not back as a paused, "
					  "running %s over https after its "
					  "restart",
					  h->host->name,
					  leader ? "primary" : "replica");
		hp_sleep_ms(250);
	}
	json_decref(j);
	st->rest_done[h->host - run->inv->hosts] = true;
	return haproxy_follow(run, st, err);
}

int hp_tlsm_patroni_roll(struct hp_run *run, struct hp_tlsm_patroni *st,
			 struct hp_err *err)
{
	struct hp_rest rest;
	size_t i, pass;
	int r;

	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	/* pass 0: the leader (ssl on before a replica asks verify-full) */
	for (pass = 0; pass < 2 && r == 0; pass++)
		for (i = 0; i < run->nr_hosts && r == 0; i++) {
			struct hp_hostrun *h = &run->hosts[i];
			bool is_leader = !strcmp(h->host->name, st->leader);

			if (!(h->host->roles & HP_ROLE_PATRONI) ||
			    is_leader != (pass == 0))
				continue;
			r = roll_member(h, &rest, st, err);
		}
	if (r == 0)
		r = wait_stable(run, &rest,
				hp_inventory_host(run->inv, st->leader),
				st->leader, true, err);
	hp_rest_release(&rest);
	return r;
}

int hp_tlsm_resume(struct hp_run *run, struct hp_tlsm_patroni *st,
		   struct hp_err *err)
{
	const struct hp_host *ld = hp_inventory_host(run->inv, st->leader);
	struct hp_rest rest;
	int r;

	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	if ((r = patch_pause(run, &rest, ld, true, false, err)) == 0)
		r = wait_stable(run, &rest, ld, st->leader, false, err);
	hp_rest_release(&rest);
	return r;
}

void hp_tlsm_patroni_release(struct hp_tlsm_patroni *st)
{
	free(st->leader);
	free(st->rest_done);
	memset(st, 0, sizeof(*st));
}
