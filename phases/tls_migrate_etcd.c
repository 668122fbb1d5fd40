/*
 * The etcd stages of the TLS migration (tls_migrate.h): each member in
 * turn gets an intermediate etcd.env and a restart, with quorum checked
 * before and health after; the peers stage moves each member's peer URL
 * to https with etcd's member update before that member listens on it.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "tls_migrate.h"

static const char *const etcd_svcs[] = {"etcd"};

bool hp_tlsm_etcd_healthy(struct hp_run *run, struct hp_rest *rest,
			  const struct hp_host *host, const char *scheme)
{
	struct hp_rest_resp resp;
	struct hp_err err;
	const char *h;
	char *url;
	bool ok;

	hp_rest_resp_init(&resp);
	url = hp_url_scheme(scheme, host, run->inv->etcd.client_port,
			    "/health");
	ok = hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
	     resp.status == 200 &&
	     (h = json_string_value(json_object_get(resp.json, "health"))) &&
	     !strcmp(h, "true");
	free(url);
	hp_rest_resp_release(&resp);
	return ok;
}

static bool healthy_any(struct hp_run *run, struct hp_rest *rest,
			const struct hp_host *host)
{
	return hp_tlsm_etcd_healthy(run, rest, host, "https") ||
	       hp_tlsm_etcd_healthy(run, rest, host, "http");
}

json_t *hp_tlsm_etcd_members(struct hp_run *run, struct hp_rest *rest)
{
	static const char *const schemes[] = {"https", "http"};
	const struct hp_inventory *inv = run->inv;
	json_t *body = json_object(), *out = NULL;
	struct hp_rest_resp resp;
	size_t i, s;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !out; i++) {
		if (!(inv->hosts[i].roles & HP_ROLE_ETCD))
			continue;
		for (s = 0; s < 2 && !out; s++) {
			struct hp_err err;
			char *url = hp_url_scheme(schemes[s], &inv->hosts[i],
						inv->etcd.client_port,
						"/v3/cluster/member/list");

			if (hp_rest_call(rest, "POST", url, body, &resp,
					 &err) == 0 &&
			    resp.status == 200 &&
			    json_is_array(
				    json_object_get(resp.json, "members")))
				out = json_incref(resp.json);
			free(url);
		}
	}
	hp_rest_resp_release(&resp);
	json_decref(body);
	return out;
}

bool hp_tlsm_member(const json_t *list, const char *name, char id[24],
		    bool *peer_https)
{
	const json_t *m, *u;
	size_t i, j;

	json_array_foreach(json_object_get(list, "members"), i, m)
	{
		const char *n = json_string_value(json_object_get(m, "name"));
		const char *s = json_string_value(json_object_get(m, "ID"));
		const json_t *peers = json_object_get(m, "peerURLs");

		if (!n || strcmp(n, name) != 0)
			continue;
		/* a uint64 in decimal, as etcd's gateway writes it */
		if (!s || !*s || strlen(s) > 20 ||
		    strspn(s, "0123456789") != strlen(s) ||
		    !json_array_size(peers))
			return false;
		memcpy(id, s, strlen(s) + 1);
		*peer_https = true;
		json_array_foreach(peers, j, u)
		{
			const char *url = json_string_value(u);

			if (!url || strncmp(url, "https://", 8) != 0)
				*peer_https = false;
		}
		return true;
	}
	return false;
}

/* Every etcd member healthy now, so one may go down (quorum). */
static int quorum_check(struct hp_run *run, struct hp_rest *rest,
			const char *who, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i, n = 0, ok = 0;

	for (i = 0; i < inv->nr_hosts; i++) {
		if (!(inv->hosts[i].roles & HP_ROLE_ETCD))
			continue;
		n++;
		if (healthy_any(run, rest, &inv->hosts[i]))
			ok++;
	}
	if (hp_tlsm_quorum_ok(n, ok))
		return 0;
	return hp_err_set(err, HP_EVERIFY,
			  "etcd: %zu of %zu members healthy; restarting %s "
			  "now could lose quorum: stopped",
			  ok, n, who);
}

/*
 * POST member/update until etcd takes it: right after a member's restart
 * etcd may answer 503 (no leader yet, or an election under way) for a
 * moment. Anything but 200 after the verification deadline fails, with
 * the answer quoted printable.
 */
static int post_update(struct hp_run *run, struct hp_rest *rest,
		       const char *url, const json_t *body,
		       struct hp_rest_resp *resp, struct hp_err *err)
{
	int64_t end =
		hp_now_ms() + (int64_t)run->inv->validation.timeout_s * 1000;
	struct hp_buf b = HP_BUF_INIT;
	int r;

