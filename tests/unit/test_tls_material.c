/*
 * tls_material.c against a temporary secret store: what is issued, reused,
 * renewed and refused, what plan leaves alone, what a rollback point pins.
 * The clock is fixed (T0) so renewal is decided by the test.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secret_store.h"
#include "tls.h"
#include "tls_material.h"

#define HP_TMPDIR_PREFIX "/tmp/hp-tlsmat-"
#include "tmpdir_fixture.h"

#define DAY ((time_t)86400)
static const time_t T0 = 1795000000; /* 2026-11-18 */

static struct hp_host hosts[3];
static struct hp_inventory inv;

/* Two hosts with roles, one without (it gets no certificate). */
static void inv_init(void)
{
	memset(&inv, 0, sizeof(inv));
	memset(hosts, 0, sizeof(hosts));
	hosts[0] = (struct hp_host){.name = (char *)(uintptr_t) "pg1",
				    .address = (char *)(uintptr_t) "10.0.0.1",
				    .roles = HP_ROLE_ETCD | HP_ROLE_PATRONI};
	hosts[1] = (struct hp_host){.name = (char *)(uintptr_t) "pg2",
				    .address = (char *)(uintptr_t) "fd00::2",
				    .roles = HP_ROLE_PATRONI};
	hosts[2] = (struct hp_host){.name = (char *)(uintptr_t) "spare",
				    .address = (char *)(uintptr_t) "db3.lan"};
	inv.hosts = hosts;
	inv.nr_hosts = 3;
	inv.cluster = (char *)(uintptr_t) "main";
	inv.secrets.store = tpath("store");
	inv.secrets.tls.renew_days = 30;
	inv.secrets.tls.validity_days = 365;
	inv.secrets.tls.ca_validity_days = 3650;
	inv.tls.enabled = true;
}

static int setup_inv(void **state)
{
	setup(state);
	inv_init();
	return 0;
}

static int teardown_inv(void **state)
{
	free(inv.secrets.store);
	return teardown(state);
}

/* Make at now, expecting success. */
static void make(struct hp_tls_material *m, const json_t *pins, bool plan,
		 time_t now)
{
	struct hp_err err;
	int r;

	hp_err_clear(&err);
	r = hp_tls_material_make(m, &inv, pins, plan, now, &err);
	if (r < 0)
		fail_msg("make: %s", err.msg);
}

static void promote(const struct hp_tls_material *m)
{
	struct hp_err err;

	assert_int_equal(
		hp_tls_material_promote(m, inv.secrets.store, true, &err), 0);
}

static const char *sha_of(const struct hp_tls_material *m, const char *name)
{
	const struct hp_tls_item *it = hp_tls_material_item(m, name);

	assert_non_null(it);
	return it->sha256;
}

/* The change recorded for host ("" for the CA and client) under base. */
static const char *change(const struct hp_tls_material *m, const char *base)
{
	size_t i;
	char *step = xasprintf("certificate %s", base);

	for (i = 0; i < m->nr_changes; i++)
		if (!strcmp(m->changes[i].step, step)) {
			free(step);
			return m->changes[i].detail;
		}
	free(step);
	return NULL;
}

static void test_generated_then_reused(void **state)
{
	struct hp_tls_material a, b;
	char sha[65];

	(void)state;
	make(&a, NULL, false, T0);
	assert_non_null(change(&a, "tls-ca"));
	assert_non_null(strstr(change(&a, "tls-host-pg1"), "issued"));
	assert_non_null(change(&a, "tls-client"));
	assert_null(hp_tls_material_item(&a, "tls-host-spare-cert"));
	assert_true(hp_tls_material_item(&a, "tls-host-pg2-key")->fresh);
	/* views: PEM for the renderer and the REST client */
	assert_non_null(strstr(a.rest.ca_pem, "-----BEGIN CERTIFICATE-----"));
	assert_non_null(strstr(a.rest.key_pem, "PRIVATE KEY"));
	assert_false(a.rest.insecure);
	assert_ptr_equal(a.render.ca, a.ca_pem);
	assert_non_null(a.render.host_cert[1]);
	assert_null(a.render.host_cert[2]);
	/* a first value is current at once: a run that fails after the
	 * hosts got it must find the same CA next time */
	{
		char *v = NULL;
		struct hp_err err;

		assert_int_equal(hp_secret_read(&v, inv.secrets.store,
						"tls-ca-cert", &err),
				 0);
		assert_string_equal(
			v, hp_tls_material_item(&a, "tls-ca-cert")->val);
		hp_secret_free(v);
	}
	hp_strlcpy(sha, sha_of(&a, "tls-host-pg1-cert"), sizeof(sha));
	make(&b, NULL, false, T0 + DAY);
	assert_int_equal(b.nr_changes, 0);
	assert_string_equal(sha_of(&b, "tls-host-pg1-cert"), sha);
	assert_false(hp_tls_material_item(&b, "tls-ca-key")->fresh);
	hp_tls_material_release(&a);
	hp_tls_material_release(&b);
}

