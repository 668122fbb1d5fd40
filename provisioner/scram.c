/*
 * SCRAM-SHA-256 verifiers (scram.h), with libcrypto's PBKDF2, HMAC and
 * SHA-256. Every intermediate key is wiped before return.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "scram.h"

#define PREFIX "SCRAM-SHA-256$"

bool hp_scram_password_ok(const char *password)
{
	size_t i;

	if (!password || !*password)
		return false;
	for (i = 0; password[i]; i++) {
		if (i >= HP_SCRAM_PASSWORD_MAX)
			return false;
		if (password[i] < 0x20 || password[i] > 0x7e)
			return false;
	}
	return true;
}

/* StoredKey and ServerKey of password; 0 or HP_ERROR. */
static int scram_keys(const char *password, const unsigned char *salt,
		      size_t salt_len, int iterations,
		      unsigned char stored[HP_SCRAM_KEY_LEN],
		      unsigned char server[HP_SCRAM_KEY_LEN])
{
	unsigned char salted[HP_SCRAM_KEY_LEN], client[HP_SCRAM_KEY_LEN];
	unsigned int len = 0, len2 = 0;
	int ok;

	ok = PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
			       (int)salt_len, iterations, EVP_sha256(),
			       (int)sizeof(salted), salted) == 1;
	ok = ok && HMAC(EVP_sha256(), salted, (int)sizeof(salted),
			(const unsigned char *)"Client Key", 10, client,
			&len) != NULL && len == sizeof(client);
	ok = ok && SHA256(client, sizeof(client), stored) != NULL;
	ok = ok && HMAC(EVP_sha256(), salted, (int)sizeof(salted),
			(const unsigned char *)"Server Key", 10, server,
			&len2) != NULL && len2 == HP_SCRAM_KEY_LEN;
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client, sizeof(client));
	return ok ? 0 : HP_ERROR;
}

/* Standard padded base64 of data into out (room for it checked by the
 * caller); returns its length. */
static size_t b64_encode(char *out, const unsigned char *data, size_t len)
{
	return (size_t)EVP_EncodeBlock((unsigned char *)out, data, (int)len);
}

int hp_scram_verifier(char *out, size_t outsz, const char *password,
		      const unsigned char *salt, size_t salt_len,
		      int iterations, struct hp_err *err)
{
	unsigned char stored[HP_SCRAM_KEY_LEN], server[HP_SCRAM_KEY_LEN];
	char b_salt[4 * ((HP_SCRAM_SALT_MAX + 2) / 3) + 1];
	char b_stored[4 * ((HP_SCRAM_KEY_LEN + 2) / 3) + 1];
	char b_server[sizeof(b_stored)];
	int n;

	if (!hp_scram_password_ok(password))
		return hp_err_set(err, HP_EINVALID,
				  "a password must be 1 to %d printable ASCII "
				  "characters (SASLprep is not implemented)",
				  HP_SCRAM_PASSWORD_MAX);
	if (!salt || salt_len < 1 || salt_len > HP_SCRAM_SALT_MAX)
		return hp_err_set(err, HP_EINVALID,
				  "a SCRAM salt must be 1 to %d bytes",
				  HP_SCRAM_SALT_MAX);
	if (iterations < 1 || iterations > HP_SCRAM_ITER_MAX)
		return hp_err_set(err, HP_EINVALID,
				  "SCRAM iterations must be 1 to %d",
				  HP_SCRAM_ITER_MAX);
	if (scram_keys(password, salt, salt_len, iterations, stored, server))
		return hp_err_set(err, HP_ERROR,
				  "libcrypto failed computing a SCRAM verifier");
	b64_encode(b_salt, salt, salt_len);
	b64_encode(b_stored, stored, sizeof(stored));
	b64_encode(b_server, server, sizeof(server));
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(server, sizeof(server));
	n = snprintf(out, outsz, PREFIX "%d:%s$%s:%s", iterations, b_salt,
		     b_stored, b_server);
	OPENSSL_cleanse(b_stored, sizeof(b_stored));
	OPENSSL_cleanse(b_server, sizeof(b_server));
	if (n < 0 || (size_t)n >= outsz) {
		if (outsz)
			OPENSSL_cleanse(out, outsz);
		return hp_err_set(err, HP_ETOOBIG,
				  "no room for a SCRAM verifier");
	}
	return 0;
}

int hp_scram_verifier_new(char *out, size_t outsz, const char *password,
			  struct hp_err *err)
{
	unsigned char salt[HP_SCRAM_SALT_LEN];

