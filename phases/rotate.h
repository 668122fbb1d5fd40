#ifndef HP_ROTATE_H
#define HP_ROTATE_H
/*
 * haprov rotate INV ROLE...: a new password for an application role
 * (secrets.roles, store secret "role-<name>") or a bootstrap one
 * (superuser, replication, rewind, restapi), with no PostgreSQL restart
 * and no failover (docs/architecture.md, "Rotating secrets").
 *
 * Per role, in this order (hp_rotate_one):
 *   1. prepare: the cluster is healthy; what verification compares with
 *      is recorded (leader, timeline, postmaster start times);
 *   2. stage: a new version of the secret in the store, not current;
 *   3. apply: the new password on the cluster (the SCRAM verifier by
 *      ALTER ROLE on the leader; config.yml on every member and a
 *      reload, for the bootstrap roles Patroni uses);
 *   4. verify: the new password works and the old one is refused, and
 *      for replication every replica streams again, reconnected;
 *   5. promote: the new version becomes the store's current one (the
 *      previous is kept);
 *   6. commit: a rollback point "rotate" pinning the new version.
 * A failure in 3-5 puts the old password back on the cluster (apply with
 * the old value) and leaves the store's current version as it was: the
 * store keeps the previous version until the new one is verified
 * everywhere.
 */
#include <stdbool.h>
#include <stddef.h>

#include "inventory.h"
#include "util.h"

enum hp_rotate_kind {
	HP_ROT_APP,	    /* an application role of secrets.roles */
	HP_ROT_SUPERUSER,   /* secrets.superuser */
	HP_ROT_REPLICATION, /* secrets.replication */
	HP_ROT_REWIND,	    /* secrets.rewind */
	HP_ROT_RESTAPI,	    /* Patroni's REST API user */
};

/* Room for a store secret name: "role-" and a PostgreSQL role name. */
#define HP_ROTATE_SECRET_MAX 80

struct hp_rotate_target {
	enum hp_rotate_kind kind;
	const char *user;		   /* the role or REST user; borrowed */
	char secret[HP_ROTATE_SECRET_MAX]; /* store name */
	const struct hp_secret_role *app;  /* HP_ROT_APP: its entry */
};

/*
 * The targets of names (as given on the command line), all resolved
 * before anything changes: "superuser", "replication", "rewind" or
 * "restapi" (or the user name the inventory gives one of them), or an
 * application role of secrets.roles. A name given twice, or that is none
 * of these, is HP_EINVALID naming it (printable) and listing the valid
 * names. out has room for nr targets.
 */
int hp_rotate_resolve(const struct hp_inventory *inv, char *const *names,
		      size_t nr, struct hp_rotate_target *out,
		      struct hp_err *err);

/* Whether a kind's password is in Patroni's config.yml. */
bool hp_rotate_in_config(enum hp_rotate_kind kind);
/* Whether a kind is a PostgreSQL role (changed by ALTER ROLE). */
bool hp_rotate_is_role(enum hp_rotate_kind kind);

/* What hp_rotate_one calls: the store and the cluster, behind a table so
 * that the order and the failure paths are unit-tested. Each returns 0 or
 * an HP_E* code with err set; none ever puts a password in err. */
struct hp_rotate_ops {
	int (*prepare)(void *ctx, const struct hp_rotate_target *t,
		       struct hp_err *err);
	/* generate and store a new version (not current): *value (free
	 * with hp_secret_free) and its sha256 in hex */
	int (*stage)(void *ctx, const struct hp_rotate_target *t,
		     char **value, char sha[65], struct hp_err *err);
	int (*apply)(void *ctx, const struct hp_rotate_target *t,
		     const char *password, struct hp_err *err);
	int (*verify)(void *ctx, const struct hp_rotate_target *t,
		      const char *new_pw, const char *old_pw,
		      struct hp_err *err);
	int (*promote)(void *ctx, const struct hp_rotate_target *t,
		       const char *sha, struct hp_err *err);
	int (*commit)(void *ctx, const struct hp_rotate_target *t,
		      struct hp_err *err);
};

/* How a rotation ended (for the exit code). */
enum hp_rotate_outcome {
	HP_ROTATED,	   /* new password verified and current */
	HP_ROT_UNCHANGED,  /* failed before the cluster was touched */
	HP_ROT_PUT_BACK,   /* failed; the old password is back */
	HP_ROT_STUCK,	   /* failed, and putting it back failed too */
};

/*
 * Rotate one target whose current password is old (the store's current
 * version). 0 when rotated, verified and promoted (a failed commit of the
 * rollback point is only warned about: store and cluster agree). Else the
 * error of the step that failed, after the old password was put back
 * (err then says so), or, when that failed too, HP_EVERIFY saying that
 * the cluster may hold the new password while the store's current
 * version is the old one, and how to repair (the staged version's
 * sha256 is named, never the value).
 */
int hp_rotate_one(const struct hp_rotate_ops *ops, void *ctx,
		  const struct hp_rotate_target *t, const char *old,
		  enum hp_rotate_outcome *outcome, struct hp_err *err);

#endif