static void test_renewed_within_renew_days(void **state)
{
	struct hp_tls_material a, b, c;
	const char *d;

	(void)state;
	make(&a, NULL, false, T0);
	promote(&a);
	/* 336 days later: 29 days left, below renew_days 30 */
	make(&b, NULL, false, T0 + 336 * DAY);
	d = change(&b, "tls-host-pg2");
	assert_non_null(d);
	assert_non_null(strstr(d, "pg2: certificate expires"));
	assert_non_null(strstr(d, "renew_days 30): renewed"));
	assert_non_null(change(&b, "tls-client"));
	assert_null(change(&b, "tls-ca"));
	assert_string_not_equal(sha_of(&a, "tls-host-pg2-cert"),
				sha_of(&b, "tls-host-pg2-cert"));
	/* a renewal stays a version until the run verified: the store's
	 * current certificate is still the old one */
	{
		char *v = NULL;
		struct hp_err err;

		assert_int_equal(hp_secret_read(&v, inv.secrets.store,
						"tls-host-pg2-cert", &err),
				 0);
		assert_string_equal(
			v, hp_tls_material_item(&a, "tls-host-pg2-cert")->val);
		hp_secret_free(v);
	}
	/* 300 days later: 65 days left, kept */
	make(&c, NULL, false, T0 + 300 * DAY);
	assert_int_equal(c.nr_changes, 0);
	hp_tls_material_release(&a);
	hp_tls_material_release(&b);
	hp_tls_material_release(&c);
}

static void test_reissued_new_ca_or_address(void **state)
{
	struct hp_tls_material a, b, c;
	struct hp_tls_pair ca = {0};
	struct hp_err err;
	char sha[65];

	(void)state;
	make(&a, NULL, false, T0);
	promote(&a);
	/* another CA in the store: every certificate is reissued */
	assert_int_equal(hp_tls_ca_new(&ca, "other", 3650, T0, &err), 0);
	assert_int_equal(hp_secret_keep_version(inv.secrets.store,
						"tls-ca-cert", ca.cert, sha,
						&err),
			 0);
	assert_int_equal(
		hp_secret_promote(inv.secrets.store, "tls-ca-cert", sha, &err),
		0);
	assert_int_equal(hp_secret_keep_version(inv.secrets.store, "tls-ca-key",
						ca.key, sha, &err),
			 0);
	assert_int_equal(
		hp_secret_promote(inv.secrets.store, "tls-ca-key", sha, &err),
		0);
	make(&b, NULL, false, T0);
	assert_non_null(strstr(change(&b, "tls-host-pg1"),
			       "not issued by the current CA"));
	assert_non_null(change(&b, "tls-client"));
	assert_null(change(&b, "tls-ca"));
	promote(&b);
	/* pg1 moved: its certificate no longer names its address */
	hosts[0].address = (char *)(uintptr_t) "10.0.0.7";
	make(&c, NULL, false, T0);
	assert_non_null(strstr(change(&c, "tls-host-pg1"), "10.0.0.7"));
	assert_null(change(&c, "tls-host-pg2"));
	hp_tls_pair_release(&ca);
	hp_tls_material_release(&a);
	hp_tls_material_release(&b);
	hp_tls_material_release(&c);
}

/* name's current value becomes value. */
static void put(const char *name, const char *value)
{
	struct hp_err err;
	char sha[65];

	assert_int_equal(hp_secret_keep_version(inv.secrets.store, name, value,
						sha, &err),
			 0);
	assert_int_equal(hp_secret_promote(inv.secrets.store, name, sha, &err),
			 0);
}

/*
 * A CA rotation: stage 2 issues the host certificates from the new CA
 * once; stage 3 issues them again (a new serial makes Patroni's REST API
 * load its context, and so the bundle without the old CA), with the
 * client certificate, unless a rollback point pins them.
 */
