/*
 * The drill's stages, watched from members the fault did not hit, every
 * 50 ms, each source asked only until its stage was seen:
 *
 *   key       etcd: POST /v3/kv/range of <namespace><scope>/leader; the
 *             key absent or naming another member;
 *   leader    Patroni: GET /cluster names a leader other than the victim;
 *   promoted  the new leader's GET /patroni: a timeline past the old one;
 *   haproxy   the probe's HAProxy: its stats show the primary backend
 *             routing to one server again after it changed (the new
 *             leader, or the victim again after an in-place restart);
 *   write     the probe's first acknowledged write after the fault.
 *
 * Each request has a short timeout (a member that stalls costs one slow
 * round, not the trial). Answers are hostile: checked, never printed raw.
 */
#include <stdlib.h>
#include <string.h>

#include "drill.h"
#include "phases.h"
#include "render.h"
#include "staged_priv.h"
#include "tls_priv.h"

#define WATCH_EVERY_MS 50
#define WATCH_REQ_MS 400

const char *const hp_drill_stage_names[HP_DS_NR] = {
	"key", "leader", "promoted", "haproxy", "write", "gap",
};

char *hp_drill_leader_key(const struct hp_inventory *inv)
{
	return hp_patroni_dcs_key(inv, "leader");
}

int hp_drill_etcd_value(const json_t *answer, char *out, size_t len,
			struct hp_err *err)
{
	const json_t *kvs = json_object_get(answer, "kvs");
	const char *v;
	unsigned char *raw = NULL;
	size_t n = 0;

	*out = '\0';
	if (!json_is_object(answer) || !json_is_object(
						json_object_get(answer, "header")))
		return hp_err_set(err, HP_EVERIFY,
				  "etcd's range answer is not an object with "
				  "a header");
	if (!kvs || (json_is_array(kvs) && json_array_size(kvs) == 0))
		return 0; /* the key is absent */
	if (!json_is_array(kvs) || json_array_size(kvs) != 1 ||
	    !(v = json_string_value(
		      json_object_get(json_array_get(kvs, 0), "value"))))
		return hp_err_set(err, HP_EVERIFY,
				  "etcd's range answer for the leader key "
				  "has no single string value");
	if (strlen(v) > (size_t)4 * HP_DRILL_NAME_MAX ||
	    hp_tls_b64_decode(&raw, &n, v, err) < 0) {
		free(raw);
		return hp_err_set(err, HP_EVERIFY,
				  "etcd's leader key holds no base64 name");
	}
	if (n >= len || memchr(raw, '\0', n)) {
		free(raw);
		return hp_err_set(err, HP_EVERIFY,
				  "etcd's leader key holds no member name");
	}
	memcpy(out, raw, n);
	out[n] = '\0';
	free(raw);
	return 0;
}

int hp_drill_primary_up(const char *csv, size_t len, char *out, size_t olen,
			struct hp_err *err)
{
	struct hp_buf up = HP_BUF_INIT;
	json_t *servers;
	int r;

	if ((r = hp_haproxy_servers(csv, len, &servers, err)) < 0)
		return r;
	hp_haproxy_up_servers(servers, "primary", &up);
	json_decref(servers);
	hp_strlcpy(out, up.buf ? up.buf : "", olen);
	hp_buf_release(&up);
	return 0;
}

/* The REST clients of one watch: the run's TLS; the stats page's basic
 * auth on its own client. */
struct clients {
	struct hp_rest rest, stats;
	char *key_b64;
};

static int clients_init(struct hp_drill_watch *w, struct clients *c,
			struct hp_err *err)
{
	char *key = hp_drill_leader_key(w->run->inv);
	int r;

	memset(c, 0, sizeof(*c));
	c->key_b64 = hp_base64(key, strlen(key));
	free(key);
	if ((r = hp_run_rest_init(w->run, &c->rest, WATCH_REQ_MS, err)) < 0 ||
	    (r = hp_run_rest_init(w->run, &c->stats, WATCH_REQ_MS, err)) < 0)
		return r;
	if (w->run->secrets && w->run->secrets->haproxy_stats) {
		c->stats.user = HP_HAPROXY_STATS_USER;
		c->stats.password = w->run->secrets->haproxy_stats;
	}
	return 0;
}

static void clients_release(struct clients *c)
{
	hp_rest_release(&c->rest);
	hp_rest_release(&c->stats);
	free(c->key_b64);
}

/* One GET/POST; the answer in resp when it came with status 200. */
static bool ask(struct hp_rest *rest, const char *method,
		const struct hp_host *h, int port, const char *path,
		const json_t *body, struct hp_rest_resp *resp)
{
	struct hp_err e;
	char *url = hp_url(h, port, path);
	int r = hp_rest_call(rest, method, url, body, resp, &e);

	free(url);
	return r == 0 && resp->status == 200;
}

static void seen(struct hp_drill_watch *w, struct hp_drill_trial *t,
		 enum hp_drill_stage s, int64_t at)
{
	if (t->at[s] < 0)
		t->at[s] = at - w->t0;
}

static int watch_key(struct hp_drill_watch *w, struct clients *c,
		     struct hp_drill_trial *t, struct hp_err *err)
{
	struct hp_rest_resp resp;
	char val[HP_DRILL_NAME_MAX];
	json_t *body = json_pack("{ss}", "key", c->key_b64);
	int r = 0;

	hp_rest_resp_init(&resp);
	if (ask(&c->rest, "POST", w->etcd, w->run->inv->etcd.client_port,
		"/v3/kv/range", body, &resp) &&
	    (r = hp_drill_etcd_value(resp.json, val, sizeof(val), err)) == 0 &&
	    strcmp(val, w->victim) != 0)
		seen(w, t, HP_DS_KEY, hp_now_ms());
	json_decref(body);
	hp_rest_resp_release(&resp);
	return r;
}

