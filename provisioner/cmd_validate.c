/*
 * haprov validate: offline. Parse and check the inventory (the dispatcher
 * has done that and printed every diagnostic), render every host's files
 * to prove the templates accept it, and optionally print the effective
 * inventory or write the rendered files out. No SSH, no secrets: rendered
 * files show "<secret:NAME>" placeholders.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "render.h"
#include "tls_material.h"

static int write_rendered(const char *dir, const struct hp_host *host,
			  const struct hp_rendered *rd, struct hp_err *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < rd->nr && r == 0; i++) {
		const struct hp_rendered_file *f = &rd->files[i];
		char *path = xasprintf("%s/%s%s", dir, host->name, f->path);
		char *slash = strrchr(path, '/');

		*slash = '\0';
		r = hp_mkdir_p(path, 0755, err);
		*slash = '/';
		if (r == 0)
			r = hp_write_file_atomic(path, f->content, f->len,
						 f->secret ? 0600 : 0644, err);
		free(path);
	}
	return r;
}

int hp_cmd_validate(struct hp_cmd_ctx *ctx)
{
	const struct hp_inventory *inv = ctx->inv;
	const char *dir = hp_cmd_opt(ctx, "render");
	struct hp_err err;
	size_t i, nfiles = 0, nvip;
	json_t *dcs = NULL;
	struct hp_render_cache *cache;
	int rc = HP_EXIT_OK;

	hp_err_clear(&err);
	if (hp_render_dcs_json(&dcs, inv, &err) < 0) {
		fprintf(stderr, "%s: %s\n", ctx->argv[0], err.msg);
		return HP_EXIT_INVALID;
	}
	json_decref(dcs);
	/* supplied certificates and keys: a bad one stops here, offline */
	if (hp_tls_material_check_supplied(inv, time(NULL), &err) < 0) {
		fprintf(stderr, "%s: %s\n", ctx->argv[0], err.msg);
		return HP_EXIT_INVALID;
	}
	/* what the hosts' files share is built once: linear in the hosts */
	cache = hp_render_cache_new(inv, NULL);
	for (i = 0; i < inv->nr_hosts && rc == HP_EXIT_OK; i++) {
		struct hp_rendered rd = HP_RENDERED_INIT;
		int r = hp_render_host_cached(&rd, cache, &inv->hosts[i], &err);

		if (r == 0 && dir)
			r = write_rendered(dir, &inv->hosts[i], &rd, &err);
		nfiles += rd.nr;
		hp_rendered_release(&rd);
		if (r < 0) {
			fprintf(stderr, "%s: host %s: %s\n", ctx->argv[0],
				inv->hosts[i].name, err.msg);
			rc = r == HP_EINVALID ? HP_EXIT_INVALID : HP_EXIT_ERROR;
		}
	}
	hp_render_cache_free(cache);
	if (rc != HP_EXIT_OK)
		return rc;
	if (hp_cmd_flag(ctx, "print")) {
		hp_inventory_print(inv, stdout);
		return HP_EXIT_OK;
	}
	nvip = hp_inventory_count_role(inv, HP_ROLE_VIP);
	printf("%s: valid: cluster %s, %zu host%s, %zu etcd, %zu patroni, "
	       "%zu haproxy%s; %zu files rendered%s%s\n",
	       ctx->argv[0], inv->cluster, inv->nr_hosts,
	       inv->nr_hosts == 1 ? "" : "s",
	       hp_inventory_count_role(inv, HP_ROLE_ETCD),
	       hp_inventory_count_role(inv, HP_ROLE_PATRONI),
	       hp_inventory_count_role(inv, HP_ROLE_HAPROXY),
	       nvip ? ", with a virtual IP" : "", nfiles, dir ? " to " : "",
	       dir ? dir : "");
	return HP_EXIT_OK;
}
