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

/*
 * One phase, as the table in phases/common.c describes it: adding a phase
 * is one file (phases/X.c with its hooks) and one row of that table
 * (docs/architecture.md, "Adding a phase"). Nothing outside the phase
 * names it: the driver (apply.c), the rollback, --phase's help and
 * `status` read the table.
 */
/* A read of a phase's own, done in the read-ahead's remote command
 * (phases/prefetch.c); the phase takes its answer with
 * hp_prefetch_answer. */
struct hp_read_ahead {
	/* Append the read's shell text for h to cmd; false (nothing
	 * appended): nothing to read on h. The text must exit 0 for the
	 * read-ahead to count. */
	bool (*cmd)(const struct hp_hostrun *h, struct hp_buf *cmd);
};

struct hp_phase {
	const char *name;
	unsigned role;       /* HP_ROLE_* of the hosts it acts on */
	const char *summary; /* one line, for --help and status */
	/* The templates (render.c) whose files this phase owns,
	 * NULL-terminated (NULL: none). Every rendered file is owned by
	 * exactly one phase (hp_phase_table_check). */
	const char *const *files;
	/* The apt packages host must have for this phase (NULL: none);
	 * *nr gets their number. Borrowed: static, or the inventory's. */
	const char *const *(*packages)(const struct hp_run *run,
				       const struct hp_host *host, size_t *nr);
	/* Packages its passes install beside those, for another phase's
	 * sake (NULL: none; borrowed): the patroni phase installs
	 * extensions.packages, since a new cluster bootstraps with
	 * shared_preload_libraries. Read ahead and installed ahead too. */
	const char *const *(*also_installs)(const struct hp_run *run,
					    size_t *nr);
	/* The services its passes ask about (NULL-terminated, NULL: none),
	 * so that their facts can be read ahead (phases/prefetch.c). */
	const char *const *services;
	/* Reads of its own the read-ahead adds to its command
	 * (NULL-terminated, NULL: none); one shared by two phases is read
	 * once. */
	const struct hp_read_ahead *const *reads_ahead;
	/* Converge (or, in plan mode, report). < 0 when a host failed.
	 * Reads what it wants from the run's desired-state source
	 * (engine.h: hp_desired_*): the inventory, or a rollback point. */
	int (*converge)(struct hp_run *run, struct hp_err *err);
	/* Check the result; HP_EVERIFY with the failing check and the last
	 * answer seen in err. */
	int (*verify)(struct hp_run *run, struct hp_err *err);
	/* What a rollback point records for this phase beside its files:
	 * *out (a new reference, or NULL for nothing to record), kept in
	 * the state repository at snapshot_path. NULL: nothing. */
	int (*snapshot)(struct hp_run *run, json_t **out, struct hp_err *err);
	const char *snapshot_path; /* "patroni/dcs.json" */
	/* Put a rollback point's recorded state back (the run's desired
	 * source is the point, its snapshot in hp_desired_snapshot), then
	 * the driver verifies. NULL: converge reading from the point is
	 * enough. */
	int (*restore)(struct hp_run *run, struct hp_err *err);
	/* The PostgreSQL parameters this phase owns in Patroni's dynamic
	 * configuration, NULL-terminated (NULL: none). HP_DCS_REST alone
	 * means every key no other phase owns (the patroni phase). */
	const char *const *dcs_params;
};

/* In dcs_params: every DCS key that no other phase owns. */
#define HP_DCS_REST "*"

extern const struct hp_phase hp_phases[];
extern const size_t hp_phases_nr;
const struct hp_phase *hp_phase_find(const char *name);

/* The phase of table t that owns the rest of the DCS (HP_DCS_REST), or
 * NULL. Its snapshot is the dynamic configuration: a point of any phase
 * that owns DCS keys records it too, and a rollback of such a phase
 * reads the DCS from it. */
const struct hp_phase *hp_phase_dcs_owner(const struct hp_phase *t,
					  size_t nr);

/* The phase of table t (nr rows) that owns template `name`, or NULL. */
const struct hp_phase *hp_phase_file_owner(const struct hp_phase *t,
					   size_t nr, const char *name);

/*
 * Check a phase table against the templates render.c renders
 * (hp_render_file_template): every one owned by exactly one phase, every
 * template a phase names rendered, exactly one phase owning HP_DCS_REST,
 * no DCS parameter owned twice. HP_ERROR naming the first problem.
 */
int hp_phase_table_check(const struct hp_phase *t, size_t nr,
			 struct hp_err *err);

/*
 * Which keys of Patroni's dynamic configuration a DCS change considers:
 * phase's (a PostgreSQL parameter it lists in dcs_params; for the phase
 * with HP_DCS_REST every key, parameter or not, that no other phase of
 * the table owns). phase NULL: every key (a rollback puts the whole point
 * back).
 */
struct hp_dcs_scope {
	const struct hp_phase *table;
	size_t nr;
	const struct hp_phase *phase;
};
/* key at path ("" for a top-level key, "postgresql.parameters" for a
 * parameter) is in scope; s NULL: everything is. */
bool hp_dcs_in_scope(const struct hp_dcs_scope *s, const char *path,
		     const char *key);
/* The scope of the run's current phase: every key when the desired
 * source is a rollback point or no phase entry is set. */
struct hp_dcs_scope hp_run_dcs_scope(const struct hp_run *run);

/* ---- facts read ahead (phases/prefetch.c) ----------------------------------- */

/*
 * Before the first phase: for each host, every phase of table t whose
 * want[i] is set and that acts on the host's roles, its files (rendered),
 * packages and services asked about in one remote command. A failure
 * leaves nothing behind: each phase then asks for itself. Not in a
 * rollback.
 */
void hp_phase_prefetch(struct hp_run *run, const struct hp_phase *t,
		       size_t nr, const bool *want);
/* One phase's part of a facts read on a host: its files (rendered),
 * packages and services, and where each run sits in the one read
 * (hp_phase_asks_gather sets f0, nf, p0, s0, ns). Shared by the read-ahead
 * and the install ahead (phases/pkg_ahead.c). */
struct hp_phase_ask {
	const struct hp_phase *ph;
	struct hp_want_file *wf; /* owned */
	size_t nwf;
	const char **pkgs; /* hp_phase_all_packages; the array owned */
	size_t np;
	size_t f0, nf, p0, s0, ns;
};
/* k for phase ph on h; false (nothing to release) when its files cannot
 * be rendered: the phase says why in its own turn. */
bool hp_phase_ask_init(struct hp_hostrun *h, const struct hp_phase *ph,
		       struct hp_phase_ask *k);
void hp_phase_ask_release(struct hp_phase_ask *k);
/* One facts command (hp_facts_gather_more, with more and more_out) for
 * the n asks: each one's files that keep_file takes (NULL: all), its
 * packages, its services; the runs of each in f are set in k. */
int hp_phase_asks_gather(struct hp_hostrun *h, struct hp_phase_ask *k,
			 size_t n, bool (*keep_file)(const struct hp_want_file *),
			 const char *more, struct hp_buf *more_out,
			 struct hp_facts *f, struct hp_err *err);
/* The cache key of a phase's facts: the phase, its files, its services. */
char *hp_phase_facts_key(const char *phase, const struct hp_want_file *wf,
			 size_t nwf, const char *const *svcs, size_t nr_svcs);
