/*
 * The cluster side of a rotation (rotate.h): the SCRAM verifier by ALTER
 * ROLE on the leader, config.yml and a Patroni reload on every member,
 * and the checks that the new password works, the old one is refused,
 * and nothing restarted or failed over.
 *
 * Why config.yml and a reload (docs/architecture.md, "Rotating
 * secrets"): Patroni re-reads config.yml on a reload; a new superuser or
 * rewind password is used from its next connection, the REST API's
 * credentials from the next request, and a new replication password goes
 * to the replicas' pgpass file, which their WAL receivers read when they
 * next connect (rotate_verify.c makes them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "render.h"
#include "rotate_priv.h"
#include "pglogin.h"
#include "scram.h"
#include "secret_store.h"

static const char *const pg_svcs[] = { "patroni" };

/* ---- what the checks compare with -------------------------------------- */

/* A member's GET /patroni: its postmaster start time (printable, capped)
 * and timeline. */
int hp_rotate_member_state(struct hp_rotate_ctx *c, const struct hp_host *host,
			char **start, long long *timeline, struct hp_err *err)
{
	struct hp_rest_resp resp;
	char *url = hp_url(host, c->run->inv->patroni.restapi_port,
			   "/patroni");
	int r;

	hp_rest_resp_init(&resp);
	r = hp_rest_call(&c->rest, "GET", url, NULL, &resp, err);
	free(url);
	if (r == 0 && (resp.status != 200 || !json_is_object(resp.json)))
		r = hp_err_set(err, HP_EVERIFY,
			       "GET /patroni on %s: status %ld, not a JSON "
			       "object",
			       host->name, resp.status);
	if (r == 0) {
		const char *s = json_string_value(
			json_object_get(resp.json, "postmaster_start_time"));

		*start = hp_printable_dup(s ? s : "", 64);
		*timeline = json_integer_value(
			json_object_get(resp.json, "timeline"));
	}
	hp_rest_resp_release(&resp);
	return r;
}

static void forget_before(struct hp_rotate_ctx *c)
{
	if (c->start)
		for (size_t i = 0; i < c->run->nr_hosts; i++)
			free(c->start[i]);
	free(c->start);
	c->start = NULL;
	free(c->leader);
	c->leader = NULL;
}

/*
 * A Patroni started when /etc/patroni_env.conf still held the passwords
 * (an older haprov) keeps them in its environment, and they override
 * config.yml on every reload until it restarts. Counted by name only:
 * the values are never read.
 */
#define ENV_CHECK                                                          \
	"pid=$(systemctl show -p MainPID --value patroni) && "              \
	"[ \"${pid:-0}\" != 0 ] && tr '\\0' '\\n' </proc/$pid/environ | "   \
	"grep -c '^PATRONI_[A-Z_]*PASSWORD=' || true"

static int env_host(struct hp_hostrun *h, void *arg)
{
	struct hp_buf out = HP_BUF_INIT;
	int r;

	(void)arg;
	r = hp_host_sh_read(h, ENV_CHECK, NULL, 0, 30, &out, &h->err);
	if (r == 0 && out.buf && strtol(out.buf, NULL, 10) > 0)
		r = hp_err_set(&h->err, HP_EINVALID,
			       "Patroni was started with passwords in its "
			       "environment (/etc/patroni_env.conf of an "
			       "older haprov); they override config.yml "
			       "until it restarts. Restart it without "
			       "stopping PostgreSQL: patronictl pause, "
			       "systemctl restart patroni on each member, "
			       "patronictl resume (docs/architecture.md, "
			       "\"Rotating secrets\")");
	hp_buf_release(&out);
	return r;
}

static int first_failure(struct hp_run *run, const char *what,
			 struct hp_err *err)
{
	const struct hp_hostrun *h = hp_run_first_failed(run);

	if (!h)
		return hp_err_set(err, HP_ERROR, "%s failed", what);
	return hp_err_set(err, h->err.code ? h->err.code : HP_ERROR,
			  "%s on %s: %s", what, h->host->name, h->err.msg);
}

int hp_rotate_prepare(void *ctx, const struct hp_rotate_target *t,
		      struct hp_err *err)
{
	struct hp_rotate_ctx *c = ctx;
	struct hp_run *run = c->run;
	size_t i;
	int r;

