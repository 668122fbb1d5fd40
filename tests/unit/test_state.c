/*
 * The state repository (rollback/state.c) on real repositories in a
 * temporary directory, checked through the API, through libgit2 directly
 * (every object in the database, for secrets) and through the git CLI.
 */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <git2.h>
#include <jansson.h>

#include "state.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-state-"
#include "tmpdir_fixture.h"

/* A fresh directory path under tmpdir (not created); caller frees. */
static char *fresh(const char *name)
{
	return xasprintf("%s/%s/.haprov/c1", tmpdir, name);
}

/* Run a shell command; its stdout into out (may be NULL); exit status. */
static int sh(struct hp_buf *out, const char *fmt, ...) HP_PRINTF(2, 3);
static int sh(struct hp_buf *out, const char *fmt, ...)
{
	struct hp_buf cmd = HP_BUF_INIT;
	char chunk[4096];
	va_list ap;
	FILE *f;
	size_t n;
	int rc;

	va_start(ap, fmt);
	hp_buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	f = popen(cmd.buf, "r");
	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (out)
			hp_buf_add(out, chunk, n);
	rc = pclose(f);
	hp_buf_release(&cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static bool have_git_cli(void)
{
	return sh(NULL, "git --version >/dev/null 2>&1") == 0;
}

static void put(struct hp_state *s, const char *path, const char *text)
{
	struct hp_err err;

	assert_int_equal(hp_state_put(s, path, text, strlen(text), &err), 0);
}

static void expect_read(struct hp_state *s, const char *point, const char *path,
			const char *want)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	int rc = hp_state_read(s, point, path, &b, &err);

	if (rc != 0)
		fail_msg("read %s at %s: %s", path, point ? point : "(work)",
			 err.msg);
	assert_string_equal(b.buf, want);
	hp_buf_release(&b);
}

static void expect_absent(struct hp_state *s, const char *point,
			  const char *path)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;

	assert_int_equal(hp_state_read(s, point, path, &b, &err), HP_ENOTFOUND);
	hp_buf_release(&b);
}

/* Commit with a run record; returns the point (caller frees) or NULL. */
static char *commit_run(struct hp_state *s, const char *id, const char *phase,
			bool expect_commit)
{
	static const char *const items[] = {"pg1: loop_wait 10 -> 5"};
	struct hp_state_run run = {id, phase, "ok", "abc123", items, 1};
	struct hp_err err;
	bool committed = !expect_commit;
	char *point = NULL;
	int rc = hp_state_commit(s, NULL, &run, &committed, &point, &err);

	if (rc != 0)
		fail_msg("commit: %s", err.msg);
	assert_int_equal(committed, expect_commit);
	if (!expect_commit)
		assert_null(point);
	return point;
}

/* ---- tests --------------------------------------------------------------- */

static void test_open_creates_bare_repo(void **state)
{
	struct hp_state *s = NULL;
	struct hp_state_point *pts = NULL;
	struct hp_err err;
	struct hp_buf out = HP_BUF_INIT;
	struct stat st;
	char head[41], *dir = fresh("open"), *point = NULL;
	size_t nr = 99;
	bool committed = true;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(hp_state_head(s, head, &err), HP_ENOTFOUND);
	assert_int_equal(hp_state_history(s, &pts, &nr, &err), 0);
	assert_int_equal(nr, 0);
	assert_null(pts);
	/* nothing staged, no HEAD: no commit */
	assert_int_equal(
		hp_state_commit(s, "x", NULL, &committed, &point, &err), 0);
	assert_false(committed);
	hp_state_free(s);
	/* open again: it is ours now */
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	hp_state_free(s);
	hp_state_free(NULL);
	if (have_git_cli()) {
		assert_int_equal(sh(&out,
				    "git -C '%s' rev-parse "
				    "--is-bare-repository",
				    dir),
				 0);
		assert_string_equal(out.buf, "true\n");
	}
	hp_buf_release(&out);
	free(dir);
}

