/*
 * Issue 9's verification, part of each phase's verify: every channel
 * refuses what it must, checked from this machine by clients that differ
 * only in what they present.
 *
 *   etcd      each member's client URL: haprov's certificate gets an
 *             answer; no certificate, and a certificate from a throwaway CA
 *             made here in memory, are refused at TLS.
 *   patroni   each member: a write (PATCH /config with loop_wait's own
 *             value: a no-op even if it were accepted) with the REST
 *             password but no client certificate gets 403 or a TLS refusal;
 *             plain http gets no 2xx (and no password is ever sent in
 *             clear).
 *   postgres  on the leader every pg_stat_replication row is on TLS
 *             (pg_stat_ssl), and a login through HAProxy's primary port
 *             with sslmode=verify-ca and the cluster CA is on TLS in the
 *             server's view.
 *   haproxy   the (https) stats page answers 401 without its password.
 *
 * "Refused" is a TLS handshake failure (HP_ETLS) or a connection closed
 * or reset without an answer (HP_ECONNECT): never a timeout (silence proves
 * nothing) and never an HTTP answer (the handshake went through). A
 * refusal only means something once the same member answered haprov's own
 * certificate, so that probe comes first.
 *
 * Nothing runs unless inv->tls.enabled and the run has its TLS material
 * (run->rest_tls, set when an apply loads its secrets; without it every
 * https call of the phase's own verify has failed already).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "phases.h"
#include "pglogin.h"
#include "secret_store.h"
#include "secrets_priv.h"
#include "tls.h"

/* ---- the judgements (pure) ---------------------------------------------- */

bool hp_tls_refused(int rc)
{
	return rc == HP_ETLS || rc == HP_ECONNECT;
}

int hp_tls_judge_refused(const char *who, const char *what, int rc,
			 const struct hp_rest_resp *resp,
			 const struct hp_err *cerr, struct hp_err *err)
{
	if (hp_tls_refused(rc))
		return 0;
	if (rc == 0)
		return hp_err_set(err, HP_EVERIFY, "%s accepted %s (HTTP %ld)",
				  who, what, resp->status);
	if (rc == HP_ETIMEOUT)
		return hp_err_set(err, HP_EVERIFY,
				  "%s did not answer %s in time: a refusal is a "
				  "TLS error or a closed connection, silence "
				  "proves nothing (%s)",
				  who, what, cerr->msg);
	return hp_err_set(err, HP_EVERIFY, "%s: %s could not be tried: %s",
			  who, what, cerr->msg);
}

int hp_tls_judge_accepted(const char *who, const char *what, int rc,
			  const struct hp_rest_resp *resp,
			  const struct hp_err *cerr, struct hp_err *err)
{
	if (rc < 0)
		return hp_err_set(err, HP_EVERIFY, "%s refused %s: %s", who,
				  what, cerr->msg);
	if (resp->status != 200)
		return hp_err_set(err, HP_EVERIFY,
				  "%s answered %s with HTTP %ld, not 200", who,
				  what, resp->status);
	return 0;
}

int hp_tls_judge_cert_required(const char *who, int rc,
			       const struct hp_rest_resp *resp,
			       const struct hp_err *cerr, struct hp_err *err)
{
	if (hp_tls_refused(rc))
		return 0;
	if (rc < 0)
		return hp_err_set(err, HP_EVERIFY,
				  "%s: a write without a client certificate "
				  "got no answer: %s",
				  who, cerr->msg);
	if (resp->status == 403)
		return 0;
	if (resp->status >= 200 && resp->status < 300)
		return hp_err_set(err, HP_EVERIFY,
				  "%s accepted a write without a client "
				  "certificate (HTTP %ld)",
				  who, resp->status);
	if (resp->status == 401)
		return hp_err_set(err, HP_EVERIFY,
				  "%s asked a write without a client "
				  "certificate for a password (HTTP 401), not "
				  "for a certificate: verify_client is off",
				  who);
	return hp_err_set(err, HP_EVERIFY,
			  "%s answered a write without a client certificate "
			  "with HTTP %ld, not 403",
			  who, resp->status);
}

