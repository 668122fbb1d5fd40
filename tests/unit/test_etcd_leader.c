/*
 * etcd's leader off the host of Patroni's leader (phases/etcd_leader.c)
 * against the fake REST server: the decision (etcd's leader on Patroni's
 * leader's host: move; elsewhere, one etcd member, no Patroni leader:
 * nothing, in two REST calls at most), the target (the first other etcd
 * host in inventory order that is healthy, votes and agrees on the
 * leader), the strict parsing of etcd's uint64 member IDs, hostile status
 * answers (a clear error, never a crash or a guess), plan mode (asks, never
 * moves), and haprov status's warning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "engine.h"
#include "fake_rest.h"
#include "inv_abc.h"
#include "phases.h"
#include "status.h"

/* a: above INT64_MAX, as etcd's random member IDs often are */
#define ID_A "18446744073709551615"
#define ID_B "9223372036854775808"
#define ID_C "3"


static const char inv1[] =
	"cluster: {name: t}\n"
	"tls: false\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [patroni, haproxy]}\n"
	"patroni:\n"
	"  allowed_networks: [10.0.0.0/24]\n"
	"validation: {timeout_s: 1}\n";

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake_rest rest;
	struct hp_err err;
};

static struct fx *fx_new(const char *yaml, bool plan)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;

	memset(&o, 0, sizeof(o));
	o.plan = plan;
	if (hp_inventory_load_string(&x->inv, yaml, strlen(yaml), "/tmp/t.yml",
				     &x->diags) != 0)
		fail_msg("inventory refused:\n%s", yaml);
	hp_run_init(&x->run, x->inv, &o);
	hp_fake_rest_init(&x->rest);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &x->rest;
	hp_err_clear(&x->err);
	return x;
}

static void fx_free(struct fx *x)
{
	hp_run_release(&x->run);
	hp_fake_rest_release(&x->rest);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

static bool has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return true;
	return false;
}

/* GET /cluster on every member: `leader` leads (NULL: nobody). */
static void patroni_leader(struct fx *x, const char *leader)
{
	char *body = xasprintf(
		"{\"members\": [{\"name\": \"a\", \"role\": \"%s\"}, "
		"{\"name\": \"b\", \"role\": \"%s\"}, "
		"{\"name\": \"c\", \"role\": \"%s\"}]}",
		leader && !strcmp(leader, "a") ? "leader" : "replica",
		leader && !strcmp(leader, "b") ? "leader" : "replica",
		leader && !strcmp(leader, "c") ? "leader" : "replica");

	hp_fake_rest_expect(&x->rest, "GET", ":8008/cluster", 200, body, 0);
	free(body);
}

/* The status of the member at ip: its own id and the leader it knows,
 * times times (0: always). */
static void status(struct fx *x, const char *ip, const char *id,
		   const char *leader, int times)
{
	char *match = xasprintf("%s:2379/v3/maintenance/status", ip);
	char *body = xasprintf("{\"header\": {\"cluster_id\": \"1\", "
			       "\"member_id\": \"%s\", \"revision\": \"9\"}, "
			       "\"version\": \"3.4.23\", \"leader\": \"%s\", "
			       "\"raftTerm\": \"4\"}",
			       id, leader);

	hp_fake_rest_expect(&x->rest, "POST", match, 200, body, times);
	free(match);
	free(body);
}

static void healthy(struct fx *x)
{
	hp_fake_rest_expect(&x->rest, "GET", ":2379/health", 200,
			    "{\"health\": \"true\"}", 0);
}

/* The transfer, as etcd 3.4's gateway answers it */
static void transfer_ok(struct fx *x)
{
	hp_fake_rest_expect(&x->rest, "POST",
			    "/v3/maintenance/transfer-leadership", 200,
			    "{\"header\": {\"member_id\": \"" ID_A "\"}}", 0);
}

/* The step hp_etcd_leader_away recorded (the run's only one). */
static const struct hp_step_result *step(const struct fx *x)
{
	assert_int_equal(x->run.nr_results, 1);
	assert_string_equal(x->run.results[0].step, "etcd leader");
	assert_string_equal(x->run.results[0].phase, "etcd-leader");
	return &x->run.results[0];
}