static void test_commit_read_and_git_cli(void **state)
{
	struct hp_state *s = NULL;
	struct hp_err err;
	struct hp_buf out = HP_BUF_INIT;
	char *dir = fresh("commit"), *point, *p;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	p = hp_state_host_path("pg1", "/etc/patroni/config.yml");
	assert_string_equal(p, "hosts/pg1/etc/patroni/config.yml");
	put(s, p, "scope: c1\n");
	put(s, "patroni/dcs.json", "{\"ttl\":30}");
	/* staged: visible in the working set only */
	expect_read(s, NULL, p, "scope: c1\n");
	expect_absent(s, "HEAD", p);

	point = commit_run(s, "run1", "patroni", true);
	assert_string_equal(point, "rp/1-patroni");
	expect_read(s, "HEAD", p, "scope: c1\n");
	expect_read(s, "rp/1-patroni", "patroni/dcs.json", "{\"ttl\":30}");
	expect_read(s, "1", "patroni/dcs.json", "{\"ttl\":30}");
	expect_absent(s, "HEAD", "hosts/pg1/etc"); /* a directory */
	expect_absent(s, "HEAD", "nothing/here");

	if (have_git_cli()) {
		assert_int_equal(sh(&out, "git -C '%s' log --format=%%s", dir),
				 0);
		assert_string_equal(out.buf, "patroni: ok\n");
		hp_buf_reset(&out);
		assert_int_equal(sh(&out,
				    "git -C '%s' show "
				    "rp/1-patroni:patroni/dcs.json",
				    dir),
				 0);
		assert_string_equal(out.buf, "{\"ttl\":30}");
		hp_buf_reset(&out);
		assert_int_equal(sh(&out,
				    "git -C '%s' log -1 --format='%%an "
				    "<%%ae>%%n%%b'",
				    dir),
				 0);
		assert_non_null(strstr(out.buf, "haprov <haprov@localhost>"));
		assert_non_null(strstr(out.buf, "Point: rp/1-patroni"));
		assert_non_null(strstr(out.buf, "Run: run1"));
		assert_int_equal(sh(NULL,
				    "git -C '%s' fsck --strict "
				    "--no-dangling 2>&1",
				    dir),
				 0);
	}
	free(point);
	free(p);
	hp_buf_release(&out);
	hp_state_free(s);
	free(dir);
}

static void test_no_change_no_commit(void **state)
{
	struct hp_state *s = NULL;
	struct hp_state_point *pts = NULL;
	struct hp_err err;
	char before[41], after[41], *dir = fresh("nochange"), *point;
	size_t nr;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	put(s, "patroni/dcs.json", "{\"ttl\":30}");
	point = commit_run(s, "run1", "patroni", true);
	free(point);
	assert_int_equal(hp_state_head(s, before, &err), 0);
	/* the same content again, and a remove of something absent */
	put(s, "patroni/dcs.json", "{\"ttl\":30}");
	assert_int_equal(hp_state_remove(s, "hosts/none", &err), 0);
	point = commit_run(s, "run2", "patroni", false);
	assert_null(point);
	assert_int_equal(hp_state_head(s, after, &err), 0);
	assert_string_equal(before, after);
	assert_int_equal(hp_state_history(s, &pts, &nr, &err), 0);
	assert_int_equal(nr, 1);
	/* the second run wrote no record */
	expect_absent(s, "HEAD", "runs/run2.json");
	hp_state_points_free(pts, nr);
	hp_state_free(s);
	free(dir);
}

