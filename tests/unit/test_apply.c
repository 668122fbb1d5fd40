/*
 * The apply driver's decisions (apply.c, apply_rollback.c) through its
 * seam: fake phases that count their calls, a fake transport, the fake
 * REST server and a real state repository in a temporary directory.
 *
 *   converge, verify (always, also when nothing changed), commit (only
 *   when something changed), roll back: a failed verify after changes
 *   rolls back (exit 4), a failed rollback is exit 5, --no-rollback exit
 *   6, a failed verify with nothing changed exit 6 and no rollback.
 *
 *   rollback is all or nothing: a point missing a file, with an unusable
 *   dcs.json, or whose secret file cannot be rendered again is exit 5
 *   before any host is touched; a file created after the point is moved
 *   to the host's backups.
 *
 *   plan writes nothing locally.
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

#include "apply_fixture.h"

/* ---- converge, verify, commit, roll back ---------------------------------- */

static void test_verify_always_called(void **state)
{
	struct fx *x = fx_new("verify-always", true);
	const struct file_spec f[] = {{"/etc/a", "same\n", false}};
	bool commits = true;
	struct hp_err err;

	(void)state;
	want_files(1, f);
	hp_fake_set_file(&x->host, "/etc/a", "same\n", 5, 0644, "root", "root");
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	assert_int_equal(S.converge_calls, 1);
	assert_int_equal(S.verify_calls, 1); /* nothing changed: verified */
	assert_int_equal(hp_fake_count_calls(&x->host, HP_FAKE_PUT, NULL), 0);
	/* nothing changed: no rollback point */
	assert_int_equal(hp_state_peek(x->state_dir, &commits, &err), 0);
	assert_false(commits);
	fx_free(x);
}

static void test_commit_only_when_changed(void **state)
{
	struct fx *x = fx_new("commit", true);
	const struct file_spec f[] = {{"/etc/a", "v1\n", false}};

	(void)state;
	want_files(1, f);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	assert_string_equal(host_file(x, "/etc/a"), "v1\n");
	assert_int_equal(S.verify_calls, 1);
	assert_int_equal(nr_points(x), 1);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	assert_int_equal(S.verify_calls, 1);
	assert_int_equal(nr_points(x), 1);
	fx_free(x);
}

/* A cluster at v1 (one rollback point), then an apply of v2. */
static struct fx *at_v1(const char *name)
{
	struct fx *x = fx_new(name, true);
	const struct file_spec v1[] = {{"/etc/a", "v1\n", false}};
	const struct file_spec v2[] = {{"/etc/a", "v2\n", false}};

	want_files(1, v1);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	want_files(1, v2);
	return x;
}

static void test_failed_verify_rolls_back(void **state)
{
	struct fx *x = at_v1("rolls-back");

	(void)state;
	script(1);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END),
			 HP_EXIT_ROLLED_BACK);
	assert_int_equal(S.converge_calls, 2);
	assert_int_equal(S.restore_calls, 1);
	assert_int_equal(S.verify_calls, 2);
	/* v2 was written, then v1 again */
	assert_int_equal(hp_fake_count_calls(&x->host, HP_FAKE_PUT, "/etc/a"),
			 3);
	assert_string_equal(host_file(x, "/etc/a"), "v1\n");
	fx_free(x);
}

static void test_failed_rollback_is_5(void **state)
{
	struct fx *x = at_v1("rollback-fails");

	(void)state;
	script(2);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END),
			 HP_EXIT_ROLLBACK_FAILED);
	assert_int_equal(S.restore_calls, 1);
	assert_int_equal(S.verify_calls, 2);
	fx_free(x);
}

static void test_no_rollback_is_6(void **state)
{
	struct fx *x = at_v1("no-rollback");

	(void)state;
	script(1);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, "no-rollback", "", END),
			 HP_EXIT_VERIFY_FAILED);
	assert_int_equal(S.converge_calls, 1);
	assert_int_equal(S.restore_calls, 0);
	assert_string_equal(host_file(x, "/etc/a"), "v2\n");
	fx_free(x);
}

static void test_failed_verify_nothing_changed_is_6(void **state)
{
	struct fx *x = at_v1("unchanged-fails");
	const struct file_spec v1[] = {{"/etc/a", "v1\n", false}};
	size_t puts_before = hp_fake_count_calls(&x->host, HP_FAKE_PUT, NULL);

	(void)state;
	want_files(1, v1);
	script(1);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END),
			 HP_EXIT_VERIFY_FAILED);
	assert_int_equal(S.converge_calls, 1);
	assert_int_equal(S.restore_calls, 0);
	assert_int_equal(S.verify_calls, 1);
	assert_int_equal(hp_fake_count_calls(&x->host, HP_FAKE_PUT, NULL),
			 puts_before);
	assert_int_equal(nr_points(x), 1);
	fx_free(x);
}

