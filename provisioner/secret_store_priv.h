#ifndef HP_SECRET_STORE_PRIV_H
#define HP_SECRET_STORE_PRIV_H
/* Shared by secret_store.c and secret_versions.c only. */
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* <store>/versions/<name>/<sha256 hex>: see secret_store.h */
#define HP_SECRET_VERSIONS_DIR "versions"

/* [a-z0-9_-]+, and not "versions". */
bool hp_secret_name_ok(const char *name);

/* A store-like directory (the store, versions/, versions/<name>/): not a
 * link, a directory, ours, mode without group/other bits. "what" names
 * it in messages. HP_ENOTFOUND when missing. */
int hp_secret_check_dir(const char *path, const char *what,
			struct hp_err *err);

/* mkdir 0700 (an existing one is fine), then hp_secret_check_dir. */
int hp_secret_mkdir(const char *path, const char *what, struct hp_err *err);

/* Read the secret file at path (checked as hp_secret_read checks the
 * current file); name and store for messages. HP_ENOTFOUND if missing. */
int hp_secret_read_file(char **out, const char *path, const char *name,
			const char *store, struct hp_err *err);

/* Write val (len bytes) to a temporary 0600 file beside path (O_EXCL,
 * O_NOFOLLOW), fsync it, then put it at path: link(2) when !replace
 * (fails if path exists: HP_EINVALID), rename(2) when replace; then fsync
 * dir. A killed run leaves at most a "<path>.new-XXXX" file behind. */
int hp_secret_write_file(const char *dir, const char *path, const char *val,
			 size_t len, bool replace, struct hp_err *err);

void hp_secret_sync_dir(const char *dir);

#endif
