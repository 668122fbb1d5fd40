/*
 * The plan/apply driver: options, lock, host sessions, secrets, then each
 * phase in order: converge, verify (always, also when nothing changed),
 * commit a rollback point when something changed, and roll a failed phase
 * back (apply_rollback.c).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "apply_priv.h"
#include "bootstrap.h"
#include "engine.h"
#include "lock.h"
#include "phases.h"
#include "progress_view.h"
#include "remove.h"
#include "render.h"
#include "state.h"
#include "tls_migrate.h"

/* Check a comma list against a lookup; print the first unknown name. */
/* The phases the driver runs. */
struct phase_table {
	const struct hp_phase *v;
	size_t nr;
};

static const struct hp_phase *table_find(const struct phase_table *t,
					 const char *name)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		if (!strcmp(t->v[i].name, name))
			return &t->v[i];
	return NULL;
}

/* Check a comma list against a lookup; print every unknown name. */
static bool check_names(const char *list, const char *what,
			bool (*known)(const void *, const char *),
			const void *arg)
{
	char *copy, *save = NULL, *s;
	bool ok = true;

	if (!list)
		return true;
	copy = xstrdup(list);
	for (s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save))
		if (!known(arg, s)) {
			fprintf(stderr, "haprov: unknown %s '%s'\n", what, s);
			ok = false;
		}
	free(copy);
	return ok;
}

static bool known_phase(const void *arg, const char *s)
{
	return table_find(arg, s) != NULL;
}

static bool known_host(const void *arg, const char *s)
{
	return hp_inventory_host(arg, s) != NULL;
}

