/*
 * The pure parts of a staged DCS change (phases/staged*.c,
 * phases/rolling.c): the patch, GUC names, the SQL literal, the psql
 * command and the SQL it reads, psql's answer, the restart order, and the
 * judgment of /cluster, /patroni and /config answers. Hostile input must
 * end in a clear error naming it (sanitized), never a crash: the binary
 * runs under ASan and UBSan. test_staged_rest.c drives the same code
 * through the REST seam.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "phases.h"
#include "staged_fixture.h"

/* ---- hp_dcs_patch -------------------------------------------------------- */

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
	hp_psql_argv(&b, "/usr/lib/postgresql/15/bin", 5432, "dba", NULL);
	assert_string_equal(b.buf, psql_cmd);
	hp_buf_reset(&b);
	/* the role goes through the shell-quoting function */
	hp_psql_argv(&b, "/usr/lib/postgresql/15/bin", 5432, "x'y", NULL);
	assert_non_null(strstr(b.buf, "'-U' 'x'\\''y' '-d'"));
	hp_buf_reset(&b);
	/* defaults: psql on PATH, 5432, postgres */
	hp_psql_argv(&b, NULL, 0, NULL, NULL);
	assert_non_null(strstr(b.buf, "'--' 'psql' '-X'"));
	assert_non_null(strstr(b.buf, "'-p' '5432' '-U' 'postgres' '-d'"));
	hp_buf_reset(&b);
	/* another version's binary and port */
	hp_psql_argv(&b, "/usr/lib/postgresql/16/bin", 5433, NULL, NULL);
	assert_non_null(strstr(b.buf, "'/usr/lib/postgresql/16/bin/psql'"));
	assert_non_null(strstr(b.buf, "'-p' '5433'"));
	/* never -c: SQL goes on standard input */
	assert_null(strstr(b.buf, "-c"));
	hp_buf_release(&b);
}

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
							 &stable, NULL, &why,
							 &err),
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
							 &stable, NULL, &why,
							 &err),
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

/* A repair (rollback) does not wait for replicas a bad change left down:
 * it is what brings them back. Everything else still counts. */
static void test_cluster_check_repair(void **state)
{
	static const struct {
		const char *json;
		bool stable;	/* with down given */
		const char *down; /* hosts marked down, in order */
	} cases[] = {
		{"{\"members\": [{\"name\": \"a\", \"role\": \"leader\", "
		 "\"state\": \"running\"}, {\"name\": \"b\", \"role\": "
		 "\"replica\", \"state\": \"start failed\"}, {\"name\": \"c\", "
		 "\"role\": \"replica\", \"state\": \"streaming\"}]}",
		 true, "b"},
		/* a failed restart says what it ended in */
		{"{\"members\": [{\"name\": \"a\", \"role\": \"leader\", "
		 "\"state\": \"running\"}, {\"name\": \"b\", \"role\": "
		 "\"replica\", \"state\": \"restart failed (start failed)\"}, "
		 "{\"name\": \"c\", \"role\": \"replica\", \"state\": "
		 "\"streaming\"}]}",
		 true, "b"},
		/* but only that */
		{"{\"members\": [{\"name\": \"a\", \"role\": \"leader\", "
		 "\"state\": \"running\"}, {\"name\": \"b\", \"role\": "
		 "\"replica\", \"state\": \"restart failed soon\"}, "
		 "{\"name\": \"c\", \"role\": \"replica\", \"state\": "
		 "\"streaming\"}]}",
		 false, ""},
		/* missing from the answer: down too */
		{"{\"members\": [{\"name\": \"a\", \"role\": \"leader\", "
		 "\"state\": \"running\"}, {\"name\": \"c\", \"role\": "
		 "\"replica\", \"state\": \"crashed\"}]}",
		 true, "bc"},
		/* on its way somewhere: waited for */
		{"{\"members\": [{\"name\": \"a\", \"role\": \"leader\", "
		 "\"state\": \"running\"}, {\"name\": \"b\", \"role\": "
		 "\"replica\", \"state\": \"starting\"}]}",
		 false, "c"},
		/* the leader itself down: never a repairable replica */
		{"{\"members\": [{\"name\": \"a\", \"role\": \"leader\", "
		 "\"state\": \"stopped\"}, {\"name\": \"b\", \"role\": "
		 "\"replica\", \"state\": \"streaming\"}]}",
		 false, "c"},
		{"{\"scheduled_switchover\": {\"at\": \"x\"}, \"members\": "
		 "[{\"name\": \"a\", \"role\": \"leader\", \"state\": "
		 "\"running\"}, {\"name\": \"b\", \"role\": \"replica\", "
		 "\"state\": \"stopped\"}]}",
		 false, "bc"},
	};
	struct hp_diags d = {0};
	struct hp_inventory *inv = load_inv(&d);
	size_t i, k;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		json_t *c = J(cases[i].json);
		struct hp_buf why = HP_BUF_INIT;
		const char *leader = NULL;
		bool stable = false, down[8] = {false};
		struct hp_err err;

		assert_int_equal(hp_staged_cluster_check(inv, c, &leader,
							 &stable, down, &why,
							 &err),
				 0);
		if (stable != cases[i].stable)
			fail_msg("case %zu: stable %d (%s)", i, stable, why.buf);
		for (k = 0; k < inv->nr_hosts; k++) {
			bool want = strchr(cases[i].down,
					   inv->hosts[k].name[0]) != NULL;

			if (down[k] != want)
				fail_msg("case %zu: %s down %d", i,
					 inv->hosts[k].name, down[k]);
		}
		/* without down, a failed replica is a transition */
		hp_buf_reset(&why);
		assert_int_equal(hp_staged_cluster_check(inv, c, &leader,
							 &stable, NULL, &why,
							 &err),
				 0);
		assert_false(stable);
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
	assert_true(hp_staged_streaming(inv, "a", ok, NULL, &why));
	assert_false(hp_staged_streaming(inv, "a", catchup, NULL, &why));
	assert_string_equal(why.buf,
			    "replica c is not streaming from leader a");
	hp_buf_reset(&why);
	{
		/* a replica a repair acts on need not stream yet */
		bool skip[3] = {false, false, true};

		assert_true(hp_staged_streaming(inv, "a", catchup, skip, &why));
		skip[2] = false;
		skip[1] = true;
		assert_false(hp_staged_streaming(inv, "a", catchup, skip, &why));
		hp_buf_reset(&why);
	}
	assert_false(hp_staged_streaming(inv, "a", odd, NULL, &why));
	assert_false(hp_staged_streaming(inv, "a", none, NULL, &why));
	/* b leads: a must stream too */
	hp_buf_reset(&why);
	assert_false(hp_staged_streaming(inv, "b", ok, NULL, &why));
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
		cmocka_unit_test(test_cluster_check_repair),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_config_check),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
