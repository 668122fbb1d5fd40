/*
 * haprov status, the part in front of PostgreSQL: does each pgbouncer
 * host's PgBouncer answer on its port, and does the virtual IP's primary
 * port (HAProxy, then PostgreSQL or PgBouncer behind it) answer? Neither
 * has a REST API and status logs in nowhere, so each is asked with the
 * PostgreSQL protocol's SSLRequest (pg_probe.h): a server of that
 * protocol answers it before any login. Which vip host holds the address
 * takes SSH (the vip phase's verify asks the hosts); status says whether
 * clients reach a server through it.
 */
#include <string.h>

#include "phases.h"
#include "status.h"

#define PROBE_MS 2000

static enum hp_pg_probe (*probe_fn)(const char *, int, int) = hp_pg_probe;

void hp_status_set_probe(enum hp_pg_probe (*probe)(const char *address,
						   int port, int timeout_ms))
{
	probe_fn = probe ? probe : hp_pg_probe;
}

/* {address, port, state} for address:port, and name when not NULL */
static json_t *probed(const char *name, const char *address, int port,
		      bool *healthy)
{
	enum hp_pg_probe p = probe_fn(address, port, PROBE_MS);
	json_t *o = json_object();

	if (name)
		json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "address", json_string(address));
	json_object_set_new(o, "port", json_integer(port));
	json_object_set_new(o, "state", json_string(hp_pg_probe_text(p)));
	if (p != HP_PG_ANSWERS)
		*healthy = false;
	return o;
}

void hp_status_front(json_t *doc, const struct hp_inventory *inv, bool *healthy)
{
	if (hp_inventory_count_role(inv, HP_ROLE_PGBOUNCER)) {
		json_t *arr = json_array();
		size_t i;

		for (i = 0; i < inv->nr_hosts; i++) {
			const struct hp_host *h = &inv->hosts[i];

			if (h->roles & HP_ROLE_PGBOUNCER)
				json_array_append_new(
					arr,
					probed(h->name, h->address,
					       inv->pgbouncer.port, healthy));
		}
		json_object_set_new(doc, "pgbouncer", arr);
	}
	if (hp_inventory_count_role(inv, HP_ROLE_VIP) && inv->vip.address) {
		char ip[64];

		hp_vip_ip(inv->vip.address, ip, sizeof(ip));
		json_object_set_new(
			doc, "vip",
			probed(NULL, ip, inv->haproxy.primary_port, healthy));
	}
}

/* " address:port state" of o */
static void format_probed(struct hp_buf *out, const json_t *o)
{
	struct hp_buf at = HP_BUF_INIT;

	hp_status_add_text(&at, o, "address");
	hp_buf_addch(&at, ':');
	hp_status_add_text(&at, o, "port");
	hp_buf_addf(out, " %-22s ", at.buf);
	hp_status_add_text(out, o, "state");
	hp_buf_release(&at);
}

void hp_status_format_front(struct hp_buf *out, const json_t *doc)
{
	const json_t *v;

	if (json_is_array(json_object_get(doc, "pgbouncer"))) {
		size_t i;

		hp_buf_adds(out, "\npgbouncer\n");
		json_array_foreach(json_object_get(doc, "pgbouncer"), i, v)
		{
			hp_buf_addch(out, ' ');
			hp_status_add_field(out, v, "name", 10);
			format_probed(out, v);
			hp_buf_addch(out, '\n');
		}
	}
	v = json_object_get(doc, "vip");
	if (json_is_object(v)) {
		hp_buf_adds(out,
			    "\nvip (the primary port, through HAProxy)\n ");
		format_probed(out, v);
		hp_buf_addch(out, '\n');
	}
}