/* The leader GET /cluster names (an inventory member), or none. */
static int watch_leader(struct hp_drill_watch *w, struct clients *c,
			struct hp_drill_trial *t, struct hp_err *err)
{
	struct hp_rest_resp resp;
	struct hp_buf why = HP_BUF_INIT;
	const char *leader = NULL;
	bool stable;
	int r = 0;

	hp_rest_resp_init(&resp);
	if (ask(&c->rest, "GET", w->patroni,
		w->run->inv->patroni.restapi_port, "/cluster", NULL, &resp) &&
	    (r = hp_staged_cluster_check(w->run->inv, resp.json, &leader,
					 &stable, NULL, &why, err)) == 0 &&
	    leader && strcmp(leader, w->victim) != 0) {
		hp_strlcpy(t->new_leader, leader, sizeof(t->new_leader));
		seen(w, t, HP_DS_LEADER, hp_now_ms());
	}
	hp_buf_release(&why);
	hp_rest_resp_release(&resp);
	return r;
}

static void watch_promoted(struct hp_drill_watch *w, struct clients *c,
			   struct hp_drill_trial *t)
{
	const struct hp_host *h = hp_inventory_host(w->run->inv,
						    t->new_leader);
	struct hp_rest_resp resp;
	const json_t *tl;

	hp_rest_resp_init(&resp);
	if (h && ask(&c->rest, "GET", h, w->run->inv->patroni.restapi_port,
		     "/patroni", NULL, &resp) &&
	    json_is_integer(tl = json_object_get(resp.json, "timeline")) &&
	    json_integer_value(tl) > w->old_timeline)
		seen(w, t, HP_DS_PROMOTED, hp_now_ms());
	hp_rest_resp_release(&resp);
}

/* HAProxy: the primary backend changed from [victim], then routes to one
 * server again: the new leader's, or the victim's after a restart. */
static int watch_haproxy(struct hp_drill_watch *w, struct clients *c,
			 struct hp_drill_trial *t, bool *changed,
			 struct hp_err *err)
{
	struct hp_rest_resp resp;
	char up[256];
	int r = 0;

	hp_rest_resp_init(&resp);
	if (ask(&c->stats, "GET", w->haproxy, w->run->inv->haproxy.stats_port,
		"/stats;csv", NULL, &resp) &&
	    (r = hp_drill_primary_up(resp.body.buf, resp.body.len, up,
				     sizeof(up), err)) == 0) {
		const char *want = t->new_leader[0] ? t->new_leader : w->victim;

		if (strcmp(up, w->victim) != 0)
			*changed = true;
		if (*changed && !strcmp(up, want))
			seen(w, t, HP_DS_HAPROXY, hp_now_ms());
	}
	hp_rest_resp_release(&resp);
	return r;
}

static int watch_round(struct hp_drill_watch *w, struct clients *c,
		       struct hp_drill_trial *t, bool *changed,
		       struct hp_err *err)
{
	int64_t first;
	int r = 0;

	if (t->at[HP_DS_KEY] < 0 && w->etcd &&
	    (r = watch_key(w, c, t, err)) < 0)
		return r;
	if (t->at[HP_DS_LEADER] < 0 && w->patroni &&
	    (r = watch_leader(w, c, t, err)) < 0)
		return r;
	if (t->at[HP_DS_PROMOTED] < 0 && t->new_leader[0])
		watch_promoted(w, c, t);
	if (t->at[HP_DS_HAPROXY] < 0 && w->haproxy &&
	    (r = watch_haproxy(w, c, t, changed, err)) < 0)
		return r;
	if (t->at[HP_DS_WRITE] < 0 &&
	    (first = hp_probe_first_ack_after(w->probe, w->t0)) >= 0)
		seen(w, t, HP_DS_WRITE, first);
	return 0;
}

/* The longest write gap from the fault on; after a switchover (the
 * leader served on for a while after it began) the RTO is the write that
 * ended that gap, not the first after the fault. */
static void gap_stages(struct hp_drill_watch *w, struct hp_drill_trial *t)
{
	int64_t end = -1;

	t->at[HP_DS_GAP] = hp_probe_longest_gap(w->probe, w->t0, &end);
	if (w->rto_after_gap && end >= w->t0)
		t->at[HP_DS_WRITE] = end - w->t0;
}

int hp_drill_watch(struct hp_drill_watch *w, struct hp_drill_trial *t,
		   struct hp_err *err)
{
	struct clients c;
	bool changed = false;
	int extra = 0, r;

	if ((r = clients_init(w, &c, err)) < 0) {
		clients_release(&c);
		return r;
	}
	for (;;) {
		int64_t round = hp_now_ms();

		if ((r = watch_round(w, &c, t, &changed, err)) < 0)
			break;
		/* one more round after the write: a stage polled just
		 * before it is not missed */
		if (t->at[HP_DS_WRITE] >= 0 && w->fault_done && extra++ > 0)
			break;
		if (hp_interrupted()) {
			r = hp_err_set(err, HP_EINTR, "interrupted");
			break;
		}
		if (t->at[HP_DS_WRITE] < 0 &&
		    hp_now_ms() - w->t0 > w->deadline_ms) {
			char last[256];

			hp_probe_last_error(w->probe, last, sizeof(last));
			r = hp_err_set(err, HP_ETIMEOUT,
				       "no write acknowledged within %d s of "
				       "the fault (the probe's last error: %s)",
				       w->deadline_ms / 1000, last);
			break;
		}
		round = WATCH_EVERY_MS - (hp_now_ms() - round);
		if (round > 0)
			hp_sleep_ms((int)round);
	}
	clients_release(&c);
	if (r == 0)
		gap_stages(w, t);
	return r;
}
