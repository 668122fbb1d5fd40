/*
 * The phases (phases/patroni.c, etcd.c, haproxy.c) against the scripted
 * fake transport and the fake REST server: which directories the patroni
 * phase touches (the commands are run for real in a sandbox under /tmp,
 * with chown and friends replaced by shims that only log), and what the
 * verify steps make of hostile, broken or lying answers from Patroni,
 * etcd and HAProxy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_rest.h"
#include "fake_transport.h"
#include "engine.h"
#include "phases.h"

/* ---- a run over fakes ------------------------------------------------- */

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake *fake;
	struct hp_fake_rest rest;
	struct hp_err err;
};

static struct fx *fx_new(const char *yaml, bool plan)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.plan = plan;
	if (hp_inventory_load_string(&x->inv, yaml, strlen(yaml), "/tmp/t.yml",
				     &x->diags) != 0)
		fail_msg("inventory refused:\n%s", yaml);
	hp_run_init(&x->run, x->inv, &o);
	x->fake = xcalloc(x->inv->nr_hosts, sizeof(*x->fake));
	for (i = 0; i < x->inv->nr_hosts; i++) {
		hp_fake_init(&x->fake[i]);
		hp_fake_transport(&x->fake[i], &x->run.hosts[i].tr,
				  x->inv->hosts[i].name);
	}
	hp_fake_rest_init(&x->rest);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &x->rest;
	hp_err_clear(&x->err);
	return x;
}

