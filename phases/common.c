/* What the phases share: the phase table, the per-host converge sequence,
 * rendering a host's files for a phase, and the state-repository commit. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bootstrap.h"
#include "phases.h"
#include "render.h"
#include "restore.h"
#include "shell.h"
#include "state.h"

static const char *const etcd_files[] = { "etcd-ca.crt", "etcd.crt",
					   "etcd.key", "etcd.env",
					   "etcd-dropin.conf", NULL };
static const char *const patroni_files[] = { "createcluster.conf",
					      "patroni-ca.crt",
					      "patroni-host.crt",
					      "patroni-host.key",
					      "patroni.yml",
					      "patroni_env.conf", NULL };
static const char *const haproxy_files[] = { "haproxy-dropin.conf",
					      "haproxy_env.conf",
					      "haproxy-ca.crt",
					      "haproxy-stats.pem",
					      "haproxy.cfg", NULL };
static const char *const pgb_files[] = { "pgbouncer-userlist.txt",
					  "pgbouncer-listen.ini",
					  "pgbouncer.ini", NULL };
static const char *const vip_files[] = { "keepalived-auth.conf",
					  "keepalived.conf", NULL };
static const char *const etcd_svcs[] = { "etcd", NULL };
static const char *const patroni_svcs[] = { "patroni", NULL };
static const char *const pgb_svcs[] = { "pgbouncer", NULL };
static const char *const haproxy_svcs[] = { "haproxy", NULL };
static const char *const vip_svcs[] = { "keepalived", NULL };
static const char *const patroni_dcs[] = { HP_DCS_REST, NULL };
static const char *const extensions_dcs[] = { "shared_preload_libraries",
					      NULL };
/* tuning.wal_device's facts: both phases check the volume */
static const struct hp_read_ahead *const wal_reads[] = { &hp_wal_read_ahead,
							 NULL };
/* and the data directory's and wal_dir's owner and mode */
static const struct hp_read_ahead *const patroni_reads[] = {
	&hp_wal_read_ahead, &hp_patroni_dirs_read_ahead, NULL
};
/* the primary backend's servers: a drain left behind? */
static const struct hp_read_ahead *const haproxy_reads[] = {
	&hp_haproxy_state_read_ahead, NULL
};
static const char *const tuning_dcs[] = {
	"checkpoint_timeout", "checkpoint_completion_target", "max_wal_size",
	"min_wal_size", "wal_buffers", "wal_compression", NULL
};

