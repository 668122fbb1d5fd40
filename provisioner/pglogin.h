#ifndef HP_PGLOGIN_H
#define HP_PGLOGIN_H
/*
 * A login check from the operator's machine: connect to PostgreSQL (through
 * HAProxy's primary port in practice) as a role with its password, with
 * libpq, and disconnect. Used to verify that every application role can
 * log in, and by `rotate` to prove a new password works and the old one
 * is refused.
 *
 * The password goes to libpq as a connection parameter (never in a
 * connection string, a log line or an error message); libpq answers the
 * server's SCRAM challenge, so it never travels in clear either.
 */
#include <stdbool.h>

#include "util.h"

/*
 * Log in to db on host:port as user with password, waiting at most
 * timeout_s seconds (libpq's connect_timeout; at least 2). 0 on success;
 * HP_EAUTH when the server refused the credentials (password
 * authentication failed, or no pg_hba.conf entry allows the login);
 * HP_ECONNECT when the server could not be reached or refused for another
 * reason (not running, shutting down, database missing); HP_EINVALID for
 * a bad argument. err quotes libpq's message made printable, with every
 * occurrence of the password masked.
 */
int hp_pg_login(const char *host, int port, const char *user,
		const char *password, const char *db, int timeout_s,
		struct hp_err *err);

/* The function hp_pg_login calls: libpq's, or a unit test's fake. */
typedef int (*hp_pg_login_fn)(const char *host, int port, const char *user,
			      const char *password, const char *db,
			      int timeout_s, struct hp_err *err);
int hp_pg_login_libpq(const char *host, int port, const char *user,
		      const char *password, const char *db, int timeout_s,
		      struct hp_err *err);
/* Replace the login function (NULL: libpq's again); returns the previous
 * one. For unit tests only. */
hp_pg_login_fn hp_pg_login_set(hp_pg_login_fn fn);

/*
 * TLS for a login (issue 9: a client through HAProxy with sslmode=verify-ca
 * and the cluster CA). sslmode: one of libpq's (disable, allow, prefer,
 * require, verify-ca, verify-full), NULL for libpq's default; sslrootcert:
 * the path of a file holding the trusted CAs (PEM), or NULL.
 */
struct hp_pg_tls {
	const char *sslmode;
	const char *sslrootcert;
};

/*
 * As hp_pg_login, with TLS settings (tls may be NULL), then asks the
 * server whether this very session is on TLS: *ssl_on gets
 * `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()` (the server's
 * view, not libpq's). HP_EREMOTE when that answer is not one row holding
 * t or f; HP_EINVALID for an sslmode libpq does not know. A failed TLS
 * handshake or certificate check is HP_ECONNECT, libpq's reason quoted.
 */
int hp_pg_login_tls(const char *host, int port, const char *user,
		    const char *password, const char *db, int timeout_s,
		    const struct hp_pg_tls *tls, bool *ssl_on,
		    struct hp_err *err);
typedef int (*hp_pg_login_tls_fn)(const char *host, int port,
				  const char *user, const char *password,
				  const char *db, int timeout_s,
				  const struct hp_pg_tls *tls, bool *ssl_on,
				  struct hp_err *err);
int hp_pg_login_tls_libpq(const char *host, int port, const char *user,
			  const char *password, const char *db, int timeout_s,
			  const struct hp_pg_tls *tls, bool *ssl_on,
			  struct hp_err *err);
/* The seam of hp_pg_login_tls, as hp_pg_login_set is hp_pg_login's. */
hp_pg_login_tls_fn hp_pg_login_tls_set(hp_pg_login_tls_fn fn);

/* sslmode is one libpq knows (NULL counts as known: the default). */
bool hp_pg_sslmode_ok(const char *sslmode);

/* The server's answer to the pg_stat_ssl query: "t" or "f" into *out;
 * anything else false. */
bool hp_pg_ssl_answer(const char *value, bool *out);

/*
 * How libpq's message for a failed connection is judged (exposed for the
 * unit tests): HP_EAUTH for an authentication refusal, otherwise
 * HP_ECONNECT.
 */
int hp_pg_login_classify(const char *libpq_message);

/* libpq's message made printable for err (at most max bytes), each
 * occurrence of password (when non-empty) replaced by "***"; the caller
 * frees it. */
char *hp_pg_login_message(const char *libpq_message, const char *password,
			  size_t max);

#endif
