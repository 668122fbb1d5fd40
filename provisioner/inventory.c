/*
 * The inventory loader: a YAML document (libyaml's document API) walked
 * against one schema table, which also drives printing and freeing, so a
 * key added to the table is parsed, printed and freed with no other edit.
 *
 * Every problem becomes a diagnostic with file, line, column and key path;
 * the walk never stops at the first one, because an operator fixing a
 * 200-line inventory wants the whole list at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "inventory.h"
#include "inventory_priv.h"

/* An inventory is a few kilobytes; anything near this is a wrong file. */
#define HP_INV_MAX_FILE (16u << 20)
/* The password scan follows every node; aliases can nest deeper than
 * anything a person writes, so the scan stops here. */
#define HP_INV_MAX_DEPTH 64

/* ---- diagnostics --------------------------------------------------------- */

static void diags_add(struct hp_diags *d, int line, int col, const char *path,
		      bool warning, char *msg)
{
	struct hp_diag *g;

	HP_ALLOC_GROW(d->items, d->nr + 1, d->alloc);
	g = &d->items[d->nr++];
	g->line = line;
	g->col = col;
	g->key_path = xstrdup(path ? path : "");
	g->message = msg;
	g->warning = warning;
	if (!warning)
		d->nr_errors++;
}

void hp_inv_diag(struct hp_inv_loader *ld, int line, int col, const char *path,
		 bool warning, const char *fmt, ...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	diags_add(ld->diags, line, col, path, warning, hp_buf_detach(&b, NULL));
	if (!warning)
		ld->errors++;
}

void hp_diags_release(struct hp_diags *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr; i++) {
		free(d->items[i].key_path);
		free(d->items[i].message);
	}
	free(d->items);
	d->items = NULL;
	d->nr = d->alloc = d->nr_errors = 0;
}

void hp_diags_print(const struct hp_diags *d, const char *file, FILE *out)
{
	size_t i;

	for (i = 0; i < d->nr; i++) {
		const struct hp_diag *g = &d->items[i];
		struct hp_buf b = HP_BUF_INIT;

		/* One fputs a line: messages from parallel loads stay whole. */
		if (g->line > 0)
			hp_buf_addf(&b, "%s:%d:%d: ", file, g->line, g->col);
		if (g->key_path && *g->key_path)
			hp_buf_addf(&b, "%s: ", g->key_path);
		if (g->warning)
			hp_buf_adds(&b, "warning: ");
		hp_buf_addf(&b, "%s\n", g->message);
		fputs(b.buf, out);
		hp_buf_release(&b);
	}
}

/*
 * Stable sort by position, so the output reads top to bottom whatever
 * order the walk and the cross checks found things in. Few diagnostics:
 * insertion sort is stable and enough.
 */
static void diags_sort(struct hp_diags *d, size_t from)
{
	size_t i, j;

	for (i = from + 1; i < d->nr; i++) {
		struct hp_diag t = d->items[i];

		for (j = i; j > from; j--) {
			const struct hp_diag *p = &d->items[j - 1];

			if (p->line < t.line ||
			    (p->line == t.line && p->col <= t.col))
				break;
			d->items[j] = *p;
		}
		d->items[j] = t;
	}
}

const char *hp_inv_quote(struct hp_inv_quoted *q, const char *s)
{
	/* room for the closing '..."' and the NUL */
	const size_t cap = sizeof(q->s) - 5;
	size_t n = 0;

	q->s[n++] = '"';
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[5];
		size_t el = 1;

		e[0] = (char)c;
		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			el = 2;
		} else if (c == '\n' || c == '\t') {
			e[0] = '\\';
			e[1] = c == '\n' ? 'n' : 't';
			el = 2;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(e, sizeof(e), "\\x%02x", c);
			el = 4;
		}
		if (n + el > cap) {
			/* never cut a UTF-8 sequence in half */
			while (n > 1 &&
			       ((unsigned char)q->s[n - 1] & 0xc0) == 0x80)
				n--;
			if (n > 1 && ((unsigned char)q->s[n - 1] & 0x80))
				n--;
			memcpy(q->s + n, "...", 3);
			n += 3;
			break;
		}
		memcpy(q->s + n, e, el);
		n += el;
	}
	q->s[n++] = '"';
	q->s[n] = '\0';
	return q->s;
}

/* ---- marks --------------------------------------------------------------- */

