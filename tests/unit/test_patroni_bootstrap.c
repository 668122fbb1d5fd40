/*
 * A new cluster's first start (phases/patroni_bootstrap.c) against the fake
 * REST server: the other members start only once the first member's GET
 * /patroni says it bootstraps, before it serves GET /primary; a failed
 * bootstrap starts nobody else; the state answer is judged strictly
 * (hostile, huge, wrong-typed states wait, and reach the reason only
 * printable).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "fake_rest.h"
#include "inv_abc.h"
#include "phases.h"
#include "rest.h"


struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake_rest fr;
	struct hp_rest rest;
	struct hp_err err;
	/* per host: the number of REST requests made when it was started
	 * (-1: not started) */
	long started_at[3];
};

static struct fx *fx_new(void)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	if (hp_inventory_load_string(&x->inv, inv_abc, strlen(inv_abc), "/tmp/t.yml",
				     &x->diags) != 0)
		fail_msg("inventory refused");
	hp_run_init(&x->run, x->inv, &o);
	hp_fake_rest_init(&x->fr);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &x->fr;
	hp_err_clear(&x->err);
	assert_int_equal(hp_run_rest_init(&x->run, &x->rest, 1000, &x->err), 0);
	for (i = 0; i < 3; i++)
		x->started_at[i] = -1;
	return x;
}

static void fx_free(struct fx *x)
{
	hp_rest_release(&x->rest);
	hp_run_release(&x->run);
	hp_fake_rest_release(&x->fr);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

/* the start hp_patroni_bootstrap is given: notes when it ran (each host
 * writes only its own slot) */
static int start(struct hp_hostrun *h, void *arg)
{
	struct fx *x = arg;

	x->started_at[h - x->run.hosts] = (long)x->fr.nr_reqs;
	return 0;
}

static void state_answer(struct fx *x, const char *state, int times)
{
	char *body =
		xasprintf("{\"state\": \"%s\", \"role\": \"replica\"}", state);

	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/patroni", 200, body,
			    times);
	free(body);
}

/* run the bootstrap with a as the first member, already started */
static int bootstrap(struct fx *x)
{
	struct hp_hostrun *first = &x->run.hosts[0];
	int r;

	first->selected = false;
	r = hp_patroni_bootstrap(&x->run, &x->rest, first, start, x, &x->err);
	first->selected = true;
	return r;
}

static void test_others_start_once_the_key_is_taken(void **state)
{
	struct fx *x = fx_new();
	long key;
	int primary;

	(void)state;
	hp_fake_rest_fail(&x->fr, "GET", "10.0.0.1:8008/patroni", HP_ECONNECT,
			  1);
	state_answer(x, "stopped", 2);
	state_answer(x, "initializing new cluster", 0);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/primary", 503,
			    "{\"state\": \"starting\"}", 1);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/primary", 200,
			    "{\"state\": \"running\"}", 0);

	assert_int_equal(bootstrap(x), 0);
	assert_true(x->run.standbys_new);
	/* the fourth /patroni answer said it bootstraps */
	key = hp_fake_rest_find(&x->fr, "GET", "/patroni", 3);
	assert_true(key >= 0);
	assert_int_equal(hp_fake_rest_find(&x->fr, "GET", "/patroni", 4), -1);
	primary = hp_fake_rest_find(&x->fr, "GET", "/primary", 0);
	assert_true(primary > key);
	/* a is not started again; b and c after the key, before /primary */
	assert_int_equal(x->started_at[0], -1);
	assert_int_equal(x->started_at[1], key + 1);
	assert_int_equal(x->started_at[2], key + 1);
	assert_int_equal(hp_fake_rest_count(&x->fr, "GET", "/primary"), 2);
	assert_int_equal(x->fr.nr_unexpected, 0);
	fx_free(x);
}

/* a member that has bootstrapped already (a quick initdb) counts too */
static void test_running_counts(void **state)
{
	struct fx *x = fx_new();

	(void)state;
	state_answer(x, "running", 0);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/primary", 200, "{}",
			    0);
	assert_int_equal(bootstrap(x), 0);
	assert_int_equal(x->started_at[1], 1);
	assert_int_equal(x->started_at[2], 1);
	fx_free(x);
}

