/* POSIX single-quote quoting for values that reach a remote shell. */
#include <stdlib.h>
#include <string.h>

#include "shell.h"

/*
 * hp_buf_add only fails past a max, and a command buffer has none; a
 * failure here would mean a truncated, possibly unterminated quote, so it
 * must never pass silently.
 */
static void must_add(struct hp_buf *out, const char *s, size_t len)
{
	if (hp_buf_add(out, s, len) < 0) {
		hp_error("shell command buffer has a maximum; refusing to "
			 "build a truncated command");
		abort();
	}
}

void hp_shell_quote(struct hp_buf *out, const char *s)
{
	const char *q;

	must_add(out, "'", 1);
	/* copy runs between single quotes whole: cheap for long values */
	while ((q = strchr(s, '\'')) != NULL) {
		must_add(out, s, (size_t)(q - s));
		must_add(out, "'\\''", 4);
		s = q + 1;
	}
	must_add(out, s, strlen(s));
	must_add(out, "'", 1);
}

char *hp_shell_quote_dup(const char *s)
{
	struct hp_buf b = HP_BUF_INIT;

	hp_shell_quote(&b, s);
	return hp_buf_detach(&b, NULL);
}

void hp_shell_join(struct hp_buf *out, const char *const *argv)
{
	size_t i;

	for (i = 0; argv[i]; i++) {
		if (i)
			must_add(out, " ", 1);
		hp_shell_quote(out, argv[i]);
	}
}
