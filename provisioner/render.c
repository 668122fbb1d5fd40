/*
 * Rendering of each host's managed files (see render.h): one context
 * builder per template turns the inventory into the JSON context that
 * template needs, with every value already written the way its file format
 * wants it (YAML-quoted for config.yml, EnvironmentFile-quoted for the
 * environment files), so the templates themselves stay plain text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render.h"
#include "template.h"
#include "templates_gen.h"

/* Where Patroni keeps the .pgpass it writes for replication and rewind
 * (the lab proof's choice; the postgres user's home, not the data dir). */
#define PGPASS_PATH "/var/lib/postgresql/.pgpass_patroni"
#define SOCKET_DIR  "/var/run/postgresql"
/* pg_ident map: OS user postgres may log in as the superuser */
#define HBA_SUPER_MAP "haprov_super"
/* The HAProxy stats page's password, for haproxy.service (mode 0600) */
#define HAPROXY_ENV_PATH "/etc/haproxy/haprov_env.conf"

struct rin {
	const struct hp_inventory *inv;
	const struct hp_host *host;
	const struct hp_render_secrets *secrets;
};

/* ---- small helpers ---------------------------------------------------- */

/* jansson returns NULL only when it cannot allocate: that aborts, as
 * xmalloc does. */
static json_t *jnn(json_t *j)
{
	if (!j)
		hp_die_oom();
	return j;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ctrl(char c)
{
	unsigned char u = (unsigned char)c;

	return u < 0x20 || u == 0x7f;
}

static bool has_ctrl(const char *s)
{
	for (; *s; s++)
		if (is_ctrl(*s))
			return true;
	return false;
}

/* Store the bytes of b (of s) as a JSON string. Context strings are never
 * dumped as JSON, only printed by the template engine, so they need not be
 * UTF-8. */
static void set_buf(json_t *o, const char *key, const struct hp_buf *b)
{
	json_object_set_new(o, key, jnn(json_stringn_nocheck(b->buf, b->len)));
}

static void set_str(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, jnn(json_stringn_nocheck(s, strlen(s))));
}

static void set_int(json_t *o, const char *key, long long v)
{
	json_object_set_new(o, key, jnn(json_integer(v)));
}

/* HP_EINVALID unless s is set: the inventory's defaults provide these, so a
 * NULL here means an inventory that was not completed. */
static int need(const char *s, const char *key, struct hp_err *err)
{
	if (s && *s)
		return 0;
	return hp_err_set(err, HP_EINVALID,
			  "%s is not set (the inventory defaults provide it)",
			  key);
}

/*
 * Names and addresses go into etcd URL lists ("a=http://x:2380,b=..."),
 * HAProxy server lines and comments unquoted: only [A-Za-z0-9._:-] (host
 * names, IPv4, IPv6 and DNS names) can be written there safely.
 */
static int check_token(const char *s, const char *what, struct hp_err *err)
{
	const char *p;

	if (!s || !*s)
		return hp_err_set(err, HP_EINVALID, "%s is empty", what);
	for (p = s; *p; p++)
		if (!is_alnum(*p) && !strchr("._:-", *p))
			return hp_err_set(err, HP_EINVALID,
					  "%s '%s' has a character other "
					  "than letters, digits, '.', '_', "
					  "':' and '-'",
					  what, s);
	return 0;
}

/* Addresses passed check_token(): a colon means an IPv6 literal. */
static bool is_ipv6(const char *addr)
{
	return strchr(addr, ':') != NULL;
}

/* "addr:port", or "[addr]:port" for an IPv6 literal. Caller frees. */
static char *host_port(const char *addr, int port)
{
	if (is_ipv6(addr))
		return xasprintf("[%s]:%d", addr, port);
	return xasprintf("%s:%d", addr, port);
}

/* Release a buffer that may have held a password, zeroing it first. */
static void wipe_buf(struct hp_buf *b)
{
	if (b->alloc)
		explicit_bzero(b->buf, b->alloc);
	hp_buf_release(b);
}

/* Release a buffer that may have held a password, zeroing it first. */
/* ---- YAML scalars ------------------------------------------------------ */

/* Words a YAML 1.1 or 1.2 parser reads as null or a boolean. */
static bool yaml_keyword(const char *s)
{
	static const char *const words[] = {
		"null", "~",  "true", "false", "yes",
		"no",	"on", "off",  "y",     "n",
	};
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(words); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	return false;
}

static size_t skip_digits(const char *s, size_t i)
{
	while (is_digit(s[i]) || s[i] == '_')
		i++;
	return i;
}

/*
 * Whether s (starting with a digit) could be read as a number or a date:
 * 0x1F, 0o17, 0b101, 1_000, 0.9, 1e3, 1.5e-3, 1:30 (base 60 in YAML 1.1),
 * 2024-01-01. Errs on the side of "yes": a needless quote costs nothing.
 * IP addresses and "host:port" stay unquoted (10.0.0.1, 10.0.0.1:8008).
 */
