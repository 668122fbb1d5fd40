#ifndef HP_PG_PROBE_H
#define HP_PG_PROBE_H
/*
 * Does a PostgreSQL-protocol server answer at address:port? For `haprov
 * status`, which asks no service for credentials: PgBouncer has no REST
 * API, and the virtual IP's primary port is HAProxy in front of
 * PostgreSQL or PgBouncer. The probe sends the protocol's SSLRequest (8
 * bytes: length 8, code 80877103) and reads one byte: 'S' or 'N' is a
 * server of that protocol (PostgreSQL and PgBouncer both answer it before
 * any login). Nothing is logged in, nothing is sent after it, and the one
 * byte read is all that is read.
 */
#include "util.h"

enum hp_pg_probe {
	HP_PG_ANSWERS,	     /* 'S' or 'N': a server of the protocol */
	HP_PG_NO_CONNECTION, /* none made: refused, unreachable, no such
				name */
	HP_PG_NO_ANSWER,     /* connected, nothing came back in time */
	HP_PG_CLOSED,	     /* connected, closed without a byte (HAProxy with
				no server up does this) */
	HP_PG_UNEXPECTED,    /* a byte that is neither 'S' nor 'N' */
};

/* Probe address:port within timeout_ms (connect and answer together). */
enum hp_pg_probe hp_pg_probe(const char *address, int port, int timeout_ms);

/* "answers", "no connection", "no answer", "closed without an answer",
 * "unexpected answer" */
const char *hp_pg_probe_text(enum hp_pg_probe p);

#endif
