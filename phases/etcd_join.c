/*
 * A member's initial-cluster settings, and joining a live etcd cluster.
 *
 * etcd reads ETCD_INITIAL_CLUSTER, _STATE and _TOKEN only when its data
 * directory is empty. They live in their own file, /etc/default/etcd-
 * initial (the drop-in names it), which haprov writes only then: for the
 * members of a new cluster (state new, the inventory's members), and for
 * a member joining a running one (state existing, the members etcd lists
 * after `member add`). A member with data is never touched, so growing the
 * inventory restarts no running etcd member.
 *
 * A join, one member at a time: the member's data directory must be
 * empty; POST /v3/cluster/member/add with its peer URL on a healthy
 * member; its initial file from the answer; its files and service; then
 * it must answer healthy. If it does not start, the member added for it
 * is removed again, so no unstarted member is left lowering the quorum
 * tolerance. A member added by a run that was interrupted before the
 * start is found unstarted in the list and started without a second add.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_members.h"
#include "phases.h"
#include "shell.h"

#define INITIAL_PATH "/etc/default/etcd-initial"

static const char *const etcd_svcs[] = { "etcd" };

char *hp_etcd_peer_url(const struct hp_inventory *inv, const struct hp_host *h)
{
	return hp_url(h, inv->etcd.peer_port, "");
}

void hp_etcd_initial_text(struct hp_buf *out, const struct hp_inventory *inv,
			  const char *cluster, bool existing)
{
	hp_buf_adds(out,
		    "# Managed by haprov. etcd reads this (its drop-in names "
		    "it) only when\n# its data directory is empty: when the "
		    "cluster is created, or when\n# this member joins a "
		    "running one. It is not changed afterwards.\n");
	hp_buf_addf(out, "ETCD_INITIAL_CLUSTER=%s\n", cluster);
	hp_buf_addf(out, "ETCD_INITIAL_CLUSTER_STATE=%s\n",
		    existing ? "existing" : "new");
	hp_buf_addf(out, "ETCD_INITIAL_CLUSTER_TOKEN=%s\n", inv->etcd.token);
}

/* The remote command: "data" when the member has data; else, outside a
 * plan, the file from stdin installed atomically and "wrote"; in a plan
 * "empty". */
void hp_etcd_initial_cmd(struct hp_buf *cmd, const struct hp_inventory *inv,
			 bool plan)
{
	hp_buf_adds(cmd, "d=");
	hp_shell_quote(cmd, inv->etcd.data_dir);
	hp_buf_adds(cmd, "; if [ -e \"$d/member\" ]; then echo data; ");
	if (plan) {
		hp_buf_adds(cmd, "else echo empty; fi");
		return;
	}
	hp_buf_adds(cmd, "else umask 022 && t=" INITIAL_PATH ".haprov-tmp && "
			 "cat > \"$t\" && mv -f \"$t\" " INITIAL_PATH
			 " && echo wrote; fi");
}

/* The answer of hp_etcd_initial_cmd: 1 data, 0 wrote (or empty in a
 * plan), HP_EVERIFY anything else. */
int hp_etcd_initial_answer(const char *out)
{
	if (!out)
		return HP_EVERIFY;
	if (!strcmp(out, "data\n"))
		return 1;
	if (!strcmp(out, "wrote\n") || !strcmp(out, "empty\n"))
		return 0;
	return HP_EVERIFY;
}

/* Write host's initial file unless it has data. *has_data: it had. */
static int initial_host(struct hp_hostrun *h, const char *cluster,
			bool existing, bool *has_data, struct hp_err *err)
{
	const struct hp_inventory *inv = h->run->inv;
	struct hp_buf cmd = HP_BUF_INIT, text = HP_BUF_INIT, out = HP_BUF_INIT;
	int64_t t = hp_now_ms();
	/* no cluster: only the check */
	bool plan = h->run->opts.plan || !cluster;
	int r;

	hp_etcd_initial_cmd(&cmd, inv, plan);
	if (cluster)
		hp_etcd_initial_text(&text, inv, cluster, existing);
	r = plan ? hp_host_sh_read(h, cmd.buf, NULL, 0, 30, &out, err)
		 : hp_host_sh(h, cmd.buf, text.buf, text.len, 30, &out, err);
	if (r == 0 && (r = hp_etcd_initial_answer(out.buf)) < 0)
		r = hp_err_set(err, HP_EVERIFY,
			       "etcd's initial-cluster file: unexpected answer");
	*has_data = r == 1;
	if (r >= 0 && cluster)
		hp_run_record(h->run, h->host->name,
			      r == 1 ? HP_STEP_OK : HP_STEP_CHANGED,
			      "etcd initial cluster",
			      r == 1 ? "the member has data: not read" : cluster,
			      NULL, t);
	hp_buf_release(&cmd);
	hp_buf_release(&text);
	hp_buf_release(&out);
	return r < 0 ? r : 0;
}

