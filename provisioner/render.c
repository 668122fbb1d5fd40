/*
 * Rendering of each host's managed files (see render.h): one context
 * builder per template turns the inventory into the JSON context that
 * template needs, with every value already written the way its file format
 * wants it (YAML-quoted for config.yml, EnvironmentFile-quoted for the
 * environment files), so the templates themselves stay plain text.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_priv.h"
#include "template.h"
#include "templates_gen.h"

/* Where Patroni keeps the .pgpass it writes for replication and rewind
 * (the lab proof's choice; the postgres user's home, not the data dir). */
#define PGPASS_PATH "/var/lib/postgresql/.pgpass_patroni"
#define SOCKET_DIR  "/var/run/postgresql"
/* The HAProxy stats page's password, for haproxy.service (mode 0600) */
#define HAPROXY_ENV_PATH "/etc/haproxy/haprov_env.conf"


/* ---- contexts, one per template ----------------------------------------- */

/*
 * What the hosts' files share is built once per cache, on first use,
 * and then only read: the lists of members (config.yml's etcd hosts,
 * HAProxy's servers), the DCS settings, the local parameters and
 * pg_hba. Each host then costs what its own files
 * hold, and rendering a whole inventory is linear in its output. The
 * names and addresses in a list are checked as it is built: they are
 * written unquoted (check_token).
 */
struct hp_render_cache {
	const struct hp_inventory *inv;
	const struct hp_render_secrets *secrets;
	pthread_mutex_t mu;
	bool cluster_checked;
	json_t *etcd_hosts;	 /* config.yml: ["x:2379", ...] */
	json_t *servers;	 /* haproxy.cfg: [{name, address}] */
	json_t *dcs;		 /* config.yml's bootstrap.dcs, as YAML text */
	json_t *local_params;	 /* config.yml's postgresql.parameters */
	json_t *hba[2];		 /* pg_hba, [ipv6] */
	json_t *ident;		 /* pg_ident */
};

typedef int (*build_fn)(struct hp_render_cache *c, json_t **out,
			struct hp_err *err);

/* *slot, built by build the first time (under c->mu); borrowed. */
static int cached(struct hp_render_cache *c, json_t **slot, build_fn build,
		  const json_t **out, struct hp_err *err)
{
	int r = 0;

	pthread_mutex_lock(&c->mu);
	if (!*slot)
		r = build(c, slot, err);
	*out = *slot;
	pthread_mutex_unlock(&c->mu);
	return r;
}

/* Set key of o to the cached value got by build (a new reference). */
static int set_cached(json_t *o, const char *key, struct hp_render_cache *c,
		      json_t **slot, build_fn build, struct hp_err *err)
{
	const json_t *v;
	int r = cached(c, slot, build, &v, err);

	if (r == 0)
		json_object_set(o, key, (json_t *)(uintptr_t)v);
	return r;
}

static int etcd_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_inventory *inv = in->inv;
	const struct hp_etcd *e = &inv->etcd;
	const char *sch = hp_render_scheme(inv);
	char *peer, *client;
	int r;

	if ((r = hp_render_need(e->data_dir, "etcd.data_dir", err)) < 0 ||
	    (r = hp_render_need(e->token, "etcd.token", err)) < 0)
		return r;
	peer = hp_render_host_port(in->host->address, e->peer_port);
	client = hp_render_host_port(in->host->address, e->client_port);

	hp_render_set_str(c, "cluster", inv->cluster);
	hp_render_set_str(c, "name", in->host->name);
	r = hp_render_set_env(c, "data_dir", e->data_dir, "etcd.data_dir", err);
	json_object_set_new(c, "listen_peer_urls",
			    hp_render_jnn(json_sprintf("%s://%s", sch, peer)));
	json_object_set_new(c, "listen_client_urls",
			    hp_render_jnn(json_sprintf("%s://%s,%s://127.0.0.1:%d",
						       sch, client, sch,
						       e->client_port)));
	json_object_set_new(c, "advertise_peer_urls",
			    hp_render_jnn(json_sprintf("%s://%s", sch, peer)));
	json_object_set_new(c, "advertise_client_urls",
			    hp_render_jnn(json_sprintf("%s://%s", sch, client)));
	hp_render_set_int(c, "heartbeat_ms", e->heartbeat_ms);
	hp_render_set_int(c, "election_ms", e->election_ms);
	free(peer);
	free(client);
	return r < 0 ? r : hp_render_tls_etcd(c, in, err);
}

