/*
 * The plan/apply driver: options, lock, secrets, host sessions, then each
 * phase in order: converge, verify, commit a rollback point.
 */
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "engine.h"
#include "lock.h"
#include "phases.h"
#include "render.h"
#include "secrets.h"
#include "state.h"

struct secrets_set {
	char *superuser, *replication, *rewind, *restapi;
	struct hp_render_secrets rs;
};

static void secrets_release(struct secrets_set *s)
{
	hp_secret_free(s->superuser);
	hp_secret_free(s->replication);
	hp_secret_free(s->rewind);
	hp_secret_free(s->restapi);
	memset(s, 0, sizeof(*s));
}

/* The bootstrap credentials, generated in the store the first time. */
static int secrets_load(struct secrets_set *s, const struct hp_inventory *inv,
			struct hp_err *err)
{
	const char *store = inv->secrets.store;
	size_t len = (size_t)inv->secrets.password_length;
	int r;

	memset(s, 0, sizeof(*s));
	if ((r = hp_secret_get(&s->superuser, store, "superuser", len, err)) ||
	    (r = hp_secret_get(&s->replication, store, "replication", len,
			       err)) ||
	    (r = hp_secret_get(&s->rewind, store, "rewind", len, err)) ||
	    (r = hp_secret_get(&s->restapi, store, "restapi", len, err)))
		return r;
	s->rs.superuser = s->superuser;
	s->rs.replication = s->replication;
	s->rs.rewind = s->rewind;
	s->rs.restapi = s->restapi;
	return 0;
}

/* Check a comma list against a lookup; print the first unknown name. */
static bool check_names(const char *list, const char *what,
			bool (*known)(const struct hp_inventory *, const char *),
			const struct hp_inventory *inv)
{
	char *copy, *save = NULL, *s;
	bool ok = true;

	if (!list)
		return true;
	copy = xstrdup(list);
	for (s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save))
		if (!known(inv, s)) {
			fprintf(stderr, "haprov: unknown %s '%s'\n", what, s);
			ok = false;
		}
	free(copy);
	return ok;
}

static bool known_phase(const struct hp_inventory *inv, const char *s)
{
	(void)inv;
	return hp_phase_find(s) != NULL;
}

static bool known_host(const struct hp_inventory *inv, const char *s)
{
	return hp_inventory_host(inv, s) != NULL;
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

static int print_plan(struct hp_run *run)
{
	size_t i, changes = 0;

	for (i = 0; i < run->nr_results; i++) {
		const struct hp_step_result *r = &run->results[i];

		if (r->status != HP_STEP_CHANGED)
			continue;
		if (!changes++)
			printf("changes:\n");
		printf("  %-8s %-8s %s%s%s\n", r->phase, r->host[0] ? r->host : "-",
		       r->step, r->detail ? ": " : "",
		       r->detail ? r->detail : "");
		if (r->diff) {
			const char *p = r->diff;

			while (*p) {
				size_t len = strcspn(p, "\n");

				printf("      %.*s\n", (int)len, p);
				p += len;
				if (*p)
					p++;
			}
		}
	}
	if (!changes)
		printf("no changes: the cluster matches the inventory\n");
	else
		printf("%zu change%s\n", changes, changes == 1 ? "" : "s");
	return changes ? HP_EXIT_CHANGES : HP_EXIT_OK;
}

/* Patroni's current dynamic config, for the state repository. */
static json_t *fetch_dcs(struct hp_run *run)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest rest;
	struct hp_rest_resp resp;
	struct hp_err err;
	json_t *out = NULL;
	char *leader;

	if (hp_run_rest_init(run, &rest, 3000, &err) < 0)
		return NULL;
	hp_rest_resp_init(&resp);
	if (hp_patroni_leader(run, &rest, &leader, NULL, &err) == 0 &&
	    leader) {
		char *url = hp_url(hp_inventory_host(inv, leader),
			     inv->patroni.restapi_port, "/config");
		if (hp_rest_call(&rest, "GET", url, NULL, &resp, &err) == 0 &&
		    resp.status == 200 && resp.json) {
			out = resp.json;
			json_incref(out);
		}
		free(url);
	}
	free(leader);
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	return out;
}

/* Commit the phase's state (errors are reported, not fatal: the hosts are
 * what matters, and the next run records them again). */
