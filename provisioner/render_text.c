/*
 * Values written the way each file format wants them (render_priv.h):
 * YAML scalars for config.yml, EnvironmentFile values, and the checks
 * for what is written unquoted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render_priv.h"

/* jansson returns NULL only when it cannot allocate: that aborts, as
 * xmalloc does. */
json_t *hp_render_jnn(json_t *j)
{
	if (!j)
		hp_die_oom();
	return j;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ctrl(char c)
{
	unsigned char u = (unsigned char)c;

	return u < 0x20 || u == 0x7f;
}

bool hp_render_has_ctrl(const char *s)
{
	for (; *s; s++)
		if (is_ctrl(*s))
			return true;
	return false;
}

/* Store the bytes of b (of s) as a JSON string. Context strings are never
 * dumped as JSON, only printed by the template engine, so they need not be
 * UTF-8. */
void hp_render_set_buf(json_t *o, const char *key, const struct hp_buf *b)
{
	json_object_set_new(
		o, key, hp_render_jnn(json_stringn_nocheck(b->buf, b->len)));
}

void hp_render_set_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key,
			    hp_render_jnn(json_stringn_nocheck(s, strlen(s))));
}

void hp_render_set_int(json_t *o, const char *key, long long v)
{
	json_object_set_new(o, key, hp_render_jnn(json_integer(v)));
}

/* HP_EINVALID unless s is set: the inventory's defaults provide these, so a
 * NULL here means an inventory that was not completed. */
int hp_render_need(const char *s, const char *key, struct hp_err *err)
{
	if (s && *s)
		return 0;
	return hp_err_set(err, HP_EINVALID,
			  "%s is not set (the inventory defaults provide it)",
			  key);
}

/*
 * Names and addresses go into etcd URL lists ("a=http://x:2380,b=..."),
 * HAProxy server lines and comments unquoted: only [A-Za-z0-9._:-] (host
 * names, IPv4, IPv6 and DNS names) can be written there safely.
 */
int hp_render_check_token(const char *s, const char *what, struct hp_err *err)
{
	const char *p;

	if (!s || !*s)
		return hp_err_set(err, HP_EINVALID, "%s is empty", what);
	for (p = s; *p; p++)
		if (!is_alnum(*p) && !strchr("._:-", *p))
			return hp_err_set(err, HP_EINVALID,
					  "%s '%s' has a character other "
					  "than letters, digits, '.', '_', "
					  "':' and '-'",
					  what, s);
	return 0;
}

/* Addresses passed hp_render_check_token(): a colon means an IPv6 literal. */
bool hp_render_is_ipv6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

/* "addr:port", or "[addr]:port" for an IPv6 literal. Caller frees. */
char *hp_render_host_port(const char *addr, int port)
{
	if (hp_render_is_ipv6(addr))
		return xasprintf("[%s]:%d", addr, port);
	return xasprintf("%s:%d", addr, port);
}

/* Release a buffer that may have held a password, zeroing it first. */
void hp_render_wipe_buf(struct hp_buf *b)
{
	if (b->alloc)
		explicit_bzero(b->buf, b->alloc);
	hp_buf_release(b);
}

/* Release a buffer that may have held a password, zeroing it first. */
/* ---- YAML scalars ------------------------------------------------------ */

/* Words a YAML 1.1 or 1.2 parser reads as null or a boolean. */
static bool yaml_keyword(const char *s)
{
	static const char *const words[] = {
		"null", "~",  "true", "false", "yes",
		"no",	"on", "off",  "y",     "n",
	};
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(words); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

static size_t skip_digits(const char *s, size_t i)
{
	while (is_digit(s[i]) || s[i] == '_')
		i++;
	return i;
}

/*
 * Whether s (starting with a digit) could be read as a number or a date:
 * 0x1F, 0o17, 0b101, 1_000, 0.9, 1e3, 1.5e-3, 1:30 (base 60 in YAML 1.1),
 * 2024-01-01. Errs on the side of "yes": a needless quote costs nothing.
 * IP addresses and "host:port" stay unquoted (10.0.0.1, 10.0.0.1:8008).
 */
static bool yaml_numeric(const char *s)
{
	size_t i, j;

	if (s[0] == '0' && s[1] && strchr("xXoObB", s[1])) {
		const char *set = strchr("xX", s[1]) ? "0123456789abcdefABCDEF_"
				  : strchr("oO", s[1]) ? "01234567_"
						       : "01_";

		return s[2] && strspn(s + 2, set) == strlen(s + 2);
	}
	/* decimal, float: [0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)? */
	i = skip_digits(s, 0);
	if (s[i] == '.')
		i = skip_digits(s, i + 1);
	if (s[i] == 'e' || s[i] == 'E') {
		j = i + 1;
		if (s[j] == '+' || s[j] == '-')
			j++;
		if (is_digit(s[j])) {
			while (is_digit(s[j]))
				j++;
			i = j;
		}
	}
	if (!s[i])
		return true;
	/* base 60: [0-9][0-9_]*(:[0-9_]+)+(\.[0-9_]*)? */
	i = skip_digits(s, 0);
	if (s[i] == ':') {
		while (s[i] == ':') {
			j = skip_digits(s, i + 1);
			if (j == i + 1)
				return false;
			i = j;
		}
		if (s[i] == '.')
			i = skip_digits(s, i + 1);
		return !s[i];
	}
	/* a date or timestamp: YYYY-M... */
	return strlen(s) >= 6 && strspn(s, "0123456789") == 4 && s[4] == '-' &&
	       is_digit(s[5]);
}

static bool yaml_plain_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || !(is_alnum(s[0]) || s[0] == '_' || s[0] == '/'))
		return false;
	if (s[n - 1] == ' ' || s[n - 1] == ':')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || strchr("#'\"`{}[]|>&*!\\", c))
			return false;
		if (c == ':' && s[i + 1] == ' ')
			return false;
	}
	return !yaml_keyword(s) && !(is_digit(s[0]) && yaml_numeric(s));
}

