#ifndef HP_INVENTORY_PRIV_H
#define HP_INVENTORY_PRIV_H
/*
 * Inside the inventory loader, shared by its files:
 *
 *   inventory_yaml.c      the YAML text into a document, with limits
 *   inventory.c           the walk of the document against the schema
 *   inventory_values.c    typed values out of YAML nodes
 *   inventory_schema.c    the table of every key
 *   inventory_syntax.c    value syntax (names, networks, paths, units)
 *   inventory_hba.c       pg_hba lines and allowed_networks
 *   inventory_defaults.c  every default
 *   inventory_preset.c    patroni.dcs.preset: its table of values
 *   inventory_drill.c     the drill section's checks
 *   inventory_check.c     checks across keys
 *   inventory_diag.c      diagnostics and marks
 *   inventory_index.c     a string index for the duplicate checks
 *   inventory_print.c     printing and freeing
 *
 * Not an API: nothing else includes it but the inventory's unit tests.
 */
#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "inventory.h"

/*
 * Where a key was found and whether its value was usable. Every key the
 * walker accepts (and every list item) gets one, keyed by its full path
 * ("patroni.dcs.ttl", "hosts[1].name"). Defaults ask "was it set?"; cross
 * checks ask "did it parse?" and "where is it?" for their messages.
 */
struct hp_inv_mark {
	char *path;
	size_t hash;	 /* hp_inv_hash of path */
	int kline, kcol; /* the key (the item itself for list items) */
	int vline, vcol; /* the value */
	bool bad;	 /* present, but a diagnostic was reported for it */
};

struct hp_inv_loader {
	struct hp_diags *diags;
	size_t first_diag; /* diagnostics before this one are the caller's */
	size_t errors;	   /* errors reported by this load */
	/* once diagnostics were dropped: those at or after this position
	 * are only counted (see HP_INV_DIAGS_KEEP) */
	bool cut;
	int cut_line, cut_col;
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
/* A diagnostic at path's mark (its key, or its value), the top mapping
 * when path was not written; hp_inv_diag_key: an error at its key. */
void hp_inv_diag_path(struct hp_inv_loader *ld, const char *path, bool value,
		      bool warning, const char *fmt, ...) HP_PRINTF(5, 6);
#define hp_inv_diag_key(ld, path, ...)                                         \
	hp_inv_diag_path((ld), (path), false, false, __VA_ARGS__)
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
/* The UTF-8 character at s (not at its end): its length in bytes, and its
 * code point in *cp (U+FFFD and length 1 for a broken sequence). */
size_t hp_inv_utf8_char(const char *s, unsigned *cp);
/* How code point cp is shown in a message, or NULL when as itself:
 * control characters as \xNN, C1 controls and U+2028/U+2029 as \uNNNN
 * (a terminal or a YAML reader may take them for a new line). */
const char *hp_inv_char_escape(unsigned cp, char buf[12]);
/* A line break for some reader: \n, \r, NEL (U+0085), U+2028, U+2029.
 * YAML 1.1 and Patroni's reader take all five as a new line. */
bool hp_inv_is_line_break(unsigned cp);
/* A code point no one-line value may hold: a line break, or a C0 or C1
 * control character or DEL other than tab. */
bool hp_inv_is_ctl(unsigned cp);

/* Diagnostics a load keeps (the first, by position); the others are only
 * counted, in diags->nr_dropped (and nr_errors). */
#define HP_INV_DIAGS_KEEP ((size_t)1000)

/* ---- reading YAML with limits (inventory_yaml.c) ------------------------ */

/* Limits no inventory comes near; past one, reading stops with a
 * diagnostic at the place, before libyaml's cost grows (see
 * inventory_yaml.c). A real inventory nests four collections deep, and
 * one of 4,000 hosts holds about 40,000 values. */
#define HP_INV_MAX_DEPTH 64
#define HP_INV_MAX_NODES 100000
/* Aliases may add at most the document's own values plus this many. */
#define HP_INV_ALIAS_SLACK 10000

/*
 * Parse yaml[0..len) into doc, which is always initialised (the caller
 * deletes it). Every problem is a diagnostic of ld. true when doc holds a
 * whole first document (node 1 is its root; no node when the text holds
 * none), even if a problem after it was reported.
 */
bool hp_inv_yaml_read(struct hp_inv_loader *ld, yaml_document_t *doc,
		      const char *yaml, size_t len);
/* 1-based line and column of a libyaml mark. */
int hp_inv_mark_line(const yaml_mark_t *m);
int hp_inv_mark_col(const yaml_mark_t *m);

/* ---- a string index (inventory_index.c) --------------------------------- */

struct hp_inv_index_slot {
	char *key; /* a copy; NULL: empty */
	size_t len;
	size_t value;
};
struct hp_inv_index {
	struct hp_inv_index_slot *slots;
	size_t nr, nr_slots; /* nr_slots: 0 or a power of two */
};
#define HP_INV_INDEX_INIT                                                      \
	{                                                                      \
		NULL, 0, 0                                                     \
	}

/* A hash of s[0..n): FNV-1a, finalised. */
size_t hp_inv_hash(const char *s, size_t n);
/* Add key with value, or, when key is there already, leave it: then
 * return true. *first is the value key has in x afterwards. */
bool hp_inv_index_add(struct hp_inv_index *x, const char *key, size_t value,
		      size_t *first);
/* When key is in x: true, with its value in *value. */
bool hp_inv_index_get(const struct hp_inv_index *x, const char *key,
		      size_t *value);
void hp_inv_index_release(struct hp_inv_index *x);

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

#define F_REQ	   1u  /* must be present */
#define F_NULL	   2u  /* an empty value means unset (NULL) */
#define F_PGVAL	   4u  /* a PostgreSQL value: printed as written */
#define F_NONEMPTY 8u  /* a list that needs at least one item */
#define F_PORT	   16u /* a TCP port a service listens on (collision check) */
#define F_OWNED	   32u /* a remote directory haprov owns (chown, chmod) */
#define F_SCALAR   64u /* a MAPLIST item, or a MAP, may be a scalar: the
			  value of its first key */

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
	/* instead of valid(): says why (see hp_inv_check_hba_line) */
	bool (*check)(const char *s, struct hp_buf *why);
	const char *what; /* what valid() accepts, for messages; for
			     F_OWNED paths, an example of a good one */
	const struct hp_inv_section *sub;
	const struct hp_inv_list_ops *list;
};

