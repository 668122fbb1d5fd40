#ifndef HP_INVENTORY_H
#define HP_INVENTORY_H
/*
 * The inventory: a YAML file describing one cluster, parsed with libyaml
 * into the typed structs below, validated, and completed with defaults in
 * one place (hp_inventory_apply_defaults). The reference of every key is in
 * README.md ("Inventory reference"); keep the two in step.
 *
 * Ownership: hp_inventory_load() returns an inventory the caller frees with
 * hp_inventory_free(); every string inside belongs to it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

enum hp_role {
	HP_ROLE_ETCD = 1u << 0,
	HP_ROLE_PATRONI = 1u << 1,
	HP_ROLE_HAPROXY = 1u << 2,
	/* keepalived holding the virtual IP, on a haproxy host */
	HP_ROLE_VIP = 1u << 3,
	/* PgBouncer in front of PostgreSQL, on a patroni host */
	HP_ROLE_PGBOUNCER = 1u << 4,
};

/* An ordered string -> scalar map (PostgreSQL parameters). Values are kept
 * as the text the operator wrote ("on", "4GB", "0.9"). */
struct hp_kv {
	char *key;
	char *value;
	bool quoted; /* the YAML scalar was quoted, i.e. meant as a string */
};
struct hp_kvlist {
	struct hp_kv *items;
	size_t nr, alloc;
};

struct hp_strlist {
	char **items;
	size_t nr, alloc;
};
/* Append a copy of s; whether s is in l; free every item and empty l. */
void hp_strlist_add(struct hp_strlist *l, const char *s);
bool hp_strlist_has(const struct hp_strlist *l, const char *s);
void hp_strlist_clear(struct hp_strlist *l);

struct hp_host {
	char *name;     /* unique, [a-z0-9-], used as etcd and Patroni name */
	char *address;  /* IPv4/IPv6 literal or DNS name, unique */
	unsigned roles; /* HP_ROLE_* bits; 0 for a host to remove */
	int line;       /* where the host was declared, for messages */
	/* remove: true: the host leaves the cluster (apply --allow-remove).
	 * Its roles as written are kept in removed_roles and roles is 0, so
	 * every list of members (etcd's, Patroni's, HAProxy's servers) is
	 * built without it; haprov still connects to it to stop its
	 * services. */
	bool remove;
	unsigned removed_roles;
	/* tls_cert / tls_key: a certificate and key supplied for this host
	 * (PEM files, absolute after load); NULL: haprov issues one with the
	 * cluster CA. Both or neither. */
	char *tls_cert, *tls_key;
};

struct hp_ssh {
	char *user;          /* default "root" */
	int port;            /* default 22 */
	char *identity_file; /* absolute after load (relative = to inventory dir);
				NULL: ssh-agent */
	char *known_hosts;   /* absolute after load; default ~/.ssh/known_hosts */
	bool sudo;           /* default: true when user != root */
	int connect_timeout_s; /* default 10 */
	int command_timeout_s; /* default 600 */
	int parallel;          /* default 10 */
};

struct hp_etcd {
	int client_port;   /* 2379 */
	int peer_port;     /* 2380 */
	char *token;       /* initial cluster token; default "<cluster>-etcd" */
	char *data_dir;    /* /var/lib/etcd/<cluster> */
	int heartbeat_ms;  /* 100 */
	int election_ms;   /* 1000 */
};

/* Patroni's dynamic configuration, stored in the DCS (PATCH /config). */
struct hp_dcs {
	/* "default" or "fast": a named set of values for ttl, loop_wait,
	 * retry_timeout and haproxy.check (inventory_preset.c) that fills
	 * the keys the operator did not write; a written key wins. Not
	 * Patroni's: it never reaches the DCS. */
	char *preset;                     /* "default" */
	int ttl;                          /* 30 */
	int loop_wait;                    /* 10 */
	int retry_timeout;                /* 10 */
	long long maximum_lag_on_failover; /* 1048576 */
	bool synchronous_mode;            /* false */
	bool use_pg_rewind;               /* true */
	bool use_slots;                   /* true */
	struct hp_kvlist parameters;      /* postgresql.parameters in the DCS */
};

