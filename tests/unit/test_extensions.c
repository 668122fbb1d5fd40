/*
 * The extensions phase (phases/extensions*.c): psql's answers are remote
 * text (parsed with caps, refused when hostile); the decision table
 * (create, update, drop, left alone, unavailable); the change script
 * keeps every name and version in its \set lines; plan reads and writes
 * nothing; a database that does not exist and that no role creates is
 * refused before any change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_rest.h"
#include "fake_transport.h"
#include "phases.h"
#include "render.h"

/* ---- the state parser ------------------------------------------------- */

static void test_parse_state(void **state)
{
	struct hp_ext_state st;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_ext_state_parse("E|plpgsql|1.0\n"
					    "E|Weird Name|1.0 beta\n"
					    "\n"
					    "A|pg_cron|1.4\nA|pg_cron|1.5",
					    &st, &err),
			 0);
	assert_int_equal(st.nr_installed, 2);
	assert_string_equal(st.installed[1].name, "Weird Name");
	assert_string_equal(st.installed[1].version, "1.0 beta");
	assert_int_equal(st.nr_available, 2);
	assert_string_equal(st.available[1].version, "1.5");
	hp_ext_state_release(&st);
	assert_int_equal(hp_ext_state_parse("", &st, &err), 0);
	assert_int_equal(st.nr_installed, 0);
	assert_int_equal(hp_ext_state_parse(NULL, &st, &err), 0);
}

static void test_parse_state_hostile(void **state)
{
	static const char *const bad[] = {
		"X|a|1\n",			     /* unknown kind */
		"E|a\n",			     /* no version */
		"E||1\n",			     /* empty name */
		"E|a|\n",			     /* empty version */
		"E|a|1|2\n",			     /* a '|' in the version */
		"E|a\x1b[2J|1\n",		     /* an escape */
		"E|a|1\x07\n",			     /* a bell */
		"E|caf\xc3\xa9|1\n",		     /* not ASCII */
		"EE|a|1\n",			     /* kind too long */
		"ERROR:  something\n",		     /* not ours at all */
		"E|aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|1\n",
	};
	struct hp_ext_state st;
	struct hp_err err;
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		hp_err_clear(&err);
		assert_int_equal(hp_ext_state_parse(bad[i], &st, &err),
				 HP_EREMOTE);
		assert_null(strchr(err.msg, '\x1b'));
		assert_null(strchr(err.msg, '\x07'));
		assert_null(st.installed);
	}
}

static void test_parse_state_cap(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_ext_state st;
	struct hp_err err;
	size_t i;

	(void)state;
	for (i = 0; i < HP_EXT_ROWS_MAX; i++)
		hp_buf_addf(&b, "E|e%zu|1\n", i);
	assert_int_equal(hp_ext_state_parse(b.buf, &st, &err), 0);
	assert_int_equal(st.nr_installed, HP_EXT_ROWS_MAX);
	hp_ext_state_release(&st);
	hp_buf_adds(&b, "E|one_more|1\n");
	assert_int_equal(hp_ext_state_parse(b.buf, &st, &err), HP_EREMOTE);
	assert_null(st.installed);
	hp_buf_release(&b);
}

/* ---- an inventory ------------------------------------------------------ */

/* tls: false: the subject is extensions over plaintext REST answers, not
 * TLS (test_render_tls.c, test_tls*.c). */
