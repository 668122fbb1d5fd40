#ifndef HP_STAGED_FIXTURE_H
#define HP_STAGED_FIXTURE_H
/*
 * What test_staged.c and test_staged_rest.c share: the inventory (three
 * patroni hosts a, b, c; superuser dba; one-second deadlines), the exact
 * psql command and SQL haprov must send, psql's answers, and helpers.
 * Include after cmocka.h. Everything is static: each test binary uses
 * some of it.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"

/* tls: false: these tests are about Patroni's plaintext REST answers and
 * the order of restarts, not TLS (test_render_tls.c, test_tls*.c). */
static const char inv_yaml[] =
	"cluster: {name: t}\n"
	"tls: false\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"secrets: {superuser: dba}\n"
	"validation: {timeout_s: 1, soak_s: 0}\n"
	"patroni: {dcs: {loop_wait: 1}}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n";

/* The psql command every SQL call must use: no SQL, no parameter name. */
static const char psql_cmd[] =
	"cd / && 'runuser' '-u' 'postgres' '--' "
	"'/usr/lib/postgresql/15/bin/psql' '-X' '-q' '-A' '-t' "
	"'-v' 'ON_ERROR_STOP=1' '-p' '5432' '-U' 'dba' '-d' 'postgres'";

/* What the leader's PostgreSQL answers: running values of the hot-standby
 * settings (max_connections from the test). */
static inline char *psql_answer(const char *restart, long long max_connections)
{
	return xasprintf("%s%sS|max_connections|%lld\n"
			 "S|max_prepared_transactions|0\n"
			 "S|max_locks_per_transaction|64\n"
			 "S|max_wal_senders|10\nS|max_worker_processes|8\n",
			 restart ? restart : "", restart ? "\n" : "",
			 max_connections);
}

/* Every byte printable ASCII: what the sanitizer lets through. */
static inline void assert_printable(const char *s)
{
	for (; *s; s++)
		assert_true((unsigned char)*s >= 0x20 &&
			    (unsigned char)*s < 0x7f);
}

static const char hs_sql[] =
	"SELECT 'S', name, setting FROM pg_settings WHERE name IN "
	"('max_connections', 'max_prepared_transactions', "
	"'max_locks_per_transaction', 'max_wal_senders', "
	"'max_worker_processes');\n";

static inline json_t *J(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	return j;
}

#define M(n, r, s) "{\"name\": " n ", \"role\": " r ", \"state\": " s "}"
#define OK3(extra)                                                             \
	"{\"members\": [" M("\"a\"", "\"leader\"", "\"running\"") ", " M(      \
		"\"b\"", "\"replica\"",                                        \
		"\"streaming\"") ", " M("\"c\"", "\"sync_standby\"",           \
					"\"running\"") "]" extra "}"

#endif
