/*
 * The inventory keys of the failover drill (issue 10, section 4):
 * patroni.dcs.preset (its values fill the keys not written, before the
 * derived defaults and the timing rule), cluster.environment, and the
 * drill section's two command templates (both or neither, each checked
 * by the walk that expands it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory.h"
#include "inventory_priv.h"
#include "inventory_fixture.h"

#define HOSTS_ALL                                                              \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"  \
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"  \
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n"
#define HEAD "cluster: {name: t}\n" HOSTS_ALL

#define TIMING_WHY                                                             \
	"Patroni requires loop_wait + 2*retry_timeout <= ttl; it would "       \
	"accept this and then lose the leader key without any fault"

/* yaml is refused with exactly want (all of hp_diags_print's output). */
static void assert_refused(const char *yaml, const char *want)
{
	struct result res;

	load(&res, yaml);
	if (strcmp(res.out, want) != 0)
		fprintf(stderr, "%s---\nwant:\n%shave:\n%s", yaml, want,
			res.out);
	assert_int_equal(res.r, HP_EINVALID);
	assert_null(res.inv);
	assert_string_equal(res.out, want);
	result_release(&res);
}

static char *printed(const struct hp_inventory *inv)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&s, &n);

	assert_non_null(f);
	hp_inventory_print(inv, f);
	fclose(f);
	return s;
}

/* The integer at path ("patroni.dcs.ttl") of inv, found through the
 * schema as the loader finds it. */
static int int_at(const struct hp_inventory *inv, const char *path)
{
	const struct hp_inv_section *sec = &hp_inv_top_sec;
	const char *base = (const char *)inv, *p = path;

	for (;;) {
		size_t n = strcspn(p, "."), i;
		const struct hp_inv_field *f = NULL;

		for (i = 0; i < sec->nr; i++)
			if (strlen(sec->fields[i].key) == n &&
			    !strncmp(sec->fields[i].key, p, n))
				f = &sec->fields[i];
		assert_non_null(f);
		base += f->off;
		if (!p[n]) {
			assert_int_equal(f->type, T_INT);
			return *(const int *)(const void *)base;
		}
		assert_int_equal(f->type, T_MAP);
		sec = f->sub;
		p += n + 1;
	}
}

/* ---- patroni.dcs.preset -------------------------------------------------- */

/* Without a preset: the plain defaults, and "default" is printed. */
static void test_preset_default(void **state)
{
	struct result res;
	struct hp_inventory *inv;
	char *s;

	(void)state;
	inv = loads(&res, HEAD);
	assert_string_equal(inv->patroni.dcs.preset, "default");
	assert_int_equal(inv->patroni.dcs.ttl, 30);
	assert_int_equal(inv->patroni.dcs.loop_wait, 10);
	assert_int_equal(inv->patroni.dcs.retry_timeout, 10);
	assert_int_equal(inv->haproxy.check.inter_ms, 1000);
	assert_int_equal(inv->validation.soak_s, 20);
	s = printed(inv);
	assert_non_null(strstr(s, "\n  dcs:\n    preset: default\n    ttl: "
				  "30\n"));
	free(s);
	result_release(&res);
	/* written out, the same */
	inv = loads(&res, HEAD "patroni: {dcs: {preset: default}}\n");
	assert_int_equal(inv->patroni.dcs.ttl, 30);
	assert_int_equal(inv->haproxy.check.inter_ms, 1000);
	result_release(&res);
}

/* fast fills all six keys, and soak_s derives from its loop_wait. */
static void test_preset_fast(void **state)
{
	struct result res;
	struct hp_inventory *inv;
	char *s;

	(void)state;
	inv = loads(&res, HEAD "patroni: {dcs: {preset: fast}}\n");
	assert_string_equal(inv->patroni.dcs.preset, "fast");
	assert_int_equal(inv->patroni.dcs.ttl, 7);
	assert_int_equal(inv->patroni.dcs.loop_wait, 1);
	assert_int_equal(inv->patroni.dcs.retry_timeout, 3);
	assert_int_equal(inv->haproxy.check.inter_ms, 500);
	assert_int_equal(inv->haproxy.check.fall, 2);
	assert_int_equal(inv->haproxy.check.rise, 1);
	assert_int_equal(inv->validation.soak_s, 2);
	/* the rest is untouched */
	assert_int_equal(inv->etcd.heartbeat_ms, 100);
	assert_int_equal(inv->haproxy.maxconn, 1000);
	s = printed(inv);
	assert_non_null(strstr(s, "\n  dcs:\n    preset: fast\n    ttl: 7\n"
				  "    loop_wait: 1\n    retry_timeout: 3\n"));
	assert_non_null(strstr(s, "\n  check:\n    inter_ms: 500\n    fall: "
				  "2\n    rise: 1\n"));
	assert_non_null(strstr(s, "\n  soak_s: 2\n"));
	free(s);
	result_release(&res);
}

