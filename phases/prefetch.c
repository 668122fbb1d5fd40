/*
 * Facts read ahead: before the first phase, one remote command per host
 * asks about every selected phase's files, packages and services at once
 * (hp_facts_gather over all of them), instead of one command per phase.
 * On a run that changes nothing that is most of a no-op apply's remote
 * work: each facts command costs 40-50 ms on the lab, one per phase.
 *
 * The answers stand only while the run has recorded no change
 * (hp_run_changes): an earlier phase that installed a package or wrote a
 * file makes every later phase ask again. A phase's pass finds its
 * answer by the same key it would cache under itself (the phase, the
 * files and the services), and its packages in a per-host map, so a pass
 * asking about other packages (the patroni phase also installs the
 * extension packages) still finds them when the extensions phase was
 * read ahead too, and asks again otherwise. A rollback reads nothing
 * ahead: its files come from the point.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"

struct hp_prefetched {
	char *key;
	struct hp_facts facts; /* files and services; no packages */
};

struct hp_prefetch {
	struct hp_prefetched *e;
	size_t nr;
	char **pkgs;	   /* every package asked about ... */
	bool *installed;   /* ... and its answer */
	size_t nr_pkgs;
	const struct hp_read_ahead **reads; /* the phases' own reads ... */
	char **answers;			    /* ... and their answers */
	size_t *answer_len;
	size_t nr_reads;
	size_t at;	   /* hp_run_changes when read */
};

char *hp_phase_facts_key(const char *phase, const struct hp_want_file *wf,
			 size_t nwf, const char *const *svcs, size_t nr_svcs)
{
	struct hp_buf k = HP_BUF_INIT;
	size_t i;

	hp_buf_adds(&k, phase);
	for (i = 0; i < nwf; i++)
		hp_buf_addf(&k, "\nf %s", wf[i].path);
	for (i = 0; i < nr_svcs; i++)
		hp_buf_addf(&k, "\ns %s", svcs[i]);
	return hp_buf_detach(&k, NULL);
}

void hp_prefetch_free(struct hp_prefetch *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nr; i++) {
		free(p->e[i].key);
		hp_facts_release(&p->e[i].facts);
	}
	for (i = 0; i < p->nr_pkgs; i++)
		free(p->pkgs[i]);
	for (i = 0; i < p->nr_reads; i++)
		free(p->answers[i]);
	free(p->reads);
	free(p->answers);
	free(p->answer_len);
	free(p->e);
	free(p->pkgs);
	free(p->installed);
	free(p);
}

static size_t count(const char *const *l)
{
	size_t n = 0;

	while (l && l[n])
		n++;
	return n;
}

/* What one phase asks a host about, gathered before the command. */
struct ask {
	const struct hp_phase *ph;
	struct hp_want_file *wf;
	size_t nwf;
	const char **pkgs; /* hp_phase_all_packages */
	size_t npkgs;
	size_t nsvcs;
};

struct prefetch_arg {
	const struct hp_phase *t;
	size_t nr;
	const bool *want;
};

/* What each selected phase of the host's roles asks about; their number.
 * A phase whose files cannot be rendered asks for itself later (and
 * reports why then). */
static size_t ask_phases(struct hp_hostrun *h, const struct prefetch_arg *a,
			 struct ask *ask)
{
	size_t i, n = 0;

	for (i = 0; i < a->nr; i++) {
		const struct hp_phase *ph = &a->t[i];
		struct ask *k = &ask[n];
		struct hp_err e;

		if (!a->want[i] || !(h->host->roles & ph->role) ||
		    (!ph->files && !ph->packages && !ph->services))
			continue;
		k->ph = ph;
		hp_err_clear(&e);
		if (ph->files &&
		    hp_phase_files(h, ph->name, &k->wf, &k->nwf, &e) < 0)
			continue;
		k->pkgs = hp_phase_all_packages(h->run, ph, h->host,
						&k->npkgs);
		k->nsvcs = count(ph->services);
		n++;
	}
	return n;
}

/* The answer f to the n asks (files, packages, services in ask order),
 * split into the host's read-ahead. */
