/* haprov plan: what apply would change, per phase and host; changes
 * nothing on any host. */
#include "apply.h"

int hp_cmd_plan(struct hp_cmd_ctx *ctx)
{
	return hp_apply_main(ctx, HP_MODE_PLAN);
}