/*
 * Every value of the preset's table reaches its key (a key added to the
 * table but with no default behind it would not), and the preset obeys
 * Patroni's rule by itself.
 */
static void test_preset_table(void **state)
{
	struct hp_strlist keys = {0};
	const struct hp_inv_preset_value *v;
	struct result res;
	size_t n, i;

	(void)state;
	v = hp_inv_preset_values("fast", &n);
	assert_non_null(v);
	assert_int_equal(n, 6);
	assert_null(hp_inv_preset_values("default", &n));
	assert_int_equal(n, 0);
	assert_null(hp_inv_preset_values("nope", &n));
	assert_null(hp_inv_preset_values(NULL, &n));
	v = hp_inv_preset_values("fast", &n);
	hp_inv_schema_keys(&keys, NULL);
	loads(&res, HEAD "patroni: {dcs: {preset: fast}}\n");
	for (i = 0; i < n; i++) {
		assert_true(hp_strlist_has(&keys, v[i].key));
		assert_int_equal(int_at(res.inv, v[i].key), v[i].value);
	}
	result_release(&res);
	hp_strlist_clear(&keys);
	assert_true(hp_inv_valid_preset("default"));
	assert_true(hp_inv_valid_preset("fast"));
	assert_false(hp_inv_valid_preset("Fast"));
	assert_false(hp_inv_valid_preset(""));
}

/* A key written in the file wins over the preset, each of the six. */
static void test_preset_explicit_wins(void **state)
{
	/* a value other than the preset's that keeps the timing rule */
	static const struct {
		const char *key, *yaml;
		int value;
	} written[] = {
		{"patroni.dcs.ttl", "patroni: {dcs: {preset: fast, ttl: 20}}\n",
		 20},
		{"patroni.dcs.loop_wait",
		 "patroni: {dcs: {preset: fast, loop_wait: 1}}\n", 1},
		{"patroni.dcs.retry_timeout",
		 "patroni: {dcs: {preset: fast, retry_timeout: 3}}\n", 3},
		{"haproxy.check.inter_ms",
		 "patroni: {dcs: {preset: fast}}\n"
		 "haproxy: {check: {inter_ms: 700}}\n",
		 700},
		{"haproxy.check.fall",
		 "patroni: {dcs: {preset: fast}}\nhaproxy: {check: {fall: "
		 "3}}\n",
		 3},
		{"haproxy.check.rise",
		 "patroni: {dcs: {preset: fast}}\nhaproxy: {check: {rise: "
		 "2}}\n",
		 2},
	};
	const struct hp_inv_preset_value *v = NULL;
	size_t n, i, j;

	(void)state;
	v = hp_inv_preset_values("fast", &n);
	assert_int_equal(n, HP_ARRAY_SIZE(written));
	for (i = 0; i < HP_ARRAY_SIZE(written); i++) {
		char *y = xasprintf(HEAD "%s", written[i].yaml);
		struct result res;

		loads(&res, y);
		for (j = 0; j < n; j++)
			assert_int_equal(int_at(res.inv, v[j].key),
					 strcmp(v[j].key, written[i].key)
						 ? v[j].value
						 : written[i].value);
		result_release(&res);
		free(y);
	}
	/* the written loop_wait is what soak_s derives from; a written
	 * soak_s wins over both */
	{
		struct result res;

		loads(&res, HEAD "patroni: {dcs: {preset: fast, loop_wait: "
				 "2, ttl: 8}}\n");
		assert_int_equal(res.inv->validation.soak_s, 4);
		result_release(&res);
		loads(&res, HEAD "patroni: {dcs: {preset: fast}}\n"
				 "validation: {soak_s: 30}\n");
		assert_int_equal(res.inv->validation.soak_s, 30);
		result_release(&res);
	}
}

