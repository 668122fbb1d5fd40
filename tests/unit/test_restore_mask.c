/*
 * Files that hold secrets in the state repository (phases/restore_mask.c):
 * masked with "<secret:NAME>", never with a value; put back exactly with
 * the point's values; kept by hash only whenever masking could leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory.h"
#include "render.h"
#include "restore.h"

static const struct hp_render_secrets rs = {
	.superuser = "Su9erS3cretValue0001",
	.replication = "ReplicationPw0002abcd",
	.rewind = "RewindPw0003efgh",
	.restapi = "RestApiPw0004ijkl",
	.haproxy_stats = "StatsPw0005mnopqr",
};

static const char config[] =
	"restapi:\n"
	"  authentication:\n"
	"    username: patroni\n"
	"    password: 'RestApiPw0004ijkl'\n"
	"postgresql:\n"
	"  authentication:\n"
	"    superuser:\n"
	"      username: postgres\n"
	"      password: 'Su9erS3cretValue0001'\n"
	"    replication:\n"
	"      username: replicator\n"
	"      password: \"ReplicationPw0002abcd\"\n"
	"    rewind:\n"
	"      username: rewinder\n"
	"      password: RewindPw0003efgh\n"
	"  parameters:\n"
	"    password_encryption: scram-sha-256\n";

static void test_round_trip(void **state)
{
	char *m, *back;
	size_t n = 0;

	(void)state;
	m = hp_secret_mask(config, sizeof(config) - 1, &rs);
	assert_non_null(m);
	assert_null(strstr(m, rs.superuser));
	assert_null(strstr(m, rs.replication));
	assert_null(strstr(m, rs.rewind));
	assert_null(strstr(m, rs.restapi));
	assert_non_null(strstr(m, "password: '<secret:superuser>'"));
	assert_non_null(strstr(m, "password: \"<secret:replication>\""));
	assert_non_null(strstr(m, "password: <secret:rewind>"));
	back = hp_secret_unmask(m, strlen(m), &rs, &n);
	assert_non_null(back);
	assert_int_equal(n, sizeof(config) - 1);
	assert_memory_equal(back, config, n);
	free(back);
	free(m);
}

/* A rollback puts the point's values back, not today's. */
static void test_other_values(void **state)
{
	struct hp_render_secrets old = rs;
	char *m, *back;
	size_t n;

	(void)state;
	m = hp_secret_mask(config, sizeof(config) - 1, &rs);
	old.replication = "OldReplicationPw9999";
	back = hp_secret_unmask(m, strlen(m), &old, &n);
	assert_non_null(strstr(back, "\"OldReplicationPw9999\""));
	assert_null(strstr(back, rs.replication));
	free(back);
	/* a placeholder for a secret the run does not have: no guess */
	old.rewind = NULL;
	assert_null(hp_secret_unmask(m, strlen(m), &old, &n));
	free(m);
	/* text that only looks like a placeholder stays as it is */
	back = hp_secret_unmask("a <secret:nope> <secret:", 24, &rs, &n);
	assert_string_equal(back, "a <secret:nope> <secret:");
	free(back);
}

/* Whenever masking could leave a secret in the text: hash only. */
static void test_refusals(void **state)
{
	struct hp_render_secrets s = rs;
	static const char other[] = "x: 1\npassword: NotFromTheStore123\n";
	static const char nul[] = "a\0Su9erS3cretValue0001";

	(void)state;
	/* a value too short to mask safely */
	s.rewind = "short";
	assert_null(hp_secret_mask(config, sizeof(config) - 1, &s));
	/* plan's placeholders are not values */
	s = rs;
	s.rewind = "<secret:rewind>";
	assert_null(hp_secret_mask(config, sizeof(config) - 1, &s));
	/* another credential-looking value */
	assert_null(hp_secret_mask(other, sizeof(other) - 1, &rs));
	/* secret for another reason than the store's values */
	assert_null(hp_secret_mask("pw=one\n", 7, &rs));
	/* binary content */
	assert_null(hp_secret_mask(nul, sizeof(nul) - 1, &rs));
	/* no secrets at all */
	assert_null(hp_secret_mask(config, sizeof(config) - 1, NULL));
}

/* One value inside another: the longest wins, the round trip holds. */
static void test_longest_match(void **state)
{
	struct hp_render_secrets s = rs;
	static const char text[] = "a=AbcdefghXYZ9\nb=Abcdefgh\n";
	char *m, *back;
	size_t n;

	(void)state;
	s.superuser = "Abcdefgh";
	s.replication = "AbcdefghXYZ9";
	m = hp_secret_mask(text, sizeof(text) - 1, &s);
	assert_string_equal(m, "a=<secret:replication>\nb=<secret:superuser>\n");
	back = hp_secret_unmask(m, strlen(m), &s, &n);
	assert_string_equal(back, text);
	free(back);
	free(m);
}

