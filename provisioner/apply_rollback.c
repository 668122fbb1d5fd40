/*
 * Rollback, all or nothing: a point is checked whole (every file each
 * phase must restore on every host, and Patroni's DCS settings) before
 * anything changes on a host; a point that cannot supply something is an
 * error that says what (exit 5), never a silent fallback to the
 * inventory's new settings. See phases/restore.h for what happens to each
 * file.
 */
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_priv.h"
#include "bootstrap.h"
#include "restore.h"
#include "state.h"
#include "tls_migrate.h"

/* What phase q recorded at point (its snapshot_path; new reference):
 * missing, unreadable or not a JSON object is an error. */
static int point_snapshot(struct hp_run *run, const struct hp_phase *q,
			  const char *point, json_t **out, struct hp_err *err)
{
	const char *path = q->snapshot_path;
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err e;
	json_error_t je;
	json_t *j = NULL;
	int r;

	*out = NULL;
	hp_err_clear(&e);
	r = hp_state_read(run->state, point, path, &b, &e);
	if (r == HP_ENOTFOUND) {
		r = hp_err_set(err, HP_ERROR,
			       "rollback point %.12s has no %s: the %s phase's "
			       "state then is unknown (%s was not set up "
			       "yet?)",
			       point, path, q->name, q->name);
		goto out;
	}
	if (r < 0) {
		r = hp_err_set(err, HP_ERROR,
			       "rollback point %.12s: cannot read %s: %s",
			       point, path, e.msg);
		goto out;
	}
	j = json_loadb(b.buf, b.len, 0, &je);
	if (!json_is_object(j)) {
		char *why = hp_printable_dup(j ? "not a JSON object" : je.text,
					     200);

		r = hp_err_set(err, HP_ERROR,
			       "rollback point %.12s: %s is not usable: %s",
			       point, path, why);
		free(why);
		json_decref(j);
		goto out;
	}
	*out = j;
out:
	hp_buf_release(&b);
	return r;
}

/*
 * The desired source for restoring phase ph from point: *snaps gets
 * {phase name: snapshot} for ph (when it records one) and, when ph owns
 * DCS keys, for the phase owning the rest of the DCS, whose snapshot is
 * also *dcs (new references). Everything must be there.
 */
static int point_source(struct hp_run *run, const struct hp_phase *ph,
			const char *point, json_t **snaps, json_t **dcs,
			struct hp_err *err)
{
	const struct hp_phase *owner =
		ph->dcs_params ? hp_phase_dcs_owner(run->phase_table,
						    run->phase_table_nr)
			       : NULL;
	const struct hp_phase *need[2] = { ph, owner };
	size_t i;
	int r = 0;

	*snaps = NULL;
	*dcs = NULL;
	/* never across the move to TLS (the automatic rollback of a phase
	 * after a migration, or rollback --to an older point) */
	if ((r = hp_tlsm_rollback_guard(run, point, err)) < 0)
		return r;
	*snaps = json_object();
	for (i = 0; i < 2 && r == 0; i++) {
		json_t *v = NULL;

		if (!need[i] || !need[i]->snapshot_path ||
		    json_object_get(*snaps, need[i]->name))
			continue;
		if ((r = point_snapshot(run, need[i], point, &v, err)) == 0)
			json_object_set_new(*snaps, need[i]->name, v);
	}
	if (r == 0 && owner)
		*dcs = json_incref(json_object_get(*snaps, owner->name));
	if (r < 0) {
		json_decref(*snaps);
		*snaps = NULL;
	}
	return r;
}

/* Everything phase ph needs from point, read now, changing nothing. */
static int check_phase(struct hp_run *run, const struct hp_phase *ph,
		       const char *point, struct hp_err *err)
{
	json_t *snaps = NULL, *dcs = NULL;
	int r = point_source(run, ph, point, &snaps, &dcs, err);

	json_decref(snaps);
	json_decref(dcs);
	if (r < 0)
		return r;
	return hp_restore_check(run, ph->name, ph->role, point, err);
}

/* Bring the phase back to point with the point as the desired source:
 * its restore hook, or its converge reading from the point (files, and
 * the DCS with every key in scope), in the same staged order; then
 * verify. */