/* FNV-1a over the first n bytes of path. */
static size_t path_hash(const char *path, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)path[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* The slot holding the mark for path[0..n), or the empty slot where it
 * would go. nr_slots must be non-zero. */
static size_t *mark_slot(const struct hp_inv_loader *ld, const char *path,
			 size_t n)
{
	size_t i = path_hash(path, n) & (ld->nr_slots - 1);

	for (;; i = (i + 1) & (ld->nr_slots - 1)) {
		const char *p;

		if (!ld->slots[i])
			return &ld->slots[i];
		p = ld->marks[ld->slots[i] - 1].path;
		if (!strncmp(p, path, n) && p[n] == '\0')
			return &ld->slots[i];
	}
}

static void marks_rehash(struct hp_inv_loader *ld)
{
	size_t i;

	free(ld->slots);
	ld->nr_slots = ld->nr_slots ? ld->nr_slots * 2 : 64;
	ld->slots = xcalloc(ld->nr_slots, sizeof(*ld->slots));
	for (i = 0; i < ld->nr_marks; i++) {
		const char *p = ld->marks[i].path;

		*mark_slot(ld, p, strlen(p)) = i + 1;
	}
}

struct hp_inv_mark *hp_inv_mark_set(struct hp_inv_loader *ld, const char *path,
				    int kline, int kcol, int vline, int vcol,
				    bool bad)
{
	struct hp_inv_mark *m;
	size_t *slot;

	if (2 * (ld->nr_marks + 1) >= ld->nr_slots)
		marks_rehash(ld);
	slot = mark_slot(ld, path, strlen(path));
	if (*slot) {
		m = &ld->marks[*slot - 1];
	} else {
		HP_ALLOC_GROW(ld->marks, ld->nr_marks + 1, ld->alloc_marks);
		m = &ld->marks[ld->nr_marks++];
		m->path = xstrdup(path);
		*slot = ld->nr_marks;
	}
	m->kline = kline;
	m->kcol = kcol;
	m->vline = vline;
	m->vcol = vcol;
	m->bad = bad;
	return m;
}

static const struct hp_inv_mark *mark_get_n(const struct hp_inv_loader *ld,
					    const char *path, size_t n)
{
	const size_t *slot;

	if (!ld->nr_slots)
		return NULL;
	slot = mark_slot(ld, path, n);
	return *slot ? &ld->marks[*slot - 1] : NULL;
}

const struct hp_inv_mark *hp_inv_mark_get(const struct hp_inv_loader *ld,
					  const char *path)
{
	return mark_get_n(ld, path, strlen(path));
}

bool hp_inv_was_set(const struct hp_inv_loader *ld, const char *path)
{
	const struct hp_inv_mark *m = hp_inv_mark_get(ld, path);

	return m && !m->bad;
}

bool hp_inv_is_bad(const struct hp_inv_loader *ld, const char *path)
{
	size_t n;

	/* path itself and each of its parents: "a", "a[1]", "a[1].b" */
	for (n = 0;; n++) {
		if (path[n] == '.' || path[n] == '[' || path[n] == '\0') {
			const struct hp_inv_mark *m = mark_get_n(ld, path, n);

			if (m && m->bad)
				return true;
		}
		if (!path[n])
			return false;
	}
}

/* ---- the schema ---------------------------------------------------------- */

enum ftype {
	T_INT,	   /* int, [min, max] */
	T_LLONG,   /* long long, [min, max] */
	T_BOOL,	   /* true/false, yes/no, on/off */
	T_STR,	   /* string checked by valid() */
	T_LPATH,   /* local path: ~/ and relative paths resolved */
	T_RPATH,   /* absolute path on the hosts */
	T_STRLIST, /* list of strings, each checked by valid() */
	T_KVLIST,  /* PostgreSQL parameters */
	T_ROLES,   /* list of host roles -> HP_ROLE_* bits */
	T_MAP,	   /* nested section at base + off */
	T_MAPLIST, /* list of sections, through list ops */
};

#define F_REQ	   1u /* must be present */
#define F_NULL	   2u /* an empty value means unset (NULL) */
#define F_PGVAL	   4u /* a PostgreSQL value: printed as written */
#define F_NONEMPTY 8u /* a list that needs at least one item */

struct section;

/* How to grow and read one list of structs (hosts, roles, databases). */
struct list_ops {
	void *(*push)(void *base, int line); /* a zeroed new item */
	size_t (*count)(const void *base);
	const void *(*citem)(const void *base, size_t i);
	void *(*item)(void *base, size_t i);
	void (*release)(void *base); /* free the array, items already freed */
	const char *noun;	     /* "host": "expected at least one host" */
};

struct field {
	const char *key;
	enum ftype type;
	unsigned flags;
	size_t off; /* of the value in the section's struct */
	long long min, max;
	bool (*valid)(const char *s);
	const char *what; /* what valid() accepts, for messages */
	const struct section *sub;
	const struct list_ops *list;
};

struct section {
	const struct field *fields;
	size_t nr;
};

#define SECTION(f)                                                             \
	{                                                                      \
		f, HP_ARRAY_SIZE(f)                                            \
	}

#define INT(k, st, m, lo, hi)                                                  \
	{                                                                      \
		.key = (k), .type = T_INT, .off = offsetof(st, m),             \
		.min = (lo), .max = (hi)                                       \
	}
#define LLONG(k, st, m, lo, hi)                                                \
	{                                                                      \
		.key = (k), .type = T_LLONG, .off = offsetof(st, m),           \
		.min = (lo), .max = (hi)                                       \
	}
#define BOOL(k, st, m)                                                         \
	{                                                                      \
		.key = (k), .type = T_BOOL, .off = offsetof(st, m)             \
	}
#define STR(k, st, m, fl, v, w)                                                \
	{                                                                      \
		.key = (k), .type = T_STR, .flags = (fl),                      \
		.off = offsetof(st, m), .valid = (v), .what = (w)              \
	}
#define LPATH(k, st, m, fl)                                                    \
	{                                                                      \
		.key = (k), .type = T_LPATH, .flags = (fl),                    \
		.off = offsetof(st, m)                                         \
	}
#define RPATH(k, st, m, fl)                                                    \
	{                                                                      \
		.key = (k), .type = T_RPATH, .flags = (fl),                    \
		.off = offsetof(st, m)                                         \
	}
#define STRLIST(k, st, m, fl, v, w)                                            \
	{                                                                      \
		.key = (k), .type = T_STRLIST, .flags = (fl),                  \
		.off = offsetof(st, m), .valid = (v), .what = (w)              \
	}
#define KVLIST(k, st, m)                                                       \
	{                                                                      \
		.key = (k), .type = T_KVLIST, .off = offsetof(st, m)           \
	}
#define MAP(k, st, m, fl, s)                                                   \
	{                                                                      \
		.key = (k), .type = T_MAP, .flags = (fl),                      \
		.off = offsetof(st, m), .sub = &(s)                            \
	}
#define MAPLIST(k, fl, s, l)                                                   \
	{                                                                      \
		.key = (k), .type = T_MAPLIST, .flags = (fl), .sub = &(s),     \
		.list = &(l)                                                   \
	}

#define PORT(k, st, m) INT(k, st, m, 1, 65535)

#define W_NAME                                                                 \
	"a name of lowercase letters, digits and '-' that starts "             \
	"with a letter (at most 63 characters)"
#define W_ROLE                                                                 \
	"a PostgreSQL role name (lowercase letters, digits and "               \
	"'_', not starting with a digit or pg_, at most 63 "                   \
	"characters)"
#define W_DB                                                                   \
	"a database name (lowercase letters, digits and '_', not "             \
	"starting with a digit, at most 63 characters)"
#define W_WALSIZE                                                              \
	"a PostgreSQL size of at least 32MB (a number of "                     \
	"megabytes, or a number with unit kB, MB, GB or TB)"

static const struct field cluster_fields[] = {
	STR("name", struct hp_inventory, cluster, F_REQ, hp_inv_valid_name,
	    W_NAME),
	LPATH("state_dir", struct hp_inventory, state_dir, 0),
};
static const struct section cluster_sec = SECTION(cluster_fields);

static const struct field ssh_fields[] = {
	STR("user", struct hp_ssh, user, 0, hp_inv_valid_user,
	    "a user name (lowercase letters, digits, '_' and '-')"),
	PORT("port", struct hp_ssh, port),
	LPATH("identity_file", struct hp_ssh, identity_file, F_NULL),
	LPATH("known_hosts", struct hp_ssh, known_hosts, 0),
	BOOL("sudo", struct hp_ssh, sudo),
	INT("connect_timeout_s", struct hp_ssh, connect_timeout_s, 1, 300),
	INT("command_timeout_s", struct hp_ssh, command_timeout_s, 1, 86400),
	INT("parallel", struct hp_ssh, parallel, 1, 256),
};
static const struct section ssh_sec = SECTION(ssh_fields);

static const struct field host_fields[] = {
	STR("name", struct hp_host, name, F_REQ, hp_inv_valid_name, W_NAME),
	STR("address", struct hp_host, address, F_REQ, hp_inv_valid_address,
	    "an IP address or a host name"),
	{.key = "roles",
	 .type = T_ROLES,
	 .flags = F_REQ | F_NONEMPTY,
	 .off = offsetof(struct hp_host, roles)},
};
static const struct section host_sec = SECTION(host_fields);

static const struct field etcd_fields[] = {
	PORT("client_port", struct hp_etcd, client_port),
	PORT("peer_port", struct hp_etcd, peer_port),
	STR("token", struct hp_etcd, token, 0, hp_inv_valid_token,
	    "a token of letters, digits, '.', '_' and '-'"),
	RPATH("data_dir", struct hp_etcd, data_dir, 0),
	INT("heartbeat_ms", struct hp_etcd, heartbeat_ms, 10, 5000),
	INT("election_ms", struct hp_etcd, election_ms, 50, 50000),
};
static const struct section etcd_sec = SECTION(etcd_fields);

static const struct field dcs_fields[] = {
	INT("ttl", struct hp_dcs, ttl, 5, 3600),
	INT("loop_wait", struct hp_dcs, loop_wait, 1, 3600),
	INT("retry_timeout", struct hp_dcs, retry_timeout, 1, 3600),
	LLONG("maximum_lag_on_failover", struct hp_dcs, maximum_lag_on_failover,
	      0, LLONG_MAX),
	BOOL("synchronous_mode", struct hp_dcs, synchronous_mode),
	BOOL("use_pg_rewind", struct hp_dcs, use_pg_rewind),
	BOOL("use_slots", struct hp_dcs, use_slots),
	KVLIST("parameters", struct hp_dcs, parameters),
};
static const struct section dcs_sec = SECTION(dcs_fields);

static const struct field patroni_fields[] = {
	STR("scope", struct hp_patroni, scope, 0, hp_inv_valid_scope,
	    "a scope of letters, digits, '.', '_' and '-' (at most 63 "
	    "characters)"),
	STR("namespace", struct hp_patroni, namespace_, 0,
	    hp_inv_valid_namespace,
	    "a DCS path that starts with '/' (for example /service/)"),
	PORT("restapi_port", struct hp_patroni, restapi_port),
	INT("pg_version", struct hp_patroni, pg_version, 13, 17),
	PORT("pg_port", struct hp_patroni, pg_port),
	RPATH("data_dir", struct hp_patroni, data_dir, 0),
	RPATH("bin_dir", struct hp_patroni, bin_dir, 0),
	KVLIST("parameters", struct hp_patroni, parameters),
	STRLIST("pg_hba", struct hp_patroni, pg_hba, 0, hp_inv_valid_hba_line,
		"a pg_hba.conf line (TYPE DATABASE USER [ADDRESS] METHOD, "
		"TYPE one of local, host, hostssl, hostnossl, hostgssenc, "
		"hostnogssenc)"),
	STRLIST("allowed_networks", struct hp_patroni, allowed_networks, 0,
		hp_inv_valid_network,
		"a network in CIDR notation (10.0.0.0/24, fd00::/64) or a "
		"host name"),
	MAP("dcs", struct hp_patroni, dcs, 0, dcs_sec),
};
static const struct section patroni_sec = SECTION(patroni_fields);

static const struct field check_fields[] = {
	INT("inter_ms", struct hp_haproxy_check, inter_ms, 100, 60000),
	INT("fall", struct hp_haproxy_check, fall, 1, 100),
	INT("rise", struct hp_haproxy_check, rise, 1, 100),
};
static const struct section check_sec = SECTION(check_fields);

static const struct field haproxy_fields[] = {
	PORT("primary_port", struct hp_haproxy, primary_port),
	PORT("replica_port", struct hp_haproxy, replica_port),
	PORT("stats_port", struct hp_haproxy, stats_port),
	INT("maxconn", struct hp_haproxy, maxconn, 1, 1000000),
	INT("server_maxconn", struct hp_haproxy, server_maxconn, 1, 1000000),
	MAP("check", struct hp_haproxy, check, 0, check_sec),
	INT("timeout_client_s", struct hp_haproxy, timeout_client_s, 1, 86400),
	INT("timeout_server_s", struct hp_haproxy, timeout_server_s, 1, 86400),
	INT("timeout_connect_s", struct hp_haproxy, timeout_connect_s, 1, 3600),
};
static const struct section haproxy_sec = SECTION(haproxy_fields);

static const struct field role_fields[] = {
	STR("name", struct hp_secret_role, name, F_REQ, hp_inv_valid_pg_role,
	    W_ROLE),
	STRLIST("databases", struct hp_secret_role, databases, 0,
		hp_inv_valid_pg_database, W_DB),
	BOOL("login", struct hp_secret_role, login),
};
static const struct section role_sec = SECTION(role_fields);

static void *push_role(void *base, int line)
{
	struct hp_secrets *s = base;
	struct hp_secret_role *r;

	(void)line;
	HP_ALLOC_GROW(s->roles, s->nr_roles + 1, s->alloc_roles);
	r = &s->roles[s->nr_roles++];
	memset(r, 0, sizeof(*r));
	return r;
}
static size_t count_roles(const void *base)
{
	return ((const struct hp_secrets *)base)->nr_roles;
}
static const void *citem_role(const void *base, size_t i)
{
	return &((const struct hp_secrets *)base)->roles[i];
}
static void *item_role(void *base, size_t i)
{
	return &((struct hp_secrets *)base)->roles[i];
}
static void release_roles(void *base)
{
	struct hp_secrets *s = base;

	free(s->roles);
	s->roles = NULL;
	s->nr_roles = s->alloc_roles = 0;
}
static const struct list_ops role_list = {push_role, count_roles,   citem_role,
					  item_role, release_roles, "role"};

static const struct field secrets_fields[] = {
	LPATH("store", struct hp_secrets, store, 0),
	STR("superuser", struct hp_secrets, superuser, 0, hp_inv_valid_pg_role,
	    W_ROLE),
	STR("replication", struct hp_secrets, replication, 0,
	    hp_inv_valid_pg_role, W_ROLE),
	STR("rewind", struct hp_secrets, rewind, 0, hp_inv_valid_pg_role,
	    W_ROLE),
	STR("restapi_user", struct hp_secrets, restapi_user, 0,
	    hp_inv_valid_pg_role, W_ROLE),
	INT("password_length", struct hp_secrets, password_length, 16, 128),
	MAPLIST("roles", 0, role_sec, role_list),
};
static const struct section secrets_sec = SECTION(secrets_fields);

static const struct field extdb_fields[] = {
	STR("name", struct hp_ext_db, name, F_REQ, hp_inv_valid_pg_database,
	    W_DB),
	STRLIST("extensions", struct hp_ext_db, extensions, F_REQ | F_NONEMPTY,
		hp_inv_valid_extension,
		"an extension name (lowercase letters, digits, '_' and '-')"),
};
static const struct section extdb_sec = SECTION(extdb_fields);

static void *push_extdb(void *base, int line)
{
	struct hp_extensions *e = base;
	struct hp_ext_db *d;

	(void)line;
	HP_ALLOC_GROW(e->databases, e->nr_databases + 1, e->alloc_databases);
	d = &e->databases[e->nr_databases++];
	memset(d, 0, sizeof(*d));
	return d;
}
static size_t count_extdbs(const void *base)
{
	return ((const struct hp_extensions *)base)->nr_databases;
}
static const void *citem_extdb(const void *base, size_t i)
{
	return &((const struct hp_extensions *)base)->databases[i];
}
static void *item_extdb(void *base, size_t i)
{
	return &((struct hp_extensions *)base)->databases[i];
}
static void release_extdbs(void *base)
{
	struct hp_extensions *e = base;

	free(e->databases);
	e->databases = NULL;
	e->nr_databases = e->alloc_databases = 0;
}
static const struct list_ops extdb_list = {push_extdb,	   count_extdbs,
					   citem_extdb,	   item_extdb,
					   release_extdbs, "database"};

static const struct field extensions_fields[] = {
	STRLIST("packages", struct hp_extensions, packages, 0,
		hp_inv_valid_apt_package,
		"a Debian package name (lowercase letters, digits, '+', '-' "
		"and '.')"),
	STRLIST("shared_preload_libraries", struct hp_extensions,
		shared_preload_libraries, 0, hp_inv_valid_library,
		"a library name (letters, digits, '_', '-', '.', '/' and '$')"),
	MAPLIST("databases", 0, extdb_sec, extdb_list),
};
static const struct section extensions_sec = SECTION(extensions_fields);

static const struct field tuning_fields[] = {
	STR("checkpoint_timeout", struct hp_tuning, checkpoint_timeout,
	    F_NULL | F_PGVAL, hp_inv_valid_checkpoint_timeout,
	    "a PostgreSQL time between 30s and 1d (a number of seconds, or a "
	    "number with unit s, min, h or d)"),
	STR("checkpoint_completion_target", struct hp_tuning,
	    checkpoint_completion_target, F_NULL | F_PGVAL,
	    hp_inv_valid_fraction, "a number between 0 and 1"),
	STR("max_wal_size", struct hp_tuning, max_wal_size, F_NULL | F_PGVAL,
	    hp_inv_valid_wal_size, W_WALSIZE),
	STR("min_wal_size", struct hp_tuning, min_wal_size, F_NULL | F_PGVAL,
	    hp_inv_valid_wal_size, W_WALSIZE),
	STR("wal_buffers", struct hp_tuning, wal_buffers, F_NULL | F_PGVAL,
	    hp_inv_valid_wal_buffers,
	    "-1 (automatic) or a PostgreSQL size between 32kB and 1GB (a "
	    "number of 8kB pages, or a number with unit kB, MB or GB)"),
	STR("wal_compression", struct hp_tuning, wal_compression,
	    F_NULL | F_PGVAL, hp_inv_valid_wal_compression,
	    "on, off, pglz, lz4 or zstd"),
	RPATH("wal_dir", struct hp_tuning, wal_dir, F_NULL),
	STR("wal_device", struct hp_tuning, wal_device, F_NULL,
	    hp_inv_valid_device, "a block device path under /dev/"),
};
static const struct section tuning_sec = SECTION(tuning_fields);

static const struct field validation_fields[] = {
	INT("timeout_s", struct hp_validation, timeout_s, 1, 3600),
	INT("soak_s", struct hp_validation, soak_s, 0, 3600),
	LLONG("max_lag_bytes", struct hp_validation, max_lag_bytes, 0,
	      LLONG_MAX),
};
static const struct section validation_sec = SECTION(validation_fields);

static void *push_host(void *base, int line)
{
	struct hp_inventory *inv = base;
	struct hp_host *h;

	HP_ALLOC_GROW(inv->hosts, inv->nr_hosts + 1, inv->alloc_hosts);
	h = &inv->hosts[inv->nr_hosts++];
	memset(h, 0, sizeof(*h));
	h->line = line;
	return h;
}
static size_t count_hosts(const void *base)
{
	return ((const struct hp_inventory *)base)->nr_hosts;
}
static const void *citem_host(const void *base, size_t i)
{
	return &((const struct hp_inventory *)base)->hosts[i];
}
static void *item_host(void *base, size_t i)
{
	return &((struct hp_inventory *)base)->hosts[i];
}
static void release_hosts(void *base)
{
	struct hp_inventory *inv = base;

	free(inv->hosts);
	inv->hosts = NULL;
	inv->nr_hosts = inv->alloc_hosts = 0;
}
static const struct list_ops host_list = {push_host, count_hosts,   citem_host,
					  item_host, release_hosts, "host"};

/* cluster: lives in the top struct itself (offset 0). */
static const struct field top_fields[] = {
	{.key = "cluster",
	 .type = T_MAP,
	 .flags = F_REQ,
	 .off = 0,
	 .sub = &cluster_sec},
	MAP("ssh", struct hp_inventory, ssh, 0, ssh_sec),
	MAPLIST("hosts", F_REQ | F_NONEMPTY, host_sec, host_list),
	MAP("etcd", struct hp_inventory, etcd, 0, etcd_sec),
	MAP("patroni", struct hp_inventory, patroni, 0, patroni_sec),
	MAP("haproxy", struct hp_inventory, haproxy, 0, haproxy_sec),
	MAP("secrets", struct hp_inventory, secrets, 0, secrets_sec),
	MAP("extensions", struct hp_inventory, extensions, 0, extensions_sec),
	MAP("tuning", struct hp_inventory, tuning, 0, tuning_sec),
	MAP("validation", struct hp_inventory, validation, 0, validation_sec),
};
static const struct section top_sec = SECTION(top_fields);

/* ---- YAML helpers -------------------------------------------------------- */

struct walk {
	struct hp_inv_loader *ld;
	yaml_document_t *doc;
};

static int mark_line(const yaml_mark_t *m)
{
	return m->line >= INT_MAX ? INT_MAX : (int)m->line + 1;
}

static int mark_col(const yaml_mark_t *m)
{
	return m->column >= INT_MAX ? INT_MAX : (int)m->column + 1;
}

static void diag_node(struct walk *w, const yaml_node_t *n, const char *path,
		      const char *fmt, ...) HP_PRINTF(4, 5);
static void diag_node(struct walk *w, const yaml_node_t *n, const char *path,
		      const char *fmt, ...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	hp_inv_diag(w->ld, mark_line(&n->start_mark), mark_col(&n->start_mark),
		    path, false, "%s", b.buf);
	hp_buf_release(&b);
}

static void mark_node(struct walk *w, const char *path, const yaml_node_t *k,
		      const yaml_node_t *v, bool bad)
{
	hp_inv_mark_set(w->ld, path, mark_line(&k->start_mark),
			mark_col(&k->start_mark), mark_line(&v->start_mark),
			mark_col(&v->start_mark), bad);
}

static yaml_node_t *node(struct walk *w, int id)
{
	return yaml_document_get_node(w->doc, id);
}

/* An empty value: "key:", "key: ~", "key: null". Quoted "" is a string. */
static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* The text of a non-empty scalar, or NULL. */
static const char *text(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* For "got ...": what a value is when it is not a usable scalar. */
static const char *got(struct hp_inv_quoted *q, const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (is_null(n))
		return "an empty value";
	return hp_inv_quote(q, (const char *)n->data.scalar.value);
}

static bool has_nul(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       strlen((const char *)n->data.scalar.value) !=
		       n->data.scalar.length;
}

static char *key_path(const char *parent, const char *key)
{
	return *parent ? xasprintf("%s.%s", parent, key) : xstrdup(key);
}

/* ---- typed values -------------------------------------------------------- */

/* Decimal only: "0x10" and "1e3" are not what an operator means by 16 or
 * 1000 in a port or a timeout, and YAML readers disagree about them. */
static bool parse_ll(const char *s, long long *out, bool *overflow)
{
	const char *p = s;
	char *end;

	*overflow = false;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno == ERANGE)
		*overflow = true;
	return true;
}

static bool get_integer(struct walk *w, const char *path, const yaml_node_t *v,
			long long min, long long max, long long *out)
{
	struct hp_inv_quoted q;
	const char *s = text(v);
	bool overflow;

	if (!s || !parse_ll(s, out, &overflow)) {
		diag_node(w, v, path, "expected an integer, got %s",
			  got(&q, v));
		return false;
	}
	if (!overflow && *out >= min && *out <= max)
		return true;
	if (max == LLONG_MAX)
		diag_node(w, v, path,
			  "expected an integer of at least %lld, "
			  "got %s",
			  min, s);
	else
		diag_node(w, v, path,
			  "expected an integer between %lld and "
			  "%lld, got %s",
			  min, max, s);
	return false;
}

/* YAML 1.1's words, which is what operators coming from Ansible write. */
static bool get_bool(struct walk *w, const char *path, const yaml_node_t *v,
		     bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	struct hp_inv_quoted q;
	const char *s = text(v);
	size_t i;

	for (i = 0; s && i < HP_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	diag_node(w, v, path,
		  "expected true or false (or yes/no, on/off), "
		  "got %s",
		  got(&q, v));
	return false;
}

/* A scalar's text; *out stays NULL for an allowed empty value (F_NULL). */
static bool get_string(struct walk *w, const struct field *f, const char *path,
		       const yaml_node_t *v, const char *what, const char **out)
{
	struct hp_inv_quoted q;

	*out = NULL;
	if ((f->flags & F_NULL) && is_null(v))
		return true;
	if (!text(v)) {
		/* a mapping or list is a shape error: name the shape */
		diag_node(w, v, path, "expected %s, got %s",
			  v->type == YAML_SCALAR_NODE ? what : "a string",
			  got(&q, v));
		return false;
	}
	if (has_nul(v)) {
		diag_node(w, v, path,
			  "expected %s, got a value with a NUL "
			  "character",
			  what);
		return false;
	}
	*out = (const char *)v->data.scalar.value;
	return true;
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* "~/x" is $HOME/x; a relative path is relative to the inventory. */
static bool get_local_path(struct walk *w, const struct field *f,
			   const char *path, const yaml_node_t *v, char **out)
{
	const char *s;

	if (!get_string(w, f, path, v, "a path", &s))
		return false;
	if (!s)
		return true;
	if (has_ctl(s)) {
		struct hp_inv_quoted q;

		diag_node(w, v, path, "expected a path, got %s",
			  hp_inv_quote(&q, s));
		return false;
	}
	if (s[0] == '~' && s[1] != '/' && s[1] != '\0') {
		diag_node(w, v, path,
			  "only ~/ is expanded (to $HOME), not "
			  "~user/; write the full path");
		return false;
	}
	if (s[0] == '~') {
		const char *home = getenv("HOME");

		if (!home || home[0] != '/') {
			diag_node(w, v, path,
				  "cannot expand ~: $HOME is not "
				  "an absolute path");
			return false;
		}
		*out = hp_inv_path_join(home, s[1] ? s + 2 : "");
		return true;
	}
	*out = hp_inv_path_join(w->ld->inv->dir, s);
	return true;
}

static bool get_remote_path(struct walk *w, const struct field *f,
			    const char *path, const yaml_node_t *v, char **out)
{
	struct hp_inv_quoted q;
	const char *s;

	if (!get_string(w, f, path, v, "an absolute path", &s))
		return false;
	if (!s)
		return true;
	if (s[0] != '/' || has_ctl(s)) {
		diag_node(w, v, path, "expected an absolute path, got %s",
			  hp_inv_quote(&q, s));
		return false;
	}
	*out = hp_inv_path_join("/", s);
	return true;
}

static bool get_checked_string(struct walk *w, const struct field *f,
			       const char *path, const yaml_node_t *v,
			       char **out)
{
	struct hp_inv_quoted q;
	const char *s;

	if (!get_string(w, f, path, v, f->what, &s))
		return false;
	if (!s)
		return true;
	if (!f->valid(s)) {
		diag_node(w, v, path, "expected %s, got %s", f->what,
			  hp_inv_quote(&q, s));
		return false;
	}
	*out = xstrdup(s);
	return true;
}

void hp_strlist_add(struct hp_strlist *l, const char *s)
{
	HP_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	l->items[l->nr++] = xstrdup(s);
}

bool hp_strlist_has(const struct hp_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (!strcmp(l->items[i], s))
			return true;
	return false;
}

void hp_strlist_clear(struct hp_strlist *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

static void kvlist_release(struct hp_kvlist *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

/*
 * Items keep their YAML index even when one is bad (an empty string
 * stands in), so "x[3]" in a later message is the fourth item the
 * operator wrote.
 */
static bool get_strlist(struct walk *w, const struct field *f, const char *path,
			const yaml_node_t *v, struct hp_strlist *l)
{
	struct hp_inv_quoted q;
	yaml_node_item_t *it;

	if (is_null(v))
		goto check_empty;
	if (v->type != YAML_SEQUENCE_NODE) {
		diag_node(w, v, path, "expected a list, got %s", got(&q, v));
		return false;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		const yaml_node_t *n = node(w, *it);
		char *ipath = xasprintf("%s[%zu]", path, l->nr);
		const char *s = text(n);
		bool good = false;

		if (!s || has_nul(n))
			diag_node(w, n, ipath, "expected %s, got %s",
				  n->type == YAML_SCALAR_NODE ? f->what
							      : "a string",
				  got(&q, n));
		else if (!f->valid(s))
			diag_node(w, n, ipath, "expected %s, got %s", f->what,
				  hp_inv_quote(&q, s));
		else
			good = true;
		hp_strlist_add(l, s ? s : "");
		mark_node(w, ipath, n, n, !good);
		free(ipath);
	}
check_empty:
	if ((f->flags & F_NONEMPTY) && !l->nr) {
		diag_node(w, v, path, "expected a list of at least one item");
		return false;
	}
	return true;
}

/* Index of the pair in map whose key text is key, before limit. */
static const yaml_node_pair_t *find_pair(struct walk *w, const yaml_node_t *map,
					 const char *key,
					 const yaml_node_pair_t *limit)
{
	const yaml_node_pair_t *p;

	for (p = map->data.mapping.pairs.start; p < limit; p++) {
		const yaml_node_t *k = node(w, p->key);

		if (k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return p;
	}
	return NULL;
}

/*
 * The key of a mapping pair, or NULL after a diagnostic (not a scalar,
 * or seen before in the same mapping). Password keys are NULL too: the
 * password scan already reported them.
 */
static const char *pair_key(struct walk *w, const yaml_node_t *map,
			    const yaml_node_pair_t *p, const char *path)
{
	const yaml_node_t *k = node(w, p->key);
	const yaml_node_pair_t *first;
	struct hp_inv_quoted q;
	const char *s;

	if (k->type != YAML_SCALAR_NODE || has_nul(k)) {
		diag_node(w, k, path, "expected a key name, got %s",
			  k->type == YAML_SCALAR_NODE ? "a key with a NUL "
							"character"
						      : got(&q, k));
		return NULL;
	}
	s = (const char *)k->data.scalar.value;
	if (hp_inv_is_password_key(s))
		return NULL;
	first = find_pair(w, map, s, p);
	if (first) {
		char *kp = key_path(path, s);

		diag_node(w, k, kp, "duplicate key (first at line %d)",
			  mark_line(&node(w, first->key)->start_mark));
		free(kp);
		return NULL;
	}
	return s;
}

static bool get_kvlist(struct walk *w, const char *path, const yaml_node_t *v,
		       struct hp_kvlist *l)
{
	struct hp_inv_quoted q;
	yaml_node_pair_t *p;

	if (is_null(v))
		return true;
	if (v->type != YAML_MAPPING_NODE) {
		diag_node(w, v, path,
			  "expected a mapping of PostgreSQL "
			  "parameters, got %s",
			  got(&q, v));
		return false;
	}
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = node(w, p->key),
				  *val = node(w, p->value);
		const char *key = pair_key(w, v, p, path), *s;
		bool good = false;
		char *kp;

		if (!key)
			continue;
		kp = key_path(path, key);
		s = text(val);
		if (!hp_inv_valid_guc_name(key))
			diag_node(w, k, kp,
				  "not a PostgreSQL parameter name "
				  "(lowercase letters, digits, '_' and '.')");
		else if (!s || has_nul(val))
			diag_node(w, val, kp,
				  "expected a single value (a "
				  "string, number or boolean), got %s",
				  got(&q, val));
		else if (strchr(s, '\n') || strchr(s, '\r'))
			diag_node(w, val, kp,
				  "a parameter value cannot span "
				  "lines");
		else
			good = true;
		if (good) {
			struct hp_kv *kv;

			HP_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
			kv = &l->items[l->nr++];
			kv->key = xstrdup(key);
			kv->value = xstrdup(s);
			kv->quoted = val->data.scalar.style !=
				     YAML_PLAIN_SCALAR_STYLE;
		}
		mark_node(w, kp, k, val, !good);
		free(kp);
	}
	return true;
}

/* Key closest to key among candidates, or NULL when none is close. */
static const char *suggest(const char *key, const char *const *cands, size_t nr)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, i, klen = strlen(key);
	char *low = xstrdup(key);

	for (i = 0; low[i]; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	for (i = 0; i < nr; i++) {
		size_t clen = strlen(cands[i]), d, limit;

		d = hp_edit_distance(low, cands[i]);
		/* "heartbeat" for "heartbeat_ms": a prefix is a fair guess */
		if (klen >= 4 && (!strncmp(low, cands[i], klen) ||
				  !strncmp(low, cands[i], clen)))
			d = d < 1 ? d : 1;
		limit = clen / 3 > 2 ? clen / 3 : 2;
		if (d <= limit && d < klen && d < best_d) {
			best = cands[i];
			best_d = d;
		}
	}
	free(low);
	return best;
}

static void unknown_key(struct walk *w, const struct section *sec,
			const char *path, const char *key, const yaml_node_t *k)
{
	const char *cands[32], *s;
	char *kp = key_path(path, key);
	size_t i, j;

	for (i = 0; i < sec->nr && i < HP_ARRAY_SIZE(cands); i++)
		cands[i] = sec->fields[i].key;
	s = suggest(key, cands, i);
	if (s) {
		diag_node(w, k, kp, "unknown key; did you mean \"%s\"?", s);
		goto out;
	}
	/* a key one level too high: "ttl" written under patroni */
	for (i = 0; i < sec->nr; i++) {
		const struct field *f = &sec->fields[i];

		if (f->type != T_MAP)
			continue;
		for (j = 0; j < f->sub->nr; j++) {
			if (strcmp(f->sub->fields[j].key, key) != 0)
				continue;
			diag_node(w, k, kp,
				  "unknown key here; it belongs "
				  "under %s%s%s",
				  path, *path ? "." : "", f->key);
			goto out;
		}
	}
	if (!strcmp(key, "<<"))
		diag_node(w, k, kp,
			  "unknown key (YAML merge keys are not "
			  "supported; repeat the keys)");
	else
		diag_node(w, k, kp, "unknown key");
out:
	free(kp);
}

static void walk_section(struct walk *w, const struct section *sec,
			 const char *path, const yaml_node_t *map,
			 const yaml_node_t *at, void *base);

static bool get_roles(struct walk *w, const char *path, const yaml_node_t *v,
		      unsigned *out)
{
	static const char *const names[] = {"etcd", "patroni", "haproxy"};
	static const unsigned bits[] = {HP_ROLE_ETCD, HP_ROLE_PATRONI,
					HP_ROLE_HAPROXY};
	struct hp_inv_quoted q;
	yaml_node_item_t *it;
	size_t idx = 0, i;
	bool ok = true;

	*out = 0;
	if (v->type != YAML_SEQUENCE_NODE && !is_null(v)) {
		diag_node(w, v, path,
			  "expected a list of roles (etcd, "
			  "patroni, haproxy), got %s",
			  got(&q, v));
		return false;
	}
	if (is_null(v) ||
	    v->data.sequence.items.start == v->data.sequence.items.top) {
		diag_node(w, v, path,
			  "expected at least one role: etcd, "
			  "patroni or haproxy");
		return false;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, idx++) {
		const yaml_node_t *n = node(w, *it);
		char *ipath = xasprintf("%s[%zu]", path, idx);
		const char *s = text(n), *sug;
		bool good = false;

		for (i = 0; s && i < HP_ARRAY_SIZE(names); i++)
			if (!strcmp(s, names[i]))
				break;
		if (!s) {
			diag_node(w, n, ipath,
				  "expected a role (etcd, "
				  "patroni or haproxy), got %s",
				  got(&q, n));
		} else if (i == HP_ARRAY_SIZE(names)) {
			sug = suggest(s, names, HP_ARRAY_SIZE(names));
			if (sug)
				diag_node(w, n, ipath,
					  "unknown role %s; did "
					  "you mean \"%s\"?",
					  hp_inv_quote(&q, s), sug);
			else
				diag_node(w, n, ipath,
					  "unknown role %s; "
					  "expected etcd, patroni or haproxy",
					  hp_inv_quote(&q, s));
		} else if (*out & bits[i]) {
			hp_inv_diag(w->ld, mark_line(&n->start_mark),
				    mark_col(&n->start_mark), ipath, true,
				    "role \"%s\" is listed twice", s);
			good = true;
		} else {
			*out |= bits[i];
			good = true;
		}
		mark_node(w, ipath, n, n, !good);
		ok = ok && good;
		free(ipath);
	}
	return ok;
}

static bool get_maplist(struct walk *w, const struct field *f, const char *path,
			const yaml_node_t *v, void *base)
{
	const yaml_node_item_t *it = NULL, *end = NULL;
	struct hp_inv_quoted q;
	size_t idx = 0;

	if (v->type != YAML_SEQUENCE_NODE && !is_null(v)) {
		diag_node(w, v, path, "expected a list, got %s", got(&q, v));
		return false;
	}
	if (v->type == YAML_SEQUENCE_NODE) {
		it = v->data.sequence.items.start;
		end = v->data.sequence.items.top;
	}
	for (; it < end; it++, idx++) {
		const yaml_node_t *n = node(w, *it);
		char *ipath = xasprintf("%s[%zu]", path, idx);
		void *e = f->list->push(base, mark_line(&n->start_mark));
		bool good = n->type == YAML_MAPPING_NODE;

		if (good)
			walk_section(w, f->sub, ipath, n, n, e);
		else
			diag_node(w, n, ipath, "expected a mapping, got %s",
				  got(&q, n));
		mark_node(w, ipath, n, n, !good);
		free(ipath);
	}
	if ((f->flags & F_NONEMPTY) && !idx) {
		diag_node(w, v, path, "expected at least one %s",
			  f->list->noun);
		return false;
	}
	return true;
}

static void walk_field(struct walk *w, const struct field *f, const char *path,
		       const yaml_node_t *k, const yaml_node_t *v, void *base)
{
	struct hp_inv_quoted q;
	char *p = (char *)base + f->off;
	long long n = 0;
	bool ok = false;

	/* mark first: a nested missing key must find its parent good */
	mark_node(w, path, k, v, false);
	switch (f->type) {
	case T_INT:
		ok = get_integer(w, path, v, f->min, f->max, &n);
		if (ok)
			*(int *)(void *)p = (int)n;
		break;
	case T_LLONG:
		ok = get_integer(w, path, v, f->min, f->max, &n);
		if (ok)
			*(long long *)(void *)p = n;
		break;
	case T_BOOL:
		ok = get_bool(w, path, v, (bool *)(void *)p);
		break;
	case T_STR:
		ok = get_checked_string(w, f, path, v, (char **)(void *)p);
		break;
	case T_LPATH:
		ok = get_local_path(w, f, path, v, (char **)(void *)p);
		break;
	case T_RPATH:
		ok = get_remote_path(w, f, path, v, (char **)(void *)p);
		break;
	case T_STRLIST:
		ok = get_strlist(w, f, path, v, (struct hp_strlist *)(void *)p);
		break;
	case T_KVLIST:
		ok = get_kvlist(w, path, v, (struct hp_kvlist *)(void *)p);
		break;
	case T_ROLES:
		ok = get_roles(w, path, v, (unsigned *)(void *)p);
		break;
	case T_MAP:
		ok = v->type == YAML_MAPPING_NODE || is_null(v);
		if (ok)
			walk_section(w, f->sub, path, v, is_null(v) ? k : v, p);
		else
			diag_node(w, v, path, "expected a mapping, got %s",
				  got(&q, v));
		break;
	case T_MAPLIST:
		ok = get_maplist(w, f, path, v, base);
		break;
	}
	/*
	 * Lists and maps return false only when unusable as a whole; a bad
	 * item has its own mark. Roles are the exception: a host with an
	 * unknown role cannot be counted, so the role checks must not run.
	 */
	if (!ok)
		mark_node(w, path, k, v, true);
}

/*
 * Walk one mapping (or an empty value, which reads as an empty mapping)
 * against sec. Unknown keys are refused with a suggestion; missing
 * required keys are reported at "at": the mapping, or the key of an empty
 * value (an empty value has no position of its own worth showing).
 */
static void walk_section(struct walk *w, const struct section *sec,
			 const char *path, const yaml_node_t *map,
			 const yaml_node_t *at, void *base)
{
	const yaml_node_pair_t *p = NULL, *end = NULL;
	uint32_t present = 0;
	size_t i;

	if (map->type == YAML_MAPPING_NODE) {
		p = map->data.mapping.pairs.start;
		end = map->data.mapping.pairs.top;
	}
	for (; p < end; p++) {
		const yaml_node_t *k = node(w, p->key);
		const char *key = pair_key(w, map, p, path);
		char *kp;

		if (!key)
			continue;
		for (i = 0; i < sec->nr; i++)
			if (!strcmp(sec->fields[i].key, key))
				break;
		if (i == sec->nr) {
			unknown_key(w, sec, path, key, k);
			continue;
		}
		present |= 1u << i;
		kp = key_path(path, key);
		walk_field(w, &sec->fields[i], kp, k, node(w, p->value), base);
		free(kp);
	}
	for (i = 0; i < sec->nr; i++) {
		char *kp;

		if (!(sec->fields[i].flags & F_REQ) || (present & (1u << i)))
			continue;
		kp = key_path(path, sec->fields[i].key);
		diag_node(w, at, path, "missing required key \"%s\"",
			  sec->fields[i].key);
		mark_node(w, kp, at, at, true);
		free(kp);
	}
}

/*
 * Passwords anywhere, even under unknown keys or inside values of the
 * wrong type: the inventory is committed and shared, so a secret in it
 * is worse than any other mistake. Each node is visited once (aliases
 * can make cycles).
 */
static void scan_passwords(struct walk *w, const yaml_node_t *n,
			   const char *path, int depth, unsigned char *seen)
{
	size_t idx = (size_t)(n - w->doc->nodes.start), i;

	if (seen[idx] || depth > HP_INV_MAX_DEPTH)
		return;
	seen[idx] = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (i = 0; n->data.sequence.items.start + i <
			    n->data.sequence.items.top;
		     i++) {
			char *ip = xasprintf("%s[%zu]", path, i);

			scan_passwords(w,
				       node(w, n->data.sequence.items.start[i]),
				       ip, depth + 1, seen);
			free(ip);
		}
		return;
	}
	if (n->type != YAML_MAPPING_NODE)
		return;
	for (i = 0; n->data.mapping.pairs.start + i < n->data.mapping.pairs.top;
	     i++) {
		const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
		const yaml_node_t *k = node(w, p->key);
		const char *s = text(k);
		char *kp = key_path(path, s ? s : "?");

		if (s && hp_inv_is_password_key(s))
			diag_node(w, k, kp,
				  "passwords do not belong in the "
				  "inventory; haprov keeps them in the secret "
				  "store (secrets.store)");
		scan_passwords(w, node(w, p->value), kp, depth + 1, seen);
		free(kp);
	}
}

/* ---- printing ------------------------------------------------------------ */

static bool plain_safe(const char *s)
{
	const char *p;

	if (!*s || !strcmp(s, "-"))
		return false;
	for (p = s; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("_./+-", c)))
			return false;
	}
	return true;
}

/* Would another YAML reader see a number, a boolean or null? */
static bool looks_typed(const char *s)
{
	static const char *const words[] = {
		"true", "false", "yes", "no",	"on",	 "off", "y",
		"n",	"null",	 "~",	".inf", "-.inf", ".nan"};
	const char *p = s;
	bool digit = false, dot = false;
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(words); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	if (*p == '+' || *p == '-')
		p++;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p == '.' && !dot)
			dot = true;
		else if (*p != '_')
			return false;
	}
	return digit;
}

