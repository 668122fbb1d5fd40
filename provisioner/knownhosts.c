/*
 * The host key policy: known_hosts parsing and the decision on the key a
 * host offers (see knownhosts.h). The connection itself is ssh.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "knownhosts.h"

/* A known_hosts file larger than this is not one. */
#define KNOWN_HOSTS_MAX ((size_t)64 * 1024 * 1024)

/*
 * In OpenSSH's order of preference. ssh-rsa (SHA-1 signatures) and ssh-dss
 * are left out of negotiation, as OpenSSH has done since 8.8.
 */
static const struct hp_key_kind key_kinds[HP_NR_KEY_KINDS] = {
	{LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519, "ED25519",
	 "ssh-ed25519", "ssh-ed25519"},
	{LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
	 "ECDSA", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"},
	{LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
	 "ECDSA", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"},
	{LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
	 "ECDSA", "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"},
	{LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA, "RSA",
	 "ssh-rsa", "rsa-sha2-512,rsa-sha2-256"},
	{LIBSSH2_HOSTKEY_TYPE_DSS, LIBSSH2_KNOWNHOST_KEY_SSHDSS, "DSA",
	 "ssh-dss", NULL},
};

const struct hp_key_kind *hp_key_kind_of(int hostkey_type)
{
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(key_kinds); i++)
		if (key_kinds[i].hostkey_type == hostkey_type)
			return &key_kinds[i];
	return NULL;
}

bool hp_hostkey_accepted(enum hp_hostkey_verdict v)
{
	return v == HP_HOSTKEY_MATCH || v == HP_HOSTKEY_ADD ||
	       v == HP_HOSTKEY_ACCEPT_ONCE;
}

void hp_key_fingerprint(const char *key, size_t len, char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *b64, *eq;

	EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL);
	b64 = hp_base64(md, mdlen);
	if ((eq = strchr(b64, '=')) != NULL)
		*eq = '\0';
	snprintf(out, 64, "SHA256:%s", b64);
	free(b64);
}

/*
 * The name known_hosts files use for address:port, as OpenSSH writes it:
 * "address" for port 22, "[address]:port" otherwise, host names in lower
 * case. The caller frees it.
 */
