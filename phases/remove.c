/*
 * Hosts leaving the cluster (inventory: remove: true), before the phases
 * run, one host at a time:
 *
 *   1. Patroni: a leader is switched over from first (to the synchronous
 *      standby when there is one, else the first other member of the
 *      inventory); then Patroni is stopped and disabled (it stops its
 *      PostgreSQL), its member key deleted from etcd (a stopped Patroni
 *      leaves it to expire within ttl), and the member is waited for
 *      until /cluster no longer lists it;
 *   2. etcd: POST /v3/cluster/member/remove on a remaining member (after
 *      the quorum check of etcd_members.c), then etcd stopped and
 *      disabled on the host;
 *   3. HAProxy stopped and disabled there. The phases that follow render
 *      every other host's files without it: HAProxy's servers, Patroni's
 *      etcd hosts.
 *
 * Nothing is deleted: PostgreSQL's and etcd's data directories stay, and
 * the run says where. Without --allow-remove apply refuses before any of
 * this; plan says each step. A host with nothing left to do (not a member,
 * no service running) costs one read.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_members.h"
#include "phases.h"
#include "remove.h"
#include "shell.h"
#include "staged_priv.h"

#define SERVICES_CMD                                                           \
	"for s in patroni etcd haproxy keepalived pgbouncer; do "                                   \
	"printf '%s %s\\n' \"$s\" \"$(systemctl is-active \"$s\" 2>/dev/null)\"; " \
	"done"

unsigned hp_remove_services_parse(const char *out)
{
	static const struct {
		const char *line;
		unsigned role;
	} on[] = {
		{ "patroni active\n", HP_ROLE_PATRONI },
		{ "etcd active\n", HP_ROLE_ETCD },
		{ "haproxy active\n", HP_ROLE_HAPROXY },
		{ "keepalived active\n", HP_ROLE_VIP },
		{ "pgbouncer active\n", HP_ROLE_PGBOUNCER },
	};
	unsigned mask = 0;
	size_t i;

	for (i = 0; out && i < HP_ARRAY_SIZE(on); i++) {
		const char *p = strstr(out, on[i].line);

		/* a whole line: at the start or after a newline */
		if (p && (p == out || p[-1] == '\n'))
			mask |= on[i].role;
	}
	return mask;
}

static bool role_is(const json_t *m, const char *role)
{
	const char *r = json_string_value(json_object_get(m, "role"));

	return r && !strcmp(r, role);
}

bool hp_remove_is_member(const json_t *cluster, const char *name, bool *leader)
{
	const json_t *m = hp_patroni_member(cluster, name);

	*leader = m && role_is(m, "leader");
	return m != NULL;
}

const char *hp_remove_candidate(const struct hp_inventory *inv,
				const json_t *cluster)
{
	const char *first = NULL;
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		const json_t *m = hp_patroni_member(cluster, h->name);
		const char *st = json_string_value(json_object_get(m, "state"));

		if (!(h->roles & HP_ROLE_PATRONI) || !m || !st ||
		    (strcmp(st, "running") != 0 && strcmp(st, "streaming") != 0))
			continue;
		/* with synchronous_mode Patroni takes only the sync standby */
		if (role_is(m, "sync_standby"))
			return h->name;
		if (!first && role_is(m, "replica"))
			first = h->name;
	}
	return first;
}

/* GET /cluster from the first patroni host (staying or leaving) that
 * answers; *out a new reference, NULL when none answers. */
static json_t *cluster_get(struct hp_run *run, struct hp_rest *rest)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	json_t *out = NULL;
	size_t i;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !out; i++) {
		const struct hp_host *h = &inv->hosts[i];
		struct hp_err e;

		if (((h->roles | h->removed_roles) & HP_ROLE_PATRONI) &&
		    hp_member_get(run, rest, h->name, "/cluster", &resp, &e) ==
			    0 &&
		    json_is_array(json_object_get(resp.json, "members")))
			out = json_incref(resp.json);
	}
	hp_rest_resp_release(&resp);
	return out;
}

/* ---- one host's steps ----------------------------------------------------- */

struct leaving {
	struct hp_rest *rest;
	const struct hp_etcd_change *etcd;
	unsigned active; /* services running on it */
	bool pending;    /* anything left to do */
};

