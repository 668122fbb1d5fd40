/*
 * The inventory loader: a YAML document (libyaml's document API) walked
 * against one schema table, which also drives printing and freeing, so a
 * key added to the table is parsed, printed and freed with no other edit.
 *
 * Every problem becomes a diagnostic with file, line, column and key path;
 * the walk never stops at the first one, because an operator fixing a
 * 200-line inventory wants the whole list at once.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "inventory.h"
#include "inventory_priv.h"

/* An inventory is a few kilobytes; anything near this is a wrong file. */
#define HP_INV_MAX_FILE (16u << 20)

/*
 * The key of a mapping pair, or NULL after a diagnostic (not a scalar,
 * or seen before in the same mapping: seen holds the keys so far, by
 * text, with the index of their pair). Password keys are NULL too: the
 * password scan already reported them.
 */
static const char *pair_key(struct hp_inv_walk *w, const yaml_node_t *map,
			    const yaml_node_pair_t *p, const char *path,
			    struct hp_inv_index *seen)
{
	const yaml_node_t *k = hp_inv_node(w, p->key);
	struct hp_inv_quoted q;
	size_t first;
	const char *s;

	if (k->type != YAML_SCALAR_NODE || hp_inv_has_nul(k)) {
		hp_inv_diag_node(w, k, path, "expected a key name, got %s",
				 k->type == YAML_SCALAR_NODE
					 ? "a key with a NUL "
					   "character"
					 : hp_inv_got(&q, k));
		return NULL;
	}
	s = (const char *)k->data.scalar.value;
	if (hp_inv_is_password_key(s))
		return NULL;
	if (hp_inv_index_add(seen, s,
			     (size_t)(p - map->data.mapping.pairs.start),
			     &first)) {
		const yaml_node_pair_t *fp =
			&map->data.mapping.pairs.start[first];
		char *kp = hp_inv_key_path(path, s);

		hp_inv_diag_node(
			w, k, kp, "duplicate key (first at line %d)",
			hp_inv_mark_line(&hp_inv_node(w, fp->key)->start_mark));
		free(kp);
		return NULL;
	}
	return s;
}

/* One parameter: a PostgreSQL name and a one-line scalar; else a
 * diagnostic at the key path kp. */
static bool param_ok(struct hp_inv_walk *w, const char *kp, const char *key,
		     const yaml_node_t *k, const yaml_node_t *val)
{
	const char *s = hp_inv_text(val);
	struct hp_inv_quoted q;
	unsigned cp;
	char esc[12];

	if (!hp_inv_valid_guc_name(key))
		hp_inv_diag_node(w, k, kp,
				 "not a PostgreSQL parameter name "
				 "(lowercase letters, digits and '_', at "
				 "most 63, with at most one '.' between two "
				 "parts that start with a letter or '_')");
	else if (!s || hp_inv_has_nul(val))
		hp_inv_diag_node(w, val, kp,
				 "expected a single value (a "
				 "string, number or boolean), got %s",
				 hp_inv_got(&q, val));
	else if (hp_inv_bad_char(s, &cp))
		hp_inv_diag_node(
			w, val, kp, "a parameter value cannot %s (it holds %s)",
			hp_inv_is_line_break(cp) ? "span lines"
						 : "hold control characters",
			hp_inv_char_escape(cp, esc));
	else
		return true;
	return false;
}