static char *known_hosts_name(const char *address, int port)
{
	char *s, *p;

	if (port == 22)
		s = xstrdup(address);
	else
		s = xasprintf("[%s]:%d", address, port);
	for (p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

void hp_known_hosts_init(struct hp_known_hosts *k, LIBSSH2_SESSION *session,
			 const char *address, int port)
{
	memset(k, 0, sizeof(*k));
	k->session = session;
	k->kh = libssh2_knownhost_init(session);
	k->revoked = libssh2_knownhost_init(session);
	if (!k->kh || !k->revoked)
		hp_die_oom();
	k->name = known_hosts_name(address, port);
}

void hp_known_hosts_release(struct hp_known_hosts *k)
{
	if (!k)
		return;
	if (k->kh)
		libssh2_knownhost_free(k->kh);
	if (k->revoked)
		libssh2_knownhost_free(k->revoked);
	free(k->name);
	memset(k, 0, sizeof(*k));
}

/*
 * Whether kh has a key of type kh_bits for name. There is no lookup by
 * name in libssh2 (and hashed entries can only be matched, not read), so
 * ask for a key that cannot be there: "mismatch" means the host has a key
 * of that type, "not found" that it has none.
 */
static bool has_key_of_kind(LIBSSH2_KNOWNHOSTS *kh, const char *name,
			    int kh_bits)
{
	return libssh2_knownhost_checkp(
		       kh, name, -1, "-", 1,
		       LIBSSH2_KNOWNHOST_TYPE_PLAIN |
			       LIBSSH2_KNOWNHOST_KEYENC_BASE64 | kh_bits,
		       NULL) == LIBSSH2_KNOWNHOST_CHECK_MISMATCH;
}

/* Whether one of the comma-separated methods is in libssh2's list. */
static bool any_supported(const char *methods, const char **algs, int nr)
{
	size_t len;
	int i;

	for (; methods && *methods; methods += len + (methods[len] == ',')) {
		len = strcspn(methods, ",");
		for (i = 0; i < nr; i++)
			if (strlen(algs[i]) == len &&
			    strncmp(algs[i], methods, len) == 0)
				return true;
	}
	return false;
}

/* Fill k->known and k->usable once the entries are read. */
static void index_kinds(struct hp_known_hosts *k)
{
	const char **algs = NULL;
	size_t i;
	int nr;

	nr = libssh2_session_supported_algs(k->session, LIBSSH2_METHOD_HOSTKEY,
					    &algs);
	for (i = 0; i < HP_ARRAY_SIZE(key_kinds); i++) {
		k->known[i] =
			has_key_of_kind(k->kh, k->name, key_kinds[i].kh_bits);
		k->usable[i] =
			nr > 0 && any_supported(key_kinds[i].methods, algs, nr);
	}
	if (nr > 0)
		libssh2_free(k->session, (void *)algs);
}

/*
 * One known_hosts line (without its newline) into k. Returns the store it
 * went to, or NULL when the line is not a host key entry (blank, a
 * comment, a marker other than @revoked); *one is the text handed to
 * libssh2.
 */
static LIBSSH2_KNOWNHOSTS *line_entry(struct hp_known_hosts *k,
				      const char *line, const char *eol,
				      struct hp_buf *one)
{
	LIBSSH2_KNOWNHOSTS *into = k->kh;

	while (line < eol && (*line == ' ' || *line == '\t'))
		line++;
	if (line == eol || *line == '#' || *line == '\r')
		return NULL;
	if (*line == '@') {
		/* "@cert-authority" (and anything else) is not a host key */
		if ((size_t)(eol - line) <= 9 ||
		    strncmp(line, "@revoked", 8) != 0 ||
		    (line[8] != ' ' && line[8] != '\t'))
			return NULL;
		into = k->revoked;
		for (line += 8; line < eol && (*line == ' ' || *line == '\t');)
			line++;
	}
	hp_buf_reset(one);
	if (into == k->revoked) {
		/*
		 * A revoked key is refused for every host, and the usual
		 * pattern "*" is one libssh2 would silently drop: give the
		 * entry a plain name instead.
		 */
		while (line < eol && *line != ' ' && *line != '\t')
			line++;
		hp_buf_adds(one, "revoked");
	}
	while (eol > line &&
	       (eol[-1] == '\r' || eol[-1] == ' ' || eol[-1] == '\t'))
		eol--;
	/*
	 * A copy that ends in NUL: libssh2 looks one byte past the length it
	 * is given and drops the key's last character if that byte is the
	 * newline.
	 */
	hp_buf_add(one, line, (size_t)(eol - line));
	return into;
}

/*
 * libssh2_knownhost_readfile stops at the first line it cannot parse (a
 * marker, a key type it does not know), and every entry after it would be
 * lost: hence line by line.
 */
void hp_known_hosts_parse(struct hp_known_hosts *k, const char *text,
			  size_t len, const char *path)
{
	struct hp_buf one = HP_BUF_INIT;
	const char *p, *end;
	int lineno = 0;

	for (p = text, end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = p, *eol = nl ? nl : end;
		LIBSSH2_KNOWNHOSTS *into;

		p = nl ? nl + 1 : end;
		lineno++;
		into = line_entry(k, line, eol, &one);
		if (!into || memchr(one.buf, '\0', one.len))
			continue;
		if (libssh2_knownhost_readline(
			    into, one.buf, one.len,
			    LIBSSH2_KNOWNHOST_FILE_OPENSSH)) {
			char *msg = NULL;

			libssh2_session_last_error(k->session, &msg, NULL, 0);
			hp_debug("%s:%d: skipped: %s", path, lineno,
				 msg ? msg : "cannot parse");
		}
	}
	hp_buf_release(&one);
	index_kinds(k);
}

int hp_known_hosts_load(struct hp_known_hosts *k, const char *path,
			struct hp_err *err)
{
	struct hp_buf file = HP_BUF_INIT;
	int r;

	hp_buf_init(&file, KNOWN_HOSTS_MAX);
	r = hp_buf_read_file(&file, path, err);
	if (r == HP_ENOTFOUND) {
		hp_err_clear(err);
		r = 0;
	}
	if (r == 0)
		hp_known_hosts_parse(k, file.buf, file.len, path);
	else if (err)
		err->code = r = HP_EIO;
	else
		r = HP_EIO;
	hp_buf_release(&file);
	return r;
}

void hp_known_hosts_prefs(const struct hp_known_hosts *k, struct hp_buf *out)
{
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < HP_ARRAY_SIZE(key_kinds); i++) {
			if (!k->usable[i] || k->known[i] != (pass == 0))
				continue;
			if (out->len)
				hp_buf_addch(out, ',');
			hp_buf_adds(out, key_kinds[i].methods);
		}
	}
}

