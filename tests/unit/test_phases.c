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
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_rest.h"
#include "inv_abc.h"
#include "fake_transport.h"
#include "engine.h"
#include "phases.h"
#include "render.h"

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

/*
 * The inventory refuses data directories under /tmp (a world-writable
 * tree), where the sandbox lives: it is loaded with stand-in paths, which
 * use_sandbox_paths then swaps for the sandbox's, as a test of the phase
 * (not of the inventory) may.
 */
static char *dir_inventory(const char *data_dir, const char *wal_dir)
{
	(void)data_dir;
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
		"/srv/hp-test/pgdata", wal_dir ? "tuning:\n  wal_dir: " : "",
		wal_dir ? "/srv/hp-test/wal" : "", wal_dir ? "\n" : "");
}

static void use_sandbox_paths(struct fx *x, const char *data_dir,
			      const char *wal_dir)
{
	free(x->inv->patroni.data_dir);
	x->inv->patroni.data_dir = xstrdup(data_dir);
	if (wal_dir) {
		free(x->inv->tuning.wal_dir);
		x->inv->tuning.wal_dir = xstrdup(wal_dir);
	}
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
	use_sandbox_paths(x, data, NULL);
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
	use_sandbox_paths(x, data, wal);
	/* one command for both directories, their answers apart */
	hp_fake_expect(&x->fake[0], "", 0,
		       "own\nmkparent\n-- wal\nown\nmkparent\n", "");
	assert_int_equal(hp_patroni_dirs(&x->run.hosts[0], &x->err), 0);
	assert_int_equal(x->fake[0].nr_calls, 1);
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
	use_sandbox_paths(x, data, NULL);
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

/* One command for both directories: a failure says which one failed. */
static void test_dirs_failure_named(void **state)
{
	struct sandbox s;
	struct fx *x;
	char *data, *wal, *yaml;

	(void)state;
	sandbox_new(&s);
	data = xasprintf("%s/pgdata", s.root);
	wal = xasprintf("%s/wal", s.root);
	yaml = dir_inventory(data, wal);
	x = fx_new(yaml, false);
	use_sandbox_paths(x, data, wal);
	hp_fake_expect(&x->fake[0], "", 3, "-- wal\n",
		       "wal_dir:\nx is a symbolic link\n");
	assert_true(hp_patroni_dirs(&x->run.hosts[0], &x->err) < 0);
	assert_non_null(strstr(x->err.msg, "wal_dir: x is a symbolic link"));
	assert_null(strstr(x->err.msg, "data directory"));
	fx_free(x);
	x = fx_new(yaml, false);
	use_sandbox_paths(x, data, wal);
	hp_fake_expect(&x->fake[0], "", 3, "", "x is a symbolic link\n");
	assert_true(hp_patroni_dirs(&x->run.hosts[0], &x->err) < 0);
	assert_non_null(strstr(x->err.msg, "data directory "));
	assert_null(strstr(x->err.msg, "wal_dir"));
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_OK), 0);
	fx_free(x);
	free(yaml);
	free(data);
	free(wal);
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
	use_sandbox_paths(x, data, NULL);
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


/* ---- REST: a 3-member cluster ------------------------------------------ */

/* the cluster: inv_abc.h */

#define MEMBER(n, role, state, lag)                                       \
	"{\"name\": \"" n "\", \"role\": \"" role "\", \"state\": \"" state \
	"\", \"host\": \"10.0.0.9\", \"timeline\": 1, \"lag\": " lag "}"

static const char good_cluster[] =
	"{\"members\": [" MEMBER("a", "leader", "running", "0") ", "
	MEMBER("b", "replica", "streaming", "0") ", "
	MEMBER("c", "sync_standby", "streaming", "16") "]}";

static const char good_patroni[] =
	"{\"state\": \"running\", \"role\": \"master\", \"replication\": ["
	"{\"application_name\": \"b\", \"state\": \"streaming\"}, "
	"{\"application_name\": \"c\", \"state\": \"streaming\"}]}";

/* Answers for everything patroni verify asks, /cluster as given. */
static void patroni_answers(struct fx *x, const char *cluster,
			    const char *patroni)
{
	json_t *dcs = NULL;
	char *cfg;

	assert_int_equal(hp_render_dcs_json(&dcs, x->inv, &x->err), 0);
	cfg = json_dumps(dcs, JSON_COMPACT);
	hp_fake_rest_expect(&x->rest, "GET", ":8008/cluster", 200, cluster, 0);
	hp_fake_rest_expect(&x->rest, "GET", "10.0.0.1:8008/patroni", 200,
			    patroni, 0);
	hp_fake_rest_expect(&x->rest, "GET", "10.0.0.1:8008/config", 200, cfg,
			    0);
	free(cfg);
	json_decref(dcs);
}

