/*
 * The steps against hostile hosts, through the fake transport: files
 * haprov takes over that hold passwords (plan and apply), a failed
 * command's stderr with escapes and passwords, the packages step on a
 * host where another package manager runs, and the host lock. Where a
 * remote command's behaviour matters more than its text (the lock
 * wrapper, the apt script), it is also run by a local /bin/sh.
 */
#include <sys/file.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "steps_fixture.h"
#include "redact.h"

static bool leaks(struct fx *x, const char *s)
{
	json_t *doc = hp_run_json(&x->run);
	char *dump = json_dumps(doc, 0);
	bool found = strstr(dump, s) != NULL || strstr(x->err.msg, s) != NULL;
	size_t i, j;

	free(dump);
	json_decref(doc);
	for (i = 0; i < x->run.nr_results; i++) {
		const struct hp_step_result *r = &x->run.results[i];

		found |= r->detail && strstr(r->detail, s);
		found |= r->diff && strstr(r->diff, s);
	}
	for (i = 0; i < x->run.nr_hosts; i++) {
		const struct hp_hostrun *h = &x->run.hosts[i];

		for (j = 0; j < h->nr_recs; j++) {
			const struct hp_file_rec *rec = &h->recs[j];

			found |= rec->old && memmem(rec->old, rec->old_len, s,
						    strlen(s));
			/* content the state repository keeps in clear */
			found |= !rec->secret &&
				 memmem(rec->now, rec->now_len, s, strlen(s));
		}
	}
	return found;
}

/* ---- hostile old files (#5) ------------------------------------------------ */

static const char old_patroni[] =
	"scope: legacy\n"
	"postgresql:\n"
	"  authentication:\n"
	"    superuser:\n"
	"      username: postgres\n"
	"      password: hunter2\n"
	"    replication: {username: rep, password: \"hunter2\"}\n"
	"  parameters:\n"
	"    password_encryption: scram-sha-256\n"
	"restapi:\n"
	"  authentication: {username: admin, password: 'hunter2'}\n"
	"etcd3:\n"
	"  url: http://root:hunter2@10.0.0.9:2379\n";

static const char old_haproxy[] =
	"listen stats\n"
	"    bind *:8404\n"
	"    stats enable\n"
	"    stats auth admin:hunter2\n"
	"userlist ops\n"
	"    user admin insecure-password hunter2\n"
	"    user bob password $6$x$hunter2\n";

static const char new_patroni[] = "scope: t\npostgresql:\n  parameters: {}\n";
static const char new_haproxy[] = "listen primary\n    bind *:5000\n";

/* What diff -u on the host answers: every old line removed. */
static char *diff_of(const char *path, const char *old, const char *new)
{
	struct hp_buf b = HP_BUF_INIT;
	const char *p;

	hp_buf_addf(&b, "--- %s\n+++ %s\n@@ -1 +1 @@\n", path, path);
	for (p = old; *p;) {
		size_t n = strcspn(p, "\n");

		hp_buf_addf(&b, "-%.*s\n", (int)n, p);
		p += n + (p[n] ? 1 : 0);
	}
	for (p = new; *p;) {
		size_t n = strcspn(p, "\n");

		hp_buf_addf(&b, "+%.*s\n", (int)n, p);
		p += n + (p[n] ? 1 : 0);
	}
	return hp_buf_detach(&b, NULL);
}

