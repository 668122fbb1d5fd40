/*
 * haprov rotate INVENTORY ROLE...: a new password for each role, applied,
 * verified (the new one works, the old one is refused), then made the
 * store's current version and pinned by a rollback point "rotate"
 * (phases/rotate.h has the order and the failure paths;
 * docs/architecture.md, "Rotating secrets", why no restart is needed).
 *
 * Every name is resolved before anything is changed or connected to.
 * The store side lives here: stage, promote, and the rollback point.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "cmd.h"
#include "lock.h"
#include "phases.h"
#include "render.h"
#include "rotate_ca_priv.h"
#include "rotate_priv.h"
#include "secret_store.h"
#include "state.h"

/* The run's secret of a bootstrap kind. */
static enum hp_secret_id secret_id(enum hp_rotate_kind kind)
{
	switch (kind) {
	case HP_ROT_SUPERUSER:
		return HP_SECRET_SUPERUSER;
	case HP_ROT_REPLICATION:
		return HP_SECRET_REPLICATION;
	case HP_ROT_REWIND:
		return HP_SECRET_REWIND;
	default:
		return HP_SECRET_RESTAPI;
	}
}

static int store_stage(void *ctx, const struct hp_rotate_target *t,
		       char **value, char sha[65], struct hp_err *err)
{
	const struct hp_rotate_ctx *c = ctx;
	const struct hp_inventory *inv = c->run->inv;
	int len = inv->secrets.password_length > 0
			  ? inv->secrets.password_length
			  : 32;

	return hp_secret_stage(value, sha, inv->secrets.store, t->secret,
			       (size_t)len, err);
}

static int store_promote(void *ctx, const struct hp_rotate_target *t,
			 const char *sha, struct hp_err *err)
{
	const struct hp_rotate_ctx *c = ctx;

	return hp_secret_promote(c->run->inv->secrets.store, t->secret, sha,
				 err);
}

/* An application role's version in the working set's secrets.json (the
 * bootstrap ones are recorded from the run's secrets by the commit). */
static int pin_role(struct hp_rotate_ctx *c, const struct hp_rotate_target *t,
		    struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	json_t *pins = NULL;
	char *value = NULL, sha[65], *text;
	int r;

	if ((r = hp_secret_read_hashed(&value, sha, c->run->inv->secrets.store,
				       t->secret, err)) < 0)
		return r;
	hp_secret_free(value);
	b.max = (size_t)64 * 1024;
	r = hp_state_read(c->run->state, NULL, HP_SECRET_PINS_PATH, &b, err);
	if (r == 0)
		pins = json_loadb(b.buf, b.len, 0, NULL);
	else if (r == HP_ENOTFOUND)
		hp_err_clear(err);
	else
		goto out;
	if (!json_is_object(pins)) {
		json_decref(pins);
		pins = json_object();
	}
	json_object_set_new(pins, t->secret, json_string(sha));
	text = json_dumps(pins, JSON_INDENT(2) | JSON_SORT_KEYS);
	r = hp_state_put(c->run->state, HP_SECRET_PINS_PATH, text,
			 strlen(text), err);
	free(text);
out:
	json_decref(pins);
	hp_buf_release(&b);
	return r;
}

static int store_commit(void *ctx, const struct hp_rotate_target *t,
			struct hp_err *err)
{
	struct hp_rotate_ctx *c = ctx;
	char *detail = xasprintf("password of %s rotated and verified",
				 t->user);
	int r = 0;

	hp_run_record(c->run, NULL, HP_STEP_CHANGED, t->secret, detail, NULL,
		      hp_now_ms());
	free(detail);
	if (t->kind == HP_ROT_APP)
		r = pin_role(c, t, err);
	if (r == 0)
		r = hp_phase_commit(c->run, "rotate", NULL, "ok", err);
	return r;
}

static const struct hp_rotate_ops real_ops = {
	.prepare = hp_rotate_prepare,
	.stage = store_stage,
	.apply = hp_rotate_apply,
	.verify = hp_rotate_verify,
	.promote = store_promote,
	.commit = store_commit,
};

/* The current password of t (the store's current version); the caller
 * frees it with hp_secret_free. */
static int current_value(const struct hp_run_secrets *sec,
			 const struct hp_inventory *inv,
			 const struct hp_rotate_target *t, char **out,
			 struct hp_err *err)
{
	if (t->kind == HP_ROT_APP)
		return hp_secret_read(out, inv->secrets.store, t->secret, err);
	if (!sec->val[secret_id(t->kind)])
		return hp_err_set(err, HP_ENOTFOUND,
				  "secret '%s' is not in the store",
				  t->secret);
	*out = xstrdup(sec->val[secret_id(t->kind)]);
	return 0;
}

