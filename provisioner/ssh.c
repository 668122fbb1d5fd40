/*
 * The SSH transport: struct hp_transport on libssh2 (see ssh.h).
 *
 * The session is blocking (with libssh2_session_set_timeout) while it
 * connects and authenticates, where every step is a request and an answer,
 * and non-blocking afterwards: a command's stdin, stdout and stderr have to
 * move at the same time, or a command that fills its stderr pipe while we
 * are still writing its stdin would wait for us while we wait for it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libssh2.h>

#include "knownhosts.h"
#include "shell.h"
#include "ssh.h"

/* See transport.c: the same cap, for results the caller did not init. */
#ifndef HP_EXEC_OUTPUT_MAX
#define HP_EXEC_OUTPUT_MAX ((size_t)16 * 1024 * 1024)
#endif

/* put and get have no timeout argument in the ops table. */
#define DEFAULT_COMMAND_TIMEOUT_S 600
#define DEFAULT_CONNECT_TIMEOUT_S 10
/* Enough to tell the peer we are going; a dead peer must not hold us. */
#define CLOSE_GRACE_MS 2000
/* Idle NAT and firewall state expires after minutes; curl uses 60 s. */
#define KEEPALIVE_INTERVAL_S 30
/* exec: timeout(1) sends TERM at timeout_s, KILL this much later. */
#define KILL_AFTER_S 5
/* exec: how long past that we wait for a host before giving up on it. */
#define NETWORK_SLACK_S 10
/* get: the exit status that means "no such file" (cat itself exits 1). */
#define GET_NOT_FOUND_EXIT 44

struct ssh_conn {
	int sock;
	LIBSSH2_SESSION *session;
	char host[64]; /* inventory name, for messages */
	char *where;   /* "user@address:port", for messages */
	bool sudo;
	bool started; /* the SSH handshake completed */
	bool broken;  /* a transport error: the session cannot be used */
	int command_timeout_s;
};

/* ---- errors ------------------------------------------------------ */

static int fail(struct ssh_conn *c, struct hp_err *err, int code,
		const char *fmt, ...) HP_PRINTF(4, 5);

/* hp_err_set plus the host name, which every error here is about. */
static int fail(struct ssh_conn *c, struct hp_err *err, int code,
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

/* Errors after which the byte stream is out of step or gone. */
static bool breaks_session(int rc)
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

static int ssh_fail(struct ssh_conn *c, int rc, struct hp_err *err,
		    const char *fmt, ...) HP_PRINTF(4, 5);

/* Report libssh2 error rc as "<what>: <libssh2's message>". */
static int ssh_fail(struct ssh_conn *c, int rc, struct hp_err *err,
		    const char *fmt, ...)
{
	struct hp_buf what = HP_BUF_INIT;
	char *msg = NULL;
	int code = map_libssh2_error(rc);
	va_list ap;

	if (breaks_session(rc))
		c->broken = true;
	va_start(ap, fmt);
	hp_buf_vaddf(&what, fmt, ap);
	va_end(ap);
	if (libssh2_session_last_error(c->session, &msg, NULL, 0) == 0 ||
	    !msg || !*msg)
		fail(c, err, code, "%s (libssh2 error %d)", what.buf, rc);
	else
		fail(c, err, code, "%s: %s", what.buf, msg);
	hp_buf_release(&what);
	return code;
}

static int connection_lost(struct ssh_conn *c, struct hp_err *err)
{
	return fail(c, err, HP_ECONNECT,
		    "connection to %s was lost earlier in this run", c->where);
}

/* ---- waiting ----------------------------------------------------- */

/*
 * Wait until the socket can move data in the directions libssh2 said it
 * was blocked on (dirs, LIBSSH2_SESSION_BLOCK_*), or until deadline (ms on
 * hp_now_ms's clock; 0: none). Waits at most a second, so callers recheck
 * their state even if libssh2 buffered data without telling us.
 */
static int wait_socket(struct ssh_conn *c, int dirs, int64_t deadline,
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
		return fail(c, err, HP_ECONNECT, "poll on connection to %s: %s",
			    c->where, hp_strerror(errno, eb, sizeof(eb)));
	}
	return 0;
}

static int64_t deadline_after(int timeout_s)
{
	return timeout_s > 0 ? hp_now_ms() + (int64_t)timeout_s * 1000 : 0;
}

