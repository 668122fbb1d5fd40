/*
 * Phase 3, haproxy: package, config (checked with `haproxy -c` on the host
 * before it replaces the old one), reload. Verified through the stats
 * page: the primary backend has exactly one server UP and it is Patroni's
 * leader; the replica backend's UP servers are the replicas.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"

static const char *const ha_pkgs[] = { "haproxy" };
static const char *const ha_svcs[] = { "haproxy" };

/* Column index of name in the CSV header line ("# pxname,svname,..."). */
static int csv_col(const char *header, const char *name)
{
	const char *p = header;
	size_t n = strlen(name);
	int col = 0;

	if (*p == '#')
		p++;
	while (*p == ' ')
		p++;
	for (;;) {
		const char *e = strpbrk(p, ",\n");
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return col;
		if (!e || *e == '\n')
			return -1;
		p = e + 1;
		col++;
	}
}

/* Field col of a CSV line, copied into out. */
static void csv_field(const char *line, int col, char *out, size_t outlen)
{
	const char *p = line;
	size_t len;

	while (col-- > 0 && p) {
		p = strpbrk(p, ",\n");
		if (p && *p == ',')
			p++;
		else
			p = NULL;
	}
	if (!p) {
		out[0] = '\0';
		return;
	}
	len = strcspn(p, ",\n");
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, p, len);
	out[len] = '\0';
}

struct stats_arg {
	const struct hp_inventory *inv;
	const char *leader;
};

json_t *hp_haproxy_servers(const char *csv)
{
	const char *nl = strchr(csv, '\n');
	int c_px = csv_col(csv, "pxname"), c_sv = csv_col(csv, "svname");
	int c_st = csv_col(csv, "status");
	json_t *servers = json_array();
	const char *line;

	if (!nl || c_px < 0 || c_sv < 0 || c_st < 0)
		return servers;
	for (line = nl + 1; *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1
				       : line + strlen(line)) {
		char f_px[64], f_sv[64], f_st[32];
		json_t *o;

		csv_field(line, c_px, f_px, sizeof(f_px));
		csv_field(line, c_sv, f_sv, sizeof(f_sv));
		csv_field(line, c_st, f_st, sizeof(f_st));
		if ((strcmp(f_px, "primary") != 0 &&
		     strcmp(f_px, "replicas") != 0) ||
		    !strcmp(f_sv, "FRONTEND") || !strcmp(f_sv, "BACKEND"))
			continue;
		o = json_object();
		json_object_set_new(o, "backend", json_string(f_px));
		json_object_set_new(o, "server", json_string(f_sv));
		json_object_set_new(o, "status", json_string(f_st));
		json_array_append_new(servers, o);
	}
	return servers;
}

/* UP servers of backend px, in the config's (inventory) order, as a comma
 * list. */
static void up_servers(const json_t *servers, const char *px,
		       struct hp_buf *out)
{
	const json_t *s;
	size_t i;

	json_array_foreach(servers, i, s)
	{
		const char *b = json_string_value(json_object_get(s, "backend"));
		const char *st = json_string_value(json_object_get(s, "status"));

		if (b && st && !strcmp(b, px) && !strncmp(st, "UP", 2))
			hp_buf_addf(out, "%s%s", out->len ? "," : "",
				    json_string_value(
					    json_object_get(s, "server")));
	}
}

static bool stats_ok(const struct hp_rest_resp *resp, void *arg,
		     struct hp_buf *why)
{
	const struct stats_arg *a = arg;
	struct hp_buf prim = HP_BUF_INIT, repl = HP_BUF_INIT;
	struct hp_buf want = HP_BUF_INIT;
	json_t *servers;
	size_t i;
	bool ok = false;

	if (resp->status != 200) {
		hp_buf_addf(why, "HTTP %ld", resp->status);
		return false;
	}
	servers = hp_haproxy_servers(resp->body.buf);
	up_servers(servers, "primary", &prim);
	up_servers(servers, "replicas", &repl);
	json_decref(servers);
	for (i = 0; i < a->inv->nr_hosts; i++) {
		const struct hp_host *h = &a->inv->hosts[i];

		if ((h->roles & HP_ROLE_PATRONI) && strcmp(h->name, a->leader) != 0)
			hp_buf_addf(&want, "%s%s", want.len ? "," : "",
				    h->name);
	}
	if (strcmp(prim.buf, a->leader) != 0)
		hp_buf_addf(why, "primary backend UP: [%s], leader is %s",
			    prim.buf, a->leader);
	else if (strcmp(repl.buf, want.buf) != 0)
		hp_buf_addf(why, "replicas backend UP: [%s], replicas are [%s]",
			    repl.buf, want.buf);
	else
		ok = true;
	hp_buf_release(&prim);
	hp_buf_release(&repl);
	hp_buf_release(&want);
	return ok;
}

