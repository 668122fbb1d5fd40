/*
 * Reading the YAML text into a libyaml document, with limits.
 *
 * libyaml's own loader (yaml_parser_load) has no limits: its scanner is
 * quadratic in the nesting depth of flow collections (a 200 KB file of
 * '[' took 48 s), it finds each alias's anchor by a scan of every anchor,
 * and an alias is a reference that the walk follows each time, so a few
 * kilobytes of aliases can stand for millions of values. This reader
 * builds the same document from libyaml's events instead, and stops at the
 * first event past a limit, before the parser does the expensive part:
 *
 *   - nesting deeper than HP_INV_MAX_DEPTH collections;
 *   - more than HP_INV_MAX_NODES values (scalars, collections, aliases);
 *   - aliases that would add more values than the document holds itself
 *     plus HP_INV_ALIAS_SLACK, an alias to an anchor not yet defined or
 *     to a collection that contains it, and an anchor defined twice.
 *
 * What it builds is what yaml_parser_load builds: an alias is the anchored
 * node's id, node 1 is the root, and every node has its start and end mark.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "inventory.h"
#include "inventory_priv.h"

/* One open collection. */
struct frame {
	int id;
	int key;     /* a mapping's key waiting for its value; 0: none */
	size_t size; /* values in it so far, aliases expanded */
};

struct reader {
	struct hp_inv_loader *ld;
	yaml_parser_t parser;
	yaml_document_t *doc;
	const char *yaml;
	size_t len;
	struct frame *stack;
	size_t depth, alloc_stack;
	/* per node id - 1: the values it stands for, aliases expanded;
	 * 0 while a collection is still open */
	size_t *sizes;
	size_t nr_sizes, alloc_sizes;
	size_t events;		     /* values and aliases read */
	size_t via_alias;	     /* values that aliases added */
	struct hp_inv_index anchors; /* name -> node id */
};

int hp_inv_mark_line(const yaml_mark_t *m)
{
	return m->line >= INT_MAX ? INT_MAX : (int)m->line + 1;
}

int hp_inv_mark_col(const yaml_mark_t *m)
{
	return m->column >= INT_MAX ? INT_MAX : (int)m->column + 1;
}

static void reader_diag(struct reader *r, const yaml_mark_t *m, const char *fmt,
			...) HP_PRINTF(3, 4);
static void reader_diag(struct reader *r, const yaml_mark_t *m, const char *fmt,
			...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	hp_inv_diag(r->ld, hp_inv_mark_line(m), hp_inv_mark_col(m), NULL, false,
		    "yaml: %s", b.buf);
	hp_buf_release(&b);
}

/* libyaml's own words, at its own position. */
static void parser_error(struct reader *r)
{
	const yaml_parser_t *p = &r->parser;
	struct hp_buf b = HP_BUF_INIT;
	int line = 1, col = 1;

	if (p->error == YAML_MEMORY_ERROR)
		hp_die_oom();
	if (p->error == YAML_READER_ERROR) {
		size_t i;

		/* the reader reports a byte offset, not a mark; columns
		 * count characters, as libyaml's marks do */
		for (i = 0; i < p->problem_offset && i < r->len; i++) {
			if (r->yaml[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)r->yaml[i] & 0xc0) != 0x80) {
				col++;
			}
		}
	} else {
		line = hp_inv_mark_line(&p->problem_mark);
		col = hp_inv_mark_col(&p->problem_mark);
	}
	hp_buf_addf(&b, "yaml: %s", p->problem ? p->problem : "syntax error");
	if (p->error == YAML_READER_ERROR && p->problem_value != -1)
		hp_buf_addf(&b, " (byte 0x%02x)",
			    (unsigned)p->problem_value & 0xffu);
	if (p->context)
		hp_buf_addf(&b, " (%s at line %d, column %d)", p->context,
			    hp_inv_mark_line(&p->context_mark),
			    hp_inv_mark_col(&p->context_mark));
	hp_inv_diag(r->ld, line, col, NULL, false, "%s", b.buf);
	hp_buf_release(&b);
}

/* An anchor's name for a message: libyaml allows [A-Za-z0-9_-] only, but
 * of any length. */