/* Patroni's rule judges the result: preset plus what was written. */
static void test_preset_timing_rule(void **state)
{
	(void)state;
	assert_refused(HEAD "patroni:\n  dcs:\n    preset: fast\n"
			    "    loop_wait: 5\n",
		       "r.yml:9:5: patroni.dcs: loop_wait (5) + 2 * "
		       "retry_timeout (3) = 11 exceeds ttl (7): " TIMING_WHY
		       "; retry_timeout and ttl come from preset fast\n");
	assert_refused(HEAD "patroni:\n  dcs:\n    preset: fast\n"
			    "    retry_timeout: 5\n",
		       "r.yml:9:5: patroni.dcs: loop_wait (1) + 2 * "
		       "retry_timeout (5) = 11 exceeds ttl (7): " TIMING_WHY
		       "; loop_wait and ttl come from preset fast\n");
	assert_refused(HEAD "patroni:\n  dcs:\n    preset: fast\n"
			    "    ttl: 6\n",
		       "r.yml:9:5: patroni.dcs: loop_wait (1) + 2 * "
		       "retry_timeout (3) = 7 exceeds ttl (6): " TIMING_WHY
		       "; loop_wait and retry_timeout come from preset fast\n");
	/* all three written: the preset filled none of them */
	assert_refused(HEAD "patroni:\n  dcs:\n    preset: fast\n"
			    "    ttl: 8\n    loop_wait: 3\n"
			    "    retry_timeout: 3\n",
		       "r.yml:9:5: patroni.dcs: loop_wait (3) + 2 * "
		       "retry_timeout (3) = 9 exceeds ttl (8): " TIMING_WHY
		       "\n");
	/* the preset's own values meet the rule with equality */
	{
		struct result res;

		loads(&res, HEAD "patroni: {dcs: {preset: fast, loop_wait: 2, "
				 "ttl: 10}}\n");
		result_release(&res);
	}
}

/* A bad preset is one error: the rule does not run on guessed values. */
static void test_preset_unknown(void **state)
{
	(void)state;
	assert_refused(HEAD "patroni:\n  dcs:\n    preset: fastest\n",
		       "r.yml:8:13: patroni.dcs.preset: expected default or "
		       "fast, got \"fastest\"\n");
	assert_refused(HEAD "patroni:\n  dcs:\n    preset: Fast\n"
			    "    ttl: 10\n",
		       "r.yml:8:13: patroni.dcs.preset: expected default or "
		       "fast, got \"Fast\"\n");
	assert_refused(HEAD "patroni: {dcs: {preset: }}\n",
		       "r.yml:6:25: patroni.dcs.preset: expected default or "
		       "fast, got an empty value\n");
	assert_refused(HEAD "patroni: {dcs: {preset: [fast]}}\n",
		       "r.yml:6:25: patroni.dcs.preset: expected a string, got "
		       "a list\n");
}

/* ---- cluster.environment ------------------------------------------------- */

static void test_environment(void **state)
{
	static const char *const good[] = {"production", "staging", "test",
					   "lab"};
	struct result res;
	size_t i;
	char *s;

	(void)state;
	loads(&res, HEAD);
	assert_string_equal(res.inv->environment, "production");
	s = printed(res.inv);
	assert_non_null(strstr(s, "\ncluster:\n  name: t\n  environment: "
				  "production\n"));
	free(s);
	result_release(&res);
	for (i = 0; i < HP_ARRAY_SIZE(good); i++) {
		char *y = xasprintf(
			"cluster: {name: t, environment: %s}\n" HOSTS_ALL,
			good[i]);

		loads(&res, y);
		assert_string_equal(res.inv->environment, good[i]);
		s = printed(res.inv);
		free(y);
		y = xasprintf("\n  environment: %s\n", good[i]);
		assert_non_null(strstr(s, y));
		free(s);
		free(y);
		result_release(&res);
	}
	assert_refused("cluster:\n  name: t\n  environment: prod\n" HOSTS_ALL,
		       "r.yml:3:16: cluster.environment: expected production, "
		       "staging, test or lab, got \"prod\"\n");
	/* compared exactly by the drill: no other spelling */
	assert_refused("cluster: {name: t, environment: Lab}\n" HOSTS_ALL,
		       "r.yml:1:33: cluster.environment: expected production, "
		       "staging, test or lab, got \"Lab\"\n");
	assert_refused("cluster: {name: t, environment: }\n" HOSTS_ALL,
		       "r.yml:1:33: cluster.environment: expected production, "
		       "staging, test or lab, got an empty value\n");
}

/* ---- drill --------------------------------------------------------------- */

