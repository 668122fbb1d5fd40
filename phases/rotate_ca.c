/* The CA rotation's order; see rotate_ca.h. */
#include <stdio.h>

#include "rotate_ca.h"

/* Run stage s and record the one after it. */
static int one_stage(const struct hp_ca_ops *ops, void *ctx, enum hp_ca_stage s,
		     struct hp_err *err)
{
	int r = ops->run_stage(ctx, s, err);

	if (r < 0) {
		hp_err_prefix(err,
			      "CA rotation stage %d of 3 failed (run haprov "
			      "rotate --ca again to redo it)",
			      (int)s);
		return r;
	}
	if (s == HP_CA_DROP)
		return 0;
	return ops->mark(ctx, (enum hp_ca_stage)((int)s + 1), err);
}

int hp_rotate_ca_run(const struct hp_ca_ops *ops, void *ctx, struct hp_err *err)
{
	enum hp_ca_stage s;
	int r;

	if ((r = ops->read_stage(ctx, &s, err)) < 0)
		return r;
	if (s == HP_CA_NONE) {
		if ((r = ops->start(ctx, err)) < 0 ||
		    (r = ops->read_stage(ctx, &s, err)) < 0)
			return r;
		if (s != HP_CA_BOTH)
			return hp_err_set(err, HP_ERROR,
					  "the new CA was not recorded in the "
					  "store");
	} else {
		fprintf(stderr, "rotate --ca: resuming: %s\n",
			hp_ca_stage_next(s));
	}
	while (s >= HP_CA_BOTH && s <= HP_CA_DROP) {
		if ((r = one_stage(ops, ctx, s, err)) < 0)
			return r;
		if (s == HP_CA_DROP)
			break;
		enum hp_ca_stage prev = s;

		if ((r = ops->read_stage(ctx, &s, err)) < 0)
			return r;
		if (s <= prev)
			return hp_err_set(err, HP_ERROR,
					  "the store did not record stage %d "
					  "of the CA rotation",
					  (int)prev + 1);
	}
	return ops->finish(ctx, err);
}
