/* Rollback of a phase's files to a rollback point; see restore.h. */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "restore.h"
#include "shell.h"
#include "state.h"
#include "redact.h"

/* Where the engine keeps what it replaced on a host (steps.c). */
#define BACKUP_ROOT "/var/lib/haprov/backups"

/* A file with secrets is recorded by hash: the file rendered now must be
 * the one the point had, else the rollback would silently keep the new
 * one. */
static int check_hash(const struct hp_want_file *f, const struct hp_buf *rec,
		      const char *point, const char *host, struct hp_err *err)
{
	char now[65];

	hp_sha256_hex(f->content, f->len, now);
	if (rec->len >= 64 && !strncmp(rec->buf, now, 64))
		return 0;
	return hp_err_set(err, HP_ERROR,
			  "rollback point %.12s recorded only the hash of "
			  "%s's %s (it holds secrets), and rendering it now "
			  "from the inventory and the secret store gives "
			  "another file: haprov cannot restore it as it was",
			  point, host, f->path);
}

/* Is path (plain or by hash) in the latest state (the working set)? */
static int recorded_later(struct hp_state *st, const char *plain,
			  const char *hashp, bool *out, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	int r;

	*out = false;
	r = hp_state_read(st, NULL, plain, &b, err);
	if (r == HP_ENOTFOUND)
		r = hp_state_read(st, NULL, hashp, &b, err);
	hp_buf_release(&b);
	if (r == 0)
		*out = true;
	return r == HP_ENOTFOUND ? 0 : r;
}

/* The point's masked copy of a file with secrets, with the run's (the
 * point's pinned) secrets put back: when that gives the hash the point
 * recorded, it is the file exactly as it was and replaces f's content
 * (true). Otherwise f stays as rendered now. */
static bool from_masked(struct hp_state *st, const char *point,
			const char *plain, const struct hp_buf *rec,
			const struct hp_render_secrets *rs,
			struct hp_want_file *f)
{
	char *mp = xasprintf("%s.masked", plain), *c = NULL;
	struct hp_buf m = HP_BUF_INIT;
	struct hp_err e;
	size_t n = 0;
	bool used = false;

	hp_err_clear(&e);
	if (rec->len >= 64 && hp_state_read(st, point, mp, &m, &e) == 0 &&
	    (c = hp_secret_unmask(m.buf, m.len, rs, &n))) {
		char hex[65];

		hp_sha256_hex(c, n, hex);
		if (!strncmp(rec->buf, hex, 64)) {
			hp_redact_free((char *)(uintptr_t)f->content, f->len);
			f->content = c;
			f->len = n;
			used = true;
		} else {
			hp_redact_free(c, n);
		}
	}
	hp_buf_release(&m);
	free(mp);
	return used;
}

/* What point says about one file; see hp_restore_resolve. */
static int resolve_one(struct hp_state *st, const char *point,
		       const char *host, const struct hp_render_secrets *rs,
		       struct hp_want_file *f, enum hp_restore_action *act,
		       struct hp_err *err)
{
	char *plain = hp_state_host_path(host, f->path);
	char *hashp = xasprintf("%s.sha256", plain);
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err e;
	bool later;
	int r;

	hp_err_clear(&e);
	r = hp_state_read(st, point, plain, &b, &e);
	if (r == 0) {
		*act = HP_RESTORE_CONTENT;
		free((char *)(uintptr_t)f->content);
		f->len = b.len;
		f->content = hp_buf_detach(&b, NULL);
		goto out;
	}
	if (r == HP_ENOTFOUND)
		r = hp_state_read(st, point, hashp, &b, &e);
	if (r == 0 && from_masked(st, point, plain, &b, rs, f)) {
		*act = HP_RESTORE_CONTENT;
		goto out;
	}
	if (r == 0) {
		*act = HP_RESTORE_RENDER;
		r = check_hash(f, &b, point, host, err);
		goto out;
	}
	if (r == HP_ENOTFOUND && (r = recorded_later(st, plain, hashp, &later,
						     &e)) == 0) {
		*act = later ? HP_RESTORE_REMOVE : HP_RESTORE_LEAVE;
		goto out;
	}
	r = hp_err_set(err, HP_ERROR,
		       "rollback point %.12s: cannot read %s's %s from the "
		       "state repository: %s",
		       point, host, f->path, e.msg);
out:
	hp_buf_release(&b);
	free(plain);
	free(hashp);
	return r;
}

int hp_restore_resolve(struct hp_hostrun *h, const char *phase,
		       const char *point, struct hp_want_file *wf, size_t n,
		       enum hp_restore_action *act, struct hp_err *err)
{
	const char *host = h->host->name;
	size_t i, at_point = 0, later = 0;

	if (!h->run->state)
		return hp_err_set(err, HP_ERROR,
				  "no state repository to roll back from");
	for (i = 0; i < n; i++) {
		int r = resolve_one(h->run->state, point, host,
				    h->run->secrets, &wf[i], &act[i], err);

		if (r < 0)
			return r;
		if (act[i] == HP_RESTORE_CONTENT || act[i] == HP_RESTORE_RENDER)
			at_point++;
		else if (act[i] == HP_RESTORE_REMOVE)
			later++;
	}
	if (!at_point && later)
		return hp_err_set(err, HP_ERROR,
				  "rollback point %.12s has none of %s's %s "
				  "files, but a later state has them: they were "
				  "set up after that point (the phase's first "
				  "apply, or the host took the role later), "
				  "and haprov does not tear a phase down; pick "
				  "a later point, or undo it by hand",
				  point, host, phase);
	return 0;
}