static int plain_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	(void)err;
	hp_render_set_int(c, "pg_version", in->inv->patroni.pg_version);
	return 0;
}

/* The parameters of obj, in order, as a [{name, value}] list of YAML
 * texts for a template. */
static json_t *param_list(json_t *obj)
{
	json_t *list = hp_render_jnn(json_array());
	void *it;

	for (it = json_object_iter(obj); it;
	     it = json_object_iter_next(obj, it)) {
		json_t *item = hp_render_jnn(json_object());

		hp_render_set_yaml(item, "name", json_object_iter_key(it));
		json_object_set_new(
			item, "value",
			hp_render_yaml_of_json(json_object_iter_value(it)));
		json_array_append_new(list, item);
	}
	return list;
}

static int build_local_params(struct hp_render_cache *cache, json_t **out,
			      struct hp_err *err)
{
	const struct hp_kvlist *l = &cache->inv->patroni.parameters;
	json_t *params = hp_render_jnn(json_object());
	size_t i;
	int r = 0;

	json_object_set_new(params, "unix_socket_directories",
			    hp_render_jnn(json_string(SOCKET_DIR)));
	for (i = 0; i < l->nr && r == 0; i++) {
		const char *why = hp_param_refused(l->items[i].key, true);

		if (why)
			r = hp_err_set(err, HP_EINVALID,
				       "patroni.parameters.%s: %s",
				       l->items[i].key, why);
		else
			r = hp_render_set_param(
				params, l->items[i].key,
				hp_render_param_value(l->items[i].value,
						      l->items[i].quoted),
				"patroni.parameters", err);
	}
	if (r == 0)
		*out = param_list(params);
	json_decref(params);
	return r;
}

/* pg_hba for IPv4 hosts, and pg_ident (the same for every host) */
static int build_hba4(struct hp_render_cache *c, json_t **out,
		      struct hp_err *err)
{
	json_t *list = hp_render_jnn(json_array()),
	       *ident = hp_render_jnn(json_array());
	int r = hp_render_pg_hba(list, ident, c->inv, false, err);

	if (r == 0) {
		*out = list;
		c->ident = ident;
	} else {
		json_decref(list);
		json_decref(ident);
	}
	return r;
}

/* pg_hba for IPv6 hosts: the IPv6 loopback too */
static int build_hba6(struct hp_render_cache *c, json_t **out,
		      struct hp_err *err)
{
	json_t *list = hp_render_jnn(json_array());
	int r = hp_render_pg_hba(list, NULL, c->inv, true, err);

	if (r == 0)
		*out = list;
	else
		json_decref(list);
	return r;
}

static int build_dcs(struct hp_render_cache *c, json_t **out,
		     struct hp_err *err)
{
	static const char *const top[] = {"ttl", "loop_wait", "retry_timeout",
					  "maximum_lag_on_failover",
					  "synchronous_mode"};
	json_t *dcs = NULL, *o;
	const json_t *pg;
	size_t i;
	int r;

	if ((r = hp_render_dcs_json(&dcs, c->inv, err)) < 0)
		return r;
	pg = json_object_get(dcs, "postgresql");
	o = hp_render_jnn(json_object());
	for (i = 0; i < HP_ARRAY_SIZE(top); i++)
		json_object_set_new(
			o, top[i],
			hp_render_yaml_of_json(json_object_get(dcs, top[i])));
	json_object_set_new(
		o, "use_pg_rewind",
		hp_render_yaml_of_json(json_object_get(pg, "use_pg_rewind")));
	json_object_set_new(
		o, "use_slots",
		hp_render_yaml_of_json(json_object_get(pg, "use_slots")));
	json_object_set_new(o, "parameters",
			    param_list(json_object_get(pg, "parameters")));
	json_decref(dcs);
	*out = o;
	return 0;
}

