/*
 * etcd's leader off the host of Patroni's leader (issue 10, section 4).
 * A crash of the Patroni leader's host cost 15.3-16.1 s of client outage
 * on the lab when that host also led etcd, 11.8-12.9 s when it did not:
 * etcd must elect a leader before Patroni's leader key can expire and be
 * taken (docs/field-notes.md). Called at the end of apply, and after a
 * switchover.
 *
 * Which member runs on which host is told by asking each host's own
 * member (its status names itself in header.member_id), not by the names
 * in the member list: the address is what the anti-affinity is about.
 * The no-op costs two REST calls: Patroni's GET /cluster and the status
 * of the etcd member on its leader's host.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"

/* What the step found out and did. */
struct away {
	char *pleader;               /* Patroni's leader, or NULL */
	const struct hp_host *from;  /* its host, when etcd's leader too */
	const struct hp_host *to;    /* the member that takes over */
	uint64_t from_id, to_id;
	char *ok_why;                /* nothing to do: why (a detail) */
};

static void away_release(struct away *a)
{
	free(a->pleader);
	free(a->ok_why);
	memset(a, 0, sizeof(*a));
}

/*
 * Whether etcd's leader runs on the host of Patroni's leader: a->from set
 * then, else a->ok_why says why there is nothing to do.
 */
static int find_from(struct hp_run *run, struct hp_rest *rest,
		     struct hp_rest_resp *resp, struct away *a,
		     struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const struct hp_host *h;
	struct hp_etcd_status st;
	int r;

	if ((r = hp_patroni_leader(run, rest, &a->pleader, NULL, err)) < 0)
		return r;
	if (!a->pleader) {
		a->ok_why = xstrdup("no Patroni leader");
		return 0;
	}
	/* hp_patroni_leader names a patroni host of the inventory */
	h = hp_inventory_host(inv, a->pleader);
	if (!h || !(h->roles & HP_ROLE_ETCD)) {
		a->ok_why = xasprintf("%s, Patroni's leader, runs no etcd "
				      "member",
				      a->pleader);
		return 0;
	}
	if ((r = hp_etcd_status(rest, inv, h, resp, &st, err)) < 0)
		return r;
	if (!st.id)
		return hp_err_set(err, HP_EVERIFY,
				  "etcd member %s does not give its own member "
				  "id (header.member_id)",
				  h->name);
	if (st.leader != st.id) {
		a->ok_why = xasprintf("etcd's leader is not on %s, Patroni's "
				      "leader",
				      h->name);
		return 0;
	}
	a->from = h;
	a->from_id = st.id;
	return 0;
}

/* Whether host can take etcd's leadership over from a->from: healthy, a
 * voting member, knowing a->from as the leader. why: if not, why not. */
static bool can_lead(struct hp_run *run, struct hp_rest *rest,
		     struct hp_rest_resp *resp, const struct hp_host *host,
		     const struct away *a, uint64_t *id, struct hp_buf *why)
{
	const struct hp_inventory *inv = run->inv;
	char *url = hp_url(host, inv->etcd.client_port, "/health");
	struct hp_etcd_status st;
	struct hp_err e;
	bool ok;

	hp_err_clear(&e);
	hp_buf_reset(why);
	ok = hp_rest_call(rest, "GET", url, NULL, resp, &e) == 0 &&
	     hp_etcd_health_ok(resp, NULL, why);
	free(url);
	if (!ok) {
		if (!why->len)
			hp_buf_adds(why, e.msg);
		return false;
	}
	if (hp_etcd_status(rest, inv, host, resp, &st, &e) < 0) {
		hp_buf_adds(why, e.msg);
		return false;
	}
	if (!st.id || st.id == a->from_id || st.learner ||
	    st.leader != a->from_id) {
		hp_buf_adds(why, !st.id		       ? "gives no member id"
				 : st.id == a->from_id ? "is the leader itself"
				 : st.learner	       ? "is a learner"
						       : "knows another leader");
		return false;
	}
	*id = st.id;
	return true;
}

/* The first other etcd host in inventory order that can lead: a->to. */
static int pick_target(struct hp_run *run, struct hp_rest *rest,
		       struct hp_rest_resp *resp, struct away *a,
		       struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_buf why = HP_BUF_INIT, all = HP_BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < inv->nr_hosts && !a->to; i++) {
		const struct hp_host *h = &inv->hosts[i];

		if (!(h->roles & HP_ROLE_ETCD) || h == a->from)
			continue;
		if (can_lead(run, rest, resp, h, a, &a->to_id, &why)) {
			a->to = h;
			break;
		}
		/* why may quote an answer: printable, capped */
		hp_buf_addf(&all, "%s%s: ", all.len ? "; " : "", h->name);
		hp_buf_add_printable(&all, why.buf, why.len, 200);
	}
	if (!a->to)
		r = hp_err_set(err, HP_EVERIFY,
			       "etcd's leader is on %s, Patroni's leader, and "
			       "no other etcd member can take over (%s)",
			       a->from->name, all.buf);
	hp_buf_release(&why);
	hp_buf_release(&all);
	return r;
}

