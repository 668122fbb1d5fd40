/*
 * hp_dcs_converge through the REST seam and the fake transport: a
 * simulated Patroni cluster (fake_patroni.h) for the order of actions,
 * waiting for a stable cluster, and 4xx/5xx answers; the scripted fake
 * REST server (fake_rest.h) for hostile and broken answers. Every answer a
 * test feeds must end in a clear, sanitized error, never a crash (the
 * binary runs under ASan and UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_patroni.h"
#include "fake_rest.h"
#include "fake_transport.h"
#include "phases.h"
#include "staged_priv.h"
#include "staged_fixture.h"

/* ---- fixture ------------------------------------------------------------- */

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake fake[3];
	struct hp_fake_rest fr;
	struct hp_rest rest;
	struct hp_err err;
	json_t *want;
};

/* A run over a, b, c whose REST requests go to ops/ctx (NULL: the
 * scripted fake REST server fx->fr). */
static struct fx *fx_new(bool plan, const struct hp_rest_ops *ops, void *ctx)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.plan = plan;
	assert_int_equal(hp_inventory_load_string(&x->inv, inv_yaml,
						  sizeof(inv_yaml) - 1,
						  "/tmp/t.yml", &x->diags),
			 0);
	hp_run_init(&x->run, x->inv, &o);
	for (i = 0; i < 3; i++) {
		hp_fake_init(&x->fake[i]);
		x->fake[i].strict = true;
		hp_fake_transport(&x->fake[i], &x->run.hosts[i].tr,
				  x->inv->hosts[i].name);
		/* HAProxy's runtime API around a switchover: each command
		 * answered with an empty line */
		hp_fake_expect(&x->fake[i], "IO::Socket::UNIX", 0, "\n\n\n",
			       "");
	}
	hp_fake_rest_init(&x->fr);
	x->run.rest_ops = ops ? ops : &hp_fake_rest_ops;
	x->run.rest_ctx = ops ? ctx : &x->fr;
	x->run.restapi_user = xstrdup("patroni");
	x->run.restapi_password = xstrdup("pw");
	hp_err_clear(&x->err);
	assert_int_equal(hp_run_rest_init(&x->run, &x->rest, 1000, &x->err), 0);
	return x;
}

/* The desired dynamic configuration (instead of the inventory's). */
static void fx_want(struct fx *x, const char *json)
{
	json_decref(x->want);
	x->want = json_loads(json, 0, NULL);
	assert_non_null(x->want);
	json_decref(x->run.desired.dcs);
	x->run.desired.dcs = json_incref(x->want);
}

static void fx_free(struct fx *x)
{
	size_t i;

	hp_rest_release(&x->rest);
	free(x->run.restapi_user);
	free(x->run.restapi_password);
	hp_run_release(&x->run);
	for (i = 0; i < 3; i++)
		hp_fake_release(&x->fake[i]);
	hp_fake_rest_release(&x->fr);
	json_decref(x->want);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

static const char *fx_msg(struct fx *x)
{
	assert_printable(x->err.msg);
	return x->err.msg;
}

/* Every request the simulated cluster got made sense (a member's URL,
 * writes with the REST API credentials). */
static void sim_done(struct sim *s)
{
	assert_int_equal(s->nr_bad, 0);
	sim_release(s);
}

/* ---- through the seam: the order of actions ------------------------------ */

static const char cfg100[] = "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
			     "{\"max_connections\": \"100\"}}}";

/* A host's calls but those to HAProxy's runtime API. */
static size_t other_calls(const struct hp_fake *f)
{
	return f->nr_calls -
	       hp_fake_count_calls(f, HP_FAKE_EXEC, "IO::Socket::UNIX");
}

/* The runtime commands every HAProxy got, in order, one string. */
static char *runtime_log(const struct hp_fake *f)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i;

	for (i = 0; i < f->nr_calls; i++)
		if (strstr(f->calls[i].what, "IO::Socket::UNIX") &&
		    f->calls[i].data)
			hp_buf_adds(&b, f->calls[i].data);
	return hp_buf_detach(&b, NULL);
}

/* The psql call on host 0: exactly the one command, the SQL on stdin. */
static void assert_psql_call(struct fx *x, const char *stdin_sql)
{
	long i = hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, "psql", 0);

	assert_true(i >= 0);
	assert_string_equal(x->fake[0].calls[i].what, psql_cmd);
	assert_null(strstr(x->fake[0].calls[i].what, "max_connections"));
	assert_string_equal(x->fake[0].calls[i].data, stdin_sql);
	/* only one, besides HAProxy's runtime API around a switchover */
	assert_int_equal(other_calls(&x->fake[0]), 1);
	assert_int_equal(other_calls(&x->fake[1]) + other_calls(&x->fake[2]),
			 0);
}


static void run_change(struct sim *s, const char *want, long long running,
		       const char *restart, const char *log)
{
	struct fx *x = fx_new(false, &sim_ops, s);
	char *answer = psql_answer(restart, running);
	char *sql = xasprintf("SELECT 'R', name FROM pg_settings WHERE "
			      "context = 'postmaster' AND name IN "
			      "('max_connections');\n%s",
			      hs_sql);

	fx_want(x, want);
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	if (hp_dcs_converge(&x->run, &x->rest, "a", &x->err) != 0)
		fail_msg("hp_dcs_converge: %s", x->err.msg);
	assert_string_equal(s->log.buf, log);
	assert_false(s->acted_in_transit);
	assert_psql_call(x, sql);
	free(sql);
	free(answer);
	fx_free(x);
}

