/*
 * hp_rolling_members (phases/rolling.c), the "one member at a time"
 * helper the rolling restart, the pg_wal move and the extensions' preload
 * share, against the simulated Patroni cluster (fake_patroni.h): replicas
 * first in inventory order, then one switchover to a done replica, then
 * the former leader; no switchover when the leader needs nothing; a
 * failure stops the roll.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_patroni.h"
#include "fake_transport.h"
#include "phases.h"
#include "staged_fixture.h"

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_rest rest;
	struct hp_err err;
	struct sim s;
	struct hp_fake fake[3]; /* HAProxy's runtime API around a switchover */
};

static struct fx *fx_new(void)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	assert_int_equal(hp_inventory_load_string(&x->inv, inv_yaml,
						  sizeof(inv_yaml) - 1,
						  "/tmp/t.yml", &x->diags),
			 0);
	hp_run_init(&x->run, x->inv, &o);
	for (i = 0; i < 3; i++) {
		hp_fake_init(&x->fake[i]);
		x->fake[i].strict = true;
		hp_fake_transport(&x->fake[i], &x->run.hosts[i].tr,
				  x->inv->hosts[i].name);
		hp_fake_expect(&x->fake[i], "IO::Socket::UNIX", 0, "\n\n\n",
			       "");
	}
	sim_init(&x->s, "{\"ttl\": 30}");
	x->run.rest_ops = &sim_ops;
	x->run.rest_ctx = &x->s;
	x->run.restapi_user = xstrdup("patroni");
	x->run.restapi_password = xstrdup("pw");
	hp_err_clear(&x->err);
	assert_int_equal(hp_run_rest_init(&x->run, &x->rest, 1000, &x->err),
			 0);
	return x;
}

static void fx_free(struct fx *x)
{
	size_t i;

	hp_rest_release(&x->rest);
	free(x->run.restapi_user);
	free(x->run.restapi_password);
	hp_run_release(&x->run);
	for (i = 0; i < 3; i++)
		hp_fake_release(&x->fake[i]);
	assert_int_equal(x->s.nr_bad, 0);
	sim_release(&x->s);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

/* What the callbacks see and do. */
struct roll {
	struct sim *s;
	const char *fail_on; /* member() fails on this member */
	bool leader_needs;
	int asked;           /* leader_needs calls */
};

static int member(struct hp_run *run, struct hp_rest *rest, const char *name,
		  const char *leader, void *arg, struct hp_err *err)
{
	struct roll *r = arg;

	(void)run;
	(void)rest;
	hp_buf_addf(&r->s->log, "fn %s(%s);", name, leader);
	if (r->fail_on && !strcmp(r->fail_on, name))
		return hp_err_set(err, HP_EREMOTE, "%s refused", name);
	return 0;
}

static int leader_needs(struct hp_run *run, struct hp_rest *rest,
			const char *leader, void *arg, bool *out,
			struct hp_err *err)
{
	struct roll *r = arg;

	(void)run;
	(void)rest;
	(void)leader;
	(void)err;
	r->asked++;
	*out = r->leader_needs;
	return 0;
}

static int roll(struct fx *x, struct roll *r, const char *leader)
{
	const struct hp_rolling how = {member, leader_needs, r, leader};

	r->s = &x->s;
	return hp_rolling_members(&x->run, &x->rest, &how, &x->err);
}

/* Replicas first, in inventory order, while a leads; one switchover to
 * the first done replica; then the former leader, b leading. */
static void test_replicas_switchover_former_leader(void **state)
{
	struct fx *x = fx_new();
	struct roll r = {NULL, NULL, true, 0};

	(void)state;
	assert_int_equal(roll(x, &r, NULL), 0);
	assert_string_equal(x->s.log.buf,
			    "fn b(a);fn c(a);switchover a>b;fn a(b);");
	assert_int_equal(x->s.leader, 1);
	assert_int_equal(r.asked, 1);
	fx_free(x);
}

/* The leader needs nothing: no switchover, the leader untouched. */
static void test_leader_needs_nothing(void **state)
{
	struct fx *x = fx_new();
	struct roll r = {NULL, NULL, false, 0};

	(void)state;
	assert_int_equal(roll(x, &r, "a"), 0);
	assert_string_equal(x->s.log.buf, "fn b(a);fn c(a);");
	assert_int_equal(x->s.leader, 0);
	fx_free(x);
}

/* A replica that fails stops the roll: no further member, no
 * switchover, the leader not asked. */
static void test_failure_stops(void **state)
{
	struct fx *x = fx_new();
	struct roll r = {NULL, "b", true, 0};

	(void)state;
	assert_int_equal(roll(x, &r, NULL), HP_EREMOTE);
	assert_string_equal(x->s.log.buf, "fn b(a);");
	assert_non_null(strstr(x->err.msg, "b refused"));
	assert_int_equal(r.asked, 0);
	assert_int_equal(x->s.leader, 0);
	fx_free(x);
}

/* The roll starts only from the leader it was given. */
static void test_other_leader_refused(void **state)
{
	struct fx *x = fx_new();
	struct roll r = {NULL, NULL, true, 0};

	(void)state;
	x->s.leader = 2;
	assert_int_equal(roll(x, &r, "a"), HP_EVERIFY);
	assert_string_equal(x->s.log.buf, "");
	assert_non_null(strstr(x->err.msg, "leader changed from a to c"));
	fx_free(x);
}

/* The leader is found from a stable cluster when none is given: c leads,
 * so a and b go first and the switchover goes to a. */
static void test_leader_found(void **state)
{
	struct fx *x = fx_new();
	struct roll r = {NULL, NULL, true, 0};

	(void)state;
	x->s.leader = 2;
	assert_int_equal(roll(x, &r, NULL), 0);
	assert_string_equal(x->s.log.buf,
			    "fn a(c);fn b(c);switchover c>a;fn c(a);");
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replicas_switchover_former_leader),
		cmocka_unit_test(test_leader_needs_nothing),
		cmocka_unit_test(test_failure_stops),
		cmocka_unit_test(test_other_leader_refused),
		cmocka_unit_test(test_leader_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
