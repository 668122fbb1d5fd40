/*
 * haprov rotate (phases/rotate*.c): the order of a rotation (prepare,
 * stage, apply, verify, promote, commit), the failure paths (the old
 * password put back, the store's current version left alone), names
 * resolved before any change, and no password in a command line, an
 * error message or the SQL text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "phases.h"
#include "rotate_priv.h"
#include "scram.h"
#include "secret_store.h"
#include "steps_fixture.h"
#include "fake_rest.h"

#define OLD_PW "0ldPassw0rdValue"
#define NEW_PW "N3wPassw0rdValue"

/* ---- the order, with fake ops ------------------------------------------- */

struct rec {
	char log[512];	      /* "prepare stage apply(new) ..." */
	const char *fail;     /* the op that fails, or NULL */
	bool fail_put_back;   /* apply(old) fails too */
	bool promoted;	      /* the store's current version changed */
	char applied[64];     /* the password the cluster holds */
};

static void logf_(struct rec *x, const char *s)
{
	size_t n = strlen(x->log);

	snprintf(x->log + n, sizeof(x->log) - n, "%s%s", n ? " " : "", s);
}

static int maybe_fail(struct rec *x, const char *op, struct hp_err *err)
{
	if (x->fail && !strcmp(x->fail, op))
		return hp_err_set(err, HP_EVERIFY, "%s failed (fake)", op);
	return 0;
}

static int f_prepare(void *ctx, const struct hp_rotate_target *t,
		     struct hp_err *err)
{
	(void)t;
	logf_(ctx, "prepare");
	return maybe_fail(ctx, "prepare", err);
}

static int f_stage(void *ctx, const struct hp_rotate_target *t, char **value,
		   char sha[65], struct hp_err *err)
{
	int r;

	(void)t;
	logf_(ctx, "stage");
	if ((r = maybe_fail(ctx, "stage", err)) < 0)
		return r;
	*value = xstrdup(NEW_PW);
	hp_secret_hash(NEW_PW, sha);
	return 0;
}

static int f_apply(void *ctx, const struct hp_rotate_target *t,
		   const char *pw, struct hp_err *err)
{
	struct rec *x = ctx;
	bool is_new = !strcmp(pw, NEW_PW);

	(void)t;
	logf_(x, is_new ? "apply(new)" : "apply(old)");
	if (!is_new && x->fail_put_back)
		return hp_err_set(err, HP_EREMOTE, "put back failed (fake)");
	snprintf(x->applied, sizeof(x->applied), "%s", pw);
	return is_new ? maybe_fail(x, "apply", err) : 0;
}

static int f_verify(void *ctx, const struct hp_rotate_target *t,
		    const char *new_pw, const char *old_pw, struct hp_err *err)
{
	(void)t;
	assert_string_equal(new_pw, NEW_PW);
	assert_string_equal(old_pw, OLD_PW);
	logf_(ctx, "verify");
	return maybe_fail(ctx, "verify", err);
}

static int f_promote(void *ctx, const struct hp_rotate_target *t,
		     const char *sha, struct hp_err *err)
{
	struct rec *x = ctx;
	char sha_new[65];
	int r;

	(void)t;
	hp_secret_hash(NEW_PW, sha_new);
	assert_string_equal(sha, sha_new);
	logf_(x, "promote");
	if ((r = maybe_fail(x, "promote", err)) == 0)
		x->promoted = true;
	return r;
}

static int f_commit(void *ctx, const struct hp_rotate_target *t,
		    struct hp_err *err)
{
	(void)t;
	logf_(ctx, "commit");
	return maybe_fail(ctx, "commit", err);
}

static const struct hp_rotate_ops fake_ops = {
	f_prepare, f_stage, f_apply, f_verify, f_promote, f_commit,
};

static const struct hp_rotate_target app_target = {
	.kind = HP_ROT_APP, .user = "app", .secret = "role-app",
};

static int run_one(struct rec *x, enum hp_rotate_outcome *out,
		   struct hp_err *err)
{
	snprintf(x->applied, sizeof(x->applied), "%s", OLD_PW);
	hp_err_clear(err);
	return hp_rotate_one(&fake_ops, x, &app_target, OLD_PW, out, err);
}

