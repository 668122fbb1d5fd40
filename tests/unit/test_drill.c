/*
 * `haprov drill`'s decisions (phases/drill*.c, provisioner/cmd_drill.c):
 * the options and the safety gate; etcd's and HAProxy's answers as the
 * watcher reads them (hostile ones included); the watcher's stages against
 * scripted REST answers and a probe's acknowledgements; the RPO's
 * arithmetic; the postmaster kill command (run in a local /bin/sh); the
 * local command runner; the report's lines, summary and JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "drill.h"
#include "fake_rest.h"
#include "steps_fixture.h"

static void test_options(void **state)
{
	struct fx *x = fx_new(false);
	enum hp_drill_kind k;
	int n;

	(void)state;
	assert_true(hp_drill_kind_parse("crash", &k));
	assert_int_equal(k, HP_DRILL_CRASH);
	assert_true(hp_drill_kind_parse("postgres-kill", &k));
	assert_int_equal(k, HP_DRILL_PGKILL);
	assert_true(hp_drill_kind_parse("switchover", &k));
	assert_int_equal(k, HP_DRILL_SWITCHOVER);
	assert_false(hp_drill_kind_parse("Crash", &k));
	assert_false(hp_drill_kind_parse("", &k));
	assert_false(hp_drill_kind_parse(NULL, &k));
	assert_string_equal(hp_drill_kind_name(HP_DRILL_PGKILL),
			    "postgres-kill");

	assert_int_equal(hp_drill_count_parse(NULL, &n, &x->err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(hp_drill_count_parse("10", &n, &x->err), 0);
	assert_int_equal(n, 10);
	assert_int_equal(hp_drill_count_parse("100", &n, &x->err), 0);
	assert_int_equal(hp_drill_count_parse("0", &n, &x->err), HP_EINVALID);
	assert_int_equal(hp_drill_count_parse("101", &n, &x->err),
			 HP_EINVALID);
	assert_int_equal(hp_drill_count_parse("3x", &n, &x->err), HP_EINVALID);
	assert_int_equal(hp_drill_count_parse("", &n, &x->err), HP_EINVALID);
	assert_int_equal(hp_drill_count_parse("-2", &n, &x->err), HP_EINVALID);

	/* the first other host with the role, in inventory order */
	assert_string_equal(
		hp_drill_other(x->inv, HP_ROLE_HAPROXY, "pg1")->name, "pg2");
	assert_string_equal(
		hp_drill_other(x->inv, HP_ROLE_ETCD, "pg2")->name, "pg1");
	fx_free(x);
}

static void test_allowed(void **state)
{
	struct fx *x = fx_new(false);
	char *saved = x->inv->environment;
	char prod[] = "production", lab[] = "lab", test[] = "test",
	     staging[] = "staging";

	(void)state;
	x->inv->environment = prod;
	assert_int_equal(hp_drill_allowed(x->inv, false, &x->err),
			 HP_EINVALID);
	assert_non_null(strstr(x->err.msg, "--yes"));
	assert_non_null(strstr(x->err.msg, "production"));
	assert_int_equal(hp_drill_allowed(x->inv, true, &x->err), 0);
	x->inv->environment = staging;
	assert_int_equal(hp_drill_allowed(x->inv, false, &x->err),
			 HP_EINVALID);
	x->inv->environment = lab;
	assert_int_equal(hp_drill_allowed(x->inv, false, &x->err), 0);
	x->inv->environment = test;
	assert_int_equal(hp_drill_allowed(x->inv, false, &x->err), 0);
	x->inv->environment = saved;
	fx_free(x);
}

static json_t *parse(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	return j;
}