/* The facts read ahead under key, with pkgs' answers (every one must have
 * been read), while the run recorded no change since; false otherwise. */
bool hp_prefetch_take(struct hp_hostrun *h, const char *key,
		      const char *const *pkgs, size_t nr_pkgs,
		      struct hp_facts *out);
/* What hp_phase_asks_gather (without more) would answer for the n asks,
 * from h's read-ahead alone, with the runs of each in f set in k; false
 * (f empty, nothing asked of the host) when any ask's answer is not
 * there or no longer stands. */
bool hp_phase_asks_read_ahead(struct hp_hostrun *h, struct hp_phase_ask *k,
			      size_t n,
			      bool (*keep_file)(const struct hp_want_file *),
			      struct hp_facts *f);
/* The answer (remote bytes, unchecked; *len bytes, NUL-terminated) of
 * read r in h's read-ahead, while the run recorded no change since; NULL
 * otherwise. Borrowed: valid until the next read-ahead. */
const char *hp_prefetch_answer(const struct hp_hostrun *h,
			       const struct hp_read_ahead *r, size_t *len);
/* For a read whose text ends with its exit status on a last line: when
 * that answer stands and ends with the line ok ("-- own 0\n"), what came
 * before it appended to out, and true; false otherwise (nothing added). */
bool hp_prefetch_answer_ok(const struct hp_hostrun *h,
			   const struct hp_read_ahead *r, const char *ok,
			   struct hp_buf *out);

/* ---- shared by the phases (phases/common.c) ------------------------------- */

/* The files host h must have for phase `phase` (a row of hp_phases: the
 * rendered files whose template the row lists in `files`), rendered from
 * the inventory with the run's secrets (also during a rollback:
 * hp_phase_host_converge then puts the point's files in their place, see
 * restore.h). A rendered file that no phase owns is HP_ERROR. *out is an
 * array the caller frees with hp_want_files_free, which wipes secret
 * contents. */
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
 * missing packages on a host (arg: a struct hp_pkg_pass). A plan that names
 * the services also reads the phase's files and those services in the same
 * command, and keeps the answer for the host pass (hp_phase_host_converge
 * with skip_packages, the same files and services) while the run records
 * no change. */
struct hp_pkg_pass {
	const char *phase;
	struct hp_host_plan plan; /* pkgs, post_install_cmd, svcs are used */
};
int hp_phase_packages_host(struct hp_hostrun *h, void *arg);

/*
 * Packages ahead (pkg_ahead.c): in an apply, a host's packages step that
 * installs something also installs the later selected phases' missing
 * packages. hp_ahead_prepare writes those phases' before_install files
 * and fills a with the packages to install (own first, then the later
 * ones, each once) and the services to hold back during the install;
 * a->nr is 0 when nothing goes along (plan, rollback, nothing missing),
 * and the caller installs own alone. Release a with hp_ahead_release.
 */
struct hp_ahead {
	const char **pkgs; /* borrowed names */
	bool *installed;
	size_t nr;
	const char **hold; /* borrowed service names */
	size_t nr_hold;
};
/* Every package phase ph's passes install on host: packages, then
 * also_installs (allocated, the names borrowed; the caller frees it),
 * *nr their number. NULL with *nr 0 when there are none. */
const char **hp_phase_all_packages(const struct hp_run *run,
				   const struct hp_phase *ph,
				   const struct hp_host *host, size_t *nr);
int hp_ahead_prepare(struct hp_hostrun *h, const char *const *own,
		     const bool *own_installed, size_t nown,
		     struct hp_ahead *a, struct hp_err *err);
void hp_ahead_release(struct hp_ahead *a);

/* Run fn for each selected, not failed host with role, one at a time, in
 * this order: every host but `last` in inventory order, then `last` (may be
 * NULL). Stops at the first failure (marking that host failed). */
int hp_run_serial(struct hp_run *run, unsigned role, const char *last,
		  hp_host_fn fn, void *arg, struct hp_err *err);
/* hp_run_serial for a staged pass whose fn honours plan mode (changes
 * nothing, and records what it would change, when run->opts.plan). A
 * plan runs fn on every host at once (results in inventory order). An
 * apply first runs it at once on every host as a plan: a host that would
 * change nothing and did not fail keeps those results; only the others
 * then run one at a time, in hp_run_serial's order. */
int hp_run_staged(struct hp_run *run, unsigned role, const char *last,
		  hp_host_fn fn, void *arg, struct hp_err *err);

/* "http://address:port/path" for host ("[v6]" in brackets), "https://"
 * when hp_url_set_https(true) was called: hp_run_init does with the
 * inventory's tls.enabled, as does haprov status. The caller frees it. */
char *hp_url(const struct hp_host *host, int port, const char *path);
/* The same with an explicit scheme ("http", "https"), whatever the
 * process-wide one is: probes of the other scheme, the TLS migration. */
char *hp_url_scheme(const char *scheme, const struct hp_host *host, int port,
		    const char *path);
void hp_url_set_https(bool on);

/* Commit the phase's state (files per host, run record, and each
 * snapshot: snapshots maps a state path to the JSON recorded there, may
 * be NULL) to the state repository and tag a rollback point, when the
 * phase changed something. */
int hp_phase_commit(struct hp_run *run, const char *phase,
		    const json_t *snapshots, const char *result,
		    struct hp_err *err);

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
/* The plan's read of those directories, for the read-ahead
 * (phases/patroni_dirs.c). */
extern const struct hp_read_ahead hp_patroni_dirs_read_ahead;
/* The primary backend's server state on an haproxy host, for the read-ahead
 * (phases/haproxy_runtime.c): the check for a drain left by an interrupted
 * switchover takes it while the run changed nothing. */
extern const struct hp_read_ahead hp_haproxy_state_read_ahead;

/* Patroni's key in etcd: <namespace><scope>/<key> (patroni_join.c). */
char *hp_patroni_dcs_key(const struct hp_inventory *inv, const char *key);
/* The member called name in a GET /cluster answer, or NULL
 * (patroni_join.c). */
const json_t *hp_patroni_member(const json_t *cluster, const char *name);
/* Whether patroni host name is a new member: cluster does not list it
 * and `systemctl is-active patroni` said is_active, not "active". */
bool hp_patroni_is_new(const json_t *cluster, const char *name,
		       const char *is_active);
/* The new members of a live cluster (inventory patroni hosts that
 * leader's /cluster does not list and whose Patroni is not running):
 * start(h, arg) each (files, directories, service), then wait until
 * every member streams (hp_run_wait_s). A plan reports them and keeps
 * them marked (hp_hostrun.patroni_new). */
int hp_patroni_join(struct hp_run *run, struct hp_rest *rest,
		    const char *leader, hp_host_fn start, void *arg,
		    struct hp_err *err);

/* Wait until host's Patroni REST API serves /etc/patroni/tls/host.crt,
 * reloading Patroni once if it does not yet (phases/patroni_cert.c):
 * after a reload that may change the certificate, before anything talks
 * to :8008 again. Records a step. */
int hp_patroni_cert_served(struct hp_hostrun *h, struct hp_err *err);
/* Whether the patroni phase waits so after its service step did act: a
 * reload, TLS on, not a plan. */
