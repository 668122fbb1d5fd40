/*
 * The pgbouncer role (issue 12, section 1): the inventory's checks,
 * PgBouncer's files and HAProxy's servers going to its port, and the
 * phase's decisions on the leader (the lookup role, get_auth where it is
 * missing) with the SQL they write.
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
#include "pgbouncer_priv.h"
#include "render.h"
#include "scram.h"

#define PGB_HOSTS                                                              \
	"cluster: {name: t}\n"                                                 \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy, "    \
	"pgbouncer]}\n"                                                        \
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy, "    \
	"pgbouncer]}\n"                                                        \
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n"  \
	"secrets:\n"                                                           \
	"  roles:\n"                                                           \
	"    - {name: app, databases: [appdb, shared]}\n"                      \
	"    - {name: rep, databases: [repdb]}\n"

static void test_inventory(void **state)
{
	struct result res;
	struct hp_inventory *inv;

	(void)state;
	inv = loads(&res, PGB_HOSTS);
	assert_int_equal(inv->pgbouncer.port, 6432);
	assert_string_equal(inv->pgbouncer.pool_mode, "transaction");
	assert_int_equal(inv->pgbouncer.default_pool_size, 20);
	assert_int_equal(inv->pgbouncer.max_client_conn, 1000);
	assert_string_equal(inv->pgbouncer.auth_user, "pgbouncer");
	assert_int_equal(hp_inventory_count_role(inv, HP_ROLE_PGBOUNCER), 2);
	result_release(&res);

	refused_with("cluster: {name: t}\nhosts:\n  - {name: a, address: "
		     "10.0.0.1, roles: [etcd, haproxy, pgbouncer]}\n",
		     "host a has role pgbouncer without role patroni");
	refused_with(PGB_HOSTS "pgbouncer: {auth_user: app}\n",
		     "pgbouncer.auth_user app is an application role");
	refused_with(PGB_HOSTS "pgbouncer: {auth_user: postgres}\n",
		     "pgbouncer.auth_user postgres is a role Patroni uses");
	refused_with(PGB_HOSTS "pgbouncer: {pool_mode: statment}\n",
		     "session, transaction or statement");
	refused_with(PGB_HOSTS "pgbouncer: {auth_user: \"x; drop\"}\n",
		     "pgbouncer.auth_user");
	/* the port check knows PgBouncer's port */
	refused_with(PGB_HOSTS "pgbouncer: {port: 5432}\n", "pgbouncer.port");
	/* on a host without the role the port is free */
	inv = loads(&res, "cluster: {name: t}\nhosts:\n  - {name: a, "
			  "address: 10.0.0.1, roles: [etcd, patroni, "
			  "haproxy]}\npgbouncer: {port: 8008}\n"
			  "patroni: {restapi_port: 8009}\n");
	result_release(&res);
}

static const struct hp_render_secrets secrets = {
	NULL, "s", "r", "w", "api", "St4ts-pw-0005", NULL, "PgbL00kup-pw-7",
};

static const struct hp_rendered_file *file(const struct hp_rendered *rd,
					   const char *path)
{
	const struct hp_rendered_file *f = hp_rendered_find(rd, path);

	assert_non_null(f);
	return f;
}

