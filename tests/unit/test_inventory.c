/*
 * Unit tests of the inventory loader (provisioner/inventory.c).
 *
 * Run from the repository root (tests/run-unit.sh does). Fixtures live in
 * $HP_FIXTURES, default "tests/fixtures":
 *
 *   bad/NAME.yml   must fail to load; NAME.err holds the exact diagnostics
 *   warn/NAME.yml  must load (warnings only); NAME.err likewise
 *   good/NAME.yml  must load with no diagnostic at all
 *
 * A .err file is what hp_diags_print(d, "NAME.yml", f) prints: the test
 * loads "tests/fixtures/bad/NAME.yml" but passes the basename as the
 * display name, so the files do not depend on where the tree is. Each
 * fixture is its own test case; a mismatch prints a line diff.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "inventory.h"

#define TEST_HOME "/home/hp-test"

static const char *fixtures_dir(void)
{
	const char *d = getenv("HP_FIXTURES");

	return d && *d ? d : "tests/fixtures";
}

/* ---- helpers ------------------------------------------------------------- */

static char *read_text(const char *path)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;

	if (hp_buf_read_file(&b, path, &err) < 0) {
		hp_buf_release(&b);
		return NULL;
	}
	return hp_buf_detach(&b, NULL);
}

/* What hp_diags_print writes, as a string the caller frees. */
static char *render_diags(const struct hp_diags *d, const char *name)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	hp_diags_print(d, name, f);
	fclose(f);
	return s;
}

static char *render_inventory(const struct hp_inventory *inv)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	hp_inventory_print(inv, f);
	fclose(f);
	return s;
}

