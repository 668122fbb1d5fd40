/*
 * Phase 2, patroni: PostgreSQL and Patroni packages, Patroni's config and
 * the secrets file, then the services: the leader (or, on a new cluster,
 * the first member, which bootstraps) before the others; then the dynamic
 * (DCS) settings through PATCH /config. Verified in patroni_verify.c.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "render.h"
#include "shell.h"

static const char *const pg_pkgs[] = { "postgresql-15",
				       "patroni", "python3-etcd",
				       "python3-psycopg2" };

const char *const *hp_patroni_packages(const struct hp_run *run,
				   const struct hp_host *host, size_t *nr)
{
	(void)run;
	(void)host;
	*nr = HP_ARRAY_SIZE(pg_pkgs);
	return pg_pkgs;
}

const char *const *hp_patroni_also_installs(const struct hp_run *run,
					    size_t *nr)
{
	*nr = run->inv->extensions.packages.nr;
	return (const char *const *)run->inv->extensions.packages.items;
}

static const char *const pg_svcs[] = { "patroni" };

/* pg_pkgs, then extensions.packages: a new cluster bootstraps with
 * shared_preload_libraries in its first configuration, so the libraries
 * must be installed before Patroni starts. The caller frees the array. */
static const char **pg_packages(const struct hp_inventory *inv, size_t *nr)
{
	const struct hp_strlist *x = &inv->extensions.packages;
	size_t n = HP_ARRAY_SIZE(pg_pkgs), i;
	const char **v = xcalloc(n + x->nr, sizeof(*v));

	for (i = 0; i < n + x->nr; i++)
		v[i] = i < n ? pg_pkgs[i] : x->items[i - n];
	*nr = n + x->nr;
	return v;
}

struct patroni_ctx {
	struct hp_facts *facts; /* per host index */
};

static size_t host_index(const struct hp_hostrun *h)
{
	return (size_t)(h - h->run->hosts);
}

/* Packages (unless skipped), the files of one member, then its data
 * directory and wal_dir; the service facts go to c->facts for the
 * service step. */
static int host_files(struct hp_hostrun *h, struct patroni_ctx *c,
		      bool skip_packages)
{
	struct hp_host_plan p = {
		.svcs = pg_svcs, .nr_svcs = HP_ARRAY_SIZE(pg_svcs),
		.skip_packages = skip_packages,
	};
	const char **pkgs = pg_packages(h->run->inv, &p.nr_pkgs);
	int r;

	p.pkgs = pkgs;
	/* a pass may run twice (hp_run_serial's read-only try first) */
	hp_facts_release(&c->facts[host_index(h)]);
	r = hp_phase_host_converge(h, "patroni", &p, &c->facts[host_index(h)],
				   &h->err);
	free(pkgs);
	if (r == 0)
		r = hp_patroni_dirs(h, &h->err);
	return r;
}

static int prepare_host(struct hp_hostrun *h, void *arg)
{
	return host_files(h, arg, false);
}

static int service_host(struct hp_hostrun *h, void *arg)
{
	struct patroni_ctx *c = arg;
	struct hp_fact_svc *f = &c->facts[host_index(h)].svcs[0];

	enum hp_svc_action act = hp_service_needs(h, "patroni", f);
	int r = hp_step_service(h, "patroni", f, act, false, &h->err);

	/* a reload may renew the REST certificate: Patroni restarts its
	 * listener up to loop_wait later, so wait for it here, not in the
	 * middle of the next phase's REST call (patroni_cert.c) */
	if (r == 0 && hp_patroni_reload_waits(h->run, act))
		r = hp_patroni_cert_served(h, &h->err);
	return r;
}

bool hp_patroni_primary_ok(const struct hp_rest_resp *resp, void *arg,
			   struct hp_buf *why)
{
	(void)arg;
	if (resp->status == 200)
		return true;
	hp_buf_addf(why, "GET /primary answered %ld", resp->status);
	return false;
}

/*
 * The leaders GET /cluster names, checked against the inventory. Member
 * names are remote text: they are compared, never trusted, and quoted
 * only through the sanitizer.
 */
