/*
 * The SSH transport's commands (see ssh.h): exec, put and get over the
 * session ssh.c opened. Non-blocking: a command's stdin, stdout and
 * stderr move at the same time, or a command that fills its stderr pipe
 * while we are still writing its stdin would wait for us while we wait
 * for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libssh2.h>

#include "shell.h"
#include "ssh_priv.h"

/* exec: timeout(1) sends TERM at timeout_s, KILL this much later. */
#define KILL_AFTER_S 5
/* exec: how long past that we wait for a host before giving up on it. */
#define NETWORK_SLACK_S 10
/* get: the exit status that means "no such file" (cat itself exits 1). */
#define GET_NOT_FOUND_EXIT 44

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
		if (hp_ssh_wait(c, libssh2_session_block_directions(c->session),
				deadline, NULL) < 0) {
			c->broken = true;
			return;
		}
	}
	if (rc && hp_ssh_breaks_session(rc))
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
				return hp_ssh_fail(
					c, err, HP_ETOOBIG,
					"the command's %s passed %zu bytes",
					stream ? "stderr" : "stdout", b->max);
			continue;
		}
		if (n == LIBSSH2_ERROR_EAGAIN)
			*dirs |= libssh2_session_block_directions(c->session);
		else if (n < 0)
			return hp_ssh_lib_fail(
				c, (int)n, err,
				"cannot read the command's output "
				"from %s",
				c->where);
		return 0;
	}
}

/* Stdin state of one command, for pump. */
struct feed {
	const char *in;
	size_t left;
	bool eof_sent;
};

/* Send what the channel takes of the command's stdin, then EOF. */
static int feed_stdin(struct ssh_conn *c, LIBSSH2_CHANNEL *ch, struct feed *f,
		      bool *progress, int *dirs, struct hp_err *err)
{
	if (f->left) {
		ssize_t n = libssh2_channel_write(ch, f->in, f->left);

		if (n > 0) {
			f->in += n;
			f->left -= (size_t)n;
			*progress = true;
		} else if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
			/* 0: no window; the adjustment will come in */
			*dirs |=
				n ? libssh2_session_block_directions(c->session)
				  : LIBSSH2_SESSION_BLOCK_INBOUND;
		} else if (remote_closed(ch)) {
			f->left = 0;
		} else {
			return hp_ssh_lib_fail(c, (int)n, err,
					       "cannot send the command's "
					       "input to %s",
					       c->where);
		}
	}
	if (!f->left && !f->eof_sent) {
		int rc = libssh2_channel_send_eof(ch);

		if (rc == LIBSSH2_ERROR_EAGAIN)
			*dirs |= libssh2_session_block_directions(c->session);
		else if (rc == 0 || remote_closed(ch))
			f->eof_sent = true;
		else
			return hp_ssh_lib_fail(
				c, rc, err, "cannot send EOF to %s", c->where);
	}
	return 0;
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
	struct feed f = {in, in_left, false};

	for (;;) {
		bool progress = false;
		int dirs = 0, r;

		if ((r = feed_stdin(c, ch, &f, &progress, &dirs, err)) < 0 ||
		    (r = drain(c, ch, 0, &res->out, &progress, &dirs, err)) <
			    0 ||
		    (r = drain(c, ch, SSH_EXTENDED_DATA_STDERR, &res->errout,
			       &progress, &dirs, err)) < 0)
			return r;

		/* eof() is false while data is still queued for us */
		if (libssh2_channel_eof(ch) == 1) {
			if (f.eof_sent)
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
		if ((r = hp_ssh_wait(c, dirs, deadline, err)) < 0)
			return r;
	}
}

/*
 * The command line the host runs for cmd, into full, and the deadline past
 * which we give up on the host (0: none).
 *
 * The login shell may be anything; the contract says /bin/sh. timeout(1)
 * stops the command, and everything it started in its process group, on
 * the host: closing our channel would leave it running (holding the dpkg
 * lock, say). Our own deadline, later, is for a host or network that
 * stopped answering.
 */