static void fx_free(struct fx *x)
{
	size_t i;

	hp_run_release(&x->run);
	for (i = 0; i < x->inv->nr_hosts; i++)
		hp_fake_release(&x->fake[i]);
	free(x->fake);
	hp_fake_rest_release(&x->rest);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

/* ---- a sandbox to run the remote commands in ---------------------------- */

struct sandbox {
	char root[64];
	char log[128];
	char shims[128];
};

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

/*
 * A directory under /tmp and, in it, shims for the commands that would
 * change owners or need a real postgres user: they log "name args" to
 * log and succeed. chmod, mkdir and stat are the real ones.
 */
static void sandbox_new(struct sandbox *s)
{
	static const char *const names[] = { "chown", "install", "runuser",
					     "id" };
	size_t i;

	hp_strlcpy(s->root, "/tmp/hp-phases-XXXXXX", sizeof(s->root));
	assert_non_null(mkdtemp(s->root));
	snprintf(s->log, sizeof(s->log), "%s/log", s->root);
	snprintf(s->shims, sizeof(s->shims), "%s/shims", s->root);
	assert_int_equal(mkdir(s->shims, 0755), 0);
	write_file(s->log, "", 0644);
	for (i = 0; i < HP_ARRAY_SIZE(names); i++) {
		char *path = xasprintf("%s/%s", s->shims, names[i]);
		char *text = xasprintf("#!/bin/sh\necho \"%s $*\" >> '%s'\n",
				       names[i], s->log);

		write_file(path, text, 0755);
		free(path);
		free(text);
	}
}

static void sandbox_free(struct sandbox *s)
{
	char *cmd = xasprintf("rm -rf '%s'", s->root);
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	free(cmd);
}

/* Run cmd with sh in the sandbox (shims first in PATH); its exit code. */
static int sandbox_sh(const struct sandbox *s, const char *cmd)
{
	char *path = xasprintf("PATH=%s:/usr/sbin:/usr/bin:/sbin:/bin",
			       s->shims);
	pid_t pid = fork();
	int st = 0;

	assert_true(pid >= 0);
	if (pid == 0) {
		char *const envp[] = { path, NULL };
		int fd = open("/dev/null", O_WRONLY);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(126);
		execle("/bin/sh", "sh", "-c", cmd, (char *)NULL, envp);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	free(path);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *sandbox_log(const struct sandbox *s)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err e;

	assert_int_equal(hp_buf_read_file(&b, s->log, &e), 0);
	return hp_buf_detach(&b, NULL);
}

static unsigned mode_of(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return 0;
	return st.st_mode & 07777;
}

/* Whether some line of log is a chown or install (the shims that change
 * owners and modes) whose last argument is path. */
static bool log_acts_on(const char *log, const char *path)
{
	const char *line = log;
	size_t n = strlen(path);

	while (*line) {
		size_t len = strcspn(line, "\n");

		if ((!strncmp(line, "chown ", 6) ||
		     !strncmp(line, "install ", 8)) &&
		    len > n && line[len - n - 1] == ' ' &&
		    !strncmp(line + len - n, path, n))
			return true;
		line += len + (line[len] == '\n');
	}
	return false;
}

static char *dir_inventory(const char *data_dir, const char *wal_dir)
{
	return xasprintf(
		"cluster: {name: t}\n"
		"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
		"hosts:\n"
		"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni]}\n"
		"patroni:\n"
		"  allowed_networks: [10.0.0.0/24]\n"
		"  data_dir: %s\n"
		"%s%s%s"
		"validation: {timeout_s: 1}\n",
		data_dir, wal_dir ? "tuning:\n  wal_dir: " : "",
		wal_dir ? wal_dir : "", wal_dir ? "\n" : "");
}

/* Run, in the sandbox, every command sent to host 0 that names root. */
static void replay_in_sandbox(const struct fx *x, const struct sandbox *s)
{
	size_t i;

	for (i = 0; i < x->fake[0].nr_calls; i++) {
		const struct hp_fake_call *c = &x->fake[0].calls[i];

		if (c->op == HP_FAKE_EXEC && strstr(c->what, s->root))
			assert_int_equal(sandbox_sh(s, c->what), 0);
	}
}

static int no_files(struct hp_hostrun *h, const char *phase,
		    struct hp_want_file **out, size_t *nr, struct hp_err *err)
{
	(void)h;
	(void)phase;
	(void)err;
	*out = NULL;
	*nr = 0;
	return 0;
}

/*
 * #2: the whole patroni converge of a new member whose data directory
 * sits in an existing directory: the commands it sends, run for real,
 * never chown or chmod that directory.
 */
static void test_converge_leaves_existing_parent_alone(void **state)
{
	struct sandbox s;
	struct fx *x;
	char *parent, *data, *yaml, *log;

	(void)state;
	sandbox_new(&s);
	parent = xasprintf("%s/srv", s.root);
	data = xasprintf("%s/pgdata", parent);
	assert_int_equal(mkdir(parent, 0751), 0);
	assert_int_equal(chmod(parent, 0751), 0);
	yaml = dir_inventory(data, NULL);
	x = fx_new(yaml, false);
	x->run.phase_files_cb = no_files;
	/* installed, running: no package or service step acts */
	hp_fake_expect(&x->fake[0], "dpkg-query", 0,
		       "P ii\nP ii\nP ii\nP ii\nS enabled active 42\n", "");
	hp_fake_expect(&x->fake[0], "", 0, "", "");
	/* no member answers: a new cluster, so no leader at the end */
	hp_fake_rest_fail(&x->rest, NULL, "/", HP_ECONNECT, 0);
	assert_int_equal(hp_patroni_converge(&x->run, &x->err), HP_EVERIFY);
	replay_in_sandbox(x, &s);
	log = sandbox_log(&s);
	/* the parent kept its mode and was given to nobody */
	assert_int_equal(mode_of(parent), 0751);
	if (log_acts_on(log, parent))
		fail_msg("a command acted on %s:\n%s", parent, log);
	/* the data directory itself is postgres' and 0700 */
	assert_int_equal(mode_of(data), 0700);
	assert_true(log_acts_on(log, data));
	assert_non_null(strstr(log, "chown -h postgres:postgres -- "));
	free(log);
	free(yaml);
	free(data);
	free(parent);
	fx_free(x);
	sandbox_free(&s);
}

/* Only the missing part of the path is created; the one directory that
 * is given to postgres is the data directory's parent haprov made. */
static void test_dirs_missing_parents(void **state)
{
	struct sandbox s;
	struct fx *x;
	char *top, *mid, *parent, *data, *wal, *walparent, *yaml, *log;

	(void)state;
	sandbox_new(&s);
	top = xasprintf("%s/srv", s.root);
	mid = xasprintf("%s/pg", top);
	parent = xasprintf("%s/15", mid);
	data = xasprintf("%s/main/", parent); /* a trailing slash */
	walparent = xasprintf("%s/wal", top);
	wal = xasprintf("%s/x", walparent);
	assert_int_equal(mkdir(top, 0711), 0);
	assert_int_equal(chmod(top, 0711), 0);
	yaml = dir_inventory(data, wal);
	x = fx_new(yaml, false);
	hp_fake_expect(&x->fake[0], "", 0, "own\nmkparent\n", "");
	assert_int_equal(hp_patroni_dirs(&x->run.hosts[0], &x->err), 0);
	assert_int_equal(x->fake[0].nr_calls, 2);
	replay_in_sandbox(x, &s);
	log = sandbox_log(&s);
	data[strlen(data) - 1] = '\0';
	assert_int_equal(mode_of(top), 0711);
	assert_false(log_acts_on(log, top));
	/* created by haprov: root's (the umask's 0755), not postgres' */
	assert_int_equal(mode_of(mid), 0755);
	assert_false(log_acts_on(log, mid));
	assert_int_equal(mode_of(walparent), 0755);
	assert_false(log_acts_on(log, walparent));
	/* the data directory's new parent: postgres' */
	assert_true(log_acts_on(log, parent));
	assert_int_equal(mode_of(data), 0700);
	assert_true(log_acts_on(log, data));
	assert_int_equal(mode_of(wal), 0700);
	assert_true(log_acts_on(log, wal));
	/* what the canned answer said was recorded as changes */
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_CHANGED), 4);
	free(log);
	free(yaml);
	free(data);
	free(parent);
	free(mid);
	free(top);
	free(wal);
	free(walparent);
	fx_free(x);
	sandbox_free(&s);
}

