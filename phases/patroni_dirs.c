/*
 * The patroni phase's directories: the data directory and tuning.wal_dir
 * made postgres:postgres 0700 before Patroni starts (hp_patroni_dirs),
 * and the plan's read of them done in the read-ahead.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "shell.h"

/*
 * The remote half of hp_patroni_dirs, a function of the shell: own DIR
 * PARENT_FOR_POSTGRES prints one keyword line per finding ("mkparent",
 * "own", "readonly"), and acts unless $plan is 1. The directory itself
 * is created or made postgres:postgres 0700; of everything above it only
 * what is missing is created (mkdir -p under umask 022: root 0755), and
 * no existing directory is ever chowned or chmodded. A symbolic link is
 * refused: chmod follows it, so root would change whatever it points at.
 */
#define OWN_DIR_FN                                                          \
	"own() { t=$1; p=${t%/*}; [ -n \"$p\" ] || p=/; "                    \
	"if [ -L \"$t\" ]; then echo \"$t is a symbolic link: haprov "       \
	"changes the owner of a real directory only; point the inventory "  \
	"at the directory it links to\" >&2; return 3; fi; "                  \
	"if [ ! -d \"$p\" ]; then echo mkparent; if [ \"$plan\" != 1 ]; then " \
	"mkdir -p -- \"$p\" || return 1; if [ \"$2\" = 1 ]; then "            \
	"chown postgres:postgres -- \"$p\" || return 1; fi; fi; fi; "         \
	"if [ -d \"$t\" ] && [ \"$(stat -c '%a %U:%G' -- \"$t\")\" = "        \
	"'700 postgres:postgres' ]; then :; else echo own; "                \
	"if [ \"$plan\" != 1 ]; then { [ -d \"$t\" ] || mkdir -m 0700 -- "     \
	"\"$t\"; } && chown -h postgres:postgres -- \"$t\" && "               \
	"chmod 0700 -- \"$t\" || return 1; fi; fi; "                          \
	"if [ \"$2\" = 1 ] && [ -d \"$p\" ] && id postgres >/dev/null 2>&1 " \
	"&& ! runuser -u postgres -- test -w \"$p\"; then echo readonly; "    \
	"fi; return 0; }; "

/* path without its trailing slashes (but "/" stays "/"); caller frees */
static char *strip_slashes(const char *path)
{
	size_t n = strlen(path);

	while (n > 1 && path[n - 1] == '/')
		n--;
	return xstrndup(path, n);
}

/* The data directory and wal_dir (NULL when not set), without trailing
 * slashes; the caller frees both. */
static void dirs(const struct hp_inventory *inv, char **data, char **wal)
{
	*data = strip_slashes(inv->patroni.data_dir);
	*wal = inv->tuning.wal_dir ? strip_slashes(inv->tuning.wal_dir) : NULL;
}

/* Whether out has the line word. */
static bool has_line(const char *out, const char *word)
{
	size_t n = strlen(word);
	const char *p = out;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == out || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/* Record what own() reported for dir (what: "data directory", ...). */
static void record_dir(struct hp_hostrun *h, const char *dir,
		       const char *what, bool parent_for_pg,
		       const char *out)
{
	char *parent = xstrdup(dir), *slash = strrchr(parent, '/');
	char *step;

	if (slash)
		slash[slash == parent] = '\0';
	if (has_line(out, "mkparent")) {
		step = xasprintf("directory %s", parent);
		h->nr_changed++;
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      parent_for_pg ? "created, owner postgres (Patroni "
					      "re-creates the data directory "
					      "in it)"
					    : "created, owner root, mode 0755",
			      NULL, hp_now_ms());
		free(step);
	}
	step = xasprintf("directory %s", dir);
	if (has_line(out, "own")) {
		h->nr_changed++;
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      "owner postgres:postgres, mode 0700", NULL,
			      hp_now_ms());
	} else {
		hp_run_record(h->run, h->host->name, HP_STEP_OK, step, NULL,
			      NULL, hp_now_ms());
	}
	free(step);
	if (has_line(out, "readonly")) {
		/* not an error: the cluster works, only a rebuild fails */
		hp_warn("%s: %s's parent %s is not writable by postgres: "
			"Patroni cannot re-create the %s when it rebuilds "
			"this member (reinit)",
			h->host->name, what, parent, what);
	}
	free(parent);
}