#define INV_HEAD                                                               \
	"cluster: {name: t}\n"                                                 \
	"tls: false\n"                                                         \
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"            \
	"hosts:\n"                                                             \
	"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n" \
	"  - {name: pg2, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n" \
	"  - {name: pg3, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n"

#define INV_EXT                                                                \
	INV_HEAD "extensions:\n"                                               \
		 "  databases:\n"                                              \
		 "    - name: app\n"                                           \
		 "      extensions:\n"                                         \
		 "        - pgcrypto\n"                                        \
		 "        - {name: pg_cron, version: \"1.5\"}\n"               \
		 "        - {name: vector, version: \"0.7\"}\n"                \
		 "        - citext\n"                                          \
		 "      absent: [hstore, ltree]\n"

static struct hp_inventory *inv_load(const char *yaml, struct hp_diags *d)
{
	struct hp_inventory *inv = NULL;

	if (hp_inventory_load_string(&inv, yaml, strlen(yaml), "/tmp/t.yml",
				     d) != 0)
		fail_msg("inventory refused:\n%s", yaml);
	return inv;
}

/* ---- the decision table ----------------------------------------------- */

static const char state_answer[] = "E|plpgsql|1.0\n"
				   "E|hstore|1.8\n"
				   "E|pg_cron|1.4\n"
				   "E|vector|0.7\n"
				   "E|citext|1.6\n"
				   "E|postgis|3.4\n"
				   "A|pgcrypto|1.3\n"
				   "A|pg_cron|1.4\n"
				   "A|pg_cron|1.5\n"
				   "A|vector|0.7\n"
				   "A|citext|1.6\n";

static void test_decide(void **state)
{
	struct hp_diags d = { 0 };
	struct hp_inventory *inv = inv_load(INV_EXT, &d);
	const struct hp_ext_db *db = &inv->extensions.databases[0];
	struct hp_ext_state st;
	struct hp_ext_plan p;
	struct hp_buf desc = HP_BUF_INIT;
	struct hp_err err;
	size_t i;
	static const char *const want[] = {
		"create pgcrypto in database app",
		"update pg_cron 1.4 -> 1.5 in database app",
		"drop hstore (version 1.8) from database app",
		"postgis (version 3.4) in database app: not in the inventory: "
		"left alone",
	};

	(void)state;
	assert_int_equal(hp_ext_state_parse(state_answer, &st, &err), 0);
	assert_int_equal(hp_ext_decide(db, &st, true, &p, &err), 0);
	/* vector and citext are as wanted; ltree is already absent;
	 * plpgsql is never reported */
	assert_int_equal(p.nr, HP_ARRAY_SIZE(want));
	assert_int_equal(hp_ext_plan_changes(&p), 3);
	for (i = 0; i < p.nr; i++) {
		hp_buf_reset(&desc);
		hp_ext_describe(&p.v[i], "app", &desc);
		assert_string_equal(desc.buf, want[i]);
	}
	assert_int_equal(p.v[0].op, HP_EXT_CREATE);
	assert_int_equal(p.v[1].op, HP_EXT_UPDATE);
	assert_int_equal(p.v[2].op, HP_EXT_DROP);
	assert_int_equal(p.v[3].op, HP_EXT_LEFT);
	hp_ext_plan_release(&p);
	hp_buf_release(&desc);
	/* the state as the inventory wants it: nothing to do */
	hp_ext_state_release(&st);
	assert_int_equal(hp_ext_state_parse("E|pgcrypto|1.3\nE|pg_cron|1.5\n"
					    "E|vector|0.7\nE|citext|1.6\n",
					    &st, &err),
			 0);
	assert_int_equal(hp_ext_decide(db, &st, true, &p, &err), 0);
	assert_int_equal(p.nr, 0);
	assert_true(hp_ext_state_ok(db, &st, &desc));
	hp_ext_plan_release(&p);
	hp_ext_state_release(&st);
	hp_buf_release(&desc);
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

static void test_decide_unavailable(void **state)
{
	struct hp_diags d = { 0 };
	struct hp_inventory *inv = inv_load(INV_EXT, &d);
	const struct hp_ext_db *db = &inv->extensions.databases[0];
	struct hp_ext_state st;
	struct hp_ext_plan p;
	struct hp_err err;

	(void)state;
	/* no package provides pgcrypto */
	assert_int_equal(hp_ext_state_parse("A|pg_cron|1.5\nA|vector|0.7\n"
					    "A|citext|1.6\n",
					    &st, &err),
			 0);
	assert_int_equal(hp_ext_decide(db, &st, true, &p, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "extension pgcrypto (database app) "
					"is not available"));
	assert_null(p.v);
	/* plan (check false): it would be created */
	assert_int_equal(hp_ext_decide(db, &st, false, &p, &err), 0);
	assert_int_equal(p.v[0].op, HP_EXT_CREATE);
	hp_ext_plan_release(&p);
	hp_ext_state_release(&st);
	/* pg_cron is there, but not at 1.5 */
	assert_int_equal(hp_ext_state_parse("A|pgcrypto|1.3\nA|pg_cron|1.4\n"
					    "A|vector|0.7\nA|citext|1.6\n",
					    &st, &err),
			 0);
	assert_int_equal(hp_ext_decide(db, &st, true, &p, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "extension pg_cron (database app): "
					"version 1.5 is not available"));
	hp_ext_state_release(&st);
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

static void test_state_ok(void **state)
{
	struct hp_diags d = { 0 };
	struct hp_inventory *inv = inv_load(INV_EXT, &d);
	const struct hp_ext_db *db = &inv->extensions.databases[0];
	struct hp_ext_state st;
	struct hp_buf why = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_ext_state_parse(state_answer, &st, &err), 0);
	assert_false(hp_ext_state_ok(db, &st, &why));
	assert_string_equal(why.buf,
			    "database app: extension pgcrypto is missing");
	hp_ext_state_release(&st);
	hp_buf_reset(&why);
	assert_int_equal(hp_ext_state_parse("E|pgcrypto|1.3\nE|pg_cron|1.4\n",
					    &st, &err),
			 0);
	assert_false(hp_ext_state_ok(db, &st, &why));
	assert_string_equal(why.buf, "database app: extension pg_cron is at "
				     "version 1.4, not 1.5");
	hp_ext_state_release(&st);
	hp_buf_reset(&why);
	assert_int_equal(hp_ext_state_parse("E|pgcrypto|1.3\nE|pg_cron|1.5\n"
					    "E|vector|0.7\nE|citext|1.6\n"
					    "E|ltree|1.2\n",
					    &st, &err),
			 0);
	assert_false(hp_ext_state_ok(db, &st, &why));
	assert_string_equal(why.buf, "database app: extension ltree is still "
				     "there (absent in the inventory)");
	hp_ext_state_release(&st);
	hp_buf_release(&why);
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

/* ---- the scripts -------------------------------------------------------- */

/* The SQL after the \set lines holds none of the values. */
static void assert_text_has_no(const struct hp_sql *s, const char *v)
{
	if (strstr(s->text.buf, v))
		fail_msg("value %s in the SQL text:\n%s", v, s->text.buf);
}

static void test_change_sql(void **state)
{
	struct hp_ext_plan p = { 0 };
	struct hp_ext_action a[4] = {
		{ HP_EXT_CREATE, "pg_cron", "1.5'; DROP TABLE x; --", NULL },
		{ HP_EXT_UPDATE, "vector", "0.8", "0.7" },
		{ HP_EXT_DROP, "hstore", NULL, "1.8" },
		{ HP_EXT_LEFT, "postgis", NULL, "3.4" },
	};
	struct hp_buf out = HP_BUF_INIT;
	struct hp_sql s;
	struct hp_err err;

	(void)state;
	p.v = a;
	p.nr = p.alloc = 4;
	hp_sql_init(&s);
	assert_int_equal(hp_ext_change_sql(&s, &p, &err), 0);
	assert_string_equal(s.text.buf,
			    "BEGIN;\n"
			    "CREATE EXTENSION IF NOT EXISTS :\"e0\" VERSION "
			    ":'v0';\n"
			    "ALTER EXTENSION :\"e1\" UPDATE TO :'v1';\n"
			    "DROP EXTENSION :\"e2\";\n"
			    "COMMIT;\n");
	assert_text_has_no(&s, "pg_cron");
	assert_text_has_no(&s, "DROP TABLE");
	assert_text_has_no(&s, "postgis");
	assert_null(strstr(s.text.buf, "CASCADE"));
	hp_sql_script(&s, &out);
	assert_non_null(strstr(out.buf, "\\set v0 '1.5''; DROP TABLE x; --'\n"));
	assert_non_null(strstr(out.buf, "\\set e2 'hstore'\n"));
	assert_null(strstr(out.buf, "postgis"));
	hp_buf_release(&out);
	hp_sql_release(&s);
	/* a version psql could misread is refused, not pasted */
	a[0].version = "1.5\\";
	hp_sql_init(&s);
	assert_int_equal(hp_ext_change_sql(&s, &p, &err), HP_EINVALID);
	hp_sql_release(&s);
}

static void test_state_and_dbs_sql(void **state)
{
	struct hp_diags d = { 0 };
	struct hp_inventory *inv = inv_load(INV_EXT, &d);
	struct hp_sql s;
	struct hp_err err;
	bool exists[1];

	(void)state;
	hp_sql_init(&s);
	assert_int_equal(hp_ext_state_sql(&s, &inv->extensions.databases[0],
					  &err),
			 0);
	assert_text_has_no(&s, "pgcrypto");
	assert_non_null(strstr(s.text.buf, "WHERE name IN (:'n0', :'n1', "
					   ":'n2', :'n3')"));
	assert_non_null(strstr(s.vars.buf, "\\set n0 'pgcrypto'\n"));
	hp_sql_release(&s);
	hp_sql_init(&s);
	assert_int_equal(hp_ext_dbs_sql(&s, &inv->extensions, &err), 0);
	assert_text_has_no(&s, "app");
	assert_non_null(strstr(s.vars.buf, "\\set d0 'app'\n"));
	hp_sql_release(&s);
	/* the answer names only databases of the inventory */
	assert_int_equal(hp_ext_dbs_parse("D|app\n", &inv->extensions, exists,
					  &err),
			 0);
	assert_true(exists[0]);
	assert_int_equal(hp_ext_dbs_parse("", &inv->extensions, exists, &err),
			 0);
	assert_false(exists[0]);
	assert_int_equal(hp_ext_dbs_parse("D|apps\n", &inv->extensions, exists,
					  &err),
			 HP_EREMOTE);
	assert_int_equal(hp_ext_dbs_parse("D|ap\n", &inv->extensions, exists,
					  &err),
			 HP_EREMOTE);
	assert_int_equal(hp_ext_dbs_parse("X|app\n", &inv->extensions, exists,
					  &err),
			 HP_EREMOTE);
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

static void test_preload_and_lsn(void **state)
{
	(void)state;
	assert_true(hp_ext_preload_has("pg_cron,pgaudit\n", "pgaudit"));
	assert_true(hp_ext_preload_has("pg_stat_statements, pg_cron\n",
				       "pg_cron"));
	assert_true(hp_ext_preload_has("\"pg_cron\"", "pg_cron"));
	assert_false(hp_ext_preload_has("pg_cronx\n", "pg_cron"));
	assert_false(hp_ext_preload_has("xpg_cron", "pg_cron"));
	assert_false(hp_ext_preload_has("\n", "pg_cron"));
	assert_false(hp_ext_preload_has(NULL, "pg_cron"));
	assert_true(hp_ext_lsn_ok("16/B374D848", 11));
	assert_true(hp_ext_lsn_ok("0/0", 3));
	assert_false(hp_ext_lsn_ok("0/", 2));
	assert_false(hp_ext_lsn_ok("/0", 2));
	assert_false(hp_ext_lsn_ok("0/0/0", 5));
	assert_false(hp_ext_lsn_ok("0/0'", 4));
	assert_false(hp_ext_lsn_ok("16/b374d848", 11));
	assert_false(hp_ext_lsn_ok("123456789/0", 11));
}

/* ---- the phase over fakes ---------------------------------------------- */

struct px {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake fake[3];
	struct hp_fake_rest rest;
	struct hp_err err;
};

#define MEMBER(n, role, state)                                                 \
	"{\"name\": \"" n "\", \"role\": \"" role "\", \"state\": \"" state    \
	"\", \"host\": \"10.0.0.9\", \"timeline\": 1, \"lag\": 0}"

static struct px *px_new(const char *yaml, bool plan)
{
	static const char cluster[] =
		"{\"members\": [" MEMBER("pg1", "replica", "streaming") ", "
		MEMBER("pg2", "leader", "running") ", "
		MEMBER("pg3", "replica", "streaming") "]}";
	struct px *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;
	json_t *dcs = NULL;
	char *cfg;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.plan = plan;
	x->inv = inv_load(yaml, &x->diags);
	hp_run_init(&x->run, x->inv, &o);
	for (i = 0; i < 3; i++) {
		hp_fake_init(&x->fake[i]);
		hp_fake_transport(&x->fake[i], &x->run.hosts[i].tr,
				  x->inv->hosts[i].name);
	}
	hp_fake_rest_init(&x->rest);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &x->rest;
	/* Patroni's settings are the inventory's: no DCS change */
	assert_int_equal(hp_render_dcs_json(&dcs, x->inv, &x->err), 0);
	cfg = json_dumps(dcs, JSON_COMPACT);
	hp_fake_rest_expect(&x->rest, "GET", ":8008/cluster", 200, cluster, 0);
	hp_fake_rest_expect(&x->rest, "GET", "10.0.0.2:8008/config", 200, cfg,
			    0);
	hp_fake_rest_expect(&x->rest, "GET", ":8008/patroni", 200,
			    "{\"state\": \"running\"}", 0);
	free(cfg);
	json_decref(dcs);
	hp_err_clear(&x->err);
	return x;
}

static void px_free(struct px *x)
{
	size_t i;

	hp_run_release(&x->run);
	for (i = 0; i < 3; i++)
		hp_fake_release(&x->fake[i]);
	hp_fake_rest_release(&x->rest);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

static size_t count_changed(const struct hp_run *run, const char *needle)
{
	size_t i, n = 0;

	for (i = 0; i < run->nr_results; i++)
		if (run->results[i].status == HP_STEP_CHANGED &&
		    run->results[i].detail &&
		    strstr(run->results[i].detail, needle))
			n++;
	return n;
}

static void test_plan_writes_nothing(void **state)
{
	struct px *x = px_new(INV_EXT, true);
	size_t i, k;
	const char *const states[] = { "D|app\n", state_answer };
	long sc;

	(void)state;
	x->run.phase = "extensions";
	/* the databases and every database's extensions: one session */
	hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", states, 2);
	if (hp_extensions_converge(&x->run, &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "psql"),
			 1);
	sc = hp_fake_find_call(&x->fake[1], HP_FAKE_EXEC, "'-d' 'postgres'", 0);
	assert_true(sc >= 0);
	assert_non_null(strstr(x->fake[1].calls[sc].data,
			       "\\set hp_session_db 'app'\n"
			       "\\connect :\"hp_session_db\"\n"));
	assert_int_equal(count_changed(&x->run, "create pgcrypto in database "
						"app"),
			 1);
	assert_int_equal(count_changed(&x->run, "update pg_cron 1.4 -> 1.5"),
			 1);
	assert_int_equal(count_changed(&x->run, "drop hstore"), 1);
	assert_int_equal(count_changed(&x->run, "postgis"), 0);
	/* reads only: no host lock, no DDL, nothing written */
	for (k = 0; k < 3; k++)
		for (i = 0; i < x->fake[k].nr_calls; i++) {
			const struct hp_fake_call *c = &x->fake[k].calls[i];

			assert_int_equal(c->op, HP_FAKE_EXEC);
			assert_null(strstr(c->what, "flock"));
			assert_true(!c->data ||
				    (!strstr(c->data, "CREATE EXTENSION") &&
				     !strstr(c->data, "DROP EXTENSION") &&
				     !strstr(c->data, "ALTER EXTENSION")));
		}
	assert_int_equal(hp_fake_rest_count(&x->rest, "PATCH", "/"), 0);
	assert_int_equal(hp_fake_rest_count(&x->rest, "POST", "/"), 0);
	px_free(x);
}

/* The one session fails (a database gone between two questions, or any
 * psql error): the databases are asked on their own, then the states. */
static void test_read_falls_back(void **state)
{
	struct px *x = px_new(INV_EXT, true);
	const char *const both[] = { "D|app\n", state_answer };
	const char *const states[] = { state_answer };

	(void)state;
	x->run.phase = "extensions";
	hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", both, 2)
		->exit_code = 2;
	x->fake[1].expects[0]->times = 1;
	hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", states, 1);
	hp_fake_expect(&x->fake[1], "'-d' 'postgres'", 0, "D|app\n", "");
	if (hp_extensions_converge(&x->run, &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "psql"),
			 3);
	assert_int_equal(count_changed(&x->run, "create pgcrypto in database "
						"app"),
			 1);
	px_free(x);
}

/* What was read with the databases is read again once the run changed
 * something since (here plan's packages to install: what is available
 * may differ once they are). */
static void test_read_again_after_a_change(void **state)
{
	static const char yaml[] =
		INV_EXT "  packages: [postgresql-15-cron]\n";
	/* an apply that installs the package: read again after it (and
	 * what the second read says is what counts: all there, nothing
	 * to do) */
	static const char done[] = "E|plpgsql|1.0\nE|pgcrypto|1.3\n"
				   "E|pg_cron|1.5\nE|vector|0.7\n"
				   "E|citext|1.6\nA|pgcrypto|1.3\n"
				   "A|pg_cron|1.5\nA|vector|0.7\n"
				   "A|citext|1.6\n";
	static const char streaming[] =
		"{\"state\": \"running\", \"replication\": ["
		"{\"application_name\": \"pg1\", \"state\": \"streaming\"}, "
		"{\"application_name\": \"pg3\", \"state\": \"streaming\"}]}";
	struct px *x = px_new(yaml, false);
	const char *const both[] = { "D|app\n", state_answer };
	const char *const states[] = { done };
	size_t k;

	(void)state;
	/* the leader says its replicas stream: a stable cluster */
	for (k = 0; k < x->rest.nr_exp; k++)
		if (!strcmp(x->rest.exp[k].match, ":8008/patroni")) {
			free(x->rest.exp[k].body);
			x->rest.exp[k].body = xstrdup(streaming);
			x->rest.exp[k].body_len = strlen(streaming);
		}
	x->run.phase = "extensions";
	hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", both, 2)
		->times = 1;
	hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", states, 1);
	for (k = 0; k < 3; k++) {
		hp_fake_expect(&x->fake[k], "dpkg-query", 0, "P \n", "");
		hp_fake_expect(&x->fake[k], "apt-get", 0, "", "");
	}
	if (hp_extensions_converge(&x->run, &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "psql"),
			 2);
	assert_int_equal(count_changed(&x->run, "CREATE"), 0);
	px_free(x);

	/* a plan that would install it changes nothing: read once */
	x = px_new(yaml, true);
	x->run.phase = "extensions";
	hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", both, 2);
	for (k = 0; k < 3; k++)
		hp_fake_expect(&x->fake[k], "dpkg-query", 0, "P \n", "");
	if (hp_extensions_converge(&x->run, &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "psql"),
			 1);
	px_free(x);

	/* no package to install: read once */
	x = px_new(yaml, true);
	x->run.phase = "extensions";
	hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", both, 2);
	for (k = 0; k < 3; k++)
		hp_fake_expect(&x->fake[k], "dpkg-query", 0, "P ii\n", "");
	if (hp_extensions_converge(&x->run, &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "psql"),
			 1);
	px_free(x);
}

/* A database that does not exist and that no role creates: refused
 * before anything else is asked or done. */
static void test_unknown_database(void **state)
{
	struct px *x = px_new(INV_EXT, false);

	(void)state;
	x->run.phase = "extensions";
	hp_fake_expect(&x->fake[1], "'-d' 'postgres'", 0, "", "");
	assert_int_equal(hp_extensions_converge(&x->run, &x->err), HP_EINVALID);
	assert_non_null(strstr(x->err.msg, "database app "
					   "(extensions.databases[0]) does "
					   "not exist on pg2 and no "
					   "secrets.roles entry creates it"));
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "'-d' 'app'"),
			 0);
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "flock"),
			 0);
	assert_int_equal(hp_fake_rest_count(&x->rest, "PATCH", "/"), 0);
	px_free(x);
}

/* A role creates it: plan says so; apply wants it there by now. */
static void test_database_a_role_creates(void **state)
{
	static const char yaml[] =
		INV_EXT "secrets:\n"
			"  roles:\n"
			"    - {name: appuser, databases: [app]}\n";
	struct px *x = px_new(yaml, true);

	(void)state;
	x->run.phase = "extensions";
	hp_fake_expect(&x->fake[1], "'-d' 'postgres'", 0, "", "");
	if (hp_extensions_converge(&x->run, &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_int_equal(count_changed(&x->run, "(the secrets phase creates "
						"the database first)"),
			 4);
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "'-d' 'app'"),
			 0);
	px_free(x);
	x = px_new(yaml, false);
	x->run.phase = "extensions";
	hp_fake_expect(&x->fake[1], "'-d' 'postgres'", 0, "", "");
	assert_int_equal(hp_extensions_converge(&x->run, &x->err), HP_EINVALID);
	assert_non_null(strstr(x->err.msg, "the secrets phase should have "
					   "created it"));
	px_free(x);
}

/* Verify names the member, the database and the extension. */
static void test_verify_names_what_failed(void **state)
{
	static const char yaml[] =
		INV_EXT "  shared_preload_libraries: [pg_cron]\n";
	static const char good[] = "E|pgcrypto|1.3\nE|pg_cron|1.5\n"
				   "E|vector|0.7\nE|citext|1.6\n";
	struct px *x = px_new(yaml, false);

	(void)state;
	x->run.phase = "extensions";
	/* the leader pg2: its WAL position first (GET /patroni does not say
	 * it here: from psql), then, with the other members in parallel,
	 * one session each: the preload, replayed?, database app */
	{
		const char *const leader[] = { "pg_stat_statements,pg_cron\n",
					       "t\n", good };
		const char *const pg1[] = { "pg_stat_statements\x1b[2J\n",
					    "t\n", good };

		hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", leader,
				       3);
		hp_fake_expect(&x->fake[1], "'-d' 'postgres'", 0,
			       "0/3000060\n", "");
		/* pg1: no pg_cron in its preload */
		hp_fake_expect_session(&x->fake[0], "'-d' 'postgres'", pg1, 3);
	}
	assert_int_equal(hp_extensions_verify(&x->run, &x->err), HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "pg1: shared_preload_libraries is "
					   "'pg_stat_statements"));
	assert_non_null(strstr(x->err.msg, "no pg_cron"));
	assert_null(strchr(x->err.msg, '\x1b'));
	/* a replica's session asks about the leader's position */
	assert_true(hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, "psql", 0) >=
		    0);
	assert_non_null(strstr(x->fake[0].calls[0].data,
			       "\\set lsn '0/3000060'"));
	px_free(x);

	/* pg1 replayed the leader's position, but lacks pgcrypto */
	x = px_new(yaml, false);
	x->run.phase = "extensions";
	{
		const char *const leader[] = { "pg_cron\n", "t\n", good };
		const char *const pg1[] = { "pg_cron\n", "t\n",
					    "E|pg_cron|1.5\n" };

		hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", leader,
				       3);
		hp_fake_expect(&x->fake[1], "'-d' 'postgres'", 0,
			       "0/3000060\n", "");
		hp_fake_expect_session(&x->fake[0], "'-d' 'postgres'", pg1, 3);
	}
	assert_int_equal(hp_extensions_verify(&x->run, &x->err), HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "pg1: database app: extension "
					   "pgcrypto is missing"));
	px_free(x);
}

