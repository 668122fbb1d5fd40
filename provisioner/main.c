/*
 * haprov's entry point: global options, the command lookup, option parsing
 * from the command's table, and the preparation its flags ask for. The
 * libraries' global init functions are called here, once, before any
 * thread starts.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <git2.h>
#include <libssh2.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "secret_store.h"

#ifndef HP_VERSION
#define HP_VERSION "dev"
#endif

static const char *const exit_help =
	"exit codes:\n"
	"  0    success (plan: nothing to change)\n"
	"  1    run-time error (connection, remote command, local I/O)\n"
	"  2    plan: changes would be made\n"
	"  3    the inventory is invalid\n"
	"  4    a verification failed; the change was rolled back\n"
	"  5    a verification failed and the rollback failed too: needs a "
	"human\n"
	"  6    a verification failed; not rolled back (--no-rollback)\n"
	"  7    another haprov run holds the cluster lock\n"
	"  64   bad command line\n"
	"  130  interrupted\n";

static void usage(FILE *out)
{
	size_t i;

	fputs("usage: haprov [--verbose|--quiet] [--color=WHEN] COMMAND "
	      "INVENTORY [options]\n"
	      "       haprov --help | --version | help COMMAND\n\n"
	      "  -v, --verbose  every step, not only those that change, fail "
	      "or say\n"
	      "                 something (twice: debug lines too)\n"
	      "  -q, --quiet    errors only\n"
	      "  --color=WHEN   never, auto (a terminal, and NO_COLOR not "
	      "set) or always\n\n"
	      "Builds and changes PostgreSQL high-availability clusters "
	      "(etcd, Patroni,\nHAProxy) over SSH from a YAML inventory.\n\n"
	      "commands:\n",
	      out);
	for (i = 0; i < hp_commands_nr; i++)
		fprintf(out, "  %-10s %s\n", hp_commands[i].name,
			hp_commands[i].summary);
	fputs("\n'haprov help COMMAND' shows a command's options.\n\n", out);
	fputs(exit_help, out);
}

/* Parse options declared in cmd's table; positional args stay in ctx. */
/* An option whose argument may be left out: its name in the table is
 * written "[NAME]"; a value is all digits ("--watch 5", "--watch=5"). */
static bool arg_optional(const struct hp_opt *o)
{
	return o->arg && o->arg[0] == '[';
}

static bool all_digits(const char *s)
{
	return s && *s && strspn(s, "0123456789") == strlen(s);
}

static int parse_cmd_args(struct hp_cmd_ctx *ctx, int argc, char **argv)
{
	const struct hp_cmd *cmd = ctx->cmd;
	struct option lopts[HP_MAX_OPTS + 2];
	int n = 0, c;

	memset(lopts, 0, sizeof(lopts));
	for (; n < HP_MAX_OPTS && cmd->opts[n].name; n++) {
		lopts[n].name = cmd->opts[n].name;
		lopts[n].has_arg = arg_optional(&cmd->opts[n]) ? optional_argument
				   : cmd->opts[n].arg		 ? required_argument
								 : no_argument;
		lopts[n].val = 1000 + n;
	}
	lopts[n].name = "help";
	lopts[n].val = 'h';
	optind = 1;
	opterr = 0;
	/* getopt keeps global state; this runs before any thread starts */
	while ((c = getopt_long(argc, argv, "+h", lopts, // NOLINT(concurrency-mt-unsafe)
				NULL)) != -1) {
		if (c == 'h') {
			hp_cmd_usage(cmd, stdout);
			return 1;
		}
		if (c < 1000) {
			fprintf(stderr,
				"haprov %s: unknown option '%s'\n\n",
				cmd->name, argv[optind - 1]);
			hp_cmd_usage(cmd, stderr);
			return -1;
		}
		/* "--watch 5": getopt takes an optional value only after '=' */
		if (!optarg && arg_optional(&cmd->opts[c - 1000]) &&
		    optind < argc && all_digits(argv[optind]))
			optarg = argv[optind++];
		ctx->optval[c - 1000] = optarg ? optarg : "";
	}
	ctx->argv = argv + optind;
	ctx->argc = argc - optind;
	return 0;
}

/*
 * getopt with "+" stops at the first positional argument; to allow
 * "haprov plan inv.yml --json" we move positional args to the end first.
 */
static int move_positionals_last(int argc, char **argv,
				 const struct hp_cmd *cmd)
{
	static char dashdash[] = "--";
	char **opts = xcalloc((size_t)argc + 1, sizeof(*opts));
	char **pos = xcalloc((size_t)argc + 1, sizeof(*pos));
	int no = 0, np = 0, i;

	opts[no++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			for (i++; i < argc; i++)
				pos[np++] = argv[i];
			break;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			const char *name = argv[i] + (argv[i][1] == '-' ? 2 : 1);
			int k;

			opts[no++] = argv[i];
			if (strchr(name, '='))
				continue;
			for (k = 0; k < HP_MAX_OPTS && cmd->opts[k].name; k++)
				if (!strcmp(cmd->opts[k].name, name) &&
				    cmd->opts[k].arg && i + 1 < argc &&
				    (!arg_optional(&cmd->opts[k]) ||
				     all_digits(argv[i + 1])))
					opts[no++] = argv[++i];
			continue;
		}
		pos[np++] = argv[i];
	}
	for (i = 0; i < no; i++)
		argv[i] = opts[i];
	if (np)
		argv[no] = dashdash;
	for (i = 0; i < np; i++)
		argv[no + 1 + i] = pos[i];
	free(opts);
	free(pos);
	return no + (np ? 1 + np : 0);
}

