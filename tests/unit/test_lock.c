/*
 * The cluster lock (provisioner/lock.c): real flock()s on a file in a
 * temporary directory, with real child processes.
 */
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lock.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-lock-"
#include "tmpdir_fixture.h"

static void test_acquire_release_reacquire(void **state)
{
	struct hp_lock *l = NULL, *l2 = NULL;
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	char *sd = xasprintf("%s/a/.haprov/c1", tmpdir);
	char *want = xasprintf("%s/a/.haprov/c1.lock", tmpdir);
	char pid[32];

	(void)state;
	/* the parent directory does not exist yet */
	assert_int_equal(hp_lock_acquire(&l, sd, "apply", &err), 0);
	assert_non_null(l);
	assert_string_equal(hp_lock_path(l), want);
	assert_int_equal(hp_buf_read_file(&b, want, &err), 0);
	snprintf(pid, sizeof(pid), "pid=%ld\n", (long)getpid());
	assert_non_null(strstr(b.buf, pid));
	assert_non_null(strstr(b.buf, "what=apply\n"));
	assert_non_null(strstr(b.buf, "user="));
	assert_non_null(strstr(b.buf, "started="));

	/* a second open file description, same process: refused too */
	assert_int_equal(hp_lock_acquire(&l2, sd, "plan", &err), HP_ELOCKED);
	assert_null(l2);
	assert_int_equal(err.code, HP_ELOCKED);
	snprintf(pid, sizeof(pid), "pid %ld (apply", (long)getpid());
	assert_non_null(strstr(err.msg, pid));
	assert_non_null(strstr(err.msg, "cluster is locked by"));
	assert_non_null(strstr(err.msg, want));

	hp_lock_release(l);
	hp_lock_release(NULL);
	/* the file stays (see lock.h), emptied */
	hp_buf_reset(&b);
	assert_int_equal(hp_buf_read_file(&b, want, &err), 0);
	assert_int_equal(b.len, 0);

	/* a trailing slash names the same lock */
	{
		char *sd_slash = xasprintf("%s/", sd);

		assert_int_equal(
			hp_lock_acquire(&l, sd_slash, "rollback", &err), 0);
		assert_string_equal(hp_lock_path(l), want);
		free(sd_slash);
	}
	hp_lock_release(l);
	hp_buf_release(&b);
	free(sd);
	free(want);
}

static void test_other_process_refused(void **state)
{
	struct hp_lock *l = NULL;
	struct hp_err err;
	char *sd = xasprintf("%s/b/c1", tmpdir);
	pid_t child;
	int status;

	(void)state;
	assert_int_equal(hp_lock_acquire(&l, sd, "apply", &err), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct hp_lock *cl = NULL;
		struct hp_err cerr;
		char pid[32];
		int rc = hp_lock_acquire(&cl, sd, "apply", &cerr);

		snprintf(pid, sizeof(pid), "pid %ld ", (long)getppid());
		/* no cmocka in the child: report through the exit code */
		if (rc != HP_ELOCKED || cl)
			_exit(1);
		if (!strstr(cerr.msg, pid))
			_exit(2);
		_exit(0);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	hp_lock_release(l);
	free(sd);
}

static void test_killed_holder_leaves_no_lock(void **state)
{
	struct hp_lock *l = NULL;
	struct hp_err err;
	char *sd = xasprintf("%s/c/c1", tmpdir);
	char pid[32], c;
	int pfd[2], status;
	pid_t child;

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct hp_lock *cl = NULL;
		struct hp_err cerr;

		close(pfd[0]);
		if (hp_lock_acquire(&cl, sd, "apply", &cerr) != 0)
			_exit(1);
		if (write(pfd[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause(); /* until SIGKILL: no release, no exit path */
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);

	assert_int_equal(hp_lock_acquire(&l, sd, "apply", &err), HP_ELOCKED);
	snprintf(pid, sizeof(pid), "pid %ld ", (long)child);
	assert_non_null(strstr(err.msg, pid));

	assert_int_equal(kill(child, SIGKILL), 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	/* the kernel dropped the lock with the process */
	assert_int_equal(hp_lock_acquire(&l, sd, "apply", &err), 0);
	hp_lock_release(l);
	free(sd);
}

static void test_bad_state_dir(void **state)
{
	struct hp_lock *l = NULL;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_lock_acquire(&l, "", "apply", &err), HP_EINVALID);
	assert_int_equal(hp_lock_acquire(&l, "/", "apply", &err), HP_EINVALID);
	assert_null(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acquire_release_reacquire),
		cmocka_unit_test(test_other_process_refused),
		cmocka_unit_test(test_killed_holder_leaves_no_lock),
		cmocka_unit_test(test_bad_state_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
