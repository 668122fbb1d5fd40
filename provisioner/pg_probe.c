/*
 * Does a PostgreSQL-protocol server answer: see pg_probe.h.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pg_probe.h"
#include "tcp.h"

/* SSLRequest: Int32 length 8, Int32 code 1234 << 16 | 5679 */
static const unsigned char ssl_request[8] = {0,	   0,	 0,    8,
					     0x04, 0xd2, 0x16, 0x2f};

enum hp_pg_probe hp_pg_probe(const char *address, int port, int timeout_ms)
{
	int64_t deadline = hp_now_ms() + timeout_ms;
	enum hp_pg_probe p = HP_PG_NO_ANSWER;
	unsigned char c;
	struct hp_err err;
	ssize_t n;
	int fd;

	fd = hp_tcp_connect(address, port, deadline, NULL, &err);
	if (fd < 0)
		return fd == HP_ETIMEOUT ? HP_PG_NO_ANSWER
					 : HP_PG_NO_CONNECTION;
	/* 8 bytes into a new socket's empty buffer: one write does it */
	if (hp_fd_wait(fd, POLLOUT, deadline) <= 0)
		goto out;
	n = send(fd, ssl_request, sizeof(ssl_request), MSG_NOSIGNAL);
	if (n != (ssize_t)sizeof(ssl_request)) {
		p = HP_PG_CLOSED;
		goto out;
	}
	for (;;) {
		if (hp_fd_wait(fd, POLLIN, deadline) <= 0)
			goto out;
		n = read(fd, &c, 1);
		if (n == 1) {
			p = c == 'S' || c == 'N' ? HP_PG_ANSWERS
						 : HP_PG_UNEXPECTED;
			break;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			p = HP_PG_CLOSED;
			break;
		}
	}
out:
	close(fd);
	return p;
}

const char *hp_pg_probe_text(enum hp_pg_probe p)
{
	switch (p) {
	case HP_PG_ANSWERS:
		return "answers";
	case HP_PG_NO_CONNECTION:
		return "no connection";
	case HP_PG_NO_ANSWER:
		return "no answer";
	case HP_PG_CLOSED:
		return "closed without an answer";
	case HP_PG_UNEXPECTED:
		return "unexpected answer";
	}
	return "unknown";
}
