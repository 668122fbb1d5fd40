/*
 * Staged DCS changes (phases/staged*.c, phases/rolling.c): the pure parts
 * (the patch, GUC names, the SQL literal, the psql command, the restart
 * order, the judgment of /cluster answers), and hp_dcs_converge through
 * the REST seam and the fake transport: a simulated Patroni cluster for
 * the order of actions, and the scripted fake REST server for hostile and
 * broken answers. Every answer a test feeds must end in a clear error,
 * never a crash (the binary runs under ASan and UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fake_rest.h"
#include "fake_transport.h"
#include "phases.h"

/* ---- fixture ------------------------------------------------------------- */

static const char inv_yaml[] =
	"cluster: {name: t}\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"secrets: {superuser: dba}\n"
	"validation: {timeout_s: 1, soak_s: 0}\n"
	"patroni: {dcs: {loop_wait: 1}}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n";

/* The psql command every SQL call must use: no SQL, no parameter name. */
static const char psql_cmd[] =
	"cd / && 'runuser' '-u' 'postgres' '--' 'psql' '-X' '-q' '-A' '-t' "
	"'-v' 'ON_ERROR_STOP=1' '-U' 'dba' '-d' 'postgres'";

/* What the leader's PostgreSQL answers: running values of the hot-standby
 * settings (max_connections from the test). */
static char *psql_answer(const char *restart, long long max_connections)
{
	return xasprintf("%s%sS|max_connections|%lld\n"
			 "S|max_prepared_transactions|0\n"
			 "S|max_locks_per_transaction|64\n"
			 "S|max_wal_senders|10\nS|max_worker_processes|8\n",
			 restart ? restart : "", restart ? "\n" : "",
			 max_connections);
}

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
	x->run.dcs_want = x->want;
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

/* No byte below 0x20 (but none at all is expected) or at/above 0x7f. */
static void assert_printable(const char *s)
{
	for (; *s; s++)
		assert_true((unsigned char)*s >= 0x20 &&
			    (unsigned char)*s < 0x7f);
}

static const char *fx_msg(struct fx *x)
{
	assert_printable(x->err.msg);
	return x->err.msg;
}

/* ---- a simulated Patroni cluster ----------------------------------------- */

/*
 * Three members a, b, c at 10.0.0.1-3. Actions are logged in order
 * ("PATCH a;restart b;switchover a>b;") so a test can check the exact
 * sequence. A PATCH that changes a restart parameter makes every member
 * pending; a restart clears the member's flag; a switchover moves the
 * leader and clears the former leader's flag (its demotion restarts it).
 */
enum sim_transit {
	T_NONE,
	T_STARTING,  /* /cluster: c is "starting" */
	T_SCHEDULED, /* /cluster: a scheduled switchover */
	T_DEMOTED,   /* /cluster: a has role "demoted", no leader */
	T_NOSTREAM,  /* leader's /patroni: c not streaming */
};

struct sim {
	bool pending[3];
	int leader;
	json_t *config;
	struct hp_buf log;
	/* the cluster is in transition for the first transit_looks GET
	 * /cluster answers; a write while it is, is a bug */
	enum sim_transit transit;
	int transit_looks;
	bool shown_transit; /* the last answer of its kind showed it */
	bool acted_in_transit;
	int busy;	  /* POST /restart answers 503 "in progress" */
	const char *fail; /* "POST /restart": answer fail_status */
	long fail_status;
	const char *fail_body;
	int nr_writes;
	int failover_on_patch; /* > 0: that member leads after the PATCH */
};

static void sim_init(struct sim *s, const char *config)
{
	memset(s, 0, sizeof(*s));
	hp_buf_init(&s->log, 0);
	s->config = json_loads(config, 0, NULL);
	assert_non_null(s->config);
}

static void sim_release(struct sim *s)
{
	json_decref(s->config);
	hp_buf_release(&s->log);
}

static const char *const sim_names[] = {"a", "b", "c"};

static json_t *sim_cluster(struct sim *s)
{
	json_t *members = json_array(), *c;
	bool transit = s->transit_looks > 0;
	int i;

	for (i = 0; i < 3; i++) {
		const char *role = i == s->leader ? "leader" : "replica";
		const char *state = i == s->leader ? "running" : "streaming";

		if (transit && s->transit == T_STARTING && i == 2)
			state = "starting";
		if (transit && s->transit == T_DEMOTED && i == s->leader)
			role = "demoted";
		json_array_append_new(
			members,
			json_pack("{s:s, s:s, s:s, s:i, s:i, s:b}", "name",
				  sim_names[i], "role", role, "state", state,
				  "timeline", 3, "lag", 0, "pending_restart",
				  s->pending[i]));
	}
	c = json_pack("{s:o}", "members", members);
	if (transit && s->transit == T_SCHEDULED)
		json_object_set_new(c, "scheduled_switchover",
				    json_pack("{s:s}", "from", "a"));
	return c;
}

