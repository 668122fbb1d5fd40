#ifndef HP_REST_H
#define HP_REST_H
/*
 * HTTP + JSON client for the services' REST APIs (etcd, Patroni, HAProxy
 * stats), on libcurl and jansson.
 *
 * Threads: a struct hp_rest owns one curl easy handle and belongs to one
 * thread (docs/style.md: curl easy handles belong to one thread each); give
 * each host worker its own. curl_global_init(CURL_GLOBAL_DEFAULT) must
 * have been called once, in main, before any thread starts (unit tests
 * call it themselves).
 *
 * Traffic stays where the URL says: proxies are disabled (CURLOPT_NOPROXY
 * "*", so http_proxy in the environment is ignored), redirects are not
 * followed, only http and https are allowed.
 *
 * Credentials: set user/password on the struct for the calls that need
 * them (Patroni's unsafe endpoints, a protected HAProxy stats page) and
 * set them back to NULL after. They go to curl through CURLOPT_USERNAME/
 * CURLOPT_PASSWORD (HTTP basic auth), never into a URL, a log line or an
 * error message. A URL that carries "user@" in its authority is refused.
 */
#include <stdbool.h>

#include <curl/curl.h>
#include <jansson.h>

#include "util.h"

/* Largest response body accepted; more is HP_ETOOBIG. */
#define HP_REST_MAX_BODY ((size_t)1 << 20)

/* One HTTP answer. */
struct hp_rest_resp {
	long status;	    /* HTTP status; 0 until an answer came */
	struct hp_buf body; /* raw body, NUL-terminated, max HP_REST_MAX_BODY */
	json_t *json;	    /* parsed body (any JSON value), NULL if the body
			       is empty or not JSON; owned by the resp */
};
void hp_rest_resp_init(struct hp_rest_resp *r);
/* Free body and json; r is initialised again (safe to call twice). */
void hp_rest_resp_release(struct hp_rest_resp *r);

struct hp_rest;

/*
 * The REST seam, as transport.h's ops table is for SSH: when a client has
 * ops, every request goes to ops->call instead of the network, so unit
 * tests can feed hostile or broken answers (tests/unit/fake_rest.h).
 * call sets resp->status and appends the body with hp_buf_add (so the
 * HP_REST_MAX_BODY cap applies: return HP_ETOOBIG when it is hit); the
 * client parses the JSON as it does for a real answer. It returns 0 when
 * an answer came, else an HP_E* code with err set, like hp_rest_call.
 * r is the client (its user and password say whether basic auth would be
 * sent).
 */
struct hp_rest_ops {
	int (*call)(void *ctx, const struct hp_rest *r, const char *method,
		    const char *url, const json_t *body,
		    struct hp_rest_resp *resp, struct hp_err *err);
};

/*
 * TLS for https URLs (issue: every server certificate is verified against
 * the cluster CA). PEM text, borrowed; handed to curl as in-memory blobs
 * (CURLOPT_CAINFO_BLOB, CURLOPT_SSLCERT_BLOB, CURLOPT_SSLKEY_BLOB), so no
 * key ever touches the disk. With ca_pem set, the system's CA store is not
 * used. An https URL without ca_pem (and without insecure) is refused
 * (HP_EINVALID): haprov never trusts a server it cannot verify.
 * insecure (the inventory's tls.insecure_skip_verify) turns verification
 * off, peer and host name both.
 */
struct hp_rest_tls {
	const char *ca_pem;   /* trusted CAs (one or more PEM blocks) */
	const char *cert_pem; /* client certificate, or NULL */
	const char *key_pem;  /* its key, or NULL; never logged */
	bool insecure;
};

struct hp_rest {
	CURL *curl;
	const struct hp_rest_tls *tls; /* borrowed; NULL: http only */
	const struct hp_rest_ops *ops; /* NULL: the network (curl) */
	void *ops_ctx;
	const char *user;     /* basic auth, or NULL; borrowed */
	const char *password; /* borrowed; never logged */
	int timeout_ms;	      /* whole-request deadline of hp_rest_call */
	int quickack_fd;      /* the socket curl made last (rest_quickack.h) */
	char errbuf[CURL_ERROR_SIZE];
};

/* Create the easy handle. timeout_ms > 0. Release with hp_rest_release. */
int hp_rest_init(struct hp_rest *r, int timeout_ms, struct hp_err *err);
/* Send every request of r to ops (unit tests); NULL restores curl. */
void hp_rest_set_ops(struct hp_rest *r, const struct hp_rest_ops *ops,
		     void *ctx);
/* Free the handle; safe on a zeroed or already released struct. */
void hp_rest_release(struct hp_rest *r);

/*
 * One request. method: "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"
 * or "HEAD". body (may be NULL) is sent compact with Content-Type
 * application/json. resp must be initialised; its previous content is
 * released first.
 *
 * Returns 0 when an HTTP answer came, whatever its status (the caller
 * judges resp->status). Otherwise, with curl's message in err:
 * HP_ETIMEOUT (no complete answer within r->timeout_ms), HP_ECONNECT
 * (refused, reset, closed without an answer, DNS), HP_ETOOBIG (body over
 * HP_REST_MAX_BODY), HP_EINVALID (bad method or URL).
 */
int hp_rest_call(struct hp_rest *r, const char *method, const char *url,
		 const json_t *body, struct hp_rest_resp *resp,
		 struct hp_err *err);

/*
 * Judge one answer: return true when it is the awaited one. Otherwise may
 * write a short reason into why ("member pg2 is starting"); why is reset
 * before each call and capped at 512 bytes.
 */
typedef bool (*hp_rest_check_fn)(const struct hp_rest_resp *resp, void *arg,
				 struct hp_buf *why);

/*
 * Poll: send the request, pass each answer to check, until check returns
 * true (returns 0) or deadline_ms has passed (returns HP_ETIMEOUT), waiting
 * interval_ms between tries. Connection errors and timeouts of single
 * tries are retried too. Each try's own timeout is r->timeout_ms, cut to
 * what is left of the deadline. At least one try is always made.
 *
 * On HP_ETIMEOUT err->msg says how long and how many tries, and holds the
 * last answer seen (status and the start of the body, ~500 characters)
 * with check's last reason, and the last connection error if the final
 * try had one. last (may be NULL) receives the last HTTP answer seen
 * (status 0 if none came); it must be initialised.
 */
int hp_rest_poll(struct hp_rest *r, const char *method, const char *url,
		 const json_t *body, int deadline_ms, int interval_ms,
		 hp_rest_check_fn check, void *arg, struct hp_rest_resp *last,
		 struct hp_err *err);

#endif