/* ---- connecting -------------------------------------------------- */

/* Resolve and connect, giving up at deadline. Sets c->sock. */
static int tcp_connect(struct ssh_conn *c, const char *address, int port,
		       int64_t deadline, struct hp_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16], eb[128];
	int gai, last_errno = 0, one = 1, r = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	/* getaddrinfo, unlike gethostbyname, is thread-safe */
	gai = getaddrinfo(address, portstr, &hints, &res);
	if (gai != 0)
		return fail(
			c, err, HP_ECONNECT, "cannot resolve '%s': %s", address,
			gai == EAI_SYSTEM ? hp_strerror(errno, eb, sizeof(eb))
					  : gai_strerror(gai));

	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t len = sizeof(int);
		int fd, soerr = 0;

		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		/* non-blocking, so that the connect timeout is ours to set
		 * instead of the kernel's two minutes */
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			c->sock = fd;
			break;
		}
		if (errno != EINPROGRESS) {
			last_errno = errno;
			close(fd);
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		for (;;) {
			int64_t left = deadline - hp_now_ms();

			if (left <= 0) {
				r = 0;
				break;
			}
			r = poll(&pfd, 1, (int)left);
			if (r >= 0 || errno != EINTR)
				break;
		}
		if (r <= 0) {
			last_errno = r == 0 ? ETIMEDOUT : errno;
			close(fd);
			if (r == 0)
				break; /* the deadline is for all addresses */
			continue;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			soerr = errno;
		if (soerr) {
			last_errno = soerr;
			close(fd);
			continue;
		}
		c->sock = fd;
		break;
	}
	freeaddrinfo(res);
	if (c->sock < 0)
		return fail(c, err,
			    last_errno == ETIMEDOUT ? HP_ETIMEOUT : HP_ECONNECT,
			    "cannot connect to %s: %s", c->where,
			    hp_strerror(last_errno ? last_errno : EHOSTUNREACH,
					eb, sizeof(eb)));
	/* commands are small request/answer exchanges: no Nagle delay */
	setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
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
		return ssh_fail(c, LIBSSH2_ERROR_HOSTKEY_INIT, err,
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
		r = ssh_fail(c, LIBSSH2_ERROR_AGENT_PROTOCOL, err,
			     "cannot authenticate as %s: no identity_file "
			     "given and no ssh-agent reachable (SSH_AUTH_SOCK)",
			     c->where);
		goto out;
	}
	if (libssh2_agent_list_identities(agent)) {
		r = ssh_fail(c, LIBSSH2_ERROR_AGENT_PROTOCOL, err,
			     "cannot list the keys in ssh-agent");
		goto out;
	}
	while (libssh2_agent_get_identity(agent, &id, id) == 0) {
		tried++;
		if (libssh2_agent_userauth(agent, user, id) == 0)
			goto out;
		if (breaks_session(libssh2_session_last_errno(c->session)))
			break;
	}
	r = fail(c, err, HP_ECONNECT,
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
		return ssh_fail(c, libssh2_session_last_errno(c->session), err,
				"cannot authenticate as %s", c->where);
	}
	if (!strstr(methods, "publickey"))
		return fail(c, err, HP_ECONNECT,
			    "cannot authenticate as %s: the server accepts "
			    "only '%s', and haprov uses public keys",
			    c->where, methods);
	if (!identity)
		return auth_agent(c, user, err);

	if (access(identity, R_OK) < 0) {
		char eb[128];

		return fail(c, err, HP_EIO,
			    "cannot read identity file '%s': %s", identity,
			    hp_strerror(errno, eb, sizeof(eb)));
	}
	pub = xasprintf("%s.pub", identity);
	/* without a .pub, libssh2 derives the public key from the private */
	rc = libssh2_userauth_publickey_fromfile_ex(
		c->session, user, (unsigned int)strlen(user),
		access(pub, R_OK) == 0 ? pub : NULL, identity, NULL);
	if (rc == LIBSSH2_ERROR_FILE)
		r = ssh_fail(c, rc, err,
			     "cannot use identity file '%s' (a key with a "
			     "passphrase needs ssh-agent)",
			     identity);
	else if (rc == LIBSSH2_ERROR_AUTHENTICATION_FAILED ||
		 rc == LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED)
		r = ssh_fail(c, rc, err,
			     "permission denied for %s: key '%s' was not "
			     "accepted",
			     c->where, identity);
	else if (rc)
		r = ssh_fail(c, rc, err, "cannot authenticate as %s with '%s'",
			     c->where, identity);
	free(pub);
	return r;
}