static void test_points_history_parents(void **state)
{
	struct hp_state *s = NULL;
	struct hp_state_point *pts = NULL;
	struct hp_err err;
	char id[41], *dir = fresh("history"), *p1, *p2, *p3;
	size_t nr;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	put(s, "hosts/e1/etc/default/etcd", "ETCD_NAME=e1\n");
	p1 = commit_run(s, "r1", "etcd", true);
	put(s, "patroni/dcs.json", "{\"ttl\":30}");
	p2 = commit_run(s, "r1", "patroni", true);
	put(s, "patroni/dcs.json", "{\"ttl\":20}");
	p3 = commit_run(s, "r2", "patroni", true);
	assert_string_equal(p1, "rp/1-etcd");
	assert_string_equal(p2, "rp/2-patroni");
	assert_string_equal(p3, "rp/3-patroni");

	assert_int_equal(hp_state_history(s, &pts, &nr, &err), 0);
	assert_int_equal(nr, 3);
	assert_string_equal(pts[0].tag, "rp/3-patroni");
	assert_int_equal(pts[0].n, 3);
	assert_string_equal(pts[0].phase, "patroni");
	assert_string_equal(pts[0].summary, "patroni: ok");
	assert_true(pts[0].time > 1700000000);
	assert_string_equal(pts[2].tag, "rp/1-etcd");
	assert_string_equal(pts[2].parent, "");
	/* a point's parent is the state before it */
	assert_string_equal(pts[0].parent, pts[1].commit);
	assert_string_equal(pts[1].parent, pts[2].commit);
	assert_int_equal(hp_state_head(s, id, &err), 0);
	assert_string_equal(id, pts[0].commit);
	assert_int_equal(hp_state_resolve(s, "2", id, &err), 0);
	assert_string_equal(id, pts[1].commit);
	assert_int_equal(hp_state_resolve(s, pts[1].commit, id, &err), 0);
	assert_string_equal(id, pts[1].commit);

	expect_read(s, "rp/3-patroni~1", "patroni/dcs.json", "{\"ttl\":30}");
	expect_read(s, "HEAD", "patroni/dcs.json", "{\"ttl\":20}");
	expect_absent(s, "1", "patroni/dcs.json");
	/* the run record of the first run: the later phase overwrote it */
	expect_absent(s, "rp/1-etcd", "runs/r2.json");

	assert_int_equal(hp_state_resolve(s, "rp/99-x", id, &err),
			 HP_ENOTFOUND);
	assert_int_equal(hp_state_resolve(s, "99", id, &err), HP_ENOTFOUND);
	{
		struct hp_buf b = HP_BUF_INIT;

		assert_int_equal(
			hp_state_read(s, "nope", "patroni/dcs.json", &b, &err),
			HP_ENOTFOUND);
		hp_buf_release(&b);
	}
	hp_state_points_free(pts, nr);
	free(p1);
	free(p2);
	free(p3);
	hp_state_free(s);
	free(dir);
}

static void test_full_tree_across_runs(void **state)
{
	struct hp_state *s = NULL;
	struct hp_state_paths paths = {0};
	struct hp_err err;
	char *dir = fresh("full"), *p;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	put(s, "hosts/pg1/a", "1");
	put(s, "hosts/pg2/a", "2");
	p = commit_run(s, "r1", "patroni", true);
	free(p);
	hp_state_free(s);

	/* another run: the working set starts from HEAD */
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	put(s, "hosts/pg3/a", "3");
	p = commit_run(s, "r2", "patroni", true);
	free(p);
	assert_int_equal(hp_state_list(s, "HEAD", "hosts", &paths, &err), 0);
	assert_int_equal(paths.nr, 3);
	assert_string_equal(paths.items[0], "hosts/pg1/a");
	assert_string_equal(paths.items[2], "hosts/pg3/a");
	hp_state_paths_release(&paths);
	assert_int_equal(hp_state_list(s, "HEAD", NULL, &paths, &err), 0);
	assert_int_equal(paths.nr, 5); /* + runs/r1.json, runs/r2.json */
	hp_state_paths_release(&paths);
	hp_state_free(s);
	free(dir);
}

