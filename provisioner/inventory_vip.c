/*
 * The vip section: one virtual IPv4 address that keepalived (VRRP) keeps
 * on exactly one of the hosts with role vip, in front of their HAProxy.
 *
 * What the checks guard against:
 * - keepalived follows the local HAProxy (its health script), so a vip
 *   host without role haproxy would hold an address nothing answers on;
 * - the address is added to vip.interface with its prefix, so it must be
 *   in the vip hosts' own network: an address outside it is unreachable,
 *   and one of the hosts' own addresses would be taken from that host;
 * - keepalived's unicast peers are addresses, so vip hosts are written
 *   as IPv4 literals (VRRP version 2, which has the password, is IPv4).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "inventory_priv.h"

/* a.b.c.d/n: the address (host order) and n; false when s is not that */
static bool parse_cidr4(const char *s, uint32_t *addr, int *prefix)
{
	const char *slash = strchr(s, '/');
	char ip[INET_ADDRSTRLEN];
	struct in_addr a;
	size_t n;
	int p = 0;

	if (!slash || (n = (size_t)(slash - s)) >= sizeof(ip) || n == 0)
		return false;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, &a) != 1)
		return false;
	if (!slash[1] || strlen(slash + 1) > 2)
		return false;
	for (s = slash + 1; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		p = p * 10 + (*s - '0');
	}
	if (slash[1] == '0' && slash[2])
		return false; /* "/08" */
	*addr = ntohl(a.s_addr);
	*prefix = p;
	return true;
}

static uint32_t mask_of(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu
					       : ~(0xffffffffu >> prefix);
}

void hp_vip_ip(const char *cidr, char *out, size_t size)
{
	size_t n = strcspn(cidr, "/");

	if (n >= size)
		n = size - 1;
	memcpy(out, cidr, n);
	out[n] = '\0';
}

bool hp_inv_check_vip_address(const char *s, struct hp_buf *why)
{
	uint32_t a, m;
	int p;

	if (!parse_cidr4(s, &a, &p))
		return false; /* the field's own words */
	if (p < 8 || p > 30) {
		hp_buf_addf(why,
			    "the prefix length /%d is not a network the hosts "
			    "share with the address: write the hosts' own, "
			    "from /8 to /30 (10.0.0.100/24)",
			    p);
		return false;
	}
	m = mask_of(p);
	if ((a & ~m) == 0 || (a & ~m) == ~m) {
		hp_buf_addf(why, "%s is the %s address of its network, not one "
				 "a host can hold",
			    s, (a & ~m) == 0 ? "network" : "broadcast");
		return false;
	}
	return true;
}

bool hp_inv_check_interface(const char *s, struct hp_buf *why)
{
	size_t n = strlen(s), i;

	(void)why;
	if (n == 0 || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

/* The vip hosts: each has haproxy too, and an IPv4 literal address. The
 * number of them. */
static size_t check_hosts(const struct hp_inventory *inv,
			  struct hp_inv_loader *ld)
{
	size_t i, n = 0;

	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		struct in_addr a;
		char *p;

		if (!(h->roles & HP_ROLE_VIP))
			continue;
		n++;
		if (!(h->roles & HP_ROLE_HAPROXY)) {
			p = xasprintf("hosts[%zu].roles", i);
			hp_inv_diag_key(ld, p,
				"host %s has role vip without role haproxy: "
				"keepalived moves the virtual IP by the local "
				"HAProxy's health, so a vip host runs HAProxy "
				"too (add haproxy, or drop vip)",
				h->name);
			free(p);
		}
		if (h->address && inet_pton(AF_INET, h->address, &a) != 1) {
			p = xasprintf("hosts[%zu].address", i);
			hp_inv_diag_key(ld, p,
				"host %s has role vip, so its address must be "
				"an IPv4 address: keepalived's VRRP peers are "
				"written as addresses (got %s)",
				h->name, h->address);
			free(p);
		}
	}
	return n;
}

/* vip.address against every host's address: none equal, every vip host
 * inside its network */
static void check_network(const struct hp_inventory *inv,
			  struct hp_inv_loader *ld)
{
	uint32_t vip, net, m;
	size_t i;
	int p;

	if (!inv->vip.address || hp_inv_is_bad(ld, "vip.address") ||
	    !parse_cidr4(inv->vip.address, &vip, &p))
		return;
	m = mask_of(p);
	net = vip & m;
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		struct in_addr a;
		uint32_t ha;

		if (!h->address || inet_pton(AF_INET, h->address, &a) != 1)
			continue;
		ha = ntohl(a.s_addr);
		if (ha == vip)
			hp_inv_diag_key(ld, "vip.address",
				"vip.address %s is host %s's own address: "
				"keepalived would take it from that host; "
				"choose a free address in the same network",
				inv->vip.address, h->name);
		else if ((h->roles & HP_ROLE_VIP) && (ha & m) != net)
			hp_inv_diag_key(ld, "vip.address",
				"vip.address %s is outside host %s's network "
				"(%s is not in it): the virtual IP must be in "
				"the network of every vip host's interface",
				inv->vip.address, h->name, h->address);
	}
}

void hp_inv_check_vip(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	static const char *const keys[] = {"vip.address", "vip.interface",
					   "vip.router_id"};
	const struct hp_vip *v = &inv->vip;
	const bool set[3] = {v->address != NULL, v->interface != NULL,
		       v->router_id != 0};
	size_t n, i;

	if (hp_inv_is_bad(ld, "hosts") || hp_inv_is_bad(ld, "vip"))
		return;
	n = check_hosts(inv, ld);
	for (i = 0; i < HP_ARRAY_SIZE(keys); i++) {
		if (!n && set[i]) {
			hp_inv_diag_key(ld, keys[i],
				"%s is set but no host has role vip: add vip "
				"to the roles of the haproxy hosts that share "
				"the address, or drop the vip section",
				keys[i]);
			return;
		}
		if (n && !set[i] && !hp_inv_is_bad(ld, keys[i]))
			hp_inv_diag_key(ld, hp_inv_mark_get(ld, keys[i]) ? keys[i]
				    : hp_inv_mark_get(ld, "vip") ? "vip"
								 : "hosts",
				"%zu host%s ha%s role vip, so %s is needed: "
				"set vip.address (10.0.0.100/24), "
				"vip.interface and vip.router_id (1-255, "
				"unique on the network)",
				n, n == 1 ? "" : "s", n == 1 ? "s" : "ve",
				keys[i]);
	}
	check_network(inv, ld);
}
