/*
 * The secrets phase (phases/secrets*.c): the parser of PostgreSQL's state
 * against hostile psql output, the decisions (create, alter or nothing;
 * a password changed only when the verifier does not match; a missing
 * secret generated only when no password is in use), the write script,
 * plan writing nothing (not even the store), apply writing nothing when
 * nothing differs, and the verification's REST and login checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define HP_TMPDIR_PREFIX "/tmp/hp-secph-"
#include "fake_rest.h"
#include "fake_transport.h"
#include "pglogin.h"
#include "scram.h"
#include "secret_store.h"
#include "secrets_priv.h"
#include "staged_fixture.h"
#include "tmpdir_fixture.h"

/* ---- helpers --------------------------------------------------------------- */

/* Hex of s, as encode(convert_to(s, 'UTF8'), 'hex') gives it. */
static char *hex(const char *s)
{
	struct hp_buf b = HP_BUF_INIT;

	for (; *s; s++)
		hp_buf_addf(&b, "%02x", (unsigned char)*s);
	return hp_buf_detach(&b, NULL);
}

/* Append a role row / database row to b. */
static void row_role(struct hp_buf *b, const char *name, bool login,
		     const char *pw)
{
	char *n = hex(name), *p = hex(pw ? pw : "");

	hp_buf_addf(b, "R|%s|%c|%s\n", n, login ? 't' : 'f', p);
	free(n);
	free(p);
}

static void row_db(struct hp_buf *b, const char *name, const char *owner)
{
	char *n = hex(name), *o = hex(owner);

	hp_buf_addf(b, "D|%s|%s\n", n, o);
	free(n);
	free(o);
}

static int parse(const char *s, struct hp_pg_state *st, struct hp_err *err)
{
	return hp_pg_state_parse(s, strlen(s), st, err);
}

/* ---- the state parser --------------------------------------------------------- */

static void test_parse_ok(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_pg_state st;
	struct hp_err err;
	char v[HP_SCRAM_VERIFIER_MAX];

	(void)state;
	assert_int_equal(hp_scram_verifier_new(v, sizeof(v), "pw", &err), 0);
	row_role(&b, "dba", true, v);
	row_role(&b, "pg_monitor", false, NULL);
	row_role(&b, "we|ird\nname", true, "md5a3556571e93b0d20722ba62be61e8c2d");
	row_db(&b, "postgres", "dba");
	row_db(&b, "appdb", "dba");
	hp_buf_adds(&b, "E\n");
	assert_int_equal(parse(b.buf, &st, &err), 0);
	assert_int_equal(st.nr_roles, 3);
	assert_int_equal(st.nr_dbs, 2);
	assert_true(hp_pg_state_role(&st, "dba")->login);
	assert_true(hp_scram_matches(hp_pg_state_role(&st, "dba")->verifier,
				     "pw"));
	assert_false(hp_pg_state_role(&st, "pg_monitor")->has_password);
	assert_null(hp_pg_state_role(&st, "pg_monitor")->verifier);
	assert_non_null(hp_pg_state_role(&st, "we|ird\nname"));
	assert_string_equal(hp_pg_state_db(&st, "appdb")->owner, "dba");
	assert_null(hp_pg_state_db(&st, "nope"));
	hp_pg_state_release(&st);
	/* no trailing newline is fine; an empty cluster answer too */
	assert_int_equal(parse("E", &st, &err), 0);
	hp_pg_state_release(&st);
	hp_buf_release(&b);
}