int hp_etcd_initial_new(struct hp_hostrun *h, struct hp_err *err)
{
	const struct hp_inventory *inv = h->run->inv;
	struct hp_buf cluster = HP_BUF_INIT;
	bool has_data;
	size_t i;
	int r;

	for (i = 0; i < inv->nr_hosts; i++) {
		char *url;

		if (!(inv->hosts[i].roles & HP_ROLE_ETCD))
			continue;
		url = hp_etcd_peer_url(inv, &inv->hosts[i]);
		hp_buf_addf(&cluster, "%s%s=%s", cluster.len ? "," : "",
			    inv->hosts[i].name, url);
		free(url);
	}
	r = initial_host(h, cluster.buf, false, &has_data, err);
	hp_buf_release(&cluster);
	return r;
}

/* ---- the member list, add and remove ------------------------------------ */

/* POST path with body on the first etcd host that answers 200; its
 * answer in resp. */
static int etcd_post(struct hp_run *run, struct hp_rest *rest,
		     const char *path, json_t *body,
		     struct hp_rest_resp *resp, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i;
	int r = hp_err_set(err, HP_ECONNECT, "no etcd member answers");

	for (i = 0; i < inv->nr_hosts; i++) {
		char *url;

		if (!(inv->hosts[i].roles & HP_ROLE_ETCD))
			continue;
		url = hp_url(&inv->hosts[i], inv->etcd.client_port, path);
		r = hp_rest_call(rest, "POST", url, body, resp, err);
		free(url);
		if (r == 0 && resp->status == 200)
			return 0;
		if (r == 0) {
			struct hp_buf b = HP_BUF_INIT;

			hp_buf_add_printable(&b, resp->body.buf,
					     resp->body.len, 200);
			r = hp_err_set(err, HP_EREMOTE,
				       "etcd member %s: POST %s: HTTP %ld: %s",
				       inv->hosts[i].name, path, resp->status,
				       b.buf);
			hp_buf_release(&b);
			/* an answer other than 200 is etcd's own refusal */
			return r;
		}
	}
	return r;
}

bool hp_etcd_reconfig_busy(const struct hp_rest_resp *resp)
{
	return resp->status == 503 && resp->body.buf &&
	       strstr(resp->body.buf, "unhealthy cluster") != NULL;
}

/*
 * A membership change (member/add, member/remove). etcd refuses one with
 * 503 "unhealthy cluster" while fewer than a quorum of its members have
 * been connected for a few seconds (its strict reconfiguration check): a
 * member that just restarted does not count yet. Asked again each second
 * for up to validation.timeout_s.
 */
static int etcd_reconfig(struct hp_run *run, struct hp_rest *rest,
			 const char *path, json_t *body,
			 struct hp_rest_resp *resp, struct hp_err *err)
{
	int64_t end = hp_now_ms() + run->inv->validation.timeout_s * 1000LL;
	int r;

	while ((r = etcd_post(run, rest, path, body, resp, err)) < 0 &&
	       hp_etcd_reconfig_busy(resp) && hp_now_ms() < end &&
	       !hp_interrupted())
		hp_sleep_ms(1000);
	return r;
}

int hp_etcd_members_get(struct hp_run *run, struct hp_rest *rest,
			struct hp_etcd_members *ms, struct hp_err *err)
{
	struct hp_rest_resp resp;
	json_t *empty = json_object();
	int r;

	hp_rest_resp_init(&resp);
	r = etcd_post(run, rest, "/v3/cluster/member/list", empty, &resp, err);
	if (r == 0)
		r = hp_etcd_members_parse(resp.json, ms, err);
	json_decref(empty);
	hp_rest_resp_release(&resp);
	return r;
}

