/*
 * The inventory's meaning, after its shape, value syntax and defaults:
 * the checks that need more than one key (the Patroni timing rule,
 * duplicate hosts, port collisions, a setting written in two places).
 * Each check runs only when every key it reads parsed; a broken key has
 * its own message already. Duplicates are found through an index, so a
 * big inventory costs linear time.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory.h"
#include "inventory_priv.h"

/* ---- cross checks -------------------------------------------------------- */

/* At a key's mark (its value when value is set); NULL: the top mapping. */
static void diag_at(struct hp_inv_loader *ld, const struct hp_inv_mark *m,
		    bool value, const char *path, bool warning, const char *fmt,
		    ...) HP_PRINTF(6, 7);
static void diag_at(struct hp_inv_loader *ld, const struct hp_inv_mark *m,
		    bool value, const char *path, bool warning, const char *fmt,
		    ...)
{
	struct hp_buf b = HP_BUF_INIT;
	int line = ld->root_line, col = ld->root_col;
	va_list ap;

	if (m) {
		line = value ? m->vline : m->kline;
		col = value ? m->vcol : m->kcol;
	}
	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	hp_inv_diag(ld, line, col, path, warning, "%s", b.buf);
	hp_buf_release(&b);
}

/* The mark of the first of paths that was set, else NULL. */
static const struct hp_inv_mark *first_set(const struct hp_inv_loader *ld,
					   const char *const *paths, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hp_inv_was_set(ld, paths[i]))
			return hp_inv_mark_get(ld, paths[i]);
	return NULL;
}

static bool mark_before(const struct hp_inv_mark *a,
			const struct hp_inv_mark *b)
{
	return a->vline < b->vline ||
	       (a->vline == b->vline && a->vcol < b->vcol);
}

/* The same host address, whatever the spelling ("fd00::1", "FD00:0::1"),
 * gives the same key; the caller frees it. */
static char *address_key(const char *a)
{
	unsigned char buf[16];
	int fam = hp_inv_ip_family(a, buf);
	struct hp_buf b = HP_BUF_INIT;
	size_t i;

	if (!fam) {
		/* host names compare without case; none starts with '#' */
		for (; *a; a++)
			hp_buf_addch(&b, (char)(*a >= 'A' && *a <= 'Z'
							? *a - 'A' + 'a'
							: *a));
		return hp_buf_detach(&b, NULL);
	}
	hp_buf_adds(&b, fam == AF_INET ? "#4:" : "#6:");
	for (i = 0; i < (fam == AF_INET ? 4u : 16u); i++)
		hp_buf_addf(&b, "%02x", buf[i]);
	return hp_buf_detach(&b, NULL);
}

/* Each name (or address) once, through an index: a big inventory must
 * not cost a comparison of every pair. */
static void check_duplicate_hosts(struct hp_inventory *inv,
				  struct hp_inv_loader *ld, bool name)
{
	const char *key = name ? "name" : "address";
	struct hp_inv_index seen = HP_INV_INDEX_INIT;
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		const char *v = name ? h->name : h->address;
		char *pi = xasprintf("hosts[%zu].%s", i, key), *k;
		struct hp_inv_quoted q;
		size_t j;

		if (!v || !hp_inv_was_set(ld, pi)) {
			free(pi);
			continue;
		}
		k = name ? xstrdup(v) : address_key(v);
		if (hp_inv_index_add(&seen, k, i, &j)) {
			char *pj = xasprintf("hosts[%zu].%s", j, key);

			diag_at(ld, hp_inv_mark_get(ld, pi), true, pi, false,
				"duplicate %s %s (first at hosts[%zu], line "
				"%d)",
				name ? "host name" : "address",
				hp_inv_quote(&q, v), j,
				hp_inv_mark_get(ld, pj)->vline);
			free(pj);
		}
		free(k);
		free(pi);
	}
	hp_inv_index_release(&seen);
}

