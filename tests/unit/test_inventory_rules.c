/*
 * The inventory's rules, each over all its cases: every pair of ports,
 * every strict prefix of every key (both walked from the schema table, so
 * a key added there is covered), pg_hba lines and allowed_networks,
 * directories haprov owns, line breaks in values, backups.keep.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory.h"
#include "inventory_priv.h"
#include "inventory_fixture.h"

#define HOSTS_ALL                                                              \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy, pgbouncer]}\n"  \
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy, pgbouncer]}\n"  \
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy, pgbouncer]}\n"
#define HEAD "cluster: {name: t}\n" HOSTS_ALL


/* The one error of a load whose key path is path, or NULL. */
static const struct hp_diag *diag_at(const struct result *res, const char *path)
{
	size_t i;

	for (i = 0; i < res->d.nr; i++)
		if (!res->d.items[i].warning &&
		    !strcmp(res->d.items[i].key_path, path))
			return &res->d.items[i];
	return NULL;
}

/* yaml loads; else show what was said */
static void assert_loads(const char *yaml)
{
	struct result res;

	load(&res, yaml);
	if (res.r != 0 || res.d.nr_errors)
		fprintf(stderr, "%s---\n%s", yaml, res.out);
	assert_int_equal(res.r, 0);
	result_release(&res);
}

/* yaml is refused with exactly want (all of hp_diags_print's output). */
static void assert_refused(const char *yaml, const char *want)
{
	struct result res;

	load(&res, yaml);
	if (strcmp(res.out, want) != 0)
		fprintf(stderr, "%s---\nwant:\n%shave:\n%s", yaml, want,
			res.out);
	assert_int_equal(res.r, HP_EINVALID);
	assert_string_equal(res.out, want);
	result_release(&res);
}

/* ---- ports --------------------------------------------------------------- */

/* "a.b: 7" for each path, grouped by section: "a: {b: 7, c: 7}". */
static char *ports_yaml(const char *p1, const char *p2, int port)
{
	struct hp_buf b = HP_BUF_INIT;
	const char *dot1 = strchr(p1, '.'), *dot2 = strchr(p2, '.');
	size_t s1 = (size_t)(dot1 - p1), s2 = (size_t)(dot2 - p2);

	assert_non_null(dot1);
	assert_non_null(dot2);
	hp_buf_adds(&b, HEAD);
	if (s1 == s2 && !strncmp(p1, p2, s1)) {
		hp_buf_addf(&b, "%.*s: {%s: %d, %s: %d}\n", (int)s1, p1,
			    dot1 + 1, port, dot2 + 1, port);
	} else {
		hp_buf_addf(&b, "%.*s: {%s: %d}\n", (int)s1, p1, dot1 + 1,
			    port);
		hp_buf_addf(&b, "%.*s: {%s: %d}\n", (int)s2, p2, dot2 + 1,
			    port);
	}
	return hp_buf_detach(&b, NULL);
}

/*
 * Every pair of ports from the schema set equal collides on hosts that
 * run both services (here every host runs all three): exactly one error,
 * naming both keys and every host.
 */
static void test_every_port_pair(void **state)
{
	struct hp_strlist keys = {0}, ports = {0};
	size_t i, j, pairs = 0;

	(void)state;
	hp_inv_schema_keys(&keys, &ports);
	/* the ports haprov's services listen on, and sshd */
	assert_true(ports.nr >= 8);
	assert_true(hp_strlist_has(&ports, "haproxy.stats_port"));
	assert_true(hp_strlist_has(&ports, "ssh.port"));
	for (i = 0; i < ports.nr; i++) {
		for (j = i + 1; j < ports.nr; j++) {
			char *y = ports_yaml(ports.items[i], ports.items[j],
					     7777);
			char *other;
			struct result res;
			const struct hp_diag *g;

			load(&res, y);
			if (res.d.nr_errors != 1)
				fprintf(stderr, "%s and %s:\n%s",
					ports.items[i], ports.items[j],
					res.out);
			assert_int_equal(res.r, HP_EINVALID);
			assert_int_equal(res.d.nr_errors, 1);
			/* blamed on the one written later */
			g = diag_at(&res, ports.items[j]);
			assert_non_null(g);
			other = xasprintf("port 7777 is also %s; both would "
					  "listen on a, b and c",
					  ports.items[i]);
			assert_string_equal(g->message, other);
			free(other);
			result_release(&res);
			free(y);
			pairs++;
		}
		/* alone, 7777 collides with nothing */
		{
			char *y = xasprintf(HEAD "%.*s: {%s: 7777}\n",
					    (int)(strchr(ports.items[i], '.') -
						  ports.items[i]),
					    ports.items[i],
					    strchr(ports.items[i], '.') + 1);

			assert_loads(y);
			free(y);
		}
	}
	assert_int_equal(pairs, ports.nr * (ports.nr - 1) / 2);
	hp_strlist_clear(&keys);
	hp_strlist_clear(&ports);
}