static void test_render(void **state)
{
	struct result res;
	struct hp_inventory *inv;
	struct hp_rendered rd = HP_RENDERED_INIT;
	const struct hp_rendered_file *ini, *ul, *ls, *ha;
	struct hp_render_secrets bad = secrets;
	struct hp_err err;

	(void)state;
	inv = loads(&res, PGB_HOSTS "tls: false\n"
				    "pgbouncer: {pool_mode: session, "
				    "default_pool_size: 7, port: 6543}\n");
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[1], &secrets,
					&err),
			 0);
	ini = file(&rd, "/etc/pgbouncer/pgbouncer.ini");
	ul = file(&rd, HP_PGB_USERLIST_PATH);
	ls = file(&rd, "/etc/pgbouncer/haprov_listen.ini");
	/* postgres, then each served database once */
	assert_non_null(strstr(ini->content,
			       "[databases]\n"
			       "postgres = host=127.0.0.1 port=5432 "
			       "dbname=postgres\n"
			       "appdb = host=127.0.0.1 port=5432 dbname=appdb\n"
			       "shared = host=127.0.0.1 port=5432 "
			       "dbname=shared\n"
			       "repdb = host=127.0.0.1 port=5432 "
			       "dbname=repdb\n\n"));
	assert_non_null(strstr(ini->content, "auth_user = pgbouncer\n"));
	assert_non_null(strstr(ini->content, "pool_mode = session\n"));
	assert_non_null(strstr(ini->content, "default_pool_size = 7\n"));
	assert_non_null(strstr(ini->content,
			       "%include /etc/pgbouncer/haprov_listen.ini\n"));
	assert_null(strstr(ini->content, "client_tls"));
	assert_null(strstr(ini->content, "PgbL00kup"));
	assert_true(ini->reload);
	assert_false(ini->secret);
	/* where it listens: a restart, not a reload */
	assert_non_null(strstr(ls->content, "listen_addr = 10.0.0.2,127.0.0.1\n"
					    "listen_port = 6543\n"));
	assert_false(ls->reload);
	/* the lookup password: only in the auth file, postgres's, 0600 */
	assert_string_equal(ul->content, "\"pgbouncer\" \"PgbL00kup-pw-7\"\n");
	assert_true(ul->secret);
	assert_int_equal(ul->mode, 0600);
	assert_string_equal(ul->owner, "postgres");
	/* HAProxy's servers: PgBouncer's port where the host has it */
	ha = file(&rd, "/etc/haproxy/haproxy.cfg");
	assert_non_null(strstr(ha->content, "server a 10.0.0.1:6543 "));
	assert_non_null(strstr(ha->content, "server b 10.0.0.2:6543 "));
	assert_non_null(strstr(ha->content, "server c 10.0.0.3:5432 "));
	hp_rendered_release(&rd);
	/* c has no PgBouncer: no files */
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[2], &secrets,
					&err),
			 0);
	assert_null(hp_rendered_find(&rd, "/etc/pgbouncer/pgbouncer.ini"));
	hp_rendered_release(&rd);
	/* a password that could end the field, or none */
	bad.pgbouncer_auth = "pw\" \"x";
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &bad, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "double quote"));
	bad.pgbouncer_auth = "pw\nx";
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &bad, &err),
			 HP_EINVALID);
	bad.pgbouncer_auth = NULL;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &bad, &err),
			 HP_EINVALID);
	result_release(&res);
}

/* With TLS on, both sides use the cluster's certificates. */
static void test_render_tls(void **state)
{
	struct result res;
	struct hp_inventory *inv;
	struct hp_rendered rd = HP_RENDERED_INIT;
	struct hp_err err;
	const char *c;

	(void)state;
	inv = loads(&res, PGB_HOSTS);
	assert_true(inv->tls.enabled);
	/* placeholders: the TLS material is not needed to render a plan */
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], NULL, &err),
			 0);
	c = file(&rd, "/etc/pgbouncer/pgbouncer.ini")->content;
	assert_non_null(strstr(c, "client_tls_sslmode = require\n"));
	assert_non_null(strstr(c, "client_tls_cert_file = /etc/patroni/tls/"
				  "host.crt\n"));
	assert_non_null(strstr(c, "client_tls_key_file = /etc/patroni/tls/"
				  "host.key\n"));
	assert_non_null(strstr(c, "server_tls_sslmode = verify-ca\n"));
	assert_non_null(strstr(c, "server_tls_ca_file = /etc/patroni/tls/"
				  "ca.crt\n"));
	assert_string_equal(file(&rd, HP_PGB_USERLIST_PATH)->content,
			    "\"pgbouncer\" \"<secret:pgbouncer_auth>\"\n");
	hp_rendered_release(&rd);
	result_release(&res);
}

/* ---- the leader ------------------------------------------------------------ */

static char *hex(const char *s)
{
	struct hp_buf b = HP_BUF_INIT;

	for (; *s; s++)
		hp_buf_addf(&b, "%02x", (unsigned char)*s);
	return hp_buf_detach(&b, NULL);
}

static void row(struct hp_buf *b, char tag, const char *a, const char *c,
		const char *d)
{
	char *x = hex(a), *y = d ? hex(d) : NULL;

	if (tag == 'R')
		hp_buf_addf(b, "R|%s|%s|%s\n", x, c, y ? y : "");
	else
		hp_buf_addf(b, "D|%s|%s\n", x, y);
	free(x);
	free(y);
}

