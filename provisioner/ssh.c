/*
 * The SSH transport: struct hp_transport on libssh2 (see ssh.h). This
 * file connects, checks the host key (the policy is knownhosts.c's) and
 * authenticates; ssh_channel.c runs commands over the session.
 *
 * The session is blocking (with libssh2_session_set_timeout) while it
 * connects and authenticates, where every step is a request and an answer,
 * and non-blocking afterwards: a command's stdin, stdout and stderr have to
 * move at the same time, or a command that fills its stderr pipe while we
 * are still writing its stdin would wait for us while we wait for it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>

#include "knownhosts.h"
#include "ssh_priv.h"
#include "tcp.h"

/* put and get have no timeout argument in the ops table. */
#define DEFAULT_COMMAND_TIMEOUT_S 600
#define DEFAULT_CONNECT_TIMEOUT_S 10
/* Idle NAT and firewall state expires after minutes; curl uses 60 s. */
#define KEEPALIVE_INTERVAL_S 30

/* ---- errors ------------------------------------------------------ */

int hp_ssh_fail(struct ssh_conn *c, struct hp_err *err, int code,
		const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	snprintf(err->host, sizeof(err->host), "%s", c->host);
	return code;
}

/*
 * The one adapter from libssh2's error codes to ours (curl's
 * lib/vssh/libssh2.c does the same): callers branch on our codes, while
 * the message keeps libssh2's own text, which says what went wrong.
 */
static int map_libssh2_error(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
		return HP_ETIMEOUT;
	case LIBSSH2_ERROR_SOCKET_NONE:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
	case LIBSSH2_ERROR_HOSTKEY_INIT:
	case LIBSSH2_ERROR_HOSTKEY_SIGN:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_PASSWORD_EXPIRED:
	case LIBSSH2_ERROR_METHOD_NONE:
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
	case LIBSSH2_ERROR_PUBLICKEY_PROTOCOL:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_ENCRYPT:
	case LIBSSH2_ERROR_BAD_SOCKET:
	case LIBSSH2_ERROR_AGENT_PROTOCOL:
	case LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
		return HP_ECONNECT;
	case LIBSSH2_ERROR_FILE:
		return HP_EIO;
	case LIBSSH2_ERROR_KNOWN_HOSTS:
		return HP_EHOSTKEY;
	case LIBSSH2_ERROR_ALLOC:
		hp_die_oom();
	default:
		return HP_ERROR;
	}
}

bool hp_ssh_breaks_session(int rc)
{
	switch (rc) {
	case LIBSSH2_ERROR_SOCKET_NONE:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_BAD_SOCKET:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_ENCRYPT:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
		return true;
	default:
		return false;
	}
}

int hp_ssh_lib_fail(struct ssh_conn *c, int rc, struct hp_err *err,
		    const char *fmt, ...)
{
	struct hp_buf what = HP_BUF_INIT;
	char *msg = NULL;
	int code = map_libssh2_error(rc);
	va_list ap;

	if (hp_ssh_breaks_session(rc))
		c->broken = true;
	va_start(ap, fmt);
	hp_buf_vaddf(&what, fmt, ap);
	va_end(ap);
	if (libssh2_session_last_error(c->session, &msg, NULL, 0) == 0 ||
	    !msg || !*msg)
		hp_ssh_fail(c, err, code, "%s (libssh2 error %d)", what.buf,
			    rc);
	else
		hp_ssh_fail(c, err, code, "%s: %s", what.buf, msg);
	hp_buf_release(&what);
	return code;
}

int hp_ssh_lost(struct ssh_conn *c, struct hp_err *err)
{
	return hp_ssh_fail(c, err, HP_ECONNECT,
			   "connection to %s was lost earlier in this run",
			   c->where);
}

/* ---- waiting ----------------------------------------------------- */

int hp_ssh_wait(struct ssh_conn *c, int dirs, int64_t deadline,
		struct hp_err *err)
{
	struct pollfd pfd = {.fd = c->sock, .events = POLLIN};
	int ms = 1000;