static bool has_ctrl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return true;
	return false;
}

/* patroni verify with /cluster answering cluster: its result; err.msg
 * is checked to be printable. */
static int patroni_verify_with(struct fx *x, const char *cluster,
			       const char *patroni)
{
	int r;

	patroni_answers(x, cluster, patroni);
	r = hp_patroni_verify(&x->run, &x->err);
	if (has_ctrl(x->err.msg))
		fail_msg("unsanitized error: %s", x->err.msg);
	return r;
}

static void test_patroni_verify_good(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	assert_int_equal(patroni_verify_with(x, good_cluster, good_patroni), 0);
	assert_int_equal(x->rest.nr_unexpected, 0);
	fx_free(x);
}

static void test_patroni_verify_leader_outside(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	assert_int_equal(
		patroni_verify_with(
			x,
			"{\"members\": [" MEMBER("evil\\u001b[2J\\n\\u001b]0;x",
						 "leader", "running", "0") ", "
			MEMBER("b", "replica", "streaming", "0") "]}",
			good_patroni),
		HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "'evil [2J"));
	assert_non_null(strstr(x->err.msg, "not a patroni host"));
	fx_free(x);
}

static void test_patroni_verify_two_leaders(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	assert_int_equal(
		patroni_verify_with(
			x,
			"{\"members\": [" MEMBER("a", "leader", "running",
						 "0") ", "
			MEMBER("b", "leader", "running", "0") ", "
			MEMBER("c", "replica", "streaming", "0") "]}",
			good_patroni),
		HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "two leaders, 'a' and 'b'"));
	fx_free(x);
}

static void test_patroni_verify_wrong_types(void **state)
{
	static const char *const bad[] = {
		"{\"members\": \"a\"}",
		"{\"members\": {\"a\": 1}}",
		"[1, 2, 3]",
		"{\"members\": [{\"name\": 5, \"role\": \"leader\"}]}",
		"{\"members\": [{\"name\": [\"a\"], \"role\": \"leader\"}]}",
		"{\"members\": [" MEMBER("a", "leader", "running", "0") ", "
		MEMBER("b", "replica", "streaming", "\"unknown\"") ", "
		MEMBER("c", "replica", "streaming", "0") "]}",
		"{\"members\": [" MEMBER("a", "leader", "running", "0") ", "
		MEMBER("b", "replica", "streaming", "-5") ", "
		MEMBER("c", "replica", "streaming", "0") "]}",
		"{\"members\": [" MEMBER("a", "leader", "running", "0") ", "
		"{\"name\": \"b\", \"role\": 1, \"state\": null}, "
		MEMBER("c", "replica", "streaming", "0") "]}",
		/* b twice stands in for c */
		"{\"members\": [" MEMBER("a", "leader", "running", "0") ", "
		MEMBER("b", "replica", "streaming", "0") ", "
		MEMBER("b", "replica", "streaming", "0") "]}",
		"<html><body>502 Bad Gateway</body></html>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		struct fx *x = fx_new(inv_abc, false);

		if (patroni_verify_with(x, bad[i], good_patroni) != HP_EVERIFY)
			fail_msg("accepted /cluster %s", bad[i]);
		fx_free(x);
	}
}

/* A replica that Patroni calls running is not streaming yet (Patroni
 * 3.0.2 says "running" about 9 s early). */
static void test_patroni_verify_running_is_not_streaming(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	assert_int_equal(
		patroni_verify_with(
			x, good_cluster,
			"{\"replication\": ["
			"{\"application_name\": \"b\", \"state\": \"running\"}, "
			"{\"application_name\": \"c\", \"state\": "
			"\"streaming\"}]}"),
		HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "b is not streaming"));
	fx_free(x);
}

static void test_patroni_verify_huge_body(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	size_t n = HP_REST_MAX_BODY + 10;
	char *big = xmalloc(n);

	(void)state;
	memset(big, '[', n);
	hp_fake_rest_expect_len(&x->rest, "GET", ":8008/cluster", 200, big, n,
				0);
	assert_int_equal(hp_patroni_verify(&x->run, &x->err), HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "leader"));
	free(big);
	fx_free(x);
}

