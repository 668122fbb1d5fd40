/* A run's secrets: loaded from the store, generated, the render view of
 * them, pins; see bootstrap.h. Which hosts hold them and whether a missing
 * one may be generated: secret_holders.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bootstrap.h"
#include "bootstrap_priv.h"
#include "secret_store.h"
#include "state.h"

static const struct {
	const char *name;
	const char *placeholder; /* what plan renders in its place */
	enum holder holder;
	size_t length;		 /* 0: secrets.password_length */
} defs[HP_SECRET_NR] = {
	[HP_SECRET_SUPERUSER] = {"superuser", "<secret:superuser>",
				 HOLD_PATRONI, 0},
	[HP_SECRET_REPLICATION] = {"replication", "<secret:replication>",
				   HOLD_PATRONI, 0},
	[HP_SECRET_REWIND] = {"rewind", "<secret:rewind>", HOLD_PATRONI, 0},
	[HP_SECRET_RESTAPI] = {"restapi", "<secret:restapi>", HOLD_PATRONI, 0},
	[HP_SECRET_HAPROXY_STATS] = {"haproxy_stats", "<secret:haproxy_stats>",
				     HOLD_HAPROXY, 0},
	/* VRRP version 2's password field is 8 bytes */
	[HP_SECRET_VIP] = {HP_VIP_SECRET, "<secret:" HP_VIP_SECRET ">",
			   HOLD_VIP, 8},
	[HP_SECRET_PGBOUNCER] = {HP_PGB_SECRET, "<secret:" HP_PGB_SECRET ">",
				 HOLD_PGBOUNCER, 0},
};

const char *hp_secret_name(enum hp_secret_id id)
{
	return (unsigned)id < HP_SECRET_NR ? defs[id].name : "?";
}

enum holder hp_secret_holder(enum hp_secret_id id)
{
	return defs[id].holder;
}

/* Generate the missing secrets (apply) or report them (plan). */
static int provide(struct hp_run_secrets *s, struct hp_run *run,
		   const bool *missing, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const char *saved_phase = run->phase;
	int64_t t = hp_now_ms();
	int i, r = 0;

	run->phase = "secrets";
	if (!run->opts.plan &&
	    (r = hp_secret_store_create(inv->secrets.store, err)) < 0)
		goto out;
	for (i = 0; i < HP_SECRET_NR; i++) {
		char *step;

		if (!missing[i])
			continue;
		step = xasprintf("secret %s", defs[i].name);
		if (!run->opts.plan &&
		    (r = hp_secret_create(&s->val[i], inv->secrets.store,
					  defs[i].name,
					  defs[i].length
						  ? defs[i].length
						  : (size_t)inv->secrets
							    .password_length,
					  err)) == 0)
			hp_secret_hash(s->val[i], s->sha256[i]);
		hp_run_record(run, NULL, r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
			      step,
			      r < 0		 ? err->msg
			      : run->opts.plan ? "would be generated (nothing "
						 "uses it yet)"
					       : "generated (nothing uses it "
						 "yet)",
			      NULL, t);
		free(step);
		if (r < 0)
			goto out;
	}
out:
	run->phase = saved_phase;
	return r;
}

static void set_render_view(struct hp_run_secrets *s,
			    const struct hp_inventory *inv)
{
	const char *v[HP_SECRET_NR];
	int i;

	/* a secret the inventory does not use is NULL: nothing renders it,
	 * and hp_secret_mask skips it */
	for (i = 0; i < HP_SECRET_NR; i++)
		v[i] = s->val[i] ? s->val[i]
		       : hp_secret_used((enum hp_secret_id)i, inv)
			       ? defs[i].placeholder
			       : NULL;
	s->rs.superuser = v[HP_SECRET_SUPERUSER];
	s->rs.replication = v[HP_SECRET_REPLICATION];
	s->rs.rewind = v[HP_SECRET_REWIND];
	s->rs.restapi = v[HP_SECRET_RESTAPI];
	s->rs.haproxy_stats = v[HP_SECRET_HAPROXY_STATS];
	s->rs.vip_auth = v[HP_SECRET_VIP];
	s->rs.pgbouncer_auth = v[HP_SECRET_PGBOUNCER];
	s->rs.tls = s->tls.ca_pem ? &s->tls.render : NULL;
}

/* Each certificate the material issued, renewed or took from the
 * inventory, as a step of the secrets phase (plan: a change to come). */
static void record_tls(struct hp_run *run, const struct hp_tls_material *m,
		       int64_t t)
{
	const char *saved_phase = run->phase;
	size_t i;

	run->phase = "secrets";
	for (i = 0; i < m->nr_changes; i++)
		hp_run_record(run, m->changes[i].host[0] ? m->changes[i].host
							 : NULL,
			      HP_STEP_CHANGED, m->changes[i].step,
			      m->changes[i].detail, NULL, t);
	run->phase = saved_phase;
}

