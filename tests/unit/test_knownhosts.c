/*
 * The host key policy (knownhosts.h) without an sshd: known_hosts text and
 * key blobs in, a verdict and a message out. A matching key, a changed
 * key, a key of another type for a known host, @revoked and
 * @cert-authority lines, hashed and multi-name entries, an unknown host
 * with and without accept_new, and plan (read only), which must never
 * write. The connection side is tested against a real sshd in
 * tests/integration/10-ssh-local.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "knownhosts.h"

#define ADDR "10.0.0.5"
#define PORT 2222
#define NAME "[10.0.0.5]:2222"

/* A key blob as libssh2_session_hostkey returns it: string type, then
 * the key's fields; `seed` makes two keys of one type differ. */
struct blob {
	char b[128];
	size_t len;
	int type; /* LIBSSH2_HOSTKEY_TYPE_* */
};

static void put_string(struct blob *k, const void *s, size_t n)
{
	k->b[k->len++] = (char)((n >> 24) & 0xff);
	k->b[k->len++] = (char)((n >> 16) & 0xff);
	k->b[k->len++] = (char)((n >> 8) & 0xff);
	k->b[k->len++] = (char)(n & 0xff);
	memcpy(k->b + k->len, s, n);
	k->len += n;
}

static struct blob ed25519(unsigned char seed)
{
	struct blob k;
	unsigned char pub[32];
	size_t i;

	memset(&k, 0, sizeof(k));
	for (i = 0; i < sizeof(pub); i++)
		pub[i] = (unsigned char)(seed * 31u + i);
	put_string(&k, "ssh-ed25519", 11);
	put_string(&k, pub, sizeof(pub));
	k.type = LIBSSH2_HOSTKEY_TYPE_ED25519;
	return k;
}

static struct blob ecdsa256(unsigned char seed)
{
	struct blob k;
	unsigned char pt[65];
	size_t i;

	memset(&k, 0, sizeof(k));
	pt[0] = 4;
	for (i = 1; i < sizeof(pt); i++)
		pt[i] = (unsigned char)(seed * 17u + i);
	put_string(&k, "ecdsa-sha2-nistp256", 19);
	put_string(&k, "nistp256", 8);
	put_string(&k, pt, sizeof(pt));
	k.type = LIBSSH2_HOSTKEY_TYPE_ECDSA_256;
	return k;
}

/* "TYPE BASE64" of a blob, for a known_hosts line; the caller frees. */
static char *keytext(const struct blob *k)
{
	char b64[256];
	const char *t = k->type == LIBSSH2_HOSTKEY_TYPE_ED25519
				? "ssh-ed25519"
				: "ecdsa-sha2-nistp256";

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)k->b,
			(int)k->len);
	return xasprintf("%s %s", t, b64);
}

/* The hashed form ssh-keygen -H writes for name: |1|salt|HMAC-SHA1. */
static char *hashed_name(const char *name)
{
	static const unsigned char salt[20] = "0123456789abcdefghij";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char s64[64], m64[64];

	HMAC(EVP_sha1(), salt, sizeof(salt), (const unsigned char *)name,
	     strlen(name), mac, &maclen);
	EVP_EncodeBlock((unsigned char *)s64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)m64, mac, (int)maclen);
	return xasprintf("|1|%s|%s", s64, m64);
}

struct fx {
	LIBSSH2_SESSION *session;
	struct hp_known_hosts k;
	struct hp_hostkey_policy p;
	struct hp_err err;
};

static int setup(void **state)
{
	struct fx *x = xcalloc(1, sizeof(*x));

	x->session = libssh2_session_init();
	assert_non_null(x->session);
	x->p.host = "db1";
	x->p.where = "root@" ADDR ":2222";
	x->p.known_hosts = "/test/known_hosts";
	hp_err_clear(&x->err);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	hp_known_hosts_release(&x->k);
	libssh2_session_free(x->session);
	free(x);
	return 0;
}

/* Load text as known_hosts for ADDR:port (a fresh store each time). */
static void load_for(struct fx *x, const char *text, const char *address,
		     int port)
{
	hp_known_hosts_release(&x->k);
	hp_known_hosts_init(&x->k, x->session, address, port);
	hp_known_hosts_parse(&x->k, text, strlen(text), "known_hosts");
}