static void test_sync_ready(void **state)
{
	struct fx *x = fx_new(false);
	json_t *with = parse("{\"members\":[{\"name\":\"pg1\",\"role\":"
			     "\"leader\"},{\"name\":\"pg2\",\"role\":"
			     "\"sync_standby\"}]}");
	json_t *without = parse("{\"members\":[{\"name\":\"pg1\",\"role\":"
				"\"leader\"},{\"name\":\"pg2\",\"role\":"
				"\"replica\"}]}");
	json_t *hostile = parse("{\"members\":{\"role\":\"sync_standby\"}}");

	(void)state;
	/* without synchronous_mode any stable cluster will do */
	assert_true(hp_drill_sync_ready(x->inv, without));
	x->inv->patroni.dcs.synchronous_mode = true;
	assert_true(hp_drill_sync_ready(x->inv, with));
	assert_false(hp_drill_sync_ready(x->inv, without));
	assert_false(hp_drill_sync_ready(x->inv, hostile));
	json_decref(with);
	json_decref(without);
	json_decref(hostile);
	fx_free(x);
}

static void test_etcd_value(void **state)
{
	static const struct {
		const char *answer;
		int r;
		const char *value;
	} cases[] = {
		/* "pg2" in base64 */
		{ "{\"header\":{},\"kvs\":[{\"key\":\"x\",\"value\":\"cGcy\"}],"
		  "\"count\":\"1\"}",
		  0, "pg2" },
		/* absent: no kvs, or an empty array */
		{ "{\"header\":{\"revision\":\"5\"}}", 0, "" },
		{ "{\"header\":{},\"kvs\":[]}", 0, "" },
		/* hostile */
		{ "{\"kvs\":[{\"value\":\"cGcy\"}]}", HP_EVERIFY, "" },
		{ "[]", HP_EVERIFY, "" },
		{ "{\"header\":{},\"kvs\":{}}", HP_EVERIFY, "" },
		{ "{\"header\":{},\"kvs\":[{\"value\":5}]}", HP_EVERIFY, "" },
		{ "{\"header\":{},\"kvs\":[{\"value\":\"cGcy\"},{\"value\":"
		  "\"cGcy\"}]}",
		  HP_EVERIFY, "" },
		{ "{\"header\":{},\"kvs\":[{\"value\":\"!!!\"}]}", HP_EVERIFY,
		  "" },
		/* "a\0b": a NUL inside is no member name */
		{ "{\"header\":{},\"kvs\":[{\"value\":\"YQBi\"}]}", HP_EVERIFY,
		  "" },
	};
	char out[HP_DRILL_NAME_MAX];
	struct hp_err err;
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		json_t *j = parse(cases[i].answer);

		assert_int_equal(hp_drill_etcd_value(j, out, sizeof(out), &err),
				 cases[i].r);
		if (cases[i].r == 0)
			assert_string_equal(out, cases[i].value);
		json_decref(j);
	}
	/* a value longer than a name: refused, not cut */
	{
		json_t *j = parse("{\"header\":{},\"kvs\":[{\"value\":"
				  "\"YWFhYWFhYWFhYWFh\"}]}");

		assert_int_equal(hp_drill_etcd_value(j, out, 8, &err),
				 HP_EVERIFY);
		json_decref(j);
	}
}

#define CSV_HEAD "# pxname,svname,qcur,status\n"

static void test_primary_up(void **state)
{
	char out[64];
	struct hp_err err;
	const char *csv = CSV_HEAD "primary,FRONTEND,,OPEN\n"
			  "primary,pg1,,DOWN\nprimary,pg2,,UP\n"
			  "replicas,pg1,,UP\nprimary,BACKEND,,UP\n";

	(void)state;
	assert_int_equal(hp_drill_primary_up(csv, strlen(csv), out,
					     sizeof(out), &err),
			 0);
	assert_string_equal(out, "pg2");
	csv = CSV_HEAD "primary,pg1,,UP 1/2\nprimary,pg2,,UP\n";
	assert_int_equal(hp_drill_primary_up(csv, strlen(csv), out,
					     sizeof(out), &err),
			 0);
	assert_string_equal(out, "pg1,pg2");
	csv = CSV_HEAD "primary,pg1,,MAINT\n";
	assert_int_equal(hp_drill_primary_up(csv, strlen(csv), out,
					     sizeof(out), &err),
			 0);
	assert_string_equal(out, "");
	csv = "<html>503</html>";
	assert_int_equal(hp_drill_primary_up(csv, strlen(csv), out,
					     sizeof(out), &err),
			 HP_EVERIFY);
}

