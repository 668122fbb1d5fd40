#ifndef HP_TLS_MATERIAL_H
#define HP_TLS_MATERIAL_H
/*
 * A run's TLS material: the cluster CA, each host's certificate and
 * haprov's client certificate, decided when the run's secrets load
 * (bootstrap.c) and handed to the renderer (struct hp_render_tls) and to
 * every REST client (struct hp_rest_tls).
 *
 * Sources, in this order:
 *   CA      secrets.tls.ca_cert/ca_key (supplied: key matches, dates
 *           valid), else the store's tls-ca-cert/tls-ca-key, else a new CA
 *           "haprov <cluster> CA" (ca_validity_days).
 *   host    hosts[].tls_cert/tls_key (supplied: key matches, dates valid,
 *           issued by the CA, SANs hold the address), else the store's
 *           tls-host-<name>-cert/-key, (re)issued when missing, not issued
 *           by the CA, not naming the host and its address, or expiring
 *           within renew_days. Only hosts with a role get one.
 *   client  the store's tls-client-cert/-key (CN haprov, clientAuth),
 *           (re)issued on the same rules.
 * A rollback (pins not NULL) takes every name the point pins as that
 * version, unchecked: the point's certificates come back as they were.
 *
 * Store. Material that is new to the store (issued, or supplied and not
 * the current value) is "fresh": in apply it is kept as a version, not
 * current (hp_secret_keep_version), and made current by
 * hp_tls_material_promote once the run verified; plan writes nothing and
 * reports each fresh certificate as a change. A supplied CA is written to
 * the store too, so rollback points pin it.
 */
#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "inventory.h"
#include "render.h"
#include "rest.h"

/* One store value: name ("tls-host-pg1-key"), store form, its hash. */
struct hp_tls_item {
	char *name;
	char *val; /* wiped on release */
	char sha256[65];
	bool fresh; /* not the store's current value (staged / would be) */
};

/* What plan reports and apply records: host "" for the CA and client. */
struct hp_tls_change {
	char host[64];
	char *step;   /* "certificate tls-host-pg2" */
	char *detail; /* "pg2: certificate expires ... : renewed" */
};

struct hp_tls_material {
	/* FIRST member: run->rest_tls points here (bootstrap.c finds the
	 * material from it) */
	struct hp_rest_tls rest;
	struct hp_render_tls render;
	struct hp_tls_item *items;
	size_t nr_items, alloc_items;
	struct hp_tls_change *changes;
	size_t nr_changes, alloc_changes;
	char *ca_pem, *client_cert_pem, *client_key_pem;
	char **host_cert_pem, **host_key_pem; /* by host index; NULL: none */
	size_t nr_hosts;
	/* enum hp_ca_stage (tls_rotation.h): HP_CA_NONE outside a CA
	 * rotation; ca_pem is then the stage's trust bundle */
	int ca_stage;
	bool client_with_new; /* the client certificate from the new CA */
};

/*
 * Decide the material for inv at time now (see above). pins: a rollback
 * point's pin set, or NULL. plan: write nothing. Otherwise fresh values
 * are kept as versions in the store (created if missing). A supplied file
 * that fails a check is HP_EINVALID naming the file and why, before
 * anything is written. m is zeroed first; release it also after an error.
 */
int hp_tls_material_make(struct hp_tls_material *m,
			 const struct hp_inventory *inv, const json_t *pins,
			 bool plan, time_t now, struct hp_err *err);

/*
 * Offline, for `validate`: every supplied file (secrets.tls.ca_cert/ca_key,
 * hosts[].tls_cert/tls_key) read and checked as plan checks it: the key
 * matches, valid at now (dates shown otherwise), a host's certificate
 * names its address and is issued by the supplied CA when there is one.
 * Touches no store. HP_EINVALID/HP_ENOTFOUND naming the file and why.
 */
int hp_tls_material_check_supplied(const struct hp_inventory *inv,
				   time_t now, struct hp_err *err);

/* The item named name, or NULL. */
const struct hp_tls_item *hp_tls_material_item(const struct hp_tls_material *m,
					       const char *name);

/* Add {name: sha256} of every item to pins (a JSON object). */
void hp_tls_material_pins(const struct hp_tls_material *m, json_t *pins);

/* Make the items current in store (hp_secret_promote): only the fresh
 * ones (after an apply verified), or all (after a rollback verified). */
int hp_tls_material_promote(const struct hp_tls_material *m, const char *store,
			    bool only_fresh, struct hp_err *err);

/* Whether name is one of the TLS material's store names ("tls-..."). */
bool hp_tls_material_name(const char *name);

/* Wipe the keys, free everything; m is zeroed (safe twice). */
void hp_tls_material_release(struct hp_tls_material *m);

#endif