static json_t *sim_patroni(struct sim *s, int m)
{
	json_t *p = json_pack("{s:s, s:s}", "state", "running", "role",
			      m == s->leader ? "master" : "replica");
	int i;

	if (s->pending[m])
		json_object_set_new(p, "pending_restart", json_true());
	if (m == s->leader) {
		json_t *repl = json_array();

		for (i = 0; i < 3; i++) {
			bool down = s->transit_looks > 0 &&
				    s->transit == T_NOSTREAM && i == 2;

			if (i != m)
				json_array_append_new(
					repl, json_pack("{s:s, s:s}",
							"application_name",
							sim_names[i], "state",
							down ? "startup"
							     : "streaming"));
		}
		json_object_set_new(p, "replication", repl);
	}
	return p;
}

/* Merge a PATCH into cfg: null removes, objects recurse. */
static void sim_merge(json_t *cfg, const json_t *patch)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)patch, k, v)
	{
		json_t *old = json_object_get(cfg, k);

		if (json_is_null(v))
			json_object_del(cfg, k);
		else if (json_is_object(v) && json_is_object(old))
			sim_merge(old, v);
		else
			json_object_set(cfg, k, v);
	}
}

static int sim_write(struct sim *s, int m, const char *method, const char *path,
		     const json_t *body, long *status, char **out)
{
	s->nr_writes++;
	if (s->transit_looks > 0 || s->shown_transit)
		s->acted_in_transit = true;
	if (!strcmp(method, "PATCH") && !strcmp(path, "/config")) {
		const json_t *pp = json_object_get(
			json_object_get(body, "postgresql"), "parameters");

		hp_buf_addf(&s->log, "PATCH %s;", sim_names[m]);
		sim_merge(s->config, body);
		if (s->failover_on_patch)
			s->leader = s->failover_on_patch;
		if (json_object_get(pp, "max_connections") ||
		    json_object_get(pp, "shared_buffers"))
			s->pending[0] = s->pending[1] = s->pending[2] = true;
		*out = json_dumps(s->config, JSON_COMPACT);
	} else if (!strcmp(path, "/restart")) {
		if (s->busy > 0) {
			s->busy--;
			*status = 503;
			*out = xstrdup("demote already in progress");
			return 0;
		}
		hp_buf_addf(&s->log, "restart %s;", sim_names[m]);
		s->pending[m] = false;
		*out = xstrdup("restarted successfully");
	} else if (!strcmp(path, "/switchover")) {
		const char *l =
			json_string_value(json_object_get(body, "leader"));
		const char *c =
			json_string_value(json_object_get(body, "candidate"));
		int i;

		if (!l || !c || strcmp(l, sim_names[s->leader])) {
			*status = 412;
			*out = xstrdup("leader name does not match");
			return 0;
		}
		hp_buf_addf(&s->log, "switchover %s>%s;", l, c);
		s->pending[s->leader] = false;
		for (i = 0; i < 3; i++)
			if (!strcmp(c, sim_names[i]))
				s->leader = i;
		*out = xasprintf("Successfully switched over to \"%s\"", c);
	} else {
		return -1;
	}
	*status = 200;
	return 0;
}

/* One answer that shows the transition (or not) was given. */
static void sim_looked(struct sim *s)
{
	s->shown_transit = s->transit_looks > 0;
	if (s->transit_looks > 0)
		s->transit_looks--;
}

static int sim_call(void *ctx, const struct hp_rest *r, const char *method,
		    const char *url, const json_t *body,
		    struct hp_rest_resp *resp, struct hp_err *err)
{
	struct sim *s = ctx;
	const char *p = strstr(url, "10.0.0.");
	const char *path = p ? strchr(p, '/') : NULL;
	char *out = NULL, *what = NULL;
	long status = 200;
	int m;

	if (!p || !path)
		return hp_err_set(err, HP_ECONNECT, "sim: bad url %s", url);
	m = p[7] - '1';
	assert_true(m >= 0 && m < 3);
	what = xasprintf("%s %s", method, path);
	if (s->fail && !strcmp(s->fail, what)) {
		assert_string_equal(r->user, "patroni");
		status = s->fail_status;
		out = xstrdup(s->fail_body ? s->fail_body : "error");
	} else if (!strcmp(method, "GET") && !strcmp(path, "/cluster")) {
		json_t *c = sim_cluster(s);

		out = json_dumps(c, JSON_COMPACT);
		json_decref(c);
		if (s->transit != T_NOSTREAM)
			sim_looked(s);
	} else if (!strcmp(method, "GET") && !strcmp(path, "/patroni")) {
		json_t *c = sim_patroni(s, m);

		out = json_dumps(c, JSON_COMPACT);
		json_decref(c);
		if (s->transit == T_NOSTREAM && m == s->leader)
			sim_looked(s);
	} else if (!strcmp(method, "GET") && !strcmp(path, "/config")) {
		out = json_dumps(s->config, JSON_COMPACT);
	} else {
		/* writes carry the REST API credentials */
		assert_string_equal(r->user, "patroni");
		assert_true(r->password != NULL);
		if (sim_write(s, m, method, path, body, &status, &out) < 0) {
			free(what);
			return hp_err_set(err, HP_ECONNECT, "sim: %s %s",
					  method, url);
		}
	}
	free(what);
	resp->status = status;
	hp_buf_adds(&resp->body, out);
	free(out);
	return 0;
}