/* What px_new's GET /patroni expectation answers, from now on. */
static void set_patroni_answer(struct px *x, const char *body)
{
	size_t i;

	for (i = 0; i < x->rest.nr_exp; i++) {
		if (strcmp(x->rest.exp[i].match, ":8008/patroni") != 0)
			continue;
		free(x->rest.exp[i].body);
		x->rest.exp[i].body = xstrdup(body);
		x->rest.exp[i].body_len = strlen(body);
	}
}

/* The leader's position from GET /patroni; a replica that has not
 * replayed it yet is asked again, and its catalogs read after. */
static void test_verify_waits_for_replay(void **state)
{
	static const char yaml[] =
		INV_EXT "  shared_preload_libraries: [pg_cron]\n";
	static const char good[] = "E|pgcrypto|1.3\nE|pg_cron|1.5\n"
				   "E|vector|0.7\nE|citext|1.6\n";
	const char *const leader[] = { "pg_cron\n", "\n", good };
	const char *const stale[] = { "pg_cron\n", "f\n", "" };
	struct px *x = px_new(yaml, false);
	size_t k;

	(void)state;
	x->run.phase = "extensions";
	/* 0x3000060 = 50331744: "0/3000060" (every member answers GET
	 * /patroni alike here: only the leader's is asked for it) */
	set_patroni_answer(x, "{\"state\": \"running\", \"role\": "
			      "\"master\", \"xlog\": {\"location\": "
			      "50331744}}");
	hp_fake_expect_session(&x->fake[1], "'-d' 'postgres'", leader, 3);
	for (k = 0; k < 3; k += 2) {
		hp_fake_expect_session(&x->fake[k], "'-d' 'postgres'", stale,
				       3);
		/* asked again: replayed now */
		hp_fake_expect(&x->fake[k], "'-d' 'postgres'", 0, "t\n", "");
		hp_fake_expect(&x->fake[k], "'-d' 'app'", 0, good, "");
	}
	if (hp_extensions_verify(&x->run, &x->err) != 0)
		fail_msg("%s", x->err.msg);
	for (k = 0; k < 3; k += 2) {
		assert_non_null(strstr(x->fake[k].calls[0].data,
				       "\\set lsn '0/3000060'"));
		assert_int_equal(hp_fake_count_calls(&x->fake[k], HP_FAKE_EXEC,
						     "'-d' 'app'"),
				 1);
	}
	/* the leader's position did not come from psql */
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					     "psql"),
			 1);
	px_free(x);
}

