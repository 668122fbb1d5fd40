#ifndef HP_ETCD_MEMBERS_H
#define HP_ETCD_MEMBERS_H
/*
 * etcd's membership against the inventory (etcd_members.c): the member
 * list parsed strictly (it is a network answer), which inventory hosts
 * join and which members leave, and whether each step keeps quorum.
 * Pure: no network here. The steps themselves are in etcd_join.c and
 * remove.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine.h"
#include "inventory.h"
#include "rest.h"
#include "util.h"

/* A list answer holds at most this many members (etcd's own advice is
 * 3, 5 or 7; anything far above is not an answer to trust). */
#define HP_ETCD_MAX_MEMBERS 64

struct hp_etcd_member {
	uint64_t id;
	char *name;    /* "" while the member has not started */
	char **peers;  /* its peer URLs, at least one */
	size_t nr_peers;
	bool learner;
};

struct hp_etcd_members {
	struct hp_etcd_member *m;
	size_t nr;
};

/* Parse POST /v3/cluster/member/list's (or member/add's) answer:
 * "members" with, for each, an "ID" (a decimal uint64 string), a "name"
 * ([a-z0-9-], or empty while unstarted), "peerURLs" (1 to 8 URLs of
 * [A-Za-z0-9.:/[]-] only) and an optional boolean "isLearner". Anything
 * else is HP_EVERIFY, quoting only printable bytes. */
int hp_etcd_members_parse(const json_t *answer, struct hp_etcd_members *out,
			  struct hp_err *err);
void hp_etcd_members_release(struct hp_etcd_members *ms);

/* A member is an inventory host's when the names are equal, or, for a
 * member not started yet (no name), when one of its peer URLs is the
 * host's (peer is that URL). */
bool hp_etcd_member_is(const struct hp_etcd_member *m, const char *name,
		       const char *peer);

/* What the inventory asks of etcd's membership. */
struct hp_etcd_change {
	/* inventory etcd hosts that are not started members, in inventory
	 * order; join_id[i] is their member ID when a member add already
	 * happened (an interrupted run), else 0 */
	const struct hp_host **join;
	uint64_t *join_id;
	size_t nr_join;
	/* members whose host is marked remove: true */
	const struct hp_host **leave;
	uint64_t *leave_id;
	size_t nr_leave;
	size_t nr_now;   /* members now */
	size_t nr_after; /* members when the change is done */
};

/*
 * Compare the inventory with members. peers[i] is the peer URL of
 * inv->hosts[i] (every host, NULL allowed for non-etcd hosts). Refused
 * (HP_EINVALID, naming the member and what to do): a member whose host
 * is not in the inventory; a member named as an inventory host but with
 * another peer URL (haprov does not move a member).
 */
int hp_etcd_change_plan(const struct hp_inventory *inv, char *const *peers,
			const struct hp_etcd_members *ms,
			struct hp_etcd_change *c, struct hp_err *err);
void hp_etcd_change_release(struct hp_etcd_change *c);

/* ETCD_INITIAL_CLUSTER for member join (peer URL join_peer) joining
 * the members ms (which list it, not started): "name=url,..." over every
 * peer URL. Another member not started is HP_EINVALID: two joins at
 * once would each count the other as missing. */
int hp_etcd_initial_cluster(const struct hp_etcd_members *ms,
			    const char *join, const char *join_peer,
			    struct hp_buf *out, struct hp_err *err);

/* Members a cluster of n needs for quorum, and how many may fail. */
size_t hp_etcd_quorum(size_t n);
size_t hp_etcd_tolerance(size_t n);

/*
 * Whether the steps keep quorum, one member at a time, with healthy of
 * the nr_now members answering healthy now (leaving_healthy of them are
 * members to remove): each add needs quorum of the grown cluster among
 * the healthy (etcd refuses it otherwise), each removal leaves quorum of
 * the smaller one. 0, or HP_EINVALID saying which step would lose it.
 */
int hp_etcd_change_check(const struct hp_etcd_change *c, size_t healthy,
			 size_t leaving_healthy, struct hp_err *err);

/* The plan's warnings for a change (appended to w, one per line): fewer
 * than 3 members after it, or fewer failures tolerated than now. */
void hp_etcd_change_warn(const struct hp_etcd_change *c, struct hp_buf *w);

/* ---- the steps (etcd_join.c) --------------------------------------------- */

/* A host's peer URL, as the inventory gives it (caller frees). */
char *hp_etcd_peer_url(const struct hp_inventory *inv, const struct hp_host *h);
/* The initial file (/etc/default/etcd-initial) for cluster, state new or
 * existing; the command that writes it from stdin only when the member
 * has no data ("data"/"wrote"; in a plan only "data"/"empty"), and that
 * answer: 1 data, 0 wrote or empty, HP_EVERIFY anything else. */
void hp_etcd_initial_text(struct hp_buf *out, const struct hp_inventory *inv,
			  const char *cluster, bool existing);
void hp_etcd_initial_cmd(struct hp_buf *cmd, const struct hp_inventory *inv,
			 bool plan);
int hp_etcd_initial_answer(const char *out);
/* A member of a new cluster: its initial file with the inventory's
 * members, state new, unless it has data. Records a step. */
int hp_etcd_initial_new(struct hp_hostrun *h, struct hp_err *err);
/* POST /v3/cluster/member/list on the first etcd host that answers,
 * parsed. */
int hp_etcd_members_get(struct hp_run *run, struct hp_rest *rest,
			struct hp_etcd_members *ms, struct hp_err *err);
/* etcd's 503 "unhealthy cluster" to a membership change: too few members
 * connected long enough yet (a member just restarted); asked again. */
bool hp_etcd_reconfig_busy(const struct hp_rest_resp *resp);
/* POST /v3/kv/deleterange of one key (the first etcd host that answers). */
int hp_etcd_delete_key(struct hp_run *run, struct hp_rest *rest,
		       const char *key, struct hp_err *err);
/* POST /v3/cluster/member/remove of member id. */
int hp_etcd_member_remove(struct hp_run *run, struct hp_rest *rest,
			  uint64_t id, struct hp_err *err);
/* The live members against the inventory: the change, checked for
 * quorum, its warnings printed (hp_run_note). */
int hp_etcd_change_read(struct hp_run *run, struct hp_rest *rest,
			struct hp_etcd_change *c, struct hp_err *err);
/* c's joining hosts join, one at a time (in a plan: says so). */
int hp_etcd_join(struct hp_run *run, struct hp_rest *rest,
		 const struct hp_etcd_change *c, struct hp_err *err);

#endif
