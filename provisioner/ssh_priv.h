#ifndef HP_SSH_PRIV_H
#define HP_SSH_PRIV_H
/*
 * What ssh.c (connecting, host keys, authentication) and ssh_channel.c
 * (exec, put, get) share. Not an API: ssh.h is.
 */
#include <stdbool.h>
#include <stdint.h>

#include <libssh2.h>

#include "ssh.h"

/* See transport.c: the same cap, for results the caller did not init. */
#ifndef HP_EXEC_OUTPUT_MAX
#define HP_EXEC_OUTPUT_MAX ((size_t)16 * 1024 * 1024)
#endif

/* Enough to tell the peer we are going; a dead peer must not hold us. */
#define CLOSE_GRACE_MS 2000

/* One host's connection: the ctx of its struct hp_transport. */
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

/* hp_err_set plus the host name, which every error here is about. */
int hp_ssh_fail(struct ssh_conn *c, struct hp_err *err, int code,
		const char *fmt, ...) HP_PRINTF(4, 5);
/* Report libssh2 error rc as "<what>: <libssh2's message>", with our code
 * for it; marks the session broken when rc means it is. */
int hp_ssh_lib_fail(struct ssh_conn *c, int rc, struct hp_err *err,
		    const char *fmt, ...) HP_PRINTF(4, 5);
/* Whether libssh2 error rc leaves the byte stream out of step or gone. */
bool hp_ssh_breaks_session(int rc);
/* The error for a session an earlier failure broke. */
int hp_ssh_lost(struct ssh_conn *c, struct hp_err *err);

/*
 * Wait until the socket can move data in the directions libssh2 said it
 * was blocked on (dirs, LIBSSH2_SESSION_BLOCK_*), or until deadline (ms on
 * hp_now_ms's clock; 0: none). Waits at most a second, so callers recheck
 * their state even if libssh2 buffered data without telling us.
 */
int hp_ssh_wait(struct ssh_conn *c, int dirs, int64_t deadline,
		struct hp_err *err);
/* hp_now_ms() + timeout_s, or 0 (no deadline) when timeout_s <= 0. */
int64_t hp_ssh_deadline(int timeout_s);

/* Disconnect (within CLOSE_GRACE_MS) and free c; NULL is fine. */
void hp_ssh_conn_free(struct ssh_conn *c);

/* exec, put, get and close on a struct ssh_conn (ssh_channel.c). */
extern const struct hp_transport_ops hp_ssh_ops;

#endif
