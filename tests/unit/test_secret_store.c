/*
 * The secret store (secret_store.c) on a real directory: modes 0700/0600,
 * exclusive creation that never follows or replaces what is there,
 * refusal (not repair) of a store or file others can read or that another
 * user owns; process hardening; and the rule for generating a missing
 * secret (secret_holders.c) through the fake transport and the fake REST
 * server: only for a cluster that does not exist yet, and never in plan.
 */
#include <errno.h>
#include <pwd.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bootstrap.h"
#include "fake_rest.h"
#include "fake_transport.h"
#include "secret_store.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-secrets-"
#include "tmpdir_fixture.h"

static void write_text(const char *path, const char *text, unsigned mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* ---- the store ------------------------------------------------------------ */

static void test_create_modes(void **state)
{
	char *store = tpath("modes/deep/store");
	char *file = xasprintf("%s/superuser", store);
	char *val = NULL, *again = NULL;
	struct hp_err err;
	mode_t old = umask(022); /* a usual umask must not loosen them */

	(void)state;
	assert_int_equal(hp_secret_store_create(store, &err), 0);
	assert_int_equal(mode_of(store), 0700);
	assert_int_equal(hp_secret_create(&val, store, "superuser", 24, &err),
			 0);
	umask(old);
	assert_int_equal(strlen(val), 24);
	assert_int_equal(mode_of(file), 0600);
	assert_int_equal(hp_secret_read(&again, store, "superuser", &err), 0);
	assert_string_equal(again, val);
	/* no temporary file is left beside it: the value and its one
	 * version (0700 directories, a 0600 file) */
	{
		char *cmd = xasprintf("test $(ls -a '%s' | wc -l) -eq 4 && "
				      "test $(ls -a '%s/versions/superuser' | "
				      "wc -l) -eq 3",
				      store, store);
		char *v = xasprintf("%s/versions/superuser", store);

		assert_int_equal(system(cmd), 0);
		assert_int_equal(mode_of(v), 0700);
		free(cmd);
		free(v);
	}
	hp_secret_free(val);
	hp_secret_free(again);
	free(store);
	free(file);
}

static void test_create_is_exclusive(void **state)
{
	char *store = tpath("excl");
	char *file = xasprintf("%s/replication", store);
	char *val = (char *)1, *got = NULL;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_secret_store_create(store, &err), 0);
	write_text(file, "keepme\n", 0600);
	assert_true(hp_secret_create(&val, store, "replication", 16, &err) <
		    0);
	assert_null(val);
	assert_int_equal(hp_secret_read(&got, store, "replication", &err), 0);
	assert_string_equal(got, "keepme");
	hp_secret_free(got);
	free(store);
	free(file);
}