static const struct hp_rest_ops sim_ops = {sim_call};

/* ---- hp_dcs_patch -------------------------------------------------------- */

static json_t *J(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	return j;
}

static void test_patch_unchanged_gives_null(void **state)
{
	json_t *want = J("{\"ttl\": 30, \"postgresql\": {\"parameters\": "
			 "{\"max_connections\": \"100\", \"hot_standby\": "
			 "true}}}");
	json_t *have = J("{\"ttl\": \"30\", \"postgresql\": {\"parameters\": "
			 "{\"max_connections\": 100, \"hot_standby\": "
			 "\"on\"}}}");
	struct hp_buf desc = HP_BUF_INIT;

	(void)state;
	assert_null(hp_dcs_patch(want, have, "", &desc));
	assert_int_equal(desc.len, 0);
	/* and nothing differs from itself */
	assert_null(hp_dcs_patch(want, want, "", &desc));
	hp_buf_release(&desc);
	json_decref(want);
	json_decref(have);
}

static void test_patch_nulls_removed_parameters(void **state)
{
	json_t *want = J("{\"postgresql\": {\"parameters\": "
			 "{\"max_connections\": \"100\"}}}");
	json_t *have = J("{\"postgresql\": {\"parameters\": "
			 "{\"max_connections\": \"100\", \"work_mem\": "
			 "\"8MB\"}}, \"ttl\": 30}");
	struct hp_buf desc = HP_BUF_INIT;
	json_t *patch;
	char *s;

	(void)state;
	patch = hp_dcs_patch(want, have, "", &desc);
	assert_non_null(patch);
	s = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
	/* only the removed parameter, as null; ttl outside parameters is
	 * not removed (Patroni's own keys) */
	assert_string_equal(s, "{\"postgresql\":{\"parameters\":"
			       "{\"work_mem\":null}}}");
	assert_string_equal(desc.buf, "postgresql.parameters.work_mem: 8MB "
				      "-> (unset)\n");
	free(s);
	json_decref(patch);
	hp_buf_release(&desc);
	json_decref(want);
	json_decref(have);
}

static void test_patch_nested_keys(void **state)
{
	json_t *want = J("{\"ttl\": 20, \"loop_wait\": 10, \"postgresql\": "
			 "{\"use_pg_rewind\": true, \"parameters\": "
			 "{\"max_connections\": \"200\", \"work_mem\": "
			 "\"4MB\"}}}");
	json_t *have = J("{\"ttl\": 30, \"loop_wait\": 10, \"postgresql\": "
			 "{\"use_pg_rewind\": true, \"parameters\": "
			 "{\"max_connections\": \"100\"}}}");
	struct hp_buf desc = HP_BUF_INIT;
	json_t *patch;
	char *s;

	(void)state;
	patch = hp_dcs_patch(want, have, "", &desc);
	s = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"postgresql\":{\"parameters\":"
			       "{\"max_connections\":\"200\",\"work_mem\":"
			       "\"4MB\"}},\"ttl\":20}");
	assert_string_equal(desc.buf,
			    "ttl: 30 -> 20\n"
			    "postgresql.parameters.max_connections: 100 -> "
			    "200\n"
			    "postgresql.parameters.work_mem: (unset) -> 4MB\n");
	free(s);
	json_decref(patch);
	/* a whole section missing in have is sent whole */
	json_decref(have);
	have = J("{\"ttl\": 20, \"loop_wait\": 10}");
	hp_buf_reset(&desc);
	patch = hp_dcs_patch(want, have, "", &desc);
	s = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"postgresql\":{\"parameters\":"
			       "{\"max_connections\":\"200\",\"work_mem\":"
			       "\"4MB\"},\"use_pg_rewind\":true}}");
	free(s);
	json_decref(patch);
	hp_buf_release(&desc);
	json_decref(want);
	json_decref(have);
}

static void test_patch_desc_is_sanitized(void **state)
{
	json_t *want = J("{\"postgresql\": {\"parameters\": {}}}");
	json_t *have = J("{\"postgresql\": {\"parameters\": "
			 "{\"x\\u001b[2J\\nfake: line\": "
			 "\"\\u001b]0;pwned\\u0007\"}}}");
	struct hp_buf desc = HP_BUF_INIT;
	json_t *patch;

	(void)state;
	patch = hp_dcs_patch(want, have, "", &desc);
	assert_non_null(patch);
	/* one line: the key's newline did not fake a second one */
	assert_non_null(strchr(desc.buf, '\n'));
	assert_ptr_equal(strchr(desc.buf, '\n'), desc.buf + desc.len - 1);
	desc.buf[desc.len - 1] = '\0';
	assert_printable(desc.buf);
	json_decref(patch);
	hp_buf_release(&desc);
	json_decref(want);
	json_decref(have);
}

