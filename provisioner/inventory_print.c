/*
 * Printing the effective inventory (validate --print) and freeing it, both
 * driven by the schema table; and the small list types of inventory.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory.h"
#include "inventory_priv.h"

void hp_strlist_add(struct hp_strlist *l, const char *s)
{
	HP_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	l->items[l->nr++] = xstrdup(s);
}

bool hp_strlist_has(const struct hp_strlist *l, const char *s)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (!strcmp(l->items[i], s))
			return true;
	return false;
}

void hp_strlist_clear(struct hp_strlist *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

static void kvlist_release(struct hp_kvlist *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->nr = l->alloc = 0;
}

/* ---- printing ------------------------------------------------------------ */

static bool plain_safe(const char *s)
{
	const char *p;

	if (!*s || !strcmp(s, "-"))
		return false;
	for (p = s; *p; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("_./+-", c)))
			return false;
	}
	return true;
}

/* Would another YAML reader see a number, a boolean or null? */
static bool looks_typed(const char *s)
{
	static const char *const words[] = {
		"true", "false", "yes", "no",	"on",	 "off", "y",
		"n",	"null",	 "~",	".inf", "-.inf", ".nan"};
	const char *p = s;
	bool digit = false, dot = false;
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(words); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	if (*p == '+' || *p == '-')
		p++;
	for (; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p == '.' && !dot)
			dot = true;
		else if (*p != '_')
			return false;
	}
	return digit;
}

static void print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void print_scalar(FILE *out, const char *s, bool as_written)
{
	if (!s)
		fputs("null", out);
	else if (plain_safe(s) && (as_written || !looks_typed(s)))
		fputs(s, out);
	else
		print_quoted(out, s);
}

/* "[a, b]" reads better than a block for short lists of plain words. */
static bool flow_fits(const struct hp_strlist *l, size_t col)
{
	size_t i;

	col += 2;
	for (i = 0; i < l->nr; i++) {
		if (!plain_safe(l->items[i]) || looks_typed(l->items[i]))
			return false;
		col += strlen(l->items[i]) + 2;
	}
	return col <= 80;
}

static void print_section(FILE *out, const struct hp_inv_section *sec,
			  const void *base, int indent, bool dash);

static void print_field(FILE *out, const struct hp_inv_field *f,
			const void *base, int indent)
{
	static const char *const role_names[] = {"etcd", "patroni", "haproxy",
						 "vip", "pgbouncer"};
	const char *p = (const char *)base + f->off;
	const struct hp_strlist *sl;
	const struct hp_kvlist *kl;
	unsigned roles;
	size_t i, n;
	const char *sep = "";

	fprintf(out, "%s:", f->key);
	switch (f->type) {
	case T_INT:
		fprintf(out, " %d\n", *(const int *)(const void *)p);
		break;
	case T_LLONG:
		fprintf(out, " %lld\n", *(const long long *)(const void *)p);
		break;
	case T_BOOL:
		fputs(*(const bool *)(const void *)p ? " true\n" : " false\n",
		      out);
		break;
	case T_STR:
	case T_LPATH:
	case T_RPATH:
		fputc(' ', out);
		print_scalar(out, *(char *const *)(const void *)p,
			     (f->flags & F_PGVAL) != 0);
		fputc('\n', out);
		break;
	case T_STRLIST:
		sl = (const void *)p;
		if (!sl->nr) {
			fputs(" []\n", out);
			break;
		}
		if (flow_fits(sl, indent + strlen(f->key) + 2)) {
			fputs(" [", out);
			for (i = 0; i < sl->nr; i++)
				fprintf(out, "%s%s", i ? ", " : "",
					sl->items[i]);
			fputs("]\n", out);
			break;
		}
		fputc('\n', out);
		for (i = 0; i < sl->nr; i++) {
			fprintf(out, "%*s- ", indent + 2, "");
			print_scalar(out, sl->items[i], false);
			fputc('\n', out);
		}
		break;
	case T_KVLIST:
		kl = (const void *)p;
		if (!kl->nr) {
			fputs(" {}\n", out);
			break;
		}
		fputc('\n', out);
		for (i = 0; i < kl->nr; i++) {
			fprintf(out, "%*s%s: ", indent + 2, "",
				kl->items[i].key);
			if (kl->items[i].quoted)
				print_quoted(out, kl->items[i].value);
			else
				print_scalar(out, kl->items[i].value, true);
			fputc('\n', out);
		}
		break;
	case T_ROLES:
		roles = *(const unsigned *)(const void *)p;
		/* the only roles field is a host's: a host to remove shows
		 * the roles it leaves (inventory.h) */
		if (!roles)
			roles = ((const struct hp_host *)base)->removed_roles;
		fputs(" [", out);
		for (i = 0; i < HP_ARRAY_SIZE(role_names); i++) {
			if (!(roles & (1u << i)))
				continue;
			fprintf(out, "%s%s", sep, role_names[i]);
			sep = ", ";
		}
		fputs("]\n", out);
		break;
	case T_MAP:
		fputc('\n', out);
		print_section(out, f->sub, p, indent + 2, false);
		break;
	case T_MAPLIST:
		n = f->list->count(base);
		if (!n) {
			fputs(" []\n", out);
			break;
		}
		fputc('\n', out);
		for (i = 0; i < n; i++)
			print_section(out, f->sub, f->list->citem(base, i),
				      indent + 4, true);
		break;
	}
}

/* dash: the first key goes after "- " (a list item), two columns left. */
static void print_section(FILE *out, const struct hp_inv_section *sec,
			  const void *base, int indent, bool dash)
{
	size_t i;

	for (i = 0; i < sec->nr; i++) {
		if (i == 0 && dash)
			fprintf(out, "%*s- ", indent - 2, "");
		else
			fprintf(out, "%*s", indent, "");
		print_field(out, &sec->fields[i], base, indent);
	}
}

void hp_inventory_print(const struct hp_inventory *inv, FILE *out)
{
	fprintf(out,
		"# haprov: the effective inventory of cluster %s: every "
		"key, defaults applied\n",
		inv->cluster ? inv->cluster : "?");
	print_section(out, &hp_inv_top_sec, inv, 0, false);
}

/* ---- freeing ------------------------------------------------------------- */

static void free_section(const struct hp_inv_section *sec, void *base)
{
	size_t i, j, n;

	for (i = 0; i < sec->nr; i++) {
		const struct hp_inv_field *f = &sec->fields[i];
		char *p = (char *)base + f->off;

		switch (f->type) {
		case T_STR:
		case T_LPATH:
		case T_RPATH:
			free(*(char **)(void *)p);
			*(char **)(void *)p = NULL;
			break;
		case T_STRLIST:
			hp_strlist_clear((struct hp_strlist *)(void *)p);
			break;
		case T_KVLIST:
			kvlist_release((struct hp_kvlist *)(void *)p);
			break;
		case T_MAP:
			free_section(f->sub, p);
			break;
		case T_MAPLIST:
			n = f->list->count(base);
			for (j = 0; j < n; j++)
				free_section(f->sub, f->list->item(base, j));
			f->list->release(base);
			break;
		case T_INT:
		case T_LLONG:
		case T_BOOL:
		case T_ROLES:
			break;
		}
	}
}

void hp_inventory_free(struct hp_inventory *inv)
{
	if (!inv)
		return;
	free_section(&hp_inv_top_sec, inv);
	free(inv->path);
	free(inv->dir);
	free(inv);
}
