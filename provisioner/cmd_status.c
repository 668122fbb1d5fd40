/*
 * haprov status: one screen from the services' REST APIs (no SSH): etcd
 * members and health, Patroni members (role, state, timeline, lag,
 * pending restart), HAProxy backends.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "phases.h"
#include "rest.h"

static json_t *etcd_status(const struct hp_inventory *inv,
			   struct hp_rest *rest, bool *healthy)
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
		const char *id = NULL, *leader = NULL;

		if (!(h->roles & HP_ROLE_ETCD))
			continue;
		o = json_object();
		url = hp_url(h, inv->etcd.client_port, "/health");
		if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0) {
			const char *v = json_string_value(
				json_object_get(resp.json, "health"));

			health = v && !strcmp(v, "true") ? "healthy"
							 : "unhealthy";
		}
		free(url);
		url = hp_url(h, inv->etcd.client_port, "/v3/maintenance/status");
		if (hp_rest_call(rest, "POST", url, empty, &resp, &err) == 0 &&
		    resp.json) {
			id = json_string_value(json_object_get(
				json_object_get(resp.json, "header"),
				"member_id"));
			leader = json_string_value(
				json_object_get(resp.json, "leader"));
		}
		free(url);
		if (strcmp(health, "healthy") != 0)
			*healthy = false;
		json_object_set_new(o, "name", json_string(h->name));
		json_object_set_new(o, "address", json_string(h->address));
		json_object_set_new(o, "health", json_string(health));
		json_object_set_new(o, "leader",
				    json_boolean(id && leader &&
						 !strcmp(id, leader)));
		json_array_append_new(arr, o);
	}
	hp_rest_resp_release(&resp);
	json_decref(empty);
	return arr;
}

static json_t *patroni_status(const struct hp_inventory *inv,
			      struct hp_rest *rest, bool *healthy)
{
	struct hp_rest_resp resp;
	struct hp_err err;
	json_t *members = NULL;
	size_t i;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts && !members; i++) {
		char *url;

		if (!(inv->hosts[i].roles & HP_ROLE_PATRONI))
			continue;
		url = hp_url(&inv->hosts[i], inv->patroni.restapi_port,
			     "/cluster");
		if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
		    resp.status == 200 && resp.json) {
			members = json_object_get(resp.json, "members");
			json_incref(members);
		}
		free(url);
	}
	hp_rest_resp_release(&resp);
	if (!members) {
		*healthy = false;
		return json_array();
	}
	return members;
}

static json_t *haproxy_status(const struct hp_inventory *inv,
			      struct hp_rest *rest, bool *healthy)
{
	json_t *arr = json_array();
	struct hp_rest_resp resp;
	struct hp_err err;
	size_t i;

	hp_rest_resp_init(&resp);
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		json_t *o;
		char *url;

		if (!(h->roles & HP_ROLE_HAPROXY))
			continue;
		o = json_object();
		json_object_set_new(o, "name", json_string(h->name));
		url = hp_url(h, inv->haproxy.stats_port, "/stats;csv");
		if (hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
		    resp.status == 200) {
			json_t *servers = hp_haproxy_servers(resp.body.buf);

			json_object_set_new(o, "servers", servers);
		} else {
			*healthy = false;
			json_object_set_new(o, "error",
					    json_string("stats unreachable"));
		}
		free(url);
		json_array_append_new(arr, o);
	}
	hp_rest_resp_release(&resp);
	return arr;
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "-";
}

static void print_status(const json_t *doc)
{
	json_t *v, *s;
	size_t i, k;

	printf("cluster %s\n\netcd\n", jstr(doc, "cluster"));
	json_array_foreach(json_object_get(doc, "etcd"), i, v)
		printf("  %-10s %-16s %-10s %s\n", jstr(v, "name"),
		       jstr(v, "address"), jstr(v, "health"),
		       json_is_true(json_object_get(v, "leader")) ? "leader"
								  : "");
	printf("\npatroni\n  %-10s %-16s %-8s %-10s %-4s %-8s %s\n", "MEMBER",
	       "HOST", "ROLE", "STATE", "TL", "LAG", "PENDING RESTART");
	json_array_foreach(json_object_get(doc, "patroni"), i, v)
	{
		json_t *tl = json_object_get(v, "timeline");
		json_t *lag = json_object_get(v, "lag");
		char tls[24] = "-", lags[24] = "-";

		if (json_is_integer(tl))
			snprintf(tls, sizeof(tls), "%lld",
				 (long long)json_integer_value(tl));
		if (json_is_integer(lag))
			snprintf(lags, sizeof(lags), "%lld",
				 (long long)json_integer_value(lag));
		printf("  %-10s %-16s %-8s %-10s %-4s %-8s %s\n",
		       jstr(v, "name"), jstr(v, "host"), jstr(v, "role"),
		       jstr(v, "state"), tls, lags,
		       json_is_true(json_object_get(v, "pending_restart"))
			       ? "yes"
			       : "no");
	}
	printf("\nhaproxy\n");
	json_array_foreach(json_object_get(doc, "haproxy"), i, v)
	{
		printf("  %-10s", jstr(v, "name"));
		if (json_object_get(v, "error"))
			printf(" %s", jstr(v, "error"));
		json_array_foreach(json_object_get(v, "servers"), k, s)
			printf(" %s/%s:%s", jstr(s, "backend"), jstr(s, "server"),
			       jstr(s, "status"));
		printf("\n");
	}
}

int hp_cmd_status(struct hp_cmd_ctx *ctx)
{
	const struct hp_inventory *inv = ctx->inv;
	struct hp_rest rest;
	struct hp_err err;
	json_t *doc;
	bool healthy = true;

	if (hp_rest_init(&rest, 2000, &err) < 0) {
		fprintf(stderr, "haprov: %s\n", err.msg);
		return HP_EXIT_ERROR;
	}
	doc = json_object();
	json_object_set_new(doc, "cluster", json_string(inv->cluster));
	json_object_set_new(doc, "etcd", etcd_status(inv, &rest, &healthy));
	json_object_set_new(doc, "patroni",
			    patroni_status(inv, &rest, &healthy));
	json_object_set_new(doc, "haproxy",
			    haproxy_status(inv, &rest, &healthy));
	json_object_set_new(doc, "healthy", json_boolean(healthy));
	if (hp_cmd_flag(ctx, "json")) {
		json_dumpf(doc, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		print_status(doc);
	}
	json_decref(doc);
	hp_rest_release(&rest);
	return healthy ? HP_EXIT_OK : HP_EXIT_ERROR;
}
