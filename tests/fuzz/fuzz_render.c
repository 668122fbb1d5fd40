/*
 * libFuzzer target: the renderer on whatever inventory the loader
 * accepts. Every host's files (hp_render_host), the DCS document
 * (hp_render_dcs_json) and the WAL path, with placeholder secrets (or
 * none, which renders "<secret:NAME>"). A file marked secret is the only
 * place a password may appear.
 */
#include "fuzz.h"

#include "render.h"

/* Recognisable, so that a leak into a non-secret file can be seen. */
static const struct hp_render_secrets secrets = {
	.superuser = "FUZZ-SECRET-superuser",
	.replication = "FUZZ-SECRET-replication",
	.rewind = "FUZZ-SECRET-rewind",
	.restapi = "FUZZ-SECRET-restapi",
	.haproxy_stats = "FUZZ-SECRET-haproxy-stats",
};

static void check_files(const struct hp_rendered *out, bool with_secrets)
{
	size_t i;

	for (i = 0; i < out->nr; i++) {
		const struct hp_rendered_file *f = &out->files[i];

		if (!f->path || f->path[0] != '/' || !f->content) {
			FUZZ_CHECK("render-file", false,
				   "rendered file %zu has no absolute path or "
				   "content",
				   i);
			continue;
		}
		FUZZ_CHECK("render-file", strlen(f->content) == f->len,
			   "'%s': len %zu but a NUL at %zu", f->path, f->len,
			   strlen(f->content));
		FUZZ_CHECK(
			"render-secret",
			!with_secrets || f->secret ||
				!memmem(f->content, f->len, "FUZZ-SECRET-", 12),
			"a password in '%s', which is not marked secret",
			f->path);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hp_inventory *inv = NULL;
	struct hp_diags diags;
	json_t *dcs = NULL;
	char *wal;
	size_t i;

	memset(&diags, 0, sizeof(diags));
	if (hp_inventory_load_string(&inv, (const char *)data, size,
				     "/fuzz/inventory.yml", &diags) < 0)
		goto out;
	for (i = 0; i < inv->nr_hosts; i++) {
		struct hp_rendered out = HP_RENDERED_INIT;
		struct hp_err err;
		/* both forms, chosen by the input so runs are repeatable;
		 * an input that holds the marker itself proves nothing */
		bool with = (i + size) % 2 == 0 &&
			    !memmem(data, size, "FUZZ-SECRET-", 12);

		hp_err_clear(&err);
		if (hp_render_host(&out, inv, &inv->hosts[i],
				   with ? &secrets : NULL, &err) == 0)
			check_files(&out, with);
		else
			FUZZ_CHECK("render-error", err.msg[0],
				   "render failed without a message");
		hp_rendered_release(&out);
	}
	{
		struct hp_err err;

		hp_err_clear(&err);
		if (hp_render_dcs_json(&dcs, inv, &err) == 0)
			FUZZ_CHECK("render-dcs", json_is_object(dcs),
				   "the DCS document is not an object");
	}
	wal = hp_render_wal_path(inv);
	free(wal);
out:
	json_decref(dcs);
	hp_inventory_free(inv);
	hp_diags_release(&diags);
	return 0;
}
