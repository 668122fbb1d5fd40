/*
 * A phase's reads of its own done in the read-ahead's command
 * (phases/prefetch.c, struct hp_read_ahead): each read once per host
 * however many phases list it, its answer found by the read, none kept
 * past a change or when its mark line is missing; and the two reads the
 * phases use, tuning.wal_device's facts (tuning_wal.c) and the plan's
 * read of the data directory and wal_dir (patroni_dirs.c), taken instead
 * of a command of their own only when they stand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_fixture.h"
#include "phases.h"

#define MARK HP_FACTS_MORE_MARK "\n"

static const char inv_yaml[] =
	"cluster: {name: t}\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni]}\n"
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni]}\n"
	"tuning:\n"
	"  wal_dir: /srv/wal\n"
	"  wal_device: /dev/vdb\n";

static bool one_cmd(const struct hp_hostrun *h, struct hp_buf *cmd)
{
	(void)h;
	hp_buf_adds(cmd, "echo one");
	return true;
}

static bool two_cmd(const struct hp_hostrun *h, struct hp_buf *cmd)
{
	(void)h;
	hp_buf_adds(cmd, "echo two");
	return true;
}

/* nothing to read on any host */
static bool none_cmd(const struct hp_hostrun *h, struct hp_buf *cmd)
{
	(void)h;
	(void)cmd;
	return false;
}

static const struct hp_read_ahead r_one = { .cmd = one_cmd };
static const struct hp_read_ahead r_two = { .cmd = two_cmd };
static const struct hp_read_ahead r_none = { .cmd = none_cmd };
static const struct hp_read_ahead *const p1_reads[] = { &r_one, &r_two,
							NULL };
static const struct hp_read_ahead *const p2_reads[] = { &r_one, NULL };
static const struct hp_read_ahead *const p3_reads[] = { &r_none, NULL };

static int nop(struct hp_run *run, struct hp_err *err)
{
	(void)run;
	(void)err;
	return 0;
}

/* no files, packages or services: the command is the reads alone */
static const struct hp_phase table[] = {
	{ .name = "p1", .role = HP_ROLE_PATRONI, .reads_ahead = p1_reads,
	  .converge = nop, .verify = nop },
	{ .name = "p2", .role = HP_ROLE_PATRONI, .reads_ahead = p2_reads,
	  .converge = nop, .verify = nop },
	{ .name = "p3", .role = HP_ROLE_HAPROXY, .reads_ahead = p3_reads,
	  .converge = nop, .verify = nop },
};

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

static const char *answer(struct fx *x, size_t host,
			  const struct hp_read_ahead *r)
{
	size_t len = 0;

	return hp_prefetch_answer(&x->run.hosts[host], r, &len);
}

static void test_each_read_once(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, false);
	const bool want[] = { true, true, true };
	size_t len = 0;
	const char *a;

	(void)state;
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0,
		       MARK "one\n" MARK "two\n", "");
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0,
		       MARK "one\n" MARK "two\n", "");
	hp_phase_prefetch(&x->run, table, 3, want);
	/* a: its one read has nothing to read, and it has no facts */
	assert_int_equal(x->fake[0].nr_calls, 0);
	assert_int_equal(x->fake[1].nr_calls, 1);
	/* r_one is listed by p1 and p2, asked once; in table order */
	assert_int_equal(count(x->fake[1].calls[0].what, "echo one"), 1);
	assert_non_null(strstr(x->fake[1].calls[0].what,
			       "(echo one); echo '" HP_FACTS_MORE_MARK
			       "'; (echo two)"));
	a = hp_prefetch_answer(&x->run.hosts[1], &r_one, &len);
	assert_non_null(a);
	assert_int_equal(len, 4);
	assert_memory_equal(a, "one\n", 4);
	assert_string_equal(answer(x, 1, &r_two), "two\n");
	assert_string_equal(answer(x, 2, &r_one), "one\n");
	assert_null(answer(x, 1, &r_none));
	assert_null(answer(x, 0, &r_one));
	/* a change of Patroni's dynamic configuration (in etcd): every
	 * answer still stands */
	hp_run_record_api(&x->run, "a", HP_STEP_CHANGED, "dcs config",
			  "ttl: 30 -> 20", NULL, hp_now_ms());
	assert_string_equal(answer(x, 1, &r_one), "one\n");
	assert_string_equal(answer(x, 2, &r_two), "two\n");
	/* a change anywhere on a host: no answer stands */
	hp_run_record(&x->run, "a", HP_STEP_CHANGED, "file /etc/x", "created",
		      NULL, hp_now_ms());
	assert_null(answer(x, 1, &r_one));
	assert_null(answer(x, 2, &r_two));
	fx_free(x);
}