static void test_symlinks_are_never_followed(void **state)
{
	char *store = tpath("links");
	char *target = tpath("elsewhere");
	char *file = xasprintf("%s/rewind", store);
	char *linked = tpath("linked-store");
	char *val = NULL;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_secret_store_create(store, &err), 0);
	/* a link planted at the secret's name: not followed, not replaced */
	assert_int_equal(symlink(target, file), 0);
	assert_true(hp_secret_create(&val, store, "rewind", 16, &err) < 0);
	assert_false(exists(target));
	assert_int_equal(hp_secret_read(&val, store, "rewind", &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "symbolic link"));
	/* a store that is a link is refused */
	write_text(target, "x", 0600);
	assert_int_equal(unlink(target), 0);
	assert_int_equal(symlink(store, linked), 0);
	assert_int_equal(hp_secret_store_check(linked, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(hp_secret_store_create(linked, &err), HP_EINVALID);
	assert_int_equal(hp_secret_read(&val, linked, "rewind", &err),
			 HP_EINVALID);
	assert_null(val);
	free(store);
	free(target);
	free(file);
	free(linked);
}

/* Like OpenSSH for a private key: refused, named, and left alone. */
static void test_open_store_refused_not_fixed(void **state)
{
	char *store = tpath("open");
	char *file = xasprintf("%s/restapi", store);
	char *other = xasprintf("%s/other", store);
	char *val = NULL;
	struct hp_err err;
	struct passwd *pw = getpwuid(geteuid()); // NOLINT: test, one thread
	char *owner = xasprintf("owner %s", pw ? pw->pw_name : "uid");

	(void)state;
	assert_int_equal(hp_secret_store_create(store, &err), 0);
	write_text(file, "pw\n", 0600);
	assert_int_equal(chmod(store, 0755), 0);
	assert_int_equal(hp_secret_read(&val, store, "restapi", &err),
			 HP_EINVALID);
	assert_null(val);
	assert_non_null(strstr(err.msg, "permissions 0755"));
	assert_non_null(strstr(err.msg, store));
	assert_non_null(strstr(err.msg, "too open"));
	assert_non_null(strstr(err.msg, owner));
	assert_int_equal(mode_of(store), 0755);	/* not chmod-ed */
	assert_true(hp_secret_create(&val, store, "other", 8, &err) < 0);
	assert_false(exists(other));
	/* group access alone is too much as well */
	assert_int_equal(chmod(store, 0710), 0);
	assert_int_equal(hp_secret_store_check(store, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "permissions 0710"));
	free(store);
	free(file);
	free(other);
	free(owner);
}

static void test_secret_file_mode_and_owner(void **state)
{
	char *store = tpath("fileperm");
	char *file = xasprintf("%s/superuser", store);
	char *val = NULL;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_secret_store_create(store, &err), 0);
	write_text(file, "pw\n", 0640);
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "permissions 0640"));
	assert_non_null(strstr(err.msg, file));
	assert_int_equal(mode_of(file), 0640);
	assert_int_equal(chmod(file, 0604), 0);
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err),
			 HP_EINVALID);
	assert_int_equal(chmod(file, 0600), 0);
	if (geteuid() != 0) {
		/* only root can give a file away: the rest needs root */
		free(store);
		free(file);
		return;
	}
	/* mode fine, owner someone else */
	assert_int_equal(chown(file, 65534, 65534), 0);
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "owned by"));
	assert_null(val);
	/* and the store owned by someone else */
	assert_int_equal(chown(file, 0, 0), 0);
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err), 0);
	hp_secret_free(val);
	assert_int_equal(chown(store, 65534, 65534), 0);
	assert_int_equal(hp_secret_store_check(store, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "owned by"));
	assert_int_equal(chown(store, 0, 0), 0);
	free(store);
	free(file);
}

static void test_read_never_creates(void **state)
{
	char *store = tpath("absent/store");
	char *dir = tpath("absent");
	char *val = NULL;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err),
			 HP_ENOTFOUND);
	assert_false(exists(dir));
	assert_int_equal(hp_secret_store_check(store, &err), HP_ENOTFOUND);
	assert_false(exists(dir));
	free(store);
	free(dir);
}

static void test_bad_contents(void **state)
{
	char *store = tpath("contents");
	char *file = xasprintf("%s/superuser", store);
	char *val = NULL;
	struct hp_err err;
	char big[HP_SECRET_MAX + 2];

	(void)state;
	assert_int_equal(hp_secret_store_create(store, &err), 0);
	write_text(file, "\n", 0600);
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "empty"));
	write_text(file, "one\ntwo\n", 0600);
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err),
			 HP_EINVALID);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_text(file, big, 0600);
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err),
			 HP_ETOOBIG);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(mkfifo(file, 0600), 0);
	assert_int_equal(hp_secret_read(&val, store, "superuser", &err),
			 HP_EINVALID); /* not a regular file; did not hang */
	assert_int_equal(hp_secret_read(&val, store, "../x", &err),
			 HP_EINVALID);
	assert_null(val);
	free(store);
	free(file);
}

static void test_harden_process(void **state)
{
	struct rlimit rl;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_harden_process(&err), 0);
	assert_int_equal(getrlimit(RLIMIT_CORE, &rl), 0);
	assert_int_equal(rl.rlim_cur, 0);
	assert_int_equal(rl.rlim_max, 0);
	assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
	/* LeakSanitizer needs to ptrace this process at exit */
	assert_int_equal(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
}

/* ---- the rule ------------------------------------------------------------- */

