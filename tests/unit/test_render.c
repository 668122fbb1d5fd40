/*
 * Unit tests for the renderer (provisioner/render.c) and the embedded
 * templates, on inventories built here in C: what each role gets, the
 * values that matter to a working cluster, that config.yml is YAML that
 * means what the DCS JSON says, and that no password leaks out of the one
 * secret file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <string.h>
#include <strings.h>
#include <time.h>
#include <yaml.h>

#include "render.h"

/* ---- building inventories --------------------------------------------- */

static void strlist_add(struct hp_strlist *l, const char *s)
{
	HP_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	l->items[l->nr++] = xstrdup(s);
}

static void strlist_free(struct hp_strlist *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		free(l->items[i]);
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static void kv_add(struct hp_kvlist *l, const char *k, const char *v,
		   bool quoted)
{
	HP_ALLOC_GROW(l->items, l->nr + 1, l->alloc);
	l->items[l->nr].key = xstrdup(k);
	l->items[l->nr].value = xstrdup(v);
	l->items[l->nr].quoted = quoted;
	l->nr++;
}

static void kv_free(struct hp_kvlist *l)
{
	size_t i;

	for (i = 0; i < l->nr; i++) {
		free(l->items[i].key);
		free(l->items[i].value);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}

static void set(char **field, const char *v)
{
	free(*field);
	*field = v ? xstrdup(v) : NULL;
}

static struct hp_host *add_host(struct hp_inventory *inv, const char *name,
				const char *addr, unsigned roles)
{
	struct hp_host *h;

	HP_ALLOC_GROW(inv->hosts, inv->nr_hosts + 1, inv->alloc_hosts);
	h = &inv->hosts[inv->nr_hosts++];
	h->name = xstrdup(name);
	h->address = xstrdup(addr);
	h->roles = roles;
	h->line = 0;
	return h;
}

#define ALL_ROLES (HP_ROLE_ETCD | HP_ROLE_PATRONI | HP_ROLE_HAPROXY)

/* A 3-host cluster, every host with every role, defaults as documented in
 * inventory.h, plus a few settings of each kind. */
static struct hp_inventory *make_inv(void)
{
	struct hp_inventory *inv = xcalloc(1, sizeof(*inv));

	inv->cluster = xstrdup("demo");
	add_host(inv, "pg1", "10.0.0.11", ALL_ROLES);
	add_host(inv, "pg2", "10.0.0.12", ALL_ROLES);
	add_host(inv, "pg3", "10.0.0.13", ALL_ROLES);

	inv->etcd.client_port = 2379;
	inv->etcd.peer_port = 2380;
	inv->etcd.token = xstrdup("demo-etcd");
	inv->etcd.data_dir = xstrdup("/var/lib/etcd/demo");
	inv->etcd.heartbeat_ms = 100;
	inv->etcd.election_ms = 1000;

	inv->patroni.scope = xstrdup("demo");
	inv->patroni.namespace_ = xstrdup("/service/");
	inv->patroni.restapi_port = 8008;
	inv->patroni.pg_version = 15;
	inv->patroni.pg_port = 5432;
	inv->patroni.data_dir = xstrdup("/var/lib/postgresql/15/main");
	inv->patroni.bin_dir = xstrdup("/usr/lib/postgresql/15/bin");
	kv_add(&inv->patroni.parameters, "shared_buffers", "256MB", false);
	kv_add(&inv->patroni.parameters, "log_min_duration_statement", "500",
	       false);
	strlist_add(&inv->patroni.pg_hba,
		    "hostssl all app 10.1.0.0/16 scram-sha-256");
	strlist_add(&inv->patroni.allowed_networks, "10.0.0.0/24");
	inv->patroni.dcs.ttl = 30;
	inv->patroni.dcs.loop_wait = 10;
	inv->patroni.dcs.retry_timeout = 10;
	inv->patroni.dcs.maximum_lag_on_failover = 1048576;
	inv->patroni.dcs.synchronous_mode = false;
	inv->patroni.dcs.use_pg_rewind = true;
	inv->patroni.dcs.use_slots = true;
	kv_add(&inv->patroni.dcs.parameters, "max_connections", "200", false);
	kv_add(&inv->patroni.dcs.parameters, "work_mem", "8MB", false);
	kv_add(&inv->patroni.dcs.parameters, "statement_timeout", "0", true);

	inv->haproxy.primary_port = 5000;
	inv->haproxy.replica_port = 5001;
	inv->haproxy.stats_port = 8404;
	inv->haproxy.maxconn = 1000;
	inv->haproxy.server_maxconn = 100;
	inv->haproxy.check.inter_ms = 1000;
	inv->haproxy.check.fall = 2;
	inv->haproxy.check.rise = 1;
	inv->haproxy.timeout_client_s = 1800;
	inv->haproxy.timeout_server_s = 1800;
	inv->haproxy.timeout_connect_s = 4;

	inv->secrets.superuser = xstrdup("postgres");
	inv->secrets.replication = xstrdup("replicator");
	inv->secrets.rewind = xstrdup("rewinder");
	inv->secrets.restapi_user = xstrdup("patroni");
	inv->secrets.password_length = 32;

	inv->tuning.checkpoint_timeout = xstrdup("15min");
	inv->tuning.max_wal_size = xstrdup("4GB");
	inv->tuning.checkpoint_completion_target = xstrdup("0.9");
	strlist_add(&inv->extensions.shared_preload_libraries,
		    "pg_stat_statements");
	return inv;
}

static void free_inv(struct hp_inventory *inv)
{
	size_t i;

	for (i = 0; i < inv->nr_hosts; i++) {
		free(inv->hosts[i].name);
		free(inv->hosts[i].address);
	}
	free(inv->hosts);
	free(inv->cluster);
	free(inv->etcd.token);
	free(inv->etcd.data_dir);
	free(inv->patroni.scope);
	free(inv->patroni.namespace_);
	free(inv->patroni.data_dir);
	free(inv->patroni.bin_dir);
	kv_free(&inv->patroni.parameters);
	strlist_free(&inv->patroni.pg_hba);
	strlist_free(&inv->patroni.allowed_networks);
	kv_free(&inv->patroni.dcs.parameters);
	free(inv->secrets.superuser);
	free(inv->secrets.replication);
	free(inv->secrets.rewind);
	free(inv->secrets.restapi_user);
	free(inv->tuning.checkpoint_timeout);
	free(inv->tuning.checkpoint_completion_target);
	free(inv->tuning.max_wal_size);
	free(inv->tuning.min_wal_size);
	free(inv->tuning.wal_buffers);
	free(inv->tuning.wal_compression);
	free(inv->tuning.wal_dir);
	strlist_free(&inv->extensions.shared_preload_libraries);
	free(inv);
}

/* ---- reading the output ------------------------------------------------- */

static const struct hp_render_secrets real_secrets = {
	NULL, /* tls: these inventories have it off */
	"Sup3rUs3r-pw-0001",
	"R3plic4tion-pw-0002",
	"R3w1nd-pw-0003",
	"R3st4pi-pw-0004",
	"St4ts-pw-0005",
	"Vrrp0006", /* vip_auth: VRRP's 8 characters */
	"PgbL00kup-pw-0007",
};

static void render_ok(struct hp_rendered *rd, const struct hp_inventory *inv,
		      size_t host, const struct hp_render_secrets *sec)
{
	struct hp_err err;
	int r;

	hp_err_clear(&err);
	r = hp_render_host(rd, inv, &inv->hosts[host], sec, &err);
	if (r != 0)
		fail_msg("render failed: %s", err.msg);
}

static int render_err(const struct hp_inventory *inv, size_t host,
		      struct hp_err *err)
{
	struct hp_rendered rd = HP_RENDERED_INIT;
	int r;

	hp_err_clear(err);
	r = hp_render_host(&rd, inv, &inv->hosts[host], NULL, err);
	/* on error nothing is left to free */
	assert_int_equal(rd.nr, 0);
	assert_null(rd.files);
	hp_rendered_release(&rd);
	return r;
}

static const char *content(const struct hp_rendered *rd, const char *path)
{
	const struct hp_rendered_file *f = hp_rendered_find(rd, path);

	if (!f)
		fail_msg("%s was not rendered", path);
	assert_int_equal(strlen(f->content), f->len);
	return f->content;
}

static void assert_has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return;
		p += n;
	}
	fail_msg("line '%s' not found in:\n%s", line, text);
}

