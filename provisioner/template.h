#ifndef HP_TEMPLATE_H
#define HP_TEMPLATE_H
/*
 * A small mustache-like template engine over a jansson context. Pure: no
 * I/O, no globals; the same input always renders the same text.
 *
 *   {{name}}            the value of name; {{a.b}} walks into objects
 *   {{.}}               the current item (inside a section over scalars)
 *   {{#name}}..{{/name}} a section: once per item of an array, with the
 *                       item pushed on the context stack; once, with the
 *                       value pushed, when it is an object or another true
 *                       value (so {{.}} prints a string or number); not at
 *                       all when it is false, null, "" or []
 *   {{^name}}..{{/name}} inverted: once when name is false, null, "" or []
 *   {{! comment }}      nothing
 *
 * Values are written as they are: no escaping of any kind (the templates
 * are config files, not HTML; whatever quoting a format needs is done by
 * whoever builds the context). Strings as is, integers in decimal,
 * true/false as "true"/"false". null, reals, objects and arrays are not
 * printable and are errors.
 *
 * Names resolve as in mustache: the first part of a dotted name is looked up
 * in the innermost context that is an object holding it, then outward; the
 * other parts must exist inside what the first part found.
 *
 * A name that resolves to nothing is an error (HP_EINVALID, with the
 * template's name, the line and the variable), for a variable and for a
 * section alike: a typo must fail the render, not produce a config with a
 * hole in it. To make something optional, put false or "" in the context.
 *
 * Standalone tags: a line that holds only whitespace and one section, close
 * or comment tag is removed whole, newline included, so sections and
 * comments on their own lines leave no blank lines behind.
 */
#include <jansson.h>
#include <stddef.h>

#include "util.h"

/*
 * Render the template text (len bytes, named name in messages, e.g.
 * "patroni.yml") against ctx and append the result to out. On error
 * returns HP_EINVALID (bad syntax, unresolved name, unprintable value) or
 * HP_ETOOBIG (out reached its maximum); out then holds a partial result
 * that the caller discards. ctx is borrowed.
 */
int hp_template_render(struct hp_buf *out, const char *name, const char *text,
		       size_t len, const json_t *ctx, struct hp_err *err);

#endif
