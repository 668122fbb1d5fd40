/*
 * Phase 1, etcd: package, config and service on the etcd hosts; the
 * members start together because etcd's unit only reports ready once it
 * has quorum. Verified with every member's GET /health, the member list
 * (equal to the inventory) and one leader that every member agrees on.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_members.h"
#include "phases.h"

static const char *const etcd_pkgs[] = { "etcd-server", "etcd-client" };

const char *const *hp_etcd_packages(const struct hp_run *run,
				   const struct hp_host *host, size_t *nr)
{
	(void)run;
	(void)host;
	*nr = HP_ARRAY_SIZE(etcd_pkgs);
	return etcd_pkgs;
}

static const char *const etcd_svcs[] = { "etcd" };

/*
 * Debian's etcd-server starts a single-node "default" member as soon as
 * it is installed (docs/field-notes.md). Stop it and remove its data so that it
 * can never be mistaken for our cluster; our data lives in etcd.data_dir.
 */
#define ETCD_POST_INSTALL                                                  \
	"systemctl stop etcd 2>/dev/null; rm -rf /var/lib/etcd/default"

static int converge_host(struct hp_hostrun *h, void *arg)
{
	struct hp_host_plan p = {
		.pkgs = etcd_pkgs, .nr_pkgs = HP_ARRAY_SIZE(etcd_pkgs),
		.svcs = etcd_svcs, .nr_svcs = HP_ARRAY_SIZE(etcd_svcs),
		.post_install_cmd = ETCD_POST_INSTALL,
	};
	struct hp_facts facts;
	int r;

	(void)arg;
	if ((r = hp_phase_host_converge(h, "etcd", &p, &facts, &h->err)) < 0)
		return r;
	if ((r = hp_etcd_initial_new(h, &h->err)) < 0) {
		hp_facts_release(&facts);
		return r;
	}
	/*
	 * --no-block: a new member's start only returns with quorum, which
	 * needs the others; all hosts run this in parallel and the verify
	 * step waits for health.
	 */
	r = hp_step_service(h, "etcd", &facts.svcs[0],
			    hp_service_needs(h, "etcd", &facts.svcs[0]), true,
			    &h->err);
	hp_facts_release(&facts);
	return r;
}

/* the packages pass: every host at once (apt is the slow part) */
static const struct hp_pkg_pass pkg_pass = {
	"etcd", { .pkgs = etcd_pkgs, .nr_pkgs = HP_ARRAY_SIZE(etcd_pkgs),
		  .svcs = etcd_svcs, .nr_svcs = HP_ARRAY_SIZE(etcd_svcs),
		  .post_install_cmd = ETCD_POST_INSTALL },
};
/* hp_run_each takes a void *; the pass only reads it */
#define PKG_PASS ((void *)(uintptr_t)&pkg_pass)

/* A live cluster: one member at a time, each healthy again before the
 * next, so quorum is never at risk. */
static int staged_host(struct hp_hostrun *h, void *arg)
{
	struct hp_rest *rest = arg;
	const struct hp_inventory *inv = h->run->inv;
	struct hp_host_plan p = {
		.svcs = etcd_svcs, .nr_svcs = HP_ARRAY_SIZE(etcd_svcs),
		.skip_packages = true,
	};
	struct hp_facts facts;
	enum hp_svc_action act;
	int r;

	if ((r = hp_phase_host_converge(h, "etcd", &p, &facts, &h->err)) < 0)
		return r;
	act = hp_service_needs(h, "etcd", &facts.svcs[0]);
	r = hp_step_service(h, "etcd", &facts.svcs[0], act, false, &h->err);
	hp_facts_release(&facts);
	if (r == 0 && act != HP_SVC_NONE && !h->run->opts.plan) {
		char *url = hp_url(h->host, inv->etcd.client_port, "/health");

		r = hp_rest_poll(rest, "GET", url, NULL,
				 inv->validation.timeout_s * 1000, 250,
				 hp_etcd_health_ok, NULL, NULL, &h->err);
		free(url);
	}
	return r;
}

/* Whether any etcd member answers healthy now. */
static bool etcd_live(struct hp_run *run, struct hp_rest *rest)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	struct hp_buf why = HP_BUF_INIT;
	struct hp_err err;
	bool live = false;
	size_t i;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !live; i++) {
		char *url;

		if (!(inv->hosts[i].roles & HP_ROLE_ETCD))
			continue;
		url = hp_url(&inv->hosts[i], inv->etcd.client_port, "/health");
		live = hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
		       hp_etcd_health_ok(&resp, NULL, &why);
		free(url);
	}
	hp_buf_release(&why);
	hp_rest_resp_release(&resp);
	return live;
}

/* A live cluster: the membership change checked before anything
 * changes; packages on every host at once; new members, one at a time;
 * then the others' files, one at a time. */
