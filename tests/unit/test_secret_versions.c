/*
 * Versions in the secret store (secret_versions.c) on a real directory:
 * every value kept by its sha256 in versions/<name>/, staging that does
 * not touch the current value, atomic promotion that keeps the previous
 * one, lazy migration of a store made before versions, and refusal with
 * the file named of a version that is corrupt, truncated, a link, or too
 * open.
 */
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

#include "secret_store.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-secver-"
#include "tmpdir_fixture.h"

static ino_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_ino;
}

static void write_text(const char *path, const char *text, unsigned mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* Entries in dir, "." and ".." excluded. */
static int count(const char *dir)
{
	char *cmd = xasprintf("ls -A '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;

	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	free(cmd);
	return n;
}

/* A fresh store with secret "superuser" created; *sha gets its hash. */
static char *new_store(const char *name, char **val, char sha[65])
{
	char *store = tpath(name);
	struct hp_err err;

	assert_int_equal(hp_secret_store_create(store, &err), 0);
	assert_int_equal(hp_secret_create(val, store, "superuser", 20, &err),
			 0);
	hp_secret_hash(*val, sha);
	return store;
}

static void test_create_records_version(void **state)
{
	char sha[65], got_sha[65];
	char *val = NULL, *got = NULL, *store = new_store("create", &val, sha);
	char *vdir = xasprintf("%s/versions/superuser", store);
	char *vfile = xasprintf("%s/%s", vdir, sha);
	char *top = xasprintf("%s/versions", store);
	struct hp_err err;

	(void)state;
	assert_int_equal(strlen(sha), 64);
	assert_int_equal(mode_of(top), 0700);
	assert_int_equal(mode_of(vdir), 0700);
	assert_int_equal(mode_of(vfile), 0600);
	assert_int_equal(count(vdir), 1);
	assert_int_equal(hp_secret_read_hashed(&got, got_sha, store,
					       "superuser", &err),
			 0);
	assert_string_equal(got, val);
	assert_string_equal(got_sha, sha);
	hp_secret_free(got);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha,
						&err),
			 0);
	assert_string_equal(got, val);
	hp_secret_free(got);
	/* "versions" is the directory, never a secret */
	assert_int_equal(hp_secret_create(&got, store, "versions", 8, &err),
			 HP_EINVALID);
	hp_secret_free(val);
	free(store);
	free(vdir);
	free(vfile);
	free(top);
}

static void test_stage_then_promote(void **state)
{
	char sha1[65], sha2[65], cur[65];
	char *v1 = NULL, *v2 = NULL, *got = NULL;
	char *store = new_store("promote", &v1, sha1);
	char *file = xasprintf("%s/superuser", store);
	char *vdir = xasprintf("%s/versions/superuser", store);
	struct hp_err err;
	ino_t ino;

	(void)state;
	assert_int_equal(hp_secret_stage(&v2, sha2, store, "superuser", 24,
					 &err),
			 0);
	assert_int_equal(strlen(v2), 24);
	assert_string_not_equal(sha1, sha2);
	/* staged: kept, not current */
	assert_int_equal(hp_secret_read_hashed(&got, cur, store, "superuser",
					       &err),
			 0);
	assert_string_equal(got, v1);
	assert_string_equal(cur, sha1);
	hp_secret_free(got);
	assert_int_equal(count(vdir), 2);
	/* promoted: current, atomically (a new file renamed in place) */
	ino = inode_of(file);
	assert_int_equal(hp_secret_promote(store, "superuser", sha2, &err), 0);
	assert_true(inode_of(file) != ino);
	assert_int_equal(mode_of(file), 0600);
	assert_int_equal(hp_secret_read_hashed(&got, cur, store, "superuser",
					       &err),
			 0);
	assert_string_equal(got, v2);
	assert_string_equal(cur, sha2);
	hp_secret_free(got);
	/* the previous value stays, and can come back */
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha1,
						&err),
			 0);
	assert_string_equal(got, v1);
	hp_secret_free(got);
	assert_int_equal(hp_secret_promote(store, "superuser", sha1, &err), 0);
	assert_int_equal(hp_secret_read(&got, store, "superuser", &err), 0);
	assert_string_equal(got, v1);
	hp_secret_free(got);
	/* already current: nothing is written */
	ino = inode_of(file);
	assert_int_equal(hp_secret_promote(store, "superuser", sha1, &err), 0);
	assert_int_equal(inode_of(file), ino);
	/* no temporary file anywhere */
	assert_int_equal(count(store), 2);
	assert_int_equal(count(vdir), 2);
	hp_secret_free(v1);
	hp_secret_free(v2);
	free(store);
	free(file);
	free(vdir);
}