int hp_tls_judge_plain(const char *who, int rc,
		       const struct hp_rest_resp *resp,
		       const struct hp_err *cerr, struct hp_err *err)
{
	if (hp_tls_refused(rc))
		return 0;
	if (rc == HP_ETIMEOUT)
		return hp_err_set(err, HP_EVERIFY,
				  "%s did not answer a plain-HTTP request in "
				  "time: a TLS server closes it at once (%s)",
				  who, cerr->msg);
	if (rc < 0)
		return hp_err_set(err, HP_EVERIFY,
				  "%s: a plain-HTTP request could not be "
				  "tried: %s",
				  who, cerr->msg);
	if (resp->status >= 200 && resp->status < 300)
		return hp_err_set(err, HP_EVERIFY,
				  "%s answered a plain-HTTP request (HTTP %ld)",
				  who, resp->status);
	return 0;
}

int hp_tls_judge_stats(const char *who, int rc,
		       const struct hp_rest_resp *resp,
		       const struct hp_err *cerr, struct hp_err *err)
{
	if (rc < 0)
		return hp_err_set(err, HP_EVERIFY,
				  "%s did not answer over https: %s", who,
				  cerr->msg);
	if (resp->status == 401)
		return 0;
	if (resp->status >= 200 && resp->status < 300)
		return hp_err_set(err, HP_EVERIFY,
				  "%s served the stats page without its "
				  "password (HTTP %ld)",
				  who, resp->status);
	return hp_err_set(err, HP_EVERIFY,
			  "%s answered a request without the password with "
			  "HTTP %ld, not 401",
			  who, resp->status);
}

/* One "name|t" line of the replication query; false for anything else. */
static bool repl_line(const char *line, size_t len, struct hp_buf *name,
		      bool *ssl)
{
	const char *bar = memrchr(line, '|', len);
	size_t rest;

	if (!bar)
		return false;
	rest = len - (size_t)(bar - line) - 1;
	if (rest != 1 || (bar[1] != 't' && bar[1] != 'f'))
		return false;
	*ssl = bar[1] == 't';
	hp_buf_reset(name);
	hp_buf_add_printable(name, line, (size_t)(bar - line), 64);
	return true;
}

int hp_tls_judge_replication(const char *out, const char *leader,
			     size_t want, bool *short_out, struct hp_err *err)
{
	struct hp_buf name = HP_BUF_INIT;
	const char *p = out ? out : "";
	size_t rows = 0;
	int r = 0;

	*short_out = false;
	while (*p && r == 0) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		bool ssl;

		if (len && p[len - 1] == '\r')
			len--;
		if (len && !repl_line(p, len, &name, &ssl)) {
			hp_buf_reset(&name);
			hp_buf_add_printable(&name, p, len, 80);
			r = hp_err_set(err, HP_EVERIFY,
				       "pg_stat_replication on leader %s: "
				       "unexpected line '%s'",
				       leader, name.buf);
		} else if (len && !ssl) {
			r = hp_err_set(err, HP_EVERIFY,
				       "replication connection '%s' on leader "
				       "%s is not on TLS (pg_stat_ssl.ssl = f)",
				       name.buf, leader);
		} else if (len && ++rows > 1000) {
			r = hp_err_set(err, HP_EVERIFY,
				       "pg_stat_replication on leader %s: more "
				       "than 1000 rows",
				       leader);
		}
		p = nl ? nl + 1 : p + len;
	}
	hp_buf_release(&name);
	if (r == 0 && rows < want) {
		*short_out = true;
		r = hp_err_set(err, HP_EVERIFY,
			       "leader %s has %zu replication connections, %zu "
			       "replicas expected",
			       leader, rows, want);
	}
	return r;
}

json_t *hp_tls_noop_patch(const json_t *config)
{
	const json_t *lw = json_is_object(config)
				   ? json_object_get(config, "loop_wait")
				   : NULL;

	if (!json_is_integer(lw) || json_integer_value(lw) < 1 ||
	    json_integer_value(lw) > 86400)
		return NULL;
	return json_pack("{sI}", "loop_wait",
			 (json_int_t)json_integer_value(lw));
}

/* ---- probes ------------------------------------------------------------- */

/* "etcd on pg2 (10.213.0.12:2379)"; the caller frees it. */
static char *who_dup(const char *svc, const struct hp_host *h, int port)
{
	if (strchr(h->address, ':'))
		return xasprintf("%s on %s ([%s]:%d)", svc, h->name,
				 h->address, port);
	return xasprintf("%s on %s (%s:%d)", svc, h->name, h->address, port);
}

