/*
 * Facts and checks about a certificate (provisioner/tls_check.c): what is
 * wrong is refused with both sides in the message, and what comes from a
 * certificate is made printable.
 */
#include "tls_fixture.h"

static void test_cert_info(void **state)
{
	struct hp_tls_pair ca, h;
	struct hp_tls_info in;
	struct hp_err err;
	unsigned char *der;
	char hex[65], d[32];
	size_t len;

	(void)state;
	new_ca(&ca, "haprov-ca");
	new_host(&h, &ca, 365);
	assert_int_equal(hp_tls_cert_info(&in, ca.cert, &err), 0);
	assert_true(in.is_ca);
	assert_string_equal(in.subject, "CN=haprov-ca, O=haprov");
	assert_string_equal(in.issuer, "CN=haprov-ca, O=haprov");
	assert_int_equal(hp_tls_cert_info(&in, h.cert, &err), 0);
	assert_false(in.is_ca);
	assert_string_equal(in.subject, "CN=pg1");
	assert_string_equal(in.issuer, "CN=haprov-ca, O=haprov");
	assert_int_equal(in.not_before, NOW - 3600);
	assert_int_equal(in.not_after, NOW + 365 * DAY);
	assert_true(strlen(in.serial) >= 16);
	der = unb64(h.cert, &len);
	hp_sha256_hex(der, len, hex);
	assert_string_equal(in.sha256, hex);
	free(der);
	hp_tls_date(d, sizeof(d), NOW + 365 * DAY);
	assert_string_equal(d, "2027-01-01 00:00 UTC");
	hp_tls_pair_release(&h);
	hp_tls_pair_release(&ca);
}

static void test_hostile_subject(void **state)
{
	char *c = make_cert("evil\x1b[2J\r\nCN=fake\x07\xc3\xa9",
			    "x\x1b[31m\nDNS:pg1", 0);
	struct hp_tls_info in;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_tls_cert_info(&in, c, &err), 0);
	assert_printable(in.subject);
	assert_printable(in.issuer);
	assert_non_null(strstr(in.subject, "evil"));
	assert_int_equal(hp_tls_check_san(c, "pg1", NULL, &err), HP_EINVALID);
	assert_printable(err.msg);
	assert_non_null(strstr(err.msg, "(DNS:x"));
	assert_int_equal(hp_tls_check_dates(c, NOW + 31 * DAY, &err),
			 HP_EINVALID);
	assert_printable(err.msg);
	/* hostile names asked about are made printable too */
	assert_int_equal(hp_tls_check_san(c, "a\x1b]0;t\x07", NULL, &err),
			 HP_EINVALID);
	assert_printable(err.msg);
	free(c);
}

static void test_check_pair(void **state)
{
	struct hp_tls_pair ca, h;
	struct hp_err err;

	(void)state;
	new_ca(&ca, "haprov-ca");
	new_host(&h, &ca, 365);
	assert_int_equal(hp_tls_check_pair(h.cert, h.key, &err), 0);
	assert_int_equal(hp_tls_check_pair(ca.cert, ca.key, &err), 0);
	assert_int_equal(hp_tls_check_pair(h.cert, ca.key, &err), HP_EINVALID);
	assert_non_null(
		strstr(err.msg, "the key does not match the certificate"));
	assert_int_equal(hp_tls_check_pair(h.cert, "AAAA", &err), HP_EINVALID);
	hp_tls_pair_release(&h);
	hp_tls_pair_release(&ca);
}

static void test_check_issued(void **state)
{
	struct hp_tls_pair ca, same_name, other, h;
	struct hp_err err;

	(void)state;
	new_ca(&ca, "haprov-ca");
	new_ca(&same_name, "haprov-ca");
	new_ca(&other, "other-ca");
	new_host(&h, &ca, 365);
	assert_int_equal(hp_tls_check_issued(h.cert, ca.cert, &err), 0);
	assert_int_equal(hp_tls_check_issued(ca.cert, ca.cert, &err), 0);
	/* same subject, another key: only the signature tells */
	assert_int_equal(hp_tls_check_issued(h.cert, same_name.cert, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "not signed by the CA"));
	assert_int_equal(hp_tls_check_issued(h.cert, other.cert, &err),
			 HP_EINVALID);
	assert_string_equal(err.msg,
			    "certificate 'CN=pg1' is issued by 'CN=haprov-ca, "
			    "O=haprov', not by the CA 'CN=other-ca, "
			    "O=haprov'");
	hp_tls_pair_release(&h);
	hp_tls_pair_release(&other);
	hp_tls_pair_release(&same_name);
	hp_tls_pair_release(&ca);
}

