/*
 * haprov status: one screen from the services' REST APIs (no SSH): etcd
 * members and health, Patroni members (role, state, timeline, lag,
 * pending restart), HAProxy backends, and whether PgBouncer and the
 * virtual IP answer (status_front.c); a warning when etcd's leader runs
 * on the host of Patroni's leader. Every answer is remote text: it
 * is checked for type and passed through the sanitizer (status.h) before
 * it is printed or put into --json.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "phases.h"
#include "render.h"
#include "rest.h"
#include "secret_store.h"
#include "status.h"
#include "tls.h"

/* s, remote, as a new JSON string of printable ASCII ("" for NULL). */
static json_t *safe_str(const char *s)
{
	char *p = hp_printable_dup(s, HP_STATUS_TEXT_MAX);
	json_t *j = json_string(p);

	free(p);
	if (!j)
		hp_die_oom();
	return j;
}

static json_t *etcd_status(const struct hp_inventory *inv, struct hp_rest *rest,
			   bool *healthy)
{
	json_t *arr = json_array(), *empty = json_object();
	struct hp_rest_resp resp;
	struct hp_err err;
	size_t i;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		json_t *o;
		char *url;
		const char *health = "unreachable";
		struct hp_etcd_status st = { 0, 0, false };

		if (!(h->roles & HP_ROLE_ETCD))
			continue;
		o = json_object();
		url = hp_url(h, inv->etcd.client_port, "/health");
		if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0) {
			const char *v = json_string_value(
				json_object_get(resp.json, "health"));

			health = resp.status == 200 && v && !strcmp(v, "true")
					 ? "healthy"
					 : "unhealthy";
		}
		free(url);
		url = hp_url(h, inv->etcd.client_port,
			     "/v3/maintenance/status");
		/* IDs as hp_etcd_status_judge reads them: a malformed one is
		 * no leader */
		if (hp_rest_call(rest, "POST", url, empty, &resp, &err) < 0 ||
		    hp_etcd_status_judge(&resp, h->name, &st, &err) < 0)
			st.id = 0;
		free(url);
		if (strcmp(health, "healthy") != 0)
			*healthy = false;
		/* name and address are the inventory's, not the answer's */
		json_object_set_new(o, "name", json_string(h->name));
		json_object_set_new(o, "address", json_string(h->address));
		json_object_set_new(o, "health", json_string(health));
		json_object_set_new(o, "leader",
				    json_boolean(st.id && st.id == st.leader));
		json_array_append_new(arr, o);
	}
	hp_rest_resp_release(&resp);
	json_decref(empty);
	return arr;
}

/* An integer member field, or null for anything else ("unknown"). */
static json_t *int_or_null(const json_t *v)
{
	return json_is_integer(v) ? json_integer(json_integer_value(v))
				  : json_null();
}

/* One /cluster member, checked and sanitized; NULL when it is not an
 * object. */
static json_t *member_status(const struct hp_inventory *inv, const json_t *m)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	const struct hp_host *h = name ? hp_inventory_host(inv, name) : NULL;
	json_t *o;

	if (!json_is_object(m))
		return NULL;
	o = json_object();
	json_object_set_new(o, "name", safe_str(name ? name : "?"));
	json_object_set_new(
		o, "host",
		safe_str(json_string_value(json_object_get(m, "host"))));
	json_object_set_new(
		o, "role",
		safe_str(json_string_value(json_object_get(m, "role"))));
	json_object_set_new(
		o, "state",
		safe_str(json_string_value(json_object_get(m, "state"))));
	json_object_set_new(o, "timeline",
			    int_or_null(json_object_get(m, "timeline")));
	json_object_set_new(o, "lag", int_or_null(json_object_get(m, "lag")));
	json_object_set_new(o, "pending_restart",
			    json_boolean(json_is_true(
				    json_object_get(m, "pending_restart"))));
	json_object_set_new(o, "in_inventory",
			    json_boolean(h && (h->roles & HP_ROLE_PATRONI)));
	return o;
}

/* The members as the first answering patroni host's GET /cluster lists
 * them; doc gets "patroni" (and "patroni_error" when none answered). */
