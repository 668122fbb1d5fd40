/*
 * Every default of the inventory in one place, after the walk and before
 * the cross checks (which then see the effective values).
 */
#include <arpa/inet.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inventory.h"
#include "inventory_priv.h"

static char *home_dir(void)
{
	const char *h = getenv("HOME");
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (h && h[0] == '/')
		return xstrdup(h);
	if (!getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) && res &&
	    res->pw_dir)
		return xstrdup(res->pw_dir);
	return xstrdup("/");
}

/* A key the file does not set takes its preset's value, if the preset
 * (patroni.dcs.preset, defaulted first) has one, else def. */
static void def_int(const struct hp_inv_loader *ld, const char *path, int *v,
		    int def)
{
	if (hp_inv_was_set(ld, path))
		return;
	if (!hp_inv_preset_value(ld->inv->patroni.dcs.preset, path, v))
		*v = def;
}

static void def_ll(const struct hp_inv_loader *ld, const char *path,
		   long long *v, long long def)
{
	if (!hp_inv_was_set(ld, path))
		*v = def;
}

static void def_bool(const struct hp_inv_loader *ld, const char *path, bool *v,
		     bool def)
{
	if (!hp_inv_was_set(ld, path))
		*v = def;
}

/* def is allocated by the caller and owned here. */
static void def_str(char **v, char *def)
{
	if (*v)
		free(def);
	else
		*v = def;
}

static void default_networks(struct hp_inventory *inv,
			     const struct hp_inv_loader *ld)
{
	struct hp_strlist *l = &inv->patroni.allowed_networks;
	unsigned char buf[16];
	size_t i;

	if (l->nr || hp_inv_is_bad(ld, "patroni.allowed_networks"))
		return;
	for (i = 0; i < inv->nr_hosts; i++) {
		const char *a = inv->hosts[i].address;
		int fam;

		if (!a)
			continue;
		fam = hp_inv_ip_family(a, buf);
		HP_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
		l->items[l->nr++] = fam == AF_INET    ? xasprintf("%s/32", a)
				    : fam == AF_INET6 ? xasprintf("%s/128", a)
						      : xstrdup(a);
	}
}

/*
 * Every default in one place, after the walk and before the cross checks
 * (which then see the effective values). Derived defaults follow what
 * they derive from: sudo from the user, data_dir from pg_version, soak_s
 * from loop_wait; and the preset comes first, so what derives from a key
 * it fills sees its value.
 */
