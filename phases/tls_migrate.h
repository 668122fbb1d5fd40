#ifndef HP_TLS_MIGRATE_H
#define HP_TLS_MIGRATE_H
/*
 * Moving a plaintext cluster (built by an older haprov, or with
 * `tls: false`) to TLS while it runs (issue 9).
 *
 * The danger it guards against: with tls on, the etcd phase probes its
 * members over https, finds nothing on a plaintext cluster, takes it for
 * a new one and rewrites every member at once with https peer URLs while
 * the member list still says http: etcd breaks. So before any phase, a
 * run with tls on asks each etcd member of the inventory GET /health over
 * plain http; an answer means the cluster still has plaintext listeners
 * and the normal phases must not run (hp_tlsm_gate).
 */
#include <stdbool.h>

#include "engine.h"
#include "rest.h"
#include "util.h"

/*
 * Whether an etcd member of the inventory answers GET /health over plain
 * http on its client port: a JSON object with a "health" member, healthy
 * or not (an https-only etcd answers a plain request with HTTP 400 and
 * text, which is not plaintext; nothing listening is not either). *who
 * (may be NULL) gets the first such member's name in inventory order
 * (borrowed from the inventory). Every member asked at once. Never fails:
 * an unreachable member is simply not plaintext.
 */
bool hp_tlsm_plain_etcd(struct hp_run *run, const char **who);

/*
 * The safety gate, before any phase changes anything: with tls off, or
 * when no etcd member answers plain http and no Patroni member answers
 * GET /patroni over plain http (a migration stopped half-way), returns 0
 * and *plain = false.
 * With tls on and a plaintext member, *plain = true and, when the caller
 * cannot migrate (migrate false), returns HP_EVERIFY with a message that
 * names the member and says what to do; with migrate true returns 0.
 */
int hp_tlsm_gate(struct hp_run *run, bool migrate, bool *plain,
		 struct hp_err *err);

/*
 * The scheme etcd's peers advertise in an /etc/default/etcd text (remote
 * or from the state repository): "https", "http", or NULL when the text
 * has no ETCD_INITIAL_ADVERTISE_PEER_URLS line or it is neither. Static.
 */
const char *hp_tlsm_env_peer_scheme(const char *text, size_t len);

/*
 * A rollback never crosses the move to TLS: restoring a point made before
 * it would put plain http peer URLs, plain Patroni and pg_hba back on a
 * TLS cluster (and the reverse), which no reload undoes. HP_EINVALID,
 * before any change, when the point's etcd peers (its first etcd host's
 * /etc/default/etcd) use another scheme than the inventory's tls says;
 * 0 when they agree or the point has no such file.
 */
int hp_tlsm_rollback_guard(struct hp_run *run, const char *point,
			   struct hp_err *err);

/* ---- stages (tls_migrate_stage.c): pure decisions on gathered facts ---- */

enum hp_tlsm_stage {
	HP_TLSM_CERTS = 1,    /* certificate files to every host */
	HP_TLSM_ETCD_PEERS,   /* member update to https peer URLs, one by one;
				 clients still http */
	HP_TLSM_PAUSE,	      /* Patroni paused */
	HP_TLSM_ETCD_CLIENTS, /* etcd clients https only, one by one: the
				 paused Patroni members lose their DCS, and
				 neither demote nor fail over */
	HP_TLSM_PATRONI,      /* Patroni restarted with https REST and etcd,
				 the leader first (PostgreSQL ssl on by
				 reload), HAProxy check-ssl per member */
	HP_TLSM_RESUME,	      /* Patroni unpaused, the cluster verified */
	HP_TLSM_DONE,	      /* the normal phases */
};

/* What the hosts say, gathered by hp_tlsm_gather (tls_migrate_run.c). */
struct hp_tlsm_etcd_fact {
	bool http;	 /* GET /health answers plain http */
	bool https;	 /* ... and https */
	bool peer_https; /* the member list names https peer URLs only */
};
struct hp_tlsm_facts {
	struct hp_tlsm_etcd_fact *etcd; /* per etcd host, inventory order */
	size_t nr_etcd;
	bool *rest_https; /* per patroni host: its REST API answers https */
	size_t nr_patroni;
	bool paused; /* every Patroni member reports the pause */
};

/* The stage to run next (HP_TLSM_DONE: nothing left to migrate). */
enum hp_tlsm_stage hp_tlsm_next(const struct hp_tlsm_facts *f);
/* One line that says what a stage does, for plan and progress. */
const char *hp_tlsm_stage_line(enum hp_tlsm_stage s);
/* May one member of n be restarted while `healthy` answer healthy? Only
 * when all are and the others keep a quorum (a single member: yes). */
bool hp_tlsm_quorum_ok(size_t n, size_t healthy);
/* Before the migration pauses Patroni (stages 1-2), a pause is someone
 * else's: the migration refuses to start rather than end it later. From
 * stage 3 on a pause is the migration's own (a stopped apply's), and the
 * migration ends it. */
bool hp_tlsm_paused_refused(enum hp_tlsm_stage next, bool paused);

/* ---- intermediate file forms (tls_migrate_env.c) ------------------------ */