/* ---- GUC names, SQL literals, the psql command --------------------------- */

static void test_guc_names(void **state)
{
	static const char *const good[] = {
		"max_connections",
		"pg_stat_statements.track",
		"_x",
		"a1",
		"Work_Mem",
		"a.b1",
		"x_.y_",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij"
		"k",
	};
	static const char *const bad[] = {
		"",
		"1abc",
		"a..b",
		"a.b.c",
		".a",
		"a.",
		"a b",
		"a'b",
		"a;b",
		"a\nb",
		"a-b",
		"a.1b",
		"\\! id",
		"\xc3\xa4",
		"a$",
		"x'); COPY (SELECT 1) TO PROGRAM 'id > /tmp/pwned'; SELECT ('",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij"
		"kl",
	};
	size_t i;

	(void)state;
	assert_int_equal(strlen(good[HP_ARRAY_SIZE(good) - 1]), 63);
	for (i = 0; i < HP_ARRAY_SIZE(good); i++)
		assert_true(hp_guc_name_valid(good[i]));
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++)
		if (hp_guc_name_valid(bad[i]))
			fail_msg("'%s' taken as a GUC name", bad[i]);
	assert_false(hp_guc_name_valid(NULL));
}

static void test_sql_literal_quotes(void **state)
{
	static const struct {
		const char *in, *out;
	} ok[] = {
		{"max_connections", "'max_connections'"},
		{"", "''"},
		{"it's", "'it''s'"},
		{"'", "''''"},
		{"x'); COPY (SELECT 1) TO PROGRAM 'id'; SELECT ('",
		 "'x''); COPY (SELECT 1) TO PROGRAM ''id''; SELECT ('''"},
		{"a;b -- c /* d", "'a;b -- c /* d'"},
		{":'v' :v :\"v\"", "':''v'' :v :\"v\"'"},
	};
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(ok); i++) {
		hp_buf_reset(&b);
		assert_int_equal(
			hp_sql_literal(&b, ok[i].in, strlen(ok[i].in), &err),
			0);
		assert_string_equal(b.buf, ok[i].out);
	}
	hp_buf_release(&b);
}

static void test_sql_literal_refuses(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		const char *why;
	} bad[] = {
		{"a\\b", 3, "backslash"},
		{"x\n\\! id", 7, "control character"},
		{"\\! id", 5, "backslash"},
		{"a\nb", 3, "control character"},
		{"a\rb", 3, "control character"},
		{"a\0b", 3, "NUL"},
		{"a\x1b[2J", 5, "control character"},
		{"a\x7f", 2, "control character"},
		{"\xc3\xa4", 2, "non-ASCII"},
		{"\xe2\x80\xa8", 3, "non-ASCII"}, /* U+2028 */
	};
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		hp_buf_reset(&b);
		hp_buf_adds(&b, "IN (");
		hp_err_clear(&err);
		assert_int_equal(
			hp_sql_literal(&b, bad[i].in, bad[i].len, &err),
			HP_EINVALID);
		/* nothing of it was appended */
		assert_string_equal(b.buf, "IN (");
		assert_non_null(strstr(err.msg, bad[i].why));
	}
	hp_buf_release(&b);
}

static void test_psql_command(void **state)
{
	struct hp_buf b = HP_BUF_INIT;

	(void)state;
	hp_psql_command(&b, "dba");
	assert_string_equal(b.buf, psql_cmd);
	hp_buf_reset(&b);
	/* the role goes through the shell-quoting function */
	hp_psql_command(&b, "x'y");
	assert_non_null(strstr(b.buf, "'-U' 'x'\\''y' '-d'"));
	hp_buf_reset(&b);
	hp_psql_command(&b, NULL);
	assert_non_null(strstr(b.buf, "'-U' 'postgres' '-d'"));
	/* never -c: SQL goes on standard input */
	assert_null(strstr(b.buf, "-c"));
	hp_buf_release(&b);
}

static const char hs_sql[] =
	"SELECT 'S', name, setting FROM pg_settings WHERE name IN "
	"('max_connections', 'max_prepared_transactions', "
	"'max_locks_per_transaction', 'max_wal_senders', "
	"'max_worker_processes');\n";