static void test_unselected_phase_not_read(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, false);
	const bool want[] = { false, true, true };

	(void)state;
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0, MARK "one\n", "");
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0, MARK "one\n", "");
	hp_phase_prefetch(&x->run, table, 3, want);
	assert_null(strstr(x->fake[1].calls[0].what, "echo two"));
	assert_string_equal(answer(x, 1, &r_one), "one\n");
	assert_null(answer(x, 1, &r_two));
	fx_free(x);
}

/* Where one answer ends is known only from the mark after it: without
 * it neither read is kept, and the host is not failed. A failed command
 * keeps nothing either. */
static void test_missing_mark_or_failure(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, false);
	const bool want[] = { true, true, true };

	(void)state;
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0,
		       MARK "one\ntwo\n", "");
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 1, MARK "one\n",
		       "boom\n");
	hp_phase_prefetch(&x->run, table, 3, want);
	assert_null(answer(x, 1, &r_one));
	assert_null(answer(x, 1, &r_two));
	assert_null(answer(x, 2, &r_one));
	assert_false(x->run.hosts[1].failed);
	assert_false(x->run.hosts[2].failed);
	assert_int_equal(x->run.hosts[2].err.code, 0);
	fx_free(x);
}

/* ---- the phases' reads -------------------------------------------------- */

static const struct hp_read_ahead *const pg_reads[] = {
	&hp_wal_read_ahead, &hp_patroni_dirs_read_ahead, NULL
};
static const struct hp_phase pg_table[] = {
	{ .name = "patroni", .role = HP_ROLE_PATRONI, .reads_ahead = pg_reads,
	  .converge = nop, .verify = nop },
};

/* mounted at wal_dir, in fstab: nothing to do */
#define WAL_OK                                                                 \
	"B\nR 0\nI TYPE=ext4\nI LABEL=haprov-wal\nI UUID=u1\nK 7:7\n"          \
	"M /srv/wal\nW 7:7\nN 1\nF UUID=u1 /srv/wal ext4 defaults 0 2\nD\n"

static struct fx *read_ahead(bool plan, const char *dirs_answer)
{
	struct fx *x = fx_new_inv(inv_yaml, plan);
	const bool want[] = { true };
	struct hp_buf ans = HP_BUF_INIT;

	hp_buf_addf(&ans, MARK "%s" MARK "%s", WAL_OK, dirs_answer);
	/* the read-ahead's command alone: the phases' own start the same */
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0, ans.buf, "")->times =
		1;
	hp_fake_expect(&x->fake[2], "export LC_ALL=C", 0, ans.buf, "")->times =
		1;
	hp_phase_prefetch(&x->run, pg_table, 1, want);
	assert_int_equal(x->fake[1].nr_calls, 1);
	hp_buf_release(&ans);
	return x;
}

