/* The scripted fake transport (fake_transport.h) checked on its own, so
 * that engine tests built on it can trust what it says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_transport.h"

struct fixture {
	struct hp_fake f;
	struct hp_transport t;
	struct hp_exec_result res;
	struct hp_err err;
};

static int setup(void **state)
{
	struct fixture *x = xcalloc(1, sizeof(*x));

	hp_fake_init(&x->f);
	hp_fake_transport(&x->f, &x->t, "pg1");
	hp_exec_result_init(&x->res);
	hp_err_clear(&x->err);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *x = *state;

	hp_fake_release(&x->f);
	hp_exec_result_release(&x->res);
	free(x);
	return 0;
}

/* Run cmd through the transport with a fresh result. */
static int run(struct fixture *x, const char *cmd, const char *in)
{
	hp_exec_result_release(&x->res);
	hp_exec_result_init(&x->res);
	hp_err_clear(&x->err);
	return x->t.ops->exec(x->t.ctx, cmd, in, in ? strlen(in) : 0, 30,
			      &x->res, &x->err);
}

static void test_substring_match(void **state)
{
	struct fixture *x = *state;

	hp_fake_expect(&x->f, "systemctl is-active", 3, "inactive\n", "warn\n");
	assert_int_equal(run(x, "systemctl is-active etcd.service", NULL), 0);
	assert_int_equal(x->res.exit_code, 3);
	assert_string_equal(x->res.out.buf, "inactive\n");
	assert_string_equal(x->res.errout.buf, "warn\n");
	assert_int_equal(x->f.nr_unexpected, 0);
	assert_string_equal(x->t.host, "pg1");
}

static void test_exact_match(void **state)
{
	struct fixture *x = *state;

	hp_fake_expect_exact(&x->f, "id -u", 0, "0\n", NULL);
	assert_int_equal(run(x, "id -u; rm -rf /", NULL), 0);
	assert_int_equal(x->res.exit_code, 127);
	assert_int_equal(x->f.nr_unexpected, 1);
	assert_int_equal(run(x, "id -u", NULL), 0);
	assert_int_equal(x->res.exit_code, 0);
	assert_string_equal(x->res.out.buf, "0\n");
}

static void test_first_match_wins_and_times(void **state)
{
	struct fixture *x = *state;
	struct hp_fake_expect *e;

	/* a service that needs two polls to come up */
	e = hp_fake_expect(&x->f, "is-active", 3, "activating\n", NULL);
	e->times = 2;
	hp_fake_expect(&x->f, "is-active", 0, "active\n", NULL);
	assert_int_equal(run(x, "systemctl is-active patroni", NULL), 0);
	assert_string_equal(x->res.out.buf, "activating\n");
	assert_int_equal(run(x, "systemctl is-active patroni", NULL), 0);
	assert_string_equal(x->res.out.buf, "activating\n");
	assert_int_equal(run(x, "systemctl is-active patroni", NULL), 0);
	assert_string_equal(x->res.out.buf, "active\n");
	assert_int_equal(x->res.exit_code, 0);
	assert_int_equal(run(x, "systemctl is-active patroni", NULL), 0);
	assert_string_equal(x->res.out.buf, "active\n");
	assert_int_equal(e->used, 2);
	assert_ptr_equal(x->f.calls[0].answered_by, e);
	assert_ptr_not_equal(x->f.calls[2].answered_by, e);
}

static void test_unexpected(void **state)
{
	struct fixture *x = *state;

	assert_int_equal(run(x, "reboot", NULL), 0);
	assert_int_equal(x->res.exit_code, 127);
	assert_non_null(strstr(x->res.errout.buf, "reboot"));
	assert_int_equal(x->f.nr_unexpected, 1);
	assert_null(x->f.calls[0].answered_by);

	x->f.strict = true;
	assert_int_equal(run(x, "halt", NULL), HP_ERROR);
	assert_non_null(strstr(x->err.msg, "halt"));
	assert_string_equal(x->err.host, "pg1");
	assert_int_equal(x->f.nr_unexpected, 2);
}