struct hp_patroni {
	char *scope;         /* default: cluster name */
	char *namespace_;    /* "/service/" */
	int restapi_port;    /* 8008 */
	int pg_version;      /* 15 */
	int pg_port;         /* 5432 */
	char *data_dir;      /* /var/lib/postgresql/<ver>/main */
	char *bin_dir;       /* /usr/lib/postgresql/<ver>/bin */
	struct hp_kvlist parameters; /* local postgresql.parameters */
	struct hp_strlist pg_hba;    /* extra lines, appended after haprov's */
	struct hp_strlist allowed_networks; /* CIDRs that may connect; default:
					       the hosts' /32 (or /128) */
	struct hp_dcs dcs;
};

struct hp_haproxy_check {
	int inter_ms; /* 1000 */
	int fall;     /* 2 */
	int rise;     /* 1 */
};

struct hp_haproxy {
	int primary_port; /* 5000 */
	int replica_port; /* 5001 */
	int stats_port;   /* 8404 */
	int maxconn;      /* 1000 */
	int server_maxconn; /* 100 */
	struct hp_haproxy_check check;
	int timeout_client_s; /* 1800 */
	int timeout_server_s; /* 1800 */
	int timeout_connect_s; /* 4 */
};

/* vip: one virtual IPv4 address in front of the haproxy hosts, held by
 * keepalived (VRRP) on the hosts with role vip; set when any host has
 * the role, and only then. */
struct hp_vip {
	char *address;	 /* "10.213.0.100/24": the address and its prefix */
	char *interface; /* the hosts' interface on that network */
	int router_id;	 /* VRRP virtual router id, 1..255; unique on the
			    network */
	int advert_int_s; /* VRRP advertisement interval, 1 */
};

/* pgbouncer: a connection pooler on each host with role pgbouncer (a
 * patroni host), in front of its PostgreSQL; HAProxy's servers then go to
 * its port. Clients log in with their own roles' passwords: PgBouncer
 * asks PostgreSQL for them (auth_query) as auth_user. */
struct hp_pgbouncer {
	int port;		/* 6432 */
	char *pool_mode;	/* session, transaction (default), statement */
	int default_pool_size;	/* 20: server connections per database and
				   role */
	int max_client_conn;	/* 1000 */
	char *auth_user;	/* "pgbouncer": the role auth_query runs as */
};

struct hp_secret_role {
	char *name;                  /* PostgreSQL role, created by phase 4 */
	struct hp_strlist databases; /* databases it owns */
	bool login;                  /* true */
};

struct hp_secrets {
	char *store;  /* local secret store directory; default
			 "<inventory dir>/.haprov/<cluster>.secrets" (0700) */
	char *superuser;   /* "postgres" */
	char *replication; /* "replicator" */
	char *rewind;      /* "rewinder" */
	char *restapi_user; /* "patroni" */
	int password_length; /* 32 */
	struct hp_secret_role *roles;
	size_t nr_roles, alloc_roles;
	/* secrets.tls: the cluster CA and the certificates' lifetimes */
	struct hp_secrets_tls {
		char *ca_cert, *ca_key; /* a supplied CA (PEM files, absolute
					   after load), both or neither; NULL:
					   haprov generates one */
		int renew_days;	       /* 30: renew a certificate that expires
					  within this many days (1..3650,
					  below validity_days) */
		int validity_days;     /* 365: a host or client certificate's
					  lifetime (1..3650) */
		int ca_validity_days;  /* 3650: a generated CA's lifetime */
	} tls;
};

/* tls: the cluster's channels (etcd client and peer, Patroni's REST API,
 * PostgreSQL, HAProxy's checks and stats page). `tls: false` is short for
 * {enabled: false}. */