static void check_hosts(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct hp_inv_mark *m = hp_inv_mark_get(ld, "hosts");
	size_t i, etcd, patroni;
	bool roles_ok = true;

	if (!m || hp_inv_is_bad(ld, "hosts"))
		return;
	/*
	 * Each host's files list the others (etcd members, HAProxy servers,
	 * pg_hba), so the output grows with the square of the hosts; a cap
	 * far above any real Patroni cluster keeps validate under a second.
	 */
	if (inv->nr_hosts > HP_INV_MAX_HOSTS) {
		diag_at(ld, m, false, "hosts", false,
			"%zu hosts; one inventory describes one cluster of at "
			"most %d hosts",
			inv->nr_hosts, HP_INV_MAX_HOSTS);
		return;
	}
	check_duplicate_hosts(inv, ld, true);
	check_duplicate_hosts(inv, ld, false);
	for (i = 0; i < inv->nr_hosts; i++) {
		char *p = xasprintf("hosts[%zu].roles", i);

		if (hp_inv_is_bad(ld, p))
			roles_ok = false;
		free(p);
	}
	if (!roles_ok)
		return;
	etcd = hp_inventory_count_role(inv, HP_ROLE_ETCD);
	patroni = hp_inventory_count_role(inv, HP_ROLE_PATRONI);
	if (!etcd)
		diag_at(ld, m, false, "hosts", false,
			"no host has the etcd role; Patroni needs etcd "
			"members (three tolerate one failure)");
	if (!patroni)
		diag_at(ld, m, false, "hosts", false,
			"no host has the patroni role; there would be no "
			"PostgreSQL to run");
	if (etcd && etcd % 2 == 0)
		diag_at(ld, m, false, "hosts", true,
			"an even number of etcd members (%zu) tolerates no "
			"more failures than %zu; use an odd number",
			etcd, etcd - 1);
}

/* etcd itself refuses to start with election < 5 * heartbeat. */
static void check_etcd(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	static const char *const at[] = {"etcd.election_ms",
					 "etcd.heartbeat_ms", "etcd"};
	const struct hp_etcd *e = &inv->etcd;

	if (hp_inv_is_bad(ld, "etcd.election_ms") ||
	    hp_inv_is_bad(ld, "etcd.heartbeat_ms"))
		return;
	if (e->election_ms >= 5 * e->heartbeat_ms)
		return;
	diag_at(ld, first_set(ld, at, HP_ARRAY_SIZE(at)), true,
		"etcd.election_ms", false,
		"election_ms (%d) is less than 5 * heartbeat_ms (%d) = %d; "
		"etcd refuses to start when the election timeout is under 5 "
		"heartbeats (10 is usual)",
		e->election_ms, e->heartbeat_ms, 5 * e->heartbeat_ms);
}

/*
 * Patroni's rule. Patroni 3.0 accepts a PATCH that breaks it and then
 * loses the leader key by itself (docs/field-notes.md), so it is an error here
 * and not a warning. The message points at ttl, the value most often
 * lowered in a staged change.
 */
static void check_timing(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	static const char *const keys[] = {
		"patroni.dcs.loop_wait", "patroni.dcs.retry_timeout",
		"patroni.dcs.ttl", "patroni.dcs.preset"};
	static const char *const at[] = {
		"patroni.dcs.ttl", "patroni.dcs.retry_timeout",
		"patroni.dcs.loop_wait", "patroni.dcs", "patroni"};
	const struct hp_dcs *d = &inv->patroni.dcs;
	struct hp_buf note = HP_BUF_INIT;
	size_t i;
	int sum;

	for (i = 0; i < HP_ARRAY_SIZE(keys); i++)
		if (hp_inv_is_bad(ld, keys[i]))
			return;
	sum = d->loop_wait + 2 * d->retry_timeout;
	if (sum <= d->ttl)
		return;
	/* a preset filled some of the three: say which, or the numbers
	 * look like nothing the operator wrote */
	hp_inv_preset_note(ld, keys, 3, &note);
	diag_at(ld, first_set(ld, at, HP_ARRAY_SIZE(at)), false, "patroni.dcs",
		false,
		"loop_wait (%d) + 2 * retry_timeout (%d) = %d exceeds ttl "
		"(%d): Patroni requires loop_wait + 2*retry_timeout <= ttl; "
		"it would accept this and then lose the leader key without "
		"any fault%s",
		d->loop_wait, d->retry_timeout, sum, d->ttl, note.buf);
	hp_buf_release(&note);
}

