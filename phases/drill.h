#ifndef HP_DRILL_H
#define HP_DRILL_H
/*
 * `haprov drill`: a fault on the Patroni leader under a write load, timed
 * stage by stage (provisioner/cmd_drill.c runs the trials):
 *
 *   drill_probe.c   the write probe: numbered rows through HAProxy's
 *                   primary port with libpq, one every 50 ms, reconnecting
 *                   on error; every acknowledged number kept with its time
 *   drill_watch.c   the stages, watched while the fault plays out: the
 *                   leader key in etcd, the new leader in Patroni's REST
 *                   API, its promotion (timeline), HAProxy's stats, the
 *                   first acknowledged write after the fault
 *   drill_fault.c   the faults (switchover, postgres-kill, crash) and the
 *                   crashed host's boot
 *   drill_report.c  one line per trial, min/median/max per stage, JSON
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine.h"

enum hp_drill_kind {
	HP_DRILL_SWITCHOVER,
	HP_DRILL_CRASH,
	HP_DRILL_PGKILL,
};
/* "switchover", "crash", "postgres-kill" -> the kind; false otherwise. */
bool hp_drill_kind_parse(const char *s, enum hp_drill_kind *out);
const char *hp_drill_kind_name(enum hp_drill_kind k);

/* The stages after the fault, in the order they normally come. */
enum hp_drill_stage {
	HP_DS_KEY,	/* etcd's leader key gone or naming another member */
	HP_DS_LEADER,	/* Patroni's GET /cluster names a new leader */
	HP_DS_PROMOTED, /* the new leader's timeline moved on */
	HP_DS_HAPROXY,	/* HAProxy's primary backend routes to it */
	HP_DS_WRITE,	/* the first write acknowledged after the fault;
			   a switchover's: after its longest gap */
	HP_DS_GAP,	/* the longest gap between two acknowledged writes
			   (from the last before the fault): not a time
			   after the fault but a length */
	HP_DS_NR
};
extern const char *const hp_drill_stage_names[HP_DS_NR];

#define HP_DRILL_NAME_MAX 64

/* One trial's result. at[]: ms after the fault, -1 when not seen. */
struct hp_drill_trial {
	int n;
	enum hp_drill_kind kind;
	char victim[HP_DRILL_NAME_MAX];	    /* the leader the fault hit */
	char new_leader[HP_DRILL_NAME_MAX]; /* "" when it kept leading */
	int64_t at[HP_DS_NR];
	long rpo;	    /* acknowledged rows missing after; -1 unknown */
	long acked;	    /* rows acknowledged during the trial */
	bool done;	    /* the trial ran to the end (healthy again) */
	char note[256];	    /* why it did not, or what happened */
};
void hp_drill_trial_init(struct hp_drill_trial *t, int n,
			 enum hp_drill_kind kind, const char *victim);
/* The RTO: the first write after the fault (at[HP_DS_WRITE]); for a
 * switchover, whose leader keeps serving for a while after it started, the
 * first write after the longest gap. */
#define HP_DRILL_RTO(t) ((t)->at[HP_DS_WRITE])

/* ---- the write probe (drill_probe.c) ------------------------------------ */

/* Where and as whom the probe writes; strings borrowed for the probe's
 * life. sslmode/sslrootcert NULL: libpq's defaults. */
struct hp_probe_conf {
	const char *host;
	int port;
	const char *user, *password, *db;
	const char *sslmode, *sslrootcert;
	const char *tag; /* the rows' tag: [A-Za-z0-9._-], ≤ 64 */
	int interval_ms;
};

#define HP_PROBE_MAX_ACKS 100000 /* 83 min at 50 ms: a trial is minutes */

struct hp_probe {
	struct hp_probe_conf conf;
	pthread_t th;
	pthread_mutex_t mu;
	bool running, stop;
	int64_t *ack_n, *ack_at; /* acknowledged numbers and when */
	size_t nr_acks;
	unsigned long errors;
	char last_error[256]; /* printable, password masked */
};

/* The probe's table, made when missing (one connection, then closed). */
int hp_probe_prepare(const struct hp_probe_conf *c, struct hp_err *err);
/* Start writing in a thread; 0 or an error (nothing started). */
int hp_probe_start(struct hp_probe *p, const struct hp_probe_conf *c,
		   struct hp_err *err);
/* Stop the thread (at most one connect timeout later); keeps the acks. */
void hp_probe_stop(struct hp_probe *p);
void hp_probe_release(struct hp_probe *p);
/* Rows acknowledged so far; the first acknowledged at or after t_ms (its
 * time, -1 when none yet). */
