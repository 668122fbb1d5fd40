/*
 * The extensions phase's SQL and decisions (the phase itself is in
 * extensions.c): the read-only scripts that ask a member what a database
 * has, the parsers of psql's answers (remote text: capped, checked,
 * printable), the decision of what to create, update and drop, and the
 * script that does it. Every name and version travels as a psql
 * variable; the SQL text is fixed.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"

void hp_ext_state_release(struct hp_ext_state *st)
{
	free(st->installed);
	free(st->available);
	memset(st, 0, sizeof(*st));
}

void hp_ext_plan_release(struct hp_ext_plan *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* "\set <prefix><i> 'value'" */
static int set_var(struct hp_sql *s, char prefix, size_t i, const char *value,
		   struct hp_err *err)
{
	char name[32];

	(void)snprintf(name, sizeof(name), "%c%zu", prefix, i);
	return hp_sql_var(s, name, value, err);
}

/* "(:'n0', :'n1')" for n variables named prefix0..; n > 0 */
static void var_list(struct hp_buf *b, char prefix, size_t n)
{
	size_t i;

	hp_buf_addch(b, '(');
	for (i = 0; i < n; i++)
		hp_buf_addf(b, "%s:'%c%zu'", i ? ", " : "", prefix, i);
	hp_buf_addch(b, ')');
}

int hp_ext_dbs_sql(struct hp_sql *s, const struct hp_extensions *e,
		   struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i;

	if (!e->nr_databases)
		return 0;
	for (i = 0; i < e->nr_databases; i++) {
		int r = set_var(s, 'd', i, e->databases[i].name, err);

		if (r < 0)
			return r;
	}
	hp_buf_adds(&b, "SELECT 'D', datname FROM pg_database WHERE datname IN ");
	var_list(&b, 'd', e->nr_databases);
	hp_buf_adds(&b, ";");
	hp_sql_add(s, b.buf);
	hp_buf_release(&b);
	return 0;
}

int hp_ext_state_sql(struct hp_sql *s, const struct hp_ext_db *d,
		     struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i, n = d->nr_extensions;

	hp_sql_add(s, "SELECT 'E', extname, extversion FROM pg_extension "
		      "ORDER BY extname;");
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		int r = set_var(s, 'n', i, d->extensions[i].name, err);

		if (r < 0)
			return r;
	}
	hp_buf_adds(&b, "SELECT 'A', name, version FROM "
			"pg_available_extension_versions WHERE name IN ");
	var_list(&b, 'n', n);
	hp_buf_adds(&b, " ORDER BY name, version;");
	hp_sql_add(s, b.buf);
	hp_buf_release(&b);
	return 0;
}

/* The next line of *p (without "\n"); false at the end. */
static bool next_line(const char **p, const char **line, size_t *len)
{
	const char *nl;

	if (!**p)
		return false;
	*line = *p;
	nl = strchr(*p, '\n');
	*len = nl ? (size_t)(nl - *p) : strlen(*p);
	*p = nl ? nl + 1 : *p + *len;
	return true;
}

static int bad_line(const char *line, size_t len, const char *why,
		    struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;

	hp_buf_add_printable(&b, line, len, 80);
	hp_err_set(err, HP_EREMOTE,
		   "psql answered a line haprov does not read (%s): '%s'", why,
		   b.buf);
	hp_buf_release(&b);
	return HP_EREMOTE;
}

/* Field [f, f + n) into out (size max + 1): 1 to max bytes of printable
 * ASCII (space included) that is not '|'. */
static bool take_field(const char *f, size_t n, char *out, size_t max)
{
	size_t i;

	if (n < 1 || n > max)
		return false;
	for (i = 0; i < n; i++)
		if (f[i] < 0x20 || f[i] > 0x7e || f[i] == '|')
			return false;
	memcpy(out, f, n);
	out[n] = '\0';
	return true;
}

/* "T|name|version" into row; *kind gets T. */
static bool split_row(const char *line, size_t len, char *kind,
		      struct hp_ext_row *row)
{
	const char *a, *b;

	if (len < 5 || line[1] != '|')
		return false;
	*kind = line[0];
	a = line + 2;
	b = memchr(a, '|', len - 2);
	if (!b)
		return false;
	return take_field(a, (size_t)(b - a), row->name, HP_EXT_NAME_MAX) &&
	       take_field(b + 1, len - (size_t)(b + 1 - line), row->version,
			  HP_EXT_VERSION_MAX);
}

int hp_ext_state_parse(const char *out, struct hp_ext_state *st,
		       struct hp_err *err)
{
	const char *p = out ? out : "", *line;
	struct hp_ext_row row;
	size_t len;
	char kind = 0;

