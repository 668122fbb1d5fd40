/*
 * The vip role (issue 12, section 2): the inventory's checks (the role
 * only with haproxy, the keys exactly when a host has it, the address in
 * the vip hosts' network and none of theirs), keepalived's files (peers,
 * priorities, the password in a root-only file of its own) and the
 * verification's reading of `ip -4 -o addr` and of who holds the address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory.h"
#include "inventory_priv.h"
#include "inventory_fixture.h"
#include "phases.h"
#include "render.h"

#define VIP_HOSTS                                                              \
	"cluster: {name: t}\n"                                                 \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy, "    \
	"vip]}\n"                                                              \
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy, "    \
	"vip]}\n"                                                              \
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n"
#define VIP_OK "vip: {address: 10.0.0.100/24, interface: eth0, router_id: 51}\n"

static void test_inventory_good(void **state)
{
	struct result res;
	struct hp_inventory *inv;

	(void)state;
	inv = loads(&res, VIP_HOSTS VIP_OK);
	assert_string_equal(inv->vip.address, "10.0.0.100/24");
	assert_string_equal(inv->vip.interface, "eth0");
	assert_int_equal(inv->vip.router_id, 51);
	assert_int_equal(inv->vip.advert_int_s, 1);
	assert_int_equal(hp_inventory_count_role(inv, HP_ROLE_VIP), 2);
	result_release(&res);
	/* no vip at all: fine, nothing set */
	inv = loads(&res, "cluster: {name: t}\nhosts:\n  - {name: a, "
			  "address: 10.0.0.1, roles: [etcd, patroni, "
			  "haproxy]}\n");
	assert_null(inv->vip.address);
	assert_int_equal(inv->vip.router_id, 0);
	result_release(&res);
}

static void test_inventory_refused(void **state)
{
	(void)state;
	/* vip without haproxy */
	refused_each("cluster: {name: t}\nhosts:\n"
		     "  - {name: a, address: 10.0.0.1, roles: [etcd, "
		     "patroni, vip]}\n" VIP_OK,
		     (const char *const[]){"hosts[0].roles",
					   "role vip without role haproxy",
					   NULL});
	/* the address of a host, even one without the role */
	refused_each(VIP_HOSTS "vip: {address: 10.0.0.3/24, interface: eth0, "
			       "router_id: 51}\n",
		     (const char *const[]){"vip.address",
					   "is host c's own address", NULL});
	/* outside the vip hosts' network */
	refused_each(VIP_HOSTS "vip: {address: 10.0.1.100/24, interface: eth0, "
			       "router_id: 51}\n",
		     (const char *const[]){"outside host a's network",
					   "outside host b's network", NULL});
	/* the keys needed with the role */
	refused_each(VIP_HOSTS "vip: {address: 10.0.0.100/24}\n",
		     (const char *const[]){"vip.interface is needed",
					   "vip.router_id is needed", NULL});
	refused_each(VIP_HOSTS,
		     (const char *const[]){"vip.address is needed", NULL});
	/* the keys without the role */
	refused_each("cluster: {name: t}\nhosts:\n  - {name: a, address: "
		     "10.0.0.1, roles: [etcd, patroni, haproxy]}\n" VIP_OK,
		     (const char *const[]){"no host has role vip", NULL});
	/* a vip host by name: keepalived's peers are addresses */
	refused_each("cluster: {name: t}\nhosts:\n  - {name: a, address: "
		     "db1.example, roles: [etcd, patroni, haproxy, vip]}\n" VIP_OK,
		     (const char *const[]){"hosts[0].address",
					   "must be an IPv4 address", NULL});
	/* syntax: prefix, network and broadcast, a hostile interface */
	refused_each(VIP_HOSTS "vip: {address: 10.0.0.100, interface: eth0, "
			       "router_id: 51}\n",
		     (const char *const[]){"expected an IPv4 address with its "
					   "prefix length",
					   NULL});
	refused_each(VIP_HOSTS "vip: {address: 10.0.0.100/31, interface: "
			       "eth0, router_id: 51}\n",
		     (const char *const[]){"/31", NULL});
	refused_each(VIP_HOSTS "vip: {address: 10.0.0.0/24, interface: eth0, "
			       "router_id: 51}\n",
		     (const char *const[]){"the network address", NULL});
	refused_each(VIP_HOSTS "vip: {address: 10.0.0.255/24, interface: "
			       "eth0, router_id: 51}\n",
		     (const char *const[]){"the broadcast address", NULL});
	refused_each(VIP_HOSTS "vip: {address: 10.0.0.100/24, interface: "
			       "\"eth0; reboot\", router_id: 51}\n",
		     (const char *const[]){"a network interface name", NULL});
	refused_each(VIP_HOSTS "vip: {address: 10.0.0.100/24, interface: "
			       "eth0, router_id: 256}\n",
		     (const char *const[]){"vip.router_id", NULL});
}

