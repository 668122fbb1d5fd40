/* The run's TLS material; see tls_material.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret_store.h"
#include "tls.h"
#include "tls_material.h"
#include "tls_rotation.h"

/* What one certificate decision needs. */
struct tls_ctx {
	struct hp_tls_material *m;
	const struct hp_inventory *inv;
	const json_t *pins;
	time_t now;
};

bool hp_tls_material_name(const char *name)
{
	return !strncmp(name, "tls-", 4);
}

static void change_add(struct hp_tls_material *m, const char *host,
		       const char *base, char *detail)
{
	struct hp_tls_change *c;

	HP_ALLOC_GROW(m->changes, m->nr_changes + 1, m->alloc_changes);
	c = &m->changes[m->nr_changes++];
	hp_strlcpy(c->host, host ? host : "", sizeof(c->host));
	c->step = xasprintf("certificate %s", base);
	c->detail = detail;
}

/* Take val over as item name. */
static void item_add(struct hp_tls_material *m, const char *name, char *val,
		     bool fresh)
{
	struct hp_tls_item *it;

	HP_ALLOC_GROW(m->items, m->nr_items + 1, m->alloc_items);
	it = &m->items[m->nr_items++];
	it->name = xstrdup(name);
	it->val = val;
	it->fresh = fresh;
	hp_secret_hash(val, it->sha256);
}

const struct hp_tls_item *hp_tls_material_item(const struct hp_tls_material *m,
					       const char *name)
{
	size_t i;

	for (i = 0; i < m->nr_items; i++)
		if (!strcmp(m->items[i].name, name))
			return &m->items[i];
	return NULL;
}

/* One value: the pinned version when pins name it, else the current one. */
static int read_one(const struct tls_ctx *c, const char *name, char **out,
		    bool *pinned, struct hp_err *err)
{
	const char *sha = json_string_value(json_object_get(c->pins, name));

	*pinned = sha != NULL;
	if (sha)
		return hp_secret_read_version(out, c->inv->secrets.store, name,
					      sha, err);
	return hp_secret_read(out, c->inv->secrets.store, name, err);
}

/* The store's pair base-cert/base-key. 0: both; HP_ENOTFOUND: not both
 * (p empty, *partial says whether one was there); else an error. */
static int read_pair(const struct tls_ctx *c, const char *base,
		     struct hp_tls_pair *p, bool *pinned, bool *partial,
		     struct hp_err *err)
{
	char *cn = xasprintf("%s-cert", base), *kn = xasprintf("%s-key", base);
	bool pc = false, pk = false;
	int r1, r2 = HP_ENOTFOUND;

	memset(p, 0, sizeof(*p));
	r1 = read_one(c, cn, &p->cert, &pc, err);
	if (r1 == 0 || r1 == HP_ENOTFOUND)
		r2 = read_one(c, kn, &p->key, &pk, err);
	free(cn);
	free(kn);
	*pinned = pc && pk;
	*partial = (r1 == 0) != (r2 == 0);
	if ((r1 < 0 && r1 != HP_ENOTFOUND) || (r2 < 0 && r2 != HP_ENOTFOUND)) {
		hp_tls_pair_release(p);
		return r1 < 0 && r1 != HP_ENOTFOUND ? r1 : r2;
	}
	if (r1 < 0 || r2 < 0) {
		hp_tls_pair_release(p);
		hp_err_clear(err);
		return HP_ENOTFOUND;
	}
	return 0;
}

/* Record pair p (taken over) as base-cert/base-key. */
static void keep_pair(struct hp_tls_material *m, const char *base,
		      struct hp_tls_pair *p, bool fresh)
{
	char *cn = xasprintf("%s-cert", base), *kn = xasprintf("%s-key", base);

	item_add(m, cn, p->cert, fresh);
	item_add(m, kn, p->key, fresh);
	p->cert = p->key = NULL;
	free(cn);
	free(kn);
}

