#ifndef HP_CMD_H
#define HP_CMD_H
/*
 * The command table (git's git.c + tmux's cmd-*.c): each command declares
 * its usage, argument counts, options and what the dispatcher must prepare
 * (flags). main.c looks a command up by its exact name, parses the options
 * the entry declares, checks the argument count, prepares what the flags
 * ask for and calls fn. Usage text is printed from the table.
 */
#include <stdbool.h>

#include <jansson.h>

#include "bootstrap.h"
#include "engine.h"
#include "inventory.h"

struct hp_state;
struct hp_lock;

/* Exit codes: documented in --help and README.md; one meaning each. */
enum hp_exit {
	HP_EXIT_OK = 0,          /* success; for plan: nothing to change */
	HP_EXIT_ERROR = 1,       /* a run-time error (connection, remote) */
	HP_EXIT_CHANGES = 2,     /* plan: changes would be made */
	HP_EXIT_INVALID = 3,     /* the inventory is invalid */
	HP_EXIT_ROLLED_BACK = 4, /* a verification failed; rolled back */
	HP_EXIT_ROLLBACK_FAILED = 5, /* rollback failed too: needs a human */
	HP_EXIT_VERIFY_FAILED = 6,   /* verification failed, not rolled back */
	HP_EXIT_LOCKED = 7,      /* another run holds the cluster lock */
	HP_EXIT_USAGE = 64,      /* bad command line */
	HP_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM */
};

/* What the dispatcher prepares before calling the command. */
enum hp_cmd_flags {
	HP_CMD_NEED_INVENTORY = 1 << 0, /* load+validate args[0] into ctx->inv */
	HP_CMD_NEED_STATE = 1 << 1,     /* open the state repository */
	HP_CMD_TAKES_LOCK = 1 << 2,     /* hold the cluster lock */
	HP_CMD_OFFLINE = 1 << 3,        /* never connects to a host */
};

#define HP_MAX_OPTS 16

/* An option a command accepts. */
struct hp_opt {
	const char *name;  /* long name without "--" */
	const char *arg;   /* NULL: a flag; else the argument's name */
	const char *help;
};

/* Parsed command line, handed to the command. */
struct hp_cmd_ctx {
	const struct hp_cmd *cmd;
	int argc;            /* positional arguments */
	char **argv;
	const char *optval[HP_MAX_OPTS]; /* per declared option: NULL if
					     absent, "" for a given flag */
	struct hp_inventory *inv; /* HP_CMD_NEED_INVENTORY */
	struct hp_diags diags;
	struct hp_state *state;   /* HP_CMD_NEED_STATE */
	struct hp_lock *lock;     /* HP_CMD_TAKES_LOCK */
};

struct hp_cmd {
	const char *name;
	int (*fn)(struct hp_cmd_ctx *ctx); /* returns an enum hp_exit */
	const char *usage;  /* arguments after the name */
	int min_args, max_args;
	unsigned flags;
	const char *summary;
	struct hp_opt opts[HP_MAX_OPTS];
};

extern const struct hp_cmd hp_commands[];
extern const size_t hp_commands_nr;

/* Exact-name lookup: a mistyped prefix never runs a command. */
const struct hp_cmd *hp_cmd_find(const char *name);

/* Value of option name (NULL if absent); flag options give "". */
const char *hp_cmd_opt(const struct hp_cmd_ctx *ctx, const char *name);
bool hp_cmd_flag(const struct hp_cmd_ctx *ctx, const char *name);

/* Print "usage: haprov NAME USAGE" and the options. */
void hp_cmd_usage(const struct hp_cmd *cmd, FILE *out);

/* Map an HP_E* error code to the exit code that documents it. */
int hp_exit_for_error(int code);

/* The commands (one file each, provisioner/cmd_<name>.c). */
int hp_cmd_validate(struct hp_cmd_ctx *ctx);
int hp_cmd_plan(struct hp_cmd_ctx *ctx);
int hp_cmd_apply(struct hp_cmd_ctx *ctx);
int hp_cmd_status(struct hp_cmd_ctx *ctx);
int hp_cmd_history(struct hp_cmd_ctx *ctx);
int hp_cmd_rollback(struct hp_cmd_ctx *ctx);
int hp_cmd_rotate(struct hp_cmd_ctx *ctx);
int hp_cmd_switchover(struct hp_cmd_ctx *ctx);
int hp_cmd_drill(struct hp_cmd_ctx *ctx);

/*
 * A command on a live cluster (provisioner/live_run.c): open takes the
 * cluster lock as name, connects a run to every host (accepting new host
 * keys with --accept-new-host-keys), loads the secrets and sets the REST
 * credentials and the stats password on lr->run; close undoes all of it,
 * also after a failed open (lr zeroed by open first). exit: the exit code
 * for a command's result r (0, HP_EINTR, an HP_E* code).
 */
struct hp_live_run {
	struct hp_run run;
	struct hp_run_secrets sec;
	struct hp_lock *lock;
	bool started;
};
int hp_live_run_open(struct hp_live_run *lr, const struct hp_cmd_ctx *ctx,
		     const char *name, struct hp_err *err);
void hp_live_run_close(struct hp_live_run *lr);
int hp_live_run_exit(int r);
/* drill: 0 when inv may be drilled (cluster.environment lab or test, or
 * yes), else HP_EINVALID saying why; --count's value (NULL: 1) into *out,
 * 1..100; the first host with role other than victim (NULL: none). */
int hp_drill_allowed(const struct hp_inventory *inv, bool yes,
		     struct hp_err *err);
int hp_drill_count_parse(const char *s, int *out, struct hp_err *err);
const struct hp_host *hp_drill_other(const struct hp_inventory *inv,
				     unsigned role, const char *victim);
/* Whether a drill may fault the leader of cluster (GET /cluster): with
 * synchronous_mode, a member is sync_standby (Patroni promotes no other);
 * without, always. */
bool hp_drill_sync_ready(const struct hp_inventory *inv,
			 const json_t *cluster);
/* The switchover's candidate: to (must be a patroni host of inv other than
 * leader), or the first patroni host in inventory order that is not the
 * leader. HP_EINVALID with the reason. */
int hp_switchover_pick(const struct hp_inventory *inv, const char *leader,
		       const char *to, const char **out, struct hp_err *err);

#endif