static void test_leader_key(void **state)
{
	struct fx *x = fx_new(false);
	char *k = hp_drill_leader_key(x->inv);

	(void)state;
	assert_string_equal(k, "/service/t/leader");
	free(k);
	fx_free(x);
}

static void test_missing_of(void **state)
{
	const int64_t acked[] = { 5, 1, 2, 3, 4 };
	const int64_t have_all[] = { 1, 2, 3, 4, 5, 6 };
	const int64_t have_some[] = { 1, 3, 5 };

	(void)state;
	assert_int_equal(hp_probe_missing_of(acked, 5, have_all, 6), 0);
	assert_int_equal(hp_probe_missing_of(acked, 5, have_some, 3), 2);
	assert_int_equal(hp_probe_missing_of(acked, 5, NULL, 0), 5);
	assert_int_equal(hp_probe_missing_of(NULL, 0, have_all, 6), 0);
}

static void test_pgkill_cmd(void **state)
{
	char *dir = make_tmpdir();
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	char *sub = xasprintf("%s/it's data", dir), *pidfile;
	int status;
	pid_t child;

	(void)state;
	assert_int_equal(mkdir(sub, 0700), 0);
	pidfile = xasprintf("%s/postmaster.pid", sub);
	/* a real process stands in for the postmaster */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	{
		char *text = xasprintf("%d\n/data\n", (int)child);

		write_file(sub, "postmaster.pid", text, 0600);
		free(text);
	}
	hp_drill_pgkill_cmd(&cmd, sub);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	/* no PID in the file: nothing killed, a failure */
	write_file(sub, "postmaster.pid", "$(touch pwned)\n", 0600);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 3);
	write_file(sub, "postmaster.pid", "\n", 0600);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 3);
	assert_null(strstr(out.buf, "pwned"));
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	free(pidfile);
	free(sub);
	rm_tree(dir);
	free(dir);
}

static void test_local_command(void **state)
{
	struct fx *x = fx_new(false);
	char *dir = make_tmpdir(), *text;
	const struct hp_host *pg2 = hp_inventory_host(x->inv, "pg2");

	(void)state;
	/* in dir, the host's name and address substituted */
	assert_int_equal(hp_drill_local_command("drill.crash_command",
						"echo {host} {address} > out",
						pg2, dir, 10, &x->err),
			 0);
	text = read_text(dir, "out");
	assert_string_equal(text, "pg2 10.0.0.2\n");
	free(text);
	/* its standard output is not ours (ours is the --json report) */
	{
		int saved = dup(1), fd;
		char *path = xasprintf("%s/stdout", dir);

		fflush(stdout);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(saved >= 0 && fd >= 0);
		dup2(fd, 1);
		close(fd);
		assert_int_equal(hp_drill_local_command("drill.boot_command",
							"echo booted {host} "
							"2>/dev/null",
							pg2, dir, 10, &x->err),
				 0);
		dup2(saved, 1);
		close(saved);
		text = read_text(dir, "stdout");
		assert_string_equal(text, "");
		free(text);
		free(path);
	}
	assert_int_equal(hp_drill_local_command("drill.crash_command",
						"exit 4", pg2, dir, 10,
						&x->err),
			 HP_EREMOTE);
	assert_non_null(strstr(x->err.msg, "exit status 4"));
	assert_non_null(strstr(x->err.msg, "pg2"));
	/* a command that hangs is killed at its timeout */
	assert_int_equal(hp_drill_local_command("drill.boot_command",
						"sleep 30", pg2, dir, 1,
						&x->err),
			 HP_ETIMEOUT);
	assert_int_equal(hp_drill_local_command("drill.boot_command", NULL,
						pg2, dir, 1, &x->err),
			 HP_EINVALID);
	assert_non_null(strstr(x->err.msg, "drill.boot_command"));
	rm_tree(dir);
	free(dir);
	fx_free(x);
}