static void test_check_dates(void **state)
{
	struct hp_tls_pair ca, h;
	struct hp_err err;

	(void)state;
	new_ca(&ca, "haprov-ca");
	new_host(&h, &ca, 30);
	assert_int_equal(hp_tls_check_dates(h.cert, NOW, &err), 0);
	assert_int_equal(hp_tls_check_dates(h.cert, NOW - 3600, &err), 0);
	assert_int_equal(hp_tls_check_dates(h.cert, NOW + 30 * DAY, &err), 0);
	assert_int_equal(hp_tls_check_dates(h.cert, NOW - 3601, &err),
			 HP_EINVALID);
	assert_string_equal(err.msg, "certificate 'CN=pg1' is not valid "
				     "before 2025-12-31 23:00 UTC (valid until "
				     "2026-01-31 00:00 UTC)");
	assert_int_equal(hp_tls_check_dates(h.cert, NOW + 30 * DAY + 1, &err),
			 HP_EINVALID);
	assert_string_equal(err.msg, "certificate 'CN=pg1' expired on "
				     "2026-01-31 00:00 UTC (valid from "
				     "2025-12-31 23:00 UTC)");
	hp_tls_pair_release(&h);
	hp_tls_pair_release(&ca);
}

static void test_check_san(void **state)
{
	const char *const dns[] = {"pg1", "db.example.com"};
	const char *const ips[] = {"10.0.0.1", "::1"};
	struct hp_tls_subject s = {"pg1", dns, 2, ips, 2};
	struct hp_tls_pair ca, h = {0}, c = {0};
	struct hp_tls_subject cs = {"haprov", NULL, 0, NULL, 0};
	struct hp_err err;

	(void)state;
	new_ca(&ca, "haprov-ca");
	assert_int_equal(hp_tls_issue(&h, &ca, &s, HP_TLS_HOST, 30, NOW, &err),
			 0);
	assert_int_equal(hp_tls_check_san(h.cert, "pg1", "10.0.0.1", &err), 0);
	assert_int_equal(hp_tls_check_san(h.cert, "PG1", "::1", &err), 0);
	assert_int_equal(hp_tls_check_san(h.cert, NULL, "db.example.com", &err),
			 0);
	assert_int_equal(hp_tls_check_san(h.cert, "pg1", NULL, &err), 0);
	assert_int_equal(hp_tls_check_san(h.cert, "pg1", "10.0.0.9", &err),
			 HP_EINVALID);
	assert_string_equal(err.msg,
			    "'10.0.0.9' is not in the certificate's names "
			    "(DNS:pg1, DNS:db.example.com, IP:10.0.0.1, "
			    "IP:::1)");
	assert_int_equal(hp_tls_check_san(h.cert, "pg2", "10.0.0.1", &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "'pg2' is not in"));
	/* an address as a name matches a DNS entry only, and an IP entry is
	 * never matched by a DNS name of the same text */
	assert_int_equal(hp_tls_check_san(h.cert, "10.0.0.1", NULL, &err),
			 HP_EINVALID);
	assert_int_equal(
		hp_tls_check_san(h.cert, NULL, "other.example.com", &err),
		HP_EINVALID);
	/* no wildcard matching, and the CN is not a name */
	assert_int_equal(
		hp_tls_issue(&c, &ca, &cs, HP_TLS_CLIENT, 30, NOW, &err), 0);
	assert_int_equal(hp_tls_check_san(c.cert, "haprov", NULL, &err),
			 HP_EINVALID);
	assert_string_equal(err.msg, "'haprov' is not in the certificate's "
				     "names (none)");
	hp_tls_pair_release(&c);
	hp_tls_pair_release(&h);
	hp_tls_pair_release(&ca);
}

static void test_days_left(void **state)
{
	struct hp_tls_pair ca, h;

	(void)state;
	new_ca(&ca, "haprov-ca");
	new_host(&h, &ca, 30);
	assert_int_equal(hp_tls_days_left(h.cert, NOW), 30);
	assert_int_equal(hp_tls_days_left(h.cert, NOW + 1), 29);
	assert_int_equal(hp_tls_days_left(h.cert, NOW + DAY - 1), 29);
	assert_int_equal(hp_tls_days_left(h.cert, NOW + DAY), 29);
	assert_int_equal(hp_tls_days_left(h.cert, NOW + DAY + 1), 28);
	assert_int_equal(hp_tls_days_left(h.cert, NOW + 30 * DAY), 0);
	/* expired: rounded down, so one second late is -1 */
	assert_int_equal(hp_tls_days_left(h.cert, NOW + 30 * DAY + 1), -1);
	assert_int_equal(hp_tls_days_left(h.cert, NOW + 31 * DAY), -1);
	assert_int_equal(hp_tls_days_left(h.cert, NOW + 31 * DAY + 1), -2);
	assert_int_equal(hp_tls_days_left("garbage!", NOW), INT32_MIN);
	hp_tls_pair_release(&h);
	hp_tls_pair_release(&ca);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_info),
		cmocka_unit_test(test_hostile_subject),
		cmocka_unit_test(test_check_pair),
		cmocka_unit_test(test_check_issued),
		cmocka_unit_test(test_check_dates),
		cmocka_unit_test(test_check_san),
		cmocka_unit_test(test_days_left),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