/* "pg1", "pg1 and pg2", "pg1, pg2 and pg3". */
static void add_name_list(struct hp_buf *b, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		hp_buf_addf(b, "%s%s",
			    i == 0	 ? ""
			    : i + 1 == n ? " and "
					 : ", ",
			    names[i]);
}

/* A port a service listens on, on the hosts with one of role's bits. */
struct port {
	const char *path;
	unsigned role;
	int port;
};

/* a and b are the same port: an error on the hosts that run both, at the
 * one written later in the file (it came second). names: room for every
 * host name. */
static void port_collision(struct hp_inventory *inv, struct hp_inv_loader *ld,
			   const struct port *a, const struct port *b,
			   const char **names)
{
	const struct hp_inv_mark *ma = NULL, *mb = NULL, *m;
	struct hp_buf list = HP_BUF_INIT;
	size_t h, n = 0;

	for (h = 0; h < inv->nr_hosts; h++) {
		unsigned r = inv->hosts[h].roles;

		if ((r & a->role) && (r & b->role) && inv->hosts[h].name)
			names[n++] = inv->hosts[h].name;
	}
	if (!n)
		return;
	if (hp_inv_was_set(ld, a->path))
		ma = hp_inv_mark_get(ld, a->path);
	if (hp_inv_was_set(ld, b->path))
		mb = hp_inv_mark_get(ld, b->path);
	m = mb && (!ma || mark_before(ma, mb)) ? mb : ma;
	add_name_list(&list, names, n);
	diag_at(ld, m, true, m == mb ? b->path : a->path, false,
		"port %d is also %s; both would listen on %s", a->port,
		m == mb ? a->path : b->path, list.buf);
	hp_buf_release(&list);
}

/* Every pair of ports: the unit test walks the schema's ports (F_PORT)
 * and expects each pair here. */
static void check_ports(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct port ports[] = {
		/* sshd listens on every host, whatever its roles */
		{"ssh.port", HP_ROLE_ETCD | HP_ROLE_PATRONI | HP_ROLE_HAPROXY,
		 inv->ssh.port},
		{"etcd.client_port", HP_ROLE_ETCD, inv->etcd.client_port},
		{"etcd.peer_port", HP_ROLE_ETCD, inv->etcd.peer_port},
		{"patroni.pg_port", HP_ROLE_PATRONI, inv->patroni.pg_port},
		{"patroni.restapi_port", HP_ROLE_PATRONI,
		 inv->patroni.restapi_port},
		{"haproxy.primary_port", HP_ROLE_HAPROXY,
		 inv->haproxy.primary_port},
		{"haproxy.replica_port", HP_ROLE_HAPROXY,
		 inv->haproxy.replica_port},
		{"haproxy.stats_port", HP_ROLE_HAPROXY,
		 inv->haproxy.stats_port},
		{"pgbouncer.port", HP_ROLE_PGBOUNCER, inv->pgbouncer.port},
	};
	const char **names = xcalloc(inv->nr_hosts + 1, sizeof(*names));
	size_t i, j;

	for (i = 0; i < HP_ARRAY_SIZE(ports); i++)
		for (j = i + 1; j < HP_ARRAY_SIZE(ports); j++)
			if (ports[i].port == ports[j].port &&
			    !hp_inv_is_bad(ld, ports[i].path) &&
			    !hp_inv_is_bad(ld, ports[j].path))
				port_collision(inv, ld, &ports[i], &ports[j],
					       names);
	free(names);
}

static const char *const tuning_gucs[] = {
	"checkpoint_timeout", "checkpoint_completion_target",
	"max_wal_size",	      "min_wal_size",
	"wal_buffers",	      "wal_compression",
};

static const char *tuning_value(const struct hp_tuning *t, size_t i)
{
	const char *const v[] = {
		t->checkpoint_timeout, t->checkpoint_completion_target,
		t->max_wal_size,       t->min_wal_size,
		t->wal_buffers,	       t->wal_compression};

	return v[i];
}