/* GET /config differs by a parameter whose name and value are escape
 * sequences: the difference is reported, printable. */
static void test_patroni_verify_hostile_config(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	json_t *dcs = NULL;
	char *cfg;

	(void)state;
	assert_int_equal(hp_render_dcs_json(&dcs, x->inv, &x->err), 0);
	json_object_set_new(json_object_get(json_object_get(dcs, "postgresql"),
					    "parameters"),
			    "evil\x1b[2J", json_string("x\x1b]0;t\x07"));
	cfg = json_dumps(dcs, JSON_COMPACT);
	hp_fake_rest_expect(&x->rest, "GET", ":8008/config", 200, cfg, 0);
	assert_int_equal(patroni_verify_with(x, good_cluster, good_patroni),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "evil [2J"));
	free(cfg);
	json_decref(dcs);
	fx_free(x);
}

/* ---- hp_patroni_leader ----------------------------------------------------- */

static int leader_with(struct fx *x, const char *cluster, char **leader)
{
	struct hp_rest rest;
	int r;

	hp_fake_rest_expect(&x->rest, "GET", ":8008/cluster", 200, cluster, 0);
	assert_int_equal(hp_run_rest_init(&x->run, &rest, 1000, &x->err), 0);
	r = hp_patroni_leader(&x->run, &rest, leader, NULL, &x->err);
	hp_rest_release(&rest);
	return r;
}

static void test_leader_outside_inventory(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	char *leader = NULL;

	(void)state;
	assert_int_equal(
		leader_with(x,
			    "{\"members\": [" MEMBER("old-pg9\\u001b[1m", "leader",
						     "running", "0") "]}",
			    &leader),
		HP_EVERIFY);
	assert_null(leader);
	assert_non_null(strstr(x->err.msg, "member 'old-pg9 [1m'"));
	assert_false(has_ctrl(x->err.msg));
	fx_free(x);
}

static void test_leader_two(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	char *leader = NULL;

	(void)state;
	assert_int_equal(
		leader_with(x,
			    "{\"members\": [" MEMBER("b", "leader", "running",
						     "0") ", "
			    MEMBER("c", "leader", "running", "0") "]}",
			    &leader),
		HP_EVERIFY);
	assert_null(leader);
	assert_non_null(strstr(x->err.msg, "two leaders"));
	fx_free(x);
}

static void test_leader_name_not_a_string(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	char *leader = NULL;

	(void)state;
	assert_int_equal(leader_with(x,
				     "{\"members\": [{\"name\": {\"x\": 1}, "
				     "\"role\": \"leader\"}]}",
				     &leader),
			 HP_EVERIFY);
	assert_null(leader);
	fx_free(x);
}

static void test_leader_second_member_answers(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	char *leader = NULL;

	(void)state;
	hp_fake_rest_fail(&x->rest, "GET", "10.0.0.1:8008/cluster",
			  HP_ECONNECT, 0);
	assert_int_equal(
		leader_with(x,
			    "{\"members\": [" MEMBER("c", "leader", "running",
						     "0") "]}",
			    &leader),
		0);
	/* NULL is "no member answered": fail, not crash, in strcmp */
	assert_non_null(leader);
	assert_string_equal(leader, "c");
	assert_int_equal(hp_fake_rest_count(&x->rest, "GET", "/cluster"), 2);
	free(leader);
	fx_free(x);
}

/* ---- etcd verify ----------------------------------------------------------- */

static int etcd_verify_with(struct fx *x, const char *status,
			    const char *members)
{
	int r;

	hp_fake_rest_expect(&x->rest, "GET", ":2379/health", 200,
			    "{\"health\": \"true\"}", 0);
	hp_fake_rest_expect(&x->rest, "POST", "/v3/maintenance/status", 200,
			    status, 0);
	hp_fake_rest_expect(&x->rest, "POST", "/v3/cluster/member/list", 200,
			    members, 0);
	r = hp_etcd_verify(&x->run, &x->err);
	if (has_ctrl(x->err.msg))
		fail_msg("unsanitized error: %s", x->err.msg);
	return r;
}

static const char etcd_status_ok[] =
	"{\"header\": {\"member_id\": \"17\"}, \"leader\": \"17\"}";

