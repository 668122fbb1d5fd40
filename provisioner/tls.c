/*
 * The cluster's CA and certificates on libcrypto (tls.h): key generation,
 * X.509 v3 issuing, the one-line base64 store form and PEM in and out.
 * The facts and checks about a certificate are in tls_check.c.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "secret_store.h"
#include "tls.h"
#include "tls_priv.h"

#define TLS_PEM_MAX   ((size_t)64 * 1024) /* a supplied PEM file or text */
#define TLS_B64_MAX   ((size_t)64 * 1024) /* a store-form value to decode */
#define TLS_STORE_MAX 4000  /* a store value is at most 4096 bytes */
#define TLS_DAYS_MAX  36500 /* a hundred years */
#define TLS_NAME_MAX  253   /* a DNS name */

/* ---- errors and the store form ----------------------------------------- */

int hp_tls_ossl_err(struct hp_err *err, int code, const char *fmt, ...)
{
	char msg[768], ossl[256] = "";
	unsigned long e = ERR_peek_last_error();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (e != 0)
		ERR_error_string_n(e, ossl, sizeof(ossl));
	ERR_clear_error();
	if (!ossl[0])
		return hp_err_set(err, code, "%s", msg);
	return hp_err_set(err, code, "%s (%s)", msg, ossl);
}

static int b64_char(int c)
{
	return isalnum(c) || c == '+' || c == '/';
}

int hp_tls_b64_decode(unsigned char **der, size_t *len, const char *b64,
		      struct hp_err *err)
{
	size_t n = b64 ? strnlen(b64, TLS_B64_MAX + 1) : 0, pad = 0, i;
	unsigned char *out;
	int r;

	*der = NULL;
	*len = 0;
	if (n == 0 || n > TLS_B64_MAX || n % 4 != 0)
		return hp_err_set(err, HP_EINVALID,
				  "not a one-line base64 value (length %zu)",
				  n);
	if (b64[n - 1] == '=')
		pad = b64[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++)
		if (!b64_char((unsigned char)b64[i]))
			return hp_err_set(err, HP_EINVALID,
					  "not a one-line base64 value "
					  "(character %zu)",
					  i + 1);
	out = OPENSSL_malloc(n / 4 * 3 + 1);
	if (!out)
		hp_die_oom();
	r = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (r < 0 || (size_t)r < pad) {
		OPENSSL_clear_free(out, n / 4 * 3 + 1);
		return hp_tls_ossl_err(err, HP_EINVALID,
				       "not a one-line base64 value");
	}
	*der = out;
	*len = (size_t)r - pad;
	return 0;
}

/* DER into a new store-form string; the DER is wiped when it is a key. */
static char *b64_encode(const unsigned char *der, size_t len)
{
	char *out = xmalloc((len + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, der, (int)len);
	return out;
}

X509 *hp_tls_x509(const char *b64, struct hp_err *err)
{
	unsigned char *der;
	const unsigned char *p;
	size_t len;
	X509 *x;

	if (hp_tls_b64_decode(&der, &len, b64, err) < 0) {
		hp_err_prefix(err, "certificate");
		return NULL;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	if (x && p != der + len) {
		X509_free(x);
		x = NULL;
	}
	OPENSSL_free(der);
	if (!x)
		hp_tls_ossl_err(err, HP_EINVALID,
				"not a DER X.509 certificate");
	return x;
}

EVP_PKEY *hp_tls_pkey(const char *b64, struct hp_err *err)
{
	unsigned char *der;
	const unsigned char *p;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *k = NULL;
	size_t len;

	if (hp_tls_b64_decode(&der, &len, b64, err) < 0) {
		/* the message says nothing of the value itself */
		hp_err_prefix(err, "private key");
		return NULL;
	}
	p = der;
	p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
	if (p8 && p == der + len)
		k = EVP_PKCS82PKEY(p8);
	PKCS8_PRIV_KEY_INFO_free(p8);
	OPENSSL_clear_free(der, len);
	if (!k)
		hp_tls_ossl_err(err, HP_EINVALID,
				"private key: not unencrypted PKCS#8 DER");
	return k;
}

static char *cert_to_b64(X509 *x, struct hp_err *err)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	char *out;

	if (n <= 0) {
		hp_tls_ossl_err(err, HP_ERROR, "cannot encode a certificate");
		return NULL;
	}
	out = b64_encode(der, (size_t)n);
	OPENSSL_free(der);
	return out;
}

static char *key_to_b64(EVP_PKEY *k, struct hp_err *err)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
	unsigned char *der = NULL;
	char *out = NULL;
	int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;

	PKCS8_PRIV_KEY_INFO_free(p8);
	if (n <= 0) {
		hp_tls_ossl_err(err, HP_ERROR, "cannot encode a private key");
		return NULL;
	}
	out = b64_encode(der, (size_t)n);
	OPENSSL_clear_free(der, (size_t)n);
	return out;
}

