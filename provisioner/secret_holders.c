/* Which hosts hold which secret's file, and whether a missing secret may
 * be generated; see bootstrap.h. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "bootstrap_priv.h"
#include "phases.h"
#include "rest.h"

/* A host name in ev (each is a char[64], bootstrap.h), by its offset. */
#define EV(field) offsetof(struct hp_secret_evidence, field)

/*
 * One row per file haprov keeps secrets in on the hosts: whether it exists
 * is the evidence that a secret is in use (holders_cmd asks every checked
 * host for all of them at once), and the refusal says what a new value
 * would break and where the old one can be found. A new holder is a row
 * here, its two host names in struct hp_secret_evidence, and its secret
 * in bootstrap.c's defs.
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

bool hp_secret_used(enum hp_secret_id id, const struct hp_inventory *inv)
{
	const struct holder_def *h = &holders[hp_secret_holder(id)];

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
	bool ok = !in_use(&holders[hp_secret_holder(id)], ev,
			  why ? why : &dummy);

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

/* What the hosts answered to holders_cmd, by host index: asked, the
 * command's result and its output. */
struct holders_ask {
	const char *cmd;
	unsigned roles; /* the hosts to ask: any of these roles */
	bool *asked;
	int *rc;
	struct hp_err *err;
	struct hp_buf *out;
};

/* hp_run_each: ask h (the result is kept; never a failed host here, the
 * caller decides in inventory order). */
static int ask_host(struct hp_hostrun *h, void *arg)
{
	struct holders_ask *a = arg;
	size_t i = (size_t)(h - h->run->hosts);

	if (!h->selected || !h->tr.ops)
		return 0;
	a->asked[i] = true;
	a->out[i].max = 4096;
	a->rc[i] = hp_host_sh(h, a->cmd, NULL, 0, 30, &a->out[i], &a->err[i]);
	return 0;
}

/* Note in ev the files h has, from its answer out. */
static void note_host(const struct hp_hostrun *h, const struct hp_buf *out,
		      struct hp_secret_evidence *ev)
{
	int k;

	for (k = 0; k < HOLD_NR; k++) {
		const struct holder_def *d = &holders[k];

		if ((d->any_host || (h->host->roles & d->role)) && out->buf &&
		    strstr(out->buf, d->marker))
			ev_note(ev, d->held, h->host->name);
	}
}

/* Which hosts hold files with secrets in them (holders_cmd), asked all
 * at once and read in inventory order; a host that cannot be asked is
 * noted as unchecked for each of its roles. */
static int host_files(struct hp_run *run, struct hp_secret_evidence *ev,
		      struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT;
	struct holders_ask a = { 0 };
	size_t i, n = run->nr_hosts + 1;
	int k, r = 0;

	/* every holder's hosts (vip hosts run haproxy and pgbouncer hosts
	 * patroni, the inventory checks it: so, patroni and haproxy hosts) */
	for (k = 0; k < HOLD_NR; k++)
		a.roles |= holders[k].role;
	holders_cmd(&cmd);
	a.cmd = cmd.buf;
	a.asked = xcalloc(n, sizeof(*a.asked));
	a.rc = xcalloc(n, sizeof(*a.rc));
	a.err = xcalloc(n, sizeof(*a.err));
	a.out = xcalloc(n, sizeof(*a.out));
	(void)hp_run_each(run, a.roles, ask_host, &a);
	for (i = 0; i < run->nr_hosts && r == 0; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		if (!(h->host->roles & a.roles))
			continue;
		if (a.asked[i] && a.rc[i] < 0) {
			*err = a.err[i];
			r = a.rc[i];
			hp_err_prefix(err, "%s: cannot check for files that "
					   "hold secrets",
				      h->host->name);
		} else if (a.asked[i]) {
			note_host(h, &a.out[i], ev);
		} else {
			for (k = 0; k < HOLD_NR; k++)
				if (h->host->roles & holders[k].role)
					ev_note(ev, holders[k].unchecked,
						h->host->name);
		}
	}
	for (i = 0; i < n; i++)
		hp_buf_release(&a.out[i]);
	free(a.asked);
	free(a.rc);
	free(a.err);
	free(a.out);
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
		enum hp_secret_id id = (enum hp_secret_id)i;

		if (!refused[i])
			continue;
		hp_buf_addf(&names, "%s'%s'", n++ ? ", " : "",
			    hp_secret_name(id));
		if (!why.len)
			(void)hp_secret_may_generate(id, ev, &why);
		by[hp_secret_holder(id)] = true;
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

int hp_secrets_check_missing(struct hp_run *run, const bool *missing,
			     bool state_commits, struct hp_err *err)
{
	struct hp_secret_evidence ev;
	bool refused[HP_SECRET_NR], any_refused = false;
	int i, r;

	memset(&ev, 0, sizeof(ev));
	ev.state_commits = state_commits;
	if ((r = patroni_answers(run, &ev, err)) < 0 ||
	    (r = host_files(run, &ev, err)) < 0)
		return r;
	for (i = 0; i < HP_SECRET_NR; i++) {
		refused[i] = missing[i] &&
			     !hp_secret_may_generate((enum hp_secret_id)i, &ev,
						     NULL);
		any_refused |= refused[i];
	}
	return any_refused ? refuse(run->inv, refused, &ev, err) : 0;
}
