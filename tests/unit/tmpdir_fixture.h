#ifndef HP_TMPDIR_FIXTURE_H
#define HP_TMPDIR_FIXTURE_H
/*
 * A fresh temporary directory per test, for the tests that write local
 * files (lock, state repository, secret store, apply):
 *
 *	#define HP_TMPDIR_PREFIX "/tmp/hp-state-"
 *	#include "tmpdir_fixture.h"
 *	...
 *	cmocka_unit_test_setup_teardown(test_x, setup, teardown)
 *
 * setup makes tmpdir (mkdtemp), teardown removes it and everything in it
 * (symlinks are removed, never followed).
 */
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

#ifndef HP_TMPDIR_PREFIX
#error "define HP_TMPDIR_PREFIX before including tmpdir_fixture.h"
#endif

static char tmpdir[64];

/* A path under tmpdir; caller frees. */
static inline char *tpath(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* A file's permission bits (lstat: a symlink's own). */
static inline unsigned mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return (unsigned)(st.st_mode & 07777);
}

static inline bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%sXXXXXX", HP_TMPDIR_PREFIX);
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

#endif
