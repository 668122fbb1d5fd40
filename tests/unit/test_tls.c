/*
 * The cluster's certificates (provisioner/tls.c): what is
 * generated is checked with OpenSSL itself, not with haprov's own parsers;
 * the store form and PEM in and out.
 */
#include "tls_fixture.h"

/* ---- OpenSSL-side helpers (independent of tls.c) ------------------------ */

/* Seconds from NOW to t. */
static long secs_from_now(const ASN1_TIME *t)
{
	ASN1_TIME *now = ASN1_TIME_set(NULL, NOW);
	int day = 0, sec = 0;

	assert_int_equal(ASN1_TIME_diff(&day, &sec, now, t), 1);
	ASN1_TIME_free(now);
	return (long)day * DAY + sec;
}

static void assert_name(const X509_NAME *n, const char *want)
{
	char buf[256];

	X509_NAME_oneline(n, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* Critical flag of extension nid, or -1 when absent. */
static int ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* SAN as "DNS:a,IP:1.2.3.4" (IPv4 only is enough here). */
static void san_string(X509 *x, char *out, size_t size)
{
	GENERAL_NAMES *gens =
		X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);

		if (g->type == GEN_DNS) {
			used += (size_t)snprintf(
				out + used, size - used, "%sDNS:%s",
				i ? "," : "",
				(const char *)ASN1_STRING_get0_data(
					g->d.dNSName));
		} else {
			assert_int_equal(g->type, GEN_IPADD);
			const unsigned char *d =
				ASN1_STRING_get0_data(g->d.iPAddress);

			if (ASN1_STRING_length(g->d.iPAddress) == 4)
				used += (size_t)snprintf(
					out + used, size - used,
					"%sIP:%d.%d.%d.%d", i ? "," : "", d[0],
					d[1], d[2], d[3]);
			else
				used += (size_t)snprintf(out + used,
							 size - used, "%sIP6",
							 i ? "," : "");
		}
	}
	GENERAL_NAMES_free(gens);
}

/* ---- generation ------------------------------------------------------------
 */

static void test_ca_new(void **state)
{
	struct hp_tls_pair ca;
	BASIC_CONSTRAINTS *bc;
	EVP_PKEY *k;
	X509 *x;
	char group[32];
	int crit = -1;

	(void)state;
	new_ca(&ca, "haprov-ca");
	x = ssl_cert(ca.cert);
	k = ssl_key(ca.key);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(X509_verify(x, k), 1); /* self-signed */
	assert_int_equal(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	assert_int_equal(EVP_PKEY_get_group_name(k, group, sizeof(group), NULL),
			 1);
	assert_string_equal(group, "prime256v1");
	assert_name(X509_get_subject_name(x), "/CN=haprov-ca/O=haprov");
	assert_name(X509_get_issuer_name(x), "/CN=haprov-ca/O=haprov");
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_non_null(bc->pathlen);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(ext_critical(x, NID_ext_key_usage), -1);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_int_equal(secs_from_now(X509_get0_notBefore(x)), -3600);
	assert_int_equal(secs_from_now(X509_get0_notAfter(x)), 3650L * DAY);
	/* positive, non-zero, at most 128 bits */
	{
		BIGNUM *bn =
			ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);

		assert_non_null(bn);
		assert_false(BN_is_negative(bn));
		assert_false(BN_is_zero(bn));
		assert_true(BN_num_bits(bn) <= 128);
		assert_true(BN_num_bits(bn) > 64); /* random, not a counter */
		BN_free(bn);
	}
	EVP_PKEY_free(k);
	X509_free(x);
	hp_tls_pair_release(&ca);
	hp_tls_pair_release(&ca); /* safe twice */
	assert_null(ca.cert);
}