static void test_parse_hostile(void **state)
{
	static const char *const bad[] = {
		"",                                   /* no end marker */
		"R|617070|t|\n",                      /* no end marker */
		"E\nE\n",                             /* twice */
		"E\nR|617070|t|\n",                   /* after the end */
		"X|617070\nE\n",                      /* unknown tag */
		"R|617070|t\nE\n",                    /* a field short */
		"R|617070|t||\nE\n",                  /* a field too many */
		"R|617070|y|\nE\n",                   /* not t/f */
		"R|617070|tt|\nE\n",
		"R||t|\nE\n",                         /* empty name */
		"R|61707|t|\nE\n",                    /* odd hex */
		"R|6170zz|t|\nE\n",                   /* not hex */
		"R|6170 70|t|\nE\n",
		"R|617000|t|\nE\n",                   /* a NUL byte */
		"R|6170|t|\nR|6170|f|\nE\n",          /* duplicate role */
		"R|617070|t|4\nE\n",                  /* odd password hex */
		"D|6462\nE\n",                        /* no owner */
		"D|6462|\nE\n",                       /* empty owner */
		"D|6462|6f|x\nE\n",
		"D|6462|6f\nD|6462|6f\nE\n",          /* duplicate database */
		"R|617070|t|\r\nE\n",                 /* CR */
		"e\n",
		" E\n",
	};
	struct hp_pg_state st;
	struct hp_err err;
	struct hp_buf b = HP_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		hp_err_clear(&err);
		if (parse(bad[i], &st, &err) != HP_EREMOTE)
			fail_msg("accepted bad[%zu]", i);
		assert_printable(err.msg);
		assert_null(strstr(err.msg, "617070"));
		hp_pg_state_release(&st);
	}
	/* a name over 63 bytes */
	hp_buf_adds(&b, "R|");
	for (i = 0; i < 64; i++)
		hp_buf_adds(&b, "61");
	hp_buf_adds(&b, "|t|\nE\n");
	assert_int_equal(parse(b.buf, &st, &err), HP_EREMOTE);
	hp_pg_state_release(&st);
	/* too many rows */
	hp_buf_reset(&b);
	for (i = 0; i <= HP_SECRETS_STATE_ROWS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r%zu", i);
		row_role(&b, name, false, NULL);
	}
	hp_buf_adds(&b, "E\n");
	assert_int_equal(parse(b.buf, &st, &err), HP_EREMOTE);
	hp_pg_state_release(&st);
	/* a NUL inside the answer */
	assert_int_equal(hp_pg_state_parse("R|6170\0|t|\nE\n", 13, &st, &err),
			 HP_EREMOTE);
	hp_pg_state_release(&st);
	/* a password too long to be a verifier: has one, none kept */
	hp_buf_reset(&b);
	hp_buf_adds(&b, "R|617070|t|");
	for (i = 0; i < HP_SCRAM_VERIFIER_MAX; i++)
		hp_buf_adds(&b, "41");
	hp_buf_adds(&b, "\nE\n");
	assert_int_equal(parse(b.buf, &st, &err), 0);
	assert_true(hp_pg_state_role(&st, "app")->has_password);
	assert_null(hp_pg_state_role(&st, "app")->verifier);
	hp_pg_state_release(&st);
	hp_buf_release(&b);
}

/* ---- decisions --------------------------------------------------------------- */

static struct hp_secret_role *role(const char *name, bool login,
				   const char *db1, const char *db2)
{
	struct hp_secret_role *r = xcalloc(1, sizeof(*r));

	r->name = xstrdup(name);
	r->login = login;
	if (db1)
		hp_strlist_add(&r->databases, db1);
	if (db2)
		hp_strlist_add(&r->databases, db2);
	return r;
}

static void role_free(struct hp_secret_role *r)
{
	free(r->name);
	hp_strlist_clear(&r->databases);
	free(r);
}

static void state_of(struct hp_pg_state *st, const char *pw_of_app,
		     bool app_login, const char *appdb_owner)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	char v[HP_SCRAM_VERIFIER_MAX] = "";

	if (pw_of_app)
		assert_int_equal(hp_scram_verifier_new(v, sizeof(v), pw_of_app,
						       &err),
				 0);
	row_role(&b, "dba", true, "x");
	row_role(&b, "app", app_login, v);
	row_db(&b, "postgres", "dba");
	if (appdb_owner)
		row_db(&b, "appdb", appdb_owner);
	hp_buf_adds(&b, "E\n");
	assert_int_equal(parse(b.buf, st, &err), 0);
	hp_buf_release(&b);
}

