/*
 * The schema: one table of every key the inventory takes, its type, range,
 * syntax check and place in struct hp_inventory. The walk (inventory.c),
 * printing and freeing (inventory_print.c) are all driven by it, so a key
 * added here is parsed, printed and freed with no other edit.
 */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "inventory_priv.h"

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
#define OWNED_RPATH(k, st, m, fl, eg)                                          \
	{                                                                      \
		.key = (k), .type = T_RPATH, .flags = (fl) | F_OWNED,          \
		.off = offsetof(st, m), .what = (eg)                           \
	}
#define CHECKED_STRLIST(k, st, m, fl, c, w)                                    \
	{                                                                      \
		.key = (k), .type = T_STRLIST, .flags = (fl),                  \
		.off = offsetof(st, m), .check = (c), .what = (w)              \
	}
#define CHECKED_STR(k, st, m, fl, c, w)                                        \
	{                                                                      \
		.key = (k), .type = T_STR, .flags = (fl),                      \
		.off = offsetof(st, m), .check = (c), .what = (w)              \
	}
#define MAPLIST(k, fl, s, l)                                                   \
	{                                                                      \
		.key = (k), .type = T_MAPLIST, .flags = (fl), .sub = &(s),     \
		.list = &(l)                                                   \
	}

#define PORT(k, st, m)                                                         \
	{                                                                      \
		.key = (k), .type = T_INT, .flags = F_PORT,                    \
		.off = offsetof(st, m), .min = 1, .max = 65535                 \
	}

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

static const struct hp_inv_field cluster_fields[] = {
	STR("name", struct hp_inventory, cluster, F_REQ, hp_inv_valid_name,
	    W_NAME),
	STR("environment", struct hp_inventory, environment, 0,
	    hp_inv_valid_environment, "production, staging, test or lab"),
	LPATH("state_dir", struct hp_inventory, state_dir, 0),
};
static const struct hp_inv_section cluster_sec = SECTION(cluster_fields);

