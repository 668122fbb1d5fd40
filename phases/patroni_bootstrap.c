/*
 * A new cluster's first start (the patroni phase, no member running yet).
 *
 * The first member starts alone. Patroni takes its initialize key in etcd
 * before it runs initdb, and only the holder bootstraps; every other
 * member that starts then waits for the leader key and clones from its
 * holder. Patroni wakes a waiting member's loop when the leader key
 * appears (its etcd3 watch), so the others need not wait for the leader
 * to be ready before they start: they start as soon as the first member's
 * GET /patroni says it bootstraps, and their Python start-up and first
 * loop run while it is still in initdb. Started before that, any member
 * could win the key and bootstrap, and the inventory's first patroni host
 * would not be the leader.
 *
 * GET /patroni's "state" is PostgreSQL's state as Patroni keeps it:
 * "stopped" before the first loop, "initializing new cluster" from the
 * moment initdb starts (after the key was taken), then "starting" and
 * "running". A state that says the bootstrap failed ends the wait at once,
 * before any other member starts (one of them could otherwise take the key
 * that Patroni gives back after a failed bootstrap).
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"

/* states in which the member holds the initialize key and bootstraps or
 * has bootstrapped */
static const char *const boot_ok[] = {"initializing new cluster",
				      "running custom bootstrap script",
				      "starting", "running", NULL};
/* states in which its bootstrap failed (Patroni's postgresql/bootstrap.py
 * and postgresql/__init__.py) */
static const char *const boot_failed[] = {"initdb failed",
					  "custom bootstrap failed",
					  "start failed", "crashed", NULL};

static bool listed(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

bool hp_patroni_bootstrapping(const struct hp_rest_resp *resp, void *arg,
			      struct hp_buf *why)
{
	struct hp_boot_seen *seen = arg;
	const char *state = json_is_object(resp->json)
				    ? json_string_value(json_object_get(
					      resp->json, "state"))
				    : NULL;

	seen->failed = false;
	seen->state[0] = '\0';
	if (resp->status != 200 || !state) {
		hp_buf_addf(why, "GET /patroni answered %ld without a state",
			    resp->status);
		return false;
	}
	if (strlen(state) >= sizeof(seen->state)) {
		hp_buf_addf(why, "GET /patroni: a state of %zu bytes",
			    strlen(state));
		return false;
	}
	hp_strlcpy(seen->state, state, sizeof(seen->state));
	if (listed(boot_failed, state)) {
		seen->failed = true;
		return true;
	}
	if (listed(boot_ok, state))
		return true;
	{
		char *p = hp_printable_dup(state, sizeof(seen->state));

		hp_buf_addf(why, "its state is '%s'", p);
		free(p);
	}
	return false;
}

/* Poll first's GET /patroni until it bootstraps; its bootstrap failing is
 * an error at once. */
static int wait_key(struct hp_run *run, struct hp_rest *rest,
		    struct hp_hostrun *first, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_boot_seen seen = {"", false};
	char *url = hp_url(first->host, inv->patroni.restapi_port, "/patroni");
	int64_t t = hp_now_ms();
	int r = hp_rest_poll(rest, "GET", url, NULL,
			     inv->validation.timeout_s * 1000, 100,
			     hp_patroni_bootstrapping, &seen, NULL, err);

	free(url);
	if (r == 0 && seen.failed) {
		char *p = hp_printable_dup(seen.state, sizeof(seen.state));

		r = hp_err_set(err, HP_ERROR,
			       "patroni on %s: the bootstrap failed (state "
			       "'%s'; see journalctl -u patroni there); the "
			       "other members were not started",
			       first->host->name, p);
		free(p);
	}
	hp_run_record(run, first->host->name,
		      r < 0 ? HP_STEP_FAILED : HP_STEP_OK, "bootstrap: started",
		      r < 0 ? err->msg : NULL, NULL, t);
	return r;
}

static int wait_primary(struct hp_run *run, struct hp_rest *rest,
			struct hp_hostrun *first, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	char *url = hp_url(first->host, inv->patroni.restapi_port, "/primary");
	int64_t t = hp_now_ms();
	int r;

	hp_rest_resp_init(&resp);
	r = hp_rest_poll(rest, "GET", url, NULL,
			 inv->validation.timeout_s * 1000, 200,
			 hp_patroni_primary_ok, NULL, &resp, err);
	hp_run_record(
		run, first->host->name, r < 0 ? HP_STEP_FAILED : HP_STEP_OK,
		"bootstrap: leader ready", r < 0 ? err->msg : NULL, NULL, t);
	hp_rest_resp_release(&resp);
	free(url);
	return r;
}

int hp_patroni_bootstrap(struct hp_run *run, struct hp_rest *rest,
			 struct hp_hostrun *first, hp_host_fn start, void *arg,
			 struct hp_err *err)
{
	int r;

	run->standbys_new = true;
	if ((r = wait_key(run, rest, first, err)) < 0)
		return r;
	if (hp_run_each(run, HP_ROLE_PATRONI, start, arg))
		return hp_run_failure(run, "patroni: a service failed", err);
	return wait_primary(run, rest, first, err);
}