static int build_etcd_hosts(struct hp_render_cache *c, json_t **out,
			    struct hp_err *err)
{
	const struct hp_inventory *inv = c->inv;
	json_t *list = hp_render_jnn(json_array());
	size_t i;
	int r = 0;

	for (i = 0; i < inv->nr_hosts && r == 0; i++) {
		char *s;

		if (!(inv->hosts[i].roles & HP_ROLE_ETCD))
			continue;
		if ((r = hp_render_check_token(inv->hosts[i].address,
					       "host address", err)) < 0)
			break;
		s = hp_render_host_port(inv->hosts[i].address,
					inv->etcd.client_port);
		json_array_append_new(list, hp_render_yaml_json(s));
		free(s);
	}
	if (r == 0)
		*out = list;
	else
		json_decref(list);
	return r;
}

/*
 * A password as a YAML scalar, in a context that render_one wipes: the
 * scratch buffer is wiped too. A control character is refused (a store
 * holds one printable line; this is the renderer's own check).
 */
static int set_yaml_secret(json_t *c, const char *key, const char *value,
			   const char *what, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;

	if (hp_render_has_ctrl(value))
		return hp_err_set(err, HP_EINVALID,
				  "%s contains a control character", what);
	hp_render_yaml_scalar(&b, value);
	hp_render_set_buf(c, key, &b);
	hp_render_wipe_buf(&b);
	return 0;
}

/*
 * config.yml's passwords: the bootstrap users' and the REST API's (from
 * the store, or "<secret:NAME>" placeholders when rendering without
 * secrets). They live in config.yml, which Patroni re-reads on a reload,
 * so that haprov rotate needs no restart (docs/architecture.md,
 * "Rotating secrets").
 */
static int patroni_passwords(json_t *c, const struct rin *in,
			     struct hp_err *err)
{
	const struct hp_render_secrets *sec = in->secrets;
	const struct {
		const char *key, *name, *what, *value;
	} pw[] = {
		{"superuser", "superuser", "the superuser password",
		 sec ? sec->superuser : NULL},
		{"replication", "replication", "the replication password",
		 sec ? sec->replication : NULL},
		{"rewind", "rewind", "the rewind password",
		 sec ? sec->rewind : NULL},
		{"restapi", "restapi", "the REST API password",
		 sec ? sec->restapi : NULL},
	};
	json_t *o = hp_render_jnn(json_object());
	size_t i;
	int r;

	json_object_set_new(c, "passwords", o);
	if ((r = hp_render_need(in->inv->secrets.restapi_user,
				"secrets.restapi_user", err)) < 0)
		return r;
	hp_render_set_yaml(c, "restapi_username",
			   in->inv->secrets.restapi_user);
	for (i = 0; i < HP_ARRAY_SIZE(pw) && r == 0; i++) {
		char *placeholder = NULL;

		if (sec && !pw[i].value)
			return hp_err_set(err, HP_EINVALID, "%s is missing",
					  pw[i].what);
		if (!sec)
			placeholder = xasprintf("<secret:%s>", pw[i].name);
		r = set_yaml_secret(o, pw[i].key,
				    sec ? pw[i].value : placeholder,
				    pw[i].what, err);
		free(placeholder);
	}
	return r;
}