static void patroni_status(json_t *doc, const struct hp_inventory *inv,
			   struct hp_rest *rest, bool *healthy)
{
	struct hp_rest_resp resp;
	struct hp_err err;
	json_t *arr = json_array();
	const json_t *members = NULL, *m;
	size_t i, k, leaders = 0;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !members; i++) {
		char *url;

		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI))
			continue;
		url = hp_url(&inv->hosts[i], inv->patroni.restapi_port,
			     "/cluster");
		if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
		    resp.status == 200 &&
		    json_is_array(json_object_get(resp.json, "members")))
			members = json_object_get(resp.json, "members");
		free(url);
	}
	if (!members) {
		*healthy = false;
		json_object_set_new(doc, "patroni_error",
				    json_string("no patroni member answered "
						"GET /cluster with a member "
						"list"));
	}
	json_array_foreach(members, k, m)
	{
		json_t *o;

		if (k == HP_STATUS_MEMBERS_MAX) {
			*healthy = false;
			json_object_set_new(
				doc, "patroni_error",
				json_sprintf("GET /cluster lists %zu members; "
					     "the first %d are shown",
					     json_array_size(members),
					     HP_STATUS_MEMBERS_MAX));
			break;
		}
		if (!(o = member_status(inv, m))) {
			*healthy = false;
			continue;
		}
		if (!json_is_true(json_object_get(o, "in_inventory")))
			*healthy = false;
		if (!strcmp(json_string_value(json_object_get(o, "role")),
			    "leader"))
			leaders++;
		json_array_append_new(arr, o);
	}
	if (members && leaders != 1)
		*healthy = false;
	json_object_set_new(doc, "patroni", arr);
	hp_rest_resp_release(&resp);
}

static json_t *haproxy_status(const struct hp_inventory *inv,
			      struct hp_rest *rest, const char *password,
			      const char *why, bool *healthy)
{
	json_t *arr = json_array();
	struct hp_rest_resp resp;
	struct hp_err err;
	size_t i;

	hp_rest_resp_init(&resp);
	rest->user = password ? HP_HAPROXY_STATS_USER : NULL;
	rest->password = password;
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		json_t *o, *servers = NULL;
		char *url, *msg = NULL;

		if (!(h->roles & HP_ROLE_HAPROXY))
			continue;
		o = json_object();
		json_object_set_new(o, "name", json_string(h->name));
		url = hp_url(h, inv->haproxy.stats_port, "/stats;csv");
		if (!password)
			msg = xasprintf("stats unavailable: %s", why);
		else if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) < 0)
			msg = xasprintf("stats unreachable: %s", err.msg);
		else if (resp.status == 401)
			msg = xstrdup("stats refused the password of "
				      "secret " HP_HAPROXY_STATS_SECRET
				      " (HTTP 401)");
		else if (resp.status != 200)
			msg = xasprintf("stats answered HTTP %ld", resp.status);
		else if (hp_haproxy_servers(resp.body.buf, resp.body.len,
					    &servers, &err) < 0)
			msg = xstrdup(err.msg);
		if (msg) {
			char *p = hp_printable_dup(msg, 300);

			*healthy = false;
			json_object_set_new(o, "error", json_string(p));
			free(p);
		} else {
			json_object_set_new(o, "servers", servers);
		}
		free(msg);
		free(url);
		json_array_append_new(arr, o);
	}
	rest->user = rest->password = NULL;
	hp_rest_resp_release(&resp);
	return arr;
}

/* The phases haprov runs, from the phase table: [{name, summary}]. */
static json_t *phase_list(void)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < hp_phases_nr; i++)
		json_array_append_new(arr,
				      json_pack("{s:s, s:s}", "name",
						hp_phases[i].name, "summary",
						hp_phases[i].summary));
	return arr;
}

json_t *hp_status_collect(const struct hp_inventory *inv, struct hp_rest *rest,
			  const char *stats_password, const char *stats_why,
			  bool *healthy)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "cluster", json_string(inv->cluster));
	json_object_set_new(doc, "phases", phase_list());
	json_object_set_new(doc, "etcd", etcd_status(inv, rest, healthy));
	patroni_status(doc, inv, rest, healthy);
	json_object_set_new(
		doc, "haproxy",
		haproxy_status(inv, rest, stats_password, stats_why, healthy));
	hp_status_front(doc, inv, healthy);
	json_object_set_new(doc, "healthy", json_boolean(*healthy));
	return doc;
}