static void print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void print_scalar(FILE *out, const char *s, bool as_written)
{
	if (!s)
		fputs("null", out);
	else if (plain_safe(s) && (as_written || !looks_typed(s)))
		fputs(s, out);
	else
		print_quoted(out, s);
}

/* "[a, b]" reads better than a block for short lists of plain words. */
static bool flow_fits(const struct hp_strlist *l, size_t col)
{
	size_t i;

	col += 2;
	for (i = 0; i < l->nr; i++) {
		if (!plain_safe(l->items[i]) || looks_typed(l->items[i]))
			return false;
		col += strlen(l->items[i]) + 2;
	}
	return col <= 80;
}

static void print_section(FILE *out, const struct section *sec,
			  const void *base, int indent, bool dash);

static void print_field(FILE *out, const struct field *f, const void *base,
			int indent)
{
	static const char *const role_names[] = {"etcd", "patroni", "haproxy"};
	const char *p = (const char *)base + f->off;
	const struct hp_strlist *sl;
	const struct hp_kvlist *kl;
	unsigned roles;
	size_t i, n;
	const char *sep = "";

	fprintf(out, "%s:", f->key);
	switch (f->type) {
	case T_INT:
		fprintf(out, " %d\n", *(const int *)(const void *)p);
		break;
	case T_LLONG:
		fprintf(out, " %lld\n", *(const long long *)(const void *)p);
		break;
	case T_BOOL:
		fputs(*(const bool *)(const void *)p ? " true\n" : " false\n",
		      out);
		break;
	case T_STR:
	case T_LPATH:
	case T_RPATH:
		fputc(' ', out);
		print_scalar(out, *(char *const *)(const void *)p,
			     (f->flags & F_PGVAL) != 0);
		fputc('\n', out);
		break;
	case T_STRLIST:
		sl = (const void *)p;
		if (!sl->nr) {
			fputs(" []\n", out);
			break;
		}
		if (flow_fits(sl, indent + strlen(f->key) + 2)) {
			fputs(" [", out);
			for (i = 0; i < sl->nr; i++)
				fprintf(out, "%s%s", i ? ", " : "",
					sl->items[i]);
			fputs("]\n", out);
			break;
		}
		fputc('\n', out);
		for (i = 0; i < sl->nr; i++) {
			fprintf(out, "%*s- ", indent + 2, "");
			print_scalar(out, sl->items[i], false);
			fputc('\n', out);
		}
		break;
	case T_KVLIST:
		kl = (const void *)p;
		if (!kl->nr) {
			fputs(" {}\n", out);
			break;
		}
		fputc('\n', out);
		for (i = 0; i < kl->nr; i++) {
			fprintf(out, "%*s%s: ", indent + 2, "",
				kl->items[i].key);
			if (kl->items[i].quoted)
				print_quoted(out, kl->items[i].value);
			else
				print_scalar(out, kl->items[i].value, true);
			fputc('\n', out);
		}
		break;
	case T_ROLES:
		roles = *(const unsigned *)(const void *)p;
		fputs(" [", out);
		for (i = 0; i < HP_ARRAY_SIZE(role_names); i++) {
			if (!(roles & (1u << i)))
				continue;
			fprintf(out, "%s%s", sep, role_names[i]);
			sep = ", ";
		}
		fputs("]\n", out);
		break;
	case T_MAP:
		fputc('\n', out);
		print_section(out, f->sub, p, indent + 2, false);
		break;
	case T_MAPLIST:
		n = f->list->count(base);
		if (!n) {
			fputs(" []\n", out);
			break;
		}
		fputc('\n', out);
		for (i = 0; i < n; i++)
			print_section(out, f->sub, f->list->citem(base, i),
				      indent + 4, true);
		break;
	}
}

