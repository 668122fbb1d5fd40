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

/*
 * Stable merge sort by position, so the output reads top to bottom
 * whatever order the walk and the cross checks found things in. A file
 * can hold hundreds of thousands of mistakes: O(n log n), never worse.
 */
static bool diag_before(const struct hp_diag *a, const struct hp_diag *b)
{
	return a->line < b->line || (a->line == b->line && a->col < b->col);
}

void hp_inv_diags_sort(struct hp_diags *d, size_t from)
{
	struct hp_diag *a, *tmp, *src, *dst;
	size_t n = d->nr - from, width, i;

	if (n < 2)
		return; /* and items may be NULL: no pointer arithmetic on it */
	a = d->items + from;
	tmp = xmalloc(n * sizeof(*tmp));
	src = a;
	dst = tmp;
	for (width = 1; width < n; width *= 2) {
		for (i = 0; i < n; i += 2 * width) {
			size_t l = i, m = i + width < n ? i + width : n;
			size_t r = m, e = i + 2 * width < n ? i + 2 * width : n;
			size_t o = i;

			/* take from the left on ties: stable */
			while (l < m && r < e)
				dst[o++] = diag_before(&src[r], &src[l])
						   ? src[r++]
						   : src[l++];
			while (l < m)
				dst[o++] = src[l++];
			while (r < e)
				dst[o++] = src[r++];
		}
		src = dst;
		dst = dst == tmp ? a : tmp;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	free(tmp);
}

/*
 * Keep the HP_INV_DIAGS_KEEP first diagnostics of this load by position
 * and count the others: a hostile file must not make a million messages
 * live at once. Called when twice that many have piled up, so the cost
 * stays O(n log n) over the load.
 */
static void diags_compact(struct hp_inv_loader *ld)
{
	struct hp_diags *d = ld->diags;
	size_t keep = ld->first_diag + HP_INV_DIAGS_KEEP, i;

	hp_inv_diags_sort(d, ld->first_diag);
	for (i = keep; i < d->nr; i++) {
		free(d->items[i].key_path);
		free(d->items[i].message);
	}
	d->nr_dropped += d->nr - keep;
	d->nr = keep;
	/* anything found from here on at or after the last one kept would
	 * sort after it, and go at the next compaction: count it only */
	ld->cut = true;
	ld->cut_line = d->items[keep - 1].line;
	ld->cut_col = d->items[keep - 1].col;
}

void hp_inv_diag(struct hp_inv_loader *ld, int line, int col, const char *path,
		 bool warning, const char *fmt, ...)
{
	struct hp_diags *d = ld->diags;
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	if (!warning)
		ld->errors++;
	if (ld->cut && (line > ld->cut_line ||
			(line == ld->cut_line && col >= ld->cut_col))) {
		d->nr_dropped++;
		d->nr_errors += !warning;
		return;
	}
	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	hp_inv_diags_add(d, line, col, path, warning, hp_buf_detach(&b, NULL));
	if (d->nr - ld->first_diag >= 2 * HP_INV_DIAGS_KEEP)
		diags_compact(ld);
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
	d->nr = d->alloc = d->nr_errors = d->nr_dropped = 0;
}

size_t hp_inv_utf8_char(const char *s, unsigned *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	n = u[0] >= 0xf8   ? 0
	    : u[0] >= 0xf0 ? 4
	    : u[0] >= 0xe0 ? 3
	    : u[0] >= 0xc0 ? 2
			   : 0;
	if (!n) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = u[0] & (0x7fu >> n);
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		*cp = (*cp << 6) | (u[i] & 0x3fu);
	}
	return n;
}

bool hp_inv_is_line_break(unsigned cp)
{
	return cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 ||
	       cp == 0x2029;
}