static size_t split_lines(char *s, char ***out)
{
	size_t n = 0, alloc = 0;
	char **v = NULL, *p = s;

	while (*p) {
		char *nl = strchr(p, '\n');

		HP_ALLOC_GROW(v, n + 1, alloc);
		v[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	*out = v;
	return n;
}

/* A unified-style line diff (LCS), small inputs only. */
static void print_diff(const char *want, const char *have)
{
	char *a = xstrdup(want), *b = xstrdup(have), **la, **lb;
	size_t na = split_lines(a, &la), nb = split_lines(b, &lb), i, j;
	size_t *t = xcalloc((na + 1) * (nb + 1), sizeof(*t));

#define T(i, j) t[(i) * (nb + 1) + (j)]
	for (i = na; i-- > 0;)
		for (j = nb; j-- > 0;)
			T(i, j) = !strcmp(la[i], lb[j])
					  ? T(i + 1, j + 1) + 1
					  : (T(i + 1, j) > T(i, j + 1)
						     ? T(i + 1, j)
						     : T(i, j + 1));
	fprintf(stderr, "--- expected\n+++ actual\n");
	for (i = j = 0; i < na || j < nb;) {
		if (i < na && j < nb && !strcmp(la[i], lb[j])) {
			fprintf(stderr, " %s\n", la[i]);
			i++;
			j++;
		} else if (j < nb && (i == na || T(i, j + 1) >= T(i + 1, j))) {
			fprintf(stderr, "+%s\n", lb[j++]);
		} else {
			fprintf(stderr, "-%s\n", la[i++]);
		}
	}
#undef T
	free(t);
	free(la);
	free(lb);
	free(a);
	free(b);
}

static struct hp_inventory *load_ok(const char *path)
{
	struct hp_diags d = {0};
	struct hp_inventory *inv = NULL;
	int r = hp_inventory_load(&inv, path, &d);

	if (r != 0 || d.nr) {
		char *s = render_diags(&d, path);

		fprintf(stderr, "%s: r=%d\n%s", path, r, s);
		free(s);
	}
	assert_int_equal(r, 0);
	assert_int_equal(d.nr, 0);
	assert_non_null(inv);
	hp_diags_release(&d);
	return inv;
}

static struct hp_inventory *load_str(const char *yaml, const char *path,
				     struct hp_diags *d, int *r)
{
	struct hp_inventory *inv = NULL;

	*r = hp_inventory_load_string(&inv, yaml, strlen(yaml), path, d);
	return inv;
}

/* ---- fixtures, one test case each ---------------------------------------- */

struct fixture {
	char *name; /* "bad/x.yml": the test's name */
	char *yml;  /* path to load */
	char *err;  /* path of the expected diagnostics */
	char *base; /* "x.yml": the display name */
	bool must_fail;
};

static void test_fixture(void **state)
{
	const struct fixture *fx = *state;
	struct hp_diags d = {0};
	struct hp_inventory *inv = NULL;
	char *want = read_text(fx->err), *have;
	int r;

	if (!want)
		fail_msg("%s: missing %s", fx->name, fx->err);
	r = hp_inventory_load(&inv, fx->yml, &d);
	have = render_diags(&d, fx->base);
	if (strcmp(want, have) != 0) {
		fprintf(stderr, "%s: diagnostics differ\n", fx->name);
		print_diff(want, have);
	}
	if (fx->must_fail) {
		assert_int_equal(r, HP_EINVALID);
		assert_null(inv);
		assert_true(d.nr_errors > 0);
	} else {
		assert_int_equal(r, 0);
		assert_non_null(inv);
		assert_int_equal(d.nr_errors, 0);
		assert_true(d.nr > 0);
	}
	assert_string_equal(want, have);
	hp_inventory_free(inv);
	hp_diags_release(&d);
	free(want);
	free(have);
}

static int is_yml(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 4 &&
	       !strcmp(e->d_name + n - 4, ".yml");
}

/* The sorted *.yml names in fixtures/sub; the caller frees them. */
static size_t list_yml(const char *sub, char ***out)
{
	char *dir = xasprintf("%s/%s", fixtures_dir(), sub);
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, is_yml, alphasort), i;
	char **names;

	free(dir);
	if (n < 0)
		n = 0;
	names = xcalloc((size_t)n + 1, sizeof(*names));
	for (i = 0; i < n; i++) {
		names[i] = xstrdup(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	*out = names;
	return (size_t)n;
}

static void add_fixtures(struct CMUnitTest **tests, size_t *nr, size_t *alloc,
			 struct fixture **fxs, size_t *nfx, const char *sub,
			 bool must_fail)
{
	char **names;
	size_t n = list_yml(sub, &names), i;

	for (i = 0; i < n; i++) {
		struct fixture *fx = xcalloc(1, sizeof(*fx));
		size_t len = strlen(names[i]);

		fx->name = xasprintf("%s/%s", sub, names[i]);
		fx->yml = xasprintf("%s/%s/%s", fixtures_dir(), sub, names[i]);
		fx->err = xasprintf("%s/%s/%.*s.err", fixtures_dir(), sub,
				    (int)(len - 4), names[i]);
		fx->base = names[i];
		fx->must_fail = must_fail;
		fxs[(*nfx)++] = fx;
		HP_ALLOC_GROW(*tests, *nr + 1, *alloc);
		(*tests)[(*nr)++] = (struct CMUnitTest){
			.name = fx->name,
			.test_func = test_fixture,
			.initial_state = fx,
		};
	}
	free(names);
}

static void test_bad_fixture_count(void **state)
{
	char **names;
	size_t n = list_yml("bad", &names), i, missing = 0;

	(void)state;
	for (i = 0; i < n; i++) {
		char *err = xasprintf("%s/bad/%.*s.err", fixtures_dir(),
				      (int)(strlen(names[i]) - 4), names[i]);

		if (access(err, R_OK))
			missing++;
		free(err);
		free(names[i]);
	}
	free(names);
	assert_true(n >= 25);
	assert_int_equal(missing, 0);
}

/* ---- behaviour ----------------------------------------------------------- */

static void test_good_inventories(void **state)
{
	static const char *const shipped[] = {
		"inventories/lab.yml",
		"inventories/example-production.yml",
		"inventories/example-tuning.yml",
	};
	char **names;
	size_t n = list_yml("good", &names), i;

	(void)state;
	assert_true(n >= 3);
	for (i = 0; i < n; i++) {
		char *p = xasprintf("%s/good/%s", fixtures_dir(), names[i]);

		hp_inventory_free(load_ok(p));
		free(p);
		free(names[i]);
	}
	free(names);
	for (i = 0; i < HP_ARRAY_SIZE(shipped); i++)
		hp_inventory_free(load_ok(shipped[i]));
}

static char *abs_fixture_dir(const char *sub)
{
	char *cwd = getcwd(NULL, 0), *d;

	assert_non_null(cwd);
	d = fixtures_dir()[0] == '/'
		    ? xasprintf("%s/%s", fixtures_dir(), sub)
		    : xasprintf("%s/%s/%s", cwd, fixtures_dir(), sub);
	free(cwd);
	return d;
}

/* Every default of the header, from the smallest valid inventory. */
static void test_defaults(void **state)
{
	char *p = xasprintf("%s/good/minimal.yml", fixtures_dir());
	char *dir = abs_fixture_dir("good"), *want;
	struct hp_inventory *inv = load_ok(p);

	(void)state;
	assert_string_equal(inv->path, p);
	assert_string_equal(inv->dir, dir);
	assert_string_equal(inv->cluster, "mini");
	want = xasprintf("%s/.haprov/mini", dir);
	assert_string_equal(inv->state_dir, want);
	free(want);

	assert_string_equal(inv->ssh.user, "root");
	assert_int_equal(inv->ssh.port, 22);
	assert_null(inv->ssh.identity_file);
	assert_string_equal(inv->ssh.known_hosts,
			    TEST_HOME "/.ssh/known_hosts");
	assert_false(inv->ssh.sudo);
	assert_int_equal(inv->ssh.connect_timeout_s, 10);
	assert_int_equal(inv->ssh.command_timeout_s, 600);
	assert_int_equal(inv->ssh.parallel, 10);

	assert_int_equal(inv->nr_hosts, 1);
	assert_string_equal(inv->hosts[0].name, "db1");
	assert_string_equal(inv->hosts[0].address, "192.0.2.10");
	assert_int_equal(inv->hosts[0].roles,
			 HP_ROLE_ETCD | HP_ROLE_PATRONI | HP_ROLE_HAPROXY);
	assert_int_equal(inv->hosts[0].line, 5);

	assert_int_equal(inv->etcd.client_port, 2379);
	assert_int_equal(inv->etcd.peer_port, 2380);
	assert_string_equal(inv->etcd.token, "mini-etcd");
	assert_string_equal(inv->etcd.data_dir, "/var/lib/etcd/mini");
	assert_int_equal(inv->etcd.heartbeat_ms, 100);
	assert_int_equal(inv->etcd.election_ms, 1000);

	assert_string_equal(inv->patroni.scope, "mini");
	assert_string_equal(inv->patroni.namespace_, "/service/");
	assert_int_equal(inv->patroni.restapi_port, 8008);
	assert_int_equal(inv->patroni.pg_version, 15);
	assert_int_equal(inv->patroni.pg_port, 5432);
	assert_string_equal(inv->patroni.data_dir,
			    "/var/lib/postgresql/15/main");
	assert_string_equal(inv->patroni.bin_dir, "/usr/lib/postgresql/15/bin");
	assert_int_equal(inv->patroni.parameters.nr, 0);
	assert_int_equal(inv->patroni.pg_hba.nr, 0);
	assert_int_equal(inv->patroni.allowed_networks.nr, 1);
	assert_string_equal(inv->patroni.allowed_networks.items[0],
			    "192.0.2.10/32");

	assert_string_equal(inv->patroni.dcs.preset, "default");
	assert_int_equal(inv->patroni.dcs.ttl, 30);
	assert_int_equal(inv->patroni.dcs.loop_wait, 10);
	assert_int_equal(inv->patroni.dcs.retry_timeout, 10);
	assert_int_equal(inv->patroni.dcs.maximum_lag_on_failover, 1048576);
	assert_false(inv->patroni.dcs.synchronous_mode);
	assert_true(inv->patroni.dcs.use_pg_rewind);
	assert_true(inv->patroni.dcs.use_slots);
	assert_int_equal(inv->patroni.dcs.parameters.nr, 0);

	assert_int_equal(inv->haproxy.primary_port, 5000);
	assert_int_equal(inv->haproxy.replica_port, 5001);
	assert_int_equal(inv->haproxy.stats_port, 8404);
	assert_int_equal(inv->haproxy.maxconn, 1000);
	assert_int_equal(inv->haproxy.server_maxconn, 100);
	assert_int_equal(inv->haproxy.check.inter_ms, 1000);
	assert_int_equal(inv->haproxy.check.fall, 2);
	assert_int_equal(inv->haproxy.check.rise, 1);
	assert_int_equal(inv->haproxy.timeout_client_s, 1800);
	assert_int_equal(inv->haproxy.timeout_server_s, 1800);
	assert_int_equal(inv->haproxy.timeout_connect_s, 4);

	want = xasprintf("%s/.haprov/mini.secrets", dir);
	assert_string_equal(inv->secrets.store, want);
	free(want);
	assert_string_equal(inv->secrets.superuser, "postgres");
	assert_string_equal(inv->secrets.replication, "replicator");
	assert_string_equal(inv->secrets.rewind, "rewinder");
	assert_string_equal(inv->secrets.restapi_user, "patroni");
	assert_int_equal(inv->secrets.password_length, 32);
	assert_int_equal(inv->secrets.nr_roles, 0);

	assert_int_equal(inv->extensions.packages.nr, 0);
	assert_int_equal(inv->extensions.shared_preload_libraries.nr, 0);
	assert_int_equal(inv->extensions.nr_databases, 0);

	assert_null(inv->tuning.checkpoint_timeout);
	assert_null(inv->tuning.checkpoint_completion_target);
	assert_null(inv->tuning.max_wal_size);
	assert_null(inv->tuning.min_wal_size);
	assert_null(inv->tuning.wal_buffers);
	assert_null(inv->tuning.wal_compression);
	assert_null(inv->tuning.wal_dir);
	assert_null(inv->tuning.wal_device);

	assert_int_equal(inv->validation.timeout_s, 120);
	assert_int_equal(inv->validation.soak_s, 20);
	assert_int_equal(inv->validation.max_lag_bytes, 1048576);
	assert_int_equal(inv->backups.keep, 20);
	assert_string_equal(inv->environment, "production");
	assert_null(inv->drill.crash_command);
	assert_null(inv->drill.boot_command);

	hp_inventory_free(inv);
	free(dir);
	free(p);
}

/* Every key set to something else than its default lands in its field. */
static void test_full_values(void **state)
{
	char *p = xasprintf("%s/good/full.yml", fixtures_dir());
	char *dir = abs_fixture_dir("good"), *want;
	struct hp_inventory *inv = load_ok(p);
	const struct hp_kvlist *kv;

	(void)state;
	want = xasprintf("%s/state/full", dir);
	assert_string_equal(inv->state_dir, want);
	free(want);
	assert_string_equal(inv->ssh.user, "ops");
	assert_int_equal(inv->ssh.port, 2200);
	want = xasprintf("%s/keys/id_ed25519", dir);
	assert_string_equal(inv->ssh.identity_file, want);
	free(want);
	assert_string_equal(inv->ssh.known_hosts, TEST_HOME "/kh/known_hosts");
	assert_false(inv->ssh.sudo); /* "no", though the user is not root */
	assert_int_equal(inv->ssh.connect_timeout_s, 7);
	assert_int_equal(inv->ssh.command_timeout_s, 1200);
	assert_int_equal(inv->ssh.parallel, 3);

	assert_int_equal(inv->nr_hosts, 3);
	assert_int_equal(inv->hosts[2].roles, HP_ROLE_ETCD | HP_ROLE_HAPROXY);

	assert_int_equal(inv->etcd.client_port, 12379);
	assert_int_equal(inv->etcd.peer_port, 12380);
	assert_string_equal(inv->etcd.token, "tok-1");
	assert_string_equal(inv->etcd.data_dir, "/data/etcd"); /* normalised */
	assert_int_equal(inv->etcd.heartbeat_ms, 50);
	assert_int_equal(inv->etcd.election_ms, 500);

	assert_string_equal(inv->patroni.scope, "Full.Scope");
	assert_string_equal(inv->patroni.namespace_, "/db/");
	assert_int_equal(inv->patroni.restapi_port, 18008);
	assert_int_equal(inv->patroni.pg_version, 16);
	assert_int_equal(inv->patroni.pg_port, 15432);
	assert_string_equal(inv->patroni.data_dir, "/data/pg/16");
	assert_string_equal(inv->patroni.bin_dir, "/opt/pg/16/bin");
	kv = &inv->patroni.parameters;
	assert_int_equal(kv->nr, 2);
	assert_string_equal(kv->items[0].key, "log_line_prefix");
	assert_string_equal(kv->items[0].value, "%m [%p] ");
	assert_true(kv->items[0].quoted);
	assert_string_equal(kv->items[1].value, "8MB");
	assert_false(kv->items[1].quoted);
	assert_int_equal(inv->patroni.pg_hba.nr, 2);
	assert_string_equal(inv->patroni.pg_hba.items[1],
			    "hostssl all monitor 10.8.0.0/16 scram-sha-256");
	assert_int_equal(inv->patroni.allowed_networks.nr, 2);
	assert_string_equal(inv->patroni.allowed_networks.items[1],
			    "db.example.com");

	assert_int_equal(inv->patroni.dcs.ttl, 40);
	assert_int_equal(inv->patroni.dcs.loop_wait, 8);
	assert_int_equal(inv->patroni.dcs.retry_timeout, 12);
	assert_int_equal(inv->patroni.dcs.maximum_lag_on_failover, 0);
	assert_true(inv->patroni.dcs.synchronous_mode); /* yes */
	assert_false(inv->patroni.dcs.use_pg_rewind);	/* off */
	assert_false(inv->patroni.dcs.use_slots);	/* False */
	kv = &inv->patroni.dcs.parameters;
	assert_int_equal(kv->nr, 3);
	assert_string_equal(hp_kvlist_get(kv, "search_path"),
			    "\"$user\", public");
	assert_string_equal(hp_kvlist_get(kv, "hot_standby_feedback"), "on");

	assert_int_equal(inv->haproxy.primary_port, 6000);
	assert_int_equal(inv->haproxy.replica_port, 6001);
	assert_int_equal(inv->haproxy.stats_port, 9000);
	assert_int_equal(inv->haproxy.maxconn, 5000);
	assert_int_equal(inv->haproxy.server_maxconn, 250);
	assert_int_equal(inv->haproxy.check.inter_ms, 500);
	assert_int_equal(inv->haproxy.check.fall, 3);
	assert_int_equal(inv->haproxy.check.rise, 2);
	assert_int_equal(inv->haproxy.timeout_client_s, 600);
	assert_int_equal(inv->haproxy.timeout_server_s, 700);
	assert_int_equal(inv->haproxy.timeout_connect_s, 2);

	assert_string_equal(inv->secrets.store, "/srv/secrets/full");
	assert_string_equal(inv->secrets.superuser, "dba");
	assert_string_equal(inv->secrets.replication, "repl");
	assert_string_equal(inv->secrets.rewind, "rw");
	assert_string_equal(inv->secrets.restapi_user, "api");
	assert_int_equal(inv->secrets.password_length, 64);
	assert_int_equal(inv->secrets.nr_roles, 2);
	assert_string_equal(inv->secrets.roles[0].databases.items[1], "app2");
	assert_true(inv->secrets.roles[0].login);
	assert_false(inv->secrets.roles[1].login);
	assert_int_equal(inv->secrets.roles[1].databases.nr, 0);

	assert_int_equal(inv->extensions.packages.nr, 2);
	assert_string_equal(inv->extensions.shared_preload_libraries.items[0],
			    "pg_stat_statements");
	assert_int_equal(inv->extensions.nr_databases, 1);
	assert_string_equal(inv->extensions.databases[0].extensions[2].name,
			    "uuid-ossp");

	assert_string_equal(inv->tuning.checkpoint_timeout, "600");
	assert_string_equal(inv->tuning.checkpoint_completion_target, ".75");
	assert_string_equal(inv->tuning.max_wal_size, "8192");
	assert_string_equal(inv->tuning.min_wal_size, "1GB");
	assert_string_equal(inv->tuning.wal_buffers, "-1");
	assert_string_equal(inv->tuning.wal_compression, "zstd");
	assert_string_equal(inv->tuning.wal_dir, "/wal/pg");
	assert_string_equal(inv->tuning.wal_device,
			    "/dev/disk/by-id/nvme-wal-1");

	assert_int_equal(inv->validation.timeout_s, 90);
	assert_int_equal(inv->validation.soak_s, 0); /* 0 is not "unset" */
	assert_int_equal(inv->validation.max_lag_bytes, 0);
	assert_int_equal(inv->backups.keep, 5);

	hp_inventory_free(inv);
	free(dir);
	free(p);
}

#define HOSTS                                                                  \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni]}\n"

static void test_paths(void **state)
{
	static const char yaml[] =
		"cluster: {name: p, state_dir: ./st/../state}\n"
		"ssh:\n"
		"  user: deploy\n"
		"  identity_file: ../keys//id\n"
		"  known_hosts: ~/.ssh/kh\n" HOSTS
		"secrets: {store: /abs/store/}\n";
	struct hp_diags d = {0};
	struct hp_inventory *inv;
	char *cwd, *want;
	int r;

	(void)state;
	inv = load_str(yaml, "/srv/inv/prod.yml", &d, &r);
	assert_int_equal(r, 0);
	assert_string_equal(inv->dir, "/srv/inv");
	assert_string_equal(inv->state_dir, "/srv/inv/state");
	assert_string_equal(inv->ssh.identity_file, "/srv/keys/id");
	assert_string_equal(inv->ssh.known_hosts, TEST_HOME "/.ssh/kh");
	assert_string_equal(inv->secrets.store, "/abs/store");
	assert_true(inv->ssh.sudo); /* default for a user other than root */
	hp_inventory_free(inv);

	/* a relative inventory path is relative to the working directory */
	inv = load_str(yaml, "inv/prod.yml", &d, &r);
	assert_int_equal(r, 0);
	cwd = getcwd(NULL, 0);
	want = xasprintf("%s/keys/id", cwd);
	assert_string_equal(inv->ssh.identity_file, want);
	free(want);
	want = xasprintf("%s/inv", cwd);
	assert_string_equal(inv->dir, want);
	free(want);
	free(cwd);
	hp_inventory_free(inv);

	/* "~" alone is $HOME */
	inv = load_str("cluster: {name: p}\nssh: {known_hosts: '~'}\n" HOSTS,
		       "/x/i.yml", &d, &r);
	assert_int_equal(r, 0);
	assert_string_equal(inv->ssh.known_hosts, TEST_HOME);
	hp_inventory_free(inv);
	assert_int_equal(d.nr, 0);
	hp_diags_release(&d);
}

/* print inv (freed here), load what was printed, print again: the same
 * text. The second load is returned (the caller frees it). */
static struct hp_inventory *roundtrip_inv(struct hp_inventory *inv,
					  const char *path)
{
	struct hp_inventory *again;
	struct hp_diags d = {0};
	char *one = render_inventory(inv), *two;
	int r;

	again = load_str(one, path, &d, &r);
	if (r != 0) {
		char *s = render_diags(&d, "printed");

		fprintf(stderr,
			"%s: the printed inventory does not load:\n%s"
			"%s",
			path, s, one);
		free(s);
	}
	assert_int_equal(r, 0);
	assert_int_equal(d.nr, 0);
	two = render_inventory(again);
	if (strcmp(one, two) != 0)
		print_diff(one, two);
	assert_string_equal(one, two);
	hp_inventory_free(inv);
	hp_diags_release(&d);
	free(one);
	free(two);
	return again;
}

static void roundtrip(const char *path)
{
	hp_inventory_free(roundtrip_inv(load_ok(path), path));
}

/*
 * A preset's values come back as written keys, with the preset: the
 * printed inventory loads to the same values (a written ttl, the preset's
 * loop_wait and retry_timeout, the derived soak_s), environment and drill
 * commands (whose braces and quotes survive the printer's quoting).
 */
static void test_print_roundtrip_preset(void **state)
{
	static const char yaml[] =
		"cluster: {name: q, environment: lab}\n" HOSTS
		"patroni: {dcs: {preset: fast, ttl: 20}}\n"
		"haproxy: {check: {rise: 3}}\n"
		"drill:\n"
		"  crash_command: \"virsh destroy {host} # it's \\\"x\\\"\"\n"
		"  boot_command: virsh start {host} --address={address}\n";
	struct hp_diags d = {0};
	struct hp_inventory *inv, *again;
	int r;

	(void)state;
	inv = load_str(yaml, "/q/q.yml", &d, &r);
	assert_int_equal(r, 0);
	assert_int_equal(d.nr, 0);
	again = roundtrip_inv(inv, "/q/q.yml");
	assert_string_equal(again->patroni.dcs.preset, "fast");
	assert_int_equal(again->patroni.dcs.ttl, 20);
	assert_int_equal(again->patroni.dcs.loop_wait, 1);
	assert_int_equal(again->patroni.dcs.retry_timeout, 3);
	assert_int_equal(again->haproxy.check.inter_ms, 500);
	assert_int_equal(again->haproxy.check.fall, 2);
	assert_int_equal(again->haproxy.check.rise, 3);
	assert_int_equal(again->validation.soak_s, 2);
	assert_string_equal(again->environment, "lab");
	assert_string_equal(again->drill.crash_command,
			    "virsh destroy {host} # it's \"x\"");
	assert_string_equal(again->drill.boot_command,
			    "virsh start {host} --address={address}");
	hp_inventory_free(again);
	hp_diags_release(&d);
}

static void test_print_roundtrip(void **state)
{
	char **names;
	size_t n = list_yml("good", &names), i;

	(void)state;
	roundtrip("inventories/lab.yml");
	roundtrip("inventories/example-production.yml");
	roundtrip("inventories/example-tuning.yml");
	for (i = 0; i < n; i++) {
		char *p = xasprintf("%s/good/%s", fixtures_dir(), names[i]);

		roundtrip(p);
		free(p);
		free(names[i]);
	}
	free(names);
}

/* Strings another YAML reader would take for booleans or numbers are
 * printed quoted; PostgreSQL values are printed as written. */
static void test_print_quoting(void **state)
{
	struct hp_diags d = {0};
	struct hp_inventory *inv;
	char *out;
	int r;

	(void)state;
	inv = load_str("cluster: {name: q}\n" HOSTS
		       "secrets: {roles: [{name: 'yes', databases: [on]}]}\n"
		       "patroni: {parameters: {jit: off, x.y: 'off'}}\n"
		       "tuning: {checkpoint_completion_target: 0.5}\n",
		       "/q/q.yml", &d, &r);
	assert_int_equal(r, 0);
	out = render_inventory(inv);
	assert_non_null(strstr(out, "    - name: \"yes\"\n"));
	assert_non_null(strstr(out, "      databases:\n        - \"on\"\n"));
	assert_non_null(strstr(out, "    jit: off\n"));
	assert_non_null(strstr(out, "    x.y: \"off\"\n"));
	assert_non_null(strstr(out, "  checkpoint_completion_target: 0.5\n"));
	assert_non_null(strstr(out, "  wal_dir: null\n"));
	free(out);
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

static void test_lookups(void **state)
{
	struct hp_inventory *inv =
		load_ok("inventories/example-production.yml");

	(void)state;
	assert_non_null(hp_inventory_host(inv, "db2"));
	assert_string_equal(hp_inventory_host(inv, "db2")->address,
			    "10.20.0.12");
	assert_string_equal(hp_inventory_host(inv, "lb2")->name, "lb2");
	assert_null(hp_inventory_host(inv, "db9"));
	assert_null(hp_inventory_host(inv, ""));
	assert_int_equal(hp_inventory_count_role(inv, HP_ROLE_ETCD), 3);
	assert_int_equal(hp_inventory_count_role(inv, HP_ROLE_PATRONI), 3);
	assert_int_equal(hp_inventory_count_role(inv, HP_ROLE_HAPROXY), 2);
	assert_int_equal(
		hp_inventory_count_role(inv, HP_ROLE_ETCD | HP_ROLE_HAPROXY),
		5);
	assert_string_equal(
		hp_kvlist_get(&inv->patroni.dcs.parameters, "work_mem"),
		"32MB");
	assert_null(hp_kvlist_get(&inv->patroni.dcs.parameters, "nope"));
	assert_null(hp_kvlist_get(&inv->patroni.parameters, "work_mem"));
	assert_true(inv->patroni.dcs.synchronous_mode);
	assert_string_equal(inv->tuning.wal_dir, "/srv/pg_wal");
	assert_true(inv->ssh.sudo);
	hp_inventory_free(inv);
}

static void test_warnings_do_not_fail(void **state)
{
	struct hp_diags d = {0};
	struct hp_inventory *inv;
	int r;

	(void)state;
	inv = load_str(
		"cluster: {name: w}\n"
		"hosts:\n"
		"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni]}\n"
		"  - {name: b, address: 10.0.0.2, roles: [etcd]}\n"
		"  - {name: c, address: 10.0.0.3, roles: [etcd]}\n"
		"  - {name: d, address: 10.0.0.4, roles: [etcd]}\n",
		"/w/w.yml", &d, &r);
	assert_int_equal(r, 0);
	assert_non_null(inv);
	assert_int_equal(d.nr, 1);
	assert_int_equal(d.nr_errors, 0);
	assert_true(d.items[0].warning);
	assert_int_equal(d.items[0].line, 2);
	assert_int_equal(d.items[0].col, 1);
	assert_string_equal(d.items[0].key_path, "hosts");
	assert_string_equal(d.items[0].message,
			    "an even number of etcd members (4) tolerates no "
			    "more failures than 3; use an odd number");
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

static int load_timing(int ttl, int loop_wait, int retry, struct hp_diags *d)
{
	char *y = xasprintf("cluster: {name: t}\n" HOSTS
			    "patroni:\n  dcs:\n    ttl: %d\n    loop_wait: %d\n"
			    "    retry_timeout: %d\n",
			    ttl, loop_wait, retry);
	struct hp_inventory *inv;
	int r;

	inv = load_str(y, "/t/t.yml", d, &r);
	hp_inventory_free(inv);
	free(y);
	return r;
}

/* loop_wait + 2 * retry_timeout == ttl is allowed; one more is not. */
static void test_timing_boundary(void **state)
{
	struct hp_diags d = {0};
	char *s;

	(void)state;
	assert_int_equal(load_timing(30, 10, 10, &d), 0);
	assert_int_equal(load_timing(25, 5, 10, &d), 0);
	assert_int_equal(load_timing(20, 5, 5, &d) + load_timing(15, 5, 5, &d),
			 0);
	assert_int_equal(d.nr, 0);
	assert_int_equal(load_timing(29, 10, 10, &d), HP_EINVALID);
	assert_int_equal(load_timing(24, 5, 10, &d), HP_EINVALID);
	s = render_diags(&d, "t.yml");
	assert_string_equal(
		s, "t.yml:6:5: patroni.dcs: loop_wait (10) + 2 * retry_timeout "
		   "(10) = 30 exceeds ttl (29): Patroni requires loop_wait + "
		   "2*retry_timeout <= ttl; it would accept this and then lose "
		   "the leader key without any fault\n"
		   "t.yml:6:5: patroni.dcs: loop_wait (5) + 2 * retry_timeout "
		   "(10) = 25 exceeds ttl (24): Patroni requires loop_wait + "
		   "2*retry_timeout <= ttl; it would accept this and then lose "
		   "the leader key without any fault\n");
	free(s);
	hp_diags_release(&d);
	/* a broken input skips the rule instead of guessing */
	assert_int_equal(load_timing(0, 10, 10, &d), HP_EINVALID);
	assert_int_equal(d.nr, 1);
	hp_diags_release(&d);
}

static void test_file_errors(void **state)
{
	struct hp_diags d = {0};
	struct hp_inventory *inv = (struct hp_inventory *)&d; /* overwritten */
	char *s;
	int r;

	(void)state;
	r = hp_inventory_load(&inv, "tests/fixtures/no-such-file.yml", &d);
	assert_int_equal(r, HP_ENOTFOUND);
	assert_null(inv);
	assert_int_equal(d.nr_errors, 1);
	s = render_diags(&d, "no-such-file.yml");
	assert_string_equal(s, "cannot open 'tests/fixtures/no-such-file.yml':"
			       " No such file or directory\n");
	free(s);
	hp_diags_release(&d);

	/* a directory opens but does not read */
	r = hp_inventory_load(&inv, fixtures_dir(), &d);
	assert_true(r < 0);
	assert_null(inv);
	assert_int_equal(d.nr_errors, 1);
	hp_diags_release(&d);
}

/* The length is honoured: the text need not end with a NUL. */
static void test_load_string_length(void **state)
{
	static const char yaml[] = "cluster: {name: n}\n" HOSTS "garbage: [";
	struct hp_diags d = {0};
	struct hp_inventory *inv = NULL;
	int r;

	(void)state;
	r = hp_inventory_load_string(&inv, yaml, strlen(yaml) - 10, "/n.yml",
				     &d);
	assert_int_equal(r, 0);
	assert_int_equal(inv->nr_hosts, 1);
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

/* Diagnostics accumulate across loads; each load judges only its own. */
static void test_diags_accumulate(void **state)
{
	struct hp_diags d = {0};
	struct hp_inventory *inv;
	int r;

	(void)state;
	inv = load_str("cluster: {name: BAD}\n" HOSTS, "/a.yml", &d, &r);
	assert_int_equal(r, HP_EINVALID);
	assert_null(inv);
	inv = load_str("cluster: {name: good}\n" HOSTS, "/b.yml", &d, &r);
	assert_int_equal(r, 0);
	assert_non_null(inv);
	assert_int_equal(d.nr, 1);
	hp_inventory_free(inv);
	hp_diags_release(&d);
	assert_int_equal(d.nr, 0);
	hp_diags_release(&d); /* twice is harmless */
}

/* A password is refused wherever it is, and never stored. */
static void test_password_anywhere(void **state)
{
	struct hp_diags d = {0};
	struct hp_inventory *inv;
	char *s;
	int r;

	(void)state;
	inv = load_str("cluster: {name: p}\n" HOSTS "patroni:\n"
		       "  parameters: {password: x, password_encryption: "
		       "scram-sha-256}\n"
		       "extra:\n"
		       "  - {db_passwd: y}\n",
		       "/p.yml", &d, &r);
	assert_int_equal(r, HP_EINVALID);
	assert_null(inv);
	s = render_diags(&d, "p.yml");
	assert_string_equal(
		s, "p.yml:5:16: patroni.parameters.password: passwords do not "
		   "belong in the inventory; haprov keeps them in the secret "
		   "store (secrets.store)\n"
		   "p.yml:6:1: extra: unknown key\n"
		   "p.yml:7:6: extra[0].db_passwd: passwords do not belong in "
		   "the inventory; haprov keeps them in the secret store "
		   "(secrets.store)\n");
	free(s);
	hp_diags_release(&d);
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_bad_fixture_count),
		cmocka_unit_test(test_good_inventories),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_values),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_print_roundtrip),
		cmocka_unit_test(test_print_roundtrip_preset),
		cmocka_unit_test(test_print_quoting),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_warnings_do_not_fail),
		cmocka_unit_test(test_timing_boundary),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_load_string_length),
		cmocka_unit_test(test_diags_accumulate),
		cmocka_unit_test(test_password_anywhere),
	};
	struct CMUnitTest *tests = NULL;
	struct fixture **fxs;
	char **bad, **warn;
	size_t nr = 0, alloc = 0, nfx = 0, i;
	size_t nbad = list_yml("bad", &bad), nwarn = list_yml("warn", &warn);
	int r;

	/* defaults and ~ expansion must not depend on who runs the tests */
	setenv("HOME", TEST_HOME, 1);
	for (i = 0; i < nbad; i++)
		free(bad[i]);
	for (i = 0; i < nwarn; i++)
		free(warn[i]);
	free(bad);
	free(warn);
	fxs = xcalloc(nbad + nwarn + 1, sizeof(*fxs));
	for (i = 0; i < HP_ARRAY_SIZE(fixed); i++) {
		HP_ALLOC_GROW(tests, nr + 1, alloc);
		tests[nr++] = fixed[i];
	}
	add_fixtures(&tests, &nr, &alloc, fxs, &nfx, "bad", true);
	add_fixtures(&tests, &nr, &alloc, fxs, &nfx, "warn", false);
	r = _cmocka_run_group_tests("inventory", tests, nr, NULL, NULL);
	for (i = 0; i < nfx; i++) {
		free(fxs[i]->name);
		free(fxs[i]->yml);
		free(fxs[i]->err);
		free(fxs[i]->base);
		free(fxs[i]);
	}
	free(fxs);
	free(tests);
	return r;
}