static void test_plan_hostile_old_files_redacted(void **state)
{
	struct fx *x = fx_new(true);
	struct hp_want_file f1 = want("/etc/patroni/config.yml", new_patroni);
	struct hp_want_file f2 = want("/etc/haproxy/haproxy.cfg", new_haproxy);
	struct hp_fact_file a1 = fact_for(old_patroni, 0644);
	struct hp_fact_file a2 = fact_for(old_haproxy, 0644);
	char *d1 = diff_of(f1.path, old_patroni, new_patroni);
	char *d2 = diff_of(f2.path, old_haproxy, new_haproxy);
	bool changed;

	(void)state;
	hp_fake_expect(&x->fake, "diff -u --label '/etc/patroni/", 1, d1, "");
	hp_fake_expect(&x->fake, "diff -u --label '/etc/haproxy/", 1, d2, "");
	assert_int_equal(hp_step_file(x->h, &f1, &a1, &changed, &x->err), 0);
	assert_int_equal(hp_step_file(x->h, &f2, &a2, &changed, &x->err), 0);
	assert_int_equal(x->run.nr_results, 2);
	assert_false(leaks(x, "hunter2"));
	/* the diffs still say which lines changed */
	assert_non_null(strstr(x->run.results[0].diff,
			       "-      password: <redacted>\n"));
	assert_non_null(strstr(x->run.results[0].diff,
			       "-  url: http://root:<redacted>@10.0.0.9"));
	assert_non_null(strstr(x->run.results[0].diff,
			       "-    password_encryption: scram-sha-256\n"));
	assert_non_null(strstr(x->run.results[1].diff,
			       "-    stats auth admin:<redacted>\n"));
	assert_non_null(strstr(x->run.results[1].diff,
			       "-    user admin insecure-password <redacted>\n"));
	free(d1);
	free(d2);
	fx_free(x);
}

static void test_apply_hostile_old_files_kept_by_hash(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file f1 = want("/etc/patroni/config.yml", new_patroni);
	struct hp_want_file f2 = want("/etc/haproxy/haproxy.cfg", new_haproxy);
	struct hp_fact_file a1 = fact_for(old_patroni, 0644);
	struct hp_fact_file a2 = fact_for(old_haproxy, 0644);
	char sha[65], *want_line;
	bool changed;

	(void)state;
	hp_fake_set_file(&x->fake, f1.path, old_patroni, strlen(old_patroni),
			 0644, "root", "root");
	hp_fake_set_file(&x->fake, f2.path, old_haproxy, strlen(old_haproxy),
			 0644, "root", "root");
	hp_fake_expect(&x->fake, "cp -p", 0, "", "");
	assert_int_equal(hp_step_file(x->h, &f1, &a1, &changed, &x->err), 0);
	assert_int_equal(hp_step_file(x->h, &f2, &a2, &changed, &x->err), 0);
	assert_true(x->h->made_backups);
	assert_int_equal(x->h->nr_recs, 2);
	assert_false(leaks(x, "hunter2"));
	/* the state repository gets the old file's hash, and where it is */
	hp_sha256_hex(old_patroni, strlen(old_patroni), sha);
	want_line = xasprintf("sha256 %s\n", sha);
	assert_non_null(x->h->recs[0].old);
	assert_non_null(strstr(x->h->recs[0].old, want_line));
	assert_non_null(strstr(x->h->recs[0].old, "/var/lib/haprov/backups/"));
	assert_int_equal(x->h->recs[0].old_len, strlen(x->h->recs[0].old));
	/* the new content holds no credential: kept in clear, as before */
	assert_false(x->h->recs[0].secret);
	assert_string_equal(x->h->recs[0].now, new_patroni);
	free(want_line);
	fx_free(x);
}

/* A file not marked secret whose new content has a password anyway (the
 * HAProxy stats page's) is committed by hash only. */
static void test_new_content_with_password_committed_by_hash(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file f = want("/etc/haproxy/haproxy.cfg",
				     "listen stats\n    stats auth haprov:s3cr3t\n");
	struct hp_fact_file a = fact_for("old\n", 0644);
	bool changed;

	(void)state;
	hp_fake_set_file(&x->fake, f.path, "old\n", 4, 0644, "root", "root");
	hp_fake_expect(&x->fake, "cp -p", 0, "", "");
	assert_int_equal(hp_step_file(x->h, &f, &a, &changed, &x->err), 0);
	assert_true(x->h->recs[0].secret);
	assert_string_equal(x->h->recs[0].old, "old\n");
	assert_false(leaks(x, "s3cr3t"));
	fx_free(x);
}

/* ---- remote stderr in errors (#13) ------------------------------------------ */

