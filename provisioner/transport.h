#ifndef HP_TRANSPORT_H
#define HP_TRANSPORT_H
/*
 * The seam between the engine and a host. The engine talks to hosts only
 * through this ops table: the SSH implementation (ssh.c) is one, a scripted
 * fake for unit tests (tests/unit/fake_transport.h) is another. That is how
 * a unit test makes step 7 of 9 fail and checks what the engine does next.
 *
 * A transport belongs to one thread at a time (libssh2 sessions do).
 */
#include <stddef.h>

#include "util.h"

/* Output of one remote command. out/errout are capped (hp_buf max). */
struct hp_exec_result {
	int exit_code; /* the remote command's exit status; -1 if killed */
	struct hp_buf out;
	struct hp_buf errout;
};
void hp_exec_result_init(struct hp_exec_result *r);
void hp_exec_result_release(struct hp_exec_result *r);

struct hp_transport_ops {
	/*
	 * Run cmd with /bin/sh on the host (as root: the transport adds sudo
	 * for a non-root user). stdin_data (may be NULL) is written to the
	 * command's standard input, then EOF: secrets travel this way, never
	 * in cmd. Returns 0 when the command ran (whatever its exit code,
	 * which is in res), or a negative HP_E* code when it could not be run
	 * or timed out (HP_ETIMEOUT after timeout_s seconds).
	 */
	int (*exec)(void *ctx, const char *cmd, const void *stdin_data,
		    size_t stdin_len, int timeout_s,
		    struct hp_exec_result *res, struct hp_err *err);
	/*
	 * Write data to path atomically: a temporary name in the same
	 * directory, chmod/chown, then rename. owner/group may be NULL
	 * (root). Never leaves a half-written file at path.
	 */
	int (*put)(void *ctx, const char *path, const void *data, size_t len,
		   unsigned mode, const char *owner, const char *group,
		   struct hp_err *err);
	/* Read a whole remote file into out (appends). HP_ENOTFOUND if it
	 * does not exist. */
	int (*get)(void *ctx, const char *path, struct hp_buf *out,
		   struct hp_err *err);
	/* Close and free ctx. */
	void (*close)(void *ctx);
};

struct hp_transport {
	const struct hp_transport_ops *ops;
	void *ctx;
	char host[64]; /* inventory name, for messages */
};

#endif
