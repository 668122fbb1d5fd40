#ifndef HP_KNOWNHOSTS_H
#define HP_KNOWNHOSTS_H
/*
 * The host key policy of the SSH transport (ssh.h), kept apart from the
 * connection code as OpenSSH keeps hostfile.c apart from sshconnect.c:
 * what an OpenSSH known_hosts file says about one host, and what to do
 * with the key that host offers. Only hp_known_hosts_load (reads the file)
 * and hp_known_hosts_append (writes it) touch the file system; the rest is
 * a decision on text and key blobs, which unit tests drive without an
 * sshd (tests/unit/test_knownhosts.c).
 *
 * The policy, as ssh with StrictHostKeyChecking=yes (or =accept-new):
 * - a key listed under @revoked is refused, for any host, always;
 * - the host's key as known_hosts has it: connect;
 * - a different key of the same type: refused ("has CHANGED"), always,
 *   accept_new or not;
 * - a host known_hosts lists only with keys of other types: refused as
 *   changed, always. OpenSSH takes a new key type for a known host only
 *   through UpdateHostKeys, signed by the key it already trusts, which
 *   libssh2 does not offer; a new type is therefore never accepted on
 *   trust, and the message says how to replace the entry;
 * - an unknown host: refused, unless accept_new: then added to the file,
 *   or, in a read-only run (plan), accepted for this run only and the
 *   file left as it is;
 * - "@cert-authority" lines are not host keys and never match.
 */
#include <stdbool.h>
#include <stddef.h>

#include <libssh2.h>

#include "util.h"

/* A host key type, as libssh2, known_hosts and OpenSSH's messages name it. */
struct hp_key_kind {
	int hostkey_type;    /* LIBSSH2_HOSTKEY_TYPE_* */
	int kh_bits;	     /* LIBSSH2_KNOWNHOST_KEY_* */
	const char *label;   /* as OpenSSH prints it: "ED25519 key ..." */
	const char *kh_name; /* the key type in a known_hosts line */
	const char *methods; /* hostkey algorithms; NULL: never negotiated */
};

/* How many key kinds there are (the size of known[] and usable[]). */
#define HP_NR_KEY_KINDS 6

/* The kind of a LIBSSH2_HOSTKEY_TYPE_*, or NULL. Static. */
const struct hp_key_kind *hp_key_kind_of(int hostkey_type);

/* What known_hosts says about the one host we connect to. */
struct hp_known_hosts {
	LIBSSH2_SESSION *session;    /* borrowed; owns kh and revoked */
	LIBSSH2_KNOWNHOSTS *kh;	     /* the host key entries */
	LIBSSH2_KNOWNHOSTS *revoked; /* the @revoked entries */
	char *name; /* as looked up: "addr", or "[addr]:port" */
	bool known[HP_NR_KEY_KINDS];  /* kh has a key of this kind for name */
	bool usable[HP_NR_KEY_KINDS]; /* libssh2 can negotiate this kind */
};

/*
 * Prepare k for the host at address:port. session is any libssh2 session
 * (libssh2 hangs its known-hosts store off one; it need not be connected)
 * and must outlive k. Release with hp_known_hosts_release.
 */
void hp_known_hosts_init(struct hp_known_hosts *k, LIBSSH2_SESSION *session,
			 const char *address, int port);
/* Free what k holds; safe on a zeroed or released struct. */
void hp_known_hosts_release(struct hp_known_hosts *k);

/*
 * Read the entries of an OpenSSH known_hosts file held in text (len
 * bytes), line by line, and then fill k->known and k->usable. Lines that
 * cannot be parsed (markers other than @revoked, key types libssh2 does
 * not know, garbage) are skipped, with a debug message naming path:line;
 * the entries after them still count.
 */
void hp_known_hosts_parse(struct hp_known_hosts *k, const char *text,
			  size_t len, const char *path);

/* hp_known_hosts_parse of the file at path; a missing file is an empty
 * one. HP_EIO when it cannot be read. */
int hp_known_hosts_load(struct hp_known_hosts *k, const char *path,
			struct hp_err *err);

/*
 * The host key algorithms to ask for, comma-separated, into out: the kinds
 * known_hosts has for the host first, then the rest, in OpenSSH's order,
 * each only if libssh2 can negotiate it. Without this libssh2 prefers
 * ECDSA, and a host recorded (by ssh) with its ed25519 key would look
 * changed.
 */
void hp_known_hosts_prefs(const struct hp_known_hosts *k, struct hp_buf *out);

enum hp_hostkey_verdict {
	HP_HOSTKEY_MATCH,	 /* the key known_hosts has: connect */
	HP_HOSTKEY_ADD,		 /* unknown, accept_new: append, connect */
	HP_HOSTKEY_ACCEPT_ONCE,	 /* unknown, accept_new, read-only run:
				    connect, write nothing */
	HP_HOSTKEY_REVOKED,	 /* refused: listed under @revoked */
	HP_HOSTKEY_CHANGED,	 /* refused: another key of this type */
	HP_HOSTKEY_OTHER_TYPE,	 /* refused: known by other types only */
	HP_HOSTKEY_UNVERIFIABLE, /* refused: known only by types this
				    libssh2 cannot check */
	HP_HOSTKEY_UNKNOWN,	 /* refused: not known, no accept_new */
	HP_HOSTKEY_ERROR,	 /* refused: the key or the lookup failed */
};

struct hp_hostkey_policy {
	bool accept_new;	 /* --accept-new-host-keys */
	bool read_only;		 /* plan: never write known_hosts */
	const char *host;	 /* inventory name, for messages */
	const char *where;	 /* "user@addr:port", for messages */
	const char *known_hosts; /* the file's path, for messages */
};

/*
 * Judge the key the host offered (key: the raw blob of len bytes from
 * libssh2_session_hostkey, type: LIBSSH2_HOSTKEY_TYPE_*). Every refusal
 * sets err (HP_EHOSTKEY, naming the host, the key's type and SHA256
 * fingerprint, and what to do) without err->host; MATCH, ADD and
 * ACCEPT_ONCE leave err alone.
 */
enum hp_hostkey_verdict hp_known_hosts_check(const struct hp_known_hosts *k,
					     const char *key, size_t len,
					     int type,
					     const struct hp_hostkey_policy *p,
					     struct hp_err *err);

/* Whether a verdict lets the connection go on. */
bool hp_hostkey_accepted(enum hp_hostkey_verdict v);

/*
 * "SHA256:<unpadded base64>" of a raw key blob, as ssh and ssh-keygen -l
 * print it, into out.
 */
void hp_key_fingerprint(const char *key, size_t len, char out[64]);

/*
 * Append "name keytype base64" to known_hosts at path with one write() on
 * an O_APPEND descriptor, creating the file (0600) and its directory
 * (0700) if needed: hosts accepted in parallel do not clobber each other,
 * and the operator's comments and layout stay as they were. The type name
 * comes from kind, never from the (server-sent) blob. HP_EIO on failure.
 */
int hp_known_hosts_append(const char *path, const char *name,
			  const struct hp_key_kind *kind, const char *key,
			  size_t len, struct hp_err *err);

#endif