static void test_decide(void **state)
{
	struct hp_secret_role *app = role("app", true, "appdb", "other");
	struct hp_pg_state st, empty;
	struct hp_role_plan p;
	struct hp_buf d = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	memset(&empty, 0, sizeof(empty));
	/* nothing there: create all, generate the missing secret */
	assert_int_equal(hp_role_decide(app, &empty, NULL, "/s", &p, &err), 0);
	assert_true(p.create && p.generate && p.set_password);
	assert_false(p.set_login);
	assert_int_equal(p.create_dbs.nr, 2);
	hp_role_plan_describe(&p, &empty, &d);
	assert_string_equal(d.buf, "generate secret role-app in the store; "
				   "create role app (login); create database "
				   "appdb owner app; create database other "
				   "owner app");
	hp_role_plan_release(&p);

	/* as wanted: nothing */
	state_of(&st, "s3cret", true, "app");
	app->databases.nr = 1; /* appdb only */
	assert_int_equal(hp_role_decide(app, &st, "s3cret", "/s", &p, &err), 0);
	assert_true(hp_role_plan_empty(&p));
	hp_role_plan_release(&p);
	/* another password: set it; nologin wanted: alter */
	app->login = false;
	assert_int_equal(hp_role_decide(app, &st, "s3creT", "/s", &p, &err), 0);
	assert_true(p.set_password && p.set_login);
	assert_false(p.create || p.generate);
	hp_buf_reset(&d);
	hp_role_plan_describe(&p, &st, &d);
	assert_string_equal(d.buf, "set NOLOGIN of app; set password of app");
	assert_null(strstr(d.buf, "s3cre"));
	hp_role_plan_release(&p);
	app->login = true;
	/* the store lost the secret of a role with a password: refused */
	hp_err_clear(&err);
	assert_int_equal(hp_role_decide(app, &st, NULL, "/the/store", &p, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "/the/store"));
	assert_non_null(strstr(err.msg, "role-app"));
	hp_role_plan_release(&p);
	hp_pg_state_release(&st);

	/* the role has no password: the missing secret is generated */
	state_of(&st, NULL, true, "dba");
	assert_int_equal(hp_role_decide(app, &st, NULL, "/s", &p, &err), 0);
	assert_true(p.generate && p.set_password);
	assert_false(p.create);
	assert_int_equal(p.owner_dbs.nr, 1);
	hp_buf_reset(&d);
	hp_role_plan_describe(&p, &st, &d);
	assert_non_null(strstr(d.buf, "set owner of database appdb: dba -> "
				      "app"));
	hp_role_plan_release(&p);
	/* no password, secret in the store: set it */
	assert_int_equal(hp_role_decide(app, &st, "s3cret", "/s", &p, &err), 0);
	assert_true(p.set_password);
	assert_false(p.generate);
	hp_role_plan_release(&p);
	hp_pg_state_release(&st);
	hp_buf_release(&d);
	app->databases.nr = 2;
	role_free(app);
}

static void test_plan_sql(void **state)
{
	struct hp_secret_role *app = role("app", true, "appdb", "old");
	struct hp_role_plan p;
	struct hp_pg_state st;
	struct hp_sql s;
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.want = app;
	p.create = p.set_password = true;
	hp_strlist_add(&p.create_dbs, "appdb");
	hp_strlist_add(&p.owner_dbs, "old");
	hp_sql_init(&s);
	assert_int_equal(hp_role_plan_sql(&p, "SCRAM-SHA-256$x", &s, &err), 0);
	hp_sql_script(&s, &out);
	assert_string_equal(
		out.buf,
		"\\set r 'app'\n"
		"\\set v 'SCRAM-SHA-256$x'\n"
		"\\set d0 'appdb'\n"
		"\\set d1 'old'\n"
		"CREATE ROLE :\"r\" LOGIN PASSWORD :'v';\n"
		"SELECT format('CREATE DATABASE %I OWNER %I', :'d0', :'r') "
		"WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = "
		":'d0') \\gexec\n"
		"ALTER DATABASE :\"d1\" OWNER TO :\"r\";\n");
	hp_sql_release(&s);
	hp_role_plan_release(&p);
	/* alter only */
	p.want = app;
	p.set_login = p.set_password = true;
	app->login = false;
	hp_sql_init(&s);
	hp_buf_reset(&out);
	assert_int_equal(hp_role_plan_sql(&p, "V", &s, &err), 0);
	hp_sql_script(&s, &out);
	assert_non_null(strstr(out.buf, "ALTER ROLE :\"r\" NOLOGIN;\n"
					"ALTER ROLE :\"r\" PASSWORD :'v';\n"));
	assert_null(strstr(out.buf, "CREATE"));
	hp_sql_release(&s);
	/* a password change without a verifier is a bug, refused */
	hp_sql_init(&s);
	assert_int_equal(hp_role_plan_sql(&p, NULL, &s, &err), HP_EINVALID);
	hp_sql_release(&s);
	hp_role_plan_release(&p);
	/* known roles */
	state_of(&st, NULL, true, NULL);
	hp_pg_state_release(&st);
	hp_buf_release(&out);
	role_free(app);
}