static size_t count(const char *text, const char *needle)
{
	size_t n = 0;
	const char *p = text;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/*
 * Parse YAML with libyaml into JSON, resolving plain scalars as a YAML 1.1
 * reader (PyYAML, which Patroni uses) would: true/false/yes/no/on/off are
 * booleans, ~/null/empty are null, decimal integers are integers, and a
 * plain scalar that looks like a float is a real. Quoted scalars are
 * strings. So a value that lost its quotes shows up with the wrong type.
 */
static json_t *node_json(yaml_document_t *doc, yaml_node_t *n)
{
	json_t *j;

	switch (n->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)n->data.scalar.value;
		static const char *const t[] = {"true", "yes", "on", "y"};
		static const char *const f[] = {"false", "no", "off", "n"};
		size_t i;
		char *end;

		if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_string(s);
		if (!*s || !strcmp(s, "~") || !strcasecmp(s, "null"))
			return json_null();
		for (i = 0; i < 4; i++) {
			if (!strcasecmp(s, t[i]))
				return json_true();
			if (!strcasecmp(s, f[i]))
				return json_false();
		}
		if (strspn(s, "-0123456789") == strlen(s))
			return json_integer(strtoll(s, NULL, 10));
		(void)strtod(s, &end);
		if (*end == '\0')
			return json_real(strtod(s, NULL));
		return json_string(s);
	}
	case YAML_SEQUENCE_NODE: {
		yaml_node_item_t *it;

		j = json_array();
		for (it = n->data.sequence.items.start;
		     it < n->data.sequence.items.top; it++)
			json_array_append_new(
				j, node_json(doc,
					     yaml_document_get_node(doc, *it)));
		return j;
	}
	case YAML_MAPPING_NODE: {
		yaml_node_pair_t *p;

		j = json_object();
		for (p = n->data.mapping.pairs.start;
		     p < n->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(doc, p->key);

			assert_int_equal(k->type, YAML_SCALAR_NODE);
			/* a key given twice would hide a value */
			assert_null(json_object_get(
				j, (const char *)k->data.scalar.value));
			json_object_set_new(
				j, (const char *)k->data.scalar.value,
				node_json(doc, yaml_document_get_node(
						       doc, p->value)));
		}
		return j;
	}
	default:
		return json_null();
	}
}

/* Parse text as one YAML document; fails the test when it is not. */
static json_t *parse_yaml(const char *text)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	json_t *j;

	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
				     strlen(text));
	if (!yaml_parser_load(&parser, &doc))
		fail_msg("not valid YAML: %s at line %zu:\n%s",
			 parser.problem ? parser.problem : "?",
			 parser.problem_mark.line + 1, text);
	root = yaml_document_get_root_node(&doc);
	assert_non_null(root);
	j = node_json(&doc, root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return j;
}