static int patroni_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_inventory *inv = in->inv;
	const struct hp_patroni *p = &inv->patroni;
	const struct hp_host *host = in->host;
	struct hp_render_cache *rc = in->cache;
	bool ipv6 = hp_render_is_ipv6(host->address);
	json_t *o;
	char *s;
	int r;

	if ((r = hp_render_need(p->scope, "patroni.scope", err)) < 0 ||
	    (r = hp_render_need(p->namespace_, "patroni.namespace", err)) < 0 ||
	    (r = hp_render_need(p->data_dir, "patroni.data_dir", err)) < 0 ||
	    (r = hp_render_need(p->bin_dir, "patroni.bin_dir", err)) < 0 ||
	    (r = hp_render_need(inv->secrets.superuser, "secrets.superuser",
				err)) < 0 ||
	    (r = hp_render_need(inv->secrets.replication, "secrets.replication",
				err)) < 0 ||
	    (r = hp_render_need(inv->secrets.rewind, "secrets.rewind", err)) <
		    0)
		return r;
	if ((r = set_cached(c, "dcs", rc, &rc->dcs, build_dcs, err)) < 0 ||
	    (r = set_cached(c, "etcd_hosts", rc, &rc->etcd_hosts,
			    build_etcd_hosts, err)) < 0 ||
	    (r = set_cached(c, "parameters", rc, &rc->local_params,
			    build_local_params, err)) < 0 ||
	    (r = set_cached(c, "pg_hba", rc, &rc->hba[0], build_hba4, err)) <
		    0 ||
	    (ipv6 && (r = set_cached(c, "pg_hba", rc, &rc->hba[1], build_hba6,
				     err)) < 0))
		return r;
	/* built with hba[0] */
	json_object_set(c, "pg_ident", rc->ident);

	hp_render_set_yaml(c, "scope", p->scope);
	hp_render_set_yaml(c, "namespace", p->namespace_);
	hp_render_set_yaml(c, "name", host->name);

	/* IPv4 as in the lab proof; "*" also listens on IPv6. With TLS,
	 * the host's address only (its certificate names it). */
	o = hp_render_jnn(json_object());
	s = inv->tls.enabled
		    ? hp_render_host_port(host->address, p->restapi_port)
		    : xasprintf("%s:%d", ipv6 ? "*" : "0.0.0.0",
				p->restapi_port);
	hp_render_set_yaml(o, "listen", s);
	free(s);
	s = hp_render_host_port(host->address, p->restapi_port);
	hp_render_set_yaml(o, "connect_address", s);
	free(s);
	json_object_set_new(c, "restapi", o);

	s = hp_render_wal_path(inv);
	if (s)
		hp_render_set_yaml(c, "wal_dir", s);
	else
		json_object_set_new(c, "wal_dir", json_false());
	free(s);

	o = hp_render_jnn(json_object());
	s = xasprintf("%s:%d", ipv6 ? "*" : "0.0.0.0", p->pg_port);
	hp_render_set_yaml(o, "listen", s);
	free(s);
	s = hp_render_host_port(host->address, p->pg_port);
	hp_render_set_yaml(o, "connect_address", s);
	free(s);
	hp_render_set_yaml(o, "data_dir", p->data_dir);
	hp_render_set_yaml(o, "bin_dir", p->bin_dir);
	hp_render_set_yaml(o, "pgpass", PGPASS_PATH);
	json_object_set_new(c, "postgresql", o);

	o = hp_render_jnn(json_object());
	hp_render_set_yaml(o, "superuser", inv->secrets.superuser);
	hp_render_set_yaml(o, "replication", inv->secrets.replication);
	hp_render_set_yaml(o, "rewind", inv->secrets.rewind);
	json_object_set_new(c, "users", o);
	if ((r = hp_render_tls_patroni(c, in, err)) < 0)
		return r;
	return patroni_passwords(c, in, err);
}

/* The environment file holds no password any more (see above); it stays,
 * as the evidence secret_holders.c looks for that a cluster was built. */
static int patroni_env_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	(void)err;
	hp_render_set_str(c, "name", in->host->name);
	return 0;
}

static int build_servers(struct hp_render_cache *c, json_t **out,
			 struct hp_err *err)
{
	const struct hp_inventory *inv = c->inv;
	json_t *servers = hp_render_jnn(json_array());
	size_t i;
	int r = 0;

	for (i = 0; i < inv->nr_hosts && r == 0; i++) {
		const struct hp_host *m = &inv->hosts[i];
		json_t *srv;
		char *addr;

		if (!(m->roles & HP_ROLE_PATRONI))
			continue;
		if ((r = hp_render_check_token(m->name, "host name", err)) <
			    0 ||
		    (r = hp_render_check_token(m->address, "host address",
					       err)) < 0)
			break;
		srv = hp_render_jnn(json_object());
		/* through the host's PgBouncer when it has one */
		addr = hp_render_host_port(m->address,
					   (m->roles & HP_ROLE_PGBOUNCER)
						   ? inv->pgbouncer.port
						   : inv->patroni.pg_port);
		hp_render_set_str(srv, "name", m->name);
		hp_render_set_str(srv, "address", addr);
		free(addr);
		/* HTTPS health checks, the certificate's name verified */
		addr = inv->tls.enabled
			       ? xasprintf(" check-ssl verify required ca-file "
					   HP_TLS_HAPROXY_DIR
					   "/ca.crt verifyhost %s",
					   m->name)
			       : xstrdup("");
		hp_render_set_str(srv, "check_tls", addr);
		free(addr);
		json_array_append_new(servers, srv);
	}
	if (r == 0 && !json_array_size(servers))
		r = hp_err_set(err, HP_EINVALID,
			       "no host has the patroni role: HAProxy "
			       "would have no server to route to");
	if (r == 0)
		*out = servers;
	else
		json_decref(servers);
	return r;
}