static void test_grow_replicas_then_switchover(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, cfg100);
	run_change(&s,
		   "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}",
		   100, "R|max_connections",
		   "PATCH a;restart b;restart c;switchover a>b;");
	/* the demotion restarted a: no restart of it after */
	assert_int_equal(s.leader, 1);
	assert_false(s.pending[0] || s.pending[1] || s.pending[2]);
	sim_done(&s);
}

/* The switchover's HAProxy path: the leader drained before the POST, the
 * new leader's health up, the former leader's down and its drain off the
 * moment the new one serves; on every HAProxy. */
static void test_switchover_drains_first(void **state)
{
	static const char want[] = "set server primary/b state ready; "
				   "set server primary/a state drain\n"
				   "set server primary/b health up; "
				   "set server primary/a health down; "
				   "set server primary/a state ready\n";
	struct sim s;
	struct fx *x;
	int64_t gap = -1;
	size_t i;

	(void)state;
	sim_init(&s, cfg100);
	x = fx_new(false, &sim_ops, &s);
	assert_int_equal(hp_switchover_run(&x->run, &x->rest, "a", "b", &gap,
					   &x->err),
			 0);
	assert_string_equal(s.log.buf, "switchover a>b;");
	assert_int_equal(s.leader, 1);
	assert_true(gap >= 0);
	for (i = 0; i < 3; i++) {
		char *log = runtime_log(&x->fake[i]);

		assert_string_equal(log, want);
		free(log);
	}
	fx_free(x);
	sim_done(&s);
}

/* Patroni refuses the switchover: the drain is lifted again, nothing
 * else sent; a candidate that is no other patroni host is refused before
 * anything. */
static void test_switchover_refused_undrains(void **state)
{
	struct sim s;
	struct fx *x;
	char *log;

	(void)state;
	sim_init(&s, cfg100);
	s.fail = "POST /switchover";
	s.fail_status = 412;
	x = fx_new(false, &sim_ops, &s);
	assert_true(hp_switchover_run(&x->run, &x->rest, "a", "b", NULL,
				      &x->err) < 0);
	log = runtime_log(&x->fake[1]);
	assert_string_equal(log, "set server primary/b state ready; "
				 "set server primary/a state drain\n"
				 "set server primary/a state ready\n");
	free(log);
	assert_int_equal(s.leader, 0);
	fx_free(x);
	x = fx_new(false, &sim_ops, &s);
	assert_int_equal(hp_switchover_run(&x->run, &x->rest, "a", "a", NULL,
					   &x->err),
			 HP_EINVALID);
	assert_int_equal(hp_switchover_run(&x->run, &x->rest, "a", "zz", NULL,
					   &x->err),
			 HP_EINVALID);
	assert_int_equal(x->fake[0].nr_calls, 0);
	fx_free(x);
	sim_release(&s);
}

static void test_grow_restarts_former_leader_if_pending(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer(NULL, 100);

	(void)state;
	/* left by an interrupted run: b already leads with the new value,
	 * a (now a replica) still waits for its restart */
	sim_init(&s, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		     "{\"max_connections\": \"200\"}}}");
	s.leader = 1;
	s.pending[0] = true;
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	/* the new leader b is asked, not a */
	hp_fake_expect(&x->fake[1], "psql", 0, answer, "");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_string_equal(s.log.buf, "restart a;");
	assert_int_equal(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC, "psql"),
			 1);
	assert_string_equal(x->fake[1].calls[0].data, hs_sql);
	assert_int_equal(x->fake[0].nr_calls, 0);
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_shrink_leader_first_no_switchover(void **state)
{
	struct sim s;

	(void)state;
	sim_init(&s, cfg100);
	run_change(&s,
		   "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"50\"}}}",
		   100, "R|max_connections",
		   "PATCH a;restart a;restart b;restart c;");
	assert_int_equal(s.leader, 0);
	sim_done(&s);
}

static void test_shrink_interrupted_still_leader_first(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer(NULL, 100);

	(void)state;
	/* killed after the PATCH: nothing to patch, every member pending,
	 * the leader still runs 100: it goes first all the same */
	sim_init(&s, "{\"postgresql\": {\"parameters\": "
		     "{\"max_connections\": \"50\"}}}");
	s.pending[0] = s.pending[1] = s.pending[2] = true;
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"50\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_string_equal(s.log.buf, "restart a;restart b;restart c;");
	assert_psql_call(x, hs_sql);
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_other_restart_param_replicas_first(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|shared_buffers", 100);

	(void)state;
	sim_init(&s, cfg100);
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"100\", \"shared_buffers\": "
		   "\"1GB\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_string_equal(s.log.buf,
			    "PATCH a;restart b;restart c;switchover a>b;");
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_no_change_sends_nothing(void **state)
{
	struct sim s;
	struct fx *x;

	(void)state;
	sim_init(&s, cfg100);
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, cfg100);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_int_equal(s.nr_writes, 0);
	/* and no psql either */
	assert_int_equal(x->fake[0].nr_calls, 0);
	fx_free(x);
	sim_done(&s);
}

/* sim_ops, counting the requests */
static int nr_requests;

static int count_call(void *ctx, const struct hp_rest *r, const char *method,
		      const char *url, const json_t *body,
		      struct hp_rest_resp *resp, struct hp_err *err)
{
	nr_requests++;
	return sim_call(ctx, r, method, url, body, resp, err);
}

static const struct hp_rest_ops count_ops = { count_call };

/* A second converge with no change in between, whose keys need nothing
 * in what the first read, asks Patroni nothing; one that needs something
 * (or one after a change) reads afresh and acts on that. */
