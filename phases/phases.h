#ifndef HP_PHASES_H
#define HP_PHASES_H
/*
 * The phases, in the order they run. Each names the role of the hosts it
 * acts on, converges them with the engine's idempotent steps, and verifies
 * the result against the services' own REST APIs. A phase that changed
 * nothing still verifies.
 */
#include "engine.h"
#include "rest.h"

struct hp_phase {
	const char *name;
	unsigned role; /* HP_ROLE_* of the hosts it acts on */
	/* Converge (or, in plan mode, report). < 0 when a host failed. */
	int (*converge)(struct hp_run *run, struct hp_err *err);
	/* Check the result; HP_EVERIFY with the failing check and the last
	 * answer seen in err. */
	int (*verify)(struct hp_run *run, struct hp_err *err);
};

extern const struct hp_phase hp_phases[];
extern const size_t hp_phases_nr;
const struct hp_phase *hp_phase_find(const char *name);

/* ---- shared by the phases (phases/common.c) ------------------------------- */

/* The files host h must have for the service/phase `phase` ("etcd",
 * "patroni", "haproxy"), rendered from the inventory with the run's
 * secrets. *out is an array the caller frees with hp_want_files_free. */
int hp_phase_files(struct hp_hostrun *h, const char *phase,
		   struct hp_want_file **out, size_t *nr, struct hp_err *err);
void hp_want_files_free(struct hp_want_file *f, size_t nr);

/* Converge packages (with pre-install files first), files and directories
 * for one host; facts_out receives the service facts gathered after the
 * files (for the service step). Used by every phase. */
struct hp_host_plan {
	const char *const *pkgs;
	size_t nr_pkgs;
	const char *const *svcs;
	size_t nr_svcs;
	/* a first pass over all hosts at once installs packages only; the
	 * second, host by host, skips them (staged changes) */
	bool packages_only;
	bool skip_packages;
	/* run right after the packages were installed for the first time */
	const char *post_install_cmd;
	/* directories: path, mode, owner, group */
	const char *dir;
	unsigned dir_mode;
	const char *dir_owner;
};
int hp_phase_host_converge(struct hp_hostrun *h, const char *phase,
			   const struct hp_host_plan *p,
			   struct hp_facts *facts_out, struct hp_err *err);

/* The first pass of a staged phase, for hp_run_each: install the plan's
 * missing packages on a host (arg: a struct hp_pkg_pass). */
struct hp_pkg_pass {
	const char *phase;
	struct hp_host_plan plan; /* pkgs and post_install_cmd are used */
};
int hp_phase_packages_host(struct hp_hostrun *h, void *arg);

/* Run fn for each selected, not failed host with role, one at a time, in
 * this order: every host but `last` in inventory order, then `last` (may be
 * NULL). Stops at the first failure (marking that host failed). */
int hp_run_serial(struct hp_run *run, unsigned role, const char *last,
		  hp_host_fn fn, void *arg, struct hp_err *err);

/* "http://address:port/path" for host; the caller frees it. */
char *hp_url(const struct hp_host *host, int port, const char *path);

/* Commit the phase's state (files per host, run record, DCS config) to the
 * state repository and tag a rollback point, when the phase changed
 * something. */
int hp_phase_commit(struct hp_run *run, const char *phase, json_t *dcs,
		    const char *result, struct hp_err *err);

/*
 * Patroni's view of the cluster, from the first patroni host whose GET
 * /cluster names a leader. *out: the leader's name, always a patroni host
 * of the inventory (the caller frees it), or NULL when no member answered
 * or none names a leader. cluster_out (may be NULL) gets that answer (new
 * reference). A leader outside the inventory, or two leaders in one
 * answer, is HP_EVERIFY with a message that names them and says what to
 * do: never a guess.
 */
int hp_patroni_leader(struct hp_run *run, struct hp_rest *rest, char **out,
		      json_t **cluster_out, struct hp_err *err);

/*
 * Patroni's data directory and tuning.wal_dir on host h: each created if
 * missing, or made postgres:postgres 0700. Nothing else is ever chowned
 * or chmodded: of the directories above them only the missing ones are
 * created (root, 0755; the data directory's parent postgres', because
 * Patroni removes and re-creates the data directory in it when it
 * rebuilds a member). A symbolic link in their place is refused. Plan
 * mode reports only. Records a step per directory.
 */
int hp_patroni_dirs(struct hp_hostrun *h, struct hp_err *err);

/* Wait until GET /cluster shows one leader (leader) and every member
 * running, and the leader's GET /patroni shows every replica streaming. */
int hp_patroni_wait_healthy(struct hp_run *run, struct hp_rest *rest,
			    const char *leader, int deadline_ms,
			    struct hp_err *err);

/* ---- staged changes (phases/staged.c) --------------------------------------- */

/*
 * The PATCH that turns `have` into `want` (NULL when nothing differs):
 * every key of want whose value differs, recursing into objects; a
 * PostgreSQL parameter in `have` but not in `want` is set to null, which
 * makes Patroni remove it. "key: old -> new" lines go to desc.
 */
json_t *hp_dcs_patch(const json_t *want, const json_t *have,
		     const char *prefix, struct hp_buf *desc);

/*
 * Converge Patroni's dynamic configuration, staged: PATCH only what
 * differs on the leader; wait until every member reports it; restart the
 * members that need it (PostgreSQL's pg_settings context says which), one
 * at a time, replicas first, then one switchover, then the former leader;
 * then the cluster must stay healthy for validation.soak_s. A pending
 * restart left by an interrupted run is finished too.
 */
int hp_dcs_converge(struct hp_run *run, struct hp_rest *rest,
		    const char *leader, struct hp_err *err);

/*
 * The servers of haprov's "primary" and "replicas" backends in an HAProxy
 * stats CSV of len bytes (columns found by the header's names, in any
 * order; "\n" or "\r\n" line ends), in config order, as [{backend,
 * server, status}]: *out is a new reference. Every string in it is
 * printable ASCII, cut at 64 bytes (a name) or 32 (a status). An answer
 * that is not the CSV (an HTML page), a header without one of the
 * columns, or a line without one of the fields is HP_EVERIFY saying so.
 */
int hp_haproxy_servers(const char *csv, size_t len, json_t **out,
		       struct hp_err *err);

/* Phase entry points. */
int hp_etcd_converge(struct hp_run *run, struct hp_err *err);
int hp_etcd_verify(struct hp_run *run, struct hp_err *err);
int hp_patroni_converge(struct hp_run *run, struct hp_err *err);
int hp_patroni_verify(struct hp_run *run, struct hp_err *err);
int hp_haproxy_converge(struct hp_run *run, struct hp_err *err);
int hp_haproxy_verify(struct hp_run *run, struct hp_err *err);

#endif
