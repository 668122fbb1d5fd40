/*
 * Hostile inventories, built in memory: deep nesting (flow and block),
 * alias bombs, too many values, files that make hundreds of thousands of
 * errors, 16 MiB files. Each must be refused (or accepted) with the right
 * message, within a time bound on the monotonic clock: generous, because
 * the tests run under ASan and UBSan on a busy machine; without the
 * limits the same inputs take minutes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "inventory.h"
#include "inventory_priv.h"

/*
 * Generous: under the sanitizers. The limits keep the worst case near
 * 0.3 s unsanitized; without them it is minutes. The bound is on the CPU
 * time this process spent (monotonic, and blind to other processes on a
 * busy machine); the wall clock gets a looser bound, against a wait.
 * CPU time still grows on a loaded machine (shared caches, a slower
 * clock): the 250,002-error case took 2.1-2.4 s under ASan here and once
 * passed 3 s while a lab test ran, hence 10 s, still far below minutes.
 */
#define BOUND_MS      10000
#define WALL_BOUND_MS 20000
#define MIB	      (1024u * 1024u)

/* CPU time of this process, in milliseconds. */
static int64_t cpu_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define HEAD                                                                   \
	"cluster: {name: t}\n"                                                 \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"

struct result {
	int r;
	int64_t ms;	 /* CPU */
	int64_t wall_ms; /* monotonic wall clock */
	struct hp_diags d;
	char *out; /* what hp_diags_print shows */
};

static void load(struct result *res, const char *yaml, size_t len)
{
	struct hp_inventory *inv = NULL;
	int64_t t0 = hp_now_ms(), c0 = cpu_ms();
	size_t n = 0;
	FILE *f;

	memset(res, 0, sizeof(*res));
	res->r = hp_inventory_load_string(&inv, yaml, len, "/h/h.yml", &res->d);
	res->ms = cpu_ms() - c0;
	res->wall_ms = hp_now_ms() - t0;
	f = open_memstream(&res->out, &n);
	assert_non_null(f);
	hp_diags_print(&res->d, "h.yml", f);
	fclose(f);
	hp_inventory_free(inv);
}

static void result_release(struct result *res)
{
	hp_diags_release(&res->d);
	free(res->out);
}

/* Refused with exactly one diagnostic, at line:col, starting with msg. */
static void assert_refused_once(const struct result *res, int line, int col,
				const char *msg)
{
	if (res->d.nr != 1 ||
	    strncmp(res->d.items[0].message, msg, strlen(msg)) != 0)
		fprintf(stderr, "got:\n%s", res->out);
	assert_int_equal(res->r, HP_EINVALID);
	assert_int_equal(res->d.nr, 1);
	assert_int_equal(res->d.nr_errors, 1);
	assert_int_equal(res->d.items[0].line, line);
	assert_int_equal(res->d.items[0].col, col);
	assert_true(!strncmp(res->d.items[0].message, msg, strlen(msg)));
}

static void assert_loaded(const struct result *res)
{
	if (res->r != 0)
		fprintf(stderr, "got:\n%.2000s", res->out);
	assert_int_equal(res->r, 0);
}

static void assert_fast(const struct result *res, const char *what)
{
	fprintf(stderr, "    %s: %lld ms CPU, %lld ms\n", what,
		(long long)res->ms, (long long)res->wall_ms);
	assert_true(res->ms < BOUND_MS);
	assert_true(res->wall_ms < WALL_BOUND_MS);
}

static char *repeat(const char *head, const char *unit, size_t n,
		    const char *tail, size_t *len)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i;

	hp_buf_adds(&b, head);
	for (i = 0; i < n; i++)
		hp_buf_adds(&b, unit);
	hp_buf_adds(&b, tail);
	return hp_buf_detach(&b, len);
}

/* ---- nesting ------------------------------------------------------------- */

#define DEPTH_MSG "yaml: nesting deeper than 64 levels"