int hp_restore_check(struct hp_run *run, const char *phase, unsigned role,
		     const char *point, struct hp_err *err)
{
	struct hp_buf problems = HP_BUF_INIT;
	size_t i, nr = 0;
	int r = 0;

	for (i = 0; i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];
		struct hp_want_file *wf = NULL;
		enum hp_restore_action *act;
		size_t nwf = 0;
		struct hp_err e;

		if (!h->selected || (role && !(h->host->roles & role)))
			continue;
		hp_err_clear(&e);
		r = hp_phase_files(h, phase, &wf, &nwf, &e);
		act = xcalloc(nwf ? nwf : 1, sizeof(*act));
		if (r == 0)
			r = hp_restore_resolve(h, phase, point, wf, nwf,
					       act, &e);
		if (r < 0)
			hp_buf_addf(&problems, "%s%s: %s", nr++ ? "; " : "",
				    h->host->name, e.msg);
		free(act);
		hp_want_files_free(wf, nwf);
	}
	r = nr ? hp_err_set(err, HP_ERROR, "%s", problems.buf) : 0;
	hp_buf_release(&problems);
	return r;
}

int hp_restore_files(struct hp_hostrun *h, const char *phase,
		     struct hp_want_file **wf,
		     size_t *nwf, struct hp_want_file **gone, size_t *ngone,
		     struct hp_err *err)
{
	struct hp_want_file *keep = *wf, *rm, *left;
	enum hp_restore_action *act;
	size_t i, nk = 0, nr = 0, nl = 0, n = *nwf;
	int r;

	*gone = NULL;
	*ngone = 0;
	act = xcalloc(n ? n : 1, sizeof(*act));
	if ((r = hp_restore_resolve(h, phase, hp_desired_point(h->run), keep, n,
				    act, err)) < 0) {
		free(act);
		return r;
	}
	rm = xcalloc(n ? n : 1, sizeof(*rm));
	left = xcalloc(n ? n : 1, sizeof(*left));
	for (i = 0; i < n; i++) {
		if (act[i] == HP_RESTORE_REMOVE) {
			rm[nr++] = keep[i];
		} else if (act[i] == HP_RESTORE_LEAVE) {
			char *step = xasprintf("file %s", keep[i].path);

			hp_run_record(h->run, h->host->name, HP_STEP_OK, step,
				      "not recorded at the rollback point nor "
				      "later: left as it is",
				      NULL, hp_now_ms());
			free(step);
			left[nl++] = keep[i];
		} else {
			keep[nk++] = keep[i];
		}
	}
	hp_want_files_free(left, nl);
	free(act);
	*nwf = nk;
	*gone = rm;
	*ngone = nr;
	return 0;
}

int hp_restore_remove_file(struct hp_hostrun *h, const struct hp_want_file *f,
			   struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, out = HP_BUF_INIT;
	char *step = xasprintf("file %s", f->path);
	char *root = xasprintf("%s/%s", BACKUP_ROOT, h->run->run_id);
	int64_t t = hp_now_ms();
	int r = 0;

	if (h->run->opts.plan) {
		h->nr_changed++;
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      "created after the rollback point: would be "
			      "moved to the backups",
			      NULL, t);
		goto out;
	}
	/* a backup of the same path made earlier in this run (the content
	 * haprov replaced) is kept: this one goes beside it */
	hp_buf_adds(&cmd, "p=");
	hp_shell_quote(&cmd, f->path);
	hp_buf_adds(&cmd, "; b=");
	hp_shell_quote(&cmd, root);
	hp_buf_adds(&cmd, "\"$p\"; if [ -e \"$p\" ] || [ -L \"$p\" ]; then "
			  "if [ -e \"$b\" ]; then b=\"$b.after-point\"; fi; "
			  "umask 077; mkdir -p \"$(dirname \"$b\")\" && "
			  "mv -f \"$p\" \"$b\" && echo moved; fi");
	out.max = 4096;
	r = hp_host_sh(h, cmd.buf, NULL, 0, 60, &out, err);
	if (r < 0) {
		hp_run_record(h->run, h->host->name, HP_STEP_FAILED, step,
			      err->msg, NULL, t);
		goto out;
	}
	if (!strncmp(out.buf, "moved", 5)) {
		char *what = xasprintf("created after the rollback point: "
				       "moved to %s/",
				       root);

		h->nr_changed++;
		hp_step_note_services(h, f, true);
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED, step,
			      what, NULL, t);
		free(what);
	} else {
		hp_run_record(h->run, h->host->name, HP_STEP_OK, step,
			      "created after the rollback point; not there",
			      NULL, t);
	}
out:
	hp_buf_release(&cmd);
	hp_buf_release(&out);
	free(root);
	free(step);
	return r;
}
