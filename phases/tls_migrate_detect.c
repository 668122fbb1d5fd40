/*
 * The plaintext gate (tls_migrate.h): does any etcd member of the
 * inventory answer plain http on its client port?
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "tls_migrate.h"

char *hp_tlsm_url(const char *scheme, const struct hp_host *host, int port,
		  const char *path)
{
	if (strchr(host->address, ':'))
		return xasprintf("%s://[%s]:%d%s", scheme, host->address, port,
				 path);
	return xasprintf("%s://%s:%d%s", scheme, host->address, port, path);
}

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
		url = hp_tlsm_url("http", h, inv->etcd.client_port, "/health");
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
		url = hp_tlsm_url("http", h, inv->patroni.restapi_port,
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

int hp_tlsm_gate(struct hp_run *run, bool migrate, bool *plain,
		 struct hp_err *err)
{
	struct hp_rest rest;
	const char *who = NULL;
	int r;

	*plain = false;
	if (!run->inv->tls.enabled)
		return 0;
	if ((r = hp_run_rest_init(run, &rest, 2000, err)) < 0)
		return r;
	*plain = hp_tlsm_plain_etcd(run, &rest, &who) ||
		 plain_patroni(run, &rest, &who);
	hp_rest_release(&rest);
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
