/*
 * The pgbouncer hosts' files: pgbouncer.ini (reloaded on change), where it
 * listens (an included file: a change restarts PgBouncer) and the lookup
 * role's password (the auth file, root and postgres only). HAProxy's
 * servers going to PgBouncer's port is render.c's (build_servers).
 */
#include <string.h>

#include "render_priv.h"

#define PGB_DIR "/etc/pgbouncer"
#define PGB_LISTEN_PATH PGB_DIR "/haprov_listen.ini"

/* The databases PgBouncer serves (hp_inventory_pgb_databases), each an
 * entry of pgbouncer.ini's [databases]. */
static int pgb_databases(json_t *list, const struct hp_inventory *inv,
			 struct hp_err *err)
{
	struct hp_strlist dbs = { 0 };
	size_t i;
	int r = 0;

	hp_inventory_pgb_databases(inv, &dbs);
	for (i = 0; i < dbs.nr && r == 0; i++) {
		json_t *o;

		/* written unquoted as an ini key and a connection string
		 * value: the inventory allows [a-z0-9_] only */
		if ((r = hp_render_check_token(dbs.items[i], "database name",
					       err)) < 0)
			break;
		o = hp_render_jnn(json_object());
		hp_render_set_str(o, "name", dbs.items[i]);
		hp_render_set_int(o, "pg_port", inv->patroni.pg_port);
		json_array_append_new(list, o);
	}
	hp_strlist_clear(&dbs);
	return r;
}

static int pgbouncer_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_inventory *inv = in->inv;
	const struct hp_pgbouncer *p = &inv->pgbouncer;
	json_t *dbs = hp_render_jnn(json_array());
	int r;

	json_object_set_new(c, "databases", dbs);
	if ((r = hp_render_need(p->pool_mode, "pgbouncer.pool_mode", err)) <
		    0 ||
	    (r = hp_render_need(p->auth_user, "pgbouncer.auth_user", err)) <
		    0 ||
	    (r = hp_render_check_token(p->pool_mode, "pgbouncer.pool_mode",
				       err)) < 0 ||
	    (r = hp_render_check_token(p->auth_user, "pgbouncer.auth_user",
				       err)) < 0)
		return r;
	hp_render_set_str(c, "cluster", inv->cluster);
	hp_render_set_str(c, "host", in->host->name);
	hp_render_set_str(c, "listen_file", PGB_LISTEN_PATH);
	hp_render_set_str(c, "userlist", HP_PGB_USERLIST_PATH);
	hp_render_set_str(c, "auth_user", p->auth_user);
	hp_render_set_str(c, "pool_mode", p->pool_mode);
	hp_render_set_int(c, "default_pool_size", p->default_pool_size);
	hp_render_set_int(c, "max_client_conn", p->max_client_conn);
	if (inv->tls.enabled) {
		json_t *t = hp_render_jnn(json_object());

		hp_render_set_str(t, "dir", HP_TLS_PATRONI_DIR);
		json_object_set_new(c, "tls", t);
	} else {
		json_object_set_new(c, "tls", json_false());
	}
	return pgb_databases(dbs, inv, err);
}

static int listen_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	(void)err;
	hp_render_set_str(c, "address", in->host->address);
	hp_render_set_int(c, "port", in->inv->pgbouncer.port);
	return 0;
}

/* A password written between double quotes in PgBouncer's auth file: the
 * store's are letters and digits; refuse anything that could end the
 * field or the line. */
static bool userlist_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] == '"' || (unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return i > 0;
}

static int userlist_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_render_secrets *sec = in->secrets;
	int r;

	if ((r = hp_render_check_token(in->inv->pgbouncer.auth_user,
				       "pgbouncer.auth_user", err)) < 0)
		return r;
	hp_render_set_str(c, "auth_user", in->inv->pgbouncer.auth_user);
	if (!sec) {
		hp_render_set_str(c, "password", "<secret:" HP_PGB_SECRET ">");
		return 0;
	}
	if (!sec->pgbouncer_auth)
		return hp_err_set(err, HP_EINVALID,
				  "PgBouncer's lookup password (secret "
				  HP_PGB_SECRET ") is missing");
	if (!userlist_ok(sec->pgbouncer_auth))
		return hp_err_set(err, HP_EINVALID,
				  "PgBouncer's lookup password (secret "
				  HP_PGB_SECRET ") holds a double quote or a "
				  "control character");
	hp_render_set_str(c, "password", sec->pgbouncer_auth);
	return 0;
}

const struct file_spec hp_render_pgb_specs[HP_RENDER_NR_PGB] = {
	{.role = HP_ROLE_PGBOUNCER,
	 .path = HP_PGB_USERLIST_PATH,
	 .template = "pgbouncer-userlist.txt",
	 .mode = 0600,
	 .owner = "postgres",
	 .group = "postgres",
	 .secret = true,
	 .services = "pgbouncer",
	 .reload = true,
	 .ctx = userlist_ctx},
	{.role = HP_ROLE_PGBOUNCER,
	 .path = PGB_LISTEN_PATH,
	 .template = "pgbouncer-listen.ini",
	 .mode = 0640,
	 .owner = "postgres",
	 .group = "postgres",
	 .services = "pgbouncer",
	 .ctx = listen_ctx},
	{.role = HP_ROLE_PGBOUNCER,
	 .path = PGB_DIR "/pgbouncer.ini",
	 .template = "pgbouncer.ini",
	 .mode = 0640,
	 .owner = "postgres",
	 .group = "postgres",
	 .services = "pgbouncer",
	 .reload = true,
	 .ctx = pgbouncer_ctx},
};