static int stop(struct hp_hostrun *h, const char *svc, const char *data,
		struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, what = HP_BUF_INIT;
	char *step = xasprintf("stop %s", svc);
	int64_t t = hp_now_ms();
	int r = 0;

	hp_buf_addf(&what, "stopped and disabled");
	if (data)
		hp_buf_addf(&what, "; its data stays in %s", data);
	hp_buf_adds(&cmd, "systemctl disable --now -q ");
	hp_shell_quote(&cmd, svc);
	if (!h->run->opts.plan)
		r = hp_host_sh(h, cmd.buf, NULL, 0, 120, NULL, err);
	hp_run_record(h->run, h->host->name,
		      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED, step,
		      r < 0 ? err->msg : what.buf, NULL, t);
	free(step);
	hp_buf_release(&cmd);
	hp_buf_release(&what);
	return r;
}

/* Until GET /cluster no longer lists name: its member key expires
 * within ttl after Patroni stopped. */
static int wait_gone(struct hp_run *run, struct hp_rest *rest,
		     const char *name, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int64_t end = hp_now_ms() +
		      (int64_t)(inv->patroni.dcs.ttl + inv->patroni.dcs.loop_wait +
				inv->validation.timeout_s) *
			      1000;

	for (;;) {
		json_t *c = cluster_get(run, rest);
		bool leader, gone = c && !hp_remove_is_member(c, name, &leader);

		json_decref(c);
		if (gone)
			return 0;
		if (hp_now_ms() >= end)
			return hp_err_set(err, HP_EVERIFY,
					  "Patroni still lists member %s after "
					  "it was stopped",
					  name);
		if (hp_interrupted())
			return hp_err_set(err, HP_EINTR, "interrupted");
		hp_sleep_ms(500);
	}
}

static int leave_patroni(struct hp_hostrun *h, struct leaving *l)
{
	struct hp_run *run = h->run;
	const char *name = h->host->name;
	json_t *cluster = cluster_get(run, l->rest);
	bool member = false, leader = false;
	int64_t t = hp_now_ms();
	int r = 0;

	if (cluster)
		member = hp_remove_is_member(cluster, name, &leader);
	if (leader) {
		const char *to = hp_remove_candidate(run->inv, cluster);
		char *what = xasprintf("%s -> %s", name, to ? to : "(none)");

		if (!to)
			r = hp_err_set(&h->err, HP_EVERIFY,
				       "%s leads and no other member of the "
				       "inventory runs to take over",
				       name);
		else if (!run->opts.plan)
			r = hp_switchover_move(run, l->rest, name, to, NULL,
					       &h->err);
		hp_run_record(run, name,
			      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
			      "switchover", r < 0 ? h->err.msg : what, NULL, t);
		free(what);
	}
	json_decref(cluster);
	if (r == 0 && (member || (l->active & HP_ROLE_PATRONI)))
		r = stop(h, "patroni", run->inv->patroni.data_dir, &h->err);
	if (r == 0 && member && !run->opts.plan) {
		/* a stopped Patroni leaves its member key to expire (up to
		 * ttl): it is gone for good, so its key goes now */
		char *key = hp_patroni_dcs_key(run->inv, "members/");
		char *full = xasprintf("%s%s", key, name);
		struct hp_err e;

		if (hp_etcd_delete_key(run, l->rest, full, &e) < 0)
			hp_warn("%s", e.msg);
		free(full);
		free(key);
		r = wait_gone(run, l->rest, name, &h->err);
	}
	return r;
}

static int leave_etcd(struct hp_hostrun *h, struct leaving *l)
{
	struct hp_run *run = h->run;
	int64_t t = hp_now_ms();
	size_t i;
	int r = 0;

	for (i = 0; i < l->etcd->nr_leave && r == 0; i++) {
		if (l->etcd->leave[i] != h->host)
			continue;
		if (!run->opts.plan)
			r = hp_etcd_member_remove(run, l->rest,
						  l->etcd->leave_id[i],
						  &h->err);
		hp_run_record(run, h->host->name,
			      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
			      "etcd member remove",
			      r < 0 ? h->err.msg : "removed from etcd's members",
			      NULL, t);
		l->active |= HP_ROLE_ETCD;
	}
	if (r == 0 && (l->active & HP_ROLE_ETCD))
		r = stop(h, "etcd", run->inv->etcd.data_dir, &h->err);
	return r;
}