/* A store made before versions: read as before, migrated when needed. */
static void test_old_store_migrates_lazily(void **state)
{
	char *store = tpath("old");
	char *file = xasprintf("%s/rewind", store);
	char *top = xasprintf("%s/versions", store);
	char sha[65], sha2[65];
	char *got = NULL, *v2 = NULL;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_secret_store_create(store, &err), 0);
	write_text(file, "handmade\n", 0600);
	hp_secret_hash("handmade", sha);
	/* reading never writes */
	assert_int_equal(hp_secret_read_hashed(&got, sha2, store, "rewind",
					       &err),
			 0);
	assert_string_equal(sha2, sha);
	hp_secret_free(got);
	assert_int_equal(hp_secret_read_version(&got, store, "rewind", sha,
						&err),
			 HP_ENOTFOUND);
	assert_false(exists(top));
	/* staging records the current value first */
	assert_int_equal(hp_secret_stage(&v2, sha2, store, "rewind", 16, &err),
			 0);
	assert_int_equal(hp_secret_read_version(&got, store, "rewind", sha,
						&err),
			 0);
	assert_string_equal(got, "handmade");
	hp_secret_free(got);
	/* keep_version of the current value: there already, checked */
	assert_int_equal(hp_secret_keep_version(store, "rewind", NULL, sha2,
						&err),
			 0);
	assert_string_equal(sha2, sha);
	/* an old store with no versions at all: promote keeps the current */
	write_text(file, "other\n", 0600);
	hp_secret_hash(v2, sha2);
	assert_int_equal(hp_secret_promote(store, "rewind", sha2, &err), 0);
	hp_secret_hash("other", sha);
	assert_int_equal(hp_secret_read_version(&got, store, "rewind", sha,
						&err),
			 0);
	assert_string_equal(got, "other");
	hp_secret_free(got);
	hp_secret_free(v2);
	free(store);
	free(file);
	free(top);
}

static void test_missing_and_bad_versions(void **state)
{
	char sha[65], other[65];
	char *val = NULL, *got = (char *)1;
	char *store = new_store("missing", &val, sha);
	struct hp_err err;

	(void)state;
	hp_secret_hash("never stored", other);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser",
						other, &err),
			 HP_ENOTFOUND);
	assert_null(got);
	assert_non_null(strstr(err.msg, store));
	assert_non_null(strstr(err.msg, "superuser"));
	assert_non_null(strstr(err.msg, other));
	/* a secret with no versions at all */
	assert_int_equal(hp_secret_read_version(&got, store, "rewind", other,
						&err),
			 HP_ENOTFOUND);
	assert_non_null(strstr(err.msg, other));
	/* promoting what is not there changes nothing */
	assert_int_equal(hp_secret_promote(store, "superuser", other, &err),
			 HP_ENOTFOUND);
	assert_int_equal(hp_secret_read(&got, store, "superuser", &err), 0);
	assert_string_equal(got, val);
	hp_secret_free(got);
	/* a version is a sha256 in lowercase hex, nothing else */
	assert_int_equal(hp_secret_read_version(&got, store, "superuser",
						"../../superuser", &err),
			 HP_EINVALID);
	sha[0] = (char)(sha[0] == 'a' ? 'A' : 'F');
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha,
						&err),
			 HP_EINVALID);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser",
						"abc", &err),
			 HP_EINVALID);
	assert_int_equal(hp_secret_promote(store, "superuser", "abc", &err),
			 HP_EINVALID);
	hp_secret_free(val);
	free(store);
}