static const char *jstr(const json_t *root, const char *path)
{
	json_t *v = json_object_get(root, path);

	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

/* ---- tests ----------------------------------------------------------------
 */

static void test_files_of_a_host_with_every_role(void **state)
{
	static const struct {
		const char *path, *template, *owner, *services;
		unsigned mode;
		bool secret, reload, before_install, check;
	} want[] = {
		{"/etc/default/etcd", "etcd.env", "root", "etcd", 0644, false,
		 false, false, false},
		{"/etc/systemd/system/etcd.service.d/haprov.conf",
		 "etcd-dropin.conf", "root", "etcd", 0644, false, false, false,
		 false},
		{"/etc/postgresql-common/createcluster.conf",
		 "createcluster.conf", "root", NULL, 0644, false, false, true,
		 false},
		{"/etc/patroni/config.yml", "patroni.yml", "postgres",
		 "patroni", 0600, true, true, false, false},
		{"/etc/patroni_env.conf", "patroni_env.conf", "root", NULL,
		 0600, false, false, false, false},
		{"/etc/systemd/system/haproxy.service.d/haprov.conf",
		 "haproxy-dropin.conf", "root", "haproxy", 0644, false, false,
		 false, false},
		{"/etc/haproxy/haprov_env.conf", "haproxy_env.conf", "root",
		 "haproxy", 0600, true, false, false, false},
		{"/etc/haproxy/haproxy.cfg", "haproxy.cfg", "root", "haproxy",
		 0644, false, true, false, true},
	};
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	size_t i;

	(void)state;
	render_ok(&rd, inv, 0, &real_secrets);
	assert_int_equal(rd.nr, HP_ARRAY_SIZE(want));
	for (i = 0; i < rd.nr; i++) {
		const struct hp_rendered_file *f = &rd.files[i];
		char header[200];

		assert_string_equal(f->path, want[i].path);
		assert_string_equal(f->template, want[i].template);
		assert_string_equal(f->owner, want[i].owner);
		assert_string_equal(f->group, want[i].owner);
		assert_int_equal(f->mode, want[i].mode);
		assert_int_equal(f->secret, want[i].secret);
		assert_int_equal(f->reload, want[i].reload);
		assert_int_equal(f->before_install, want[i].before_install);
		assert_int_equal(f->check_cmd != NULL, want[i].check);
		if (want[i].services)
			assert_string_equal(f->services, want[i].services);
		else
			assert_null(f->services);
		snprintf(header, sizeof(header),
			 "# Managed by haprov; changes are overwritten. "
			 "Source: templates/%s\n",
			 want[i].template);
		assert_int_equal(strncmp(f->content, header, strlen(header)),
				 0);
		/* the templates' own sections leave no blank-line noise */
		assert_null(strstr(f->content, "\n\n\n"));
		assert_int_equal(f->content[f->len - 1], '\n');
	}
	/* checked with the stats password in the environment, as systemd
	 * runs it */
	assert_string_equal(rd.files[7].check_cmd,
			    "set -a && . /etc/haproxy/haprov_env.conf && "
			    "set +a && haproxy -c -f %s");
	assert_null(hp_rendered_find(&rd, "/etc/nothing"));
	hp_rendered_release(&rd);
	assert_int_equal(rd.nr, 0);
	free_inv(inv);
}

static void test_role_subsets(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;

	(void)state;
	add_host(inv, "lb1", "10.0.0.21", HP_ROLE_HAPROXY);
	add_host(inv, "et4", "10.0.0.22", HP_ROLE_ETCD);
	add_host(inv, "db4", "10.0.0.23", HP_ROLE_PATRONI);
	add_host(inv, "none", "10.0.0.24", 0);

	render_ok(&rd, inv, 3, NULL);
	assert_int_equal(rd.nr, 3);
	assert_string_equal(rd.files[2].path, "/etc/haproxy/haproxy.cfg");
	/* an haproxy-only host routes to every patroni host */
	assert_int_equal(count(rd.files[2].content, "    server "), 2 * 4);
	/* and its stats page listens on its own address only */
	assert_has_line(rd.files[2].content, "    bind 10.0.0.21:8404");
	hp_rendered_release(&rd);

	render_ok(&rd, inv, 4, NULL);
	assert_int_equal(rd.nr, 2);
	assert_string_equal(rd.files[0].path, "/etc/default/etcd");
	assert_string_equal(rd.files[1].template, "etcd-dropin.conf");
	hp_rendered_release(&rd);

	render_ok(&rd, inv, 5, NULL);
	assert_int_equal(rd.nr, 3);
	assert_string_equal(rd.files[0].template, "createcluster.conf");
	assert_string_equal(rd.files[1].template, "patroni.yml");
	assert_string_equal(rd.files[2].template, "patroni_env.conf");
	hp_rendered_release(&rd);

	render_ok(&rd, inv, 6, NULL);
	assert_int_equal(rd.nr, 0);
	hp_rendered_release(&rd);
	free_inv(inv);
}

static void test_etcd(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	const char *env, *dropin;

	(void)state;
	/* a patroni-only host is not an etcd member */
	add_host(inv, "db4", "10.0.0.23", HP_ROLE_PATRONI);
	render_ok(&rd, inv, 1, NULL);
	env = content(&rd, "/etc/default/etcd");
	assert_has_line(env, "ETCD_NAME=pg2");
	assert_has_line(env, "ETCD_DATA_DIR=/var/lib/etcd/demo");
	assert_has_line(env, "ETCD_LISTEN_PEER_URLS=http://10.0.0.12:2380");
	assert_has_line(env, "ETCD_LISTEN_CLIENT_URLS=http://10.0.0.12:2379,"
			     "http://127.0.0.1:2379");
	assert_has_line(env, "ETCD_INITIAL_ADVERTISE_PEER_URLS="
			     "http://10.0.0.12:2380");
	assert_has_line(env, "ETCD_ADVERTISE_CLIENT_URLS="
			     "http://10.0.0.12:2379");
	/* the initial-cluster settings are the etcd phase's (etcd_join.c):
	 * a change of the member list must not restart a running member */
	assert_null(strstr(env, "ETCD_INITIAL_CLUSTER"));
	assert_has_line(env, "ETCD_HEARTBEAT_INTERVAL=100");
	assert_has_line(env, "ETCD_ELECTION_TIMEOUT=1000");

	dropin = content(&rd, "/etc/systemd/system/etcd.service.d/haprov.conf");
	assert_has_line(dropin, "[Unit]");
	assert_has_line(dropin, "After=network-online.target");
	assert_has_line(dropin, "Wants=network-online.target");
	assert_has_line(dropin, "[Service]");
	assert_has_line(dropin, "Restart=on-failure");
	assert_has_line(dropin, "EnvironmentFile=-/etc/default/etcd-initial");
	assert_has_line(dropin, "RestartSec=2s");
	hp_rendered_release(&rd);

	/* a data dir that needs quoting in an EnvironmentFile */
	set(&inv->etcd.data_dir, "/srv/etcd data/$x");
	render_ok(&rd, inv, 0, NULL);
	assert_has_line(content(&rd, "/etc/default/etcd"),
			"ETCD_DATA_DIR=\"/srv/etcd data/\\$x\"");
	hp_rendered_release(&rd);
	free_inv(inv);
}

static void test_patroni_config_is_valid_yaml(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	struct hp_err err;
	json_t *y, *dcs = NULL, *v;
	const char *const hba[] = {
		"local all postgres peer map=haprov_super",
		"local all all scram-sha-256",
		"host replication replicator 127.0.0.1/32 scram-sha-256",
		"host replication replicator 10.0.0.0/24 scram-sha-256",
		"host all all 127.0.0.1/32 scram-sha-256",
		"host all all 10.0.0.0/24 scram-sha-256",
		"hostssl all app 10.1.0.0/16 scram-sha-256",
	};
	size_t i;

	(void)state;
	render_ok(&rd, inv, 2, NULL);
	y = parse_yaml(content(&rd, "/etc/patroni/config.yml"));

	assert_string_equal(jstr(y, "scope"), "demo");
	assert_string_equal(jstr(y, "namespace"), "/service/");
	assert_string_equal(jstr(y, "name"), "pg3");
	v = json_object_get(y, "restapi");
	assert_string_equal(jstr(v, "listen"), "0.0.0.0:8008");
	assert_string_equal(jstr(v, "connect_address"), "10.0.0.13:8008");
	/* the REST API's basic auth: in this file, which Patroni reloads */
	assert_string_equal(
		jstr(json_object_get(v, "authentication"), "username"),
		"patroni");
	assert_string_equal(
		jstr(json_object_get(v, "authentication"), "password"),
		"<secret:restapi>");

	/* etcd3 (etcd 3.4 has v2 off), every etcd member */
	assert_null(json_object_get(y, "etcd"));
	v = json_object_get(json_object_get(y, "etcd3"), "hosts");
	assert_int_equal(json_array_size(v), 3);
	assert_string_equal(json_string_value(json_array_get(v, 0)),
			    "10.0.0.11:2379");
	assert_string_equal(json_string_value(json_array_get(v, 2)),
			    "10.0.0.13:2379");

	/* bootstrap.dcs means exactly what PATCH /config would send */
	assert_int_equal(hp_render_dcs_json(&dcs, inv, &err), 0);
	v = json_object_get(json_object_get(y, "bootstrap"), "dcs");
	if (!json_equal(v, dcs)) {
		char *a = json_dumps(v, JSON_SORT_KEYS);
		char *b = json_dumps(dcs, JSON_SORT_KEYS);

		fail_msg("bootstrap.dcs differs from the DCS JSON:\n%s\n%s", a,
			 b);
	}
	json_decref(dcs);
	v = json_object_get(json_object_get(y, "bootstrap"), "initdb");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(jstr(json_array_get(v, 0), "encoding"), "UTF8");
	assert_string_equal(json_string_value(json_array_get(v, 1)),
			    "data-checksums");

	v = json_object_get(y, "postgresql");
	assert_string_equal(jstr(v, "listen"), "0.0.0.0:5432");
	assert_string_equal(jstr(v, "connect_address"), "10.0.0.13:5432");
	assert_string_equal(jstr(v, "data_dir"), "/var/lib/postgresql/15/main");
	assert_string_equal(jstr(v, "bin_dir"), "/usr/lib/postgresql/15/bin");
	/* a new replica's pg_basebackup does not wait for a spread
	 * checkpoint */
	assert_string_equal(jstr(json_array_get(json_object_get(v, "basebackup"),
						0),
				 "checkpoint"),
			    "fast");
	assert_int_equal(json_array_size(json_object_get(v, "basebackup")), 1);
	assert_string_equal(
		jstr(json_object_get(json_object_get(v, "authentication"),
				     "superuser"),
		     "username"),
		"postgres");
	assert_string_equal(
		jstr(json_object_get(json_object_get(v, "authentication"),
				     "replication"),
		     "username"),
		"replicator");
	assert_string_equal(
		jstr(json_object_get(json_object_get(v, "authentication"),
				     "rewind"),
		     "username"),
		"rewinder");
	/* the password is here (Patroni reloads this file), not in the
	 * environment */
	assert_string_equal(
		jstr(json_object_get(json_object_get(v, "authentication"),
				     "superuser"),
		     "password"),
		"<secret:superuser>");
	/* local parameters: the socket directory first, then the inventory's */
	assert_string_equal(jstr(json_object_get(v, "parameters"),
				 "unix_socket_directories"),
			    "/var/run/postgresql");
	assert_string_equal(
		jstr(json_object_get(v, "parameters"), "shared_buffers"),
		"256MB");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(v, "parameters"),
				 "log_min_duration_statement")),
			 500);

	/* OS user postgres logs in as the superuser on the socket */
	assert_int_equal(json_array_size(json_object_get(v, "pg_ident")), 1);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(v, "pg_ident"), 0)),
			    "haprov_super postgres postgres");
	v = json_object_get(v, "pg_hba");
	assert_int_equal(json_array_size(v), HP_ARRAY_SIZE(hba));
	for (i = 0; i < HP_ARRAY_SIZE(hba); i++)
		assert_string_equal(json_string_value(json_array_get(v, i)),
				    hba[i]);

	v = json_object_get(y, "tags");
	assert_true(json_is_false(json_object_get(v, "nofailover")));
	assert_true(json_is_false(json_object_get(v, "noloadbalance")));
	json_decref(y);
	hp_rendered_release(&rd);
	free_inv(inv);
}