static void test_same_host_moves(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	const struct hp_step_result *r;
	int i;

	(void)state;
	x->run.phase = "tuning";
	patroni_leader(x, "a");
	status(x, "10.0.0.1", ID_A, ID_A, 0);
	/* b: a leads until the transfer, then b */
	status(x, "10.0.0.2", ID_B, ID_A, 1);
	status(x, "10.0.0.2", ID_B, ID_B, 0);
	healthy(x);
	transfer_ok(x);
	assert_int_equal(hp_etcd_leader_away(&x->run, &x->err), 0);
	r = step(x);
	assert_int_equal(r->status, HP_STEP_CHANGED);
	assert_string_equal(r->host, "a");
	assert_string_equal(r->detail,
			    "etcd leader moved off a (the Patroni leader) to b");
	/* sent to the leader, the target's id as a decimal string */
	i = hp_fake_rest_find(&x->rest, "POST", "transfer-leadership", 0);
	assert_true(i >= 0);
	assert_non_null(strstr(x->rest.reqs[i].url, "10.0.0.1:2379"));
	assert_string_equal(x->rest.reqs[i].body,
			    "{\"targetID\":\"" ID_B "\"}");
	assert_int_equal(hp_fake_rest_count(&x->rest, NULL, "10.0.0.3"), 0);
	assert_int_equal(x->rest.nr_unexpected, 0);
	/* the caller's phase is back */
	assert_string_equal(x->run.phase, "tuning");
	fx_free(x);
}

/* The no-op: two REST calls, no more. */
static void test_other_host_nothing(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	const struct hp_step_result *r;

	(void)state;
	patroni_leader(x, "a");
	status(x, "10.0.0.1", ID_A, ID_C, 0);
	healthy(x);
	assert_int_equal(hp_etcd_leader_away(&x->run, &x->err), 0);
	r = step(x);
	assert_int_equal(r->status, HP_STEP_OK);
	assert_non_null(strstr(r->detail, "not on a"));
	assert_int_equal(x->rest.nr_reqs, 2);
	assert_int_equal(hp_fake_rest_count(&x->rest, NULL, "transfer"), 0);
	fx_free(x);
}

static void test_one_member_nothing(void **state)
{
	struct fx *x = fx_new(inv1, false);

	(void)state;
	assert_int_equal(hp_etcd_leader_away(&x->run, &x->err), 0);
	assert_int_equal(step(x)->status, HP_STEP_OK);
	assert_non_null(strstr(step(x)->detail, "fewer than two"));
	assert_int_equal(x->rest.nr_reqs, 0);
	fx_free(x);
}

static void test_no_patroni_leader_nothing(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	patroni_leader(x, NULL);
	assert_int_equal(hp_etcd_leader_away(&x->run, &x->err), 0);
	assert_int_equal(step(x)->status, HP_STEP_OK);
	assert_string_equal(step(x)->detail, "no Patroni leader");
	assert_int_equal(hp_fake_rest_count(&x->rest, NULL, ":2379"), 0);
	fx_free(x);
}