int hp_render_yaml_scalar(struct hp_buf *out, const char *s)
{
	int r = 0;

	if (yaml_plain_ok(s))
		return hp_buf_adds(out, s);
	if (!hp_render_has_ctrl(s)) {
		/* single quotes: everything literal, ' doubled */
		r = hp_buf_addch(out, '\'');
		for (; *s && r == 0; s++)
			r = *s == '\'' ? hp_buf_adds(out, "''")
				       : hp_buf_addch(out, *s);
		return r ? r : hp_buf_addch(out, '\'');
	}
	r = hp_buf_addch(out, '"');
	for (; *s && r == 0; s++) {
		switch (*s) {
		case '"':
			r = hp_buf_adds(out, "\\\"");
			break;
		case '\\':
			r = hp_buf_adds(out, "\\\\");
			break;
		case '\n':
			r = hp_buf_adds(out, "\\n");
			break;
		case '\t':
			r = hp_buf_adds(out, "\\t");
			break;
		case '\r':
			r = hp_buf_adds(out, "\\r");
			break;
		default:
			r = is_ctrl(*s) ? hp_buf_addf(out, "\\x%02x",
						      (unsigned char)*s)
					: hp_buf_addch(out, *s);
			break;
		}
	}
	return r ? r : hp_buf_addch(out, '"');
}

/* s as a YAML scalar, in a new JSON string for a context. */
json_t *hp_render_yaml_json(const char *s)
{
	struct hp_buf b = HP_BUF_INIT;
	json_t *j;

	hp_render_yaml_scalar(&b, s);
	j = hp_render_jnn(json_stringn_nocheck(b.buf, b.len));
	hp_buf_release(&b);
	return j;
}

void hp_render_set_yaml(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, hp_render_yaml_json(s));
}

/* A JSON scalar of the DCS document as YAML text (new JSON string). */
json_t *hp_render_yaml_of_json(const json_t *v)
{
	char num[32];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return hp_render_yaml_json(json_string_value(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return hp_render_jnn(json_string(num));
	case JSON_TRUE:
		return hp_render_jnn(json_string("true"));
	default: /* hp_render_dcs_json makes only these and false */
		return hp_render_jnn(json_string("false"));
	}
}

/* ---- EnvironmentFile values ------------------------------------------- */

/*
 * Append s as a value systemd's EnvironmentFile (and a POSIX shell) reads
 * back unchanged: bare when it is made of safe characters, else in double
 * quotes with \ before " \ ` $. Control characters cannot be written.
 */
static int env_value(struct hp_buf *out, const char *s, const char *what,
		     struct hp_err *err)
{
	const char *p;

	if (hp_render_has_ctrl(s))
		return hp_err_set(err, HP_EINVALID,
				  "%s contains a control character", what);
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
			    "wxyz0123456789_./:@%+,=-") == strlen(s))
		return hp_buf_adds(out, s);
	hp_buf_addch(out, '"');
	for (p = s; *p; p++) {
		if (strchr("\"\\`$", *p))
			hp_buf_addch(out, '\\');
		hp_buf_addch(out, *p);
	}
	return hp_buf_addch(out, '"');
}

int hp_render_set_env(json_t *o, const char *key, const char *s,
		      const char *what, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	int r;

	if ((r = env_value(&b, s, what, err)) == 0)
		hp_render_set_buf(o, key, &b);
	hp_render_wipe_buf(&b);
	return r;
}
