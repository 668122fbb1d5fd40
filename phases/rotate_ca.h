#ifndef HP_ROTATE_CA_H
#define HP_ROTATE_CA_H
/*
 * haprov rotate INV --ca: a new cluster CA on a live cluster, in three
 * stages, each applied, picked up by every consumer and verified before
 * the store records the next one (provisioner/tls_rotation.h has the
 * store names and what each stage renders; docs/architecture.md,
 * "Rotating the CA", what each consumer needs).
 *
 * hp_rotate_ca_run (the order, behind a table so that it is unit-tested):
 *   read the stage from the store;
 *   none: start (a new CA under tls-ca-next-*, marker "1");
 *   stage 1..3: run it (render, converge, pick up, verify, promote the
 *     stage's fresh certificates, rollback point), then mark the next
 *     stage (after 3: finish);
 *   cleanup (or after 3): finish: the new CA becomes tls-ca-cert/-key,
 *     the next names go.
 * A failed stage stops the run with its marker unchanged: running the
 * command again redoes that stage (every stage can be redone).
 */
#include "tls_rotation.h"
#include "util.h"

struct hp_ca_ops {
	int (*read_stage)(void *ctx, enum hp_ca_stage *out, struct hp_err *err);
	int (*start)(void *ctx, struct hp_err *err);
	int (*run_stage)(void *ctx, enum hp_ca_stage s, struct hp_err *err);
	int (*mark)(void *ctx, enum hp_ca_stage next, struct hp_err *err);
	int (*finish)(void *ctx, struct hp_err *err);
};

/* 0 when the rotation finished; else the first failure's code (err
 * names the stage). */
int hp_rotate_ca_run(const struct hp_ca_ops *ops, void *ctx,
		     struct hp_err *err);

#endif