/* 200 KB of '[' (48 s in libyaml before), and of '{'. */
static void test_deep_flow(void **state)
{
	static const char *const opens[] = {"[", "{"};
	struct result res;
	size_t i, len;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(opens); i++) {
		char *y = repeat("", opens[i], 200000, "", &len);

		load(&res, y, len);
		/* the 65th opening bracket, at column 65 */
		assert_refused_once(&res, 1, 65, DEPTH_MSG);
		assert_fast(&res, opens[i]);
		result_release(&res);
		free(y);
	}
	/* the same inside an inventory, under a known key */
	{
		char *y = repeat(HEAD "patroni: {parameters: ", "{a: ", 100000,
				 "", &len);

		load(&res, y, len);
		assert_refused_once(&res, 4, 271, DEPTH_MSG);
		assert_fast(&res, "parameters: {a: {a: ...");
		result_release(&res);
		free(y);
	}
}

/* Block mappings and sequences, one level a line or all on one line. */
static void test_deep_block(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct result res;
	size_t i;
	char *y;

	(void)state;
	for (i = 0; b.len < 200000; i++) {
		hp_buf_addf(&b, "%*sa:\n", (int)i, "");
	}
	load(&res, b.buf, b.len);
	assert_refused_once(&res, 65, 65, DEPTH_MSG);
	assert_fast(&res, "block mappings");
	result_release(&res);
	hp_buf_release(&b);

	y = repeat("", "- ", 100000, "x\n", &i);
	load(&res, y, i);
	assert_refused_once(&res, 1, 129, DEPTH_MSG);
	assert_fast(&res, "block sequences");
	result_release(&res);
	free(y);
}

/* 64 levels are read (the key is only unknown); 65 are not. */
static void test_depth_boundary(void **state)
{
	struct result res;
	size_t len;
	char *y;

	(void)state;
	/* the top mapping is level 1: 63 more */
	y = repeat(HEAD "deep: ", "[", 63, "", &len);
	y = xrealloc(y, len + 64 + 2);
	memset(y + len, ']', 63);
	memcpy(y + len + 63, "\n", 2);
	load(&res, y, strlen(y));
	assert_refused_once(&res, 4, 1, "unknown key");
	result_release(&res);
	free(y);

	y = repeat(HEAD "deep: ", "[", 64, "", &len);
	y = xrealloc(y, len + 65 + 2);
	memset(y + len, ']', 64);
	memcpy(y + len + 64, "\n", 2);
	load(&res, y, strlen(y));
	assert_refused_once(&res, 4, 70, DEPTH_MSG);
	result_release(&res);
	free(y);
}

/* ---- aliases ------------------------------------------------------------- */

#define ALIAS_MSG "yaml: aliases expand to more than"

/* The billion laughs: nine levels of ten aliases each. */
static void test_billion_laughs(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct result res;
	int i, j;

	(void)state;
	hp_buf_adds(&b, HEAD "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (i = 1; i < 10; i++) {
		hp_buf_addf(&b, "l%d: &l%d [", i, i);
		for (j = 0; j < 10; j++)
			hp_buf_addf(&b, "%s*l%d", j ? ", " : "", i - 1);
		hp_buf_adds(&b, "]\n");
	}
	load(&res, b.buf, b.len);
	/* l3 would add 10 * 1111 values: past 10,000 + the document */
	assert_refused_once(&res, 7, 45, ALIAS_MSG);
	assert_fast(&res, "billion laughs");
	result_release(&res);
	hp_buf_release(&b);
}

/*
 * The issue's shape: 7.5 KB of aliases gave 250,000 errors in 49 s. A
 * host with 500 bad roles, 500 times: refused at the alias that crosses
 * the bound, with one message.
 */
static void test_alias_errors(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct result res;
	int i;

	(void)state;
	hp_buf_adds(&b, "cluster: {name: t}\nr: &r [");
	for (i = 0; i < 500; i++)
		hp_buf_adds(&b, i ? ", bad" : "bad");
	hp_buf_adds(&b, "]\nh: &h {name: a, address: 10.0.0.1, roles: *r}\n"
			"hosts: [");
	for (i = 0; i < 500; i++)
		hp_buf_adds(&b, i ? ", *h" : "*h");
	hp_buf_adds(&b, "]\n");
	load(&res, b.buf, b.len);
	assert_int_equal(res.r, HP_EINVALID);
	assert_int_equal(res.d.nr, 1);
	assert_non_null(strstr(res.out, ALIAS_MSG));
	assert_fast(&res, "alias errors");
	result_release(&res);
	hp_buf_release(&b);
}