static bool phase_selected(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	if (!list)
		return true;
	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

void hp_apply_say(const char *prefix, const char *msg)
{
	char *m = hp_printable_dup(msg, 2000);

	fprintf(stderr, "haprov: %s%s%s\n", prefix ? prefix : "",
		prefix ? ": " : "", m);
	free(m);
}

/* Print text line by line, indented, each line made printable: a diff
 * shows the host's file, which anyone with write access there wrote. */
static void print_lines(const char *indent, const char *text)
{
	const char *p = text;

	while (*p) {
		size_t len = strcspn(p, "\n");
		struct hp_buf b = HP_BUF_INIT;

		hp_buf_add_printable(&b, p, len, 4000);
		printf("%s%s\n", indent, b.buf);
		hp_buf_release(&b);
		p += len;
		if (*p)
			p++;
	}
}

static int print_plan(struct hp_run *run)
{
	size_t i, changes = 0;

	for (i = 0; i < run->nr_results; i++) {
		const struct hp_step_result *r = &run->results[i];
		char *line;

		if (r->status != HP_STEP_CHANGED)
			continue;
		if (!changes++)
			printf("changes:\n");
		line = xasprintf("%-8s %-8s %s%s%s", r->phase,
				 r->host[0] ? r->host : "-", r->step,
				 r->detail ? ": " : "",
				 r->detail ? r->detail : "");
		print_lines("  ", line);
		free(line);
		if (r->diff)
			print_lines("      ", r->diff);
	}
	if (!changes)
		printf("no changes: the cluster matches the inventory\n");
	else
		printf("%zu change%s\n", changes, changes == 1 ? "" : "s");
	return changes ? HP_EXIT_CHANGES : HP_EXIT_OK;
}

/* Add phase q's snapshot to all ({snapshot_path: json}); one that cannot
 * be taken is left out (the next commit records it). */
static void add_snapshot(struct hp_run *run, const struct hp_phase *q,
			 json_t *all)
{
	struct hp_err e;
	json_t *v = NULL;

	if (!q || !q->snapshot || !q->snapshot_path ||
	    json_object_get(all, q->snapshot_path))
		return;
	hp_err_clear(&e);
	if (q->snapshot(run, &v, &e) < 0)
		hp_apply_say(q->name, e.msg);
	else if (v)
		json_object_set_new(all, q->snapshot_path, v);
}

/* What the point of phase ph records beside its files: its snapshot, and
 * the DCS (the snapshot of the phase owning the rest of it) when ph owns
 * DCS keys; ph NULL (a rollback): every phase's. */
static json_t *snapshots(struct hp_run *run, const struct hp_phase *ph)
{
	json_t *all = json_object();

	if (!ph) {
		size_t i;

		for (i = 0; i < run->phase_table_nr; i++)
			add_snapshot(run, &run->phase_table[i], all);
		return all;
	}
	add_snapshot(run, ph, all);
	if (ph->dcs_params)
		add_snapshot(run, hp_phase_dcs_owner(run->phase_table,
						     run->phase_table_nr),
			     all);
	return all;
}

void hp_apply_commit(struct hp_run *run, const struct hp_phase *ph,
		     const char *name, const char *result)
{
	struct hp_err cerr;
	json_t *snap;

	/* a rollback point only where something changed */
	if (run->opts.plan || !run->state ||
	    !hp_run_count(run, name, HP_STEP_CHANGED))
		return;
	snap = snapshots(run, ph);
	hp_err_clear(&cerr);
	if (hp_phase_commit(run, name, snap, result, &cerr) < 0)
		hp_apply_say("state repository", cerr.msg);
	json_decref(snap);
}

/* Converge, then verify: always, also when converge changed nothing (a
 * cluster can drift or break without any file changing); not in plan
 * mode. Then record a rollback point. */
static int run_phase(struct hp_run *run, const struct hp_phase *ph,
		     struct hp_err *err)
{
	int r;
	size_t k;

	run->phase = ph->name;
	run->phase_entry = ph;
	if (run->view) {
		/* the live view: a host the phase does not act on says so */
		bool *in = xcalloc(run->nr_hosts + 1, sizeof(*in));

		for (k = 0; k < run->nr_hosts; k++)
			in[k] = !ph->role ||
				(run->hosts[k].host->roles & ph->role);
		hp_view_phase(run->view, ph->name, in);
		free(in);
	}
	for (k = 0; k < run->nr_hosts; k++)
		hp_hostrun_phase_reset(&run->hosts[k]);
	/* a plan's phases say nothing unless something differs (-v: all) */
	if (!run->opts.plan || hp_run_verbose())
		fprintf(stderr, "== phase %s\n", ph->name);
	r = ph->converge(run, err);
	if (r < 0) {
		for (k = 0; k < run->nr_hosts; k++)
			if (run->hosts[k].failed) {
				char *what = xasprintf(
					"%s: %s", ph->name,
					run->hosts[k].host->name);

				hp_apply_say(what, run->hosts[k].err.msg);
				free(what);
			}
	} else if (!run->opts.plan) {
		r = ph->verify(run, err);
	}
	hp_apply_commit(run, ph, ph->name, r < 0 ? "failed" : "ok");
	hp_run_phase_summary(run, ph->name);
	return r;
}

/* A phase failed (r < 0): the decision. Returns an enum hp_exit. */
static int phase_failed(struct hp_run *run, const struct hp_phase *ph,
			const char *before, int r, struct hp_err *err)
{
	char *what = xasprintf("phase %s failed", ph->name);

	hp_view_stop(run->view);
	run->view = NULL;
	hp_run_recap(run);
	hp_apply_say(what, err->msg);
	free(what);
	if (!hp_run_count(run, ph->name, HP_STEP_CHANGED))
		/* nothing was changed: nothing to roll back */
		return r == HP_EVERIFY ? HP_EXIT_VERIFY_FAILED : HP_EXIT_ERROR;
	if (run->opts.no_rollback) {
		fprintf(stderr, "haprov: --no-rollback: the cluster is left as "
				"it is for inspection\n");
		return HP_EXIT_VERIFY_FAILED;
	}
	if (!before[0]) {
		fprintf(stderr, "haprov: no earlier rollback point to restore "
				"(first apply); needs a human\n");
		return HP_EXIT_ROLLBACK_FAILED;
	}
	return hp_apply_rollback_phase(run, ph, before, err);
}

/* On a terminal (and not --json, whose stdout a reader parses while
 * stderr stays a log): one line per host redrawn in place below the
 * lines that scroll. HAPROV_NO_LIVE=1 turns it off. */
static void start_view(struct hp_run *run)
{
	const char *off = getenv("HAPROV_NO_LIVE"); // NOLINT(concurrency-mt-unsafe)
	const char **names;
	size_t i;

	if (run->opts.json || isatty(2) != 1 || (off && *off) ||
	    !run->nr_hosts)
		return;
	names = xcalloc(run->nr_hosts, sizeof(*names));
	for (i = 0; i < run->nr_hosts; i++)
		names[i] = run->hosts[i].host->name;
	run->view = hp_view_start(names, run->nr_hosts, hp_color());
	free(names);
}

/* apply and plan: each selected phase in order. Returns an enum hp_exit,
 * or -1 with r in *rp for the caller's error path. */
static int run_phases(struct hp_run *run, const struct phase_table *t,
		      int *rp, struct hp_err *err)
{
	size_t i;
	int r;

	for (i = 0; i < t->nr; i++) {
		const struct hp_phase *ph = &t->v[i];
		char before[41] = "";

		if (!phase_selected(run->opts.phases, ph->name))
			continue;
		if (hp_interrupted()) {
			*rp = hp_err_set(err, HP_EINTR, "interrupted");
			return -1;
		}
		if (run->state)
			(void)hp_state_head(run->state, before, err);
		hp_err_clear(err);
		r = run_phase(run, ph, err);
		if (r == 0)
			continue;
		if (r == HP_EINTR || hp_interrupted()) {
			*rp = HP_EINTR;
			return -1;
		}
		if (run->opts.plan) {
			*rp = r;
			return -1;
		}
		return phase_failed(run, ph, before, r, err);
	}
	/* every phase passed: etcd's leader off Patroni's leader's host
	 * (phases/etcd_leader.c), when the run covers the whole cluster; a
	 * failure is reported, the converged cluster stands */
	if (table_find(t, "etcd") && !run->opts.hosts &&
	    (phase_selected(run->opts.phases, "etcd") ||
	     phase_selected(run->opts.phases, "patroni")) &&
	    (r = hp_etcd_leader_away(run, err)) < 0) {
		if (r == HP_EINTR || hp_interrupted()) {
			*rp = HP_EINTR;
			return -1;
		}
		hp_apply_say("etcd-leader", err->msg);
	}
	/* the plan's changes go to stdout: the live view ends first */
	hp_view_stop(run->view);
	run->view = NULL;
	hp_run_recap(run);
	if (run->opts.plan)
		return run->opts.json ? (hp_run_count(run, NULL, HP_STEP_CHANGED)
						 ? HP_EXIT_CHANGES
						 : HP_EXIT_OK)
				      : print_plan(run);
	fprintf(stderr, "haprov: apply done in %.1fs: %zu changed\n",
		(double)(hp_now_ms() - run->t0) / 1000.0,
		hp_run_count(run, NULL, HP_STEP_CHANGED));
	return HP_EXIT_OK;
}

/*
 * After an apply or a rollback: each host that got new backups keeps only
 * the newest backups.keep runs' (and the protected ones). A failure here
 * is a warning: the run itself succeeded or failed already.
 */
static void prune_backups(struct hp_run *run)
{
	char ids[2][64];
	const char *protect[2];
	size_t n, i;

	if (run->opts.plan)
		return;
	n = hp_apply_protected_runs(run->state, ids, HP_ARRAY_SIZE(ids));
	for (i = 0; i < n; i++)
		protect[i] = ids[i];
	for (i = 0; i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];
		struct hp_err e;

		if (!h->made_backups || !h->tr.ops)
			continue;
		hp_err_clear(&e);
		if (hp_backups_prune(h, run->inv->backups.keep, protect, n,
				     &e) < 0)
			hp_warn("%s: cannot prune old backups: %s",
				h->host->name, e.msg);
	}
}