static void test_etcd_verify_good(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	assert_int_equal(etcd_verify_with(x, etcd_status_ok,
					  "{\"members\": [{\"name\": \"c\"}, "
					  "{\"name\": \"a\"}, "
					  "{\"name\": \"b\"}]}"),
			 0);
	fx_free(x);
}

static void test_etcd_verify_hostile_members(void **state)
{
	static const char *const bad[] = {
		"{\"members\": [{\"name\": \"a\"}, {\"name\": \"b\"}, "
		"{\"name\": \"evil\\u001b[31m\\r\\nok\"}]}",
		"{\"members\": [{\"name\": \"a\"}, {\"name\": \"b\"}, "
		"{\"name\": \"b\"}]}",
		"{\"members\": [{\"name\": \"a\"}, {\"name\": \"b\"}]}",
		"{\"members\": [{\"name\": \"a\"}, {\"name\": \"b\"}, "
		"{\"name\": \"c\"}, {}]}",
		"{\"members\": [{\"name\": 1}, {\"name\": \"b\"}, "
		"{\"name\": \"c\"}]}",
		"{\"members\": \"a,b,c\"}",
		"<html>hello</html>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		struct fx *x = fx_new(inv_abc, false);

		if (etcd_verify_with(x, etcd_status_ok, bad[i]) != HP_EVERIFY)
			fail_msg("accepted member list %s", bad[i]);
		fx_free(x);
	}
}

static void test_etcd_verify_hostile_leader(void **state)
{
	static const char *const bad[] = {
		"{\"leader\": \"0\"}",
		"{\"leader\": 17}",
		"{\"leader\": \"\\u001b[2J17\"}",
		"<html>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		struct fx *x = fx_new(inv_abc, false);

		if (etcd_verify_with(x, bad[i], "{\"members\": []}") !=
		    HP_EVERIFY)
			fail_msg("accepted status %s", bad[i]);
		assert_non_null(strstr(x->err.msg, "reports no leader"));
		fx_free(x);
	}
}

/* A member that just came back names a stale leader for a moment: asked
 * again, not failed at once; a disagreement that lasts fails at the
 * deadline, saying so. */
static void test_etcd_verify_leader_settles(void **state)
{
	static const char stale[] =
		"{\"header\": {\"member_id\": \"18\"}, \"leader\": \"18\"}";
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	hp_fake_rest_expect(&x->rest, "POST",
			    "10.0.0.3:2379/v3/maintenance/status", 200, stale,
			    2);
	assert_int_equal(etcd_verify_with(x, etcd_status_ok,
					  "{\"members\": [{\"name\": \"c\"}, "
					  "{\"name\": \"a\"}, "
					  "{\"name\": \"b\"}]}"),
			 0);
	assert_int_equal(hp_fake_rest_count(&x->rest, "POST",
					    "10.0.0.3:2379/v3/maintenance"),
			 3);
	fx_free(x);

	x = fx_new(inv_abc, false);
	hp_fake_rest_expect(&x->rest, "POST",
			    "10.0.0.3:2379/v3/maintenance/status", 200, stale,
			    0);
	assert_int_equal(etcd_verify_with(x, etcd_status_ok,
					  "{\"members\": []}"),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "disagree on the leader"));
	fx_free(x);
}

/* ---- hp_haproxy_servers ------------------------------------------------------ */

/* HAProxy 2.6's header, as its stats page sends it */
#define HA_HEADER                                                          \
	"# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp," \
	"ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,"      \
	"chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,"      \
	"tracked,type,rate,rate_lim,rate_max,check_status,check_code,-,\n"
#define HA_ROW(px, sv, st)                                                 \
	px "," sv ",0,0,0,0,,0,0,0,,0,,0,0,0,0," st ",1,1,0,0,0,1,0,,1,3,1,," \
	"0,,2,0,,0,L7OK,200,-,\n"

static json_t *servers_ok(const char *csv, size_t len)
{
	json_t *out = NULL;
	struct hp_err e;

	hp_err_clear(&e);
	if (hp_haproxy_servers(csv, len, &out, &e) != 0)
		fail_msg("refused: %s", e.msg);
	return out;
}

static const char *srv(const json_t *a, size_t i, const char *k)
{
	return json_string_value(json_object_get(json_array_get(a, i), k));
}

