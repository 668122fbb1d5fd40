/*
 * The checks of a rotation (rotate.h): the new password works and the old
 * one is refused; for replication, every replica streams again over a
 * connection made after the change; for a bootstrap role, no failover
 * (same leader, same timeline) and no restart (every member's postmaster
 * start time unchanged).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "rotate_priv.h"
#include "scram.h"

/* The address and port a login check of t goes to: HAProxy's primary
 * port for an application role, the leader's PostgreSQL otherwise. */
static int login_target(struct hp_rotate_ctx *c,
			const struct hp_rotate_target *t, const char **addr,
			int *port, struct hp_err *err)
{
	const struct hp_inventory *inv = c->run->inv;
	size_t i;

	*addr = NULL;
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];

		if (t->kind == HP_ROT_APP ? (h->roles & HP_ROLE_HAPROXY) != 0
					  : !strcmp(h->name, c->leader)) {
			*addr = h->address;
			break;
		}
	}
	*port = t->kind == HP_ROT_APP ? inv->haproxy.primary_port
				      : inv->patroni.pg_port;
	if (!*addr)
		return hp_err_set(err, HP_EINVALID, "no host to log in to");
	return 0;
}

/* The new password logs in (tried until the deadline: a reload is
 * asynchronous) and the old one is refused. */
static int check_login(struct hp_rotate_ctx *c,
		       const struct hp_rotate_target *t, const char *new_pw,
		       const char *old_pw, struct hp_err *err)
{
	const char *addr, *db = "postgres";
	int64_t deadline = hp_now_ms() + hp_run_wait_s(c->run) * 1000LL;
	int port, r;

	if (t->app && t->app->databases.nr)
		db = t->app->databases.items[0];
	if ((r = login_target(c, t, &addr, &port, err)) < 0)
		return r;
	while ((r = c->login(addr, port, t->user, new_pw, db, 5, err)) < 0 &&
	       hp_now_ms() < deadline)
		hp_sleep_ms(500);
	if (r < 0) {
		hp_err_prefix(err, "login as %s with the new password",
			      t->user);
		return r;
	}
	r = c->login(addr, port, t->user, old_pw, db, 5, err);
	if (r == 0)
		return hp_err_set(err, HP_EVERIFY,
				  "login as %s with the old password still "
				  "succeeds",
				  t->user);
	if (r != HP_EAUTH) {
		hp_err_prefix(err, "login as %s with the old password "
				   "failed, but not as refused",
			      t->user);
		return HP_EVERIFY;
	}
	hp_err_clear(err);
	return 0;
}

/* pg_authid on the leader holds the verifier of password. */
static int check_verifier(struct hp_rotate_ctx *c,
			  const struct hp_rotate_target *t,
			  const char *password, struct hp_err *err)
{
	struct hp_buf out = HP_BUF_INIT;
	struct hp_sql s;
	int r;

	hp_sql_init(&s);
	if ((r = hp_sql_var(&s, "r", t->user, err)) == 0) {
		hp_sql_add(&s, "SELECT rolpassword FROM pg_authid "
			       "WHERE rolname = :'r';");
		r = hp_sql_run(c->run, c->leader, NULL, &s, false, &out, err);
	}
	if (r == 0) {
		if (out.buf)
			out.buf[strcspn(out.buf, "\n")] = '\0';
		if (!out.buf || !hp_scram_matches(out.buf, password))
			r = hp_err_set(err, HP_EVERIFY,
				       "pg_authid on %s: the password of %s "
				       "is not the new one",
				       c->leader, t->user);
	}
	hp_sql_release(&s);
	hp_buf_release(&out);
	return r;
}

/* How many replicas stream over a connection made after t0. */
static int count_reconnected(struct hp_rotate_ctx *c, long *n,
			     struct hp_err *err)
{
	struct hp_buf out = HP_BUF_INIT;
	struct hp_sql s;
	char *end;
	int r;

