#ifndef HP_ENGINE_H
#define HP_ENGINE_H
/*
 * The engine: one transport (SSH session) per host for the whole run, a
 * bounded worker pool that runs per-host work in parallel, idempotent step
 * primitives (package, directory, file, service, guarded command) that read
 * the actual state first and act only when it differs, and the record of
 * every step's result for the progress output, the summary and --json.
 *
 * Threads: each host's work runs on one worker thread at a time, so a
 * host's transport is only ever used by one thread (libssh2's rule). The
 * shared parts of struct hp_run (results, output) are behind run->mu.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "inventory.h"
#include "transport.h"

struct hp_state;
struct hp_render_secrets;
struct hp_want_file;

enum hp_step_status {
	HP_STEP_OK,      /* already as desired */
	HP_STEP_CHANGED, /* changed (or, in plan mode, would change) */
	HP_STEP_FAILED,
};

struct hp_step_result {
	char host[64];
	char phase[16];
	char *step;   /* "file /etc/default/etcd", "service etcd" */
	enum hp_step_status status;
	char *detail; /* what changed / why it failed; never a secret */
	char *diff;   /* plan: unified diff or "old -> new"; may be NULL */
	int64_t ms;
};

/* A managed file touched in the current phase: what it is now, and what it
 * was before when haprov replaced it (for the state repository). */
struct hp_file_rec {
	char *path;
	char *now;
	size_t now_len;
	char *old; /* NULL: not replaced, or did not exist */
	size_t old_len;
	bool secret;
};

/* Per-host state for a run. */
struct hp_hostrun {
	struct hp_run *run;
	const struct hp_host *host;
	struct hp_transport tr; /* ops NULL until connected */
	bool selected;          /* --host filter */
	bool failed;            /* a step failed in the current phase */
	struct hp_err err;      /* the failure, when failed */
	/* services whose files changed in the current phase */
	struct hp_strlist restart;
	struct hp_strlist reload;
	int nr_changed;         /* steps changed in the current phase */
	bool daemon_reload;     /* a systemd unit or drop-in changed */
	struct hp_file_rec *recs; /* files seen in the current phase */
	size_t nr_recs, alloc_recs;
};

/* Forget the per-phase records (restart/reload lists, file records). */
void hp_hostrun_phase_reset(struct hp_hostrun *h);

struct hp_run_opts {
	bool plan;          /* read only: report what would change */
	bool json;
	bool accept_new_host_keys;
	bool no_rollback;
	int parallel;       /* 0: the inventory's ssh.parallel */
	const char *phases; /* comma list, NULL = all */
	const char *hosts;  /* comma list, NULL = all */
};

struct hp_run {
	const struct hp_inventory *inv;
	struct hp_run_opts opts;
	char run_id[32];        /* 20261122T054500Z */
	int64_t t0;             /* hp_now_ms() at start */
	struct hp_hostrun *hosts; /* inventory order */
	size_t nr_hosts;
	struct hp_state *state; /* may be NULL in plan mode */
	struct hp_render_secrets *secrets;
	char *restapi_user, *restapi_password; /* Patroni REST writes */
	char inventory_sha256[65];
	/* rollback: desired files come from this state point (by path) and
	 * the DCS settings from dcs_want, instead of the inventory */
	const char *restore_point;
	json_t *dcs_want;
	/* unit tests: supply a host's files instead of rendering them */
	int (*phase_files_cb)(struct hp_hostrun *h, const char *phase,
			      struct hp_want_file **out, size_t *nr,
			      struct hp_err *err);
	const char *phase;      /* current phase name */
	/* unit tests: answer REST requests without a network (rest.h) */
	const struct hp_rest_ops *rest_ops;
	void *rest_ctx;

	pthread_mutex_t mu;
	struct hp_step_result *results;
	size_t nr_results, alloc_results;
};

/* ---- run lifecycle ------------------------------------------------------ */

void hp_run_init(struct hp_run *run, const struct hp_inventory *inv,
		 const struct hp_run_opts *opts);
void hp_run_release(struct hp_run *run);

/*
 * Connect to every selected host (hosts with any of the roles in `roles`,
 * or all when 0) in parallel. Hosts that fail are marked failed with their
 * error; returns the number of hosts that could not be connected.
 */
size_t hp_run_connect(struct hp_run *run, struct hp_err *err);

/* Run fn for each host in hosts[] whose role matches (0: any) and that is
 * selected and not failed, at most opts.parallel at a time. Returns the
 * number of hosts whose fn returned < 0 (they are marked failed). */
typedef int (*hp_host_fn)(struct hp_hostrun *h, void *arg);
size_t hp_run_each(struct hp_run *run, unsigned role, hp_host_fn fn,
		   void *arg);

