/*
 * The engine's logic against a scripted fake transport: facts parsing,
 * the file/package/service steps (idempotence, backups, checks, plan
 * mode, secrets), a failure in the middle of a host's steps, and the
 * worker pool's handling of a failing host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>

#include "engine_fixture.h"
#include "phases.h"

static struct hp_want_file want(const char *path, const char *content)
{
	struct hp_want_file f;

	memset(&f, 0, sizeof(f));
	f.path = path;
	f.content = content;
	f.len = strlen(content);
	f.mode = 0644;
	f.owner = "root";
	f.group = "root";
	f.services = "svc";
	return f;
}

static struct hp_fact_file fact_for(const char *content, unsigned mode)
{
	struct hp_fact_file f;

	memset(&f, 0, sizeof(f));
	f.exists = true;
	hp_sha256_hex(content, strlen(content), f.sha256);
	f.mode = mode;
	hp_strlcpy(f.owner, "root", sizeof(f.owner));
	hp_strlcpy(f.group, "root", sizeof(f.group));
	return f;
}

static void test_facts_one_command(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file wf[2] = { want("/etc/a", "x"), want("/etc/b", "y") };
	const char *pkgs[] = { "etcd-server", "haproxy" };
	const char *svcs[] = { "etcd" };
	struct hp_facts facts;

	(void)state;
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0,
		       "F 0123456789abcdef0123456789abcdef0123456789abcdef"
		       "0123456789abcdef 640 postgres postgres\n"
		       "F -\nP ii\nP \nS enabled active 4242\n",
		       "");
	assert_int_equal(hp_facts_gather(&x->run.hosts[0], wf, 2, pkgs, 2,
					 svcs, 1, &facts, &x->err),
			 0);
	/* one round trip for everything */
	assert_int_equal(x->fake[0].nr_calls, 1);
	assert_true(facts.files[0].exists);
	assert_int_equal(facts.files[0].mode, 0640);
	assert_string_equal(facts.files[0].owner, "postgres");
	assert_false(facts.files[1].exists);
	assert_true(facts.pkg_installed[0]);
	assert_false(facts.pkg_installed[1]);
	assert_string_equal(facts.svcs[0].active, "active");
	assert_int_equal(facts.svcs[0].main_pid, 4242);
	/* every path and name went through the quoting function */
	assert_non_null(strstr(x->fake[0].calls[0].what,
			       "for f in '/etc/a' '/etc/b'; do"));
	assert_non_null(strstr(x->fake[0].calls[0].what, "'haproxy'"));
	hp_facts_release(&facts);
	fx_free(x);
}

static void test_facts_short_answer_is_an_error(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file wf[1] = { want("/etc/a", "x") };
	struct hp_facts facts;

	(void)state;
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0, "", "");
	assert_int_equal(hp_facts_gather(&x->run.hosts[0], wf, 1, NULL, 0,
					 NULL, 0, &facts, &x->err),
			 HP_EREMOTE);
	hp_facts_release(&facts);
	fx_free(x);
}

static void test_file_unchanged_writes_nothing(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file f = want("/etc/a", "same\n");
	struct hp_fact_file fact = fact_for("same\n", 0644);
	bool changed = true;

	(void)state;
	assert_int_equal(hp_step_file(&x->run.hosts[0], &f, &fact, &changed,
				      &x->err),
			 0);
	assert_false(changed);
	assert_int_equal(x->fake[0].nr_calls, 0);
	assert_int_equal(x->run.hosts[0].restart.nr, 0);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_OK), 1);
	fx_free(x);
}

static void test_file_changed_backs_up_then_replaces(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file f = want("/etc/a", "new\n");
	struct hp_fact_file fact = fact_for("old\n", 0644);
	struct hp_fake *fk = &x->fake[0];
	struct hp_hostrun *h = &x->run.hosts[0];
	bool changed = false;
	long backup, get, put;

	(void)state;
	hp_fake_set_file(fk, "/etc/a", "old\n", 4, 0644, "root", "root");
	hp_fake_expect(fk, "cp -p", 0, "", "");
	assert_int_equal(hp_step_file(h, &f, &fact, &changed, &x->err), 0);
	assert_true(changed);
	backup = hp_fake_find_call(fk, HP_FAKE_EXEC, "/var/lib/haprov/backups/",
				   0);
	get = hp_fake_find_call(fk, HP_FAKE_GET, "/etc/a", 0);
	put = hp_fake_find_call(fk, HP_FAKE_PUT, "/etc/a", 0);
	/* the old content is kept on the host before it is replaced */
	assert_true(backup >= 0 && get > backup && put > get);
	assert_string_equal(hp_fake_file(fk, "/etc/a")->data, "new\n");
	/* and for the state repository */
	assert_int_equal(h->nr_recs, 1);
	assert_string_equal(h->recs[0].old, "old\n");
	assert_string_equal(h->recs[0].now, "new\n");
	/* the service that reads it is restarted later */
	assert_true(hp_strlist_has(&h->restart, "svc"));
	fx_free(x);
}

static void test_file_mode_only(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file f = want("/etc/a", "same\n");
	struct hp_fact_file fact = fact_for("same\n", 0666);
	bool changed = false;

	(void)state;
	f.mode = 0600;
	assert_int_equal(hp_step_file(&x->run.hosts[0], &f, &fact, &changed,
				      &x->err),
			 0);
	assert_true(changed);
	/* same content: no backup needed, but the file is put with 0600 */
	assert_int_equal(hp_fake_count_calls(&x->fake[0], HP_FAKE_EXEC,
					     "cp -p"),
			 0);
	assert_int_equal(hp_fake_file(&x->fake[0], "/etc/a")->mode, 0600);
	fx_free(x);
}