/* ---- rollback: all or nothing ---------------------------------------------- */

static void test_rollback_moves_files_created_after(void **state)
{
	struct fx *x = at_v1("created-after");
	const struct file_spec v2[] = {{"/etc/a", "v2\n", false},
				       {"/etc/b", "new\n", false}};
	struct hp_state *st = NULL;
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	long mv;

	(void)state;
	want_files(2, v2);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	assert_string_equal(host_file(x, "/etc/b"), "new\n");
	script(0);
	assert_int_equal(run_cmd(x, "rollback", alpha, 1, "to", "1", END),
			 HP_EXIT_OK);
	assert_string_equal(host_file(x, "/etc/a"), "v1\n");
	assert_null(host_file(x, "/etc/b"));
	mv = hp_fake_find_call(&x->host, HP_FAKE_EXEC, "mv -f", 0);
	assert_true(mv >= 0);
	assert_non_null(strstr(x->host.calls[mv].what, "p='/etc/b'"));
	assert_non_null(
		strstr(x->host.calls[mv].what, "'/var/lib/haprov/backups/"));
	/* the state after the rollback is the point's: no /etc/b */
	assert_int_equal(hp_state_open(&st, x->state_dir, &err), 0);
	assert_int_equal(hp_state_read(st, "HEAD", "hosts/a/etc/b", &b, &err),
			 HP_ENOTFOUND);
	assert_int_equal(hp_state_read(st, "HEAD", "hosts/a/etc/a", &b, &err),
			 0);
	assert_string_equal(b.buf, "v1\n");
	hp_buf_release(&b);
	hp_state_free(st);
	fx_free(x);
}

/* A file haprov never recorded is left alone, not removed. */
static void test_rollback_leaves_unrecorded_files(void **state)
{
	struct fx *x = at_v1("unrecorded");
	const struct file_spec v2[] = {{"/etc/a", "v2\n", false},
				       {"/etc/c", "theirs\n", false}};

	(void)state;
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	want_files(2, v2);
	hp_fake_set_file(&x->host, "/etc/c", "theirs\n", 7, 0644, "root",
			 "root");
	script(0);
	assert_int_equal(run_cmd(x, "rollback", alpha, 1, "to", "1", END),
			 HP_EXIT_OK);
	assert_string_equal(host_file(x, "/etc/a"), "v1\n");
	assert_string_equal(host_file(x, "/etc/c"), "theirs\n");
	assert_int_equal(hp_fake_count_calls(&x->host, HP_FAKE_EXEC, "mv -f"),
			 0);
	fx_free(x);
}

/* Nothing at all may reach the host: the point is read first. */
static void expect_refused_untouched(struct fx *x, const struct hp_phase *ph,
				     const char *to)
{
	size_t calls = x->host.nr_calls;

	script(0);
	assert_int_equal(run_cmd(x, "rollback", ph, 1, "to", to, END),
			 HP_EXIT_ROLLBACK_FAILED);
	assert_int_equal(S.converge_calls, 0);
	assert_int_equal(S.verify_calls, 0);
	assert_int_equal(x->host.nr_calls, calls);
}

static void test_rollback_point_missing_a_file(void **state)
{
	struct fx *x = fx_new("missing-file", true);
	const struct file_spec v1[] = {{"/etc/a", "v1-lost\n", false}};
	const struct file_spec v2[] = {{"/etc/a", "v2\n", false}};
	git_oid oid;
	char hex[GIT_OID_HEXSZ + 1];
	char *obj;

	(void)state;
	want_files(1, v1);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	want_files(1, v2);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	/* the point's copy of /etc/a is gone from the repository */
	assert_int_equal(git_odb_hash(&oid, "v1-lost\n", 8, GIT_OBJECT_BLOB),
			 0);
	git_oid_tostr(hex, sizeof(hex), &oid);
	obj = xasprintf("%s/objects/%.2s/%s", x->state_dir, hex, hex + 2);
	assert_int_equal(unlink(obj), 0);
	expect_refused_untouched(x, alpha, "1");
	assert_string_equal(host_file(x, "/etc/a"), "v2\n");
	free(obj);
	fx_free(x);
}

