/*
 * Golden tests of what plan and apply print (issue 13), through the apply
 * driver's seam with fake phases and the scripted fake transport: a no-op
 * plan, a plan with a file diff, a plan with a change of dynamic settings
 * (a multi-line diff), and an apply's summary. Times and the run id are
 * masked ("[T]", "(T)", "run ID", "in T") so the text is fixed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <git2.h>

#include "apply.h"
#include "bootstrap.h"
#include "fake_rest.h"
#include "fake_transport.h"
#include "phases.h"
#include "secret_store.h"
#include "state.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-output-"
#include "apply_fixture.h"

/* ---- capturing stdout and stderr, masked ------------------------------------ */

struct capture {
	int saved[2];
	char path[2][64];
};

static void cap_begin(struct capture *c)
{
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		int fd;

		hp_strlcpy(c->path[i], "/tmp/hp-output-cap.XXXXXX",
			   sizeof(c->path[i]));
		fd = mkstemp(c->path[i]);
		assert_true(fd >= 0);
		c->saved[i] = dup(i + 1);
		dup2(fd, i + 1);
		close(fd);
	}
}

/* s with each "[  1.2s]", "(0.0s)", "run <id>" and "in 1.2s" masked */
static char *mask(const char *s)
{
	struct hp_buf out = HP_BUF_INIT;
	const char *e;

	while (*s) {
		if (*s == '[' && (e = strstr(s, "s]")) && e - s < 12) {
			hp_buf_adds(&out, "[T]");
			s = e + 2;
		} else if (*s == '(' && (e = strstr(s, "s)")) && e - s < 10 &&
			   strspn(s + 1, "0123456789.") ==
				   (size_t)(e - s - 1)) {
			hp_buf_adds(&out, "(T)");
			s = e + 2;
		} else if (!strncmp(s, "run 20", 6)) {
			hp_buf_adds(&out, "run ID");
			s += strcspn(s, "\n");
		} else if (!strncmp(s, " in ", 4) &&
			   strspn(s + 4, "0123456789.") &&
			   s[4 + strspn(s + 4, "0123456789.")] == 's') {
			hp_buf_adds(&out, " in T");
			s += 5 + strspn(s + 4, "0123456789.");
		} else {
			hp_buf_addch(&out, *s++);
		}
	}
	return out.buf ? hp_buf_detach(&out, NULL) : xstrdup("");
}

/* *out and *err: what was printed, masked */
static void cap_end(struct capture *c, char **out, char **err)
{
	char **dst[2] = {out, err};
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		struct hp_buf b = HP_BUF_INIT;
		struct hp_err e;

		dup2(c->saved[i], i + 1);
		close(c->saved[i]);
		assert_int_equal(hp_buf_read_file(&b, c->path[i], &e), 0);
		unlink(c->path[i]);
		*dst[i] = mask(b.buf ? b.buf : "");
		hp_buf_release(&b);
	}
}

static void expect(const char *what, const char *have, const char *want)
{
	if (strcmp(have, want) != 0)
		fprintf(stderr, "%s:\n--- want\n%s--- have\n%s---\n", what, want,
			have);
	assert_string_equal(have, want);
}

/* a fake phase that finds the dynamic settings differ (a plan only) */
static int dcs_converge(struct hp_run *run, struct hp_err *err)
{
	(void)err;
	hp_run_record(run, "a", run->opts.plan ? HP_STEP_CHANGED : HP_STEP_OK,
		      "dcs config", "dynamic settings differ",
		      "ttl: 30 -> 20\nloop_wait: 10 -> 5\nretry_timeout: 10 -> 5\n",
		      hp_now_ms());
	return 0;
}

static const struct hp_phase dcs_phase[] = {
	{.name = "patroni", .converge = dcs_converge, .verify = verify},
};

static void test_noop_plan(void **state)
{
	struct fx *x = fx_new("noop", true);
	const struct file_spec f[] = {{"/etc/a", "v1\n", false}};
	struct capture c;
	char *out, *err;

	(void)state;
	want_files(1, f);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	cap_begin(&c);
	assert_int_equal(run_cmd(x, "plan", alpha, 1, END), HP_EXIT_OK);
	cap_end(&c, &out, &err);
	expect("stdout", out, "no changes: the cluster matches the inventory\n");
	/* the packages and the file: 2 ok, printed only in the recap */
	expect("stderr", err,
	       "haprov plan: cluster c1, 1 host, run ID\n"
	       "recap    a        ok=2 would-change=0 failed=0\n");
	free(out);
	free(err);
	fx_free(x);
}

