#ifndef HP_SCRAM_H
#define HP_SCRAM_H
/*
 * SCRAM-SHA-256 password verifiers as PostgreSQL stores them in
 * pg_authid.rolpassword (RFC 5802, RFC 7677):
 *
 *	SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
 *
 * SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations),
 * ClientKey = HMAC(SaltedPassword, "Client Key"), StoredKey =
 * SHA256(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key").
 *
 * haprov computes the verifier itself and sends only it to the server
 * (`ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'`, as psql's \password
 * does): the password never reaches the server, its log or a network.
 *
 * Passwords are printable ASCII (haprov generates alphanumerics), for
 * which SASLprep is the identity; anything else is refused rather than
 * normalised differently from the server.
 */
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

#define HP_SCRAM_ITERATIONS 4096 /* PostgreSQL's default */
#define HP_SCRAM_SALT_LEN 16     /* PostgreSQL's default */
#define HP_SCRAM_SALT_MAX 64     /* the longest salt accepted from a server */
#define HP_SCRAM_ITER_MAX 1000000 /* the most iterations accepted from a server */
#define HP_SCRAM_KEY_LEN 32
#define HP_SCRAM_PASSWORD_MAX 1024
/* Room for any verifier haprov builds or accepts, with its NUL. */
#define HP_SCRAM_VERIFIER_MAX 256

/* A parsed verifier. */
struct hp_scram {
	int iterations;
	unsigned char salt[HP_SCRAM_SALT_MAX];
	size_t salt_len;
	unsigned char stored_key[HP_SCRAM_KEY_LEN];
	unsigned char server_key[HP_SCRAM_KEY_LEN];
};

/* A password haprov computes verifiers for: 1 to HP_SCRAM_PASSWORD_MAX
 * bytes of printable ASCII (0x20-0x7e). */
bool hp_scram_password_ok(const char *password);

/*
 * The verifier of password with salt (1 to HP_SCRAM_SALT_MAX bytes) and
 * iterations (1 to HP_SCRAM_ITER_MAX) into out (outsz bytes, at least
 * HP_SCRAM_VERIFIER_MAX is always enough). HP_EINVALID for a password
 * that is not printable ASCII (the message never quotes it), a bad salt
 * length or iteration count; HP_ETOOBIG when out is too small; HP_ERROR
 * when libcrypto fails.
 */
int hp_scram_verifier(char *out, size_t outsz, const char *password,
		      const unsigned char *salt, size_t salt_len,
		      int iterations, struct hp_err *err);

/* The same with a fresh random salt of HP_SCRAM_SALT_LEN bytes and
 * HP_SCRAM_ITERATIONS iterations. */
int hp_scram_verifier_new(char *out, size_t outsz, const char *password,
			  struct hp_err *err);

/*
 * Parse a verifier read from pg_authid (remote text), strictly: the
 * "SCRAM-SHA-256$" prefix, a decimal iteration count 1 to
 * HP_SCRAM_ITER_MAX without sign or leading zero, canonical padded base64
 * (standard alphabet) for a salt of 1 to HP_SCRAM_SALT_MAX bytes and for
 * two 32-byte keys, nothing else, at most HP_SCRAM_VERIFIER_MAX - 1 bytes.
 * HP_EINVALID otherwise, with a message that quotes none of it (it may be
 * an MD5 hash or a clear-text password).
 */
int hp_scram_parse(struct hp_scram *v, const char *verifier,
		   struct hp_err *err);

/*
 * Whether verifier (remote text) is password's: recomputed with the
 * verifier's salt and iterations, both keys compared in constant time.
 * false for a verifier hp_scram_parse refuses or a password
 * hp_scram_password_ok refuses.
 */
bool hp_scram_matches(const char *verifier, const char *password);

#endif