/* The run's options from the command line; HP_EXIT_USAGE on a bad one. */
static int parse_opts(struct hp_run_opts *opts, struct hp_cmd_ctx *ctx,
		      bool plan, const struct phase_table *t)
{
	const char *par = hp_cmd_opt(ctx, "parallel");

	memset(opts, 0, sizeof(*opts));
	opts->plan = plan;
	opts->json = hp_cmd_flag(ctx, "json");
	opts->accept_new_host_keys = hp_cmd_flag(ctx, "accept-new-host-keys");
	opts->no_rollback = hp_cmd_flag(ctx, "no-rollback");
	opts->allow_remove = hp_cmd_flag(ctx, "allow-remove");
	opts->phases = hp_cmd_opt(ctx, "phase");
	opts->hosts = hp_cmd_opt(ctx, "host");
	if (par) {
		char *end;
		long v = strtol(par, &end, 10);

		if (*end || v < 1 || v > 256) {
			fprintf(stderr, "haprov: --parallel: expected a number "
					"from 1 to 256, got '%s'\n",
				par);
			return HP_EXIT_USAGE;
		}
		opts->parallel = (int)v;
	}
	if (!check_names(opts->phases, "phase", known_phase, t) ||
	    !check_names(opts->hosts, "host", known_host, ctx->inv))
		return HP_EXIT_USAGE;
	return 0;
}