static int rotate_all(struct hp_run *run, struct hp_run_secrets *sec,
		      const struct hp_rotate_target *t, size_t nr,
		      enum hp_rotate_outcome *outcome, struct hp_err *err)
{
	struct hp_rotate_ctx c;
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	c.run = run;
	c.login = hp_pg_login;
	if ((r = hp_run_rest_init(run, &c.rest, 5000, err)) < 0)
		return r;
	run->phase = "rotate";
	for (i = 0; i < nr && r == 0; i++) {
		char *old = NULL;
		int64_t t0 = hp_now_ms();

		if ((r = current_value(sec, run->inv, &t[i], &old, err)) < 0)
			break;
		fprintf(stderr, "== rotate %s (%s)\n", t[i].secret, t[i].user);
		r = hp_rotate_one(&real_ops, &c, &t[i], old, outcome, err);
		hp_secret_free(old);
		if (r == 0)
			fprintf(stderr, "rotate %s: done in %.1f s\n",
				t[i].secret, (double)(hp_now_ms() - t0) / 1000);
	}
	/* the render view may point into c: done with it first */
	run->secrets = NULL;
	hp_rotate_ctx_release(&c);
	hp_rest_release(&c.rest);
	return r;
}

/* The rollback point records which inventory it was made with. */
static void inventory_hash(struct hp_run *run, const char *path)
{
	struct hp_buf text = HP_BUF_INIT;
	struct hp_err err;

	if (hp_buf_read_file(&text, path, &err) == 0)
		hp_sha256_hex(text.buf, text.len, run->inventory_sha256);
	hp_buf_release(&text);
}

int hp_cmd_rotate(struct hp_cmd_ctx *ctx)
{
	const struct hp_inventory *inv = ctx->inv;
	size_t nr = (size_t)ctx->argc - 1;
	struct hp_rotate_target *t = xcalloc(nr + 1, sizeof(*t));
	bool ca = hp_cmd_flag(ctx, "ca");
	struct hp_run_opts opts;
	struct hp_run_secrets sec;
	struct hp_lock *lock = NULL;
	struct hp_state *state = NULL;
	struct hp_run run;
	struct hp_err err;
	enum hp_rotate_outcome outcome = HP_ROT_UNCHANGED;
	bool run_started = false;
	int r;

	hp_err_clear(&err);
	memset(&sec, 0, sizeof(sec));
	memset(&opts, 0, sizeof(opts));
	opts.accept_new_host_keys = hp_cmd_flag(ctx, "accept-new-host-keys");
	if (ca != (nr == 0)) {
		r = hp_err_set(&err, HP_EINVALID,
			       ca ? "rotate --ca takes no role names"
				  : "rotate: name a ROLE, or --ca");
		goto out;
	}
	if (!ca &&
	    (r = hp_rotate_resolve(inv, ctx->argv + 1, nr, t, &err)) < 0)
		goto out;
	hp_signals_install();
	if ((r = hp_lock_acquire(&lock, inv->state_dir, "rotate", &err)) < 0 ||
	    (r = hp_state_open(&state, inv->state_dir, &err)) < 0)
		goto out;
	hp_run_init(&run, inv, &opts);
	run_started = true;
	run.state = state;
	inventory_hash(&run, ctx->argv[0]);
	fprintf(stderr, "haprov rotate: cluster %s, run %s\n", inv->cluster,
		run.run_id);
	if (hp_run_connect(&run, &err)) {
		r = HP_ECONNECT;
		goto out;
	}
	if (ca) {
		r = hp_cmd_rotate_ca(&run, &err);
		goto out;
	}
	/* a rollback point exists: a missing secret is never generated */
	if ((r = hp_run_secrets_load(&sec, &run, true, &err)) < 0)
		goto out;
	run.secrets = &sec.rs;
	run.restapi_user = inv->secrets.restapi_user;
	run.restapi_password = sec.val[HP_SECRET_RESTAPI];
	r = rotate_all(&run, &sec, t, nr, &outcome, &err);
out:
	if (r < 0)
		fprintf(stderr, "haprov: %s\n", err.msg);
	if (run_started)
		hp_run_release(&run);
	hp_run_secrets_release(&sec);
	hp_state_free(state);
	hp_lock_release(lock);
	free(t);
	if (r == 0)
		return HP_EXIT_OK;
	if (outcome == HP_ROT_PUT_BACK)
		return HP_EXIT_ROLLED_BACK;
	if (outcome == HP_ROT_STUCK)
		return HP_EXIT_ROLLBACK_FAILED;
	r = r == HP_EINTR ? HP_EXIT_INTERRUPTED : hp_exit_for_error(r);
	return r == HP_EXIT_OK ? HP_EXIT_ERROR : r;
}
