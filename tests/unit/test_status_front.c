/*
 * haprov status in front of PostgreSQL (provisioner/status_front.c) and
 * the probe it asks with (provisioner/pg_probe.c): the probe against real
 * sockets on the loopback that answer 'S', 'N', something else, nothing
 * at all, or close at once, and a port nobody listens on; the status
 * document and its text for pgbouncer and vip hosts with the probe's
 * answers scripted, an inventory without either left as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "status.h"

/* ---- the probe, against the loopback ---------------------------------------
 */

struct server {
	int fd; /* listening on 127.0.0.1:port */
	int port;
	char answer; /* the byte sent back; '\0': close at once; '-': say
			nothing, wait for the client to go */
	unsigned char got[8]; /* what the client sent first */
	ssize_t nr_got;
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	if (s->answer) /* read the request first, then answer */
		s->nr_got = read(c, s->got, sizeof(s->got));
	if (s->answer == '-') {
		char sink[16];

		while (read(c, sink, sizeof(sink)) > 0)
			;
	} else if (s->answer && write(c, &s->answer, 1) != 1)
		s->nr_got = -1;
	close(c);
	return NULL;
}

/* A listener on a free loopback port; answer as in struct server. */
static void server_start(struct server *s, char answer)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->answer = answer;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 1), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static void test_probe_answers(void **state)
{
	static const unsigned char ssl_request[8] = {0,	   0,	 0,    8,
						     0x04, 0xd2, 0x16, 0x2f};
	static const struct {
		char answer;
		enum hp_pg_probe want;
	} cases[] = {
		{'N', HP_PG_ANSWERS},	 {'S', HP_PG_ANSWERS},
		{'E', HP_PG_UNEXPECTED}, {'\0', HP_PG_CLOSED},
		{'-', HP_PG_NO_ANSWER},
	};
	size_t i;

	(void)state;
	for (i = 0; i < HP_ARRAY_SIZE(cases); i++) {
		struct server s;
		enum hp_pg_probe p;

		server_start(&s, cases[i].answer);
		p = hp_pg_probe("127.0.0.1", s.port, 300);
		server_stop(&s);
		if (p != cases[i].want)
			fail_msg("answer '%c': %s, want %s", cases[i].answer,
				 hp_pg_probe_text(p),
				 hp_pg_probe_text(cases[i].want));
		/* what it sent is the SSLRequest, and only that */
		if (cases[i].answer) {
			assert_int_equal(s.nr_got, 8);
			assert_memory_equal(s.got, ssl_request, 8);
		}
	}
}

static void test_probe_refused(void **state)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	(void)state;
	/* a port that was free a moment ago, now closed: nobody listens */
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	assert_int_equal(hp_pg_probe("127.0.0.1", port, 500),
			 HP_PG_NO_CONNECTION);
	assert_int_equal(hp_pg_probe("no-such-host.invalid", 5432, 500),
			 HP_PG_NO_CONNECTION);
	assert_string_equal(hp_pg_probe_text(HP_PG_NO_CONNECTION),
			    "no connection");
}

/* ---- the status document ----------------------------------------------------
 */

#define FRONT_HOSTS                                                            \
	"cluster: {name: t}\n"                                                 \
	"ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"            \
	"hosts:\n"                                                             \
	"  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, haproxy, "    \
	"pgbouncer, vip]}\n"                                                   \
	"  - {name: b, address: 10.0.0.2, roles: [etcd, patroni, haproxy, "    \
	"pgbouncer, vip]}\n"                                                   \
	"  - {name: c, address: 10.0.0.3, roles: [etcd, patroni, haproxy]}\n"  \
	"patroni: {allowed_networks: [10.0.0.0/24]}\n"                         \
	"vip: {address: 10.0.0.100/24, interface: eth0, router_id: 51}\n"

/* The probe's calls, and its answer for each address. */
static char probed[256];
static enum hp_pg_probe answer_b = HP_PG_ANSWERS;
static enum hp_pg_probe answer_vip = HP_PG_ANSWERS;

static enum hp_pg_probe fake_probe(const char *address, int port,
				   int timeout_ms)
{
	size_t n = strlen(probed);

	snprintf(probed + n, sizeof(probed) - n, "%s:%d/%d;", address, port,
		 timeout_ms);
	if (!strcmp(address, "10.0.0.2"))
		return answer_b;
	if (!strcmp(address, "10.0.0.100"))
		return answer_vip;
	return HP_PG_ANSWERS;
}

static struct hp_inventory *load(const char *yaml)
{
	struct hp_inventory *inv = NULL;
	struct hp_diags diags;

