/*
 * Phase 3, haproxy: package, config (checked with `haproxy -c` on the host
 * before it replaces the old one), reload. Verified through the stats
 * page: the primary backend has exactly one server UP and it is Patroni's
 * leader; the replica backend's UP servers are the replicas.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "render.h"

static const char *const ha_pkgs[] = { "haproxy" };

const char *const *hp_haproxy_packages(const struct hp_run *run,
				   const struct hp_host *host, size_t *nr)
{
	(void)run;
	(void)host;
	*nr = HP_ARRAY_SIZE(ha_pkgs);
	return ha_pkgs;
}

static const char *const ha_svcs[] = { "haproxy" };

/*
 * The stats CSV is remote text: parsed with lengths (it may hold NULs),
 * every name copied out through the sanitizer and capped, so whatever
 * the page says (escape sequences, bytes that are not UTF-8, a 1 MiB
 * name) reaches a terminal, an error message or JSON as printable ASCII.
 */
#define CSV_NAME_MAX 64
#define CSV_STATUS_MAX 32

/* The next line of [*p, end), without its "\n" or "\r\n"; false at the
 * end. */
static bool next_line(const char **p, const char *end, const char **line,
		      size_t *len)
{
	const char *nl;

	if (*p >= end)
		return false;
	*line = *p;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*len = (size_t)((nl ? nl : end) - *p);
	*p = nl ? nl + 1 : end;
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	return true;
}

/* Field col (0-based) of a line: false when the line has fewer fields. */
static bool csv_field(const char *line, size_t len, int col, const char **f,
		      size_t *flen)
{
	const char *p = line, *end = line + len, *comma;

	for (; col > 0; col--) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (!comma)
			return false;
		p = comma + 1;
	}
	comma = memchr(p, ',', (size_t)(end - p));
	*f = p;
	*flen = (size_t)((comma ? comma : end) - p);
	return true;
}

/* Column index of name in the header line ("# pxname,svname,..."), or
 * -1. */
static int csv_col(const char *hdr, size_t len, const char *name)
{
	const char *f;
	size_t flen, n = strlen(name);
	int col;

	/* the header's first field is "# pxname" */
	while (len && (*hdr == '#' || *hdr == ' ')) {
		hdr++;
		len--;
	}
	for (col = 0; col < 4096 && csv_field(hdr, len, col, &f, &flen);
	     col++)
		if (flen == n && !memcmp(f, name, n))
			return col;
	return -1;
}

static bool field_is(const char *f, size_t flen, const char *s)
{
	return flen == strlen(s) && !memcmp(f, s, flen);
}

/* A field as a JSON string of printable ASCII, at most max bytes (more
 * is cut and marked by the sanitizer). */
static json_t *printable_json(const char *f, size_t flen, size_t max)
{
	struct hp_buf b = HP_BUF_INIT;
	json_t *j;

	hp_buf_add_printable(&b, f, flen, max);
	j = json_stringn(b.buf, b.len);
	hp_buf_release(&b);
	if (!j)
		hp_die_oom();
	return j;
}

/* The header line: the index of each of cols[3] into col. */
static int csv_columns(const char *csv, size_t len, const char *line,
		       size_t llen, const char *const *cols, int *col,
		       struct hp_err *err)
{
	int i;

	if (!llen || line[0] != '#') {
		struct hp_buf b = HP_BUF_INIT;

		hp_buf_add_printable(&b, csv, len, 60);
		hp_err_set(err, HP_EVERIFY,
			   "the stats page did not answer HAProxy's CSV "
			   "(it starts with '%s')",
			   b.buf);
		hp_buf_release(&b);
		return HP_EVERIFY;
	}
	for (i = 0; i < 3; i++)
		if ((col[i] = csv_col(line, llen, cols[i])) < 0)
			return hp_err_set(err, HP_EVERIFY,
					  "the stats CSV has no '%s' column",
					  cols[i]);
	return 0;
}

int hp_haproxy_servers(const char *csv, size_t len, json_t **out,
		       struct hp_err *err)
{
	const char *p = csv, *end = csv + len, *line = csv, *f[3];
	size_t llen = 0, flen[3], nr = 0;
	static const char *const cols[3] = { "pxname", "svname", "status" };
	int col[3] = { 0, 0, 0 }, i, r;
	json_t *servers;