/* ---- the phase through the fakes ------------------------------------------------- */

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake fake[3];
	struct hp_fake_rest fr;
	struct hp_err err;
	char *store;
};

static struct fx *fx_new(bool plan)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;
	char *yaml;
	size_t i;
	static int n;

	x->store = xasprintf("%s/store%d", tmpdir, n++);
	yaml = xasprintf(
		"cluster: {name: t}\n"
		"tls: false\n" /* the subject is roles' passwords, not TLS */
		"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
		"secrets: {superuser: dba, store: %s, roles: [{name: app, "
		"databases: [appdb]}, {name: batch, login: false}]}\n"
		"validation: {timeout_s: 1, soak_s: 0}\n"
		"hosts:\n"
		"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, "
		"haproxy]}\n"
		"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, "
		"haproxy]}\n"
		"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, "
		"haproxy]}\n",
		x->store);
	memset(&o, 0, sizeof(o));
	o.plan = plan;
	assert_int_equal(hp_inventory_load_string(&x->inv, yaml, strlen(yaml),
						  "/tmp/t.yml", &x->diags),
			 0);
	free(yaml);
	hp_run_init(&x->run, x->inv, &o);
	for (i = 0; i < 3; i++) {
		hp_fake_init(&x->fake[i]);
		x->fake[i].strict = true;
		hp_fake_transport(&x->fake[i], &x->run.hosts[i].tr,
				  x->inv->hosts[i].name);
	}
	hp_fake_rest_init(&x->fr);
	hp_fake_rest_expect(&x->fr, "GET", ":8008/cluster", 200, OK3(""), 0);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &x->fr;
	x->run.restapi_user = xstrdup("patroni");
	x->run.restapi_password = xstrdup("restpw");
	x->run.phase = "secrets";
	hp_err_clear(&x->err);
	return x;
}

static void fx_free(struct fx *x)
{
	size_t i;

	free(x->run.restapi_user);
	free(x->run.restapi_password);
	hp_run_release(&x->run);
	for (i = 0; i < 3; i++)
		hp_fake_release(&x->fake[i]);
	hp_fake_rest_release(&x->fr);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x->store);
	free(x);
}

/* Seed the store with secret name; returns its value (free it). */
static char *seed(struct fx *x, const char *name)
{
	char *v = NULL;

	assert_int_equal(hp_secret_store_create(x->store, &x->err), 0);
	assert_int_equal(hp_secret_create(&v, x->store, name, 24, &x->err), 0);
	return v;
}

/* The leader a answers the state read with app (password pw, NULL: none)
 * owning appdb, batch NOLOGIN with bpw, and a stranger with login. */
static void leader_state(struct fx *x, const char *pw, const char *bpw)
{
	struct hp_buf b = HP_BUF_INIT;
	char v[HP_SCRAM_VERIFIER_MAX] = "", w[HP_SCRAM_VERIFIER_MAX] = "";

	if (pw)
		assert_int_equal(hp_scram_verifier_new(v, sizeof(v), pw,
						       &x->err),
				 0);
	if (bpw)
		assert_int_equal(hp_scram_verifier_new(w, sizeof(w), bpw,
						       &x->err),
				 0);
	row_role(&b, "dba", true, "x");
	row_role(&b, "app", true, v);
	row_role(&b, "batch", false, w);
	row_role(&b, "stranger\x1b[2J", true, "");
	row_role(&b, "pg_read_all_data", false, "");
	row_db(&b, "postgres", "dba");
	row_db(&b, "appdb", "app");
	hp_buf_adds(&b, "E\n");
	/* the read comes first; the writes (under flock) after */
	hp_fake_expect(&x->fake[0], "/psql'", 0, b.buf, "")->times = 1;
	hp_buf_release(&b);
}

