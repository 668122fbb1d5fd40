/* The local state repository, on libgit2. See state.h. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <jansson.h>

#include "state.h"

#ifndef HP_VERSION
#define HP_VERSION "dev"
#endif

#define STATE_SIG_NAME	"haprov"
#define STATE_SIG_EMAIL "haprov@localhost"
#define STATE_MARKER	"haprov.state"
#define STATE_BRANCH	"main"
#define STATE_PATH_MAX	4096

/* One file of the working set. */
struct state_entry {
	char *path; /* relative to the repository root */
	git_oid oid;
	git_filemode_t mode;
};

/* A set of files, sorted by path with strcmp: everything under one
 * directory is then a contiguous run, which build_tree relies on. */
struct state_set {
	struct state_entry *e;
	size_t nr, alloc;
};

struct hp_state {
	git_repository *repo;
	char *dir;
	pthread_mutex_t mu;   /* serialises every public call */
	struct state_set set; /* the working set */
};

/* ---- errors -------------------------------------------------------------- */

/* Set err to "<what>: <libgit2's message>". */
static int git_fail(struct hp_err *err, int code, const char *fmt, ...)
	HP_PRINTF(3, 4);
static int git_fail(struct hp_err *err, int code, const char *fmt, ...)
{
	const git_error *e = git_error_last();
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return hp_err_set(err, code, "%s: %s", what,
			  e && e->message ? e->message
					  : "unknown libgit2 error");
}

/* ---- the working set ----------------------------------------------------- */

static void set_clear(struct state_set *set)
{
	size_t i;

	for (i = 0; i < set->nr; i++)
		free(set->e[i].path);
	free(set->e);
	set->e = NULL;
	set->nr = set->alloc = 0;
}

