/*
 * The SQL step (phases/sql.c): values travel as psql variables, never in
 * the SQL text or the command line; the script runs on the named member,
 * through the locked path only when it writes, and never writes in plan
 * mode; psql's stderr is made printable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "phases.h"
#include "steps_fixture.h"

static void test_var_names(void **state)
{
	(void)state;
	assert_true(hp_sql_var_name_ok("role"));
	assert_true(hp_sql_var_name_ok("_v1"));
	assert_false(hp_sql_var_name_ok(""));
	assert_false(hp_sql_var_name_ok(NULL));
	assert_false(hp_sql_var_name_ok("1v"));
	assert_false(hp_sql_var_name_ok("Role"));
	assert_false(hp_sql_var_name_ok("a-b"));
	assert_false(hp_sql_var_name_ok("a b"));
	assert_false(hp_sql_var_name_ok("abcdefghijabcdefghijabcdefghijabc"));
	assert_true(hp_sql_var_name_ok("abcdefghijabcdefghijabcdefghijab"));
}

static void test_script_layout(void **state)
{
	struct hp_sql s;
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	hp_sql_init(&s);
	assert_int_equal(hp_sql_var(&s, "role", "o'brien", &err), 0);
	assert_int_equal(hp_sql_var(&s, "v", "SCRAM-SHA-256$4096:c2FsdA==$a:b",
				    &err),
			 0);
	hp_sql_add(&s, "ALTER ROLE :\"role\" PASSWORD :'v';");
	hp_sql_add(&s, "SELECT 1;\n");
	hp_sql_script(&s, &out);
	assert_string_equal(out.buf,
			    "\\set role 'o''brien'\n"
			    "\\set v 'SCRAM-SHA-256$4096:c2FsdA==$a:b'\n"
			    "ALTER ROLE :\"role\" PASSWORD :'v';\n"
			    "SELECT 1;\n");
	hp_buf_release(&out);
	hp_sql_release(&s);
}

static void test_var_refuses(void **state)
{
	static const char *const bad[] = { "a\nb", "a\\b", "caf\xc3\xa9",
					   "tab\there", "\x7f" };
	struct hp_sql s;
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err err;
	size_t i;

	(void)state;
	hp_sql_init(&s);
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		hp_err_clear(&err);
		assert_int_equal(hp_sql_var(&s, "v", bad[i], &err),
				 HP_EINVALID);
		assert_non_null(strstr(err.msg, "psql variable v"));
	}
	assert_int_equal(hp_sql_var(&s, "on_error_stop", "0", &err),
			 HP_EINVALID);
	assert_int_equal(hp_sql_var(&s, "Bad", "x", &err), HP_EINVALID);
	/* nothing refused made it into the script */
	hp_sql_script(&s, &out);
	assert_int_equal(out.len, 0);
	hp_buf_release(&out);
	hp_sql_release(&s);
}

static void test_command_db(void **state)
{
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	hp_psql_argv(&b, "/usr/lib/postgresql/15/bin", 5432, "dba", "app db");
	assert_non_null(strstr(b.buf, "'-U' 'dba' '-d' 'app db'"));
	assert_non_null(strstr(b.buf, "ON_ERROR_STOP=1"));
	hp_buf_reset(&b);
	hp_psql_argv(&b, NULL, 0, NULL, NULL);
	assert_non_null(strstr(b.buf, "'-U' 'postgres' '-d' 'postgres'"));
	hp_buf_release(&b);
}

static struct hp_sql *secret_script(void)
{
	static struct hp_sql s;
	struct hp_err err;

	hp_sql_init(&s);
	assert_int_equal(hp_sql_var(&s, "v", "TOPSECRETVERIFIER", &err), 0);
	hp_sql_add(&s, "ALTER ROLE app PASSWORD :'v';");
	return &s;
}

