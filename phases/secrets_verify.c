/*
 * The secrets phase's verification: each inventory role and database is on
 * the leader as the inventory says, with the store's password; each role
 * with login logs in through HAProxy's primary port with it (from this
 * machine, with libpq: pglogin.h); Patroni's REST API refuses a write
 * without credentials (401) and accepts haprov's (a PATCH /config of
 * loop_wait to its current value: a write that changes nothing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pglogin.h"
#include "scram.h"
#include "bootstrap.h"
#include "secret_store.h"
#include "secrets_priv.h"

/* The first difference between want and st, into err. */
static int check_role(const struct hp_run *run,
		      const struct hp_secret_role *want,
		      const struct hp_pg_state *st, struct hp_err *err)
{
	const struct hp_pg_role *have = hp_pg_state_role(st, want->name);
	char *secret = NULL;
	bool match;
	size_t i;
	int r;

	if (!have)
		return hp_err_set(err, HP_EVERIFY, "role %s does not exist",
				  want->name);
	if (have->login != want->login)
		return hp_err_set(err, HP_EVERIFY, "role %s is %s", want->name,
				  have->login ? "LOGIN" : "NOLOGIN");
	if ((r = hp_role_secret_read(run, want->name, &secret, err)) < 0)
		return r;
	match = secret && hp_scram_matches(have->verifier, secret);
	hp_secret_free(secret);
	if (!match)
		return hp_err_set(err, HP_EVERIFY,
				  "the password of role %s is not the store's "
				  "secret role-%s",
				  want->name, want->name);
	for (i = 0; i < want->databases.nr; i++) {
		const struct hp_pg_db *d =
			hp_pg_state_db(st, want->databases.items[i]);
		char *o;

		if (!d)
			return hp_err_set(err, HP_EVERIFY,
					  "database %s does not exist",
					  want->databases.items[i]);
		if (!strcmp(d->owner, want->name))
			continue;
		o = hp_printable_dup(d->owner, 64);
		hp_err_set(err, HP_EVERIFY, "database %s is owned by %s, not %s",
			   d->name, o, want->name);
		free(o);
		return HP_EVERIFY;
	}
	return 0;
}

static int check_state(struct hp_run *run, struct hp_rest *rest,
		       struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_pg_state st;
	char *leader = NULL;
	size_t i;
	int r;

	r = hp_secrets_read_state(run, rest, &leader, &st, err);
	for (i = 0; r == 0 && i < inv->secrets.nr_roles; i++)
		r = check_role(run, &inv->secrets.roles[i], &st, err);
	hp_pg_state_release(&st);
	free(leader);
	return r;
}

/* One login, retried while the server cannot be reached (HAProxy
 * between two health checks), never after a refusal. */
static int login_once(const struct hp_inventory *inv, const struct hp_host *ha,
		      const struct hp_secret_role *role, const char *secret,
		      struct hp_err *err)
{
	const char *db = role->databases.nr ? role->databases.items[0]
					    : "postgres";
	int64_t deadline = hp_now_ms() + (int64_t)inv->validation.timeout_s *
						 1000;

	for (;;) {
		int r = hp_pg_login(ha->address, inv->haproxy.primary_port,
				role->name, secret, db, 5, err);
		if (r != HP_ECONNECT || hp_now_ms() >= deadline ||
		    hp_interrupted())
			return r;
		hp_sleep_ms(500);
	}
}

static int check_logins(struct hp_run *run, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const struct hp_host *ha = NULL;
	size_t i;
	int r = 0;

	for (i = 0; !ha && i < inv->nr_hosts; i++)
		if (inv->hosts[i].roles & HP_ROLE_HAPROXY)
			ha = &inv->hosts[i];
	if (!ha)
		return 0;
	for (i = 0; r == 0 && i < inv->secrets.nr_roles; i++) {
		const struct hp_secret_role *role = &inv->secrets.roles[i];
		char *secret = NULL;

		if (!role->login)
			continue;
		r = hp_role_secret_read(run, role->name, &secret, err);
		if (r == 0 && !secret)
			r = hp_err_set(err, HP_EVERIFY,
				       "the store has no secret role-%s",
				       role->name);
		if (r == 0)
			r = login_once(inv, ha, role, secret, err);
		hp_secret_free(secret);
	}
	if (r < 0)
		err->code = r = HP_EVERIFY;
	return r;
}

