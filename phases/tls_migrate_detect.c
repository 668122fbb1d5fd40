/*
 * The plaintext gate (tls_migrate.h): does any etcd member of the
 * inventory answer plain http on its client port?
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "state.h"
#include "tls_migrate.h"

/* An etcd /health answer: a JSON object with "health" (any status). */
static bool is_etcd_health(const struct hp_rest_resp *resp)
{
	return resp->status > 0 && json_is_object(resp->json) &&
	       json_object_get(resp->json, "health") != NULL;
}

bool hp_tlsm_plain_etcd(struct hp_run *run, struct hp_rest *rest,
			const char **who)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	struct hp_err err;
	bool plain = false;
	size_t i;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !plain; i++) {
		const struct hp_host *h = &inv->hosts[i];
		char *url;

		if (!(h->roles & HP_ROLE_ETCD))
			continue;
		url = hp_url_scheme("http", h, inv->etcd.client_port,
				    "/health");
		hp_err_clear(&err);
		if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
		    is_etcd_health(&resp)) {
			plain = true;
			if (who)
				*who = h->name;
		}
		free(url);
	}
	hp_rest_resp_release(&resp);
	return plain;
}

/* A Patroni member whose REST API answers GET /patroni over plain http:
 * a migration that stopped after etcd went https only. */
static bool plain_patroni(struct hp_run *run, struct hp_rest *rest,
			  const char **who)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	bool plain = false;
	size_t i;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !plain; i++) {
		const struct hp_host *h = &inv->hosts[i];
		struct hp_err err;
		char *url;

		if (!(h->roles & HP_ROLE_PATRONI))
			continue;
		url = hp_url_scheme("http", h, inv->patroni.restapi_port,
				  "/patroni");
		if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
		    json_is_object(resp.json) &&
		    json_object_get(resp.json, "state")) {
			plain = true;
			*who = h->name;
		}
		free(url);
	}
	hp_rest_resp_release(&resp);
	return plain;
}

/* One plain-http probe: an etcd member's /health or a Patroni member's
 * /patroni. */
struct probe {
	const struct hp_host *h;
	bool etcd;
	bool plain;
};

struct probes {
	struct hp_run *run;
	struct probe *p;
};

/* hp_fanout: one probe, on a REST client of its own. */
static void probe_one(size_t i, void *arg)
{
	struct probes *ps = arg;
	struct probe *p = &ps->p[i];
	const struct hp_inventory *inv = ps->run->inv;
	struct hp_rest_resp resp;
	struct hp_rest rest;
	struct hp_err err;
	char *url;

	if (hp_run_rest_init(ps->run, &rest, 2000, &err) < 0)
		return;
	hp_rest_resp_init(&resp);
	url = p->etcd ? hp_url_scheme("http", p->h, inv->etcd.client_port,
				      "/health")
		      : hp_url_scheme("http", p->h, inv->patroni.restapi_port,
				      "/patroni");
	if (hp_rest_call(&rest, "GET", url, NULL, &resp, &err) == 0)
		p->plain = p->etcd ? is_etcd_health(&resp)
				   : json_is_object(resp.json) &&
					     json_object_get(resp.json,
							     "state") != NULL;
	free(url);
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
}

/* Every member probed at once; the first plain one, etcd's first, in
 * inventory order. */
static bool plain_any(struct hp_run *run, const char **who)
{
	const struct hp_inventory *inv = run->inv;
	struct probes ps = { run, xcalloc(2 * inv->nr_hosts + 1,
					  sizeof(struct probe)) };
	size_t i, n = 0;
	bool plain = false;

	for (i = 0; i < inv->nr_hosts; i++)
		if (inv->hosts[i].roles & HP_ROLE_ETCD)
			ps.p[n++] = (struct probe){ &inv->hosts[i], true,
						    false };
	for (i = 0; i < inv->nr_hosts; i++)
		if (inv->hosts[i].roles & HP_ROLE_PATRONI)
			ps.p[n++] = (struct probe){ &inv->hosts[i], false,
						    false };
	hp_fanout(n, probe_one, &ps);
	for (i = 0; i < n && !plain; i++)
		if ((plain = ps.p[i].plain))
			*who = ps.p[i].h->name;
	free(ps.p);
	return plain;
}

int hp_tlsm_gate(struct hp_run *run, bool migrate, bool *plain,
		 struct hp_err *err)
{
	struct hp_rest rest;
	const char *who = NULL;

	*plain = false;
	if (!run->inv->tls.enabled)
		return 0;
	if (!run->rest_ops) {
		*plain = plain_any(run, &who);
	} else {
		/* a unit test's REST seam: one after the other */
		int r = hp_run_rest_init(run, &rest, 2000, err);

		if (r < 0)
			return r;
		*plain = hp_tlsm_plain_etcd(run, &rest, &who) ||
			 plain_patroni(run, &rest, &who);
		hp_rest_release(&rest);
	}
	if (!*plain || migrate)
		return 0;
	return hp_err_set(err, HP_EVERIFY,
			  "tls is on but %s answers plain http (etcd or "
			  "Patroni's REST API): "
			  "the cluster runs in plaintext, and the normal "
			  "phases would rewrite every etcd member at once "
			  "(breaking etcd); nothing was changed. Apply with "
			  "`tls: false` to keep it plaintext, or use a "
			  "haprov that migrates a running cluster to TLS",
			  who);
}

const char *hp_tlsm_env_peer_scheme(const char *text, size_t len)
{
	static const char key[] = "ETCD_INITIAL_ADVERTISE_PEER_URLS=";
	size_t i = 0, k = sizeof(key) - 1;

	while (text && i < len) {
		size_t e = i;
		const char *v = text + i + k;

		while (e < len && text[e] != '\n')
			e++;
		if (e - i > k && !memcmp(text + i, key, k)) {
			if (e - i - k >= 8 && !memcmp(v, "https://", 8))
				return "https";
			if (e - i - k >= 7 && !memcmp(v, "http://", 7))
				return "http";
			return NULL;
		}
		i = e + 1;
	}
	return NULL;
}

int hp_tlsm_rollback_guard(struct hp_run *run, const char *point,
			   struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const char *want = inv->tls.enabled ? "https" : "http", *had;
	struct hp_buf text = HP_BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < inv->nr_hosts && !(inv->hosts[i].roles & HP_ROLE_ETCD);
	     i++)
		;
	if (i == inv->nr_hosts || !run->state)
		return 0;
	{
		char *path = hp_state_host_path(inv->hosts[i].name,
						"/etc/default/etcd");

		r = hp_state_read(run->state, point, path, &text, err);
		free(path);
	}
	if (r == HP_ENOTFOUND) {
		hp_err_clear(err);
		r = 0;
	} else if (r == 0 && (had = hp_tlsm_env_peer_scheme(text.buf,
							     text.len)) &&
		   strcmp(had, want) != 0) {
		r = hp_err_set(err, HP_EINVALID,
			       "the rollback point %.12s has etcd peers on %s "
			       "and the inventory wants %s (tls %s): a "
			       "rollback cannot cross the move to TLS; apply "
			       "the inventory instead",
			       point, had, want,
			       inv->tls.enabled ? "on" : "off");
	}
	hp_buf_release(&text);
	return r;
}