static void test_settings_sql(void **state)
{
	json_t *params = J("{\"max_connections\": \"200\", \"Shared_Buffers\": "
			   "null, \"pg_stat_statements.max\": 5}");
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	char *want;

	(void)state;
	assert_int_equal(hp_staged_settings_sql(&b, params, &err), 0);
	want = xasprintf("SELECT 'R', name FROM pg_settings WHERE context = "
			 "'postmaster' AND name IN ('max_connections', "
			 "'shared_buffers', 'pg_stat_statements.max');\n%s",
			 hs_sql);
	assert_string_equal(b.buf, want);
	free(want);
	hp_buf_reset(&b);
	assert_int_equal(hp_staged_settings_sql(&b, NULL, &err), 0);
	assert_string_equal(b.buf, hs_sql);
	json_decref(params);
	/* a hostile name: refused, named sanitized, nothing built */
	params = J("{\"max_connections\": 1, \"x'); SELECT 1; --\\n\\\\! id\": "
		   "1}");
	hp_buf_reset(&b);
	assert_int_equal(hp_staged_settings_sql(&b, params, &err), HP_EVERIFY);
	assert_int_equal(b.len, 0);
	assert_non_null(strstr(err.msg, "not a valid PostgreSQL setting"));
	assert_non_null(strstr(err.msg, "x'); SELECT 1; -- \\! id"));
	assert_printable(err.msg);
	json_decref(params);
	hp_buf_release(&b);
}

static void test_settings_parse(void **state)
{
	json_t *params = J("{\"max_connections\": \"200\", \"Shared_Buffers\": "
			   "\"1GB\", \"work_mem\": \"4MB\"}");
	struct hp_strlist need = {NULL, 0, 0};
	json_t *running = NULL;
	struct hp_err err;
	char *out = psql_answer("R|max_connections\nR|shared_buffers", 150);
	char *s;

	(void)state;
	assert_int_equal(
		hp_staged_settings_parse(out, params, &need, &running, &err),
		0);
	assert_int_equal(need.nr, 2);
	assert_string_equal(need.items[0], "max_connections");
	assert_string_equal(need.items[1], "Shared_Buffers");
	s = json_dumps(running, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"postgresql\":{\"parameters\":{"
			       "\"max_connections\":150,"
			       "\"max_locks_per_transaction\":64,"
			       "\"max_prepared_transactions\":0,"
			       "\"max_wal_senders\":10,"
			       "\"max_worker_processes\":8}}}");
	free(s);
	free(out);
	json_decref(running);
	hp_strlist_clear(&need);
	json_decref(params);
}

static void test_settings_parse_refuses(void **state)
{
	json_t *params = J("{\"max_connections\": \"200\"}");
	static const char *const bad[] = {
		"R|work_mem\n",		   /* not asked */
		"S|max_connections|abc\n", /* not a number */
		"S|max_connections|-1\n",
		"S|shared_buffers|128\n", /* not a standby setting */
		"X|max_connections\n",
		"\x1b]0;pwned\x07\n",
		"S|max_connections|12345678901\n",
		"R|max_connections\n", /* the standby settings lack */
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		struct hp_strlist need = {NULL, 0, 0};
		json_t *running = NULL;
		struct hp_err err;
		char *out = psql_answer(bad[i], 100);

		if (i == HP_ARRAY_SIZE(bad) - 1) {
			free(out);
			out = xstrdup(bad[i]);
		}
		hp_err_clear(&err);
		assert_int_equal(hp_staged_settings_parse(out, params, &need,
							  &running, &err),
				 HP_EREMOTE);
		assert_null(running);
		assert_printable(err.msg);
		hp_strlist_clear(&need);
		free(out);
	}
	json_decref(params);
}

/* ---- the restart order --------------------------------------------------- */

static json_t *cfg_param(const char *name, const char *value)
{
	json_t *params = json_object();

	if (value)
		json_object_set_new(params, name, json_string(value));
	return json_pack("{s:{s:o}}", "postgresql", "parameters", params);
}

static void test_order_each_standby_setting(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < hp_standby_settings_nr; i++) {
		const char *n = hp_standby_settings[i].name;
		json_t *lo = cfg_param(n, "20"), *hi = cfg_param(n, "300");
		json_t *unset = cfg_param(n, NULL);
		json_t *hi_int = json_pack("{s:{s:{s:i}}}", "postgresql",
					   "parameters", n, 300);

		/* grow: replicas first, then a switchover */
		if (hp_restart_leader_first(lo, hi))
			fail_msg("%s: grow restarts the leader first", n);
		/* shrink: the leader first, no switchover */
		if (!hp_restart_leader_first(hi, lo))
			fail_msg("%s: shrink restarts replicas first", n);
		if (!hp_restart_leader_first(hi_int, lo))
			fail_msg("%s: shrink (from a number) missed", n);
		if (hp_restart_leader_first(lo, hi_int))
			fail_msg("%s: grow (to a number) missed", n);
		/* unchanged */
		assert_false(hp_restart_leader_first(hi, hi));
		/* removed from the configuration: back to the default (at
		 * most 100 for all five), a shrink from 300 */
		if (!hp_restart_leader_first(hi, unset))
			fail_msg("%s: removal is a shrink", n);
		if (hp_restart_leader_first(unset, hi))
			fail_msg("%s: default -> 300 is a grow", n);
		/* not a whole number: leader first, the safe order */
		json_decref(lo);
		lo = cfg_param(n, "lots");
		assert_true(hp_restart_leader_first(hi, lo));
		assert_true(hp_restart_leader_first(lo, hi));
		json_decref(lo);
		json_decref(hi);
		json_decref(hi_int);
		json_decref(unset);
	}
}

