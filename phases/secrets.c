/*
 * Phase 4, secrets: the inventory's application roles and their databases
 * on Patroni's leader (secrets.roles), and the checks that the cluster's
 * credentials work and are required.
 *
 * The actual state is read first, in one read-only script on the leader
 * (pg_authid, pg_database); SQL that writes runs only for what differs, so
 * a no-op apply writes nothing. A role's password is the store's secret
 * role-<name>; only its SCRAM verifier, computed here (scram.h), reaches
 * the server, as psql's \password does: never the password. A password in
 * use is never replaced by a generated one, and a role outside the
 * inventory is reported and left alone, never dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pglogin.h"
#include "scram.h"
#include "bootstrap.h"
#include "secret_store.h"
#include "secrets_priv.h"

int hp_secrets_read_state(struct hp_run *run, struct hp_rest *rest, char **leader,
		      struct hp_pg_state *st, struct hp_err *err)
{
	struct hp_buf out = HP_BUF_INIT;
	struct hp_sql s;
	char *key, *kept;
	size_t len = 0;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = hp_patroni_leader(run, rest, leader, NULL, err)) < 0)
		return r;
	if (!*leader)
		return run->opts.plan ? 0
				      : hp_err_set(err, HP_EVERIFY,
						   "patroni has no leader");
	/* the phase's verify asks what its converge asked: with nothing
	 * changed since, the converge's answer stands */
	key = xasprintf("secrets state on %s", *leader);
	kept = hp_run_memo_get(run, key, &len);
	hp_sql_init(&s);
	hp_sql_add(&s, hp_secrets_state_sql);
	if (kept)
		hp_buf_add(&out, kept, len);
	else
		r = hp_sql_run(run, *leader, NULL, &s, false, &out, err);
	if (r == 0)
		r = hp_pg_state_parse(out.buf, out.len, st, err);
	if (r == 0 && !kept)
		hp_run_memo_put(run, key, out.buf, out.len);
	if (kept)
		explicit_bzero(kept, len);
	free(kept);
	free(key);
	if (out.buf)
		explicit_bzero(out.buf, out.len);
	hp_buf_release(&out);
	hp_sql_release(&s);
	if (r < 0)
		hp_err_prefix(err, "secrets, leader %s", *leader);
	return r;
}

int hp_role_secret_read(const struct hp_run *run, const char *role,
			char **out, struct hp_err *err)
{
	char *name = hp_role_secret_name(role);
	int r = hp_run_secret_read(run, name, out, err);

	free(name);
	if (r == HP_ENOTFOUND) {
		*out = NULL;
		return 0;
	}
	return r;
}

/* Generate the missing secret (apply), then run p's SQL on the leader. */
static int apply_role(struct hp_run *run, const char *leader,
		      const struct hp_role_plan *p, char **secret,
		      struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	char v[HP_SCRAM_VERIFIER_MAX] = "";
	struct hp_sql s;
	int r = 0;

	if (p->generate) {
		char *name = hp_role_secret_name(p->want->name);

		r = hp_secret_store_create(inv->secrets.store, err);
		if (r == 0)
			r = hp_secret_create(secret, inv->secrets.store, name,
					     (size_t)inv->secrets.password_length,
					     err);
		free(name);
		if (r < 0)
			return r;
	}
	if (p->set_password &&
	    (r = hp_scram_verifier_new(v, sizeof(v), *secret, err)) < 0) {
		hp_err_prefix(err, "secret role-%s", p->want->name);
		return r;
	}
	hp_sql_init(&s);
	r = hp_role_plan_sql(p, p->set_password ? v : NULL, &s, err);
	if (r == 0)
		r = hp_sql_run(run, leader, NULL, &s, true, NULL, err);
	hp_sql_release(&s);
	explicit_bzero(v, sizeof(v));
	return r;
}

static int converge_role(struct hp_run *run, const char *leader,
			 const struct hp_secret_role *want,
			 const struct hp_pg_state *st, struct hp_err *err)
{
	struct hp_role_plan p;
	struct hp_buf desc = HP_BUF_INIT;
	char *secret = NULL, *step = xasprintf("role %s", want->name);
	int64_t t = hp_now_ms();
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = hp_role_secret_read(run, want->name, &secret, err)) == 0)
		r = hp_role_decide(want, st, secret, run->inv->secrets.store,
				   &p, err);
	if (r < 0) {
		hp_run_record(run, leader, HP_STEP_FAILED, step, err->msg,
			      NULL, t);
		goto out;
	}
	hp_role_plan_describe(&p, st, &desc);
	if (hp_role_plan_empty(&p)) {
		hp_run_record(run, leader, HP_STEP_OK, step, NULL, NULL, t);
	} else {
		if (!run->opts.plan)
			r = apply_role(run, leader, &p, &secret, err);
		hp_run_record(run, leader,
			      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED, step,
			      r < 0 ? err->msg : desc.buf, NULL, t);
	}
	hp_role_plan_release(&p);
