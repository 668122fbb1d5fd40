/*
 * Issue 9's TLS checks (phases/tls_verify.c): the pure judgements of each
 * probe (refused, accepted, 403 for a write without a certificate, plain
 * http, the stats page, pg_stat_replication's answer), and the etcd,
 * Patroni and HAProxy probes end to end against a fake server that answers
 * by the identity the client presents (its struct hp_rest_tls).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "inventory.h"
#include "phases.h"

static const char who[] = "etcd on pg2 (10.213.0.12:2379)";

static void resp_status(struct hp_rest_resp *r, long st)
{
	hp_rest_resp_init(r);
	r->status = st;
}

static void assert_msg(const struct hp_err *err, const char *part)
{
	if (!strstr(err->msg, part))
		fail_msg("'%s' not in '%s'", part, err->msg);
}

static void test_refused(void **state)
{
	struct hp_rest_resp resp;
	struct hp_err cerr, err;

	(void)state;
	resp_status(&resp, 0);
	hp_err_set(&cerr, HP_ETLS, "handshake failed");
	assert_true(hp_tls_refused(HP_ETLS));
	assert_true(hp_tls_refused(HP_ECONNECT));
	assert_false(hp_tls_refused(0));
	assert_false(hp_tls_refused(HP_ETIMEOUT));
	assert_false(hp_tls_refused(HP_EINVALID));
	assert_int_equal(hp_tls_judge_refused(who, "x", HP_ETLS, &resp, &cerr,
					      &err),
			 0);
	assert_int_equal(hp_tls_judge_refused(who, "x", HP_ECONNECT, &resp,
					      &cerr, &err),
			 0);
	/* an HTTP answer: the handshake went through, whatever the status */
	resp.status = 200;
	assert_int_equal(hp_tls_judge_refused(
				 who, "a client certificate from another CA",
				 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_string_equal(err.msg,
			    "etcd on pg2 (10.213.0.12:2379) accepted a client "
			    "certificate from another CA (HTTP 200)");
	resp.status = 401;
	assert_int_equal(hp_tls_judge_refused(who, "x", 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	/* silence is not a refusal */
	hp_err_set(&cerr, HP_ETIMEOUT, "timed out after 3000 ms");
	assert_int_equal(hp_tls_judge_refused(who, "a client without a "
						   "certificate",
					      HP_ETIMEOUT, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_msg(&err, "did not answer a client without a certificate");
	assert_msg(&err, "pg2 (10.213.0.12:2379)");
	assert_int_equal(hp_tls_judge_refused(who, "x", HP_EINVALID, &resp,
					      &cerr, &err),
			 HP_EVERIFY);
}

static void test_accepted(void **state)
{
	struct hp_rest_resp resp;
	struct hp_err cerr, err;

	(void)state;
	resp_status(&resp, 200);
	hp_err_clear(&cerr);
	assert_int_equal(hp_tls_judge_accepted(who, "haprov's", 0, &resp,
					       &cerr, &err),
			 0);
	resp.status = 401;
	assert_int_equal(hp_tls_judge_accepted(who, "haprov's", 0, &resp,
					       &cerr, &err),
			 HP_EVERIFY);
	assert_msg(&err, "HTTP 401");
	hp_err_set(&cerr, HP_ETLS, "bad certificate");
	assert_int_equal(hp_tls_judge_accepted(who, "haprov's certificate",
					       HP_ETLS, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_msg(&err, "refused haprov's certificate: bad certificate");
}

static void test_cert_required(void **state)
{
	static const char pw[] = "patroni REST API on pg1 (10.0.0.1:8008)";
	struct hp_rest_resp resp;
	struct hp_err cerr, err;

	(void)state;
	resp_status(&resp, 403);
	hp_err_set(&cerr, HP_ETLS, "alert certificate required");
	assert_int_equal(hp_tls_judge_cert_required(pw, 0, &resp, &cerr, &err),
			 0);
	assert_int_equal(hp_tls_judge_cert_required(pw, HP_ETLS, &resp, &cerr,
						    &err),
			 0);
	assert_int_equal(hp_tls_judge_cert_required(pw, HP_ECONNECT, &resp,
						    &cerr, &err),
			 0);
	resp.status = 200;
	assert_int_equal(hp_tls_judge_cert_required(pw, 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_string_equal(err.msg, "patroni REST API on pg1 "
				     "(10.0.0.1:8008) accepted a write without "
				     "a client certificate (HTTP 200)");
	resp.status = 204;
	assert_int_equal(hp_tls_judge_cert_required(pw, 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	/* the password checked first: the certificate is not required */
	resp.status = 401;
	assert_int_equal(hp_tls_judge_cert_required(pw, 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_msg(&err, "verify_client is off");
	resp.status = 500;
	assert_int_equal(hp_tls_judge_cert_required(pw, 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_msg(&err, "HTTP 500, not 403");
	assert_int_equal(hp_tls_judge_cert_required(pw, HP_ETIMEOUT, &resp,
						    &cerr, &err),
			 HP_EVERIFY);
}

static void test_plain(void **state)
{
	static const char pw[] = "patroni REST API on pg1 (10.0.0.1:8008)";
	struct hp_rest_resp resp;
	struct hp_err cerr, err;

	(void)state;
	resp_status(&resp, 0);
	hp_err_set(&cerr, HP_ECONNECT, "Empty reply from server");
	assert_int_equal(hp_tls_judge_plain(pw, HP_ECONNECT, &resp, &cerr,
					    &err),
			 0);
	resp.status = 400;
	assert_int_equal(hp_tls_judge_plain(pw, 0, &resp, &cerr, &err), 0);
	resp.status = 200;
	assert_int_equal(hp_tls_judge_plain(pw, 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_msg(&err, "pg1 (10.0.0.1:8008) answered a plain-HTTP request");
	assert_int_equal(hp_tls_judge_plain(pw, HP_ETIMEOUT, &resp, &cerr,
					    &err),
			 HP_EVERIFY);
}

static void test_stats(void **state)
{
	static const char st[] = "haproxy stats page on pg1 (10.0.0.1:7000)";
	struct hp_rest_resp resp;
	struct hp_err cerr, err;

	(void)state;
	resp_status(&resp, 401);
	hp_err_set(&cerr, HP_ECONNECT, "refused");
	assert_int_equal(hp_tls_judge_stats(st, 0, &resp, &cerr, &err), 0);
	resp.status = 200;
	assert_int_equal(hp_tls_judge_stats(st, 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_msg(&err, "without its password (HTTP 200)");
	resp.status = 403;
	assert_int_equal(hp_tls_judge_stats(st, 0, &resp, &cerr, &err),
			 HP_EVERIFY);
	assert_int_equal(hp_tls_judge_stats(st, HP_ECONNECT, &resp, &cerr,
					    &err),
			 HP_EVERIFY);
	assert_msg(&err, "did not answer over https");
}

static void test_replication(void **state)
{
	struct hp_err err;
	bool sh = true;

	(void)state;
	assert_int_equal(hp_tls_judge_replication("pg2|t\npg3|t\n", "pg1", 2,
						  &sh, &err),
			 0);
	assert_false(sh);
	assert_int_equal(hp_tls_judge_replication("pg2|t\r\npg3|t", "pg1", 2,
						  &sh, &err),
			 0);
	assert_int_equal(hp_tls_judge_replication("pg2|t\npg3|f\n", "pg1", 2,
						  &sh, &err),
			 HP_EVERIFY);
	assert_false(sh);
	assert_string_equal(err.msg, "replication connection 'pg3' on leader "
				     "pg1 is not on TLS (pg_stat_ssl.ssl = f)");
	/* a row short: worth asking again */
	assert_int_equal(hp_tls_judge_replication("pg2|t\n", "pg1", 2, &sh,
						  &err),
			 HP_EVERIFY);
	assert_true(sh);
	assert_msg(&err, "1 replication connections, 2 replicas expected");
	assert_int_equal(hp_tls_judge_replication("", "pg1", 0, &sh, &err), 0);
	assert_int_equal(hp_tls_judge_replication(NULL, "pg1", 1, &sh, &err),
			 HP_EVERIFY);
	assert_true(sh);
	/* a name with the separator in it: split at the last one */
	assert_int_equal(hp_tls_judge_replication("a|b|t\n", "pg1", 1, &sh,
						  &err),
			 0);
	/* anything else is refused, quoted printable */
	assert_int_equal(hp_tls_judge_replication("pg2|true\n", "pg1", 1, &sh,
						  &err),
			 HP_EVERIFY);
	assert_false(sh);
	assert_msg(&err, "unexpected line 'pg2|true'");
	assert_int_equal(hp_tls_judge_replication("garbage\n", "pg1", 0, &sh,
						  &err),
			 HP_EVERIFY);
	assert_int_equal(hp_tls_judge_replication("\x1b[31mx|f\n", "pg1", 0,
						  &sh, &err),
			 HP_EVERIFY);
	assert_null(strchr(err.msg, '\x1b'));
	assert_int_equal(hp_tls_judge_replication("x|t\n|f\n", "pg1", 0, &sh,
						  &err),
			 HP_EVERIFY);
}

static void test_noop_patch(void **state)
{
	json_t *c, *p;
	char *s;

	(void)state;
	c = json_loads("{\"loop_wait\": 7, \"ttl\": 30}", 0, NULL);
	p = hp_tls_noop_patch(c);
	assert_non_null(p);
	s = json_dumps(p, JSON_COMPACT);
	assert_string_equal(s, "{\"loop_wait\":7}");
	free(s);
	json_decref(p);
	json_decref(c);
	c = json_loads("{\"loop_wait\": 0}", 0, NULL);
	assert_null(hp_tls_noop_patch(c));
	json_decref(c);
	c = json_loads("{\"loop_wait\": \"10\"}", 0, NULL);
	assert_null(hp_tls_noop_patch(c));
	json_decref(c);
	c = json_loads("{\"loop_wait\": 86401}", 0, NULL);
	assert_null(hp_tls_noop_patch(c));
	json_decref(c);
	c = json_loads("[10]", 0, NULL);
	assert_null(hp_tls_noop_patch(c));
	json_decref(c);
	assert_null(hp_tls_noop_patch(NULL));
}

/* ---- the probes end to end: a fake server judging identities ---------- */

enum ident { ID_NONE, ID_CA_ONLY, ID_OWN, ID_OTHER };

struct srv {
	const struct hp_rest_tls *own;
	/* planted server bugs */
	bool etcd_open;	     /* etcd answers a client without a cert */
	bool etcd_any_ca;    /* etcd answers another CA's cert */
	bool etcd_timeout;   /* etcd is silent to a client without one */
	bool patroni_pw;     /* a write needs only the password */
	bool patroni_plain;  /* plain http served */
	bool stats_open;     /* stats page without password */
	/* what the probes sent; counted from the checks' threads at once
	 * (hp_checks_run), so atomically */
	_Atomic int nr_calls;
	_Atomic int other_pem; /* the other CA's client came with PEM cert
				  and key */
	int patch_ident, patch_had_pw, plain_had_pw;
	char patch_body[64];
};

static enum ident ident_of(const struct srv *s, const struct hp_rest *r)
{
	if (!r->tls)
		return ID_NONE;
	if (r->tls == s->own || (r->tls->cert_pem &&
				 !strcmp(r->tls->cert_pem, s->own->cert_pem)))
		return ID_OWN;
	return r->tls->cert_pem ? ID_OTHER : ID_CA_ONLY;
}

static int answer(struct hp_rest_resp *resp, long st, const char *body)
{
	resp->status = st;
	if (body)
		hp_buf_adds(&resp->body, body);
	return 0;
}

static int srv_etcd(struct srv *s, enum ident id, const struct hp_rest *r,
		    struct hp_rest_resp *resp, struct hp_err *err)
{
	if (id == ID_OTHER &&
	    !strncmp(r->tls->cert_pem, "-----BEGIN CERTIFICATE-----\n", 28) &&
	    !strncmp(r->tls->key_pem, "-----BEGIN PRIVATE KEY-----\n", 28) &&
	    !strcmp(r->tls->ca_pem, s->own->ca_pem))
		s->other_pem++;
	if (id == ID_OWN || (id == ID_CA_ONLY && s->etcd_open) ||
	    (id == ID_OTHER && s->etcd_any_ca))
		return answer(resp, 200, "{\"leader\": \"1\"}");
	if (id == ID_CA_ONLY && s->etcd_timeout)
		return hp_err_set(err, HP_ETIMEOUT, "timed out");
	return hp_err_set(err, HP_ETLS, "alert certificate required");
}

static int srv_patroni(struct srv *s, enum ident id, const struct hp_rest *r,
		       const char *method, const char *url,
		       const json_t *body, struct hp_rest_resp *resp,
		       struct hp_err *err)
{
	if (!strncmp(url, "http://", 7)) {
		s->plain_had_pw = r->password != NULL;
		if (s->patroni_plain)
			return answer(resp, 200, "{}");
		return hp_err_set(err, HP_ECONNECT, "Empty reply from server");
	}
	if (!strcmp(method, "GET"))
		return answer(resp, 200, "{\"loop_wait\": 10, \"ttl\": 30}");
	s->patch_ident = (int)id;
	s->patch_had_pw = r->password != NULL;
	if (body) {
		char *b = json_dumps(body, JSON_COMPACT);

		snprintf(s->patch_body, sizeof(s->patch_body), "%s", b);
		free(b);
	}
	if (id == ID_OWN || s->patroni_pw)
		return answer(resp, r->password ? 200 : 401, "");
	return answer(resp, 403, "client certificate required");
}

static int srv_call(void *ctx, const struct hp_rest *r, const char *method,
		    const char *url, const json_t *body,
		    struct hp_rest_resp *resp, struct hp_err *err)
{
	struct srv *s = ctx;
	enum ident id = ident_of(s, r);

	s->nr_calls++;
	if (strstr(url, ":2379/"))
		return srv_etcd(s, id, r, resp, err);
	if (strstr(url, ":8008/"))
		return srv_patroni(s, id, r, method, url, body, resp, err);
	if (strstr(url, ":7000/stats"))
		return answer(resp, r->password || s->stats_open ? 200 : 401,
			      "");
	return hp_err_set(err, HP_ECONNECT, "Connection refused");
}

static const struct hp_rest_ops srv_ops = { srv_call };

static const char inv_yaml[] =
	"cluster: {name: t}\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"validation: {timeout_s: 1, soak_s: 0}\n"
	"hosts:\n"
	"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: pg2, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n";

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_rest_tls own;
	struct srv srv;
	struct hp_err err;
};

static struct fx *fx_new(void)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;

	memset(&o, 0, sizeof(o));
	assert_int_equal(hp_inventory_load_string(&x->inv, inv_yaml,
						  sizeof(inv_yaml) - 1,
						  "/tmp/t.yml", &x->diags),
			 0);
	x->inv->tls.enabled = true;
	x->inv->etcd.client_port = 2379;
	x->inv->patroni.restapi_port = 8008;
	x->inv->haproxy.stats_port = 7000;
	hp_run_init(&x->run, x->inv, &o);
	x->own.ca_pem = "CA PEM";
	x->own.cert_pem = "HAPROV CERT PEM";
	x->own.key_pem = "HAPROV KEY PEM";
	x->srv.own = &x->own;
	x->srv.patch_ident = -1;
	x->run.rest_tls = &x->own;
	x->run.rest_ops = &srv_ops;
	x->run.rest_ctx = &x->srv;
	x->run.restapi_user = xstrdup("patroni");
	x->run.restapi_password = xstrdup("pw");
	hp_err_clear(&x->err);
	return x;
}

static void fx_free(struct fx *x)
{
	free(x->run.restapi_user);
	free(x->run.restapi_password);
	x->run.restapi_user = x->run.restapi_password = NULL;
	x->run.rest_tls = NULL;
	hp_run_release(&x->run);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

/* A channel's checks through hp_checks_run, as a phase's verify runs
 * them (under the REST seam: one after the other). */
static int run_checks(size_t (*provide)(const struct hp_run *,
					struct hp_check *),
		      struct fx *x)
{
	struct hp_check c[2];
	size_t n = provide(&x->run, c);

	return n ? hp_checks_run(&x->run, c, n, &x->err) : 0;
}

static void test_etcd_probes(void **state)
{
	struct fx *x = fx_new();

	(void)state;
	assert_int_equal(run_checks(hp_tls_etcd_checks, x), 0);
	/* three identities at each of the two members; the other CA's
	 * client is a real certificate and key, trusting the cluster CA */
	assert_int_equal(x->srv.nr_calls, 6);
	assert_int_equal(x->srv.other_pem, 2);
	fx_free(x);

	x = fx_new();
	x->srv.etcd_open = true;
	assert_int_equal(run_checks(hp_tls_etcd_checks, x), HP_EVERIFY);
	assert_string_equal(x->err.msg,
			    "etcd on pg1 (10.0.0.1:2379) accepted a client "
			    "without a certificate (HTTP 200)");
	fx_free(x);

	x = fx_new();
	x->srv.etcd_any_ca = true;
	assert_int_equal(run_checks(hp_tls_etcd_checks, x), HP_EVERIFY);
	assert_string_equal(x->err.msg,
			    "etcd on pg1 (10.0.0.1:2379) accepted a client "
			    "certificate from another CA (HTTP 200)");
	fx_free(x);

	x = fx_new();
	x->srv.etcd_timeout = true;
	assert_int_equal(run_checks(hp_tls_etcd_checks, x), HP_EVERIFY);
	assert_msg(&x->err, "silence proves nothing");
	fx_free(x);
}

static void test_patroni_probes(void **state)
{
	struct fx *x = fx_new();

	(void)state;
	assert_int_equal(run_checks(hp_tls_patroni_checks, x), 0);
	/* the write: no certificate, the password, and a no-op */
	assert_int_equal(x->srv.patch_ident, ID_CA_ONLY);
	assert_true(x->srv.patch_had_pw);
	assert_string_equal(x->srv.patch_body, "{\"loop_wait\":10}");
	/* plain http never carries the password */
	assert_false(x->srv.plain_had_pw);
	assert_int_equal(x->srv.nr_calls, 6);
	fx_free(x);

	x = fx_new();
	x->srv.patroni_pw = true;
	assert_int_equal(run_checks(hp_tls_patroni_checks, x), HP_EVERIFY);
	assert_string_equal(x->err.msg,
			    "patroni REST API on pg1 (10.0.0.1:8008) accepted "
			    "a write without a client certificate (HTTP 200)");
	fx_free(x);

	x = fx_new();
	x->srv.patroni_plain = true;
	assert_int_equal(run_checks(hp_tls_patroni_checks, x), HP_EVERIFY);
	assert_msg(&x->err, "(10.0.0.1:8008) answered a plain-HTTP request");
	fx_free(x);
}

static void test_haproxy_probe(void **state)
{
	struct fx *x = fx_new();

	(void)state;
	assert_int_equal(run_checks(hp_tls_haproxy_checks, x), 0);
	assert_int_equal(x->srv.nr_calls, 2);
	fx_free(x);

	x = fx_new();
	x->srv.stats_open = true;
	assert_int_equal(run_checks(hp_tls_haproxy_checks, x), HP_EVERIFY);
	assert_msg(&x->err, "haproxy stats page on pg1 (10.0.0.1:7000) "
			    "served the stats page without its password");
	fx_free(x);
}

/* tls off, or no TLS material: nothing is tried */
static void test_off(void **state)
{
	struct fx *x = fx_new();

	(void)state;
	x->inv->tls.enabled = false;
	assert_int_equal(run_checks(hp_tls_etcd_checks, x), 0);
	assert_int_equal(run_checks(hp_tls_patroni_checks, x), 0);
	assert_int_equal(run_checks(hp_tls_haproxy_checks, x), 0);
	assert_int_equal(run_checks(hp_tls_postgres_checks, x), 0);
	x->inv->tls.enabled = true;
	x->run.rest_tls = NULL;
	assert_int_equal(run_checks(hp_tls_etcd_checks, x), 0);
	assert_int_equal(run_checks(hp_tls_postgres_checks, x), 0);
	assert_int_equal(x->srv.nr_calls, 0);
	assert_int_equal(x->run.nr_results, 0);
	fx_free(x);
}

/* The checks run as hp_checks_run entries: each recorded under its step,
 * the failure's message with it. */
static void test_checks_recorded(void **state)
{
	struct fx *x = fx_new();

	(void)state;
	x->srv.stats_open = true;
	assert_int_equal(run_checks(hp_tls_haproxy_checks, x), HP_EVERIFY);
	assert_int_equal(x->run.nr_results, 1);
	assert_int_equal(x->run.results[0].status, HP_STEP_FAILED);
	assert_string_equal(x->run.results[0].step,
			    "verify haproxy: stats page on https needs its "
			    "password");
	assert_non_null(strstr(x->run.results[0].detail,
			       "without its password"));
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_cert_required),
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_replication),
		cmocka_unit_test(test_noop_patch),
		cmocka_unit_test(test_etcd_probes),
		cmocka_unit_test(test_patroni_probes),
		cmocka_unit_test(test_checks_recorded),
		cmocka_unit_test(test_haproxy_probe),
		cmocka_unit_test(test_off),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
