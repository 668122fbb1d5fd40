/*
 * Run ids and the pruning of the hosts' backups: ids unique within a
 * second, the strict run-id shape, which runs are kept (newest N, this
 * run's, protected ones), the commands through the fake transport with a
 * hostile listing, and the listing and removal run for real over a
 * directory with hostile names and a symlink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "steps_fixture.h"

/* ---- run id (#14a) ------------------------------------------------------------ */

static void test_run_ids_unique_within_a_second(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_run other;
	struct hp_run_opts o;

	(void)state;
	memset(&o, 0, sizeof(o));
	hp_run_init(&other, x->inv, &o);
	assert_string_not_equal(x->run.run_id, other.run_id);
	assert_true(hp_backup_run_name_ok(x->run.run_id));
	assert_true(hp_backup_run_name_ok(other.run_id));
	assert_int_equal(strlen(x->run.run_id), 29);
	/* sortable: the time comes first, to the millisecond */
	assert_true(strncmp(x->run.run_id, other.run_id, 19) <= 0);
	assert_non_null(strstr(other.holder, other.run_id));
	hp_run_release(&other);
	fx_free(x);
}

/* ---- backups (#14b) -------------------------------------------------------------- */

static void test_backup_run_names(void **state)
{
	static const char *const good[] = {
		"20261122T054500Z",
		"20261122T054500.123Z-1a2b3c4d",
	};
	static const char *const bad[] = {
		"",
		"..",
		"20261122T054500Z/..",
		"../20261122T054500Z",
		"20261122T054500Z-4242",
		"20261122T054500.123Z-1a2b3c4G",
		"20261122T054500.123Z-1a2b3c4",
		"20261122T054500.12Z-1a2b3c4d",
		"20261122T054500.123Z-1a2b3c4d ",
		"20261122T054500Z\n",
		"2026112aT054500Z",
		"20261122 054500Z",
		"20261122T054500Z; rm -rf /",
		"$(reboot)",
		"*",
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(good); i++)
		assert_true(hp_backup_run_name_ok(good[i]));
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++)
		if (hp_backup_run_name_ok(bad[i]))
			fail_msg("'%s' taken for a run id", bad[i]);
}

static void test_backups_select(void **state)
{
	char *names[30];
	bool drop[30];
	const char *protect[] = { "20260101T000001Z", "not-there" };
	size_t i, n = 0, nd;

	(void)state;
	/* 25 runs, newest last in time, given in a scrambled order */
	for (i = 0; i < 25; i++)
		names[n++] = xasprintf("202601%02zuT000001Z", (i * 7) % 25 + 1);
	names[n++] = xstrdup("evil; rm -rf /");
	names[n++] = xstrdup("../../etc");
	nd = hp_backups_select(names, n, 20, "20260103T000001Z", protect, 2,
			       drop);
	/* keep the newest 20 (days 6..25); of days 1..5, day 1 is protected
	 * and day 3 is this run's */
	assert_int_equal(nd, 3);
	for (i = 0; i < n; i++) {
		bool want = !strcmp(names[i], "20260102T000001Z") ||
			    !strcmp(names[i], "20260104T000001Z") ||
			    !strcmp(names[i], "20260105T000001Z");

		if (drop[i] != want)
			fail_msg("'%s': drop %d, want %d", names[i], drop[i],
				 want);
	}
	/* keep 0 is the default, 20 */
	assert_int_equal(hp_backups_select(names, n, 0, NULL, NULL, 0, drop),
			 5);
	/* keep 1: everything but the newest */
	assert_int_equal(hp_backups_select(names, n, 1, NULL, NULL, 0, drop),
			 24);
	for (i = 0; i < n; i++)
		free(names[i]);
}