/* dash: the first key goes after "- " (a list item), two columns left. */
static void print_section(FILE *out, const struct section *sec,
			  const void *base, int indent, bool dash)
{
	size_t i;

	for (i = 0; i < sec->nr; i++) {
		if (i == 0 && dash)
			fprintf(out, "%*s- ", indent - 2, "");
		else
			fprintf(out, "%*s", indent, "");
		print_field(out, &sec->fields[i], base, indent);
	}
}

void hp_inventory_print(const struct hp_inventory *inv, FILE *out)
{
	fprintf(out,
		"# haprov: the effective inventory of cluster %s: every "
		"key, defaults applied\n",
		inv->cluster ? inv->cluster : "?");
	print_section(out, &top_sec, inv, 0, false);
}

/* ---- freeing ------------------------------------------------------------- */

static void free_section(const struct section *sec, void *base)
{
	size_t i, j, n;

	for (i = 0; i < sec->nr; i++) {
		const struct field *f = &sec->fields[i];
		char *p = (char *)base + f->off;

		switch (f->type) {
		case T_STR:
		case T_LPATH:
		case T_RPATH:
			free(*(char **)(void *)p);
			*(char **)(void *)p = NULL;
			break;
		case T_STRLIST:
			hp_strlist_clear((struct hp_strlist *)(void *)p);
			break;
		case T_KVLIST:
			kvlist_release((struct hp_kvlist *)(void *)p);
			break;
		case T_MAP:
			free_section(f->sub, p);
			break;
		case T_MAPLIST:
			n = f->list->count(base);
			for (j = 0; j < n; j++)
				free_section(f->sub, f->list->item(base, j));
			f->list->release(base);
			break;
		case T_INT:
		case T_LLONG:
		case T_BOOL:
		case T_ROLES:
			break;
		}
	}
}