static bool get_kvlist(struct hp_inv_walk *w, const char *path,
		       const yaml_node_t *v, struct hp_kvlist *l)
{
	struct hp_inv_index seen = HP_INV_INDEX_INIT;
	struct hp_inv_quoted q;
	yaml_node_pair_t *p;

	if (hp_inv_is_null(v))
		return true;
	if (v->type != YAML_MAPPING_NODE) {
		hp_inv_diag_node(w, v, path,
				 "expected a mapping of PostgreSQL "
				 "parameters, got %s",
				 hp_inv_got(&q, v));
		return false;
	}
	for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *k = hp_inv_node(w, p->key),
				  *val = hp_inv_node(w, p->value);
		const char *key = pair_key(w, v, p, path, &seen);
		bool good;
		char *kp;

		if (!key)
			continue;
		kp = hp_inv_key_path(path, key);
		good = param_ok(w, kp, key, k, val);
		if (good) {
			struct hp_kv *kv;

			HP_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
			kv = &l->items[l->nr++];
			kv->key = xstrdup(key);
			kv->value = xstrdup(hp_inv_text(val));
			kv->quoted = val->data.scalar.style !=
				     YAML_PLAIN_SCALAR_STYLE;
		}
		hp_inv_mark_node(w, kp, k, val, !good);
		free(kp);
	}
	hp_inv_index_release(&seen);
	return true;
}

/* Key closest to key among candidates, or NULL when none is close. */
static const char *suggest(const char *key, const char *const *cands, size_t nr)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX, i, klen = strlen(key);
	char *low = xstrdup(key);

	for (i = 0; low[i]; i++)
		if (low[i] >= 'A' && low[i] <= 'Z')
			low[i] = (char)(low[i] - 'A' + 'a');
	for (i = 0; i < nr; i++) {
		size_t clen = strlen(cands[i]), d, limit;

		limit = clen / 3 > 2 ? clen / 3 : 2;
		/* "heartbeat" for "heartbeat_ms": a prefix is a fair guess */
		if (klen >= 4 && (!strncmp(low, cands[i], klen) ||
				  !strncmp(low, cands[i], clen)))
			d = strcmp(low, cands[i]) != 0;
		/* the distance is at least the difference of the lengths:
		 * a key of a megabyte costs no quadratic work */
		else if ((klen > clen ? klen - clen : clen - klen) > limit)
			continue;
		else
			d = hp_edit_distance(low, cands[i]);
		if (d <= limit && d < klen && d < best_d) {
			best = cands[i];
			best_d = d;
		}
	}
	free(low);
	return best;
}

static void unknown_key(struct hp_inv_walk *w, const struct hp_inv_section *sec,
			const char *path, const char *key, const yaml_node_t *k)
{
	const char *cands[32], *s;
	char *kp = hp_inv_key_path(path, key);
	size_t i, j;

	for (i = 0; i < sec->nr && i < HP_ARRAY_SIZE(cands); i++)
		cands[i] = sec->fields[i].key;
	s = suggest(key, cands, i);
	if (s) {
		hp_inv_diag_node(w, k, kp, "unknown key; did you mean \"%s\"?",
				 s);
		goto out;
	}
	/* a key one level too high: "ttl" written under patroni */
	for (i = 0; i < sec->nr; i++) {
		const struct hp_inv_field *f = &sec->fields[i];

		if (f->type != T_MAP)
			continue;
		for (j = 0; j < f->sub->nr; j++) {
			if (strcmp(f->sub->fields[j].key, key) != 0)
				continue;
			hp_inv_diag_node(w, k, kp,
					 "unknown key here; it belongs "
					 "under %s%s%s",
					 path, *path ? "." : "", f->key);
			goto out;
		}
	}
	if (!strcmp(key, "<<"))
		hp_inv_diag_node(w, k, kp,
				 "unknown key (YAML merge keys are not "
				 "supported; repeat the keys)");
	else
		hp_inv_diag_node(w, k, kp, "unknown key");
out:
	free(kp);
}

static void walk_section(struct hp_inv_walk *w,
			 const struct hp_inv_section *sec, const char *path,
			 const yaml_node_t *map, const yaml_node_t *at,
			 void *base);

