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

/* curl reads through its own BIO, so SSL_get_fd() says -1: the socket is
 * the one curl made last for this handle (*arg, from sockopt_cb). */
static void msg_cb(int write_p, int version, int content_type, const void *buf,
		   size_t len, SSL *ssl, void *arg)
{
	const int *fdp = arg;

	(void)version;
	(void)buf;
	(void)len;
	(void)ssl;
	hp_rest_quickack_msg(write_p, content_type, fdp ? *fdp : -1);
}

static CURLcode ssl_ctx_cb(CURL *c, void *ctx, void *arg)
{
	(void)c;
	SSL_CTX_set_msg_callback(ctx, msg_cb);
	SSL_CTX_set_msg_callback_arg(ctx, arg);
	return CURLE_OK;
}

static int sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	int *fdp = arg;

	(void)purpose;
	*fdp = (int)fd;
	return CURL_SOCKOPT_OK;
}

size_t hp_rest_quickack_header_cb(char *buf, size_t size, size_t n, void *arg)
{
	const int *fdp = arg;

	(void)buf;
	/* the headers are here: the body waits for their ACK */
	if (fdp && *fdp >= 0)
		quickack_fn(*fdp);
	return size * n;
}

void hp_rest_quickack_setup(CURL *c, int *fdp)
{
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, fdp);
	curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
	curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, fdp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, hp_rest_quickack_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, fdp);
}