static int restore_phase(struct hp_run *run, const struct hp_phase *ph,
			 const char *point, struct hp_err *err)
{
	json_t *snaps = NULL, *dcs = NULL;
	size_t k;
	int r = 0;

	for (k = 0; k < run->nr_hosts; k++) {
		run->hosts[k].failed = false;
		hp_err_clear(&run->hosts[k].err);
		hp_hostrun_phase_reset(&run->hosts[k]);
	}
	hp_err_clear(err);
	if ((r = point_source(run, ph, point, &snaps, &dcs, err)) < 0)
		return r;
	hp_desired_set(run, point, snaps, dcs);
	run->repaired = false; /* its own restarts are still to come */
	run->phase = "rollback";
	run->phase_entry = ph;
	fprintf(stderr, "== rollback %s to %.12s\n", ph->name, point);
	r = ph->restore ? ph->restore(run, err) : ph->converge(run, err);
	if (r == 0)
		r = ph->verify(run, err);
	hp_desired_clear(run);
	return r;
}

/* After a successful restore the state is the point's again: start the
 * rollback's commit from the point's tree, so that files removed from the
 * hosts leave the state too. */
static void commit_restored(struct hp_run *run, const char *point, int r)
{
	struct hp_err e;

	hp_err_clear(&e);
	if (r == 0 && run->state && hp_state_reset(run->state, point, &e) < 0)
		hp_apply_say("state repository", e.msg);
	hp_apply_commit(run, NULL, "rollback",
			r < 0 ? "rollback-failed" : "rolled-back");
	hp_run_phase_summary(run, "rollback");
}

int hp_apply_rollback_phase(struct hp_run *run, const struct hp_phase *ph,
			    const char *before, struct hp_err *err)
{
	int r;

	fprintf(stderr, "haprov: rolling back phase %s to the state before "
			"this run (%.12s)\n",
		ph->name, before);
	hp_err_clear(err);
	if (check_phase(run, ph, before, err) < 0) {
		hp_apply_say("cannot roll back: the state before this run "
			     "cannot be restored whole, so nothing was rolled "
			     "back",
			     err->msg);
		fprintf(stderr, "haprov: the cluster needs a human; its state "
				"now: haprov status\n");
		return HP_EXIT_ROLLBACK_FAILED;
	}
	r = restore_phase(run, ph, before, err);
	commit_restored(run, before, r);
	if (r < 0) {
		hp_apply_say("ROLLBACK FAILED", err->msg);
		fprintf(stderr, "haprov: the cluster needs a human; its state "
				"now: haprov status\n");
		return HP_EXIT_ROLLBACK_FAILED;
	}
	fprintf(stderr, "haprov: phase %s failed and was rolled back; the "
			"cluster verifies healthy with its previous "
			"settings\n",
		ph->name);
	return HP_EXIT_ROLLED_BACK;
}

/* The run id in a commit body's "Run: <id>" trailer, or "". */
static void body_run_id(const char *body, char *out, size_t len)
{
	const char *p = strstr(body, "\nRun: ");

	if (!p && !strncmp(body, "Run: ", 5))
		p = body - 1;
	out[0] = '\0';
	if (p) {
		size_t n = strcspn(p + 6, "\n");

		if (n >= len)
			n = len - 1;
		memcpy(out, p + 6, n);
		out[n] = '\0';
	}
}

size_t hp_apply_protected_runs(struct hp_state *state, char ids[][64],
			       size_t max)
{
	struct hp_state_point *pts = NULL;
	struct hp_err err;
	size_t n = 0, i, k = 0;

	if (!state || hp_state_history(state, &pts, &n, &err) < 0)
		return 0;
	for (i = 0; i < n && k < max; i++) {
		char id[64];

		body_run_id(pts[i].body, id, sizeof(id));
		if (id[0] && (k == 0 || strcmp(ids[k - 1], id) != 0))
			hp_strlcpy(ids[k++], id, 64);
	}
	hp_state_points_free(pts, n);
	return k;
}

/*
 * The default rollback target: the state before the last apply, i.e. the
 * parent of the oldest rollback point the newest run made.
 */