	hp_sql_init(&s);
	if ((r = hp_sql_var(&s, "t0", c->t0, err)) == 0) {
		hp_sql_add(&s, "SELECT count(*) FROM pg_stat_replication "
			       "WHERE state = 'streaming' AND "
			       "backend_start > :'t0'::timestamptz;");
		r = hp_sql_run(c->run, c->leader, NULL, &s, false, &out, err);
	}
	if (r == 0) {
		*n = out.buf ? strtol(out.buf, &end, 10) : -1;
		if (!out.buf || end == out.buf || (*end && *end != '\n'))
			r = hp_err_set(err, HP_EREMOTE,
				       "psql on %s: not a count",
				       c->leader);
	}
	hp_sql_release(&s);
	hp_buf_release(&out);
	return r;
}

/*
 * End the replication connections of user on the leader and read the
 * leader's clock right after (into c->t0). Patroni puts a new replication
 * password in the replicas' pgpass file and reloads PostgreSQL, but
 * primary_conninfo's text does not change (it names the file), so a WAL
 * receiver keeps the connection it authenticated with the old password;
 * only a reconnection proves the new one. Each replica's WAL receiver
 * reconnects by itself (wal_retrieve_retry_interval, 5 s), retrying until
 * Patroni has written its pgpass file.
 */
static int end_walsenders(struct hp_rotate_ctx *c, const char *user,
			  struct hp_err *err)
{
	struct hp_buf out = HP_BUF_INIT;
	struct hp_sql s;
	const char *ts;
	int r;

	hp_sql_init(&s);
	if ((r = hp_sql_var(&s, "r", user, err)) == 0) {
		hp_sql_add(&s, "SELECT count(pg_terminate_backend(pid)) FROM "
			       "pg_stat_replication WHERE usename = :'r';");
		hp_sql_add(&s, "SELECT clock_timestamp();");
		r = hp_sql_run(c->run, c->leader, NULL, &s, true, &out, err);
	}
	if (r == 0) {
		ts = out.buf ? strchr(out.buf, '\n') : NULL;
		ts = ts ? ts + 1 : "";
		size_t n = strcspn(ts, "\n");

		if (n == 0 || n >= sizeof(c->t0) ||
		    strspn(ts, "0123456789-:. +") < n)
			r = hp_err_set(err, HP_EREMOTE,
				       "psql on %s: no timestamp after ending "
				       "the replication connections",
				       c->leader);
		else
			snprintf(c->t0, sizeof(c->t0), "%.*s", (int)n, ts);
	}
	hp_sql_release(&s);
	hp_buf_release(&out);
	return r;
}

/* Every replica reconnected (with the new password, which alone works
 * since ALTER ROLE) and streams, before the deadline. */
static int check_streaming(struct hp_rotate_ctx *c,
			   const struct hp_rotate_target *t,
			   struct hp_err *err)
{
	int64_t deadline = hp_now_ms() + hp_run_wait_s(c->run) * 1000LL;
	long want = 0, n = -1;
	size_t i;
	int r;

	for (i = 0; i < c->run->nr_hosts; i++)
		if ((c->run->hosts[i].host->roles & HP_ROLE_PATRONI) &&
		    strcmp(c->run->hosts[i].host->name, c->leader) != 0)
			want++;
	if ((r = end_walsenders(c, t->user, err)) < 0)
		return r;
	for (;;) {
		if ((r = count_reconnected(c, &n, err)) < 0)
			return r;
		if (n >= want)
			return 0;
		if (hp_now_ms() >= deadline)
			break;
		hp_run_note(c->run, c->leader,
			    "waiting for the replicas to reconnect with the "
			    "new password: %ld of %ld",
			    n, want);
		hp_sleep_ms(1000);
	}
	return hp_err_set(err, HP_EVERIFY,
			  "%ld of %ld replicas reconnected with the new "
			  "replication password within %d s",
			  n, want, hp_run_wait_s(c->run));
}

