/* Unit tests for the template engine (provisioner/template.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <string.h>

#include "template.h"

/* Render tpl against the JSON text ctx_json; returns the code, the output
 * in *out (caller frees) and the error in err. */
static int render(char **out, const char *tpl, const char *ctx_json,
		  struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	json_error_t jerr;
	json_t *ctx = json_loads(ctx_json, 0, &jerr);
	int r;

	if (!ctx)
		fail_msg("bad test JSON: %s", jerr.text);
	hp_err_clear(err);
	r = hp_template_render(&b, "test.tpl", tpl, strlen(tpl), ctx, err);
	json_decref(ctx);
	*out = hp_buf_detach(&b, NULL);
	return r;
}

/* Render and expect success with exactly want. */
static void expect_render(const char *tpl, const char *ctx_json,
			  const char *want)
{
	struct hp_err err;
	char *got;
	int r = render(&got, tpl, ctx_json, &err);

	if (r != 0)
		fail_msg("render failed: %s", err.msg);
	assert_string_equal(got, want);
	free(got);
}

/* Render and expect HP_EINVALID with each of the needles in the message. */
static void expect_error(const char *tpl, const char *ctx_json,
			 const char *needle1, const char *needle2)
{
	struct hp_err err;
	char *got;
	int r = render(&got, tpl, ctx_json, &err);

	free(got);
	assert_int_equal(r, HP_EINVALID);
	assert_int_equal(err.code, HP_EINVALID);
	if (!strstr(err.msg, needle1))
		fail_msg("'%s' not in error '%s'", needle1, err.msg);
	if (needle2 && !strstr(err.msg, needle2))
		fail_msg("'%s' not in error '%s'", needle2, err.msg);
}

static void test_variables(void **state)
{
	(void)state;
	expect_render("a={{a}} b={{ b }} n={{n}} t={{t}} f={{f}} neg={{m}}",
		      "{\"a\":\"x\",\"b\":\"y z\",\"n\":42,\"t\":true,"
		      "\"f\":false,\"m\":-7}",
		      "a=x b=y z n=42 t=true f=false neg=-7");
	/* no escaping of any kind */
	expect_render("{{s}}", "{\"s\":\"<a href='x'>&amp;\\\"q\\\"\"}",
		      "<a href='x'>&amp;\"q\"");
	expect_render("no tags\n", "{}", "no tags\n");
	expect_render("", "{}", "");
	/* a lone brace is text */
	expect_render("{ {a} }{{a}}}", "{\"a\":1}", "{ {a} }1}");
}

static void test_dotted(void **state)
{
	(void)state;
	expect_render("{{a.b.c}}/{{a.x}}",
		      "{\"a\":{\"b\":{\"c\":\"deep\"},\"x\":3}}", "deep/3");
}

static void test_list_of_objects_and_outer_names(void **state)
{
	(void)state;
	/* inside a section, names resolve against the item, then outward */
	expect_render("{{#servers}}server {{name}} {{addr}}:{{port}}\n"
		      "{{/servers}}",
		      "{\"port\":5432,\"servers\":[{\"name\":\"pg1\","
		      "\"addr\":\"10.0.0.1\"},{\"name\":\"pg2\","
		      "\"addr\":\"10.0.0.2\",\"port\":6432}]}",
		      "server pg1 10.0.0.1:5432\nserver pg2 10.0.0.2:6432\n");
	/* nested sections see every enclosing context */
	expect_render("{{#a}}{{#b}}{{x}}{{y}}{{z}};{{/b}}{{/a}}",
		      "{\"z\":\"Z\",\"a\":[{\"y\":\"Y\",\"b\":[{\"x\":1},"
		      "{\"x\":2}]}]}",
		      "1YZ;2YZ;");
}

static void test_list_of_scalars(void **state)
{
	(void)state;
	expect_render("hosts:\n{{#h}}\n  - {{.}}\n{{/h}}\nend\n",
		      "{\"h\":[\"a:1\",\"b:2\",3]}",
		      "hosts:\n  - a:1\n  - b:2\n  - 3\nend\n");
	expect_render("[{{#h}}{{.}},{{/h}}]", "{\"h\":[]}", "[]");
}

static void test_flags_and_inverted(void **state)
{
	(void)state;
	expect_render("{{#t}}T{{/t}}{{#f}}F{{/f}}{{^t}}!T{{/t}}{{^f}}!F{{/f}}",
		      "{\"t\":true,\"f\":false}", "T!F");
	/* "" and [] and null are false; other strings and numbers true */
	expect_render("{{#e}}E{{/e}}{{^e}}-e{{/e}}{{#l}}L{{/l}}{{^l}}-l{{/l}}"
		      "{{#n}}N{{/n}}{{^n}}-n{{/n}}{{#s}}[{{.}}]{{/s}}"
		      "{{#z}}Z{{/z}}",
		      "{\"e\":\"\",\"l\":[],\"n\":null,\"s\":\"val\","
		      "\"z\":0}",
		      "-e-l-n[val]Z");
	/* an object section pushes the object */
	expect_render("{{#o}}{{x}}-{{y}}{{/o}}",
		      "{\"y\":\"out\",\"o\":{\"x\":\"in\"}}", "in-out");
	/* the same flag used twice, as config templates do */
	expect_render("{{#w}}a {{w}}\n{{/w}}b\n{{#w}}c {{w}}\n{{/w}}",
		      "{\"w\":\"/wal\"}", "a /wal\nb\nc /wal\n");
	expect_render("{{#w}}a {{w}}\n{{/w}}b\n{{#w}}c {{w}}\n{{/w}}",
		      "{\"w\":false}", "b\n");
}

