#ifndef HP_ENGINE_FIXTURE_H
#define HP_ENGINE_FIXTURE_H
/*
 * What the engine's tests share (test_engine.c, test_output.c,
 * test_prefetch.c): a run over an inventory of three hosts, each host
 * talking to a fake transport of its own (x->fake[i] for x->run.hosts[i]).
 * fx_new loads engine_inv_yaml (a, b and c, each with roles etcd, patroni
 * and haproxy); fx_new_inv loads the test's own three hosts.
 *
 * Everything is static inline: each test file uses only some of it.
 * Include after <cmocka.h>.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fake_transport.h"
#include "engine.h"

static const char engine_inv_yaml[] =
	"cluster: {name: t}\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n";

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

#endif