bool hp_patroni_reload_waits(const struct hp_run *run, enum hp_svc_action act);

/* Wait until GET /cluster shows one leader (leader) and every member
 * running, and the leader's GET /patroni shows every replica streaming. */
/* hp_rest_poll's test for GET /primary: 200, the member serves as the
 * primary (what HAProxy's check asks). */
bool hp_patroni_primary_ok(const struct hp_rest_resp *resp, void *arg,
			   struct hp_buf *why);
/*
 * A new cluster's first start (phases/patroni_bootstrap.c), first's service
 * already started: wait until first's GET /patroni says it bootstraps (it
 * holds Patroni's initialize key), then start the other selected patroni
 * hosts with start(h, arg) (first must be unselected), then wait until
 * first serves GET /primary. A failed bootstrap is an error before any
 * other member starts. Sets run->standbys_new.
 */
int hp_patroni_bootstrap(struct hp_run *run, struct hp_rest *rest,
			 struct hp_hostrun *first, hp_host_fn start, void *arg,
			 struct hp_err *err);
/* hp_rest_poll's test for GET /patroni during a bootstrap: true when the
 * state says the member bootstraps or has (seen->failed false) or that
 * its bootstrap failed (seen->failed true); the state, when it fits, in
 * seen->state (remote text: print only through hp_printable_dup). */
struct hp_boot_seen {
	char state[64];
	bool failed;
};
bool hp_patroni_bootstrapping(const struct hp_rest_resp *resp, void *arg,
			      struct hp_buf *why);
int hp_patroni_wait_healthy(struct hp_run *run, struct hp_rest *rest,
			    const char *leader, int deadline_ms,
			    struct hp_err *err);

/* ---- the SQL step (phases/sql.c) ------------------------------------------ */

/*
 * A psql script whose values are psql variables: `\set name 'value'` lines
 * first (each value through hp_sql_literal's rules), then SQL text that
 * refers to them as :'name' (a literal) or :"name" (an identifier), which
 * psql quotes for the server. Values are never pasted into the SQL text.
 * Conditional DDL that cannot run in a transaction (CREATE DATABASE) is
 * written as SELECT format(...) WHERE ... \gexec.
 */
struct hp_sql {
	struct hp_buf vars; /* the \set lines */
	struct hp_buf text; /* the SQL */
};
void hp_sql_init(struct hp_sql *s);
/* Wipes the variables (a password verifier) and frees. */
void hp_sql_release(struct hp_sql *s);
/* [a-z_][a-z0-9_]*, at most 32 characters. */
bool hp_sql_var_name_ok(const char *name);
/* Add variable name = value. HP_EINVALID for a bad name, a name psql
 * reserves (ON_*), or a value hp_sql_literal refuses. */
int hp_sql_var(struct hp_sql *s, const char *name, const char *value,
	       struct hp_err *err);
/* Append fixed SQL text (a newline is added when missing). Never a value:
 * values go through hp_sql_var. */
void hp_sql_add(struct hp_sql *s, const char *sql);
/* The whole script (variables, then text) appended to out. */
void hp_sql_script(const struct hp_sql *s, struct hp_buf *out);
/* A database name that may go to psql's -d or \connect (NULL: yes): an
 * SQL identifier of the inventory's kind. The inventory checks it; it is
 * checked again here because psql reads "host=..." and "postgresql://..."
 * as a connection string. */
bool hp_sql_db_name_ok(const char *db);
/* hp_psql_command's command line for database db (NULL: postgres). */
void hp_psql_command_db(struct hp_buf *out, const struct hp_inventory *inv,
			const char *db);
/* The command line from its parts: bin_dir's psql (NULL: psql on PATH),
 * port, role superuser (NULL: postgres), database db (NULL: postgres). */
void hp_psql_argv(struct hp_buf *out, const char *bin_dir, int port,
		  const char *superuser, const char *db);
/*
 * Run the script on host (an inventory name; in the run, connected) in
 * database db (NULL: postgres), as hp_psql_command does, the script on
 * standard input. write: a change, through the host-locked mutating path
 * (refused in plan mode); otherwise a read. psql's answer (at most 256
 * KiB, remote text: parse it with caps) is appended to out (may be NULL).
 * A failure quotes psql's stderr made printable, prefixed "psql on HOST".
 */
int hp_sql_run(struct hp_run *run, const char *host, const char *db,
	       const struct hp_sql *s, bool write, struct hp_buf *out,
	       struct hp_err *err);

/*
 * Several read-only scripts in one psql session on a member
 * (phases/sql_session.c): part i runs in database db (NULL: postgres; psql
 * \connects between parts, the name a variable) and out gets what psql
 * printed for it, told apart by marker lines that carry a random nonce.
 */
struct hp_sql_part {
	const char *db;     /* borrowed; NULL: postgres */
	struct hp_sql sql;  /* the part's script */
	struct hp_buf out;  /* its answer (remote text) */
};
void hp_sql_parts_init(struct hp_sql_part *p, size_t nr);
void hp_sql_parts_release(struct hp_sql_part *p, size_t nr);
int hp_sql_run_parts(struct hp_run *run, const char *host,
		     struct hp_sql_part *p, size_t nr, struct hp_err *err);
/* The order the parts run in (order: nr indexes): those in postgres
 * first, then each other database's together, in the order they first
 * appear. */
void hp_sql_parts_order(const struct hp_sql_part *p, size_t nr, size_t *order);
/* The session's script, into out (unit tests). */
int hp_sql_parts_script(const struct hp_sql_part *p, size_t nr,
			const char *nonce, struct hp_sql *out,
			struct hp_err *err);
/* psql's answer split into the parts' out at the nonce's marker lines;
 * HP_EREMOTE when a marker is missing, repeated, out of order, or text
 * follows the last one. */
int hp_sql_split_parts(const char *ans, size_t len, const char *nonce,
		       struct hp_sql_part *p, size_t nr, struct hp_err *err);

/* ---- staged changes (phases/staged*.c, phases/rolling.c) -------------- */

/*
 * The PATCH that turns `have` into `want` (NULL when nothing differs):
 * every key of want whose value differs, recursing into objects; a
 * PostgreSQL parameter in `have` but not in `want` is set to null, which
 * makes Patroni remove it. "key: old -> new" lines go to desc, every key
 * and value through the printable-text sanitizer (have is remote text).
 */
json_t *hp_dcs_patch(const json_t *want, const json_t *have,
		     const char *prefix, struct hp_buf *desc);
/* The same for only the keys in scope (NULL: all): a key out of scope is
 * neither set nor, when want lacks it, nulled. */
json_t *hp_dcs_patch_scoped(const json_t *want, const json_t *have,
			    const char *prefix,
			    const struct hp_dcs_scope *scope,
			    struct hp_buf *desc);

/*
 * Check a dynamic configuration before anything of it is used: an object;
 * "postgresql" and "postgresql.parameters", when present, objects; every
 * parameter name a valid GUC name (hp_guc_name_valid) and every value a
 * string, number, boolean or null. `from` names where it came from in the
 * error ("GET /config on pg1"). HP_EVERIFY names the offending key,
 * sanitized. Runs in plan as in apply: a hostile name never reaches SQL.
 */