static int run_command(const struct hp_cmd *cmd, int argc, char **argv)
{
	struct hp_cmd_ctx ctx;
	char **args = xcalloc((size_t)argc + 2, sizeof(*args));
	int r, i;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = cmd;
	for (i = 0; i < argc; i++)
		args[i] = argv[i];
	r = parse_cmd_args(&ctx, move_positionals_last(argc, args, cmd), args);
	if (r) {
		r = r > 0 ? HP_EXIT_OK : HP_EXIT_USAGE;
		goto out;
	}
	if (ctx.argc < cmd->min_args || ctx.argc > cmd->max_args) {
		fprintf(stderr, "haprov %s: expected %s%d argument%s, got %d\n\n",
			cmd->name,
			cmd->min_args == cmd->max_args ? "" : "at least ",
			cmd->min_args, cmd->min_args == 1 ? "" : "s",
			ctx.argc);
		hp_cmd_usage(cmd, stderr);
		r = HP_EXIT_USAGE;
		goto out;
	}
	if (cmd->flags & HP_CMD_NEED_INVENTORY) {
		r = hp_inventory_load(&ctx.inv, ctx.argv[0], &ctx.diags);
		hp_diags_print(&ctx.diags, ctx.argv[0], stderr);
		if (r < 0) {
			if (!ctx.diags.nr)
				fprintf(stderr, "haprov: cannot load '%s'\n",
					ctx.argv[0]);
			fprintf(stderr, "%s: %zu error%s; nothing was done\n",
				ctx.argv[0], ctx.diags.nr_errors,
				ctx.diags.nr_errors == 1 ? "" : "s");
			r = HP_EXIT_INVALID;
			goto out;
		}
	}
	r = cmd->fn(&ctx);
out:
	hp_inventory_free(ctx.inv);
	hp_diags_release(&ctx.diags);
	free(args);
	return r;
}

int main(int argc, char **argv)
{
	const struct hp_cmd *cmd;
	struct hp_err err;
	enum hp_color_mode color = HP_COLOR_AUTO;
	int i = 1, r;

	/* before any secret is read: no core file, no ptrace, no
	 * /proc/<pid>/mem for the user's other processes */
	if (hp_harden_process(&err) < 0) {
		fprintf(stderr, "haprov: %s; refusing to handle passwords\n",
			err.msg);
		return HP_EXIT_ERROR;
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return HP_EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			printf("haprov %s\n", HP_VERSION);
			return HP_EXIT_OK;
		} else if (!strcmp(argv[i], "--verbose") ||
			   !strcmp(argv[i], "-v")) {
			hp_log_set_level(hp_log_get_level() == HP_LOG_INFO
						 ? HP_LOG_DEBUG
						 : HP_LOG_INFO);
		} else if (!strcmp(argv[i], "--quiet") ||
			   !strcmp(argv[i], "-q")) {
			hp_log_set_level(HP_LOG_ERROR);
		} else if (!strncmp(argv[i], "--color=", 8)) {
			const char *m = argv[i] + 8;

			if (!strcmp(m, "never"))
				color = HP_COLOR_NEVER;
			else if (!strcmp(m, "always"))
				color = HP_COLOR_ALWAYS;
			else if (!strcmp(m, "auto"))
				color = HP_COLOR_AUTO;
			else {
				fprintf(stderr, "haprov: --color takes never, "
						"auto or always, not '%s'\n",
					m);
				return HP_EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "haprov: unknown option '%s'\n\n",
				argv[i]);
			usage(stderr);
			return HP_EXIT_USAGE;
		}
	}
	hp_color_set(color);
	if (i >= argc) {
		usage(stderr);
		return HP_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 >= argc) {
			usage(stdout);
			return HP_EXIT_OK;
		}
		cmd = hp_cmd_find(argv[i + 1]);
		if (!cmd) {
			fprintf(stderr, "haprov: '%s' is not a command\n",
				argv[i + 1]);
			return HP_EXIT_USAGE;
		}
		hp_cmd_usage(cmd, stdout);
		return HP_EXIT_OK;
	}
	cmd = hp_cmd_find(argv[i]);
	if (!cmd) {
		fprintf(stderr,
			"haprov: '%s' is not a command; see 'haprov --help'\n",
			argv[i]);
		return HP_EXIT_USAGE;
	}
	/* once, before any thread starts (docs/style.md, library rules) */
	if (libssh2_init(0) != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    git_libgit2_init() < 0) {
		fputs("haprov: cannot initialise libraries\n", stderr);
		return HP_EXIT_ERROR;
	}
	r = run_command(cmd, argc - i, argv + i);
	git_libgit2_shutdown();
	curl_global_cleanup();
	libssh2_exit();
	return r;
}