/* Values a careless template would break YAML with come back intact. */
static void test_patroni_config_quotes_awkward_values(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	json_t *y, *pg;

	(void)state;
	set(&inv->patroni.scope, "on");
	set(&inv->patroni.namespace_, "/svc #1: x/");
	set(&inv->patroni.data_dir, "/data/it's 15");
	set(&inv->hosts[0].name, "007");
	set(&inv->tuning.wal_dir, "/wal/");
	kv_add(&inv->patroni.parameters, "application_name", "yes", false);
	kv_add(&inv->patroni.parameters, "search_path", "\"$user\", public",
	       true);
	kv_add(&inv->patroni.parameters, "unix_socket_permissions", "0770",
	       false);
	kv_add(&inv->patroni.parameters, "log_line_prefix", "%m [%p] ", true);
	kv_add(&inv->patroni.parameters, "random_page_cost", "1.1", false);
	kv_add(&inv->patroni.parameters, "cluster_label", "- x", true);
	strlist_add(&inv->patroni.pg_hba,
		    "host all all 10.2.0.0/16 scram-sha-256 # office");
	render_ok(&rd, inv, 0, NULL);
	y = parse_yaml(content(&rd, "/etc/patroni/config.yml"));
	assert_string_equal(jstr(y, "scope"), "on");
	assert_string_equal(jstr(y, "namespace"), "/svc #1: x/");
	assert_string_equal(jstr(y, "name"), "007");
	pg = json_object_get(y, "postgresql");
	assert_string_equal(jstr(pg, "data_dir"), "/data/it's 15");
	pg = json_object_get(pg, "parameters");
	assert_string_equal(jstr(pg, "application_name"), "yes");
	assert_string_equal(jstr(pg, "search_path"), "\"$user\", public");
	assert_string_equal(jstr(pg, "unix_socket_permissions"), "0770");
	assert_string_equal(jstr(pg, "log_line_prefix"), "%m [%p] ");
	assert_string_equal(jstr(pg, "random_page_cost"), "1.1");
	assert_string_equal(jstr(pg, "cluster_label"), "- x");
	pg = json_object_get(json_object_get(y, "postgresql"), "pg_hba");
	assert_string_equal(
		json_string_value(json_array_get(pg, json_array_size(pg) - 1)),
		"host all all 10.2.0.0/16 scram-sha-256 # office");
	/* a separate WAL directory: for initdb and for new replicas */
	assert_string_equal(
		jstr(json_array_get(
			     json_object_get(json_object_get(y, "bootstrap"),
					     "initdb"),
			     2),
		     "waldir"),
		"/wal/pg_wal");
	assert_string_equal(
		jstr(json_array_get(
			     json_object_get(json_object_get(y, "postgresql"),
					     "basebackup"),
			     1),
		     "waldir"),
		"/wal/pg_wal");
	json_decref(y);
	hp_rendered_release(&rd);
	free_inv(inv);
}

static void test_ipv6_host(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	json_t *y, *hba;

	(void)state;
	set(&inv->hosts[0].address, "fd00::11");
	strlist_add(&inv->patroni.allowed_networks, "fd00::/64");
	render_ok(&rd, inv, 0, NULL);
	assert_has_line(content(&rd, "/etc/default/etcd"),
			"ETCD_INITIAL_ADVERTISE_PEER_URLS=http://[fd00::11]:2380");
	assert_has_line(content(&rd, "/etc/haproxy/haproxy.cfg"),
			"    server pg1 [fd00::11]:5432 maxconn 100 check port "
			"8008");
	assert_has_line(content(&rd, "/etc/haproxy/haproxy.cfg"),
			"    bind [fd00::11]:8404");
	y = parse_yaml(content(&rd, "/etc/patroni/config.yml"));
	assert_string_equal(
		jstr(json_object_get(y, "restapi"), "connect_address"),
		"[fd00::11]:8008");
	assert_string_equal(jstr(json_object_get(y, "postgresql"), "listen"),
			    "*:5432");
	hba = json_object_get(json_object_get(y, "postgresql"), "pg_hba");
	assert_string_equal(json_string_value(json_array_get(hba, 3)),
			    "host replication replicator ::1/128 "
			    "scram-sha-256");
	json_decref(y);
	hp_rendered_release(&rd);
	free_inv(inv);
}

