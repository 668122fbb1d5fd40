/*
 * The login check (provisioner/pglogin.c): how libpq's messages are judged
 * (refused credentials vs unreachable), the password masked in any message,
 * the arguments checked, the seam, and libpq itself against a closed port.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pglogin.h"

static void test_classify(void **state)
{
	(void)state;
	assert_int_equal(
		hp_pg_login_classify("connection to server at \"10.0.0.1\", "
				     "port 5000 failed: FATAL:  password "
				     "authentication failed for user \"app\"\n"),
			 HP_EAUTH);
	assert_int_equal(hp_pg_login_classify(
				 "FATAL:  no pg_hba.conf entry for host "
				 "\"10.0.0.9\", user \"app\", database \"x\""),
			 HP_EAUTH);
	assert_int_equal(hp_pg_login_classify(
				 "connection to server at \"10.0.0.1\", port "
				 "5000 failed: Connection refused"),
			 HP_ECONNECT);
	assert_int_equal(hp_pg_login_classify(
				 "FATAL:  database \"appdb\" does not exist"),
			 HP_ECONNECT);
	assert_int_equal(hp_pg_login_classify("timeout expired"), HP_ECONNECT);
	assert_int_equal(hp_pg_login_classify(""), HP_ECONNECT);
	assert_int_equal(hp_pg_login_classify(NULL), HP_ECONNECT);
}

static void test_message_masks_password(void **state)
{
	char *m;

	(void)state;
	m = hp_pg_login_message("bad pw Secret1 and Secret1x\n", "Secret1", 200);
	assert_string_equal(m, "bad pw *** and ***x");
	free(m);
	m = hp_pg_login_message("esc \x1b[31m red\r\n", "", 200);
	assert_null(strchr(m, '\x1b'));
	assert_null(strchr(m, '\r'));
	free(m);
	m = hp_pg_login_message(NULL, "x", 200);
	assert_string_equal(m, "");
	free(m);
}

static int fake_calls;
static int fake_login(const char *host, int port, const char *user,
		      const char *password, const char *db, int timeout_s,
		      struct hp_err *err)
{
	(void)host;
	(void)port;
	(void)db;
	(void)timeout_s;
	fake_calls++;
	if (!strcmp(user, "app") && !strcmp(password, "good"))
		return 0;
	return hp_err_set(err, HP_EAUTH, "refused");
}

static void test_seam_and_args(void **state)
{
	struct hp_err err;
	hp_pg_login_fn old;

	(void)state;
	old = hp_pg_login_set(fake_login);
	assert_ptr_equal(old, hp_pg_login_libpq);
	fake_calls = 0;
	assert_int_equal(hp_pg_login("h", 5000, "app", "good", "appdb", 5,
				     &err),
			 0);
	assert_int_equal(hp_pg_login("h", 5000, "app", "bad", "appdb", 5,
				     &err),
			 HP_EAUTH);
	assert_int_equal(fake_calls, 2);
	/* bad arguments never reach the login function */
	assert_int_equal(hp_pg_login("h", 0, "app", "good", "appdb", 5, &err),
			 HP_EINVALID);
	assert_int_equal(hp_pg_login("h", 70000, "app", "good", "d", 5, &err),
			 HP_EINVALID);
	assert_int_equal(hp_pg_login("", 5000, "app", "good", "d", 5, &err),
			 HP_EINVALID);
	assert_int_equal(hp_pg_login("h", 5000, "", "good", "d", 5, &err),
			 HP_EINVALID);
	assert_int_equal(hp_pg_login("h", 5000, "app", NULL, "d", 5, &err),
			 HP_EINVALID);
	assert_int_equal(hp_pg_login("h", 5000, "app", "good", "", 5, &err),
			 HP_EINVALID);
	assert_int_equal(fake_calls, 2);
	assert_ptr_equal(hp_pg_login_set(NULL), fake_login);
}

static void test_libpq_unreachable(void **state)
{
	struct hp_err err;

	(void)state;
	/* nothing listens on port 1: refused at once, not an auth failure,
	 * and the password is in no message */
	hp_err_clear(&err);
	assert_int_equal(hp_pg_login("127.0.0.1", 1, "app", "Pw4Test0nly",
				     "postgres", 2, &err),
			 HP_ECONNECT);
	assert_non_null(strstr(err.msg, "login as app"));
	assert_null(strstr(err.msg, "Pw4Test0nly"));
}