static void test_order_other_parameters(void **state)
{
	json_t *a = cfg_param("shared_buffers", "1GB");
	json_t *b = cfg_param("shared_buffers", "128MB");
	json_t *mixed_have = J("{\"postgresql\": {\"parameters\": "
			       "{\"max_connections\": \"100\", "
			       "\"max_wal_senders\": \"10\"}}}");
	json_t *mixed_want = J("{\"postgresql\": {\"parameters\": "
			       "{\"max_connections\": \"200\", "
			       "\"max_wal_senders\": \"5\"}}}");

	(void)state;
	/* a restart parameter that is no hot-standby setting: replicas
	 * first, whichever way it goes */
	assert_false(hp_restart_leader_first(a, b));
	assert_false(hp_restart_leader_first(b, a));
	assert_false(hp_restart_leader_first(NULL, NULL));
	/* one grows, one shrinks: the shrink decides */
	assert_true(hp_restart_leader_first(mixed_have, mixed_want));
	json_decref(a);
	json_decref(b);
	json_decref(mixed_have);
	json_decref(mixed_want);
}

/* ---- judging /cluster and /config ---------------------------------------- */

static struct hp_inventory *load_inv(struct hp_diags *d)
{
	struct hp_inventory *inv = NULL;

	assert_int_equal(hp_inventory_load_string(&inv, inv_yaml,
						  sizeof(inv_yaml) - 1,
						  "/tmp/t.yml", d),
			 0);
	return inv;
}

#define M(n, r, s) "{\"name\": " n ", \"role\": " r ", \"state\": " s "}"
#define OK3(extra)                                                             \
	"{\"members\": [" M("\"a\"", "\"leader\"", "\"running\"") ", " M(      \
		"\"b\"", "\"replica\"",                                        \
		"\"streaming\"") ", " M("\"c\"", "\"sync_standby\"",           \
					"\"running\"") "]" extra "}"

static void test_cluster_check(void **state)
{
	static const struct {
		const char *json;
		const char *why; /* NULL: stable */
	} cases[] = {
		{OK3(""), NULL},
		{OK3(", \"scheduled_switchover\": null"), NULL},
		{OK3(", \"scheduled_switchover\": {\"from\": \"a\"}"),
		 "a switchover is scheduled"},
		{"{\"members\": [" M(
			 "\"a\"", "\"leader\"",
			 "\"running\"") ", " M("\"b\"", "\"replica\"",
					       "\"starting\"") ", " M("\"c\"",
								      "\"replic"
								      "a\"",
								      "\"runnin"
								      "g\"") "]"
									     "}",
		 "member b is starting"},
		{"{\"members\": [" M(
			 "\"a\"", "\"demoted\"",
			 "\"stopping\"") ", " M("\"b\"", "\"replica\"",
						"\"running\"") ", " M("\"c\"",
								      "\"replic"
								      "a\"",
								      "\"runnin"
								      "g\"") "]"
									     "}",
		 "member a has role demoted"},
		{"{\"members\": [" M(
			 "\"a\"", "\"replica\"",
			 "\"running\"") ", " M("\"b\"", "\"replica\"",
					       "\"running\"") ", " M("\"c\"",
								     "\"replica"
								     "\"",
								     "\"running"
								     "\"") "]}",
		 "no member is the leader"},
		{"{\"members\": [" M("\"a\"", "\"leader\"",
				     "\"running\"") ", " M("\"b\"",
							   "\"replica\"",
							   "\"running\"") "]}",
		 "member c is missing from the cluster"},
		{"{\"members\": [" M(
			 "\"a\"", "\"leader\"",
			 "\"running\"") ", " M("\"b\"", "\"replica\"",
					       "\"restarting\"") ", " M("\"c\"",
									"\"repl"
									"ica\"",
									"\"runn"
									"ing\"") "]}",
		 "member b is restarting"},
	};
	struct hp_diags d = {0};
	struct hp_inventory *inv = load_inv(&d);
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		json_t *c = J(cases[i].json);
		struct hp_buf why = HP_BUF_INIT;
		const char *leader = NULL;
		bool stable = false;
		struct hp_err err;

		assert_int_equal(hp_staged_cluster_check(inv, c, &leader,
							 &stable, &why, &err),
				 0);
		if (!cases[i].why) {
			assert_true(stable);
			assert_string_equal(leader, "a");
			/* borrowed from the inventory, not the answer */
			assert_ptr_equal(leader, inv->hosts[0].name);
		} else {
			assert_false(stable);
			assert_string_equal(why.buf, cases[i].why);
		}
		hp_buf_release(&why);
		json_decref(c);
	}
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