static void test_issue_host(void **state)
{
	struct hp_tls_pair ca, h;
	BASIC_CONSTRAINTS *bc;
	X509 *x, *cx;
	EVP_PKEY *k;
	char san[256];
	int crit = -1;

	(void)state;
	new_ca(&ca, "haprov-ca");
	new_host(&h, &ca, 365);
	x = ssl_cert(h.cert);
	cx = ssl_cert(ca.cert);
	k = ssl_key(h.key);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(cx)), 1);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(X509_check_issued(cx, x), X509_V_OK);
	assert_name(X509_get_subject_name(x), "/CN=pg1");
	assert_name(X509_get_issuer_name(x), "/CN=haprov-ca/O=haprov");
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_false(bc->ca);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_key_usage(x),
			 KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(ext_critical(x, NID_key_usage), 1);
	assert_int_equal(X509_get_extended_key_usage(x),
			 XKU_SSL_SERVER | XKU_SSL_CLIENT);
	san_string(x, san, sizeof(san));
	assert_string_equal(san, "DNS:pg1,DNS:localhost,IP:10.0.0.1,"
				 "IP:127.0.0.1");
	assert_int_equal(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
					       X509_get0_subject_key_id(cx)),
			 0);
	assert_int_equal(secs_from_now(X509_get0_notBefore(x)), -3600);
	assert_int_equal(secs_from_now(X509_get0_notAfter(x)), 365L * DAY);
	assert_true(strlen(h.cert) < 1500);
	/* two issues: two keys, two serials */
	{
		struct hp_tls_pair h2;
		X509 *x2;

		new_host(&h2, &ca, 365);
		x2 = ssl_cert(h2.cert);
		assert_int_not_equal(
			ASN1_INTEGER_cmp(X509_get0_serialNumber(x),
					 X509_get0_serialNumber(x2)),
			0);
		assert_string_not_equal(h.key, h2.key);
		X509_free(x2);
		hp_tls_pair_release(&h2);
	}
	EVP_PKEY_free(k);
	X509_free(cx);
	X509_free(x);
	hp_tls_pair_release(&h);
	hp_tls_pair_release(&ca);
}

static void test_issue_client(void **state)
{
	struct hp_tls_subject s = {"haprov", NULL, 0, NULL, 0};
	struct hp_tls_pair ca, c = {0};
	struct hp_err err;
	X509 *x, *cx;

	(void)state;
	new_ca(&ca, "haprov-ca");
	assert_int_equal(
		hp_tls_issue(&c, &ca, &s, HP_TLS_CLIENT, 30, NOW, &err), 0);
	x = ssl_cert(c.cert);
	cx = ssl_cert(ca.cert);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(cx)), 1);
	assert_name(X509_get_subject_name(x), "/CN=haprov");
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_CLIENT);
	assert_int_equal(ext_critical(x, NID_subject_alt_name), -1);
	assert_int_equal(secs_from_now(X509_get0_notAfter(x)), 30L * DAY);
	X509_free(cx);
	X509_free(x);
	hp_tls_pair_release(&c);
	hp_tls_pair_release(&ca);
}

static void test_issue_refuses(void **state)
{
	const char *const bad_ips[][1] = {
		{"pg1"}, {"10.0.0.1x"}, {"10.0.0"}, {""}};
	struct hp_tls_subject s = {"pg1", host_dns, 2, NULL, 0};
	struct hp_tls_pair ca, ca2, mixed, h = {0};
	struct hp_err err;

	(void)state;
	new_ca(&ca, "haprov-ca");
	for (size_t i = 0; i < 4; i++) {
		s.ips = bad_ips[i];
		s.nr_ips = 1;
		assert_int_equal(
			hp_tls_issue(&h, &ca, &s, HP_TLS_HOST, 30, NOW, &err),
			HP_EINVALID);
		assert_non_null(strstr(err.msg, "not an IP address literal"));
		assert_null(h.cert);
		assert_null(h.key);
	}
	s.ips = host_ips;
	s.nr_ips = 2;
	/* a DNS name with a comma or a space */
	{
		const char *const bad_dns[] = {"pg1,IP:1.2.3.4"};
		struct hp_tls_subject d = {"pg1", bad_dns, 1, NULL, 0};

		assert_int_equal(
			hp_tls_issue(&h, &ca, &d, HP_TLS_HOST, 30, NOW, &err),
			HP_EINVALID);
	}
	s.cn = "";
	assert_int_equal(hp_tls_issue(&h, &ca, &s, HP_TLS_HOST, 30, NOW, &err),
			 HP_EINVALID);
	s.cn = "pg1";
	assert_int_equal(hp_tls_issue(&h, &ca, &s, HP_TLS_CA, 30, NOW, &err),
			 HP_EINVALID);
	assert_int_equal(hp_tls_issue(&h, &ca, &s, HP_TLS_HOST, 0, NOW, &err),
			 HP_EINVALID);
	/* a CA whose key is another CA's */
	new_ca(&ca2, "haprov-ca");
	mixed.cert = ca.cert;
	mixed.key = ca2.key;
	assert_int_equal(
		hp_tls_issue(&h, &mixed, &s, HP_TLS_HOST, 30, NOW, &err),
		HP_EINVALID);
	assert_non_null(strstr(err.msg, "does not match"));
	assert_null(h.cert);
	hp_tls_pair_release(&ca2);
	hp_tls_pair_release(&ca);
}

