#ifndef HP_TEST_INVENTORY_FIXTURE_H
#define HP_TEST_INVENTORY_FIXTURE_H
/*
 * Loading an inventory from a string for the inventory tests: the result
 * code, the diagnostics, the inventory, and the diagnostics as printed for
 * "r.yml" (what a user sees). Include after cmocka.h.
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

#endif