/* The phases, in the order they run: one row per phase. */
const struct hp_phase hp_phases[] = {
	{ .name = "etcd",
	  .role = HP_ROLE_ETCD,
	  .summary = "the etcd cluster Patroni keeps its state in",
	  .files = etcd_files,
	  .packages = hp_etcd_packages,
	  .services = etcd_svcs,
	  .converge = hp_etcd_converge,
	  .verify = hp_etcd_verify },
	{ .name = "patroni",
	  .role = HP_ROLE_PATRONI,
	  .summary = "PostgreSQL under Patroni, and its dynamic configuration",
	  .files = patroni_files,
	  .packages = hp_patroni_packages,
	  .also_installs = hp_patroni_also_installs,
	  .services = patroni_svcs,
	  .reads_ahead = patroni_reads,
	  .converge = hp_patroni_converge,
	  .verify = hp_patroni_verify,
	  .snapshot = hp_patroni_snapshot,
	  .snapshot_path = "patroni/dcs.json",
	  .dcs_params = patroni_dcs },
	{ .name = "pgbouncer",
	  .role = HP_ROLE_PGBOUNCER,
	  .summary = "PgBouncer pooling each patroni host's connections",
	  .files = pgb_files,
	  .packages = hp_pgbouncer_packages,
	  .services = pgb_svcs,
	  .converge = hp_pgbouncer_converge,
	  .verify = hp_pgbouncer_verify },
	{ .name = "haproxy",
	  .role = HP_ROLE_HAPROXY,
	  .summary = "HAProxy routing to the leader and the replicas",
	  .files = haproxy_files,
	  .packages = hp_haproxy_packages,
	  .services = haproxy_svcs,
	  .reads_ahead = haproxy_reads,
	  .converge = hp_haproxy_converge,
	  .verify = hp_haproxy_verify },
	{ .name = "vip",
	  .role = HP_ROLE_VIP,
	  .summary = "a virtual IP (keepalived) on the haproxy hosts",
	  .files = vip_files,
	  .packages = hp_vip_packages,
	  .services = vip_svcs,
	  .converge = hp_vip_converge,
	  .verify = hp_vip_verify },
	{ .name = "secrets",
	  .role = HP_ROLE_PATRONI,
	  .summary = "application roles, their passwords and databases",
	  .converge = hp_secrets_converge,
	  .verify = hp_secrets_verify },
	{ .name = "extensions",
	  .role = HP_ROLE_PATRONI,
	  .summary = "extension packages, preloaded libraries, and each "
		     "database's extensions",
	  .packages = hp_extensions_packages,
	  .converge = hp_extensions_converge,
	  .verify = hp_extensions_verify,
	  .dcs_params = extensions_dcs },
	{ .name = "tuning",
	  .role = HP_ROLE_PATRONI,
	  .summary = "checkpoint and WAL settings, pg_wal on its own volume",
	  .reads_ahead = wal_reads,
	  .converge = hp_tuning_converge,
	  .verify = hp_tuning_verify,
	  .dcs_params = tuning_dcs },
};
const size_t hp_phases_nr = HP_ARRAY_SIZE(hp_phases);

const struct hp_phase *hp_phase_find(const char *name)
{
	size_t i;

	for (i = 0; i < hp_phases_nr; i++)
		if (!strcmp(hp_phases[i].name, name))
			return &hp_phases[i];
	return NULL;
}

static bool list_has(const char *const *l, const char *s, bool icase)
{
	for (; l && *l; l++)
		if (icase ? !strcasecmp(*l, s) : !strcmp(*l, s))
			return true;
	return false;
}

const struct hp_phase *hp_phase_dcs_owner(const struct hp_phase *t,
					  size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (list_has(t[i].dcs_params, HP_DCS_REST, false))
			return &t[i];
	return NULL;
}

const struct hp_phase *hp_phase_file_owner(const struct hp_phase *t,
					   size_t nr, const char *name)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (list_has(t[i].files, name, false))
			return &t[i];
	return NULL;
}

/* Every rendered template has exactly one owner, and every template a
 * phase names is rendered. */
static int check_files(const struct hp_phase *t, size_t nr,
		       struct hp_err *err)
{
	const char *tpl;
	size_t i, k, n;

	for (k = 0; (tpl = hp_render_file_template(k)); k++) {
		for (i = n = 0; i < nr; i++)
			n += list_has(t[i].files, tpl, false);
		if (n != 1)
			return hp_err_set(err, HP_ERROR,
					  "template %s is owned by %zu phases, "
					  "not one",
					  tpl, n);
	}
	for (i = 0; i < nr; i++) {
		const char *const *f;

		for (f = t[i].files; f && *f; f++) {
			for (k = 0; (tpl = hp_render_file_template(k)); k++)
				if (!strcmp(tpl, *f))
					break;
			if (!tpl)
				return hp_err_set(err, HP_ERROR,
						  "phase %s names template %s, "
						  "which nothing renders",
						  t[i].name, *f);
		}
	}
	return 0;
}

int hp_phase_table_check(const struct hp_phase *t, size_t nr,
			 struct hp_err *err)
{
	size_t i, j, rest = 0;
	int r;

