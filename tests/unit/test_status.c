/*
 * haprov status (provisioner/cmd_status.c, status.h) against the fake
 * REST server: whatever Patroni, etcd and HAProxy answer (escape
 * sequences, line breaks, 10 KB names, wrong types), the document and
 * its text hold only printable, capped text; the stats page gets its
 * password, and without one status says why the stats are missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fake_rest.h"
#include "status.h"

static const char inv_yaml[] =
	"cluster: {name: t}\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"
	"patroni:\n"
	"  allowed_networks: [10.0.0.0/24]\n";

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_fake_rest fr;
	struct hp_rest rest;
};

static struct fx *fx_new(void)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_err err;

	assert_int_equal(hp_inventory_load_string(&x->inv, inv_yaml,
						  sizeof(inv_yaml) - 1,
						  "/tmp/t.yml", &x->diags),
			 0);
	hp_fake_rest_init(&x->fr);
	assert_int_equal(hp_rest_init(&x->rest, 1000, &err), 0);
	hp_rest_set_ops(&x->rest, &hp_fake_rest_ops, &x->fr);
	return x;
}

static void fx_free(struct fx *x)
{
	hp_rest_release(&x->rest);
	hp_fake_rest_release(&x->fr);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

/* Bytes a terminal could act on: controls (but the text's own line
 * ends), DEL and anything not ASCII. */
static void assert_printable(const char *s, bool newlines_ok)
{
	const char *p;

	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c == '\n' && newlines_ok) || (c >= 0x20 && c < 0x7f))
			continue;
		fail_msg("byte 0x%02x at %zu in:\n%s", c, (size_t)(p - s), s);
	}
}

/* Every line of text at most max bytes long. */
static void assert_lines_shorter(const char *text, size_t max)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		if (n > max)
			fail_msg("a %zu-byte line", n);
		text += n + (text[n] == '\n');
	}
}

static void healthy_etcd(struct fx *x)
{
	hp_fake_rest_expect(&x->fr, "GET", ":2379/health", 200,
			    "{\"health\": \"true\"}", 0);
	hp_fake_rest_expect(&x->fr, "POST", "/v3/maintenance/status", 200,
			    "{\"header\": {\"member_id\": \"1\"}, "
			    "\"leader\": \"1\"}",
			    0);
}

static char *format(const json_t *doc)
{
	struct hp_buf b = HP_BUF_INIT;

	hp_status_format(&b, doc);
	return hp_buf_detach(&b, NULL);
}

static void test_healthy(void **state)
{
	struct fx *x = fx_new();
	bool healthy = true;
	json_t *doc;
	char *text;
	size_t i;

	(void)state;
	healthy_etcd(x);
	hp_fake_rest_expect(
		&x->fr, "GET", ":8008/cluster", 200,
		"{\"members\": [{\"name\": \"a\", \"role\": \"leader\", "
		"\"state\": \"running\", \"host\": \"10.0.0.1\", "
		"\"timeline\": 3}, {\"name\": \"b\", \"role\": \"replica\", "
		"\"state\": \"streaming\", \"host\": \"10.0.0.2\", "
		"\"timeline\": 3, \"lag\": 0, \"pending_restart\": true}]}",
		0);
	hp_fake_rest_expect(&x->fr, "GET", ":8404/stats;csv", 200,
			    "# pxname,svname,status\nprimary,a,UP\n"
			    "primary,b,DOWN\nreplicas,a,DOWN\nreplicas,b,UP\n",
			    0);
	doc = hp_status_collect(x->inv, &x->rest, "pw", NULL, &healthy);
	assert_true(healthy);
	assert_true(json_is_true(json_object_get(doc, "healthy")));
	text = format(doc);
	assert_non_null(strstr(text, "  a          10.0.0.1         leader   "
				     "running    3    -        no\n"));
	assert_non_null(strstr(text, "  b          10.0.0.2         replica  "
				     "streaming  3    0        yes\n"));
	assert_non_null(strstr(text, " primary/a:UP primary/b:DOWN "
				     "replicas/a:DOWN replicas/b:UP\n"));
	/* the stats page got user haprov and a password; nothing else did */
	for (i = 0; i < x->fr.nr_reqs; i++) {
		bool stats = strstr(x->fr.reqs[i].url, ":8404/") != NULL;

		if (stats)
			assert_string_equal(x->fr.reqs[i].user, "haprov");
		else
			assert_null(x->fr.reqs[i].user);
		assert_int_equal(x->fr.reqs[i].had_password, stats);
	}
	assert_int_equal(x->rest.user || x->rest.password, 0);
	free(text);
	json_decref(doc);
	fx_free(x);
}