static void test_syntax(void **state)
{
	struct hp_buf why = HP_BUF_INIT;

	(void)state;
	assert_true(hp_inv_check_vip_address("192.168.56.10/24", &why));
	assert_true(hp_inv_check_vip_address("10.1.2.3/8", &why));
	assert_false(hp_inv_check_vip_address("10.1.2.3/08", &why));
	assert_false(hp_inv_check_vip_address("10.1.2.3/", &why));
	assert_false(hp_inv_check_vip_address("/24", &why));
	assert_false(hp_inv_check_vip_address("10.1.2.3/123", &why));
	assert_false(hp_inv_check_vip_address("fe80::1/64", &why));
	assert_false(hp_inv_check_vip_address("10.1.2.3/7", &why));
	assert_false(hp_inv_check_vip_address("10.1.2.3/24x", &why));
	assert_true(hp_inv_check_interface("host0", &why));
	assert_true(hp_inv_check_interface("enp0s3.100", &why));
	assert_true(hp_inv_check_interface("abcdefghijklmno", &why));
	assert_false(hp_inv_check_interface("abcdefghijklmnop", &why));
	assert_false(hp_inv_check_interface("..", &why));
	assert_false(hp_inv_check_interface("", &why));
	assert_false(hp_inv_check_interface("eth0 ", &why));
	assert_false(hp_inv_check_interface("$(id)", &why));
	hp_buf_release(&why);
}

static const struct hp_render_secrets secrets = {
	NULL, "s", "r", "w", "api", "St4ts-pw-0005", "Vrrp0006", NULL,
};

static void test_render(void **state)
{
	struct result res;
	struct hp_inventory *inv;
	struct hp_rendered rd = HP_RENDERED_INIT;
	const struct hp_rendered_file *conf, *auth;
	struct hp_render_secrets bad = secrets;
	struct hp_err err;

	(void)state;
	inv = loads(&res, VIP_HOSTS VIP_OK "tls: false\n");
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[1], &secrets,
					&err),
			 0);
	conf = hp_rendered_find(&rd, "/etc/keepalived/keepalived.conf");
	auth = hp_rendered_find(&rd, HP_VIP_AUTH_PATH);
	assert_non_null(conf);
	assert_non_null(auth);
	/* the password only in the root-only file */
	assert_true(auth->secret);
	assert_int_equal(auth->mode, 0600);
	assert_non_null(strstr(auth->content, "auth_pass Vrrp0006\n"));
	assert_false(conf->secret);
	assert_null(strstr(conf->content, "Vrrp0006"));
	assert_non_null(strstr(conf->content, "include " HP_VIP_AUTH_PATH));
	/* b: second of the vip hosts, its peer is a only (c has no vip) */
	assert_non_null(strstr(conf->content, "priority 249\n"));
	assert_non_null(strstr(conf->content, "unicast_src_ip 10.0.0.2\n"));
	assert_non_null(strstr(conf->content, "        10.0.0.1\n"));
	assert_null(strstr(conf->content, "        10.0.0.2\n"));
	assert_null(strstr(conf->content, "10.0.0.3"));
	assert_non_null(strstr(conf->content, "virtual_router_id 51\n"));
	assert_non_null(strstr(conf->content, "10.0.0.100/24 dev eth0\n"));
	assert_non_null(strstr(conf->content, "haproxy.service"));
	assert_true(conf->reload);
	assert_non_null(conf->check_cmd);
	/* the auth file is written before the config that includes it */
	assert_true(auth < conf);
	hp_rendered_release(&rd);
	/* a not-vip host has neither file */
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[2], &secrets,
					&err),
			 0);
	assert_null(hp_rendered_find(&rd, HP_VIP_AUTH_PATH));
	hp_rendered_release(&rd);
	/* a, the first: the highest priority */
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &secrets,
					&err),
			 0);
	assert_non_null(strstr(hp_rendered_find(&rd, "/etc/keepalived/"
						     "keepalived.conf")
				       ->content,
			       "priority 250\n"));
	hp_rendered_release(&rd);
	/* a password keepalived's syntax cannot hold, or none */
	bad.vip_auth = "pw }\ninclude /etc/shadow";
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &bad, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "letters and digits"));
	bad.vip_auth = "123456789";
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &bad, &err),
			 HP_EINVALID);
	bad.vip_auth = NULL;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &bad, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "missing"));
	/* placeholders (validate --render) */
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], NULL, &err),
			 0);
	assert_non_null(strstr(hp_rendered_find(&rd, HP_VIP_AUTH_PATH)->content,
			       "auth_pass <secret:vip_auth>"));
	hp_rendered_release(&rd);
	result_release(&res);
}