static int haproxy_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_inventory *inv = in->inv;
	const struct hp_haproxy *h = &inv->haproxy;
	json_t *check = hp_render_jnn(json_object());
	char *s;
	int r;

	hp_render_set_str(c, "cluster", inv->cluster);
	hp_render_set_int(c, "maxconn", h->maxconn);
	hp_render_set_int(c, "timeout_connect_s", h->timeout_connect_s);
	hp_render_set_int(c, "timeout_client_s", h->timeout_client_s);
	hp_render_set_int(c, "timeout_server_s", h->timeout_server_s);
	hp_render_set_int(c, "stats_port", h->stats_port);
	s = hp_render_host_port(in->host->address, h->stats_port);
	hp_render_set_str(c, "stats_bind", s);
	free(s);
	hp_render_set_str(c, "stats_user", HP_HAPROXY_STATS_USER);
	hp_render_set_str(c, "admin_socket", HP_HAPROXY_ADMIN_SOCKET);
	hp_render_set_str(c, "env_file", HAPROXY_ENV_PATH);
	hp_render_set_int(c, "primary_port", h->primary_port);
	hp_render_set_int(c, "replica_port", h->replica_port);
	/* as text: printed once per server line, and printing an integer
	 * costs the template engine a printf each time */
	s = xasprintf("%d", inv->patroni.restapi_port);
	hp_render_set_str(c, "restapi_port", s);
	free(s);
	s = xasprintf("%d", h->server_maxconn);
	hp_render_set_str(c, "server_maxconn", s);
	free(s);
	hp_render_set_int(check, "inter_ms", h->check.inter_ms);
	hp_render_set_int(check, "fall", h->check.fall);
	hp_render_set_int(check, "rise", h->check.rise);
	json_object_set_new(c, "check", check);
	if ((r = hp_render_tls_haproxy(c, in, err)) < 0)
		return r;
	return set_cached(c, "servers", in->cache, &in->cache->servers,
			  build_servers, err);
}

/* The systemd drop-in that gives haproxy.service the stats password. */
static int haproxy_dropin_ctx(json_t *c, const struct rin *in,
			      struct hp_err *err)
{
	(void)in;
	(void)err;
	hp_render_set_str(c, "stats_user", HP_HAPROXY_STATS_USER);
	hp_render_set_str(c, "env_file", HAPROXY_ENV_PATH);
	return 0;
}

static int haproxy_env_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_render_secrets *sec = in->secrets;

	if (sec && !sec->haproxy_stats)
		return hp_err_set(err, HP_EINVALID,
				  "the HAProxy stats password is missing");
	hp_render_set_str(c, "stats_user", HP_HAPROXY_STATS_USER);
	return hp_render_set_env(c, "stats_password",
				 sec ? sec->haproxy_stats
				     : "<secret:" HP_HAPROXY_STATS_SECRET ">",
				 "the HAProxy stats password", err);
}

/* ---- the files --------------------------------------------------------------
 */

