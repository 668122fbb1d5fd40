#ifndef HP_RESTORE_H
#define HP_RESTORE_H
/*
 * Rollback of a phase's files to a point of the state repository: all or
 * nothing. Before anything changes on a host, every file the point must
 * supply is read (hp_restore_check); a point that cannot supply one is an
 * error that says what is missing, and nothing is touched.
 *
 * For each file a phase manages on a host (as the inventory renders it
 * now), the point decides:
 *
 *   recorded at the point            its content is written back; a file
 *                                    with secrets (recorded by hash, and
 *                                    masked: hp_secret_mask) gets the
 *                                    point's secrets back into the masked
 *                                    copy, or else is rendered again;
 *                                    either must give that same hash
 *   not at the point, but recorded   it was created (or taken over) after
 *   by a later state                 the point: it is moved into the
 *                                    host's backup directory
 *                                    (/var/lib/haprov/backups/<run>/)
 *   recorded by no state             haprov never wrote it: left as it is
 *
 * Errors: a recorded file that cannot be read; a file with secrets whose
 * recorded hash the store and inventory cannot reproduce; a host whose
 * phase the point did not record at all while a later state did (the
 * phase was set up after the point: haprov does not tear a phase down).
 */
#include "engine.h"

struct hp_render_secrets;

/*
 * A file that holds secrets, for the state repository: its content with
 * each of rs's values replaced by "<secret:NAME>" (superuser, replication,
 * rewind, restapi, haproxy_stats). NULL (keep only its hash) when a value
 * is shorter than 8 characters or a plan's placeholder, when the content
 * has a NUL byte or none of the values (it is secret for another reason),
 * or when anything left still looks like a credential
 * (redact.h): no secret ever reaches the repository.
 */
char *hp_secret_mask(const char *content, size_t len,
		     const struct hp_render_secrets *rs);

/*
 * The reverse, with rs's values (in a rollback, the point's pinned ones):
 * NULL when a placeholder names a secret rs has no value for; text that
 * only looks like a placeholder stays. The caller checks the result
 * against the hash the point recorded, and wipes it (it holds secrets).
 */
char *hp_secret_unmask(const char *masked, size_t len,
		       const struct hp_render_secrets *rs, size_t *out_len);

enum hp_restore_action {
	HP_RESTORE_CONTENT, /* the point's content */
	HP_RESTORE_RENDER,  /* rendered again: the point has its hash */
	HP_RESTORE_REMOVE,  /* created after the point: moved to backups */
	HP_RESTORE_LEAVE,   /* never recorded: not touched */
};

/*
 * What point says about each of host h's files wf[0..n) of a phase
 * (act[i] for wf[i]); for HP_RESTORE_CONTENT, wf[i].content (which the
 * array owns, as hp_phase_files gives it) is replaced by the point's.
 * h->run->state must be open. HP_ERROR naming the point, the host and the
 * file when the point cannot supply what it must.
 */
int hp_restore_resolve(struct hp_hostrun *h, const char *phase,
		       const char *point, struct hp_want_file *wf, size_t n,
		       enum hp_restore_action *act, struct hp_err *err);

/*
 * Check, changing nothing, that point can restore every file of phase on
 * every selected host with role. Every problem found is in err (HP_ERROR),
 * one per host, so the operator sees all of them at once.
 */
int hp_restore_check(struct hp_run *run, const char *phase, unsigned role,
		     const char *point, struct hp_err *err);

/*
 * For a rollback (the run's desired source is a point, hp_desired_point): resolve wf (see above) and
 * keep in *wf only the files to write; the ones to remove go to *gone
 * (*ngone of them; free with hp_want_files_free). Files left as they are
 * are recorded as such.
 */
int hp_restore_files(struct hp_hostrun *h, const char *phase,
		     struct hp_want_file **wf,
		     size_t *nwf, struct hp_want_file **gone, size_t *ngone,
		     struct hp_err *err);

/*
 * Move a file created after the restore point out of the way: into
 * /var/lib/haprov/backups/<run id>/<path> on the host (never over a backup
 * already there), noting its services for a restart. Recorded as a step.
 */
int hp_restore_remove_file(struct hp_hostrun *h, const struct hp_want_file *f,
			   struct hp_err *err);

#endif
