/* The command table and the helpers commands share. */
#include <string.h>

#include "cmd.h"
#include "phases.h"

/*
 * Register a command only when it works: the table is the truth --help
 * prints.
 */
#define RUN_OPTS                                                            \
	{ "phase", "P,...", "only these phases" }, /* + the table's names */ \
	{ "host", "H,...", "only these hosts" },                            \
	{ "parallel", "N", "hosts worked on at once (default: ssh.parallel)" }, \
	{ "accept-new-host-keys", NULL,                                     \
	  "add unknown host keys to known_hosts (a changed key is always "  \
	  "refused)" },                                                     \
	{ "json", NULL, "print one JSON document with every step's result" }

const struct hp_cmd hp_commands[] = {
	{ "validate", hp_cmd_validate, "INVENTORY [--print] [--render DIR]",
	  1, 1, HP_CMD_NEED_INVENTORY | HP_CMD_OFFLINE,
	  "parse, check and render the inventory; no SSH",
	  { { "print", NULL,
	      "print the effective inventory (defaults applied) as YAML" },
	    { "render", "DIR",
	      "write every host's rendered files under DIR/<host>/<path> "
	      "(secrets as placeholders)" } } },
	{ "plan", hp_cmd_plan, "INVENTORY [options]", 1, 1,
	  HP_CMD_NEED_INVENTORY,
	  "show per phase and host what apply would change; changes nothing "
	  "(exit 0: nothing to do, 2: changes)",
	  { RUN_OPTS } },
	{ "apply", hp_cmd_apply, "INVENTORY [options]", 1, 1,
	  HP_CMD_NEED_INVENTORY | HP_CMD_NEED_STATE | HP_CMD_TAKES_LOCK,
	  "run the phases in order, verify each, record rollback points; "
	  "roll a failed phase back by itself",
	  { RUN_OPTS,
	    { "no-rollback", NULL,
	      "leave a failed phase as it is for inspection (exit 6)" },
	    { "allow-remove", NULL,
	      "remove the hosts marked remove: true from the cluster "
	      "(Patroni, then etcd, then HAProxy; their data stays)" } } },
	{ "history", hp_cmd_history, "INVENTORY", 1, 1,
	  HP_CMD_NEED_INVENTORY | HP_CMD_OFFLINE,
	  "the rollback points, newest first, with what changed",
	  { { NULL, NULL, NULL } } },
	{ "rollback", hp_cmd_rollback, "INVENTORY [--to POINT]", 1, 1,
	  HP_CMD_NEED_INVENTORY | HP_CMD_NEED_STATE | HP_CMD_TAKES_LOCK,
	  "restore a rollback point (default: the state before the last "
	  "apply) on every host and in the DCS, and verify it",
	  { { "to", "POINT",
	      "a tag (rp/3-patroni), its number (3) or a commit id" },
	    { "parallel", "N", "hosts worked on at once" },
	    { "accept-new-host-keys", NULL,
	      "add unknown host keys to known_hosts" },
	    { "json", NULL, "print one JSON document with every step" } } },
	{ "rotate", hp_cmd_rotate, "INVENTORY (ROLE... | --ca) [options]", 1, 65,
	  HP_CMD_NEED_INVENTORY | HP_CMD_NEED_STATE | HP_CMD_TAKES_LOCK,
	  "a new password for each ROLE (an application role of "
	  "secrets.roles, or superuser, replication, rewind, restapi): "
	  "applied with no restart and no failover, verified (the new one "
	  "logs in, the old one is refused), then made current in the store "
	  "and pinned by a rollback point; a failure puts the old one back "
	  "(exit 4); --ca: a new cluster CA in three verified stages "
	  "(bundles old+new, new certificates, old CA dropped), no "
	  "failover; run again to resume",
	  { { "accept-new-host-keys", NULL,
	      "add unknown host keys to known_hosts" },
	    { "ca", NULL, "rotate the cluster CA instead of passwords" } } },
	{ "switchover", hp_cmd_switchover, "INVENTORY [--to MEMBER]", 1, 1,
	  HP_CMD_NEED_INVENTORY,
	  "switch the Patroni leader over to MEMBER (default: the first "
	  "other member of the inventory), the write gap kept short: the "
	  "leader drained in HAProxy first, HAProxy told the moment the new "
	  "leader serves; refused unless the cluster is stable and MEMBER "
	  "streams; verified (the former leader streams from the new one, "
	  "the backends follow)",
	  { { "to", "MEMBER", "the member to lead next" },
	    { "accept-new-host-keys", NULL,
	      "add unknown host keys to known_hosts" } } },
	{ "drill", hp_cmd_drill,
	  "INVENTORY --kind KIND [--count N] [--no-drain] [--json] [--yes]", 1, 1,
	  HP_CMD_NEED_INVENTORY,
	  "fail the Patroni leader on purpose under a write load (libpq, "
	  "through HAProxy, a row every 50 ms) and time each stage: etcd's "
	  "leader key, the new leader, its promotion, HAProxy, the first "
	  "acknowledged write (the RTO); the RPO is the acknowledged rows "
	  "missing after. Refused on a cluster that is not healthy; brings "
	  "it back to healthy after each trial and on SIGINT",
	  { { "kind", "KIND",
	      "switchover (the API), postgres-kill (SIGKILL to the "
	      "postmaster) or crash (the host dies: drill.crash_command)" },
	    { "count", "N", "trials, one after the other (default 1)" },
	    { "no-drain", NULL,
	      "switchover: Patroni's POST /switchover alone, HAProxy left "
	      "to its checks (to compare with haprov's)" },
	    { "json", NULL, "print one JSON document (ms) instead" },
	    { "yes", NULL,
	      "drill a cluster whose cluster.environment is not lab or "
	      "test" },
	    { "accept-new-host-keys", NULL,
	      "add unknown host keys to known_hosts" } } },
	{ "status", hp_cmd_status, "INVENTORY [--json | --watch [SECONDS]]", 1, 1,
	  HP_CMD_NEED_INVENTORY,
	  "one screen from the REST APIs: etcd, Patroni members, HAProxy "
	  "backends; whether PgBouncer and the VIP answer",
	  { { "json", NULL, "print JSON" },
	    { "watch", "[SECONDS]",
	      "show it again every SECONDS (1-3600, default 2) until "
	      "Ctrl-C, what changed highlighted" } } },
};
const size_t hp_commands_nr = HP_ARRAY_SIZE(hp_commands);