/* The run's TLS material (inventory tls on): made, recorded, handed to the
 * render view and to every REST client of the run. pins: a rollback's. */
static int load_tls(struct hp_run_secrets *s, struct hp_run *run,
		    const json_t *pins, struct hp_err *err)
{
	int64_t t = hp_now_ms();
	int r;

	if (!run->inv->tls.enabled)
		return 0;
	if (run->opts.plan && run->inv->tls.insecure_skip_verify)
		fprintf(stderr,
			"haprov: WARNING: tls.insecure_skip_verify is set: "
			"haprov does NOT verify the certificates of etcd, "
			"Patroni and HAProxy (anyone on the network can "
			"impersonate them); use it only during a migration\n");
	r = hp_tls_material_make(&s->tls, run->inv, pins, run->opts.plan,
				 time(NULL), err);
	if (r < 0)
		return r;
	record_tls(run, &s->tls, t);
	s->rest_slot = &run->rest_tls;
	s->rest_prev = run->rest_tls;
	run->rest_tls = &s->tls.rest;
	return 0;
}

/* Read every secret the inventory uses from the store into s; missing[i]:
 * secret i is not there (none is without a store). 1: some are missing. */
static int read_stored(struct hp_run_secrets *s,
		       const struct hp_inventory *inv, bool *missing,
		       struct hp_err *err)
{
	const char *store = inv->secrets.store;
	bool any_missing = false, no_store = false;
	int i, r;

	r = hp_secret_store_check(store, err);
	if (r == HP_ENOTFOUND)
		no_store = true;
	else if (r < 0)
		return r;
	for (i = 0; i < HP_SECRET_NR; i++) {
		missing[i] = false;
		if (!hp_secret_used((enum hp_secret_id)i, inv))
			continue;
		missing[i] = no_store;
		if (!no_store) {
			r = hp_secret_read_hashed(&s->val[i], s->sha256[i],
						  store, defs[i].name, err);
			if (r == HP_ENOTFOUND)
				missing[i] = true;
			else if (r < 0)
				return r;
		}
		any_missing |= missing[i];
	}
	hp_err_clear(err);
	return any_missing;
}

int hp_run_secrets_load(struct hp_run_secrets *s, struct hp_run *run,
			bool state_commits, struct hp_err *err)
{
	const char *store = run->inv->secrets.store;
	bool missing[HP_SECRET_NR];
	int i, r;

	memset(s, 0, sizeof(*s));
	if ((r = read_stored(s, run->inv, missing, err)) < 0)
		return r;
	if (r > 0 &&
	    ((r = hp_secrets_check_missing(run, missing, state_commits,
					   err)) < 0 ||
	     (r = provide(s, run, missing, err)) < 0))
		return r;
	/* a store made before versions: record the values this run uses
	 * (never in plan, which writes nothing) */
	for (i = 0; i < HP_SECRET_NR && !run->opts.plan; i++)
		if (s->val[i] &&
		    (r = hp_secret_keep_version(store, defs[i].name, s->val[i],
						NULL, err)) < 0)
			return r;
	if ((r = load_tls(s, run, NULL, err)) < 0)
		return r;
	set_render_view(s, run->inv);
	return 0;
}

void hp_run_secrets_release(struct hp_run_secrets *s)
{
	int i;

	for (i = 0; i < HP_SECRET_NR; i++)
		hp_secret_free(s->val[i]);
	json_decref(s->pins);
	hp_tls_material_release(&s->tls);
	if (s->rest_slot)
		*s->rest_slot = s->rest_prev;
	memset(s, 0, sizeof(*s));
}

/* ---- pinning -------------------------------------------------------------- */

json_t *hp_run_secrets_pins(const struct hp_run_secrets *s)
{
	json_t *o = json_object();
	int i;

	for (i = 0; i < HP_SECRET_NR; i++)
		if (s->val[i] && s->sha256[i][0])
			json_object_set_new(o, defs[i].name,
					    json_string(s->sha256[i]));
	hp_tls_material_pins(&s->tls, o);
	return o;
}