static void test_second_noop_reads_nothing(void **state)
{
	struct sim s;
	struct fx *x;
	int first;

	(void)state;
	sim_init(&s, cfg100);
	x = fx_new(false, &count_ops, &s);
	fx_want(x, cfg100);
	nr_requests = 0;
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	first = nr_requests;
	assert_true(first > 0);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_int_equal(nr_requests, first);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_OK), 2);
	/* a key the kept config lacks: read again, then the PATCH */
	fx_want(x, "{\"ttl\": 20, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"100\"}}}");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_true(nr_requests > first);
	assert_int_equal(s.nr_writes, 1);
	/* a change of the run, but through Patroni's API: the hosts' facts
	 * read before it still stand */
	assert_int_equal(hp_run_changes(&x->run), 1);
	assert_int_equal(hp_run_host_changes(&x->run), 0);
	/* that change recorded: the next converge reads again */
	first = nr_requests;
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_true(nr_requests > first);
	assert_int_equal(s.nr_writes, 1);
	fx_free(x);
	sim_done(&s);
}

/* A plan with a restart pending keeps no answer: the second converge
 * (another phase's keys) asks again and says the restart is pending, not
 * that nothing is to do. */
static void test_pending_keeps_nothing(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer(NULL, 100);
	int first;
	size_t i, pending = 0;

	(void)state;
	sim_init(&s, cfg100);
	s.pending[0] = s.pending[1] = s.pending[2] = true;
	x = fx_new(true, &count_ops, &s);
	fx_want(x, cfg100);
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	nr_requests = 0;
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	first = nr_requests;
	assert_true(first > 0);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_true(nr_requests > first);
	for (i = 0; i < x->run.nr_results; i++)
		if (x->run.results[i].status == HP_STEP_CHANGED &&
		    x->run.results[i].detail &&
		    strstr(x->run.results[i].detail, "a restart is pending"))
			pending++;
	assert_int_equal(pending, 2);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_OK), 0);
	assert_int_equal(s.nr_writes, 0);
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_plan_changes_nothing(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);
	size_t i;
	bool seen = false;

	(void)state;
	sim_init(&s, cfg100);
	x = fx_new(true, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 20, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err), 0);
	assert_int_equal(s.nr_writes, 0);
	for (i = 0; i < x->run.nr_results; i++) {
		const struct hp_step_result *r = &x->run.results[i];

		if (strcmp(r->step, "dcs config"))
			continue;
		seen = true;
		assert_int_equal(r->status, HP_STEP_CHANGED);
		assert_string_equal(r->diff,
				    "ttl: 30 -> 20\n"
				    "postgresql.parameters.max_connections: "
				    "100 -> 200\n"
				    "(restart, rolling: max_connections)");
	}
	assert_true(seen);
	free(answer);
	fx_free(x);
	sim_done(&s);
}

/* ---- through the seam: waiting for a stable cluster ---------------------- */

static void transit_case(enum sim_transit kind, int ms, bool settles)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);
	int r;

	sim_init(&s, cfg100);
	s.transit = kind;
	s.transit_ms = ms;
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	r = hp_dcs_converge(&x->run, &x->rest, "a", &x->err);
	/* never a write while in transition */
	assert_false(s.acted_in_transit);
	if (settles) {
		if (r != 0)
			fail_msg("transit %d: %s", kind, x->err.msg);
		/* it saw the transition, and waited it out */
		assert_true(s.nr_transit_answers > 0);
		assert_string_equal(s.log.buf, "PATCH a;restart b;restart c;"
					       "switchover a>b;");
	} else {
		assert_int_equal(r, HP_ETIMEOUT);
		assert_int_equal(s.nr_writes, 0);
		assert_non_null(strstr(fx_msg(x), "did not become stable"));
	}
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_waits_for_starting_member(void **state)
{
	(void)state;
	transit_case(T_STARTING, 300, true);
}

static void test_waits_for_scheduled_switchover(void **state)
{
	(void)state;
	transit_case(T_SCHEDULED, 300, true);
}

static void test_waits_for_demotion(void **state)
{
	(void)state;
	transit_case(T_DEMOTED, 300, true);
}

static void test_waits_for_streaming(void **state)
{
	(void)state;
	transit_case(T_NOSTREAM, 300, true);
}

/*
 * A rollback whose bad setting left c down ("start failed", and so never
 * flagged pending): the point's settings go out and Patroni starts c
 * again at its next loop, while the run restarts the others. The soak
 * must not begin before c is back: it would watch c come back and fail
 * ("during the soak: member c is starting"). Before the PATCH, c being
 * down is no reason to wait.
 */
static void test_rollback_soaks_after_member_is_back(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|shared_preload_libraries", 100);
	int r;

	(void)state;
	sim_init(&s, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		     "{\"shared_preload_libraries\": \"pg_cron,bad\"}}}");
	s.transit = T_DOWN;
	x = fx_new(false, &sim_ops, &s);
	/* back to what a and b run: no member is flagged, and the wait for
	 * the flags ends after loop_wait + 3 s (3 s here); c starts after
	 * that, during a soak that would begin then */
	x->inv->patroni.dcs.loop_wait = 0;
	s.down_ms = 3800;
	s.transit_ms = 5200;
	x->inv->validation.timeout_s = 8;
	x->inv->validation.soak_s = 2;
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"shared_preload_libraries\": \"pg_cron\"}}}");
	x->run.desired.point = "0123456789abcdef0123456789abcdef01234567";
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	r = hp_dcs_converge(&x->run, &x->rest, "a", &x->err);
	if (r != 0)
		fail_msg("hp_dcs_converge: %s", x->err.msg);
	/* c was down when the PATCH went out, and was not waited for */
	assert_string_equal(s.log.buf, "PATCH a;");
	/* and it was back before the soak ended */
	assert_null(sim_down_state(&s, 2));
	x->run.desired.point = NULL;
	free(answer);
	fx_free(x);
	sim_done(&s);
}

