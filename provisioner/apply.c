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

	if (hp_rest_init(&rest, 3000, &err) < 0)
		return NULL;
	hp_rest_resp_init(&resp);
	leader = hp_patroni_leader(run, &rest, NULL);
	if (leader) {
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

int hp_apply_main(struct hp_cmd_ctx *ctx, bool plan)
{
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
		plan ? "plan" : "apply", inv->cluster, inv->nr_hosts,
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
	for (i = 0; i < hp_phases_nr; i++) {
		const struct hp_phase *ph = &hp_phases[i];
		json_t *dcs = NULL;

		if (!phase_selected(opts.phases, ph->name))
			continue;
		if (hp_interrupted()) {
			r = hp_err_set(&err, HP_EINTR, "interrupted");
			goto fail;
		}
		run.phase = ph->name;
		fprintf(stderr, "== phase %s\n", ph->name);
		r = ph->converge(&run, &err);
		if (r < 0) {
			size_t k;

			for (k = 0; k < run.nr_hosts; k++)
				if (run.hosts[k].failed)
					fprintf(stderr, "haprov: %s: %s: %s\n",
						ph->name,
						run.hosts[k].host->name,
						run.hosts[k].err.msg);
			if (hp_interrupted())
				r = HP_EINTR;
			hp_run_phase_summary(&run, ph->name);
			goto fail;
		}
		if (plan) {
			hp_run_phase_summary(&run, ph->name);
			continue;
		}
		r = ph->verify(&run, &err);
		if (!strcmp(ph->name, "patroni"))
			dcs = fetch_dcs(&run);
		{
			struct hp_err cerr;

			hp_err_clear(&cerr);
			if (hp_phase_commit(&run, ph->name, dcs,
					    r < 0 ? "failed" : "ok",
					    &cerr) < 0)
				fprintf(stderr,
					"haprov: state repository: %s\n",
					cerr.msg);
		}
		json_decref(dcs);
		hp_run_phase_summary(&run, ph->name);
		if (r < 0) {
			fprintf(stderr, "haprov: phase %s: verification "
					"failed: %s\n",
				ph->name, err.msg);
			rc = HP_EXIT_VERIFY_FAILED;
			goto out;
		}
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
		hp_run_release(&run);
	}
	secrets_release(&sec);
	hp_state_free(state);
	hp_lock_release(lock);
	return rc;
}