static void test_failed_command_stderr_sanitized(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_buf big = HP_BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < 2000; i++)
		hp_buf_addch(&big, 'x');
	hp_buf_adds(&big, "\n\x1b[2J\x1b]0;owned\x07 config: password: "
			  "hunter2\r\nfailed\n");
	hp_fake_expect(&x->fake, "do-it", 3, "", big.buf);
	assert_int_equal(hp_host_sh(x->h, "do-it", NULL, 0, 0, NULL, &x->err),
			 HP_EREMOTE);
	assert_null(strchr(x->err.msg, '\x1b'));
	assert_null(strchr(x->err.msg, '\x07'));
	assert_null(strchr(x->err.msg, '\n'));
	assert_null(strstr(x->err.msg, "hunter2"));
	assert_non_null(strstr(x->err.msg, "exit 3: "));
	assert_non_null(strstr(x->err.msg, "password: <redacted>"));
	assert_non_null(strstr(x->err.msg, "failed"));
	/* the tail only */
	assert_true(strlen(x->err.msg) < 700);
	assert_string_equal(x->err.host, "pg2");
	hp_buf_release(&big);
	fx_free(x);
}


/* ---- packages (#6, #15a, #15b) ------------------------------------------------ */

static void test_packages_no_fixed_temp_file(void **state)
{
	struct fx *x = fx_new(false);
	const char *pkgs[] = { "etcd-server" };
	bool installed[] = { false };
	bool changed;
	long c;

	(void)state;
	hp_fake_expect(&x->fake, "apt-get install", 0, "", "");
	assert_int_equal(hp_step_packages(x->h, pkgs, 1, installed, &changed,
					  &x->err),
			 0);
	c = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "apt-get install", 0);
	assert_true(c >= 0);
	/* no file in a directory other users can write to, no fixed name */
	assert_null(strstr(x->fake.calls[c].what, "/tmp"));
	assert_null(strstr(x->fake.calls[c].what, "haprov-apt.log"));
	assert_null(strstr(x->fake.calls[c].what, "/var/tmp"));
	fx_free(x);
}

static void test_packages_wait_for_dpkg_lock(void **state)
{
	struct fx *x = fx_new(false);
	const char *pkgs[] = { "postgresql-15", "patroni" };
	bool installed[] = { false, true };
	struct capture cap;
	bool changed;
	char *err;
	long c, probe;

	(void)state;
	hp_fake_expect(&x->fake, "lslocks", 0, "dpkg-lock 4242\n", "");
	hp_fake_expect(&x->fake, "apt-get install", 0, "", "");
	capture_begin(&cap);
	assert_int_equal(hp_step_packages(x->h, pkgs, 2, installed, &changed,
					  &x->err),
			 0);
	err = capture_end(&cap);
	/* a visible line says what it waits for */
	assert_non_null(strstr(err, "pg2: waiting for another package manager "
				    "run (pid 4242)"));
	probe = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "lslocks", 0);
	c = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "apt-get install", 0);
	assert_true(probe >= 0 && c > probe);
	/* the probe is a read: no host lock */
	assert_null(strstr(x->fake.calls[probe].what, "flock"));
	assert_non_null(strstr(x->fake.calls[probe].what,
			       "/var/lib/dpkg/lock-frontend"));
	/* apt-get waits for the lock itself, up to the deadline, and the
	 * command's own timeout leaves room for that */
	assert_non_null(strstr(x->fake.calls[c].what,
			       "install -o DPkg::Lock::Timeout=120 "));
	assert_true(x->fake.calls[c].timeout_s >=
		    x->inv->ssh.command_timeout_s + 120);
	assert_non_null(strstr(x->fake.calls[c].what, "'postgresql-15'"));
	assert_null(strstr(x->fake.calls[c].what, "'patroni'"));
	free(err);
	fx_free(x);
}

static void test_packages_lock_free_says_nothing(void **state)
{
	struct fx *x = fx_new(false);
	const char *pkgs[] = { "haproxy" };
	bool installed[] = { false };
	struct capture cap;
	bool changed;
	char *err;

	(void)state;
	hp_fake_expect(&x->fake, "lslocks", 0, "dpkg-lock none\n", "");
	hp_fake_expect(&x->fake, "apt-get install", 0, "", "");
	capture_begin(&cap);
	assert_int_equal(hp_step_packages(x->h, pkgs, 1, installed, &changed,
					  &x->err),
			 0);
	err = capture_end(&cap);
	assert_null(strstr(err, "waiting"));
	free(err);
	fx_free(x);
}