static void test_cluster_check_hostile(void **state)
{
	static const struct {
		const char *json;
		const char *msg;
	} cases[] = {
		{"[]", "not a JSON object"},
		{"{\"members\": {}}", "no \"members\" array"},
		{"{\"members\": [" M("\"zz\\u001b[31m\"", "\"leader\"",
				     "\"running\"") "]}",
		 "'zz [31m' is not a patroni host of the inventory"},
		{"{\"members\": [" M("\"a\"", "\"leader\"",
				     "\"running\"") ", " M("\"b\"",
							   "\"leader\"",
							   "\"running\"") "]}",
		 "two leaders, 'a' and 'b'"},
		{"{\"members\": [" M("5", "\"leader\"", "\"running\"") "]}",
		 "member 1 has no string \"name\""},
		{"{\"members\": [" M("\"a\"", "1", "\"running\"") "]}",
		 "has no string \"role\""},
		{"{\"members\": [" M("\"a\"", "\"leader\"", "true") "]}",
		 "or \"state\""},
		{"{\"members\": [" M("null", "\"leader\"", "\"running\"") "]}",
		 "no string \"name\""},
		{"{\"members\": [7]}", "member 1 is not an object"},
		{"{\"members\": [" M("\"a\"", "\"leader\"",
				     "\"running\"") ", " M("\"a\"",
							   "\"replica\"",
							   "\"running\"") "]}",
		 "lists member a twice"},
	};
	struct hp_diags d = {0};
	struct hp_inventory *inv = load_inv(&d);
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		json_t *c = J(cases[i].json);
		struct hp_buf why = HP_BUF_INIT;
		const char *leader = "x";
		bool stable = true;
		struct hp_err err;

		hp_err_clear(&err);
		assert_int_equal(hp_staged_cluster_check(inv, c, &leader,
							 &stable, &why, &err),
				 HP_EVERIFY);
		assert_null(leader);
		assert_false(stable);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err.msg,
				 cases[i].msg);
		assert_printable(err.msg);
		hp_buf_release(&why);
		json_decref(c);
	}
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

static void test_streaming(void **state)
{
	struct hp_diags d = {0};
	struct hp_inventory *inv = load_inv(&d);
	json_t *ok = J("{\"replication\": [{\"application_name\": \"b\", "
		       "\"state\": \"streaming\"}, {\"application_name\": "
		       "\"c\", \"state\": \"streaming\"}]}");
	json_t *catchup = J("{\"replication\": [{\"application_name\": \"b\", "
			    "\"state\": \"streaming\"}, {\"application_name\": "
			    "\"c\", \"state\": \"catchup\"}]}");
	json_t *odd = J("{\"replication\": [1, {\"application_name\": 2}, "
			"{\"application_name\": \"b\", \"state\": "
			"\"streaming\"}]}");
	json_t *none = J("{\"replication\": \"b\"}");
	struct hp_buf why = HP_BUF_INIT;

	(void)state;
	assert_true(hp_staged_streaming(inv, "a", ok, &why));
	assert_false(hp_staged_streaming(inv, "a", catchup, &why));
	assert_string_equal(why.buf,
			    "replica c is not streaming from leader a");
	hp_buf_reset(&why);
	assert_false(hp_staged_streaming(inv, "a", odd, &why));
	assert_false(hp_staged_streaming(inv, "a", none, &why));
	/* b leads: a must stream too */
	hp_buf_reset(&why);
	assert_false(hp_staged_streaming(inv, "b", ok, &why));
	assert_string_equal(why.buf,
			    "replica a is not streaming from leader b");
	hp_buf_release(&why);
	json_decref(ok);
	json_decref(catchup);
	json_decref(odd);
	json_decref(none);
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

static void test_config_check(void **state)
{
	static const struct {
		const char *json;
		const char *msg; /* NULL: accepted */
	} cases[] = {
		{"{}", NULL},
		{"{\"ttl\": 30, \"postgresql\": {\"parameters\": "
		 "{\"a.b\": \"1\", \"x\": 1, \"y\": 1.5, \"z\": true, "
		 "\"w\": null}}}",
		 NULL},
		{"[]", "not a JSON object"},
		{"{\"postgresql\": \"on\"}", "\"postgresql\" is not an object"},
		{"{\"postgresql\": {\"parameters\": [1]}}",
		 "\"postgresql.parameters\" is not an object"},
		{"{\"postgresql\": {\"parameters\": {\"work_mem\": {}}}}",
		 "parameter work_mem is a JSON object"},
		{"{\"postgresql\": {\"parameters\": {\"work_mem\": [1]}}}",
		 "parameter work_mem is a JSON array"},
		{"{\"postgresql\": {\"parameters\": {\"x'); COPY (SELECT 1) "
		 "TO PROGRAM 'id'; SELECT ('\": \"1\"}}}",
		 "parameter name 'x'); COPY (SELECT 1) TO PROGRAM 'id'; "
		 "SELECT ('' is not a valid PostgreSQL setting name"},
		{"{\"postgresql\": {\"parameters\": {\"a\\nb\\u001b\": 1}}}",
		 "parameter name 'a b ' is not"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		json_t *c = J(cases[i].json);
		struct hp_err err;
		int r;

		hp_err_clear(&err);
		r = hp_dcs_config_check(c, "GET /config on a", &err);
		if (!cases[i].msg) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, HP_EVERIFY);
			if (!strstr(err.msg, cases[i].msg))
				fail_msg("case %zu: '%s' lacks '%s'", i,
					 err.msg, cases[i].msg);
			assert_non_null(strstr(err.msg, "GET /config on a"));
			assert_printable(err.msg);
		}
		json_decref(c);
	}
}

