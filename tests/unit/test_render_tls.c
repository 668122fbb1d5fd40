/*
 * Rendering with the inventory's tls on (render_tls.c and the TLS parts
 * of etcd.env, config.yml, haproxy.cfg): URLs, paths, modes, owners,
 * secret flags, services, hostssl, the PEM text itself and its
 * placeholders; with tls off no TLS file; a missing host key is an error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inventory.h"
#include "render.h"

#define INV(tls)                                                               \
	"cluster: {name: t}\n"                                                 \
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"            \
	"hosts:\n"                                                             \
	"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n" \
	"  - {name: pg2, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n" \
	"  - {name: pg3, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n" \
	"patroni: {allowed_networks: [10.0.0.0/24]}\n" tls

static struct hp_inventory *load(const char *yaml)
{
	struct hp_inventory *inv = NULL;
	struct hp_diags d;

	memset(&d, 0, sizeof(d));
	assert_int_equal(hp_inventory_load_string(&inv, yaml, strlen(yaml),
						  "/r/r.yml", &d),
			 0);
	hp_diags_release(&d);
	return inv;
}

static const char *const certs[] = {"-----BEGIN CERTIFICATE-----\nC1\n"
				    "-----END CERTIFICATE-----\n",
				    "-----BEGIN CERTIFICATE-----\nC2\n"
				    "-----END CERTIFICATE-----\n",
				    "-----BEGIN CERTIFICATE-----\nC3\n"
				    "-----END CERTIFICATE-----\n"};
static const char *const keys[] = {"-----BEGIN PRIVATE KEY-----\nK1\n"
				   "-----END PRIVATE KEY-----\n",
				   "-----BEGIN PRIVATE KEY-----\nK2\n"
				   "-----END PRIVATE KEY-----\n",
				   "-----BEGIN PRIVATE KEY-----\nK3\n"
				   "-----END PRIVATE KEY-----\n"};
static const struct hp_render_tls tls = {
	"-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n", certs,
	keys};
static const struct hp_render_secrets secrets = {&tls, "su", "re", "rw",
						 "ra", "st", NULL, NULL};

static const struct hp_rendered_file *file(const struct hp_rendered *rd,
					   const char *path)
{
	const struct hp_rendered_file *f = hp_rendered_find(rd, path);

	if (!f)
		fprintf(stderr, "no %s\n", path);
	assert_non_null(f);
	return f;
}

static void has(const struct hp_rendered *rd, const char *path,
		const char *text)
{
	const struct hp_rendered_file *f = file(rd, path);

	if (!strstr(f->content, text))
		fprintf(stderr, "%s lacks:\n%s\n---\n%s", path, text,
			f->content);
	assert_non_null(strstr(f->content, text));
}

static void lacks(const struct hp_rendered *rd, const char *path,
		  const char *text)
{
	assert_null(strstr(file(rd, path)->content, text));
}

static void test_files(void **state)
{
	static const struct {
		const char *path, *owner, *services;
		unsigned mode;
		bool secret, reload;
	} want[] = {
		{"/etc/etcd/tls/ca.crt", "root", "etcd", 0644, false, false},
		{"/etc/etcd/tls/etcd.crt", "root", NULL, 0644, false, false},
		{"/etc/etcd/tls/etcd.key", "etcd", NULL, 0600, true, false},
		{"/etc/patroni/tls/ca.crt", "root", "patroni", 0644, false,
		 true},
		{"/etc/patroni/tls/host.crt", "root", "patroni", 0644, false,
		 true},
		{"/etc/patroni/tls/host.key", "postgres", "patroni", 0600, true,
		 true},
		{"/etc/haproxy/tls/ca.crt", "root", "haproxy", 0644, false,
		 true},
		{"/etc/haproxy/tls/stats.pem", "root", "haproxy", 0600, true,
		 true},
	};
	struct hp_inventory *inv = load(INV(""));
	struct hp_rendered rd = HP_RENDERED_INIT;
	struct hp_err err;
	size_t i;

	(void)state;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[1], &secrets,
					&err),
			 0);
	for (i = 0; i < HP_ARRAY_SIZE(want); i++) {
		const struct hp_rendered_file *f = file(&rd, want[i].path);

		assert_string_equal(f->owner, want[i].owner);
		assert_string_equal(f->group, want[i].owner);
		assert_int_equal(f->mode, want[i].mode);
		assert_int_equal(f->secret, want[i].secret);
		assert_int_equal(f->reload, want[i].reload);
		if (want[i].services)
			assert_string_equal(f->services, want[i].services);
		else
			assert_null(f->services);
		assert_int_equal(strncmp(f->content, "# Managed by haprov", 19),
				 0);
	}
	/* host index 1: pg2's material; the header, then the PEM */
	has(&rd, "/etc/etcd/tls/ca.crt", "\n-----BEGIN CERTIFICATE-----\nCA\n"
					 "-----END CERTIFICATE-----\n");
	has(&rd, "/etc/etcd/tls/etcd.crt", "\nC2\n");
	has(&rd, "/etc/patroni/tls/host.key", "\nK2\n-----END PRIVATE KEY-----\n");
	has(&rd, "/etc/haproxy/tls/stats.pem",
	    "C2\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nK2\n");
	/* no key outside the secret files */
	for (i = 0; i < rd.nr; i++)
		if (!rd.files[i].secret)
			assert_null(strstr(rd.files[i].content, "K2"));
	/* each TLS file before the file that names it */
	for (i = 0; i + 1 < rd.nr; i++)
		if (!strcmp(rd.files[i].path, "/etc/haproxy/haproxy.cfg") ||
		    !strcmp(rd.files[i].path, "/etc/default/etcd") ||
		    !strcmp(rd.files[i].path, "/etc/patroni/config.yml"))
			assert_null(strstr(rd.files[i + 1].path, "/tls/"));
	hp_rendered_release(&rd);
	hp_inventory_free(inv);
}