static bool yaml_numeric(const char *s)
{
	size_t i, j;

	if (s[0] == '0' && s[1] && strchr("xXoObB", s[1])) {
		const char *set = strchr("xX", s[1]) ? "0123456789abcdefABCDEF_"
				  : strchr("oO", s[1]) ? "01234567_"
						       : "01_";

		return s[2] && strspn(s + 2, set) == strlen(s + 2);
	}
	/* decimal, float: [0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)? */
	i = skip_digits(s, 0);
	if (s[i] == '.')
		i = skip_digits(s, i + 1);
	if (s[i] == 'e' || s[i] == 'E') {
		j = i + 1;
		if (s[j] == '+' || s[j] == '-')
			j++;
		if (is_digit(s[j])) {
			while (is_digit(s[j]))
				j++;
			i = j;
		}
	}
	if (!s[i])
		return true;
	/* base 60: [0-9][0-9_]*(:[0-9_]+)+(\.[0-9_]*)? */
	i = skip_digits(s, 0);
	if (s[i] == ':') {
		while (s[i] == ':') {
			j = skip_digits(s, i + 1);
			if (j == i + 1)
				return false;
			i = j;
		}
		if (s[i] == '.')
			i = skip_digits(s, i + 1);
		return !s[i];
	}
	/* a date or timestamp: YYYY-M... */
	return strlen(s) >= 6 && strspn(s, "0123456789") == 4 && s[4] == '-' &&
	       is_digit(s[5]);
}

static bool yaml_plain_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (!n || !(is_alnum(s[0]) || s[0] == '_' || s[0] == '/'))
		return false;
	if (s[n - 1] == ' ' || s[n - 1] == ':')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f || strchr("#'\"`{}[]|>&*!\\", c))
			return false;
		if (c == ':' && s[i + 1] == ' ')
			return false;
	}
	return !yaml_keyword(s) && !(is_digit(s[0]) && yaml_numeric(s));
}

int hp_render_yaml_scalar(struct hp_buf *out, const char *s)
{
	int r = 0;

	if (yaml_plain_ok(s))
		return hp_buf_adds(out, s);
	if (!has_ctrl(s)) {
		/* single quotes: everything literal, ' doubled */
		r = hp_buf_addch(out, '\'');
		for (; *s && r == 0; s++)
			r = *s == '\'' ? hp_buf_adds(out, "''")
				       : hp_buf_addch(out, *s);
		return r ? r : hp_buf_addch(out, '\'');
	}
	r = hp_buf_addch(out, '"');
	for (; *s && r == 0; s++) {
		switch (*s) {
		case '"':
			r = hp_buf_adds(out, "\\\"");
			break;
		case '\\':
			r = hp_buf_adds(out, "\\\\");
			break;
		case '\n':
			r = hp_buf_adds(out, "\\n");
			break;
		case '\t':
			r = hp_buf_adds(out, "\\t");
			break;
		case '\r':
			r = hp_buf_adds(out, "\\r");
			break;
		default:
			r = is_ctrl(*s) ? hp_buf_addf(out, "\\x%02x",
						      (unsigned char)*s)
					: hp_buf_addch(out, *s);
			break;
		}
	}
	return r ? r : hp_buf_addch(out, '"');
}

/* s as a YAML scalar, in a new JSON string for a context. */
static json_t *yaml_json(const char *s)
{
	struct hp_buf b = HP_BUF_INIT;
	json_t *j;

	hp_render_yaml_scalar(&b, s);
	j = jnn(json_stringn_nocheck(b.buf, b.len));
	hp_buf_release(&b);
	return j;
}

static void set_yaml(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, yaml_json(s));
}

/* A JSON scalar of the DCS document as YAML text (new JSON string). */
static json_t *yaml_of_json(const json_t *v)
{
	char num[32];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return yaml_json(json_string_value(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		return jnn(json_string(num));
	case JSON_TRUE:
		return jnn(json_string("true"));
	default: /* hp_render_dcs_json makes only these and false */
		return jnn(json_string("false"));
	}
}

/* ---- EnvironmentFile values ------------------------------------------- */

/*
 * Append s as a value systemd's EnvironmentFile (and a POSIX shell) reads
 * back unchanged: bare when it is made of safe characters, else in double
 * quotes with \ before " \ ` $. Control characters cannot be written.
 */
static int env_value(struct hp_buf *out, const char *s, const char *what,
		     struct hp_err *err)
{
	const char *p;

	if (has_ctrl(s))
		return hp_err_set(err, HP_EINVALID,
				  "%s contains a control character", what);
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
			    "wxyz0123456789_./:@%+,=-") == strlen(s))
		return hp_buf_adds(out, s);
	hp_buf_addch(out, '"');
	for (p = s; *p; p++) {
		if (strchr("\"\\`$", *p))
			hp_buf_addch(out, '\\');
		hp_buf_addch(out, *p);
	}
	return hp_buf_addch(out, '"');
}