/* Ports of services that do not share a host do not collide. */
static void test_ports_other_hosts(void **state)
{
	(void)state;
	assert_loads(
		"cluster: {name: t}\n"
		"hosts:\n"
		"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni]}\n"
		"  - {name: b, address: 10.0.0.2, roles: [haproxy]}\n"
		"haproxy: {stats_port: 5432}\n");
	assert_refused("cluster: {name: t}\n"
		       "hosts:\n"
		       "  - {name: a, address: 10.0.0.1, roles: [etcd, "
		       "patroni]}\n"
		       "  - {name: b, address: 10.0.0.2, roles: [haproxy]}\n"
		       "ssh: {port: 5000}\n",
		       "r.yml:5:13: ssh.port: port 5000 is also "
		       "haproxy.primary_port; both would listen on b\n");
}

/* ---- keys ---------------------------------------------------------------- */

/*
 * The YAML that puts key at path (the components of path before it):
 * "patroni.dcs" + "loo" -> "patroni: {dcs: {loo: 1}}"; list items
 * ("hosts[]") get one item.
 */
static char *key_yaml(const char *parent, const char *key)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t first = strcspn(parent, "."), depth = 0;
	bool list[8];
	const char *p = parent;

	if (first != 7 || strncmp(parent, "cluster", 7) != 0)
		hp_buf_adds(&b, "cluster: {name: t}\n");
	if (first != 7 || strncmp(parent, "hosts[]", 7) != 0)
		hp_buf_adds(&b, HOSTS_ALL);
	while (*p) {
		size_t n = strcspn(p, ".");

		assert_true(depth < HP_ARRAY_SIZE(list));
		list[depth] = n > 2 && p[n - 2] == '[' && p[n - 1] == ']';
		hp_buf_add(&b, p, list[depth] ? n - 2 : n);
		hp_buf_adds(&b, list[depth] ? ": [{" : ": {");
		depth++;
		p += n;
		if (*p == '.')
			p++;
	}
	hp_buf_addf(&b, "%s: 1", key);
	while (depth--)
		hp_buf_adds(&b, list[depth] ? "}]" : "}");
	hp_buf_addch(&b, '\n');
	return hp_buf_detach(&b, NULL);
}

/* "hosts[].name" -> "hosts[0].name": the path a message shows. */
static char *shown_path(const char *path)
{
	struct hp_buf b = HP_BUF_INIT;

	for (; *path; path++) {
		if (path[0] == '[' && path[1] == ']') {
			hp_buf_adds(&b, "[0]");
			path++;
		} else {
			hp_buf_addch(&b, *path);
		}
	}
	return hp_buf_detach(&b, NULL);
}

/* key is a key of the same section as path (a sibling, or path itself). */
static bool is_sibling(const struct hp_strlist *keys, const char *parent,
		       const char *key)
{
	char *p = *parent ? xasprintf("%s.%s", parent, key) : xstrdup(key);
	bool r = hp_strlist_has(keys, p);

	free(p);
	return r;
}

/*
 * No key is taken for another by its prefix: "loop: 5" is not loop_wait.
 * Every strict prefix of every key of the schema is an error at that key
 * ("unknown key", or the password message for "secret").
 */