void hp_status_add_text(struct hp_buf *out, const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (json_is_string(v))
		hp_buf_add_printable(out, json_string_value(v),
				     json_string_length(v), 320);
	else if (json_is_integer(v))
		hp_buf_addf(out, "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
	else
		hp_buf_addch(out, '-');
}

void hp_status_add_field(struct hp_buf *out, const json_t *o, const char *k,
			 int width)
{
	struct hp_buf b = HP_BUF_INIT;

	hp_status_add_text(&b, o, k);
	hp_buf_addf(out, " %-*s", width, b.buf);
	hp_buf_release(&b);
}

static void format_patroni(struct hp_buf *out, const json_t *doc)
{
	const json_t *v;
	size_t i;

	hp_buf_addf(out, "\npatroni\n  %-10s %-16s %-8s %-10s %-4s %-8s %s\n",
		    "MEMBER", "HOST", "ROLE", "STATE", "TL", "LAG",
		    "PENDING RESTART");
	json_array_foreach(json_object_get(doc, "patroni"), i, v)
	{
		hp_buf_addch(out, ' ');
		hp_status_add_field(out, v, "name", 10);
		hp_status_add_field(out, v, "host", 16);
		hp_status_add_field(out, v, "role", 8);
		hp_status_add_field(out, v, "state", 10);
		hp_status_add_field(out, v, "timeline", 4);
		hp_status_add_field(out, v, "lag", 8);
		hp_buf_addf(out, " %s%s\n",
			    json_is_true(json_object_get(v, "pending_restart"))
				    ? "yes"
				    : "no",
			    json_is_false(json_object_get(v, "in_inventory"))
				    ? "  (not in the inventory)"
				    : "");
	}
	if (json_object_get(doc, "patroni_error")) {
		hp_buf_adds(out, "  ");
		hp_status_add_text(out, doc, "patroni_error");
		hp_buf_addch(out, '\n');
	}
}

static void format_haproxy(struct hp_buf *out, const json_t *doc)
{
	const json_t *v, *s;
	size_t i, k;

	hp_buf_adds(out, "\nhaproxy\n");
	json_array_foreach(json_object_get(doc, "haproxy"), i, v)
	{
		hp_buf_addch(out, ' ');
		hp_status_add_field(out, v, "name", 10);
		if (json_object_get(v, "error")) {
			hp_buf_addch(out, ' ');
			hp_status_add_text(out, v, "error");
		}
		json_array_foreach(json_object_get(v, "servers"), k, s)
		{
			hp_buf_addch(out, ' ');
			hp_status_add_text(out, s, "backend");
			hp_buf_addch(out, '/');
			hp_status_add_text(out, s, "server");
			hp_buf_addch(out, ':');
			hp_status_add_text(out, s, "status");
		}
		hp_buf_addch(out, '\n');
	}
}

/* The one member of list (an array of objects) whose field k is true (a
 * boolean) or equals the string v; NULL when none or several are. */
static const json_t *the_one(const json_t *list, const char *k, const char *v)
{
	const json_t *m, *found = NULL;
	size_t i;

	json_array_foreach(list, i, m)
	{
		const json_t *f = json_object_get(m, k);
		bool match = v ? json_is_string(f) &&
					 strcmp(json_string_value(f), v) == 0
			       : json_is_true(f);

		if (!match)
			continue;
		if (found)
			return NULL;
		found = m;
	}
	return found;
}

/*
 * The warning when etcd's leader runs on the host of Patroni's leader: a
 * crash of that host then costs an etcd election before the failover can
 * start (phases/etcd_leader.c). Read from the document: etcd's names are
 * the inventory's, Patroni's must be an inventory member.
 */
static void format_leader_warning(struct hp_buf *out, const json_t *doc)
{
	const json_t *e = the_one(json_object_get(doc, "etcd"), "leader", NULL);
	const json_t *p = the_one(json_object_get(doc, "patroni"), "role",
				  "leader");
	const char *name = json_string_value(json_object_get(e, "name"));

	if (!name || !p ||
	    !json_is_true(json_object_get(p, "in_inventory")) ||
	    !json_is_string(json_object_get(p, "name")) ||
	    strcmp(json_string_value(json_object_get(p, "name")), name) != 0)
		return;
	hp_buf_adds(out, "\nwarning: etcd's leader ");
	hp_status_add_text(out, e, "name");
	hp_buf_adds(out, " is also Patroni's leader: a crash of ");
	hp_status_add_text(out, e, "name");
	hp_buf_adds(out, " costs an etcd election on top of the failover; "
			 "`haprov apply` moves it\n");
}

void hp_status_format(struct hp_buf *out, const json_t *doc)
{
	const json_t *v;
	size_t i;

	hp_buf_adds(out, "cluster ");
	hp_status_add_text(out, doc, "cluster");
	hp_buf_adds(out, "\nphases");
	json_array_foreach(json_object_get(doc, "phases"), i, v)
	{
		hp_buf_adds(out, i ? ", " : " ");
		hp_status_add_text(out, v, "name");
	}
	hp_buf_adds(out, "\n\netcd\n");
	json_array_foreach(json_object_get(doc, "etcd"), i, v)
	{
		hp_buf_addch(out, ' ');
		hp_status_add_field(out, v, "name", 10);
		hp_status_add_field(out, v, "address", 16);
		hp_status_add_field(out, v, "health", 10);
		hp_buf_addf(out, " %s\n",
			    json_is_true(json_object_get(v, "leader"))
				    ? "leader"
				    : "");
	}
	format_patroni(out, doc);
	format_haproxy(out, doc);
	hp_status_format_front(out, doc);
	format_leader_warning(out, doc);
}

/* The store's value name as PEM into *out (NULL when the store has none). */
static int store_pem(char **out, const char *store, const char *name,
		     const char *kind, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	char *v = NULL;
	int r = hp_secret_read(&v, store, name, err);

	*out = NULL;
	if (r == 0 && (r = hp_tls_pem(&b, v, kind, err)) == 0)
		*out = hp_buf_detach(&b, NULL);
	explicit_bzero(b.buf, b.len);
	hp_buf_release(&b);
	hp_secret_free(v);
	return r;
}

/* With tls on, the cluster CA (required) and haprov's client certificate
 * (etcd with client-cert-auth wants one even for reads; optional). */
static int status_tls(const struct hp_inventory *inv, struct hp_rest_tls *t,
		      struct hp_err *err)
{
	const char *store = inv->secrets.store;
	char *ca = NULL, *cert = NULL, *key = NULL;
	struct hp_err e;
	int r;

	memset(t, 0, sizeof(*t));
	t->insecure = inv->tls.insecure_skip_verify;
	r = store_pem(&ca, store, "tls-ca-cert", "CERTIFICATE", err);
	t->ca_pem = ca;
	if (r < 0 && !t->insecure) {
		hp_err_prefix(err, "cannot read the cluster CA (tls-ca-cert) "
				   "to verify the servers");
		return r;
	}
	if (store_pem(&cert, store, "tls-client-cert", "CERTIFICATE", &e) ==
		    0 &&
	    store_pem(&key, store, "tls-client-key", "PRIVATE KEY", &e) == 0) {
		t->cert_pem = cert;
		t->key_pem = key;
		return 0;
	}
	free(cert);
	return 0;
}

static void status_tls_release(struct hp_rest_tls *t)
{
	char *key = (char *)(uintptr_t)t->key_pem;

	if (key)
		explicit_bzero(key, strlen(key));
	free(key);
	free((char *)(uintptr_t)t->cert_pem);
	free((char *)(uintptr_t)t->ca_pem);
	memset(t, 0, sizeof(*t));
}

int hp_cmd_status(struct hp_cmd_ctx *ctx)
{
	const struct hp_inventory *inv = ctx->inv;
	struct hp_rest rest;
	struct hp_rest_tls tls = {0};
	struct hp_err err, serr;
	struct hp_buf text = HP_BUF_INIT;
	char *pw = NULL, *why = NULL;
	json_t *doc;
	bool healthy = true;

	if (hp_rest_init(&rest, 2000, &err) < 0) {
		fprintf(stderr, "haprov: %s\n", err.msg);
		return HP_EXIT_ERROR;
	}
	hp_url_set_https(inv->tls.enabled);
	if (inv->tls.enabled) {
		if (status_tls(inv, &tls, &err) < 0) {
			fprintf(stderr, "haprov: %s\n", err.msg);
			hp_rest_release(&rest);
			return HP_EXIT_ERROR;
		}
		rest.tls = &tls;
	}
	hp_err_clear(&serr);
	if (hp_inventory_count_role(inv, HP_ROLE_HAPROXY) &&
	    hp_secret_read(&pw, inv->secrets.store, HP_HAPROXY_STATS_SECRET,
			   &serr) < 0)
		why = xasprintf("cannot read secret " HP_HAPROXY_STATS_SECRET
				": %s",
				serr.msg);
	if (hp_cmd_opt(ctx, "watch")) {
		const char *w = hp_cmd_opt(ctx, "watch");
		int s = hp_status_watch_seconds(*w ? w : "2", &err);
		int rc = HP_EXIT_USAGE;

		if (s < 0)
			fprintf(stderr, "haprov status: %s\n", err.msg);
		else if (hp_cmd_flag(ctx, "json"))
			fprintf(stderr, "haprov status: --watch and --json "
					"do not go together\n");
		else
			rc = hp_status_watch(inv, &rest, pw, why, s);
		hp_secret_free(pw);
		free(why);
		hp_rest_release(&rest);
		status_tls_release(&tls);
		return rc;
	}
	doc = hp_status_collect(inv, &rest, pw, why, &healthy);
	hp_secret_free(pw);
	if (hp_cmd_flag(ctx, "json")) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		hp_status_format(&text, doc);
		fwrite(text.buf, 1, text.len, stdout);
	}
	hp_buf_release(&text);
	free(why);
	json_decref(doc);
	hp_rest_release(&rest);
	status_tls_release(&tls);
	return healthy ? HP_EXIT_OK : HP_EXIT_ERROR;
}