/* Whether the key (raw blob) is listed under @revoked, for any host name
 * (revocations are usually written for "*"). */
static bool is_revoked(LIBSSH2_KNOWNHOSTS *revoked, const char *key, size_t len)
{
	struct libssh2_knownhost *e = NULL;
	char *b64 = hp_base64((const unsigned char *)key, len);
	bool found = false;

	while (!found && libssh2_knownhost_get(revoked, &e, e) == 0)
		found = e->key && strcmp(e->key, b64) == 0;
	free(b64);
	return found;
}

/* The key is not in known_hosts for this host: other types, or new. */
static enum hp_hostkey_verdict
not_found(const struct hp_known_hosts *k, const struct hp_key_kind *kind,
	  const char *fp, const struct hp_hostkey_policy *p, struct hp_err *err)
{
	struct hp_buf others = HP_BUF_INIT;
	enum hp_hostkey_verdict v;
	bool any_usable = false;
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(key_kinds); i++) {
		if (!k->known[i])
			continue;
		any_usable |= k->usable[i];
		if (!strstr(others.buf, key_kinds[i].label))
			hp_buf_addf(&others, "%s%s", others.len ? ", " : "",
				    key_kinds[i].label);
	}
	if (others.len && !any_usable) {
		v = HP_HOSTKEY_UNVERIFIABLE;
		hp_err_set(err, HP_EHOSTKEY,
			   "cannot verify the host key for '%s' (%s): %s lists "
			   "only %s keys for it, which this libssh2 cannot "
			   "check; it offers %s key %s: if that is the host's "
			   "key, replace the old entry (ssh-keygen -R '%s' -f "
			   "'%s') and rerun with --accept-new-host-keys",
			   p->host, k->name, p->known_hosts, others.buf,
			   kind->label, fp, k->name, p->known_hosts);
	} else if (others.len) {
		/* a new type is never taken on trust (knownhosts.h) */
		v = HP_HOSTKEY_OTHER_TYPE;
		hp_err_set(
			err, HP_EHOSTKEY,
			"host key for '%s' (%s) has CHANGED: %s lists %s "
			"keys for it, but it offers %s key %s; a key of "
			"another type is not accepted for a known host, "
			"not even with --accept-new-host-keys; check, then "
			"remove the old keys with ssh-keygen -R '%s' -f '%s'",
			p->host, k->name, p->known_hosts, others.buf,
			kind->label, fp, k->name, p->known_hosts);
	} else if (!p->accept_new) {
		v = HP_HOSTKEY_UNKNOWN;
		hp_err_set(
			err, HP_EHOSTKEY,
			"host key for '%s' (%s) is not known: %s key "
			"fingerprint is %s; if that is the host's key (on "
			"the host: ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub)"
			", rerun with --accept-new-host-keys to add it to %s",
			p->host, k->name, kind->label, fp, p->known_hosts);
	} else {
		v = p->read_only ? HP_HOSTKEY_ACCEPT_ONCE : HP_HOSTKEY_ADD;
	}
	hp_buf_release(&others);
	return v;
}