static void test_key_prefixes(void **state)
{
	struct hp_strlist keys = {0};
	size_t i, n, tried = 0;

	(void)state;
	hp_inv_schema_keys(&keys, NULL);
	assert_true(keys.nr > 80);
	for (i = 0; i < keys.nr; i++) {
		const char *full = keys.items[i], *dot = strrchr(full, '.');
		const char *key = dot ? dot + 1 : full;
		char *parent = dot ? xstrndup(full, (size_t)(dot - full))
				   : xstrdup("");

		for (n = 1; n < strlen(key); n++) {
			char *pre = xstrndup(key, n), *y, *want, *shown;
			const struct hp_diag *g;
			struct result res;

			if (is_sibling(&keys, parent, pre)) {
				free(pre);
				continue;
			}
			y = key_yaml(parent, pre);
			want = *parent ? xasprintf("%s.%s", parent, pre)
				       : xstrdup(pre);
			shown = shown_path(want);
			load(&res, y);
			g = diag_at(&res, shown);
			if (!g)
				fprintf(stderr, "%s: no error at %s:\n%s\n%s",
					full, shown, y, res.out);
			assert_int_equal(res.r, HP_EINVALID);
			assert_non_null(g);
			assert_true(
				!strncmp(g->message, "unknown key", 11) ||
				!strncmp(g->message, "passwords do not", 16));
			result_release(&res);
			free(shown);
			free(want);
			free(y);
			free(pre);
			tried++;
		}
		free(parent);
	}
	assert_true(tried > 500);
	hp_strlist_clear(&keys);
}

/* The survivor of the mutation test, with its suggestion. */
static void test_loop_is_not_loop_wait(void **state)
{
	(void)state;
	assert_refused(HEAD "patroni: {dcs: {loop: 5}}\n",
		       "r.yml:6:17: patroni.dcs.loop: unknown key; did you "
		       "mean \"loop_wait\"?\n");
	assert_refused(HEAD "backups: {kee: 5}\n",
		       "r.yml:6:11: backups.kee: unknown key; did you mean "
		       "\"keep\"?\n");
}

/* ---- pg_hba and networks ------------------------------------------------- */

static void hba(const char *line, const char *why)
{
	/* the syntax alone: with tls on, host lines are refused too
	 * (test_inventory_tls.c) */
	char *y = xasprintf(HEAD "patroni:\n  pg_hba:\n    - '%s'\n"
				 "tls: false\n",
			    line);

	if (!why) {
		assert_loads(y);
	} else {
		struct hp_inv_quoted q;
		char *want = xasprintf("r.yml:8:7: patroni.pg_hba[0]: %s: %s\n",
				       hp_inv_quote(&q, line), why);

		assert_refused(y, want);
		free(want);
	}
	free(y);
}

#define TRUST_WHY                                                              \
	"trust is accepted on local lines only: over the network it lets "     \
	"anyone in as any user without a password; use scram-sha-256"

