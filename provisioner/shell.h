#ifndef HP_SHELL_H
#define HP_SHELL_H
/*
 * The one quoting function for values that reach a remote shell
 * (docs/style.md rule 11). Every inventory value, path, user or group name put
 * into a command string goes through hp_shell_quote(); secrets never do,
 * because they travel on stdin and never appear in a command at all.
 *
 * The quoting is POSIX single quotes: the value is wrapped in '...' and
 * each ' inside becomes '\'' (close, escaped quote, reopen). Inside single
 * quotes a POSIX shell gives no character a special meaning, so $(...),
 * backticks, globs, ;, newlines and a leading - all stay literal. The
 * result is always quoted, even for "" (which becomes ''), so a value can
 * never vanish from an argument list or split into two.
 */
#include "util.h"

/* Append s, single-quoted, to out. out must have no max (or room): a
 * command is built locally from bounded inventory values. */
void hp_shell_quote(struct hp_buf *out, const char *s);

/* The quoted form of s as a new string; the caller frees it. */
char *hp_shell_quote_dup(const char *s);

/* Append every argv[i] (NULL-terminated), quoted, separated by one
 * space, to out: a whole command line whose words are all literal. */
void hp_shell_join(struct hp_buf *out, const char *const *argv);

#endif