/* The command: own() on the data directory and wal_dir (may be NULL);
 * "-- wal" between their answers. */
static void own_dirs_cmd(struct hp_buf *cmd, bool plan, const char *data,
			 const char *wal)
{
	hp_buf_addf(cmd, "export LC_ALL=C; umask 022; plan=%d; ",
		    plan ? 1 : 0);
	hp_buf_adds(cmd, OWN_DIR_FN "own ");
	hp_shell_quote(cmd, data);
	hp_buf_adds(cmd, " 1");
	if (wal) {
		/* on stderr too: a failure's message says which one */
		hp_buf_adds(cmd, " || exit $?; echo '-- wal'; "
				 "echo 'wal_dir:' >&2; own ");
		hp_shell_quote(cmd, wal);
		hp_buf_adds(cmd, " 0");
	}
}

/* The read-ahead's line after own_dirs_cmd's answer: its exit status. */
#define AHEAD_OK "-- own 0\n"

/* In the read-ahead: the plan's own_dirs_cmd (it changes nothing), its
 * exit status on a last line, so that a refusal (a symbolic link) fails
 * this read alone and is reported by the pass's own read. */
static bool dirs_ahead_cmd(const struct hp_hostrun *h, struct hp_buf *cmd)
{
	char *data, *wal;

	if (!(h->host->roles & HP_ROLE_PATRONI))
		return false;
	dirs(h->run->inv, &data, &wal);
	hp_buf_adds(cmd, "(");
	own_dirs_cmd(cmd, true, data, wal);
	hp_buf_adds(cmd, ") 2>/dev/null; echo \"-- own $?\"");
	free(data);
	free(wal);
	return true;
}

const struct hp_read_ahead hp_patroni_dirs_read_ahead = {
	.cmd = dirs_ahead_cmd,
};

/* The data directory and wal_dir (may be NULL) through own(), in one
 * command (in a plan, the read-ahead's answer when there is one). */
static int own_dirs(struct hp_hostrun *h, const char *data, const char *wal,
		    struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	char *second;
	int r = 0;

	if (!h->run->opts.plan ||
	    !hp_prefetch_answer_ok(h, &hp_patroni_dirs_read_ahead, AHEAD_OK,
				   &out)) {
		own_dirs_cmd(&cmd, h->run->opts.plan, data, wal);
		r = hp_host_sh(h, cmd.buf, NULL, 0, 30, &out, err);
	}
	if (r < 0) {
		bool in_wal = wal && strstr(err->msg, "wal_dir:");

		if (!in_wal)
			hp_err_prefix(err, "data directory %s", data);
		goto out;
	}
	second = out.buf ? strstr(out.buf, "-- wal\n") : NULL;
	if (second)
		*second = '\0';
	/* an empty answer may have no buffer */
	record_dir(h, data, "data directory", true, out.buf ? out.buf : "");
	if (wal)
		record_dir(h, wal, "wal_dir", false, second ? second + 7 : "");
out:
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	return r;
}

int hp_patroni_dirs(struct hp_hostrun *h, struct hp_err *err)
{
	char *data, *wal;
	int r;

	dirs(h->run->inv, &data, &wal);
	/*
	 * The data directory's parent, when haprov creates it, is postgres'
	 * own: Patroni removes the data directory and pg_basebackup creates
	 * it again in there when a member is rebuilt. wal_dir's parent stays
	 * root's: Patroni re-creates only the pg_wal inside wal_dir.
	 */
	/* tuning.wal_device mounted at wal_dir before initdb (tuning_wal.c) */
	r = hp_wal_volume_host(h, err);
	if (r == 0)
		r = own_dirs(h, data, wal, err);
	free(data);
	free(wal);
	return r;
}

