/*
 * The TLS migration's decisions (phases/tls_migrate_*.c): the next stage
 * from the hosts' facts (so a second apply resumes), the quorum rule and
 * its refusal before any restart, the pause rule (PATCH only when not
 * paused; an operator's pause is left), the intermediate etcd.env and
 * haproxy.cfg forms, the stability judgement of GET /cluster, and the
 * member list's IDs and peer URL schemes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_rest.h"
#include "phases.h"
#include "tls_migrate.h"
/* its inventory's text only: the fixture here is this file's own */
#define HP_ENGINE_FIXTURE_INV_ONLY
#include "engine_fixture.h"

/* ---- the next stage --------------------------------------------------- */

static enum hp_tlsm_stage next_of(const char *etcd, const char *rest,
				  bool paused)
{
	/* etcd: per member "h" http, "s" https, "p" https peers, "-" */
	struct hp_tlsm_etcd_fact e[3];
	bool r[3];
	struct hp_tlsm_facts f = {e, 3, r, 3, paused};
	size_t i;

	memset(e, 0, sizeof(e));
	for (i = 0; i < 3; i++) {
		const char *m = etcd + i * 4;

		e[i].http = m[0] == 'h';
		e[i].https = m[1] == 's';
		e[i].peer_https = m[2] == 'p';
		r[i] = rest[i] == 's';
	}
	return hp_tlsm_next(&f);
}

static void next_stage_from_facts(void **state)
{
	(void)state;
	/* plaintext */
	assert_int_equal(next_of("h-- h-- h-- ", "hhh", false), HP_TLSM_CERTS);
	/* peers half moved: again from the certificates (unchanged) */
	assert_int_equal(next_of("h-p h-- h-p ", "hhh", false), HP_TLSM_CERTS);
	/* peers all https, clients http: the pause, or on if paused */
	assert_int_equal(next_of("h-p h-p h-p ", "hhh", false), HP_TLSM_PAUSE);
	assert_int_equal(next_of("h-p h-p h-p ", "hhh", true),
			 HP_TLSM_ETCD_CLIENTS);
	/* clients half moved: one member still http */
	assert_int_equal(next_of("-sp h-p -sp ", "hhh", true),
			 HP_TLSM_ETCD_CLIENTS);
	/* etcd https only, Patroni on http or half restarted */
	assert_int_equal(next_of("-sp -sp -sp ", "hhh", true), HP_TLSM_PATRONI);
	assert_int_equal(next_of("-sp -sp -sp ", "shs", false),
			 HP_TLSM_PATRONI);
	/* nothing on http: the normal phases */
	assert_int_equal(next_of("-sp -sp -sp ", "sss", false), HP_TLSM_DONE);
	assert_int_equal(next_of("--- --- --- ", "sss", false), HP_TLSM_DONE);
}

static void stage_lines_are_numbered(void **state)
{
	enum hp_tlsm_stage s;

	(void)state;
	for (s = HP_TLSM_CERTS; s <= HP_TLSM_DONE; s++) {
		char want[4];

		snprintf(want, sizeof(want), "%d.", (int)s);
		assert_memory_equal(hp_tlsm_stage_line(s), want, 2);
	}
}

static void quorum_rule(void **state)
{
	(void)state;
	assert_true(hp_tlsm_quorum_ok(3, 3));
	assert_false(hp_tlsm_quorum_ok(3, 2));
	assert_true(hp_tlsm_quorum_ok(5, 5));
	assert_false(hp_tlsm_quorum_ok(5, 4));
	assert_false(hp_tlsm_quorum_ok(2, 2)); /* one down: no quorum */
	assert_true(hp_tlsm_quorum_ok(1, 1));
	assert_false(hp_tlsm_quorum_ok(0, 0));
}

static void pause_rule(void **state)
{
	(void)state;
	/* before the migration's own pause: someone else's, refused */
	assert_true(hp_tlsm_paused_refused(HP_TLSM_CERTS, true));
	assert_true(hp_tlsm_paused_refused(HP_TLSM_ETCD_PEERS, true));
	assert_false(hp_tlsm_paused_refused(HP_TLSM_CERTS, false));
	/* from stage 3 on: the migration's (a stopped apply's) */
	assert_false(hp_tlsm_paused_refused(HP_TLSM_ETCD_CLIENTS, true));
	assert_false(hp_tlsm_paused_refused(HP_TLSM_PATRONI, true));
}

/* ---- file forms --------------------------------------------------------- */