static void test_order(void **state)
{
	struct rec x = { .fail = NULL };
	enum hp_rotate_outcome out;
	struct hp_err err;

	(void)state;
	assert_int_equal(run_one(&x, &out, &err), 0);
	assert_string_equal(x.log,
			    "prepare stage apply(new) verify promote commit");
	assert_int_equal(out, HP_ROTATED);
	assert_true(x.promoted);
	assert_string_equal(x.applied, NEW_PW);
}

/* verification fails: the old password back, the store untouched */
static void test_verify_fails_puts_back(void **state)
{
	struct rec x = { .fail = "verify" };
	enum hp_rotate_outcome out;
	struct hp_err err;

	(void)state;
	assert_int_equal(run_one(&x, &out, &err), HP_EVERIFY);
	assert_string_equal(x.log, "prepare stage apply(new) verify "
				   "apply(old)");
	assert_int_equal(out, HP_ROT_PUT_BACK);
	assert_false(x.promoted);
	assert_string_equal(x.applied, OLD_PW);
	assert_non_null(strstr(err.msg, "verify failed (fake)"));
	assert_non_null(strstr(err.msg, "previous password is back"));
	assert_null(strstr(err.msg, NEW_PW));
	assert_null(strstr(err.msg, OLD_PW));
}

static void test_apply_fails_puts_back(void **state)
{
	struct rec x = { .fail = "apply" };
	enum hp_rotate_outcome out;
	struct hp_err err;

	(void)state;
	assert_true(run_one(&x, &out, &err) < 0);
	assert_string_equal(x.log, "prepare stage apply(new) apply(old)");
	assert_int_equal(out, HP_ROT_PUT_BACK);
	assert_false(x.promoted);
}

/* the store could not be promoted: the cluster must not keep a password
 * the store does not call current */
static void test_promote_fails_puts_back(void **state)
{
	struct rec x = { .fail = "promote" };
	enum hp_rotate_outcome out;
	struct hp_err err;

	(void)state;
	assert_true(run_one(&x, &out, &err) < 0);
	assert_string_equal(x.log, "prepare stage apply(new) verify promote "
				   "apply(old)");
	assert_int_equal(out, HP_ROT_PUT_BACK);
	assert_string_equal(x.applied, OLD_PW);
}

static void test_put_back_fails(void **state)
{
	struct rec x = { .fail = "verify", .fail_put_back = true };
	enum hp_rotate_outcome out;
	struct hp_err err;

	(void)state;
	assert_int_equal(run_one(&x, &out, &err), HP_EVERIFY);
	assert_int_equal(out, HP_ROT_STUCK);
	assert_false(x.promoted);
	assert_non_null(strstr(err.msg, "putting the previous password back "
					 "failed too"));
	assert_non_null(strstr(err.msg, "haprov apply"));
	assert_null(strstr(err.msg, NEW_PW));
}

/* nothing on the cluster before stage and prepare succeeded */
static void test_early_failures_change_nothing(void **state)
{
	static const char *const ops[] = { "prepare", "stage" };
	enum hp_rotate_outcome out;
	struct hp_err err;
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(ops); i++) {
		struct rec x = { .fail = ops[i] };

		assert_true(run_one(&x, &out, &err) < 0);
		assert_null(strstr(x.log, "apply"));
		assert_int_equal(out, HP_ROT_UNCHANGED);
		assert_false(x.promoted);
	}
}

/* a failed commit is a warning: store and cluster agree */
static void test_commit_failure_is_a_warning(void **state)
{
	struct rec x = { .fail = "commit" };
	enum hp_rotate_outcome out;
	struct hp_err err;

	(void)state;
	assert_int_equal(run_one(&x, &out, &err), 0);
	assert_int_equal(out, HP_ROTATED);
	assert_true(x.promoted);
}

/* ---- names ---------------------------------------------------------------- */

static struct hp_inventory *inv_with_roles(struct hp_diags *d)
{
	static const char y[] =
		"cluster: {name: t}\n"
		"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
		"hosts:\n"
		"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni, "
		"haproxy]}\n"
		"secrets:\n"
		"  roles:\n"
		"    - {name: app, databases: [appdb]}\n"
		"    - {name: report}\n";
	struct hp_inventory *inv = NULL;