static bool etcd_leaves(const struct hp_etcd_change *c,
			const struct hp_host *h)
{
	size_t i;

	for (i = 0; i < c->nr_leave; i++)
		if (c->leave[i] == h)
			return true;
	return false;
}

/* What is left to do on h: services running, or a member. */
static int look_host(struct hp_hostrun *h, struct leaving *l,
		     const json_t *cluster, bool *pending)
{
	struct hp_buf out = HP_BUF_INIT;
	bool leader;
	int r = hp_host_sh_read(h, SERVICES_CMD, NULL, 0, 30, &out, &h->err);

	l->active = r == 0 ? hp_remove_services_parse(out.buf) : 0;
	*pending = l->active || etcd_leaves(l->etcd, h->host) ||
		   (cluster && hp_remove_is_member(cluster, h->host->name,
						   &leader));
	hp_buf_release(&out);
	return r;
}

static int leave_host(struct hp_hostrun *h, struct leaving *l)
{
	int r = 0;

	/* the virtual IP first: it moves to a host that stays */
	if (l->active & HP_ROLE_VIP)
		r = stop(h, "keepalived", NULL, &h->err);
	if (r == 0)
		r = leave_patroni(h, l);
	if (r == 0)
		r = leave_etcd(h, l);
	if (r == 0 && (l->active & HP_ROLE_PGBOUNCER))
		r = stop(h, "pgbouncer", NULL, &h->err);
	if (r == 0 && (l->active & HP_ROLE_HAPROXY))
		r = stop(h, "haproxy", NULL, &h->err);
	if (r == 0 && !h->run->opts.plan)
		hp_run_note(h->run, h->host->name,
			    "left the cluster; nothing was deleted "
			    "(PostgreSQL's data: %s, etcd's: %s): delete its "
			    "entry from the inventory",
			    h->run->inv->patroni.data_dir,
			    h->run->inv->etcd.data_dir);
	return r;
}

/* ---- the whole removal ----------------------------------------------------- */

size_t hp_remove_count(const struct hp_inventory *inv)
{
	size_t i, n = 0;

	for (i = 0; i < inv->nr_hosts; i++)
		n += inv->hosts[i].remove;
	return n;
}

int hp_remove_hosts(struct hp_run *run, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_etcd_change c;
	struct hp_rest rest;
	struct leaving *l;
	json_t *cluster;
	size_t i;
	bool any = false;
	int r;

	if (!hp_remove_count(inv))
		return 0;
	if ((r = hp_run_rest_init(run, &rest, 5000, err)) < 0)
		return r;
	/* the quorum check first: a refusal changes nothing */
	if ((r = hp_etcd_change_read(run, &rest, &c, err)) < 0) {
		hp_rest_release(&rest);
		return r;
	}
	cluster = cluster_get(run, &rest);
	l = xcalloc(inv->nr_hosts, sizeof(*l));
	for (i = 0; i < inv->nr_hosts && r == 0; i++) {
		l[i].rest = &rest;
		l[i].etcd = &c;
		if (inv->hosts[i].remove)
			r = look_host(&run->hosts[i], &l[i], cluster,
				      &l[i].pending);
		if (r < 0)
			*err = run->hosts[i].err;
		any |= l[i].pending;
	}
	json_decref(cluster);
	if (r == 0 && any && !run->opts.plan && !run->opts.allow_remove)
		r = hp_err_set(err, HP_EINVALID,
			       "hosts marked remove: true are still part of "
			       "the cluster; apply removes them only with "
			       "--allow-remove (plan shows each step)");
	for (i = 0; i < inv->nr_hosts && r == 0 && any; i++) {
		if (!l[i].pending)
			continue;
		if ((r = leave_host(&run->hosts[i], &l[i])) < 0)
			*err = run->hosts[i].err;
	}
	free(l);
	hp_etcd_change_release(&c);
	hp_rest_release(&rest);
	return r;
}