static void test_hba_lines(void **state)
{
	(void)state;
	hba("local all all trust", NULL);
	hba("local all backup peer map=backup", NULL);
	hba("host all all 10.0.0.0/8 scram-sha-256", NULL);
	hba("hostssl all all 10.0.0.1 255.255.255.255 cert "
	    "clientcert=verify-full",
	    NULL);
	hba("host all all .example.com md5", NULL);
	hba("host all all db.example.com md5", NULL);
	hba("host all all fd00::/64 scram-sha-256", NULL);
	hba("host all all samenet scram-sha-256", NULL);
	hba("host \"my db\" \"a user\" 10.0.0.0/8 ldap ldapserver=ldap "
	    "ldapprefix=\"cn=\" ldapsuffix=\", dc=x\"",
	    NULL);
	hba("\thost\tall all 10.0.0.0/8 reject ", NULL);

	/* trust over the network, in every host type */
	hba("host all all 0.0.0.0/0 trust", TRUST_WHY);
	hba("hostssl all all 10.0.0.0/8 trust", TRUST_WHY);
	hba("hostnossl all all 10.0.0.1 255.0.0.0 trust", TRUST_WHY);
	hba("hostgssenc all all all trust", TRUST_WHY);
	hba("hostnogssenc all all samehost trust", TRUST_WHY);

	/* tokens after the method's options */
	hba("host all all 10.0.0.0/8 md5 foo",
	    "\"foo\" after the method \"md5\" is not an option (options are "
	    "name=value); PostgreSQL would refuse the whole file");
	hba("local all all peer map=x extra",
	    "\"extra\" after the method \"peer\" is not an option (options "
	    "are name=value); PostgreSQL would refuse the whole file");
	hba("host all all 10.0.0.0/8 md5 =x",
	    "\"=x\" after the method \"md5\" is not an option (options are "
	    "name=value); PostgreSQL would refuse the whole file");
	hba("host all all 10.0.0.0/8 scram-sha-256 md5",
	    "\"md5\" after the method \"scram-sha-256\" is not an option "
	    "(options are name=value); PostgreSQL would refuse the whole "
	    "file");

	/* the shape */
	hba("hostx all all 10.0.0.0/8 md5",
	    "expected a type (local, host, hostssl, hostnossl, hostgssenc or "
	    "hostnogssenc) first");
	hba("host all all 10.0.0.0/8", "expected TYPE DATABASE USER ADDRESS "
				       "METHOD");
	hba("local all all", "expected local DATABASE USER METHOD");
	hba("host all all 10.0.0.1 md5",
	    "address 10.0.0.1 needs a /mask or a netmask after it");
	hba("host all all 10.0.0.0/33 md5",
	    "expected an address (a CIDR, an IP address and its netmask, a "
	    "host name, all, samehost or samenet), got \"10.0.0.0/33\"");
	hba("host all all 10.0.0.0/8 sha1",
	    "unknown method \"sha1\" (scram-sha-256, md5, peer, ident, cert, "
	    "reject, ...)");
	hba("host all all 10.0.0.0/8 md5 # office",
	    "a '#' would make the rest of the line a comment; write comments "
	    "in YAML");
	hba("host \"all all 10.0.0.0/8 md5", "a quote is not closed");
	hba("host all all 10.0.0.0/8 md5 \\", "a line cannot end with '\\'");
}

static void test_hba_line_breaks(void **state)
{
	static const char *const breaks[] = {"\\n", "\\r", "\\N", "\\L", "\\P"};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(breaks); i++) {
		char *y = xasprintf(HEAD "patroni: {pg_hba: [\"local all all "
					 "peer%slocal all all trust\"]}\n",
				    breaks[i]);
		struct result res;

		load(&res, y);
		assert_int_equal(res.r, HP_EINVALID);
		assert_non_null(strstr(res.out, ": a pg_hba line cannot hold "
						"a line break\n"));
		result_release(&res);
		free(y);
	}
}

static void test_allowed_networks(void **state)
{
	static const char *const keywords[] = {"all", "samehost", "samenet",
					       "ALL", "SameNet"};
	size_t i;

	(void)state;
	assert_loads(HEAD "patroni: {allowed_networks: [10.0.0.0/8, "
			  "fd00::/64, db.example.com, 10.0.0.5/32]}\n");
	for (i = 0; i < HP_ARRAY_SIZE(keywords); i++) {
		char *y = xasprintf(HEAD "patroni: {allowed_networks: "
					 "[10.0.0.0/8, %s]}\n",
				    keywords[i]);
		struct result res;
		const struct hp_diag *g;

		load(&res, y);
		assert_int_equal(res.r, HP_EINVALID);
		assert_int_equal(res.d.nr_errors, 1);
		g = diag_at(&res, "patroni.allowed_networks[1]");
		assert_non_null(g);
		assert_non_null(strstr(g->message, " is a pg_hba keyword, not "
						   "a network: it would let "
						   "in "));
		result_release(&res);
		free(y);
	}
	/* the shipped words for the rest */
	assert_refused(HEAD "patroni: {allowed_networks: [10.0.0.1]}\n",
		       "r.yml:6:30: patroni.allowed_networks[0]: expected a "
		       "network in CIDR notation (10.0.0.0/24, fd00::/64) or "
		       "a host name, got \"10.0.0.1\"\n");
	/* nor a host address: it becomes the default allowed network */
	assert_refused("cluster: {name: t}\nhosts:\n"
		       "  - {name: a, address: samenet, roles: [etcd, "
		       "patroni]}\n",
		       "r.yml:3:24: hosts[0].address: expected an IP address "
		       "or a host name, got \"samenet\"\n");
}

