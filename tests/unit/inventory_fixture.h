#ifndef HP_TEST_INVENTORY_FIXTURE_H
#define HP_TEST_INVENTORY_FIXTURE_H
/*
 * Loading an inventory from a string for the inventory tests: the result
 * code, the diagnostics, the inventory, and the diagnostics as printed for
 * "r.yml" (what a user sees), and the checks that a load passes or is
 * refused. Everything is static inline: each test file uses only some of
 * it. Include after cmocka.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"

struct result {
	int r;
	struct hp_diags d;
	struct hp_inventory *inv;
	char *out;
};

static inline void load(struct result *res, const char *yaml)
{
	size_t n = 0;
	FILE *f;

	memset(res, 0, sizeof(*res));
	res->r = hp_inventory_load_string(&res->inv, yaml, strlen(yaml),
					  "/r/r.yml", &res->d);
	f = open_memstream(&res->out, &n);
	assert_non_null(f);
	hp_diags_print(&res->d, "r.yml", f);
	fclose(f);
}

static inline void result_release(struct result *res)
{
	hp_inventory_free(res->inv);
	hp_diags_release(&res->d);
	free(res->out);
}

/* yaml loads without a word; else show what was said */
static inline struct hp_inventory *loads(struct result *res, const char *yaml)
{
	load(res, yaml);
	if (res->r != 0 || res->d.nr)
		fprintf(stderr, "%s---\n%s", yaml, res->out);
	assert_int_equal(res->r, 0);
	assert_int_equal(res->d.nr, 0);
	return res->inv;
}

/* yaml is refused, and the messages hold each of want (NULL-ended) */
static inline void refused_each(const char *yaml, const char *const *want)
{
	struct result res;

	load(&res, yaml);
	if (res.r != HP_EINVALID)
		fprintf(stderr, "%s---\n%s", yaml, res.out);
	assert_int_equal(res.r, HP_EINVALID);
	for (; *want; want++) {
		if (!strstr(res.out, *want))
			fprintf(stderr, "want: %s\nhave:\n%s", *want, res.out);
		assert_non_null(strstr(res.out, *want));
	}
	result_release(&res);
}

/* yaml is refused, and the messages hold want */
static inline void refused_with(const char *yaml, const char *want)
{
	refused_each(yaml, (const char *const[]){want, NULL});
}

#endif