static void test_haproxy(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	const char *cfg;

	(void)state;
	render_ok(&rd, inv, 0, NULL);
	cfg = content(&rd, "/etc/haproxy/haproxy.cfg");
	assert_has_line(cfg, "    maxconn 1000");
	assert_has_line(cfg, "    mode tcp");
	assert_has_line(cfg, "    timeout connect 4s");
	assert_has_line(cfg, "    timeout client 1800s");
	assert_has_line(cfg, "    timeout server 1800s");
	assert_has_line(cfg, "frontend stats");
	assert_has_line(cfg, "    mode http");
	/* the stats page: this host's address only, and a password that
	 * haproxy.cfg does not hold; no password, no HAProxy */
	assert_has_line(cfg, "    bind 10.0.0.11:8404");
	assert_null(strstr(cfg, "*:8404"));
	assert_has_line(cfg, "    stats enable");
	assert_has_line(cfg, "    stats uri /stats");
	assert_has_line(cfg,
			"    stats auth \"haprov:${HAPROV_STATS_PASSWORD}\"");
	assert_has_line(cfg, ".if !defined(HAPROV_STATS_PASSWORD) || "
			     "streq(\"$HAPROV_STATS_PASSWORD\",\"\")");
	assert_true(strstr(cfg, ".alert ") < strstr(cfg, ".endif\n"));
	assert_true(strstr(cfg, ".endif\n") < strstr(cfg, "frontend stats"));
	assert_has_line(content(&rd, "/etc/systemd/system/haproxy.service.d/"
				     "haprov.conf"),
			"EnvironmentFile=/etc/haproxy/haprov_env.conf");
	assert_has_line(cfg, "listen primary");
	assert_has_line(cfg, "    bind *:5000");
	assert_has_line(cfg, "    option httpchk OPTIONS /primary");
	assert_has_line(cfg, "listen replicas");
	assert_has_line(cfg, "    bind *:5001");
	assert_has_line(cfg, "    balance roundrobin");
	assert_has_line(cfg, "    option httpchk OPTIONS /replica");
	assert_int_equal(count(cfg, "    http-check expect status 200\n"), 2);
	assert_int_equal(count(cfg, "    default-server inter 1000ms fall 2 "
				    "rise 1 on-marked-down "
				    "shutdown-sessions\n"),
			 2);
	assert_int_equal(count(cfg, "    server pg1 10.0.0.11:5432 maxconn "
				    "100 check port 8008\n"),
			 2);
	assert_int_equal(count(cfg, "    server pg2 10.0.0.12:5432 maxconn "
				    "100 check port 8008\n"),
			 2);
	assert_int_equal(count(cfg, "    server pg3 10.0.0.13:5432 maxconn "
				    "100 check port 8008\n"),
			 2);
	/* primary before replicas; the servers inside each listen block */
	assert_true(strstr(cfg, "listen primary") <
		    strstr(cfg, "listen replicas"));
	assert_true(strstr(cfg, "    server pg3") <
		    strstr(cfg, "listen replicas"));
	hp_rendered_release(&rd);
	free_inv(inv);
}

static void test_no_secret_outside_secret_files(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	const char *const pw[] = {real_secrets.superuser,
				  real_secrets.replication, real_secrets.rewind,
				  real_secrets.restapi, real_secrets.haproxy_stats};
	size_t i, j, nr_secret = 0;
	const char *env;

	(void)state;
	render_ok(&rd, inv, 0, &real_secrets);
	for (i = 0; i < rd.nr; i++) {
		const struct hp_rendered_file *f = &rd.files[i];

		if (f->secret) {
			nr_secret++;
			continue;
		}
		for (j = 0; j < HP_ARRAY_SIZE(pw); j++)
			if (strstr(f->content, pw[j]))
				fail_msg("password %zu in %s", j, f->path);
		assert_null(strstr(f->content, "<secret:"));
	}
	assert_int_equal(nr_secret, 2);
	assert_has_line(content(&rd, "/etc/haproxy/haprov_env.conf"),
			"HAPROV_STATS_PASSWORD=St4ts-pw-0005");
	/* the passwords are in config.yml, which Patroni reloads; the
	 * environment file holds none */
	env = content(&rd, "/etc/patroni/config.yml");
	assert_has_line(env, "      password: Sup3rUs3r-pw-0001");
	assert_has_line(env, "      password: R3plic4tion-pw-0002");
	assert_has_line(env, "      password: R3w1nd-pw-0003");
	assert_has_line(env, "    username: patroni");
	assert_has_line(env, "    password: R3st4pi-pw-0004");
	env = content(&rd, "/etc/patroni_env.conf");
	assert_int_equal(count(env, "\nPATRONI_"), 0);
	hp_rendered_release(&rd);
	free_inv(inv);
}

static void test_secret_placeholders(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	const char *env;

	(void)state;
	render_ok(&rd, inv, 0, NULL);
	env = content(&rd, "/etc/patroni/config.yml");
	assert_has_line(env, "      password: '<secret:superuser>'");
	assert_has_line(env, "      password: '<secret:replication>'");
	assert_has_line(env, "      password: '<secret:rewind>'");
	assert_has_line(env, "    password: '<secret:restapi>'");
	assert_true(hp_rendered_find(&rd, "/etc/patroni/config.yml")->secret);
	env = content(&rd, "/etc/haproxy/haprov_env.conf");
	assert_has_line(env, "HAPROV_STATS_PASSWORD=\"<secret:haproxy_stats>\"");
	assert_true(
		hp_rendered_find(&rd, "/etc/haproxy/haprov_env.conf")->secret);
	hp_rendered_release(&rd);
	free_inv(inv);
}

static void test_secret_quoting_and_missing(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	struct hp_render_secrets sec = real_secrets;
	struct hp_err err;

	(void)state;
	sec.superuser = "a b\"c\\d`e$f'g";
	render_ok(&rd, inv, 0, &sec);
	assert_has_line(content(&rd, "/etc/patroni/config.yml"),
			"      password: 'a b\"c\\d`e$f''g'");
	hp_rendered_release(&rd);

	sec.superuser = "line\nbreak";
	hp_err_clear(&err);
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &sec, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "control character"));
	assert_int_equal(rd.nr, 0);

	sec.superuser = real_secrets.superuser;
	sec.rewind = NULL;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &sec, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "rewind"));
	assert_int_equal(rd.nr, 0);

	sec.rewind = real_secrets.rewind;
	sec.haproxy_stats = NULL;
	assert_int_equal(hp_render_host(&rd, inv, &inv->hosts[0], &sec, &err),
			 HP_EINVALID);
	assert_non_null(strstr(err.msg, "stats password"));
	assert_int_equal(rd.nr, 0);
	free_inv(inv);
}

