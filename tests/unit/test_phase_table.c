/*
 * The phase table as the unit of extension (phases/common.c): who owns
 * each rendered file (from the table, never from a template's name), who
 * owns which keys of Patroni's dynamic configuration (the scope of a DCS
 * change), and where a run's desired state comes from (the inventory or a
 * rollback point).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "phases.h"
#include "render.h"
#include "staged_fixture.h"

static int nop(struct hp_run *run, struct hp_err *err)
{
	(void)run;
	(void)err;
	return 0;
}

/* Every rendered template, TLS files included (render order puts them
 * first in each service's group): each bad table below differs from the
 * good one by the one defect its check names, so the check that fails is
 * the one the test means, not a TLS file nobody listed. */
static const char *const etcd_f[] = {"etcd-ca.crt", "etcd.crt", "etcd.key",
				     "etcd.env", "etcd-dropin.conf", NULL};
static const char *const pg_f[] = {"createcluster.conf", "patroni-ca.crt",
				   "patroni-host.crt",	 "patroni-host.key",
				   "patroni.yml",	 "patroni_env.conf",
				   NULL};
static const char *const ha_f[] = {"haproxy-dropin.conf", "haproxy_env.conf",
				   "haproxy-ca.crt", "haproxy-stats.pem",
				   "haproxy.cfg", NULL};
static const char *const ha_short[] = {"haproxy-dropin.conf",
				       "haproxy_env.conf", "haproxy-ca.crt",
				       "haproxy-stats.pem", NULL};
static const char *const ha_twice[] = {"haproxy-dropin.conf",
				       "haproxy_env.conf", "haproxy-ca.crt",
				       "haproxy-stats.pem", "haproxy.cfg",
				       "patroni.yml", NULL};
static const char *const ha_ghost[] = {"haproxy-dropin.conf",
				       "haproxy_env.conf", "haproxy-ca.crt",
				       "haproxy-stats.pem", "haproxy.cfg",
				       "ghost.conf", NULL};
static const char *const pgb_f[] = {"pgbouncer-userlist.txt",
				    "pgbouncer-listen.ini", "pgbouncer.ini",
				    NULL};
static const char *const vip_f[] = {"keepalived-auth.conf", "keepalived.conf",
				    NULL};
static const char *const rest[] = {HP_DCS_REST, NULL};
static const char *const tuning_p[] = {
	"checkpoint_timeout", "checkpoint_completion_target", "max_wal_size",
	"min_wal_size",	      "wal_buffers",		      "wal_compression",
	NULL};
static const char *const ext_p[] = {"shared_preload_libraries", NULL};
static const char *const ext_clash[] = {"shared_preload_libraries",
					"max_wal_size", NULL};

#define ROW(n, f, d)                                                        \
	{ .name = n, .files = f, .converge = nop, .verify = nop,            \
	  .dcs_params = d }

/* The real table: every rendered file has exactly one owner. */
static void test_real_table_is_whole(void **state)
{
	struct hp_err err;
	const char *t;
	size_t i;

	(void)state;
	hp_err_clear(&err);
	if (hp_phase_table_check(hp_phases, hp_phases_nr, &err) < 0)
		fail_msg("%s", err.msg);
	for (i = 0; (t = hp_render_file_template(i)); i++)
		assert_non_null(hp_phase_file_owner(hp_phases, hp_phases_nr, t));
	assert_true(i >= 8);
	/* from the table, not the name: the same names in other rows */
	assert_string_equal(
		hp_phase_file_owner(hp_phases, hp_phases_nr,
				    "createcluster.conf")->name,
		"patroni");
	assert_string_equal(hp_phase_dcs_owner(hp_phases, hp_phases_nr)->name,
			    "patroni");
	for (i = 0; i < hp_phases_nr; i++) {
		/* packages are optional: the secrets phase installs none */
		assert_non_null(hp_phases[i].summary);
		assert_non_null(hp_phases[i].converge);
		assert_non_null(hp_phases[i].verify);
	}
}

/* A template owned by no phase, by two, or named but never rendered: an
 * error naming it. */
