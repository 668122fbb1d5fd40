/*
 * hp_redact_credentials: every credential shape a file haprov takes over
 * can hold (YAML and JSON keys, env lines, HAProxy stats auth and
 * userlists, URIs, PEM keys, block scalars) loses its value and keeps its
 * key; settings that only look alike (password_encryption, pgpass, the
 * etcd cluster token) are left alone; hostile input costs linear time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "redact.h"

/* text redacted, as a string the caller frees; *nr the count */
static char *red(const char *text, size_t *nr)
{
	struct hp_buf out = HP_BUF_INIT;
	size_t n = 0;

	assert_int_equal(hp_redact_credentials(&out, text, strlen(text), &n),
			 0);
	if (nr)
		*nr = n;
	return hp_buf_detach(&out, NULL);
}

static void expect(const char *in, const char *want)
{
	char *got = red(in, NULL);

	if (strcmp(got, want) != 0)
		fail_msg("redacting '%s'\n got '%s'\nwant '%s'", in, got, want);
	free(got);
}

static void unchanged(const char *in)
{
	size_t nr = 99;
	char *got = red(in, &nr);

	if (strcmp(got, in) != 0 || nr != 0)
		fail_msg("'%s' is not a credential, but became '%s'", in, got);
	assert_false(hp_redact_has_credentials(in, strlen(in)));
	free(got);
}

static void test_yaml_keys(void **state)
{
	(void)state;
	expect("password: hunter2\n", "password: <redacted>\n");
	expect("    password:   hunter2  \n", "    password:   <redacted>  \n");
	expect("PassWord: hunter2", "PassWord: <redacted>");
	expect("  superuser_password: 'hunter2'\n",
	       "  superuser_password: '<redacted>'\n");
	expect("  passwd: \"hun\\\"ter2\"\n", "  passwd: \"<redacted>\"\n");
	expect("client_secret: hunter2 # set by ops\n",
	       "client_secret: <redacted> # set by ops\n");
	expect("api_token: hunter2\n", "api_token: <redacted>\n");
	expect("secret_key: hunter2\n", "secret_key: <redacted>\n");
	expect("key: hunter2\n", "key: <redacted>\n");
	expect("- password: hunter2\n", "- password: <redacted>\n");
	expect("password : hunter2\n", "password : <redacted>\n");
	/* a commented-out password is still a password */
	expect("#  password: hunter2\n", "#  password: <redacted>\n");
}

/* A key-named entry whose value is a file path names a key file, not a
 * key (Patroni's etcd3 "key: /etc/patroni/tls/host.key"): config.yml must
 * stay maskable. A password that looks like a path is still hidden. */
static void test_key_file_paths(void **state)
{
	(void)state;
	unchanged("  key: /etc/patroni/tls/host.key\n");
	unchanged("  private_key: /etc/x/y.key # the host's\n");
	unchanged("ssl_key: /etc/ssl/private/a-b_c.key\n");
	expect("key: /etc/a key\n", "key: <redacted>\n");
	expect("key: etc/host.key\n", "key: <redacted>\n");
	expect("key: /etc/$(x)\n", "key: <redacted>\n");
	expect("password: /etc/hunter2\n", "password: <redacted>\n");
	expect("secret: /hunter2\n", "secret: <redacted>\n");
}

static void test_json_and_flow(void **state)
{
	(void)state;
	expect("\"password\": \"hunter2\",\n", "\"password\": \"<redacted>\",\n");
	expect("{\"user\":\"a\",\"password\":\"hunter2\",\"n\":1}",
	       "{\"user\":\"a\",\"password\":\"<redacted>\",\"n\":1}");
	expect("auth: {username: a, password: hunter2, token: x1}\n",
	       "auth: {username: a, password: <redacted>, token: <redacted>}\n");
	expect("{password: hunter2}", "{password: <redacted>}");
}

static void test_env_and_conninfo(void **state)
{
	(void)state;
	expect("PATRONI_SUPERUSER_PASSWORD=hunter2\n",
	       "PATRONI_SUPERUSER_PASSWORD=<redacted>\n");
	expect("PGPASSWORD=hunter2\n", "PGPASSWORD=<redacted>\n");
	expect("export PGPASSWORD='hunter2'\n",
	       "export PGPASSWORD='<redacted>'\n");
	expect("primary_conninfo: 'host=a password=hunter2 user=r'\n",
	       "primary_conninfo: 'host=a password=<redacted> user=r'\n");
	expect("url=x?user=a&password=hunter2&b=c",
	       "url=x?user=a&password=<redacted>&b=c");
}