static void test_dcs_json(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_err err;
	json_t *dcs = NULL, *want;
	json_error_t jerr;

	(void)state;
	assert_int_equal(hp_render_dcs_json(&dcs, inv, &err), 0);
	want = json_loads(
		"{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,"
		"\"maximum_lag_on_failover\":1048576,"
		"\"synchronous_mode\":false,"
		"\"postgresql\":{\"use_pg_rewind\":true,\"use_slots\":true,"
		"\"parameters\":{\"wal_level\":\"replica\","
		"\"hot_standby\":\"on\",\"max_wal_senders\":10,"
		"\"max_replication_slots\":10,\"wal_log_hints\":\"on\","
		"\"max_connections\":200,\"work_mem\":\"8MB\","
		"\"statement_timeout\":\"0\","
		"\"checkpoint_timeout\":\"15min\","
		"\"checkpoint_completion_target\":\"0.9\","
		"\"max_wal_size\":\"4GB\","
		"\"shared_preload_libraries\":\"pg_stat_statements\"}}}",
		0, &jerr);
	assert_non_null(want);
	if (!json_equal(dcs, want)) {
		char *s = json_dumps(dcs, JSON_SORT_KEYS);

		fail_msg("unexpected DCS JSON %s", s);
	}
	json_decref(want);
	json_decref(dcs);

	/* base parameters can be overridden; libraries are merged */
	kv_add(&inv->patroni.dcs.parameters, "max_wal_senders", "20", false);
	kv_add(&inv->patroni.dcs.parameters, "shared_preload_libraries",
	       "auto_explain, pg_stat_statements,", false);
	strlist_add(&inv->extensions.shared_preload_libraries, "pg_cron");
	inv->patroni.dcs.synchronous_mode = true;
	assert_int_equal(hp_render_dcs_json(&dcs, inv, &err), 0);
	want = json_object_get(json_object_get(dcs, "postgresql"),
			       "parameters");
	assert_int_equal(
		json_integer_value(json_object_get(want, "max_wal_senders")),
		20);
	assert_string_equal(json_string_value(json_object_get(
				    want, "shared_preload_libraries")),
			    "auto_explain,pg_stat_statements,pg_cron");
	assert_true(json_is_true(json_object_get(dcs, "synchronous_mode")));
	json_decref(dcs);
	free_inv(inv);
}

static void test_dcs_json_refusals(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_err err;
	json_t *dcs = json_true(); /* a singleton: must become NULL */

	(void)state;
	/* Patroni's rule, from docs/field-notes.md: 10 + 2 * 10 > 20 */
	inv->patroni.dcs.ttl = 20;
	assert_int_equal(hp_render_dcs_json(&dcs, inv, &err), HP_EINVALID);
	assert_null(dcs);
	assert_non_null(strstr(err.msg, "loop_wait + 2 * retry_timeout"));
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	inv->patroni.dcs.ttl = 30;

	/* one setting in two places */
	kv_add(&inv->patroni.dcs.parameters, "max_wal_size", "8GB", false);
	assert_int_equal(hp_render_dcs_json(&dcs, inv, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "max_wal_size"));
	assert_non_null(strstr(err.msg, "tuning"));
	free_inv(inv);
}

static void test_param_values(void **state)
{
	static const struct {
		const char *text;
		bool quoted;
		const char *json;
	} cases[] = {
		{"200", false, "200"},
		{"-1", false, "-1"},
		{"0", false, "0"},
		{"200", true, "\"200\""},
		{"0770", false, "\"0770\""},
		{"1.5", false, "\"1.5\""},
		{"on", false, "\"on\""},
		{"4GB", false, "\"4GB\""},
		{"-", false, "\"-\""},
		{"", false, "\"\""},
		{"99999999999999999999", false, "\"99999999999999999999\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		json_t *v =
			hp_render_param_value(cases[i].text, cases[i].quoted);
		char *s = json_dumps(v, JSON_ENCODE_ANY);

		if (strcmp(s, cases[i].json) != 0)
			fail_msg("'%s' (quoted %d) gave %s, want %s",
				 cases[i].text, cases[i].quoted, s,
				 cases[i].json);
		free(s);
		json_decref(v);
	}
	/* not UTF-8: no JSON string */
	assert_null(hp_render_param_value("\xff", true));
}

static void test_yaml_scalars(void **state)
{
	static const char *const cases[][2] = {
		{"plain", "plain"},
		{"10.0.0.1", "10.0.0.1"},
		{"10.0.0.1:8008", "10.0.0.1:8008"},
		{"0.0.0.0:5432", "0.0.0.0:5432"},
		{"/var/run/postgresql", "/var/run/postgresql"},
		{"4GB", "4GB"},
		{"host all all 10.0.0.0/24 scram-sha-256",
		 "host all all 10.0.0.0/24 scram-sha-256"},
		{"a:b", "a:b"},
		{"", "''"},
		{"on", "'on'"},
		{"Off", "'Off'"},
		{"YES", "'YES'"},
		{"n", "'n'"},
		{"~", "'~'"},
		{"null", "'null'"},
		{"true", "'true'"},
		{"100", "'100'"},
		{"0.9", "'0.9'"},
		{"1e3", "'1e3'"},
		{"1_000", "'1_000'"},
		{"0x1F", "'0x1F'"},
		{"0o17", "'0o17'"},
		{"1:30", "'1:30'"},
		{"190:20:30.15", "'190:20:30.15'"},
		{"2024-01-01", "'2024-01-01'"},
		{"a: b", "'a: b'"},
		{"a:", "'a:'"},
		{"x #y", "'x #y'"},
		{"-x", "'-x'"},
		{"*x", "'*x'"},
		{"&x", "'&x'"},
		{"!x", "'!x'"},
		{"%x", "'%x'"},
		{"@x", "'@x'"},
		{"?x", "'?x'"},
		{"[x]", "'[x]'"},
		{"{x}", "'{x}'"},
		{".5", "'.5'"},
		{" lead", "' lead'"},
		{"trail ", "'trail '"},
		{"it's", "'it''s'"},
		{"\"q\"", "'\"q\"'"},
		{"a|b", "'a|b'"},
		{"a>b", "'a>b'"},
		{"a\\b", "'a\\b'"},
		{"caf\xc3\xa9", "'caf\xc3\xa9'"},
		{"tab\there", "\"tab\\there\""},
		{"two\nlines \"x\" \\", "\"two\\nlines \\\"x\\\" \\\\\""},
		{"bell\x07", "\"bell\\x07\""},
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		struct hp_buf b = HP_BUF_INIT, doc = HP_BUF_INIT;
		json_t *y;

		assert_int_equal(hp_render_yaml_scalar(&b, cases[i][0]), 0);
		if (strcmp(b.buf, cases[i][1]) != 0)
			fail_msg("'%s' became %s, want %s", cases[i][0], b.buf,
				 cases[i][1]);
		/* and a YAML reader gets the same string back */
		hp_buf_addf(&doc, "k: %s\n", b.buf);
		y = parse_yaml(doc.buf);
		if (!json_is_string(json_object_get(y, "k")) ||
		    strcmp(jstr(y, "k"), cases[i][0]) != 0)
			fail_msg("'%s' did not come back from %s", cases[i][0],
				 doc.buf);
		json_decref(y);
		hp_buf_release(&b);
		hp_buf_release(&doc);
	}
}

static void test_refused_inventories(void **state)
{
	struct hp_inventory *inv;
	struct hp_err err;

	(void)state;
	/* a local parameter Patroni would silently drop */
	inv = make_inv();
	kv_add(&inv->patroni.parameters, "max_connections", "500", false);
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "patroni.parameters.max_connections"));
	assert_non_null(strstr(err.msg, "patroni.dcs.parameters"));
	free_inv(inv);

	/* defaults not applied */
	inv = make_inv();
	set(&inv->etcd.token, NULL);
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "etcd.token"));
	free_inv(inv);

	inv = make_inv();
	strlist_free(&inv->patroni.allowed_networks);
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "allowed_networks"));
	free_inv(inv);

	/* names that would break etcd's URL lists or HAProxy lines */
	inv = make_inv();
	set(&inv->hosts[1].address, "10.0.0.12 backup");
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "10.0.0.12 backup"));
	free_inv(inv);

	inv = make_inv();
	set(&inv->hosts[1].name, "pg2,pg9=http://evil");
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	free_inv(inv);

	/* a pg_hba line Patroni would write as two */
	inv = make_inv();
	strlist_add(&inv->patroni.pg_hba, "host all all 0.0.0.0/0 trust\n"
					  "local all all trust");
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "pg_hba[1]"));
	free_inv(inv);

	inv = make_inv();
	set(&inv->secrets.replication, "Repl User");
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "secrets.replication"));
	free_inv(inv);

	/* haproxy with nothing to route to */
	inv = make_inv();
	inv->hosts[0].roles = HP_ROLE_HAPROXY;
	inv->hosts[1].roles = HP_ROLE_ETCD;
	inv->hosts[2].roles = HP_ROLE_ETCD;
	assert_int_equal(render_err(inv, 0, &err), HP_EINVALID);
	assert_non_null(strstr(err.msg, "patroni role"));
	free_inv(inv);
}