static bool get_roles(struct hp_inv_walk *w, const char *path,
		      const yaml_node_t *v, unsigned *out)
{
	static const char *const names[] = {"etcd", "patroni", "haproxy",
					    "vip", "pgbouncer"};
	static const unsigned bits[] = {HP_ROLE_ETCD, HP_ROLE_PATRONI,
					HP_ROLE_HAPROXY, HP_ROLE_VIP,
					HP_ROLE_PGBOUNCER};
	struct hp_inv_quoted q;
	yaml_node_item_t *it;
	size_t idx = 0, i;
	bool ok = true;

	*out = 0;
	if (v->type != YAML_SEQUENCE_NODE && !hp_inv_is_null(v)) {
		hp_inv_diag_node(w, v, path,
				 "expected a list of roles (etcd, "
				 "patroni, haproxy, vip, pgbouncer), got %s",
				 hp_inv_got(&q, v));
		return false;
	}
	if (hp_inv_is_null(v) ||
	    v->data.sequence.items.start == v->data.sequence.items.top) {
		hp_inv_diag_node(w, v, path,
				 "expected at least one role: etcd, "
				 "patroni, haproxy, vip or pgbouncer");
		return false;
	}
	for (it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++, idx++) {
		const yaml_node_t *n = hp_inv_node(w, *it);
		char *ipath = xasprintf("%s[%zu]", path, idx);
		const char *s = hp_inv_text(n), *sug;
		bool good = false;

		for (i = 0; s && i < HP_ARRAY_SIZE(names); i++)
			if (!strcmp(s, names[i]))
				break;
		if (!s) {
			hp_inv_diag_node(w, n, ipath,
					 "expected a role (etcd, "
					 "patroni, haproxy, vip or pgbouncer), "
					 "got %s",
					 hp_inv_got(&q, n));
		} else if (i == HP_ARRAY_SIZE(names)) {
			sug = suggest(s, names, HP_ARRAY_SIZE(names));
			if (sug)
				hp_inv_diag_node(w, n, ipath,
						 "unknown role %s; did "
						 "you mean \"%s\"?",
						 hp_inv_quote(&q, s), sug);
			else
				hp_inv_diag_node(
					w, n, ipath,
					"unknown role %s; "
					"expected etcd, patroni, haproxy, vip "
					"or pgbouncer",
					hp_inv_quote(&q, s));
		} else if (*out & bits[i]) {
			hp_inv_diag(w->ld, hp_inv_mark_line(&n->start_mark),
				    hp_inv_mark_col(&n->start_mark), ipath,
				    true, "role \"%s\" is listed twice", s);
			good = true;
		} else {
			*out |= bits[i];
			good = true;
		}
		hp_inv_mark_node(w, ipath, n, n, !good);
		ok = ok && good;
		free(ipath);
	}
	return ok;
}

static void walk_field(struct hp_inv_walk *w, const struct hp_inv_field *f,
		       const char *path, const yaml_node_t *k,
		       const yaml_node_t *v, void *base);

static bool get_maplist(struct hp_inv_walk *w, const struct hp_inv_field *f,
			const char *path, const yaml_node_t *v, void *base)
{
	const yaml_node_item_t *it = NULL, *end = NULL;
	struct hp_inv_quoted q;
	size_t idx = 0;

	if (v->type != YAML_SEQUENCE_NODE && !hp_inv_is_null(v)) {
		hp_inv_diag_node(w, v, path, "expected a list, got %s",
				 hp_inv_got(&q, v));
		return false;
	}
	if (v->type == YAML_SEQUENCE_NODE) {
		it = v->data.sequence.items.start;
		end = v->data.sequence.items.top;
	}
	for (; it < end; it++, idx++) {
		const yaml_node_t *n = hp_inv_node(w, *it);
		char *ipath = xasprintf("%s[%zu]", path, idx);
		void *e = f->list->push(base, hp_inv_mark_line(&n->start_mark));
		bool good = n->type == YAML_MAPPING_NODE;

		if (good) {
			walk_section(w, f->sub, ipath, n, n, e);
		} else if ((f->flags & F_SCALAR) &&
			   n->type == YAML_SCALAR_NODE) {
			/* "- pg_cron" stands for "- {name: pg_cron}" */
			char *kp = hp_inv_key_path(ipath, f->sub->fields[0].key);

			walk_field(w, &f->sub->fields[0], kp, n, n, e);
			good = !hp_inv_is_bad(w->ld, kp);
			free(kp);
		} else {
			hp_inv_diag_node(w, n, ipath, "expected %s, got %s",
					 (f->flags & F_SCALAR)
						 ? "a name or a mapping"
						 : "a mapping",
					 hp_inv_got(&q, n));
		}
		hp_inv_mark_node(w, ipath, n, n, !good);
		free(ipath);
	}
	if ((f->flags & F_NONEMPTY) && !idx) {
		hp_inv_diag_node(w, v, path, "expected at least one %s",
				 f->list->noun);
		return false;
	}
	return true;
}