/* TLS material for the example inventories (tls on by default): PEM by
 * host index, enough for the largest (example-production.yml, 5 hosts). */
#define PEM(kind, x)                                                           \
	"-----BEGIN " kind "-----\n" x "\n-----END " kind "-----\n"
static const char *const host_certs[] = {
	PEM("CERTIFICATE", "Q2VydDE="), PEM("CERTIFICATE", "Q2VydDI="),
	PEM("CERTIFICATE", "Q2VydDM="), PEM("CERTIFICATE", "Q2VydDQ="),
	PEM("CERTIFICATE", "Q2VydDU=")};
static const char *const host_keys[] = {
	PEM("PRIVATE KEY", "S2V5MQ=="), PEM("PRIVATE KEY", "S2V5Mg=="),
	PEM("PRIVATE KEY", "S2V5Mw=="), PEM("PRIVATE KEY", "S2V5NA=="),
	PEM("PRIVATE KEY", "S2V5NQ==")};
static const struct hp_render_tls tls = {PEM("CERTIFICATE", "Q0E="),
					 host_certs, host_keys};

/* The host key files a host gets: one per service (etcd.key, Patroni's
 * host.key, HAProxy's stats.pem). */
static size_t key_files_of(const struct hp_host *h)
{
	return !!(h->roles & HP_ROLE_ETCD) + !!(h->roles & HP_ROLE_PATRONI) +
	       !!(h->roles & HP_ROLE_HAPROXY);
}

/* One secret file of a rendering: a host key is kept by hash only (it is
 * secret for another reason than the store's passwords: masking could not
 * hide it), a file with passwords masks and comes back byte for byte.
 * Returns whether it was a key file. */
static bool check_secret_file(const struct hp_rendered_file *f,
			      const struct hp_render_secrets *s,
			      const char *host)
{
	char *m, *back;
	size_t n;

	m = hp_secret_mask(f->content, f->len, s);
	if (strstr(f->content, "PRIVATE KEY")) {
		if (m)
			fail_msg("%s: %s holds a key but masks", host,
				 f->path);
		return true;
	}
	if (!m)
		fail_msg("%s: %s does not mask", host, f->path);
	assert_null(strstr(m, s->superuser));
	assert_null(strstr(m, s->replication));
	assert_null(strstr(m, s->restapi));
	assert_null(strstr(m, s->haproxy_stats));
	back = hp_secret_unmask(m, strlen(m), s, &n);
	assert_int_equal(n, f->len);
	assert_memory_equal(back, f->content, n);
	free(back);
	free(m);
	return false;
}

/* Every file haprov renders with secrets for the example inventories
 * masks (so a rollback can restore it exactly), holds none of the values
 * masked, and comes back byte for byte; every host key file (tls on, the
 * default) is secret and kept by hash only. */
static void test_rendered_files_mask(void **state)
{
	static const char *const invs[] = {
		"inventories/lab.yml", "inventories/example-production.yml" };
	struct hp_render_secrets s = rs;
	size_t k, h, i, secret_files = 0, keys = 0, want_keys = 0;

	(void)state;
	for (k = 0; k < HP_ARRAY_SIZE(invs); k++) {
		struct hp_inventory *inv = NULL;
		struct hp_diags d;

		memset(&d, 0, sizeof(d));
		assert_int_equal(hp_inventory_load(&inv, invs[k], &d), 0);
		assert_true(inv->tls.enabled);
		assert_true(inv->nr_hosts <= HP_ARRAY_SIZE(host_keys));
		for (h = 0; h < inv->nr_hosts; h++) {
			struct hp_rendered rd;
			struct hp_err err;

			memset(&rd, 0, sizeof(rd));
			s.tls = &tls;
			assert_int_equal(hp_render_host(&rd, inv,
							&inv->hosts[h], &s,
							&err),
					 0);
			want_keys += key_files_of(&inv->hosts[h]);
			for (i = 0; i < rd.nr; i++) {
				const struct hp_rendered_file *f = &rd.files[i];

				/* a key outside a secret file: a leak */
				if (!f->secret) {
					assert_null(strstr(f->content,
							   "PRIVATE KEY"));
					continue;
				}
				secret_files++;
				keys += check_secret_file(
					f, &s, inv->hosts[h].name);
			}
			hp_rendered_release(&rd);
		}
		hp_inventory_free(inv);
		hp_diags_release(&d);
	}
	assert_true(secret_files - keys >= 6);
	assert_int_equal(keys, want_keys);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_other_values),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_longest_match),
		cmocka_unit_test(test_rendered_files_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