static int leader_of(const struct hp_inventory *inv, const json_t *cluster,
		     char **out, struct hp_err *err)
{
	const json_t *members = json_object_get(cluster, "members");
	const char *found = NULL;
	json_t *m;
	size_t k;

	*out = NULL;
	if (!json_is_array(members))
		return hp_err_set(err, HP_EVERIFY,
				  "GET /cluster: no \"members\" array");
	json_array_foreach(members, k, m)
	{
		const char *role = json_string_value(json_object_get(m, "role"));
		const char *name = json_string_value(json_object_get(m, "name"));

		if (!role || strcmp(role, "leader") != 0)
			continue;
		if (!name) {
			return hp_err_set(err, HP_EVERIFY,
					  "GET /cluster: a leader without a "
					  "name");
		}
		if (found) {
			char *a = hp_printable_dup(found, 64);
			char *b = hp_printable_dup(name, 64);

			hp_err_set(err, HP_EVERIFY,
				   "patroni reports two leaders, '%s' and "
				   "'%s': a split brain or a DCS in "
				   "transition; not acting on it",
				   a, b);
			free(a);
			free(b);
			return HP_EVERIFY;
		}
		found = name;
	}
	if (!found)
		return 0;
	{
		const struct hp_host *h = hp_inventory_host(inv, found);

		if (!h || !(h->roles & HP_ROLE_PATRONI)) {
			char *a = hp_printable_dup(found, 64);

			hp_err_set(err, HP_EVERIFY,
				   "patroni's leader is member '%s', which is "
				   "not a patroni host of the inventory; "
				   "switch over to an inventory host first "
				   "(patronictl switchover), or add the host "
				   "back to the inventory",
				   a);
			free(a);
			return HP_EVERIFY;
		}
	}
	*out = xstrdup(found);
	return 0;
}

int hp_patroni_leader(struct hp_run *run, struct hp_rest *rest, char **out,
		      json_t **cluster_out, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	struct hp_err e;
	int r = 0;
	size_t i;

	*out = NULL;
	if (cluster_out)
		*cluster_out = NULL;
	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts; i++) {
		char *url;

		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI))
			continue;
		url = hp_url(&inv->hosts[i], inv->patroni.restapi_port,
			     "/cluster");
		r = hp_rest_call(rest, "GET", url, NULL, &resp, &e);
		free(url);
		if (r < 0 || resp.status != 200 || !resp.json) {
			r = 0;
			continue;
		}
		if ((r = leader_of(inv, resp.json, out, err)) < 0)
			break;
		if (!*out)
			continue; /* this member sees no leader: ask another */
		if (cluster_out) {
			*cluster_out = resp.json;
			json_incref(resp.json);
		}
		break;
	}
	hp_rest_resp_release(&resp);
	return r;
}


struct staged_ctx {
	struct patroni_ctx *c;
	struct hp_rest *rest;
	const char *leader;
};

/* A new member: its files, directories and service (hp_patroni_join). */
static int join_host(struct hp_hostrun *h, void *arg)
{
	struct staged_ctx *s = arg;
	int r = host_files(h, s->c, true);

	return r < 0 ? r : service_host(h, s->c);
}

/* A live cluster: host by host, replicas before the leader; each member
 * healthy (and streaming) again before the next. */
static int staged_host(struct hp_hostrun *h, void *arg)
{
	struct staged_ctx *s = arg;
	int r = host_files(h, s->c, true);

	if (r == 0)
		r = service_host(h, s->c);
	if (r == 0 && h->nr_changed && !h->run->opts.plan)
		r = hp_patroni_wait_healthy(h->run, s->rest, s->leader,
					    h->run->inv->validation.timeout_s *
						    1000,
					    &h->err);
	return r;
}

/* Whether any patroni host's REST API answers GET /cluster: then the
 * cluster exists, with or without a leader at this instant. */
static bool any_member_answers(struct hp_run *run, struct hp_rest *rest)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	struct hp_err e;
	bool yes = false;
	size_t i;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !yes; i++) {
		char *url;

		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI))
			continue;
		url = hp_url(&inv->hosts[i], inv->patroni.restapi_port,
			     "/cluster");
		yes = hp_rest_call(rest, "GET", url, NULL, &resp, &e) == 0 &&
		      resp.status == 200 && json_is_object(resp.json);
		free(url);
	}
	hp_rest_resp_release(&resp);
	return yes;
}

/*
 * A cluster that answers but has no leader at this instant (a failover,
 * a switchover or a bootstrap under way, or a run killed in the middle of
 * one) is never taken for a new cluster: wait for its leader, up to
 * validation.timeout_s. plan does not wait: it says so.
 */
static int wait_for_leader(struct hp_run *run, struct hp_rest *rest,
			   char **leader, struct hp_err *err)
{
	int64_t end = hp_now_ms() + run->inv->validation.timeout_s * 1000LL;
	int r;

	if (run->opts.plan)
		return hp_err_set(err, HP_EVERIFY,
				  "patroni answers but has no leader right "
				  "now (a failover or switchover under way?); "
				  "plan again once it has one");
	hp_run_record(run, NULL, HP_STEP_OK, "wait for a leader",
		      "patroni answers but has no leader yet; waiting", NULL,
		      hp_now_ms());
	while ((r = hp_patroni_leader(run, rest, leader, NULL, err)) == 0 &&
	       !*leader) {
		if (hp_now_ms() >= end)
			return hp_err_set(err, HP_ETIMEOUT,
					  "patroni answers but no member "
					  "became leader within %d s",
					  run->inv->validation.timeout_s);
		if (hp_interrupted())
			return hp_err_set(err, HP_EINTR, "interrupted");
		hp_sleep_ms(500);
	}
	return r;
}