static void walk_field(struct hp_inv_walk *w, const struct hp_inv_field *f,
		       const char *path, const yaml_node_t *k,
		       const yaml_node_t *v, void *base)
{
	struct hp_inv_quoted q;
	char *p = (char *)base + f->off;
	long long n = 0;
	bool ok = false;

	/* mark first: a nested missing key must find its parent good */
	hp_inv_mark_node(w, path, k, v, false);
	switch (f->type) {
	case T_INT:
		ok = hp_inv_get_integer(w, path, v, f->min, f->max, &n);
		if (ok)
			*(int *)(void *)p = (int)n;
		break;
	case T_LLONG:
		ok = hp_inv_get_integer(w, path, v, f->min, f->max, &n);
		if (ok)
			*(long long *)(void *)p = n;
		break;
	case T_BOOL:
		ok = hp_inv_get_bool(w, path, v, (bool *)(void *)p);
		break;
	case T_STR:
		ok = hp_inv_get_checked_string(w, f, path, v,
					       (char **)(void *)p);
		break;
	case T_LPATH:
		ok = hp_inv_get_local_path(w, f, path, v, (char **)(void *)p);
		break;
	case T_RPATH:
		ok = hp_inv_get_remote_path(w, f, path, v, (char **)(void *)p);
		break;
	case T_STRLIST:
		ok = hp_inv_get_strlist(w, f, path, v,
					(struct hp_strlist *)(void *)p);
		break;
	case T_KVLIST:
		ok = get_kvlist(w, path, v, (struct hp_kvlist *)(void *)p);
		break;
	case T_ROLES:
		ok = get_roles(w, path, v, (unsigned *)(void *)p);
		break;
	case T_MAP:
		ok = v->type == YAML_MAPPING_NODE || hp_inv_is_null(v);
		if (!ok && (f->flags & F_SCALAR) &&
		    v->type == YAML_SCALAR_NODE) {
			/* "tls: false" stands for "tls: {enabled: false}" */
			char *kp = hp_inv_key_path(path, f->sub->fields[0].key);

			walk_field(w, &f->sub->fields[0], kp, k, v, p);
			ok = !hp_inv_is_bad(w->ld, kp);
			free(kp);
		} else if (ok)
			walk_section(w, f->sub, path, v,
				     hp_inv_is_null(v) ? k : v, p);
		else
			hp_inv_diag_node(w, v, path,
					 "expected a mapping, got %s",
					 hp_inv_got(&q, v));
		break;
	case T_MAPLIST:
		ok = get_maplist(w, f, path, v, base);
		break;
	}
	/*
	 * Lists and maps return false only when unusable as a whole; a bad
	 * item has its own mark. Roles are the exception: a host with an
	 * unknown role cannot be counted, so the role checks must not run.
	 */
	if (!ok)
		hp_inv_mark_node(w, path, k, v, true);
}

/*
 * Walk one mapping (or an empty value, which reads as an empty mapping)
 * against sec. Unknown keys are refused with a suggestion; missing
 * required keys are reported at "at": the mapping, or the key of an empty
 * value (an empty value has no position of its own worth showing).
 */