static void test_failed_bootstrap_starts_nobody(void **state)
{
	struct fx *x = fx_new();

	(void)state;
	state_answer(x, "stopped", 1);
	state_answer(x, "initdb failed", 0);

	assert_true(bootstrap(x) < 0);
	assert_non_null(strstr(x->err.msg, "patroni on a: the bootstrap "
					   "failed (state 'initdb failed'"));
	assert_non_null(strstr(x->err.msg, "not started"));
	assert_int_equal(x->started_at[1], -1);
	assert_int_equal(x->started_at[2], -1);
	assert_int_equal(hp_fake_rest_count(&x->fr, "GET", "/primary"), 0);
	fx_free(x);
}

/* never bootstrapping (another holds the key): a timeout, nobody else
 * started, the reason in the error */
static void test_stopped_times_out(void **state)
{
	struct fx *x = fx_new();

	(void)state;
	state_answer(x, "stopped", 0);
	assert_int_equal(bootstrap(x), HP_ETIMEOUT);
	assert_non_null(strstr(x->err.msg, "its state is 'stopped'"));
	assert_int_equal(x->started_at[1], -1);
	assert_int_equal(x->started_at[2], -1);
	fx_free(x);
}

/* one answer judged: returns the check's result, fills seen and why */
static bool judge(long status, const char *body, struct hp_boot_seen *seen,
		  struct hp_buf *why)
{
	struct hp_rest_resp resp;
	bool ok;

	hp_rest_resp_init(&resp);
	resp.status = status;
	resp.json = body ? json_loads(body, JSON_DECODE_ANY, NULL) : NULL;
	hp_buf_reset(why);
	ok = hp_patroni_bootstrapping(&resp, seen, why);
	hp_rest_resp_release(&resp);
	return ok;
}

static void test_state_judged(void **state)
{
	static const struct {
		long status;
		const char *body;
		bool ok, failed;
		const char *why;
	} cases[] = {
		{200, "{\"state\": \"initializing new cluster\"}", true, false,
		 ""},
		{200, "{\"state\": \"running custom bootstrap script\"}", true,
		 false, ""},
		{200, "{\"state\": \"starting\"}", true, false, ""},
		{200, "{\"state\": \"running\"}", true, false, ""},
		{200, "{\"state\": \"initdb failed\"}", true, true, ""},
		{200, "{\"state\": \"custom bootstrap failed\"}", true, true,
		 ""},
		{200, "{\"state\": \"start failed\"}", true, true, ""},
		{200, "{\"state\": \"crashed\"}", true, true, ""},
		{200, "{\"state\": \"stopped\"}", false, false,
		 "its state is 'stopped'"},
		{200, "{\"state\": \"creating replica\"}", false, false,
		 "its state is 'creating replica'"},
		/* case matters: Patroni's states are lower case */
		{200, "{\"state\": \"Running\"}", false, false,
		 "its state is 'Running'"},
		{200, "{\"state\": \"running \"}", false, false,
		 "its state is 'running '"},
		{503, "{\"state\": \"running\"}", false, false,
		 "GET /patroni answered 503 without a state"},
		{200, "{\"state\": 1}", false, false,
		 "GET /patroni answered 200 without a state"},
		{200, "[\"running\"]", false, false,
		 "GET /patroni answered 200 without a state"},
		{200, NULL, false, false,
		 "GET /patroni answered 200 without a state"},
		{200, "{\"state\": \"\\u001b[31mrunning\"}", false, false,
		 "its state is ' [31mrunning'"},
	};
	struct hp_buf why = HP_BUF_INIT;
	struct hp_boot_seen seen;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		seen.failed = !cases[i].failed;
		assert_int_equal(
			judge(cases[i].status, cases[i].body, &seen, &why),
			cases[i].ok);
		assert_int_equal(seen.failed, cases[i].failed);
		assert_string_equal(why.len ? why.buf : "", cases[i].why);
	}
	hp_buf_release(&why);
}

/* a state longer than the buffer is never cut into a known one */
static void test_long_state_waits(void **state)
{
	struct hp_buf why = HP_BUF_INIT;
	struct hp_boot_seen seen;
	char body[256];
	char pad[80];

	(void)state;
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"state\": \"running%s\"}", pad);
	assert_false(judge(200, body, &seen, &why));
	assert_false(seen.failed);
	assert_string_equal(seen.state, "");
	assert_non_null(strstr(why.buf, "a state of 86 bytes"));
	hp_buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_others_start_once_the_key_is_taken),
		cmocka_unit_test(test_running_counts),
		cmocka_unit_test(test_failed_bootstrap_starts_nobody),
		cmocka_unit_test(test_stopped_times_out),
		cmocka_unit_test(test_state_judged),
		cmocka_unit_test(test_long_state_waits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
