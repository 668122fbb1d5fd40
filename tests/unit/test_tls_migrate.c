/*
 * The plaintext gate (phases/tls_migrate_detect.c): with tls on, an etcd
 * member answering plain http stops the run before anything changes; an
 * https-only member (HTTP 400 text to a plain request), or nothing
 * listening, is not plaintext; tls off asks nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <git2.h>

#include "fake_rest.h"
#include "phases.h"
#include "state.h"
#include "tls_migrate.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-tlsm-"
#include "tmpdir_fixture.h"
/* its inventory's text only: the fixture here is this file's own */
#define HP_ENGINE_FIXTURE_INV_ONLY
#include "engine_fixture.h"

static const char yaml_on[] = HP_ENGINE_INV_YAML("");

static const char https_400[] =
	"Client sent an HTTP request to an HTTPS server.\n";

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake_rest fr;
	struct hp_err err;
};

static struct fx *fx_new(bool tls)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;
	char *y = xasprintf("%s%s", yaml_on, tls ? "" : "tls: false\n");

	memset(&o, 0, sizeof(o));
	assert_int_equal(hp_inventory_load_string(&x->inv, y, strlen(y),
						  "/tmp/t.yml", &x->diags),
			 0);
	free(y);
	hp_run_init(&x->run, x->inv, &o);
	hp_fake_rest_init(&x->fr);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &x->fr;
	hp_err_clear(&x->err);
	return x;
}

static void fx_free(struct fx *x)
{
	size_t i;

	/* the gate only ever reads */
	for (i = 0; i < x->fr.nr_reqs; i++)
		assert_string_equal(x->fr.reqs[i].method, "GET");
	hp_run_release(&x->run);
	hp_fake_rest_release(&x->fr);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	hp_url_set_https(false);
	free(x);
}

static void plaintext_member_stops_the_run(void **state)
{
	struct fx *x = fx_new(true);
	bool plain = false;

	(void)state;
	hp_fake_rest_fail(&x->fr, "GET", "10.0.0.1:2379", HP_ECONNECT, 0);
	hp_fake_rest_expect(&x->fr, "GET", "http://10.0.0.2:2379/health", 200,
			    "{\"health\":\"true\",\"reason\":\"\"}", 0);
	assert_int_equal(hp_tlsm_gate(&x->run, false, &plain, &x->err),
			 HP_EVERIFY);
	assert_true(plain);
	assert_non_null(strstr(x->err.msg, "but b answers plain http"));
	assert_non_null(strstr(x->err.msg, "nothing was changed"));
	/* stops at the first plaintext member */
	assert_int_equal(hp_fake_rest_find(&x->fr, "GET", "10.0.0.3", 0), -1);
	fx_free(x);
}

static void unhealthy_plain_member_is_still_plaintext(void **state)
{
	struct fx *x = fx_new(true);
	bool plain = false;

	(void)state;
	hp_fake_rest_expect(&x->fr, "GET", "/health", 503,
			    "{\"health\":\"false\"}", 0);
	assert_int_equal(hp_tlsm_gate(&x->run, false, &plain, &x->err),
			 HP_EVERIFY);
	assert_true(plain);
	fx_free(x);
}

static void https_only_cluster_passes(void **state)
{
	struct fx *x = fx_new(true);
	bool plain = true;

	(void)state;
	hp_url_set_https(true); /* the probe is http whatever hp_url says */
	hp_fake_rest_expect(&x->fr, "GET", "http://", 400, https_400, 0);
	assert_int_equal(hp_tlsm_gate(&x->run, false, &plain, &x->err), 0);
	assert_false(plain);
	/* three etcd members and three Patroni REST APIs asked */
	assert_int_equal(x->fr.nr_reqs, 6);
	assert_int_equal(x->fr.nr_unexpected, 0);
	fx_free(x);
}

/* etcd on https already, a Patroni member still on plain http (a
 * migration stopped half-way): plaintext, and that member named. */