static bool tls_active(const struct hp_run *run)
{
	return run->inv->tls.enabled && run->rest_tls;
}

/* The step's record and the phase's error code. */
/* PEM of a client certificate from a throwaway CA that exists only here. */
static int other_ca_client(struct hp_buf *cert, struct hp_buf *key,
			   struct hp_err *err)
{
	struct hp_tls_pair ca = { NULL, NULL }, cl = { NULL, NULL };
	struct hp_tls_subject subj = { "haprov", NULL, 0, NULL, 0 };
	time_t now = time(NULL);
	int r;

	r = hp_tls_ca_new(&ca, "haprov verify: another CA", 1, now, err);
	if (r == 0)
		r = hp_tls_issue(&cl, &ca, &subj, HP_TLS_CLIENT, 1, now, err);
	if (r == 0)
		r = hp_tls_pem(cert, cl.cert, "CERTIFICATE", err);
	if (r == 0)
		r = hp_tls_pem(key, cl.key, "PRIVATE KEY", err);
	hp_tls_pair_release(&ca);
	hp_tls_pair_release(&cl);
	return r;
}

static void buf_wipe(struct hp_buf *b)
{
	if (b->alloc)
		explicit_bzero(b->buf, b->alloc);
	hp_buf_release(b);
}

/*
 * One REST client per identity, each its own curl handle: curl reuses
 * connections and TLS sessions, and a session resumed from haprov's
 * handshake would carry haprov's certificate into a probe without one.
 */
static int clients_init(struct hp_run *run, struct hp_rest *c, size_t n,
			const struct hp_rest_tls *const *tls,
			struct hp_err *err)
{
	size_t i;
	int r = 0;

	memset(c, 0, n * sizeof(*c));
	for (i = 0; i < n && r == 0; i++) {
		r = hp_run_rest_init(run, &c[i], 3000, err);
		c[i].tls = tls[i];
	}
	return r;
}

static void clients_release(struct hp_rest *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		c[i].tls = NULL;
		hp_rest_release(&c[i]);
	}
}

/* The three clients at one etcd member, haprov's first. */
static int etcd_member(struct hp_rest rest[3], const struct hp_host *h,
		       int port, struct hp_err *err)
{
	static const char *const what[3] = {
		"haprov's client certificate",
		"a client without a certificate",
		"a client certificate from another CA",
	};
	char *who = who_dup("etcd", h, port);
	char *url = hp_url_scheme("https", h, port, "/v3/maintenance/status");
	json_t *empty = json_object();
	struct hp_rest_resp resp;
	struct hp_err cerr;
	int i, r = 0;

	hp_rest_resp_init(&resp);
	for (i = 0; i < 3 && r == 0; i++) {
		int rc;

		hp_err_clear(&cerr);
		rc = hp_rest_call(&rest[i], "POST", url, empty, &resp, &cerr);
		r = i == 0 ? hp_tls_judge_accepted(who, what[i], rc, &resp,
						   &cerr, err)
			   : hp_tls_judge_refused(who, what[i], rc, &resp,
						  &cerr, err);
	}
	hp_rest_resp_release(&resp);
	json_decref(empty);
	free(url);
	free(who);
	return r;
}

/* The identities a member's probes use, one client each (per worker:
 * curl handles belong to one thread). */
struct member_probes {
	const struct hp_rest_tls *tls[3];
};

static int etcd_worker(struct hp_hostrun *h, void *arg)
{
	const struct member_probes *p = arg;
	struct hp_rest rest[3];
	int r = clients_init(h->run, rest, 3, p->tls, &h->err);

	if (r == 0)
		r = etcd_member(rest, h->host, h->run->inv->etcd.client_port,
				&h->err);
	clients_release(rest, 3);
	return r;
}

/* After the members' probes ran in parallel: the first failure. */
static int members_result(struct hp_run *run, size_t failed,
			  struct hp_err *err)
{
	const struct hp_hostrun *h = hp_run_first_failed(run);

	if (!failed)
		return 0;
	if (!h)
		return hp_err_set(err, HP_EVERIFY, "a member failed its check");
	return hp_err_set(err, h->err.code ? h->err.code : HP_EVERIFY, "%s",
			  h->err.msg);
}

