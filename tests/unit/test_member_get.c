/*
 * hp_member_get (phases/staged_cluster.c): a GET cut short at the
 * connection or the TLS handshake is asked once more (Patroni restarts its
 * REST listener when it reloads a renewed certificate); a refusal that
 * stays is an error; an HTTP answer, whatever its status, is not asked
 * again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_rest.h"
#include "phases.h"
#include "staged_priv.h"
#include "steps_fixture.h"

static int get(struct fx *x, struct hp_fake_rest *fr)
{
	struct hp_rest rest;
	struct hp_rest_resp resp;
	int r;

	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = fr;
	assert_int_equal(hp_run_rest_init(&x->run, &rest, 1000, &x->err), 0);
	hp_rest_resp_init(&resp);
	r = hp_member_get(&x->run, &rest, "pg2", "/patroni", &resp, &x->err);
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	x->run.rest_ops = NULL;
	return r;
}

static void test_retry_once(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_fake_rest fr;

	(void)state;
	/* reset at the handshake, then the answer */
	hp_fake_rest_init(&fr);
	hp_fake_rest_fail(&fr, "GET", ":8008/patroni", HP_ETLS, 1);
	hp_fake_rest_expect(&fr, "GET", ":8008/patroni", 200, "{}", 1);
	assert_int_equal(get(x, &fr), 0);
	assert_int_equal(fr.nr_reqs, 2);
	hp_fake_rest_release(&fr);
	/* refused twice: the error, after two tries */
	hp_fake_rest_init(&fr);
	hp_fake_rest_fail(&fr, "GET", ":8008/patroni", HP_ECONNECT, 0);
	assert_int_equal(get(x, &fr), HP_ECONNECT);
	assert_int_equal(fr.nr_reqs, 2);
	hp_fake_rest_release(&fr);
	/* an HTTP answer is final, a 503 too */
	hp_fake_rest_init(&fr);
	hp_fake_rest_expect(&fr, "GET", ":8008/patroni", 503, "{}", 0);
	assert_int_equal(get(x, &fr), HP_EREMOTE);
	assert_int_equal(fr.nr_reqs, 1);
	hp_fake_rest_release(&fr);
	/* a timeout is not retried: it already cost the whole timeout */
	hp_fake_rest_init(&fr);
	hp_fake_rest_fail(&fr, "GET", ":8008/patroni", HP_ETIMEOUT, 0);
	assert_int_equal(get(x, &fr), HP_ETIMEOUT);
	assert_int_equal(fr.nr_reqs, 1);
	hp_fake_rest_release(&fr);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_once),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
