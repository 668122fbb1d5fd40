/*
 * What a plan or an apply prints (issue 13): by default only the steps
 * that change, fail or have something to say, a phase's summary only for
 * hosts where something changed or failed, and a recap per host at the
 * end; -v prints every step and every summary. A message of several
 * lines goes on under its first, never at column 0. Timestamps are
 * masked ("[T]") so the expected text is fixed.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_fixture.h"

/* stderr into a file while capturing; end_capture returns what was
 * written, each "[   1.2s]" and "(0.0s)" made "[T]" and "(T)". */
static int saved_fd = -1;
static char cap_path[] = "/tmp/haprov-test-output.XXXXXX";

static void begin_capture(void)
{
	int fd;

	hp_strlcpy(cap_path, "/tmp/haprov-test-output.XXXXXX", sizeof(cap_path));
	fd = mkstemp(cap_path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_fd = dup(2);
	assert_true(saved_fd >= 0);
	dup2(fd, 2);
	close(fd);
}

static char *end_capture(void)
{
	struct hp_buf b = HP_BUF_INIT, out = HP_BUF_INIT;
	struct hp_err err;
	const char *p;

	fflush(stderr);
	dup2(saved_fd, 2);
	close(saved_fd);
	assert_int_equal(hp_buf_read_file(&b, cap_path, &err), 0);
	unlink(cap_path);
	for (p = b.buf ? b.buf : ""; *p;) {
		const char *e;

		if (*p == '[' && (e = strstr(p, "s]")) && e - p < 12) {
			hp_buf_adds(&out, "[T]");
			p = e + 2;
		} else if (*p == '(' && (e = strstr(p, "s)")) && e - p < 10 &&
			   strspn(p + 1, "0123456789.") == (size_t)(e - p - 1)) {
			hp_buf_adds(&out, "(T)");
			p = e + 2;
		} else {
			hp_buf_addch(&out, *p++);
		}
	}
	hp_buf_release(&b);
	return out.buf ? hp_buf_detach(&out, NULL) : xstrdup("");
}

static void record_some(struct hp_run *run)
{
	int64_t t = hp_now_ms();

	run->phase = "patroni";
	hp_run_record(run, "a", HP_STEP_OK, "packages", NULL, NULL, t);
	hp_run_record(run, "b", HP_STEP_OK, "packages", NULL, NULL, t);
	hp_run_record(run, "a", HP_STEP_CHANGED, "dcs config",
		      "dynamic settings differ", "ttl: 30 -> 20\n", t);
	hp_run_record(run, "a", HP_STEP_OK, "role old",
		      "not in the inventory: left alone", NULL, t);
	hp_run_record(run, "c", HP_STEP_FAILED, "service patroni",
		      "did not start", NULL, t);
}

static void test_quiet_by_default(void **state)
{
	struct fx *x = fx_new(true);
	enum hp_log_level lvl = hp_log_get_level();
	char *out;

	(void)state;
	hp_log_set_level(HP_LOG_WARN);
	begin_capture();
	record_some(&x->run);
	hp_run_phase_summary(&x->run, "patroni");
	hp_run_recap(&x->run);
	out = end_capture();
	assert_string_equal(
		out,
		"[T] a        patroni  dcs config                               "
		"would change: dynamic settings differ (T)\n"
		"[T] a        patroni  role old                                 "
		"ok: not in the inventory: left alone (T)\n"
		"[T] c        patroni  service patroni                          "
		"failed: did not start (T)\n"
		"patroni  a        ok=2 would-change=1 failed=0\n"
		"patroni  c        ok=0 would-change=0 failed=1\n"
		"recap    a        ok=2 would-change=1 failed=0\n"
		"recap    b        ok=1 would-change=0 failed=0\n"
		"recap    c        ok=0 would-change=0 failed=1\n");
	free(out);
	/* the results keep every step: --json and the counts see them */
	assert_int_equal(x->run.nr_results, 5);
	hp_log_set_level(lvl);
	fx_free(x);
}

static void test_verbose_prints_everything(void **state)
{
	struct fx *x = fx_new(false);
	enum hp_log_level lvl = hp_log_get_level();
	char *out;

	(void)state;
	hp_log_set_level(HP_LOG_INFO);
	assert_true(hp_run_verbose());
	begin_capture();
	record_some(&x->run);
	hp_run_phase_summary(&x->run, "patroni");
	out = end_capture();
	assert_non_null(strstr(out, "[T] a        patroni  packages"
				    "                                 ok (T)\n"));
	assert_non_null(strstr(out, "[T] b        patroni  packages"));
	assert_non_null(strstr(out, "changed: dynamic settings differ"));
	/* every host with a result, b too */
	assert_non_null(strstr(out, "patroni  b        ok=1 changed=0 "
				    "failed=0\n"));
	free(out);
	hp_log_set_level(HP_LOG_WARN);
	assert_false(hp_run_verbose());
	hp_log_set_level(lvl);
	fx_free(x);
}

static void test_multi_line_indented(void **state)
{
	struct hp_buf b = HP_BUF_INIT;
	enum hp_log_level lvl = hp_log_get_level();
	char *out;

	(void)state;
	hp_buf_add_indented(&b, "head\nttl: 30 -> 20\nloop_wait: 10 -> 5\n", 4);
	assert_string_equal(b.buf,
			    "head\n    ttl: 30 -> 20\n    loop_wait: 10 -> 5\n");
	hp_buf_reset(&b);
	hp_buf_add_indented(&b, "one line", 4);
	assert_string_equal(b.buf, "one line");
	hp_buf_reset(&b);
	hp_buf_add_indented(&b, "a\n\nb", 2);
	assert_string_equal(b.buf, "a\n  \n  b");
	hp_buf_release(&b);
	/* a warning of several lines: none at column 0 */
	hp_log_set_level(HP_LOG_WARN);
	begin_capture();
	hp_warn("dynamic settings differ:\nttl: 30 -> 20\nloop_wait: 10 -> 5");
	out = end_capture();
	assert_string_equal(out, "haprov: warning: dynamic settings differ:\n"
				 "                 ttl: 30 -> 20\n"
				 "                 loop_wait: 10 -> 5\n");
	free(out);
	hp_log_set_level(lvl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quiet_by_default),
		cmocka_unit_test(test_verbose_prints_everything),
		cmocka_unit_test(test_multi_line_indented),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
