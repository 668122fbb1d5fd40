/*
 * The template engine (see template.h): the text is first cut into tokens,
 * with standalone tag lines removed and sections matched to their closing
 * tags, then the token list is rendered against a stack of contexts.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

enum tok_type {
	TOK_TEXT,
	TOK_VAR,
	TOK_SECTION,
	TOK_INVERTED,
	TOK_CLOSE,
};

struct tok {
	enum tok_type type;
	const char *s; /* the text, or the tag's name (trimmed) */
	size_t len;
	int line;     /* tags: the line of the tag, 1-based; text: 0 */
	size_t close; /* sections: index of the matching TOK_CLOSE */
};

struct tpl {
	const char *name;
	struct tok *toks;
	size_t nr, alloc;
};

/* One context on the stack; borrowed from the caller's context. */
struct frame {
	const json_t *v;
};

struct render {
	const struct tpl *t;
	struct hp_buf *out;
	struct hp_err *err;
	struct frame *stack; /* innermost context last */
	size_t depth, alloc;
};

static void add_tok(struct tpl *t, enum tok_type type, const char *s,
		    size_t len, int line)
{
	struct tok *k;

	if (type == TOK_TEXT && len == 0)
		return;
	HP_ALLOC_GROW(t->toks, t->nr + 1, t->alloc);
	k = &t->toks[t->nr++];
	k->type = type;
	k->s = s;
	k->len = len;
	k->line = line;
	k->close = 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* "." alone, or dot-separated non-empty parts of [A-Za-z0-9_-]. */
static bool valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 1 && s[0] == '.')
		return true;
	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (!is_name_char(s[i]))
			return false;
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

static const char *find2(const char *s, size_t from, size_t len,
			 const char *pat)
{
	size_t i;

	for (i = from; i + 1 < len; i++)
		if (s[i] == pat[0] && s[i + 1] == pat[1])
			return s + i;
	return NULL;
}

/* Line number of offset off, counting on from (*at, *line). */
static int line_at(const char *s, size_t off, size_t *at, int *line)
{
	for (; *at < off; (*at)++)
		if (s[*at] == '\n')
			(*line)++;
	return *line;
}

/*
 * If the tag at [p, q) stands alone on its line, return true with *ls the
 * offset where the line starts and *next the offset just after the line's
 * end (its newline included).
 */
static bool standalone(const char *s, size_t len, size_t p, size_t q,
		       size_t *ls, size_t *next)
{
	size_t i = p;

	while (i > 0 && s[i - 1] != '\n')
		i--;
	*ls = i;
	for (; i < p; i++)
		if (!is_blank(s[i]))
			return false;
	for (i = q; i < len && is_blank(s[i]); i++)
		;
	if (i == len) {
		*next = len;
		return true;
	}
	if (s[i] == '\n') {
		*next = i + 1;
		return true;
	}
	if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
		*next = i + 2;
		return true;
	}
	return false;
}

static int tokenize(struct tpl *t, const char *s, size_t len,
		    struct hp_err *err)
{
	size_t pos = 0, text_start = 0, counted = 0;
	int line = 1;

	while (pos < len) {
		const char *open = find2(s, pos, len, "{{"), *close, *name;
		size_t p, q, name_len, ls, next;
		enum tok_type type = TOK_VAR;
		bool comment = false;
		int tag_line;

		if (!open)
			break;
		p = (size_t)(open - s);
		tag_line = line_at(s, p, &counted, &line);
		close = find2(s, p + 2, len, "}}");
		if (!close)
			return hp_err_set(err, HP_EINVALID,
					  "template %s line %d: '{{' is never "
					  "closed with '}}'",
					  t->name, tag_line);
		q = (size_t)(close - s) + 2;
		name = s + p + 2;
		name_len = (size_t)(close - name);
		switch (name_len ? name[0] : '\0') {
		case '#':
			type = TOK_SECTION;
			break;
		case '^':
			type = TOK_INVERTED;
			break;
		case '/':
			type = TOK_CLOSE;
			break;
		case '!':
			comment = true;
			break;
		case '{':
		case '&':
		case '>':
		case '=':
			return hp_err_set(err, HP_EINVALID,
					  "template %s line %d: unsupported "
					  "tag '{{%.*s}}'",
					  t->name, tag_line, (int)name_len,
					  name);
		default:
			break;
		}
		if (type != TOK_VAR || comment) {
			name++;
			name_len--;
		}
		while (name_len && is_blank(name[0])) {
			name++;
			name_len--;
		}
		while (name_len && is_blank(name[name_len - 1]))
			name_len--;
		if (!comment && !valid_name(name, name_len))
			return hp_err_set(err, HP_EINVALID,
					  "template %s line %d: bad name in "
					  "tag '%.*s'",
					  t->name, tag_line, (int)(q - p),
					  s + p);

		if ((type != TOK_VAR || comment) &&
		    standalone(s, len, p, q, &ls, &next)) {
			add_tok(t, TOK_TEXT, s + text_start, ls - text_start,
				0);
			text_start = next;
		} else {
			add_tok(t, TOK_TEXT, s + text_start, p - text_start, 0);
			text_start = q;
		}
		if (!comment)
			add_tok(t, type, name, name_len, tag_line);
		pos = text_start;
	}
	add_tok(t, TOK_TEXT, s + text_start, len - text_start, 0);
	return 0;
}