/* ---- store form and PEM
 * ------------------------------------------------------ */

static void test_pem_round_trip(void **state)
{
	struct hp_buf pem = HP_BUF_INIT;
	struct hp_tls_pair ca;
	struct hp_err err;
	char *back = NULL, *line, *nl;
	BIO *bio;
	X509 *x;

	(void)state;
	new_ca(&ca, "haprov-ca");
	assert_int_equal(hp_tls_pem(&pem, ca.cert, "CERTIFICATE", &err), 0);
	assert_int_equal(strncmp(pem.buf, "-----BEGIN CERTIFICATE-----\n", 28),
			 0);
	assert_non_null(strstr(pem.buf, "\n-----END CERTIFICATE-----\n"));
	assert_int_equal(pem.buf[pem.len - 1], '\n');
	for (line = pem.buf; (nl = strchr(line, '\n')); line = nl + 1)
		assert_true(nl - line <= 64);
	/* OpenSSL reads it */
	bio = BIO_new_mem_buf(pem.buf, (int)pem.len);
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	assert_non_null(x);
	X509_free(x);
	BIO_free(bio);
	assert_int_equal(hp_tls_from_pem(&back, pem.buf, pem.len, "CERTIFICATE",
					 "t", &err),
			 0);
	assert_string_equal(back, ca.cert);
	free(back);
	hp_buf_reset(&pem);
	assert_int_equal(hp_tls_pem(&pem, ca.key, "PRIVATE KEY", &err), 0);
	assert_int_equal(strncmp(pem.buf, "-----BEGIN PRIVATE KEY-----\n", 28),
			 0);
	assert_int_equal(hp_tls_from_pem(&back, pem.buf, pem.len, "PRIVATE KEY",
					 "t", &err),
			 0);
	assert_string_equal(back, ca.key);
	hp_secret_free(back);
	/* a key asked for as a certificate, and the other way round */
	assert_int_equal(hp_tls_pem(&pem, ca.key, "CERTIFICATE", &err),
			 HP_EINVALID);
	assert_int_equal(hp_tls_pem(&pem, ca.cert, "PRIVATE KEY", &err),
			 HP_EINVALID);
	assert_int_equal(hp_tls_pem(&pem, ca.cert, "RSA KEY", &err),
			 HP_EINVALID);
	hp_buf_release(&pem);
	hp_tls_pair_release(&ca);
}

/* text: the PEM of k in traditional (SEC1 / PKCS#1) form, maybe
 * encrypted (traditional) or as ENCRYPTED PRIVATE KEY (pkcs8). */
static char *key_pem(EVP_PKEY *k, int encrypt, int pkcs8)
{
	BIO *bio = BIO_new(BIO_s_mem());
	unsigned char pass[] = "secret";
	char *p, *out;
	long n;

	if (pkcs8)
		assert_int_equal(PEM_write_bio_PKCS8PrivateKey(
					 bio, k, EVP_aes_128_cbc(),
					 (const char *)pass, 6, NULL, NULL),
				 1);
	else
		assert_int_equal(PEM_write_bio_PrivateKey_traditional(
					 bio, k,
					 encrypt ? EVP_aes_128_cbc() : NULL,
					 encrypt ? pass : NULL, encrypt ? 6 : 0,
					 NULL, NULL),
				 1);
	n = BIO_get_mem_data(bio, &p);
	out = strndup(p, (size_t)n);
	BIO_free(bio);
	return out;
}

