#ifndef HP_STATUS_H
#define HP_STATUS_H
/*
 * What `haprov status` shows, split from the command so that it can be
 * tested: the document built from the services' REST answers, and its
 * text form.
 *
 * Everything in the document that came from the network (member names,
 * hosts, roles, states, HAProxy server names and statuses, error text) is
 * printable ASCII, capped in length, and of the type shown below, so
 * neither the terminal nor a --json reader can be steered by a hostile
 * answer:
 *
 *   { "cluster": str, "healthy": bool,
 *     "phases":  [{name, summary}] (the phase table, phases.h),
 *     "etcd":    [{name, address, health, leader: bool}],
 *     "patroni": [{name, host, role, state, timeline: int|null,
 *                  lag: int|null, pending_restart: bool,
 *                  in_inventory: bool}],
 *     "patroni_error": str (only when no member answered),
 *     "haproxy": [{name, servers: [{backend, server, status}]} or
 *                 {name, error: str}],
 *     "pgbouncer": [{name, address, port: int, state}] (only with
 *                 pgbouncer hosts),
 *     "vip":     {address, port: int, state} (only with vip hosts) }
 *
 * A pgbouncer's or the virtual IP's state is hp_pg_probe_text's
 * (pg_probe.h): "answers" when a PostgreSQL-protocol server answered;
 * anything else makes the cluster unhealthy.
 */
#include <jansson.h>
#include <stdbool.h>

#include "inventory.h"
#include "pg_probe.h"
#include "rest.h"
#include "util.h"

/* Longest remote string kept in the document (more is cut and marked). */
#define HP_STATUS_TEXT_MAX 64
/* Most Patroni members listed; the rest are counted. */
#define HP_STATUS_MEMBERS_MAX 128

/*
 * Ask every service of inv through rest. stats_password: the HAProxy
 * stats page's password (user haprov), or NULL with stats_why saying why
 * it is not there (the page is then reported unavailable). *healthy is
 * set false when anything is not as it should be or cannot be known.
 * Returns a new reference.
 */
json_t *hp_status_collect(const struct hp_inventory *inv, struct hp_rest *rest,
			  const char *stats_password, const char *stats_why,
			  bool *healthy);

/* Append the text form of doc to out; every string passes the sanitizer
 * again, so a document from elsewhere is safe too. */
void hp_status_format(struct hp_buf *out, const json_t *doc);

/* Field k of o as printable text (at most 320 bytes of it), "-" when it
 * is neither a string nor an integer. */
void hp_status_add_text(struct hp_buf *out, const json_t *o, const char *k);
/* " " and field k of o, padded to width. */
void hp_status_add_field(struct hp_buf *out, const json_t *o, const char *k,
			 int width);

/* ---- PgBouncer and the virtual IP (status_front.c) ---------------------- */

/* Add "pgbouncer" and "vip" to doc for inv's hosts of those roles (none:
 * nothing added), each probed with hp_pg_probe; *healthy false when one
 * does not answer. */
void hp_status_front(json_t *doc, const struct hp_inventory *inv,
		     bool *healthy);
/* Their text form, when doc has them. */
void hp_status_format_front(struct hp_buf *out, const json_t *doc);
/* For tests: the probe hp_status_front uses (NULL: hp_pg_probe). */
void hp_status_set_probe(enum hp_pg_probe (*probe)(const char *address,
						   int port, int timeout_ms));

/* ---- status --watch (status_watch.c) ------------------------------------ */

/* cur's lines onto out, those not among prev's lines (prev NULL: none)
 * marked: reverse video with color, else "* " (and "  " for the others). */
void hp_status_mark(struct hp_buf *out, const char *prev, const char *cur,
		    bool color);
/* --watch's argument: 1..3600 seconds, or HP_EINVALID saying so. */
int hp_status_watch_seconds(const char *arg, struct hp_err *err);
/* The screen every `seconds` until SIGINT or SIGTERM; an enum hp_exit. */
int hp_status_watch(const struct hp_inventory *inv, struct hp_rest *rest,
		    const char *stats_password, const char *stats_why,
		    int seconds);

#endif
