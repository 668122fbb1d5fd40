#ifndef HP_RENDER_H
#define HP_RENDER_H
/*
 * What each host's managed files should contain, rendered from the
 * templates in templates/ (embedded in the binary) and the inventory.
 *
 * Pure: no I/O, no clock, no randomness. The same inventory (and secrets)
 * always renders the same bytes, so `validate --render`, `plan` and the
 * golden tests all see exactly what `apply` would write.
 *
 * Files by role (TLS files only with the inventory's tls on; each comes
 * before the file that names it, render_tls.c):
 *   etcd     /etc/etcd/tls/ca.crt, etcd.crt, etcd.key (secret)
 *            /etc/default/etcd                      etcd.env
 *            /etc/systemd/system/etcd.service.d/haprov.conf
 *                                                   etcd-dropin.conf
 *   patroni  /etc/postgresql-common/createcluster.conf
 *                                                   createcluster.conf
 *            /etc/patroni/tls/ca.crt, host.crt, host.key (secret)
 *            /etc/patroni/config.yml (secret)       patroni.yml
 *            /etc/patroni_env.conf                  patroni_env.conf
 *   haproxy  /etc/systemd/system/haproxy.service.d/haprov.conf
 *                                                   haproxy-dropin.conf
 *            /etc/haproxy/haprov_env.conf (secret)  haproxy_env.conf
 *            /etc/haproxy/tls/ca.crt, stats.pem (secret)
 *            /etc/haproxy/haproxy.cfg               haproxy.cfg
 *
 * Passwords and private keys only ever appear in files marked secret:
 * Patroni's bootstrap passwords in config.yml (0600 postgres, re-read on
 * a reload; docs/architecture.md "Rotating secrets"), the stats password
 * in haprov_env.conf (haproxy.service reads it through haprov's drop-in
 * and HAProxy expands it in haproxy.cfg's "stats auth", so haproxy.cfg
 * stays diffable), host keys in their 0600 files. A secret file is
 * committed by hash and masked (phases/restore_mask.c), never in clear.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "inventory.h"
#include "util.h"

/*
 * The bootstrap passwords, borrowed from the caller (the secret store);
 * every field must be set. Passing NULL instead of a struct renders each
 * as the placeholder "<secret:NAME>" (NAME: superuser, replication,
 * rewind, restapi, haproxy_stats), which is what the offline `validate --render` and the
 * golden files show.
 */
/* The HAProxy stats page's basic-auth user, and the secret holding its
 * password. */
#define HP_HAPROXY_STATS_USER "haprov"
/* HAProxy's admin socket (the runtime API): 0600, root's, on each host. */
#define HP_HAPROXY_ADMIN_SOCKET "/run/haproxy/haprov-admin.sock"
#define HP_HAPROXY_STATS_SECRET "haproxy_stats"
/* keepalived's VRRP password (secret vip_auth), in a file of its own that
 * keepalived.conf includes */
#define HP_VIP_SECRET "vip_auth"
#define HP_VIP_AUTH_PATH "/etc/keepalived/haprov_auth.conf"
/* PgBouncer's lookup role's password (secret pgbouncer_auth), in the auth
 * file pgbouncer.ini names */
#define HP_PGB_SECRET "pgbouncer_auth"
#define HP_PGB_USERLIST_PATH "/etc/pgbouncer/haprov_userlist.txt"

/*
 * TLS material (PEM text), borrowed; used when the inventory's tls is on.
 * host_cert/host_key are indexed like inv->hosts (NULL entries for hosts
 * without certificates are an error when rendered). A NULL tls in a
 * non-NULL hp_render_secrets with tls on is HP_EINVALID.
 */
struct hp_render_tls {
	const char *ca;		       /* the trust bundle: the CA (two during
					  a CA rotation) */
	const char *const *host_cert;  /* PEM, by host index */
	const char *const *host_key;   /* PEM, by host index (secret) */
};

struct hp_render_secrets {
	const struct hp_render_tls *tls;
	const char *superuser;
	const char *replication;
	const char *rewind;
	const char *restapi;
	const char *haproxy_stats; /* the stats page's basic-auth password
				      (user "haprov"), secret "haproxy_stats" */
	const char *vip_auth;	   /* keepalived's VRRP password, secret
				      "vip_auth"; needed only for vip hosts */
	const char *pgbouncer_auth; /* PgBouncer's lookup role's password,
				       secret "pgbouncer_auth"; needed only
				       for pgbouncer hosts */
};

/* The template of the i-th file render.c can render (in render order), or
 * NULL past the last: the phase table (phases/common.c) says which phase
 * owns each, and a test checks that every one has exactly one owner. */
const char *hp_render_file_template(size_t i);

/* One rendered file. Strings marked "static" point at constants and live
 * forever; content belongs to the struct hp_rendered holding the file. */
struct hp_rendered_file {
	const char *path;     /* absolute path on the host; static */
	const char *template; /* template it came from, "patroni.yml"; static */
	char *content;	      /* the bytes to write (NUL-terminated) */
	size_t len;	      /* of content, without the NUL */
	unsigned mode;	      /* 0644, 0640, 0600 */
	const char *owner;    /* static; "root", "postgres" */
	const char *group;    /* static */
	bool secret;	      /* holds passwords: never diff, log or commit */
	const char *services; /* space-separated services that read it;
				 static; NULL when no running service does */
	bool reload;	      /* services pick a change up on reload (else:
				 restart; a file under /etc/systemd/ also
				 needs a daemon-reload first) */
	bool before_install;  /* must be in place before the packages are
				 installed (createcluster.conf) */
	const char *check_cmd; /* static; run on the new file before it
				  replaces the old, "%s" standing for its
				  temporary path; NULL: no check */
};

