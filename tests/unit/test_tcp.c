/*
 * A TCP connection with a deadline (tcp.h), on loopback: a listening port
 * answers with a socket as the SSH transport wants it, a port nobody
 * listens on is refused and the message names it, and a deadline already
 * past fails before any connect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp.h"

/* A TCP socket bound to 127.0.0.1 on a port of the kernel's choosing,
 * listening or not; its port in *port. */
static int loopback_socket(bool listening, int *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_connects(void **state)
{
	struct hp_err err;
	int port, lfd = loopback_socket(true, &port), fd;

	(void)state;
	hp_err_clear(&err);
	fd = hp_tcp_connect("127.0.0.1", port, hp_now_ms() + 5000, NULL, &err);
	assert_true(fd >= 0);
	assert_int_equal(err.code, 0);
	/* what ssh.c hands to libssh2 and every child must not inherit */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	close(lfd);
}

/* bound, not listening: the kernel answers with a reset */
static void test_refused(void **state)
{
	struct hp_err err;
	char want[64];
	int port, lfd = loopback_socket(false, &port);

	(void)state;
	hp_err_clear(&err);
	assert_int_equal(
		hp_tcp_connect("127.0.0.1", port, hp_now_ms() + 5000, NULL, &err),
		HP_ECONNECT);
	assert_int_equal(err.code, HP_ECONNECT);
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%d: ",
		 port);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "refused"));
	/* the SSH transport names its user too */
	hp_err_clear(&err);
	assert_int_equal(hp_tcp_connect("127.0.0.1", port, hp_now_ms() + 5000,
					"root@127.0.0.1:22", &err),
			 HP_ECONNECT);
	assert_non_null(
		strstr(err.msg, "cannot connect to root@127.0.0.1:22: "));
	close(lfd);
}

/* even where a loopback connect would succeed at once */
static void test_deadline_past(void **state)
{
	struct hp_err err;
	char want[64];
	int port, lfd = loopback_socket(true, &port);

	(void)state;
	hp_err_clear(&err);
	assert_int_equal(
		hp_tcp_connect("127.0.0.1", port, hp_now_ms() - 1, NULL, &err),
		HP_ETIMEOUT);
	assert_int_equal(err.code, HP_ETIMEOUT);
	snprintf(want, sizeof(want), "cannot connect to 127.0.0.1:%d: ",
		 port);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "timed out"));
	close(lfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connects),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_deadline_past),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