static void test_rule_table(void **state)
{
	struct hp_secret_evidence ev;
	struct hp_buf why = HP_BUF_INIT;
	int id;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	for (id = 0; id < HP_SECRET_NR; id++)
		assert_true(hp_secret_may_generate((enum hp_secret_id)id, &ev,
						   NULL));
	/* any sign of an existing cluster stops Patroni's secrets */
	ev.state_commits = true;
	assert_false(hp_secret_may_generate(HP_SECRET_REPLICATION, &ev, &why));
	assert_non_null(strstr(why.buf, "state repository"));
	assert_true(hp_secret_may_generate(HP_SECRET_HAPROXY_STATS, &ev, NULL));
	memset(&ev, 0, sizeof(ev));
	hp_strlcpy(ev.patroni_answers, "b", sizeof(ev.patroni_answers));
	assert_false(hp_secret_may_generate(HP_SECRET_SUPERUSER, &ev, NULL));
	memset(&ev, 0, sizeof(ev));
	hp_strlcpy(ev.env_file, "b", sizeof(ev.env_file));
	assert_false(hp_secret_may_generate(HP_SECRET_RESTAPI, &ev, NULL));
	assert_true(hp_secret_may_generate(HP_SECRET_HAPROXY_STATS, &ev, NULL));
	memset(&ev, 0, sizeof(ev));
	hp_strlcpy(ev.unchecked_patroni, "b", sizeof(ev.unchecked_patroni));
	assert_false(hp_secret_may_generate(HP_SECRET_REWIND, &ev, NULL));
	/* the stats password: only where no host file holds it */
	memset(&ev, 0, sizeof(ev));
	hp_strlcpy(ev.stats_cred, "c", sizeof(ev.stats_cred));
	assert_false(hp_secret_may_generate(HP_SECRET_HAPROXY_STATS, &ev,
					    NULL));
	assert_true(hp_secret_may_generate(HP_SECRET_SUPERUSER, &ev, NULL));
	memset(&ev, 0, sizeof(ev));
	hp_strlcpy(ev.unchecked_haproxy, "c", sizeof(ev.unchecked_haproxy));
	assert_false(hp_secret_may_generate(HP_SECRET_HAPROXY_STATS, &ev,
					    NULL));
	hp_buf_release(&why);
}

#include "secret_run_fixture.h"

static void test_load_complete_store_asks_nothing(void **state)
{
	struct fx *x = fx_new("complete", false, NULL);
	struct hp_run_secrets s;

	(void)state;
	fill_store(x, -1);
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	assert_int_equal(strlen(s.rs.superuser), 12);
	assert_int_equal(strlen(s.rs.haproxy_stats), 12);
	assert_string_equal(s.rs.restapi, s.val[HP_SECRET_RESTAPI]);
	assert_int_equal(x->fake[0].nr_calls + x->fake[2].nr_calls, 0);
	assert_int_equal(x->rest.nr_reqs, 0);
	hp_run_secrets_release(&s);
	fx_free(x);
}

/* With tls on (the default) a new cluster's secrets load also makes the
 * TLS material: one step for the CA, one per host (a, b, c), one for
 * haprov's client certificate (tls_material.c). test_tls_material.c
 * tests when they reach the store. */
#define TLS_STEPS (1 + 3 + 1)

/* A new cluster: no store, no commits, nothing answers, no host files. */
static void test_new_cluster_generates(void **state)
{
	struct fx *x = fx_new("fresh", false, NULL);
	struct hp_run_secrets s;
	int i;

	(void)state;
	holders(x, "", "", "");
	assert_int_equal(hp_run_secrets_load(&s, &x->run, false, &x->err), 0);
	assert_int_equal(mode_of(x->store), 0700);
	for (i = 0; i < HP_SECRET_NR; i++) {
		char *f = xasprintf("%s/%s", x->store,
				    hp_secret_name((enum hp_secret_id)i));

		/* no vip or pgbouncer hosts: no VRRP or lookup password */
		if (i == HP_SECRET_VIP || i == HP_SECRET_PGBOUNCER) {
			assert_false(hp_secret_used((enum hp_secret_id)i,
						    x->run.inv));
			assert_int_equal(access(f, F_OK), -1);
			assert_null(s.val[i]);
			assert_null(i == HP_SECRET_VIP ? s.rs.vip_auth
						       : s.rs.pgbouncer_auth);
			free(f);
			continue;
		}
		assert_int_equal(mode_of(f), 0600);
		assert_int_equal(strlen(s.val[i]), 32);
		free(f);
	}
	assert_string_equal(s.rs.haproxy_stats, s.val[HP_SECRET_HAPROXY_STATS]);
	/* Patroni was asked on its hosts only (over https, before the
	 * material existed: the probe must still reach them) */
	assert_int_equal(hp_fake_rest_count(&x->rest, "GET", "/cluster"), 2);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED),
			 HP_SECRET_NR - 2 + TLS_STEPS);
	hp_run_secrets_release(&s);
	fx_free(x);
}