/* Both files of a supplied pair, in store form. */
static int read_supplied(struct hp_tls_pair *p, const char *cert_path,
			 const char *key_path, const char *what,
			 struct hp_err *err)
{
	char *w1 = xasprintf("%s certificate '%s'", what, cert_path);
	char *w2 = xasprintf("%s key '%s'", what, key_path);
	int r;

	memset(p, 0, sizeof(*p));
	r = hp_tls_read_pem_file(&p->cert, cert_path, "CERTIFICATE", w1, err);
	if (r == 0)
		r = hp_tls_read_pem_file(&p->key, key_path, "PRIVATE KEY", w2,
					 err);
	free(w1);
	free(w2);
	if (r < 0)
		hp_tls_pair_release(p);
	return r;
}

/* A supplied pair: key matches, dates valid, issued by ca (when not NULL),
 * SANs hold address (when not NULL). The reason names the file. */
static int check_supplied(const struct hp_tls_pair *p, const char *path,
			  const char *ca_cert, const char *address, time_t now,
			  struct hp_err *err)
{
	int r = hp_tls_check_pair(p->cert, p->key, err);

	if (r == 0)
		r = hp_tls_check_dates(p->cert, now, err);
	if (r == 0 && ca_cert)
		r = hp_tls_check_issued(p->cert, ca_cert, err);
	if (r == 0 && address)
		r = hp_tls_check_san(p->cert, NULL, address, err);
	if (r < 0)
		hp_err_prefix(err, "'%s' refused", path);
	return r;
}

int hp_tls_material_check_supplied(const struct hp_inventory *inv, time_t now,
				   struct hp_err *err)
{
	const struct hp_secrets_tls *t = &inv->secrets.tls;
	struct hp_tls_pair ca = {0}, p;
	size_t i;
	int r = 0;

	if (!inv->tls.enabled)
		return 0;
	if (t->ca_cert && t->ca_key &&
	    (r = read_supplied(&ca, t->ca_cert, t->ca_key, "secrets.tls.ca",
			       err)) == 0)
		r = check_supplied(&ca, t->ca_cert, NULL, NULL, now, err);
	for (i = 0; r == 0 && i < inv->nr_hosts; i++) {
		const struct hp_host *h = &inv->hosts[i];
		char *what;

		if (!h->tls_cert || !h->tls_key)
			continue;
		what = xasprintf("hosts %s tls", h->name);
		r = read_supplied(&p, h->tls_cert, h->tls_key, what, err);
		free(what);
		if (r == 0)
			r = check_supplied(&p, h->tls_cert, ca.cert, h->address,
					   now, err);
		hp_tls_pair_release(&p);
		if (r < 0)
			hp_err_prefix(err, "host %s", h->name);
	}
	hp_tls_pair_release(&ca);
	return r;
}

/* Whether the store already holds p as its current base pair. */
static bool store_has(const struct tls_ctx *c, const char *base,
		      const struct hp_tls_pair *p)
{
	struct tls_ctx cur = *c;
	struct hp_tls_pair s;
	struct hp_err e;
	bool pinned, partial, same;

	cur.pins = NULL;
	if (read_pair(&cur, base, &s, &pinned, &partial, &e) < 0)
		return false;
	same = !strcmp(s.cert, p->cert) && !strcmp(s.key, p->key);
	hp_tls_pair_release(&s);
	return same;
}

static int ca_supplied(const struct tls_ctx *c, struct hp_tls_pair *ca,
		       struct hp_err *err)
{
	const struct hp_secrets_tls *t = &c->inv->secrets.tls;
	int r = read_supplied(ca, t->ca_cert, t->ca_key, "secrets.tls.ca", err);

	if (r == 0 &&
	    (r = check_supplied(ca, t->ca_cert, NULL, NULL, c->now, err)) < 0)
		hp_tls_pair_release(ca);
	return r;
}

/* The store's CA can still sign: its key matches, it has not expired. */
static int ca_usable(const struct tls_ctx *c, const struct hp_tls_pair *p,
		     struct hp_err *err)
{
	int r = hp_tls_check_pair(p->cert, p->key, err);