static void test_bad_tables(void **state)
{
	const struct hp_phase none[] = {ROW("etcd", etcd_f, NULL),
					ROW("patroni", pg_f, rest),
					ROW("haproxy", ha_short, NULL),
					ROW("vip", vip_f, NULL), ROW("pgbouncer", pgb_f, NULL)};
	const struct hp_phase two[] = {ROW("etcd", etcd_f, NULL),
				       ROW("patroni", pg_f, rest),
				       ROW("haproxy", ha_twice, NULL),
				       ROW("vip", vip_f, NULL), ROW("pgbouncer", pgb_f, NULL)};
	const struct hp_phase ghost[] = {ROW("etcd", etcd_f, NULL),
					 ROW("patroni", pg_f, rest),
					 ROW("haproxy", ha_ghost, NULL),
					 ROW("vip", vip_f, NULL), ROW("pgbouncer", pgb_f, NULL)};
	const struct hp_phase norest[] = {ROW("etcd", etcd_f, NULL),
					  ROW("patroni", pg_f, NULL),
					  ROW("haproxy", ha_f, NULL),
					  ROW("vip", vip_f, NULL), ROW("pgbouncer", pgb_f, NULL)};
	const struct hp_phase clash[] = {ROW("etcd", etcd_f, NULL),
					 ROW("patroni", pg_f, rest),
					 ROW("haproxy", ha_f, NULL),
					 ROW("vip", vip_f, NULL), ROW("pgbouncer", pgb_f, NULL),
					 ROW("extensions", NULL, ext_clash),
					 ROW("tuning", NULL, tuning_p)};
	const struct hp_phase good[] = {ROW("etcd", etcd_f, NULL),
					ROW("patroni", pg_f, rest),
					ROW("haproxy", ha_f, NULL),
					ROW("vip", vip_f, NULL), ROW("pgbouncer", pgb_f, NULL),
					ROW("extensions", NULL, ext_p),
					ROW("tuning", NULL, tuning_p)};
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_phase_table_check(none, 5, &err), HP_ERROR);
	assert_non_null(strstr(err.msg, "haproxy.cfg is owned by 0 phases"));
	assert_int_equal(hp_phase_table_check(two, 5, &err), HP_ERROR);
	assert_non_null(strstr(err.msg, "patroni.yml is owned by 2 phases"));
	assert_int_equal(hp_phase_table_check(ghost, 5, &err), HP_ERROR);
	assert_non_null(strstr(err.msg, "ghost.conf"));
	assert_int_equal(hp_phase_table_check(norest, 5, &err), HP_ERROR);
	assert_int_equal(hp_phase_table_check(clash, 7, &err), HP_ERROR);
	assert_non_null(strstr(err.msg, "max_wal_size"));
	assert_int_equal(hp_phase_table_check(good, 7, &err), 0);
	assert_null(hp_phase_file_owner(none, 3, "haproxy.cfg"));
}

/* ---- DCS scope ----------------------------------------------------------- */

static const struct hp_phase six[] = {
	ROW("etcd", etcd_f, NULL),	   ROW("patroni", pg_f, rest),
	ROW("haproxy", ha_f, NULL),	   ROW("secrets", NULL, NULL),
	ROW("extensions", NULL, ext_p), ROW("tuning", NULL, tuning_p)};

static const char have[] =
	"{\"ttl\": 30, \"loop_wait\": 10, \"postgresql\": {\"use_pg_rewind\": "
	"true, \"parameters\": {\"max_connections\": 100, "
	"\"checkpoint_timeout\": \"15min\", \"wal_buffers\": \"16MB\", "
	"\"shared_preload_libraries\": \"pg_cron\", \"work_mem\": \"4MB\"}}}";

static json_t *patch_for(const char *phase, const char *want_s,
			 struct hp_buf *desc)
{
	struct hp_dcs_scope s = {six, HP_ARRAY_SIZE(six), NULL};
	json_t *want = J(want_s), *h = J(have), *p;
	size_t i;

	for (i = 0; phase && i < HP_ARRAY_SIZE(six); i++)
		if (!strcmp(six[i].name, phase))
			s.phase = &six[i];
	p = hp_dcs_patch_scoped(want, h, "", &s, desc);
	json_decref(want);
	json_decref(h);
	return p;
}

/* The patroni phase's want (no tuning or extension keys, ttl changed):
 * it changes ttl and its own parameters, and never nulls or sets a key
 * tuning or extensions own. */
static void test_patroni_scope(void **state)
{
	struct hp_buf d = HP_BUF_INIT;
	json_t *p, *params;

	(void)state;
	p = patch_for("patroni",
		      "{\"ttl\": 40, \"loop_wait\": 10, \"postgresql\": "
		      "{\"use_pg_rewind\": true, \"parameters\": "
		      "{\"max_connections\": 200, \"wal_buffers\": \"64MB\"}}}",
		      &d);
	assert_non_null(p);
	assert_int_equal(json_integer_value(json_object_get(p, "ttl")), 40);
	params = json_object_get(json_object_get(p, "postgresql"),
				 "parameters");
	assert_int_equal(
		json_integer_value(json_object_get(params, "max_connections")),
		200);
	/* work_mem is the rest's: gone from want, so nulled */
	assert_true(json_is_null(json_object_get(params, "work_mem")));
	assert_null(json_object_get(params, "checkpoint_timeout"));
	assert_null(json_object_get(params, "wal_buffers"));
	assert_null(json_object_get(params, "shared_preload_libraries"));
	assert_null(strstr(d.buf, "checkpoint_timeout"));
	json_decref(p);
	hp_buf_release(&d);
}

/* The tuning phase's want is the whole rendered DCS: it touches only its
 * parameters, never ttl, and nulls only its own. */
