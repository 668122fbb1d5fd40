#ifndef HP_ROTATE_CA_PRIV_H
#define HP_ROTATE_CA_PRIV_H
/* Shared by rotate_ca_pickup.c, patroni_cert.c and
 * provisioner/cmd_rotate_ca.c. */
#include <stdbool.h>

#include "engine.h"
#include "rotate_ca.h"

/* etcd's answer to the staleness probe ("fresh"/"stale"). */
int hp_ca_etcd_stale(const char *out, bool *stale);
/* Patroni's REST probe: "served" (already), "reloaded" (after a reload)
 * give 0 and *reloaded; anything else ("other", nothing) HP_EVERIFY. */
int hp_ca_patroni_served(const char *out, bool *reloaded);
/* Every consumer picks up the stage's files (rotate_ca_pickup.c). */
int hp_ca_pickup(struct hp_run *run, struct hp_err *err);
/* haprov rotate INV --ca on a connected run (cmd_rotate_ca.c). */
int hp_cmd_rotate_ca(struct hp_run *run, struct hp_err *err);

#endif
