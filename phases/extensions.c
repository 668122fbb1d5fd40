/*
 * Phase 5, extensions: extensions.packages on every patroni host;
 * shared_preload_libraries through the staged path (hp_dcs_converge: a
 * rolling restart with one switchover, never a reload where a restart is
 * needed; this phase owns that key); then, on the leader and per
 * database, only what differs: CREATE EXTENSION, ALTER EXTENSION ...
 * UPDATE TO, DROP EXTENSION for the absent ones (never CASCADE). An
 * extension that is installed but in neither list is reported and left
 * alone. Everything that can be refused is refused before any change: a
 * database that does not exist and that no role creates, an extension no
 * installed package provides. The SQL and the decisions are in
 * extensions_sql.c.
 *
 * Verified: pg_extension on the leader and on every replica once it has
 * replayed the leader's current WAL position, and SHOW
 * shared_preload_libraries on every member.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"

#define PHASE "extensions"

struct ext_run {
	struct hp_run *run;
	const struct hp_extensions *e;
	struct hp_rest rest;
	char *leader;
	bool *exists;		   /* per e->databases */
	struct hp_ext_state *st;   /* per e->databases */
	struct hp_ext_plan *plans; /* per e->databases */
	/* st was read with the databases (read_leader), when the run had
	 * made this many changes (hp_run_changes) */
	bool st_read;
	size_t st_at;
};

static void ext_run_release(struct ext_run *x)
{
	size_t i;

	for (i = 0; x->st && i < x->e->nr_databases; i++) {
		hp_ext_state_release(&x->st[i]);
		hp_ext_plan_release(&x->plans[i]);
	}
	free(x->st);
	free(x->plans);
	free(x->exists);
	free(x->leader);
	hp_rest_release(&x->rest);
}

/* db is one of the secrets.roles' databases (the secrets phase, which
 * runs before this one, creates it). */
static bool role_creates(const struct hp_inventory *inv, const char *db)
{
	size_t i;

	for (i = 0; i < inv->secrets.nr_roles; i++)
		if (hp_strlist_has(&inv->secrets.roles[i].databases, db))
			return true;
	return false;
}

/*
 * Which databases exist, on the leader; a missing one that no role
 * creates is an error before any change. In plan, a missing one that a
 * role creates is fine (the secrets phase runs first); in apply it must
 * exist by now.
 */
/*
 * Which databases exist, and (the usual case: all of them do) every
 * database's extensions with it, in one psql session on the leader. When
 * the session fails (a database missing: its \connect fails) only the
 * databases are asked, on their own; their extensions are read later.
 */
static int read_leader(struct ext_run *x, struct hp_err *err)
{
	const struct hp_extensions *e = x->e;
	size_t n = e->nr_databases + 1, i;
	struct hp_sql_part *p = xcalloc(n, sizeof(*p));
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err e2;
	struct hp_sql s;
	int r;

	hp_sql_parts_init(p, n);
	if ((r = hp_ext_dbs_sql(&p[0].sql, e, err)) < 0)
		goto out;
	for (i = 0; i < e->nr_databases && r == 0; i++) {
		p[i + 1].db = e->databases[i].name;
		r = hp_ext_state_sql(&p[i + 1].sql, &e->databases[i], err);
	}
	if (r < 0)
		goto out;
	x->st_at = hp_run_changes(x->run);
	if (hp_sql_run_parts(x->run, x->leader, p, n, &e2) == 0) {
		if ((r = hp_ext_dbs_parse(p[0].out.buf, e, x->exists, err)) < 0)
			goto out;
		for (i = 0; i < e->nr_databases && r == 0; i++)
			if ((r = hp_ext_state_parse(p[i + 1].out.buf, &x->st[i],
						    err)) < 0)
				hp_err_prefix(err, "%s, database %s",
					      x->leader, p[i + 1].db);
		x->st_read = r == 0;
		goto out;
	}
	hp_sql_init(&s);
	if ((r = hp_ext_dbs_sql(&s, e, err)) == 0 &&
	    (r = hp_sql_run(x->run, x->leader, NULL, &s, false, &out, err)) ==
		    0)
		r = hp_ext_dbs_parse(out.buf, e, x->exists, err);
	hp_sql_release(&s);
out:
	hp_sql_parts_release(p, n);
	free(p);
	hp_buf_release(&out);
	return r;
}

static int check_databases(struct ext_run *x, struct hp_err *err)
{
	const struct hp_extensions *e = x->e;
	size_t i;
	int r;

	if (!e->nr_databases)
		return 0;
	r = read_leader(x, err);
	for (i = 0; r == 0 && i < e->nr_databases; i++) {
		const char *db = e->databases[i].name;

		if (x->exists[i])
			continue;
		if (!role_creates(x->run->inv, db))
			r = hp_err_set(err, HP_EINVALID,
				       "database %s (extensions.databases[%zu]) "
				       "does not exist on %s and no "
				       "secrets.roles entry creates it: create "
				       "it, or list it in a role's databases",
				       db, i, x->leader);
		else if (!x->run->opts.plan)
			r = hp_err_set(err, HP_EINVALID,
				       "database %s does not exist on %s: the "
				       "secrets phase should have created it "
				       "(run it first: --phase secrets)",
				       db, x->leader);
	}
	return r;
}

