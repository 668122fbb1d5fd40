/*
 * The pgbouncer phase: PgBouncer on each host with role pgbouncer (a
 * patroni host), in front of that host's PostgreSQL; HAProxy's servers go
 * to its port (render.c), so it runs before the haproxy phase.
 *
 * How clients log in (auth_query, not a list of passwords): a client
 * gives its own role's password; PgBouncer looks the role's SCRAM
 * verifier up by calling pgbouncer.get_auth($1) as its lookup role
 * (pgbouncer.auth_user, password: secret pgbouncer_auth, in PgBouncer's
 * auth file), checks the client against it, and logs in to PostgreSQL
 * with the client's SCRAM keys. So no application password sits in any
 * file, a rotated password works through PgBouncer at once, and the
 * lookup role reads nothing itself: get_auth is SECURITY DEFINER, returns
 * one role's row of pg_shadow, never a superuser's or a replication
 * role's, and only the lookup role may call it. PgBouncer 1.18 (Debian
 * 12) runs auth_query in the database the client asked for, so the
 * function is in every database it serves that exists, and in template1,
 * from which the secrets phase's CREATE DATABASE copies it.
 *
 * On the leader, over the SQL session: the lookup role (LOGIN, the
 * store's password as a SCRAM verifier) and the function where missing.
 * On each host, one at a time where something changes: pgbouncer.ini
 * (reload: clients stay connected), the auth file, and where it listens
 * (an included file: a change restarts PgBouncer).
 *
 * Verified: the lookup role logs in through each host's PgBouncer to the
 * postgres database (PgBouncer -> PostgreSQL with its auth file).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "pglogin.h"
#include "render.h"
#include "scram.h"
#include "pgbouncer_priv.h"

static const char *const pgb_pkgs[] = { "pgbouncer" };
static const char *const pgb_svcs[] = { "pgbouncer" };

const char *const *hp_pgbouncer_packages(const struct hp_run *run,
					 const struct hp_host *host,
					 size_t *nr)
{
	(void)run;
	(void)host;
	*nr = HP_ARRAY_SIZE(pgb_pkgs);
	return pgb_pkgs;
}

/* ---- decisions (pure; unit-tested) ---------------------------------------- */

void hp_pgb_plan_release(struct hp_pgb_plan *p)
{
	hp_strlist_clear(&p->dbs);
	memset(p, 0, sizeof(*p));
}

void hp_pgb_decide(const struct hp_inventory *inv,
		   const struct hp_pg_state *st, const char *secret,
		   struct hp_pgb_plan *p)
{
	const struct hp_pg_role *have =
		hp_pg_state_role(st, inv->pgbouncer.auth_user);
	struct hp_strlist served = { 0 };
	size_t i;

	memset(p, 0, sizeof(*p));
	p->create_role = !have;
	p->set_login = have && !have->login;
	p->set_password = !have || !have->verifier || !secret ||
			  !hp_scram_matches(have->verifier, secret);
	/* where get_auth must be: template1, postgres, then every database
	 * PgBouncer serves, each once and only where it exists (the secrets
	 * phase makes the others from template1) */
	hp_strlist_add(&served, "template1");
	hp_inventory_pgb_databases(inv, &served);
	for (i = 0; i < served.nr; i++)
		if (hp_pg_state_db(st, served.items[i]))
			hp_strlist_add(&p->dbs, served.items[i]);
	hp_strlist_clear(&served);
}

/* The check, in one database: "1" when get_auth is there as haprov makes
 * it (SECURITY DEFINER, returning the two columns), else "0". */
const char hp_pgb_has_fn_sql[] =
	"SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace "
	"n ON n.oid = p.pronamespace WHERE n.nspname = 'pgbouncer' AND "
	"p.proname = 'get_auth' AND p.prosecdef AND "
	"pg_catalog.pg_get_function_identity_arguments(p.oid) = "
	"'p_usename text';";