static void test_remove_and_list(void **state)
{
	struct hp_state *s = NULL;
	struct hp_state_paths paths = {0};
	struct hp_err err;
	char *dir = fresh("remove"), *p;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	put(s, "hosts/pg1/etc/a", "a");
	put(s, "hosts/pg1/etc/b", "b");
	put(s, "hosts/pg1.txt", "sorts between pg1 and pg1/");
	put(s, "hosts/pg10/etc/a", "a10");
	put(s, "hosts/pg2/etc/a", "a2");
	put(s, "hosts/pg2/etc/sub/c", "c2");
	p = commit_run(s, "r1", "patroni", true);
	free(p);

	assert_int_equal(hp_state_list(s, NULL, "hosts/pg1/", &paths, &err), 0);
	assert_int_equal(paths.nr, 2);
	assert_string_equal(paths.items[0], "hosts/pg1/etc/a");
	assert_string_equal(paths.items[1], "hosts/pg1/etc/b");
	hp_state_paths_release(&paths);

	/* a file, and a whole directory */
	assert_int_equal(hp_state_remove(s, "hosts/pg1/etc/a", &err), 0);
	assert_int_equal(hp_state_remove(s, "hosts/pg2", &err), 0);
	assert_int_equal(hp_state_list(s, NULL, "hosts", &paths, &err), 0);
	assert_int_equal(paths.nr, 3);
	assert_string_equal(paths.items[0], "hosts/pg1.txt");
	assert_string_equal(paths.items[1], "hosts/pg1/etc/b");
	assert_string_equal(paths.items[2], "hosts/pg10/etc/a");
	hp_state_paths_release(&paths);
	p = commit_run(s, "r2", "patroni", true);
	free(p);
	expect_absent(s, "HEAD", "hosts/pg1/etc/a");
	expect_absent(s, "HEAD", "hosts/pg2/etc/sub/c");
	expect_read(s, "1", "hosts/pg2/etc/sub/c", "c2");
	expect_read(s, "HEAD", "hosts/pg10/etc/a", "a10");
	/* at an old point */
	assert_int_equal(hp_state_list(s, "1", "hosts/pg2", &paths, &err), 0);
	assert_int_equal(paths.nr, 2);
	hp_state_paths_release(&paths);
	/* nothing under a prefix is not an error */
	assert_int_equal(hp_state_list(s, "HEAD", "hosts/zz", &paths, &err), 0);
	assert_int_equal(paths.nr, 0);
	hp_state_paths_release(&paths);
	hp_state_free(s);
	free(dir);
}

static void test_run_record(void **state)
{
	struct hp_state *s = NULL;
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	json_t *rec, *files, *f;
	char *dir = fresh("record"), *p;
	const char *when;
	size_t i;
	int seen = 0;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	put(s, "keep", "1");
	put(s, "change", "1");
	put(s, "gone", "1");
	p = commit_run(s, "r1", "etcd", true);
	free(p);
	put(s, "change", "2");
	put(s, "new", "1");
	assert_int_equal(hp_state_remove(s, "gone", &err), 0);
	p = commit_run(s, "r2", "tuning", true);
	assert_string_equal(p, "rp/2-tuning");

	assert_int_equal(hp_state_read(s, p, "runs/r2.json", &b, &err), 0);
	rec = json_loads(b.buf, 0, NULL);
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "run_id")),
			    "r2");
	assert_string_equal(json_string_value(json_object_get(rec, "phase")),
			    "tuning");
	assert_string_equal(json_string_value(json_object_get(rec, "result")),
			    "ok");
	assert_string_equal(json_string_value(json_object_get(rec, "point")),
			    "rp/2-tuning");
	assert_string_equal(
		json_string_value(json_object_get(rec, "inventory_sha256")),
		"abc123");
	assert_non_null(
		strchr(json_string_value(json_object_get(rec, "who")), '@'));
	when = json_string_value(json_object_get(rec, "when"));
	assert_int_equal(strlen(when), 20);
	assert_int_equal(when[10], 'T');
	assert_int_equal(when[19], 'Z');
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(rec, "items"), 0)),
			    "pg1: loop_wait 10 -> 5");
	files = json_object_get(rec, "files");
	assert_int_equal(json_array_size(files), 3);
	json_array_foreach(files, i, f)
	{
		const char *path =
			json_string_value(json_object_get(f, "path"));
		const char *chg =
			json_string_value(json_object_get(f, "change"));

		if (!strcmp(path, "change") && !strcmp(chg, "modified"))
			seen |= 1;
		if (!strcmp(path, "new") && !strcmp(chg, "added"))
			seen |= 2;
		if (!strcmp(path, "gone") && !strcmp(chg, "deleted"))
			seen |= 4;
	}
	assert_int_equal(seen, 7);
	json_decref(rec);
	hp_buf_release(&b);
	free(p);
	hp_state_free(s);
	free(dir);
}

