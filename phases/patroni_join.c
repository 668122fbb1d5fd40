/*
 * New members of a live Patroni cluster (a host added to the inventory):
 * a patroni host that GET /cluster does not list and whose Patroni is not
 * running joins before anything else of the phase, so the checks of a
 * stable cluster (every inventory member present and streaming) hold
 * again before the dynamic settings or any restart. Its files, data
 * directory and service are the same steps as any member's; Patroni then
 * clones it from the leader (pg_basebackup), and the run waits until it
 * streams. A member that is merely down (its Patroni running or not
 * reachable) is not new: the usual path deals with it.
 *
 * In a plan the new hosts' steps are reported and they stay marked
 * (hp_hostrun.patroni_new): nothing asks their REST API, which does not
 * answer yet.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "staged_priv.h"

char *hp_patroni_dcs_key(const struct hp_inventory *inv, const char *key)
{
	const char *ns = inv->patroni.namespace_;
	size_t n = strlen(ns);

	return xasprintf("%s%s%s/%s", ns, n && ns[n - 1] == '/' ? "" : "/",
			 inv->patroni.scope, key);
}

const json_t *hp_patroni_member(const json_t *cluster, const char *name)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(cluster, "members"), i, m)
	{
		const char *n = json_string_value(json_object_get(m, "name"));

		if (n && !strcmp(n, name))
			return m;
	}
	return NULL;
}

bool hp_patroni_is_new(const json_t *cluster, const char *name,
		       const char *is_active)
{
	/* is-active prints one word; only "active" means running */
	return !hp_patroni_member(cluster, name) &&
	       strcmp(is_active ? is_active : "", "active\n") != 0;
}

/* Mark the new hosts; their number. */
static size_t mark_new(struct hp_run *run, const json_t *cluster,
		       struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i, n = 0;

	for (i = 0; i < inv->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];
		struct hp_buf out = HP_BUF_INIT;

		h->patroni_new = false;
		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI) ||
		    hp_patroni_member(cluster, inv->hosts[i].name))
			continue;
		/* is-active exits 3 when inactive: only its word counts */
		if (hp_host_sh_read(h, "systemctl is-active patroni || true",
				    NULL, 0, 30, &out, err) == 0 &&
		    hp_patroni_is_new(cluster, inv->hosts[i].name, out.buf)) {
			h->patroni_new = true;
			n++;
		}
		hp_buf_release(&out);
	}
	return n;
}

int hp_patroni_join(struct hp_run *run, struct hp_rest *rest,
		    const char *leader, hp_host_fn start, void *arg,
		    struct hp_err *err)
{
	struct hp_rest_resp resp;
	int64_t t = hp_now_ms();
	size_t i, n;
	int r;

	hp_rest_resp_init(&resp);
	r = hp_member_get(run, rest, leader, "/cluster", &resp, err);
	n = r == 0 ? mark_new(run, resp.json, err) : 0;
	hp_rest_resp_release(&resp);
	for (i = 0; r == 0 && n && i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		if (!h->patroni_new || !h->selected)
			continue;
		hp_run_record(run, h->host->name, HP_STEP_CHANGED,
			      "patroni member add",
			      "a new replica, cloned from the leader", NULL, t);
		h->run->standbys_new = true;
		if ((r = start(h, arg)) < 0) {
			h->failed = true;
			*err = h->err;
		}
		/* a plan keeps the mark: its REST API is not asked */
		if (!run->opts.plan)
			h->patroni_new = false;
	}
	if (r == 0 && n && !run->opts.plan) {
		t = hp_now_ms();
		r = hp_patroni_wait_healthy(run, rest, leader,
					    hp_run_wait_s(run) * 1000, err);
		hp_run_record(run, NULL, r < 0 ? HP_STEP_FAILED : HP_STEP_OK,
			      "new members streaming", r < 0 ? err->msg : NULL,
			      NULL, t);
	}
	return r;
}
