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
#include <stdio.h>
#include <sys/stat.h>

#ifndef HP_TMPDIR_PREFIX
#error "define HP_TMPDIR_PREFIX before including tmpdir_fixture.h"
#endif

static char tmpdir[64];

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