struct hp_inv_section {
	const struct hp_inv_field *fields;
	size_t nr;
};

/* The top level of the inventory: cluster, ssh, hosts, ... */
extern const struct hp_inv_section hp_inv_top_sec;

/* Every key of the schema as a path, in table order: "cluster",
 * "cluster.name", "hosts", "hosts[].name", ...; the keys of ports
 * (F_PORT) also into ports when not NULL. For tests that must cover every
 * key, so a key added to the table is covered too. */
void hp_inv_schema_keys(struct hp_strlist *keys, struct hp_strlist *ports);

/* ---- typed values out of YAML nodes (inventory_values.c) ---------------- */

/* The walk of one document: where diagnostics and marks go. */
struct hp_inv_walk {
	struct hp_inv_loader *ld;
	yaml_document_t *doc;
};

/* A diagnostic (an error) at node n. */
void hp_inv_diag_node(struct hp_inv_walk *w, const yaml_node_t *n,
		      const char *path, const char *fmt, ...) HP_PRINTF(4, 5);
/* The mark of path: key k, value v. */
void hp_inv_mark_node(struct hp_inv_walk *w, const char *path,
		      const yaml_node_t *k, const yaml_node_t *v, bool bad);
/* Node id of the document (borrowed). */
yaml_node_t *hp_inv_node(struct hp_inv_walk *w, int id);
/* An empty value: "key:", "key: ~", "key: null". Quoted "" is a string. */
bool hp_inv_is_null(const yaml_node_t *n);
/* The text of a non-empty scalar, or NULL (borrowed). */
const char *hp_inv_text(const yaml_node_t *n);
/* For "got ...": a mapping, a list, an empty value, or the quoted text. */
const char *hp_inv_got(struct hp_inv_quoted *q, const yaml_node_t *n);
/* A scalar with a NUL inside. */
bool hp_inv_has_nul(const yaml_node_t *n);
/* "parent.key", or "key" at the top; the caller frees it. */
char *hp_inv_key_path(const char *parent, const char *key);
/* s holds a line break (\n, \r, NEL, U+2028, U+2029) or another control
 * character but tab: the first is in *cp. */
bool hp_inv_bad_char(const char *s, unsigned *cp);

/* The getters: the value of v for field f at path into *out. */
bool hp_inv_get_integer(struct hp_inv_walk *w, const char *path,
			const yaml_node_t *v, long long min, long long max,
			long long *out);
bool hp_inv_get_bool(struct hp_inv_walk *w, const char *path,
		     const yaml_node_t *v, bool *out);
bool hp_inv_get_checked_string(struct hp_inv_walk *w,
			       const struct hp_inv_field *f, const char *path,
			       const yaml_node_t *v, char **out);
bool hp_inv_get_local_path(struct hp_inv_walk *w, const struct hp_inv_field *f,
			   const char *path, const yaml_node_t *v, char **out);
bool hp_inv_get_remote_path(struct hp_inv_walk *w, const struct hp_inv_field *f,
			    const char *path, const yaml_node_t *v, char **out);
bool hp_inv_get_strlist(struct hp_inv_walk *w, const struct hp_inv_field *f,
			const char *path, const yaml_node_t *v,
			struct hp_strlist *l);

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
bool hp_inv_valid_network(const char *s);
bool hp_inv_valid_device(const char *s);
bool hp_inv_valid_guc_name(const char *s);
bool hp_inv_valid_checkpoint_timeout(const char *s);
bool hp_inv_valid_fraction(const char *s);
bool hp_inv_valid_wal_size(const char *s);
bool hp_inv_valid_wal_buffers(const char *s);
bool hp_inv_valid_wal_compression(const char *s);
bool hp_inv_valid_environment(const char *s);
bool hp_inv_valid_pool_mode(const char *s);