/* ---- lifetime ---------------------------------------------------- */

static void ssh_conn_free(struct ssh_conn *c)
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

static void ssh_close(void *ctx)
{
	ssh_conn_free(ctx);
}

static const struct hp_transport_ops ssh_ops;

/* libssh2's blocking-call timeout: what is left of the connect deadline. */
static void set_remaining_timeout(struct ssh_conn *c, int64_t deadline)
{
	int64_t left = deadline - hp_now_ms();

	libssh2_session_set_timeout(c->session,
				    left < 1000 ? 1000 : (long)left);
}

int hp_ssh_connect(struct hp_transport *out, const char *host_name,
		   const struct hp_ssh_opts *o, struct hp_err *err)
{
	struct hp_known_hosts hk;
	struct ssh_conn *c = NULL;
	const char *user = o->user && *o->user ? o->user : "root";
	int port = o->port ? o->port : 22;
	int timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s
						 : DEFAULT_CONNECT_TIMEOUT_S;
	int64_t deadline = deadline_after(timeout_s);
	int rc, r;

	memset(&hk, 0, sizeof(hk));
	c = xcalloc(1, sizeof(*c));
	c->sock = -1;
	snprintf(c->host, sizeof(c->host), "%s", host_name);
	c->sudo = o->sudo;
	c->command_timeout_s = o->command_timeout_s > 0
				       ? o->command_timeout_s
				       : DEFAULT_COMMAND_TIMEOUT_S;
	/* the address goes into known_hosts lines and messages as it is */
	if (!o->address || !*o->address ||
	    strspn(o->address, "abcdefghijklmnopqrstuvwxyz"
			       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%") !=
		    strlen(o->address) ||
	    port < 1 || port > 65535 || !o->known_hosts || !*o->known_hosts) {
		r = fail(c, err, HP_EINVALID,
			 "ssh settings for '%s' need an address (a host name "
			 "or an IP address), a port in 1-65535 and a "
			 "known_hosts file",
			 host_name);
		goto out;
	}
	c->where = strchr(o->address, ':')
			   ? xasprintf("%s@[%s]:%d", user, o->address, port)
			   : xasprintf("%s@%s:%d", user, o->address, port);

	if ((r = tcp_connect(c, o->address, port, deadline, err)) < 0)
		goto out;

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
		r = ssh_fail(c, rc, err, "SSH handshake with %s failed",
			     c->where);
		goto out;
	}
	c->started = true;
	if ((r = check_host_key(c, &hk, o, err)) < 0)
		goto out;
	set_remaining_timeout(c, deadline);
	if ((r = authenticate(c, user, o->identity_file, err)) < 0)
		goto out;

	/* want_reply=0: OpenSSH answers keepalives it need not answer with
	 * a failure packet that libssh2 would queue forever */
	libssh2_keepalive_config(c->session, 0, KEEPALIVE_INTERVAL_S);
	libssh2_session_set_blocking(c->session, 0);

	out->ops = &ssh_ops;
	out->ctx = c;
	snprintf(out->host, sizeof(out->host), "%s", host_name);
	c = NULL;
out:
	hp_known_hosts_release(&hk);
	ssh_conn_free(c);
	return r;
}

/* ---- exec -------------------------------------------------------- */

/*
 * Free a channel, closing it first if needed, within CLOSE_GRACE_MS: a
 * peer that does not answer marks the session broken rather than making
 * us wait for it.
 */
static void channel_free(struct ssh_conn *c, LIBSSH2_CHANNEL *ch)
{
	int64_t deadline = hp_now_ms() + CLOSE_GRACE_MS;
	int rc;

	while ((rc = libssh2_channel_free(ch)) == LIBSSH2_ERROR_EAGAIN) {
		if (wait_socket(c, libssh2_session_block_directions(c->session),
				deadline, NULL) < 0) {
			c->broken = true;
			return;
		}
	}
	if (rc && breaks_session(rc))
		c->broken = true;
}

/*
 * Whether the peer closed the channel (which it does after the command
 * exits and its output has been sent). Only valid after remote EOF.
 */