int hp_dcs_config_check(const json_t *config, const char *from,
			struct hp_err *err);

/*
 * Append s (len bytes) to out as one SQL string literal: '...' with each
 * single quote doubled, as PostgreSQL's quote_literal does. Never E'...':
 * a byte that would need an escape, or could change how psql or the server
 * reads the line, is refused instead (HP_EINVALID, out unchanged): NUL,
 * control characters (a newline would let the rest of the text start a
 * line of its own, where psql reads backslash commands), DEL, non-ASCII
 * bytes (multi-byte client encodings) and the backslash (whose meaning
 * depends on standard_conforming_strings). What passes is printable ASCII
 * whose only special character, the quote, is doubled: the literal means
 * the same under any server setting and psql sees it as one quoted token.
 */
int hp_sql_literal(struct hp_buf *out, const char *s, size_t len,
		   struct hp_err *err);

/*
 * The one psql command line haprov runs, with no SQL in it (the SQL goes on
 * standard input): "cd / && runuser -u postgres -- <bin_dir>/psql -X -q -A
 * -t -v ON_ERROR_STOP=1 -p <pg_port> -U <superuser> -d postgres", every
 * word through the shell-quoting function. psql is the version's own
 * binary, not Debian's /usr/bin/psql (a Perl wrapper that costs 25 ms a
 * start); the port is the inventory's, on the local socket. The OS user is
 * postgres (Debian runs PostgreSQL as postgres); the database role is the
 * inventory's secrets.superuser, which the rendered pg_hba/pg_ident let OS
 * user postgres use over the local socket (peer, map haprov_super).
 */
void hp_psql_command(struct hp_buf *out, const struct hp_inventory *inv);

/* The hot-standby settings a replica must have at least as high as the
 * primary's (PostgreSQL refuses to run a hot standby otherwise), with
 * PostgreSQL's default for an unset one. */
struct hp_standby_setting {
	const char *name;
	long long dflt;
};
extern const struct hp_standby_setting hp_standby_settings[];
extern const size_t hp_standby_settings_nr;

/*
 * The SQL script (for psql's standard input) that asks the leader which of
 * the names in params (an object, may be NULL: its keys) need a restart,
 * and the hot-standby settings it runs with now:
 *	SELECT 'R', name FROM pg_settings WHERE context = 'postmaster' AND
 *	  name IN ('a', 'b');          (only when params has keys)
 *	SELECT 'S', name, setting FROM pg_settings WHERE name IN (...);
 * Names are checked GUC names, lowercased, each through hp_sql_literal.
 * HP_EVERIFY for a name that is not a GUC name.
 */
int hp_staged_settings_sql(struct hp_buf *out, const json_t *params,
			   struct hp_err *err);

/*
 * Parse psql's answer to that script (remote text): "R|name" lines (name
 * one of params' keys, case-insensitively) are added to need as params
 * spells them; "S|name|digits" lines (name a hot-standby setting) go to
 * *running as {"postgresql": {"parameters": {name: integer}}} (new
 * reference, set on success only). Any other line, or an answer that
 * lacks one of the hot-standby settings, is HP_EREMOTE, quoted sanitized.
 */
int hp_staged_settings_parse(const char *out, const json_t *params,
			     struct hp_strlist *need, json_t **running,
			     struct hp_err *err);

/*
 * The restart order: true when the leader must be restarted first (then
 * the replicas, and no switchover), because a hot-standby setting is lower
 * in want than in have (each a dynamic configuration; a missing or null
 * parameter means PostgreSQL's default); a replica restarted first with
 * the lower value would refuse to run as a hot standby of the old leader.
 * A value that is not a whole number counts as a shrink: leader first is
 * the order that never leaves a replica unable to start. Otherwise (grow,
 * or only other parameters): replicas first, then one switchover.
 */
bool hp_restart_leader_first(const json_t *have, const json_t *want);

/*
 * Judge one GET /cluster answer (remote, untrusted). Hard errors, for an
 * answer haprov must not act on at all, return HP_EVERIFY naming what was
 * wrong (sanitized): not an object; no "members" array; a member that is
 * not an object or has no string name, role or state; a member that is not
 * a patroni host of the inventory; a member listed twice; two leaders.
 * Otherwise 0, *leader the leader's inventory name (borrowed from inv) or
 * NULL, and *stable whether nothing is in transition; if not, why says
 * what: no leader, a scheduled switchover, a member whose role is not
 * leader/replica/sync_standby or whose state is not running/streaming, an
 * inventory member missing from the answer.
 *
 * down (NULL, or one bool per inventory host): a repair (a rollback) acts
 * on members a bad change left down, so a replica in a failed state
 * ("start failed", "restart failed", "crashed", "stopped") or missing from
 * the answer is marked there instead of counting as a transition. A
 * scheduled switchover, a member on its way (starting, stopping,
 * demoting...), no leader or a leader that is not running still are.
 */
int hp_staged_cluster_check(const struct hp_inventory *inv,
			    const json_t *cluster, const char **leader,
			    bool *stable, bool *down, struct hp_buf *why,
			    struct hp_err *err);

/* The leader's GET /patroni answer: every other patroni host of the
 * inventory (but those marked in skip, which may be NULL) is listed in
 * "replication" with state "streaming". If not, false and why names the
 * first that is not. */
bool hp_staged_streaming(const struct hp_inventory *inv, const char *leader,
			 const json_t *patroni, const bool *skip,
			 struct hp_buf *why);

/*
 * Wake member's Patroni loop now (patroni_nudge.c): PATCH /config with
 * loop_wait as GET /config gives it, which changes nothing in the DCS. A
 * leader's loop creates new members' replication slots, every member's
 * writes its WAL position (GET /cluster's lag) to the DCS. Best effort:
 * the caller may ignore the error (logged at -v -v).
 */
int hp_patroni_nudge(struct hp_run *run, struct hp_rest *rest,
		     const char *member, struct hp_err *err);
/* hp_patroni_nudge on every patroni host of the inventory. */
void hp_patroni_nudge_all(struct hp_run *run, struct hp_rest *rest);
/* SIGHUP each patroni host's postmaster but the leader's, over SSH, so
 * that a standby whose walreceiver failed (its slot did not exist yet)
 * tries again now instead of after wal_retrieve_retry_interval. Best
 * effort; nothing in plan mode. The command, for tests: */
void hp_patroni_wake_standbys(struct hp_run *run, const char *leader);
void hp_patroni_wake_standby_cmd(struct hp_buf *out, const char *data_dir);
/* The body of that PATCH from GET /config's answer: {"loop_wait": N}, N
 * an integer in 1..3600 (else HP_EVERIFY: a hostile or broken answer is
 * not written back). */
int hp_patroni_nudge_body(const json_t *config, json_t **body,
			  struct hp_err *err);

/*
 * Wait until the cluster is stable, for at most validation.timeout_s:
 * exactly one leader, every inventory member present and running, no
 * switchover scheduled or member in transition, every replica streaming
 * from the leader (its GET /patroni). Prints what it waits for while it
 * waits. *leader (the caller frees it): the leader's inventory name.
 * HP_EVERIFY at once for a hostile answer (hp_staged_cluster_check),
 * HP_ETIMEOUT with the last reason when the deadline passes.
 */
