#ifndef HP_FAKE_PATRONI_H
#define HP_FAKE_PATRONI_H
/*
 * A simulated three-member Patroni cluster behind the REST seam (rest.h's
 * struct hp_rest_ops) for unit tests of staged changes. Unlike the
 * scripted fake_rest.h it keeps state (the leader, pending restarts, the
 * dynamic configuration), so a test can check the order of the actions a
 * run takes; it can script transitions (a member starting, a scheduled
 * switchover, a demotion, a replica not streaming), busy answers, and a
 * 4xx or 5xx answer to a chosen write.
 *
 *	struct sim s;
 *
 *	sim_init(&s, "{\"postgresql\": {\"parameters\": {}}}");
 *	s.fail = "POST /restart"; s.fail_status = 409;
 *	run.rest_ops = &sim_ops; run.rest_ctx = &s;
 *	... code under test ...
 *	assert_string_equal(s.log.buf, "PATCH a;restart b;");
 *	assert_int_equal(s.nr_bad, 0);
 *	sim_release(&s);
 *
 * Everything here is static inline: several test files may include it.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"

/*
 * Three members a, b, c at 10.0.0.1-3. Actions are logged in order
 * ("PATCH a;restart b;switchover a>b;") so a test can check the exact
 * sequence. A PATCH that changes a restart parameter makes every member
 * pending; a restart clears the member's flag; a switchover moves the
 * leader and clears the former leader's flag (its demotion restarts it).
 */
enum sim_transit {
	T_NONE,
	T_STARTING,  /* /cluster: c is "starting" */
	T_SCHEDULED, /* /cluster: a scheduled switchover */
	T_DEMOTED,   /* /cluster: a has role "demoted", no leader */
	T_NOSTREAM,  /* leader's /patroni: c not streaming */
	/* c "start failed" (a bad setting keeps it down; never pending)
	 * until down_ms after the first PATCH, "starting" until
	 * transit_ms after it (Patroni starting it at its next loop) */
	T_DOWN,
};

struct sim {
	bool pending[3];
	int leader;
	json_t *config;
	struct hp_buf log;
	/*
	 * The cluster is in transition for transit_ms from the first
	 * request (-1: for ever); a write then is a bug. A run that waits
	 * looks again after its poll interval (500 ms); one that acts on
	 * what it sees does so within milliseconds.
	 */
	enum sim_transit transit;
	int transit_ms;
	int64_t transit_end;	 /* set by the first request */
	bool transit_on_restart; /* the clock starts at the first restart */
	int nr_transit_answers;	 /* answers that showed the transition */
	bool acted_in_transit;
	int busy;	  /* POST /restart answers 503 "in progress" */
	const char *fail; /* "POST /restart": answer fail_status */
	long fail_status;
	const char *fail_body;
	int nr_writes;
	int failover_on_patch; /* > 0: that member leads after the PATCH */
	int down_ms;		/* T_DOWN */
	int64_t patched_at;	/* T_DOWN: when the first PATCH came */
	/*
	 * flag_ms > 0: a restart parameter's PATCH flags the members
	 * flag_ms later (their next loop), not at once; then a member with
	 * stale[m] (flagged before, it runs the value the PATCH sets)
	 * loses its flag instead.
	 */
	int flag_ms;
	bool stale[3];
	int64_t flag_at;
	int nr_bad; /* requests it could not map, writes without credentials */
};

static inline void sim_init(struct sim *s, const char *config)
{
	memset(s, 0, sizeof(*s));
	hp_buf_init(&s->log, 0);
	s->config = json_loads(config, 0, NULL);
	if (!s->config)
		abort(); /* the test's JSON is broken */
}

static inline void sim_release(struct sim *s)
{
	json_decref(s->config);
	hp_buf_release(&s->log);
}

static inline bool sim_in_transit(const struct sim *s)
{
	/* T_DOWN is what the run repairs, not a transition to wait out */
	if (s->transit == T_NONE || s->transit == T_DOWN || !s->transit_end)
		return false;
	return s->transit_ms < 0 || hp_now_ms() < s->transit_end;
}

static const char *const sim_names[] = {"a", "b", "c"};

/* T_DOWN: member m's state while it is down or starting; NULL when up */
static inline const char *sim_down_state(const struct sim *s, int m)
{
	int64_t now = hp_now_ms();

	if (s->transit != T_DOWN || m != 2)
		return NULL;
	if (!s->patched_at || now < s->patched_at + s->down_ms)
		return "start failed";
	if (now < s->patched_at + s->transit_ms)
		return "starting";
	return NULL;
}