/* hp_dcs_converge from member a succeeds in less than ms (the loop_wait
 * the test sets is longer: a wait that ran to its deadline fails) */
static void converge_within(struct fx *x, int64_t ms, const char *what)
{
	int64_t t = hp_now_ms();

	if (hp_dcs_converge(&x->run, &x->rest, "a", &x->err) != 0)
		fail_msg("hp_dcs_converge: %s", x->err.msg);
	if (hp_now_ms() - t >= ms)
		fail_msg("waited %lld ms %s", (long long)(hp_now_ms() - t),
			 what);
}

/*
 * The wait for the flags after a restart parameter's PATCH, with a
 * loop_wait of 10 s: it would end after 13 s when a member it waits for
 * never shows a flag. b was flagged before the change (it runs the new
 * value already): its flag goes at the members' next loop, when a's and
 * c's come. A flag seen once counts: the wait ends with those loops.
 */
static void test_flag_seen_once_counts(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);

	(void)state;
	sim_init(&s, cfg100);
	s.pending[1] = s.stale[1] = true;
	s.flag_ms = 600;
	x = fx_new(false, &sim_ops, &s);
	x->inv->patroni.dcs.loop_wait = 10;
	x->inv->validation.timeout_s = 5;
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	converge_within(x, 8000, "for flags that were all seen");
	/* b runs the new value: not restarted */
	assert_null(strstr(s.log.buf, "restart b;"));
	assert_non_null(strstr(s.log.buf, "restart c;"));
	free(answer);
	fx_free(x);
	sim_done(&s);
}

/* A rollback's PATCH while c is down ("start failed": Patroni flags no
 * member whose PostgreSQL does not run): c is not waited for, and the
 * soak comes once Patroni has started it again. */
static void test_rollback_flags_skip_down_member(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 200);

	(void)state;
	sim_init(&s, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		     "{\"max_connections\": \"200\"}}}");
	s.transit = T_DOWN;
	s.down_ms = 1500;
	s.transit_ms = 2500;
	x = fx_new(false, &sim_ops, &s);
	x->inv->patroni.dcs.loop_wait = 10;
	x->inv->validation.timeout_s = 6;
	x->inv->validation.soak_s = 1;
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"100\"}}}");
	x->run.desired.point = "0123456789abcdef0123456789abcdef01234567";
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	converge_within(x, 8000, "for the flag of a member that is down");
	assert_non_null(strstr(s.log.buf, "restart a;"));
	assert_null(sim_down_state(&s, 2));
	x->run.desired.point = NULL;
	free(answer);
	fx_free(x);
	sim_done(&s);
}

/* Only a rollback whose restarts are still to come leaves a member that is
 * down to itself; an apply, and a rollback after its restarts, wait. */
static void test_repairing_only_in_a_rollback(void **state)
{
	struct hp_run run;

	(void)state;
	memset(&run, 0, sizeof(run));
	assert_false(hp_staged_repairing(&run));
	run.desired.point = "0123456789abcdef0123456789abcdef01234567";
	assert_true(hp_staged_repairing(&run));
	run.repaired = true;
	assert_false(hp_staged_repairing(&run));
}

/* While a replica does not stream the leader's loop is woken (it creates
 * new members' slots), every 2 s; once stable, every member's (their WAL
 * positions in the DCS). The patch changes nothing. */
static void test_wait_wakes_patroni_loops(void **state)
{
	struct sim s;
	struct fx *x;
	char *leader = NULL;
	const char *p;
	size_t i, n;

	(void)state;
	sim_init(&s, "{\"loop_wait\": 10, \"ttl\": 30}");
	s.transit = T_NOSTREAM;
	s.transit_ms = 3000;
	x = fx_new(false, &sim_ops, &s);
	x->inv->validation.timeout_s = 10; /* the fixture's 1 s is too short */
	for (i = 1; i < 3; i++)
		hp_fake_expect(&x->fake[i], "postmaster.pid", 0, "", "");
	x->run.standbys_new = true; /* this run started members */
	if (hp_staged_wait_stable(&x->run, &x->rest, &leader, &x->err) != 0)
		fail_msg("hp_staged_wait_stable: %s", x->err.msg);
	assert_string_equal(leader, "a");
	assert_true(s.nr_transit_answers > 0);
	/* the leader's loop woken about every second while the replicas
	 * did not stream (3 s), then every member's once */
	n = strlen(s.log.buf);
	assert_true(n > 21);
	assert_string_equal(s.log.buf + n - 21, "wake a;wake b;wake c;");
	for (p = s.log.buf, i = 0; (p = strstr(p, "wake a;")); p++)
		i++;
	assert_in_range(i, 3, 5);
	assert_null(strstr(s.log.buf, "wake b;wake b;"));
	/* and the standbys' startup processes, a look after each: never
	 * the leader's */
	assert_true(hp_fake_count_calls(&x->fake[1], HP_FAKE_EXEC,
					"kill -HUP") >= 1);
	assert_true(hp_fake_count_calls(&x->fake[2], HP_FAKE_EXEC,
					"kill -HUP") >= 1);
	assert_int_equal(hp_fake_count_calls(&x->fake[0], HP_FAKE_EXEC,
					     "kill -HUP"),
			 0);
	assert_int_equal(s.nr_writes, 0);
	assert_false(s.acted_in_transit);
	assert_int_equal(
		json_integer_value(json_object_get(s.config, "loop_wait")), 10);
	free(leader);
	fx_free(x);
	sim_done(&s);

	/* the same wait in a run that started no member: the leader is
	 * woken, the standbys' postmasters are not signalled */
	sim_init(&s, "{\"loop_wait\": 10, \"ttl\": 30}");
	s.transit = T_NOSTREAM;
	s.transit_ms = 2600;
	x = fx_new(false, &sim_ops, &s);
	x->inv->validation.timeout_s = 10;
	if (hp_staged_wait_stable(&x->run, &x->rest, &leader, &x->err) != 0)
		fail_msg("hp_staged_wait_stable: %s", x->err.msg);
	assert_non_null(strstr(s.log.buf, "wake a;"));
	for (i = 0; i < 3; i++)
		assert_int_equal(hp_fake_count_calls(&x->fake[i], HP_FAKE_EXEC,
						     "kill -HUP"),
				 0);
	free(leader);
	fx_free(x);
	sim_done(&s);

	/* a stable cluster at once: no wait, no wake */
	sim_init(&s, "{\"loop_wait\": 10, \"ttl\": 30}");
	x = fx_new(false, &sim_ops, &s);
	assert_int_equal(
		hp_staged_wait_stable(&x->run, &x->rest, &leader, &x->err), 0);
	assert_string_equal(s.log.buf, "");
	free(leader);
	fx_free(x);
	sim_done(&s);
}

