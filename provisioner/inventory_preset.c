/*
 * patroni.dcs.preset: a named set of values for keys the operator did
 * not write. The defaults (inventory_defaults.c) ask here before their
 * own value, so a preset is applied before the derived defaults
 * (validation.soak_s from loop_wait) and before the timing rule, which
 * judges the result; a key written in the file always wins.
 *
 * "fast" was measured on the lab with `haprov drill --kind crash --count
 * 10` (Patroni 3.0.2, etcd 3.4, synchronous_mode; README.md, Day-2
 * operations): a crashed leader's clients were served again after a
 * median 9.36 s (8.73-10.11 s) against 32.67 s with the defaults; ttl 8 /
 * loop_wait 2 gave 10.77 s, ttl 10 / retry_timeout 4 11.6-12.8 s. It
 * keeps Patroni's rule with equality: loop_wait + 2 * retry_timeout =
 * 1 + 6 = 7 = ttl.
 */
#include <string.h>

#include "inventory.h"
#include "inventory_priv.h"

/* Every value of the fast preset: change it here and nowhere else. The
 * comments give the plain defaults (inventory_defaults.c). */
static const struct hp_inv_preset_value fast_values[] = {
	{"patroni.dcs.ttl", 7},		  /* 30 */
	{"patroni.dcs.loop_wait", 1},	  /* 10 */
	{"patroni.dcs.retry_timeout", 3}, /* 10 */
	{"haproxy.check.inter_ms", 500},  /* 1000 */
	{"haproxy.check.fall", 2},	  /* 2 */
	{"haproxy.check.rise", 1},	  /* 1 */
};

static const struct {
	const char *name;
	const struct hp_inv_preset_value *values;
	size_t nr;
} presets[] = {
	{"default", NULL, 0},
	{"fast", fast_values, HP_ARRAY_SIZE(fast_values)},
};

bool hp_inv_valid_preset(const char *s)
{
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(presets); i++)
		if (!strcmp(s, presets[i].name))
			return true;
	return false;
}

const struct hp_inv_preset_value *hp_inv_preset_values(const char *preset,
						       size_t *nr)
{
	size_t i;

	*nr = 0;
	for (i = 0; preset && i < HP_ARRAY_SIZE(presets); i++) {
		if (!strcmp(preset, presets[i].name)) {
			*nr = presets[i].nr;
			return presets[i].values;
		}
	}
	return NULL;
}

bool hp_inv_preset_value(const char *preset, const char *key, int *value)
{
	size_t nr, i;
	const struct hp_inv_preset_value *v = hp_inv_preset_values(preset, &nr);

	for (i = 0; i < nr; i++) {
		if (!strcmp(v[i].key, key)) {
			*value = v[i].value;
			return true;
		}
	}
	return false;
}

/*
 * "; ttl and retry_timeout come from preset fast": which of keys (full
 * paths) the preset filled, for a message about their values; nothing
 * when it filled none.
 */
void hp_inv_preset_note(const struct hp_inv_loader *ld, const char *const *keys,
			size_t n, struct hp_buf *b)
{
	const char *preset = ld->inv->patroni.dcs.preset;
	const char *filled[8];
	size_t nr = 0, i;
	int v;

	for (i = 0; i < n && nr < HP_ARRAY_SIZE(filled); i++) {
		const char *dot = strrchr(keys[i], '.');

		if (!hp_inv_was_set(ld, keys[i]) &&
		    hp_inv_preset_value(preset, keys[i], &v))
			filled[nr++] = dot ? dot + 1 : keys[i];
	}
	for (i = 0; i < nr; i++)
		hp_buf_addf(b, "%s%s",
			    i == 0	  ? "; "
			    : i + 1 == nr ? " and "
					  : ", ",
			    filled[i]);
	if (nr)
		hp_buf_addf(b, " come%s from preset %s", nr == 1 ? "s" : "",
			    preset);
}
