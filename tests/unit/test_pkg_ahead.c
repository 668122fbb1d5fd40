/*
 * Packages ahead (phases/pkg_ahead.c): a host's packages step in an apply
 * takes along what the later selected phases of its roles lack, writes
 * their before_install files first, and holds back their services that
 * are not running; nothing in a plan, a rollback, for an unselected
 * phase, a phase of another role, or a phase whose before_install file a
 * service reads. And the hold itself: the drop-ins around the install,
 * and the service step that clears one a killed run left.
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

/* a: etcd and haproxy; b: etcd and pg; c: all three */
static const char inv_yaml[] = HP_ENGINE_INV("", "etcd, haproxy",
					     "etcd, patroni",
					     HP_ENGINE_ALL_ROLES);

static const char *const e_pkgs[] = { "etcd-server", "etcd-client" };
/* pg lists etcd-client too: installed once, with etcd's */
static const char *const p_pkgs[] = { "postgresql-15", "etcd-client" };
static const char *const x_pkgs[] = { "postgresql-15-cron" };
static const char *const h_pkgs[] = { "haproxy" };
static const char *const e_svcs[] = { "etcd", NULL };
static const char *const p_svcs[] = { "patroni", "postgresql", NULL };
static const char *const h_svcs[] = { "haproxy", NULL };

FX_PKGS(etcd_pkgs, e_pkgs)
FX_PKGS(pg_pkgs, p_pkgs)
FX_PKGS(ha_pkgs, h_pkgs)

static const char *const *pg_also(const struct hp_run *r, size_t *nr)
{
	(void)r;
	*nr = HP_ARRAY_SIZE(x_pkgs);
	return x_pkgs;
}

static int nop(struct hp_run *run, struct hp_err *err)
{
	(void)run;
	(void)err;
	return 0;
}

static const char *const pg_files[] = { "createcluster.conf", NULL };
static const char *const ha_files[] = { "pre.conf", NULL };

static const struct hp_phase table[] = {
	{ .name = "etcd", .role = HP_ROLE_ETCD, .packages = etcd_pkgs,
	  .services = e_svcs, .converge = nop, .verify = nop },
	{ .name = "pg", .role = HP_ROLE_PATRONI, .files = pg_files,
	  .packages = pg_pkgs, .also_installs = pg_also, .services = p_svcs,
	  .converge = nop, .verify = nop },
	{ .name = "haproxy", .role = HP_ROLE_HAPROXY, .files = ha_files,
	  .packages = ha_pkgs, .services = h_svcs, .converge = nop,
	  .verify = nop },
};

/* what services read pg's before_install file (NULL: none) */
static const char *bi_services;
/* haproxy has a before_install file too */
static bool ha_file;

/* pg has a before_install file and another one; the others none */
/* f: path, content "x\n", 0644 root:root */
static void fill_file(struct hp_want_file *f, const char *path)
{
	f->path = xstrdup(path);
	f->content = xstrdup("x\n");
	f->len = 2;
	f->mode = 0644;
	f->owner = xstrdup("root");
	f->group = xstrdup("root");
}

static int files_cb(struct hp_hostrun *h, const char *phase,
		    struct hp_want_file **out, size_t *nr, struct hp_err *err)
{
	struct hp_want_file *wf = xcalloc(2, sizeof(*wf));

	(void)h;
	(void)err;
	*out = wf;
	*nr = 0;
	if (ha_file && !strcmp(phase, "haproxy")) {
		fill_file(&wf[0], "/etc/haproxy/pre.conf");
		wf[0].before_install = true;
		*nr = 1;
		return 0;
	}
	if (strcmp(phase, "pg") != 0)
		return 0;
	fill_file(&wf[0], "/etc/pg/createcluster.conf");
	fill_file(&wf[1], "/etc/pg/other.conf");
	wf[0].before_install = true;
	wf[0].services = bi_services ? xstrdup(bi_services) : NULL;
	*nr = 2;
	return 0;
}

static bool want_all[] = { true, true, true };

static struct fx *setup(bool plan)
{
	struct fx *x = fx_new_inv(inv_yaml, plan);

	x->run.phase_files_cb = files_cb;
	x->run.phase_table = table;
	x->run.phase_table_nr = HP_ARRAY_SIZE(table);
	x->run.phase_entry = &table[0];
	x->run.phase = "etcd";
	x->run.phase_want = want_all;
	bi_services = NULL;
	ha_file = false;
	return x;
}

static bool has(const struct hp_ahead *a, const char *pkg)
{
	size_t i;

	for (i = 0; i < a->nr; i++)
		if (!strcmp(a->pkgs[i], pkg))
			return true;
	return false;
}

