/*
 * Each consumer of the trust bundle picks a stage's files up
 * (docs/architecture.md, "Rotating the CA"):
 *   etcd 3.4 reads its trusted CA when its listeners start: a member
 *     whose process is older than its ca.crt is restarted, one at a time,
 *     the cluster healthy with every member before the next (the etcd
 *     phase restarts the members whose file it changed the same way; this
 *     catches those a resumed rotation wrote before it was interrupted);
 *   PostgreSQL re-reads ssl_ca_file and its certificate on a reload, which
 *     Patroni does not do for a file whose name did not change:
 *     pg_reload_conf() on every member;
 *   HAProxy reads ca-file and crt on a reload: every HAProxy host.
 * Patroni's etcd client (urllib3) loads the CA file for every new
 * connection. Its REST API loads certfile, keyfile AND cafile again only
 * when a SIGHUP finds certfile's serial changed, and Patroni handles the
 * SIGHUP at the start of its next HA cycle (up to loop_wait later, not
 * when systemctl reload returns): every member is waited for until :8008
 * serves the certificate on disk (reloaded once more if it does not), so
 * the next stage's client certificate is trusted before it is used. That
 * is why stage 2 and stage 3 both issue host certificates: stage 3's new
 * serial is what makes the REST server drop the old CA. Patroni is never
 * restarted.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "rotate_ca_priv.h"

#define ETCD_STALE                                                             \
	"pid=$(systemctl show -p MainPID --value etcd) && "                    \
	"[ \"${pid:-0}\" != 0 ] && "                                           \
	"st=$(( $(date +%s) - $(ps -o etimes= -p \"$pid\") )) && "             \
	"mt=$(stat -c %Y /etc/etcd/tls/ca.crt) && "                            \
	"if [ \"$st\" -gt \"$mt\" ]; then echo fresh; else echo stale; fi"

int hp_ca_etcd_stale(const char *out, bool *stale)
{
	if (!out)
		return HP_EVERIFY;
	if (!strncmp(out, "fresh", 5))
		*stale = false;
	else if (!strncmp(out, "stale", 5))
		*stale = true;
	else
		return HP_EVERIFY;
	return 0;
}

static int etcd_host(struct hp_hostrun *h, void *arg)
{
	struct hp_buf out = HP_BUF_INIT;
	bool stale = false;
	int r;

	(void)arg;
	r = hp_host_sh_read(h, ETCD_STALE, NULL, 0, 30, &out, &h->err);
	if (r == 0 && hp_ca_etcd_stale(out.buf, &stale) < 0)
		r = hp_err_set(&h->err, HP_EVERIFY,
			       "cannot tell when etcd started");
	hp_buf_release(&out);
	if (r == 0 && stale) {
		hp_run_record(h->run, h->host->name, HP_STEP_CHANGED,
			      "etcd restart", "trust bundle changed", NULL,
			      hp_now_ms());
		r = hp_host_sh(h, "systemctl restart etcd", NULL, 0, 120, NULL,
			       &h->err);
		/* healthy, with every member and one leader, before the next */
		if (r == 0)
			r = hp_etcd_verify(h->run, &h->err);
	}
	return r;
}

static int patroni_host(struct hp_hostrun *h, void *arg)
{
	(void)arg;
	return hp_patroni_cert_served(h, &h->err);
}

static int haproxy_host(struct hp_hostrun *h, void *arg)
{
	(void)arg;
	return hp_host_sh(h, "systemctl reload haproxy", NULL, 0, 60, NULL,
			  &h->err);
}

static int pg_host(struct hp_hostrun *h, void *arg)
{
	struct hp_buf out = HP_BUF_INIT;
	struct hp_sql s;
	int r;

	(void)arg;
	hp_sql_init(&s);
	hp_sql_add(&s, "SELECT pg_reload_conf();");
	r = hp_sql_run(h->run, h->host->name, "postgres", &s, false, &out,
		       &h->err);
	hp_sql_release(&s);
	hp_buf_release(&out);
	return r;
}

int hp_ca_pickup(struct hp_run *run, struct hp_err *err)
{
	int r = hp_run_serial(run, HP_ROLE_ETCD, NULL, etcd_host, NULL, err);

	if (r == 0)
		r = hp_run_serial(run, HP_ROLE_PATRONI, NULL, patroni_host,
				  NULL, err);
	if (r == 0)
		r = hp_run_serial(run, HP_ROLE_PATRONI, NULL, pg_host, NULL,
				  err);
	if (r == 0)
		r = hp_run_serial(run, HP_ROLE_HAPROXY, NULL, haproxy_host,
				  NULL, err);
	return r;
}
