#ifndef HP_APPLY_PRIV_H
#define HP_APPLY_PRIV_H
/* Shared by the apply driver (apply.c) and its rollback (apply_rollback.c);
 * not an API. */
#include <stddef.h>

#include "cmd.h"
#include "engine.h"
#include "phases.h"

/*
 * Record the result of phase ph (its steps are recorded under `name`) in
 * the state repository when it changed something, with ph's snapshot
 * (ph NULL, a rollback: every snapshot of the run's phase table). Errors
 * are reported, not fatal: the hosts are what matters, and the next run
 * records them again.
 */
void hp_apply_commit(struct hp_run *run, const struct hp_phase *ph,
		     const char *name, const char *result);

/* Print "haprov: <prefix>: <msg>" with msg made printable: error texts
 * quote remote answers and command output. */
void hp_apply_say(const char *prefix, const char *msg);

/*
 * A phase failed after it changed something: roll it back to before (the
 * state before it), all or nothing. Returns HP_EXIT_ROLLED_BACK, or
 * HP_EXIT_ROLLBACK_FAILED when the point cannot be restored (checked
 * before anything changes) or the restored state does not verify.
 */
int hp_apply_rollback_phase(struct hp_run *run, const struct hp_phase *ph,
			    const char *before, struct hp_err *err);

/*
 * haprov rollback: every phase back to `to` (NULL: the state before the
 * last apply), checked whole before any host changes, staged, verified.
 * Returns an enum hp_exit.
 */
int hp_apply_rollback_to(struct hp_run *run, const struct hp_phase *phases,
			 size_t nr, const char *to, struct hp_err *err);

#endif