	if ((r = check_files(t, nr, err)) < 0)
		return r;
	for (i = 0; i < nr; i++) {
		const char *const *p;

		for (p = t[i].dcs_params; p && *p; p++) {
			if (!strcmp(*p, HP_DCS_REST)) {
				rest++;
				continue;
			}
			for (j = 0; j < nr; j++)
				if (j != i && list_has(t[j].dcs_params, *p,
						       true))
					return hp_err_set(
						err, HP_ERROR,
						"DCS parameter %s is owned by "
						"phases %s and %s",
						*p, t[i].name, t[j].name);
		}
	}
	if (rest != 1)
		return hp_err_set(err, HP_ERROR,
				  "%zu phases own the rest of the DCS, not one",
				  rest);
	return 0;
}

bool hp_dcs_in_scope(const struct hp_dcs_scope *s, const char *path,
		     const char *key)
{
	if (!s || !s->phase)
		return true;
	if (!strcmp(path, "postgresql.parameters")) {
		size_t i;

		if (list_has(s->phase->dcs_params, key, true))
			return true;
		/* a parameter another phase owns is not the rest's */
		for (i = 0; i < s->nr; i++)
			if (list_has(s->table[i].dcs_params, key, true))
				return false;
	}
	return list_has(s->phase->dcs_params, HP_DCS_REST, false);
}

struct hp_dcs_scope hp_run_dcs_scope(const struct hp_run *run)
{
	struct hp_dcs_scope s = { run->phase_table, run->phase_table_nr,
				  run->phase_entry };

	/* a rollback puts the whole point back */
	if (hp_desired_point(run))
		s.phase = NULL;
	return s;
}

/*
 * A staged pass goes host by host because a change (a restart) must be
 * healthy on one host before the next one gets it. A host with nothing to
 * change needs no such order, so every host's pass first runs at once as
 * a plan (read only): the hosts where it found nothing to change and
 * nothing failed keep those results (keep[i] true), and only the others
 * are left for the host-by-host pass, which reads everything again. The
 * last entry of keep (lines of no host) is true. What a host's probe
 * counted as changed is forgotten when the host is left for the pass.
 */
static bool *probe_hosts(struct hp_run *run, unsigned role, hp_host_fn fn,
			 void *arg)
{
	bool *keep = xcalloc(run->nr_hosts + 1, sizeof(*keep));
	bool *failed = xcalloc(run->nr_hosts + 1, sizeof(*failed));
	int *changed = xcalloc(run->nr_hosts + 1, sizeof(*changed));
	size_t mark, i;

	for (i = 0; i < run->nr_hosts; i++) {
		failed[i] = run->hosts[i].failed;
		changed[i] = run->hosts[i].nr_changed;
		run->hosts[i].serves_nothing = false;
	}
	mark = hp_run_hold(run);
	run->opts.plan = true;
	hp_run_each(run, role, fn, arg);
	run->opts.plan = false;
	for (i = 0; i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		keep[i] = !h->failed && h->nr_changed == changed[i] &&
			  !hp_run_count_since(run, mark, h->host->name,
					      HP_STEP_CHANGED) &&
			  !hp_run_count_since(run, mark, h->host->name,
					      HP_STEP_FAILED);
		h->failed = failed[i];
		h->nr_changed = changed[i];
	}
	keep[run->nr_hosts] = true;
	hp_run_unhold(run, mark, keep);
	free(changed);
	free(failed);
	return keep;
}

/* The first failed host with role's error into err, or a generic one. */
static int first_failure(struct hp_run *run, unsigned role,
			 struct hp_err *err)
{
	size_t i;

	for (i = 0; i < run->nr_hosts; i++) {
		const struct hp_hostrun *h = &run->hosts[i];

		if (h->failed && h->selected &&
		    (!role || (h->host->roles & role)))
			return hp_err_set(err,
					  h->err.code ? h->err.code : HP_ERROR,
					  "%s: %s", h->host->name, h->err.msg);
	}
	return hp_err_set(err, HP_ERROR, "a host failed");
}

/*
 * The hosts the try left for the pass (keep[i] false): those that serve
 * nothing yet all at once, then the others one at a time in
 * hp_run_serial's order. A host not in a group is left out the way
 * --host leaves it out.
 */