static size_t writes(const struct fx *x)
{
	size_t i, n = 0;

	for (i = 0; i < 3; i++)
		n += hp_fake_count_calls(&x->fake[i], HP_FAKE_EXEC, "flock");
	return n;
}

/* Whether s shows up in any result's detail or in err. */
static bool shown(const struct fx *x, const char *s)
{
	size_t i;

	for (i = 0; i < x->run.nr_results; i++)
		if ((x->run.results[i].detail &&
		     strstr(x->run.results[i].detail, s)) ||
		    (x->run.results[i].diff && strstr(x->run.results[i].diff, s)))
			return true;
	return strstr(x->err.msg, s) != NULL;
}

static void test_plan_writes_nothing(void **state)
{
	struct fx *x = fx_new(true);
	struct stat sb;

	(void)state;
	leader_state(x, NULL, NULL);
	assert_int_equal(hp_secrets_converge(&x->run, &x->err), 0);
	assert_int_equal(writes(x), 0);
	/* the store was not even created */
	assert_int_equal(stat(x->store, &sb), -1);
	assert_int_equal(hp_run_count(&x->run, "secrets", HP_STEP_CHANGED), 2);
	assert_true(shown(x, "generate secret role-app in the store"));
	assert_true(shown(x, "set password of app"));
	assert_true(shown(x, "not in the inventory: left alone"));
	assert_false(shown(x, "\x1b"));
	fx_free(x);
}

static void test_plan_no_leader(void **state)
{
	struct fx *x = fx_new(true);

	(void)state;
	hp_fake_rest_release(&x->fr);
	hp_fake_rest_init(&x->fr); /* nothing answers */
	assert_int_equal(hp_secrets_converge(&x->run, &x->err), 0);
	assert_int_equal(x->fake[0].nr_calls, 0);
	assert_true(shown(x, "create role app (login)"));
	assert_true(shown(x, "create database appdb owner app"));
	fx_free(x);
	/* apply without a leader: an error, nothing written */
	x = fx_new(false);
	hp_fake_rest_release(&x->fr);
	hp_fake_rest_init(&x->fr);
	assert_int_equal(hp_secrets_converge(&x->run, &x->err), HP_EVERIFY);
	assert_int_equal(writes(x), 0);
	fx_free(x);
}

static void test_apply_noop_writes_nothing(void **state)
{
	struct fx *x;
	char *a, *b;

	(void)state;
	x = fx_new(false);
	a = seed(x, "role-app");
	b = seed(x, "role-batch");
	leader_state(x, a, b);
	assert_int_equal(hp_secrets_converge(&x->run, &x->err), 0);
	assert_int_equal(writes(x), 0);
	assert_int_equal(hp_run_count(&x->run, "secrets", HP_STEP_CHANGED), 0);
	hp_secret_free(a);
	hp_secret_free(b);
	fx_free(x);
}

static void test_apply_changes_password(void **state)
{
	struct fx *x;
	char *a, *b;
	long i;

	(void)state;
	x = fx_new(false);
	a = seed(x, "role-app");
	b = seed(x, "role-batch");
	leader_state(x, "an0ther", b);
	hp_fake_expect(&x->fake[0], "flock", 0, "", "");
	assert_int_equal(hp_secrets_converge(&x->run, &x->err), 0);
	assert_int_equal(writes(x), 1);
	i = hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, "flock", 0);
	assert_true(i >= 0);
	/* the verifier of the store's password on stdin; never the password */
	assert_non_null(strstr(x->fake[0].calls[i].data,
			       "ALTER ROLE :\"r\" PASSWORD :'v';"));
	assert_non_null(strstr(x->fake[0].calls[i].data,
			       "\\set v 'SCRAM-SHA-256$4096:"));
	assert_null(strstr(x->fake[0].calls[i].data, a));
	assert_null(strstr(x->fake[0].calls[i].what, "SCRAM"));
	assert_false(shown(x, a));
	assert_int_equal(hp_run_count(&x->run, "secrets", HP_STEP_CHANGED), 1);
	hp_secret_free(a);
	hp_secret_free(b);
	fx_free(x);
}