static bool remote_closed(LIBSSH2_CHANNEL *ch)
{
	return libssh2_channel_eof(ch) == 1 &&
	       libssh2_channel_wait_closed(ch) == 0;
}

/* Read what stream has for us into b; *progress if anything came. */
static int drain(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, int stream,
		 struct hp_buf *b, bool *progress, int *dirs,
		 struct hp_err *err)
{
	char chunk[32768];

	for (;;) {
		ssize_t n = libssh2_channel_read_ex(ch, stream, chunk,
						    sizeof(chunk));

		if (n > 0) {
			*progress = true;
			if (hp_buf_add(b, chunk, (size_t)n) < 0)
				return fail(c, err, HP_ETOOBIG,
					    "the command's %s passed %zu bytes",
					    stream ? "stderr" : "stdout",
					    b->max);
			continue;
		}
		if (n == LIBSSH2_ERROR_EAGAIN)
			*dirs |= libssh2_session_block_directions(c->session);
		else if (n < 0)
			return ssh_fail(c, (int)n, err,
					"cannot read the command's output "
					"from %s",
					c->where);
		return 0;
	}
}

/*
 * Move stdin, stdout and stderr until the command has finished: remote EOF
 * seen and our stdin sent (or the command exited without reading it all,
 * as with "ssh host true < file").
 */
static int pump(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, const char *in,
		size_t in_left, struct hp_exec_result *res, int64_t deadline,
		struct hp_err *err)
{
	bool eof_sent = false;

	for (;;) {
		bool progress = false;
		int dirs = 0, r;

		if (in_left) {
			ssize_t n = libssh2_channel_write(ch, in, in_left);

			if (n > 0) {
				in += n;
				in_left -= (size_t)n;
				progress = true;
			} else if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
				/* 0: no window; the adjustment will come in */
				dirs |= n ? libssh2_session_block_directions(
						    c->session)
					  : LIBSSH2_SESSION_BLOCK_INBOUND;
			} else if (remote_closed(ch)) {
				in_left = 0;
			} else {
				return ssh_fail(c, (int)n, err,
						"cannot send the command's "
						"input to %s",
						c->where);
			}
		}
		if (!in_left && !eof_sent) {
			int rc = libssh2_channel_send_eof(ch);

			if (rc == LIBSSH2_ERROR_EAGAIN)
				dirs |= libssh2_session_block_directions(
					c->session);
			else if (rc == 0 || remote_closed(ch))
				eof_sent = true;
			else
				return ssh_fail(c, rc, err,
						"cannot send EOF to %s",
						c->where);
		}
		if ((r = drain(c, ch, 0, &res->out, &progress, &dirs, err)) <
			    0 ||
		    (r = drain(c, ch, SSH_EXTENDED_DATA_STDERR, &res->errout,
			       &progress, &dirs, err)) < 0)
			return r;

		/* eof() is false while data is still queued for us */
		if (libssh2_channel_eof(ch) == 1) {
			if (eof_sent)
				return 0;
			if (remote_closed(ch))
				return 0; /* it did not read all its input */
		}
		if (progress)
			continue;
		/* reading one stream can queue the other's data without
		 * touching the socket again: look before sleeping */
		if (libssh2_poll_channel_read(ch, 0) ||
		    libssh2_poll_channel_read(ch, 1))
			continue;
		if ((r = wait_socket(c, dirs, deadline, err)) < 0)
			return r;
	}
}

static int ssh_exec(void *ctx, const char *cmd, const void *stdin_data,
		    size_t stdin_len, int timeout_s, struct hp_exec_result *res,
		    struct hp_err *err)
{
	struct ssh_conn *c = ctx;
	struct hp_buf full = HP_BUF_INIT;
	LIBSSH2_CHANNEL *ch = NULL;
	int64_t start = hp_now_ms(), deadline = 0;
	char *signame = NULL;
	int rc, r = 0;

	if (c->broken)
		return connection_lost(c, err);
	res->exit_code = -1;
	if (!res->out.max)
		res->out.max = HP_EXEC_OUTPUT_MAX;
	if (!res->errout.max)
		res->errout.max = HP_EXEC_OUTPUT_MAX;

