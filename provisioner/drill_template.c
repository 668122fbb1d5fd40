/*
 * Drill command templates (drill.crash_command, drill.boot_command): a
 * /bin/sh command line run on the machine running haprov, with {host} and
 * {address} replaced by the host's values through the one quoting
 * function (shell.h). One walk both checks a template (the inventory
 * load, with no host) and expands it, so what the load accepts is exactly
 * what a drill can run.
 *
 * Braces are placeholders and nothing else: no escape for a literal one.
 * A command that needs shell braces (${VAR}, {a,b}) belongs in a script
 * the template calls.
 */
#include <string.h>

#include "inventory.h"
#include "shell.h"

/* A placeholder name in a message: at most this many bytes of it. */
#define SHOWN_NAME 32

/*
 * The value of placeholder name[0..n) for h (NULL when h has none), or
 * false: no such placeholder.
 */
static bool placeholder(const char *name, size_t n, const struct hp_host *h,
			const char **value)
{
	if (n == 4 && !memcmp(name, "host", 4)) {
		*value = h ? h->name : NULL;
		return true;
	}
	if (n == 7 && !memcmp(name, "address", 7)) {
		*value = h ? h->address : NULL;
		return true;
	}
	return false;
}

/* The 1-based character (not byte) position of p in s, for messages. */
static size_t char_pos(const char *s, const char *p)
{
	size_t n = 1;

	for (; s < p; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Empty, or a control character: the template is not one line of text. */
static int check_chars(const char *tmpl, struct hp_err *err)
{
	const char *p;

	if (!*tmpl)
		return hp_err_set(err, HP_ERROR,
				  "a drill command cannot be empty");
	for (p = tmpl; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\n' || c == '\r')
			return hp_err_set(err, HP_ERROR,
					  "a drill command must be one line "
					  "(it holds \\x%02x)",
					  c);
		if (c < 0x20 || c == 0x7f)
			return hp_err_set(err, HP_ERROR,
					  "a drill command cannot hold "
					  "control characters (it holds "
					  "\\x%02x)",
					  c);
	}
	return 0;
}

/* Check tmpl and, when out is not NULL, append its expansion for h. */
static int walk(const char *tmpl, const struct hp_host *h, struct hp_buf *out,
		struct hp_err *err)
{
	const char *p = tmpl;

	if (check_chars(tmpl, err) < 0)
		return HP_ERROR;
	while (*p) {
		const char *value = NULL, *lb, *rb;
		size_t n = strcspn(p, "{}");

		if (out)
			hp_buf_add(out, p, n);
		p += n;
		if (!*p)
			break;
		lb = p;
		rb = strpbrk(lb + 1, "{}");
		if (*lb == '}' || !rb || *rb == '{')
			return hp_err_set(
				err, HP_ERROR,
				"a lone '%c' at character %zu: braces only "
				"make the placeholders {host} and {address}",
				*lb, char_pos(tmpl, lb));
		n = (size_t)(rb - lb - 1);
		if (!placeholder(lb + 1, n, h, &value))
			return hp_err_set(
				err, HP_ERROR,
				"unknown placeholder {%.*s%s}: a drill command "
				"takes {host} and {address}",
				(int)(n < SHOWN_NAME ? n : SHOWN_NAME), lb + 1,
				n > SHOWN_NAME ? "..." : "");
		if (out && !value)
			return hp_err_set(err, HP_ERROR,
					  "no {%.*s} for the drill command: "
					  "the host has none",
					  (int)n, lb + 1);
		if (out)
			hp_shell_quote(out, value);
		p = rb + 1;
	}
	return 0;
}

int hp_drill_template_check(const char *tmpl, struct hp_err *err)
{
	if (!tmpl)
		return hp_err_set(err, HP_ERROR, "no drill command");
	return walk(tmpl, NULL, NULL, err);
}

int hp_drill_command(const char *tmpl, const struct hp_host *h,
		     struct hp_buf *out, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	int r;

	if (hp_drill_template_check(tmpl, err) < 0)
		return HP_ERROR;
	if (!h)
		return hp_err_set(err, HP_ERROR,
				  "no host for the drill command");
	/* expanded aside: a host without a value leaves out as it was */
	r = walk(tmpl, h, &b, err);
	if (r == 0 && hp_buf_add(out, b.buf, b.len) < 0)
		r = hp_err_set(err, HP_ERROR,
			       "the drill command (%zu bytes) does not fit "
			       "its buffer",
			       b.len);
	hp_buf_release(&b);
	return r;
}
