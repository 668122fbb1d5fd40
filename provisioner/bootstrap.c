/* A run's secrets and when haprov may generate one; see bootstrap.h. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bootstrap.h"
#include "phases.h"
#include "rest.h"
#include "secret_store.h"
#include "state.h"

/* who holds a secret on the hosts, which decides when it may be made */
enum holder { HOLD_PATRONI, HOLD_HAPROXY, HOLD_VIP, HOLD_PGBOUNCER, HOLD_NR };

/* A host name in ev (each is a char[64], bootstrap.h), by its offset. */
#define EV(field) offsetof(struct hp_secret_evidence, field)

/*
 * One row per file haprov keeps secrets in on the hosts: whether it exists
 * is the evidence that a secret is in use (holders_cmd asks every checked
 * host for all of them at once), and the refusal says what a new value
 * would break and where the old one can be found. A new holder is a row
 * here, its two host names in struct hp_secret_evidence, and its secret
 * in defs.
 */
static const struct holder_def {
	const char *role_name; /* "vip host c was not checked" */
	const char *file;      /* the evidence */
	const char *marker;    /* holders_cmd's word for "the file exists" */
	const char *what;      /* after "<host> has <file>" */
	const char *breaks;    /* what a new value would break */
	const char *recover;   /* where else the value is, besides the store */
	size_t held;	       /* ev's host that has the file */
	size_t unchecked;      /* ev's host of role that was not checked */
	unsigned role;	       /* the hosts that keep the file */
	/* of several holders refused, the lowest's breaks is the one said */
	int worst;
	/* the file counts on any checked host, not only on one of role (a
	 * leftover on a host that lost the role refuses too) */
	bool any_host;
	/* the inventory uses the secret only when it has hosts of role */
	bool only_with_role;
	/* the cluster's own secrets: rollback points or an answering Patroni
	 * mean an existing cluster uses them, whatever the files say */
	bool cluster;
} holders[HOLD_NR] = {
	[HOLD_PATRONI] = {
		.role = HP_ROLE_PATRONI, .role_name = "patroni",
		.file = "/etc/patroni_env.conf", .marker = "patroni_env",
		.any_host = true, .cluster = true, .what = "",
		.breaks = "replication and haprov's access to the cluster",
		.worst = 0,
		.recover = "; the values are also on every patroni host in "
			   "/etc/patroni_env.conf (mode 0600, root only): "
			   "PATRONI_SUPERUSER_PASSWORD is 'superuser', and so "
			   "on",
		.held = EV(env_file), .unchecked = EV(unchecked_patroni)},
	/* the stats password lives in haprov's own environment file for
	 * HAProxy (haproxy.cfg only names the variable), so that file is the
	 * evidence */
	[HOLD_HAPROXY] = {
		.role = HP_ROLE_HAPROXY, .role_name = "haproxy",
		.file = "/etc/haproxy/haprov_env.conf",
		.marker = "haproxy_stats", .any_host = true,
		.what = " (haprov's stats password)",
		.breaks = "access to the HAProxy stats page", .worst = 3,
		.recover = "; the stats password is also in "
			   "/etc/haproxy/haproxy.cfg on the haproxy hosts "
			   "(user haprov): put it in the file "
			   "'haproxy_stats'",
		.held = EV(stats_cred), .unchecked = EV(unchecked_haproxy)},
	[HOLD_VIP] = {
		.role = HP_ROLE_VIP, .role_name = "vip",
		.file = HP_VIP_AUTH_PATH, .marker = "vip_auth",
		.only_with_role = true,
		.what = " (keepalived's VRRP password)",
		.breaks = "the vip hosts' VRRP agreement (two could hold the "
			  "virtual IP)",
		.worst = 1,
		.recover = "; the VRRP password is also in " HP_VIP_AUTH_PATH
			   " on the vip hosts (auth_pass): put it in the file "
			   "'" HP_VIP_SECRET "'",
		.held = EV(vip_cred), .unchecked = EV(unchecked_vip)},
	[HOLD_PGBOUNCER] = {
		.role = HP_ROLE_PGBOUNCER, .role_name = "pgbouncer",
		.file = HP_PGB_USERLIST_PATH, .marker = "pgbouncer_auth",
		.only_with_role = true,
		.what = " (PgBouncer's lookup password)",
		.breaks = "PgBouncer's password lookups (client logins through "
			  "it)",
		.worst = 2,
		.recover = "; the lookup password is also in "
			   HP_PGB_USERLIST_PATH " on the pgbouncer hosts (the "
			   "second quoted field): put it in the file '"
			   HP_PGB_SECRET "'",
		.held = EV(pgb_cred), .unchecked = EV(unchecked_pgb)},
};

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

