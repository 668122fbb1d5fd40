#ifndef HP_STEPS_FIXTURE_H
#define HP_STEPS_FIXTURE_H
/*
 * What the step tests share (test_steps.c, test_backups.c, test_facts.c):
 * a three-host inventory whose host pg2 talks to one fake transport, and
 * helpers that run a remote command's script in a local /bin/sh inside a
 * temporary directory (a local shell is not a host, but it parses and
 * runs the same script) and capture stderr's progress lines.
 *
 * Everything is static inline: each test file uses only some of it.
 * Include after <cmocka.h>.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_transport.h"
#include "engine.h"
#include "shell.h"

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake fake;
	struct hp_hostrun *h; /* pg2 */
	struct hp_err err;
};

static inline struct fx *fx_new(bool plan)
{
	/* tls: false: the steps' subjects (SQL, facts, backups, rotation's
	 * plaintext REST checks) are not TLS (test_render_tls.c, test_tls*.c) */
	static const char inv_yaml[] =
		"cluster: {name: t}\n"
		"tls: false\n"
		"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
		"hosts:\n"
		"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni, "
		"haproxy]}\n"
		"  - {name: pg2, address: 10.0.0.2, roles: [etcd, patroni, "
		"haproxy]}\n"
		"  - {name: pg3, address: 10.0.0.3, roles: [etcd, patroni, "
		"haproxy]}\n";
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;

	memset(&o, 0, sizeof(o));
	o.plan = plan;
	assert_int_equal(hp_inventory_load_string(&x->inv, inv_yaml,
						  sizeof(inv_yaml) - 1,
						  "/tmp/t.yml", &x->diags),
			 0);
	hp_run_init(&x->run, x->inv, &o);
	x->h = &x->run.hosts[1];
	hp_fake_init(&x->fake);
	hp_fake_transport(&x->fake, &x->h->tr, "pg2");
	hp_err_clear(&x->err);
	return x;
}

static inline void fx_free(struct fx *x)
{
	x->h->tr.ops = NULL; /* the fake is released here, not closed */
	hp_run_release(&x->run);
	hp_fake_release(&x->fake);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

static inline struct hp_want_file want(const char *path, const char *content)
{
	struct hp_want_file f;

	memset(&f, 0, sizeof(f));
	f.path = path;
	f.content = content;
	f.len = strlen(content);
	f.mode = 0644;
	f.owner = "root";
	f.group = "root";
	return f;
}

static inline struct hp_fact_file fact_for(const char *content, unsigned mode)
{
	struct hp_fact_file f;

	memset(&f, 0, sizeof(f));
	f.exists = true;
	hp_sha256_hex(content, strlen(content), f.sha256);
	f.mode = mode;
	hp_strlcpy(f.owner, "root", sizeof(f.owner));
	hp_strlcpy(f.group, "root", sizeof(f.group));
	return f;
}

/* Whether s shows up in anything the run shows or keeps: results (detail,
 * diff), the --json document, the file records for the state repository,
 * or an error message. */

/* Run /bin/sh -c script with env (NULL-terminated "K=V" list, added to
 * ours); stdout and stderr together in out. The exit status, or -1. */
static inline int run_sh(const char *script, const char *const *env,
		  struct hp_buf *out)
{
	int pipefd[2], status = 0;
	char chunk[8192];
	ssize_t n;
	pid_t pid;

	hp_buf_reset(out);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		dup2(devnull, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		for (; env && *env; env++)
			putenv((char *)(uintptr_t)*env);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		hp_buf_add(out, chunk, (size_t)n);
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline char *make_tmpdir(void)
{
	char *d = xstrdup("/tmp/haprov-test-steps.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static inline void rm_tree(const char *dir)
{
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;

	hp_buf_adds(&cmd, "rm -rf -- ");
	hp_shell_quote(&cmd, dir);
	run_sh(cmd.buf, NULL, &out);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
}

static inline void write_file(const char *dir, const char *name, const char *text,
		       unsigned mode)
{
	char *p = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

static inline char *read_text(const char *dir, const char *name)
{
	struct hp_buf b = HP_BUF_INIT;
	char *p = xasprintf("%s/%s", dir, name);

	if (hp_buf_read_file(&b, p, NULL) < 0)
		hp_buf_reset(&b);
	free(p);
	return hp_buf_detach(&b, NULL);
}

/* Replace every from with to in s (a new string). */
static inline char *replace_all(const char *s, const char *from, const char *to)
{
	struct hp_buf b = HP_BUF_INIT;
	const char *p;

	while ((p = strstr(s, from)) != NULL) {
		hp_buf_add(&b, s, (size_t)(p - s));
		hp_buf_adds(&b, to);
		s = p + strlen(from);
	}
	hp_buf_adds(&b, s);
	return hp_buf_detach(&b, NULL);
}

/* stderr into a file while fn runs; what was written, as a string */
struct capture {
	int saved;
	FILE *tmp;
};

static inline void capture_begin(struct capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(2);
	dup2(fileno(c->tmp), 2);
}

static inline char *capture_end(struct capture *c)
{
	struct hp_buf b = HP_BUF_INIT;
	char chunk[4096];
	size_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	rewind(c->tmp);
	while ((n = fread(chunk, 1, sizeof(chunk), c->tmp)) > 0)
		hp_buf_add(&b, chunk, n);
	fclose(c->tmp);
	return hp_buf_detach(&b, NULL);
}


#endif