static void test_servers_real_csv(void **state)
{
	static const char csv[] =
		HA_HEADER HA_ROW("stats", "FRONTEND", "OPEN")
		HA_ROW("primary", "FRONTEND", "OPEN")
		HA_ROW("primary", "a", "UP") HA_ROW("primary", "b", "DOWN")
		HA_ROW("primary", "BACKEND", "UP")
		HA_ROW("replicas", "a", "DOWN") HA_ROW("replicas", "b", "UP")
		HA_ROW("other", "a", "UP");
	json_t *s = servers_ok(csv, sizeof(csv) - 1);

	(void)state;
	assert_int_equal(json_array_size(s), 4);
	assert_string_equal(srv(s, 0, "backend"), "primary");
	assert_string_equal(srv(s, 0, "server"), "a");
	assert_string_equal(srv(s, 0, "status"), "UP");
	assert_string_equal(srv(s, 1, "status"), "DOWN");
	assert_string_equal(srv(s, 3, "backend"), "replicas");
	assert_string_equal(srv(s, 3, "server"), "b");
	json_decref(s);
}

static void test_servers_other_column_order_and_crlf(void **state)
{
	static const char csv[] =
		"# status,weight,svname,pxname\r\n"
		"UP,1,a,primary\r\n"
		"MAINT,1,b,replicas\r\n"
		"\r\n"
		"UP 1/3,1,c,replicas"; /* no final line end */
	json_t *s = servers_ok(csv, sizeof(csv) - 1);

	(void)state;
	assert_int_equal(json_array_size(s), 3);
	assert_string_equal(srv(s, 0, "server"), "a");
	assert_string_equal(srv(s, 0, "status"), "UP");
	assert_string_equal(srv(s, 1, "status"), "MAINT");
	assert_string_equal(srv(s, 2, "server"), "c");
	assert_string_equal(srv(s, 2, "status"), "UP 1/3");
	json_decref(s);
}

static void test_servers_refused(void **state)
{
	static const char *const bad[] = {
		/* the HTML page a proxy or a login answers with 200 */
		"<html><body><h1>Statistics Report</h1>\x1b[2J</body></html>",
		"",
		"# pxname,svname,scur\nprimary,a,0\n", /* no status column */
		"# pxname,status\nprimary,UP\n",       /* no svname */
		"# svname,statuses,pxname\na,UP,primary\n",
		"# pxname,svname,status\nprimary,a\n", /* a short line */
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		json_t *out = NULL;
		struct hp_err e;

		hp_err_clear(&e);
		if (hp_haproxy_servers(bad[i], strlen(bad[i]), &out, &e) !=
		    HP_EVERIFY)
			fail_msg("accepted %s", bad[i]);
		assert_null(out);
		assert_false(has_ctrl(e.msg));
	}
}

static void test_servers_hostile_names(void **state)
{
	struct hp_buf csv = HP_BUF_INIT;
	json_t *s;
	size_t i;

	(void)state;
	hp_buf_adds(&csv, "# pxname,svname,status\n");
	hp_buf_adds(&csv, "primary,\x1b]0;owned\x07\x1b[2J,UP\n");
	hp_buf_adds(&csv, "replicas,\xff\xfe\xc3(,UP\n"); /* not UTF-8 */
	hp_buf_adds(&csv, "replicas,nul");
	hp_buf_add(&csv, "\0x", 2);
	hp_buf_adds(&csv, ",DOWN\nreplicas,");
	for (i = 0; i < 10000; i++)
		hp_buf_addch(&csv, 'n');
	hp_buf_adds(&csv, ",UP\n");
	s = servers_ok(csv.buf, csv.len);
	assert_int_equal(json_array_size(s), 4);
	for (i = 0; i < 4; i++) {
		const char *name = srv(s, i, "server");

		assert_non_null(name); /* json_string gave NULL before */
		assert_false(has_ctrl(name));
		assert_true(strlen(name) < 100);
	}
	assert_string_equal(srv(s, 0, "server"), " ]0;owned  [2J");
	assert_string_equal(srv(s, 1, "server"), "   (");
	assert_string_equal(srv(s, 2, "server"), "nul x");
	assert_non_null(strstr(srv(s, 3, "server"), "... (10000 bytes)"));
	json_decref(s);
	hp_buf_release(&csv);
}

static void test_servers_huge_csv(void **state)
{
	struct hp_buf csv = HP_BUF_INIT;
	json_t *s;

	(void)state;
	hp_buf_adds(&csv, HA_HEADER);
	while (csv.len < HP_REST_MAX_BODY - 200)
		hp_buf_adds(&csv, HA_ROW("replicas", "x", "UP"));
	s = servers_ok(csv.buf, csv.len);
	assert_true(json_array_size(s) > 5000);
	json_decref(s);
	hp_buf_release(&csv);
}