	memset(st, 0, sizeof(*st));
	while (next_line(&p, &line, &len)) {
		if (!len)
			continue;
		if (st->nr_installed + st->nr_available >= HP_EXT_ROWS_MAX) {
			hp_ext_state_release(st);
			return hp_err_set(err, HP_EREMOTE,
					  "psql answered more than %d "
					  "extension lines",
					  HP_EXT_ROWS_MAX);
		}
		if (!split_row(line, len, &kind, &row) ||
		    (kind != 'E' && kind != 'A')) {
			hp_ext_state_release(st);
			return bad_line(line, len,
					"not E|name|version nor A|name|version",
					err);
		}
		if (kind == 'E') {
			HP_ALLOC_GROW(st->installed, st->nr_installed + 1,
				      st->alloc_installed);
			st->installed[st->nr_installed++] = row;
		} else {
			HP_ALLOC_GROW(st->available, st->nr_available + 1,
				      st->alloc_available);
			st->available[st->nr_available++] = row;
		}
	}
	return 0;
}

int hp_ext_dbs_parse(const char *out, const struct hp_extensions *e,
		     bool *exists, struct hp_err *err)
{
	const char *p = out ? out : "", *line;
	size_t len, i;

	for (i = 0; i < e->nr_databases; i++)
		exists[i] = false;
	while (next_line(&p, &line, &len)) {
		bool known = false;

		if (!len)
			continue;
		for (i = 0; i < e->nr_databases && !known; i++) {
			const char *n = e->databases[i].name;

			if (len == strlen(n) + 2 && !memcmp(line, "D|", 2) &&
			    !memcmp(line + 2, n, len - 2))
				known = exists[i] = true;
		}
		if (!known)
			return bad_line(line, len,
					"not D| and a database of the inventory",
					err);
	}
	return 0;
}

static const struct hp_ext_row *find_row(const struct hp_ext_row *v, size_t n,
					 const char *name, const char *version)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, name) &&
		    (!version || !strcmp(v[i].version, version)))
			return &v[i];
	return NULL;
}

static void add_action(struct hp_ext_plan *p, enum hp_ext_op op,
		       const char *name, const char *version, const char *have)
{
	struct hp_ext_action *a;

	HP_ALLOC_GROW(p->v, p->nr + 1, p->alloc);
	a = &p->v[p->nr++];
	a->op = op;
	a->name = name;
	a->version = version;
	a->have = have;
}

/* x can be created (at its version) on the member st came from. */
static int check_available(const char *db, const struct hp_ext *x,
			   const struct hp_ext_state *st, struct hp_err *err)
{
	if (!find_row(st->available, st->nr_available, x->name, NULL))
		return hp_err_set(err, HP_EINVALID,
				  "extension %s (database %s) is not available "
				  "on the leader: no installed package provides "
				  "it; add its package to extensions.packages",
				  x->name, db);
	if (x->version && !find_row(st->available, st->nr_available, x->name,
				    x->version))
		return hp_err_set(err, HP_EINVALID,
				  "extension %s (database %s): version %s is not "
				  "available on the leader",
				  x->name, db, x->version);
	return 0;
}

int hp_ext_decide(const struct hp_ext_db *d, const struct hp_ext_state *st,
		  bool check, struct hp_ext_plan *out, struct hp_err *err)
{
	const struct hp_ext_row *have;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < d->nr_extensions; i++) {
		const struct hp_ext *x = &d->extensions[i];

		have = find_row(st->installed, st->nr_installed, x->name, NULL);
		if (have && (!x->version || !strcmp(have->version, x->version)))
			continue;
		if (check && (r = check_available(d->name, x, st, err)) < 0) {
			hp_ext_plan_release(out);
			return r;
		}
		if (have)
			add_action(out, HP_EXT_UPDATE, x->name, x->version,
				   have->version);
		else
			add_action(out, HP_EXT_CREATE, x->name, x->version,
				   NULL);
	}
	for (i = 0; i < d->absent.nr; i++) {
		have = find_row(st->installed, st->nr_installed,
				d->absent.items[i], NULL);
		if (have)
			add_action(out, HP_EXT_DROP, have->name, NULL,
				   have->version);
	}
	for (i = 0; i < st->nr_installed; i++) {
		const char *n = st->installed[i].name;
		bool known = !strcmp(n, "plpgsql") ||
			     hp_strlist_has(&d->absent, n);
		size_t j;

		for (j = 0; j < d->nr_extensions && !known; j++)
			known = !strcmp(d->extensions[j].name, n);
		if (!known)
			add_action(out, HP_EXT_LEFT, n, NULL,
				   st->installed[i].version);
	}
	return 0;
}

