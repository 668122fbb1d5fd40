#ifndef HP_ROTATE_PRIV_H
#define HP_ROTATE_PRIV_H
/* The real rotation ops' context, shared by rotate_cluster.c (prepare,
 * apply), rotate_verify.c (verify) and cmd_rotate.c (store, commit). */
#include "engine.h"
#include "pglogin.h"
#include "rest.h"
#include "rotate.h"

struct hp_rotate_ctx {
	struct hp_run *run;	/* connected; run->secrets is rendered from */
	struct hp_rest rest;	/* hp_run_rest_init'ed */
	hp_pg_login_fn login;	/* hp_pg_login, or a unit test's */
	/* recorded by prepare */
	char *leader;
	long long timeline;
	char **start; /* per run host: postmaster start time, or NULL */
	/* the leader's clock right after ALTER ROLE */
	char t0[64];
	/* per kind: the value the cluster holds now, when apply set one
	 * (the render view points here) */
	char *cur[HP_ROT_RESTAPI + 1];
};

int hp_rotate_prepare(void *ctx, const struct hp_rotate_target *t,
		      struct hp_err *err);
int hp_rotate_apply(void *ctx, const struct hp_rotate_target *t,
		    const char *password, struct hp_err *err);
int hp_rotate_verify(void *ctx, const struct hp_rotate_target *t,
		     const char *new_pw, const char *old_pw,
		     struct hp_err *err);
/* A member's GET /patroni: postmaster start time (printable, capped;
 * the caller frees it) and timeline. */
int hp_rotate_member_state(struct hp_rotate_ctx *c,
			   const struct hp_host *host, char **start,
			   long long *timeline, struct hp_err *err);
/* Free what the context holds (not the run). */
void hp_rotate_ctx_release(struct hp_rotate_ctx *c);

#endif