static void test_ca_rotation_stage3_reissues(void **state)
{
	struct hp_tls_material a, b, c, d, e;
	struct hp_tls_pair ca = {0};
	struct hp_err err;
	json_t *pins = json_object();
	char *host2;

	(void)state;
	make(&a, NULL, false, T0);
	promote(&a);
	assert_int_equal(hp_tls_ca_new(&ca, "next", 3650, T0, &err), 0);
	put("tls-ca-next-key", ca.key);
	put("tls-ca-next-cert", ca.cert);
	put("tls-ca-next-stage", "2");
	make(&b, NULL, false, T0);
	assert_non_null(change(&b, "tls-host-pg1"));
	assert_null(change(&b, "tls-client"));
	promote(&b);
	host2 = xstrdup(sha_of(&b, "tls-host-pg1-cert"));
	/* stage 2 again: nothing new */
	make(&c, NULL, false, T0);
	assert_null(change(&c, "tls-host-pg1"));
	put("tls-ca-next-stage", "3");
	make(&d, NULL, false, T0);
	assert_non_null(strstr(change(&d, "tls-host-pg1"), "stage 3"));
	assert_non_null(strstr(change(&d, "tls-host-pg2"), "stage 3"));
	assert_non_null(change(&d, "tls-client"));
	assert_string_not_equal(sha_of(&d, "tls-host-pg1-cert"), host2);
	/* a rollback point that pins them: kept */
	hp_tls_material_pins(&d, pins);
	promote(&d);
	make(&e, pins, false, T0);
	assert_null(change(&e, "tls-host-pg1"));
	free(host2);
	json_decref(pins);
	hp_tls_pair_release(&ca);
	hp_tls_material_release(&a);
	hp_tls_material_release(&b);
	hp_tls_material_release(&c);
	hp_tls_material_release(&d);
	hp_tls_material_release(&e);
}

/* Write the PEM of b64 (kind) to tmpdir/name; returns the path. */
static char *write_pem(const char *name, const char *b64, const char *kind)
{
	struct hp_buf b = HP_BUF_INIT;
	struct hp_err err;
	char *path = tpath(name);
	FILE *f;

	assert_int_equal(hp_tls_pem(&b, b64, kind, &err), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(b.buf, 1, b.len, f), b.len);
	fclose(f);
	hp_buf_release(&b);
	return path;
}

static void test_supplied_ca_wrong_key_refused(void **state)
{
	struct hp_tls_material m;
	struct hp_tls_pair ca1 = {0}, ca2 = {0};
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_tls_ca_new(&ca1, "one", 3650, T0, &err), 0);
	assert_int_equal(hp_tls_ca_new(&ca2, "two", 3650, T0, &err), 0);
	inv.secrets.tls.ca_cert = write_pem("ca.crt", ca1.cert, "CERTIFICATE");
	inv.secrets.tls.ca_key = write_pem("ca.key", ca2.key, "PRIVATE KEY");
	assert_int_equal(hp_tls_material_make(&m, &inv, NULL, false, T0, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, inv.secrets.tls.ca_cert));
	assert_false(exists(inv.secrets.store)); /* nothing written */
	hp_tls_material_release(&m);
	free(inv.secrets.tls.ca_key);
	/* the right key: the supplied CA signs, and goes to the store */
	inv.secrets.tls.ca_key = write_pem("ca.key", ca1.key, "PRIVATE KEY");
	make(&m, NULL, false, T0);
	assert_non_null(strstr(change(&m, "tls-ca"), "supplied"));
	assert_int_equal(
		hp_tls_check_issued(
			hp_tls_material_item(&m, "tls-host-pg1-cert")->val,
			ca1.cert, &err),
		0);
	promote(&m);
	hp_tls_material_release(&m);
	make(&m, NULL, false, T0);
	assert_int_equal(m.nr_changes, 0);
	hp_tls_material_release(&m);
	hp_tls_pair_release(&ca1);
	hp_tls_pair_release(&ca2);
	free(inv.secrets.tls.ca_cert);
	free(inv.secrets.tls.ca_key);
	inv.secrets.tls.ca_cert = inv.secrets.tls.ca_key = NULL;
}