	*out = NULL;
	next_line(&p, end, &line, &llen);
	if ((r = csv_columns(csv, len, line, llen, cols, col, err)) < 0)
		return r;
	servers = json_array();
	if (!servers)
		hp_die_oom();
	while (next_line(&p, end, &line, &llen)) {
		json_t *o;

		nr++;
		if (!llen)
			continue;
		for (i = 0; i < 3; i++)
			if (!csv_field(line, llen, col[i], &f[i], &flen[i])) {
				json_decref(servers);
				return hp_err_set(err, HP_EVERIFY,
						  "stats CSV line %zu has no "
						  "'%s' field",
						  nr + 1, cols[i]);
			}
		if ((!field_is(f[0], flen[0], "primary") &&
		     !field_is(f[0], flen[0], "replicas")) ||
		    field_is(f[1], flen[1], "FRONTEND") ||
		    field_is(f[1], flen[1], "BACKEND"))
			continue;
		o = json_object();
		if (!o)
			hp_die_oom();
		json_object_set_new(o, "backend",
				    printable_json(f[0], flen[0], CSV_NAME_MAX));
		json_object_set_new(o, "server",
				    printable_json(f[1], flen[1], CSV_NAME_MAX));
		json_object_set_new(o, "status",
				    printable_json(f[2], flen[2],
						   CSV_STATUS_MAX));
		json_array_append_new(servers, o);
	}
	*out = servers;
	return 0;
}

struct stats_arg {
	const struct hp_inventory *inv;
	const char *leader;
};

void hp_haproxy_up_servers(const json_t *servers, const char *px,
			   struct hp_buf *out)
{
	const json_t *s;
	size_t i;

	json_array_foreach(servers, i, s)
	{
		const char *b = json_string_value(json_object_get(s, "backend"));
		const char *st = json_string_value(json_object_get(s, "status"));

		const char *sv = json_string_value(json_object_get(s, "server"));

		/* "UP", or "UP 1/3" while checks start failing */
		if (b && st && sv && !strcmp(b, px) &&
		    (!strcmp(st, "UP") || !strncmp(st, "UP ", 3)))
			hp_buf_addf(out, "%s%s", out->len ? "," : "", sv);
	}
}

static bool stats_ok(const struct hp_rest_resp *resp, void *arg,
		     struct hp_buf *why)
{
	const struct stats_arg *a = arg;
	struct hp_buf prim = HP_BUF_INIT, repl = HP_BUF_INIT;
	struct hp_buf want = HP_BUF_INIT;
	struct hp_err e;
	json_t *servers;
	size_t i;
	bool ok = false;

	if (resp->status == 401) {
		hp_buf_adds(why, "HTTP 401: the stats page refused user "
				 "haprov and the password of secret "
				 "haproxy_stats");
		return false;
	}
	if (resp->status != 200) {
		hp_buf_addf(why, "HTTP %ld", resp->status);
		return false;
	}
	if (hp_haproxy_servers(resp->body.buf, resp->body.len, &servers,
			       &e) < 0) {
		hp_buf_adds(why, e.msg);
		return false;
	}
	hp_haproxy_up_servers(servers, "primary", &prim);
	hp_haproxy_up_servers(servers, "replicas", &repl);
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
	"haproxy", { .pkgs = ha_pkgs, .nr_pkgs = HP_ARRAY_SIZE(ha_pkgs),
		     .svcs = ha_svcs, .nr_svcs = HP_ARRAY_SIZE(ha_svcs) },
};
/* hp_run_each takes a void *; the pass only reads it */
#define PKG_PASS ((void *)(uintptr_t)&pkg_pass)

/* The stats page's basic auth (user "haprov", secret haproxy_stats) on
 * rest, when the run has its secrets (an apply). */
static void stats_auth(struct hp_run *run, struct hp_rest *rest)
{
	rest->user = NULL;
	rest->password = NULL;
	if (run->secrets && run->secrets->haproxy_stats) {
		rest->user = HP_HAPROXY_STATS_USER;
		rest->password = run->secrets->haproxy_stats;
	}
}

/*
 * Poll host's stats page until its primary backend has exactly Patroni's
 * leader UP and its replica backend exactly the other members. No
 * leader is an error: a backend cannot be right without one.
 */