void hp_tls_pair_release(struct hp_tls_pair *p)
{
	if (!p)
		return;
	free(p->cert);
	hp_secret_free(p->key);
	p->cert = NULL;
	p->key = NULL;
}

/* ---- building a certificate -------------------------------------------- */

/* A random positive 128-bit serial (RFC 5280: at most 20 octets). */
static int set_serial(X509 *x, struct hp_err *err)
{
	unsigned char rnd[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) == 1) {
		rnd[0] |= 0x01; /* never zero, whatever else came */
		bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
		ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	}
	BN_free(bn);
	return ok ? 0
		  : hp_tls_ossl_err(err, HP_ERROR,
				    "cannot make a serial number");
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value,
		   struct hp_err *err)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = ext && X509_add_ext(x, ext, -1);

	X509_EXTENSION_free(ext);
	return ok ? 0
		  : hp_tls_ossl_err(err, HP_ERROR,
				    "cannot add the extension %s '%s'",
				    OBJ_nid2sn(nid), value);
}

/* A DNS SAN entry: printable ASCII, no spaces, no commas. */
static int dns_ok(const char *s)
{
	size_t n = strnlen(s, TLS_NAME_MAX + 1);

	if (n == 0 || n > TLS_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == ',')
			return 0;
	return 1;
}

int hp_tls_ip_literal(const char *s)
{
	unsigned char buf[16];

	/* inet_pton, not a2i_IPADDRESS alone: that one takes "10.0.0.1x" */
	return s && (inet_pton(AF_INET, s, buf) == 1 ||
		     inet_pton(AF_INET6, s, buf) == 1);
}

static int add_gen(GENERAL_NAMES *gens, GENERAL_NAME *g)
{
	if (g && sk_GENERAL_NAME_push(gens, g))
		return 0;
	GENERAL_NAME_free(g);
	return -1;
}

static GENERAL_NAME *dns_name(const char *name)
{
	GENERAL_NAME *g = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();

	if (!g || !ia5 || !ASN1_STRING_set(ia5, name, -1)) {
		ASN1_IA5STRING_free(ia5);
		GENERAL_NAME_free(g);
		return NULL;
	}
	GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
	return g;
}

/* subjectAltName built entry by entry (no config string to inject into). */
static int add_san(X509 *x, const struct hp_tls_subject *s, struct hp_err *err)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int r = 0;
	size_t i;

	if (!gens)
		hp_die_oom();
	for (i = 0; r == 0 && i < s->nr_dns; i++) {
		if (!s->dns[i] || !dns_ok(s->dns[i])) {
			char *p = hp_printable_dup(s->dns[i], 80);

			r = hp_err_set(err, HP_EINVALID,
				       "'%s' is not a DNS name", p);
			free(p);
			break;
		}
		if (add_gen(gens, dns_name(s->dns[i])) < 0)
			r = hp_tls_ossl_err(err, HP_ERROR,
					    "cannot add a DNS name");
	}
	for (i = 0; r == 0 && i < s->nr_ips; i++) {
		ASN1_OCTET_STRING *ip = hp_tls_ip_literal(s->ips[i])
						? a2i_IPADDRESS(s->ips[i])
						: NULL;

		if (!ip) {
			char *p = hp_printable_dup(s->ips[i], 80);

			ERR_clear_error();
			r = hp_err_set(err, HP_EINVALID,
				       "'%s' is not an IP address literal", p);
			free(p);
			break;
		}
		GENERAL_NAME *g = GENERAL_NAME_new();

		if (g)
			GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
		else
			ASN1_OCTET_STRING_free(ip);
		if (add_gen(gens, g) < 0)
			r = hp_tls_ossl_err(err, HP_ERROR,
					    "cannot add an IP address");
	}
	if (r == 0 && sk_GENERAL_NAME_num(gens) > 0 &&
	    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
			      X509V3_ADD_DEFAULT) != 1)
		r = hp_tls_ossl_err(err, HP_ERROR,
				    "cannot add the subjectAltName");
	GENERAL_NAMES_free(gens);
	return r;
}