enum hp_hostkey_verdict hp_known_hosts_check(const struct hp_known_hosts *k,
					     const char *key, size_t len,
					     int type,
					     const struct hp_hostkey_policy *p,
					     struct hp_err *err)
{
	const struct hp_key_kind *kind = hp_key_kind_of(type);
	char fp[64];
	int rc;

	if (!key || !len) {
		hp_err_set(err, HP_EHOSTKEY, "no host key from %s", p->where);
		return HP_HOSTKEY_ERROR;
	}
	if (!kind) {
		hp_err_set(err, HP_EHOSTKEY,
			   "host key of %s has a type haprov does not know "
			   "(%d)",
			   p->where, type);
		return HP_HOSTKEY_ERROR;
	}
	hp_key_fingerprint(key, len, fp);

	/* before anything else: a revoked key is refused whatever else the
	 * file says about the host */
	if (is_revoked(k->revoked, key, len)) {
		hp_err_set(err, HP_EHOSTKEY,
			   "host key for '%s' (%s) is REVOKED in %s: %s key %s",
			   p->host, k->name, p->known_hosts, kind->label, fp);
		return HP_HOSTKEY_REVOKED;
	}
	rc = libssh2_knownhost_checkp(k->kh, k->name, -1, key, len,
				      LIBSSH2_KNOWNHOST_TYPE_PLAIN |
					      LIBSSH2_KNOWNHOST_KEYENC_RAW |
					      kind->kh_bits,
				      NULL);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return HP_HOSTKEY_MATCH;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		hp_err_set(err, HP_EHOSTKEY,
			   "host key for '%s' (%s) has CHANGED: it now offers "
			   "%s key %s, which differs from the one in %s; this "
			   "can be an attack, or the host was reinstalled: "
			   "check, then remove the old key with "
			   "ssh-keygen -R '%s' -f '%s'",
			   p->host, k->name, kind->label, fp, p->known_hosts,
			   k->name, p->known_hosts);
		return HP_HOSTKEY_CHANGED;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		return not_found(k, kind, fp, p, err);
	default:
		hp_err_set(err, HP_EHOSTKEY,
			   "cannot check the host key of %s against %s",
			   p->where, p->known_hosts);
		return HP_HOSTKEY_ERROR;
	}
}

int hp_known_hosts_append(const char *path, const char *name,
			  const struct hp_key_kind *kind, const char *key,
			  size_t len, struct hp_err *err)
{
	struct hp_buf line = HP_BUF_INIT;
	char *b64 = NULL, *dir = NULL, *slash, eb[128], last = '\n';
	struct stat st;
	int fd = -1, r = 0;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (stat(dir, &st) < 0 &&
		    (r = hp_mkdir_p(dir, 0700, err)) < 0) {
			hp_err_prefix(err, "cannot add a key to '%s'", path);
			goto out;
		}
	}
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = hp_err_set(err, HP_EIO, "cannot open '%s': %s", path,
			       hp_strerror(errno, eb, sizeof(eb)));
		goto out;
	}
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) != 1)
		last = '\n';
	b64 = hp_base64((const unsigned char *)key, len);
	hp_buf_addf(&line, "%s%s %s %s\n", last == '\n' ? "" : "\n", name,
		    kind->kh_name, b64);
	if (write(fd, line.buf, line.len) != (ssize_t)line.len ||
	    fsync(fd) < 0) {
		r = hp_err_set(err, HP_EIO, "cannot write '%s': %s", path,
			       hp_strerror(errno, eb, sizeof(eb)));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	free(b64);
	free(dir);
	hp_buf_release(&line);
	return r;
}