/* A probe with acknowledgements at the given times, no thread. */
static void fake_probe(struct hp_probe *p, const int64_t *at, size_t nr)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->ack_n = xcalloc(HP_PROBE_MAX_ACKS, sizeof(*p->ack_n));
	p->ack_at = xcalloc(HP_PROBE_MAX_ACKS, sizeof(*p->ack_at));
	pthread_mutex_init(&p->mu, NULL);
	for (i = 0; i < nr; i++) {
		p->ack_n[i] = (int64_t)i + 1;
		p->ack_at[i] = at[i];
	}
	p->nr_acks = nr;
}

static void test_first_ack_after(void **state)
{
	const int64_t at[] = { 100, 150, 200, 9000, 9050 };
	struct hp_probe p;

	(void)state;
	fake_probe(&p, at, 5);
	assert_int_equal(hp_probe_first_ack_after(&p, 201), 9000);
	assert_int_equal(hp_probe_first_ack_after(&p, 150), 150);
	assert_int_equal(hp_probe_first_ack_after(&p, 0), 100);
	assert_int_equal(hp_probe_first_ack_after(&p, 9051), -1);
	assert_int_equal(hp_probe_acks(&p), 5);
	hp_probe_release(&p);
}

static void *fault_later(void *arg)
{
	struct hp_drill_watch *w = arg;

	hp_sleep_ms(300);
	w->fault_done = true;
	return NULL;
}

static void test_longest_gap(void **state)
{
	/* writes every 50 ms, an outage, writes again, a smaller hiccup */
	const int64_t at[] = { 1000, 1050, 1100, 1150, 3400, 3450, 3900, 3950 };
	struct hp_probe p;
	int64_t end = 0;

	(void)state;
	fake_probe(&p, at, 8);
	/* from the last write before the fault at 1160: 1150 -> 3400 */
	assert_int_equal(hp_probe_longest_gap(&p, 1160, &end), 2250);
	assert_int_equal(end, 3400);
	/* from 3420 on: 3400 -> 3450, 3450 -> 3900 */
	assert_int_equal(hp_probe_longest_gap(&p, 3420, &end), 450);
	assert_int_equal(end, 3900);
	/* from before the first: every pair */
	assert_int_equal(hp_probe_longest_gap(&p, 0, NULL), 2250);
	/* nothing after: none */
	assert_int_equal(hp_probe_longest_gap(&p, 4000, &end), -1);
	assert_int_equal(end, -1);
	hp_probe_release(&p);
}

#define CLUSTER(L)                                                        \
	"{\"members\":[{\"name\":\"pg1\",\"role\":\"replica\",\"state\":"     \
	"\"running\"},{\"name\":\"pg2\",\"role\":\"" L "\",\"state\":"        \
	"\"running\"},{\"name\":\"pg3\",\"role\":\"replica\",\"state\":"      \
	"\"streaming\"}]}"

/* The watcher against a failover: pg1 led; the key goes, pg2 leads on
 * timeline 3, HAProxy routes to it, a write comes. */
