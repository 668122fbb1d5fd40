#ifndef HP_BOOTSTRAP_PRIV_H
#define HP_BOOTSTRAP_PRIV_H
/*
 * What bootstrap.c (the run's secrets: loading, generating, the render
 * view, pins) and secret_holders.c (which hosts hold which secret's file,
 * and whether a missing secret may be generated) share. Not an API: only
 * those two include this.
 */
#include <stdbool.h>

#include "bootstrap.h"

/* who holds a secret on the hosts, which decides when it may be made (a
 * row each in secret_holders.c's table) */
enum holder { HOLD_PATRONI, HOLD_HAPROXY, HOLD_VIP, HOLD_PGBOUNCER, HOLD_NR };

/* The holder of secret id (bootstrap.c's table of the secrets). */
enum holder hp_secret_holder(enum hp_secret_id id);

/*
 * missing[i]: secret i is not in the store. Gather the evidence
 * (state_commits from the caller; GET /cluster through the run's REST
 * seam; one command on each connected host) and refuse unless every
 * missing secret may be generated (hp_secret_may_generate): the error
 * names the store and the secrets and says how to restore them. 0: all
 * may be generated. The hosts must be connected.
 */
int hp_secrets_check_missing(struct hp_run *run, const bool *missing,
			     bool state_commits, struct hp_err *err);

#endif
