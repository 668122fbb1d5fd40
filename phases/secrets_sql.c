/*
 * The secrets phase's SQL (secrets_priv.h): the read-only state script and
 * its parser, the decision for each inventory role, and the write script.
 *
 * psql's answer is remote text: every name and password comes hex-encoded
 * (a role name may hold '|' or a newline, which would fake a field or a
 * line), each row is checked, and nothing of it reaches an error message
 * but a line number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scram.h"
#include "secrets_priv.h"

#define NAME_MAX_BYTES 63 /* NAMEDATALEN - 1 */
/* the longest rolpassword kept: a SCRAM verifier fits, an MD5 hash too */
#define PW_MAX_BYTES (HP_SCRAM_VERIFIER_MAX - 1)
#define LINE_MAX_BYTES 4096

const char hp_secrets_state_sql[] =
	"SELECT 'R', encode(convert_to(rolname::text, 'UTF8'), 'hex'), "
	"CASE WHEN rolcanlogin THEN 't' ELSE 'f' END, "
	"encode(convert_to(coalesce(rolpassword, ''), 'UTF8'), 'hex') "
	"FROM pg_authid ORDER BY rolname;\n"
	"SELECT 'D', encode(convert_to(datname::text, 'UTF8'), 'hex'), "
	"encode(convert_to(pg_get_userbyid(datdba)::text, 'UTF8'), 'hex') "
	"FROM pg_database ORDER BY datname;\n"
	"SELECT 'E';\n";

void hp_pg_state_release(struct hp_pg_state *st)
{
	size_t i;

	for (i = 0; i < st->nr_roles; i++) {
		free(st->roles[i].name);
		if (st->roles[i].verifier) {
			explicit_bzero(st->roles[i].verifier,
				       strlen(st->roles[i].verifier));
			free(st->roles[i].verifier);
		}
	}
	for (i = 0; i < st->nr_dbs; i++) {
		free(st->dbs[i].name);
		free(st->dbs[i].owner);
	}
	free(st->roles);
	free(st->dbs);
	memset(st, 0, sizeof(*st));
}

const struct hp_pg_role *hp_pg_state_role(const struct hp_pg_state *st,
					  const char *name)
{
	size_t i;

	for (i = 0; i < st->nr_roles; i++)
		if (!strcmp(st->roles[i].name, name))
			return &st->roles[i];
	return NULL;
}

const struct hp_pg_db *hp_pg_state_db(const struct hp_pg_state *st,
				      const char *name)
{
	size_t i;

	for (i = 0; i < st->nr_dbs; i++)
		if (!strcmp(st->dbs[i].name, name))
			return &st->dbs[i];
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode lowercase hex s (len chars) into a new string of at most max
 * bytes, without NUL bytes; NULL otherwise. Empty gives "". */
static char *unhex(const char *s, size_t len, size_t max)
{
	char *out;
	size_t i;

	if (len % 2 || len / 2 > max)
		return NULL;
	out = xmalloc(len / 2 + 1);
	for (i = 0; i < len / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			free(out);
			return NULL;
		}
		out[i] = (char)(hi << 4 | lo);
	}
	out[len / 2] = '\0';
	return out;
}

/* Split line (NUL-terminated, no newline) at '|' into at most max fields;
 * returns how many (max + 1 when there are more). */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		char *bar = strchr(p, '|');

		if (n == max)
			return max + 1;
		f[n++] = p;
		if (!bar)
			return n;
		*bar = '\0';
		p = bar + 1;
	}
}

static int parse_role(struct hp_pg_state *st, char **f, size_t nf)
{
	struct hp_pg_role r;
	size_t pl;

	if (nf != 4 || (strcmp(f[2], "t") != 0 && strcmp(f[2], "f") != 0))
		return -1;
	memset(&r, 0, sizeof(r));
	r.name = unhex(f[1], strlen(f[1]), NAME_MAX_BYTES);
	if (!r.name || !*r.name || hp_pg_state_role(st, r.name)) {
		free(r.name);
		return -1;
	}
	r.login = f[2][0] == 't';
	pl = strlen(f[3]);
	r.has_password = pl > 0;
	if (pl && pl / 2 <= PW_MAX_BYTES) {
		r.verifier = unhex(f[3], pl, PW_MAX_BYTES);
		if (!r.verifier) {
			free(r.name);
			return -1;
		}
	} else if (pl % 2 || strspn(f[3], "0123456789abcdef") != pl) {
		free(r.name);
		return -1;
	}
	HP_ALLOC_GROW(st->roles, st->nr_roles + 1, st->alloc_roles);
	st->roles[st->nr_roles++] = r;
	return 0;
}

