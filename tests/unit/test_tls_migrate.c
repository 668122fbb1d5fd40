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

#include <cmocka.h>

#include "fake_rest.h"
#include "phases.h"
#include "tls_migrate.h"

static const char yaml_on[] =
	"cluster: {name: t}\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n";

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
	u = hp_tlsm_url("http", &h, 2379, "/health");
	assert_string_equal(u, "http://[fd00::1]:2379/health");
	free(u);
	h.address = (char *)(uintptr_t) "10.0.0.1";
	u = hp_tlsm_url("https", &h, 2380, "");
	assert_string_equal(u, "https://10.0.0.1:2380");
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plaintext_member_stops_the_run),
		cmocka_unit_test(unhealthy_plain_member_is_still_plaintext),
		cmocka_unit_test(https_only_cluster_passes),
		cmocka_unit_test(nothing_listening_is_not_plaintext),
		cmocka_unit_test(non_etcd_json_is_not_plaintext),
		cmocka_unit_test(patroni_still_plain_is_plaintext),
		cmocka_unit_test(tls_off_asks_nothing),
		cmocka_unit_test(migrate_lets_the_caller_go_on),
		cmocka_unit_test(url_brackets_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
