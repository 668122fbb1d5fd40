/*
 * The drill's write probe: numbered rows into haprov_drill through
 * HAProxy's primary port, one every interval_ms, with libpq (thread-safe).
 * On any error the connection is dropped and the SAME number is tried
 * again after a new connect, with ON CONFLICT DO NOTHING: a commit whose
 * answer was lost is neither counted twice nor skipped. Every number the
 * server acknowledged is kept with the time of its answer; the RPO is the
 * acknowledged numbers the table no longer has afterwards.
 *
 * No call blocks for long: connects have libpq's connect_timeout (2 s);
 * a query waits at most HP_PROBE_QUERY_MS for its answer (poll on the
 * socket), so a request stuck behind a dead server is given up and
 * retried on a new connection.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "drill.h"
#include "pglogin.h"

#define HP_PROBE_QUERY_MS 3000
#define PROBE_TABLE "haprov_drill"

static PGconn *probe_connect(const struct hp_probe_conf *c, char *msg,
			     size_t len)
{
	const char *keys[12], *vals[12];
	char port[16];
	size_t n = 0;
	PGconn *conn;

	snprintf(port, sizeof(port), "%d", c->port);
#define KV(k, v) (keys[n] = (k), vals[n++] = (v))
	KV("host", c->host);
	KV("port", port);
	KV("user", c->user);
	KV("password", c->password);
	KV("dbname", c->db);
	KV("connect_timeout", "2");
	KV("application_name", "haprov-drill");
	KV("passfile", "/dev/null");
	if (c->sslmode)
		KV("sslmode", c->sslmode);
	if (c->sslrootcert)
		KV("sslrootcert", c->sslrootcert);
#undef KV
	keys[n] = vals[n] = NULL;
	conn = PQconnectdbParams(keys, vals, 0);
	if (conn && PQstatus(conn) == CONNECTION_OK)
		return conn;
	if (msg) {
		char *m = hp_pg_login_message(conn ? PQerrorMessage(conn)
						   : "out of memory",
					      c->password, 200);

		snprintf(msg, len, "%s", m);
		free(m);
	}
	PQfinish(conn);
	return NULL;
}

/* Send and wait at most timeout_ms for the whole answer. true when the
 * last result had status want; msg gets the error otherwise. */
static bool exec_timed(PGconn *c, const char *sql, int nparams,
		       const char *const *vals, ExecStatusType want,
		       PGresult **keep, const char *password, char *msg,
		       size_t len)
{
	int64_t end = hp_now_ms() + HP_PROBE_QUERY_MS;
	PGresult *res;
	bool ok = false, any = false;

	if (!PQsendQueryParams(c, sql, nparams, NULL, vals, NULL, NULL, 0))
		goto fail;
	while (PQisBusy(c)) {
		struct pollfd pfd = { PQsocket(c), POLLIN, 0 };
		int64_t left = end - hp_now_ms();

		if (left <= 0) {
			snprintf(msg, len, "no answer within %d ms",
				 HP_PROBE_QUERY_MS);
			return false;
		}
		if (poll(&pfd, 1, (int)(left < 100 ? left : 100)) < 0 ||
		    !PQconsumeInput(c))
			goto fail;
	}
	while ((res = PQgetResult(c))) {
		any = true;
		ok = PQresultStatus(res) == want;
		if (!ok && msg) {
			char *m = hp_pg_login_message(
				PQresultErrorMessage(res), password, 200);

			snprintf(msg, len, "%s", m);
			free(m);
		}
		if (ok && keep) {
			PQclear(*keep);
			*keep = res;
		} else {
			PQclear(res);
		}
	}
	if (any)
		return ok;
fail:
	if (msg) {
		char *m = hp_pg_login_message(PQerrorMessage(c), password, 200);

		snprintf(msg, len, "%s", m);
		free(m);
	}
	return false;
}