static void test_wal_facts_taken(void **state)
{
	struct fx *x = read_ahead(false, "-- own 0\n");
	struct hp_hostrun *h = &x->run.hosts[1];
	struct hp_wal_facts f;

	(void)state;
	/* the read's command is the phase's own, with the inventory's paths */
	assert_non_null(strstr(x->fake[1].calls[0].what, "d='/dev/vdb'"));
	assert_non_null(strstr(x->fake[1].calls[0].what,
			       "p='/var/lib/postgresql/15/main/pg_wal'"));
	assert_int_equal(hp_wal_facts_read(h, &f, &x->err), 0);
	assert_int_equal(x->fake[1].nr_calls, 1);
	assert_string_equal(f.uuid, "u1");
	assert_true(f.wal_mounted);
	/* a DCS change: the facts kept still stand, nothing asked */
	hp_run_record_api(&x->run, "a", HP_STEP_CHANGED, "dcs config", NULL,
			  NULL, hp_now_ms());
	assert_int_equal(hp_wal_facts_read(h, &f, &x->err), 0);
	assert_int_equal(x->fake[1].nr_calls, 1);
	assert_true(f.wal_mounted);
	/* after a change the host is asked again */
	hp_run_record(&x->run, "a", HP_STEP_CHANGED, "file /etc/x", "created",
		      NULL, hp_now_ms());
	hp_fake_expect(&x->fake[1], "d='/dev/vdb'", 0, "B\nR 2\nZ 0\nK 7:7\n"
		       "N 0\n", "");
	assert_int_equal(hp_wal_facts_read(h, &f, &x->err), 0);
	assert_int_equal(x->fake[1].nr_calls, 2);
	assert_false(f.wal_mounted);
	fx_free(x);
}

/* An answer the parser refuses is read again, and the error is the
 * second read's. */
static void test_wal_facts_bad_answer_read_again(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, false);
	const bool want[] = { true };
	struct hp_wal_facts f;

	(void)state;
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0,
		       MARK "B\nX what\n" MARK "-- own 0\n", "")
		->times = 1;
	hp_phase_prefetch(&x->run, pg_table, 1, want);
	hp_fake_expect(&x->fake[1], "d='/dev/vdb'", 0, WAL_OK, "");
	assert_int_equal(hp_wal_facts_read(&x->run.hosts[1], &f, &x->err), 0);
	assert_int_equal(x->fake[1].nr_calls, 2);
	assert_true(f.wal_mounted);
	fx_free(x);
}

static const struct hp_step_result *step(struct fx *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->run.nr_results; i++)
		if (!strcmp(x->run.results[i].host, "b") &&
		    !strcmp(x->run.results[i].step, name))
			return &x->run.results[i];
	return NULL;
}

/* A plan takes the directories' answer read ahead: the data directory's
 * "own" is a change to make, wal_dir's none. */
static void test_dirs_plan_taken(void **state)
{
	struct fx *x = read_ahead(true, "own\n-- wal\n-- own 0\n");
	const struct hp_step_result *s;

	(void)state;
	assert_non_null(strstr(x->fake[1].calls[0].what, "plan=1"));
	assert_int_equal(hp_patroni_dirs(&x->run.hosts[1], &x->err), 0);
	assert_int_equal(x->fake[1].nr_calls, 1);
	s = step(x, "directory /var/lib/postgresql/15/main");
	assert_non_null(s);
	assert_int_equal(s->status, HP_STEP_CHANGED);
	s = step(x, "directory /srv/wal");
	assert_non_null(s);
	assert_int_equal(s->status, HP_STEP_OK);
	fx_free(x);
}

/* Nothing to do and no wal_dir: an empty answer, read ahead. */
static void test_dirs_plan_empty_answer(void **state)
{
	static const char yaml[] =
		"cluster: {name: t}\n"
		"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
		"hosts:\n"
		"  - {name: a, address: 10.0.0.1, roles: [etcd, haproxy]}\n"
		"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni]}\n"
		"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni]}\n";
	struct fx *x = fx_new_inv(yaml, true);
	const bool want[] = { true };
	const struct hp_step_result *s;

	(void)state;
	hp_fake_expect(&x->fake[1], "export LC_ALL=C", 0, MARK "-- own 0\n",
		       "")->times = 1;
	hp_phase_prefetch(&x->run, pg_table, 1, want);
	/* no wal_device: the wal read is not in the command */
	assert_null(strstr(x->fake[1].calls[0].what, "blkid"));
	assert_int_equal(hp_patroni_dirs(&x->run.hosts[1], &x->err), 0);
	assert_int_equal(x->fake[1].nr_calls, 1);
	s = step(x, "directory /var/lib/postgresql/15/main");
	assert_non_null(s);
	assert_int_equal(s->status, HP_STEP_OK);
	fx_free(x);
}

/* The read failed on the host (a symbolic link: own returns 3): the plan
 * runs the command itself, and its refusal is the plan's error. */