size_t hp_probe_acks(struct hp_probe *p);
int64_t hp_probe_first_ack_after(struct hp_probe *p, int64_t t_ms);
/* The longest gap between consecutive acknowledgements from the last one
 * before t_ms on (-1: none after t_ms); *end_at (may be NULL) the time of
 * the acknowledgement that ended it. */
int64_t hp_probe_longest_gap(struct hp_probe *p, int64_t t_ms,
			     int64_t *end_at);
/* The last error the probe saw (copied into out). */
void hp_probe_last_error(struct hp_probe *p, char *out, size_t len);
/*
 * The RPO: the acknowledged numbers missing from the table, read through
 * the probe's own route (HAProxy, so from the current primary); then the
 * probe's rows are deleted. *missing gets the count.
 */
int hp_probe_count_missing(struct hp_probe *p, long *missing,
			   struct hp_err *err);
/* Of the sorted numbers have[0..nr_have), how many of want[0..nr_want)
 * are absent (the RPO's arithmetic; want need not be sorted). */
long hp_probe_missing_of(const int64_t *want, size_t nr_want,
			 const int64_t *have, size_t nr_have);

/* ---- the watcher (drill_watch.c) ---------------------------------------- */

/* What the watcher asks and knows before the fault. Hosts: members other
 * than the victim (a crashed host answers nothing). */
struct hp_drill_watch {
	struct hp_run *run;
	const char *victim;	  /* the leader before the fault */
	long old_timeline;	  /* its timeline before the fault */
	const struct hp_host *etcd, *patroni, *haproxy;
	struct hp_probe *probe;
	int64_t t0;		  /* hp_now_ms() of the fault */
	int deadline_ms;	  /* give up on the first write after this */
	bool rto_after_gap;	  /* a switchover: see HP_DRILL_RTO */
	/* set by the caller's fault thread when the fault call returned */
	volatile bool fault_done;
};

/*
 * Poll every 50 ms until the first write after the fault is acknowledged
 * and the fault call returned (then one more round, so a stage that came
 * just before is not missed), or the deadline. Stages into t->at[],
 * the new leader's name into t->new_leader. HP_ETIMEOUT when no write
 * came, HP_EINTR when interrupted.
 */
int hp_drill_watch(struct hp_drill_watch *w, struct hp_drill_trial *t,
		   struct hp_err *err);

/* The judging, exposed for the unit tests. The value of etcd's range
 * answer for the leader key (base64 decoded into out, "" when the key is
 * absent); HP_EVERIFY for an answer that is not a range answer. */
int hp_drill_etcd_value(const json_t *answer, char *out, size_t len,
			struct hp_err *err);
/* The primary backend's UP servers from a stats CSV, comma-separated. */
int hp_drill_primary_up(const char *csv, size_t len, char *out, size_t olen,
			struct hp_err *err);
/* The key's path: <namespace><scope>/leader ("/service/lab/leader"). */
char *hp_drill_leader_key(const struct hp_inventory *inv);

/* ---- faults (drill_fault.c) --------------------------------------------- */

/* Fire the fault on victim (candidate: the switchover's target; drain:
 * haprov's switchover, HAProxy drained and told; else Patroni's alone). */
int hp_drill_fault(struct hp_run *run, enum hp_drill_kind kind, bool drain,
		   const char *victim, const char *candidate,
		   struct hp_err *err);
/* Run an inventory command template (drill.crash_command/boot_command)
 * for host on this machine: /bin/sh -c in directory dir (the
 * inventory's), all its output on our stderr, within timeout_s (then
 * killed). */
int hp_drill_local_command(const char *key, const char *tmpl,
			   const struct hp_host *host, const char *dir,
			   int timeout_s, struct hp_err *err);
/* The postmaster's SIGKILL command for data_dir (appended to out). */
void hp_drill_pgkill_cmd(struct hp_buf *out, const char *data_dir);

/* ---- the report (drill_report.c) ---------------------------------------- */

/* "trial 2/3 crash pg1 -> pg2: key 7.10 s, leader 9.21 s, ..., RTO
 * 9.86 s, RPO 0" (appended). */
void hp_drill_trial_line(const struct hp_drill_trial *t, int count,
			 struct hp_buf *out);
/* min / median / max of each stage, the RTO and the RPO over the trials
 * that ran to the end (appended; nothing when none did). */
void hp_drill_summary(const struct hp_drill_trial *t, size_t nr,
		      struct hp_buf *out);
/* The median of v[0..n) (sorted in place); -1 when n is 0. The lower
 * middle for an even n, so a median is always a measured value. */
int64_t hp_drill_median(int64_t *v, size_t n);
/* {kind, trials: [...], summary: {stage: {min, median, max}}} (ms). */
json_t *hp_drill_json(enum hp_drill_kind kind, const struct hp_drill_trial *t,
		      size_t nr, bool interrupted);

#endif
