/*
 * Drill command templates (provisioner/drill_template.c): {host} and
 * {address} expanded, each single-quoted for /bin/sh; anything else in
 * braces, a lone brace, an empty template or a control character
 * refused with out left as it was. The quoting is checked by a real
 * /bin/sh: what it prints for a hostile value is the value itself.
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

/* A host with copies of name and address (NULL stays NULL). */
static struct hp_host host(const char *name, const char *address)
{
	struct hp_host h;

	memset(&h, 0, sizeof(h));
	h.name = name ? xstrdup(name) : NULL;
	h.address = address ? xstrdup(address) : NULL;
	return h;
}

static void host_release(struct hp_host *h)
{
	free(h->name);
	free(h->address);
	h->name = h->address = NULL;
}

/* tmpl expanded for h is want. */
static void expands(const char *tmpl, const struct hp_host *h, const char *want)
{
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err err;

	hp_err_clear(&err);
	assert_int_equal(hp_drill_command(tmpl, h, &out, &err), 0);
	assert_string_equal(out.buf, want);
	assert_int_equal(hp_drill_template_check(tmpl, &err), 0);
	hp_buf_release(&out);
}

/* tmpl is refused with why, and out keeps what it held. */
static void refused(const char *tmpl, const char *why)
{
	struct hp_host h = host("db1", "10.0.0.1");
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err err;

	hp_buf_adds(&out, "before ");
	hp_err_clear(&err);
	assert_int_equal(hp_drill_command(tmpl, &h, &out, &err), -1);
	assert_string_equal(err.msg, why);
	assert_string_equal(out.buf, "before ");
	hp_err_clear(&err);
	assert_int_equal(hp_drill_template_check(tmpl, &err), -1);
	assert_string_equal(err.msg, why);
	hp_buf_release(&out);
	host_release(&h);
}

static void test_expand(void **state)
{
	struct hp_host h = host("db1", "10.0.0.1");
	struct hp_host v6 = host("db-2", "fd00::2");
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	expands("virsh destroy {host}", &h, "virsh destroy 'db1'");
	expands("virsh start {host}", &h, "virsh start 'db1'");
	expands("ipmitool -H {address} power off", &h,
		"ipmitool -H '10.0.0.1' power off");
	expands("{host}:{address}/{host}", &v6, "'db-2':'fd00::2'/'db-2'");
	expands("reboot-all", &h, "reboot-all");
	/* other shell text passes as written */
	expands("ssh hv \"virsh destroy $(echo x)\" && echo {host} | cat", &h,
		"ssh hv \"virsh destroy $(echo x)\" && echo 'db1' | cat");
	/* appended: what out held stays */
	hp_buf_adds(&out, "exec ");
	hp_err_clear(&err);
	assert_int_equal(hp_drill_command("kill {host}", &h, &out, &err), 0);
	assert_string_equal(out.buf, "exec kill 'db1'");
	hp_buf_release(&out);
	host_release(&h);
	host_release(&v6);
}

/* A single quote in a value: closed, escaped, reopened. */
static void test_single_quote(void **state)
{
	struct hp_host h = host("it's", "a'b'c");

	(void)state;
	expands("x {host}", &h, "x 'it'\\''s'");
	expands("{address}", &h, "'a'\\''b'\\''c'");
	host_release(&h);
	h = host("'", "''");
	expands("{host} {address}", &h, "''\\''' ''\\'''\\'''");
	host_release(&h);
}

