/*
 * Moving a live member's pg_wal onto tuning.wal_dir, one member at a time:
 * stop Patroni (it stops PostgreSQL), move, start, wait until the cluster
 * is healthy again. The move itself is one guarded remote script, safe to
 * kill anywhere and finished by a rerun. With P = data_dir/pg_wal, T =
 * wal_dir/pg_wal (hp_render_wal_path), N = T.haprov-new, O = P.haprov-old:
 *
 *   1. P is a directory: it is the truth. Remove any N or T (a copy left
 *      by a killed run, possibly stale), cp -a P to N, sync, rename N to T
 *      (atomic: T is only ever a complete copy), rename P to O.
 *   2. P is missing, O and T exist (killed after 1): a symlink to T is
 *      made next to P and renamed onto P (atomic).
 *   3. P links to T: remove O. Done.
 *
 * A kill leaves one of: P a directory (and maybe N or T: redone from 1);
 * P missing with O and T (finished by 2); P a link and maybe O (3).
 * PostgreSQL cannot start with P missing, so O is never stale in 2.
 * Anything else (P missing and no O, P a link elsewhere) is refused.
 * PostgreSQL must be stopped: a live postmaster.pid refuses the move.
 */
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "shell.h"
#include "staged_priv.h"

/* What to do for a member: the paths, and whether the volume is checked. */
static void paths(const struct hp_inventory *inv, char **p, char **t)
{
	*p = xasprintf("%s/pg_wal", inv->patroni.data_dir);
	*t = hp_render_wal_path(inv);
}

int hp_wal_move_needed(struct hp_run *run, const char *name, bool *out,
		       struct hp_err *err)
{
	struct hp_hostrun *h = hp_run_host(run, name);
	struct hp_buf cmd = HP_BUF_INIT, ans = HP_BUF_INIT;
	char *p, *t;
	int r;

	*out = false;
	if (!h || !run->inv->tuning.wal_dir)
		return 0;
	paths(run->inv, &p, &t);
	/* with a WAL volume the volume's facts say it (read once a run
	 * while nothing changes) */
	if (run->inv->tuning.wal_device) {
		struct hp_wal_facts f;

		if ((r = hp_wal_facts_read(h, &f, err)) == 0) {
			if (f.link[0] && strcmp(f.link, t) != 0)
				r = hp_err_set(err, HP_EVERIFY,
					       "%s: %s is a symbolic link, "
					       "but not to %s: haprov does not "
					       "move it (nothing changed)",
					       name, p, t);
			else
				*out = strcmp(f.link, t) != 0 || f.old_copy;
		}
		free(p);
		free(t);
		return r;
	}
	hp_buf_adds(&cmd, "p=");
	hp_shell_quote(&cmd, p);
	hp_buf_adds(&cmd, "; t=");
	hp_shell_quote(&cmd, t);
	hp_buf_adds(&cmd, "; if [ -L \"$p\" ] && [ \"$(readlink -- \"$p\")\" "
			  "= \"$t\" ] && [ ! -e \"$p.haprov-old\" ]; then "
			  "echo done; elif [ -L \"$p\" ] && [ \"$(readlink -- "
			  "\"$p\")\" != \"$t\" ]; then echo other; "
			  "else echo move; fi");
	r = hp_host_sh_read(h, cmd.buf, NULL, 0, 30, &ans, err);
	if (r == 0 && !strncmp(ans.buf, "other", 5))
		r = hp_err_set(err, HP_EVERIFY,
			       "%s: %s is a symbolic link, but not to %s: "
			       "haprov does not move it (nothing changed)",
			       name, p, t);
	else if (r == 0)
		*out = strncmp(ans.buf, "done", 4) != 0;
	free(p);
	free(t);
	hp_buf_release(&cmd);
	hp_buf_release(&ans);
	return r;
}