static void state_of(struct hp_pg_state *st, const char *login,
		     const char *verifier, bool appdb)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;

	row(&b, 'R', "postgres", "t", "");
	if (login)
		row(&b, 'R', "pgbouncer", login, verifier);
	row(&b, 'D', "postgres", NULL, "postgres");
	row(&b, 'D', "template0", NULL, "postgres");
	row(&b, 'D', "template1", NULL, "postgres");
	if (appdb)
		row(&b, 'D', "appdb", NULL, "app");
	hp_buf_adds(&b, "E\n");
	assert_int_equal(hp_pg_state_parse(b.buf, b.len, st, &err), 0);
	hp_buf_release(&b);
}

static void test_decide(void **state)
{
	struct result res;
	struct hp_inventory *inv;
	struct hp_pg_state st;
	struct hp_pgb_plan p;
	struct hp_err err;
	char v[HP_SCRAM_VERIFIER_MAX];

	(void)state;
	inv = loads(&res, PGB_HOSTS);
	assert_int_equal(hp_scram_verifier_new(v, sizeof(v), "pw1", &err), 0);
	/* a new cluster: the role, and get_auth in template1 and postgres
	 * (appdb and shared do not exist yet: CREATE DATABASE copies it) */
	state_of(&st, NULL, NULL, false);
	hp_pgb_decide(inv, &st, "pw1", &p);
	assert_true(p.create_role);
	assert_true(p.set_password);
	assert_int_equal(p.dbs.nr, 2);
	assert_string_equal(p.dbs.items[0], "template1");
	assert_string_equal(p.dbs.items[1], "postgres");
	hp_pgb_plan_release(&p);
	hp_pg_state_release(&st);
	/* as it should be: nothing for the role; appdb is served and exists */
	state_of(&st, "t", v, true);
	hp_pgb_decide(inv, &st, "pw1", &p);
	assert_false(p.create_role);
	assert_false(p.set_login);
	assert_false(p.set_password);
	assert_int_equal(p.dbs.nr, 3);
	assert_string_equal(p.dbs.items[2], "appdb");
	hp_pgb_plan_release(&p);
	/* another password in the store; none known */
	hp_pgb_decide(inv, &st, "pw2", &p);
	assert_true(p.set_password);
	hp_pgb_plan_release(&p);
	hp_pgb_decide(inv, &st, NULL, &p);
	assert_true(p.set_password);
	hp_pgb_plan_release(&p);
	hp_pg_state_release(&st);
	/* NOLOGIN */
	state_of(&st, "f", v, false);
	hp_pgb_decide(inv, &st, "pw1", &p);
	assert_true(p.set_login);
	assert_false(p.create_role);
	hp_pgb_plan_release(&p);
	hp_pg_state_release(&st);
	result_release(&res);
}

static void assert_list(const struct hp_strlist *l, const char *const *want,
			size_t n)
{
	size_t i;

	assert_int_equal(l->nr, n);
	for (i = 0; i < n; i++)
		assert_string_equal(l->items[i], want[i]);
}

/* What pgbouncer.ini lists and where get_auth goes: postgres first, then
 * the roles' databases in inventory order (not sorted), each once, even
 * where the checks would let a repeat through; after what the caller put
 * first. */
static void test_served_databases(void **state)
{
	static const char *const loaded[] = { "postgres", "appdb", "shared",
					      "repdb" };
	static const char *const built[] = { "postgres", "zdb", "shared",
					     "appdb", "bdb" };
	static const char *const after[] = { "template1", "shared",
					     "postgres", "zdb", "appdb",
					     "bdb" };
	struct hp_secret_role roles[3];
	struct hp_inventory bare;
	struct hp_strlist l = { 0 };
	struct result res;
	size_t i;

	(void)state;
	hp_inventory_pgb_databases(loads(&res, PGB_HOSTS), &l);
	assert_list(&l, loaded, HP_ARRAY_SIZE(loaded));
	hp_strlist_clear(&l);
	result_release(&res);

	memset(&bare, 0, sizeof(bare));
	hp_inventory_pgb_databases(&bare, &l);
	assert_list(&l, built, 1);
	/* again on the same list: nothing more */
	hp_inventory_pgb_databases(&bare, &l);
	assert_list(&l, built, 1);
	hp_strlist_clear(&l);

	memset(roles, 0, sizeof(roles));
	hp_strlist_add(&roles[0].databases, "zdb");
	hp_strlist_add(&roles[0].databases, "shared");
	hp_strlist_add(&roles[1].databases, "shared");
	hp_strlist_add(&roles[1].databases, "postgres");
	hp_strlist_add(&roles[1].databases, "appdb");
	hp_strlist_add(&roles[2].databases, "zdb");
	hp_strlist_add(&roles[2].databases, "bdb");
	bare.secrets.roles = roles;
	bare.secrets.nr_roles = HP_ARRAY_SIZE(roles);
	hp_inventory_pgb_databases(&bare, &l);
	assert_list(&l, built, HP_ARRAY_SIZE(built));
	hp_strlist_clear(&l);
	hp_strlist_add(&l, "template1");
	hp_strlist_add(&l, "shared");
	hp_inventory_pgb_databases(&bare, &l);
	assert_list(&l, after, HP_ARRAY_SIZE(after));
	hp_strlist_clear(&l);
	for (i = 0; i < HP_ARRAY_SIZE(roles); i++)
		hp_strlist_clear(&roles[i].databases);
}

