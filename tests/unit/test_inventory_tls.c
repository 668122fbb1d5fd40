/*
 * The inventory's tls and secrets.tls keys: the boolean or mapping form,
 * defaults, paths made absolute, and each check across keys (both or
 * neither, renew before expiry, plaintext pg_hba lines, keys ignored when
 * tls is off). The strict prefixes of the new keys are covered by
 * test_inventory_rules.c's walk of the schema table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory.h"
#include "inventory_priv.h"
#include "inventory_fixture.h"

#define HEAD                                                                   \
	"cluster: {name: t}\n"                                                 \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
/* HEAD is 3 lines: the first line after it is line 4 */


/* yaml loads with exactly want printed (warnings; "" for none). */
static void assert_says(const char *yaml, int r, const char *want)
{
	struct result res;

	load(&res, yaml);
	if (strcmp(res.out, want) != 0)
		fprintf(stderr, "%s---\nwant:\n%shave:\n%s", yaml, want,
			res.out);
	assert_string_equal(res.out, want);
	assert_int_equal(res.r, r);
	result_release(&res);
}

static void test_defaults(void **state)
{
	struct result res;

	(void)state;
	load(&res, HEAD);
	assert_int_equal(res.r, 0);
	assert_true(res.inv->tls.enabled);
	assert_false(res.inv->tls.insecure_skip_verify);
	assert_null(res.inv->secrets.tls.ca_cert);
	assert_null(res.inv->secrets.tls.ca_key);
	assert_int_equal(res.inv->secrets.tls.renew_days, 30);
	assert_int_equal(res.inv->secrets.tls.validity_days, 365);
	assert_int_equal(res.inv->secrets.tls.ca_validity_days, 3650);
	assert_null(res.inv->hosts[0].tls_cert);
	assert_null(res.inv->hosts[0].tls_key);
	result_release(&res);
}

static void test_bool_and_mapping(void **state)
{
	struct result res;

	(void)state;
	load(&res, HEAD "tls: false\n");
	assert_int_equal(res.r, 0);
	assert_false(res.inv->tls.enabled);
	result_release(&res);
	load(&res, HEAD "tls: true\n");
	assert_int_equal(res.r, 0);
	assert_true(res.inv->tls.enabled);
	result_release(&res);
	load(&res, HEAD "tls: {enabled: off}\n");
	assert_int_equal(res.r, 0);
	assert_false(res.inv->tls.enabled);
	result_release(&res);
	load(&res, HEAD "tls: {insecure_skip_verify: true}\n");
	assert_int_equal(res.r, HP_OK);
	assert_true(res.inv->tls.enabled);
	assert_true(res.inv->tls.insecure_skip_verify);
	result_release(&res);
	load(&res, HEAD "tls:\n");
	assert_int_equal(res.r, 0);
	assert_true(res.inv->tls.enabled);
	result_release(&res);
	assert_says(HEAD "tls: maybe\n", HP_EINVALID,
		    "r.yml:4:6: tls.enabled: expected true or false (or yes/no, "
		    "on/off), got "
		    "\"maybe\"\n");
	assert_says(HEAD "tls: [true]\n", HP_EINVALID,
		    "r.yml:4:6: tls: expected a mapping, got a list\n");
	assert_says(HEAD "tls: {enable: true}\n", HP_EINVALID,
		    "r.yml:4:7: tls.enable: unknown key; did you mean "
		    "\"enabled\"?\n");
}

/* Paths relative to the inventory's directory (/r) become absolute. */
static void test_paths(void **state)
{
	struct result res;

	(void)state;
	load(&res, "cluster: {name: t}\n"
		   "hosts:\n"
		   "  - {name: a, address: 10.0.0.1, roles: [etcd, patroni], "
		   "tls_cert: c/a.crt, tls_key: /k/a.key}\n"
		   "secrets:\n"
		   "  tls: {ca_cert: ca.pem, ca_key: ./x/../ca.key, "
		   "renew_days: 10, validity_days: 90, ca_validity_days: 900}\n");
	if (res.r)
		fprintf(stderr, "%s", res.out);
	assert_int_equal(res.r, 0);
	assert_string_equal(res.inv->hosts[0].tls_cert, "/r/c/a.crt");
	assert_string_equal(res.inv->hosts[0].tls_key, "/k/a.key");
	assert_string_equal(res.inv->secrets.tls.ca_cert, "/r/ca.pem");
	assert_string_equal(res.inv->secrets.tls.ca_key, "/r/ca.key");
	assert_int_equal(res.inv->secrets.tls.renew_days, 10);
	assert_int_equal(res.inv->secrets.tls.validity_days, 90);
	assert_int_equal(res.inv->secrets.tls.ca_validity_days, 900);
	result_release(&res);
}

