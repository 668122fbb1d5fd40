#ifndef HP_APPLY_H
#define HP_APPLY_H
/* plan and apply share one driver: plan is apply that only reads. */
#include "cmd.h"

enum hp_mode { HP_MODE_PLAN, HP_MODE_APPLY, HP_MODE_ROLLBACK };

/* Run the phases (plan: report only; rollback: restore a point). Returns
 * an enum hp_exit. */
int hp_apply_main(struct hp_cmd_ctx *ctx, enum hp_mode mode);

#endif