static void test_drill_both_or_neither(void **state)
{
	struct result res;
	char *s;

	(void)state;
	loads(&res, HEAD);
	assert_null(res.inv->drill.crash_command);
	assert_null(res.inv->drill.boot_command);
	result_release(&res);
	loads(&res, HEAD "drill:\n");
	assert_null(res.inv->drill.crash_command);
	result_release(&res);
	loads(&res, HEAD "drill: {crash_command: , boot_command: ~}\n");
	assert_null(res.inv->drill.boot_command);
	result_release(&res);

	loads(&res, HEAD "drill:\n  crash_command: virsh destroy {host}\n"
			 "  boot_command: 'virsh start {host} # {address}'\n");
	assert_string_equal(res.inv->drill.crash_command,
			    "virsh destroy {host}");
	assert_string_equal(res.inv->drill.boot_command,
			    "virsh start {host} # {address}");
	s = printed(res.inv);
	assert_non_null(strstr(s, "\ndrill:\n  crash_command: \"virsh destroy "
				  "{host}\"\n  boot_command: \"virsh start "
				  "{host} # {address}\"\n"));
	free(s);
	result_release(&res);

	assert_refused(HEAD "drill:\n  crash_command: virsh destroy {host}\n",
		       "r.yml:7:3: drill.crash_command: a drill needs both "
		       "crash_command and boot_command (one crashes a host, "
		       "the other brings it back): set drill.boot_command "
		       "too, or neither\n");
	assert_refused(HEAD "drill:\n  crash_command:\n"
			    "  boot_command: virsh start {host}\n",
		       "r.yml:8:3: drill.boot_command: a drill needs both "
		       "crash_command and boot_command (one crashes a host, "
		       "the other brings it back): set drill.crash_command "
		       "too, or neither\n");
}

/* Each bad template is an error at its value, saying why. */
static void test_drill_bad_templates(void **state)
{
	static const struct {
		const char *value, *why;
	} bad[] = {
		{"'virsh destroy {name}'",
		 "\"virsh destroy {name}\": unknown placeholder {name}: a "
		 "drill command takes {host} and {address}"},
		{"'virsh destroy {Host}'",
		 "\"virsh destroy {Host}\": unknown placeholder {Host}: a "
		 "drill command takes {host} and {address}"},
		{"'x {}'", "\"x {}\": unknown placeholder {}: a drill command "
			   "takes {host} and {address}"},
		{"'virsh destroy {host'",
		 "\"virsh destroy {host\": a lone '{' at character 15: braces "
		 "only make the placeholders {host} and {address}"},
		{"'virsh destroy host}'",
		 "\"virsh destroy host}\": a lone '}' at character 19: braces "
		 "only make the placeholders {host} and {address}"},
		{"'echo ${HOME}'", "\"echo ${HOME}\": unknown placeholder "
				   "{HOME}: a drill command "
				   "takes {host} and {address}"},
		{"'{{host}}'",
		 "\"{{host}}\": a lone '{' at character 1: braces "
		 "only make the placeholders {host} and "
		 "{address}"},
		{"\"\"", "\"\": a drill command cannot be empty"},
		{"\"a\\nb {host}\"", "\"a\\nb {host}\": a drill command cannot "
				     "span lines (it holds \\n)"},
		{"\"a\\rb\"", "\"a\\x0db\": a drill command cannot span lines "
			      "(it holds \\x0d)"},
		{"\"a\\Lb\"", "\"a\\u2028b\": a drill command cannot span "
			      "lines (it holds \\u2028)"},
		{"\"a\\tb\"", "\"a\\tb\": a drill command cannot hold control "
			      "characters (it holds \\t)"},
		{"\"a\\eb\"", "\"a\\x1bb\": a drill command cannot hold "
			      "control characters (it holds \\x1b)"},
		{"\"a\\0b\"", "expected a shell command template with {host} "
			      "and {address}, got a value with a NUL "
			      "character"},
		{"[a]", "expected a string, got a list"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		char *y = xasprintf(HEAD "drill:\n  crash_command: %s\n"
					 "  boot_command: virsh start {host}\n",
				    bad[i].value);
		char *want = xasprintf("r.yml:7:18: drill.crash_command: %s\n",
				       bad[i].why);

		assert_refused(y, want);
		free(want);
		free(y);
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preset_default),
		cmocka_unit_test(test_preset_fast),
		cmocka_unit_test(test_preset_table),
		cmocka_unit_test(test_preset_explicit_wins),
		cmocka_unit_test(test_preset_timing_rule),
		cmocka_unit_test(test_preset_unknown),
		cmocka_unit_test(test_environment),
		cmocka_unit_test(test_drill_both_or_neither),
		cmocka_unit_test(test_drill_bad_templates),
	};

	setenv("HOME", "/home/hp-test", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