static void commit_phase(struct hp_run *run, const char *phase,
			 const char *result)
{
	struct hp_err cerr;
	json_t *dcs = NULL;

	if (run->opts.plan || !run->state)
		return;
	if (!strcmp(phase, "patroni") || !strcmp(phase, "rollback"))
		dcs = fetch_dcs(run);
	hp_err_clear(&cerr);
	if (hp_phase_commit(run, phase, dcs, result, &cerr) < 0)
		fprintf(stderr, "haprov: state repository: %s\n", cerr.msg);
	json_decref(dcs);
}

/* Converge, verify (not in plan mode), record a rollback point. */
static int run_phase(struct hp_run *run, const struct hp_phase *ph,
		     struct hp_err *err)
{
	int r;
	size_t k;

	run->phase = ph->name;
	for (k = 0; k < run->nr_hosts; k++)
		hp_hostrun_phase_reset(&run->hosts[k]);
	fprintf(stderr, "== phase %s\n", ph->name);
	r = ph->converge(run, err);
	if (r < 0) {
		for (k = 0; k < run->nr_hosts; k++)
			if (run->hosts[k].failed)
				fprintf(stderr, "haprov: %s: %s: %s\n",
					ph->name, run->hosts[k].host->name,
					run->hosts[k].err.msg);
	} else if (!run->opts.plan) {
		r = ph->verify(run, err);
	}
	commit_phase(run, ph->name, r < 0 ? "failed" : "ok");
	hp_run_phase_summary(run, ph->name);
	return r;
}

/* The recorded DCS settings at point (new reference), or NULL. */
static json_t *point_dcs(struct hp_run *run, const char *point)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err e;
	json_t *j = NULL;

	if (hp_state_read(run->state, point, "patroni/dcs.json", &b, &e) == 0)
		j = json_loadb(b.buf, b.len, 0, NULL);
	hp_buf_release(&b);
	return j;
}

/* Bring the phase's files and (patroni) DCS settings back to point, in
 * the same staged order, and verify. */
static int restore_phase(struct hp_run *run, const struct hp_phase *ph,
			 const char *point, struct hp_err *err)
{
	size_t k;
	int r;

	for (k = 0; k < run->nr_hosts; k++) {
		run->hosts[k].failed = false;
		hp_err_clear(&run->hosts[k].err);
		hp_hostrun_phase_reset(&run->hosts[k]);
	}
	run->restore_point = point;
	json_decref(run->dcs_want);
	run->dcs_want = strcmp(ph->name, "patroni") ? NULL
						   : point_dcs(run, point);
	run->phase = "rollback";
	fprintf(stderr, "== rollback %s to %.12s\n", ph->name, point);
	hp_err_clear(err);
	r = ph->converge(run, err);
	if (r == 0)
		r = ph->verify(run, err);
	run->restore_point = NULL;
	json_decref(run->dcs_want);
	run->dcs_want = NULL;
	return r;
}

static int rollback_phase(struct hp_run *run, const struct hp_phase *ph,
			  const char *before, struct hp_err *err)
{
	int r;

	fprintf(stderr, "haprov: rolling back phase %s to the state before "
			"this run (%.12s)\n",
		ph->name, before);
	r = restore_phase(run, ph, before, err);
	commit_phase(run, "rollback", r < 0 ? "rollback-failed"
					    : "rolled-back");
	hp_run_phase_summary(run, "rollback");
	if (r < 0) {
		fprintf(stderr,
			"haprov: ROLLBACK FAILED: %s\nhaprov: the cluster "
			"needs a human; its state now (haprov status):\n",
			err->msg);
		return HP_EXIT_ROLLBACK_FAILED;
	}
	fprintf(stderr, "haprov: phase %s failed and was rolled back; the "
			"cluster verifies healthy with its previous "
			"settings\n",
		ph->name);
	return HP_EXIT_ROLLED_BACK;
}

/* The run id in a commit body's "Run: <id>" trailer, or "". */
static void body_run_id(const char *body, char *out, size_t len)
{
	const char *p = strstr(body, "\nRun: ");

	if (!p && !strncmp(body, "Run: ", 5))
		p = body - 1;
	out[0] = '\0';
	if (p) {
		size_t n = strcspn(p + 6, "\n");

		if (n >= len)
			n = len - 1;
		memcpy(out, p + 6, n);
		out[n] = '\0';
	}
}

/*
 * The default rollback target: the state before the last apply, i.e. the
 * parent of the oldest rollback point the newest run made.
 */