static void test_backups_prune_commands(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_buf listing = HP_BUF_INIT;
	const char *protect[] = { "20260101T000001Z" };
	long l, rm;
	size_t i;

	(void)state;
	for (i = 1; i <= 4; i++)
		hp_buf_addf(&listing, "202601%02zuT000001Z\n", i);
	/* names find would never print, but a hostile host could */
	hp_buf_adds(&listing, "x'; reboot; '\n../../etc\n\n"
			      "20260109T000001Z/../../etc\n");
	hp_fake_expect(&x->fake, "-maxdepth 1", 0, listing.buf, "");
	hp_fake_expect(&x->fake, "rm -rf", 0, "", "");
	assert_int_equal(hp_backups_prune(x->h, 2, protect, 1, &x->err), 0);
	l = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "-maxdepth 1", 0);
	rm = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "rm -rf", 0);
	assert_true(l >= 0 && rm > l);
	assert_non_null(strstr(x->fake.calls[l].what, "-mindepth 1"));
	assert_non_null(strstr(x->fake.calls[l].what, "-type d"));
	/* keep 2 (days 3, 4), day 1 protected: day 2 goes, alone */
	assert_non_null(strstr(x->fake.calls[rm].what,
			       "cd /var/lib/haprov/backups && rm -rf -- "
			       "'20260102T000001Z'\n) 9>&-"));
	assert_null(strstr(x->fake.calls[rm].what, "reboot"));
	assert_null(strstr(x->fake.calls[rm].what, "../"));
	/* under the host lock */
	assert_non_null(strstr(x->fake.calls[rm].what, "flock -n 9"));
	hp_buf_release(&listing);
	fx_free(x);

	/* plan writes nothing */
	x = fx_new(true);
	assert_int_equal(hp_backups_prune(x->h, 2, NULL, 0, &x->err), 0);
	assert_int_equal(x->fake.nr_calls, 0);
	fx_free(x);
}

/* The listing and removal commands, run for real over a directory with
 * hostile names and a symlink to a directory that must survive. */
static void test_backups_commands_in_a_real_shell(void **state)
{
	char *dir = make_tmpdir(), *root = xasprintf("%s/backups", dir);
	static const char *const dirs[] = {
		"20260101T000001Z", "20260102T000001Z",
		"20260103T000001.000Z-00000000", "evil name",
		"20260104T000001Z.bak", "20260105T000001Zx",
	};
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	char *script, *names[16], *save = NULL, *line, *p;
	bool drop[16];
	size_t i, n = 0;

	(void)state;
	assert_int_equal(mkdir(root, 0700), 0);
	for (i = 0; i < HP_ARRAY_SIZE(dirs); i++) {
		p = xasprintf("%s/%s", root, dirs[i]);
		assert_int_equal(mkdir(p, 0700), 0);
		free(p);
	}
	p = xasprintf("%s/victim", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	write_file(p, "keep", "x", 0600);
	free(p);
	p = xasprintf("%s/20260100T000001Z", root);
	assert_int_equal(symlink("../victim", p), 0);
	free(p);

	hp_backups_list_cmd(&cmd);
	script = replace_all(cmd.buf, HP_BACKUP_ROOT, root);
	assert_int_equal(run_sh(script, NULL, &out), 0);
	free(script);
	for (line = strtok_r(out.buf, "\n", &save); line && n < 16;
	     line = strtok_r(NULL, "\n", &save))
		names[n++] = xstrdup(line);
	/* exactly the three run directories: not the symlink, not the
	 * look-alikes */
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++)
		assert_true(hp_backup_run_name_ok(names[i]));
	assert_int_equal(hp_backups_select(names, n, 1, NULL, NULL, 0, drop),
			 2);
	hp_buf_reset(&cmd);
	hp_backups_remove_cmd(&cmd, names, drop, n);
	script = replace_all(cmd.buf, HP_BACKUP_ROOT, root);
	assert_int_equal(run_sh(script, NULL, &out), 0);
	free(script);
	hp_buf_reset(&cmd);
	hp_buf_addf(&cmd, "cd '%s' && LC_ALL=C ls -1 backups victim", dir);
	assert_int_equal(run_sh(cmd.buf, NULL, &out), 0);
	assert_string_equal(out.buf, "backups:\n"
				     "20260100T000001Z\n"
				     "20260103T000001.000Z-00000000\n"
				     "20260104T000001Z.bak\n"
				     "20260105T000001Zx\n"
				     "evil name\n"
				     "\n"
				     "victim:\n"
				     "keep\n");
	for (i = 0; i < n; i++)
		free(names[i]);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	rm_tree(dir);
	free(root);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_ids_unique_within_a_second),
		cmocka_unit_test(test_backup_run_names),
		cmocka_unit_test(test_backups_select),
		cmocka_unit_test(test_backups_prune_commands),
		cmocka_unit_test(test_backups_commands_in_a_real_shell),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