static void test_file_check_refuses(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file f = want("/etc/haproxy/haproxy.cfg", "bad\n");
	struct hp_fact_file fact = fact_for("good\n", 0644);
	struct hp_fake *fk = &x->fake[0];
	bool changed = false;
	long chk;

	(void)state;
	f.check_cmd = "haproxy -c -f %s";
	hp_fake_set_file(fk, f.path, "good\n", 5, 0644, "root", "root");
	hp_fake_expect(fk, "cp -p", 0, "", "");
	hp_fake_expect(fk, "haproxy -c -f", 1, "", "[ALERT] parsing error\n");
	assert_int_equal(hp_step_file(&x->run.hosts[0], &f, &fact, &changed,
				      &x->err),
			 HP_EREMOTE);
	/* the new content went to a temporary name, never to the file */
	assert_string_equal(hp_fake_file(fk, f.path)->data, "good\n");
	assert_non_null(hp_fake_file(fk, "/etc/haproxy/haproxy.cfg.haprov-new"));
	chk = hp_fake_find_call(fk, HP_FAKE_EXEC, "haproxy -c -f", 0);
	assert_true(chk >= 0);
	/* checked on the temporary file; renamed only if the check passes,
	 * removed if it fails */
	assert_non_null(strstr(fk->calls[chk].what,
			       "'/etc/haproxy/haproxy.cfg.haprov-new' && mv -f"));
	assert_non_null(strstr(fk->calls[chk].what, "rm -f"));
	assert_non_null(strstr(x->err.msg, "parsing error"));
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_FAILED), 1);
	fx_free(x);
}

static void test_plan_mode_changes_nothing(void **state)
{
	struct fx *x = fx_new(true);
	struct hp_want_file f = want("/etc/a", "new\n");
	struct hp_fact_file fact = fact_for("old\n", 0644);
	struct hp_fake *fk = &x->fake[0];
	bool changed = false;

	(void)state;
	hp_fake_expect(fk, "diff -u", 1, "--- /etc/a\n+++ /etc/a\n-old\n+new\n",
		       "");
	assert_int_equal(hp_step_file(&x->run.hosts[0], &f, &fact, &changed,
				      &x->err),
			 0);
	assert_true(changed);
	assert_int_equal(hp_fake_count_calls(fk, HP_FAKE_PUT, NULL), 0);
	assert_int_equal(hp_fake_count_calls(fk, HP_FAKE_EXEC, "cp -p"), 0);
	/* the new content reaches diff on stdin, never in the command */
	assert_int_equal(hp_fake_count_calls(fk, HP_FAKE_EXEC, "new"), 0);
	assert_int_equal(x->run.nr_results, 1);
	assert_non_null(strstr(x->run.results[0].diff, "+new"));
	fx_free(x);
}

static void test_plan_secret_file_not_shown(void **state)
{
	struct fx *x = fx_new(true);
	struct hp_want_file f = want("/etc/patroni_env.conf",
				     "PASSWORD=hunter2hunter2\n");
	struct hp_fact_file fact = fact_for("PASSWORD=old\n", 0600);
	bool changed = false;
	size_t i;

	(void)state;
	f.secret = true;
	f.mode = 0600;
	assert_int_equal(hp_step_file(&x->run.hosts[0], &f, &fact, &changed,
				      &x->err),
			 0);
	assert_true(changed);
	/* no diff is computed, nothing is sent, nothing recorded shows it */
	assert_int_equal(x->fake[0].nr_calls, 0);
	for (i = 0; i < x->run.nr_results; i++) {
		const struct hp_step_result *r = &x->run.results[i];

		assert_null(strstr(r->step, "hunter2"));
		assert_true(!r->detail || !strstr(r->detail, "hunter2"));
		assert_true(!r->diff || !strstr(r->diff, "hunter2"));
	}
	fx_free(x);
}

static void test_secret_file_apply_travels_on_put(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file f = want("/etc/patroni_env.conf",
				     "PASSWORD=hunter2hunter2\n");
	struct hp_fact_file fact = fact_for("PASSWORD=old\n", 0600);
	struct hp_fake *fk = &x->fake[0];
	bool changed = false;
	size_t i;

	(void)state;
	f.secret = true;
	f.mode = 0600;
	hp_fake_expect(fk, "cp -p", 0, "", "");
	assert_int_equal(hp_step_file(&x->run.hosts[0], &f, &fact, &changed,
				      &x->err),
			 0);
	/* never read back (it would be kept), never in a command line */
	assert_int_equal(hp_fake_count_calls(fk, HP_FAKE_GET, NULL), 0);
	for (i = 0; i < fk->nr_calls; i++)
		assert_null(strstr(fk->calls[i].what, "hunter2"));
	assert_null(x->run.hosts[0].recs[0].old);
	assert_true(x->run.hosts[0].recs[0].secret);
	fx_free(x);
}