	if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND)
		pfd.events |= POLLOUT;
	if (deadline) {
		int64_t left = deadline - hp_now_ms();

		if (left <= 0)
			return HP_ETIMEOUT;
		if (left < ms)
			ms = (int)left;
	}
	if (poll(&pfd, 1, ms) < 0 && errno != EINTR) {
		char eb[128];

		c->broken = true;
		return hp_ssh_fail(c, err, HP_ECONNECT,
				   "poll on connection to %s: %s", c->where,
				   hp_strerror(errno, eb, sizeof(eb)));
	}
	return 0;
}

int64_t hp_ssh_deadline(int timeout_s)
{
	return timeout_s > 0 ? hp_now_ms() + (int64_t)timeout_s * 1000 : 0;
}

/* ---- connecting -------------------------------------------------- */

/* Connect (tcp.h) and set the socket up for SSH. Sets c->sock. */
static int tcp_open(struct ssh_conn *c, const char *address, int port,
		    int64_t deadline, struct hp_err *err)
{
	int fd = hp_tcp_connect(address, port, deadline, c->where, err);
	int one = 1;

	if (fd < 0) {
		if (err)
			snprintf(err->host, sizeof(err->host), "%s", c->host);
		return fd;
	}
	c->sock = fd;
	/* commands are small request/answer exchanges: no Nagle delay */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	return 0;
}

/* ---- host keys --------------------------------------------------- */

/*
 * Ask for the key types known_hosts has for this host first (knownhosts.h:
 * hp_known_hosts_prefs).
 */
static void set_hostkey_prefs(struct ssh_conn *c,
			      const struct hp_known_hosts *hk)
{
	struct hp_buf pref = HP_BUF_INIT;

	hp_known_hosts_prefs(hk, &pref);
	/* libssh2 drops the methods it does not have (rsa-sha2-* before
	 * 1.11); with an empty list it keeps its defaults, and the check
	 * after the handshake still decides */
	if (!pref.len || libssh2_session_method_pref(
				 c->session, LIBSSH2_METHOD_HOSTKEY, pref.buf))
		hp_debug("%s: cannot set host key preferences '%s'", c->host,
			 pref.buf);
	hp_buf_release(&pref);
}

/* After the handshake: is this the host we think it is? (knownhosts.h) */
static int check_host_key(struct ssh_conn *c, const struct hp_known_hosts *hk,
			  const struct hp_ssh_opts *o, struct hp_err *err)
{
	struct hp_hostkey_policy p;
	enum hp_hostkey_verdict v;
	const char *key;
	char fp[64];
	size_t len = 0;
	int type = 0, r = 0;

	key = libssh2_session_hostkey(c->session, &len, &type);
	if (!key)
		return hp_ssh_lib_fail(c, LIBSSH2_ERROR_HOSTKEY_INIT, err,
				       "no host key from %s", c->where);
	memset(&p, 0, sizeof(p));
	p.accept_new = o->accept_new_host_keys;
	p.read_only = o->read_only;
	p.host = c->host;
	p.where = c->where;
	p.known_hosts = o->known_hosts;
	v = hp_known_hosts_check(hk, key, len, type, &p, err);
	if (!hp_hostkey_accepted(v)) {
		if (err)
			snprintf(err->host, sizeof(err->host), "%s", c->host);
		return HP_EHOSTKEY;
	}
	if (v == HP_HOSTKEY_MATCH)
		return 0;
	hp_key_fingerprint(key, len, fp);
	if (v == HP_HOSTKEY_ACCEPT_ONCE) {
		/* plan writes nothing: the key is trusted for this run only,
		 * and the apply that follows must accept it again */
		hp_warn("%s: would add %s key %s for '%s' to %s (not written: "
			"plan changes nothing)",
			c->host, hp_key_kind_of(type)->label, fp, hk->name,
			o->known_hosts);
		return 0;
	}
	r = hp_known_hosts_append(o->known_hosts, hk->name,
				  hp_key_kind_of(type), key, len, err);
	if (r < 0) {
		if (err)
			snprintf(err->host, sizeof(err->host), "%s", c->host);
		return r;
	}
	hp_warn("%s: added %s key %s for '%s' to %s", c->host,
		hp_key_kind_of(type)->label, fp, hk->name, o->known_hosts);
	return 0;
}

/* ---- authentication ---------------------------------------------- */