int hp_pgb_has_fn_parse(const char *out, size_t len, bool *has,
			struct hp_err *err)
{
	/* psql -At: one line, "0" or "1" */
	if (len == 2 && (out[0] == '0' || out[0] == '1') && out[1] == '\n') {
		*has = out[0] == '1';
		return 0;
	}
	return hp_err_set(err, HP_EREMOTE,
			  "the check for pgbouncer.get_auth answered %zu bytes "
			  "that are not 0 or 1",
			  len);
}

/* The function, in the database psql is connected to; :"u" is the lookup
 * role. get_auth runs as its owner (the superuser psql logs in as). */
static const char fn_sql[] =
	"CREATE SCHEMA IF NOT EXISTS pgbouncer;\n"
	"REVOKE ALL ON SCHEMA pgbouncer FROM PUBLIC;\n"
	"GRANT USAGE ON SCHEMA pgbouncer TO :\"u\";\n"
	"CREATE OR REPLACE FUNCTION pgbouncer.get_auth(p_usename text)\n"
	"  RETURNS TABLE(usename name, passwd text)\n"
	"  LANGUAGE sql STABLE SECURITY DEFINER\n"
	"  SET search_path = pg_catalog, pg_temp AS\n"
	"$fn$ SELECT s.usename, s.passwd FROM pg_catalog.pg_shadow s\n"
	"     WHERE s.usename = p_usename AND NOT s.usesuper\n"
	"       AND NOT s.userepl $fn$;\n"
	"REVOKE ALL ON FUNCTION pgbouncer.get_auth(text) FROM PUBLIC;\n"
	"GRANT EXECUTE ON FUNCTION pgbouncer.get_auth(text) TO :\"u\";\n";

int hp_pgb_fn_sql(struct hp_sql *s, const char *auth_user, struct hp_err *err)
{
	int r = hp_sql_var(s, "u", auth_user, err);

	if (r == 0)
		hp_sql_add(s, fn_sql);
	return r;
}

int hp_pgb_role_sql(struct hp_sql *s, const struct hp_pgb_plan *p,
		    const char *auth_user, const char *verifier,
		    struct hp_err *err)
{
	int r;

	if ((r = hp_sql_var(s, "u", auth_user, err)) < 0 ||
	    (r = hp_sql_var(s, "v", verifier, err)) < 0)
		return r;
	if (p->create_role)
		hp_sql_add(s, "CREATE ROLE :\"u\" LOGIN NOSUPERUSER "
			      "NOCREATEDB NOCREATEROLE NOREPLICATION "
			      "PASSWORD :'v';");
	else
		hp_sql_add(s, "ALTER ROLE :\"u\" LOGIN PASSWORD :'v';");
	return 0;
}

/* ---- on the leader ---------------------------------------------------------- */

static int converge_role(struct hp_run *run, const char *leader,
			 const struct hp_pgb_plan *p, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const char *pw = run->secrets ? run->secrets->pgbouncer_auth : NULL;
	int64_t t = hp_now_ms();
	char *step;
	int r = 0;

	if (!p->create_role && !p->set_login && !p->set_password)
		return 0;
	step = xasprintf("role %s", inv->pgbouncer.auth_user);
	if (!run->opts.plan) {
		char v[HP_SCRAM_VERIFIER_MAX] = "";
		struct hp_sql s;

		if (!pw || !strncmp(pw, "<secret:", 8))
			r = hp_err_set(err, HP_EINVALID,
				       "the store has no " HP_PGB_SECRET);
		hp_sql_init(&s);
		if (r == 0 &&
		    (r = hp_scram_verifier_new(v, sizeof(v), pw, err)) == 0 &&
		    (r = hp_pgb_role_sql(&s, p, inv->pgbouncer.auth_user, v,
					 err)) == 0)
			r = hp_sql_run(run, leader, NULL, &s, true, NULL, err);
		hp_sql_release(&s);
		explicit_bzero(v, sizeof(v));
	}
	hp_run_record(run, leader, r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
		      step,
		      r < 0 ? err->msg
		      : p->create_role ? "created: LOGIN, password from the "
					 "store (" HP_PGB_SECRET ")"
				       : "LOGIN and password set to the store's "
					 "(" HP_PGB_SECRET ")",
		      NULL, t);
	free(step);
	return r;
}