static void test_pkg_lock_probe_parse(void **state)
{
	(void)state;
	assert_int_equal(hp_pkg_lock_probe_parse("dpkg-lock 4242\n", 15), 4242);
	assert_int_equal(hp_pkg_lock_probe_parse("dpkg-lock 1", 11), 1);
	assert_int_equal(hp_pkg_lock_probe_parse("dpkg-lock none\n", 15), -1);
	assert_int_equal(hp_pkg_lock_probe_parse("dpkg-lock \n", 11), -1);
	assert_int_equal(hp_pkg_lock_probe_parse("dpkg-lock -5\n", 13), -1);
	assert_int_equal(hp_pkg_lock_probe_parse("dpkg-lock 0\n", 12), -1);
	assert_int_equal(hp_pkg_lock_probe_parse("dpkg-lock 99999999999\n", 22),
			 -1);
	assert_int_equal(hp_pkg_lock_probe_parse("dpkg-lock 12\x1b[2J", 16),
			 -1);
	assert_int_equal(hp_pkg_lock_probe_parse("<html>", 6), -1);
	assert_int_equal(hp_pkg_lock_probe_parse("", 0), -1);
}

/*
 * The install script, run by a local sh with apt-get and apt-cache
 * stubbed: each call is logged; APT_CANDIDATE says whether the lists
 * have the package, APT_FAIL what the install answers.
 */
static const char stub_apt_get[] =
	"#!/bin/sh\n"
	"echo \"apt-get $*\" >> \"$STUB_LOG\"\n"
	"case \"$1\" in\n"
	"update) echo 'Hit:1 mirror'; [ -z \"$APT_UPDATE_FAIL\" ] ;;\n"
	"install)\n"
	"  if [ -n \"$APT_FAIL\" ] && [ ! -e \"$STUB_LOG.retried\" ]; then\n"
	"    [ -n \"$APT_FAIL_ONCE\" ] && : > \"$STUB_LOG.retried\"\n"
	"    echo \"$APT_FAIL\"; exit 100\n"
	"  fi\n"
	"  echo 'Setting up pkg'; exit 0 ;;\n"
	"esac\n";
static const char stub_apt_cache[] =
	"#!/bin/sh\n"
	"echo \"apt-cache $*\" >> \"$STUB_LOG\"\n"
	"shift; i=0\n"
	"for p; do\n"
	"i=$((i + 1)); c=$APT_CANDIDATE\n"
	/* "last-unknown": only the last package asked is not known */
	"[ \"$c\" = last-unknown ] && { [ \"$i\" = \"$#\" ] && c=unknown || c=yes; }\n"
	"case \"$c\" in\n"
	"none) printf '%s:\\n  Installed: (none)\\n  Candidate: (none)\\n' "
	"\"$p\" ;;\n"
	"unknown) echo \"N: Unable to locate package $p\" >&2 ;;\n"
	"*) printf '%s:\\n  Installed: (none)\\n  Candidate: 1.0-1\\n"
	"  Version table:\\n     1.0-1 500\\n' \"$p\" ;;\n"
	"esac\n"
	"done\n";

struct apt_case {
	const char *candidate; /* APT_CANDIDATE */
	const char *fail;      /* APT_FAIL (NULL: the install works) */
	bool fail_once;
	int want_exit;
	int want_updates; /* how many apt-get update calls */
	int want_installs;
};

