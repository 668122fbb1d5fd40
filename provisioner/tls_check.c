/*
 * Facts about a certificate and the checks run before one is trusted or
 * reused (tls.h). A supplied certificate is untrusted input: every string
 * taken from it is made printable before it reaches a message.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tls_priv.h"

int hp_tls_asn1_time(time_t *out, const ASN1_TIME *t)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = timegm(&tm);
	return 0;
}

void hp_tls_date(char *buf, size_t len, time_t t)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		hp_strlcpy(buf, "?", len);
}

/* A name as "CN=pg1, O=haprov", printable, into out. */
static void name_line(char *out, size_t size, const X509_NAME *name)
{
	struct hp_buf b = HP_BUF_INIT;
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;

	out[0] = '\0';
	if (!bio)
		hp_die_oom();
	/* RFC 2253 escaping, forward order, ", " between entries */
	if (X509_NAME_print_ex(bio, name, 0,
			       ASN1_STRFLGS_RFC2253 | XN_FLAG_SEP_CPLUS_SPC |
				       XN_FLAG_FN_SN) >= 0) {
		long n = BIO_get_mem_data(bio, &p);

		if (n > 0 && p &&
		    hp_buf_add_printable(&b, p, (size_t)n, size - 24) == 0)
			hp_strlcpy(out, b.buf, size);
	}
	ERR_clear_error();
	BIO_free(bio);
	hp_buf_release(&b);
}

static void serial_hex(char *out, size_t size, X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	hp_strlcpy(out, hex ? hex : "?", size);
	OPENSSL_free(hex);
	BN_free(bn);
	ERR_clear_error();
}

int hp_tls_cert_info(struct hp_tls_info *out, const char *cert,
		     struct hp_err *err)
{
	X509 *x = hp_tls_x509(cert, err);
	unsigned char *der = NULL;
	int n;

	memset(out, 0, sizeof(*out));
	if (!x)
		return HP_EINVALID;
	if (hp_tls_asn1_time(&out->not_before, X509_get0_notBefore(x)) < 0 ||
	    hp_tls_asn1_time(&out->not_after, X509_get0_notAfter(x)) < 0) {
		X509_free(x);
		return hp_tls_ossl_err(
			err, HP_EINVALID,
			"certificate: unreadable validity dates");
	}
	name_line(out->subject, sizeof(out->subject), X509_get_subject_name(x));
	name_line(out->issuer, sizeof(out->issuer), X509_get_issuer_name(x));
	serial_hex(out->serial, sizeof(out->serial), x);
	n = i2d_X509(x, &der);
	if (n > 0)
		hp_sha256_hex(der, (size_t)n, out->sha256);
	OPENSSL_free(der);
	out->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	X509_free(x);
	ERR_clear_error();
	return 0;
}

/* ---- checks -------------------------------------------------------------- */

int hp_tls_check_pair(const char *cert, const char *key, struct hp_err *err)
{
	X509 *x = hp_tls_x509(cert, err);
	EVP_PKEY *k = x ? hp_tls_pkey(key, err) : NULL;
	int r = HP_EINVALID;

	if (k && X509_check_private_key(x, k) == 1)
		r = 0;
	else if (k)
		hp_tls_ossl_err(err, HP_EINVALID,
				"the key does not match the certificate");
	ERR_clear_error();
	EVP_PKEY_free(k);
	X509_free(x);
	return r;
}

int hp_tls_check_issued(const char *cert, const char *ca_cert,
			struct hp_err *err)
{
	X509 *x = hp_tls_x509(cert, err), *ca = NULL;
	char subj[256], iss[256], cas[256];
	EVP_PKEY *pub;
	int r = HP_EINVALID;

	if (!x)
		return HP_EINVALID;
	if (!(ca = hp_tls_x509(ca_cert, err))) {
		hp_err_prefix(err, "the CA");
		goto out;
	}
	name_line(subj, sizeof(subj), X509_get_subject_name(x));
	name_line(iss, sizeof(iss), X509_get_issuer_name(x));
	name_line(cas, sizeof(cas), X509_get_subject_name(ca));
	pub = X509_get0_pubkey(ca);
	if (X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)) !=
	    0)
		hp_err_set(err, HP_EINVALID,
			   "certificate '%s' is issued by '%s', not by the CA "
			   "'%s'",
			   subj, iss, cas);
	else if (!pub || X509_verify(x, pub) != 1)
		hp_err_set(err, HP_EINVALID,
			   "certificate '%s' is not signed by the CA '%s' (its "
			   "signature does not verify with the CA's key)",
			   subj, cas);
	else
		r = 0;
