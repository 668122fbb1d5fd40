#ifndef HP_STAGED_PRIV_H
#define HP_STAGED_PRIV_H
/*
 * Shared by the files of the staged change (staged.c, staged_cluster.c,
 * staged_sql.c, rolling.c) and nothing else: talking to one Patroni member
 * by its inventory name. Every name passed here is an inventory host's;
 * a name from the network is compared with the inventory first, never
 * used to build a URL.
 */
#include "phases.h"

/* How much of a remote text (a body, a name) an error message quotes. */
#define HP_STAGED_QUOTE 200

/*
 * GET path on patroni host `name`: 0 with resp->json an object, else an
 * error naming the answer (status and the sanitized start of the body).
 */
int hp_member_get(struct hp_run *run, struct hp_rest *rest, const char *name,
		  const char *path, struct hp_rest_resp *resp,
		  struct hp_err *err);

/*
 * POST or PATCH with the REST API credentials; only 200 is success: any
 * other status (4xx, 5xx, even 202 "scheduled") is HP_EREMOTE with the
 * sanitized start of the body, and resp keeps the answer so the caller can
 * tell hp_member_busy. The call may take long (a restart is synchronous):
 * timeout_ms.
 */
int hp_member_write(struct hp_run *run, struct hp_rest *rest,
		    const char *method, const char *name, const char *path,
		    const json_t *body, int timeout_ms,
		    struct hp_rest_resp *resp, struct hp_err *err);

/* Patroni's answer to an action it cannot take because another one is
 * under way (503 "demote already in progress", "restart already in
 * progress"): the cluster is in transition, wait and ask again. */
bool hp_member_busy(const struct hp_rest_resp *resp);

/*
 * Whether member `name` waits for a restart, in its own words (GET
 * /patroni "pending_restart"): /cluster shows the flag only after the
 * member's next write to the DCS. An answer that cannot be read, or a
 * flag that is not a boolean, is an error, never "not pending".
 */
int hp_member_pending(struct hp_run *run, struct hp_rest *rest,
		      const char *name, bool *out, struct hp_err *err);
/* The same answer, and whether its "state" says the member is down: a
 * state Patroni stays in until someone acts ("start failed", "restart
 * failed (...)", "crashed", "stopped"). A state that is not a string is
 * an error. */
int hp_member_flags(struct hp_run *run, struct hp_rest *rest,
		    const char *name, bool *pending, bool *down,
		    struct hp_err *err);

/*
 * Whether a member that is down is this run's to bring back: a rollback
 * (hp_desired_point) whose restarts are not done yet (run->repaired)
 * starts the members the bad change left down, so nothing waits for them
 * to come back by themselves. Any other run waits for every member.
 */
bool hp_staged_repairing(const struct hp_run *run);

/*
 * One look at the cluster, no waiting: GET /cluster (from the first
 * patroni host that answers with a JSON object) judged by
 * hp_staged_cluster_check, then, when that is stable, the leader's GET
 * /patroni by hp_staged_streaming. < 0 only for a hostile answer; an
 * unanswered request is "not stable" with why saying so. *leader is
 * borrowed from the inventory; *cluster (may be NULL) gets the /cluster
 * answer (new reference, or NULL).
 */
int hp_staged_look(struct hp_run *run, struct hp_rest *rest,
		   const char **leader, json_t **cluster, bool *stable,
		   struct hp_buf *why, struct hp_err *err);

/*
 * Run the SQL script on host's PostgreSQL through hp_psql_command, the
 * script on standard input (never in argv). out receives psql's output.
 * A failure's message (remote stderr) is sanitized. The staged SQL only
 * reads (pg_settings), so it takes no host lock: a SELECT must not wait
 * behind another run's package install.
 */
int hp_staged_psql(struct hp_run *run, const char *host, const char *sql,
		   struct hp_buf *out, struct hp_err *err);

/*
 * Restart every member Patroni flags pending_restart, one at a time, each
 * after hp_staged_wait_stable (rolling.c). leader: the leader's inventory
 * name when the restarts begin; leader_first from hp_restart_leader_first.
 */
int hp_rolling_restart(struct hp_run *run, struct hp_rest *rest,
		       const char *leader, bool leader_first,
		       struct hp_err *err);

#endif