static void run_apt_case(const struct apt_case *c)
{
	char *dir = make_tmpdir();
	char *log = xasprintf("%s/log", dir);
	char *path = xasprintf("PATH=%s:/usr/bin:/bin", dir);
	char *logenv = xasprintf("STUB_LOG=%s", log);
	char *cand = xasprintf("APT_CANDIDATE=%s", c->candidate);
	char *fail = xasprintf("APT_FAIL=%s", c->fail ? c->fail : "");
	const char *env[] = { path, logenv, cand, fail,
			      c->fail_once ? "APT_FAIL_ONCE=1" : "APT_X=",
			      NULL };
	const char *pkgs[] = { "etcd-server", "etcd-client" };
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	char *calls;
	int rc;

	write_file(dir, "apt-get", stub_apt_get, 0755);
	write_file(dir, "apt-cache", stub_apt_cache, 0755);
	hp_pkg_install_cmd(&cmd, pkgs, 2, NULL, 7);
	rc = run_sh(cmd.buf, env, &out);
	calls = read_text(dir, "log");
	if (rc != c->want_exit)
		fail_msg("candidate %s, fail '%s': exit %d, want %d; output "
			 "'%s'; calls:\n%s",
			 c->candidate, c->fail ? c->fail : "", rc, c->want_exit,
			 out.buf, calls);
	{
		int updates = 0, installs = 0;
		const char *p;

		for (p = calls; (p = strstr(p, "apt-get update")); p++)
			updates++;
		for (p = calls; (p = strstr(p, "apt-get install")); p++)
			installs++;
		if (updates != c->want_updates || installs != c->want_installs)
			fail_msg("candidate %s, fail '%s': %d updates, %d "
				 "installs; want %d, %d; calls:\n%s",
				 c->candidate, c->fail ? c->fail : "", updates,
				 installs, c->want_updates, c->want_installs,
				 calls);
	}
	/* both packages, asked about in one apt-cache, and apt waits for
	 * the dpkg lock */
	assert_non_null(strstr(calls, "etcd-server"));
	assert_non_null(strstr(calls, "etcd-client"));
	assert_non_null(
		strstr(calls, "apt-cache policy etcd-server etcd-client\n"));
	assert_non_null(strstr(calls, "DPkg::Lock::Timeout=7"));
	if (c->want_exit)
		/* apt's own words reach the error message */
		assert_non_null(strstr(out.buf, c->fail));
	else
		assert_int_equal(out.len, 0); /* quiet when it works */
	free(calls);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	rm_tree(dir);
	free(dir);
	free(log);
	free(path);
	free(logenv);
	free(cand);
	free(fail);
}

static void test_packages_update_only_when_missing(void **state)
{
	static const struct apt_case cases[] = {
		/* the lists have it: no update */
		{ "yes", NULL, false, 0, 0, 1 },
		/* not in the lists: update, then install */
		{ "none", NULL, false, 0, 1, 1 },
		{ "unknown", NULL, false, 0, 1, 1 },
		{ "last-unknown", NULL, false, 0, 1, 1 },
		/* a lock or any other error: no update, the error shown */
		{ "yes",
		  "E: Could not get lock /var/lib/dpkg/lock-frontend. It is "
		  "held by process 4242 (apt-get)",
		  false, 1, 0, 1 },
		{ "yes", "E: Sub-process /usr/bin/dpkg returned an error code",
		  false, 1, 0, 1 },
		/* lists older than the mirror: update once and retry */
		{ "yes",
		  "E: Failed to fetch http://m/p.deb  404  Not Found [IP: x]",
		  true, 0, 1, 2 },
	};
	size_t i;

	(void)state;
	if (access("/bin/sh", X_OK) != 0)
		skip();
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++)
		run_apt_case(&cases[i]);
}

/* ---- the host lock (#15c) --------------------------------------------------- */

