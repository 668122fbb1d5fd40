/*
 * The pgbouncer section and role: PgBouncer runs beside PostgreSQL, so a
 * pgbouncer host is a patroni host; its auth_user is a role of its own
 * (PgBouncer logs in as it to look passwords up), never one of the roles
 * Patroni or the applications use. Its port's collisions are the port
 * check's (inventory_check.c).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "inventory_priv.h"

void hp_inv_check_pgbouncer(struct hp_inventory *inv,
			    struct hp_inv_loader *ld)
{
	const struct hp_secrets *s = &inv->secrets;
	const char *au = inv->pgbouncer.auth_user;
	const char *taken = NULL;
	size_t i;

	if (hp_inv_is_bad(ld, "hosts"))
		return;
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		char *p;

		if (!(h->roles & HP_ROLE_PGBOUNCER) ||
		    (h->roles & HP_ROLE_PATRONI))
			continue;
		p = xasprintf("hosts[%zu].roles", i);
		hp_inv_diag_key(ld, p,
			"host %s has role pgbouncer without role patroni: "
			"PgBouncer pools the connections to the PostgreSQL on "
			"its own host (add patroni, or drop pgbouncer)",
			h->name);
		free(p);
	}
	if (!au || hp_inv_is_bad(ld, "pgbouncer.auth_user"))
		return;
	if ((s->superuser && !strcmp(au, s->superuser)) ||
	    (s->replication && !strcmp(au, s->replication)) ||
	    (s->rewind && !strcmp(au, s->rewind)) ||
	    (s->restapi_user && !strcmp(au, s->restapi_user)))
		taken = "a role Patroni uses";
	for (i = 0; !taken && i < s->nr_roles; i++)
		if (s->roles[i].name && !strcmp(au, s->roles[i].name))
			taken = "an application role of secrets.roles";
	if (taken)
		hp_inv_diag_key(ld,
			hp_inv_mark_get(ld, "pgbouncer.auth_user")
				? "pgbouncer.auth_user"
				: "pgbouncer",
			"pgbouncer.auth_user %s is %s: PgBouncer's lookup role "
			"must be a role of its own (it may read other roles' "
			"password verifiers)",
			au, taken);
}

void hp_inventory_pgb_databases(const struct hp_inventory *inv,
				struct hp_strlist *out)
{
	size_t i, j;

	/* its own: auth_query and the verification log in to it */
	if (!hp_strlist_has(out, "postgres"))
		hp_strlist_add(out, "postgres");
	for (i = 0; i < inv->secrets.nr_roles; i++)
		for (j = 0; j < inv->secrets.roles[i].databases.nr; j++) {
			const char *d = inv->secrets.roles[i].databases.items[j];

			if (!hp_strlist_has(out, d))
				hp_strlist_add(out, d);
		}
}