static void test_apply_refuses_lost_secret(void **state)
{
	struct fx *x;
	char *b;
	struct stat sb;
	char *path;

	(void)state;
	x = fx_new(false);
	b = seed(x, "role-batch");
	leader_state(x, "in-use", b); /* app has a password, store has none */
	assert_int_equal(hp_secrets_converge(&x->run, &x->err), HP_EINVALID);
	assert_int_equal(writes(x), 0);
	assert_non_null(strstr(x->err.msg, "role-app"));
	path = xasprintf("%s/role-app", x->store);
	assert_int_equal(stat(path, &sb), -1); /* not generated */
	free(path);
	hp_secret_free(b);
	fx_free(x);
}

static void test_apply_generates_for_new_role(void **state)
{
	struct fx *x;
	char *b, *a = NULL;
	long i;

	(void)state;
	x = fx_new(false);
	b = seed(x, "role-batch");
	leader_state(x, NULL, b); /* app without password */
	hp_fake_expect(&x->fake[0], "flock", 0, "", "");
	assert_int_equal(hp_secrets_converge(&x->run, &x->err), 0);
	assert_int_equal(hp_secret_read(&a, x->store, "role-app", &x->err), 0);
	i = hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, "flock", 0);
	assert_true(i >= 0);
	assert_null(strstr(x->fake[0].calls[i].data, a));
	assert_false(shown(x, a));
	hp_secret_free(a);
	hp_secret_free(b);
	fx_free(x);
}

/* ---- verify ------------------------------------------------------------------------- */

static int logins;
static char login_secret[64];
static int fake_login(const char *host, int port, const char *user,
		      const char *password, const char *db, int timeout_s,
		      struct hp_err *err)
{
	(void)timeout_s;
	logins++;
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 5000);
	assert_string_equal(user, "app"); /* batch has no login */
	assert_string_equal(db, "appdb");
	if (!strcmp(password, login_secret))
		return 0;
	return hp_err_set(err, HP_EAUTH, "refused");
}

static void test_verify(void **state)
{
	struct fx *x;
	char *a, *b;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		x = fx_new(false);
		a = seed(x, "role-app");
		b = seed(x, "role-batch");
		hp_strlcpy(login_secret, i == 2 ? "wrong" : a,
			   sizeof(login_secret));
		leader_state(x, a, b);
		hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/config", 200,
				    "{\"loop_wait\": 7, \"ttl\": 30}", 0);
		/* i == 1: patroni lets anyone write */
		hp_fake_rest_expect(&x->fr, "PATCH", "10.0.0.1:8008/config",
				    i == 1 ? 200 : 401, "", 1);
		hp_fake_rest_expect(&x->fr, "PATCH", "10.0.0.1:8008/config",
				    200, "{}", 1);
		hp_pg_login_set(fake_login);
		logins = 0;
		hp_err_clear(&x->err);
		if (i == 0) {
			int k;

			assert_int_equal(hp_secrets_verify(&x->run, &x->err),
					 0);
			k = hp_fake_rest_find(&x->fr, "PATCH", "/config", 0);
			assert_null(x->fr.reqs[k].user);
			/* a patch that changes nothing: the current value */
			assert_string_equal(x->fr.reqs[k].body,
					    "{\"loop_wait\":7}");
			k = hp_fake_rest_find(&x->fr, "PATCH", "/config", 1);
			assert_string_equal(x->fr.reqs[k].user, "patroni");
			assert_true(x->fr.reqs[k].had_password);
		} else {
			assert_int_equal(hp_secrets_verify(&x->run, &x->err),
					 HP_EVERIFY);
			assert_non_null(strstr(x->err.msg,
					       i == 1 ? "not 401"
						      : "refused"));
		}
		assert_int_equal(logins, 1);
		assert_false(shown(x, a));
		hp_pg_login_set(NULL);
		hp_secret_free(a);
		hp_secret_free(b);
		fx_free(x);
	}
}

static void test_verify_rest_hostile_config(void **state)
{
	static const char *const bad[] = { "{\"loop_wait\": \"10\"}",
					   "{\"loop_wait\": 0}", "[]",
					   "<html>", "{}" };
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		struct fx *x = fx_new(false);
		char *a = seed(x, "role-app"), *b = seed(x, "role-batch");

		hp_strlcpy(login_secret, a, sizeof(login_secret));
		leader_state(x, a, b);
		hp_fake_rest_expect(&x->fr, "GET", ":8008/config", 200, bad[i],
				    0);
		hp_pg_login_set(fake_login);
		assert_int_equal(hp_secrets_verify(&x->run, &x->err),
				 HP_EVERIFY);
		assert_int_equal(hp_fake_rest_count(&x->fr, "PATCH", "/config"),
				 0);
		assert_printable(x->err.msg);
		hp_pg_login_set(NULL);
		hp_secret_free(a);
		hp_secret_free(b);
		fx_free(x);
	}
}