static void test_tuning_scope(void **state)
{
	struct hp_buf d = HP_BUF_INIT;
	json_t *p, *params;

	(void)state;
	p = patch_for("tuning",
		      "{\"ttl\": 99, \"postgresql\": {\"parameters\": "
		      "{\"max_connections\": 5, \"checkpoint_timeout\": "
		      "\"30min\"}}}",
		      &d);
	assert_non_null(p);
	assert_null(json_object_get(p, "ttl"));
	params = json_object_get(json_object_get(p, "postgresql"),
				 "parameters");
	assert_string_equal(json_string_value(json_object_get(
				    params, "checkpoint_timeout")),
			    "30min");
	assert_true(json_is_null(json_object_get(params, "wal_buffers")));
	assert_int_equal(json_object_size(params), 2);
	assert_int_equal(json_object_size(p), 1);
	json_decref(p);
	hp_buf_release(&d);
	/* nothing of its own differs: no patch at all */
	assert_null(patch_for("tuning",
			      "{\"ttl\": 99, \"postgresql\": {\"parameters\": "
			      "{\"checkpoint_timeout\": \"15min\", "
			      "\"wal_buffers\": \"16MB\"}}}",
			      &d));
	hp_buf_release(&d);
}

/* No phase (a rollback): every key. A phase that owns no DCS key: none. */
static void test_rollback_and_keyless_scope(void **state)
{
	struct hp_buf d = HP_BUF_INIT;
	json_t *p, *params;

	(void)state;
	p = patch_for(NULL, "{\"ttl\": 30, \"loop_wait\": 10, \"postgresql\": "
			    "{\"use_pg_rewind\": true, \"parameters\": "
			    "{\"max_connections\": 100}}}",
		      &d);
	params = json_object_get(json_object_get(p, "postgresql"),
				 "parameters");
	assert_int_equal(json_object_size(params), 4);
	assert_true(json_is_null(json_object_get(params, "wal_buffers")));
	json_decref(p);
	assert_null(patch_for("haproxy", "{\"ttl\": 1}", &d));
	hp_buf_release(&d);
	/* case does not make a key someone else's */
	{
		struct hp_dcs_scope s = {six, HP_ARRAY_SIZE(six), &six[1]};

		assert_false(hp_dcs_in_scope(&s, "postgresql.parameters",
					     "Checkpoint_Timeout"));
		assert_true(hp_dcs_in_scope(&s, "postgresql", "use_pg_rewind"));
		assert_true(hp_dcs_in_scope(NULL, "", "ttl"));
	}
}

/* ---- the desired-state source -------------------------------------------- */

static void test_desired_source(void **state)
{
	struct hp_inventory *inv = NULL;
	struct hp_diags diags;
	struct hp_run run;
	struct hp_run_opts o;
	struct hp_dcs_scope s;
	struct hp_err err;
	json_t *dcs = NULL;

	(void)state;
	memset(&o, 0, sizeof(o));
	memset(&diags, 0, sizeof(diags));
	assert_int_equal(hp_inventory_load_string(&inv, inv_yaml,
						  sizeof(inv_yaml) - 1,
						  "/tmp/t.yml", &diags),
			 0);
	hp_run_init(&run, inv, &o);
	run.phase_table = six;
	run.phase_table_nr = HP_ARRAY_SIZE(six);
	run.phase_entry = &six[5];
	/* the inventory: rendered, no point, no snapshot, the phase's scope */
	assert_null(hp_desired_point(&run));
	assert_null(hp_desired_snapshot(&run, "patroni"));
	assert_int_equal(hp_desired_dcs(&run, &dcs, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(dcs, "loop_wait")),
			 1);
	json_decref(dcs);
	s = hp_run_dcs_scope(&run);
	assert_ptr_equal(s.phase, &six[5]);
	/* a point: its DCS and snapshots, and every key in scope */
	hp_desired_set(&run, "0123456789abcdef", J("{\"patroni\": {\"ttl\": 7}}"),
		       J("{\"ttl\": 7}"));
	assert_string_equal(hp_desired_point(&run), "0123456789abcdef");
	assert_int_equal(json_integer_value(json_object_get(
				 hp_desired_snapshot(&run, "patroni"), "ttl")),
			 7);
	assert_null(hp_desired_snapshot(&run, "tuning"));
	assert_int_equal(hp_desired_dcs(&run, &dcs, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(dcs, "ttl")), 7);
	json_decref(dcs);
	s = hp_run_dcs_scope(&run);
	assert_null(s.phase);
	/* a point that recorded no DCS: an error, never the inventory's */
	hp_desired_set(&run, "0123456789abcdef", json_object(), NULL);
	assert_int_equal(hp_desired_dcs(&run, &dcs, &err), HP_ERROR);
	assert_null(dcs);
	assert_non_null(strstr(err.msg, "no dynamic configuration"));
	hp_desired_clear(&run);
	assert_null(hp_desired_point(&run));
	hp_run_release(&run);
	hp_inventory_free(inv);
	hp_diags_release(&diags);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_table_is_whole),
		cmocka_unit_test(test_bad_tables),
		cmocka_unit_test(test_patroni_scope),
		cmocka_unit_test(test_tuning_scope),
		cmocka_unit_test(test_rollback_and_keyless_scope),
		cmocka_unit_test(test_desired_source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