	if (RAND_bytes(salt, (int)sizeof(salt)) != 1)
		return hp_err_set(err, HP_ERROR,
				  "no random bytes for a SCRAM salt");
	return hp_scram_verifier(out, outsz, password, salt, sizeof(salt),
				 HP_SCRAM_ITERATIONS, err);
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode len characters of padded standard base64 into out (at most max
 * bytes); -1 unless the text is canonical: a multiple of 4, padding only
 * at the end, unused bits zero (re-encoding gives the same text).
 */
static long b64_decode(unsigned char *out, size_t max, const char *s,
		       size_t len)
{
	char again[4 * ((HP_SCRAM_SALT_MAX + 2) / 3) + 1];
	size_t i, n = 0, pad = 0;
	unsigned acc = 0;

	if (len == 0 || len % 4 || len >= sizeof(again))
		return -1;
	if (s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len - pad; i++) {
		int v = b64_value(s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		if (i % 4 == 3) {
			if (n + 3 > max)
				return -1;
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (pad) {
		size_t extra = 3 - pad;

		if (n + extra > max)
			return -1;
		acc <<= 6 * pad;
		out[n++] = (unsigned char)(acc >> 16);
		if (extra == 2)
			out[n++] = (unsigned char)(acc >> 8);
	}
	b64_encode(again, out, n);
	if (strlen(again) != len || memcmp(again, s, len) != 0)
		return -1;
	return (long)n;
}

/* A decimal 1..HP_SCRAM_ITER_MAX, no sign, no leading zero. */
static int parse_iterations(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 7 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= HP_SCRAM_ITER_MAX ? (int)v : -1;
}

int hp_scram_parse(struct hp_scram *v, const char *verifier,
		   struct hp_err *err)
{
	const char *p, *colon, *dollar, *colon2;
	size_t len;
	long n;

	memset(v, 0, sizeof(*v));
	if (!verifier)
		goto bad;
	len = strnlen(verifier, HP_SCRAM_VERIFIER_MAX);
	if (len >= HP_SCRAM_VERIFIER_MAX ||
	    strncmp(verifier, PREFIX, strlen(PREFIX)) != 0)
		goto bad;
	p = verifier + strlen(PREFIX);
	colon = strchr(p, ':');
	dollar = colon ? strchr(colon + 1, '$') : NULL;
	colon2 = dollar ? strchr(dollar + 1, ':') : NULL;
	if (!colon2 || strchr(colon2 + 1, ':') || strchr(colon2 + 1, '$'))
		goto bad;
	v->iterations = parse_iterations(p, (size_t)(colon - p));
	if (v->iterations < 1)
		goto bad;
	n = b64_decode(v->salt, sizeof(v->salt), colon + 1,
		       (size_t)(dollar - colon - 1));
	if (n < 1)
		goto bad;
	v->salt_len = (size_t)n;
	if (b64_decode(v->stored_key, sizeof(v->stored_key), dollar + 1,
		       (size_t)(colon2 - dollar - 1)) != HP_SCRAM_KEY_LEN ||
	    b64_decode(v->server_key, sizeof(v->server_key), colon2 + 1,
		       strlen(colon2 + 1)) != HP_SCRAM_KEY_LEN)
		goto bad;
	return 0;
bad:
	memset(v, 0, sizeof(*v));
	return hp_err_set(err, HP_EINVALID,
			  "not a SCRAM-SHA-256 verifier in PostgreSQL's format");
}

bool hp_scram_matches(const char *verifier, const char *password)
{
	unsigned char stored[HP_SCRAM_KEY_LEN], server[HP_SCRAM_KEY_LEN];
	struct hp_scram v;
	bool ok;

	if (!hp_scram_password_ok(password) ||
	    hp_scram_parse(&v, verifier, NULL) < 0)
		return false;
	if (scram_keys(password, v.salt, v.salt_len, v.iterations, stored,
		       server) < 0)
		return false;
	/* both compared, whatever the first gives */
	ok = CRYPTO_memcmp(stored, v.stored_key, sizeof(stored)) == 0;
	ok = (CRYPTO_memcmp(server, v.server_key, sizeof(server)) == 0) & ok;
	OPENSSL_cleanse(stored, sizeof(stored));
	OPENSSL_cleanse(server, sizeof(server));
	OPENSSL_cleanse(&v, sizeof(v));
	return ok;
}