static int default_target(struct hp_state *state, char out[41],
			  struct hp_err *err)
{
	struct hp_state_point *pts = NULL;
	char newest[64], id[64];
	size_t n = 0, i;
	int r;

	if ((r = hp_state_history(state, &pts, &n, err)) < 0)
		return r;
	if (!n) {
		hp_state_points_free(pts, n);
		return hp_err_set(err, HP_ENOTFOUND, "no rollback points yet");
	}
	body_run_id(pts[0].body, newest, sizeof(newest));
	hp_strlcpy(out, pts[0].parent, 41);
	for (i = 0; i < n; i++) {
		body_run_id(pts[i].body, id, sizeof(id));
		if (strcmp(id, newest) != 0)
			break;
		hp_strlcpy(out, pts[i].parent, 41);
	}
	hp_state_points_free(pts, n);
	if (!out[0])
		return hp_err_set(err, HP_ENOTFOUND,
				  "the last apply has no earlier state");
	return 0;
}

/* haprov rollback: every phase back to a point, staged, verified. */
static int rollback_all(struct hp_run *run, struct hp_cmd_ctx *ctx,
			struct hp_err *err)
{
	const char *to = hp_cmd_opt(ctx, "to");
	char target[41];
	size_t i;
	int r = 0;

	if (to)
		r = hp_state_resolve(run->state, to, target, err);
	else
		r = default_target(run->state, target, err);
	if (r < 0) {
		fprintf(stderr, "haprov: rollback: %s\n", err->msg);
		return HP_EXIT_ERROR;
	}
	fprintf(stderr, "haprov: rolling back to %.12s%s%s\n", target,
		to ? " = " : " (the state before the last apply)",
		to ? to : "");
	for (i = 0; i < hp_phases_nr && r == 0; i++)
		r = restore_phase(run, &hp_phases[i], target, err);
	commit_phase(run, "rollback", r < 0 ? "rollback-failed"
					    : "rolled-back");
	hp_run_phase_summary(run, "rollback");
	if (r < 0) {
		fprintf(stderr, "haprov: ROLLBACK FAILED: %s\n", err->msg);
		return r == HP_EINTR ? HP_EXIT_INTERRUPTED
				     : HP_EXIT_ROLLBACK_FAILED;
	}
	fprintf(stderr, "haprov: rolled back to %.12s and verified\n",
		target);
	return HP_EXIT_OK;
}