static void test_hostlock_wraps_mutations_only(void **state)
{
	struct fx *x = fx_new(false);
	const char *cmd = "systemctl restart 'patroni'";
	struct hp_want_file wf = want("/etc/a", "x");
	struct hp_facts facts;
	long c;

	(void)state;
	hp_fake_expect(&x->fake, "systemctl restart", 0, "", "");
	hp_fake_expect(&x->fake, "export LC_ALL=C", 0, "F -\n", "");
	assert_int_equal(hp_host_sh(x->h, cmd, NULL, 0, 30, NULL, &x->err), 0);
	c = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "systemctl restart", 0);
	assert_true(c >= 0);
	/* taken without waiting first, on the host, by this run */
	assert_non_null(strstr(x->fake.calls[c].what, "flock -n 9"));
	assert_non_null(strstr(x->fake.calls[c].what,
			       "hp_lk='/var/lib/haprov'"));
	assert_non_null(strstr(x->fake.calls[c].what, x->run.run_id));
	assert_non_null(strstr(x->fake.calls[c].what, x->run.holder));
	/* the command itself, verbatim, in a subshell without the lock fd */
	assert_non_null(strstr(x->fake.calls[c].what,
			       "(\nsystemctl restart 'patroni'\n) 9>&-"));
	assert_int_equal(x->fake.calls[c].timeout_s, 30);
	/* reads take no lock */
	assert_int_equal(hp_facts_gather(x->h, &wf, 1, NULL, 0, NULL, 0,
					 &facts, &x->err),
			 0);
	c = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "export LC_ALL=C", 0);
	assert_null(strstr(x->fake.calls[c].what, "flock"));
	hp_facts_release(&facts);
	fx_free(x);
}

/* A new file's directory is made once a run on a host: a second new file
 * in it writes at once, a file in another directory gets its own mkdir,
 * and a file that exists needs none. */
static void test_new_file_dir_made_once(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_want_file a = want("/etc/x/tls/a.crt", "a");
	struct hp_want_file b = want("/etc/x/tls/b.crt", "b");
	struct hp_want_file c = want("/etc/y/c.conf", "c");
	struct hp_want_file d = want("/etc/x/tls/d.crt", "d");
	struct hp_fact_file none, old = fact_for("old", 0644);
	bool changed;
	long k;

	(void)state;
	memset(&none, 0, sizeof(none));
	hp_fake_set_file(&x->fake, "/etc/x/tls/d.crt", "old", 3, 0644, "root",
			 "root");
	hp_fake_expect(&x->fake, "mkdir -p", 0, "", "");
	hp_fake_expect(&x->fake, "cp -p", 0, "", "");
	assert_int_equal(hp_step_file(x->h, &a, &none, &changed, &x->err), 0);
	assert_int_equal(hp_step_file(x->h, &b, &none, &changed, &x->err), 0);
	assert_int_equal(hp_step_file(x->h, &c, &none, &changed, &x->err), 0);
	assert_int_equal(hp_step_file(x->h, &d, &old, &changed, &x->err), 0);
	assert_true(changed);
	/* (the backup of d makes its own directory under the run's) */
	assert_int_equal(hp_fake_count_calls(&x->fake, HP_FAKE_EXEC,
					     "mkdir -p '/etc/"),
			 2);
	k = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "mkdir -p '/etc/", 0);
	assert_non_null(strstr(x->fake.calls[k].what, "mkdir -p '/etc/x/tls'"));
	k = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "mkdir -p '/etc/",
			      (size_t)k + 1);
	assert_non_null(strstr(x->fake.calls[k].what, "mkdir -p '/etc/y'"));
	/* every file written, the one in /etc/y after its mkdir */
	assert_non_null(hp_fake_file(&x->fake, "/etc/x/tls/a.crt"));
	assert_non_null(hp_fake_file(&x->fake, "/etc/x/tls/b.crt"));
	assert_non_null(hp_fake_file(&x->fake, "/etc/y/c.conf"));
	assert_non_null(hp_fake_file(&x->fake, "/etc/x/tls/d.crt"));
	fx_free(x);
}

static void test_hostlock_plan_takes_no_lock(void **state)
{
	struct fx *x = fx_new(true);

	(void)state;
	hp_fake_expect(&x->fake, "stat -c", 0, "ok\n", "");
	assert_int_equal(hp_step_dir(x->h, "/var/lib/x", 0700, "postgres",
				     "postgres", &x->err),
			 0);
	assert_int_equal(hp_fake_count_calls(&x->fake, HP_FAKE_EXEC, "flock"),
			 0);
	fx_free(x);
}

static const char busy_err[] =
	"haprov-lock-busy: haprov run 20261122T054500.123Z-0badcafe by "
	"alice@laptop pid 4711 since 2026-11-22T05:45:01Z\n";