static int parse_db(struct hp_pg_state *st, char **f, size_t nf)
{
	struct hp_pg_db d;

	if (nf != 3)
		return -1;
	d.name = unhex(f[1], strlen(f[1]), NAME_MAX_BYTES);
	d.owner = unhex(f[2], strlen(f[2]), NAME_MAX_BYTES);
	if (!d.name || !*d.name || !d.owner || !*d.owner ||
	    hp_pg_state_db(st, d.name)) {
		free(d.name);
		free(d.owner);
		return -1;
	}
	HP_ALLOC_GROW(st->dbs, st->nr_dbs + 1, st->alloc_dbs);
	st->dbs[st->nr_dbs++] = d;
	return 0;
}

/* One line (a copy, which is changed); 1 for the end marker. */
static int parse_line(struct hp_pg_state *st, char *line)
{
	char *f[5];
	size_t nf = split(line, f, 4);

	if (!strcmp(f[0], "E") && nf == 1)
		return 1;
	if (!strcmp(f[0], "R") && st->nr_roles < HP_SECRETS_STATE_ROWS)
		return parse_role(st, f, nf);
	if (!strcmp(f[0], "D") && st->nr_dbs < HP_SECRETS_STATE_ROWS)
		return parse_db(st, f, nf);
	return -1;
}

int hp_pg_state_parse(const char *out, size_t len, struct hp_pg_state *st,
		      struct hp_err *err)
{
	const char *p = out, *end = out + len;
	size_t lineno = 0;
	bool done = false;

	memset(st, 0, sizeof(*st));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int r = -1;

		lineno++;
		if (n < LINE_MAX_BYTES && !memchr(p, '\0', n) && !done) {
			char *line = xstrndup(p, n);

			r = parse_line(st, line);
			explicit_bzero(line, n);
			free(line);
		}
		if (r < 0)
			return hp_err_set(err, HP_EREMOTE,
					  "unexpected answer from psql (roles "
					  "and databases), line %zu",
					  lineno);
		done = done || r == 1;
		p = nl ? nl + 1 : end;
	}
	if (!done)
		return hp_err_set(err, HP_EREMOTE,
				  "incomplete answer from psql (roles and "
				  "databases): no end marker");
	return 0;
}

char *hp_role_secret_name(const char *role)
{
	return xasprintf("role-%s", role);
}

void hp_role_plan_release(struct hp_role_plan *p)
{
	hp_strlist_clear(&p->create_dbs);
	hp_strlist_clear(&p->owner_dbs);
	memset(p, 0, sizeof(*p));
}

bool hp_role_plan_empty(const struct hp_role_plan *p)
{
	return !p->create && !p->set_login && !p->set_password &&
	       !p->generate && !p->create_dbs.nr && !p->owner_dbs.nr;
}

int hp_role_decide(const struct hp_secret_role *want,
		   const struct hp_pg_state *st, const char *secret,
		   const char *store, struct hp_role_plan *p,
		   struct hp_err *err)
{
	const struct hp_pg_role *have = hp_pg_state_role(st, want->name);
	size_t i;

	memset(p, 0, sizeof(*p));
	p->want = want;
	if (!secret && have && have->has_password)
		return hp_err_set(
			err, HP_EINVALID,
			"role %s has a password in PostgreSQL but the secret "
			"store %s has no secret role-%s: restore that file "
			"from a backup (haprov never replaces a password in "
			"use), or remove the role's password in PostgreSQL "
			"to have a new one generated",
			want->name, store, want->name);
	p->create = !have;
	p->generate = !secret;
	p->set_login = have && have->login != want->login;
	p->set_password = !secret || !have || !have->has_password ||
			  !hp_scram_matches(have->verifier, secret);
	for (i = 0; i < want->databases.nr; i++) {
		const char *db = want->databases.items[i];
		const struct hp_pg_db *d = hp_pg_state_db(st, db);

		if (!d)
			hp_strlist_add(&p->create_dbs, db);
		else if (strcmp(d->owner, want->name) != 0)
			hp_strlist_add(&p->owner_dbs, db);
	}
	return 0;
}

static void sep(struct hp_buf *out)
{
	if (out->len)
		hp_buf_adds(out, "; ");
}