static int name_len(const yaml_char_t *name)
{
	size_t n = strlen((const char *)name);

	return n > 40 ? 40 : (int)n;
}

static size_t add_size(size_t a, size_t b)
{
	return a > SIZE_MAX / 2 || b > SIZE_MAX / 2 ? SIZE_MAX / 2 : a + b;
}

/* A new node (its id) gets its marks and, when it has one, its anchor.
 * false after a diagnostic. */
static bool new_node(struct reader *r, int id, const yaml_event_t *ev,
		     const yaml_char_t *anchor)
{
	yaml_node_t *n;
	size_t first;

	if (!id)
		hp_die_oom();
	n = &r->doc->nodes.start[id - 1];
	n->start_mark = ev->start_mark;
	n->end_mark = ev->end_mark;
	HP_ALLOC_GROW(r->sizes, (size_t)id, r->alloc_sizes);
	r->sizes[id - 1] = 0;
	r->nr_sizes = (size_t)id;
	if (!anchor)
		return true;
	if (hp_inv_index_add(&r->anchors, (const char *)anchor, (size_t)id,
			     &first)) {
		const yaml_node_t *fn = &r->doc->nodes.start[first - 1];

		reader_diag(r, &ev->start_mark,
			    "anchor &%.*s is defined twice (first at line "
			    "%d); give each anchor its own name",
			    name_len(anchor), anchor,
			    hp_inv_mark_line(&fn->start_mark));
		return false;
	}
	return true;
}

/* Hang node id (standing for size values) under the open collection. */
static void attach(struct reader *r, int id, size_t size)
{
	struct frame *f;

	if (!r->depth)
		return; /* the root: node 1 */
	f = &r->stack[r->depth - 1];
	f->size = add_size(f->size, size);
	if (r->doc->nodes.start[f->id - 1].type == YAML_SEQUENCE_NODE) {
		if (!yaml_document_append_sequence_item(r->doc, f->id, id))
			hp_die_oom();
	} else if (!f->key) {
		f->key = id;
	} else {
		if (!yaml_document_append_mapping_pair(r->doc, f->id, f->key,
						       id))
			hp_die_oom();
		f->key = 0;
	}
}

static bool on_start(struct reader *r, const yaml_event_t *ev)
{
	const yaml_char_t *anchor;
	int id;

	if (r->depth >= HP_INV_MAX_DEPTH) {
		reader_diag(r, &ev->start_mark,
			    "nesting deeper than %d levels (an inventory "
			    "needs 4); stopped reading here",
			    HP_INV_MAX_DEPTH);
		return false;
	}
	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		anchor = ev->data.sequence_start.anchor;
		id = yaml_document_add_sequence(r->doc, NULL,
						ev->data.sequence_start.style);
	} else {
		anchor = ev->data.mapping_start.anchor;
		id = yaml_document_add_mapping(r->doc, NULL,
					       ev->data.mapping_start.style);
	}
	if (!new_node(r, id, ev, anchor))
		return false;
	HP_ALLOC_GROW(r->stack, r->depth + 1, r->alloc_stack);
	r->stack[r->depth++] = (struct frame){.id = id, .key = 0, .size = 1};
	return true;
}

static void on_end(struct reader *r, const yaml_event_t *ev)
{
	struct frame f = r->stack[--r->depth];

	r->doc->nodes.start[f.id - 1].end_mark = ev->end_mark;
	r->sizes[f.id - 1] = f.size;
	attach(r, f.id, f.size);
}

static bool on_scalar(struct reader *r, const yaml_event_t *ev)
{
	size_t len = ev->data.scalar.length;
	int id;

	if (len > INT_MAX)
		hp_die_oom(); /* the file is capped far below */
	id = yaml_document_add_scalar(r->doc, NULL, ev->data.scalar.value,
				      (int)len, ev->data.scalar.style);
	if (!new_node(r, id, ev, ev->data.scalar.anchor))
		return false;
	r->sizes[id - 1] = 1;
	attach(r, id, 1);
	return true;
}

