/*
 * Typed values out of YAML nodes, for the walk (inventory.c): integers in
 * a range, booleans, strings checked by the schema, local and remote
 * paths, lists of strings; and the node helpers both share. Each getter
 * reports its own diagnostic and returns false when the value is unusable.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "inventory.h"
#include "inventory_priv.h"

/* ---- YAML helpers -------------------------------------------------------- */

void hp_inv_diag_node(struct hp_inv_walk *w, const yaml_node_t *n,
		      const char *path, const char *fmt, ...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	hp_inv_diag(w->ld, hp_inv_mark_line(&n->start_mark),
		    hp_inv_mark_col(&n->start_mark), path, false, "%s", b.buf);
	hp_buf_release(&b);
}

void hp_inv_mark_node(struct hp_inv_walk *w, const char *path,
		      const yaml_node_t *k, const yaml_node_t *v, bool bad)
{
	hp_inv_mark_set(w->ld, path, hp_inv_mark_line(&k->start_mark),
			hp_inv_mark_col(&k->start_mark),
			hp_inv_mark_line(&v->start_mark),
			hp_inv_mark_col(&v->start_mark), bad);
}

yaml_node_t *hp_inv_node(struct hp_inv_walk *w, int id)
{
	return yaml_document_get_node(w->doc, id);
}

/* An empty value: "key:", "key: ~", "key: null". Quoted "" is a string. */
bool hp_inv_is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

/* The text of a non-empty scalar, or NULL. */
const char *hp_inv_text(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || hp_inv_is_null(n))
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* For "got ...": what a value is when it is not a usable scalar. */
const char *hp_inv_got(struct hp_inv_quoted *q, const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (hp_inv_is_null(n))
		return "an empty value";
	return hp_inv_quote(q, (const char *)n->data.scalar.value);
}

bool hp_inv_has_nul(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE &&
	       strlen((const char *)n->data.scalar.value) !=
		       n->data.scalar.length;
}

char *hp_inv_key_path(const char *parent, const char *key)
{
	return *parent ? xasprintf("%s.%s", parent, key) : xstrdup(key);
}

/* ---- typed values -------------------------------------------------------- */

/* Decimal only: "0x10" and "1e3" are not what an operator means by 16 or
 * 1000 in a port or a timeout, and YAML readers disagree about them. */
static bool parse_ll(const char *s, long long *out, bool *overflow)
{
	const char *p = s;
	char *end;

	*overflow = false;
	if (*p == '+' || *p == '-')
		p++;
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno == ERANGE)
		*overflow = true;
	return true;
}

bool hp_inv_get_integer(struct hp_inv_walk *w, const char *path,
			const yaml_node_t *v, long long min, long long max,
			long long *out)
{
	struct hp_inv_quoted q;
	const char *s = hp_inv_text(v);
	bool overflow;

	if (!s || !parse_ll(s, out, &overflow)) {
		hp_inv_diag_node(w, v, path, "expected an integer, got %s",
				 hp_inv_got(&q, v));
		return false;
	}
	if (!overflow && *out >= min && *out <= max)
		return true;
	if (max == LLONG_MAX)
		hp_inv_diag_node(w, v, path,
				 "expected an integer of at least %lld, "
				 "got %s",
				 min, s);
	else
		hp_inv_diag_node(w, v, path,
				 "expected an integer between %lld and "
				 "%lld, got %s",
				 min, max, s);
	return false;
}

/* YAML 1.1's words, which is what operators coming from Ansible write. */
bool hp_inv_get_bool(struct hp_inv_walk *w, const char *path,
		     const yaml_node_t *v, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	struct hp_inv_quoted q;
	const char *s = hp_inv_text(v);
	size_t i;

	for (i = 0; s && i < HP_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return true;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return true;
		}
	}
	hp_inv_diag_node(w, v, path,
			 "expected true or false (or yes/no, on/off), "
			 "got %s",
			 hp_inv_got(&q, v));
	return false;
}

