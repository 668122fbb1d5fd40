/*
 * Packages ahead: when a host's first packages step of an apply has
 * something to install, it also installs what the later selected phases
 * of the host's roles lack, in the same apt transaction. A fresh deploy
 * then pays apt's fixed cost per transaction (reading its cache,
 * resolving, dpkg's triggers) once per host instead of once per phase,
 * and the later phases find their packages in place.
 *
 * Two things keep a later phase's packages from acting before its turn:
 * - the files its packages' install scripts read (before_install:
 *   postgresql-common reads createcluster.conf) are written first, as
 *   that phase would; a phase with such a file that a running service
 *   reads is not taken along, since its restart would be lost between
 *   phases;
 * - its services that are not running are held back for the install's
 *   length (hp_step_packages_held), so that no service of a later phase
 *   starts before its phase, with the packages' default configuration.
 *
 * What the later phases lack comes from the run's read-ahead (prefetch.c)
 * while it stands, so a fresh host pays no facts command for it; a host
 * the read-ahead missed, or a run that changed something first, asks.
 *
 * Plan mode and a rollback install nothing ahead: a plan shows each
 * phase's packages under that phase, and a rollback installs nothing new.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"

void hp_ahead_release(struct hp_ahead *a)
{
	free(a->pkgs);
	free(a->installed);
	free(a->hold);
	memset(a, 0, sizeof(*a));
}

static bool in_list(const char *const *l, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(l[i], s))
			return true;
	return false;
}

/* The later selected phases of the host's roles that may go along. */
static size_t later_phases(struct hp_hostrun *h, struct hp_phase_ask *out)
{
	const struct hp_run *run = h->run;
	size_t i, j, n = 0;

	for (i = (size_t)(run->phase_entry - run->phase_table) + 1;
	     i < run->phase_table_nr; i++) {
		const struct hp_phase *ph = &run->phase_table[i];
		struct hp_phase_ask *l = &out[n];
		bool ok = true;

		if (!run->phase_want[i] || !(h->host->roles & ph->role) ||
		    (!ph->packages && !ph->also_installs))
			continue;
		/* a phase that cannot render says why in its own turn */
		if (!hp_phase_ask_init(h, ph, l))
			continue;
		for (j = 0; j < l->nwf; j++)
			if (l->wf[j].before_install && l->wf[j].services)
				ok = false;
		if (!ok) {
			hp_phase_ask_release(l);
			continue;
		}
		n++;
	}
	return n;
}

/* Only the files a later phase's packages read are asked about. */
static bool before_install(const struct hp_want_file *f)
{
	return f->before_install;
}

/* Later phase l lacks a package the current phase does not install. */
static bool lacks(const struct hp_phase_ask *l, const struct hp_facts *f,
		  const char *const *own, size_t nown)
{
	size_t j;

	for (j = 0; j < l->np; j++)
		if (!f->pkg_installed[l->p0 + j] &&
		    !in_list(own, nown, l->pkgs[j]))
			return true;
	return false;
}

/* Add l's missing packages (once each, none of the current phase's)
 * and its services that are not running to a. */
static void take(struct hp_ahead *a, const struct hp_phase_ask *l,
		 const struct hp_facts *f, const char *const *own, size_t nown)
{
	size_t j;

	for (j = 0; j < l->np; j++)
		if (!f->pkg_installed[l->p0 + j] &&
		    !in_list(own, nown, l->pkgs[j]) &&
		    !in_list(a->pkgs, a->nr, l->pkgs[j])) {
			a->pkgs[a->nr] = l->pkgs[j];
			a->installed[a->nr++] = false;
		}
	for (j = 0; j < l->ns; j++) {
		const struct hp_fact_svc *s = &f->svcs[l->s0 + j];
		const char *name = l->ph->services[j];

		if (strcmp(s->active, "active") != 0 &&
		    !in_list(a->hold, a->nr_hold, name))
			a->hold[a->nr_hold++] = name;
	}
}

/* Write l's before_install files, as its own phase would. */
static int write_files(struct hp_hostrun *h, const struct hp_phase_ask *l,
		       const struct hp_facts *f, struct hp_err *err)
{
	size_t j, k = 0;
	bool changed;

	for (j = 0; j < l->nwf; j++) {
		int r;

		if (!l->wf[j].before_install)
			continue;
		r = hp_step_file(h, &l->wf[j], &f->files[l->f0 + k++],
				 &changed, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int ahead(struct hp_hostrun *h, struct hp_phase_ask *l, size_t n,
		 const char *const *own, size_t nown, struct hp_ahead *a,
		 struct hp_err *err)
{
	size_t i, np = 0, ns = 0;
	struct hp_facts f;
	int r;

	/* the run's read-ahead has the answer unless something changed */
	r = hp_phase_asks_read_ahead(h, l, n, before_install, &f)
		    ? 0
		    : hp_phase_asks_gather(h, l, n, before_install, NULL,
					   NULL, &f, err);
	for (i = 0; i < n; i++) {
		np += l[i].np;
		ns += l[i].ns;
	}
	a->pkgs = xcalloc(nown + np + 1, sizeof(*a->pkgs));
	a->installed = xcalloc(nown + np + 1, sizeof(*a->installed));
	a->hold = xcalloc(ns + 1, sizeof(*a->hold));
	for (i = 0; r == 0 && i < n; i++) {
		if (!lacks(&l[i], &f, own, nown))
			continue;
		if ((r = write_files(h, &l[i], &f, err)) < 0)
			break;
		take(a, &l[i], &f, own, nown);
	}
	hp_facts_release(&f);
	return r;
}

int hp_ahead_prepare(struct hp_hostrun *h, const char *const *own,
		     const bool *own_installed, size_t nown,
		     struct hp_ahead *a, struct hp_err *err)
{
	const struct hp_run *run = h->run;
	struct hp_phase_ask *l;
	size_t n, i;
	int r = 0;

	memset(a, 0, sizeof(*a));
	if (run->opts.plan || hp_desired_point(run) || !run->phase_want ||
	    !run->phase_entry || run->phase_entry < run->phase_table ||
	    run->phase_entry >= run->phase_table + run->phase_table_nr)
		return 0;
	l = xcalloc(run->phase_table_nr + 1, sizeof(*l));
	n = later_phases(h, l);
	if (n)
		r = ahead(h, l, n, own, nown, a, err);
	for (i = 0; i < n; i++)
		hp_phase_ask_release(&l[i]);
	free(l);
	if (r < 0 || !a->nr) {
		hp_ahead_release(a);
		return r;
	}
	/* the current phase's packages first, then the later ones' */
	memmove(a->pkgs + nown, a->pkgs, a->nr * sizeof(*a->pkgs));
	memmove(a->installed + nown, a->installed,
		a->nr * sizeof(*a->installed));
	for (i = 0; i < nown; i++) {
		a->pkgs[i] = own[i];
		a->installed[i] = own_installed[i];
	}
	a->nr += nown;
	return 0;
}