/* Every existing database's extensions on the leader, into x->st, in one
 * psql session. */
static int read_states(struct ext_run *x, struct hp_err *err)
{
	const struct hp_extensions *e = x->e;
	struct hp_sql_part *p = xcalloc(e->nr_databases + 1, sizeof(*p));
	size_t *which = xcalloc(e->nr_databases + 1, sizeof(*which));
	size_t i, n = 0;
	int r = 0;

	hp_sql_parts_init(p, e->nr_databases);
	for (i = 0; i < e->nr_databases && r == 0; i++) {
		if (!x->exists[i])
			continue;
		p[n].db = e->databases[i].name;
		which[n] = i;
		r = hp_ext_state_sql(&p[n++].sql, &e->databases[i], err);
	}
	if (r == 0 && n)
		r = hp_sql_run_parts(x->run, x->leader, p, n, err);
	for (i = 0; i < n && r == 0; i++) {
		memset(&x->st[which[i]], 0, sizeof(x->st[which[i]]));
		if ((r = hp_ext_state_parse(p[i].out.buf, &x->st[which[i]],
					    err)) < 0)
			hp_err_prefix(err, "%s, database %s", x->leader,
				      p[i].db);
	}
	hp_sql_parts_release(p, e->nr_databases);
	free(p);
	free(which);
	return r;
}

/* Every database's state on the leader and what to do in it; check: an
 * extension must be available (apply: the packages are installed). A
 * database that does not exist yet (plan only) gets every extension to
 * create. */
static int decide_all(struct ext_run *x, bool check, struct hp_err *err)
{
	const struct hp_extensions *e = x->e;
	size_t i;
	int r = 0;

	for (i = 0; i < e->nr_databases; i++)
		hp_ext_plan_release(&x->plans[i]);
	/* read with the databases, and nothing changed since (the packages
	 * decide what is available): as good as read now */
	if (!x->st_read || x->st_at != hp_run_changes(x->run)) {
		for (i = 0; i < e->nr_databases; i++)
			hp_ext_state_release(&x->st[i]);
		if ((r = read_states(x, err)) < 0)
			return r;
	}
	x->st_read = false;
	for (i = 0; i < e->nr_databases && r == 0; i++)
		r = hp_ext_decide(&e->databases[i], &x->st[i],
				  check && x->exists[i], &x->plans[i], err);
	return r;
}

/* One database's changes on the leader, one transaction; each recorded
 * (plan: recorded only). LEFT ones are said, never touched. */
static int change_db(struct ext_run *x, size_t i, struct hp_err *err)
{
	const struct hp_ext_db *d = &x->e->databases[i];
	const struct hp_ext_plan *p = &x->plans[i];
	struct hp_buf desc = HP_BUF_INIT;
	struct hp_sql s;
	int64_t t = hp_now_ms();
	size_t k;
	int r = 0;

	hp_sql_init(&s);
	if (hp_ext_plan_changes(p) && !x->run->opts.plan &&
	    (r = hp_ext_change_sql(&s, p, err)) == 0 &&
	    (r = hp_sql_run(x->run, x->leader, d->name, &s, true, NULL,
			    err)) < 0)
		hp_run_record(x->run, x->leader, HP_STEP_FAILED, "extensions",
			      err->msg, NULL, t);
	for (k = 0; k < p->nr && r == 0; k++) {
		hp_buf_reset(&desc);
		hp_ext_describe(&p->v[k], d->name, &desc);
		if (p->v[k].op == HP_EXT_LEFT) {
			/* names from psql are checked printable */
			fprintf(stderr, "haprov: %s: %s\n", PHASE, desc.buf);
			continue;
		}
		if (!x->exists[i])
			hp_buf_adds(&desc, " (the secrets phase creates the "
					   "database first)");
		hp_run_record(x->run, x->leader, HP_STEP_CHANGED, "extension",
			      desc.buf, NULL, t);
	}
	hp_sql_release(&s);
	hp_buf_release(&desc);
	return r;
}

/* plan on a cluster that does not exist yet: everything is to create. */
static void plan_new_cluster(struct hp_run *run, const struct hp_extensions *e)
{
	struct hp_buf desc = HP_BUF_INIT;
	size_t i, k;

	for (i = 0; i < e->nr_databases; i++)
		for (k = 0; k < e->databases[i].nr_extensions; k++) {
			struct hp_ext_action a = {
				HP_EXT_CREATE, e->databases[i].extensions[k].name,
				e->databases[i].extensions[k].version, NULL
			};

			hp_buf_reset(&desc);
			hp_ext_describe(&a, e->databases[i].name, &desc);
			hp_buf_adds(&desc, " (once the cluster exists)");
			hp_run_record(run, NULL, HP_STEP_CHANGED, "extension",
				      desc.buf, NULL, hp_now_ms());
		}
	hp_buf_release(&desc);
}

