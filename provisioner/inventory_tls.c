/*
 * The tls and secrets.tls checks, across keys:
 *
 *   - a supplied CA is its certificate and its key (both or neither), and
 *     so is a host's supplied certificate;
 *   - a certificate is renewed before it expires: renew_days below
 *     validity_days; and a generated CA outlives what it signs;
 *   - with tls on, no patroni.pg_hba line may let a client in over the
 *     network without TLS (host, hostnossl, hostnogssenc): haprov's own
 *     lines are hostssl then, and a plain line appended after them would
 *     quietly undo that;
 *   - with tls off, the TLS keys are warnings, not errors: they take no
 *     effect, but an operator turning TLS off for a while (a migration
 *     back, a test) keeps the CA settings for when it is turned on again;
 *     the warning says they are ignored, so nobody believes TLS is on;
 *   - insecure_skip_verify is a warning whenever it is true (plan flags
 *     it again): haprov's clients then trust any server.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "inventory_priv.h"

/* cert and key (paths of two keys): both or neither. */
static void check_pair(struct hp_inv_loader *ld, const char *cert,
		       const char *key, const char *what)
{
	bool c = hp_inv_was_set(ld, cert), k = hp_inv_was_set(ld, key);

	if (c == k || hp_inv_is_bad(ld, cert) || hp_inv_is_bad(ld, key))
		return;
	hp_inv_diag_path(ld, c ? cert : key, false, false,
		  "%s needs both its certificate and its key: set %s too, or "
		  "neither",
		  what, c ? key : cert);
}

static void check_days(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct hp_secrets_tls *t = &inv->secrets.tls;
	static const char *const keys[] = {"secrets.tls.renew_days",
					   "secrets.tls.validity_days",
					   "secrets.tls.ca_validity_days"};
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(keys); i++)
		if (hp_inv_is_bad(ld, keys[i]))
			return;
	if (t->renew_days >= t->validity_days)
		hp_inv_diag_path(ld,
			  hp_inv_was_set(ld, keys[0]) ? keys[0] : keys[1],
			  true, false,
			  "renew_days (%d) must be below validity_days (%d): "
			  "else every certificate is due for renewal as soon "
			  "as it is issued",
			  t->renew_days, t->validity_days);
	if (!t->ca_cert && t->validity_days > t->ca_validity_days)
		hp_inv_diag_path(ld,
			  hp_inv_was_set(ld, keys[2]) ? keys[2] : keys[1],
			  true, false,
			  "validity_days (%d) must not exceed ca_validity_days "
			  "(%d): a certificate cannot outlive the CA that "
			  "signed it",
			  t->validity_days, t->ca_validity_days);
}

/* tls on: no pg_hba line that accepts a client without TLS. */
static void check_hba(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	const struct hp_strlist *l = &inv->patroni.pg_hba;
	size_t i;

	for (i = 0; i < l->nr; i++) {
		char *p = xasprintf("patroni.pg_hba[%zu]", i);

		if (!hp_inv_is_bad(ld, p) && hp_inv_hba_plaintext(l->items[i]))
			hp_inv_diag_path(ld, p, true, false,
				  "this line lets clients in over the network "
				  "without TLS: use hostssl, or set tls: "
				  "false");
		free(p);
	}
}

/* tls off: the keys that configure it are set for nothing. */
static void warn_unused(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	static const char *const keys[] = {
		"secrets.tls.ca_cert",	     "secrets.tls.ca_key",
		"secrets.tls.renew_days",    "secrets.tls.validity_days",
		"secrets.tls.ca_validity_days", "tls.insecure_skip_verify"};
	size_t i;

	for (i = 0; i < HP_ARRAY_SIZE(keys); i++)
		if (hp_inv_was_set(ld, keys[i]))
			hp_inv_diag_path(ld, keys[i], false, true,
				  "ignored: tls is off (tls: false)");
	for (i = 0; i < inv->nr_hosts; i++) {
		char *c = xasprintf("hosts[%zu].tls_cert", i);
		char *k = xasprintf("hosts[%zu].tls_key", i);

		if (hp_inv_was_set(ld, c))
			hp_inv_diag_path(ld, c, false, true,
				  "ignored: tls is off (tls: false)");
		if (hp_inv_was_set(ld, k))
			hp_inv_diag_path(ld, k, false, true,
				  "ignored: tls is off (tls: false)");
		free(c);
		free(k);
	}
}

void hp_inv_check_tls(struct hp_inventory *inv, struct hp_inv_loader *ld)
{
	size_t i;

	check_pair(ld, "secrets.tls.ca_cert", "secrets.tls.ca_key",
		   "a supplied CA");
	for (i = 0; i < inv->nr_hosts; i++) {
		char *c = xasprintf("hosts[%zu].tls_cert", i);
		char *k = xasprintf("hosts[%zu].tls_key", i);

		check_pair(ld, c, k, "a supplied host certificate");
		free(c);
		free(k);
	}
	check_days(inv, ld);
	if (hp_inv_is_bad(ld, "tls"))
		return;
	if (!inv->tls.enabled) {
		warn_unused(inv, ld);
		return;
	}
	check_hba(inv, ld);
	if (inv->tls.insecure_skip_verify)
		hp_inv_diag_path(ld, "tls.insecure_skip_verify", true, true,
			  "haprov's own clients will not verify the cluster's "
			  "certificates: for a migration only, then remove "
			  "it");
}