static int64_t command_line(const struct ssh_conn *c, const char *cmd,
			    int timeout_s, struct hp_buf *full)
{
	int64_t deadline = 0;

	if (c->sudo)
		hp_buf_adds(full, "sudo -n ");
	if (timeout_s > 0) {
		hp_buf_addf(full, "timeout -k %d %d ", KILL_AFTER_S, timeout_s);
		deadline = hp_ssh_deadline(timeout_s + KILL_AFTER_S +
					   NETWORK_SLACK_S);
	}
	hp_buf_adds(full, "/bin/sh -c ");
	hp_shell_quote(full, cmd);
	return deadline;
}

/* Open a channel (*out, which the caller frees, also after an error) and
 * start the command line full on it. */
static int channel_start(struct ssh_conn *c, const char *full, int64_t deadline,
			 LIBSSH2_CHANNEL **out, struct hp_err *err)
{
	LIBSSH2_CHANNEL *ch;
	int rc, r;

	while (!(ch = libssh2_channel_open_session(c->session))) {
		rc = libssh2_session_last_errno(c->session);
		if (rc != LIBSSH2_ERROR_EAGAIN)
			return hp_ssh_lib_fail(c, rc, err,
					       "cannot open a channel to %s",
					       c->where);
		if ((r = hp_ssh_wait(
			     c, libssh2_session_block_directions(c->session),
			     deadline, err)) < 0)
			return r;
	}
	*out = ch;
	while ((rc = libssh2_channel_exec(ch, full)) == LIBSSH2_ERROR_EAGAIN) {
		if ((r = hp_ssh_wait(
			     c, libssh2_session_block_directions(c->session),
			     deadline, err)) < 0)
			return r;
	}
	if (rc)
		return hp_ssh_lib_fail(
			c, rc, err, "cannot start a command on %s", c->where);
	return 0;
}

/* After the command's output: wait for the peer's close, then put how
 * the command ended into res->exit_code (-1: killed by a signal). */
static int channel_finish(struct ssh_conn *c, LIBSSH2_CHANNEL *ch,
			  int64_t deadline, struct hp_exec_result *res,
			  struct hp_err *err)
{
	char *signame = NULL;
	int rc, r;