/* plan never writes: reported, rendered as placeholders, nothing created */
static void test_plan_writes_nothing(void **state)
{
	struct fx *x = fx_new("planfresh", true, NULL);
	struct hp_run_secrets s;

	(void)state;
	holders(x, "", "", "");
	assert_int_equal(hp_run_secrets_load(&s, &x->run, false, &x->err), 0);
	assert_false(exists(x->store));
	assert_string_equal(s.rs.superuser, "<secret:superuser>");
	assert_string_equal(s.rs.haproxy_stats, "<secret:haproxy_stats>");
	assert_null(s.val[HP_SECRET_RESTAPI]);
	/* the passwords, then the TLS material (tls on by default) */
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED),
			 HP_SECRET_NR - 2 + TLS_STEPS);
	assert_non_null(strstr(x->run.results[0].detail, "would be generated"));
	hp_run_secrets_release(&s);
	fx_free(x);
}

/* The refusal names the store and the secret and says how to restore. */
static void expect_refused(struct fx *x, bool commits, const char *secret,
			   const char *because)
{
	struct hp_run_secrets s;
	char *file = xasprintf("%s/%s", x->store, secret);

	assert_int_equal(hp_run_secrets_load(&s, &x->run, commits, &x->err),
			 HP_ENOTFOUND);
	assert_non_null(strstr(x->err.msg, x->store));
	assert_non_null(strstr(x->err.msg, secret));
	assert_non_null(strstr(x->err.msg, because));
	assert_non_null(strstr(x->err.msg, "copy it back"));
	assert_false(exists(file));
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 0);
	hp_run_secrets_release(&s);
	free(file);
}

static void test_existing_cluster_refused(void **state)
{
	struct fx *x;

	(void)state;
	/* the state repository has rollback points */
	x = fx_new("commits", false, NULL);
	fill_store(x, HP_SECRET_REPLICATION);
	holders(x, "", "", "");
	expect_refused(x, true, "replication", "state repository");
	assert_non_null(strstr(x->err.msg, "/etc/patroni_env.conf"));
	fx_free(x);
	/* no commits (another checkout), but Patroni answers */
	x = fx_new("answers", false, NULL);
	holders(x, "", "", "");
	hp_fake_rest_expect(&x->rest, "GET", "10.0.0.2:8008/cluster", 503,
			    "<html>busy</html>", 0);
	expect_refused(x, false, "superuser", "answers");
	assert_false(exists(x->store));
	fx_free(x);
	/* a refused TLS handshake: a server is there (tls on: the probe
	 * cannot verify yet, so this is a server the run does not trust) */
	x = fx_new("tlsrefused", false, NULL);
	holders(x, "", "", "");
	hp_fake_rest_fail(&x->rest, "GET", "/cluster", HP_ETLS, 0);
	expect_refused(x, false, "superuser", "answers");
	fx_free(x);
	/* an answer that does not come in time cannot tell */
	x = fx_new("timeout", false, NULL);
	holders(x, "", "", "");
	hp_fake_rest_fail(&x->rest, "GET", "/cluster", HP_ETIMEOUT, 0);
	expect_refused(x, false, "superuser", "did not answer in time");
	fx_free(x);
	/* nothing answers, but a host holds the file */
	x = fx_new("envfile", false, NULL);
	holders(x, "", "patroni_env\n", "");
	expect_refused(x, false, "rewind", "b has /etc/patroni_env.conf");
	fx_free(x);
	/* a patroni host left out with --host cannot be checked */
	x = fx_new("unchecked", false, "a,c");
	holders(x, "", "", "");
	expect_refused(x, false, "restapi", "not checked");
	assert_int_equal(x->fake[1].nr_calls, 0);
	fx_free(x);
}