static void test_wal_path(void **state)
{
	struct hp_inventory *inv = make_inv();
	char *p;

	(void)state;
	assert_null(hp_render_wal_path(inv));
	set(&inv->tuning.wal_dir, "/srv/wal");
	p = hp_render_wal_path(inv);
	assert_string_equal(p, "/srv/wal/pg_wal");
	free(p);
	set(&inv->tuning.wal_dir, "/srv/wal//");
	p = hp_render_wal_path(inv);
	assert_string_equal(p, "/srv/wal/pg_wal");
	free(p);
	free_inv(inv);
}

/* Same input, same bytes: rendering is pure. */
static void test_deterministic(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered a = HP_RENDERED_INIT, b = HP_RENDERED_INIT;
	size_t i;

	(void)state;
	render_ok(&a, inv, 1, &real_secrets);
	render_ok(&b, inv, 1, &real_secrets);
	assert_int_equal(a.nr, b.nr);
	for (i = 0; i < a.nr; i++) {
		assert_int_equal(a.files[i].len, b.files[i].len);
		assert_memory_equal(a.files[i].content, b.files[i].content,
				    a.files[i].len);
	}
	hp_rendered_release(&a);
	hp_rendered_release(&b);
	free_inv(inv);
}

/*
 * secrets.superuser: dba. Patroni's initdb creates only the role "dba"
 * (--username), so "local all postgres peer" let nobody in and every
 * `runuser -u postgres -- psql -U dba` failed: the socket line and the
 * pg_ident map must name dba, and postgres must appear nowhere as a role.
 */
static void test_superuser_dba(void **state)
{
	struct hp_inventory *inv = NULL;
	struct hp_diags diags;
	struct hp_rendered rd = HP_RENDERED_INIT;
	json_t *y, *pg, *hba;
	const char *cfg;
	size_t i;

	(void)state;
	memset(&diags, 0, sizeof(diags));
	if (hp_inventory_load(&inv, "tests/golden-extra/superuser-dba.yml",
			      &diags) != 0)
		fail_msg("tests/golden-extra/superuser-dba.yml refused");
	render_ok(&rd, inv, 1, &real_secrets);
	cfg = content(&rd, "/etc/patroni/config.yml");
	y = parse_yaml(cfg);
	pg = json_object_get(y, "postgresql");
	assert_string_equal(
		jstr(json_object_get(json_object_get(pg, "authentication"),
				     "superuser"),
		     "username"),
		"dba");
	hba = json_object_get(pg, "pg_hba");
	assert_string_equal(json_string_value(json_array_get(hba, 0)),
			    "local all dba peer map=haprov_super");
	for (i = 0; i < json_array_size(hba); i++)
		assert_null(strstr(json_string_value(json_array_get(hba, i)),
				   " postgres "));
	assert_int_equal(json_array_size(json_object_get(pg, "pg_ident")), 1);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(pg, "pg_ident"), 0)),
			    "haprov_super postgres dba");
	/* the password is dba's, in config.yml */
	assert_string_equal(
		jstr(json_object_get(json_object_get(pg, "authentication"),
				     "superuser"),
		     "password"),
		"Sup3rUs3r-pw-0001");
	json_decref(y);
	hp_rendered_release(&rd);
	hp_inventory_free(inv);
	hp_diags_release(&diags);
}

/* ---- scale ------------------------------------------------------------------ */

/* An inventory of n hosts, built in memory: three with every role, the
 * rest patroni members. */
static char *big_inventory(size_t n)
{
	struct hp_buf b = HP_BUF_INIT;
	size_t i;

	hp_buf_adds(&b, "cluster: {name: big}\n"
			"ssh: {identity_file: /dev/null, known_hosts: "
			"/dev/null}\n"
			"hosts:\n");
	for (i = 0; i < n; i++)
		hp_buf_addf(&b,
			    "  - {name: h%zu, address: 10.%zu.%zu.%zu, roles: "
			    "%s}\n",
			    i, (i >> 16) & 255, (i >> 8) & 255, i & 255,
			    i < 3 ? "[etcd, patroni, haproxy]" : "[patroni]");
	hp_buf_adds(&b, "patroni:\n  allowed_networks: [10.0.0.0/8]\n"
			"tls: false\n");
	return hp_buf_detach(&b, NULL);
}