static int set_env(json_t *o, const char *key, const char *s, const char *what,
		   struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	int r;

	if ((r = env_value(&b, s, what, err)) == 0)
		set_buf(o, key, &b);
	wipe_buf(&b);
	return r;
}

/* ---- Patroni dynamic configuration ------------------------------------ */

json_t *hp_render_param_value(const char *text, bool quoted)
{
	const char *p = text;

	if (!quoted) {
		if (*p == '-')
			p++;
		/* a decimal integer without leading zeros */
		if (is_digit(*p) && strspn(p, "0123456789") == strlen(p) &&
		    (p[0] != '0' || !p[1])) {
			char *end;
			long long v;

			errno = 0;
			v = strtoll(text, &end, 10);
			if (errno == 0 && *end == '\0')
				return jnn(json_integer(v));
		}
	}
	/* NULL when text is not UTF-8 */
	return json_string(text);
}

/* Set a parameter, with a message when its name or value is not UTF-8
 * (JSON cannot carry it). */
static int set_param(json_t *params, const char *key, json_t *v,
		     const char *where, struct hp_err *err)
{
	if (!v || json_object_set_new(params, key, v) < 0)
		return hp_err_set(err, HP_EINVALID,
				  "%s.%s: parameter name or value is not "
				  "valid UTF-8",
				  where, key);
	return 0;
}

/* Append each comma-separated library of list to libs, once. */
static void add_libs(struct hp_strlist *libs, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *b = p, *e = p + n;
		char *lib;
		size_t i;

		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		p += n + (p[n] == ',');
		if (b == e)
			continue;
		lib = xstrndup(b, (size_t)(e - b));
		for (i = 0; i < libs->nr; i++)
			if (!strcmp(libs->items[i], lib))
				break;
		if (i < libs->nr) {
			free(lib);
			continue;
		}
		HP_ALLOC_GROW(libs->items, libs->nr + 1, libs->alloc);
		libs->items[libs->nr++] = lib;
	}
}

/* shared_preload_libraries: the DCS parameter's list, then the
 * extensions', once each. */
static int set_preload(json_t *params, const struct hp_inventory *inv,
		       struct hp_err *err)
{
	const struct hp_strlist *ext =
		&inv->extensions.shared_preload_libraries;
	const json_t *cur = json_object_get(params, "shared_preload_libraries");
	struct hp_strlist libs = {NULL, 0, 0};
	struct hp_buf b = HP_BUF_INIT;
	size_t i;
	int r;

	if (!ext->nr)
		return 0;
	if (json_is_string(cur))
		add_libs(&libs, json_string_value(cur));
	for (i = 0; i < ext->nr; i++)
		add_libs(&libs, ext->items[i]);
	for (i = 0; i < libs.nr; i++) {
		hp_buf_addf(&b, "%s%s", i ? "," : "", libs.items[i]);
		free(libs.items[i]);
	}
	free(libs.items);
	r = set_param(params, "shared_preload_libraries", json_string(b.buf),
		      "extensions", err);
	hp_buf_release(&b);
	return r;
}

int hp_render_dcs_json(json_t **out, const struct hp_inventory *inv,
		       struct hp_err *err)
{
	const struct hp_dcs *d = &inv->patroni.dcs;
	const struct hp_tuning *t = &inv->tuning;
	const struct {
		const char *name, *value;
	} tuning[] = {
		{"checkpoint_timeout", t->checkpoint_timeout},
		{"checkpoint_completion_target",
		 t->checkpoint_completion_target},
		{"max_wal_size", t->max_wal_size},
		{"min_wal_size", t->min_wal_size},
		{"wal_buffers", t->wal_buffers},
		{"wal_compression", t->wal_compression},
	};
	json_t *dcs = NULL, *pg, *params = jnn(json_object());
	size_t i;
	int r = 0;

	*out = NULL;
	if ((long long)d->loop_wait + 2LL * d->retry_timeout > d->ttl) {
		r = hp_err_set(err, HP_EINVALID,
			       "patroni.dcs: loop_wait + 2 * retry_timeout "
			       "(%d + 2 * %d) must not exceed ttl (%d): "
			       "Patroni accepts it, then loses its leader "
			       "key with no fault",
			       d->loop_wait, d->retry_timeout, d->ttl);
		goto out;
	}

	/* what replication, slots and pg_rewind need */
	json_object_set_new(params, "wal_level", jnn(json_string("replica")));
	json_object_set_new(params, "hot_standby", jnn(json_string("on")));
	json_object_set_new(params, "max_wal_senders", jnn(json_integer(10)));
	json_object_set_new(params, "max_replication_slots",
			    jnn(json_integer(10)));
	json_object_set_new(params, "wal_log_hints", jnn(json_string("on")));

