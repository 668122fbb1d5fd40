#ifndef HP_REMOVE_H
#define HP_REMOVE_H
/*
 * Hosts marked remove: true leave the cluster (remove.c): Patroni first
 * (switched over from when it leads), then etcd, then HAProxy; nothing
 * deleted. apply runs it before the phases, and only with
 * --allow-remove when something is left to do; plan says each step.
 */
#include <stdbool.h>

#include <jansson.h>

#include "engine.h"

size_t hp_remove_count(const struct hp_inventory *inv);
int hp_remove_hosts(struct hp_run *run, struct hp_err *err);

/* The pure parts, for tests. The services running, from "NAME STATE"
 * lines (whole lines only): a mask of HP_ROLE_*. */
unsigned hp_remove_services_parse(const char *out);
/* Whether a /cluster answer lists member name, and whether it leads. */
bool hp_remove_is_member(const json_t *cluster, const char *name,
			 bool *leader);
/* Whom a leaving leader hands over to: the running sync standby that is
 * an inventory patroni host, else the first running replica of the
 * inventory; NULL: none. Borrowed from the inventory. */
const char *hp_remove_candidate(const struct hp_inventory *inv,
				const json_t *cluster);

#endif