static const struct file_spec specs[] = {
	{.role = HP_ROLE_ETCD,
	 .path = "/etc/default/etcd",
	 .template = "etcd.env",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "etcd",
	 .ctx = etcd_ctx},
	/* a drop-in: the engine runs daemon-reload for /etc/systemd/ */
	{.role = HP_ROLE_ETCD,
	 .path = "/etc/systemd/system/etcd.service.d/haprov.conf",
	 .template = "etcd-dropin.conf",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "etcd",
	 .ctx = plain_ctx},
	/* read by postgresql-common when postgresql-NN is installed */
	{.role = HP_ROLE_PATRONI,
	 .path = "/etc/postgresql-common/createcluster.conf",
	 .template = "createcluster.conf",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .before_install = true,
	 .ctx = plain_ctx},
	/* Patroni re-reads config.yml on SIGHUP (systemctl reload); it holds
	 * the bootstrap passwords */
	{.role = HP_ROLE_PATRONI,
	 .path = "/etc/patroni/config.yml",
	 .template = "patroni.yml",
	 .mode = 0600,
	 .owner = "postgres",
	 .group = "postgres",
	 .secret = true,
	 .services = "patroni",
	 .reload = true,
	 .ctx = patroni_ctx},
	/*
	 * Read only when Patroni starts, and without a password now: a
	 * change restarts nothing. A Patroni started when it still held
	 * the passwords keeps them, overriding config.yml, until its next
	 * start: haprov rotate checks for that first.
	 */
	{.role = HP_ROLE_PATRONI,
	 .path = "/etc/patroni_env.conf",
	 .template = "patroni_env.conf",
	 .mode = 0600,
	 .owner = "root",
	 .group = "root",
	 .ctx = patroni_env_ctx},
	/* a drop-in: the engine runs daemon-reload for /etc/systemd/ */
	{.role = HP_ROLE_HAPROXY,
	 .path = "/etc/systemd/system/haproxy.service.d/haprov.conf",
	 .template = "haproxy-dropin.conf",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "haproxy",
	 .ctx = haproxy_dropin_ctx},
	/* before haproxy.cfg, whose check reads it; systemd reads it only
	 * when HAProxy starts, and a reload keeps the old environment */
	{.role = HP_ROLE_HAPROXY,
	 .path = HAPROXY_ENV_PATH,
	 .template = "haproxy_env.conf",
	 .mode = 0600,
	 .owner = "root",
	 .group = "root",
	 .secret = true,
	 .services = "haproxy",
	 .ctx = haproxy_env_ctx},
	/* checked with the password in its environment, as systemd runs it */
	{.role = HP_ROLE_HAPROXY,
	 .path = "/etc/haproxy/haproxy.cfg",
	 .template = "haproxy.cfg",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "haproxy",
	 .reload = true,
	 .check_cmd = "set -a && . " HAPROXY_ENV_PATH " && set +a && "
		      "haproxy -c -f %s",
	 .ctx = haproxy_ctx},
};

/* Render order: each service's TLS files before the file that names
 * them (haproxy -c reads stats.pem; etcd and Patroni would restart into a
 * missing certificate). */
static const struct file_spec *const order[] = {
	&hp_render_tls_specs[0], &hp_render_tls_specs[1],
	&hp_render_tls_specs[2], &specs[0],
	&specs[1],		 &specs[2],
	&hp_render_tls_specs[3], &hp_render_tls_specs[4],
	&hp_render_tls_specs[5], &specs[3],
	&specs[4],		 &specs[5],
	&specs[6],		 &hp_render_tls_specs[6],
	&hp_render_tls_specs[7], &specs[7],
	&hp_render_vip_specs[0], &hp_render_vip_specs[1],
	&hp_render_pgb_specs[0], &hp_render_pgb_specs[1],
	&hp_render_pgb_specs[2],
};

const char *hp_render_file_template(size_t i)
{
	return i < HP_ARRAY_SIZE(order) ? order[i]->template : NULL;
}

static const struct hp_template_file *find_template(const char *name)
{
	size_t i;

	for (i = 0; i < hp_templates_nr; i++)
		if (!strcmp(hp_templates[i].name, name))
			return &hp_templates[i];
	return NULL;
}

/* Zero every string of a context that held a password, before it is
 * freed; values shared with the cache (refcount > 1) hold none. */
static void wipe_json(json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;

	if (!v || v->refcount > 1)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING:
		explicit_bzero((char *)(uintptr_t)json_string_value(v),
			       json_string_length(v));
		break;
	case JSON_OBJECT:
		json_object_foreach(v, key, x) wipe_json(x);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, x) wipe_json(x);
		break;
	default:
		break;
	}
}