/* Index of the first entry whose path is >= path. */
static size_t set_lower(const struct state_set *set, const char *path)
{
	size_t lo = 0, hi = set->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(set->e[mid].path, path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct state_entry *set_find(const struct state_set *set,
				    const char *path)
{
	size_t i = set_lower(set, path);

	return i < set->nr && !strcmp(set->e[i].path, path) ? &set->e[i] : NULL;
}

static void set_upsert(struct state_set *set, const char *path,
		       const git_oid *oid, git_filemode_t mode)
{
	size_t i = set_lower(set, path);

	if (i < set->nr && !strcmp(set->e[i].path, path)) {
		git_oid_cpy(&set->e[i].oid, oid);
		set->e[i].mode = mode;
		return;
	}
	HP_ALLOC_GROW(set->e, set->nr + 1, set->alloc);
	memmove(set->e + i + 1, set->e + i, (set->nr - i) * sizeof(*set->e));
	set->e[i].path = xstrdup(path);
	git_oid_cpy(&set->e[i].oid, oid);
	set->e[i].mode = mode;
	set->nr++;
}

/* Remove the file path, if there. */
static void set_remove_file(struct state_set *set, const char *path)
{
	struct state_entry *e = set_find(set, path);
	size_t i;

	if (!e)
		return;
	i = (size_t)(e - set->e);
	free(e->path);
	memmove(set->e + i, set->e + i + 1,
		(set->nr - i - 1) * sizeof(*set->e));
	set->nr--;
}

/* Remove the file path and everything under "path/". */
static void set_remove(struct state_set *set, const char *path)
{
	char *dir = xasprintf("%s/", path);
	size_t dlen = strlen(dir), i, j, k;

	set_remove_file(set, path);
	/* a contiguous run, though not always right after "path" itself:
	 * "a.txt" sorts between "a" and "a/b" */
	i = j = set_lower(set, dir);
	while (j < set->nr && !strncmp(set->e[j].path, dir, dlen))
		j++;
	for (k = i; k < j; k++)
		free(set->e[k].path);
	memmove(set->e + i, set->e + j, (set->nr - j) * sizeof(*set->e));
	set->nr -= j - i;
	free(dir);
}

static int entry_cmp(const void *a, const void *b)
{
	const struct state_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

static int load_cb(const char *root, const git_tree_entry *te, void *payload)
{
	struct state_set *set = payload;
	struct state_entry *e;

	if (git_tree_entry_type(te) != GIT_OBJECT_BLOB)
		return 0;
	HP_ALLOC_GROW(set->e, set->nr + 1, set->alloc);
	e = &set->e[set->nr++];
	e->path = xasprintf("%s%s", root, git_tree_entry_name(te));
	git_oid_cpy(&e->oid, git_tree_entry_id(te));
	e->mode = git_tree_entry_filemode(te);
	return 0;
}

/* Fill set (emptied first) with the files of commit's tree. */
static int set_load(struct state_set *set, const git_commit *commit,
		    struct hp_err *err)
{
	git_tree *tree = NULL;
	int ret = 0;

	set_clear(set);
	if (!commit)
		return 0;
	if (git_commit_tree(&tree, commit) < 0) {
		ret = git_fail(err, HP_ERROR, "cannot read a commit's tree");
		goto out;
	}
	if (git_tree_walk(tree, GIT_TREEWALK_PRE, load_cb, set) < 0) {
		ret = git_fail(err, HP_ERROR, "cannot walk a commit's tree");
		set_clear(set);
		goto out;
	}
	/* git's order puts "a/" after "a.b"; same as strcmp, but be sure */
	if (set->nr)
		qsort(set->e, set->nr, sizeof(*set->e), entry_cmp);
out:
	git_tree_free(tree);
	return ret;
}

/*
 * Write the tree of set->e[lo, hi), whose paths all share their first off
 * bytes (the directory being built, with its '/').
 */
static int build_tree(git_oid *out, git_repository *repo,
		      const struct state_set *set, size_t lo, size_t hi,
		      size_t off, struct hp_err *err)
{
	git_treebuilder *tb = NULL;
	char *name = NULL;
	size_t i = lo;
	int ret = 0;

	if (git_treebuilder_new(&tb, repo, NULL) < 0) {
		ret = git_fail(err, HP_ERROR, "cannot build a tree");
		goto out;
	}
	while (i < hi) {
		const char *rest = set->e[i].path + off;
		const char *slash = strchr(rest, '/');
		git_oid sub;
		size_t j, clen;

		if (!slash) {
			if (git_treebuilder_insert(NULL, tb, rest,
						   &set->e[i].oid,
						   set->e[i].mode) < 0) {
				ret = git_fail(err, HP_ERROR,
					       "cannot add '%s' to a tree",
					       set->e[i].path);
				goto out;
			}
			i++;
			continue;
		}
		clen = (size_t)(slash - rest);
		for (j = i + 1; j < hi; j++)
			if (strncmp(set->e[j].path + off, rest, clen + 1) != 0)
				break;
		if ((ret = build_tree(&sub, repo, set, i, j, off + clen + 1,
				      err)) < 0)
			goto out;
		free(name);
		name = xstrndup(rest, clen);
		if (git_treebuilder_insert(NULL, tb, name, &sub,
					   GIT_FILEMODE_TREE) < 0) {
			ret = git_fail(err, HP_ERROR,
				       "cannot add directory '%.*s' to a tree",
				       (int)(off + clen), set->e[i].path);
			goto out;
		}
		i = j;
	}
	if (git_treebuilder_write(out, tb) < 0)
		ret = git_fail(err, HP_ERROR, "cannot write a tree");
out:
	free(name);
	git_treebuilder_free(tb);
	return ret;
}

/* ---- paths --------------------------------------------------------------- */

/* Plain relative paths only: what git trees and every checkout accept. */
static bool path_ok(const char *path)
{
	const char *p = path;

	if (!*path || strlen(path) > STATE_PATH_MAX)
		return false;
	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);

		if (n == 0 || (n == 1 && p[0] == '.') ||
		    (n == 2 && !strncmp(p, "..", 2)) ||
		    (n == 4 && !strncasecmp(p, ".git", 4)))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

static int check_path(const char *path, struct hp_err *err)
{
	if (!path_ok(path))
		return hp_err_set(err, HP_EINVALID,
				  "invalid state repository path '%s'", path);
	return 0;
}

/* A file may not sit where a directory is, nor under a file. */
static int check_conflict(const struct state_set *set, const char *path,
			  struct hp_err *err)
{
	const char *p;
	char *dir;
	size_t i;
	bool clash;

	for (p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
		char *parent = xstrndup(path, (size_t)(p - path));

		clash = set_find(set, parent) != NULL;
		free(parent);
		if (clash)
			return hp_err_set(err, HP_EINVALID,
					  "cannot store '%s': '%.*s' is a file",
					  path, (int)(p - path), path);
	}
	dir = xasprintf("%s/", path);
	i = set_lower(set, dir);
	clash = i < set->nr && !strncmp(set->e[i].path, dir, strlen(dir));
	free(dir);
	if (clash)
		return hp_err_set(err, HP_EINVALID,
				  "cannot store '%s': it is a directory", path);
	return 0;
}

char *hp_state_host_path(const char *host, const char *remote_path)
{
	while (*remote_path == '/')
		remote_path++;
	return xasprintf("hosts/%s/%s", host, remote_path);
}

/* ---- commits and points -------------------------------------------------- */

/* HEAD's commit into *out, or *out NULL before the first commit. */
static int head_commit(git_commit **out, git_repository *repo,
		       struct hp_err *err)
{
	git_oid oid;
	int rc;

	*out = NULL;
	rc = git_reference_name_to_id(&oid, repo, "HEAD");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH)
		return 0;
	if (rc < 0 || git_commit_lookup(out, repo, &oid) < 0)
		return git_fail(err, HP_ERROR, "cannot read HEAD");
	return 0;
}

/* "rp/<n>-<phase>": n into *n and a pointer to phase; false otherwise. */
static bool parse_point_tag(const char *tag, unsigned *n, const char **phase)
{
	char *end;
	unsigned long v;

	if (strncmp(tag, "rp/", 3) != 0 || tag[3] < '1' || tag[3] > '9')
		return false;
	errno = 0;
	v = strtoul(tag + 3, &end, 10);
	if (errno || v > 1000000000UL || *end != '-' || !end[1])
		return false;
	*n = (unsigned)v;
	*phase = end + 1;
	return true;
}

/* The names of the rollback point tags (caller disposes). */
static int list_point_tags(git_strarray *out, git_repository *repo,
			   struct hp_err *err)
{
	if (git_tag_list_match(out, "rp/*", repo) < 0)
		return git_fail(err, HP_ERROR, "cannot list tags");
	return 0;
}

static int next_point_number(unsigned *out, git_repository *repo,
			     struct hp_err *err)
{
	git_strarray tags = {NULL, 0};
	unsigned max = 0, n;
	const char *phase;
	size_t i;
	int ret;

	if ((ret = list_point_tags(&tags, repo, err)) < 0)
		return ret;
	for (i = 0; i < tags.count; i++)
		if (parse_point_tag(tags.strings[i], &n, &phase) && n > max)
			max = n;
	git_strarray_dispose(&tags);
	*out = max + 1;
	return 0;
}

static bool all_digits(const char *s)
{
	size_t n = 0;

	for (; *s; s++, n++)
		if (*s < '0' || *s > '9')
			return false;
	return n > 0 && n <= 9;
}

/*
 * The commit a point names (caller frees). A bare number is the rollback
 * point with that number when one exists; anything else is a git revision.
 */
static int lookup_commit(git_commit **out, git_repository *repo,
			 const char *point, struct hp_err *err)
{
	git_strarray tags = {NULL, 0};
	git_object *obj = NULL;
	char *pattern = NULL;
	const char *spec = point;
	int rc, ret = 0;

	*out = NULL;
	if (all_digits(point)) {
		pattern = xasprintf("rp/%s-*", point);
		if (git_tag_list_match(&tags, pattern, repo) < 0) {
			ret = git_fail(err, HP_ERROR, "cannot list tags");
			goto out;
		}
		if (tags.count == 1)
			spec = tags.strings[0];
	}
	rc = git_revparse_single(&obj, repo, spec);
	if (rc < 0) {
		int code = rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS ||
					   rc == GIT_EINVALIDSPEC ||
					   rc == GIT_EUNBORNBRANCH
				   ? HP_ENOTFOUND
				   : HP_ERROR;

		ret = git_fail(err, code,
			       "no rollback point or commit '%s' in the state "
			       "repository",
			       point);
		goto out;
	}
	if (git_commit_lookup(out, repo, git_object_id(obj)) < 0) {
		git_object *peeled = NULL;

		/* an annotated tag: peel it to its commit */
		if (git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0 ||
		    git_commit_lookup(out, repo, git_object_id(peeled)) < 0)
			ret = git_fail(err, HP_ENOTFOUND,
				       "'%s' does not name a commit", point);
		git_object_free(peeled);
	}
out:
	git_object_free(obj);
	git_strarray_dispose(&tags);
	free(pattern);
	return ret;
}

/* ---- who and when -------------------------------------------------------- */


void hp_state_run_id(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	if (!gmtime_r(&now, &tm) ||
	    !strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm))
		snprintf(stamp, sizeof(stamp), "%lld", (long long)now);
	snprintf(out, len, "%s-%ld", stamp, (long)getpid());
}

static bool token_ok(const char *s, bool upper_and_dot)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (; *s; s++) {
		char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_')
			continue;
		if (upper_and_dot && ((c >= 'A' && c <= 'Z') || c == '.'))
			continue;
		return false;
	}
	return true;
}