static void load(struct fx *x, const char *text)
{
	load_for(x, text, ADDR, PORT);
}

static enum hp_hostkey_verdict judge(struct fx *x, const struct blob *k,
				     bool accept_new, bool read_only)
{
	hp_err_clear(&x->err);
	x->p.accept_new = accept_new;
	x->p.read_only = read_only;
	return hp_known_hosts_check(&x->k, k->b, k->len, k->type, &x->p,
				    &x->err);
}

/* The verdict is v under every combination of accept_new and read_only. */
static void always(struct fx *x, const struct blob *k,
		   enum hp_hostkey_verdict v)
{
	int i;

	for (i = 0; i < 4; i++) {
		assert_int_equal(judge(x, k, i & 1, i & 2), v);
		if (!hp_hostkey_accepted(v)) {
			assert_int_equal(x->err.code, HP_EHOSTKEY);
			assert_non_null(strstr(x->err.msg, "db1"));
		}
	}
}

static void test_matching_key_accepts(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1);
	char *kt = keytext(&a), *text = xasprintf(NAME " %s\n", kt);

	load(x, text);
	always(x, &a, HP_HOSTKEY_MATCH);
	assert_int_equal(x->err.code, 0);
	assert_string_equal(x->err.msg, "");
	free(text);
	free(kt);
}

static void test_port_22_is_the_bare_address(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1);
	char *kt = keytext(&a), *text = xasprintf(ADDR " %s\n", kt);

	load_for(x, text, ADDR, 22);
	always(x, &a, HP_HOSTKEY_MATCH);
	/* the bare address does not stand for another port (as OpenSSH) */
	load(x, text);
	assert_int_equal(judge(x, &a, false, false), HP_HOSTKEY_UNKNOWN);
	free(text);
	free(kt);
}

static void test_names_lists_and_case(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1);
	char *kt = keytext(&a);
	char *text = xasprintf("other.example,db1.example.com %s\n", kt);

	load_for(x, text, "DB1.Example.COM", 22);
	always(x, &a, HP_HOSTKEY_MATCH);
	free(text);
	free(kt);
}

static void test_changed_key_refused_always(void **state)
{
	struct fx *x = *state;
	struct blob known = ed25519(1), offered = ed25519(2);
	char *kt = keytext(&known), *text = xasprintf(NAME " %s\n", kt);
	char fp[64];

	load(x, text);
	always(x, &offered, HP_HOSTKEY_CHANGED);
	hp_key_fingerprint(offered.b, offered.len, fp);
	assert_non_null(strstr(x->err.msg, "has CHANGED"));
	assert_non_null(strstr(x->err.msg, fp));
	assert_non_null(strstr(x->err.msg, "ssh-keygen -R '" NAME "'"));
	free(text);
	free(kt);
}

static void test_other_key_type_refused_always(void **state)
{
	struct fx *x = *state;
	struct blob known = ed25519(1), offered = ecdsa256(1);
	char *kt = keytext(&known), *text = xasprintf(NAME " %s\n", kt);

	load(x, text);
	/* known as ed25519, the server offers ecdsa: never on trust */
	always(x, &offered, HP_HOSTKEY_OTHER_TYPE);
	assert_non_null(strstr(x->err.msg, "lists ED25519 keys"));
	assert_non_null(strstr(x->err.msg, "offers ECDSA key"));
	assert_non_null(strstr(x->err.msg, "not even with "
					   "--accept-new-host-keys"));
	/* and the preferences ask for the known type first */
	{
		struct hp_buf pref = HP_BUF_INIT;

		hp_known_hosts_prefs(&x->k, &pref);
		assert_true(strncmp(pref.buf, "ssh-ed25519", 11) == 0);
		hp_buf_release(&pref);
	}
	free(text);
	free(kt);
}

