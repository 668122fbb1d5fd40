/*
 * Facts read ahead: before the first phase, one remote command per host
 * asks about every selected phase's files, packages and services at once
 * (hp_facts_gather over all of them), instead of one command per phase.
 * On a run that changes nothing that is most of a no-op apply's remote
 * work: each facts command costs 40-50 ms on the lab, one per phase.
 *
 * The answers stand only while the run has recorded no change a host
 * can see (hp_run_host_changes): an earlier phase that installed a
 * package or wrote a file makes every later phase ask again; a change of
 * Patroni's dynamic configuration, which lives in etcd, does not. A
 * phase's pass finds its answer by the same key it would cache under
 * itself (the phase, the files and the services), and its packages in a
 * per-host map, so a pass asking about other packages (the patroni phase
 * also installs the extension packages) still finds them when the
 * extensions phase was read ahead too, and asks again otherwise. A
 * rollback reads nothing ahead: its files come from the point.
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
	size_t at;	   /* hp_run_host_changes when read */
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

bool hp_phase_ask_init(struct hp_hostrun *h, const struct hp_phase *ph,
		       struct hp_phase_ask *k)
{
	struct hp_err e;

	memset(k, 0, sizeof(*k));
	k->ph = ph;
	hp_err_clear(&e);
	if (ph->files && hp_phase_files(h, ph->name, &k->wf, &k->nwf, &e) < 0)
		return false;
	k->pkgs = hp_phase_all_packages(h->run, ph, h->host, &k->np);
	return true;
}

void hp_phase_ask_release(struct hp_phase_ask *k)
{
	hp_want_files_free(k->wf, k->nwf);
	free(k->pkgs);
	memset(k, 0, sizeof(*k));
}

int hp_phase_asks_gather(struct hp_hostrun *h, struct hp_phase_ask *k,
			 size_t n, bool (*keep_file)(const struct hp_want_file *),
			 const char *more, struct hp_buf *more_out,
			 struct hp_facts *f, struct hp_err *err)
{
	size_t i, j, nwf = 0, np = 0, ns = 0;
	struct hp_want_file *wf;
	const char **pkgs, **svcs;
	int r;

	for (i = 0; i < n; i++) {
		nwf += k[i].nwf;
		np += k[i].np;
		ns += count(k[i].ph->services);
	}
	wf = xcalloc(nwf + 1, sizeof(*wf));
	pkgs = xcalloc(np + 1, sizeof(*pkgs));
	svcs = xcalloc(ns + 1, sizeof(*svcs));
	nwf = np = ns = 0;
	for (i = 0; i < n; i++) {
		/* borrowed: the asks keep (and free) what they point to */
		k[i].f0 = nwf;
		for (j = 0; j < k[i].nwf; j++)
			if (!keep_file || keep_file(&k[i].wf[j]))
				wf[nwf++] = k[i].wf[j];
		k[i].nf = nwf - k[i].f0;
		k[i].p0 = np;
		for (j = 0; j < k[i].np; j++)
			pkgs[np++] = k[i].pkgs[j];
		k[i].s0 = ns;
		k[i].ns = count(k[i].ph->services);
		for (j = 0; j < k[i].ns; j++)
			svcs[ns++] = k[i].ph->services[j];
	}
	r = hp_facts_gather_more(h, wf, nwf, pkgs, np, svcs, ns, more,
				 more_out, f, err);
	free(wf);
	free(pkgs);
	free(svcs);
	return r;
}

struct prefetch_arg {
	const struct hp_phase *t;
	size_t nr;
	const bool *want;
};

/* What each selected phase of the host's roles asks about; their number.
 * A phase whose files cannot be rendered asks for itself later (and
 * reports why then). */
static size_t ask_phases(struct hp_hostrun *h, const struct prefetch_arg *a,
			 struct hp_phase_ask *ask)
{
	size_t i, n = 0;

	for (i = 0; i < a->nr; i++) {
		const struct hp_phase *ph = &a->t[i];

		if (!a->want[i] || !(h->host->roles & ph->role) ||
		    (!ph->files && !ph->packages && !ph->services))
			continue;
		if (hp_phase_ask_init(h, ph, &ask[n]))
			n++;
	}
	return n;
}

/* The answer f to the n asks (gathered: their runs set), split into the
 * host's read-ahead. */
