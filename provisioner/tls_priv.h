#ifndef HP_TLS_PRIV_H
#define HP_TLS_PRIV_H
/*
 * What tls.c (generation, store form, PEM) and tls_check.c (facts and
 * checks) share: the strict store-form decoders and the error helper that
 * turns OpenSSL's error queue into an hp_err.
 */
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "util.h"

/*
 * Set err (code, message) with OpenSSL's last queued error appended when
 * there is one, and empty the queue. Returns code.
 */
int hp_tls_ossl_err(struct hp_err *err, int code, const char *fmt, ...)
	HP_PRINTF(3, 4);

/*
 * Strict base64 (the store form: no line breaks, padding only at the end)
 * into a new buffer *der (OPENSSL_free; wipe first when it holds a key).
 */
int hp_tls_b64_decode(unsigned char **der, size_t *len, const char *b64,
		      struct hp_err *err);

/* A store-form certificate or key, parsed; the whole DER must be used.
 * The caller frees with X509_free / EVP_PKEY_free. */
X509 *hp_tls_x509(const char *b64, struct hp_err *err);
EVP_PKEY *hp_tls_pkey(const char *b64, struct hp_err *err);

/* 1 when s is an IPv4 or IPv6 literal (strictly, as inet_pton). */
int hp_tls_ip_literal(const char *s);

/* A UTC ASN1_TIME as time_t; 0 on success. */
int hp_tls_asn1_time(time_t *out, const ASN1_TIME *t);

#endif
