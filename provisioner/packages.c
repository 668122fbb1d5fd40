/*
 * The packages step: install what the facts say is missing, with apt-get,
 * on a host where another package manager run may be going on (a haprov
 * run killed mid-install leaves its apt-get running, as it should: dpkg
 * must never be interrupted; unattended-upgrades runs by itself).
 *
 * - Before installing, one read says whether the dpkg or apt locks are
 *   held, and by which process, so that the wait is visible.
 * - apt-get waits for the dpkg lock itself (DPkg::Lock::Timeout, apt >=
 *   1.9.11; Debian 12 has 2.6) up to the run's lock deadline.
 * - apt-get update runs only when a package has no candidate in the lists
 *   ("Unable to locate package", "Candidate: (none)") or a download
 *   answers 404 (the lists are older than the mirror), never on any error:
 *   a host whose mirror is unreachable but which has the lists converges.
 * - No temporary file: apt's output stays in a shell variable, and only
 *   its tail is shown, on failure.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "shell.h"

/* The dpkg and apt locks, in the order apt takes them. */
#define PKG_LOCKS                                                          \
	"/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock "                  \
	"/var/lib/apt/lists/lock /var/cache/apt/archives/lock"

void hp_pkg_lock_probe_cmd(struct hp_buf *out)
{
	/*
	 * lslocks (util-linux) names the holder; without it, or when it
	 * cannot resolve the path, /proc/locks by inode (the fields are
	 * counted from the end: a blocked waiter's line has an extra "->").
	 */
	hp_buf_adds(out,
		    "export LC_ALL=C; p=; for f in " PKG_LOCKS "; do "
		    "[ -e \"$f\" ] || continue; "
		    "p=$(lslocks -n -r -o PID,PATH 2>/dev/null | "
		    "awk -v f=\"$f\" '$2 == f { print $1; exit }'); "
		    "if [ -z \"$p\" ]; then i=$(stat -c %i \"$f\") && "
		    "p=$(awk -v i=\"$i\" '{ n = split($(NF - 2), a, \":\"); "
		    "if (a[n] == i) { print $(NF - 3); exit } }' /proc/locks); "
		    "fi; [ -n \"$p\" ] && break; done; "
		    "echo \"dpkg-lock ${p:-none}\"");
}

long hp_pkg_lock_probe_parse(const char *out, size_t len)
{
	static const char prefix[] = "dpkg-lock ";
	size_t i, n = sizeof(prefix) - 1;
	long pid = 0;

	if (len < n || memcmp(out, prefix, n) != 0)
		return -1;
	for (i = n; i < len && out[i] != '\n'; i++) {
		if (out[i] < '0' || out[i] > '9' || i - n >= 10)
			return -1; /* "none", or not a process id */
		pid = pid * 10 + (out[i] - '0');
	}
	return i > n && pid > 0 && pid <= 0x7fffffffL ? pid : -1;
}

void hp_pkg_install_cmd(struct hp_buf *out, const char *const *pkgs,
			size_t nr, const bool *installed, int wait_s)
{
	struct hp_buf list = HP_BUF_INIT;
	size_t i, n = 0;

	for (i = 0; i < nr; i++) {
		if (installed && installed[i])
			continue;
		hp_buf_addch(&list, ' ');
		hp_shell_quote(&list, pkgs[i]);
		n++;
	}
	hp_buf_addf(out,
		    "export DEBIAN_FRONTEND=noninteractive LC_ALL=C; "
		    "upd() { apt-get update -o DPkg::Lock::Timeout=%d -q "
		    "2>&1 || echo 'apt-get update failed'; }; "
		    "inst() { apt-get install -o DPkg::Lock::Timeout=%d -y -q "
		    "--no-install-recommends "
		    "-o Dpkg::Options::=--force-confold%s 2>&1; }; ",
		    wait_s, wait_s, list.buf);
	/*
	 * update only for a package the lists do not have: one apt-cache
	 * for all of them (one each cost 20 ms a package), which prints a
	 * Candidate line for each package it knows; "(none)" or a package
	 * it does not know (no block at all) makes the count short
	 */
	hp_buf_adds(out, "up=; ");
	if (n)
		hp_buf_addf(out,
			    "if [ \"$(apt-cache policy%s 2>/dev/null | "
			    "grep -c '^ *Candidate: [^( ]')\" -lt %zu ]; then "
			    "up=$(upd); fi; ",
			    list.buf, n);
	hp_buf_adds(out,
		    "o=$(inst) || case \"$o\" in "
		    "*'Failed to fetch'*'404'*) up=$(upd); o=$(inst) ;; "
		    "*) false ;; esac || "
		    "{ printf '%s\\n%s\\n' \"$up\" \"$o\" | grep -v '^$' | "
		    "tail -n 15 >&2; exit 1; }");
	hp_buf_release(&list);
}