void hp_inventory_free(struct hp_inventory *inv)
{
	if (!inv)
		return;
	free_section(&top_sec, inv);
	free(inv->path);
	free(inv->dir);
	free(inv);
}

/* ---- loading ------------------------------------------------------------- */

/* The absolute directory of path, lexically normalised. */
static char *abs_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d, *res;

	if (!slash)
		d = xstrdup(".");
	else if (slash == path)
		d = xstrdup("/");
	else
		d = xstrndup(path, (size_t)(slash - path));
	if (d[0] == '/') {
		res = hp_inv_path_join("/", d);
	} else {
		char *cwd = getcwd(NULL, 0);

		res = hp_inv_path_join(cwd && cwd[0] == '/' ? cwd : "/", d);
		free(cwd);
	}
	free(d);
	return res;
}

static void loader_release(struct hp_inv_loader *ld)
{
	size_t i;

	for (i = 0; i < ld->nr_marks; i++)
		free(ld->marks[i].path);
	free(ld->marks);
	free(ld->slots);
	ld->marks = NULL;
	ld->slots = NULL;
	ld->nr_marks = ld->alloc_marks = ld->nr_slots = 0;
}

/* libyaml's own words, at its own position. */
static void yaml_error(struct hp_inv_loader *ld, const yaml_parser_t *parser,
		       const char *yaml, size_t len)
{
	struct hp_buf b = HP_BUF_INIT;
	int line = 1, col = 1;

	if (parser->error == YAML_MEMORY_ERROR)
		hp_die_oom();
	if (parser->error == YAML_READER_ERROR) {
		size_t i;

		/* the reader reports a byte offset, not a mark; columns
		 * count characters, as libyaml's marks do */
		for (i = 0; i < parser->problem_offset && i < len; i++) {
			if (yaml[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)yaml[i] & 0xc0) != 0x80) {
				col++;
			}
		}
	} else {
		line = mark_line(&parser->problem_mark);
		col = mark_col(&parser->problem_mark);
	}
	hp_buf_addf(&b, "yaml: %s",
		    parser->problem ? parser->problem : "syntax error");
	if (parser->error == YAML_READER_ERROR && parser->problem_value != -1)
		hp_buf_addf(&b, " (byte 0x%02x)",
			    (unsigned)parser->problem_value & 0xffu);
	if (parser->context)
		hp_buf_addf(&b, " (%s at line %d, column %d)", parser->context,
			    mark_line(&parser->context_mark),
			    mark_col(&parser->context_mark));
	hp_inv_diag(ld, line, col, NULL, false, "%s", b.buf);
	hp_buf_release(&b);
}

