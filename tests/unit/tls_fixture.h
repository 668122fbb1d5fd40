#ifndef HP_TLS_FIXTURE_H
#define HP_TLS_FIXTURE_H
/*
 * Shared by test_tls.c and test_tls_check.c: OpenSSL-side helpers that do
 * not use tls.c's own parsers, a certificate built here (hostile or large
 * on purpose), and the CA and host certificate most tests start from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "secret_store.h"
#include "tls.h"

/* 2026-01-01 00:00:00 UTC */
#define NOW ((time_t)1767225600)
#define DAY ((time_t)86400)

static const char *const host_dns[] = {"pg1", "localhost"};
static const char *const host_ips[] = {"10.0.0.1", "127.0.0.1"};

static inline unsigned char *unb64(const char *b64, size_t *len)
{
	size_t n = strlen(b64), pad = 0;
	unsigned char *out = malloc(n / 4 * 3 + 1);
	int r;

	assert_non_null(out);
	assert_int_equal(n % 4, 0);
	r = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	assert_true(r >= 0);
	if (n && b64[n - 1] == '=')
		pad = b64[n - 2] == '=' ? 2 : 1;
	*len = (size_t)r - pad;
	return out;
}

static inline char *to_b64(const unsigned char *der, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);

	assert_non_null(out);
	EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	return out;
}

static inline X509 *ssl_cert(const char *b64)
{
	size_t len;
	unsigned char *der = unb64(b64, &len);
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);

	assert_non_null(x);
	assert_ptr_equal(p, der + len);
	free(der);
	return x;
}

static inline EVP_PKEY *ssl_key(const char *b64)
{
	size_t len;
	unsigned char *der = unb64(b64, &len);
	const unsigned char *p = der;
	PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	EVP_PKEY *k;

	assert_non_null(p8);
	assert_ptr_equal(p, der + len);
	k = EVP_PKCS82PKEY(p8);
	assert_non_null(k);
	PKCS8_PRIV_KEY_INFO_free(p8);
	free(der);
	return k;
}

static inline char *cert_b64(X509 *x)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	char *out;

	assert_true(n > 0);
	out = to_b64(der, (size_t)n);
	OPENSSL_free(der);
	return out;
}

static inline void assert_printable(const char *s)
{
	for (; *s; s++)
		assert_true(*s >= ' ' && *s < 0x7f);
}

/* A self-signed certificate built here: subject CN cn (any bytes), the
 * DNS SANs given raw, and nr_pad extra DNS names to make it large. */
static inline char *make_cert(const char *cn, const char *dns, int nr_pad)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	char pad[64];
	char *out;

	assert_non_null(k);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	ASN1_TIME_set(X509_getm_notBefore(x), NOW - 3600);
	ASN1_TIME_set(X509_getm_notAfter(x), NOW + 30 * DAY);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
				   V_ASN1_UTF8STRING, (const unsigned char *)cn,
				   -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	for (int i = -1; i < nr_pad; i++) {
		GENERAL_NAME *g = GENERAL_NAME_new();
		ASN1_IA5STRING *s = ASN1_IA5STRING_new();

		if (i >= 0)
			snprintf(pad, sizeof(pad),
				 "padding-name-%04d.example.com", i);
		if (i < 0 && !dns) {
			GENERAL_NAME_free(g);
			ASN1_IA5STRING_free(s);
			continue;
		}
		ASN1_STRING_set(s, i < 0 ? dns : pad, -1);
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		sk_GENERAL_NAME_push(gens, g);
	}
	if (sk_GENERAL_NAME_num(gens) > 0)
		X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0);
	GENERAL_NAMES_free(gens);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	out = cert_b64(x);
	X509_free(x);
	EVP_PKEY_free(k);
	return out;
}

static inline void new_ca(struct hp_tls_pair *ca, const char *cn)
{
	struct hp_err err;

	memset(ca, 0, sizeof(*ca));
	assert_int_equal(hp_tls_ca_new(ca, cn, 3650, NOW, &err), 0);
	assert_non_null(ca->cert);
	assert_non_null(ca->key);
}

static inline void new_host(struct hp_tls_pair *h, const struct hp_tls_pair *ca,
			    int days)
{
	struct hp_tls_subject s = {"pg1", host_dns, 2, host_ips, 2};
	struct hp_err err;

	memset(h, 0, sizeof(*h));
	assert_int_equal(hp_tls_issue(h, ca, &s, HP_TLS_HOST, days, NOW, &err),
			 0);
}

#endif
