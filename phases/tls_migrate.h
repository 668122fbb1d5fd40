#ifndef HP_TLS_MIGRATE_H
#define HP_TLS_MIGRATE_H
/*
 * Moving a plaintext cluster (built by an older haprov, or with
 * `tls: false`) to TLS while it runs (issue 9).
 *
 * The danger it guards against: with tls on, the etcd phase probes its
 * members over https, finds nothing on a plaintext cluster, takes it for
 * a new one and rewrites every member at once with https peer URLs while
 * the member list still says http: etcd breaks. So before any phase, a
 * run with tls on asks each etcd member of the inventory GET /health over
 * plain http; an answer means the cluster still has plaintext listeners
 * and the normal phases must not run (hp_tlsm_gate).
 */
#include <stdbool.h>

#include "engine.h"
#include "rest.h"
#include "util.h"

/* "<scheme>://address:port/path" (an IPv6 address in brackets), whatever
 * hp_url's process-wide scheme is. The caller frees it. */
char *hp_tlsm_url(const char *scheme, const struct hp_host *host, int port,
		  const char *path);

/*
 * Whether an etcd member of the inventory answers GET /health over plain
 * http on its client port: a JSON object with a "health" member, healthy
 * or not (an https-only etcd answers a plain request with HTTP 400 and
 * text, which is not plaintext; nothing listening is not either). *who
 * (may be NULL) gets the first such member's name (borrowed from the
 * inventory). Never fails: an unreachable member is simply not plaintext.
 */
bool hp_tlsm_plain_etcd(struct hp_run *run, struct hp_rest *rest,
			const char **who);

/*
 * The safety gate, before any phase changes anything: with tls off, or
 * when no etcd member answers plain http, returns 0 and *plain = false.
 * With tls on and a plaintext member, *plain = true and, when the caller
 * cannot migrate (migrate false), returns HP_EVERIFY with a message that
 * names the member and says what to do; with migrate true returns 0.
 */
int hp_tlsm_gate(struct hp_run *run, bool migrate, bool *plain,
		 struct hp_err *err);

#endif