static int set_subject(X509 *x, const char *cn, int is_ca, struct hp_err *err)
{
	X509_NAME *name = X509_get_subject_name(x);
	size_t n = cn ? strnlen(cn, 65) : 0;

	if (n == 0 || n > 64)
		return hp_err_set(err, HP_EINVALID,
				  "a certificate's common name must be 1 to "
				  "64 characters");
	for (const char *p = cn; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			return hp_err_set(err, HP_EINVALID,
					  "control character in the common "
					  "name");
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    (is_ca && !X509_NAME_add_entry_by_txt(
			      name, "O", MBSTRING_UTF8,
			      (const unsigned char *)"haprov", -1, -1, 0)))
		return hp_tls_ossl_err(err, HP_EINVALID,
				       "cannot set the common name");
	return 0;
}

/* Version, serial, validity, subject, issuer and key of a new certificate. */
static X509 *cert_base(const char *cn, int is_ca, const X509 *ca, EVP_PKEY *key,
		       int days, time_t now, struct hp_err *err)
{
	X509 *x = X509_new();
	time_t t = now;

	if (!x)
		hp_die_oom();
	if (days < 1 || days > TLS_DAYS_MAX) {
		hp_err_set(err, HP_EINVALID,
			   "validity of %d days is not in 1..%d", days,
			   TLS_DAYS_MAX);
		goto fail;
	}
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &t) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), days, 0, &t) ||
	    !X509_set_pubkey(x, key)) {
		hp_tls_ossl_err(err, HP_ERROR, "cannot build a certificate");
		goto fail;
	}
	if (set_serial(x, err) < 0 || set_subject(x, cn, is_ca, err) < 0)
		goto fail;
	if (!X509_set_issuer_name(x, X509_get_subject_name(ca ? ca : x))) {
		hp_tls_ossl_err(err, HP_ERROR, "cannot set the issuer");
		goto fail;
	}
	return x;
fail:
	X509_free(x);
	return NULL;
}

/* The extensions of usage; issuer is the CA's certificate (x for a CA). */
static int add_usage(X509 *x, X509 *issuer, enum hp_tls_usage usage,
		     struct hp_err *err)
{
	X509V3_CTX ctx;
	int r;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if (usage == HP_TLS_CA)
		r = add_ext(x, &ctx, NID_basic_constraints,
			    "critical,CA:TRUE,pathlen:0", err) < 0 ||
		    add_ext(x, &ctx, NID_key_usage,
			    "critical,keyCertSign,cRLSign", err) < 0;
	else
		r = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE",
			    err) < 0 ||
		    add_ext(x, &ctx, NID_key_usage,
			    usage == HP_TLS_HOST ? "critical,digitalSignature,"
						   "keyEncipherment"
						 : "critical,digitalSignature",
			    err) < 0 ||
		    add_ext(x, &ctx, NID_ext_key_usage,
			    usage == HP_TLS_HOST ? "serverAuth,clientAuth"
						 : "clientAuth",
			    err) < 0;
	if (r)
		return HP_ERROR;
	if (add_ext(x, &ctx, NID_subject_key_identifier, "hash", err) < 0)
		return HP_ERROR;
	/* a supplied CA without a subjectKeyIdentifier gets no AKI */
	if (X509_get0_subject_key_id(issuer) &&
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always",
		    err) < 0)
		return HP_ERROR;
	return 0;
}

/* Sign and put cert and key into out in store form. */
static int finish(struct hp_tls_pair *out, X509 *x, EVP_PKEY *signer,
		  EVP_PKEY *key, struct hp_err *err)
{
	if (X509_sign(x, signer, EVP_sha256()) <= 0)
		return hp_tls_ossl_err(err, HP_ERROR,
				       "cannot sign the certificate");
	out->cert = cert_to_b64(x, err);
	if (out->cert && strlen(out->cert) > TLS_STORE_MAX) {
		hp_err_set(err, HP_EINVALID,
			   "the certificate is too large for the secret store "
			   "(over %d base64 characters; fewer names)",
			   TLS_STORE_MAX);
		free(out->cert);
		out->cert = NULL;
		return HP_EINVALID;
	}
	out->key = out->cert ? key_to_b64(key, err) : NULL;
	if (!out->key) {
		hp_tls_pair_release(out);
		return HP_ERROR;
	}
	return 0;
}

static EVP_PKEY *new_key(struct hp_err *err)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	if (!k)
		hp_tls_ossl_err(err, HP_ERROR, "cannot generate a P-256 key");
	return k;
}

int hp_tls_ca_new(struct hp_tls_pair *out, const char *cn, int days, time_t now,
		  struct hp_err *err)
{
	EVP_PKEY *key = new_key(err);
	X509 *x = NULL;
	int r = HP_ERROR;