static void test_haproxy(void **state)
{
	(void)state;
	expect("    stats auth admin:hunter2\n",
	       "    stats auth admin:<redacted>\n");
	expect("\tSTATS  AUTH admin:hunter2 \n", "\tSTATS  AUTH admin:<redacted> \n");
	expect("    user admin insecure-password hunter2\n",
	       "    user admin insecure-password <redacted>\n");
	expect("    user bob password $6$salt$hunter2 groups ops\n",
	       "    user bob password <redacted> groups ops\n");
	unchanged("    user haproxy\n");
	/* haprov's own line names the environment variable: no password */
	unchanged("    stats auth \"haprov:${HAPROV_STATS_PASSWORD}\"\n");
	unchanged("    stats auth haprov:${P}\n");
	/* but anything more than a bare reference is a value */
	expect("    stats auth haprov:x${P}\n",
	       "    stats auth haprov:<redacted>\n");
	expect("    stats auth \"haprov:${P}x\"\n",
	       "    stats auth \"haprov:<redacted>\n");
	expect("    stats auth haprov:${1P}\n",
	       "    stats auth haprov:<redacted>\n");
	expect("    stats auth haprov:${}\n", "    stats auth haprov:<redacted>\n");
	unchanged("    stats uri /stats\n");
	unchanged("    bind *:5000\n");
}

static void test_uris(void **state)
{
	(void)state;
	expect("dsn: postgres://app:hunter2@db1:5432/app\n",
	       "dsn: postgres://app:<redacted>@db1:5432/app\n");
	expect("x http://u:hunter2@h/ y https://v:p2@k?q=1\n",
	       "x http://u:<redacted>@h/ y https://v:<redacted>@k?q=1\n");
	expect("etcd://u:p@ss@h", "etcd://u:<redacted>@h");
	unchanged("url: http://10.0.0.1:8008/patroni\n");
	unchanged("http://user@host/\n");
}

static void test_diff_lines_keep_their_marker(void **state)
{
	(void)state;
	expect("--- /etc/patroni/config.yml\n"
	       "+++ /etc/patroni/config.yml\n"
	       "@@ -1,3 +1,3 @@\n"
	       "   superuser:\n"
	       "-    password: hunter2\n"
	       "+    password: n3w\n",
	       "--- /etc/patroni/config.yml\n"
	       "+++ /etc/patroni/config.yml\n"
	       "@@ -1,3 +1,3 @@\n"
	       "   superuser:\n"
	       "-    password: <redacted>\n"
	       "+    password: <redacted>\n");
	expect("-    stats auth admin:hunter2\n",
	       "-    stats auth admin:<redacted>\n");
	expect("-PGPASSWORD=hunter2\n", "-PGPASSWORD=<redacted>\n");
}

static void test_multiline(void **state)
{
	(void)state;
	expect("password: |\n  hunter2\n  more\n\nuser: x\n",
	       "password: |\n  <redacted>\n  <redacted>\n\nuser: x\n");
	expect("-  password: >-\n-    hunter2\n-  port: 1\n",
	       "-  password: >-\n-    <redacted>\n-  port: 1\n");
	expect("-----BEGIN RSA PRIVATE KEY-----\nMIIhunter2\nabc\n"
	       "-----END RSA PRIVATE KEY-----\nafter\n",
	       "-----BEGIN RSA PRIVATE KEY-----\n<redacted>\n<redacted>\n"
	       "-----END RSA PRIVATE KEY-----\nafter\n");
}

static void test_look_alikes_untouched(void **state)
{
	(void)state;
	unchanged("password_encryption: scram-sha-256\n");
	unchanged("  pgpass: /var/lib/postgresql/pgpass\n");
	unchanged("ssl_key_file: /etc/ssl/x.key\n");
	unchanged("keyfile: /etc/ssl/x.key\n");
	unchanged("ETCD_INITIAL_CLUSTER_TOKEN=t-cluster\n");
	unchanged("  authentication:\n");
	unchanged("password:\n");
	unchanged("password: \"\"\n");
	unchanged("password: null\n");
	unchanged("# No password is in this file.\n");
	unchanged("# PATRONI_SUPERUSER_PASSWORD, PATRONI_REPLICATION_PASSWORD,\n");
	unchanged("a == password\n");
	unchanged("");
}