static bool holds(const struct hp_ahead *a, const char *svc)
{
	size_t i;

	for (i = 0; i < a->nr_hold; i++)
		if (!strcmp(a->hold[i], svc))
			return true;
	return false;
}

static const bool none_installed[] = { false, false };

/* c, a fresh host: pg's packages go along (its also_installs too), its
 * before_install file is written first and its stopped services are held;
 * haproxy, already installed and running, is neither taken nor held. */
static void test_takes_later_phases(void **state)
{
	struct fx *x = setup(false);
	struct hp_fake *fk = &x->fake[2];
	struct hp_ahead a;
	long facts, put;

	(void)state;
	/* files: createcluster.conf; packages: postgresql-15 etcd-client
	 * postgresql-15-cron haproxy; services: patroni postgresql
	 * haproxy */
	hp_fake_expect(fk, "export LC_ALL=C", 0,
		       "F -\nP \nP \nP \nP ii\n"
		       "S disabled inactive 0\nS enabled active 7\n"
		       "S enabled active 9\n",
		       "");
	hp_fake_expect(fk, "", 0, "", "");
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	/* the current phase's first, each package once */
	assert_int_equal(a.nr, 4);
	assert_string_equal(a.pkgs[0], "etcd-server");
	assert_string_equal(a.pkgs[1], "etcd-client");
	assert_string_equal(a.pkgs[2], "postgresql-15");
	assert_string_equal(a.pkgs[3], "postgresql-15-cron");
	assert_false(a.installed[0] || a.installed[2] || a.installed[3]);
	assert_false(has(&a, "haproxy"));
	/* patroni is stopped: held; postgresql runs: left alone */
	assert_int_equal(a.nr_hold, 1);
	assert_true(holds(&a, "patroni"));
	/* only the before_install file was asked about, and written */
	facts = hp_fake_find_call(fk, HP_FAKE_EXEC, "export LC_ALL=C", 0);
	assert_true(facts >= 0);
	assert_non_null(strstr(fk->calls[facts].what, "createcluster.conf"));
	assert_null(strstr(fk->calls[facts].what, "other.conf"));
	put = hp_fake_find_call(fk, HP_FAKE_PUT, "createcluster.conf", 0);
	assert_true(put > facts);
	assert_true(hp_fake_find_call(fk, HP_FAKE_PUT, "other.conf", 0) < 0);
	assert_int_equal(hp_run_count(&x->run, "etcd", HP_STEP_CHANGED), 1);
	hp_ahead_release(&a);
	fx_free(x);
}

/* The run's read-ahead answers for the later phases: the ahead asks the
 * host nothing more and decides as from its own read; once the run has
 * recorded a change, the read-ahead no longer stands and it asks. */