	if (r == 0)
		r = hp_tls_check_dates(p->cert, c->now, err);
	if (r < 0)
		hp_err_prefix(err,
			      "the cluster CA in the secret store '%s' "
			      "(tls-ca-cert) cannot be used; rotate it "
			      "(haprov rotate --ca)",
			      c->inv->secrets.store);
	return r;
}

/* The CA: supplied, pinned, the store's, or new. ca gets a copy. */
static int ca_get(const struct tls_ctx *c, struct hp_tls_pair *ca,
		  struct hp_err *err)
{
	const struct hp_inventory *inv = c->inv;
	struct hp_tls_pair p;
	bool pinned = false, partial = false, fresh = false;
	int r;

	if (inv->secrets.tls.ca_cert &&
	    !json_object_get(c->pins, "tls-ca-cert")) {
		if ((r = ca_supplied(c, &p, err)) < 0)
			return r;
		fresh = !store_has(c, "tls-ca", &p);
		if (fresh)
			change_add(c->m, NULL, "tls-ca",
				   xasprintf("the supplied CA '%s': written "
					     "to the store",
					     inv->secrets.tls.ca_cert));
	} else if ((r = read_pair(c, "tls-ca", &p, &pinned, &partial, err)) ==
		   HP_ENOTFOUND) {
		char *cn = xasprintf("haprov %s CA", inv->cluster);

		if (partial)
			return hp_err_set(err, HP_EINVALID,
					  "the secret store '%s' holds only "
					  "one of tls-ca-cert and tls-ca-key: "
					  "restore the other, or remove both "
					  "to generate a new CA",
					  inv->secrets.store);
		r = hp_tls_ca_new(&p, cn, inv->secrets.tls.ca_validity_days,
				  c->now, err);
		free(cn);
		if (r < 0)
			return r;
		fresh = true;
		change_add(c->m, NULL, "tls-ca",
			   xstrdup("cluster CA: generated"));
	} else if (r < 0) {
		return r;
	} else if (!pinned && (r = ca_usable(c, &p, err)) < 0) {
		hp_tls_pair_release(&p);
		return r;
	}
	ca->cert = xstrdup(p.cert);
	ca->key = xstrdup(p.key);
	keep_pair(c->m, "tls-ca", &p, fresh);
	return 0;
}

/* Why a stored certificate must be made again, or NULL: it is fine. */
static char *why_reissue(const struct tls_ctx *c, const struct hp_tls_pair *p,
			 const struct hp_tls_pair *ca, const char *who,
			 const struct hp_host *h)
{
	int renew = c->inv->secrets.tls.renew_days, days;
	struct hp_tls_info info;
	struct hp_err e;
	char date[32];

	if (hp_tls_check_pair(p->cert, p->key, &e) < 0)
		return xasprintf("%s: %s: reissued", who, e.msg);
	if (hp_tls_check_issued(p->cert, ca->cert, &e) < 0)
		return xasprintf("%s: certificate not issued by the current "
				 "CA: reissued",
				 who);
	if (h && hp_tls_check_san(p->cert, h->name, h->address, &e) < 0)
		return xasprintf("%s: %s: reissued", who, e.msg);
	days = hp_tls_days_left(p->cert, c->now);
	if (days >= renew)
		return NULL;
	if (hp_tls_cert_info(&info, p->cert, &e) < 0)
		return xasprintf("%s: %s: reissued", who, e.msg);
	hp_tls_date(date, sizeof(date), info.not_after);
	return xasprintf("%s: certificate %s %s (%d days, renew_days %d): "
			 "renewed",
			 who, days < 0 ? "expired" : "expires", date, days,
			 renew);
}

static bool is_ip(const char *a)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, a, buf) == 1 ||
	       inet_pton(AF_INET6, a, buf) == 1;
}

/* A new certificate for host h (NULL: haprov's client certificate). */
static int issue(const struct tls_ctx *c, const struct hp_tls_pair *ca,
		 const struct hp_host *h, struct hp_tls_pair *out,
		 struct hp_err *err)
{
	const char *dns[3], *ips[2];
	struct hp_tls_subject s = {h ? h->name : "haprov", dns, 0, ips, 0};

