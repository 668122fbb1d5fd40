/*
 * SCRAM-SHA-256 verifiers (provisioner/scram.c): a fixed vector computed
 * independently, the strict parser against hostile pg_authid text, and the
 * matcher.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scram.h"

/*
 * Computed with Python's standard library, not with haprov's code:
 *	sp = hashlib.pbkdf2_hmac('sha256', b'pencil', bytes(range(16)), 4096)
 *	ck = hmac.new(sp, b'Client Key', hashlib.sha256).digest()
 *	stored = hashlib.sha256(ck).digest()
 *	server = hmac.new(sp, b'Server Key', hashlib.sha256).digest()
 * each key and the salt through base64.b64encode.
 */
#define VEC_PASSWORD "pencil"
#define VEC                                                                \
	"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$"                     \
	"zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:"                    \
	"dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE="

static const unsigned char vec_salt[16] = { 0, 1, 2,  3,  4,  5,  6,  7,
					    8, 9, 10, 11, 12, 13, 14, 15 };

static void test_vector(void **state)
{
	char out[HP_SCRAM_VERIFIER_MAX];
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_scram_verifier(out, sizeof(out), VEC_PASSWORD,
					   vec_salt, sizeof(vec_salt), 4096,
					   &err),
			 0);
	assert_string_equal(out, VEC);
	/* one iteration more is another verifier */
	assert_int_equal(hp_scram_verifier(out, sizeof(out), VEC_PASSWORD,
					   vec_salt, sizeof(vec_salt), 4097,
					   &err),
			 0);
	assert_string_not_equal(out, VEC);
}

static void test_refuses_input(void **state)
{
	char out[HP_SCRAM_VERIFIER_MAX], big[HP_SCRAM_PASSWORD_MAX + 2];
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_scram_verifier(out, sizeof(out), "caf\xc3\xa9",
					   vec_salt, 16, 4096, &err),
			 HP_EINVALID);
	assert_null(strstr(err.msg, "caf"));
	assert_int_equal(hp_scram_verifier(out, sizeof(out), "a\nb", vec_salt,
					   16, 4096, &err),
			 HP_EINVALID);
	assert_int_equal(hp_scram_verifier(out, sizeof(out), "", vec_salt, 16,
					   4096, &err),
			 HP_EINVALID);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hp_scram_verifier(out, sizeof(out), big, vec_salt, 16,
					   4096, &err),
			 HP_EINVALID);
	big[HP_SCRAM_PASSWORD_MAX] = '\0';
	assert_true(hp_scram_password_ok(big));
	assert_int_equal(hp_scram_verifier(out, sizeof(out), "pw", vec_salt, 0,
					   4096, &err),
			 HP_EINVALID);
	assert_int_equal(hp_scram_verifier(out, sizeof(out), "pw", vec_salt, 16,
					   0, &err),
			 HP_EINVALID);
	assert_int_equal(hp_scram_verifier(out, 20, "pw", vec_salt, 16, 4096,
					   &err),
			 HP_ETOOBIG);
}

static void test_new_and_matches(void **state)
{
	char a[HP_SCRAM_VERIFIER_MAX], b[HP_SCRAM_VERIFIER_MAX];
	struct hp_scram v;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_scram_verifier_new(a, sizeof(a), "s3cret", &err),
			 0);
	assert_int_equal(hp_scram_verifier_new(b, sizeof(b), "s3cret", &err),
			 0);
	assert_string_not_equal(a, b); /* fresh salts */
	assert_int_equal(hp_scram_parse(&v, a, &err), 0);
	assert_int_equal(v.iterations, HP_SCRAM_ITERATIONS);
	assert_int_equal(v.salt_len, HP_SCRAM_SALT_LEN);
	assert_true(hp_scram_matches(a, "s3cret"));
	assert_true(hp_scram_matches(b, "s3cret"));
	assert_false(hp_scram_matches(a, "s3creT"));
	assert_false(hp_scram_matches(a, "s3cre"));
	assert_true(hp_scram_matches(VEC, VEC_PASSWORD));
	assert_false(hp_scram_matches(VEC, "pencil "));
	assert_false(hp_scram_matches(VEC, ""));
	assert_false(hp_scram_matches(NULL, "pencil"));
	assert_false(hp_scram_matches("", "pencil"));
	assert_false(hp_scram_matches("pencil", "pencil")); /* clear text */
	assert_false(hp_scram_matches("md5a3556571e93b0d20722ba62be61e8c2d",
				      "pencil"));
}

static void test_parse_vector(void **state)
{
	struct hp_scram v;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_scram_parse(&v, VEC, &err), 0);
	assert_int_equal(v.iterations, 4096);
	assert_int_equal(v.salt_len, 16);
	assert_memory_equal(v.salt, vec_salt, 16);
	assert_int_equal(v.stored_key[0], 0xcc); /* "zHCd" */
}

static void test_parse_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		"SCRAM-SHA-256$",
		"scram-sha-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		/* iterations: zero, signed, leading zero, too many, not a number */
		"SCRAM-SHA-256$0:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$-4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$+4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$04096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$1000001:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$99999999999999999999:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$4k:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		/* salt: empty, unpadded, bad character, non-canonical bits */
		"SCRAM-SHA-256$4096:$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$4096:AAECAwQFBgcI-QoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODx==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$4096:AAEC=wQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$4096:A===$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		/* salt longer than 64 bytes (92 characters) */
		"SCRAM-SHA-256$4096:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		/* keys: short, long, missing, extra field, trailing text */
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5YAAAA:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=:x",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=$",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE=\n",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$zHCdol2044/ZyWzPLi7oxApCkamKw9Z+E4U/QApd/5Y=:dd5peBOitVnLNFu7VmwP+HiDaaw4OUCv396eVCWhYiE= ",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$:",
		"SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$$$",
		"md5a3556571e93b0d20722ba62be61e8c2d",
	};
	char huge[600];
	struct hp_scram v;
	struct hp_err err;
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
		hp_err_clear(&err);
		if (hp_scram_parse(&v, bad[i], &err) != HP_EINVALID)
			fail_msg("accepted bad[%zu]", i);
		/* the message quotes nothing of it */
		assert_null(strstr(err.msg, "4096"));
		assert_null(strstr(err.msg, "md5"));
		assert_int_equal(v.iterations, 0);
	}
	assert_int_equal(hp_scram_parse(&v, NULL, &err), HP_EINVALID);
	memset(huge, 'A', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	memcpy(huge, "SCRAM-SHA-256$4096:", 19);
	assert_int_equal(hp_scram_parse(&v, huge, &err), HP_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_refuses_input),
		cmocka_unit_test(test_new_and_matches),
		cmocka_unit_test(test_parse_vector),
		cmocka_unit_test(test_parse_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