/* The standby wake, run by a real shell on a pid file: a number whose
 * process is a postgres gets SIGHUP; anything else, nothing. */
static void test_wake_standby_cmd(void **state)
{
	char dir[] = "/tmp/haprov-wake-XXXXXX", sh[512];
	struct hp_buf cmd = HP_BUF_INIT;
	FILE *f;
	int st;

	(void)state;
	hp_patroni_wake_standby_cmd(&cmd, "/x'; rm -rf /");
	assert_non_null(strstr(cmd.buf, "head -n 1 '/x'\\''; rm -rf /'/"));
	hp_buf_reset(&cmd);
	assert_non_null(mkdtemp(dir));
	hp_patroni_wake_standby_cmd(&cmd, dir);
	/* a process called postgres (a copy of sleep) and one called sleep */
	snprintf(sh, sizeof(sh),
		 "cd %s && cp /bin/sleep postgres && (./postgres 30 & echo $! "
		 ">pg.pid) && (sleep 30 & echo $! >other.pid)",
		 dir);
	assert_int_equal(system(sh), 0);
	/* not a number; another process: both left alone */
	snprintf(sh, sizeof(sh), "cd %s && echo '12ab' >postmaster.pid", dir);
	assert_int_equal(system(sh), 0);
	assert_int_equal(system(cmd.buf), 0);
	snprintf(sh, sizeof(sh), "cd %s && cp other.pid postmaster.pid", dir);
	assert_int_equal(system(sh), 0);
	assert_int_equal(system(cmd.buf), 0);
	snprintf(sh, sizeof(sh),
		 "p=$(cat %s/other.pid); [ -e /proc/$p ] && "
		 "! grep -q '^State:.*Z' /proc/$p/status",
		 dir);
	assert_int_equal(system(sh), 0);
	/* the postgres: SIGHUP, which ends a sleep */
	snprintf(sh, sizeof(sh), "cd %s && cp pg.pid postmaster.pid", dir);
	assert_int_equal(system(sh), 0);
	assert_int_equal(system(cmd.buf), 0);
	snprintf(sh, sizeof(sh),
		 "p=$(cat %s/pg.pid); for i in 1 2 3 4 5 6 7 8 9 10; do "
		 "[ -e /proc/$p ] || exit 0; grep -q '^State:.*Z' "
		 "/proc/$p/status && exit 0; sleep 0.1; done; exit 1",
		 dir);
	st = system(sh);
	snprintf(sh, sizeof(sh),
		 "kill $(cat %s/other.pid) $(cat %s/pg.pid) 2>/dev/null; "
		 "rm -rf %s",
		 dir, dir, dir);
	/* the clean-up's own status does not matter: both may be gone */
	if (system(sh) < 0)
		fail_msg("cannot run the clean-up");
	assert_int_equal(st, 0);
	/* no pid file at all: nothing, and success */
	assert_int_equal(system(cmd.buf), 0);
	f = fopen(dir, "r");
	assert_null(f);
	hp_buf_release(&cmd);
}

/* The wake's body is GET /config's loop_wait as it is; anything else in
 * its place is not written back. */
static void test_nudge_body(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"loop_wait\": \"10\"}", "{\"loop_wait\": 0}",
		"{\"loop_wait\": -5}", "{\"loop_wait\": 3601}",
		"{\"loop_wait\": 1.5}", "{\"loop_wait\": null}", "[10]",
		"{\"loop_wait\": 99999999999999}",
	};
	struct hp_err e;
	json_t *cfg, *body;
	char *txt;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cfg = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(cfg);
		hp_err_clear(&e);
		assert_int_equal(hp_patroni_nudge_body(cfg, &body, &e),
				 HP_EVERIFY);
		assert_null(body);
		assert_non_null(strstr(e.msg, "loop_wait"));
		json_decref(cfg);
	}
	assert_int_equal(hp_patroni_nudge_body(NULL, &body, &e), HP_EVERIFY);
	cfg = json_loads("{\"loop_wait\": 10, \"ttl\": 30, "
			 "\"postgresql\": {}}",
			 0, NULL);
	assert_int_equal(hp_patroni_nudge_body(cfg, &body, &e), 0);
	txt = json_dumps(body, JSON_COMPACT);
	assert_string_equal(txt, "{\"loop_wait\":10}");
	free(txt);
	json_decref(body);
	json_decref(cfg);
}