/* hp_rest_init for a phase of this run: the client goes through the run's
 * REST seam when a unit test set one. Release with hp_rest_release. */
struct hp_rest;
int hp_run_rest_init(struct hp_run *run, struct hp_rest *r, int timeout_ms,
		     struct hp_err *err);

/* Find the hostrun of an inventory host. Borrowed. */
struct hp_hostrun *hp_run_host(struct hp_run *run, const char *name);

/* ---- results and progress --------------------------------------------------- */

/* Record a step's result and print its progress line on stderr (one
 * write, so lines from parallel hosts never interleave). Takes copies. */
void hp_run_record(struct hp_run *run, const char *host,
		   enum hp_step_status st, const char *step,
		   const char *detail, const char *diff, int64_t started_ms);
/* Print "phase X: host ok=N changed=N failed=N" lines in inventory order. */
void hp_run_phase_summary(struct hp_run *run, const char *phase);
/* Count results of a phase (NULL: all) with a status. */
size_t hp_run_count(struct hp_run *run, const char *phase,
		    enum hp_step_status st);
/* The --json document: {run_id, plan, results: [...]} */
json_t *hp_run_json(struct hp_run *run);

/* ---- remote execution helpers --------------------------------------------------- */

/* Run cmd on h; fail (HP_EREMOTE, with stderr in err) if it exits
 * non-zero. out may be NULL. */
int hp_host_sh(struct hp_hostrun *h, const char *cmd, const void *in,
	       size_t in_len, int timeout_s, struct hp_buf *out,
	       struct hp_err *err);

/* ---- idempotent steps ----------------------------------------------------------- */

/* A file as the engine wants it on a host. */
struct hp_want_file {
	const char *path;
	const char *content;
	size_t len;
	unsigned mode;
	const char *owner, *group;
	bool secret;           /* never diffed, logged or committed */
	const char *services;  /* space-separated services that read it */
	bool reload;           /* the services reload it (else restart) */
	const char *check_cmd; /* run on the new file before it replaces the
				  old; "%s" stands for its temporary path */
	bool before_install;   /* in place before the packages are installed
				  (postgresql-common reads createcluster.conf
				  in its install script) */
};

/* What one remote command learnt about a host's files, packages and
 * services. */
struct hp_fact_file {
	bool exists;
	char sha256[65];
	unsigned mode;
	char owner[33], group[33];
};
struct hp_fact_svc {
	char enabled[24]; /* systemctl is-enabled: enabled, disabled, ... */
	char active[24];  /* systemctl is-active: active, inactive, ... */
	long main_pid;
};
struct hp_facts {
	struct hp_fact_file *files;
	size_t nr_files;
	bool *pkg_installed;
	size_t nr_pkgs;
	struct hp_fact_svc *svcs;
	size_t nr_svcs;
};
void hp_facts_release(struct hp_facts *f);

/* Read facts for files, packages and services in ONE remote command. */
int hp_facts_gather(struct hp_hostrun *h, const struct hp_want_file *files,
		    size_t nr_files, const char *const *pkgs, size_t nr_pkgs,
		    const char *const *svcs, size_t nr_svcs,
		    struct hp_facts *out, struct hp_err *err);

/* Install missing packages (facts say which). apt-get update is tried only
 * when an install fails, and its own failure is not fatal. *changed is set
 * when something was installed. */
int hp_step_packages(struct hp_hostrun *h, const char *const *pkgs,
		     size_t nr, const bool *installed, bool *changed,
		     struct hp_err *err);

/* Converge one file: if content/mode/owner differ, back up the old file
 * (on the host under /var/lib/haprov/backups/<run>/ and in memory for the
 * state repository), run check_cmd on the new content, install it
 * atomically and note its services for restart/reload. */
int hp_step_file(struct hp_hostrun *h, const struct hp_want_file *f,
		 const struct hp_fact_file *fact, bool *changed,
		 struct hp_err *err);

/* Ensure a directory exists with mode and owner. */
int hp_step_dir(struct hp_hostrun *h, const char *path, unsigned mode,
		const char *owner, const char *group, struct hp_err *err);

enum hp_svc_action { HP_SVC_NONE, HP_SVC_START, HP_SVC_RESTART,
		     HP_SVC_RELOAD };
/* What a service needs: enable if not, start if not active, else restart or
 * reload when a file it reads changed in this phase. */
enum hp_svc_action hp_service_needs(struct hp_hostrun *h, const char *svc,
				    const struct hp_fact_svc *fact);
/* Enable and carry out action (no-block start when nowait: etcd waits for
 * quorum). Records the step. */
int hp_step_service(struct hp_hostrun *h, const char *svc,
		    const struct hp_fact_svc *fact, enum hp_svc_action act,
		    bool nowait, struct hp_err *err);


#endif