int hp_staged_wait_stable(struct hp_run *run, struct hp_rest *rest,
			  char **leader, struct hp_err *err);

/*
 * Converge Patroni's dynamic configuration, staged: wait for a stable
 * cluster (apply only); PATCH only what differs on the leader; wait until
 * every member reports it; restart the members that need it (PostgreSQL's
 * pg_settings context says which), one at a time, each after waiting for
 * a stable cluster: replicas first, then one switchover, then the former
 * leader (or the leader first when a hot-standby setting shrinks); then
 * the cluster must stay healthy for validation.soak_s. A pending restart
 * left by an interrupted run is finished too. Only the keys of the run's
 * DCS scope (hp_run_dcs_scope) are compared, set or nulled: the patroni
 * phase never touches a parameter the tuning phase owns, nor the tuning
 * phase ttl; a rollback considers every key. leader: Patroni's leader as
 * hp_patroni_leader found it (an inventory host); apply acts on the leader
 * the stable cluster shows.
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
/* The UP servers ("UP", or "UP 1/3" while checks start failing) of
 * backend px in hp_haproxy_servers' list, in config order, as a comma
 * list appended to out. */
void hp_haproxy_up_servers(const json_t *servers, const char *px,
			   struct hp_buf *out);

/* ---- one member at a time (phases/rolling.c) ----------------------------- */

/*
 * What hp_rolling_members does on each member. member(name, leader):
 * act on patroni member `name` while `leader` leads a stable cluster;
 * 0 when done, or when the member needed nothing (the call must be
 * idempotent: an interrupted roll is finished by the next run); < 0
 * stops the roll. The helper then waits for a stable cluster again, led
 * by the same leader, with every replica streaming.
 * leader_needs(leader, *out): whether the leader still needs member()
 * once every replica is done (NULL: always). false ends the roll: no
 * switchover. Called once, after the replicas.
 * leader: the leader the roll must start from (NULL: whoever leads the
 * stable cluster); a different one is HP_EVERIFY, nothing done.
 */
typedef int (*hp_member_fn)(struct hp_run *run, struct hp_rest *rest,
			    const char *name, const char *leader, void *arg,
			    struct hp_err *err);
struct hp_rolling {
	hp_member_fn member;
	int (*leader_needs)(struct hp_run *run, struct hp_rest *rest,
			    const char *leader, void *arg, bool *out,
			    struct hp_err *err);
	void *arg;
	const char *leader;
};

/*
 * One member at a time, replicas first: wait for a stable cluster (one
 * leader, every member running, replicas streaming: hp_staged_wait_stable);
 * member() on each replica in inventory order, waiting for a stable
 * cluster led by the same leader after each; then, if leader_needs says
 * so, one switchover to the first replica done (verified: it leads, the
 * former leader streams from it), and member() on the former leader, the
 * new leader leading. Every step is recorded; interruption is HP_EINTR.
 * A leader that changes under the roll stops it (HP_EVERIFY: run apply
 * again to finish). With no replica and a leader that needs it:
 * HP_EVERIFY, the leader untouched. Used by the staged rolling restart;
 * the pg_wal move and the extensions' preload use it too.
 */
int hp_rolling_members(struct hp_run *run, struct hp_rest *rest,
		       const struct hp_rolling *how, struct hp_err *err);

/* ---- the extensions phase (phases/extensions*.c) ------------------------ */

/*
 * What a database has, from psql's answer to hp_ext_state_sql (remote
 * text): pg_extension's rows ("E|name|version") and the available
 * versions of the inventory's extensions ("A|name|version"). Names are 1
 * to 63 bytes and versions 1 to 64 of printable ASCII without '|'; at
 * most HP_EXT_ROWS_MAX lines.
 */
#define HP_EXT_NAME_MAX 63
#define HP_EXT_VERSION_MAX 64
#define HP_EXT_ROWS_MAX 4096
struct hp_ext_row {
	char name[HP_EXT_NAME_MAX + 1];
	char version[HP_EXT_VERSION_MAX + 1];
};
struct hp_ext_state {
	struct hp_ext_row *installed;
	size_t nr_installed, alloc_installed;
	struct hp_ext_row *available;
	size_t nr_available, alloc_available;
};
void hp_ext_state_release(struct hp_ext_state *st);

/* The read-only script for database d: its pg_extension rows, and the
 * available versions of d's extensions (names as psql variables). */
int hp_ext_state_sql(struct hp_sql *s, const struct hp_ext_db *d,
		     struct hp_err *err);
/* Parse that answer into *st (set on success only; released on error).
 * Any other line is HP_EREMOTE, quoted printable. */
int hp_ext_state_parse(const char *out, struct hp_ext_state *st,
		       struct hp_err *err);

/* The read-only script (in database postgres) that lists which of the
 * inventory's extension databases exist: "D|name" lines. Nothing is
 * added when e lists no database. */
int hp_ext_dbs_sql(struct hp_sql *s, const struct hp_extensions *e,
		   struct hp_err *err);
/* exists[i] (one per e->databases) from that answer; a line that is not
 * "D|" and one of those names is HP_EREMOTE. */
int hp_ext_dbs_parse(const char *out, const struct hp_extensions *e,
		     bool *exists, struct hp_err *err);

/* What the phase does in one database. LEFT: installed, in neither of the
 * inventory's lists (plpgsql aside): reported, never touched. */
enum hp_ext_op { HP_EXT_CREATE, HP_EXT_UPDATE, HP_EXT_DROP, HP_EXT_LEFT };
struct hp_ext_action {
	enum hp_ext_op op;
	const char *name;    /* borrowed: the inventory's or the state's */
	const char *version; /* CREATE (may be NULL) and UPDATE: wanted */
	const char *have;    /* UPDATE, DROP, LEFT: installed version */
};
struct hp_ext_plan {
	struct hp_ext_action *v;
	size_t nr, alloc;
};
void hp_ext_plan_release(struct hp_ext_plan *p);

/*
 * Only what differs: CREATE a missing extension, UPDATE one whose
 * installed version is not the inventory's (only when it gives one),
 * DROP an absent one that is installed; LEFT for the others installed.
 * check: a CREATE or UPDATE needs the extension (at that version) in
 * st's available rows, else HP_EINVALID naming database, extension and
 * what to do; the plan is empty then. *out borrows from d and st.
 */
int hp_ext_decide(const struct hp_ext_db *d, const struct hp_ext_state *st,
		  bool check, struct hp_ext_plan *out, struct hp_err *err);
/* How many of p's actions change something (all but LEFT). */
size_t hp_ext_plan_changes(const struct hp_ext_plan *p);
/* "create pg_cron version 1.5 in database postgres", ... */
void hp_ext_describe(const struct hp_ext_action *a, const char *db,
		     struct hp_buf *out);
/* The script of p's changes: one transaction; names and versions are
 * psql variables (e<i>, v<i>); DROP never CASCADE. */
int hp_ext_change_sql(struct hp_sql *s, const struct hp_ext_plan *p,
		      struct hp_err *err);
/* st shows d as the inventory wants it; else false, why says what. */
bool hp_ext_state_ok(const struct hp_ext_db *d, const struct hp_ext_state *st,
		     struct hp_buf *why);
