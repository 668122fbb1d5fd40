/*
 * The TLS migration's driver (tls_migrate.h): gather what the hosts say,
 * pick the next stage, run it, and check that the facts moved on.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "tls_migrate.h"

static bool rest_https(struct hp_run *run, struct hp_rest *rest,
		       const struct hp_host *host)
{
	struct hp_rest_resp resp;
	struct hp_err err;
	char *url = hp_url_scheme("https", host, run->inv->patroni.restapi_port,
				"/patroni");
	bool ok;

	hp_rest_resp_init(&resp);
	ok = hp_rest_call(rest, "GET", url, NULL, &resp, &err) == 0 &&
	     resp.status == 200 && json_is_object(resp.json);
	hp_rest_resp_release(&resp);
	free(url);
	return ok;
}

void hp_tlsm_gather(struct hp_run *run, struct hp_rest *rest,
		    struct hp_tlsm_facts *f)
{
	const struct hp_inventory *inv = run->inv;
	json_t *list = hp_tlsm_etcd_members(run, rest);
	bool paused = true;
	size_t i;

	memset(f, 0, sizeof(*f));
	f->etcd = xcalloc(inv->nr_hosts + 1, sizeof(*f->etcd));
	f->rest_https = xcalloc(inv->nr_hosts + 1, sizeof(bool));
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];

		if (h->roles & HP_ROLE_ETCD) {
			struct hp_tlsm_etcd_fact *e = &f->etcd[f->nr_etcd++];
			char id[24];

			e->http = hp_tlsm_etcd_healthy(run, rest, h, "http");
			e->https = hp_tlsm_etcd_healthy(run, rest, h, "https");
			if (!list ||
			    !hp_tlsm_member(list, h->name, id, &e->peer_https))
				e->peer_https = false;
		}
		if (h->roles & HP_ROLE_PATRONI) {
			f->rest_https[f->nr_patroni++] =
				rest_https(run, rest, h);
			paused = paused && hp_tlsm_member_paused(run, rest, h);
		}
	}
	f->paused = paused && f->nr_patroni > 0;
	json_decref(list);
}

void hp_tlsm_facts_release(struct hp_tlsm_facts *f)
{
	free(f->etcd);
	free(f->rest_https);
	memset(f, 0, sizeof(*f));
}

/* Stage 1: the certificate files of every phase, nothing restarted. */
static int write_certs(struct hp_run *run, struct hp_err *err)
{
	static const struct {
		const char *phase;
		unsigned role;
	} ph[] = {{"etcd", HP_ROLE_ETCD},
		  {"patroni", HP_ROLE_PATRONI},
		  {"haproxy", HP_ROLE_HAPROXY}};
	struct hp_tlsm_files f = {.certs_only = true};
	struct hp_host_plan p = {.skip_packages = true};
	size_t i, k;
	int r = 0;

	for (i = 0; i < run->nr_hosts && r == 0; i++)
		for (k = 0; k < HP_ARRAY_SIZE(ph) && r == 0; k++) {
			struct hp_hostrun *h = &run->hosts[i];
			struct hp_facts facts;

			if (!(h->host->roles & ph[k].role))
				continue;
			hp_tlsm_files_use(run, &f);
			r = hp_phase_host_converge(h, ph[k].phase, &p, &facts,
						   &h->err);
			hp_tlsm_files_done(run);
			hp_facts_release(&facts);
			if (r < 0)
				*err = h->err;
		}
	return r;
}

/* Stages 3-6 from `from`: pause, etcd clients https, Patroni, resume. */
static int under_pause(struct hp_run *run, enum hp_tlsm_stage from,
		       struct hp_err *err)
{
	struct hp_tlsm_patroni st;
	int r;