static void test_lsn_from_status(void **state)
{
	char lsn[32];
	json_t *j;

	(void)state;
	j = json_loads("{\"role\": \"master\", \"xlog\": {\"location\": "
		       "94489280512}}",
		       0, NULL);
	assert_true(hp_ext_lsn_from_status(j, lsn, sizeof(lsn)));
	assert_string_equal(lsn, "16/0");
	json_decref(j);
	j = json_loads("{\"role\": \"primary\", \"xlog\": {\"location\": "
		       "50331744}}",
		       0, NULL);
	assert_true(hp_ext_lsn_from_status(j, lsn, sizeof(lsn)));
	assert_string_equal(lsn, "0/3000060");
	assert_true(hp_ext_lsn_ok(lsn, strlen(lsn)));
	assert_false(hp_ext_lsn_from_status(j, lsn, 5)); /* no room */
	json_decref(j);
	/* a replica, a negative or non-integer position, no answer */
	j = json_loads("{\"role\": \"replica\", \"xlog\": "
		       "{\"location\": 5}}",
		       0, NULL);
	assert_false(hp_ext_lsn_from_status(j, lsn, sizeof(lsn)));
	json_decref(j);
	j = json_loads("{\"role\": \"master\", \"xlog\": "
		       "{\"location\": -1}}",
		       0, NULL);
	assert_false(hp_ext_lsn_from_status(j, lsn, sizeof(lsn)));
	json_decref(j);
	j = json_loads("{\"role\": \"master\", \"xlog\": "
		       "{\"location\": \"0/1\"}}",
		       0, NULL);
	assert_false(hp_ext_lsn_from_status(j, lsn, sizeof(lsn)));
	json_decref(j);
	assert_false(hp_ext_lsn_from_status(NULL, lsn, sizeof(lsn)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_state),
		cmocka_unit_test(test_parse_state_hostile),
		cmocka_unit_test(test_parse_state_cap),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_unavailable),
		cmocka_unit_test(test_state_ok),
		cmocka_unit_test(test_change_sql),
		cmocka_unit_test(test_state_and_dbs_sql),
		cmocka_unit_test(test_preload_and_lsn),
		cmocka_unit_test(test_plan_writes_nothing),
		cmocka_unit_test(test_read_falls_back),
		cmocka_unit_test(test_read_again_after_a_change),
		cmocka_unit_test(test_unknown_database),
		cmocka_unit_test(test_database_a_role_creates),
		cmocka_unit_test(test_verify_names_what_failed),
		cmocka_unit_test(test_verify_waits_for_replay),
		cmocka_unit_test(test_lsn_from_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