/* AF_INET or AF_INET6 with the address in buf, or 0: not an IP literal. */
int hp_inv_ip_family(const char *s, unsigned char buf[16]);
/* A PostgreSQL size in kB; bare numbers are in default_unit_kb units. */
bool hp_inv_parse_pg_size(const char *s, long long default_unit_kb,
			  long long *kb);
/* pglz, lz4 or zstd (PostgreSQL 15 and later), in any case. */
bool hp_inv_is_wal_method(const char *s);

/*
 * Checks that say why: false with the reason appended to why, or false
 * with why left empty when the field's own words ("expected ...") say it.
 * pg_hba lines and allowed_networks (inventory_hba.c).
 */
bool hp_inv_check_hba_line(const char *s, struct hp_buf *why);
bool hp_inv_check_network(const char *s, struct hp_buf *why);

/* a is b or below it ("/a/b" under "/a"); both absolute, normalised. */
bool hp_inv_path_within(const char *a, const char *b);
/* A ".." component anywhere in path. */
bool hp_inv_has_dotdot(const char *path);
/* path (absolute, normalised) is a directory haprov must not own: a
 * system directory, one directly inside a system directory, or one under
 * /dev, /proc, /sys, /run or /tmp. true, with the reason appended to why
 * ("its parent /var/lib is a system directory"). */
bool hp_inv_system_dir(const char *path, struct hp_buf *why);

/* A key that would hold a password ("password", "app_passwd", ...). */
bool hp_inv_is_password_key(const char *key);

/* Absolute, lexically normalised ("a/./b/../c" -> "a/c"). The caller
 * frees the result. base must be absolute; rel may be absolute. */
char *hp_inv_path_join(const char *base, const char *rel);

/* ---- presets (inventory_preset.c) -------------------------------------- */

/* One value a preset gives a key it fills (an integer key's full path). */
struct hp_inv_preset_value {
	const char *key;
	int value;
};
/* s names a preset: default or fast. */
bool hp_inv_valid_preset(const char *s);
/* The values preset fills, *nr of them; NULL with *nr 0 for default, an
 * unknown name or NULL. */
const struct hp_inv_preset_value *hp_inv_preset_values(const char *preset,
						       size_t *nr);
/* The value preset gives key (a full path): true with it in *value. */
bool hp_inv_preset_value(const char *preset, const char *key, int *value);
/* Append "; ttl and retry_timeout come from preset fast": those of keys
 * (full paths) not written that the inventory's preset filled. */
void hp_inv_preset_note(const struct hp_inv_loader *ld, const char *const *keys,
			size_t n, struct hp_buf *b);

/* ---- the drill section (inventory_drill.c) ------------------------------ */

/* A drill command template for the schema's check: one line, braces only
 * in {host} and {address} (hp_drill_template_check). */
bool hp_inv_check_drill_command(const char *s, struct hp_buf *why);
/* Across its keys: both commands or neither. */
void hp_inv_check_drill(struct hp_inventory *inv, struct hp_inv_loader *ld);

/* ---- the vip section (inventory_vip.c) ---------------------------------- */

/* vip.address: an IPv4 address with a prefix length of 8..30 (the
 * hosts' network), not a network or broadcast address. */
bool hp_inv_check_vip_address(const char *s, struct hp_buf *why);
/* A Linux interface name: 1..15 of [A-Za-z0-9._-], not "." or "..". */
bool hp_inv_check_interface(const char *s, struct hp_buf *why);
/* Across keys and hosts: the vip role only with haproxy, the vip keys
 * set exactly when a host has the role, the address in the vip hosts'
 * network and none of the hosts' own. */
void hp_inv_check_vip(struct hp_inventory *inv, struct hp_inv_loader *ld);

/* ---- the pgbouncer section (inventory_pgbouncer.c) --------------------- */

/* The role only on patroni hosts; auth_user none of the other roles. */
void hp_inv_check_pgbouncer(struct hp_inventory *inv,
			    struct hp_inv_loader *ld);

/* ---- after the walk (inventory_defaults.c, inventory_check.c) ----------- */

void hp_inventory_apply_defaults(struct hp_inventory *inv,
				 const struct hp_inv_loader *ld);
void hp_inv_cross_check(struct hp_inventory *inv, struct hp_inv_loader *ld);
/* The tls and secrets.tls checks (inventory_tls.c), part of the above. */
void hp_inv_check_tls(struct hp_inventory *inv, struct hp_inv_loader *ld);
/* A pg_hba line (one hp_inv_check_hba_line accepts) that lets a client in
 * over the network without TLS: type host, hostnossl or hostnogssenc, and
 * a method other than reject. */
bool hp_inv_hba_plaintext(const char *line);

#endif