/* flag_ms: the members' loops after the PATCH, once it is time */
static inline void sim_loops(struct sim *s)
{
	int i;

	if (!s->flag_at || hp_now_ms() < s->flag_at)
		return;
	s->flag_at = 0;
	for (i = 0; i < 3; i++)
		s->pending[i] = !s->stale[i] && !sim_down_state(s, i);
}

static inline json_t *sim_cluster(struct sim *s)
{
	json_t *members = json_array(), *c;
	bool transit = sim_in_transit(s);
	int i;

	sim_loops(s);
	for (i = 0; i < 3; i++) {
		const char *role = i == s->leader ? "leader" : "replica";
		const char *state = i == s->leader ? "running" : "streaming";

		if (transit && s->transit == T_STARTING && i == 2)
			state = "starting";
		if (sim_down_state(s, i))
			state = sim_down_state(s, i);
		if (transit && s->transit == T_DEMOTED && i == s->leader)
			role = "demoted";
		json_array_append_new(
			members,
			json_pack("{s:s, s:s, s:s, s:i, s:i, s:b}", "name",
				  sim_names[i], "role", role, "state", state,
				  "timeline", 3, "lag", 0, "pending_restart",
				  s->pending[i]));
	}
	c = json_pack("{s:o}", "members", members);
	if (transit && s->transit == T_SCHEDULED)
		json_object_set_new(c, "scheduled_switchover",
				    json_pack("{s:s}", "from", "a"));
	return c;
}

static inline json_t *sim_patroni(struct sim *s, int m)
{
	const char *st;
	json_t *p;
	int i;

	sim_loops(s);
	st = sim_down_state(s, m);
	p = json_pack("{s:s, s:s}", "state", st ? st : "running", "role",
		      m == s->leader ? "master" : "replica");

	if (s->pending[m])
		json_object_set_new(p, "pending_restart", json_true());
	if (m == s->leader) {
		json_t *repl = json_array();

		for (i = 0; i < 3; i++) {
			bool down = (sim_in_transit(s) &&
				     s->transit == T_NOSTREAM && i == 2) ||
				    sim_down_state(s, i);

			if (i != m)
				json_array_append_new(
					repl, json_pack("{s:s, s:s}",
							"application_name",
							sim_names[i], "state",
							down ? "startup"
							     : "streaming"));
		}
		json_object_set_new(p, "replication", repl);
	}
	return p;
}

/* Merge a PATCH into cfg: null removes, objects recurse. */
static inline void sim_merge(json_t *cfg, const json_t *patch)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)(uintptr_t)patch, k, v)
	{
		json_t *old = json_object_get(cfg, k);

		if (json_is_null(v))
			json_object_del(cfg, k);
		else if (json_is_object(v) && json_is_object(old))
			sim_merge(old, v);
		else
			json_object_set(cfg, k, v);
	}
}

