/*
 * The login check (pglogin.h), with libpq.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "pglogin.h"

static hp_pg_login_fn login_fn = hp_pg_login_libpq;

hp_pg_login_fn hp_pg_login_set(hp_pg_login_fn fn)
{
	hp_pg_login_fn old = login_fn;

	login_fn = fn ? fn : hp_pg_login_libpq;
	return old;
}

int hp_pg_login(const char *host, int port, const char *user,
		const char *password, const char *db, int timeout_s,
		struct hp_err *err)
{
	if (!host || !*host || !user || !*user || !password || !db ||
	    !*db || port < 1 || port > 65535)
		return hp_err_set(err, HP_EINVALID,
				  "internal: a login check needs a host, a "
				  "port, a role, a password and a database");
	return login_fn(host, port, user, password, db, timeout_s, err);
}

int hp_pg_login_classify(const char *m)
{
	/* PostgreSQL's messages (lc_messages C or English): "password
	 * authentication failed for user", "no pg_hba.conf entry for host",
	 * "SASL authentication failed"; libpq's own for a server that asked
	 * for a password it did not get */
	static const char *const auth[] = {
		"authentication failed",
		"no pg_hba.conf entry",
		"password is missing",
		"password supplied",
		"server requested",
	};
	size_t i;

	if (!m)
		return HP_ECONNECT;
	for (i = 0; i < HP_ARRAY_SIZE(auth); i++)
		if (strstr(m, auth[i]))
			return HP_EAUTH;
	return HP_ECONNECT;
}

char *hp_pg_login_message(const char *m, const char *password, size_t max)
{
	struct hp_buf masked = HP_BUF_INIT;
	size_t plen = password ? strlen(password) : 0;
	const char *p = m ? m : "", *hit;
	char *out;

	while (plen && (hit = strstr(p, password)) != NULL) {
		hp_buf_add(&masked, p, (size_t)(hit - p));
		hp_buf_adds(&masked, "***");
		p = hit + plen;
	}
	hp_buf_adds(&masked, p);
	/* drop libpq's trailing newline */
	while (masked.len && (masked.buf[masked.len - 1] == '\n' ||
			      masked.buf[masked.len - 1] == ' '))
		masked.buf[--masked.len] = '\0';
	out = hp_printable_dup(masked.buf, max);
	hp_buf_release(&masked);
	return out;
}

bool hp_pg_sslmode_ok(const char *m)
{
	static const char *const modes[] = { "disable",	  "allow",
					     "prefer",	  "require",
					     "verify-ca", "verify-full" };
	size_t i;

	if (!m)
		return true;
	for (i = 0; i < HP_ARRAY_SIZE(modes); i++)
		if (!strcmp(m, modes[i]))
			return true;
	return false;
}

bool hp_pg_ssl_answer(const char *v, bool *out)
{
	if (!v || (strcmp(v, "t") != 0 && strcmp(v, "f") != 0))
		return false;
	*out = v[0] == 't';
	return true;
}

/* Connect; *out: the connection (CONNECTION_OK) or NULL with err set. */
static int pg_connect(PGconn **out, const char *host, int port,
		      const char *user, const char *password, const char *db,
		      int timeout_s, const struct hp_pg_tls *tls,
		      struct hp_err *err)
{
	char port_s[16], timeout[16];
	const char *keys[] = { "host",		  "port",     "user",
			       "password",	  "dbname",   "connect_timeout",
			       "application_name", "passfile", NULL,
			       NULL,		  NULL };
	const char *vals[HP_ARRAY_SIZE(keys)];
	size_t n = 8;
	PGconn *c;
	char *m;
	int r;

	*out = NULL;
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(timeout, sizeof(timeout), "%d", timeout_s < 2 ? 2 : timeout_s);
	vals[0] = host;
	vals[1] = port_s;
	vals[2] = user;
	vals[3] = password;
	vals[4] = db;
	vals[5] = timeout;
	vals[6] = "haprov";
	vals[7] = "/dev/null"; /* never a password from ~/.pgpass */
	if (tls && tls->sslmode) {
		keys[n] = "sslmode";
		vals[n++] = tls->sslmode;
	}
	if (tls && tls->sslrootcert) {
		keys[n] = "sslrootcert";
		vals[n++] = tls->sslrootcert;
	}
	keys[n] = NULL;
	vals[n] = NULL;
	/* expand_dbname 0: db is a name, never a connection string */
	c = PQconnectdbParams(keys, vals, 0);
	if (c && PQstatus(c) == CONNECTION_OK) {
		*out = c;
		return 0;
	}
	m = hp_pg_login_message(c ? PQerrorMessage(c) : "out of memory",
				password, 400);
	r = hp_pg_login_classify(m);
	hp_err_set(err, r, "login as %s to database %s on %s:%d %s: %s", user,
		   db, host, port, r == HP_EAUTH ? "refused" : "failed", m);
	free(m);
	PQfinish(c);
	return r;
}

int hp_pg_login_libpq(const char *host, int port, const char *user,
		      const char *password, const char *db, int timeout_s,
		      struct hp_err *err)
{
	PGconn *c;
	int r = pg_connect(&c, host, port, user, password, db, timeout_s, NULL,
			   err);

	PQfinish(c);
	return r;
}

int hp_pg_login_tls_libpq(const char *host, int port, const char *user,
			  const char *password, const char *db, int timeout_s,
			  const struct hp_pg_tls *tls, bool *ssl_on,
			  struct hp_err *err)
{
	PGconn *c;
	PGresult *res;
	int r = pg_connect(&c, host, port, user, password, db, timeout_s, tls,
			   err);

	if (r < 0)
		return r;
	res = PQexec(c, "SELECT ssl FROM pg_stat_ssl "
			"WHERE pid = pg_backend_pid()");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
	    PQnfields(res) != 1 ||
	    !hp_pg_ssl_answer(PQgetvalue(res, 0, 0), ssl_on)) {
		char *m = hp_pg_login_message(PQresultErrorMessage(res),
					      password, 200);

		r = hp_err_set(err, HP_EREMOTE,
			       "%s:%d: pg_stat_ssl has no t/f answer for this "
			       "session %s",
			       host, port, m);
		free(m);
	}
	PQclear(res);
	PQfinish(c);
	return r;
}

static hp_pg_login_tls_fn login_tls_fn = hp_pg_login_tls_libpq;

hp_pg_login_tls_fn hp_pg_login_tls_set(hp_pg_login_tls_fn fn)
{
	hp_pg_login_tls_fn old = login_tls_fn;

	login_tls_fn = fn ? fn : hp_pg_login_tls_libpq;
	return old;
}

int hp_pg_login_tls(const char *host, int port, const char *user,
		    const char *password, const char *db, int timeout_s,
		    const struct hp_pg_tls *tls, bool *ssl_on,
		    struct hp_err *err)
{
	if (!host || !*host || !user || !*user || !password || !db ||
	    !*db || port < 1 || port > 65535 || !ssl_on)
		return hp_err_set(err, HP_EINVALID,
				  "internal: a login check needs a host, a "
				  "port, a role, a password and a database");
	if (tls && !hp_pg_sslmode_ok(tls->sslmode))
		return hp_err_set(err, HP_EINVALID,
				  "internal: sslmode '%s' is not libpq's",
				  tls->sslmode);
	*ssl_on = false;
	return login_tls_fn(host, port, user, password, db, timeout_s, tls,
			    ssl_on, err);
}