static void test_packages_install_only_missing(void **state)
{
	struct fx *x = fx_new(false);
	const char *pkgs[] = { "etcd-server", "etcd-client" };
	bool installed[] = { true, false };
	bool changed = false;
	long c;

	(void)state;
	hp_fake_expect(&x->fake[0], "apt-get install", 0, "", "");
	assert_int_equal(hp_step_packages(&x->run.hosts[0], pkgs, 2, installed,
					  &changed, &x->err),
			 0);
	assert_true(changed);
	c = hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, "apt-get install", 0);
	assert_true(c >= 0);
	assert_non_null(strstr(x->fake[0].calls[c].what, "'etcd-client'"));
	assert_null(strstr(x->fake[0].calls[c].what, "'etcd-server'"));
	/* a failing install tries apt-get update once, and is not fatal
	 * by itself */
	assert_non_null(strstr(x->fake[0].calls[c].what, "apt-get update"));
	fx_free(x);
}

static void test_packages_all_there_no_command(void **state)
{
	struct fx *x = fx_new(false);
	const char *pkgs[] = { "etcd-server" };
	bool installed[] = { true };
	bool changed = true;

	(void)state;
	assert_int_equal(hp_step_packages(&x->run.hosts[0], pkgs, 1, installed,
					  &changed, &x->err),
			 0);
	assert_false(changed);
	assert_int_equal(x->fake[0].nr_calls, 0);
	fx_free(x);
}

static void test_packages_failure_reported(void **state)
{
	struct fx *x = fx_new(false);
	const char *pkgs[] = { "nope" };
	bool installed[] = { false };
	bool changed = false;

	(void)state;
	hp_fake_expect(&x->fake[0], "apt-get install", 1, "",
		       "E: Unable to locate package nope\n");
	assert_int_equal(hp_step_packages(&x->run.hosts[0], pkgs, 1, installed,
					  &changed, &x->err),
			 HP_EREMOTE);
	assert_non_null(strstr(x->err.msg, "Unable to locate package nope"));
	assert_string_equal(x->err.host, "a");
	fx_free(x);
}

static void test_service_needs(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_hostrun *h = &x->run.hosts[0];
	struct hp_fact_svc f;

	(void)state;
	memset(&f, 0, sizeof(f));
	hp_strlcpy(f.enabled, "enabled", sizeof(f.enabled));
	hp_strlcpy(f.active, "inactive", sizeof(f.active));
	assert_int_equal(hp_service_needs(h, "etcd", &f), HP_SVC_START);
	hp_strlcpy(f.active, "active", sizeof(f.active));
	assert_int_equal(hp_service_needs(h, "etcd", &f), HP_SVC_NONE);
	hp_strlist_add(&h->reload, "etcd");
	assert_int_equal(hp_service_needs(h, "etcd", &f), HP_SVC_RELOAD);
	hp_strlist_add(&h->restart, "etcd");
	assert_int_equal(hp_service_needs(h, "etcd", &f), HP_SVC_RESTART);
	fx_free(x);
}

static void test_service_enable_and_start(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_hostrun *h = &x->run.hosts[0];
	struct hp_fact_svc f;
	long c;

	(void)state;
	memset(&f, 0, sizeof(f));
	hp_strlcpy(f.enabled, "disabled", sizeof(f.enabled));
	hp_strlcpy(f.active, "inactive", sizeof(f.active));
	h->daemon_reload = true;
	hp_fake_expect(&x->fake[0], "systemctl", 0, "", "");
	assert_int_equal(hp_step_service(h, "etcd", &f, HP_SVC_START, true,
					 &x->err),
			 0);
	c = hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, "systemctl", 0);
	assert_non_null(strstr(x->fake[0].calls[c].what,
			       "systemctl daemon-reload && systemctl enable -q "
			       "'etcd' && systemctl start --no-block 'etcd'"));
	fx_free(x);
}

/* Nine files on a host, the seventh write fails: the steps stop there,
 * the error names the host, files after it are not touched. */
static int nine_files(struct hp_hostrun *h, const char *phase,
		      struct hp_want_file **out, size_t *nr,
		      struct hp_err *err)
{
	struct hp_want_file *wf = xcalloc(9, sizeof(*wf));
	size_t i;

	(void)h;
	(void)phase;
	(void)err;
	for (i = 0; i < 9; i++) {
		wf[i].path = xasprintf("/etc/f%zu", i + 1);
		wf[i].content = xasprintf("content %zu\n", i + 1);
		wf[i].len = strlen(wf[i].content);
		wf[i].mode = 0644;
		wf[i].owner = xstrdup("root");
		wf[i].group = xstrdup("root");
	}
	*out = wf;
	*nr = 9;
	return 0;
}

static void test_step_7_of_9_fails(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_fake *fk = &x->fake[0];
	struct hp_host_plan p;
	struct hp_facts facts;
	char answer[64] = "";
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	x->run.phase_files_cb = nine_files;
	for (i = 0; i < 9; i++)
		strncat(answer, "F -\n", sizeof(answer) - strlen(answer) - 1);
	hp_fake_expect(fk, "export LC_ALL=C", 0, answer, "");
	hp_fake_expect(fk, "mkdir -p", 0, "", "");
	/* calls: 1 facts, one mkdir for /etc (the first new file's), then
	 * a put per file: file 7's put is call 1 + 1 + 7 = 9 */
	hp_fake_fail_call(fk, 9, HP_ECONNECT);
	assert_int_equal(hp_phase_host_converge(&x->run.hosts[0], "etcd", &p,
						&facts, &x->err),
			 HP_ECONNECT);
	for (i = 1; i <= 6; i++) {
		char path[16];

		snprintf(path, sizeof(path), "/etc/f%zu", i);
		assert_non_null(hp_fake_file(fk, path));
	}
	assert_null(hp_fake_file(fk, "/etc/f7"));
	assert_null(hp_fake_file(fk, "/etc/f8"));
	assert_null(hp_fake_file(fk, "/etc/f9"));
	assert_int_equal(fk->nr_calls, 9);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 6);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_FAILED), 1);
	hp_facts_release(&facts);
	fx_free(x);
}

