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
struct hp_phase;

/*
 * Where a run's desired state comes from: the inventory (point NULL), or
 * a rollback point of the state repository, so that converge and restore
 * are the same code reading from different sources. With a point: each
 * phase's files come from it (restore.h), and each phase's snapshot
 * (phases.h: struct hp_phase) as the point recorded it.
 */
struct hp_desired {
	const char *point; /* commit id of the rollback point; NULL: the
			      inventory */
	const json_t *pins; /* the point's secret versions ({name: sha256},
			       borrowed); NULL: the store's current ones */
	json_t *dcs;       /* Patroni's dynamic configuration the source
			      wants; NULL: rendered from the inventory */
	json_t *snapshots; /* {phase name: its snapshot at the point} */
};

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
	char *old; /* NULL: not replaced, or did not exist; when the old
		      content held a credential, a note with its sha256 */
	size_t old_len;
	bool secret; /* commit `now` by hash only: marked secret, or it
			has a credential-looking line */
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
	/* set by a staged pass's read-only try (hp_run_staged): nothing on
	 * this host serves yet (its service is not running), so its change
	 * needs no turn of its own and runs at once with the others like it */
	bool serves_nothing;
	/* the phase (a literal) this run installed packages for on this
	 * host, the last one; NULL: none */
	const char *installed_for;
	bool daemon_reload;     /* a systemd unit or drop-in changed */
	struct hp_file_rec *recs; /* files seen in the current phase */
	size_t nr_recs, alloc_recs;
	bool made_backups;      /* this run backed up a file on the host
				   (then hp_backups_prune is due) */
	/* steps.c: the directories this run made for new files on the
	 * host; a second new file in one of them needs no mkdir */
	struct hp_strlist made_dirs;
	/* phases/tuning_wal.c: the WAL-volume facts last read on the host
	 * (owned) and hp_run_host_changes then: read again once anything
	 * a host can see changed */
	void *wal_facts;
	size_t wal_facts_at;
	/* phases/common.c: the facts a phase's packages pass read (files,
	 * services), for its host pass while nothing changed: the key names
	 * the phase, the files and the services asked about */
	struct hp_facts *facts_cache;
	char *facts_key;
	size_t facts_at;
	/* phases/prefetch.c: every selected phase's facts, read in one
	 * command before the first phase (hp_phase_prefetch) */
	struct hp_prefetch *prefetch;
	/* phases/patroni_join.c: a patroni host of a live cluster that is
	 * no member yet and whose Patroni does not run: it joins first; a
	 * plan asks nothing of its REST API */
	bool patroni_new;
};

/* Forget the per-phase records (restart/reload lists, file records; their
 * contents are wiped first: they may hold secrets). */
void hp_hostrun_phase_reset(struct hp_hostrun *h);

struct hp_run_opts {
	bool plan;          /* read only: report what would change */
	bool json;
	bool accept_new_host_keys;
	bool no_rollback;
	bool allow_remove;  /* apply may remove hosts marked remove: true */
	int parallel;       /* 0: the inventory's ssh.parallel */
	const char *phases; /* comma list, NULL = all */
	const char *hosts;  /* comma list, NULL = all */
};