/* ---- open and close ------------------------------------------------------ */

static int not_dot(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

static bool dir_is_empty(const char *dir)
{
	struct dirent **list = NULL;
	int n = scandir(dir, &list, not_dot, NULL), i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return n == 0;
}

static int state_init(git_repository **out, const char *dir, struct hp_err *err)
{
	git_repository_init_options opts;
	git_config *cfg = NULL;
	int ret = 0;

	if (git_repository_init_options_init(
		    &opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION) < 0)
		return git_fail(err, HP_ERROR, "cannot initialise options");

	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
		     GIT_REPOSITORY_INIT_NO_REINIT;
	opts.initial_head = STATE_BRANCH;
	opts.description = "haprov state repository: rollback points of one "
			   "cluster";
	if (git_repository_init_ext(out, dir, &opts) < 0)
		return git_fail(err, HP_EIO,
				"cannot create state repository '%s'", dir);
	if (git_repository_config(&cfg, *out) < 0 ||
	    git_config_set_bool(cfg, STATE_MARKER, 1) < 0)
		ret = git_fail(err, HP_EIO,
			       "cannot configure state repository '%s'", dir);
	git_config_free(cfg);
	return ret;
}

int hp_state_open(struct hp_state **out, const char *dir, struct hp_err *err)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	git_commit *head = NULL;
	struct hp_state *s = NULL;
	struct stat st;
	char eb[128];
	int rc, ret = 0, marked = 0;

	*out = NULL;
	if (stat(dir, &st) < 0) {
		if (errno != ENOENT)
			return hp_err_set(err, HP_EIO, "cannot open '%s': %s",
					  dir,
					  hp_strerror(errno, eb, sizeof(eb)));
		if ((ret = hp_mkdir_p(dir, 0700, err)) < 0 ||
		    (ret = state_init(&repo, dir, err)) < 0)
			goto out;
	} else if (!S_ISDIR(st.st_mode)) {
		return hp_err_set(err, HP_EINVALID,
				  "state repository '%s' is not a directory",
				  dir);
	} else {
		rc = git_repository_open_ext(
			&repo, dir,
			GIT_REPOSITORY_OPEN_NO_SEARCH |
				GIT_REPOSITORY_OPEN_NO_DOTGIT,
			NULL);
		if (rc == GIT_ENOTFOUND && dir_is_empty(dir))
			ret = state_init(&repo, dir, err);
		else if (rc == GIT_ENOTFOUND)
			ret = hp_err_set(err, HP_EINVALID,
					 "'%s' exists and is not a haprov "
					 "state repository",
					 dir);
		else if (rc < 0)
			ret = git_fail(err, HP_ERROR,
				       "cannot open state repository '%s'",
				       dir);
		if (ret < 0)
			goto out;
	}
	/* refuse any other repository: never commit into someone's project */
	if (git_repository_config_snapshot(&cfg, repo) < 0 ||
	    git_config_get_bool(&marked, cfg, STATE_MARKER) < 0 || !marked) {
		ret = hp_err_set(err, HP_EINVALID,
				 "'%s' is a git repository but not a haprov "
				 "state repository (no %s in its config)",
				 dir, STATE_MARKER);
		goto out;
	}
	s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	if ((ret = head_commit(&head, repo, err)) < 0 ||
	    (ret = set_load(&s->set, head, err)) < 0) {
		hp_err_prefix(err, "state repository '%s'", dir);
		goto out;
	}
	pthread_mutex_init(&s->mu, NULL);
	s->repo = repo;
	repo = NULL;
	*out = s;
	s = NULL;
out:
	if (s) {
		set_clear(&s->set);
		free(s->dir);
		free(s);
	}
	git_commit_free(head);
	git_config_free(cfg);
	git_repository_free(repo);
	return ret;
}