/* CPU time of this process: what the work costs, however busy the
 * machine is. */
static double cpu_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Render every host of inv (through one cache, or hp_render_host per
 * host); the CPU seconds it took, and the total size in *bytes. */
static double render_all(const struct hp_inventory *inv, bool use_cache,
			 size_t *bytes)
{
	double t0 = cpu_seconds();
	struct hp_render_cache *c = use_cache
					    ? hp_render_cache_new(inv,
								  &real_secrets)
					    : NULL;
	size_t i, j;

	*bytes = 0;
	for (i = 0; i < inv->nr_hosts; i++) {
		struct hp_rendered rd = HP_RENDERED_INIT;
		struct hp_err err;
		int r = c ? hp_render_host_cached(&rd, c, &inv->hosts[i], &err)
			  : hp_render_host(&rd, inv, &inv->hosts[i],
					   &real_secrets, &err);

		if (r != 0)
			fail_msg("host %zu: %s", i, err.msg);
		for (j = 0; j < rd.nr; j++)
			*bytes += rd.files[j].len;
		hp_rendered_release(&rd);
	}
	hp_render_cache_free(c);
	return cpu_seconds() - t0;
}

static struct hp_inventory *load_big(size_t n)
{
	char *yaml = big_inventory(n);
	struct hp_inventory *inv = NULL;
	struct hp_diags diags;

	memset(&diags, 0, sizeof(diags));
	assert_int_equal(hp_inventory_load_string(&inv, yaml, strlen(yaml),
						  "/tmp/big.yml", &diags),
			 0);
	hp_diags_release(&diags);
	free(yaml);
	return inv;
}

/* The least CPU time of three renderings of inv, host by host (the
 * least is the one the machine disturbed least). */
static double render_min(const struct hp_inventory *inv, size_t *bytes)
{
	double best = 1e9, t;
	int i;

	for (i = 0; i < 3; i++)
		if ((t = render_all(inv, false, bytes)) < best)
			best = t;
	return best;
}

/*
 * 1,000 hosts (the inventory's cap): rendering was quadratic (each host's
 * files re-read and re-checked every host of the inventory; 4,000 hosts
 * took 70 s). Each host now costs what its own files hold: eight times
 * the hosts, about eight times the time, and a bound that holds under
 * ASan+UBSan.
 */
static void test_render_4000_hosts(void **state)
{
	struct hp_inventory *small = load_big(HP_INV_MAX_HOSTS / 8),
			    *big = load_big(HP_INV_MAX_HOSTS);
	double t_small, t_big, t_cached;
	size_t b_small, b_big, b_cached;

	(void)state;
	t_small = render_min(small, &b_small);
	t_big = render_min(big, &b_big);
	t_cached = render_all(big, true, &b_cached);
	print_message("rendered 125 hosts in %.3f s, 1000 in %.3f s "
		      "(%zu bytes), with one cache in %.3f s (CPU time)\n",
		      t_small, t_big, b_big, t_cached);
	/* the same bytes either way */
	assert_int_equal(b_big, b_cached);
	if (t_big > 3.0 || t_cached > 3.0)
		fail_msg("rendering 1000 hosts took %.2f s (%.2f s cached)",
			 t_big, t_cached);
	if (t_big > 13.0 * t_small + 0.05)
		fail_msg("125 hosts: %.3f s, 1000: %.3f s: not linear",
			 t_small, t_big);
	hp_inventory_free(small);
	hp_inventory_free(big);
}

/* ---- secrets in freed memory ------------------------------------------------ */

/* jansson's allocations, watched: a freed block holding a password is
 * counted. Each block carries its size in front of it. */
static size_t freed_with_secret;

static void *watch_malloc(size_t n)
{
	size_t *p = malloc(n + 16);

	if (!p)
		return NULL;
	p[0] = n;
	return (char *)p + 16;
}

static void watch_free(void *p)
{
	static const char *const pw[] = {"Sup3rUs3r-pw-0001",
					 "R3plic4tion-pw-0002",
					 "R3w1nd-pw-0003", "R3st4pi-pw-0004",
					 "St4ts-pw-0005"};
	char *b;
	size_t i;

	if (!p)
		return;
	b = (char *)p - 16;
	for (i = 0; i < HP_ARRAY_SIZE(pw); i++)
		if (memmem(p, *(size_t *)(void *)b, pw[i], strlen(pw[i])))
			freed_with_secret++;
	free(b);
}

/* The render contexts of the secret files held the passwords in JSON
 * strings, freed without being zeroed. */
static void test_contexts_wiped(void **state)
{
	struct hp_inventory *inv = make_inv();
	struct hp_rendered rd = HP_RENDERED_INIT;
	json_malloc_t old_malloc;
	json_free_t old_free;

	(void)state;
	json_get_alloc_funcs(&old_malloc, &old_free);
	json_set_alloc_funcs(watch_malloc, watch_free);
	freed_with_secret = 0;
	render_ok(&rd, inv, 0, &real_secrets);
	json_set_alloc_funcs(old_malloc, old_free);
	/* the files were rendered, with the passwords in them */
	assert_non_null(strstr(content(&rd, "/etc/patroni/config.yml"),
			       "Sup3rUs3r-pw-0001"));
	assert_non_null(strstr(content(&rd, "/etc/haproxy/haprov_env.conf"),
			       "St4ts-pw-0005"));
	assert_int_equal(freed_with_secret, 0);
	hp_rendered_release(&rd);
	free_inv(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_files_of_a_host_with_every_role),
		cmocka_unit_test(test_role_subsets),
		cmocka_unit_test(test_etcd),
		cmocka_unit_test(test_patroni_config_is_valid_yaml),
		cmocka_unit_test(test_patroni_config_quotes_awkward_values),
		cmocka_unit_test(test_ipv6_host),
		cmocka_unit_test(test_haproxy),
		cmocka_unit_test(test_no_secret_outside_secret_files),
		cmocka_unit_test(test_secret_placeholders),
		cmocka_unit_test(test_secret_quoting_and_missing),
		cmocka_unit_test(test_dcs_json),
		cmocka_unit_test(test_dcs_json_refusals),
		cmocka_unit_test(test_param_values),
		cmocka_unit_test(test_yaml_scalars),
		cmocka_unit_test(test_refused_inventories),
		cmocka_unit_test(test_wal_path),
		cmocka_unit_test(test_deterministic),
		cmocka_unit_test(test_superuser_dba),
		cmocka_unit_test(test_render_4000_hosts),
		cmocka_unit_test(test_contexts_wiped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