static void check_wal_sizes(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct hp_tuning *t = &inv->tuning;
	long long min_kb, max_kb;
	const char *min_s = t->min_wal_size, *max_s = t->max_wal_size;
	const char *min_note = "", *max_note = "";
	const char *at;

	if (hp_inv_is_bad(ld, "tuning.min_wal_size") ||
	    hp_inv_is_bad(ld, "tuning.max_wal_size") || (!min_s && !max_s))
		return;
	/* an unset one is PostgreSQL's default, which still applies */
	if (!min_s) {
		min_s = "80MB";
		min_note = ", PostgreSQL's default";
	}
	if (!max_s) {
		max_s = "1GB";
		max_note = ", PostgreSQL's default";
	}
	if (!hp_inv_parse_pg_size(min_s, 1024, &min_kb) ||
	    !hp_inv_parse_pg_size(max_s, 1024, &max_kb) || min_kb <= max_kb)
		return;
	at = t->min_wal_size ? "tuning.min_wal_size" : "tuning.max_wal_size";
	diag_at(ld, hp_inv_mark_get(ld, at), true, at, false,
		"min_wal_size (%s%s) is larger than max_wal_size (%s%s)", min_s,
		min_note, max_s, max_note);
}

static void check_tuning(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct hp_tuning *t = &inv->tuning;
	const struct hp_patroni *p = &inv->patroni;

	check_wal_sizes(inv, ld);
	if (t->wal_device && !t->wal_dir &&
	    !hp_inv_is_bad(ld, "tuning.wal_dir"))
		diag_at(ld, hp_inv_mark_get(ld, "tuning.wal_device"), true,
			"tuning.wal_device", false,
			"needs tuning.wal_dir: the device is mounted there and "
			"holds pg_wal");
	if (t->wal_dir && !hp_inv_is_bad(ld, "patroni.data_dir")) {
		const struct hp_inv_mark *m =
			hp_inv_mark_get(ld, "tuning.wal_dir");

		if (hp_inv_path_within(t->wal_dir, p->data_dir))
			diag_at(ld, m, true, "tuning.wal_dir", false,
				"%s is inside patroni.data_dir (%s); a "
				"separate WAL directory must be outside the "
				"data directory",
				t->wal_dir, p->data_dir);
		else if (hp_inv_path_within(p->data_dir, t->wal_dir))
			diag_at(ld, m, true, "tuning.wal_dir", false,
				"%s contains patroni.data_dir (%s); a "
				"separate WAL directory must be outside the "
				"data directory",
				t->wal_dir, p->data_dir);
	}
	if (t->wal_compression && !hp_inv_is_bad(ld, "patroni.pg_version") &&
	    p->pg_version < 15) {
		struct hp_inv_quoted q;

		if (hp_inv_is_wal_method(t->wal_compression))
			diag_at(ld,
				hp_inv_mark_get(ld, "tuning.wal_compression"),
				true, "tuning.wal_compression", false,
				"%s needs PostgreSQL 15 or later "
				"(patroni.pg_version is %d); use on or "
				"off",
				hp_inv_quote(&q, t->wal_compression),
				p->pg_version);
	}
}

/*
 * Why a PostgreSQL parameter cannot be set in this map, or NULL. Patroni
 * drops some local parameters without a word (it takes them only from the
 * DCS) and sets others itself from the inventory; render.c refuses the
 * same at render time, this says it with a line number.
 */
const char *hp_param_refused(const char *name, bool local)
{
	static const char *const dcs_only[] = {
		"max_connections",
		"max_locks_per_transaction",
		"max_worker_processes",
		"max_prepared_transactions",
		"wal_level",
		"wal_log_hints",
		"track_commit_timestamp",
		"max_wal_senders",
		"max_replication_slots",
		"hot_standby",
		"wal_keep_segments",
		"wal_keep_size",
	};
	static const char *const patroni_sets[] = {
		"listen_addresses", "port",	  "cluster_name",
		"hba_file",	    "ident_file", "data_directory",
		"config_file",
	};
	size_t i;

	for (i = 0; local && i < HP_ARRAY_SIZE(dcs_only); i++)
		if (!strcmp(name, dcs_only[i]))
			return "Patroni takes it only from the DCS: set it in "
			       "patroni.dcs.parameters";
	for (i = 0; i < HP_ARRAY_SIZE(patroni_sets); i++)
		if (!strcmp(name, patroni_sets[i]))
			return "Patroni and haprov set it from the inventory";
	return NULL;
}