	/*
	 * The login shell may be anything; the contract says /bin/sh.
	 * timeout(1) stops the command, and everything it started in its
	 * process group, on the host: closing our channel would leave it
	 * running (holding the dpkg lock, say). Our own deadline, later, is
	 * for a host or network that stopped answering.
	 */
	if (c->sudo)
		hp_buf_adds(&full, "sudo -n ");
	if (timeout_s > 0) {
		hp_buf_addf(&full, "timeout -k %d %d ", KILL_AFTER_S,
			    timeout_s);
		deadline = deadline_after(timeout_s + KILL_AFTER_S +
					  NETWORK_SLACK_S);
	}
	hp_buf_adds(&full, "/bin/sh -c ");
	hp_shell_quote(&full, cmd);

	/* due now and then: keeps NAT state for idle sessions alive */
	libssh2_keepalive_send(c->session, NULL);

	while (!(ch = libssh2_channel_open_session(c->session))) {
		rc = libssh2_session_last_errno(c->session);
		if (rc != LIBSSH2_ERROR_EAGAIN) {
			r = ssh_fail(c, rc, err, "cannot open a channel to %s",
				     c->where);
			goto out;
		}
		if ((r = wait_socket(
			     c, libssh2_session_block_directions(c->session),
			     deadline, err)) < 0)
			goto out;
	}
	while ((rc = libssh2_channel_exec(ch, full.buf)) ==
	       LIBSSH2_ERROR_EAGAIN) {
		if ((r = wait_socket(
			     c, libssh2_session_block_directions(c->session),
			     deadline, err)) < 0)
			goto out;
	}
	if (rc) {
		r = ssh_fail(c, rc, err, "cannot start a command on %s",
			     c->where);
		goto out;
	}
	if ((r = pump(c, ch, stdin_data, stdin_data ? stdin_len : 0, res,
		      deadline, err)) < 0)
		goto out;

	/* exit-status comes before the peer's close: wait for the close */
	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN) {
		if ((r = wait_socket(
			     c, libssh2_session_block_directions(c->session),
			     deadline, err)) < 0)
			goto out;
	}
	while (rc == 0 &&
	       (rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN) {
		if ((r = wait_socket(
			     c, libssh2_session_block_directions(c->session),
			     deadline, err)) < 0)
			goto out;
	}
	if (rc) {
		r = ssh_fail(c, rc, err, "cannot close the channel to %s",
			     c->where);
		goto out;
	}
	libssh2_channel_get_exit_signal(ch, &signame, NULL, NULL, NULL, NULL,
					NULL);
	if (signame) {
		hp_debug("%s: command killed by SIG%s", c->host, signame);
		res->exit_code = -1;
	} else {
		res->exit_code = libssh2_channel_get_exit_status(ch);
	}
	/* timeout(1)'s "stopped it" (124, or 128+KILL after -k); a command
	 * that exits 124 by itself before the deadline is not mistaken */
	if (timeout_s > 0 &&
	    (res->exit_code == 124 || res->exit_code == 128 + 9) &&
	    hp_now_ms() - start >= (int64_t)timeout_s * 1000 - 50)
		r = HP_ETIMEOUT;
out:
	if (r == HP_ETIMEOUT)
		fail(c, err, HP_ETIMEOUT,
		     "command on %s did not finish within %d s: %.80s%s",
		     c->where, timeout_s, cmd, strlen(cmd) > 80 ? "..." : "");
	if (ch)
		channel_free(c, ch);
	libssh2_free(c->session, signame);
	hp_buf_release(&full);
	return r;
}

/* ---- put / get --------------------------------------------------- */

/* First line of a command's stderr, for messages ("" if none). */
static const char *first_line(struct hp_buf *b, const char *fallback)
{
	char *nl;

	while (b->len &&
	       (b->buf[b->len - 1] == '\n' || b->buf[b->len - 1] == ' '))
		b->buf[--b->len] = '\0';
	if ((nl = strchr(b->buf, '\n')) != NULL)
		*nl = '\0';
	return b->len ? b->buf : fallback;
}

static int ssh_put(void *ctx, const char *path, const void *data, size_t len,
		   unsigned mode, const char *owner, const char *group,
		   struct hp_err *err)
{
	struct ssh_conn *c = ctx;
	struct hp_exec_result res;
	struct hp_buf cmd = HP_BUF_INIT, tmp = HP_BUF_INIT;
	const char *slash = strrchr(path, '/'), *base;
	unsigned char rnd[8];
	size_t i, blen;
	int r;

