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

/* A Patroni member's GET /patroni over plain http: a JSON object with
 * "state" (a migration that stopped after etcd went https only). */
static bool is_patroni_status(const struct hp_rest_resp *resp)
{
	return json_is_object(resp->json) &&
	       json_object_get(resp->json, "state") != NULL;
}

/* The host's 1-based inventory index when it answers plain http (etcd's
 * GET /health, else Patroni's GET /patroni), else 0. On a REST client of
 * its own. */
static int plain_probe(struct hp_run *run, const struct hp_host *h, bool etcd)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	struct hp_rest rest;
	struct hp_err e;
	bool plain = false;
	char *url;

	if (hp_run_rest_init(run, &rest, 2000, &e) < 0)
		return 0;
	hp_rest_resp_init(&resp);
	url = etcd ? hp_url_scheme("http", h, inv->etcd.client_port, "/health")
		   : hp_url_scheme("http", h, inv->patroni.restapi_port,
				   "/patroni");
	if (hp_rest_call(&rest, "GET", url, NULL, &resp, &e) == 0)
		plain = etcd ? is_etcd_health(&resp) : is_patroni_status(&resp);
	free(url);
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	return plain ? (int)(h - inv->hosts) + 1 : 0;
}

/* hp_hosts_at_once: never an error, an unreachable member is not
 * plaintext */
static int plain_etcd_one(struct hp_run *run, const struct hp_host *h,
			  void *arg, struct hp_err *err)
{
	(void)arg;
	(void)err;
	return plain_probe(run, h, true);
}

static int plain_patroni_one(struct hp_run *run, const struct hp_host *h,
			     void *arg, struct hp_err *err)
{
	(void)arg;
	(void)err;
	return plain_probe(run, h, false);
}

bool hp_tlsm_plain_etcd(struct hp_run *run, const char **who)
{
	struct hp_err e;
	int i = hp_hosts_at_once(run, HP_ROLE_ETCD, plain_etcd_one, NULL, &e);

	if (i > 0 && who)
		*who = run->inv->hosts[i - 1].name;
	return i > 0;
}

int hp_tlsm_gate(struct hp_run *run, bool migrate, bool *plain,
		 struct hp_err *err)
{
	const char *who = NULL;
	struct hp_err e;
	int i;

	*plain = false;
	if (!run->inv->tls.enabled)
		return 0;
	/* every member at once; etcd's answer first */
	if (!(*plain = hp_tlsm_plain_etcd(run, &who)) &&
	    (i = hp_hosts_at_once(run, HP_ROLE_PATRONI, plain_patroni_one,
				  NULL, &e)) > 0) {
		*plain = true;
		who = run->inv->hosts[i - 1].name;
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