/* A scalar's text; *out stays NULL for an allowed empty value (F_NULL). */
static bool get_string(struct hp_inv_walk *w, const struct hp_inv_field *f,
		       const char *path, const yaml_node_t *v, const char *what,
		       const char **out)
{
	struct hp_inv_quoted q;

	*out = NULL;
	if ((f->flags & F_NULL) && hp_inv_is_null(v))
		return true;
	if (!hp_inv_text(v)) {
		/* a mapping or list is a shape error: name the shape */
		hp_inv_diag_node(w, v, path, "expected %s, got %s",
				 v->type == YAML_SCALAR_NODE ? what
							     : "a string",
				 hp_inv_got(&q, v));
		return false;
	}
	if (hp_inv_has_nul(v)) {
		hp_inv_diag_node(w, v, path,
				 "expected %s, got a value with a NUL "
				 "character",
				 what);
		return false;
	}
	*out = (const char *)v->data.scalar.value;
	return true;
}

/* s holds a line break (\n, \r, NEL, U+2028, U+2029) or another control
 * character but tab: the first is in *cp. */
bool hp_inv_bad_char(const char *s, unsigned *cp)
{
	while (*s) {
		s += hp_inv_utf8_char(s, cp);
		if (hp_inv_is_ctl(*cp))
			return true;
	}
	return false;
}

/* Paths: no control character at all, tab included. */
static bool has_ctl(const char *s)
{
	unsigned cp;

	return strchr(s, '\t') || hp_inv_bad_char(s, &cp);
}

/* Longer than any system call takes (PATH_MAX, with its NUL). */
static bool too_long(struct hp_inv_walk *w, const char *path,
		     const yaml_node_t *v, const char *s)
{
	struct hp_inv_quoted q;
	size_t n = strlen(s);

	if (n < PATH_MAX)
		return false;
	hp_inv_diag_node(w, v, path,
			 "refusing %s: a path of %zu bytes; the limit is "
			 "%d",
			 hp_inv_quote(&q, s), n, PATH_MAX - 1);
	return true;
}

/* "~/x" is $HOME/x; a relative path is relative to the inventory. */
bool hp_inv_get_local_path(struct hp_inv_walk *w, const struct hp_inv_field *f,
			   const char *path, const yaml_node_t *v, char **out)
{
	const char *s;

	if (!get_string(w, f, path, v, "a path", &s))
		return false;
	if (!s)
		return true;
	if (has_ctl(s)) {
		struct hp_inv_quoted q;

		hp_inv_diag_node(w, v, path, "expected a path, got %s",
				 hp_inv_quote(&q, s));
		return false;
	}
	if (too_long(w, path, v, s))
		return false;
	if (s[0] == '~' && s[1] != '/' && s[1] != '\0') {
		hp_inv_diag_node(w, v, path,
				 "only ~/ is expanded (to $HOME), not "
				 "~user/; write the full path");
		return false;
	}
	if (s[0] == '~') {
		const char *home = getenv("HOME");

		if (!home || home[0] != '/') {
			hp_inv_diag_node(w, v, path,
					 "cannot expand ~: $HOME is not "
					 "an absolute path");
			return false;
		}
		*out = hp_inv_path_join(home, s[1] ? s + 2 : "");
		return true;
	}
	*out = hp_inv_path_join(w->ld->inv->dir, s);
	return true;
}

/*
 * A directory haprov creates and takes ownership of (owner, mode) on
 * every host: never a system directory, nor one directly inside one (its
 * parent gets created too). On refusal *out is freed.
 */
static bool owned_dir_ok(struct hp_inv_walk *w, const struct hp_inv_field *f,
			 const char *path, const yaml_node_t *v, char **out)
{
	struct hp_buf why = HP_BUF_INIT;
	struct hp_inv_quoted q;

	if (!hp_inv_system_dir(*out, &why))
		return true;
	hp_inv_diag_node(
		w, v, path,
		"refusing %s: %s; haprov takes ownership of this directory, "
		"so it must not be a system directory nor sit directly "
		"inside one (for example %s)",
		hp_inv_quote(&q, *out), why.buf, f->what);
	hp_buf_release(&why);
	free(*out);
	*out = NULL;
	return false;
}

