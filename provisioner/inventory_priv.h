#ifndef HP_INVENTORY_PRIV_H
#define HP_INVENTORY_PRIV_H
/*
 * Inside the inventory loader: shared by inventory.c (YAML, schema walk,
 * printing, freeing) and inventory_check.c (value syntax, defaults,
 * cross-field checks). Not an API: nothing outside those two files
 * includes it.
 */
#include <stdbool.h>
#include <stddef.h>

#include "inventory.h"

/*
 * Where a key was found and whether its value was usable. Every key the
 * walker accepts (and every list item) gets one, keyed by its full path
 * ("patroni.dcs.ttl", "hosts[1].name"). Defaults ask "was it set?"; cross
 * checks ask "did it parse?" and "where is it?" for their messages.
 */
struct hp_inv_mark {
	char *path;
	int kline, kcol; /* the key (the item itself for list items) */
	int vline, vcol; /* the value */
	bool bad;	 /* present, but a diagnostic was reported for it */
};

struct hp_inv_loader {
	struct hp_diags *diags;
	size_t first_diag; /* diagnostics before this one are the caller's */
	size_t errors;	   /* errors reported by this load */
	struct hp_inventory *inv;
	struct hp_inv_mark *marks;
	size_t nr_marks, alloc_marks;
	/* open addressing over marks, by path: index + 1, 0 = empty; a
	 * thousand-host inventory must not make every lookup a scan */
	size_t *slots;
	size_t nr_slots;	 /* a power of two, more than twice nr_marks */
	int root_line, root_col; /* the top-level mapping */
};

/* Record a diagnostic (line/col 1-based, path may be "" or NULL). */
void hp_inv_diag(struct hp_inv_loader *ld, int line, int col, const char *path,
		 bool warning, const char *fmt, ...) HP_PRINTF(6, 7);
/* Add or update the mark for path; returns it (borrowed). */
struct hp_inv_mark *hp_inv_mark_set(struct hp_inv_loader *ld, const char *path,
				    int kline, int kcol, int vline, int vcol,
				    bool bad);
/* The mark for path, or NULL (borrowed). */
const struct hp_inv_mark *hp_inv_mark_get(const struct hp_inv_loader *ld,
					  const char *path);
/* Present in the file and parsed without a diagnostic. */
bool hp_inv_was_set(const struct hp_inv_loader *ld, const char *path);
/* path, or a mapping or list holding it, had a diagnostic (or a required
 * key was missing): cross checks that need it must not run. */
bool hp_inv_is_bad(const struct hp_inv_loader *ld, const char *path);

/* A value shown in a message: double-quoted, escaped, shortened. */
struct hp_inv_quoted {
	char s[96];
};
const char *hp_inv_quote(struct hp_inv_quoted *q, const char *s);

/* ---- value syntax (inventory_check.c) ---------------------------------- */

bool hp_inv_valid_name(const char *s);
bool hp_inv_valid_user(const char *s);
bool hp_inv_valid_address(const char *s);
bool hp_inv_valid_token(const char *s);
bool hp_inv_valid_scope(const char *s);
bool hp_inv_valid_namespace(const char *s);
bool hp_inv_valid_pg_role(const char *s);
bool hp_inv_valid_pg_database(const char *s);
bool hp_inv_valid_apt_package(const char *s);
bool hp_inv_valid_library(const char *s);
bool hp_inv_valid_extension(const char *s);
bool hp_inv_valid_hba_line(const char *s);
bool hp_inv_valid_network(const char *s);
bool hp_inv_valid_device(const char *s);
bool hp_inv_valid_guc_name(const char *s);
bool hp_inv_valid_checkpoint_timeout(const char *s);
bool hp_inv_valid_fraction(const char *s);
bool hp_inv_valid_wal_size(const char *s);
bool hp_inv_valid_wal_buffers(const char *s);
bool hp_inv_valid_wal_compression(const char *s);

/* A key that would hold a password ("password", "app_passwd", ...). */
bool hp_inv_is_password_key(const char *key);

/* Absolute, lexically normalised ("a/./b/../c" -> "a/c"). The caller
 * frees the result. base must be absolute; rel may be absolute. */
char *hp_inv_path_join(const char *base, const char *rel);

/* ---- after the walk (inventory_check.c) --------------------------------- */

void hp_inventory_apply_defaults(struct hp_inventory *inv,
				 const struct hp_inv_loader *ld);
void hp_inv_cross_check(struct hp_inventory *inv, struct hp_inv_loader *ld);

#endif
