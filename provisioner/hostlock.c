/*
 * The per-host lock: every remote command that changes a host runs while
 * holding flock(1) on /var/lib/haprov/lock on that host, so two haprov
 * processes, from one machine or two, never act on a host at the same
 * time. The transport runs one command per exec, so the lock lives in the
 * command itself: a wrapper takes it, writes who holds it into the lock
 * file, runs the command and lets the kernel drop the lock when the
 * wrapper ends, however it ends. A run killed with kill -9 leaves its
 * remote command running (dpkg must not be interrupted) and the lock held
 * until that command finishes; the next run waits for it and says whose
 * it is. Reads (facts, diffs) take no lock.
 */
#include <stdarg.h>
#include <string.h>

#include "engine.h"
#include "shell.h"

#define HOSTLOCK_DIR "/var/lib/haprov"
#define BUSY_EXIT 75 /* EX_TEMPFAIL */
#define BUSY_MARK "haprov-lock-busy: "
#define HOLDER_MAX 200 /* how much of the holder line is quoted */

void hp_hostlock_wrap(struct hp_buf *out, const char *cmd, const char *dir,
		      const char *holder, int wait_s)
{
	hp_buf_adds(out, "hp_lk=");
	hp_shell_quote(out, dir ? dir : HOSTLOCK_DIR);
	/* root's directory, 0700: nobody else can plant the lock file */
	hp_buf_adds(out, "; { mkdir -m 0700 \"$hp_lk\" 2>/dev/null || "
			 "[ -d \"$hp_lk\" ]; } && exec 9>>\"$hp_lk/lock\" || "
			 "exit 1; ");
	if (wait_s > 0)
		hp_buf_addf(out, "if ! flock -w %d 9; then ", wait_s);
	else
		hp_buf_adds(out, "if ! flock -n 9; then ");
	hp_buf_addf(out,
		    "printf '" BUSY_MARK "%%s\\n' \"$(head -n 1 "
		    "\"$hp_lk/lock\" | cut -c1-%d)\" >&2; exit %d; fi; ",
		    HOLDER_MAX, BUSY_EXIT);
	hp_buf_adds(out, "printf '%s since %s\\n' ");
	hp_shell_quote(out, holder && *holder ? holder : "haprov");
	hp_buf_adds(out, " \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" "
			 ">\"$hp_lk/lock\"; (\n");
	/* the command's own children never inherit the lock: a daemon it
	 * starts must not hold it after the command ends */
	hp_buf_adds(out, cmd);
	hp_buf_adds(out, "\n) 9>&-");
}

bool hp_hostlock_busy(const struct hp_exec_result *res, struct hp_buf *holder)
{
	const char *p, *e;

	if (res->exit_code != BUSY_EXIT)
		return false;
	p = memmem(res->errout.buf, res->errout.len, BUSY_MARK,
		   strlen(BUSY_MARK));
	if (!p)
		return false;
	p += strlen(BUSY_MARK);
	e = memchr(p, '\n', res->errout.len - (size_t)(p - res->errout.buf));
	if (!e)
		e = res->errout.buf + res->errout.len;
	if (holder) {
		hp_buf_reset(holder);
		if (e == p)
			hp_buf_adds(holder, "holder unknown");
		else
			hp_buf_add_printable(holder, p, (size_t)(e - p),
					     HOLDER_MAX);
	}
	return true;
}

/* Run cmd under the host lock: once without waiting; when another run
 * holds it, say so and wait up to the run's lock deadline. */
int hp_hostlock_exec(struct hp_hostrun *h, const char *cmd, const void *in,
		     size_t in_len, int timeout_s, struct hp_exec_result *res,
		     struct hp_err *err)
{
	struct hp_buf wrapped = HP_BUF_INIT, holder = HP_BUF_INIT;
	int wait_s = hp_run_wait_s(h->run);
	int r;

	hp_hostlock_wrap(&wrapped, cmd, NULL, h->run->holder, 0);
	r = h->tr.ops->exec(h->tr.ctx, wrapped.buf, in, in_len, timeout_s,
			    res, err);
	if (r < 0 || !hp_hostlock_busy(res, &holder))
		goto out;
	hp_run_note(h->run, h->host->name,
		    "waiting for another haprov run on the host (%s), up to "
		    "%d s",
		    holder.buf, wait_s);
	hp_buf_reset(&wrapped);
	hp_hostlock_wrap(&wrapped, cmd, NULL, h->run->holder, wait_s);
	hp_exec_result_release(res);
	hp_exec_result_init(res);
	r = h->tr.ops->exec(h->tr.ctx, wrapped.buf, in, in_len,
			    timeout_s + wait_s, res, err);
	if (r == 0 && hp_hostlock_busy(res, &holder))
		r = hp_err_set(err, HP_ELOCKED,
			       "%s is busy: another haprov run holds "
			       "%s/lock (%s) and did not finish within %d s",
			       h->host->name, HOSTLOCK_DIR, holder.buf,
			       wait_s);
out:
	hp_buf_release(&wrapped);
	hp_buf_release(&holder);
	return r;
}