/* ---- directories haprov owns --------------------------------------------- */

#define OWN_WHY                                                                \
	"; haprov takes ownership of this directory, so it must not be a "     \
	"system directory nor sit directly inside one (for example "

static void owned(const char *key, const char *value, const char *why,
		  const char *example)
{
	const char *dot = strchr(key, '.');
	char *y = xasprintf(HEAD "%.*s:\n  %s: '%s'\n", (int)(dot - key), key,
			    dot + 1, value);

	if (!why) {
		assert_loads(y);
	} else {
		char *want = xasprintf("r.yml:7:%zu: %s: %s%s%s)\n",
				       strlen(dot + 1) + 5, key, why, OWN_WHY,
				       example);

		assert_refused(y, want);
		free(want);
	}
	free(y);
}

static void test_owned_directories(void **state)
{
	static const char *const keys[] = {"patroni.data_dir", "etcd.data_dir",
					   "tuning.wal_dir"};
	static const char *const examples[] = {"/var/lib/postgresql/15/main",
					       "/var/lib/etcd/main",
					       "/srv/pg_wal/15"};
	static const char *const system[] = {
		"/",	"/etc",	 "/usr", "/var", "/var/lib", "/bin",  "/boot",
		"/dev", "/proc", "/sys", "/run", "/tmp",     "/home", "/root",
	};
	size_t k, i;

	(void)state;
	for (k = 0; k < HP_ARRAY_SIZE(keys); k++) {
		for (i = 0; i < HP_ARRAY_SIZE(system); i++) {
			char *is = xasprintf("refusing \"%s\": it is the "
					     "system directory %s",
					     system[i], system[i]);
			char *in = xasprintf("%s/pgdata", system[i]);
			char *in_shown = xasprintf(
				"refusing \"%s/pgdata\": its parent %s is a "
				"system directory",
				strcmp(system[i], "/") ? system[i] : "",
				system[i]);
			char *slashes = xasprintf("%s//./", system[i]);

			owned(keys[k], system[i], is, examples[k]);
			owned(keys[k], slashes, is, examples[k]);
			owned(keys[k], strcmp(system[i], "/") ? in : "/pgdata",
			      in_shown, examples[k]);
			free(is);
			free(in);
			free(in_shown);
			free(slashes);
		}
		/* deeper in a tree that keeps nothing, or that all can write */
		owned(keys[k], "/tmp/a/b/c",
		      "refusing \"/tmp/a/b/c\": it is under /tmp (emptied at "
		      "boot, and every user can write there)",
		      examples[k]);
		owned(keys[k], "/run/pg/x/y",
		      "refusing \"/run/pg/x/y\": it is under /run (emptied at "
		      "boot)",
		      examples[k]);
		/* fine */
		owned(keys[k], examples[k], NULL, NULL);
		owned(keys[k], "/srv/db/", NULL, NULL);
		owned(keys[k], "/var/lib/pgsql/data", NULL, NULL);
	}
}

/* The defaults pass the same check (they are not written, so the walk
 * never saw them). */
static void test_owned_defaults(void **state)
{
	struct hp_buf why = HP_BUF_INIT;
	struct result res;

	(void)state;
	load(&res, HEAD);
	assert_int_equal(res.r, 0);
	assert_false(hp_inv_system_dir(res.inv->patroni.data_dir, &why));
	assert_false(hp_inv_system_dir(res.inv->etcd.data_dir, &why));
	assert_int_equal(why.len, 0);
	result_release(&res);
	hp_buf_release(&why);
}

