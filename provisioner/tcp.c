/*
 * A TCP connection with a deadline: see tcp.h.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp.h"

int hp_fd_wait(int fd, short events, int64_t deadline_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline_ms - hp_now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/*
 * Connect to one address, non-blocking, so that the connect timeout is
 * ours to set. Returns the socket, or -1 with the errno in *why (and
 * *expired when the deadline passed: the other addresses would find it
 * passed too).
 */
static int connect_addr(const struct addrinfo *ai, int64_t deadline, int *why,
			bool *expired)
{
	socklen_t len = sizeof(int);
	int fd, soerr = 0, r = 0;

	/* a loopback connect can succeed before poll would see the time */
	if (deadline - hp_now_ms() <= 0) {
		*why = ETIMEDOUT;
		*expired = true;
		return -1;
	}
	fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	if (fd < 0) {
		*why = errno;
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		*why = errno;
		close(fd);
		return -1;
	}
	r = hp_fd_wait(fd, POLLOUT, deadline);
	if (r <= 0) {
		*why = r == 0 ? ETIMEDOUT : errno;
		*expired = r == 0;
		close(fd);
		return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr) {
		*why = soerr;
		close(fd);
		return -1;
	}
	return fd;
}

int hp_tcp_connect(const char *address, int port, int64_t deadline_ms,
		   const char *who, struct hp_err *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16], eb[128], at[300];
	int gai, fd = -1, why = 0;
	bool expired = false;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	/* getaddrinfo, unlike gethostbyname, is thread-safe */
	gai = getaddrinfo(address, portstr, &hints, &res);
	if (gai != 0)
		return hp_err_set(
			err, HP_ECONNECT, "cannot resolve '%s': %s", address,
			gai == EAI_SYSTEM ? hp_strerror(errno, eb, sizeof(eb))
					  : gai_strerror(gai));
	/* the deadline is for all addresses */
	for (ai = res; ai && fd < 0 && !expired; ai = ai->ai_next)
		fd = connect_addr(ai, deadline_ms, &why, &expired);
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	if (!who) {
		snprintf(at, sizeof(at),
			 strchr(address, ':') ? "[%s]:%d" : "%s:%d", address,
			 port);
		who = at;
	}
	return hp_err_set(err, why == ETIMEDOUT ? HP_ETIMEOUT : HP_ECONNECT,
			  "cannot connect to %s: %s", who,
			  hp_strerror(why ? why : EHOSTUNREACH, eb,
				      sizeof(eb)));
}