	memset(d, 0, sizeof(*d));
	assert_int_equal(hp_inventory_load_string(&inv, y, sizeof(y) - 1,
						  "/tmp/t.yml", d),
			 0);
	return inv;
}

static void test_resolve(void **state)
{
	static char n0[] = "app", n1[] = "replication", n2[] = "postgres",
		    n3[] = "restapi", n4[] = "rewinder";
	char *names[] = { n0, n1, n2, n3, n4 };
	struct hp_rotate_target t[5];
	struct hp_diags d;
	struct hp_inventory *inv = inv_with_roles(&d);
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_rotate_resolve(inv, names, 5, t, &err), 0);
	assert_int_equal(t[0].kind, HP_ROT_APP);
	assert_string_equal(t[0].secret, "role-app");
	assert_string_equal(t[0].app->databases.items[0], "appdb");
	assert_int_equal(t[1].kind, HP_ROT_REPLICATION);
	assert_string_equal(t[1].user, "replicator");
	assert_string_equal(t[1].secret, "replication");
	/* the superuser's name works as well as the word */
	assert_int_equal(t[2].kind, HP_ROT_SUPERUSER);
	assert_string_equal(t[2].secret, "superuser");
	assert_int_equal(t[3].kind, HP_ROT_RESTAPI);
	assert_string_equal(t[3].user, "patroni");
	assert_int_equal(t[4].kind, HP_ROT_REWIND);
	assert_true(hp_rotate_in_config(HP_ROT_REPLICATION));
	assert_false(hp_rotate_in_config(HP_ROT_APP));
	assert_false(hp_rotate_is_role(HP_ROT_RESTAPI));
	assert_true(hp_rotate_is_role(HP_ROT_REWIND));
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

/* an unknown name (or one given twice) anywhere in the list refuses the
 * whole command before anything changes */
static void test_resolve_refuses(void **state)
{
	static char u0[] = "app", u1[] = "nosuch\x1b[2J", t0[] = "replication",
		    t1[] = "replicator";
	char *unknown[] = { u0, u1 };
	char *twice[] = { t0, t1 };
	struct hp_rotate_target t[2];
	struct hp_diags d;
	struct hp_inventory *inv = inv_with_roles(&d);
	struct hp_err err;

	(void)state;
	hp_err_clear(&err);
	assert_int_equal(hp_rotate_resolve(inv, unknown, 2, t, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "is not a role of the inventory"));
	assert_non_null(strstr(err.msg, "nothing was changed"));
	assert_non_null(strstr(err.msg, "app, report"));
	assert_null(strchr(err.msg, '\x1b'));
	hp_err_clear(&err);
	assert_int_equal(hp_rotate_resolve(inv, twice, 2, t, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "named twice"));
	hp_inventory_free(inv);
	hp_diags_release(&d);
}

/* ---- the real apply and verify, against fakes ------------------------------ */

/* ALTER ROLE on the leader (pg2): the verifier on psql's standard input,
 * no password anywhere; the leader's clock read back. */
static void test_alter_role_sends_only_the_verifier(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_rotate_ctx c;
	const struct hp_fake_call *call;
	const char *v;
	char verifier[HP_SCRAM_VERIFIER_MAX];
	size_t n;
	long i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.run = &x->run;
	c.leader = xstrdup("pg2");
	hp_fake_expect(&x->fake, "psql", 0,
		       "2026-11-30 03:55:00.123456+00\n", "");
	assert_int_equal(hp_rotate_apply(&c, &app_target, NEW_PW, &x->err),
			 0);
	assert_string_equal(c.t0, "2026-11-30 03:55:00.123456+00");
	i = hp_fake_find_call(&x->fake, HP_FAKE_EXEC, "psql", 0);
	assert_true(i >= 0);
	call = &x->fake.calls[i];
	assert_null(strstr(call->what, NEW_PW));
	assert_null(strstr(call->what, "SCRAM"));
	assert_non_null(call->data);
	assert_null(strstr(call->data, NEW_PW));
	assert_non_null(strstr(call->data, "ALTER ROLE :\"r\" PASSWORD :'v';"));
	assert_non_null(strstr(call->data, "\\set r 'app'"));
	/* the verifier sent is the new password's */
	v = strstr(call->data, "\\set v '");
	assert_non_null(v);
	v += strlen("\\set v '");
	n = strcspn(v, "'");
	assert_true(n < sizeof(verifier));
	memcpy(verifier, v, n);
	verifier[n] = '\0';
	assert_true(hp_scram_matches(verifier, NEW_PW));
	assert_false(hp_scram_matches(verifier, OLD_PW));
	/* a write: under the host lock */
	assert_non_null(strstr(call->what, "flock"));
	hp_rotate_ctx_release(&c);
	fx_free(x);
}