int hp_inventory_load_string(struct hp_inventory **out, const char *yaml,
			     size_t len, const char *path,
			     struct hp_diags *diags)
{
	struct hp_inv_loader ld;
	struct hp_inventory *inv = NULL;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	bool have_doc = false;
	const yaml_node_t *root, *next;
	unsigned char *seen = NULL;
	struct walk w;
	int r;

	*out = NULL;
	if (!path)
		path = "inventory.yml";
	memset(&ld, 0, sizeof(ld));
	ld.diags = diags;
	ld.first_diag = diags->nr;
	w.ld = &ld;
	w.doc = &doc;
	if (!yaml_parser_initialize(&parser))
		hp_die_oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_error(&ld, &parser, yaml, len);
		goto out;
	}
	have_doc = true;
	root = yaml_document_get_root_node(&doc);
	if (!root || is_null(root)) {
		hp_inv_diag(&ld, 1, 1, NULL, false, "inventory is empty");
		goto out;
	}
	/* a second document would be silently ignored: say so instead */
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_error(&ld, &parser, yaml, len);
	} else {
		next = yaml_document_get_root_node(&extra);
		if (next)
			hp_inv_diag(&ld, mark_line(&extra.start_mark),
				    mark_col(&extra.start_mark), NULL, false,
				    "a second YAML document starts here; the "
				    "inventory must be one document");
		yaml_document_delete(&extra);
	}
	if (root->type != YAML_MAPPING_NODE) {
		struct hp_inv_quoted q;

		diag_node(&w, root, "",
			  "the inventory must be a mapping of "
			  "sections (cluster:, hosts:, ...), got %s",
			  got(&q, root));
		goto out;
	}
	inv = xcalloc(1, sizeof(*inv));
	inv->path = xstrdup(path);
	inv->dir = abs_dir(path);
	ld.inv = inv;
	ld.root_line = mark_line(&root->start_mark);
	ld.root_col = mark_col(&root->start_mark);
	seen = xcalloc((size_t)(doc.nodes.top - doc.nodes.start), 1);
	scan_passwords(&w, root, "", 0, seen);
	walk_section(&w, &top_sec, "", root, root, inv);
	hp_inventory_apply_defaults(inv, &ld);
	hp_inv_cross_check(inv, &ld);