/* SHOW shared_preload_libraries's answer (remote) lists lib. */
bool hp_ext_preload_has(const char *show, const char *lib);
/* s (len bytes) is a pg_lsn as PostgreSQL prints it: "16/B374D848". */
bool hp_ext_lsn_ok(const char *s, size_t len);
/* The WAL position a leader's GET /patroni answer gives (role master or
 * primary, xlog.location a non-negative integer) as pg_lsn text ("X/Y")
 * into lsn; false when the answer does not say. */
bool hp_ext_lsn_from_status(const json_t *status, char *lsn, size_t size);

/* ---- the tuning phase (phases/tuning.c, phases/tuning_wal.c) ---------- */

/*
 * Whether PostgreSQL's SHOW text `shown` for setting `name` (one of the
 * tuning.* settings) means the inventory's value `want`: numbers with
 * units in base units ("15min" = "900s" = "900"; "1GB" = "1024MB"), the
 * setting's own unit for a bare number (checkpoint_timeout s, max_wal_size
 * and min_wal_size MB, wal_buffers 8kB blocks; wal_buffers -1 is any
 * size), fractions as numbers ("0.9" = "0.90"), booleans in any spelling,
 * and wal_compression "on" = "pglz". Anything else compares as text,
 * case-insensitively.
 */
bool hp_tuning_value_eq(const char *name, const char *want,
			const char *shown);

/* Judge the verify query's answer from host ("name|SHOW text|t-or-f"
 * lines, one per tuning setting, remote text) against what the run wants
 * (the inventory, or a rollback's DCS settings): HP_EVERIFY for a value
 * that differs or a pending_restart, HP_EREMOTE for a malformed answer. */
int hp_tuning_show_check(struct hp_run *run, const char *host,
			 const char *out, struct hp_err *err);

/* What one read-only command found out about tuning.wal_device and
 * tuning.wal_dir on a host (remote text, parsed with caps). */
#define HP_WAL_MAX_MOUNTS 4
struct hp_wal_facts {
	bool block;          /* the device is a block device */
	int blkid_rc;        /* blkid -p: 0 signature, 2 none, else error */
	char type[32];       /* blkid TYPE (a filesystem) */
	char pttype[32];     /* blkid PTTYPE (a partition table) */
	char uuid[64];       /* blkid UUID */
	char label[32];      /* blkid LABEL */
	bool zero_read;      /* the first MiB was read (only when blkid
				finds no signature: rc 2) */
	bool nonzero;        /* a non-zero byte in the device's first MiB */
	char devno[24];      /* "major:minor", decimal */
	char mounts[HP_WAL_MAX_MOUNTS][256]; /* where the device is mounted */
	size_t nr_mounts;    /* may exceed HP_WAL_MAX_MOUNTS (not stored) */
	bool wal_mounted;    /* something is mounted at wal_dir */
	char wal_devno[24];  /* what: "major:minor" */
	int wal_entries;     /* entries in wal_dir: -1 missing, 0..3 (3: more) */
	char fstab[256];     /* /etc/fstab's line for wal_dir, if any */
	bool fstab_many;     /* more than one such line */
	char link[256];      /* readlink of data_dir/pg_wal ("" : not a link) */
	bool wal_is_dir;     /* data_dir/pg_wal is a real directory */
	bool old_copy;       /* data_dir/pg_wal.haprov-old exists: a move's
				copy not yet removed */
};

/* What to do with the device (hp_wal_decide). */
enum hp_wal_action {
	HP_WAL_REFUSE, /* why says it */
	HP_WAL_FORMAT, /* blank: mkfs.ext4, fstab, mount */
	HP_WAL_MOUNT,  /* ours (ext4 labelled haprov-wal), not mounted */
	HP_WAL_FSTAB,  /* mounted at wal_dir, but fstab lacks its line */
	HP_WAL_OK,     /* mounted at wal_dir, fstab has it */
};
/* The label haprov gives the file system it makes. */
#define HP_WAL_LABEL "haprov-wal"

/* The remote read-only command that prints the facts for device and
 * wal_dir (pg_wal: data_dir/pg_wal), appended to out. */
void hp_wal_facts_cmd(struct hp_buf *out, const char *device,
		      const char *wal_dir, const char *pg_wal);
/* Parse its answer (any bytes) into f; HP_EREMOTE for a line it does not
 * know or that is too long, quoted printable. */
int hp_wal_facts_parse(const char *text, size_t len, struct hp_wal_facts *f,
		       struct hp_err *err);
/* The decision for host `host`: refuse (why names host and device), or
 * what to do. Blank = blkid -p finds no signature (exit 2) and the first
 * MiB is all zeros. */
enum hp_wal_action hp_wal_decide(const struct hp_wal_facts *f,
				 const char *host, const char *device,
				 const char *wal_dir, struct hp_buf *why);
/* The facts of the host's tuning.wal_device (set), read on the host or,
 * while the run has recorded no change since the last read, that read. */
int hp_wal_facts_read(struct hp_hostrun *h, struct hp_wal_facts *f,
		      struct hp_err *err);
/* For the read-ahead (phases/prefetch.c): the facts command of h's
 * tuning.wal_device appended to cmd, when h is a patroni host and the
 * inventory sets a valid device and wal_dir; false (nothing appended)
 * otherwise. hp_wal_facts_read takes its answer. */
bool hp_wal_facts_ahead_cmd(const struct hp_hostrun *h, struct hp_buf *cmd);
extern const struct hp_read_ahead hp_wal_read_ahead;
/* The verify's lighter command, answered in the same lines (B, K, W, L,
 * D): is device (may be NULL: not asked) mounted at wal_dir, and where
 * does pg_wal point; 8 ms of a host's CPU instead of 25. */
void hp_wal_verify_cmd(struct hp_buf *out, const char *device,
		       const char *wal_dir, const char *pg_wal);
/* The /etc/fstab line that mounts file system uuid at wal_dir. */
void hp_wal_fstab_line(struct hp_buf *out, const char *uuid,
		       const char *wal_dir);
/* A path haprov puts in fstab and shell commands unescaped: absolute,
 * [A-Za-z0-9/._-] only, no "..", at most 200 bytes. */
bool hp_wal_path_ok(const char *path);

/*
 * The WAL volume on one host (tuning.wal_device at tuning.wal_dir): facts
 * in one read-only command, then refuse (a missing device, one mounted
 * elsewhere or holding data), or format a blank one (ext4), add its fstab
 * line (by UUID), mount it, and own wal_dir postgres:postgres 0700. Plan
 * mode reports only. Nothing when wal_device is not set. Called by the
 * patroni phase before a member's data directory is made, so initdb and
 * pg_basebackup write pg_wal onto the volume.
 */
int hp_wal_volume_host(struct hp_hostrun *h, struct hp_err *err);
/* Only the facts and the decision (no change, also in apply): the refusal
 * before any change. */
int hp_wal_volume_check(struct hp_hostrun *h, struct hp_err *err);
/* hp_wal_volume_check on every patroni host (in parallel), before any
 * phase changes a host: the first refusal, naming host and device. 0 when
 * wal_device is not set. */
int hp_wal_volume_precheck(struct hp_run *run, struct hp_err *err);