/* psql answers something else than a timestamp: an error, quoted safe */
static void test_alter_role_bad_answer(void **state)
{
	struct fx *x = fx_new(false);
	struct hp_rotate_ctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.run = &x->run;
	c.leader = xstrdup("pg2");
	hp_fake_expect(&x->fake, "psql", 0, "'; DROP TABLE x\n", "");
	assert_int_equal(hp_rotate_apply(&c, &app_target, NEW_PW, &x->err),
			 HP_EREMOTE);
	assert_null(strstr(x->err.msg, NEW_PW));
	hp_rotate_ctx_release(&c);
	fx_free(x);
}

/* a fake libpq: NEW_PW logs in, OLD_PW is refused (or accepted, when
 * old_works) */
static bool old_works, old_unreachable;
static char login_host[64];
static int login_port;

static int fake_login(const char *host, int port, const char *user,
		      const char *password, const char *db, int timeout_s,
		      struct hp_err *err)
{
	(void)user;
	(void)timeout_s;
	assert_string_equal(db, "postgres");
	snprintf(login_host, sizeof(login_host), "%s", host);
	login_port = port;
	if (!strcmp(password, NEW_PW))
		return 0;
	if (old_works)
		return 0;
	if (old_unreachable)
		return hp_err_set(err, HP_ECONNECT, "connection refused");
	return hp_err_set(err, HP_EAUTH, "password authentication failed");
}