static void test_hostlock_waits_then_runs(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_fake_expect *busy;
	struct capture cap;
	char *err;
	long c1, c2;

	(void)state;
	busy = hp_fake_expect(&x->fake, "flock -n 9", 75, "", busy_err);
	busy->times = 1;
	hp_fake_expect(&x->fake, "flock -w 120 9", 0, "done\n", "");
	capture_begin(&cap);
	assert_int_equal(hp_host_sh(x->h, "touch /etc/x", NULL, 0, 30, NULL,
				    &x->err),
			 0);
	err = capture_end(&cap);
	/* it says who holds the host, then waits for it */
	assert_non_null(strstr(err, "pg2: waiting for another haprov run on "
				    "the host (haprov run "
				    "20261122T054500.123Z-0badcafe by "
				    "alice@laptop pid 4711 since "
				    "2026-11-22T05:45:01Z), up to 120 s"));
	c1 = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "flock -n 9", 0);
	c2 = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "flock -w 120 9", 0);
	assert_true(c1 >= 0 && c2 > c1);
	assert_non_null(strstr(x->fake.calls[c2].what, "touch /etc/x"));
	assert_int_equal(x->fake.calls[c2].timeout_s, 30 + 120);
	free(err);
	fx_free(x);
}

static void test_hostlock_held_is_an_error_naming_the_holder(void **state)
{
	struct fx *x = fx_new(false);

	(void)state;
	/* a holder line with escapes: shown, but printable */
	hp_fake_expect(&x->fake, "flock", 75, "",
		       "haprov-lock-busy: haprov run R by bob@ci\x1b[2J pid 9 "
		       "since T\n");
	assert_int_equal(hp_host_sh(x->h, "touch /etc/x", NULL, 0, 30, NULL,
				    &x->err),
			 HP_ELOCKED);
	assert_non_null(strstr(x->err.msg, "pg2 is busy"));
	assert_non_null(strstr(x->err.msg, "haprov run R by bob@ci"));
	assert_non_null(strstr(x->err.msg, "/var/lib/haprov/lock"));
	assert_null(strchr(x->err.msg, '\x1b'));
	assert_string_equal(x->err.host, "pg2");
	assert_int_equal(hp_fake_count_calls(&x->fake, HP_FAKE_EXEC, "flock"),
			 2);
	fx_free(x);
}

/* A command's own exit 75 without the wrapper's mark is its failure. */
static void test_hostlock_exit_75_alone_is_not_busy(void **state)
{
	struct fx *x = fx_new(false);

	(void)state;
	hp_fake_expect(&x->fake, "flock", 75, "", "temp failure\n");
	assert_int_equal(hp_host_sh(x->h, "x", NULL, 0, 30, NULL, &x->err),
			 HP_EREMOTE);
	assert_non_null(strstr(x->err.msg, "exit 75: temp failure"));
	assert_int_equal(hp_fake_count_calls(&x->fake, HP_FAKE_EXEC, "flock"),
			 1);
	fx_free(x);
}

