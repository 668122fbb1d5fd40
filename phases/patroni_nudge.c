/*
 * Waking Patroni's loop instead of waiting for its next turn.
 *
 * A member's HA loop runs once every loop_wait seconds (10 by default)
 * and sleeps in between, and two things a run waits for happen only in
 * that loop:
 *   - the leader creates a new member's replication slot. A replica cloned
 *     right after a bootstrap cannot stream until then ("replication slot
 *     does not exist"), and its walreceiver then tries again only every
 *     wal_retrieve_retry_interval (5 s);
 *   - each member writes its WAL position to the DCS. GET /cluster computes
 *     a replica's lag from those positions, so right after a replica
 *     starts streaming it reports a lag that is only stale.
 * Patroni wakes a member's loop whenever its REST API answers PATCH
 * /config (api.py calls ha.wakeup() after the patch). A patch that sets
 * loop_wait to the value GET /config has just given changes nothing in
 * the DCS (Patroni writes only a changed config) and only wakes the loop.
 * Measured on the lab: a fresh cluster's replicas streamed ~9 s after
 * their start and reported a stale lag for ~8 s more without this.
 *
 * The slot created, a replica whose walreceiver already failed still
 * waits out wal_retrieve_retry_interval. A SIGHUP to its postmaster (what
 * pg_ctl reload sends; the postmaster passes it to the startup process,
 * whose handler sets the latch that wait sleeps on) makes it try again at
 * once: seen on the lab, the replica streamed 5 s after "replication slot
 * does not exist" without it.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "shell.h"
#include "staged_priv.h"

/* loop_wait's bounds: Patroni's own validation accepts 1 and up; a value
 * above an hour is no loop_wait haprov would write */
#define NUDGE_LOOP_WAIT_MAX 3600

int hp_patroni_nudge_body(const json_t *config, json_t **body,
			  struct hp_err *err)
{
	const json_t *lw = json_is_object(config)
				   ? json_object_get(config, "loop_wait")
				   : NULL;

	*body = NULL;
	if (!json_is_integer(lw) || json_integer_value(lw) < 1 ||
	    json_integer_value(lw) > NUDGE_LOOP_WAIT_MAX)
		return hp_err_set(err, HP_EVERIFY,
				  "GET /config has no loop_wait between 1 and "
				  "%d: not waking the loop with it",
				  NUDGE_LOOP_WAIT_MAX);
	*body = json_pack("{sI}", "loop_wait",
			  (json_int_t)json_integer_value(lw));
	if (!*body)
		hp_die_oom();
	return 0;
}

int hp_patroni_nudge(struct hp_run *run, struct hp_rest *rest,
		     const char *member, struct hp_err *err)
{
	struct hp_rest_resp resp;
	json_t *body = NULL;
	int r;

	hp_rest_resp_init(&resp);
	if ((r = hp_member_get(run, rest, member, "/config", &resp, err)) ==
		    0 &&
	    (r = hp_patroni_nudge_body(resp.json, &body, err)) == 0)
		r = hp_member_write(run, rest, "PATCH", member, "/config", body,
				    3000, &resp, err);
	json_decref(body);
	hp_rest_resp_release(&resp);
	if (r < 0)
		hp_debug("waking patroni's loop on %s: %s", member, err->msg);
	return r;
}

void hp_patroni_nudge_all(struct hp_run *run, struct hp_rest *rest)
{
	size_t i;

	for (i = 0; i < run->inv->nr_hosts; i++) {
		const struct hp_host *h = &run->inv->hosts[i];
		struct hp_err e;

		if (h->roles & HP_ROLE_PATRONI)
			hp_patroni_nudge(run, rest, h->name, &e);
	}
}

void hp_patroni_wake_standby_cmd(struct hp_buf *out, const char *data_dir)
{
	/* the pid file's first line, if it is a number and that process is
	 * a postgres (a stale file's pid may belong to anything) */
	hp_buf_adds(out, "p=$(head -n 1 ");
	hp_shell_quote(out, data_dir);
	hp_buf_adds(out, "/postmaster.pid 2>/dev/null); case $p in ''|*[!0-9]*) "
			 "exit 0 ;; esac; [ \"$(cat /proc/$p/comm "
			 "2>/dev/null)\" = postgres ] && kill -HUP \"$p\"; "
			 "exit 0");
}

void hp_patroni_wake_standbys(struct hp_run *run, const char *leader)
{
	struct hp_buf cmd = HP_BUF_INIT;
	size_t i;

	if (run->opts.plan)
		return;
	hp_patroni_wake_standby_cmd(&cmd, run->inv->patroni.data_dir);
	for (i = 0; i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];
		struct hp_err e;

		if (!(h->host->roles & HP_ROLE_PATRONI) || h->failed ||
		    !h->selected || !strcmp(h->host->name, leader))
			continue;
		hp_err_clear(&e);
		if (hp_host_sh(h, cmd.buf, NULL, 0, 10, NULL, &e) < 0)
			hp_debug("waking %s's startup process: %s",
				 h->host->name, e.msg);
	}
	hp_buf_release(&cmd);
}