void hp_role_plan_describe(const struct hp_role_plan *p,
			   const struct hp_pg_state *st, struct hp_buf *out)
{
	const char *name = p->want->name;
	size_t i;

	if (p->generate) {
		sep(out);
		hp_buf_addf(out, "generate secret role-%s in the store", name);
	}
	if (p->create) {
		sep(out);
		hp_buf_addf(out, "create role %s (%s)", name,
			    p->want->login ? "login" : "nologin");
	} else if (p->set_login) {
		sep(out);
		hp_buf_addf(out, "set %s of %s",
			    p->want->login ? "LOGIN" : "NOLOGIN", name);
	}
	if (p->set_password && !p->create) {
		sep(out);
		hp_buf_addf(out, "set password of %s", name);
	}
	for (i = 0; i < p->create_dbs.nr; i++) {
		sep(out);
		hp_buf_addf(out, "create database %s owner %s",
			    p->create_dbs.items[i], name);
	}
	for (i = 0; i < p->owner_dbs.nr; i++) {
		const struct hp_pg_db *d =
			hp_pg_state_db(st, p->owner_dbs.items[i]);
		char *o = hp_printable_dup(d ? d->owner : "?", 64);

		sep(out);
		hp_buf_addf(out, "set owner of database %s: %s -> %s",
			    p->owner_dbs.items[i], o, name);
		free(o);
	}
}

static int add_db_sql(struct hp_sql *s, const struct hp_role_plan *p,
		      size_t *k, struct hp_err *err)
{
	char var[24], sql[256];
	size_t i;

	for (i = 0; i < p->create_dbs.nr + p->owner_dbs.nr; i++, (*k)++) {
		bool create = i < p->create_dbs.nr;
		const char *db = create ? p->create_dbs.items[i]
					: p->owner_dbs.items[i - p->create_dbs.nr];

		int r;

		snprintf(var, sizeof(var), "d%zu", *k);
		if ((r = hp_sql_var(s, var, db, err)) < 0)
			return r;
		if (create)
			snprintf(sql, sizeof(sql),
				 "SELECT format('CREATE DATABASE %%I OWNER %%I',"
				 " :'%s', :'r') WHERE NOT EXISTS (SELECT 1 FROM"
				 " pg_database WHERE datname = :'%s') \\gexec",
				 var, var);
		else
			snprintf(sql, sizeof(sql),
				 "ALTER DATABASE :\"%s\" OWNER TO :\"r\";", var);
		hp_sql_add(s, sql);
	}
	return 0;
}

int hp_role_plan_sql(const struct hp_role_plan *p, const char *verifier,
		     struct hp_sql *s, struct hp_err *err)
{
	const char *login = p->want->login ? "LOGIN" : "NOLOGIN";
	char sql[128];
	size_t k = 0;
	int r;

	if ((r = hp_sql_var(s, "r", p->want->name, err)) < 0)
		return r;
	if (p->set_password) {
		if (!verifier)
			return hp_err_set(err, HP_EINVALID,
					  "internal: no verifier for %s",
					  p->want->name);
		if ((r = hp_sql_var(s, "v", verifier, err)) < 0)
			return r;
	}
	if (p->create) {
		snprintf(sql, sizeof(sql), "CREATE ROLE :\"r\" %s%s;", login,
			 p->set_password ? " PASSWORD :'v'" : "");
		hp_sql_add(s, sql);
	} else if (p->set_login) {
		snprintf(sql, sizeof(sql), "ALTER ROLE :\"r\" %s;", login);
		hp_sql_add(s, sql);
	}
	if (p->set_password && !p->create)
		hp_sql_add(s, "ALTER ROLE :\"r\" PASSWORD :'v';");
	return add_db_sql(s, p, &k, err);
}

bool hp_role_is_known(const struct hp_inventory *inv, const char *name)
{
	const struct hp_secrets *s = &inv->secrets;
	size_t i;

	if (!strncmp(name, "pg_", 3))
		return true;
	if ((s->superuser && !strcmp(name, s->superuser)) ||
	    (s->replication && !strcmp(name, s->replication)) ||
	    (s->rewind && !strcmp(name, s->rewind)))
		return true;
	/* PgBouncer's lookup role: the pgbouncer phase's */
	if (hp_inventory_count_role(inv, HP_ROLE_PGBOUNCER) &&
	    inv->pgbouncer.auth_user && !strcmp(name, inv->pgbouncer.auth_user))
		return true;
	for (i = 0; i < s->nr_roles; i++)
		if (!strcmp(name, s->roles[i].name))
			return true;
	return false;
}