static void test_known_type_first_in_prefs(void **state)
{
	struct fx *x = *state;
	struct blob known = ecdsa256(1);
	char *kt = keytext(&known), *text = xasprintf(NAME " %s\n", kt);
	struct hp_buf pref = HP_BUF_INIT;

	load(x, text);
	hp_known_hosts_prefs(&x->k, &pref);
	assert_true(strncmp(pref.buf, "ecdsa-sha2-nistp256,", 20) == 0);
	assert_non_null(strstr(pref.buf, "ssh-ed25519"));
	/* SHA-1 DSA is never asked for */
	assert_null(strstr(pref.buf, "ssh-dss"));
	hp_buf_release(&pref);
	/* nothing known: OpenSSH's order, ed25519 first */
	load(x, "");
	hp_known_hosts_prefs(&x->k, &pref);
	assert_true(strncmp(pref.buf, "ssh-ed25519,", 12) == 0);
	hp_buf_release(&pref);
	free(text);
	free(kt);
}

static void test_unverifiable_type_refused(void **state)
{
	struct fx *x = *state;
	struct blob known = ed25519(1), offered = ecdsa256(1);
	char *kt = keytext(&known), *text = xasprintf(NAME " %s\n", kt);
	size_t i;

	load(x, text);
	/* as with an RSA-only entry and a libssh2 without rsa-sha2 */
	for (i = 0; i < HP_NR_KEY_KINDS; i++)
		x->k.usable[i] = false;
	always(x, &offered, HP_HOSTKEY_UNVERIFIABLE);
	assert_non_null(strstr(x->err.msg, "which this libssh2 cannot check"));
	free(text);
	free(kt);
}

static void test_revoked_key_refused(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1), b = ed25519(2);
	char *kta = keytext(&a), *ktb = keytext(&b);
	char *text = xasprintf("@revoked * %s\n" NAME " %s\n", kta, kta);

	/* listed as the host's key and revoked: revoked wins */
	load(x, text);
	always(x, &a, HP_HOSTKEY_REVOKED);
	assert_non_null(strstr(x->err.msg, "REVOKED"));
	free(text);
	/* an unknown host with a revoked key is not added */
	text = xasprintf("@revoked\tsomehost %s\n", kta);
	load(x, text);
	always(x, &a, HP_HOSTKEY_REVOKED);
	/* another key is not affected */
	assert_int_equal(judge(x, &b, true, false), HP_HOSTKEY_ADD);
	free(text);
	free(kta);
	free(ktb);
}

static void test_cert_authority_is_not_a_host_key(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1);
	char *kt = keytext(&a);
	char *text = xasprintf("@cert-authority " NAME " %s\n"
			       "@cert-authority * %s\n",
			       kt, kt);

	load(x, text);
	assert_int_equal(judge(x, &a, false, false), HP_HOSTKEY_UNKNOWN);
	assert_non_null(strstr(x->err.msg, "is not known"));
	assert_int_equal(judge(x, &a, true, false), HP_HOSTKEY_ADD);
	/* and it makes no "known by another type" either */
	{
		struct blob e = ecdsa256(1);

		assert_int_equal(judge(x, &e, true, false), HP_HOSTKEY_ADD);
	}
	free(text);
	free(kt);
}

static void test_hashed_entries(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1), b = ed25519(2);
	char *kt = keytext(&a), *h = hashed_name(NAME);
	char *other = hashed_name("[10.0.0.6]:2222");
	char *text = xasprintf("%s %s\n", h, kt);

	load(x, text);
	always(x, &a, HP_HOSTKEY_MATCH);
	always(x, &b, HP_HOSTKEY_CHANGED);
	free(text);
	text = xasprintf("%s %s\n", other, kt);
	load(x, text);
	assert_int_equal(judge(x, &a, false, false), HP_HOSTKEY_UNKNOWN);
	free(text);
	free(other);
	free(h);
	free(kt);
}