static void test_dirs_failed_read_run_again(void **state)
{
	struct fx *x = read_ahead(true, "-- own 3\n");

	(void)state;
	hp_fake_expect(&x->fake[1], "plan=1", 3, "",
		       "/srv/wal is a symbolic link\n");
	assert_true(hp_patroni_dirs(&x->run.hosts[1], &x->err) < 0);
	assert_int_equal(x->fake[1].nr_calls, 2);
	assert_non_null(strstr(x->err.msg, "symbolic link"));
	fx_free(x);
}

/* An apply acts: it runs the command (plan=0) whatever was read. */
static void test_dirs_apply_runs(void **state)
{
	struct fx *x = read_ahead(false, "-- wal\n-- own 0\n");
	const struct hp_step_result *s;

	(void)state;
	hp_fake_expect(&x->fake[1], "plan=0", 0, "own\n-- wal\n", "");
	assert_int_equal(hp_patroni_dirs(&x->run.hosts[1], &x->err), 0);
	assert_int_equal(x->fake[1].nr_calls, 2);
	s = step(x, "directory /var/lib/postgresql/15/main");
	assert_non_null(s);
	assert_int_equal(s->status, HP_STEP_CHANGED);
	fx_free(x);
}

/* ---- HAProxy's server state --------------------------------------------- */

static const struct hp_read_ahead *const ha_reads[] = {
	&hp_haproxy_state_read_ahead, NULL
};
static const struct hp_phase ha_table[] = {
	{ .name = "haproxy", .role = HP_ROLE_HAPROXY, .reads_ahead = ha_reads,
	  .converge = nop, .verify = nop },
};

/* b drained in the primary backend (srv_admin_state 8) */
#define DRAINED                                                                \
	"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state "           \
	"srv_admin_state\n3 primary 1 b 10.0.0.2 2 8 1 1 5\n"

static struct fx *ha_read_ahead(bool plan, const char *status)
{
	struct fx *x = fx_new_inv(inv_yaml, plan);
	const bool want[] = { true };
	struct hp_buf ans = HP_BUF_INIT;

	hp_buf_addf(&ans, MARK DRAINED "%s", status);
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0, ans.buf, "")->times =
		1;
	hp_phase_prefetch(&x->run, ha_table, 1, want);
	assert_int_equal(x->fake[0].nr_calls, 1);
	assert_int_equal(x->fake[1].nr_calls, 0);
	assert_non_null(strstr(x->fake[0].calls[0].what,
			       "show servers state primary"));
	hp_buf_release(&ans);
	return x;
}

/* A plan finds the drain in the answer read ahead, asking nothing more. */
static void test_haproxy_state_taken(void **state)
{
	struct fx *x = ha_read_ahead(true, "-- haproxy 0\n");

	(void)state;
	assert_int_equal(hp_haproxy_lift_drains(&x->run, &x->err), 0);
	assert_int_equal(x->fake[0].nr_calls, 1);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 1);
	fx_free(x);
}

/* No admin socket yet (HAProxy not installed): a plan finds no drain
 * without asking again; an apply asks for itself. */
static void test_haproxy_no_socket(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, true);
	const bool want[] = { true };

	(void)state;
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0,
		       MARK "-- haproxy none\n", "")->times = 1;
	hp_phase_prefetch(&x->run, ha_table, 1, want);
	assert_int_equal(hp_haproxy_lift_drains(&x->run, &x->err), 0);
	assert_int_equal(x->fake[0].nr_calls, 1);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 0);
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_OK), 1);
	fx_free(x);

	x = fx_new_inv(inv_yaml, false);
	hp_fake_expect(&x->fake[0], "export LC_ALL=C", 0,
		       MARK "-- haproxy none\n", "")->times = 1;
	hp_phase_prefetch(&x->run, ha_table, 1, want);
	hp_fake_expect(&x->fake[0], "IO::Socket::UNIX", 2, "",
		       "cannot reach the socket\n");
	assert_true(hp_haproxy_lift_drains(&x->run, &x->err) < 0);
	assert_int_equal(x->fake[0].nr_calls, 2);
	fx_free(x);
}