static void test_from_read_ahead(void **state)
{
	struct fx *x = setup(false);
	struct hp_fake *fk = &x->fake[2];
	struct hp_ahead a;
	size_t calls;

	(void)state;
	/* files: createcluster.conf other.conf; packages: etcd-server
	 * etcd-client | postgresql-15 etcd-client postgresql-15-cron |
	 * haproxy; services: etcd | patroni postgresql | haproxy */
	hp_fake_expect(fk, "export LC_ALL=C", 0,
		       "F -\nF -\nP \nP \nP \nP \nP \nP ii\n"
		       "S disabled inactive 0\nS disabled inactive 0\n"
		       "S enabled active 7\nS enabled active 9\n",
		       "")
		->times = 1;
	/* the second read, once the first no longer stands */
	hp_fake_expect(fk, "export LC_ALL=C", 0,
		       "F -\nP ii\nP ii\nP ii\nP ii\n"
		       "S enabled active 1\nS enabled active 2\n"
		       "S enabled active 3\n",
		       "")
		->times = 1;
	hp_fake_expect(fk, "/etc/pg", 0, "", ""); /* the write */
	hp_phase_prefetch(&x->run, table, 3, want_all);
	assert_int_equal(fk->nr_calls, 1);
	if (hp_ahead_prepare(&x->run.hosts[2], e_pkgs, none_installed, 2, &a,
			     &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_true(hp_fake_find_call(fk, HP_FAKE_EXEC, "export LC_ALL=C",
				      1) < 0);
	assert_int_equal(a.nr, 4);
	assert_string_equal(a.pkgs[2], "postgresql-15");
	assert_string_equal(a.pkgs[3], "postgresql-15-cron");
	assert_false(has(&a, "haproxy"));
	assert_int_equal(a.nr_hold, 1);
	assert_true(holds(&a, "patroni"));
	assert_true(hp_fake_find_call(fk, HP_FAKE_PUT, "createcluster.conf",
				      0) > 0);
	assert_true(hp_fake_find_call(fk, HP_FAKE_PUT, "other.conf", 0) < 0);
	assert_int_equal(fk->nr_unexpected, 0);
	hp_ahead_release(&a);

	/* the write above is a change: the next one asks for itself */
	calls = fk->nr_calls;
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_true(hp_fake_find_call(fk, HP_FAKE_EXEC, "export LC_ALL=C",
				      calls) >= 0);
	assert_int_equal(a.nr, 0);
	assert_int_equal(fk->nr_unexpected, 0);
	hp_ahead_release(&a);
	fx_free(x);
}

static bool not_before_install(const struct hp_want_file *f)
{
	return !f->before_install;
}

/* hp_phase_asks_read_ahead lays out the read-ahead's answers as one
 * facts command for the asks would: each ask's kept files, packages and
 * services, in order, with its runs set; nothing for an ask the
 * read-ahead did not cover. */
static void test_asks_read_ahead_layout(void **state)
{
	struct fx *x = setup(false);
	struct hp_hostrun *h = &x->run.hosts[2];
	struct hp_phase_ask k[2];
	struct hp_facts f;
	char sha[65], ans[512];

	(void)state;
	hp_sha256_hex("x\n", 2, sha);
	(void)snprintf(ans, sizeof(ans),
		       "F -\nF %s 640 root root\nP ii\nP \nP ii\nP \n"
		       "P \nP ii\nS enabled active 5\n"
		       "S disabled failed 0\nS enabled active 6\n"
		       "S enabled activating 8\n",
		       sha);
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0, ans, "");
	hp_phase_prefetch(&x->run, table, 3, want_all);
	/* pg and haproxy; only pg's file that is not before_install */
	assert_true(hp_phase_ask_init(h, &table[1], &k[0]));
	assert_true(hp_phase_ask_init(h, &table[2], &k[1]));
	assert_true(hp_phase_asks_read_ahead(h, k, 2, not_before_install,
					     &f));
	assert_int_equal(f.nr_files, 1);
	assert_int_equal(k[0].f0, 0);
	assert_int_equal(k[0].nf, 1);
	assert_int_equal(k[1].f0, 1);
	assert_int_equal(k[1].nf, 0);
	assert_true(f.files[0].exists);
	assert_int_equal(f.files[0].mode, 0640);
	/* pg: postgresql-15 etcd-client postgresql-15-cron; haproxy */
	assert_int_equal(f.nr_pkgs, 4);
	assert_int_equal(k[0].p0, 0);
	assert_int_equal(k[1].p0, 3);
	assert_true(f.pkg_installed[0]);
	assert_false(f.pkg_installed[1]);
	assert_false(f.pkg_installed[2]);
	assert_true(f.pkg_installed[3]);
	assert_int_equal(f.nr_svcs, 3);
	assert_int_equal(k[0].s0, 0);
	assert_int_equal(k[0].ns, 2);
	assert_int_equal(k[1].s0, 2);
	assert_int_equal(k[1].ns, 1);
	assert_string_equal(f.svcs[0].active, "failed");
	assert_int_equal(f.svcs[1].main_pid, 6);
	assert_string_equal(f.svcs[2].active, "activating");
	hp_facts_release(&f);
	hp_phase_ask_release(&k[0]);
	hp_phase_ask_release(&k[1]);
	/* a read the read-ahead never covered: b's, with no answer */
	assert_true(hp_phase_ask_init(&x->run.hosts[1], &table[1], &k[0]));
	assert_false(hp_phase_asks_read_ahead(&x->run.hosts[1], k, 1, NULL,
					      &f));
	assert_int_equal(f.nr_files + f.nr_pkgs + f.nr_svcs, 0);
	hp_phase_ask_release(&k[0]);
	fx_free(x);
}

/* Two later phases with a before_install file each: each is checked
 * against its own answer (haproxy's is there already, pg's is not). */
static void test_each_phase_its_files(void **state)
{
	struct fx *x = setup(false);
	struct hp_fake *fk = &x->fake[2];
	struct hp_buf ans = HP_BUF_INIT;
	struct hp_ahead a;
	char sha[65];

	(void)state;
	ha_file = true;
	hp_sha256_hex("x\n", 2, sha);
	hp_buf_addf(&ans, "F -\nF %s 644 root root\nP \nP \nP \nP \n"
			  "S disabled inactive 0\nS enabled active 7\n"
			  "S disabled inactive 0\n",
		    sha);
	hp_fake_expect(fk, "export LC_ALL=C", 0, ans.buf, "");
	hp_fake_expect(fk, "", 0, "", "");
	if (hp_ahead_prepare(&x->run.hosts[2], e_pkgs, none_installed, 2, &a,
			     &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_true(has(&a, "haproxy"));
	assert_true(hp_fake_find_call(fk, HP_FAKE_PUT, "createcluster.conf",
				      0) >= 0);
	assert_true(hp_fake_find_call(fk, HP_FAKE_PUT, "pre.conf", 0) < 0);
	hp_ahead_release(&a);
	hp_buf_release(&ans);
	fx_free(x);
}

/* Everything later is installed: nothing goes along, nothing written. */
static void test_nothing_missing(void **state)
{
	struct fx *x = setup(false);
	struct hp_fake *fk = &x->fake[2];
	struct hp_ahead a;

	(void)state;
	hp_fake_expect(fk, "export LC_ALL=C", 0,
		       "F -\nP ii\nP ii\nP ii\nP ii\n"
		       "S disabled inactive 0\nS enabled active 7\n"
		       "S disabled inactive 0\n",
		       "");
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_int_equal(a.nr, 0);
	assert_int_equal(a.nr_hold, 0);
	assert_int_equal(fk->nr_calls, 1);
	hp_ahead_release(&a);
	fx_free(x);
}

/* b has no haproxy role, a no patroni role: only their own later
 * phases; haproxy's stopped service is held on a. */
static void test_roles(void **state)
{
	struct fx *x = setup(false);
	struct hp_ahead a;

	(void)state;
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0,
		       "P \nS enabled inactive 0\n", "");
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[0], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_int_equal(a.nr, 3);
	assert_true(has(&a, "haproxy"));
	assert_false(has(&a, "postgresql-15"));
	assert_true(holds(&a, "haproxy"));
	hp_ahead_release(&a);

	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0,
		       "F -\nP \nP \nP \nS disabled inactive 0\n"
		       "S disabled inactive 0\n",
		       "");
	hp_fake_expect(&x->fake[1], "", 0, "", "");
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[1], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_true(has(&a, "postgresql-15"));
	assert_false(has(&a, "haproxy"));
	assert_true(holds(&a, "patroni") && holds(&a, "postgresql"));
	assert_false(holds(&a, "haproxy"));
	hp_ahead_release(&a);
	fx_free(x);
}

/* Nothing ahead, and nothing asked of the host: a plan, a rollback, no
 * selection, the last phase, an unselected later phase. */
static void test_nothing_ahead(void **state)
{
	bool only_etcd[] = { true, false, false };
	struct hp_ahead a;
	struct fx *x;

	(void)state;
	x = setup(true);
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_int_equal(a.nr, 0);
	fx_free(x);

	x = setup(false);
	x->run.desired.point = "0123456789abcdef0123456789abcdef01234567";
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_int_equal(a.nr, 0);
	x->run.desired.point = NULL;
	x->run.phase_want = NULL;
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_int_equal(a.nr, 0);
	x->run.phase_want = only_etcd;
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_int_equal(a.nr, 0);
	x->run.phase_want = want_all;
	x->run.phase_entry = &table[2];
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], h_pkgs,
					  none_installed, 1, &a, &x->err),
			 0);
	assert_int_equal(a.nr, 0);
	assert_int_equal(x->fake[2].nr_calls, 0);
	fx_free(x);
}