/* A cluster applied before haproxy_stats existed gets one; one whose
 * haproxy.cfg already holds it does not get a new one. */
static void test_new_stats_secret_on_existing_cluster(void **state)
{
	struct fx *x;
	struct hp_run_secrets s;

	(void)state;
	x = fx_new("stats-new", false, NULL);
	fill_store(x, HP_SECRET_HAPROXY_STATS);
	holders(x, "patroni_env\n", "patroni_env\n", "");
	hp_fake_rest_expect(&x->rest, "GET", "/cluster", 200,
			    "{\"members\": []}", 0);
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	assert_int_equal(strlen(s.rs.haproxy_stats), 32);
	hp_run_secrets_release(&s);
	fx_free(x);

	x = fx_new("stats-held", false, NULL);
	fill_store(x, HP_SECRET_HAPROXY_STATS);
	holders(x, "patroni_env\n", "patroni_env\n", "haproxy_stats\n");
	expect_refused(x, true, "haproxy_stats",
		       "c has /etc/haproxy/haprov_env.conf");
	assert_non_null(strstr(x->err.msg, "user haprov"));
	fx_free(x);
}

/* The VRRP password: made (8 characters, VRRP's limit) only for an
 * inventory with vip hosts, and refused when a vip host already has
 * haprov's auth file (keepalived there would stop agreeing). */
static void test_vip_secret(void **state)
{
	struct fx *x;
	struct hp_run_secrets s;
	struct hp_secret_evidence ev;
	struct hp_buf why = HP_BUF_INIT;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	assert_true(hp_secret_may_generate(HP_SECRET_VIP, &ev, NULL));
	hp_strlcpy(ev.vip_cred, "c", sizeof(ev.vip_cred));
	assert_false(hp_secret_may_generate(HP_SECRET_VIP, &ev, &why));
	assert_non_null(strstr(why.buf, "c has " HP_VIP_AUTH_PATH));
	/* the others' evidence does not stop it, nor it theirs */
	assert_true(hp_secret_may_generate(HP_SECRET_HAPROXY_STATS, &ev, NULL));
	memset(&ev, 0, sizeof(ev));
	ev.state_commits = true;
	hp_strlcpy(ev.stats_cred, "c", sizeof(ev.stats_cred));
	assert_true(hp_secret_may_generate(HP_SECRET_VIP, &ev, NULL));
	memset(&ev, 0, sizeof(ev));
	hp_strlcpy(ev.unchecked_vip, "c", sizeof(ev.unchecked_vip));
	assert_false(hp_secret_may_generate(HP_SECRET_VIP, &ev, NULL));
	hp_buf_release(&why);

	fx_vip = true;
	x = fx_new("vip-new", false, NULL);
	fill_store(x, HP_SECRET_VIP);
	holders(x, "patroni_env\n", "patroni_env\n", "haproxy_stats\n");
	hp_fake_rest_expect(&x->rest, "GET", "/cluster", 200,
			    "{\"members\": []}", 0);
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	assert_non_null(s.rs.vip_auth);
	assert_int_equal(strlen(s.rs.vip_auth), 8);
	assert_string_equal(s.rs.vip_auth, s.val[HP_SECRET_VIP]);
	hp_run_secrets_release(&s);
	fx_free(x);

	x = fx_new("vip-held", false, NULL);
	fill_store(x, HP_SECRET_VIP);
	holders(x, "patroni_env\n", "patroni_env\n",
		"haproxy_stats\nvip_auth\n");
	expect_refused(x, true, "vip_auth", "c has " HP_VIP_AUTH_PATH);
	assert_non_null(strstr(x->err.msg, "auth_pass"));
	fx_free(x);
	fx_vip = false;
}

/* PgBouncer's lookup password: made only with pgbouncer hosts, refused
 * once one of them has haprov's auth file. */