static void test_records_calls_in_order(void **state)
{
	struct fixture *x = *state;
	struct hp_buf got = HP_BUF_INIT;

	hp_fake_expect(&x->f, "", 0, NULL, NULL); /* answers everything */
	assert_int_equal(run(x, "apt-get install -y etcd", NULL), 0);
	assert_int_equal(x->t.ops->put(x->t.ctx, "/etc/a", "A", 1, 0600,
				       "postgres", NULL, &x->err),
			 0);
	assert_int_equal(run(x, "psql -f -", "SECRET"), 0);
	assert_int_equal(x->t.ops->get(x->t.ctx, "/etc/a", &got, &x->err), 0);

	assert_int_equal(x->f.nr_calls, 4);
	assert_int_equal(x->f.calls[0].op, HP_FAKE_EXEC);
	assert_int_equal(x->f.calls[0].timeout_s, 30);
	assert_null(x->f.calls[0].data);
	assert_int_equal(x->f.calls[1].op, HP_FAKE_PUT);
	assert_string_equal(x->f.calls[1].what, "/etc/a");
	assert_int_equal(x->f.calls[1].mode, 0600);
	assert_string_equal(x->f.calls[1].owner, "postgres");
	assert_null(x->f.calls[1].group);
	/* stdin is recorded, so a test can check a secret went there and
	 * not into the command */
	assert_string_equal(x->f.calls[2].data, "SECRET");
	assert_null(strstr(x->f.calls[2].what, "SECRET"));
	assert_int_equal(x->f.calls[3].op, HP_FAKE_GET);

	assert_true(hp_fake_find_call(&x->f, HP_FAKE_EXEC, "apt-get", 0) <
		    hp_fake_find_call(&x->f, HP_FAKE_EXEC, "psql", 0));
	assert_int_equal(hp_fake_find_call(&x->f, HP_FAKE_EXEC, "psql", 3), -1);
	assert_int_equal(hp_fake_find_call(&x->f, HP_FAKE_PUT, NULL, 0), 1);
	assert_int_equal(hp_fake_count_calls(&x->f, HP_FAKE_EXEC, NULL), 2);
	assert_int_equal(hp_fake_count_calls(&x->f, HP_FAKE_GET, "/etc"), 1);
	hp_buf_release(&got);
}

static void test_put_get_roundtrip(void **state)
{
	struct fixture *x = *state;
	struct hp_buf got = HP_BUF_INIT;
	const char bin[] = "a\0b\xff";
	struct hp_fake_file *file;

	assert_int_equal(x->t.ops->put(x->t.ctx, "/etc/x", bin, sizeof(bin),
				       0640, NULL, "postgres", &x->err),
			 0);
	assert_int_equal(x->t.ops->get(x->t.ctx, "/etc/x", &got, &x->err), 0);
	assert_int_equal(got.len, sizeof(bin));
	assert_memory_equal(got.buf, bin, sizeof(bin));
	file = hp_fake_file(&x->f, "/etc/x");
	assert_non_null(file);
	assert_int_equal(file->mode, 0640);
	assert_string_equal(file->owner, "root");
	assert_string_equal(file->group, "postgres");

	/* a second put replaces; get appends to what out holds */
	assert_int_equal(x->t.ops->put(x->t.ctx, "/etc/x", "new", 3, 0600, NULL,
				       NULL, &x->err),
			 0);
	hp_buf_reset(&got);
	hp_buf_adds(&got, ">");
	assert_int_equal(x->t.ops->get(x->t.ctx, "/etc/x", &got, &x->err), 0);
	assert_string_equal(got.buf, ">new");
	assert_int_equal(x->f.nr_files, 1);

	assert_int_equal(x->t.ops->put(x->t.ctx, "/etc/empty", NULL, 0, 0644,
				       NULL, NULL, &x->err),
			 0);
	hp_buf_reset(&got);
	assert_int_equal(x->t.ops->get(x->t.ctx, "/etc/empty", &got, &x->err),
			 0);
	assert_int_equal(got.len, 0);
	hp_buf_release(&got);
}

static void test_get_missing_and_preset(void **state)
{
	struct fixture *x = *state;
	struct hp_buf got = HP_BUF_INIT;

	assert_int_equal(x->t.ops->get(x->t.ctx, "/nope", &got, &x->err),
			 HP_ENOTFOUND);
	assert_int_equal(x->err.code, HP_ENOTFOUND);
	assert_string_equal(x->err.host, "pg1");
	assert_non_null(strstr(x->err.msg, "/nope"));

	hp_fake_set_file(&x->f, "/etc/os-release", "ID=debian\n", 10, 0644,
			 NULL, NULL);
	assert_int_equal(
		x->t.ops->get(x->t.ctx, "/etc/os-release", &got, &x->err), 0);
	assert_string_equal(got.buf, "ID=debian\n");
	/* set_file is not a call */
	assert_int_equal(x->f.nr_calls, 2);
	hp_buf_release(&got);
}

