/*
 * The vip hosts' files: keepalived.conf, and the VRRP password in a file
 * of its own that keepalived.conf includes (so the config itself holds no
 * secret and can be diffed and kept in the state repository).
 */
#include <string.h>

#include "render_priv.h"

/* Where a host stands among the vip hosts: the first gets the highest
 * priority and wins the first election. */
static int vip_priority(const struct hp_inventory *inv,
			const struct hp_host *host)
{
	int p = 250;
	size_t i;

	for (i = 0; i < inv->nr_hosts && &inv->hosts[i] != host; i++)
		if (inv->hosts[i].roles & HP_ROLE_VIP)
			p--;
	return p < 1 ? 1 : p;
}

static int keepalived_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_inventory *inv = in->inv;
	const struct hp_vip *v = &inv->vip;
	json_t *peers = hp_render_jnn(json_array());
	size_t i;
	int r;

	json_object_set_new(c, "peers", peers);
	if ((r = hp_render_need(v->address, "vip.address", err)) < 0 ||
	    (r = hp_render_need(v->interface, "vip.interface", err)) < 0)
		return r;
	if (v->router_id < 1 || v->router_id > 255)
		return hp_err_set(err, HP_EINVALID,
				  "vip.router_id %d is not 1-255", v->router_id);
	/* written unquoted into keepalived's syntax: "a.b.c.d/nn" */
	if (strspn(v->address, "0123456789./") != strlen(v->address) ||
	    strlen(v->address) > 18)
		return hp_err_set(err, HP_EINVALID,
				  "vip.address is not an IPv4 address with a "
				  "prefix length");
	if ((r = hp_render_check_token(v->interface, "vip.interface", err)) < 0)
		return r;
	hp_render_set_str(c, "cluster", inv->cluster);
	hp_render_set_str(c, "host", in->host->name);
	hp_render_set_str(c, "address", in->host->address);
	hp_render_set_str(c, "vip", v->address);
	hp_render_set_str(c, "interface", v->interface);
	hp_render_set_int(c, "router_id", v->router_id);
	hp_render_set_int(c, "advert_int", v->advert_int_s);
	hp_render_set_int(c, "priority", vip_priority(inv, in->host));
	hp_render_set_str(c, "auth_path", HP_VIP_AUTH_PATH);
	hp_render_set_int(c, "interval", 1);
	hp_render_set_int(c, "fall", 2);
	hp_render_set_int(c, "rise", 2);
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		json_t *p;

		if (!(h->roles & HP_ROLE_VIP) || h == in->host)
			continue;
		if ((r = hp_render_check_token(h->address, "host address",
					       err)) < 0)
			return r;
		p = hp_render_jnn(json_object());
		hp_render_set_str(p, "address", h->address);
		json_array_append_new(peers, p);
	}
	return 0;
}

/* A VRRP password: 1 to 8 letters and digits (VRRP version 2 carries 8
 * bytes; anything else could break keepalived's syntax). */
static bool auth_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > 8)
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static int keepalived_auth_ctx(json_t *c, const struct rin *in,
			       struct hp_err *err)
{
	const struct hp_render_secrets *sec = in->secrets;

	hp_render_set_str(c, "cluster", in->inv->cluster);
	if (!sec) {
		hp_render_set_str(c, "auth", "<secret:" HP_VIP_SECRET ">");
		return 0;
	}
	if (!sec->vip_auth)
		return hp_err_set(err, HP_EINVALID,
				  "the VRRP password (secret " HP_VIP_SECRET
				  ") is missing");
	if (!auth_ok(sec->vip_auth))
		return hp_err_set(err, HP_EINVALID,
				  "the VRRP password (secret " HP_VIP_SECRET
				  ") must be 1 to 8 letters and digits");
	hp_render_set_str(c, "auth", sec->vip_auth);
	return 0;
}

const struct file_spec hp_render_vip_specs[HP_RENDER_NR_VIP] = {
	/* before keepalived.conf, whose check reads it */
	{.role = HP_ROLE_VIP,
	 .path = HP_VIP_AUTH_PATH,
	 .template = "keepalived-auth.conf",
	 .mode = 0600,
	 .owner = "root",
	 .group = "root",
	 .secret = true,
	 .services = "keepalived",
	 .reload = true,
	 .ctx = keepalived_auth_ctx},
	/* keepalived re-reads its config on SIGHUP (systemctl reload) */
	{.role = HP_ROLE_VIP,
	 .path = "/etc/keepalived/keepalived.conf",
	 .template = "keepalived.conf",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "keepalived",
	 .reload = true,
	 .check_cmd = "keepalived --config-test -f %s",
	 .ctx = keepalived_ctx},
};