void hp_ext_describe(const struct hp_ext_action *a, const char *db,
		     struct hp_buf *out)
{
	switch (a->op) {
	case HP_EXT_CREATE:
		hp_buf_addf(out, "create %s", a->name);
		if (a->version)
			hp_buf_addf(out, " version %s", a->version);
		hp_buf_addf(out, " in database %s", db);
		break;
	case HP_EXT_UPDATE:
		hp_buf_addf(out, "update %s %s -> %s in database %s", a->name,
			    a->have, a->version, db);
		break;
	case HP_EXT_DROP:
		hp_buf_addf(out, "drop %s (version %s) from database %s",
			    a->name, a->have, db);
		break;
	case HP_EXT_LEFT:
		hp_buf_addf(out,
			    "%s (version %s) in database %s: not in the "
			    "inventory: left alone",
			    a->name, a->have, db);
		break;
	}
}

size_t hp_ext_plan_changes(const struct hp_ext_plan *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->nr; i++)
		n += p->v[i].op != HP_EXT_LEFT;
	return n;
}

/*
 * One transaction: a database has all of its changes or none. DROP
 * without CASCADE (RESTRICT, PostgreSQL's default): an object that
 * depends on the extension makes PostgreSQL refuse, and psql's error
 * says which.
 */
int hp_ext_change_sql(struct hp_sql *s, const struct hp_ext_plan *p,
		      struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i;
	int r = 0;

	hp_sql_add(s, "BEGIN;");
	for (i = 0; i < p->nr && r == 0; i++) {
		const struct hp_ext_action *a = &p->v[i];

		if (a->op == HP_EXT_LEFT)
			continue;
		if ((r = set_var(s, 'e', i, a->name, err)) < 0)
			break;
		if (a->version && (r = set_var(s, 'v', i, a->version, err)) < 0)
			break;
		hp_buf_reset(&b);
		if (a->op == HP_EXT_CREATE)
			hp_buf_addf(&b, "CREATE EXTENSION IF NOT EXISTS :\"e%zu\"%s",
				    i, a->version ? " VERSION " : "");
		else if (a->op == HP_EXT_UPDATE)
			hp_buf_addf(&b, "ALTER EXTENSION :\"e%zu\" UPDATE TO ", i);
		else
			hp_buf_addf(&b, "DROP EXTENSION :\"e%zu\"", i);
		if (a->version && a->op != HP_EXT_DROP)
			hp_buf_addf(&b, ":'v%zu'", i);
		hp_buf_adds(&b, ";");
		hp_sql_add(s, b.buf);
	}
	hp_sql_add(s, "COMMIT;");
	hp_buf_release(&b);
	return r;
}

/* Each ',' separated item, spaces and double quotes around it taken off,
 * compared with lib. show is remote text; only compared, never kept. */
bool hp_ext_preload_has(const char *show, const char *lib)
{
	const char *p = show ? show : "";
	size_t n = strlen(lib);

	while (*p) {
		const char *end = p + strcspn(p, ",\n");
		const char *a = p, *z = end;

		while (a < z && (*a == ' ' || *a == '"'))
			a++;
		while (z > a && (z[-1] == ' ' || z[-1] == '"' || z[-1] == '\r'))
			z--;
		if ((size_t)(z - a) == n && !memcmp(a, lib, n))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

bool hp_ext_state_ok(const struct hp_ext_db *d, const struct hp_ext_state *st,
		     struct hp_buf *why)
{
	size_t i;

	for (i = 0; i < d->nr_extensions; i++) {
		const struct hp_ext *x = &d->extensions[i];
		const struct hp_ext_row *have = find_row(
			st->installed, st->nr_installed, x->name, NULL);

		if (!have) {
			hp_buf_addf(why, "database %s: extension %s is missing",
				    d->name, x->name);
			return false;
		}
		if (x->version && strcmp(have->version, x->version) != 0) {
			hp_buf_addf(why,
				    "database %s: extension %s is at version "
				    "%s, not %s",
				    d->name, x->name, have->version, x->version);
			return false;
		}
	}
	for (i = 0; i < d->absent.nr; i++)
		if (find_row(st->installed, st->nr_installed,
			     d->absent.items[i], NULL)) {
			hp_buf_addf(why,
				    "database %s: extension %s is still there "
				    "(absent in the inventory)",
				    d->name, d->absent.items[i]);
			return false;
		}
	return true;
}

/* "X/Y", each 1 to 8 hexadecimal digits, as pg_lsn prints it. */
bool hp_ext_lsn_ok(const char *s, size_t len)
{
	size_t i, digits = 0, slashes = 0;

	if (len < 3 || len > 17)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] == '/') {
			if (!digits || ++slashes > 1)
				return false;
			digits = 0;
		} else if ((s[i] >= '0' && s[i] <= '9') ||
			   (s[i] >= 'A' && s[i] <= 'F')) {
			if (++digits > 8)
				return false;
		} else {
			return false;
		}
	}
	return slashes == 1 && digits > 0;
}