	for (i = 0; i < d->parameters.nr; i++) {
		const struct hp_kv *kv = &d->parameters.items[i];

		r = set_param(params, kv->key,
			      hp_render_param_value(kv->value, kv->quoted),
			      "patroni.dcs.parameters", err);
		if (r < 0)
			goto out;
	}
	for (i = 0; i < HP_ARRAY_SIZE(tuning); i++) {
		if (!tuning[i].value)
			continue;
		if (hp_kvlist_get(&d->parameters, tuning[i].name)) {
			r = hp_err_set(err, HP_EINVALID,
				       "%s is set both in tuning and in "
				       "patroni.dcs.parameters: set it in one "
				       "place",
				       tuning[i].name);
			goto out;
		}
		r = set_param(params, tuning[i].name,
			      hp_render_param_value(tuning[i].value, false),
			      "tuning", err);
		if (r < 0)
			goto out;
	}
	if ((r = set_preload(params, inv, err)) < 0)
		goto out;

	pg = jnn(json_object());
	json_object_set_new(pg, "use_pg_rewind",
			    jnn(json_boolean(d->use_pg_rewind)));
	json_object_set_new(pg, "use_slots", jnn(json_boolean(d->use_slots)));
	json_object_set_new(pg, "parameters", params);
	params = NULL;

	dcs = jnn(json_object());
	json_object_set_new(dcs, "ttl", jnn(json_integer(d->ttl)));
	json_object_set_new(dcs, "loop_wait", jnn(json_integer(d->loop_wait)));
	json_object_set_new(dcs, "retry_timeout",
			    jnn(json_integer(d->retry_timeout)));
	json_object_set_new(dcs, "maximum_lag_on_failover",
			    jnn(json_integer(d->maximum_lag_on_failover)));
	json_object_set_new(dcs, "synchronous_mode",
			    jnn(json_boolean(d->synchronous_mode)));
	json_object_set_new(dcs, "postgresql", pg);
	*out = dcs;
out:
	json_decref(params);
	return r;
}

char *hp_render_wal_path(const struct hp_inventory *inv)
{
	const char *d = inv->tuning.wal_dir;
	size_t n;

	if (!d)
		return NULL;
	n = strlen(d);
	while (n > 0 && d[n - 1] == '/')
		n--;
	return xasprintf("%.*s/pg_wal", (int)n, d);
}

/* ---- contexts, one per template ----------------------------------------- */

static int etcd_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_inventory *inv = in->inv;
	const struct hp_etcd *e = &inv->etcd;
	struct hp_buf cluster = HP_BUF_INIT;
	char *peer, *client;
	size_t i;
	int r;

	if ((r = need(e->data_dir, "etcd.data_dir", err)) < 0 ||
	    (r = need(e->token, "etcd.token", err)) < 0)
		return r;
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		char *hp;

		if (!(h->roles & HP_ROLE_ETCD))
			continue;
		hp = host_port(h->address, e->peer_port);
		hp_buf_addf(&cluster, "%s%s=http://%s", cluster.len ? "," : "",
			    h->name, hp);
		free(hp);
	}
	peer = host_port(in->host->address, e->peer_port);
	client = host_port(in->host->address, e->client_port);

	set_str(c, "cluster", inv->cluster);
	set_str(c, "name", in->host->name);
	r = set_env(c, "data_dir", e->data_dir, "etcd.data_dir", err);
	if (r == 0)
		r = set_env(c, "token", e->token, "etcd.token", err);
	json_object_set_new(c, "listen_peer_urls",
			    jnn(json_sprintf("http://%s", peer)));
	json_object_set_new(c, "listen_client_urls",
			    jnn(json_sprintf("http://%s,http://127.0.0.1:%d",
					     client, e->client_port)));
	json_object_set_new(c, "advertise_peer_urls",
			    jnn(json_sprintf("http://%s", peer)));
	json_object_set_new(c, "advertise_client_urls",
			    jnn(json_sprintf("http://%s", client)));
	set_buf(c, "initial_cluster", &cluster);
	/* joining a running cluster ("existing") is the etcd phase's job:
	 * it adds the member first and renders with the live member list */
	set_str(c, "initial_cluster_state", "new");
	set_int(c, "heartbeat_ms", e->heartbeat_ms);
	set_int(c, "election_ms", e->election_ms);
	free(peer);
	free(client);
	hp_buf_release(&cluster);
	return r;
}

static int plain_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	(void)err;
	set_int(c, "pg_version", in->inv->patroni.pg_version);
	return 0;
}

/* The parameters of obj, in order, as a [{name, value}] list of YAML
 * texts for a template. */
static json_t *param_list(json_t *obj)
{
	json_t *list = jnn(json_array());
	void *it;

	for (it = json_object_iter(obj); it;
	     it = json_object_iter_next(obj, it)) {
		json_t *item = jnn(json_object());

		set_yaml(item, "name", json_object_iter_key(it));
		json_object_set_new(item, "value",
				    yaml_of_json(json_object_iter_value(it)));
		json_array_append_new(list, item);
	}
	return list;
}

static int local_params(json_t *c, const struct hp_inventory *inv,
			struct hp_err *err)
{
	const struct hp_kvlist *l = &inv->patroni.parameters;
	json_t *params = jnn(json_object());
	size_t i;
	int r = 0;