/* A host's files, in a fixed order (etcd, patroni, haproxy). */
struct hp_rendered {
	struct hp_rendered_file *files;
	size_t nr, alloc;
};
#define HP_RENDERED_INIT { NULL, 0, 0 }

/*
 * Render every file host needs for its roles into out, which must be empty
 * (HP_RENDERED_INIT or released). host must be one of inv's hosts.
 * secrets: see struct hp_render_secrets (NULL: placeholders).
 *
 * Allocates: out->files and each file's content; free them with
 * hp_rendered_release() (also after an error: out is left empty then).
 * Errors: HP_EINVALID with the reason in err (which does not name the
 * host: the caller adds that), e.g. an inventory value that cannot be
 * written safely in a file's format, a missing value that the defaults
 * should have filled in, a missing password in secrets, or a template that
 * refers to a name the context lacks.
 */
int hp_render_host(struct hp_rendered *out, const struct hp_inventory *inv,
		   const struct hp_host *host,
		   const struct hp_render_secrets *secrets, struct hp_err *err);

/*
 * Rendering many hosts of one inventory: what their files share (member
 * lists, DCS settings, pg_hba) is built once, on first use, so the whole
 * inventory renders in time linear in its output; hp_render_host builds
 * it again for each host. A cache borrows inv and secrets, which must
 * outlive it. It may be shared by threads (the first use builds under a
 * lock; afterwards it is only read). hp_render_cache_free accepts NULL.
 */
struct hp_render_cache;
struct hp_render_cache *hp_render_cache_new(
	const struct hp_inventory *inv, const struct hp_render_secrets *secrets);
void hp_render_cache_free(struct hp_render_cache *c);
/* hp_render_host for one of the cache's inventory's hosts. */
int hp_render_host_cached(struct hp_rendered *out, struct hp_render_cache *c,
			  const struct hp_host *host, struct hp_err *err);

/* Free every file (secret contents are zeroed first) and empty r. */
void hp_rendered_release(struct hp_rendered *r);

/* The file rendered for path, or NULL. Borrowed from r. */
const struct hp_rendered_file *hp_rendered_find(const struct hp_rendered *r,
						const char *path);

/*
 * The desired Patroni dynamic configuration: the JSON object one PATCHes to
 * /config, and exactly what config.yml's bootstrap.dcs holds (both are
 * built from this function's result, so they cannot drift):
 *
 *   { "ttl", "loop_wait", "retry_timeout", "maximum_lag_on_failover",
 *     "synchronous_mode",
 *     "postgresql": { "use_pg_rewind", "use_slots", "parameters": {...} } }
 *
 * parameters, in this order (a later source overrides an earlier key in
 * place): haprov's base (wal_level replica, hot_standby on,
 * max_wal_senders 10, max_replication_slots 10, wal_log_hints on), then
 * patroni.dcs.parameters, then the tuning section's settings (a tuning key
 * also set in patroni.dcs.parameters is an error: one must not silently
 * win), then shared_preload_libraries: patroni.dcs.parameters' list
 * followed by extensions.shared_preload_libraries, de-duplicated,
 * comma-joined.
 *
 * Value types: see hp_render_param_value().
 *
 * Fails with HP_EINVALID when loop_wait + 2 * retry_timeout > ttl
 * (Patroni accepts it and then loses its leader key; see docs/field-notes.md).
 * Allocates: *out is a new reference the caller json_decref()s; NULL on
 * error.
 */
int hp_render_dcs_json(json_t **out, const struct hp_inventory *inv,
		       struct hp_err *err);

/*
 * A PostgreSQL parameter value as JSON: an integer when the inventory had
 * an unquoted decimal integer ("max_connections: 200" -> 200), a string
 * otherwise ("on", "0.9", "4GB", and anything quoted). Leading zeros stay
 * strings: "0770" means octal to PostgreSQL, and 770 would not. Patroni
 * accepts both forms; keeping the operator's integers as integers means
 * GET /config echoes them back in the same form. Returns a new reference,
 * or NULL when text is not valid UTF-8 (JSON cannot carry it).
 */
json_t *hp_render_param_value(const char *text, bool quoted);

/*
 * Where PostgreSQL's WAL lives when tuning.wal_dir is set: the directory
 * "pg_wal" inside wal_dir, which data_dir/pg_wal links to. Not wal_dir
 * itself: a freshly mounted wal_device holds lost+found, and initdb and
 * pg_basebackup want an empty or missing directory; and when Patroni
 * re-creates a replica it deletes the link's target, which a mount point
 * cannot be. wal_dir must be writable by postgres. config.yml passes this
 * path to initdb and pg_basebackup (--waldir); the tuning phase moves an
 * existing cluster's pg_wal here. Returns a string the caller frees, or
 * NULL when wal_dir is not set (pg_wal stays in data_dir).
 */
char *hp_render_wal_path(const struct hp_inventory *inv);

/*
 * Append s to out as a YAML scalar that any YAML 1.1 or 1.2 parser reads
 * back as that same string: plain when that is unambiguous, else
 * single-quoted, or double-quoted with escapes when s holds control
 * characters. Quoted are, for example, "", "on", "no", "~", "null",
 * "0.9", "100", "1:30", "2024-01-01", "a: b", "x #y", "-x", "*x", "'x".
 * Returns 0 or HP_ETOOBIG (out's maximum).
 */
int hp_render_yaml_scalar(struct hp_buf *out, const char *s);

#endif