static int etcd_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	struct hp_buf cert = HP_BUF_INIT, key = HP_BUF_INIT;
	struct hp_rest_tls none = { NULL, NULL, NULL, false };
	struct hp_rest_tls other = none;
	struct member_probes p;
	int r;

	(void)arg;
	if ((r = other_ca_client(&cert, &key, err)) < 0)
		goto out;
	none.ca_pem = other.ca_pem = run->rest_tls->ca_pem;
	none.insecure = other.insecure = run->rest_tls->insecure;
	other.cert_pem = cert.buf;
	other.key_pem = key.buf;
	p.tls[0] = run->rest_tls;
	p.tls[1] = &none;
	p.tls[2] = &other;
	/* the members at once: each probe is a TLS handshake */
	r = members_result(run, hp_run_each(run, HP_ROLE_ETCD, etcd_worker, &p),
			   err);
out:
	buf_wipe(&key);
	hp_buf_release(&cert);
	return r < 0 ? HP_EVERIFY : 0;
}

size_t hp_tls_etcd_checks(const struct hp_run *run, struct hp_check *out)
{
	if (!tls_active(run))
		return 0;
	/* hosts: it runs the members' probes on the run's host workers */
	out[0] = (struct hp_check){
		"verify etcd: TLS, only the cluster CA's client certificates "
		"get in",
		etcd_check, NULL, true };
	return 1;
}

/* GET /config with haprov's certificate (rest[0]), then the no-op write
 * with the password but no certificate (rest[1]), then plain http
 * (rest[2]). */
static int patroni_member(struct hp_run *run, struct hp_rest rest[3],
			  const struct hp_host *h, struct hp_err *err)
{
	int port = run->inv->patroni.restapi_port;
	char *who = who_dup("patroni REST API", h, port);
	char *url = hp_url_scheme("https", h, port, "/config");
	char *plain = hp_url_scheme("http", h, port, "/patroni");
	struct hp_rest_resp resp;
	struct hp_err cerr;
	json_t *body = NULL;
	int rc, r;

	hp_rest_resp_init(&resp);
	hp_err_clear(&cerr);
	rc = hp_rest_call(&rest[0], "GET", url, NULL, &resp, &cerr);
	if ((r = hp_tls_judge_accepted(who, "GET /config", rc, &resp, &cerr,
				       err)) < 0)
		goto out;
	if (!(body = hp_tls_noop_patch(resp.json))) {
		r = hp_err_set(err, HP_EVERIFY,
			       "%s: GET /config has no sane loop_wait", who);
		goto out;
	}
	rest[1].user = run->restapi_user;
	rest[1].password = run->restapi_password;
	hp_err_clear(&cerr);
	rc = hp_rest_call(&rest[1], "PATCH", url, body, &resp, &cerr);
	rest[1].user = rest[1].password = NULL;
	if ((r = hp_tls_judge_cert_required(who, rc, &resp, &cerr, err)) < 0)
		goto out;
	/* no credentials: they never travel in clear */
	hp_err_clear(&cerr);
	rc = hp_rest_call(&rest[2], "GET", plain, NULL, &resp, &cerr);
	r = hp_tls_judge_plain(who, rc, &resp, &cerr, err);
out:
	hp_rest_resp_release(&resp);
	json_decref(body);
	free(plain);
	free(url);
	free(who);
	return r;
}

static int patroni_worker(struct hp_hostrun *h, void *arg)
{
	const struct member_probes *p = arg;
	struct hp_rest rest[3];
	int r = clients_init(h->run, rest, 3, p->tls, &h->err);

	if (r == 0)
		r = patroni_member(h->run, rest, h->host, &h->err);
	clients_release(rest, 3);
	return r;
}

static int patroni_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	struct hp_rest_tls ca = { NULL, NULL, NULL, false };
	struct member_probes p;

	(void)arg;
	ca.ca_pem = run->rest_tls->ca_pem;
	ca.insecure = run->rest_tls->insecure;
	p.tls[0] = run->rest_tls;
	p.tls[1] = &ca;
	p.tls[2] = NULL;
	return members_result(run,
			      hp_run_each(run, HP_ROLE_PATRONI, patroni_worker,
					  &p),
			      err) < 0
		       ? HP_EVERIFY
		       : 0;
}

size_t hp_tls_patroni_checks(const struct hp_run *run, struct hp_check *out)
{
	if (!tls_active(run))
		return 0;
	out[0] = (struct hp_check){
		"verify patroni: REST API on https only, writes need a client "
		"certificate",
		patroni_check, NULL, true };
	return 1;
}