static void test_watch_failover(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_fake_rest fr;
	struct hp_drill_watch w;
	struct hp_drill_trial t;
	struct hp_probe p;
	int64_t now = hp_now_ms(), at[2] = { now - 500, now + 120 };
	pthread_t th;
	size_t i;

	(void)state;
	hp_fake_rest_init(&fr);
	/* the old key once, then gone */
	hp_fake_rest_expect(&fr, "POST", "/v3/kv/range", 200,
			    "{\"header\":{},\"kvs\":[{\"value\":\"cGcx\"}]}",
			    1);
	hp_fake_rest_expect(&fr, "POST", "/v3/kv/range", 200,
			    "{\"header\":{}}", 0);
	hp_fake_rest_expect(&fr, "GET", "/cluster", 200,
			    CLUSTER("replica"), 1);
	hp_fake_rest_expect(&fr, "GET", "/cluster", 200, CLUSTER("leader"),
			    0);
	hp_fake_rest_expect(&fr, "GET", "10.0.0.2:8008/patroni", 200,
			    "{\"timeline\": 2}", 1);
	hp_fake_rest_expect(&fr, "GET", "10.0.0.2:8008/patroni", 200,
			    "{\"timeline\": 3}", 0);
	hp_fake_rest_expect(&fr, "GET", "/stats;csv", 200,
			    CSV_HEAD "primary,pg1,,UP\n", 1);
	hp_fake_rest_expect(&fr, "GET", "/stats;csv", 200,
			    CSV_HEAD "primary,pg1,,DOWN\n", 1);
	hp_fake_rest_expect(&fr, "GET", "/stats;csv", 200,
			    CSV_HEAD "primary,pg2,,UP\n", 0);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &fr;
	fake_probe(&p, at, 2);
	memset(&w, 0, sizeof(w));
	w.run = &x->run;
	w.victim = "pg1";
	w.old_timeline = 2;
	w.etcd = w.patroni = w.haproxy = hp_inventory_host(x->inv, "pg2");
	w.probe = &p;
	w.t0 = now;
	w.deadline_ms = 5000;
	hp_drill_trial_init(&t, 1, HP_DRILL_CRASH, "pg1");
	/* the fault call returns 300 ms later: the watch goes on till then */
	assert_int_equal(pthread_create(&th, NULL, fault_later, &w), 0);
	assert_int_equal(hp_drill_watch(&w, &t, &x->err), 0);
	pthread_join(th, NULL);
	assert_string_equal(t.new_leader, "pg2");
	for (i = 0; i < HP_DS_NR; i++)
		assert_true(t.at[i] >= 0);
	assert_int_equal(t.at[HP_DS_WRITE], 120);
	/* each in the round its answer came (rounds 50 ms apart): the key
	 * and the leader in the second, the timeline and HAProxy (which
	 * went DOWN in the second) in the third */
	assert_true(t.at[HP_DS_KEY] >= 40 && t.at[HP_DS_KEY] < 90);
	assert_true(t.at[HP_DS_LEADER] >= 40 && t.at[HP_DS_LEADER] < 90);
	assert_true(t.at[HP_DS_PROMOTED] >= 90);
	assert_true(t.at[HP_DS_HAPROXY] >= 90);
	assert_int_equal(fr.nr_unexpected, 0);
	/* the victim (10.0.0.1) was never asked */
	for (i = 0; i < fr.nr_reqs; i++)
		assert_null(strstr(fr.reqs[i].url, "10.0.0.1"));
	x->run.rest_ops = NULL;
	hp_probe_release(&p);
	hp_fake_rest_release(&fr);
	fx_free(x);
}

/* An in-place restart: the leader never changes; no write until the
 * deadline is a timeout naming the probe's last error. */