static const char env_final[] =
	"# head\n"
	"ETCD_NAME=a\n"
	"ETCD_LISTEN_PEER_URLS=https://10.0.0.1:2380\n"
	"ETCD_LISTEN_CLIENT_URLS=https://10.0.0.1:2379,https://127.0.0.1:2379\n"
	"ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.1:2380\n"
	"ETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.1:2379\n"
	"ETCD_INITIAL_CLUSTER=a=https://10.0.0.1:2380,b=https://10.0.0.2:2380\n"
	"ETCD_CERT_FILE=/etc/etcd/tls/etcd.crt\n"
	"ETCD_CLIENT_CERT_AUTH=true\n"
	"ETCD_PEER_CERT_FILE=/etc/etcd/tls/etcd.crt\n";

static void etcd_env_forms(void **state)
{
	char *p, *f;

	(void)state;
	p = hp_tlsm_etcd_env(env_final, sizeof(env_final) - 1,
			     HP_TLSM_ENV_PEERS);
	/* clients as before: http, no client TLS settings; peers https */
	assert_string_equal(
		p, "# head\n"
		   "ETCD_NAME=a\n"
		   "ETCD_LISTEN_PEER_URLS=https://10.0.0.1:2380\n"
		   "ETCD_LISTEN_CLIENT_URLS=http://10.0.0.1:2379,"
		   "http://127.0.0.1:2379\n"
		   "ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.1:2380\n"
		   "ETCD_ADVERTISE_CLIENT_URLS=http://10.0.0.1:2379\n"
		   "ETCD_INITIAL_CLUSTER=a=https://10.0.0.1:2380,"
		   "b=https://10.0.0.2:2380\n"
		   "ETCD_PEER_CERT_FILE=/etc/etcd/tls/etcd.crt\n");
	f = hp_tlsm_etcd_env(env_final, sizeof(env_final) - 1,
			     HP_TLSM_ENV_FINAL);
	assert_string_equal(f, env_final);
	free(p);
	free(f);
}

static const char inv_yaml[] =
	HP_ENGINE_INV_YAML("secrets: {superuser: dba}\n"
			   "validation: {timeout_s: 1, soak_s: 0}\n"
			   "patroni: {dcs: {loop_wait: 1}}\n");

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake_rest fr;
	struct hp_rest_tls tls;
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
	hp_run_init(&x->run, x->inv, &o);
	hp_fake_rest_init(&x->fr);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &x->fr;
	x->tls.insecure = true;
	x->run.rest_tls = &x->tls;
	x->run.restapi_user = xstrdup("patroni");
	x->run.restapi_password = xstrdup("pw");
	hp_err_clear(&x->err);
	return x;
}