/* hp_rest_poll's test: the status names *arg (a uint64_t) as leader. */
static bool leads(const struct hp_rest_resp *resp, void *arg,
		  struct hp_buf *why)
{
	const uint64_t *want = arg;
	struct hp_etcd_status st;
	struct hp_err e;

	if (hp_etcd_status_judge(resp, "", &st, &e) < 0) {
		hp_buf_adds(why, "no leader");
		return false;
	}
	if (st.leader != *want) {
		hp_buf_addf(why, "leader %" PRIu64, st.leader);
		return false;
	}
	return true;
}

/* POST transfer-leadership to the leader, then wait until the target
 * says it leads (validation.timeout_s from t). */
static int move(struct hp_run *run, struct hp_rest *rest,
		struct hp_rest_resp *resp, const struct away *a, int64_t t,
		struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int deadline = inv->validation.timeout_s * 1000;
	char id[24];
	json_t *body, *empty = json_object();
	char *url;
	int r;

	/* a uint64 goes as a string: etcd's gateway reads both forms */
	snprintf(id, sizeof(id), "%" PRIu64, a->to_id);
	body = json_pack("{s:s}", "targetID", id);
	url = hp_url(a->from, inv->etcd.client_port,
		     "/v3/maintenance/transfer-leadership");
	/* etcd answers once the transfer is done (or its own timeout) */
	rest->timeout_ms = deadline > 1000 ? deadline : 1000;
	r = hp_rest_call(rest, "POST", url, body, resp, err);
	free(url);
	if (r == 0 && resp->status != 200) {
		struct hp_buf b = HP_BUF_INIT;

		hp_buf_add_printable(&b, resp->body.buf, resp->body.len, 300);
		r = hp_err_set(err, HP_EREMOTE,
			       "etcd member %s refused to hand its leadership "
			       "to %s (HTTP %ld: %s)",
			       a->from->name, a->to->name, resp->status, b.buf);
		hp_buf_release(&b);
	}
	if (r == 0) {
		int left = deadline - (int)(hp_now_ms() - t);

		rest->timeout_ms = 3000;
		url = hp_url(a->to, inv->etcd.client_port,
			     "/v3/maintenance/status");
		r = hp_rest_poll(rest, "POST", url, empty, left > 0 ? left : 1,
				 100, leads, (void *)(uintptr_t)&a->to_id,
				 NULL, err);
		free(url);
		if (r == HP_ETIMEOUT)
			hp_err_prefix(err, "etcd's leader did not move to %s "
					   "within %d s",
				      a->to->name, inv->validation.timeout_s);
	} else if (r != HP_EREMOTE) {
		hp_err_prefix(err, "etcd leadership %s -> %s", a->from->name,
			      a->to->name);
	}
	json_decref(body);
	json_decref(empty);
	return r;
}

/* Find out, choose, move (not in plan mode). *moved: a->to leads now, or
 * would in plan mode. */
static int away_run(struct hp_run *run, struct away *a, bool *moved,
		    int64_t t, struct hp_err *err)
{
	struct hp_rest rest;
	struct hp_rest_resp resp;
	int r;

	*moved = false;
	if (hp_inventory_count_role(run->inv, HP_ROLE_ETCD) < 2) {
		a->ok_why = xstrdup("fewer than two etcd members");
		return 0;
	}
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	hp_rest_resp_init(&resp);
	r = find_from(run, &rest, &resp, a, err);
	if (r == 0 && a->from)
		r = pick_target(run, &rest, &resp, a, err);
	if (r == 0 && a->from && !run->opts.plan)
		r = move(run, &rest, &resp, a, t, err);
	*moved = r == 0 && a->from;
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	return r;
}

int hp_etcd_leader_away(struct hp_run *run, struct hp_err *err)
{
	const char *saved = run->phase;
	struct away a;
	int64_t t = hp_now_ms();
	bool moved;
	char *detail;
	int r;

	memset(&a, 0, sizeof(a));
	run->phase = "etcd-leader";
	r = away_run(run, &a, &moved, t, err);
	if (r < 0)
		detail = xstrdup(err->msg);
	else if (moved)
		detail = xasprintf("%s off %s (the Patroni leader) to %s",
				   run->opts.plan ? "etcd leader to move"
						  : "etcd leader moved",
				   a.from->name, a.to->name);
	else
		detail = xstrdup(a.ok_why ? a.ok_why : "nothing to do");
	hp_run_record(run, a.pleader, r < 0 ? HP_STEP_FAILED
				      : moved ? HP_STEP_CHANGED
					      : HP_STEP_OK,
		      "etcd leader", detail, NULL, t);
	free(detail);
	away_release(&a);
	run->phase = saved;
	return r;
}