int hp_state_peek(const char *dir, bool *has_commits, struct hp_err *err)
{
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	git_oid oid;
	struct stat st;
	char eb[128];
	int rc, ret = 0, marked = 0;

	*has_commits = false;
	if (stat(dir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return hp_err_set(err, HP_EIO, "cannot open '%s': %s", dir,
				  hp_strerror(errno, eb, sizeof(eb)));
	}
	if (!S_ISDIR(st.st_mode))
		return hp_err_set(err, HP_EINVALID,
				  "state repository '%s' is not a directory",
				  dir);
	if (dir_is_empty(dir))
		return 0;
	rc = git_repository_open_ext(&repo, dir,
				     GIT_REPOSITORY_OPEN_NO_SEARCH |
					     GIT_REPOSITORY_OPEN_NO_DOTGIT,
				     NULL);
	if (rc == GIT_ENOTFOUND)
		return hp_err_set(err, HP_EINVALID,
				  "'%s' exists and is not a haprov state "
				  "repository",
				  dir);
	if (rc < 0)
		return git_fail(err, HP_ERROR,
				"cannot open state repository '%s'", dir);
	if (git_repository_config_snapshot(&cfg, repo) < 0 ||
	    git_config_get_bool(&marked, cfg, STATE_MARKER) < 0 || !marked) {
		ret = hp_err_set(err, HP_EINVALID,
				 "'%s' is a git repository but not a haprov "
				 "state repository (no %s in its config)",
				 dir, STATE_MARKER);
		goto out;
	}
	rc = git_reference_name_to_id(&oid, repo, "HEAD");
	if (rc == 0)
		*has_commits = true;
	else if (rc != GIT_ENOTFOUND && rc != GIT_EUNBORNBRANCH)
		ret = git_fail(err, HP_ERROR, "cannot read HEAD of '%s'", dir);
out:
	git_config_free(cfg);
	git_repository_free(repo);
	return ret;
}

void hp_state_free(struct hp_state *s)
{
	if (!s)
		return;
	set_clear(&s->set);
	git_repository_free(s->repo);
	pthread_mutex_destroy(&s->mu);
	free(s->dir);
	free(s);
}

/* ---- staging ------------------------------------------------------------- */

static int put_locked(struct hp_state *s, const char *path, const void *data,
		      size_t len, struct hp_err *err)
{
	git_oid oid;
	int ret;

	if ((ret = check_path(path, err)) < 0 ||
	    (ret = check_conflict(&s->set, path, err)) < 0)
		return ret;
	if (git_blob_create_from_buffer(&oid, s->repo, data, len) < 0)
		return git_fail(err, HP_EIO, "cannot store '%s'", path);
	set_upsert(&s->set, path, &oid, GIT_FILEMODE_BLOB);
	return 0;
}

int hp_state_put(struct hp_state *s, const char *path, const void *data,
		 size_t len, struct hp_err *err)
{
	int ret;

	pthread_mutex_lock(&s->mu);
	ret = put_locked(s, path, data, len, err);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

int hp_state_put_secret_hash(struct hp_state *s, const char *path,
			     const void *data, size_t len, struct hp_err *err)
{
	char hex[65], line[66];
	char *hpath = xasprintf("%s.sha256", path);
	int ret;

	if ((ret = check_path(path, err)) < 0)
		goto out;
	/* only the digest exists from here on: data never reaches libgit2 */
	hp_sha256_hex(data, len, hex);
	snprintf(line, sizeof(line), "%s\n", hex);
	pthread_mutex_lock(&s->mu);
	ret = put_locked(s, hpath, line, strlen(line), err);
	if (ret == 0)
		set_remove_file(&s->set, path);
	pthread_mutex_unlock(&s->mu);
out:
	free(hpath);
	return ret;
}

int hp_state_remove(struct hp_state *s, const char *path, struct hp_err *err)
{
	int ret;

	if ((ret = check_path(path, err)) < 0)
		return ret;
	pthread_mutex_lock(&s->mu);
	set_remove(&s->set, path);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

int hp_state_reset(struct hp_state *s, const char *point, struct hp_err *err)
{
	git_commit *c = NULL;
	struct state_set set = {NULL, 0, 0};
	int ret;

	pthread_mutex_lock(&s->mu);
	ret = point ? lookup_commit(&c, s->repo, point, err)
		    : head_commit(&c, s->repo, err);
	if (ret < 0 || (ret = set_load(&set, c, err)) < 0)
		goto out;
	set_clear(&s->set);
	s->set = set;
out:
	pthread_mutex_unlock(&s->mu);
	git_commit_free(c);
	return ret;
}

/* ---- commit -------------------------------------------------------------- */

static const char *delta_change(git_delta_t st)
{
	switch (st) {
	case GIT_DELTA_ADDED:
		return "added";
	case GIT_DELTA_DELETED:
		return "deleted";
	default:
		return "modified";
	}
}

/* The run record (see state.h); caller decrefs. */
static int run_record(json_t **out, git_repository *repo,
		      const struct hp_state_run *run, const char *tag,
		      git_tree *old_tree, git_tree *new_tree, const char *who,
		      const char *when, struct hp_err *err)
{
	git_diff *diff = NULL;
	json_t *rec = json_object(), *items = json_array(),
	       *files = json_array();
	size_t i, n;
	int ret = 0;

	*out = NULL;
	if (git_diff_tree_to_tree(&diff, repo, old_tree, new_tree, NULL) < 0) {
		ret = git_fail(err, HP_ERROR, "cannot compare with HEAD");
		goto out;
	}
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = d->status == GIT_DELTA_DELETED
					   ? d->old_file.path
					   : d->new_file.path;

		json_array_append_new(
			files, json_pack("{s:s, s:s}", "path", path, "change",
					 delta_change(d->status)));
	}
	for (i = 0; i < run->nr_items; i++)
		json_array_append_new(items, json_string(run->items[i]));
	json_object_set_new(rec, "run_id", json_string(run->id));
	json_object_set_new(rec, "phase", json_string(run->phase));
	json_object_set_new(rec, "result", json_string(run->result));
	json_object_set_new(rec, "who", json_string(who));
	json_object_set_new(rec, "when", json_string(when));
	json_object_set_new(rec, "inventory_sha256",
			    run->inventory_sha256
				    ? json_string(run->inventory_sha256)
				    : json_null());
	json_object_set_new(rec, "point", json_string(tag));
	json_object_set_new(rec, "haprov_version", json_string(HP_VERSION));
	json_object_set_new(rec, "items", items);
	json_object_set_new(rec, "files", files);
	items = files = NULL;
	*out = rec;
	rec = NULL;
out:
	json_decref(rec);
	json_decref(items);
	json_decref(files);
	git_diff_free(diff);
	return ret;
}

/* A copy of set (sharing its path strings) with path added or replaced. */
static void set_with(struct state_set *out, const struct state_set *set,
		     char *path, const git_oid *oid)
{
	size_t i = set_lower(set, path);
	size_t tail = i < set->nr && !strcmp(set->e[i].path, path) ? i + 1 : i;

	out->alloc = set->nr + 1;
	out->e = xcalloc(out->alloc, sizeof(*out->e));
	memcpy(out->e, set->e, i * sizeof(*set->e));
	out->e[i].path = path; /* borrowed, not freed */
	git_oid_cpy(&out->e[i].oid, oid);
	out->e[i].mode = GIT_FILEMODE_BLOB;
	memcpy(out->e + i + 1, set->e + tail,
	       (set->nr - tail) * sizeof(*set->e));
	out->nr = i + 1 + set->nr - tail;
}

static int commit_locked(struct hp_state *s, const char *message,
			 const struct hp_state_run *run, bool *out_committed,
			 char **out_point, struct hp_err *err)
{
	git_commit *head = NULL;
	git_tree *head_tree = NULL, *new_tree = NULL, *final_tree = NULL;
	git_signature *sig = NULL;
	git_object *commit_obj = NULL;
	git_oid tree_oid, final_oid, commit_oid, rec_oid, tag_oid;
	struct state_set with = {NULL, 0, 0};
	struct hp_buf msg = HP_BUF_INIT;
	json_t *rec = NULL;
	char *tag = NULL, *rec_path = NULL, *rec_text = NULL;
	char who[512], when[64];
	unsigned n = 0;
	int ret;

	if (run && (!token_ok(run->id, true) || !token_ok(run->phase, false) ||
		    !run->result || (run->nr_items && !run->items))) {
		ret = hp_err_set(err, HP_EINVALID,
				 "invalid run record (id '%s', phase '%s')",
				 run->id ? run->id : "(null)",
				 run->phase ? run->phase : "(null)");
		goto out;
	}
	if ((ret = head_commit(&head, s->repo, err)) < 0)
		goto out;
	if (head && git_commit_tree(&head_tree, head) < 0) {
		ret = git_fail(err, HP_ERROR, "cannot read HEAD's tree");
		goto out;
	}
	if ((ret = build_tree(&tree_oid, s->repo, &s->set, 0, s->set.nr, 0,
			      err)) < 0)
		goto out;
	if (head_tree ? git_oid_equal(&tree_oid, git_tree_id(head_tree))
		      : s->set.nr == 0)
		goto out; /* nothing changed: no commit */
	final_oid = tree_oid;

	hp_whoami(who, sizeof(who));
	hp_utc_iso8601(when, sizeof(when));
	if (run) {
		if ((ret = next_point_number(&n, s->repo, err)) < 0)
			goto out;
		tag = xasprintf("rp/%u-%s", n, run->phase);
		if (git_tree_lookup(&new_tree, s->repo, &tree_oid) < 0) {
			ret = git_fail(err, HP_ERROR, "cannot read a new tree");
			goto out;
		}
		if ((ret = run_record(&rec, s->repo, run, tag, head_tree,
				      new_tree, who, when, err)) < 0)
			goto out;
		rec_text = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS);
		if (!rec_text)
			hp_die_oom();
		rec_path = xasprintf("runs/%s.json", run->id);
		if ((ret = check_conflict(&s->set, rec_path, err)) < 0)
			goto out;
		if (git_blob_create_from_buffer(&rec_oid, s->repo, rec_text,
						strlen(rec_text)) < 0) {
			ret = git_fail(err, HP_EIO, "cannot store '%s'",
				       rec_path);
			goto out;
		}
		set_with(&with, &s->set, rec_path, &rec_oid);
		if ((ret = build_tree(&final_oid, s->repo, &with, 0, with.nr, 0,
				      err)) < 0)
			goto out;
	}
	if (git_tree_lookup(&final_tree, s->repo, &final_oid) < 0) {
		ret = git_fail(err, HP_ERROR, "cannot read a new tree");
		goto out;
	}

	if (message)
		hp_buf_adds(&msg, message);
	else if (run)
		hp_buf_addf(&msg, "%s: %s", run->phase, run->result);
	else
		hp_buf_adds(&msg, "haprov state");
	while (msg.len && msg.buf[msg.len - 1] == '\n')
		msg.buf[--msg.len] = '\0';
	hp_buf_adds(&msg, "\n");
	if (run) {
		hp_buf_addf(&msg, "\nRun: %s\nPhase: %s\nResult: %s\n", run->id,
			    run->phase, run->result);
		hp_buf_addf(&msg, "By: %s\nPoint: %s\n", who, tag);
	}

	if (git_signature_now(&sig, STATE_SIG_NAME, STATE_SIG_EMAIL) < 0) {
		ret = git_fail(err, HP_ERROR, "cannot make a signature");
		goto out;
	}
	{
		const git_commit *parents[1] = {head};

		if (git_commit_create(&commit_oid, s->repo, "HEAD", sig, sig,
				      NULL, msg.buf, final_tree, head ? 1 : 0,
				      parents) < 0) {
			ret = git_fail(err, HP_ERROR, "cannot commit");
			goto out;
		}
	}
	/* HEAD moved: from here on the working set includes the record */
	if (rec_path)
		set_upsert(&s->set, rec_path, &rec_oid, GIT_FILEMODE_BLOB);
	*out_committed = true;
	if (tag) {
		if (git_object_lookup(&commit_obj, s->repo, &commit_oid,
				      GIT_OBJECT_COMMIT) < 0 ||
		    git_tag_create_lightweight(&tag_oid, s->repo, tag,
					       commit_obj, 0) < 0) {
			ret = git_fail(err, HP_ERROR,
				       "committed, but cannot tag '%s'", tag);
			goto out;
		}
	}
	if (out_point) {
		*out_point = tag;
		tag = NULL;
	}
out:
	free(with.e); /* the paths are borrowed */
	hp_buf_release(&msg);
	json_decref(rec);
	free(rec_text);
	free(rec_path);
	free(tag);
	git_object_free(commit_obj);
	git_signature_free(sig);
	git_tree_free(final_tree);
	git_tree_free(new_tree);
	git_tree_free(head_tree);
	git_commit_free(head);
	return ret;
}

int hp_state_commit(struct hp_state *s, const char *message,
		    const struct hp_state_run *run, bool *out_committed,
		    char **out_point, struct hp_err *err)
{
	int ret;

	*out_committed = false;
	if (out_point)
		*out_point = NULL;
	pthread_mutex_lock(&s->mu);
	ret = commit_locked(s, message, run, out_committed, out_point, err);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

/* ---- reading ------------------------------------------------------------- */

int hp_state_resolve(struct hp_state *s, const char *point, char out[41],
		     struct hp_err *err)
{
	git_commit *c = NULL;
	int ret;

	out[0] = '\0';
	pthread_mutex_lock(&s->mu);
	ret = lookup_commit(&c, s->repo, point, err);
	if (ret == 0)
		git_oid_tostr(out, 41, git_commit_id(c));
	pthread_mutex_unlock(&s->mu);
	git_commit_free(c);
	return ret;
}

static int read_blob(git_repository *repo, const git_oid *oid, const char *path,
		     struct hp_buf *out, struct hp_err *err)
{
	git_blob *blob = NULL;
	int ret = 0;

	if (git_blob_lookup(&blob, repo, oid) < 0)
		return git_fail(err, HP_ERROR, "cannot read '%s'", path);
	if (hp_buf_add(out, git_blob_rawcontent(blob),
		       (size_t)git_blob_rawsize(blob)) < 0)
		ret = hp_err_set(err, HP_ETOOBIG, "'%s' is too large", path);
	git_blob_free(blob);
	return ret;
}

static int read_locked(struct hp_state *s, const char *point, const char *path,
		       struct hp_buf *out, struct hp_err *err)
{
	git_commit *c = NULL;
	git_tree *tree = NULL;
	git_tree_entry *te = NULL;
	const struct state_entry *e;
	int rc, ret;

	if ((ret = check_path(path, err)) < 0)
		return ret;
	if (!point) {
		e = set_find(&s->set, path);
		if (!e)
			return hp_err_set(err, HP_ENOTFOUND,
					  "'%s' is not in the state", path);
		return read_blob(s->repo, &e->oid, path, out, err);
	}
	if ((ret = lookup_commit(&c, s->repo, point, err)) < 0)
		goto out;
	if (git_commit_tree(&tree, c) < 0) {
		ret = git_fail(err, HP_ERROR, "cannot read '%s'", point);
		goto out;
	}
	rc = git_tree_entry_bypath(&te, tree, path);
	if (rc == GIT_ENOTFOUND ||
	    (rc == 0 && git_tree_entry_type(te) != GIT_OBJECT_BLOB)) {
		ret = hp_err_set(err, HP_ENOTFOUND, "'%s' is not in %s", path,
				 point);
		goto out;
	}
	if (rc < 0) {
		ret = git_fail(err, HP_ERROR, "cannot read '%s' at %s", path,
			       point);
		goto out;
	}
	ret = read_blob(s->repo, git_tree_entry_id(te), path, out, err);
out:
	git_tree_entry_free(te);
	git_tree_free(tree);
	git_commit_free(c);
	return ret;
}

int hp_state_read(struct hp_state *s, const char *point, const char *path,
		  struct hp_buf *out, struct hp_err *err)
{
	int ret;

	pthread_mutex_lock(&s->mu);
	ret = read_locked(s, point, path, out, err);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

void hp_state_paths_release(struct hp_state_paths *p)
{
	size_t i;

	for (i = 0; i < p->nr; i++)
		free(p->items[i]);
	free(p->items);
	p->items = NULL;
	p->nr = p->alloc = 0;
}

static int list_locked(struct hp_state *s, const char *point,
		       const char *prefix, struct hp_state_paths *out,
		       struct hp_err *err)
{
	struct state_set loaded = {NULL, 0, 0};
	const struct state_set *set = &s->set;
	git_commit *c = NULL;
	char *pre = xstrdup(prefix ? prefix : "");
	size_t i, plen = strlen(pre);
	int ret = 0;

	while (plen && pre[plen - 1] == '/')
		pre[--plen] = '\0';
	if (point) {
		if ((ret = lookup_commit(&c, s->repo, point, err)) < 0 ||
		    (ret = set_load(&loaded, c, err)) < 0)
			goto out;
		set = &loaded;
	}
	for (i = 0; i < set->nr; i++) {
		const char *p = set->e[i].path;

		if (plen && (strncmp(p, pre, plen) != 0 ||
			     (p[plen] != '\0' && p[plen] != '/')))
			continue;
		HP_ALLOC_GROW(out->items, out->nr + 1, out->alloc);
		out->items[out->nr++] = xstrdup(p);
	}
out:
	set_clear(&loaded);
	git_commit_free(c);
	free(pre);
	return ret;
}

int hp_state_list(struct hp_state *s, const char *point, const char *prefix,
		  struct hp_state_paths *out, struct hp_err *err)
{
	int ret;

	pthread_mutex_lock(&s->mu);
	ret = list_locked(s, point, prefix, out, err);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

/* ---- history ------------------------------------------------------------- */

static int point_cmp(const void *a, const void *b)
{
	const struct hp_state_point *x = a, *y = b;

	return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

void hp_state_points_free(struct hp_state_point *p, size_t nr)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < nr; i++) {
		free(p[i].tag);
		free(p[i].phase);
		free(p[i].summary);
		free(p[i].body);
	}
	free(p);
}

static int history_locked(struct hp_state *s, struct hp_state_point **out,
			  size_t *nr, struct hp_err *err)
{
	git_strarray tags = {NULL, 0};
	struct hp_state_point *pts = NULL;
	size_t i, n = 0;
	int ret;

	if ((ret = list_point_tags(&tags, s->repo, err)) < 0)
		goto out;
	if (tags.count)
		pts = xcalloc(tags.count, sizeof(*pts));
	for (i = 0; i < tags.count; i++) {
		struct hp_state_point *p = &pts[n];
		git_commit *c = NULL;
		const char *phase, *summary, *body;
		unsigned num;

		if (!parse_point_tag(tags.strings[i], &num, &phase))
			continue;
		if ((ret = lookup_commit(&c, s->repo, tags.strings[i], err)) <
		    0)
			goto out;
		p->tag = xstrdup(tags.strings[i]);
		p->n = num;
		p->phase = xstrdup(phase);
		git_oid_tostr(p->commit, sizeof(p->commit), git_commit_id(c));
		if (git_commit_parentcount(c) > 0)
			git_oid_tostr(p->parent, sizeof(p->parent),
				      git_commit_parent_id(c, 0));
		p->time = (int64_t)git_commit_time(c);
		summary = git_commit_summary(c);
		p->summary = xstrdup(summary ? summary : "");
		body = git_commit_body(c);
		p->body = xstrdup(body ? body : "");
		git_commit_free(c);
		n++;
	}
	if (n)
		qsort(pts, n, sizeof(*pts), point_cmp);
out:
	git_strarray_dispose(&tags);
	if (ret < 0 || !n) {
		hp_state_points_free(pts, n);
		pts = NULL;
		n = 0;
	}
	*out = pts;
	*nr = n;
	return ret;
}

int hp_state_history(struct hp_state *s, struct hp_state_point **out,
		     size_t *nr, struct hp_err *err)
{
	int ret;

	pthread_mutex_lock(&s->mu);
	ret = history_locked(s, out, nr, err);
	pthread_mutex_unlock(&s->mu);
	return ret;
}

int hp_state_head(struct hp_state *s, char out[41], struct hp_err *err)
{
	git_oid oid;
	int rc, ret = 0;

	out[0] = '\0';
	pthread_mutex_lock(&s->mu);
	rc = git_reference_name_to_id(&oid, s->repo, "HEAD");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH)
		ret = hp_err_set(err, HP_ENOTFOUND,
				 "the state repository has no commit yet");
	else if (rc < 0)
		ret = git_fail(err, HP_ERROR, "cannot read HEAD");
	else
		git_oid_tostr(out, 41, &oid);
	pthread_mutex_unlock(&s->mu);
	return ret;
}