	json_object_set_new(params, "unix_socket_directories",
			    jnn(json_string(SOCKET_DIR)));
	for (i = 0; i < l->nr && r == 0; i++) {
		const char *why = hp_param_refused(l->items[i].key, true);

		if (why)
			r = hp_err_set(err, HP_EINVALID,
				       "patroni.parameters.%s: %s",
				       l->items[i].key, why);
		else
			r = set_param(params, l->items[i].key,
				      hp_render_param_value(l->items[i].value,
							    l->items[i].quoted),
				      "patroni.parameters", err);
	}
	json_object_set_new(c, "parameters", param_list(params));
	json_decref(params);
	return r;
}

/* A role name in pg_hba: bare, or quoted when it is a keyword. */
static int hba_role(struct hp_buf *b, const char *name, const char *what,
		    struct hp_err *err)
{
	static const char *const keywords[] = {"all", "sameuser", "samerole",
					       "samegroup", "replication"};
	size_t i;

	if (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
			      strlen(name))
		return hp_err_set(err, HP_EINVALID,
				  "%s '%s': haprov writes role names of "
				  "[a-z0-9_] only into pg_hba",
				  what, name);
	for (i = 0; i < HP_ARRAY_SIZE(keywords); i++)
		if (!strcmp(name, keywords[i]))
			return hp_buf_addf(b, "\"%s\"", name);
	return hp_buf_adds(b, name);
}

static void add_hba(json_t *list, const char *fmt, ...) HP_PRINTF(2, 3);
static void add_hba(json_t *list, const char *fmt, ...)
{
	struct hp_buf b = HP_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	hp_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	json_array_append_new(list, yaml_json(b.buf));
	hp_buf_release(&b);
}

static int pg_hba(json_t *c, const struct hp_inventory *inv, bool ipv6,
		  struct hp_err *err)
{
	const struct hp_patroni *p = &inv->patroni;
	const struct hp_strlist *nets = &p->allowed_networks;
	static const char *const loopback[] = {"127.0.0.1/32", "::1/128"};
	struct hp_buf repl = HP_BUF_INIT, su = HP_BUF_INIT;
	json_t *list = jnn(json_array()), *ident = jnn(json_array());
	size_t i, nr_loop = ipv6 ? 2 : 1;
	int r;

	json_object_set_new(c, "pg_hba", list);
	json_object_set_new(c, "pg_ident", ident);
	if ((r = hba_role(&repl, inv->secrets.replication,
			  "secrets.replication", err)) < 0 ||
	    (r = hba_role(&su, inv->secrets.superuser, "secrets.superuser",
			  err)) < 0)
		goto out;
	if (!nets->nr) {
		r = hp_err_set(err, HP_EINVALID,
			       "patroni.allowed_networks is empty: the "
			       "members could not replicate");
		goto out;
	}
	for (i = 0; i < nets->nr; i++) {
		const char *n = nets->items[i];

		if (!*n || strcspn(n, " \t\"#,") != strlen(n) || has_ctrl(n)) {
			r = hp_err_set(err, HP_EINVALID,
				       "patroni.allowed_networks[%zu] '%s' is "
				       "not an address or network",
				       i, n);
			goto out;
		}
	}

	/*
	 * On the socket, the OS user postgres (what patroni.service and
	 * `runuser -u postgres -- psql -U <superuser>` run as) logs in as the
	 * superuser without a password, whatever the superuser is named:
	 * Patroni's initdb creates only that role (--username), so with
	 * secrets.superuser: dba there is no role "postgres" at all.
	 */
	add_hba(list, "local all %s peer map=" HBA_SUPER_MAP, su.buf);
	add_hba(ident, HBA_SUPER_MAP " postgres %s", su.buf);
	add_hba(list, "local all all scram-sha-256");
	for (i = 0; i < nr_loop; i++)
		add_hba(list, "host replication %s %s scram-sha-256", repl.buf,
			loopback[i]);
	for (i = 0; i < nets->nr; i++)
		add_hba(list, "host replication %s %s scram-sha-256", repl.buf,
			nets->items[i]);
	for (i = 0; i < nr_loop; i++)
		add_hba(list, "host all all %s scram-sha-256", loopback[i]);
	for (i = 0; i < nets->nr; i++)
		add_hba(list, "host all all %s scram-sha-256", nets->items[i]);
	for (i = 0; i < p->pg_hba.nr; i++) {
		/* Patroni writes one list item per line */
		if (has_ctrl(p->pg_hba.items[i])) {
			r = hp_err_set(err, HP_EINVALID,
				       "patroni.pg_hba[%zu] contains a control "
				       "character",
				       i);
			goto out;
		}
		json_array_append_new(list, yaml_json(p->pg_hba.items[i]));
	}
out:
	hp_buf_release(&repl);
	hp_buf_release(&su);
	return r;
}