/* b cannot lead (each reason in turn): c is the target. */
static void test_target_choice(void **state)
{
	static const struct {
		const char *health; /* b's GET /health body; NULL: refused */
		const char *status; /* b's status body */
		const char *why;
	} b[] = {
		{ NULL, "{}", "Connection refused" },
		{ "{\"health\": \"false\"}", "{}", "not healthy" },
		{ "{\"health\": \"true\"}",
		  "{\"header\": {\"member_id\": \"" ID_B "\"}, \"leader\": \"" ID_A
		  "\", \"isLearner\": true}",
		  "is a learner" },
		{ "{\"health\": \"true\"}",
		  "{\"header\": {\"member_id\": \"" ID_B "\"}, \"leader\": \"" ID_C
		  "\"}",
		  "knows another leader" },
		{ "{\"health\": \"true\"}", "{\"leader\": \"" ID_A "\"}",
		  "gives no member id" },
	};
	size_t k;

	(void)state;
	for (k = 0; k < HP_ARRAY_SIZE(b); k++) {
		struct fx *x = fx_new(inv_abc, false);

		patroni_leader(x, "a");
		status(x, "10.0.0.1", ID_A, ID_A, 0);
		if (b[k].health)
			hp_fake_rest_expect(&x->rest, "GET",
					    "10.0.0.2:2379/health", 200,
					    b[k].health, 0);
		else
			hp_fake_rest_fail(&x->rest, "GET",
					  "10.0.0.2:2379/health", HP_ECONNECT,
					  0);
		hp_fake_rest_expect(&x->rest, "POST", "10.0.0.2:2379/v3/", 200,
				    b[k].status, 0);
		status(x, "10.0.0.3", ID_C, ID_A, 1);
		status(x, "10.0.0.3", ID_C, ID_C, 0);
		healthy(x);
		transfer_ok(x);
		if (hp_etcd_leader_away(&x->run, &x->err) != 0)
			fail_msg("case %zu: %s", k, x->err.msg);
		assert_string_equal(
			step(x)->detail,
			"etcd leader moved off a (the Patroni leader) to c");
		assert_int_equal(hp_fake_rest_count(&x->rest, "POST",
						    "transfer"),
				 1);
		fx_free(x);
	}
	/* nobody can: a clear error naming why, and no transfer */
	{
		struct fx *x = fx_new(inv_abc, false);

		patroni_leader(x, "a");
		status(x, "10.0.0.1", ID_A, ID_A, 0);
		hp_fake_rest_fail(&x->rest, "GET", "10.0.0.2:2379/health",
				  HP_ECONNECT, 0);
		hp_fake_rest_expect(&x->rest, "GET", "10.0.0.3:2379/health",
				    503, "{\"health\": \"false\"}", 0);
		assert_int_equal(hp_etcd_leader_away(&x->run, &x->err),
				 HP_EVERIFY);
		assert_non_null(strstr(x->err.msg, "no other etcd member can "
						   "take over (b: "));
		assert_non_null(strstr(x->err.msg, "; c: HTTP 503"));
		assert_int_equal(step(x)->status, HP_STEP_FAILED);
		assert_int_equal(hp_fake_rest_count(&x->rest, NULL,
						    "transfer"),
				 0);
		fx_free(x);
	}
}

/* Plan mode asks (reads) but never moves. */
static void test_plan_does_not_move(void **state)
{
	struct fx *x = fx_new(inv_abc, true);
	const struct hp_step_result *r;

	(void)state;
	patroni_leader(x, "a");
	status(x, "10.0.0.1", ID_A, ID_A, 0);
	status(x, "10.0.0.2", ID_B, ID_A, 0);
	healthy(x);
	transfer_ok(x);
	assert_int_equal(hp_etcd_leader_away(&x->run, &x->err), 0);
	r = step(x);
	assert_int_equal(r->status, HP_STEP_CHANGED);
	assert_string_equal(r->detail, "etcd leader to move off a (the "
				       "Patroni leader) to b");
	assert_int_equal(hp_fake_rest_count(&x->rest, NULL, "transfer"), 0);
	fx_free(x);
}

static void test_transfer_refused(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	patroni_leader(x, "a");
	status(x, "10.0.0.1", ID_A, ID_A, 0);
	status(x, "10.0.0.2", ID_B, ID_A, 0);
	healthy(x);
	hp_fake_rest_expect(&x->rest, "POST", "transfer-leadership", 500,
			    "{\"error\": \"etcdserver: bad leader "
			    "transferee\\u001b[2J\", \"code\": 9}",
			    0);
	assert_int_equal(hp_etcd_leader_away(&x->run, &x->err), HP_EREMOTE);
	assert_non_null(strstr(x->err.msg, "etcd member a refused to hand its "
					   "leadership to b (HTTP 500: "));
	assert_false(has_ctrl(x->err.msg));
	assert_int_equal(step(x)->status, HP_STEP_FAILED);
	fx_free(x);
}

/* The transfer is accepted but the leader never moves: an error once
 * validation.timeout_s (1 s here) has passed. */
static void test_transfer_never_lands(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	int64_t t = hp_now_ms();

	(void)state;
	patroni_leader(x, "a");
	status(x, "10.0.0.1", ID_A, ID_A, 0);
	status(x, "10.0.0.2", ID_B, ID_A, 0);
	healthy(x);
	transfer_ok(x);
	assert_int_equal(hp_etcd_leader_away(&x->run, &x->err), HP_ETIMEOUT);
	assert_non_null(strstr(x->err.msg, "etcd's leader did not move to b "
					   "within 1 s"));
	assert_true(hp_now_ms() - t < 3000);
	assert_int_equal(step(x)->status, HP_STEP_FAILED);
	fx_free(x);
}

static bool id_of(const char *json, uint64_t *out)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	bool ok;

	assert_non_null(v);
	ok = hp_etcd_id_parse(v, out);
	json_decref(v);
	return ok;
}