/* Aliases an operator writes still work: one list for every host. */
static void test_alias_normal_use(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_diags d = {0};
	struct hp_inventory *inv = NULL;
	int i;

	(void)state;
	hp_buf_adds(&b, "cluster: {name: t}\nhosts:\n");
	for (i = 0; i < 1000; i++)
		hp_buf_addf(&b,
			    "  - {name: h%d, address: 10.0.%d.%d, roles: %s}\n",
			    i, i / 256, i % 256,
			    i ? "*all" : "&all [etcd, patroni, haproxy]");
	assert_int_equal(
		hp_inventory_load_string(&inv, b.buf, b.len, "/a.yml", &d), 0);
	assert_int_equal(inv->nr_hosts, 1000);
	assert_int_equal(inv->hosts[999].roles,
			 HP_ROLE_ETCD | HP_ROLE_PATRONI | HP_ROLE_HAPROXY);
	hp_inventory_free(inv);
	hp_diags_release(&d);
	hp_buf_release(&b);
}

static void test_alias_broken(void **state)
{
	static const struct {
		const char *yaml, *msg;
		int line, col;
	} cases[] = {
		{HEAD "x: &a [1, *a]\n",
		 "yaml: alias *a is inside the "
		 "collection it refers to",
		 4, 11},
		{HEAD "x: *nope\n", "yaml: alias *nope refers to no anchor", 4,
		 4},
		{HEAD "x: &a 1\ny: &a 2\n",
		 "yaml: anchor &a is defined "
		 "twice (first at line 4)",
		 5, 4},
	};
	struct result res;
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		load(&res, cases[i].yaml, strlen(cases[i].yaml));
		assert_refused_once(&res, cases[i].line, cases[i].col,
				    cases[i].msg);
		result_release(&res);
	}
}

/* ---- size ---------------------------------------------------------------- */

/* 16 MiB of "1," : 8 million values, refused at the 100,001st. */
static void test_too_many_values(void **state)
{
	struct result res;
	size_t len;
	char *y = repeat("[", "1,", 8 * MIB - 1, "1]", &len);

	(void)state;
	load(&res, y, len);
	assert_refused_once(&res, 1, 200000,
			    "yaml: more than 100000 values (an inventory of "
			    "4000 hosts has 40000); stopped reading here");
	assert_fast(&res, "16 MiB flow list");
	result_release(&res);
	free(y);

	y = repeat("", "- 1\n", 4 * MIB, "", &len);
	load(&res, y, len);
	assert_refused_once(&res, 100000, 3, "yaml: more than 100000 values");
	assert_fast(&res, "16 MiB block list");
	result_release(&res);
	free(y);
}

/* Each host's files list the others, so the host count is capped: one
 * more than HP_INV_MAX_HOSTS is refused at "hosts", the cap itself loads. */
static char *hosts_yaml(size_t n, size_t *len)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i;

	hp_buf_adds(&b, "cluster: {name: t}\nhosts:\n");
	for (i = 0; i < n; i++)
		hp_buf_addf(&b,
			    "  - {name: h%zu, address: 10.%zu.%zu.%zu, "
			    "roles: [etcd, patroni, haproxy]}\n",
			    i, i / 65536, (i / 256) % 256, i % 256);
	return hp_buf_detach(&b, len);
}

static void test_too_many_hosts(void **state)
{
	struct result res;
	size_t len;
	char *y = hosts_yaml(HP_INV_MAX_HOSTS + 1, &len);

	(void)state;
	load(&res, y, len);
	assert_refused_once(&res, 2, 1, "1001 hosts; one inventory describes");
	assert_fast(&res, "1001 hosts");
	result_release(&res);
	free(y);

	y = hosts_yaml(HP_INV_MAX_HOSTS, &len);
	load(&res, y, len);
	assert_loaded(&res);
	assert_fast(&res, "1000 hosts");
	result_release(&res);
	free(y);
}