static void dcs_ctx(json_t *c, const json_t *dcs)
{
	const json_t *pg = json_object_get(dcs, "postgresql");
	json_t *o = jnn(json_object());
	static const char *const top[] = {"ttl", "loop_wait", "retry_timeout",
					  "maximum_lag_on_failover",
					  "synchronous_mode"};
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(top); i++)
		json_object_set_new(o, top[i],
				    yaml_of_json(json_object_get(dcs, top[i])));
	json_object_set_new(o, "use_pg_rewind",
			    yaml_of_json(json_object_get(pg, "use_pg_rewind")));
	json_object_set_new(o, "use_slots",
			    yaml_of_json(json_object_get(pg, "use_slots")));
	json_object_set_new(o, "parameters",
			    param_list(json_object_get(pg, "parameters")));
	json_object_set_new(c, "dcs", o);
}

static int patroni_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_inventory *inv = in->inv;
	const struct hp_patroni *p = &inv->patroni;
	const struct hp_host *host = in->host;
	bool ipv6 = is_ipv6(host->address);
	json_t *dcs = NULL, *o, *list;
	char *s;
	size_t i;
	int r;

	if ((r = need(p->scope, "patroni.scope", err)) < 0 ||
	    (r = need(p->namespace_, "patroni.namespace", err)) < 0 ||
	    (r = need(p->data_dir, "patroni.data_dir", err)) < 0 ||
	    (r = need(p->bin_dir, "patroni.bin_dir", err)) < 0 ||
	    (r = need(inv->secrets.superuser, "secrets.superuser", err)) < 0 ||
	    (r = need(inv->secrets.replication, "secrets.replication", err)) <
		    0 ||
	    (r = need(inv->secrets.rewind, "secrets.rewind", err)) < 0)
		return r;
	if ((r = hp_render_dcs_json(&dcs, inv, err)) < 0)
		return r;

	set_yaml(c, "scope", p->scope);
	set_yaml(c, "namespace", p->namespace_);
	set_yaml(c, "name", host->name);

	/* IPv4 as in the lab proof; "*" also listens on IPv6 */
	o = jnn(json_object());
	s = xasprintf("%s:%d", ipv6 ? "*" : "0.0.0.0", p->restapi_port);
	set_yaml(o, "listen", s);
	free(s);
	s = host_port(host->address, p->restapi_port);
	set_yaml(o, "connect_address", s);
	free(s);
	json_object_set_new(c, "restapi", o);

	list = jnn(json_array());
	for (i = 0; i < inv->nr_hosts; i++) {
		if (!(inv->hosts[i].roles & HP_ROLE_ETCD))
			continue;
		s = host_port(inv->hosts[i].address, inv->etcd.client_port);
		json_array_append_new(list, yaml_json(s));
		free(s);
	}
	json_object_set_new(c, "etcd_hosts", list);

	dcs_ctx(c, dcs);
	s = hp_render_wal_path(inv);
	if (s)
		set_yaml(c, "wal_dir", s);
	else
		json_object_set_new(c, "wal_dir", json_false());
	free(s);

	o = jnn(json_object());
	s = xasprintf("%s:%d", ipv6 ? "*" : "0.0.0.0", p->pg_port);
	set_yaml(o, "listen", s);
	free(s);
	s = host_port(host->address, p->pg_port);
	set_yaml(o, "connect_address", s);
	free(s);
	set_yaml(o, "data_dir", p->data_dir);
	set_yaml(o, "bin_dir", p->bin_dir);
	set_yaml(o, "pgpass", PGPASS_PATH);
	json_object_set_new(c, "postgresql", o);

	o = jnn(json_object());
	set_yaml(o, "superuser", inv->secrets.superuser);
	set_yaml(o, "replication", inv->secrets.replication);
	set_yaml(o, "rewind", inv->secrets.rewind);
	json_object_set_new(c, "users", o);

	if ((r = local_params(c, inv, err)) == 0)
		r = pg_hba(c, inv, ipv6, err);
	json_decref(dcs);
	return r;
}

static int patroni_env_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_render_secrets *sec = in->secrets;
	const struct {
		const char *key, *name, *what, *value;
	} pw[] = {
		{"superuser_password", "superuser", "the superuser password",
		 sec ? sec->superuser : NULL},
		{"replication_password", "replication",
		 "the replication password", sec ? sec->replication : NULL},
		{"rewind_password", "rewind", "the rewind password",
		 sec ? sec->rewind : NULL},
		{"restapi_password", "restapi", "the REST API password",
		 sec ? sec->restapi : NULL},
	};
	size_t i;
	int r;

	if ((r = need(in->inv->secrets.restapi_user, "secrets.restapi_user",
		      err)) < 0)
		return r;
	set_str(c, "name", in->host->name);
	r = set_env(c, "restapi_username", in->inv->secrets.restapi_user,
		    "secrets.restapi_user", err);
	for (i = 0; i < HP_ARRAY_SIZE(pw) && r == 0; i++) {
		char *placeholder = NULL;

		if (sec && !pw[i].value)
			return hp_err_set(err, HP_EINVALID, "%s is missing",
					  pw[i].what);
		if (!sec)
			placeholder = xasprintf("<secret:%s>", pw[i].name);
		r = set_env(c, pw[i].key, sec ? pw[i].value : placeholder,
			    pw[i].what, err);
		free(placeholder);
	}
	return r;
}