static void test_both_or_neither(void **state)
{
	(void)state;
	assert_says(HEAD "secrets: {tls: {ca_cert: ca.pem}}\n", HP_EINVALID,
		    "r.yml:4:17: secrets.tls.ca_cert: a supplied CA needs "
		    "both its certificate and its key: set secrets.tls.ca_key "
		    "too, or neither\n");
	assert_says(HEAD "secrets: {tls: {ca_key: ca.key}}\n", HP_EINVALID,
		    "r.yml:4:17: secrets.tls.ca_key: a supplied CA needs "
		    "both its certificate and its key: set secrets.tls.ca_cert "
		    "too, or neither\n");
	assert_says("cluster: {name: t}\nhosts:\n"
		    "  - {name: a, address: 10.0.0.1, roles: [etcd, patroni]}\n"
		    "  - {name: b, address: 10.0.0.2, roles: [haproxy],\n"
		    "     tls_key: b.key}\n",
		    HP_EINVALID,
		    "r.yml:5:6: hosts[1].tls_key: a supplied host certificate "
		    "needs both its certificate and its key: set "
		    "hosts[1].tls_cert too, or neither\n");
	assert_says("cluster: {name: t}\nhosts:\n"
		    "  - {name: a, address: 10.0.0.1, roles: [etcd, patroni], "
		    "tls_cert: a.crt}\n",
		    HP_EINVALID,
		    "r.yml:3:58: hosts[0].tls_cert: a supplied host "
		    "certificate needs both its certificate and its key: set "
		    "hosts[0].tls_key too, or neither\n");
	assert_says("cluster: {name: t}\nhosts:\n"
		    "  - {name: a, address: 10.0.0.1, roles: [etcd, patroni], "
		    "tls_cert: a.crt, tls_key: a.key}\n"
		    "secrets: {tls: {ca_cert: c, ca_key: k}}\n",
		    HP_OK, "");
}

static void test_days(void **state)
{
	(void)state;
	assert_says(HEAD "secrets: {tls: {renew_days: 365}}\n", HP_EINVALID,
		    "r.yml:4:29: secrets.tls.renew_days: renew_days (365) "
		    "must be below validity_days (365): else every "
		    "certificate is due for renewal as soon as it is issued\n");
	/* the default renew_days against a short validity_days */
	assert_says(HEAD "secrets: {tls: {validity_days: 30}}\n", HP_EINVALID,
		    "r.yml:4:32: secrets.tls.validity_days: renew_days (30) "
		    "must be below validity_days (30): else every "
		    "certificate is due for renewal as soon as it is issued\n");
	assert_says(HEAD "secrets: {tls: {renew_days: 29, validity_days: 30}}\n",
		    HP_OK, "");
	assert_says(HEAD "secrets: {tls: {ca_validity_days: 300}}\n",
		    HP_EINVALID,
		    "r.yml:4:35: secrets.tls.ca_validity_days: validity_days "
		    "(365) must not exceed ca_validity_days (300): a "
		    "certificate cannot outlive the CA that signed it\n");
	/* a supplied CA: its own lifetime, not ca_validity_days */
	assert_says(HEAD "secrets: {tls: {ca_validity_days: 300, ca_cert: c, "
			 "ca_key: k}}\n",
		    HP_OK, "");
	assert_says(HEAD "secrets: {tls: {ca_validity_days: 365}}\n", HP_OK,
		    "");
}

static void test_ranges(void **state)
{
	static const struct {
		const char *key;
		int lo, hi;
	} r[] = {{"renew_days", 1, 3650},
		 {"validity_days", 1, 3650},
		 {"ca_validity_days", 1, 36500}};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(r); i++) {
		int bad[2] = {r[i].lo - 1, r[i].hi + 1};
		size_t j;

		for (j = 0; j < 2; j++) {
			char *y = xasprintf(HEAD "secrets: {tls: {%s: %d}}\n",
					    r[i].key, bad[j]);
			char *p = xasprintf("secrets.tls.%s", r[i].key);
			struct result res;
			size_t k;
			bool found = false;

			load(&res, y);
			assert_int_equal(res.r, HP_EINVALID);
			for (k = 0; k < res.d.nr; k++)
				found |= !res.d.items[k].warning &&
					 !strcmp(res.d.items[k].key_path, p) &&
					 strstr(res.d.items[k].message,
						"between") != NULL;
			if (!found)
				fprintf(stderr, "%s", res.out);
			assert_true(found);
			result_release(&res);
			free(p);
			free(y);
		}
	}
}