static bool on_alias(struct reader *r, const yaml_event_t *ev)
{
	const yaml_char_t *name = ev->data.alias.anchor;
	size_t id, size;

	if (!hp_inv_index_get(&r->anchors, (const char *)name, &id)) {
		reader_diag(r, &ev->start_mark,
			    "alias *%.*s refers to no anchor (an anchor "
			    "&%.*s must come before its aliases)",
			    name_len(name), name, name_len(name), name);
		return false;
	}
	size = r->sizes[id - 1];
	if (!size) {
		reader_diag(r, &ev->start_mark,
			    "alias *%.*s is inside the collection it refers "
			    "to; an inventory cannot contain itself",
			    name_len(name), name);
		return false;
	}
	r->via_alias = add_size(r->via_alias, size);
	if (r->via_alias > r->nr_sizes + HP_INV_ALIAS_SLACK) {
		reader_diag(r, &ev->start_mark,
			    "aliases expand to more than %zu values (the "
			    "%zu of the document itself plus %d); write the "
			    "values out instead; stopped reading here",
			    r->nr_sizes + HP_INV_ALIAS_SLACK, r->nr_sizes,
			    HP_INV_ALIAS_SLACK);
		return false;
	}
	attach(r, (int)id, size);
	return true;
}

/* One event of the document. false: stop reading (after a diagnostic). */
static bool on_event(struct reader *r, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
	case YAML_SCALAR_EVENT:
	case YAML_ALIAS_EVENT:
		if (++r->events > HP_INV_MAX_NODES) {
			reader_diag(r, &ev->start_mark,
				    "more than %d values (an inventory of 4000 "
				    "hosts has 40000); stopped reading here",
				    HP_INV_MAX_NODES);
			return false;
		}
		break;
	default:
		break;
	}
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		return on_start(r, ev);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		on_end(r, ev);
		return true;
	case YAML_SCALAR_EVENT:
		return on_scalar(r, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(r, ev);
	default:
		return true;
	}
}

/* The next event into ev; false after a diagnostic. */
static bool next_event(struct reader *r, yaml_event_t *ev)
{
	if (yaml_parser_parse(&r->parser, ev))
		return true;
	parser_error(r);
	return false;
}

/*
 * Read events to the end of the stream: the first document into r->doc,
 * then only far enough to see whether a second one starts. true when the
 * first document is whole (even if a diagnostic follows it).
 */
static bool read_stream(struct reader *r)
{
	bool in_doc = false, done = false;
	yaml_event_t ev;

	for (;;) {
		bool ok = true, end;

		if (!next_event(r, &ev))
			return done;
		end = ev.type == YAML_STREAM_END_EVENT;
		if (ev.type == YAML_DOCUMENT_START_EVENT && done) {
			/* a second document would be silently ignored */
			hp_inv_diag(r->ld, hp_inv_mark_line(&ev.start_mark),
				    hp_inv_mark_col(&ev.start_mark), NULL,
				    false,
				    "a second YAML document starts here; the "
				    "inventory must be one document");
			end = true;
		} else if (ev.type == YAML_DOCUMENT_START_EVENT) {
			in_doc = true;
		} else if (ev.type == YAML_DOCUMENT_END_EVENT) {
			in_doc = false;
			done = true;
		} else if (in_doc) {
			ok = on_event(r, &ev);
		}
		yaml_event_delete(&ev);
		if (!ok)
			return false;
		if (end)
			return true;
	}
}

bool hp_inv_yaml_read(struct hp_inv_loader *ld, yaml_document_t *doc,
		      const char *yaml, size_t len)
{
	struct reader r;
	bool ok;

	memset(&r, 0, sizeof(r));
	r.ld = ld;
	r.doc = doc;
	r.yaml = yaml;
	r.len = len;
	if (!yaml_document_initialize(doc, NULL, NULL, NULL, 1, 1))
		hp_die_oom();
	if (!yaml_parser_initialize(&r.parser))
		hp_die_oom();
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)yaml,
				     len);
	ok = read_stream(&r);
	yaml_parser_delete(&r.parser);
	hp_inv_index_release(&r.anchors);
	free(r.stack);
	free(r.sizes);
	return ok;
}