/* the packages pass: every host at once (apt is the slow part) */
static const struct hp_pkg_pass pkg_pass = {
	"haproxy", { .pkgs = ha_pkgs, .nr_pkgs = HP_ARRAY_SIZE(ha_pkgs), },
};
/* hp_run_each takes a void *; the pass only reads it */
#define PKG_PASS ((void *)(uintptr_t)&pkg_pass)

/* Host by host: config (checked with haproxy -c before it replaces the old
 * one), reload, and that host's backends right again before the next. */
static int staged_host(struct hp_hostrun *h, void *arg)
{
	struct hp_rest *rest = arg;
	const struct hp_inventory *inv = h->run->inv;
	struct hp_host_plan p = {
		.svcs = ha_svcs, .nr_svcs = HP_ARRAY_SIZE(ha_svcs),
		.skip_packages = true,
	};
	struct hp_facts facts;
	enum hp_svc_action act;
	int r;

	if ((r = hp_phase_host_converge(h, "haproxy", &p, &facts, &h->err)) < 0)
		return r;
	act = hp_service_needs(h, "haproxy", &facts.svcs[0]);
	r = hp_step_service(h, "haproxy", &facts.svcs[0], act, false, &h->err);
	hp_facts_release(&facts);
	if (r == 0 && act != HP_SVC_NONE && !h->run->opts.plan) {
		struct stats_arg sa = { inv, NULL };
		char *leader = NULL;
		char *url = hp_url(h->host, inv->haproxy.stats_port,
				   "/stats;csv");

		r = hp_patroni_leader(h->run, rest, &leader, NULL, &h->err);
		sa.leader = leader ? leader : "";
		if (r == 0)
			r = hp_rest_poll(rest, "GET", url, NULL,
					 inv->validation.timeout_s * 1000, 250,
					 stats_ok, &sa, NULL, &h->err);
		free(url);
		free(leader);
	}
	return r;
}

int hp_haproxy_converge(struct hp_run *run, struct hp_err *err)
{
	struct hp_rest rest;
	int r;

	if (hp_run_each(run, HP_ROLE_HAPROXY, hp_phase_packages_host,
			PKG_PASS))
		return hp_err_set(err, HP_ERROR, "haproxy: a host failed");
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	r = hp_run_serial(run, HP_ROLE_HAPROXY, NULL, staged_host, &rest, err);
	hp_rest_release(&rest);
	return r;
}

int hp_haproxy_verify(struct hp_run *run, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest rest;
	struct hp_rest_resp resp;
	struct stats_arg sa;
	char *leader = NULL;
	int64_t t = hp_now_ms();
	size_t i;
	int r;

	if (!hp_inventory_count_role(inv, HP_ROLE_HAPROXY))
		return 0;
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	hp_rest_resp_init(&resp);
	if ((r = hp_patroni_leader(run, &rest, &leader, NULL, err)) < 0)
		goto out;
	if (!leader) {
		r = hp_err_set(err, HP_EVERIFY, "patroni reports no leader");
		goto out;
	}
	sa.inv = inv;
	sa.leader = leader;
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *host = &inv->hosts[i];
		char *url;

		if (!(host->roles & HP_ROLE_HAPROXY))
			continue;
		url = hp_url(host, inv->haproxy.stats_port, "/stats;csv");
		r = hp_rest_poll(&rest, "GET", url, NULL,
				 inv->validation.timeout_s * 1000, 500,
				 stats_ok, &sa, &resp, err);
		free(url);
		if (r < 0) {
			hp_err_prefix(err, "haproxy on %s", host->name);
			break;
		}
	}
out:
	hp_run_record(run, NULL, r < 0 ? HP_STEP_FAILED : HP_STEP_OK,
		      "verify haproxy: backends follow the leader",
		      r < 0 ? err->msg : NULL, NULL, t);
	if (r < 0)
		err->code = r = HP_EVERIFY;
	free(leader);
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	return r;
}