static const struct hp_inv_field ssh_fields[] = {
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
static const struct hp_inv_section ssh_sec = SECTION(ssh_fields);

static const struct hp_inv_field host_fields[] = {
	STR("name", struct hp_host, name, F_REQ, hp_inv_valid_name, W_NAME),
	STR("address", struct hp_host, address, F_REQ, hp_inv_valid_address,
	    "an IP address or a host name"),
	{.key = "roles",
	 .type = T_ROLES,
	 .flags = F_REQ | F_NONEMPTY,
	 .off = offsetof(struct hp_host, roles)},
	BOOL("remove", struct hp_host, remove),
	LPATH("tls_cert", struct hp_host, tls_cert, F_NULL),
	LPATH("tls_key", struct hp_host, tls_key, F_NULL),
};
static const struct hp_inv_section host_sec = SECTION(host_fields);

static const struct hp_inv_field etcd_fields[] = {
	PORT("client_port", struct hp_etcd, client_port),
	PORT("peer_port", struct hp_etcd, peer_port),
	STR("token", struct hp_etcd, token, 0, hp_inv_valid_token,
	    "a token of letters, digits, '.', '_' and '-'"),
	OWNED_RPATH("data_dir", struct hp_etcd, data_dir, 0,
		    "/var/lib/etcd/main"),
	INT("heartbeat_ms", struct hp_etcd, heartbeat_ms, 10, 5000),
	INT("election_ms", struct hp_etcd, election_ms, 50, 50000),
};
static const struct hp_inv_section etcd_sec = SECTION(etcd_fields);

static const struct hp_inv_field dcs_fields[] = {
	STR("preset", struct hp_dcs, preset, 0, hp_inv_valid_preset,
	    "default or fast"),
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
static const struct hp_inv_section dcs_sec = SECTION(dcs_fields);

static const struct hp_inv_field patroni_fields[] = {
	STR("scope", struct hp_patroni, scope, 0, hp_inv_valid_scope,
	    "a scope of letters, digits, '.', '_' and '-' (at most 63 "
	    "characters)"),
	STR("namespace", struct hp_patroni, namespace_, 0,
	    hp_inv_valid_namespace,
	    "a DCS path that starts with '/' (for example /service/)"),
	PORT("restapi_port", struct hp_patroni, restapi_port),
	INT("pg_version", struct hp_patroni, pg_version, 13, 17),
	PORT("pg_port", struct hp_patroni, pg_port),
	OWNED_RPATH("data_dir", struct hp_patroni, data_dir, 0,
		    "/var/lib/postgresql/15/main"),
	RPATH("bin_dir", struct hp_patroni, bin_dir, 0),
	KVLIST("parameters", struct hp_patroni, parameters),
	CHECKED_STRLIST(
		"pg_hba", struct hp_patroni, pg_hba, 0, hp_inv_check_hba_line,
		"a pg_hba.conf line (TYPE DATABASE USER [ADDRESS] METHOD, "
		"TYPE one of local, host, hostssl, hostnossl, hostgssenc, "
		"hostnogssenc)"),
	CHECKED_STRLIST(
		"allowed_networks", struct hp_patroni, allowed_networks, 0,
		hp_inv_check_network,
		"a network in CIDR notation (10.0.0.0/24, fd00::/64) or a "
		"host name"),
	MAP("dcs", struct hp_patroni, dcs, 0, dcs_sec),
};
static const struct hp_inv_section patroni_sec = SECTION(patroni_fields);

static const struct hp_inv_field check_fields[] = {
	INT("inter_ms", struct hp_haproxy_check, inter_ms, 100, 60000),
	INT("fall", struct hp_haproxy_check, fall, 1, 100),
	INT("rise", struct hp_haproxy_check, rise, 1, 100),
};
static const struct hp_inv_section check_sec = SECTION(check_fields);

static const struct hp_inv_field haproxy_fields[] = {
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
static const struct hp_inv_section haproxy_sec = SECTION(haproxy_fields);

/* vip: the cross checks (inventory_vip.c) say which keys a vip host needs */
static const struct hp_inv_field vip_fields[] = {
	CHECKED_STR("address", struct hp_vip, address, F_NULL,
		    hp_inv_check_vip_address,
		    "an IPv4 address with its prefix length, like "
		    "10.0.0.100/24"),
	CHECKED_STR("interface", struct hp_vip, interface, F_NULL,
		    hp_inv_check_interface,
		    "a network interface name (letters, digits, '.', '_' and "
		    "'-', at most 15 characters)"),
	/* 0: unset (what --print shows without a vip) */
	INT("router_id", struct hp_vip, router_id, 0, 255),
	INT("advert_int_s", struct hp_vip, advert_int_s, 1, 255),
};
static const struct hp_inv_section vip_sec = SECTION(vip_fields);

static const struct hp_inv_field pgbouncer_fields[] = {
	PORT("port", struct hp_pgbouncer, port),
	STR("pool_mode", struct hp_pgbouncer, pool_mode, 0,
	    hp_inv_valid_pool_mode, "session, transaction or statement"),
	INT("default_pool_size", struct hp_pgbouncer, default_pool_size, 1,
	    10000),
	INT("max_client_conn", struct hp_pgbouncer, max_client_conn, 1,
	    1000000),
	STR("auth_user", struct hp_pgbouncer, auth_user, 0,
	    hp_inv_valid_pg_role, W_ROLE),
};
static const struct hp_inv_section pgbouncer_sec = SECTION(pgbouncer_fields);

static const struct hp_inv_field role_fields[] = {
	STR("name", struct hp_secret_role, name, F_REQ, hp_inv_valid_pg_role,
	    W_ROLE),
	STRLIST("databases", struct hp_secret_role, databases, 0,
		hp_inv_valid_pg_database, W_DB),
	BOOL("login", struct hp_secret_role, login),
};
static const struct hp_inv_section role_sec = SECTION(role_fields);

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
static const struct hp_inv_list_ops role_list = {
	push_role, count_roles, citem_role, item_role, release_roles, "role"};

/* secrets.tls: a supplied CA (else haprov generates one) and lifetimes.
 * A CA longer than 100 years is a typing mistake, not a policy. */
static const struct hp_inv_field secrets_tls_fields[] = {
	LPATH("ca_cert", struct hp_secrets_tls, ca_cert, F_NULL),
	LPATH("ca_key", struct hp_secrets_tls, ca_key, F_NULL),
	INT("renew_days", struct hp_secrets_tls, renew_days, 1, 3650),
	INT("validity_days", struct hp_secrets_tls, validity_days, 1, 3650),
	INT("ca_validity_days", struct hp_secrets_tls, ca_validity_days, 1,
	    36500),
};
static const struct hp_inv_section secrets_tls_sec =
	SECTION(secrets_tls_fields);

static const struct hp_inv_field secrets_fields[] = {
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
	MAP("tls", struct hp_secrets, tls, 0, secrets_tls_sec),
};
static const struct hp_inv_section secrets_sec = SECTION(secrets_fields);

#define W_EXT                                                                  \
	"an extension name (lowercase letters, digits, '_' and '-', not "      \
	"starting with a digit or '-', at most 63 characters)"
#define W_EXTVER                                                               \
	"an extension version (1 to 32 printable ASCII characters, no "       \
	"backslash)"

/* What ALTER EXTENSION ... UPDATE TO takes, as haprov sends it: a psql
 * variable, so printable ASCII that hp_sql_literal accepts (no
 * backslash); 32 characters is more than any extension's versions use. */
static bool valid_ext_version(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 32)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e || s[i] == '\\')
			return false;
	return true;
}

static const struct hp_inv_field ext_fields[] = {
	STR("name", struct hp_ext, name, F_REQ, hp_inv_valid_extension, W_EXT),
	STR("version", struct hp_ext, version, F_NULL, valid_ext_version,
	    W_EXTVER),
};
static const struct hp_inv_section ext_sec = SECTION(ext_fields);

static void *push_ext(void *base, int line)
{
	struct hp_ext_db *d = base;
	struct hp_ext *x;

	(void)line;
	HP_ALLOC_GROW(d->extensions, d->nr_extensions + 1,
		      d->alloc_extensions);
	x = &d->extensions[d->nr_extensions++];
	memset(x, 0, sizeof(*x));
	return x;
}
static size_t count_exts(const void *base)
{
	return ((const struct hp_ext_db *)base)->nr_extensions;
}
static const void *citem_ext(const void *base, size_t i)
{
	return &((const struct hp_ext_db *)base)->extensions[i];
}
static void *item_ext(void *base, size_t i)
{
	return &((struct hp_ext_db *)base)->extensions[i];
}
static void release_exts(void *base)
{
	struct hp_ext_db *d = base;

	free(d->extensions);
	d->extensions = NULL;
	d->nr_extensions = d->alloc_extensions = 0;
}
static const struct hp_inv_list_ops ext_list = {
	push_ext, count_exts, citem_ext, item_ext, release_exts, "extension"};

/* extensions: an item is a name or {name, version}; a database may list
 * only absent ones (inventory_check.c wants one of the two). */
static const struct hp_inv_field extdb_fields[] = {
	STR("name", struct hp_ext_db, name, F_REQ, hp_inv_valid_pg_database,
	    W_DB),
	MAPLIST("extensions", F_SCALAR, ext_sec, ext_list),
	STRLIST("absent", struct hp_ext_db, absent, 0, hp_inv_valid_extension,
		W_EXT),
};
static const struct hp_inv_section extdb_sec = SECTION(extdb_fields);

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
static const struct hp_inv_list_ops extdb_list = {push_extdb,	  count_extdbs,
						  citem_extdb,	  item_extdb,
						  release_extdbs, "database"};

static const struct hp_inv_field extensions_fields[] = {
	STRLIST("packages", struct hp_extensions, packages, 0,
		hp_inv_valid_apt_package,
		"a Debian package name (lowercase letters, digits, '+', '-' "
		"and '.')"),
	STRLIST("shared_preload_libraries", struct hp_extensions,
		shared_preload_libraries, 0, hp_inv_valid_library,
		"a library name (letters, digits, '_', '-', '.', '/' and '$')"),
	MAPLIST("databases", 0, extdb_sec, extdb_list),
};
static const struct hp_inv_section extensions_sec = SECTION(extensions_fields);

static const struct hp_inv_field tuning_fields[] = {
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
	OWNED_RPATH("wal_dir", struct hp_tuning, wal_dir, F_NULL,
		    "/srv/pg_wal/15"),
	STR("wal_device", struct hp_tuning, wal_device, F_NULL,
	    hp_inv_valid_device, "a block device path under /dev/"),
};
static const struct hp_inv_section tuning_sec = SECTION(tuning_fields);

static const struct hp_inv_field validation_fields[] = {
	INT("timeout_s", struct hp_validation, timeout_s, 1, 3600),
	INT("soak_s", struct hp_validation, soak_s, 0, 3600),
	LLONG("max_lag_bytes", struct hp_validation, max_lag_bytes, 0,
	      LLONG_MAX),
};
static const struct hp_inv_section validation_sec = SECTION(validation_fields);

static const struct hp_inv_field backups_fields[] = {
	INT("keep", struct hp_backups, keep, 1, 1000),
};
static const struct hp_inv_section backups_sec = SECTION(backups_fields);

#define W_DRILL "a shell command template with {host} and {address}"

/* drill: both or neither (inventory_drill.c); empty means not set. */
static const struct hp_inv_field drill_fields[] = {
	CHECKED_STR("crash_command", struct hp_drill_conf, crash_command,
		    F_NULL, hp_inv_check_drill_command, W_DRILL),
	CHECKED_STR("boot_command", struct hp_drill_conf, boot_command, F_NULL,
		    hp_inv_check_drill_command, W_DRILL),
};
static const struct hp_inv_section drill_sec = SECTION(drill_fields);

/* tls: a mapping, or a boolean standing for {enabled: BOOL} (F_SCALAR). */
static const struct hp_inv_field tls_fields[] = {
	BOOL("enabled", struct hp_tls_conf, enabled),
	BOOL("insecure_skip_verify", struct hp_tls_conf, insecure_skip_verify),
};
static const struct hp_inv_section tls_sec = SECTION(tls_fields);

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
static const struct hp_inv_list_ops host_list = {
	push_host, count_hosts, citem_host, item_host, release_hosts, "host"};

/* cluster: lives in the top struct itself (offset 0). */
static const struct hp_inv_field top_fields[] = {
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
	MAP("vip", struct hp_inventory, vip, 0, vip_sec),
	MAP("pgbouncer", struct hp_inventory, pgbouncer, 0, pgbouncer_sec),
	MAP("secrets", struct hp_inventory, secrets, 0, secrets_sec),
	MAP("tls", struct hp_inventory, tls, F_SCALAR, tls_sec),
	MAP("extensions", struct hp_inventory, extensions, 0, extensions_sec),
	MAP("tuning", struct hp_inventory, tuning, 0, tuning_sec),
	MAP("validation", struct hp_inventory, validation, 0, validation_sec),
	MAP("backups", struct hp_inventory, backups, 0, backups_sec),
	MAP("drill", struct hp_inventory, drill, 0, drill_sec),
};
const struct hp_inv_section hp_inv_top_sec = SECTION(top_fields);

static void schema_keys(const struct hp_inv_section *sec, const char *prefix,
			struct hp_strlist *keys, struct hp_strlist *ports)
{
	size_t i;

	for (i = 0; i < sec->nr; i++) {
		const struct hp_inv_field *f = &sec->fields[i];
		char *p = *prefix ? xasprintf("%s.%s", prefix, f->key)
				  : xstrdup(f->key);

		hp_strlist_add(keys, p);
		if (ports && (f->flags & F_PORT))
			hp_strlist_add(ports, p);
		if (f->type == T_MAP) {
			schema_keys(f->sub, p, keys, ports);
		} else if (f->type == T_MAPLIST) {
			char *lp = xasprintf("%s[]", p);

			schema_keys(f->sub, lp, keys, ports);
			free(lp);
		}
		free(p);
	}
}

void hp_inv_schema_keys(struct hp_strlist *keys, struct hp_strlist *ports)
{
	schema_keys(&hp_inv_top_sec, "", keys, ports);
}