static int haproxy_ctx(json_t *c, const struct rin *in, struct hp_err *err)
{
	const struct hp_inventory *inv = in->inv;
	const struct hp_haproxy *h = &inv->haproxy;
	json_t *servers = jnn(json_array()), *check = jnn(json_object());
	char *s;
	size_t i;

	set_str(c, "cluster", inv->cluster);
	set_int(c, "maxconn", h->maxconn);
	set_int(c, "timeout_connect_s", h->timeout_connect_s);
	set_int(c, "timeout_client_s", h->timeout_client_s);
	set_int(c, "timeout_server_s", h->timeout_server_s);
	set_int(c, "stats_port", h->stats_port);
	s = host_port(in->host->address, h->stats_port);
	set_str(c, "stats_bind", s);
	free(s);
	set_str(c, "stats_user", HP_HAPROXY_STATS_USER);
	set_str(c, "env_file", HAPROXY_ENV_PATH);
	set_int(c, "primary_port", h->primary_port);
	set_int(c, "replica_port", h->replica_port);
	set_int(c, "restapi_port", inv->patroni.restapi_port);
	set_int(c, "server_maxconn", h->server_maxconn);
	set_int(check, "inter_ms", h->check.inter_ms);
	set_int(check, "fall", h->check.fall);
	set_int(check, "rise", h->check.rise);
	json_object_set_new(c, "check", check);
	for (i = 0; i < inv->nr_hosts; i++) {
		const struct hp_host *m = &inv->hosts[i];
		json_t *srv;
		char *addr;

		if (!(m->roles & HP_ROLE_PATRONI))
			continue;
		srv = jnn(json_object());
		addr = host_port(m->address, inv->patroni.pg_port);
		set_str(srv, "name", m->name);
		set_str(srv, "address", addr);
		free(addr);
		json_array_append_new(servers, srv);
	}
	json_object_set_new(c, "servers", servers);
	if (!json_array_size(servers))
		return hp_err_set(err, HP_EINVALID,
				  "no host has the patroni role: HAProxy "
				  "would have no server to route to");
	return 0;
}

/* The systemd drop-in that gives haproxy.service the stats password. */
static int haproxy_dropin_ctx(json_t *c, const struct rin *in,
			      struct hp_err *err)
{
	(void)in;
	(void)err;
	set_str(c, "stats_user", HP_HAPROXY_STATS_USER);
	set_str(c, "env_file", HAPROXY_ENV_PATH);
	return 0;
}

static int haproxy_env_ctx(json_t *c, const struct rin *in,
			   struct hp_err *err)
{
	const struct hp_render_secrets *sec = in->secrets;

	if (sec && !sec->haproxy_stats)
		return hp_err_set(err, HP_EINVALID,
				  "the HAProxy stats password is missing");
	set_str(c, "stats_user", HP_HAPROXY_STATS_USER);
	return set_env(c, "stats_password",
		       sec ? sec->haproxy_stats
			   : "<secret:" HP_HAPROXY_STATS_SECRET ">",
		       "the HAProxy stats password", err);
}

/* ---- the files --------------------------------------------------------------
 */

struct file_spec {
	const char *path;
	const char *template;
	const char *owner, *group;
	const char *services;
	const char *check_cmd;
	int (*ctx)(json_t *c, const struct rin *in, struct hp_err *err);
	unsigned role;
	unsigned mode;
	bool secret;
	bool reload;
	bool before_install;
};