static int pass_some(struct hp_run *run, unsigned role, const char *last,
		     const bool *keep, hp_host_fn fn, void *arg,
		     struct hp_err *err)
{
	bool *saved = xcalloc(run->nr_hosts + 1, sizeof(*saved));
	size_t i;
	int r = 0;

	for (i = 0; i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		saved[i] = h->selected;
		h->selected = saved[i] && !keep[i] && h->serves_nothing;
	}
	if (hp_run_each(run, role, fn, arg))
		r = first_failure(run, role, err);
	for (i = 0; r == 0 && i < run->nr_hosts; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		h->selected = saved[i] && !keep[i] && !h->serves_nothing;
	}
	if (r == 0)
		r = hp_run_serial(run, role, last, fn, arg, err);
	for (i = 0; i < run->nr_hosts; i++)
		run->hosts[i].selected = saved[i];
	free(saved);
	return r;
}

/* A plan changes nothing, so no order matters: every host at once (its
 * results in inventory order: hp_run_each), the first failed host's error. */
static int staged_plan(struct hp_run *run, unsigned role, hp_host_fn fn,
		       void *arg, struct hp_err *err)
{
	return hp_run_each(run, role, fn, arg) ? first_failure(run, role, err)
					       : 0;
}

int hp_run_serial(struct hp_run *run, unsigned role, const char *last,
		  hp_host_fn fn, void *arg, struct hp_err *err)
{
	struct hp_hostrun *tail = last ? hp_run_host(run, last) : NULL;
	size_t i;
	int r;

	for (i = 0; i <= run->nr_hosts; i++) {
		struct hp_hostrun *h = i < run->nr_hosts ? &run->hosts[i] : tail;

		if (!h || (i < run->nr_hosts && h == tail))
			continue;
		if (!h->selected || h->failed || (role && !(h->host->roles & role)))
			continue;
		if (hp_interrupted())
			return hp_err_set(err, HP_EINTR, "interrupted");
		if ((r = fn(h, arg)) < 0) {
			h->failed = true;
			hp_err_set(err, r, "%s: %s", h->host->name, h->err.msg);
			return r;
		}
	}
	return 0;
}

int hp_run_staged(struct hp_run *run, unsigned role, const char *last,
		  hp_host_fn fn, void *arg, struct hp_err *err)
{
	bool *keep;
	int r;

	if (run->opts.plan)
		return staged_plan(run, role, fn, arg, err);
	keep = probe_hosts(run, role, fn, arg);
	r = pass_some(run, role, last, keep, fn, arg, err);
	free(keep);
	return r;
}

/* The scheme of hp_url: set once per process before any thread starts
 * (hp_run_init, haprov status), read by every host's worker. */
static atomic_bool url_https;

void hp_url_set_https(bool on)
{
	atomic_store(&url_https, on);
}

char *hp_url_scheme(const char *scheme, const struct hp_host *host, int port,
		    const char *path)
{
	/* an IPv6 literal needs brackets in a URL */
	if (strchr(host->address, ':'))
		return xasprintf("%s://[%s]:%d%s", scheme, host->address, port,
				 path);
	return xasprintf("%s://%s:%d%s", scheme, host->address, port, path);
}

char *hp_url(const struct hp_host *host, int port, const char *path)
{
	return hp_url_scheme(atomic_load(&url_https) ? "https" : "http", host,
			     port, path);
}

void hp_want_files_free(struct hp_want_file *f, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++) {
		char *content = (char *)(uintptr_t)f[i].content;

		/* a file with secrets holds passwords: wipe before free */
		if (content && f[i].secret)
			explicit_bzero(content, f[i].len);
		free((char *)(uintptr_t)f[i].path);
		free(content);
		free((char *)(uintptr_t)f[i].owner);
		free((char *)(uintptr_t)f[i].group);
		free((char *)(uintptr_t)f[i].services);
		free((char *)(uintptr_t)f[i].check_cmd);
	}
	free(f);
}

static bool any_missing(const struct hp_facts *f)
{
	size_t i;

	for (i = 0; i < f->nr_pkgs; i++)
		if (!f->pkg_installed[i])
			return true;
	return false;
}