/* The client failed (or found no socket) in the read-ahead: the check
 * asks for itself, and an apply lifts what that finds. */
static void test_haproxy_state_failed_read_again(void **state)
{
	struct fx *x = ha_read_ahead(false, "-- haproxy 2\n");
	long i;

	(void)state;
	hp_fake_expect(&x->fake[0], "IO::Socket::UNIX", 0, DRAINED, "")
		->times = 1;
	hp_fake_expect(&x->fake[0], "IO::Socket::UNIX", 0, "\n", "");
	assert_int_equal(hp_haproxy_lift_drains(&x->run, &x->err), 0);
	assert_int_equal(x->fake[0].nr_calls, 3);
	i = hp_fake_find_call(&x->fake[0], HP_FAKE_EXEC, "IO::Socket", 2);
	assert_true(i >= 0);
	assert_non_null(strstr(x->fake[0].calls[i].data,
			       "set server primary/b state ready"));
	fx_free(x);
}

/* ---- one read kept for a later step (hp_run_memo_*) --------------------- */

static void test_memo(void **state)
{
	struct fx *x = fx_new_inv(inv_yaml, false);
	size_t len = 0;
	char *m;

	(void)state;
	assert_null(hp_run_memo_get(&x->run, "k", &len));
	hp_run_memo_put(&x->run, "k", "a\0b", 3);
	m = hp_run_memo_get(&x->run, "k", &len);
	assert_non_null(m);
	assert_int_equal(len, 3);
	assert_memory_equal(m, "a\0b", 4);
	free(m);
	assert_null(hp_run_memo_get(&x->run, "j", &len));
	/* a put under the same key replaces its text; others stay */
	hp_run_memo_put(&x->run, "j", "c", 1);
	hp_run_memo_put(&x->run, "j", "d", 1);
	m = hp_run_memo_get(&x->run, "j", &len);
	assert_string_equal(m, "d");
	free(m);
	m = hp_run_memo_get(&x->run, "k", &len);
	assert_string_equal(m, "a");
	free(m);
	/* HP_RUN_MEMOS new keys later, the oldest is gone */
	for (size_t i = 0; i < HP_RUN_MEMOS - 1; i++) {
		char key[8];

		snprintf(key, sizeof(key), "n%zu", i);
		hp_run_memo_put(&x->run, key, "e", 1);
	}
	assert_null(hp_run_memo_get(&x->run, "k", &len));
	m = hp_run_memo_get(&x->run, "j", &len);
	assert_string_equal(m, "d");
	free(m);
	/* a change through an API: a kept answer may be an API's, so it no
	 * longer stands (the hosts' facts do: hp_run_host_changes) */
	hp_run_record_api(&x->run, "a", HP_STEP_CHANGED, "dcs config", NULL,
			  NULL, hp_now_ms());
	assert_null(hp_run_memo_get(&x->run, "j", &len));
	hp_run_memo_put(&x->run, "j", "f", 1);
	m = hp_run_memo_get(&x->run, "j", &len);
	assert_string_equal(m, "f");
	free(m);
	/* a change on a host: it no longer stands */
	hp_run_record(&x->run, "a", HP_STEP_CHANGED, "file /etc/x", "created",
		      NULL, hp_now_ms());
	assert_null(hp_run_memo_get(&x->run, "j", &len));
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_read_once),
		cmocka_unit_test(test_unselected_phase_not_read),
		cmocka_unit_test(test_missing_mark_or_failure),
		cmocka_unit_test(test_wal_facts_taken),
		cmocka_unit_test(test_wal_facts_bad_answer_read_again),
		cmocka_unit_test(test_dirs_plan_taken),
		cmocka_unit_test(test_dirs_plan_empty_answer),
		cmocka_unit_test(test_dirs_failed_read_run_again),
		cmocka_unit_test(test_dirs_apply_runs),
		cmocka_unit_test(test_haproxy_state_taken),
		cmocka_unit_test(test_haproxy_state_failed_read_again),
		cmocka_unit_test(test_haproxy_no_socket),
		cmocka_unit_test(test_memo),
	};

	hp_log_set_level(HP_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