/* ---- the packages pass's facts serve the host pass ----------------------- */

static int one_file(struct hp_hostrun *h, const char *phase,
		    struct hp_want_file **out, size_t *nr, struct hp_err *err)
{
	struct hp_want_file *wf = xcalloc(1, sizeof(*wf));

	(void)h;
	(void)phase;
	(void)err;
	wf[0].path = xstrdup("/etc/one");
	wf[0].content = xstrdup("x");
	wf[0].len = 1;
	wf[0].mode = 0644;
	wf[0].owner = xstrdup("root");
	wf[0].group = xstrdup("root");
	*out = wf;
	*nr = 1;
	return 0;
}

static const char *const one_pkgs[] = { "etcd-server" };
static const char *const one_svcs[] = { "etcd" };

/*
 * Phase alpha's packages pass on host a (package etcd-server, service
 * etcd, one_file's /etc/one), its facts read answered once: /etc/one
 * with the sha256 of content, the package's dpkg status (installed:
 * "ii"; missing: ""), etcd active. Sets p for the host pass that follows
 * (etcd, the packages skipped). Returns the packages pass's result.
 */
static int packages_pass(struct fx *x, const char *content, const char *status,
			 struct hp_host_plan *p)
{
	struct hp_fake *fk = &x->fake[0];
	struct hp_pkg_pass pass = { "alpha", { 0 } };
	char sha[65], *answer;

	x->run.phase_files_cb = one_file;
	hp_sha256_hex(content, strlen(content), sha);
	answer = xasprintf("F %s 644 root root\nP %s\nS enabled active 42\n",
			   sha, status);
	hp_fake_expect(fk, "for f in '/etc/one'", 0, answer, "")->times = 1;
	free(answer);
	pass.plan.pkgs = one_pkgs;
	pass.plan.nr_pkgs = 1;
	pass.plan.svcs = one_svcs;
	pass.plan.nr_svcs = 1;
	memset(p, 0, sizeof(*p));
	p->svcs = one_svcs;
	p->nr_svcs = 1;
	p->skip_packages = true;
	return hp_phase_packages_host(&x->run.hosts[0], &pass);
}

static void test_packages_pass_facts_reused(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_fake *fk = &x->fake[0];
	struct hp_host_plan p;
	struct hp_facts facts;
	char sha[65], *answer;

	(void)state;
	assert_int_equal(packages_pass(x, "x", "ii", &p), 0);
	assert_int_equal(fk->nr_calls, 1);
	/* the host pass asks nothing more */
	assert_int_equal(hp_phase_host_converge(&x->run.hosts[0], "alpha", &p,
						&facts, &x->err),
			 0);
	assert_int_equal(fk->nr_calls, 1);
	assert_true(facts.files[0].exists);
	assert_string_equal(facts.svcs[0].active, "active");
	hp_facts_release(&facts);
	/* another phase, or other services: asked again */
	hp_sha256_hex("x", 1, sha);
	answer = xasprintf("F %s 644 root root\nS enabled active 42\n", sha);
	hp_fake_expect(fk, "for f in '/etc/one'", 0, answer, "");
	assert_int_equal(hp_phase_host_converge(&x->run.hosts[0], "beta", &p,
						&facts, &x->err),
			 0);
	assert_int_equal(fk->nr_calls, 2);
	hp_facts_release(&facts);
	/* a change recorded since: asked again */
	hp_run_record(&x->run, "b", HP_STEP_CHANGED, "x", NULL, NULL, 0);
	assert_int_equal(hp_phase_host_converge(&x->run.hosts[0], "alpha", &p,
						&facts, &x->err),
			 0);
	assert_int_equal(fk->nr_calls, 3);
	hp_facts_release(&facts);
	free(answer);
	fx_free(x);
}

/* How many results of host a name step (a prefix). */
static size_t results_of(const struct hp_run *run, const char *step)
{
	size_t i, n = 0;

	for (i = 0; i < run->nr_results; i++)
		if (!strcmp(run->results[i].host, "a") &&
		    !strncmp(run->results[i].step, step, strlen(step)))
			n++;
	return n;
}

/* A plan's packages pass on a host that lacks a package says "packages"
 * and nothing of the files: its host pass reports them, once, from what
 * the pass read. */
static void test_plan_packages_pass_files_once(void **state)
{
	struct fx *x = fx_new(true);
	struct hp_fake *fk = &x->fake[0];
	struct hp_host_plan p;
	struct hp_facts facts;

	(void)state;
	assert_int_equal(packages_pass(x, "old", "", &p), 0);
	assert_int_equal(results_of(&x->run, "packages"), 1);
	assert_int_equal(results_of(&x->run, "file "), 0);
	assert_int_equal(hp_phase_host_converge(&x->run.hosts[0], "alpha", &p,
						&facts, &x->err),
			 0);
	assert_int_equal(results_of(&x->run, "file /etc/one"), 1);
	/* nothing installed: the facts were not asked for again (the
	 * plan's diff reads the file itself) */
	assert_int_equal(hp_fake_count_calls(fk, HP_FAKE_EXEC, "for f in"), 1);
	hp_facts_release(&facts);
	fx_free(x);
}

/* A packages pass that does not name the services asks only about the
 * packages. */
