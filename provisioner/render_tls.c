/*
 * The TLS side of rendering (render.h, "TLS material"): the certificate
 * and key files of etcd, Patroni (and PostgreSQL) and HAProxy, and the
 * settings of etcd.env, config.yml and haproxy.cfg that name them. With
 * the inventory's tls off none of this is rendered, and those three files
 * come out exactly as before TLS existed.
 *
 * Without secrets (validate --render, golden files) the PEM text is a
 * placeholder: "<cert:tls-ca-cert>", "<cert:tls-host-NAME-cert>",
 * "<secret:tls-host-NAME-key>", named as in the secret store.
 */
#include <stdlib.h>
#include <string.h>

#include "render_priv.h"

const char *hp_render_scheme(const struct hp_inventory *inv)
{
	return inv->tls.enabled ? "https" : "http";
}

enum pem_kind { PEM_CA, PEM_CERT, PEM_KEY };

/* The TLS material of secrets, or NULL after err. */
static const struct hp_render_tls *material(const struct rin *in,
					    struct hp_err *err)
{
	if (!in->secrets->tls)
		hp_err_set(err, HP_EINVALID,
			   "tls is on but no TLS material was given");
	return in->secrets->tls;
}

/* Append one PEM text (or its placeholder) to b, ending with a newline. */
static int add_pem(struct hp_buf *b, const struct rin *in, enum pem_kind kind,
		   struct hp_err *err)
{
	size_t idx = (size_t)(in->host - in->inv->hosts);
	const struct hp_render_tls *t;
	const char *pem = NULL;
	size_t n;

	if (!in->secrets) {
		if (kind == PEM_CA)
			hp_buf_adds(b, "<cert:tls-ca-cert>\n");
		else
			hp_buf_addf(b, "<%s:tls-host-%s-%s>\n",
				    kind == PEM_KEY ? "secret" : "cert",
				    in->host->name,
				    kind == PEM_KEY ? "key" : "cert");
		return 0;
	}
	if (!(t = material(in, err)))
		return HP_EINVALID;
	if (kind == PEM_CA)
		pem = t->ca;
	else if (kind == PEM_CERT && t->host_cert)
		pem = t->host_cert[idx];
	else if (kind == PEM_KEY && t->host_key)
		pem = t->host_key[idx];
	if (!pem || !*pem)
		return hp_err_set(err, HP_EINVALID, "the TLS %s is missing",
				  kind == PEM_CA     ? "CA certificate"
				  : kind == PEM_CERT ? "host certificate"
						     : "host key");
	n = strlen(pem);
	while (n && pem[n - 1] == '\n')
		n--;
	hp_buf_add(b, pem, n);
	hp_buf_addch(b, '\n');
	return 0;
}

/* Set "pem" of c to the PEM texts of kinds; the buffer is wiped. */
static int set_pem(json_t *c, const struct rin *in, const enum pem_kind *kinds,
		   size_t nr, struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < nr && r == 0; i++)
		r = add_pem(&b, in, kinds[i], err);
	if (r == 0) {
		/* the template adds the last newline */
		if (b.len)
			b.buf[--b.len] = '\0';
		hp_render_set_buf(c, "pem", &b);
	}
	hp_render_wipe_buf(&b);
	return r;
}

static int ca_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	static const enum pem_kind k[] = {PEM_CA};

	return set_pem(c, in, k, 1, err);
}

static int cert_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	static const enum pem_kind k[] = {PEM_CERT};

	return set_pem(c, in, k, 1, err);
}

static int key_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	static const enum pem_kind k[] = {PEM_KEY};

	return set_pem(c, in, k, 1, err);
}

/* HAProxy's "crt": the certificate, then its key, in one file. */
static int stats_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	static const enum pem_kind k[] = {PEM_CERT, PEM_KEY};

	return set_pem(c, in, k, 2, err);
}

/*
 * Services: etcd re-reads its certificate and key on every new TLS
 * connection, so a renewed certificate needs nothing; a new trust bundle
 * (ca.crt) is read at start only: restart etcd. Patroni re-reads its REST
 * certificates on a reload, and so does PostgreSQL (ssl_* files) when
 * Patroni reloads it; HAProxy reads its files at (re)load.
 */