	hp_exec_result_init(&res);
	base = slash ? slash + 1 : path;
	if (!*base || mode > 07777) {
		r = fail(c, err, HP_EINVALID,
			 "cannot write '%s': not a file name, or mode %o", path,
			 mode);
		goto out;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		r = fail(c, err, HP_EIO, "cannot get random bytes");
		goto out;
	}
	/*
	 * Same directory (rename is atomic only within a file system), a
	 * leading dot (no "*.conf" glob in conf.d picks it up), and a
	 * random suffix: parallel runs never share it.
	 */
	blen = strlen(base);
	hp_buf_add(&tmp, path, (size_t)(base - path));
	hp_buf_addf(&tmp, ".%.*s.haprov-tmp.", (int)(blen > 200 ? 200 : blen),
		    base);
	for (i = 0; i < sizeof(rnd); i++)
		hp_buf_addf(&tmp, "%02x", rnd[i]);

	/*
	 * umask 077: the data exists readable only by root until chmod.
	 * set -C: "cat >" creates the file (O_EXCL) and fails on anything
	 * already there, a symlink planted in a shared directory included.
	 * mv -T: a directory at path is an error, not a place to move into.
	 * Any failure removes the temporary file; path is never half-written.
	 */
	hp_buf_adds(&cmd, "umask 077; set -C; t=");
	hp_shell_quote(&cmd, tmp.buf);
	hp_buf_addf(&cmd, "; cat > \"$t\" && chmod %04o \"$t\" && chown ",
		    mode);
	hp_shell_quote(&cmd, owner ? owner : "root");
	hp_buf_addch(&cmd, ':');
	hp_shell_quote(&cmd, group ? group : "root");
	hp_buf_adds(&cmd, " \"$t\" && { sync \"$t\" 2>/dev/null || :; } && "
			  "mv -f -T \"$t\" ");
	hp_shell_quote(&cmd, path);
	hp_buf_adds(&cmd, " || { rc=$?; rm -f \"$t\"; exit $rc; }");

	r = ssh_exec(c, cmd.buf, data, data ? len : 0, c->command_timeout_s,
		     &res, err);
	if (r < 0) {
		hp_err_prefix(err, "cannot write '%s'", path);
		goto out;
	}
	if (res.exit_code != 0)
		r = fail(c, err, HP_EREMOTE, "cannot write '%s' on %s: %s",
			 path, c->host,
			 first_line(&res.errout, "the command failed"));
out:
	hp_exec_result_release(&res);
	hp_buf_release(&cmd);
	hp_buf_release(&tmp);
	return r;
}

static int ssh_get(void *ctx, const char *path, struct hp_buf *out,
		   struct hp_err *err)
{
	struct ssh_conn *c = ctx;
	struct hp_exec_result res;
	struct hp_buf cmd = HP_BUF_INIT;
	int r;

	hp_exec_result_init(&res);
	/* -e is true for any file; cat reports the rest (a directory,
	 * permissions) and exits 1, which is then an error */
	hp_buf_adds(&cmd, "f=");
	hp_shell_quote(&cmd, path);
	hp_buf_addf(&cmd, "; [ -e \"$f\" ] || exit %d; exec cat -- \"$f\"",
		    GET_NOT_FOUND_EXIT);
	r = ssh_exec(c, cmd.buf, NULL, 0, c->command_timeout_s, &res, err);
	if (r < 0) {
		hp_err_prefix(err, "cannot read '%s'", path);
		goto out;
	}
	if (res.exit_code == GET_NOT_FOUND_EXIT) {
		r = fail(c, err, HP_ENOTFOUND, "'%s' does not exist on %s",
			 path, c->host);
		goto out;
	}
	if (res.exit_code != 0) {
		r = fail(c, err, HP_EREMOTE, "cannot read '%s' on %s: %s", path,
			 c->host,
			 first_line(&res.errout, "the command failed"));
		goto out;
	}
	if ((r = hp_buf_add(out, res.out.buf, res.out.len)) < 0)
		fail(c, err, r, "'%s' on %s is larger than %zu bytes", path,
		     c->host, out->max);
out:
	hp_exec_result_release(&res);
	hp_buf_release(&cmd);
	return r;
}

static const struct hp_transport_ops ssh_ops = {
	.exec = ssh_exec,
	.put = ssh_put,
	.get = ssh_get,
	.close = ssh_close,
};
