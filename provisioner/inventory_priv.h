#ifndef HP_INVENTORY_PRIV_H
#define HP_INVENTORY_PRIV_H
/*
 * Inside the inventory loader, shared by its files: inventory.c (the walk
 * of the YAML document against the schema, loading), inventory_schema.c
 * (the table), inventory_print.c (printing, freeing), inventory_diag.c
 * (diagnostics, marks), inventory_check.c (defaults, cross-field checks)
 * and inventory_syntax.c (value syntax). Not an API: nothing else includes
 * it but the inventory's unit test.
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

/* Append a diagnostic; it takes msg (allocated). For problems found
 * before a loader exists (the file cannot be read). */
void hp_inv_diags_add(struct hp_diags *d, int line, int col, const char *path,
		      bool warning, char *msg);
/* Stable sort of d->items[from..] by position. */
void hp_inv_diags_sort(struct hp_diags *d, size_t from);
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

/* ---- the schema (inventory_schema.c) ------------------------------------ */

enum hp_inv_ftype {
	T_INT,	   /* int, [min, max] */
	T_LLONG,   /* long long, [min, max] */
	T_BOOL,	   /* true/false, yes/no, on/off */
	T_STR,	   /* string checked by valid() */
	T_LPATH,   /* local path: ~/ and relative paths resolved */
	T_RPATH,   /* absolute path on the hosts */
	T_STRLIST, /* list of strings, each checked by valid() */
	T_KVLIST,  /* PostgreSQL parameters */
	T_ROLES,   /* list of host roles -> HP_ROLE_* bits */
	T_MAP,	   /* nested section at base + off */
	T_MAPLIST, /* list of sections, through list ops */
};

#define F_REQ	   1u /* must be present */
#define F_NULL	   2u /* an empty value means unset (NULL) */
#define F_PGVAL	   4u /* a PostgreSQL value: printed as written */
#define F_NONEMPTY 8u /* a list that needs at least one item */

struct hp_inv_section;

/* How to grow and read one list of structs (hosts, roles, databases). */
struct hp_inv_list_ops {
	void *(*push)(void *base, int line); /* a zeroed new item */
	size_t (*count)(const void *base);
	const void *(*citem)(const void *base, size_t i);
	void *(*item)(void *base, size_t i);
	void (*release)(void *base); /* free the array, items already freed */
	const char *noun;	     /* "host": "expected at least one host" */
};

struct hp_inv_field {
	const char *key;
	enum hp_inv_ftype type;
	unsigned flags;
	size_t off; /* of the value in the section's struct */
	long long min, max;
	bool (*valid)(const char *s);
	const char *what; /* what valid() accepts, for messages */
	const struct hp_inv_section *sub;
	const struct hp_inv_list_ops *list;
};

struct hp_inv_section {
	const struct hp_inv_field *fields;
	size_t nr;
};

/* The top level of the inventory: cluster, ssh, hosts, ... */
extern const struct hp_inv_section hp_inv_top_sec;

/* ---- value syntax (inventory_syntax.c) ---------------------------------- */

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

/* AF_INET or AF_INET6 with the address in buf, or 0: not an IP literal. */
int hp_inv_ip_family(const char *s, unsigned char buf[16]);
/* A PostgreSQL size in kB; bare numbers are in default_unit_kb units. */
bool hp_inv_parse_pg_size(const char *s, long long default_unit_kb,
			  long long *kb);
/* pglz, lz4 or zstd (PostgreSQL 15 and later), in any case. */
bool hp_inv_is_wal_method(const char *s);

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