	if (!key)
		return HP_ERROR;
	x = cert_base(cn, 1, NULL, key, days, now, err);
	if (!x)
		r = err ? err->code : HP_EINVALID;
	else if (add_usage(x, x, HP_TLS_CA, err) == 0)
		r = finish(out, x, key, key, err);
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}

int hp_tls_issue(struct hp_tls_pair *out, const struct hp_tls_pair *ca,
		 const struct hp_tls_subject *subj, enum hp_tls_usage usage,
		 int days, time_t now, struct hp_err *err)
{
	X509 *cacert = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	int r = HP_EINVALID;

	if (usage != HP_TLS_HOST && usage != HP_TLS_CLIENT)
		return hp_err_set(err, HP_EINVALID,
				  "a certificate to issue is for a host or a "
				  "client");
	if (!subj || !ca || !ca->cert || !ca->key)
		return hp_err_set(err, HP_EINVALID,
				  "no subject or no CA to issue with");
	if (!(cacert = hp_tls_x509(ca->cert, err)) ||
	    !(cakey = hp_tls_pkey(ca->key, err))) {
		hp_err_prefix(err, "the CA");
		goto out;
	}
	if (X509_check_private_key(cacert, cakey) != 1) {
		hp_tls_ossl_err(err, HP_EINVALID,
				"the CA's key does not match its certificate");
		goto out;
	}
	if (!(key = new_key(err))) {
		r = HP_ERROR;
		goto out;
	}
	x = cert_base(subj->cn, 0, cacert, key, days, now, err);
	if (!x || (r = add_san(x, subj, err)) < 0)
		goto out;
	r = add_usage(x, cacert, usage, err);
	if (r == 0)
		r = finish(out, x, cakey, key, err);
out:
	if (r < 0 && err && err->code < 0)
		r = err->code;
	X509_free(x);
	X509_free(cacert);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(key);
	return r;
}

/* ---- PEM ----------------------------------------------------------------- */

int hp_tls_pem(struct hp_buf *out, const char *b64, const char *kind,
	       struct hp_err *err)
{
	int is_cert = strcmp(kind, "CERTIFICATE") == 0;
	size_t n, i;
	int r;

	if (!is_cert && strcmp(kind, "PRIVATE KEY") != 0)
		return hp_err_set(err, HP_EINVALID, "unknown PEM kind '%s'",
				  kind);
	if (is_cert) {
		X509 *x = hp_tls_x509(b64, err);

		if (!x)
			return HP_EINVALID;
		X509_free(x);
	} else {
		EVP_PKEY *k = hp_tls_pkey(b64, err);

		if (!k)
			return HP_EINVALID;
		EVP_PKEY_free(k);
	}
	n = strlen(b64);
	r = hp_buf_addf(out, "-----BEGIN %s-----\n", kind);
	for (i = 0; r == 0 && i < n; i += 64) {
		r = hp_buf_add(out, b64 + i, n - i < 64 ? n - i : 64);
		if (r == 0)
			r = hp_buf_addch(out, '\n');
	}
	if (r == 0)
		r = hp_buf_addf(out, "-----END %s-----\n", kind);
	if (r < 0)
		return hp_err_set(err, r, "PEM text too large");
	return 0;
}

/* A key block's DER (PKCS#8 or the traditional EC/RSA forms) as PKCS#8
 * store form. */
static char *key_block_to_b64(const char *name, const unsigned char *data,
			      long len, const char *what, struct hp_err *err)
{
	const unsigned char *p = data;
	EVP_PKEY *k = NULL;
	char *out = NULL;

	if (strcmp(name, "PRIVATE KEY") == 0) {
		PKCS8_PRIV_KEY_INFO *p8 =
			d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, len);

		if (p8 && p == data + len)
			k = EVP_PKCS82PKEY(p8);
		PKCS8_PRIV_KEY_INFO_free(p8);
	} else {
		k = d2i_PrivateKey(strcmp(name, "EC PRIVATE KEY") == 0
					   ? EVP_PKEY_EC
					   : EVP_PKEY_RSA,
				   NULL, &p, len);
		if (k && p != data + len) {
			EVP_PKEY_free(k);
			k = NULL;
		}
	}
	if (!k)
		hp_tls_ossl_err(err, HP_EINVALID, "%s: the %s does not parse",
				what, name);
	else
		out = key_to_b64(k, err);
	EVP_PKEY_free(k);
	return out;
}

