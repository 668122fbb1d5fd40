#ifndef HP_SECRETS_H
#define HP_SECRETS_H
/*
 * The local secret store: a directory (inventory secrets.store, mode 0700)
 * holding one file per secret (mode 0600), generated the first time a
 * phase needs it. Values never leave this module except to be written to
 * a host's 0600 file over stdin or sent as HTTP basic auth; they are never
 * logged, diffed, committed or put in a command line.
 *
 * Versioning: when a value is replaced, the previous one is kept as
 * "<name>.<UTC time>" so a rollback can bring it back.
 */
#include <stddef.h>

#include "util.h"

/*
 * Return the value of secret `name` in *out (the caller frees it, after
 * clearing it with hp_secret_free), generating a random alphanumeric value
 * of `length` characters and storing it when it does not exist yet.
 * name: [a-z0-9_-]+.
 */
int hp_secret_get(char **out, const char *store, const char *name,
		  size_t length, struct hp_err *err);

/*
 * Read secret `name` into *out (free with hp_secret_free) without ever
 * creating it: HP_ENOTFOUND when the store has no such secret.
 */
int hp_secret_read(char **out, const char *store, const char *name,
		   struct hp_err *err);

/* Zero and free a secret value. NULL-safe. */
void hp_secret_free(char *s);

/* Fill buf (len bytes) with random alphanumeric characters. */
int hp_secret_random(char *buf, size_t len, struct hp_err *err);

#endif
