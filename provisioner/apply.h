#ifndef HP_APPLY_H
#define HP_APPLY_H
/* plan and apply share one driver: plan is apply that only reads. */
#include <stddef.h>

#include "cmd.h"

enum hp_mode { HP_MODE_PLAN, HP_MODE_APPLY, HP_MODE_ROLLBACK };

struct hp_phase;
struct hp_run;

/* Run the phases (plan: report only; rollback: restore a point). Returns
 * an enum hp_exit. */
int hp_apply_main(struct hp_cmd_ctx *ctx, enum hp_mode mode);

/*
 * What unit tests change in the driver, and nothing else: the phase table
 * (fake phases that count their calls), and a hook called right after the
 * run is set up, before anything reaches a host or a REST API, to give the
 * hosts fake transports (hp_run_connect leaves a host that has one alone),
 * the run a fake REST server, or its files (phase_files_cb).
 */
struct hp_apply_seam {
	const struct hp_phase *phases; /* NULL: hp_phases */
	size_t nr_phases;
	void (*prepare)(struct hp_run *run, void *arg); /* may be NULL */
	void *arg;
};

/*
 * The run ids whose host backups must survive pruning (at most max, newest
 * first): the runs of the newest rollback points, which `rollback`
 * restores by default. 0 when there is no state repository.
 */
struct hp_state;
size_t hp_apply_protected_runs(struct hp_state *state, char ids[][64],
			       size_t max);

/* hp_apply_main with a seam (NULL: none). */
int hp_apply_main_seam(struct hp_cmd_ctx *ctx, enum hp_mode mode,
		       const struct hp_apply_seam *seam);

#endif