static int auth_agent(struct ssh_conn *c, const char *user, struct hp_err *err)
{
	struct libssh2_agent_publickey *id = NULL;
	LIBSSH2_AGENT *agent = NULL;
	int r = 0, tried = 0;

	agent = libssh2_agent_init(c->session);
	if (!agent)
		hp_die_oom();
	if (libssh2_agent_connect(agent)) {
		r = hp_ssh_lib_fail(
			c, LIBSSH2_ERROR_AGENT_PROTOCOL, err,
			"cannot authenticate as %s: no identity_file "
			"given and no ssh-agent reachable (SSH_AUTH_SOCK)",
			c->where);
		goto out;
	}
	if (libssh2_agent_list_identities(agent)) {
		r = hp_ssh_lib_fail(c, LIBSSH2_ERROR_AGENT_PROTOCOL, err,
				    "cannot list the keys in ssh-agent");
		goto out;
	}
	while (libssh2_agent_get_identity(agent, &id, id) == 0) {
		tried++;
		if (libssh2_agent_userauth(agent, user, id) == 0)
			goto out;
		if (hp_ssh_breaks_session(
			    libssh2_session_last_errno(c->session)))
			break;
	}
	r = hp_ssh_fail(
		c, err, HP_ECONNECT,
		"permission denied for %s: %s of the %d key%s in ssh-agent "
		"%s accepted",
		c->where, tried ? "none" : "no key", tried,
		tried == 1 ? "" : "s", tried == 1 ? "was" : "were");
out:
	libssh2_agent_disconnect(agent);
	libssh2_agent_free(agent);
	return r;
}

static int authenticate(struct ssh_conn *c, const char *user,
			const char *identity, struct hp_err *err)
{
	const char *methods;
	char *pub = NULL;
	int rc, r = 0;

	/* asks the server which methods it accepts; some servers let a user
	 * in right away, which this also tells */
	methods = libssh2_userauth_list(c->session, user,
					(unsigned int)strlen(user));
	if (!methods) {
		if (libssh2_userauth_authenticated(c->session))
			return 0;
		return hp_ssh_lib_fail(
			c, libssh2_session_last_errno(c->session), err,
			"cannot authenticate as %s", c->where);
	}
	if (!strstr(methods, "publickey"))
		return hp_ssh_fail(
			c, err, HP_ECONNECT,
			"cannot authenticate as %s: the server accepts "
			"only '%s', and haprov uses public keys",
			c->where, methods);
	if (!identity)
		return auth_agent(c, user, err);

	if (access(identity, R_OK) < 0) {
		char eb[128];

		return hp_ssh_fail(
			c, err, HP_EIO, "cannot read identity file '%s': %s",
			identity, hp_strerror(errno, eb, sizeof(eb)));
	}
	pub = xasprintf("%s.pub", identity);
	/* without a .pub, libssh2 derives the public key from the private */
	rc = libssh2_userauth_publickey_fromfile_ex(
		c->session, user, (unsigned int)strlen(user),
		access(pub, R_OK) == 0 ? pub : NULL, identity, NULL);
	if (rc == LIBSSH2_ERROR_FILE)
		r = hp_ssh_lib_fail(
			c, rc, err,
			"cannot use identity file '%s' (a key with a "
			"passphrase needs ssh-agent)",
			identity);
	else if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
		 rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
		r = hp_ssh_lib_fail(
			c, rc, err,
			"permission denied for %s: key '%s' was not "
			"accepted",
			c->where, identity);
	else if (rc)
		r = hp_ssh_lib_fail(c, rc, err,
				    "cannot authenticate as %s with '%s'",
				    c->where, identity);
	free(pub);
	return r;
}

/* ---- lifetime ---------------------------------------------------- */

void hp_ssh_conn_free(struct ssh_conn *c)
{
	if (!c)
		return;
	if (c->session) {
		if (c->started && !c->broken) {
			libssh2_session_set_blocking(c->session, 1);
			libssh2_session_set_timeout(c->session, CLOSE_GRACE_MS);
			libssh2_session_disconnect(c->session, "haprov done");
		}
		libssh2_session_free(c->session);
	}
	if (c->sock >= 0)
		close(c->sock);
	free(c->where);
	free(c);
}

