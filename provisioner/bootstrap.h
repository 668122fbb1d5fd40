#ifndef HP_BOOTSTRAP_H
#define HP_BOOTSTRAP_H
/*
 * A run's secrets, and the one rule for when haprov may generate one.
 *
 * A password generated for a cluster that already uses another one is
 * pushed to the hosts and breaks replication and haprov's own access, and
 * no rollback brings the old one back. So a secret missing from the store
 * is generated only when nothing can depend on it yet:
 *
 *   superuser, replication, rewind, restapi (Patroni's; the hosts keep them
 *   in /etc/patroni_env.conf): only for a cluster that does not exist yet:
 *   the state repository has no commit, no Patroni REST API of the
 *   inventory answers GET /cluster, and no patroni host has
 *   /etc/patroni_env.conf.
 *
 *   haproxy_stats (the HAProxy stats page's password, user "haprov"): when
 *   no haproxy host has haprov's /etc/haproxy/haprov_env.conf (the
 *   file that holds it) yet, even on an existing cluster: a cluster applied before
 *   this secret existed gets one, and nothing but the file haprov writes
 *   depends on it.
 *
 *   vip_auth (keepalived's VRRP password, 8 characters: VRRP's limit):
 *   only for an inventory with vip hosts, and when none of them has
 *   haprov's /etc/keepalived/haprov_auth.conf (the file that holds it):
 *   keepalived instances with different passwords ignore each other, and
 *   both would hold the address.
 *
 *   pgbouncer_auth (the password of PgBouncer's lookup role,
 *   pgbouncer.auth_user): only for an inventory with pgbouncer hosts, and
 *   when none of them has haprov's /etc/pgbouncer/haprov_userlist.txt.
 *
 * A host that was not checked (left out with --host) counts as holding
 * the secret. Otherwise the run stops before it changes anything, with an
 * error that names the store and the secret and says how to restore it.
 * `plan` never writes: a secret that apply would generate is reported as
 * a change ("would be generated") and rendered as "<secret:NAME>".
 *
 * TLS (inventory tls on): the same load also decides the run's TLS
 * material (tls_material.h): the CA and certificates are issued when
 * missing or due, staged in the store, and made current by
 * hp_run_secrets_promote_staged once the apply verified; plan makes them in
 * memory only and reports each one as a change. run->rest_tls and
 * s->rs.tls are set from it.
 */
#include <stdbool.h>

#include <jansson.h>

#include "engine.h"
#include "render.h"
#include "tls_material.h"

enum hp_secret_id {
	HP_SECRET_SUPERUSER,
	HP_SECRET_REPLICATION,
	HP_SECRET_REWIND,
	HP_SECRET_RESTAPI,
	HP_SECRET_HAPROXY_STATS,
	HP_SECRET_VIP,
	HP_SECRET_PGBOUNCER,
	HP_SECRET_NR
};

/* The store's name of a secret ("superuser", ..., "haproxy_stats"). */
const char *hp_secret_name(enum hp_secret_id id);

/* The run's secrets: values (NULL when not loaded, or only a placeholder
 * in plan mode), the sha256 of each loaded value (its version in the
 * store, secret_store.h; "" when not loaded) and the render view of them
 * (borrowed from val, or the static "<secret:NAME>"). */
struct hp_run_secrets {
	char *val[HP_SECRET_NR];
	char sha256[HP_SECRET_NR][65];
	struct hp_render_secrets rs;
	json_t *pins; /* a rollback's: the point's whole pin set, also the
			 application roles' ("role-<name>") */
	/* with the inventory's tls on: the CA and certificates
	 * (tls_material.h); rs.tls and run->rest_tls point into it */
	struct hp_tls_material tls;
	/* run->rest_tls before this set pointed it at tls (restored on
	 * release: a rollback's pinned set lives shorter than the run) */
	struct hp_rest_tls **rest_slot, *rest_prev;
};

/* What the run found out about whether a missing secret is in use; a
 * host name, or "" for none. */
struct hp_secret_evidence {
	bool state_commits;	    /* the state repository has a commit */
	char patroni_answers[64];   /* a host whose Patroni answered, or */
	bool patroni_timeout;	    /* ... did not answer in time */
	char env_file[64];	    /* a host with /etc/patroni_env.conf */
	char stats_cred[64];	    /* a host whose haproxy.cfg has it */
	char unchecked_patroni[64]; /* a patroni host not checked */
	char unchecked_haproxy[64]; /* a haproxy host not checked */
	char vip_cred[64];	    /* a vip host with haprov_auth.conf */
	char unchecked_vip[64];	    /* a vip host not checked */
	char pgb_cred[64];	    /* a pgbouncer host with its userlist */
	char unchecked_pgb[64];	    /* a pgbouncer host not checked */
};