/* Pair every section with its closing tag. */
static int match_sections(struct tpl *t, struct hp_err *err)
{
	size_t *open = NULL, nr_open = 0, alloc_open = 0, i;
	int r = 0;

	for (i = 0; i < t->nr; i++) {
		struct tok *k = &t->toks[i], *o;

		if (k->type == TOK_SECTION || k->type == TOK_INVERTED) {
			HP_ALLOC_GROW(open, nr_open + 1, alloc_open);
			open[nr_open++] = i;
			continue;
		}
		if (k->type != TOK_CLOSE)
			continue;
		if (!nr_open) {
			r = hp_err_set(err, HP_EINVALID,
				       "template %s line %d: '{{/%.*s}}' "
				       "closes no section",
				       t->name, k->line, (int)k->len, k->s);
			goto out;
		}
		o = &t->toks[open[--nr_open]];
		if (o->len != k->len || memcmp(o->s, k->s, k->len) != 0) {
			r = hp_err_set(err, HP_EINVALID,
				       "template %s line %d: '{{/%.*s}}' "
				       "closes the section '%.*s' opened on "
				       "line %d",
				       t->name, k->line, (int)k->len, k->s,
				       (int)o->len, o->s, o->line);
			goto out;
		}
		o->close = i;
	}
	if (nr_open) {
		const struct tok *o = &t->toks[open[nr_open - 1]];

		r = hp_err_set(err, HP_EINVALID,
			       "template %s line %d: section '%.*s' is "
			       "never closed",
			       t->name, o->line, (int)o->len, o->s);
	}
out:
	free(open);
	return r;
}

static void push(struct render *rc, const json_t *v)
{
	HP_ALLOC_GROW(rc->stack, rc->depth + 1, rc->alloc);
	rc->stack[rc->depth++].v = v;
}

/* The value a (dotted) name stands for; NULL when it resolves to nothing. */
static const json_t *resolve(const struct render *rc, const struct tok *k)
{
	const char *s = k->s, *end = k->s + k->len, *dot;
	const json_t *v = NULL;
	size_t i;

	if (k->len == 1 && s[0] == '.')
		return rc->depth ? rc->stack[rc->depth - 1].v : NULL;
	dot = memchr(s, '.', k->len);
	if (!dot)
		dot = end;
	for (i = rc->depth; i > 0 && !v; i--)
		if (json_is_object(rc->stack[i - 1].v))
			v = json_object_getn(rc->stack[i - 1].v, s,
					     (size_t)(dot - s));
	while (v && dot < end) {
		s = dot + 1;
		dot = memchr(s, '.', (size_t)(end - s));
		if (!dot)
			dot = end;
		v = json_is_object(v)
			    ? json_object_getn(v, s, (size_t)(dot - s))
			    : NULL;
	}
	return v;
}

static bool truthy(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE:
		return false;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	default:
		return true;
	}
}

static int undefined(const struct render *rc, const struct tok *k)
{
	return hp_err_set(rc->err, HP_EINVALID,
			  "template %s line %d: '%.*s' is not defined",
			  rc->t->name, k->line, (int)k->len, k->s);
}

static int put_value(struct render *rc, const struct tok *k, const json_t *v)
{
	const char *what;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return hp_buf_add(rc->out, json_string_value(v),
				  json_string_length(v));
	case JSON_INTEGER:
		return hp_buf_addf(rc->out, "%" JSON_INTEGER_FORMAT,
				   json_integer_value(v));
	case JSON_TRUE:
		return hp_buf_adds(rc->out, "true");
	case JSON_FALSE:
		return hp_buf_adds(rc->out, "false");
	case JSON_NULL:
		what = "null";
		break;
	case JSON_REAL:
		what = "a real number";
		break;
	case JSON_OBJECT:
		what = "an object";
		break;
	default:
		what = "a list";
		break;
	}
	return hp_err_set(rc->err, HP_EINVALID,
			  "template %s line %d: '%.*s' is %s, not a value "
			  "to print",
			  rc->t->name, k->line, (int)k->len, k->s, what);
}

static int render_range(struct render *rc, size_t from, size_t to)
{
	size_t i;
	int r = 0;

	for (i = from; i < to && r == 0; i++) {
		const struct tok *k = &rc->t->toks[i];
		const json_t *v;

		if (k->type == TOK_TEXT) {
			r = hp_buf_add(rc->out, k->s, k->len);
			if (r < 0)
				hp_err_set(rc->err, r,
					   "template %s: output "
					   "too large",
					   rc->t->name);
			continue;
		}
		v = resolve(rc, k);
		if (!v)
			return undefined(rc, k);
		switch (k->type) {
		case TOK_VAR:
			r = put_value(rc, k, v);
			if (r == HP_ETOOBIG)
				hp_err_set(rc->err, r,
					   "template %s: output "
					   "too large",
					   rc->t->name);
			break;
		case TOK_SECTION:
			if (json_is_array(v)) {
				size_t j;

				for (j = 0; j < json_array_size(v) && !r; j++) {
					push(rc, json_array_get(v, j));
					r = render_range(rc, i + 1, k->close);
					rc->depth--;
				}
			} else if (truthy(v)) {
				push(rc, v);
				r = render_range(rc, i + 1, k->close);
				rc->depth--;
			}
			i = k->close;
			break;
		case TOK_INVERTED:
			if (!truthy(v))
				r = render_range(rc, i + 1, k->close);
			i = k->close;
			break;
		default: /* TOK_CLOSE is always skipped over by its section */
			break;
		}
	}
	return r;
}

int hp_template_render(struct hp_buf *out, const char *name, const char *text,
		       size_t len, const json_t *ctx, struct hp_err *err)
{
	struct tpl t = {name, NULL, 0, 0};
	struct render rc = {&t, out, err, NULL, 0, 0};
	int r;

	if ((r = tokenize(&t, text, len, err)) < 0)
		goto out;
	if ((r = match_sections(&t, err)) < 0)
		goto out;
	push(&rc, ctx);
	r = render_range(&rc, 0, t.nr);
out:
	free(rc.stack);
	free(t.toks);
	return r;
}
