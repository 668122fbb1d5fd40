#ifndef HP_REDACT_H
#define HP_REDACT_H
/*
 * Credentials out of everything haprov shows or keeps: plan diffs, step
 * details, --json, error messages quoting a host and the state repository.
 *
 * haprov's own secrets live only in files marked secret, which are never
 * diffed. But the files haprov takes over were written by someone else: an
 * existing /etc/patroni/config.yml with passwords, a haproxy.cfg with
 * "stats auth" or a userlist. Their old content reaches a diff, and must
 * not reach a terminal, a CI log or a git repository in clear.
 *
 * A line looks like a credential when it has (case-insensitive, any
 * indentation, in a file, a unified diff or a comment):
 *   - a YAML or JSON key whose name ends in password, passwd, secret,
 *     token or key ("password: x", "\"db_password\": \"x\"", "api_key: x",
 *     also inside { } on one line); a block scalar ("password: |") hides
 *     its more-indented lines;
 *   - NAME=value where NAME ends in password or passwd (PGPASSWORD=,
 *     PATRONI_SUPERUSER_PASSWORD=, "host=x password=y" in a conninfo);
 *   - HAProxy "stats auth user:pass";
 *   - HAProxy userlist "user NAME password|insecure-password X";
 *   - a URI with a user:password@ part (postgres://u:p@h, http://u:p@h);
 *   - the body of a PEM private key.
 * The key, the user name and the line stay; only the value becomes
 * "<redacted>", so a diff still says which line changed. Names such as
 * password_encryption, pgpass or ssl_key_file are not credentials.
 */
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define HP_REDACTED "<redacted>"

/*
 * Append text (len bytes, NUL bytes allowed) to out with every credential
 * value replaced by HP_REDACTED. *nr_out (may be NULL) receives how many
 * values were replaced. Returns 0, or HP_ETOOBIG when out has a max and it
 * was reached (out then holds a redacted prefix).
 */
int hp_redact_credentials(struct hp_buf *out, const char *text, size_t len,
			  size_t *nr_out);

/* Whether text has at least one credential-looking value. */
bool hp_redact_has_credentials(const char *text, size_t len);

/* Zero a buffer's memory (explicit_bzero: not optimised away), then
 * release it. For anything that held a file's content or a secret. */
void hp_redact_buf_wipe(struct hp_buf *b);

/* Zero n bytes at p, then free p. NULL is fine. */
void hp_redact_free(void *p, size_t n);

#endif