static void test_packages_pass_without_services(void **state)
{
	static const char *const pkgs[] = { "etcd-server" };
	struct fx *x = fx_new(false);
	struct hp_pkg_pass pass = { "alpha", { 0 } };

	(void)state;
	x->run.phase_files_cb = one_file;
	hp_fake_expect(&x->fake[0], "dpkg-query", 0, "P ii\n", "");
	pass.plan.pkgs = pkgs;
	pass.plan.nr_pkgs = 1;
	assert_int_equal(hp_phase_packages_host(&x->run.hosts[0], &pass), 0);
	assert_int_equal(x->fake[0].nr_calls, 1);
	assert_null(strstr(x->fake[0].calls[0].what, "for f in"));
	assert_null(x->run.hosts[0].facts_cache);
	fx_free(x);
}

static int fail_on_b(struct hp_hostrun *h, void *arg)
{
	int *count = arg;

	__atomic_add_fetch(count, 1, __ATOMIC_SEQ_CST);
	if (!strcmp(h->host->name, "b"))
		return hp_err_set(&h->err, HP_EREMOTE, "b broke");
	return 0;
}

/* a last: the hosts finish in reverse inventory order */
static int slow_first(struct hp_hostrun *h, void *arg)
{
	char c = h->host->name[0];

	(void)arg;
	hp_sleep_ms(c == 'a' ? 60 : c == 'b' ? 30 : 0);
	hp_run_record(h->run, h->host->name, HP_STEP_OK, "read", NULL, NULL,
		      hp_now_ms());
	return 0;
}

/* A plan's pass at once reads in inventory order whatever order the
 * hosts finished in, and leaves nothing held. */
static void test_plan_pass_in_inventory_order(void **state)
{
	struct fx *x = fx_new(true);

	(void)state;
	x->run.opts.parallel = 3;
	assert_int_equal(hp_run_each(&x->run, 0, slow_first, NULL), 0);
	assert_int_equal(x->run.nr_results, 3);
	assert_string_equal(x->run.results[0].host, "a");
	assert_string_equal(x->run.results[1].host, "b");
	assert_string_equal(x->run.results[2].host, "c");
	assert_false(x->run.holding);
	assert_int_equal(x->run.nr_held, 0);
	fx_free(x);
}

static void test_pool_marks_only_the_failing_host(void **state)
{
	struct fx *x = fx_new(false);
	int count = 0;

	(void)state;
	x->run.opts.parallel = 2;
	assert_int_equal(hp_run_each(&x->run, 0, fail_on_b, &count), 1);
	assert_int_equal(count, 3);
	assert_false(x->run.hosts[0].failed);
	assert_true(x->run.hosts[1].failed);
	assert_false(x->run.hosts[2].failed);
	/* a failed host is skipped by the next pass */
	count = 0;
	assert_int_equal(hp_run_each(&x->run, 0, fail_on_b, &count), 0);
	assert_int_equal(count, 2);
	fx_free(x);
}

static void test_host_filter(void **state)
{
	struct fx *x = fx_new(false);
	int count = 0;

	(void)state;
	x->run.hosts[0].selected = false;
	x->run.hosts[2].selected = false;
	assert_int_equal(hp_run_each(&x->run, 0, fail_on_b, &count), 1);
	assert_int_equal(count, 1);
	fx_free(x);
}

/* ---- hp_run_staged: a read-only try at once, then host by host --------- */

struct stg {
	const char *change_on; /* this host would change */
	const char *change_too; /* and this one */
	const char *idle_on;    /* this host serves nothing yet */
	const char *fail_on;   /* this host fails its read-only try */
	int plan_calls, real_calls;
	char order[8]; /* hosts of the real pass, in order */
};

static int stg_fn(struct hp_hostrun *h, void *arg)
{
	struct stg *s = arg;
	const char *name = h->host->name;
	bool change = (s->change_on && !strcmp(name, s->change_on)) ||
		      (s->change_too && !strcmp(name, s->change_too));

	if (h->run->opts.plan) {
		__atomic_fetch_add(&s->plan_calls, 1, __ATOMIC_SEQ_CST);
		if (s->idle_on && !strcmp(name, s->idle_on))
			h->serves_nothing = true;
		if (s->fail_on && !strcmp(name, s->fail_on))
			return hp_err_set(&h->err, HP_EREMOTE, "read failed");
	} else {
		/* the real pass is one host at a time */
		s->order[s->real_calls++] = name[0];
	}
	if (change)
		h->nr_changed++;
	hp_run_record(h->run, name, change ? HP_STEP_CHANGED : HP_STEP_OK,
		      "thing", NULL, NULL, hp_now_ms());
	return 0;
}

/* Nothing to change anywhere: the read-only try is the pass. */
static void test_staged_noop_is_one_parallel_pass(void **state)
{
	struct fx *x = fx_new(false);
	struct stg s = { 0 };

	(void)state;
	assert_int_equal(hp_run_staged(&x->run, 0, "a", stg_fn, &s, &x->err),
			 0);
	assert_int_equal(s.plan_calls, 3);
	assert_int_equal(s.real_calls, 0);
	assert_int_equal(x->run.nr_results, 3);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_OK), 3);
	/* the run is not left in plan mode, nor holding its output */
	assert_false(x->run.opts.plan);
	assert_false(x->run.holding);
	fx_free(x);
}

/* One host would change: only that host runs again, host by host; the
 * others keep the try's results. `last` keeps its place when it is one
 * of those to run. */