	if (h) {
		dns[s.nr_dns++] = h->name;
		dns[s.nr_dns++] = "localhost";
		if (is_ip(h->address))
			ips[s.nr_ips++] = h->address;
		else
			dns[s.nr_dns++] = h->address;
		if (strcmp(h->address, "127.0.0.1") != 0)
			ips[s.nr_ips++] = "127.0.0.1";
	}
	return hp_tls_issue(out, ca, &s, h ? HP_TLS_HOST : HP_TLS_CLIENT,
			    c->inv->secrets.tls.validity_days, c->now, err);
}

/* A host's supplied pair, checked against the CA and its address. */
static int host_supplied(const struct tls_ctx *c, const struct hp_host *h,
			 const struct hp_tls_pair *ca, struct hp_tls_pair *p,
			 struct hp_err *err)
{
	char *what = xasprintf("hosts %s tls", h->name);
	int r = read_supplied(p, h->tls_cert, h->tls_key, what, err);

	free(what);
	if (r == 0 && (r = check_supplied(p, h->tls_cert, ca->cert, h->address,
					  c->now, err)) < 0)
		hp_tls_pair_release(p);
	if (r < 0)
		hp_err_prefix(err, "host %s", h->name);
	return r;
}

/* The certificate of host h (NULL: the client's) under base. */
static int leaf_get(const struct tls_ctx *c, const struct hp_tls_pair *ca,
		    const struct hp_host *h, const char *base,
		    struct hp_err *err)
{
	const char *who = h ? h->name : "haprov client";
	struct hp_tls_pair p;
	bool pinned, partial, fresh = false;
	char *why = NULL;
	int r;

	char *pin_name = xasprintf("%s-cert", base);
	bool pin = json_object_get(c->pins, pin_name) != NULL;

	free(pin_name);
	if (h && h->tls_cert && !pin) {
		if ((r = host_supplied(c, h, ca, &p, err)) < 0)
			return r;
		if ((fresh = !store_has(c, base, &p)))
			why = xasprintf("%s: the supplied certificate '%s': "
					"written to the store",
					who, h->tls_cert);
	} else {
		r = read_pair(c, base, &p, &pinned, &partial, err);
		if (r < 0 && r != HP_ENOTFOUND)
			return r;
		if (r == HP_ENOTFOUND)
			why = xasprintf("%s: certificate issued", who);
		else if (!pinned)
			why = why_reissue(c, &p, ca, who, h);
		/* stage 3: a new serial, or Patroni's REST API keeps the
		 * context that trusts the old CA (architecture.md,
		 * "Rotating the CA") */
		if (r == 0 && !why && !pinned && h &&
		    c->m->ca_stage == HP_CA_DROP)
			why = xasprintf("%s: CA rotation stage 3: reissued so "
					"that Patroni's REST API loads the "
					"bundle without the old CA",
					who);
		if (why) {
			hp_tls_pair_release(&p);
			if ((r = issue(c, ca, h, &p, err)) < 0) {
				free(why);
				return r;
			}
			fresh = true;
		}
	}
	if (why)
		change_add(c->m, h ? h->name : NULL, base, why);
	keep_pair(c->m, base, &p, fresh);
	return 0;
}

/* PEM text of a store-form value, as a string of its own. */
static int pem(char **out, const char *b64, const char *kind,
	       struct hp_err *err)
{
	struct hp_buf b = HP_BUF_INIT;
	int r = hp_tls_pem(&b, b64, kind, err);

	if (r < 0) {
		explicit_bzero(b.buf, b.len);
		hp_buf_release(&b);
		return r;
	}
	*out = hp_buf_detach(&b, NULL);
	return 0;
}

static int pem_item(const struct hp_tls_material *m, const char *name,
		    const char *kind, char **out, struct hp_err *err)
{
	const struct hp_tls_item *it = hp_tls_material_item(m, name);

	if (!it)
		return hp_err_set(err, HP_ERROR, "no %s", name);
	return pem(out, it->val, kind, err);
}

/* The trust bundle of the rotation's stage (tls_rotation.h): the current
 * CA, and during a CA rotation the new one too, or the new one only. */