/*
 * The etcd EnvironmentFile's forms on the way. No form serves http and
 * https clients on one port: etcd 3.4 does answer /health on both, but
 * its v3 gateway on the http side then closes its own gRPC connection
 * (lab: HTTP 503 "connection closed", code 14; Patroni's etcd3 client
 * lost its DCS and the leader demoted itself).
 */
enum hp_tlsm_etcd_form {
	HP_TLSM_ENV_PEERS, /* clients as before (http, no client TLS
			      settings); this member's peers https */
	HP_TLSM_ENV_FINAL, /* as rendered: https only */
};
/* The form `form` of the final (tls on) etcd.env text. Caller frees. */
char *hp_tlsm_etcd_env(const char *final, size_t len,
		       enum hp_tlsm_etcd_form form);

/*
 * What the migration writes for a phase: set the form, then call
 * hp_phase_host_converge; run->phase_files_cb is this module's while a
 * stage runs (one host at a time). certs_only: only the files under a
 * tls/ directory (stage 1).
 */
struct hp_tlsm_files {
	bool certs_only;
	enum hp_tlsm_etcd_form etcd_form;
	/* haproxy.cfg: per inventory host, its check is check-ssl already
	 * (its Patroni REST API is https); NULL: every server's is */
	const bool *rest_done;
};
/* haproxy.cfg's final text with the check-ssl options cut from the
 * server lines of the hosts not done. Caller frees. */
char *hp_tlsm_haproxy_cfg(const struct hp_inventory *inv, const char *final,
			  size_t len, const bool *rest_done);
void hp_tlsm_files_use(struct hp_run *run, const struct hp_tlsm_files *f);
void hp_tlsm_files_done(struct hp_run *run);

/* ---- the etcd stages (tls_migrate_etcd.c) ------------------------------- */

/* GET /health of an etcd member answers healthy over scheme. */
bool hp_tlsm_etcd_healthy(struct hp_run *run, struct hp_rest *rest,
			  const struct hp_host *host, const char *scheme);
/* The member list as one member sees it (tried over https, then http),
 * new reference, or NULL. */
json_t *hp_tlsm_etcd_members(struct hp_run *run, struct hp_rest *rest);
/* The member named name in a member list: its ID (decimal, checked) and
 * whether all its peer URLs are https. false when it is not there. */
bool hp_tlsm_member(const json_t *list, const char *name, char id[24],
		    bool *peer_https);
/*
 * Every etcd member in inventory order, one at a time: refused unless
 * every member is healthy (hp_tlsm_quorum_ok); for the peers form, the
 * member's peer URL updated to https first (POST member/update) unless
 * it is already; etcd.env in form `form`, etcd restarted when it
 * changed; that member healthy again and every member healthy before the
 * next.
 */
int hp_tlsm_etcd_roll(struct hp_run *run, enum hp_tlsm_etcd_form form,
		      struct hp_err *err);

/* ---- the Patroni stage (tls_migrate_patroni.c) -------------------------- */

/*
 * A GET /cluster answer judged stable: exactly one member is the leader
 * and it is `leader` (NULL: any), every other member running or
 * streaming. *paused gets the answer's "pause". why: a short reason.
 */
bool hp_tlsm_cluster_stable(const json_t *cluster, const char *leader,
			    bool *paused, struct hp_buf *why);

/* The Patroni stage's state between its steps. */
struct hp_tlsm_patroni {
	char *leader;	    /* before the stage, a patroni host */
	bool paused_before; /* paused already: no PATCH */
	bool *rest_done;    /* per inventory host: REST https now */
};
/* The member's GET /patroni (https, else http) says pause. */
bool hp_tlsm_member_paused(struct hp_run *run, struct hp_rest *rest,
			   const struct hp_host *host);
/* Pause (unless paused already) and wait until every member says so. */
int hp_tlsm_pause(struct hp_run *run, struct hp_tlsm_patroni *st,
		  struct hp_err *err);
/* Each member, replicas first and the leader last: Patroni's files in
 * their final form, a restart (PostgreSQL goes on running, paused), its
 * REST API https, HAProxy's check of it check-ssl on every HAProxy host,
 * and the cluster stable with the same leader. */
int hp_tlsm_patroni_roll(struct hp_run *run, struct hp_tlsm_patroni *st,
			 struct hp_err *err);
/* Resume, the cluster stable again. */
int hp_tlsm_resume(struct hp_run *run, struct hp_tlsm_patroni *st,
		   struct hp_err *err);
void hp_tlsm_patroni_release(struct hp_tlsm_patroni *st);

/* ---- the driver (tls_migrate_run.c) -------------------------------------- */

/* What the hosts say now (see struct hp_tlsm_facts). Release with
 * hp_tlsm_facts_release. */
void hp_tlsm_gather(struct hp_run *run, struct hp_rest *rest,
		    struct hp_tlsm_facts *f);
void hp_tlsm_facts_release(struct hp_tlsm_facts *f);

/*
 * The migration of a plaintext cluster (the gate said so), before the
 * normal phases. plan: prints the stages still to run, one line each,
 * and writes nothing. apply: runs them in order, each verified, stage by
 * stage until the facts say HP_TLSM_DONE; a stage that fails, or after
 * which the facts do not move on, stops with its message (the next plan
 * names the stage a new apply resumes with).
 */
int hp_tlsm_migrate(struct hp_run *run, struct hp_err *err);

#endif