/* Secret i as the pin set says, or the current one when it says nothing. */
static int load_one_pinned(struct hp_run_secrets *s, int i, const char *store,
			   const json_t *pins, struct hp_err *err)
{
	const json_t *v = json_object_get(pins, defs[i].name);
	const char *sha = json_string_value(v);
	int r;

	if (!v) {
		hp_warn("the rollback point records no version of secret "
			"'%s': using its current value",
			defs[i].name);
		return hp_secret_read_hashed(&s->val[i], s->sha256[i], store,
					     defs[i].name, err);
	}
	if (!sha)
		return hp_err_set(err, HP_EINVALID,
				  "the rollback point's %s: the version of "
				  "secret '%s' is not a string",
				  HP_SECRET_PINS_PATH, defs[i].name);
	/* read_version checks sha's form and the file against it */
	r = hp_secret_read_version(&s->val[i], store, defs[i].name, sha, err);
	if (r == 0)
		hp_strlcpy(s->sha256[i], sha, sizeof(s->sha256[i]));
	return r;
}

int hp_run_secrets_load_pinned(struct hp_run_secrets *s, struct hp_run *run,
			       const json_t *pins, struct hp_err *err)
{
	const char *store = run->inv->secrets.store;
	int i, r = 0;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(pins))
		return hp_err_set(err, HP_EINVALID,
				  "the rollback point's %s is not a JSON "
				  "object",
				  HP_SECRET_PINS_PATH);
	for (i = 0; i < HP_SECRET_NR && r == 0; i++)
		if (hp_secret_used((enum hp_secret_id)i, run->inv))
			r = load_one_pinned(s, i, store, pins, err);
	if (r == 0)
		r = load_tls(s, run, pins, err);
	if (r < 0) {
		hp_run_secrets_release(s);
		return r;
	}
	set_render_view(s, run->inv);
	return 0;
}

/* The store's name of application role i's password ("role-<name>"). */
static char *role_secret(const struct hp_inventory *inv, size_t i)
{
	return xasprintf("role-%s", inv->secrets.roles[i].name);
}

/* The pinned version of an application role's secret: its sha256, or
 * NULL when the pin set names none. HP_EINVALID when it is not a string. */
static int role_pin(const json_t *pins, const char *name, const char **sha,
		    struct hp_err *err)
{
	const json_t *v = json_object_get(pins, name);

	*sha = json_string_value(v);
	if (v && !*sha)
		return hp_err_set(err, HP_EINVALID,
				  "the rollback point's %s: the version of "
				  "secret '%s' is not a string",
				  HP_SECRET_PINS_PATH, name);
	return 0;
}

/* Every application role's pinned version is in the store (read and
 * checked against its hash), before anything changes. */
static int check_role_pins(const struct hp_run *run, const json_t *pins,
			   struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i;
	int r = 0;

	for (i = 0; i < inv->secrets.nr_roles && r == 0; i++) {
		char *name = role_secret(inv, i), *val = NULL;
		const char *sha;

		if ((r = role_pin(pins, name, &sha, err)) == 0 && sha &&
		    (r = hp_secret_read_version(&val, inv->secrets.store, name,
						sha, err)) == 0)
			hp_secret_free(val);
		free(name);
	}
	return r;
}

int hp_run_secret_read(const struct hp_run *run, const char *name,
		       char **out, struct hp_err *err)
{
	const char *sha = NULL;
	int r;

	*out = NULL;
	if (run->desired.pins &&
	    (r = role_pin(run->desired.pins, name, &sha, err)) < 0)
		return r;
	if (sha)
		return hp_secret_read_version(out, run->inv->secrets.store,
					      name, sha, err);
	return hp_secret_read(out, run->inv->secrets.store, name, err);
}

/* The application roles' pinned versions become current again. */
static int promote_role_pins(const json_t *pins, const struct hp_run *run,
			     struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i;
	int r = 0;

	for (i = 0; pins && i < inv->secrets.nr_roles && r == 0; i++) {
		char *name = role_secret(inv, i);
		const char *sha;

		if ((r = role_pin(pins, name, &sha, err)) == 0 && sha)
			r = hp_secret_promote(inv->secrets.store, name, sha,
					      err);
		free(name);
	}
	return r;
}

int hp_run_secrets_promote_pins(const struct hp_run_secrets *s,
				const struct hp_run *run, struct hp_err *err)
{
	int i, r;

	for (i = 0; i < HP_SECRET_NR; i++) {
		if (s->val[i] && s->sha256[i][0] &&
		    (r = hp_secret_promote(run->inv->secrets.store,
					   defs[i].name, s->sha256[i],
					   err)) < 0)
			return r;
	}
	if (s->tls.nr_items &&
	    (r = hp_tls_material_promote(&s->tls, run->inv->secrets.store,
					 false, err)) < 0)
		return r;
	return promote_role_pins(s->pins, run, err);
}

int hp_run_secrets_promote_staged(const struct hp_run_secrets *s,
				  const struct hp_run *run,
				  struct hp_err *err)
{
	if (run->opts.plan)
		return 0;
	return hp_tls_material_promote(&s->tls, run->inv->secrets.store, true,
				       err);
}