static void test_verify_wrong_owner(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_buf s = HP_BUF_INIT;
	char *a = seed(x, "role-app"), *b = seed(x, "role-batch");
	char v[HP_SCRAM_VERIFIER_MAX], w[HP_SCRAM_VERIFIER_MAX];

	(void)state;
	assert_int_equal(hp_scram_verifier_new(v, sizeof(v), a, &x->err), 0);
	assert_int_equal(hp_scram_verifier_new(w, sizeof(w), b, &x->err), 0);
	row_role(&s, "app", true, v);
	row_role(&s, "batch", false, w);
	row_db(&s, "appdb", "dba");
	hp_buf_adds(&s, "E\n");
	hp_fake_expect(&x->fake[0], "/psql'", 0, s.buf, "")->times = 1;
	assert_int_equal(hp_secrets_verify(&x->run, &x->err), HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "database appdb is owned by dba"));
	hp_buf_release(&s);
	hp_secret_free(a);
	hp_secret_free(b);
	fx_free(x);
}

/* PostgreSQL's state read by a converge that changed nothing serves the
 * verify that follows; after a change the verify reads again. */
static size_t state_reads(struct fx *x)
{
	size_t i, n = 0;

	for (i = 0; i < x->fake[0].nr_calls; i++)
		if (x->fake[0].calls[i].data &&
		    strstr(x->fake[0].calls[i].data, "FROM pg_authid"))
			n++;
	return n;
}

static void test_verify_reuses_noop_read(void **state)
{
	struct fx *x = fx_new(false);
	char *a = seed(x, "role-app"), *b = seed(x, "role-batch");

	(void)state;
	hp_strlcpy(login_secret, a, sizeof(login_secret));
	leader_state(x, a, b);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/config", 200,
			    "{\"loop_wait\": 7, \"ttl\": 30}", 0);
	hp_fake_rest_expect(&x->fr, "PATCH", "10.0.0.1:8008/config", 401, "",
			    1);
	hp_fake_rest_expect(&x->fr, "PATCH", "10.0.0.1:8008/config", 200, "{}",
			    0);
	hp_pg_login_set(fake_login);
	assert_int_equal(hp_secrets_converge(&x->run, &x->err), 0);
	assert_int_equal(state_reads(x), 1);
	assert_int_equal(hp_secrets_verify(&x->run, &x->err), 0);
	assert_int_equal(state_reads(x), 1);
	/* something changed in the run: read again, and check what it says */
	hp_run_record(&x->run, "a", HP_STEP_CHANGED, "file /etc/x", "created",
		      NULL, hp_now_ms());
	leader_state(x, "an0ther", b);
	assert_int_equal(hp_secrets_verify(&x->run, &x->err), HP_EVERIFY);
	assert_int_equal(state_reads(x), 2);
	hp_pg_login_set(NULL);
	hp_secret_free(a);
	hp_secret_free(b);
	fx_free(x);
}

static void test_known_roles(void **state)
{
	struct fx *x = fx_new(true);

	(void)state;
	assert_true(hp_role_is_known(x->inv, "dba"));
	assert_true(hp_role_is_known(x->inv, "replicator"));
	assert_true(hp_role_is_known(x->inv, "rewinder"));
	assert_true(hp_role_is_known(x->inv, "pg_monitor"));
	assert_true(hp_role_is_known(x->inv, "app"));
	assert_false(hp_role_is_known(x->inv, "postgres")); /* superuser dba */
	assert_false(hp_role_is_known(x->inv, "stranger"));
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_hostile),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_plan_sql),
		cmocka_unit_test_setup_teardown(test_plan_writes_nothing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_plan_no_leader, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apply_noop_writes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_changes_password,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_refuses_lost_secret,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_apply_generates_for_new_role, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_rest_hostile_config,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_wrong_owner, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_verify_reuses_noop_read,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_roles, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