static inline int sim_write(struct sim *s, int m, const char *method,
			    const char *path, const json_t *body, long *status,
			    char **out)
{
	if (!strcmp(method, "PATCH") && !strcmp(path, "/config")) {
		/* a patch that changes nothing only wakes the member's loop
		 * (hp_patroni_nudge): logged as such, no write */
		json_t *after = json_deep_copy(s->config);
		bool same;

		sim_merge(after, body);
		same = json_equal(after, s->config);
		json_decref(after);
		if (same) {
			hp_buf_addf(&s->log, "wake %s;", sim_names[m]);
			*out = json_dumps(s->config, JSON_COMPACT);
			return 0;
		}
	}
	s->nr_writes++;
	if (sim_in_transit(s))
		s->acted_in_transit = true;
	if (!strcmp(method, "PATCH") && !strcmp(path, "/config")) {
		const json_t *pp = json_object_get(
			json_object_get(body, "postgresql"), "parameters");

		hp_buf_addf(&s->log, "PATCH %s;", sim_names[m]);
		sim_merge(s->config, body);
		if (s->failover_on_patch)
			s->leader = s->failover_on_patch;
		if (s->flag_ms && (json_object_get(pp, "max_connections") ||
				   json_object_get(pp, "shared_buffers")))
			s->flag_at = hp_now_ms() + s->flag_ms;
		else if (json_object_get(pp, "max_connections") ||
			 json_object_get(pp, "shared_buffers"))
			s->pending[0] = s->pending[1] = s->pending[2] = true;
		/* Patroni flags no restart on a member that is down */
		if (sim_down_state(s, 2))
			s->pending[2] = false;
		if (s->transit == T_DOWN && !s->patched_at)
			s->patched_at = hp_now_ms();
		*out = json_dumps(s->config, JSON_COMPACT);
	} else if (!strcmp(path, "/restart")) {
		if (s->busy > 0) {
			s->busy--;
			*status = 503;
			*out = xstrdup("demote already in progress");
			return 0;
		}
		hp_buf_addf(&s->log, "restart %s;", sim_names[m]);
		if (s->transit_on_restart && !s->transit_end)
			s->transit_end = hp_now_ms() + s->transit_ms;
		s->pending[m] = false;
		*out = xstrdup("restarted successfully");
	} else if (!strcmp(path, "/switchover")) {
		const char *l =
			json_string_value(json_object_get(body, "leader"));
		const char *c =
			json_string_value(json_object_get(body, "candidate"));
		int i;

		if (!l || !c || strcmp(l, sim_names[s->leader])) {
			*status = 412;
			*out = xstrdup("leader name does not match");
			return 0;
		}
		hp_buf_addf(&s->log, "switchover %s>%s;", l, c);
		s->pending[s->leader] = false;
		for (i = 0; i < 3; i++)
			if (!strcmp(c, sim_names[i]))
				s->leader = i;
		*out = xasprintf("Successfully switched over to \"%s\"", c);
	} else {
		return -1;
	}
	*status = 200;
	return 0;
}

static inline int sim_call(void *ctx, const struct hp_rest *r,
			   const char *method, const char *url,
			   const json_t *body, struct hp_rest_resp *resp,
			   struct hp_err *err)
{
	struct sim *s = ctx;
	const char *p = strstr(url, "10.0.0.");
	const char *path = p ? strchr(p, '/') : NULL;
	char *out = NULL, *what = NULL;
	long status = 200;
	int m;

	if (!s->transit_end && !s->transit_on_restart)
		s->transit_end = hp_now_ms() + s->transit_ms;
	m = p ? p[7] - '1' : -1;
	if (!path || m < 0 || m > 2) {
		s->nr_bad++;
		return hp_err_set(err, HP_ECONNECT, "sim: bad url %s", url);
	}
	what = xasprintf("%s %s", method, path);
	if (strcmp(method, "GET") != 0 &&
	    (!r->user || strcmp(r->user, "patroni") != 0 || !r->password))
		s->nr_bad++; /* writes carry the REST API credentials */
	if (s->fail && !strcmp(s->fail, what)) {
		status = s->fail_status;
		out = xstrdup(s->fail_body ? s->fail_body : "error");
	} else if (!strcmp(method, "GET") && !strcmp(path, "/cluster")) {
		json_t *c = sim_cluster(s);

		out = json_dumps(c, JSON_COMPACT);
		json_decref(c);
		if (s->transit != T_NOSTREAM && sim_in_transit(s))
			s->nr_transit_answers++;
	} else if (!strcmp(method, "GET") && !strcmp(path, "/patroni")) {
		json_t *c = sim_patroni(s, m);

		out = json_dumps(c, JSON_COMPACT);
		json_decref(c);
		if (s->transit == T_NOSTREAM && m == s->leader &&
		    sim_in_transit(s))
			s->nr_transit_answers++;
	} else if (!strcmp(method, "GET") && !strcmp(path, "/config")) {
		out = json_dumps(s->config, JSON_COMPACT);
	} else if (!strcmp(method, "GET") && !strcmp(path, "/primary")) {
		/* what HAProxy's check asks: 200 on the leader only */
		status = m == s->leader ? 200 : 503;
		out = xstrdup("{}");
	} else {
		if (sim_write(s, m, method, path, body, &status, &out) < 0) {
			s->nr_bad++;
			free(what);
			return hp_err_set(err, HP_ECONNECT, "sim: %s %s",
					  method, url);
		}
	}
	free(what);
	resp->status = status;
	hp_buf_adds(&resp->body, out);
	free(out);
	return 0;
}

static const struct hp_rest_ops sim_ops = {sim_call};

#endif