/* Names, states, roles, hosts and CSV names built to attack a terminal. */
static void test_hostile_answers(void **state)
{
	struct fx *x = fx_new();
	struct hp_buf cluster = HP_BUF_INIT, csv = HP_BUF_INIT;
	bool healthy = true;
	json_t *doc;
	char *text, *json;
	size_t i;

	(void)state;
	healthy_etcd(x);
	hp_buf_adds(&cluster,
		    "{\"members\": [{\"name\": \"a\\u001b[2J\\u001b]0;pwn"
		    "\\u0007\", \"role\": \"leader\\r\\nfake line\", "
		    "\"state\": \"\\u009b31m\\u2028x\", \"host\": [1], "
		    "\"timeline\": \"3\", \"lag\": {\"x\": 1}, "
		    "\"pending_restart\": \"yes\"}, 7, null, "
		    "{\"name\": \"");
	for (i = 0; i < 10240; i++)
		hp_buf_addch(&cluster, 'N');
	hp_buf_adds(&cluster, "\", \"role\": \"replica\", \"state\": "
			      "\"running\"}]}");
	hp_fake_rest_expect(&x->fr, "GET", ":8008/cluster", 200, cluster.buf,
			    0);
	hp_buf_adds(&csv, "# pxname,svname,status\nprimary,\x1b[31mred\n"
			  "x,UP\nreplicas,\xff\xfe,UP\nreplicas,");
	for (i = 0; i < 10240; i++)
		hp_buf_addch(&csv, 'S');
	hp_buf_adds(&csv, ",\x1b[5mDOWN\n");
	hp_fake_rest_expect(&x->fr, "GET", ":8404/stats;csv", 200, csv.buf, 0);
	doc = hp_status_collect(x->inv, &x->rest, "pw", NULL, &healthy);
	/* a member outside the inventory, broken members: not healthy */
	assert_false(healthy);
	text = format(doc);
	assert_printable(text, true);
	assert_lines_shorter(text, 600);
	assert_non_null(strstr(text, "(not in the inventory)"));
	assert_non_null(strstr(text, "... (10240 bytes)"));
	json = json_dumps(doc, JSON_COMPACT);
	/* --json: JSON escaping aside, nothing but printable ASCII */
	assert_printable(json, false);
	assert_null(strstr(json, "\\u001b"));
	assert_null(strstr(json, "\\u009b"));
	assert_null(strstr(json, "\\r"));
	assert_null(strstr(json, "\\n"));
	assert_true(strlen(json) < 4000);
	/* types as status.h promises */
	assert_true(json_is_null(json_object_get(
		json_array_get(json_object_get(doc, "patroni"), 0),
		"timeline")));
	assert_true(json_is_false(json_object_get(
		json_array_get(json_object_get(doc, "patroni"), 0),
		"pending_restart")));
	free(json);
	free(text);
	json_decref(doc);
	hp_buf_release(&cluster);
	hp_buf_release(&csv);
	fx_free(x);
}

/* A document from anywhere (say, an old --json) is printed safely too. */
static void test_format_sanitizes_any_document(void **state)
{
	json_t *doc;
	char *text;
	json_error_t e;

	(void)state;
	doc = json_loads("{\"cluster\": \"c\\u001b[2J\", \"etcd\": [{\"name\": "
			 "\"x\\ny\", \"health\": 5}], \"patroni\": [{\"name\": "
			 "\"\\u001b]0;t\\u0007\"}], \"haproxy\": [{\"name\": "
			 "\"h\", \"error\": \"e\\r\\n\\u001b[1m\"}]}",
			 0, &e);
	assert_non_null(doc);
	text = format(doc);
	assert_printable(text, true);
	assert_non_null(strstr(text, "cluster c [2J\n"));
	assert_non_null(strstr(text, " x y "));
	free(text);
	json_decref(doc);
}

/* No password: status says why and does not call the page. */
static void test_stats_unavailable(void **state)
{
	struct fx *x = fx_new();
	bool healthy = true;
	json_t *doc;
	char *text;

	(void)state;
	healthy_etcd(x);
	hp_fake_rest_expect(&x->fr, "GET", ":8008/cluster", 200,
			    "{\"members\": []}", 0);
	doc = hp_status_collect(x->inv, &x->rest, NULL,
				"cannot read secret haproxy_stats: no such "
				"file",
				&healthy);
	assert_false(healthy);
	assert_int_equal(hp_fake_rest_count(&x->fr, NULL, ":8404"), 0);
	text = format(doc);
	assert_non_null(strstr(text, "stats unavailable: cannot read secret "
				     "haproxy_stats: no such file"));
	free(text);
	json_decref(doc);
	fx_free(x);
}

static void test_stats_refused_and_html(void **state)
{
	struct fx *x = fx_new();
	bool healthy = true;
	json_t *doc;
	char *text;

	(void)state;
	healthy_etcd(x);
	hp_fake_rest_expect(&x->fr, "GET", ":8008/cluster", 200,
			    "<html>\x1b[2J</html>", 0);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.1:8404", 401, "no", 0);
	hp_fake_rest_expect(&x->fr, "GET", "10.0.0.2:8404", 200,
			    "<html><title>\x1b]0;x\x07</title></html>", 0);
	doc = hp_status_collect(x->inv, &x->rest, "pw", NULL, &healthy);
	assert_false(healthy);
	text = format(doc);
	assert_printable(text, true);
	assert_non_null(strstr(text, "no patroni member answered"));
	assert_non_null(strstr(text, "refused the password of secret "
				     "haproxy_stats (HTTP 401)"));
	assert_non_null(strstr(text, "did not answer HAProxy's CSV"));
	free(text);
	json_decref(doc);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthy),
		cmocka_unit_test(test_hostile_answers),
		cmocka_unit_test(test_format_sanitizes_any_document),
		cmocka_unit_test(test_stats_unavailable),
		cmocka_unit_test(test_stats_refused_and_html),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