static int ca_bundle(struct hp_tls_material *m, struct hp_err *err)
{
	const struct hp_tls_item *next =
		hp_tls_material_item(m, HP_CA_NEXT_CERT);
	struct hp_buf b = HP_BUF_INIT;
	char *cur = NULL, *nxt = NULL;
	int r;

	if ((r = pem_item(m, "tls-ca-cert", "CERTIFICATE", &cur, err)) == 0 &&
	    next)
		r = pem(&nxt, next->val, "CERTIFICATE", err);
	if (r == 0) {
		hp_ca_bundle(&b, (enum hp_ca_stage)m->ca_stage, cur, nxt);
		m->ca_pem = hp_buf_detach(&b, NULL);
	}
	free(cur);
	free(nxt);
	hp_buf_release(&b);
	return r;
}

/* During a CA rotation: the new CA (kept as items, so rollback points pin
 * it) and the stage from the store. *signer gets the CA that issues the
 * certificates in this stage (the new one from stage 2 on). */
static int ca_next(const struct tls_ctx *c, struct hp_tls_pair *ca,
		   struct hp_tls_pair *signer, struct hp_err *err)
{
	struct hp_tls_pair p;
	bool pinned, partial;
	char *marker = NULL;
	enum hp_ca_stage s;
	int r = read_pair(c, HP_CA_NEXT, &p, &pinned, &partial, err);

	if (r == HP_ENOTFOUND)
		return 0;
	if (r < 0)
		return r;
	if (hp_secret_read(&marker, c->inv->secrets.store, HP_CA_NEXT_STAGE,
			   err) < 0)
		hp_err_clear(err);
	s = hp_ca_stage_decide(
		true, p.cert && ca->cert && !strcmp(p.cert, ca->cert), marker);
	free(marker);
	c->m->ca_stage = (int)s;
	change_add(c->m, NULL, HP_CA_NEXT, xstrdup(hp_ca_stage_next(s)));
	if (hp_ca_issue_with_new(s)) {
		signer->cert = xstrdup(p.cert);
		signer->key = xstrdup(p.key);
	}
	c->m->client_with_new = hp_ca_client_with_new(s);
	keep_pair(c->m, HP_CA_NEXT, &p, false);
	return 0;
}

/* The render and REST views, from the items. */
static int make_views(struct hp_tls_material *m, const struct hp_inventory *inv,
		      struct hp_err *err)
{
	size_t i;
	int r;

	if ((r = ca_bundle(m, err)) ||
	    (r = pem_item(m, "tls-client-cert", "CERTIFICATE",
			  &m->client_cert_pem, err)) ||
	    (r = pem_item(m, "tls-client-key", "PRIVATE KEY",
			  &m->client_key_pem, err)))
		return r;
	for (i = 0; i < inv->nr_hosts; i++) {
		char *cn, *kn;

		if (!inv->hosts[i].roles)
			continue;
		cn = xasprintf("tls-host-%s-cert", inv->hosts[i].name);
		kn = xasprintf("tls-host-%s-key", inv->hosts[i].name);
		r = pem_item(m, cn, "CERTIFICATE", &m->host_cert_pem[i], err);
		if (r == 0)
			r = pem_item(m, kn, "PRIVATE KEY", &m->host_key_pem[i],
				     err);
		free(cn);
		free(kn);
		if (r < 0)
			return r;
	}
	m->render.ca = m->ca_pem;
	m->render.host_cert = (const char *const *)m->host_cert_pem;
	m->render.host_key = (const char *const *)m->host_key_pem;
	m->rest.ca_pem = m->ca_pem;
	m->rest.cert_pem = m->client_cert_pem;
	m->rest.key_pem = m->client_key_pem;
	m->rest.insecure = inv->tls.insecure_skip_verify;
	return 0;
}

/* Whether the store has a current value for name (not a version). */
static int has_current(const char *store, const char *name, bool *yes,
		       struct hp_err *err)
{
	char *v = NULL;
	int r = hp_secret_read(&v, store, name, err);