/* What the leader said about get_auth, database by database. */
struct fn_seen {
	struct hp_strlist dbs;
	bool *has;
};

static void fn_seen_release(struct fn_seen *f)
{
	hp_strlist_clear(&f->dbs);
	free(f->has);
	f->has = NULL;
}

/* has: whether db has get_auth, from f; false when f did not read it */
static bool fn_seen_get(const struct fn_seen *f, const char *db, bool *has)
{
	size_t i;

	for (i = 0; i < f->dbs.nr; i++)
		if (!strcmp(f->dbs.items[i], db)) {
			*has = f->has[i];
			return true;
		}
	return false;
}

/* Ask the leader about get_auth in each of dbs (all existing), in one
 * psql session, into f. */
static int fn_read(struct hp_run *run, const char *leader,
		   const struct hp_strlist *dbs, struct fn_seen *f,
		   struct hp_err *err)
{
	struct hp_sql_part *parts;
	size_t i, n = dbs->nr;
	int r;

	if (!n)
		return 0;
	parts = xcalloc(n, sizeof(*parts));
	hp_sql_parts_init(parts, n);
	for (i = 0; i < n; i++) {
		parts[i].db = dbs->items[i];
		hp_sql_add(&parts[i].sql, hp_pgb_has_fn_sql);
	}
	r = hp_sql_run_parts(run, leader, parts, n, err);
	f->has = xcalloc(n + 1, sizeof(*f->has));
	for (i = 0; r == 0 && i < n; i++) {
		if ((r = hp_pgb_has_fn_parse(parts[i].out.buf
						     ? parts[i].out.buf
						     : "",
					     parts[i].out.len, &f->has[i],
					     err)) < 0)
			hp_err_prefix(err, "%s, database %s", leader,
				      dbs->items[i]);
		else
			hp_strlist_add(&f->dbs, dbs->items[i]);
	}
	hp_sql_parts_release(parts, n);
	free(parts);
	return r;
}

/* get_auth in each database of p that lacks it (f: what is known) */
static int converge_fn(struct hp_run *run, const char *leader,
		       const struct hp_pgb_plan *p, struct fn_seen *f,
		       struct hp_err *err)
{
	const char *user = run->inv->pgbouncer.auth_user;
	size_t i, n = p->dbs.nr;
	bool has;
	int r = 0;

	for (i = 0; i < n; i++)
		if (!fn_seen_get(f, p->dbs.items[i], &has)) {
			fn_seen_release(f);
			r = fn_read(run, leader, &p->dbs, f, err);
			break;
		}
	for (i = 0; r == 0 && i < n; i++) {
		int64_t t = hp_now_ms();
		char *step;
		struct hp_sql s;

		if (!fn_seen_get(f, p->dbs.items[i], &has) || has)
			continue;
		step = xasprintf("function pgbouncer.get_auth in %s",
				 p->dbs.items[i]);
		hp_sql_init(&s);
		if (!run->opts.plan &&
		    (r = hp_pgb_fn_sql(&s, user, err)) == 0)
			r = hp_sql_run(run, leader, p->dbs.items[i], &s, true,
				       NULL, err);
		hp_sql_release(&s);
		hp_run_record(run, leader,
			      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED, step,
			      r < 0 ? err->msg
				    : "created (SECURITY DEFINER, callable by "
				      "the lookup role only)",
			      NULL, t);
		free(step);
	}
	return r;
}