/* ---- haproxy verify -------------------------------------------------------- */

static const struct hp_render_secrets stats_secrets = {
	NULL, "s", "r", "w", "api", "St4ts-pw", NULL, NULL,
};

static int haproxy_verify_with(struct fx *x, const char *csv)
{
	hp_fake_rest_expect(&x->rest, "GET", ":8008/cluster", 200,
			    good_cluster, 0);
	hp_fake_rest_expect(&x->rest, "GET", ":8404/stats;csv", 200, csv, 0);
	x->run.secrets = (struct hp_render_secrets *)(uintptr_t)&stats_secrets;
	return hp_haproxy_verify(&x->run, &x->err);
}

#define HA_GOOD_PRIMARY                                                    \
	"# pxname,svname,status\n"                                          \
	"primary,a,UP\nprimary,b,DOWN\nprimary,c,DOWN\n"

static void test_haproxy_verify_good_with_password(void **state)
{
	struct fx *x = fx_new(inv_abc, false);
	int i;

	(void)state;
	assert_int_equal(haproxy_verify_with(x, HA_GOOD_PRIMARY
					     "replicas,a,DOWN\n"
					     "replicas,b,UP\n"
					     "replicas,c,UP\n"),
			 0);
	/* every stats request carried user haprov and a password */
	assert_int_equal(hp_fake_rest_count(&x->rest, "GET", ":8404/"), 3);
	for (i = 0; i < 3; i++) {
		const struct hp_fake_rest_req *q =
			&x->rest.reqs[hp_fake_rest_find(&x->rest, "GET",
							":8404/", i)];

		assert_string_equal(q->user, "haprov");
		assert_true(q->had_password);
	}
	/* and no Patroni request did */
	assert_null(x->rest.reqs[hp_fake_rest_find(&x->rest, "GET",
						   "/cluster", 0)]
			    .user);
	fx_free(x);
}

static void test_haproxy_verify_wrong_backends(void **state)
{
	static const char *const bad[] = {
		/* an extra UP server in the replicas */
		HA_GOOD_PRIMARY "replicas,a,UP\nreplicas,b,UP\nreplicas,c,UP\n",
		/* a replica missing */
		HA_GOOD_PRIMARY "replicas,a,DOWN\nreplicas,b,UP\n"
				"replicas,c,DOWN\n",
		/* a server haprov did not configure */
		HA_GOOD_PRIMARY "replicas,b,UP\nreplicas,c,UP\n"
				"replicas,evil,UP\n",
		/* two primaries */
		"# pxname,svname,status\nprimary,a,UP\nprimary,b,UP\n"
		"replicas,c,UP\n",
		/* the wrong primary */
		"# pxname,svname,status\nprimary,b,UP\nreplicas,a,UP\n"
		"replicas,c,UP\n",
		"<html>login</html>",
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		struct fx *x = fx_new(inv_abc, false);

		if (haproxy_verify_with(x, bad[i]) != HP_EVERIFY)
			fail_msg("accepted %s", bad[i]);
		assert_false(has_ctrl(x->err.msg));
		fx_free(x);
	}
}

static void test_haproxy_verify_refused_password(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	hp_fake_rest_expect(&x->rest, "GET", ":8404/stats;csv", 401,
			    "<html>401 Unauthorized</html>", 0);
	assert_int_equal(haproxy_verify_with(x, HA_GOOD_PRIMARY), HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "HTTP 401"));
	assert_non_null(strstr(x->err.msg, "haproxy_stats"));
	fx_free(x);
}

/* No leader: the backends cannot be right, whatever they show. */
static void test_haproxy_verify_needs_a_leader(void **state)
{
	struct fx *x = fx_new(inv_abc, false);

	(void)state;
	hp_fake_rest_expect(&x->rest, "GET", ":8008/cluster", 200,
			    "{\"members\": [" MEMBER("a", "replica",
						     "running", "0") "]}",
			    0);
	assert_int_equal(haproxy_verify_with(x, "# pxname,svname,status\n"),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "no leader"));
	fx_free(x);
}

/* ---- Patroni's REST certificate after a reload ---------------------------- */

/* The patroni phase waits for :8008 after a reload with TLS on only; a
 * start, a restart, a plan or TLS off go on at once. */