static void keep(struct hp_hostrun *h, const struct ask *ask, size_t n,
		 const char *const *pkgs, size_t npkgs, const struct hp_facts *f)
{
	struct hp_prefetch *p = xcalloc(1, sizeof(*p));
	size_t i, fo = 0, so = 0;

	p->e = xcalloc(n, sizeof(*p->e));
	p->nr = n;
	p->pkgs = xcalloc(npkgs + 1, sizeof(*p->pkgs));
	p->installed = xcalloc(npkgs + 1, sizeof(*p->installed));
	for (i = 0; i < npkgs; i++) {
		p->pkgs[i] = xstrdup(pkgs[i]);
		p->installed[i] = f->pkg_installed[i];
	}
	p->nr_pkgs = npkgs;
	for (i = 0; i < n; i++) {
		const struct hp_facts view = {
			.files = f->files + fo, .nr_files = ask[i].nwf,
			.svcs = f->svcs + so, .nr_svcs = ask[i].nsvcs,
		};

		p->e[i].key = hp_phase_facts_key(ask[i].ph->name, ask[i].wf,
						 ask[i].nwf,
						 ask[i].ph->services,
						 ask[i].nsvcs);
		hp_facts_copy(&p->e[i].facts, &view);
		fo += ask[i].nwf;
		so += ask[i].nsvcs;
	}
	p->at = hp_run_changes(h->run);
	hp_prefetch_free(h->prefetch);
	h->prefetch = p;
}

/* How many reads of their own the phases have, at most. */
static size_t nr_reads_ahead(const struct prefetch_arg *a)
{
	size_t i, n = 0;

	for (i = 0; i < a->nr; i++)
		for (const struct hp_read_ahead *const *r = a->t[i].reads_ahead;
		     r && *r; r++)
			n++;
	return n;
}

/* The reads of their own (hp_read_ahead) of the selected phases of the
 * host's roles, each once: their shell text, a mark line between two,
 * into more; their number. */
static size_t ask_reads(struct hp_hostrun *h, const struct prefetch_arg *a,
			const struct hp_read_ahead **reads, struct hp_buf *more)
{
	struct hp_buf one = HP_BUF_INIT;
	size_t i, k, n = 0;

	for (i = 0; i < a->nr; i++) {
		const struct hp_read_ahead *const *r = a->t[i].reads_ahead;

		if (!a->want[i] || !(h->host->roles & a->t[i].role))
			continue;
		for (; r && *r; r++) {
			for (k = 0; k < n && reads[k] != *r; k++)
				;
			hp_buf_reset(&one);
			if (k < n || !(*r)->cmd(h, &one))
				continue;
			if (n)
				hp_buf_adds(more,
					    "; echo '" HP_FACTS_MORE_MARK "'; ");
			hp_buf_addf(more, "(%s)", one.buf);
			reads[n++] = *r;
		}
	}
	hp_buf_release(&one);
	return n;
}

/* The reads' answers, in order, mark lines between them, kept in p
 * (taken from reads); one whose mark line is missing, and those after
 * it, are not kept (they read for themselves). */
static void keep_reads(struct hp_prefetch *p,
		       const struct hp_read_ahead **reads, size_t n,
		       const struct hp_buf *ans)
{
	size_t i, pos = 0, len, next = 0;

	p->reads = reads;
	p->answers = xcalloc(n + 1, sizeof(*p->answers));
	p->answer_len = xcalloc(n + 1, sizeof(*p->answer_len));
	for (i = 0; i < n; i++) {
		len = ans->len - pos;
		if (i + 1 < n && hp_facts_split_more(ans->buf + pos, len, &len,
						     &next, NULL) < 0)
			break;
		/* remote bytes: a NUL inside stays, len says where they end */
		p->answers[i] = xmalloc(len + 1);
		memcpy(p->answers[i], ans->buf + pos, len);
		p->answers[i][len] = '\0';
		p->answer_len[i] = len;
		pos += next;
	}
	p->nr_reads = i;
}

