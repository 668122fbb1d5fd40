/*
 * The migration's decisions (tls_migrate.h): which stage comes next from
 * what the hosts say, so that an apply that stopped half-way resumes
 * where it stopped; the quorum rule; the pause rule.
 */
#include "phases.h"
#include "tls_migrate.h"

/* Every etcd member has https (peer false) or https peer URLs (true). */
static bool etcd_all(const struct hp_tlsm_facts *f, bool peer)
{
	size_t i;

	for (i = 0; i < f->nr_etcd; i++)
		if (!(peer ? f->etcd[i].peer_https : f->etcd[i].https))
			return false;
	return true;
}

static bool etcd_any_http(const struct hp_tlsm_facts *f)
{
	size_t i;

	for (i = 0; i < f->nr_etcd; i++)
		if (f->etcd[i].http)
			return true;
	return false;
}

enum hp_tlsm_stage hp_tlsm_next(const struct hp_tlsm_facts *f)
{
	size_t i;

	if (etcd_any_http(f)) {
		/* the certificates (written again, unchanged, if they are
		 * there) and the peers */
		if (!etcd_all(f, true))
			return HP_TLSM_CERTS;
		return f->paused ? HP_TLSM_ETCD_CLIENTS : HP_TLSM_PAUSE;
	}
	/* etcd https only: the Patroni members still on http */
	for (i = 0; i < f->nr_patroni; i++)
		if (!f->rest_https[i])
			return HP_TLSM_PATRONI;
	return HP_TLSM_DONE;
}

const char *hp_tlsm_stage_line(enum hp_tlsm_stage s)
{
	switch (s) {
	case HP_TLSM_CERTS:
		return "1. certificate files to every host (nothing names them "
		       "yet)";
	case HP_TLSM_ETCD_PEERS:
		return "2. etcd peers to https, one member at a time (member "
		       "update, restart); clients still http";
	case HP_TLSM_PAUSE:
		return "3. Patroni paused (no failover, PostgreSQL runs on "
		       "whatever Patroni does)";
	case HP_TLSM_ETCD_CLIENTS:
		return "4. etcd clients https only, one member at a time "
		       "(paused Patroni members lose their DCS until stage 5)";
	case HP_TLSM_PATRONI:
		return "5. Patroni restarted one member at a time, the leader "
		       "first, with https REST and etcd; PostgreSQL ssl on by "
		       "reload; HAProxy check-ssl per member";
	case HP_TLSM_RESUME:
		return "6. Patroni unpaused, the cluster verified";
	case HP_TLSM_DONE:
		return "7. the normal phases";
	}
	return "?";
}

bool hp_tlsm_quorum_ok(size_t n, size_t healthy)
{
	if (n == 0 || healthy < n)
		return false;
	return n == 1 || n - 1 >= n / 2 + 1;
}

bool hp_tlsm_paused_refused(enum hp_tlsm_stage next, bool paused)
{
	return paused && next < HP_TLSM_PAUSE;
}
