/*
 * haprov rotate --ca: the stage read from the store, each stage's trust
 * bundle and signer, the order of the stages with fake ops (start, each
 * stage then its marker, finish), resume from a stage, a failed stage
 * leaving its marker, and the etcd staleness probe's answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rotate_ca_priv.h"
#include "tls_rotation.h"

/* ---- stage detection ---------------------------------------------------- */

static void test_stage_decide(void **state)
{
	(void)state;
	assert_int_equal(hp_ca_stage_decide(false, false, NULL), HP_CA_NONE);
	assert_int_equal(hp_ca_stage_decide(false, false, "2"), HP_CA_NONE);
	assert_int_equal(hp_ca_stage_decide(true, false, NULL), HP_CA_BOTH);
	assert_int_equal(hp_ca_stage_decide(true, false, "1"), HP_CA_BOTH);
	assert_int_equal(hp_ca_stage_decide(true, false, "2"), HP_CA_REISSUE);
	assert_int_equal(hp_ca_stage_decide(true, false, "3"), HP_CA_DROP);
	/* garbled marker: stage 1, always safe to redo */
	assert_int_equal(hp_ca_stage_decide(true, false, "9"), HP_CA_BOTH);
	assert_int_equal(hp_ca_stage_decide(true, false, "22"), HP_CA_BOTH);
	/* the new CA already promoted: only the cleanup is left */
	assert_int_equal(hp_ca_stage_decide(true, true, "3"), HP_CA_CLEANUP);
	assert_string_equal(hp_ca_stage_marker(HP_CA_REISSUE), "2");
	assert_null(hp_ca_stage_marker(HP_CA_NONE));
}

/* ---- bundles and signers --------------------------------------------------
 */

#define OLD "-----BEGIN CERTIFICATE-----\nOLD\n-----END CERTIFICATE-----\n"
#define NEW "-----BEGIN CERTIFICATE-----\nNEW\n-----END CERTIFICATE-----"

static void bundle_is(enum hp_ca_stage s, const char *next, const char *want)
{
	struct hp_buf b = HP_BUF_INIT;

	hp_ca_bundle(&b, s, OLD, next);
	assert_string_equal(b.buf, want);
	hp_buf_release(&b);
}

static void test_bundles(void **state)
{
	(void)state;
	bundle_is(HP_CA_NONE, NULL, OLD);
	bundle_is(HP_CA_BOTH, NEW, OLD NEW "\n");
	bundle_is(HP_CA_REISSUE, NEW, OLD NEW "\n");
	bundle_is(HP_CA_DROP, NEW, NEW "\n");
	/* promoted: current == next, listed once */
	bundle_is(HP_CA_CLEANUP, NEW, OLD);
}

static void test_signers(void **state)
{
	(void)state;
	assert_false(hp_ca_issue_with_new(HP_CA_NONE));
	assert_false(hp_ca_issue_with_new(HP_CA_BOTH));
	assert_true(hp_ca_issue_with_new(HP_CA_REISSUE));
	assert_true(hp_ca_issue_with_new(HP_CA_DROP));
	/* the client certificate only once every REST API trusts the new
	 * CA (after stage 2's reload) */
	assert_false(hp_ca_client_with_new(HP_CA_REISSUE));
	assert_true(hp_ca_client_with_new(HP_CA_DROP));
	assert_true(hp_ca_bundle_has_old(HP_CA_REISSUE));
	assert_false(hp_ca_bundle_has_old(HP_CA_DROP));
}

/* ---- the order, with fake ops ------------------------------------------- */

struct fake {
	char log[256];
	bool has_next;
	enum hp_ca_stage marker; /* the stage the store records */
	bool promoted;
	int fail_stage;	  /* run_stage(fail_stage) fails; 0: none */
	bool lose_marker; /* mark writes nothing */
};

/* "what" or "what<n> " appended to the log (n < 0: none) */
static void say(struct fake *f, const char *what, int n)
{
	size_t len = strlen(f->log);

	if (n < 0)
		snprintf(f->log + len, sizeof(f->log) - len, "%s", what);
	else
		snprintf(f->log + len, sizeof(f->log) - len, "%s%d ", what, n);
}

static int f_read(void *ctx, enum hp_ca_stage *out, struct hp_err *err)
{
	struct fake *f = ctx;

	(void)err;
	*out = !f->has_next  ? HP_CA_NONE
	       : f->promoted ? HP_CA_CLEANUP
			     : f->marker;
	return 0;
}

static int f_start(void *ctx, struct hp_err *err)
{
	struct fake *f = ctx;

	(void)err;
	f->has_next = true;
	f->marker = HP_CA_BOTH;
	say(f, "start ", -1);
	return 0;
}