/*
 * A PostgreSQL setting has one home. The tuning phase owns the checkpoint
 * and WAL settings (it verifies and stages them), so they may not also be
 * written as plain parameters. The same parameter both local and in the
 * DCS is legal in Patroni but confusing: a warning.
 */
static void check_parameters(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct {
		const char *path;
		const struct hp_kvlist *l;
	} maps[] = {
		{"patroni.parameters", &inv->patroni.parameters},
		{"patroni.dcs.parameters", &inv->patroni.dcs.parameters},
	};
	struct hp_inv_index dcs = HP_INV_INDEX_INIT;
	size_t m, i, k;

	for (i = 0; i < inv->patroni.dcs.parameters.nr; i++)
		hp_inv_index_add(&dcs, inv->patroni.dcs.parameters.items[i].key,
				 i, &k);
	for (m = 0; m < HP_ARRAY_SIZE(maps); m++) {
		for (i = 0; i < maps[m].l->nr; i++) {
			const char *key = maps[m].l->items[i].key, *why;
			char *kp = xasprintf("%s.%s", maps[m].path, key);
			const struct hp_inv_mark *km = hp_inv_mark_get(ld, kp);

			for (k = 0; k < HP_ARRAY_SIZE(tuning_gucs); k++) {
				char *tp;
				const struct hp_inv_mark *tm;

				if (strcmp(key, tuning_gucs[k]) != 0 ||
				    !tuning_value(&inv->tuning, k))
					continue;
				tp = xasprintf("tuning.%s", key);
				tm = hp_inv_mark_get(ld, tp);
				diag_at(ld, km, false, kp, false,
					"set in two places: here and %s (line "
					"%d); keep only %s",
					tp, tm ? tm->kline : 0, tp);
				free(tp);
			}
			why = hp_param_refused(key, m == 0);
			if (why)
				diag_at(ld, km, false, kp, false, "%s", why);
			if (m == 0 && !why && hp_inv_index_get(&dcs, key, &k)) {
				char *dp = xasprintf(
					"patroni.dcs.parameters.%s", key);
				const struct hp_inv_mark *dm =
					hp_inv_mark_get(ld, dp);

				diag_at(ld, km, false, kp, true,
					"also set in patroni.dcs.parameters "
					"(line %d); Patroni uses the local "
					"value",
					dm ? dm->kline : 0);
				free(dp);
			}
			free(kp);
		}
	}
	hp_inv_index_release(&dcs);
}

static const char *const boot_roles[] = {
	"secrets.superuser", "secrets.replication", "secrets.rewind"};

static const char *boot_value(const struct hp_secrets *s, size_t i)
{
	const char *const v[] = {s->superuser, s->replication, s->rewind};

	return v[i];
}

/* PostgreSQL needs three distinct bootstrap roles. */
static void check_boot_roles(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct hp_secrets *s = &inv->secrets;
	struct hp_inv_quoted q;
	size_t i, j;

	for (i = 0; i < HP_ARRAY_SIZE(boot_roles); i++) {
		for (j = 0; j < i; j++) {
			const struct hp_inv_mark *mi, *mj;
			const char *at, *other;

			if (hp_inv_is_bad(ld, boot_roles[i]) ||
			    hp_inv_is_bad(ld, boot_roles[j]) ||
			    strcmp(boot_value(s, i), boot_value(s, j)) != 0)
				continue;
			mi = hp_inv_was_set(ld, boot_roles[i])
				     ? hp_inv_mark_get(ld, boot_roles[i])
				     : NULL;
			mj = hp_inv_was_set(ld, boot_roles[j])
				     ? hp_inv_mark_get(ld, boot_roles[j])
				     : NULL;
			at = mi && (!mj || mark_before(mj, mi)) ? boot_roles[i]
								: boot_roles[j];
			other = at == boot_roles[i] ? boot_roles[j]
						    : boot_roles[i];
			diag_at(ld, hp_inv_mark_get(ld, at), true, at, false,
				"%s is also %s; each bootstrap role needs its "
				"own name",
				hp_inv_quote(&q, boot_value(s, i)), other);
		}
	}
}