static void test_waits_between_restarts(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);

	(void)state;
	/* a switchover gets scheduled right after b's restart: c's restart
	 * must wait until it is gone */
	sim_init(&s, cfg100);
	s.transit = T_SCHEDULED;
	s.transit_ms = 300;
	s.transit_on_restart = true;
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	if (hp_dcs_converge(&x->run, &x->rest, "a", &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_true(s.nr_transit_answers > 0);
	assert_false(s.acted_in_transit);
	assert_string_equal(s.log.buf,
			    "PATCH a;restart b;restart c;switchover a>b;");
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_transition_past_deadline_is_an_error(void **state)
{
	(void)state;
	transit_case(T_STARTING, -1, false);
}

static void test_busy_restart_is_waited_out(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);

	(void)state;
	sim_init(&s, cfg100);
	s.busy = 1; /* b's first POST /restart: "demote already in progress" */
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	if (hp_dcs_converge(&x->run, &x->rest, "a", &x->err) != 0)
		fail_msg("%s", x->err.msg);
	assert_int_equal(s.busy, 0);
	assert_string_equal(s.log.buf,
			    "PATCH a;restart b;restart c;switchover a>b;");
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_busy_past_deadline_fails(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);

	(void)state;
	sim_init(&s, cfg100);
	s.busy = 1000; /* b never stops demoting */
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_EREMOTE);
	assert_non_null(strstr(fx_msg(x), "POST /restart on b answered 503: "
					  "demote already in progress"));
	/* asked again after a pause, not in a tight loop */
	assert_true(s.busy >= 1000 - 3);
	assert_string_equal(s.log.buf, "PATCH a;");
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_leader_change_stops_the_restarts(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);

	(void)state;
	sim_init(&s, cfg100);
	s.failover_on_patch = 2; /* a failover to c right after the PATCH */
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(fx_msg(x), "the leader changed from a to c "
					  "during the rolling restart"));
	assert_string_equal(s.log.buf, "PATCH a;");
	free(answer);
	fx_free(x);
	sim_done(&s);
}

/* ---- through the seam: 4xx and 5xx are failures -------------------------- */

static void write_fails(const char *what, long status, const char *log)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);
	char *msg = xasprintf("%s on ", what);
	int r;

	sim_init(&s, cfg100);
	s.fail = what;
	s.fail_status = status;
	s.fail_body = "\x1b[31mno\x1b[0m: not allowed";
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		   "{\"max_connections\": \"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0, answer, "");
	r = hp_dcs_converge(&x->run, &x->rest, "a", &x->err);
	if (r != HP_EREMOTE)
		fail_msg("%s answered %ld: got %d (%s)", what, status, r,
			 x->err.msg);
	assert_non_null(strstr(fx_msg(x), msg));
	free(msg);
	msg = xasprintf("answered %ld:  [31mno [0m: not allowed", status);
	assert_non_null(strstr(x->err.msg, msg));
	/* it stopped there */
	assert_string_equal(s.log.buf, log);
	free(msg);
	free(answer);
	fx_free(x);
	sim_done(&s);
}

static void test_patch_4xx_5xx_fail(void **state)
{
	(void)state;
	write_fails("PATCH /config", 400, "");
	write_fails("PATCH /config", 401, "");
	write_fails("PATCH /config", 409, "");
	write_fails("PATCH /config", 500, "");
	write_fails("PATCH /config", 503, "");
	write_fails("PATCH /config", 202, "");
}

static void test_restart_4xx_5xx_fail(void **state)
{
	(void)state;
	write_fails("POST /restart", 400, "PATCH a;");
	write_fails("POST /restart", 403, "PATCH a;");
	write_fails("POST /restart", 412, "PATCH a;");
	write_fails("POST /restart", 500, "PATCH a;");
	/* a 503 that is not "in progress" fails at once */
	write_fails("POST /restart", 503, "PATCH a;");
	write_fails("POST /restart", 202, "PATCH a;");
}

static void test_switchover_4xx_5xx_fail(void **state)
{
	(void)state;
	write_fails("POST /switchover", 400, "PATCH a;restart b;restart c;");
	write_fails("POST /switchover", 412, "PATCH a;restart b;restart c;");
	write_fails("POST /switchover", 500, "PATCH a;restart b;restart c;");
	write_fails("POST /switchover", 503, "PATCH a;restart b;restart c;");
	write_fails("POST /switchover", 202, "PATCH a;restart b;restart c;");
}

/* ---- through the seam: hostile answers ----------------------------------- */

static const char streaming[] =
	"{\"replication\": [{\"application_name\": \"b\", \"state\": "
	"\"streaming\"}, {\"application_name\": \"c\", \"state\": "
	"\"streaming\"}]}";

/* A plan against a scripted /config answer. */
static int plan_with_config(struct fx *x, long status, const char *body)
{
	fx_want(x, cfg100);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8008/config", status, body,
			    0);
	hp_fake_rest_expect(&x->fr, "GET", ":8008/patroni", 200, "{}", 0);
	return hp_dcs_converge(&x->run, &x->rest, "a", &x->err);
}