int hp_probe_prepare(const struct hp_probe_conf *c, struct hp_err *err)
{
	char msg[256] = "";
	PGconn *conn = probe_connect(c, msg, sizeof(msg));
	bool ok;

	if (!conn)
		return hp_err_set(err, HP_ECONNECT,
				  "the write probe cannot log in through "
				  "haproxy on %s:%d: %s",
				  c->host, c->port, msg);
	ok = exec_timed(conn,
			"CREATE TABLE IF NOT EXISTS " PROBE_TABLE
			" (tag text NOT NULL, n bigint NOT NULL, at "
			"timestamptz NOT NULL DEFAULT now(), PRIMARY KEY "
			"(tag, n))",
			0, NULL, PGRES_COMMAND_OK, NULL, c->password, msg,
			sizeof(msg));
	PQfinish(conn);
	if (!ok)
		return hp_err_set(err, HP_EREMOTE,
				  "the write probe cannot create table "
				  PROBE_TABLE ": %s",
				  msg);
	return 0;
}

static void ack(struct hp_probe *p, int64_t n)
{
	pthread_mutex_lock(&p->mu);
	if (p->nr_acks < HP_PROBE_MAX_ACKS) {
		p->ack_n[p->nr_acks] = n;
		p->ack_at[p->nr_acks++] = hp_now_ms();
	}
	pthread_mutex_unlock(&p->mu);
}

static bool stopping(struct hp_probe *p)
{
	bool s;

	pthread_mutex_lock(&p->mu);
	s = p->stop;
	pthread_mutex_unlock(&p->mu);
	return s;
}

static void failed(struct hp_probe *p, const char *msg)
{
	pthread_mutex_lock(&p->mu);
	p->errors++;
	snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
	pthread_mutex_unlock(&p->mu);
}

static void *probe_main(void *arg)
{
	struct hp_probe *p = arg;
	const struct hp_probe_conf *c = &p->conf;
	PGconn *conn = NULL;
	int64_t n = 1, next = hp_now_ms();
	char ns[24], msg[256];

	while (!stopping(p) && n <= HP_PROBE_MAX_ACKS) {
		const char *vals[2] = { c->tag, ns };
		int64_t now = hp_now_ms();

		if (now < next)
			hp_sleep_ms((int)(next - now));
		next = hp_now_ms() + c->interval_ms;
		if (!conn && !(conn = probe_connect(c, msg, sizeof(msg)))) {
			failed(p, msg);
			continue;
		}
		snprintf(ns, sizeof(ns), "%lld", (long long)n);
		if (exec_timed(conn,
			       "INSERT INTO " PROBE_TABLE " (tag, n) VALUES "
			       "($1, $2::bigint) ON CONFLICT DO NOTHING",
			       2, vals, PGRES_COMMAND_OK, NULL, c->password,
			       msg, sizeof(msg))) {
			ack(p, n++);
			continue;
		}
		failed(p, msg);
		PQfinish(conn);
		conn = NULL;
	}
	PQfinish(conn);
	return NULL;
}

static bool tag_ok(const char *t)
{
	size_t i, n = t ? strlen(t) : 0;

	if (n == 0 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			    "0123456789._-",
			    t[i]))
			return false;
	return true;
}

int hp_probe_start(struct hp_probe *p, const struct hp_probe_conf *c,
		   struct hp_err *err)
{
	memset(p, 0, sizeof(*p));
	if (!tag_ok(c->tag) || c->interval_ms < 10 || c->interval_ms > 10000)
		return hp_err_set(err, HP_EINVALID,
				  "internal: a bad write probe tag or interval");
	p->conf = *c;
	p->ack_n = xcalloc(HP_PROBE_MAX_ACKS, sizeof(*p->ack_n));
	p->ack_at = xcalloc(HP_PROBE_MAX_ACKS, sizeof(*p->ack_at));
	pthread_mutex_init(&p->mu, NULL);
	if (pthread_create(&p->th, NULL, probe_main, p) != 0) {
		hp_probe_release(p);
		return hp_err_set(err, HP_EIO,
				  "cannot start the write probe's thread");
	}
	p->running = true;
	return 0;
}

void hp_probe_stop(struct hp_probe *p)
{
	if (!p->running)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	p->running = false;
}

void hp_probe_release(struct hp_probe *p)
{
	if (!p->ack_n)
		return;
	hp_probe_stop(p);
	pthread_mutex_destroy(&p->mu);
	free(p->ack_n);
	free(p->ack_at);
	p->ack_n = p->ack_at = NULL;
}

size_t hp_probe_acks(struct hp_probe *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->nr_acks;
	pthread_mutex_unlock(&p->mu);
	return n;
}