/* A before_install file that a service reads: its restart would be lost
 * between phases, so that phase installs for itself. */
static void test_before_install_with_service(void **state)
{
	struct fx *x = setup(false);
	struct hp_ahead a;

	(void)state;
	bi_services = "patroni";
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0,
		       "P \nS enabled inactive 0\n", "");
	assert_int_equal(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
					  none_installed, 2, &a, &x->err),
			 0);
	assert_false(has(&a, "postgresql-15"));
	assert_true(has(&a, "haproxy"));
	assert_true(hp_fake_find_call(&x->fake[2], HP_FAKE_PUT,
				      "createcluster.conf", 0) < 0);
	hp_ahead_release(&a);
	fx_free(x);
}

/* A failed read: the error, nothing to install ahead. */
static void test_failed_read(void **state)
{
	struct fx *x = setup(false);
	struct hp_ahead a;

	(void)state;
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0, "P \n", "");
	assert_true(hp_ahead_prepare(&x->run.hosts[2], e_pkgs,
				     none_installed, 2, &a, &x->err) < 0);
	assert_int_equal(a.nr, 0);
	assert_null(a.pkgs);
	fx_free(x);
}

/* The hold: the trap is set before any drop-in is written, each service
 * gets one that fails its start condition, and systemd reads them. */