static void keep(struct hp_hostrun *h, const struct hp_phase_ask *ask,
		 size_t n, const struct hp_facts *f)
{
	struct hp_prefetch *p = xcalloc(1, sizeof(*p));
	size_t i, j;

	p->e = xcalloc(n, sizeof(*p->e));
	p->nr = n;
	p->pkgs = xcalloc(f->nr_pkgs + 1, sizeof(*p->pkgs));
	p->installed = xcalloc(f->nr_pkgs + 1, sizeof(*p->installed));
	for (i = 0; i < n; i++)
		for (j = 0; j < ask[i].np; j++) {
			p->pkgs[ask[i].p0 + j] = xstrdup(ask[i].pkgs[j]);
			p->installed[ask[i].p0 + j] =
				f->pkg_installed[ask[i].p0 + j];
		}
	p->nr_pkgs = f->nr_pkgs;
	for (i = 0; i < n; i++) {
		const struct hp_facts view = {
			.files = f->files + ask[i].f0, .nr_files = ask[i].nf,
			.svcs = f->svcs + ask[i].s0, .nr_svcs = ask[i].ns,
		};

		p->e[i].key = hp_phase_facts_key(ask[i].ph->name, ask[i].wf,
						 ask[i].nwf,
						 ask[i].ph->services,
						 ask[i].ns);
		hp_facts_copy(&p->e[i].facts, &view);
	}
	p->at = hp_run_host_changes(h->run);
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
	struct hp_phase_ask *ask = xcalloc(a->nr + 1, sizeof(*ask));
	const struct hp_read_ahead **reads = xcalloc(
		nr_reads_ahead(a) + 1, sizeof(const struct hp_read_ahead *));
	size_t n = ask_phases(h, arg, ask), i;
	struct hp_buf more = HP_BUF_INIT, ans = HP_BUF_INIT;
	size_t nr_reads = ask_reads(h, a, reads, &more);
	struct hp_facts f;

	memset(&f, 0, sizeof(f));
	if ((n || nr_reads) &&
	    hp_phase_asks_gather(h, ask, n, NULL, nr_reads ? more.buf : NULL,
				 &ans, &f, &h->err) == 0) {
		keep(h, ask, n, &f);
		keep_reads(h->prefetch, reads, nr_reads, &ans);
		reads = NULL; /* kept */
	}
	hp_facts_release(&f);
	for (i = 0; i < n; i++)
		hp_phase_ask_release(&ask[i]);
	hp_buf_release(&more);
	hp_buf_release(&ans);
	free(reads);
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

	if (!p || p->at != hp_run_host_changes(h->run))
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

/* Ask k's answer from the read-ahead into one (its own files, packages
 * and services, in k's order); false when it is not there. */
static bool take_ask(struct hp_hostrun *h, const struct hp_phase_ask *k,
		     struct hp_facts *one)
{
	size_t ns = count(k->ph->services);
	char *key = hp_phase_facts_key(k->ph->name, k->wf, k->nwf,
				       k->ph->services, ns);
	bool ok = hp_prefetch_take(h, key, k->pkgs, k->np, one) &&
		  one->nr_files == k->nwf && one->nr_svcs == ns &&
		  one->nr_pkgs == k->np;

	free(key);
	return ok;
}

bool hp_phase_asks_read_ahead(struct hp_hostrun *h, struct hp_phase_ask *k,
			      size_t n,
			      bool (*keep_file)(const struct hp_want_file *),
			      struct hp_facts *f)
{
	struct hp_facts *one = xcalloc(n + 1, sizeof(*one));
	size_t i, j, nwf = 0, np = 0, ns = 0;
	bool ok = true;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < n && ok; i++) {
		ok = take_ask(h, &k[i], &one[i]);
		nwf += one[i].nr_files;
		np += one[i].nr_pkgs;
		ns += one[i].nr_svcs;
	}
	if (ok) {
		f->files = xcalloc(nwf + 1, sizeof(*f->files));
		f->pkg_installed = xcalloc(np + 1, sizeof(*f->pkg_installed));
		f->svcs = xcalloc(ns + 1, sizeof(*f->svcs));
	}
	for (i = 0; ok && i < n; i++) {
		k[i].f0 = f->nr_files;
		for (j = 0; j < k[i].nwf; j++)
			if (!keep_file || keep_file(&k[i].wf[j]))
				f->files[f->nr_files++] = one[i].files[j];
		k[i].nf = f->nr_files - k[i].f0;
		k[i].p0 = f->nr_pkgs;
		for (j = 0; j < k[i].np; j++)
			f->pkg_installed[f->nr_pkgs++] =
				one[i].pkg_installed[j];
		k[i].s0 = f->nr_svcs;
		k[i].ns = one[i].nr_svcs;
		for (j = 0; j < k[i].ns; j++)
			f->svcs[f->nr_svcs++] = one[i].svcs[j];
	}
	for (i = 0; i < n; i++)
		hp_facts_release(&one[i]);
	free(one);
	return ok;
}

const char *hp_prefetch_answer(const struct hp_hostrun *h,
			       const struct hp_read_ahead *r, size_t *len)
{
	const struct hp_prefetch *p = h->prefetch;
	size_t i;

	if (!p || p->at != hp_run_host_changes(h->run))
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