struct scan {
	git_odb *odb;
	const char *needle;
	size_t objects, hits;
};

static int scan_cb(const git_oid *id, void *payload)
{
	struct scan *sc = payload;
	git_odb_object *obj = NULL;

	assert_int_equal(git_odb_read(&obj, sc->odb, id), 0);
	sc->objects++;
	if (memmem(git_odb_object_data(obj), git_odb_object_size(obj),
		   sc->needle, strlen(sc->needle)))
		sc->hits++;
	git_odb_object_free(obj);
	return 0;
}

/* How many objects in dir's database contain needle; *objects = total. */
static size_t scan_odb(const char *dir, const char *needle, size_t *objects)
{
	git_repository *repo = NULL;
	struct scan sc = {NULL, needle, 0, 0};

	assert_int_equal(git_repository_open(&repo, dir), 0);
	assert_int_equal(git_repository_odb(&sc.odb, repo), 0);
	assert_int_equal(git_odb_foreach(sc.odb, scan_cb, &sc), 0);
	git_odb_free(sc.odb);
	git_repository_free(repo);
	*objects = sc.objects;
	return sc.hits;
}

static void test_secret_hash_never_stores_content(void **state)
{
	static const char secret[] =
		"PATRONI_SUPERUSER_PASSWORD=Sup3rS3cretValue-7f3a91\n";
	const char *path = "hosts/pg1/etc/patroni_env.conf";
	struct hp_state *s = NULL;
	struct hp_err err;
	char hex[65], want[66], *dir = fresh("secret"), *p;
	size_t objects = 0;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	/* a plain copy from before the file was known to hold secrets goes */
	put(s, path, "PATRONI_LOG_LEVEL=INFO\n");
	assert_int_equal(
		hp_state_put_secret_hash(s, path, secret, strlen(secret), &err),
		0);
	expect_absent(s, NULL, path);
	/* staged only: the content must not be in the database either */
	assert_int_equal(scan_odb(dir, "Sup3rS3cretValue", &objects), 0);
	p = commit_run(s, "r1", "secrets", true);
	hp_sha256_hex(secret, strlen(secret), hex);
	snprintf(want, sizeof(want), "%s\n", hex);
	expect_read(s, "HEAD", "hosts/pg1/etc/patroni_env.conf.sha256", want);
	expect_absent(s, "HEAD", path);
	/* every object: blobs, trees, commits */
	assert_int_equal(scan_odb(dir, "Sup3rS3cretValue", &objects), 0);
	assert_true(objects >= 5);
	/* the scan does find what is there */
	assert_int_equal(scan_odb(dir, "PATRONI_LOG_LEVEL", &objects), 1);
	free(p);
	hp_state_free(s);
	free(dir);
}

static void test_bad_paths(void **state)
{
	static const char *const bad[] = {"",	"/abs",	       "a//b",
					  "a/", "a/../b",      "./a",
					  "..", ".git/config", "x/.GIT/y"};
	struct hp_state *s = NULL;
	struct hp_err err;
	char *dir = fresh("paths");
	size_t i;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++)
		assert_int_equal(hp_state_put(s, bad[i], "x", 1, &err),
				 HP_EINVALID);
	assert_int_equal(hp_state_remove(s, "/etc", &err), HP_EINVALID);
	/* a file cannot be a directory, nor the other way round */
	put(s, "a/b", "x");
	assert_int_equal(hp_state_put(s, "a", "x", 1, &err), HP_EINVALID);
	assert_int_equal(hp_state_put(s, "a/b/c", "x", 1, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "'a/b' is a file"));
	/* bad run records */
	{
		struct hp_state_run run = {"r 1", "etcd", "ok", NULL, NULL, 0};
		bool committed;

		assert_int_equal(
			hp_state_commit(s, NULL, &run, &committed, NULL, &err),
			HP_EINVALID);
		run.id = "r1";
		run.phase = "../x";
		assert_int_equal(
			hp_state_commit(s, NULL, &run, &committed, NULL, &err),
			HP_EINVALID);
		assert_false(committed);
	}
	hp_state_free(s);
	free(dir);
}