static void test_run_write(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_sql *s = secret_script();
	struct hp_buf out = HP_BUF_INIT;
	const struct hp_fake_call *c;
	long i;

	(void)state;
	hp_fake_expect(&x->fake, "psql", 0, "ALTER ROLE\n", "");
	assert_int_equal(hp_sql_run(&x->run, "pg2", "appdb", s, true, &out,
				    &x->err),
			 0);
	assert_string_equal(out.buf, "ALTER ROLE\n");
	i = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "psql", 0);
	assert_true(i >= 0);
	c = &x->fake.calls[i];
	/* the value is on stdin, never in the command line */
	assert_null(strstr(c->what, "TOPSECRET"));
	assert_non_null(c->data);
	assert_non_null(strstr(c->data, "\\set v 'TOPSECRETVERIFIER'"));
	assert_non_null(strstr(c->what, "'-d' 'appdb'"));
	/* a write takes the host lock */
	assert_non_null(strstr(c->what, "flock"));
	hp_buf_release(&out);
	hp_sql_release(s);
	fx_free(x);
}

static void test_run_read_takes_no_lock(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_sql *s = secret_script();
	long i;

	(void)state;
	hp_fake_expect(&x->fake, "psql", 0, "", "");
	assert_int_equal(hp_sql_run(&x->run, "pg2", NULL, s, false, NULL,
				    &x->err),
			 0);
	i = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "psql", 0);
	assert_true(i >= 0);
	assert_null(strstr(x->fake.calls[i].what, "flock"));
	assert_non_null(strstr(x->fake.calls[i].what, "'-d' 'postgres'"));
	hp_sql_release(s);
	fx_free(x);
}

static void test_run_plan_never_writes(void **state)
{
	struct fx *x = fx_new(true);
	struct hp_sql *s = secret_script();

	(void)state;
	assert_int_equal(hp_sql_run(&x->run, "pg2", NULL, s, true, NULL,
				    &x->err),
			 HP_EINVALID);
	assert_int_equal(x->fake.nr_calls, 0);
	hp_sql_release(s);
	fx_free(x);
}

static void test_run_errors(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_sql *s = secret_script();

	(void)state;
	/* no session to pg1 (only pg2 has the fake), no such host */
	assert_int_equal(hp_sql_run(&x->run, "pg1", NULL, s, false, NULL,
				    &x->err),
			 HP_ECONNECT);
	assert_int_equal(hp_sql_run(&x->run, "nope", NULL, s, false, NULL,
				    &x->err),
			 HP_ECONNECT);
	/* psql would read host=... as a connection string */
	assert_int_equal(hp_sql_run(&x->run, "pg2", "host=evil", s, false,
				    NULL, &x->err),
			 HP_EINVALID);
	assert_int_equal(x->fake.nr_calls, 0);
	/* psql fails: its stderr made printable, named */
	hp_fake_expect(&x->fake, "psql", 3, "",
		       "ERROR:  role \"app\" does not exist\x1b[2J\n");
	hp_err_clear(&x->err);
	assert_true(hp_sql_run(&x->run, "pg2", NULL, s, false, NULL,
			       &x->err) < 0);
	assert_non_null(strstr(x->err.msg, "psql on pg2"));
	assert_null(strchr(x->err.msg, '\x1b'));
	hp_sql_release(s);
	fx_free(x);
}

/* ---- one session, several parts (phases/sql_session.c) ----------------- */

#define NONCE "0123456789abcdef0123456789abcdef"

