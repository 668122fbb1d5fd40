/*
 * Pinning the run's secrets (bootstrap.c): each loaded secret's hash, the
 * pin set a rollback point records (secrets.json, hashes only), loading a
 * pin set instead of the current versions and promoting it back, and
 * `plan`, which writes nothing in the store, not even a version.
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
#include <git2.h>

#include "bootstrap.h"
#include "fake_rest.h"
#include "fake_transport.h"
#include "secret_store.h"
#include "state.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-secpins-"
#include "tmpdir_fixture.h"

#include "secret_run_fixture.h"

/* Entries in dir ("." and ".." excluded), -1 when it does not exist. */
static int entries(const char *dir)
{
	char *cmd = xasprintf("ls -A '%s' 2>/dev/null | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;

	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	free(cmd);
	return exists(dir) ? n : -1;
}

/* plan writes nothing, not even locally: an empty store stays empty, a
 * full one gets no versions recorded, a missing one is not created. */
static void test_plan_leaves_store_untouched(void **state)
{
	struct fx *x = fx_new("planempty", true, NULL);
	struct hp_run_secrets s;

	(void)state;
	assert_int_equal(hp_secret_store_create(x->store, &x->err), 0);
	holders(x, "", "", "");
	assert_int_equal(hp_run_secrets_load(&s, &x->run, false, &x->err), 0);
	assert_int_equal(entries(x->store), 0);
	assert_int_equal(mode_of(x->store), 0700);
	assert_string_equal(s.rs.rewind, "<secret:rewind>");
	assert_non_null(strstr(x->run.results[0].detail, "would be generated"));
	hp_run_secrets_release(&s);
	fx_free(x);
	/* a store from before versions, read by plan: still no versions */
	x = fx_new("planold", true, NULL);
	fill_store(x, -1);
	{
		char *cmd = xasprintf("rm -r '%s/versions'", x->store);

		assert_int_equal(system(cmd), 0);
		free(cmd);
	}
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	assert_int_equal(entries(x->store), HP_SECRET_NR);
	assert_int_equal(strlen(s.sha256[HP_SECRET_REWIND]), 64);
	hp_run_secrets_release(&s);
	fx_free(x);
}

/* An apply run records the versions it uses (a store from before
 * versions migrates), and knows their hashes; pins are hashes only. */
static void test_pins_hashes_only(void **state)
{
	struct fx *x = fx_new("pins", false, NULL);
	struct hp_run_secrets s;
	char *cmd, *text;
	json_t *pins;
	int i;

	(void)state;
	fill_store(x, -1);
	cmd = xasprintf("rm -r '%s/versions'", x->store);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	pins = hp_run_secrets_pins(&s);
	text = json_dumps(pins, JSON_SORT_KEYS);
	for (i = 0; i < HP_SECRET_NR; i++) {
		const char *name = hp_secret_name((enum hp_secret_id)i);
		char *v = NULL;

		/* no vip or pgbouncer hosts here: their secrets are neither
		 * loaded nor pinned */
		if (!hp_secret_used((enum hp_secret_id)i, x->run.inv)) {
			assert_null(s.val[i]);
			assert_null(json_object_get(pins, name));
			continue;
		}
		assert_string_equal(json_string_value(json_object_get(pins,
								      name)),
				    s.sha256[i]);
		assert_null(strstr(text, s.val[i]));
		assert_int_equal(hp_secret_read_version(&v, x->store, name,
							s.sha256[i], &x->err),
				 0);
		assert_string_equal(v, s.val[i]);
		hp_secret_free(v);
	}
	free(text);
	json_decref(pins);
	hp_run_secrets_release(&s);
	fx_free(x);
}

/* Loading a pin set gives the pinned versions, not the current ones, and
 * promoting them makes them current again. */
static void test_load_pinned_and_promote(void **state)
{
	struct fx *x = fx_new("pinned", false, NULL);
	struct hp_run_secrets s, p;
	char sha[65], *newval = NULL, *cur = NULL;
	json_t *pins;

	(void)state;
	fill_store(x, -1);
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	pins = hp_run_secrets_pins(&s);
	/* a rotation since the point */
	assert_int_equal(hp_secret_stage(&newval, sha, x->store, "superuser",
					 12, &x->err),
			 0);
	assert_int_equal(hp_secret_promote(x->store, "superuser", sha,
					   &x->err),
			 0);
	/* haproxy_stats unknown to the point: today's value */
	json_object_del(pins, "haproxy_stats");
	assert_int_equal(hp_run_secrets_load_pinned(&p, &x->run, pins,
						    &x->err),
			 0);
	assert_string_equal(p.rs.superuser, s.val[HP_SECRET_SUPERUSER]);
	assert_string_not_equal(p.rs.superuser, newval);
	assert_string_equal(p.sha256[HP_SECRET_SUPERUSER],
			    s.sha256[HP_SECRET_SUPERUSER]);
	assert_string_equal(p.rs.haproxy_stats,
			    s.val[HP_SECRET_HAPROXY_STATS]);
	/* no vip or pgbouncer hosts: nothing to render, not a placeholder */
	assert_null(p.rs.vip_auth);
	assert_null(p.rs.pgbouncer_auth);
	assert_int_equal(hp_secret_read(&cur, x->store, "superuser", &x->err),
			 0);
	assert_string_equal(cur, newval); /* loading changed nothing */
	hp_secret_free(cur);
	assert_int_equal(hp_run_secrets_promote_pins(&p, &x->run, &x->err), 0);
	assert_int_equal(hp_secret_read(&cur, x->store, "superuser", &x->err),
			 0);
	assert_string_equal(cur, s.val[HP_SECRET_SUPERUSER]);
	hp_secret_free(cur);
	hp_secret_free(newval);
	json_decref(pins);
	hp_run_secrets_release(&p);
	hp_run_secrets_release(&s);
	fx_free(x);
}

/* A pinned version the store lacks: an error naming the store, the secret
 * and the hash; nothing loaded, nothing written. */
static void test_load_pinned_missing(void **state)
{
	struct fx *x = fx_new("pinmiss", false, NULL);
	struct hp_run_secrets p;
	char gone[65];
	json_t *pins = json_object();
	int i;

	(void)state;
	fill_store(x, -1);
	hp_secret_hash("a value this store never had", gone);
	json_object_set_new(pins, "rewind", json_string(gone));
	assert_int_equal(hp_run_secrets_load_pinned(&p, &x->run, pins,
						    &x->err),
			 HP_ENOTFOUND);
	assert_non_null(strstr(x->err.msg, x->store));
	assert_non_null(strstr(x->err.msg, "rewind"));
	assert_non_null(strstr(x->err.msg, gone));
	for (i = 0; i < HP_SECRET_NR; i++)
		assert_null(p.val[i]);
	json_object_set_new(pins, "rewind", json_integer(3));
	assert_int_equal(hp_run_secrets_load_pinned(&p, &x->run, pins,
						    &x->err),
			 HP_EINVALID);
	assert_int_equal(hp_run_secrets_load_pinned(&p, &x->run, NULL,
						    &x->err),
			 HP_EINVALID);
	json_decref(pins);
	fx_free(x);
}

/* The commit records secrets.json; a rollback to that point uses it, an
 * older point without one keeps the current secrets. */
static void test_commit_pins_and_use_point(void **state)
{
	struct fx *x = fx_new("commitpins", false, NULL);
	char *dir = tpath("commitpins.state");
	struct hp_state_run rec = {"r1", "patroni", "ok", NULL, NULL, 0};
	struct hp_run_secrets s, p;
	struct hp_buf b = HP_BUF_INIT;
	struct hp_state *st = NULL;
	char *point = NULL, *newval = NULL, sha[65];
	bool committed = false;
	json_t *j;

	(void)state;
	fill_store(x, -1);
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	x->run.secrets = &s.rs;
	if (hp_state_open(&st, dir, &x->err) < 0)
		fail_msg("%s", x->err.msg);
	x->run.state = st;
	/* an older point: no secrets.json */
	assert_int_equal(hp_state_put(st, "a", "1", 1, &x->err), 0);
	assert_int_equal(hp_state_commit(st, NULL, &rec, &committed, &point,
					 &x->err),
			 0);
	assert_int_equal(hp_run_secrets_use_point(&p, &x->run, point, &x->err),
			 0);
	assert_ptr_equal(x->run.secrets, &s.rs);
	free(point);
	/* a point with pins */
	{
		const char *other = "{\"role-app\": \"x\"}";

		assert_int_equal(hp_state_put(st, HP_SECRET_PINS_PATH, other,
					      strlen(other), &x->err),
				 0);
	}
	assert_int_equal(hp_run_secrets_commit_pins(&x->run, &x->err), 0);
	assert_int_equal(hp_state_read(st, NULL, HP_SECRET_PINS_PATH, &b,
				       &x->err),
			 0);
	assert_null(strstr(b.buf, s.val[HP_SECRET_SUPERUSER]));
	j = json_loads(b.buf, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "rewind")),
			    s.sha256[HP_SECRET_REWIND]);
	/* others' entries are kept */
	assert_string_equal(json_string_value(json_object_get(j, "role-app")),
			    "x");
	json_decref(j);
	rec.id = "r2";
	assert_int_equal(hp_state_commit(st, NULL, &rec, &committed, &point,
					 &x->err),
			 0);
	assert_int_equal(hp_secret_stage(&newval, sha, x->store, "rewind", 12,
					 &x->err),
			 0);
	assert_int_equal(hp_secret_promote(x->store, "rewind", sha, &x->err),
			 0);
	assert_int_equal(hp_run_secrets_use_point(&p, &x->run, point, &x->err),
			 1);
	assert_ptr_equal(x->run.secrets, &p.rs);
	assert_string_equal(p.rs.rewind, s.val[HP_SECRET_REWIND]);
	x->run.secrets = NULL;
	x->run.state = NULL;
	hp_run_secrets_release(&p);
	hp_run_secrets_release(&s);
	hp_secret_free(newval);
	hp_buf_release(&b);
	free(point);
	free(dir);
	hp_state_free(st);
	fx_free(x);
}


