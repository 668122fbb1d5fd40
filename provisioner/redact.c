/*
 * Credential redaction for text that came from a managed file (see
 * redact.h for what counts as a credential). Line by line: each rule marks
 * the byte ranges of values on the line, and the line is written out with
 * those ranges replaced. Every scan moves forward, so a hostile line of
 * any length costs time linear in its length.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "redact.h"

#define MAX_SPANS 32 /* per line; more and the whole line is hidden */

struct span {
	size_t a, b; /* [a, b) within the line */
};

struct line_spans {
	struct span v[MAX_SPANS];
	size_t n;
	bool overflow;
};

/* What carries over from one line to the next. */
struct redact_state {
	bool in_block;     /* inside "password: |" */
	size_t block_lead; /* the key line's leading width */
	bool in_pem;       /* inside a PEM private key */
};

static void add_span(struct line_spans *s, size_t a, size_t b)
{
	if (b <= a)
		return;
	if (s->n == MAX_SPANS) {
		s->overflow = true;
		return;
	}
	s->v[s->n].a = a;
	s->v[s->n].b = b;
	s->n++;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* Width of what precedes the content: indentation, a diff marker, a YAML
 * list dash, a comment sign. */
static size_t lead_width(const char *l, size_t n)
{
	size_t i = 0;

	while (i < n && strchr(" \t+-#;", l[i]) && l[i] != '\0')
		i++;
	return i;
}

static bool ends_with_ci(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !strncasecmp(s + n - k, suffix, k);
}

static bool equals_ci(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && !strncasecmp(s, word, n);
}

/* A NAME=value whose value is a password. */
static bool password_name(const char *s, size_t n)
{
	return ends_with_ci(s, n, "password") || ends_with_ci(s, n, "passwd");
}

/* A YAML or JSON key whose value is a credential. Names that merely
 * contain one of the words (password_encryption, ssl_key_file, pgpass)
 * are settings or paths, not credentials. */
static bool credential_key(const char *s, size_t n)
{
	static const char *const suffixes[] = { "password", "passwd",
						"secret", "token", "_key",
						"-key", ".key", "apikey",
						"privatekey", "accesskey",
						"secretkey" };
	size_t i;

	if (equals_ci(s, n, "key"))
		return true;
	for (i = 0; i < HP_ARRAY_SIZE(suffixes); i++)
		if (ends_with_ci(s, n, suffixes[i]))
			return true;
	return false;
}

/* The end of a quoted value starting after the quote at l[i - 1], or n
 * when it is not closed on this line. */
static size_t quote_end(const char *l, size_t n, size_t i, char q)
{
	while (i < n) {
		if (q == '"' && l[i] == '\\' && i + 1 < n) {
			i += 2;
			continue;
		}
		if (l[i] == q)
			return i;
		i++;
	}
	return n;
}

static size_t trim_end(const char *l, size_t a, size_t b)
{
	while (b > a && is_space(l[b - 1]))
		b--;
	return b;
}

/* An empty value hides nothing. */
static bool empty_value(const char *l, size_t a, size_t b)
{
	return b <= a || equals_ci(l + a, b - a, "null") ||
	       equals_ci(l + a, b - a, "~");
}

/*
 * The value of a YAML/JSON key at l[i] (just after "key:"). Marks it and
 * returns where scanning may go on. A block scalar indicator starts hiding
 * the following, more indented lines.
 */
static size_t key_value(const char *l, size_t n, size_t i, bool flow,
			size_t lead, struct redact_state *st,
			struct line_spans *sp)
{
	size_t a, b;

	while (i < n && is_space(l[i]))
		i++;
	if (i >= n || l[i] == '#')
		return n;
	if (l[i] == '"' || l[i] == '\'') {
		a = i + 1;
		b = quote_end(l, n, a, l[i]);
		add_span(sp, a, b);
		return b;
	}
	if (!flow && (l[i] == '|' || l[i] == '>')) {
		for (b = i + 1; b < n && strchr("+-0123456789", l[b]) &&
				l[b] != '\0';
		     b++)
			;
		while (b < n && is_space(l[b]))
			b++;
		if (b >= n || l[b] == '#') {
			st->in_block = true;
			st->block_lead = lead;
			return n;
		}
	}
	for (b = i; b < n; b++) {
		if (flow && (l[b] == ',' || l[b] == '}' || l[b] == ']'))
			break;
		if (l[b] == '#' && b > i && (l[b - 1] == ' ' || l[b - 1] == '\t'))
			break;
	}
	a = i;
	b = trim_end(l, a, b);
	if (!empty_value(l, a, b))
		add_span(sp, a, b);
	return b;
}

/*
 * A key-named entry whose value is an absolute file path ("key:
 * /etc/patroni/tls/host.key", Patroni's etcd3 client key) names where a
 * key is, not the key: it hides nothing, so the file stays diffable and
 * maskable. Only for names ending in "key" (a password is never a path
 * worth showing) and only a plain path: '/' then letters, digits and
 * "._-/", up to the end of the line or a comment.
 */
static bool key_file_path(const char *k, size_t kn, const char *l, size_t n,
			  size_t i)
{
	size_t b;

	if (!ends_with_ci(k, kn, "key"))
		return false;
	while (i < n && is_space(l[i]))
		i++;
	if (i >= n || l[i] != '/')
		return false;
	for (b = i; b < n && !is_space(l[b]); b++)
		if (!(isalnum((unsigned char)l[b]) || strchr("._-/", l[b])))
			return false;
	while (b < n && is_space(l[b]))
		b++;
	return b >= n || l[b] == '#';
}

/*
 * A key at l[i] ("name:", "\"name\":", "'name':"), in block context at
 * the start of a line or in flow context after { or ,. Returns where
 * scanning may go on (i when there is no credential key here).
 */
static size_t try_key(const char *l, size_t n, size_t i, bool flow,
		      size_t lead, struct redact_state *st,
		      struct line_spans *sp)
{
	size_t start, end, j = i;
	char q = 0;

	while (j < n && is_space(l[j]))
		j++;
	if (j < n && (l[j] == '"' || l[j] == '\''))
		q = l[j++];
	start = j;
	while (j < n && is_name_char(l[j]))
		j++;
	end = j;
	if (end == start)
		return i;
	if (q) {
		if (j >= n || l[j] != q)
			return i;
		j++;
	}
	while (j < n && (l[j] == ' ' || l[j] == '\t'))
		j++;
	if (j >= n || l[j] != ':')
		return i;
	j++;
	/* "key:value" with no space is not a YAML key (a URL, a port) */
	if (!q && j < n && !is_space(l[j]))
		return i;
	if (!credential_key(l + start, end - start) ||
	    key_file_path(l + start, end - start, l, n, j))
		return i;
	return key_value(l, n, j, flow, lead, st, sp);
}

/*
 * YAML block keys, keys inside { } (YAML flow style or JSON), and a key
 * after a space anywhere else on the line: a tool's error message quotes
 * "config: password: x" mid-line.
 */
static void scan_keys(const char *l, size_t n, size_t lead,
		      struct redact_state *st, struct line_spans *sp)
{
	bool flow = false;
	size_t i;

	for (i = try_key(l, n, lead, false, lead, st, sp); i < n; i++) {
		size_t next;
		bool at;

		if (l[i] == '{' || l[i] == '[')
			flow = true;
		at = (flow && (l[i] == '{' || l[i] == ',')) ||
		     ((l[i] == ' ' || l[i] == '\t') && i + 1 < n &&
		      !is_space(l[i + 1]));
		if (!at)
			continue;
		/* go on from the end of a value, at a ',' or '}' */
		next = try_key(l, n, i + 1, flow, lead, st, sp);
		if (next > i + 1)
			i = next - 1;
	}
}

/* NAME=value where NAME ends in password: env files, conninfo strings,
 * URL query strings. */
static void scan_assignments(const char *l, size_t n, struct line_spans *sp)
{
	size_t i;

	for (i = 0; i < n; i++) {
		size_t e = i, s, a, b;

		if (l[i] != '=' || (i + 1 < n && l[i + 1] == '='))
			continue;
		while (e > 0 && (l[e - 1] == ' ' || l[e - 1] == '\t'))
			e--;
		s = e;
		while (s > 0 && is_name_char(l[s - 1]))
			s--;
		if (s == e || !password_name(l + s, e - s))
			continue;
		a = i + 1;
		while (a < n && (l[a] == ' ' || l[a] == '\t'))
			a++;
		if (a < n && (l[a] == '"' || l[a] == '\'')) {
			b = quote_end(l, n, a + 1, l[a]);
			a++;
		} else {
			for (b = a; b < n && !is_space(l[b]) &&
				    !strchr("&;,'\"})", l[b]);
			     b++)
				;
		}
		add_span(sp, a, b);
		i = b > i ? b - 1 : i;
	}
}

/* The next whitespace-separated word at or after *i: [*a, *b). */
static bool next_word(const char *l, size_t n, size_t *i, size_t *a,
		      size_t *b)
{
	size_t j = *i;

	while (j < n && is_space(l[j]))
		j++;
	if (j >= n)
		return false;
	*a = j;
	while (j < n && !is_space(l[j]))
		j++;
	*b = j;
	*i = j;
	return true;
}

/* Whether s (n bytes, a closing quote allowed) is only a reference to an
 * environment variable, "${NAME}": HAProxy expands it at start-up, so the
 * text names where the password is and holds none (haprov's own stats
 * line reads the password from the environment this way). */
static bool env_reference(const char *s, size_t n)
{
	size_t i;

	if (n && (s[n - 1] == '"' || s[n - 1] == '\''))
		n--;
	if (n < 4 || s[0] != '$' || s[1] != '{' || s[n - 1] != '}')
		return false;
	for (i = 2; i < n - 1; i++)
		if (!is_name_char(s[i]) || s[i] == '-' || s[i] == '.')
			return false;
	return !(s[2] >= '0' && s[2] <= '9'); /* n >= 4: a name */
}

/* HAProxy: "stats auth user:pass", and a userlist's "user NAME password
 * X" or "user NAME insecure-password X". */
static void scan_haproxy(const char *l, size_t n, size_t lead,
			 struct line_spans *sp)
{
	size_t i = lead, a, b;

	if (!next_word(l, n, &i, &a, &b))
		return;
	if (equals_ci(l + a, b - a, "stats")) {
		const char *colon;

		if (!next_word(l, n, &i, &a, &b) ||
		    !equals_ci(l + a, b - a, "auth") ||
		    !next_word(l, n, &i, &a, &b))
			return;
		colon = memchr(l + a, ':', b - a);
		if (colon &&
		    !env_reference(colon + 1, b - (size_t)(colon - l) - 1))
			add_span(sp, (size_t)(colon - l) + 1, b);
		return;
	}
	if (!equals_ci(l + a, b - a, "user"))
		return;
	while (next_word(l, n, &i, &a, &b)) {
		if (equals_ci(l + a, b - a, "password") ||
		    equals_ci(l + a, b - a, "insecure-password")) {
			if (next_word(l, n, &i, &a, &b))
				add_span(sp, a, b);
			return;
		}
	}
}

/* scheme://user:password@host: the password. */
static void scan_uris(const char *l, size_t n, struct line_spans *sp)
{
	size_t i;

	for (i = 1; i + 2 < n; i++) {
		size_t a, e, at = 0;
		char c = l[i - 1];

		if (l[i] != ':' || l[i + 1] != '/' || l[i + 2] != '/' ||
		    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9')))
			continue;
		a = i + 3;
		for (e = a; e < n && !strchr("/?# \t\r\"'<>", l[e]); e++)
			if (l[e] == '@')
				at = e;
		if (at) {
			const char *colon = memchr(l + a, ':', at - a);

			if (colon)
				add_span(sp, (size_t)(colon - l) + 1, at);
		}
		i = e > i ? e - 1 : i;
	}
}

/* Lines that belong to a block scalar or a PEM key: hidden whole. */
static bool scan_multiline(const char *l, size_t n, size_t lead,
			   struct redact_state *st, struct line_spans *sp)
{
	size_t end = trim_end(l, lead, n);

	if (st->in_pem) {
		if (memmem(l, n, "-----END ", 9))
			st->in_pem = false;
		else
			add_span(sp, lead, end);
		return true;
	}
	if (memmem(l, n, "-----BEGIN ", 11) &&
	    memmem(l, n, "PRIVATE KEY-----", 16)) {
		st->in_pem = true;
		return true;
	}
	if (st->in_block) {
		if (end == lead) /* a blank line does not end a block */
			return true;
		if (lead > st->block_lead) {
			add_span(sp, lead, end);
			return true;
		}
		st->in_block = false;
	}
	return false;
}

static void sort_spans(struct line_spans *sp)
{
	size_t i, j;

	for (i = 1; i < sp->n; i++) {
		struct span s = sp->v[i];

		for (j = i; j > 0 && sp->v[j - 1].a > s.a; j--)
			sp->v[j] = sp->v[j - 1];
		sp->v[j] = s;
	}
}

/* Write the line with its spans replaced; overlapping spans merge. */
static int emit_line(struct hp_buf *out, const char *l, size_t n,
		     size_t lead, struct line_spans *sp)
{
	size_t pos = 0, i;
	int r = 0;

	if (sp->overflow) {
		if ((r = hp_buf_add(out, l, lead)) == 0)
			r = hp_buf_adds(out, HP_REDACTED);
		return r;
	}
	sort_spans(sp);
	for (i = 0; i < sp->n && r == 0; i++) {
		size_t a = sp->v[i].a, b = sp->v[i].b;

		if (b <= pos)
			continue;
		if (a < pos)
			a = pos;
		if ((r = hp_buf_add(out, l + pos, a - pos)) == 0)
			r = hp_buf_adds(out, HP_REDACTED);
		pos = b;
	}
	if (r == 0)
		r = hp_buf_add(out, l + pos, n - pos);
	return r;
}

static void scan_line(const char *l, size_t n, struct redact_state *st,
		      struct line_spans *sp)
{
	size_t lead = lead_width(l, n);

	if (scan_multiline(l, n, lead, st, sp))
		return;
	scan_keys(l, n, lead, st, sp);
	scan_assignments(l, n, sp);
	scan_haproxy(l, n, lead, sp);
	scan_uris(l, n, sp);
}

static int redact(struct hp_buf *out, const char *text, size_t len,
		  size_t *nr_out)
{
	struct redact_state st;
	size_t pos = 0, nr = 0;
	int r = 0;

	memset(&st, 0, sizeof(st));
	while (pos < len && r == 0) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;
		struct line_spans sp;

		sp.n = 0;
		sp.overflow = false;
		scan_line(l, n, &st, &sp);
		nr += sp.n + (sp.overflow ? 1 : 0);
		if (out) {
			r = emit_line(out, l, n, lead_width(l, n), &sp);
			if (r == 0 && nl)
				r = hp_buf_addch(out, '\n');
		}
		pos += n + (nl ? 1 : 0);
	}
	if (nr_out)
		*nr_out = nr;
	return r;
}

int hp_redact_credentials(struct hp_buf *out, const char *text, size_t len,
			  size_t *nr_out)
{
	return redact(out, text ? text : "", text ? len : 0, nr_out);
}

bool hp_redact_has_credentials(const char *text, size_t len)
{
	size_t nr = 0;

	redact(NULL, text ? text : "", text ? len : 0, &nr);
	return nr > 0;
}

void hp_redact_buf_wipe(struct hp_buf *b)
{
	if (b->alloc)
		explicit_bzero(b->buf, b->alloc);
	hp_buf_release(b);
}

void hp_redact_free(void *p, size_t n)
{
	if (p && n)
		explicit_bzero(p, n);
	free(p);
}