static void plain_patroni_member_is_named(void **state)
{
	struct fx *x = fx_new(true);
	bool plain = false;

	(void)state;
	hp_fake_rest_expect(&x->fr, "GET", ":2379/health", 400, https_400, 0);
	hp_fake_rest_fail(&x->fr, "GET", "10.0.0.1:8008", HP_ECONNECT, 0);
	hp_fake_rest_expect(&x->fr, "GET", "http://10.0.0.2:8008/patroni", 200,
			    "{\"state\": \"running\"}", 0);
	assert_int_equal(hp_tlsm_gate(&x->run, false, &plain, &x->err),
			 HP_EVERIFY);
	assert_true(plain);
	assert_non_null(strstr(x->err.msg, "but b answers plain http"));
	fx_free(x);
}

static void nothing_listening_is_not_plaintext(void **state)
{
	struct fx *x = fx_new(true);
	bool plain = true;

	(void)state;
	hp_fake_rest_fail(&x->fr, "GET", "/health", HP_ECONNECT, 0);
	assert_int_equal(hp_tlsm_gate(&x->run, false, &plain, &x->err), 0);
	assert_false(plain);
	fx_free(x);
}

static void non_etcd_json_is_not_plaintext(void **state)
{
	struct fx *x = fx_new(true);
	bool plain = true;

	(void)state;
	hp_fake_rest_expect(&x->fr, "GET", "/health", 200, "{\"ok\":1}", 0);
	assert_int_equal(hp_tlsm_gate(&x->run, false, &plain, &x->err), 0);
	assert_false(plain);
	fx_free(x);
}

static void patroni_still_plain_is_plaintext(void **state)
{
	struct fx *x = fx_new(true);
	bool plain = false;

	(void)state;
	/* etcd https only already; c's REST API still plain */
	hp_fake_rest_expect(&x->fr, "GET", "http://10.0.0.3:8008/patroni", 200,
			    "{\"state\":\"running\",\"role\":\"replica\"}", 0);
	hp_fake_rest_expect(&x->fr, "GET", "http://", 400, https_400, 0);
	assert_int_equal(hp_tlsm_gate(&x->run, false, &plain, &x->err),
			 HP_EVERIFY);
	assert_true(plain);
	assert_non_null(strstr(x->err.msg, "but c answers plain http"));
	fx_free(x);
}

static void tls_off_asks_nothing(void **state)
{
	struct fx *x = fx_new(false);
	bool plain = true;

	(void)state;
	hp_fake_rest_expect(&x->fr, "GET", "/health", 200,
			    "{\"health\":\"true\"}", 0);
	assert_int_equal(hp_tlsm_gate(&x->run, false, &plain, &x->err), 0);
	assert_false(plain);
	assert_int_equal(x->fr.nr_reqs, 0);
	fx_free(x);
}

static void migrate_lets_the_caller_go_on(void **state)
{
	struct fx *x = fx_new(true);
	bool plain = false;

	(void)state;
	hp_fake_rest_expect(&x->fr, "GET", "/health", 200,
			    "{\"health\":\"true\"}", 0);
	assert_int_equal(hp_tlsm_gate(&x->run, true, &plain, &x->err), 0);
	assert_true(plain);
	fx_free(x);
}

static void url_brackets_ipv6(void **state)
{
	struct hp_host h;
	char *u;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.address = (char *)(uintptr_t) "fd00::1";
	u = hp_url_scheme("http", &h, 2379, "/health");
	assert_string_equal(u, "http://[fd00::1]:2379/health");
	free(u);
	h.address = (char *)(uintptr_t) "10.0.0.1";
	u = hp_url_scheme("https", &h, 2380, "");
	assert_string_equal(u, "https://10.0.0.1:2380");
	free(u);
}


/* ---- the rollback guard ------------------------------------------------ */