static void test_reload_waits(void **state)
{
	char *yaml = dir_inventory(NULL, NULL);
	struct fx *x = fx_new(yaml, false), *p = fx_new(yaml, true);

	(void)state;
	x->inv->tls.enabled = p->inv->tls.enabled = true;
	assert_true(hp_patroni_reload_waits(&x->run, HP_SVC_RELOAD));
	assert_false(hp_patroni_reload_waits(&x->run, HP_SVC_RESTART));
	assert_false(hp_patroni_reload_waits(&x->run, HP_SVC_START));
	assert_false(hp_patroni_reload_waits(&x->run, HP_SVC_NONE));
	assert_false(hp_patroni_reload_waits(&p->run, HP_SVC_RELOAD));
	x->inv->tls.enabled = false;
	assert_false(hp_patroni_reload_waits(&x->run, HP_SVC_RELOAD));
	fx_free(x);
	fx_free(p);
	free(yaml);
}

/* The probe asks the member's own address and REST port (quoted); its
 * answer decides: served or reloaded go on, anything else is an error
 * that names the file, and a step is recorded either way. */
static void test_cert_served(void **state)
{
	char *yaml = dir_inventory(NULL, NULL);
	struct fx *x = fx_new(yaml, false);
	const char *cmd;

	(void)state;
	hp_fake_expect(&x->fake[0], "python3", 0, "reloaded\n", "");
	assert_int_equal(hp_patroni_cert_served(&x->run.hosts[0], &x->err), 0);
	cmd = x->fake[0].calls[0].what;
	assert_non_null(strstr(cmd, "a='10.0.0.1'"));
	assert_non_null(strstr(cmd, "\"$a\" 8008"));
	assert_non_null(strstr(cmd, "systemctl reload patroni"));
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_OK), 1);
	fx_free(x);

	x = fx_new(yaml, false);
	hp_fake_expect(&x->fake[0], "python3", 0, "other\n", "");
	assert_int_equal(hp_patroni_cert_served(&x->run.hosts[0], &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "/etc/patroni/tls/host.crt"));
	assert_int_equal(hp_run_count(&x->run, NULL, HP_STEP_FAILED), 1);
	fx_free(x);

	x = fx_new(yaml, false);
	hp_fake_expect(&x->fake[0], "python3", 0, "", "");
	assert_int_equal(hp_patroni_cert_served(&x->run.hosts[0], &x->err),
			 HP_EVERIFY);
	fx_free(x);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converge_leaves_existing_parent_alone),
		cmocka_unit_test(test_dirs_missing_parents),
		cmocka_unit_test(test_dirs_refuse_symlink),
		cmocka_unit_test(test_dirs_failure_named),
		cmocka_unit_test(test_dirs_plan),
		cmocka_unit_test(test_reload_waits),
		cmocka_unit_test(test_cert_served),
		cmocka_unit_test(test_patroni_verify_good),
		cmocka_unit_test(test_patroni_verify_leader_outside),
		cmocka_unit_test(test_patroni_verify_two_leaders),
		cmocka_unit_test(test_patroni_verify_wrong_types),
		cmocka_unit_test(test_patroni_verify_running_is_not_streaming),
		cmocka_unit_test(test_patroni_verify_huge_body),
		cmocka_unit_test(test_patroni_verify_hostile_config),
		cmocka_unit_test(test_leader_outside_inventory),
		cmocka_unit_test(test_leader_two),
		cmocka_unit_test(test_leader_name_not_a_string),
		cmocka_unit_test(test_leader_second_member_answers),
		cmocka_unit_test(test_etcd_verify_good),
		cmocka_unit_test(test_etcd_verify_hostile_members),
		cmocka_unit_test(test_etcd_verify_hostile_leader),
		cmocka_unit_test(test_etcd_verify_leader_settles),
		cmocka_unit_test(test_servers_real_csv),
		cmocka_unit_test(test_servers_other_column_order_and_crlf),
		cmocka_unit_test(test_servers_refused),
		cmocka_unit_test(test_servers_hostile_names),
		cmocka_unit_test(test_servers_huge_csv),
		cmocka_unit_test(test_haproxy_verify_good_with_password),
		cmocka_unit_test(test_haproxy_verify_wrong_backends),
		cmocka_unit_test(test_haproxy_verify_refused_password),
		cmocka_unit_test(test_haproxy_verify_needs_a_leader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