static void fx_free(struct fx *x)
{
	x->run.rest_tls = NULL;
	free(x->run.restapi_user);
	free(x->run.restapi_password);
	x->run.restapi_user = x->run.restapi_password = NULL;
	hp_run_release(&x->run);
	hp_fake_rest_release(&x->fr);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

static void haproxy_form(void **state)
{
	struct fx *x = fx_new();
	static const char cfg[] =
		"listen primary\n"
		"    server a 10.0.0.1:5432 maxconn 100 check port 8008 "
		"check-ssl verify required ca-file /etc/haproxy/tls/ca.crt "
		"verifyhost a\n"
		"    server b 10.0.0.2:5432 maxconn 100 check port 8008 "
		"check-ssl verify required ca-file /etc/haproxy/tls/ca.crt "
		"verifyhost b\n"
		"    server ab 10.0.0.9:5432 check port 8008 check-ssl\n";
	bool done[3] = {false, true, false};
	char *c;

	(void)state;
	c = hp_tlsm_haproxy_cfg(x->inv, cfg, sizeof(cfg) - 1, done);
	assert_string_equal(
		c, "listen primary\n"
		   "    server a 10.0.0.1:5432 maxconn 100 check port 8008\n"
		   "    server b 10.0.0.2:5432 maxconn 100 check port 8008 "
		   "check-ssl verify required ca-file /etc/haproxy/tls/ca.crt "
		   "verifyhost b\n"
		   /* not a host of the inventory: left as it is */
		   "    server ab 10.0.0.9:5432 check port 8008 check-ssl\n");
	free(c);
	c = hp_tlsm_haproxy_cfg(x->inv, cfg, sizeof(cfg) - 1, NULL);
	assert_string_equal(c, cfg);
	free(c);
	fx_free(x);
}

/* ---- GET /cluster and the member list -------------------------------- */

static bool stable(const char *js, const char *leader, bool *paused)
{
	json_t *j = json_loads(js, 0, NULL);
	struct hp_buf why = HP_BUF_INIT;
	bool ok;

	assert_non_null(j);
	ok = hp_tlsm_cluster_stable(j, leader, paused, &why);
	hp_buf_release(&why);
	json_decref(j);
	return ok;
}

static void cluster_stability(void **state)
{
	bool p = false;

	(void)state;
	assert_true(stable("{\"members\":[{\"name\":\"a\",\"role\":\"leader\","
			   "\"state\":\"running\"},{\"name\":\"b\",\"role\":"
			   "\"replica\",\"state\":\"streaming\"}],"
			   "\"pause\":true}",
			   "a", &p));
	assert_true(p);
	/* another leader than the one before: a failover */
	assert_false(stable("{\"members\":[{\"name\":\"b\",\"role\":\"leader\","
			    "\"state\":\"running\"}]}",
			    "a", &p));
	assert_false(p);
	/* a replica starting, two leaders, none, hostile types */
	assert_false(stable("{\"members\":[{\"name\":\"a\",\"role\":\"leader\","
			    "\"state\":\"running\"},{\"name\":\"b\",\"role\":"
			    "\"replica\",\"state\":\"starting\"}]}",
			    NULL, &p));
	assert_false(stable("{\"members\":[{\"name\":\"a\",\"role\":\"leader\","
			    "\"state\":\"running\"},{\"name\":\"b\",\"role\":"
			    "\"leader\",\"state\":\"running\"}]}",
			    NULL, &p));
	assert_false(stable("{\"members\":[{\"name\":\"b\",\"role\":"
			    "\"replica\",\"state\":\"streaming\"}]}",
			    NULL, &p));
	assert_false(stable("{\"members\":[{\"name\":1}]}", NULL, &p));
	assert_false(stable("{\"members\":{}}", NULL, &p));
}

static void member_ids_and_peers(void **state)
{
	json_t *l = json_loads(
		"{\"members\":[{\"ID\":\"123\",\"name\":\"a\",\"peerURLs\":"
		"[\"https://10.0.0.1:2380\"]},{\"ID\":\"45\",\"name\":\"b\","
		"\"peerURLs\":[\"http://10.0.0.2:2380\"]},{\"ID\":\"1; rm\","
		"\"name\":\"c\",\"peerURLs\":[\"https://x\"]},{\"ID\":"
		"\"123456789012345678901\",\"name\":\"d\",\"peerURLs\":[\"x\"]}"
		"]}",
		0, NULL);
	char id[24];
	bool https = false;

	(void)state;
	assert_true(hp_tlsm_member(l, "a", id, &https));
	assert_string_equal(id, "123");
	assert_true(https);
	assert_true(hp_tlsm_member(l, "b", id, &https));
	assert_false(https);
	assert_false(hp_tlsm_member(l, "c", id, &https)); /* not digits */
	assert_false(hp_tlsm_member(l, "d", id, &https)); /* too long */
	assert_false(hp_tlsm_member(l, "e", id, &https)); /* absent */
	json_decref(l);
}

/* ---- with fake REST --------------------------------------------------- */

static const char healthy[] = "{\"health\":\"true\"}";

static void quorum_refused_before_any_change(void **state)
{
	struct fx *x = fx_new();
	size_t i;

	(void)state;
	/* a over http, b over https, c down: 2 of 3 */
	hp_fake_rest_expect(&x->fr, "GET", "http://10.0.0.1:2379/health", 200,
			    healthy, 0);
	hp_fake_rest_expect(&x->fr, "GET", "https://10.0.0.2:2379/health", 200,
			    healthy, 0);
	hp_fake_rest_fail(&x->fr, NULL, "10.0.0.", HP_ECONNECT, 0);
	assert_int_equal(hp_tlsm_etcd_roll(&x->run, HP_TLSM_ENV_PEERS, &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "2 of 3 members healthy"));
	assert_non_null(strstr(x->err.msg, "restarting a"));
	/* nothing asked to change: no member update, no host touched */
	for (i = 0; i < x->fr.nr_reqs; i++)
		assert_string_equal(x->fr.reqs[i].method, "GET");
	fx_free(x);
}

static const char cluster_a[] =
	"{\"members\":[{\"name\":\"a\",\"role\":\"leader\",\"state\":"
	"\"running\"},{\"name\":\"b\",\"role\":\"replica\",\"state\":"
	"\"streaming\"},{\"name\":\"c\",\"role\":\"replica\",\"state\":"
	"\"streaming\"}]%s}";

static const char primary[] = "{\"state\":\"running\",\"role\":\"master\"}";
static const char replica[] = "{\"state\":\"running\",\"role\":\"replica\"}";

static void pause_when_not_paused(void **state)
{
	struct fx *x = fx_new();
	struct hp_tlsm_patroni st;
	char *c = xasprintf(cluster_a, "");
	ssize_t k;

	(void)state;
	memset(&st, 0, sizeof(st));
	hp_fake_rest_fail(&x->fr, NULL, "https://", HP_ECONNECT, 0);
	hp_fake_rest_expect(&x->fr, "GET", "8008/cluster", 200, c, 0);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/patroni", 200,
			    primary, 1);
	hp_fake_rest_expect(&x->fr, "GET", "8008/patroni", 200, replica, 2);
	hp_fake_rest_expect(&x->fr, "PATCH", "http://10.0.0.1:8008/config", 200,
			    "{}", 1);
	/* b learns of the pause one loop later */
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.2:8008/patroni", 200,
			    "{\"state\":\"running\"}", 1);
	hp_fake_rest_expect(&x->fr, "GET", "8008/patroni", 200,
			    "{\"state\":\"running\",\"pause\":true}", 0);
	assert_int_equal(hp_tlsm_pause(&x->run, &st, &x->err), 0);
	assert_string_equal(st.leader, "a");
	assert_false(st.paused_before);
	k = hp_fake_rest_find(&x->fr, "PATCH", "/config", 0);
	assert_true(k >= 0);
	assert_string_equal(x->fr.reqs[k].body, "{\"pause\":true}");
	assert_string_equal(x->fr.reqs[k].user, "patroni");
	assert_true(x->fr.reqs[k].had_password);
	/* b asked twice: the migration waits for every member's pause */
	assert_true(hp_fake_rest_find(&x->fr, "GET", "10.0.0.2:8008/patroni",
				      1) >= 0);
	hp_tlsm_patroni_release(&st);
	free(c);
	fx_free(x);
}

