/* haprov rollback: restore a rollback point (default: the state before
 * the last apply) on every host and in Patroni's DCS, staged, verified. */
#include "apply.h"

int hp_cmd_rollback(struct hp_cmd_ctx *ctx)
{
	return hp_apply_main(ctx, HP_MODE_ROLLBACK);
}