	memset(&st, 0, sizeof(st));
	if ((r = hp_tlsm_pause(run, &st, err)) < 0)
		goto out;
	if (from <= HP_TLSM_ETCD_CLIENTS) {
		hp_log_msg(HP_LOG_INFO, __func__, "%s",
			   hp_tlsm_stage_line(HP_TLSM_ETCD_CLIENTS));
		if ((r = hp_tlsm_etcd_roll(run, HP_TLSM_ENV_FINAL, err)) < 0)
			goto out;
	}
	if ((r = hp_tlsm_patroni_roll(run, &st, err)) < 0)
		goto out;
	r = hp_tlsm_resume(run, &st, err);
out:
	if (r < 0 && st.leader)
		hp_warn("the migration stopped with Patroni paused: a new "
			"apply resumes it; `patronictl resume` ends the pause "
			"by hand");
	hp_tlsm_patroni_release(&st);
	return r;
}

static int run_stage(struct hp_run *run, enum hp_tlsm_stage s,
		     struct hp_err *err)
{
	int r;

	switch (s) {
	case HP_TLSM_CERTS:
		if ((r = write_certs(run, err)) < 0)
			return r;
		hp_log_msg(HP_LOG_INFO, __func__, "%s",
			   hp_tlsm_stage_line(HP_TLSM_ETCD_PEERS));
		return hp_tlsm_etcd_roll(run, HP_TLSM_ENV_PEERS, err);
	case HP_TLSM_ETCD_PEERS:
		return hp_tlsm_etcd_roll(run, HP_TLSM_ENV_PEERS, err);
	case HP_TLSM_PAUSE:
	case HP_TLSM_ETCD_CLIENTS:
	case HP_TLSM_PATRONI:
	case HP_TLSM_RESUME:
		return under_pause(run, s, err);
	case HP_TLSM_DONE:
		break;
	}
	return 0;
}

static enum hp_tlsm_stage next_now(struct hp_run *run, struct hp_rest *rest,
				   bool *refused)
{
	struct hp_tlsm_facts f;
	enum hp_tlsm_stage s;

	hp_tlsm_gather(run, rest, &f);
	s = hp_tlsm_next(&f);
	*refused = hp_tlsm_paused_refused(s, f.paused);
	hp_tlsm_facts_release(&f);
	return s;
}

/* The stages one run_stage carries out. */
static const char *stage_span(enum hp_tlsm_stage s)
{
	switch (s) {
	case HP_TLSM_CERTS:
		return "1-2";
	case HP_TLSM_ETCD_PEERS:
		return "2";
	case HP_TLSM_PAUSE:
		return "3-6";
	case HP_TLSM_ETCD_CLIENTS:
		return "4-6";
	default:
		return "5-6";
	}
}

static void print_plan(enum hp_tlsm_stage s)
{
	printf("TLS migration: the cluster runs in plaintext; apply runs "
	       "these stages first, one at a time, each verified:\n");
	for (; s <= HP_TLSM_DONE; s++)
		printf("  %s\n", hp_tlsm_stage_line(s));
}

int hp_tlsm_migrate(struct hp_run *run, struct hp_err *err)
{
	struct hp_rest rest;
	enum hp_tlsm_stage s, was = 0;
	bool refused = false;
	int r;

	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	run->phase = "tls-migrate";
	while ((s = next_now(run, &rest, &refused)) != HP_TLSM_DONE) {
		int64_t t = hp_now_ms();

		if (refused) {
			r = hp_err_set(err, HP_EVERIFY,
				       "TLS migration: Patroni is paused, and "
				       "not by the migration (it pauses at "
				       "stage 3): nothing was changed; resume "
				       "it (patronictl resume) and apply "
				       "again");
			break;
		}

		if (run->opts.plan) {
			print_plan(s);
			break;
		}
		if (s <= was) {
			r = hp_err_set(err, HP_EVERIFY,
				       "TLS migration: after stage %d the "
				       "hosts still say stage %d comes next: "
				       "stopped",
				       (int)was, (int)s);
			break;
		}
		hp_log_msg(HP_LOG_INFO, __func__, "%s", hp_tlsm_stage_line(s));
		if ((r = run_stage(run, s, err)) < 0) {
			hp_err_prefix(err, "TLS migration, stage %d", (int)s);
			break;
		}
		fprintf(stderr,
			"haprov: TLS migration stages %s done in %.1fs\n",
			stage_span(s), (double)(hp_now_ms() - t) / 1000.0);
		was = s;
	}
	run->phase = NULL;
	hp_rest_release(&rest);
	return r;
}