int hp_etcd_member_remove(struct hp_run *run, struct hp_rest *rest,
			  uint64_t id, struct hp_err *err)
{
	struct hp_rest_resp resp;
	char ids[24];
	json_t *body;
	int r;

	snprintf(ids, sizeof(ids), "%" PRIu64, id);
	body = json_pack("{ss}", "ID", ids);
	hp_rest_resp_init(&resp);
	r = etcd_reconfig(run, rest, "/v3/cluster/member/remove", body, &resp,
			  err);
	json_decref(body);
	hp_rest_resp_release(&resp);
	return r;
}

int hp_etcd_delete_key(struct hp_run *run, struct hp_rest *rest,
		       const char *key, struct hp_err *err)
{
	struct hp_rest_resp resp;
	char *b64 = hp_base64(key, strlen(key));
	json_t *body = json_pack("{ss}", "key", b64);
	int r;

	hp_rest_resp_init(&resp);
	r = etcd_post(run, rest, "/v3/kv/deleterange", body, &resp, err);
	json_decref(body);
	hp_rest_resp_release(&resp);
	free(b64);
	return r;
}

/* member add for peer; the members list after it in *ms. */
static int member_add(struct hp_run *run, struct hp_rest *rest,
		      const char *peer, struct hp_etcd_members *ms,
		      struct hp_err *err)
{
	struct hp_rest_resp resp;
	json_t *body = json_pack("{s[s]}", "peerURLs", peer);
	int r;

	hp_rest_resp_init(&resp);
	r = etcd_reconfig(run, rest, "/v3/cluster/member/add", body, &resp,
			  err);
	if (r == 0)
		r = hp_etcd_members_parse(resp.json, ms, err);
	json_decref(body);
	hp_rest_resp_release(&resp);
	return r;
}

/* ---- one join ------------------------------------------------------------ */

struct join {
	struct hp_rest *rest;
	uint64_t id; /* already added (unstarted), else 0 */
};

/* Files, service start (it returns at once: the member becomes ready
 * once it has caught up) and health. */
static int start_member(struct hp_hostrun *h, struct hp_rest *rest,
			struct hp_err *err)
{
	const struct hp_inventory *inv = h->run->inv;
	struct hp_host_plan p = {
		.svcs = etcd_svcs, .nr_svcs = HP_ARRAY_SIZE(etcd_svcs),
		.skip_packages = true,
	};
	struct hp_facts facts;
	char *url;
	int r;

	if ((r = hp_phase_host_converge(h, "etcd", &p, &facts, err)) < 0)
		return r;
	r = hp_step_service(h, "etcd", &facts.svcs[0],
			    hp_service_needs(h, "etcd", &facts.svcs[0]), true,
			    err);
	hp_facts_release(&facts);
	if (r < 0 || h->run->opts.plan)
		return r;
	url = hp_url(h->host, inv->etcd.client_port, "/health");
	r = hp_rest_poll(rest, "GET", url, NULL, hp_run_wait_s(h->run) * 1000,
			 500, hp_etcd_health_ok, NULL, NULL, err);
	free(url);
	if (r < 0)
		hp_err_prefix(err, "etcd member %s did not become healthy",
			      h->host->name);
	return r;
}