/* No remote path holds "..": the hosts resolve it through symlinks. */
static void test_remote_dotdot(void **state)
{
	static const char *const keys[] = {"patroni.data_dir", "etcd.data_dir",
					   "tuning.wal_dir", "patroni.bin_dir"};
	size_t k;

	(void)state;
	for (k = 0; k < HP_ARRAY_SIZE(keys); k++) {
		const char *dot = strchr(keys[k], '.');
		char *y = xasprintf(HEAD "%.*s: {%s: /srv/pg/../x}\n",
				    (int)(dot - keys[k]), keys[k], dot + 1);
		char *want = xasprintf(
			"r.yml:6:%zu: %s: refusing \"/srv/pg/../x\": a remote "
			"path cannot hold a \"..\" component; write the "
			"directory itself\n",
			(size_t)(dot - keys[k]) + strlen(dot + 1) + 6, keys[k]);

		assert_refused(y, want);
		free(want);
		free(y);
	}
	/* bin_dir is only read: it may be where the packages put it */
	assert_loads(HEAD "patroni: {bin_dir: /usr/bin}\n");
}

/* ---- one-line values ----------------------------------------------------- */

/*
 * U+2028, U+2029 and NEL are line breaks to Patroni's YAML reader like
 * \n: "x\L--- y" would make its config.yml unloadable.
 */
static void test_param_line_breaks(void **state)
{
	static const struct {
		const char *esc, *shown;
	} cases[] = {
		{"\\n", "\\n"},		{"\\r", "\\x0d"},
		{"\\N", "\\u0085"},	{"\\L", "\\u2028"},
		{"\\P", "\\u2029"},	{"\\x85", "\\u0085"},
		{"\\u2028", "\\u2028"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		char *y = xasprintf(HEAD "patroni: {parameters: "
					 "{application_name: \"x%s--- y\"}}\n",
				    cases[i].esc);
		char *want = xasprintf(
			"r.yml:6:42: patroni.parameters.application_name: a "
			"parameter value cannot span lines (it holds %s)\n",
			cases[i].shown);

		assert_refused(y, want);
		free(want);
		free(y);
	}
	assert_refused(HEAD "patroni: {dcs: {parameters: {a: \"\\e[1m\"}}}\n",
		       "r.yml:6:33: patroni.dcs.parameters.a: a parameter "
		       "value cannot hold control characters (it holds "
		       "\\x1b)\n");
	/* tab and the rest of Unicode are fine */
	assert_loads(HEAD "patroni: {parameters: {application_name: "
			  "\"a\\tb \xc3\xa9 \xe2\x80\xa6\"}}\n");
}

/* ---- backups ------------------------------------------------------------- */

static void test_backups_keep(void **state)
{
	struct result res;
	char *s = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	load(&res, HEAD);
	assert_int_equal(res.inv->backups.keep, 20);
	result_release(&res);
	load(&res, HEAD "backups: {keep: 1000}\n");
	assert_int_equal(res.inv->backups.keep, 1000);
	f = open_memstream(&s, &n);
	hp_inventory_print(res.inv, f);
	fclose(f);
	assert_non_null(strstr(s, "\nbackups:\n  keep: 1000\n"));
	free(s);
	result_release(&res);
	load(&res, HEAD "backups: {keep: 1}\n");
	assert_int_equal(res.inv->backups.keep, 1);
	result_release(&res);
	assert_refused(HEAD "backups: {keep: 0}\n",
		       "r.yml:6:17: backups.keep: expected an integer between "
		       "1 and 1000, got 0\n");
	assert_refused(HEAD "backups: {keep: 1001}\n",
		       "r.yml:6:17: backups.keep: expected an integer between "
		       "1 and 1000, got 1001\n");
	assert_refused(HEAD "backups: [1]\n",
		       "r.yml:6:10: backups: expected a mapping, got a list\n");
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_port_pair),
		cmocka_unit_test(test_ports_other_hosts),
		cmocka_unit_test(test_key_prefixes),
		cmocka_unit_test(test_loop_is_not_loop_wait),
		cmocka_unit_test(test_hba_lines),
		cmocka_unit_test(test_hba_line_breaks),
		cmocka_unit_test(test_allowed_networks),
		cmocka_unit_test(test_owned_directories),
		cmocka_unit_test(test_owned_defaults),
		cmocka_unit_test(test_remote_dotdot),
		cmocka_unit_test(test_param_line_breaks),
		cmocka_unit_test(test_backups_keep),
	};

	setenv("HOME", "/home/hp-test", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
