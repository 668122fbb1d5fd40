/*
 * The drill's faults on the Patroni leader:
 *
 *   switchover      haprov's own switchover (phases/switchover.c: the
 *                   leader drained in HAProxy, POST /switchover, HAProxy
 *                   told the moment the candidate serves);
 *   postgres-kill   SIGKILL to the postmaster over SSH (its PID from
 *                   postmaster.pid): Patroni restarts it, or fails over;
 *   crash           the whole host at once: the inventory's
 *                   drill.crash_command run on this machine (a lab
 *                   container killed, `virsh destroy {host}`...);
 *                   drill.boot_command brings it back afterwards.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "drill.h"
#include "phases.h"
#include "shell.h"
#include "staged_priv.h"

extern char **environ;

static const char *const kind_names[] = {
	[HP_DRILL_SWITCHOVER] = "switchover",
	[HP_DRILL_CRASH] = "crash",
	[HP_DRILL_PGKILL] = "postgres-kill",
};

bool hp_drill_kind_parse(const char *s, enum hp_drill_kind *out)
{
	size_t i;

	for (i = 0; s && i < HP_ARRAY_SIZE(kind_names); i++)
		if (!strcmp(s, kind_names[i])) {
			*out = (enum hp_drill_kind)i;
			return true;
		}
	return false;
}

const char *hp_drill_kind_name(enum hp_drill_kind k)
{
	return (size_t)k < HP_ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

void hp_drill_pgkill_cmd(struct hp_buf *out, const char *data_dir)
{
	struct hp_buf f = HP_BUF_INIT;

	hp_buf_addf(&f, "%s/postmaster.pid", data_dir);
	hp_buf_adds(out, "p=$(head -n 1 ");
	hp_shell_quote(out, f.buf);
	/* a PID, all digits, or nothing is killed */
	hp_buf_adds(out, ") && case $p in ''|*[!0-9]*) echo \"no postmaster "
			 "PID in postmaster.pid\" >&2; exit 3;; esac && "
			 "kill -KILL \"$p\"");
	hp_buf_release(&f);
}

/* Wait for pid at most timeout_s; SIGKILL it after that. */
static int wait_child(pid_t pid, int timeout_s, int *status)
{
	int64_t end = hp_now_ms() + (int64_t)timeout_s * 1000;
	pid_t w;

	while ((w = waitpid(pid, status, WNOHANG)) == 0) {
		if (hp_now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			return HP_ETIMEOUT;
		}
		hp_sleep_ms(50);
	}
	return w == pid ? 0 : HP_EIO;
}

int hp_drill_local_command(const char *key, const char *tmpl,
			   const struct hp_host *host, const char *dir,
			   int timeout_s, struct hp_err *err)
{
	posix_spawn_file_actions_t fa;
	struct hp_buf cmd = HP_BUF_INIT;
	char sh[] = "/bin/sh", dash_c[] = "-c", *argv[4];
	pid_t pid;
	int r, status = 0;

	if (!tmpl)
		return hp_err_set(err, HP_EINVALID,
				  "the inventory has no %s: a drill cannot "
				  "do this to a host by itself",
				  key);
	if ((r = hp_drill_command(tmpl, host, &cmd, err)) < 0) {
		hp_buf_release(&cmd);
		return r;
	}
	argv[0] = sh;
	argv[1] = dash_c;
	argv[2] = cmd.buf;
	argv[3] = NULL;
	/* in the inventory's directory (relative paths are the
	 * inventory's); its output goes to our stderr: stdout is the
	 * report's (--json) */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addchdir_np(&fa, dir);
	posix_spawn_file_actions_adddup2(&fa, 2, 1);
	r = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r) {
		char eb[128];

		hp_buf_release(&cmd);
		return hp_err_set(err, HP_EIO, "%s: cannot start /bin/sh: %s",
				  key, hp_strerror(r, eb, sizeof(eb)));
	}
	r = wait_child(pid, timeout_s, &status);
	hp_buf_release(&cmd);
	if (r == HP_ETIMEOUT)
		return hp_err_set(err, r, "%s for %s: still running after "
					  "%d s (killed)",
				  key, host->name, timeout_s);
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return hp_err_set(err, HP_EREMOTE,
				  "%s for %s failed (exit status %d)", key,
				  host->name,
				  WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

static int pgkill(struct hp_run *run, const char *victim, struct hp_err *err)
{
	struct hp_hostrun *h = hp_run_host(run, victim);
	struct hp_buf cmd = HP_BUF_INIT;
	int r;

	if (!h || !h->tr.ops)
		return hp_err_set(err, HP_ECONNECT,
				  "no SSH session to %s for the postgres-kill",
				  victim);
	hp_drill_pgkill_cmd(&cmd, run->inv->patroni.data_dir);
	r = hp_host_sh(h, cmd.buf, NULL, 0, 30, NULL, err);
	hp_buf_release(&cmd);
	return r;
}

/* A switchover as Patroni alone does it (patronictl's): POST /switchover
 * and nothing else; HAProxy finds out by its own checks. Then the same
 * verification as haprov's own: the candidate leads, the former leader
 * streams from it. */
static int plain_switchover(struct hp_run *run, struct hp_rest *rest,
			    const char *victim, const char *candidate,
			    struct hp_err *err)
{
	int timeout_ms = run->inv->validation.timeout_s * 1000;
	json_t *body = json_pack("{s:s, s:s}", "leader", victim, "candidate",
				 candidate);
	struct hp_rest_resp resp;
	int r;

	hp_rest_resp_init(&resp);
	r = hp_member_write(run, rest, "POST", victim, "/switchover", body,
			    timeout_ms, &resp, err);
	hp_rest_resp_release(&resp);
	json_decref(body);
	if (r == 0)
		r = hp_patroni_wait_healthy(run, rest, candidate, timeout_ms,
					    err);
	return r;
}

int hp_drill_fault(struct hp_run *run, enum hp_drill_kind kind, bool drain,
		   const char *victim, const char *candidate,
		   struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest rest;
	int r;

	switch (kind) {
	case HP_DRILL_SWITCHOVER:
		if ((r = hp_run_rest_init(run, &rest, 5000, err)) == 0)
			r = drain ? hp_switchover_run(run, &rest, victim,
						      candidate, NULL, err)
				  : plain_switchover(run, &rest, victim,
						     candidate, err);
		hp_rest_release(&rest);
		return r;
	case HP_DRILL_PGKILL:
		return pgkill(run, victim, err);
	case HP_DRILL_CRASH:
		return hp_drill_local_command(
			"drill.crash_command", inv->drill.crash_command,
			hp_inventory_host(inv, victim), inv->dir, 60, err);
	}
	return hp_err_set(err, HP_EINVALID, "internal: drill kind %d", kind);
}