static void test_holds(void **state)
{
	static const char out[] =
		"2: eth0    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0\\"
		"       valid_lft forever preferred_lft forever\n"
		"2: eth0    inet 10.0.0.100/24 scope global secondary eth0\\"
		"       valid_lft forever preferred_lft forever\n";
	static const char other[] =
		"2: eth0    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0\n"
		"2: eth0    inet 10.0.0.10/24 scope global secondary eth0\n";
	struct hp_err err;
	char *big;

	(void)state;
	assert_int_equal(hp_vip_holds(out, strlen(out), "10.0.0.100", &err), 1);
	assert_int_equal(hp_vip_holds(out, strlen(out), "10.0.0.10", &err), 0);
	assert_int_equal(hp_vip_holds(other, strlen(other), "10.0.0.100", &err),
			 0);
	assert_int_equal(hp_vip_holds(other, strlen(other), "10.0.0.1", &err),
			 1);
	assert_int_equal(hp_vip_holds("", 0, "10.0.0.1", &err), 0);
	/* the address elsewhere on the line is not an inet of the host */
	assert_int_equal(hp_vip_holds("2: eth0 peer 10.0.0.100/24 inet6 x\n",
				      35, "10.0.0.100", &err),
			 0);
	/* hostile answers: a NUL, too long, too many lines */
	assert_int_equal(hp_vip_holds("inet 1\0x", 8, "10.0.0.1", &err),
			 HP_EREMOTE);
	big = xcalloc(70000, 1);
	memset(big, 'x', 69999);
	assert_int_equal(hp_vip_holds(big, 69999, "10.0.0.1", &err),
			 HP_EREMOTE);
	memset(big, '\n', 69999);
	big[5000] = '\0';
	assert_int_equal(hp_vip_holds(big, 5000, "10.0.0.1", &err), HP_EREMOTE);
	assert_non_null(strstr(err.msg, "lines"));
	free(big);
}

static void test_one_holder(void **state)
{
	struct result res;
	struct hp_inventory *inv;
	struct hp_buf why = HP_BUF_INIT;
	int h[3];

	(void)state;
	inv = loads(&res, VIP_HOSTS VIP_OK);
	h[0] = 0, h[1] = 1, h[2] = 1; /* c holds it but has no vip role */
	assert_int_equal(hp_vip_one_holder(inv, h, &why), 1);
	hp_buf_reset(&why);
	h[0] = 1, h[1] = 1;
	assert_int_equal(hp_vip_one_holder(inv, h, &why), -1);
	assert_non_null(strstr(why.buf, "2 vip hosts hold"));
	assert_non_null(strstr(why.buf, "a, b"));
	hp_buf_reset(&why);
	h[0] = 0, h[1] = 0;
	assert_int_equal(hp_vip_one_holder(inv, h, &why), -1);
	assert_non_null(strstr(why.buf, "no vip host holds 10.0.0.100/24"));
	hp_buf_reset(&why);
	h[0] = -1, h[1] = 1; /* a not read: b is the only one seen */
	assert_int_equal(hp_vip_one_holder(inv, h, &why), 1);
	hp_buf_release(&why);
	result_release(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inventory_good),
		cmocka_unit_test(test_inventory_refused),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_holds),
		cmocka_unit_test(test_one_holder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