static void test_settings(void **state)
{
	struct hp_inventory *inv = load(INV(""));
	struct hp_rendered rd = HP_RENDERED_INIT;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], NULL, &err),
			 0);
	has(&rd, "/etc/default/etcd",
	    "ETCD_LISTEN_CLIENT_URLS=https://10.0.0.1:2379,"
	    "https://127.0.0.1:2379\n");
	has(&rd, "/etc/default/etcd",
	    "ETCD_LISTEN_PEER_URLS=https://10.0.0.1:2380\n");
	has(&rd, "/etc/default/etcd",
	    "ETCD_INITIAL_ADVERTISE_PEER_URLS=https://10.0.0.1:2380\n");
	has(&rd, "/etc/default/etcd",
	    "ETCD_CLIENT_CERT_AUTH=true\n");
	has(&rd, "/etc/default/etcd",
	    "ETCD_PEER_CLIENT_CERT_AUTH=true\n");
	has(&rd, "/etc/default/etcd",
	    "ETCD_TRUSTED_CA_FILE=/etc/etcd/tls/ca.crt\n");
	has(&rd, "/etc/default/etcd",
	    "ETCD_PEER_KEY_FILE=/etc/etcd/tls/etcd.key\n");
	has(&rd, "/etc/patroni/config.yml", "  listen: 10.0.0.1:8008\n");
	has(&rd, "/etc/patroni/config.yml", "  verify_client: optional\n");
	has(&rd, "/etc/patroni/config.yml", "  protocol: https\n");
	has(&rd, "/etc/patroni/config.yml", "ctl:\n  insecure: false\n");
	has(&rd, "/etc/patroni/config.yml", "    ssl: 'on'\n");
	has(&rd, "/etc/patroni/config.yml",
	    "    ssl_key_file: /etc/patroni/tls/host.key\n");
	assert_int_equal(
		(int)(strlen(file(&rd, "/etc/patroni/config.yml")->content) > 0),
		1);
	has(&rd, "/etc/patroni/config.yml",
	    "    - hostssl all all 10.0.0.0/24 scram-sha-256\n");
	has(&rd, "/etc/patroni/config.yml",
	    "    - hostssl replication replicator 10.0.0.0/24 "
	    "scram-sha-256\n");
	has(&rd, "/etc/patroni/config.yml",
	    "    - host all all 127.0.0.1/32 scram-sha-256\n");
	lacks(&rd, "/etc/patroni/config.yml", "- host all all 10.0.0.0/24");
	has(&rd, "/etc/haproxy/haproxy.cfg",
	    "check port 8008 check-ssl verify required ca-file "
	    "/etc/haproxy/tls/ca.crt verifyhost pg3\n");
	has(&rd, "/etc/haproxy/haproxy.cfg",
	    "    bind 10.0.0.1:8404 ssl crt /etc/haproxy/tls/stats.pem\n");
	has(&rd, "/etc/etcd/tls/etcd.key", "\n<secret:tls-host-pg1-key>\n");
	has(&rd, "/etc/etcd/tls/etcd.crt", "\n<cert:tls-host-pg1-cert>\n");
	has(&rd, "/etc/haproxy/tls/ca.crt", "\n<cert:tls-ca-cert>\n");
	hp_rendered_release(&rd);
	hp_inventory_free(inv);
}