static void test_watch_restart_and_timeout(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_fake_rest fr;
	struct hp_drill_watch w;
	struct hp_drill_trial t;
	struct hp_probe p;
	int64_t now = hp_now_ms(), at[1] = { now - 100 };

	(void)state;
	hp_fake_rest_init(&fr);
	hp_fake_rest_expect(&fr, "POST", "/v3/kv/range", 200,
			    "{\"header\":{},\"kvs\":[{\"value\":\"cGcy\"}]}",
			    0);
	hp_fake_rest_expect(&fr, "GET", "/cluster", 200, CLUSTER("leader"),
			    0);
	hp_fake_rest_expect(&fr, "GET", "/stats;csv", 200,
			    CSV_HEAD "primary,pg2,,UP\n", 0);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &fr;
	fake_probe(&p, at, 1);
	hp_strlcpy(p.last_error, "server closed the connection",
		   sizeof(p.last_error));
	memset(&w, 0, sizeof(w));
	w.run = &x->run;
	w.victim = "pg2";
	w.old_timeline = 2;
	w.etcd = w.patroni = w.haproxy = hp_inventory_host(x->inv, "pg1");
	w.probe = &p;
	w.t0 = now;
	w.deadline_ms = 300;
	w.fault_done = true;
	hp_drill_trial_init(&t, 1, HP_DRILL_PGKILL, "pg2");
	assert_int_equal(hp_drill_watch(&w, &t, &x->err), HP_ETIMEOUT);
	assert_non_null(strstr(x->err.msg, "server closed the connection"));
	assert_int_equal(t.at[HP_DS_KEY], -1);
	assert_int_equal(t.at[HP_DS_LEADER], -1);
	assert_int_equal(t.at[HP_DS_HAPROXY], -1); /* never changed */
	assert_string_equal(t.new_leader, "");
	x->run.rest_ops = NULL;
	hp_probe_release(&p);
	hp_fake_rest_release(&fr);
	fx_free(x);
}

/* A hostile answer stops the watch with a clear error, no crash. */
static void test_watch_hostile(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_fake_rest fr;
	struct hp_drill_watch w;
	struct hp_drill_trial t;
	struct hp_probe p;

	(void)state;
	hp_fake_rest_init(&fr);
	hp_fake_rest_expect(&fr, "POST", "/v3/kv/range", 200,
			    "{\"header\":{},\"kvs\":[{\"value\":\"cGcy\"}]}",
			    0);
	hp_fake_rest_expect(&fr, "GET", "/cluster", 200,
			    "{\"members\":[{\"name\":\"evil\",\"role\":"
			    "\"leader\",\"state\":\"running\"}]}",
			    0);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &fr;
	fake_probe(&p, NULL, 0);
	memset(&w, 0, sizeof(w));
	w.run = &x->run;
	w.victim = "pg1";
	w.patroni = w.etcd = hp_inventory_host(x->inv, "pg2");
	w.probe = &p;
	w.t0 = hp_now_ms();
	w.deadline_ms = 2000;
	hp_drill_trial_init(&t, 1, HP_DRILL_CRASH, "pg1");
	assert_int_equal(hp_drill_watch(&w, &t, &x->err), HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "evil"));
	x->run.rest_ops = NULL;
	hp_probe_release(&p);
	hp_fake_rest_release(&fr);
	fx_free(x);
}

static struct hp_drill_trial trial_of(int n, int64_t key, int64_t write,
				      long rpo, bool done)
{
	struct hp_drill_trial t;

	hp_drill_trial_init(&t, n, HP_DRILL_CRASH, "pg1");
	hp_strlcpy(t.new_leader, "pg2", sizeof(t.new_leader));
	t.at[HP_DS_KEY] = key;
	t.at[HP_DS_LEADER] = key + 2000;
	t.at[HP_DS_PROMOTED] = key + 2100;
	t.at[HP_DS_HAPROXY] = key + 2500;
	t.at[HP_DS_WRITE] = write;
	t.at[HP_DS_GAP] = write + 40;
	t.rpo = rpo;
	t.acked = 400;
	t.done = done;
	return t;
}