static void test_pgbouncer_secret(void **state)
{
	struct fx *x;
	struct hp_run_secrets s;
	struct hp_secret_evidence ev;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	assert_true(hp_secret_may_generate(HP_SECRET_PGBOUNCER, &ev, NULL));
	hp_strlcpy(ev.pgb_cred, "b", sizeof(ev.pgb_cred));
	assert_false(hp_secret_may_generate(HP_SECRET_PGBOUNCER, &ev, NULL));
	assert_true(hp_secret_may_generate(HP_SECRET_VIP, &ev, NULL));
	memset(&ev, 0, sizeof(ev));
	hp_strlcpy(ev.unchecked_pgb, "a", sizeof(ev.unchecked_pgb));
	assert_false(hp_secret_may_generate(HP_SECRET_PGBOUNCER, &ev, NULL));

	fx_pgb = true;
	x = fx_new("pgb-new", false, NULL);
	fill_store(x, HP_SECRET_PGBOUNCER);
	holders(x, "patroni_env\n", "patroni_env\n", "haproxy_stats\n");
	hp_fake_rest_expect(&x->rest, "GET", "/cluster", 200,
			    "{\"members\": []}", 0);
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	assert_non_null(s.rs.pgbouncer_auth);
	assert_int_equal(strlen(s.rs.pgbouncer_auth), 32);
	assert_null(s.rs.vip_auth);
	hp_run_secrets_release(&s);
	fx_free(x);

	x = fx_new("pgb-held", false, NULL);
	fill_store(x, HP_SECRET_PGBOUNCER);
	holders(x, "patroni_env\n", "patroni_env\npgbouncer_auth\n",
		"haproxy_stats\n");
	expect_refused(x, true, "pgbouncer_auth",
		       "b has " HP_PGB_USERLIST_PATH);
	fx_free(x);
	fx_pgb = false;
}

/* Take secret name out of x's store. */
static void unlink_secret(struct fx *x, const char *name)
{
	char *file = xasprintf("%s/%s", x->store, name);

	assert_int_equal(unlink(file), 0);
	free(file);
}

/* The refusal of x's load, whole (the caller frees it). */
static char *refusal(struct fx *x)
{
	struct hp_run_secrets s;
	char *msg;

	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err),
			 HP_ENOTFOUND);
	msg = xstrdup(x->err.msg);
	hp_run_secrets_release(&s);
	return msg;
}

/* x's load refuses secrets ("secret 'a'") with exactly this text. */
static void expect_text(struct fx *x, const char *secrets, const char *why,
			const char *breaks, const char *recover)
{
	char *msg = refusal(x);
	char *want = xasprintf(
		"%s missing from the store '%s', and %s: a new "
		"password would break %s, so haprov does not make one. Restore "
		"the store: copy it back from the machine and directory the "
		"cluster was applied from, or from a backup (directory mode "
		"0700, files 0600, owned by you)%s. Nothing was changed",
		secrets, x->store, why, breaks, recover);

	assert_string_equal(msg, want);
	free(msg);
	free(want);
}

/* The refusal's whole text, for each holder of a secret on the hosts:
 * its evidence file, what a new value breaks, where the old one is. One
 * row of secret_holders.c's holders table wrong (a path, a role, a text) and
 * one of these differs. */