static void assert_converts(EVP_PKEY *k, const char *armour)
{
	struct hp_err err;
	char *text = key_pem(k, 0, 0), *b64 = NULL;
	EVP_PKEY *back;

	assert_non_null(strstr(text, armour));
	assert_int_equal(hp_tls_from_pem(&b64, text, strlen(text),
					 "PRIVATE KEY", "t", &err),
			 0);
	back = ssl_key(b64); /* PKCS#8 DER */
	assert_int_equal(EVP_PKEY_eq(k, back), 1);
	EVP_PKEY_free(back);
	hp_secret_free(b64);
	free(text);
}

static void test_from_pem_traditional_keys(void **state)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	EVP_PKEY *rsa = EVP_RSA_gen(1024);

	(void)state;
	assert_non_null(ec);
	assert_non_null(rsa);
	assert_converts(ec, "-----BEGIN EC PRIVATE KEY-----");
	assert_converts(rsa, "-----BEGIN RSA PRIVATE KEY-----");
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}

static void test_from_pem_encrypted(void **state)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	struct hp_err err;
	char *b64 = NULL;

	(void)state;
	for (int pkcs8 = 0; pkcs8 < 2; pkcs8++) {
		char *text = key_pem(ec, 1, pkcs8);

		assert_int_equal(hp_tls_from_pem(&b64, text, strlen(text),
						 "PRIVATE KEY",
						 "secrets.tls.ca_key", &err),
				 HP_EINVALID);
		assert_null(b64);
		assert_non_null(strstr(err.msg, "encrypted keys are not "
						"supported"));
		assert_non_null(strstr(err.msg, "secrets.tls.ca_key"));
		free(text);
	}
	EVP_PKEY_free(ec);
}

static void test_from_pem_picks_block(void **state)
{
	struct hp_buf pem = HP_BUF_INIT;
	struct hp_tls_pair ca;
	struct hp_err err;
	char *b64 = NULL;

	(void)state;
	new_ca(&ca, "haprov-ca");
	/* key first, then the certificate, as a combined stats.pem */
	assert_int_equal(hp_tls_pem(&pem, ca.key, "PRIVATE KEY", &err), 0);
	assert_int_equal(hp_buf_adds(&pem, "junk between\n"), 0);
	assert_int_equal(hp_tls_pem(&pem, ca.cert, "CERTIFICATE", &err), 0);
	assert_int_equal(hp_tls_from_pem(&b64, pem.buf, pem.len, "CERTIFICATE",
					 "t", &err),
			 0);
	assert_string_equal(b64, ca.cert);
	free(b64);
	assert_int_equal(hp_tls_from_pem(&b64, pem.buf, pem.len, "PRIVATE KEY",
					 "t", &err),
			 0);
	assert_string_equal(b64, ca.key);
	hp_secret_free(b64);
	b64 = NULL;
	/* no block of that kind */
	assert_int_equal(hp_tls_from_pem(&b64, "hello\n", 6, "CERTIFICATE",
					 "secrets.tls.ca_cert '/x/ca.crt'",
					 &err),
			 HP_EINVALID);
	assert_string_equal(err.msg, "secrets.tls.ca_cert '/x/ca.crt': no "
				     "CERTIFICATE PEM block");
	assert_null(b64);
	hp_buf_release(&pem);
	hp_tls_pair_release(&ca);
}

static void test_from_pem_caps(void **state)
{
	struct hp_buf pem = HP_BUF_INIT;
	struct hp_err err;
	char *big = make_cert("big", NULL, 120), *b64 = NULL, *huge;

	(void)state;
	assert_true(strlen(big) > 4000);
	assert_int_equal(hp_tls_pem(&pem, big, "CERTIFICATE", &err), 0);
	assert_int_equal(hp_tls_from_pem(&b64, pem.buf, pem.len, "CERTIFICATE",
					 "t", &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "too large for the secret store"));
	assert_null(b64);
	/* more than 64 KiB of text, however valid its start */
	huge = calloc(1, 64 * 1024 + 2);
	assert_non_null(huge);
	memcpy(huge, pem.buf, pem.len);
	memset(huge + pem.len, '\n', 64 * 1024 + 1 - pem.len);
	assert_int_equal(hp_tls_from_pem(&b64, huge, 64 * 1024 + 1,
					 "CERTIFICATE", "t", &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "larger than"));
	free(huge);
	free(big);
	hp_buf_release(&pem);
}