static void test_counts_and_has(void **state)
{
	const char *t = "a: 1\npassword: x\nstats auth u:p\nPGPASSWORD=z\n";
	size_t nr = 0;
	char *s = red(t, &nr);

	(void)state;
	assert_int_equal(nr, 3);
	assert_true(hp_redact_has_credentials(t, strlen(t)));
	assert_false(hp_redact_has_credentials("a: 1\n", 5));
	assert_false(hp_redact_has_credentials(NULL, 0));
	free(s);
}

/* Bytes a file may hold: NUL, no final newline, CRLF. */
static void test_odd_bytes(void **state)
{
	static const char t[] = "x: \0\npassword: hunter2\r\nPGPASSWORD=hunter2";
	struct hp_buf out = HP_BUF_INIT;

	(void)state;
	assert_int_equal(hp_redact_credentials(&out, t, sizeof(t) - 1, NULL),
			 0);
	assert_int_equal(out.len, strlen("x: ") + 1 +
					  strlen("\npassword: <redacted>\r\n"
						 "PGPASSWORD=<redacted>"));
	assert_null(memmem(out.buf, out.len, "hunter2", 7));
	hp_buf_release(&out);
}

/* More values on a line than it tracks: the whole line is hidden. */
static void test_many_values_on_a_line(void **state)
{
	struct hp_buf in = HP_BUF_INIT, out = HP_BUF_INIT;
	int i;

	(void)state;
	hp_buf_adds(&in, "  {");
	for (i = 0; i < 100; i++)
		hp_buf_addf(&in, "password: hunter%d, ", i);
	hp_buf_adds(&in, "}\nnext: 1\n");
	assert_int_equal(hp_redact_credentials(&out, in.buf, in.len, NULL), 0);
	assert_string_equal(out.buf, "  <redacted>\nnext: 1\n");
	hp_buf_release(&in);
	hp_buf_release(&out);
}

/* Lines built to make a naive scanner quadratic: 4 MiB each, done in
 * well under a second (the unit test's own timeout would catch it). */
static void test_hostile_lines_are_linear(void **state)
{
	static const char *const units[] = { "{\"token\":\"", ",password=\"",
					      "a://a://", "{,{,", "====" };
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(units); i++) {
		struct hp_buf in = HP_BUF_INIT, out = HP_BUF_INIT;
		int64_t t0 = hp_now_ms();

		while (in.len < (size_t)4 << 20)
			hp_buf_adds(&in, units[i]);
		assert_int_equal(
			hp_redact_credentials(&out, in.buf, in.len, NULL), 0);
		if (hp_now_ms() - t0 > 3000)
			fail_msg("'%s' x 4 MiB took %lld ms", units[i],
				 (long long)(hp_now_ms() - t0));
		hp_buf_release(&in);
		hp_buf_release(&out);
	}
}

static void test_output_cap(void **state)
{
	struct hp_buf out;

	(void)state;
	hp_buf_init(&out, 8);
	assert_int_equal(hp_redact_credentials(&out, "password: hunter2\n", 18,
					       NULL),
			 HP_ETOOBIG);
	assert_null(strstr(out.buf, "hunter2"));
	hp_buf_release(&out);
}

static void test_wipe(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	char *p = xstrdup("hunter2");

	(void)state;
	hp_buf_adds(&b, "hunter2");
	hp_redact_buf_wipe(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.buf, "");
	hp_redact_free(p, strlen(p));
	hp_redact_free(NULL, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_keys),
		cmocka_unit_test(test_key_file_paths),
		cmocka_unit_test(test_json_and_flow),
		cmocka_unit_test(test_env_and_conninfo),
		cmocka_unit_test(test_haproxy),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_diff_lines_keep_their_marker),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_look_alikes_untouched),
		cmocka_unit_test(test_counts_and_has),
		cmocka_unit_test(test_odd_bytes),
		cmocka_unit_test(test_many_values_on_a_line),
		cmocka_unit_test(test_hostile_lines_are_linear),
		cmocka_unit_test(test_output_cap),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