int hp_apply_main(struct hp_cmd_ctx *ctx, enum hp_mode mode)
{
	bool plan = mode == HP_MODE_PLAN;
	const struct hp_inventory *inv = ctx->inv;
	struct hp_run_opts opts;
	struct hp_run run;
	struct hp_lock *lock = NULL;
	struct hp_state *state = NULL;
	struct secrets_set sec;
	struct hp_err err;
	struct hp_buf invtext = HP_BUF_INIT;
	const char *par = hp_cmd_opt(ctx, "parallel");
	bool run_started = false;
	int rc = HP_EXIT_OK, r;
	size_t i;

	hp_err_clear(&err);
	memset(&sec, 0, sizeof(sec));
	memset(&opts, 0, sizeof(opts));
	opts.plan = plan;
	opts.json = hp_cmd_flag(ctx, "json");
	opts.accept_new_host_keys = hp_cmd_flag(ctx, "accept-new-host-keys");
	opts.no_rollback = hp_cmd_flag(ctx, "no-rollback");
	opts.phases = hp_cmd_opt(ctx, "phase");
	opts.hosts = hp_cmd_opt(ctx, "host");
	if (par) {
		char *end;
		long v = strtol(par, &end, 10);

		if (*end || v < 1 || v > 256) {
			fprintf(stderr, "haprov: --parallel: expected a number "
					"from 1 to 256, got '%s'\n", par);
			return HP_EXIT_USAGE;
		}
		opts.parallel = (int)v;
	}
	if (!check_names(opts.phases, "phase", known_phase, inv) ||
	    !check_names(opts.hosts, "host", known_host, inv))
		return HP_EXIT_USAGE;
	hp_signals_install();

	if (!plan) {
		if ((r = hp_lock_acquire(&lock, inv->state_dir, "apply",
					 &err)) < 0)
			goto fail;
		if ((r = hp_state_open(&state, inv->state_dir, &err)) < 0)
			goto fail;
	}
	if ((r = secrets_load(&sec, inv, &err)) < 0)
		goto fail;

	hp_run_init(&run, inv, &opts);
	run_started = true;
	run.state = state;
	run.secrets = &sec.rs;
	run.restapi_user = inv->secrets.restapi_user;
	run.restapi_password = sec.restapi;
	if (hp_buf_read_file(&invtext, ctx->argv[0], &err) == 0)
		hp_sha256_hex(invtext.buf, invtext.len, run.inventory_sha256);
	hp_buf_release(&invtext);

	fprintf(stderr, "haprov %s: cluster %s, %zu hosts, run %s\n",
		plan ? "plan" : mode == HP_MODE_ROLLBACK ? "rollback" : "apply",
		inv->cluster, inv->nr_hosts,
		run.run_id);
	if (hp_run_connect(&run, &err)) {
		for (i = 0; i < run.nr_hosts; i++)
			if (run.hosts[i].failed)
				fprintf(stderr, "haprov: %s: %s\n",
					run.hosts[i].host->name,
					run.hosts[i].err.msg);
		fprintf(stderr, "haprov: %s; nothing was changed\n", err.msg);
		rc = HP_EXIT_ERROR;
		goto out;
	}
	if (mode == HP_MODE_ROLLBACK) {
		rc = rollback_all(&run, ctx, &err);
		goto out;
	}
	for (i = 0; i < hp_phases_nr; i++) {
		const struct hp_phase *ph = &hp_phases[i];
		char before[41] = "";

		if (!phase_selected(opts.phases, ph->name))
			continue;
		if (hp_interrupted()) {
			r = hp_err_set(&err, HP_EINTR, "interrupted");
			goto fail;
		}
		if (state)
			(void)hp_state_head(state, before, &err);
		hp_err_clear(&err);
		r = run_phase(&run, ph, &err);
		if (r == 0)
			continue;
		if (r == HP_EINTR || hp_interrupted()) {
			r = HP_EINTR;
			goto fail;
		}
		if (plan)
			goto fail;
		fprintf(stderr, "haprov: phase %s failed: %s\n", ph->name,
			err.msg);
		if (!hp_run_count(&run, ph->name, HP_STEP_CHANGED)) {
			/* nothing was changed: nothing to roll back */
			rc = r == HP_EVERIFY ? HP_EXIT_VERIFY_FAILED
					     : HP_EXIT_ERROR;
			goto out;
		}
		if (opts.no_rollback) {
			fprintf(stderr, "haprov: --no-rollback: the cluster is "
					"left as it is for inspection\n");
			rc = HP_EXIT_VERIFY_FAILED;
			goto out;
		}
		if (!before[0]) {
			fprintf(stderr, "haprov: no earlier rollback point to "
					"restore (first apply); needs a "
					"human\n");
			rc = HP_EXIT_ROLLBACK_FAILED;
			goto out;
		}
		rc = rollback_phase(&run, ph, before, &err);
		goto out;
	}
	if (plan)
		rc = opts.json ? (hp_run_count(&run, NULL, HP_STEP_CHANGED)
					  ? HP_EXIT_CHANGES
					  : HP_EXIT_OK)
			       : print_plan(&run);
	else
		fprintf(stderr, "haprov: apply done in %.1fs: %zu changed\n",
			(double)(hp_now_ms() - run.t0) / 1000.0,
			hp_run_count(&run, NULL, HP_STEP_CHANGED));
	goto out;
fail:
	if (r == HP_EINTR) {
		fprintf(stderr, "haprov: interrupted; no file is half-written "
				"and the lock is released\n");
		rc = HP_EXIT_INTERRUPTED;
	} else {
		fprintf(stderr, "haprov: %s%s%s\n", err.host[0] ? err.host : "",
			err.host[0] ? ": " : "", err.msg);
		rc = hp_exit_for_error(r);
		if (rc == HP_EXIT_OK)
			rc = HP_EXIT_ERROR;
	}
out:
	if (run_started) {
		if (opts.json) {
			json_t *doc = hp_run_json(&run);

			json_object_set_new(doc, "exit_code", json_integer(rc));
			json_dumpf(doc, stdout, JSON_INDENT(2));
			fputc('\n', stdout);
			json_decref(doc);
		}
		json_decref(run.dcs_want);
		hp_run_release(&run);
	}
	secrets_release(&sec);
	hp_state_free(state);
	hp_lock_release(lock);
	return rc;
}
