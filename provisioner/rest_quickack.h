#ifndef HP_REST_QUICKACK_H
#define HP_REST_QUICKACK_H
/*
 * Prompt ACKs for HTTPS answers (docs/field-notes.md, "TLS").
 *
 * Patroni's REST API (Python's http.server) writes an answer in several
 * small pieces with Nagle's algorithm on: after TLS 1.3's session tickets,
 * the answer waits until the client has acknowledged them, and its body
 * waits for the acknowledgment of its headers. The client, which has just
 * sent (its Finished message, its request), is in Linux's "interactive"
 * mode and delays those acknowledgments by up to 40 ms. Measured on the
 * lab: every HTTPS request to Patroni took 44 ms, against 4 ms for the TLS
 * handshake itself; a no-op apply makes about 50 of them.
 *
 * So whenever a piece of the answer arrives (a TLS handshake message such
 * as a session ticket, seen through OpenSSL's message callback; the
 * headers, through curl's header callback), haprov asks the kernel for an
 * immediate acknowledgment (TCP_QUICKACK), and the server sends the rest at
 * once. Nothing else changes: no data, no option the server sees.
 */
#include <curl/curl.h>

/*
 * Install the callbacks on c (after curl_easy_reset). *fdp keeps the
 * socket curl made last for c (curl reads through its own BIO, so OpenSSL
 * cannot say): it must live as long as c; -1 before the first. With
 * connections to several servers kept alive, a reused one may be
 * acknowledged under another's descriptor: that only costs the delay.
 */
void hp_rest_quickack_setup(CURL *c, int *fdp);

/* The test seam: what is called with the socket to acknowledge now
 * (NULL restores setsockopt(TCP_QUICKACK)). */
void hp_rest_quickack_set_fn(void (*fn)(int fd));

/* The callbacks, for the unit tests. */
size_t hp_rest_quickack_header_cb(char *buf, size_t size, size_t n, void *curl);
void hp_rest_quickack_msg(int write_p, int content_type, int fd);

#endif