out:
	ERR_clear_error();
	X509_free(ca);
	X509_free(x);
	return r;
}

int hp_tls_check_dates(const char *cert, time_t now, struct hp_err *err)
{
	struct hp_tls_info in;
	char nb[40], na[40];

	if (hp_tls_cert_info(&in, cert, err) < 0)
		return HP_EINVALID;
	hp_tls_date(nb, sizeof(nb), in.not_before);
	hp_tls_date(na, sizeof(na), in.not_after);
	if (now < in.not_before)
		return hp_err_set(err, HP_EINVALID,
				  "certificate '%s' is not valid before %s "
				  "(valid until %s)",
				  in.subject, nb, na);
	if (now > in.not_after)
		return hp_err_set(err, HP_EINVALID,
				  "certificate '%s' expired on %s (valid from "
				  "%s)",
				  in.subject, na, nb);
	return 0;
}

/* "DNS:pg1, IP:10.0.0.1", printable, capped by b's max. */
static void san_list(struct hp_buf *b, const GENERAL_NAMES *gens)
{
	char ip[INET6_ADDRSTRLEN];
	int i, n = sk_GENERAL_NAME_num(gens);

	for (i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *s;
		int len;

		if (i > 0 && hp_buf_adds(b, ", ") < 0)
			return;
		if (g->type == GEN_DNS) {
			s = g->d.dNSName;
			if (hp_buf_adds(b, "DNS:") < 0 ||
			    hp_buf_add_printable(b, ASN1_STRING_get0_data(s),
						 (size_t)ASN1_STRING_length(s),
						 128) < 0)
				return;
		} else if (g->type == GEN_IPADD) {
			s = g->d.iPAddress;
			len = ASN1_STRING_length(s);
			if (!inet_ntop(len == 16 ? AF_INET6 : AF_INET,
				       ASN1_STRING_get0_data(s), ip,
				       sizeof(ip)) ||
			    (len != 4 && len != 16))
				hp_strlcpy(ip, "?", sizeof(ip));
			if (hp_buf_addf(b, "IP:%s", ip) < 0)
				return;
		} else if (hp_buf_adds(b, "other") < 0) {
			return;
		}
	}
}

static int san_dns(X509 *x, const char *s)
{
	int r = X509_check_host(x, s, 0,
				X509_CHECK_FLAG_NO_WILDCARDS |
					X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
				NULL);

	ERR_clear_error();
	return r == 1;
}

/* 1 when the certificate holds s: an IP literal as an IP entry, else a
 * DNS entry (exact, case-insensitive, no wildcards, never the CN). */
static int san_has(X509 *x, const char *s)
{
	int r;

	if (!hp_tls_ip_literal(s))
		return san_dns(x, s);
	r = X509_check_ip_asc(x, s, 0);
	ERR_clear_error();
	return r == 1;
}

int hp_tls_check_san(const char *cert, const char *name, const char *address,
		     struct hp_err *err)
{
	X509 *x = hp_tls_x509(cert, err);
	const char *miss = NULL;
	GENERAL_NAMES *gens;
	struct hp_buf names;
	char *p;

	if (!x)
		return HP_EINVALID;
	if (name && !san_dns(x, name))
		miss = name;
	else if (address && !san_has(x, address))
		miss = address;
	if (!miss) {
		X509_free(x);
		return 0;
	}
	hp_buf_init(&names, 512);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	if (gens)
		san_list(&names, gens);
	p = hp_printable_dup(miss, 128);
	hp_err_set(err, HP_EINVALID,
		   "'%s' is not in the certificate's names (%s)", p,
		   names.len ? names.buf : "none");
	free(p);
	GENERAL_NAMES_free(gens);
	hp_buf_release(&names);
	X509_free(x);
	ERR_clear_error();
	return HP_EINVALID;
}

int hp_tls_days_left(const char *cert, time_t now)
{
	struct hp_tls_info in;
	int64_t d;

	if (hp_tls_cert_info(&in, cert, NULL) < 0)
		return INT32_MIN;
	d = (int64_t)in.not_after - (int64_t)now;
	/* rounded down, also below zero */
	d = d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
	if (d > INT32_MAX)
		return INT32_MAX;
	if (d <= INT32_MIN)
		return INT32_MIN + 1;
	return (int)d;
}