static void test_refusal_texts(void **state)
{
	struct fx *x;
	struct hp_run_secrets s;

	(void)state;
	fx_vip = fx_pgb = true;
	/* one command per host asks for every holder's file; b's vip file
	 * does not count (b has no role vip: a leftover) */
	x = fx_new("texts-cmd", false, NULL);
	fill_store(x, HP_SECRET_VIP);
	holders(x, "", "patroni_env\nvip_auth\n", "");
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	/* (inside the host lock's wrapper, on a line of its own) */
	assert_non_null(strstr(x->fake[0].calls[0].what,
		"\nif [ -e /etc/patroni_env.conf ]; then echo patroni_env; fi; "
		"if [ -e /etc/haproxy/haprov_env.conf ]; then echo "
		"haproxy_stats; fi; if [ -e "
		"/etc/keepalived/haprov_auth.conf ]; then echo vip_auth; fi; "
		"if [ -e "
		"/etc/pgbouncer/haprov_userlist.txt ]; then echo "
		"pgbouncer_auth; fi; true\n"));
	hp_run_secrets_release(&s);
	fx_free(x);
	/* a's stats file counts although a has no role haproxy */
	x = fx_new("texts-stats", false, NULL);
	fill_store(x, HP_SECRET_HAPROXY_STATS);
	holders(x, "patroni_env\nhaproxy_stats\n", "vip_auth\n", "");
	expect_text(x, "secret 'haproxy_stats'",
		    "a has /etc/haproxy/haprov_env.conf (haprov's stats "
		    "password)",
		    "access to the HAProxy stats page",
		    "; the stats password is also in /etc/haproxy/haproxy.cfg "
		    "on the haproxy hosts (user haprov): put it in the file "
		    "'haproxy_stats'");
	fx_free(x);
	x = fx_new("texts-vip", false, NULL);
	fill_store(x, HP_SECRET_VIP);
	holders(x, "", "", "vip_auth\n");
	expect_text(x, "secret 'vip_auth'",
		    "c has /etc/keepalived/haprov_auth.conf (keepalived's VRRP "
		    "password)",
		    "the vip hosts' VRRP agreement (two could hold the virtual "
		    "IP)",
		    "; the VRRP password is also in "
		    "/etc/keepalived/haprov_auth.conf on the vip hosts "
		    "(auth_pass): put it in the file 'vip_auth'");
	fx_free(x);
	x = fx_new("texts-pgb", false, NULL);
	fill_store(x, HP_SECRET_PGBOUNCER);
	holders(x, "pgbouncer_auth\n", "", "pgbouncer_auth\n");
	expect_text(x, "secret 'pgbouncer_auth'",
		    "a has /etc/pgbouncer/haprov_userlist.txt (PgBouncer's "
		    "lookup password)",
		    "PgBouncer's password lookups (client logins through it)",
		    "; the lookup password is also in "
		    "/etc/pgbouncer/haprov_userlist.txt on the pgbouncer hosts "
		    "(the second quoted field): put it in the file "
		    "'pgbouncer_auth'");
	fx_free(x);
	/* several refused: the worst breakage is said (VRRP's before
	 * PgBouncer's before the stats page's), and the first holder's hint
	 * in table order (stats) only */
	x = fx_new("texts-three", false, NULL);
	fill_store(x, HP_SECRET_VIP);
	unlink_secret(x, "haproxy_stats");
	unlink_secret(x, "pgbouncer_auth");
	holders(x, "pgbouncer_auth\n", "", "haproxy_stats\nvip_auth\n");
	expect_text(x, "secrets 'haproxy_stats', 'vip_auth', 'pgbouncer_auth'",
		    "c has /etc/haproxy/haprov_env.conf (haprov's stats "
		    "password)",
		    "the vip hosts' VRRP agreement (two could hold the virtual "
		    "IP)",
		    "; the stats password is also in /etc/haproxy/haproxy.cfg "
		    "on the haproxy hosts (user haprov): put it in the file "
		    "'haproxy_stats'");
	fx_free(x);
	x = fx_new("texts-two", false, NULL);
	fill_store(x, HP_SECRET_VIP);
	unlink_secret(x, "pgbouncer_auth");
	holders(x, "pgbouncer_auth\n", "", "vip_auth\n");
	expect_text(x, "secrets 'vip_auth', 'pgbouncer_auth'",
		    "c has /etc/keepalived/haprov_auth.conf (keepalived's VRRP "
		    "password)",
		    "the vip hosts' VRRP agreement (two could hold the virtual "
		    "IP)",
		    "; the VRRP password is also in "
		    "/etc/keepalived/haprov_auth.conf on the vip hosts "
		    "(auth_pass): put it in the file 'vip_auth'");
	fx_free(x);
	fx_vip = fx_pgb = false;
}

/* A vip host left out with --host might hold the VRRP password. */
static void test_refusal_unchecked_vip(void **state)
{
	struct fx *x;
	char *msg;

	(void)state;
	fx_vip = true;
	x = fx_new("texts-unchecked", false, "a,b");
	fill_store(x, HP_SECRET_VIP);
	hp_fake_expect(&x->fake[0], "patroni_env.conf", 0, "", "");
	hp_fake_expect(&x->fake[1], "patroni_env.conf", 0, "", "");
	msg = refusal(x);
	assert_non_null(strstr(msg, "', and vip host c was not checked (not "
				    "selected with --host): a new password "
				    "would break the vip hosts' VRRP"));
	free(msg);
	fx_free(x);
	fx_vip = false;
}