	hp_secret_free(v);
	*yes = r == 0;
	return r == HP_ENOTFOUND ? 0 : r;
}

/*
 * Keep every fresh item as a version. A renewal (the store has a current
 * value) stays a version until the run verified (hp_tls_material_promote):
 * a failed run leaves the certificate the cluster used current. A first
 * value (a new CA, a new host's certificate) is made current at once, as
 * a generated password is: a run that fails after the hosts got it must
 * find the same one next time, not issue another CA that the running
 * services do not trust.
 */
static int stage(const struct hp_tls_material *m, const char *store,
		 struct hp_err *err)
{
	size_t i;
	bool cur = true;
	int r = 0;

	for (i = 0; i < m->nr_items && r == 0; i++) {
		const struct hp_tls_item *it = &m->items[i];

		if (!it->fresh)
			continue;
		if ((r = hp_secret_store_create(store, err)) == 0 &&
		    (r = has_current(store, it->name, &cur, err)) == 0)
			r = hp_secret_keep_version(store, it->name, it->val,
						   NULL, err);
		if (r == 0 && !cur)
			r = hp_secret_promote(store, it->name, it->sha256, err);
	}
	return r;
}

int hp_tls_material_make(struct hp_tls_material *m,
			 const struct hp_inventory *inv, const json_t *pins,
			 bool plan, time_t now, struct hp_err *err)
{
	struct tls_ctx c = {m, inv, pins, now};
	struct hp_tls_pair ca = {0}, signer = {0};
	size_t i;
	int r;

	memset(m, 0, sizeof(*m));
	m->nr_hosts = inv->nr_hosts;
	m->host_cert_pem = xcalloc(inv->nr_hosts + 1, sizeof(char *));
	m->host_key_pem = xcalloc(inv->nr_hosts + 1, sizeof(char *));
	r = ca_get(&c, &ca, err);
	if (r == 0)
		r = ca_next(&c, &ca, &signer, err);
	for (i = 0; r == 0 && i < inv->nr_hosts; i++) {
		char *base;

		if (!inv->hosts[i].roles)
			continue;
		base = xasprintf("tls-host-%s", inv->hosts[i].name);
		r = leaf_get(&c, signer.cert ? &signer : &ca, &inv->hosts[i],
			     base, err);
		free(base);
	}
	if (r == 0)
		r = leaf_get(&c, m->client_with_new ? &signer : &ca, NULL,
			     "tls-client", err);
	hp_tls_pair_release(&ca);
	hp_tls_pair_release(&signer);
	if (r == 0)
		r = make_views(m, inv, err);
	if (r == 0 && !plan)
		r = stage(m, inv->secrets.store, err);
	return r;
}

void hp_tls_material_pins(const struct hp_tls_material *m, json_t *pins)
{
	size_t i;

	for (i = 0; i < m->nr_items; i++)
		json_object_set_new(pins, m->items[i].name,
				    json_string(m->items[i].sha256));
}

int hp_tls_material_promote(const struct hp_tls_material *m, const char *store,
			    bool only_fresh, struct hp_err *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < m->nr_items && r == 0; i++)
		if (m->items[i].fresh || !only_fresh)
			r = hp_secret_promote(store, m->items[i].name,
					      m->items[i].sha256, err);
	return r;
}

static void wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void hp_tls_material_release(struct hp_tls_material *m)
{
	size_t i;

	for (i = 0; i < m->nr_items; i++) {
		free(m->items[i].name);
		hp_secret_free(m->items[i].val);
	}
	for (i = 0; i < m->nr_changes; i++) {
		free(m->changes[i].step);
		free(m->changes[i].detail);
	}
	for (i = 0; m->host_cert_pem && i < m->nr_hosts; i++) {
		free(m->host_cert_pem[i]);
		wipe_free(m->host_key_pem[i]);
	}
	free(m->items);
	free(m->changes);
	free(m->host_cert_pem);
	free(m->host_key_pem);
	free(m->ca_pem);
	free(m->client_cert_pem);
	wipe_free(m->client_key_pem);
	memset(m, 0, sizeof(*m));
}