/*
 * Move member name's pg_wal onto the volume, if it is still a directory
 * in the data directory: stop Patroni, move (crash-safe, see tuning_wal.c),
 * start Patroni, wait until the cluster is healthy and led by leader. For
 * hp_rolling_members (the member is a replica when this runs).
 */
int hp_wal_move_member(struct hp_run *run, struct hp_rest *rest,
		       const char *name, void *arg, struct hp_err *err);
/* Every member's pg_wal onto the volume, one at a time
 * (hp_rolling_members: replicas first, one switchover when the leader
 * needs it, then the former leader). Plan: each member that would move is
 * reported, nothing else. */
int hp_wal_move_rolling(struct hp_run *run, struct hp_rest *rest,
			struct hp_err *err);
/* The remote move script (crash-safe: see phases/tuning_move.c) for
 * pg_wal (data_dir/pg_wal) onto target (wal_dir/pg_wal); device: refuse
 * unless something is mounted at wal_dir. Prints "moved"; exit 3 for a
 * refusal (PostgreSQL running, a state it will not guess about). */
void hp_wal_move_cmd(struct hp_buf *cmd, const char *pg_wal,
		     const char *target, const char *wal_dir, bool device);
/* Whether member name's pg_wal still has to move (a read). */
int hp_wal_move_needed(struct hp_run *run, const char *name, bool *out,
		       struct hp_err *err);
/* The verify part: on every member, pg_wal links to the WAL path and
 * wal_device is mounted at wal_dir. */
int hp_wal_verify(struct hp_run *run, struct hp_err *err);

/* ---- etcd's members and its leader (phases/etcd.c, phases/etcd_leader.c) -- */

/* hp_rest_poll's test for an etcd member's GET /health: 200 and
 * {"health": "true"}. */
bool hp_etcd_health_ok(const struct hp_rest_resp *resp, void *arg,
		       struct hp_buf *why);
/*
 * A member ID as etcd's gRPC gateway writes a uint64: a JSON string of 1
 * to 20 decimal digits whose value fits in 64 bits, into *out. Anything
 * else is false, *out untouched: a JSON number (IDs exceed INT64_MAX,
 * which jansson cannot hold), a sign, a space, a NUL, an overflow.
 */
bool hp_etcd_id_parse(const json_t *v, uint64_t *out);
/* What a member's POST /v3/maintenance/status says. */
struct hp_etcd_status {
	uint64_t id;     /* its own (header.member_id); 0: not given */
	uint64_t leader; /* the leader it knows; never 0 */
	bool learner;    /* isLearner: cannot lead */
};
/* Judge one status answer of member host (remote, untrusted): 0 and *st,
 * or HP_EVERIFY naming host and quoting the answer printable: no leader
 * or not an ID, a member_id or isLearner of the wrong form. */
int hp_etcd_status_judge(const struct hp_rest_resp *resp, const char *host,
			 struct hp_etcd_status *st, struct hp_err *err);
/* Ask etcd member host for its status and judge it; resp (initialised)
 * gets the answer. A failed call is its error, prefixed with the host. */
int hp_etcd_status(struct hp_rest *rest, const struct hp_inventory *inv,
		   const struct hp_host *host, struct hp_rest_resp *resp,
		   struct hp_etcd_status *st, struct hp_err *err);
/*
 * Anti-affinity (issue 10): when etcd's leader runs on the host of
 * Patroni's leader, a crash of that host costs an etcd election on top
 * of the failover (docs/field-notes.md). Then hand etcd's leadership
 * (POST /v3/maintenance/transfer-leadership, to the leader) to the first
 * other etcd host in inventory order that is healthy, a voting member and
 * agrees on the leader, and wait (validation.timeout_s) until the target
 * leads. Nothing to do with fewer than two etcd hosts, no Patroni leader,
 * or etcd's leader elsewhere: two REST calls then. Recorded as step "etcd
 * leader" of run phase "etcd-leader" (changed, ok, or failed with err's
 * message); plan mode asks but never moves. HP_EVERIFY when no member can
 * take over or the leader did not move in time.
 */
int hp_etcd_leader_away(struct hp_run *run, struct hp_err *err);

/* Phase entry points. */
int hp_etcd_converge(struct hp_run *run, struct hp_err *err);
int hp_etcd_verify(struct hp_run *run, struct hp_err *err);
int hp_patroni_converge(struct hp_run *run, struct hp_err *err);
int hp_patroni_verify(struct hp_run *run, struct hp_err *err);
int hp_haproxy_converge(struct hp_run *run, struct hp_err *err);
int hp_haproxy_verify(struct hp_run *run, struct hp_err *err);
int hp_pgbouncer_converge(struct hp_run *run, struct hp_err *err);
int hp_pgbouncer_verify(struct hp_run *run, struct hp_err *err);
int hp_vip_converge(struct hp_run *run, struct hp_err *err);
int hp_vip_verify(struct hp_run *run, struct hp_err *err);
/*
 * The vip phase's decisions (phases/vip.c), for tests. hp_vip_holds: 1
 * when `ip -4 -o addr` output out (len bytes, remote text) has address
 * ip (no prefix) on a line, 0 when not, HP_EREMOTE for output that is
 * not text or is too long. hp_vip_one_holder: the index of the only vip
 * host with holds[i] == 1 (holds by host index; -1: not read), else -1
 * with why saying none or which ones.
 */
int hp_vip_holds(const char *out, size_t len, const char *ip,
		 struct hp_err *err);
int hp_vip_one_holder(const struct hp_inventory *inv, const int *holds,
		      struct hp_buf *why);
int hp_extensions_converge(struct hp_run *run, struct hp_err *err);
int hp_extensions_verify(struct hp_run *run, struct hp_err *err);
/* Patroni's dynamic configuration (GET /config on the leader) for the
 * rollback point; *out NULL when no leader answers. */
int hp_patroni_snapshot(struct hp_run *run, json_t **out, struct hp_err *err);
/* The packages of each phase, for a host (phases/X.c). */
const char *const *hp_etcd_packages(const struct hp_run *run,
				    const struct hp_host *host, size_t *nr);
const char *const *hp_patroni_packages(const struct hp_run *run,
				       const struct hp_host *host, size_t *nr);
const char *const *hp_patroni_also_installs(const struct hp_run *run,
					    size_t *nr);
const char *const *hp_haproxy_packages(const struct hp_run *run,
				       const struct hp_host *host, size_t *nr);
const char *const *hp_pgbouncer_packages(const struct hp_run *run,
					 const struct hp_host *host,
					 size_t *nr);
const char *const *hp_vip_packages(const struct hp_run *run,
				   const struct hp_host *host, size_t *nr);
const char *const *hp_extensions_packages(const struct hp_run *run,
					  const struct hp_host *host,
					  size_t *nr);
/* secrets.roles and their databases on the leader (phases/secrets.c);
 * verify: logins through HAProxy, owners, Patroni's REST API refusing an
 * unauthenticated write (phases/secrets_verify.c) */
int hp_secrets_converge(struct hp_run *run, struct hp_err *err);
int hp_secrets_verify(struct hp_run *run, struct hp_err *err);

int hp_tuning_converge(struct hp_run *run, struct hp_err *err);
int hp_tuning_verify(struct hp_run *run, struct hp_err *err);

/* ---- HAProxy's runtime API and the switchover (phases/haproxy_runtime.c,
 * phases/switchover.c) --------------------------------------------------- */