/* 16 MiB files of few values: accepted or refused, quickly. */
static void test_big_values(void **state)
{
	struct result res;
	size_t len;
	char *y;

	(void)state;
	y = repeat(HEAD "#", "x", 16 * MIB - 200, "\n", &len);
	load(&res, y, len);
	assert_loaded(&res);
	assert_fast(&res, "16 MiB comment");
	result_release(&res);
	free(y);

	y = repeat(HEAD "patroni: {data_dir: /srv", "/a", 8 * MIB - 200, "}\n",
		   &len);
	load(&res, y, len);
	assert_refused_once(&res, 4, 21, "refusing \"/srv/a/a/a/");
	assert_non_null(strstr(res.out, "...\": a path of 16776820 bytes; "
					"the limit is 4095\n"));
	assert_fast(&res, "16 MiB path");
	result_release(&res);
	free(y);

	y = repeat(HEAD "patroni: {pg_hba: ['host all all 10.0.0.0/8 md5",
		   " a=b", 4 * MIB - 200, "']}\n", &len);
	load(&res, y, len);
	assert_int_equal(res.r, HP_EINVALID);
	assert_int_equal(res.d.nr, 1);
	assert_true(strlen(res.out) < 400);
	assert_non_null(strstr(res.out, "...\": more than 64 fields\n"));
	assert_fast(&res, "16 MiB pg_hba line");
	result_release(&res);
	free(y);

	/* a 16 MiB unknown key (an explicit one: a plain key ends at 1024
	 * characters): refused, the key shown cut short */
	y = repeat(HEAD "? ", "k", 16 * MIB - 200, "\n: 1\n", &len);
	load(&res, y, len);
	assert_int_equal(res.r, HP_EINVALID);
	assert_int_equal(res.d.nr, 1);
	assert_true(strlen(res.out) < 400);
	assert_non_null(strstr(res.out, "kkk...: unknown key\n"));
	assert_fast(&res, "16 MiB key");
	result_release(&res);
	free(y);

	/* 16 MiB of keys a kilobyte long: no suggestion search per pair */
	{
		struct hp_buf b = HP_BUF_INIT;
		int i;

		hp_buf_adds(&b, HEAD "patroni:\n  dcs:\n");
		for (i = 0; b.len < 16 * MIB - 2000; i++)
			hp_buf_addf(&b, "    %0*d: 1\n", 1000, i);
		load(&res, b.buf, b.len);
		hp_buf_release(&b);
	}
	assert_int_equal(res.r, HP_EINVALID);
	assert_true(res.d.nr_errors > 16000);
	assert_fast(&res, "16 MiB of long keys");
	result_release(&res);
}

/* ---- diagnostics --------------------------------------------------------- */

/*
 * 83,334 empty hosts: three missing keys each, 250,002 errors, and one
 * more for the host cap: 250,003. All are counted, 100 are shown (the
 * first by position), then "and N more".
 */
static void test_many_errors(void **state)
{
	struct result res;
	size_t len, lines = 0;
	char *y = repeat("cluster: {name: t}\nhosts: [{}", ", {}", 83333, "]\n",
			 &len);
	const char *p;

	(void)state;
	load(&res, y, len);
	assert_int_equal(res.r, HP_EINVALID);
	assert_int_equal(res.d.nr_errors, 250003);
	/* kept: at most twice the bound, whatever the count */
	assert_true(res.d.nr <= 2 * HP_INV_DIAGS_KEEP);
	assert_int_equal(res.d.nr + res.d.nr_dropped, 250003);
	for (p = res.out; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, HP_DIAGS_SHOWN + 1);
#define FIRST                                                                  \
	"h.yml:2:1: hosts: 83334 hosts; one inventory describes one cluster "  \
	"of at most 1000 hosts\n"                                              \
	"h.yml:2:9: hosts[0]: missing required key \"name\"\n"                  \
	"h.yml:2:9: hosts[0]: missing required key \"address\"\n"
	if (strncmp(res.out, FIRST, strlen(FIRST)) != 0)
		fprintf(stderr, "got:\n%.400s", res.out);
	assert_true(!strncmp(res.out, FIRST, strlen(FIRST)));
#undef FIRST
	assert_non_null(strstr(res.out, "h.yml:2:137: hosts[32]: missing "
					"required key \"roles\"\n"
					"h.yml: ... and 249903 more\n"));
	assert_fast(&res, "250,002 errors");
	result_release(&res);
	free(y);
}