static int converge_live(struct hp_run *run, struct hp_rest *rest,
			 struct hp_err *err)
{
	struct hp_etcd_change c;
	int r;

	rest->timeout_ms = 3000;
	if ((r = hp_etcd_change_read(run, rest, &c, err)) < 0)
		return r;
	if (hp_run_each(run, HP_ROLE_ETCD, hp_phase_packages_host, PKG_PASS))
		r = hp_err_set(err, HP_ERROR, "etcd: a host failed");
	if (r == 0)
		r = hp_etcd_join(run, rest, &c, err);
	if (r == 0)
		r = hp_run_staged(run, HP_ROLE_ETCD, NULL, staged_host, rest,
				  err);
	hp_etcd_change_release(&c);
	return r;
}

int hp_etcd_converge(struct hp_run *run, struct hp_err *err)
{
	struct hp_rest rest;
	int r = 0;

	if ((r = hp_run_rest_init(run, &rest, 1000, err)) < 0)
		return r;
	if (!etcd_live(run, &rest)) {
		/* a new cluster: every member starts at once (quorum) */
		if (hp_run_each(run, HP_ROLE_ETCD, converge_host, NULL))
			r = hp_err_set(err, HP_ERROR, "etcd: a host failed");
	} else {
		r = converge_live(run, &rest, err);
	}
	hp_rest_release(&rest);
	return r;
}

bool hp_etcd_health_ok(const struct hp_rest_resp *resp, void *arg,
		       struct hp_buf *why)
{
	const char *h;

	(void)arg;
	if (resp->status != 200 || !resp->json) {
		hp_buf_addf(why, "HTTP %ld", resp->status);
		return false;
	}
	h = json_string_value(json_object_get(resp->json, "health"));
	if (!h || strcmp(h, "true") != 0) {
		hp_buf_adds(why, "not healthy");
		return false;
	}
	return true;
}

/* The member names in a member-list answer equal the inventory's. */
static bool members_ok(const struct hp_rest_resp *resp, void *arg,
		       struct hp_buf *why)
{
	const struct hp_inventory *inv = arg;
	json_t *members, *m;
	size_t i, n = 0;
	bool *seen;

	if (resp->status != 200 || !resp->json) {
		hp_buf_addf(why, "HTTP %ld", resp->status);
		return false;
	}
	members = json_object_get(resp->json, "members");
	if (!json_is_array(members)) {
		hp_buf_adds(why, "no \"members\" array");
		return false;
	}
	/* one flag per inventory host: a name listed twice cannot stand in
	 * for a missing member */
	seen = xcalloc(inv->nr_hosts + 1, sizeof(*seen));
	json_array_foreach(members, i, m)
	{
		const char *name = json_string_value(json_object_get(m, "name"));
		const struct hp_host *host = name ? hp_inventory_host(inv, name)
						  : NULL;

		if (!host || !(host->roles & HP_ROLE_ETCD)) {
			hp_buf_adds(why, "member '");
			if (name)
				hp_buf_add_printable(why, name, strlen(name),
						     64);
			else
				hp_buf_adds(why, "(unstarted)");
			hp_buf_adds(why, "' is not an etcd host of the "
					 "inventory");
			free(seen);
			return false;
		}
		if (seen[host - inv->hosts]) {
			hp_buf_addf(why, "member %s is listed twice",
				    host->name);
			free(seen);
			return false;
		}
		seen[host - inv->hosts] = true;
		n++;
	}
	free(seen);
	if (n != hp_inventory_count_role(inv, HP_ROLE_ETCD)) {
		hp_buf_addf(why, "%zu members, inventory has %zu", n,
			    hp_inventory_count_role(inv, HP_ROLE_ETCD));
		return false;
	}
	return true;
}