static const struct file_spec specs[] = {
	{.role = HP_ROLE_ETCD,
	 .path = "/etc/default/etcd",
	 .template = "etcd.env",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "etcd",
	 .ctx = etcd_ctx},
	/* a drop-in: the engine runs daemon-reload for /etc/systemd/ */
	{.role = HP_ROLE_ETCD,
	 .path = "/etc/systemd/system/etcd.service.d/haprov.conf",
	 .template = "etcd-dropin.conf",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "etcd",
	 .ctx = plain_ctx},
	/* read by postgresql-common when postgresql-NN is installed */
	{.role = HP_ROLE_PATRONI,
	 .path = "/etc/postgresql-common/createcluster.conf",
	 .template = "createcluster.conf",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .before_install = true,
	 .ctx = plain_ctx},
	/* Patroni re-reads config.yml on SIGHUP (systemctl reload) */
	{.role = HP_ROLE_PATRONI,
	 .path = "/etc/patroni/config.yml",
	 .template = "patroni.yml",
	 .mode = 0640,
	 .owner = "postgres",
	 .group = "postgres",
	 .services = "patroni",
	 .reload = true,
	 .ctx = patroni_ctx},
	/* the environment is read only when Patroni starts */
	{.role = HP_ROLE_PATRONI,
	 .path = "/etc/patroni_env.conf",
	 .template = "patroni_env.conf",
	 .mode = 0600,
	 .owner = "root",
	 .group = "root",
	 .secret = true,
	 .services = "patroni",
	 .ctx = patroni_env_ctx},
	/* a drop-in: the engine runs daemon-reload for /etc/systemd/ */
	{.role = HP_ROLE_HAPROXY,
	 .path = "/etc/systemd/system/haproxy.service.d/haprov.conf",
	 .template = "haproxy-dropin.conf",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "haproxy",
	 .ctx = haproxy_dropin_ctx},
	/* before haproxy.cfg, whose check reads it; systemd reads it only
	 * when HAProxy starts, and a reload keeps the old environment */
	{.role = HP_ROLE_HAPROXY,
	 .path = HAPROXY_ENV_PATH,
	 .template = "haproxy_env.conf",
	 .mode = 0600,
	 .owner = "root",
	 .group = "root",
	 .secret = true,
	 .services = "haproxy",
	 .ctx = haproxy_env_ctx},
	/* checked with the password in its environment, as systemd runs it */
	{.role = HP_ROLE_HAPROXY,
	 .path = "/etc/haproxy/haproxy.cfg",
	 .template = "haproxy.cfg",
	 .mode = 0644,
	 .owner = "root",
	 .group = "root",
	 .services = "haproxy",
	 .reload = true,
	 .check_cmd = "set -a && . " HAPROXY_ENV_PATH " && set +a && "
		      "haproxy -c -f %s",
	 .ctx = haproxy_ctx},
};

static const struct hp_template_file *find_template(const char *name)
{
	size_t i;

	for (i = 0; i < hp_templates_nr; i++)
		if (!strcmp(hp_templates[i].name, name))
			return &hp_templates[i];
	return NULL;
}

/* Everything that is written unquoted into several formats. */
static int check_names(const struct hp_inventory *inv, struct hp_err *err)
{
	size_t i;
	int r;

	if ((r = check_token(inv->cluster, "cluster.name", err)) < 0)
		return r;
	for (i = 0; i < inv->nr_hosts; i++)
		if ((r = check_token(inv->hosts[i].name, "host name", err)) <
			    0 ||
		    (r = check_token(inv->hosts[i].address, "host address",
				     err)) < 0)
			return r;
	return 0;
}

static int render_one(struct hp_rendered *out, const struct file_spec *fs,
		      const struct rin *in, struct hp_err *err)
{
	const struct hp_template_file *t = find_template(fs->template);
	struct hp_buf b = HP_BUF_INIT;
	struct hp_rendered_file *f;
	json_t *c;
	int r;

	if (!t)
		return hp_err_set(err, HP_ENOTFOUND,
				  "template %s is not built into haprov",
				  fs->template);
	c = jnn(json_object());
	set_str(c, "template", fs->template);
	if ((r = fs->ctx(c, in, err)) == 0)
		r = hp_template_render(&b, t->name, t->text, t->len, c, err);
	json_decref(c);
	if (r < 0) {
		wipe_buf(&b);
		return r;
	}
	HP_ALLOC_GROW(out->files, out->nr + 1, out->alloc);
	f = &out->files[out->nr++];
	f->path = fs->path;
	f->template = fs->template;
	f->mode = fs->mode;
	f->owner = fs->owner;
	f->group = fs->group;
	f->secret = fs->secret;
	f->services = fs->services;
	f->reload = fs->reload;
	f->before_install = fs->before_install;
	f->check_cmd = fs->check_cmd;
	f->content = hp_buf_detach(&b, &f->len);
	return 0;
}

int hp_render_host(struct hp_rendered *out, const struct hp_inventory *inv,
		   const struct hp_host *host,
		   const struct hp_render_secrets *secrets, struct hp_err *err)
{
	const struct rin in = {inv, host, secrets};
	size_t i;
	int r;

	if ((r = check_names(inv, err)) < 0)
		goto out;
	for (i = 0; i < HP_ARRAY_SIZE(specs); i++) {
		if (!(host->roles & specs[i].role))
			continue;
		if ((r = render_one(out, &specs[i], &in, err)) < 0)
			goto out;
	}
out:
	if (r < 0)
		hp_rendered_release(out);
	return r;
}

void hp_rendered_release(struct hp_rendered *r)
{
	size_t i;

	for (i = 0; i < r->nr; i++) {
		if (r->files[i].secret)
			explicit_bzero(r->files[i].content, r->files[i].len);
		free(r->files[i].content);
	}
	free(r->files);
	r->files = NULL;
	r->nr = r->alloc = 0;
}

const struct hp_rendered_file *hp_rendered_find(const struct hp_rendered *r,
						const char *path)
{
	size_t i;

	for (i = 0; i < r->nr; i++)
		if (!strcmp(r->files[i].path, path))
			return &r->files[i];
	return NULL;
}