/* The files to write (and, in a rollback, to remove) for a phase. */
static int host_files(struct hp_hostrun *h, const char *phase,
		      struct hp_want_file **wf, size_t *nwf,
		      struct hp_want_file **gone, size_t *ngone,
		      struct hp_err *err)
{
	int r;

	if ((r = hp_phase_files(h, phase, wf, nwf, err)) < 0)
		return r;
	/* a rollback: the point's files, and those created after it */
	if (hp_desired_point(h->run))
		r = hp_restore_files(h, phase, wf, nwf, gone, ngone, err);
	return r;
}

/* The directory, the files (but those written before the packages), and
 * in a rollback the files created after the point. */
static int converge_files(struct hp_hostrun *h, const struct hp_host_plan *p,
			  const struct hp_want_file *wf, size_t nwf,
			  const struct hp_want_file *gone, size_t ngone,
			  const struct hp_facts *facts, bool pre_done,
			  struct hp_err *err)
{
	bool changed;
	size_t i;
	int r;

	if (p->dir && (r = hp_step_dir(h, p->dir, p->dir_mode, p->dir_owner,
				       p->dir_owner, err)) < 0)
		return r;
	for (i = 0; i < nwf; i++) {
		if (pre_done && wf[i].before_install)
			continue;
		if ((r = hp_step_file(h, &wf[i], &facts->files[i], &changed,
				      err)) < 0)
			return r;
	}
	for (i = 0; i < ngone; i++)
		if ((r = hp_restore_remove_file(h, &gone[i], err)) < 0)
			return r;
	return 0;
}

/*
 * A phase's packages pass and its host pass each ask a host for facts. When
 * the packages pass names the services too, it asks about the phase's files
 * and services as well (one command either way) and keeps the answer; the
 * host pass uses it when it asks about the same files and services and the
 * run has recorded no change a host can see since (hp_run_host_changes).
 */
static char *facts_key(const char *phase, const struct hp_want_file *wf,
		       size_t nwf, const struct hp_host_plan *p)
{
	return hp_phase_facts_key(phase, wf, nwf, p->svcs, p->nr_svcs);
}

static void facts_keep(struct hp_hostrun *h, char *key,
		       const struct hp_facts *f)
{
	if (h->facts_cache)
		hp_facts_release(h->facts_cache);
	else
		h->facts_cache = xcalloc(1, sizeof(*h->facts_cache));
	hp_facts_copy(h->facts_cache, f);
	free(h->facts_key);
	h->facts_key = key;
	h->facts_at = hp_run_host_changes(h->run);
}

static bool facts_take(struct hp_hostrun *h, const char *key,
		       struct hp_facts *out)
{
	if (!h->facts_cache || !h->facts_key ||
	    strcmp(h->facts_key, key) != 0 ||
	    h->facts_at != hp_run_host_changes(h->run))
		return false;
	hp_facts_copy(out, h->facts_cache);
	return true;
}

/* Files and services ask about them; the packages pass of a plan with
 * services gathers for the host pass too. */
static int gather(struct hp_hostrun *h, const struct hp_host_plan *p,
		  const struct hp_want_file *wf, size_t nwf, const char *key,
		  struct hp_facts *facts, struct hp_err *err)
{
	if (p->skip_packages && facts_take(h, key, facts))
		return 0;
	/* read ahead for every phase before the first one */
	if (hp_prefetch_take(h, key, p->pkgs, p->skip_packages ? 0 : p->nr_pkgs,
			     facts))
		return 0;
	return hp_facts_gather(h, wf, nwf, p->pkgs,
			       p->skip_packages ? 0 : p->nr_pkgs, p->svcs,
			       p->nr_svcs, facts, err);
}

/* The phase's missing packages, and the later phases' (pkg_ahead.c). */
static int install(struct hp_hostrun *h, const struct hp_host_plan *p,
		   const struct hp_facts *facts, bool *changed,
		   struct hp_err *err)
{
	struct hp_ahead a;
	int r;