static void env_peer_scheme(void **state)
{
	static const char https_env[] =
		"# comment\nETCD_NAME=a\n"
		"ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.1:2380\n";
	static const char http_env[] =
		"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.1:2380";
	static const char odd[] = "ETCD_INITIAL_ADVERTISE_PEER_URLS=ftp://x\n"
				  "ETCD_LISTEN_PEER_URLS=https://x\n";

	(void)state;
	assert_string_equal(hp_tlsm_env_peer_scheme(https_env,
						    sizeof(https_env) - 1),
			    "https");
	assert_string_equal(
		hp_tlsm_env_peer_scheme(http_env, sizeof(http_env) - 1), "http");
	/* the first matching line decides; another key does not count */
	assert_null(hp_tlsm_env_peer_scheme(odd, sizeof(odd) - 1));
	assert_null(hp_tlsm_env_peer_scheme("ETCD_NAME=a\n", 12));
	/* a cut text never reads past len */
	assert_null(hp_tlsm_env_peer_scheme(http_env, 38));
	assert_null(hp_tlsm_env_peer_scheme(NULL, 0));
}

/* A state repository in tmpdir whose point holds host a's etcd env. */
static char *point_with_env(struct hp_state **st, const char *env)
{
	static const char *const items[] = {"a: etcd"};
	struct hp_state_run rec = {"20261130T000000.000Z-00000001", "etcd",
				   "ok", "abc", items, 1};
	char *path = hp_state_host_path("a", "/etc/default/etcd"), *point = NULL;
	static int n;
	char *name = xasprintf("state-%d", n++), *dir = tpath(name);
	bool committed = false;
	struct hp_err err;

	if (hp_state_open(st, dir, &err) != 0)
		fail_msg("state: %s", err.msg);
	free(dir);
	free(name);
	assert_int_equal(hp_state_put(*st, path, env, strlen(env), &err), 0);
	assert_int_equal(
		hp_state_commit(*st, NULL, &rec, &committed, &point, &err), 0);
	assert_true(committed);
	assert_non_null(point);
	free(path);
	return point;
}

static void guard_case(bool tls, const char *env, int want)
{
	struct fx *x = fx_new(tls);
	struct hp_state *st = NULL;
	char *point = point_with_env(&st, env);

	x->run.state = st;
	assert_int_equal(hp_tlsm_rollback_guard(&x->run, point, &x->err),
			 want);
	if (want)
		assert_non_null(strstr(x->err.msg, "cannot cross the move to "
						   "TLS"));
	x->run.state = NULL;
	hp_state_free(st);
	free(point);
	fx_free(x);
}

static void rollback_never_crosses_tls(void **state)
{
	static const char plain[] =
		"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://10.0.0.1:2380\n";
	static const char tls[] =
		"ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.1:2380\n";

	(void)state;
	guard_case(true, plain, HP_EINVALID);  /* a point from before */
	guard_case(true, tls, 0);
	guard_case(false, tls, HP_EINVALID);   /* and not back either */
	guard_case(false, plain, 0);
	guard_case(true, "ETCD_NAME=a\n", 0); /* nothing to judge by */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plaintext_member_stops_the_run),
		cmocka_unit_test(env_peer_scheme),
		cmocka_unit_test_setup_teardown(rollback_never_crosses_tls, setup,
						teardown),
		cmocka_unit_test(unhealthy_plain_member_is_still_plaintext),
		cmocka_unit_test(https_only_cluster_passes),
		cmocka_unit_test(plain_patroni_member_is_named),
		cmocka_unit_test(nothing_listening_is_not_plaintext),
		cmocka_unit_test(non_etcd_json_is_not_plaintext),
		cmocka_unit_test(patroni_still_plain_is_plaintext),
		cmocka_unit_test(tls_off_asks_nothing),
		cmocka_unit_test(migrate_lets_the_caller_go_on),
		cmocka_unit_test(url_brackets_ipv6),
	};

	int rc;

	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	git_libgit2_shutdown();
	return rc;
}