static void test_report(void **state)
{
	struct hp_drill_trial t[4] = {
		trial_of(1, 7000, 9860, 0, true),
		trial_of(2, 6000, 8000, 0, true),
		trial_of(3, 8000, 12050, 1, true),
		trial_of(4, 1, 2, 99, false), /* did not run to the end */
	};
	struct hp_buf out = HP_BUF_INIT;
	int64_t v[4] = { 4, 1, 3, 2 };
	json_t *j, *s;

	(void)state;
	hp_drill_trial_line(&t[0], 3, &out);
	assert_string_equal(out.buf,
			    "trial 1/3 crash pg1 -> pg2: key 7.00 s, leader "
			    "9.00 s, promoted 9.10 s, haproxy 9.50 s, RTO "
			    "9.86 s, longest write gap 9.90 s, RPO 0 of 400 "
			    "rows\n");
	hp_buf_reset(&out);
	hp_drill_summary(t, 4, &out);
	/* over the three that ran to the end: 8.00 / 9.86 / 12.05 */
	assert_non_null(strstr(out.buf, "over 3 trials (min / median / max)"));
	assert_non_null(strstr(out.buf, "  RTO (first write)  8.00 s / 9.86 s / "
					"12.05 s\n"));
	assert_non_null(strstr(out.buf, "  key                6.00 s / 7.00 s / "
					"8.00 s\n"));
	assert_non_null(strstr(out.buf, "  RPO (rows)         0 / 0 / 1\n"));
	assert_non_null(strstr(out.buf, "  longest write gap  8.04 s / 9.90 s / "
					"12.09 s\n"));
	hp_buf_release(&out);

	assert_int_equal(hp_drill_median(v, 4), 2); /* the lower middle */
	assert_int_equal(hp_drill_median(v, 3), 2);
	assert_int_equal(hp_drill_median(v, 0), -1);

	j = hp_drill_json(HP_DRILL_CRASH, t, 4, false);
	assert_int_equal(json_array_size(json_object_get(j, "trials")), 4);
	s = json_object_get(json_object_get(j, "summary"), "write");
	assert_int_equal(json_integer_value(json_object_get(s, "min")), 8000);
	assert_int_equal(json_integer_value(json_object_get(s, "median")),
			 9860);
	assert_int_equal(json_integer_value(json_object_get(s, "max")),
			 12050);
	assert_true(json_is_false(json_object_get(j, "interrupted")));
	assert_true(json_is_false(json_object_get(
		json_array_get(json_object_get(j, "trials"), 3), "done")));
	json_decref(j);
}

static void test_report_unseen(void **state)
{
	struct hp_drill_trial t;
	struct hp_buf out = HP_BUF_INIT;
	json_t *j;

	(void)state;
	hp_drill_trial_init(&t, 1, HP_DRILL_PGKILL, "pg3");
	t.at[HP_DS_HAPROXY] = 900;
	t.at[HP_DS_WRITE] = 1234;
	t.done = true;
	hp_drill_trial_line(&t, 1, &out);
	assert_string_equal(out.buf, "trial 1/1 postgres-kill pg3 (kept "
				     "leading): key -, leader -, promoted -, "
				     "haproxy 0.90 s, RTO 1.23 s, longest "
				     "write gap -, RPO -\n");
	hp_buf_release(&out);
	j = hp_drill_json(HP_DRILL_PGKILL, &t, 1, true);
	assert_true(json_is_null(json_object_get(
		json_object_get(json_array_get(json_object_get(j, "trials"), 0),
				"stages_ms"),
		"key")));
	assert_true(json_is_true(json_object_get(j, "interrupted")));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_sync_ready),
		cmocka_unit_test(test_etcd_value),
		cmocka_unit_test(test_primary_up),
		cmocka_unit_test(test_leader_key),
		cmocka_unit_test(test_missing_of),
		cmocka_unit_test(test_pgkill_cmd),
		cmocka_unit_test(test_local_command),
		cmocka_unit_test(test_first_ack_after),
		cmocka_unit_test(test_longest_gap),
		cmocka_unit_test(test_watch_failover),
		cmocka_unit_test(test_watch_restart_and_timeout),
		cmocka_unit_test(test_watch_hostile),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_report_unseen),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