	if ((r = hp_ahead_prepare(h, p->pkgs, facts->pkg_installed,
				  p->nr_pkgs, &a, err)) < 0)
		return r;
	if (a.nr)
		r = hp_step_packages_held(h, a.pkgs, a.nr, a.installed,
					  a.hold, a.nr_hold, changed, err);
	else
		r = hp_step_packages(h, p->pkgs, p->nr_pkgs,
				     facts->pkg_installed, changed, err);
	hp_ahead_release(&a);
	return r;
}

/*
 * Packages missing: the files their install scripts read, then the
 * install (and, in an apply, what the packages bring is read again into
 * *facts). 1: the pass is done (a plan's packages pass says "packages"
 * only: its host pass reports every file, and since nothing was
 * installed, what this pass read serves that pass); 0: go on to the
 * files; < 0: failed.
 */
static int converge_packages(struct hp_hostrun *h, const char *phase,
			     const struct hp_host_plan *p,
			     const struct hp_want_file *wf, size_t nwf,
			     char **key, struct hp_facts *facts,
			     struct hp_err *err)
{
	bool plan = h->run->opts.plan, changed;
	size_t i;
	int r;

	for (i = 0; i < nwf && !(plan && p->packages_only); i++)
		if (wf[i].before_install &&
		    (r = hp_step_file(h, &wf[i], &facts->files[i], &changed,
				      err)) < 0)
			return r;
	if ((r = install(h, p, facts, &changed, err)) < 0)
		return r;
	if (plan && p->packages_only) {
		if (nwf || p->nr_svcs) {
			facts_keep(h, *key, facts);
			*key = NULL;
		}
		return 1;
	}
	if (plan)
		return 0; /* nothing was installed: facts stand */
	if (changed)
		h->installed_for = phase;
	if (changed && p->post_install_cmd &&
	    (r = hp_host_sh(h, p->post_install_cmd, NULL, 0, 120, NULL, err)) <
		    0)
		return r;
	/* the packages brought files (default configs) and units */
	hp_facts_release(facts);
	return hp_facts_gather(h, wf, nwf, p->pkgs, p->nr_pkgs, p->svcs,
			       p->nr_svcs, facts, err);
}

int hp_phase_host_converge(struct hp_hostrun *h, const char *phase,
			   const struct hp_host_plan *p,
			   struct hp_facts *facts_out, struct hp_err *err)
{
	struct hp_want_file *wf = NULL, *gone = NULL;
	struct hp_facts facts;
	size_t nwf = 0, ngone = 0;
	bool pre_done = false;
	bool files = !p->packages_only || p->nr_svcs;
	char *key = NULL;
	int r;

	memset(&facts, 0, sizeof(facts));
	memset(facts_out, 0, sizeof(*facts_out));
	hp_hostrun_phase_reset(h);
	if (files && (r = host_files(h, phase, &wf, &nwf, &gone, &ngone,
				     err)) < 0)
		goto out;
	key = facts_key(phase, wf, nwf, p);
	if ((r = gather(h, p, wf, nwf, key, &facts, err)) < 0)
		goto out;
	if (p->skip_packages) {
		goto files;
	} else if (any_missing(&facts)) {
		pre_done = true;
		if ((r = converge_packages(h, phase, p, wf, nwf, &key, &facts,
					   err)) != 0) {
			r = r > 0 ? 0 : r;
			goto out;
		}
	} else {
		hp_run_record(h->run, h->host->name, HP_STEP_OK, "packages",
			      NULL, NULL, hp_now_ms());
		if (p->packages_only && files) {
			facts_keep(h, key, &facts);
			key = NULL;
		}
	}
	if (p->packages_only)
		goto out;
files:
	if ((r = converge_files(h, p, wf, nwf, gone, ngone, &facts, pre_done,
				err)) < 0)
		goto out;
	*facts_out = facts;
	memset(&facts, 0, sizeof(facts));
out:
	free(key);
	hp_facts_release(&facts);
	hp_want_files_free(wf, nwf);
	hp_want_files_free(gone, ngone);
	return r;
}