/* Each holder's hosts by their role's name when one was not checked. */
static void test_unchecked_texts(void **state)
{
	static const struct {
		enum hp_secret_id id;
		size_t at;
		const char *why;
	} cases[] = {
		{HP_SECRET_REWIND,
		 offsetof(struct hp_secret_evidence, unchecked_patroni),
		 "patroni host h was not checked (not selected with --host)"},
		{HP_SECRET_HAPROXY_STATS,
		 offsetof(struct hp_secret_evidence, unchecked_haproxy),
		 "haproxy host h was not checked (not selected with --host)"},
		{HP_SECRET_VIP,
		 offsetof(struct hp_secret_evidence, unchecked_vip),
		 "vip host h was not checked (not selected with --host)"},
		{HP_SECRET_PGBOUNCER,
		 offsetof(struct hp_secret_evidence, unchecked_pgb),
		 "pgbouncer host h was not checked (not selected with --host)"},
	};
	struct hp_secret_evidence ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hp_buf why = HP_BUF_INIT;

		memset(&ev, 0, sizeof(ev));
		((char *)&ev)[cases[i].at] = 'h';
		assert_false(hp_secret_may_generate(cases[i].id, &ev, &why));
		assert_string_equal(why.buf, cases[i].why);
		hp_buf_release(&why);
	}
}

/* Patroni's environment file counts on any host checked (c has no role
 * patroni). */
static void test_patroni_env_anywhere(void **state)
{
	struct fx *x = fx_new("env-anywhere", false, NULL);
	struct hp_run_secrets s;

	(void)state;
	fill_store(x, HP_SECRET_REWIND);
	holders(x, "", "", "patroni_env\n");
	assert_int_equal(hp_run_secrets_load(&s, &x->run, false, &x->err),
			 HP_ENOTFOUND);
	assert_non_null(strstr(x->err.msg,
			       "', and c has /etc/patroni_env.conf: a new "
			       "password would break replication"));
	hp_run_secrets_release(&s);
	fx_free(x);
}

/* A host whose check cannot run stops the run: no guess. */
static void test_check_failure_stops(void **state)
{
	struct fx *x = fx_new("checkfail", false, NULL);
	struct hp_run_secrets s;

	(void)state;
	hp_fake_expect(&x->fake[0], "patroni_env.conf", 0, "", "");
	hp_fake_expect(&x->fake[1], "patroni_env.conf", 0, "", "")->ret =
		HP_ECONNECT;
	assert_true(hp_run_secrets_load(&s, &x->run, false, &x->err) < 0);
	assert_false(exists(x->store));
	hp_run_secrets_release(&s);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_modes),
		cmocka_unit_test(test_create_is_exclusive),
		cmocka_unit_test(test_symlinks_are_never_followed),
		cmocka_unit_test(test_open_store_refused_not_fixed),
		cmocka_unit_test(test_secret_file_mode_and_owner),
		cmocka_unit_test(test_read_never_creates),
		cmocka_unit_test(test_bad_contents),
		cmocka_unit_test(test_harden_process),
		cmocka_unit_test(test_rule_table),
		cmocka_unit_test(test_load_complete_store_asks_nothing),
		cmocka_unit_test(test_new_cluster_generates),
		cmocka_unit_test(test_plan_writes_nothing),
		cmocka_unit_test(test_existing_cluster_refused),
		cmocka_unit_test(test_vip_secret),
		cmocka_unit_test(test_pgbouncer_secret),
		cmocka_unit_test(test_new_stats_secret_on_existing_cluster),
		cmocka_unit_test(test_refusal_texts),
		cmocka_unit_test(test_refusal_unchecked_vip),
		cmocka_unit_test(test_unchecked_texts),
		cmocka_unit_test(test_patroni_env_anywhere),
		cmocka_unit_test(test_check_failure_stops),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