static void test_staged_change_goes_serial(void **state)
{
	struct fx *x = fx_new(false);
	struct stg s = { .change_on = "b" };

	(void)state;
	assert_int_equal(hp_run_staged(&x->run, 0, "a", stg_fn, &s, &x->err),
			 0);
	assert_int_equal(s.plan_calls, 3);
	assert_int_equal(s.real_calls, 1);
	assert_memory_equal(s.order, "b", 1);
	/* a and c from the try, b from its real pass */
	assert_int_equal(x->run.nr_results, 3);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 1);
	assert_string_equal(x->run.results[0].host, "a");
	assert_string_equal(x->run.results[1].host, "c");
	assert_string_equal(x->run.results[2].host, "b");
	/* what b's try counted is forgotten: the real pass counted once */
	assert_int_equal(x->run.hosts[1].nr_changed, 1);
	assert_true(x->run.hosts[0].selected && x->run.hosts[2].selected);
	assert_false(x->run.opts.plan);
	fx_free(x);
}

/* Two hosts to change, one of them `last`: the serial order holds. */
static void test_staged_serial_keeps_last_last(void **state)
{
	struct fx *x = fx_new(false);
	struct stg s = { .change_on = "a", .change_too = "c" };

	(void)state;
	assert_int_equal(hp_run_staged(&x->run, 0, "a", stg_fn, &s, &x->err),
			 0);
	assert_int_equal(s.real_calls, 2);
	assert_memory_equal(s.order, "ca", 2);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 2);
	assert_int_equal(x->run.nr_results, 3);
	fx_free(x);
}

/* A host that serves nothing yet needs no turn: it goes first, with the
 * others like it, before the hosts that serve take theirs. */
static void test_staged_idle_host_first(void **state)
{
	struct fx *x = fx_new(false);
	struct stg s = { .change_on = "a", .change_too = "c",
			 .idle_on = "c" };

	(void)state;
	assert_int_equal(hp_run_staged(&x->run, 0, NULL, stg_fn, &s, &x->err),
			 0);
	assert_int_equal(s.real_calls, 2);
	assert_memory_equal(s.order, "ca", 2);
	assert_true(x->run.hosts[0].selected && x->run.hosts[1].selected &&
		    x->run.hosts[2].selected);
	fx_free(x);

	/* without it: the serial order */
	x = fx_new(false);
	memset(&s, 0, sizeof(s));
	s.change_on = "a";
	s.change_too = "c";
	assert_int_equal(hp_run_staged(&x->run, 0, NULL, stg_fn, &s, &x->err),
			 0);
	assert_memory_equal(s.order, "ac", 2);
	fx_free(x);
}

/* A host whose try failed is not left failed: the real pass reads it
 * again (and says what is wrong, if anything); the others keep the
 * try's results. */
static void test_staged_try_failure_goes_serial(void **state)
{
	struct fx *x = fx_new(false);
	struct stg s = { .fail_on = "c" };

	(void)state;
	assert_int_equal(hp_run_staged(&x->run, 0, NULL, stg_fn, &s, &x->err),
			 0);
	assert_int_equal(s.real_calls, 1);
	assert_memory_equal(s.order, "c", 1);
	assert_false(x->run.hosts[2].failed);
	assert_int_equal(x->run.nr_results, 3);
	fx_free(x);
}

/* plan itself: every host at once, each once, results in inventory
 * order whatever order the hosts finished in; a failure is the first
 * failed host's, and the other hosts still report. */
static void test_staged_in_plan(void **state)
{
	struct fx *x = fx_new(true);
	struct stg s = { .change_on = "b" };

	(void)state;
	assert_int_equal(hp_run_staged(&x->run, 0, NULL, stg_fn, &s, &x->err),
			 0);
	assert_int_equal(s.plan_calls, 3);
	assert_int_equal(s.real_calls, 0);
	assert_int_equal(x->run.nr_results, 3);
	assert_string_equal(x->run.results[0].host, "a");
	assert_string_equal(x->run.results[1].host, "b");
	assert_string_equal(x->run.results[2].host, "c");
	assert_true(x->run.opts.plan);
	assert_false(x->run.holding);
	fx_free(x);

	x = fx_new(true);
	memset(&s, 0, sizeof(s));
	s.fail_on = "b";
	assert_int_equal(hp_run_staged(&x->run, 0, NULL, stg_fn, &s, &x->err),
			 HP_EREMOTE);
	assert_non_null(strstr(x->err.msg, "b: read failed"));
	assert_int_equal(s.plan_calls, 3);
	assert_int_equal(x->run.nr_results, 2);
	fx_free(x);
}

/* Held results are dropped from the mark on, or kept, host by host;
 * what is kept comes out in inventory order, hostless lines last. */