static void test_sslmode_and_answer(void **state)
{
	bool on = true;

	(void)state;
	assert_true(hp_pg_sslmode_ok(NULL));
	assert_true(hp_pg_sslmode_ok("verify-ca"));
	assert_true(hp_pg_sslmode_ok("verify-full"));
	assert_true(hp_pg_sslmode_ok("disable"));
	assert_false(hp_pg_sslmode_ok("verify"));
	assert_false(hp_pg_sslmode_ok("verify-ca "));
	assert_false(hp_pg_sslmode_ok(""));
	assert_true(hp_pg_ssl_answer("f", &on));
	assert_false(on);
	assert_true(hp_pg_ssl_answer("t", &on));
	assert_true(on);
	on = false;
	assert_false(hp_pg_ssl_answer("true", &on));
	assert_false(hp_pg_ssl_answer("", &on));
	assert_false(hp_pg_ssl_answer("tt", &on));
	assert_false(hp_pg_ssl_answer(NULL, &on));
	assert_false(on);
}

static int tls_calls;
static const char *tls_seen_mode, *tls_seen_root;
static int fake_login_tls(const char *host, int port, const char *user,
			  const char *password, const char *db, int timeout_s,
			  const struct hp_pg_tls *tls, bool *ssl_on,
			  struct hp_err *err)
{
	(void)host;
	(void)port;
	(void)user;
	(void)db;
	(void)timeout_s;
	(void)err;
	tls_calls++;
	tls_seen_mode = tls ? tls->sslmode : NULL;
	tls_seen_root = tls ? tls->sslrootcert : NULL;
	*ssl_on = !strcmp(password, "good");
	return 0;
}

static void test_tls_seam_and_args(void **state)
{
	struct hp_pg_tls t = { "verify-ca", "/tmp/x/ca.crt" };
	struct hp_pg_tls bad = { "verify", NULL };
	struct hp_err err;
	bool on = false;

	(void)state;
	assert_ptr_equal(hp_pg_login_tls_set(fake_login_tls),
			 hp_pg_login_tls_libpq);
	tls_calls = 0;
	assert_int_equal(hp_pg_login_tls("h", 5000, "app", "good", "d", 5, &t,
					 &on, &err),
			 0);
	assert_true(on);
	assert_string_equal(tls_seen_mode, "verify-ca");
	assert_string_equal(tls_seen_root, "/tmp/x/ca.crt");
	/* the flag is reset before the call: a fake that leaves it says no */
	assert_int_equal(hp_pg_login_tls("h", 5000, "app", "other", "d", 5,
					 &t, &on, &err),
			 0);
	assert_false(on);
	assert_int_equal(tls_calls, 2);
	assert_int_equal(hp_pg_login_tls("h", 5000, "app", "good", "d", 5,
					 &bad, &on, &err),
			 HP_EINVALID);
	assert_int_equal(hp_pg_login_tls("h", 0, "app", "good", "d", 5, &t,
					 &on, &err),
			 HP_EINVALID);
	assert_int_equal(hp_pg_login_tls("h", 5000, "app", "good", "d", 5, &t,
					 NULL, &err),
			 HP_EINVALID);
	assert_int_equal(tls_calls, 2);
	assert_ptr_equal(hp_pg_login_tls_set(NULL), fake_login_tls);
}

static void test_libpq_tls_unreachable(void **state)
{
	struct hp_pg_tls t = { "verify-full", "/nonexistent/ca.crt" };
	struct hp_err err;
	bool on = true;

	(void)state;
	hp_err_clear(&err);
	assert_int_equal(hp_pg_login_tls("127.0.0.1", 1, "app", "Pw4Test0nly",
					 "postgres", 2, &t, &on, &err),
			 HP_ECONNECT);
	assert_false(on);
	assert_null(strstr(err.msg, "Pw4Test0nly"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_message_masks_password),
		cmocka_unit_test(test_seam_and_args),
		cmocka_unit_test(test_libpq_unreachable),
		cmocka_unit_test(test_sslmode_and_answer),
		cmocka_unit_test(test_tls_seam_and_args),
		cmocka_unit_test(test_libpq_tls_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