static void test_fail_nth_call(void **state)
{
	struct fixture *x = *state;
	struct hp_buf got = HP_BUF_INIT;

	hp_fake_expect(&x->f, "step", 0, "done\n", NULL);
	hp_fake_fail_call(&x->f, 2, HP_ETIMEOUT);
	hp_fake_fail_call(&x->f, 4, HP_EREMOTE);
	hp_fake_fail_call(&x->f, 5, HP_ECONNECT);

	assert_int_equal(run(x, "step 1", NULL), 0);
	assert_int_equal(run(x, "step 2", NULL), HP_ETIMEOUT);
	assert_int_equal(x->err.code, HP_ETIMEOUT);
	assert_string_equal(x->err.host, "pg1");
	assert_int_equal(x->res.exit_code, -1); /* untouched */
	assert_int_equal(run(x, "step 3", NULL), 0);
	assert_int_equal(x->t.ops->put(x->t.ctx, "/etc/y", "y", 1, 0644, NULL,
				       NULL, &x->err),
			 HP_EREMOTE);
	assert_null(hp_fake_file(&x->f, "/etc/y")); /* nothing written */
	assert_int_equal(x->t.ops->get(x->t.ctx, "/etc/y", &got, &x->err),
			 HP_ECONNECT);
	assert_int_equal(x->f.nr_calls, 5);
	assert_int_equal(x->f.calls[1].ret, HP_ETIMEOUT);
	assert_int_equal(x->f.calls[3].ret, HP_EREMOTE);
	/* the failed call used no expectation */
	assert_int_equal(x->f.expects[0]->used, 2);
	hp_buf_release(&got);
}

static void test_expectation_ret(void **state)
{
	struct fixture *x = *state;
	struct hp_fake_expect *e;

	e = hp_fake_expect(&x->f, "pg_ctl promote", 0, NULL, NULL);
	e->ret = HP_ETIMEOUT;
	assert_int_equal(run(x, "pg_ctl promote -D /var/lib/pg", NULL),
			 HP_ETIMEOUT);
	assert_non_null(strstr(x->err.msg, "pg_ctl promote"));
}

static void test_output_cap(void **state)
{
	struct fixture *x = *state;
	int r;

	hp_fake_expect(&x->f, "cat big", 0, "0123456789", NULL);
	hp_exec_result_release(&x->res);
	hp_exec_result_init(&x->res);
	x->res.out.max = 4;
	r = x->t.ops->exec(x->t.ctx, "cat big", NULL, 0, 30, &x->res, &x->err);
	assert_int_equal(r, HP_ETOOBIG);
}

static void test_close_counts(void **state)
{
	struct fixture *x = *state;

	x->t.ops->close(x->t.ctx);
	assert_int_equal(x->f.nr_closed, 1);
	/* still usable for assertions afterwards */
	assert_int_equal(x->f.nr_calls, 0);
}

static void test_release_is_reusable(void **state)
{
	struct fixture *x = *state;

	hp_fake_expect(&x->f, "a", 0, "x", NULL);
	assert_int_equal(run(x, "a", NULL), 0);
	hp_fake_release(&x->f);
	assert_int_equal(x->f.nr_calls, 0);
	assert_int_equal(x->f.nr_expects, 0);
	hp_fake_release(&x->f); /* twice is fine */
	hp_fake_transport(&x->f, &x->t, "pg2");
	assert_int_equal(run(x, "a", NULL), 0);
	assert_int_equal(x->res.exit_code, 127);
}

static void test_exec_result_init_release(void **state)
{
	struct hp_exec_result r;

	(void)state;
	hp_exec_result_init(&r);
	assert_int_equal(r.exit_code, -1);
	assert_int_equal(r.out.len, 0);
	assert_int_equal(r.out.max, 16u * 1024 * 1024);
	assert_int_equal(r.errout.max, 16u * 1024 * 1024);
	hp_buf_adds(&r.out, "x");
	hp_exec_result_release(&r);
	assert_int_equal(r.out.len, 0);
	assert_int_equal(r.out.max, 16u * 1024 * 1024);
	hp_exec_result_release(&r);
	hp_exec_result_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_substring_match, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exact_match, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_first_match_wins_and_times,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_unexpected, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_records_calls_in_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get_roundtrip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_get_missing_and_preset,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_nth_call, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_expectation_ret, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_output_cap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_counts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_release_is_reusable, setup,
						teardown),
		cmocka_unit_test(test_exec_result_init_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