struct hp_view;
#define HP_RUN_MEMOS 4
struct hp_run {
	/* the live view on a terminal (progress_view.h), or NULL */
	struct hp_view *view;
	const struct hp_inventory *inv;
	struct hp_run_opts opts;
	/* 20261122T054500.123Z-1a2b3c4d: UTC time to the millisecond and a
	 * random suffix, so an apply and its rollback started in the same
	 * second never share a backup directory; sorts by time, safe as a
	 * file name (hp_backup_run_name_ok) */
	char run_id[32];
	/* who this run is, for the host lock: "haprov run <id> by
	 * user@machine pid N" */
	char holder[192];
	int64_t t0;             /* hp_now_ms() at start */
	struct hp_hostrun *hosts; /* inventory order */
	size_t nr_hosts;
	struct hp_state *state; /* may be NULL in plan mode */
	struct hp_render_secrets *secrets;
	char *restapi_user, *restapi_password; /* Patroni REST writes */
	/* TLS for every REST client of the run (hp_run_rest_init): the
	 * cluster CA and haprov's client certificate; NULL with tls off */
	struct hp_rest_tls *rest_tls;
	char inventory_sha256[65];
	/* the desired-state source (hp_desired_*): the inventory, or the
	 * rollback point being restored */
	struct hp_desired desired;
	/* unit tests: supply a host's files instead of rendering them */
	int (*phase_files_cb)(struct hp_hostrun *h, const char *phase,
			      struct hp_want_file **out, size_t *nr,
			      struct hp_err *err);
	const char *phase;      /* current phase name */
	/* the current phase's entry and the table it is from (the DCS
	 * scope, phases.h); NULL outside a phase: every key */
	const struct hp_phase *phase_entry;
	const struct hp_phase *phase_table;
	size_t phase_table_nr;
	/* which of phase_table's phases this run selected (--phase), for
	 * the packages a host installs ahead (phases/pkg_ahead.c); NULL:
	 * nothing is installed ahead */
	const bool *phase_want;
	/* the patroni phase started new members in this run (a bootstrap,
	 * or a join): a wait for a stable cluster also wakes the standbys'
	 * startup processes (phases/patroni_nudge.c) */
	bool standbys_new;
	/* the phase a rollback restores has done its restarts
	 * (phases/staged.c, settle): members a bad change left down are
	 * back, or on their way, now that their settings are right, and
	 * every later wait for a stable cluster waits for them too
	 * (phases/staged_cluster.c); cleared as each phase's restore
	 * begins */
	bool repaired;
	/* unit tests: answer REST requests without a network (rest.h) */
	const struct hp_rest_ops *rest_ops;
	void *rest_ctx;