static void test_parts_script(void **state)
{
	struct hp_sql_part p[3];
	struct hp_sql all;
	struct hp_err err;
	const char *s;

	(void)state;
	hp_sql_parts_init(p, 3);
	hp_sql_add(&p[0].sql, "SHOW x;");
	p[1].db = "appdb";
	assert_int_equal(hp_sql_var(&p[1].sql, "n0", "pg'cron", &err), 0);
	hp_sql_add(&p[1].sql, "SELECT :'n0';");
	p[2].db = "appdb"; /* the same database: no second \connect */
	hp_sql_add(&p[2].sql, "SELECT 2;");
	hp_sql_init(&all);
	assert_int_equal(hp_sql_parts_script(p, 3, NONCE, &all, &err), 0);
	s = all.vars.buf;
	assert_string_equal(s, "SHOW x;\n"
			       "\\echo " NONCE " 0\n"
			       "\\set hp_session_db 'appdb'\n"
			       "\\connect :\"hp_session_db\"\n"
			       "\\set n0 'pg''cron'\n"
			       "SELECT :'n0';\n"
			       "\\echo " NONCE " 1\n"
			       "SELECT 2;\n"
			       "\\echo " NONCE " 2\n");
	hp_sql_release(&all);
	/* a name psql would take for a connection string */
	hp_sql_init(&all);
	p[1].db = "host=evil";
	assert_int_equal(hp_sql_parts_script(p, 3, NONCE, &all, &err),
			 HP_EINVALID);
	hp_sql_release(&all);
	hp_sql_init(&all);
	p[1].db = "postgresql://evil/x";
	assert_int_equal(hp_sql_parts_script(p, 3, NONCE, &all, &err),
			 HP_EINVALID);
	hp_sql_release(&all);
	hp_sql_parts_release(p, 3);
}

static int split(const char *ans, struct hp_sql_part *p, size_t nr)
{
	struct hp_err err;

	return hp_sql_split_parts(ans, strlen(ans), NONCE, p, nr, &err);
}

static void test_parts_split(void **state)
{
	struct hp_sql_part p[3];

	(void)state;
	hp_sql_parts_init(p, 3);
	assert_int_equal(split("a\nb\n" NONCE " 0\n" NONCE " 1\nc\n" NONCE
			       " 2\n",
			       p, 3),
			 0);
	assert_string_equal(p[0].out.buf, "a\nb\n");
	assert_string_equal(p[1].out.buf, "");
	assert_string_equal(p[2].out.buf, "c\n");
	/* the last marker without its newline */
	assert_int_equal(split("x\n" NONCE " 0\ny\n" NONCE " 1\nz\n" NONCE
			       " 2",
			       p, 3),
			 0);
	assert_string_equal(p[2].out.buf, "z\n");
	/* a marker missing, out of order, repeated, or one too many */
	assert_int_equal(split("a\n" NONCE " 0\nb\n" NONCE " 1\n", p, 3),
			 HP_EREMOTE);
	assert_int_equal(split(NONCE " 1\n" NONCE " 0\n" NONCE " 2\n", p, 3),
			 HP_EREMOTE);
	assert_int_equal(split(NONCE " 0\n" NONCE " 0\n" NONCE " 2\n", p, 3),
			 HP_EREMOTE);
	assert_int_equal(split(NONCE " 0\n" NONCE " 1\n" NONCE " 2\n" NONCE
			       " 3\n",
			       p, 3),
			 HP_EREMOTE);
	assert_int_equal(split(NONCE " 0\n" NONCE " 1\n" NONCE " 10\n", p, 3),
			 HP_EREMOTE);
	/* text after the last section */
	assert_int_equal(split(NONCE " 0\n" NONCE " 1\n" NONCE " 2\nmore\n",
			       p, 3),
			 HP_EREMOTE);
	/* catalog text cannot forge a marker of another nonce, nor one
	 * with the nonce as a prefix of a longer word */
	assert_int_equal(split("ffff" NONCE " 0\n" NONCE "0 0\n" NONCE
			       " 0\n" NONCE " 1\n" NONCE " 2\n",
			       p, 3),
			 0);
	assert_string_equal(p[0].out.buf, "ffff" NONCE " 0\n" NONCE "0 0\n");
	assert_int_equal(split("", p, 3), HP_EREMOTE);
	hp_sql_parts_release(p, 3);
}

/* The parts of one database run together, postgres's first: one
 * \connect per other database; the answer comes in that order. */