/* verify-full for the superuser, replication and rewind connections */
static void test_sslmode_everywhere(void **state)
{
	struct hp_inventory *inv = load(INV(""));
	struct hp_rendered rd = HP_RENDERED_INIT;
	struct hp_err err;
	const char *c, *p;
	int n = 0;

	(void)state;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], NULL, &err),
			 0);
	c = file(&rd, "/etc/patroni/config.yml")->content;
	for (p = c; (p = strstr(p, "      sslmode: verify-full\n"
				   "      sslrootcert: /etc/patroni/tls/ca.crt\n"));
	     p++)
		n++;
	assert_int_equal(n, 3);
	hp_rendered_release(&rd);
	hp_inventory_free(inv);
}

static void test_off(void **state)
{
	struct hp_inventory *inv = load(INV("tls: false\n"));
	struct hp_rendered rd = HP_RENDERED_INIT;
	const struct hp_render_secrets plain = {NULL, "su", "re", "rw", "ra",
						"st", NULL, NULL};
	struct hp_err err;
	size_t i;

	(void)state;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &plain,
					&err),
			 0);
	for (i = 0; i < rd.nr; i++) {
		assert_null(strstr(rd.files[i].path, "/tls/"));
		assert_null(strstr(rd.files[i].content, "https"));
		assert_null(strstr(rd.files[i].content, "hostssl"));
		assert_null(strstr(rd.files[i].content, "ssl"));
	}
	has(&rd, "/etc/patroni/config.yml", "  listen: 0.0.0.0:8008\n");
	has(&rd, "/etc/default/etcd",
	    "ETCD_LISTEN_PEER_URLS=http://10.0.0.1:2380\n");
	hp_rendered_release(&rd);
	hp_inventory_free(inv);
}

static void test_missing_material(void **state)
{
	static const char *const no_keys[] = {NULL, NULL, NULL};
	const struct hp_render_tls holes = {tls.ca, certs, no_keys};
	const struct hp_render_secrets s1 = {NULL, "su", "re", "rw", "ra",
					     "st", NULL, NULL};
	const struct hp_render_secrets s2 = {&holes, "su", "re", "rw", "ra",
					     "st", NULL, NULL};
	struct hp_inventory *inv = load(INV(""));
	struct hp_rendered rd = HP_RENDERED_INIT;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &s1, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "no TLS material"));
	assert_int_equal(rd.nr, 0);
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[2], &s2, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "host key is missing"));
	assert_int_equal(rd.nr, 0);
	hp_inventory_free(inv);
}

/* haprov writes ssl itself: the same parameter by hand is refused */
static void test_ssl_param_refused(void **state)
{
	struct hp_inventory *inv = load(
		"cluster: {name: t}\n"
		"hosts:\n"
		"  - {name: pg1, address: 10.0.0.1, roles: [etcd, patroni]}\n"
		"patroni: {parameters: {ssl_cert_file: /x}}\n");
	struct hp_rendered rd = HP_RENDERED_INIT;
	struct hp_err err;

	(void)state;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], NULL, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "ssl_cert_file is set by haprov"));
	hp_inventory_free(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_sslmode_everywhere),
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_missing_material),
		cmocka_unit_test(test_ssl_param_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
