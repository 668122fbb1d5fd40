#ifndef HP_SSH_H
#define HP_SSH_H
/*
 * The SSH implementation of struct hp_transport (transport.h), on
 * libssh2. One session per host for the whole run; a session belongs to
 * one thread at a time (libssh2's rule), so the runner gives each host's
 * transport to one worker.
 *
 * libssh2_init() must have been called once, in main, before any thread
 * starts, and libssh2_exit() at the end (docs/style.md rule 6): this module
 * never calls either, because libssh2_init is not thread-safe and hosts
 * connect in parallel.
 *
 * Host keys are checked against an OpenSSH known_hosts file, the way ssh
 * with StrictHostKeyChecking=yes (or =accept-new) does; the policy is
 * knownhosts.h's:
 * - the host is looked up by its address as given ("10.0.0.5",
 *   "db1.example.com"), as "[address]:port" when the port is not 22;
 *   entries may list several names ("name,address") or be hashed
 *   (ssh-keygen -H);
 * - a matching key: connect;
 * - an unknown host: refused with HP_EHOSTKEY and the key's type and
 *   SHA256 fingerprint, unless accept_new_host_keys, which appends the key
 *   to the file (creating it, 0600, and its directory, 0700); with
 *   read_only as well (plan), the key is accepted for this connection only
 *   and the file is not touched;
 * - a known host whose key differs, or which offers a key of a type
 *   known_hosts has no entry for: refused with HP_EHOSTKEY ("has
 *   CHANGED"), always, even with accept_new_host_keys;
 * - the address may hold only letters, digits and ".-_:%" (it is written
 *   into known_hosts as it is): anything else is HP_EINVALID;
 * - a key listed under @revoked: refused.
 * The key types known_hosts has for the host are negotiated first, so a
 * host recorded with its ed25519 key is not asked for its ecdsa key.
 */
#include <stdbool.h>

#include "transport.h"

struct hp_ssh_opts {
	const char *address;	   /* IP literal or DNS name */
	int port;		   /* 0: 22 */
	const char *user;	   /* NULL: "root" */
	const char *identity_file; /* private key; NULL: use ssh-agent */
	const char *known_hosts;   /* path; required */
	bool accept_new_host_keys; /* add unknown keys; a changed key is
				      still refused */
	bool read_only;		   /* plan: never write known_hosts; an
				      unknown key accept_new_host_keys lets
				      in is trusted for this run only */
	bool sudo;		   /* run commands under "sudo -n" */
	int connect_timeout_s;	   /* TCP connect, handshake, auth; 0: 10 */
	int command_timeout_s;	   /* for put and get; 0: 600 */
};

/*
 * Connect to o->address, check the host key, authenticate. On success *out
 * is a transport whose ctx owns the session (out->ops->close frees it) and
 * out->host is host_name (the inventory name, used in messages). On
 * failure returns HP_ECONNECT (unreachable, refused, authentication),
 * HP_EHOSTKEY, HP_ETIMEOUT, HP_EIO (known_hosts or the identity file
 * cannot be read or written) or HP_EINVALID, with err->host = host_name,
 * and *out is untouched.
 *
 * exec runs cmd as "/bin/sh -c CMD" ("sudo -n /bin/sh -c CMD" with sudo),
 * so that it means the same whatever the user's login shell is, under
 * timeout(1) from coreutils when timeout_s > 0: at timeout_s the command's
 * whole process group gets SIGTERM (SIGKILL 5 s later) on the host, and
 * exec returns HP_ETIMEOUT; a closed channel alone would leave it running
 * there. A host that stops answering altogether gives HP_ETIMEOUT 15 s
 * after that, and the session is then unusable (HP_ECONNECT from then on).
 * put and get use command_timeout_s.
 *
 * Known_hosts features libssh2 lacks are not supported: host name
 * patterns ("*.example.com"), @cert-authority. RSA host keys are verified
 * only where libssh2 has rsa-sha2-256/512 (1.11 and later); with 1.10 a
 * host known only by its RSA key is refused with a message that says so.
 */
int hp_ssh_connect(struct hp_transport *out, const char *host_name,
		   const struct hp_ssh_opts *o, struct hp_err *err);

#endif
