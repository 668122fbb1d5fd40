/*
 * HAProxy's runtime API as haprov speaks it (phases/haproxy_runtime.c): the
 * commands it builds and refuses, how it reads HAProxy's answers (hostile
 * ones included), that the commands travel on the client's standard input;
 * and how `haprov switchover` picks and refuses a candidate. The order of
 * a switchover's steps against a simulated cluster is in
 * test_staged_rest.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "phases.h"
#include "render.h"
#include "steps_fixture.h"

static void test_names(void **state)
{
	(void)state;
	assert_true(hp_haproxy_name_ok("pg1"));
	assert_true(hp_haproxy_name_ok("db-2.example_x"));
	assert_false(hp_haproxy_name_ok(""));
	assert_false(hp_haproxy_name_ok(NULL));
	assert_false(hp_haproxy_name_ok("a b"));
	assert_false(hp_haproxy_name_ok("a\nshutdown sessions"));
	assert_false(hp_haproxy_name_ok("a;b"));
	assert_false(hp_haproxy_name_ok("a/b"));
	assert_false(hp_haproxy_name_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					"aaaaaaaaaaaaaaaaaaaaaaa"));
}

static void test_server_cmd(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_haproxy_server_cmd(&b, "primary", "pg1",
					       "state drain", &err),
			 0);
	assert_int_equal(hp_haproxy_server_cmd(&b, "primary", "pg2",
					       "health up", &err),
			 0);
	assert_string_equal(b.buf, "set server primary/pg1 state drain\n"
				   "set server primary/pg2 health up\n");
	/* only the changes haprov makes; no name that could smuggle a
	 * second command */
	assert_int_equal(hp_haproxy_server_cmd(&b, "primary", "pg1",
					       "weight 0", &err),
			 HP_EINVALID);
	assert_int_equal(hp_haproxy_server_cmd(&b, "primary",
					       "pg1\nshutdown sessions",
					       "state ready", &err),
			 HP_EINVALID);
	assert_int_equal(hp_haproxy_server_cmd(&b, "primary x", "pg1",
					       "state ready", &err),
			 HP_EINVALID);
	/* nothing of a refused command was appended */
	assert_string_equal(b.buf, "set server primary/pg1 state drain\n"
				   "set server primary/pg2 health up\n");
	hp_buf_release(&b);
}

static void test_answer_check(void **state)
{
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_haproxy_answer_check("\n\n", 2, 2, &err), 0);
	assert_int_equal(hp_haproxy_answer_check("\n\n\n", 3, 2, &err), 0);
	/* fewer answers than commands: cut short */
	assert_int_equal(hp_haproxy_answer_check("\n", 1, 2, &err),
			 HP_EREMOTE);
	assert_int_equal(hp_haproxy_answer_check("", 0, 1, &err), HP_EREMOTE);
	/* any text is HAProxy's error, quoted printable */
	assert_int_equal(hp_haproxy_answer_check("\nNo such server.\n", 17, 2,
						 &err),
			 HP_EREMOTE);
	assert_non_null(strstr(err.msg, "No such server."));
	assert_int_equal(hp_haproxy_answer_check("\x1b[2Jbad\n", 8, 1, &err),
			 HP_EREMOTE);
	assert_null(strchr(err.msg, '\x1b'));
}

/* The commands go on stdin; the command line names only the client and the
 * socket. An error answer names the host. */
static void test_runtime_on_stdin(void **state)
{
	struct fx *x = fx_new(false);
	const char cmds[] = "set server primary/pg1 state drain\n";
	long i;

	(void)state;
	hp_fake_expect(&x->fake, "IO::Socket::UNIX", 0, "\n", "");
	assert_int_equal(hp_haproxy_runtime(x->h, cmds, &x->err), 0);
	i = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "IO::Socket::UNIX", 0);
	assert_true(i >= 0);
	assert_non_null(strstr(x->fake.calls[i].what,
			       "'" HP_HAPROXY_ADMIN_SOCKET "'"));
	assert_null(strstr(x->fake.calls[i].what, "set server"));
	assert_string_equal(x->fake.calls[i].data, cmds);
	fx_free(x);
	/* several commands: one line */
	x = fx_new(false);
	hp_fake_expect(&x->fake, "IO::Socket::UNIX", 0, "\n\n", "");
	assert_int_equal(hp_haproxy_runtime(x->h,
					    "set server primary/pg1 state "
					    "ready\nset server primary/pg2 "
					    "health up\n",
					    &x->err),
			 0);
	assert_string_equal(x->fake.calls[0].data,
			    "set server primary/pg1 state ready; set server "
			    "primary/pg2 health up\n");
	/* a read: no host lock */
	assert_null(strstr(x->fake.calls[i].what, "flock"));
	fx_free(x);

	x = fx_new(false);
	hp_fake_expect(&x->fake, "IO::Socket::UNIX", 0, "No such server.\n",
		       "");
	assert_int_equal(hp_haproxy_runtime(x->h, cmds, &x->err), HP_EREMOTE);
	assert_non_null(strstr(x->err.msg, "haproxy on pg2"));
	fx_free(x);

	/* the socket cannot be reached: the client's exit and its words */
	x = fx_new(false);
	hp_fake_expect(&x->fake, "IO::Socket::UNIX", 2, "",
		       "cannot reach " HP_HAPROXY_ADMIN_SOCKET
		       ": No such file or directory\n");
	assert_true(hp_haproxy_runtime(x->h, cmds, &x->err) < 0);
	assert_non_null(strstr(x->err.msg, "cannot reach"));
	fx_free(x);
}

