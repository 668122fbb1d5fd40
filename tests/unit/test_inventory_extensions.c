/*
 * extensions.databases[]: an extension is a name or {name, version}; a
 * database may list absent ones; names and versions are checked; a name
 * in both lists (or twice in one) is refused at its line and column; the
 * effective inventory prints back to one that loads the same.
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
#include "inventory_fixture.h"

#define HEAD                                                                   \
	"cluster: {name: t}\n"                                                 \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"  \
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"  \
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n"  \
	"extensions:\n"                                                        \
	"  databases:\n"                                                       \
	"    - name: postgres\n"


static void test_names_and_versions(void **state)
{
	struct result res;
	const struct hp_ext_db *d;

	(void)state;
	load(&res, HEAD "      extensions:\n"
			"        - pgcrypto\n"
			"        - {name: pg_cron, version: \"1.5\"}\n"
			"        - name: uuid-ossp\n"
			"          version: 1.1\n"
			"      absent: [hstore, _x]\n");
	if (res.r != 0)
		fprintf(stderr, "%s", res.out);
	assert_int_equal(res.r, 0);
	d = &res.inv->extensions.databases[0];
	assert_int_equal(d->nr_extensions, 3);
	assert_string_equal(d->extensions[0].name, "pgcrypto");
	assert_null(d->extensions[0].version);
	assert_string_equal(d->extensions[1].name, "pg_cron");
	assert_string_equal(d->extensions[1].version, "1.5");
	assert_string_equal(d->extensions[2].name, "uuid-ossp");
	assert_string_equal(d->extensions[2].version, "1.1");
	assert_int_equal(d->absent.nr, 2);
	assert_string_equal(d->absent.items[1], "_x");
	result_release(&res);
}

/* Only absent ones: a database where something is to be dropped. */
static void test_absent_only(void **state)
{
	struct result res;

	(void)state;
	load(&res, HEAD "      absent: [hstore]\n");
	assert_int_equal(res.r, 0);
	assert_int_equal(res.inv->extensions.databases[0].nr_extensions, 0);
	result_release(&res);
	load(&res, HEAD);
	assert_int_not_equal(res.r, 0);
	assert_non_null(strstr(res.out, "r.yml:8:7: extensions.databases[0]: "
					"lists no extensions and none absent"));
	result_release(&res);
}

static void expect_refused(const char *body, const char *want)
{
	struct result res;
	char *yaml = NULL;
	size_t n = strlen(HEAD) + strlen(body) + 1;

	yaml = malloc(n);
	assert_non_null(yaml);
	snprintf(yaml, n, "%s%s", HEAD, body);
	load(&res, yaml);
	if (!strstr(res.out, want))
		fprintf(stderr, "want: %s\ngot:\n%s", want, res.out);
	assert_int_not_equal(res.r, 0);
	assert_non_null(strstr(res.out, want));
	result_release(&res);
	free(yaml);
}

static void test_bad_names(void **state)
{
	(void)state;
	expect_refused("      extensions: [PgCrypto]\n",
		       "r.yml:9:20: extensions.databases[0].extensions[0]."
		       "name: expected an extension name");
	expect_refused("      extensions: [9lives]\n",
		       "extensions[0].name: expected an extension name");
	expect_refused("      extensions: [-x]\n",
		       "extensions[0].name: expected an extension name");
	expect_refused("      extensions: [\"a b\"]\n",
		       "extensions[0].name: expected an extension name");
	expect_refused("      extensions: [\"x;drop\"]\n",
		       "extensions[0].name: expected an extension name");
	/* 64 characters: one more than PostgreSQL's names */
	expect_refused("      extensions: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
		       "extensions[0].name: expected an extension name");
	expect_refused("      extensions: [[x]]\n",
		       "extensions[0]: expected a name or a mapping, got a "
		       "list");
	expect_refused("      extensions: [{version: \"1\"}]\n",
		       "extensions[0]: missing required key \"name\"");
	expect_refused("      extensions: [{name: x, versoin: \"1\"}]\n",
		       "versoin");
	expect_refused("      absent: [Bad]\n",
		       "extensions.databases[0].absent[0]: expected an "
		       "extension name");
}

static void test_bad_versions(void **state)
{
	(void)state;
	expect_refused("      extensions: [{name: x, version: \"a\\\\b\"}]\n",
		       "extensions[0].version: expected an extension version");
	expect_refused("      extensions: [{name: x, version: \"a\\tb\"}]\n",
		       "extensions[0].version: expected an extension version");
	expect_refused("      extensions: [{name: x, version: \"caf\xc3\xa9\"}]\n",
		       "extensions[0].version: expected an extension version");
	expect_refused("      extensions: [{name: x, version: "
		       "123456789012345678901234567890123}]\n",
		       "extensions[0].version: expected an extension version");
	expect_refused("      extensions: [{name: x, version: \"\"}]\n",
		       "extensions[0].version: expected an extension version");
}

static void test_both_lists(void **state)
{
	(void)state;
	expect_refused("      extensions: [pgcrypto, pg_cron]\n"
		       "      absent: [hstore, pg_cron]\n",
		       "r.yml:10:24: extensions.databases[0].absent[1]: "
		       "\"pg_cron\" is listed twice (first at "
		       "extensions.databases[0].extensions[1].name, line 9): "
		       "an extension is either in extensions (wanted) or in "
		       "absent (dropped), not both");
	expect_refused("      extensions:\n"
		       "        - pgcrypto\n"
		       "        - {name: pgcrypto, version: \"1.3\"}\n",
		       "r.yml:11:18: extensions.databases[0].extensions[1]."
		       "name: \"pgcrypto\" is listed twice (first at "
		       "extensions.databases[0].extensions[0].name, line 10)");
	expect_refused("      absent: [a, a]\n",
		       "absent[1]: \"a\" is listed twice");
}

/* The effective inventory (every key printed) loads back the same. */
static void test_print_round_trip(void **state)
{
	struct result res, back;
	char *printed = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	load(&res, HEAD "      extensions: [pgcrypto, {name: pg_cron, "
			"version: \"1.10\"}]\n"
			"      absent: [hstore]\n");
	assert_int_equal(res.r, 0);
	f = open_memstream(&printed, &n);
	assert_non_null(f);
	hp_inventory_print(res.inv, f);
	fclose(f);
	load(&back, printed);
	if (back.r != 0)
		fprintf(stderr, "%s---\n%s", printed, back.out);
	assert_int_equal(back.r, 0);
	assert_string_equal(back.inv->extensions.databases[0].extensions[1]
				    .version,
			    "1.10");
	assert_null(back.inv->extensions.databases[0].extensions[0].version);
	assert_string_equal(back.inv->extensions.databases[0].absent.items[0],
			    "hstore");
	result_release(&res);
	result_release(&back);
	free(printed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_versions),
		cmocka_unit_test(test_absent_only),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_bad_versions),
		cmocka_unit_test(test_both_lists),
		cmocka_unit_test(test_print_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