/* The wrapper, run for real in a temporary directory. */
static void test_hostlock_wrapper_in_a_real_shell(void **state)
{
	char *dir = make_tmpdir();
	char *lockdir = xasprintf("%s/haprov", dir);
	char *lockfile = xasprintf("%s/lock", lockdir);
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	struct hp_exec_result res;
	struct stat st;
	char *text;
	int fd, rc;

	(void)state;
	/* free: the command runs without the lock's fd; the holder is
	 * written into the lock file; the directory is created 0700 */
	hp_hostlock_wrap(&cmd, "echo ran; test ! -e /proc/self/fd/9 && "
			       "echo no-fd; exit 3",
			 lockdir, "haprov run A by alice@laptop pid 1", 0);
	rc = run_sh(cmd.buf, NULL, &out);
	assert_int_equal(rc, 3);
	assert_non_null(strstr(out.buf, "ran\n"));
	assert_non_null(strstr(out.buf, "no-fd\n"));
	assert_int_equal(stat(lockdir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	text = read_text(lockdir, "lock");
	assert_non_null(strstr(text, "haprov run A by alice@laptop pid 1 "
				     "since 20"));
	free(text);

	/* held by someone else: the command does not run; the holder is
	 * named with the wrapper's mark and exit 75 */
	fd = open(lockfile, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	rc = run_sh(cmd.buf, NULL, &out);
	assert_int_equal(rc, 75);
	assert_null(strstr(out.buf, "ran"));
	hp_exec_result_init(&res);
	res.exit_code = rc;
	hp_buf_add(&res.errout, out.buf, out.len);
	hp_buf_reset(&out);
	assert_true(hp_hostlock_busy(&res, &out));
	assert_non_null(strstr(out.buf, "haprov run A by alice@laptop"));
	hp_exec_result_release(&res);

	/* waiting: gives up after the deadline */
	hp_buf_reset(&cmd);
	hp_hostlock_wrap(&cmd, "echo ran", lockdir, "B", 1);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 75);
	assert_null(strstr(out.buf, "ran"));
	/* and runs once it is free */
	assert_int_equal(flock(fd, LOCK_UN), 0);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 0);
	assert_string_equal(out.buf, "ran\n");
	close(fd);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	rm_tree(dir);
	free(lockfile);
	free(lockdir);
	free(dir);
}


/* ---- a new file's diff, made here ---------------------------------------- */

/* hp_diff_new_file gives what GNU diff gives for the same content. */
static void test_diff_new_file_as_diff(void **state)
{
	static const char *const contents[] = {
		"a\nb\n", "one\n", "no newline", "x\n\ny", "\n", "",
		"tab\there\n+plus\n-minus\n",
	};
	char path[] = "/tmp/hp-diffnew-XXXXXX";
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(contents); i++) {
		struct hp_buf mine = HP_BUF_INIT, theirs = HP_BUF_INIT;
		char cmd[256], line[512];
		int fd;
		FILE *f, *p;

		memcpy(path, "/tmp/hp-diffnew-XXXXXX", sizeof(path));
		fd = mkstemp(path);
		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		assert_non_null(f);
		fputs(contents[i], f);
		fclose(f);
		snprintf(cmd, sizeof(cmd),
			 "LC_ALL=C diff -u --label /dev/null --label /etc/x.conf "
			 "/dev/null %s",
			 path);
		p = popen(cmd, "r");
		assert_non_null(p);
		while (fgets(line, sizeof(line), p))
			hp_buf_adds(&theirs, line);
		pclose(p);
		unlink(path);
		hp_diff_new_file(&mine, "/etc/x.conf", contents[i],
				 strlen(contents[i]));
		if (strcmp(mine.buf ? mine.buf : "",
			   theirs.buf ? theirs.buf : "") != 0)
			fail_msg("content %zu:\nmine:\n%s\ndiff's:\n%s", i,
				 mine.buf ? mine.buf : "",
				 theirs.buf ? theirs.buf : "");
		hp_buf_release(&mine);
		hp_buf_release(&theirs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_hostile_old_files_redacted),
		cmocka_unit_test(test_apply_hostile_old_files_kept_by_hash),
		cmocka_unit_test(
			test_new_content_with_password_committed_by_hash),
		cmocka_unit_test(test_failed_command_stderr_sanitized),
		cmocka_unit_test(test_packages_no_fixed_temp_file),
		cmocka_unit_test(test_packages_wait_for_dpkg_lock),
		cmocka_unit_test(test_packages_lock_free_says_nothing),
		cmocka_unit_test(test_pkg_lock_probe_parse),
		cmocka_unit_test(test_packages_update_only_when_missing),
		cmocka_unit_test(test_hostlock_wraps_mutations_only),
		cmocka_unit_test(test_hostlock_plan_takes_no_lock),
		cmocka_unit_test(test_new_file_dir_made_once),
		cmocka_unit_test(test_hostlock_waits_then_runs),
		cmocka_unit_test(
			test_hostlock_held_is_an_error_naming_the_holder),
		cmocka_unit_test(test_hostlock_exit_75_alone_is_not_busy),
		cmocka_unit_test(test_hostlock_wrapper_in_a_real_shell),
		cmocka_unit_test(test_diff_new_file_as_diff),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