static void test_verify_app_login(void **state)
{
	static const struct hp_rotate_target t = {
		.kind = HP_ROT_APP, .user = "app", .secret = "role-app",
	};
	struct fx *x = fx_new(false);
	struct hp_rotate_ctx c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.run = &x->run;
	c.login = fake_login;
	old_works = old_unreachable = false;
	assert_int_equal(hp_rotate_verify(&c, &t, NEW_PW, OLD_PW, &x->err),
			 0);
	/* through HAProxy's primary port on the first haproxy host */
	assert_string_equal(login_host, "10.0.0.1");
	assert_int_equal(login_port, x->inv->haproxy.primary_port);
	old_works = true;
	assert_int_equal(hp_rotate_verify(&c, &t, NEW_PW, OLD_PW, &x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(x->err.msg, "old password still succeeds"));
	old_works = false;
	old_unreachable = true;
	/* not refused, only unreachable: not a proof */
	assert_int_equal(hp_rotate_verify(&c, &t, NEW_PW, OLD_PW, &x->err),
			 HP_EVERIFY);
	assert_null(strstr(x->err.msg, OLD_PW));
	old_unreachable = false;
	fx_free(x);
}

/* ---- REST API rotation: the new credentials taken, the old refused, and
 * nothing restarted or failed over ------------------------------------- */

#define START0 "2026-11-30 03:00:00.000 UTC"
#define CLUSTER_PG1                                                     \
	"{\"members\": [{\"name\": \"pg1\", \"role\": \"leader\", "            \
	"\"state\": \"running\", \"timeline\": 3}, {\"name\": \"pg2\", "        \
	"\"role\": \"replica\", \"state\": \"streaming\"}, {\"name\": \"pg3\", " \
	"\"role\": \"replica\", \"state\": \"streaming\"}]}"

struct rfx {
	struct fx *x;
	struct hp_fake_rest fr;
	struct hp_rotate_ctx c;
};

static struct rfx *rfx_new(void)
{
	struct rfx *r = xcalloc(1, sizeof(*r));
	size_t i;

	r->x = fx_new(false);
	hp_fake_rest_init(&r->fr);
	r->x->run.rest_ops = &hp_fake_rest_ops;
	r->x->run.rest_ctx = &r->fr;
	r->c.run = &r->x->run;
	assert_int_equal(hp_run_rest_init(&r->x->run, &r->c.rest, 1000,
					  &r->x->err),
			 0);
	r->c.leader = xstrdup("pg1");
	r->c.timeline = 3;
	r->c.start = xcalloc(r->x->run.nr_hosts, sizeof(char *));
	for (i = 0; i < r->x->run.nr_hosts; i++)
		r->c.start[i] = xstrdup(START0);
	return r;
}

static void rfx_free(struct rfx *r)
{
	hp_rotate_ctx_release(&r->c);
	hp_rest_release(&r->c.rest);
	hp_fake_rest_release(&r->fr);
	fx_free(r->x);
	free(r);
}

/* each member: PATCH /config with the new password (400: past the
 * credentials), then with the old (old_status) */
static void expect_patches(struct rfx *r, long old_status)
{
	static const char *const ip[] = { "10.0.0.1:", "10.0.0.2:",
					  "10.0.0.3:" };
	size_t i;
	char m[64];

	for (i = 0; i < 3; i++) {
		snprintf(m, sizeof(m), "%s8008/config", ip[i]);
		hp_fake_rest_expect(&r->fr, "PATCH", m, 400,
				    "{\"error\": \"bad request\"}", 1);
		hp_fake_rest_expect(&r->fr, "PATCH", m, old_status, "", 1);
	}
}

static void expect_states(struct rfx *r, const char *pg2_start)
{
	char body[256];

	hp_fake_rest_expect(&r->fr, "GET", "/cluster", 200, CLUSTER_PG1, 0);
	snprintf(body, sizeof(body),
		 "{\"postmaster_start_time\": \"%s\", \"timeline\": 3}",
		 START0);
	hp_fake_rest_expect(&r->fr, "GET", "10.0.0.1:8008/patroni", 200,
			    body, 0);
	snprintf(body, sizeof(body),
		 "{\"postmaster_start_time\": \"%s\", \"timeline\": 3}",
		 pg2_start);
	hp_fake_rest_expect(&r->fr, "GET", "10.0.0.2:8008/patroni", 200,
			    body, 0);
	snprintf(body, sizeof(body),
		 "{\"postmaster_start_time\": \"%s\", \"timeline\": 3}",
		 START0);
	hp_fake_rest_expect(&r->fr, "GET", "10.0.0.3:8008/patroni", 200,
			    body, 0);
}

static const struct hp_rotate_target rest_target = {
	.kind = HP_ROT_RESTAPI, .user = "patroni", .secret = "restapi",
};

static void test_verify_restapi(void **state)
{
	struct rfx *r = rfx_new();
	size_t i, n = 0;

	(void)state;
	expect_patches(r, 401);
	expect_states(r, START0);
	assert_int_equal(hp_rotate_verify(&r->c, &rest_target, NEW_PW, OLD_PW,
					  &r->x->err),
			 0);
	assert_int_equal(r->fr.nr_unexpected, 0);
	/* six PATCHes, each with basic auth as the REST user */
	for (i = 0; i < r->fr.nr_reqs; i++) {
		if (strcmp(r->fr.reqs[i].method, "PATCH") != 0)
			continue;
		n++;
		assert_string_equal(r->fr.reqs[i].user, "patroni");
		assert_true(r->fr.reqs[i].had_password);
		assert_string_equal(r->fr.reqs[i].body, "{}");
	}
	assert_int_equal(n, 6);
	/* the client keeps no credentials after the check */
	assert_null(r->c.rest.password);
	rfx_free(r);
}

/* the old credentials still work somewhere: not rotated */
static void test_verify_restapi_old_accepted(void **state)
{
	struct rfx *r = rfx_new();

	(void)state;
	expect_patches(r, 400);
	expect_states(r, START0);
	assert_int_equal(hp_rotate_verify(&r->c, &rest_target, NEW_PW, OLD_PW,
					  &r->x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(r->x->err.msg, "not 401"));
	assert_null(strstr(r->x->err.msg, OLD_PW));
	rfx_free(r);
}

/* a member restarted (its postmaster is younger): refused */
static void test_verify_detects_restart(void **state)
{
	struct rfx *r = rfx_new();

	(void)state;
	expect_patches(r, 401);
	expect_states(r, "2026-11-30 03:30:00.000 UTC");
	assert_int_equal(hp_rotate_verify(&r->c, &rest_target, NEW_PW, OLD_PW,
					  &r->x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(r->x->err.msg, "pg2 restarted"));
	rfx_free(r);
}

/* another leader, or the same on another timeline: a failover */
static void test_verify_detects_failover(void **state)
{
	struct rfx *r = rfx_new();

	(void)state;
	expect_patches(r, 401);
	expect_states(r, START0);
	r->c.timeline = 2;
	assert_int_equal(hp_rotate_verify(&r->c, &rest_target, NEW_PW, OLD_PW,
					  &r->x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(r->x->err.msg, "timeline changed"));
	rfx_free(r);
	r = rfx_new();
	expect_patches(r, 401);
	expect_states(r, START0);
	free(r->c.leader);
	r->c.leader = xstrdup("pg2");
	assert_int_equal(hp_rotate_verify(&r->c, &rest_target, NEW_PW, OLD_PW,
					  &r->x->err),
			 HP_EVERIFY);
	assert_non_null(strstr(r->x->err.msg, "leader changed"));
	rfx_free(r);
}

/* replication: the leader (pg2) ends the replication connections, then
 * both replicas are back over connections made after that */
static void test_verify_replication(void **state)
{
	static const struct hp_rotate_target t = {
		.kind = HP_ROT_REPLICATION, .user = "replicator",
		.secret = "replication",
	};
	struct rfx *r = rfx_new();
	const struct hp_fake_call *call;
	long i;

	(void)state;
	free(r->c.leader);
	r->c.leader = xstrdup("pg2");
	hp_fake_expect(&r->x->fake, "psql", 0,
		       "2\n2026-11-30 04:00:00.5+00\n", "")->times = 1;
	hp_fake_expect(&r->x->fake, "psql", 0, "2\n", "");
	hp_fake_rest_expect(&r->fr, "GET", "/cluster", 200,
			    "{\"members\": [{\"name\": \"pg2\", \"role\": "
			    "\"leader\", \"state\": \"running\"}]}",
			    0);
	expect_states(r, START0);
	assert_int_equal(hp_rotate_verify(&r->c, &t, NEW_PW, OLD_PW,
					  &r->x->err),
			 0);
	assert_string_equal(r->c.t0, "2026-11-30 04:00:00.5+00");
	/* the first script ends the replicator's walsenders, under the lock */
	i = hp_fake_find_call(&r->x->fake, HP_FAKE_EXEC, "psql", 0);
	assert_true(i >= 0);
	call = &r->x->fake.calls[i];
	assert_non_null(strstr(call->data, "pg_terminate_backend"));
	assert_non_null(strstr(call->data, "\\set r 'replicator'"));
	assert_non_null(strstr(call->what, "flock"));
	/* the second counts connections made after t0, read-only */
	i = hp_fake_find_call(&r->x->fake, HP_FAKE_EXEC, "psql", 1);
	assert_true(i >= 0);
	call = &r->x->fake.calls[i];
	assert_non_null(strstr(call->data,
			       "\\set t0 '2026-11-30 04:00:00.5+00'"));
	assert_non_null(strstr(call->data, "backend_start > :'t0'"));
	assert_null(strstr(call->what, "flock"));
	rfx_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_verify_fails_puts_back),
		cmocka_unit_test(test_apply_fails_puts_back),
		cmocka_unit_test(test_promote_fails_puts_back),
		cmocka_unit_test(test_put_back_fails),
		cmocka_unit_test(test_early_failures_change_nothing),
		cmocka_unit_test(test_commit_failure_is_a_warning),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_resolve_refuses),
		cmocka_unit_test(test_alter_role_sends_only_the_verifier),
		cmocka_unit_test(test_alter_role_bad_answer),
		cmocka_unit_test(test_verify_app_login),
		cmocka_unit_test(test_verify_restapi),
		cmocka_unit_test(test_verify_restapi_old_accepted),
		cmocka_unit_test(test_verify_detects_restart),
		cmocka_unit_test(test_verify_detects_failover),
		cmocka_unit_test(test_verify_replication),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
