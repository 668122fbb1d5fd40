/*
 * Pruning the hosts' backups. Each run that replaces a file keeps the old
 * one under /var/lib/haprov/backups/<run id>/<path>; without pruning they
 * pile up forever. After a run, a host keeps the newest `keep` runs' backup
 * directories, the current run's, and those the caller protects (the runs
 * a rollback point still needs); it removes the rest.
 *
 * The directory names come from the host, so only names with the exact
 * shape of a run id are ever touched: find selects them with a strict
 * pattern, haprov checks each again, and rm gets each one as a separate,
 * quoted argument, relative to the backup root (no word splitting, no
 * "..", no symlink followed: find -type d does not follow one).
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "shell.h"

#define BACKUPS_KEEP_DEFAULT 20
#define BACKUPS_LIST_MAX 100000 /* names read from one host */

/* find -name patterns: glob character classes match one byte each, so
 * these match exactly the shapes hp_backup_run_name_ok accepts. */
#define D "[0-9]"
#define X "[0-9a-f]"
#define STAMP D D D D D D D D "T" D D D D D D
static const char *const name_globs[] = {
	STAMP "Z",                                 /* before 0.x: seconds */
	STAMP "." D D D "Z-" X X X X X X X X, /* ms + random suffix */
};
#undef D
#undef X

static bool digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool hp_backup_run_name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if ((n != 16 && n != 29) || !digits(name, 8) || name[8] != 'T' ||
	    !digits(name + 9, 6))
		return false;
	if (n == 16)
		return name[15] == 'Z';
	if (name[15] != '.' || !digits(name + 16, 3) || name[19] != 'Z' ||
	    name[20] != '-')
		return false;
	for (i = 21; i < 29; i++)
		if (!strchr("0123456789abcdef", name[i]) || name[i] == '\0')
			return false;
	return true;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool protected(const char *name, const char *current,
		      const char *const *protect, size_t nr_protect)
{
	size_t i;

	if (current && !strcmp(name, current))
		return true;
	for (i = 0; i < nr_protect; i++)
		if (protect[i] && !strcmp(name, protect[i]))
			return true;
	return false;
}

size_t hp_backups_select(char **names, size_t nr, int keep,
			 const char *current, const char *const *protect,
			 size_t nr_protect, bool *drop)
{
	size_t i, n = 0, kept = 0;

	if (keep <= 0)
		keep = BACKUPS_KEEP_DEFAULT;
	if (!nr)
		return 0;
	/* run ids sort by time: the newest last */
	qsort(names, nr, sizeof(*names), cmp_names);
	for (i = nr; i-- > 0;) {
		drop[i] = false;
		if (!hp_backup_run_name_ok(names[i]) ||
		    (i + 1 < nr && !strcmp(names[i], names[i + 1])))
			continue; /* never touched; a duplicate line once */
		if (kept < (size_t)keep) {
			kept++;
			continue;
		}
		if (protected(names[i], current, protect, nr_protect))
			continue;
		drop[i] = true;
		n++;
	}
	return n;
}

void hp_backups_list_cmd(struct hp_buf *out)
{
	size_t i;

	hp_buf_adds(out, "d=" HP_BACKUP_ROOT "; [ -d \"$d\" ] || exit 0; "
			 "find \"$d\" -mindepth 1 -maxdepth 1 -type d \\(");
	for (i = 0; i < HP_ARRAY_SIZE(name_globs); i++) {
		hp_buf_adds(out, i ? " -o -name " : " -name ");
		hp_shell_quote(out, name_globs[i]);
	}
	hp_buf_adds(out, " \\) -printf '%f\\n'");
}

void hp_backups_remove_cmd(struct hp_buf *out, char *const *names,
			   const bool *drop, size_t nr)
{
	size_t i;

	hp_buf_adds(out, "cd " HP_BACKUP_ROOT " && rm -rf --");
	for (i = 0; i < nr; i++) {
		if (!drop[i] || !hp_backup_run_name_ok(names[i]))
			continue;
		hp_buf_addch(out, ' ');
		hp_shell_quote(out, names[i]);
	}
}

/* Split the listing into names; lines that are not run ids are dropped
 * here already. */
static size_t parse_listing(char *text, char ***out)
{
	char **names = NULL, *line, *save = NULL;
	size_t nr = 0, alloc = 0;

	for (line = strtok_r(text, "\n", &save); line && nr < BACKUPS_LIST_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		if (!hp_backup_run_name_ok(line))
			continue;
		HP_ALLOC_GROW(names, nr + 1, alloc);
		names[nr++] = line;
	}
	*out = names;
	return nr;
}

int hp_backups_prune(struct hp_hostrun *h, int keep,
		     const char *const *protect, size_t nr,
		     struct hp_err *err)
{
	struct hp_buf cmd = HP_BUF_INIT, res = HP_BUF_INIT;
	char **names = NULL;
	bool *drop = NULL;
	size_t n, nr_drop;
	int r;

	if (h->run->opts.plan)
		return 0; /* plan writes nothing */
	hp_backups_list_cmd(&cmd);
	if ((r = hp_host_sh(h, cmd.buf, NULL, 0, 60, &res, err)) < 0)
		goto out;
	n = parse_listing(res.buf, &names);
	drop = xcalloc(n ? n : 1, sizeof(*drop));
	nr_drop = hp_backups_select(names, n, keep, h->run->run_id, protect,
				    nr, drop);
	if (!nr_drop)
		goto out;
	hp_buf_reset(&cmd);
	hp_backups_remove_cmd(&cmd, names, drop, n);
	if ((r = hp_host_sh(h, cmd.buf, NULL, 0, 120, NULL, err)) < 0) {
		hp_err_prefix(err, "cannot prune the backups in %s",
			      HP_BACKUP_ROOT);
		goto out;
	}
	hp_info("%s: removed %zu old runs' backups from %s", h->host->name,
		nr_drop, HP_BACKUP_ROOT);
out:
	free(names);
	free(drop);
	hp_buf_release(&cmd);
	hp_buf_release(&res);
	return r;
}