	forget_before(c);
	if ((r = hp_staged_wait_stable(run, &c->rest, &c->leader, err)) < 0)
		return r;
	if (hp_rotate_in_config(t->kind) &&
	    hp_run_each(run, HP_ROLE_PATRONI, env_host, NULL))
		return first_failure(run, "rotate", err);
	c->start = xcalloc(run->nr_hosts, sizeof(*c->start));
	for (i = 0; i < run->nr_hosts && r == 0; i++) {
		const struct hp_host *host = run->hosts[i].host;
		long long tl = 0;

		if (!(host->roles & HP_ROLE_PATRONI))
			continue;
		r = hp_rotate_member_state(c, host, &c->start[i], &tl, err);
		if (r == 0 && !strcmp(host->name, c->leader))
			c->timeline = tl;
	}
	return r;
}

/* ---- apply ---------------------------------------------------------------- */

/* ALTER ROLE with the verifier on the leader; for replication also the
 * leader's clock right after it, which the reconnection check uses. */
static int alter_role(struct hp_rotate_ctx *c, const struct hp_rotate_target *t,
		      const char *password, struct hp_err *err)
{
	char verifier[HP_SCRAM_VERIFIER_MAX];
	struct hp_buf out = HP_BUF_INIT;
	struct hp_sql s;
	int r;

	hp_sql_init(&s);
	if ((r = hp_scram_verifier_new(verifier, sizeof(verifier), password,
				       err)) < 0 ||
	    (r = hp_sql_var(&s, "r", t->user, err)) < 0 ||
	    (r = hp_sql_var(&s, "v", verifier, err)) < 0)
		goto out;
	hp_sql_add(&s, "ALTER ROLE :\"r\" PASSWORD :'v';");
	hp_sql_add(&s, "SELECT clock_timestamp();");
	r = hp_sql_run(c->run, c->leader, NULL, &s, true, &out, err);
	if (r == 0) {
		size_t n = out.buf ? strcspn(out.buf, "\n") : 0;

		if (n == 0 || n >= sizeof(c->t0) ||
		    strspn(out.buf, "0123456789-:. +") < n)
			r = hp_err_set(err, HP_EREMOTE,
				       "psql on %s: no timestamp after "
				       "ALTER ROLE",
				       c->leader);
		else
			snprintf(c->t0, sizeof(c->t0), "%.*s", (int)n,
				 out.buf);
	}
out:
	explicit_bzero(verifier, sizeof(verifier));
	hp_sql_release(&s);
	hp_buf_release(&out);
	return r;
}

/* config.yml with the run's secrets, then a reload when it changed. */
static int config_host(struct hp_hostrun *h, void *arg)
{
	struct hp_host_plan p = {
		.svcs = pg_svcs, .nr_svcs = 1, .skip_packages = true,
	};
	struct hp_facts facts;
	int r;

	(void)arg;
	r = hp_phase_host_converge(h, "patroni", &p, &facts, &h->err);
	if (r == 0 && facts.nr_svcs == 1)
		r = hp_step_service(h, "patroni", &facts.svcs[0],
				    hp_service_needs(h, "patroni",
						     &facts.svcs[0]),
				    false, &h->err);
	hp_facts_release(&facts);
	return r;
}

/* Point the run's render view of t's secret at value (a copy the context
 * keeps: it is what the cluster holds now). */
static void use_value(struct hp_rotate_ctx *c, const struct hp_rotate_target *t,
		      const char *value)
{
	struct hp_render_secrets *rs = c->run->secrets;
	char *copy = xstrdup(value);

	hp_secret_free(c->cur[t->kind]);
	c->cur[t->kind] = copy;
	switch (t->kind) {
	case HP_ROT_SUPERUSER:
		rs->superuser = copy;
		break;
	case HP_ROT_REPLICATION:
		rs->replication = copy;
		break;
	case HP_ROT_REWIND:
		rs->rewind = copy;
		break;
	case HP_ROT_RESTAPI:
		rs->restapi = copy;
		c->run->restapi_password = copy;
		break;
	default:
		break;
	}
}

int hp_rotate_apply(void *ctx, const struct hp_rotate_target *t,
		    const char *password, struct hp_err *err)
{
	struct hp_rotate_ctx *c = ctx;
	int r;

	if (hp_rotate_is_role(t->kind) &&
	    (r = alter_role(c, t, password, err)) < 0)
		return r;
	if (!hp_rotate_in_config(t->kind))
		return 0;
	use_value(c, t, password);
	if (hp_run_each(c->run, HP_ROLE_PATRONI, config_host, NULL))
		return first_failure(c->run, "config.yml", err);
	return 0;
}

void hp_rotate_ctx_release(struct hp_rotate_ctx *c)
{
	size_t i;

	forget_before(c);
	for (i = 0; i < HP_ARRAY_SIZE(c->cur); i++)
		hp_secret_free(c->cur[i]);
	memset(c->cur, 0, sizeof(c->cur));
}