/* Commit a point by hand: path -> text. */
static void craft_point(struct fx *x, const char *id, const char *path,
			const char *text)
{
	struct hp_state *st = NULL;
	struct hp_state_run rec = {id, "patroni", "ok", NULL, NULL, 0};
	struct hp_err err;
	bool committed = false;

	assert_int_equal(hp_state_open(&st, x->state_dir, &err), 0);
	assert_int_equal(hp_state_put(st, path, text, strlen(text), &err), 0);
	assert_int_equal(
		hp_state_commit(st, NULL, &rec, &committed, NULL, &err), 0);
	assert_true(committed);
	hp_state_free(st);
}

static void test_rollback_point_with_bad_dcs(void **state)
{
	struct fx *x = fx_new("bad-dcs", true);
	const struct file_spec v1[] = {{"/etc/p", "v1\n", false}};
	const struct file_spec v2[] = {{"/etc/p", "v2\n", false}};

	(void)state;
	want_files(1, v1);
	script(0);
	/* point 1: Patroni's settings were never recorded */
	assert_int_equal(run_cmd(x, "apply", fake_patroni, 1, END), HP_EXIT_OK);
	/* point 2: recorded, but not JSON; point 3: not an object */
	craft_point(x, "r2", "patroni/dcs.json", "{\"ttl\": 30");
	craft_point(x, "r3", "patroni/dcs.json", "[1, 2]");
	want_files(1, v2);
	assert_int_equal(run_cmd(x, "apply", fake_patroni, 1, END), HP_EXIT_OK);
	expect_refused_untouched(x, fake_patroni, "1");
	expect_refused_untouched(x, fake_patroni, "2");
	expect_refused_untouched(x, fake_patroni, "3");
	assert_string_equal(host_file(x, "/etc/p"), "v2\n");
	/* a usable one restores */
	craft_point(x, "r5", "patroni/dcs.json", "{\"ttl\": 30}");
	script(0);
	assert_int_equal(run_cmd(x, "rollback", fake_patroni, 1, "to", "5", END),
			 HP_EXIT_OK);
	assert_int_equal(S.restore_calls, 1);
	assert_int_equal(S.verify_calls, 1);
	fx_free(x);
}

/* The rollback source: the point's DCS, read from the phase's snapshot. */
static json_t *seen_dcs;

static int dcs_converge(struct hp_run *run, struct hp_err *err)
{
	json_t *want = NULL;

	json_decref(seen_dcs);
	seen_dcs = NULL;
	if (hp_desired_dcs(run, &want, err) == 0)
		seen_dcs = want;
	return converge(run, "patroni", err);
}

static const struct hp_phase dcs_patroni[] = {
	{.name = "patroni",
	 .converge = dcs_converge,
	 .verify = verify,
	 .snapshot = fake_snapshot,
	 .snapshot_path = "patroni/dcs.json",
	 .dcs_params = rest_of_dcs},
};

/* A phase's snapshot is committed at its path beside its files, and a
 * rollback reads the point's back as the desired source; an apply reads
 * the inventory. */
static void test_snapshot_is_the_rollback_source(void **state)
{
	struct fx *x = fx_new("snap", true);
	const struct file_spec v1[] = {{"/etc/p", "v1\n", false}};
	const struct file_spec v2[] = {{"/etc/p", "v2\n", false}};

	(void)state;
	want_files(1, v1);
	script(0);
	fake_dcs = "{\"ttl\": 17}";
	assert_int_equal(run_cmd(x, "apply", dcs_patroni, 1, END), HP_EXIT_OK);
	/* an apply: the inventory's DCS, not a point's */
	assert_non_null(seen_dcs);
	assert_non_null(json_object_get(seen_dcs, "ttl"));
	assert_int_not_equal(
		json_integer_value(json_object_get(seen_dcs, "ttl")), 17);
	fake_dcs = "{\"ttl\": 99}";
	want_files(1, v2);
	assert_int_equal(run_cmd(x, "apply", dcs_patroni, 1, END), HP_EXIT_OK);
	script(0);
	assert_int_equal(run_cmd(x, "rollback", dcs_patroni, 1, "to", "1", END),
			 HP_EXIT_OK);
	/* the rollback converged with point 1's recorded DCS */
	assert_non_null(seen_dcs);
	assert_int_equal(json_integer_value(json_object_get(seen_dcs, "ttl")),
			 17);
	assert_string_equal(host_file(x, "/etc/p"), "v1\n");
	json_decref(seen_dcs);
	seen_dcs = NULL;
	fake_dcs = NULL;
	fx_free(x);
}

/* A file with secrets is recorded by hash: if it cannot be rendered the
 * same again, the rollback would keep the new one silently. */