static void test_b64_refused(void **state)
{
	struct hp_buf pem = HP_BUF_INIT;
	struct hp_tls_pair ca;
	struct hp_tls_info in;
	struct hp_err err;
	char *cut, *extra;
	size_t n;

	(void)state;
	new_ca(&ca, "haprov-ca");
	n = strlen(ca.cert);
	const char *bad[] = {"",     "abc",  "ab=c", "abcd\nabcd",
			     "ab*d", "====", "AAAA"};
	for (size_t i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		assert_int_equal(hp_tls_pem(&pem, bad[i], "CERTIFICATE", &err),
				 HP_EINVALID);
		assert_int_equal(hp_tls_cert_info(&in, bad[i], &err),
				 HP_EINVALID);
		assert_int_equal(hp_tls_days_left(bad[i], NOW), INT32_MIN);
	}
	/* truncated: still base64, no longer the DER */
	cut = strndup(ca.cert, (n - 8) / 4 * 4);
	assert_int_equal(hp_tls_pem(&pem, cut, "CERTIFICATE", &err),
			 HP_EINVALID);
	assert_int_equal(hp_tls_days_left(cut, NOW), INT32_MIN);
	free(cut);
	/* trailing bytes after the DER */
	assert_true(asprintf(&extra, "%sAAAA", ca.cert) > 0);
	if (ca.cert[n - 1] != '=')
		assert_int_equal(hp_tls_pem(&pem, extra, "CERTIFICATE", &err),
				 HP_EINVALID);
	free(extra);
	assert_true(asprintf(&extra, "%sAAAA", ca.key) > 0);
	if (ca.key[strlen(ca.key) - 1] != '=')
		assert_int_equal(hp_tls_pem(&pem, extra, "PRIVATE KEY", &err),
				 HP_EINVALID);
	free(extra);
	assert_int_equal(pem.len, 0);
	hp_buf_release(&pem);
	hp_tls_pair_release(&ca);
}

static void test_read_pem_file(void **state)
{
	char path[] = "/tmp/test_tls_XXXXXX";
	struct hp_buf pem = HP_BUF_INIT;
	struct hp_tls_pair ca;
	struct hp_err err;
	char *b64 = NULL;
	int fd;

	(void)state;
	new_ca(&ca, "haprov-ca");
	assert_int_equal(hp_tls_pem(&pem, ca.cert, "CERTIFICATE", &err), 0);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pem.buf, pem.len), (ssize_t)pem.len);
	close(fd);
	assert_int_equal(
		hp_tls_read_pem_file(&b64, path, "CERTIFICATE", "t", &err), 0);
	assert_string_equal(b64, ca.cert);
	free(b64);
	b64 = NULL;
	unlink(path);
	assert_int_equal(hp_tls_read_pem_file(&b64, path, "CERTIFICATE",
					      "secrets.tls.ca_cert", &err),
			 HP_ENOTFOUND);
	assert_non_null(strstr(err.msg, path));
	assert_non_null(strstr(err.msg, "secrets.tls.ca_cert"));
	assert_null(b64);
	hp_buf_release(&pem);
	hp_tls_pair_release(&ca);
}

/* ---- facts and checks ------------------------------------------------------
 */

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_new),
		cmocka_unit_test(test_issue_host),
		cmocka_unit_test(test_issue_client),
		cmocka_unit_test(test_issue_refuses),
		cmocka_unit_test(test_pem_round_trip),
		cmocka_unit_test(test_from_pem_traditional_keys),
		cmocka_unit_test(test_from_pem_encrypted),
		cmocka_unit_test(test_from_pem_picks_block),
		cmocka_unit_test(test_from_pem_caps),
		cmocka_unit_test(test_b64_refused),
		cmocka_unit_test(test_read_pem_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