/* ---- through the seam: the order of actions ------------------------------ */

static const char cfg100[] = "{\"ttl\": 30, \"postgresql\": {\"parameters\": "
			     "{\"max_connections\": \"100\"}}}";

/* The psql call on host 0: exactly the one command, the SQL on stdin. */
static void assert_psql_call(struct fx *x, const char *stdin_sql)
{
	long i = hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, "psql", 0);

	assert_true(i >= 0);
	assert_string_equal(x->fake[0].calls[i].what, psql_cmd);
	assert_null(strstr(x->fake[0].calls[i].what, "max_connections"));
	assert_string_equal(x->fake[0].calls[i].data, stdin_sql);
	/* only one */
	assert_int_equal(hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, NULL,
					   (size_t)i + 1),
			 -1);
	assert_int_equal(x->fake[1].nr_calls + x->fake[2].nr_calls, 0);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
}

/* ---- through the seam: waiting for a stable cluster ---------------------- */

static void transit_case(enum sim_transit kind, int looks, bool settles)
{
	struct sim s;
	struct fx *x;
	char *answer = psql_answer("R|max_connections", 100);
	int r;

	sim_init(&s, cfg100);
	s.transit = kind;
	s.transit_looks = looks;
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
		assert_int_equal(s.transit_looks, 0);
		assert_string_equal(s.log.buf, "PATCH a;restart b;restart c;"
					       "switchover a>b;");
	} else {
		assert_int_equal(r, HP_ETIMEOUT);
		assert_int_equal(s.nr_writes, 0);
		assert_non_null(strstr(fx_msg(x), "did not become stable"));
	}
	free(answer);
	fx_free(x);
	sim_release(&s);
}

static void test_waits_for_starting_member(void **state)
{
	(void)state;
	transit_case(T_STARTING, 1, true);
}

static void test_waits_for_scheduled_switchover(void **state)
{
	(void)state;
	transit_case(T_SCHEDULED, 1, true);
}

static void test_waits_for_demotion(void **state)
{
	(void)state;
	transit_case(T_DEMOTED, 1, true);
}

static void test_waits_for_streaming(void **state)
{
	(void)state;
	/* /patroni is asked once per look: two looks in transition */
	transit_case(T_NOSTREAM, 1, true);
}

static void test_transition_past_deadline_is_an_error(void **state)
{
	(void)state;
	transit_case(T_STARTING, 1000, false);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
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
	sim_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_patch_unchanged_gives_null),
		cmocka_unit_test(test_patch_nulls_removed_parameters),
		cmocka_unit_test(test_patch_nested_keys),
		cmocka_unit_test(test_patch_desc_is_sanitized),
		cmocka_unit_test(test_guc_names),
		cmocka_unit_test(test_sql_literal_quotes),
		cmocka_unit_test(test_sql_literal_refuses),
		cmocka_unit_test(test_psql_command),
		cmocka_unit_test(test_settings_sql),
		cmocka_unit_test(test_settings_parse),
		cmocka_unit_test(test_settings_parse_refuses),
		cmocka_unit_test(test_order_each_standby_setting),
		cmocka_unit_test(test_order_other_parameters),
		cmocka_unit_test(test_cluster_check),
		cmocka_unit_test(test_cluster_check_hostile),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_config_check),
		cmocka_unit_test(test_grow_replicas_then_switchover),
		cmocka_unit_test(test_grow_restarts_former_leader_if_pending),
		cmocka_unit_test(test_shrink_leader_first_no_switchover),
		cmocka_unit_test(test_shrink_interrupted_still_leader_first),
		cmocka_unit_test(test_other_restart_param_replicas_first),
		cmocka_unit_test(test_no_change_sends_nothing),
		cmocka_unit_test(test_plan_changes_nothing),
		cmocka_unit_test(test_waits_for_starting_member),
		cmocka_unit_test(test_waits_for_scheduled_switchover),
		cmocka_unit_test(test_waits_for_demotion),
		cmocka_unit_test(test_waits_for_streaming),
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