static void test_rollback_secret_file_must_match(void **state)
{
	struct fx *x = fx_new("secret-hash", true);
	const struct file_spec s1[] = {{"/etc/s", "pw=one\n", true}};
	const struct file_spec s2[] = {{"/etc/s", "pw=two\n", true}};

	(void)state;
	want_files(1, s1);
	script(0);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	want_files(1, s2);
	assert_int_equal(run_cmd(x, "apply", alpha, 1, END), HP_EXIT_OK);
	expect_refused_untouched(x, alpha, "1");
	assert_string_equal(host_file(x, "/etc/s"), "pw=two\n");
	/* rendered the same: restored */
	want_files(1, s1);
	hp_fake_set_file(&x->host, "/etc/s", "pw=two\n", 7, 0644, "root",
			 "root");
	script(0);
	assert_int_equal(run_cmd(x, "rollback", alpha, 1, "to", "1", END),
			 HP_EXIT_OK);
	assert_string_equal(host_file(x, "/etc/s"), "pw=one\n");
	fx_free(x);
}

/* A file that holds the store's secrets is also kept masked: a rollback
 * puts it back exactly even when today's render differs, and the
 * repository never holds the value. */
static void test_rollback_secret_file_from_masked(void **state)
{
	struct fx *x = fx_new("secret-masked", true);
	char *pw = NULL, *c1, *c2, *dir;
	struct hp_state *st = NULL;
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_secret_read(&pw, x->store, "superuser", &err), 0);
	c1 = xasprintf("password: %s\nx: 1\n", pw);
	c2 = xasprintf("password: %s\nx: 2\n", pw);
	{
		const struct file_spec s1[] = {{"/etc/s", c1, true}};
		const struct file_spec s2[] = {{"/etc/s", c2, true}};

		want_files(1, s1);
		script(0);
		assert_int_equal(run_cmd(x, "apply", alpha, 1, END),
				 HP_EXIT_OK);
		want_files(1, s2);
		assert_int_equal(run_cmd(x, "apply", alpha, 1, END),
				 HP_EXIT_OK);
		assert_string_equal(host_file(x, "/etc/s"), c2);
		/* today's render is c2: the point's c1 comes from its copy */
		script(0);
		assert_int_equal(run_cmd(x, "rollback", alpha, 1, "to", "1",
					 END),
				 HP_EXIT_OK);
		assert_string_equal(host_file(x, "/etc/s"), c1);
	}
	dir = xstrdup(x->state_dir);
	assert_int_equal(hp_state_open(&st, dir, &err), 0);
	assert_int_equal(hp_state_read(st, NULL, "hosts/a/etc/s.masked", &b,
				       &err),
			 0);
	assert_non_null(strstr(b.buf, "password: <secret:superuser>"));
	assert_null(strstr(b.buf, pw));
	hp_buf_release(&b);
	hp_state_free(st);
	free(dir);
	hp_secret_free(pw);
	free(c1);
	free(c2);
	fx_free(x);
}

/* ---- remote text in the history -------------------------------------------- */

/* A phase whose step detail quotes a hostile remote answer. */
static int noisy_converge(struct hp_run *run, struct hp_err *err)
{
	hp_run_record(run, "a", HP_STEP_CHANGED, "dcs loop_wait",
		      "10 -> \x1b]0;owned\x07\x1b[2J5", NULL, hp_now_ms());
	return converge(run, "alpha", err);
}

static const struct hp_phase noisy[] = {
	{.name = "alpha", .converge = noisy_converge, .verify = verify},
};

/* Run haprov history with stdout in a file; its output (caller frees). */
static char *history_output(struct fx *x)
{
	struct hp_cmd_ctx ctx;
	char *argv[2] = {x->inv_path, NULL};
	char *out = xasprintf("%s/history.out", x->dir);
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	int saved, fd;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = hp_cmd_find("history");
	ctx.inv = x->inv;
	ctx.argc = 1;
	ctx.argv = argv;
	fflush(stdout);
	saved = dup(1);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 1);
	close(fd);
	assert_int_equal(hp_cmd_history(&ctx), HP_EXIT_OK);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	assert_int_equal(hp_buf_read_file(&b, out, &err), 0);
	unlink(out);
	free(out);
	return hp_buf_detach(&b, NULL);
}