static int render_one(struct hp_rendered *out, const struct file_spec *fs,
		      const struct rin *in, struct hp_err *err)
{
	static const char room[65536];
	const struct hp_template_file *t = find_template(fs->template);
	struct hp_buf b = HP_BUF_INIT;
	struct hp_rendered_file *f;
	json_t *c;
	int r;

	if (!t)
		return hp_err_set(err, HP_ENOTFOUND,
				  "template %s is not built into haprov",
				  fs->template);
	/* a secret file never grows (realloc would leave copies of the
	 * passwords behind) */
	if (fs->secret) {
		hp_buf_add(&b, room, sizeof(room));
		hp_buf_reset(&b);
	}
	c = hp_render_jnn(json_object());
	hp_render_set_str(c, "template", fs->template);
	if ((r = fs->ctx(c, in, err)) == 0)
		r = hp_template_render(&b, t->name, t->text, t->len, c, err);
	if (fs->secret)
		wipe_json(c);
	json_decref(c);
	if (r < 0) {
		hp_render_wipe_buf(&b);
		return r;
	}
	HP_ALLOC_GROW(out->files, out->nr + 1, out->alloc);
	f = &out->files[out->nr++];
	f->path = fs->path;
	f->template = fs->template;
	f->mode = fs->mode;
	f->owner = fs->owner;
	f->group = fs->group;
	f->secret = fs->secret;
	f->services = fs->services;
	f->reload = fs->reload;
	f->before_install = fs->before_install;
	f->check_cmd = fs->check_cmd;
	f->content = hp_buf_detach(&b, &f->len);
	return 0;
}

struct hp_render_cache *
hp_render_cache_new(const struct hp_inventory *inv,
		    const struct hp_render_secrets *secrets)
{
	struct hp_render_cache *c = xcalloc(1, sizeof(*c));

	c->inv = inv;
	c->secrets = secrets;
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void hp_render_cache_free(struct hp_render_cache *c)
{
	if (!c)
		return;
	json_decref(c->etcd_hosts);
	json_decref(c->servers);
	json_decref(c->dcs);
	json_decref(c->local_params);
	json_decref(c->hba[0]);
	json_decref(c->hba[1]);
	json_decref(c->ident);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

int hp_render_host_cached(struct hp_rendered *out, struct hp_render_cache *c,
			  const struct hp_host *host, struct hp_err *err)
{
	const struct rin in = {c->inv, host, c->secrets, c};
	size_t i;
	int r;

	/* the names this host's own files hold; the lists' are checked
	 * when they are built */
	pthread_mutex_lock(&c->mu);
	r = c->cluster_checked ? 0
			       : hp_render_check_token(c->inv->cluster,
						       "cluster.name", err);
	c->cluster_checked = r == 0;
	pthread_mutex_unlock(&c->mu);
	if (r < 0 ||
	    (r = hp_render_check_token(host->name, "host name", err)) < 0 ||
	    (r = hp_render_check_token(host->address, "host address", err)) < 0)
		goto out;
	for (i = 0; i < HP_ARRAY_SIZE(order); i++) {
		if (!(host->roles & order[i]->role) ||
		    (order[i]->tls && !c->inv->tls.enabled))
			continue;
		if ((r = render_one(out, order[i], &in, err)) < 0)
			goto out;
	}
out:
	if (r < 0)
		hp_rendered_release(out);
	return r;
}

int hp_render_host(struct hp_rendered *out, const struct hp_inventory *inv,
		   const struct hp_host *host,
		   const struct hp_render_secrets *secrets, struct hp_err *err)
{
	struct hp_render_cache *c = hp_render_cache_new(inv, secrets);
	int r = hp_render_host_cached(out, c, host, err);

	hp_render_cache_free(c);
	return r;
}

void hp_rendered_release(struct hp_rendered *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++) {
		if (r->files[i].secret)
			explicit_bzero(r->files[i].content, r->files[i].len);
		free(r->files[i].content);
	}
	free(r->files);
	r->files = NULL;
	r->nr = r->alloc = 0;
}

const struct hp_rendered_file *hp_rendered_find(const struct hp_rendered *r,
						const char *path)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->files[i].path, path))
			return &r->files[i];
	return NULL;
}