const struct hp_cmd *hp_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < hp_commands_nr; i++)
		if (!strcmp(hp_commands[i].name, name))
			return &hp_commands[i];
	return NULL;
}

static int opt_index(const struct hp_cmd *cmd, const char *name)
{
	int i;

	for (i = 0; i < HP_MAX_OPTS && cmd->opts[i].name; i++)
		if (!strcmp(cmd->opts[i].name, name))
			return i;
	return -1;
}

const char *hp_cmd_opt(const struct hp_cmd_ctx *ctx, const char *name)
{
	int i = opt_index(ctx->cmd, name);

	return i < 0 ? NULL : ctx->optval[i];
}

bool hp_cmd_flag(const struct hp_cmd_ctx *ctx, const char *name)
{
	return hp_cmd_opt(ctx, name) != NULL;
}

/* "--phase"'s help, with the phase names from the phase table; and after
 * the options, each phase with its summary. */
static void phase_names(FILE *out)
{
	size_t i;

	for (i = 0; i < hp_phases_nr; i++)
		fprintf(out, "%s%s", i ? "," : " (", hp_phases[i].name);
	fputs(")", out);
}

static void phase_summaries(FILE *out)
{
	size_t i;

	fputs("\nphases, in order:\n", out);
	for (i = 0; i < hp_phases_nr; i++)
		fprintf(out, "  %-26s %s\n", hp_phases[i].name,
			hp_phases[i].summary);
}

void hp_cmd_usage(const struct hp_cmd *cmd, FILE *out)
{
	bool phases = false;
	int i;

	fprintf(out, "usage: haprov %s %s\n\n%s\n", cmd->name, cmd->usage,
		cmd->summary);
	if (cmd->opts[0].name)
		fputs("\noptions:\n", out);
	for (i = 0; i < HP_MAX_OPTS && cmd->opts[i].name; i++) {
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", cmd->opts[i].name,
			 cmd->opts[i].arg ? " " : "",
			 cmd->opts[i].arg ? cmd->opts[i].arg : "");
		fprintf(out, "  %-26s %s", left, cmd->opts[i].help);
		if (!strcmp(cmd->opts[i].name, "phase")) {
			phase_names(out);
			phases = true;
		}
		fputc('\n', out);
	}
	if (phases)
		phase_summaries(out);
}

int hp_exit_for_error(int code)
{
	switch (code) {
	case HP_OK:
		return HP_EXIT_OK;
	case HP_EINVALID:
		return HP_EXIT_INVALID;
	case HP_ELOCKED:
		return HP_EXIT_LOCKED;
	case HP_EINTR:
		return HP_EXIT_INTERRUPTED;
	case HP_EVERIFY:
		return HP_EXIT_VERIFY_FAILED;
	default:
		return HP_EXIT_ERROR;
	}
}
