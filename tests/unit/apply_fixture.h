#ifndef HP_APPLY_FIXTURE_H
#define HP_APPLY_FIXTURE_H
/*
 * The apply driver through its seam (hp_apply_main_seam), for
 * test_apply.c and test_output_apply.c: fake phases that count their
 * calls and write the files a test asks for (want_files), a fake
 * transport working out facts and moves from its files, the fake REST
 * server and a real state repository in a temporary directory. Include
 * after the system headers, cmocka.h, and apply.h, bootstrap.h,
 * fake_rest.h, fake_transport.h, phases.h, secret_store.h, state.h.
 */
#ifndef HP_TMPDIR_PREFIX
#define HP_TMPDIR_PREFIX "/tmp/hp-apply-"
#endif
#include "tmpdir_fixture.h"

/* ---- what the fake phases do and count ------------------------------------ */

struct file_spec {
	const char *path;
	const char *content;
	bool secret;
};

static struct {
	struct file_spec files[4];
	size_t nr_files;
	int converge_calls, restore_calls, verify_calls;
	int verify_failures; /* the next N verify calls fail */
} S;

static void script(int verify_failures)
{
	S.converge_calls = S.restore_calls = S.verify_calls = 0;
	S.verify_failures = verify_failures;
}

static void want_files(size_t n, const struct file_spec *f)
{
	size_t i;

	S.nr_files = n;
	for (i = 0; i < n; i++)
		S.files[i] = f[i];
}

static int files_cb(struct hp_hostrun *h, const char *phase,
		    struct hp_want_file **out, size_t *nr, struct hp_err *err)
{
	struct hp_want_file *wf = xcalloc(S.nr_files + 1, sizeof(*wf));
	size_t i;

	(void)h;
	(void)phase;
	(void)err;
	for (i = 0; i < S.nr_files; i++) {
		wf[i].path = xstrdup(S.files[i].path);
		wf[i].content = xstrdup(S.files[i].content);
		wf[i].len = strlen(S.files[i].content);
		wf[i].mode = 0644;
		wf[i].owner = xstrdup("root");
		wf[i].group = xstrdup("root");
		wf[i].secret = S.files[i].secret;
	}
	*out = wf;
	*nr = S.nr_files;
	return 0;
}

static int host_converge(struct hp_hostrun *h, void *arg)
{
	const struct hp_host_plan plan = {0};
	struct hp_facts facts;
	int r;

	r = hp_phase_host_converge(h, arg, &plan, &facts, &h->err);
	hp_facts_release(&facts);
	return r;
}

static int converge(struct hp_run *run, const char *phase, struct hp_err *err)
{
	S.converge_calls++;
	if (hp_desired_point(run))
		S.restore_calls++;
	if (hp_run_each(run, 0, host_converge, (void *)(uintptr_t)phase))
		return hp_err_set(err, HP_EREMOTE, "a host failed");
	return 0;
}

static int verify(struct hp_run *run, struct hp_err *err)
{
	(void)run;
	S.verify_calls++;
	if (S.verify_failures > 0) {
		S.verify_failures--;
		return hp_err_set(err, HP_EVERIFY, "fake phase is unhealthy");
	}
	return 0;
}

static int alpha_converge(struct hp_run *run, struct hp_err *err)
{
	return converge(run, "alpha", err);
}

static int patroni_converge(struct hp_run *run, struct hp_err *err)
{
	return converge(run, "patroni", err);
}

/* The DCS a fake patroni phase records at its points: none (no leader
 * answered) unless a test sets one. */
static const char *fake_dcs;

static int fake_snapshot(struct hp_run *run, json_t **out, struct hp_err *err)
{
	(void)run;
	(void)err;
	*out = fake_dcs ? json_loads(fake_dcs, 0, NULL) : NULL;
	return 0;
}

static const char *const rest_of_dcs[] = {HP_DCS_REST, NULL};

static const struct hp_phase alpha[] = {
	{.name = "alpha", .converge = alpha_converge, .verify = verify},
};
static const struct hp_phase fake_patroni[] = {
	{.name = "patroni",
	 .converge = patroni_converge,
	 .verify = verify,
	 .snapshot = fake_snapshot,
	 .snapshot_path = "patroni/dcs.json",
	 .dcs_params = rest_of_dcs},
};

/* ---- a host: the fake transport, with facts and moves worked out from its
 * files --------------------------------------------------------------------- */

/* The path in "<key>'<path>'" at or after p; caller frees; NULL if none. */
static char *quoted_after(const char *p, const char *key, const char **end)
{
	const char *s = strstr(p, key), *e;

	if (!s)
		return NULL;
	s += strlen(key);
	e = strchr(s, '\'');
	assert_non_null(e);
	*end = e + 1;
	return xstrndup(s, (size_t)(e - s));
}

static void drop_file(struct hp_fake *f, const char *path)
{
	size_t i;

	for (i = 0; i < f->nr_files; i++) {
		if (strcmp(f->files[i].path, path) != 0)
			continue;
		free(f->files[i].path);
		free(f->files[i].data);
		free(f->files[i].owner);
		free(f->files[i].group);
		memmove(&f->files[i], &f->files[i + 1],
			(f->nr_files - i - 1) * sizeof(f->files[0]));
		f->nr_files--;
		return;
	}
}

static int host_exec(void *ctx, const char *cmd, const void *in, size_t len,
		     int timeout_s, struct hp_exec_result *res,
		     struct hp_err *err)
{
	struct hp_fake *f = ctx;
	struct hp_fake_call *call;
	const char *p = cmd;
	char *path;