static void test_id_parse(void **state)
{
	static const char *const bad[] = {
		"18446744073709551616",  /* UINT64_MAX + 1 */
		"\"18446744073709551616\"",
		"\"99999999999999999999\"",  /* 20 digits, too big */
		"\"000000000000000000001\"", /* 21 characters */
		"\"-1\"",
		"\"+1\"",
		"\" 1\"",
		"\"1 \"",
		"\"1a\"",
		"\"0x10\"",
		"\"1e3\"",
		"\"\"",
		"\"1\\u00002\"",
		"17",
		"-17",
		"1.0",
		"null",
		"true",
		"[\"17\"]",
		"{\"id\": \"17\"}",
	};
	uint64_t v = 42;
	size_t i;

	(void)state;
	assert_true(id_of("\"18446744073709551615\"", &v));
	assert_true(v == UINT64_MAX);
	assert_true(id_of("\"9223372036854775808\"", &v));
	assert_true(v == (uint64_t)INT64_MAX + 1);
	assert_true(id_of("\"00000000000000000017\"", &v));
	assert_true(v == 17);
	assert_true(id_of("\"0\"", &v));
	assert_true(v == 0);
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);

		v = 42;
		/* a number above INT64_MAX is not even JSON to jansson */
		if (j && hp_etcd_id_parse(j, &v))
			fail_msg("accepted %s", bad[i]);
		assert_true(v == 42);
		json_decref(j);
	}
	assert_false(hp_etcd_id_parse(NULL, &v));
}

/* A status answer as the fake sends it, judged. */
static int judge(const char *body, long http, struct hp_etcd_status *st,
		 struct hp_err *err)
{
	struct hp_rest_resp resp;
	int r;

	hp_rest_resp_init(&resp);
	resp.status = http;
	hp_buf_adds(&resp.body, body);
	resp.json = json_loadb(body, strlen(body), JSON_DECODE_ANY, NULL);
	r = hp_etcd_status_judge(&resp, "a", st, err);
	hp_rest_resp_release(&resp);
	return r;
}

static void test_status_hostile(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"leader\": 17}",
		"{\"leader\": 18446744073709551615}",
		"{\"leader\": \"0\"}",
		"{\"leader\": \"-3\"}",
		"{\"leader\": [\"3\"]}",
		"{\"leader\": \"3\\u001b[2J\"}",
		"{\"leader\": \"3\", \"header\": {\"member_id\": 3}}",
		"{\"leader\": \"3\", \"header\": {\"member_id\": \"x\"}}",
		"{\"leader\": \"3\", \"header\": {\"member_id\": \"0\"}}",
		"{\"leader\": \"3\", \"isLearner\": \"no\"}",
		"[\"leader\", \"3\"]",
		"<html>\r\n\x1b[31mbusy</html>",
		"",
	};
	struct hp_etcd_status st;
	struct hp_err err;
	size_t i;

	(void)state;
	assert_int_equal(judge("{\"header\": {\"member_id\": \"" ID_A "\"}, "
			       "\"leader\": \"" ID_B "\", \"isLearner\": "
			       "false}",
			       200, &st, &err),
			 0);
	assert_true(st.id == UINT64_MAX);
	assert_true(st.leader == (uint64_t)INT64_MAX + 1);
	assert_false(st.learner);
	/* another HTTP status: not an answer, whatever the body */
	assert_int_equal(judge("{\"leader\": \"3\"}", 503, &st, &err),
			 HP_EVERIFY);
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		hp_err_clear(&err);
		if (judge(bad[i], 200, &st, &err) != HP_EVERIFY)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(strstr(err.msg, "etcd member a "));
		assert_false(has_ctrl(err.msg));
	}
}

/* A hostile answer where the run asks: a failed step with a printable
 * message, nothing moved. */