static int join_host(struct hp_hostrun *h, void *arg)
{
	struct join *j = arg;
	const struct hp_inventory *inv = h->run->inv;
	struct hp_etcd_members ms = { 0 };
	struct hp_buf cluster = HP_BUF_INIT;
	char *peer = hp_etcd_peer_url(inv, h->host);
	int64_t t = hp_now_ms();
	bool has_data = false, added = false;
	int r;

	/* a plan, or a refusal, before anything changes: the data check */
	r = initial_host(h, NULL, true, &has_data, &h->err);
	if (r == 0 && has_data)
		r = hp_err_set(&h->err, HP_EINVALID,
			       "%s: etcd's data directory %s holds a member's "
			       "data; a member joins only empty (if it is a "
			       "removed member's, move it away)",
			       h->host->name, inv->etcd.data_dir);
	if (r == 0 && h->run->opts.plan) {
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED,
			      "etcd member add", peer, NULL, t);
		r = start_member(h, j->rest, &h->err);
		goto out;
	}
	if (r == 0 && !j->id) {
		r = member_add(h->run, j->rest, peer, &ms, &h->err);
		added = r == 0;
		for (size_t i = 0; added && i < ms.nr; i++)
			if (hp_etcd_member_is(&ms.m[i], h->host->name, peer))
				j->id = ms.m[i].id;
	} else if (r == 0) {
		r = hp_etcd_members_get(h->run, j->rest, &ms, &h->err);
	}
	if (r == 0) {
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED,
			      "etcd member add",
			      added ? peer : "added before: starting it",
			      NULL, t);
		r = hp_etcd_initial_cluster(&ms, h->host->name, peer, &cluster,
					    &h->err);
	}
	if (r == 0)
		r = initial_host(h, cluster.buf, true, &has_data, &h->err);
	if (r == 0)
		r = start_member(h, j->rest, &h->err);
	if (r < 0 && j->id) {
		struct hp_err e;

		/* no unstarted member left behind: it lowers the tolerance */
		if (hp_etcd_member_remove(h->run, j->rest, j->id, &e) == 0)
			hp_err_prefix(&h->err,
				      "the member added for %s was removed "
				      "again",
				      h->host->name);
	}
out:
	hp_etcd_members_release(&ms);
	hp_buf_release(&cluster);
	free(peer);
	return r;
}

/* Healthy members among the inventory's etcd hosts and those leaving. */
static size_t count_healthy(struct hp_run *run, struct hp_rest *rest,
			    const struct hp_etcd_change *c, size_t *leaving)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	struct hp_buf why = HP_BUF_INIT;
	size_t i, k, n = 0;

	*leaving = 0;
	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		bool leaves = false, joins = false;
		struct hp_err e;
		char *url;

		for (k = 0; k < c->nr_leave; k++)
			leaves |= c->leave[k] == h;
		for (k = 0; k < c->nr_join; k++)
			joins |= c->join[k] == h;
		if (joins || (!(h->roles & HP_ROLE_ETCD) && !leaves))
			continue;
		url = hp_url(h, inv->etcd.client_port, "/health");
		if (hp_rest_call(rest, "GET", url, NULL, &resp, &e) == 0 &&
		    hp_etcd_health_ok(&resp, NULL, &why)) {
			n++;
			*leaving += leaves;
		}
		free(url);
	}
	hp_buf_release(&why);
	hp_rest_resp_release(&resp);
	return n;
}

int hp_etcd_change_read(struct hp_run *run, struct hp_rest *rest,
			struct hp_etcd_change *c, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_etcd_members ms;
	struct hp_buf w = HP_BUF_INIT;
	char **peers = xcalloc(inv->nr_hosts + 1, sizeof(*peers));
	size_t i;
	int r;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < inv->nr_hosts; i++)
		peers[i] = hp_etcd_peer_url(inv, &inv->hosts[i]);
	r = hp_etcd_members_get(run, rest, &ms, err);
	if (r == 0) {
		r = hp_etcd_change_plan(inv, peers, &ms, c, err);
		hp_etcd_members_release(&ms);
	}
	if (r == 0 && (c->nr_join || c->nr_leave)) {
		size_t leaving;
		size_t healthy = count_healthy(run, rest, c, &leaving);

		r = hp_etcd_change_check(c, healthy, leaving, err);
		hp_etcd_change_warn(c, &w);
		for (char *s = w.buf, *nl; s && *s; s = nl + 1) {
			nl = strchr(s, '\n');
			*nl = '\0';
			hp_run_note(run, "-", "warning: %s", s);
		}
	}
	if (r < 0)
		hp_etcd_change_release(c);
	for (i = 0; i < inv->nr_hosts; i++)
		free(peers[i]);
	free(peers);
	hp_buf_release(&w);
	return r;
}

int hp_etcd_join(struct hp_run *run, struct hp_rest *rest,
		 const struct hp_etcd_change *c, struct hp_err *err)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < c->nr_join; i++) {
		struct join j = { rest, c->join_id[i] };
		struct hp_hostrun *h = &run->hosts[c->join[i] - run->inv->hosts];

		if ((r = join_host(h, &j)) < 0) {
			h->failed = true;
			*err = h->err;
		}
	}
	return r;
}
