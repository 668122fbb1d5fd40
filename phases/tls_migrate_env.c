/*
 * The files the migration writes on the way (tls_migrate.h): the final
 * rendering, with etcd.env's URL lines rewritten for an intermediate
 * form, or only the certificate files. The final forms are render.c's
 * own, so `validate --render` and the golden files do not change.
 */
#include <stdlib.h>
#include <string.h>

#include "phases.h"
#include "tls_migrate.h"

/* s with every "https://" made "http://". */
static void add_downgraded(struct hp_buf *b, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		if (n - i >= 8 && !memcmp(s + i, "https://", 8)) {
			hp_buf_adds(b, "http://");
			i += 8;
		} else {
			hp_buf_add(b, s + i, 1);
			i++;
		}
	}
}

static bool key_is(const char *line, size_t n, const char *key)
{
	size_t k = strlen(key);

	return n > k && !memcmp(line, key, k) && line[k] == '=';
}

/* The client-side TLS settings: left out while clients are http. */
static bool client_tls_key(const char *l, size_t n)
{
	return key_is(l, n, "ETCD_CERT_FILE") ||
	       key_is(l, n, "ETCD_KEY_FILE") ||
	       key_is(l, n, "ETCD_TRUSTED_CA_FILE") ||
	       key_is(l, n, "ETCD_CLIENT_CERT_AUTH");
}

/* One line of etcd.env in the peers form; false: leave it out. */
static bool env_line(struct hp_buf *b, const char *l, size_t n)
{
	if (client_tls_key(l, n))
		return false;
	if (key_is(l, n, "ETCD_LISTEN_CLIENT_URLS") ||
	    key_is(l, n, "ETCD_ADVERTISE_CLIENT_URLS"))
		add_downgraded(b, l, n);
	else
		hp_buf_add(b, l, n);
	return true;
}

char *hp_tlsm_etcd_env(const char *final, size_t len,
		       enum hp_tlsm_etcd_form form)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i = 0;

	if (form == HP_TLSM_ENV_FINAL)
		return xstrndup(final, len);
	while (i < len) {
		const char *nl = memchr(final + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (final + i)) : len - i;

		if (env_line(&b, final + i, n) && nl)
			hp_buf_adds(&b, "\n");
		i += n + (nl ? 1 : 0);
	}
	if (!b.alloc) /* nothing added: b.buf is the shared empty buffer */
		return xstrdup("");
	return b.buf;
}

/* A "    server NAME ..." line of a host not done: cut " check-ssl...". */
static void haproxy_line(struct hp_buf *b, const struct hp_inventory *inv,
			 const char *l, size_t n, const bool *rest_done)
{
	static const char pre[] = "    server ";
	const char *name = l + sizeof(pre) - 1, *sp, *ssl;
	size_t i;

	if (n <= sizeof(pre) - 1 || memcmp(l, pre, sizeof(pre) - 1) != 0 ||
	    !(sp = memchr(name, ' ', n - (size_t)(name - l)))) {
		hp_buf_add(b, l, n);
		return;
	}
	for (i = 0; i < inv->nr_hosts; i++) {
		const char *hn = inv->hosts[i].name;

		if (strlen(hn) == (size_t)(sp - name) &&
		    !memcmp(hn, name, strlen(hn)))
			break;
	}
	ssl = memmem(l, n, " check-ssl", 10);
	if (i < inv->nr_hosts && !rest_done[i] && ssl)
		n = (size_t)(ssl - l);
	hp_buf_add(b, l, n);
}

char *hp_tlsm_haproxy_cfg(const struct hp_inventory *inv, const char *final,
			  size_t len, const bool *rest_done)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i = 0;

	if (!rest_done)
		return xstrndup(final, len);
	while (i < len) {
		const char *nl = memchr(final + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (final + i)) : len - i;

		haproxy_line(&b, inv, final + i, n, rest_done);
		if (nl)
			hp_buf_adds(&b, "\n");
		i += n + (nl ? 1 : 0);
	}
	if (!b.alloc) /* nothing added: b.buf is the shared empty buffer */
		return xstrdup("");
	return b.buf;
}

/* The stage's form: one host at a time, so one process-wide value. */
static struct hp_tlsm_files cur;

static bool in_tls_dir(const char *path)
{
	return strstr(path, "/tls/") != NULL;
}

static void replace(struct hp_want_file *f, char *c)
{
	free((char *)(uintptr_t)f->content);
	f->content = c;
	f->len = strlen(c);
}

static int stage_files(struct hp_hostrun *h, const char *phase,
		       struct hp_want_file **out, size_t *nr,
		       struct hp_err *err)
{
	struct hp_run *run = h->run;
	struct hp_want_file *f;
	size_t i, n = 0;
	int r;

	run->phase_files_cb = NULL;
	r = hp_phase_files(h, phase, out, nr, err);
	run->phase_files_cb = stage_files;
	if (r < 0)
		return r;
	f = *out;
	for (i = 0; i < *nr; i++) {
		if (cur.certs_only && !in_tls_dir(f[i].path)) {
			/* hp_want_files_free frees its array too */
			struct hp_want_file *one = xmalloc(sizeof(*one));

			*one = f[i];
			hp_want_files_free(one, 1);
			continue;
		}
		if (!strcmp(f[i].path, "/etc/default/etcd"))
			replace(&f[i], hp_tlsm_etcd_env(f[i].content, f[i].len,
							cur.etcd_form));
		else if (!strcmp(f[i].path, "/etc/haproxy/haproxy.cfg"))
			replace(&f[i],
				hp_tlsm_haproxy_cfg(run->inv, f[i].content,
						    f[i].len, cur.rest_done));
		f[n++] = f[i];
	}
	*nr = n;
	return 0;
}

void hp_tlsm_files_use(struct hp_run *run, const struct hp_tlsm_files *f)
{
	cur = *f;
	run->phase_files_cb = stage_files;
}

void hp_tlsm_files_done(struct hp_run *run)
{
	run->phase_files_cb = NULL;
}
