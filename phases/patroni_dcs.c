/*
 * The patroni phase's snapshot: what a rollback point records beside its
 * files is Patroni's dynamic configuration as the leader reports it
 * (state path patroni/dcs.json), so that a rollback can put it back.
 */
#include <stdlib.h>

#include "phases.h"

int hp_patroni_snapshot(struct hp_run *run, json_t **out, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest rest;
	struct hp_rest_resp resp;
	char *leader = NULL;
	int r;

	*out = NULL;
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	hp_rest_resp_init(&resp);
	/* no leader, or no answer: nothing to record (as before a
	 * bootstrap); the next commit records it */
	if (hp_patroni_leader(run, &rest, &leader, NULL, err) == 0 && leader) {
		char *url = hp_url(hp_inventory_host(inv, leader),
				   inv->patroni.restapi_port, "/config");

		if (hp_rest_call(&rest, "GET", url, NULL, &resp, err) == 0 &&
		    resp.status == 200 && json_is_object(resp.json))
			*out = json_incref(resp.json);
		free(url);
	}
	hp_err_clear(err);
	free(leader);
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	return 0;
}
