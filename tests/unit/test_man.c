/*
 * The man page (build/haprov.1, from tools/gen-man.sh: `make man`) tells
 * the truth about the command table and the inventory schema: every
 * command of hp_commands has its entry (".SS NAME" under COMMANDS), every
 * key of hp_inv_schema_keys its entry under INVENTORY (".TP", then the
 * tag line "\fBpatroni.dcs.ttl\fR", list items as "hosts[].address"), and
 * every key entry there is a key of the schema.
 *
 * The page read is $HAPROV_MAN, else haprov.1 in the build directory of
 * this binary (build/tests/test_man: build/haprov.1; build/san/tests/...:
 * build/san/haprov.1, which `make unit` makes), else build/haprov.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd.h"
#include "inventory.h"
#include "inventory_priv.h"

static char page_path[4096] = "build/haprov.1";

/* The page's lines; lines[nr] is NULL. */
static char **lines;
static size_t nr;

/*
 * Keys the README documents inside their list's entry rather than in a
 * table of their own: the entry of the part before "[]." must exist and
 * mention it as a key of a flow mapping, "{LEAF:" or ", LEAF:"
 * (extensions.databases[].extensions says "{name: pg_cron, version:
 * ...}"). Drop a key from here when README.md
 * gets an "Each item of `extensions`" table for it.
 */
static const char *const in_parent_entry[] = {
	"extensions.databases[].extensions[].name",
	"extensions.databases[].extensions[].version",
};

static int load_page(void **state)
{
	FILE *f = fopen(page_path, "r");
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;

	(void)state;
	if (!f) {
		fprintf(stderr, "cannot open %s: run make man\n", page_path);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (nr + 2 > alloc) {
			alloc = alloc ? 2 * alloc : 1024;
			lines = realloc(lines, alloc * sizeof(*lines));
			if (!lines)
				abort();
		}
		lines[nr] = strdup(line);
		if (!lines[nr])
			abort();
		lines[++nr] = NULL;
	}
	free(line);
	fclose(f);
	if (!nr) {
		fprintf(stderr, "%s is empty: run make man\n", page_path);
		return -1;
	}
	return 0;
}

static int free_page(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < nr; i++)
		free(lines[i]);
	free(lines);
	lines = NULL;
	nr = 0;
	return 0;
}

/* Lines [*a, *b) of section ".SH name" (b: the next .SH or the end). */
static void section(const char *name, size_t *a, size_t *b)
{
	size_t i;

	*a = *b = nr;
	for (i = 0; i < nr; i++) {
		if (strncmp(lines[i], ".SH ", 4) != 0)
			continue;
		if (*a < nr) {
			*b = i;
			return;
		}
		if (!strcmp(lines[i] + 4, name) ||
		    (lines[i][4] == '"' &&
		     !strncmp(lines[i] + 5, name, strlen(name)) &&
		     lines[i][5 + strlen(name)] == '"'))
			*a = i + 1;
	}
}