/*
 * The body of a PATCH /config that changes nothing: {"loop_wait": N} with
 * the leader's own value (Patroni answers 400 to an empty patch). NULL
 * when GET /config has no sane loop_wait.
 */
static json_t *noop_patch(struct hp_rest *rest, const char *url,
			  struct hp_rest_resp *resp, struct hp_err *err)
{
	json_t *lw;

	if (hp_rest_call(rest, "GET", url, NULL, resp, err) < 0)
		return NULL;
	lw = resp->status == 200 && json_is_object(resp->json)
		     ? json_object_get(resp->json, "loop_wait")
		     : NULL;
	if (!json_is_integer(lw) || json_integer_value(lw) < 1 ||
	    json_integer_value(lw) > 86400) {
		hp_err_set(err, HP_EVERIFY,
			   "GET /config on the leader: HTTP %ld, no loop_wait",
			   resp->status);
		return NULL;
	}
	return json_pack("{sI}", "loop_wait",
			 (json_int_t)json_integer_value(lw));
}

/* A PATCH /config that changes nothing, on the leader: 401 without
 * credentials, 200 with haprov's. */
static int check_rest_auth(struct hp_run *run, struct hp_rest *rest,
			   struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	json_t *body = NULL;
	char *leader = NULL, *url = NULL;
	int r;

	hp_rest_resp_init(&resp);
	if ((r = hp_patroni_leader(run, rest, &leader, NULL, err)) < 0)
		goto out;
	if (!leader) {
		r = hp_err_set(err, HP_EVERIFY, "patroni has no leader");
		goto out;
	}
	url = hp_url(hp_inventory_host(inv, leader), inv->patroni.restapi_port,
		     "/config");
	rest->user = rest->password = NULL;
	if (!(body = noop_patch(rest, url, &resp, err))) {
		r = HP_EVERIFY;
		goto out;
	}
	if ((r = hp_rest_call(rest, "PATCH", url, body, &resp, err)) < 0)
		goto out;
	if (resp.status != 401) {
		r = hp_err_set(err, HP_EVERIFY,
			       "patroni on %s answered PATCH /config without "
			       "credentials with HTTP %ld, not 401",
			       leader, resp.status);
		goto out;
	}
	rest->user = run->restapi_user;
	rest->password = run->restapi_password;
	r = hp_rest_call(rest, "PATCH", url, body, &resp, err);
	rest->user = rest->password = NULL;
	if (r == 0 && resp.status != 200)
		r = hp_err_set(err, HP_EVERIFY,
			       "patroni on %s refused haprov's credentials for "
			       "PATCH /config: HTTP %ld",
			       leader, resp.status);
out:
	hp_rest_resp_release(&resp);
	json_decref(body);
	free(url);
	free(leader);
	return r;
}

static int state_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	struct hp_rest rest;
	int r;

	(void)arg;
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	r = check_state(run, &rest, err);
	hp_rest_release(&rest);
	return r;
}

static int logins_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	(void)arg;
	return check_logins(run, err);
}

static int rest_auth_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	struct hp_rest rest;
	int r;

	(void)arg;
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	r = check_rest_auth(run, &rest, err);
	hp_rest_release(&rest);
	return r;
}

int hp_secrets_verify(struct hp_run *run, struct hp_err *err)
{
	/* at once (hp_checks_run): the psql ones on the leader's session,
	 * the logins and the REST API each on a thread */
	struct hp_check c[5] = {
		{ "verify secrets: roles, passwords and owners", state_check,
		  NULL, true },
		{ "verify secrets: logins through haproxy", logins_check, NULL,
		  false },
		{ "verify secrets: patroni REST API needs credentials",
		  rest_auth_check, NULL, false },
	};
	size_t n = 3 + hp_tls_postgres_checks(run, c + 3);
	int r = hp_checks_run(run, c, n, err);

	if (r < 0)
		err->code = r = HP_EVERIFY;
	return r;
}
