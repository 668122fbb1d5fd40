#ifndef HP_TCP_H
#define HP_TCP_H
/*
 * A TCP connection with a deadline of ours rather than the kernel's two
 * minutes of SYN retries: the SSH transport's (ssh.c) and the vip
 * phase's check that HAProxy answers on the virtual address (vip.c).
 */
#include <stdint.h>

#include "util.h"

/*
 * Connect to address (a host name or an IP address) at port, trying each
 * address getaddrinfo gives in turn until one answers, all of them before
 * deadline_ms (hp_now_ms() time; one already past fails at once). Returns
 * the socket, connected, non-blocking and close-on-exec (the caller closes
 * it), or HP_ECONNECT (cannot resolve, refused, unreachable, ...) or
 * HP_ETIMEOUT with err naming who (the SSH transport's "user@address:
 * port"; NULL: address:port) and why.
 */
int hp_tcp_connect(const char *address, int port, int64_t deadline_ms,
		   const char *who, struct hp_err *err);

/* Wait until fd is ready for events (poll's POLLIN, POLLOUT) or
 * deadline_ms (hp_now_ms() time) passes, through EINTR: poll's result,
 * > 0 ready, 0 the deadline passed, < 0 an error (errno says which). */
int hp_fd_wait(int fd, short events, int64_t deadline_ms);

#endif