/* Whether the inventory uses secret id at all (vip_auth: only with vip
 * hosts, pgbouncer_auth with pgbouncer hosts); one it does not use is
 * neither loaded nor generated. */
bool hp_secret_used(enum hp_secret_id id, const struct hp_inventory *inv);

/*
 * Whether secret id may be generated given ev (the rule above); when not,
 * why ("the state repository has rollback points") goes to why (may be
 * NULL).
 */
bool hp_secret_may_generate(enum hp_secret_id id,
			    const struct hp_secret_evidence *ev,
			    struct hp_buf *why);

/*
 * Load every secret of the run from the inventory's store. When some are
 * missing, gather the evidence (state_commits from the caller; GET
 * /cluster through the run's REST seam; one command on each connected
 * host) and apply the rule: generate them (apply, rollback), or report
 * them as a plan change with placeholders (plan), or fail naming the store
 * and the secrets and saying how to restore them. The hosts must be
 * connected. Release s with hp_run_secrets_release, also after an error.
 */
int hp_run_secrets_load(struct hp_run_secrets *s, struct hp_run *run,
			bool state_commits, struct hp_err *err);

/* ---- pinning: which versions a rollback point used ---------------------
 *
 * A rollback point records "secrets.json" in the state repository:
 * {"superuser": "<sha256>", ...}, hashes only, never values. A rollback to
 * the point renders the files that hold secrets with those versions, and
 * makes them current again once the rollback verified.
 */
#define HP_SECRET_PINS_PATH "secrets.json"

/* {name: sha256} of the loaded secrets (hashes only). New reference. */
json_t *hp_run_secrets_pins(const struct hp_run_secrets *s);

/*
 * Load the run's secrets from a pin set instead of the current versions:
 * each pinned version is read with hp_secret_read_version (checked against
 * its hash). A secret the pin set does not name (a point made before that
 * secret existed) gets the current value, with a warning. A missing or
 * corrupt version is an error naming the store, the secret and the hash;
 * nothing is written, and s is left empty. Release s with
 * hp_run_secrets_release.
 */
int hp_run_secrets_load_pinned(struct hp_run_secrets *s, struct hp_run *run,
			       const json_t *pins, struct hp_err *err);

/* Make every loaded version of s current again (hp_secret_promote), after
 * a rollback to them verified; the TLS material's too. */
int hp_run_secrets_promote_pins(const struct hp_run_secrets *s,
				const struct hp_run *run, struct hp_err *err);

/*
 * For a rollback to point: when it has secrets.json, load its pinned
 * versions into *pinned and point run->secrets at them (returns 1); when
 * it has none (a point made before versions were recorded), warn that the
 * current secrets are used and return 0, changing nothing. < 0: error
 * (nothing changed). The caller restores run->secrets and releases pinned.
 */
int hp_run_secrets_use_point(struct hp_run_secrets *pinned,
			     struct hp_run *run, const char *point,
			     struct hp_err *err);

/*
 * The commit's record (hp_phase_commit): stage secrets.json with the
 * hashes of the run's secrets (run->secrets) in run->state. Nothing in
 * plan mode, without a state repository, or without secrets.
 */
int hp_run_secrets_commit_pins(struct hp_run *run, struct hp_err *err);

/*
 * After an apply verified: make the TLS material this run issued or took
 * from the inventory (staged as versions when the secrets loaded) current
 * in the store, so the next run reuses it. Nothing in plan mode. Called by
 * apply once every phase passed; until then the store's current
 * certificates stay the old ones.
 */
int hp_run_secrets_promote_staged(const struct hp_run_secrets *s,
				  const struct hp_run *run,
				  struct hp_err *err);

/* Wipe and free the values (the TLS keys too); run->rest_tls is put back
 * to what it was before s set it. */
void hp_run_secrets_release(struct hp_run_secrets *s);


/*
 * Secret `name` as this run wants it: during a rollback whose point pins
 * it (run->secret_pins), that version (hp_secret_read_version: a missing
 * or corrupt one is an error naming it); otherwise the store's current
 * value. HP_ENOTFOUND when neither exists. Free *out with hp_secret_free.
 */
int hp_run_secret_read(const struct hp_run *run, const char *name,
		       char **out, struct hp_err *err);
#endif