int64_t hp_probe_first_ack_after(struct hp_probe *p, int64_t t_ms)
{
	int64_t at = -1;
	size_t i;

	pthread_mutex_lock(&p->mu);
	/* times only grow: the first from the end that is still >= t */
	for (i = p->nr_acks; i > 0 && p->ack_at[i - 1] >= t_ms; i--)
		at = p->ack_at[i - 1];
	pthread_mutex_unlock(&p->mu);
	return at;
}

int64_t hp_probe_longest_gap(struct hp_probe *p, int64_t t_ms,
			     int64_t *end_at)
{
	int64_t gap = -1, end = -1;
	size_t i;

	pthread_mutex_lock(&p->mu);
	/* the first acknowledgement at or after t_ms, and the one before */
	for (i = p->nr_acks; i > 0 && p->ack_at[i - 1] >= t_ms; i--)
		;
	for (i = i ? i : 1; i < p->nr_acks; i++) {
		int64_t g = p->ack_at[i] - p->ack_at[i - 1];

		if (g > gap) {
			gap = g;
			end = p->ack_at[i];
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (end_at)
		*end_at = end;
	return gap;
}

void hp_probe_last_error(struct hp_probe *p, char *out, size_t len)
{
	pthread_mutex_lock(&p->mu);
	snprintf(out, len, "%s", p->last_error[0] ? p->last_error : "none");
	pthread_mutex_unlock(&p->mu);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

long hp_probe_missing_of(const int64_t *want, size_t nr_want,
			 const int64_t *have, size_t nr_have)
{
	long missing = 0;
	size_t i;

	if (!nr_have)
		return (long)nr_want;
	for (i = 0; i < nr_want; i++)
		if (!bsearch(&want[i], have, nr_have, sizeof(*have), cmp_i64))
			missing++;
	return missing;
}

/* The numbers of the probe's rows in the table, sorted, from res. */
static int rows_of(PGresult *res, int64_t **out, size_t *nr,
		   struct hp_err *err)
{
	int i, n = PQntuples(res);

	if (PQnfields(res) != 1 || n < 0 || n > HP_PROBE_MAX_ACKS)
		return hp_err_set(err, HP_EREMOTE,
				  "the probe's table answered %d rows of %d "
				  "columns",
				  n, PQnfields(res));
	*out = xcalloc((size_t)n + 1, sizeof(**out));
	for (i = 0; i < n; i++) {
		char *end = NULL;
		const char *v = PQgetvalue(res, i, 0);
		long long x = strtoll(v, &end, 10);

		if (!*v || *end || x < 1 || x > HP_PROBE_MAX_ACKS) {
			free(*out);
			*out = NULL;
			return hp_err_set(err, HP_EREMOTE,
					  "the probe's table holds a number "
					  "it never wrote");
		}
		(*out)[i] = x;
	}
	*nr = (size_t)n;
	qsort(*out, *nr, sizeof(**out), cmp_i64);
	return 0;
}

int hp_probe_count_missing(struct hp_probe *p, long *missing,
			   struct hp_err *err)
{
	const struct hp_probe_conf *c = &p->conf;
	const char *vals[1] = { c->tag };
	PGresult *res = NULL;
	int64_t *have = NULL;
	size_t nr_have = 0;
	char msg[256] = "";
	PGconn *conn = probe_connect(c, msg, sizeof(msg));
	int r = 0;

	*missing = -1;
	if (!conn)
		return hp_err_set(err, HP_ECONNECT,
				  "counting the probe's rows: %s", msg);
	if (!exec_timed(conn, "SELECT n FROM " PROBE_TABLE " WHERE tag = $1",
			1, vals, PGRES_TUPLES_OK, &res, c->password, msg,
			sizeof(msg)))
		r = hp_err_set(err, HP_EREMOTE, "counting the probe's rows: %s",
			       msg);
	if (r == 0 && (r = rows_of(res, &have, &nr_have, err)) == 0) {
		pthread_mutex_lock(&p->mu);
		*missing = hp_probe_missing_of(p->ack_n, p->nr_acks, have,
					       nr_have);
		pthread_mutex_unlock(&p->mu);
		/* the rows are the drill's, not the operator's */
		exec_timed(conn, "DELETE FROM " PROBE_TABLE " WHERE tag = $1",
			   1, vals, PGRES_COMMAND_OK, NULL, c->password, msg,
			   sizeof(msg));
	}
	PQclear(res);
	free(have);
	PQfinish(conn);
	return r;
}