static void test_has_fn_parse(void **state)
{
	static const char *const bad[] = {"", "2\n", "1", "1\n1\n", "01\n",
					  "\x1b[2J\n", "1\r"};
	struct hp_err err;
	bool has = false;
	size_t i;

	(void)state;
	assert_int_equal(hp_pgb_has_fn_parse("1\n", 2, &has, &err), 0);
	assert_true(has);
	assert_int_equal(hp_pgb_has_fn_parse("0\n", 2, &has, &err), 0);
	assert_false(has);
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++)
		assert_int_equal(hp_pgb_has_fn_parse(bad[i], strlen(bad[i]),
						     &has, &err),
				 HP_EREMOTE);
	assert_int_equal(hp_pgb_has_fn_parse("1\0", 2, &has, &err), HP_EREMOTE);
}

static void test_sql(void **state)
{
	struct hp_pgb_plan p = { .create_role = true };
	struct hp_sql s;
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	hp_sql_init(&s);
	assert_int_equal(hp_pgb_role_sql(&s, &p, "pgbouncer",
					 "SCRAM-SHA-256$4096:x$y:z", &err),
			 0);
	hp_sql_script(&s, &out);
	/* names and the verifier as variables, never in the SQL text */
	assert_non_null(strstr(out.buf, "CREATE ROLE :\"u\" LOGIN"));
	assert_non_null(strstr(out.buf, "NOSUPERUSER"));
	assert_non_null(strstr(out.buf, "PASSWORD :'v'"));
	hp_buf_release(&out);
	hp_sql_release(&s);
	p.create_role = false;
	hp_sql_init(&s);
	assert_int_equal(hp_pgb_role_sql(&s, &p, "pgbouncer", "v", &err), 0);
	hp_sql_script(&s, &out);
	assert_non_null(strstr(out.buf, "ALTER ROLE :\"u\" LOGIN PASSWORD"));
	assert_null(strstr(out.buf, "CREATE ROLE"));
	hp_buf_release(&out);
	hp_sql_release(&s);
	/* the function: definer, no superuser's or replication role's row,
	 * callable by the lookup role only */
	hp_sql_init(&s);
	assert_int_equal(hp_pgb_fn_sql(&s, "pgbouncer", &err), 0);
	hp_sql_script(&s, &out);
	assert_non_null(strstr(out.buf, "SECURITY DEFINER"));
	assert_non_null(strstr(out.buf, "SET search_path = pg_catalog"));
	assert_non_null(strstr(out.buf, "NOT s.usesuper"));
	assert_non_null(strstr(out.buf, "NOT s.userepl"));
	assert_non_null(strstr(out.buf, "REVOKE ALL ON FUNCTION "
					"pgbouncer.get_auth(text) FROM "
					"PUBLIC"));
	assert_non_null(strstr(out.buf, "TO :\"u\""));
	hp_buf_release(&out);
	hp_sql_release(&s);
	/* a name psql could not take as a variable */
	hp_sql_init(&s);
	assert_true(hp_pgb_fn_sql(&s, "bad\nname", &err) < 0);
	hp_sql_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inventory),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_tls),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_served_databases),
		cmocka_unit_test(test_has_fn_parse),
		cmocka_unit_test(test_sql),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