	if (strncmp(cmd, "export LC_ALL=C; ", 17) != 0 &&
	    !strstr(cmd, "mv -f \"$p\" \"$b\""))
		return hp_fake__exec(ctx, cmd, in, len, timeout_s, res, err);
	(void)hp_fake__record(f, HP_FAKE_EXEC, cmd, in, len, &call);
	res->exit_code = 0;
	if (strstr(cmd, "mv -f")) { /* a file moved to the backups */
		path = quoted_after(cmd, "p='", &p);
		if (hp_fake_file(f, path)) {
			drop_file(f, path);
			hp_buf_adds(&res->out, "moved\n");
		}
		free(path);
		return 0;
	}
	/* the facts: the files are the quoted words of "for f in ... ; do" */
	p = strstr(cmd, "for f in ");
	while (p && (p = strchr(p, '\'')) && p < strstr(cmd, "; do") &&
	       (path = quoted_after(p, "'", &p))) {
		const struct hp_fake_file *file = hp_fake_file(f, path);

		if (file) {
			char sha[65];

			hp_sha256_hex(file->data, file->len, sha);
			hp_buf_addf(&res->out, "F %s %o %s %s\n", sha,
				    file->mode, file->owner, file->group);
		} else {
			hp_buf_adds(&res->out, "F -\n");
		}
		free(path);
	}
	return 0;
}

static const struct hp_transport_ops host_ops = {
	.exec = host_exec,
	.put = hp_fake__put,
	.get = hp_fake__get,
	.close = hp_fake__close,
};

/* ---- a cluster directory and the command ---------------------------------- */

struct fx {
	char *dir, *inv_path, *state_dir, *store;
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_fake host;
	struct hp_fake_rest rest;
};

static void prepare(struct hp_run *run, void *arg)
{
	struct fx *x = arg;

	run->hosts[0].tr.ops = &host_ops;
	run->hosts[0].tr.ctx = &x->host;
	snprintf(x->host.host, sizeof(x->host.host), "a");
	run->rest_ops = &hp_fake_rest_ops;
	run->rest_ctx = &x->rest;
	run->phase_files_cb = files_cb;
}

static struct fx *fx_new(const char *name, bool with_secrets)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_err err;
	FILE *f;
	int i;

	x->dir = xasprintf("%s/%s", tmpdir, name);
	assert_int_equal(mkdir(x->dir, 0700), 0);
	x->inv_path = xasprintf("%s/inv.yml", x->dir);
	f = fopen(x->inv_path, "w");
	assert_non_null(f);
	fprintf(f, "cluster: {name: c1}\n"
		   "ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
		   "hosts:\n"
		   "  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, "
		   "haproxy]}\n");
	fclose(f);
	assert_int_equal(hp_inventory_load(&x->inv, x->inv_path, &x->diags),
			 0);
	x->state_dir = xstrdup(x->inv->state_dir);
	x->store = xstrdup(x->inv->secrets.store);
	hp_fake_init(&x->host);
	x->host.strict = true;
	hp_fake_expect(&x->host, "mkdir -p", 0, "", "");
	hp_fake_rest_init(&x->rest);
	if (with_secrets) {
		assert_int_equal(hp_secret_store_create(x->store, &err), 0);
		for (i = 0; i < HP_SECRET_NR; i++) {
			char *v = NULL;

			assert_int_equal(
				hp_secret_create(
					&v, x->store,
					hp_secret_name((enum hp_secret_id)i), 16,
					&err),
				0);
			hp_secret_free(v);
		}
	}
	return x;
}

static void fx_free(struct fx *x)
{
	hp_fake_release(&x->host);
	hp_fake_rest_release(&x->rest);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x->dir);
	free(x->inv_path);
	free(x->state_dir);
	free(x->store);
	free(x);
}

/* Run `haprov <cmd> inv.yml [--opt val ...]` with phases; exit code. */
static int run_cmd(struct fx *x, const char *cmd,
		   const struct hp_phase *phases, size_t nr, ...)
{
	struct hp_cmd_ctx ctx;
	struct hp_apply_seam seam = {phases, nr, prepare, x};
	const char *name;
	char *argv[2] = {x->inv_path, NULL};
	va_list ap;
	int i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = hp_cmd_find(cmd);
	assert_non_null(ctx.cmd);
	ctx.inv = x->inv;
	ctx.argc = 1;
	ctx.argv = argv;
	va_start(ap, nr);
	while ((name = va_arg(ap, const char *))) {
		const char *val = va_arg(ap, const char *);

		for (i = 0; ctx.cmd->opts[i].name; i++)
			if (!strcmp(ctx.cmd->opts[i].name, name))
				break;
		assert_non_null(ctx.cmd->opts[i].name);
		ctx.optval[i] = val;
	}
	va_end(ap);
	return hp_apply_main_seam(&ctx,
				  !strcmp(cmd, "plan")	   ? HP_MODE_PLAN
				  : !strcmp(cmd, "apply") ? HP_MODE_APPLY
							  : HP_MODE_ROLLBACK,
				  &seam);
}

static inline const char *host_file(struct fx *x, const char *path)
{
	const struct hp_fake_file *f = hp_fake_file(&x->host, path);

	return f ? f->data : NULL;
}

static inline size_t nr_points(struct fx *x)
{
	struct hp_state *st = NULL;
	struct hp_state_point *pts = NULL;
	struct hp_err err;
	size_t n = 0;

	assert_int_equal(hp_state_open(&st, x->state_dir, &err), 0);
	assert_int_equal(hp_state_history(st, &pts, &n, &err), 0);
	hp_state_points_free(pts, n);
	hp_state_free(st);
	return n;
}

#define END (const char *)NULL

#endif
