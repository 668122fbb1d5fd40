/*
 * Patroni's dynamic configuration as haprov wants it (render.h:
 * hp_render_dcs_json), and where PostgreSQL's WAL lives.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "render_priv.h"

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

json_t *hp_render_param_value(const char *text, bool quoted)
{
	const char *p = text;

	if (!quoted) {
		if (*p == '-')
			p++;
		/* a decimal integer without leading zeros */
		if (is_digit(*p) && strspn(p, "0123456789") == strlen(p) &&
		    (p[0] != '0' || !p[1])) {
			char *end;
			long long v;

			errno = 0;
			v = strtoll(text, &end, 10);
			if (errno == 0 && *end == '\0')
				return hp_render_jnn(json_integer(v));
		}
	}
	/* NULL when text is not UTF-8 */
	return json_string(text);
}

/* Set a parameter, with a message when its name or value is not UTF-8
 * (JSON cannot carry it). */
int hp_render_set_param(json_t *params, const char *key, json_t *v,
			const char *where, struct hp_err *err)
{
	if (!v || json_object_set_new(params, key, v) < 0)
		return hp_err_set(err, HP_EINVALID,
				  "%s.%s: parameter name or value is not "
				  "valid UTF-8",
				  where, key);
	return 0;
}

/* Append each comma-separated library of list to libs, once. */
static void add_libs(struct hp_strlist *libs, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *b = p, *e = p + n;
		char *lib;
		size_t i;

		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		p += n + (p[n] == ',');
		if (b == e)
			continue;
		lib = xstrndup(b, (size_t)(e - b));
		for (i = 0; i < libs->nr; i++)
			if (!strcmp(libs->items[i], lib))
				break;
		if (i < libs->nr) {
			free(lib);
			continue;
		}
		HP_ALLOC_GROW(libs->items, libs->nr + 1, libs->alloc);
		libs->items[libs->nr++] = lib;
	}
}

/* shared_preload_libraries: the DCS parameter's list, then the
 * extensions', once each. */
static int set_preload(json_t *params, const struct hp_inventory *inv,
		       struct hp_err *err)
{
	const struct hp_strlist *ext =
		&inv->extensions.shared_preload_libraries;
	const json_t *cur = json_object_get(params, "shared_preload_libraries");
	struct hp_strlist libs = {NULL, 0, 0};
	struct hp_buf b = HP_BUF_INIT;
	size_t i;
	int r;

	if (!ext->nr)
		return 0;
	if (json_is_string(cur))
		add_libs(&libs, json_string_value(cur));
	for (i = 0; i < ext->nr; i++)
		add_libs(&libs, ext->items[i]);
	for (i = 0; i < libs.nr; i++) {
		hp_buf_addf(&b, "%s%s", i ? "," : "", libs.items[i]);
		free(libs.items[i]);
	}
	free(libs.items);
	r = hp_render_set_param(params, "shared_preload_libraries",
				json_string(b.buf), "extensions", err);
	hp_buf_release(&b);
	return r;
}

int hp_render_dcs_json(json_t **out, const struct hp_inventory *inv,
		       struct hp_err *err)
{
	const struct hp_dcs *d = &inv->patroni.dcs;
	const struct hp_tuning *t = &inv->tuning;
	const struct {
		const char *name, *value;
	} tuning[] = {
		{"checkpoint_timeout", t->checkpoint_timeout},
		{"checkpoint_completion_target",
		 t->checkpoint_completion_target},
		{"max_wal_size", t->max_wal_size},
		{"min_wal_size", t->min_wal_size},
		{"wal_buffers", t->wal_buffers},
		{"wal_compression", t->wal_compression},
	};
	json_t *dcs = NULL, *pg, *params = hp_render_jnn(json_object());
	size_t i;
	int r = 0;

	*out = NULL;
	if ((long long)d->loop_wait + 2LL * d->retry_timeout > d->ttl) {
		r = hp_err_set(err, HP_EINVALID,
			       "patroni.dcs: loop_wait + 2 * retry_timeout "
			       "(%d + 2 * %d) must not exceed ttl (%d): "
			       "Patroni accepts it, then loses its leader "
			       "key with no fault",
			       d->loop_wait, d->retry_timeout, d->ttl);
		goto out;
	}

	/* what replication, slots and pg_rewind need */
	json_object_set_new(params, "wal_level",
			    hp_render_jnn(json_string("replica")));
	json_object_set_new(params, "hot_standby",
			    hp_render_jnn(json_string("on")));
	json_object_set_new(params, "max_wal_senders",
			    hp_render_jnn(json_integer(10)));
	json_object_set_new(params, "max_replication_slots",
			    hp_render_jnn(json_integer(10)));
	json_object_set_new(params, "wal_log_hints",
			    hp_render_jnn(json_string("on")));

	for (i = 0; i < d->parameters.nr; i++) {
		const struct hp_kv *kv = &d->parameters.items[i];

		r = hp_render_set_param(
			params, kv->key,
			hp_render_param_value(kv->value, kv->quoted),
			"patroni.dcs.parameters", err);
		if (r < 0)
			goto out;
	}
	for (i = 0; i < HP_ARRAY_SIZE(tuning); i++) {
		if (!tuning[i].value)
			continue;
		if (hp_kvlist_get(&d->parameters, tuning[i].name)) {
			r = hp_err_set(err, HP_EINVALID,
				       "%s is set both in tuning and in "
				       "patroni.dcs.parameters: set it in one "
				       "place",
				       tuning[i].name);
			goto out;
		}
		r = hp_render_set_param(
			params, tuning[i].name,
			hp_render_param_value(tuning[i].value, false), "tuning",
			err);
		if (r < 0)
			goto out;
	}
	if ((r = set_preload(params, inv, err)) < 0)
		goto out;

	pg = hp_render_jnn(json_object());
	json_object_set_new(pg, "use_pg_rewind",
			    hp_render_jnn(json_boolean(d->use_pg_rewind)));
	json_object_set_new(pg, "use_slots",
			    hp_render_jnn(json_boolean(d->use_slots)));
	json_object_set_new(pg, "parameters", params);
	params = NULL;

	dcs = hp_render_jnn(json_object());
	json_object_set_new(dcs, "ttl", hp_render_jnn(json_integer(d->ttl)));
	json_object_set_new(dcs, "loop_wait",
			    hp_render_jnn(json_integer(d->loop_wait)));
	json_object_set_new(dcs, "retry_timeout",
			    hp_render_jnn(json_integer(d->retry_timeout)));
	json_object_set_new(
		dcs, "maximum_lag_on_failover",
		hp_render_jnn(json_integer(d->maximum_lag_on_failover)));
	json_object_set_new(dcs, "synchronous_mode",
			    hp_render_jnn(json_boolean(d->synchronous_mode)));
	json_object_set_new(dcs, "postgresql", pg);
	*out = dcs;
out:
	json_decref(params);
	return r;
}

char *hp_render_wal_path(const struct hp_inventory *inv)
{
	const char *d = inv->tuning.wal_dir;
	size_t n;

	if (!d)
		return NULL;
	n = strlen(d);
	while (n > 0 && d[n - 1] == '/')
		n--;
	return xasprintf("%.*s/pg_wal", (int)n, d);
}
