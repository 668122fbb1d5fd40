#ifndef HP_APPLY_H
#define HP_APPLY_H
/* plan and apply share one driver: plan is apply that only reads. */
#include "cmd.h"

/* Run the phases (plan: report only). Returns an enum hp_exit. */
int hp_apply_main(struct hp_cmd_ctx *ctx, bool plan);

#endif
