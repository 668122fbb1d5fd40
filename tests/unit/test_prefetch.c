/*
 * Facts read ahead (phases/prefetch.c): one command per host for every
 * selected phase of its roles, each phase's answer found by its key and
 * its packages in the host's map, and nothing used once the run recorded
 * a change, or when the read failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "phases.h"

/* fx_new_inv's: the hosts' roles differ, and so do their phases */
static const char inv_yaml[] =
	HP_ENGINE_INV("", "etcd, haproxy", "etcd, patroni", "etcd, patroni");

static const char *const e_pkgs[] = { "etcd-server", "etcd-client" };
static const char *const h_pkgs[] = { "haproxy" };
static const char *const e_svcs[] = { "etcd", NULL };
static const char *const h_svcs[] = { "haproxy", NULL };

FX_PKGS(etcd_pkgs, e_pkgs)
FX_PKGS(ha_pkgs, h_pkgs)

static int nop(struct hp_run *run, struct hp_err *err)
{
	(void)run;
	(void)err;
	return 0;
}

/* files NULL: nothing to render, the read is packages and services */
static const struct hp_phase table[] = {
	{ .name = "etcd", .role = HP_ROLE_ETCD, .packages = etcd_pkgs,
	  .services = e_svcs, .converge = nop, .verify = nop },
	{ .name = "haproxy", .role = HP_ROLE_HAPROXY, .packages = ha_pkgs,
	  .services = h_svcs, .converge = nop, .verify = nop },
};

static bool take(struct hp_hostrun *h, const char *phase,
		 const char *const *svcs, const char *const *pkgs, size_t np,
		 struct hp_facts *f)
{
	char *key = hp_phase_facts_key(phase, NULL, 0, svcs, 1);
	bool ok = hp_prefetch_take(h, key, pkgs, np, f);

	free(key);
	return ok;
}

static void test_one_command_every_phase(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, false);
	const bool want[] = { true, true };
	struct hp_facts f;
	const char *mixed[] = { "haproxy", "etcd-server" };
	const char *other[] = { "haproxy", "keepalived" };

	(void)state;
	/* a: etcd and haproxy; b: etcd only */
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0,
		       "P ii\nP \nP ii\nS enabled active 11\n"
		       "S enabled active 22\n",
		       "");
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0,
		       "P ii\nP ii\nS disabled inactive 0\n", "");
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0,
		       "P ii\nP ii\nS enabled active 3\n", "");
	hp_phase_prefetch(&x->run, table, 2, want);
	assert_int_equal(x->fake[0].nr_calls, 1);
	assert_int_equal(x->fake[1].nr_calls, 1);
	assert_non_null(strstr(x->fake[0].calls[0].what, "'haproxy'"));
	assert_null(strstr(x->fake[1].calls[0].what, "'haproxy'"));

	/* each phase its own services; packages from the host's map */
	assert_true(take(&x->run.hosts[0], "haproxy", h_svcs, h_pkgs, 1, &f));
	assert_int_equal(f.nr_svcs, 1);
	assert_int_equal(f.svcs[0].main_pid, 22);
	assert_true(f.pkg_installed[0]);
	hp_facts_release(&f);
	assert_true(take(&x->run.hosts[0], "etcd", e_svcs, e_pkgs, 2, &f));
	assert_int_equal(f.svcs[0].main_pid, 11);
	assert_true(f.pkg_installed[0]);
	assert_false(f.pkg_installed[1]);
	hp_facts_release(&f);
	/* another phase's packages, in the order asked */
	assert_true(take(&x->run.hosts[0], "haproxy", h_svcs,
			 (const char *const *)mixed, 2, &f));
	assert_true(f.pkg_installed[0]);
	assert_true(f.pkg_installed[1]);
	hp_facts_release(&f);
	/* no packages asked: none given */
	assert_true(take(&x->run.hosts[0], "haproxy", h_svcs, NULL, 0, &f));
	assert_int_equal(f.nr_pkgs, 0);
	hp_facts_release(&f);
	assert_true(take(&x->run.hosts[1], "etcd", e_svcs, e_pkgs, 2, &f));
	assert_string_equal(f.svcs[0].active, "inactive");
	hp_facts_release(&f);

	/* not read: a package nobody asked about, another key, a phase the
	 * host does not have */
	assert_false(take(&x->run.hosts[0], "haproxy", h_svcs,
			  (const char *const *)other, 2, &f));
	assert_false(take(&x->run.hosts[0], "haproxy", e_svcs, NULL, 0, &f));
	assert_false(take(&x->run.hosts[1], "haproxy", h_svcs, NULL, 0, &f));
	/* nothing more was asked of the hosts */
	assert_int_equal(x->fake[0].nr_calls, 1);

	/* a change of the DCS (in etcd, not on a host): still read */
	hp_run_record_api(&x->run, "b", HP_STEP_CHANGED, "dcs config", NULL,
			  NULL, hp_now_ms());
	assert_true(take(&x->run.hosts[0], "haproxy", h_svcs, h_pkgs, 1, &f));
	hp_facts_release(&f);
	assert_int_equal(x->fake[0].nr_calls, 1);
	/* a change anywhere on a host in the run: every answer is stale */
	hp_run_record(&x->run, "b", HP_STEP_CHANGED, "file /etc/x", "created",
		      NULL, hp_now_ms());
	assert_false(take(&x->run.hosts[0], "haproxy", h_svcs, h_pkgs, 1, &f));
	fx_free(x);
}

static void test_unselected_and_failed(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, false);
	const bool want[] = { true, false };
	struct hp_facts f;

	(void)state;
	/* haproxy not selected: a is asked about etcd only */
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0,
		       "P ii\nP ii\nS enabled active 11\n", "");
	/* b's read fails: nothing kept, the host not failed */
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 255, "",
		       "ssh: connection reset\n");
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0,
		       "P ii\nP ii\nS enabled active 3\n", "");
	hp_phase_prefetch(&x->run, table, 2, want);
	assert_null(strstr(x->fake[0].calls[0].what, "'haproxy'"));
	assert_false(take(&x->run.hosts[0], "haproxy", h_svcs, NULL, 0, &f));
	assert_true(take(&x->run.hosts[0], "etcd", e_svcs, e_pkgs, 2, &f));
	hp_facts_release(&f);
	assert_false(take(&x->run.hosts[1], "etcd", e_svcs, e_pkgs, 2, &f));
	assert_false(x->run.hosts[1].failed);
	assert_int_equal(x->run.hosts[1].err.code, 0);
	fx_free(x);
}

/* A short answer (a host that printed less than it was asked about) is
 * the facts parser's error: nothing is kept. */
static void test_short_answer(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, false);
	const bool want[] = { true, true };
	struct hp_facts f;

	(void)state;
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0, "P ii\n", "");
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0,
		       "P ii\nP ii\nS enabled active 1\n", "");
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0,
		       "P ii\nP ii\nS enabled active 3\n", "");
	hp_phase_prefetch(&x->run, table, 2, want);
	assert_false(take(&x->run.hosts[0], "etcd", e_svcs, NULL, 0, &f));
	assert_false(x->run.hosts[0].failed);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_command_every_phase),
		cmocka_unit_test(test_unselected_and_failed),
		cmocka_unit_test(test_short_answer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