void hp_wal_move_cmd(struct hp_buf *cmd, const char *pg_wal,
		     const char *target, const char *wal_dir, bool device)
{
	hp_buf_adds(cmd, "set -e; export LC_ALL=C; p=");
	hp_shell_quote(cmd, pg_wal);
	hp_buf_adds(cmd, "; t=");
	hp_shell_quote(cmd, target);
	hp_buf_adds(cmd, "; w=");
	hp_shell_quote(cmd, wal_dir);
	hp_buf_addf(cmd, "; dev=%d; ", device ? 1 : 0);
	hp_buf_adds(
		cmd,
		"n=$t.haprov-new; o=$p.haprov-old; "
		"pid=$(head -n 1 -- \"${p%/pg_wal}/postmaster.pid\" 2>/dev/null "
		"|| true); "
		"if [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null; then "
		"echo \"PostgreSQL still runs (pid $pid): pg_wal not moved\" >&2; "
		"exit 3; fi; "
		"if [ \"$dev\" = 1 ] && ! findmnt -rn -M \"$w\" >/dev/null; then "
		"echo \"nothing is mounted at $w: pg_wal not moved\" >&2; "
		"exit 3; fi; "
		"if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then rm -rf -- \"$n\" "
		"\"$t\"; cp -a -- \"$p\" \"$n\"; sync; mv -T -- \"$n\" \"$t\"; "
		"mv -T -- \"$p\" \"$o\"; sync; fi; "
		"if [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; then "
		"if [ ! -d \"$o\" ] || [ ! -d \"$t\" ]; then echo \"$p is "
		"missing and so is $o or $t: not guessing\" >&2; exit 3; fi; "
		"rm -f -- \"$p.haprov-link\"; ln -s -- \"$t\" \"$p.haprov-link\"; "
		"if id postgres >/dev/null 2>&1; then "
		"chown -h postgres:postgres -- \"$p.haprov-link\"; fi; "
		"mv -T -- \"$p.haprov-link\" \"$p\"; sync; fi; "
		"if [ \"$(readlink -- \"$p\")\" != \"$t\" ]; then echo \"$p is "
		"not a link to $t: not moved\" >&2; exit 3; fi; "
		"rm -rf -- \"$o\"; echo moved");
}

/* Stop Patroni, move, start Patroni (also when the move failed: the
 * member must not stay down; a half-move leaves PostgreSQL unable to
 * start, never wrong). */
static int move_host(struct hp_hostrun *h, struct hp_err *err)
{
	const struct hp_inventory *inv = h->run->inv;
	struct hp_buf cmd = HP_BUF_INIT;
	struct hp_err e2;
	char *p, *t;
	int r;

	r = hp_host_sh(h, "systemctl stop patroni", NULL, 0, 300, NULL, err);
	if (r == 0) {
		paths(inv, &p, &t);
		hp_wal_move_cmd(&cmd, p, t, inv->tuning.wal_dir,
				inv->tuning.wal_device != NULL);
		free(p);
		free(t);
		r = hp_host_sh(h, cmd.buf, NULL, 0, 900, NULL, err);
		if (r < 0)
			hp_err_prefix(err, "move pg_wal");
	}
	if (hp_host_sh(h, "systemctl start patroni", NULL, 0, 120, NULL,
		       &e2) < 0 &&
	    r == 0)
		r = hp_err_set(err, e2.code, "%s", e2.msg);
	hp_buf_release(&cmd);
	return r;
}

int hp_wal_move_member(struct hp_run *run, struct hp_rest *rest,
		       const char *name, void *arg, struct hp_err *err)
{
	struct hp_hostrun *h = hp_run_host(run, name);
	int timeout_ms = run->inv->validation.timeout_s * 1000;
	char *leader = NULL;
	bool need = false;
	int64_t t0 = hp_now_ms();
	int r;

	(void)arg;
	if (!h)
		return hp_err_set(err, HP_EINVALID, "%s: not a host", name);
	if ((r = hp_wal_move_needed(run, name, &need, err)) < 0 || !need)
		return r;
	if (run->opts.plan) {
		h->nr_changed++;
		hp_run_record(run, name, HP_STEP_CHANGED, "move pg_wal",
			      "stop patroni, move pg_wal to tuning.wal_dir, "
			      "symlink, start",
			      NULL, t0);
		return 0;
	}
	if ((r = hp_staged_wait_stable(run, rest, &leader, err)) < 0)
		goto out;
	if (!strcmp(leader, name)) {
		r = hp_err_set(err, HP_EVERIFY,
			       "%s leads the cluster: pg_wal moves on a "
			       "replica only",
			       name);
		goto out;
	}
	r = move_host(h, err);
	if (r == 0)
		r = hp_patroni_wait_healthy(run, rest, leader, timeout_ms, err);
	h->nr_changed++;
	hp_run_record(run, name, r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED,
		      "move pg_wal", r < 0 ? err->msg : "moved, streaming",
		      NULL, t0);
out:
	free(leader);
	return r;
}