/* A symbolic link in the data directory's place is refused: root's chmod
 * would follow it. */
static void test_dirs_refuse_symlink(void **state)
{
	struct sandbox s;
	struct fx *x;
	char *target, *data, *yaml, *log;

	(void)state;
	sandbox_new(&s);
	target = xasprintf("%s/etc", s.root);
	data = xasprintf("%s/pgdata", s.root);
	assert_int_equal(mkdir(target, 0755), 0);
	assert_int_equal(chmod(target, 0755), 0);
	assert_int_equal(symlink(target, data), 0);
	yaml = dir_inventory(data, NULL);
	x = fx_new(yaml, false);
	hp_fake_expect(&x->fake[0], "", 0, "", "");
	assert_int_equal(hp_patroni_dirs(&x->run.hosts[0], &x->err), 0);
	assert_int_equal(sandbox_sh(&s, x->fake[0].calls[0].what), 3);
	log = sandbox_log(&s);
	assert_int_equal(mode_of(target), 0755);
	assert_string_equal(log, "");
	free(log);
	free(yaml);
	free(data);
	free(target);
	fx_free(x);
	sandbox_free(&s);
}

/* Plan mode reports and changes nothing. */
static void test_dirs_plan(void **state)
{
	struct sandbox s;
	struct fx *x;
	char *data, *yaml, *log;

	(void)state;
	sandbox_new(&s);
	data = xasprintf("%s/new/pgdata", s.root);
	yaml = dir_inventory(data, NULL);
	x = fx_new(yaml, true);
	hp_fake_expect(&x->fake[0], "", 0, "", "");
	assert_int_equal(hp_patroni_dirs(&x->run.hosts[0], &x->err), 0);
	assert_int_equal(sandbox_sh(&s, x->fake[0].calls[0].what), 0);
	log = sandbox_log(&s);
	assert_string_equal(log, "");
	assert_int_equal(mode_of(data), 0);
	free(log);
	free(yaml);
	free(data);
	fx_free(x);
	sandbox_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converge_leaves_existing_parent_alone),
		cmocka_unit_test(test_dirs_missing_parents),
		cmocka_unit_test(test_dirs_refuse_symlink),
		cmocka_unit_test(test_dirs_plan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