/*
 * The state repository: apply and rollback hold the lock and open it
 * (creating it the first time); plan only looks, and creates nothing.
 */
static int open_state(struct hp_lock **lock, struct hp_state **state,
		      bool *commits, const struct hp_inventory *inv,
		      enum hp_mode mode, struct hp_err *err)
{
	char head[41];
	int r;

	*commits = false;
	if (mode == HP_MODE_PLAN)
		return hp_state_peek(inv->state_dir, commits, err);
	if ((r = hp_lock_acquire(lock, inv->state_dir,
				 mode == HP_MODE_ROLLBACK ? "rollback"
							  : "apply",
				 err)) < 0 ||
	    (r = hp_state_open(state, inv->state_dir, err)) < 0)
		return r;
	*commits = hp_state_head(*state, head, err) == 0;
	hp_err_clear(err);
	return 0;
}

/* Connect to every selected host; print each failure. */
static int connect_hosts(struct hp_run *run, struct hp_err *err)
{
	size_t i;

	if (!hp_run_connect(run, err))
		return 0;
	for (i = 0; i < run->nr_hosts; i++)
		if (run->hosts[i].failed)
			hp_apply_say(run->hosts[i].host->name,
				     run->hosts[i].err.msg);
	hp_apply_say(NULL, err->msg);
	fprintf(stderr, "haprov: nothing was changed\n");
	return HP_EXIT_ERROR;
}