int hp_patroni_converge(struct hp_run *run, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct patroni_ctx c;
	struct hp_rest rest;
	struct hp_hostrun *first = NULL;
	bool first_selected = false, others_started = false;
	char *leader = NULL;
	size_t i;
	int r;

	c.facts = xcalloc(run->nr_hosts, sizeof(*c.facts));
	if ((r = hp_run_rest_init(run, &rest, 2000, err)) < 0)
		goto out;
	/* a wal_device that cannot be used: refused before any change */
	if ((r = hp_wal_volume_precheck(run, err)) < 0)
		goto out;
	if ((r = hp_patroni_leader(run, &rest, &leader, NULL, err)) < 0)
		goto out;
	if (!leader && any_member_answers(run, &rest) &&
	    (r = wait_for_leader(run, &rest, &leader, err)) < 0)
		goto out;
	if (leader) {
		/* a live cluster: packages anywhere at once, then staged */
		struct staged_ctx s = { &c, &rest, leader };
		/* the packages pass: every host at once (apt is the slow
		 * part) */
		struct hp_pkg_pass pass = { "patroni", { 0 } };
		const char **pkgs = pg_packages(inv, &pass.plan.nr_pkgs);
		size_t failed;

		pass.plan.pkgs = pkgs;
		/* with the services: the host pass's facts come along */
		pass.plan.svcs = pg_svcs;
		pass.plan.nr_svcs = HP_ARRAY_SIZE(pg_svcs);
		failed = hp_run_each(run, HP_ROLE_PATRONI,
				     hp_phase_packages_host, &pass);
		free(pkgs);
		if (failed) {
			r = hp_err_set(err, HP_ERROR, "patroni: a host failed");
			goto out;
		}
		/* new members first: the checks below want every member */
		if ((r = hp_patroni_join(run, &rest, leader, join_host, &s,
					 err)) < 0)
			goto out;
		/*
		 * The dynamic settings first: a member that a bad setting
		 * keeps down (a rollback, or a repair) can only come back
		 * once they are right, and the host-by-host pass below waits
		 * for each member to be healthy.
		 */
		if ((r = hp_dcs_converge(run, &rest, leader, err)) < 0)
			goto out;
		free(leader);
		if ((r = hp_patroni_leader(run, &rest, &leader, NULL, err)) <
		    0)
			goto out;
		s.leader = leader;
		if (!leader) {
			r = hp_err_set(err, HP_EVERIFY, "patroni has no leader");
			goto out;
		}
		r = hp_run_staged(run, HP_ROLE_PATRONI, leader, staged_host,
				  &s, err);
		goto out;
	}
	if (hp_run_each(run, HP_ROLE_PATRONI, prepare_host, &c)) {
		r = hp_err_set(err, HP_ERROR, "patroni: a host failed");
		goto out;
	}
	/*
	 * The leader's service first (or, on a new cluster, the first
	 * member's: it bootstraps, the others clone from it); the others
	 * after it.
	 */
	if (leader)
		first = hp_run_host(run, leader);
	for (i = 0; !first && i < run->nr_hosts; i++)
		if (run->hosts[i].host->roles & HP_ROLE_PATRONI)
			first = &run->hosts[i];
	if (first && first->selected && !first->failed) {
		struct hp_fact_svc *f = &c.facts[first - run->hosts].svcs[0];
		bool starting = strcmp(f->active, "active") != 0;

		if ((r = service_host(first, &c)) < 0) {
			hp_err_set(err, r, "patroni on %s: %s",
				   first->host->name, first->err.msg);
			goto out;
		}
		/* done: skip it in the pass over the others */
		first_selected = true;
		first->selected = false;
		if (starting && !leader && !run->opts.plan) {
			r = hp_patroni_bootstrap(run, &rest, first,
						 service_host, &c, err);
			if (r < 0)
				goto out;
			others_started = true;
		}
	}
	if (!others_started &&
	    hp_run_each(run, HP_ROLE_PATRONI, service_host, &c)) {
		r = hp_err_set(err, HP_ERROR, "patroni: a service failed");
		goto out;
	}
	if (!leader && !run->opts.plan &&
	    (r = hp_patroni_leader(run, &rest, &leader, NULL, err)) < 0)
		goto out;
	if (leader)
		r = hp_dcs_converge(run, &rest, leader, err);
	else if (run->opts.plan)
		hp_run_record(run, NULL, HP_STEP_CHANGED, "dcs config",
			      "set at bootstrap from the inventory", NULL,
			      hp_now_ms());
	else
		r = hp_err_set(err, HP_EVERIFY, "patroni has no leader");
out:
	if (first_selected)
		first->selected = true;
	for (i = 0; i < run->nr_hosts; i++)
		hp_facts_release(&c.facts[i]);
	free(c.facts);
	free(leader);
	hp_rest_release(&rest);
	return r;
}