	for (;;) {
		r = hp_rest_call(rest, "POST", url, body, resp, err);
		if (r == 0 && resp->status == 200)
			return 0;
		if (hp_now_ms() >= end || hp_interrupted())
			break;
		hp_sleep_ms(500);
	}
	if (r < 0)
		return r;
	hp_buf_add_printable(&b, resp->body.buf, resp->body.len, 200);
	r = hp_err_set(err, HP_EVERIFY, "etcd: %s: HTTP %ld: %s", url,
		       resp->status, b.buf);
	hp_buf_release(&b);
	return r;
}

/* POST member/update: this member's peer URL https, when it is not. */
static int peer_update(struct hp_run *run, struct hp_rest *rest,
		       const struct hp_host *host, struct hp_err *err)
{
	json_t *list = hp_tlsm_etcd_members(run, rest), *body;
	struct hp_rest_resp resp;
	bool https = false;
	char id[24], *url, *peer;
	int r;

	if (!list || !hp_tlsm_member(list, host->name, id, &https)) {
		json_decref(list);
		return hp_err_set(err, HP_EVERIFY,
				  "etcd: no member list naming %s with an ID",
				  host->name);
	}
	json_decref(list);
	if (https)
		return 0;
	peer = hp_url_scheme("https", host, run->inv->etcd.peer_port, "");
	body = json_pack("{s:s, s:[s]}", "ID", id, "peerURLs", peer);
	/* the scheme its clients are on now: etcd 3.4's gateway on the
	 * http side of a port that also serves https closes its own gRPC
	 * connection (lab: HTTP 503 "connection closed", code 14) */
	url = hp_url_scheme(
		hp_tlsm_etcd_healthy(run, rest, host, "https") ? "https"
							       : "http",
		host, run->inv->etcd.client_port, "/v3/cluster/member/update");
	hp_rest_resp_init(&resp);
	r = post_update(run, rest, url, body, &resp, err);
	if (r == 0)
		hp_log_msg(HP_LOG_INFO, __func__, "%s: etcd peer URL now %s",
			   host->name, peer);
	hp_rest_resp_release(&resp);
	json_decref(body);
	free(url);
	free(peer);
	return r;
}

/* etcd.env in form, and a restart when it changed. */
static int restart_member(struct hp_hostrun *h, enum hp_tlsm_etcd_form form)
{
	struct hp_tlsm_files f = {.etcd_form = form};
	struct hp_host_plan p = {
		.svcs = etcd_svcs,
		.nr_svcs = 1,
		.skip_packages = true,
	};
	struct hp_facts facts;
	enum hp_svc_action act;
	int r;

	hp_tlsm_files_use(h->run, &f);
	r = hp_phase_host_converge(h, "etcd", &p, &facts, &h->err);
	hp_tlsm_files_done(h->run);
	if (r < 0)
		return r;
	act = hp_service_needs(h, "etcd", &facts.svcs[0]);
	if (act == HP_SVC_RELOAD)
		act = HP_SVC_RESTART;
	r = hp_step_service(h, "etcd", &facts.svcs[0], act, false, &h->err);
	hp_facts_release(&facts);
	return r;
}

/* Poll until pred holds or the inventory's timeout passes. */
static int wait_healthy(struct hp_run *run, struct hp_rest *rest,
			const struct hp_host *host, const char *scheme,
			struct hp_err *err)
{
	int64_t end =
		hp_now_ms() + (int64_t)run->inv->validation.timeout_s * 1000;

	while (!hp_tlsm_etcd_healthy(run, rest, host, scheme)) {
		if (hp_now_ms() >= end || hp_interrupted())
			return hp_err_set(err, HP_ETIMEOUT,
					  "etcd member %s not healthy over %s "
					  "after its restart",
					  host->name, scheme);
		hp_sleep_ms(250);
	}
	return 0;
}

static int roll_one(struct hp_hostrun *h, struct hp_rest *rest,
		    enum hp_tlsm_etcd_form form, struct hp_err *err)
{
	struct hp_run *run = h->run;
	int r;

	if ((r = quorum_check(run, rest, h->host->name, err)) < 0)
		return r;
	if (form == HP_TLSM_ENV_PEERS &&
	    (r = peer_update(run, rest, h->host, err)) < 0)
		return r;
	if ((r = restart_member(h, form)) < 0) {
		*err = h->err;
		return r;
	}
	return wait_healthy(run, rest, h->host,
			    form == HP_TLSM_ENV_FINAL ? "https" : "http", err);
}

int hp_tlsm_etcd_roll(struct hp_run *run, enum hp_tlsm_etcd_form form,
		      struct hp_err *err)
{
	struct hp_rest rest;
	size_t i;
	int r;

	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	for (i = 0; i < run->nr_hosts && r == 0; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		if (!(h->host->roles & HP_ROLE_ETCD))
			continue;
		r = roll_one(h, &rest, form, err);
		/* every member healthy again before the next */
		if (r == 0)
			r = quorum_check(run, &rest, "the next member", err);
	}
	hp_rest_release(&rest);
	return r;
}
