/*
 * libFuzzer target: the inventory loader and its checks
 * (hp_inventory_load_string: libyaml, the typed walk, validation,
 * defaults), then the printers of what it returns. Any input must give an
 * inventory or diagnostics, never both missing, never a crash.
 */
#include "fuzz.h"

#include "inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hp_inventory *inv = NULL;
	struct hp_diags diags;
	FILE *null;
	int r;

	memset(&diags, 0, sizeof(diags));
	r = hp_inventory_load_string(&inv, (const char *)data, size,
				     "/fuzz/inventory.yml", &diags);
	FUZZ_CHECK("load-result", (r == 0) == (inv != NULL),
		   "load returned %d and %s inventory", r, inv ? "an" : "no");
	FUZZ_CHECK("load-diagnostics", r != HP_EINVALID || diags.nr_errors,
		   "HP_EINVALID without a diagnostic");
	FUZZ_CHECK("load-diagnostics", r != 0 || !diags.nr_errors,
		   "an inventory despite %zu errors", diags.nr_errors);
	null = fopen("/dev/null", "w");
	if (!null)
		abort();
	hp_diags_print(&diags, "/fuzz/inventory.yml", null);
	if (inv)
		hp_inventory_print(inv, null);
	fclose(null);
	hp_inventory_free(inv);
	hp_diags_release(&diags);
	return 0;
}
