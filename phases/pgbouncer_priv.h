#ifndef HP_PGBOUNCER_PRIV_H
#define HP_PGBOUNCER_PRIV_H
/*
 * The pgbouncer phase's decisions (phases/pgbouncer.c), for its unit
 * tests: what the leader needs for PgBouncer's password lookups, and the
 * SQL that gets it there.
 */
#include "secrets_priv.h"

struct hp_pgb_plan {
	bool create_role;	/* the lookup role does not exist */
	bool set_login;		/* it exists without LOGIN */
	bool set_password;	/* no password, or not the store's */
	struct hp_strlist dbs;	/* where get_auth must be (existing ones:
				   template1, postgres, the served ones) */
};
void hp_pgb_plan_release(struct hp_pgb_plan *p);

/* Decide against st (the leader's roles and databases); secret: the
 * store's pgbouncer_auth, NULL when unknown (then set_password). */
void hp_pgb_decide(const struct hp_inventory *inv,
		   const struct hp_pg_state *st, const char *secret,
		   struct hp_pgb_plan *p);

/* The per-database check whether get_auth is there, and its answer
 * (psql -At, remote text): "0\n" or "1\n", else HP_EREMOTE. */
extern const char hp_pgb_has_fn_sql[];
int hp_pgb_has_fn_parse(const char *out, size_t len, bool *has,
			struct hp_err *err);

/* The SQL: the lookup role (verifier: a SCRAM verifier, never a
 * password), and the schema and function in one database. Names and
 * values go in as psql variables. */
int hp_pgb_role_sql(struct hp_sql *s, const struct hp_pgb_plan *p,
		    const char *auth_user, const char *verifier,
		    struct hp_err *err);
int hp_pgb_fn_sql(struct hp_sql *s, const char *auth_user, struct hp_err *err);

#endif