static void test_refuses_other_dirs(void **state)
{
	struct hp_state *s = NULL;
	git_repository *repo = NULL;
	struct hp_err err;
	char *proj = xasprintf("%s/proj", tmpdir);
	char *inside = xasprintf("%s/proj/.haprov/c1", tmpdir);
	char *plain = xasprintf("%s/plain", tmpdir);
	char *file = xasprintf("%s/plain/f", tmpdir);
	char head[41];

	(void)state;
	/* someone's project repository */
	assert_int_equal(git_repository_init(&repo, proj, 0), 0);
	assert_int_equal(hp_state_open(&s, proj, &err), HP_EINVALID);
	assert_null(s);
	assert_non_null(strstr(err.msg, "not a haprov state repository"));
	/* a state directory inside it is its own repository */
	assert_int_equal(hp_state_open(&s, inside, &err), 0);
	put(s, "x", "1");
	free(commit_run(s, "r1", "etcd", true));
	assert_int_equal(hp_state_head(s, head, &err), 0);
	hp_state_free(s);
	assert_true(git_repository_head_unborn(repo) == 1);
	git_repository_free(repo);
	/* a non-empty directory, and a file */
	assert_int_equal(hp_mkdir_p(plain, 0700, &err), 0);
	assert_int_equal(hp_write_file_atomic(file, "x", 1, 0600, &err), 0);
	assert_int_equal(hp_state_open(&s, plain, &err), HP_EINVALID);
	assert_int_equal(hp_state_open(&s, file, &err), HP_EINVALID);
	free(proj);
	free(inside);
	free(plain);
	free(file);
}

/* plan writes nothing: peeking at a state directory never creates it, nor
 * a repository in an empty one, and tells whether commits exist */
static void test_peek_creates_nothing(void **state)
{
	struct hp_state *s = NULL;
	struct hp_err err;
	struct stat st;
	char *missing = fresh("peek-missing");
	char *empty = xasprintf("%s/peek-empty", tmpdir);
	char *repo = fresh("peek-repo");
	char *plain = xasprintf("%s/peek-plain", tmpdir);
	char *file = xasprintf("%s/peek-plain/f", tmpdir);
	bool commits = true;

	(void)state;
	assert_int_equal(hp_state_peek(missing, &commits, &err), 0);
	assert_false(commits);
	assert_int_equal(stat(missing, &st), -1);
	assert_int_equal(mkdir(empty, 0700), 0);
	commits = true;
	assert_int_equal(hp_state_peek(empty, &commits, &err), 0);
	assert_false(commits);
	assert_int_equal(rmdir(empty), 0); /* still empty */
	/* a repository without a commit, then with one */
	assert_int_equal(hp_state_open(&s, repo, &err), 0);
	commits = true;
	assert_int_equal(hp_state_peek(repo, &commits, &err), 0);
	assert_false(commits);
	put(s, "x", "1");
	free(commit_run(s, "r1", "etcd", true));
	assert_int_equal(hp_state_peek(repo, &commits, &err), 0);
	assert_true(commits);
	hp_state_free(s);
	/* anything else is refused, as hp_state_open does */
	assert_int_equal(hp_mkdir_p(plain, 0700, &err), 0);
	assert_int_equal(hp_write_file_atomic(file, "x", 1, 0600, &err), 0);
	assert_int_equal(hp_state_peek(plain, &commits, &err), HP_EINVALID);
	assert_int_equal(hp_state_peek(file, &commits, &err), HP_EINVALID);
	free(missing);
	free(empty);
	free(repo);
	free(plain);
	free(file);
}