/*
 * The roles and databases (hp_secrets_state_sql) and get_auth in
 * template1, postgres and every database PgBouncer serves, in one psql
 * session: a no-op's one round trip. A database not there yet fails the
 * whole session (psql cannot \connect to it); the caller then asks
 * again, the two in turn.
 */
static int read_at_once(struct hp_run *run, const char *leader,
			struct hp_pg_state *st, struct fn_seen *f,
			struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_strlist want = { 0 };
	struct hp_sql_part *parts;
	size_t i, n;
	int r;

	hp_strlist_add(&want, "template1");
	hp_inventory_pgb_databases(inv, &want);
	n = want.nr + 1;
	parts = xcalloc(n, sizeof(*parts));
	hp_sql_parts_init(parts, n);
	hp_sql_add(&parts[0].sql, hp_secrets_state_sql);
	for (i = 0; i < want.nr; i++) {
		parts[i + 1].db = want.items[i];
		hp_sql_add(&parts[i + 1].sql, hp_pgb_has_fn_sql);
	}
	r = hp_sql_run_parts(run, leader, parts, n, err);
	if (r == 0)
		r = hp_pg_state_parse(parts[0].out.buf ? parts[0].out.buf : "",
				      parts[0].out.len, st, err);
	f->has = xcalloc(n, sizeof(*f->has));
	for (i = 0; r == 0 && i < want.nr; i++)
		if ((r = hp_pgb_has_fn_parse(parts[i + 1].out.buf
						     ? parts[i + 1].out.buf
						     : "",
					     parts[i + 1].out.len, &f->has[i],
					     err)) == 0)
			hp_strlist_add(&f->dbs, want.items[i]);
	/* the roles' verifiers */
	if (parts[0].out.buf)
		explicit_bzero(parts[0].out.buf, parts[0].out.len);
	hp_sql_parts_release(parts, n);
	free(parts);
	hp_strlist_clear(&want);
	if (r < 0) {
		hp_pg_state_release(st);
		fn_seen_release(f);
	}
	return r;
}

static int converge_sql(struct hp_run *run, struct hp_err *err)
{
	const struct hp_render_secrets *rs = run->secrets;
	struct fn_seen f = { { 0 }, NULL };
	struct hp_pg_state st;
	struct hp_pgb_plan p;
	struct hp_rest rest;
	struct hp_err e;
	char *leader = NULL;
	int r;

	memset(&st, 0, sizeof(st));
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	hp_err_clear(&e);
	if ((r = hp_patroni_leader(run, &rest, &leader, NULL, err)) == 0 &&
	    (!leader || read_at_once(run, leader, &st, &f, &e) < 0)) {
		/* no leader, or a database not there yet: in turn */
		free(leader);
		leader = NULL;
		r = hp_secrets_read_state(run, &rest, &leader, &st, err);
	}
	hp_rest_release(&rest);
	if (r == 0 && !leader) {
		hp_run_note(run, NULL, "pgbouncer: no leader yet: its lookup "
				       "role and function are planned against "
				       "an empty cluster");
		hp_pg_state_release(&st);
		return 0;
	}
	if (r == 0) {
		/* the store's value; a plan's placeholder cannot compare */
		const char *pw = rs ? rs->pgbouncer_auth : NULL;
		bool known = pw && strncmp(pw, "<secret:", 8) != 0;

		hp_pgb_decide(run->inv, &st, known ? pw : NULL, &p);
		/* a plan without the secret: a new role only */
		if (run->opts.plan && !p.create_role && !known)
			p.set_password = false;
		if ((r = converge_role(run, leader, &p, err)) == 0)
			r = converge_fn(run, leader, &p, &f, err);
		hp_pgb_plan_release(&p);
	}
	fn_seen_release(&f);
	hp_pg_state_release(&st);
	free(leader);
	return r;
}

/* ---- on the hosts ------------------------------------------------------------- */