static void test_hba_plaintext(void **state)
{
	static const struct {
		const char *line;
		bool plain;
	} c[] = {
		{"host all all 10.0.0.0/8 scram-sha-256", true},
		{"host all all 10.0.0.1 255.255.255.255 md5", true},
		{"\"host\" all all 10.0.0.0/8 md5", false}, /* not a type */
		{"hostnossl all all 10.0.0.0/8 scram-sha-256", true},
		{"hostnogssenc all all 10.0.0.0/8 scram-sha-256", true},
		{"hostssl all all 10.0.0.0/8 scram-sha-256", false},
		{"hostgssenc all all 10.0.0.0/8 gss", false},
		{"host all all 0.0.0.0/0 reject", false},
		{"hostnossl all all 0.0.0.0/0 reject", false},
		{"local all all peer", false},
		{"  host\tall all all scram-sha-256", true},
		{"host all all", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(c); i++) {
		if (hp_inv_hba_plaintext(c[i].line) != c[i].plain)
			fprintf(stderr, "%s\n", c[i].line);
		assert_int_equal(hp_inv_hba_plaintext(c[i].line), c[i].plain);
	}
}

static void test_hba_refused_with_tls(void **state)
{
	(void)state;
	assert_says(HEAD "patroni:\n  pg_hba:\n"
			 "    - hostssl all all 10.0.0.0/8 scram-sha-256\n"
			 "    - host all all 10.0.0.0/8 scram-sha-256\n",
		    HP_EINVALID,
		    "r.yml:7:7: patroni.pg_hba[1]: this line lets clients in "
		    "over the network without TLS: use hostssl, or set tls: "
		    "false\n");
	assert_says(HEAD "tls: false\npatroni:\n  pg_hba:\n"
			 "    - host all all 10.0.0.0/8 scram-sha-256\n",
		    HP_OK, "");
	assert_says(HEAD "tls: {enabled: true}\npatroni:\n  pg_hba:\n"
			 "    - host all all 10.0.0.0/8 reject\n"
			 "    - local all all peer\n",
		    HP_OK, "");
}

static void test_ignored_when_off(void **state)
{
	(void)state;
	assert_says("cluster: {name: t}\nhosts:\n"
		    "  - {name: a, address: 10.0.0.1, roles: [etcd, patroni], "
		    "tls_cert: a.crt, tls_key: a.key}\n"
		    "tls: {enabled: false, insecure_skip_verify: true}\n"
		    "secrets: {tls: {ca_cert: c, ca_key: k, renew_days: 5}}\n",
		    HP_OK,
		    "r.yml:3:58: hosts[0].tls_cert: warning: ignored: tls is "
		    "off (tls: false)\n"
		    "r.yml:3:75: hosts[0].tls_key: warning: ignored: tls is "
		    "off (tls: false)\n"
		    "r.yml:4:23: tls.insecure_skip_verify: warning: ignored: "
		    "tls is off (tls: false)\n"
		    "r.yml:5:17: secrets.tls.ca_cert: warning: ignored: tls "
		    "is off (tls: false)\n"
		    "r.yml:5:29: secrets.tls.ca_key: warning: ignored: tls "
		    "is off (tls: false)\n"
		    "r.yml:5:40: secrets.tls.renew_days: warning: ignored: "
		    "tls is off (tls: false)\n");
}

static void test_insecure_warned(void **state)
{
	(void)state;
	assert_says(HEAD "tls: {insecure_skip_verify: yes}\n", HP_OK,
		    "r.yml:4:29: tls.insecure_skip_verify: warning: haprov's "
		    "own clients will not verify the cluster's certificates: "
		    "for a migration only, then remove it\n");
	assert_says(HEAD "tls: {insecure_skip_verify: no}\n", HP_OK, "");
}

/* --print shows the keys, and what it prints loads back the same. */
static void test_print(void **state)
{
	struct result res, again;
	char *out = NULL, *out2 = NULL;
	size_t n = 0;
	FILE *f;

	(void)state;
	load(&res, "cluster: {name: t}\nhosts:\n"
		   "  - {name: a, address: 10.0.0.1, roles: [etcd, patroni], "
		   "tls_cert: a.crt, tls_key: a.key}\n"
		   "tls: false\n"
		   "secrets: {tls: {renew_days: 7}}\n");
	assert_int_equal(res.r, 0);
	f = open_memstream(&out, &n);
	hp_inventory_print(res.inv, f);
	fclose(f);
	assert_non_null(strstr(out, "    tls_cert: /r/a.crt\n"
				    "    tls_key: /r/a.key\n"));
	assert_non_null(strstr(out, "  tls:\n"
				    "    ca_cert: null\n"
				    "    ca_key: null\n"
				    "    renew_days: 7\n"
				    "    validity_days: 365\n"
				    "    ca_validity_days: 3650\n"));
	assert_non_null(strstr(out, "\ntls:\n"
				    "  enabled: false\n"
				    "  insecure_skip_verify: false\n"));
	load(&again, out);
	assert_int_equal(again.r, 0);
	f = open_memstream(&out2, &n);
	hp_inventory_print(again.inv, f);
	fclose(f);
	assert_string_equal(out, out2);
	free(out);
	free(out2);
	result_release(&res);
	result_release(&again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bool_and_mapping),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_both_or_neither),
		cmocka_unit_test(test_days),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_hba_plaintext),
		cmocka_unit_test(test_hba_refused_with_tls),
		cmocka_unit_test(test_ignored_when_off),
		cmocka_unit_test(test_insecure_warned),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
