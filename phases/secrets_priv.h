#ifndef HP_SECRETS_PRIV_H
#define HP_SECRETS_PRIV_H
/*
 * The secrets phase's parts (phases/secrets.c, phases/secrets_sql.c),
 * exposed for its unit tests: what PostgreSQL has (read in one read-only
 * script on the leader), what each inventory role needs, and the write
 * script that gets it there.
 */
#include "phases.h"

/* A role as pg_authid shows it. */
struct hp_pg_role {
	char *name;       /* raw bytes from the server: print it through
			     hp_printable_dup */
	bool login;
	bool has_password;
	char *verifier;   /* rolpassword, or NULL (none, or too long to be a
			     SCRAM verifier) */
};

struct hp_pg_db {
	char *name, *owner; /* raw bytes from the server */
};

struct hp_pg_state {
	struct hp_pg_role *roles;
	size_t nr_roles, alloc_roles;
	struct hp_pg_db *dbs;
	size_t nr_dbs, alloc_dbs;
};

/* The most roles or databases accepted in the answer. */
#define HP_SECRETS_STATE_ROWS 10000

/* The read-only script: every role of pg_authid ("R|name|t/f|password")
 * and database of pg_database ("D|name|owner"), each text field as hex of
 * its bytes (a name may hold '|' or a newline), then "E" (the answer is
 * complete). */
extern const char hp_secrets_state_sql[];

/*
 * Parse psql's answer to it (remote text, len bytes) into st (release
 * with hp_pg_state_release, also after an error). HP_EREMOTE, quoting the
 * line number only, for: an unknown tag, a wrong field count, bad hex, an
 * empty name or one over 63 bytes or with a NUL, a login flag other than
 * t/f, a duplicate role or database, more than HP_SECRETS_STATE_ROWS
 * rows, a missing or repeated "E", or anything after it.
 */
int hp_pg_state_parse(const char *out, size_t len, struct hp_pg_state *st,
		      struct hp_err *err);
void hp_pg_state_release(struct hp_pg_state *st);
const struct hp_pg_role *hp_pg_state_role(const struct hp_pg_state *st,
					  const char *name);
const struct hp_pg_db *hp_pg_state_db(const struct hp_pg_state *st,
				      const char *name);

/* What one inventory role needs. */
struct hp_role_plan {
	const struct hp_secret_role *want;
	bool create;       /* the role does not exist */
	bool set_login;    /* exists with the other LOGIN attribute */
	bool set_password; /* no password, or not the store's */
	bool generate;     /* the store has no secret for it: make one */
	struct hp_strlist create_dbs; /* its databases that do not exist */
	struct hp_strlist owner_dbs;  /* its databases another role owns */
};
void hp_role_plan_release(struct hp_role_plan *p);
bool hp_role_plan_empty(const struct hp_role_plan *p);

/* The store's name for role's secret: "role-<name>"; the caller frees. */
char *hp_role_secret_name(const char *role);

/*
 * Decide for want against st. secret: the store's value, or NULL when the
 * store has none. A missing secret is generated only when the role does
 * not exist or has no password; a role that has one is HP_EINVALID naming
 * the store and the secret (never a new password over one in use). The
 * password changes only when the role's verifier does not match secret
 * (hp_scram_matches).
 */
int hp_role_decide(const struct hp_secret_role *want,
		   const struct hp_pg_state *st, const char *secret,
		   const char *store, struct hp_role_plan *p,
		   struct hp_err *err);

/* What p would do, for plan and the progress lines: "create role app
 * (login); create database appdb owner app". Never a value. st gives the
 * current owners (printable). */
void hp_role_plan_describe(const struct hp_role_plan *p,
			   const struct hp_pg_state *st, struct hp_buf *out);

/*
 * The write script for p: the role as psql variable r, the verifier (when
 * p->set_password; else NULL) as v, database k as dK; CREATE/ALTER ROLE,
 * CREATE DATABASE through SELECT format(...) WHERE NOT EXISTS \gexec,
 * ALTER DATABASE ... OWNER TO. HP_EINVALID when a value is refused.
 */
int hp_role_plan_sql(const struct hp_role_plan *p, const char *verifier,
		     struct hp_sql *s, struct hp_err *err);

/* Whether a role with login outside the inventory is one haprov knows:
 * a bootstrap role (superuser, replication, rewind) or PostgreSQL's own
 * (pg_*). */
bool hp_role_is_known(const struct hp_inventory *inv, const char *name);

/* Patroni's leader into *leader (NULL: none, allowed in plan only; else
 * HP_EVERIFY) and, from it, what PostgreSQL has into st (release it). */
int hp_secrets_read_state(struct hp_run *run, struct hp_rest *rest,
			  char **leader, struct hp_pg_state *st,
			  struct hp_err *err);

/* The store's secret for role into *out (hp_secret_free), or NULL when
 * the store has none. */
int hp_role_secret_read(const struct hp_run *run, const char *role,
			char **out, struct hp_err *err);

#endif