/* "show servers state primary": the servers whose drain was forced (bit
 * 0x08 of srv_admin_state), never one in forced maintenance only. */
static void test_drained(void **state)
{
	static const char ans[] =
		"1\n"
		"# be_id be_name srv_id srv_name srv_addr srv_op_state "
		"srv_admin_state srv_uweight\n"
		"2 primary 1 pg1 10.0.0.1 0 8 1 1 0 8 2 0 6 0 0 0 - 1 - 0\n"
		"2 primary 2 pg2 10.0.0.2 2 0 1 1 0 8 2 4 6 0 0 0 - 3 - 0\n"
		"2 primary 3 pg3 10.0.0.3 0 1 1 1 0 8 2 0 6 0 0 0 - 3 - 0\n"
		"\n";
	struct hp_strlist l = { NULL, 0, 0 };
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_haproxy_drained(ans, sizeof(ans) - 1, &l, &err),
			 0);
	assert_int_equal(l.nr, 1);
	assert_string_equal(l.items[0], "pg1");
	hp_strlist_clear(&l);
	/* drain and maintenance together: the drain is haprov's */
	assert_int_equal(hp_haproxy_drained("2 primary 1 pg1 x 0 9\n", 22, &l,
					    &err),
			 0);
	assert_int_equal(l.nr, 1);
	hp_strlist_clear(&l);
	/* hostile answers: refused, nothing taken */
	assert_int_equal(hp_haproxy_drained("2 primary 1 pg1;x y 0 8\n", 24,
					    &l, &err),
			 HP_EREMOTE);
	assert_int_equal(hp_haproxy_drained("2 replicas 1 pg1 y 0 8\n", 23, &l,
					    &err),
			 HP_EREMOTE);
	assert_int_equal(hp_haproxy_drained("2 primary 1 pg1 y 0 8x\n", 23, &l,
					    &err),
			 HP_EREMOTE);
	assert_int_equal(hp_haproxy_drained("Unknown command\n", 16, &l, &err),
			 HP_EREMOTE);
	{
		char big[700];

		memset(big, 'a', sizeof(big));
		assert_int_equal(hp_haproxy_drained(big, sizeof(big), &l, &err),
				 HP_EREMOTE);
	}
	assert_int_equal(l.nr, 0);
	assert_null(strchr(err.msg, '\n'));
}

/* The haproxy phase lifts a drain a killed switchover left, and only
 * that; plan says so and sends nothing. */
static void test_lift_drains(void **state)
{
	static const char shown[] =
		"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "
		"srv_admin_state\n"
		"2 primary 1 pg1 10.0.0.1 0 8 1\n"
		"2 primary 2 pg2 10.0.0.2 2 1 1\n";
	int plan;

	(void)state;
	for (plan = 0; plan < 2; plan++) {
		struct fx *x = fx_new(plan == 1);
		long i;

		x->run.hosts[0].selected = false;
		x->run.hosts[2].selected = false;
		hp_fake_expect(&x->fake, "IO::Socket::UNIX", 0, shown, "")
			->times = 1;
		hp_fake_expect(&x->fake, "IO::Socket::UNIX", 0, "\n", "");
		assert_int_equal(hp_haproxy_lift_drains(&x->run, &x->err), 0);
		assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED),
				 1);
		assert_string_equal(x->fake.calls[0].data,
				    "show servers state primary\n");
		i = hp_fake_find_call(&x->fake, HP_FAKE_EXEC,
				      "IO::Socket::UNIX", 1);
		if (plan) {
			assert_true(i < 0);
		} else {
			assert_true(i >= 0);
			/* pg1's drain; pg2's maintenance is an operator's */
			assert_string_equal(x->fake.calls[i].data,
					    "set server primary/pg1 state "
					    "ready\n");
		}
		fx_free(x);
	}
}

static void test_pick(void **state)
{
	struct fx *x = fx_new(false);
	const char *out = NULL;
	struct hp_err err;

	(void)state;
	/* default: the first patroni host that is not the leader */
	assert_int_equal(hp_switchover_pick(x->inv, "pg1", NULL, &out, &err),
			 0);
	assert_string_equal(out, "pg2");
	assert_int_equal(hp_switchover_pick(x->inv, "pg2", NULL, &out, &err),
			 0);
	assert_string_equal(out, "pg1");
	assert_int_equal(hp_switchover_pick(x->inv, "pg1", "pg3", &out, &err),
			 0);
	assert_string_equal(out, "pg3");
	/* the leader itself, a host not in the inventory */
	assert_int_equal(hp_switchover_pick(x->inv, "pg1", "pg1", &out, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "leads already"));
	assert_null(out);
	assert_int_equal(hp_switchover_pick(x->inv, "pg1", "pg9", &out, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "not a patroni host"));
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_server_cmd),
		cmocka_unit_test(test_answer_check),
		cmocka_unit_test(test_runtime_on_stdin),
		cmocka_unit_test(test_drained),
		cmocka_unit_test(test_lift_drains),
		cmocka_unit_test(test_pick),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