static void test_hostile_parameter_name_in_plan(void **state)
{
	struct fx *x = fx_new(true, NULL, NULL);

	(void)state;
	fx_want(x, "{\"postgresql\": {\"parameters\": {\"max_connections\": "
		   "\"200\"}}}");
	assert_int_equal(
		plan_with_config(
			x, 200,
			"{\"postgresql\": {\"parameters\": "
			"{\"max_connections\": "
			"\"100\", \"x'); COPY (SELECT 1) TO PROGRAM 'id > "
			"/tmp/pwned'; SELECT ('\": \"1\"}}}"),
		HP_EVERIFY);
	assert_non_null(strstr(fx_msg(x), "parameter name 'x'); COPY"));
	assert_non_null(strstr(x->err.msg, "not a valid PostgreSQL setting"));
	/* refused as it came in, before any SQL was built */
	assert_non_null(strstr(x->err.msg, "GET /config on a: "));
	/* no SQL ran anywhere */
	assert_int_equal(x->fake[0].nr_calls + x->fake[1].nr_calls +
				 x->fake[2].nr_calls,
			 0);
	fx_free(x);
}

static void test_hostile_parameter_name_in_apply(void **state)
{
	struct sim s;
	struct fx *x;

	(void)state;
	sim_init(&s, "{\"postgresql\": {\"parameters\": {\"a\\n\\\\! id\": "
		     "\"1\", \"max_connections\": \"100\"}}}");
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, cfg100);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(fx_msg(x), "parameter name 'a \\! id'"));
	assert_int_equal(s.nr_writes, 0);
	assert_int_equal(x->fake[0].nr_calls, 0);
	fx_free(x);
	sim_done(&s);
}

static void test_html_page_with_200(void **state)
{
	struct fx *x = fx_new(true, NULL, NULL);

	(void)state;
	assert_int_equal(plan_with_config(x, 200,
					  "<html><body>\x1b[2J502 Bad "
					  "Gateway</body></html>"),
			 HP_EREMOTE);
	assert_non_null(strstr(fx_msg(x), "GET /config on a answered 200, "
					  "not a JSON object: <html>"));
	fx_free(x);
	x = fx_new(false, NULL, NULL);
	/* in apply, on /cluster: waited for, then a clear error */
	fx_want(x, cfg100);
	hp_fake_rest_expect(&x->fr, "GET", ":8008/cluster", 200,
			    "<html>oops</html>", 0);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_ETIMEOUT);
	assert_non_null(strstr(fx_msg(x), "no member answers GET /cluster"));
	assert_non_null(strstr(x->err.msg, "not a JSON object: <html>oops"));
	assert_int_equal(hp_fake_rest_count(&x->fr, "PATCH", ""), 0);
	fx_free(x);
}

static void test_huge_body(void **state)
{
	struct fx *x = fx_new(true, NULL, NULL);
	size_t n = HP_REST_MAX_BODY + 10;
	char *big = xmalloc(n);

	(void)state;
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	fx_want(x, cfg100);
	hp_fake_rest_expect_len(&x->fr, "GET", "/config", 200, big, n, 0);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_ETOOBIG);
	assert_int_equal(x->fake[0].nr_calls, 0);
	free(big);
	fx_free(x);
}

/* apply against a scripted /cluster answer: a clear HP_EVERIFY, nothing
 * written */
static void hostile_cluster_code(const char *cluster, const char *msg, int code)
{
	struct fx *x = fx_new(false, NULL, NULL);

	fx_want(x, cfg100);
	hp_fake_rest_expect(&x->fr, "GET", ":8008/cluster", 200, cluster, 0);
	hp_fake_rest_expect(&x->fr, "GET", ":8008/patroni", 200, streaming, 0);
	hp_fake_rest_expect(&x->fr, "GET", ":8008/config", 200, "{\"ttl\": 1}",
			    0);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 code);
	if (!strstr(fx_msg(x), msg))
		fail_msg("'%s' lacks '%s'", x->err.msg, msg);
	assert_int_equal(hp_fake_rest_count(&x->fr, "PATCH", ""), 0);
	assert_int_equal(hp_fake_rest_count(&x->fr, "POST", ""), 0);
	fx_free(x);
}

static void hostile_cluster(const char *cluster, const char *msg)
{
	hostile_cluster_code(cluster, msg, HP_EVERIFY);
}

static void test_leader_outside_inventory(void **state)
{
	(void)state;
	hostile_cluster(
		"{\"members\": [" M(
			"\"pg9\"", "\"leader\"",
			"\"running\"") ", " M("\"b\"", "\"replica\"",
					      "\"running\"") ", " M("\"c\"",
								    "\"replica"
								    "\"",
								    "\"running"
								    "\"") "]}",
		"patroni member 'pg9' is not a patroni host of the "
		"inventory; switch over");
}

static void test_two_leaders(void **state)
{
	(void)state;
	hostile_cluster(
		"{\"members\": [" M(
			"\"a\"", "\"leader\"",
			"\"running\"") ", " M("\"b\"", "\"leader\"",
					      "\"running\"") ", " M("\"c\"",
								    "\"replica"
								    "\"",
								    "\"running"
								    "\"") "]}",
		"patroni reports two leaders, 'a' and 'b'");
}