static void test_history_is_printable(void **state)
{
	struct fx *x = fx_new("history", true);
	const struct file_spec f[] = {{"/etc/a", "v1\n", false}};
	struct hp_state *st = NULL;
	struct hp_state_point *pts = NULL;
	struct hp_err err;
	struct stat sb;
	size_t n = 0;
	char *out;

	(void)state;
	/* history creates nothing where there is no repository */
	out = history_output(x);
	assert_non_null(strstr(out, "no rollback points yet"));
	assert_int_equal(stat(x->state_dir, &sb), -1);
	free(out);
	want_files(1, f);
	script(0);
	assert_int_equal(run_cmd(x, "apply", noisy, 1, END), HP_EXIT_OK);
	/* what the state repository records is printable */
	assert_int_equal(hp_state_open(&st, x->state_dir, &err), 0);
	assert_int_equal(hp_state_history(st, &pts, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(pts[0].body, "dcs loop_wait: 10 -> "));
	assert_null(strchr(pts[0].body, '\x1b'));
	assert_null(strchr(pts[0].body, '\x07'));
	hp_state_points_free(pts, n);
	/* and so is what history prints, even of a commit made before */
	{
		struct hp_state_run rec = {"r2", "alpha", "ok", NULL, NULL, 0};
		bool committed = false;

		assert_int_equal(hp_state_put(st, "x", "1", 1, &err), 0);
		assert_int_equal(hp_state_commit(st,
						 "alpha: \x1b[31mred\n\n"
						 "- a: x: \x1b]0;t\x07\n",
						 &rec, &committed, NULL, &err),
				 0);
	}
	hp_state_free(st);
	out = history_output(x);
	assert_non_null(strstr(out, "rp/2-alpha"));
	assert_non_null(strstr(out, "- a: x:"));
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\x07'));
	free(out);
	fx_free(x);
}

/* ---- plan ---------------------------------------------------------------- */

static size_t entries(const char *dir)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, NULL, NULL), i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return n < 0 ? 0 : (size_t)n;
}

/* A plan on a fresh inventory directory leaves it as it was. */
static void test_plan_writes_nothing(void **state)
{
	struct fx *x = fx_new("plan-fresh", false);
	const struct file_spec f[] = {{"/etc/a", "v1\n", false},
				      {"/etc/s", "pw\n", true}};
	struct stat st;

	(void)state;
	want_files(2, f);
	hp_fake_expect(&x->host, "patroni_env.conf", 0, "", "");
	hp_fake_expect(&x->host, "diff -u", 1, "+v1\n", "");
	script(0);
	assert_int_equal(entries(x->dir), 3); /* ., .., inv.yml */
	assert_int_equal(run_cmd(x, "plan", alpha, 1, END), HP_EXIT_CHANGES);
	assert_int_equal(S.converge_calls, 1);
	assert_int_equal(S.verify_calls, 0);
	assert_int_equal(entries(x->dir), 3);
	assert_int_equal(stat(x->state_dir, &st), -1);
	assert_int_equal(stat(x->store, &st), -1);
	assert_int_equal(hp_fake_count_calls(&x->host, HP_FAKE_PUT, NULL), 0);
	fx_free(x);
}

/* plan on a live cluster whose store was lost: the same refusal as apply,
 * and still nothing written */
static void test_plan_refuses_lost_store(void **state)
{
	struct fx *x = fx_new("plan-lost", false);
	const struct file_spec f[] = {{"/etc/a", "v1\n", false}};

	(void)state;
	want_files(1, f);
	hp_fake_expect(&x->host, "patroni_env.conf", 0, "patroni_env\n", "");
	hp_fake_rest_expect(&x->rest, "GET", "/cluster", 200,
			    "{\"members\": []}", 0);
	script(0);
	assert_int_equal(run_cmd(x, "plan", alpha, 1, END), HP_EXIT_ERROR);
	assert_int_equal(S.converge_calls, 0);
	assert_int_equal(entries(x->dir), 3);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_always_called),
		cmocka_unit_test(test_commit_only_when_changed),
		cmocka_unit_test(test_failed_verify_rolls_back),
		cmocka_unit_test(test_failed_rollback_is_5),
		cmocka_unit_test(test_no_rollback_is_6),
		cmocka_unit_test(test_failed_verify_nothing_changed_is_6),
		cmocka_unit_test(test_rollback_moves_files_created_after),
		cmocka_unit_test(test_rollback_leaves_unrecorded_files),
		cmocka_unit_test(test_rollback_point_missing_a_file),
		cmocka_unit_test(test_rollback_point_with_bad_dcs),
		cmocka_unit_test(test_snapshot_is_the_rollback_source),
		cmocka_unit_test(test_rollback_secret_file_must_match),
		cmocka_unit_test(test_rollback_secret_file_from_masked),
		cmocka_unit_test(test_history_is_printable),
		cmocka_unit_test(test_plan_writes_nothing),
		cmocka_unit_test(test_plan_refuses_lost_store),
	};
	int rc;

	git_libgit2_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	git_libgit2_shutdown();
	return rc;
}