/* The text of s with roff's \- and \e as - and \ (a new string). */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1);
	size_t i, o = 0;

	if (!out)
		abort();
	for (i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len && s[i + 1] == '-') {
			out[o++] = '-';
			i++;
		} else if (s[i] == '\\' && i + 1 < len && s[i + 1] == 'e') {
			out[o++] = '\\';
			i++;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* The key entries under INVENTORY: each bold word of the tag line after a
 * ".TP", into tags; the line of its entry into at. */
static void key_tags(struct hp_strlist *tags, size_t **at)
{
	size_t a, b, i;

	section("INVENTORY", &a, &b);
	*at = NULL;
	for (i = a; i + 1 < b; i++) {
		const char *p = lines[i + 1], *e;

		if (strcmp(lines[i], ".TP") != 0)
			continue;
		while ((p = strstr(p, "\\fB")) && (e = strstr(p + 3, "\\fR"))) {
			hp_strlist_add(tags, "");
			free(tags->items[tags->nr - 1]);
			tags->items[tags->nr - 1] =
				unescape(p + 3, (size_t)(e - (p + 3)));
			*at = realloc(*at, tags->nr * sizeof(**at));
			if (!*at)
				abort();
			(*at)[tags->nr - 1] = i + 1;
			p = e + 3;
		}
	}
}

static ssize_t tag_index(const struct hp_strlist *tags, const char *k)
{
	size_t i;

	for (i = 0; i < tags->nr; i++)
		if (!strcmp(tags->items[i], k))
			return (ssize_t)i;
	return -1;
}

/* k has an entry, or is a mapping or list with an entry under it */
static bool documented(const struct hp_strlist *tags, const char *k)
{
	size_t i, n = strlen(k);

	if (tag_index(tags, k) >= 0)
		return true;
	for (i = 0; i < tags->nr; i++) {
		const char *t = tags->items[i];

		if (!strncmp(t, k, n) &&
		    (t[n] == '.' || !strncmp(t + n, "[].", 3)))
			return true;
	}
	return false;
}

/* k is one of in_parent_entry and its list's entry mentions "{LEAF:" or
 * ", LEAF:" */
static bool documented_in_parent(const struct hp_strlist *tags,
				 const size_t *at, const char *k)
{
	const char *dot = strrchr(k, '.');
	char *parent, *leaf1, *leaf2;
	ssize_t t;
	size_t i, j;
	bool found = false;

	for (i = 0; i < HP_ARRAY_SIZE(in_parent_entry); i++)
		if (!strcmp(in_parent_entry[i], k))
			break;
	if (i == HP_ARRAY_SIZE(in_parent_entry) || !dot || dot - k < 3 ||
	    strncmp(dot - 2, "[]", 2) != 0)
		return false;
	parent = strndup(k, (size_t)(dot - 2 - k));
	if (!parent || asprintf(&leaf1, "{%s:", dot + 1) < 0 ||
	    asprintf(&leaf2, ", %s:", dot + 1) < 0)
		abort();
	t = tag_index(tags, parent);
	/* the entry's body: up to the next request but .br */
	for (j = t < 0 ? nr : at[t] + 1; j < nr; j++) {
		if (!strcmp(lines[j], ".br"))
			continue;
		if (lines[j][0] == '.')
			break;
		if (strstr(lines[j], leaf1) || strstr(lines[j], leaf2))
			found = true;
	}
	free(parent);
	free(leaf1);
	free(leaf2);
	return found;
}

static void test_commands(void **state)
{
	size_t a, b, i, j, missing = 0;

	(void)state;
	section("COMMANDS", &a, &b);
	if (a == nr)
		fail_msg("%s has no COMMANDS section: run make man", page_path);
	for (i = 0; i < hp_commands_nr; i++) {
		const char *name = hp_commands[i].name;
		bool found = false;

		for (j = a; j < b && !found; j++)
			found = !strncmp(lines[j], ".SS ", 4) &&
				!strcmp(lines[j] + 4, name);
		if (!found) {
			print_error("%s: no entry for the command \"%s\" "
				    "(.SS %s under COMMANDS): run make man\n",
				    page_path, name, name);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

static void test_inventory_keys(void **state)
{
	struct hp_strlist keys = {0}, tags = {0};
	size_t *at, i, missing = 0;

	(void)state;
	hp_inv_schema_keys(&keys, NULL);
	key_tags(&tags, &at);
	if (!tags.nr)
		fail_msg("%s has no key entries under INVENTORY: run make man",
			 page_path);
	for (i = 0; i < keys.nr; i++) {
		const char *k = keys.items[i];

		if (documented(&tags, k) || documented_in_parent(&tags, at, k))
			continue;
		print_error("%s: no entry for the inventory key \"%s\" "
			    "(README.md, \"Inventory reference\"): run make "
			    "man\n",
			    page_path, k);
		missing++;
	}
	free(at);
	hp_strlist_clear(&keys);
	hp_strlist_clear(&tags);
	assert_int_equal(missing, 0);
}

/* and no entry for a key the schema does not have (a misspelt or removed
 * key in README.md's tables) */
static void test_no_unknown_keys(void **state)
{
	struct hp_strlist keys = {0}, tags = {0};
	size_t *at, i, unknown = 0;

	(void)state;
	hp_inv_schema_keys(&keys, NULL);
	key_tags(&tags, &at);
	for (i = 0; i < tags.nr; i++) {
		if (hp_strlist_has(&keys, tags.items[i]))
			continue;
		print_error("%s: an entry for \"%s\", which is not an "
			    "inventory key (README.md, \"Inventory "
			    "reference\"; then run make man)\n",
			    page_path, tags.items[i]);
		unknown++;
	}
	free(at);
	hp_strlist_clear(&keys);
	hp_strlist_clear(&tags);
	assert_int_equal(unknown, 0);
}

/* the page is in sync with itself: the entries are at the places the
 * checks above look (a generator change that moved them fails here, not
 * by passing vacuously) */
static void test_shape(void **state)
{
	size_t a, b;

	(void)state;
	section("INVENTORY", &a, &b);
	assert_true(a < nr && b > a);
	section("COMMANDS", &a, &b);
	assert_true(a < nr && b > a);
	section("EXIT STATUS", &a, &b);
	assert_true(a < nr && b > a);
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_inventory_keys),
		cmocka_unit_test(test_no_unknown_keys),
	};
	const char *env = getenv("HAPROV_MAN");
	const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;

	if (env && *env) {
		snprintf(page_path, sizeof(page_path), "%s", env);
	} else if (slash && slash - argv[0] >= 6 &&
		   !strncmp(slash - 6, "/tests", 6)) {
		/* DIR/tests/test_man: DIR/haprov.1 */
		snprintf(page_path, sizeof(page_path), "%.*s/haprov.1",
			 (int)(slash - 6 - argv[0]), argv[0]);
	} else if (slash && slash - argv[0] == 5 &&
		   !strncmp(argv[0], "tests", 5)) {
		snprintf(page_path, sizeof(page_path), "haprov.1");
	}
	return cmocka_run_group_tests(tests, load_page, free_page);
}