/* /bin/sh gives back each hostile value unchanged, as one word. */
static void test_shell_sees_the_value(void **state)
{
	static const char *const values[] = {
		"it's",	   "$(echo pwned)",
		"`id`",	   "a b  c",
		";echo x", "'",
		"\\",	   "*",
		"-n",	   "\"q\"",
		"$HOME",   "a'\\''b",
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(values); i++) {
		struct hp_host h = host(values[i], "10.0.0.1");
		struct hp_buf cmd = HP_BUF_INIT, got = HP_BUF_INIT;
		struct hp_err err;
		char line[256];
		size_t n;
		FILE *p;

		hp_err_clear(&err);
		assert_int_equal(hp_drill_command("printf '%s|%s' {host} "
						  "{address}",
						  &h, &cmd, &err),
				 0);
		p = popen(cmd.buf, "r");
		assert_non_null(p);
		while ((n = fread(line, 1, sizeof(line), p)) > 0)
			hp_buf_add(&got, line, n);
		assert_int_equal(pclose(p), 0);
		{
			char *want = xasprintf("%s|10.0.0.1", values[i]);

			assert_string_equal(got.buf, want);
			free(want);
		}
		hp_buf_release(&cmd);
		hp_buf_release(&got);
		host_release(&h);
	}
}

static void test_bad_templates(void **state)
{
	(void)state;
	refused("virsh destroy {name}",
		"unknown placeholder {name}: a drill command takes {host} and "
		"{address}");
	refused("x {}", "unknown placeholder {}: a drill command takes {host} "
			"and {address}");
	refused("x {HOST}", "unknown placeholder {HOST}: a drill command "
			    "takes {host} and {address}");
	refused("x {host }", "unknown placeholder {host }: a drill command "
			     "takes {host} and {address}");
	refused("x {0123456789012345678901234567890123456789}",
		"unknown placeholder {01234567890123456789012345678901...}: a "
		"drill command takes {host} and {address}");
	refused("virsh destroy {host",
		"a lone '{' at character 15: braces only make the placeholders "
		"{host} and {address}");
	refused("virsh destroy host}",
		"a lone '}' at character 19: braces only make the placeholders "
		"{host} and {address}");
	refused("{{host}}", "a lone '{' at character 1: braces only make the "
			    "placeholders {host} and {address}");
	refused("{host}}", "a lone '}' at character 7: braces only make the "
			   "placeholders {host} and {address}");
	/* characters, not bytes: "é" is one */
	refused("\xc3\xa9 {", "a lone '{' at character 3: braces only make "
			      "the placeholders {host} and {address}");
	/* a bad placeholder after a good one: nothing appended either */
	refused("{host} {nope}", "unknown placeholder {nope}: a drill command "
				 "takes {host} and {address}");
	refused("", "a drill command cannot be empty");
	refused("a\nb", "a drill command must be one line (it holds \\x0a)");
	refused("a\rb", "a drill command must be one line (it holds \\x0d)");
	refused("a\tb", "a drill command cannot hold control characters (it "
			"holds \\x09)");
	refused("a\x7f", "a drill command cannot hold control characters (it "
			 "holds \\x7f)");
}

/* A host without the value a template needs; no host at all. */
static void test_missing_values(void **state)
{
	struct hp_host noaddr = host("db1", NULL);
	struct hp_buf out = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	expands("virsh destroy {host}", &noaddr, "virsh destroy 'db1'");
	hp_buf_adds(&out, "x");
	hp_err_clear(&err);
	assert_int_equal(
		hp_drill_command("ping {host} {address}", &noaddr, &out, &err),
		-1);
	assert_string_equal(err.msg, "no {address} for the drill command: the "
				     "host has none");
	assert_string_equal(out.buf, "x");
	assert_int_equal(hp_drill_command("ping {host}", NULL, &out, &err), -1);
	assert_string_equal(err.msg, "no host for the drill command");
	assert_int_equal(hp_drill_command(NULL, &noaddr, &out, &err), -1);
	assert_string_equal(out.buf, "x");
	assert_int_equal(hp_drill_template_check(NULL, &err), -1);
	hp_buf_release(&out);
	host_release(&noaddr);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_single_quote),
		cmocka_unit_test(test_shell_sees_the_value),
		cmocka_unit_test(test_bad_templates),
		cmocka_unit_test(test_missing_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