/* libssh2's blocking-call timeout: what is left of the connect deadline. */
static void set_remaining_timeout(struct ssh_conn *c, int64_t deadline)
{
	int64_t left = deadline - hp_now_ms();

	libssh2_session_set_timeout(c->session,
				    left < 1000 ? 1000 : (long)left);
}

/* A connection for host_name with o's settings, not connected yet. */
static struct ssh_conn *conn_new(const char *host_name,
				 const struct hp_ssh_opts *o)
{
	struct ssh_conn *c = xcalloc(1, sizeof(*c));

	c->sock = -1;
	snprintf(c->host, sizeof(c->host), "%s", host_name);
	c->sudo = o->sudo;
	c->command_timeout_s = o->command_timeout_s > 0
				       ? o->command_timeout_s
				       : DEFAULT_COMMAND_TIMEOUT_S;
	return c;
}

/* The address goes into known_hosts lines and messages as it is. */
static bool opts_valid(const struct hp_ssh_opts *o, int port)
{
	return o->address && *o->address &&
	       strspn(o->address,
		      "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%") ==
		       strlen(o->address) &&
	       port >= 1 && port <= 65535 && o->known_hosts && *o->known_hosts;
}

/* On the connected socket: handshake, host key, authentication. */
static int session_open(struct ssh_conn *c, const struct hp_ssh_opts *o,
			const char *user, int port, int64_t deadline,
			struct hp_err *err)
{
	struct hp_known_hosts hk;
	int rc, r;

	c->session = libssh2_session_init();
	if (!c->session)
		hp_die_oom();
	libssh2_session_set_blocking(c->session, 1);
	hp_known_hosts_init(&hk, c->session, o->address, port);
	if ((r = hp_known_hosts_load(&hk, o->known_hosts, err)) < 0) {
		if (err)
			snprintf(err->host, sizeof(err->host), "%s", c->host);
		goto out;
	}
	set_hostkey_prefs(c, &hk);

	set_remaining_timeout(c, deadline);
	if ((rc = libssh2_session_handshake(c->session, c->sock)) != 0) {
		r = hp_ssh_lib_fail(c, rc, err, "SSH handshake with %s failed",
				    c->where);
		goto out;
	}
	c->started = true;
	if ((r = check_host_key(c, &hk, o, err)) < 0)
		goto out;
	set_remaining_timeout(c, deadline);
	r = authenticate(c, user, o->identity_file, err);
out:
	hp_known_hosts_release(&hk);
	return r;
}

int hp_ssh_connect(struct hp_transport *out, const char *host_name,
		   const struct hp_ssh_opts *o, struct hp_err *err)
{
	struct ssh_conn *c = conn_new(host_name, o);
	const char *user = o->user && *o->user ? o->user : "root";
	int port = o->port ? o->port : 22;
	int timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s
						 : DEFAULT_CONNECT_TIMEOUT_S;
	int64_t deadline = hp_ssh_deadline(timeout_s);
	int r;

	if (!opts_valid(o, port)) {
		r = hp_ssh_fail(
			c, err, HP_EINVALID,
			"ssh settings for '%s' need an address (a host name "
			"or an IP address), a port in 1-65535 and a "
			"known_hosts file",
			host_name);
		goto out;
	}
	c->where = strchr(o->address, ':')
			   ? xasprintf("%s@[%s]:%d", user, o->address, port)
			   : xasprintf("%s@%s:%d", user, o->address, port);
	if ((r = tcp_open(c, o->address, port, deadline, err)) < 0 ||
	    (r = session_open(c, o, user, port, deadline, err)) < 0)
		goto out;

	/* want_reply=0: OpenSSH answers keepalives it need not answer with
	 * a failure packet that libssh2 would queue forever */
	libssh2_keepalive_config(c->session, 0, KEEPALIVE_INTERVAL_S);
	libssh2_session_set_blocking(c->session, 0);

	out->ops = &hp_ssh_ops;
	out->ctx = c;
	snprintf(out->host, sizeof(out->host), "%s", host_name);
	c = NULL;
out:
	hp_ssh_conn_free(c);
	return r;
}