static void walk_section(struct hp_inv_walk *w,
			 const struct hp_inv_section *sec, const char *path,
			 const yaml_node_t *map, const yaml_node_t *at,
			 void *base)
{
	const yaml_node_pair_t *p = NULL, *end = NULL;
	struct hp_inv_index seen = HP_INV_INDEX_INIT;
	uint32_t present = 0;
	size_t i;

	if (map->type == YAML_MAPPING_NODE) {
		p = map->data.mapping.pairs.start;
		end = map->data.mapping.pairs.top;
	}
	for (; p < end; p++) {
		const yaml_node_t *k = hp_inv_node(w, p->key);
		const char *key = pair_key(w, map, p, path, &seen);
		char *kp;

		if (!key)
			continue;
		for (i = 0; i < sec->nr; i++)
			if (!strcmp(sec->fields[i].key, key))
				break;
		if (i == sec->nr) {
			unknown_key(w, sec, path, key, k);
			continue;
		}
		present |= 1u << i;
		kp = hp_inv_key_path(path, key);
		walk_field(w, &sec->fields[i], kp, k, hp_inv_node(w, p->value),
			   base);
		free(kp);
	}
	hp_inv_index_release(&seen);
	for (i = 0; i < sec->nr; i++) {
		char *kp;

		if (!(sec->fields[i].flags & F_REQ) || (present & (1u << i)))
			continue;
		kp = hp_inv_key_path(path, sec->fields[i].key);
		hp_inv_diag_node(w, at, path, "missing required key \"%s\"",
				 sec->fields[i].key);
		hp_inv_mark_node(w, kp, at, at, true);
		free(kp);
	}
}

/*
 * Passwords anywhere, even under unknown keys or inside values of the
 * wrong type: the inventory is committed and shared, so a secret in it
 * is worse than any other mistake. Each node is visited once (aliases
 * can make cycles).
 */
static void scan_passwords(struct hp_inv_walk *w, const yaml_node_t *n,
			   const char *path, int depth, unsigned char *seen)
{
	size_t idx = (size_t)(n - w->doc->nodes.start), i;

	if (seen[idx] || depth > HP_INV_MAX_DEPTH)
		return;
	seen[idx] = 1;
	if (n->type == YAML_SEQUENCE_NODE) {
		for (i = 0; n->data.sequence.items.start + i <
			    n->data.sequence.items.top;
		     i++) {
			char *ip = xasprintf("%s[%zu]", path, i);

			scan_passwords(
				w,
				hp_inv_node(w, n->data.sequence.items.start[i]),
				ip, depth + 1, seen);
			free(ip);
		}
		return;
	}
	if (n->type != YAML_MAPPING_NODE)
		return;
	for (i = 0; n->data.mapping.pairs.start + i < n->data.mapping.pairs.top;
	     i++) {
		const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
		const yaml_node_t *k = hp_inv_node(w, p->key);
		const char *s = hp_inv_text(k);
		char *kp = hp_inv_key_path(path, s ? s : "?");

		if (s && hp_inv_is_password_key(s))
			hp_inv_diag_node(
				w, k, kp,
				"passwords do not belong in the "
				"inventory; haprov keeps them in the secret "
				"store (secrets.store)");
		scan_passwords(w, hp_inv_node(w, p->value), kp, depth + 1,
			       seen);
		free(kp);
	}
}

/* ---- loading ------------------------------------------------------------- */

/* The absolute directory of path, lexically normalised. */
static char *abs_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d, *res;

	if (!slash)
		d = xstrdup(".");
	else if (slash == path)
		d = xstrdup("/");
	else
		d = xstrndup(path, (size_t)(slash - path));
	if (d[0] == '/') {
		res = hp_inv_path_join("/", d);
	} else {
		char *cwd = getcwd(NULL, 0);

		res = hp_inv_path_join(cwd && cwd[0] == '/' ? cwd : "/", d);
		free(cwd);
	}
	free(d);
	return res;
}