bool hp_secret_used(enum hp_secret_id id, const struct hp_inventory *inv)
{
	const struct holder_def *h = &holders[defs[id].holder];

	return !h->only_with_role || hp_inventory_count_role(inv, h->role) > 0;
}

/* The host name ev keeps at offset at ("" for none). */
static const char *ev_host(const struct hp_secret_evidence *ev, size_t at)
{
	return (const char *)ev + at;
}

/* Name host at offset at of ev, unless a host is named there already. */
static void ev_note(struct hp_secret_evidence *ev, size_t at,
		    const char *host)
{
	char *f = (char *)ev + at;

	if (!f[0])
		hp_strlcpy(f, host, sizeof(ev->env_file));
}

const char *hp_secret_name(enum hp_secret_id id)
{
	return (unsigned)id < HP_SECRET_NR ? defs[id].name : "?";
}

/* Any sign that the cluster exists (then why says which), for the
 * cluster's own secrets. */
static bool cluster_exists(const struct hp_secret_evidence *ev,
			   struct hp_buf *why)
{
	if (ev->state_commits)
		hp_buf_adds(why, "the state repository has rollback points");
	else if (ev->patroni_answers[0])
		hp_buf_addf(why, "Patroni's REST API on %s %s",
			    ev->patroni_answers,
			    ev->patroni_timeout
				    ? "did not answer in time (so whether the "
				      "cluster exists is unknown)"
				    : "answers");
	else
		return false;
	return true;
}

/* Whether h's secrets may be in use (then why says how we know). */
static bool in_use(const struct holder_def *h,
		   const struct hp_secret_evidence *ev, struct hp_buf *why)
{
	const char *held = ev_host(ev, h->held);
	const char *unchecked = ev_host(ev, h->unchecked);

	if (h->cluster && cluster_exists(ev, why))
		return true;
	if (held[0])
		hp_buf_addf(why, "%s has %s%s", held, h->file, h->what);
	else if (unchecked[0])
		hp_buf_addf(why, "%s host %s was not checked (not selected "
				 "with --host)",
			    h->role_name, unchecked);
	else
		return false;
	return true;
}

bool hp_secret_may_generate(enum hp_secret_id id,
			    const struct hp_secret_evidence *ev,
			    struct hp_buf *why)
{
	struct hp_buf dummy = HP_BUF_INIT;
	bool ok = !in_use(&holders[defs[id].holder], ev, why ? why : &dummy);

	hp_buf_release(&dummy);
	return ok;
}

/*
 * Does any Patroni of the inventory answer? Any HTTP answer counts; a
 * timeout cannot tell, so it counts too, and so does a refused TLS
 * handshake (a server is there). With tls on this runs before the run's
 * TLS material is loaded (run->rest_tls is NULL: whether the CA may be
 * made is part of what it decides), and the client refuses https it
 * cannot verify before sending anything, which would read as "nothing
 * answers". So the probe does not verify: it reads nothing of the answer
 * and sends no credentials.
 */
static int patroni_answers(struct hp_run *run, struct hp_secret_evidence *ev,
			   struct hp_err *err)
{
	static const struct hp_rest_tls probe_tls = {.insecure = true};
	const struct hp_inventory *inv = run->inv;
	struct hp_rest rest;
	struct hp_rest_resp resp;
	struct hp_err e;
	size_t i;
	int r;

	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	if (!rest.tls)
		rest.tls = &probe_tls;
	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !ev->patroni_answers[0]; i++) {
		const struct hp_host *h = &inv->hosts[i];
		char *url;

		if (!(h->roles & HP_ROLE_PATRONI))
			continue;
		url = hp_url(h, inv->patroni.restapi_port, "/cluster");
		r = hp_rest_call(&rest, "GET", url, NULL, &resp, &e);
		if (r == 0 || r == HP_ETIMEOUT || r == HP_ETLS) {
			hp_strlcpy(ev->patroni_answers, h->name,
				   sizeof(ev->patroni_answers));
			ev->patroni_timeout = r == HP_ETIMEOUT;
		}
		free(url);
	}
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	return 0;
}

/* One command per host: which of the holders' files exist (a marker
 * word on a line for each). */
static void holders_cmd(struct hp_buf *cmd)
{
	int k;

	for (k = 0; k < HOLD_NR; k++)
		hp_buf_addf(cmd, "if [ -e %s ]; then echo %s; fi; ",
			    holders[k].file, holders[k].marker);
	hp_buf_adds(cmd, "true");
}

/* Run cmd on h and note in ev the files it has. */
static int check_host(struct hp_hostrun *h, const char *cmd,
		      struct hp_secret_evidence *ev, struct hp_err *err)
{
	struct hp_buf out = HP_BUF_INIT;
	int k, r;