static int default_target(struct hp_state *state, char out[41],
			  struct hp_err *err)
{
	struct hp_state_point *pts = NULL;
	char newest[64], id[64];
	size_t n = 0, i;
	int r;

	if ((r = hp_state_history(state, &pts, &n, err)) < 0)
		return r;
	if (!n) {
		hp_state_points_free(pts, n);
		return hp_err_set(err, HP_ENOTFOUND, "no rollback points yet");
	}
	body_run_id(pts[0].body, newest, sizeof(newest));
	hp_strlcpy(out, pts[0].parent, 41);
	for (i = 0; i < n; i++) {
		body_run_id(pts[i].body, id, sizeof(id));
		if (strcmp(id, newest) != 0)
			break;
		hp_strlcpy(out, pts[i].parent, 41);
	}
	hp_state_points_free(pts, n);
	if (!out[0])
		return hp_err_set(err, HP_ENOTFOUND,
				  "the last apply has no earlier state");
	return 0;
}

/* Check the whole point, restore every phase, make the point's secret
 * versions current again (pinned: NULL when the point records none), and
 * commit. */
static int restore_all(struct hp_run *run, const struct hp_phase *phases,
		       size_t nr, const char *target,
		       const struct hp_run_secrets *pinned, struct hp_err *err)
{
	size_t i;
	int r = 0;

	/* all or nothing: the whole point is read before any host changes */
	for (i = 0; i < nr; i++) {
		struct hp_err e;

		hp_err_clear(&e);
		if (check_phase(run, &phases[i], target, &e) < 0) {
			char *what = xasprintf("cannot roll back phase %s: "
					       "nothing was changed",
					       phases[i].name);

			hp_apply_say(what, e.msg);
			free(what);
			r = HP_ERROR;
		}
	}
	if (r < 0) {
		hp_err_set(err, HP_ERROR, "rollback point %.12s cannot be "
					  "restored whole",
			   target);
		fprintf(stderr, "haprov: the point cannot be restored whole; "
				"pick another one (haprov history) or repair "
				"by hand\n");
		return HP_EXIT_ROLLBACK_FAILED;
	}
	for (i = 0; i < nr && r == 0; i++)
		r = restore_phase(run, &phases[i], target, err);
	if (r == 0 && pinned &&
	    (r = hp_run_secrets_promote_pins(pinned, run, err)) < 0)
		hp_err_prefix(err, "the cluster was rolled back, but the "
				   "point's secrets could not be made current "
				   "in the store again");
	commit_restored(run, target, r);
	if (r < 0) {
		hp_apply_say("ROLLBACK FAILED", err->msg);
		return r == HP_EINTR ? HP_EXIT_INTERRUPTED
				     : HP_EXIT_ROLLBACK_FAILED;
	}
	fprintf(stderr, "haprov: rolled back to %.12s and verified\n",
		target);
	return HP_EXIT_OK;
}

int hp_apply_rollback_to(struct hp_run *run, const struct hp_phase *phases,
			 size_t nr, const char *to, struct hp_err *err)
{
	struct hp_render_secrets *current = run->secrets;
	struct hp_run_secrets pinned;
	char target[41];
	int r, rc;

	if (to)
		r = hp_state_resolve(run->state, to, target, err);
	else
		r = default_target(run->state, target, err);
	if (r < 0) {
		hp_apply_say("rollback", err->msg);
		return HP_EXIT_ERROR;
	}
	fprintf(stderr, "haprov: rolling back to %.12s%s%s\n", target,
		to ? " = " : " (the state before the last apply)",
		to ? to : "");
	/* files that hold secrets come back with the point's versions */
	if ((r = hp_run_secrets_use_point(&pinned, run, target, err)) < 0) {
		hp_apply_say("cannot roll back: nothing was changed",
			     err->msg);
		return HP_EXIT_ROLLBACK_FAILED;
	}
	rc = restore_all(run, phases, nr, target, r == 1 ? &pinned : NULL,
			 err);
	run->secrets = current;
	hp_desired_pins(run, NULL); /* they are pinned's */
	hp_run_secrets_release(&pinned);
	return rc;
}