struct hp_tls_conf {
	bool enabled;		   /* default true */
	bool insecure_skip_verify; /* default false: haprov's own clients
				      skip server verification (for a
				      migration only; plan flags it) */
};

/* An extension of a database: the inventory writes a name, or
 * {name: pg_cron, version: "1.5"}. */
struct hp_ext {
	char *name;    /* [a-z_][a-z0-9_-]*, at most 63 characters */
	char *version; /* NULL: the version CREATE EXTENSION installs */
};

struct hp_ext_db {
	char *name;
	struct hp_ext *extensions; /* created, and updated to version */
	size_t nr_extensions, alloc_extensions;
	struct hp_strlist absent; /* dropped when present (never CASCADE) */
};

struct hp_extensions {
	struct hp_strlist packages;                 /* extra apt packages */
	struct hp_strlist shared_preload_libraries;
	struct hp_ext_db *databases;
	size_t nr_databases, alloc_databases;
};

struct hp_tuning {
	/* checkpoint and WAL settings; NULL = leave PostgreSQL's default */
	char *checkpoint_timeout;
	char *checkpoint_completion_target;
	char *max_wal_size;
	char *min_wal_size;
	char *wal_buffers;
	char *wal_compression;
	/* pg_wal on its own directory or volume; NULL = inside data_dir */
	char *wal_dir;
	char *wal_device; /* optional block device mounted at wal_dir */
};

struct hp_validation {
	int timeout_s;     /* deadline for one verification, 120 */
	int soak_s;        /* healthy time after a staged change; default
			      2 * dcs.loop_wait */
	long long max_lag_bytes; /* replica lag accepted, 1048576 */
};

/* The most hosts one inventory may list (see the hosts check). */
#define HP_INV_MAX_HOSTS 1000

struct hp_inventory {
	char *path;       /* as given */
	char *dir;        /* absolute directory of the file */
	char *cluster;    /* cluster.name */
	/* cluster.environment: "production" (default), "staging", "test" or
	 * "lab"; always set after load. `haprov drill` runs without --yes
	 * only on lab and test. */
	char *environment;
	char *state_dir;  /* default "<dir>/.haprov/<cluster>" */
	struct hp_ssh ssh;
	struct hp_host *hosts;
	size_t nr_hosts, alloc_hosts;
	struct hp_etcd etcd;
	struct hp_patroni patroni;
	struct hp_haproxy haproxy;
	struct hp_vip vip;
	struct hp_pgbouncer pgbouncer;
	struct hp_secrets secrets;
	struct hp_tls_conf tls;
	struct hp_extensions extensions;
	struct hp_tuning tuning;
	struct hp_validation validation;
	/* backups.keep: how many runs' backups a host keeps under
	 * /var/lib/haprov/backups (default 20, 1..1000); a rollback point's
	 * own backups are never pruned */
	struct hp_backups {
		int keep;
	} backups;
	/* drill: how `haprov drill` makes a whole host die at once and
	 * brings it back, run on the machine running haprov (not on the
	 * hosts): /bin/sh command templates with {host} and {address} (see
	 * hp_drill_command). Both or neither; NULL when absent. */
	struct hp_drill_conf {
		char *crash_command; /* "virsh destroy {host}" */
		char *boot_command;  /* "virsh start {host}" */
	} drill;
};

/* One diagnostic: "file:line:col: key.path: message". */
struct hp_diag {
	int line, col;  /* 1-based; 0 when not tied to a place */
	char *key_path; /* "patroni.dcs.ttl", "hosts[1].address" */
	char *message;
	bool warning;
};
struct hp_diags {
	struct hp_diag *items;
	size_t nr, alloc;
	size_t nr_errors;  /* all errors, kept or not */
	size_t nr_dropped; /* not kept: a load keeps its first 1000 by
			      position, so a hostile file costs no more */
};
void hp_diags_release(struct hp_diags *d);
/* How many diagnostics hp_diags_print shows. */
#define HP_DIAGS_SHOWN 100
/* Print the first HP_DIAGS_SHOWN diagnostics, one a line: "FILE:L:C: key:
 * msg" (warnings get "warning: " before the message), control characters
 * escaped; then "FILE: ... and N more" when there were more. */