bool hp_etcd_id_parse(const json_t *v, uint64_t *out)
{
	const char *s = json_string_value(v);
	size_t i, len = s ? json_string_length(v) : 0;
	uint64_t x = 0;

	if (!s || len < 1 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		unsigned d = (unsigned char)s[i] - '0';

		/* a NUL inside the string is not a digit either */
		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*out = x;
	return true;
}

/* err: "etcd member HOST <what> (HTTP N: <the answer, printable>)" */
static int status_refused(const struct hp_rest_resp *resp, const char *host,
			  const char *what, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	int r;

	hp_buf_add_printable(&b, resp->body.buf, resp->body.len, 200);
	r = hp_err_set(err, HP_EVERIFY, "etcd member %s %s (HTTP %ld: %s)",
		       host, what, resp->status, b.buf);
	hp_buf_release(&b);
	return r;
}

int hp_etcd_status_judge(const struct hp_rest_resp *resp, const char *host,
			 struct hp_etcd_status *st, struct hp_err *err)
{
	const json_t *j = resp->status == 200 ? resp->json : NULL;
	const json_t *id = json_object_get(json_object_get(j, "header"),
					   "member_id");
	const json_t *learner = json_object_get(j, "isLearner");

	memset(st, 0, sizeof(*st));
	if (!hp_etcd_id_parse(json_object_get(j, "leader"), &st->leader) ||
	    !st->leader)
		return status_refused(resp, host,
				      "reports no leader, or not as a member "
				      "id",
				      err);
	if (id && (!hp_etcd_id_parse(id, &st->id) || !st->id))
		return status_refused(resp, host,
				      "gives its own member id in another "
				      "form than a decimal string",
				      err);
	if (learner && !json_is_boolean(learner))
		return status_refused(resp, host,
				      "says whether it is a learner in "
				      "another form than a boolean",
				      err);
	st->learner = json_is_true(learner);
	return 0;
}

int hp_etcd_status(struct hp_rest *rest, const struct hp_inventory *inv,
		   const struct hp_host *host, struct hp_rest_resp *resp,
		   struct hp_etcd_status *st, struct hp_err *err)
{
	json_t *empty = json_object();
	char *url = hp_url(host, inv->etcd.client_port,
			   "/v3/maintenance/status");
	int r = hp_rest_call(rest, "POST", url, empty, resp, err);

	free(url);
	json_decref(empty);
	if (r < 0) {
		hp_err_prefix(err, "etcd member %s", host->name);
		return r;
	}
	return hp_etcd_status_judge(resp, host->name, st, err);
}

/*
 * One member healthy, and naming as its leader a member id equal to
 * *leader (or, the first time (0), setting *leader).
 * resp: the caller's, for the answers.
 */
static int member_leader(struct hp_rest *rest, const struct hp_inventory *inv,
			 const struct hp_host *host, struct hp_rest_resp *resp,
			 uint64_t *leader, struct hp_err *err)
{
	struct hp_etcd_status st;
	char *url;
	int r;

	url = hp_url(host, inv->etcd.client_port, "/health");
	r = hp_rest_poll(rest, "GET", url, NULL,
			 inv->validation.timeout_s * 1000, 500,
			 hp_etcd_health_ok, NULL, resp, err);
	free(url);
	if (r < 0) {
		hp_err_prefix(err, "etcd member %s: GET /health", host->name);
		return r;
	}
	if ((r = hp_etcd_status(rest, inv, host, resp, &st, err)) < 0)
		return r;
	if (*leader && *leader != st.leader)
		return hp_err_set(err, HP_EVERIFY,
				  "etcd members disagree on the leader (%" PRIu64
				  " vs %" PRIu64 " at %s)",
				  *leader, st.leader, host->name);
	*leader = st.leader;
	return 0;
}

/* Every member healthy, naming the same leader; the member list as the
 * inventory has it. */
static int health_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int deadline = inv->validation.timeout_s * 1000;
	struct hp_rest rest;
	struct hp_rest_resp resp;
	json_t *empty = json_object();
	uint64_t leader = 0;
	int64_t t = hp_now_ms();
	size_t i;
	int r;

	(void)arg;
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		goto out_noinit;
	hp_rest_resp_init(&resp);
	/*
	 * Every member healthy, and naming the same leader. A member that
	 * just came back (a host off the network a moment ago) can name a
	 * stale leader or none for a moment: asked again until the deadline.
	 */
	for (;;) {
		leader = 0;
		for (i = 0, r = 0; i < inv->nr_hosts && r == 0; i++)
			if (inv->hosts[i].roles & HP_ROLE_ETCD)
				r = member_leader(&rest, inv, &inv->hosts[i],
						  &resp, &leader, err);
		if (r != HP_EVERIFY || hp_now_ms() - t >= deadline ||
		    hp_interrupted())
			break;
		hp_sleep_ms(500);
	}
	if (r < 0)
		goto out;
	for (i = 0; i < inv->nr_hosts; i++) {
		char *url;

		if (!(inv->hosts[i].roles & HP_ROLE_ETCD))
			continue;
		url = hp_url(&inv->hosts[i], inv->etcd.client_port,
			     "/v3/cluster/member/list");
		r = hp_rest_poll(&rest, "POST", url, empty, deadline, 500,
				 members_ok, (void *)(uintptr_t)inv, &resp,
				 err);
		free(url);
		if (r < 0)
			hp_err_prefix(err, "etcd member list");
		break;
	}
out:
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
out_noinit:
	json_decref(empty);
	return r;
}

int hp_etcd_verify(struct hp_run *run, struct hp_err *err)
{
	/* the TLS checks once the members answer: a member still starting
	 * refuses every connection (hp_checks_then) */
	struct hp_check c[2] = {
		{ "verify etcd: health, members, leader", health_check, NULL,
		  false },
	};
	size_t n = 1 + hp_tls_etcd_checks(run, c + 1);
	int r = hp_checks_then(run, c, 1, n, err);

	if (r < 0 && r != HP_EVERIFY)
		err->code = r = HP_EVERIFY;
	return r;
}