static void test_plan_file_diff(void **state)
{
	struct fx *x = fx_new("diff", true);
	const struct file_spec v1[] = {{"/etc/a", "v1\n", false}};
	const struct file_spec v2[] = {{"/etc/a", "v2\n", false}};
	struct capture c;
	char *out, *err;

	(void)state;
	want_files(1, v1);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	want_files(1, v2);
	hp_fake_expect(&x->host, "diff -u", 1,
		       "--- /etc/a\n+++ /etc/a (new)\n@@ -1 +1 @@\n-v1\n+v2\n",
		       "");
	cap_begin(&c);
	assert_int_equal(run_cmd(x, "plan", alpha, 1, END), HP_EXIT_CHANGES);
	cap_end(&c, &out, &err);
	expect("stdout", out,
	       "changes:\n"
	       "  alpha    a        file /etc/a: content differs\n"
	       "      --- /etc/a\n"
	       "      +++ /etc/a (new)\n"
	       "      @@ -1 +1 @@\n"
	       "      -v1\n"
	       "      +v2\n"
	       "1 change\n");
	expect("stderr", err,
	       "haprov plan: cluster c1, 1 host, run ID\n"
	       "[T] a        alpha    file /etc/a                              "
	       "would change: content differs (T)\n"
	       "alpha    a        ok=1 would-change=1 failed=0\n"
	       "recap    a        ok=1 would-change=1 failed=0\n");
	free(out);
	free(err);
	fx_free(x);
}

/* Each changed setting on a line of its own, under its step. */
static void test_plan_dcs_change(void **state)
{
	struct fx *x = fx_new("dcs", true);
	struct capture c;
	char *out, *err;

	(void)state;
	want_files(0, NULL);
	script(0);
	/* the cluster's certificates made: the plan has only the DCS */
	assert_int_equal(run_cmd(x, "apply", dcs_phase, 1, END), HP_EXIT_OK);
	cap_begin(&c);
	assert_int_equal(run_cmd(x, "plan", dcs_phase, 1, END),
			 HP_EXIT_CHANGES);
	cap_end(&c, &out, &err);
	expect("stdout", out,
	       "changes:\n"
	       "  patroni  a        dcs config: dynamic settings differ\n"
	       "      ttl: 30 -> 20\n"
	       "      loop_wait: 10 -> 5\n"
	       "      retry_timeout: 10 -> 5\n"
	       "1 change\n");
	/* nothing at column 0 but the run's own lines */
	expect("stderr", err,
	       "haprov plan: cluster c1, 1 host, run ID\n"
	       "[T] a        patroni  dcs config                               "
	       "would change: dynamic settings differ (T)\n"
	       "patroni  a        ok=0 would-change=1 failed=0\n"
	       "recap    a        ok=0 would-change=1 failed=0\n");
	free(out);
	free(err);
	fx_free(x);
}

static void test_apply_summary(void **state)
{
	struct fx *x = fx_new("summary", true);
	const struct file_spec f[] = {{"/etc/a", "v1\n", false},
				      {"/etc/b", "same\n", false}};
	struct capture c;
	char *out, *err;

	(void)state;
	want_files(1, f + 1);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	want_files(2, f);
	cap_begin(&c);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	cap_end(&c, &out, &err);
	expect("stdout", out, "");
	expect("stderr", err,
	       "haprov apply: cluster c1, 1 host, run ID\n"
	       "== phase alpha\n"
	       "[T] a        alpha    file /etc/a                              "
	       "changed: created (T)\n"
	       "alpha    a        ok=2 changed=1 failed=0\n"
	       "recap    a        ok=2 changed=1 failed=0\n"
	       "haprov: apply done in T: 1 changed\n");
	free(out);
	free(err);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noop_plan),
		cmocka_unit_test(test_plan_file_diff),
		cmocka_unit_test(test_plan_dcs_change),
		cmocka_unit_test(test_apply_summary),
	};
	int rc;

	git_libgit2_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	git_libgit2_shutdown();
	return rc;
}
