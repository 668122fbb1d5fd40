#ifndef HP_ENGINE_FIXTURE_H
#define HP_ENGINE_FIXTURE_H
/*
 * What the engine's tests share (test_engine.c, test_output.c,
 * test_pkg_ahead.c, test_prefetch.c): a run over an inventory of three
 * hosts, each host talking to a fake transport of its own (x->fake[i] for
 * x->run.hosts[i]). fx_new loads engine_inv_yaml (a, b and c, each with
 * roles etcd, patroni and haproxy); fx_new_inv loads the test's own three
 * hosts.
 *
 * Everything is static inline or a macro: each test file uses only some
 * of it. Include after <cmocka.h>.
 *
 * A test with a fixture of its own that wants only the inventory's text
 * (HP_ENGINE_INV, HP_ENGINE_INV_YAML) defines HP_ENGINE_FIXTURE_INV_ONLY
 * first:
 *
 *	#define HP_ENGINE_FIXTURE_INV_ONLY
 *	#include "engine_fixture.h"
 */

/*
 * An inventory's text: cluster t, the ssh line, top (more top-level keys,
 * each line ending in "\n"; "" for none), then hosts a, b and c
 * (10.0.0.1 to 10.0.0.3) with roles ra, rb and rc ("etcd, haproxy").
 */
#define HP_ENGINE_INV(top, ra, rb, rc)                                         \
	"cluster: {name: t}\n"                                                 \
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n" top        \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [" ra "]}\n"                  \
	"  - {name: b, address: 10.0.0.2, roles: [" rb "]}\n"                  \
	"  - {name: c, address: 10.0.0.3, roles: [" rc "]}\n"

#define HP_ENGINE_ALL_ROLES "etcd, patroni, haproxy"

/* engine_inv_yaml's text, with top as above: each host every role */
#define HP_ENGINE_INV_YAML(top)                                                \
	HP_ENGINE_INV(top, HP_ENGINE_ALL_ROLES, HP_ENGINE_ALL_ROLES,           \
		      HP_ENGINE_ALL_ROLES)

#ifndef HP_ENGINE_FIXTURE_INV_ONLY
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "engine.h"

static const char engine_inv_yaml[] = HP_ENGINE_INV_YAML("");

/*
 * FX_PKGS(name, list): a phase's packages function (struct hp_phase's
 * .packages) named name, giving the array list to every host.
 */
#define FX_PKGS(name, list)                                                    \
	static const char *const *name(const struct hp_run *r,                 \
				       const struct hp_host *h, size_t *nr)    \
	{                                                                      \
		(void)r;                                                       \
		(void)h;                                                       \
		*nr = HP_ARRAY_SIZE(list);                                     \
		return list;                                                   \
	}

struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake fake[3];
	struct hp_err err;
};

/* yaml: an inventory of exactly three hosts */
static inline struct fx *fx_new_inv(const char *yaml, bool plan)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	struct hp_run_opts o;
	size_t i;

	memset(&o, 0, sizeof(o));
	o.plan = plan;
	assert_int_equal(hp_inventory_load_string(&x->inv, yaml, strlen(yaml),
						  "/tmp/t.yml", &x->diags),
			 0);
	hp_run_init(&x->run, x->inv, &o);
	for (i = 0; i < 3; i++) {
		hp_fake_init(&x->fake[i]);
		hp_fake_transport(&x->fake[i], &x->run.hosts[i].tr,
				  x->inv->hosts[i].name);
	}
	hp_err_clear(&x->err);
	return x;
}

static inline struct fx *fx_new(bool plan)
{
	return fx_new_inv(engine_inv_yaml, plan);
}

static inline void fx_free(struct fx *x)
{
	size_t i;

	hp_run_release(&x->run);
	for (i = 0; i < 3; i++)
		hp_fake_release(&x->fake[i]);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x);
}

#endif /* HP_ENGINE_FIXTURE_INV_ONLY */
#endif