static const struct hp_pkg_pass pkg_pass = {
	"pgbouncer",
	{ .pkgs = pgb_pkgs, .nr_pkgs = HP_ARRAY_SIZE(pgb_pkgs),
	  .svcs = pgb_svcs, .nr_svcs = HP_ARRAY_SIZE(pgb_svcs) },
};
#define PKG_PASS ((void *)(uintptr_t)&pkg_pass)

static int staged_host(struct hp_hostrun *h, void *arg)
{
	struct hp_host_plan p = {
		.svcs = pgb_svcs, .nr_svcs = HP_ARRAY_SIZE(pgb_svcs),
		.skip_packages = true,
	};
	struct hp_facts facts;
	enum hp_svc_action act;
	int r;

	(void)arg;
	if ((r = hp_phase_host_converge(h, "pgbouncer", &p, &facts,
					&h->err)) < 0)
		return r;
	act = hp_service_needs(h, "pgbouncer", &facts.svcs[0]);
	/* the one its package started, with the package's config: nobody
	 * is connected to it yet */
	if (h->run->opts.plan)
		h->serves_nothing =
			strcmp(facts.svcs[0].active, "active") != 0 ||
			(h->installed_for &&
			 !strcmp(h->installed_for, "pgbouncer"));
	r = hp_step_service(h, "pgbouncer", &facts.svcs[0], act, false,
			    &h->err);
	hp_facts_release(&facts);
	return r;
}

int hp_pgbouncer_converge(struct hp_run *run, struct hp_err *err)
{
	int r;

	if (!hp_inventory_count_role(run->inv, HP_ROLE_PGBOUNCER))
		return 0;
	if (hp_run_each(run, HP_ROLE_PGBOUNCER, hp_phase_packages_host,
			PKG_PASS))
		return hp_run_failure(run, "pgbouncer", err);
	/* the role and function first: a PgBouncer that starts can look
	 * passwords up at once */
	if ((r = converge_sql(run, err)) < 0)
		return r;
	return hp_run_staged(run, HP_ROLE_PGBOUNCER, NULL, staged_host, NULL,
			     err);
}

/* ---- verify ----------------------------------------------------------------- */

/* The lookup role through host's PgBouncer, retried while it cannot be
 * reached (a restart under way), never after a refusal. */
static int login_one(struct hp_run *run, const struct hp_host *h, void *arg,
		     struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const char *pw = run->secrets ? run->secrets->pgbouncer_auth : NULL;
	int64_t deadline = hp_now_ms() + (int64_t)inv->validation.timeout_s *
						 1000;
	int r;

	(void)arg;
	if (!pw)
		return hp_err_set(err, HP_EVERIFY,
				  "no " HP_PGB_SECRET " to log in with");
	for (;;) {
		r = hp_pg_login(h->address, inv->pgbouncer.port,
				inv->pgbouncer.auth_user, pw, "postgres", 5,
				err);
		if (r != HP_ECONNECT || hp_now_ms() >= deadline ||
		    hp_interrupted())
			break;
		hp_sleep_ms(500);
	}
	if (r < 0)
		hp_err_prefix(err, "PgBouncer on %s (port %d)", h->name,
			      inv->pgbouncer.port);
	return r;
}

static int logins_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	(void)arg;
	return hp_hosts_at_once(run, HP_ROLE_PGBOUNCER, login_one, NULL, err);
}

int hp_pgbouncer_verify(struct hp_run *run, struct hp_err *err)
{
	const struct hp_check c[1] = {
		{ "verify pgbouncer: its lookup role logs in through each "
		  "PgBouncer",
		  logins_check, NULL, false },
	};
	int r;

	if (!hp_inventory_count_role(run->inv, HP_ROLE_PGBOUNCER))
		return 0;
	if ((r = hp_checks_then(run, c, 1, 1, err)) < 0)
		err->code = r = HP_EVERIFY;
	return r;
}