static int wait_backends(struct hp_run *run, struct hp_rest *rest,
			 const struct hp_host *host, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct stats_arg sa = { inv, NULL };
	char *leader = NULL, *url;
	int r;

	if ((r = hp_patroni_leader(run, rest, &leader, NULL, err)) < 0)
		return r;
	if (!leader)
		return hp_err_set(err, HP_EVERIFY,
				  "patroni reports no leader: the backends of "
				  "haproxy on %s cannot be checked",
				  host->name);
	sa.leader = leader;
	url = hp_url(host, inv->haproxy.stats_port, "/stats;csv");
	stats_auth(run, rest);
	r = hp_rest_poll(rest, "GET", url, NULL,
			 inv->validation.timeout_s * 1000, 250, stats_ok, &sa,
			 NULL, err);
	rest->user = rest->password = NULL;
	if (r < 0)
		hp_err_prefix(err, "haproxy on %s", host->name);
	free(url);
	free(leader);
	return r;
}

/* hp_hosts_at_once: one HAProxy's backends, on a REST client of its own
 * (the caller's under a unit test's REST seam). */
static int backends_one(struct hp_run *run, const struct hp_host *h,
			void *arg, struct hp_err *err)
{
	struct hp_rest own;
	int r;

	(void)arg;
	if ((r = hp_run_rest_init(run, &own, 3000, err)) < 0)
		return r;
	r = wait_backends(run, &own, h, err);
	hp_rest_release(&own);
	return r;
}

/* Host by host: config (checked with haproxy -c before it replaces the old
 * one), reload, and that host's backends right again before the next. A
 * host whose HAProxy is not running yet (a new one) serves no client: the
 * staged pass runs those at once. */
static int staged_host(struct hp_hostrun *h, void *arg)
{
	struct hp_host_plan p = {
		.svcs = ha_svcs, .nr_svcs = HP_ARRAY_SIZE(ha_svcs),
		.skip_packages = true,
	};
	struct hp_facts facts;
	enum hp_svc_action act;
	int r;

	(void)arg;
	if ((r = hp_phase_host_converge(h, "haproxy", &p, &facts, &h->err)) < 0)
		return r;
	act = hp_service_needs(h, "haproxy", &facts.svcs[0]);
	/* no HAProxy running, or only the one its package started with the
	 * package's config in this run: no client to keep, no turn to wait
	 * for */
	if (h->run->opts.plan)
		h->serves_nothing =
			strcmp(facts.svcs[0].active, "active") != 0 ||
			(h->installed_for &&
			 !strcmp(h->installed_for, "haproxy"));
	r = hp_step_service(h, "haproxy", &facts.svcs[0], act, false, &h->err);
	hp_facts_release(&facts);
	/* a REST client of its own: hosts that serve nothing run at once */
	if (r == 0 && act != HP_SVC_NONE && !h->run->opts.plan)
		r = backends_one(h->run, h->host, NULL, &h->err);
	return r;
}

int hp_haproxy_converge(struct hp_run *run, struct hp_err *err)
{
	int r;

	if (hp_run_each(run, HP_ROLE_HAPROXY, hp_phase_packages_host,
			PKG_PASS))
		return hp_err_set(err, HP_ERROR, "haproxy: a host failed");
	r = hp_run_staged(run, HP_ROLE_HAPROXY, NULL, staged_host, NULL, err);
	/* a killed switchover can leave the leader drained: clients would
	 * find no primary once it leads again */
	if (r == 0)
		r = hp_haproxy_lift_drains(run, err);
	return r;
}

int hp_haproxy_backends_ok(struct hp_run *run, struct hp_err *err)
{
	return hp_hosts_at_once(run, HP_ROLE_HAPROXY, backends_one, NULL, err);
}

static int backends_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	(void)arg;
	return hp_haproxy_backends_ok(run, err);
}

int hp_haproxy_verify(struct hp_run *run, struct hp_err *err)
{
	/* the stats page's check once the backends are right
	 * (hp_checks_then): a reload may still be under way before */
	struct hp_check c[2] = {
		{ "verify haproxy: backends follow the leader", backends_check,
		  NULL, false },
	};
	size_t n;
	int r;

	if (!hp_inventory_count_role(run->inv, HP_ROLE_HAPROXY))
		return 0;
	n = 1 + hp_tls_haproxy_checks(run, c + 1);
	if ((r = hp_checks_then(run, c, 1, n, err)) < 0)
		err->code = r = HP_EVERIFY;
	return r;
}