static void stopped_runs_pause_is_ended(void **state)
{
	struct fx *x = fx_new();
	struct hp_tlsm_patroni st;
	char *c = xasprintf(cluster_a, ",\"pause\":true");

	(void)state;
	memset(&st, 0, sizeof(st));
	hp_fake_rest_fail(&x->fr, NULL, "https://", HP_ECONNECT, 0);
	hp_fake_rest_expect(&x->fr, "GET", "8008/cluster", 200, c, 0);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/patroni", 200,
			    "{\"state\":\"running\",\"role\":\"primary\","
			    "\"pause\":true}",
			    0);
	hp_fake_rest_expect(&x->fr, "GET", "8008/patroni", 200,
			    "{\"state\":\"running\",\"pause\":true}", 0);
	hp_fake_rest_expect(&x->fr, "PATCH", "/config", 200, "{}", 1);
	assert_int_equal(hp_tlsm_pause(&x->run, &st, &x->err), 0);
	assert_true(st.paused_before);
	/* paused already: no PATCH to pause */
	assert_int_equal(hp_fake_rest_find(&x->fr, "PATCH", "/config", 0), -1);
	/* the resume ends it (here the fake's https refuses: the PATCH was
	 * sent all the same) */
	assert_int_equal(hp_tlsm_resume(&x->run, &st, &x->err), HP_ECONNECT);
	assert_true(hp_fake_rest_find(&x->fr, "PATCH", "/config", 0) >= 0);
	hp_tlsm_patroni_release(&st);
	free(c);
	fx_free(x);
}

static void pause_not_seen_stops_before_restart(void **state)
{
	struct fx *x = fx_new();
	struct hp_tlsm_patroni st;
	char *c = xasprintf(cluster_a, "");

	(void)state;
	memset(&st, 0, sizeof(st));
	hp_fake_rest_fail(&x->fr, NULL, "https://", HP_ECONNECT, 0);
	hp_fake_rest_expect(&x->fr, "GET", "8008/cluster", 200, c, 0);
	hp_fake_rest_expect(&x->fr, "PATCH", "/config", 200, "{}", 1);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/patroni", 200,
			    primary, 0);
	hp_fake_rest_expect(&x->fr, "GET", "8008/patroni", 200, replica, 0);
	x->inv->validation.timeout_s = 0;
	x->inv->patroni.dcs.loop_wait = 0;
	assert_int_equal(hp_tlsm_pause(&x->run, &st, &x->err), HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "does not report the pause"));
	hp_tlsm_patroni_release(&st);
	free(c);
	fx_free(x);
}