static int f_stage(void *ctx, enum hp_ca_stage s, struct hp_err *err)
{
	struct fake *f = ctx;

	say(f, "stage", (int)s);
	if (f->fail_stage == (int)s)
		return hp_err_set(err, HP_EVERIFY, "leader changed");
	return 0;
}

static int f_mark(void *ctx, enum hp_ca_stage next, struct hp_err *err)
{
	struct fake *f = ctx;

	(void)err;
	say(f, "mark", (int)next);
	if (!f->lose_marker)
		f->marker = next;
	return 0;
}

static int f_finish(void *ctx, struct hp_err *err)
{
	struct fake *f = ctx;

	(void)err;
	f->promoted = true;
	say(f, "finish", -1);
	return 0;
}

static const struct hp_ca_ops fops = {f_read, f_start, f_stage, f_mark,
				      f_finish};

static void test_order_fresh(void **state)
{
	struct fake f = {0};
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_rotate_ca_run(&fops, &f, &err), 0);
	assert_string_equal(f.log, "start stage1 mark2 stage2 mark3 stage3 "
				   "finish");
	assert_true(f.promoted);
}

static void test_resume(void **state)
{
	struct fake f = {0};
	struct hp_err err;

	(void)state;
	f.has_next = true;
	f.marker = HP_CA_DROP;
	assert_int_equal(hp_rotate_ca_run(&fops, &f, &err), 0);
	assert_string_equal(f.log, "stage3 finish");

	memset(&f, 0, sizeof(f));
	f.has_next = true;
	f.promoted = true; /* interrupted between promotion and cleanup */
	assert_int_equal(hp_rotate_ca_run(&fops, &f, &err), 0);
	assert_string_equal(f.log, "finish");
}

static void test_failed_stage_keeps_marker(void **state)
{
	struct fake f = {0};
	struct hp_err err;

	(void)state;
	f.fail_stage = 2;
	assert_int_equal(hp_rotate_ca_run(&fops, &f, &err), HP_EVERIFY);
	assert_string_equal(f.log, "start stage1 mark2 stage2 ");
	assert_int_equal(f.marker, HP_CA_REISSUE);
	assert_false(f.promoted);
	assert_non_null(strstr(err.msg, "stage 2 of 3"));
	assert_non_null(strstr(err.msg, "again"));
	/* run again: stage 2 is redone, then the rest */
	f.fail_stage = 0;
	f.log[0] = '\0';
	assert_int_equal(hp_rotate_ca_run(&fops, &f, &err), 0);
	assert_string_equal(f.log, "stage2 mark3 stage3 finish");
}

static void test_lost_marker_stops(void **state)
{
	struct fake f = {0};
	struct hp_err err;

	(void)state;
	f.lose_marker = true;
	assert_int_equal(hp_rotate_ca_run(&fops, &f, &err), HP_ERROR);
	assert_false(f.promoted);
}

/* ---- the etcd probe ------------------------------------------------------ */

static void test_etcd_stale(void **state)
{
	bool stale = false;

	(void)state;
	assert_int_equal(hp_ca_etcd_stale("stale\n", &stale), 0);
	assert_true(stale);
	assert_int_equal(hp_ca_etcd_stale("fresh\n", &stale), 0);
	assert_false(stale);
	assert_int_equal(hp_ca_etcd_stale("", &stale), HP_EVERIFY);
	assert_int_equal(hp_ca_etcd_stale(NULL, &stale), HP_EVERIFY);
}

/* Patroni's REST probe: only "served"/"reloaded" pass */
static void test_patroni_served(void **state)
{
	bool reloaded = true;

	(void)state;
	assert_int_equal(hp_ca_patroni_served("served\n", &reloaded), 0);
	assert_false(reloaded);
	assert_int_equal(hp_ca_patroni_served("reloaded\n", &reloaded), 0);
	assert_true(reloaded);
	assert_int_equal(hp_ca_patroni_served("other\n", &reloaded),
			 HP_EVERIFY);
	assert_int_equal(hp_ca_patroni_served("", &reloaded), HP_EVERIFY);
	assert_int_equal(hp_ca_patroni_served(NULL, &reloaded), HP_EVERIFY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stage_decide),
		cmocka_unit_test(test_bundles),
		cmocka_unit_test(test_patroni_served),
		cmocka_unit_test(test_signers),
		cmocka_unit_test(test_order_fresh),
		cmocka_unit_test(test_resume),
		cmocka_unit_test(test_failed_stage_keeps_marker),
		cmocka_unit_test(test_lost_marker_stops),
		cmocka_unit_test(test_etcd_stale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