const struct file_spec hp_render_tls_specs[HP_RENDER_NR_TLS] = {
	{.role = HP_ROLE_ETCD, .tls = true,
	 .path = HP_TLS_ETCD_DIR "/ca.crt", .template = "etcd-ca.crt",
	 .mode = 0644, .owner = "root", .group = "root",
	 .services = "etcd", .ctx = ca_ctx},
	{.role = HP_ROLE_ETCD, .tls = true,
	 .path = HP_TLS_ETCD_DIR "/etcd.crt", .template = "etcd.crt",
	 .mode = 0644, .owner = "root", .group = "root", .ctx = cert_ctx},
	{.role = HP_ROLE_ETCD, .tls = true,
	 .path = HP_TLS_ETCD_DIR "/etcd.key", .template = "etcd.key",
	 .mode = 0600, .owner = "etcd", .group = "etcd", .secret = true,
	 .ctx = key_ctx},
	{.role = HP_ROLE_PATRONI, .tls = true,
	 .path = HP_TLS_PATRONI_DIR "/ca.crt", .template = "patroni-ca.crt",
	 .mode = 0644, .owner = "root", .group = "root",
	 .services = "patroni", .reload = true, .ctx = ca_ctx},
	{.role = HP_ROLE_PATRONI, .tls = true,
	 .path = HP_TLS_PATRONI_DIR "/host.crt",
	 .template = "patroni-host.crt", .mode = 0644, .owner = "root",
	 .group = "root", .services = "patroni", .reload = true,
	 .ctx = cert_ctx},
	{.role = HP_ROLE_PATRONI, .tls = true,
	 .path = HP_TLS_PATRONI_DIR "/host.key",
	 .template = "patroni-host.key", .mode = 0600, .owner = "postgres",
	 .group = "postgres", .secret = true, .services = "patroni",
	 .reload = true, .ctx = key_ctx},
	{.role = HP_ROLE_HAPROXY, .tls = true,
	 .path = HP_TLS_HAPROXY_DIR "/ca.crt", .template = "haproxy-ca.crt",
	 .mode = 0644, .owner = "root", .group = "root",
	 .services = "haproxy", .reload = true, .ctx = ca_ctx},
	{.role = HP_ROLE_HAPROXY, .tls = true,
	 .path = HP_TLS_HAPROXY_DIR "/stats.pem",
	 .template = "haproxy-stats.pem", .mode = 0600, .owner = "root",
	 .group = "root", .secret = true, .services = "haproxy",
	 .reload = true, .ctx = stats_ctx},
};

/* "tls": false, or {dir} for the templates' {{#tls}} sections. */
static int set_tls(json_t *c, const struct rin *in, const char *dir,
		   struct hp_err *err)
{
	json_t *o;

	if (!in->inv->tls.enabled) {
		json_object_set_new(c, "tls", json_false());
		return 0;
	}
	if (in->secrets && !material(in, err))
		return HP_EINVALID;
	o = hp_render_jnn(json_object());
	hp_render_set_str(o, "dir", dir);
	json_object_set_new(c, "tls", o);
	return 0;
}

int hp_render_tls_etcd(json_t *c, const struct rin *in, struct hp_err *err)
{
	return set_tls(c, in, HP_TLS_ETCD_DIR, err);
}

/* haprov writes PostgreSQL's ssl settings itself when tls is on: one set
 * by hand as well would be a duplicate key in config.yml. */
int hp_render_tls_patroni(json_t *c, const struct rin *in, struct hp_err *err)
{
	static const char *const own[] = {"ssl", "ssl_cert_file",
					  "ssl_key_file", "ssl_ca_file"};
	size_t i;

	for (i = 0; in->inv->tls.enabled && i < HP_ARRAY_SIZE(own); i++)
		if (hp_kvlist_get(&in->inv->patroni.parameters, own[i]))
			return hp_err_set(err, HP_EINVALID,
					  "patroni.parameters.%s is set by "
					  "haprov when tls is on",
					  own[i]);
	return set_tls(c, in, HP_TLS_PATRONI_DIR, err);
}

int hp_render_tls_haproxy(json_t *c, const struct rin *in, struct hp_err *err)
{
	hp_render_set_str(c, "stats_ssl",
			  in->inv->tls.enabled
				  ? " ssl crt " HP_TLS_HAPROXY_DIR "/stats.pem"
				  : "");
	return set_tls(c, in, HP_TLS_HAPROXY_DIR, err);
}