static int haproxy_check(struct hp_run *run, void *arg, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	struct hp_rest_resp resp;
	struct hp_rest rest;
	struct hp_err cerr;
	size_t i;
	int r;

	(void)arg;
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return HP_EVERIFY;
	hp_rest_resp_init(&resp);
	rest.tls = run->rest_tls;
	rest.user = rest.password = NULL; /* the probe: no password */
	for (i = 0; i < inv->nr_hosts && r == 0; i++) {
		const struct hp_host *h = &inv->hosts[i];
		char *who, *url;
		int rc;

		if (!(h->roles & HP_ROLE_HAPROXY))
			continue;
		who = who_dup("haproxy stats page", h, inv->haproxy.stats_port);
		url = hp_url_scheme("https", h, inv->haproxy.stats_port,
				    "/stats");
		hp_err_clear(&cerr);
		rc = hp_rest_call(&rest, "GET", url, NULL, &resp, &cerr);
		r = hp_tls_judge_stats(who, rc, &resp, &cerr, err);
		free(url);
		free(who);
	}
	hp_rest_resp_release(&resp);
	hp_rest_release(&rest);
	return r < 0 ? HP_EVERIFY : 0;
}

size_t hp_tls_haproxy_checks(const struct hp_run *run, struct hp_check *out)
{
	if (!tls_active(run) ||
	    !hp_inventory_count_role(run->inv, HP_ROLE_HAPROXY))
		return 0;
	out[0] = (struct hp_check){
		"verify haproxy: stats page on https needs its password",
		haproxy_check, NULL, false };
	return 1;
}

/* ---- PostgreSQL ---------------------------------------------------------- */

/* Every replication connection on the leader is on TLS; asked again while
 * fewer rows than replicas show (a replica reconnecting after a reload). */
static int pg_replication(struct hp_run *run, struct hp_rest *rest,
			  struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	int64_t deadline = hp_now_ms() + (int64_t)hp_run_wait_s(run) * 1000;
	size_t want = hp_inventory_count_role(inv, HP_ROLE_PATRONI);
	struct hp_buf out = HP_BUF_INIT;
	struct hp_sql s;
	char *leader = NULL;
	bool short_rows = false;
	int r;

	if ((r = hp_patroni_leader(run, rest, &leader, NULL, err)) < 0)
		return r;
	if (!leader)
		return hp_err_set(err, HP_EVERIFY, "patroni has no leader");
	hp_sql_init(&s);
	hp_sql_add(&s, "SELECT r.application_name, coalesce(s.ssl, false) "
		       "FROM pg_stat_replication r LEFT JOIN pg_stat_ssl s "
		       "ON s.pid = r.pid ORDER BY 1;");
	for (;;) {
		hp_buf_reset(&out);
		r = hp_sql_run(run, leader, NULL, &s, false, &out, err);
		if (r == 0)
			r = hp_tls_judge_replication(out.buf, leader,
						     want ? want - 1 : 0,
						     &short_rows, err);
		if (r == 0 || !short_rows || hp_now_ms() >= deadline ||
		    hp_interrupted())
			break;
		hp_sleep_ms(500);
	}
	hp_sql_release(&s);
	hp_buf_release(&out);
	free(leader);
	return r;
}

int hp_tls_ca_tmpfile(char *dir, size_t dlen, char **path, const char *pem,
		      struct hp_err *err)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, dlen, "%s/haprov-ca-XXXXXX",
		 tmp && *tmp == '/' && strlen(tmp) < dlen - 32 ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		char eb[128];

		hp_err_set(err, HP_EIO, "mkdtemp %s: %s", dir,
			   hp_strerror(errno, eb, sizeof(eb)));
		*dir = '\0';
		return HP_EIO;
	}
	*path = xasprintf("%s/ca.crt", dir);
	/* the CA certificate is public: 0644 in a 0700 directory */
	return hp_write_file_atomic(*path, pem, strlen(pem), 0644, err);
}

/* The first role with login and its secret; 0 with *role NULL when the
 * inventory has none. */