static void test_wrong_types(void **state)
{
	(void)state;
	hostile_cluster(
		"{\"members\": [" M("1", "\"leader\"", "\"running\"") "]}",
		"member 1 has no string \"name\"");
	hostile_cluster("{\"members\": [" M("[\"a\"]", "\"leader\"",
					    "\"running\"") "]}",
			"member 1 has no string \"name\"");
	hostile_cluster("{\"members\": [" M("\"a\"", "{}", "\"running\"") "]}",
			"has no string \"role\"");
	hostile_cluster("{\"members\": \"a,b,c\"}", "no \"members\" array");
	/* not an object at all: as a broken answer, waited out, then an
	 * error that quotes it */
	hostile_cluster_code("[1, 2]", "not a JSON object: [1, 2]",
			     HP_ETIMEOUT);
}

static void test_wrong_types_elsewhere(void **state)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);

	(void)state;
	/* /config: a number where an object is expected */
	x = fx_new(true, NULL, NULL);
	assert_int_equal(plan_with_config(x, 200, "{\"postgresql\": 5}"),
			 HP_EVERIFY);
	assert_non_null(strstr(fx_msg(x), "\"postgresql\" is not an object"));
	fx_free(x);
	/* /patroni: a string where a boolean is expected */
	x = fx_new(true, NULL, NULL);
	fx_want(x, cfg100);
	hp_fake_rest_expect(&x->fr, "GET", "/config", 200, cfg100, 0);
	hp_fake_rest_expect(&x->fr, "GET", "/patroni", 200,
			    "{\"pending_restart\": \"yes\"}", 0);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(fx_msg(x), "\"pending_restart\" is not a "
					  "boolean"));
	fx_free(x);
	/* /patroni: a number where the state (a string) is expected */
	x = fx_new(true, NULL, NULL);
	fx_want(x, cfg100);
	hp_fake_rest_expect(&x->fr, "GET", "/config", 200, cfg100, 0);
	hp_fake_rest_expect(&x->fr, "GET", "/patroni", 200,
			    "{\"pending_restart\": true, \"state\": 5}", 0);
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(fx_msg(x), "\"state\" is not a string"));
	fx_free(x);
	/* psql: letters where the running value (a number) is expected */
	sim_init(&s, cfg100);
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"postgresql\": {\"parameters\": {\"max_connections\": "
		   "\"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 0,
		       "S|max_connections|\x1b[5mmany\n", "");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_EREMOTE);
	assert_non_null(strstr(fx_msg(x), "unexpected line in psql's answer"));
	assert_int_equal(s.nr_writes, 0);
	fx_free(x);
	sim_done(&s);
	free(answer);
}

static void test_psql_failure_is_sanitized(void **state)
{
	struct sim s;
	struct fx *x;

	(void)state;
	sim_init(&s, cfg100);
	x = fx_new(false, &sim_ops, &s);
	fx_want(x, "{\"postgresql\": {\"parameters\": {\"max_connections\": "
		   "\"200\"}}}");
	hp_fake_expect(&x->fake[0], "psql", 2, "",
		       "psql: FATAL: \x1b[31mrole \"dba\" does not exist\n");
	assert_int_equal(hp_dcs_converge(&x->run, &x->rest, "a", &x->err),
			 HP_EREMOTE);
	assert_non_null(strstr(fx_msg(x), "psql on a"));
	assert_non_null(strstr(x->err.msg, "role \"dba\" does not exist"));
	assert_int_equal(s.nr_writes, 0);
	fx_free(x);
	sim_done(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_replicas_then_switchover),
		cmocka_unit_test(test_switchover_drains_first),
		cmocka_unit_test(test_switchover_refused_undrains),
		cmocka_unit_test(test_grow_restarts_former_leader_if_pending),
		cmocka_unit_test(test_shrink_leader_first_no_switchover),
		cmocka_unit_test(test_shrink_interrupted_still_leader_first),
		cmocka_unit_test(test_other_restart_param_replicas_first),
		cmocka_unit_test(test_no_change_sends_nothing),
		cmocka_unit_test(test_second_noop_reads_nothing),
		cmocka_unit_test(test_pending_keeps_nothing),
		cmocka_unit_test(test_plan_changes_nothing),
		cmocka_unit_test(test_waits_for_starting_member),
		cmocka_unit_test(test_waits_for_scheduled_switchover),
		cmocka_unit_test(test_waits_for_demotion),
		cmocka_unit_test(test_waits_for_streaming),
		cmocka_unit_test(test_rollback_soaks_after_member_is_back),
		cmocka_unit_test(test_flag_seen_once_counts),
		cmocka_unit_test(test_rollback_flags_skip_down_member),
		cmocka_unit_test(test_repairing_only_in_a_rollback),
		cmocka_unit_test(test_wait_wakes_patroni_loops),
		cmocka_unit_test(test_nudge_body),
		cmocka_unit_test(test_wake_standby_cmd),
		cmocka_unit_test(test_waits_between_restarts),
		cmocka_unit_test(test_transition_past_deadline_is_an_error),
		cmocka_unit_test(test_busy_restart_is_waited_out),
		cmocka_unit_test(test_busy_past_deadline_fails),
		cmocka_unit_test(test_leader_change_stops_the_restarts),
		cmocka_unit_test(test_patch_4xx_5xx_fail),
		cmocka_unit_test(test_restart_4xx_5xx_fail),
		cmocka_unit_test(test_switchover_4xx_5xx_fail),
		cmocka_unit_test(test_hostile_parameter_name_in_plan),
		cmocka_unit_test(test_hostile_parameter_name_in_apply),
		cmocka_unit_test(test_html_page_with_200),
		cmocka_unit_test(test_huge_body),
		cmocka_unit_test(test_leader_outside_inventory),
		cmocka_unit_test(test_two_leaders),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_wrong_types_elsewhere),
		cmocka_unit_test(test_psql_failure_is_sanitized),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