static void check_role_name(struct hp_inventory *inv, struct hp_inv_loader *ld,
			    size_t i, struct hp_inv_index *names)
{
	const struct hp_secrets *s = &inv->secrets;
	const char *name = s->roles[i].name;
	char *np = xasprintf("secrets.roles[%zu].name", i), *op;
	const struct hp_inv_mark *nm = hp_inv_mark_get(ld, np), *om;
	struct hp_inv_quoted q;
	bool set = hp_inv_was_set(ld, np);
	size_t j;

	if (!name)
		goto out;
	for (j = 0; set && j < HP_ARRAY_SIZE(boot_roles); j++)
		if (!hp_inv_is_bad(ld, boot_roles[j]) &&
		    !strcmp(name, boot_value(s, j)))
			diag_at(ld, nm, true, np, false,
				"%s is the bootstrap role %s; application "
				"roles need other names",
				hp_inv_quote(&q, name), boot_roles[j]);
	if (hp_inv_index_add(names, name, i, &j) && set) {
		op = xasprintf("secrets.roles[%zu].name", j);
		om = hp_inv_mark_get(ld, op);
		diag_at(ld, nm, true, np, false,
			"duplicate role %s (first at secrets.roles[%zu], line "
			"%d)",
			hp_inv_quote(&q, name), j, om ? om->vline : 0);
		free(op);
	}
out:
	free(np);
}

/* A database has one owner (owners: database -> the first role that
 * lists it), and initdb's own ones are not for apps. */
static void check_role_databases(struct hp_inventory *inv,
				 struct hp_inv_loader *ld, size_t i,
				 struct hp_inv_index *owners)
{
	static const char *const builtin[] = {"postgres", "template0",
					      "template1"};
	const struct hp_secrets *s = &inv->secrets;
	const struct hp_secret_role *r = &s->roles[i];
	struct hp_inv_quoted q;
	size_t k, l;

	for (k = 0; k < r->databases.nr; k++) {
		const char *db = r->databases.items[k];
		char *dp = xasprintf("secrets.roles[%zu].databases[%zu]", i, k);
		const struct hp_inv_mark *dm = hp_inv_mark_get(ld, dp);
		bool done = !hp_inv_was_set(ld, dp);
		size_t j;

		for (l = 0; !done && l < HP_ARRAY_SIZE(builtin); l++) {
			if (strcmp(db, builtin[l]) != 0)
				continue;
			diag_at(ld, dm, true, dp, false,
				"%s is created by initdb and owned by the "
				"superuser; application databases need other "
				"names",
				hp_inv_quote(&q, db));
			done = true;
		}
		if (hp_inv_index_add(owners, db, i, &j) && !done) {
			const struct hp_secret_role *o = &s->roles[j];

			diag_at(ld, dm, true, dp, false,
				"database %s is already owned by "
				"secrets.roles[%zu]%s%s%s",
				hp_inv_quote(&q, db), j, o->name ? " (" : "",
				o->name ? o->name : "", o->name ? ")" : "");
		}
		free(dp);
	}
}

static void check_secrets(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	struct hp_inv_index names = HP_INV_INDEX_INIT;
	struct hp_inv_index owners = HP_INV_INDEX_INIT;
	size_t i;

	check_boot_roles(inv, ld);
	for (i = 0; i < inv->secrets.nr_roles; i++) {
		check_role_name(inv, ld, i, &names);
		check_role_databases(inv, ld, i, &owners);
	}
	hp_inv_index_release(&names);
	hp_inv_index_release(&owners);
}

/* The line of path's value, for "(first at line N)". */
static int mark_line(const struct hp_inv_loader *ld, const char *path)
{
	const struct hp_inv_mark *m = hp_inv_mark_get(ld, path);

	return m ? m->vline : 0;
}

/*
 * One database's lists: a name once in extensions, once in absent, never
 * in both (is it wanted or not?); and at least one of the two lists.
 */