/* Same leader, same timeline, every postmaster as old as before. */
static int check_no_restart(struct hp_rotate_ctx *c, struct hp_err *err)
{
	char *leader = NULL;
	size_t i;
	int r;

	if ((r = hp_patroni_leader(c->run, &c->rest, &leader, NULL, err)) < 0)
		return r;
	if (!leader || strcmp(leader, c->leader) != 0)
		r = hp_err_set(err, HP_EVERIFY,
			       "the leader changed during the rotation: "
			       "%s, was %s",
			       leader ? leader : "none", c->leader);
	free(leader);
	for (i = 0; i < c->run->nr_hosts && r == 0; i++) {
		const struct hp_host *host = c->run->hosts[i].host;
		char *start = NULL;
		long long tl = 0;

		if (!c->start || !c->start[i])
			continue;
		if ((r = hp_rotate_member_state(c, host, &start, &tl, err)) < 0)
			break;
		if (strcmp(start, c->start[i]) != 0)
			r = hp_err_set(err, HP_EVERIFY,
				       "PostgreSQL on %s restarted during the "
				       "rotation (started %s, was %s)",
				       host->name, start, c->start[i]);
		else if (!strcmp(host->name, c->leader) && tl != c->timeline)
			r = hp_err_set(err, HP_EVERIFY,
				       "the timeline changed during the "
				       "rotation: %lld, was %lld",
				       tl, c->timeline);
		free(start);
	}
	return r;
}

/* PATCH /config {} with user:password on one member: the status. */
static int patch_status(struct hp_rotate_ctx *c, const struct hp_host *host,
			const char *password, long *status, struct hp_err *err)
{
	struct hp_rest_resp resp;
	json_t *body = json_object();
	char *url = hp_url(host, c->run->inv->patroni.restapi_port,
			   "/config");
	int r;

	hp_rest_resp_init(&resp);
	c->rest.user = c->run->inv->secrets.restapi_user;
	c->rest.password = password;
	r = hp_rest_call(&c->rest, "PATCH", url, body, &resp, err);
	c->rest.user = c->rest.password = NULL;
	*status = resp.status;
	hp_rest_resp_release(&resp);
	json_decref(body);
	free(url);
	return r;
}

/*
 * Every member's REST API takes the new credentials (any answer but 401
 * and 403: an empty PATCH is refused as a request, 400, after the
 * credentials were accepted, and changes nothing), tried until the
 * deadline since Patroni applies a reload in its next cycle; and answers
 * the old ones with 401.
 */
static int check_restapi(struct hp_rotate_ctx *c, const char *new_pw,
			 const char *old_pw, struct hp_err *err)
{
	int64_t deadline = hp_now_ms() + hp_run_wait_s(c->run) * 1000LL;
	size_t i;
	long st = 0;
	int r = 0;

	for (i = 0; i < c->run->nr_hosts && r == 0; i++) {
		const struct hp_host *host = c->run->hosts[i].host;

		if (!(host->roles & HP_ROLE_PATRONI))
			continue;
		for (;;) {
			r = patch_status(c, host, new_pw, &st, err);
			if (r == 0 && st != 401 && st != 403)
				break;
			if (hp_now_ms() >= deadline)
				return hp_err_set(err, HP_EVERIFY,
						  "Patroni's REST API on %s "
						  "refuses the new "
						  "credentials (status %ld)",
						  host->name, st);
			hp_sleep_ms(1000);
		}
		if ((r = patch_status(c, host, old_pw, &st, err)) == 0 &&
		    st != 401)
			r = hp_err_set(err, HP_EVERIFY,
				       "Patroni's REST API on %s answers the "
				       "old credentials with %ld, not 401",
				       host->name, st);
	}
	return r;
}

int hp_rotate_verify(void *ctx, const struct hp_rotate_target *t,
		     const char *new_pw, const char *old_pw,
		     struct hp_err *err)
{
	struct hp_rotate_ctx *c = ctx;
	int r = 0;

	switch (t->kind) {
	case HP_ROT_APP:
	case HP_ROT_SUPERUSER:
		r = check_login(c, t, new_pw, old_pw, err);
		break;
	case HP_ROT_REPLICATION:
		r = check_streaming(c, t, err);
		break;
	case HP_ROT_REWIND:
		r = check_verifier(c, t, new_pw, err);
		break;
	case HP_ROT_RESTAPI:
		r = check_restapi(c, new_pw, old_pw, err);
		break;
	}
	if (r == 0 && hp_rotate_in_config(t->kind))
		r = check_no_restart(c, err);
	return r;
}