static void test_comments(void **state)
{
	(void)state;
	expect_render("a{{! a comment }}b\n{{! standalone\n over lines }}\nc\n",
		      "{}", "ab\nc\n");
}

static void test_standalone_lines(void **state)
{
	(void)state;
	/* section tags alone on their line take the line with them */
	expect_render("begin\n  {{#l}}  \n  - {{.}}\n  {{/l}}\nend\n",
		      "{\"l\":[1,2]}", "begin\n  - 1\n  - 2\nend\n");
	/* CRLF line ends, and a tag on the last line without a newline */
	expect_render("a\r\n{{#t}}\r\nb\r\n{{/t}}", "{\"t\":true}",
		      "a\r\nb\r\n");
	/* not standalone: something else on the line */
	expect_render("x {{#t}}y{{/t}} z\n", "{\"t\":true}", "x y z\n");
	expect_render("{{#t}}y\n{{/t}}", "{\"t\":true}", "y\n");
	/* a variable tag alone on its line is not removed */
	expect_render("a\n{{v}}\nb\n", "{\"v\":\"\"}", "a\n\nb\n");
	/* inverted section at the start of the template */
	expect_render("{{^f}}\nno\n{{/f}}\nyes\n", "{\"f\":false}",
		      "no\nyes\n");
}

static void test_missing_variable_is_an_error(void **state)
{
	(void)state;
	expect_error("line one\nline two\nx {{nope}} y\n", "{\"yes\":1}",
		     "test.tpl line 3", "'nope'");
	/* the error names the whole dotted name */
	expect_error("{{a.b}}", "{\"a\":{\"c\":1}}", "line 1", "'a.b'");
	expect_error("{{a.b}}", "{\"a\":\"scalar\"}", "line 1", "'a.b'");
	/* a section over a missing name is a typo too */
	expect_error("\n{{#lisst}}x{{/lisst}}", "{\"list\":[]}", "line 2",
		     "'lisst'");
	expect_error("{{^nope}}x{{/nope}}", "{}", "line 1", "'nope'");
	/* found in an item only, not outside the section */
	expect_error("{{#l}}{{x}}{{/l}}{{x}}", "{\"l\":[{\"x\":1}]}", "line 1",
		     "'x'");
	/* {{.}} with an empty stack cannot happen; inside an object it is the
	 * object, which is not printable */
	expect_error("{{#o}}{{.}}{{/o}}", "{\"o\":{\"a\":1}}", "object", NULL);
}

static void test_unprintable_values(void **state)
{
	(void)state;
	expect_error("{{n}}", "{\"n\":null}", "'n' is null", NULL);
	expect_error("{{r}}", "{\"r\":1.5}", "real", NULL);
	expect_error("{{o}}", "{\"o\":{}}", "object", NULL);
	expect_error("{{l}}", "{\"l\":[]}", "list", NULL);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("a\n{{b", "{}", "line 2", "never closed");
	expect_error("{{#a}}\nx\n", "{\"a\":true}", "line 1",
		     "section 'a' is never closed");
	expect_error("{{#a}}\n{{/b}}\n", "{\"a\":true}", "line 2",
		     "opened on line 1");
	expect_error("x\n{{/a}}", "{}", "line 2", "closes no section");
	expect_error("{{>partial}}", "{}", "unsupported", NULL);
	expect_error("{{{triple}}}", "{}", "unsupported", NULL);
	expect_error("{{&amp}}", "{}", "unsupported", NULL);
	expect_error("{{=<% %>=}}", "{}", "unsupported", NULL);
	expect_error("{{}}", "{}", "bad name", NULL);
	expect_error("{{a b}}", "{}", "bad name", NULL);
	expect_error("{{a..b}}", "{}", "bad name", NULL);
	expect_error("{{.a}}", "{}", "bad name", NULL);
	expect_error("{{#}}{{/}}", "{}", "bad name", NULL);
}

static void test_output_maximum(void **state)
{
	struct hp_buf b;
	struct hp_err err;
	json_t *ctx = json_pack("{s:s}", "v", "0123456789");
	const char *tpl = "{{v}}{{v}}{{v}}";
	int r;

	(void)state;
	hp_buf_init(&b, 25);
	r = hp_template_render(&b, "t", tpl, strlen(tpl), ctx, &err);
	assert_int_equal(r, HP_ETOOBIG);
	assert_non_null(strstr(err.msg, "too large"));
	hp_buf_release(&b);
	json_decref(ctx);
}

/* Text is not NUL-terminated at len: the engine must stop there. */
static void test_length_is_respected(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	json_t *ctx = json_pack("{s:s}", "v", "V");
	int r;

	(void)state;
	r = hp_template_render(&b, "t", "a{{v}}b{{junk", 7, ctx, &err);
	assert_int_equal(r, 0);
	assert_string_equal(b.buf, "aVb");
	hp_buf_release(&b);
	json_decref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_dotted),
		cmocka_unit_test(test_list_of_objects_and_outer_names),
		cmocka_unit_test(test_list_of_scalars),
		cmocka_unit_test(test_flags_and_inverted),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_standalone_lines),
		cmocka_unit_test(test_missing_variable_is_an_error),
		cmocka_unit_test(test_unprintable_values),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_output_maximum),
		cmocka_unit_test(test_length_is_respected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
