#ifndef HP_SECRET_STORE_H
#define HP_SECRET_STORE_H
/*
 * The local secret store: a directory (inventory secrets.store, mode 0700,
 * owned by the user running haprov) holding one file per secret (mode
 * 0600, same owner). Values never leave this module except to be written
 * to a host's 0600 file over stdin or sent as HTTP basic auth; they are
 * never logged, diffed, committed or put in a command line.
 *
 * Like OpenSSH with a private key, haprov never repairs a store it finds
 * unsafe: a store or secret file that others can read, that is owned by
 * someone else, or that is a symbolic link is refused with the reason,
 * and nothing is changed. The store is never created here by accident:
 * reading does not create, and creating a secret (hp_secret_create) is an
 * explicit decision of the caller (see bootstrap.h for when haprov makes
 * it).
 *
 * Versions. Every value a secret has had (created, staged, or current
 * before a promotion) is also kept, by the sha256 of its value (the one
 * line, without the newline), in its own file:
 *
 *   <store>/<name>                          the current value
 *   <store>/versions/<name>/<sha256 hex>    each version (dirs 0700)
 *
 * A rollback point records only the hashes (bootstrap.h), so that a
 * rollback can bring back the values it used. A store made before versions
 * existed keeps working: its current values are recorded as versions when
 * they are first needed (hp_secret_keep_version, hp_secret_stage,
 * hp_secret_promote). Every file is written under a temporary name
 * ("<path>.new-XXXXXXXXXXXX", O_EXCL|O_NOFOLLOW, 0600), synced, then
 * linked (a version, a first value) or renamed (a promotion) into place:
 * a run killed midway leaves no half-written file at a real name. A
 * version file whose value does not hash to its name is refused, naming
 * the file, never used.
 */
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Largest secret file accepted (a generated one is far smaller). */
#define HP_SECRET_MAX 4096

/*
 * Check the store directory without changing anything: HP_ENOTFOUND when
 * it does not exist; HP_EINVALID, naming the path, its mode (octal) and its
 * owner, when it is a symbolic link, not a directory, owned by another
 * user, or accessible by group or others ("permissions 0755 for '...' are
 * too open").
 */
int hp_secret_store_check(const char *store, struct hp_err *err);

/*
 * Create the store: its missing parents (mode 0700) and the store itself
 * (mode 0700, without following a symbolic link), then check it as
 * hp_secret_store_check does. An existing safe store is fine.
 */
int hp_secret_store_create(const char *store, struct hp_err *err);

/*
 * Read secret `name` into *out (free with hp_secret_free) without ever
 * creating anything. The store is checked first; the file is opened
 * without following a symbolic link and must be a regular file owned by
 * this user with no group or other permission bits, at most HP_SECRET_MAX
 * bytes, one line of printable characters (a trailing newline is dropped).
 * HP_ENOTFOUND when the store or the secret does not exist.
 * name: [a-z0-9_-]+, not "versions".
 */
int hp_secret_read(char **out, const char *store, const char *name,
		   struct hp_err *err);

/*
 * Generate a random alphanumeric value of `length` characters and store it
 * as secret `name` in the existing store (hp_secret_store_create first).
 * The file is created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600)
 * under a temporary name, written and synced, then hard-linked to its
 * name, which fails if the name exists by then: an existing secret, or
 * anything planted at its name, is never replaced or followed, and a run
 * killed midway never leaves a half-written secret behind. The value is
 * also recorded as the secret's first version. *out gets the value (free
 * with hp_secret_free).
 */
int hp_secret_create(char **out, const char *store, const char *name,
		     size_t length, struct hp_err *err);

/* The sha256 (lowercase hex) that names a version of value. */
void hp_secret_hash(const char *value, char out[65]);

/* hp_secret_read, and the current value's hash in sha256 ("" on error). */
int hp_secret_read_hashed(char **out, char sha256[65], const char *store,
			  const char *name, struct hp_err *err);

/*
 * Read version sha256 of secret name, checked as hp_secret_read checks the
 * current file, and against its hash. HP_ENOTFOUND (naming the store, the
 * secret and the hash) when the store has no such version; HP_EINVALID
 * naming the file when its value does not hash to its name (a corrupt
 * store). Never writes.
 */
int hp_secret_read_version(char **out, const char *store, const char *name,
			   const char *sha256, struct hp_err *err);

/*
 * Record value (NULL: the current value) as a version of name, if it is
 * not one yet: creates versions/ and versions/<name>/ (0700) as needed. An
 * existing version file is checked, not replaced. sha256 (may be NULL)
 * gets its hash.
 */
int hp_secret_keep_version(const char *store, const char *name,
			   const char *value, char sha256[65],
			   struct hp_err *err);

/*
 * Generate a new random value of `length` characters for name and keep it
 * as a version, NOT current (the current value, if any, is recorded as a
 * version too). *out gets the value (hp_secret_free), sha256 its hash.
 */
int hp_secret_stage(char **out, char sha256[65], const char *store,
		    const char *name, size_t length, struct hp_err *err);

/*
 * Make version sha256 of name current: the version is read and checked
 * first, the current value (if any) kept as a version, then a temporary
 * file is written, synced and renamed over <store>/<name>. Already
 * current: nothing is written.
 */
int hp_secret_promote(const char *store, const char *name,
		      const char *sha256, struct hp_err *err);

/* Zero and free a secret value. NULL-safe. */
void hp_secret_free(char *s);

/* Fill buf (len bytes) with random alphanumeric characters. */
int hp_secret_random(char *buf, size_t len, struct hp_err *err);

/*
 * Keep secrets out of core dumps and away from other processes of the same
 * user: RLIMIT_CORE 0 (soft and hard, so nothing below can raise it again)
 * and PR_SET_DUMPABLE 0 (no core, no ptrace attach, /proc/<pid>/mem not
 * readable by the user's other processes). Called once at the start of
 * main, before any secret is read.
 */
int hp_harden_process(struct hp_err *err);

#endif