	memset(&diags, 0, sizeof(diags));
	if (hp_inventory_load_string(&inv, yaml, strlen(yaml), "/tmp/t.yml",
				     &diags) != 0)
		fail_msg("inventory refused");
	hp_diags_release(&diags);
	return inv;
}

static char *front_text(const json_t *doc)
{
	struct hp_buf b = HP_BUF_INIT;

	hp_status_format_front(&b, doc);
	return hp_buf_detach(&b, NULL);
}

static void test_front_all_answer(void **state)
{
	struct hp_inventory *inv = load(FRONT_HOSTS);
	json_t *doc = json_object();
	bool healthy = true;
	char *text;

	(void)state;
	probed[0] = '\0';
	answer_b = answer_vip = HP_PG_ANSWERS;
	hp_status_set_probe(fake_probe);
	hp_status_front(doc, inv, &healthy);
	hp_status_set_probe(NULL);
	assert_true(healthy);
	/* the pgbouncer hosts on PgBouncer's port, the VIP (no prefix) on
	 * HAProxy's primary port; c has neither role */
	assert_string_equal(probed, "10.0.0.1:6432/2000;10.0.0.2:6432/2000;"
				    "10.0.0.100:5000/2000;");
	assert_int_equal(json_array_size(json_object_get(doc, "pgbouncer")), 2);
	assert_string_equal(
		json_string_value(json_object_get(
			json_array_get(json_object_get(doc, "pgbouncer"), 1),
			"name")),
		"b");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(doc, "vip"), "port")),
			 5000);
	text = front_text(doc);
	assert_string_equal(text,
			    "\npgbouncer\n"
			    "  a          10.0.0.1:6432          answers\n"
			    "  b          10.0.0.2:6432          answers\n"
			    "\nvip (the primary port, through HAProxy)\n"
			    "  10.0.0.100:5000        answers\n");
	free(text);
	json_decref(doc);
	hp_inventory_free(inv);
}

static void test_front_one_down(void **state)
{
	static const enum hp_pg_probe bad[] = {HP_PG_NO_CONNECTION,
					       HP_PG_NO_ANSWER, HP_PG_CLOSED,
					       HP_PG_UNEXPECTED};
	struct hp_inventory *inv = load(FRONT_HOSTS);
	size_t i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < HP_ARRAY_SIZE(bad); i++) {
			json_t *doc = json_object();
			bool healthy = true;
			char *text, *want;

			answer_b = k == 0 ? bad[i] : HP_PG_ANSWERS;
			answer_vip = k == 1 ? bad[i] : HP_PG_ANSWERS;
			probed[0] = '\0';
			hp_status_set_probe(fake_probe);
			hp_status_front(doc, inv, &healthy);
			hp_status_set_probe(NULL);
			assert_false(healthy);
			text = front_text(doc);
			want = xasprintf("%s %s\n",
					 k == 0 ? "10.0.0.2:6432         "
						: "10.0.0.100:5000       ",
					 hp_pg_probe_text(bad[i]));
			if (!strstr(text, want))
				fail_msg("no '%s' in:\n%s", want, text);
			free(want);
			free(text);
			json_decref(doc);
		}
	}
	answer_b = answer_vip = HP_PG_ANSWERS;
	hp_inventory_free(inv);
}

/* No pgbouncer or vip hosts: nothing asked, nothing added, nothing said. */
static void test_front_none(void **state)
{
	struct hp_inventory *inv =
		load("cluster: {name: t}\n"
		     "ssh: {identity_file: /dev/null, known_hosts: /dev/null}\n"
		     "hosts:\n"
		     "  - {name: a, address: 10.0.0.1, roles: [etcd, patroni, "
		     "haproxy]}\n"
		     "patroni: {allowed_networks: [10.0.0.0/24]}\n");
	json_t *doc = json_object();
	bool healthy = true;
	char *text;

	(void)state;
	probed[0] = '\0';
	hp_status_set_probe(fake_probe);
	hp_status_front(doc, inv, &healthy);
	hp_status_set_probe(NULL);
	assert_true(healthy);
	assert_string_equal(probed, "");
	assert_int_equal(json_object_size(doc), 0);
	text = front_text(doc);
	assert_string_equal(text, "");
	free(text);
	json_decref(doc);
	hp_inventory_free(inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_answers),
		cmocka_unit_test(test_probe_refused),
		cmocka_unit_test(test_front_all_answer),
		cmocka_unit_test(test_front_one_down),
		cmocka_unit_test(test_front_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