out:
	hp_secret_free(secret);
	hp_buf_release(&desc);
	free(step);
	return r;
}

/* Roles with login that haprov does not manage: reported, left alone. */
static void report_unknown(struct hp_run *run, const char *leader,
			   const struct hp_pg_state *st)
{
	size_t i;

	for (i = 0; i < st->nr_roles; i++) {
		const struct hp_pg_role *r = &st->roles[i];
		char *name, *step;

		if (!r->login || hp_role_is_known(run->inv, r->name))
			continue;
		name = hp_printable_dup(r->name, 64);
		step = xasprintf("role %s", name);
		hp_run_record(run, leader, HP_STEP_OK, step,
			      "not in the inventory: left alone", NULL,
			      hp_now_ms());
		free(step);
		free(name);
	}
}

/* Set a bootstrap role's password back to value, as a verifier. */
static int set_bootstrap_password(struct hp_run *run, const char *leader,
				  const char *role, const char *value,
				  struct hp_err *err)
{
	char v[HP_SCRAM_VERIFIER_MAX] = "";
	struct hp_sql s;
	int r;

	hp_sql_init(&s);
	if ((r = hp_scram_verifier_new(v, sizeof(v), value, err)) == 0 &&
	    (r = hp_sql_var(&s, "r", role, err)) == 0 &&
	    (r = hp_sql_var(&s, "v", v, err)) == 0) {
		hp_sql_add(&s, "ALTER ROLE :\"r\" PASSWORD :'v';");
		r = hp_sql_run(run, leader, NULL, &s, true, NULL, err);
	}
	hp_sql_release(&s);
	explicit_bzero(v, sizeof(v));
	return r;
}

/*
 * The bootstrap roles (superuser, replication, rewind): Patroni creates
 * them; their passwords are the run's secrets, which during a rollback
 * are the point's. Where pg_authid holds another password (a rollback to
 * before a rotation, a hand change) it is set back with a verifier, so
 * the roles always match the files Patroni and the replicas read. A role
 * that does not exist is Patroni's to create: left alone.
 */
static int converge_bootstrap(struct hp_run *run, const char *leader,
			      const struct hp_pg_state *st,
			      struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const struct hp_render_secrets *rs = run->secrets;
	const char *role[3], *val[3];
	size_t i;
	int r = 0;

	if (!rs || !leader)
		return 0;
	role[0] = inv->secrets.superuser;
	val[0] = rs->superuser;
	role[1] = inv->secrets.replication;
	val[1] = rs->replication;
	role[2] = inv->secrets.rewind;
	val[2] = rs->rewind;
	for (i = 0; i < 3 && r == 0; i++) {
		const struct hp_pg_role *have =
			role[i] ? hp_pg_state_role(st, role[i]) : NULL;
		char *step;
		int64_t t = hp_now_ms();

		/* plan without the secret: a placeholder, nothing to compare */
		if (!have || !val[i] || !strncmp(val[i], "<secret:", 8) ||
		    (have->verifier && hp_scram_matches(have->verifier, val[i])))
			continue;
		step = xasprintf("password of %s", role[i]);
		if (!run->opts.plan)
			r = set_bootstrap_password(run, leader, role[i], val[i],
						   err);
		hp_run_record(run, leader,
			      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED, step,
			      r < 0 ? err->msg
				    : "set to the secret store's version",
			      NULL, t);
		free(step);
	}
	return r;
}

int hp_secrets_converge(struct hp_run *run, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_pg_state st;
	struct hp_rest rest;
	char *leader = NULL;
	size_t i;
	int r;

	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	r = hp_secrets_read_state(run, &rest, &leader, &st, err);
	if (r == 0 && !leader)
		hp_run_note(run, NULL, "secrets: no leader yet: planned "
				       "against an empty cluster");
	if (r == 0)
		r = converge_bootstrap(run, leader, &st, err);
	for (i = 0; r == 0 && i < inv->secrets.nr_roles; i++)
		r = converge_role(run, leader, &inv->secrets.roles[i], &st,
				  err);
	if (r == 0)
		report_unknown(run, leader, &st);
	hp_pg_state_release(&st);
	free(leader);
	hp_rest_release(&rest);
	return r;
}