/* A backend or server name haprov sends to the runtime API:
 * [A-Za-z0-9._-]{1,63}. */
bool hp_haproxy_name_ok(const char *s);
/* "set server BACKEND/SERVER WHAT\n" appended to out; what: one of "state
 * ready", "state drain", "state maint", "health up", "health down".
 * HP_EINVALID for anything else or a bad name. */
int hp_haproxy_server_cmd(struct hp_buf *out, const char *backend,
			  const char *server, const char *what,
			  struct hp_err *err);
/* HAProxy's answer (remote text) to nr_cmds "set server" commands: one
 * empty line each; any text is its error, quoted printable (HP_EREMOTE). */
int hp_haproxy_answer_check(const char *ans, size_t len, size_t nr_cmds,
			    struct hp_err *err);
/* cmds (lines) as the one line sent: "; " between the commands. */
void hp_haproxy_one_line(struct hp_buf *out, const char *cmds);
/* Send cmds (lines from hp_haproxy_server_cmd) to h's HAProxy; on every
 * HAProxy host at once (the first failure in inventory order). */
int hp_haproxy_runtime(struct hp_hostrun *h, const char *cmds,
		       struct hp_err *err);
int hp_haproxy_runtime_all(struct hp_run *run, const char *cmds,
			   struct hp_err *err);
/* The servers of the primary backend whose drain was forced through the
 * runtime API, from "show servers state primary"'s answer (remote text,
 * checked; HP_EREMOTE for a line that is not one), added to out. */
int hp_haproxy_drained(const char *ans, size_t len, struct hp_strlist *out,
		       struct hp_err *err);
/* On every HAProxy host: lift a drain in the primary backend that an
 * interrupted switchover left (a step per host; plan: says so). Forced
 * maintenance, an operator's, is left alone. */
int hp_haproxy_lift_drains(struct hp_run *run, struct hp_err *err);
/* The CA's PEM in a file of a private directory (libpq's sslrootcert):
 * dir (a buffer of at least 64 bytes) gets the directory, *path the file
 * (the caller frees it and removes both). */
int hp_tls_ca_tmpfile(char *dir, size_t dlen, char **path, const char *pem,
		      struct hp_err *err);
/* Every HAProxy host's primary backend routes to the Patroni leader and
 * its replicas backend to the replicas (waited for, within
 * validation.timeout_s); all hosts at once, the first failure in inventory
 * order. */
int hp_haproxy_backends_ok(struct hp_run *run, struct hp_err *err);
/*
 * Switch over from leader to candidate (phases/switchover.c has the
 * steps): the leader drained in HAProxy, POST /switchover, the HAProxys
 * told the moment the candidate serves as primary, then verified (the
 * former leader streams from the candidate). A busy answer is waited
 * out. *gap_ms (may be NULL): from the drain to the
 * HAProxys routing to the new leader, -1 when it did not get there.
 */
int hp_switchover_run(struct hp_run *run, struct hp_rest *rest,
		      const char *leader, const char *candidate,
		      int64_t *gap_ms, struct hp_err *err);
/* The same without the verification (steps 1-3): for a leader that
 * leaves the cluster right after (remove.c), whose member the check of
 * the whole cluster would not accept. */
int hp_switchover_move(struct hp_run *run, struct hp_rest *rest,
		       const char *leader, const char *candidate,
		       int64_t *gap_ms, struct hp_err *err);

/* ---- TLS verification (phases/tls_verify.c) ------------------------------ */

/*
 * Issue 9's checks that each channel refuses what it must, run from this
 * machine as part of each phase's verify (hp_checks_run entries, none
 * unless inv->tls.enabled and run->rest_tls is set).
 * HP_EVERIFY names the host and the channel ("etcd on pg2
 * (10.213.0.12:2379) accepted a client certificate from another CA").
 *   etcd: each member answers haprov's client certificate and refuses a
 *     client without one and one from another CA (made in memory);
 *   patroni: each member answers a write with the password but without a
 *     client certificate with 403 (or a TLS refusal), the write a no-op
 *     (PATCH /config of loop_wait's own value); plain http gets no 2xx;
 *   postgres: every pg_stat_replication row on the leader is on TLS; a
 *     login through each HAProxy's primary port with sslmode=verify-ca and
 *     the cluster CA (a 0644 file in a private temporary directory,
 *     removed after) is on TLS in pg_stat_ssl;
 *   haproxy: each stats page (https) answers 401 without its password.
 */
/* Each channel's checks as hp_checks_run entries, into out (room for 1;
 * postgres: 2): how many (0 when TLS is off). */
size_t hp_tls_etcd_checks(const struct hp_run *run, struct hp_check *out);
size_t hp_tls_patroni_checks(const struct hp_run *run, struct hp_check *out);
size_t hp_tls_postgres_checks(const struct hp_run *run, struct hp_check *out);
size_t hp_tls_haproxy_checks(const struct hp_run *run, struct hp_check *out);

/* A refusal: the TLS handshake failed (HP_ETLS) or the connection was
 * closed or reset without an answer (HP_ECONNECT); never a timeout. */
bool hp_tls_refused(int rc);

/*
 * The judgements, pure: rc is hp_rest_call's return, resp its answer (when
 * rc is 0), cerr its error (when not); who names the host and channel
 * ("etcd on pg2 (10.213.0.12:2379)"), what the client ("a client without
 * a certificate"). 0 when as it must be, else HP_EVERIFY in err.
 */
/* refused (hp_tls_refused); an HTTP answer or silence is not */
int hp_tls_judge_refused(const char *who, const char *what, int rc,
			 const struct hp_rest_resp *resp,
			 const struct hp_err *cerr, struct hp_err *err);
/* an HTTP 200 */
int hp_tls_judge_accepted(const char *who, const char *what, int rc,
			  const struct hp_rest_resp *resp,
			  const struct hp_err *cerr, struct hp_err *err);
/* a write without a client certificate: 403 or refused */
int hp_tls_judge_cert_required(const char *who, int rc,
			       const struct hp_rest_resp *resp,
			       const struct hp_err *cerr, struct hp_err *err);
/* plain http to a TLS port: refused or an answer that is not 2xx */
int hp_tls_judge_plain(const char *who, int rc,
		       const struct hp_rest_resp *resp,
		       const struct hp_err *cerr, struct hp_err *err);
/* the stats page without its password: 401 */
int hp_tls_judge_stats(const char *who, int rc,
		       const struct hp_rest_resp *resp,
		       const struct hp_err *cerr, struct hp_err *err);
/*
 * psql's answer (-A -t, remote text) to "SELECT application_name,
 * coalesce(ssl, false) FROM pg_stat_replication LEFT JOIN pg_stat_ssl":
 * "name|t" lines. A row with f, or a line of any other form, is
 * HP_EVERIFY; fewer than want rows too, with *short_rows set (worth
 * asking again: a replica reconnecting).
 */
int hp_tls_judge_replication(const char *out, const char *leader,
			     size_t want, bool *short_rows,
			     struct hp_err *err);
/* {"loop_wait": N} with GET /config's own value (a write that changes
 * nothing), or NULL when config has no sane loop_wait (1..86400). */
json_t *hp_tls_noop_patch(const json_t *config);

#endif