/* The pin set recorded at point (NULL: the working set); *out NULL when
 * there is none. */
static int read_pins(struct hp_state *st, const char *point, json_t **out,
		     struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	json_error_t je;
	int r;

	*out = NULL;
	b.max = (size_t)64 * 1024;
	r = hp_state_read(st, point, HP_SECRET_PINS_PATH, &b, err);
	if (r == HP_ENOTFOUND) {
		hp_err_clear(err);
		r = 0;
	} else if (r == 0) {
		*out = json_loadb(b.buf, b.len, 0, &je);
		if (!json_is_object(*out)) {
			json_decref(*out);
			*out = NULL;
			r = hp_err_set(err, HP_EINVALID,
				       "%s in the state repository is not a "
				       "JSON object",
				       HP_SECRET_PINS_PATH);
		}
	}
	hp_buf_release(&b);
	return r;
}

int hp_run_secrets_use_point(struct hp_run_secrets *pinned,
			     struct hp_run *run, const char *point,
			     struct hp_err *err)
{
	json_t *pins = NULL;
	int r;

	memset(pinned, 0, sizeof(*pinned));
	if (!run->state)
		return 0;
	if ((r = read_pins(run->state, point, &pins, err)) < 0)
		return r;
	if (!pins) {
		fprintf(stderr, "haprov: warning: rollback point %.12s records "
				"no secret versions (made before haprov kept "
				"them): files that hold secrets are restored "
				"with the store's current secrets\n",
			point);
		return 0;
	}
	if ((r = check_role_pins(run, pins, err)) < 0 ||
	    (r = hp_run_secrets_load_pinned(pinned, run, pins, err)) < 0) {
		json_decref(pins);
		return r;
	}
	pinned->pins = pins;
	run->secrets = &pinned->rs;
	hp_desired_pins(run, pins);
	return 1;
}

/* The application roles' passwords this run uses (the rollback's pinned
 * versions, or the store's current ones), by hash, into pins. A role with
 * no secret yet is left out. */
static int pin_roles(const struct hp_run *run, json_t *pins,
		     struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i;
	int r = 0;

	for (i = 0; i < inv->secrets.nr_roles && r == 0; i++) {
		char *name = role_secret(inv, i), *val = NULL;

		r = hp_run_secret_read(run, name, &val, err);
		if (r == 0) {
			char sha[65];

			hp_secret_hash(val, sha);
			json_object_set_new(pins, name, json_string(sha));
		} else if (r == HP_ENOTFOUND) {
			hp_err_clear(err);
			r = 0;
		}
		hp_secret_free(val);
		free(name);
	}
	return r;
}

int hp_run_secrets_commit_pins(struct hp_run *run, struct hp_err *err)
{
	const struct hp_render_secrets *rs = run->secrets;
	const char *v[HP_SECRET_NR];
	json_t *pins = NULL;
	char *text;
	int i, r;

	if (!run->state || run->opts.plan || !rs)
		return 0;
	/* keep what others recorded there (role passwords) */
	if ((r = read_pins(run->state, NULL, &pins, err)) < 0)
		return r;
	if (!pins)
		pins = json_object();
	v[HP_SECRET_SUPERUSER] = rs->superuser;
	v[HP_SECRET_REPLICATION] = rs->replication;
	v[HP_SECRET_REWIND] = rs->rewind;
	v[HP_SECRET_RESTAPI] = rs->restapi;
	v[HP_SECRET_HAPROXY_STATS] = rs->haproxy_stats;
	v[HP_SECRET_VIP] = rs->vip_auth;
	v[HP_SECRET_PGBOUNCER] = rs->pgbouncer_auth;
	for (i = 0; i < HP_SECRET_NR; i++) {
		char sha[65];

		if (!v[i] || !strcmp(v[i], defs[i].placeholder))
			continue;
		hp_secret_hash(v[i], sha);
		json_object_set_new(pins, defs[i].name, json_string(sha));
	}
	/* the certificates the run uses (run->rest_tls is the material's
	 * first member, tls_material.h) */
	if (run->rest_tls)
		hp_tls_material_pins((const struct hp_tls_material *)(const void *)
					     run->rest_tls,
				     pins);
	if ((r = pin_roles(run, pins, err)) < 0) {
		json_decref(pins);
		return r;
	}
	text = json_dumps(pins, JSON_INDENT(2) | JSON_SORT_KEYS);
	r = hp_state_put(run->state, HP_SECRET_PINS_PATH, text, strlen(text),
			 err);
	free(text);
	json_decref(pins);
	return r;
}