/* extensions.packages on every patroni host, all at once. */
static int packages(struct hp_run *run, const struct hp_extensions *e,
		    struct hp_err *err)
{
	struct hp_pkg_pass pass;

	if (!e->packages.nr)
		return 0;
	memset(&pass, 0, sizeof(pass));
	pass.phase = PHASE;
	pass.plan.pkgs = (const char *const *)e->packages.items;
	pass.plan.nr_pkgs = e->packages.nr;
	if (hp_run_each(run, HP_ROLE_PATRONI, hp_phase_packages_host, &pass))
		return hp_err_set(err, HP_ERROR, "%s: a host failed", PHASE);
	return 0;
}

/*
 * A rollback: Patroni's settings as the point has them (the desired-state
 * source is the point; this phase owns shared_preload_libraries), through
 * the same staged path. Extensions a failed run created or updated are
 * left: dropping one could drop what depends on it; list it in absent to
 * drop it.
 */
static int restore(struct ext_run *x, struct hp_err *err)
{
	int r;

	if (!x->leader)
		return hp_err_set(err, HP_EVERIFY, "patroni has no leader");
	if ((r = hp_dcs_converge(x->run, &x->rest, x->leader, err)) < 0)
		return r;
	hp_run_record(x->run, NULL, HP_STEP_OK, "extensions",
		      "left as they are (a rollback restores the preload)",
		      NULL, hp_now_ms());
	return 0;
}

const char *const *hp_extensions_packages(const struct hp_run *run,
					  const struct hp_host *host,
					  size_t *nr)
{
	(void)host;
	*nr = run->inv->extensions.packages.nr;
	return (const char *const *)run->inv->extensions.packages.items;
}

static int ext_init(struct ext_run *x, struct hp_run *run, struct hp_err *err)
{
	size_t n = run->inv->extensions.nr_databases;
	int r;

	memset(x, 0, sizeof(*x));
	x->run = run;
	x->e = &run->inv->extensions;
	x->exists = xcalloc(n + 1, sizeof(*x->exists));
	x->st = xcalloc(n + 1, sizeof(*x->st));
	x->plans = xcalloc(n + 1, sizeof(*x->plans));
	if ((r = hp_run_rest_init(run, &x->rest, 3000, err)) < 0)
		return r;
	return hp_patroni_leader(run, &x->rest, &x->leader, NULL, err);
}

/* Packages, the preload (staged), then the SQL on the leader. */
static int converge_live(struct ext_run *x, struct hp_err *err)
{
	struct hp_run *run = x->run;
	size_t i, mark;
	int r;

	if ((r = check_databases(x, err)) < 0 || (r = packages(run, x->e, err)) < 0)
		return r;
	/* refused before the restart: an extension no package provides */
	if ((r = decide_all(x, !run->opts.plan, err)) < 0)
		return r;
	mark = hp_run_count(run, PHASE, HP_STEP_CHANGED);
	if ((r = hp_dcs_converge(run, &x->rest, x->leader, err)) < 0)
		return r;
	/* the dynamic settings changed (a restart, maybe a switchover,
	 * which moves the leader): find it, and read its catalogs again */
	if (!run->opts.plan && hp_run_count(run, PHASE, HP_STEP_CHANGED) != mark) {
		free(x->leader);
		x->leader = NULL;
		if ((r = hp_patroni_leader(run, &x->rest, &x->leader, NULL,
					   err)) < 0)
			return r;
		if (!x->leader)
			return hp_err_set(err, HP_EVERIFY,
					  "patroni has no leader after the "
					  "restart");
		if ((r = decide_all(x, true, err)) < 0)
			return r;
	}
	for (i = 0; i < x->e->nr_databases && r == 0; i++)
		r = change_db(x, i, err);
	return r;
}

int hp_extensions_converge(struct hp_run *run, struct hp_err *err)
{
	struct ext_run x;
	int r;

	if ((r = ext_init(&x, run, err)) < 0)
		goto out;
	if (hp_desired_point(run)) {
		r = restore(&x, err);
	} else if (x.leader) {
		r = converge_live(&x, err);
	} else if (run->opts.plan) {
		/* a new cluster: the patroni phase bootstraps it with the
		 * packages and the preload in its first configuration */
		r = packages(run, x.e, err);
		plan_new_cluster(run, x.e);
	} else {
		r = hp_err_set(err, HP_EVERIFY, "patroni has no leader");
	}
out:
	ext_run_release(&x);
	return r;
}