static void check_ext_lists(struct hp_inv_loader *ld, const struct hp_ext_db *d,
			    size_t i)
{
	struct hp_inv_index seen = HP_INV_INDEX_INIT;
	struct hp_inv_quoted q;
	size_t j, k;

	for (j = 0; j < d->nr_extensions + d->absent.nr; j++) {
		bool abs = j >= d->nr_extensions;
		size_t n = abs ? j - d->nr_extensions : j;
		const char *name = abs ? d->absent.items[n]
				       : d->extensions[n].name;
		char *p = abs ? xasprintf("extensions.databases[%zu].absent[%zu]",
					  i, n)
			      : xasprintf("extensions.databases[%zu]."
					  "extensions[%zu].name",
					  i, n);
		char *first;

		if (!name || !*name || hp_inv_is_bad(ld, p) ||
		    !hp_inv_index_add(&seen, name, j, &k)) {
			free(p);
			continue;
		}
		first = k >= d->nr_extensions
				? xasprintf("extensions.databases[%zu].absent[%zu]",
					    i, k - d->nr_extensions)
				: xasprintf("extensions.databases[%zu]."
					    "extensions[%zu].name",
					    i, k);
		diag_at(ld, hp_inv_mark_get(ld, p), true, p, false,
			"%s is listed twice (first at %s, line %d)%s",
			hp_inv_quote(&q, name), first, mark_line(ld, first),
			abs && k < d->nr_extensions
				? ": an extension is either in extensions "
				  "(wanted) or in absent (dropped), not both"
				: "");
		free(first);
		free(p);
	}
	if (!d->nr_extensions && !d->absent.nr) {
		char *p = xasprintf("extensions.databases[%zu]", i);

		diag_at(ld, hp_inv_mark_get(ld, p), true, p, false,
			"lists no extensions and none absent: give "
			"extensions, absent or both");
		free(p);
	}
	hp_inv_index_release(&seen);
}

static void check_extensions(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct hp_extensions *e = &inv->extensions;
	const struct hp_secrets *s = &inv->secrets;
	struct hp_inv_index owned = HP_INV_INDEX_INIT;
	struct hp_inv_index seen = HP_INV_INDEX_INIT;
	struct hp_inv_quoted q;
	size_t i, j, k;

	for (i = 0; i < s->nr_roles; i++)
		for (j = 0; j < s->roles[i].databases.nr; j++)
			hp_inv_index_add(&owned, s->roles[i].databases.items[j],
					 i, &k);
	for (i = 0; i < e->nr_databases; i++) {
		const char *name = e->databases[i].name;
		char *np = xasprintf("extensions.databases[%zu].name", i);
		const struct hp_inv_mark *nm = hp_inv_mark_get(ld, np);
		bool dup = name && hp_inv_index_add(&seen, name, i, &j);
		char *op;

		if (!name || !hp_inv_was_set(ld, np)) {
			/* its own message is out already */
		} else if (dup) {
			op = xasprintf("extensions.databases[%zu].name", j);
			diag_at(ld, nm, true, np, false,
				"duplicate database %s (first at "
				"extensions.databases[%zu], line %d); list "
				"all its extensions in one entry",
				hp_inv_quote(&q, name), j,
				hp_inv_mark_get(ld, op)->vline);
			free(op);
		} else if (strcmp(name, "postgres") != 0 &&
			   !hp_inv_is_bad(ld, "secrets.roles") &&
			   !hp_inv_index_get(&owned, name, &j)) {
			diag_at(ld, nm, true, np, true,
				"no secrets.roles entry creates database %s; "
				"it must exist before the extensions phase",
				hp_inv_quote(&q, name));
		}
		free(np);
		check_ext_lists(ld, &e->databases[i], i);
	}
	hp_inv_index_release(&owned);
	hp_inv_index_release(&seen);
}

/* A host marked remove: true keeps its roles aside (removed_roles) and
 * counts for none, so the checks below see the cluster after the
 * removal. */
static void set_aside_removed(struct hp_inventory *inv)
{
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++) {
		struct hp_host *h = &inv->hosts[i];

		if (h->remove && h->roles) {
			h->removed_roles = h->roles;
			h->roles = 0;
		}
	}
}

void hp_inv_cross_check(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	set_aside_removed(inv);
	check_hosts(inv, ld);
	check_etcd(inv, ld);
	check_timing(inv, ld);
	check_ports(inv, ld);
	check_tuning(inv, ld);
	check_parameters(inv, ld);
	check_secrets(inv, ld);
	check_extensions(inv, ld);
	hp_inv_check_tls(inv, ld);
	hp_inv_check_drill(inv, ld);
	hp_inv_check_vip(inv, ld);
	hp_inv_check_pgbouncer(inv, ld);
}
