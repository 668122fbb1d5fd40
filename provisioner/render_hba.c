/*
 * pg_hba and pg_ident lines for config.yml (render_priv.h).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "render_priv.h"

/* A role name in pg_hba: bare, or quoted when it is a keyword. */
static int hba_role(struct hp_buf *b, const char *name, const char *what,
		    struct hp_err *err)
{
	static const char *const keywords[] = {"all", "sameuser", "samerole",
					       "samegroup", "replication"};
	size_t i;

	if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
			      strlen(name))
		return hp_err_set(err, HP_EINVALID,
				  "%s '%s': haprov writes role names of "
				  "[a-z0-9_] only into pg_hba",
				  what, name);
	for (i = 0; i < HP_ARRAY_SIZE(keywords); i++)
		if (!strcmp(name, keywords[i]))
			return hp_buf_addf(b, "\"%s\"", name);
	return hp_buf_adds(b, name);
}

static void add_hba(json_t *list, const char *fmt, ...) HP_PRINTF(2, 3);
static void add_hba(json_t *list, const char *fmt, ...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	json_array_append_new(list, hp_render_yaml_json(b.buf));
	hp_buf_release(&b);
}

int hp_render_pg_hba(json_t *list, json_t *ident,
		     const struct hp_inventory *inv, bool ipv6,
		     struct hp_err *err)
{
	const struct hp_patroni *p = &inv->patroni;
	const struct hp_strlist *nets = &p->allowed_networks;
	static const char *const loopback[] = {"127.0.0.1/32", "::1/128"};
	struct hp_buf repl = HP_BUF_INIT, su = HP_BUF_INIT;
	size_t i, nr_loop = ipv6 ? 2 : 1;
	const char *net = inv->tls.enabled ? "hostssl" : "host";
	int r;

	if ((r = hba_role(&repl, inv->secrets.replication,
			  "secrets.replication", err)) < 0 ||
	    (r = hba_role(&su, inv->secrets.superuser, "secrets.superuser",
			  err)) < 0)
		goto out;
	if (!nets->nr) {
		r = hp_err_set(err, HP_EINVALID,
			       "patroni.allowed_networks is empty: the "
			       "members could not replicate");
		goto out;
	}
	for (i = 0; i < nets->nr; i++) {
		const char *n = nets->items[i];

		if (!*n || strcspn(n, " \t\"#,") != strlen(n) ||
		    hp_render_has_ctrl(n)) {
			r = hp_err_set(err, HP_EINVALID,
				       "patroni.allowed_networks[%zu] '%s' is "
				       "not an address or network",
				       i, n);
			goto out;
		}
	}

	/*
	 * On the socket, the OS user postgres (what patroni.service and
	 * `runuser -u postgres -- psql -U <superuser>` run as) logs in as the
	 * superuser without a password, whatever the superuser is named:
	 * Patroni's initdb creates only that role (--username), so with
	 * secrets.superuser: dba there is no role "postgres" at all.
	 */
	add_hba(list, "local all %s peer map=" HP_RENDER_SUPER_MAP, su.buf);
	if (ident)
		add_hba(ident, HP_RENDER_SUPER_MAP " postgres %s", su.buf);
	add_hba(list, "local all all scram-sha-256");
	for (i = 0; i < nr_loop; i++)
		add_hba(list, "host replication %s %s scram-sha-256", repl.buf,
			loopback[i]);
	/* network lines: hostssl when tls is on (loopback stays host) */
	for (i = 0; i < nets->nr; i++)
		add_hba(list, "%s replication %s %s scram-sha-256", net,
			repl.buf, nets->items[i]);
	for (i = 0; i < nr_loop; i++)
		add_hba(list, "host all all %s scram-sha-256", loopback[i]);
	for (i = 0; i < nets->nr; i++)
		add_hba(list, "%s all all %s scram-sha-256", net,
			nets->items[i]);
	for (i = 0; i < p->pg_hba.nr; i++) {
		/* Patroni writes one list item per line */
		if (hp_render_has_ctrl(p->pg_hba.items[i])) {
			r = hp_err_set(err, HP_EINVALID,
				       "patroni.pg_hba[%zu] contains a control "
				       "character",
				       i);
			goto out;
		}
		json_array_append_new(list,
				      hp_render_yaml_json(p->pg_hba.items[i]));
	}
out:
	hp_buf_release(&repl);
	hp_buf_release(&su);
	return r;
}