static void test_supplied_host_cert_without_address(void **state)
{
	struct hp_tls_material m;
	struct hp_tls_pair ca = {0}, leaf = {0};
	const char *ips[] = {"10.0.0.9"}, *dns[] = {"pg1"};
	struct hp_tls_subject s = {"pg1", dns, 1, ips, 1};
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_tls_ca_new(&ca, "one", 3650, T0, &err), 0);
	assert_int_equal(
		hp_tls_issue(&leaf, &ca, &s, HP_TLS_HOST, 365, T0, &err), 0);
	inv.secrets.tls.ca_cert = write_pem("ca.crt", ca.cert, "CERTIFICATE");
	inv.secrets.tls.ca_key = write_pem("ca.key", ca.key, "PRIVATE KEY");
	hosts[0].tls_cert = write_pem("pg1.crt", leaf.cert, "CERTIFICATE");
	hosts[0].tls_key = write_pem("pg1.key", leaf.key, "PRIVATE KEY");
	assert_int_equal(hp_tls_material_make(&m, &inv, NULL, false, T0, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "10.0.0.1"));
	assert_non_null(strstr(err.msg, "pg1.crt"));
	assert_false(exists(inv.secrets.store));
	hp_tls_material_release(&m);
	/* the same certificate for the address it names is taken as is */
	hosts[0].address = (char *)(uintptr_t) "10.0.0.9";
	make(&m, NULL, false, T0);
	assert_string_equal(hp_tls_material_item(&m, "tls-host-pg1-cert")->val,
			    leaf.cert);
	hp_tls_material_release(&m);
	hp_tls_pair_release(&ca);
	hp_tls_pair_release(&leaf);
	free(inv.secrets.tls.ca_cert);
	free(inv.secrets.tls.ca_key);
	free(hosts[0].tls_cert);
	free(hosts[0].tls_key);
	inv.secrets.tls.ca_cert = inv.secrets.tls.ca_key = NULL;
}

/* validate's offline check of the supplied files: the same refusals as
 * plan, before any store or host is looked at */
static void test_validate_checks_supplied(void **state)
{
	struct hp_tls_pair ca = {0}, other = {0}, leaf = {0};
	const char *ips[] = {"10.0.0.9"}, *dns[] = {"pg1"};
	struct hp_tls_subject s = {"pg1", dns, 1, ips, 1};
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_tls_ca_new(&ca, "one", 3650, T0, &err), 0);
	assert_int_equal(hp_tls_ca_new(&other, "two", 3650, T0, &err), 0);
	assert_int_equal(
		hp_tls_issue(&leaf, &ca, &s, HP_TLS_HOST, 365, T0, &err), 0);
	inv.secrets.tls.ca_cert = write_pem("ca.crt", ca.cert, "CERTIFICATE");
	inv.secrets.tls.ca_key = write_pem("ca.key", other.key, "PRIVATE KEY");
	/* a CA whose key is not its certificate's */
	assert_int_equal(hp_tls_material_check_supplied(&inv, T0, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, inv.secrets.tls.ca_cert));
	free(inv.secrets.tls.ca_key);
	inv.secrets.tls.ca_key = write_pem("ca.key", ca.key, "PRIVATE KEY");
	assert_int_equal(hp_tls_material_check_supplied(&inv, T0, &err), 0);
	/* a host certificate that does not name the host's address */
	hosts[0].tls_cert = write_pem("pg1.crt", leaf.cert, "CERTIFICATE");
	hosts[0].tls_key = write_pem("pg1.key", leaf.key, "PRIVATE KEY");
	assert_int_equal(hp_tls_material_check_supplied(&inv, T0, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "pg1.crt"));
	assert_non_null(strstr(err.msg, "10.0.0.1"));
	hosts[0].address = (char *)(uintptr_t) "10.0.0.9";
	assert_int_equal(hp_tls_material_check_supplied(&inv, T0, &err), 0);
	/* expired: refused with its dates */
	assert_int_equal(
		hp_tls_material_check_supplied(&inv, T0 + 400 * DAY, &err),
		HP_EINVALID);
	assert_non_null(strstr(err.msg, "expired"));
	/* tls off: nothing is read */
	inv.tls.enabled = false;
	assert_int_equal(
		hp_tls_material_check_supplied(&inv, T0 + 400 * DAY, &err), 0);
	assert_false(exists(inv.secrets.store));
	hp_tls_pair_release(&ca);
	hp_tls_pair_release(&other);
	hp_tls_pair_release(&leaf);
	free(inv.secrets.tls.ca_cert);
	free(inv.secrets.tls.ca_key);
	free(hosts[0].tls_cert);
	free(hosts[0].tls_key);
	inv.secrets.tls.ca_cert = inv.secrets.tls.ca_key = NULL;
	hosts[0].tls_cert = hosts[0].tls_key = NULL;
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_plan_writes_nothing(void **state)
{
	struct hp_tls_material m;
	char *versions;
	int nr;

	(void)state;
	inv.tls.insecure_skip_verify = true;
	make(&m, NULL, true, T0);
	assert_non_null(change(&m, "tls-host-pg1"));
	assert_true(m.rest.insecure);
	assert_false(exists(inv.secrets.store));
	hp_tls_material_release(&m);
	/* with a store holding current material: a renewal is reported, not
	 * written */
	make(&m, NULL, false, T0);
	promote(&m);
	hp_tls_material_release(&m);
	versions = tpath("store/versions/tls-host-pg1-cert");
	nr = count_files(versions);
	make(&m, NULL, true, T0 + 340 * DAY);
	assert_non_null(strstr(change(&m, "tls-host-pg1"), "renewed"));
	hp_tls_material_release(&m);
	{
		struct hp_tls_material again;

		make(&again, NULL, true, T0 + 340 * DAY);
		assert_non_null(change(&again, "tls-host-pg1"));
		hp_tls_material_release(&again);
	}
	assert_int_equal(count_files(versions), nr);
	free(versions);
	inv.tls.insecure_skip_verify = false;
}