const char **hp_phase_all_packages(const struct hp_run *run,
				   const struct hp_phase *ph,
				   const struct hp_host *host, size_t *nr)
{
	const char *const *own = NULL, *const *more = NULL;
	size_t n = 0, m = 0, i;
	const char **v;

	if (ph->packages)
		own = ph->packages(run, host, &n);
	if (ph->also_installs)
		more = ph->also_installs(run, &m);
	*nr = n + m;
	if (!*nr)
		return NULL;
	v = xcalloc(n + m + 1, sizeof(*v));
	for (i = 0; i < n + m; i++)
		v[i] = i < n ? own[i] : more[i - n];
	return v;
}

int hp_phase_packages_host(struct hp_hostrun *h, void *arg)
{
	const struct hp_pkg_pass *pp = arg;
	struct hp_host_plan p = pp->plan;
	struct hp_facts facts;
	int r;

	p.packages_only = true;
	r = hp_phase_host_converge(h, pp->phase, &p, &facts, &h->err);
	hp_facts_release(&facts);
	return r;
}

/* ---- rendering ---------------------------------------------------------------- */

int hp_phase_files(struct hp_hostrun *h, const char *phase,
		   struct hp_want_file **out, size_t *nr, struct hp_err *err)
{
	struct hp_rendered rd;
	struct hp_want_file *wf;
	size_t i, n = 0;
	int r = 0;

	*out = NULL;
	*nr = 0;
	memset(&rd, 0, sizeof(rd));
	if (h->run->phase_files_cb)
		return h->run->phase_files_cb(h, phase, out, nr, err);
	if ((r = hp_render_host(&rd, h->run->inv, h->host, h->run->secrets,
				err)) < 0)
		return r;
	wf = xcalloc(rd.nr, sizeof(*wf));
	for (i = 0; i < rd.nr; i++) {
		const struct hp_rendered_file *f = &rd.files[i];
		const struct hp_phase *owner =
			hp_phase_file_owner(hp_phases, hp_phases_nr, f->template);

		if (!owner) {
			r = hp_err_set(err, HP_ERROR,
				       "%s (template %s) belongs to no phase",
				       f->path, f->template);
			break;
		}
		if (strcmp(owner->name, phase) != 0)
			continue;
		wf[n].path = xstrdup(f->path);
		wf[n].content = xstrndup(f->content, f->len);
		wf[n].len = f->len;
		wf[n].before_install = f->before_install;
		wf[n].mode = f->mode;
		wf[n].owner = xstrdup(f->owner);
		wf[n].group = xstrdup(f->group);
		wf[n].secret = f->secret;
		wf[n].services = f->services ? xstrdup(f->services) : NULL;
		wf[n].reload = f->reload;
		wf[n].check_cmd = f->check_cmd ? xstrdup(f->check_cmd) : NULL;
		n++;
	}
	hp_rendered_release(&rd);
	if (r < 0) {
		hp_want_files_free(wf, n);
		return r;
	}
	*out = wf;
	*nr = n;
	return 0;
}

/* ---- state repository ----------------------------------------------------------- */

/* "host: step: detail" of each change the phase made, printable (details
 * may quote remote answers: DCS values, stderr); caller frees each. */
static const char **commit_items(struct hp_run *run, const char *phase,
				 size_t *nr)
{
	const char **items = NULL;
	size_t nr_items = 0, alloc_items = 0, i;

	pthread_mutex_lock(&run->mu);
	for (i = 0; i < run->nr_results; i++) {
		const struct hp_step_result *s = &run->results[i];
		char *raw;

		if (strcmp(s->phase, phase) != 0 || s->status != HP_STEP_CHANGED)
			continue;
		raw = xasprintf("%s: %s%s%s", s->host, s->step,
				s->detail ? ": " : "",
				s->detail ? s->detail : "");
		HP_ALLOC_GROW(items, nr_items + 1, alloc_items);
		items[nr_items++] = hp_printable_dup(raw, 1000);
		free(raw);
	}
	pthread_mutex_unlock(&run->mu);
	*nr = nr_items;
	return items;
}

