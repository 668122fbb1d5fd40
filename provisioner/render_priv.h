#ifndef HP_RENDER_PRIV_H
#define HP_RENDER_PRIV_H
/*
 * What the renderer's files share (render.c: contexts and files,
 * render_text.c: values written for each file format, render_dcs.c:
 * Patroni's dynamic configuration, render_hba.c: pg_hba). Not an API:
 * only the render*.c files include this.
 */
#include <jansson.h>
#include <stdbool.h>

#include "render.h"

/* What a context builder gets: the inventory, the host, the secrets
 * (NULL: placeholders) and the shared cache. */
struct rin {
	const struct hp_inventory *inv;
	const struct hp_host *host;
	const struct hp_render_secrets *secrets;
	struct hp_render_cache *cache;
};

/* One managed file: where, from which template, how it is written. */
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
	bool tls; /* rendered only when the inventory's tls is on */
};

/* The TLS files (render_tls.c), in this order: etcd ca, cert, key;
 * patroni ca, cert, key; haproxy ca, stats.pem. */
#define HP_RENDER_NR_TLS 8
extern const struct file_spec hp_render_tls_specs[HP_RENDER_NR_TLS];

/* The vip hosts' files (render_vip.c): the VRRP password, keepalived.conf */
#define HP_RENDER_NR_VIP 2
extern const struct file_spec hp_render_vip_specs[HP_RENDER_NR_VIP];

/* The pgbouncer hosts' files (render_pgbouncer.c): the auth file, where
 * it listens, pgbouncer.ini */
#define HP_RENDER_NR_PGB 3
extern const struct file_spec hp_render_pgb_specs[HP_RENDER_NR_PGB];

/* The paths the TLS files are written to, which other files name. */
#define HP_TLS_ETCD_DIR "/etc/etcd/tls"
#define HP_TLS_PATRONI_DIR "/etc/patroni/tls"
#define HP_TLS_HAPROXY_DIR "/etc/haproxy/tls"

/*
 * The TLS settings of etcd.env, config.yml and haproxy.cfg into c: key
 * "tls" false when tls is off, else an object of paths and URLs the
 * templates use. HP_EINVALID when tls is on and secrets lacks
 * the TLS material, or a TLS parameter is set by hand.
 */
int hp_render_tls_etcd(json_t *c, const struct rin *in, struct hp_err *err);
int hp_render_tls_patroni(json_t *c, const struct rin *in,
			  struct hp_err *err);
int hp_render_tls_haproxy(json_t *c, const struct rin *in,
			  struct hp_err *err);
/* "http" or "https", as the inventory's tls says. */
const char *hp_render_scheme(const struct hp_inventory *inv);

/* pg_ident map: OS user postgres may log in as the superuser */
#define HP_RENDER_SUPER_MAP "haprov_super"

/* j, or abort when jansson could not allocate (as xmalloc does). */
json_t *hp_render_jnn(json_t *j);
bool hp_render_has_ctrl(const char *s);
/* Set key of o to a new string (bytes of b, of s), or an integer.
 * Context strings are only printed, never dumped: they need not be
 * UTF-8. */
void hp_render_set_buf(json_t *o, const char *key, const struct hp_buf *b);
void hp_render_set_str(json_t *o, const char *key, const char *s);
void hp_render_set_int(json_t *o, const char *key, long long v);
/* HP_EINVALID unless s is set (the inventory defaults provide key). */
int hp_render_need(const char *s, const char *key, struct hp_err *err);
/* HP_EINVALID unless s is made of [A-Za-z0-9._:-] only: names and
 * addresses written unquoted into URL lists and HAProxy lines. */
int hp_render_check_token(const char *s, const char *what, struct hp_err *err);
/* An address that passed hp_render_check_token: a colon means IPv6. */
bool hp_render_is_ipv6(const char *addr);
/* "addr:port", or "[addr]:port" for IPv6. Caller frees. */
char *hp_render_host_port(const char *addr, int port);
/* Release a buffer that may have held a password, zeroing it first. */
void hp_render_wipe_buf(struct hp_buf *b);
/* s as a YAML scalar, in a new JSON string; set as key of o. */
json_t *hp_render_yaml_json(const char *s);
void hp_render_set_yaml(json_t *o, const char *key, const char *s);
/* A scalar of the DCS JSON as YAML text (new JSON string). */
json_t *hp_render_yaml_of_json(const json_t *v);
/* Set key of o to s written for an EnvironmentFile; HP_EINVALID for a
 * control character (what names the value in the message). */
int hp_render_set_env(json_t *o, const char *key, const char *s,
		      const char *what, struct hp_err *err);
/* Set parameter key of params to v (stolen), HP_EINVALID naming where
 * when v is NULL (the name or value is not UTF-8). */
int hp_render_set_param(json_t *params, const char *key, json_t *v,
			const char *where, struct hp_err *err);
/*
 * config.yml's pg_hba lines for a host (ipv6: add the IPv6 loopback) onto
 * list, and its pg_ident lines onto ident (may be NULL), as YAML texts.
 * HP_EINVALID for a role name or network that cannot be written there.
 */
int hp_render_pg_hba(json_t *list, json_t *ident,
		     const struct hp_inventory *inv, bool ipv6,
		     struct hp_err *err);

#endif