/* Every selected phase of the host's roles, in one facts command. */
static int prefetch_host(struct hp_hostrun *h, void *arg)
{
	const struct prefetch_arg *a = arg;
	struct ask *ask = xcalloc(a->nr + 1, sizeof(*ask));
	const struct hp_read_ahead **reads = xcalloc(
		nr_reads_ahead(a) + 1, sizeof(const struct hp_read_ahead *));
	size_t n = ask_phases(h, arg, ask), i, j, nwf = 0, np = 0, ns = 0;
	struct hp_buf more = HP_BUF_INIT, ans = HP_BUF_INIT;
	size_t nr_reads = ask_reads(h, a, reads, &more);
	struct hp_want_file *wf;
	const char **pkgs, **svcs;
	struct hp_facts f;

	for (i = 0; i < n; i++) {
		nwf += ask[i].nwf;
		np += ask[i].npkgs;
		ns += ask[i].nsvcs;
	}
	wf = xcalloc(nwf + 1, sizeof(*wf));
	pkgs = xcalloc(np + 1, sizeof(*pkgs));
	svcs = xcalloc(ns + 1, sizeof(*svcs));
	nwf = np = ns = 0;
	for (i = 0; i < n; i++) {
		/* borrowed: the asks keep (and free) what they point to */
		for (j = 0; j < ask[i].nwf; j++)
			wf[nwf++] = ask[i].wf[j];
		for (j = 0; j < ask[i].npkgs; j++)
			pkgs[np++] = ask[i].pkgs[j];
		for (j = 0; j < ask[i].nsvcs; j++)
			svcs[ns++] = ask[i].ph->services[j];
	}
	memset(&f, 0, sizeof(f));
	if ((n || nr_reads) &&
	    hp_facts_gather_more(h, wf, nwf, pkgs, np, svcs, ns,
				 nr_reads ? more.buf : NULL, &ans, &f,
				 &h->err) == 0) {
		keep(h, ask, n, pkgs, np, &f);
		keep_reads(h->prefetch, reads, nr_reads, &ans);
		reads = NULL; /* kept */
	}
	hp_facts_release(&f);
	for (i = 0; i < n; i++) {
		hp_want_files_free(ask[i].wf, ask[i].nwf);
		free(ask[i].pkgs);
	}
	hp_buf_release(&more);
	hp_buf_release(&ans);
	free(reads);
	free(wf);
	free(pkgs);
	free(svcs);
	free(ask);
	/* a failed read-ahead costs nothing: each phase asks for itself */
	hp_err_clear(&h->err);
	return 0;
}

void hp_phase_prefetch(struct hp_run *run, const struct hp_phase *t,
		       size_t nr, const bool *want)
{
	struct prefetch_arg a = { t, nr, want };

	if (hp_desired_point(run))
		return;
	(void)hp_run_each(run, 0, prefetch_host, &a);
}

bool hp_prefetch_take(struct hp_hostrun *h, const char *key,
		      const char *const *pkgs, size_t nr_pkgs,
		      struct hp_facts *out)
{
	const struct hp_prefetch *p = h->prefetch;
	const struct hp_prefetched *e = NULL;
	size_t i, j;

	if (!p || p->at != hp_run_changes(h->run))
		return false;
	for (i = 0; i < p->nr && !e; i++)
		if (!strcmp(p->e[i].key, key))
			e = &p->e[i];
	if (!e)
		return false;
	/* every package asked about must have been read */
	for (i = 0; i < nr_pkgs; i++) {
		for (j = 0; j < p->nr_pkgs; j++)
			if (!strcmp(pkgs[i], p->pkgs[j]))
				break;
		if (j == p->nr_pkgs)
			return false;
	}
	hp_facts_copy(out, &e->facts);
	free(out->pkg_installed);
	out->pkg_installed = xcalloc(nr_pkgs + 1, sizeof(*out->pkg_installed));
	out->nr_pkgs = nr_pkgs;
	for (i = 0; i < nr_pkgs; i++)
		for (j = 0; j < p->nr_pkgs; j++)
			if (!strcmp(pkgs[i], p->pkgs[j])) {
				out->pkg_installed[i] = p->installed[j];
				break;
			}
	return true;
}

const char *hp_prefetch_answer(const struct hp_hostrun *h,
			       const struct hp_read_ahead *r, size_t *len)
{
	const struct hp_prefetch *p = h->prefetch;
	size_t i;

	if (!p || p->at != hp_run_changes(h->run))
		return NULL;
	for (i = 0; i < p->nr_reads; i++)
		if (p->reads[i] == r) {
			*len = p->answer_len[i];
			return p->answers[i];
		}
	return NULL;
}

bool hp_prefetch_answer_ok(const struct hp_hostrun *h,
			   const struct hp_read_ahead *r, const char *ok,
			   struct hp_buf *out)
{
	size_t len = 0, n = strlen(ok);
	const char *a = hp_prefetch_answer(h, r, &len);

	if (!a || len < n || memcmp(a + len - n, ok, n) != 0 ||
	    (len > n && a[len - n - 1] != '\n'))
		return false;
	hp_buf_add(out, a, len - n);
	return true;
}
