/* haprov apply: run the phases in order, verify each, record rollback
 * points. */
#include "apply.h"

int hp_cmd_apply(struct hp_cmd_ctx *ctx)
{
	return hp_apply_main(ctx, HP_MODE_APPLY);
}
