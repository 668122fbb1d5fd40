#ifndef HP_INV_ABC_H
#define HP_INV_ABC_H
/*
 * The unit tests' three-host inventory: a, b and c at 10.0.0.1-3, each with
 * the roles etcd, patroni and haproxy. tls: false: the tests that use it
 * are about Patroni's, etcd's and HAProxy's plaintext answers, not TLS
 * (test_render_tls.c, test_tls*.c). validation.timeout_s 1: a wait that
 * never ends fails within a second.
 */
static const char inv_abc[] =
	"cluster: {name: t}\n"
	"tls: false\n"
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
	"hosts:\n"
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy]}\n"
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n"
	"patroni:\n"
	"  allowed_networks: [10.0.0.0/24]\n"
	"validation: {timeout_s: 1}\n";

#endif