/* Application roles' passwords are pinned too: the commit records the
 * version the run used; a rollback reads the point's version (not
 * today's), records it again, and makes it current; a pinned version the
 * store lacks stops the rollback before anything changes. */
static void test_role_pins(void **state)
{
	struct hp_state_run rec = {"r1", "secrets", "ok", NULL, NULL, 0};
	struct fx *x;
	char *dir = tpath("rolepins.state"), *v1 = NULL, *v2 = NULL;
	char *got = NULL, sha1[65], sha2[65], *point = NULL;
	struct hp_run_secrets s, p;
	struct hp_buf b = HP_BUF_INIT;
	struct hp_state *st = NULL;
	bool committed = false;
	json_t *j;

	(void)state;
	fx_secrets_extra = ", roles: [{name: app, databases: [appdb]}]";
	x = fx_new("rolepins", false, NULL);
	fx_secrets_extra = "";
	fill_store(x, -1);
	assert_int_equal(hp_secret_create(&v1, x->store, "role-app", 16,
					  &x->err),
			 0);
	hp_secret_hash(v1, sha1);
	assert_int_equal(hp_run_secrets_load(&s, &x->run, true, &x->err), 0);
	x->run.secrets = &s.rs;
	if (hp_state_open(&st, dir, &x->err) < 0)
		fail_msg("%s", x->err.msg);
	x->run.state = st;
	assert_int_equal(hp_run_secrets_commit_pins(&x->run, &x->err), 0);
	assert_int_equal(hp_state_read(st, NULL, HP_SECRET_PINS_PATH, &b,
				       &x->err),
			 0);
	assert_null(strstr(b.buf, v1));
	j = json_loads(b.buf, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "role-app")),
			    sha1);
	json_decref(j);
	assert_int_equal(hp_state_commit(st, NULL, &rec, &committed, &point,
					 &x->err),
			 0);
	/* a rotation since */
	assert_int_equal(hp_secret_stage(&v2, sha2, x->store, "role-app", 16,
					 &x->err),
			 0);
	assert_int_equal(hp_secret_promote(x->store, "role-app", sha2,
					   &x->err),
			 0);
	assert_int_equal(hp_run_secret_read(&x->run, "role-app", &got,
					    &x->err),
			 0);
	assert_string_equal(got, v2); /* no rollback: today's */
	hp_secret_free(got);
	assert_int_equal(hp_run_secrets_use_point(&p, &x->run, point, &x->err),
			 1);
	assert_int_equal(hp_run_secret_read(&x->run, "role-app", &got,
					    &x->err),
			 0);
	assert_string_equal(got, v1); /* the point's */
	hp_secret_free(got);
	/* the rollback's own commit pins the point's version again */
	hp_buf_reset(&b);
	assert_int_equal(hp_run_secrets_commit_pins(&x->run, &x->err), 0);
	assert_int_equal(hp_state_read(st, NULL, HP_SECRET_PINS_PATH, &b,
				       &x->err),
			 0);
	j = json_loads(b.buf, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "role-app")),
			    sha1);
	json_decref(j);
	assert_int_equal(hp_run_secrets_promote_pins(&p, &x->run, &x->err), 0);
	assert_int_equal(hp_secret_read(&got, x->store, "role-app", &x->err),
			 0);
	assert_string_equal(got, v1); /* current again */
	hp_secret_free(got);
	hp_desired_pins(&x->run, NULL);
	x->run.secrets = &s.rs;
	hp_run_secrets_release(&p);
	/* a point whose role version the store lost: refused up front */
	{
		char gone[65], *text;

		hp_secret_hash("never stored", gone);
		text = xasprintf("{\"role-app\": \"%s\"}", gone);
		assert_int_equal(hp_state_put(st, HP_SECRET_PINS_PATH, text,
					      strlen(text), &x->err),
				 0);
		free(text);
		rec.id = "r2";
		free(point);
		assert_int_equal(hp_state_commit(st, NULL, &rec, &committed,
						 &point, &x->err),
				 0);
		assert_int_equal(hp_run_secrets_use_point(&p, &x->run, point,
							  &x->err),
				 HP_ENOTFOUND);
		assert_non_null(strstr(x->err.msg, "role-app"));
		assert_null(x->run.desired.pins);
		assert_ptr_equal(x->run.secrets, &s.rs);
	}
	x->run.secrets = NULL;
	x->run.state = NULL;
	hp_run_secrets_release(&s);
	hp_secret_free(v1);
	hp_secret_free(v2);
	hp_buf_release(&b);
	free(point);
	free(dir);
	hp_state_free(st);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_leaves_store_untouched),
		cmocka_unit_test(test_pins_hashes_only),
		cmocka_unit_test(test_load_pinned_and_promote),
		cmocka_unit_test(test_load_pinned_missing),
		cmocka_unit_test(test_commit_pins_and_use_point),
		cmocka_unit_test(test_role_pins),
	};
	int r;

	git_libgit2_init();
	r = cmocka_run_group_tests(tests, setup, teardown);
	git_libgit2_shutdown();
	return r;
}