/* Say so when another package manager run holds the dpkg lock: apt-get
 * will wait for it. Best effort: a probe that fails says nothing. */
static void note_dpkg_lock(struct hp_hostrun *h, int wait_s)
{
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	struct hp_err e;
	long pid;

	hp_pkg_lock_probe_cmd(&cmd);
	hp_err_clear(&e);
	if (hp_host_sh_read(h, cmd.buf, NULL, 0, 30, &out, &e) == 0 &&
	    (pid = hp_pkg_lock_probe_parse(out.buf, out.len)) > 0)
		hp_run_note(h->run, h->host->name,
			    "waiting for another package manager run (pid "
			    "%ld), up to %d s",
			    pid, wait_s);
	hp_buf_release(&cmd);
	hp_buf_release(&out);
}

void hp_pkg_hold_cmd(struct hp_buf *out, const char *const *svcs, size_t n)
{
	struct hp_buf list = HP_BUF_INIT;
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n; i++) {
		hp_buf_addch(&list, ' ');
		hp_shell_quote(&list, svcs[i]);
	}
	/*
	 * "ConditionPathExists=!/" never holds: systemctl start succeeds
	 * and the unit stays inactive, so the install script goes on. The
	 * packages' own scripts run daemon-reload before they start a unit;
	 * one here covers a unit that is already known.
	 */
	hp_buf_addf(out,
		    "unhold() { for s in%s; do "
		    "d=" HP_PKG_HOLD_DIR "$s.service.d; "
		    "rm -f \"$d/" HP_PKG_HOLD_FILE "\"; rmdir \"$d\" 2>/dev/null; "
		    "done; systemctl daemon-reload; }; "
		    "trap unhold EXIT; for s in%s; do "
		    "d=" HP_PKG_HOLD_DIR "$s.service.d; mkdir -p \"$d\" && "
		    "printf '%%s\\n' '[Unit]' 'ConditionPathExists=!/' "
		    ">\"$d/" HP_PKG_HOLD_FILE "\" || exit 1; done; "
		    "systemctl daemon-reload || exit 1; ",
		    list.buf, list.buf);
	hp_buf_release(&list);
}

int hp_step_packages(struct hp_hostrun *h, const char *const *pkgs,
		     size_t nr, const bool *installed, bool *changed,
		     struct hp_err *err)
{
	return hp_step_packages_held(h, pkgs, nr, installed, NULL, 0, changed,
				     err);
}

int hp_step_packages_held(struct hp_hostrun *h, const char *const *pkgs,
			  size_t nr, const bool *installed,
			  const char *const *hold, size_t nr_hold,
			  bool *changed, struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT;
	struct hp_buf names = HP_BUF_INIT; /* for people: unquoted */
	int64_t t = hp_now_ms();
	int wait_s = hp_run_wait_s(h->run);
	size_t i;
	int r = 0;

	*changed = false;
	for (i = 0; i < nr; i++)
		if (!installed[i])
			hp_buf_addf(&names, "%s%s", names.len ? " " : "",
				    pkgs[i]);
	if (!names.len) {
		hp_run_record(h->run, h->host->name, HP_STEP_OK, "packages",
			      NULL, NULL, t);
		goto out;
	}
	*changed = true;
	h->nr_changed++;
	if (h->run->opts.plan) {
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED,
			      "packages", names.buf, NULL, t);
		goto out;
	}
	note_dpkg_lock(h, wait_s);
	hp_pkg_hold_cmd(&cmd, hold, nr_hold);
	hp_pkg_install_cmd(&cmd, pkgs, nr, installed, wait_s);
	/* the install's own time, plus the dpkg lock wait */
	r = hp_host_sh(h, cmd.buf, NULL, 0,
		       h->run->inv->ssh.command_timeout_s + wait_s, NULL, err);
	if (r < 0)
		hp_err_prefix(err, "apt-get install %s", names.buf);
	hp_run_record(h->run, h->host->name,
		      r < 0 ? HP_STEP_FAILED : HP_STEP_CHANGED, "packages",
		      r < 0 ? err->msg : names.buf, NULL, t);
out:
	hp_buf_release(&names);
	hp_buf_release(&cmd);
	return r;
}
