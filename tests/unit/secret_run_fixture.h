#ifndef HP_SECRET_RUN_FIXTURE_H
#define HP_SECRET_RUN_FIXTURE_H
/*
 * A run over three hosts (a, b: etcd+patroni; c: etcd+haproxy) with fake
 * transports and a fake REST server, and a secret store under tmpdir, for
 * the tests of bootstrap.c (test_secret_store.c, test_secret_pins.c).
 * Include after tmpdir_fixture.h, fake_transport.h, fake_rest.h and
 * bootstrap.h.
 */
/* Extra keys of the inventory's secrets map (", roles: [...]"), for the
 * test that sets them before fx_new. */
static const char *fx_secrets_extra = "";
/* true: host c also has role vip (and the inventory a vip section) */
static bool fx_vip = false;
/* true: hosts a and b also have role pgbouncer */
static bool fx_pgb = false;

/* A run over three hosts with fake transports and a fake REST server. */
struct fx {
	struct hp_inventory *inv;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_fake fake[3];
	struct hp_fake_rest rest;
	struct hp_err err;
	char *store;
};

static struct fx *fx_new(const char *name, bool plan, const char *hosts)
{
	struct fx *x = xcalloc(1, sizeof(*x));
	char *yaml, *invpath = xasprintf("%s/%s.yml", tmpdir, name);
	struct hp_run_opts o;
	size_t i;

	x->store = xasprintf("%s/%s.store", tmpdir, name);
	yaml = xasprintf("cluster: {name: %s}\n"
			 "ssh: {identity_file: /dev/null, known_hosts: "
			 "/dev/null}\n"
			 "secrets: {store: %s%s}\n"
			 "hosts:\n"
			 "  - {name: a, address: 10.0.0.1, roles: [etcd, "
			 "patroni%s]}\n"
			 "  - {name: b, address: 10.0.0.2, roles: [etcd, "
			 "patroni%s]}\n"
			 "  - {name: c, address: 10.0.0.3, roles: [etcd, "
			 "haproxy%s]}\n%s",
			 name, x->store, fx_secrets_extra,
			 fx_pgb ? ", pgbouncer" : "", fx_pgb ? ", pgbouncer" : "",
			 fx_vip ? ", vip" : "",
			 fx_vip ? "vip: {address: 10.0.0.100/24, interface: "
				  "eth0, router_id: 7}\n"
				: "");
	memset(&o, 0, sizeof(o));
	o.plan = plan;
	o.hosts = hosts;
	assert_int_equal(hp_inventory_load_string(&x->inv, yaml, strlen(yaml),
						  invpath, &x->diags),
			 0);
	hp_run_init(&x->run, x->inv, &o);
	for (i = 0; i < 3; i++) {
		hp_fake_init(&x->fake[i]);
		if (x->run.hosts[i].selected)
			hp_fake_transport(&x->fake[i], &x->run.hosts[i].tr,
					  x->inv->hosts[i].name);
	}
	hp_fake_rest_init(&x->rest);
	x->run.rest_ops = &hp_fake_rest_ops;
	x->run.rest_ctx = &x->rest;
	hp_err_clear(&x->err);
	free(yaml);
	free(invpath);
	return x;
}

static void fx_free(struct fx *x)
{
	size_t i;

	hp_run_release(&x->run);
	for (i = 0; i < 3; i++)
		hp_fake_release(&x->fake[i]);
	hp_fake_rest_release(&x->rest);
	hp_inventory_free(x->inv);
	hp_diags_release(&x->diags);
	free(x->store);
	free(x);
}

/* Every host answers the holders check with out. */
static void holders(struct fx *x, const char *a, const char *b, const char *c)
{
	hp_fake_expect(&x->fake[0], "patroni_env.conf", 0, a, "");
	hp_fake_expect(&x->fake[1], "patroni_env.conf", 0, b, "");
	hp_fake_expect(&x->fake[2], "patroni_env.conf", 0, c, "");
}

/* Put every secret but skip (-1: none) in the store. */
static void fill_store(struct fx *x, int skip)
{
	int i;

	assert_int_equal(hp_secret_store_create(x->store, &x->err), 0);
	for (i = 0; i < HP_SECRET_NR; i++) {
		char *v = NULL;

		if (i == skip)
			continue;
		assert_int_equal(hp_secret_create(&v, x->store,
						  hp_secret_name(
							  (enum hp_secret_id)i),
						  12, &x->err),
				 0);
		hp_secret_free(v);
	}
}

#endif