out:
	diags_sort(diags, ld.first_diag);
	if (ld.errors) {
		hp_inventory_free(inv);
		r = HP_EINVALID;
	} else {
		*out = inv;
		r = 0;
	}
	loader_release(&ld);
	free(seen);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return r;
}

int hp_inventory_load(struct hp_inventory **out, const char *path,
		      struct hp_diags *diags)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	int r;

	*out = NULL;
	hp_err_clear(&err);
	hp_buf_init(&b, HP_INV_MAX_FILE);
	r = hp_buf_read_file(&b, path, &err);
	if (r < 0) {
		diags_add(diags, 0, 0, NULL, false, xstrdup(err.msg));
		goto out;
	}
	r = hp_inventory_load_string(out, b.buf, b.len, path, diags);
out:
	hp_buf_release(&b);
	return r;
}

/* ---- lookups ------------------------------------------------------------- */

const struct hp_host *hp_inventory_host(const struct hp_inventory *inv,
					const char *name)
{
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++)
		if (inv->hosts[i].name && !strcmp(inv->hosts[i].name, name))
			return &inv->hosts[i];
	return NULL;
}

size_t hp_inventory_count_role(const struct hp_inventory *inv, unsigned role)
{
	size_t i, n = 0;

	for (i = 0; i < inv->nr_hosts; i++)
		if (inv->hosts[i].roles & role)
			n++;
	return n;
}

const char *hp_kvlist_get(const struct hp_kvlist *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (!strcmp(l->items[i].key, key))
			return l->items[i].value;
	return NULL;
}