static void test_hold_unhold(void **state)
{
	struct fx *x = fx_new(false);
	bool all[4] = { true, true, true, true };
	bool some[4] = { true, false, true, true };
	size_t mark;

	(void)state;
	hp_run_record(&x->run, "a", HP_STEP_OK, "before", NULL, NULL, 0);
	mark = hp_run_hold(&x->run);
	assert_int_equal(mark, 1);
	hp_run_record(&x->run, "a", HP_STEP_CHANGED, "tentative", "d", "x",
		      0);
	assert_int_equal(
		hp_run_count_since(&x->run, mark, NULL, HP_STEP_CHANGED), 1);
	assert_int_equal(
		hp_run_count_since(&x->run, mark, "a", HP_STEP_CHANGED),
		1);
	assert_int_equal(
		hp_run_count_since(&x->run, mark, "b", HP_STEP_CHANGED),
		0);
	assert_true(x->run.nr_held > 0);
	hp_run_unhold(&x->run, mark, NULL);
	assert_int_equal(x->run.nr_results, 1);
	assert_string_equal(x->run.results[0].step, "before");
	assert_int_equal(x->run.nr_held, 0);

	mark = hp_run_hold(&x->run);
	hp_run_record(&x->run, "c", HP_STEP_OK, "c1", NULL, NULL, 0);
	hp_run_record(&x->run, NULL, HP_STEP_OK, "none", NULL, NULL, 0);
	hp_run_record(&x->run, "b", HP_STEP_OK, "b1", NULL, NULL, 0);
	hp_run_record(&x->run, "a", HP_STEP_OK, "a1", NULL, NULL, 0);
	hp_run_record(&x->run, "c", HP_STEP_OK, "c2", NULL, NULL, 0);
	hp_run_unhold(&x->run, mark, all);
	assert_int_equal(x->run.nr_results, 6);
	assert_string_equal(x->run.results[1].step, "a1");
	assert_string_equal(x->run.results[2].step, "b1");
	assert_string_equal(x->run.results[3].step, "c1");
	assert_string_equal(x->run.results[4].step, "c2");
	assert_string_equal(x->run.results[5].step, "none");

	mark = hp_run_hold(&x->run);
	hp_run_record(&x->run, "b", HP_STEP_OK, "b2", NULL, NULL, 0);
	hp_run_record(&x->run, "a", HP_STEP_OK, "a2", NULL, NULL, 0);
	hp_run_unhold(&x->run, mark, some);
	assert_int_equal(x->run.nr_results, 7);
	assert_string_equal(x->run.results[6].step, "a2");
	assert_false(x->run.holding);
	fx_free(x);
}

/* ---- hp_checks_run, hp_fanout ----------------------------------------- */

struct chk {
	pthread_t caller, a_thread;
	int b_here, c_here;
	int calls;
};

static bool wait_flag(int *flag)
{
	int64_t end = hp_now_ms() + 5000;

	while (!__atomic_load_n(flag, __ATOMIC_SEQ_CST))
		if (hp_now_ms() > end)
			return false;
		else
			hp_sleep_ms(1);
	return true;
}

static int chk_a(struct hp_run *run, void *arg, struct hp_err *err)
{
	struct chk *k = arg;

	(void)run;
	(void)err;
	k->a_thread = pthread_self();
	__atomic_fetch_add(&k->calls, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* b and c each wait for the other: they pass only when run at once */
static int chk_b(struct hp_run *run, void *arg, struct hp_err *err)
{
	struct chk *k = arg;

	(void)run;
	__atomic_fetch_add(&k->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&k->b_here, 1, __ATOMIC_SEQ_CST);
	if (!wait_flag(&k->c_here))
		return hp_err_set(err, HP_ETIMEOUT, "c never ran");
	return hp_err_set(err, HP_EVERIFY, "b broke");
}

static int chk_c(struct hp_run *run, void *arg, struct hp_err *err)
{
	struct chk *k = arg;

	(void)run;
	__atomic_fetch_add(&k->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&k->c_here, 1, __ATOMIC_SEQ_CST);
	if (!wait_flag(&k->b_here))
		return hp_err_set(err, HP_ETIMEOUT, "b never ran");
	return 0;
}

static void test_checks_at_once(void **state)
{
	struct fx *x = fx_new(false);
	struct chk k = { 0 };
	struct hp_check c[3] = {
		{ "verify a", chk_a, &k, true },
		{ "verify b", chk_b, &k, false },
		{ "verify c", chk_c, &k, false },
	};

	(void)state;
	k.caller = pthread_self();
	assert_int_equal(hp_checks_run(&x->run, c, 3, &x->err), HP_EVERIFY);
	assert_int_equal(k.calls, 3);
	assert_string_equal(x->err.msg, "b broke");
	/* a check on the hosts runs on the calling thread */
	assert_true(pthread_equal(k.a_thread, k.caller));
	/* recorded in list order, whatever finished first */
	assert_int_equal(x->run.nr_results, 3);
	assert_string_equal(x->run.results[0].step, "verify a");
	assert_int_equal(x->run.results[0].status, HP_STEP_OK);
	assert_string_equal(x->run.results[1].step, "verify b");
	assert_int_equal(x->run.results[1].status, HP_STEP_FAILED);
	assert_string_equal(x->run.results[1].detail, "b broke");
	assert_string_equal(x->run.results[2].step, "verify c");
	assert_int_equal(x->run.results[2].status, HP_STEP_OK);
	fx_free(x);
}

static int chk_fail(struct hp_run *run, void *arg, struct hp_err *err)
{
	(void)run;
	return hp_err_set(err, HP_EREMOTE, "%s", (const char *)arg);
}

/* The first failure in list order is the answer; none: 0. */
static void test_checks_first_failure(void **state)
{
	static char one[] = "one", two[] = "two";
	struct fx *x = fx_new(false);
	struct chk k = { 0 };
	struct hp_check c[3] = {
		{ "verify a", chk_a, &k, true },
		{ "verify one", chk_fail, one, false },
		{ "verify two", chk_fail, two, true },
	};

	(void)state;
	assert_int_equal(hp_checks_run(&x->run, c, 3, &x->err), HP_EREMOTE);
	assert_string_equal(x->err.msg, "one");
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_FAILED), 2);
	assert_int_equal(hp_checks_run(&x->run, c, 1, &x->err), 0);
	fx_free(x);
}