static int login_role(struct hp_run *run, const struct hp_secret_role **role,
		      char **secret, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	size_t i;

	*role = NULL;
	*secret = NULL;
	for (i = 0; i < inv->secrets.nr_roles; i++)
		if (inv->secrets.roles[i].login) {
			*role = &inv->secrets.roles[i];
			break;
		}
	if (!*role)
		return 0;
	if (hp_role_secret_read(run, (*role)->name, secret, err) < 0)
		return HP_EVERIFY;
	if (!*secret)
		return hp_err_set(err, HP_EVERIFY,
				  "the store has no secret role-%s",
				  (*role)->name);
	return 0;
}

/* A login through host's primary port with verify-ca: retried while the
 * server cannot be reached, then the server must say the session is on
 * TLS. */
static int pg_client(struct hp_run *run, const struct hp_host *ha,
		     const struct hp_secret_role *role, const char *secret,
		     const char *rootcert, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const char *db = role->databases.nr ? role->databases.items[0]
					    : "postgres";
	struct hp_pg_tls tls = { "verify-ca", rootcert };
	int64_t deadline = hp_now_ms() + (int64_t)hp_run_wait_s(run) * 1000;
	bool on = false;
	int r;

	for (;;) {
		r = hp_pg_login_tls(ha->address, inv->haproxy.primary_port,
				    role->name, secret, db, 5, &tls, &on, err);
		if (r != HP_ECONNECT || hp_now_ms() >= deadline ||
		    hp_interrupted())
			break;
		hp_sleep_ms(500);
	}
	if (r == 0 && !on) {
		char *who = who_dup("postgresql through haproxy", ha,
				    inv->haproxy.primary_port);

		r = hp_err_set(err, HP_EVERIFY,
			       "%s: a client with sslmode=verify-ca is not on "
			       "TLS in the server's view (pg_stat_ssl.ssl = f)",
			       who);
		free(who);
	}
	return r < 0 ? HP_EVERIFY : 0;
}

struct client_check {
	const struct hp_secret_role *role;
	const char *secret, *rootcert;
};

/* hp_hosts_at_once: a login through one HAProxy (libpq is
 * thread-safe). */
static int pg_client_one(struct hp_run *run, const struct hp_host *h,
			 void *arg, struct hp_err *err)
{
	const struct client_check *c = arg;

	return pg_client(run, h, c->role, c->secret, c->rootcert, err);
}

static int pg_clients(struct hp_run *run, struct hp_err *err)
{
	const struct hp_inventory *inv = run->inv;
	const struct hp_secret_role *role;
	char dir[192], *path = NULL, *secret = NULL;
	int r;

	if (!hp_inventory_count_role(inv, HP_ROLE_HAPROXY))
		return 0;
	if ((r = login_role(run, &role, &secret, err)) < 0 || !role)
		return r;
	if (!run->rest_tls->ca_pem) {
		hp_secret_free(secret);
		return hp_err_set(err, HP_EVERIFY,
				  "internal: the run has no cluster CA");
	}
	r = hp_tls_ca_tmpfile(dir, sizeof(dir), &path, run->rest_tls->ca_pem, err);
	if (r == 0) {
		struct client_check c = { role, secret, path };

		r = hp_hosts_at_once(run, HP_ROLE_HAPROXY, pg_client_one, &c,
				     err);
	}
	if (path)
		unlink(path);
	if (*dir)
		rmdir(dir);
	free(path);
	hp_secret_free(secret);
	return r;
}

static int pg_replication_check(struct hp_run *run, void *arg,
				struct hp_err *err)
{
	struct hp_rest rest;
	int r;

	(void)arg;
	if ((r = hp_run_rest_init(run, &rest, 3000, err)) < 0)
		return r;
	r = pg_replication(run, &rest, err);
	hp_rest_release(&rest);
	return r < 0 ? HP_EVERIFY : 0;
}

static int pg_clients_check(struct hp_run *run, void *arg,
			    struct hp_err *err)
{
	(void)arg;
	return pg_clients(run, err) < 0 ? HP_EVERIFY : 0;
}

size_t hp_tls_postgres_checks(const struct hp_run *run, struct hp_check *out)
{
	if (!tls_active(run))
		return 0;
	out[0] = (struct hp_check){
		"verify postgresql: replication connections on TLS",
		pg_replication_check, NULL, true };
	out[1] = (struct hp_check){
		"verify postgresql: a client through haproxy with "
		"sslmode=verify-ca is on TLS",
		pg_clients_check, NULL, false };
	return 2;
}
