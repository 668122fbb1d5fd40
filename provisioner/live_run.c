/*
 * What a command acting on a live cluster opens first and closes last
 * (`switchover`, `drill`): signals that stop it cleanly, the cluster lock
 * (no apply, rollback, rotate or other such command at the same time), a
 * run connected to every host, the secrets loaded (never generated: the
 * cluster exists), the REST API's credentials and the stats page's
 * password on the run. And the exit code for its result.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "lock.h"

int hp_live_run_open(struct hp_live_run *lr, const struct hp_cmd_ctx *ctx,
		     const char *name, struct hp_err *err)
{
	const struct hp_inventory *inv = ctx->inv;
	struct hp_run_opts opts;
	int r;

	memset(lr, 0, sizeof(*lr));
	memset(&opts, 0, sizeof(opts));
	opts.accept_new_host_keys = hp_cmd_flag(ctx, "accept-new-host-keys");
	hp_signals_install();
	if ((r = hp_lock_acquire(&lr->lock, inv->state_dir, name, err)) < 0)
		return r;
	hp_run_init(&lr->run, inv, &opts);
	lr->started = true;
	lr->run.phase = name;
	fprintf(stderr, "haprov %s: cluster %s, run %s\n", name, inv->cluster,
		lr->run.run_id);
	if (hp_run_connect(&lr->run, err))
		return HP_ECONNECT;
	if ((r = hp_run_secrets_load(&lr->sec, &lr->run, true, err)) < 0)
		return r;
	lr->run.secrets = &lr->sec.rs;
	lr->run.restapi_user = inv->secrets.restapi_user;
	lr->run.restapi_password = lr->sec.val[HP_SECRET_RESTAPI];
	return 0;
}

void hp_live_run_close(struct hp_live_run *lr)
{
	if (lr->started) {
		lr->run.restapi_password = NULL;
		lr->run.secrets = NULL;
		hp_run_release(&lr->run);
	}
	hp_run_secrets_release(&lr->sec);
	hp_lock_release(lr->lock);
	memset(lr, 0, sizeof(*lr));
}

int hp_live_run_exit(int r)
{
	if (r == 0)
		return HP_EXIT_OK;
	r = r == HP_EINTR ? HP_EXIT_INTERRUPTED : hp_exit_for_error(r);
	return r == HP_EXIT_OK ? HP_EXIT_ERROR : r;
}