/* The sort is stable, by position, and O(n log n): 250,000 diagnostics
 * in reverse order, four to a position. */
static void test_sort(void **state)
{
	struct hp_diags d = {0};
	int64_t t0;
	size_t i;

	(void)state;
	for (i = 0; i < 250000; i++)
		hp_inv_diags_add(&d, (int)(250000 - i) / 4, 1, "k", false,
				 xasprintf("%zu", i));
	t0 = cpu_ms();
	hp_inv_diags_sort(&d, 0);
	fprintf(stderr, "    sort: %lld ms CPU\n", (long long)(cpu_ms() - t0));
	assert_true(cpu_ms() - t0 < BOUND_MS);
	for (i = 1; i < d.nr; i++) {
		const struct hp_diag *a = &d.items[i - 1], *b = &d.items[i];

		assert_true(a->line <= b->line);
		/* equal positions keep the order they were found in */
		if (a->line == b->line)
			assert_true(strtoul(a->message, NULL, 10) <
				    strtoul(b->message, NULL, 10));
	}
	assert_int_equal(d.items[0].line, 0);
	assert_string_equal(d.items[0].message, "249997");
	hp_diags_release(&d);
}

/* 100 shown, then the count; fewer: no count line. */
static void test_print_cap(void **state)
{
	struct hp_diags d = {0};
	char *s = NULL;
	size_t n = 0, i, lines = 0;
	FILE *f;

	(void)state;
	for (i = 0; i < 150; i++)
		hp_inv_diags_add(&d, (int)i + 1, 1, "", false,
				 xasprintf("m%zu", i));
	d.nr_dropped = 7;
	f = open_memstream(&s, &n);
	hp_diags_print(&d, "x.yml", f);
	fclose(f);
	for (i = 0; s[i]; i++)
		lines += s[i] == '\n';
	assert_int_equal(lines, 101);
	assert_non_null(strstr(s, "x.yml:100:1: m99\nx.yml: ... and 57 "
				  "more\n"));
	free(s);
	hp_diags_release(&d);

	hp_inv_diags_add(&d, 1, 1, "", false, xstrdup("only"));
	f = open_memstream(&s, &n);
	hp_diags_print(&d, "x.yml", f);
	fclose(f);
	assert_string_equal(s, "x.yml:1:1: only\n");
	free(s);
	hp_diags_release(&d);
}

/* What the file holds reaches the terminal escaped: no escape sequence,
 * no line break of any kind. */
static void test_print_escapes(void **state)
{
	static const char yaml[] =
		HEAD "\"\\e]0;x\\a\\e[2J\\u2028\\N\\r\": 1\n";
	static const char quoted[] = "cluster: {name: \"a\\Lb\\Pc\\Nd\\e\"}\n"
				     "hosts: [{name: a, address: 10.0.0.1, "
				     "roles: [etcd, patroni]}]\n";
	struct result res;

	(void)state;
	load(&res, yaml, strlen(yaml));
	assert_string_equal(res.out,
			    "h.yml:4:1: \\x1b]0;x\\x07\\x1b[2J\\u2028\\u0085"
			    "\\x0d: unknown key\n");
	result_release(&res);

	/* and in a value quoted by a message */
	load(&res, quoted, strlen(quoted));
	assert_string_equal(
		res.out, "h.yml:1:17: cluster.name: expected a name of "
			 "lowercase letters, digits and '-' that starts with "
			 "a letter (at most 63 characters), got "
			 "\"a\\u2028b\\u2029c\\u0085d\\x1b\"\n");
	assert_null(strstr(res.out, "\xe2\x80\xa8"));
	result_release(&res);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deep_flow),
		cmocka_unit_test(test_deep_block),
		cmocka_unit_test(test_depth_boundary),
		cmocka_unit_test(test_billion_laughs),
		cmocka_unit_test(test_alias_errors),
		cmocka_unit_test(test_alias_normal_use),
		cmocka_unit_test(test_alias_broken),
		cmocka_unit_test(test_too_many_values),
		cmocka_unit_test(test_too_many_hosts),
		cmocka_unit_test(test_big_values),
		cmocka_unit_test(test_many_errors),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_print_cap),
		cmocka_unit_test(test_print_escapes),
	};

	setenv("HOME", "/home/hp-test", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