/* hp_rolling_members' callbacks: the move, and whether the leader needs
 * it once the replicas are done (else no switchover). */
static int move_member(struct hp_run *run, struct hp_rest *rest,
		       const char *name, const char *leader, void *arg,
		       struct hp_err *err)
{
	(void)leader;
	return hp_wal_move_member(run, rest, name, arg, err);
}

static int leader_needs_move(struct hp_run *run, struct hp_rest *rest,
			     const char *leader, void *arg, bool *out,
			     struct hp_err *err)
{
	(void)rest;
	(void)arg;
	return hp_wal_move_needed(run, leader, out, err);
}

/* hp_run_each: whether the host's pg_wal is still to move, into
 * need[its index]. */
static int need_worker(struct hp_hostrun *h, void *arg)
{
	bool *need = arg;

	return hp_wal_move_needed(h->run, h->host->name,
				  &need[h - h->run->hosts], &h->err);
}

int hp_wal_move_rolling(struct hp_run *run, struct hp_rest *rest,
			struct hp_err *err)
{
	const struct hp_rolling how = { move_member, leader_needs_move, NULL,
					NULL };
	size_t i;
	int r = 0;

	if (!run->opts.plan) {
		bool *need = xcalloc(run->nr_hosts + 1, sizeof(*need));
		bool any = false;

		/* nothing to move (the usual no-op apply): no roll, no wait
		 * for a stable cluster after each member; every member is
		 * asked at once */
		if (hp_run_each(run, HP_ROLE_PATRONI, need_worker, need))
			r = hp_run_failure(run, "tuning", err);
		for (i = 0; i < run->nr_hosts; i++)
			any = any || need[i];
		free(need);
		if (r < 0 || !any)
			return r;
		return hp_rolling_members(run, rest, &how, err);
	}
	/* plan: each member that would move says so; no switchover */
	for (i = 0; i < run->inv->nr_hosts && r == 0; i++)
		if (run->inv->hosts[i].roles & HP_ROLE_PATRONI)
			r = hp_wal_move_member(run, rest,
					       run->inv->hosts[i].name, NULL,
					       err);
	return r;
}

/* ---- verify ------------------------------------------------------------------ */

static int verify_host(struct hp_hostrun *h, void *arg)
{
	const struct hp_inventory *inv = h->run->inv;
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	struct hp_wal_facts f;
	const char *device = inv->tuning.wal_device;
	char *p, *t;
	int r;

	(void)arg;
	memset(&f, 0, sizeof(f));
	paths(inv, &p, &t);
	hp_wal_verify_cmd(&cmd, device, inv->tuning.wal_dir, p);
	r = hp_host_sh_read(h, cmd.buf, NULL, 0, 30, &out, &h->err);
	if (r == 0)
		r = hp_wal_facts_parse(out.buf, out.len, &f, &h->err);
	if (r == 0 && strcmp(f.link, t) != 0)
		r = hp_err_set(&h->err, HP_EVERIFY,
			       "%s is not a symbolic link to %s (readlink: "
			       "\"%s\")",
			       p, t, f.link);
	if (r == 0 && device &&
	    (!f.block || !f.wal_mounted || strcmp(f.wal_devno, f.devno) != 0))
		r = hp_err_set(&h->err, HP_EVERIFY,
			       "findmnt does not show %s at %s", device,
			       inv->tuning.wal_dir);
	hp_run_record(h->run, h->host->name, r < 0 ? HP_STEP_FAILED : HP_STEP_OK,
		      "verify pg_wal on the volume", r < 0 ? h->err.msg : NULL,
		      NULL, hp_now_ms());
	free(p);
	free(t);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	return r;
}

int hp_wal_verify(struct hp_run *run, struct hp_err *err)
{
	if (!run->inv->tuning.wal_dir)
		return 0;
	if (hp_run_each(run, HP_ROLE_PATRONI, verify_host, NULL))
		return hp_err_set(err, HP_EVERIFY,
				  "tuning: pg_wal is not on tuning.wal_dir "
				  "on every member");
	return 0;
}