/* A version whose value does not hash to its name is never used. */
static void test_corrupt_and_partial_versions(void **state)
{
	char sha1[65], sha2[65];
	char *v1 = NULL, *v2 = NULL, *got = NULL;
	char *store = new_store("corrupt", &v1, sha1);
	char *f1, *f2, *leftover;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_secret_stage(&v2, sha2, store, "superuser", 20,
					 &err),
			 0);
	f1 = xasprintf("%s/versions/superuser/%s", store, sha1);
	f2 = xasprintf("%s/versions/superuser/%s", store, sha2);
	/* another value in the file */
	write_text(f2, "tampered\n", 0600);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha2,
						&err),
			 HP_EINVALID);
	assert_null(got);
	assert_non_null(strstr(err.msg, f2));
	assert_non_null(strstr(err.msg, "corrupt"));
	/* it cannot become current */
	assert_int_equal(hp_secret_promote(store, "superuser", sha2, &err),
			 HP_EINVALID);
	assert_int_equal(hp_secret_read(&got, store, "superuser", &err), 0);
	assert_string_equal(got, v1);
	hp_secret_free(got);
	/* nor be taken for the right one when that value is kept again */
	assert_int_equal(hp_secret_keep_version(store, "superuser", v2, NULL,
						&err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, f2));
	/* truncated (a copy cut short), and empty */
	v1[5] = '\0';
	write_text(f1, v1, 0600);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha1,
						&err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, f1));
	write_text(f1, "", 0600);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha1,
						&err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, f1));
	/* a temporary file left by a killed run is no version */
	leftover = xasprintf("%s.new-AAAAAAAAAAAA", f2);
	write_text(leftover, "half", 0600);
	hp_secret_hash("half", sha2);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha2,
						&err),
			 HP_ENOTFOUND);
	hp_secret_free(v1);
	hp_secret_free(v2);
	free(store);
	free(f1);
	free(f2);
	free(leftover);
}

/* Links and loose permissions in versions/: refused, named, left alone. */
static void test_version_links_and_modes(void **state)
{
	char sha[65], sha2[65];
	char *val = NULL, *got = NULL, *v2 = NULL;
	char *store = new_store("modes", &val, sha);
	char *vdir = xasprintf("%s/versions/superuser", store);
	char *vfile = xasprintf("%s/%s", vdir, sha);
	char *elsewhere = tpath("elsewhere");
	char *cur = xasprintf("%s/superuser", store);
	struct hp_err err;

	(void)state;
	assert_int_equal(chmod(vfile, 0644), 0);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha,
						&err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "permissions 0644"));
	assert_int_equal(mode_of(vfile), 0644);
	assert_int_equal(chmod(vfile, 0600), 0);
	assert_int_equal(chmod(vdir, 0755), 0);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha,
						&err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, vdir));
	assert_int_equal(hp_secret_stage(&v2, sha2, store, "superuser", 8,
					 &err),
			 HP_EINVALID);
	assert_null(v2);
	assert_int_equal(mode_of(vdir), 0755);
	assert_int_equal(chmod(vdir, 0700), 0);
	/* a version file that is a link */
	write_text(elsewhere, "x\n", 0600);
	assert_int_equal(unlink(vfile), 0);
	assert_int_equal(symlink(elsewhere, vfile), 0);
	assert_int_equal(hp_secret_read_version(&got, store, "superuser", sha,
						&err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(unlink(vfile), 0);
	/* the versions directory as a link */
	assert_int_equal(rmdir(vdir), 0);
	free(elsewhere);
	elsewhere = tpath("elsewhere-dir");
	assert_int_equal(mkdir(elsewhere, 0700), 0);
	assert_int_equal(symlink(elsewhere, vdir), 0);
	assert_int_equal(hp_secret_keep_version(store, "superuser", val, NULL,
						&err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(count(elsewhere), 0);
	/* a current file that is a link is never replaced by a promotion */
	assert_int_equal(unlink(vdir), 0);
	assert_int_equal(hp_secret_stage(&v2, sha2, store, "superuser", 8,
					 &err),
			 0);
	assert_int_equal(unlink(cur), 0);
	assert_int_equal(symlink(elsewhere, cur), 0);
	assert_int_equal(hp_secret_promote(store, "superuser", sha2, &err),
			 HP_EINVALID);
	{
		struct stat st;

		assert_int_equal(lstat(cur, &st), 0);
		assert_true(S_ISLNK(st.st_mode));
	}
	hp_secret_free(val);
	hp_secret_free(v2);
	free(store);
	free(vdir);
	free(vfile);
	free(elsewhere);
	free(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_records_version),
		cmocka_unit_test(test_stage_then_promote),
		cmocka_unit_test(test_old_store_migrates_lazily),
		cmocka_unit_test(test_missing_and_bad_versions),
		cmocka_unit_test(test_corrupt_and_partial_versions),
		cmocka_unit_test(test_version_links_and_modes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