/* hp_checks_then: the rest only once the first ones passed. */
static void test_checks_then(void **state)
{
	static char one[] = "one";
	struct fx *x = fx_new(false);
	struct chk k = { 0 };
	struct hp_check pass_then[2] = {
		{ "verify a", chk_a, &k, false },
		{ "verify one", chk_fail, one, false },
	};
	struct hp_check fail_then[2] = {
		{ "verify one", chk_fail, one, false },
		{ "verify a", chk_a, &k, false },
	};

	(void)state;
	assert_int_equal(hp_checks_then(&x->run, pass_then, 1, 2, &x->err),
			 HP_EREMOTE);
	assert_int_equal(k.calls, 1);
	assert_int_equal(x->run.nr_results, 2);
	k.calls = 0;
	assert_int_equal(hp_checks_then(&x->run, fail_then, 1, 2, &x->err),
			 HP_EREMOTE);
	/* a never ran, and is not recorded */
	assert_int_equal(k.calls, 0);
	assert_int_equal(x->run.nr_results, 3);
	fx_free(x);
}

static void fan_one(size_t i, void *arg)
{
	int *seen = arg;

	__atomic_fetch_add(&seen[i], 1, __ATOMIC_SEQ_CST);
}

static void test_fanout(void **state)
{
	int seen[5] = { 0 };
	size_t i;

	(void)state;
	hp_fanout(5, fan_one, seen);
	for (i = 0; i < 5; i++)
		assert_int_equal(seen[i], 1);
	hp_fanout(0, fan_one, seen);
	assert_int_equal(seen[0], 1);
}

/* hp_hosts_at_once: every host at once; the first non-zero in inventory
 * order is the answer, whatever finished first. */
struct hao {
	int here[3];
	int answer[3]; /* what each host's fn returns */
	int calls;
};

static int hao_fn(struct hp_run *run, const struct hp_host *h, void *arg,
		  struct hp_err *err)
{
	struct hao *a = arg;
	size_t i = (size_t)(h - run->inv->hosts);

	__atomic_fetch_add(&a->calls, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&a->here[i], 1, __ATOMIC_SEQ_CST);
	/* a waits for c: they pass only when run at once */
	if (i == 0 && !wait_flag(&a->here[2]))
		return hp_err_set(err, HP_ETIMEOUT, "c never ran");
	if (a->answer[i] < 0)
		return hp_err_set(err, a->answer[i], "%s broke", h->name);
	return a->answer[i];
}

static void test_hosts_at_once(void **state)
{
	struct fx *x = fx_new(false);
	struct hao a = { { 0 }, { 0, 0, 0 }, 0 };

	(void)state;
	assert_int_equal(hp_hosts_at_once(&x->run, 0, hao_fn, &a, &x->err), 0);
	assert_int_equal(a.calls, 3);
	/* c and b fail: b's failure is the answer (inventory order) */
	memset(&a, 0, sizeof(a));
	a.answer[1] = HP_EREMOTE;
	a.answer[2] = HP_EVERIFY;
	assert_int_equal(hp_hosts_at_once(&x->run, 0, hao_fn, &a, &x->err),
			 HP_EREMOTE);
	assert_string_equal(x->err.msg, "b broke");
	/* a positive answer before a failure in inventory order wins */
	memset(&a, 0, sizeof(a));
	a.answer[1] = 1;
	a.answer[2] = HP_EVERIFY;
	assert_int_equal(hp_hosts_at_once(&x->run, 0, hao_fn, &a, &x->err), 1);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facts_one_command),
		cmocka_unit_test(test_facts_short_answer_is_an_error),
		cmocka_unit_test(test_file_unchanged_writes_nothing),
		cmocka_unit_test(test_file_changed_backs_up_then_replaces),
		cmocka_unit_test(test_file_mode_only),
		cmocka_unit_test(test_file_check_refuses),
		cmocka_unit_test(test_plan_mode_changes_nothing),
		cmocka_unit_test(test_plan_secret_file_not_shown),
		cmocka_unit_test(test_secret_file_apply_travels_on_put),
		cmocka_unit_test(test_packages_install_only_missing),
		cmocka_unit_test(test_packages_all_there_no_command),
		cmocka_unit_test(test_packages_failure_reported),
		cmocka_unit_test(test_service_needs),
		cmocka_unit_test(test_service_enable_and_start),
		cmocka_unit_test(test_step_7_of_9_fails),
		cmocka_unit_test(test_packages_pass_facts_reused),
		cmocka_unit_test(test_plan_packages_pass_files_once),
		cmocka_unit_test(test_packages_pass_without_services),
		cmocka_unit_test(test_plan_pass_in_inventory_order),
		cmocka_unit_test(test_pool_marks_only_the_failing_host),
		cmocka_unit_test(test_host_filter),
		cmocka_unit_test(test_staged_noop_is_one_parallel_pass),
		cmocka_unit_test(test_staged_change_goes_serial),
		cmocka_unit_test(test_staged_serial_keeps_last_last),
		cmocka_unit_test(test_staged_idle_host_first),
		cmocka_unit_test(test_staged_try_failure_goes_serial),
		cmocka_unit_test(test_staged_in_plan),
		cmocka_unit_test(test_hold_unhold),
		cmocka_unit_test(test_checks_at_once),
		cmocka_unit_test(test_checks_first_failure),
		cmocka_unit_test(test_checks_then),
		cmocka_unit_test(test_fanout),
		cmocka_unit_test(test_hosts_at_once),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