static void loader_release(struct hp_inv_loader *ld)
{
	size_t i;

	for (i = 0; i < ld->nr_marks; i++)
		free(ld->marks[i].path);
	free(ld->marks);
	free(ld->slots);
	ld->marks = NULL;
	ld->slots = NULL;
	ld->nr_marks = ld->alloc_marks = ld->nr_slots = 0;
}

int hp_inventory_load_string(struct hp_inventory **out, const char *yaml,
			     size_t len, const char *path,
			     struct hp_diags *diags)
{
	struct hp_inv_loader ld;
	struct hp_inventory *inv = NULL;
	yaml_document_t doc;
	const yaml_node_t *root;
	unsigned char *seen = NULL;
	struct hp_inv_walk w;
	int r;

	*out = NULL;
	if (!path)
		path = "inventory.yml";
	memset(&ld, 0, sizeof(ld));
	ld.diags = diags;
	ld.first_diag = diags->nr;
	w.ld = &ld;
	w.doc = &doc;
	if (!hp_inv_yaml_read(&ld, &doc, yaml, len))
		goto out;
	root = yaml_document_get_root_node(&doc);
	if (!root || hp_inv_is_null(root)) {
		hp_inv_diag(&ld, 1, 1, NULL, false, "inventory is empty");
		goto out;
	}
	if (root->type != YAML_MAPPING_NODE) {
		struct hp_inv_quoted q;

		hp_inv_diag_node(&w, root, "",
				 "the inventory must be a mapping of "
				 "sections (cluster:, hosts:, ...), got %s",
				 hp_inv_got(&q, root));
		goto out;
	}
	inv = xcalloc(1, sizeof(*inv));
	inv->path = xstrdup(path);
	inv->dir = abs_dir(path);
	ld.inv = inv;
	ld.root_line = hp_inv_mark_line(&root->start_mark);
	ld.root_col = hp_inv_mark_col(&root->start_mark);
	seen = xcalloc((size_t)(doc.nodes.top - doc.nodes.start), 1);
	scan_passwords(&w, root, "", 0, seen);
	walk_section(&w, &hp_inv_top_sec, "", root, root, inv);
	hp_inventory_apply_defaults(inv, &ld);
	hp_inv_cross_check(inv, &ld);
out:
	hp_inv_diags_sort(diags, ld.first_diag);
	if (ld.errors) {
		hp_inventory_free(inv);
		r = HP_EINVALID;
	} else {
		*out = inv;
		r = 0;
	}
	loader_release(&ld);
	free(seen);
	yaml_document_delete(&doc);
	return r;
}

int hp_inventory_load(struct hp_inventory **out, const char *path,
		      struct hp_diags *diags)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	int r;

	*out = NULL;
	hp_err_clear(&err);
	hp_buf_init(&b, HP_INV_MAX_FILE);
	r = hp_buf_read_file(&b, path, &err);
	if (r < 0) {
		hp_inv_diags_add(diags, 0, 0, NULL, false, xstrdup(err.msg));
		goto out;
	}
	r = hp_inventory_load_string(out, b.buf, b.len, path, diags);
out:
	hp_buf_release(&b);
	return r;
}

/* ---- lookups ------------------------------------------------------------- */

const struct hp_host *hp_inventory_host(const struct hp_inventory *inv,
					const char *name)
{
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++)
		if (inv->hosts[i].name && !strcmp(inv->hosts[i].name, name))
			return &inv->hosts[i];
	return NULL;
}

size_t hp_inventory_count_role(const struct hp_inventory *inv, unsigned role)
{
	size_t i, n = 0;

	for (i = 0; i < inv->nr_hosts; i++)
		if (inv->hosts[i].roles & role)
			n++;
	return n;
}

const char *hp_kvlist_get(const struct hp_kvlist *l, const char *key)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (!strcmp(l->items[i].key, key))
			return l->items[i].value;
	return NULL;
}