static void test_parts_grouped(void **state)
{
	struct hp_sql_part p[4];
	struct hp_sql all;
	struct hp_err err;
	size_t order[4];
	const char *s, *c;

	(void)state;
	hp_sql_parts_init(p, 4);
	p[0].db = "appdb";
	hp_sql_add(&p[0].sql, "SELECT 'a';");
	p[1].db = "postgres";
	hp_sql_add(&p[1].sql, "SELECT 'b';");
	p[2].db = "appdb";
	hp_sql_add(&p[2].sql, "SELECT 'c';");
	hp_sql_add(&p[3].sql, "SELECT 'd';");
	hp_sql_parts_order(p, 4, order);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 0);
	assert_int_equal(order[3], 2);
	hp_sql_init(&all);
	assert_int_equal(hp_sql_parts_script(p, 4, NONCE, &all, &err), 0);
	s = all.vars.buf;
	c = strstr(s, "\\connect");
	assert_non_null(c);
	assert_null(strstr(c + 1, "\\connect"));
	assert_true(strstr(s, "SELECT 'd'") < c);
	assert_true(strstr(s, "SELECT 'c'") > c);
	hp_sql_release(&all);
	/* markers in run order: each part gets its own answer */
	assert_int_equal(split("b\n" NONCE " 1\nd\n" NONCE " 3\na\n" NONCE
			       " 0\nc\n" NONCE " 2\n",
			       p, 4),
			 0);
	assert_string_equal(p[0].out.buf, "a\n");
	assert_string_equal(p[1].out.buf, "b\n");
	assert_string_equal(p[2].out.buf, "c\n");
	assert_string_equal(p[3].out.buf, "d\n");
	/* in index order instead: not what the script runs */
	assert_int_equal(split(NONCE " 0\n" NONCE " 1\n" NONCE " 2\n" NONCE
			       " 3\n",
			       p, 4),
			 HP_EREMOTE);
	hp_sql_parts_release(p, 4);
}

static void test_parts_run(void **state)
{
	struct fx *x = fx_new(false);
	const char *const answers[] = { "one\n", "two\n" };
	struct hp_sql_part p[2];
	long i;

	(void)state;
	hp_fake_expect_session(&x->fake, "psql", answers, 2);
	hp_sql_parts_init(p, 2);
	hp_sql_add(&p[0].sql, "SELECT 1;");
	p[1].db = "appdb";
	hp_sql_add(&p[1].sql, "SELECT 2;");
	assert_int_equal(hp_sql_run_parts(&x->run, "pg2", p, 2, &x->err), 0);
	assert_string_equal(p[0].out.buf, "one\n");
	assert_string_equal(p[1].out.buf, "two\n");
	/* one psql, in postgres, a read: no host lock */
	assert_int_equal(x->fake.nr_calls, 1);
	i = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "psql", 0);
	assert_true(i >= 0);
	assert_non_null(strstr(x->fake.calls[i].what, "'-d' 'postgres'"));
	assert_null(strstr(x->fake.calls[i].what, "flock"));
	hp_sql_parts_release(p, 2);
	fx_free(x);
	/* an answer without the markers (psql stopped early): an error */
	x = fx_new(false);
	hp_fake_expect(&x->fake, "psql", 0, "one\n", "");
	hp_sql_parts_init(p, 2);
	assert_int_equal(hp_sql_run_parts(&x->run, "pg2", p, 2, &x->err),
			 HP_EREMOTE);
	assert_non_null(strstr(x->err.msg, "psql on pg2"));
	hp_sql_parts_release(p, 2);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_var_names),
		cmocka_unit_test(test_script_layout),
		cmocka_unit_test(test_var_refuses),
		cmocka_unit_test(test_command_db),
		cmocka_unit_test(test_run_write),
		cmocka_unit_test(test_run_read_takes_no_lock),
		cmocka_unit_test(test_run_plan_never_writes),
		cmocka_unit_test(test_run_errors),
		cmocka_unit_test(test_parts_script),
		cmocka_unit_test(test_parts_split),
		cmocka_unit_test(test_parts_grouped),
		cmocka_unit_test(test_parts_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