static void test_reset(void **state)
{
	struct hp_state *s = NULL;
	struct hp_err err;
	char *dir = fresh("reset"), *p;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	put(s, "patroni/dcs.json", "{\"ttl\":30}");
	free(commit_run(s, "r1", "patroni", true));
	put(s, "patroni/dcs.json", "{\"ttl\":20}");
	put(s, "hosts/pg1/x", "x");
	free(commit_run(s, "r2", "patroni", true));

	/* drop staged changes */
	put(s, "patroni/dcs.json", "{\"ttl\":10}");
	assert_int_equal(hp_state_reset(s, NULL, &err), 0);
	expect_read(s, NULL, "patroni/dcs.json", "{\"ttl\":20}");
	free(commit_run(s, "r3", "patroni", false));

	/* restore point 1 and record the restore as a new point */
	assert_int_equal(hp_state_reset(s, "rp/1-patroni", &err), 0);
	expect_read(s, NULL, "patroni/dcs.json", "{\"ttl\":30}");
	expect_absent(s, NULL, "hosts/pg1/x");
	p = commit_run(s, "r4", "rollback", true);
	assert_string_equal(p, "rp/3-rollback");
	expect_read(s, "HEAD", "patroni/dcs.json", "{\"ttl\":30}");
	expect_read(s, "HEAD~1", "patroni/dcs.json", "{\"ttl\":20}");
	assert_int_equal(hp_state_reset(s, "rp/42-none", &err), HP_ENOTFOUND);
	free(p);
	hp_state_free(s);
	free(dir);
}

struct worker {
	struct hp_state *s;
	int id;
	int failures;
};

static void *put_many(void *arg)
{
	struct worker *w = arg;
	struct hp_err err;
	int i;

	for (i = 0; i < 50; i++) {
		char *path = xasprintf("hosts/h%d/f%02d", w->id, i);

		if (hp_state_put(w->s, path, path, strlen(path), &err) < 0)
			w->failures++;
		free(path);
	}
	return NULL;
}

static void test_parallel_puts(void **state)
{
	struct hp_state *s = NULL;
	struct hp_state_paths paths = {0};
	struct worker w[4];
	pthread_t th[4];
	struct hp_err err;
	char *dir = fresh("parallel");
	int i;

	(void)state;
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){s, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, put_many, &w[i]),
				 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	free(commit_run(s, "r1", "patroni", true));
	assert_int_equal(hp_state_list(s, "HEAD", "hosts", &paths, &err), 0);
	assert_int_equal(paths.nr, 200);
	hp_state_paths_release(&paths);
	expect_read(s, "HEAD", "hosts/h3/f49", "hosts/h3/f49");
	hp_state_free(s);
	free(dir);
}

static void test_plain_commit_and_run_id(void **state)
{
	struct hp_state *s = NULL;
	struct hp_state_point *pts = NULL;
	struct hp_err err;
	char id[64], *dir = fresh("plain-commit"), *point = NULL;
	size_t nr;
	bool committed;

	(void)state;
	hp_state_run_id(id, sizeof(id));
	assert_int_equal(id[8], 'T');
	assert_int_equal(id[15], 'Z');
	assert_int_equal(id[16], '-');
	assert_int_equal(hp_state_open(&s, dir, &err), 0);
	put(s, "a", "1");
	assert_int_equal(
		hp_state_commit(s, "import\n", NULL, &committed, &point, &err),
		0);
	assert_true(committed);
	assert_null(point);
	assert_int_equal(hp_state_history(s, &pts, &nr, &err), 0);
	assert_int_equal(nr, 0);
	hp_state_free(s);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_creates_bare_repo),
		cmocka_unit_test(test_commit_read_and_git_cli),
		cmocka_unit_test(test_no_change_no_commit),
		cmocka_unit_test(test_points_history_parents),
		cmocka_unit_test(test_full_tree_across_runs),
		cmocka_unit_test(test_remove_and_list),
		cmocka_unit_test(test_run_record),
		cmocka_unit_test(test_secret_hash_never_stores_content),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_refuses_other_dirs),
		cmocka_unit_test(test_peek_creates_nothing),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_parallel_puts),
		cmocka_unit_test(test_plain_commit_and_run_id),
	};
	int rc;

	git_libgit2_init();
	rc = cmocka_run_group_tests(tests, setup, teardown);
	git_libgit2_shutdown();
	return rc;
}