static void test_hostile_in_the_run(void **state)
{
	static const char *const bad[] = {
		"{\"leader\": 18446744073709551615, \"header\": "
		"{\"member_id\": 18446744073709551615}}",
		"{\"leader\": \"" ID_A "\"}",
		"{\"leader\": \"" ID_A "\", \"header\": \"\\u001b]0;x\\u0007\"}",
		"{\"leader\": \"" ID_A "\", \"header\": {\"member_id\": "
		"\"18446744073709551616\"}}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		struct fx *x = fx_new(inv_abc, false);

		patroni_leader(x, "a");
		hp_fake_rest_expect(&x->rest, "POST", "10.0.0.1:2379/v3/", 200,
				    bad[i], 0);
		assert_int_equal(hp_etcd_leader_away(&x->run, &x->err),
				 HP_EVERIFY);
		assert_false(has_ctrl(x->err.msg));
		assert_int_equal(step(x)->status, HP_STEP_FAILED);
		assert_int_equal(hp_fake_rest_count(&x->rest, NULL,
						    "transfer"),
				 0);
		fx_free(x);
	}
	/* Patroni's leader outside the inventory: its error, not a guess */
	{
		struct fx *x = fx_new(inv_abc, false);

		hp_fake_rest_expect(&x->rest, "GET", ":8008/cluster", 200,
				    "{\"members\": [{\"name\": \"zz\", "
				    "\"role\": \"leader\"}]}",
				    0);
		assert_int_equal(hp_etcd_leader_away(&x->run, &x->err),
				 HP_EVERIFY);
		assert_int_equal(hp_fake_rest_count(&x->rest, NULL, ":2379"),
				 0);
		fx_free(x);
	}
}

/* ---- haprov status's warning ----------------------------------------------- */

static char *status_text(const char *etcd_a, const char *etcd_b,
			 const char *pleader)
{
	struct fx *x = fx_new(inv_abc, false);
	struct hp_rest rest;
	struct hp_buf b = HP_BUF_INIT;
	bool healthy_ = true;
	json_t *doc;

	healthy(x);
	hp_fake_rest_expect(&x->rest, "POST", "10.0.0.1:2379/v3/", 200, etcd_a,
			    0);
	hp_fake_rest_expect(&x->rest, "POST", "10.0.0.2:2379/v3/", 200, etcd_b,
			    0);
	status(x, "10.0.0.3", ID_C, ID_A, 0);
	patroni_leader(x, pleader);
	assert_int_equal(hp_rest_init(&rest, 1000, &x->err), 0);
	hp_rest_set_ops(&rest, &hp_fake_rest_ops, &x->rest);
	doc = hp_status_collect(x->inv, &rest, NULL, "no password", &healthy_);
	hp_status_format(&b, doc);
	json_decref(doc);
	hp_rest_release(&rest);
	fx_free(x);
	return hp_buf_detach(&b, NULL);
}

static void test_status_warning(void **state)
{
	static const char a_leads[] =
		"{\"header\": {\"member_id\": \"" ID_A "\"}, \"leader\": \"" ID_A
		"\"}";
	static const char b_knows_a[] =
		"{\"header\": {\"member_id\": \"" ID_B "\"}, \"leader\": \"" ID_A
		"\"}";
	char *t;

	(void)state;
	t = status_text(a_leads, b_knows_a, "a");
	assert_non_null(strstr(t, "\nwarning: etcd's leader a is also "
				  "Patroni's leader: a crash of a costs an "
				  "etcd election on top of the failover; "
				  "`haprov apply` moves it\n"));
	free(t);
	/* Patroni's leader elsewhere; no Patroni leader */
	t = status_text(a_leads, b_knows_a, "b");
	assert_null(strstr(t, "warning"));
	free(t);
	t = status_text(a_leads, b_knows_a, NULL);
	assert_null(strstr(t, "warning"));
	free(t);
	/* an ID as a number, one that is not an ID: nobody leads, no
	 * warning and no crash */
	t = status_text("{\"header\": {\"member_id\": 1}, \"leader\": 1}",
			b_knows_a, "a");
	assert_null(strstr(t, "warning"));
	free(t);
	t = status_text("{\"header\": {\"member_id\": \"1x\"}, \"leader\": "
			"\"1x\"}",
			b_knows_a, "a");
	assert_null(strstr(t, "warning"));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_host_moves),
		cmocka_unit_test(test_other_host_nothing),
		cmocka_unit_test(test_one_member_nothing),
		cmocka_unit_test(test_no_patroni_leader_nothing),
		cmocka_unit_test(test_target_choice),
		cmocka_unit_test(test_plan_does_not_move),
		cmocka_unit_test(test_transfer_refused),
		cmocka_unit_test(test_transfer_never_lands),
		cmocka_unit_test(test_id_parse),
		cmocka_unit_test(test_status_hostile),
		cmocka_unit_test(test_hostile_in_the_run),
		cmocka_unit_test(test_status_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