bool hp_inv_get_remote_path(struct hp_inv_walk *w, const struct hp_inv_field *f,
			    const char *path, const yaml_node_t *v, char **out)
{
	struct hp_inv_quoted q;
	const char *s;

	if (!get_string(w, f, path, v, "an absolute path", &s))
		return false;
	if (!s)
		return true;
	if (s[0] != '/' || has_ctl(s)) {
		hp_inv_diag_node(w, v, path,
				 "expected an absolute path, got %s",
				 hp_inv_quote(&q, s));
		return false;
	}
	if (too_long(w, path, v, s))
		return false;
	/* the hosts resolve ".." through symbolic links, not as text */
	if (hp_inv_has_dotdot(s)) {
		hp_inv_diag_node(
			w, v, path,
			"refusing %s: a remote path cannot hold a \"..\" "
			"component; write the directory itself",
			hp_inv_quote(&q, s));
		return false;
	}
	*out = hp_inv_path_join("/", s);
	return !(f->flags & F_OWNED) || owned_dir_ok(w, f, path, v, out);
}

/* s passes the field's valid() or check(); else a diagnostic. */
static bool value_ok(struct hp_inv_walk *w, const struct hp_inv_field *f,
		     const char *path, const yaml_node_t *v, const char *s)
{
	struct hp_buf why = HP_BUF_INIT;
	struct hp_inv_quoted q;
	bool ok = f->check ? f->check(s, &why) : f->valid(s);

	if (!ok && why.len)
		hp_inv_diag_node(w, v, path, "%s: %s", hp_inv_quote(&q, s),
				 why.buf);
	else if (!ok)
		hp_inv_diag_node(w, v, path, "expected %s, got %s", f->what,
				 hp_inv_quote(&q, s));
	hp_buf_release(&why);
	return ok;
}

bool hp_inv_get_checked_string(struct hp_inv_walk *w,
			       const struct hp_inv_field *f, const char *path,
			       const yaml_node_t *v, char **out)
{
	const char *s;

	if (!get_string(w, f, path, v, f->what, &s))
		return false;
	if (!s)
		return true;
	if (!value_ok(w, f, path, v, s))
		return false;
	*out = xstrdup(s);
	return true;
}

/*
 * Items keep their YAML index even when one is bad (an empty string
 * stands in), so "x[3]" in a later message is the fourth item the
 * operator wrote.
 */
bool hp_inv_get_strlist(struct hp_inv_walk *w, const struct hp_inv_field *f,
			const char *path, const yaml_node_t *v,
			struct hp_strlist *l)
{
	struct hp_inv_quoted q;
	yaml_node_item_t *it;

	if (hp_inv_is_null(v))
		goto check_empty;
	if (v->type != YAML_SEQUENCE_NODE) {
		hp_inv_diag_node(w, v, path, "expected a list, got %s",
				 hp_inv_got(&q, v));
		return false;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		const yaml_node_t *n = hp_inv_node(w, *it);
		char *ipath = xasprintf("%s[%zu]", path, l->nr);
		const char *s = hp_inv_text(n);
		bool good = false;

		if (!s || hp_inv_has_nul(n))
			hp_inv_diag_node(w, n, ipath, "expected %s, got %s",
					 n->type == YAML_SCALAR_NODE
						 ? f->what
						 : "a string",
					 hp_inv_got(&q, n));
		else
			good = value_ok(w, f, ipath, n, s);
		hp_strlist_add(l, s ? s : "");
		hp_inv_mark_node(w, ipath, n, n, !good);
		free(ipath);
	}
check_empty:
	if ((f->flags & F_NONEMPTY) && !l->nr) {
		hp_inv_diag_node(w, v, path,
				 "expected a list of at least one item");
		return false;
	}
	return true;
}
