#ifndef HP_TLS_ROTATION_H
#define HP_TLS_ROTATION_H
/*
 * The cluster CA's rotation (haprov rotate INV --ca), as the secret store
 * records it, and the decisions every run makes from that record: which
 * CAs the hosts' trust bundles hold, which CA issues the certificates, and
 * what comes next (docs/architecture.md, "Rotating the CA").
 *
 * Store names. The rotation keeps the new CA under its own names while it
 * runs, so that tls-ca-cert/tls-ca-key stay the CA every other run
 * checks against until the very end:
 *   tls-ca-next-cert, tls-ca-next-key   the new CA (versions like any)
 *   tls-ca-next-stage                   "1", "2" or "3": the stage the
 *                                       hosts are to be rendered for
 * Stage 1: bundle old+new; certificates from the old CA.
 * Stage 2: bundle old+new; host certificates from the new CA.
 * Stage 3: haprov's client certificate from the new CA; bundle new only; then
 * the new CA becomes tls-ca-cert/-key and the next names are removed (their
 * versions stay). No tls-ca-next-cert: no rotation; one equal to tls-ca-cert:
 * the last stage was promoted but not cleaned up (HP_CA_CLEANUP).
 */
#include <stdbool.h>

#include "util.h"

#define HP_CA_NEXT	 "tls-ca-next"
#define HP_CA_NEXT_CERT	 "tls-ca-next-cert"
#define HP_CA_NEXT_KEY	 "tls-ca-next-key"
#define HP_CA_NEXT_STAGE "tls-ca-next-stage"

enum hp_ca_stage {
	HP_CA_NONE = 0,	   /* no rotation: the bundle is the current CA */
	HP_CA_BOTH = 1,	   /* stage 1: bundle old+new, old certificates */
	HP_CA_REISSUE = 2, /* stage 2: bundle old+new, new certificates */
	HP_CA_DROP = 3,	   /* stage 3: bundle new only */
	HP_CA_CLEANUP = 4, /* new CA already current: remove the next names */
};

/*
 * The stage from the store: has_next (tls-ca-next-cert and -key both
 * present), next_is_current (tls-ca-next-cert equals tls-ca-cert), marker
 * (tls-ca-next-stage, NULL when missing). A next CA with no or a garbled
 * marker is stage 1 (its first stage is always safe to redo); a marker
 * without a next CA is no rotation.
 */
enum hp_ca_stage hp_ca_stage_decide(bool has_next, bool next_is_current,
				    const char *marker);

/* The marker text of a stage ("1".."3"), NULL for the others. */
const char *hp_ca_stage_marker(enum hp_ca_stage s);

/* Whether, in stage s, the bundle holds the old CA / the new CA. */
bool hp_ca_bundle_has_old(enum hp_ca_stage s);
bool hp_ca_bundle_has_new(enum hp_ca_stage s);
/* Whether, in stage s, host certificates are issued by the new CA (from
 * stage 2), and haprov's client certificate (from stage 3: Patroni's REST
 * API trusts the new CA only once stage 2's new certificate made it load
 * its context again, and with verify_client optional a client
 * certificate it cannot verify fails the handshake). */
bool hp_ca_issue_with_new(enum hp_ca_stage s);
bool hp_ca_client_with_new(enum hp_ca_stage s);

/*
 * The trust bundle of stage s into out (appended): the PEM texts of the
 * old CA (cur) and of the new one (next, may be NULL outside a rotation),
 * old first, each ending in a newline.
 */
void hp_ca_bundle(struct hp_buf *out, enum hp_ca_stage s, const char *cur,
		  const char *next);

/* One line for plan and rotate: what comes next in stage s. */
const char *hp_ca_stage_next(enum hp_ca_stage s);

#endif
