/*
 * The loader's bookkeeping: diagnostics (file:line:col, key path, message)
 * and marks (where each key was found, and whether it parsed).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "inventory_priv.h"

/* ---- diagnostics --------------------------------------------------------- */

void hp_inv_diags_add(struct hp_diags *d, int line, int col, const char *path,
		      bool warning, char *msg)
{
	struct hp_diag *g;

	HP_ALLOC_GROW(d->items, d->nr + 1, d->alloc);
	g = &d->items[d->nr++];
	g->line = line;
	g->col = col;
	g->key_path = xstrdup(path ? path : "");
	g->message = msg;
	g->warning = warning;
	if (!warning)
		d->nr_errors++;
}

void hp_inv_diag(struct hp_inv_loader *ld, int line, int col, const char *path,
		 bool warning, const char *fmt, ...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	hp_inv_diags_add(ld->diags, line, col, path, warning,
			 hp_buf_detach(&b, NULL));
	if (!warning)
		ld->errors++;
}

void hp_diags_release(struct hp_diags *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr; i++) {
		free(d->items[i].key_path);
		free(d->items[i].message);
	}
	free(d->items);
	d->items = NULL;
	d->nr = d->alloc = d->nr_errors = 0;
}

void hp_diags_print(const struct hp_diags *d, const char *file, FILE *out)
{
	size_t i;

	for (i = 0; i < d->nr; i++) {
		const struct hp_diag *g = &d->items[i];
		struct hp_buf b = HP_BUF_INIT;

		/* One fputs a line: messages from parallel loads stay whole. */
		if (g->line > 0)
			hp_buf_addf(&b, "%s:%d:%d: ", file, g->line, g->col);
		if (g->key_path && *g->key_path)
			hp_buf_addf(&b, "%s: ", g->key_path);
		if (g->warning)
			hp_buf_adds(&b, "warning: ");
		hp_buf_addf(&b, "%s\n", g->message);
		fputs(b.buf, out);
		hp_buf_release(&b);
	}
}

/*
 * Stable sort by position, so the output reads top to bottom whatever
 * order the walk and the cross checks found things in. Few diagnostics:
 * insertion sort is stable and enough.
 */
void hp_inv_diags_sort(struct hp_diags *d, size_t from)
{
	size_t i, j;

	for (i = from + 1; i < d->nr; i++) {
		struct hp_diag t = d->items[i];

		for (j = i; j > from; j--) {
			const struct hp_diag *p = &d->items[j - 1];

			if (p->line < t.line ||
			    (p->line == t.line && p->col <= t.col))
				break;
			d->items[j] = *p;
		}
		d->items[j] = t;
	}
}

const char *hp_inv_quote(struct hp_inv_quoted *q, const char *s)
{
	/* room for the closing '..."' and the NUL */
	const size_t cap = sizeof(q->s) - 5;
	size_t n = 0;

	q->s[n++] = '"';
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[5];
		size_t el = 1;

		e[0] = (char)c;
		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			el = 2;
		} else if (c == '\n' || c == '\t') {
			e[0] = '\\';
			e[1] = c == '\n' ? 'n' : 't';
			el = 2;
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(e, sizeof(e), "\\x%02x", c);
			el = 4;
		}
		if (n + el > cap) {
			/* never cut a UTF-8 sequence in half */
			while (n > 1 &&
			       ((unsigned char)q->s[n - 1] & 0xc0) == 0x80)
				n--;
			if (n > 1 && ((unsigned char)q->s[n - 1] & 0x80))
				n--;
			memcpy(q->s + n, "...", 3);
			n += 3;
			break;
		}
		memcpy(q->s + n, e, el);
		n += el;
	}
	q->s[n++] = '"';
	q->s[n] = '\0';
	return q->s;
}

/* ---- marks --------------------------------------------------------------- */

/* FNV-1a over the first n bytes of path. */
static size_t path_hash(const char *path, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)path[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* The slot holding the mark for path[0..n), or the empty slot where it
 * would go. nr_slots must be non-zero. */
static size_t *mark_slot(const struct hp_inv_loader *ld, const char *path,
			 size_t n)
{
	size_t i = path_hash(path, n) & (ld->nr_slots - 1);

	for (;; i = (i + 1) & (ld->nr_slots - 1)) {
		const char *p;

		if (!ld->slots[i])
			return &ld->slots[i];
		p = ld->marks[ld->slots[i] - 1].path;
		if (!strncmp(p, path, n) && p[n] == '\0')
			return &ld->slots[i];
	}
}

static void marks_rehash(struct hp_inv_loader *ld)
{
	size_t i;

	free(ld->slots);
	ld->nr_slots = ld->nr_slots ? ld->nr_slots * 2 : 64;
	ld->slots = xcalloc(ld->nr_slots, sizeof(*ld->slots));
	for (i = 0; i < ld->nr_marks; i++) {
		const char *p = ld->marks[i].path;

		*mark_slot(ld, p, strlen(p)) = i + 1;
	}
}

struct hp_inv_mark *hp_inv_mark_set(struct hp_inv_loader *ld, const char *path,
				    int kline, int kcol, int vline, int vcol,
				    bool bad)
{
	struct hp_inv_mark *m;
	size_t *slot;

	if (2 * (ld->nr_marks + 1) >= ld->nr_slots)
		marks_rehash(ld);
	slot = mark_slot(ld, path, strlen(path));
	if (*slot) {
		m = &ld->marks[*slot - 1];
	} else {
		HP_ALLOC_GROW(ld->marks, ld->nr_marks + 1, ld->alloc_marks);
		m = &ld->marks[ld->nr_marks++];
		m->path = xstrdup(path);
		*slot = ld->nr_marks;
	}
	m->kline = kline;
	m->kcol = kcol;
	m->vline = vline;
	m->vcol = vcol;
	m->bad = bad;
	return m;
}

static const struct hp_inv_mark *mark_get_n(const struct hp_inv_loader *ld,
					    const char *path, size_t n)
{
	const size_t *slot;

	if (!ld->nr_slots)
		return NULL;
	slot = mark_slot(ld, path, n);
	return *slot ? &ld->marks[*slot - 1] : NULL;
}

const struct hp_inv_mark *hp_inv_mark_get(const struct hp_inv_loader *ld,
					  const char *path)
{
	return mark_get_n(ld, path, strlen(path));
}

bool hp_inv_was_set(const struct hp_inv_loader *ld, const char *path)
{
	const struct hp_inv_mark *m = hp_inv_mark_get(ld, path);

	return m && !m->bad;
}

bool hp_inv_is_bad(const struct hp_inv_loader *ld, const char *path)
{
	size_t n;

	/* path itself and each of its parents: "a", "a[1]", "a[1].b" */
	for (n = 0;; n++) {
		if (path[n] == '.' || path[n] == '[' || path[n] == '\0') {
			const struct hp_inv_mark *m = mark_get_n(ld, path, n);

			if (m && m->bad)
				return true;
		}
		if (!path[n])
			return false;
	}
}