	/* exit-status comes before the peer's close: wait for the close */
	while ((rc = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN) {
		if ((r = hp_ssh_wait(
			     c, libssh2_session_block_directions(c->session),
			     deadline, err)) < 0)
			return r;
	}
	while (rc == 0 &&
	       (rc = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN) {
		if ((r = hp_ssh_wait(
			     c, libssh2_session_block_directions(c->session),
			     deadline, err)) < 0)
			return r;
	}
	if (rc)
		return hp_ssh_lib_fail(
			c, rc, err, "cannot close the channel to %s", c->where);
	libssh2_channel_get_exit_signal(ch, &signame, NULL, NULL, NULL, NULL,
					NULL);
	if (signame) {
		hp_debug("%s: command killed by SIG%s", c->host, signame);
		res->exit_code = -1;
	} else {
		res->exit_code = libssh2_channel_get_exit_status(ch);
	}
	libssh2_free(c->session, signame);
	return 0;
}

/* --verbose --verbose: each command's time and its start (commands never
 * carry secrets; they come on stdin) */
static void exec_debug(const struct ssh_conn *c, const char *cmd,
		       int64_t start, int r)
{
	struct hp_buf b = HP_BUF_INIT;

	hp_buf_add_printable(&b, cmd, strlen(cmd), 72);
	hp_debug("%s: %lld ms (%d): %s", c->host,
		 (long long)(hp_now_ms() - start), r, b.buf);
	hp_buf_release(&b);
}

static int ssh_exec(void *ctx, const char *cmd, const void *stdin_data,
		    size_t stdin_len, int timeout_s, struct hp_exec_result *res,
		    struct hp_err *err)
{
	struct ssh_conn *c = ctx;
	struct hp_buf full = HP_BUF_INIT;
	LIBSSH2_CHANNEL *ch = NULL;
	int64_t start = hp_now_ms(), deadline;
	int r;

	if (c->broken)
		return hp_ssh_lost(c, err);
	res->exit_code = -1;
	if (!res->out.max)
		res->out.max = HP_EXEC_OUTPUT_MAX;
	if (!res->errout.max)
		res->errout.max = HP_EXEC_OUTPUT_MAX;
	deadline = command_line(c, cmd, timeout_s, &full);

	/* due now and then: keeps NAT state for idle sessions alive */
	libssh2_keepalive_send(c->session, NULL);

	if ((r = channel_start(c, full.buf, deadline, &ch, err)) < 0 ||
	    (r = pump(c, ch, stdin_data, stdin_data ? stdin_len : 0, res,
		      deadline, err)) < 0 ||
	    (r = channel_finish(c, ch, deadline, res, err)) < 0)
		goto out;
	/* timeout(1)'s "stopped it" (124, or 128+KILL after -k); a command
	 * that exits 124 by itself before the deadline is not mistaken */
	if (timeout_s > 0 &&
	    (res->exit_code == 124 || res->exit_code == 128 + 9) &&
	    hp_now_ms() - start >= (int64_t)timeout_s * 1000 - 50)
		r = HP_ETIMEOUT;
out:
	if (r == HP_ETIMEOUT)
		hp_ssh_fail(c, err, HP_ETIMEOUT,
			    "command on %s did not finish within %d s: %.80s%s",
			    c->where, timeout_s, cmd,
			    strlen(cmd) > 80 ? "..." : "");
	if (ch)
		channel_free(c, ch);
	hp_buf_release(&full);
	if (hp_log_get_level() >= HP_LOG_DEBUG)
		exec_debug(c, cmd, start, r);
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

/*
 * The temporary name put writes to before the rename, into tmp: the same
 * directory (rename is atomic only within a file system), a leading dot
 * (no "*.conf" glob in conf.d picks it up), and a random suffix: parallel
 * runs never share it.
 */
static int temp_name(struct ssh_conn *c, const char *path, struct hp_buf *tmp,
		     struct hp_err *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	size_t i, blen = strlen(base);
	unsigned char rnd[8];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return hp_ssh_fail(c, err, HP_EIO, "cannot get random bytes");
	hp_buf_add(tmp, path, (size_t)(base - path));
	hp_buf_addf(tmp, ".%.*s.haprov-tmp.", (int)(blen > 200 ? 200 : blen),
		    base);
	for (i = 0; i < sizeof(rnd); i++)
		hp_buf_addf(tmp, "%02x", rnd[i]);
	return 0;
}

static int ssh_put(void *ctx, const char *path, const void *data, size_t len,
		   unsigned mode, const char *owner, const char *group,
		   struct hp_err *err)
{
	struct ssh_conn *c = ctx;
	struct hp_exec_result res;
	struct hp_buf cmd = HP_BUF_INIT, tmp = HP_BUF_INIT;
	const char *slash = strrchr(path, '/');
	int r;

	hp_exec_result_init(&res);
	if (!*(slash ? slash + 1 : path) || mode > 07777) {
		r = hp_ssh_fail(
			c, err, HP_EINVALID,
			"cannot write '%s': not a file name, or mode %o", path,
			mode);
		goto out;
	}
	if ((r = temp_name(c, path, &tmp, err)) < 0)
		goto out;

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
		r = hp_ssh_fail(c, err, HP_EREMOTE,
				"cannot write '%s' on %s: %s", path, c->host,
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
		r = hp_ssh_fail(c, err, HP_ENOTFOUND,
				"'%s' does not exist on %s", path, c->host);
		goto out;
	}
	if (res.exit_code != 0) {
		r = hp_ssh_fail(c, err, HP_EREMOTE,
				"cannot read '%s' on %s: %s", path, c->host,
				first_line(&res.errout, "the command failed"));
		goto out;
	}
	if ((r = hp_buf_add(out, res.out.buf, res.out.len)) < 0)
		hp_ssh_fail(c, err, r, "'%s' on %s is larger than %zu bytes",
			    path, c->host, out->max);
out:
	hp_exec_result_release(&res);
	hp_buf_release(&cmd);
	return r;
}

static void ssh_close(void *ctx)
{
	hp_ssh_conn_free(ctx);
}

const struct hp_transport_ops hp_ssh_ops = {
	.exec = ssh_exec,
	.put = ssh_put,
	.get = ssh_get,
	.close = ssh_close,
};