static void test_pins_hold_every_name(void **state)
{
	struct hp_tls_material a, b, r;
	json_t *pins = json_object();

	(void)state;
	make(&a, NULL, false, T0);
	promote(&a);
	hp_tls_material_pins(&a, pins);
	assert_non_null(json_object_get(pins, "tls-ca-cert"));
	assert_non_null(json_object_get(pins, "tls-ca-key"));
	assert_non_null(json_object_get(pins, "tls-host-pg1-cert"));
	assert_non_null(json_object_get(pins, "tls-host-pg2-key"));
	assert_non_null(json_object_get(pins, "tls-client-key"));
	assert_null(json_object_get(pins, "tls-host-spare-cert"));
	assert_true(hp_tls_material_name("tls-ca-cert"));
	assert_false(hp_tls_material_name("superuser"));
	/* renewed and made current later ... */
	make(&b, NULL, false, T0 + 340 * DAY);
	promote(&b);
	/* ... a rollback to the point still gets the pinned certificates */
	make(&r, pins, false, T0 + 340 * DAY);
	assert_int_equal(r.nr_changes, 0);
	assert_string_equal(sha_of(&r, "tls-host-pg1-cert"),
			    sha_of(&a, "tls-host-pg1-cert"));
	assert_int_equal(
		hp_tls_material_promote(&r, inv.secrets.store, false, NULL), 0);
	{
		char *v = NULL;
		struct hp_err err;

		assert_int_equal(hp_secret_read(&v, inv.secrets.store,
						"tls-host-pg1-cert", &err),
				 0);
		assert_string_equal(
			v, hp_tls_material_item(&a, "tls-host-pg1-cert")->val);
		hp_secret_free(v);
	}
	json_decref(pins);
	hp_tls_material_release(&a);
	hp_tls_material_release(&b);
	hp_tls_material_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generated_then_reused,
						setup_inv, teardown_inv),
		cmocka_unit_test_setup_teardown(test_renewed_within_renew_days,
						setup_inv, teardown_inv),
		cmocka_unit_test_setup_teardown(
			test_ca_rotation_stage3_reissues, setup_inv,
			teardown_inv),
		cmocka_unit_test_setup_teardown(test_reissued_new_ca_or_address,
						setup_inv, teardown_inv),
		cmocka_unit_test_setup_teardown(
			test_supplied_ca_wrong_key_refused, setup_inv,
			teardown_inv),
		cmocka_unit_test_setup_teardown(
			test_supplied_host_cert_without_address, setup_inv,
			teardown_inv),
		cmocka_unit_test_setup_teardown(test_validate_checks_supplied,
						setup_inv, teardown_inv),
		cmocka_unit_test_setup_teardown(test_plan_writes_nothing,
						setup_inv, teardown_inv),
		cmocka_unit_test_setup_teardown(test_pins_hold_every_name,
						setup_inv, teardown_inv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