	out.max = 4096;
	r = hp_host_sh(h, cmd, NULL, 0, 30, &out, err);
	if (r < 0) {
		hp_buf_release(&out);
		hp_err_prefix(err, "%s: cannot check for files that hold "
				   "secrets",
			      h->host->name);
		return r;
	}
	for (k = 0; k < HOLD_NR; k++) {
		const struct holder_def *d = &holders[k];

		if ((d->any_host || (h->host->roles & d->role)) &&
		    strstr(out.buf, d->marker))
			ev_note(ev, d->held, h->host->name);
	}
	hp_buf_release(&out);
	return 0;
}

/* Which hosts hold files with secrets in them (holders_cmd); a host that
 * cannot be asked is noted as unchecked for each of its roles. */
static int host_files(struct hp_run *run, struct hp_secret_evidence *ev,
		      struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT;
	unsigned any = 0;
	size_t i;
	int k, r = 0;

	/* every holder's hosts (vip hosts run haproxy and pgbouncer hosts
	 * patroni, the inventory checks it: so, patroni and haproxy hosts) */
	for (k = 0; k < HOLD_NR; k++)
		any |= holders[k].role;
	holders_cmd(&cmd);
	for (i = 0; i < run->nr_hosts && r == 0; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		if (!(h->host->roles & any))
			continue;
		if (h->selected && h->tr.ops) {
			r = check_host(h, cmd.buf, ev, err);
			continue;
		}
		for (k = 0; k < HOLD_NR; k++)
			if (h->host->roles & holders[k].role)
				ev_note(ev, holders[k].unchecked,
					h->host->name);
	}
	hp_buf_release(&cmd);
	return r;
}

/* The refusal: which secrets, why, and how to get them back. */
static int refuse(const struct hp_inventory *inv, const bool *refused,
		  const struct hp_secret_evidence *ev, struct hp_err *err)
{
	struct hp_buf names = HP_BUF_INIT, why = HP_BUF_INIT;
	struct hp_buf recover = HP_BUF_INIT;
	bool by[HOLD_NR] = {false}, file_hint = false;
	const struct holder_def *worst = NULL;
	size_t n = 0;
	int i, r;

	for (i = 0; i < HP_SECRET_NR; i++) {
		if (!refused[i])
			continue;
		hp_buf_addf(&names, "%s'%s'", n++ ? ", " : "", defs[i].name);
		if (!why.len)
			(void)hp_secret_may_generate((enum hp_secret_id)i, ev,
						     &why);
		by[defs[i].holder] = true;
	}
	/* the worst breakage; the cluster's own hint, and one other (the
	 * first in table order, as the message always had it) */
	for (i = 0; i < HOLD_NR; i++) {
		if (!by[i])
			continue;
		if (!worst || holders[i].worst < worst->worst)
			worst = &holders[i];
		if (holders[i].cluster || !file_hint)
			hp_buf_adds(&recover, holders[i].recover);
		file_hint |= !holders[i].cluster;
	}
	r = hp_err_set(
		err, HP_ENOTFOUND,
		"secret%s %s missing from the store '%s', and %s: a new "
		"password would break %s, so haprov does not make one. "
		"Restore the store: copy it back from the machine and "
		"directory the cluster was applied from, or from a backup "
		"(directory mode 0700, files 0600, owned by you)%s. Nothing "
		"was changed",
		n == 1 ? "" : "s", names.buf, inv->secrets.store, why.buf,
		worst ? worst->breaks : "", recover.buf);
	hp_buf_release(&names);
	hp_buf_release(&why);
	hp_buf_release(&recover);
	return r;
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

int hp_run_secrets_load(struct hp_run_secrets *s, struct hp_run *run,
			bool state_commits, struct hp_err *err)
{
	const char *store = run->inv->secrets.store;
	struct hp_secret_evidence ev;
	bool missing[HP_SECRET_NR];
	bool any_missing = false, no_store = false;
	int i, r;

	memset(s, 0, sizeof(*s));
	memset(&ev, 0, sizeof(ev));
	r = hp_secret_store_check(store, err);
	if (r == HP_ENOTFOUND)
		no_store = true;
	else if (r < 0)
		return r;
	for (i = 0; i < HP_SECRET_NR; i++) {
		missing[i] = false;
		if (!hp_secret_used((enum hp_secret_id)i, run->inv))
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
	if (any_missing) {
		bool refused[HP_SECRET_NR], any_refused = false;

		ev.state_commits = state_commits;
		if ((r = patroni_answers(run, &ev, err)) < 0 ||
		    (r = host_files(run, &ev, err)) < 0)
			return r;
		for (i = 0; i < HP_SECRET_NR; i++) {
			refused[i] = missing[i] &&
				     !hp_secret_may_generate(
					     (enum hp_secret_id)i, &ev, NULL);
			any_refused |= refused[i];
		}
		if (any_refused)
			return refuse(run->inv, refused, &ev, err);
		if ((r = provide(s, run, missing, err)) < 0)
			return r;
	}
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