static char *cert_block_to_b64(const unsigned char *data, long len,
			       const char *what, struct hp_err *err)
{
	const unsigned char *p = data;
	X509 *x = d2i_X509(NULL, &p, len);
	char *out = NULL;

	if (!x || p != data + len)
		hp_tls_ossl_err(err, HP_EINVALID,
				"%s: the CERTIFICATE does not parse", what);
	else
		out = cert_to_b64(x, err);
	X509_free(x);
	return out;
}

/* 1 when the block named name is the kind asked for; -1 when it is an
 * encrypted key and a key was asked for; 0 for another block. */
static int block_matches(const char *name, const char *header, int want_key)
{
	if (!want_key)
		return strcmp(name, "CERTIFICATE") == 0;
	if (strcmp(name, "ENCRYPTED PRIVATE KEY") == 0)
		return -1;
	if (strcmp(name, "PRIVATE KEY") != 0 &&
	    strcmp(name, "EC PRIVATE KEY") != 0 &&
	    strcmp(name, "RSA PRIVATE KEY") != 0)
		return 0;
	return strstr(header, "ENCRYPTED") ? -1 : 1;
}

static void block_free(char *name, char *header, unsigned char *data, long len)
{
	OPENSSL_free(name);
	OPENSSL_free(header);
	if (data)
		OPENSSL_clear_free(data, (size_t)len);
}

int hp_tls_from_pem(char **out, const char *text, size_t len, const char *kind,
		    const char *what, struct hp_err *err)
{
	int want_key = strcmp(kind, "PRIVATE KEY") == 0, m = 0;
	char *name = NULL, *header = NULL, *res = NULL;
	unsigned char *data = NULL;
	long dlen = 0;
	BIO *bio;

	*out = NULL;
	if (!want_key && strcmp(kind, "CERTIFICATE") != 0)
		return hp_err_set(err, HP_EINVALID, "unknown PEM kind '%s'",
				  kind);
	if (len > TLS_PEM_MAX)
		return hp_err_set(err, HP_EINVALID, "%s: larger than %zu bytes",
				  what, TLS_PEM_MAX);
	if (!(bio = BIO_new_mem_buf(text, (int)len)))
		hp_die_oom();
	while (m == 0 && PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
		m = block_matches(name, header, want_key);
		if (m == 0) {
			block_free(name, header, data, dlen);
			name = header = NULL;
			data = NULL;
		}
	}
	ERR_clear_error();
	BIO_free(bio);
	if (m == 0)
		hp_err_set(err, HP_EINVALID, "%s: no %s PEM block", what, kind);
	else if (m < 0)
		hp_err_set(err, HP_EINVALID,
			   "%s: encrypted keys are not supported (decrypt it "
			   "first: openssl pkey -in KEY -out PLAIN)",
			   what);
	else if (want_key)
		res = key_block_to_b64(name, data, dlen, what, err);
	else
		res = cert_block_to_b64(data, dlen, what, err);
	block_free(name, header, data, dlen);
	if (res && strlen(res) > TLS_STORE_MAX) {
		hp_secret_free(res);
		res = NULL;
		hp_err_set(err, HP_EINVALID,
			   "%s: the %s is too large for the secret store "
			   "(over %d base64 characters; use a smaller key)",
			   what, kind, TLS_STORE_MAX);
	}
	if (!res)
		return HP_EINVALID;
	*out = res;
	return 0;
}

/* One allocation, so that no partial copy of a key is left behind in a
 * freed buffer. */
int hp_tls_read_pem_file(char **out, const char *path, const char *kind,
			 const char *what, struct hp_err *err)
{
	char *text = xmalloc(TLS_PEM_MAX + 1), eb[128];
	size_t len = 0;
	ssize_t n = 1;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = hp_err_set(err, errno == ENOENT ? HP_ENOTFOUND : HP_EIO,
			       "%s: cannot open '%s': %s", what, path,
			       hp_strerror(errno, eb, sizeof(eb)));
		free(text);
		return r;
	}
	while (len <= TLS_PEM_MAX &&
	       (n = read(fd, text + len, TLS_PEM_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	if (n < 0)
		r = hp_err_set(err, HP_EIO, "%s: cannot read '%s': %s", what,
			       path, hp_strerror(errno, eb, sizeof(eb)));
	else if (len > TLS_PEM_MAX)
		r = hp_err_set(err, HP_EINVALID,
			       "%s: '%s' is larger than %zu bytes", what, path,
			       TLS_PEM_MAX);
	else
		r = hp_tls_from_pem(out, text, len, kind, what, err);
	close(fd);
	OPENSSL_cleanse(text, TLS_PEM_MAX + 1);
	free(text);
	return r;
}
