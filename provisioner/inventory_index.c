/*
 * A string -> number index (open addressing, FNV-1a): the duplicate and
 * "who else has it" checks of the loader use it, so that an inventory of
 * many hosts, keys or roles costs linear time, not one scan per item.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "inventory_priv.h"

size_t hp_inv_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	/* FNV's low bits mix poorly and the tables mask them: fold the
	 * high bits in (MurmurHash3's finaliser) */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h;
}

/* The slot of key, or the empty slot where it would go. */
static struct hp_inv_index_slot *index_slot(const struct hp_inv_index *x,
					    const char *key, size_t len)
{
	size_t mask = x->nr_slots - 1, i = hp_inv_hash(key, len) & mask;

	for (;; i = (i + 1) & mask) {
		struct hp_inv_index_slot *s = &x->slots[i];

		if (!s->key || (s->len == len && !memcmp(s->key, key, len)))
			return s;
	}
}

static void index_grow(struct hp_inv_index *x)
{
	struct hp_inv_index_slot *old = x->slots;
	size_t n = x->nr_slots, i;

	x->nr_slots = n ? n * 2 : 16;
	x->slots = xcalloc(x->nr_slots, sizeof(*x->slots));
	for (i = 0; i < n; i++)
		if (old[i].key)
			*index_slot(x, old[i].key, old[i].len) = old[i];
	free(old);
}

bool hp_inv_index_add(struct hp_inv_index *x, const char *key, size_t value,
		      size_t *first)
{
	struct hp_inv_index_slot *s;
	size_t len = strlen(key);

	if (2 * (x->nr + 1) >= x->nr_slots)
		index_grow(x);
	s = index_slot(x, key, len);
	if (s->key) {
		*first = s->value;
		return true;
	}
	s->key = xstrndup(key, len);
	s->len = len;
	s->value = value;
	x->nr++;
	*first = value;
	return false;
}

bool hp_inv_index_get(const struct hp_inv_index *x, const char *key,
		      size_t *value)
{
	const struct hp_inv_index_slot *s;

	if (!x->nr_slots)
		return false;
	s = index_slot(x, key, strlen(key));
	if (!s->key)
		return false;
	*value = s->value;
	return true;
}

void hp_inv_index_release(struct hp_inv_index *x)
{
	size_t i;

	for (i = 0; i < x->nr_slots; i++)
		free(x->slots[i].key);
	free(x->slots);
	x->slots = NULL;
	x->nr = x->nr_slots = 0;
}