void hp_diags_print(const struct hp_diags *d, const char *file, FILE *out);

/*
 * Parse, validate and apply defaults. On any error returns a negative code
 * with *out NULL and every problem in diags (all of them, not only the
 * first): HP_EINVALID for a bad inventory, HP_ENOTFOUND or HP_EIO when the
 * file cannot be read. Warnings may be present on success too.
 */
int hp_inventory_load(struct hp_inventory **out, const char *path,
		      struct hp_diags *diags);
/* Same, from a string (for tests); path is used in messages and for
 * resolving relative paths. */
int hp_inventory_load_string(struct hp_inventory **out, const char *yaml,
			     size_t len, const char *path,
			     struct hp_diags *diags);
void hp_inventory_free(struct hp_inventory *inv);

/* Print the effective inventory (defaults applied) as YAML. */
void hp_inventory_print(const struct hp_inventory *inv, FILE *out);

/*
 * Why Patroni would drop a PostgreSQL parameter without a word, or NULL:
 * a setting it takes only from the DCS (when local, i.e. written in
 * patroni.parameters), or one that Patroni and haprov set themselves. The
 * inventory checks refuse these with file:line; the renderer asks again.
 */
const char *hp_param_refused(const char *name, bool local);

/*
 * Whether name is a PostgreSQL setting (GUC) name haprov accepts: 1 to 63
 * ASCII characters, letters, digits and underscores, with at most one dot
 * (a custom "class.name"); each part starts with a letter or underscore
 * and none is empty. The inventory (which also wants lowercase) and the
 * names read back from Patroni's /config use this one rule.
 */
bool hp_guc_name_valid(const char *name);

/* Lookups. Borrowed pointers. */
const struct hp_host *hp_inventory_host(const struct hp_inventory *inv,
					const char *name);
size_t hp_inventory_count_role(const struct hp_inventory *inv, unsigned role);
/* The address of vip.address ("10.213.0.100/24"), without its prefix
 * length, into out (cut to size). */
void hp_vip_ip(const char *cidr, char *out, size_t size);
const char *hp_kvlist_get(const struct hp_kvlist *l, const char *key);

/*
 * The databases PgBouncer serves (inventory_pgbouncer.c): postgres, then
 * each database of secrets.roles in inventory order, appended to out
 * where out does not have it yet (so each is there once, and a caller may
 * put its own first). pgbouncer.ini lists them (render_pgbouncer.c); the
 * pgbouncer phase puts get_auth in each.
 */
void hp_inventory_pgb_databases(const struct hp_inventory *inv,
				struct hp_strlist *out);

/* ---- drill command templates (drill_template.c) ------------------------- */

/*
 * A drill command template is a /bin/sh command line holding the
 * placeholders {host} (the inventory host name) and {address} (its
 * address), each written bare: it is replaced by the value in single
 * quotes (hp_shell_quote), so "virsh destroy {host}" becomes
 * "virsh destroy 'db1'". Any other {...}, a lone { or }, an empty
 * template and a control character (a line break, a tab, ...) make it a
 * bad template.
 *
 * hp_drill_template_check: 0 when tmpl is a good template, else -1 with
 * err saying why. hp_drill_command: tmpl expanded for host h, appended to
 * out (which must have no max); 0, or -1 with err set and out untouched
 * on a bad template (or a host without the name or address it needs).
 */
int hp_drill_template_check(const char *tmpl, struct hp_err *err);
int hp_drill_command(const char *tmpl, const struct hp_host *h,
		     struct hp_buf *out, struct hp_err *err);

#endif