static void test_unknown_host(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1);
	char fp[64];

	load(x, "# nothing yet\n");
	hp_key_fingerprint(a.b, a.len, fp);
	assert_int_equal(judge(x, &a, false, false), HP_HOSTKEY_UNKNOWN);
	assert_int_equal(x->err.code, HP_EHOSTKEY);
	assert_non_null(strstr(x->err.msg, "is not known"));
	assert_non_null(strstr(x->err.msg, fp));
	assert_non_null(strstr(x->err.msg, "--accept-new-host-keys"));
	/* read only alone accepts nothing */
	assert_int_equal(judge(x, &a, false, true), HP_HOSTKEY_UNKNOWN);
	/* accept_new: added; in a plan: this run only, nothing written */
	assert_int_equal(judge(x, &a, true, false), HP_HOSTKEY_ADD);
	assert_int_equal(x->err.code, 0);
	assert_int_equal(judge(x, &a, true, true), HP_HOSTKEY_ACCEPT_ONCE);
	assert_int_equal(x->err.code, 0);
	assert_true(hp_hostkey_accepted(HP_HOSTKEY_ACCEPT_ONCE));
	assert_false(hp_hostkey_accepted(HP_HOSTKEY_UNKNOWN));
}

static void test_noise_is_skipped(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1);
	char *kt = keytext(&a);
	char *text = xasprintf("# a comment\n"
			       "\n"
			       "garbage line that is not an entry\n"
			       "other.example ssh-unknown-type AAAAB3Nz\n"
			       "@revoked\n"
			       "@\n"
			       "   \t" NAME " %s\r\n",
			       kt);

	load(x, text);
	always(x, &a, HP_HOSTKEY_MATCH);
	free(text);
	free(kt);
}

static void test_bad_keys_are_errors(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1);

	load(x, "");
	a.type = 4242;
	assert_int_equal(judge(x, &a, true, false), HP_HOSTKEY_ERROR);
	assert_non_null(strstr(x->err.msg, "type haprov does not know"));
	a = ed25519(1);
	a.len = 0;
	assert_int_equal(judge(x, &a, true, false), HP_HOSTKEY_ERROR);
}

static void test_append_then_match(void **state)
{
	struct fx *x = *state;
	struct blob a = ed25519(1);
	char dir[] = "/tmp/haprov-kh-XXXXXX";
	char *path, *expect, *kt = keytext(&a);
	struct hp_buf got = HP_BUF_INIT;
	struct stat st;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/sub/known_hosts", dir);
	assert_int_equal(hp_known_hosts_append(path, NAME,
					       hp_key_kind_of(a.type), a.b,
					       a.len, &x->err),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	expect = xasprintf("%s/sub", dir);
	assert_int_equal(stat(expect, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	free(expect);
	assert_int_equal(hp_buf_read_file(&got, path, &x->err), 0);
	expect = xasprintf(NAME " %s\n", kt);
	assert_string_equal(got.buf, expect);
	free(expect);
	/* read back: the key now matches */
	hp_known_hosts_release(&x->k);
	hp_known_hosts_init(&x->k, x->session, ADDR, PORT);
	assert_int_equal(hp_known_hosts_load(&x->k, path, &x->err), 0);
	always(x, &a, HP_HOSTKEY_MATCH);
	/* a missing file is an empty one; a directory cannot be read */
	assert_int_equal(hp_known_hosts_load(&x->k, "/nonexistent/kh", &x->err),
			 0);
	assert_int_equal(hp_known_hosts_load(&x->k, dir, &x->err), HP_EIO);
	unlink(path);
	free(path);
	path = xasprintf("%s/sub", dir);
	rmdir(path);
	free(path);
	rmdir(dir);
	hp_buf_release(&got);
	free(kt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_matching_key_accepts),
		T(test_port_22_is_the_bare_address),
		T(test_names_lists_and_case),
		T(test_changed_key_refused_always),
		T(test_other_key_type_refused_always),
		T(test_known_type_first_in_prefs),
		T(test_unverifiable_type_refused),
		T(test_revoked_key_refused),
		T(test_cert_authority_is_not_a_host_key),
		T(test_hashed_entries),
		T(test_unknown_host),
		T(test_noise_is_skipped),
		T(test_bad_keys_are_errors),
		T(test_append_then_match),
#undef T
	};
	int r;

	hp_log_set_level(HP_LOG_ERROR);
	if (libssh2_init(0) != 0)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	libssh2_exit();
	return r;
}
