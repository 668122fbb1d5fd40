/*
 * Prompt ACKs for HTTPS answers: see rest_quickack.h for why.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "rest_quickack.h"

static void quickack_sys(int fd)
{
	int one = 1;

	/* a failure (not TCP) only costs the delay it would have saved */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static void (*quickack_fn)(int fd) = quickack_sys;

void hp_rest_quickack_set_fn(void (*fn)(int fd))
{
	quickack_fn = fn ? fn : quickack_sys;
}

void hp_rest_quickack_msg(int write_p, int content_type, int fd)
{
	/* a handshake message from the server (the session tickets come
	 * after the handshake, and the answer waits for their ACK) */
	if (!write_p && content_type == SSL3_RT_HANDSHAKE && fd >= 0)
		quickack_fn(fd);
}

static void msg_cb(int write_p, int version, int content_type, const void *buf,
		   size_t len, SSL *ssl, void *arg)
{
	(void)version;
	(void)buf;
	(void)len;
	(void)arg;
	hp_rest_quickack_msg(write_p, content_type, SSL_get_fd(ssl));
}

static CURLcode ssl_ctx_cb(CURL *c, void *ctx, void *arg)
{
	(void)c;
	(void)arg;
	SSL_CTX_set_msg_callback(ctx, msg_cb);
	return CURLE_OK;
}

size_t hp_rest_quickack_header_cb(char *buf, size_t size, size_t n, void *curl)
{
	curl_socket_t fd;

	(void)buf;
	/* the headers are here: the body waits for their ACK */
	if (curl &&
	    curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
	    fd != CURL_SOCKET_BAD)
		quickack_fn((int)fd);
	return size * n;
}

void hp_rest_quickack_setup(CURL *c)
{
	curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hp_rest_quickack_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, c);
}