static void print_json(struct hp_run *run, int rc)
{
	json_t *doc = hp_run_json(run);

	json_object_set_new(doc, "exit_code", json_integer(rc));
	json_dumpf(doc, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(doc);
}

/* The exit code of an error that ends the run before the phases. */
static int fail_exit(int r, const struct hp_err *err)
{
	int rc;

	if (r == HP_EINTR) {
		fprintf(stderr, "haprov: interrupted; no file is half-written "
				"and the lock is released\n");
		return HP_EXIT_INTERRUPTED;
	}
	hp_apply_say(err->host[0] ? err->host : NULL, err->msg);
	rc = hp_exit_for_error(r);
	return rc == HP_EXIT_OK ? HP_EXIT_ERROR : rc;
}

/* The run over the hosts: set up, the seam's hook, the banner. */
static void start_run(struct hp_run *run, struct hp_cmd_ctx *ctx,
		      const struct hp_run_opts *opts, enum hp_mode mode,
		      struct hp_state *state, const struct phase_table *t,
		      const struct hp_apply_seam *seam)
{
	const struct hp_inventory *inv = ctx->inv;
	struct hp_buf invtext = HP_BUF_INIT;
	struct hp_err err;

	hp_run_init(run, inv, opts);
	run->state = state;
	run->phase_table = t->v;
	run->phase_table_nr = t->nr;
	if (seam && seam->prepare)
		seam->prepare(run, seam->arg);
	if (hp_buf_read_file(&invtext, ctx->argv[0], &err) == 0)
		hp_sha256_hex(invtext.buf, invtext.len, run->inventory_sha256);
	hp_buf_release(&invtext);
	fprintf(stderr, "haprov %s: cluster %s, %zu host%s, run %s\n",
		mode == HP_MODE_PLAN	   ? "plan"
		: mode == HP_MODE_ROLLBACK ? "rollback"
					   : "apply",
		inv->cluster, inv->nr_hosts, inv->nr_hosts == 1 ? "" : "s",
		run->run_id);
}

int hp_apply_main(struct hp_cmd_ctx *ctx, enum hp_mode mode)
{
	return hp_apply_main_seam(ctx, mode, NULL);
}

int hp_apply_main_seam(struct hp_cmd_ctx *ctx, enum hp_mode mode,
		       const struct hp_apply_seam *seam)
{
	bool plan = mode == HP_MODE_PLAN, commits = false;
	const struct hp_inventory *inv = ctx->inv;
	struct phase_table t = { hp_phases, hp_phases_nr };
	struct hp_run_opts opts;
	struct hp_run run;
	struct hp_lock *lock = NULL;
	struct hp_state *state = NULL;
	struct hp_run_secrets sec;
	struct hp_err err;
	bool run_started = false, plain = false, *want = NULL;
	size_t i;
	int rc, r = 0;

	hp_err_clear(&err);
	memset(&sec, 0, sizeof(sec));
	if (seam && seam->phases) {
		t.v = seam->phases;
		t.nr = seam->nr_phases;
	}
	if ((rc = parse_opts(&opts, ctx, plan, &t)) != 0)
		return rc;
	hp_signals_install();
	if ((r = open_state(&lock, &state, &commits, inv, mode, &err)) < 0) {
		rc = fail_exit(r, &err);
		goto out;
	}
	start_run(&run, ctx, &opts, mode, state, &t, seam);
	run_started = true;
	start_view(&run);
	if ((rc = connect_hosts(&run, &err)) != 0)
		goto out;
	/* a plaintext cluster with tls on: the migration runs first */
	if (mode != HP_MODE_ROLLBACK &&
	    (r = hp_tlsm_gate(&run, true, &plain, &err)) < 0) {
		rc = fail_exit(r, &err);
		goto out;
	}
	/* after connecting: whether a missing secret may be generated
	 * depends on what the hosts hold */
	if ((r = hp_run_secrets_load(&sec, &run, commits, &err)) < 0) {
		hp_apply_say(NULL, err.msg);
		rc = r == HP_EINTR ? HP_EXIT_INTERRUPTED : HP_EXIT_ERROR;
		goto out;
	}
	run.secrets = &sec.rs;
	run.restapi_user = inv->secrets.restapi_user;
	run.restapi_password = sec.val[HP_SECRET_RESTAPI];
	if (mode == HP_MODE_ROLLBACK) {
		rc = hp_apply_rollback_to(&run, t.v, t.nr,
					  hp_cmd_opt(ctx, "to"), &err);
		prune_backups(&run);
		goto out;
	}
	if (plain && (r = hp_tlsm_migrate(&run, &err)) < 0) {
		rc = fail_exit(r, &err);
		goto out;
	}
	if (plain && plan) {
		rc = HP_EXIT_CHANGES;
		goto out;
	}
	/* hosts marked remove: true leave before the phases render every
	 * other host's files without them (phases/remove.c) */
	if (!opts.hosts && (r = hp_remove_hosts(&run, &err)) < 0) {
		rc = fail_exit(r, &err);
		goto out;
	}
	/* one facts command per host for every selected phase; the first
	 * packages step a host runs installs ahead for the later ones */
	want = xcalloc(t.nr + 1, sizeof(*want));
	for (i = 0; i < t.nr; i++)
		want[i] = phase_selected(run.opts.phases, t.v[i].name);
	hp_phase_prefetch(&run, t.v, t.nr, want);
	run.phase_want = want;
	rc = run_phases(&run, &t, &r, &err);
	run.phase_want = NULL;
	/* verified: the certificates this apply issued become current */
	if (rc == HP_EXIT_OK &&
	    (r = hp_run_secrets_promote_staged(&sec, &run, &err)) < 0)
		rc = -1;
	if (rc < 0)
		rc = fail_exit(r, &err);
	prune_backups(&run);
out:
	if (run_started) {
		hp_view_stop(run.view);
		run.view = NULL;
		if (opts.json)
			print_json(&run, rc);
		hp_run_release(&run);
	}
	free(want);
	hp_run_secrets_release(&sec);
	hp_state_free(state);
	hp_lock_release(lock);
	return rc;
}