void hp_inventory_apply_defaults(struct hp_inventory *inv,
				 const struct hp_inv_loader *ld)
{
	const char *cl = inv->cluster ? inv->cluster : "cluster";
	struct hp_ssh *ssh = &inv->ssh;
	struct hp_etcd *etcd = &inv->etcd;
	struct hp_patroni *pat = &inv->patroni;
	struct hp_dcs *dcs = &pat->dcs;
	struct hp_haproxy *hap = &inv->haproxy;
	struct hp_secrets *sec = &inv->secrets;
	struct hp_validation *val = &inv->validation;
	char *home = home_dir();
	size_t i;

	/* first: the preset fills integer keys below (def_int) */
	def_str(&pat->dcs.preset, xstrdup("default"));
	def_str(&inv->environment, xstrdup("production"));
	def_str(&inv->state_dir,
		xasprintf("%s/.haprov/%s",
			  strcmp(inv->dir, "/") != 0 ? inv->dir : "", cl));

	def_str(&ssh->user, xstrdup("root"));
	def_int(ld, "ssh.port", &ssh->port, 22);
	def_str(&ssh->known_hosts, hp_inv_path_join(home, ".ssh/known_hosts"));
	def_bool(ld, "ssh.sudo", &ssh->sudo, strcmp(ssh->user, "root") != 0);
	def_int(ld, "ssh.connect_timeout_s", &ssh->connect_timeout_s, 10);
	def_int(ld, "ssh.command_timeout_s", &ssh->command_timeout_s, 600);
	def_int(ld, "ssh.parallel", &ssh->parallel, 10);

	def_int(ld, "etcd.client_port", &etcd->client_port, 2379);
	def_int(ld, "etcd.peer_port", &etcd->peer_port, 2380);
	def_str(&etcd->token, xasprintf("%s-etcd", cl));
	def_str(&etcd->data_dir, xasprintf("/var/lib/etcd/%s", cl));
	def_int(ld, "etcd.heartbeat_ms", &etcd->heartbeat_ms, 100);
	def_int(ld, "etcd.election_ms", &etcd->election_ms, 1000);

	def_str(&pat->scope, xstrdup(cl));
	def_str(&pat->namespace_, xstrdup("/service/"));
	def_int(ld, "patroni.restapi_port", &pat->restapi_port, 8008);
	def_int(ld, "patroni.pg_version", &pat->pg_version, 15);
	def_int(ld, "patroni.pg_port", &pat->pg_port, 5432);
	def_str(&pat->data_dir,
		xasprintf("/var/lib/postgresql/%d/main", pat->pg_version));
	def_str(&pat->bin_dir,
		xasprintf("/usr/lib/postgresql/%d/bin", pat->pg_version));
	default_networks(inv, ld);

	def_int(ld, "patroni.dcs.ttl", &dcs->ttl, 30);
	def_int(ld, "patroni.dcs.loop_wait", &dcs->loop_wait, 10);
	def_int(ld, "patroni.dcs.retry_timeout", &dcs->retry_timeout, 10);
	def_ll(ld, "patroni.dcs.maximum_lag_on_failover",
	       &dcs->maximum_lag_on_failover, 1048576);
	def_bool(ld, "patroni.dcs.synchronous_mode", &dcs->synchronous_mode,
		 false);
	def_bool(ld, "patroni.dcs.use_pg_rewind", &dcs->use_pg_rewind, true);
	def_bool(ld, "patroni.dcs.use_slots", &dcs->use_slots, true);

	def_int(ld, "haproxy.primary_port", &hap->primary_port, 5000);
	def_int(ld, "haproxy.replica_port", &hap->replica_port, 5001);
	def_int(ld, "haproxy.stats_port", &hap->stats_port, 8404);
	def_int(ld, "haproxy.maxconn", &hap->maxconn, 1000);
	def_int(ld, "haproxy.server_maxconn", &hap->server_maxconn, 100);
	def_int(ld, "haproxy.check.inter_ms", &hap->check.inter_ms, 1000);
	def_int(ld, "haproxy.check.fall", &hap->check.fall, 2);
	def_int(ld, "haproxy.check.rise", &hap->check.rise, 1);
	def_int(ld, "haproxy.timeout_client_s", &hap->timeout_client_s, 1800);
	def_int(ld, "haproxy.timeout_server_s", &hap->timeout_server_s, 1800);
	def_int(ld, "haproxy.timeout_connect_s", &hap->timeout_connect_s, 4);
	def_int(ld, "vip.advert_int_s", &inv->vip.advert_int_s, 1);
	def_int(ld, "pgbouncer.port", &inv->pgbouncer.port, 6432);
	def_str(&inv->pgbouncer.pool_mode, xstrdup("transaction"));
	def_int(ld, "pgbouncer.default_pool_size",
		&inv->pgbouncer.default_pool_size, 20);
	def_int(ld, "pgbouncer.max_client_conn",
		&inv->pgbouncer.max_client_conn, 1000);
	def_str(&inv->pgbouncer.auth_user, xstrdup("pgbouncer"));

	def_str(&sec->store,
		xasprintf("%s/.haprov/%s.secrets",
			  strcmp(inv->dir, "/") != 0 ? inv->dir : "", cl));
	def_str(&sec->superuser, xstrdup("postgres"));
	def_str(&sec->replication, xstrdup("replicator"));
	def_str(&sec->rewind, xstrdup("rewinder"));
	def_str(&sec->restapi_user, xstrdup("patroni"));
	def_int(ld, "secrets.password_length", &sec->password_length, 32);
	for (i = 0; i < sec->nr_roles; i++) {
		char *p = xasprintf("secrets.roles[%zu].login", i);

		def_bool(ld, p, &sec->roles[i].login, true);
		free(p);
	}

	def_int(ld, "secrets.tls.renew_days", &sec->tls.renew_days, 30);
	def_int(ld, "secrets.tls.validity_days", &sec->tls.validity_days, 365);
	def_int(ld, "secrets.tls.ca_validity_days", &sec->tls.ca_validity_days,
		3650);
	def_bool(ld, "tls.enabled", &inv->tls.enabled, true);
	def_bool(ld, "tls.insecure_skip_verify", &inv->tls.insecure_skip_verify,
		 false);

	def_int(ld, "validation.timeout_s", &val->timeout_s, 120);
	/* capped at the key's own maximum, so the printed inventory loads */
	def_int(ld, "validation.soak_s", &val->soak_s,
		dcs->loop_wait > 1800 ? 3600 : 2 * dcs->loop_wait);
	def_ll(ld, "validation.max_lag_bytes", &val->max_lag_bytes, 1048576);
	def_int(ld, "backups.keep", &inv->backups.keep, 20);
	free(home);
}