/* Each phase's snapshot at its path ({path: json}). */
static int put_snapshots(struct hp_run *run, const json_t *snapshots,
			 struct hp_err *err)
{
	const char *path;
	json_t *v;
	int r = 0;

	json_object_foreach((json_t *)(uintptr_t)snapshots, path, v)
	{
		char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS |
					       JSON_ENCODE_ANY);

		r = s ? hp_state_put(run->state, path, s, strlen(s), err)
		      : hp_err_set(err, HP_ERROR, "%s: cannot encode", path);
		free(s);
		if (r < 0)
			break;
	}
	return r;
}

/* A file with secrets is also kept masked (restore.h), so that a rollback
 * can put it back exactly as it was; one that cannot be masked leaves no
 * stale masked copy behind. */
static int put_masked(struct hp_run *run, const char *path,
		      const struct hp_file_rec *f, struct hp_err *err)
{
	char *m = hp_secret_mask(f->now, f->now_len, run->secrets);
	char *mp = xasprintf("%s.masked", path);
	int r = m ? hp_state_put(run->state, mp, m, strlen(m), err)
		  : hp_state_remove(run->state, mp, err);

	free(m);
	free(mp);
	return r;
}

int hp_phase_commit(struct hp_run *run, const char *phase,
		    const json_t *snapshots, const char *result,
		    struct hp_err *err)
{
	struct hp_state_run rec;
	const char **items = NULL;
	size_t nr_items = 0, i, j;
	char *point = NULL;
	bool committed = false;
	int r = 0;

	if (!run->state || run->opts.plan ||
	    !hp_run_count(run, phase, HP_STEP_CHANGED))
		return 0;
	for (i = 0; i < run->nr_hosts && r == 0; i++) {
		struct hp_hostrun *h = &run->hosts[i];

		for (j = 0; j < h->nr_recs && r == 0; j++) {
			const struct hp_file_rec *f = &h->recs[j];
			char *path = hp_state_host_path(h->host->name, f->path);

			if (f->secret) {
				r = hp_state_put_secret_hash(run->state, path,
							     f->now,
							     f->now_len, err);
				if (r == 0)
					r = put_masked(run, path, f, err);
			} else
				r = hp_state_put(run->state, path, f->now,
						 f->now_len, err);
			free(path);
			if (r == 0 && f->old) {
				/* what haprov replaced, e.g. a hand edit */
				char *hp = hp_state_host_path(h->host->name,
							      f->path);

				path = xasprintf("backups/%s/%s", run->run_id,
						 hp + strlen("hosts/"));
				r = hp_state_put(run->state, path, f->old,
						 f->old_len, err);
				free(path);
				free(hp);
			}
		}
	}
	if (r == 0)
		r = put_snapshots(run, snapshots, err);
	if (r == 0) /* which secret versions this point uses, by hash */
		r = hp_run_secrets_commit_pins(run, err);
	if (r < 0)
		return r;
	items = commit_items(run, phase, &nr_items);
	memset(&rec, 0, sizeof(rec));
	rec.id = run->run_id;
	rec.phase = phase;
	rec.result = result;
	rec.inventory_sha256 = run->inventory_sha256;
	rec.items = items;
	rec.nr_items = nr_items;
	{
		struct hp_buf msg = HP_BUF_INIT;

		hp_buf_addf(&msg, "%s: %s\n\n", phase, result);
		for (i = 0; i < nr_items; i++)
			hp_buf_addf(&msg, "- %s\n", items[i]);
		r = hp_state_commit(run->state, msg.buf, &rec, &committed,
				    &point, err);
		hp_buf_release(&msg);
	}
	if (r == 0 && point)
		hp_info("%s: rollback point %s", phase, point);
	for (i = 0; i < nr_items; i++)
		free((char *)(uintptr_t)items[i]);
	free(items);
	free(point);
	return r;
}