	pthread_mutex_t mu;
	struct hp_step_result *results;
	size_t nr_results, alloc_results;
	/* CHANGED results recorded outside plan mode (hp_run_changes) */
	size_t nr_changes;
	/* ... of them, those a host's facts may see (hp_run_host_changes) */
	size_t nr_host_changes;
	/* remote reads kept for a later step of the run (hp_run_memo_*) */
	struct hp_run_memo {
		char *key, *text;
		size_t len, at;
	} memo[HP_RUN_MEMOS];
	size_t memo_next; /* the slot a new key takes */
	/* hp_run_hold: progress lines wait here instead of being printed,
	 * each with its host's index (nr_hosts: none) */
	bool holding;
	struct hp_held_line {
		size_t rank;
		char *line;
	} *held;
	size_t nr_held, alloc_held;
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
/* The first host marked failed (inventory order), or NULL. */
const struct hp_hostrun *hp_run_first_failed(const struct hp_run *run);
/* After hp_run_each failed: the first failed host's error into err,
 * "what: <its message>" with its code (HP_ERROR when it has none); "what
 * failed" when no host is marked. Returns the code. */
int hp_run_failure(const struct hp_run *run, const char *what,
		   struct hp_err *err);
size_t hp_run_each(struct hp_run *run, unsigned role, hp_host_fn fn,
		   void *arg);

/* hp_rest_init for a phase of this run: the client goes through the run's
 * REST seam when a unit test set one. Release with hp_rest_release. */
struct hp_rest;
int hp_run_rest_init(struct hp_run *run, struct hp_rest *r, int timeout_ms,
		     struct hp_err *err);

/* How long a run waits for a lock on a host (haprov's host lock, dpkg's
 * lock): validation.timeout_s, or 120 s when it is not set. */
int hp_run_wait_s(const struct hp_run *run);

/*
 * Tentative results: from hp_run_hold on, progress lines (hp_run_record,
 * hp_run_note) are held back. hp_run_unhold decides host by host: keep
 * has one entry per host of the run plus one (index nr_hosts) for lines
 * and results of no host; NULL keeps nothing. A kept host's lines are
 * printed and its results (those recorded since the mark hp_run_hold
 * returned) stay; the others are dropped. What is kept comes out host by
 * host in inventory order, each host's in the order recorded, so hosts
 * that ran at once read as if they had run one after the other. Called
 * with no worker running.
 */
size_t hp_run_hold(struct hp_run *run);
void hp_run_unhold(struct hp_run *run, size_t mark, const bool *keep);
/* How many CHANGED results the run has recorded so far, dropped ones
 * included: a number that grows whenever anything may have changed. */
size_t hp_run_changes(struct hp_run *run);
/* The same count without the changes recorded with hp_run_record_api:
 * what the hosts' facts (files, packages, services, directories, the WAL
 * volume, HAProxy's drains) read before still stands while it is the
 * same. */
size_t hp_run_host_changes(struct hp_run *run);
/*
 * A remote read kept for a later step while the run records no change:
 * a phase's verify asks the same question its converge just asked, and
 * when the converge changed nothing the answer stands. HP_RUN_MEMOS reads
 * are kept, by key (a put under a new key replaces the oldest; a replaced
 * text is wiped: it may hold password verifiers). get returns a copy of the text put under key (the caller
 * wipes and frees it; *len bytes, NUL-terminated) while hp_run_changes is
 * what it was at the put; NULL otherwise. Thread-safe.
 */
void hp_run_memo_put(struct hp_run *run, const char *key, const char *text,
		     size_t len);
char *hp_run_memo_get(struct hp_run *run, const char *key, size_t *len);
/* Results with status st recorded since mark (hp_run_hold), of host
 * (NULL: of any host). */
size_t hp_run_count_since(struct hp_run *run, size_t mark, const char *host,
			  enum hp_step_status st);

/* ---- verification steps at once (checks.c) ------------------------------- */

/* One verification step: fn returns 0, or an HP_E* code with err set. */
struct hp_check {
	const char *step; /* "verify secrets: logins through haproxy" */
	int (*fn)(struct hp_run *run, void *arg, struct hp_err *err);
	void *arg;
	bool hosts; /* uses the hosts' SSH sessions: on the calling thread */
};
/*
 * Run the checks at once: those with hosts set one after the other on this
 * thread, each other one on a thread of its own (all on this thread under
 * a unit test's REST seam). Then record each in list order (OK, or FAILED
 * with its message) with its own duration. Returns the first failure in
 * list order (its code; err set), or 0.
 */
int hp_checks_run(struct hp_run *run, const struct hp_check *c, size_t n,
		  struct hp_err *err);
/* The first `first` checks at once, then, only when all of them passed,
 * the rest at once: for checks that need what the first ones wait for (a
 * service that answers at all). */
int hp_checks_then(struct hp_run *run, const struct hp_check *c,
		   size_t first, size_t n, struct hp_err *err);

/* fn(i, arg) for every i below n at once, each on a thread of its own (on
 * this thread when one cannot be made); returns when all are done. fn must
 * not touch the hosts' sessions. */
void hp_fanout(size_t n, void (*fn)(size_t i, void *arg), void *arg);

/*
 * fn for every host with role (0: all) at once, each on a thread of its
 * own (one after the other, up to the first non-zero, under a unit test's
 * REST seam). fn returns 0, a positive answer, or an HP_E* code with its err
 * set; it makes its own REST clients and never touches a host's session.
 * Returns the first non-zero in inventory order (an error's err copied).
 */
typedef int (*hp_host_check_fn)(struct hp_run *run, const struct hp_host *h,
				void *arg, struct hp_err *err);
int hp_hosts_at_once(struct hp_run *run, unsigned role, hp_host_check_fn fn,
		     void *arg, struct hp_err *err);

/* ---- the desired-state source ------------------------------------------- */

/* The rollback point the run restores, or NULL: the inventory. */
const char *hp_desired_point(const struct hp_run *run);
/* The snapshot phase recorded at the point (borrowed), or NULL (the
 * inventory is the source, or the phase records none). */
const json_t *hp_desired_snapshot(const struct hp_run *run, const char *phase);
/* The dynamic configuration the source wants (a new reference): the
 * point's, or rendered from the inventory. */
int hp_desired_dcs(const struct hp_run *run, json_t **out,
		   struct hp_err *err);
/* Make the point the source: snapshots ({phase: json}) and dcs (may be
 * NULL) are taken over (references stolen). point NULL, or
 * hp_desired_clear: the inventory again. */
void hp_desired_set(struct hp_run *run, const char *point, json_t *snapshots,
		    json_t *dcs);
/* The secret versions a rollback restores (borrowed; NULL: the store's
 * current ones). hp_desired_clear keeps them. */
void hp_desired_pins(struct hp_run *run, const json_t *pins);
void hp_desired_clear(struct hp_run *run);

/* Find the hostrun of an inventory host. Borrowed. */
struct hp_hostrun *hp_run_host(struct hp_run *run, const char *name);

/* ---- results and progress --------------------------------------------------- */

/* Record a step's result and print its progress line on stderr (one
 * write, so lines from parallel hosts never interleave). Takes copies:
 * detail and diff with credentials redacted (redact.h) and control
 * characters made printable, since they may quote a host's files. */
void hp_run_record(struct hp_run *run, const char *host,
		   enum hp_step_status st, const char *step,
		   const char *detail, const char *diff, int64_t started_ms);
/* hp_run_record for a change made through a service's API that no
 * host's facts can see: Patroni's dynamic configuration (PATCH /config),
 * which lives in etcd, not in a file, a package or a unit on a host.
 * hp_run_changes counts it (a memo of an API answer is stale after it);
 * hp_run_host_changes does not (the facts read ahead still stand). */
void hp_run_record_api(struct hp_run *run, const char *host,
		       enum hp_step_status st, const char *step,
		       const char *detail, const char *diff,
		       int64_t started_ms);
/* A progress line that is not a step result ("[  3.1s] pg2: waiting for
 * ..."), on stderr, in one write; the text is made printable. */
void hp_run_note(struct hp_run *run, const char *host, const char *fmt, ...)
	HP_PRINTF(3, 4);
/* Whether every step is printed (-v), not only those that change, fail
 * or have something to say. */
bool hp_run_verbose(void);
/* "recap HOST ok=N changed=N failed=N" for every host of the run, all
 * phases together: the last lines of a plan or an apply. */
void hp_run_recap(struct hp_run *run);
/* Print "phase X: host ok=N changed=N failed=N" lines in inventory order
 * (by default only for hosts where something changed or failed; -v: every
 * host with a result). */
void hp_run_phase_summary(struct hp_run *run, const char *phase);
/* Count results of a phase (NULL: all) with a status. */
size_t hp_run_count(struct hp_run *run, const char *phase,
		    enum hp_step_status st);
/* The --json document: {run_id, plan, results: [...]} */
json_t *hp_run_json(struct hp_run *run);

/* ---- remote execution helpers --------------------------------------------------- */

/* Run cmd on h; fail (HP_EREMOTE, with the tail of stderr in err,
 * credentials redacted and made printable) if it exits non-zero. out may
 * be NULL. Outside plan mode the command runs under the host lock
 * (hp_hostlock_exec): use it for anything that changes the host. */
int hp_host_sh(struct hp_hostrun *h, const char *cmd, const void *in,
	       size_t in_len, int timeout_s, struct hp_buf *out,
	       struct hp_err *err);
/* The same for a command that only reads (facts, a SELECT): no host
 * lock. in (may be NULL) goes on its standard input. */
int hp_host_sh_read(struct hp_hostrun *h, const char *cmd, const void *in,
		    size_t in_len, int timeout_s, struct hp_buf *out,
		    struct hp_err *err);

/*
 * The host lock (hostlock.c): /var/lib/haprov/lock on the host, held with
 * flock(1) for the length of each remote command that changes the host.
 * hp_hostlock_exec runs cmd under it: at once when it is free; else it
 * prints who holds it ("waiting for another haprov run on the host
 * (haprov run <id> by user@machine pid N since <time>)") and waits up to
 * hp_run_wait_s; still held then: HP_ELOCKED naming the holder. res is as
 * the transport's exec fills it.
 */
int hp_hostlock_exec(struct hp_hostrun *h, const char *cmd, const void *in,
		     size_t in_len, int timeout_s, struct hp_exec_result *res,
		     struct hp_err *err);
/* The wrapper: cmd run while holding dir/lock (dir NULL: /var/lib/haprov),
 * holder written into the lock file; wait_s 0: do not wait. Appends. */
void hp_hostlock_wrap(struct hp_buf *out, const char *cmd, const char *dir,
		      const char *holder, int wait_s);
/* Whether res is the wrapper's "lock busy" answer; holder (may be NULL)
 * then gets who holds it, printable. */
bool hp_hostlock_busy(const struct hp_exec_result *res, struct hp_buf *holder);

/* Where a host keeps the files haprov replaced: <root>/<run id>/<path>. */
#define HP_BACKUP_ROOT "/var/lib/haprov/backups"

/*
 * Prune a host's backups after a run: keep the newest `keep` runs' backup
 * directories (keep <= 0: 20), this run's, and every run id in protect
 * (the runs a rollback point still needs); remove the others. Only
 * directory names shaped like a run id are ever touched. Nothing in plan
 * mode. Runs under the host lock.
 */
int hp_backups_prune(struct hp_hostrun *h, int keep,
		     const char *const *protect, size_t nr,
		     struct hp_err *err);
/* Whether name has the exact shape of a run id (this one's, or the
 * older second-resolution 20261122T054500Z). */
bool hp_backup_run_name_ok(const char *name);
/* The pure part of the pruning: sorts names and sets drop[i] for each
 * name to remove; returns how many. Names that are not run ids are never
 * dropped. */
size_t hp_backups_select(char **names, size_t nr, int keep,
			 const char *current, const char *const *protect,
			 size_t nr_protect, bool *drop);
/* The remote commands: list the run directories; remove the dropped ones
 * (each checked again and quoted). Append to out. */
void hp_backups_list_cmd(struct hp_buf *out);
void hp_backups_remove_cmd(struct hp_buf *out, char *const *names,
			   const bool *drop, size_t nr);

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
/* Facts read ahead for every phase (phases/prefetch.c); freed with the
 * run. hp_prefetch_free accepts NULL. */
struct hp_prefetch;
void hp_prefetch_free(struct hp_prefetch *p);

struct hp_facts {
	struct hp_fact_file *files;
	size_t nr_files;
	bool *pkg_installed;
	size_t nr_pkgs;
	struct hp_fact_svc *svcs;
	size_t nr_svcs;
};
void hp_facts_release(struct hp_facts *f);
/* A deep copy of f into out. */
void hp_facts_copy(struct hp_facts *out, const struct hp_facts *f);

/* Read facts for files, packages and services in ONE remote command. On
 * error out's arrays still exist (zeroed); release them either way. */
int hp_facts_gather(struct hp_hostrun *h, const struct hp_want_file *files,
		    size_t nr_files, const char *const *pkgs, size_t nr_pkgs,
		    const char *const *svcs, size_t nr_svcs,
		    struct hp_facts *out, struct hp_err *err);

/* hp_facts_gather, and in the same remote command (in a subshell, after
 * the facts) the shell text more, whose answer is appended to more_out.
 * more NULL: hp_facts_gather. */
int hp_facts_gather_more(struct hp_hostrun *h,
			 const struct hp_want_file *files, size_t nr_files,
			 const char *const *pkgs, size_t nr_pkgs,
			 const char *const *svcs, size_t nr_svcs,
			 const char *more, struct hp_buf *more_out,
			 struct hp_facts *out, struct hp_err *err);
/* The line hp_facts_gather_more's command prints between the facts and
 * the second command's answer; a second command made of several reads
 * prints it between them too. */
#define HP_FACTS_MORE_MARK "-- haprov more"
/* Where the answer of hp_facts_gather_more's command splits: the facts
 * are text[0, *facts_len), the second command's start at *more_at.
 * HP_EREMOTE when the line between them is missing. */
int hp_facts_split_more(const char *text, size_t len, size_t *facts_len,
			size_t *more_at, struct hp_err *err);

/* The facts command (hp_facts_gather runs it), appended to cmd. */
void hp_facts_cmd(struct hp_buf *cmd, const struct hp_want_file *files,
		  size_t nr_files, const char *const *pkgs, size_t nr_pkgs,
		  const char *const *svcs, size_t nr_svcs);

/*
 * Parse the facts command's answer (text, len bytes, from the host: any
 * bytes) for nr_files files, nr_pkgs packages and nr_svcs services, in
 * that order, into out (allocated here; release with hp_facts_release,
 * also after an error). Lines:
 *   F -                                     (no such file)
 *   F <sha256 hex> <octal mode> <owner> <group>
 *   P <dpkg status abbreviation, or nothing>
 *   S <is-enabled> <is-active> <MainPID>
 * Anything else (a line too long, a NUL byte, a bad field, a line too
 * many or too few) is HP_EREMOTE naming the line, quoted printable.
 */
int hp_facts_parse(const char *text, size_t len, size_t nr_files,
		   size_t nr_pkgs, size_t nr_svcs, struct hp_facts *out,
		   struct hp_err *err);

/*
 * Install missing packages (facts say which), under the host lock. When
 * another package manager run holds the dpkg lock, a progress line says
 * so ("pg2: waiting for another package manager run (pid N)") and apt-get
 * waits for it up to hp_run_wait_s. apt-get update runs only when a
 * package has no candidate in the lists (or a download answers 404), and
 * its own failure is not fatal. No temporary file. *changed is set when
 * something was installed.
 */
int hp_step_packages(struct hp_hostrun *h, const char *const *pkgs,
		     size_t nr, const bool *installed, bool *changed,
		     struct hp_err *err);
/* Its remote commands, for tests: the install script for the packages
 * not installed[] (installed may be NULL: all), apt waiting wait_s for
 * its lock; the read that names the dpkg/apt lock holder, and its answer's
 * parser (the holder's pid, or -1: free or unknown). */
void hp_pkg_install_cmd(struct hp_buf *out, const char *const *pkgs,
			size_t nr, const bool *installed, int wait_s);
/*
 * hp_step_packages, holding back the services hold[] while the packages
 * install: a runtime drop-in (/run/systemd/system/<svc>.service.d/
 * haprov-install.conf, a start condition that fails) in place for the
 * install's length, so an install script's start of those services does
 * nothing. Removed when the script ends, on success or failure; a start
 * by hp_step_service removes one left by a killed run.
 */
int hp_step_packages_held(struct hp_hostrun *h, const char *const *pkgs,
			  size_t nr, const bool *installed,
			  const char *const *hold, size_t nr_hold,
			  bool *changed, struct hp_err *err);
/* The script that puts the drop-ins in place, to go before an install
 * script (it sets an EXIT trap that removes them), appended to out. */
void hp_pkg_hold_cmd(struct hp_buf *out, const char *const *svcs, size_t n);
/* Where the drop-in for service S is: HP_PKG_HOLD_DIR S ".service.d/"
 * HP_PKG_HOLD_FILE. */
#define HP_PKG_HOLD_DIR "/run/systemd/system/"
#define HP_PKG_HOLD_FILE "haprov-install.conf"
void hp_pkg_lock_probe_cmd(struct hp_buf *out);
long hp_pkg_lock_probe_parse(const char *out, size_t len);

/* The unified diff (diff -u --label /dev/null --label path) of a file
 * that does not exist yet against content, appended to out: a plan shows
 * it without asking the host. Empty content: nothing. */
void hp_diff_new_file(struct hp_buf *out, const char *path,
		      const char *content, size_t len);

/* Converge one file: if content/mode/owner differ, back up the old file
 * (on the host under /var/lib/haprov/backups/<run>/ and in memory for the
 * state repository), run check_cmd on the new content, install it
 * atomically and note its services for restart/reload. The plan's diff
 * has credentials redacted; replaced content that held a credential is
 * recorded (hp_file_rec.old) only as a note with its sha256, and new
 * content with one is marked secret (committed by hash). */
int hp_step_file(struct hp_hostrun *h, const struct hp_want_file *f,
		 const struct hp_fact_file *fact, bool *changed,
		 struct hp_err *err);

/* Note the services that read f (and a systemd daemon-reload for a unit
 * file) for the service step: reload or restart as f says, restart when
 * removed (the file is gone). */
void hp_step_note_services(struct hp_hostrun *h, const struct hp_want_file *f,
			   bool removed);

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