static void test_hold_cmd(void **state)
{
	static const char *const svcs[] = { "patroni", "haproxy" };
	struct hp_buf b = HP_BUF_INIT;
	const char *trap, *mk;

	(void)state;
	hp_pkg_hold_cmd(&b, svcs, 0);
	assert_int_equal(b.len, 0);
	hp_pkg_hold_cmd(&b, svcs, 2);
	trap = strstr(b.buf, "trap unhold EXIT");
	mk = strstr(b.buf, "mkdir -p");
	assert_non_null(trap);
	assert_non_null(mk);
	assert_true(trap < mk);
	assert_non_null(strstr(b.buf, "for s in 'patroni' 'haproxy'; do"));
	assert_non_null(strstr(b.buf, "'ConditionPathExists=!/'"));
	assert_non_null(strstr(b.buf, "/run/systemd/system/$s.service.d"));
	assert_non_null(strstr(b.buf, "rm -f \"$d/haprov-install.conf\""));
	assert_non_null(strstr(mk, "systemctl daemon-reload || exit 1"));
	hp_buf_release(&b);
}

/* The install with a hold: the hold comes before apt-get. */
static void test_packages_held(void **state)
{
	static const char *const pkgs[] = { "haproxy" };
	static const char *const svcs[] = { "haproxy" };
	const bool installed[] = { false };
	struct fx *x = setup(false);
	struct hp_fake *fk = &x->fake[0];
	const char *cmd, *hold, *apt;
	bool changed = false;
	long i;

	(void)state;
	hp_fake_expect(fk, "dpkg-lock", 0, "dpkg-lock none\n", "");
	hp_fake_expect(fk, "apt-get install", 0, "", "");
	assert_int_equal(hp_step_packages_held(&x->run.hosts[0], pkgs, 1,
					       installed, svcs, 1, &changed,
					       &x->err),
			 0);
	assert_true(changed);
	i = hp_fake_find_call(fk, HP_FAKE_EXEC, "apt-get install", 0);
	assert_true(i >= 0);
	cmd = fk->calls[i].what;
	hold = strstr(cmd, "haprov-install.conf");
	apt = strstr(cmd, "apt-get install");
	assert_non_null(hold);
	assert_true(hold < apt);
	fx_free(x);
}

/* A start clears a hold a killed install left; a reload does not ask. */
static void test_service_clears_stale_hold(void **state)
{
	struct fx *x = setup(false);
	struct hp_fake *fk = &x->fake[0];
	struct hp_fact_svc f = { "enabled", "inactive", 0 };
	long i;

	(void)state;
	hp_fake_expect(fk, "systemctl", 0, "", "");
	assert_int_equal(hp_step_service(&x->run.hosts[0], "haproxy", &f,
					 HP_SVC_START, false, &x->err),
			 0);
	i = hp_fake_find_call(fk, HP_FAKE_EXEC, "systemctl start", 0);
	assert_true(i >= 0);
	assert_non_null(strstr(fk->calls[i].what,
			       "f=/run/systemd/system/'haproxy'.service.d/"
			       "haprov-install.conf; if [ -e \"$f\" ]; then "
			       "rm -f \"$f\" && systemctl daemon-reload; fi"));
	assert_true(strstr(fk->calls[i].what, "haprov-install.conf") <
		    strstr(fk->calls[i].what, "systemctl start"));
	assert_int_equal(hp_step_service(&x->run.hosts[0], "haproxy", &f,
					 HP_SVC_RELOAD, false, &x->err),
			 0);
	i = hp_fake_find_call(fk, HP_FAKE_EXEC, "systemctl reload", 0);
	assert_true(i >= 0);
	assert_null(strstr(fk->calls[i].what, "haprov-install.conf"));
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takes_later_phases),
		cmocka_unit_test(test_nothing_missing),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_nothing_ahead),
		cmocka_unit_test(test_before_install_with_service),
		cmocka_unit_test(test_each_phase_its_files),
		cmocka_unit_test(test_from_read_ahead),
		cmocka_unit_test(test_asks_read_ahead_layout),
		cmocka_unit_test(test_failed_read),
		cmocka_unit_test(test_hold_cmd),
		cmocka_unit_test(test_packages_held),
		cmocka_unit_test(test_service_clears_stale_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