bool hp_inv_is_ctl(unsigned cp)
{
	return (cp < 0x20 && cp != '\t') || cp == 0x7f ||
	       (cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029;
}

const char *hp_inv_char_escape(unsigned cp, char buf[12])
{
	if (cp == '\n')
		return "\\n";
	if (cp == '\t')
		return "\\t";
	if (cp < 0x20 || cp == 0x7f) {
		snprintf(buf, 12, "\\x%02x", cp);
		return buf;
	}
	/* C1 controls (NEL among them) and the Unicode line and paragraph
	 * separators: a terminal or a YAML reader may start a new line */
	if ((cp >= 0x80 && cp < 0xa0) || cp == 0x2028 || cp == 0x2029) {
		snprintf(buf, 12, "\\u%04x", cp);
		return buf;
	}
	return NULL;
}

/*
 * s for a terminal: control characters and line breaks escaped, at most
 * max bytes of it (then "..."). Diagnostics quote what the file holds,
 * and the file may be hostile.
 */
static void add_shown(struct hp_buf *b, const char *s, size_t max)
{
	size_t used = 0;

	while (*s) {
		char buf[12];
		unsigned cp;
		size_t n = hp_inv_utf8_char(s, &cp);
		const char *e = hp_inv_char_escape(cp, buf);
		size_t el = e ? strlen(e) : n;

		if (used + el > max) {
			hp_buf_adds(b, "...");
			return;
		}
		if (e)
			hp_buf_adds(b, e);
		else
			hp_buf_add(b, s, n);
		used += el;
		s += n;
	}
}

void hp_diags_print(const struct hp_diags *d, const char *file, FILE *out)
{
	size_t i, more;

	for (i = 0; i < d->nr && i < HP_DIAGS_SHOWN; i++) {
		const struct hp_diag *g = &d->items[i];
		struct hp_buf b = HP_BUF_INIT;

		/* One fputs a line: messages from parallel loads stay whole. */
		if (g->line > 0)
			hp_buf_addf(&b, "%s:%d:%d: ", file, g->line, g->col);
		if (g->key_path && *g->key_path) {
			add_shown(&b, g->key_path, 200);
			hp_buf_adds(&b, ": ");
		}
		if (g->warning)
			hp_buf_adds(&b, "warning: ");
		add_shown(&b, g->message, 2000);
		hp_buf_addch(&b, '\n');
		fputs(b.buf, out);
		hp_buf_release(&b);
	}
	more = d->nr - i + d->nr_dropped;
	if (more)
		fprintf(out, "%s: ... and %zu more\n", file, more);
}

const char *hp_inv_quote(struct hp_inv_quoted *q, const char *s)
{
	/* room for the closing '..."' and the NUL */
	const size_t cap = sizeof(q->s) - 5;
	size_t n = 0;

	q->s[n++] = '"';
	while (s && *s) {
		char buf[12];
		unsigned cp;
		size_t cl = hp_inv_utf8_char(s, &cp), el;
		const char *e = hp_inv_char_escape(cp, buf);

		if (!e && (*s == '"' || *s == '\\')) {
			buf[0] = '\\';
			buf[1] = *s;
			buf[2] = '\0';
			e = buf;
		}
		el = e ? strlen(e) : cl;
		if (n + el > cap) {
			/* whole characters only: never half a UTF-8 one */
			memcpy(q->s + n, "...", 3);
			n += 3;
			break;
		}
		memcpy(q->s + n, e ? e : s, el);
		n += el;
		s += cl;
	}
	q->s[n++] = '"';
	q->s[n] = '\0';
	return q->s;
}

/* ---- marks --------------------------------------------------------------- */

/* The slot holding the mark for path[0..n), or the empty slot where it
 * would go. nr_slots must be non-zero. */
static size_t *mark_slot(const struct hp_inv_loader *ld, const char *path,
			 size_t n, size_t hash)
{
	size_t i = hash & (ld->nr_slots - 1);

	for (;; i = (i + 1) & (ld->nr_slots - 1)) {
		const struct hp_inv_mark *m;

		if (!ld->slots[i])
			return &ld->slots[i];
		m = &ld->marks[ld->slots[i] - 1];
		/* the hash first: most probes then touch no string */
		if (m->hash == hash && !strncmp(m->path, path, n) &&
		    m->path[n] == '\0')
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
		const struct hp_inv_mark *m = &ld->marks[i];

		*mark_slot(ld, m->path, strlen(m->path), m->hash) = i + 1;
	}
}

struct hp_inv_mark *hp_inv_mark_set(struct hp_inv_loader *ld, const char *path,
				    int kline, int kcol, int vline, int vcol,
				    bool bad)
{
	size_t n = strlen(path), hash = hp_inv_hash(path, n), *slot;
	struct hp_inv_mark *m;

	if (2 * (ld->nr_marks + 1) >= ld->nr_slots)
		marks_rehash(ld);
	slot = mark_slot(ld, path, n, hash);
	if (*slot) {
		m = &ld->marks[*slot - 1];
	} else {
		HP_ALLOC_GROW(ld->marks, ld->nr_marks + 1, ld->alloc_marks);
		m = &ld->marks[ld->nr_marks++];
		m->path = xstrndup(path, n);
		m->hash = hash;
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
	slot = mark_slot(ld, path, n, hp_inv_hash(path, n));
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

void hp_inv_diag_path(struct hp_inv_loader *ld, const char *path, bool value,
		      bool warning, const char *fmt, ...)
{
	const struct hp_inv_mark *m = hp_inv_mark_get(ld, path);
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	hp_inv_diag(ld, m ? (value ? m->vline : m->kline) : ld->root_line,
		    m ? (value ? m->vcol : m->kcol) : ld->root_col, path,
		    warning, "%s", b.buf);
	hp_buf_release(&b);
}