static void two_primaries_refused(void **state)
{
	struct fx *x = fx_new();
	struct hp_tlsm_patroni st;

	(void)state;
	memset(&st, 0, sizeof(st));
	hp_fake_rest_fail(&x->fr, NULL, "https://", HP_ECONNECT, 0);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.3:8008/patroni", 200,
			    replica, 0);
	hp_fake_rest_expect(&x->fr, "GET", "8008/patroni", 200, primary, 0);
	assert_int_equal(hp_tlsm_pause(&x->run, &st, &x->err), HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "2 running primaries"));
	assert_null(st.leader);
	assert_int_equal(hp_fake_rest_find(&x->fr, "PATCH", "/config", 0), -1);
	hp_tlsm_patroni_release(&st);
	fx_free(x);
}

static void resume_sends_null(void **state)
{
	struct fx *x = fx_new();
	struct hp_tlsm_patroni st;
	char *c = xasprintf(cluster_a, "");
	ssize_t k;

	(void)state;
	memset(&st, 0, sizeof(st));
	st.leader = xstrdup("a");
	hp_fake_rest_expect(&x->fr, "PATCH", "https://10.0.0.1:8008/config",
			    200, "{}", 1);
	hp_fake_rest_expect(&x->fr, "GET", "https://10.0.0.1:8008/cluster", 200,
			    c, 0);
	assert_int_equal(hp_tlsm_resume(&x->run, &st, &x->err), 0);
	k = hp_fake_rest_find(&x->fr, "PATCH", "/config", 0);
	assert_true(k >= 0);
	assert_string_equal(x->fr.reqs[k].body, "{\"pause\":null}");
	hp_tlsm_patroni_release(&st);
	free(c);
	fx_free(x);
}

static const char members_http[] =
	"{\"members\":[{\"ID\":\"1\",\"name\":\"a\",\"peerURLs\":[\"http://"
	"10.0.0.1:2380\"]},{\"ID\":\"2\",\"name\":\"b\",\"peerURLs\":[\"https:"
	"//10.0.0.2:2380\"]},{\"ID\":\"3\",\"name\":\"c\",\"peerURLs\":"
	"[\"http://10.0.0.3:2380\"]}]}";

static void gather_then_next(void **state)
{
	struct fx *x = fx_new();
	struct hp_tlsm_facts f;
	struct hp_rest rest;

	(void)state;
	hp_fake_rest_expect(&x->fr, "POST", "member/list", 200, members_http,
			    0);
	hp_fake_rest_expect(&x->fr, "GET", ":2379/health", 200, healthy, 0);
	hp_fake_rest_fail(&x->fr, "GET", ":8008/patroni", HP_ECONNECT, 0);
	assert_int_equal(hp_run_rest_init(&x->run, &rest, 1000, &x->err), 0);
	hp_tlsm_gather(&x->run, &rest, &f);
	assert_int_equal(f.nr_etcd, 3);
	assert_int_equal(f.nr_patroni, 3);
	assert_true(f.etcd[0].http && f.etcd[0].https);
	assert_false(f.etcd[0].peer_https);
	assert_true(f.etcd[1].peer_https);
	assert_false(f.paused);
	assert_int_equal(hp_tlsm_next(&f), HP_TLSM_CERTS);
	hp_tlsm_facts_release(&f);
	hp_rest_release(&rest);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(next_stage_from_facts),
		cmocka_unit_test(stage_lines_are_numbered),
		cmocka_unit_test(quorum_rule),
		cmocka_unit_test(pause_rule),
		cmocka_unit_test(etcd_env_forms),
		cmocka_unit_test(haproxy_form),
		cmocka_unit_test(cluster_stability),
		cmocka_unit_test(member_ids_and_peers),
		cmocka_unit_test(quorum_refused_before_any_change),
		cmocka_unit_test(pause_when_not_paused),
		cmocka_unit_test(stopped_runs_pause_is_ended),
		cmocka_unit_test(pause_not_seen_stops_before_restart),
		cmocka_unit_test(two_primaries_refused),
		cmocka_unit_test(resume_sends_null),
		cmocka_unit_test(gather_then_next),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
